"""Fixtures for the hls4ml tests: the exported model, or a stand-in of the agreed shape when the model
engineer's artifacts have not landed (so the conversion path is always exercised)."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "models" / "qg_mlp" / "artifacts"


def have_hls_stack() -> str | None:
    """None when hls4ml + qkeras + g++ are usable, else the reason to skip."""
    for mod in ("hls4ml", "qkeras", "tensorflow"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} not installed (pip extra 'ml')"
    if shutil.which("g++") is None:
        return "g++ not on PATH (hls4ml C simulation)"
    return None


def build_standin(dest: Path, *, n_golden: int = 512, seed: int = 1234) -> Path:
    """A QKeras model of the agreed shape, from models/qg_mlp/config.yaml (network, quantizers), with
    random weights on the quantizer grids, exported like the real one: model.json, weights.h5,
    metadata.json (model_hash), golden.npz (features int8 (n,16), expected int outputs)."""
    from models.tfcompat import keras, reseed  # first: sets up TensorFlow / QKeras  # noqa: I001
    from qkeras import QActivation, QDense, quantized_bits

    from models.config import load_config

    reseed(seed)
    cfg = load_config("qg_mlp")
    q = cfg.quantizers

    def bits(g):
        return quantized_bits(g.bits, g.integer, alpha=1)

    x_in = keras.Input((cfg.n_features,), name="features")
    # QActivation takes the quantizer as a string: with a quantizer object, model.json does not load
    # back in this stack (tf_keras 2.21 + QKeras 0.9: "could not be deserialized properly").
    h = QActivation(f"quantized_bits({q.input.bits},{q.input.integer},alpha=1)", name="q_in")(x_in)
    for k, width in enumerate(cfg.network.hidden):
        h = QDense(width, kernel_quantizer=bits(q.weight), bias_quantizer=bits(q.bias), name=f"fc{k + 1}")(h)
        h = QActivation(f"quantized_relu({q.relu.bits},{q.relu.integer})", name=f"relu{k + 1}")(h)
    h = QDense(len(cfg.network.outputs), kernel_quantizer=bits(q.weight), bias_quantizer=bits(q.bias),
               name="logits")(h)
    out = QActivation(f"quantized_bits({q.output.bits},{q.output.integer},alpha=1)", name="q_out")(h)
    model = keras.Model(x_in, out, name="qg_mlp_standin")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, QDense):
            w, b = layer.get_weights()
            layer.set_weights([rng.normal(0, 0.35, w.shape).astype(np.float32),
                               rng.normal(0, 0.5, b.shape).astype(np.float32)])
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "model.json").write_text(model.to_json())
    model.save_weights(str(dest / "weights.h5"))
    feats = rng.integers(-128, 128, size=(n_golden, cfg.n_features)).astype(np.int8)
    feats[:8] = np.array([-128, 127, 0, -1, 1, 64, -64, 3], dtype=np.int8)[:, None]   # edges of the grid
    y = model.predict(feats.astype(np.float32) / (1 << q.input.frac), verbose=0)
    expected = np.rint(y * (1 << q.output.frac)).astype(np.int64)
    np.savez(dest / "golden.npz", features=feats, expected=expected)
    (dest / "metadata.json").write_text(json.dumps({"name": "qg_mlp", "model_hash": "standin-" + str(seed),
                                                    "standin": True}))
    return dest


@pytest.fixture(scope="session")
def qg_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models/qg_mlp/artifacts when exported, else a stand-in built under tmp_path."""
    reason = have_hls_stack()
    if reason:
        pytest.skip(reason)
    if (ARTIFACTS / "model.json").is_file() and (ARTIFACTS / "golden.npz").is_file():
        return ARTIFACTS
    return build_standin(tmp_path_factory.mktemp("standin") / "artifacts")
