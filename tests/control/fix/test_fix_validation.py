"""Dictionary validation of inbound and outbound messages (reasons as QuickFIX gives them)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from control.fix.dictionary import FIELDS, MESSAGES, FieldType, GroupDef
from control.fix.interface import (
    InstrumentQuote,
    Pull,
    QuoteDecision,
    QuoteRequest,
    QuoteRequestRejectReason,
    QuoteUpdate,
    RejectDecision,
)
from control.fix.messages import Message, encode, parse, utc_timestamp
from control.fix.quotes import QuoteWriter, rfq_answer
from control.fix.validation import InvalidMessage, SessionRejectReason, UnsupportedMessageType, validate

T = 1_764_150_000_000_000_000
HDR = [(34, b"2"), (49, b"A"), (52, utc_timestamp(T)), (56, b"B")]


def wire(msg: Message) -> Message:
    return parse(encode(msg.message_type, HDR, msg.fields()))


def reason_of(msg: Message) -> tuple[int, int | None]:
    with pytest.raises(InvalidMessage) as exc:
        validate(wire(msg))
    return int(exc.value.reason), exc.value.ref_tag


def test_dictionary_is_consistent():
    for mdef in MESSAGES.values():
        stack = list(mdef.members)
        while stack:
            m = stack.pop()
            if isinstance(m, GroupDef):
                assert FIELDS[m.count_tag].type is FieldType.UINT, m.count_tag
                stack.extend(m.members)
            else:
                assert m.tag in FIELDS


def test_all_admin_messages_validate():
    for mt, body in [("0", []), ("1", [(112, "x")]), ("2", [(7, 1), (16, 0)]),
                     ("3", [(45, 3), (371, 55), (372, "S"), (373, 5), (58, "t")]),
                     ("4", [(123, "Y"), (36, 9)]), ("5", [(58, "bye")]),
                     ("A", [(98, 0), (108, 30), (141, "Y"), (553, "u"), (554, "p")])]:
        validate(wire(Message(mt).extend(body)))


def test_mass_quote_and_ack_with_nested_groups():
    upd = QuoteUpdate(tuple(InstrumentQuote(s, Decimal(1), Decimal(2), Decimal(3), Decimal(4))
                            for s in ("A", "B", "C")))
    (mq,) = QuoteWriter().update(upd, T)
    validate(wire(mq))
    assert mq.value(304) == b"3" and mq.value(893) == b"Y"
    validate(wire(Message("b").add(117, "q").add(297, 0).add(296, 1).add(302, "1").add(295, 1).add(299, "1")
                  .add(55, "A").add(368, 1)))


def test_mass_quote_fragments():
    upd = QuoteUpdate(tuple(InstrumentQuote(f"S{i}", Decimal(1), Decimal(2)) for i in range(5)))
    msgs = QuoteWriter(max_entries=2).update(upd, T)
    assert [m.value(893) for m in msgs] == [b"N", b"N", b"Y"]
    assert [m.value(295) for m in msgs] == [b"2", b"2", b"1"]
    for m in msgs:
        validate(wire(m))


def test_quote_cancel_messages():
    w = QuoteWriter()
    for ev in (Pull(), Pull(("BTCUSDT", "ETHUSDT"), "stale prediction")):
        validate(wire(w.cancel(ev)))
    assert w.cancel(Pull()).value(298) == b"4"


def test_rfq_answers_validate():
    req = QuoteRequest("RFQ-9", "BTC-27DEC26-100000-C", "CLIENT", T, side="1", order_qty=Decimal("2"),
                       security_type="OPT", put_or_call=1, strike_price=Decimal(100000), maturity_date="20261227")
    q = rfq_answer(req, QuoteDecision("Q1", T + 5 * 10**9, Decimal("1500.5"), Decimal("1600"), text="b76"), T)
    validate(wire(q))
    assert q.value(131) == b"RFQ-9" and q.value(62) == utc_timestamp(T + 5 * 10**9)
    rej = rfq_answer(req, RejectDecision(QuoteRequestRejectReason.UNKNOWN_SYMBOL, "no such symbol"), T)
    validate(wire(rej))
    assert rej.value(658) == b"1" and rej.value(58) == b"no such symbol"


def test_new_order_single_and_execution_report():
    validate(wire(Message("D").add(11, "c1").add(55, "BTCUSDT").add(54, "1").add(60, utc_timestamp(T))
                  .add(38, 1).add(40, "2").add(44, "64000")))
    validate(wire(Message("8").add(37, "o1").add(11, "c1").add(17, "e1").add(150, "0").add(39, "0")
                  .add(55, "BTCUSDT").add(54, "1").add(151, 1).add(14, 0).add(6, 0)))


@pytest.mark.parametrize(("msg", "expected"), [
    (Message("D").add(11, "c1").add(55, "X").add(54, "1").add(38, 1).add(40, "2"), (1, 60)),
    (Message("D").add(11, "c1").add(55, "X").add(54, "Z").add(60, utc_timestamp(T)).add(40, "2"), (5, 54)),
    (Message("8").add(37, "o").add(17, "e").add(150, "0").add(39, "0").add(54, "1").add(151, "x")
     .add(14, 0).add(6, 0), (6, 151)),
    (Message("S").add(117, "q").add(43, "Y"), (14, 43)),
    (Message("S").add(117, "q").add(62, "20251131-00:00:00"), (6, 62)),
    (Message("A").add(98, 9).add(108, 30), (5, 98)),
    (Message("A").add(98, 0).add(108, "1.5"), (6, 108)),
    (Message("0").add(-5, "x"), (0, -5)),
    (Message("i").add(117, "q").add(296, 1).add(302, "s").add(304, 1).add(295, 1).add(55, "X"), (15, 55)),
    (Message("i").add(117, "q").add(296, 1).add(302, "s").add(304, 1).add(295, 1).add(299, "1")
     .add(132, "1").add(55, "X"), (15, 55)),
    (Message("i").add(117, "q").add(296, 1).add(302, "s").add(304, 1).add(295, 1).add(299, "1")
     .add(132, "bad"), (6, 132)),
    (Message("i").add(117, "q").add(296, 1).add(302, "s").add(304, 1).add(295, 2).add(299, "1"), (16, 295)),
    (Message("i").add(117, "q").add(296, 1).add(302, "s").add(295, 1).add(299, "1"), (1, 304)),
])
def test_reject_reasons(msg, expected):
    assert reason_of(msg) == expected


def test_unsupported_type_and_invalid_type():
    with pytest.raises(UnsupportedMessageType):
        validate(wire(Message("V").add(262, "x")))
    assert reason_of(Message("XX")) == (int(SessionRejectReason.INVALID_MSGTYPE), 35)


def test_trailer_order():
    raw = encode(b"0", HDR, [(93, b"1"), (89, b"x"), (112, b"t")])
    with pytest.raises(InvalidMessage) as exc:
        validate(parse(raw))
    assert exc.value.reason is SessionRejectReason.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER
