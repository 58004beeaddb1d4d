"""QKeras -> da4ml tracer: the small QKeras front end da4ml 0.6 lacks (its Keras plugin is HGQ2 / Keras 3).

Supported layers: InputLayer, QActivation(quantized_bits | quantized_relu), QDense, QConv1D (valid
padding, stride 1), Flatten. Rounding follows QKeras (`tf.round` = round-half-to-even, ap_fixed
AP_RND_CONV) and saturation (AP_SAT), so the traced logic is bit-exact against QKeras `predict`.
da4ml itself only offers TRN and RND (half-up); half-to-even is built from half-up below.

Adapted from shared/reference/toolchain/qkeras_da4ml.py. Imports TensorFlow indirectly (the layers
are QKeras objects): import models.tfcompat before calling it.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
from da4ml.trace import FixedVariableArray, HWConfig
from da4ml.trace.fixed_variable import FixedVariable

log = logging.getLogger(__name__)

Kif = tuple[int, int, int]


class UnsupportedLayerError(NotImplementedError):
    """The model uses a layer or quantizer this tracer cannot reproduce bit-exactly."""


def _round_even_sat(v: FixedVariable | float, k: int, i: int, f: int) -> FixedVariable:
    """Round half to even to `f` fractional bits, then saturate to the (k, i, f) range.

    half-to-even(v) = half-up(v - 2^-F * (1 - b)) where b is the bit of weight 2^-f (the would-be LSB)
    and F the fractional bits of v: at an exact tie the nudge pushes odd values up and even ones down.
    """
    if not isinstance(v, FixedVariable):  # a constant folded by the tracer
        v = FixedVariable.from_const(v, hwconf=HWConfig(1, -1, -1), _factor=1)
    _k, _i, big_f = v.kif
    if big_f > f:
        lsb = v.quantize(0, 1 - f, f)  # (bit of weight 2^-f) * 2^-f, WRAP + TRN
        nudged = v - 2.0 ** (-big_f) + lsb * 2.0 ** (f - big_f)
        return nudged.quantize(k, i, f, "SAT", "RND")
    return v.quantize(k, i, f, "SAT", "TRN")


def round_even_sat(x: FixedVariableArray, k: int, i: int, f: int) -> FixedVariableArray:
    vs = np.array([_round_even_sat(v, k, i, f) for v in x._vars.ravel()], dtype=object).reshape(x.shape)
    return FixedVariableArray(vs, x.solver_options, hwconf=x.hwconf)


def quantizer_kif(quantizer: Any) -> Kif:
    """(keep_negative, integer bits, fractional bits) of a QKeras quantizer on the ap_fixed grid."""
    cfg = quantizer.get_config()
    name = quantizer.__class__.__name__
    if name == "quantized_bits":
        if cfg.get("alpha") not in (1, 1.0, None):
            raise UnsupportedLayerError(f"quantized_bits alpha={cfg.get('alpha')!r}: only alpha=1 is exact")
        if cfg.get("symmetric"):
            raise UnsupportedLayerError("symmetric quantized_bits is not supported")
        bits, integer = int(cfg["bits"]), int(cfg["integer"])
        k = int(bool(cfg.get("keep_negative", True)))
        return k, integer, bits - integer - k
    if name == "quantized_relu":
        if cfg.get("negative_slope", 0) != 0 or cfg.get("use_sigmoid"):
            raise UnsupportedLayerError("quantized_relu with negative_slope / use_sigmoid is not supported")
        return 0, int(cfg["integer"]), int(cfg["bits"]) - int(cfg["integer"])
    raise UnsupportedLayerError(f"quantizer {name}")


def _weights(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    w = layer.kernel_quantizer_internal(layer.kernel).numpy().astype(np.float64)
    b = layer.bias_quantizer_internal(layer.bias).numpy().astype(np.float64)
    return w, b


def trace_qkeras(model: Any, inp_kif: Kif = (1, 0, 7),
                 solver_options: dict[str, Any] | None = None) -> tuple[FixedVariableArray, FixedVariableArray]:
    """Trace a sequential QKeras model into da4ml variables; returns (inputs, outputs)."""
    shape = tuple(model.input_shape[1:])
    k, i, f = (np.full(shape, v, dtype=np.int8) for v in inp_kif)
    inp = FixedVariableArray.from_kif(k, i, f, HWConfig(1, -1, -1), solver_options=solver_options or {"hard_dc": 2})
    x = inp
    for layer in model.layers:
        cls = layer.__class__.__name__
        log.debug("tracing %s (%s)", layer.name, cls)
        if cls == "InputLayer":
            continue
        if cls == "QActivation":
            q = layer.quantizer
            kk, ii, ff = quantizer_kif(q)
            if q.__class__.__name__ == "quantized_relu":
                x = x.relu()
            x = round_even_sat(x, kk, ii, ff)
        elif cls == "QDense":
            w, b = _weights(layer)
            x = x @ w + b
        elif cls == "QConv1D":
            if layer.padding != "valid" or layer.strides != (1,) or layer.dilation_rate != (1,):
                raise UnsupportedLayerError(f"{layer.name}: only valid padding, stride 1, dilation 1")
            w, b = _weights(layer)  # (K, Cin, Cout)
            kw, cin, cout = w.shape
            wf = w.reshape(kw * cin, cout)
            rows = [x[t:t + kw].reshape(kw * cin) @ wf + b for t in range(x.shape[0] - kw + 1)]
            x = FixedVariableArray(np.stack([r._vars for r in rows]), x.solver_options, hwconf=x.hwconf)
        elif cls == "Flatten":
            x = x.reshape(-1)
        else:
            raise UnsupportedLayerError(f"{layer.name}: layer {cls} is not supported by the QKeras tracer")
        act = getattr(layer, "activation", None)
        if cls in ("QDense", "QConv1D") and act is not None and getattr(act, "__name__", "") != "linear":
            raise UnsupportedLayerError(f"{layer.name}: fused activation {act}; use a separate QActivation")
    return inp, x


def _qactivation_configs_to_strings(node: Any) -> None:
    """tf_keras writes a QActivation's quantizer object as a nested dict that QActivation.from_config
    cannot read back; rewrite it as the constructor string QKeras accepts ("quantized_bits(bits=8,...)")."""
    if isinstance(node, dict):
        cfg = node.get("config")
        if node.get("class_name") == "QActivation" and isinstance(cfg, dict) and isinstance(cfg.get("activation"), dict):
            act = cfg["activation"]
            args = ",".join(f"{k}={v!r}" for k, v in act["config"].items())
            cfg["activation"] = f"{act['class_name']}({args})"
        for v in node.values():
            _qactivation_configs_to_strings(v)
    elif isinstance(node, list):
        for v in node:
            _qactivation_configs_to_strings(v)


def load_qkeras_model(model_json: str, weights_h5: str) -> Any:
    """Load a QKeras model saved as model.json + weights.h5 (TensorFlow must be set up by models.tfcompat)."""
    import json

    from qkeras.utils import _add_supported_quantized_objects

    from models.tfcompat import keras

    custom: dict[str, Any] = {}
    _add_supported_quantized_objects(custom)
    with open(model_json) as fh:
        spec = json.load(fh)
    _qactivation_configs_to_strings(spec)
    model = keras.models.model_from_json(json.dumps(spec), custom_objects=custom)
    model.load_weights(weights_h5)
    return model
