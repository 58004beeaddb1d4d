"""The streaming processor: raw venue bytes (a recorded line or a live frame) in, top-N records out.

This is the one path from bytes to records: `load_records` (replay), the live WebSocket client and
the appliance all go through `FeedProcessor`. Each input first meets the compiled steady-state loop
(control/book/kernels.py); whatever it does not handle goes, line by line, through BinanceDecoder
and InstrumentBook, which share its state arrays. A refused record costs only itself: it is counted
by reason, its first examples are kept with source and line, and processing continues.
"""
from __future__ import annotations

import logging

import numpy as np

from control.book import kernels as ab
from control.book.counters import ReplayStats
from control.book.kernels import (
    B_CROSSED,
    B_PYTHON,
    B_RECORD,
    B_ROWS,
    F_NASK,
    F_NBID,
    MAX_LEVELS,
    N_FIELDS,
    N_TOUCH,
    R_DONE,
    R_FLUSH,
    R_GROW,
    FastSpec,
    book_line,
    decode_line,
    run_lines,
)
from control.book.records import empty
from control.book.sync import InstrumentBook
from control.marketdata.binance import BinanceDecoder
from control.marketdata.errors import DecodeError
from control.marketdata.events import EVENT_NAMES, BestBidOffer, DepthUpdate, Event, Trade
from control.marketdata.instruments import Instrument
from models.record import DEFAULT_LEVELS

log = logging.getLogger(__name__)

_COUNTED_IN_STATE = {DepthUpdate: ab.S_EV_DEPTH, BestBidOffer: ab.S_EV_BBO, Trade: ab.S_EV_TRADE}
_CROSS_REPORT = 8


