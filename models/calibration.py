"""Host-side calibration of the network's probabilities (no TensorFlow; numpy + scipy).

The network was trained with class-weighted losses (config `training.class_weighting: balanced`): the
minimiser of a loss that weights class c by w_c is p_w(c|x) proportional to w_c p(c|x), so its softmax
over-states the rare classes (p_withdraw averaged ~0.5 against a ~30 % base rate). The integers stay
as they are (the RTL and hls4ml cores are generated from them); the host corrects the logits:

  1. prior correction (undo the weighting):   z_c <- z_c - log w_c          (3-class head)
                                               z_wd <- z_wd - log(w_1 / w_0)  (withdraw head)
  2. affine (temperature / Platt) scaling fitted by maximum likelihood on the VALIDATION split:
        class logits  z_c <- z_c / T + b_c   (b_none = 0)
        withdraw      z_wd <- a z_wd + c

`fit_calibration` returns the parameters as a plain dict, stored in metadata.json under
"calibration" by models/export.py; `apply_calibration` is what models.reference.probabilities calls.
Deterministic: the same logits, labels and weights give the same parameters.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

METHOD = "prior_correction+affine"
N_BINS = 10


@dataclass(frozen=True, slots=True)
class Calibration:
    """The stored parameters (metadata.json "calibration"), hashable so that it can ride on the output
    format every backend passes to models.reference.probabilities."""

    class_log_weights: tuple[float, float, float]
    class_temperature: float
    class_bias: tuple[float, float, float]
    withdraw_log_weight_ratio: float
    withdraw_scale: float
    withdraw_bias: float

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibration:
        if d.get("method") != METHOD:
            raise ValueError(f"unknown calibration method {d.get('method')!r} (this reader knows {METHOD!r})")
        try:
            c = cls(tuple(float(v) for v in d["class_log_weights"]), float(d["class_temperature"]),
                    tuple(float(v) for v in d["class_bias"]), float(d["withdraw_log_weight_ratio"]),
                    float(d["withdraw_scale"]), float(d["withdraw_bias"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"malformed calibration parameters: {e}") from e
        if len(c.class_log_weights) != 3 or len(c.class_bias) != 3:
            raise ValueError("calibration: class_log_weights and class_bias need 3 values (none, up, down)")
        if not (c.class_temperature > 0 and np.isfinite([*c.class_log_weights, *c.class_bias, c.withdraw_scale,
                                                          c.withdraw_bias, c.withdraw_log_weight_ratio]).all()):
            raise ValueError("calibration: temperature must be > 0 and every parameter finite")
        return c


def exp1(x: float) -> float:
    """The C library's exp of one float, inf where it overflows (as np.exp): the one exponential of
    the probabilities. Not numpy's: np.exp uses its own SIMD code, which differs from the C library
    in the last bit for a few percent of inputs, and the live single-event path
    (models.reference.probabilities_one_fn) cannot afford a numpy call per event (about 2 us in the
    middle of the event loop, where numpy's dispatch code is cold); both paths take this function,
    so they give the same floats."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _exp(z: np.ndarray) -> np.ndarray:
    flat = z.ravel().tolist()
    return np.fromiter(map(exp1, flat), np.float64, len(flat)).reshape(z.shape)


def _softmax(z: np.ndarray) -> np.ndarray:
    c = z - z.max(axis=-1, keepdims=True)
    e = _exp(c)
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + _exp(-z))


def adjusted_logits(z: np.ndarray, cal: Calibration | Mapping[str, Any]) -> np.ndarray:
    """Float logits (..., 4) (already / 2**frac) -> calibrated logits (..., 4)."""
    c = cal if isinstance(cal, Calibration) else Calibration.from_dict(cal)
    out = np.empty(z.shape, dtype=np.float64)
    out[..., :3] = (z[..., :3] - np.asarray(c.class_log_weights)) / c.class_temperature + np.asarray(c.class_bias)
    out[..., 3] = c.withdraw_scale * (z[..., 3] - c.withdraw_log_weight_ratio) + c.withdraw_bias
    return out


def apply_calibration(z: np.ndarray, cal: Calibration | Mapping[str, Any] | None) -> np.ndarray:
    """(p_up, p_down, p_withdraw) from float logits (..., 4); `cal` None = the raw softmax / sigmoid."""
    z = np.asarray(z, dtype=np.float64)
    if cal is not None:
        z = adjusted_logits(z, cal)
    p = _softmax(z[..., :3])
    return np.stack([p[..., 1], p[..., 2], _sigmoid(z[..., 3])], axis=-1)


def _nll_class(params: np.ndarray, z: np.ndarray, y: np.ndarray) -> float:
    inv_t, b1, b2 = params
    s = z * inv_t + np.array([0.0, b1, b2])
    s = s - s.max(axis=1, keepdims=True)
    lse = np.log(np.exp(s).sum(axis=1))
    return float(np.mean(lse - s[np.arange(len(y)), y]))


def _nll_withdraw(params: np.ndarray, z: np.ndarray, y: np.ndarray) -> float:
    a, c = params
    s = a * z + c
    # log(1 + exp(-s)) for y = 1, log(1 + exp(s)) for y = 0
    return float(np.mean(np.logaddexp(0.0, np.where(y == 1, -s, s))))


