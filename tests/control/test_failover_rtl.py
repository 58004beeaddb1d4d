"""Failover from the rtl backend (qg_core_top under Icarus, driven through the socket bridge by the same
driver as the board) to the cpu backend, mid-stream, on faults injected in the simulated card:
a stalled output stream, an error flag raised in the RTL, a killed simulator process and a disabled
datapath. Zero events lost or reordered, predictions identical to an all-CPU run, the switch in metrics
and the audit log, the switch time measured. Also: identity mismatch refuses the card."""

from __future__ import annotations

import os
import shutil
import signal
import time

import numpy as np
import pytest

from control.audit import AuditConfig, AuditWriter, read_table
from control.backends.base import BackendIdentityError
from control.backends.cpu import CpuBackend
from control.backends.failover import FailoverBackend
from control.backends.select import BackendConfig, open_backend
from control.driver.sim_io import SimConfig
from control.metrics import Metrics

pytestmark = [
    pytest.mark.sim,
    pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not on PATH"),
]

N, BATCH, FAULT_AT = 240, 16, 5  # fault injected before batch 5 (records 80..95 in flight)


def _cfg(tmp_path, model_cfg, artifacts, **kw):
    sim = SimConfig(build_dir=tmp_path / "sim", max_cycles_per_frame=200, call_timeout_s=60)
    return BackendConfig(artifacts, model_cfg, sim=sim, timeout_s=20.0, **kw)


def _inject(fb: FailoverBackend, fault: str) -> None:
    io = fb.primary.device.stream
    if fault == "stall":
        io.stall_output(True)  # m_axis_tready held low
    elif fault == "error_flag":
        io.force("fifo_overflow", 1, 1)  # the RTL's OVERFLOW sticky flag gets set
    elif fault == "kill":
        os.killpg(io.pid, signal.SIGKILL)  # the simulator process dies
    elif fault == "disabled":
        fb.primary.device.write("CTRL_CONTROL", 0)  # datapath stops accepting records
    else:
        raise ValueError(fault)


@pytest.mark.parametrize(
    "fault, reason",
    [("stall", "timeout"), ("error_flag", "fault"), ("kill", "fault"), ("disabled", "timeout")],
)
def test_failover_mid_stream(fault, reason, tmp_path, model_cfg, model_artifacts, binance_records):
    recs = binance_records[:N]
    want = CpuBackend.open(model_artifacts, model_cfg).submit(recs)
    metrics = Metrics()
    audit = AuditWriter(AuditConfig(tmp_path / "audit"), want[0].model_hash, "rtl")
    fb = open_backend("rtl", _cfg(tmp_path, model_cfg, model_artifacts), metrics=metrics, audit=audit)
    assert isinstance(fb, FailoverBackend) and fb.name == "rtl"
    got, invalid, call_ms = [], [], []
    for k, i in enumerate(range(0, N, BATCH)):
        if k == FAULT_AT:
            _inject(fb, fault)
        t0 = time.perf_counter()
        batch = fb.submit(recs[i : i + BATCH])
        call_ms.append((time.perf_counter() - t0) * 1e3)
        got += batch.predictions
        invalid += batch.invalid.tolist()
    fb.close()
    audit.close()

    assert [p.seq for p in got] == recs["seq"].tolist()  # none lost, none reordered
    assert [p.logits for p in got] == [p.logits for p in want]  # bit-exact across the switch
    assert [(p.p_up, p.p_down, p.p_withdraw) for p in got] == [(p.p_up, p.p_down, p.p_withdraw) for p in want]
    assert invalid == want.invalid.tolist()
    assert [p.backend for p in got] == ["rtl"] * (FAULT_AT * BATCH) + ["cpu"] * (N - FAULT_AT * BATCH)
    ev = fb.events[0]
    assert (fb.failed_over, ev.reason, ev.at_seq, ev.replayed) == (
        True,
        reason,
        int(recs["seq"][FAULT_AT * BATCH]),
        BATCH,
    )
    assert (
        metrics.value(
            "quoteguard_failovers_total", {"from_backend": "rtl", "to_backend": "cpu", "reason": reason}
        )
        == 1
    )
    assert metrics.value("quoteguard_backend_active", {"backend": "cpu"}) == 1
    row = read_table(tmp_path / "audit", "control").to_pylist()[0]
    assert (row["event"], row["reason"], row["at_seq"]) == ("failover", reason, str(ev.at_seq))
    print(
        f"\n{fault}: detected+switched in {call_ms[FAULT_AT]:.1f} ms (switch alone {ev.switch_ns / 1e6:.2f} ms; "
        f"normal rtl batch {np.median(call_ms[:FAULT_AT]):.1f} ms, cpu batch {np.median(call_ms[FAULT_AT + 1 :]):.2f} ms)"
        f"; detail: {ev.detail[:100]}"
    )


def test_identity_mismatch_refuses_the_card(tmp_path, model_cfg, binance_records):
    """Artifacts of another model than the one built into the RTL: the rtl backend refuses to start,
    and `auto` moves on to the cpu backend."""
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    from conftest import _seeded_artifacts

    other = _seeded_artifacts(model_cfg, tmp_path / "other_model")
    with pytest.raises(BackendIdentityError, match="model hash"):
        open_backend("rtl", _cfg(tmp_path, model_cfg, other))
    be = open_backend("auto", _cfg(tmp_path, model_cfg, other))
    assert be.name == "cpu"
    assert len(be.submit(binance_records[:10])) == 10
