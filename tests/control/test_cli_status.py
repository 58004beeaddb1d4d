"""`quoteguard status` through CliRunner: from a status file, from a live metrics endpoint, and as a
one-shot probe; exit codes for nothing to read."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from control.cli import main
from control.metrics import Metrics, MetricsConfig

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"


def test_status_from_the_file_a_run_wrote(tmp_path, model_artifacts):
    status = tmp_path / "status.json"
    r = CliRunner().invoke(
        main,
        [
            "run",
            "--dry-run",
            "--quiet",
            "--backend",
            "cpu",
            "--artifacts",
            str(model_artifacts),
            "--status-file",
            str(status),
            str(CAPTURE),
        ],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["status", "--status-file", str(status)])
    assert r.exit_code == 0, r.output
    for text in (
        "backend",
        "model_hash",
        "health",
        "ok (software reference)",
        "records",
        "latency total",
        "p99.9",
        "event path",
        "fused",
    ):
        assert text in r.output
    r = CliRunner().invoke(main, ["status", "--status-file", str(status), "--json"])
    st = json.loads(r.output)
    assert st["backend"] == "cpu" and st["counters"]["records"] > 3000 and st["health"]["ok"]
    assert st["event_path"] == "fused"   # the cpu backend on the compiled feed: control/fastpath.py


def test_status_without_a_running_appliance(tmp_path):
    r = CliRunner().invoke(main, ["status", "--status-file", str(tmp_path / "none.json")])
    assert r.exit_code == 1 and "no appliance status" in r.output


def test_status_from_the_metrics_endpoint():
    m = Metrics()
    m.set_active_backend("cpu")
    m.events.labels("BTCUSDT").inc(42)
    m.record_failover("rtl", "cpu", "timeout", 0.002)
    server, _ = m.serve(MetricsConfig(port=0))
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        r = CliRunner().invoke(main, ["status", "--metrics-url", url, "--json"])
        assert r.exit_code == 0, r.output
        st = json.loads(r.output)
        assert st["backend"] == "cpu"
        assert st["metrics"]["quoteguard_events_total{stream=BTCUSDT}"] == 42
        assert (
            st["metrics"]["quoteguard_failovers_total{from_backend=rtl,reason=timeout,to_backend=cpu}"] == 1
        )
        r = CliRunner().invoke(main, ["status", "--metrics-url", url])
        assert "quoteguard_failover_switch_seconds" in r.output
    finally:
        server.shutdown()
    r = CliRunner().invoke(main, ["status", "--metrics-url", url])
    assert r.exit_code == 1 and "cannot read metrics" in r.output


def test_probe_cpu(model_artifacts):
    r = CliRunner().invoke(main, ["status", "--probe", "cpu", "--artifacts", str(model_artifacts), "--json"])
    assert r.exit_code == 0, r.output
    st = json.loads(r.output)
    assert st["backend"] == "cpu" and st["available"]["cpu"] == "yes"
    assert (
        st["identity"]["model_hash"]
        == json.loads((model_artifacts / "metadata.json").read_text())["model_hash"]
    )


def test_status_of_the_scale_out(redis_url, model_cfg, model_artifacts, binance_records):
    import redis

    from control.backends.cpu import CpuBackend
    from control.scaleout.feed import Publisher
    from control.scaleout.worker import Worker, WorkerConfig

    client = redis.Redis.from_url(redis_url)
    Publisher(client).publish("BTCUSDT", binance_records[:500])
    w = Worker(client, WorkerConfig("w1", ("BTCUSDT",), batch=100), lambda _s: CpuBackend.open(model_artifacts, model_cfg))
    w.start()
    w.step()                                   # the (empty) pending list
    w.step()                                   # 100 of 500 processed
    r = CliRunner().invoke(main, ["status", "--redis", redis_url, "--json"])
    assert r.exit_code == 0, r.output
    e = json.loads(r.output)["streams"]["BTCUSDT"]
    assert (e["records"], e["predictions"], e["pending"], e["lag"]) == (500, 100, 0, 400)
    assert e["consumers"]["w1"]["pending"] == 0
    r = CliRunner().invoke(main, ["status", "--redis", redis_url])
    assert "BTCUSDT" in r.output and "lag 400" in r.output
