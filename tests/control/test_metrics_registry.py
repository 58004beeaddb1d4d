"""Metrics: own registry (never the process-global one), served on 127.0.0.1, every stage histogram and
the failover series exposed in the text format Prometheus scrapes."""

from __future__ import annotations

import socket
import urllib.request

from prometheus_client import REGISTRY

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
