"""Vendor bitstream flow (PYNQ-Z2 / ZCU104 with Vivado, Alveo with Vitis) -- runs only where the tools are.

    python -m hw.syn.vendor --board pynq-z2          # firmware/pynq-z2/qg_core.{bit,hwh} + manifest.json
    python -m hw.syn.vendor --board zcu104 --print-command

Where Vivado (or v++) is not on PATH it stops at once with a clear message and exit code 2, before
doing anything. The Tcl it runs is checked in (hw/syn/vivado/build.tcl, hw/ip/*.tcl); the arguments
come from hw/boards.yaml and firmware/regmap.yaml (record widths).
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import click
import yaml

from hw.syn.boards import REPO, Board, BoardError, get_board

log = logging.getLogger(__name__)

REGMAP_YAML = REPO / "firmware" / "regmap.yaml"
TYPE_BYTES = {"u8": 1, "i8": 1, "u16": 2, "i16": 2, "u32": 4, "i32": 4, "u64": 8, "i64": 8}


class ToolMissing(RuntimeError):
    """A vendor tool needed by the flow is not on PATH."""


def required_tools(board: Board) -> list[str]:
    if board.flow == "vivado":
        return ["vivado"]
    if board.flow == "vitis":
        return ["vivado", "v++"]
    raise ValueError(f"board {board.name!r} uses the {board.flow} flow (not a vendor flow)")


def check_tools(board: Board) -> None:
    missing = [t for t in required_tools(board) if shutil.which(t) is None]
    if missing:
        raise ToolMissing(f"the {board.flow} flow for {board.name} needs {', '.join(missing)} on PATH "
                          "(AMD/Xilinx tools, not installed here; source settings64.sh). "
                          "The open ECP5 flow needs none: `make` / `make bitstream`.")


def record_bytes(regmap_yaml: Path = REGMAP_YAML) -> tuple[int, int]:
    """(book record bytes, prediction record bytes) from firmware/regmap.yaml `records`."""
    records = yaml.safe_load(regmap_yaml.read_text())["records"]

    def size(rec: dict) -> int:
        return sum(TYPE_BYTES[f["type"]] * int(f.get("count", 1)) for f in rec["fields"])

    return size(records["book_record"]), size(records["prediction"])


def vivado_command(board: Board, build_dir: Path) -> list[str]:
    in_bytes, out_bytes = record_bytes()
    return ["vivado", "-mode", "batch", "-nojournal", "-log", str(build_dir / "vivado.log"),
            "-source", str(REPO / "hw" / "syn" / "vivado" / "build.tcl"), "-tclargs",
            str(REPO), board.name, board.part, board.board_part, board.ps, f"{board.clock_mhz:g}",
            str(build_dir), str(in_bytes), str(out_bytes)]


def vitis_commands(board: Board, build_dir: Path) -> list[list[str]]:
    xo = build_dir / "qg_core.xo"
    return [
        ["vivado", "-mode", "batch", "-nojournal", "-log", str(build_dir / "package_xo.log"),
         "-source", str(REPO / "hw" / "syn" / "vitis" / "package_kernel.tcl"), "-tclargs",
         str(REPO), board.part, str(build_dir), str(xo)],
        ["v++", "--link", "-t", "hw", "--platform", board.platform, "--kernel_frequency", f"{board.clock_mhz:g}",
         "--config", str(REPO / "hw" / "syn" / "vitis" / "link.cfg"), "-o", str(build_dir / board.bitstream),
         str(xo)],
    ]


def package(board: Board, build_dir: Path) -> Path:
    """Copy the image files to firmware/<board>/ and write the manifest."""
    from control.firmware import manifest as mf
    from hw.syn.package import REGMAP_YAML as REGMAP
    from hw.syn.package import build_date, git_identity, model_metadata

    dest = board.firmware_dir
    dest.mkdir(parents=True, exist_ok=True)
    names = [board.bitstream] + (["qg_core.hwh"] if board.flow == "vivado" else [])
    files = []
    for name in names:
        shutil.copyfile(build_dir / name, dest / name)
        files.append(dest / name)
    rep_path = build_dir / "vivado_report.json"
    rep = json.loads(rep_path.read_text()) if rep_path.exists() else {}
    git_hash, dirty = git_identity()
    tools = {t: (subprocess.run([t, "-version"], capture_output=True, text=True, check=False).stdout
                 .splitlines() or ["unknown"])[0] for t in required_tools(board)}
    manifest = mf.build(
        board=board.name, design="qg_core", files=files, model_name="qg_mlp",
        model_hash=mf.current_model_hash(model_metadata()), regmap_version=mf.current_regmap_version(REGMAP),
        git_hash=git_hash, git_dirty=dirty, tools=tools,
        timing={"target_mhz": float(board.clock_mhz), "fmax_mhz": rep.get("fmax_mhz"),
                "wns_ns": rep.get("wns_ns"), "met": rep.get("wns_ns", -1) >= 0},
        utilization=rep.get("utilization", {}), build_date=build_date(), flow=board.flow)
    return mf.write(manifest, dest / mf.MANIFEST_NAME)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--board", "board_name", default="pynq-z2", show_default=True, help="Board in hw/boards.yaml.")
@click.option("--build-dir", type=click.Path(path_type=Path), default=None, help="Default build/<board>.")
@click.option("--print-command", is_flag=True, help="Print the tool command lines and exit 0 (no tool needed).")
def main(*, board_name: str, build_dir: Path | None, print_command: bool) -> None:
    """Build a vendor bitstream (Vivado block design / Vitis link) and package it with its manifest.

    \b
    Examples:
      python -m hw.syn.vendor --board pynq-z2
      python -m hw.syn.vendor --board zcu104 --print-command
    Exit codes: 0 built, 1 build or timing failed, 2 vendor tool missing or usage error.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        board = get_board(board_name)
    except BoardError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if board.flow == "open":
        click.echo(f"error: {board.name} uses the open flow: run `make bitstream BOARD={board.name}`", err=True)
        sys.exit(2)
    build_dir = (build_dir or REPO / "build" / board.name).resolve()
    commands = [vivado_command(board, build_dir)] if board.flow == "vivado" else vitis_commands(board, build_dir)
    if print_command:
        for argv in commands:
            click.echo(" ".join(argv))
        return
    try:
        check_tools(board)
    except ToolMissing as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    build_dir.mkdir(parents=True, exist_ok=True)
    for argv in commands:
        log.info("running %s", " ".join(argv))
        if subprocess.run(argv, cwd=build_dir, check=False).returncode != 0:
            click.echo(f"error: {argv[0]} failed; see the logs in {build_dir}", err=True)
            sys.exit(1)
    click.echo(f"wrote {package(board, build_dir)}")


if __name__ == "__main__":
    main()
