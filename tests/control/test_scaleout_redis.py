"""Scale-out over a real redis-server: a feed publishes real Binance records, worker processes (real
subprocesses, cpu backend) consume them by symbol through a consumer group; one is SIGKILLed mid-stream
and a replacement takes over. No event lost, none published twice, predictions identical to one
uninterrupted all-CPU run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import redis

from control.backends.cpu import CpuBackend
from control.metrics import Metrics
from control.scaleout.feed import Publisher
from control.scaleout.keys import GROUP, Keys, decode_prediction

pytestmark = pytest.mark.redis

REPO = Path(__file__).resolve().parents[2]
ETH = REPO.parent / "shared" / "data" / "binance" / "usdm" / "ethusdt_20240718.gz"


def _worker(url, name, symbols, artifacts, tmp_path, *extra):
    log = open(tmp_path / f"{name}.log", "ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "control.scaleout.worker",
            "--redis",
            url,
            "--name",
            name,
            "--symbols",
            symbols,
            "--artifacts",
            str(artifacts),
            "--idle-exit",
            "1.5",
            "--stats-json",
            str(tmp_path / f"{name}.json"),
            *extra,
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait_len(client, key, n, timeout=60.0, proc=None):
    t0 = time.monotonic()
    while client.xlen(key) < n:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"worker exited early with {proc.returncode}")
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{key}: {client.xlen(key)} of {n} after {timeout}s")
        time.sleep(0.005)


def test_kill_and_restart_loses_nothing(redis_url, model_cfg, model_artifacts, binance_records, tmp_path):
    streams = {"BTCUSDT": binance_records}
    if ETH.is_file():
        from control.book.replay import load_records

        streams["ETHUSDT"] = load_records([ETH], levels=10)[0][:2000]
    want = {s: CpuBackend.open(model_artifacts, model_cfg).submit(r) for s, r in streams.items()}

    client = redis.Redis.from_url(redis_url)
    keys, pub = Keys(), Publisher(client)
    btc = streams["BTCUSDT"]
    half = len(btc) // 2
    pub.publish("BTCUSDT", btc[:half])
    for s, r in streams.items():
        if s != "BTCUSDT":
            pub.publish(s, r)

    victim = _worker(redis_url, "w-btc", "BTCUSDT", model_artifacts, tmp_path, "--batch", "8")
    others = [
        _worker(redis_url, f"w-{s.lower()}", s, model_artifacts, tmp_path) for s in streams if s != "BTCUSDT"
    ]
    _wait_len(client, keys.predictions("BTCUSDT"), 300, proc=victim)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    done_before = client.xlen(keys.predictions("BTCUSDT"))
    assert done_before < half, "worker finished before it was killed: not a mid-stream kill"

    pub.publish("BTCUSDT", btc[half:])  # the feed keeps going while nobody consumes
    # Make sure the dead consumer holds unacknowledged entries, as when it dies between read and ack
    # (the SIGKILL above lands there only by chance): read 20 more under its name and never ack them.
    client.xreadgroup(GROUP, "w-btc", {keys.market_data("BTCUSDT"): ">"}, count=20)
    heir = _worker(redis_url, "w-btc-2", "BTCUSDT", model_artifacts, tmp_path, "--claim-idle-ms", "0",
                   "--metrics-port", "0")
    for s, r in streams.items():
        _wait_len(client, keys.predictions(s), len(r))
    for p in [heir, *others]:
        assert p.wait(60) == 0

    for s, r in streams.items():
        out = client.xrange(keys.predictions(s))
        preds = [decode_prediction(f) for _, f in out]
        assert [p.seq for p in preds] == r["seq"].tolist()  # none lost, none twice, in order
        np.testing.assert_array_equal(np.array([p.logits for p in preds]), want[s].logits())
        assert [p.p_up for p in preds] == [p.p_up for p in want[s]]
        assert client.xpending(keys.market_data(s), GROUP)["pending"] == 0
    stats = json.loads((tmp_path / "w-btc-2.json").read_text())
    assert stats["processed"] == len(btc) - done_before
    assert stats["warmed"] > 0  # feature state rebuilt from the last RESET before resuming
    assert stats["claimed"] >= 20  # the dead consumer's pending entries were taken over (XAUTOCLAIM)
    print(f"killed after {done_before} of {len(btc)} BTCUSDT predictions; heir stats {stats}")


def test_refused_record_is_accounted_for(redis_url, model_cfg, model_artifacts, binance_records):
    """A record outside the feature contract gets a `refused` output entry; the rest of the stream is
    predicted exactly as without it."""
    from control.scaleout.worker import Worker, WorkerConfig

    recs = binance_records[:300].copy()
    recs["ask_sz"][150, 0] = 1 << 40
    clean = np.delete(recs, 150)
    want = CpuBackend.open(model_artifacts, model_cfg).submit(clean).logits()
    client = redis.Redis.from_url(redis_url)
    Publisher(client).publish("BTCUSDT", recs)
    metrics = Metrics()
    w = Worker(
        client,
        WorkerConfig("w", ("BTCUSDT",), batch=64),
        lambda _s: CpuBackend.open(model_artifacts, model_cfg),
        metrics,
    )
    stats = w.run(idle_exit_s=0.3)
    out = [decode_prediction(f) for _, f in client.xrange(Keys().predictions("BTCUSDT"))]
    assert len(out) == 300 and out[150] is None and stats.refused == 1
    np.testing.assert_array_equal(np.array([p.logits for p in out if p is not None]), want)
    # the worker's Prometheus view accounts for the same records
    assert metrics.value("quoteguard_events_total", {"stream": "BTCUSDT"}) == 300
    assert metrics.value("quoteguard_predictions_total", {"backend": "cpu"}) == 299
    assert metrics.value("quoteguard_rejects_total", {"kind": "record_range"}) == 1
    assert metrics.value("quoteguard_stage_latency_seconds_count", {"stage": "inference"}) >= 300 // 64

    # published again (a feed restart): acknowledged as duplicates, counted, not predicted twice
    client.xtrim(Keys().market_data("BTCUSDT"), maxlen=0)
    Publisher(client).publish("BTCUSDT", recs[:40])
    w.run(idle_exit_s=0.3)
    assert client.xlen(Keys().predictions("BTCUSDT")) == 300
    assert metrics.value("quoteguard_worker_duplicates_skipped_total", {"stream": "BTCUSDT"}) == 40
