"""The appliance: feed -> book -> backend -> quoting -> FIX -> audit / metrics, one event at a time.

One `Appliance` serves one instrument stream (feature state is per stream). Every stage runs the same
way on replayed and live input; `on_line` takes one recorded line or live frame. Per event it times the
stages (decode, book, features, inference, quoting, fix_encode), feeds the Prometheus histograms and an
exact recent-percentile window, writes the audit log, and every `status_every` events rewrites the
status file that `quoteguard status` reads.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from control import fastpath
from control.backends.base import Backend, BackendError, Health, RecordRefused
from control.book.stream import FeedProcessor
from control.drift import DriftMonitor
from control.fix.interface import InstrumentQuote, Pull, QuoteEvent, QuoteUpdate
from control.fix.messages import encode_message, utc_timestamp
from control.fix.quote_frame import QuoteFrame
from control.fix.quotes import QuoteWriter
from control.marketdata.errors import DecodeError
from control.marketdata.source import head_lines, iter_lines  # noqa: F401  (re-exported: the replay's line readers)
from control.metrics import LatencyWindow, Metrics
from control.quoting.config import InstrumentConfig
from control.quoting.engine import QuotingEngine
from control.quoting.types import Action, QuoteDecision
from models.streaming import ST_INVALID

if TYPE_CHECKING:
    from control.audit import AuditWriter
    from control.fastpath import CpuLinePath
    from control.prediction import Prediction

log = logging.getLogger(__name__)

perf_ns = time.perf_counter_ns
_R_T, _R_TOUCH, _R_LOGITS = fastpath.R_T, fastpath.R_TOUCH, fastpath.R_LOGITS
# Bulk fills of the Prometheus stage histograms from the latency window: every this many events and
# lines, well inside the window's 65,536 samples per stage.
_DRAIN_EVERY, _DRAIN_LINES = 1024, 8192


@dataclass(frozen=True)
class ApplianceConfig:
    symbol: str
    status_path: Path | None = None  # JSON status file, rewritten atomically
    status_every: int = 2000  # events between status writes
    drift_window: int = 10_000  # predictions per drift evaluation
    fused: bool = True   # cpu backend: decode -> inference in one compiled call (control/fastpath.py)


class QuoteSink(Protocol):
    """Where quote events go: a live FIX session (QueueSink drained by the initiator), or the dry-run
    printer."""

    def send(self, event: QuoteEvent, now_ns: int) -> None: ...

    def close(self) -> None: ...


class DryRunSink:
    """Encodes every event exactly as the FIX session would (QuoteWriter + standard header) and hands
    the bytes to `emit` (the CLI prints them) instead of sending them."""

    def __init__(
        self,
        emit: Callable[[bytes], None] | None = None,
        writer: QuoteWriter | None = None,
        sender: str = "QUOTEGUARD",
        target: str = "DRYRUN",
    ) -> None:
        self.emit, self.writer = emit, writer or QuoteWriter()
        self.sender, self.target = sender.encode(), target.encode()
        self.seq = 0
        self._frames: dict[str, QuoteFrame | None] = {}

    def quote_decision(self, decision: QuoteDecision, inst: InstrumentConfig, now_ns: int) -> bool:
        """A QUOTE decision straight to its Quote frame (control/fix/quote_frame.py: compiled, from
        the integer ticks and lots, the bytes `send(to_fix_event(...))` gives). False when the frame
        writer does not cover it: the caller sends the event."""
        if decision.action is not Action.QUOTE:
            return False
        frame = self._frames.get(decision.symbol, False)
        if frame is False:
            frame = self._frames[decision.symbol] = QuoteFrame.of(
                decision.symbol, inst.tick_size, inst.lot_size, self.sender.decode(), self.target.decode(),
                self.writer.prefix)
        if frame is None:
            return False
        b, a = decision.bid, decision.ask
        raw = frame.quote(self.seq + 1, now_ns, self.writer.peek_number(), b and b.px, a and a.px,
                          b and b.lots, a and a.lots, ";".join([r.code for r in decision.reasons]))
        if raw is None:
            return False
        self.seq += 1
        self.writer.next_number()
        if self.emit is not None:
            self.emit(raw)
        return True

    def send(self, event: QuoteEvent, now_ns: int) -> None:
        for m in self.writer.messages(event, now_ns):
            self.seq += 1
            raw = encode_message(
                m, [(34, b"%d" % self.seq), (49, self.sender), (52, utc_timestamp(now_ns)), (56, self.target)]
            )
            if self.emit is not None:
                self.emit(raw)

    def close(self) -> None:
        pass


class QueueSink:
    """Holds events for an asynchronous consumer (the FIX initiator's event stream)."""

    def __init__(self) -> None:
        self.events: deque[QuoteEvent] = deque()

    def send(self, event: QuoteEvent, now_ns: int) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


def to_fix_event(decision: QuoteDecision, inst: InstrumentConfig) -> QuoteEvent | None:
    """The FIX layer's view of a quoting decision: QuoteUpdate for QUOTE, Pull for PULL."""
    action = decision.action
    if action is Action.UNCHANGED:
        return None
    reason = ";".join([r.code for r in decision.reasons])   # ReasonCode is a StrEnum: its value
    if action is Action.QUOTE:
        b, a = decision.bid, decision.ask
        return QuoteUpdate(
            (
                InstrumentQuote(
                    decision.symbol,
                    inst.price(b.px) if b else None,
                    inst.price(a.px) if a else None,
                    inst.qty(b.lots) if b else None,
                    inst.qty(a.lots) if a else None,
                ),
            ),
            reason=reason,
        )
    if action is Action.PULL:
        return Pull((decision.symbol,), reason=reason)
    return None


@dataclass
class Counters:
    lines: int = 0
    decode_errors: int = 0
    records: int = 0
    refused_records: int = 0
    invalid_predictions: int = 0
    quotes: int = 0
    pulls: int = 0
    backend_errors: int = 0   # submits that failed with no fallback (then the backend is out of service)


class Appliance:
    def __init__(
        self,
        cfg: ApplianceConfig,
        feed: FeedProcessor,
        backend: Backend,
        engine: QuotingEngine,
        sink: QuoteSink,
        metrics: Metrics,
        *,
        audit: AuditWriter | None = None,
        drift: DriftMonitor | None = None,
        feature_names: tuple[str, ...] = (),
        output_names: tuple[str, ...] = (),
    ) -> None:
        self.cfg, self.engine, self.sink = cfg, engine, sink
        self._fast: CpuLinePath | None = None
        self._feed, self._backend = feed, backend
        self.metrics, self.audit, self.drift = metrics, audit, drift
        self.inst = engine.cfg.instrument(cfg.symbol)
        self.latency = LatencyWindow()
        self.counters = Counters()
        self.started_ns = time.time_ns()
        self.feature_names, self.output_names = feature_names, output_names
        self._drift_logits: list[tuple[int, ...]] = []
        self._drift_features: list[np.ndarray] = []
        self._drift_probs: list[tuple[float, float, float]] = []
        # Stage samples go to the latency window only; the Prometheus histograms are filled from it in
        # bulk every _DRAIN_EVERY events and before every scrape (control.metrics.StageLatency).
        metrics.stage_latency.sources.append(self._drain_latency)
        self._events = metrics.events.labels(cfg.symbol)
        self._predictions: dict[str, object] = {}   # labelled children, per backend name
        self._backend_error: BackendError | None = None   # set when the backend failed with no fallback
        self._bind()
        metrics.set_active_backend(backend.name)
        metrics.backend_healthy.labels(backend.name).set(1.0)

    # The fused path is bound to one feed and one backend: replacing either (tests wrap the backend)
    # rebinds it, to nothing when the new pair cannot take it.
    @property
    def feed(self) -> FeedProcessor:
        return self._feed

    @feed.setter
    def feed(self, feed: FeedProcessor) -> None:
        self._feed = feed
        self._bind()

    @property
    def backend(self) -> Backend:
        return self._backend

    @backend.setter
    def backend(self, backend: Backend) -> None:
        self._backend = backend
        self._bind()

    def _bind(self) -> None:
        self._fast = fastpath.CpuLinePath.of(self._feed, self._backend) if self.cfg.fused else None
        if self._fast is not None:
            self._fast.warm_up()   # compile before the first line, not on it

    # -- the event path ----------------------------------------------------------------------------
    # Each event's stages are timed between perf_counter_ns stamps from the start of decoding its line
    # to its FIX bytes (`total`); the bookkeeping (histograms, recent-percentile window, counters,
    # audit, drift, status) runs after its FIX bytes are out, from those stamps.
    def on_line(self, line: bytes | str, recv_ns: int | None = None) -> list[QuoteDecision]:
        """One recorded `<ts> <json>` line (recv_ns None) or one live frame received at recv_ns."""
        c = self.counters
        c.lines += 1
        if not c.lines % _DRAIN_LINES:   # lines without events add decode/book samples too
            self._drain_latency()
        t0 = perf_ns()
        raw = line.encode() if isinstance(line, str) else line
        feed = self._feed
        fast = self._fast
        if fast is not None:   # decode -> book -> features -> inference in one compiled call
            code = fast.run(raw, recv_ns)
            if code == fastpath.EVENT:
                return self._fast_event(fast, t0)
            if code != fastpath.DECLINED:   # booked: finish the line on the generic path
                r = fast.res.tolist()
                if code == fastpath.BOOKED:
                    records = feed.book_result(r[fastpath.R_KIND], r[fastpath.R_BOOK])
                    t2 = perf_ns()
                else:                          # REFUSED: submit() refuses it with the reason
                    records, t2 = feed.rec1, r[fastpath.R_T + fastpath.T_BOOKED]
                return self._after_book(records, t0, r[fastpath.R_T + fastpath.T_DECODED], t2)
            kind = 0
        else:
            kind = feed.decode_one(raw, recv_ns)   # compiled decoder; 0: the line needs the Python path
        if kind:
            t1 = perf_ns()
            records = feed.book_one(kind)
            t2 = perf_ns()
        else:
            try:
                ev = feed.decoder.decode_line(raw) if recv_ns is None else feed.decoder.decode(raw, recv_ns)
            except DecodeError as err:
                c.decode_errors += 1
                self.metrics.rejects.labels("decode").inc()
                feed.stats.reject(err.located(feed.source, c.lines, raw))
                return []
            t1 = perf_ns()
            records = feed.process(ev)
            t2 = perf_ns()
        return self._after_book(records, t0, t1, t2)

    def _after_book(self, records: np.ndarray, t0: int, t1: int, t2: int) -> list[QuoteDecision]:
        feed = self.feed
        if records is feed.rec1:   # one record (the steady state): its touch came with it
            d = self._one(records, feed.touch.tolist(), t0, t1, t2)
            self._finish_book()
            if self.audit is not None:
                self.audit.events(records, self.cfg.symbol)
            return [] if d is None else [d]
        if len(records) == 0:
            self._finish_book()
            self._line_stages(t1 - t0, t2 - t1, False)
            return []
        decisions = self.on_records(records, t_start=t0, line_ns=(t1, t2))
        self._finish_book()
        return decisions

    def _fast_event(self, fast: CpuLinePath, t0: int) -> list[QuoteDecision]:
        """An EVENT from the fused path: its prediction, then the same decision path as `_one`."""
        r = fast.res.tolist()
        backend = self._backend
        touch = r[_R_TOUCH:_R_LOGITS]
        backend.processed += 1
        pred = backend.prediction_with(touch[0], touch[1], tuple(r[_R_LOGITS:]), fast.probs.tolist())
        t_dec, t_book, t_feat, t_inf = r[_R_T:_R_T + 4]
        d = self._decide(touch, pred, r[fastpath.R_STATUS] == ST_INVALID, fast.feats, t0, perf_ns(), t_dec, t_book,
                         t_feat - t_book, t_inf - t_feat)
        self._finish_book()
        if self.audit is not None:
            self.audit.events(self._feed.rec1, self.cfg.symbol)
        return [] if d is None else [d]

    def _finish_book(self) -> None:
        """The deep levels of the last diff, which the book stage left for after the quote."""
        t = perf_ns()
        if self.feed.finish():
            self.latency.add("book_deferred", perf_ns() - t)

    def _drain_latency(self) -> None:
        self.latency.drain_into(self.metrics.stage_latency)

    def on_records(
        self, records: np.ndarray, t_start: int | None = None, line_ns: tuple[int, int] | None = None
    ) -> list[QuoteDecision]:
        """Records from the book (or a test); `t_start`/`line_ns`: when decoding their line started and
        the decode and book stages ended (on_line)."""
        decisions = []
        t1 = t2 = None
        if line_ns is not None:
            t1, t2 = line_ns
        for i in range(len(records)):
            rec1 = records[i : i + 1]
            r = rec1[0]
            touch = [int(r["seq"]), int(r["ts_ns"]), int(r["recv_ns"]), int(r["bid_px"][0]),
                     int(r["ask_px"][0]), int(r["flags"])]
            d = self._one(rec1, touch, t_start, t1, t2)
            if d is not None:
                decisions.append(d)
            t_start = t1 = t2 = None
        if self.audit is not None:
            self.audit.events(records, self.cfg.symbol)
        return decisions

    def _line_stages(self, decode_ns: int, book_ns: int, event: bool) -> None:
        lat = self.latency
        lat.add("decode", decode_ns)
        lat.add("book", book_ns)
        if event:
            lat.add("event_decode", decode_ns)
            lat.add("event_book", book_ns)

    def _one(
        self, rec1: np.ndarray, touch: list[int], t_start: int | None, t1: int | None = None, t2: int | None = None
    ) -> QuoteDecision | None:
        """One record: backend -> quoting -> FIX. `touch`: its seq, ts_ns, recv_ns, best bid, best ask,
        flags; t_start/t1/t2: its line's decode start, decode end and book end (None: not timed here)."""
        ta = perf_ns()
        batch = None
        if self._backend_error is None:
            try:
                batch = self.backend.submit(rec1)
            except RecordRefused as e:
                if t1 is not None:
                    self._line_stages(t1 - t_start, t2 - t1, True)
                self.counters.refused_records += 1
                self.metrics.rejects.labels("record_range").inc()
                log.warning("refused record seq %d: %s", touch[0], e)
                return None
            except BackendError as e:   # no fallback left: quote nothing until the backend is replaced
                self._backend_failed(e, touch[0])
        tb = perf_ns()
        if batch is None:
            return self._decide(touch, None, False, None, ta if t_start is None else t_start, tb, t1, t2)
        stamps = batch.stage_ns
        if "features" in stamps:
            feat_ns, inf_ns = stamps["features"], stamps["inference"]
        else:
            feat_ns, inf_ns = None, tb - ta
        return self._decide(touch, batch.predictions[0], bool(batch.invalid[0]),
                            None if batch.features is None else batch.features[0],
                            ta if t_start is None else t_start, tb, t1, t2, feat_ns, inf_ns)

    def _decide(
        self, touch: list[int], pred: Prediction | None, invalid: bool, features: np.ndarray | None,
        t_start: int, tb: int, t1: int | None, t2: int | None, feat_ns: int | None = None,
        inf_ns: int | None = None,
    ) -> QuoteDecision:
        """Quoting -> FIX for one record's prediction (None: the backend is out of service), then the
        bookkeeping. t_start: when its line's decoding began; tb: when the prediction was ready; t1/t2:
        decode and book ends (None: not timed here); feat_ns/inf_ns: the backend's stage times."""
        c = self.counters
        seq, ts_ns, recv_ns, bid0, ask0, flags = touch
        decision = self.engine.on_touch(
            self.cfg.symbol,
            bid0,
            ask0,
            flags,
            ts_ns,
            pred,
            # The prediction's age is measured on the exchange clock it was stamped with: the newest
            # record's exchange time is "now" there (the local receive clock can be seconds off).
            now_ns=ts_ns,
            backend_healthy=self._backend_error is None,
            prediction_invalid=invalid,
        )
        tc = perf_ns()
        sent = decision.action is not Action.UNCHANGED
        if sent:
            direct = getattr(self.sink, "quote_decision", None)   # the dry-run sink's compiled Quote frame
            if direct is None or not direct(decision, self.inst, recv_ns):
                self.sink.send(to_fix_event(decision, self.inst), recv_ns)
        td = perf_ns()
        # -- bookkeeping, after the FIX bytes -------------------------------------------------------
        lat = self.latency
        if t1 is not None:
            self._line_stages(t1 - t_start, t2 - t1, True)
        if feat_ns is not None:
            lat.add("features", feat_ns)
        if inf_ns is not None:
            lat.add("inference", inf_ns)
        lat.add("quoting", tc - tb)
        if sent:
            lat.add("fix_encode", td - tc)
            if decision.action is Action.QUOTE:
                c.quotes += 1
                self.metrics.quotes.inc()
            else:
                c.pulls += 1
                self.metrics.pulls.inc()
            if self.audit is not None:
                self.audit.quotes([_quote_row(decision, seq if pred is None else pred.seq)])
        lat.add("total", td - t_start)
        c.records += 1
        self._events.inc()
        if not c.records % _DRAIN_EVERY:
            self._drain_latency()
        if pred is not None:
            c.invalid_predictions += invalid
            counter = self._predictions.get(pred.backend)
            if counter is None:
                counter = self._predictions[pred.backend] = self.metrics.predictions.labels(pred.backend)
            counter.inc()
            if invalid:
                self.metrics.invalid.inc()
            if self.audit is not None:
                self.audit.predictions([pred], self.cfg.symbol)
            if self.drift is not None:
                self._drift_logits.append(pred.logits)
                self._drift_probs.append((pred.p_up, pred.p_down, pred.p_withdraw))
                if features is not None:
                    self._drift_features.append(features.copy())   # the fused path reuses its buffer
                if len(self._drift_logits) >= self.cfg.drift_window:
                    self._evaluate_drift()
        if self.cfg.status_path is not None and c.records % self.cfg.status_every == 0:
            self.write_status()
        return decision

    def _backend_failed(self, err: BackendError, seq: int) -> None:
        """The backend raised with no fallback left (a hardware backend without failover, or a failover
        whose CPU path failed too). Its stream state is unknown from here on, so it gets no more records:
        every event is still counted and audited, and the engine pulls (`backend_unhealthy`)."""
        self._backend_error = err
        self.counters.backend_errors += 1
        name = self.backend.name
        log.error("backend %s failed (%s: %s) at record seq %d: quotes pulled until it is replaced",
                  name, err.reason, err, seq)
        self.metrics.backend_healthy.labels(name).set(0.0)
        if self.audit is not None:
            self.audit.control("backend_unhealthy", backend=name, reason=err.reason, detail=str(err), at_seq=seq)

    def _evaluate_drift(self) -> None:
        logits = np.array(self._drift_logits)
        self._drift_logits.clear()
        values = {f"logit_{n}": logits[:, k] for k, n in enumerate(self.output_names)}
        probs = np.array(self._drift_probs)
        self._drift_probs.clear()
        values |= {n: probs[:, k] for k, n in enumerate(("p_up", "p_down", "p_withdraw"))}
        if self._drift_features:
            feats = np.stack(self._drift_features)
            self._drift_features.clear()
            values |= {n: feats[:, k] for k, n in enumerate(self.feature_names)}
        self.drift.observe(values)
        self.drift.evaluate()
        self.drift.reset_window()

    # -- running and reporting ---------------------------------------------------------------------
    def run(self, lines: Iterable[bytes], progress: Callable[[int], None] | None = None) -> Counters:
        for n, line in enumerate(lines, 1):
            self.on_line(line)
            if progress is not None and n % 1000 == 0:
                progress(1000)
        self.flush()
        return self.counters

    @property
    def backend_healthy(self) -> bool:
        return self._backend_error is None

    def status(self) -> dict:
        if self._backend_error is not None:   # the failed backend is not asked (its transport may be gone)
            e = self._backend_error
            h = Health(False, f"backend {self.backend.name} failed ({e.reason}: {e}); quotes pulled")
        else:
            h = self.backend.health()
        ident = self.backend.identity()
        drift = {}
        if self.drift is not None:
            drift = {n: self.metrics.value("quoteguard_drift_psi", {"name": n}) for n in self.drift.reference}
        return {
            "pid": os.getpid(),
            "symbol": self.cfg.symbol,
            "started_ns": self.started_ns,
            "updated_ns": time.time_ns(),
            "backend": self.backend.name,
            "event_path": "fused" if self._fast is not None else "generic",   # control/fastpath.py
            "identity": ident.as_dict(),
            "health": {"ok": h.ok, "detail": h.detail, "counters": h.counters},
            "counters": dict(self.counters.__dict__),
            "failovers": [e.__dict__ for e in getattr(self.backend, "events", [])],
            "latency_us": self.latency.percentiles(),
            "drift_psi": {k: v for k, v in drift.items() if v is not None},
            "book": {"in_sync": bool(self.feed.stats.in_sync)},
        }

    def write_status(self) -> None:
        path = self.cfg.status_path
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.status(), indent=1, default=str))
        os.replace(tmp, path)

    def flush(self) -> None:
        self._drain_latency()
        if self.audit is not None:
            self.audit.flush()
        if self.cfg.status_path is not None:
            self.write_status()

    def close(self) -> None:
        self.flush()
        if self.audit is not None:
            self.audit.close()
        self.sink.close()
        self.backend.close()


