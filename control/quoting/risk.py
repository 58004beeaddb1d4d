"""Hard risk limits and pull conditions, applied after the policy and never overridden by it.

- Pull everything when the book is out of sync or invalid, the backend is unhealthy, or the
  prediction is missing, flagged invalid or older than its horizon (quoting on a stale view is what
  informed traders pick off).
- Per side: the size is cut so that a complete fill keeps |position| <= max_position_lots and
  |position| x price x lot_size <= max_notional; a side cut below min_size_lots is pulled.
- Quote rate: at most max_quotes_per_s updates per rolling second; cancels are never throttled.
"""
from __future__ import annotations

from collections import deque
from decimal import Decimal, getcontext

from control.prediction import Prediction
from control.quoting.config import InstrumentConfig
from control.quoting.types import Reason, ReasonCode, Side
from models.record import FLAG_IN_SYNC


def pull_reasons(*, bid_px: int, ask_px: int, flags: int, prediction: Prediction | None,
                 prediction_invalid: bool, backend_healthy: bool, now_ns: int) -> list[Reason]:
    """Every reason to pull all quotes of an instrument right now (empty: quoting is allowed)."""
    out: list[Reason] = []
    if not flags & FLAG_IN_SYNC:
        out.append(Reason(ReasonCode.BOOK_OUT_OF_SYNC))
    if bid_px <= 0 or ask_px <= 0 or ask_px <= bid_px:
        out.append(Reason(ReasonCode.BOOK_INVALID, None, f"touch {bid_px} / {ask_px}"))
    if not backend_healthy:
        out.append(Reason(ReasonCode.BACKEND_UNHEALTHY))
    if prediction is None:
        out.append(Reason(ReasonCode.NO_PREDICTION))
    else:
        if prediction_invalid:
            out.append(Reason(ReasonCode.PREDICTION_INVALID, None, f"seq {prediction.seq}"))
        if prediction.expired(now_ns):
            age_ms = (now_ns - prediction.ts_ns) / 1e6
            out.append(Reason(ReasonCode.PREDICTION_STALE, None,
                              f"age {age_ms:.1f} ms > horizon {prediction.horizon_ns / 1e6:.1f} ms"))
    return out


def max_lots_within_limits(inst: InstrumentConfig, side: Side, px: int, position_lots: int) -> tuple[int, ReasonCode]:
    """Largest size on `side` at `px` whose complete fill keeps position and notional within limits,
    and which limit binds (position or notional). 0 when this side would only increase a breach."""
    lim = inst.limits
    # Exact decimal notional per lot at this price, so the bound never rounds in our favour.
    per_lot = inst.price(px) * inst.lot_size
    notional_lots = int(Decimal(str(lim.max_notional)) // per_lot) if per_lot > 0 else lim.max_position_lots
    cap, code = ((lim.max_position_lots, ReasonCode.POSITION_LIMIT)
                 if lim.max_position_lots <= notional_lots else (notional_lots, ReasonCode.NOTIONAL_LIMIT))
    # |position + side x q| <= cap  ->  q <= cap - side x position
    room = cap - int(side) * position_lots
    return max(0, room), code


class LotLimits:
    """`max_lots_within_limits` for one instrument in exact integer arithmetic (the engine's per-event
    path; same results, tests/control/quoting/test_quoting_engine.py). The notional bound
    floor(max_notional / (px x tick_size x lot_size)) is a ratio of integers once the decimals are
    written as fractions; prices where the Decimal path could round (more digits than the context
    holds) or that are not positive go to that path."""

    __slots__ = ("inst", "max_pos", "_num", "_den", "_px_exact", "_q_max")

    def __init__(self, inst: InstrumentConfig) -> None:
        self.inst = inst
        lim = inst.limits
        self.max_pos = lim.max_position_lots
        n_num, n_den = Decimal(str(lim.max_notional)).as_integer_ratio()
        p_num, p_den = (inst.tick_size * inst.lot_size).as_integer_ratio()
        self._num, self._den = n_num * p_den, n_den * p_num
        prec = getcontext().prec
        digits = len(inst.tick_size.as_tuple().digits) + len(inst.lot_size.as_tuple().digits)
        self._px_exact = 10 ** max(0, prec - digits)   # px x tick x lot stays exact below this
        self._q_max = 10 ** prec                        # Decimal's integer division holds this many

    def room(self, side: Side, px: int, position_lots: int) -> tuple[int, ReasonCode]:
        if not 0 < px < self._px_exact:
            return max_lots_within_limits(self.inst, side, px, position_lots)
        notional_lots = self._num // (self._den * px)
        if notional_lots >= self._q_max:
            return max_lots_within_limits(self.inst, side, px, position_lots)
        if self.max_pos <= notional_lots:
            cap, code = self.max_pos, ReasonCode.POSITION_LIMIT
        else:
            cap, code = notional_lots, ReasonCode.NOTIONAL_LIMIT
        room = cap - side * position_lots
        return (room if room > 0 else 0), code


class QuoteRateLimiter:
    """Rolling one-second window of quote updates for one instrument."""

    def __init__(self, max_per_s: int) -> None:
        self.max_per_s = max_per_s
        self._sent: deque[int] = deque()

    def allow(self, now_ns: int) -> bool:
        window_start = now_ns - 1_000_000_000
        while self._sent and self._sent[0] <= window_start:
            self._sent.popleft()
        return len(self._sent) < self.max_per_s

    def record(self, now_ns: int) -> None:
        self._sent.append(now_ns)
