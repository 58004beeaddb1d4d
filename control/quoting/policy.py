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
    half = sp.floor_bp
    if vol_half > half:
        half = vol_half
        reasons.append(Reason(ReasonCode.VOL_SPREAD, None, "sigma %.2f bp -> half %.2f bp", (sigma_bp, half)))

    widen_ask = policy.move_widen_bp(p_up)     # an up move would lift the price through our ask
    widen_bid = policy.move_widen_bp(p_down)   # a down move would hit our bid
    if widen_ask > 0:
        reasons.append(Reason(ReasonCode.MOVE_WIDEN, Side.ASK, "p_up %.2f -> +%.2f bp", (p_up, widen_ask)))
    if widen_bid > 0:
        reasons.append(Reason(ReasonCode.MOVE_WIDEN, Side.BID, "p_down %.2f -> +%.2f bp", (p_down, widen_bid)))

    skew = 0.0
    if position_lots:
        frac = position_lots / inst.limits.max_position_lots
        skew = policy.skew_bp_at_max_position * (1.0 if frac > 1.0 else -1.0 if frac < -1.0 else frac)
    if skew != 0:
        reasons.append(Reason(ReasonCode.INVENTORY_SKEW, None, "position %d lots -> %+.2f bp", (position_lots, -skew)))

    mid = 0.5 * (best_bid + best_ask)
    bid_px = math.floor(mid - mid * (half + widen_bid + skew) * 1e-4)
    ask_px = math.ceil(mid + mid * (half + widen_ask - skew) * 1e-4)
    if bid_px > best_ask - 1:
        bid_px = best_ask - 1
        reasons.append(Reason(ReasonCode.PASSIVE_CLAMP, Side.BID, "held at best ask - 1 = %d", (bid_px,)))
    if ask_px < best_bid + 1:
        ask_px = best_bid + 1
        reasons.append(Reason(ReasonCode.PASSIVE_CLAMP, Side.ASK, "held at best bid + 1 = %d", (ask_px,)))

    cut = policy.withdraw_size_cut(p_withdraw)
    step = inst.size_step_lots
    lots = int(inst.base_size_lots * (1.0 - cut) // step) * step
    if cut > 0:
        reasons.append(Reason(ReasonCode.WITHDRAW_CUT, None,
                              "p_withdraw %.2f -> -%.0f%% -> %d lots", (p_withdraw, 100 * cut, lots)))
    return bid_px, ask_px, lots, lots, half, widen_bid, widen_ask, tuple(reasons)
