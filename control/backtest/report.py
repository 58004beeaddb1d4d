"""Backtest report: a JSON-able summary, a Markdown page and PNG plots (markout curves, PnL over
time, quoted spread over time with the predictions). Matplotlib runs headless (Agg)."""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from control.backtest.arrays import decision_times
from control.backtest.compare import Comparison
from control.backtest.fill_rules import FILL_RULES
from control.backtest.metrics import FillMetrics, MidSeries, fill_metrics
from control.backtest.run import BacktestResult

log = logging.getLogger(__name__)

CURVE_HORIZONS_NS = (0, 50_000_000, 100_000_000, 250_000_000, 500_000_000, 1_000_000_000,
                     2_000_000_000, 5_000_000_000, 10_000_000_000)


def _f(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)


def _metrics_dict(m: FillMetrics) -> dict[str, Any]:
    return {
        "fills": m.n_fills, "volume_lots": m.volume_lots, "buy_lots": m.buy_lots, "sell_lots": m.sell_lots,
        "spread_captured_bp": _f(m.spread_captured_bp),
        "markout_bp": {f"{h / 1e9:g}s": _f(v) for h, v in m.markout_bp.items()},
        "adverse_selection_bp": {f"{h / 1e9:g}s": _f(v) for h, v in m.adverse_bp.items()},
        "adverse_selection_se_bp": {f"{h / 1e9:g}s": _f(v) for h, v in m.adverse_se_bp.items()},
    }


def _comparison_dict(c: Comparison | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"horizon_s": c.horizon_ns / 1e9, "adverse_model_bp": _f(c.adverse_model_bp),
            "adverse_baseline_bp": _f(c.adverse_base_bp), "reduction": _f(c.reduction),
            "reduction_ci90": [_f(c.reduction_ci90[0]), _f(c.reduction_ci90[1])],
            "volume_kept": _f(c.volume_kept), "fills_model": c.n_fills_model, "fills_baseline": c.n_fills_base,
            "target_met": c.target_met, "firm": c.firm, "verdict": c.verdict}


def summary(result: BacktestResult) -> dict[str, Any]:
    s = result.settings
    arms = {}
    for name, a in result.arms.items():
        arms[name] = {
            **_metrics_dict(a.metrics),
            "pnl_final": _f(a.pnl.pnl[-1]) if len(a.pnl.pnl) else None,
            "pnl_min": _f(a.pnl.pnl.min()) if len(a.pnl.pnl) else None,
            "position_final_lots": int(a.pnl.position_lots[-1]) if len(a.pnl.position_lots) else 0,
            "position_max_abs_lots": int(np.abs(a.pnl.position_lots).max()) if len(a.pnl.position_lots) else 0,
            "quotes_sent": a.quotes_sent, "two_sided_fraction": _f(a.two_sided_fraction),
            "decisions": a.sim.actions, "reasons": a.sim.reason_counts, "elapsed_s": _f(a.elapsed_s),
            "per_segment": {k: _metrics_dict(v) for k, v in a.per_segment.items()},
        }
    return {
        "symbol": s.symbol, "latency_ms": s.latency_ns / 1e6, "fill_rule": s.fill_rule, "fill_clock": s.fill_clock,
        "records": result.n_records, "trades": result.n_trades,
        "prediction_horizon_ms": s.horizon_ns / 1e6, "model_hash": s.model_hash or None,
        "segments": [{"name": g.name, "records": g.end_record - g.first_record, "split": g.split}
                     for g in result.segments],
        "arms": arms,
        "comparison_all": _comparison_dict(result.comparison),
        "comparison_unseen": _comparison_dict(result.unseen_comparison),
        "comparison_per_segment": {k: _comparison_dict(v) for k, v in result.per_segment_comparison.items()},
        "comparison_model_vs_vol": _comparison_dict(result.vs_vol_comparison),
        "static_fills_by_prediction": [{"bucket": b.label, "fills": b.n_fills, "lots": b.lots,
                                        "adverse_selection_bp": _f(b.adverse_bp)} for b in result.signal],
        "static_fills_by_prediction_decile": [{"bucket": b.label, "fills": b.n_fills, "lots": b.lots,
                                               "adverse_selection_bp": _f(b.adverse_bp)}
                                              for b in result.signal_deciles],
    }


