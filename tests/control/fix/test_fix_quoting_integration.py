"""The FIX layer with the real quoting engine (control/quoting): an options RFQ priced by Black-76
through control.quoting.fix_rfq.FixRfqPricer (our QuotePricer interface), answered over real TCP,
and engine decisions streamed as Quote / MassQuote / QuoteCancel."""
from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

fix_rfq = pytest.importorskip("control.quoting.fix_rfq")

from control.fix.acceptor import Acceptor, AcceptorApp, AcceptorConfig, Counterparty  # noqa: E402
from control.fix.messages import Message, encode, parse, utc_timestamp  # noqa: E402
from control.fix.quotes import QuoteWriter, events_from_decisions  # noqa: E402
from control.fix.runner import SessionRunner  # noqa: E402
from control.fix.session import Role, Session, SessionConfig  # noqa: E402
from control.fix.store import MemoryStore  # noqa: E402
from control.fix.transport import connect_tcp  # noqa: E402
from control.fix.validation import validate  # noqa: E402
from control.prediction import Prediction  # noqa: E402
from control.quoting import QuotingEngine, RfqPricer, load_config  # noqa: E402
from models.record import FLAG_IN_SYNC, empty_records  # noqa: E402

T0 = 1_721_347_020_000_000_000   # 2024-07-19 00:37 UTC
SYM = "BTCUSDT"


class Clock:
    def __init__(self) -> None:
        self.ns = T0

    def time_ns(self) -> int:
        return self.ns


def book(bid: int, ask: int, flags: int = FLAG_IN_SYNC):
    r = empty_records(1)[0]
    r["seq"], r["ts_ns"], r["recv_ns"], r["flags"] = 1, T0, T0, flags
    r["bid_px"][0], r["ask_px"][0], r["bid_sz"][0], r["ask_sz"][0] = bid, ask, 5, 5
    return r


def pred(p_up: float = 0.0) -> Prediction:
    return Prediction(seq=1, ts_ns=T0, logits=(0, 0, 0, 0), p_up=p_up, p_down=0.0, p_withdraw=0.0,
                      horizon_ns=1_000_000_000, model_hash="test", backend="cpu")


@pytest.fixture
def engine():
    cfg = load_config()
    eng = QuotingEngine(cfg)
    return cfg, eng


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.got = asyncio.Event()

    def on_logon(self, session):
        return []

    def on_message(self, session, msg):
        self.messages.append(msg)
        self.got.set()
        return []

    def on_disconnect(self, session, reason):
        pass


def test_options_rfq_priced_by_the_real_engine_over_tcp(engine):
    cfg, eng = engine
    eng.on_book(SYM, book(639_999, 640_001), pred(), now_ns=T0)
    clock = Clock()   # the prediction's clock: the pricer sees received_ns = T0

    async def main():
        desk = Acceptor(AcceptorConfig("DESK", (Counterparty("CLIENT"),)),
                        AcceptorApp(clock, pricer=fix_rfq.FixRfqPricer(RfqPricer(cfg, eng))), clock)
        port = await desk.start()
        rec = Recorder()
        runner = SessionRunner(Session(SessionConfig("CLIENT", "DESK", Role.INITIATOR), MemoryStore(), clock),
                               await connect_tcp("127.0.0.1", port), rec)
        task = asyncio.create_task(runner.run())
        await asyncio.wait_for(runner.logged_on.wait(), 20)
        for rid, body in (("RFQ-7", [(55, SYM), (167, "OPT"), (541, "20240726"), (201, 1), (202, 65000),
                                     (54, "1"), (38, 1)]),
                          ("RFQ-8", [(55, "ETH-240726-3000-P"), (38, 1)])):
            rec.got.clear()
            await runner.send(Message("R").add(131, rid).add(146, 1).extend(body))
            await asyncio.wait_for(rec.got.wait(), 20)
        await runner.logout()
        await asyncio.wait_for(task, 20)
        await desk.stop()
        return rec.messages

    quote, reject = asyncio.run(main())
    validate(quote)
    validate(reject)
    assert quote.msg_type == "S" and quote.value(131) == b"RFQ-7"
    assert quote.value(132) is None and Decimal(quote.text(133)) > 0       # client buys: we offer only
    assert Decimal(quote.text(133)) % 5 == 0                                 # the 5 USDT premium tick
    assert quote.value(62) == utc_timestamp(T0 + cfg.options.validity_ns)
    assert quote.text(201) == "1" and quote.text(202) == "65000"             # instrument echoed
    assert reject.msg_type == "AG" and reject.value(131) == b"RFQ-8" and reject.value(658) == b"1"


def test_engine_decisions_stream_as_quote_massquote_and_cancel(engine):
    cfg, eng = engine
    d1 = eng.on_book(SYM, book(639_999, 640_001), pred(), now_ns=T0)
    (single,) = events_from_decisions([d1], cfg.instrument)
    w = QuoteWriter()
    (q,) = w.messages(single, T0)
    assert q.msg_type == "S" and q.text(55) == SYM
    assert Decimal(q.text(132)) == cfg.instrument(SYM).price(d1.bid.px)
    assert Decimal(q.text(135)) == cfg.instrument(SYM).qty(d1.ask.lots)
    pulled = eng.on_book(SYM, book(639_999, 640_001, flags=0), pred(), now_ns=T0 + 1)
    (pull,) = events_from_decisions([pulled], cfg.instrument)
    (cancel,) = w.messages(pull, T0)
    assert cancel.msg_type == "Z" and cancel.value(298) == b"1" and cancel.text(55) == SYM
    assert "book_out_of_sync" in cancel.text(58)
    # several instruments in one batch -> one MassQuote
    (mass,) = w.messages(events_from_decisions([d1, d1], cfg.instrument)[0], T0)
    assert mass.msg_type == "i" and mass.value(295) == b"2"
    for m in (q, cancel, mass):
        validate(parse(encode(m.message_type, [(34, b"5"), (49, b"QG"), (52, utc_timestamp(T0)), (56, b"V")],
                              m.fields())))
