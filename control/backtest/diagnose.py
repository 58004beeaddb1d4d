"""Which fills are adversely selected, and does the model see them coming? (issue 8 diagnosis)

    python -m control.backtest.diagnose [--model qg_mlp] [--latency-ms 5] [--fill-rule R] [--json] DATA...

Runs the static baseline (floor half-spread, no predictions) over the given captures and describes
each of its fills: side, the book at the last decision before the match (spread, time since the
touch last changed), how far our price sat behind the touch, the size of the trade that filled us
and how far it printed through our price, what the model said at that decision (p of the move that
hurts this side: p_up for a sold ask, p_down for a bought bid; the other side's p; p_withdraw), the
feed delay of the trade message, and the fill's adverse selection at each horizon.

Then, per side and pooled: the rank correlation of each of those with the adverse selection at the
comparison horizon; per side, the same for each of the model's input features at that decision (does
the information to rank fills by toxicity reach the model at all?); and two bounds that frame the
issue-8 target:
  - `oracle`: the lowest adverse selection per filled unit reachable by dropping fills worth 30% of
    the volume, knowing each fill's outcome (no policy that only pulls or shrinks can do better);
  - `by_distance`: adverse selection per unit by terciles of the fill's distance from the mid just
    before it (= spread captured). Fills through a resting quote come from trades that walk the
    price to it, so this distance is a floor under the per-unit figure: widening raises it,
    quoting closer lowers it, whatever the model says.
Run it on tuning dates only (the model's training / validation captures): it reads every fill.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from control.backtest.arrays import decision_times, neutral_predictions, trade_match_times
from control.backtest.compare import TARGET_HORIZON_NS, TARGET_VOLUME_KEPT
from control.backtest.fill_rules import DEFAULT_FILL_RULE, FILL_RULES
from control.backtest.metrics import DEFAULT_HORIZONS_NS, MidSeries, fill_metrics

EPISODE_GAP_NS = 200_000_000   # fills on one side closer than this belong to one episode (one sweep)
KEEP_VOLUME = TARGET_VOLUME_KEPT        # the bounds below keep what the issue-8 target keeps
COMPARE_HORIZON_NS = TARGET_HORIZON_NS   # and compare at its horizon

FILL_INFO_DTYPE = np.dtype([
    ("side", np.int8),                # +1 our bid filled (we bought), -1 our ask filled (we sold)
    ("recv_ns", np.int64),            # the fill's time stamp (the trade message's arrival)
    ("record", np.int64),             # the last decision (record) before the match
    ("lots", np.int64),
    ("episode", np.int64),            # consecutive same-side fills within EPISODE_GAP_NS
    ("spread_ticks", np.int64),       # book spread at the last decision before the match
    ("touch_age_ms", np.float64),     # time since the touch (best bid or ask price) last changed
    ("behind_touch_ticks", np.int64),  # our price behind the same-side touch (negative: inside)
    ("trade_lots", np.int64),         # size of the trade that filled us
    ("through_ticks", np.int64),      # how far the trade printed beyond our price (0: at it)
    ("feed_delay_ms", np.float64),    # trade message arrival - match time
    ("distance_bp", np.float64),      # spread captured: s x (mid before - px), bp of px
    ("p_side", np.float64),           # p of the move that hurts this fill
    ("p_other", np.float64),          # p of the opposite move
    ("p_withdraw", np.float64),
])


def fill_info(fills: np.ndarray, records: np.ndarray, trades: np.ndarray, preds: np.ndarray,
              mids: MidSeries) -> np.ndarray:
    """One FILL_INFO_DTYPE row per fill (fills from `simulator.simulate` on these records/trades)."""
    n = len(fills)
    out = np.zeros(n, dtype=FILL_INFO_DTYPE)
    if n == 0:
        return out
    rec = np.clip(fills["record"], 0, len(records) - 1)
    side = fills["side"].astype(np.int64)
    bid0, ask0 = records["bid_px"][:, 0].astype(np.int64), records["ask_px"][:, 0].astype(np.int64)
    t_dec = decision_times(records)
    changed = np.ones(len(records), bool)
    changed[1:] = (np.diff(bid0) != 0) | (np.diff(ask0) != 0)
    last_change = np.maximum.accumulate(np.where(changed, np.arange(len(records)), 0))
    k = fills["trade"]
    t_match = trade_match_times(trades)[k]
    px = fills["px"].astype(np.int64)
    m0 = mids.at(fills["recv_ns"], strictly_before=True) / 2.0
    out["side"] = side
    out["recv_ns"] = fills["recv_ns"]
    out["record"] = rec
    out["lots"] = fills["lots"]
    out["episode"] = sweep_episodes(fills["recv_ns"], side)
    out["spread_ticks"] = ask0[rec] - bid0[rec]
    out["touch_age_ms"] = (t_match - t_dec[last_change[rec]]) / 1e6
    out["behind_touch_ticks"] = np.where(side < 0, px - ask0[rec], bid0[rec] - px)
    out["trade_lots"] = trades["lots"][k]
    out["through_ticks"] = np.where(side < 0, trades["px"][k] - px, px - trades["px"][k])
    out["feed_delay_ms"] = (trades["recv_ns"][k] - t_match) / 1e6
    out["distance_bp"] = np.where(m0 > 0, side * (m0 - px) / px * 1e4, np.nan)
    out["p_side"] = np.where(side < 0, preds["p_up"][rec], preds["p_down"][rec])
    out["p_other"] = np.where(side < 0, preds["p_down"][rec], preds["p_up"][rec])
    out["p_withdraw"] = preds["p_withdraw"][rec]
    return out


def sweep_episodes(t_ns: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Episode id (0, 1, ...) of fills in time order: a new one at each change of side or gap over
    EPISODE_GAP_NS; the fills of one sweep share their outcome."""
    new = np.ones(len(t_ns), bool)
    new[1:] = (np.diff(t_ns) > EPISODE_GAP_NS) | (np.diff(side) != 0)
    return np.cumsum(new) - 1


def rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (Pearson correlation of average ranks) over pairs where both are finite."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    rx, ry = _avg_rank(x[ok]), _avg_rank(y[ok])
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _avg_rank(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v), np.float64)
    ranks[order] = np.arange(len(v), dtype=np.float64)
    _, inv, counts = np.unique(v, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    return sums[inv] / counts[inv]


def oracle_reduction(adverse_bp: np.ndarray, lots: np.ndarray, keep: float = KEEP_VOLUME) -> tuple[float, float]:
    """(baseline, oracle) adverse selection per unit: the oracle drops the worst fills until only
    `keep` of the volume is left (the last one partially), i.e. the best any pull-only policy that
    keeps `keep` of the volume could do with a perfect forecast of each fill's outcome."""
    return drop_by_score(adverse_bp, lots, adverse_bp, keep)


def drop_by_score(adverse_bp: np.ndarray, lots: np.ndarray, score: np.ndarray,
                  keep: float = KEEP_VOLUME) -> tuple[float, float]:
    """(baseline, kept) adverse selection per unit, lot-weighted, over fills with a finite one: `kept`
    after dropping the highest-`score` fills until only `keep` of the volume is left (the last one
    partially; equal scores keep their order)."""
    ok = np.isfinite(adverse_bp)
    x, w, sc = adverse_bp[ok], lots[ok].astype(np.float64), np.asarray(score, np.float64)[ok]
    if not len(x):
        return float("nan"), float("nan")
    base = float(np.sum(x * w) / np.sum(w))
    order = np.argsort(sc, kind="stable")          # least toxic first
    x, w = x[order], w[order]
    budget = keep * w.sum()
    take = np.minimum(w, np.maximum(0.0, budget - np.concatenate(([0.0], np.cumsum(w)[:-1]))))
    return base, float(np.sum(x * take) / np.sum(take))


@dataclasses.dataclass(frozen=True, slots=True)
class Diagnosis:
    n_fills: int
    n_episodes: int
    adverse_bp: dict[int, float]                   # per filled unit, all fills
    by_side: dict[str, dict[str, float]]           # "ask"/"bid"/"all" -> column -> rank corr with AS(h)
    oracle: tuple[float, float]                    # (baseline, best pull-only at 70% volume), at h
    by_distance: list[tuple[float, float, int, float]]   # (lo, hi, fills, AS per unit at h) terciles
    by_p_side: list[tuple[float, float, int, float]]     # the same by the side's probability
    volume_in_top_decile: float = float("nan")     # share of fill volume decided at a side p in the
    #                                                stream's top 10% (0.10 = no foresight of fills)
    by_feature: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)   # input feature ->
    #                                                "ask"/"bid" -> rank corr of its value at the decision with AS(h)


