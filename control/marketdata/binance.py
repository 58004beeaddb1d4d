"""Binance combined-stream decoder (sans-IO): one recorded line or one WebSocket frame in, one
normalized event out, or a DecodeError saying what is wrong with which record.

Recorded lines are `<local receive ts> <JSON>`; the timestamp is ns (19 digits, 2024 captures) or
µs (16 digits, 2023 captures) and is normalized to ns. Live frames are the JSON alone; the caller
supplies the receive time. Payloads are combined-stream envelopes `{"stream": ..., "data": {...}}`,
raw stream events `{"e": ..., ...}`, or a REST depth snapshot `{"lastUpdateId": ..., "bids", "asks"}`.

USD-M futures (market "usdm") and spot differ: futures depth carries `pu` and `T`, spot depth has
neither; spot bookTicker carries no event type and no timestamps. The decoder is bound to one
instrument and rejects messages for any other symbol.
"""
from __future__ import annotations

import logging

import orjson

from control.marketdata import errors as E
from control.marketdata.errors import DecodeError
from control.marketdata.events import (
    BUY,
    SELL,
    BestBidOffer,
    DepthUpdate,
    Event,
    Ignored,
    Levels,
    Snapshot,
    Trade,
)
from control.marketdata.instruments import Instrument

log = logging.getLogger(__name__)

VENUE = "binance"
MS = 1_000_000
# Receive timestamps below this are µs (2023 captures: 1.68e15); at or above, ns (2024: 1.72e18).
_US_NS_BOUNDARY = 10**17
_MAX_ID = 2**63 - 1


def split_recorded_line(line: bytes) -> tuple[int, bytes]:
    """`b"<ts> <json>"` -> (recv_ns, json bytes). Raises DecodeError(MALFORMED_LINE)."""
    ts, sep, payload = line.partition(b" ")
    if not sep or not ts.isdigit() or len(ts) > 19:
        raise DecodeError(E.MALFORMED_LINE, "expected '<receive timestamp> <json>'", record=line)
    recv = int(ts)
    recv_ns = recv * 1000 if recv < _US_NS_BOUNDARY else recv
    if recv_ns > _MAX_ID:
        raise DecodeError(E.MALFORMED_LINE, f"receive timestamp {recv} beyond int64 ns", record=line)
    return recv_ns, payload


def _int_field(data: dict, key: str, what: str) -> int:
    value = data.get(key)
    if type(value) is not int:
        if value is None:
            raise DecodeError(E.MISSING_FIELD, f"{what}: missing field {key!r}", record=data)
        raise DecodeError(E.MISSING_FIELD, f"{what}: field {key!r} is not an integer", record=data)
    if value < 0 or value > _MAX_ID:
        raise DecodeError(E.BAD_NUMBER, f"{what}: field {key!r} out of range: {value}", record=data)
    return value


def _ts_field(data: dict, key: str, what: str) -> int:
    """Exchange time in ms -> ns; must fit the records' int64."""
    ms = _int_field(data, key, what)
    if ms > _MAX_ID // MS:
        raise DecodeError(E.BAD_NUMBER, f"{what}: timestamp {key!r}={ms} ms beyond int64 ns", record=data)
    return ms * MS


def _str_field(data: dict, key: str, what: str) -> str:
    value = data.get(key)
    if type(value) is not str:
        if value is None:
            raise DecodeError(E.MISSING_FIELD, f"{what}: missing field {key!r}", record=data)
        raise DecodeError(E.MISSING_FIELD, f"{what}: field {key!r} is not a string", record=data)
    return value


