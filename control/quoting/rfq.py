"""Option RFQ pricing: (contract, side, quantity) -> a firm two- or one-sided quote with a validity
time, or a reject with a reason.

Fair value is Black-76 on the underlying perpetual's mid (taken as the forward) with the implied vol
from the config surface. Each side's half-spread, in premium per contract, is
    base         = vega x base_half_spread_vol
  + move         = |delta| x F x move_bp / 1e4 x p(the underlying move that hurts this side)
  + instability  = vega x instability_vol_bump x p_withdraw
and at least min_half_spread_ticks. "Hurts this side": our ask is hurt by a move that raises the
option's value (up for a call, down for a put), our bid by the opposite move. Premiums round away
from fair value to the option's price tick (bid down, ask up).

Market state (mid, sync, prediction, backend health) is read from the QuotingEngine that follows the
underlying, so an RFQ is priced on exactly the view the streaming quotes use.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import IntEnum, StrEnum

from control.quoting.black76 import Greeks, OptionKind, black76
from control.quoting.config import OptionsConfig, QuotingConfig, QuotingConfigError
from control.quoting.engine import QuotingEngine
from control.quoting.risk import pull_reasons
from control.quoting.volsurface import implied_vol
from models.record import FLAG_IN_SYNC

log = logging.getLogger(__name__)

NS_PER_YEAR = 365.25 * 86400 * 1e9


class RfqSide(StrEnum):
    """The client's intention (FIX QuoteRequest Side): we quote the other side."""

    BUY = "buy"        # client buys: we quote an offer (ask)
    SELL = "sell"      # client sells: we quote a bid
    TWO_SIDED = "two_sided"


class RfqRejectCode(StrEnum):
    UNKNOWN_UNDERLYING = "unknown_underlying"
    NO_OPTIONS_CONFIG = "no_options_config"
    TOO_CLOSE_TO_EXPIRY = "too_close_to_expiry"
    INVALID_CONTRACT = "invalid_contract"
    QTY_NOT_ON_GRID = "qty_not_on_grid"
    QTY_OUT_OF_RANGE = "qty_out_of_range"
    NO_MARKET = "no_market"                   # underlying book out of sync, invalid or never seen
    MODEL_UNAVAILABLE = "model_unavailable"   # backend unhealthy, prediction missing/invalid/stale
    DELTA_LIMIT = "delta_limit"
    PRICE_BELOW_TICK = "price_below_tick"     # the side asked for would be priced at or below zero


class FixQuoteRequestRejectReason(IntEnum):
    """FIX 4.4 QuoteRequestRejectReason (658) values our reject codes map to."""

    UNKNOWN_SYMBOL = 1
    EXCEEDS_LIMIT = 3
    TOO_LATE_TO_ENTER = 4
    INVALID_PRICE = 5
    NO_MARKET_FOR_INSTRUMENT = 8
    OTHER = 99


_FIX_REASON = {
    RfqRejectCode.UNKNOWN_UNDERLYING: FixQuoteRequestRejectReason.UNKNOWN_SYMBOL,
    RfqRejectCode.NO_OPTIONS_CONFIG: FixQuoteRequestRejectReason.UNKNOWN_SYMBOL,
    RfqRejectCode.TOO_CLOSE_TO_EXPIRY: FixQuoteRequestRejectReason.TOO_LATE_TO_ENTER,
    RfqRejectCode.INVALID_CONTRACT: FixQuoteRequestRejectReason.OTHER,
    RfqRejectCode.QTY_NOT_ON_GRID: FixQuoteRequestRejectReason.OTHER,
    RfqRejectCode.QTY_OUT_OF_RANGE: FixQuoteRequestRejectReason.EXCEEDS_LIMIT,
    RfqRejectCode.NO_MARKET: FixQuoteRequestRejectReason.NO_MARKET_FOR_INSTRUMENT,
    RfqRejectCode.MODEL_UNAVAILABLE: FixQuoteRequestRejectReason.NO_MARKET_FOR_INSTRUMENT,
    RfqRejectCode.DELTA_LIMIT: FixQuoteRequestRejectReason.EXCEEDS_LIMIT,
    RfqRejectCode.PRICE_BELOW_TICK: FixQuoteRequestRejectReason.INVALID_PRICE,
}


