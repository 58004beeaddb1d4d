"""Could a head trained on fill toxicity meet the issue-8 target? An offline probe on recorded fills.

    python -m control.backtest.toxicity_probe [--fill-rule R] [--latency-ms 5] [--fit-floor-bp BP ...] [--json]
        --fit DATA[,DATA...] [--fit ...] --test DATA[,DATA...] [--test ...]

The network predicts mid moves; the issue-8 target needs fills ranked by how adverse they turn out
(control/backtest/README.md, "Diagnosis"). Before anyone spends a retrain and an RTL rebuild on a
new output, this asks whether the network's inputs could rank fills if a head were trained on
exactly that label:

1. fills: the static baseline's fills of every group (diagnose.diagnose_stream), each with the
   model's input features at its last decision, turned into the fill's own frame (side_frame);
2. fit: a lot-weighted ridge regression of each --fit fill's adverse selection at 1 s on those
   features (standardised on the fit fills). The ridge strength is the one whose out-of-fold scores,
   over contiguous blocks of sweep episodes of the fit fills, keep the lowest adverse selection:
   the test groups choose nothing. `--fit-floor-bp` adds the fills static quotes at other half-spreads
   would have had (more sweeps reach a closer quote), merged so that a sweep stays one episode;
3. score: in each --test group, drop the fills worth 30% of the volume that the fit calls most toxic
   and compare the adverse selection per unit left with the baseline's, with the oracle's (the same
   drop knowing each outcome), with the same drop scored by the network's own p of the move that
   hurts the fill (what a pull-only policy on the shipped outputs could reach at best) and with a
   bootstrap interval over sweep episodes.

Each group is one instrument's captures in stream order, comma-separated. A --fit group never gives
fills of the model's test split. A --test group is scored on its last file only (the files before it
continue into it, as `quoteguard backtest` streams them), and there only on what the model never
trained on: its test split, or a file its config does not list. A file split by time of day (LOBSTER
AMZN: train before 12:30, val before 14:15) can thus be given to both: `--fit AMZN.zip` fits on its
train and val hours, `--test AMZN.zip` scores its test hours.

Like the oracle, this is a bound for a pull-only policy driven by such a head, not a backtest of one:
it ranks the baseline's own fills, and a policy that pulls also changes the fills that follow.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from control.backtest.compare import TARGET_REDUCTION
from control.backtest.diagnose import (
    COMPARE_HORIZON_NS,
    KEEP_VOLUME,
    diagnose_stream,
    drop_by_score,
    input_errors,
    nan_to_none,
    oracle_reduction,
    rank_correlation,
    sweep_episodes,
)
from control.backtest.fill_rules import DEFAULT_FILL_RULE, FILL_RULES

# Feature kinds whose positive values mean pressure up (a bid-heavy book, buying, a rising mid):
# toward a bought bid's favour and against a sold ask. models/FEATURES.md defines each kind.
DIRECTIONAL_KINDS = frozenset({"imbalance", "weighted_imbalance", "microprice", "ofi", "mid_change", "trade_flow"})
# Ridge strengths in units of fills (weights are lots / mean lots). The top end is the limit in which
# the score becomes each feature's own covariance with the outcome (no joint fit at all).
RIDGES = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
CV_FOLDS = 5


def frame_names(specs: Sequence) -> tuple[str, ...]:
    """Column names of side_frame's output: touch shares become the fill's own and the other side's."""
    return tuple(("own_touch_share" if s.side == "bid" else "other_touch_share") if s.kind == "touch_share"
                 else s.name for s in specs)


def side_frame(x: np.ndarray, side: np.ndarray, specs: Sequence) -> np.ndarray:
    """Features (fills x features, in `specs`' order: models.config FeatureSpec) in each fill's own frame,
    so that one regression serves both sides: directional features times the side (+1 bid, -1 ask), so
    positive = pressure in the fill's favour; the bid / ask touch shares become the filled side's own
    share and the other side's; the rest (spread, activity, volatility, ages) as they are."""
    x = np.asarray(x, np.float64)
    s = np.asarray(side, np.float64)
    share = {sp.side: j for j, sp in enumerate(specs) if sp.kind == "touch_share"}
    out = x.copy()
    for j, sp in enumerate(specs):
        if sp.kind in DIRECTIONAL_KINDS:
            out[:, j] = s * x[:, j]
        elif sp.kind == "touch_share":
            other = "ask" if sp.side == "bid" else "bid"
            if other not in share:
                raise ValueError(f"feature {sp.name}: touch_share on the {sp.side} side has no {other} partner")
            # a bid fill sees the columns as they are; an ask fill sees them swapped (its own = ask)
            out[:, j] = np.where(s > 0, x[:, j], x[:, share[other]])
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class FillSet:
    """Fills with a finite adverse selection at the comparison horizon."""
    label: str
    x: np.ndarray            # side_frame features at each fill's last decision
    adverse_bp: np.ndarray
    lots: np.ndarray
    episode: np.ndarray      # sweep episode id, unique within the set
    p_side: np.ndarray       # the network's own p of the move that hurts the fill's side, at its decision

    @staticmethod
    def concat(label: str, sets: Sequence[FillSet]) -> FillSet:
        episodes, offset = [], 0
        for fs in sets:
            episodes.append(fs.episode + offset)
            offset += int(fs.episode.max()) + 1 if len(fs.episode) else 0
        return FillSet(label, np.concatenate([fs.x for fs in sets]), np.concatenate([fs.adverse_bp for fs in sets]),
                       np.concatenate([fs.lots for fs in sets]), np.concatenate(episodes),
                       np.concatenate([fs.p_side for fs in sets]))


