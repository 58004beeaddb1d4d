"""The normalized event model shared by every venue decoder and the books.

Prices are integer ticks and sizes integer lots of the event's instrument (see instruments.py);
timestamps are integer ns since the epoch: `ts_ns` from the exchange, `recv_ns` from the local
receiver. Level lists are tuples of (price_ticks, size_lots); size 0 deletes a level.
"""
from __future__ import annotations

from dataclasses import dataclass

Levels = tuple[tuple[int, int], ...]

BUY = 1     # aggressor side of a trade: buyer-initiated
SELL = -1   # seller-initiated


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """Incremental L2 diff (Binance depthUpdate; futures carry `prev_final_id` = pu, spot -1)."""

    venue: str
    symbol: str
    ts_ns: int
    recv_ns: int
    first_id: int          # U
    final_id: int          # u
    prev_final_id: int     # pu (futures) or -1 (spot)
    bids: Levels
    asks: Levels


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Full L2 book as of `last_update_id` (Binance REST depth, LOBSTER order-book row)."""

    venue: str
    symbol: str
    ts_ns: int
    recv_ns: int
    last_update_id: int
    bids: Levels
    asks: Levels


@dataclass(frozen=True, slots=True)
class BestBidOffer:
    """Top of book (Binance bookTicker). Spot bookTicker has no exchange time: ts_ns = recv_ns."""

    venue: str
    symbol: str
    ts_ns: int
    recv_ns: int
    update_id: int
    bid_px: int
    bid_sz: int
    ask_px: int
    ask_sz: int


@dataclass(frozen=True, slots=True)
class Trade:
    venue: str
    symbol: str
    ts_ns: int
    recv_ns: int
    trade_id: int
    price: int
    size: int
    side: int              # BUY or SELL: the aggressor


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed message of a stream the books do not use (e.g. markPrice); counted, not an error."""

    venue: str
    stream: str
    recv_ns: int


Event = DepthUpdate | Snapshot | BestBidOffer | Trade | Ignored

EVENT_NAMES: dict[type, str] = {
    DepthUpdate: "depth", Snapshot: "snapshot", BestBidOffer: "bbo", Trade: "trade", Ignored: "ignored",
}
