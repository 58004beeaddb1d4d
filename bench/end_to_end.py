"""End-to-end latency of the appliance on the CPU backend: replay a real Binance capture through
decode -> book -> features -> CPU inference -> quoting -> FIX encode (dry-run sink, every message
encoded with its session header), and print per-stage and total µs per event (p50 / p99 / p99.9),
events/s and the process RSS.

    .venv/bin/python bench/end_to_end.py [FILES...] [--artifacts DIR] [--json]

The appliance runs its fused per-line path (control/fastpath.py: decode -> book -> features ->
inference in one compiled call, stage ends stamped inside it); the same replay on the generic
per-stage path follows, for comparison, as the `generic path` row.
Stages `decode` and `book` are per input line; `event_decode`/`event_book` the same for the lines that
produced a book record (an event); `book_deferred` the deep book levels applied after the event's FIX
bytes (control/book/README.md); the others per event; `total` is per event, from the start of
decoding its line to its FIX bytes (fix_encode only runs for events that change the quote); the appliance's
bookkeeping after the FIX bytes (histograms, percentile window, counters, audit, drift, status) is not in
`total` but is in events/s and the CPU time. A warm-up pass (numba compilation, caches) runs first on a
separate appliance. Figures from a shared machine: quote them with the load.
Targets (issue 6): total p99 <= 50 µs per event, RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "binance" / "usdm"
DEFAULT_FILES = [SHARED / "btcusdt_20240718.gz", SHARED / "btcusdt_20240719.gz"]
FALLBACK_FILES = [REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"]
STAGES = (
    "decode",
    "book",
    "book_deferred",
    "event_decode",
    "event_book",
    "features",
    "inference",
    "quoting",
    "fix_encode",
    "total",
)


def rss_mb() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            k, v = line.split(":")
            out[k] = int(v.split()[0]) / 1024
    return out


def build(files: list[Path], artifacts: Path, window: int):
    from control.appliance import Appliance, ApplianceConfig, DryRunSink, head_lines, iter_lines
    from control.backends.cpu import CpuBackend
    from control.book.stream import FeedProcessor
    from control.marketdata.source import sniff_binance
    from control.metrics import LatencyWindow, Metrics
    from control.quoting.config import load_config as load_quoting
    from control.quoting.engine import QuotingEngine
    from models.config import load_config

    inst = sniff_binance(head_lines(files[0]), files[0])
    sink_bytes = [0]

    def make(fused: bool = True):
        app = Appliance(
            ApplianceConfig(inst.symbol, fused=fused),
            FeedProcessor(inst, levels=10, source=str(files[0])),
            CpuBackend.open(artifacts, load_config("qg_mlp")),
            QuotingEngine(load_quoting()),
            DryRunSink(lambda raw: sink_bytes.__setitem__(0, sink_bytes[0] + len(raw))),
            Metrics(),
        )
        app.latency = LatencyWindow(size=window)
        return app

    return (lambda: iter_lines(files)), make, sink_bytes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--artifacts", type=Path, default=REPO / "models" / "qg_mlp" / "artifacts")
    ap.add_argument("--warmup-lines", type=int, default=3000)
    ap.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() after start-up (long-lived objects)"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    files = args.files or (DEFAULT_FILES if all(f.is_file() for f in DEFAULT_FILES) else FALLBACK_FILES)
    lines, make, sink_bytes = build(files, args.artifacts, window=1 << 17)

    make().run(itertools.islice(lines(), args.warmup_lines))  # JIT + caches, on throwaway appliances
    make(fused=False).run(itertools.islice(lines(), args.warmup_lines))
    app = make()
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    t0, cpu0 = time.perf_counter(), time.process_time()
    c = app.run(lines())
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    lat = app.latency.percentiles()
    # the same replay on the generic per-stage path (one compiled call per stage, Python between)
    generic = make(fused=False)
    generic.run(lines())
    lat_generic = generic.latency.percentiles()
    result = {
        "files": [str(f) for f in files],
        "lines": c.lines,
        "events": c.records,
        "quotes": c.quotes,
        "pulls": c.pulls,
        "fix_bytes": sink_bytes[0],
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_us_per_line": round(cpu / c.lines * 1e6, 2),
        "events_per_s": round(c.records / wall),
        "lines_per_s": round(c.lines / wall),
        "event_path": "fused" if app._fast is not None else "generic",
        "latency_us": {s: lat[s] for s in STAGES if s in lat},
        "generic_path_latency_us": {s: lat_generic[s] for s in STAGES if s in lat_generic},
        "rss_mb": rss_mb(),
        "load_avg": os.getloadavg(),
        "cpus": os.cpu_count(),
        "gc_freeze": args.gc_freeze,
        "targets": {"total_p99_us": 50, "rss_mb": 300},
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(
        f"{c.lines} lines, {c.records} events, {c.quotes} quotes, {c.pulls} pulls in {wall:.2f} s: "
        f"{result['events_per_s']} events/s, {result['lines_per_s']} lines/s; "
        f"CPU {cpu:.2f} s ({result['cpu_us_per_line']} µs per line, everything included)"
    )
    print(f"{'stage':12s} {'p50 µs':>9s} {'p99 µs':>9s} {'p99.9 µs':>9s} {'n':>9s}")
    for s in STAGES:
        if s in lat:
            v = lat[s]
            print(f"{s:12s} {v['p50']:9.2f} {v['p99']:9.2f} {v['p99.9']:9.2f} {v['n']:9d}")
    g = lat_generic["total"]
    print(f"{'generic path':12s} {g['p50']:9.2f} {g['p99']:9.2f} {g['p99.9']:9.2f} {g['n']:9d}  "
          "(total; ApplianceConfig(fused=False): a compiled call per stage, Python between)")
    r = result["rss_mb"]
    print(
        f"RSS {r['VmRSS']:.0f} MB (peak {r['VmHWM']:.0f} MB); load average {os.getloadavg()[0]:.2f} "
        f"on {os.cpu_count()} CPUs; targets: total p99 <= 50 µs, RSS <= 300 MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
