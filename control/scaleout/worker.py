"""An appliance worker on Redis Streams: consumes the market-data streams of the symbols it owns through
the consumer group, predicts with its backend, and publishes predictions back.

Guarantees, per symbol (a symbol is owned by exactly one worker name at a time; partition by symbol,
never round-robin within a stream, because feature state is per stream):
- no loss: an entry is acknowledged in the same MULTI/EXEC transaction that publishes its prediction,
  so after a crash every unpublished entry is still pending and is read again (own pending list on
  restart; XAUTOCLAIM when another worker takes over a dead one's symbols);
- no duplicates: predictions are published under id `<seq+1>-0`, and entries whose seq is at or below
  the last published one are acknowledged without being processed again;
- same predictions as an uninterrupted run: on start the feature state is rebuilt by replaying
  (`Backend.warm`) the entries from the last RESET up to the last published one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from prometheus_client import Counter

from control.backends.base import Backend, RecordRefused
from control.metrics import Metrics, MetricsConfig
from control.scaleout.keys import (
    DEFAULT_KEYS,
    GROUP,
    Keys,
    decode_records,
    encode_prediction,
    encode_refusal,
    prediction_id,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    name: str
    symbols: tuple[str, ...]
    batch: int = 256
    block_ms: int = 100
    claim_idle_ms: int = 30_000  # take over another worker's pending entries after this idle time
    keys: Keys = Keys()


@dataclass
class WorkerStats:
    processed: int = 0
    skipped_duplicates: int = 0
    rejected_duplicates: int = 0
    warmed: int = 0
    claimed: int = 0
    refused: int = 0


class WorkerMetrics:
    """A worker's Prometheus view: the appliance's metrics (records consumed per stream, predictions per
    backend, refused records, inference latency per record) plus what only a consumer-group worker has
    (duplicates skipped, entries claimed from dead workers, entries replayed to rebuild state)."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics
        r, ns = metrics.registry, "quoteguard"
        self.duplicates = Counter(
            "worker_duplicates_skipped", "Entries at or below the last published seq, acked again", ["stream"],
            namespace=ns, registry=r)
        self.claimed = Counter("worker_claimed", "Entries claimed from idle consumers", ["stream"],
                               namespace=ns, registry=r)
        self.warmed = Counter("worker_warmed", "Entries replayed to rebuild feature state", ["stream"],
                              namespace=ns, registry=r)


