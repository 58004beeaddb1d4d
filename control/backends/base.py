"""The one interface every inference backend (fpga, rtl, cpu) offers to the appliance.

A backend serves ONE record stream (one symbol): feature state is per stream, carried on the card by
the feature pipeline and on the CPU by `models.features.StreamingFeatures`; a record with the RESET flag
restarts it. `submit` returns one Prediction per record, in order, or raises a BackendError -- never a
partial, reordered or silently shortened list.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from control.prediction import Prediction

BACKEND_NAMES = ("fpga", "rtl", "cpu")


class RecordRefused(ValueError):
    """A record outside the feature contract's ranges (prices i32, sizes u32; models/FEATURES.md). It is
    refused before it touches any state, so the stream continues with the next record."""


class BackendError(Exception):
    """A backend failed to produce predictions; `reason` is a short metric label."""

    reason = "error"


class BackendTimeout(BackendError):
    reason = "timeout"


class BackendFault(BackendError):
    """The card reported an error flag, or its transport died."""

    reason = "fault"


class BackendIdentityError(BackendError):
    reason = "identity"


class BackendUnavailable(BackendError):
    """The backend cannot be opened here (no board, no simulator, no firmware)."""

    reason = "unavailable"


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str = ""
    counters: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BackendIdentity:
    backend: str
    model_hash: str
    firmware_hash: str = ""  # manifest/bitstream identity; "" for the cpu backend
    regmap_version: int | None = None
    core_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "model_hash": self.model_hash,
            "firmware_hash": self.firmware_hash,
            "regmap_version": self.regmap_version,
            "core_id": None if self.core_id is None else f"{self.core_id:#010x}",
        }


@dataclass(slots=True)   # not frozen: built once per submit on the per-event path (a frozen __init__ costs more)
class PredictionBatch:
    """What `submit` returns: one Prediction per record, in record order, and each one's INVALID flag
    (empty, crossed or locked touch: features computed, state not updated; the quoting engine pulls)."""

    predictions: list[Prediction]
    invalid: np.ndarray  # bool (n,)
    features: np.ndarray | None = None  # int8 (n, F) where the host computed them
    stage_ns: dict[str, int] = field(default_factory=dict)  # time per stage for the whole batch

    def __len__(self) -> int:
        return len(self.predictions)

    def __iter__(self) -> Iterator[Prediction]:
        return iter(self.predictions)

    def __getitem__(self, i: int) -> Prediction:
        return self.predictions[i]

    @property
    def seqs(self) -> list[int]:
        return [p.seq for p in self.predictions]

    def logits(self) -> np.ndarray:
        return np.array([p.logits for p in self.predictions], dtype=np.int64).reshape(len(self), -1)


class ProbabilityCache:
    """`models.reference.probabilities` memoized per logits row for the single-event path: the network's
    outputs repeat (a quarter of the events on the BTCUSDT days), and a row costs a compiled call
    (`probabilities_one_fn`, bit-identical to the vectorized path)."""

    def __init__(self, output_format, max_entries: int = 1 << 16) -> None:
        from models.reference import probabilities_one_fn

        self.output_format, self.max_entries = output_format, max_entries
        self._cache: dict[tuple[int, ...], tuple[float, float, float]] = {}
        self._row = probabilities_one_fn(output_format)

    def one(self, logits: tuple[int, ...]) -> tuple[float, float, float]:
        p = self._cache.get(logits)
        if p is None:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            p = self._cache[logits] = self._row(logits)
        return p

    def many(self, logits: np.ndarray) -> list[list[float]]:
        from models.reference import probabilities

        return probabilities(logits, self.output_format).tolist()


def make_predictions(
    records: np.ndarray,
    logits: np.ndarray,
    invalid: np.ndarray,
    probs: ProbabilityCache,
    *,
    horizon_ns: int,
    model_hash: str,
    backend: str,
    features: np.ndarray | None = None,
    stage_ns: dict[str, int] | None = None,
) -> PredictionBatch:
    """The one place backends build Prediction objects from integers and the shared probabilities."""
    seqs, ts, lg = records["seq"].tolist(), records["ts_ns"].tolist(), logits.tolist()
    pr = [probs.one(tuple(lg[0]))] if len(lg) == 1 else probs.many(logits)
    preds = [
        Prediction(
            seq=s,
            ts_ns=t,
            logits=tuple(z),
            p_up=p[0],
            p_down=p[1],
            p_withdraw=p[2],
            horizon_ns=horizon_ns,
            model_hash=model_hash,
            backend=backend,
        )
        for s, t, z, p in zip(seqs, ts, lg, pr, strict=True)
    ]
    return PredictionBatch(preds, np.asarray(invalid, dtype=bool), features, stage_ns or {})


class Backend(abc.ABC):
    name: str

    @abc.abstractmethod
    def submit(self, records: np.ndarray) -> PredictionBatch:
        """Predictions for `records` (models.record dtype), one each, in order."""

    @abc.abstractmethod
    def warm(self, records: np.ndarray) -> None:
        """Advance the stream's feature state through `records` without predicting (state rebuild)."""

    @abc.abstractmethod
    def health(self) -> Health: ...

    @abc.abstractmethod
    def identity(self) -> BackendIdentity: ...

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