@dataclass(frozen=True, slots=True)
class OptionContract:
    underlying: str       # the perpetual whose mid is the forward, e.g. "BTCUSDT"
    strike: Decimal       # quote currency
    expiry_ns: int        # expiry instant, ns since the epoch (UTC)
    kind: OptionKind


@dataclass(frozen=True, slots=True)
class RfqRequest:
    request_id: str       # FIX QuoteReqID (131), echoed back
    contract: OptionContract
    side: RfqSide
    qty: Decimal          # contracts (1 contract = 1 unit of the underlying)


@dataclass(frozen=True, slots=True)
class RfqQuote:
    request_id: str
    contract: OptionContract
    bid_px: int | None    # premium in price ticks per contract; None: no bid
    ask_px: int | None
    qty_lots: int         # quantity in qty lots, both sides
    price_tick: Decimal   # bid_px x price_tick = premium in quote currency
    qty_lot: Decimal
    valid_until_ns: int
    forward: float
    vol: float
    greeks: Greeks        # per contract, at the forward and vol above
    half_spread_bid: float  # premium per contract, before rounding
    half_spread_ask: float
    reasons: tuple[str, ...]

    @property
    def bid_price(self) -> Decimal | None:
        return None if self.bid_px is None else self.bid_px * self.price_tick

    @property
    def ask_price(self) -> Decimal | None:
        return None if self.ask_px is None else self.ask_px * self.price_tick

    @property
    def qty(self) -> Decimal:
        return self.qty_lots * self.qty_lot


@dataclass(frozen=True, slots=True)
class RfqReject:
    request_id: str
    code: RfqRejectCode
    detail: str

    @property
    def fix_reason(self) -> FixQuoteRequestRejectReason:
        return _FIX_REASON[self.code]


class RfqPricer:
    def __init__(self, cfg: QuotingConfig, engine: QuotingEngine) -> None:
        self.cfg = cfg
        self.engine = engine

    def price(self, req: RfqRequest, *, now_ns: int) -> RfqQuote | RfqReject:
        opt = self.cfg.options
        if opt is None:
            return RfqReject(req.request_id, RfqRejectCode.NO_OPTIONS_CONFIG, "no options section in the quoting config")
        c = req.contract
        if c.underlying != opt.underlying:
            return RfqReject(req.request_id, RfqRejectCode.UNKNOWN_UNDERLYING,
                             f"underlying {c.underlying!r}; options are quoted on {opt.underlying}")
        if not (c.strike.is_finite() and c.strike > 0):
            return RfqReject(req.request_id, RfqRejectCode.INVALID_CONTRACT, f"strike {c.strike}")
        t_left_s = (c.expiry_ns - now_ns) / 1e9
        if t_left_s < opt.min_expiry_s:
            return RfqReject(req.request_id, RfqRejectCode.TOO_CLOSE_TO_EXPIRY,
                             f"{t_left_s:.0f} s to expiry < {opt.min_expiry_s:.0f} s")
        try:
            q, rem = divmod(Decimal(req.qty), opt.qty_lot)
        except (InvalidOperation, TypeError):
            return RfqReject(req.request_id, RfqRejectCode.QTY_NOT_ON_GRID, f"quantity {req.qty!r}")
        if rem != 0:
            return RfqReject(req.request_id, RfqRejectCode.QTY_NOT_ON_GRID,
                             f"quantity {req.qty} is not a multiple of {opt.qty_lot}")
        lots = int(q)
        if not opt.min_qty_lots <= lots <= opt.max_qty_lots:
            return RfqReject(req.request_id, RfqRejectCode.QTY_OUT_OF_RANGE,
                             f"{lots} lots outside [{opt.min_qty_lots}, {opt.max_qty_lots}]")

        try:
            st = self.engine.state(opt.underlying)
        except (KeyError, QuotingConfigError):
            return RfqReject(req.request_id, RfqRejectCode.NO_MARKET, f"{opt.underlying} is not followed")
        if not (st.book_valid and st.last_flags & FLAG_IN_SYNC and st.last_mid2 > 0):
            return RfqReject(req.request_id, RfqRejectCode.NO_MARKET, f"{opt.underlying} book not in sync or invalid")
        problems = pull_reasons(bid_px=1, ask_px=2, flags=FLAG_IN_SYNC, prediction=st.prediction,
                                prediction_invalid=st.prediction_invalid,
                                backend_healthy=st.backend_healthy, now_ns=now_ns)
        if problems:
            return RfqReject(req.request_id, RfqRejectCode.MODEL_UNAVAILABLE, "; ".join(map(str, problems)))
        pred = st.prediction
        assert pred is not None   # pull_reasons reports a missing prediction

        forward = float(st.inst.price(st.last_mid2)) / 2.0
        return price_option(req, lots, opt, forward=forward, now_ns=now_ns, p_up=pred.p_up,
                            p_down=pred.p_down, p_withdraw=pred.p_withdraw)