class Worker:
    def __init__(
        self, client: redis.Redis, cfg: WorkerConfig, backend_factory: Callable[[str], Backend],
        metrics: Metrics | None = None,
    ) -> None:
        self.client, self.cfg = client, cfg
        self.keys = cfg.keys
        self.backends = {s: backend_factory(s) for s in cfg.symbols}
        self.last_seq: dict[str, int] = {}
        self.stats = WorkerStats()
        self.metrics = WorkerMetrics(metrics) if metrics is not None else None
        self._backlog = set(cfg.symbols)  # symbols whose pending list has not been drained yet

    # -- start-up ----------------------------------------------------------------------------------
    def start(self) -> None:
        for s in self.cfg.symbols:
            try:
                self.client.xgroup_create(self.keys.market_data(s), GROUP, id="0", mkstream=True)
            except redis.ResponseError as e:
                if "BUSYGROUP" not in str(e):
                    raise
            self._rebuild(s)
            self._claim(s)

    def _rebuild(self, symbol: str) -> None:
        """Replay, state-only, the entries from the last RESET up to the last published prediction."""
        last = self.client.xrevrange(self.keys.predictions(symbol), count=1)
        if not last:
            self.last_seq[symbol] = -1
            return
        _, fields = last[0]
        self.last_seq[symbol] = int(fields[b"seq"])
        src = fields[b"src"]
        reset = self.client.xrevrange(self.keys.resets(symbol), max=src, count=1)
        start = reset[0][0] if reset else b"-"
        md = self.keys.market_data(symbol)
        while True:
            entries = self.client.xrange(md, min=start, max=src, count=4096)
            if not entries:
                break
            self.backends[symbol].warm(decode_records(entries))
            self.stats.warmed += len(entries)
            if self.metrics is not None:
                self.metrics.warmed.labels(symbol).inc(len(entries))
            if entries[-1][0] == src:
                break
            start = b"(" + entries[-1][0]
        log.info(
            "%s: %s rebuilt from %d records (last published seq %d)",
            self.cfg.name,
            symbol,
            self.stats.warmed,
            self.last_seq[symbol],
        )

    def _claim(self, symbol: str) -> None:
        """Move entries idle longer than claim_idle_ms from any other consumer into our pending list."""
        md, cursor = self.keys.market_data(symbol), "0-0"
        while True:
            reply = self.client.xautoclaim(
                md, GROUP, self.cfg.name, self.cfg.claim_idle_ms, start_id=cursor, count=1000
            )
            cursor, claimed = reply[0], reply[1]  # [next cursor, [(id, fields)...], deleted ids]
            self.stats.claimed += len(claimed)
            if self.metrics is not None and claimed:
                self.metrics.claimed.labels(symbol).inc(len(claimed))
            if cursor in (b"0-0", "0-0"):
                break

    # -- processing --------------------------------------------------------------------------------
    def step(self) -> int:
        """Read and process one batch per stream; returns the number of entries handled."""
        streams = {self.keys.market_data(s): ("0" if s in self._backlog else ">") for s in self.cfg.symbols}
        block = None if self._backlog else self.cfg.block_ms
        reply = self.client.xreadgroup(GROUP, self.cfg.name, streams, count=self.cfg.batch, block=block)
        handled = 0
        got = {k.decode() if isinstance(k, bytes) else k: v for k, v in reply or []}
        for s in self.cfg.symbols:
            entries = got.get(self.keys.market_data(s), [])
            if s in self._backlog and not entries:
                self._backlog.discard(s)  # pending list drained: continue with new entries
                continue
            if entries:
                self._process(s, entries)
                handled += len(entries)
        return handled

    def _process(self, symbol: str, entries: list) -> None:
        records = decode_records(entries)
        ids = [eid for eid, _ in entries]
        fresh = records["seq"].astype("int64") > self.last_seq[symbol]
        dup = int((~fresh).sum())
        self.stats.skipped_duplicates += dup
        todo = records[fresh]
        fresh_ids = [i for i, f in zip(ids, fresh, strict=True) if f]
        t0 = time.perf_counter()
        refused0 = self.stats.refused
        entries = self._predict(symbol, todo, fresh_ids)
        if self.metrics is not None:
            self._observe(symbol, len(todo), dup, self.stats.refused - refused0, time.perf_counter() - t0)
        pipe = self.client.pipeline(transaction=True)
        out = self.keys.predictions(symbol)
        for seq, fields in entries:
            pipe.xadd(out, fields, id=prediction_id(seq))
        pipe.xack(self.keys.market_data(symbol), GROUP, *ids)
        results = pipe.execute(raise_on_error=False)
        for r in results[:-1]:
            if isinstance(r, redis.ResponseError):
                if "equal or smaller" not in str(r):
                    raise r
                self.stats.rejected_duplicates += 1
        if isinstance(results[-1], Exception):
            raise results[-1]
        if entries:
            self.last_seq[symbol] = entries[-1][0]
        self.stats.processed += len(entries)

    def _observe(self, symbol: str, n: int, dup: int, refused: int, seconds: float) -> None:
        m = self.metrics.m
        m.events.labels(symbol).inc(n)
        m.predictions.labels(self.backends[symbol].name).inc(n - refused)
        if refused:
            m.rejects.labels("record_range").inc(refused)
        if dup:
            self.metrics.duplicates.labels(symbol).inc(dup)
        if n:
            m.observe_stage("inference", seconds / n)   # features + inference, per record

    def _predict(self, symbol: str, records, ids: list) -> list[tuple[int, dict]]:
        """(seq, output fields) per record, in order. A record outside the feature contract gets a
        `refused` entry instead of a prediction, so the output still accounts for every input."""
        if len(records) == 0:
            return []
        backend = self.backends[symbol]
        try:
            return [
                (p.seq, encode_prediction(p, eid))
                for p, eid in zip(backend.submit(records), ids, strict=True)
            ]
        except RecordRefused:
            pass
        out = []
        for k in range(len(records)):
            seq = int(records["seq"][k])
            try:
                out.append((seq, encode_prediction(backend.submit(records[k : k + 1])[0], ids[k])))
            except RecordRefused as e:
                log.warning("%s: refused seq %d: %s", symbol, seq, e)
                self.stats.refused += 1
                out.append((seq, encode_refusal(seq, ids[k], str(e))))
        return out

    def run(
        self, idle_exit_s: float | None = None, should_stop: Callable[[], bool] = lambda: False
    ) -> WorkerStats:
        self.start()
        idle_since = time.monotonic()
        while not should_stop():
            if self.step():
                idle_since = time.monotonic()
            elif idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                break
        return self.stats

    def close(self) -> None:
        for b in self.backends.values():
            b.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m control.scaleout.worker --redis URL --name W --symbols BTCUSDT[,ETHUSDT]` (cpu backend)."""
    import argparse
    import json
    from pathlib import Path

    from control.backends.cpu import CpuBackend
    from models.config import load_config

    ap = argparse.ArgumentParser(description="QuoteGuard appliance worker on Redis Streams (cpu backend)")
    ap.add_argument("--redis", required=True, help="redis://127.0.0.1:PORT/0")
    ap.add_argument("--name", required=True, help="consumer name; a restarted worker keeps its name")
    ap.add_argument("--symbols", required=True, help="comma-separated symbols this worker owns")
    ap.add_argument("--artifacts", type=Path, required=True)
    ap.add_argument("--model-config", default="qg_mlp")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--claim-idle-ms", type=int, default=30_000)
    ap.add_argument("--idle-exit", type=float, default=None, help="exit after this many idle seconds")
    ap.add_argument("--stats-json", type=Path, default=None)
    ap.add_argument("--metrics-port", type=int, default=None,
                    help="serve Prometheus metrics on 127.0.0.1:PORT (0: any free port, logged)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.model_config)
    metrics = Metrics()
    server = None
    if args.metrics_port is not None:
        server, _ = metrics.serve(MetricsConfig(port=args.metrics_port))
    worker = Worker(
        redis.Redis.from_url(args.redis),
        WorkerConfig(
            args.name, tuple(args.symbols.split(",")), batch=args.batch, claim_idle_ms=args.claim_idle_ms
        ),
        lambda _symbol: CpuBackend.open(args.artifacts, cfg),
        metrics,
    )
    try:
        stats = worker.run(idle_exit_s=args.idle_exit)
    finally:
        worker.close()
        if server is not None:
            server.shutdown()
    if args.stats_json is not None:
        args.stats_json.write_text(json.dumps(stats.__dict__))
    log.info("worker %s done: %s", args.name, stats)
    return 0


def group_status(client: redis.Redis, keys: Keys = DEFAULT_KEYS) -> dict[str, dict]:
    """Per symbol: stream length, predictions published, the consumer group's pending count and lag,
    and its consumers (pending, idle ms) -- what `quoteguard status --redis URL` shows."""
    out: dict[str, dict] = {}
    prefix = keys.market_data("")
    for raw in client.scan_iter(match=prefix + "*", _type="stream"):
        md = raw.decode() if isinstance(raw, bytes) else raw
        symbol = md[len(prefix) :]
        groups = {
            g["name"].decode() if isinstance(g["name"], bytes) else g["name"]: g
            for g in client.xinfo_groups(md)
        }
        g = groups.get(GROUP)
        entry = {"records": client.xlen(md), "predictions": client.xlen(keys.predictions(symbol))}
        if g is not None:
            entry |= {
                "pending": int(g["pending"]),
                "lag": g.get("lag"),
                "consumers": {
                    (c["name"].decode() if isinstance(c["name"], bytes) else c["name"]): {
                        "pending": int(c["pending"]),
                        "idle_ms": int(c["idle"]),
                    }
                    for c in client.xinfo_consumers(md, GROUP)
                },
            }
        out[symbol] = entry
    return dict(sorted(out.items()))


if __name__ == "__main__":
    raise SystemExit(main())
