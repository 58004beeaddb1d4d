"""Events/s through Redis Streams on loopback: a real redis-server (started here, killed after), the
feed publishing real Binance records, worker(s) consuming by symbol through the consumer group with the
cpu backend, and predictions published back (MULTI/EXEC with the XACK).

    .venv/bin/python bench/redis_throughput.py [--records 20000] [--batch 256]

Prints publish rate, end-to-end rate (publish start -> last prediction) and the worker's rate alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "binance" / "usdm"


def main() -> int:
    import numpy as np
    import redis

    from control.backends.cpu import CpuBackend
    from control.book.replay import load_records
    from control.scaleout.feed import Publisher
    from control.scaleout.keys import Keys
    from control.scaleout.server import RedisServer
    from control.scaleout.worker import Worker, WorkerConfig
    from models.config import load_config

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--artifacts", type=Path, default=REPO / "models" / "qg_mlp" / "artifacts")
    ap.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = ap.parse_args()
    files = [SHARED / "btcusdt_20240718.gz", SHARED / "btcusdt_20240719.gz"]
    if not all(f.is_file() for f in files):
        files = [REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"]
    records, _ = load_records(files, levels=10)
    while len(records) < args.records:  # repeat the stream with fresh seqs if the file is short
        more = records.copy()
        more["seq"] += records["seq"][-1] + 1
        records = np.concatenate([records, more])
    records = records[: args.records]
    cfg = load_config("qg_mlp")
    CpuBackend.open(args.artifacts, cfg).submit(records[:300])  # compile the kernels outside the timing
    with (
        tempfile.TemporaryDirectory(dir=REPO / "build" if (REPO / "build").is_dir() else None) as tmp,
        RedisServer(Path(tmp)) as srv,
    ):
        client = redis.Redis.from_url(srv.url)
        t0 = time.perf_counter()
        Publisher(client).publish("BTCUSDT", records)
        t1 = time.perf_counter()
        worker = Worker(
            client,
            WorkerConfig("bench", ("BTCUSDT",), batch=args.batch),
            lambda _s: CpuBackend.open(args.artifacts, cfg),
        )
        worker.start()
        t2 = time.perf_counter()
        while worker.stats.processed < len(records):
            worker.step()
        t3 = time.perf_counter()
        out = client.xlen(Keys().predictions("BTCUSDT"))
        info = client.info("memory")
    n = len(records)
    figures = {"records": n, "batch": args.batch, "publish_events_per_s": round(n / (t1 - t0)),
               "worker_events_per_s": round(n / (t3 - t2)), "end_to_end_events_per_s": round(n / (t3 - t0)),
               "predictions_published": out, "redis_used_memory_mib": round(info["used_memory"] / 2**20, 1)}
    if args.json:
        print(json.dumps(figures, indent=1))
        return 0 if out == n else 1
    print(f"{n} records ({files[0].name}...), batch {args.batch}, redis-server on 127.0.0.1")
    print(f"publish (pipelined XADD):          {figures['publish_events_per_s']:10d} events/s")
    print(f"consume+predict+publish (worker):  {figures['worker_events_per_s']:10d} events/s")
    print(f"end to end (publish -> last pred): {figures['end_to_end_events_per_s']:10d} events/s")
    print(f"predictions published: {out}; redis used_memory {figures['redis_used_memory_mib']:.1f} MiB")
    return 0 if out == n else 1


if __name__ == "__main__":
    sys.exit(main())
