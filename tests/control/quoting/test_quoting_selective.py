"""The default policy is selective on calibrated probabilities: nothing happens near the base rates,
only the threatened side widens, and the issue's reference points still hold."""
from __future__ import annotations

import pytest

from control.quoting import load_config
from control.quoting.types import ReasonCode, Side

from .test_quoting_policy import quote


@pytest.mark.parametrize("p_up,p_down,p_withdraw", [(0.0, 0.0, 0.0), (0.12, 0.12, 0.27), (0.25, 0.2, 0.35),
                                                     (0.3, 0.3, 0.5)])
def test_flat_near_base_rate(cfg, p_up, p_down, p_withdraw):
    """Calibrated base rates (a 0.5 bp move one way ~11-23 %, withdrawal ~27-35 %) and up to roughly
    twice them change nothing: the bulk of quotes stays at the base spread and full size."""
    base = quote(cfg)
    q = quote(cfg, p_up=p_up, p_down=p_down, p_withdraw=p_withdraw)
    assert (q.bid_px, q.ask_px, q.bid_lots, q.ask_lots) == (base.bid_px, base.ask_px, base.bid_lots, base.ask_lots)
    assert not any(r.code in (ReasonCode.MOVE_WIDEN, ReasonCode.WITHDRAW_CUT) for r in q.reasons)


def test_only_the_threatened_side_widens_above_the_flat_part(cfg):
    base = quote(cfg)
    q = quote(cfg, p_up=0.5, p_down=0.1)
    assert q.ask_px - base.ask_px == 75          # halfway from 0.3 (0 bp) to 0.7 (15 bp): 7.5 bp
    assert q.bid_px == base.bid_px
    assert [r.side for r in q.reasons if r.code is ReasonCode.MOVE_WIDEN] == [Side.ASK]


def test_size_cut_starts_above_half(cfg):
    assert quote(cfg, p_withdraw=0.5).bid_lots == 10
    assert quote(cfg, p_withdraw=0.6).bid_lots == 8     # 15 % cut of 10 lots, rounded down to the step
    assert quote(cfg, p_withdraw=0.7).bid_lots == 7     # the reference: -30 %


def test_default_curves_are_the_documented_ones():
    pol = load_config().policy
    assert pol.move_widen_bp(0.3) == 0.0 and pol.move_widen_bp(0.7) == 15.0
    assert pol.withdraw_size_cut(0.5) == 0.0 and pol.withdraw_size_cut(0.7) == pytest.approx(0.30)
