"""Import this module before TensorFlow, QKeras, tf_keras or hls4ml. It holds every shim the pinned
ML stack needs (see shared/reference/README.md), in one place:

- `TF_USE_LEGACY_KERAS=1`: QKeras 0.9 runs on Keras 2 (tf_keras), not on the Keras 3 that TF 2.21 ships.
- `sys.modules["keras"] = tf_keras`: hls4ml 1.3 picks its Keras-3 parser whenever Keras 3 is importable
  and then fails with "'Node' object has no attribute 'arguments'"; the alias sends it down the Keras-2 path.
- `tensorflow.python.util.nest.is_sequence`: removed from TF, still called by QKeras' recurrent layers.
- `pyparsing` is a dependency in pyproject: qkeras imports it but declares `pyparser`.

The runtime (control/, the CPU backend) never imports this module: it must not load TensorFlow.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from tensorflow.python.util import nest as _nest  # noqa: E402

if not hasattr(_nest, "is_sequence"):
    _nest.is_sequence = _nest.is_nested

sys.modules["keras"] = tf_keras
keras = tf_keras


def reseed(seed: int) -> None:
    """Seed Python, numpy and TensorFlow (as hls4ml's test suite does)."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    tf_keras.utils.set_random_seed(seed)


__all__ = ["keras", "reseed", "tf"]
