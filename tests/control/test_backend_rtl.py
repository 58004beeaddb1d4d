"""rtl backend: qg_core_top under Icarus through the socket bridge, the same driver as the board.
Bit-exact with the cpu backend on real Binance records (batches and single events), RESET handling,
counters and identity; the RTL stalls behind backpressure without losing a record."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from control.backends.cpu import CpuBackend
from control.backends.select import BackendConfig, open_backend
from control.driver.sim_io import SimConfig
from control.firmware.manifest import git_hash32

pytestmark = [
    pytest.mark.sim,
    pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not on PATH"),
]


@pytest.fixture()
def rtl(tmp_path, model_cfg, model_artifacts):
    be = open_backend(
        "rtl",
        BackendConfig(
            model_artifacts,
            model_cfg,
            failover=False,
            timeout_s=60.0,
            sim=SimConfig(build_dir=tmp_path / "sim"),
        ),
    )
    yield be
    be.close()


def test_bit_exact_with_cpu(rtl, model_cfg, model_artifacts, binance_records):
    recs = binance_records[:400]
    want = CpuBackend.open(model_artifacts, model_cfg).submit(recs)
    got = []
    for size in (1, 1, 64, 3, 1, 200, 130):  # mixed batch sizes over one stream
        start = len(got)
        got += rtl.submit(recs[start : start + size]).predictions
    assert [p.seq for p in got] == recs["seq"].tolist()
    assert np.array_equal(np.array([p.logits for p in got]), want.logits())
    assert [p.p_withdraw for p in got] == [p.p_withdraw for p in want]
    h = rtl.health()
    assert h.ok and h.counters["records_in"] == h.counters["predictions_out"] == 400
    assert set(rtl.card_cycles.tolist()) == {rtl.device.read_field("ID_NN_INFO", "LATENCY") - 1}
    ident = rtl.identity()
    assert ident.model_hash == want[0].model_hash and ident.regmap_version == rtl.device.regmap.REGMAP_VERSION
    # the simulated card carries this checkout's commit, as a bitstream build does
    assert rtl.device.read("ID_GIT_HASH") == git_hash32()


def test_reset_record_restarts_state_like_cpu(rtl, model_cfg, model_artifacts, binance_records):
    """A RESET in the middle of the stream (a re-sync) restarts feature state on the card as on the CPU."""
    from models.record import FLAG_RESET

    recs = binance_records[:120].copy()
    recs["flags"][60] |= FLAG_RESET
    want = CpuBackend.open(model_artifacts, model_cfg).submit(recs).logits()
    got = np.concatenate([rtl.submit(recs[i : i + 40]).logits() for i in range(0, 120, 40)])
    np.testing.assert_array_equal(got, want)


def test_backpressure_loses_nothing(rtl, binance_records):
    """With the output held, the core fills its FIFO and then holds s_axis_tready low; released, every
    prediction comes out, in order."""
    io = rtl.device.stream
    recs = binance_records[:100]
    io.stall_output(True)
    rtl.device.send_records(recs)
    with pytest.raises(Exception, match="delivered 0 of 1"):
        io.recv_frames(1, rtl.device.regmap.PREDICTION_DTYPE.itemsize, timeout_s=30)
    assert rtl.device.read("STATS_BACKPRESSURE_CYCLES") > 0
    io.stall_output(False)
    out = rtl.device.recv_predictions(100, timeout_s=60)
    assert out["seq"].tolist() == (recs["seq"] & 0xFFFFFFFF).tolist()
