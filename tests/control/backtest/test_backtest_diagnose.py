"""The fill diagnosis (control.backtest.diagnose): per-fill description, rank correlation, oracle bound."""
from __future__ import annotations

import numpy as np
import pytest

from control.backtest.arrays import BUY, PRED_DTYPE, SELL, TRADE_DTYPE
from control.backtest.diagnose import (
    diagnose,
    diagnose_stream,
    feature_correlation,
    fill_info,
    oracle_reduction,
    rank_correlation,
)
from control.backtest.metrics import MidSeries, fill_metrics
from control.backtest.simulator import simulate
from control.quoting import QuotingEngine, load_config


def test_rank_correlation():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties get average ranks: x ranks (0.5, 0.5, 2, 3) against y ranks (0, 1, 2, 3)
    rx, ry = np.array([0.5, 0.5, 2, 3]), np.arange(4.0)
    assert rank_correlation([5, 5, 6, 7], [1, 2, 3, 4]) == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert rank_correlation([1, 2, np.nan, 4, 5], [1, 2, 3, np.nan, 5]) == pytest.approx(1.0)
    assert np.isnan(rank_correlation([1, 1, 1], [1, 2, 3]))
    assert np.isnan(rank_correlation([1, 2], [1, 2]))


def test_oracle_drops_the_worst_volume():
    # AS 3, 1, 2 bp on 1, 1, 2 lots: baseline 2.0; keeping 2.8 of 4 lots keeps the 1 bp lot and 1.8 of
    # the two 2 bp lots -> (1 + 3.6) / 2.8
    base, best = oracle_reduction(np.array([3.0, 1.0, 2.0]), np.array([1, 1, 2]), keep=0.7)
    assert base == pytest.approx(2.0)
    assert best == pytest.approx(4.6 / 2.8)
    base, best = oracle_reduction(np.array([np.nan, 1.0]), np.array([5, 1]))
    assert base == best == pytest.approx(1.0)


def test_fill_info_describes_each_fill(recs):
    cfg = load_config()
    # 1 bp = 10 ticks at a 100000-tick mid; the default 0.5 bp floor quotes 99995 / 100005
    r = recs([(1000, 99_999, 100_001), (2000, 99_999, 100_001), (5000, 99_989, 99_991), (9000, 99_989, 99_991)])
    tr = np.zeros(2, dtype=TRADE_DTYPE)
    tr[0] = (3000, 3000, 99_993, 4, SELL)     # through our bid by 2 ticks
    tr[1] = (4000, 3500, 100_005, 2, BUY)     # at our ask; message 500 ns late
    preds = np.zeros(len(r), dtype=PRED_DTYPE)
    preds["p_up"], preds["p_down"], preds["p_withdraw"] = [0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8], 0.25
    sim = simulate(r, np.zeros(len(r), dtype=PRED_DTYPE), tr, QuotingEngine(cfg), "BTCUSDT", latency_ns=0,
                   horizon_ns=10**9)
    assert sim.fills["side"].tolist() == [1, -1]
    mids = MidSeries.from_records(r)
    info = fill_info(sim.fills, r, tr, preds, mids)
    bid, ask = sim.fills["px"]
    assert info["side"].tolist() == [1, -1] and info["lots"].tolist() == [4, 2]
    assert info["through_ticks"].tolist() == [bid - 99_993, 100_005 - ask]
    assert info["behind_touch_ticks"].tolist() == [99_999 - bid, ask - 100_001]
    assert info["spread_ticks"].tolist() == [2, 2]
    assert info["feed_delay_ms"].tolist() == pytest.approx([0.0, 500 / 1e6])
    # record 1 (t 2000) is the last decision before both matches; the touch last changed at record 0
    assert info["p_side"].tolist() == pytest.approx([0.6, 0.2])      # p_down for the bid, p_up for the ask
    assert info["p_other"].tolist() == pytest.approx([0.2, 0.6])
    assert info["touch_age_ms"].tolist() == pytest.approx([(3000 - 1000) / 1e6, (3500 - 1000) / 1e6])
    assert info["distance_bp"] == pytest.approx([(100_000 - bid) / bid * 1e4, (ask - 100_000) / ask * 1e4])
    assert info["episode"].tolist() == [0, 1]                        # the side changed
    assert info["record"].tolist() == [1, 1]
    m = fill_metrics(sim.fills, mids, (1000,))
    d = diagnose(info, m.per_fill_adverse_bp, 1000)
    assert d.n_fills == 2 and d.n_episodes == 2 and d.by_side["all"]["fills"] == 2


