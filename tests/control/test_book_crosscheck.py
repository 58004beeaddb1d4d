"""Cross-checks of the rebuilt books against independent views of the same real data:
Binance depth books against the venue's bookTicker stream, LOBSTER books rebuilt from messages
against LOBSTER's own order-book file, and our gap count against a plain scan of the id chain."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from control.book.crosscheck import bbo_agreement
from control.book.replay import load_records
from control.marketdata.lobster import load_lobster, rebuild_check
from control.marketdata.source import read_lines

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason="shared/data not present")

USDM = DATA / "binance" / "usdm"
# Sessions that continue across midnight are one stream; the second file has no snapshot of its own.
STREAMS = [
    [USDM / "btcusdt_20230404.dat.gz", USDM / "btcusdt_20230405.dat.gz"],
    [USDM / "btcusdt_20240718.gz", USDM / "btcusdt_20240719.gz"],
    [USDM / "ethusdt_20240718.gz", USDM / "ethusdt_20240719.gz"],
]
LOBSTER = sorted((DATA / "lobster").glob("*.zip")) if DATA.exists() else []


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s[0].name.split("_")[0] + "_" + s[0].name[8:16])
def test_top_of_book_equals_bookticker(stream: list[Path]) -> None:
    results = bbo_agreement(stream)
    assert len(results) == 2
    for r in results:
        assert r.compared > 3000, r.name
        assert r.ratio >= 0.999, (r.name, r.examples)


def test_every_binance_file_is_covered() -> None:
    covered = {p for s in STREAMS for p in s}
    depth_files = {p for p in USDM.glob("*gz")}
    assert depth_files == covered
    # The spot capture has no snapshot: its book is the bookTicker itself (BBO mode), one record per BBO.
    spot = DATA / "binance" / "spot" / "btcusdt_20230405.dat.gz"
    recs, st = load_records([spot], levels=1)
    assert st.instrument.book_source == "bbo" and len(recs) == st.events["bbo"] == 8015
    # Diffs with sizes finer than the 0.00001 lot (e.g. "4690.34389600") are refused, not rounded.
    assert set(st.rejected) == {"off_lot"}


def _independent_gaps(paths: list[Path]) -> int:
    """Count breaks of the futures pu chain among diffs after the first snapshot, by a plain scan."""
    gaps, prev, synced = 0, None, False
    for p in paths:
        for line in read_lines(p):
            msg = orjson.loads(line.partition(b" ")[2])
            if "lastUpdateId" in msg:
                synced = True
                continue
            d = msg.get("data", {})
            if synced and d.get("e") == "depthUpdate":
                if prev is not None and d["pu"] != prev and d["u"] > prev:
                    gaps += 1
                prev = d["u"]
    return gaps


@pytest.mark.parametrize("stream", STREAMS[:2], ids=["btc2023", "btc2024"])
def test_gap_count_matches_independent_scan(stream: list[Path]) -> None:
    _, st = load_records(stream)
    assert st.gaps == _independent_gaps(stream)
    assert st.rejected_total == 0


@pytest.mark.parametrize("zip_path", LOBSTER, ids=lambda p: p.name)
def test_lobster_rebuild_from_messages_equals_orderbook_file(zip_path: Path) -> None:
    res = rebuild_check(zip_path)
    assert res.rows > 50_000
    assert res.equal == res.rows, res.mismatches


def test_lobster_records_and_trade_direction() -> None:
    z = DATA / "lobster" / "LOBSTER_SampleFile_AMZN_2012-06-21_5.zip"
    recs, st = load_lobster(z, levels=10)
    assert len(recs) == 155_935 and st.rejected_total == 0 and st.crossed == 0
    # first order-book row: 2239500,100,2231800,100,2239900,100,2230700,200,... (USD x 10000, tick 100)
    assert recs["ask_px"][0, :2].tolist() == [22395, 22399] and recs["bid_px"][0, :2].tolist() == [22318, 22307]
    assert (recs["bid_px"][:, 5:] == 0).all()                # file has 5 levels; the rest are empty
    # message 1: 34200.017459617,5,0,1,2238200,-1: hidden execution of a sell order -> buyer-initiated
    assert recs["trade_buy"][0] == 1 and recs["trade_sell"][0] == 0
    assert recs["ts_ns"][0] == 1340251200 * 10**9 + 34200_017459617   # 2012-06-21 00:00 EDT = 04:00 UTC
    execd = recs["trade_buy"] + recs["trade_sell"]
    assert int((execd > 0).sum()) == st.events["execute"] + st.events["execute_hidden"]
    np.testing.assert_array_equal(recs["seq"], np.arange(len(recs)))


def test_load_records_routes_lobster() -> None:
    z = DATA / "lobster" / "LOBSTER_SampleFile_AAPL_2012-06-21_1.zip"
    recs, st = load_records([z], levels=2)
    a, _ = load_lobster(z, levels=2)
    np.testing.assert_array_equal(recs, a)
    assert st.instrument.symbol == "AAPL"
