"""Metrics: own registry (never the process-global one), served on 127.0.0.1, every stage histogram and
the failover series exposed in the text format Prometheus scrapes."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from prometheus_client import REGISTRY
from prometheus_client.utils import floatToGoString

from control.metrics import STAGES, LatencyWindow, Metrics, MetricsConfig


def test_own_registry_and_loopback_endpoint():
    a, b = Metrics(), Metrics()  # two appliances in one process do not collide
    a.quotes.inc(3)
    assert b.value("quoteguard_quotes_total") == 0
    assert REGISTRY.get_sample_value("quoteguard_quotes_total") is None
    for s in STAGES:
        a.observe_stage(s, 5e-6)
    a.record_failover("rtl", "cpu", "fault", 0.0015)
    server, _ = a.serve(MetricsConfig(port=0))
    try:
        assert server.server_address[0] == "127.0.0.1"
        text = (
            urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5)
            .read()
            .decode()
        )
    finally:
        server.shutdown()
    for s in STAGES:
        assert (
            f'quoteguard_stage_latency_seconds_bucket{{le="8e-06",stage="{s}"}} 1.0' in text
            or f'quoteguard_stage_latency_seconds_count{{stage="{s}"}} 1.0' in text
        )
    assert 'quoteguard_failovers_total{from_backend="rtl",reason="fault",to_backend="cpu"} 1.0' in text
    assert 'quoteguard_backend_active{backend="cpu"} 1.0' in text
    assert 'quoteguard_backend_healthy{backend="rtl"} 0.0' in text
    assert "quoteguard_failover_switch_seconds 0.0015" in text


def test_not_reachable_from_other_interfaces():
    m = Metrics()
    server, _ = m.serve(MetricsConfig(port=0))
    try:
        host = socket.gethostbyname(socket.gethostname())
        if host.startswith("127."):
            return
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((host, server.server_port)) != 0
    finally:
        server.shutdown()


def test_latency_window_percentiles():
    w = LatencyWindow(stages=("total",), size=1000)
    for v in range(1, 2001):  # the window keeps the last 1000 samples: 1001..2000 ns
        w.add("total", v)
    p = w.percentiles()["total"]
    assert p["n"] == 2000
    assert 1.49 < p["p50"] < 1.51 and 1.98 < p["p99"] < 2.0


def test_stage_histograms_filled_in_bulk_equal_per_sample_observing():
    """The appliance adds stage samples to its latency window only; StageLatency takes them from there in
    bulk (drains while the ring wraps, and before a scrape). The exposed histogram is the one a
    prometheus_client Histogram observing every sample gives; samples on a bucket bound count in it
    (Prometheus' le)."""
    import numpy as np
    from prometheus_client import CollectorRegistry, Histogram

    from control.metrics import LATENCY_BUCKETS

    rng = np.random.default_rng(3)
    samples = np.concatenate([rng.integers(1, 3_000_000_000, 5000), rng.integers(100, 50_000, 5000)])
    samples = samples[np.abs(samples[:, None] - np.array([round(b * 1e9) for b in LATENCY_BUCKETS])).min(axis=1) > 2]
    ref_registry = CollectorRegistry()
    ref = Histogram("ref_seconds", "reference", ["stage"], buckets=LATENCY_BUCKETS, registry=ref_registry)
    m = Metrics()
    win = LatencyWindow(stages=("quoting",), size=256)
    m.stage_latency.sources.append(lambda: win.drain_into(m.stage_latency))
    for i, ns in enumerate(samples.tolist()):
        ref.labels("quoting").observe(ns / 1e9)
        win.add("quoting", ns)
        if i % 200 == 199:   # more often than the ring wraps
            win.drain_into(m.stage_latency)
    for b in (*LATENCY_BUCKETS, float("inf")):
        le = "+Inf" if b == float("inf") else floatToGoString(b)
        want = ref_registry.get_sample_value("ref_seconds_bucket", {"stage": "quoting", "le": le})
        assert m.value("quoteguard_stage_latency_seconds_bucket", {"stage": "quoting", "le": le}) == want, le
    assert m.value("quoteguard_stage_latency_seconds_count", {"stage": "quoting"}) == len(samples)
    assert m.value("quoteguard_stage_latency_seconds_sum", {"stage": "quoting"}) == pytest.approx(samples.sum() / 1e9)
    # on a bound: in that bucket (le = less or equal); one past it: the next
    m2 = Metrics()
    m2.stage_latency.add_ns("book", np.array([8000, 8001, 0], np.int64))
    assert m2.value("quoteguard_stage_latency_seconds_bucket", {"stage": "book", "le": "8e-06"}) == 2
    assert m2.value("quoteguard_stage_latency_seconds_bucket", {"stage": "book", "le": "1.6e-05"}) == 3
