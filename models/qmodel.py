"""QKeras network of a model config, its float twin, and the integer view of a trained model.
TensorFlow lives here (and in train / evaluate / export): never import this from the runtime.

Layer set, on purpose: QActivation(quantized_bits(alpha=1) | quantized_relu), QDense, QConv1D
(valid, stride 1), Flatten -- no fused activations -- because da4ml's tracer and hls4ml convert exactly
these layers bit-exactly (shared/reference/toolchain).
"""
from __future__ import annotations

import logging

import numpy as np

# The shims must load before QKeras.
# isort: off
from models import tfcompat  # noqa: F401
from qkeras import QActivation, QConv1D, QDense, quantized_bits
from qkeras.utils import _add_supported_quantized_objects
# isort: on
from models.config import GridSpec, ModelConfig
from models.reference import ACT_RELU, ACT_SIGNED, DenseLayer
from models.tfcompat import keras

log = logging.getLogger(__name__)


class ExportError(ValueError):
    """The trained model cannot be expressed exactly as integers (a quantizer or layer outside the set)."""


def custom_objects() -> dict:
    co: dict = {}
    _add_supported_quantized_objects(co)
    return co


def qbits(g: GridSpec) -> quantized_bits:
    return quantized_bits(g.bits, g.integer, keep_negative=g.signed, alpha=1)


# QActivation takes its quantizer as a string: a quantizer object ends up in get_config() as a Python
# object and the model no longer round-trips through model.json.
def qbits_act(g: GridSpec) -> str:
    return f"quantized_bits({g.bits},{g.integer},keep_negative={g.signed},alpha=1)"


def qrelu_act(g: GridSpec) -> str:
    return f"quantized_relu({g.bits},{g.integer})"


def input_shape(cfg: ModelConfig) -> tuple[int, ...]:
    F = cfg.n_features
    return (cfg.network.window, F) if cfg.network.kind == "conv1d" else (F,)


def build_model(cfg: ModelConfig) -> keras.Model:
    """The quantized network (untrained). Side-effect free apart from TF's global RNG."""
    q = cfg.quantizers
    nw = cfg.network
    x = keras.Input(input_shape(cfg), name="features")
    h = QActivation(qbits_act(q.input), name="q_in")(x)
    hidden = list(nw.hidden)
    if nw.kind == "conv1d":
        h = QConv1D(nw.conv_filters, nw.conv_kernel, kernel_quantizer=qbits(q.weight),
                    bias_quantizer=qbits(q.bias), name="conv1")(h)
        h = QActivation(qrelu_act(q.relu), name="relu_conv1")(h)
        h = keras.layers.Flatten(name="flat")(h)
    for k, width in enumerate(hidden, 1):
        h = QDense(width, kernel_quantizer=qbits(q.weight), bias_quantizer=qbits(q.bias), name=f"fc{k}")(h)
        h = QActivation(qrelu_act(q.relu), name=f"relu{k}")(h)
    h = QDense(len(nw.outputs), kernel_quantizer=qbits(q.weight), bias_quantizer=qbits(q.bias),
               name="logits")(h)
    out = QActivation(qbits_act(q.output), name="q_out")(h)
    return keras.Model(x, out, name=cfg.name)


def build_float_twin(cfg: ModelConfig) -> keras.Model:
    """Same topology in float (no quantizers, no pruning): the yardstick for quantization loss."""
    nw = cfg.network
    x = keras.Input(input_shape(cfg), name="features")
    h = x
    if nw.kind == "conv1d":
        h = keras.layers.Conv1D(nw.conv_filters, nw.conv_kernel, activation="relu", name="conv1")(h)
        h = keras.layers.Flatten(name="flat")(h)
    for k, width in enumerate(nw.hidden, 1):
        h = keras.layers.Dense(width, activation="relu", name=f"fc{k}")(h)
    out = keras.layers.Dense(len(nw.outputs), name="logits")(h)
    return keras.Model(x, out, name=f"{cfg.name}_float")


def _grid_of(quantizer) -> tuple[int, int, bool, str]:
    """(bits, frac, signed, kind) of a QKeras quantizer in our set, else ExportError."""
    c = quantizer.get_config()
    name = quantizer.__class__.__name__
    if name == "quantized_bits":
        if c.get("alpha") not in (1, 1.0) or c.get("symmetric"):
            raise ExportError(f"quantized_bits must have alpha=1 and symmetric=False, got {c}")
        signed = bool(c["keep_negative"])
        return int(c["bits"]), int(c["bits"]) - int(c["integer"]) - int(signed), signed, "bits"
    if name == "quantized_relu":
        if c.get("negative_slope", 0) != 0 or c.get("use_sigmoid"):
            raise ExportError(f"quantized_relu must be a plain relu, got {c}")
        return int(c["bits"]), int(c["bits"]) - int(c["integer"]), False, "relu"
    raise ExportError(f"quantizer {name} is not supported by the integer export")


