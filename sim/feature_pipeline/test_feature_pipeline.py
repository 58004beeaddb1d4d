"""cocotb tests of hw/rtl/feature_pipeline.v against models.features.compute_features (bit-exact).

Real book records (sim/common/golden.py) are streamed with random idle cycles; every feature byte and
the INVALID / RESET flags must equal the software reference, with the state carried across records.
VECTORS sets the record count (default 200), SIM the simulator, WAVES=1 dumps waveforms.
"""
from __future__ import annotations

import logging
import os
import random
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from control.driver import regmap
from sim.common.golden import config, golden, vectors, with_invalid

log = logging.getLogger(__name__)

CLOCK_NS = 4
USER_WIDTH = 32


async def reset(dut) -> None:
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.rst.value = 1
    dut.s_axis_tvalid.value = 0
    dut.s_axis_tdata.value = 0
    dut.s_axis_tuser.value = 0
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def stream(dut, records: np.ndarray, idle_prob: float, rng: random.Random) -> tuple[list, list, list]:
    """Drive records (one per beat, random idle cycles) and collect (index, features, flags) outputs.
    Returns (inputs' accept cycles, outputs, outputs' cycles)."""
    wire = regmap.pack(records)
    words = [int.from_bytes(w.tobytes(), "little") for w in wire]
    outs: list[tuple[int, bytes, int]] = []
    out_cycles: list[int] = []
    in_cycles: list[int] = []
    n = len(words)
    cycle = 0
    i = 0
    fw = 8 * config().n_features
    while len(outs) < n:
        # cycle `cycle` (just after a rising edge): drive this cycle's input, then sample the outputs
        if i < n and rng.random() >= idle_prob:
            dut.s_axis_tdata.value = words[i]
            dut.s_axis_tuser.value = i
            dut.s_axis_tvalid.value = 1
            in_cycles.append(cycle)
            i += 1
        else:
            dut.s_axis_tvalid.value = 0
        await ReadOnly()
        if int(dut.m_axis_tvalid.value):
            user = int(dut.m_axis_tuser.value)
            if not dut.m_axis_tdata.value.is_resolvable:
                raise AssertionError(f"X/Z in features: {dut.m_axis_tdata.value}")
            data = int(dut.m_axis_tdata.value).to_bytes(fw // 8, "little")
            outs.append((user >> 2, data, user & 3))
            out_cycles.append(cycle)
        await RisingEdge(dut.clk)
        cycle += 1
        if cycle > 40 * n + 100:
            raise TimeoutError(f"only {len(outs)} of {n} feature vectors came out")
    dut.s_axis_tvalid.value = 0
    return in_cycles, outs, out_cycles


def check(records: np.ndarray, outs: list) -> None:
    from models.features import compute_features

    feats, invalid = compute_features(records, config())
    reset = (records["flags"] & regmap.BOOK_RECORD_FLAG_RESET) != 0
    reset[0] = True
    names = config().features.names
    for k, (idx, data, flags) in enumerate(outs):
        assert idx == k, f"output {k} carries record index {idx}: order lost"
        got = np.frombuffer(data, dtype=np.int8)
        if not np.array_equal(got, feats[k]):
            diff = {names[j]: (int(got[j]), int(feats[k][j])) for j in range(len(names)) if got[j] != feats[k][j]}
            raise AssertionError(f"record {k} (seq {int(records['seq'][k])}): RTL != models.features "
                                 f"(name: (rtl, sw)) {diff}")
        assert bool(flags & 1) == bool(invalid[k]), f"record {k}: INVALID flag {flags & 1} != {invalid[k]}"
        assert bool(flags & 2) == bool(reset[k]), f"record {k}: RESET flag {flags >> 1} != {reset[k]}"


@cocotb.test()
async def golden_stream_random_idle(dut):
    """Real records with ~30% idle cycles: every feature equals the software reference."""
    await reset(dut)
    g = golden(vectors())
    _, outs, _ = await stream(dut, g.records, 0.3, random.Random(1))
    check(g.records, outs)
    dut._log.info("feature_pipeline: %d real records from %s bit-exact", len(outs), g.source)


@cocotb.test()
async def invalid_and_reset_records(dut):
    """Empty / crossed / locked touches keep the state; a RESET in mid-stream restarts it."""
    await reset(dut)
    g = golden(vectors())
    recs = with_invalid(g.records, every=7)
    if len(recs) > 20:
        recs["flags"][len(recs) // 2] |= regmap.BOOK_RECORD_FLAG_RESET
        recs["flags"][len(recs) // 2 + 1] |= regmap.BOOK_RECORD_FLAG_RESET
        # an invalid record right after a RESET: the clear persists, nothing else is kept
        recs["bid_px"][len(recs) // 2 + 1, 0] = 0
    _, outs, _ = await stream(dut, recs, 0.2, random.Random(2))
    check(recs, outs)
    n_inv = int(sum(f & 1 for _, _, f in outs))
    dut._log.info("feature_pipeline: %d records incl. %d invalid bit-exact", len(outs), n_inv)


@cocotb.test()
async def latency_and_throughput(dut):
    """Back-to-back records: latency in cycles and the sustained initiation interval."""
    await reset(dut)
    g = golden(min(vectors(), 100))
    in_c, outs, out_c = await stream(dut, g.records, 0.0, random.Random(3))
    check(g.records, outs)
    lat = out_c[0] - in_c[0]
    ii = (out_c[-1] - out_c[0]) / (len(out_c) - 1)
    assert all(o - i == lat for i, o in zip(in_c, out_c, strict=True)), "latency is not constant"
    assert ii == 1.0, f"initiation interval {ii} != 1"
    dut._log.info("PERF feature_pipeline: latency %d cycles (input beat to output beat), II %.2f", lat, ii)
    Path(os.environ.get("QG_PERF_FILE", "perf_feature_pipeline.txt")).write_text(f"latency={lat}\nii={ii}\n")


@pytest.mark.parametrize("deep", [0, 1])
def test_feature_pipeline(deep: int) -> None:
    """pytest entry: build feature_pipeline (Icarus by default) and run the cocotb tests above."""
    from sim.common.runner import run_sim

    run_sim("feature_pipeline", __file__, parameters={"USER_WIDTH": USER_WIDTH, "DEEP": deep})


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    test_feature_pipeline()
