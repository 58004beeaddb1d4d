"""Recent volatility of the mid, as the half-spread's base.

An exponentially weighted realized variance per unit time: each mid change adds its squared return
(bp^2), the sum decays with a half-life in exchange time, and dividing by the kernel's mean life gives
a variance rate (bp^2 per second). Scaling to a horizon gives sigma in bp. Time decay (not per-record
decay) keeps the estimate independent of how often the venue publishes.
"""
from __future__ import annotations

import math


class VolEstimator:
    def __init__(self, half_life_s: float, horizon_s: float) -> None:
        if half_life_s <= 0 or horizon_s <= 0:
            raise ValueError(f"half_life_s and horizon_s must be > 0, got {half_life_s}, {horizon_s}")
        self._half_life_ns = half_life_s * 1e9
        self._mean_life_s = half_life_s / math.log(2.0)
        self._horizon_s = horizon_s
        self._sum_sq = 0.0
        self._last_ts: int | None = None
        self._last_mid2 = 0

    def reset(self) -> None:
        self._sum_sq = 0.0
        self._last_ts = None
        self._last_mid2 = 0

    def update(self, ts_ns: int, mid2: int) -> float:
        """Feed one valid book (mid in half-ticks); returns sigma over the horizon, in bp."""
        if self._last_ts is not None:
            dt = ts_ns - self._last_ts
            if dt > 0:   # timestamps that go backwards do not decay (and do not raise)
                self._sum_sq *= 0.5 ** (dt / self._half_life_ns)
            if mid2 != self._last_mid2:
                r_bp = 1e4 * (mid2 - self._last_mid2) / self._last_mid2
                self._sum_sq += r_bp * r_bp
        if self._last_ts is None or ts_ns > self._last_ts:
            self._last_ts = ts_ns
        self._last_mid2 = mid2
        return self.sigma_bp()

    def sigma_bp(self) -> float:
        return math.sqrt(self._sum_sq / self._mean_life_s * self._horizon_s)
