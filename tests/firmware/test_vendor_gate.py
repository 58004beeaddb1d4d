"""Vendor targets (Vivado, Vitis HLS, v++) stop at once with exit 2 and a clear message where the tools
are absent; their command lines and Tcl inputs are checked without the tools."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from hw.syn import vendor
from hw.syn.boards import REPO, load_boards

GATE = REPO / "hw" / "syn" / "require_tool.sh"


def test_require_tool_script() -> None:
    missing = subprocess.run([str(GATE), "bitstream-vendor", "qg-no-such-tool"], capture_output=True, text=True)
    assert missing.returncode == 2
    assert "make bitstream-vendor needs qg-no-such-tool" in missing.stderr
    assert subprocess.run([str(GATE), "x", "bash"], capture_output=True).returncode == 0


@pytest.mark.parametrize("board", ["pynq-z2", "zcu104", "alveo-u250"])
def test_vendor_build_exits_2_without_tools(board: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    res = CliRunner().invoke(vendor.main, ["--board", board, "--build-dir", str(tmp_path / "b")])
    assert res.exit_code == 2
    assert "not installed here" in res.output
    assert not (tmp_path / "b").exists(), "stops before doing anything"


def test_open_board_is_refused_by_vendor_flow() -> None:
    res = CliRunner().invoke(vendor.main, ["--board", "ecp5-85f"])
    assert res.exit_code == 2 and "open flow" in res.output


def test_vivado_command_line_comes_from_boards_yaml() -> None:
    res = CliRunner().invoke(vendor.main, ["--board", "zcu104", "--print-command"])
    assert res.exit_code == 0
    board = load_boards()["zcu104"]
    args = res.output.split("-tclargs", 1)[1].split()
    assert args[1:6] == [board.name, board.part, board.board_part, board.ps, f"{board.clock_mhz:g}"]
    assert args[-2:] == ["104", "32"], "book record 104 bytes, prediction 32 bytes (firmware/regmap.yaml)"


def test_vendor_tcl_sources_exist() -> None:
    build_tcl = (REPO / "hw" / "syn" / "vivado" / "build.tcl").read_text()
    for rel in re.findall(r"source \[file join \$repo ([^\]]+)\]", build_tcl):
        assert (REPO / Path(*rel.split())).is_file(), rel
    for board in load_boards().values():
        if board.flow == "vivado":
            assert (REPO / board.constraints).is_file()
            assert f"qg_ps_{board.ps}" in (REPO / "hw" / "ip" / "ps_zynq.tcl").read_text()