def write_report(result: BacktestResult, out_dir: str | Path, records: np.ndarray,
                 preds: np.ndarray | None) -> Path:
    """Write report.md and the three PNG plots into `out_dir`; returns the Markdown path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mids = MidSeries.from_records(records)
    t0 = int(mids.recv_ns[0]) if len(mids.recv_ns) else 0

    # 1. markout curves
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, a in result.arms.items():
        m = fill_metrics(a.sim.fills, mids, CURVE_HORIZONS_NS)
        ax.plot([h / 1e9 for h in CURVE_HORIZONS_NS], [m.markout_bp[h] for h in CURVE_HORIZONS_NS],
                marker="o", label=f"{name} ({a.metrics.n_fills} fills)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xscale("symlog", linthresh=0.05)
    ax.set_xlim(left=0)   # horizon 0 = the spread captured
    ax.set_xlabel("horizon after fill (s)")
    ax.set_ylabel("markout per filled unit (bp)")
    ax.set_title(f"{result.settings.symbol}: markout curves")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "markouts.png", dpi=110)
    plt.close(fig)

    # 2. PnL over time
    fig, ax = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for name, a in result.arms.items():
        t = (a.pnl.recv_ns - t0) / 1e9
        ax[0].plot(t, a.pnl.pnl, label=name, lw=1)
        ax[1].plot(t, a.pnl.position_lots, label=name, lw=1)
    ax[0].set_ylabel("PnL (quote ccy, marked to mid)")
    ax[1].set_ylabel("position (lots)")
    ax[1].set_xlabel("seconds since start")
    ax[0].legend()
    fig.tight_layout()
    fig.savefig(out / "pnl.png", dpi=110)
    plt.close(fig)

    # 3. quoted half-spreads with the predictions
    arm = result.arms.get("model") or result.arms["static"]
    tr = arm.sim.trace
    t_dec = (decision_times(records) - t0) / 1e9
    b0, a0 = records["bid_px"][:, 0].astype(float), records["ask_px"][:, 0].astype(float)
    mid = np.where((b0 > 0) & (a0 > b0), (a0 + b0) / 2, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        bid_bp = np.where(tr["bid_lots"] > 0, (mid - tr["bid_px"]) / mid * 1e4, np.nan)
        ask_bp = np.where(tr["ask_lots"] > 0, (tr["ask_px"] - mid) / mid * 1e4, np.nan)
    n_rows = 2 if preds is not None else 1
    fig, axes = plt.subplots(n_rows, 1, figsize=(9, 2.6 * n_rows + 0.6), sharex=True, squeeze=False)
    ax = axes[0, 0]
    ax.plot(t_dec, bid_bp, lw=0.6, label="bid distance from mid")
    ax.plot(t_dec, ask_bp, lw=0.6, label="ask distance from mid")
    ax.set_ylabel("bp")
    ax.set_title(f"quoted spread ({arm.name} policy)")
    ax.legend(loc="upper right")
    if preds is not None:
        ax = axes[1, 0]
        for k in ("p_up", "p_down", "p_withdraw"):
            ax.plot(t_dec, preds[k], lw=0.5, label=k)
        ax.set_ylabel("probability")
        ax.legend(loc="upper right")
    axes[-1, 0].set_xlabel("seconds since start")
    fig.tight_layout()
    fig.savefig(out / "spread.png", dpi=110)
    plt.close(fig)

    md = out / "report.md"
    md.write_text(markdown(result))
    log.info("report written to %s", md)
    return md


def markdown(result: BacktestResult) -> str:
    s = summary(result)
    hs = list(next(iter(result.arms.values())).metrics.adverse_bp)
    lines = [f"# Backtest: {s['symbol']}", "",
             f"{s['records']} book records, {s['trades']} trades; decision-to-live latency {s['latency_ms']:g} ms; "
             f"prediction horizon {s['prediction_horizon_ms']:g} ms; model {s['model_hash'] or '(none)'}.", "",
             "| segment | records | model split |", "|---|---|---|"]
    lines += [f"| {g['name']} | {g['records']} | {g['split']} |" for g in s["segments"]]
    lines += ["", "Fills are simulated: a resting quote fills when a recorded trade prints at or through it "
              f"(fill rule {s['fill_rule']}: {FILL_RULES[s['fill_rule']]}). Markout/adverse selection per filled unit, bp of the fill price; "
              "adverse selection = mid move against the fill between just before it and the horizon.", "",
              "| arm | fills | lots | spread captured | " + " | ".join(f"AS {h / 1e9:g}s" for h in hs)
              + " | markout 1s | PnL | max abs pos | quotes sent | two-sided |",
              "|---|---|---|---|" + "---|" * len(hs) + "---|---|---|---|---|"]
    for name, a in s["arms"].items():
        as_cells = " | ".join(_cell(a["adverse_selection_bp"][f"{h / 1e9:g}s"], a["adverse_selection_se_bp"][f"{h / 1e9:g}s"])
                              for h in hs)
        lines.append(f"| {name} | {a['fills']} | {a['volume_lots']} | {_cell(a['spread_captured_bp'])} | {as_cells} | "
                     f"{_cell(a['markout_bp'].get('1s'))} | {_cell(a['pnl_final'])} | {a['position_max_abs_lots']} | "
                     f"{a['quotes_sent']} | {100 * (a['two_sided_fraction'] or 0):.0f}% |")
    lines += ["", "## Model vs static baseline", ""]
    for label, key in (("all records", "comparison_all"), ("segments the model never trained on", "comparison_unseen")):
        c = s[key]
        lines.append(f"- **{label}**: {c['verdict'] if c else 'no model predictions (baselines only)' if key == 'comparison_all' else 'no val/test segment in these data'}")
    for name, c in s["comparison_per_segment"].items():
        lines.append(f"- {name}: {c['verdict']}")
    if s["comparison_model_vs_vol"]:
        lines.append(f"- model vs the vol arm (the predictions' own effect): {s['comparison_model_vs_vol']['verdict']}")
    if s["static_fills_by_prediction"]:
        lines += ["", "## Does the model see the baseline's adverse fills coming?", "",
                  f"Static-arm fills bucketed by the prediction at the last record before each fill (terciles); "
                  f"adverse selection at {result.settings.compare_horizon_ns / 1e9:g} s per filled unit.", "",
                  "| bucket | fills | lots | AS (bp) |", "|---|---|---|---|"]
        lines += [f"| {b['bucket']} | {b['fills']} | {b['lots']} | {_cell(b['adverse_selection_bp'])} |"
                  for b in s["static_fills_by_prediction"]]
    if s["static_fills_by_prediction_decile"]:
        lines += ["", "The same by decile (few fills per bucket: read the trend, not a single row):", "",
                  "| bucket | fills | lots | AS (bp) |", "|---|---|---|---|"]
        lines += [f"| {b['bucket']} | {b['fills']} | {b['lots']} | {_cell(b['adverse_selection_bp'])} |"
                  for b in s["static_fills_by_prediction_decile"]]
    lines += ["", "Plots: ![markouts](markouts.png) ![pnl](pnl.png) ![spread](spread.png)", "",
              "These data are short captures (minutes per file): treat every figure as indicative, and "
              "read the confidence intervals and fill counts before drawing a conclusion.", ""]
    return "\n".join(lines)


def _cell(v: float | None, se: float | None = None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" + (f" ± {se:.3f}" if se is not None else "")
