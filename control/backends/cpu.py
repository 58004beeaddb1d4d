"""The cpu backend: the bit-exact software reference. Features from `models.streaming.StreamingFeatures`
(compiled, per stream), inference from `models.reference.ReferenceModel` (`predict_one` for a single
event, `predict_batch` for batches: the same integers). No TensorFlow."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from control.backends.base import (
    Backend,
    BackendIdentity,
    Health,
    PredictionBatch,
    ProbabilityCache,
    RecordRefused,
    make_predictions,
)
from control.prediction import Prediction
from models.config import ModelConfig
from models.fixedpoint import FeatureInputError
from models.reference import ReferenceModel
from models.streaming import StreamingFeatures

perf_ns = time.perf_counter_ns

log = logging.getLogger(__name__)


class CpuBackend(Backend):
    name = "cpu"

    def __init__(self, model: ReferenceModel, features: StreamingFeatures) -> None:
        if features.spec.shape[0] != model.n_inputs:
            raise ValueError(
                f"features give {features.spec.shape[0]} inputs, the model takes {model.n_inputs}"
            )
        self.model, self.features = model, features
        self.processed = 0
        self.probs = ProbabilityCache(model.output_format)

    @classmethod
    def open(cls, artifacts_dir: Path, cfg: ModelConfig) -> CpuBackend:
        return cls(ReferenceModel.load(artifacts_dir), StreamingFeatures(cfg))

    def compute(self, records: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
        """(features int8 (n, F), invalid (n,), logits int64 (n, outputs), ns per stage), advancing
        the stream state. One record takes the compiled single-event path, more the batch path."""
        t0 = time.perf_counter_ns()
        try:
            if len(records) == 1:
                f, inv = self.features.update_at(records, 0)
                feats, invalid = f[None, :], np.array([inv])
            else:
                feats, invalid = self.features.run(records)  # checks the whole batch before any state
        except FeatureInputError as e:
            raise RecordRefused(str(e)) from e
        t1 = time.perf_counter_ns()
        if len(records) == 1:
            logits = self.model.predict_one(feats[0])[None, :]
        else:
            logits = self.model.predict_batch(feats)
        return feats, invalid, logits, {"features": t1 - t0, "inference": time.perf_counter_ns() - t1}

    def submit(self, records: np.ndarray) -> PredictionBatch:
        if len(records) == 1:
            return self._submit_one(records)
        feats, invalid, logits, stage_ns = self.compute(records)
        self.processed += len(records)
        return make_predictions(
            records,
            logits,
            invalid,
            self.probs,
            horizon_ns=self.model.horizon_ns,
            model_hash=self.model.model_hash,
            backend=self.name,
            features=feats,
            stage_ns=stage_ns,
        )

    def _submit_one(self, records: np.ndarray) -> PredictionBatch:
        """submit() of one record: what compute() + make_predictions() give (tests/control/
        test_backend_cpu.py holds it to that), without their per-batch array work."""
        t0 = perf_ns()
        try:
            f, inv = self.features.update_at(records, 0)
        except FeatureInputError as e:
            raise RecordRefused(str(e)) from e
        t1 = perf_ns()
        logits = tuple(self.model.predict_one(f).tolist())
        t2 = perf_ns()
        self.processed += 1
        pred = self.prediction(int(records["seq"][0]), int(records["ts_ns"][0]), logits)
        return PredictionBatch([pred], np.array([inv]), f[None, :], {"features": t1 - t0, "inference": t2 - t1})

    def prediction(self, seq: int, ts_ns: int, logits: tuple[int, ...]) -> Prediction:
        """The Prediction of one record's logits (probabilities memoized per logits tuple)."""
        return self.prediction_with(seq, ts_ns, logits, self.probs.one(logits))

    def prediction_with(self, seq: int, ts_ns: int, logits: tuple[int, ...], p: Sequence[float]) -> Prediction:
        """The Prediction of one record whose probabilities (p_up, p_down, p_withdraw) were computed
        already, by models.reference.probabilities_row (control/fastpath.py)."""
        model = self.model
        return Prediction(seq, ts_ns, logits, p[0], p[1], p[2], model.horizon_ns, model.model_hash, self.name)

    def warm(self, records: np.ndarray) -> None:
        try:
            self.features.run(records)
        except FeatureInputError as e:
            raise RecordRefused(str(e)) from e

    def health(self) -> Health:
        return Health(True, "software reference", {"processed": self.processed})

    def identity(self) -> BackendIdentity:
        return BackendIdentity(self.name, self.model.model_hash)

    def close(self) -> None:
        pass
