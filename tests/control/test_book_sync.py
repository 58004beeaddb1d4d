"""Book sync rules on real recorded streams, and what bad records cost (only themselves)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control.book.replay import load_records
from control.book.stream import FeedProcessor
from control.marketdata.source import read_lines
from models.record import FLAG_IN_SYNC, FLAG_RESET, record_dtype

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"
SHARED = REPO.parent / "shared" / "data" / "binance"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="shared/data not present")

LINES = read_lines(BUNDLED)
CLEAN, CLEAN_STATS = load_records([BUNDLED])
BOOK_FIELDS = ("ts_ns", "recv_ns", "update_id", "bid_px", "bid_sz", "ask_px", "ask_sz", "flags")


def _replay(lines: list[bytes], levels: int = 10) -> tuple[np.ndarray, FeedProcessor]:
    proc = FeedProcessor(CLEAN_STATS.instrument, levels=levels, source="t")
    parts = [proc.process(ln, line=i) for i, ln in enumerate(lines, 1)]
    return np.concatenate(parts), proc


def _same_books(a: np.ndarray, b: np.ndarray) -> None:
    assert len(a) == len(b)
    for f in BOOK_FIELDS:
        np.testing.assert_array_equal(a[f], b[f], err_msg=f)


def test_records_shape_and_flags() -> None:
    assert CLEAN.dtype == record_dtype(10)
    assert len(CLEAN) == CLEAN_STATS.records == 3322
    np.testing.assert_array_equal(CLEAN["seq"], np.arange(len(CLEAN)))
    assert (CLEAN["flags"] & FLAG_IN_SYNC).all()
    assert np.flatnonzero(CLEAN["flags"] & FLAG_RESET).tolist() == [0]
    assert CLEAN["update_id"][0] == 4984028384061          # the snapshot's lastUpdateId
    assert (np.diff(CLEAN["update_id"]) > 0).all()
    b, a = CLEAN["bid_px"], CLEAN["ask_px"]
    assert (b[:, 0] < a[:, 0]).all() and (np.diff(b, axis=1) < 0).all() and (np.diff(a, axis=1) > 0).all()
    # trades: each recorded trade lands in exactly one record after the sync
    assert CLEAN["trade_buy"].sum() + CLEAN["trade_sell"].sum() > 0


def test_streaming_equals_load_records() -> None:
    recs, proc = _replay(LINES)
    np.testing.assert_array_equal(recs, CLEAN)
    assert proc.stats.to_dict()["events"] == CLEAN_STATS.to_dict()["events"]


def test_levels_parameter() -> None:
    recs, _ = load_records([BUNDLED], levels=3)
    assert recs.dtype == record_dtype(3)
    np.testing.assert_array_equal(recs["bid_px"], CLEAN["bid_px"][:, :3])


def _depth_indices() -> list[int]:
    return [i for i, ln in enumerate(LINES) if b"depthUpdate" in ln]


def test_dropped_diff_is_a_gap_and_no_record_is_invented() -> None:
    depth = _depth_indices()
    k = depth[len(depth) // 2]
    lines = LINES[:k] + LINES[k + 1:]
    recs, proc = _replay(lines)
    assert proc.stats.gaps == 1 and not proc.stats.in_sync and proc.needs_snapshot
    # Everything before the gap is identical; nothing is emitted after it (no snapshot follows).
    _same_books(recs, CLEAN[:len(recs)])
    assert recs["update_id"][-1] < orjson.loads(LINES[k].partition(b" ")[2])["data"]["u"]


def test_duplicate_and_reordered_diffs_are_refused_not_fatal() -> None:
    depth = _depth_indices()
    k = depth[100]
    lines = LINES[:k + 1] + [LINES[k]] + LINES[k + 1:]          # duplicate
    recs, proc = _replay(lines)
    assert proc.stats.rejected == {"non_monotonic_id": 1} and proc.stats.gaps == 0
    _same_books(recs, CLEAN)
    tr = next(i for i in range(k, len(LINES)) if b"@trade" in LINES[i])
    lines2 = LINES[:tr] + [LINES[tr], LINES[tr]] + LINES[tr + 1:]  # replayed trade
    _, proc2 = _replay(lines2)
    assert proc2.stats.rejected == {"non_monotonic_id": 1}


@settings(max_examples=25, deadline=None)
@given(pos=st.integers(20, len(LINES) - 1), junk=st.sampled_from([
    b"1721347021999999999 {\"stream\":\"btcusdt@depth@0ms\",\"data\":{\"e\":\"depthUpd",
    b"garbage without timestamp",
    b"1721347021999999999 {\"stream\":\"btcusdt@bookTicker\",\"data\":{\"e\":\"bookTicker\",\"u\":1,"
    b"\"s\":\"BTCUSDT\",\"b\":\"-1\",\"B\":\"1\",\"a\":\"1\",\"A\":\"1\",\"T\":1,\"E\":1}}",
    b"\xff\xfe\x00binary",
    b"",
]))
def test_injected_bad_line_costs_only_itself(pos: int, junk: bytes) -> None:
    lines = LINES[:pos] + [junk] + LINES[pos:]
    recs, proc = _replay(lines)
    assert proc.stats.rejected_total == 1
    _same_books(recs, CLEAN)
    (reason, examples), = proc.stats.examples.items()
    assert f"t:{pos + 1}:" in examples[0]            # source and line of the offending record


def test_crossed_book_is_counted_and_reported() -> None:
    depth = _depth_indices()
    k = depth[200]
    msg = orjson.loads(LINES[k].partition(b" ")[2])
    msg["data"]["b"].append(["70000.00", "1.000"])   # a bid far above the ask
    bad = LINES[k].partition(b" ")[0] + b" " + orjson.dumps(msg)
    recs, proc = _replay(LINES[:k] + [bad] + LINES[k + 1:])
    assert proc.stats.crossed > 0 and "crossed_book" in proc.stats.examples
    assert proc.stats.rejected_total == 0           # reported, not refused: the venue said so
    assert len(recs) == len(CLEAN)


def test_snapshot_alone_then_no_diffs_emits_reset_only() -> None:
    snap = next(ln for ln in LINES if b"lastUpdateId" in ln)
    recs, proc = _replay([snap])
    assert len(recs) == 1 and recs["flags"][0] == FLAG_IN_SYNC | FLAG_RESET


def test_gap_then_newer_snapshot_resyncs() -> None:
    """After a gap, a snapshot at a later update id re-syncs; its book comes from the clean replay
    of the same real session at that id."""
    depth = _depth_indices()
    k, later = depth[300], depth[400]
    row = CLEAN[np.searchsorted(CLEAN["update_id"], orjson.loads(LINES[later].partition(b" ")[2])["data"]["u"])]
    full_book, _ = load_records([BUNDLED], levels=1000)
    full = full_book[full_book["update_id"] == row["update_id"]][0]
    inst = CLEAN_STATS.instrument

    def side(px, sz) -> list[list[str]]:
        return [[inst.price_text(int(p)), inst.size_text(int(s))] for p, s in zip(px, sz, strict=True) if s]

    snap = {"lastUpdateId": int(row["update_id"]), "E": 1, "T": 1,
            "bids": side(full["bid_px"], full["bid_sz"]), "asks": side(full["ask_px"], full["ask_sz"])}
    snap_line = b"1721347099999999999 " + orjson.dumps(snap)
    # drop diff k (gap), insert the later snapshot right after the diff it describes
    lines = LINES[:k] + LINES[k + 1:later + 1] + [snap_line] + LINES[later + 1:]
    recs, proc = _replay(lines)
    assert proc.stats.gaps == 1 and proc.stats.resyncs == 1 and proc.stats.in_sync
    resets = np.flatnonzero(recs["flags"] & FLAG_RESET)
    assert len(resets) == 2
    # Binance futures rule: the first diff applied is the one with U <= L <= u, here the diff with
    # u == L itself (depth levels are absolute, so re-applying it is idempotent).
    after = recs[resets[1] + 1:]
    tail = CLEAN[CLEAN["update_id"] >= row["update_id"]]
    for f in ("update_id", "bid_px", "bid_sz", "ask_px", "ask_sz"):
        np.testing.assert_array_equal(after[f], tail[f][:len(after)])
    assert len(after) == len(tail)


@needs_shared
def test_session_continues_across_midnight() -> None:
    a = SHARED / "usdm" / "btcusdt_20240718.gz"
    b = SHARED / "usdm" / "btcusdt_20240719.gz"
    pair, st = load_records([a, b])
    alone, st_alone = load_records([b])
    assert len(alone) == 0 and not st_alone.in_sync and st_alone.syncs == 0   # honest: never synced
    assert st.per_file[1].records > 5000 and st.gaps == 0 and st.in_sync
    assert np.flatnonzero(pair["flags"] & FLAG_RESET).tolist() == [0]


@settings(max_examples=60, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, len(LINES) - 1), st.integers(0, 10**6), st.binary(max_size=3)),
                      max_size=20),
       start=st.integers(0, 300), length=st.integers(50, 600))
def test_fuzz_processor_never_raises(edits: list[tuple[int, int, bytes]], start: int, length: int) -> None:
    """Mutated real lines through the whole processor (compiled loop + Python path): every input is
    counted, nothing raises, records stay well-formed."""
    lines = list(LINES[start:start + length])
    for i, pos, junk in edits:
        k = i % len(lines)
        p = pos % max(1, len(lines[k]))
        lines[k] = lines[k][:p] + junk + lines[k][p + len(junk):]
    recs, proc = _replay(lines)
    assert proc.stats.messages == len(lines)
    assert (np.diff(recs["seq"].astype(np.int64)) == 1).all()
    assert (recs["flags"] & FLAG_IN_SYNC).all()
