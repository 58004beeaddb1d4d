"""Black-76: European options on a forward F (here the perpetual's mid), with their Greeks.

    d1 = (ln(F/K) + sigma^2 T / 2) / (sigma sqrt T),   d2 = d1 - sigma sqrt T,   D = exp(-r T)
    call = D (F N(d1) - K N(d2))                         put = D (K N(-d2) - F N(-d1))
    delta_c = D N(d1), delta_p = -D N(-d1)               gamma = D n(d1) / (F sigma sqrt T)
    vega = D F n(d1) sqrt T   (per 1.00 of vol)           theta = -dV/dT (per year):
    theta_c = -D F n(d1) sigma / (2 sqrt T) + r call     theta_p = -D F n(d1) sigma / (2 sqrt T) + r put
The normal CDF uses math.erf (no SciPy in the runtime).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class OptionKind(StrEnum):
    CALL = "C"
    PUT = "P"


def norm_cdf(x: float) -> float:
    # erfc keeps precision in the far left tail, where 1 + erf(x) would cancel.
    return 0.5 * math.erfc(-x / _SQRT2)


def norm_pdf(x: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * x * x)


@dataclass(frozen=True, slots=True)
class Greeks:
    price: float
    delta: float     # dV/dF
    gamma: float     # d2V/dF2
    vega: float      # dV/dsigma, per 1.00 (100 vol points) of volatility
    theta: float     # dV/dt, per year (negative: value lost as time passes)

    @property
    def theta_per_day(self) -> float:
        return self.theta / 365.0


def black76(kind: OptionKind, forward: float, strike: float, t_years: float, sigma: float,
            rate: float = 0.0) -> Greeks:
    """Price and Greeks of one option on a forward; all positive inputs except `rate`."""
    if not (forward > 0 and strike > 0 and t_years > 0 and sigma > 0):
        raise ValueError(f"black76 needs F, K, T, sigma > 0; got F={forward} K={strike} "
                         f"T={t_years} sigma={sigma}")
    sqrt_t = math.sqrt(t_years)
    sig_t = sigma * sqrt_t
    d1 = (math.log(forward / strike) + 0.5 * sig_t * sig_t) / sig_t
    d2 = d1 - sig_t
    disc = math.exp(-rate * t_years)
    pdf1 = norm_pdf(d1)
    gamma = disc * pdf1 / (forward * sig_t)
    vega = disc * forward * pdf1 * sqrt_t
    decay = -disc * forward * pdf1 * sigma / (2.0 * sqrt_t)
    # Far out of the money both terms are tiny and their difference can round below zero (a call at
    # K = 1.35 F, 5% vol, 9 days: -4e-321); an option is never worth less than nothing.
    if kind is OptionKind.CALL:
        price = max(0.0, disc * (forward * norm_cdf(d1) - strike * norm_cdf(d2)))
        delta = disc * norm_cdf(d1)
    else:
        price = max(0.0, disc * (strike * norm_cdf(-d2) - forward * norm_cdf(-d1)))
        delta = -disc * norm_cdf(-d1)
    return Greeks(price=price, delta=delta, gamma=gamma, vega=vega, theta=decay + rate * price)