COLUMNS = ("p_side", "p_other", "p_withdraw", "spread_ticks", "touch_age_ms", "behind_touch_ticks",
           "trade_lots", "through_ticks", "feed_delay_ms", "distance_bp")


def diagnose(info: np.ndarray, adverse: dict[int, np.ndarray], horizon_ns: int = COMPARE_HORIZON_NS) -> Diagnosis:
    """Summaries of `fill_info` rows against per-fill adverse selection (FillMetrics.per_fill_adverse_bp)."""
    a = adverse[horizon_ns]
    w = info["lots"].astype(np.float64)

    def wmean(sel: np.ndarray) -> float:
        return _wmean(a[sel], w[sel])

    by_side: dict[str, dict[str, float]] = {}
    for name, sel in (("ask", info["side"] < 0), ("bid", info["side"] > 0), ("all", np.ones(len(info), bool))):
        by_side[name] = {c: rank_correlation(info[c][sel], a[sel]) for c in COLUMNS}
        by_side[name]["fills"] = float(sel.sum())

    def terciles(col: str) -> list[tuple[float, float, int, float]]:
        x = info[col]
        ok = np.isfinite(x)
        if ok.sum() < 3:
            return []
        edges = np.quantile(x[ok], [0, 1 / 3, 2 / 3, 1])
        rows = []
        for i in range(3):
            sel = ok & (x >= edges[i]) & ((x <= edges[i + 1]) if i == 2 else (x < edges[i + 1]))
            rows.append((float(edges[i]), float(edges[i + 1]), int(sel.sum()), wmean(sel)))
        return rows

    return Diagnosis(
        n_fills=len(info), n_episodes=int(info["episode"].max()) + 1 if len(info) else 0,
        adverse_bp={h: _wmean(v, w) for h, v in adverse.items()},
        by_side=by_side, oracle=oracle_reduction(a, info["lots"]),
        by_distance=terciles("distance_bp"), by_p_side=terciles("p_side"))


def feature_correlation(info: np.ndarray, adverse_bp: np.ndarray, features: np.ndarray,
                        names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per input feature and fill side: the rank correlation of the feature's value at the fill's last
    decision (features[info["record"]], records x features) with the fill's adverse selection. Per side,
    because a feature that warns a bid (price about to fall) warns an ask the other way round."""
    x = features[info["record"]].astype(np.float64)
    sides = (("ask", info["side"] < 0), ("bid", info["side"] > 0))
    return {name: {s: rank_correlation(x[sel, j], adverse_bp[sel]) for s, sel in sides}
            for j, name in enumerate(names)}


def diagnose_stream(records: np.ndarray, trades: np.ndarray, preds: np.ndarray, cfg, symbol: str, *,
                    latency_ns: int, horizon_ns: int, compare_horizon_ns: int = COMPARE_HORIZON_NS,
                    fill_rule: str = DEFAULT_FILL_RULE, features: np.ndarray | None = None,
                    feature_names: Sequence[str] = ()) -> tuple[Diagnosis, np.ndarray, dict[int, np.ndarray]]:
    """Static-baseline fills of one stream, described (fill_info) and summarised (diagnose); with the
    model's `features` (records x features) and their names, also per feature (feature_correlation)."""
    from control.backtest.run import arm_config
    from control.backtest.simulator import simulate
    from control.quoting.engine import QuotingEngine

    sim = simulate(records, neutral_predictions(len(records)), trades, QuotingEngine(arm_config(cfg, "static")),
                   symbol, latency_ns=latency_ns, horizon_ns=horizon_ns, fill_rule=fill_rule)
    mids = MidSeries.from_records(records)
    m = fill_metrics(sim.fills, mids, DEFAULT_HORIZONS_NS)
    info = fill_info(sim.fills, records, trades, preds, mids)
    d = diagnose(info, m.per_fill_adverse_bp, compare_horizon_ns)
    if len(info):
        top_up, top_down = np.quantile(preds["p_up"], 0.9), np.quantile(preds["p_down"], 0.9)
        top = info["p_side"] >= np.where(info["side"] < 0, top_up, top_down)
        d = dataclasses.replace(d, volume_in_top_decile=float(info["lots"][top].sum() / info["lots"].sum()))
    if features is not None:
        d = dataclasses.replace(d, by_feature=feature_correlation(
            info, m.per_fill_adverse_bp[compare_horizon_ns], features, feature_names))
    return d, info, m.per_fill_adverse_bp


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    ok = np.isfinite(x)
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok])) if ok.any() else float("nan")


