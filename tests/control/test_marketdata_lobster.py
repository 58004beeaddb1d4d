"""LOBSTER reader: exact parsing, and a malformed row costs only itself; its executions as trades."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control.marketdata.errors import DecodeError, LoaderError
from control.marketdata.lobster import (
    _parse_messages,
    _time_ns,
    load_executions,
    load_lobster,
    lobster_instrument,
)

REPO = Path(__file__).resolve().parents[2]
ZIP = REPO.parent / "shared" / "data" / "lobster" / "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"
pytestmark = pytest.mark.skipif(not ZIP.exists(), reason="shared/data not present")
MSG = "AMZN_2012-06-21_34200000_57600000_message_1.csv"
BOOK = "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"


def _subset(tmp_path: Path, n: int, edit=None) -> Path:
    with zipfile.ZipFile(ZIP) as zf:
        msgs = zf.read(MSG).decode().splitlines()[:n]
        book = zf.read(BOOK).decode().splitlines()[:n]
    if edit:
        msgs, book = edit(msgs, book)
    out = tmp_path / "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip"
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(MSG, "\n".join(msgs) + "\n")
        zf.writestr(BOOK, "\n".join(book) + "\n")
    return out


def test_time_parsing_is_exact() -> None:
    assert _time_ns("34200.017459617") == 34200_017459617
    assert _time_ns("34200.18960767") == 34200_189607670
    assert _time_ns("43002.632812672004") == 43002_632812672      # float noise past ns is dropped
    assert _time_ns("34200") == 34200 * 10**9


def test_bad_message_row_costs_only_itself(tmp_path: Path) -> None:
    good, _ = load_lobster(_subset(tmp_path, 500))

    def corrupt(msgs, book):
        msgs[100] = "34201.5,9,1,1,2238200,1"        # unknown type 9
        msgs[200] = "34202.x,1,1,1,2238200,1"        # bad time
        return msgs, book

    recs, st = load_lobster(_subset(tmp_path, 500, corrupt))
    assert st.rejected == {"unknown_message": 1, "bad_number": 1}
    assert "message_1.csv:101" in st.examples["unknown_message"][0]
    assert len(recs) == 500
    keep = np.ones(500, bool)
    keep[[100, 200]] = False
    for f in ("bid_px", "bid_sz", "ask_px", "ask_sz", "trade_buy", "trade_sell"):
        np.testing.assert_array_equal(recs[f][keep], good[f][keep])


def test_mismatched_files_are_a_loader_error(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="message rows"):
        load_lobster(_subset(tmp_path, 50, lambda m, b: (m, b[:-1])))
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(LoaderError):
        load_lobster(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_message_rows(text: str) -> None:
    rows, bad, errs = _parse_messages(text, "fuzz")
    assert len(rows) == len(text.splitlines())
    assert all(isinstance(e, DecodeError) for e in errs) and len(bad) == len(errs)


def test_executions_are_the_records_trades() -> None:
    """Every type 4 / 5 message, with the aggressor opposite the resting order's direction, and the same
    lots per row as the records' trade_buy / trade_sell (one rule, lobster._executed, feeds both)."""
    ex = load_executions(ZIP)
    recs, _ = load_lobster(ZIP)
    assert ex.instrument.symbol == "AMZN" and len(ex.px) == 8974 + 2445    # visible + hidden executions
    buy, sell = np.zeros(len(recs), np.int64), np.zeros(len(recs), np.int64)
    np.add.at(buy, ex.row[ex.side > 0], ex.lots[ex.side > 0])
    np.add.at(sell, ex.row[ex.side < 0], ex.lots[ex.side < 0])
    np.testing.assert_array_equal(buy, recs["trade_buy"])
    np.testing.assert_array_equal(sell, recs["trade_sell"])
    np.testing.assert_array_equal(ex.ts_ns, recs["ts_ns"][ex.row])
    # The first two: "34200.017459617,5,0,1,2238200,-1" (1 share of a hidden sell at 223.82: a buyer
    # initiated) and "34200.190226476,4,11885113,21,2238100,1" (21 shares of a visible buy at 223.81)
    assert [(int(ex.px[k]), int(ex.lots[k]), int(ex.side[k])) for k in (0, 1)] == [(22382, 1, 1), (22381, 21, -1)]


def test_executions_between_ticks_round_away_from_the_aggressor(tmp_path: Path) -> None:
    """A midpoint execution at 223.825 reaches a bid at 223.83 for a seller (ceil) and an ask at 223.82
    for a buyer (floor), never one a tick further."""
    def half_cent(msgs, book):
        t = msgs[10].split(",")[0]
        msgs[10] = f"{t},5,0,100,2238250,1"      # hidden buy order executed: seller-initiated
        msgs[11] = f"{t},5,0,100,2238250,-1"     # hidden sell order executed: buyer-initiated
        return msgs, book

    ex = load_executions(_subset(tmp_path, 50, half_cent))
    i = {int(r): k for k, r in enumerate(ex.row)}
    assert (ex.px[i[10]], ex.side[i[10]]) == (22383, -1)
    assert (ex.px[i[11]], ex.side[i[11]]) == (22382, 1)


def test_executions_refuse_a_malformed_row_with_its_place(tmp_path: Path) -> None:
    def corrupt(msgs, book):
        msgs[7] = "34200.5,4,1,x,2238200,1"
        return msgs, book

    with pytest.raises(DecodeError, match="bad_number|non-integer") as e:
        load_executions(_subset(tmp_path, 50, corrupt))
    assert "message_1.csv:8" in str(e.value)


def test_instrument_from_member_names(tmp_path: Path) -> None:
    assert lobster_instrument(ZIP).symbol == "AMZN"
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(LoaderError, match="not a readable zip"):
        lobster_instrument(bad)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr(MSG, "")
        zf.writestr(MSG.replace("AMZN", "AAPL"), "")
    with pytest.raises(LoaderError, match="one symbol"):
        lobster_instrument(two)
