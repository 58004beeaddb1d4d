"""hls4ml accelerator projects for the vendor boards (`make hls-accel BOARD=...`).

    python -m hls.accel --board pynq-z2               # needs vivado_hls + vivado; exit 2 where absent
    python -m hls.accel --board zcu104 --write-only   # write the project only (no vendor tool)

hls4ml 1.3's VivadoAccelerator backend writes the HLS core with an AXI-Stream wrapper, the block
design Tcl (design.tcl: Zynq PS + AXI DMA + the core) and a PYNQ driver, and `build()` runs Vivado
HLS (`vivado_hls`) then Vivado (`bitfile=True`) for .bit + .hwh. hls4ml 1.3 has no VitisUnified
backend and no zcu104 template: zcu104 uses the Zynq UltraScale+ template of zcu102 with the part and
board part of hw/boards.yaml substituted in the written Tcl (logged, never silent).
The configuration is the committed hls/<model>/hls4ml_config.yml; the board gives the part and clock.
"""
from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import click

from hls.convert import (
    REPO,
    HlsError,
    artifacts_dir,
    config_file,
    convert,
    hls_config,
    load_keras_model,
    read_config,
)
from hw.syn.boards import Board, get_board

log = logging.getLogger(__name__)

TOOLS = ("vivado_hls", "vivado")
# hls4ml template board -> (part, board_part) written into its Tcl, for boards that borrow a template
TEMPLATE_PARTS = {"zcu102": ("xczu9eg-ffvb1156-2-e", "xilinx.com:zcu102:part0:3.3")}


class ToolMissing(RuntimeError):
    """Vivado HLS / Vivado are not on PATH."""


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def accel_dir(model_name: str, board: Board) -> Path:
    return REPO / "hls" / model_name / "prj" / f"accel_{board.name}"


def retarget(output_dir: Path, board: Board) -> list[Path]:
    """Put the board's part / board part into Tcl written from another board's template."""
    if board.hls4ml_board == board.name or board.hls4ml_board not in TEMPLATE_PARTS:
        return []
    old_part, old_board_part = TEMPLATE_PARTS[board.hls4ml_board]
    changed = []
    for path in sorted(output_dir.rglob("*.tcl")):
        text = path.read_text()
        new = text.replace(old_part, board.part).replace(old_board_part, board.board_part)
        if new != text:
            path.write_text(new)
            changed.append(path)
            log.info("%s: %s template retargeted to %s (%s)", path, board.hls4ml_board, board.name, board.part)
    return changed


def write_project(model_name: str, board_name: str, *, output_dir: Path | None = None,
                  artifacts: Path | None = None):
    """Convert with the VivadoAccelerator backend for `board_name` and write the project."""
    board = get_board(board_name)
    if not board.hls4ml_board:
        raise HlsError(f"board {board.name!r} has no hls4ml accelerator template (hw/boards.yaml: hls4ml_board)")
    model = load_keras_model(artifacts or artifacts_dir(model_name))
    committed = config_file(model_name)
    conf = read_config(committed) if committed.exists() else hls_config(model, model_name)
    conf = dict(conf, ClockPeriod=round(board.clock_period_ns, 3), Part=board.part)
    out = output_dir or accel_dir(model_name, board)
    accel = {"interface": "axi_stream", "driver": "python", "input_type": "float", "output_type": "float"}
    if board.platform:
        accel["platform"] = board.platform
    hls_model = convert(model, conf, out, backend="VivadoAccelerator", board=board.hls4ml_board, accel=accel)
    retarget(out, board)
    return hls_model


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", "model_name", default="qg_mlp", show_default=True)
@click.option("--board", "board_name", default="pynq-z2", show_default=True, help="Board in hw/boards.yaml.")
@click.option("--write-only", is_flag=True, help="Write the project and stop (no vendor tool needed).")
def main(*, model_name: str, board_name: str, write_only: bool) -> None:
    """Generate (and, with Vivado HLS + Vivado, build) the hls4ml accelerator for a board.

    \b
    Examples:
      python -m hls.accel --board pynq-z2
      python -m hls.accel --board zcu104 --write-only
    Exit codes: 0 done, 1 conversion or build failed, 2 vendor tool missing or usage error.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    missing = missing_tools()
    if missing and not write_only:
        click.echo(f"error: make hls-accel needs {', '.join(missing)} on PATH (hls4ml 1.3 VivadoAccelerator "
                   "builds with Vivado HLS and Vivado; not installed here). "
                   "`python -m hls.accel --write-only` writes the project without them.", err=True)
        sys.exit(2)
    try:
        hls_model = write_project(model_name, board_name)
    except HlsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    out = Path(hls_model.config.get_output_dir())
    if write_only:
        click.echo(f"wrote {out}")
        return
    report = hls_model.build(csim=False, synth=True, export=True, bitfile=True)
    bits = sorted(out.rglob("*.bit"))
    if not bits:
        click.echo(f"error: no bitstream under {out}; see the Vivado logs there", err=True)
        sys.exit(1)
    click.echo(f"built {bits[0]} ({report})")


if __name__ == "__main__":
    main()
