"""SliceBackend: the hardware slice checked against the CPU in lockstep, then the CPU alone. A stand-in
hardware backend (the CPU reference under another name, with a planted difference or fault) shows that
a broken bit-exact contract is caught and that a fault mid-slice changes no prediction."""

from __future__ import annotations

import numpy as np
import pytest

from control.backends.base import Backend, BackendFault, BackendIdentity, PredictionBatch
from control.backends.cpu import CpuBackend
from control.demo.slice import SliceBackend
from control.demo.trace import PredictionTrace


class StandIn(Backend):
    """The CPU reference posing as hardware; `tamper_seq` gets a wrong logit, `fail_seq` a fault."""

    name = "rtl"

    def __init__(self, inner: CpuBackend, tamper_seq: int | None = None, fail_seq: int | None = None) -> None:
        self.inner, self.tamper_seq, self.fail_seq = inner, tamper_seq, fail_seq
        self.closed = False

    def submit(self, records: np.ndarray) -> PredictionBatch:
        if self.fail_seq is not None and self.fail_seq in records["seq"].tolist():
            raise BackendFault("rtl: simulator went away")
        batch = self.inner.submit(records)
        preds = [
            p._replace(logits=(p.logits[0] + 1, *p.logits[1:])) if p.seq == self.tamper_seq else p
            for p in batch.predictions
        ]
        preds = [p._replace(backend="rtl") for p in preds]
        return PredictionBatch(preds, batch.invalid)

    def warm(self, records: np.ndarray) -> None:
        self.inner.warm(records)

    def health(self):
        return self.inner.health()

    def identity(self) -> BackendIdentity:
        return BackendIdentity("rtl", self.inner.model.model_hash, "rtl-git-test")

    def close(self) -> None:
        self.closed = True


@pytest.fixture()
def make_cpu(model_cfg, model_artifacts):
    return lambda: CpuBackend.open(model_artifacts, model_cfg)


def _run(backend: Backend, records: np.ndarray, sizes=(1,)) -> list:
    out, i, k = [], 0, 0
    while i < len(records):
        n = sizes[k % len(sizes)]
        out += backend.submit(records[i : i + n]).predictions
        i, k = i + n, k + 1
    return out


def test_slice_then_cpu_gives_the_all_cpu_predictions(make_cpu, binance_records):
    recs = binance_records[:300]
    want = make_cpu().submit(recs)
    trace = PredictionTrace()
    primary = StandIn(make_cpu())
    be = SliceBackend(make_cpu(), primary, 40, trace=trace)
    got = _run(be, recs, sizes=(1, 7, 64))  # the slice boundary falls inside a batch
    assert [p.logits for p in got] == [p.logits for p in want]
    assert [p.backend for p in got] == ["rtl"] * 40 + ["cpu"] * 260
    assert be.overlap.compared == 40 and be.overlap.identical
    assert primary.closed and not be.in_slice and be.name == "cpu"
    assert trace.segments() == [
        {"backend": "rtl", "first_seq": int(recs["seq"][0]), "last_seq": int(recs["seq"][39]), "records": 40},
        {"backend": "cpu", "first_seq": int(recs["seq"][40]), "last_seq": int(recs["seq"][-1]), "records": 260},
    ]
    assert len(be.primary_wall_ns) > 0 and be.primary_identity.firmware_hash == "rtl-git-test"


def test_a_planted_difference_is_caught(make_cpu, binance_records):
    recs = binance_records[:50]
    bad = int(recs["seq"][17])
    be = SliceBackend(make_cpu(), StandIn(make_cpu(), tamper_seq=bad), 30)
    _run(be, recs)
    assert not be.overlap.identical and be.overlap.mismatched == 1
    ex = be.overlap.examples[0]
    assert ex["seq"] == bad and ex["hw_logits"][0] == ex["cpu_logits"][0] + 1


def test_a_fault_in_the_slice_hands_over_without_changing_a_prediction(make_cpu, binance_records):
    recs = binance_records[:120]
    want = make_cpu().submit(recs)
    fail = int(recs["seq"][25])
    be = SliceBackend(make_cpu(), StandIn(make_cpu(), fail_seq=fail), 64)
    got = _run(be, recs)
    assert [p.logits for p in got] == [p.logits for p in want]
    assert [f.at_seq for f in be.faults] == [fail] and be.faults[0].reason == "fault"
    assert be.overlap.compared == 25 and be.overlap.identical
    assert [p.backend for p in got].count("rtl") == 25


def test_whole_stream_on_the_primary(make_cpu, binance_records):
    be = SliceBackend(make_cpu(), StandIn(make_cpu()), None)
    _run(be, binance_records[:80], sizes=(5,))
    assert be.in_slice and be.overlap.compared == 80
    be.close()
    assert not be.in_slice
