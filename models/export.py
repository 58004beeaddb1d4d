"""Saving the trained models, and exporting the artifacts the rest of QuoteGuard consumes:

    model.json + weights.h5   QKeras model (load with qkeras custom objects), weights on their grids
    weights_int.npz           integer weights / biases and their binary points (models/reference.py)
    metadata.json             model hash, formats, feature names, labels, sizes, histograms, metrics,
                              probability calibration (models/calibration.py, fitted on the val split)
    golden.npz                real record slices (each starting with RESET), their int8 features,
                              INVALID flags and integer outputs: what the RTL and hls4ml tests replay

Before anything is written, the integer reference is checked against QKeras `predict` on the golden
vectors and on every validation / test record: any difference aborts the export.
"""
from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models import tfcompat  # noqa: F401  (shims first)
from models.calibration import calibrate
from models.config import ModelConfig
from models.dataset import SPLIT_CODE, StreamData
from models.evaluate import qkeras_outputs
from models.features import compute_features
from models.qmodel import custom_objects, integer_layers
from models.record import FLAG_RESET
from models.reference import ReferenceModel, model_hash, probabilities, save_weights_int
from models.tfcompat import keras, tf
from models.train import TrainResult

log = logging.getLogger(__name__)

PROB_EDGES = [round(0.1 * i, 1) for i in range(11)]


class ExportMismatch(Exception):
    """The integer reference and QKeras disagree: nothing is exported."""


class StaleMetrics(Exception):
    """The evaluation report belongs to another trained model than the one being exported."""


def save_trained(out: Path, res: TrainResult, sizes: dict, balance: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "qmodel.json").write_text(res.qmodel.to_json())
    res.qmodel.save_weights(out / "qmodel.weights.h5")
    res.fmodel.save(out / "fmodel.h5")
    info = {"history": res.history, "class_weights": res.class_weights, "withdraw_weights": res.withdraw_weights,
            "sparsity": res.sparsity, "sizes": sizes, "label_balance": balance}
    (out / "train.json").write_text(json.dumps(info, indent=1))
    return out


def load_trained(out: Path) -> tuple[keras.Model, keras.Model, dict[str, Any]]:
    for name in ("qmodel.json", "qmodel.weights.h5", "fmodel.h5", "train.json"):
        if not (out / name).is_file():
            raise FileNotFoundError(f"{out / name} not found")
    q = keras.models.model_from_json((out / "qmodel.json").read_text(), custom_objects=custom_objects())
    q.load_weights(out / "qmodel.weights.h5")
    f = keras.models.load_model(out / "fmodel.h5", compile=False)
    return q, f, json.loads((out / "train.json").read_text())


def write_report(rdir: Path, metrics: dict[str, Any], text: str) -> None:
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (rdir / "report.txt").write_text(text + "\n")


def _hist(values: np.ndarray, edges: Sequence[float]) -> dict[str, list]:
    e = np.asarray(edges, dtype=np.float64)
    idx = np.clip(np.searchsorted(e, values, side="right") - 1, 0, len(e) - 2)
    return {"edges": [float(v) if not float(v).is_integer() else int(v) for v in e],
            "counts": np.bincount(idx, minlength=len(e) - 1).astype(int).tolist()}


