"""Prometheus metrics of one appliance, in its own CollectorRegistry (never the global one), served on
127.0.0.1 by default. Stage latencies are histograms in seconds, as Prometheus conventions ask."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest, start_http_server
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

log = logging.getLogger(__name__)

# book_deferred: deep-level book updates applied after the event's FIX bytes are out (they cannot
# change its record; control/book/kernels.py apply_levels_deferring), not part of its latency.
STAGES = ("decode", "book", "book_deferred", "features", "inference", "quoting", "fix_encode")
# 1 µs .. ~1 s, roughly x2 per bucket: single-event stages live in the µs range, the rtl backend in ms.
LATENCY_BUCKETS = tuple(1e-6 * 2**k for k in range(21))


class StageLatency:
    """`<ns>_stage_latency_seconds{stage}`: one Prometheus histogram per stage, filled in bulk.

    The appliance keeps every stage sample in its LatencyWindow rings anyway; a prometheus_client
    Histogram took one locked observe() per sample on top (two per input line, six or so per event),
    a microsecond per event on the event path. `add_ns` folds a ring's new samples in with one
    searchsorted; `sources` are drained before every scrape, so the exposition is as current as
    per-sample observing gave. Buckets and text are a prometheus_client histogram's."""

    def __init__(self, name: str, doc: str, stages: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        self.name, self.doc, self.buckets = name, doc, buckets
        self._bounds_ns = np.array([round(b * 1e9) for b in buckets], dtype=np.int64)
        self._counts = {s: np.zeros(len(buckets) + 1, np.int64) for s in stages}   # last: above the top bucket
        self._sums = dict.fromkeys(stages, 0.0)
        self._lock = threading.Lock()
        self.sources: list[Callable[[], None]] = []

    def observe(self, stage: str, seconds: float) -> None:
        """One sample (callers without a ring: the scale-out worker, tests)."""
        with self._lock:
            self._counts[stage][np.searchsorted(self._bounds_ns, round(seconds * 1e9))] += 1
            self._sums[stage] += seconds

    def add_ns(self, stage: str, ns: np.ndarray) -> None:
        if len(ns) == 0:
            return
        k = np.searchsorted(self._bounds_ns, ns)   # first bucket with bound >= sample: Prometheus' le
        with self._lock:
            self._counts[stage] += np.bincount(k, minlength=len(self.buckets) + 1)
            self._sums[stage] += float(ns.sum()) / 1e9

    def collect(self) -> Iterator[HistogramMetricFamily]:
        for drain in self.sources:
            drain()
        fam = HistogramMetricFamily(self.name, self.doc, labels=["stage"])
        with self._lock:
            for stage, counts in self._counts.items():
                if not counts.any():
                    continue
                cum = np.cumsum(counts).tolist()
                fam.add_metric([stage], [(floatToGoString(b), c) for b, c in zip(self.buckets, cum[:-1], strict=True)]
                               + [("+Inf", cum[-1])], self._sums[stage])
        yield fam


@dataclass(frozen=True)
class MetricsConfig:
    port: int | None = None  # None: not served (still collected)
    addr: str = "127.0.0.1"


class Metrics:
    def __init__(self, namespace: str = "quoteguard") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r, ns = self.registry, namespace
        self.events = Counter("events", "Book records received", ["stream"], namespace=ns, registry=r)
        self.predictions = Counter(
            "predictions", "Predictions produced", ["backend"], namespace=ns, registry=r
        )
        self.invalid = Counter("invalid_predictions", "Predictions flagged INVALID", namespace=ns, registry=r)
        self.quotes = Counter("quotes", "Quotes sent (or printed in dry-run)", namespace=ns, registry=r)
        self.pulls = Counter(
            "quote_pulls", "Quote pulls (stale, invalid or unhealthy)", namespace=ns, registry=r
        )
        self.rejects = Counter(
            "rejects", "Rejects: FIX rejects and records refused", ["kind"], namespace=ns, registry=r
        )
        self.fills = Counter("fills", "Fills received", namespace=ns, registry=r)
        self.stage_latency = StageLatency(f"{ns}_stage_latency_seconds", "Per-stage latency per event", STAGES,
                                          LATENCY_BUCKETS)
        r.register(self.stage_latency)
        self.backend_healthy = Gauge(
            "backend_healthy", "1 when the active backend is healthy", ["backend"], namespace=ns, registry=r
        )
        self.backend_active = Gauge(
            "backend_active",
            "1 for the backend now serving predictions",
            ["backend"],
            namespace=ns,
            registry=r,
        )
        self.failovers = Counter(
            "failovers",
            "Backend switches",
            ["from_backend", "to_backend", "reason"],
            namespace=ns,
            registry=r,
        )
        self.failover_seconds = Gauge(
            "failover_switch_seconds", "Duration of the last backend switch", namespace=ns, registry=r
        )
        self.drift_psi = Gauge(
            "drift_psi", "Population stability index against training", ["name"], namespace=ns, registry=r
        )
        self.drift_alerts = Counter("drift_alerts", "PSI above threshold", ["name"], namespace=ns, registry=r)

    def observe_stage(self, stage: str, seconds: float) -> None:
        self.stage_latency.observe(stage, seconds)

    def set_active_backend(self, name: str, all_names: tuple[str, ...] = ("fpga", "rtl", "cpu")) -> None:
        for n in all_names:
            self.backend_active.labels(n).set(1.0 if n == name else 0.0)

    def record_failover(self, from_backend: str, to_backend: str, reason: str, seconds: float) -> None:
        self.failovers.labels(from_backend, to_backend, reason).inc()
        self.failover_seconds.set(seconds)
        self.backend_healthy.labels(from_backend).set(0.0)
        self.backend_healthy.labels(to_backend).set(1.0)
        self.set_active_backend(to_backend)

    def exposition(self) -> bytes:
        """The text exposition format, as the HTTP endpoint serves it."""
        return generate_latest(self.registry)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """One sample value by its exposed name (e.g. 'quoteguard_failovers_total')."""
        return self.registry.get_sample_value(name, labels or {})

    def serve(self, cfg: MetricsConfig):
        """Start the HTTP endpoint; returns (server, thread) so the caller can shut it down."""
        if cfg.port is None:
            raise ValueError("MetricsConfig.port is None: nothing to serve")
        server, thread = start_http_server(cfg.port, addr=cfg.addr, registry=self.registry)
        log.info("metrics on http://%s:%d/metrics", cfg.addr, server.server_port)
        return server, thread


class LatencyWindow:
    """Exact per-stage latency percentiles over the last `size` samples (ns), for status and benches.
    Prometheus histograms carry the long-run distribution; this keeps the recent exact tail.
    `decode`/`book` are per input line; `event_decode`/`event_book` only for lines that produced a
    book record (an event), so they add up with the per-event stages to `total`."""

    def __init__(
        self, stages: tuple[str, ...] = (*STAGES, "event_decode", "event_book", "total"), size: int = 1 << 16
    ) -> None:
        self.stages, self.size = stages, size
        self.data = {s: np.zeros(size, dtype=np.int64) for s in stages}
        self.count = {s: 0 for s in stages}
        self._drained = {s: 0 for s in stages}
        self._drain_lock = threading.Lock()

    def add(self, stage: str, ns: int) -> None:
        n = self.count[stage]
        self.data[stage][n % self.size] = ns
        self.count[stage] = n + 1

    def drain_into(self, hist: StageLatency) -> None:
        """The samples added since the last drain, into `hist` (its stages only). Safe against the
        adding thread: add() writes the sample before it counts it. Drain at least every `size`
        samples (the appliance does every 1,024 events and at every scrape), or the oldest are lost
        to the histogram (never to the percentiles)."""
        with self._drain_lock:
            for s in hist._counts:
                if s not in self.count:
                    continue
                n, d = self.count[s], self._drained[s]
                d = max(d, n - self.size)
                if n > d:
                    a, b = d % self.size, n % self.size
                    v = self.data[s]
                    hist.add_ns(s, v[a:b] if a < b else np.concatenate([v[a:], v[:b]]))
                self._drained[s] = n

    def percentiles(self, qs: tuple[float, ...] = (50, 99, 99.9)) -> dict[str, dict[str, float]]:
        """µs per stage: {"decode": {"p50": .., "p99": .., "p99.9": .., "n": ..}, ...}"""
        out = {}
        for s in self.stages:
            n = min(self.count[s], self.size)
            if n == 0:
                continue
            v = np.percentile(self.data[s][:n], qs) / 1e3
            out[s] = {f"p{q:g}": round(float(x), 3) for q, x in zip(qs, v, strict=True)} | {
                "n": self.count[s]
            }
        return out