def _to_int(values: np.ndarray, frac: int, what: str) -> np.ndarray:
    scaled = values.astype(np.float64) * (1 << frac)
    ints = np.rint(scaled)
    if not np.array_equal(ints, scaled):
        raise ExportError(f"{what}: values are not on the 2^-{frac} grid (quantizer not applied?)")
    return ints.astype(np.int64)


def snap_weights(model: keras.Model) -> None:
    """Replace every kernel / bias by its quantized value, so that the saved QKeras model, hls4ml, da4ml
    and the integer export all read the very same numbers (quantizing is idempotent on the grid)."""
    for layer in model.layers:
        if isinstance(layer, QDense | QConv1D):
            k = layer.kernel_quantizer_internal(layer.kernel).numpy()
            b = layer.bias_quantizer_internal(layer.bias).numpy()
            layer.set_weights([k, b])


def _toeplitz(W: np.ndarray, b: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """QConv1D (K, Cin, Cout), valid, stride 1, over `length` steps as a dense matrix from the
    flattened (length, Cin) input to the flattened (length - K + 1, Cout) output (Flatten's order)."""
    K, Cin, Cout = W.shape
    steps = length - K + 1
    D = np.zeros((length * Cin, steps * Cout), dtype=W.dtype)
    for t in range(steps):
        for k in range(K):
            D[(t + k) * Cin:(t + k + 1) * Cin, t * Cout:(t + 1) * Cout] = W[k]
    return D, np.tile(b, steps)


def integer_layers(model: keras.Model, cfg: ModelConfig) -> list[DenseLayer]:
    """The trained (stripped, snapped) QKeras model as the integer dense chain of models/reference.py."""
    layers: list[DenseLayer] = []
    pending: tuple[np.ndarray, np.ndarray, int, int] | None = None
    length = cfg.network.window
    first = True
    for layer in model.layers:
        cls = layer.__class__.__name__
        if cls == "InputLayer":
            continue
        if cls == "QActivation":
            bits, frac, signed, kind = _grid_of(layer.quantizer)
            if first:
                if (bits, frac, signed) != (cfg.quantizers.input.bits, cfg.quantizers.input.frac, True):
                    raise ExportError(f"{layer.name}: input quantizer must be the features' result grid")
                first = False
                continue
            if pending is None:
                raise ExportError(f"{layer.name}: activation without a preceding QDense / QConv1D")
            W, b, w_frac, b_frac = pending
            act = ACT_RELU if kind == "relu" else ACT_SIGNED
            layers.append(DenseLayer(W, b, w_frac, b_frac, act, bits, frac))
            pending = None
        elif cls in ("QDense", "QConv1D"):
            act = getattr(layer, "activation", None)
            if act is not None and getattr(act, "__name__", "linear") != "linear":
                raise ExportError(f"{layer.name}: fused activation {act}; use a separate QActivation")
            _, w_frac, _, _ = _grid_of(layer.kernel_quantizer_internal)
            _, b_frac, _, _ = _grid_of(layer.bias_quantizer_internal)
            Wq = layer.kernel_quantizer_internal(layer.kernel).numpy()
            bq = layer.bias_quantizer_internal(layer.bias).numpy()
            W = _to_int(Wq, w_frac, f"{layer.name} kernel")
            b = _to_int(bq, b_frac, f"{layer.name} bias")
            if cls == "QConv1D":
                if layer.padding != "valid" or tuple(layer.strides) != (1,) or tuple(layer.dilation_rate) != (1,):
                    raise ExportError(f"{layer.name}: only valid padding, stride 1, dilation 1")
                W, b = _toeplitz(W, b, length)
                length = length - layer.kernel_size[0] + 1
            pending = (W, b, w_frac, b_frac)
        elif cls == "Flatten":
            continue
        else:
            raise ExportError(f"{layer.name}: layer {cls} is not supported by the integer export")
    if pending is not None:
        raise ExportError("the model must end with an output QActivation (the documented output grid)")
    return layers
