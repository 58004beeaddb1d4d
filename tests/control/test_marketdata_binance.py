"""Binance decoder: real messages decode exactly; every bad input is a DecodeError with a reason.

Fuzzing: arbitrary bytes and mutations of real recorded lines must never raise anything but
DecodeError (a crash in the decoder would drop every later event of the stream)."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control.marketdata.binance import BinanceDecoder, split_recorded_line
from control.marketdata.errors import DecodeError
from control.marketdata.events import BUY, SELL, BestBidOffer, DepthUpdate, Ignored, Snapshot, Trade
from control.marketdata.instruments import DEFAULT_REGISTRY
from control.marketdata.source import read_lines

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"
SHARED = REPO.parent / "shared" / "data" / "binance"

USDM = DEFAULT_REGISTRY.get("binance", "usdm", "BTCUSDT")
SPOT = DEFAULT_REGISTRY.get("binance", "spot", "BTCUSDT")
LINES = read_lines(BUNDLED)


def _first(lines: list[bytes], needle: bytes) -> bytes:
    return next(ln for ln in lines if needle in ln)


def test_depth_line_exact() -> None:
    ev = BinanceDecoder(USDM).decode_line(LINES[0])
    assert isinstance(ev, DepthUpdate)
    assert ev.recv_ns == 1721347020984480942
    assert (ev.first_id, ev.final_id, ev.prev_final_id) == (4984028367545, 4984028370730, 4984028367494)
    assert ev.ts_ns == 1721347022504 * 1_000_000
    assert ev.bids[0] == (10000, 569567)          # "1000.00" / 0.1, "569.567" / 0.001
    assert ev.asks[1] == (639511, 0)              # "63951.10", "0.000": delete


def test_snapshot_bbo_trade_exact() -> None:
    dec = BinanceDecoder(USDM)
    snap = dec.decode_line(_first(LINES, b"lastUpdateId"))
    assert isinstance(snap, Snapshot) and snap.last_update_id == 4984028384061
    assert snap.bids[0] == (639439, 46372)
    bbo = dec.decode_line(_first(LINES, b"bookTicker"))
    assert bbo == BestBidOffer("binance", "BTCUSDT", 1721347022507 * 10**6, 1721347021080832061,
                               4984028370881, 639439, 46371, 639440, 95)
    trade = dec.decode_line(_first(LINES, b"@trade"))
    assert isinstance(trade, Trade) and trade.side in (BUY, SELL) and trade.size > 0


@pytest.mark.skipif(not SHARED.exists(), reason="shared/data not present")
def test_spot_and_2023_microsecond_lines() -> None:
    spot = read_lines(SHARED / "spot" / "btcusdt_20230405.dat.gz")
    dec = BinanceDecoder(SPOT)
    t = dec.decode_line(spot[0])
    # {"p":"28165.47000000","q":"0.00056000","m":true} at µs receive time 1680652800004107
    assert t == Trade("binance", "BTCUSDT", 1680652799999 * 10**6, 1680652800004107000, 3071245454,
                      2816547, 56, SELL)
    bbo = dec.decode_line(spot[1])
    assert isinstance(bbo, BestBidOffer) and bbo.ts_ns == bbo.recv_ns   # spot bookTicker has no time
    mark = BinanceDecoder(USDM).decode_line(_first(read_lines(SHARED / "usdm" / "btcusdt_20230404.dat.gz"),
                                                   b"markPrice"))
    assert isinstance(mark, Ignored) and mark.stream == "btcusdt@markPrice@1s"


def _mut(line: bytes, path: list, value: object) -> bytes:
    ts, _, payload = line.partition(b" ")
    msg = orjson.loads(payload)
    node = msg
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return ts + b" " + orjson.dumps(msg)


DEPTH = LINES[0]
BBO = _first(LINES, b"bookTicker")
TRADE = _first(LINES, b"@trade")


@pytest.mark.parametrize(("line", "reason"), [
    (b"no-timestamp", "malformed_line"),
    (b"12ab {}", "malformed_line"),
    (b"1721347020984480942 {not json", "malformed_json"),
    (b"1721347020984480942 [1,2]", "unknown_message"),
    (b"1721347020984480942 {\"x\":1}", "unknown_message"),
    (_mut(DEPTH, ["data", "b", 0, 1], "-1.000"), "negative_size"),
    (_mut(DEPTH, ["data", "b", 0, 0], "-5.0"), "negative_price"),
    (_mut(DEPTH, ["data", "b", 0, 1], "1e3"), "bad_number"),
    (_mut(DEPTH, ["data", "b", 0, 1], 1.5), "missing_field"),
    (_mut(DEPTH, ["data", "b", 0], ["1.0"]), "missing_field"),
    (_mut(DEPTH, ["data", "b", 0, 0], "0.00"), "absurd_price"),
    (_mut(DEPTH, ["data", "b", 0, 0], "999999999999.0"), "absurd_price"),
    (_mut(DEPTH, ["data", "b", 0, 1], "99999999999.000"), "absurd_size"),
    (_mut(DEPTH, ["data", "b", 0, 0], "63943.95"), "off_tick"),
    (_mut(DEPTH, ["data", "b", 0, 1], "1.0005"), "off_lot"),
    (_mut(DEPTH, ["data", "U"], 2**62), "bad_id_range"),
    (_mut(DEPTH, ["data", "pu"], KeyError), "missing_field"),
    (_mut(DEPTH, ["data", "u"], "12"), "missing_field"),
    (_mut(DEPTH, ["data", "u"], -3), "bad_number"),
    (_mut(DEPTH, ["data", "s"], "ETHUSDT"), "symbol_mismatch"),
    (_mut(BBO, ["data", "B"], KeyError), "missing_field"),
    (_mut(TRADE, ["data", "m"], "true"), "missing_field"),
    (_mut(TRADE, ["data", "q"], "0.000"), "absurd_size"),
])
def test_specific_errors(line: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as exc:
        BinanceDecoder(USDM).decode_line(line)
    assert exc.value.reason == reason
    assert str(exc.value)              # says what and shows the record


def test_error_carries_record_excerpt() -> None:
    with pytest.raises(DecodeError) as exc:
        BinanceDecoder(USDM).decode_line(_mut(DEPTH, ["data", "b", 0, 1], "-1.000"))
    assert "depthUpdate" in exc.value.record and "negative" in exc.value.detail


def test_receive_timestamp_units() -> None:
    assert split_recorded_line(b"1680652800004107 {}")[0] == 1680652800004107000     # µs
    assert split_recorded_line(b"1721347020984480942 {}")[0] == 1721347020984480942  # ns


# ------------------------------------------------------------------------------------ fuzzing
def _decode_only_decode_errors(line: bytes) -> None:
    for inst in (USDM, SPOT):
        try:
            BinanceDecoder(inst).decode_line(line)
        except DecodeError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _decode_only_decode_errors(data)
    _decode_only_decode_errors(b"1721347020984480942 " + data)


SAMPLE = [LINES[i] for i in range(0, len(LINES), max(1, len(LINES) // 40))] + [
    _first(LINES, b"lastUpdateId")[:3000]]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(idx=st.integers(0, len(SAMPLE) - 1), pos=st.integers(0, 10**6), byte=st.integers(0, 255),
       op=st.sampled_from(["replace", "delete", "insert", "truncate"]))
def test_fuzz_mutated_real_lines(idx: int, pos: int, byte: int, op: str) -> None:
    line = SAMPLE[idx]
    p = pos % max(1, len(line))
    if op == "replace":
        line = line[:p] + bytes([byte]) + line[p + 1:]
    elif op == "delete":
        line = line[:p] + line[p + 1:]
    elif op == "insert":
        line = line[:p] + bytes([byte]) + line[p:]
    else:
        line = line[:p]
    _decode_only_decode_errors(line)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(["e", "s", "U", "u", "pu", "T", "E", "b", "a", "B", "A", "p", "q", "m", "t"]),
       value=json_values, idx=st.integers(0, 2))
def test_fuzz_field_values(key: str, value: object, idx: int) -> None:
    """Any JSON value in any field of a real depth/bookTicker/trade message: DecodeError or a valid event."""
    line = (DEPTH, BBO, TRADE)[idx]
    try:
        mutated = _mut(line, ["data", key], value)
    except (TypeError, orjson.JSONEncodeError):
        return   # not representable as JSON (e.g. int beyond 64 bits for orjson)
    _decode_only_decode_errors(mutated)


@settings(max_examples=200, deadline=None)
@given(levels=st.lists(st.tuples(st.integers(1, 2**31 - 1), st.integers(0, 2**32 - 1)), max_size=30))
def test_generated_depth_decodes_exactly(levels: list[tuple[int, int]]) -> None:
    """Property: levels written as Binance decimal strings come back as the same ticks and lots."""
    def px(t: int) -> str:
        return f"{t // 10}.{t % 10}0"

    def sz(lots: int) -> str:
        return f"{lots // 1000}.{lots % 1000:03d}"

    msg = {"stream": "btcusdt@depth@0ms", "data": {"e": "depthUpdate", "E": 1, "T": 1, "s": "BTCUSDT",
           "U": 5, "u": 9, "pu": 4, "b": [[px(p), sz(s)] for p, s in levels], "a": []}}
    ev = BinanceDecoder(USDM).decode(orjson.dumps(msg), 7)
    assert ev.bids == tuple(levels)
