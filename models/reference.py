"""The CPU reference: exact integer inference from the exported artifacts, without TensorFlow.

`weights_int.npz` holds a chain of dense layers (a QConv1D is exported as its equivalent dense
Toeplitz matrix), each followed by a quantizer: the network is

    h0 = features (int8, frac 7)
    acc_k = h_k @ W_k + (b_k << (frac(h_k) + frac(W_k) - frac(b_k)))      exact integers
    h_{k+1} = sat(round_half_even(acc_k >> (frac(acc_k) - frac_out_k)))  QKeras quantized_relu / _bits

Two entry points with identical integers: `predict_batch` (numpy; float32 BLAS, exact because every
accumulator is proven at load time to stay below 2**24) and `predict_one` (a numba kernel for the
single-event live path). `probabilities()` is the one function every backend uses to turn the output
integers into p_up / p_down / p_withdraw.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np

from models.calibration import Calibration, apply_calibration

log = logging.getLogger(__name__)

ACT_RELU, ACT_SIGNED = 0, 1
FLOAT32_EXACT = 1 << 24      # integers below this magnitude are exact in float32
FORMAT_VERSION = 1


class ModelArtifactError(Exception):
    """Artifacts missing, malformed, or failing their model hash."""


@dataclass(frozen=True)
class OutputFormat:
    """Binary point of the integer outputs: value = integer / 2**frac_bits; and the host-side
    calibration of the probabilities (metadata.json "calibration"; None = raw softmax / sigmoid), so
    that every backend, which passes this object to `probabilities`, applies the same one."""

    bits: int
    frac_bits: int
    names: tuple[str, ...]
    calibration: Calibration | None = field(default=None)


@dataclass(frozen=True)
class DenseLayer:
    W: np.ndarray          # int64 (n_in, n_out)
    b: np.ndarray          # int64 (n_out,)
    w_frac: int
    b_frac: int
    act: int               # ACT_RELU | ACT_SIGNED
    act_bits: int
    act_frac: int

    @property
    def bounds(self) -> tuple[int, int]:
        if self.act == ACT_RELU:
            return 0, (1 << self.act_bits) - 1
        return -(1 << (self.act_bits - 1)), (1 << (self.act_bits - 1)) - 1


def model_hash(layers: list[DenseLayer], input_frac: int, config_sha256: str) -> str:
    """sha256 over the integer weights, biases and formats (canonical little-endian int64) and the
    config hash: two models with the same hash compute the same integers."""
    h = hashlib.sha256()
    h.update(f"qg-model-v{FORMAT_VERSION}|in{input_frac}|".encode())
    for k, L in enumerate(layers):
        h.update(f"L{k}|{L.W.shape}|{L.w_frac}|{L.b_frac}|{L.act}|{L.act_bits}|{L.act_frac}|".encode())
        h.update(np.ascontiguousarray(L.W, dtype="<i8").tobytes())
        h.update(np.ascontiguousarray(L.b, dtype="<i8").tobytes())
    h.update(config_sha256.encode())
    return h.hexdigest()


def save_weights_int(path: Path, layers: list[DenseLayer], input_frac: int) -> None:
    arrays: dict[str, np.ndarray] = {"format_version": np.int64(FORMAT_VERSION),
                                     "n_layers": np.int64(len(layers)), "input_frac": np.int64(input_frac)}
    for k, L in enumerate(layers):
        arrays[f"W{k}"] = L.W.astype(np.int16)
        arrays[f"b{k}"] = L.b.astype(np.int32)
        # [w_frac, b_frac, act, act_bits, act_frac]
        arrays[f"fmt{k}"] = np.array([L.w_frac, L.b_frac, L.act, L.act_bits, L.act_frac], dtype=np.int64)
    np.savez(path, **arrays)


def load_weights_int(path: Path) -> tuple[list[DenseLayer], int]:
    try:
        z = np.load(path)
    except (OSError, ValueError) as e:
        raise ModelArtifactError(f"cannot read {path}: {e}") from e
    with z:
        if int(z["format_version"]) != FORMAT_VERSION:
            raise ModelArtifactError(f"{path}: format_version {int(z['format_version'])}, "
                                     f"this reader knows {FORMAT_VERSION}")
        layers = []
        for k in range(int(z["n_layers"])):
            w_frac, b_frac, act, act_bits, act_frac = (int(v) for v in z[f"fmt{k}"])
            layers.append(DenseLayer(z[f"W{k}"].astype(np.int64), z[f"b{k}"].astype(np.int64),
                                     w_frac, b_frac, act, act_bits, act_frac))
        return layers, int(z["input_frac"])


@numba.njit(cache=False, nogil=True)
def _forward_one(x, weights, biases, table, out):
    """Integer forward pass of one feature vector. table rows: [n_in, n_out, w_off, b_off, bias_shift,
    round_shift (< 0: left shift), lo, hi]; weights row-major (n_in, n_out) per layer."""
    n_layers = table.shape[0]
    width = 0
    for k in range(n_layers):
        width = max(width, table[k, 1])
    h = np.empty(max(width, x.shape[0]), dtype=np.int64)
    g = np.empty_like(h)
    for i in range(x.shape[0]):
        h[i] = x[i]
    for k in range(n_layers):
        n_in = table[k, 0]
        n_out = table[k, 1]
        w_off = table[k, 2]
        b_off = table[k, 3]
        bshift = table[k, 4]
        rshift = table[k, 5]
        lo = table[k, 6]
        hi = table[k, 7]
        for o in range(n_out):
            acc = biases[b_off + o] << bshift
            for i in range(n_in):
                acc += h[i] * weights[w_off + i * n_out + o]
            if rshift > 0:
                q = acc >> rshift
                r = acc - (q << rshift)
                half = np.int64(1) << (rshift - 1)
                if r > half or (r == half and (q & 1) == 1):
                    q += 1
            else:
                q = acc << -rshift
            g[o] = lo if q < lo else hi if q > hi else q
        for o in range(n_out):
            h[o] = g[o]
    for o in range(out.shape[0]):
        out[o] = h[o]


class ReferenceModel:
    """Integer inference from `models/<name>/artifacts/` (weights_int.npz + metadata.json)."""

    def __init__(self, layers: list[DenseLayer], input_frac: int, meta: Mapping[str, Any]) -> None:
        self.layers = layers
        self.input_frac = input_frac
        self.meta = dict(meta)
        self.n_inputs = layers[0].W.shape[0]
        self.n_outputs = layers[-1].W.shape[1]
        for k in range(1, len(layers)):
            if layers[k].W.shape[0] != layers[k - 1].W.shape[1]:
                raise ModelArtifactError(f"layer {k}: {layers[k].W.shape[0]} inputs after "
                                         f"{layers[k - 1].W.shape[1]} outputs")
        # Per layer: accumulator frac, bias shift, rounding shift; and a proof that float32 is exact.
        self._plan: list[tuple[int, int, int, int]] = []
        in_frac, in_max = input_frac, 1 << 7
        self.float32_exact = True
        for k, L in enumerate(layers):
            acc_frac = in_frac + L.w_frac
            bshift = acc_frac - L.b_frac
            if bshift < 0:
                raise ModelArtifactError(f"layer {k}: bias frac {L.b_frac} finer than the accumulator "
                                         f"frac {acc_frac}; not representable exactly")
            lo, hi = L.bounds
            bound = in_max * int(np.abs(L.W).sum(axis=0).max()) + (int(np.abs(L.b).max()) << bshift)
            self.float32_exact &= bound < FLOAT32_EXACT
            self._plan.append((bshift, acc_frac - L.act_frac, lo, hi))
            in_frac, in_max = L.act_frac, max(abs(lo), abs(hi))
        self.output_format = OutputFormat(layers[-1].act_bits, layers[-1].act_frac,
                                          tuple(self.meta.get("output", {}).get("names",
                                                ("none", "up", "down", "withdraw"))),
                                          _calibration(self.meta))
        # packed tables for the compiled single-event kernel
        self._w = np.concatenate([L.W.ravel() for L in layers]).astype(np.int64)
        self._b = np.concatenate([L.b for L in layers]).astype(np.int64)
        rows, w_off, b_off = [], 0, 0
        for L, (bshift, rshift, lo, hi) in zip(layers, self._plan, strict=True):
            rows.append([L.W.shape[0], L.W.shape[1], w_off, b_off, bshift, rshift, lo, hi])
            w_off += L.W.size
            b_off += L.b.size
        self._table = np.array(rows, dtype=np.int64)
        self._wf = [L.W.astype(np.float32) for L in layers]
        self._bf = [(L.b << bs).astype(np.float32) for L, (bs, _, _, _) in zip(layers, self._plan, strict=True)]

    @classmethod
    def load(cls, artifacts_dir: str | Path) -> ReferenceModel:
        d = Path(artifacts_dir)
        meta_path, w_path = d / "metadata.json", d / "weights_int.npz"
        for p in (meta_path, w_path):
            if not p.is_file():
                raise ModelArtifactError(f"missing artifact {p} (run `quoteguard model export`)")
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError as e:
            raise ModelArtifactError(f"{meta_path}: not JSON: {e}") from e
        layers, input_frac = load_weights_int(w_path)
        want = meta.get("model_hash")
        got = model_hash(layers, input_frac, meta.get("config_sha256", ""))
        if want != got:
            raise ModelArtifactError(f"{w_path}: model hash {got[:16]}... does not match "
                                     f"metadata.json's {str(want)[:16]}...")
        model = cls(layers, input_frac, meta)
        log.info("loaded reference model %s (%s), float32 batch path exact: %s",
                 meta.get("name"), got[:12], model.float32_exact)
        return model

    @property
    def model_hash(self) -> str:
        return str(self.meta["model_hash"])

    @property
    def horizon_ns(self) -> int:
        return int(self.meta["labels"]["horizon_ms"]) * 1_000_000

    def _check(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"features must have shape (n, {self.n_inputs}), got {x.shape}")
        if x.dtype != np.int8:
            if not np.issubdtype(x.dtype, np.integer) or x.size and (x.min() < -128 or x.max() > 127):
                raise ValueError(f"features must be int8 integers, got {x.dtype}")
        return x

    def predict_batch(self, features: np.ndarray) -> np.ndarray:
        """int64 (n, outputs) for int8 (n, inputs) features."""
        x = self._check(features)
        if not self.float32_exact:
            return self._predict_int64(x)
        h = x.astype(np.float32)
        for W, b, (_, rshift, lo, hi) in zip(self._wf, self._bf, self._plan, strict=True):
            acc = h @ W
            acc += b
            if rshift > 0:
                acc *= np.float32(2.0 ** -rshift)   # exact: power of two, value < 2**24
                np.rint(acc, out=acc)                # round half to even, as QKeras' tf.round
            elif rshift < 0:
                acc *= np.float32(2.0 ** -rshift)
            np.clip(acc, lo, hi, out=acc)
            h = acc
        return h.astype(np.int64)

    def _predict_int64(self, x: np.ndarray) -> np.ndarray:
        h = x.astype(np.int64)
        for L, (bshift, rshift, lo, hi) in zip(self.layers, self._plan, strict=True):
            acc = h @ L.W + (L.b << bshift)
            if rshift > 0:
                q = acc >> rshift
                r = acc - (q << rshift)
                half = 1 << (rshift - 1)
                q += (r > half) | ((r == half) & ((q & 1) == 1))
            else:
                q = acc << -rshift
            h = np.clip(q, lo, hi)
        return h

    def warm_up(self) -> None:
        """Compile the single-event kernel now rather than on the first live event."""
        self.predict_one(np.zeros(self.n_inputs, dtype=np.int8))

    def predict_one(self, features: np.ndarray) -> np.ndarray:
        """int64 (outputs,) for one int8 (inputs,) feature vector (compiled; the live path)."""
        x = np.asarray(features)
        if x.shape != (self.n_inputs,):
            raise ValueError(f"features must have shape ({self.n_inputs},), got {x.shape}")
        out = np.empty(self.n_outputs, dtype=np.int64)
        _forward_one(x, self._w, self._b, self._table, out)
        return out

    def probabilities(self, logits: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
        return probabilities(logits, self.output_format, calibrated=calibrated)


def _calibration(meta: OutputFormat | Mapping[str, Any] | int) -> Calibration | None:
    if isinstance(meta, OutputFormat):
        return meta.calibration
    if isinstance(meta, int) or not isinstance(meta, Mapping):
        return None
    raw = meta.get("calibration")
    if raw is None:
        return None
    try:
        return Calibration.from_dict(raw)
    except ValueError as e:
        raise ModelArtifactError(f"metadata calibration: {e}") from e


def _frac_bits(meta: OutputFormat | Mapping[str, Any] | int) -> int:
    if isinstance(meta, OutputFormat):
        return meta.frac_bits
    if isinstance(meta, int):
        return meta
    try:
        return int(meta["output"]["frac_bits"])
    except (KeyError, TypeError) as e:
        raise ModelArtifactError("metadata has no output.frac_bits") from e


def probabilities(logits: np.ndarray | tuple[int, ...], meta: OutputFormat | Mapping[str, Any] | int, *,
                  calibrated: bool = True) -> np.ndarray:
    """(p_up, p_down, p_withdraw) from integer outputs (none, up, down, withdraw): softmax over the
    three class logits and sigmoid of the withdraw logit, each logit = integer / 2**frac_bits, after
    the model's calibration (models/calibration.py: undo the class weighting of training, then the
    affine map fitted on the validation split) when `meta` carries one -- an OutputFormat built from
    metadata.json, or the metadata mapping itself; a bare frac_bits int, or calibrated=False, gives
    the raw softmax / sigmoid. Shape (..., 4) in, float64 (..., 3) out. The one host-side function all
    backends share, so identical integers give identical probabilities on every backend."""
    z = np.asarray(logits, dtype=np.float64)
    if z.shape[-1] != 4:
        raise ValueError(f"expected 4 outputs (none, up, down, withdraw), got shape {z.shape}")
    if z.size == 4:   # one row: the scalar path, bit-identical (tests/models/test_reference.py)
        return np.array(probabilities_one(z.ravel().tolist(), meta, calibrated=calibrated)).reshape(*z.shape[:-1], 3)
    z = z * 2.0 ** -_frac_bits(meta)
    return apply_calibration(z, _calibration(meta) if calibrated else None)


def probabilities_one(logits: tuple[int, ...] | list[float], meta: OutputFormat | Mapping[str, Any] | int, *,
                      calibrated: bool = True) -> tuple[float, float, float]:
    """`probabilities` of one row of 4 outputs, as Python floats, for the single-event live path
    (`probabilities_one_fn` binds `meta` once: what the cpu backend calls per event)."""
    return probabilities_one_fn(meta, calibrated=calibrated)(logits)


def probability_constants(meta: OutputFormat | Mapping[str, Any] | int, *, calibrated: bool = True) -> np.ndarray:
    """float64 [2**-frac_bits, calibrated (0/1), w0, w1, w2, T, b0, b1, b2, a, r, c]: what
    `probabilities_row` needs of `meta` (models/calibration.py names the parameters)."""
    k = np.zeros(12, np.float64)
    k[0] = 2.0 ** -_frac_bits(meta)
    c = _calibration(meta) if calibrated else None
    if c is not None:
        k[1] = 1.0
        k[2:5], k[5], k[6:9] = c.class_log_weights, c.class_temperature, c.class_bias
        k[9:12] = c.withdraw_scale, c.withdraw_log_weight_ratio, c.withdraw_bias
    return k


@numba.njit(cache=True, nogil=True)
def probabilities_row(logits, k, out):
    """`probabilities` of one row of 4 outputs (float64 logits) into out[:3], compiled: the live
    single-event path (control/fastpath.py runs it after the network; `probabilities_one_fn` calls
    it). The same IEEE operations in the same order as the vectorized path (models.calibration:
    adjusted_logits, _softmax, _sigmoid), so the floats are bit-identical: the softmax sum left to
    right as numpy sums three values, and math.exp, which numba lowers to the C library's exp, the
    one exponential both paths use (models.calibration.exp1; inf on overflow here as there)."""
    scale = k[0]
    z0, z1, z2, z3 = logits[0] * scale, logits[1] * scale, logits[2] * scale, logits[3] * scale
    if k[1] != 0.0:
        t = k[5]
        z0, z1, z2 = (z0 - k[2]) / t + k[6], (z1 - k[3]) / t + k[7], (z2 - k[4]) / t + k[8]
        z3 = k[9] * (z3 - k[10]) + k[11]
    m = z0
    if z1 > m:
        m = z1
    if z2 > m:
        m = z2
    e0, e1, e2 = math.exp(z0 - m), math.exp(z1 - m), math.exp(z2 - m)
    total = e0 + e1 + e2
    out[0] = e1 / total
    out[1] = e2 / total
    out[2] = 1.0 / (1.0 + math.exp(-z3))


def probabilities_one_fn(meta: OutputFormat | Mapping[str, Any] | int, *,
                         calibrated: bool = True) -> Callable[[Sequence[float]], tuple[float, float, float]]:
    """`probabilities_one` with the scale and the calibration of `meta` resolved once (the cpu
    backend's generic single-event path)."""
    k = probability_constants(meta, calibrated=calibrated)
    out = np.zeros(3, np.float64)

    def one(logits: Sequence[float]) -> tuple[float, float, float]:
        probabilities_row(np.array(logits, np.float64), k, out)
        p_up, p_down, p_withdraw = out.tolist()
        return p_up, p_down, p_withdraw

    return one