def price_option(req: RfqRequest, lots: int, opt: OptionsConfig, *, forward: float, now_ns: int,
                 p_up: float, p_down: float, p_withdraw: float) -> RfqQuote | RfqReject:
    """The pure pricing step of RfqPricer.price (inputs already validated)."""
    c = req.contract
    t = (c.expiry_ns - now_ns) / NS_PER_YEAR
    strike = float(c.strike)
    vol = implied_vol(opt.surface, t, forward, strike)
    g = black76(c.kind, forward, strike, t, vol, opt.rate)
    qty_units = float(lots * opt.qty_lot)
    if abs(g.delta) * qty_units > opt.max_abs_delta:
        return RfqReject(req.request_id, RfqRejectCode.DELTA_LIMIT,
                         f"|delta| {abs(g.delta):.3f} x {qty_units} > {opt.max_abs_delta}")

    move = forward * opt.move_bp * 1e-4
    p_value_up, p_value_down = (p_up, p_down) if g.delta >= 0 else (p_down, p_up)
    base = g.vega * opt.base_half_spread_vol
    unstable = g.vega * opt.instability_vol_bump * p_withdraw
    tick = float(opt.price_tick)
    min_half = opt.min_half_spread_ticks * tick
    half_ask = max(min_half, base + abs(g.delta) * move * p_value_up + unstable)
    half_bid = max(min_half, base + abs(g.delta) * move * p_value_down + unstable)
    reasons = (f"vol {vol:.4f} T {t:.5f} y F {forward:.2f}",
               f"move widen: ask +{abs(g.delta) * move * p_value_up:.4f} bid +{abs(g.delta) * move * p_value_down:.4f}",
               f"instability widen +{unstable:.4f}")

    want_bid = req.side in (RfqSide.SELL, RfqSide.TWO_SIDED)
    want_ask = req.side in (RfqSide.BUY, RfqSide.TWO_SIDED)
    bid_px = math.floor((g.price - half_bid) / tick) if want_bid else None
    ask_px = math.ceil((g.price + half_ask) / tick) if want_ask else None
    if bid_px is not None and bid_px <= 0:
        if req.side is RfqSide.SELL:
            return RfqReject(req.request_id, RfqRejectCode.PRICE_BELOW_TICK,
                             f"fair {g.price:.4f} - half {half_bid:.4f} is below one tick {tick}")
        bid_px = None   # two-sided: answer with the offer alone
        reasons += ("no bid: below one tick",)
    return RfqQuote(request_id=req.request_id, contract=c, bid_px=bid_px, ask_px=ask_px, qty_lots=lots,
                    price_tick=opt.price_tick, qty_lot=opt.qty_lot, valid_until_ns=now_ns + opt.validity_ns,
                    forward=forward, vol=vol, greeks=g, half_spread_bid=half_bid, half_spread_ask=half_ask,
                    reasons=reasons)
