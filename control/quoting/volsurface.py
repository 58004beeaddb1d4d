"""Implied volatility from the config's small surface table.

Along log-moneyness k = ln(K/F): linear in vol, flat beyond the table's ends (no extrapolated
smile wings). Across expiries: linear in total variance w = sigma^2 T, which keeps forward variance
non-negative when the table is calendar-arbitrage-free; flat vol before the first and after the
last expiry. A flat vol is a table with one expiry and one moneyness point.
"""
from __future__ import annotations

import math

from control.quoting.config import VolSurface


def _interp(xs: tuple[float, ...], ys: tuple[float, ...], x: float) -> float:
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            w = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
            return ys[i - 1] + w * (ys[i] - ys[i - 1])
    return ys[-1]  # unreachable


def implied_vol(surface: VolSurface, t_years: float, forward: float, strike: float) -> float:
    if t_years <= 0 or forward <= 0 or strike <= 0:
        raise ValueError(f"implied_vol needs T, F, K > 0; got T={t_years} F={forward} K={strike}")
    k = math.log(strike / forward)
    row_vols = [_interp(surface.log_moneyness, row, k) for row in surface.vols]
    exp = surface.expiries_y
    if t_years <= exp[0]:
        return row_vols[0]
    if t_years >= exp[-1]:
        return row_vols[-1]
    total_var = _interp(exp, tuple(v * v * t for v, t in zip(row_vols, exp, strict=True)), t_years)
    return math.sqrt(total_var / t_years)
