"""Our acceptor and our initiator over real asyncio TCP on 127.0.0.1 (port 0), real FIX bytes."""
from __future__ import annotations

import asyncio
from decimal import Decimal

from control.fix.acceptor import Acceptor, AcceptorApp, AcceptorConfig, Counterparty
from control.fix.framing import Frame, Framer
from control.fix.initiator import InitiatorApp, LogonFailed, QuoteStreamer
from control.fix.interface import (
    QuoteDecision,
    QuoteRequest,
    QuoteRequestRejectReason,
    RejectDecision,
)
from control.fix.loopback import synthetic_events
from control.fix.messages import Message, encode, parse, utc_timestamp
from control.fix.quotes import QuoteWriter
from control.fix.runner import SessionRunner
from control.fix.session import Role, Session, SessionConfig, SystemClock
from control.fix.store import MemoryStore
from control.fix.transport import connect_tcp

TIMEOUT = 20.0


class TablePricer:
    """A concrete pricer for tests: fixed two-sided prices per known symbol."""

    def __init__(self, clock: SystemClock) -> None:
        self.clock = clock
        self.book = {"BTC-27DEC26-100000-C": (Decimal("1500"), Decimal("1550"))}
        self.requests: list[QuoteRequest] = []

    def price_rfq(self, request: QuoteRequest) -> QuoteDecision | RejectDecision:
        self.requests.append(request)
        if request.symbol not in self.book:
            return RejectDecision(QuoteRequestRejectReason.UNKNOWN_SYMBOL, f"unknown symbol {request.symbol}")
        bid, ask = self.book[request.symbol]
        return QuoteDecision(f"Q-{len(self.requests)}", self.clock.time_ns() + 5_000_000_000, bid, ask,
                             request.order_qty, request.order_qty, text="table price")


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


def acceptor(clock, *, pricer=None, venue=False, password=None) -> Acceptor:
    cfg = AcceptorConfig("DESK", (Counterparty("CLIENT", password), Counterparty("QG")))
    return Acceptor(cfg, AcceptorApp(clock, pricer=pricer, venue=venue), clock)


def test_initiator_streams_to_our_acceptor_as_venue():
    async def main():
        clock = SystemClock()
        venue = acceptor(clock, venue=True)
        port = await venue.start()
        session = Session(SessionConfig("QG", "DESK", Role.INITIATOR, heartbeat_interval_s=5), MemoryStore(), clock)
        streamer = QuoteStreamer(session, QuoteWriter())
        reason = await asyncio.wait_for(
            streamer.run(await connect_tcp("127.0.0.1", port), synthetic_events(120)), TIMEOUT)
        await venue.stop()
        return venue, streamer, reason

    venue, streamer, reason = asyncio.run(main())
    got = venue.app.received
    assert len(got) == 120 and reason.startswith("Logout received")
    assert [r.seq for r in got] == list(range(2, 122))            # no gap, no duplicate
    assert {r.msg_type for r in got} == {"S", "i", "Z"} and not any(r.poss_dup for r in got)
    n_mass = sum(r.msg_type == "i" for r in got)
    assert len(streamer.app.acks) == n_mass and all(a.value(297) == b"0" for a in streamer.app.acks)
    assert streamer.app.rejects == []


def test_rfq_quote_and_reject_over_tcp():
    async def main():
        clock = SystemClock()
        pricer = TablePricer(clock)
        desk = acceptor(clock, pricer=pricer, password="pw")
        port = await desk.start()
        rec = Recorder()
        session = Session(SessionConfig("CLIENT", "DESK", Role.INITIATOR, password="pw"), MemoryStore(), clock)
        runner = SessionRunner(session, await connect_tcp("127.0.0.1", port), rec)
        task = asyncio.create_task(runner.run())
        await asyncio.wait_for(runner.logged_on.wait(), TIMEOUT)
        for rid, sym in (("RFQ-1", "BTC-27DEC26-100000-C"), ("RFQ-2", "DOGE-1")):
            rec.got.clear()
            await runner.send(Message("R").add(131, rid).add(146, 1).add(55, sym).add(167, "OPT")
                              .add(201, 1).add(202, 100000).add(54, "1").add(38, 2))
            await asyncio.wait_for(rec.got.wait(), TIMEOUT)
        await runner.logout("done")
        await asyncio.wait_for(task, TIMEOUT)
        await desk.stop()
        return rec.messages, pricer

    msgs, pricer = asyncio.run(main())
    quote, reject = msgs
    assert quote.msg_type == "S" and quote.value(131) == b"RFQ-1" and quote.value(117) == b"Q-1"
    assert (quote.value(132), quote.value(133), quote.value(135)) == (b"1500", b"1550", b"2")
    assert quote.value(62) > quote.value(52)  # ValidUntilTime after SendingTime
    assert reject.msg_type == "AG" and reject.value(131) == b"RFQ-2" and reject.value(658) == b"1"
    assert reject.text(58) == "unknown symbol DOGE-1"
    assert pricer.requests[0].strike_price == Decimal(100000) and pricer.requests[0].put_or_call == 1


