"""`quoteguard regs`: read and write qg_core registers by name (firmware/regmap.yaml), on the board
(pynq) or on the RTL in a simulator -- through the same driver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from control.cli.options import EXIT_FAILURE, EXIT_USAGE, REPO, fail


@contextmanager
def _device(target: str, firmware: Path | None, sim_build_dir: Path) -> Iterator:
    """A registers-and-streams Device on the chosen transport; closed (simulator stopped) on exit."""
    from control.driver.device import Device
    from control.driver.errors import TransportError

    try:
        if target == "rtl":
            import shutil

            if shutil.which("iverilog") is None:
                fail("iverilog not on PATH (Debian: apt-get install iverilog)", EXIT_USAGE)
            from control.driver.sim_io import SimConfig, SimIO

            io = SimIO.launch(SimConfig(build_dir=sim_build_dir))
        else:
            if firmware is None:
                fail("--target fpga needs --firmware firmware/<board>/<design>.bit", EXIT_USAGE)
            try:
                from control.driver.pynq_io import PynqIO
            except ImportError:
                fail(
                    "pynq is not installed here (board runtime environment: pip install '.[board]')",
                    EXIT_USAGE,
                )
            io = PynqIO.from_overlay(firmware, download=False)
    except TransportError as e:
        fail(f"cannot open the {target} transport: {e}", EXIT_FAILURE)
    dev = Device(io, io)
    try:
        yield dev
    finally:
        dev.close()


def _parse_int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an integer (decimal, 0x.., 0b..)") from None


def _row(dev, name: str, value: int) -> dict:
    reg = dev.register(name)
    return {
        "name": name,
        "offset": f"{reg.offset:#05x}",
        "access": reg.access,
        "value": value,
        "hex": f"{value:#010x}",
        "fields": {
            f: fld.get(value) for f, fld in reg.fields.items() if not (len(reg.fields) == 1 and f == "VALUE")
        },
    }


def _print(rows: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rows if len(rows) != 1 else rows[0], indent=1))
        return
    for r in rows:
        fields = " ".join(f"{k}={v}" for k, v in r["fields"].items())
        click.echo(f"{r['offset']}  {r['name']:<26} {r['access']:<5} {r['hex']}  {fields}".rstrip())


def target_options(f):
    f = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(f)
    f = click.option(
        "--sim-build-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=REPO / "build" / "sim_bridge",
        show_default=True,
        help="rtl: simulator build dir.",
    )(f)
    f = click.option(
        "--firmware",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="fpga: the loaded bitstream (.bit with its .hwh).",
    )(f)
    f = click.option(
        "--target",
        type=click.Choice(["rtl", "fpga"]),
        default="rtl",
        show_default=True,
        help="rtl: qg_core_top under Icarus; fpga: the board through pynq.",
    )(f)
    return f


@click.group()
def regs() -> None:
    """Read and write qg_core registers by name (see firmware/REGMAP.md).

    \b
    Examples:
      quoteguard regs dump                       # every register of the RTL in the simulator
      quoteguard regs read ID_MAGIC --json
      quoteguard regs write CTRL_CONTROL 0x0     # hold the datapath (ENABLE=0)
      quoteguard regs dump --target fpga --firmware firmware/pynq-z2/qg.bit
    \b
    Exit codes: 0 ok, 1 transport failure, 2 usage error, unknown register or missing tool.
    """


@regs.command("dump")
@target_options
def dump(*, target: str, firmware: Path | None, sim_build_dir: Path, as_json: bool) -> None:
    """Every readable register, with its fields decoded."""
    with _device(target, firmware, sim_build_dir) as dev:
        _print([_row(dev, n, v) for n, v in dev.dump().items()], as_json)


@regs.command("read")
@click.argument("name")
@target_options
def read(*, name: str, target: str, firmware: Path | None, sim_build_dir: Path, as_json: bool) -> None:
    """Read register NAME (e.g. STATS_RECORDS_IN)."""
    from control.driver.errors import UnknownRegister

    with _device(target, firmware, sim_build_dir) as dev:
        try:
            _print([_row(dev, name.upper(), dev.read(name))], as_json)
        except UnknownRegister as e:
            fail(str(e), EXIT_USAGE)


@regs.command("write")
@click.argument("name")
@click.argument("value")
@target_options
def write(
    *, name: str, value: str, target: str, firmware: Path | None, sim_build_dir: Path, as_json: bool
) -> None:
    """Write VALUE (decimal or 0x..) to register NAME, then read it back."""
    from control.driver.errors import RegisterAccessError, UnknownRegister

    v = _parse_int(value)
    with _device(target, firmware, sim_build_dir) as dev:
        try:
            dev.write(name, v)
            _print([_row(dev, name.upper(), dev.read(name))], as_json)
        except (UnknownRegister, RegisterAccessError) as e:
            fail(str(e), EXIT_USAGE)
