"""The book of one instrument and the venue's sync rules, applied event by event.

Depth mode (Binance documentation, "How to manage a local order book correctly"):
- Until a snapshot is aligned, diffs are buffered (bounded) and no record is emitted.
- Snapshot with lastUpdateId L: drop buffered diffs with u < L (futures) / u <= L (spot); the first
  applied diff must straddle it: U <= L <= u (futures) / U <= L+1 <= u (spot). Otherwise the snapshot
  is refused (BAD_SNAPSHOT) and we wait for another: never guess.
- After that, futures need pu == previous u; spot needs U == previous u + 1. A diff whose u is not
  above the last applied u is a duplicate or stale (NON_MONOTONIC_ID, book stays in sync); anything
  else is a gap: the book is cleared, `needs_snapshot` turns on, and diffs are buffered again.
BBO mode (no snapshot exists, e.g. the recorded spot capture): each best bid/offer replaces a one-level
book; its update id must increase.

One record is emitted after every applied update (snapshot, diff, or BBO in BBO mode) with the top N
levels and the trades since the previous record; FLAG_RESET marks the first record after each sync.
Trade counters restart when the book (re)synchronizes, so a RESET record never carries trades from
before the snapshot.
"""
from __future__ import annotations

import logging
from collections import deque

from control.book.counters import ReplayStats
from control.book.l2 import L2Book
from control.book.records import FLAG_IN_SYNC, FLAG_RESET, RecordBuilder
from control.marketdata import errors as E
from control.marketdata.errors import DecodeError
from control.marketdata.events import BUY, BestBidOffer, DepthUpdate, Event, Ignored, Snapshot, Trade
from control.marketdata.instruments import BOOK_BBO, Instrument

log = logging.getLogger(__name__)

MAX_BUFFERED_DIFFS = 50_000


