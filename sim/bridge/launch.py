"""Build qg_core_top (or another top with the same ports) with cocotb_tools.runner and run the bridge
module (qg_bridge.py) in it. Started as a child process by control.driver.sim_io.SimIO.launch:

    python -m sim.bridge.launch --build-dir build/sim_bridge [--toplevel qg_core_top] [--sim icarus]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from cocotb_tools.runner import get_runner

from sim.common.runner import expand_filelist, include_dirs

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

log = logging.getLogger(__name__)


def sources_for(toplevel: str, rtl_dir: Path) -> list[Path]:
    flist = rtl_dir / f"{toplevel}.f"
    return expand_filelist(flist) if flist.is_file() else [rtl_dir / f"{toplevel}.v"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", type=Path, required=True)
    ap.add_argument("--toplevel", default="qg_core_top")
    ap.add_argument("--rtl-dir", type=Path, default=REPO / "hw" / "rtl")
    ap.add_argument("--sim", default=os.environ.get("SIM", "icarus"))
    ap.add_argument("--clock-ns", type=float, default=4.0)
    ap.add_argument("--param", action="append", default=[], help="NAME=VALUE top-level parameter")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    params = dict(p.split("=", 1) for p in args.param)
    srcs = sources_for(args.toplevel, args.rtl_dir)
    includes = include_dirs()
    runner = get_runner(args.sim)
    # The runner rebuilds when a source is newer than the build, not when a parameter changed (a new
    # commit's GIT_HASH): keep the parameters of the last build and force a rebuild when they differ.
    stamp = args.build_dir / "parameters.json"
    wanted = json.dumps({"toplevel": args.toplevel, "sim": args.sim, "parameters": params}, sort_keys=True)
    stale = not stamp.is_file() or stamp.read_text() != wanted
    runner.build(
        sources=srcs,
        includes=includes,
        hdl_toplevel=args.toplevel,
        parameters=params,
        build_dir=args.build_dir,
        always=stale,
        timescale=("1ns", "1ps"),
    )
    stamp.write_text(wanted)
    sys.path.insert(0, str(HERE))
    runner.test(
        test_module="qg_bridge",
        hdl_toplevel=args.toplevel,
        build_dir=args.build_dir,
        test_dir=HERE,
        extra_env={
            "QG_BRIDGE_CLOCK_NS": str(args.clock_ns),
            "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")]),
        },
        results_xml=str(args.build_dir / "bridge_results.xml"),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
