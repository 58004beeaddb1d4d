"""A single-instrument Quote (35=S) frame written in compiled code from integer ticks and lots.

The appliance's requote path, dry-run and benchmarked, encoded each Quote through Decimal prices,
Python byte formatting and zlib's checksum: ~3 us hot and 10-15 us in the middle of the event loop,
where that code is cold. `QuoteFrame` writes the same bytes as
`encode_message(QuoteWriter().update(...))` (header in QuickFIX order, prices as `Decimal(ticks) *
tick_size` formats them, BodyLength, CheckSum) in one numba call; tests/control/fix/test_quote_frame.py
holds it byte-identical to that general path on random and real quotes. It declines (returns None)
whatever it does not cover, and the caller takes the general path: a scale that is not a plain
decimal fraction, a negative price or size, a time outside years 1970-9999, a field too long.
"""
from __future__ import annotations

from decimal import Decimal

import numba
import numpy as np

from control.fix.dictionary import BEGIN_STRING

_BUF = 1024
_BODY_AT = 32   # the body is written from here; "8=FIX.4.4|9=nnnn|" goes right-aligned before it


@numba.njit(cache=True, nogil=True, inline="always")
def _put(out, p, src):
    for i in range(src.shape[0]):
        out[p + i] = src[i]
    return p + src.shape[0]


@numba.njit(cache=True, nogil=True, inline="always")
def _uint(out, p, v, width):
    """v >= 0 in decimal, zero-padded to at least `width` digits."""
    n = 1
    t = v
    while t >= 10:
        t //= 10
        n += 1
    if n < width:
        n = width
    for i in range(n - 1, -1, -1):
        out[p + i] = 48 + v % 10
        v //= 10
    return p + n


