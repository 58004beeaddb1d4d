"""LOBSTER reader: exact parsing, and a malformed row costs only itself."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control.marketdata.errors import DecodeError, LoaderError
from control.marketdata.lobster import _parse_messages, _time_ns, load_lobster

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