def _as_dict(d: Diagnosis) -> dict:
    return {"fills": d.n_fills, "episodes": d.n_episodes,
            "adverse_bp": {f"{h / 1e9:g}s": v for h, v in d.adverse_bp.items()},
            "rank_corr_with_adverse_1s": d.by_side,
            "feature_rank_corr_with_adverse_1s": d.by_feature,
            "volume_in_top_decile_of_p_side": d.volume_in_top_decile,
            "oracle_70pct_volume": {"baseline_bp": d.oracle[0], "best_pull_only_bp": d.oracle[1],
                                    "reduction": 1 - d.oracle[1] / d.oracle[0] if d.oracle[0] else None},
            "by_distance_terciles": [dict(zip(("lo_bp", "hi_bp", "fills", "adverse_bp"), r, strict=True))
                                     for r in d.by_distance],
            "by_p_side_terciles": [dict(zip(("lo", "hi", "fills", "adverse_bp"), r, strict=True))
                                   for r in d.by_p_side]}


def input_errors() -> tuple[type[Exception], ...]:
    """What unreadable captures, bad records or missing model artifacts raise: the diagnostic commands
    report them in one line and exit 2 instead of a traceback."""
    from control.marketdata.errors import DecodeError, LoaderError
    from control.marketdata.instruments import UnknownInstrumentError
    from models.config import ConfigError
    from models.reference import ModelArtifactError
    return LoaderError, DecodeError, UnknownInstrumentError, ConfigError, ModelArtifactError, OSError


def nan_to_none(v: object) -> object:
    """NaN -> None, recursively, so that --json prints valid JSON."""
    if isinstance(v, float):
        return None if v != v else v
    if isinstance(v, dict):
        return {k: nan_to_none(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [nan_to_none(x) for x in v]
    return v


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="+", type=Path, help="captures of ONE instrument, in stream order")
    ap.add_argument("--model", default="qg_mlp")
    ap.add_argument("--latency-ms", type=float, default=5.0)
    ap.add_argument("--fill-rule", choices=tuple(FILL_RULES), default=DEFAULT_FILL_RULE,
                    help="queue position at our price (control/backtest/simulator.py)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from control.backtest.data import load_replay, predict
    from control.quoting.config import load_config

    try:
        rd = load_replay(args.data)
        mp = predict(rd.records, args.model)
    except input_errors() as e:
        ap.exit(2, f"{ap.prog}: error: {e}\n")
    d, _, _ = diagnose_stream(rd.records, rd.trades, mp.preds, load_config(), rd.instrument.symbol,
                              latency_ns=int(round(args.latency_ms * 1e6)), horizon_ns=mp.horizon_ns,
                              fill_rule=args.fill_rule, features=mp.features, feature_names=mp.feature_names)
    out = {"symbol": rd.instrument.symbol, "data": [str(p) for p in args.data], "fill_rule": args.fill_rule,
           **_as_dict(d)}
    if args.json:
        print(json.dumps(nan_to_none(out), indent=2))
        return 0
    print(f"{out['symbol']}: {d.n_fills} static fills in {d.n_episodes} episodes; AS per unit "
          + ", ".join(f"{k} {v:.3f} bp" for k, v in out["adverse_bp"].items()))
    print("rank correlation with AS at 1 s (ask / bid / all):")
    for c in COLUMNS:
        print(f"  {c:20s}" + "".join(f"{d.by_side[s][c]:>+8.2f}" for s in ("ask", "bid", "all")))
    print("the model's inputs at the decision, rank correlation with AS at 1 s (ask / bid):")
    for name, corr in d.by_feature.items():
        print(f"  {name:20s}" + "".join(f"{corr[s]:>+8.2f}" for s in ("ask", "bid")))
    print(f"share of fill volume decided with the side's p in its top decile: {100 * d.volume_in_top_decile:.0f}%"
          " (10% = no foresight of when fills come)")
    b, o = d.oracle
    print(f"oracle (perfect pull, 70% volume kept): {b:.3f} -> {o:.3f} bp ({100 * (1 - o / b):.0f}% lower)")
    for name, rows in (("distance from mid (bp)", d.by_distance), ("p of the hurting move", d.by_p_side)):
        print(f"AS at 1 s by terciles of {name}: "
              + "; ".join(f"{lo:.2f}-{hi:.2f}: {a:.3f} bp ({k} fills)" for lo, hi, k, a in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
