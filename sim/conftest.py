"""Every test under sim/ is a cocotb simulation: mark it `sim` and skip it, with the reason, when the
selected simulator (SIM, default icarus) is not installed."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_BINARIES = {"icarus": "iverilog", "verilator": "verilator"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    sim = os.environ.get("SIM", "icarus").lower()
    binary = _BINARIES.get(sim, sim)
    missing = shutil.which(binary) is None
    for item in items:
        if HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        if "bridge" in Path(str(item.fspath)).parts:
            continue
        item.add_marker(pytest.mark.sim)
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"SIM={sim}: {binary} not found on PATH"))
