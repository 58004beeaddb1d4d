"""Drift: population stability index (PSI) of each feature and of each predicted probability against
the training distribution stored with the model (`<artifacts>/metadata.json`, histograms written at
training time). PSI = sum over bins of (p_live - p_train) * ln(p_live / p_train); a PSI above the
warning threshold logs a warning; above the alert threshold it logs an error and counts an alert metric
(thresholds from the model's metadata: psi_warn, psi_alert).

Names: the feature names, `logit_<output>` for the network's integer outputs, `p_up`/`p_down`/`p_withdraw`
for the probabilities -- the keys under which models/export.py stores the training histograms."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

EPS = 1e-4  # floor on bin fractions so an empty bin does not make PSI infinite


class DriftReferenceError(Exception):
    """The model metadata carries no usable training histograms."""


@dataclass(frozen=True)
class Histogram:
    edges: np.ndarray  # len(counts) + 1 bin edges
    counts: np.ndarray

    def fractions(self) -> np.ndarray:
        total = self.counts.sum()
        return np.maximum(self.counts / total, EPS) if total else np.full(len(self.counts), EPS)


@dataclass(frozen=True)
class DriftConfig:
    warn: float = 0.1  # PSI above this logs a warning
    alert: float = 0.25  # PSI above this logs an error and counts drift_alerts_total
    min_samples: int = 1000  # PSI is not computed on fewer live samples than this


def load_config(metadata_path: Path) -> DriftConfig:
    """Thresholds stored with the model (`drift: {psi_warn, psi_alert, window_records}` in metadata.json)."""
    try:
        d = json.loads(Path(metadata_path).read_text())["drift"]
        return DriftConfig(float(d["psi_warn"]), float(d["psi_alert"]), min(int(d["window_records"]), 1000))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DriftReferenceError(f"{metadata_path}: no usable 'drift' thresholds ({e})") from e


def psi(reference: np.ndarray, live: np.ndarray) -> float:
    """PSI between two count (or fraction) vectors over the same bins."""
    r = np.maximum(reference / max(reference.sum(), 1e-300), EPS)
    lv = np.maximum(live / max(live.sum(), 1e-300), EPS)
    return float(np.sum((lv - r) * np.log(lv / r)))


def load_reference(metadata_path: Path) -> dict[str, Histogram]:
    """Histograms by name from metadata.json: `{"histograms": {name: {"edges": [...], "counts": [...]}}}`;
    prediction histograms are named `p_up`, `p_down`, `p_withdraw`."""
    try:
        meta = json.loads(Path(metadata_path).read_text())
    except (OSError, ValueError) as e:
        raise DriftReferenceError(f"cannot read {metadata_path}: {e}") from e
    hists = meta.get("histograms")
    if not isinstance(hists, Mapping) or not hists:
        raise DriftReferenceError(
            f"{metadata_path} has no 'histograms' section (train the model again "
            "with a models/ version that records the training distribution)"
        )
    out = {}
    for name, h in hists.items():
        edges, counts = np.asarray(h["edges"], float), np.asarray(h["counts"], float)
        if len(edges) != len(counts) + 1:
            raise DriftReferenceError(f"histogram {name!r}: {len(edges)} edges for {len(counts)} bins")
        out[name] = Histogram(edges, counts)
    return out


@dataclass
class DriftMonitor:
    reference: dict[str, Histogram]
    cfg: DriftConfig = DriftConfig()
    metrics: object | None = None  # control.metrics.Metrics
    live: dict[str, np.ndarray] = field(init=False)
    samples: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.live = {n: np.zeros(len(h.counts)) for n, h in self.reference.items()}

    def observe(self, values: Mapping[str, np.ndarray]) -> None:
        """Add live values (one array per name; names without a reference are ignored)."""
        n = 0
        for name, v in values.items():
            h = self.reference.get(name)
            if h is None:
                continue
            v = np.asarray(v, float)
            idx = np.clip(np.searchsorted(h.edges, v, side="right") - 1, 0, len(h.counts) - 1)
            self.live[name] += np.bincount(idx, minlength=len(h.counts))
            n = max(n, len(v))
        self.samples += n

    def evaluate(self) -> dict[str, float]:
        """PSI per name; warns above `warn`, alerts above `alert`. Empty if too few samples."""
        if self.samples < self.cfg.min_samples:
            return {}
        out = {n: psi(self.reference[n].counts, self.live[n]) for n in self.reference}
        for name, value in out.items():
            if self.metrics is not None:
                self.metrics.drift_psi.labels(name).set(value)
            if value > self.cfg.alert:
                log.error(
                    "drift ALERT: PSI of %s is %.3f (alert %.3f) over %d samples",
                    name,
                    value,
                    self.cfg.alert,
                    self.samples,
                )
                if self.metrics is not None:
                    self.metrics.drift_alerts.labels(name).inc()
            elif value > self.cfg.warn:
                log.warning(
                    "drift: PSI of %s is %.3f (warn %.3f) over %d samples",
                    name,
                    value,
                    self.cfg.warn,
                    self.samples,
                )
        return out

    def reset_window(self) -> None:
        for v in self.live.values():
            v[:] = 0
        self.samples = 0