def test_diagnose_stream_runs_the_static_baseline(recs):
    rng = np.random.default_rng(3)
    n = 300
    t = np.cumsum(rng.integers(1_000_000, 20_000_000, n))
    mid = 100_000 + np.cumsum(rng.integers(-3, 4, n))
    r = recs([(int(t[i]), int(mid[i] - 1), int(mid[i] + 1)) for i in range(n)])
    tt = np.sort(rng.integers(t[0], t[-1], 400))
    ref = mid[np.searchsorted(t, tt) - 1]
    side = rng.choice([BUY, SELL], len(tt))
    tr = np.zeros(len(tt), dtype=TRADE_DTYPE)
    tr["recv_ns"] = tr["ts_ns"] = tt
    tr["px"], tr["lots"], tr["side"] = ref + side * rng.integers(0, 12, len(tt)), rng.integers(1, 5, len(tt)), side
    preds = np.zeros(n, dtype=PRED_DTYPE)
    preds["p_up"], preds["p_down"] = rng.random(n), rng.random(n)
    d, info, adv = diagnose_stream(r, tr, preds, load_config(), "BTCUSDT", latency_ns=0, horizon_ns=10**9,
                                   compare_horizon_ns=100_000_000)
    assert d.n_fills == len(info) > 10
    assert 0 <= d.volume_in_top_decile <= 1
    assert d.oracle[1] <= d.oracle[0]
    assert set(d.by_side) == {"ask", "bid", "all"}
    # The through-only rule drops the fills at our price (px = ours), keeps the ones through it.
    dt, info_t, _ = diagnose_stream(r, tr, preds, load_config(), "BTCUSDT", latency_ns=0, horizon_ns=10**9,
                                    compare_horizon_ns=100_000_000, fill_rule="through")
    assert 0 < dt.n_fills < d.n_fills
    assert np.all(info_t["through_ticks"] > 0) and np.any(info["through_ticks"] == 0)
    assert d.by_feature == {}, "no features given"
    # with the model's inputs: per feature and side, the feature's value at each fill's decision
    feats = rng.integers(-128, 128, (n, 2)).astype(np.int8)
    df, info_f, adv_f = diagnose_stream(r, tr, preds, load_config(), "BTCUSDT", latency_ns=0, horizon_ns=10**9,
                                        compare_horizon_ns=100_000_000, features=feats, feature_names=("x", "y"))
    bid = info_f["side"] > 0
    assert set(df.by_feature) == {"x", "y"} and set(df.by_feature["x"]) == {"ask", "bid"}
    assert df.by_feature["y"]["bid"] == pytest.approx(
        rank_correlation(feats[info_f["record"][bid], 1], adv_f[100_000_000][bid]))


def test_feature_correlation_is_per_side():
    """A feature that rises with the adverse selection of bids and falls with that of asks (a signed
    pressure reading: the same warning, the other way round for each side) is +1 / -1, not washed out."""
    info = np.zeros(6, dtype=[("side", np.int8), ("record", np.int64)])
    info["side"], info["record"] = [1, 1, 1, -1, -1, -1], [0, 1, 2, 3, 4, 5]
    adverse = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    feats = np.array([[10], [20], [30], [30], [20], [10]], dtype=np.int8)
    corr = feature_correlation(info, adverse, feats, ["pressure"])
    assert corr["pressure"]["bid"] == pytest.approx(1.0) and corr["pressure"]["ask"] == pytest.approx(-1.0)


def test_json_has_no_nan():
    from control.backtest.diagnose import nan_to_none
    assert nan_to_none({"a": [float("nan"), 1.0, (2, float("nan"))], "b": {"c": float("nan")}}) == \
        {"a": [None, 1.0, [2, None]], "b": {"c": None}}


def test_unreadable_capture_is_one_line_and_exit_2(tmp_path, capsys):
    from control.backtest.diagnose import main
    with pytest.raises(SystemExit) as e:
        main([str(tmp_path / "missing.gz")])
    assert e.value.code == 2 and f"error: {tmp_path / 'missing.gz'}: cannot read" in capsys.readouterr().err
