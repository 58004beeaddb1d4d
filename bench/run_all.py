"""Run every benchmark of the project as a subprocess (each prints its own figures), plus the RTL latency
(the cocotb latency test of sim/qg_core_top) and the post-route timing of the firmware manifest, and
collect the results with a description of the machine. bench/table.py turns them into one table;
`quoteguard bench` (control/cli/bench.py) runs both.

The scripts belong to their areas and are not imported: a script that offers `--json` is run with it and
parsed; one that does not has its printed output captured verbatim (and a few figures read from it).
`quick` runs them with small counts (about a minute in all on an idle 2-core machine).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
CAPTURE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"
SHARED_BTC = [REPO.parent / "shared" / "data" / "binance" / "usdm" / f"btcusdt_2024071{d}.gz" for d in (8, 9)]
MANIFEST = REPO / "firmware" / "ecp5-85f" / "manifest.json"
PACKAGES = ("numpy", "numba", "tensorflow", "qkeras", "hls4ml", "simplefix", "orjson", "cocotb", "redis")


@dataclass(frozen=True)
class Script:
    key: str
    title: str
    full: tuple[str, ...]  # arguments after the interpreter
    quick: tuple[str, ...]
    json: bool  # prints JSON (with --json where it has the flag)
    needs: tuple[str, ...] = ()  # executables on PATH
    timeout_s: float = 1800.0
    note: str = ""


def _backtest_data() -> tuple[str, ...]:
    """The two BTCUSDT days of ../shared (the larger, 44-level diffs) when present, else the bundled file."""
    return tuple(str(p) for p in SHARED_BTC) if all(p.is_file() for p in SHARED_BTC) else (str(CAPTURE),)


def scripts() -> tuple[Script, ...]:
    cap = str(CAPTURE)
    return (
        Script("feed", "feed decode + book", ("bench/feed_replay.py", *_backtest_data()),
               ("bench/feed_replay.py", "--repeat", "1"), json=False,
               note="no --json: output captured verbatim; full run: the 44-level BTCUSDT diffs of 2024-07-18/19"),
        Script("cpu_inference", "features + CPU inference vs TensorFlow / tf.function / hls4ml C-sim",
               ("bench/cpu_inference.py", "--json"),
               ("bench/cpu_inference.py", "--events", "2000", "--batch", "100000", "--json"), json=True),
        Script("fix", "FIX 4.4 encode / parse / session / loopback TCP", ("bench/fix.py", "--json"),
               ("bench/fix.py", "--count", "2000", "--repeat", "1", "--sqlite-count", "50", "--json"), json=True),
        Script("end_to_end", "appliance end to end (CPU backend, dry-run FIX encode)",
               ("bench/end_to_end.py", "--json"),
               ("bench/end_to_end.py", cap, "--warmup-lines", "1000", "--json"), json=True),
        Script("failover", "failover rtl -> cpu per injected fault (Icarus)", ("bench/failover_switch.py", "--json"),
               ("bench/failover_switch.py", "--records", "64", "--batch", "16", "--json"), json=True,
               needs=("iverilog",)),
        Script("redis", "scale-out over Redis Streams", ("bench/redis_throughput.py",),
               ("bench/redis_throughput.py", "--records", "5000"), json=False, needs=("redis-server",),
               note="no --json: output captured verbatim"),
        Script("backtest", "quoting engine and backtest", ("-m", "control.backtest.bench", *_backtest_data()),
               ("-m", "control.backtest.bench", cap), json=True, note="prints JSON always (no --json flag)"),
    )


@dataclass
class Run:
    key: str
    title: str
    argv: list[str]
    status: str  # ok | failed | skipped | timeout
    wall_s: float = 0.0
    returncode: int | None = None
    data: dict[str, Any] | None = None  # parsed JSON, or figures read from the text
    stdout: str = ""
    stderr_tail: str = ""
    reason: str = ""
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title, "argv": self.argv, "status": self.status,
            "wall_s": round(self.wall_s, 2), "returncode": self.returncode, "reason": self.reason,
            "note": self.note, "data": self.data,
            "stdout": None if self.data is not None and self.status == "ok" else self.stdout,
        }


@dataclass
class BenchResults:
    machine: dict[str, Any]
    quick: bool
    runs: dict[str, Run] = field(default_factory=dict)
    rtl: dict[str, Any] = field(default_factory=dict)
    post_route: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def failed(self) -> list[str]:
        out = [k for k, r in self.runs.items() if r.status in ("failed", "timeout")]
        return out + (["rtl"] if self.rtl.get("status") == "failed" else [])


def machine() -> dict[str, Any]:
    """What the figures were measured on: they mean little without it."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            versions[p] = None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu_model": cpu,
        "cpus": os.cpu_count(),
        "cpus_usable": affinity,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
        "iverilog": shutil.which("iverilog") is not None,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _tail(text: str, n: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def run_script(s: Script, quick: bool, raw_dir: Path | None, timeout_s: float | None = None) -> Run:
    argv = [sys.executable, *(s.quick if quick else s.full)]
    shown = ["python", *argv[1:]]
    missing = [x for x in s.needs if shutil.which(x) is None]
    script = REPO / argv[1] if argv[1].endswith(".py") else None
    if script is not None and not script.is_file():
        return Run(s.key, s.title, shown, "skipped", reason=f"{argv[1]} not in the tree", note=s.note)
    if missing:
        return Run(s.key, s.title, shown, "skipped", reason=f"{', '.join(missing)} not on PATH", note=s.note)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=timeout_s or s.timeout_s)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return Run(s.key, s.title, shown, "timeout", time.perf_counter() - t0, None, None, out,
                   reason=f"no result within {timeout_s or s.timeout_s:.0f} s", note=s.note)
    run = Run(s.key, s.title, shown, "ok", time.perf_counter() - t0, p.returncode, None, p.stdout,
              _tail(p.stderr), note=s.note)
    if raw_dir is not None:
        raw_dir.mkdir(parents=True, exist_ok=True)
        (raw_dir / f"{s.key}.txt").write_text(
            f"$ {' '.join(shown)}\n# exit {p.returncode}, {run.wall_s:.1f} s\n{p.stdout}\n# stderr (tail)\n"
            f"{run.stderr_tail}\n"
        )
    if p.returncode != 0:
        run.status, run.reason = "failed", f"exit {p.returncode}: {_tail(p.stderr, 1) or _tail(p.stdout, 1)}"
        return run
    if s.json:
        try:
            start = min(i for i in (p.stdout.find("{"), p.stdout.find("[")) if i >= 0)
            data = json.loads(p.stdout[start:])
            run.data = data if isinstance(data, dict) else {"rows": data}
        except ValueError as e:
            run.status, run.reason = "failed", f"output is not the JSON expected: {e}"
    else:
        from bench.table import TEXT_PARSERS

        run.data = TEXT_PARSERS[s.key](p.stdout)
    return run


