"""`quoteguard backtest` on real recorded data (Binance BTCUSDT 2024-07-18, the smaller capture)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from control.backtest.data import load_trades
from control.cli import main

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "binance" / "usdm"
BTC18 = DATA / "btcusdt_20240718.gz"

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
