"""The FIX acceptor's view: QuoteRequest -> QuoteDecision / RejectDecision through FixRfqPricer."""
from __future__ import annotations

import calendar
from decimal import Decimal

import pytest

from control.fix.interface import QuoteDecision, QuoteRequest, QuoteRequestRejectReason, RejectDecision
from control.quoting import QuotingEngine, RfqPricer
from control.quoting.fix_rfq import FixRfqPricer

T0 = calendar.timegm((2024, 7, 19, 0, 0, 0)) * 10**9   # midnight UTC; options of the 19th expire at 08:00


@pytest.fixture
def fix_pricer(cfg, book, pred):
    eng = QuotingEngine(cfg)
    eng.on_book("BTCUSDT", book(639_999, 640_001, ts_ns=T0), pred(ts_ns=T0), now_ns=T0)
    return FixRfqPricer(RfqPricer(cfg, eng))


def rq(**kw):
    base = {"quote_req_id": "R1", "symbol": "BTCUSDT", "counterparty": "CLIENT", "received_ns": T0,
            "order_qty": Decimal("0.5")}
    base.update(kw)
    return QuoteRequest(**base)


def test_option_by_fields_and_by_symbol_agree(fix_pricer):
    a = fix_pricer.price_rfq(rq(security_type="OPT", put_or_call=1, strike_price=Decimal(65000),
                                maturity_date="20240726"))
    b = fix_pricer.price_rfq(rq(symbol="BTC-240726-65000-C", quote_req_id="R2"))
    assert isinstance(a, QuoteDecision) and isinstance(b, QuoteDecision)
    assert (a.bid_px, a.offer_px) == (b.bid_px, b.offer_px)
    assert a.bid_px < a.offer_px and a.bid_px % 5 == 0 and a.offer_px % 5 == 0   # 5 USDT premium tick
    assert a.bid_size == a.offer_size == Decimal("0.50")
    assert a.valid_until_ns == T0 + 2_000_000_000 and "delta=" in a.text


def test_one_sided_option_request(fix_pricer):
    d = fix_pricer.price_rfq(rq(symbol="BTC-240726-60000-P", side="1"))   # client buys -> we offer
    assert d.bid_px is None and d.offer_px is not None and d.bid_size is None


def test_streaming_instrument_rfq_uses_the_live_quote(fix_pricer):
    d = fix_pricer.price_rfq(rq(order_qty=Decimal("0.005")))
    assert isinstance(d, QuoteDecision)
    assert d.bid_px == Decimal("63993.6") and d.offer_px == Decimal("64006.4")   # the 1 bp floor of conftest
    assert d.valid_until_ns == T0 + 1_000_000_000       # the prediction's horizon
    big = fix_pricer.price_rfq(rq(order_qty=Decimal("1")))
    assert isinstance(big, RejectDecision) and big.reason is QuoteRequestRejectReason.QUOTE_REQUEST_EXCEEDS_LIMIT


@pytest.mark.parametrize(("kw", "reason", "text"), [
    ({"symbol": "ETH-240726-3000-C"}, QuoteRequestRejectReason.UNKNOWN_SYMBOL, "BTCUSDT only"),
    ({"symbol": "XRPUSDT"}, QuoteRequestRejectReason.UNKNOWN_SYMBOL, "not quoted"),
    ({"security_type": "OPT"}, QuoteRequestRejectReason.OTHER, "PutOrCall"),
    ({"symbol": "BTC-241399-65000-C"}, QuoteRequestRejectReason.OTHER, "bad maturity"),
    ({"symbol": "BTC-240719-65000-C", "received_ns": T0 + 8 * 3600 * 10**9 - 60 * 10**9},
     QuoteRequestRejectReason.TOO_LATE_TO_ENTER, "too_close_to_expiry"),
    ({"symbol": "BTC-240726-65000-C", "order_qty": Decimal("0.001")}, QuoteRequestRejectReason.OTHER, "qty_not_on_grid"),
    ({"order_qty": None}, QuoteRequestRejectReason.OTHER, "OrderQty"),
    ({"side": "7"}, QuoteRequestRejectReason.OTHER, "Side"),
])
def test_rejects(fix_pricer, kw, reason, text):
    d = fix_pricer.price_rfq(rq(**kw))
    assert isinstance(d, RejectDecision) and d.reason is reason and text in d.text
