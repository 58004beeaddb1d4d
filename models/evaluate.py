"""Evaluation on the later (validation and test) data: the quantized model, its float twin and the
baselines (majority class, persistence, logistic regression on the imbalance features), macro-F1 and
per-class precision / recall, plus the plots (confusion matrix, calibration, precision / recall by
horizon). Numbers only; the CLI prints them.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from models import tfcompat  # noqa: F401  (shims first)
from models.calibration import apply_calibration, calibrate
from models.config import ModelConfig
from models.dataset import SPLIT_CODE, Part, StreamData, part, windows
from models.labels import CLASS_NAMES, make_labels
from models.qmodel import integer_layers
from models.reference import model_hash, probabilities
from models.tfcompat import keras
from models.train import model_inputs

log = logging.getLogger(__name__)

IMBALANCE_FEATURES = ("imb_l1", "imb_l2", "imb_l3", "imb_l5", "imb_weighted", "microprice", "ofi")
MAX_F1_LOSS = 0.02


def qkeras_outputs(model: keras.Model, x: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """Integer outputs of the QKeras model (predict, then x 2**frac: exact on the output grid)."""
    y = model.predict(model_inputs(x, cfg), batch_size=8192, verbose=0).astype(np.float64)
    ints = np.rint(y * (1 << cfg.quantizers.output.frac))
    if not np.array_equal(ints, y * (1 << cfg.quantizers.output.frac)):
        raise ValueError("QKeras outputs are off the output grid: the model lacks its output quantizer")
    return ints.astype(np.int64)


def _scores(y: np.ndarray, pred: np.ndarray, labels: Sequence[int], names: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(y, pred, labels=list(labels), zero_division=0)
    return {"macro_f1": float(np.mean(f)),
            "per_class": {n: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                              "support": int(s[i])} for i, n in enumerate(names)}}


def score_all(cls_true: np.ndarray, wd_true: np.ndarray, cls_pred: np.ndarray, wd_pred: np.ndarray
              ) -> dict[str, Any]:
    return {"direction": _scores(cls_true, cls_pred, (0, 1, 2), CLASS_NAMES),
            "withdraw": _scores(wd_true, wd_pred, (0, 1), ("stay", "withdraw"))}


def _last(x: np.ndarray) -> np.ndarray:
    """The current record's feature vector (the last of a conv1d window)."""
    return x[:, -1] if x.ndim == 3 else x


def _logistic(cfg: ModelConfig, train: Part):
    from sklearn.linear_model import LogisticRegression

    cols = [cfg.features.index(n) for n in IMBALANCE_FEATURES if n in cfg.features.names]
    xs = _last(train.x)[:, cols].astype(np.float64) / cfg.features.scale
    lr_c = LogisticRegression(class_weight="balanced", max_iter=500, random_state=cfg.seed).fit(xs, train.cls)
    lr_w = LogisticRegression(class_weight="balanced", max_iter=500, random_state=cfg.seed).fit(xs, train.withdraw)
    return cols, lr_c, lr_w


