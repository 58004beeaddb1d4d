"""One backtest: the same records, trades and latency through several policy arms, with metrics per
arm and per input file, and the model-vs-baseline comparison.

Arms (each with a fresh QuotingEngine and the same limits, sizes and inventory skew):
  static  the baseline: the floor half-spread only (no volatility term), no predictions
  vol     volatility-scaled spread, no predictions (shows what the model adds beyond volatility)
  model   volatility-scaled spread widened/cut/pulled by the model's predictions
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass

import numpy as np

from control.backtest.arrays import PRED_DTYPE, check_inputs, neutral_predictions
from control.backtest.compare import TARGET_HORIZON_NS, Comparison, compare
from control.backtest.fill_rules import DEFAULT_FILL_RULE
from control.backtest.metrics import (
    DEFAULT_HORIZONS_NS,
    FillMetrics,
    MidSeries,
    PnlSeries,
    SignalBucket,
    adverse_by_prediction,
    fill_metrics,
    pnl_series,
)
from control.backtest.simulator import SimResult, simulate
from control.quoting.config import QuotingConfig
from control.quoting.engine import QuotingEngine

log = logging.getLogger(__name__)

ARMS = ("static", "vol", "model")


@dataclass(frozen=True, slots=True)
class BacktestSettings:
    symbol: str
    latency_ns: int = 0
    horizon_ns: int = 2_000_000_000        # prediction validity (the model's label horizon)
    markout_horizons_ns: tuple[int, ...] = DEFAULT_HORIZONS_NS
    compare_horizon_ns: int = TARGET_HORIZON_NS
    model_hash: str = ""
    fill_clock: str = "match"              # simulator.simulate: trades meet the quote live at their match
    fill_rule: str = DEFAULT_FILL_RULE     # simulator.simulate: queue position (fill_rules.FILL_RULES)


@dataclass(frozen=True, slots=True)
class Segment:
    """A slice of the stream (one input file) with its role for the model: train / val / test / unknown."""

    name: str
    first_record: int
    end_record: int
    split: str = "unknown"


@dataclass(frozen=True, slots=True)
class ArmResult:
    name: str
    sim: SimResult
    metrics: FillMetrics
    pnl: PnlSeries
    per_segment: dict[str, FillMetrics]
    quotes_sent: int
    two_sided_fraction: float       # share of decisions after which both sides were wanted
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class BacktestResult:
    settings: BacktestSettings
    n_records: int
    n_trades: int
    segments: tuple[Segment, ...]
    arms: dict[str, ArmResult]
    comparison: Comparison | None                 # model vs static over every record
    unseen_comparison: Comparison | None          # model vs static on segments the model never trained on
    per_segment_comparison: dict[str, Comparison]
    vs_vol_comparison: Comparison | None          # model vs vol: what the predictions add on their own
    signal: list[SignalBucket]                    # static-arm fills' adverse selection by prediction bucket
    signal_deciles: list[SignalBucket] = dataclasses.field(default_factory=list)   # the same by decile


def arm_config(cfg: QuotingConfig, arm: str) -> QuotingConfig:
    if arm == "static":
        return cfg.with_spread(vol_multiplier=0.0)
    if arm in ("vol", "model"):
        return cfg
    raise ValueError(f"unknown arm {arm!r}; known: {ARMS}")


def run_backtest(records: np.ndarray, trades: np.ndarray, cfg: QuotingConfig, settings: BacktestSettings, *,
                 preds: np.ndarray | None = None, segments: tuple[Segment, ...] = ()) -> BacktestResult:
    """Run the arms. Without `preds` only the baselines run (static, vol)."""
    if preds is None:
        check_inputs(records, neutral_predictions(len(records)), trades)
    else:
        check_inputs(records, preds, trades)
    inst = cfg.instrument(settings.symbol)
    if not segments:
        segments = (Segment("all", 0, len(records)),)
    mids = MidSeries.from_records(records)
    neutral = neutral_predictions(len(records))
    arms: dict[str, ArmResult] = {}
    for arm in ARMS:
        if arm == "model" and preds is None:
            continue
        p = preds if arm == "model" else neutral
        assert p is not None and p.dtype == PRED_DTYPE
        t0 = time.perf_counter()
        engine = QuotingEngine(arm_config(cfg, arm))
        sim = simulate(records, p, trades, engine, settings.symbol, latency_ns=settings.latency_ns,
                       horizon_ns=settings.horizon_ns, model_hash=settings.model_hash if arm == "model" else "",
                       fill_clock=settings.fill_clock, fill_rule=settings.fill_rule)
        elapsed = time.perf_counter() - t0
        m = fill_metrics(sim.fills, mids, settings.markout_horizons_ns)
        per_seg = {s.name: fill_metrics(_fills_in(sim, s), mids, settings.markout_horizons_ns) for s in segments}
        pnl = pnl_series(sim.fills, mids, float(inst.tick_size), float(inst.lot_size))
        tr = sim.trace
        arms[arm] = ArmResult(arm, sim, m, pnl, per_seg, int((tr["action"] == 1).sum()),
                              float(np.mean((tr["bid_lots"] > 0) & (tr["ask_lots"] > 0))) if len(tr) else 0.0,
                              elapsed)
        log.info("arm %s: %d fills, %d lots, %.2f s", arm, m.n_fills, m.volume_lots, elapsed)

    comp = unseen = vs_vol = None
    signal: list[SignalBucket] = []
    deciles: list[SignalBucket] = []
    per_seg_comp: dict[str, Comparison] = {}
    h = settings.compare_horizon_ns
    if "model" in arms:
        comp = compare(arms["model"].metrics, arms["static"].metrics, h)
        vs_vol = compare(arms["model"].metrics, arms["vol"].metrics, h)
        assert preds is not None
        signal = adverse_by_prediction(arms["static"].sim.fills, preds, mids, h)
        deciles = adverse_by_prediction(arms["static"].sim.fills, preds, mids, h, n_buckets=10)
        for s in segments:
            per_seg_comp[s.name] = compare(arms["model"].per_segment[s.name], arms["static"].per_segment[s.name], h)
        fresh = [s for s in segments if s.split in ("val", "test")]
        if fresh:
            unseen = compare(_merge(arms["model"], fresh, mids, settings), _merge(arms["static"], fresh, mids, settings), h)
    return BacktestResult(settings, len(records), len(trades), segments, arms, comp, unseen, per_seg_comp, vs_vol, signal,
                          deciles)


def _fills_in(sim: SimResult, seg: Segment) -> np.ndarray:
    r = sim.fills["record"]
    return sim.fills[(r >= seg.first_record) & (r < seg.end_record)]


def _merge(arm: ArmResult, segs: list[Segment], mids: MidSeries, settings: BacktestSettings) -> FillMetrics:
    fills = np.concatenate([_fills_in(arm.sim, s) for s in segs])
    return fill_metrics(np.sort(fills, order="recv_ns"), mids, settings.markout_horizons_ns)
