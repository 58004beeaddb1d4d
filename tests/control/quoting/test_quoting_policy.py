"""The spread/size policy: the issue's reference scenarios with exact numbers, and invariants."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control.quoting.config import Curve
from control.quoting.policy import target_quote
from control.quoting.types import Reason, ReasonCode, Side

# BTCUSDT in the default config: tick 0.1, so a mid of 100000 ticks (10,000.0) makes 1 bp = 10 ticks.
BID, ASK = 99_999, 100_001     # mid exactly 100000 ticks


def quote(cfg, *, bid=BID, ask=ASK, sigma=0.0, p_up=0.0, p_down=0.0, p_withdraw=0.0, position=0, policy=None):
    return target_quote(best_bid=bid, best_ask=ask, sigma_bp=sigma, p_up=p_up, p_down=p_down,
                        p_withdraw=p_withdraw, position_lots=position, inst=cfg.instrument("BTCUSDT"),
                        policy=policy or cfg.policy)


def test_floor_half_spread(cfg):
    q = quote(cfg)
    assert cfg.policy.spread.floor_bp == 1.0   # pinned by conftest
    assert (q.bid_px, q.ask_px) == (100_000 - 10, 100_000 + 10)
    assert q.bid_lots == q.ask_lots == 10


def test_seventy_percent_up_move_widens_ask_by_15bp(cfg):
    base = quote(cfg)
    q = quote(cfg, p_up=0.7)
    assert q.ask_px - base.ask_px == 150      # 15 bp of 100000 ticks
    assert q.bid_px == base.bid_px            # the bid is not threatened by an up move
    assert any(r.code is ReasonCode.MOVE_WIDEN and r.side is Side.ASK for r in q.reasons)


def test_seventy_percent_down_move_widens_bid_by_15bp(cfg):
    base = quote(cfg)
    q = quote(cfg, p_down=0.7)
    assert base.bid_px - q.bid_px == 150
    assert q.ask_px == base.ask_px


def test_seventy_percent_withdrawal_cuts_size_by_30pct(cfg):
    q = quote(cfg, p_withdraw=0.7)
    assert q.bid_lots == q.ask_lots == 7      # 10 lots - 30%
    assert any(r.code is ReasonCode.WITHDRAW_CUT for r in q.reasons)


def test_volatility_sets_half_spread_above_floor(cfg):
    q = quote(cfg, sigma=3.0)                 # vol_multiplier 1 -> 3 bp = 30 ticks
    assert (q.bid_px, q.ask_px) == (100_000 - 30, 100_000 + 30)
    assert q.half_spread_bp == 3.0


def test_long_inventory_skews_both_quotes_down(cfg):
    lim = cfg.instrument("BTCUSDT").limits.max_position_lots
    q = quote(cfg, position=lim // 2)         # half the limit -> 1 bp of the 2 bp skew
    assert (q.bid_px, q.ask_px) == (100_000 - 20, 100_000)
    short = quote(cfg, position=-lim)
    # short at the limit: the bid wants to be 1 bp above the mid but is held at best ask - 1
    assert (short.bid_px, short.ask_px) == (ASK - 1, 100_000 + 30)


def test_rounding_never_improves_price(cfg):
    # mid 100000.5: the 1 bp offset is 10.00005 ticks -> bid 99990.49995 rounds down, ask up.
    q = quote(cfg, bid=100_000, ask=100_001)
    assert (q.bid_px, q.ask_px) == (99_990, 100_011)


def test_passive_clamp_keeps_quotes_off_the_other_side(cfg):
    policy = dataclasses.replace(cfg.policy, skew_bp_at_max_position=50.0)
    lim = cfg.instrument("BTCUSDT").limits.max_position_lots
    q = quote(cfg, position=lim, policy=policy)    # the ask would be 49 bp below the mid
    assert q.ask_px == BID + 1
    assert any(r.code is ReasonCode.PASSIVE_CLAMP and r.side is Side.ASK for r in q.reasons)


probs = st.floats(0.0, 1.0)


@settings(max_examples=300, deadline=None)
@given(bid=st.integers(1, 10_000_000), spread=st.integers(1, 500), sigma=st.floats(0, 200),
       p_up=probs, p_down=probs, p_w=probs, position=st.integers(-300, 300),
       skew=st.floats(0, 500))
def test_quotes_never_cross_and_never_take(cfg, bid, spread, sigma, p_up, p_down, p_w, position, skew):
    policy = dataclasses.replace(cfg.policy, skew_bp_at_max_position=skew)
    ask = bid + spread
    q = quote(cfg, bid=bid, ask=ask, sigma=sigma, p_up=p_up, p_down=p_down, p_withdraw=p_w,
              position=position, policy=policy)
    assert q.bid_px < q.ask_px
    assert q.bid_px < ask and q.ask_px > bid                 # passive: never crosses the book
    inst = cfg.instrument("BTCUSDT")
    assert q.bid_lots % inst.size_step_lots == 0 and 0 <= q.bid_lots <= inst.base_size_lots


@settings(max_examples=200, deadline=None)
@given(p1=probs, p2=probs, p_w1=probs, p_w2=probs)
def test_monotone_in_probabilities(cfg, p1, p2, p_w1, p_w2):
    lo, hi = sorted((p1, p2))
    a, b = quote(cfg, p_up=lo, p_down=lo), quote(cfg, p_up=hi, p_down=hi)
    assert b.ask_px >= a.ask_px and b.bid_px <= a.bid_px     # more danger never narrows
    wlo, whi = sorted((p_w1, p_w2))
    assert quote(cfg, p_withdraw=whi).bid_lots <= quote(cfg, p_withdraw=wlo).bid_lots


@settings(max_examples=500, deadline=None)
@given(ys=st.lists(st.sampled_from([0.0, 0.0, 0.3, 15.0, 25.0]), min_size=2, max_size=5),
       x=st.floats(-0.5, 1.5, allow_nan=False))
def test_curve_equals_linear_interpolation(ys: list[float], x: float) -> None:
    """Curve's flat-start shortcut changes nothing: the same value as np.interp (flat outside)."""
    xs = tuple(np.linspace(0.0, 1.0, len(ys)).tolist())
    assert Curve(xs, tuple(ys))(x) == pytest.approx(float(np.interp(x, xs, ys)), abs=1e-12)


def test_reason_detail_is_formatted_when_read() -> None:
    r = Reason(ReasonCode.MOVE_WIDEN, Side.ASK, "p_up %.2f -> +%.2f bp", (0.7349, 15.0))
    assert r.detail == "p_up 0.73 -> +15.00 bp"
    assert str(r) == "move_widen[ask]: p_up 0.73 -> +15.00 bp"
    assert Reason(ReasonCode.BOOK_INVALID, None, "100% literal").detail == "100% literal"
