"""Fill-level metrics: spread captured, markouts and adverse selection, inventory and PnL.

For a fill of `lots` at `px` on side s (+1 bought, -1 sold), with mid m(t) = the mid of the last
valid book record received at or before t (records received after the fill are never used for the
fill itself, only for its markouts):
  spread captured       = s x (m(t-) - px)            m(t-): last valid record strictly before the fill
  markout(h)            = s x (m(t + h) - px)          the fill's edge h later (positive: we gained)
  adverse selection(h)  = spread captured - markout(h) = s x (m(t-) - m(t + h))
All three are reported per filled unit in basis points of the fill price (lot-weighted means), and
fills whose t + h lies beyond the last record are left out of that horizon. PnL is marked to the mid
in quote currency: cash from fills plus position x mid.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from control.backtest.arrays import FILL_DTYPE, decision_times

DEFAULT_HORIZONS_NS = (100_000_000, 1_000_000_000, 5_000_000_000)


@dataclass(frozen=True, slots=True)
class MidSeries:
    """Valid mids of the replay on the receive clock, in half-ticks (so no rounding of odd sums)."""

    recv_ns: np.ndarray
    mid2: np.ndarray

    @classmethod
    def from_records(cls, records: np.ndarray) -> MidSeries:
        b, a = records["bid_px"][:, 0], records["ask_px"][:, 0]
        ok = (b > 0) & (a > b)
        return cls(decision_times(records)[ok], (a[ok] + b[ok]).astype(np.int64))

    def at(self, t: np.ndarray, *, strictly_before: bool = False) -> np.ndarray:
        """mid2 at times t (last valid record at or before t; strictly before if asked); 0 if none."""
        idx = np.searchsorted(self.recv_ns, t, side="left" if strictly_before else "right") - 1
        out = np.where(idx >= 0, self.mid2[np.clip(idx, 0, None)], 0) if len(self.mid2) else np.zeros(len(t), np.int64)
        return out.astype(np.int64)


@dataclass(frozen=True, slots=True)
class FillMetrics:
    n_fills: int
    volume_lots: int
    buy_lots: int
    sell_lots: int
    spread_captured_bp: float                 # per filled unit
    markout_bp: dict[int, float]              # horizon_ns -> per filled unit
    adverse_bp: dict[int, float]              # horizon_ns -> per filled unit
    adverse_se_bp: dict[int, float]           # standard error of the per-unit mean (lot-weighted)
    per_fill_adverse_bp: dict[int, np.ndarray] = field(repr=False)   # for bootstrap comparisons
    per_fill_lots: np.ndarray = field(repr=False)


def fill_metrics(fills: np.ndarray, mids: MidSeries, horizons_ns: tuple[int, ...] = DEFAULT_HORIZONS_NS
                 ) -> FillMetrics:
    if fills.dtype != FILL_DTYPE:
        raise ValueError(f"fills must have FILL_DTYPE, got {fills.dtype}")
    t, px, lots, side = fills["recv_ns"], fills["px"].astype(np.float64), fills["lots"], fills["side"].astype(np.float64)
    w = lots.astype(np.float64)
    m0 = mids.at(t, strictly_before=True) / 2.0
    have0 = m0 > 0
    end = mids.recv_ns[-1] if len(mids.recv_ns) else np.iinfo(np.int64).min
    captured = np.where(have0, side * (m0 - px) / px * 1e4, np.nan)
    markout: dict[int, float] = {}
    adverse: dict[int, float] = {}
    adverse_se: dict[int, float] = {}
    per_fill: dict[int, np.ndarray] = {}
    for h in horizons_ns:
        mh = mids.at(t + h) / 2.0
        ok = have0 & (t + h <= end)
        mo = np.where(ok, side * (mh - px) / px * 1e4, np.nan)
        adv = np.where(ok, side * (m0 - mh) / px * 1e4, np.nan)
        markout[h] = _wmean(mo, w)
        adverse[h] = _wmean(adv, w)
        adverse_se[h] = _wse(adv, w)
        per_fill[h] = adv
    return FillMetrics(
        n_fills=len(fills), volume_lots=int(lots.sum()),
        buy_lots=int(lots[side > 0].sum()), sell_lots=int(lots[side < 0].sum()),
        spread_captured_bp=_wmean(captured, w), markout_bp=markout, adverse_bp=adverse,
        adverse_se_bp=adverse_se, per_fill_adverse_bp=per_fill, per_fill_lots=lots.copy())


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    ok = ~np.isnan(x)
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok])) if ok.any() else float("nan")


def _wse(x: np.ndarray, w: np.ndarray) -> float:
    """Standard error of a weighted mean (weights as frequency-like lot counts, per-fill clusters)."""
    ok = ~np.isnan(x)
    k = int(ok.sum())
    if k < 2:
        return float("nan")
    x, w = x[ok], w[ok]
    mu = np.sum(x * w) / np.sum(w)
    # cluster (per-fill) variance of the ratio estimator
    var = k / (k - 1) * np.sum((w * (x - mu)) ** 2) / np.sum(w) ** 2
    return float(np.sqrt(var))


@dataclass(frozen=True, slots=True)
class PnlSeries:
    recv_ns: np.ndarray       # valid record times
    position_lots: np.ndarray
    pnl: np.ndarray           # quote currency, marked to mid
    cash: np.ndarray


def pnl_series(fills: np.ndarray, mids: MidSeries, tick_size: float, lot_size: float) -> PnlSeries:
    """Position and mark-to-mid PnL after each valid record (fills at or before the record count)."""
    side = fills["side"].astype(np.int64)
    pos_steps = np.cumsum(side * fills["lots"])
    cash_steps = np.cumsum(-side * fills["lots"] * fills["px"].astype(np.float64)) * tick_size * lot_size
    k = np.searchsorted(fills["recv_ns"], mids.recv_ns, side="right")   # fills up to each record
    pos = np.where(k > 0, pos_steps[np.clip(k - 1, 0, None)] if len(fills) else 0, 0)
    cash = np.where(k > 0, cash_steps[np.clip(k - 1, 0, None)] if len(fills) else 0.0, 0.0)
    pnl = cash + pos * (mids.mid2 / 2.0) * tick_size * lot_size
    return PnlSeries(mids.recv_ns, pos.astype(np.int64), pnl.astype(np.float64), cash.astype(np.float64))


@dataclass(frozen=True, slots=True)
class SignalBucket:
    label: str          # which prediction and range
    n_fills: int
    lots: int
    adverse_bp: float   # per filled unit at the horizon


def adverse_by_prediction(fills: np.ndarray, preds: np.ndarray, mids: MidSeries,
                          horizon_ns: int = 1_000_000_000, n_buckets: int = 3) -> list[SignalBucket]:
    """Did the model see these fills' adverse selection coming? Fills bucketed by quantiles (terciles
    by default, `n_buckets` of them) of the prediction at the last record decided before each fill:
    p(the move that hurts the fill) (p_up for a sale, p_down for a purchase) and p_withdraw. Run on a
    baseline arm's fills, rising adverse selection across buckets means the predictions carry the
    information the policy needs."""
    if len(fills) == 0:
        return []
    m = fill_metrics(fills, mids, (horizon_ns,))
    adv = m.per_fill_adverse_bp[horizon_ns]
    rec = np.clip(fills["record"], 0, len(preds) - 1)
    lots = fills["lots"].astype(np.float64)
    out: list[SignalBucket] = []
    for name, p in (("p_adverse_move", np.where(fills["side"] < 0, preds["p_up"][rec], preds["p_down"][rec])),
                    ("p_withdraw", preds["p_withdraw"][rec])):
        edges = np.quantile(p, np.linspace(0.0, 1.0, n_buckets + 1))
        for k in range(n_buckets):
            lo, hi = edges[k], edges[k + 1]
            sel = (p >= lo) & ((p <= hi) if k == n_buckets - 1 else (p < hi))
            out.append(SignalBucket(f"{name} {lo:.2f}-{hi:.2f}", int(sel.sum()), int(lots[sel].sum()),
                                    _wmean(adv[sel], lots[sel])))
    return out