class BinanceDecoder:
    """Decodes Binance messages for one instrument into normalized events."""

    def __init__(self, instrument: Instrument) -> None:
        if instrument.venue != VENUE:
            raise ValueError(f"{instrument.name} is not a Binance instrument")
        self.instrument = instrument
        self.futures = instrument.market != "spot"
        self._symbol = instrument.symbol
        ps, ss = instrument.price_scaler, instrument.size_scaler
        # fraction length -> (multiplier, divisor); Binance uses one fixed length per symbol, so
        # these dicts hold one or two entries and the conversion is one int() and one divmod.
        self._pf: dict[int, tuple[int, int]] = {}
        self._sf: dict[int, tuple[int, int]] = {}
        self._ps, self._ss = ps, ss
        self._max_ticks = instrument.max_ticks
        self._max_lots = instrument.max_lots

    # ----------------------------------------------------------------------------- numbers
    def _units(self, text: object, factors: dict[int, tuple[int, int]], scaler, what: str) -> int:
        """Non-negative decimal text -> whole steps. Strict: ASCII digits with one optional '.'."""
        if type(text) is not str:
            raise DecodeError(E.MISSING_FIELD, f"{what} is not a string: {text!r}"[:120])
        ip, dot, fp = text.partition(".")
        digits = ip + fp
        if not (digits.isascii() and digits.isdigit() and ip and (fp or not dot)):
            if text[:1] == "-" and text[1:].replace(".", "", 1).isascii() and \
                    text[1:].replace(".", "", 1).isdigit() and int(text[1:].replace(".", "", 1)) != 0:
                raise DecodeError(E.NEGATIVE_SIZE if what.endswith("size") else E.NEGATIVE_PRICE,
                                  f"{what} is negative: {text!r}")
            raise DecodeError(E.BAD_NUMBER, f"{what} is not a plain decimal: {text[:40]!r}")
        n = len(fp)
        f = factors.get(n)
        if f is None:
            f = factors[n] = scaler.factors(n)
        q, r = divmod(int(digits) * f[0], f[1])
        if r:
            raise DecodeError(E.OFF_TICK if what.endswith("price") else E.OFF_LOT,
                              f"{what} {text!r} is not a multiple of {scaler.step}")
        return q

    def price(self, text: object, what: str = "price") -> int:
        ticks = self._units(text, self._pf, self._ps, what)
        if ticks <= 0 or ticks > self._max_ticks:
            raise DecodeError(E.ABSURD_PRICE, f"{what} {text!r} = {ticks} ticks outside (0, {self._max_ticks}]")
        return ticks

    def size(self, text: object, what: str = "size") -> int:
        lots = self._units(text, self._sf, self._ss, what)
        if lots > self._max_lots:
            raise DecodeError(E.ABSURD_SIZE, f"{what} {text!r} = {lots} lots above {self._max_lots}")
        return lots

    def levels(self, raw: object, side: str) -> Levels:
        if type(raw) is not list:
            raise DecodeError(E.MISSING_FIELD, f"{side} levels are not a list")
        out = []
        price, size = self.price, self.size
        for lvl in raw:
            if type(lvl) is not list or len(lvl) != 2:
                raise DecodeError(E.MISSING_FIELD, f"{side} level is not a [price, qty] pair: {lvl!r}"[:120])
            out.append((price(lvl[0], f"{side} price"), size(lvl[1], f"{side} size")))
        return tuple(out)

    # ----------------------------------------------------------------------------- messages
    def decode_line(self, line: bytes) -> Event:
        """One recorded `<ts> <json>` line."""
        recv_ns, payload = split_recorded_line(line)
        return self.decode(payload, recv_ns)

    def decode(self, payload: bytes | str, recv_ns: int) -> Event:
        """One JSON message (a WebSocket frame or the payload of a recorded line)."""
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise DecodeError(E.MALFORMED_JSON, str(exc), record=payload) from None
        try:
            return self.decode_obj(msg, recv_ns)
        except DecodeError as exc:
            if not exc.record:
                raise DecodeError(exc.reason, exc.detail, record=payload) from None
            raise

    def decode_obj(self, msg: object, recv_ns: int) -> Event:
        if type(msg) is not dict:
            raise DecodeError(E.UNKNOWN_MESSAGE, f"top-level JSON is a {type(msg).__name__}, not an object")
        data = msg.get("data")
        if data is not None:
            stream = msg.get("stream")
            if type(stream) is not str or type(data) is not dict:
                raise DecodeError(E.UNKNOWN_MESSAGE, "combined-stream envelope without string 'stream' "
                                  "and object 'data'")
        elif "lastUpdateId" in msg:
            return self._snapshot(msg, recv_ns)
        else:
            data, stream = msg, ""
        kind = data.get("e")
        if kind == "depthUpdate":
            return self._depth(data, recv_ns)
        if kind == "trade":
            return self._trade(data, recv_ns)
        if kind == "bookTicker" or (kind is None and "B" in data and "A" in data and "u" in data):
            return self._bbo(data, recv_ns)  # spot bookTicker carries no "e"
        if type(kind) is str and stream:
            return Ignored(VENUE, stream, recv_ns)
        raise DecodeError(E.UNKNOWN_MESSAGE, f"unknown event type {kind!r} on stream {stream!r}"[:120])

    def _check_symbol(self, data: dict, what: str) -> None:
        sym = data.get("s")
        if sym != self._symbol:
            if type(sym) is not str:
                raise DecodeError(E.MISSING_FIELD, f"{what}: missing or non-string symbol 's'")
            raise DecodeError(E.SYMBOL_MISMATCH, f"{what} for {sym!r}, stream is {self._symbol}")

    def _depth(self, d: dict, recv_ns: int) -> DepthUpdate:
        self._check_symbol(d, "depth")
        first = _int_field(d, "U", "depth")
        final = _int_field(d, "u", "depth")
        if first > final:
            raise DecodeError(E.BAD_ID_RANGE, f"depth U={first} > u={final}")
        if self.futures:
            prev = _int_field(d, "pu", "depth")
            ts = _ts_field(d, "T", "depth")
        else:
            prev = -1
            ts = _ts_field(d, "E", "depth")
        return DepthUpdate(VENUE, self._symbol, ts, recv_ns, first, final, prev,
                           self.levels(d.get("b"), "bid"), self.levels(d.get("a"), "ask"))

    def _snapshot(self, d: dict, recv_ns: int) -> Snapshot:
        last = _int_field(d, "lastUpdateId", "snapshot")
        ts = _ts_field(d, "T", "snapshot") if "T" in d else recv_ns
        return Snapshot(VENUE, self._symbol, ts, recv_ns, last,
                        self.levels(d.get("bids"), "bid"), self.levels(d.get("asks"), "ask"))

    def _bbo(self, d: dict, recv_ns: int) -> BestBidOffer:
        self._check_symbol(d, "bookTicker")
        uid = _int_field(d, "u", "bookTicker")
        ts = _ts_field(d, "T", "bookTicker") if self.futures else recv_ns
        bid_sz = self.size(d.get("B"), "bid size")
        ask_sz = self.size(d.get("A"), "ask size")
        # An empty side is price 0 with size 0 (record convention); a priced side must be sane.
        bid_px = 0 if bid_sz == 0 and _is_zero(d.get("b")) else self.price(d.get("b"), "bid price")
        ask_px = 0 if ask_sz == 0 and _is_zero(d.get("a")) else self.price(d.get("a"), "ask price")
        return BestBidOffer(VENUE, self._symbol, ts, recv_ns, uid, bid_px, bid_sz, ask_px, ask_sz)

    def _trade(self, d: dict, recv_ns: int) -> Trade:
        self._check_symbol(d, "trade")
        tid = _int_field(d, "t", "trade")
        ts = _ts_field(d, "T", "trade")
        maker = d.get("m")
        if type(maker) is not bool:
            raise DecodeError(E.MISSING_FIELD, "trade: field 'm' (buyer is maker) is not a boolean")
        size = self.size(d.get("q"), "trade size")
        if size == 0:
            raise DecodeError(E.ABSURD_SIZE, "trade size is zero")
        # m = buyer is the maker -> the seller hit the bid: seller-initiated.
        return Trade(VENUE, self._symbol, ts, recv_ns, tid, self.price(d.get("p"), "trade price"), size,
                     SELL if maker else BUY)


def _is_zero(text: object) -> bool:
    return type(text) is str and text.replace(".", "", 1).isascii() and text.replace(".", "", 1).isdigit() \
        and int(text.replace(".", "", 1)) == 0
