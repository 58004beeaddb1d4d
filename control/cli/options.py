"""What every verb shares: exit codes, error exit, text tables, and the option factories for the
backend and the quoting policy (one place, as apio does in apio/commands/options.py)."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

REPO = Path(__file__).resolve().parents[2]
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def fail(message: str, code: int) -> NoReturn:
    """Print `error: message` on stderr and exit with `code` (1 failure, 2 usage / missing tool)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def columns_table(rows: Sequence[tuple], header: tuple) -> str:
    """A column table: first column left-aligned, the others right-aligned (numbers)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r: tuple) -> str:
        return "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w)
                         for i, (v, w) in enumerate(zip(r, widths, strict=True)))

    return "\n".join([fmt(header), fmt(tuple("-" * w for w in widths)), *(fmt(r) for r in rows)])


def kv_table(rows: Sequence[tuple[str, str]]) -> str:
    """A two-column `key  value` listing with the keys aligned."""
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def backend_options(f):
    """--model, --artifacts, --firmware: shared by run, regs, status and demo."""
    f = click.option(
        "--firmware",
        type=click.Path(path_type=Path),
        default=None,
        help="fpga: bitstream (.bit with .hwh and manifest.json beside it).",
    )(f)
    f = click.option(
        "--artifacts",
        type=click.Path(path_type=Path),
        default=None,
        help="Model artifacts [default: models/<model>/artifacts].",
    )(f)
    f = click.option("--model", default="qg_mlp", show_default=True, help="Model name (models/<name>/).")(f)
    return f


def backend_config(model: str, artifacts: Path | None, firmware: Path | None, **kw):
    """The BackendConfig for the chosen model; a bad model config is a usage error (exit 2)."""
    from control.backends.select import BackendConfig
    from models.config import ConfigError, load_config

    try:
        cfg = load_config(model)
    except ConfigError as e:
        fail(str(e), EXIT_USAGE)
    art = artifacts or REPO / "models" / model / "artifacts"
    return BackendConfig(artifacts=art, model=cfg, firmware=firmware, **kw)


def quoting_config_option(f):
    """--quoting-config: the quoting policy YAML."""
    return click.option(
        "--quoting-config",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="Quoting policy YAML [default: control/quoting/default.yaml].",
    )(f)
