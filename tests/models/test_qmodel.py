"""The QKeras network of the config and its integer export: exact against QKeras `predict` for the
default MLP and the QConv1D option, including saturating outputs."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytestmark = pytest.mark.ml


@pytest.mark.parametrize("kind", ["mlp", "conv1d"])
def test_integer_export_equals_qkeras(cfg, kind):
    from models.qmodel import build_model, integer_layers, snap_weights
    from models.reference import ReferenceModel, model_hash
    from models.tfcompat import reseed

    c = replace(cfg, network=replace(cfg.network, kind=kind))
    reseed(3)
    m = build_model(c)
    rng = np.random.default_rng(0)
    for layer in m.layers:
        if hasattr(layer, "kernel"):   # large weights: exercise relu clipping and output saturation
            layer.set_weights([rng.normal(0, 0.6, layer.kernel.shape).astype(np.float32),
                               rng.normal(0, 2.0, layer.bias.shape).astype(np.float32)])
    out = m.get_layer("logits")
    k, b = out.get_weights()
    k[:, 0], k[:, 1] = 31 / 32, -1.0     # two logits that sum every relu: they reach +-32 and saturate
    out.set_weights([k, b])
    fc2 = m.get_layer("fc2")
    fc2.set_weights([fc2.get_weights()[0], np.full(fc2.bias.shape, 3.5, dtype=np.float32)])
    snap_weights(m)
    layers = integer_layers(m, c)
    ref = ReferenceModel(layers, 7, {"model_hash": model_hash(layers, 7, c.sha256()), "labels": {"horizon_ms": 1}})
    shape = m.input_shape[1:]
    x = rng.integers(-128, 128, size=(20000, *shape)).astype(np.int8)
    y = m.predict(x.astype(np.float32) / 128, batch_size=8192, verbose=0).astype(np.float64) * (1 << 10)
    want = np.rint(y).astype(np.int64)
    np.testing.assert_array_equal(want, y)
    xf = x.reshape(len(x), -1)
    np.testing.assert_array_equal(ref.predict_batch(xf), want)
    np.testing.assert_array_equal(np.array([ref.predict_one(v) for v in xf[:2000]]), want[:2000])
    assert (want == 32767).any() and (want == -32768).any(), "the test should reach the output saturation"


def test_layer_set_and_sizes(cfg):
    from models.qmodel import build_model

    m = build_model(cfg)
    names = [layer.__class__.__name__ for layer in m.layers]
    assert names == ["InputLayer", "QActivation", "QDense", "QActivation", "QDense", "QActivation", "QDense",
                     "QActivation"]
    assert m.output_shape == (None, 4) and m.input_shape == (None, 16)
