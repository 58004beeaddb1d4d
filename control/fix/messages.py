"""FIX messages on top of ``simplefix.FixMessage``: building, encoding and parsing one frame.

``Message`` keeps simplefix's representation (``pairs`` of bytes tag and bytes value, so
``get()``, ``str()`` and ``encode()`` work) and adds the integer tags in wire order, which the
validator needs. Encoding writes the standard header in QuickFIX's order (8, 9, 35, then the other
header fields by tag number: 34, 43, 49, 52, 56, 122, ...), SendingTime with milliseconds, and
computes BodyLength and CheckSum in one pass; parsing honours length-prefixed data fields.
"""
from __future__ import annotations

import calendar
import re
import time
import zlib
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

import simplefix

from control.fix.dictionary import BEGIN_STRING, DATA_LENGTH_TAGS, HEADER_TAGS

SOH = b"\x01"
_BEGIN = b"8=" + BEGIN_STRING.encode() + SOH

Value = str | bytes | int | float | bool | Decimal | datetime


class GarbledMessage(ValueError):
    """A frame whose fields cannot be read (tag not a number, no '=', MsgType not third)."""


def fix_value(value: Value) -> bytes:
    """Wire form of a Python value: Y/N, integers, prices without exponent, UTC ms timestamps."""
    enc = _ENCODERS.get(type(value))
    if enc is not None:
        return enc(value)
    return _fix_value(value)


def _fix_value(value: Value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"Y" if value else b"N"
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"cannot encode {value} as a FIX number")
        text = f"{value:.10f}".rstrip("0")
        return (text[:-1] if text.endswith(".") else text).encode()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as a FIX number")
        return format(value, "f").encode()
    if isinstance(value, datetime):
        return utc_timestamp(int(value.timestamp() * 1000) * 1_000_000)
    raise TypeError(f"cannot encode {type(value).__name__} as a FIX value")


def _decimal(value: Decimal) -> bytes:
    if not value.is_finite():
        raise ValueError(f"cannot encode {value} as a FIX number")
    return format(value, "f").encode()


# exact types (subclasses such as enums take the isinstance chain of _fix_value)
_ENCODERS = {
    bytes: lambda v: v,
    str: str.encode,
    bool: lambda v: b"Y" if v else b"N",
    int: lambda v: b"%d" % v,
    Decimal: _decimal,
}
_TAG_BYTES = {t: b"%d" % t for t in range(1, 1000)}


_day_cache: tuple[int, bytes] = (-1, b"")
_ms_cache: tuple[int, bytes] = (-1, b"")
_TS = re.compile(rb"(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}|\d{6}|\d{9}))?")


def utc_timestamp(ns: int) -> bytes:
    """UTCTimestamp with milliseconds, ``YYYYMMDD-HH:MM:SS.sss``, from epoch nanoseconds. The date
    part is cached per UTC day, the whole stamp for the last millisecond (a Quote carries SendingTime
    and TransactTime of the same instant), and the time is integer arithmetic: strftime cost
    microseconds cold, twice per quote on the per-event path."""
    global _day_cache, _ms_cache
    ms = ns // 1_000_000
    if _ms_cache[0] == ms:
        return _ms_cache[1]
    sec, milli = divmod(ms, 1000)
    day, sod = divmod(sec, 86_400)
    if _day_cache[0] != day:
        _day_cache = (day, time.strftime("%Y%m%d-", time.gmtime(day * 86_400)).encode())
    hh, rem = divmod(sod, 3600)
    mm, ss = divmod(rem, 60)
    out = b"%s%02d:%02d:%02d.%03d" % (_day_cache[1], hh, mm, ss, milli)
    _ms_cache = (ms, out)
    return out


def parse_utc_timestamp(value: bytes) -> int:
    """Epoch nanoseconds of a UTCTimestamp (``YYYYMMDD-HH:MM:SS[.sss[sss[sss]]]``, leap second 60
    allowed); ValueError if it is not one."""
    m = _TS.fullmatch(value)
    if m is None:
        raise ValueError(f"not a UTCTimestamp: {value[:32]!r}")
    y, mo, d, hh, mi, ss = (int(g) for g in m.groups()[:6])
    date(y, mo, d)  # ValueError for 20250230 and the like
    if hh > 23 or mi > 59 or ss > 60:
        raise ValueError(f"time out of range in {value!r}")
    frac = m.group(7) or b""
    frac_ns = int((frac + b"000000000")[:9]) if frac else 0
    return calendar.timegm((y, mo, d, hh, mi, ss, 0, 0, 0)) * 1_000_000_000 + frac_ns


class Message(simplefix.FixMessage):
    """A FIX 4.4 message. Build with ``Message("S").add(131, "r1").add(117, "q1")``."""

    def __init__(self, msg_type: str | bytes | None = None) -> None:
        super().__init__()
        self.begin_string = BEGIN_STRING.encode()
        self.tags: list[int] = []
        if msg_type is not None:
            self.message_type = fix_value(msg_type)

    @property
    def msg_type(self) -> str:
        return self.message_type.decode("latin-1") if self.message_type else ""

    def add(self, tag: int, value: Value | None) -> Message:
        """Append one field (skipped when value is None) and return self for chaining."""
        if value is not None:
            enc = _ENCODERS.get(type(value))
            wire = enc(value) if enc is not None else _fix_value(value)
            self.pairs.append((_TAG_BYTES.get(tag) or b"%d" % tag, wire))
            self.tags.append(tag)
        return self

    def extend(self, fields: Iterable[tuple[int, Value | None]]) -> Message:
        for tag, value in fields:
            self.add(tag, value)
        return self

    def value(self, tag: int, default: bytes | None = None) -> bytes | None:
        """The first value of ``tag`` (bytes), or ``default``."""
        try:
            return self.pairs[self.tags.index(tag)][1]
        except ValueError:
            return default

    def text(self, tag: int, default: str | None = None) -> str | None:
        v = self.value(tag)
        return default if v is None else v.decode("latin-1")

    def as_int(self, tag: int, default: int | None = None) -> int | None:
        v = self.value(tag)
        return default if v is None else int(v)

    def fields(self) -> list[tuple[int, bytes]]:
        """(tag, value) pairs in wire order."""
        return [(t, p[1]) for t, p in zip(self.tags, self.pairs, strict=True)]

    def body_fields(self) -> list[tuple[int, bytes]]:
        """Fields other than the standard header and trailer, in order."""
        return [(t, v) for t, v in self.fields() if t not in HEADER_TAGS and t not in (93, 89, 10)]


