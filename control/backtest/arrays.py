"""The array layouts the backtest consumes and produces. The engine takes these arrays and does not
care where they came from (recorded files, a synthetic scenario, another venue).

Clock: every `recv_ns` is the local receive clock of the recording, the one clock that orders book
records and trades of a capture consistently (exchange timestamps have millisecond resolution and
ties). Records are acted on at `decision_times(records)`, the running maximum of their recv_ns. Prices are integer ticks, sizes integer lots of the instrument.
"""
from __future__ import annotations

import numpy as np

BUY, SELL = 1, -1   # trade aggressor (buyer- / seller-initiated); fill side: we bought / we sold

TRADE_DTYPE = np.dtype([
    ("recv_ns", np.int64),    # local receive time
    ("ts_ns", np.int64),      # exchange trade time
    ("px", np.int64),         # ticks
    ("lots", np.int64),
    ("side", np.int8),        # aggressor: BUY lifts asks (fills our ask), SELL hits bids (fills our bid)
])

# One prediction per book record (aligned by index): what the backend said about that record.
PRED_DTYPE = np.dtype([
    ("p_up", np.float64),
    ("p_down", np.float64),
    ("p_withdraw", np.float64),
    ("invalid", np.bool_),    # the record was invalid (FEATURES.md): quotes must be pulled
])

FILL_DTYPE = np.dtype([
    ("recv_ns", np.int64),    # when the trade that filled us arrived
    ("px", np.int64),         # our quote price, ticks
    ("lots", np.int64),
    ("side", np.int8),        # +1 our bid filled (we bought), -1 our ask filled (we sold)
    ("trade", np.int64),      # index into the trades array
    ("record", np.int64),     # index of the last record decided before the fill
])

# The quote the policy wanted after each record (0 = no quote on that side), for plots and audits.
QUOTE_TRACE_DTYPE = np.dtype([
    ("bid_px", np.int64), ("bid_lots", np.int64), ("ask_px", np.int64), ("ask_lots", np.int64),
    ("action", np.int8),      # 0 unchanged, 1 quote, 2 pull
    ("position", np.int64),   # position at the decision
])


def decision_times(records: np.ndarray) -> np.ndarray:
    """When the quoting process can act on each record: its receive time, but never before the record
    before it (records are processed in stream order; a REST snapshot fetched earlier than the first
    diffs it is applied after carries an earlier receive stamp)."""
    return np.maximum.accumulate(records["recv_ns"].astype(np.int64)) if len(records) else np.zeros(0, np.int64)


FEED_OFFSET_WINDOW_NS = 60_000_000_000


def trade_match_times(trades: np.ndarray, window_ns: int = FEED_OFFSET_WINDOW_NS) -> np.ndarray:
    """When each trade happened at the venue, on the receive clock: min(recv_ns, ts_ns + offset),
    offset = the smallest recv_ns - ts_ns of the trades within +-window_ns (the clock offset plus the
    feed's fastest delivery). A trade message can arrive much later than the match (Binance: median
    ~2-6 ms, but bursts of 0.5-2.3 s in the 2023 captures); our quote meets the aggressor at the match,
    so fills are decided at this time, not at the message's arrival, or a policy could requote on
    records received after the match (though stamped before it) and dodge a fill it could not
    have dodged. Never later than recv_ns; equal to it for a feed with no extra delay. The offset is a
    property of the recording (a local minimum), not something a decision sees."""
    n = len(trades)
    if n == 0:
        return np.zeros(0, np.int64)
    recv = trades["recv_ns"].astype(np.int64)
    d = recv - trades["ts_ns"].astype(np.int64)
    b = (recv - recv[0]) // max(1, int(window_ns))
    nb = int(b[-1]) + 1
    mins = np.full(nb, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(mins, b, d)
    near = mins.copy()
    near[1:] = np.minimum(near[1:], mins[:-1])
    near[:-1] = np.minimum(near[:-1], mins[1:])
    return np.minimum(recv, trades["ts_ns"].astype(np.int64) + near[b])


def empty_trades(n: int) -> np.ndarray:
    return np.zeros(n, dtype=TRADE_DTYPE)


def neutral_predictions(n: int) -> np.ndarray:
    """All-zero probabilities: the policy without a model (the static and vol-only baselines)."""
    return np.zeros(n, dtype=PRED_DTYPE)


class BacktestInputError(ValueError):
    """Inconsistent backtest inputs (lengths, ordering, dtypes); the message says which."""


def check_inputs(records: np.ndarray, preds: np.ndarray, trades: np.ndarray) -> None:
    if preds.dtype != PRED_DTYPE:
        raise BacktestInputError(f"predictions must have PRED_DTYPE, got {preds.dtype}")
    if trades.dtype != TRADE_DTYPE:
        raise BacktestInputError(f"trades must have TRADE_DTYPE, got {trades.dtype}")
    if len(preds) != len(records):
        raise BacktestInputError(f"{len(preds)} predictions for {len(records)} records: need one per record")
    t = trades["recv_ns"]
    if len(t) > 1 and np.any(np.diff(t) < 0):
        k = int(np.argmax(np.diff(t) < 0))
        raise BacktestInputError(f"trades recv_ns go backwards at index {k + 1}: {t[k]} -> {t[k + 1]}")
    if len(trades) and (np.any(trades["lots"] <= 0) or np.any(trades["px"] <= 0)):
        raise BacktestInputError("trades with non-positive price or size")
    if len(trades) and not np.all(np.isin(trades["side"], (BUY, SELL))):
        raise BacktestInputError("trade side must be +1 (buyer-initiated) or -1 (seller-initiated)")