async def _raw_logon(port: int, sender: bytes, password: bytes | None) -> list[Message]:
    t = await connect_tcp("127.0.0.1", port)
    body = [(98, b"0"), (108, b"30")] + ([(554, password)] if password else [])
    header = [(34, b"1"), (49, sender), (52, utc_timestamp(SystemClock().time_ns())), (56, b"DESK")]
    t.write(encode(b"A", header, body))
    await t.drain()
    data = b""
    while chunk := await asyncio.wait_for(t.read(), TIMEOUT):
        data += chunk
    t.close()
    return [parse(f.raw) for f in Framer().feed(data) if isinstance(f, Frame)]


def test_unknown_compid_and_bad_password_refused_with_logout_text():
    async def main():
        clock = SystemClock()
        desk = acceptor(clock, pricer=TablePricer(clock), password="pw")
        port = await desk.start()
        unknown = await _raw_logon(port, b"STRANGER", None)
        bad_pw = await _raw_logon(port, b"CLIENT", b"nope")
        await desk.stop()
        return unknown, bad_pw

    unknown, bad_pw = asyncio.run(main())
    assert [m.msg_type for m in unknown] == ["5"] and "unknown CompID" in unknown[0].text(58)
    assert unknown[0].value(56) == b"STRANGER"
    assert [m.msg_type for m in bad_pw] == ["5"] and "Password" in bad_pw[0].text(58)


def test_initiator_logon_refused_raises():
    async def main():
        clock = SystemClock()
        desk = acceptor(clock)
        port = await desk.start()
        session = Session(SessionConfig("NOBODY", "DESK", Role.INITIATOR), MemoryStore(), clock)
        try:
            await asyncio.wait_for(QuoteStreamer(session, QuoteWriter(), InitiatorApp()).run(
                await connect_tcp("127.0.0.1", port), synthetic_events(1)), TIMEOUT)
        except LogonFailed as exc:
            return str(exc)
        finally:
            await desk.stop()
        return ""

    assert "unknown CompID" in asyncio.run(main())


class BuggyPricer(TablePricer):
    """Returns an answer that cannot be encoded for one symbol (an application bug)."""

    def price_rfq(self, request):
        d = super().price_rfq(request)
        if request.symbol == "BTC-27DEC26-100000-C" and len(self.requests) == 1:
            return QuoteDecision("Q-bad", d.valid_until_ns, d.bid_px, d.offer_px, text="bad\x01text")
        return d


def test_invalid_application_answer_is_dropped_and_the_session_survives():
    async def main():
        clock = SystemClock()
        desk = acceptor(clock, pricer=BuggyPricer(clock))
        port = await desk.start()
        rec = Recorder()
        session = Session(SessionConfig("CLIENT", "DESK", Role.INITIATOR), MemoryStore(), clock)
        runner = SessionRunner(session, await connect_tcp("127.0.0.1", port), rec)
        task = asyncio.create_task(runner.run())
        await asyncio.wait_for(runner.logged_on.wait(), TIMEOUT)
        for rid in ("RFQ-1", "RFQ-2"):
            await runner.send(Message("R").add(131, rid).add(146, 1).add(55, "BTC-27DEC26-100000-C"))
        await asyncio.wait_for(rec.got.wait(), TIMEOUT)
        await runner.logout()
        await asyncio.wait_for(task, TIMEOUT)
        await desk.stop()
        return rec.messages, desk

    msgs, desk = asyncio.run(main())
    assert [(m.msg_type, m.value(131)) for m in msgs] == [("S", b"RFQ-2")]
    assert desk.runners[0].disconnect_reason.startswith("Logout received")


def test_initiator_reconnects_after_the_venue_drops_the_connection():
    async def main():
        clock = SystemClock()
        venue = acceptor(clock, venue=True)
        port = await venue.start()
        store = MemoryStore()
        session = Session(SessionConfig("QG", "DESK", Role.INITIATOR), store, clock)
        streamer = QuoteStreamer(session, QuoteWriter())

        async def connect():
            return await connect_tcp("127.0.0.1", port)

        async def dropper():
            while len(venue.app.received) < 30:
                await asyncio.sleep(0.005)
            venue.runners[0].transport.close()   # the venue cuts the TCP connection

        drop = asyncio.create_task(dropper())
        reason = await asyncio.wait_for(
            streamer.run_reconnecting(connect, synthetic_events(80, 0.002), retry_s=0.05), TIMEOUT)
        await drop
        await venue.stop()
        return venue, streamer, store, reason

    venue, streamer, store, reason = asyncio.run(main())
    assert reason.startswith("Logout received") and len(venue.runners) == 2
    assert streamer.sent_events == 80
    fresh = [r.seq for r in venue.app.received if not r.poss_dup]
    assert fresh == sorted(set(fresh))                     # no number used twice
    assert venue.directory.store("QG").next_target_seq() == store.next_sender_seq()   # no gap
    ids = {r.quote_id for r in venue.app.received}
    assert len(ids) >= 80                                   # every event reached the venue