def encode(msg_type: bytes, header: list[tuple[int, bytes]], body: Iterable[tuple[int, bytes]]) -> bytes:
    """Wire bytes: 8, 9, 35, ``header`` (already in order), ``body``, CheckSum."""
    parts = [b"%d=%s\x01" % (tag, value) for tag, value in header]
    parts += [b"%d=%s\x01" % (tag, value) for tag, value in body]
    return frame(msg_type, b"".join(parts))


def frame(msg_type: bytes, fields: bytes) -> bytes:
    """Wire bytes of a message whose fields after MsgType (header, then body) are already encoded:
    BeginString, BodyLength, MsgType, the fields, CheckSum."""
    payload = b"35=%s\x01%s" % (msg_type, fields)
    msg = b"%s9=%d\x01%s" % (_BEGIN, len(payload), payload)
    return b"%s10=%03d\x01" % (msg, byte_sum(msg) & 0xFF)


def byte_sum(data: bytes) -> int:
    """sum(data), through zlib's Adler-32 (its low half is 1 + the byte sum mod 65521, exact for up
    to 256 bytes a block)."""
    n = len(data)
    if n <= 256:
        return (zlib.adler32(data) & 0xFFFF) - 1
    view = memoryview(data)
    return sum((zlib.adler32(view[i:i + 256]) & 0xFFFF) - 1 for i in range(0, n, 256))


_NOT_BODY = HEADER_TAGS | {93, 89, 10}


def encode_message(msg: Message, header: list[tuple[int, bytes]]) -> bytes:
    """Encode ``msg``'s body fields after the given ordered header fields."""
    if not msg.message_type:
        raise ValueError("message has no MsgType(35)")
    return encode(msg.message_type, header,
                  [(t, p[1]) for t, p in zip(msg.tags, msg.pairs, strict=True) if t not in _NOT_BODY])


_DATA_MARKERS = tuple(b"\x01%d=" % t for t in DATA_LENGTH_TAGS)


def parse(raw: bytes) -> Message:
    """Parse one framed message (as produced by :class:`~control.fix.framing.Framer`).

    Raises GarbledMessage when a field is not ``tag=value`` with a numeric tag, or when MsgType is
    not the third field. Everything else (unknown tags, empty values, duplicates) is left for the
    validator, which answers with the right SessionRejectReason.
    """
    if raw.endswith(SOH) and not any(m in raw for m in _DATA_MARKERS):
        msg = _split_fields(raw)
    else:
        msg = _scan_fields(raw)
    tags, pairs = msg.tags, msg.pairs
    if len(tags) < 4 or tags[0] != 8 or tags[1] != 9 or tags[2] != 35:
        raise GarbledMessage("BeginString(8), BodyLength(9), MsgType(35) are not the first three fields")
    msg.begin_string = pairs[0][1]
    msg.message_type = pairs[2][1]
    return msg


def _tag(tag_b: bytes) -> int:
    if tag_b.isdigit() and len(tag_b) <= 9:
        return int(tag_b)
    if tag_b.startswith(b"-") and tag_b[1:].isdigit() and len(tag_b) <= 10:
        return -int(tag_b[1:])  # negative tag: readable, rejected as invalid tag number (0)
    raise GarbledMessage(f"tag {tag_b[:20]!r} is not a number")


def _split_fields(raw: bytes) -> Message:
    """Fast path: no length-prefixed data field, so SOH always ends a field."""
    msg = Message()
    pairs, tags = msg.pairs, msg.tags
    for fld in raw[:-1].split(SOH):
        tag_b, eq, value = fld.partition(b"=")
        if not eq:
            raise GarbledMessage(f"field {fld[:20]!r} without '='")
        tags.append(_tag(tag_b))
        pairs.append((tag_b, value))
    return msg


def _scan_fields(raw: bytes) -> Message:
    """General path: honours Length fields before data fields whose values may contain SOH."""
    msg = Message()
    pairs = msg.pairs
    tags = msg.tags
    n = len(raw)
    i = 0
    data_len = -1
    data_tag = -1
    while i < n:
        eq = raw.find(b"=", i)
        if eq < 0:
            raise GarbledMessage(f"field without '=' at byte {i}")
        tag_b = raw[i:eq]
        tag = _tag(tag_b)
        if tag == data_tag and data_len >= 0:
            end = eq + 1 + data_len
            if end >= n or raw[end] != 1:
                raise GarbledMessage(f"data field {tag} shorter than its length field")
        else:
            end = raw.find(SOH, eq + 1)
            if end < 0:
                raise GarbledMessage("last field not terminated by SOH")
        value = raw[eq + 1:end]
        pairs.append((tag_b, value))
        tags.append(tag)
        if tag in DATA_LENGTH_TAGS and value.isdigit():
            data_tag, data_len = DATA_LENGTH_TAGS[tag], int(value)
        else:
            data_tag, data_len = -1, -1
        i = end + 1
    return msg
