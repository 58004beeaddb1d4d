"""run_sim(): build an RTL top with cocotb's runner and run its cocotb tests, from a pytest test.

- Sources come from `hw/rtl/<top>.f` (one path per line, relative to the list; `-f other.f` nests;
  `//` and `#` comments); include directories are the source directories (hw/rtl/gen holds the
  generated headers).
- SIM (icarus | verilator; default icarus) and WAVES (1 = dump waveforms) come from the environment.
- Each (top, simulator, parameters, defines) combination gets its own build directory under
  build/sim/, so parameter sets never share a build.
- QG_NN_GEN_ROOT (development only) points at another hw/rtl-like root whose gen/nn/, gen/nn_params.vh
  and gen/qg_nn_core.f replace the committed NN core (e.g. a core generated from a scratch model).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
RTL = REPO / "hw" / "rtl"
BUILD = REPO / "build" / "sim"
VERILATOR_ARGS = ["-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal"]


def _nn_override(rel: str) -> Path | None:
    root = os.environ.get("QG_NN_GEN_ROOT")
    return Path(root) / rel if root and rel == "gen/qg_nn_core.f" else None


def expand_filelist(flist: Path) -> list[Path]:
    """Sources named by a .f list, in order, nested lists expanded."""
    out: list[Path] = []
    for raw in flist.read_text().splitlines():
        line = raw.split("//")[0].split("#")[0].strip()
        if not line:
            continue
        if line.startswith("-f "):
            rel = line[3:].strip()
            out += expand_filelist(_nn_override(rel) or (flist.parent / rel))
            continue
        p = (flist.parent / line).resolve()
        if not p.is_file():
            raise FileNotFoundError(f"{flist}: source {line} not found ({p})")
        out.append(p)
    return out


def include_dirs() -> list[Path]:
    dirs = [RTL / "gen", RTL]
    root = os.environ.get("QG_NN_GEN_ROOT")
    return ([Path(root) / "gen"] if root else []) + dirs


def sim_name() -> str:
    return os.environ.get("SIM", "icarus").lower()


def run_sim(toplevel: str, test_file: str | Path, *, parameters: Mapping[str, object] | None = None,
            defines: Mapping[str, object] | None = None, extra_env: Mapping[str, str] | None = None,
            testcase: str | None = None, seed: int = 1234) -> Path:
    """Build `toplevel` from hw/rtl/<toplevel>.f and run the cocotb tests in `test_file` (its module
    name is the file's stem; its directory goes on the path). Raises on any failing cocotb test."""
    from cocotb_tools.runner import get_runner

    sim = sim_name()
    parameters = dict(parameters or {})
    defines = dict(defines or {})
    flist = RTL / f"{toplevel}.f"
    sources = expand_filelist(flist) if flist.is_file() else [RTL / f"{toplevel}.v"]
    key = json.dumps({"p": parameters, "d": defines, "nn": os.environ.get("QG_NN_GEN_ROOT", "")}, sort_keys=True)
    build_dir = BUILD / f"{toplevel}_{sim}_{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    build_dir.mkdir(parents=True, exist_ok=True)
    waves = os.environ.get("WAVES", "0") == "1"
    test_file = Path(test_file).resolve()
    if str(test_file.parent) not in sys.path:
        sys.path.insert(0, str(test_file.parent))
    runner = get_runner(sim)
    build_args = VERILATOR_ARGS if sim == "verilator" else []
    env = {"COCOTB_SIMULATOR_NAME": sim, **(extra_env or {})}
    # the working tree is shared: a second run of the same build waits instead of clobbering it
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        log.info("building %s with %s in %s (%d sources)", toplevel, sim, build_dir, len(sources))
        runner.build(sources=sources, includes=include_dirs(), hdl_toplevel=toplevel, parameters=parameters,
                     defines=defines, build_dir=build_dir, always=True, timescale=("1ns", "1ps"),
                     build_args=build_args, waves=waves, log_file=build_dir / "build.log")
        return runner.test(hdl_toplevel=toplevel, test_module=test_file.stem, build_dir=build_dir,
                           test_dir=build_dir, testcase=testcase, seed=seed, waves=waves, extra_env=env,
                           results_xml=str(build_dir / f"{test_file.stem}.results.xml"),
                           log_file=build_dir / f"{test_file.stem}.log")


def require_nn_core() -> None:
    """Skip (with the reason) when the generated NN core or the model artifacts are missing."""
    import pytest

    from sim.common.golden import artifacts_dir

    core = Path(os.environ["QG_NN_GEN_ROOT"]) if os.environ.get("QG_NN_GEN_ROOT") else RTL
    if not (core / "gen" / "qg_nn_core.f").is_file():
        pytest.skip("NN core not generated yet: run `python -m hw.gen_nn_core` once the model artifacts exist")
    if not (artifacts_dir() / "weights_int.npz").is_file():
        pytest.skip(f"model artifacts missing in {artifacts_dir()} (run `quoteguard model export`)")
