"""The compiled path against the Python reference path.

1. Differential fuzzing of the compiled canonical decoder: on real lines and on mutations of them it
   either yields exactly BinanceDecoder's event or declines; it never accepts a line the reference
   refuses.
2. On every real Binance file (and the cross-midnight pairs), load_records through the compiled loop
   gives records and counters identical to the pure-Python reference path, and the streaming
   per-line path gives the same records as the batch path.
"""
from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from control.book import kernels as K
from control.book.replay import load_records
from control.book.stream import FeedProcessor
from control.marketdata.binance import BinanceDecoder
from control.marketdata.errors import DecodeError
from control.marketdata.events import BestBidOffer, DepthUpdate, Trade
from control.marketdata.instruments import DEFAULT_REGISTRY
from control.marketdata.source import read_lines

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"
SHARED = REPO.parent / "shared" / "data" / "binance"
USDM = DEFAULT_REGISTRY.get("binance", "usdm", "BTCUSDT")
SPOT = DEFAULT_REGISTRY.get("binance", "spot", "BTCUSDT")

LINES = read_lines(BUNDLED)
SPOT_LINES = read_lines(SHARED / "spot" / "btcusdt_20230405.dat.gz")[:3000] if SHARED.exists() else []


def fast_decode(inst, line: bytes):
    """The compiled decoder's view of one recorded line as a normalized event, or None (declined)."""
    spec = K.FastSpec.of(inst)
    buf = np.frombuffer(line, np.uint8)
    fields = np.zeros(K.N_FIELDS, np.int64)
    lp = np.zeros(K.MAX_LEVELS, np.int64)
    ls = np.zeros(K.MAX_LEVELS, np.int64)
    recv, p = K.recv_prefix(buf, 0, len(buf))
    if p < 0:
        return None
    k = K.decode_payload(buf, p, len(buf), recv, spec.futures, spec.sym, spec.pmul, spec.pdiv, spec.smul,
                         spec.sdiv, spec.max_ticks, spec.max_lots, fields, lp, ls)
    f = fields.tolist()
    if k == K.K_DEPTH:
        nb, na = f[K.F_NBID], f[K.F_NASK]
        lv = list(zip(lp[:nb + na].tolist(), ls[:nb + na].tolist(), strict=True))
        return DepthUpdate("binance", inst.symbol, f[K.F_TS], f[K.F_RECV], f[K.F_U_FIRST], f[K.F_U_FINAL],
                           f[K.F_PU], tuple(lv[:nb]), tuple(lv[nb:]))
    if k == K.K_BBO:
        return BestBidOffer("binance", inst.symbol, f[K.F_TS], f[K.F_RECV], f[K.F_BBO_U], f[K.F_BPX],
                            f[K.F_BSZ], f[K.F_APX], f[K.F_ASZ])
    if k == K.K_TRADE:
        return Trade("binance", inst.symbol, f[K.F_TS], f[K.F_RECV], f[K.F_TID], f[K.F_TPX], f[K.F_TSZ],
                     f[K.F_TSIDE])
    return None


def agree(inst, line: bytes) -> bool:
    fast = fast_decode(inst, line)
    try:
        ref = BinanceDecoder(inst).decode_line(line)
    except DecodeError:
        assert fast is None, f"compiled decoder accepted a line the reference refuses: {line[:200]!r}"
        return False
    if fast is not None:
        assert fast == ref, line[:200]
        return True
    return False


def test_real_lines_take_the_fast_path() -> None:
    accepted = sum(agree(USDM, ln) for ln in LINES)
    # everything but the snapshot line (not canonical stream data) is decoded by the compiled path
    assert accepted == len(LINES) - 1
    if SPOT_LINES:
        spot_ok = sum(agree(SPOT, ln) for ln in SPOT_LINES)
        assert spot_ok >= 0.99 * len(SPOT_LINES)


SAMPLE = [LINES[i] for i in range(0, len(LINES), 97)] + SPOT_LINES[::150]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(idx=st.integers(0, len(SAMPLE) - 1), pos=st.integers(0, 10**6), byte=st.integers(0, 255),
       op=st.sampled_from(["replace", "delete", "insert", "digit", "truncate"]))
