"""control.fastpath (decode -> book -> features -> inference in one compiled call) against the same
appliance on the generic per-stage path and on the Python reference feed: the same decisions,
predictions, FIX bytes, counters, feed statistics and feature state, on a real capture, on the capture
with fuzzed lines mixed in, with a book that has to grow mid-stream, and with out-of-range records."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np

from control import fastpath
from control.appliance import Appliance, ApplianceConfig, DryRunSink, head_lines, iter_lines
from control.backends.cpu import CpuBackend
from control.book.kernels import BookSideArrays
from control.book.stream import FeedProcessor
from control.marketdata.source import sniff_binance
from control.metrics import Metrics
from control.quoting.config import load_config as load_quoting
from control.quoting.engine import QuotingEngine

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"


def _run(model_cfg, artifacts, lines, *, fused=True, compiled=True, small_book=False, live=False):
    inst = sniff_binance(head_lines(CAPTURE), CAPTURE)
    feed = FeedProcessor(inst, levels=10, compiled=compiled)
    grown = [0]
    if small_book:   # room for a few levels only: the stream must grow it, in the compiled book step too
        feed.book.bids, feed.book.asks = BookSideArrays(2), BookSideArrays(2)
        feed._book_args = feed.book._arrays()
        ensure = feed.book.ensure_capacity

        def counting(extra):
            grown[0] += 1
            ensure(extra)

        feed.book.ensure_capacity = counting
    raw: list[bytes] = []
    backend = CpuBackend.open(artifacts, model_cfg)
    app = Appliance(ApplianceConfig(inst.symbol, fused=fused), feed, backend, QuotingEngine(load_quoting()),
                    DryRunSink(raw.append), Metrics())
    assert (app._fast is not None) == (fused and compiled)
    decisions, preds = [], []
    on_touch = app.engine.on_touch

    def spy(*a, **k):
        preds.append(a[5])
        return on_touch(*a, **k)

    app.engine.on_touch = spy
    for ln in lines:
        if live:   # a live frame and its receive time, as the WebSocket client hands them over
            ts, _, frame = ln.partition(b" ")
            decisions += app.on_line(frame, int(ts) if ts.isdigit() else 0)
        else:
            decisions += app.on_line(ln)
    app.flush()
    stats = feed.stats.to_dict()
    for k in ("elapsed_s", "messages_per_s"):
        stats.pop(k)
    lat = app.latency.percentiles()
    return {
        "decisions": decisions, "predictions": preds, "fix": raw, "counters": app.counters, "stats": stats,
        "features": backend.features.state.copy(), "processed": backend.processed,
        "book": feed.book.top(20),
        "timed": {s: lat[s]["n"] for s in lat}, "grown": grown[0],
    }


def _same(a, b, timed=True):
    """`timed`: the same stages timed as often (not against the Python feed, which defers nothing)."""
    for k in ("decisions", "predictions", "fix", "counters", "stats", "processed", "book", *(("timed",) * timed)):
        assert a[k] == b[k], k
    np.testing.assert_array_equal(a["features"], b["features"])


def test_fused_path_equals_the_generic_and_the_python_paths_on_a_real_capture(model_cfg, model_artifacts):
    lines = list(iter_lines([CAPTURE]))
    fused = _run(model_cfg, model_artifacts, lines)
    generic = _run(model_cfg, model_artifacts, lines, fused=False)
    python = _run(model_cfg, model_artifacts, lines, fused=False, compiled=False)
    assert fused["counters"].records > 3000 and fused["counters"].quotes > 0
    _same(fused, generic)
    _same(fused, python, timed=False)
    # every per-event stage is still timed on the fused path
    for stage in ("decode", "book", "event_decode", "event_book", "features", "inference", "quoting", "total"):
        assert fused["timed"][stage] > 0, stage


def test_fused_path_equals_the_generic_path_on_live_frames(model_cfg, model_artifacts):
    """Frames with their receive time (the live feed's entry) instead of recorded lines."""
    lines = list(iter_lines([CAPTURE]))
    fused = _run(model_cfg, model_artifacts, lines, live=True)
    generic = _run(model_cfg, model_artifacts, lines, fused=False, live=True)
    assert fused["counters"].records > 3000
    _same(fused, generic)


def _mutate(rng: random.Random, line: bytes) -> bytes:
    b = bytearray(line)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(4)
        i = rng.randrange(len(b)) if b else 0
        if op == 0 and b:
            b[i] = rng.randrange(256)
        elif op == 1 and b:
            del b[i:i + rng.randint(1, 8)]
        elif op == 2:
            b[i:i] = rng.choice([b"9", b"0", b".", b",", b'"', b"]", b"1e9", b"-", b"99999999999999"])
        else:
            b = b[: rng.randrange(len(b) + 1)]
    return bytes(b)


def test_fused_path_equals_the_generic_path_on_fuzzed_lines(model_cfg, model_artifacts):
    """Mutated copies of real lines (digits, separators, truncation, huge numbers) between the real
    ones: whatever each path makes of them (refused, declined to Python, applied), both make the same."""
    rng = random.Random(8)
    lines = []
    for i, ln in enumerate(iter_lines([CAPTURE])):
        lines.append(ln)
        if i > 0 and i % 7 == 0:
            lines.append(_mutate(rng, ln))
    fused = _run(model_cfg, model_artifacts, lines)
    generic = _run(model_cfg, model_artifacts, lines, fused=False)
    assert fused["counters"].decode_errors > 0
    _same(fused, generic)


def test_fused_path_follows_a_book_that_grows_mid_stream(model_cfg, model_artifacts):
    lines = list(iter_lines([CAPTURE]))
    fused = _run(model_cfg, model_artifacts, lines, small_book=True)
    generic = _run(model_cfg, model_artifacts, lines, fused=False, small_book=True)
    normal = _run(model_cfg, model_artifacts, lines, fused=False)
    assert fused["grown"] >= 2
    _same(fused, generic)
    _same(fused, normal)


def test_out_of_range_record_is_refused_on_the_fused_path(model_cfg, model_artifacts):
    """Trades of valid sizes whose sum overflows the u32 trade-volume field of the next record (the
    decoder holds each number to the contract, not their sum): REFUSED, counted, the record skipped
    with the feature state untouched, the stream going on exactly as on the generic path."""
    lines = list(iter_lines([CAPTURE]))
    trade = [b"@trade" in ln for ln in lines]
    i = next(i for i in range(2000, len(lines)) if all(trade[i:i + 3]))   # three trades in a row
    for j in range(i, i + 3):   # 4,000,000 BTC = 4e9 lots of 0.001 each: valid alone
        head, rest = lines[j].split(b'"q":"', 1)
        lines[j] = head + b'"q":"4000000.000' + rest[rest.index(b'"'):]
    fused = _run(model_cfg, model_artifacts, lines)
    generic = _run(model_cfg, model_artifacts, lines, fused=False)
    _same(fused, generic)
    assert fused["counters"].refused_records >= 1 and fused["counters"].decode_errors == 0


def test_codes_and_binding(model_cfg, model_artifacts):
    """The fused path takes only a compiled feed with the plain cpu backend; a declined line changes
    nothing; replacing the appliance's backend (a wrapper, another kind) unbinds it."""
    inst = sniff_binance(head_lines(CAPTURE), CAPTURE)
    feed = FeedProcessor(inst, levels=10)
    backend = CpuBackend.open(model_artifacts, model_cfg)
    path = fastpath.CpuLinePath.of(feed, backend)
    st = feed.st.copy()
    assert path.run(b"garbage", None) == fastpath.DECLINED
    np.testing.assert_array_equal(feed.st, st)
    assert fastpath.CpuLinePath.of(feed, _NotCpu()) is None
    assert fastpath.CpuLinePath.of(FeedProcessor(inst, levels=10, compiled=False), backend) is None
    app = Appliance(ApplianceConfig(inst.symbol), feed, backend, QuotingEngine(load_quoting()), DryRunSink(),
                    Metrics())
    assert app._fast is not None
    app.backend = _NotCpu()
    assert app._fast is None
    app.backend = backend
    assert app._fast is not None and app._fast.backend is backend
    assert Appliance(replace(app.cfg, fused=False), feed, backend, app.engine, app.sink, Metrics())._fast is None


class _NotCpu:
    name = "rtl"
