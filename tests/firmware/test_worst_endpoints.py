"""hw/syn/worst_endpoints.py on a small report in nextpnr's --detailed-timing-report layout."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hw.syn.worst_endpoints import group_name, main, worst_endpoints

REPORT = {
    "fmax": {"clk": {"achieved": 129.6, "constraint": 150}},
    "detailed_net_timings": [
        {"net": "a", "driver": "x", "port": "Q", "endpoints": [
            {"cell": "core.fifo.g_slice[6].slot0_reg_TRELLIS_FF_Q_12", "port": "M", "delay": [7.5, 7.72]},
            {"cell": "core.fifo.g_slice[2].slot0_reg_TRELLIS_FF_Q", "port": "M", "delay": [6.8, 6.9]},
            {"cell": "core.fp.d_s1_TRELLIS_FF_Q_3", "port": "DI", "delay": [2.0, 2.1]},
        ]},
        {"net": "b", "driver": "y", "port": "F", "endpoints": [
            {"cell": "core.fp.pda_s3_TRELLIS_FF_Q_45_DI_CCU2C_S0$CCU2_COMB1", "port": "B", "delay": 6.75},
            {"cell": "core.fifo.g_slice[6].slot0_reg_TRELLIS_FF_Q_12", "port": "M", "delay": [7.0, 7.1]},
        ]},
        {"net": "led", "driver": "led_TRELLIS_FF_Q", "port": "Q", "endpoints": [   # flip-flop -> pad: not counted
            {"cell": "led[0]$tr_io", "port": "I", "delay": [6.7, 6.8]},
        ]},
    ],
}


def test_group_names_strip_packer_suffixes_and_indices() -> None:
    assert group_name("core.fifo.g_slice[6].slot0_reg_TRELLIS_FF_Q_12") == "core.fifo.g_slice.slot0_reg"
    assert group_name("core.fp.pda_s3_TRELLIS_FF_Q_45_DI_CCU2C_S0$CCU2_COMB1") == "core.fp.pda_s3"
    assert group_name("core.fifo.g_slice[12].g_bank[0].mem.0.1$RAMW_SLICE") == "core.fifo.g_slice.g_bank.mem"


def test_worst_endpoints_groups_worst_first_and_keeps_the_worst_arrival_per_pin() -> None:
    rows = worst_endpoints(REPORT, 6.667)
    assert rows == [("core.fifo.g_slice.slot0_reg", 7.72, 2), ("core.fp.pda_s3", 6.75, 1)]


def test_cli_uses_the_report_constraint_and_refuses_a_plain_report(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(REPORT))
    res = CliRunner().invoke(main, [str(path)])
    assert res.exit_code == 0, res.output
    assert "over 6.667 ns" in res.output and "7.72" in res.output and "core.fifo.g_slice.slot0_reg" in res.output
    path.write_text(json.dumps({"fmax": REPORT["fmax"], "critical_paths": []}))
    res = CliRunner().invoke(main, [str(path)])
    assert res.exit_code == 2 and "--detailed-timing-report" in res.output


def test_nothing_over_a_loose_period() -> None:
    assert worst_endpoints(REPORT, 7.8) == []
