"""The spread and size policy: one pure function from (book touch, volatility, prediction,
position) to a two-sided target quote in integer ticks and lots.

Order of operations (all offsets in bp of the mid, applied before rounding):
  half    = max(floor_bp, vol_multiplier x sigma)
  bid off = half + move_widen(p_down) + skew        ask off = half + move_widen(p_up) - skew
  skew    = skew_bp_at_max_position x position / max_position   (long -> both prices lower)
  bid = floor(mid - mid x off / 1e4)                 ask = ceil(mid + mid x off / 1e4)
  then held passive: bid <= best ask - 1 tick, ask >= best bid + 1 tick.
Rounding goes away from the mid on both sides, so rounding never improves a price; as both offsets
sum to 2 x half + widening > 0, the bid stays strictly below the ask.
  size = floor_to_step(base_size x (1 - withdraw_cut(p_withdraw)))
Risk limits (position, notional) are applied afterwards by control.quoting.risk.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from control.quoting.config import InstrumentConfig, PolicyConfig
from control.quoting.types import Reason, ReasonCode, Side


@dataclass(frozen=True, slots=True)
class PolicyQuote:
    bid_px: int
    ask_px: int
    bid_lots: int
    ask_lots: int
    half_spread_bp: float
    widen_bid_bp: float
    widen_ask_bp: float
    reasons: tuple[Reason, ...]


def target_quote(*, best_bid: int, best_ask: int, sigma_bp: float, p_up: float, p_down: float,
                 p_withdraw: float, position_lots: int, inst: InstrumentConfig,
                 policy: PolicyConfig) -> PolicyQuote:
    """Target quote for a valid book (0 < best_bid < best_ask, in ticks)."""
    return PolicyQuote(*target_tuple(best_bid, best_ask, sigma_bp, p_up, p_down, p_withdraw, position_lots,
                                     inst, policy))


def target_tuple(best_bid: int, best_ask: int, sigma_bp: float, p_up: float, p_down: float, p_withdraw: float,
                 position_lots: int, inst: InstrumentConfig, policy: PolicyConfig
                 ) -> tuple[int, int, int, int, float, float, float, tuple[Reason, ...]]:
    """target_quote's fields as a plain tuple, in PolicyQuote's order (the engine's per-event call)."""
    reasons: list[Reason] = []
    sp = policy.spread
    vol_half = sp.vol_multiplier * sigma_bp
    half = max(sp.floor_bp, vol_half)
    if vol_half > sp.floor_bp:
        reasons.append(Reason(ReasonCode.VOL_SPREAD, None, f"sigma {sigma_bp:.2f} bp -> half {half:.2f} bp"))

    widen_ask = policy.move_widen_bp(p_up)     # an up move would lift the price through our ask
    widen_bid = policy.move_widen_bp(p_down)   # a down move would hit our bid
    if widen_ask > 0:
        reasons.append(Reason(ReasonCode.MOVE_WIDEN, Side.ASK, f"p_up {p_up:.2f} -> +{widen_ask:.2f} bp"))
    if widen_bid > 0:
        reasons.append(Reason(ReasonCode.MOVE_WIDEN, Side.BID, f"p_down {p_down:.2f} -> +{widen_bid:.2f} bp"))

    max_pos = inst.limits.max_position_lots
    skew = policy.skew_bp_at_max_position * max(-1.0, min(1.0, position_lots / max_pos))
    if skew != 0:
        reasons.append(Reason(ReasonCode.INVENTORY_SKEW, None, f"position {position_lots} lots -> {-skew:+.2f} bp"))

    mid = 0.5 * (best_bid + best_ask)
    bid_px = math.floor(mid - mid * (half + widen_bid + skew) * 1e-4)
    ask_px = math.ceil(mid + mid * (half + widen_ask - skew) * 1e-4)
    if bid_px > best_ask - 1:
        bid_px = best_ask - 1
        reasons.append(Reason(ReasonCode.PASSIVE_CLAMP, Side.BID, f"held at best ask - 1 = {bid_px}"))
    if ask_px < best_bid + 1:
        ask_px = best_bid + 1
        reasons.append(Reason(ReasonCode.PASSIVE_CLAMP, Side.ASK, f"held at best bid + 1 = {ask_px}"))

    cut = policy.withdraw_size_cut(p_withdraw)
    step = inst.size_step_lots
    lots = int(inst.base_size_lots * (1.0 - cut) // step) * step
    if cut > 0:
        reasons.append(Reason(ReasonCode.WITHDRAW_CUT, None,
                              f"p_withdraw {p_withdraw:.2f} -> -{100 * cut:.0f}% -> {lots} lots"))
    return bid_px, ask_px, lots, lots, half, widen_bid, widen_ask, tuple(reasons)
