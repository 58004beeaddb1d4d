"""Framing by BodyLength and CheckSum; encode/parse round trips against simplefix."""
from __future__ import annotations

import time

import pytest
import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from control.fix.framing import Frame, Framer, Garbled
from control.fix.messages import GarbledMessage, Message, encode, parse, utc_timestamp

HDR = [(34, b"7"), (49, b"A"), (52, utc_timestamp(1_764_150_000_123_000_000)), (56, b"B")]


def quote(qid: bytes = b"q1") -> bytes:
    return encode(b"S", HDR, [(117, qid), (55, b"BTCUSDT"), (132, b"64000.5"), (133, b"64001")])


def test_encode_matches_simplefix():
    ref = simplefix.FixMessage()
    ref.append_pair(8, "FIX.4.4")
    ref.append_pair(35, "S")
    for t, v in HDR + [(117, b"q1"), (55, b"BTCUSDT"), (132, b"64000.5"), (133, b"64001")]:
        ref.append_pair(t, v)
    assert ref.encode() == quote()


def test_header_order_and_millisecond_sending_time():
    m = parse(quote())
    assert [t for t, _ in m.fields()][:7] == [8, 9, 35, 34, 49, 52, 56]
    assert m.value(52) == b"20251126-09:40:00.123"


def test_frames_split_anywhere():
    data = quote(b"a") + quote(b"b") + quote(b"c")
    for cut in range(1, len(data)):
        f = Framer()
        items = f.feed(data[:cut]) + f.feed(data[cut:])
        assert [parse(i.raw).value(117) for i in items] == [b"a", b"b", b"c"]
        assert f.pending == 0


def test_bad_checksum_dropped_next_message_kept():
    bad = quote(b"a")[:-4] + b"000\x01"
    items = Framer().feed(bad + quote(b"b"))
    assert isinstance(items[0], Garbled) and "CheckSum" in items[0].reason
    assert isinstance(items[1], Frame) and parse(items[1].raw).value(117) == b"b"


@pytest.mark.parametrize("delta", [-5, -1, 1, 5])
def test_wrong_body_length_dropped_next_message_kept(delta):
    good = quote(b"a")
    n = int(good.split(b"\x019=")[1].split(b"\x01")[0])
    bad = good.replace(b"9=%d" % n, b"9=%d" % (n + delta), 1)
    items = Framer().feed(bad + quote(b"b"))
    frames = [i for i in items if isinstance(i, Frame)]
    assert any(isinstance(i, Garbled) for i in items)
    assert [parse(f.raw).value(117) for f in frames] == [b"b"]


def test_junk_before_begin_string_dropped():
    items = Framer().feed(b"garbage\x01more=1\x01" + quote())
    assert isinstance(items[0], Garbled) and isinstance(items[-1], Frame)


def test_huge_body_length_rejected_without_waiting():
    items = Framer(max_body_length=4096).feed(b"8=FIX.4.4\x019=99999999\x0135=0\x01" + quote())
    assert isinstance(items[0], Garbled) and isinstance(items[-1], Frame)


def test_parse_garbled_fields():
    with pytest.raises(GarbledMessage):
        parse(b"8=FIX.4.4\x019=5\x01abc=1\x0110=000\x01")
    with pytest.raises(GarbledMessage):
        parse(b"8=FIX.4.4\x019=5\x0134=1\x0135=0\x0110=000\x01")  # MsgType not third


def test_data_field_may_contain_soh():
    body = [(98, b"0"), (108, b"30"), (95, b"5"), (96, b"a\x01b=c")]
    raw = encode(b"A", HDR, body)
    (frame,) = Framer().feed(raw)
    assert parse(frame.raw).value(96) == b"a\x01b=c"


def test_message_builder_values():
    m = Message("S").add(132, 64000.50).add(133, 1e-7).add(141, True).add(38, 3).add(58, None)
    assert m.fields() == [(132, b"64000.5"), (133, b"0.0000001"), (141, b"Y"), (38, b"3")]
    with pytest.raises(ValueError):
        Message("S").add(132, float("nan"))


@settings(max_examples=2000, deadline=None)
@given(ns=st.integers(0, 4_102_444_800 * 10**9 - 1))   # 1970 .. 2099
def test_utc_timestamp_equals_strftime(ns: int) -> None:
    """The cached-day arithmetic formatter against the library: same bytes at every instant."""
    sec, rem = divmod(ns, 10**9)
    want = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(sec)).encode() + b".%03d" % (rem // 10**6)
    assert utc_timestamp(ns) == want
