"""Verilator `--lint-only -Wall` over the card RTL (hand-written and generated): no warnings allowed.
Skipped, with the reason, when verilator is not installed (Debian's 5.006 is enough for linting)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sim.common.runner import RTL, expand_filelist

VERILATOR = shutil.which("verilator")
pytestmark = pytest.mark.skipif(VERILATOR is None, reason="verilator not found on PATH (apt-get install verilator)")

# (top module, its sources); every module also gets linted inside its parents
TOPS = {
    "qg_core_top": "qg_core_top.f",
    "feature_pipeline": "feature_pipeline.f",
    "qg_nn_core": "qg_nn_core.f",
    "qg_core_regs": ["gen/qg_core_regs.v"],
    "qg_pred_fifo": ["qg_pred_fifo.v"],
    "qg_ratio": "qg_ratio.f",
    "qg_sat_scale": ["qg_sat_scale.v"],
    "qg_delay": ["qg_delay.v"],
    "qg_bitlen": ["qg_pipe.v", "qg_bitlen.v"],
    "qg_recip_rom": ["gen/qg_recip_rom.v"],
    "qg_recip_lut7": ["qg_recip_lut7.v"],
    "qg_dup_reg": ["qg_dup_reg.v"],
}


def sources(spec: str | list[str]) -> list[Path]:
    return expand_filelist(RTL / spec) if isinstance(spec, str) else [RTL / s for s in spec]


@pytest.mark.parametrize("top", sorted(TOPS))
def test_verilator_lint_clean(top: str) -> None:
    if top in ("qg_core_top", "qg_nn_core") and not (RTL / "gen" / "qg_nn_core.f").is_file():
        pytest.skip("NN core not generated yet (python -m hw.gen_nn_core)")
    cmd = [VERILATOR, "--lint-only", "-Wall", f"-I{RTL / 'gen'}", f"-I{RTL}", "--top-module", top,
           *map(str, sources(TOPS[top]))]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and "%Warning" not in res.stderr, f"{' '.join(cmd)}\n{res.stderr}"


def test_verilator_lint_clean_deep_pipeline() -> None:
    """The deep pipeline configuration (hw/boards.yaml `pipeline: deep`): QG_PIPELINE_DEEP and the deep
    NN core (hw/rtl/deep/gen/), with the ECP5 DSP primitive left out (Verilator has no MULT18X18D)."""
    deep = RTL / "deep"
    if not (deep / "gen" / "qg_nn_core.f").is_file():
        pytest.skip("deep NN core not generated yet (python -m hw.gen_nn_core)")
    files = [f for f in sources("qg_core_top.f") if f.parent != RTL / "gen" / "nn"]
    files = [f for f in files if f.name != "qg_core_top.v"] + expand_filelist(deep / "gen" / "qg_nn_core.f") + [RTL / "qg_core_top.v"]
    cmd = [VERILATOR, "--lint-only", "-Wall", "-DQG_PIPELINE_DEEP", f"-I{deep / 'gen'}", f"-I{RTL / 'gen'}", f"-I{RTL}",
           "--top-module", "qg_core_top", *map(str, files)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and "%Warning" not in res.stderr, f"{' '.join(cmd)}\n{res.stderr}"
