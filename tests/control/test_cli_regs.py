"""`quoteguard regs` through CliRunner against qg_core_top in the simulator (the same driver as the board)."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from control.cli import main
from control.driver import regmap

pytestmark = [
    pytest.mark.sim,
    pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not on PATH"),
]


def _regs(tmp_path, *args):
    return CliRunner().invoke(main, ["regs", *args, "--sim-build-dir", str(tmp_path / "sim")])


def test_dump_table_and_json(tmp_path, model_artifacts):
    r = _regs(tmp_path, "dump")
    assert r.exit_code == 0, r.output
    assert "ID_MAGIC" in r.output and "0x51475244" in r.output and "N_FEATURES=16" in r.output
    r = _regs(tmp_path, "dump", "--json")
    rows = {x["name"]: x for x in json.loads(r.output)}
    assert set(rows) == set(regmap.REGISTERS)
    assert rows["ID_REGMAP_VERSION"]["value"] == regmap.REGMAP_VERSION
    card_hash = "".join(f"{rows[n]['value']:08x}" for n in regmap.MODEL_HASH_REGISTERS)
    assert card_hash == json.loads((model_artifacts / "metadata.json").read_text())["model_hash"]


def test_read_write_by_name(tmp_path):
    r = _regs(tmp_path, "write", "ctrl_control", "0x0", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["fields"]["ENABLE"] == 0
    r = _regs(tmp_path, "read", "CTRL_STATUS", "--json")
    assert json.loads(r.output)["fields"]["ENABLED"] == 1  # a fresh simulator: reset value again


@pytest.mark.parametrize(
    "args, text",
    [
        (["read", "NOPE"], "no register 'NOPE'"),
        (["write", "ID_MAGIC", "1"], "not writable"),
        (["write", "CTRL_CONTROL", "x12"], "is not an integer"),
    ],
)
def test_errors_exit_2(tmp_path, args, text):
    r = _regs(tmp_path, *args)
    assert r.exit_code == 2 and text in r.output


def test_fpga_target_needs_an_image(tmp_path):
    r = _regs(tmp_path, "dump", "--target", "fpga")
    assert r.exit_code == 2 and "--firmware" in r.output