@numba.njit(cache=True, nogil=True, inline="always")
def _fixed(out, p, v, k):
    """v x 10**-k with exactly k decimals (what format(Decimal, "f") gives for that exponent)."""
    if k == 0:
        return _uint(out, p, v, 1)
    scale = 1
    for _ in range(k):
        scale *= 10
    p = _uint(out, p, v // scale, 1)
    out[p] = 46   # .
    return _uint(out, p + 1, v % scale, k)


@numba.njit(cache=True, nogil=True, inline="always")
def _tag(out, p, tag):
    p = _uint(out, p, tag, 1)
    out[p] = 61   # =
    return p + 1


@numba.njit(cache=True, nogil=True)
def _utc_ms(out, p, ms):
    """YYYYMMDD-HH:MM:SS.sss of epoch milliseconds >= 0 (civil-from-days, H. Hinnant)."""
    sec = ms // 1000
    days = sec // 86400
    sod = sec - days * 86400
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    p = _uint(out, p, y, 4)
    p = _uint(out, p, m, 2)
    p = _uint(out, p, d, 2)
    out[p] = 45   # -
    p = _uint(out, p + 1, sod // 3600, 2)
    out[p] = 58   # :
    p = _uint(out, p + 1, sod % 3600 // 60, 2)
    out[p] = 58
    p = _uint(out, p + 1, sod % 60, 2)
    out[p] = 46
    return _uint(out, p + 1, ms % 1000, 3)


NONE = -(1 << 62)        # an absent price, size or ValidUntilTime
_MAX_MS = 253402300800000   # 10000-01-01T00:00:00Z in ms: four-digit years only
_MAX_VALUE = 1 << 40


@numba.njit(cache=True, nogil=True, inline="always")
def _put_const(out, p, const, meta, k):
    for i in range(meta[k], meta[k + 1]):
        out[p] = const[i]
        p += 1
    return p


_i8 = numba.int64
_u8a = numba.uint8[::1]


# An explicit signature: a Python int beyond int64 (a time after 2262, a price of 2**63) is a
# TypeError at the call, never a silently wrapped value or a second compiled variant.
@numba.njit((_u8a, _u8a, numba.int64[::1], _u8a, _i8, _i8, _i8, _i8, _i8, _i8, _i8, _i8), cache=True, nogil=True)
def _quote(out, const, meta, reason, seq, now_ns, valid_ns, qid, bid_px, ask_px, bid_lots, ask_lots):
    """The frame into out[start:end]; returns (start, end), or (-1, -1) for a value it does not
    cover. const = BeginString field, sender, target, QuoteID prefix, symbol, back to back; meta =
    their offsets (6), then the price coefficient and decimals and the size coefficient and decimals.
    A price NONE: no such side (its size goes out as 0, as QuoteWriter does)."""
    if seq < 0 or qid < 0 or now_ns < 0 or now_ns // 1_000_000 >= _MAX_MS:
        return -1, -1
    if valid_ns != NONE and (valid_ns < 0 or valid_ns // 1_000_000 >= _MAX_MS):
        return -1, -1
    for px, lots in ((bid_px, bid_lots), (ask_px, ask_lots)):
        if px != NONE and not (0 <= px < _MAX_VALUE and 0 <= lots < _MAX_VALUE):
            return -1, -1
    now_ms = now_ns // 1_000_000
    pc, pk, sc, sk = meta[6], meta[7], meta[8], meta[9]
    p = _BODY_AT
    p = _tag(out, p, 35)
    out[p] = 83   # S
    out[p + 1] = 1
    p = _tag(out, p + 2, 34)
    p = _uint(out, p, seq, 1)
    out[p] = 1
    p = _tag(out, p + 1, 49)
    p = _put_const(out, p, const, meta, 1)
    out[p] = 1
    p = _tag(out, p + 1, 52)
    p = _utc_ms(out, p, now_ms)
    out[p] = 1
    p = _tag(out, p + 1, 56)
    p = _put_const(out, p, const, meta, 2)
    out[p] = 1
    p = _tag(out, p + 1, 117)
    p = _put_const(out, p, const, meta, 3)
    out[p] = 45   # -
    p = _uint(out, p + 1, qid, 1)
    out[p] = 1
    p = _tag(out, p + 1, 537)
    out[p] = 49   # 1
    out[p + 1] = 1
    p = _tag(out, p + 2, 55)
    p = _put_const(out, p, const, meta, 4)
    out[p] = 1
    p += 1
    if bid_px != NONE:
        p = _tag(out, p, 132)
        p = _fixed(out, p, bid_px * pc, pk)
        out[p] = 1
        p += 1
    if ask_px != NONE:
        p = _tag(out, p, 133)
        p = _fixed(out, p, ask_px * pc, pk)
        out[p] = 1
        p += 1
    p = _tag(out, p, 134)
    p = _fixed(out, p, bid_lots * sc, sk) if bid_px != NONE else _uint(out, p, 0, 1)
    out[p] = 1
    p = _tag(out, p + 1, 135)
    p = _fixed(out, p, ask_lots * sc, sk) if ask_px != NONE else _uint(out, p, 0, 1)
    out[p] = 1
    p += 1
    if valid_ns != NONE:
        p = _tag(out, p, 62)
        p = _utc_ms(out, p, valid_ns // 1_000_000)
        out[p] = 1
        p += 1
    p = _tag(out, p, 60)
    p = _utc_ms(out, p, now_ms)
    out[p] = 1
    p += 1
    if reason.shape[0] > 0:
        p = _tag(out, p, 58)
        p = _put(out, p, reason)
        out[p] = 1
        p += 1
    body_len = p - _BODY_AT
    # "8=FIX.4.4|9=<len>|" right-aligned before the body
    n = 1
    t = body_len
    while t >= 10:
        t //= 10
        n += 1
    start = _BODY_AT - (meta[1] - meta[0] + 2 + n + 1)
    q = _put_const(out, start, const, meta, 0)
    q = _tag(out, q, 9)
    q = _uint(out, q, body_len, 1)
    out[q] = 1
    cs = 0
    for i in range(start, p):
        cs += out[i]
    p = _tag(out, p, 10)
    p = _uint(out, p, cs & 0xFF, 3)
    out[p] = 1
    return start, p + 1


def _decimal_scale(step: Decimal) -> tuple[int, int] | None:
    """(coefficient, decimals) with step = coefficient x 10**-decimals, as Decimal keeps it; None
    when the exponent is positive or the step not finite and positive."""
    if not step.is_finite() or step <= 0:
        return None
    sign, digits, exp = step.as_tuple()
    coeff = int("".join(map(str, digits)))
    if exp > 0 or coeff >= 1 << 20:
        return None
    return coeff, -exp


class QuoteFrame:
    """Quote frames for one instrument between one sender and one target."""

    __slots__ = ("_out", "_const", "_meta", "_reasons")

    def __init__(self, symbol: str, tick_size: Decimal, lot_size: Decimal, sender: str, target: str,
                 qid_prefix: str) -> None:
        px, sz = _decimal_scale(tick_size), _decimal_scale(lot_size)
        if px is None or sz is None:
            raise ValueError(f"{symbol}: tick {tick_size} / lot {lot_size} are not plain decimal fractions")
        parts = [f"8={BEGIN_STRING}\x01".encode(), sender.encode(), target.encode(), qid_prefix.encode(),
                 symbol.encode()]
        offsets = np.cumsum([0] + [len(x) for x in parts]).tolist()
        self._out = np.zeros(_BUF, np.uint8)
        self._const = np.frombuffer(b"".join(parts), np.uint8).copy()
        self._meta = np.array([*offsets, px[0], px[1], sz[0], sz[1]], np.int64)
        self._reasons: dict[str, np.ndarray] = {}

    @classmethod
    def of(cls, symbol: str, tick_size: Decimal, lot_size: Decimal, sender: str, target: str,
           qid_prefix: str) -> QuoteFrame | None:
        """A writer, or None when the instrument's scale is not one it covers."""
        if len(symbol) + len(sender) + len(target) + len(qid_prefix) > 256:
            return None
        try:
            return cls(symbol, tick_size, lot_size, sender, target, qid_prefix)
        except ValueError:
            return None

    def quote(self, seq: int, now_ns: int, qid: int, bid_px: int | None, ask_px: int | None,
              bid_lots: int | None, ask_lots: int | None, reason: str = "",
              valid_until_ns: int | None = None) -> bytes | None:
        """The frame, or None when a value is outside what this writer covers (the caller encodes it
        on the general path). A side without a price goes out with size 0."""
        r = self._reasons.get(reason)
        if r is None:
            if len(reason) > 400 or len(self._reasons) > 4096:
                return None
            r = self._reasons[reason] = np.frombuffer(reason.encode(), np.uint8).copy()
        if (bid_px is not None and bid_lots is None) or (ask_px is not None and ask_lots is None):
            return None   # a priced side without a size: the general path leaves its size field out
        try:
            s, e = _quote(self._out, self._const, self._meta, r, seq, now_ns,
                          NONE if valid_until_ns is None else valid_until_ns, qid,
                          NONE if bid_px is None else bid_px, NONE if ask_px is None else ask_px,
                          0 if bid_lots is None else bid_lots, 0 if ask_lots is None else ask_lots)
        except (TypeError, OverflowError):   # beyond int64
            return None
        return None if s < 0 else self._out[s:e].tobytes()
