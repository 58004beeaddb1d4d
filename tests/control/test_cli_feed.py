"""`quoteguard feed replay|stats` through click's CliRunner on real recorded data."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from control.cli import main
from control.cli.feed import feed

REPO = Path(__file__).resolve().parents[2]
BUNDLED = str(REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz")
SHARED = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="shared/data not present")


def _run(*args: str):
    return CliRunner().invoke(feed, list(args), catch_exceptions=False)


def test_replay_table() -> None:
    res = _run("replay", BUNDLED)
    assert res.exit_code == 0, res.output
    assert "btcusdt_20240718.gz" in res.output and "binance:usdm:BTCUSDT" in res.output
    assert "bbo 7113, depth 3326, snapshot 1, trade 974" in res.output


def test_replay_json_counts() -> None:
    res = _run("replay", BUNDLED, "--json", "--stats", "--levels", "5")
    assert res.exit_code == 0
    (stream,) = json.loads(res.output)
    (f,) = stream["files"]
    assert f["messages"] == 11414 and f["records"] == 3322 and f["gaps"] == 0 and f["rejected_total"] == 0
    assert f["events"] == {"bbo": 7113, "depth": 3326, "snapshot": 1, "trade": 974}
    assert f["messages_per_s"] > 0
    assert stream["book"]["spread_ticks"]["p50"] == 1.0


def test_replay_reports_bad_records(tmp_path: Path) -> None:
    import gzip
    lines = gzip.open(BUNDLED).read().split(b"\n")
    lines.insert(50, b"1721347021999999999 {broken json")
    bad = tmp_path / "btcusdt_broken.gz"
    bad.write_bytes(gzip.compress(b"\n".join(lines)))
    res = _run("replay", str(bad), "--stats")
    assert res.exit_code == 0
    assert "malformed_json 1" in res.output and "btcusdt_broken.gz:51:" in res.output


@needs_shared
def test_replay_chains_a_session_across_midnight() -> None:
    a = str(SHARED / "binance" / "usdm" / "btcusdt_20240718.gz")
    b = str(SHARED / "binance" / "usdm" / "btcusdt_20240719.gz")
    (chained,) = json.loads(_run("replay", a, b, "--json").output)
    assert [f["records"] for f in chained["files"]] == [3322, 5696]
    alone = json.loads(_run("replay", b, "--json").output)[0]["files"][0]
    assert alone["records"] == 0 and alone["in_sync"] is False and alone["events"]["depth"] == 5696


@needs_shared
def test_stats_lobster_and_binance_checks() -> None:
    z = str(SHARED / "lobster" / "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip")
    res = _run("stats", z, BUNDLED, "--json")
    assert res.exit_code == 0, res.output
    lob, bn = json.loads(res.output)
    assert lob["checks"][0]["kind"] == "rebuild_from_messages" and lob["checks"][0]["ratio"] == 1.0
    assert bn["checks"][0]["kind"] == "bookTicker_agreement" and bn["checks"][0]["ratio"] >= 0.999
    assert bn["book"]["records"] == 3322


def test_stats_table() -> None:
    res = _run("stats", BUNDLED)
    assert res.exit_code == 0
    assert "spread (ticks)" in res.output and "bookTicker_agreement" in res.output


def test_usage_errors_exit_2() -> None:
    assert _run("replay").exit_code == 2
    assert _run("replay", "/nonexistent/file.gz").exit_code == 2
    assert _run("replay", BUNDLED, "--levels", "0").exit_code == 2


def test_unreadable_input_exits_1(tmp_path: Path) -> None:
    z = tmp_path / "LOBSTER_broken.zip"
    z.write_bytes(b"not a zip")
    res = _run("replay", str(z))
    assert res.exit_code == 1 and "error:" in res.output


def test_help_has_examples_and_group_is_registered() -> None:
    for verb in ("replay", "stats", "live"):
        res = _run(verb, "--help")
        assert res.exit_code == 0 and "Examples:" in res.output
    res = CliRunner().invoke(main, ["feed", "--help"])
    assert res.exit_code == 0 and "replay" in res.output and "stats" in res.output


def test_instrument_override_changes_the_lot(tmp_path: Path) -> None:
    """A YAML override redefines the instrument: with a 0.01 lot, '46.372' is off-lot and refused."""
    y = tmp_path / "instruments.yaml"
    y.write_text('- {venue: binance, market: usdm, symbol: BTCUSDT, tick: "0.1", lot: "0.01"}\n')
    res = _run("replay", BUNDLED, "--instruments", str(y), "--json")
    assert res.exit_code == 0
    f = json.loads(res.output)[0]["files"][0]
    assert f["rejected"].get("off_lot", 0) > 0
