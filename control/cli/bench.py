"""`quoteguard bench`: run the benchmarks of every area and write one table (BENCH.md + bench.json)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "reports" / "bench"
EXIT_FAILURE = 1


# bench.run_all.keys(), spelled out so that `--help` imports nothing (tests/control/test_cli_bench.py checks it)
KEYS = ("feed", "cpu_inference", "fix", "end_to_end", "failover", "redis", "backtest", "rtl")


@click.command("bench")
@click.option("--quick", is_flag=True, help="Small counts (about a minute on an idle 2-core machine).")
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(KEYS),
    help="Run only these (repeatable).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Where BENCH.md, bench.json and raw/ (each script's printed output) go.",
)
@click.option("--json", "as_json", is_flag=True, help="Print bench.json instead of the table.")
def bench(*, quick: bool, only: tuple[str, ...], out_dir: Path, as_json: bool) -> None:
    """Run the benchmarks of every area, one after the other, each as its own process: feed decode and
    book, features and CPU inference (against QKeras, tf.function and the hls4ml C simulation), the RTL
    latency (cocotb) and post-route timing (firmware manifest), FIX, end to end, failover rtl -> cpu,
    Redis scale-out, the quoting engine, and memory. Writes one table with the machine it ran on.

    \b
    Examples:
      quoteguard bench --quick
      quoteguard bench --only fix --only rtl --json
    \b
    Exit codes: 0 every benchmark ran (some may say 'skipped' or 'not built' with the reason);
    1 a benchmark failed or timed out; 2 bad options.
    """
    from bench.run_all import run_all
    from bench.table import write

    def started(msg: str) -> None:
        if not as_json:
            click.echo(msg, err=True)

    res = run_all(quick=quick, only=only, raw_dir=out_dir / "raw", on_start=started)
    try:
        table, files = write(res, out_dir)
    except OSError as e:
        click.echo(f"error: cannot write {out_dir}: {e}", err=True)
        sys.exit(EXIT_FAILURE)
    if as_json:
        click.echo(files[1].read_text())
    else:
        click.echo(files[0].read_text().split("\n## Runs")[0])
        for run in res.runs.values():
            if run.status != "ok":
                click.echo(f"{run.key}: {run.status}: {run.reason}")
        click.echo(f"written: {', '.join(str(f) for f in files)} (+ raw/ with each script's output)")
    if res.failed:
        click.echo(f"failed: {', '.join(res.failed)}", err=True)
        sys.exit(EXIT_FAILURE)
