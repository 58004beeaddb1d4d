"""Option RFQ pricing: Black-76 fair value, widening through delta and vega, rejects with reasons."""
from __future__ import annotations

import dataclasses
import math
from decimal import Decimal

import pytest

from control.quoting import QuotingEngine
from control.quoting.black76 import OptionKind, black76
from control.quoting.rfq import (
    FixQuoteRequestRejectReason,
    OptionContract,
    RfqPricer,
    RfqQuote,
    RfqReject,
    RfqRejectCode,
    RfqRequest,
    RfqSide,
)
from control.quoting.volsurface import implied_vol

T0 = 1_721_347_020_000_000_000
DAY = 86_400 * 10**9
SYM = "BTCUSDT"


@pytest.fixture
def market(cfg, book, pred):
    """An engine that has seen a BTCUSDT book with mid 64,000.0 and a neutral prediction."""
    def make(p_up=0.0, p_down=0.0, p_withdraw=0.0, *, healthy=True, invalid=False, flags=None):
        eng = QuotingEngine(cfg)
        kw = {} if flags is None else {"flags": flags}
        eng.on_book(SYM, book(639_999, 640_001, **kw), pred(p_up, p_down, p_withdraw), now_ns=T0,
                    backend_healthy=healthy, prediction_invalid=invalid)
        return RfqPricer(cfg, eng)
    return make


def req(kind=OptionKind.CALL, strike="65000", days=7, side=RfqSide.TWO_SIDED, qty="1"):
    return RfqRequest("q1", OptionContract(SYM, Decimal(strike), T0 + days * DAY, kind), side, Decimal(qty))


def test_neutral_quote_brackets_black76_fair_value(cfg, market):
    q = market().price(req(), now_ns=T0)
    assert isinstance(q, RfqQuote)
    opt = cfg.options
    t = 7 * DAY / (365.25 * 86400e9)
    vol = implied_vol(opt.surface, t, 64_000.0, 65_000.0)
    g = black76(OptionKind.CALL, 64_000.0, 65_000.0, t, vol, opt.rate)
    assert q.forward == 64_000.0 and q.vol == vol and q.greeks == g
    half = g.vega * opt.base_half_spread_vol          # no prediction risk: the base spread only
    assert q.half_spread_bid == pytest.approx(half) and q.half_spread_ask == pytest.approx(half)
    assert q.bid_px == math.floor((g.price - half) / 5) and q.ask_px == math.ceil((g.price + half) / 5)
    assert q.bid_price == q.bid_px * Decimal(5) and q.qty == Decimal("1.00")
    assert q.valid_until_ns == T0 + opt.validity_ns


def test_predicted_up_move_widens_call_ask_by_delta_times_move(cfg, market):
    base = market().price(req(), now_ns=T0)
    q = market(p_up=0.7).price(req(), now_ns=T0)
    expected = abs(q.greeks.delta) * 64_000.0 * cfg.options.move_bp * 1e-4 * 0.7
    assert q.half_spread_ask - base.half_spread_ask == pytest.approx(expected)
    assert q.half_spread_bid == pytest.approx(base.half_spread_bid)


def test_predicted_up_move_widens_put_bid(cfg, market):
    base = market().price(req(OptionKind.PUT), now_ns=T0)
    q = market(p_up=0.7).price(req(OptionKind.PUT), now_ns=T0)
    expected = abs(q.greeks.delta) * 64_000.0 * cfg.options.move_bp * 1e-4 * 0.7
    assert q.half_spread_bid - base.half_spread_bid == pytest.approx(expected)
    assert q.half_spread_ask == pytest.approx(base.half_spread_ask)


def test_predicted_instability_widens_both_sides_by_vega_times_bump(cfg, market):
    base = market().price(req(), now_ns=T0)
    q = market(p_withdraw=0.5).price(req(), now_ns=T0)
    expected = q.greeks.vega * cfg.options.instability_vol_bump * 0.5
    assert q.half_spread_bid - base.half_spread_bid == pytest.approx(expected)
    assert q.half_spread_ask - base.half_spread_ask == pytest.approx(expected)
    assert q.bid_px <= base.bid_px and q.ask_px >= base.ask_px


def test_one_sided_requests(market):
    pricer = market()
    buy = pricer.price(req(side=RfqSide.BUY), now_ns=T0)
    sell = pricer.price(req(side=RfqSide.SELL), now_ns=T0)
    assert buy.bid_px is None and buy.ask_px is not None
    assert sell.ask_px is None and sell.bid_px is not None


def test_worthless_option_bid_is_rejected_or_omitted(market):
    pricer = market()
    far = req(strike="200000", days=1, side=RfqSide.SELL)
    r = pricer.price(far, now_ns=T0)
    assert isinstance(r, RfqReject) and r.code is RfqRejectCode.PRICE_BELOW_TICK
    two = pricer.price(req(strike="200000", days=1), now_ns=T0)
    assert two.bid_px is None and two.ask_px >= 1


@pytest.mark.parametrize(("make_kw", "request_kw", "code"), [
    ({}, {"days": 0}, RfqRejectCode.TOO_CLOSE_TO_EXPIRY),
    ({}, {"qty": "0.005"}, RfqRejectCode.QTY_NOT_ON_GRID),
    ({}, {"qty": "11"}, RfqRejectCode.QTY_OUT_OF_RANGE),
    ({}, {"qty": "10", "strike": "50000"}, RfqRejectCode.DELTA_LIMIT),
    ({"healthy": False}, {}, RfqRejectCode.MODEL_UNAVAILABLE),
    ({"invalid": True}, {}, RfqRejectCode.MODEL_UNAVAILABLE),
    ({"flags": 0}, {}, RfqRejectCode.NO_MARKET),
])
def test_rejects_carry_a_reason(market, make_kw, request_kw, code):
    r = market(**make_kw).price(req(**request_kw), now_ns=T0)
    assert isinstance(r, RfqReject) and r.code is code and r.detail
    assert isinstance(r.fix_reason, FixQuoteRequestRejectReason)


def test_stale_prediction_and_unknown_underlying(cfg, market):
    pricer = market()
    r = pricer.price(req(), now_ns=T0 + 2_000_000_000)
    assert isinstance(r, RfqReject) and r.code is RfqRejectCode.MODEL_UNAVAILABLE and "stale" in r.detail
    eth = RfqRequest("q2", OptionContract("ETHUSDT", Decimal(3000), T0 + DAY, OptionKind.CALL),
                     RfqSide.BUY, Decimal(1))
    r = pricer.price(eth, now_ns=T0)
    assert r.code is RfqRejectCode.UNKNOWN_UNDERLYING and r.fix_reason == 1
    no_opt = RfqPricer(dataclasses.replace(cfg, options=None), pricer.engine)
    assert no_opt.price(req(), now_ns=T0).code is RfqRejectCode.NO_OPTIONS_CONFIG
