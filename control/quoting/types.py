"""Value types the quoting engine returns: per-instrument quote decisions with reasons.

Prices are integer ticks and sizes integer lots of the instrument (InstrumentConfig converts them to
decimals for FIX). A decision carries every reason that shaped it, so the FIX layer, the audit log
and the backtest report can say why a quote was widened, cut or pulled.

The value types are NamedTuples (immutable, compared by value): the engine builds several per book
update, and a frozen dataclass's __init__ costs about a microsecond each on that path.
"""
from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import NamedTuple


class Side(IntEnum):
    """Our side of a quote; the value is the sign of the position change when it fills."""

    BID = 1    # we buy
    ASK = -1   # we sell


class Action(StrEnum):
    QUOTE = "quote"          # send these two sides (a missing side means: cancel that side)
    PULL = "pull"            # cancel everything for this instrument
    UNCHANGED = "unchanged"  # the live quote stands; nothing to send


class ReasonCode(StrEnum):
    # whole-instrument pulls
    BOOK_OUT_OF_SYNC = "book_out_of_sync"          # the book lost sync with the venue (IN_SYNC clear)
    BOOK_INVALID = "book_invalid"                  # empty touch, crossed or locked book
    BACKEND_UNHEALTHY = "backend_unhealthy"        # the inference backend reports a fault
    NO_PREDICTION = "no_prediction"                # nothing predicted yet for this instrument
    PREDICTION_INVALID = "prediction_invalid"      # the backend flagged the prediction INVALID
    PREDICTION_STALE = "prediction_stale"          # older than its horizon
    RATE_LIMITED = "rate_limited"                  # a requote would exceed max_quotes_per_s
    # shaping (informational)
    VOL_SPREAD = "vol_spread"                      # half-spread set by volatility above the floor
    MOVE_WIDEN = "move_widen"                      # a side widened by the predicted move probability
    WITHDRAW_CUT = "withdraw_cut"                  # size cut by the withdrawal probability
    INVENTORY_SKEW = "inventory_skew"              # both prices shifted against the position
    PASSIVE_CLAMP = "passive_clamp"                # a price was held back so it does not cross the book
    # per-side pulls or cuts
    POSITION_LIMIT = "position_limit"
    NOTIONAL_LIMIT = "notional_limit"
    SIZE_BELOW_MIN = "size_below_min"
    PRICE_NOT_POSITIVE = "price_not_positive"


class Reason(NamedTuple):
    """Why a decision looks the way it does. `detail` is formatted only when read (`fmt % args`): the
    per-event path creates a few reasons on almost every book update and reads them rarely (FIX Text
    carries only the codes), so formatting floats eagerly was a measurable share of the quoting stage."""

    code: ReasonCode
    side: Side | None = None   # None: applies to the whole instrument
    fmt: str = ""              # the detail, or its %-template when `args` is given
    args: tuple = ()

    @property
    def detail(self) -> str:
        return self.fmt % self.args if self.args else self.fmt

    def __str__(self) -> str:
        side = f"[{self.side.name.lower()}]" if self.side is not None else ""
        return f"{self.code.value}{side}{': ' + self.detail if self.detail else ''}"


class SideQuote(NamedTuple):
    px: int     # ticks
    lots: int   # lots, > 0


class QuoteDecision(NamedTuple):
    """What to do with one instrument's quotes after one book update.

    `bid` / `ask` are the quote that should be live after this decision (None: no quote on that side);
    for UNCHANGED they are the live quote that stands.
    """

    symbol: str
    ts_ns: int
    action: Action
    bid: SideQuote | None
    ask: SideQuote | None
    reasons: tuple[Reason, ...]
    half_spread_bp: float = 0.0   # base half-spread used (diagnostics; 0 when pulled before pricing)

    @property
    def pulled(self) -> bool:
        return self.bid is None and self.ask is None

    def reason_codes(self) -> set[ReasonCode]:
        return {r.code for r in self.reasons}
