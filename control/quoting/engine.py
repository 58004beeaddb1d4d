"""QuotingEngine: per-instrument state (volatility, position, live quote, quote rate) around the
pure policy and the risk limits. One call per book update returns one QuoteDecision.

The engine never sends anything itself: the caller (the appliance's FIX initiator, or the backtest)
acts on the decision and reports fills back through `on_fill`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from control.prediction import Prediction
from control.quoting.config import InstrumentConfig, QuotingConfig
from control.quoting.policy import target_tuple
from control.quoting.risk import LotLimits, QuoteRateLimiter, pull_reasons
from control.quoting.types import Action, QuoteDecision, Reason, ReasonCode, Side, SideQuote
from control.quoting.volatility import VolEstimator
from models.record import FLAG_IN_SYNC, FLAG_RESET

_QUOTE, _UNCHANGED = Action.QUOTE, Action.UNCHANGED
_QUOTE_KEY = _QUOTE.value
_BID, _ASK = Side.BID, Side.ASK

log = logging.getLogger(__name__)


@dataclass(slots=True)
class InstrumentState:
    inst: InstrumentConfig
    vol: VolEstimator
    rate: QuoteRateLimiter
    position_lots: int = 0
    bid: SideQuote | None = None     # the quote we last asked to be live
    ask: SideQuote | None = None
    last_mid2: int = 0               # last valid mid, half-ticks (0: none yet)
    last_flags: int = 0              # flags of the last record (IN_SYNC etc.)
    book_valid: bool = False         # last record had a valid touch
    prediction: Prediction | None = None   # last prediction seen, with its INVALID flag
    prediction_invalid: bool = False
    backend_healthy: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    lot_limits: LotLimits | None = None   # max_lots_within_limits of `inst`, in integers


class QuotingEngine:
    """Turns (book record, prediction, health) into quote decisions for configured instruments."""

    def __init__(self, cfg: QuotingConfig) -> None:
        self.cfg = cfg
        sp = cfg.policy.spread
        self._state = {
            sym: InstrumentState(inst, VolEstimator(sp.vol_half_life_s, sp.vol_horizon_s),
                                 QuoteRateLimiter(inst.limits.max_quotes_per_s), lot_limits=LotLimits(inst))
            for sym, inst in cfg.instruments.items()
        }

    # -- queries ------------------------------------------------------------------------------------
    def state(self, symbol: str) -> InstrumentState:
        try:
            return self._state[symbol]
        except KeyError:
            self.cfg.instrument(symbol)   # raises QuotingConfigError naming the known symbols
            raise

    def position(self, symbol: str) -> int:
        return self.state(symbol).position_lots

    def mid2(self, symbol: str) -> int:
        """Last valid mid in half-ticks (0 when no valid book has been seen)."""
        return self.state(symbol).last_mid2

    # -- events -------------------------------------------------------------------------------------
    def on_book(self, symbol: str, record: np.void, prediction: Prediction | None, *, now_ns: int,
                backend_healthy: bool = True, prediction_invalid: bool = False) -> QuoteDecision:
        """Decide the quote for `symbol` after book `record` (models.record dtype, one row).

        `prediction` is the latest prediction for this instrument (normally from this record),
        `prediction_invalid` its INVALID flag, `now_ns` the decision time on the prediction's clock.
        """
        return self.on_touch(symbol, int(record["bid_px"][0]), int(record["ask_px"][0]), int(record["flags"]),
                             int(record["ts_ns"]), prediction, now_ns=now_ns, backend_healthy=backend_healthy,
                             prediction_invalid=prediction_invalid)

    def on_touch(self, symbol: str, bid0: int, ask0: int, flags: int, ts_ns: int, prediction: Prediction | None,
                 *, now_ns: int, backend_healthy: bool = True, prediction_invalid: bool = False) -> QuoteDecision:
        """`on_book` from the fields it reads of the record: best bid and ask (ticks), flags and
        exchange timestamp (the appliance's per-event path, which has them as integers)."""
        st = self._state.get(symbol)
        if st is None:
            st = self.state(symbol)   # raises, naming the known symbols
        if flags & FLAG_RESET:
            st.vol.reset()
        book_ok = 0 < bid0 < ask0
        st.last_flags, st.book_valid = flags, book_ok
        st.prediction, st.prediction_invalid, st.backend_healthy = prediction, prediction_invalid, backend_healthy
        sigma = 0.0
        if book_ok:
            st.last_mid2 = bid0 + ask0
            sigma = st.vol.update(ts_ns, st.last_mid2)

        # pull_reasons() is empty exactly when all of this holds; it lists the reasons otherwise.
        if not (book_ok and flags & FLAG_IN_SYNC and backend_healthy and prediction is not None
                and not prediction_invalid and now_ns - prediction.ts_ns <= prediction.horizon_ns):
            pulls = pull_reasons(bid_px=bid0, ask_px=ask0, flags=flags, prediction=prediction,
                                 prediction_invalid=prediction_invalid, backend_healthy=backend_healthy,
                                 now_ns=now_ns)
            return self._pull(st, symbol, now_ns, tuple(pulls))

        bid_px, ask_px, bid_lots, ask_lots, half, widen_bid, widen_ask, policy_reasons = target_tuple(
            bid0, ask0, sigma, prediction.p_up, prediction.p_down, prediction.p_withdraw, st.position_lots,
            st.inst, self.cfg.policy)
        reasons = list(policy_reasons)
        bid = self._limit_side(st, _BID, bid_px, bid_lots, reasons, st.bid)
        ask = self._limit_side(st, _ASK, ask_px, ask_lots, reasons, st.ask)
        if bid is None and ask is None:
            return self._pull(st, symbol, now_ns, tuple(reasons), half)

        # The common case once quoted: the target is the live quote itself (_limit_side hands back the
        # live side when price and size match, and it was within limits when it went out).
        mid = 0.5 * st.last_mid2
        if (bid is st.bid and ask is st.ask) or (self._stands(st, _BID, bid, mid * widen_bid * 1e-4)
                                                  and self._stands(st, _ASK, ask, mid * widen_ask * 1e-4)):
            return QuoteDecision(symbol, now_ns, _UNCHANGED, st.bid, st.ask, tuple(reasons), half)
        if not st.rate.allow(now_ns):
            # Holding a quote the policy no longer wants is a risk; a cancel is always allowed.
            reasons.append(Reason(ReasonCode.RATE_LIMITED, None,
                                  f"{st.inst.limits.max_quotes_per_s} updates in the last second"))
            return self._pull(st, symbol, now_ns, tuple(reasons), half)
        st.rate.record(now_ns)
        st.bid, st.ask = bid, ask
        st.counts[_QUOTE_KEY] = st.counts.get(_QUOTE_KEY, 0) + 1
        return QuoteDecision(symbol, now_ns, _QUOTE, bid, ask, tuple(reasons), half)

    def on_fill(self, symbol: str, side: Side, lots: int) -> None:
        """A quote of ours traded `lots` on `side`: update the position and the live remainder."""
        if lots <= 0:
            raise ValueError(f"{symbol}: fill of {lots} lots")
        st = self.state(symbol)
        st.position_lots += int(side) * lots
        live = st.bid if side is Side.BID else st.ask
        if live is not None:
            rest = SideQuote(live.px, live.lots - lots) if live.lots > lots else None
            if side is Side.BID:
                st.bid = rest
            else:
                st.ask = rest
        log.debug("%s fill %s %d lots -> position %d", symbol, side.name, lots, st.position_lots)

    def set_position(self, symbol: str, lots: int) -> None:
        """Start-of-day or reconciled position (from the venue's account state)."""
        self.state(symbol).position_lots = int(lots)

    # -- internals ----------------------------------------------------------------------------------
    def _limit_side(self, st: InstrumentState, side: Side, px: int, lots: int, reasons: list[Reason],
                    live: SideQuote | None) -> SideQuote | None:
        """The side to quote at `px` with at most `lots` within the limits (reasons appended), `live`
        itself when that is what it comes to."""
        if px <= 0:
            reasons.append(Reason(ReasonCode.PRICE_NOT_POSITIVE, side, "%d", (px,)))
            return None
        inst = st.inst
        room, code = st.lot_limits.room(side, px, st.position_lots)
        if lots > room:
            step = inst.size_step_lots
            lots = room // step * step
            reasons.append(Reason(code, side, "size cut to %d lots at position %d", (lots, st.position_lots)))
        if lots < inst.min_size_lots:
            reasons.append(Reason(ReasonCode.SIZE_BELOW_MIN, side, "%d < %d lots", (lots, inst.min_size_lots)))
            return None
        if live is not None and live.px == px and live.lots == lots:
            return live
        return SideQuote(px, lots)

    def _stands(self, st: InstrumentState, side: Side, want: SideQuote | None, widen_ticks: float) -> bool:
        """Can the live side stay instead of `want`?

        - price: at most requote_tolerance_bp more aggressive than the target, and at most that plus
          requote_widen_fraction x the target's model widening less aggressive;
        - size: within requote_size_tolerance x base size of the target, and a full fill must stay
          inside the position and notional limits at the current position;
        - a side we want gone must go.
        Why a band, and a lopsided one: the model's probabilities move a little on every record and
        the widening curve is steep (15 bp over 0.4 of probability), so chasing each move burns the
        quote-rate limit, and a rate-limited update is a pull. Protection needs the quote to widen at
        once (the aggressive side of the band stays tight); narrowing again can wait."""
        live = st.bid if side is _BID else st.ask
        if want is None or live is None:
            return want is None and live is None
        if live == want:    # the common case once quoted: same price and size, already within limits
            return True
        pol = self.cfg.policy
        tol = 0.5 * st.last_mid2 * pol.requote_tolerance_bp * 1e-4
        gap = (want.px - live.px) * side   # > 0: the live side is less aggressive than the target
        if not -tol <= gap <= tol + pol.requote_widen_fraction * widen_ticks:
            return False
        if abs(live.lots - want.lots) > pol.requote_size_tolerance * st.inst.base_size_lots:
            return False
        room, _ = st.lot_limits.room(side, live.px, st.position_lots)
        return live.lots <= room

    def _pull(self, st: InstrumentState, symbol: str, now_ns: int, reasons: tuple[Reason, ...],
              half: float = 0.0) -> QuoteDecision:
        if st.bid is None and st.ask is None:
            action = Action.UNCHANGED   # nothing live: nothing to cancel
        else:
            action = Action.PULL
            log.info("%s pull: %s", symbol, "; ".join(str(r) for r in reasons))
        st.bid = st.ask = None
        _count(st, action)
        return QuoteDecision(symbol, now_ns, action, None, None, reasons, half)


def _count(st: InstrumentState, action: Action) -> None:
    st.counts[action.value] = st.counts.get(action.value, 0) + 1