def evaluate(cfg: ModelConfig, streams: Sequence[StreamData], qmodel: keras.Model, fmodel: keras.Model,
             out_dir: Path) -> dict[str, Any]:
    """Metrics for val and test, acceptance checks, and PNG plots in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    window = cfg.network.window if cfg.network.kind == "conv1d" else 1
    train = part(streams, "train", window)
    majority = int(np.bincount(train.cls, minlength=3).argmax())
    majority_wd = int(np.bincount(train.withdraw, minlength=2).argmax())
    cols, lr_c, lr_w = _logistic(cfg, train)
    frac = cfg.quantizers.output.frac
    metrics: dict[str, Any] = {"baselines": {
        "majority": f"always class {CLASS_NAMES[majority]} / withdraw={majority_wd} (train majority)",
        "persistence": f"label of the record {cfg.labels.horizon_events + 1} records back (last complete window)",
        "logistic": f"balanced logistic regression on {', '.join(cfg.features.names[c] for c in cols)}",
    }}
    cache: dict[str, Any] = {}
    for split in ("val", "test"):
        p = part(streams, split, window)
        if len(p) == 0:
            raise ValueError(f"no usable {split} records: check training.sources")
        q_int = qkeras_outputs(qmodel, p.x, cfg)
        f_log = fmodel.predict(model_inputs(p.x, cfg), batch_size=8192, verbose=0).astype(np.float64)
        xs = _last(p.x)[:, cols].astype(np.float64) / cfg.features.scale
        models = {
            "quantized": (q_int[:, :3].argmax(axis=1), (q_int[:, 3] > 0).astype(np.int8)),
            "float": (f_log[:, :3].argmax(axis=1), (f_log[:, 3] > 0).astype(np.int8)),
            "majority": (np.full(len(p), majority), np.full(len(p), majority_wd)),
            "persistence": (p.persistence[:, 0], p.persistence[:, 1]),
            "logistic": (lr_c.predict(xs), lr_w.predict(xs)),
        }
        metrics[split] = {"records": len(p),
                          "models": {k: score_all(p.cls, p.withdraw, c, w) for k, (c, w) in models.items()}}
        # per stream: LOBSTER dominates the counts, so say how each venue fares on its own
        by: dict[str, Any] = {}
        for k in np.unique(p.stream):
            m = p.stream == k
            row: dict[str, Any] = {"records": int(m.sum())}
            for name, (c, w) in models.items():
                sc = score_all(p.cls[m], p.withdraw[m], c[m], w[m])
                row[name] = {"direction_macro_f1": sc["direction"]["macro_f1"],
                             "withdraw_macro_f1": sc["withdraw"]["macro_f1"]}
            by[streams[int(k)].name] = row
        metrics[split]["by_stream"] = by
        cache[split] = (p, q_int, f_log)
    t = metrics["test"]["models"]
    checks = {}
    for task in ("direction", "withdraw"):
        q = t["quantized"][task]["macro_f1"]
        best_base = max(t[b][task]["macro_f1"] for b in ("majority", "persistence", "logistic"))
        checks[task] = {"quantized_macro_f1": q, "best_baseline_macro_f1": best_base,
                        "float_macro_f1": t["float"][task]["macro_f1"],
                        "beats_baselines": bool(q > best_base),
                        "within_2pt_of_float": bool(q >= t["float"][task]["macro_f1"] - MAX_F1_LOSS)}
    metrics["checks"] = checks
    # ties the report to the trained weights: export refuses metrics of another model
    metrics["model_hash"] = model_hash(integer_layers(qmodel, cfg), cfg.quantizers.input.frac, cfg.sha256())
    metrics["passed"] = all(c["beats_baselines"] and c["within_2pt_of_float"] for c in checks.values())

    p, q_int, _ = cache["test"]
    probs = {"raw": probabilities(q_int, frac, calibrated=False)}
    if window == 1:
        # host-side calibration (models/calibration.py): prior correction + affine map fitted on val;
        # export stores the same parameters in metadata.json
        cal, rel = calibrate(cfg, streams, lambda x: qkeras_outputs(qmodel, x, cfg))
        metrics["calibration"] = {"params": cal, **rel}
        probs["calibrated"] = apply_calibration(q_int * 2.0 ** -frac, cal)
    metrics["plots"] = [
        _plot_confusion(p.cls, q_int[:, :3].argmax(axis=1), out_dir / "confusion_test.png"),
        _plot_calibration(p, probs, out_dir / "calibration_test.png"),
        _plot_by_horizon(cfg, streams, qmodel, out_dir / "pr_by_horizon_test.png", metrics),
    ]
    return metrics


def _plot_confusion(y: np.ndarray, pred: np.ndarray, path: Path) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y, pred, labels=[0, 1, 2])
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(3):
        for j in range(3):
            ax.text(j, i, f"{cm[i, j]}\n{norm[i, j]:.0%}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(3), CLASS_NAMES)
    ax.set_yticks(range(3), CLASS_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("quantized model, test")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def _plot_calibration(p: Part, probs: dict[str, np.ndarray], path: Path) -> str:
    """Reliability diagram on the test part: raw softmax / sigmoid (dashed) and calibrated (solid)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truths = {"p_up": p.cls == 1, "p_down": p.cls == 2, "p_withdraw": p.withdraw == 1}
    edges = np.linspace(0, 1, 11)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    for tag, pp in probs.items():
        for k, (name, truth) in enumerate(truths.items()):
            pr = pp[:, k]
            b = np.clip(np.digitize(pr, edges) - 1, 0, 9)
            xs, ys = [], []
            for i in range(10):
                m = b == i
                if m.sum() >= 20:
                    xs.append(pr[m].mean())
                    ys.append(truth[m].mean())
            brier = float(np.mean((pr - truth) ** 2))
            ax.plot(xs, ys, "o-" if tag == "calibrated" else "s--", color=f"C{k}", alpha=1.0 if tag == "calibrated" else 0.5,
                    label=f"{name} {tag} (Brier {brier:.3f})")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title("reliability (quantized, test; >= 20 records per bin)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def _plot_by_horizon(cfg: ModelConfig, streams: Sequence[StreamData], qmodel: keras.Model, path: Path,
                     metrics: dict[str, Any]) -> str:
    """Precision / recall of the (fixed) model against labels re-made at other horizons, time bound
    scaled with the event bound."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_fscore_support

    code = SPLIT_CODE["test"]
    window = cfg.network.window if cfg.network.kind == "conv1d" else 1
    outs, oks = {}, {}
    for s in streams:
        if (s.split == code).any():
            x, oks[s.name] = windows(s, window)
            outs[s.name] = qkeras_outputs(qmodel, x, cfg)
    rows = []
    for h in cfg.labels.eval_horizons_events:
        ms = max(1, round(cfg.labels.horizon_ms * h / cfg.labels.horizon_events))
        ys, ws, pc, pw = [], [], [], []
        for s in streams:
            if s.name not in outs:
                continue
            lab = make_labels(s.records, replace(cfg.labels), horizon_events=h, horizon_ms=ms)
            m = lab.labelled & (s.split == code) & oks[s.name]
            ys.append(lab.cls[m])
            ws.append(lab.withdraw[m])
            pc.append(outs[s.name][m, :3].argmax(axis=1))
            pw.append((outs[s.name][m, 3] > 0).astype(np.int8))
        y, w, c, d = (np.concatenate(v) for v in (ys, ws, pc, pw))
        pr, rc, _, _ = precision_recall_fscore_support(y, c, labels=[1, 2], zero_division=0)
        pw_, rw_, _, _ = precision_recall_fscore_support(w, d, labels=[1], zero_division=0)
        rows.append({"horizon_events": h, "horizon_ms": ms, "up_precision": float(pr[0]),
                     "up_recall": float(rc[0]), "down_precision": float(pr[1]), "down_recall": float(rc[1]),
                     "withdraw_precision": float(pw_[0]), "withdraw_recall": float(rw_[0])})
    metrics["by_horizon_test"] = rows
    fig, ax = plt.subplots(figsize=(6, 4))
    hs = [r["horizon_events"] for r in rows]
    for key, style in (("up", "-"), ("down", "--"), ("withdraw", ":")):
        ax.plot(hs, [r[f"{key}_precision"] for r in rows], "o" + style, color="C0", label=f"{key} precision")
        ax.plot(hs, [r[f"{key}_recall"] for r in rows], "s" + style, color="C1", label=f"{key} recall")
    ax.axvline(cfg.labels.horizon_events, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("label horizon (events; ms scaled alike)")
    ax.set_title("quantized model (trained at the grey horizon), test")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name
