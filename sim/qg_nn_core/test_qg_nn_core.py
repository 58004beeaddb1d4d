"""cocotb test of the generated NN core (hw/rtl/gen/nn/qg_nn_core.v, da4ml from the QKeras model) against
the integer CPU reference (models.reference) and golden.npz outputs: one feature vector per clock,
exact equality, latency = QG_NN_LATENCY. VECTORS sets the random-vector count (default 200). Both pipeline
configurations: compact (hw/rtl/gen/) and deep (hw/rtl/deep/gen/)."""
from __future__ import annotations

import logging
import os
import re

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from hw.syn.boards import PIPELINE_NN_ROOT
from hw.syn.boards import REPO as REPO_ROOT
from sim.common.golden import golden, reference_outputs, vectors
from sim.common.runner import RTL

log = logging.getLogger(__name__)


def nn_latency() -> int:
    import os
    from pathlib import Path

    root = Path(os.environ["QG_NN_GEN_ROOT"]) if os.environ.get("QG_NN_GEN_ROOT") else RTL
    text = (root / "gen" / "nn_params.vh").read_text()
    return int(re.search(r"`define QG_NN_LATENCY (\d+)", text).group(1))


@cocotb.test()
async def exact_one_per_clock(dut):
    """Golden features (real data) and random vectors of the input grid, back to back."""
    Clock(dut.clk, 4, unit="ns").start()
    g = golden(vectors())
    rnd = np.random.default_rng(5).integers(-128, 128, (vectors(), g.features.shape[1])).astype(np.int8)
    x = np.concatenate([g.features, rnd])
    want = reference_outputs(x)
    if g.outputs is not None:
        np.testing.assert_array_equal(want[:len(g.outputs)], g.outputs, err_msg="reference != golden.npz outputs")
    lat = nn_latency()
    words = [int.from_bytes(row.astype(np.int8).tobytes(), "little") for row in x]
    got = []
    for t in range(len(words) + lat):
        dut.model_inp.value = words[t] if t < len(words) else 0
        await ReadOnly()
        if t >= lat:
            v = int(dut.logits.value)
            got.append([((v >> (16 * j)) + (1 << 15)) % (1 << 16) - (1 << 15) for j in range(want.shape[1])])
        await RisingEdge(dut.clk)
    got = np.array(got, dtype=np.int64)
    bad = np.flatnonzero((got != want).any(axis=1))
    assert not len(bad), f"{len(bad)} mismatches, first vector {bad[0]}: RTL {got[bad[0]]} != reference {want[bad[0]]}"
    dut._log.info("qg_nn_core: %d vectors (%d golden from %s + %d random) exact, latency %d cycles, II 1",
                  len(x), len(g.features), g.source, len(rnd), lat)


@pytest.mark.parametrize("pipeline", ["compact", "deep"])
def test_qg_nn_core(pipeline: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest entry: build the generated NN core (of the pipeline configuration) and run the cocotb test above."""
    from sim.common.runner import require_nn_core, run_sim

    if pipeline == "deep" and not os.environ.get("QG_NN_GEN_ROOT"):
        monkeypatch.setenv("QG_NN_GEN_ROOT", str(REPO_ROOT / PIPELINE_NN_ROOT["deep"]))
    require_nn_core()
    run_sim("qg_nn_core", __file__)
