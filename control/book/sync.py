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

The book and every scalar of this state live in arrays shared with the compiled batch loop
(control/book/kernels.py), which handles the steady state (a chained diff, a
trade, a BBO) without coming back here; everything else (buffering, snapshots, gaps, refusals) is
decided by this class.
"""
from __future__ import annotations

import logging
from collections import deque

import numpy as np

from control.book import kernels as ab
from control.book.counters import ReplayStats
from control.book.records import RecordBuilder
from control.marketdata import errors as E
from control.marketdata.errors import DecodeError
from control.marketdata.events import BUY, BestBidOffer, DepthUpdate, Event, Ignored, Levels, Snapshot, Trade
from control.marketdata.instruments import BOOK_BBO, Instrument

log = logging.getLogger(__name__)

MAX_BUFFERED_DIFFS = 50_000


class InstrumentBook:
    """Applies normalized events of one instrument to its book and emits top-N records."""

    def __init__(self, instrument: Instrument, levels: int, stats: ReplayStats) -> None:
        self.instrument = instrument
        self.futures = instrument.market != "spot"
        self.bbo_mode = instrument.book_source == BOOK_BBO
        self.st = ab.new_state(levels, self.futures, self.bbo_mode)
        self.out = RecordBuilder(levels, self.st)
        self.stats = stats
        self.levels = levels
        self.bids = ab.BookSideArrays()
        self.asks = ab.BookSideArrays()
        # deep-level updates the per-line path defers past the record (kernels.book_line): keys, sizes
        self.deferred = (np.zeros(ab.MAX_LEVELS, np.int64), np.zeros(ab.MAX_LEVELS, np.int64))
        self._had_gap = False
        self._buffer: deque[DepthUpdate] = deque()

    # ------------------------------------------------------------------------------ state
    @property
    def synced(self) -> bool:
        return bool(self.st[ab.S_SYNCED])

    @property
    def last_u(self) -> int:
        return int(self.st[ab.S_LAST_U])

    @property
    def needs_snapshot(self) -> bool:
        """True while a depth book waits for a snapshot (at start and after a gap)."""
        return not self.bbo_mode and not self.synced

    def apply_deferred(self) -> int:
        """Apply the deep-level updates the per-line path deferred (a no-op when none are pending);
        every reader and writer of the full book here calls it first. Returns how many."""
        st = self.st
        if st[ab.S_DEFER_B] == 0 and st[ab.S_DEFER_A] == 0:
            return 0
        return ab.apply_deferred(st, *self._arrays(), *self.deferred)

    def top(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks) of the current book, best first, as (price, size) pairs."""
        self.apply_deferred()
        out = []
        for side, sign in ((self.bids, 1), (self.asks, -1)):
            px = np.zeros(n, np.int64)
            sz = np.zeros(n, np.int64)
            k = ab.side_top(side.keys, side.vals, side.ix, n, sign, px, sz)
            out.append(list(zip(px[:k].tolist(), sz[:k].tolist(), strict=True)))
        return out[0], out[1]

    def ensure_capacity(self, extra: int) -> None:
        """Free blocks for `extra` more levels per side, one split each in the worst case (the
        kernels never reallocate)."""
        for side in (self.bids, self.asks):
            if side.free_blocks < extra + 1:
                side.grow(extra + 1)

    def _clear_book(self) -> None:
        self.st[ab.S_DEFER_B] = self.st[ab.S_DEFER_A] = 0
        for side in (self.bids, self.asks):
            ab.side_clear(side.ix, side.keys.shape[0])

    def _set_synced(self, value: bool) -> None:
        self.st[ab.S_SYNCED] = int(value)

    def lose_sync(self, why: str) -> None:
        """The transport lost messages (e.g. a reconnect): drop the book and wait for a snapshot.
        Trade ids are kept, so trades replayed by the venue after a reconnect are refused as duplicates."""
        if self.bbo_mode:
            return     # each BBO is self-contained; monotonic ids still guard against replays
        if self.synced:
            self.stats.gaps += 1
            log.warning("%s: sync lost (%s); waiting for a snapshot", self.instrument.name, why)
        self._set_synced(False)
        self.st[ab.S_STRADDLE] = 0
        self._had_gap = self._had_gap or self.stats.syncs > 0
        self._clear_book()
        self._buffer.clear()

    def on_event(self, ev: Event) -> None:
        """Apply one event. Raises DecodeError for events the book refuses (the caller counts it)."""
        self.apply_deferred()
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
        st = self.st
        if ev.trade_id <= st[ab.S_LAST_TRADE]:
            raise DecodeError(E.NON_MONOTONIC_ID,
                              f"trade id {ev.trade_id} not above last {int(st[ab.S_LAST_TRADE])}", record=ev)
        st[ab.S_LAST_TRADE] = ev.trade_id
        if ev.side == BUY:
            st[ab.S_TBUY] += ev.size
        else:
            st[ab.S_TSELL] += ev.size

    # ------------------------------------------------------------------------------ depth
    def _on_depth(self, ev: DepthUpdate) -> None:
        if not self.synced:
            self._buffer_diff(ev)
            return
        last = self.last_u
        if self.st[ab.S_STRADDLE]:
            self._apply_first(ev, last)
            return
        chained = ev.prev_final_id == last if self.futures else ev.first_id == last + 1
        if chained:
            self._apply(ev)
        elif ev.final_id <= last:
            raise DecodeError(E.NON_MONOTONIC_ID,
                              f"depth u={ev.final_id} not above last applied u={last}", record=ev)
        else:
            self._gap(ev, f"expected {'pu' if self.futures else 'U-1'}={last}, got "
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
        self._set_synced(False)
        self._had_gap = True
        self._clear_book()
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
            self.st[ab.S_STRADDLE] = 0
            self._apply(ev)
        else:
            # The diffs start after the snapshot: updates between them are missing.
            self._set_synced(False)
            self.st[ab.S_STRADDLE] = 0
            self._clear_book()
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
        self._load(snap.bids, snap.asks)
        st = self.st
        self._set_synced(True)
        self.stats.syncs += 1
        if self._had_gap:
            self.stats.resyncs += 1
            self._had_gap = False
        st[ab.S_PENDING_RESET] = 1
        st[ab.S_TBUY] = st[ab.S_TSELL] = 0
        st[ab.S_LAST_U] = last
        st[ab.S_STRADDLE] = 1
        self._emit(snap.ts_ns, snap.recv_ns, last, snap)
        pending = list(buf)
        buf.clear()
        for ev in pending:
            if not self.synced:          # a gap inside the buffered diffs: keep buffering
                self._buffer_diff(ev)
            else:
                self._on_depth(ev)

    def _load(self, bids: Levels, asks: Levels) -> None:
        """Replace the book (snapshot; in BBO mode the one-level book). Later duplicates of a price
        win, as they would when applied in order."""
        self._clear_book()
        self._apply_levels(bids, asks)

    def _apply_levels(self, bids: Levels, asks: Levels) -> None:
        nb, na = len(bids), len(asks)
        lv = np.array(bids + asks, dtype=np.int64).reshape(-1, 2)
        self.ensure_capacity(max(nb, na))
        ab.apply_levels(self.st, *self._arrays(), np.ascontiguousarray(lv[:, 0]),
                        np.ascontiguousarray(lv[:, 1]), nb, na)

    def _arrays(self) -> tuple[np.ndarray, ...]:
        b, a = self.bids, self.asks
        return b.keys, b.vals, b.ix, a.keys, a.vals, a.ix

    def _apply(self, ev: DepthUpdate) -> None:
        self._apply_levels(ev.bids, ev.asks)
        self.st[ab.S_LAST_U] = ev.final_id
        self._emit(ev.ts_ns, ev.recv_ns, ev.final_id, ev)

    # ------------------------------------------------------------------------------ BBO mode
    def _on_bbo(self, ev: BestBidOffer) -> None:
        st = self.st
        if ev.update_id <= st[ab.S_LAST_U]:
            raise DecodeError(E.NON_MONOTONIC_ID,
                              f"bookTicker u={ev.update_id} not above last u={self.last_u}", record=ev)
        if not self.synced:
            self._set_synced(True)
            self.stats.syncs += 1
            st[ab.S_PENDING_RESET] = 1
            st[ab.S_TBUY] = st[ab.S_TSELL] = 0
        self._load(((ev.bid_px, ev.bid_sz),), ((ev.ask_px, ev.ask_sz),))
        st[ab.S_LAST_U] = ev.update_id
        self._emit(ev.ts_ns, ev.recv_ns, ev.update_id, ev)

    # ------------------------------------------------------------------------------ output
    def _emit(self, ts_ns: int, recv_ns: int, update_id: int, cause: Event) -> None:
        self.out.ensure_room(1)
        if ab.emit(self.st, *self._arrays(), self.out.out, ts_ns, recv_ns, update_id):
            self.note_crossed(cause)

    def note_crossed(self, cause: object) -> None:
        top_b, top_a = self.top(1)
        self.stats.note(DecodeError(
            E.CROSSED_BOOK, f"best bid {top_b[0][0]} >= best ask {top_a[0][0]} after update {self.last_u} "
            "(record emitted; consumers mark it invalid)", record=cause))
