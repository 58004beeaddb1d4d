"""The one capture line reader (control.marketdata.source.iter_lines): streamed in blocks, gzip or
plain; the appliance's replay (trailing '\\r's dropped, empty lines skipped) and read_lines (every line,
one trailing '\\r' dropped) from the same code."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from control.marketdata import source
from control.marketdata.errors import LoaderError
from control.marketdata.source import iter_lines, read_lines, sniff_instrument

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "binance" / "btcusdt_20240718.gz"
LOBSTER = Path(__file__).resolve().parents[3] / "shared" / "data" / "lobster" / "LOBSTER_SampleFile_AAPL_2012-06-21_1.zip"
RAW = b"a b\r\n\nccc\r\r\n\r\n" + b"x" * 700 + b"\nlast\r"


def _write(tmp_path: Path, data: bytes, gz: bool) -> Path:
    p = tmp_path / ("c.gz" if gz else "c.txt")
    p.write_bytes(gzip.compress(data) if gz else data)
    return p


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("block", [1, 3, 64, 1 << 20])
def test_both_modes_at_any_block_size(tmp_path, monkeypatch, gz, block):
    monkeypatch.setattr(source, "_BLOCK", block)
    p = _write(tmp_path, RAW, gz)
    assert list(iter_lines([p])) == [b"a b", b"ccc", b"x" * 700, b"last"]
    assert read_lines(p) == [b"a b", b"", b"ccc\r", b"", b"x" * 700, b"last"]
    assert list(iter_lines([p, p])) == 2 * [b"a b", b"ccc", b"x" * 700, b"last"]


def test_real_capture_and_errors(tmp_path):
    data = gzip.decompress(BUNDLED.read_bytes())
    assert read_lines(BUNDLED) == data.split(b"\n")[:-1] == list(iter_lines([BUNDLED]))
    with pytest.raises(LoaderError, match="cannot read"):
        read_lines(tmp_path / "missing.gz")
    bad = tmp_path / "bad.gz"
    full = gzip.compress(b"".join(b"%d\n" % (i * 7919 % 100003) for i in range(20000)))
    bad.write_bytes(full[: len(full) // 2])
    with pytest.raises(LoaderError, match="cannot read"):
        list(iter_lines([bad]))


def test_sniff_instrument_of_either_venue(tmp_path):
    assert sniff_instrument(BUNDLED).key == ("binance", "usdm", "BTCUSDT")
    if LOBSTER.is_file():
        assert sniff_instrument(LOBSTER).key == ("lobster", "nasdaq", "AAPL")
    with pytest.raises(LoaderError):
        sniff_instrument(tmp_path / "missing.zip")
    with pytest.raises(LoaderError):
        sniff_instrument(tmp_path / "missing.gz")
