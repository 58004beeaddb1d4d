"""Time to fail over from the rtl backend (qg_core_top under Icarus, same driver as the board) to the
cpu backend, per injected fault: detection (the failing submit call, dominated by the timeout or the
health check) and the switch itself (fault seen -> in-flight batch replayed on the warm CPU shadow).

    .venv/bin/python bench/failover_switch.py [--records 160] [--batch 16] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAPTURE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"
FAULTS = ("stall", "error_flag", "kill", "disabled")


def inject(fb, fault: str) -> None:
    io = fb.primary.device.stream
    if fault == "stall":
        io.stall_output(True)
    elif fault == "error_flag":
        io.force("fifo_overflow", 1, 1)
    elif fault == "kill":
        os.killpg(io.pid, signal.SIGKILL)
    else:
        fb.primary.device.write("CTRL_CONTROL", 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=160)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-cycles-per-frame", type=int, default=200, help="stall detection bound (cycles)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if shutil.which("iverilog") is None:
        print("iverilog not on PATH: the rtl backend is unavailable", file=sys.stderr)
        return 2
    from control.backends.cpu import CpuBackend
    from control.backends.select import BackendConfig, open_backend
    from control.book.replay import load_records
    from control.driver.sim_io import SimConfig
    from models.config import load_config

    cfg, artifacts = load_config("qg_mlp"), REPO / "models" / "qg_mlp" / "artifacts"
    recs = load_records([CAPTURE], levels=10)[0][: args.records]
    want = CpuBackend.open(artifacts, cfg).submit(recs).logits().tolist()
    at = args.records // args.batch // 2
    rows = []
    for fault in FAULTS:
        with tempfile.TemporaryDirectory(dir=REPO / "build" if (REPO / "build").is_dir() else None) as tmp:
            sim = SimConfig(build_dir=Path(tmp) / "sim", max_cycles_per_frame=args.max_cycles_per_frame)
            fb = open_backend("rtl", BackendConfig(artifacts, cfg, sim=sim, timeout_s=30.0))
            got, calls = [], []
            for k, i in enumerate(range(0, len(recs), args.batch)):
                if k == at:
                    inject(fb, fault)
                t0 = time.perf_counter()
                got += fb.submit(recs[i : i + args.batch]).logits().tolist()
                calls.append((time.perf_counter() - t0) * 1e3)
            fb.close()
            ev = fb.events[0]
            rows.append(
                {
                    "fault": fault,
                    "reason": ev.reason,
                    "detect_and_switch_ms": round(calls[at], 2),
                    "switch_ms": round(ev.switch_ns / 1e6, 3),
                    "replayed": ev.replayed,
                    "rtl_batch_ms": round(sorted(calls[:at])[at // 2], 2),
                    "cpu_batch_ms": round(sorted(calls[at + 1 :])[len(calls[at + 1 :]) // 2], 3),
                    "identical_to_cpu": got == want,
                }
            )
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(f"{args.records} records in batches of {args.batch}, fault before batch {at}; times in ms")
        print(
            f"{'fault':12s} {'reason':8s} {'detect+switch':>13s} {'switch':>8s} {'rtl batch':>10s} "
            f"{'cpu batch':>10s}  identical"
        )
        for r in rows:
            print(
                f"{r['fault']:12s} {r['reason']:8s} {r['detect_and_switch_ms']:13.1f} {r['switch_ms']:8.3f} "
                f"{r['rtl_batch_ms']:10.1f} {r['cpu_batch_ms']:10.3f}  {r['identical_to_cpu']}"
            )
    return 0 if all(r["identical_to_cpu"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
