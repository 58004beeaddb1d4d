"""End-to-end backtest on a synthetic market with known structure: an oracle model that sees jumps
coming must cut adverse selection; a neutral model must equal the no-model arm exactly."""
from __future__ import annotations

import numpy as np
import pytest

from control.backtest.arrays import BUY, PRED_DTYPE, SELL, TRADE_DTYPE, neutral_predictions
from control.backtest.compare import compare
from control.backtest.metrics import MidSeries, fill_metrics
from control.backtest.report import markdown, summary, write_report
from control.backtest.run import BacktestSettings, Segment, run_backtest
from control.quoting import load_config
from models.record import FLAG_IN_SYNC, empty_records

MS = 1_000_000


def synthetic_market(seed: int = 3, n: int = 3000):
    """A mid that drifts by small steps and sometimes jumps 3 bp; each jump is announced 20 ms ahead
    by a sweep of trades through the old levels in the jump's direction (informed flow)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.int64) * 50 * MS + 10**18
    steps = rng.integers(-1, 2, n) * 2
    jump = rng.random(n) < 0.06
    direction = rng.choice([-1, 1], n)
    steps = np.where(jump, direction * 30, steps)      # 3 bp of a 100000-tick mid
    mid = 100_000 + np.cumsum(steps)
    r = empty_records(n)
    r["seq"], r["ts_ns"], r["recv_ns"], r["flags"] = np.arange(n), t, t, FLAG_IN_SYNC
    r["bid_px"][:, 0], r["ask_px"][:, 0] = mid - 1, mid + 1
    r["bid_sz"][:, 0] = r["ask_sz"][:, 0] = 5
    tr = []
    for i in range(1, n):
        if jump[i]:       # the sweep arrives just before the record that shows the new mid
            side = BUY if direction[i] > 0 else SELL
            px = mid[i] + side * 5
            tr.append((t[i] - 5 * MS, t[i] - 5 * MS, px, 20, side))
        else:             # uninformed flow both ways at the current touch +- 12 ticks
            s = int(rng.choice([BUY, SELL]))
            tr.append((t[i] - 20 * MS, t[i] - 20 * MS, mid[i - 1] + s * 12, 2, s))
    trades = np.array(tr, dtype=TRADE_DTYPE)
    oracle = np.zeros(n, dtype=PRED_DTYPE)
    up_next = np.zeros(n, bool)
    dn_next = np.zeros(n, bool)
    up_next[:-1] = jump[1:] & (direction[1:] > 0)
    dn_next[:-1] = jump[1:] & (direction[1:] < 0)
    oracle["p_up"] = np.where(up_next, 0.9, 0.05)
    oracle["p_down"] = np.where(dn_next, 0.9, 0.05)
    return r, trades, oracle


def low_vol_config():
    """The default policy with a 1 bp floor (the synthetic flow is scaled to it) and a small
    volatility weight: the synthetic jumps would otherwise lift the half-spread beyond both the sweeps
    and the uninformed flow, and nothing would fill."""
    return load_config().with_spread(floor_bp=1.0, vol_multiplier=0.2)


def test_oracle_model_cuts_adverse_selection():
    r, trades, oracle = synthetic_market()
    cfg = low_vol_config()
    settings = BacktestSettings("BTCUSDT", latency_ns=1 * MS, horizon_ns=2_000 * MS)
    res = run_backtest(r, trades, cfg, settings, preds=oracle,
                       segments=(Segment("a", 0, 1500, "train"), Segment("b", 1500, 3000, "test")))
    st, mo = res.arms["static"].metrics, res.arms["model"].metrics
    assert st.n_fills > 100
    assert mo.adverse_bp[1_000_000_000] < 0.5 * st.adverse_bp[1_000_000_000]
    c = res.comparison
    assert c.reduction > 0.5 and c.target_met and c.firm and "MET" in c.verdict
    assert res.unseen_comparison is not None and set(res.per_segment_comparison) == {"a", "b"}
    # the per-segment metrics partition the fills
    assert sum(m.n_fills for m in res.arms["model"].per_segment.values()) == mo.n_fills


def test_neutral_model_equals_the_vol_arm():
    r, trades, _ = synthetic_market(n=800)
    res = run_backtest(r, trades, low_vol_config(), BacktestSettings("BTCUSDT", latency_ns=MS),
                       preds=neutral_predictions(len(r)))
    np.testing.assert_array_equal(res.arms["model"].sim.fills, res.arms["vol"].sim.fills)


def test_baselines_only_and_report(tmp_path):
    r, trades, oracle = synthetic_market(n=600)
    res = run_backtest(r, trades, low_vol_config(), BacktestSettings("BTCUSDT"))
    assert set(res.arms) == {"static", "vol"} and res.comparison is None
    assert "no model predictions" in markdown(res)
    res = run_backtest(r, trades, low_vol_config(), BacktestSettings("BTCUSDT"), preds=oracle)
    md = write_report(res, tmp_path / "rep", r, oracle)
    assert md.read_text().startswith("# Backtest: BTCUSDT")
    assert all((tmp_path / "rep" / f).stat().st_size > 1000 for f in ("markouts.png", "pnl.png", "spread.png"))
    s = summary(res)
    assert s["arms"]["model"]["fills"] == res.arms["model"].metrics.n_fills


def test_compare_is_not_firm_on_few_fills():
    r, trades, oracle = synthetic_market(n=150)
    res = run_backtest(r, trades, low_vol_config(), BacktestSettings("BTCUSDT"), preds=oracle)
    assert not res.comparison.firm and "NOT a firm conclusion" in res.comparison.verdict


def test_compare_without_baseline_adverse_selection():
    mids = MidSeries(np.array([0, 10**10], np.int64), np.array([200_000, 200_000], np.int64))
    from control.backtest.arrays import FILL_DTYPE
    f = np.array([(10, 99_990, 1, 1, 0, 0)], dtype=FILL_DTYPE)
    m = fill_metrics(f, mids)
    c = compare(m, m)
    assert not c.target_met and "no adverse selection" in c.verdict


def test_unknown_symbol_is_named():
    r, trades, _ = synthetic_market(n=50)
    from control.quoting import QuotingConfigError
    with pytest.raises(QuotingConfigError, match="XRPUSDT"):
        run_backtest(r, trades, low_vol_config(), BacktestSettings("XRPUSDT"))
