"""Replay a recorded Binance capture end to end (decode + book + top-N record) and compare it, in the
same run, with the obvious alternatives: a plain `json.loads` loop and an `orjson.loads` loop over the
same lines (parse only, no book), and our own Python reference path (BinanceDecoder + InstrumentBook).

    .venv/bin/python bench/feed_replay.py [FILE ...] [--levels 10] [--repeat 3] [--json]

FILEs are one stream, chained in order (a session continued across midnight needs its first file):
    .venv/bin/python bench/feed_replay.py ../shared/data/binance/usdm/btcusdt_20240718.gz \
                                          ../shared/data/binance/usdm/btcusdt_20240719.gz

Figures per file:
- batch (load_records' path, FeedProcessor.feed_buffer): all messages/s; and depth diffs/s on the
  depth-only stream (snapshot + diffs, a valid book stream without bookTicker/trade lines), both
  including and excluding the snapshot alignment (steady state: diffs after the first 100 applied);
- streaming (the live path, one FeedProcessor.feed call per line): messages/s and µs per event by
  type (p50 / p99 of per-call perf_counter_ns timings, which include ~0.1 µs of timer overhead).
Rates are given in CPU time (time.process_time: the one-core cost, stable on a shared machine) and in
wall time (which on an overloaded machine also counts time the process spent descheduled).
Numbers come from whatever machine runs it; on a shared 2-core box expect +-20% noise.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import time
from pathlib import Path

import numpy as np
import orjson

from control.book.stream import FeedProcessor
from control.marketdata.source import line_bounds, read_bytes, sniff_binance

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"


def _best(fn, repeat: int) -> tuple[float, float]:
    """(best CPU seconds, best wall seconds) over `repeat` runs. CPU time (time.process_time) is the
    one-core cost; on a shared, overloaded machine wall time also counts time spent descheduled."""
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall


def _rate(n: int, t: tuple[float, float]) -> tuple[float, float]:
    return n / t[0], n / t[1]


def _bounds(lines: list[bytes]) -> tuple[bytes, np.ndarray, np.ndarray]:
    data = b"\n".join(lines) + b"\n"
    s, e = line_bounds(data)
    return data, s, e


def bench_file(paths: list[Path], levels: int, repeat: int) -> dict:
    path = paths[0]
    data = b"".join(d if d.endswith(b"\n") else d + b"\n" for d in (read_bytes(p) for p in paths))
    starts, ends = line_bounds(data)
    lines = [data[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    payloads = [ln.partition(b" ")[2] for ln in lines]
    inst = sniff_binance(lines[:200], path)
    kinds = np.array([0 if b"depthUpdate" in p else 1 if b"bookTicker" in p else 2 if b"@trade" in p else 3
                      for p in payloads])
    depth_lines = [ln for ln, k in zip(lines, kinds, strict=True) if k == 0 or b"lastUpdateId" in ln]
    n_depth = int((kinds == 0).sum())
    ddata, dstarts, dends = _bounds(depth_lines)

    def json_loop() -> None:
        loads = json.loads
        for p in payloads:
            loads(p)

    def orjson_loop() -> None:
        loads = orjson.loads
        for p in payloads:
            loads(p)

    def batch(d, s, e, compiled=True) -> FeedProcessor:
        proc = FeedProcessor(inst, levels=levels, compiled=compiled)
        proc.feed_buffer(d, s, e)
        proc.take()
        return proc

    def streaming() -> None:
        proc = FeedProcessor(inst, levels=levels)
        feed = proc.feed
        for ln in lines:
            feed(ln)
        proc.take()

    batch(data, starts, ends)                       # compile / load the numba cache outside the timings
    depth_proc = batch(ddata, dstarts, dends)
    assert depth_proc.stats.events["depth"] == n_depth
    snap_i = next(i for i, ln in enumerate(depth_lines) if b"lastUpdateId" in ln)
    warm = depth_lines[:snap_i + 100]
    hot = depth_lines[snap_i + 100:]
    wdata, ws, we = _bounds(warm)
    hdata, hs, he = _bounds(hot)

    def steady() -> tuple[float, float]:
        proc = FeedProcessor(inst, levels=levels)
        proc.feed_buffer(wdata, ws, we)
        c0, w0 = time.process_time(), time.perf_counter()
        proc.feed_buffer(hdata, hs, he)
        dt_ = time.process_time() - c0, time.perf_counter() - w0
        assert proc.stats.in_sync and proc.stats.rejected_total == 0
        return dt_

    runs = [steady() for _ in range(repeat)]
    t_steady = (min(r[0] for r in runs), min(r[1] for r in runs))
    r = {
        "file": "+".join(p.name for p in paths), "instrument": inst.name, "lines": len(lines), "depth_lines": n_depth,
        "depth_records": depth_proc.stats.records,
        "levels_per_depth_msg": round(float(np.mean([ln.count(b"],[") + 1 for ln in hot])), 1),
        "json_loads_msgs_per_s": _rate(len(lines), _best(json_loop, repeat)),
        "orjson_loads_msgs_per_s": _rate(len(lines), _best(orjson_loop, repeat)),
        "python_reference_msgs_per_s": _rate(len(lines), _best(lambda: batch(data, starts, ends, False), 1)),
        "batch_msgs_per_s": _rate(len(lines), _best(lambda: batch(data, starts, ends), repeat)),
        "batch_depth_msgs_per_s": _rate(n_depth, _best(lambda: batch(ddata, dstarts, dends), repeat)),
        "batch_depth_steady_msgs_per_s": _rate(len(hot), t_steady),
        "batch_depth_steady_us_per_msg": t_steady[0] / len(hot) * 1e6,
        "python_reference_depth_msgs_per_s": _rate(n_depth, _best(lambda: batch(ddata, dstarts, dends, False), 1)),
        "streaming_msgs_per_s": _rate(len(lines), _best(streaming, repeat)),
    }
    # per-call latency of the streaming path
    proc = FeedProcessor(inst, levels=levels)
    feed, clock = proc.feed, time.perf_counter_ns
    dt = np.empty(len(lines), dtype=np.int64)
    gc.disable()
    try:
        for i, ln in enumerate(lines):
            t0 = clock()
            feed(ln)
            dt[i] = clock() - t0
            if i % 4096 == 0:
                proc.take()
    finally:
        gc.enable()
    r["per_event"] = {}
    for k, name in enumerate(("depth", "bbo", "trade", "other")):
        sel = dt[kinds == k]
        if len(sel):
            r["per_event"][name] = {"n": int(len(sel)), "p50_us": float(np.percentile(sel, 50)) / 1e3,
                                    "p99_us": float(np.percentile(sel, 99)) / 1e3,
                                    "mean_us": float(sel.mean()) / 1e3}
    r["all_p50_us"] = float(np.percentile(dt, 50)) / 1e3
    r["all_p99_us"] = float(np.percentile(dt, 99)) / 1e3
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path, default=[DEFAULT])
    ap.add_argument("--levels", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args()
    results = [bench_file(args.files, args.levels, args.repeat)]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    try:
        load = open("/proc/loadavg").read().split()[0]
    except OSError:
        load = "?"
    print(f"load average {load} on {os.cpu_count()} CPUs (figures are per process, one thread)")
    for r in results:
        print(f"{r['file']} ({r['instrument']}): {r['lines']} lines, {r['depth_lines']} depth diffs "
              f"(~{r['levels_per_depth_msg']} price levels each), record levels={args.levels}")
        print(f"  {'':<52} {'msg/s (CPU time)':>17} {'msg/s (wall)':>13}")
        rows = [
            ("reference: json.loads loop (parse only)", r["json_loads_msgs_per_s"]),
            ("reference: orjson.loads loop (parse only)", r["orjson_loads_msgs_per_s"]),
            ("python path, all messages (decode+book+record)", r["python_reference_msgs_per_s"]),
            ("batch, all messages (decode+book+record)", r["batch_msgs_per_s"]),
            ("streaming, all messages, one call per line", r["streaming_msgs_per_s"]),
            ("python path, depth diffs", r["python_reference_depth_msgs_per_s"]),
            ("batch, depth diffs incl. snapshot alignment", r["batch_depth_msgs_per_s"]),
            ("batch, depth diffs, steady state (target >=200,000)", r["batch_depth_steady_msgs_per_s"]),
        ]
        for label, (cpu, wall) in rows:
            print(f"  {label:<52} {cpu:>17,.0f} {wall:>13,.0f}")
        print(f"  steady-state depth diff: {r['batch_depth_steady_us_per_msg']:.2f} µs CPU mean (decode+book+record)")
        print(f"  streaming per event (µs)  {'n':>8} {'p50':>8} {'p99':>8} {'mean':>8}")
        for k, v in r["per_event"].items():
            print(f"    {k:<22} {v['n']:>8} {v['p50_us']:>8.2f} {v['p99_us']:>8.2f} {v['mean_us']:>8.2f}")
        print(f"    {'all':<22} {r['lines']:>8} {r['all_p50_us']:>8.2f} {r['all_p99_us']:>8.2f}")


if __name__ == "__main__":
    main()
