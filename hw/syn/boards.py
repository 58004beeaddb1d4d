"""hw/boards.yaml -> frozen dataclasses (board -> part, clock target, flow)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
BOARDS_YAML = REPO / "hw" / "boards.yaml"
FLOWS = ("open", "vivado", "vitis")
# Pipeline configurations of the core (hw/boards.yaml `pipeline:`): compact = the <= 20-cycle card (the
# default, what the simulations check first); deep = more, shorter stages for a LUT4 fabric (ECP5): the
# Verilog define QG_PIPELINE_DEEP plus the deep NN core under PIPELINE_NN_ROOT (hw/gen_nn_core.py PIPELINES).
PIPELINES = ("compact", "deep")
PIPELINE_NN_ROOT = {"compact": "hw/rtl", "deep": "hw/rtl/deep"}     # <root>/gen/qg_nn_core.f, nn_params.vh
# nextpnr-ecp5's routers (hw/boards.yaml `nextpnr.router`); router1 is nextpnr-ecp5's own default
ROUTERS = ("router1", "router2")
DEFAULT_ROUTER = "router1"


class BoardError(ValueError):
    """hw/boards.yaml is malformed or names an unknown board."""


@dataclass(frozen=True)
class Board:
    name: str
    flow: str
    vendor: str
    family: str
    clock_mhz: float
    top: str
    bitstream: str
    part: str = ""
    device: str = ""
    nextpnr: dict[str, Any] = field(default_factory=dict)
    top_file: str = ""
    constraints: str = ""
    board_part: str = ""
    platform: str = ""
    ps: str = ""
    hls4ml_board: str = ""
    pipeline: str = "compact"
    seeds: list[int] = field(default_factory=lambda: [1])    # open flow: placement seeds `make` tries, in order
    notes: str = ""

    @property
    def router(self) -> str:
        """(open flow) the nextpnr router: `nextpnr.router`, else nextpnr's own default."""
        return self.nextpnr.get("router", DEFAULT_ROUTER)

    @property
    def nextpnr_options(self) -> list[str]:
        """(open flow) the extra nextpnr arguments for every seed: `nextpnr.options`, else none."""
        return self.nextpnr.get("options", [])

    @property
    def clock_period_ns(self) -> float:
        return 1000.0 / self.clock_mhz

    @property
    def firmware_dir(self) -> Path:
        return REPO / "firmware" / self.name


def load_boards(path: Path = BOARDS_YAML) -> dict[str, Board]:
    """Every board in `path`, validated."""
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "boards" not in data:
        raise BoardError(f"{path}: no 'boards' mapping")
    known = set(Board.__dataclass_fields__)
    boards: dict[str, Board] = {}
    for name, entry in data["boards"].items():
        unknown = set(entry) - known
        if unknown:
            raise BoardError(f"{path}: board {name!r} has unknown keys {sorted(unknown)}")
        board = Board(name=name, **entry)
        if board.flow not in FLOWS:
            raise BoardError(f"{path}: board {name!r} flow {board.flow!r} not in {FLOWS}")
        if board.pipeline not in PIPELINES:
            raise BoardError(f"{path}: board {name!r} pipeline {board.pipeline!r} not in {PIPELINES}")
        if board.clock_mhz <= 0:
            raise BoardError(f"{path}: board {name!r} clock_mhz must be positive")
        if board.flow == "open" and not board.nextpnr:
            raise BoardError(f"{path}: open-flow board {name!r} needs 'nextpnr' arguments")
        options = board.nextpnr_options
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise BoardError(f"{path}: board {name!r} nextpnr options must be a list of strings, got {options!r}")
        if board.router not in ROUTERS:
            raise BoardError(f"{path}: board {name!r} nextpnr router {board.router!r} not in {ROUTERS}")
        if (not isinstance(board.seeds, list) or not board.seeds or len(set(board.seeds)) != len(board.seeds)
                or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in board.seeds)):
            raise BoardError(f"{path}: board {name!r} seeds must be a non-empty list of distinct positive "
                             f"integers, got {board.seeds!r}")
        if board.flow in ("vivado", "vitis") and not board.part:
            raise BoardError(f"{path}: vendor board {name!r} needs 'part'")
        boards[name] = board
    default = data.get("default")
    if default not in boards:
        raise BoardError(f"{path}: default board {default!r} is not defined")
    return boards


def get_board(name: str, path: Path = BOARDS_YAML) -> Board:
    boards = load_boards(path)
    if name not in boards:
        raise BoardError(f"unknown board {name!r}; known: {', '.join(boards)}")
    return boards[name]
