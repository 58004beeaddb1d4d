"""`quoteguard backtest` on real recorded data (Binance BTCUSDT 2024-07-18, the smaller capture; LOBSTER
AMZN 2012-06-21, whose model split is by time of day)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from control.backtest.data import load_replay, load_trades, model_segments, predict
from control.backtest.run import Segment
from control.cli import main
from control.marketdata.errors import LoaderError
from control.marketdata.lobster import load_executions

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "binance" / "usdm"
BTC18 = DATA / "btcusdt_20240718.gz"
AMZN = DATA.parents[1] / "lobster" / "LOBSTER_SampleFile_AMZN_2012-06-21_5.zip"
needs_amzn = pytest.mark.skipif(not AMZN.is_file(), reason=f"real data not found at {AMZN}")

pytestmark = pytest.mark.skipif(not BTC18.is_file(), reason=f"real data not found at {BTC18}")


def test_trades_decoded_from_real_capture():
    t = load_trades([BTC18])
    assert len(t) == 974                              # the capture's @trade lines
    assert np.all(np.diff(t["recv_ns"]) >= 0)
    assert set(np.unique(t["side"]).tolist()) == {-1, 1}
    assert t["px"][0] == 639_439 and t["lots"][0] == 3   # first line: 63943.90 x 0.003, buyer is maker


def test_backtest_baselines_json_and_report(tmp_path):
    res = CliRunner().invoke(main, ["backtest", "--no-model", "--json", "--latency-ms", "5",
                                    "--report", str(tmp_path / "rep"), str(BTC18)])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["symbol"] == "BTCUSDT" and s["records"] > 3000 and s["trades"] == 974
    assert set(s["arms"]) == {"static", "vol"}
    assert s["arms"]["static"]["fills"] > 0
    assert s["comparison_all"] is None
    for f in ("report.md", "summary.json", "markouts.png", "pnl.png", "spread.png"):
        assert (tmp_path / "rep" / "BTCUSDT" / f).is_file()


def test_missing_model_artifacts_exit_2(tmp_path):
    cfg = tmp_path / "m" / "config.yaml"
    cfg.parent.mkdir()
    cfg.write_text((Path(__file__).resolve().parents[3] / "models" / "qg_mlp" / "config.yaml").read_text())
    res = CliRunner().invoke(main, ["backtest", "--model", str(cfg), str(BTC18)])
    assert res.exit_code == 2
    assert "artifact" in res.output and "--no-model" in res.output


def test_bad_quoting_config_is_a_usage_error(tmp_path):
    bad = tmp_path / "q.yaml"
    bad.write_text("instruments: {}\npolicy: {}\n")
    res = CliRunner().invoke(main, ["backtest", "--no-model", "--config", str(bad), str(BTC18)])
    assert res.exit_code == 2 and "at least one instrument" in res.output


def test_fill_rule_option(tmp_path):
    runs = {}
    for rule in ("at_or_through", "queue"):
        res = CliRunner().invoke(main, ["backtest", "--no-model", "--json", "--fill-rule", rule,
                                        "--report", str(tmp_path / rule), str(BTC18)])
        assert res.exit_code == 0, res.output
        runs[rule] = json.loads(res.output)
        assert runs[rule]["fill_rule"] == rule
        assert f"fill rule {rule}" in (tmp_path / rule / "BTCUSDT" / "report.md").read_text()
    # This capture's few baseline fills all come from trades through the quote (the rules differ at it).
    assert runs["queue"]["arms"]["static"]["volume_lots"] <= runs["at_or_through"]["arms"]["static"]["volume_lots"]
    bad = CliRunner().invoke(main, ["backtest", "--no-model", "--fill-rule", "front", str(BTC18)])
    assert bad.exit_code == 2 and "fill-rule" in bad.output


@needs_amzn
def test_trades_of_a_lobster_file_are_its_executions():
    t, ex = load_trades([AMZN]), load_executions(AMZN)
    assert len(t) == len(ex.px) == 11419
    np.testing.assert_array_equal(t["recv_ns"], ex.ts_ns)      # no receive clock: the exchange's
    np.testing.assert_array_equal(t["ts_ns"], ex.ts_ns)
    np.testing.assert_array_equal(t["px"], ex.px)
    np.testing.assert_array_equal(t["side"], ex.side)
    with pytest.raises(LoaderError, match="expected"):
        load_trades([BTC18, AMZN])                              # one stream is one instrument


@needs_amzn
def test_model_segments_split_a_lobster_day_at_the_configs_cuts():
    """The model trains on AMZN before 12:30 New York time, validates until 14:15 and tests after:
    the backtest scores the same three parts, contiguous, so the held-out hours count as unseen."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    rd = load_replay([AMZN])
    segs = model_segments(rd, predict(rd.records, "qg_mlp"))
    assert [(g.name, g.split) for g in segs] == [(f"{AMZN.name} [{x}]", x) for x in ("train", "val", "test")]
    assert segs[0].first_record == 0 and segs[-1].end_record == len(rd.records)
    assert all(a.end_record == b.first_record for a, b in zip(segs, segs[1:], strict=False))
    ny = ZoneInfo("America/New_York")
    for seg, cut in zip(segs[1:], ("12:30", "14:15"), strict=True):
        first = datetime.fromtimestamp(rd.records["ts_ns"][seg.first_record] / 1e9, ny)
        last_before = datetime.fromtimestamp(rd.records["ts_ns"][seg.first_record - 1] / 1e9, ny)
        assert last_before.strftime("%H:%M") < cut <= first.strftime("%H:%M")
    assert model_segments(rd, None) == (Segment(AMZN.name, 0, len(rd.records), "unknown"),)


@needs_amzn
def test_lobster_backtest_scores_its_held_out_hours():
    res = CliRunner().invoke(main, ["backtest", "--json", str(AMZN)])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["symbol"] == "AMZN" and s["trades"] == 11419
    assert [g["split"] for g in s["segments"]] == ["train", "val", "test"]
    test_part = f"{AMZN.name} [test]"
    static = s["arms"]["static"]
    assert static["fills"] > 5000 and static["per_segment"][test_part]["fills"] > 1500
    unseen = s["comparison_unseen"]
    assert unseen["fills_baseline"] == sum(static["per_segment"][f"{AMZN.name} [{x}]"]["fills"] for x in ("val", "test"))
    assert s["comparison_per_segment"][test_part]["verdict"]


def test_unusable_lobster_zip_is_a_usage_error_naming_it_once(tmp_path):
    """A zip that is not one, or one of a stock no instrument is registered for: exit 2 and one line
    that names the file, no traceback."""
    import zipfile

    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"not a zip")
    msft = tmp_path / "MSFT.zip"
    with zipfile.ZipFile(msft, "w") as zf:
        zf.writestr("MSFT_2012-06-21_34200000_57600000_message_1.csv", "34200.1,1,1,100,300000,1\n")
        zf.writestr("MSFT_2012-06-21_34200000_57600000_orderbook_1.csv", "300100,100,300000,100\n")
    for bad, why in ((garbage, "not a readable zip"), (msft, "no instrument lobster:nasdaq:MSFT")):
        res = CliRunner().invoke(main, ["backtest", str(bad)])
        assert res.exit_code == 2, res.output
        assert res.output.count(str(bad)) == 1 and why in res.output and "Traceback" not in res.output
