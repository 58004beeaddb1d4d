"""Training is seeded: the same data and config give the very same integer model."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytestmark = pytest.mark.ml


def test_same_seed_same_integers(cfg, real_streams):
    from models.dataset import part, prepare_stream
    from models.qmodel import integer_layers
    from models.train import train

    recs = real_streams["btc2023"]
    s = prepare_stream("btc2023", recs, np.zeros(len(recs), dtype=np.int8), cfg)
    c = replace(cfg, training=replace(cfg.training, epochs=2, pruning_begin_fraction=0.0, pruning_frequency=5))
    tr = part([s], "train")
    a = integer_layers(train(c, tr).qmodel, c)
    b = integer_layers(train(c, tr).qmodel, c)
    for la, lb in zip(a, b, strict=True):
        np.testing.assert_array_equal(la.W, lb.W)
        np.testing.assert_array_equal(la.b, lb.b)
    assert 0.4 <= np.mean(a[0].W == 0) <= 0.6   # pruned to the target sparsity, masks stripped
