"""Event-driven replay of one instrument: book records drive quote decisions, trades fill quotes.

Timeline (all on the receive clock):
- Trades that arrive at or before a record are processed before the decision on that record.
- The decision on record i uses only records <= i and prediction i (no look-ahead) and becomes live
  at recv_ns[i] + latency_ns; until then the previous quote stands (cancel/replace latency).
- Trades meet the quote that was live at the venue when they matched: at `trade_match_times` (the
  trade's exchange stamp on the receive clock, never later than its arrival), not at the arrival of
  the trade message (`fill_clock="receive"`, the old rule, kept for comparison). The difference is
  the trade feed's extra delay, which in the 2023 captures reaches seconds during bursts: deciding
  fills on arrival let a policy requote on records that arrived after the match and dodge fills.
  `latency_ns` is therefore the time from receiving a record to the quote being live at the venue,
  plus the feed's fastest delivery (absorbed by the offset estimate).
- A live quote fills when a trade prints at or through it on the right side: a buyer-initiated trade
  at px >= our ask fills our ask, a seller-initiated trade at px <= our bid fills our bid, for
  min(trade size, our remaining size), at our price. A replacement that goes live is reduced by what
  the quote it replaces filled after the decision (FIX cancel/replace semantics), so a fill inside
  the latency window never carries the position past the limits.
- Queue position (`fill_rule`; both arms of a comparison get the same one):
  "at_or_through" (default) ignores it: a trade at our price fills us as if we were first in the
    queue (optimistic at the touch, exact when the trade goes through our price);
  "queue" is a risk-averse queue (hftbacktest's RiskAverseQueueModel): a side that goes live at a
    new price (or a larger size) joins the back of the displayed queue at that price in the book the
    venue had then (nothing ahead when it improves on the best price); only trades at our price
    advance it (cancellations are assumed behind us); a trade through our price fills us. A price
    deeper than the records' levels takes its queue from the book before the first trade at it;
  "through" never fills at our price, only through it (always last in the queue): the lower bound.
  A policy that joins the touch gains fills under "at_or_through" that it may not get: compare.
The production QuotingEngine makes every decision, so the backtest exercises the code that quotes.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

from control.backtest.arrays import (
    BUY,
    FILL_DTYPE,
    QUOTE_TRACE_DTYPE,
    check_inputs,
    decision_times,
    trade_match_times,
)
from control.backtest.fill_rules import DEFAULT_FILL_RULE, FILL_RULES
from control.prediction import Prediction
from control.quoting.engine import QuotingEngine
from control.quoting.types import Action, Side

log = logging.getLogger(__name__)

FILL_CLOCKS = ("match", "receive")
_UNKNOWN = -1                       # queue ahead of us not known yet (price deeper than the records' levels)
# One side of the book for the queue rule: record fields of its prices and sizes, +1 where a higher
# price is better (the bid), -1 where a lower one is (the ask).
_BID_BOOK = ("bid_px", "bid_sz", 1)
_ASK_BOOK = ("ask_px", "ask_sz", -1)
_ACTION_CODE = {Action.UNCHANGED: 0, Action.QUOTE: 1, Action.PULL: 2}


@dataclass(frozen=True, slots=True)
class SimResult:
    fills: np.ndarray           # FILL_DTYPE, in time order
    trace: np.ndarray           # QUOTE_TRACE_DTYPE, one per record
    reason_counts: dict[str, int]   # how often each reason code appeared in decisions
    actions: dict[str, int]     # decisions by action


def simulate(records: np.ndarray, preds: np.ndarray, trades: np.ndarray, engine: QuotingEngine,
             symbol: str, *, latency_ns: int, horizon_ns: int, model_hash: str = "",
             backend: str = "cpu", backend_healthy: np.ndarray | None = None,
             fill_clock: str = "match", fill_rule: str = DEFAULT_FILL_RULE) -> SimResult:
    """Replay `records` with `preds` (one per record) and `trades` through `engine`.

    `fill_clock`: "match" (default) decides each trade against the quote live when it matched
    (`trade_match_times`); "receive" against the quote live when its message arrived.
    `fill_rule`: a name of `fill_rules.FILL_RULES` (module docstring)."""
    check_inputs(records, preds, trades)
    if latency_ns < 0:
        raise ValueError(f"latency_ns must be >= 0, got {latency_ns}")
    if fill_rule not in FILL_RULES:
        raise ValueError(f"fill_rule must be one of {tuple(FILL_RULES)}, got {fill_rule!r}")
    if fill_clock not in FILL_CLOCKS:
        raise ValueError(f"fill_clock must be one of {FILL_CLOCKS}, got {fill_clock!r}")
    n, m = len(records), len(trades)
    rec_recv = decision_times(records)
    rec_ts = records["ts_ns"]
    seqs = records["seq"]
    p_up, p_down, p_wd, invalid = preds["p_up"], preds["p_down"], preds["p_withdraw"], preds["invalid"]
    t_recv, t_px, t_lots, t_side = trades["recv_ns"], trades["px"], trades["lots"], trades["side"]
    # The time each trade meets our quote, and the order in which they do (stable: arrival order on ties).
    t_meet = trades["recv_ns"].astype(np.int64) if fill_clock == "receive" else trade_match_times(trades)
    order = np.argsort(t_meet, kind="stable")
    t_meet_sorted = t_meet[order]
    healthy = np.ones(n, dtype=bool) if backend_healthy is None else backend_healthy

    tr_bid_px = np.zeros(n, np.int64)
    tr_bid_lots = np.zeros(n, np.int64)
    tr_ask_px = np.zeros(n, np.int64)
    tr_ask_lots = np.zeros(n, np.int64)
    tr_action = np.zeros(n, np.int8)
    tr_pos = np.zeros(n, np.int64)
    fills: list[tuple[int, int, int, int, int, int]] = []
    reason_counts: dict[str, int] = {}
    actions: dict[str, int] = {}
    # (live_at, bid_px, bid_lots, ask_px, ask_lots, bid lots filled so far, ask lots filled so far)
    pending: deque[tuple[int, int, int, int, int, int, int]] = deque()
    bid_px = bid_lots = ask_px = ask_lots = 0                  # the quote live at the venue
    bid_filled = ask_filled = 0                                # cumulative lots filled per side
    bid_ahead = ask_ahead = 0                                  # fill_rule "queue": lots ahead of us
    j = 0

    def queue_at(px: int, tau: int, book: tuple[str, str, int]) -> int:
        """Lots displayed at `px` on one side (`_BID_BOOK` / `_ASK_BOOK`) in the venue's book at `tau`
        (the last record received by then): all ahead of an order joining now."""
        book_px, book_sz, better = book
        r = int(np.searchsorted(rec_recv, tau, side="right")) - 1
        if r < 0:
            return _UNKNOWN
        levels = records[book_px][r]          # best first; empty levels are price 0, at the end
        hit = np.flatnonzero(levels == px)
        if len(hit):
            return int(records[book_sz][r][hit[0]])
        shown = levels[levels > 0]
        if len(shown) == 0 or better * (int(shown[-1]) - px) > 0:
            return _UNKNOWN                   # deeper than the records show
        return 0                              # better than the best, or an empty level in view

    def requeue(old_px: int, old_lots: int, new_px: int, new_lots: int, ahead: int, tau: int,
                book: tuple[str, str, int]) -> int:
        # Same price and no larger size keeps the order's place (a FIX replace of that kind keeps
        # priority on most venues); anything else goes to the back of the queue at the new price.
        if new_lots > 0 and old_lots > 0 and new_px == old_px and new_lots <= old_lots:
            return ahead
        return queue_at(new_px, tau, book) if new_lots > 0 else 0

    def at_price_fill(lots: int, ahead: int, px: int, tau: int, book: tuple[str, str, int]) -> tuple[int, int]:
        """(lots that reach us, queue left ahead) for a trade of `lots` at exactly our price."""
        if fill_rule == "at_or_through":
            return lots, 0
        if fill_rule == "through":
            return 0, ahead
        if ahead == _UNKNOWN:   # joined deeper than the records show: the whole queue there is ahead
            ahead = queue_at(px, tau - 1, book)
            if ahead == _UNKNOWN:   # still out of view: the trade is taken to have met others first
                return 0, _UNKNOWN
        used = min(ahead, lots)
        return lots - used, ahead - used

    def run_trades_until(limit_ns: int, last_record: int) -> None:
        nonlocal j, bid_px, bid_lots, ask_px, ask_lots, bid_filled, ask_filled, bid_ahead, ask_ahead
        while j < m and t_meet_sorted[j] <= limit_ns:
            k = int(order[j])
            tau = int(t_meet_sorted[j])
            while pending and pending[0][0] <= tau:
                live_at, nb_px, nb_lots, na_px, na_lots, b0, a0 = pending.popleft()
                # The replacement was sized on the position at decision time; what the old quote
                # filled since then comes off it, as a FIX cancel/replace counts cumulative fills.
                # Without this, a fill inside the latency window could carry the position past
                # the engine's limits.
                nb_lots = max(0, nb_lots - (bid_filled - b0))
                na_lots = max(0, na_lots - (ask_filled - a0))
                if fill_rule == "queue":
                    bid_ahead = requeue(bid_px, bid_lots, nb_px, nb_lots, bid_ahead, live_at, _BID_BOOK)
                    ask_ahead = requeue(ask_px, ask_lots, na_px, na_lots, ask_ahead, live_at, _ASK_BOOK)
                bid_px, bid_lots, ask_px, ask_lots = nb_px, nb_lots, na_px, na_lots
            px = int(t_px[k])
            lots = int(t_lots[k])
            # A fill is stamped with the trade message's arrival (when we see it; the metrics' clock).
            if t_side[k] == BUY:
                if ask_lots > 0 and px >= ask_px:
                    if px == ask_px:
                        lots, ask_ahead = at_price_fill(lots, ask_ahead, px, tau, _ASK_BOOK)
                    q = min(ask_lots, lots)
                    if q:
                        ask_lots -= q
                        ask_filled += q
                        fills.append((int(t_recv[k]), ask_px, q, -1, k, last_record))
                        engine.on_fill(symbol, Side.ASK, q)
            elif bid_lots > 0 and px <= bid_px:
                if px == bid_px:
                    lots, bid_ahead = at_price_fill(lots, bid_ahead, px, tau, _BID_BOOK)
                q = min(bid_lots, lots)
                if q:
                    bid_lots -= q
                    bid_filled += q
                    fills.append((int(t_recv[k]), bid_px, q, 1, k, last_record))
                    engine.on_fill(symbol, Side.BID, q)
            j += 1

    for i in range(n):
        t = int(rec_recv[i])
        run_trades_until(t, i - 1)
        ts = int(rec_ts[i])
        pred = Prediction(seq=int(seqs[i]), ts_ns=ts, logits=(), p_up=float(p_up[i]), p_down=float(p_down[i]),
                          p_withdraw=float(p_wd[i]), horizon_ns=horizon_ns, model_hash=model_hash,
                          backend=backend)
        # Decisions run on the exchange clock of the record, as the appliance's do.
        d = engine.on_book(symbol, records[i], pred, now_ns=ts, backend_healthy=bool(healthy[i]),
                           prediction_invalid=bool(invalid[i]))
        actions[d.action.value] = actions.get(d.action.value, 0) + 1
        for r in d.reasons:
            reason_counts[r.code.value] = reason_counts.get(r.code.value, 0) + 1
        if d.action is not Action.UNCHANGED:
            b, a = d.bid, d.ask
            pending.append((t + latency_ns, b.px if b else 0, b.lots if b else 0, a.px if a else 0,
                            a.lots if a else 0, bid_filled, ask_filled))
        if d.bid is not None:
            tr_bid_px[i], tr_bid_lots[i] = d.bid.px, d.bid.lots
        if d.ask is not None:
            tr_ask_px[i], tr_ask_lots[i] = d.ask.px, d.ask.lots
        tr_action[i] = _ACTION_CODE[d.action]
        tr_pos[i] = engine.position(symbol)
    run_trades_until(np.iinfo(np.int64).max, n - 1)

    trace = np.zeros(n, dtype=QUOTE_TRACE_DTYPE)
    trace["bid_px"], trace["bid_lots"], trace["ask_px"], trace["ask_lots"] = tr_bid_px, tr_bid_lots, tr_ask_px, tr_ask_lots
    trace["action"], trace["position"] = tr_action, tr_pos

    out = np.array(fills, dtype=FILL_DTYPE) if fills else np.zeros(0, dtype=FILL_DTYPE)
    out = out[np.argsort(out["recv_ns"], kind="stable")]   # match order can differ from arrival order
    log.info("%s: %d records, %d trades -> %d fills", symbol, n, m, len(out))
    return SimResult(out, trace, reason_counts, actions)
