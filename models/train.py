"""Seeded quantization-aware training with magnitude pruning (tfmot), and the float twin.

Both networks see the same time-ordered training part, the same class weights and the same epochs;
neither is ever shown validation or test data (no early stopping, no shuffling across streams'
time order between parts -- minibatch shuffling *within* the training part is fine, it is all earlier
data). Pruning masks are stripped before the model is returned.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# The shims must load before TensorFlow Model Optimization.
# isort: off
from models import tfcompat  # noqa: F401
import tensorflow_model_optimization as tfmot
# isort: on
from models.config import ModelConfig
from models.dataset import Part
from models.qmodel import build_float_twin, build_model, custom_objects, snap_weights
from models.tfcompat import keras, reseed, tf

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainResult:
    qmodel: keras.Model          # stripped, weights snapped to their quantizer grids
    fmodel: keras.Model          # float twin
    class_weights: tuple[float, float, float]
    withdraw_weights: tuple[float, float]
    history: dict[str, list[float]]
    sparsity: dict[str, float]   # zero fraction of each kernel after stripping


def balanced_weights(y: np.ndarray, k: int) -> np.ndarray:
    counts = np.bincount(y.astype(np.int64), minlength=k).astype(np.float64)
    if (counts == 0).any():
        raise ValueError(f"training labels miss a class: counts {counts.tolist()}")
    return counts.sum() / (k * counts)


def make_loss(class_w: np.ndarray, wd_w: np.ndarray, withdraw_loss_weight: float):
    cw = tf.constant(class_w, dtype=tf.float32)
    ww = tf.constant(wd_w, dtype=tf.float32)

    def loss(y_true, y_pred):
        cls = tf.cast(y_true[:, 0], tf.int32)
        wd = y_true[:, 1]
        ce = keras.losses.sparse_categorical_crossentropy(cls, y_pred[:, :3], from_logits=True)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=wd, logits=y_pred[:, 3])
        return tf.gather(cw, cls) * ce + withdraw_loss_weight * tf.gather(ww, tf.cast(wd, tf.int32)) * bce

    return loss


class _EpochLog(keras.callbacks.Callback):
    def __init__(self, tag: str, epochs: int, progress: Progress | None) -> None:
        super().__init__()
        self.tag, self.epochs, self.progress = tag, epochs, progress

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        msg = f"{self.tag}: epoch {epoch + 1}/{self.epochs} loss {float((logs or {}).get('loss', np.nan)):.4f}"
        log.info(msg)
        if self.progress:
            self.progress(msg)


def model_inputs(x: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """int8 features -> the float values the QKeras input quantizer sees (x / scale, exact)."""
    return (x.astype(np.float32) / np.float32(cfg.features.scale)).reshape((len(x),) + _shape(cfg))


def _shape(cfg: ModelConfig) -> tuple[int, ...]:
    F = cfg.n_features
    return (cfg.network.window, F) if cfg.network.kind == "conv1d" else (F,)


def _prune(model: keras.Model, cfg: ModelConfig, steps: int) -> keras.Model:
    tr = cfg.training
    sched = tfmot.sparsity.keras.ConstantSparsity(
        tr.target_sparsity, begin_step=int(steps * tr.pruning_begin_fraction), frequency=tr.pruning_frequency)

    def wrap(layer):
        if layer.__class__.__name__ in ("QDense", "QConv1D"):
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=sched)
        return layer

    return keras.models.clone_model(model, clone_function=wrap)


def train(cfg: ModelConfig, train_part: Part, *, epochs: int | None = None, progress: Progress | None = None
          ) -> TrainResult:
    tr = cfg.training
    epochs = tr.epochs if epochs is None else epochs
    if cfg.network.kind == "conv1d" and train_part.x.ndim != 3:
        raise ValueError("conv1d training needs windowed features (n, window, F)")
    tf.config.experimental.enable_op_determinism()
    x = model_inputs(train_part.x, cfg)
    y = np.stack([train_part.cls, train_part.withdraw], axis=1).astype(np.float32)
    if tr.class_weighting == "balanced":
        cw, ww = balanced_weights(train_part.cls, 3), balanced_weights(train_part.withdraw, 2)
    else:
        cw, ww = np.ones(3), np.ones(2)
    loss = make_loss(cw, ww, tr.withdraw_loss_weight)
    steps = epochs * int(np.ceil(len(x) / tr.batch_size))
    history: dict[str, list[float]] = {}

    reseed(cfg.seed)
    q = _prune(build_model(cfg), cfg, steps)
    q.compile(optimizer=keras.optimizers.Adam(tr.learning_rate), loss=loss)
    h = q.fit(x, y, batch_size=tr.batch_size, epochs=epochs, shuffle=True, verbose=0,
              callbacks=[tfmot.sparsity.keras.UpdatePruningStep(), _EpochLog("qat", epochs, progress)])
    history["qat_loss"] = [float(v) for v in h.history["loss"]]
    q = tfmot.sparsity.keras.strip_pruning(q)
    # strip_pruning rebuilds the model: reload into a clean QKeras graph, then snap to the grids
    q2 = keras.models.model_from_json(q.to_json(), custom_objects=custom_objects())
    q2.set_weights(q.get_weights())
    snap_weights(q2)
    sparsity = {layer.name: float(np.mean(layer.get_weights()[0] == 0))
                for layer in q2.layers if layer.__class__.__name__ in ("QDense", "QConv1D")}

    reseed(cfg.seed)
    f = build_float_twin(cfg)
    f.compile(optimizer=keras.optimizers.Adam(tr.learning_rate), loss=loss)
    h = f.fit(x, y, batch_size=tr.batch_size, epochs=epochs, shuffle=True, verbose=0,
              callbacks=[_EpochLog("float", epochs, progress)])
    history["float_loss"] = [float(v) for v in h.history["loss"]]
    return TrainResult(q2, f, tuple(float(v) for v in cw), tuple(float(v) for v in ww), history, sparsity)
