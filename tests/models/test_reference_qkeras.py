"""Bit-exact: the integer CPU reference equals QKeras `predict` of the exported model on the golden
vectors and on >= 10,000 real records (exact integer equality)."""
from __future__ import annotations

import numpy as np
import pytest

from models.features import compute_features
from models.reference import ReferenceModel

pytestmark = pytest.mark.ml


@pytest.fixture(scope="module")
def qkeras_model(artifacts):
    from models import tfcompat  # noqa: F401
    from models.qmodel import custom_objects
    from models.tfcompat import keras

    m = keras.models.model_from_json((artifacts / "model.json").read_text(), custom_objects=custom_objects())
    m.load_weights(artifacts / "weights.h5")
    return m


def _qkeras_ints(model, x, frac):
    y = model.predict(x.astype(np.float32) / 128.0, batch_size=8192, verbose=0).astype(np.float64) * (1 << frac)
    ints = np.rint(y)
    np.testing.assert_array_equal(ints, y)   # on the output grid
    return ints.astype(np.int64)


def test_golden_equals_qkeras(artifacts, qkeras_model):
    ref = ReferenceModel.load(artifacts)
    with np.load(artifacts / "golden.npz") as z:
        x, want = z["features"], z["outputs"].astype(np.int64)
    np.testing.assert_array_equal(_qkeras_ints(qkeras_model, x, ref.output_format.frac_bits), want)


def test_real_records_equal_qkeras(artifacts, qkeras_model, cfg, real_streams):
    ref = ReferenceModel.load(artifacts)
    xs = [compute_features(real_streams[n], cfg)[0] for n in ("btc2024", "eth2024", "btc2023")]
    xs.append(compute_features(real_streams["amzn5"][:20000], cfg)[0])
    x = np.concatenate(xs)
    assert len(x) >= 10_000
    want = _qkeras_ints(qkeras_model, x, ref.output_format.frac_bits)
    np.testing.assert_array_equal(ref.predict_batch(x), want)
    np.testing.assert_array_equal(np.array([ref.predict_one(v) for v in x]), want)
    # the classes are all predicted somewhere (the model is not constant)
    assert len(np.unique(want[:, :3].argmax(axis=1))) == 3


def test_model_layer_set(qkeras_model):
    """Only the layers da4ml's tracer and hls4ml convert exactly; no fused activations."""
    allowed = {"InputLayer", "QActivation", "QDense"}
    assert {layer.__class__.__name__ for layer in qkeras_model.layers} <= allowed
    for layer in qkeras_model.layers:
        if layer.__class__.__name__ == "QDense":
            assert layer.activation.__name__ == "linear"
            w = layer.get_weights()[0]
            assert 0.4 <= np.mean(w == 0) <= 0.7, f"{layer.name}: pruned ~50%"
