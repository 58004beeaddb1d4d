"""Fuzzed inbound bytes: arbitrary bytes and mutated valid messages never raise out of the session,
every byte we send back is a valid FIX 4.4 message, and garbled input consumes no sequence number."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control.fix.framing import Frame, Framer
from control.fix.messages import GarbledMessage, encode, parse, utc_timestamp
from control.fix.session import Role, Send, Session, SessionConfig, SessionState
from control.fix.store import MemoryStore
from control.fix.validation import InvalidMessage, UnsupportedMessageType, validate

T0 = 1_764_150_000_000_000_000
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Clock:
    def __init__(self) -> None:
        self.ns = T0

    def time_ns(self) -> int:
        return self.ns


def raw(msg_type: bytes, seq: int, body: list[tuple[int, bytes]], sender: bytes = b"CLIENT") -> bytes:
    header = [(34, b"%d" % seq), (49, sender), (52, utc_timestamp(T0)), (56, b"DESK")]
    return encode(msg_type, header, body)


LOGON = raw(b"A", 1, [(98, b"0"), (108, b"30")])
VALID = [
    raw(b"R", 2, [(131, b"r1"), (146, b"1"), (55, b"BTC-27DEC26-100000-C"), (54, b"1"), (38, b"1")]),
    raw(b"1", 3, [(112, b"T")]),
    raw(b"i", 4, [(117, b"q"), (296, b"1"), (302, b"1"), (304, b"2"), (295, b"2"), (299, b"1"), (55, b"A"),
                  (132, b"1.5"), (299, b"2"), (55, b"B"), (133, b"2.5")]),
    raw(b"2", 5, [(7, b"1"), (16, b"0")]),
    raw(b"4", 6, [(123, b"Y"), (36, b"9")]),
    raw(b"0", 9, []),
    raw(b"5", 10, [(58, b"bye")]),
]


def new_session(logged_on: bool) -> tuple[Session, list[bytes]]:
    s = Session(SessionConfig("DESK", "CLIENT", Role.ACCEPTOR), MemoryStore(), Clock())
    s.connection_made()
    out: list[bytes] = []
    if logged_on:
        out += [a.data for a in s.data_received(LOGON) if isinstance(a, Send)]
        assert s.state is SessionState.ACTIVE
    return s, out


def run(s: Session, chunks: list[bytes]) -> list[bytes]:
    out = []
    for c in chunks:
        acts = s.data_received(c)
        while s.pending:
            acts += s.data_received(b"")
        out += [a.data for a in acts if isinstance(a, Send)]
        s.tick()
    return out


def assert_all_valid(sent: list[bytes]) -> None:
    for data in sent:
        (frame,) = Framer().feed(data)
        assert isinstance(frame, Frame)
        validate(parse(frame.raw))


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False) if b > a]


@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_arbitrary_bytes_never_raise(data, logged_on):
    s, _ = new_session(logged_on)
    seq_before = s.next_target_seq
    sent = run(s, [data])
    assert_all_valid(sent)
    assert s.next_target_seq >= seq_before


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([b"", raw(b"A", 1, [(98, b"0"), (108, b"30")], sender=b"VENUE")]))
def test_initiator_waiting_for_logon_never_raises(data, prefix):
    s = Session(SessionConfig("DESK", "VENUE", Role.INITIATOR), MemoryStore(), Clock())
    s.connection_made()
    assert_all_valid(run(s, [prefix + data]))


@st.composite
def mutated_stream(draw):
    msgs = list(VALID)
    i = draw(st.integers(0, len(msgs) - 1))
    target = bytearray(msgs[i])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "dup_field", "swap_fields", "value"]))
        pos = draw(st.integers(0, max(len(target) - 1, 0)))
        if kind == "flip" and target:
            target[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            target[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and target:
            del target[pos:pos + draw(st.integers(1, 8))]
        else:
            fields = bytes(target).split(b"\x01")
            j = draw(st.integers(0, max(len(fields) - 2, 0)))
            if kind == "dup_field":
                fields.insert(j, fields[j])
            elif kind == "swap_fields" and len(fields) > 2:
                k = draw(st.integers(0, len(fields) - 2))
                fields[j], fields[k] = fields[k], fields[j]
            elif kind == "value" and b"=" in fields[j]:
                tag = fields[j].split(b"=", 1)[0]
                fields[j] = tag + b"=" + draw(st.sampled_from(
                    [b"", b"-1", b"Y", b"abc", b"99999999999", b"20251301-00:00:00", b"1.5.5", b"\xff"]))
            target = bytearray(b"\x01".join(fields))
    if draw(st.booleans()):
        # keep BodyLength/CheckSum right so the mutation reaches the validator, not just the framer
        try:
            m = parse(bytes(target))
            f = m.fields()
            body = [(t, v) for t, v in f[3:] if t != 10]
            target = bytearray(encode(m.message_type, [], body))
        except (GarbledMessage, ValueError):
            pass
    msgs[i] = bytes(target)
    data = b"".join(msgs)
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=6))
    return chunked(data, cuts)


@FUZZ
@given(mutated_stream())
def test_mutated_valid_messages_never_raise(chunks):
    s, _ = new_session(True)
    sent = run(s, chunks)
    assert_all_valid(sent)
    assert s.state in (SessionState.ACTIVE, SessionState.DISCONNECTED, SessionState.LOGOUT_SENT)


@FUZZ
@given(st.lists(st.tuples(st.integers(-5, 10_000), st.binary(max_size=12)), max_size=30),
       st.sampled_from([b"0", b"A", b"R", b"S", b"i", b"b", b"Z", b"AG", b"D", b"8", b"V", b"QQ"]))
def test_validator_raises_only_its_own_errors(fields, msg_type):
    header = [(34, b"2"), (49, b"A"), (52, utc_timestamp(T0)), (56, b"B")]
    body = [(t, v.replace(b"\x01", b"")) for t, v in fields]
    try:
        m = parse(encode(msg_type, header, body))
    except GarbledMessage:
        return
    try:
        validate(m)
    except (InvalidMessage, UnsupportedMessageType):
        pass


@FUZZ
@given(st.binary(max_size=300).filter(lambda b: b"8=" not in b))
def test_framer_resyncs_after_junk(junk):
    good = VALID[1]
    items = Framer().feed(junk + b"\x01" + good)
    assert isinstance(items[-1], Frame) and items[-1].raw == good