def fit_calibration(logits: np.ndarray, cls: np.ndarray, withdraw: np.ndarray, frac_bits: int,
                    class_weights: Sequence[float], withdraw_weights: Sequence[float], *,
                    fitted_on: str = "") -> dict[str, Any]:
    """Prior correction from the training class weights, then an affine map fitted on (logits, labels)
    of the validation split. logits: integer outputs (n, 4)."""
    from scipy.optimize import minimize

    z = np.asarray(logits, dtype=np.float64) * 2.0 ** -frac_bits
    y = np.asarray(cls, dtype=np.int64)
    w = np.asarray(withdraw, dtype=np.int64)
    lw = np.log(np.asarray(class_weights, dtype=np.float64))
    lw = lw - lw[0]                       # only differences matter in a softmax
    wl = float(np.log(withdraw_weights[1] / withdraw_weights[0]))
    zc = z[:, :3] - lw
    zw = z[:, 3] - wl
    rc = minimize(_nll_class, np.array([1.0, 0.0, 0.0]), args=(zc, y), method="L-BFGS-B",
                  bounds=[(0.05, 20.0), (-10.0, 10.0), (-10.0, 10.0)])
    rw = minimize(_nll_withdraw, np.array([1.0, 0.0]), args=(zw, w), method="L-BFGS-B",
                  bounds=[(0.05, 20.0), (-10.0, 10.0)])
    r6 = lambda v: round(float(v), 6)   # noqa: E731  (stable JSON; probabilities use these values)
    return {
        "method": METHOD,
        "class_log_weights": [r6(v) for v in lw],
        "withdraw_log_weight_ratio": r6(wl),
        "class_temperature": r6(1.0 / rc.x[0]),
        "class_bias": [0.0, r6(rc.x[1]), r6(rc.x[2])],
        "withdraw_scale": r6(rw.x[0]),
        "withdraw_bias": r6(rw.x[1]),
        "fitted_on": fitted_on,
        "records": int(len(y)),
        "meaning": "z = integer / 2**frac_bits; class logits (z - class_log_weights) / class_temperature "
                   "+ class_bias -> softmax; withdraw logit withdraw_scale x (z - withdraw_log_weight_ratio) "
                   "+ withdraw_bias -> sigmoid (models.calibration.apply_calibration)",
    }


def reliability(p: np.ndarray, truth: np.ndarray, n_bins: int = N_BINS) -> dict[str, Any]:
    """Brier score, expected calibration error (equal-width bins, count-weighted |mean p - freq|),
    mean prediction and base rate of one binary event."""
    p = np.asarray(p, dtype=np.float64)
    t = np.asarray(truth, dtype=np.float64)
    b = np.clip((p * n_bins).astype(np.int64), 0, n_bins - 1)
    cnt = np.bincount(b, minlength=n_bins)
    sp = np.bincount(b, weights=p, minlength=n_bins)
    st = np.bincount(b, weights=t, minlength=n_bins)
    ok = cnt > 0
    ece = float(np.sum(np.abs(sp[ok] - st[ok])) / max(len(p), 1))
    return {"brier": float(np.mean((p - t) ** 2)), "ece": ece, "mean_p": float(p.mean()) if len(p) else float("nan"),
            "base_rate": float(t.mean()) if len(t) else float("nan"), "records": int(len(p))}


def calibration_report(logits: np.ndarray, cls: np.ndarray, withdraw: np.ndarray, frac_bits: int,
                       cal: Mapping[str, Any] | None) -> dict[str, Any]:
    """Reliability of p_up, p_down, p_withdraw, raw and calibrated, on one labelled part."""
    z = np.asarray(logits, dtype=np.float64) * 2.0 ** -frac_bits
    truths = {"p_up": cls == 1, "p_down": cls == 2, "p_withdraw": withdraw == 1}
    out: dict[str, Any] = {}
    for tag, c in (("raw", None), ("calibrated", cal)):
        if tag == "calibrated" and cal is None:
            continue
        p = apply_calibration(z, c)
        out[tag] = {name: reliability(p[:, k], t) for k, (name, t) in enumerate(truths.items())}
    return out


def training_weights(labels: np.ndarray, k: int, weighting: str) -> np.ndarray:
    """The loss weights training used (models/train.py): inverse class frequency when `balanced`."""
    if weighting != "balanced":
        return np.ones(k)
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=k).astype(np.float64)
    if (counts == 0).any():
        raise ValueError(f"training labels miss a class: counts {counts.tolist()}")
    return counts.sum() / (k * counts)


def calibrate(cfg: Any, streams: Sequence[Any], predict: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the calibration from the data alone: class weights from the training part (as training
    computed them), the affine map on the validation part's integer outputs (`predict(x) -> int (n, 4)`,
    the reference or QKeras: identical integers). Returns (parameters for metadata.json, reliability of
    the raw and calibrated probabilities on val and test, overall and per stream)."""
    from models.dataset import part

    frac = cfg.quantizers.output.frac
    train = part(streams, "train")
    cw = training_weights(train.cls, 3, cfg.training.class_weighting)
    ww = training_weights(train.withdraw, 2, cfg.training.class_weighting)
    val = part(streams, "val")
    val_y = predict(val.x)
    sizes = {streams[int(k)].name: int((val.stream == k).sum()) for k in np.unique(val.stream)}
    cal = fit_calibration(val_y, val.cls, val.withdraw, frac, cw, ww,
                          fitted_on="val split, every stream: " + ", ".join(f"{n} {c}" for n, c in sizes.items()))
    rel: dict[str, Any] = {}
    for split, p, y in (("val", val, val_y), ("test", None, None)):
        if p is None:
            p = part(streams, split)
            y = predict(p.x)
        rel[split] = {"all": calibration_report(y, p.cls, p.withdraw, frac, cal)}
        for k in np.unique(p.stream):
            m = p.stream == k
            rel[split][streams[int(k)].name] = calibration_report(y[m], p.cls[m], p.withdraw[m], frac, cal)
    return cal, rel