def _pick_slice(s: StreamData, lo: int, hi: int, length: int) -> int:
    """Start of a `length` window in [lo, hi): prefer one with invalid records and trades (exercise
    the RTL's corner cases), then the one nearest the middle."""
    best, best_key = lo, None
    mid = (lo + hi - length) // 2
    trades = (s.records["trade_buy"] + s.records["trade_sell"]) > 0
    for start in range(lo, hi - length + 1, length // 2):
        key = (bool(s.invalid[start:start + length].any()), bool(trades[start:start + length].any()),
               -abs(start - mid))
        if best_key is None or key > best_key:
            best, best_key = start, key
    return best


def golden_vectors(cfg: ModelConfig, streams: Sequence[StreamData], qmodel: keras.Model) -> dict[str, np.ndarray]:
    """Contiguous real-record slices, one per stream (later parts first), each starting with RESET."""
    n_slices, length = cfg.training.golden_slices, cfg.training.golden_slice_len
    order = sorted(streams, key=lambda s: -int(s.split.max()) if len(s.split) else 0)
    chosen = []
    for s in order:
        if len(chosen) == n_slices:
            break
        if len(s.records) < length:
            continue
        later = np.flatnonzero(s.split >= SPLIT_CODE["val"])
        lo, hi = (int(later[0]), len(s.records)) if len(later) >= length else (0, len(s.records))
        chosen.append((s, _pick_slice(s, lo, hi, length)))
    while len(chosen) < n_slices and streams:  # fewer streams than slices: take a second window
        s = max(streams, key=lambda t: len(t.records))
        chosen.append((s, _pick_slice(s, 0, len(s.records) // 2, length)))
    parts = []
    for s, start in chosen:
        r = s.records[start:start + length].copy()
        r["flags"][0] |= FLAG_RESET   # the card (and a fresh pipeline) starts the stream here
        parts.append((s.name, start, r))
    recs = np.concatenate([p[2] for p in parts])
    feats, invalid = [], []
    for _, _, r in parts:
        f, inv = compute_features(r, cfg)
        feats.append(f)
        invalid.append(inv)
    x = np.concatenate(feats)
    return {
        "seq": (recs["seq"] & 0xFFFFFFFF).astype(np.uint32),
        "ts_ns": recs["ts_ns"].astype(np.uint64),
        "bid_px": recs["bid_px"].astype(np.int32), "bid_sz": recs["bid_sz"].astype(np.uint32),
        "ask_px": recs["ask_px"].astype(np.int32), "ask_sz": recs["ask_sz"].astype(np.uint32),
        "trade_buy": recs["trade_buy"].astype(np.uint32), "trade_sell": recs["trade_sell"].astype(np.uint32),
        "flags": recs["flags"].astype(np.uint32),
        "features": x, "invalid": np.concatenate(invalid),
        "outputs": qkeras_outputs(qmodel, x, cfg).astype(np.int16),
        "slice_start": np.arange(len(parts), dtype=np.int64) * length,
        "slice_source": np.array([f"{name} @ record {start}" for name, start, _ in parts]),
    }


def export_artifacts(cfg: ModelConfig, qmodel: keras.Model, streams: Sequence[StreamData],
                     metrics: dict[str, Any], train_info: dict[str, Any], dest: Path) -> dict[str, Any]:
    if cfg.network.kind != "mlp":
        raise ExportMismatch("export of the conv1d option needs windowed golden vectors; only mlp is exported")
    layers = integer_layers(qmodel, cfg)
    in_frac = cfg.quantizers.input.frac
    mhash = model_hash(layers, in_frac, cfg.sha256())
    if metrics.get("model_hash") != mhash:
        raise StaleMetrics(f"the metrics were computed for model {str(metrics.get('model_hash'))[:12]}, the trained "
                           f"model is {mhash[:12]}: run `quoteguard model evaluate` again")
    out_fmt = {"bits": cfg.quantizers.output.bits, "frac_bits": cfg.quantizers.output.frac, "signed": True,
               "names": list(cfg.network.outputs),
               "meaning": "value = integer / 2**frac_bits; (none, up, down) class logits -> softmax, "
                          "withdraw logit -> sigmoid (models.reference.probabilities)"}
    meta: dict[str, Any] = {"name": cfg.name, "model_hash": mhash, "config_sha256": cfg.sha256(),
                            "output": out_fmt, "labels": dict(cfg.raw["labels"])}
    ref = ReferenceModel(layers, in_frac, meta)

    golden = golden_vectors(cfg, streams, qmodel)
    checks = [("golden", golden["features"], golden["outputs"].astype(np.int64))]
    code_val = SPLIT_CODE["val"]
    verify_x = np.concatenate([s.features[s.split >= code_val] for s in streams])
    checks.append(("val+test", verify_x, qkeras_outputs(qmodel, verify_x, cfg)))
    for what, x, want in checks:
        got = ref.predict_batch(x)
        if not np.array_equal(got, want):
            bad = int(np.flatnonzero((got != want).any(axis=1))[0])
            raise ExportMismatch(f"{what}: reference {got[bad].tolist()} != QKeras {want[bad].tolist()} at row {bad}")
        one = np.array([ref.predict_one(v) for v in x[:2000]])
        if not np.array_equal(one, want[:2000]):
            raise ExportMismatch(f"{what}: predict_one differs from QKeras")

    # Host-side calibration of the probabilities (the integers are untouched): undo the class weighting
    # of training, then an affine map fitted on the validation part. Every backend applies it through
    # models.reference.probabilities, which reads it from here.
    cal, reliability = calibrate(cfg, streams, ref.predict_batch)
    if train_info.get("class_weights") is not None and not np.allclose(
            np.log(train_info["class_weights"]) - np.log(train_info["class_weights"][0]), cal["class_log_weights"],
            atol=1e-5):
        raise ExportMismatch(f"class weights recomputed from the training part {cal['class_log_weights']} differ "
                             f"from the ones training used {train_info['class_weights']}")
    meta["calibration"] = cal

    train_x = np.concatenate([s.features[s.usable & (s.split == SPLIT_CODE["train"])] for s in streams])
    train_y = ref.predict_batch(train_x)
    # drift compares live (calibrated) probabilities with these histograms
    probs = probabilities(train_y, meta)
    hist: dict[str, Any] = {}
    for j, name in enumerate(cfg.features.names):
        hist[name] = _hist(train_x[:, j], cfg.drift.bin_edges)
    for j, name in enumerate(cfg.network.outputs):
        hist[f"logit_{name}"] = _hist(train_y[:, j], cfg.drift.output_bin_edges)
    for j, name in enumerate(("p_up", "p_down", "p_withdraw")):
        hist[name] = _hist(probs[:, j], PROB_EDGES)

    meta.update({
        "format": "quoteguard-model-v1",
        "feature_names": list(cfg.features.names),
        "input": {"bits": cfg.quantizers.input.bits, "frac_bits": in_frac, "signed": True,
                  "dtype": "int8", "meaning": "feature integer x, the model sees x / 2**frac_bits"},
        "layers": [{"inputs": int(L.W.shape[0]), "outputs": int(L.W.shape[1]), "weight_frac": L.w_frac,
                    "bias_frac": L.b_frac, "activation": "relu" if L.act == 0 else "quantized_bits",
                    "out_bits": L.act_bits, "out_frac": L.act_frac,
                    "nonzero_weights": int(np.count_nonzero(L.W)), "weights": int(L.W.size)} for L in layers],
        "network": dict(cfg.raw["network"]), "quantizers": dict(cfg.raw["quantizers"]),
        "drift": {"psi_warn": cfg.drift.psi_warn, "psi_alert": cfg.drift.psi_alert,
                  "window_records": cfg.drift.window_records},
        "histograms": hist,
        "dataset": {"sizes": metrics.get("sizes", train_info.get("sizes")),
                    "label_balance": train_info.get("label_balance"),
                    "split": "time-ordered: " + "; ".join(
                        f"{s.path}: {s.split}" + (f" (train < {s.train_until}, val < {s.val_until} {s.tz}, "
                                                  "test after)" if s.split == "by_time" else "")
                        for s in cfg.training.sources)},
        "training": {"class_weights": train_info.get("class_weights"),
                     "withdraw_weights": train_info.get("withdraw_weights"), "sparsity": train_info.get("sparsity"),
                     "seed": cfg.seed, "epochs": cfg.training.epochs},
        "metrics": {**{k: metrics[k] for k in ("val", "test", "checks", "passed", "baselines") if k in metrics},
                    "calibration": reliability},
        "golden": {"records": int(len(golden["seq"])), "slices": golden["slice_source"].tolist(),
                   "slice_len": cfg.training.golden_slice_len},
        "verified_records": int(len(verify_x) + len(golden["seq"])),
        "versions": {"tensorflow": tf.__version__, "qkeras": _version("qkeras"),
                     "tfmot": _version("tensorflow-model-optimization")},
    })

    tmp = dest.with_name(dest.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    (tmp / "model.json").write_text(json.dumps(json.loads(qmodel.to_json()), indent=1))
    qmodel.save_weights(tmp / "weights.h5")
    save_weights_int(tmp / "weights_int.npz", layers, in_frac)
    np.savez_compressed(tmp / "golden.npz", **golden)
    (tmp / "metadata.json").write_text(json.dumps(meta, indent=1))
    ReferenceModel.load(tmp)  # round trip: the hash check passes on what was written
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    log.info("exported %s (%s) to %s", cfg.name, mhash[:12], dest)
    return meta


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"