def _quote_row(d: QuoteDecision, seq: int) -> dict:
    return {
        "seq": seq,
        "symbol": d.symbol,
        "ts_ns": d.ts_ns,
        "action": d.action.value,
        "bid_px": d.bid.px if d.bid else None,
        "bid_lots": d.bid.lots if d.bid else None,
        "ask_px": d.ask.px if d.ask else None,
        "ask_lots": d.ask.lots if d.ask else None,
        "reasons": ";".join(r.code.value for r in d.reasons),
        "half_spread_bp": d.half_spread_bp,
    }


class AsyncQueueSink:
    """Quote events for the FIX initiator when the feed itself is asynchronous (live): the feed's
    callback runs in the event loop, so events go straight into an asyncio queue; `close` ends it."""

    def __init__(self) -> None:
        import asyncio

        self.queue: asyncio.Queue[QuoteEvent | None] = asyncio.Queue()

    def send(self, event: QuoteEvent, now_ns: int) -> None:
        self.queue.put_nowait(event)

    def close(self) -> None:
        self.queue.put_nowait(None)

    async def events(self) -> AsyncIterator[QuoteEvent]:
        while (event := await self.queue.get()) is not None:
            yield event


class FillHandler:
    """The venue's ExecutionReports (35=8) with a fill (ExecType 150=F): our quote traded. Updates the
    quoting engine's position, counts the fill, and writes it to the audit log. Plugged into the FIX
    initiator as its application (`control.fix.initiator.InitiatorApp` keeps acks and rejects)."""

    def __init__(self, app: Appliance) -> None:
        from control.fix.initiator import InitiatorApp

        self.app = app
        self.base = InitiatorApp()
        self.fills = 0

    def on_logon(self, session) -> list:
        return self.base.on_logon(session)

    def on_disconnect(self, session, reason: str) -> None:
        self.base.on_disconnect(session, reason)

    def on_message(self, session, msg) -> list:
        if msg.msg_type in ("3", "j"):
            self.app.metrics.rejects.labels("fix").inc()
        if msg.msg_type == "8" and msg.text(150) == "F":
            self.on_fill(msg)
        return self.base.on_message(session, msg)

    def on_fill(self, msg) -> None:
        from decimal import Decimal

        from control.quoting.types import Side

        symbol, inst = msg.text(55), self.app.inst
        if symbol != self.app.cfg.symbol:
            log.warning("fill for %s on the %s appliance ignored", symbol, self.app.cfg.symbol)
            return
        side = Side.BID if msg.text(54) == "1" else Side.ASK  # 54=1: we bought (our bid traded)
        qty, px = Decimal(msg.text(32)), Decimal(msg.text(31))
        lots = inst.to_lots(qty)
        self.app.engine.on_fill(symbol, side, lots)
        self.fills += 1
        self.app.metrics.fills.inc()
        if self.app.audit is not None:
            self.app.audit.fills(
                [
                    {
                        "symbol": symbol,
                        "side": side.name,
                        "lots": lots,
                        "px_ticks": inst.to_ticks(px),
                        "exec_id": msg.text(17),
                        "order_id": msg.text(37),
                        "position_lots": self.app.engine.position(symbol),
                    }
                ]
            )


async def quote_events(
    app: Appliance,
    lines: Iterable[bytes],
    sink: QueueSink,
    progress: Callable[[int], None] | None = None,
    *,
    progress_every: int = 1000,
    on_line: Callable[[list[QuoteDecision]], None] | None = None,
) -> AsyncIterator[QuoteEvent]:
    """Run the appliance over `lines` and yield its quote events for the FIX initiator
    (control.fix.initiator.QuoteStreamer), giving the session's event loop a turn after every line.
    `on_line` sees each line's decisions before its events are yielded (the demo traces them)."""
    import asyncio

    for n, line in enumerate(lines, 1):
        decisions = app.on_line(line)
        if on_line is not None:
            on_line(decisions)
        while sink.events:
            yield sink.events.popleft()
        if progress is not None and n % progress_every == 0:
            progress(progress_every)
        await asyncio.sleep(0)
    app.flush()