class InstrumentBook:
    """Applies normalized events of one instrument to its book and emits top-N records."""

    def __init__(self, instrument: Instrument, records: RecordBuilder, stats: ReplayStats) -> None:
        self.instrument = instrument
        self.futures = instrument.market != "spot"
        self.bbo_mode = instrument.book_source == BOOK_BBO
        self.book = L2Book()
        self.out = records
        self.stats = stats
        self.levels = records.levels
        self.synced = False
        self.last_u = -1                  # last applied update id
        self._straddle = False            # next diff must straddle the snapshot id
        self._pending_reset = True
        self._had_gap = False
        self._buffer: deque[DepthUpdate] = deque()
        self._last_trade_id = -1
        self._trade_buy = 0
        self._trade_sell = 0

    # ------------------------------------------------------------------------------ state
    @property
    def needs_snapshot(self) -> bool:
        """True while a depth book waits for a snapshot (at start and after a gap)."""
        return not self.bbo_mode and not self.synced

    def lose_sync(self, why: str) -> None:
        """The transport lost messages (e.g. a reconnect): drop the book and wait for a snapshot.
        Trade ids are kept, so trades replayed by the venue after a reconnect are refused as duplicates."""
        if self.bbo_mode:
            return     # each BBO is self-contained; monotonic ids still guard against replays
        if self.synced:
            self.stats.gaps += 1
            log.warning("%s: sync lost (%s); waiting for a snapshot", self.instrument.name, why)
        self.synced = False
        self._straddle = False
        self._had_gap = self._had_gap or self.stats.syncs > 0
        self.book.clear()
        self._buffer.clear()

    def on_event(self, ev: Event) -> None:
        """Apply one event. Raises DecodeError for events the book refuses (the caller counts it)."""
        t = type(ev)
        if t is DepthUpdate:
            if self.bbo_mode:
                return       # decoded and validated, but this instrument's book is the BBO
            self._on_depth(ev)
        elif t is BestBidOffer:
            if self.bbo_mode:
                self._on_bbo(ev)
        elif t is Trade:
            self._on_trade(ev)
        elif t is Snapshot:
            if not self.bbo_mode:
                self._on_snapshot(ev)
        elif t is not Ignored:
            raise TypeError(f"not an event: {ev!r}")

    # ------------------------------------------------------------------------------ trades
    def _on_trade(self, ev: Trade) -> None:
        if ev.trade_id <= self._last_trade_id:
            raise DecodeError(E.NON_MONOTONIC_ID,
                              f"trade id {ev.trade_id} not above last {self._last_trade_id}", record=ev)
        self._last_trade_id = ev.trade_id
        if ev.side == BUY:
            self._trade_buy += ev.size
        else:
            self._trade_sell += ev.size

    # ------------------------------------------------------------------------------ depth
    def _on_depth(self, ev: DepthUpdate) -> None:
        if not self.synced:
            self._buffer_diff(ev)
            return
        if self._straddle:
            self._apply_first(ev, self.last_u)
            return
        chained = ev.prev_final_id == self.last_u if self.futures else ev.first_id == self.last_u + 1
        if chained:
            self._apply(ev)
        elif ev.final_id <= self.last_u:
            raise DecodeError(E.NON_MONOTONIC_ID,
                              f"depth u={ev.final_id} not above last applied u={self.last_u}", record=ev)
        else:
            self._gap(ev, f"expected {'pu' if self.futures else 'U-1'}={self.last_u}, got "
                          f"{ev.prev_final_id if self.futures else ev.first_id - 1}")

    def _buffer_diff(self, ev: DepthUpdate) -> None:
        buf = self._buffer
        if buf and ev.final_id <= buf[-1].final_id:
            raise DecodeError(E.NON_MONOTONIC_ID,
                              f"buffered depth u={ev.final_id} not above u={buf[-1].final_id}", record=ev)
        if len(buf) >= MAX_BUFFERED_DIFFS:
            buf.popleft()
            self.stats.unsynced_diffs += 1
        buf.append(ev)

    def _gap(self, ev: DepthUpdate, why: str) -> None:
        self.stats.gaps += 1
        log.warning("%s: sequence gap at u=%d (%s); book cleared, waiting for a snapshot",
                    self.instrument.name, ev.final_id, why)
        self.synced = False
        self._had_gap = True
        self.book.clear()
        self._buffer.clear()
        self._buffer.append(ev)

    def _straddles(self, ev: DepthUpdate, last: int) -> bool:
        target = last if self.futures else last + 1
        return ev.first_id <= target <= ev.final_id

    def _is_stale(self, ev: DepthUpdate, last: int) -> bool:
        return ev.final_id < last if self.futures else ev.final_id <= last

    def _apply_first(self, ev: DepthUpdate, last: int) -> None:
        if self._is_stale(ev, last):
            self.stats.stale_diffs += 1
        elif self._straddles(ev, last):
            self._straddle = False
            self._apply(ev)
        else:
            # The diffs start after the snapshot: updates between them are missing.
            self.synced = False
            self._straddle = False
            self.book.clear()
            self._buffer.clear()
            self._buffer.append(ev)
            self.stats.gaps += 1
            self._had_gap = True
            raise DecodeError(E.BAD_SNAPSHOT, f"snapshot lastUpdateId={last} is older than the first "
                              f"diff U={ev.first_id}; waiting for a newer snapshot", record=ev)

    def _on_snapshot(self, snap: Snapshot) -> None:
        if self.synced:
            # Already aligned (e.g. a session continued from the previous file): a second snapshot
            # could only move us backwards or duplicate what the diffs already gave.
            self.stats.events["snapshot_unused"] += 1
            return
        last = snap.last_update_id
        buf = self._buffer
        while buf and self._is_stale(buf[0], last):
            buf.popleft()
            self.stats.stale_diffs += 1
        if buf and not self._straddles(buf[0], last):
            self.stats.unsynced_diffs += len(buf)
            first = buf[0].first_id
            buf.clear()
            raise DecodeError(E.BAD_SNAPSHOT, f"snapshot lastUpdateId={last} does not reach the buffered "
                              f"diffs (first U={first}); waiting for a newer snapshot", record=snap)
        self.book.load(snap.bids, snap.asks)
        self.synced = True
        self.stats.syncs += 1
        if self._had_gap:
            self.stats.resyncs += 1
            self._had_gap = False
        self._pending_reset = True
        self._trade_buy = self._trade_sell = 0
        self.last_u = last
        self._straddle = True
        self._emit(snap.ts_ns, snap.recv_ns, last, snap)
        pending = list(buf)
        buf.clear()
        for ev in pending:
            if not self.synced:          # a gap inside the buffered diffs: keep buffering
                self._buffer_diff(ev)
            else:
                self._on_depth(ev)

    def _apply(self, ev: DepthUpdate) -> None:
        book = self.book
        book.bids.apply(ev.bids)
        book.asks.apply(ev.asks)
        self.last_u = ev.final_id
        self._emit(ev.ts_ns, ev.recv_ns, ev.final_id, ev)

    # ------------------------------------------------------------------------------ BBO mode
    def _on_bbo(self, ev: BestBidOffer) -> None:
        if ev.update_id <= self.last_u:
            raise DecodeError(E.NON_MONOTONIC_ID,
                              f"bookTicker u={ev.update_id} not above last u={self.last_u}", record=ev)
        if not self.synced:
            self.synced = True
            self.stats.syncs += 1
            self._pending_reset = True
            self._trade_buy = self._trade_sell = 0
        book = self.book
        book.bids.load(((ev.bid_px, ev.bid_sz),) if ev.bid_sz else ())
        book.asks.load(((ev.ask_px, ev.ask_sz),) if ev.ask_sz else ())
        self.last_u = ev.update_id
        self._emit(ev.ts_ns, ev.recv_ns, ev.update_id, ev)

    # ------------------------------------------------------------------------------ output
    def _emit(self, ts_ns: int, recv_ns: int, update_id: int, cause: Event) -> None:
        book = self.book
        n = self.levels
        bp, bs = book.bids.top(n)
        ap, asz = book.asks.top(n)
        flags = FLAG_IN_SYNC
        if self._pending_reset:
            flags |= FLAG_RESET
            self._pending_reset = False
        self.out.add(ts_ns, recv_ns, update_id, bp, bs, ap, asz, self._trade_buy, self._trade_sell, flags)
        self._trade_buy = self._trade_sell = 0
        self.stats.records += 1
        if bp and ap and bp[0] >= ap[0]:
            self.stats.crossed += 1
            self.stats.note(DecodeError(
                E.CROSSED_BOOK, f"best bid {bp[0]} >= best ask {ap[0]} after update {update_id} "
                "(record emitted; consumers mark it invalid)", record=cause))
