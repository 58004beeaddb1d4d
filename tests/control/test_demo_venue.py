"""stream_to_venue: a real TCP FIX 4.4 session on 127.0.0.1 to our acceptor in venue role; the venue's
record matches what we sent, and FixOutcome.check names any difference."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from control.demo.venue import FixOutcome, stream_to_venue
from control.fix.interface import InstrumentQuote, Pull, QuoteUpdate


async def _events(n: int):
    for k in range(n):
        if k % 7 == 6:
            yield Pull(("BTCUSDT",), reason="test pull")
        else:
            px = Decimal(64000 + k)
            yield QuoteUpdate(
                (InstrumentQuote("BTCUSDT", px - Decimal("0.1"), px + Decimal("0.1"), Decimal("1"), Decimal("1")),),
                reason="test",
            )


def test_venue_receives_every_quote_in_sequence():
    ports = []
    out = asyncio.run(stream_to_venue(_events(40), on_listen=lambda h, p: ports.append((h, p))))
    assert ports == [("127.0.0.1", out.port)]
    assert out.ok, out.check()
    assert out.events_sent == 40
    assert out.by_type_sent == {"S": 35, "Z": 5} == out.by_type_received
    seqs = [s for s, _ in out.app_received]
    assert seqs == list(range(2, 42))  # 1 is the Logon; then one message per event, no gap
    assert out.sent[0][1] == "A" and out.sent[-1][1] == "5"  # Logon first, Logout last
    assert out.seq_contiguous and out.venue_next_expected == out.initiator_next_seq
    d = out.as_dict()
    assert d["messages_sent"] == d["messages_received_by_venue"] == 40 and d["first_seq"] == 2


def test_check_names_a_lost_message_and_a_gap():
    sent = [(1, "A"), (2, "S"), (3, "S"), (4, "5")]
    ok = FixOutcome("127.0.0.1", 1, "logout", sent, [(2, "S", False), (3, "S", False)], 5, 5)
    assert ok.ok
    lost = FixOutcome("127.0.0.1", 1, "logout", sent, [(2, "S", False)], 5, 3)
    problems = lost.check()
    assert any("received 1 quote messages, we sent 2" in p for p in problems)
    assert any("not contiguous" in p for p in problems)
    dup = FixOutcome("127.0.0.1", 1, "logout", sent, [(2, "S", False), (3, "S", True)], 5, 5)
    assert dup.check() == ["the venue saw resent (PossDup) messages"]
