"""Cut a TCP byte stream into FIX messages by BodyLength and check their CheckSum.

simplefix frames on the first ``10=`` it meets and never checks BodyLength or CheckSum, so this is
done here. A message is *garbled* (FIX 4.4 Volume 2, "Garbled messages"; session test cases 2.d,
2.i, 2.m and 3) when BeginString is not the first field, BodyLength is not the second or does not
match, or the CheckSum is missing, misplaced or wrong. Garbled messages are reported and dropped;
the session does not consume a sequence number for them and keeps running.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

SOH = b"\x01"
_HEAD = re.compile(rb"8=([^\x01=]{1,16})\x019=(\d{1,9})\x01")
_TRAILER_THEN_NEXT = re.compile(rb"\x0110=\d{3}\x01(?=8=)")
_TRAILER = re.compile(rb"\x0110=\d{3}\x01")
_NEXT_BEGIN = b"\x018="
_TRAILER_LEN = 7  # "10=ddd\x01"
_MAX_HEAD = 48    # longest "8=...\x019=...\x01" we wait for before calling the prefix garbage


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete message whose BodyLength and CheckSum are right."""

    raw: bytes


@dataclass(frozen=True, slots=True)
class Garbled:
    """Bytes dropped from the stream, and why."""

    reason: str
    raw: bytes


class Framer:
    """Incremental framer: ``feed(chunk)`` returns the frames and garbled spans completed by it."""

    def __init__(self, max_body_length: int = 1 << 20) -> None:
        self.max_body_length = max_body_length
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | Garbled]:
        self._buf += data
        out: list[Frame | Garbled] = []
        while self._buf:
            item = self._next()
            if item is None:
                break
            out.append(item)
        return out

    def _drop(self, n: int, reason: str) -> Garbled:
        raw = bytes(self._buf[:n])
        del self._buf[:n]
        log.warning("garbled FIX input dropped (%s): %d bytes", reason, len(raw))
        return Garbled(reason, raw)

    def _resync(self, reason: str) -> Garbled | None:
        """Drop up to the next field that starts a message, or everything if there is none yet."""
        nxt = self._buf.find(_NEXT_BEGIN, 1 if self._buf.startswith(b"8=") else 0)
        if nxt >= 0:
            return self._drop(nxt + 1, reason)
        # Keep a trailing SOH: the next chunk may start with "8=".
        keep = 1 if self._buf.endswith(SOH) else 0
        return self._drop(len(self._buf) - keep, reason) if len(self._buf) > keep else None

    def _next(self) -> Frame | Garbled | None:
        buf = self._buf
        if not buf.startswith(b"8="):
            if buf == b"8"[: len(buf)]:
                return None
            return self._resync("data before BeginString(8)")
        m = _HEAD.match(buf)
        if m is None:
            if len(buf) < _MAX_HEAD and buf.count(SOH) < 2:
                return None  # header not complete yet
            return self._resync("BeginString(8) and BodyLength(9) are not the first two fields")
        body_len = int(m.group(2))
        if body_len > self.max_body_length:
            return self._resync(f"BodyLength(9)={body_len} exceeds {self.max_body_length}")
        end_body = m.end() + body_len
        total = end_body + _TRAILER_LEN
        if len(buf) < total:
            # A complete trailer followed by a new message inside the declared span means the
            # BodyLength is too large: do not wait for bytes that will never belong to this message.
            early = _TRAILER_THEN_NEXT.search(buf, m.end())
            if early is not None:
                return self._drop(early.end(), "BodyLength(9) larger than the message")
            return None
        trailer = bytes(buf[end_body:total])
        if not (buf[end_body - 1] == 1 and trailer[:3] == b"10=" and trailer[3:6].isdigit()
                and trailer[6] == 1):
            real = _TRAILER.search(buf, m.end())
            if real is not None and real.end() <= total:
                return self._drop(real.end(), "BodyLength(9) does not match the message")
            return self._resync("BodyLength(9) does not match the message")
        checksum = sum(buf[:end_body]) & 0xFF
        if checksum != int(trailer[3:6]):
            return self._drop(total, f"CheckSum(10) {trailer[3:6].decode()} != computed {checksum:03d}")
        raw = bytes(buf[:total])
        del buf[:total]
        return Frame(raw)