def test_mutations_agree(idx: int, pos: int, byte: int, op: str) -> None:
    line = SAMPLE[idx]
    inst = SPOT if line in SPOT_LINES else USDM
    p = pos % len(line)
    if op == "replace":
        line = line[:p] + bytes([byte]) + line[p + 1:]
    elif op == "delete":
        line = line[:p] + line[p + 1:]
    elif op == "insert":
        line = line[:p] + bytes([byte]) + line[p:]
    elif op == "digit":                                     # stay plausible: swap in a digit or '.'
        line = line[:p] + b"0123456789.-"[byte % 12:byte % 12 + 1] + line[p + 1:]
    else:
        line = line[:p]
    agree(inst, line)


numbers = st.one_of(
    st.from_regex(r"\A-?[0-9]{0,22}(\.[0-9]{0,22})?\Z", fullmatch=True),
    st.sampled_from(["0", "0.0", "1.", ".5", "1e3", "+1", "007.50", "63943.90", "63943.95",
                     "9223372036854775807", "214748364.70", "214748364.80", "4294967.295", "4294967.296"]),
)


@settings(max_examples=800, deadline=None)
@given(px=numbers, sz=numbers, which=st.sampled_from(["depth", "bbo", "trade"]))
def test_number_edge_cases_agree(px: str, sz: str, which: str) -> None:
    ts, _, payload = {"depth": LINES[0], "bbo": LINES[1], "trade": next(ln for ln in LINES if b"@trade" in ln)}[
        which].partition(b" ")
    msg = orjson.loads(payload)
    d = msg["data"]
    if which == "depth":
        d["b"][0] = [px, sz]
    elif which == "bbo":
        d["b"], d["B"] = px, sz
    else:
        d["p"], d["q"] = px, sz
    agree(USDM, ts + b" " + orjson.dumps(msg))


@settings(max_examples=300, deadline=None)
@given(ts=st.from_regex(r"\A[0-9]{1,21}\Z", fullmatch=True), uid=st.integers(0, 2**64))
def test_timestamp_and_id_ranges_agree(ts: str, uid: int) -> None:
    _, _, payload = LINES[1].partition(b" ")
    msg = orjson.loads(payload)
    msg["data"]["u"] = uid if uid < 2**64 else -1
    msg["data"]["T"] = uid // 1000
    agree(USDM, ts.encode() + b" " + orjson.dumps(msg))


# ---------------------------------------------------------------------------------- whole files
STREAMS = [[BUNDLED]]
if SHARED.exists():
    U = SHARED / "usdm"
    STREAMS += [[p] for p in sorted(U.glob("*gz"))] + [[SHARED / "spot" / "btcusdt_20230405.dat.gz"]] + [
        [U / "btcusdt_20230404.dat.gz", U / "btcusdt_20230405.dat.gz"],
        [U / "btcusdt_20240718.gz", U / "btcusdt_20240719.gz"],
        [U / "ethusdt_20240718.gz", U / "ethusdt_20240719.gz"],
    ]


def _counters(stats) -> dict:
    d = stats.to_dict()
    for k in ("elapsed_s", "messages_per_s", "files"):
        d.pop(k, None)
    return d


@pytest.mark.parametrize("paths", STREAMS, ids=lambda ps: "+".join(p.name for p in ps))
def test_compiled_equals_python_reference(paths: list[Path]) -> None:
    fast, fs = load_records(paths, levels=10)
    ref, rs = load_records(paths, levels=10, compiled=False)
    np.testing.assert_array_equal(fast, ref)
    assert _counters(fs) == _counters(rs)


def test_streaming_per_line_equals_batch_on_every_line_kind() -> None:
    path = SHARED / "spot" / "btcusdt_20230405.dat.gz" if SHARED.exists() else BUNDLED
    batch, st_ = load_records([path])
    proc = FeedProcessor(st_.instrument)
    got = [proc.process(ln) for ln in read_lines(path)]
    np.testing.assert_array_equal(np.concatenate(got), batch)
    a, b = _counters(proc.stats), _counters(st_)
    for d in (a, b):
        d.pop("name")
        d.pop("examples")                 # same records, but the batch run knows the file name
    assert a == b


