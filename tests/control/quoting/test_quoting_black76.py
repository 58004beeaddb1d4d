"""Black-76 against published reference values, put-call parity and finite-difference Greeks."""
from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from control.quoting.black76 import OptionKind, black76, norm_cdf
from control.quoting.config import VolSurface
from control.quoting.volsurface import implied_vol

C, P = OptionKind.CALL, OptionKind.PUT


def test_hull_put_on_futures():
    # Hull, Options Futures and Other Derivatives: European put on futures, F = K = 20, r = 9%,
    # T = 4 months, sigma = 25% -> 1.12.
    assert black76(P, 20.0, 20.0, 4 / 12, 0.25, 0.09).price == pytest.approx(1.12, abs=0.005)


def test_haug_black76_at_the_money():
    # Haug, The Complete Guide to Option Pricing Formulas: F = K = 19, T = 0.75, r = 10%,
    # sigma = 28% -> call = put = 1.7011.
    assert black76(C, 19.0, 19.0, 0.75, 0.28, 0.10).price == pytest.approx(1.7011, abs=5e-5)
    assert black76(P, 19.0, 19.0, 0.75, 0.28, 0.10).price == pytest.approx(1.7011, abs=5e-5)


def test_haug_futures_option_deltas():
    # Haug: futures option F = 105, K = 100, T = 0.5, r = 10%, sigma = 36% -> delta 0.5946 / -0.3566.
    assert black76(C, 105.0, 100.0, 0.5, 0.36, 0.10).delta == pytest.approx(0.5946, abs=5e-5)
    assert black76(P, 105.0, 100.0, 0.5, 0.36, 0.10).delta == pytest.approx(-0.3566, abs=5e-5)


def test_norm_cdf_reference_points():
    assert norm_cdf(0.0) == 0.5
    assert norm_cdf(1.959963984540054) == pytest.approx(0.975, abs=1e-12)
    assert norm_cdf(-8.0) == pytest.approx(6.220960574271785e-16, rel=1e-9)   # erfc keeps the tail


pos = st.floats(0.5, 2.0)


@settings(max_examples=200, deadline=None)
@given(f=st.floats(1_000, 200_000), m=pos, t=st.floats(1 / 365, 2.0), sigma=st.floats(0.05, 2.0),
       r=st.floats(-0.02, 0.1))
@example(f=1000.0, m=1.345703125, t=0.02399812615213644, sigma=0.05, r=0.0)   # rounded to -4e-321 once
def test_put_call_parity(f, m, t, sigma, r):
    k = f * m
    c, p = black76(C, f, k, t, sigma, r), black76(P, f, k, t, sigma, r)
    disc = math.exp(-r * t)
    assert c.price - p.price == pytest.approx(disc * (f - k), abs=1e-7 * f)
    assert c.delta - p.delta == pytest.approx(disc, abs=1e-12)
    assert c.gamma == p.gamma and c.vega == p.vega
    assert 0 <= c.price <= disc * f + 1e-9 and 0 <= p.price <= disc * k + 1e-9


@pytest.mark.parametrize("kind", [C, P])
@pytest.mark.parametrize(("f", "k", "t", "sigma", "r"), [
    (64_000.0, 65_000.0, 7 / 365, 0.5, 0.0), (64_000.0, 50_000.0, 0.25, 0.7, 0.05), (20.0, 20.0, 1 / 3, 0.25, 0.09),
])
def test_greeks_match_finite_differences(kind, f, k, t, sigma, r):
    g = black76(kind, f, k, t, sigma, r)
    h = f * 1e-4
    up, dn = black76(kind, f + h, k, t, sigma, r), black76(kind, f - h, k, t, sigma, r)
    assert g.delta == pytest.approx((up.price - dn.price) / (2 * h), rel=1e-6, abs=1e-9)
    assert g.gamma == pytest.approx((up.price - 2 * g.price + dn.price) / h**2, rel=1e-4, abs=1e-9)
    dv = 1e-5
    vega_fd = (black76(kind, f, k, t, sigma + dv, r).price - black76(kind, f, k, t, sigma - dv, r).price) / (2 * dv)
    assert g.vega == pytest.approx(vega_fd, rel=1e-6)
    dt = t * 1e-5
    theta_fd = -(black76(kind, f, k, t + dt, sigma, r).price - black76(kind, f, k, t - dt, sigma, r).price) / (2 * dt)
    assert g.theta == pytest.approx(theta_fd, rel=1e-5)
    assert g.theta_per_day == pytest.approx(g.theta / 365)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="sigma"):
        black76(C, 100.0, 100.0, 1.0, 0.0)


SURF = VolSurface(expiries_y=(0.1, 0.4), log_moneyness=(-0.2, 0.0, 0.2),
                  vols=((0.6, 0.5, 0.55), (0.5, 0.4, 0.45)))


def test_vol_surface_interpolation():
    f = 100.0
    assert implied_vol(SURF, 0.1, f, f) == pytest.approx(0.5)
    assert implied_vol(SURF, 0.1, f, f * math.exp(0.1)) == pytest.approx(0.525)        # linear in k
    assert implied_vol(SURF, 0.1, f, f * math.exp(0.9)) == pytest.approx(0.55)         # flat wing
    assert implied_vol(SURF, 0.05, f, f) == pytest.approx(0.5)                         # flat before
    assert implied_vol(SURF, 1.0, f, f) == pytest.approx(0.4)                          # flat after
    w = 0.5**2 * 0.1 + (0.4**2 * 0.4 - 0.5**2 * 0.1) * (0.25 - 0.1) / 0.3              # linear in total var
    assert implied_vol(SURF, 0.25, f, f) == pytest.approx(math.sqrt(w / 0.25))
    flat = VolSurface((1.0,), (0.0,), ((0.3,),))
    assert implied_vol(flat, 0.01, f, 3 * f) == 0.3