@dataclasses.dataclass(frozen=True, slots=True)
class ToxicityFit:
    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray         # on standardised features; + = more toxic
    ridge: float
    cv_kept_bp: dict[float, float]   # ridge -> AS per unit kept by the out-of-fold scores (fit fills)

    def score(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef


def fit_ridge(x: np.ndarray, y: np.ndarray, w: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, scale, coef) of a lot-weighted ridge regression of y on x standardised with the same weights
    (so that the centred columns carry no intercept; constant columns get 0)."""
    w = w / w.mean()
    mean = np.average(x, weights=w, axis=0)
    scale = np.sqrt(np.average((x - mean) ** 2, weights=w, axis=0))
    scale = np.where(scale > 0, scale, 1.0)
    z = (x - mean) / scale
    a = z.T @ (z * w[:, None]) + ridge * np.eye(z.shape[1])
    coef = np.linalg.solve(a, z.T @ (w * (y - np.average(y, weights=w))))
    return mean, scale, coef


def episode_folds(episode: np.ndarray, folds: int) -> np.ndarray:
    """Fold of each fill: contiguous blocks of episodes (fills of one sweep share their outcome, so a
    sweep split across folds would leak it)."""
    ids, inv = np.unique(episode, return_inverse=True)
    return (inv * folds) // max(len(ids), 1)


def fit_toxicity(fs: FillSet, names: Sequence[str], ridges: Sequence[float] = RIDGES,
                 folds: int = CV_FOLDS, keep: float = KEEP_VOLUME) -> ToxicityFit:
    """The ridge regression of `fs`' adverse selection on its features, with the ridge strength chosen by
    episode-block cross-validation on `fs` alone."""
    fold = episode_folds(fs.episode, folds)
    w = fs.lots.astype(np.float64)
    cv: dict[float, float] = {}
    for ridge in ridges:
        oof = np.zeros(len(fs.adverse_bp))
        for k in range(folds):
            held = fold == k
            if not held.any() or held.all():
                continue
            mean, scale, coef = fit_ridge(fs.x[~held], fs.adverse_bp[~held], w[~held], ridge)
            oof[held] = ((fs.x[held] - mean) / scale) @ coef
        cv[float(ridge)] = drop_by_score(fs.adverse_bp, fs.lots, oof, keep)[1]
    best = min(cv, key=lambda r: (cv[r], -r))   # ties: the stronger ridge
    mean, scale, coef = fit_ridge(fs.x, fs.adverse_bp, w, best)
    return ToxicityFit(tuple(names), mean, scale, coef, best, cv)


@dataclasses.dataclass(frozen=True, slots=True)
class ProbeResult:
    label: str
    fills: int
    episodes: int
    baseline_bp: float
    kept_bp: float           # after dropping the 30% of volume scored most toxic
    oracle_bp: float         # after dropping the 30% of volume that was most toxic
    p_side_bp: float         # after dropping the 30% of volume with the highest p_side: the network as it is
    interval: tuple[float, float]   # 90% bootstrap interval over episodes of kept / baseline - 1
    rank_corr: float         # of the score with the adverse selection

    @property
    def change(self) -> float:
        return self.kept_bp / self.baseline_bp - 1.0

    @property
    def oracle_change(self) -> float:
        return self.oracle_bp / self.baseline_bp - 1.0

    @property
    def p_side_change(self) -> float:
        return self.p_side_bp / self.baseline_bp - 1.0


def evaluate(fit: ToxicityFit, fs: FillSet, keep: float = KEEP_VOLUME, reps: int = 2000, seed: int = 0) -> ProbeResult:
    score = fit.score(fs.x)
    base, kept = drop_by_score(fs.adverse_bp, fs.lots, score, keep)
    _, oracle = oracle_reduction(fs.adverse_bp, fs.lots, keep)
    _, by_p_side = drop_by_score(fs.adverse_bp, fs.lots, fs.p_side, keep)
    ids, inv = np.unique(fs.episode, return_inverse=True)
    members = [np.flatnonzero(inv == i) for i in range(len(ids))]
    rng = np.random.default_rng(seed)
    changes = []
    for _ in range(reps if len(ids) > 1 else 0):
        idx = np.concatenate([members[i] for i in rng.integers(0, len(ids), len(ids))])
        b, k = drop_by_score(fs.adverse_bp[idx], fs.lots[idx], score[idx], keep)
        if b > 0:
            changes.append(k / b - 1.0)
    lo, hi = (np.quantile(changes, [0.05, 0.95]) if changes else (np.nan, np.nan))
    return ProbeResult(fs.label, len(fs.adverse_bp), len(ids), base, kept, oracle, by_p_side, (float(lo), float(hi)),
                       rank_correlation(score, fs.adverse_bp))


# Which fills a group contributes, by the model's split of the record they were decided on (the
# training config's sources; data.model_segments): the head never fits on the model's test split, and
# is scored only on what the model never trained on, in the group's last file (the files before it
# continue into it, as `quoteguard backtest` streams them).
FIT_SPLITS = frozenset({"train", "val", "unknown"})
TEST_SPLITS = frozenset({"test", "unknown"})


def group_fills(paths: Sequence[Path], *, model: str, fill_rule: str, latency_ns: int, role: str,
                floors_bp: Sequence[float | None] = (None,)) -> tuple[FillSet, tuple]:
    """The static baseline's fills of one stream (`paths`, one instrument in order), in side frame; with
    the model's feature specs. `role` "fit" keeps the fills outside the model's test split, "test" those
    of the last file in its test split or in a file the model does not list (FIT_SPLITS / TEST_SPLITS).
    With several `floors_bp` (None: the quoting config's floor), the fills of a static quote at each of
    those half-spreads, merged in time: the sweeps they share form one episode, so that cross-validation
    never splits a sweep between its folds."""
    from control.backtest.data import load_replay, model_segments, predict
    from control.quoting.config import load_config
    from models.config import load_config as load_model_config

    if role not in ("fit", "test"):
        raise ValueError(f"role must be 'fit' or 'test', not {role!r}")
    rd = load_replay(paths)
    mp = predict(rd.records, model)
    specs = load_model_config(model).features.specs     # the config predict() computed the features of
    splits, start = (FIT_SPLITS, 0) if role == "fit" else (TEST_SPLITS, rd.files[-1].first_record)
    wanted = np.zeros(len(rd.records), dtype=bool)
    for seg in model_segments(rd, mp):
        if seg.split in splits and seg.first_record >= start:
            wanted[seg.first_record:seg.end_record] = True
    cfg = load_config()
    infos, adverse = [], []
    for floor in floors_bp:
        c = cfg if floor is None else cfg.with_spread(floor_bp=floor)
        _, info, adv = diagnose_stream(rd.records, rd.trades, mp.preds, c, rd.instrument.symbol,
                                       latency_ns=latency_ns, horizon_ns=mp.horizon_ns, fill_rule=fill_rule)
        sel = np.isfinite(adv[COMPARE_HORIZON_NS]) & wanted[info["record"]]
        infos.append(info[sel])
        adverse.append(adv[COMPARE_HORIZON_NS][sel])
    info, a = np.concatenate(infos), np.concatenate(adverse)
    order = np.lexsort((info["side"], info["recv_ns"]))
    info, a = info[order], a[order]
    x = side_frame(mp.features[info["record"]], info["side"], specs)
    label = f"{rd.instrument.symbol} {Path(paths[-1]).name if role == 'test' else '+'.join(Path(p).name for p in paths)}"
    return FillSet(label, x, a, info["lots"], sweep_episodes(info["recv_ns"], info["side"]), info["p_side"]), tuple(specs)


def _groups(values: Sequence[str]) -> list[list[Path]]:
    return [[Path(p) for p in v.split(",") if p] for v in values]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="append", required=True, metavar="DATA[,DATA...]",
                    help="captures of one instrument in stream order whose static fills fit the head, except "
                         "those in the model's test split (repeatable)")
    ap.add_argument("--test", action="append", required=True, metavar="DATA[,DATA...]",
                    help="captures of one instrument in stream order; the fills of the last file in the model's "
                         "test split, or in a file the model does not list, are scored (repeatable)")
    ap.add_argument("--fit-floor-bp", type=float, action="append", metavar="BP",
                    help="fit on the fills of static quotes at this half-spread (repeatable; default: the quoting "
                         "config's floor). More floors, more (overlapping) sweeps to fit on; the test stays at the config's")
    ap.add_argument("--model", default="qg_mlp")
    ap.add_argument("--latency-ms", type=float, default=5.0)
    ap.add_argument("--fill-rule", choices=tuple(FILL_RULES), default=DEFAULT_FILL_RULE)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    kw = {"model": args.model, "fill_rule": args.fill_rule, "latency_ns": int(round(args.latency_ms * 1e6))}

    try:
        floors = tuple(args.fit_floor_bp or (None,))
        fitted = [group_fills(g, role="fit", floors_bp=floors, **kw) for g in _groups(args.fit)]
        tests = [group_fills(g, role="test", **kw)[0] for g in _groups(args.test)]
    except input_errors() as e:
        ap.exit(2, f"{ap.prog}: error: {e}\n")
    fit_sets = [fs for fs, _ in fitted]
    fit_set = FillSet.concat("fit", fit_sets)
    if len(np.unique(fit_set.episode)) < CV_FOLDS:
        ap.exit(2, f"{ap.prog}: error: the --fit captures give {len(fit_set.adverse_bp)} static fills in "
                   f"{len(np.unique(fit_set.episode))} sweep episodes; {CV_FOLDS} are needed to choose the ridge\n")
    fit = fit_toxicity(fit_set, frame_names(fitted[0][1]))
    results = [evaluate(fit, fs) for fs in tests]

    out = {"fill_rule": args.fill_rule, "keep_volume": KEEP_VOLUME,
           "fit": {"groups": [fs.label for fs in fit_sets], "floors_bp": list(floors), "fills": len(fit_set.adverse_bp),
                   "episodes": len(np.unique(fit_set.episode)), "ridge": fit.ridge,
                   "cv_kept_bp": {f"{r:g}": v for r, v in fit.cv_kept_bp.items()},
                   "baseline_bp": oracle_reduction(fit_set.adverse_bp, fit_set.lots)[0],
                   "coef": dict(zip(fit.names, map(float, fit.coef), strict=True))},
           "test": [{"group": r.label, "fills": r.fills, "episodes": r.episodes, "baseline_bp": r.baseline_bp,
                     "kept_bp": r.kept_bp, "change": r.change, "interval": list(r.interval),
                     "oracle_bp": r.oracle_bp, "oracle_change": r.oracle_change,
                     "p_side_bp": r.p_side_bp, "p_side_change": r.p_side_change, "rank_corr": r.rank_corr}
                    for r in results]}
    if args.json:
        print(json.dumps(nan_to_none(out), indent=2))
        return 0
    f = out["fit"]
    at = "" if floors == (None,) else f" at half-spreads {', '.join(f'{b:g}' for b in floors)} bp"
    print(f"fit: {f['fills']} static fills{at} in {f['episodes']} sweep episodes ({', '.join(f['groups'])}); "
          f"AS at 1 s {f['baseline_bp']:.3f} bp per unit")
    print(f"  ridge {fit.ridge:g}, chosen by {CV_FOLDS}-fold episode-block CV on the fit fills; AS per unit kept "
          "out of fold: " + ", ".join(f"{r:g}: {v:.3f}" for r, v in fit.cv_kept_bp.items()))
    top = sorted(zip(fit.names, fit.coef, strict=True), key=lambda t: -abs(t[1]))[:6]
    print("  largest coefficients on standardised features (+ = more toxic): "
          + ", ".join(f"{n} {c:+.3f}" for n, c in top))
    print(f"test: drop the {100 * (1 - KEEP_VOLUME):.0f}% of fill volume scored most toxic "
          f"(issue-8 target: -{100 * TARGET_REDUCTION:.0f}% at {100 * KEEP_VOLUME:.0f}% volume)")
    for r in results:
        print(f"  {r.label}: {r.fills} fills ({r.episodes} episodes), AS at 1 s {r.baseline_bp:.3f} -> {r.kept_bp:.3f} bp "
              f"({100 * r.change:+.0f}%, 90% CI over episodes [{100 * r.interval[0]:+.0f}, {100 * r.interval[1]:+.0f}]); "
              f"oracle {100 * r.oracle_change:+.0f}%; the network's own p of the hurting move as the score "
              f"{100 * r.p_side_change:+.0f}%; rank corr of score with AS {r.rank_corr:+.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