def rtl_latency(raw_dir: Path | None) -> dict[str, Any]:
    """Record-in to prediction-out cycles and the initiation interval of qg_core_top, from the cocotb
    latency test (sim/qg_core_top/test_qg_core_top.py::latency_and_throughput, Icarus), in the compact
    pipeline configuration (the card's default; hw/boards.yaml `pipeline:`)."""
    if shutil.which("iverilog") is None:
        return {"status": "skipped", "reason": "iverilog not on PATH"}
    perf = (raw_dir or REPO / "build" / "bench") / "perf_qg_core_top.txt"
    perf.parent.mkdir(parents=True, exist_ok=True)
    perf.unlink(missing_ok=True)
    env = {**os.environ, "COCOTB_TEST_FILTER": "latency_and_throughput", "QG_PERF_FILE": str(perf)}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "sim/qg_core_top", "-k", "compact"]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": "cocotb latency test: no result within 600 s"}
    out: dict[str, Any] = {"argv": ["python", *argv[1:]], "wall_s": round(time.perf_counter() - t0, 1)}
    if raw_dir is not None:
        (raw_dir / "rtl.txt").write_text(f"$ {' '.join(out['argv'])}\n# exit {p.returncode}\n{p.stdout}\n{p.stderr}\n")
    if p.returncode != 0 or not perf.is_file():
        return out | {"status": "failed", "reason": f"cocotb latency test exit {p.returncode}: {_tail(p.stdout, 3)}"}
    vals = dict(line.split("=", 1) for line in perf.read_text().split() if "=" in line)
    return out | {
        "status": "ok",
        "latency_cycles": int(vals["latency"]),
        "latency_reg": int(vals["latency_reg"]),
        "ii_in": float(vals["ii_in"]),
        "ii_out": float(vals["ii_out"]),
        "sim_clock_ns": 4.0,
    }


