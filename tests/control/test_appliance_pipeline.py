"""The appliance path on real data: bad input costs nothing (garbage lines and out-of-range records are
counted and skipped; every other event gives the same prediction and quote as a clean run), metrics and
drift are fed, and replay through the appliance equals the batch reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from control.appliance import Appliance, ApplianceConfig, DryRunSink, head_lines, iter_lines
from control.backends.base import BackendFault
from control.backends.cpu import CpuBackend
from control.book.stream import FeedProcessor
from control.drift import DriftMonitor, load_config, load_reference
from control.marketdata.source import sniff_binance
from control.metrics import Metrics
from control.quoting.config import load_config as load_quoting
from control.quoting.engine import QuotingEngine
from models.features import compute_features
from models.reference import ReferenceModel

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"


class _Recorder:
    def __init__(self) -> None:
        self.raw: list[bytes] = []

    def __call__(self, raw: bytes) -> None:
        self.raw.append(raw)


def _appliance(model_cfg, artifacts, sink, metrics=None, drift=None):
    inst = sniff_binance(head_lines(CAPTURE), CAPTURE)
    return Appliance(
        ApplianceConfig(inst.symbol, drift_window=1000),
        FeedProcessor(inst, levels=10),
        CpuBackend.open(artifacts, model_cfg),
        QuotingEngine(load_quoting()),
        sink,
        metrics or Metrics(),
        drift=drift,
        feature_names=model_cfg.features.names,
        output_names=model_cfg.network.outputs,
    )


def _body(raw: bytes) -> bytes:
    """A FIX message without the header fields that differ between runs (34 seq, 52 time)."""
    return b"|".join(f for f in raw.split(b"\x01") if not f.startswith((b"34=", b"52=", b"9=", b"10=")))


def test_garbage_lines_cost_nothing(model_cfg, model_artifacts):
    lines = list(iter_lines([CAPTURE]))
    clean_out, dirty_out = _Recorder(), _Recorder()
    clean = _appliance(model_cfg, model_artifacts, DryRunSink(clean_out))
    clean.run(lines)
    garbage = [
        b"",
        b"not a line",
        b'1721347200000000000 {"stream":"btcusdt@depth@0ms","data":{"e":',
        b'1721347200000000000 {"stream":"btcusdt@trade","data":{"e":"trade","p":"x"}}',
        b"\xff\xfe\x00binary",
    ]
    dirty_lines = []
    for i, ln in enumerate(lines):
        dirty_lines.append(ln)
        if i % 97 == 0:
            dirty_lines.append(garbage[i % len(garbage)])
    dirty = _appliance(model_cfg, model_artifacts, DryRunSink(dirty_out))
    dirty.run(dirty_lines)
    assert dirty.counters.decode_errors >= len(dirty_lines) - len(lines) - 1
    assert dirty.counters.records == clean.counters.records
    assert [_body(x) for x in dirty_out.raw] == [_body(x) for x in clean_out.raw]
    assert dirty.metrics.value("quoteguard_rejects_total", {"kind": "decode"}) == dirty.counters.decode_errors


def test_out_of_range_record_is_refused_and_the_stream_continues(model_cfg, model_artifacts, binance_records):
    recs = binance_records[:400].copy()
    ref = CpuBackend.open(model_artifacts, model_cfg).submit(recs).logits()
    bad = recs[200:201].copy()
    bad["bid_sz"][0, 0] = 1 << 40  # beyond the u32 contract: refused, state untouched
    mixed = np.concatenate([recs[:200], bad, recs[200:]])
    seen = []
    app = _appliance(model_cfg, model_artifacts, DryRunSink())
    app.backend = _Spy(app.backend, seen)
    app.on_records(mixed)
    assert app.counters.refused_records == 1 and app.counters.records == 400
    np.testing.assert_array_equal(np.array(seen), ref)
    assert app.metrics.value("quoteguard_rejects_total", {"kind": "record_range"}) == 1


class _Spy:
    """Keeps the logits the appliance received (the backend itself is the real cpu backend)."""

    def __init__(self, inner, seen):
        self.inner, self.seen, self.name = inner, seen, inner.name

    def submit(self, records):
        batch = self.inner.submit(records)
        self.seen += [p.logits for p in batch]
        return batch

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_replay_equals_batch_reference_and_feeds_metrics_and_drift(
    model_cfg, model_artifacts, binance_records
):
    meta = model_artifacts / "metadata.json"
    m = Metrics()
    drift = DriftMonitor(load_reference(meta), load_config(meta), metrics=m)
    app = _appliance(model_cfg, model_artifacts, DryRunSink(), metrics=m, drift=drift)
    seen = []
    app.backend = _Spy(app.backend, seen)
    app.run(iter_lines([CAPTURE]))
    model = ReferenceModel.load(model_artifacts)
    want = model.predict_batch(compute_features(binance_records, model_cfg)[0])
    np.testing.assert_array_equal(np.array(seen), want)
    n = len(binance_records)
    assert m.value("quoteguard_events_total", {"stream": "BTCUSDT"}) == n
    assert m.value("quoteguard_predictions_total", {"backend": "cpu"}) == n
    for stage in ("decode", "book", "features", "inference", "quoting", "fix_encode"):
        assert m.value("quoteguard_stage_latency_seconds_count", {"stage": stage}) > 0, stage
    assert m.value("quoteguard_drift_psi", {"name": "spread"}) is not None
    assert m.value("quoteguard_drift_psi", {"name": "logit_up"}) is not None
    assert m.value("quoteguard_drift_psi", {"name": "p_withdraw"}) is not None
    st = app.status()
    assert st["latency_us"]["total"]["n"] == n and st["drift_psi"]


def test_fills_from_the_venue_move_the_position_and_are_audited(tmp_path, model_cfg, model_artifacts):
    from control.appliance import FillHandler
    from control.audit import AuditConfig, AuditWriter, read_table
    from control.fix.messages import Message

    app = _appliance(model_cfg, model_artifacts, DryRunSink())
    app.audit = AuditWriter(AuditConfig(tmp_path), "m", "f")
    h = FillHandler(app)
    er = (
        Message("8")
        .add(37, "O1")
        .add(17, "E1")
        .add(150, "F")
        .add(39, "1")
        .add(55, "BTCUSDT")
        .add(54, "1")
        .add(32, "0.004")
        .add(31, "64000.1")
        .add(151, "0.006")
        .add(14, "0.004")
        .add(6, "64000.1")
    )
    assert h.on_message(None, er) == []
    assert app.engine.position("BTCUSDT") == 4
    sell = Message("8").add(150, "F").add(55, "BTCUSDT").add(54, "2").add(32, "0.010").add(31, "64001.0")
    h.on_message(None, sell)
    assert app.engine.position("BTCUSDT") == -6
    h.on_message(None, Message("8").add(150, "0").add(55, "BTCUSDT"))  # a new-order ack: no fill
    h.on_message(None, Message("3").add(45, 7).add(58, "bad"))  # a session reject
    app.audit.close()
    assert app.metrics.value("quoteguard_fills_total") == 2 and h.fills == 2
    assert app.metrics.value("quoteguard_rejects_total", {"kind": "fix"}) == 1
    rows = read_table(tmp_path, "fills").to_pylist()
    assert [(r["side"], r["lots"], r["px_ticks"], r["position_lots"]) for r in rows] == [
        ("BID", 4, 640001, 4),
        ("ASK", 10, 640010, -6),
    ]


class _DiesAfter(CpuBackend):
    """A real cpu backend whose submit fails with the library's transport error after `n` records (as a
    hardware backend does when its simulator or board goes away)."""

    def __init__(self, inner: CpuBackend, n: int) -> None:
        super().__init__(inner.model, inner.features)
        self.left = n

    def submit(self, records):
        if self.left <= 0:
            raise BackendFault("rtl: transport lost (simulator killed)")
        self.left -= len(records)
        return super().submit(records)


def _failing_run(app, tmp_path):
    from control.audit import AuditConfig, AuditWriter

    out = _Recorder()
    app.sink = DryRunSink(out)
    app.audit = AuditWriter(AuditConfig(tmp_path), "m", "f")
    decisions = []
    for line in iter_lines([CAPTURE]):
        decisions += app.on_line(line)
    app.close()
    return decisions, out.raw


def _assert_pulled_after_failure(app, decisions, raw, n_ok, n_records, tmp_path):
    from control.audit import read_table
    from control.quoting.types import Action, ReasonCode

    assert app.counters.records == len(decisions) == n_records       # every event accounted for
    assert app.counters.backend_errors == 1 and not app.backend_healthy
    before, after = decisions[:n_ok], decisions[n_ok:]
    assert any(d.action is Action.QUOTE for d in before)
    assert all(ReasonCode.BACKEND_UNHEALTHY in d.reason_codes() and d.pulled for d in after)
    assert after[0].action is Action.PULL                              # the live quote is cancelled
    assert all(d.action is Action.UNCHANGED for d in after[1:])        # and nothing is quoted again
    cancels = [r for r in raw if b"\x0135=Z\x01" in r]
    assert cancels and b"backend_unhealthy" in cancels[-1]
    assert raw[-1] == cancels[-1]
    m = app.metrics
    assert m.value("quoteguard_events_total", {"stream": "BTCUSDT"}) == n_records
    assert m.value("quoteguard_predictions_total", {"backend": "cpu"}) == n_ok
    st = app.status()
    assert not st["health"]["ok"] and "fault" in st["health"]["detail"]
    assert st["counters"]["backend_errors"] == 1
    assert read_table(tmp_path, "events").num_rows == n_records        # audited, predicted or not
    assert read_table(tmp_path, "predictions").num_rows == n_ok
    ctl = read_table(tmp_path, "control").to_pylist()
    assert [r["event"] for r in ctl] == ["backend_unhealthy"] and ctl[0]["reason"] == "fault"


def test_a_failed_backend_without_fallback_pulls_quotes(tmp_path, model_cfg, model_artifacts, binance_records):
    app = _appliance(model_cfg, model_artifacts, DryRunSink())
    n_ok = 1500
    app.backend = _DiesAfter(app.backend, n_ok)
    decisions, raw = _failing_run(app, tmp_path)
    _assert_pulled_after_failure(app, decisions, raw, n_ok, len(binance_records), tmp_path)
    assert app.metrics.value("quoteguard_backend_healthy", {"backend": "cpu"}) == 0.0


def test_a_failover_whose_cpu_path_fails_too_pulls_quotes(tmp_path, model_cfg, model_artifacts, binance_records):
    from control.backends.failover import FailoverBackend
    from models.streaming import StreamingFeatures

    app = _appliance(model_cfg, model_artifacts, DryRunSink())
    n_ok = 1200
    primary = _DiesAfter(app.backend, n_ok)
    fallback = _DiesAfter(CpuBackend.open(model_artifacts, model_cfg), 0)
    app.backend = FailoverBackend(primary, lambda shadow: fallback, StreamingFeatures(model_cfg))
    decisions, raw = _failing_run(app, tmp_path)
    _assert_pulled_after_failure(app, decisions, raw, n_ok, len(binance_records), tmp_path)


def test_compiled_line_path_equals_the_python_path(model_cfg, model_artifacts):
    """The appliance's per-line fast path (compiled decode_one/book_one, one-record array, cpu single-event
    submit, on_touch, single-Quote encoder) against the same appliance on the Python reference path
    (BinanceDecoder + InstrumentBook for every line): same decisions, predictions and FIX bytes."""
    lines = list(iter_lines([CAPTURE]))
    runs = []
    for compiled in (True, False):
        out = _Recorder()
        app = _appliance(model_cfg, model_artifacts, DryRunSink(out))
        app.feed = FeedProcessor(app.feed.instrument, levels=10, compiled=compiled)
        seen = []
        app.backend = _Spy(app.backend, seen)
        decisions = [d for ln in lines for d in app.on_line(ln)]
        app.flush()
        runs.append((decisions, seen, out.raw, app.counters, app.feed.stats.to_dict()))
    (d1, s1, r1, c1, f1), (d2, s2, r2, c2, f2) = runs
    assert c1.records > 3000 and c1.quotes > 0
    assert d1 == d2 and s1 == s2 and r1 == r2 and c1 == c2
    for f in (f1, f2):
        f.pop("elapsed_s"), f.pop("messages_per_s")
    assert f1 == f2