@pytest.mark.parametrize("paths", [[BUNDLED], *(STREAMS if SHARED.exists() else [])],
                         ids=lambda ps: "+".join(p.name for p in ps))
def test_two_stage_per_line_path_equals_process(paths: list[Path]) -> None:
    """decode_one + book_one (the appliance's per-line path, with BinanceDecoder + process(event) for
    the lines it declines) give the records and counters of process(line) on every line."""
    from control.marketdata.errors import DecodeError

    lines = [ln for p in paths for ln in read_lines(p)]
    inst = load_records([paths[0]], levels=10)[1].instrument
    ref, two = FeedProcessor(inst, levels=10), FeedProcessor(inst, levels=10)
    want, got, fast = [], [], 0
    for n, ln in enumerate(lines, 1):
        want.append(ref.process(ln, line=n).copy())
        kind = two.decode_one(ln)
        if kind:
            fast += 1
            recs = two.book_one(kind)
            if len(recs) == 1:
                assert recs is two.rec1 and two.touch.tolist() == [
                    int(recs["seq"][0]), int(recs["ts_ns"][0]), int(recs["recv_ns"][0]),
                    int(recs["bid_px"][0, 0]), int(recs["ask_px"][0, 0]), int(recs["flags"][0])]
        else:
            try:
                recs = two.process(two.decoder.decode_line(ln))
            except DecodeError as err:   # process(line) counts the line as a message, then refuses it
                two.st[K.S_MESSAGES] += 1
                two.stats.reject(err.located(two.source, n, ln))
                recs = two.take()
        got.append(recs.copy())
    assert fast > 0.5 * len(lines)
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(want))
    assert _counters(two.stats) == _counters(ref.stats)


@numba.njit(cache=False)
def _dec_at(arr, i, e):
    return K._dec(K._ptr(arr), i, e)


def _dec_reference(b: bytes, i: int, e: int) -> tuple[int, int, int]:
    """Plain-Python statement of _dec's contract: '"' digits ['.' digits] '"', at most 18 digits."""
    if i >= e or b[i] != 0x22:
        return 0, 0, -1
    j = i + 1
    while j < e and 0x30 <= b[j] <= 0x39:
        j += 1
    ip = b[i + 1:j]
    fp = b""
    if j < e and b[j] == 0x2E:
        k = j + 1
        while k < e and 0x30 <= b[k] <= 0x39:
            k += 1
        fp, j = b[j + 1:k], k
        if not fp:
            return 0, 0, -1
    if not ip or len(ip) + len(fp) > 18 or j >= e or b[j] != 0x22:
        return 0, 0, -1
    return int(ip + fp), len(fp), j + 1


# bytes next to the digits in ASCII and their high-bit twins: the SWAR range test must refuse them all
_NEAR_DIGITS = b'0123456789."/:' + bytes([0xB0, 0xB9, 0xBA, 0xAF, 0x00, 0xFF, 0x7F])


@settings(max_examples=3000, deadline=None)
@given(body=st.lists(st.sampled_from(list(_NEAR_DIGITS)), min_size=0, max_size=40),
       digits=st.integers(0, 24), cut=st.integers(0, 50))
def test_swar_number_scanner_matches_its_contract(body: list[int], digits: int, cut: int) -> None:
    """The 8-bytes-at-a-time digit scanner against a byte-by-byte reference, on near-digit garbage and
    on well-formed numbers of every length, with the message end anywhere (the 8-byte loads must stop
    at the end; the scalar tail takes over)."""
    numeric = b'"' + b"7" * digits + b"." + b"3" * (digits % 7) + b'"'
    for data in (b'"' + bytes(body), numeric + bytes(body)):
        e = max(0, len(data) - cut % (len(data) + 1))
        arr = np.frombuffer(data + b"9" * 16, np.uint8)   # digits after e must not count
        assert tuple(_dec_at(arr, 0, e)) == _dec_reference(data, 0, e), (data, e)
