"""The fill-toxicity probe (control.backtest.toxicity_probe): side frame, ridge fit with episode-block CV,
the 70%-volume drop, and the command on real recorded data."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from control.backtest.diagnose import EPISODE_GAP_NS, drop_by_score, oracle_reduction, sweep_episodes
from control.backtest.toxicity_probe import (
    RIDGES,
    FillSet,
    episode_folds,
    evaluate,
    fit_toxicity,
    frame_names,
    group_fills,
    main,
    side_frame,
)
from models.config import FeatureSpec, load_config

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "binance" / "usdm"
BTC18, BTC19 = DATA / "btcusdt_20240718.gz", DATA / "btcusdt_20240719.gz"
ETH18 = DATA / "ethusdt_20240718.gz"


def test_drop_by_score_drops_the_highest_scores():
    a, lots = np.array([3.0, 1.0, 2.0]), np.array([1, 1, 2])
    # scored by the outcome itself it is the oracle
    assert drop_by_score(a, lots, a) == oracle_reduction(a, lots)
    # scored backwards it drops the best: keeps 2.8 of 4 lots = the 3 bp lot and 1.8 of the 2 bp ones
    base, kept = drop_by_score(a, lots, -a)
    assert base == pytest.approx(2.0) and kept == pytest.approx((3 + 1.8 * 2) / 2.8)
    # equal scores keep their order: 1 lot at 3, 1 at 1, 0.8 of the 2 bp lots
    assert drop_by_score(a, lots, np.zeros(3))[1] == pytest.approx((3 + 1 + 1.6) / 2.8)
    # a fill without an outcome takes no part, whatever its score
    assert drop_by_score(np.array([np.nan, 1.0]), np.array([5, 1]), np.array([-9.0, 0.0])) == (1.0, 1.0)


def test_side_frame_turns_ask_fills_round():
    specs = load_config("qg_mlp").features.specs
    names = [s.name for s in specs]
    x = np.arange(1, len(specs) + 1, dtype=np.float64)[None, :].repeat(2, axis=0)
    out = side_frame(x, np.array([+1, -1]), specs)
    assert np.array_equal(out[0], x[0])                      # a bought bid sees the features as they are
    for j, s in enumerate(specs):
        if s.kind in ("imbalance", "weighted_imbalance", "microprice", "ofi", "mid_change", "trade_flow"):
            assert out[1, j] == -x[1, j], s.name             # pressure up is against a sold ask
        elif s.kind == "touch_share":
            other = names.index("ask_touch_share" if s.side == "bid" else "bid_touch_share")
            assert out[1, j] == x[1, other], s.name          # its own side is the ask
        else:
            assert out[1, j] == x[1, j], s.name              # spread, activity, volatility, ages
    fn = frame_names(specs)
    assert fn[names.index("bid_touch_share")] == "own_touch_share"
    assert fn[names.index("ask_touch_share")] == "other_touch_share"
    assert fn[names.index("microprice")] == "microprice"


def test_side_frame_needs_both_touch_shares():
    specs = (FeatureSpec(name="bid_touch_share", kind="touch_share", side="bid"),)
    with pytest.raises(ValueError, match="bid_touch_share.*no ask partner"):
        side_frame(np.zeros((1, 1)), np.array([1]), specs)


def test_episode_folds_keep_sweeps_whole_and_contiguous():
    ep = np.array([0, 0, 1, 2, 2, 2, 3, 4, 5, 6, 7, 7, 8, 9])
    fold = episode_folds(ep, 5)
    for e in np.unique(ep):
        assert len(set(fold[ep == e].tolist())) == 1          # one sweep, one fold
    assert np.all(np.diff(fold) >= 0)                         # blocks in time order
    assert sorted(set(fold.tolist())) == [0, 1, 2, 3, 4]


def _synthetic(rng: np.random.Generator, n: int, signal: float) -> FillSet:
    x = rng.normal(size=(n, 4))
    adverse = 1.0 + signal * x[:, 0] + 0.3 * rng.normal(size=n)
    # the network's p_side sees the planted feature through noise
    return FillSet("synthetic", x, adverse, rng.integers(1, 5, n), np.arange(n) // 2, x[:, 0] + rng.normal(size=n))


def test_fit_finds_a_planted_toxicity_and_scores_unseen_fills():
    rng = np.random.default_rng(7)
    fit = fit_toxicity(_synthetic(rng, 400, 0.8), ("a", "b", "c", "d"))
    assert np.argmax(np.abs(fit.coef)) == 0 and fit.coef[0] > 0
    assert set(fit.cv_kept_bp) == set(RIDGES) and fit.ridge in fit.cv_kept_bp
    r = evaluate(fit, _synthetic(rng, 300, 0.8))
    assert r.change < 0.8 * r.oracle_change < 0               # most of what a perfect forecast gets
    assert r.change < r.p_side_change < 0                     # a noisy p_side ranks too, less well
    assert r.interval[0] <= r.change <= r.interval[1]
    assert r.rank_corr > 0.8


def test_fit_on_noise_gains_nothing_out_of_sample():
    rng = np.random.default_rng(11)
    fit = fit_toxicity(_synthetic(rng, 400, 0.0), ("a", "b", "c", "d"))
    r = evaluate(fit, _synthetic(rng, 300, 0.0))
    assert abs(r.change) < 0.05 and abs(r.p_side_change) < 0.05 and r.oracle_change < -0.1
    assert r.interval[0] < 0 < r.interval[1]


@pytest.mark.skipif(not (BTC19.is_file() and ETH18.is_file()), reason=f"real data not found in {DATA}")
def test_probe_on_real_captures(capsys):
    assert main(["--json", "--fill-rule", "queue", "--fit", str(BTC18), "--fit", str(ETH18),
                 "--test", f"{BTC18},{BTC19}"]) == 0
    out = json.loads(capsys.readouterr().out)
    fit, (test,) = out["fit"], out["test"]
    assert fit["groups"] == ["BTCUSDT btcusdt_20240718.gz", "ETHUSDT ethusdt_20240718.gz"]
    assert fit["fills"] > 0 and fit["episodes"] >= 5
    assert set(fit["coef"]) == set(frame_names(load_config("qg_mlp").features.specs))
    assert fit["ridge"] in RIDGES
    # only the last file's fills are scored: the 18th's come before them in the same stream
    assert test["group"] == "BTCUSDT btcusdt_20240719.gz" and test["fills"] > 100
    assert test["oracle_change"] < 0 and test["interval"][0] <= test["change"] <= test["interval"][1]
    assert test["oracle_change"] <= test["p_side_change"]
    assert main(["--fit", str(BTC18), "--fit", str(ETH18), "--test", f"{BTC18},{BTC19}"]) == 0
    text = capsys.readouterr().out
    assert "issue-8 target: -30% at 70% volume" in text and "BTCUSDT btcusdt_20240719.gz:" in text
    assert "the network's own p of the hurting move as the score" in text


@pytest.mark.skipif(not BTC18.is_file(), reason=f"real data not found at {BTC18}")
def test_too_few_sweeps_to_fit_is_exit_2(capsys):
    # BTCUSDT 2024-07-18 alone: 8 static fills in 3 sweeps, fewer than the cross-validation's folds
    with pytest.raises(SystemExit) as e:
        main(["--fit", str(BTC18), "--test", str(BTC18)])
    assert e.value.code == 2 and "3 sweep episodes; 5 are needed" in capsys.readouterr().err


@pytest.mark.parametrize("content", [None, b"garbage\n{\"e\": 1}\n"])
def test_unreadable_capture_is_one_line_and_exit_2(tmp_path, capsys, content):
    bad = tmp_path / "bad.dat"
    if content is not None:
        bad.write_bytes(content)
    with pytest.raises(SystemExit) as e:
        main(["--fit", str(bad), "--test", str(bad)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {bad}:" in err and "Traceback" not in err


def test_sweep_episodes_split_on_side_and_gap():
    t = np.array([0, 10, 10 + EPISODE_GAP_NS, 20 + 2 * EPISODE_GAP_NS, 30 + 2 * EPISODE_GAP_NS])
    assert sweep_episodes(t, np.array([1, 1, 1, 1, -1])).tolist() == [0, 0, 0, 1, 2]


@pytest.mark.skipif(not BTC18.is_file(), reason=f"real data not found at {BTC18}")
def test_fit_floors_merge_shared_sweeps_into_one_episode():
    kw = {"model": "qg_mlp", "fill_rule": "queue", "latency_ns": 5_000_000, "role": "fit"}
    close, _ = group_fills([BTC18], floors_bp=(0.2,), **kw)
    usual, _ = group_fills([BTC18], **kw)             # the quoting config's floor, 0.5 bp
    both, _ = group_fills([BTC18], floors_bp=(0.2, None), **kw)
    assert len(close.adverse_bp) > len(usual.adverse_bp) > 0     # more sweeps reach a closer quote
    assert len(both.adverse_bp) == len(close.adverse_bp) + len(usual.adverse_bp)
    n = {k: len(np.unique(fs.episode)) for k, fs in (("close", close), ("usual", usual), ("both", both))}
    assert max(n["close"], n["usual"]) <= n["both"] < n["close"] + n["usual"]   # shared sweeps counted once


@pytest.mark.skipif(not BTC19.is_file(), reason=f"real data not found at {BTC19}")
def test_fit_never_sees_the_models_test_split_and_test_scores_only_it():
    """BTCUSDT 07-18 is the model's val file, 07-19 its test file: given both, a fit group keeps the 18th's
    fills only and a test group the 19th's only; together they are every fill of the stream."""
    kw = {"model": "qg_mlp", "fill_rule": "queue", "latency_ns": 5_000_000}
    fit, _ = group_fills([BTC18, BTC19], role="fit", **kw)
    test, _ = group_fills([BTC18, BTC19], role="test", **kw)
    alone, _ = group_fills([BTC18], role="fit", **kw)
    assert len(fit.adverse_bp) == len(alone.adverse_bp) > 0
    np.testing.assert_array_equal(fit.adverse_bp, alone.adverse_bp)
    assert len(test.adverse_bp) > 100
    with pytest.raises(ValueError, match="role"):
        group_fills([BTC18], role="both", **kw)