def _utilization(m: dict[str, Any]) -> str | None:
    dev = (m.get("utilization") or {}).get("device") or {}
    parts = [f"{k} {v['used']}/{v['available']}" for k, v in dev.items()
             if isinstance(v, dict) and v.get("used") and k in ("COMB", "FF", "DSP", "BRAM", "LUT", "RAMW")]
    return ", ".join(parts) or None


def _rel(p: Path) -> str:
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)


def _model_matches(card_hash: str | None) -> bool | None:
    meta = REPO / "models" / "qg_mlp" / "artifacts" / "metadata.json"
    if card_hash is None or not meta.is_file():
        return None
    try:
        return json.loads(meta.read_text()).get("model_hash") == card_hash
    except ValueError:
        return None


def post_route(manifest: Path = MANIFEST) -> dict[str, Any]:
    """Post-route Fmax (and the design it is for) from the firmware manifest, or 'not built'."""
    if not manifest.is_file():
        return {"status": "not built", "reason": f"{_rel(manifest)} not present (make package)"}
    try:
        m = json.loads(manifest.read_text())
        t = m["timing"]
        return {
            "status": "ok",
            "manifest": _rel(manifest),
            "board": m.get("board"),
            "design": m.get("design"),
            "flow": m.get("flow"),
            "fmax_mhz": float(t["fmax_mhz"]),
            "target_mhz": t.get("target_mhz"),
            "met": t.get("met"),
            "manifest_latency_cycles": t.get("latency_cycles"),
            "manifest_latency_ns": t.get("latency_ns"),
            "model_hash": (m.get("model") or {}).get("hash"),
            "utilization": _utilization(m),
            "model_hash_matches": _model_matches((m.get("model") or {}).get("hash")),
        }
    except (ValueError, KeyError, TypeError) as e:
        return {"status": "unreadable", "reason": f"{manifest}: {e}"}


def run_all(
    *,
    quick: bool,
    only: tuple[str, ...] = (),
    raw_dir: Path | None = None,
    rtl: bool = True,
    on_start: Callable[[str], None] | None = None,
) -> BenchResults:
    """Every benchmark, one after the other (the machine is shared: never in parallel)."""
    t0 = time.perf_counter()
    res = BenchResults(machine(), quick)
    chosen = [s for s in scripts() if not only or s.key in only]
    do_rtl = rtl and (not only or "rtl" in only)
    for k, s in enumerate(chosen, 1):
        if on_start is not None:
            on_start(f"[{k}/{len(chosen) + do_rtl}] {s.title}: python {' '.join(s.quick if quick else s.full)}")
        res.runs[s.key] = run_script(s, quick, raw_dir)
        log.info("%s: %s in %.1f s %s", s.key, res.runs[s.key].status, res.runs[s.key].wall_s,
                 res.runs[s.key].reason)
    if do_rtl:
        if on_start is not None:
            on_start(f"[{len(chosen) + 1}/{len(chosen) + 1}] RTL latency: cocotb sim/qg_core_top "
                     "latency_and_throughput (Icarus)")
        res.rtl = rtl_latency(raw_dir)
    else:
        res.rtl = {"status": "skipped", "reason": "not selected"}
    res.post_route = post_route()
    res.wall_s = time.perf_counter() - t0
    return res


def keys() -> tuple[str, ...]:
    return (*(s.key for s in scripts()), "rtl")


if __name__ == "__main__":
    from control.cli.bench import bench

    bench()
