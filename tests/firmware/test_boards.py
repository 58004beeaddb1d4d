"""hw/boards.yaml: valid, and in agreement with the files and tools that consume it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from hw.syn.boards import REPO, BoardError, load_boards


def test_boards_load_and_default() -> None:
    boards = load_boards()
    assert {"ecp5-85f", "pynq-z2", "zcu104"} <= set(boards)
    ecp5 = boards["ecp5-85f"]
    assert ecp5.flow == "open" and ecp5.clock_mhz >= 150
    assert {k: ecp5.nextpnr[k] for k in ("device", "package", "speed")} == {"device": "--85k", "package": "CABGA381",
                                                                             "speed": 6}


def test_open_flow_files_exist_and_lpf_pins_the_clock() -> None:
    for board in load_boards().values():
        for rel in (board.top_file, board.constraints):
            if rel:
                assert (REPO / rel).is_file(), f"{board.name}: {rel} missing"
    lpf = (REPO / load_boards()["ecp5-85f"].constraints).read_text()
    assert 'LOCATE COMP "clk"' in lpf
    assert "FREQUENCY" not in lpf, "the clock target lives in hw/boards.yaml only"


def test_vendor_parts_agree_with_hls4ml_boards() -> None:
    pytest.importorskip("hls4ml")
    import hls4ml

    table = json.loads((Path(hls4ml.__file__).parent / "backends" / "vivado_accelerator" /
                        "supported_boards.json").read_text())
    boards = load_boards()
    for board in boards.values():
        if board.hls4ml_board and board.hls4ml_board == board.name:
            assert table[board.hls4ml_board]["part"] == board.part


def test_model_hls4ml_part_is_a_board_part() -> None:
    from models.config import load_config

    parts = {b.part for b in load_boards().values() if b.part}
    assert load_config("qg_mlp").hls4ml.part in parts


def test_bad_yaml_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "boards.yaml"
    bad.write_text("default: x\nboards:\n  x: {flow: magic, vendor: v, family: f, clock_mhz: 1, top: t, bitstream: b}\n")
    with pytest.raises(BoardError, match="flow"):
        load_boards(bad)
    bad.write_text("default: y\nboards:\n  x: {flow: open, vendor: v, family: f, clock_mhz: 1, top: t, bitstream: b,"
                   " nextpnr: {device: --85k}}\n")
    with pytest.raises(BoardError, match="default"):
        load_boards(bad)


def _one_open_board(tmp_path: Path, entries: str) -> Path:
    """A boards.yaml with one open-flow board x: the required keys plus `entries`."""
    path = tmp_path / "boards.yaml"
    path.write_text("default: x\nboards:\n  x: {flow: open, vendor: v, family: f, clock_mhz: 1, top: t, bitstream: b, "
                    f"{entries}}}\n")
    return path


@pytest.mark.parametrize("seeds", ["[]", "[1, 1]", "[0]", "[1.5]", "7", "[true]"])
def test_bad_seeds_are_rejected(tmp_path: Path, seeds: str) -> None:
    with pytest.raises(BoardError, match="seeds must be a non-empty list of distinct positive integers"):
        load_boards(_one_open_board(tmp_path, f"nextpnr: {{device: --85k}}, seeds: {seeds}"))


@pytest.mark.parametrize("options", ["--x", "[1]", "[--x, 2]"])
def test_bad_nextpnr_options_are_rejected(tmp_path: Path, options: str) -> None:
    with pytest.raises(BoardError, match="nextpnr options must be a list of strings"):
        load_boards(_one_open_board(tmp_path, f"nextpnr: {{device: --85k, options: {options}}}"))


def test_bad_nextpnr_router_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(BoardError, match="nextpnr router 'router3' not in"):
        load_boards(_one_open_board(tmp_path, "nextpnr: {device: --85k, router: router3}"))
    assert load_boards(_one_open_board(tmp_path, "nextpnr: {device: --85k}"))["x"].router == "router1", \
        "nextpnr-ecp5's own default"


def test_ecp5_sweeps_several_seeds() -> None:
    assert len(load_boards()["ecp5-85f"].seeds) > 1
    assert load_boards()["pynq-z2"].seeds == [1], "default for boards that do not set it"


def test_committed_image_seed_is_tried_first() -> None:
    """`make` places the seeds in boards.yaml order: the committed image's seed first, so `make` on any commit
    of the image's RTL rebuilds that placement in its first batch (the netlist does not depend on the commit:
    hw/rtl/qg_const_reg.v) and the others only when the RTL changed."""
    manifest = json.loads((REPO / "firmware" / "ecp5-85f" / "manifest.json").read_text())
    assert load_boards()["ecp5-85f"].seeds[0] == manifest["timing"]["seed"]
    assert load_boards()["ecp5-85f"].router == manifest["timing"]["router"], "and places it with the same router"
