"""System tests of hw/rtl/qg_core_top.v: book records in over AXI-Stream, predictions out, registers over
AXI-Lite (cocotbext-axi), against the software reference (models.features + models.reference), bit-exact.

VECTORS sets the record count (default 200), SIM the simulator, WAVES=1 dumps waveforms.
QG_ARTIFACTS points at the model artifacts the RTL was generated from (default models/qg_mlp/artifacts).
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from control.driver import regmap
from hw.syn.boards import PIPELINE_NN_ROOT
from hw.syn.boards import REPO as REPO_ROOT
from sim.common.golden import artifacts_dir, config, golden, reference_outputs, vectors, with_invalid

# record-in to prediction-out, per pipeline configuration (hw/boards.yaml `pipeline:`): the compact card
# keeps issue 4's 20 cycles (with the input register); the deep one (ECP5, 150 MHz target) 48 cycles = 320 ns
# at 150 MHz (47 before qg_ratio's R8 stage, 46 before the input register, 43 until the NN core's stages were cut to one carry chain each,
# 41 until the DSP products and the microprice product got fabric registers after the multipliers, 40 until
# qg_ratio's R1b stage: hw/README.md "Timing status")
LATENCY_BUDGET_CYCLES = {"compact": 20, "deep": 48}
DEEP_VECTORS = 64            # the deep configuration's run is a bit-exactness check, kept short
# simulated time per test (a few us at 4 ns per cycle): a record lost or a wedged handshake fails the
# test instead of hanging the suite
TEST_TIMEOUT_US = 1000

log = logging.getLogger(__name__)

CLOCK_NS = 4
GIT_HASH = 0x5EED1234
RM = regmap.REGISTERS


class TB:
    def __init__(self, dut) -> None:
        self.dut = dut
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        self.meta = json.loads((artifacts_dir() / "metadata.json").read_text())

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 6)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 4)

    async def read(self, name: str) -> int:
        return await self.axil.read_dword(RM[name].offset)

    async def write(self, name: str, value: int) -> None:
        await self.axil.write_dword(RM[name].offset, value)

    async def send(self, records: np.ndarray) -> None:
        for w in regmap.pack(records):
            await self.source.send(AxiStreamFrame(w.tobytes()))

    async def recv(self, n: int) -> np.ndarray:
        raw = bytearray()
        for _ in range(n):
            frame = await self.sink.recv()
            assert len(frame.tdata) == regmap.PREDICTION_DTYPE.itemsize
            raw += bytes(frame.tdata)
        return regmap.unpack(bytes(raw))

    async def latency(self) -> int:
        return RM["ID_NN_INFO"].fields["LATENCY"].get(await self.read("ID_NN_INFO"))


def expected(records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from models.features import compute_features

    feats, invalid = compute_features(records, config())
    return reference_outputs(feats), invalid


def check(records: np.ndarray, preds: np.ndarray, latency: int) -> None:
    logits, invalid = expected(records)
    assert len(preds) == len(records)
    np.testing.assert_array_equal(preds["seq"], records["seq"].astype(np.uint32), err_msg="seq order")
    for k in range(len(records)):
        if not np.array_equal(preds["logits"][k].astype(np.int64), logits[k]):
            raise AssertionError(f"record {k} (seq {int(records['seq'][k])}): RTL logits {preds['logits'][k]} "
                                 f"!= models.reference {logits[k]}")
    np.testing.assert_array_equal((preds["flags"] & regmap.PREDICTION_FLAG_INVALID) != 0, invalid, err_msg="INVALID")
    seq = records["seq"].astype(np.int64)
    reset = (records["flags"] & regmap.BOOK_RECORD_FLAG_RESET) != 0
    gap = np.concatenate([[False], (seq[1:] != (seq[:-1] + 1) % 2**32) & ~reset[1:]])
    np.testing.assert_array_equal((preds["flags"] & regmap.PREDICTION_FLAG_SEQ_GAP) != 0, gap, err_msg="SEQ_GAP")
    pipe = preds["t_out"].astype(np.int64) - preds["t_in"].astype(np.int64) + 1
    assert (pipe == latency).all(), f"datapath latency not constant: {sorted(set(pipe.tolist()))} vs {latency}"


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def registers_by_name(dut):
    """Read every register of the generated map by name; identity against the artifacts; control bits."""
    tb = TB(dut)
    await tb.reset()
    values = {name: await tb.read(name) for name in RM}
    for name, reg in RM.items():
        if reg.const and reg.reset is not None:
            assert values[name] == reg.reset, f"{name} = {values[name]:#x}, map says {reg.reset:#x}"
    assert values[regmap.ID_REGISTER] == regmap.ID_VALUE
    assert values[regmap.VERSION_REGISTER] == regmap.REGMAP_VERSION
    assert values["ID_GIT_HASH"] == GIT_HASH
    card_hash = "".join(f"{values[n]:08x}" for n in regmap.MODEL_HASH_REGISTERS)
    assert card_hash == tb.meta["model_hash"], f"model hash {card_hash} != metadata.json {tb.meta['model_hash']}"
    info = RM["ID_NN_INFO"].fields
    assert info["N_FEATURES"].get(values["ID_NN_INFO"]) == config().n_features
    assert info["N_OUTPUTS"].get(values["ID_NN_INFO"]) == 4
    assert info["OUT_FRAC"].get(values["ID_NN_INFO"]) == int(tb.meta["output"]["frac_bits"])
    # block chain: TYPE / VERSION / NEXT
    off, blocks = 0, []
    while True:
        blocks.append(await tb.axil.read_dword(off))
        off = await tb.axil.read_dword(off + 8)
        if off == 0:
            break
    assert blocks == [RM[f"{b}_TYPE"].reset for b in regmap.BLOCKS]
    # control: ENABLE gates s_axis_tready; STATUS follows
    assert values["CTRL_CONTROL"] & 1 and values["CTRL_STATUS"] & 0b11 == 0b11
    await tb.write("CTRL_CONTROL", 0)
    await ClockCycles(dut.clk, 2)
    assert int(dut.s_axis_tready.value) == 0
    assert await tb.read("CTRL_STATUS") & 1 == 0
    await tb.write("CTRL_CONTROL", 1)
    await ClockCycles(dut.clk, 2)
    assert int(dut.s_axis_tready.value) == 1
    dut._log.info("registers: %d read by name; identity %08x / v%d / model %s / git %08x", len(values),
                  values[regmap.ID_REGISTER], values[regmap.VERSION_REGISTER], card_hash[:16], values["ID_GIT_HASH"])


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def golden_stream_idle_and_backpressure(dut):
    """Real records, random source idle and sink backpressure: every prediction equals the reference;
    invalid records are flagged and counted, never dropped; counters add up."""
    tb = TB(dut)
    await tb.reset()
    rng = random.Random(7)
    tb.source.set_pause_generator(itertools.cycle([rng.random() < 0.25 for _ in range(97)]))
    tb.sink.set_pause_generator(itertools.cycle([rng.random() < 0.4 for _ in range(89)]))
    g = golden(vectors())
    recs = with_invalid(g.records, every=11)
    accepted_at: list[int] = []     # the cycle counter (STATS.CYCLES' copy) at each accepted beat

    async def watch_accepts() -> None:
        while True:     # mid-cycle: what the next rising edge samples
            await FallingEdge(dut.clk)
            if int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value):
                accepted_at.append(int(dut.cycle_reg.value))

    cocotb.start_soon(watch_accepts())
    cocotb.start_soon(tb.send(recs))
    preds = await tb.recv(len(recs))
    lat = await tb.latency()
    check(recs, preds, lat)
    # t_in is the accept cycle (regmap.yaml), with random idle cycles in between
    np.testing.assert_array_equal(preds["t_in"].astype(np.int64), np.array(accepted_at[:len(recs)], dtype=np.int64),
                                  err_msg="t_in is not the cycle counter when the record was accepted")
    n_inv = int(((preds["flags"] & regmap.PREDICTION_FLAG_INVALID) != 0).sum())
    assert await tb.read("STATS_RECORDS_IN") == len(recs)
    assert await tb.read("STATS_PREDICTIONS_OUT") == len(recs)
    assert await tb.read("STATS_INVALID_RECORDS") == n_inv
    assert await tb.read("STATS_SEQ_GAPS") == int(((preds["flags"] & regmap.PREDICTION_FLAG_SEQ_GAP) != 0).sum())
    assert await tb.read("STATS_BACKPRESSURE_CYCLES") > 0
    flags = await tb.read("CTRL_ERROR_FLAGS")
    errs = RM["CTRL_ERROR_FLAGS"].fields
    assert errs["INVALID_RECORD"].get(flags) == int(n_inv > 0) and errs["OVERFLOW"].get(flags) == 0
    await tb.write("CTRL_ERROR_FLAGS", errs["INVALID_RECORD"].mask)
    assert errs["INVALID_RECORD"].get(await tb.read("CTRL_ERROR_FLAGS")) == 0
    await tb.write("CTRL_CONTROL", RM["CTRL_CONTROL"].fields["ENABLE"].mask | RM["CTRL_CONTROL"].fields["CLEAR_COUNTERS"].mask)
    assert await tb.read("STATS_RECORDS_IN") == 0
    dut._log.info("qg_core_top: %d records (%d invalid) from %s bit-exact under idle + backpressure",
                  len(recs), n_inv, g.source)


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def latency_and_throughput(dut):
    """No idle, no backpressure: record-in to prediction-out latency and the sustained II, in cycles."""
    tb = TB(dut)
    await tb.reset()
    g = golden(min(vectors(), 100))
    in_cycles: list[int] = []
    out_cycles: list[int] = []

    async def watch() -> None:
        cycle = 0
        while True:
            await RisingEdge(dut.clk)
            cycle += 1
            if int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value):
                in_cycles.append(cycle)
            if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value):
                out_cycles.append(cycle)

    cocotb.start_soon(watch())
    cocotb.start_soon(tb.send(g.records))
    preds = await tb.recv(len(g.records))
    lat_reg = await tb.latency()
    check(g.records, preds, lat_reg)
    if g.outputs is not None:   # the exported golden outputs (QKeras-verified) as well
        np.testing.assert_array_equal(preds["logits"].astype(np.int64), g.outputs, err_msg="golden.npz outputs")
    lat = out_cycles[0] - in_cycles[0]
    ii_in = (in_cycles[-1] - in_cycles[0]) / (len(in_cycles) - 1)
    ii_out = (out_cycles[-1] - out_cycles[0]) / (len(out_cycles) - 1)
    dut._log.info("PERF qg_core_top: latency %d cycles record-in to prediction-out (NN_INFO.LATENCY %d), "
                  "II in %.2f out %.2f over %d records", lat, lat_reg, ii_in, ii_out, len(preds))
    Path(os.environ.get("QG_PERF_FILE", "perf_qg_core_top.txt")).write_text(
        f"latency={lat}\nlatency_reg={lat_reg}\nii_in={ii_in}\nii_out={ii_out}\n")
    assert lat == lat_reg, "NN_INFO.LATENCY does not match the measured latency"
    assert ii_in == 1.0 and ii_out == 1.0, "not one record per clock"
    budget = LATENCY_BUDGET_CYCLES[os.environ.get("QG_PIPELINE", "compact")]
    assert lat <= budget, f"latency {lat} cycles above the {budget}-cycle budget"


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def long_backpressure_never_drops(dut):
    """m_axis_tready held low: s_axis_tready must fall once the FIFO is committed; nothing is lost."""
    tb = TB(dut)
    await tb.reset()
    g = golden(80)
    tb.sink.pause = True
    cocotb.start_soon(tb.send(g.records))
    await ClockCycles(dut.clk, 200)
    taken = await tb.read("STATS_RECORDS_IN")
    assert taken < len(g.records), "input was not throttled"
    assert int(dut.s_axis_tready.value) == 0
    tb.sink.pause = False
    preds = await tb.recv(len(g.records))
    check(g.records, preds, await tb.latency())
    assert RM["CTRL_ERROR_FLAGS"].fields["OVERFLOW"].get(await tb.read("CTRL_ERROR_FLAGS")) == 0
    dut._log.info("backpressure: %d records admitted while blocked (FIFO + in flight), all %d delivered",
                  taken, len(preds))


@cocotb.test(timeout_time=TEST_TIMEOUT_US, timeout_unit="us")
async def soft_reset_restarts_state(dut):
    """CONTROL.SOFT_RESET: the next record starts a fresh stream (features as for a new stream)."""
    tb = TB(dut)
    await tb.reset()
    g = golden(60)
    first, second = g.records[:30], np.array(g.records[30:], copy=True)
    await tb.send(first)
    await tb.recv(len(first))
    await tb.write("CTRL_CONTROL", RM["CTRL_CONTROL"].fields["ENABLE"].mask | RM["CTRL_CONTROL"].fields["SOFT_RESET"].mask)
    await ClockCycles(dut.clk, 4)
    await tb.send(second)
    preds = await tb.recv(len(second))
    check(second, preds, await tb.latency())     # compute_features treats record 0 as the stream start
    assert preds["flags"][0] & regmap.PREDICTION_FLAG_RESET


@pytest.mark.parametrize("pipeline", ["compact", "deep"])
def test_qg_core_top(pipeline: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest entry: build qg_core_top (Icarus by default) in a pipeline configuration and run the cocotb
    tests above (deep: QG_PIPELINE_DEEP and the deep NN core, DEEP_VECTORS records unless VECTORS is set)."""
    from sim.common.runner import require_nn_core, run_sim

    defines, env = {}, {"QG_PIPELINE": pipeline}
    if pipeline == "deep":
        if not os.environ.get("QG_NN_GEN_ROOT"):
            monkeypatch.setenv("QG_NN_GEN_ROOT", str(REPO_ROOT / PIPELINE_NN_ROOT["deep"]))
        defines["QG_PIPELINE_DEEP"] = 1
        env["VECTORS"] = os.environ.get("VECTORS", str(DEEP_VECTORS))
    require_nn_core()
    run_sim("qg_core_top", __file__, parameters={"GIT_HASH": GIT_HASH}, defines=defines, extra_env=env)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    test_qg_core_top("compact", pytest.MonkeyPatch())