class FeedProcessor:
    """Decoder + book + record builder for one Binance instrument stream."""

    def __init__(self, instrument: Instrument, *, levels: int = DEFAULT_LEVELS, source: str = "",
                 compiled: bool = True) -> None:
        """`compiled=False` sends every line through the Python reference path (BinanceDecoder +
        InstrumentBook): slower, and the yardstick the compiled loop is tested against."""
        self.instrument = instrument
        self.compiled = compiled
        self.decoder = BinanceDecoder(instrument)
        self._stats = ReplayStats(instrument=instrument, name=source)
        self._stale = False   # the per-line path leaves the stats to be synced when read
        self.book = InstrumentBook(instrument, levels, self._stats)
        self.builder = self.book.out
        self.st = self.book.st
        self.source = source
        self.levels = levels
        spec = FastSpec.of(instrument)
        self._spec = (spec.futures, spec.sym, spec.pmul, spec.pdiv, spec.smul, spec.sdiv,
                      spec.max_ticks, spec.max_lots)
        self._fields = np.zeros(N_FIELDS, np.int64)
        self._lv_px = np.zeros(MAX_LEVELS, np.int64)
        self._lv_sz = np.zeros(MAX_LEVELS, np.int64)
        self._cross_idx = np.zeros(_CROSS_REPORT, np.int64)
        self._one = (np.zeros(1, np.int64), np.zeros(1, np.int64))
        # the per-line path (decode_one / book_one)
        self.rec1 = empty(1, levels)          # the one record a line made (reused: copy to keep)
        self.touch = np.zeros(N_TOUCH, np.int64)   # its seq, ts, recv, best bid, best ask, flags
        self._none = empty(0, levels)
        self._line = b""
        self._recv = -1
        self._book_args = self.book._arrays()

    @property
    def stats(self) -> ReplayStats:
        if self._stale:
            self._sync_stats()
        return self._stats

    @property
    def needs_snapshot(self) -> bool:
        return self.book.needs_snapshot

    # ------------------------------------------------------------------------------ one line, two stages
    def decode_one(self, raw: bytes, recv_ns: int | None = None) -> int:
        """Decode stage of the per-line path: the compiled decoder on one recorded line (recv_ns None)
        or live frame. Returns the message kind (> 0) when `book_one` can apply it in compiled code,
        0 when the line needs the Python path: BinanceDecoder (`decoder.decode_line` / `decode`, which
        raise DecodeError) and `process(event)`. Changes no book state."""
        self._line, self._recv = raw, -1 if recv_ns is None else recv_ns
        if not self.compiled:
            return 0
        return decode_line(np.frombuffer(raw, np.uint8), 0, len(raw), self._recv, self.st, *self._spec,
                           self._fields, self._lv_px, self._lv_sz)

    def finish(self) -> int:
        """Apply the deep-level updates `book_one` deferred past its record (the appliance calls this
        once the record's quote is out); the next line applies them first anyway. Returns how many."""
        return self.book.apply_deferred()

    def book_one(self, kind: int) -> np.ndarray:
        """Book stage of the line `decode_one` accepted (kind > 0): the records it made, as `process`
        would return them. One record comes back in `rec1`, reused by the next call (copy it to keep
        it), with its touch in `touch`; none as a shared empty array."""
        return self.book_result(kind, self._book_line(kind))

    def _book_line(self, kind: int) -> int:
        return book_line(kind, self.st, *self._book_args, self.builder.out, self._cross_idx, self._spec[0],
                         self._fields, self._lv_px, self._lv_sz, *self.book.deferred, self.rec1, self.touch)

    def book_result(self, kind: int, r: int) -> np.ndarray:
        """The rest of `book_one` once book_line returned `r` for the decoded line of kind `kind`
        (control.fastpath runs book_line itself): make room and apply again (R_GROW / R_FLUSH, which
        applied nothing), note a crossed book, and return the records."""
        while r == R_GROW or r == R_FLUSH:
            if r == R_GROW:
                self.book.ensure_capacity(int(self._fields[F_NBID] + self._fields[F_NASK]))
                self._book_args = self.book._arrays()
            else:
                self.builder.flush()
            r = self._book_line(kind)
        self._stale = True
        if r & B_CROSSED:
            self.st[ab.S_NCROSS_IDX] = 0
            self.book.note_crossed(self._line)
        if r & B_RECORD:
            return self.rec1
        if r & B_ROWS:
            return self.builder.take()
        if r == B_PYTHON:   # the state moved since decode_one (not on the appliance's path)
            self._slow(self._line, None if self._recv < 0 else self._recv, 0)
            self._sync_stats()
            return self.builder.take()
        return self._none

    # ------------------------------------------------------------------------------ entry points
    def process(self, raw: bytes | str | Event, recv_ns: int | None = None, *, line: int = 0) -> np.ndarray:
        """Feed one input and return the records it produced (a structured array, often empty).

        `raw` is a recorded `<ts> <json>` line when `recv_ns` is None, else one JSON frame received at
        `recv_ns`, or an already decoded event."""
        self.feed(raw, recv_ns, line=line)
        return self.builder.take()

    def feed(self, raw: bytes | str | Event, recv_ns: int | None = None, *, line: int = 0) -> None:
        """Like process() but leaves the records in the builder (batch callers take() them in bulk)."""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        if isinstance(raw, bytes | bytearray | memoryview):
            data = bytes(raw)
            starts, ends = self._one
            ends[0] = len(data)
            self._run(data, starts, ends, -1 if recv_ns is None else recv_ns, line - 1)
        else:
            self._slow(raw, None, line)
            self._sync_stats()

    def feed_buffer(self, data: bytes, starts: np.ndarray, ends: np.ndarray, first_line: int = 1) -> None:
        """Feed many recorded lines at once: line i is data[starts[i]:ends[i]] (numbered from
        `first_line`). The compiled loop runs until a line needs Python, which handles that line."""
        self._run(data, starts, ends, -1, first_line - 1)

    def take(self) -> np.ndarray:
        return self.builder.take()

    # ------------------------------------------------------------------------------ internals
    def _run(self, data: bytes, starts: np.ndarray, ends: np.ndarray, recv_override: int, line0: int) -> None:
        buf = np.frombuffer(data, np.uint8)
        i, n = 0, len(starts)
        book, st = self.book, self.st
        if not self.compiled:
            for i in range(n):
                self._slow(data[starts[i]:ends[i]], None if recv_override < 0 else recv_override, line0 + i + 1)
            self._sync_stats()
            return
        while i < n:
            i, why = run_lines(buf, starts, ends, i, n, recv_override, st, *book._arrays(),
                               self.builder.out, self._cross_idx, *self._spec,
                               self._fields, self._lv_px, self._lv_sz, *book.deferred)
            if st[ab.S_NCROSS_IDX]:
                for k in range(int(st[ab.S_NCROSS_IDX])):
                    j = int(self._cross_idx[k])
                    book.note_crossed(data[starts[j]:ends[j]])
                st[ab.S_NCROSS_IDX] = 0
            if why == R_DONE:
                break
            if why == R_FLUSH:
                self.builder.flush()
                continue
            if why == R_GROW:
                book.ensure_capacity(int(self._fields[F_NBID] + self._fields[F_NASK]))
                continue
            self._slow(data[starts[i]:ends[i]], None if recv_override < 0 else recv_override, line0 + i + 1)
            i += 1
        self._sync_stats()

    def _slow(self, raw: bytes | Event, recv_ns: int | None, line: int) -> None:
        """One input through the reference decoder and the Python sync rules."""
        st = self.st
        st[ab.S_MESSAGES] += 1
        try:
            if isinstance(raw, bytes):
                ev = self.decoder.decode_line(raw) if recv_ns is None else self.decoder.decode(raw, recv_ns)
            else:
                ev = raw
            slot = _COUNTED_IN_STATE.get(type(ev))
            if slot is not None:
                st[slot] += 1
            else:
                self.stats.events[EVENT_NAMES[type(ev)]] += 1
            self.book.on_event(ev)
        except DecodeError as err:
            located = err.located(self.source, line, raw if isinstance(raw, bytes | str) else None)
            self.stats.reject(located)
            log.debug("rejected %s", located)

    def _sync_stats(self) -> None:
        """Counters from the state vector; called at the end of every entry point but the per-line
        one, so it also picks up book arrays the Python path or a R_GROW reallocated."""
        self._stale = False
        self._book_args = self.book._arrays()
        st, stats = self.st, self._stats
        stats.messages = int(st[ab.S_MESSAGES])
        stats.records = int(st[ab.S_RECORDS])
        stats.crossed = int(st[ab.S_CROSSED])
        for name, slot in (("depth", ab.S_EV_DEPTH), ("bbo", ab.S_EV_BBO), ("trade", ab.S_EV_TRADE)):
            if st[slot]:
                stats.events[name] = int(st[slot])
        stats.in_sync = self.book.synced
        stats.last_update_id = self.book.last_u
