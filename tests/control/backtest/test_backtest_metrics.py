"""Markouts, adverse selection and PnL on a hand-made fill sequence with exact numbers."""
from __future__ import annotations

import numpy as np
import pytest

from control.backtest.arrays import FILL_DTYPE
from control.backtest.metrics import MidSeries, fill_metrics, pnl_series

# mids (half-ticks): 100000 until 3000, then 99950
MIDS = MidSeries(np.array([1000, 3000], np.int64), np.array([200_000, 199_900], np.int64))
FILLS = np.array([(2000, 99_990, 3, 1, 1, 0), (2500, 100_010, 10, -1, 2, 0)], dtype=FILL_DTYPE)


def test_mid_lookup_is_causal():
    assert MIDS.at(np.array([999, 1000, 2999, 3000, 10**9])).tolist() == [0, 200_000, 200_000, 199_900, 199_900]
    assert MIDS.at(np.array([3000]), strictly_before=True).tolist() == [200_000]


def test_markouts_and_adverse_selection_exact():
    m = fill_metrics(FILLS, MIDS, horizons_ns=(500, 1000))
    assert (m.n_fills, m.volume_lots, m.buy_lots, m.sell_lots) == (2, 13, 3, 10)
    cap1, cap2 = 10 / 99_990 * 1e4, 10 / 100_010 * 1e4            # both 10 ticks inside the mid
    assert m.spread_captured_bp == pytest.approx((3 * cap1 + 10 * cap2) / 13)
    # 500 ns: fill 1 sees mid 100000 (markout +10 ticks), fill 2 sees 99950 (sold 60 above)
    mo1, mo2 = 10 / 99_990 * 1e4, 60 / 100_010 * 1e4
    assert m.markout_bp[500] == pytest.approx((3 * mo1 + 10 * mo2) / 13)
    assert m.adverse_bp[500] == pytest.approx((3 * 0 + 10 * (-50 / 100_010 * 1e4)) / 13)
    # 1000 ns: fill 2's horizon (3500) is past the last record -> only fill 1 counts
    assert m.markout_bp[1000] == pytest.approx(-40 / 99_990 * 1e4)
    assert m.adverse_bp[1000] == pytest.approx(50 / 99_990 * 1e4)
    assert np.isnan(m.adverse_se_bp[1000])       # one fill: no standard error


def test_pnl_marked_to_mid():
    p = pnl_series(FILLS, MIDS, tick_size=0.1, lot_size=0.001)
    assert p.position_lots.tolist() == [0, -7]
    cash = -3 * 99_990 * 1e-4 + 10 * 100_010 * 1e-4
    assert p.cash[1] == pytest.approx(cash)
    assert p.pnl.tolist() == pytest.approx([0.0, cash - 7 * 99_950 * 1e-4])


def test_no_fills():
    m = fill_metrics(np.zeros(0, FILL_DTYPE), MIDS)
    assert m.n_fills == 0 and np.isnan(m.adverse_bp[1_000_000_000])
    assert pnl_series(np.zeros(0, FILL_DTYPE), MIDS, 0.1, 0.001).pnl.tolist() == [0.0, 0.0]


def test_adverse_by_prediction_buckets():
    from control.backtest.arrays import PRED_DTYPE
    from control.backtest.metrics import adverse_by_prediction
    preds = np.zeros(1, dtype=PRED_DTYPE)
    preds["p_up"], preds["p_down"], preds["p_withdraw"] = 0.6, 0.1, 0.5
    rows = adverse_by_prediction(FILLS, preds, MIDS, horizon_ns=500)
    assert len(rows) == 6
    # the sale (ask filled) is hurt by an up move: p 0.6; the purchase by a down move: p 0.1
    low, top = rows[0], rows[2]
    assert (low.n_fills, low.lots, top.n_fills, top.lots) == (1, 3, 1, 10)
    assert low.adverse_bp == pytest.approx(0.0) and top.adverse_bp == pytest.approx(-50 / 100_010 * 1e4)


def test_adverse_by_prediction_deciles():
    from control.backtest.arrays import PRED_DTYPE
    from control.backtest.metrics import adverse_by_prediction
    preds = np.zeros(1, dtype=PRED_DTYPE)
    preds["p_up"], preds["p_down"], preds["p_withdraw"] = 0.6, 0.1, 0.5
    rows = adverse_by_prediction(FILLS, preds, MIDS, horizon_ns=500, n_buckets=10)
    assert len(rows) == 20
    assert sum(r.n_fills for r in rows[:10]) == len(FILLS) == sum(r.n_fills for r in rows[10:])
