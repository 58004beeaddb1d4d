"""hls4ml C simulation == QKeras `predict`, exactly, on every golden vector (issue 4).

Uses models/qg_mlp/artifacts when exported, else a stand-in of the agreed shape (conftest.py)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.hls

VARIANTS = [("Vitis", "io_parallel"), ("Vivado", "io_parallel"), ("Vitis", "io_stream")]


@pytest.fixture(scope="module")
def keras_model(qg_artifacts: Path):
    from hls.convert import load_keras_model

    return load_keras_model(qg_artifacts)


@pytest.mark.parametrize("backend, io_type", VARIANTS, ids=[f"{b}-{i}" for b, i in VARIANTS])
def test_csim_equals_qkeras_on_golden(qg_artifacts: Path, keras_model, tmp_path: Path, backend: str,
                                      io_type: str) -> None:
    from hls.convert import build_csim, check_golden

    csim = build_csim("qg_mlp", backend=backend, io_type=io_type, output_dir=tmp_path / "prj",
                      artifacts=qg_artifacts)
    result = check_golden(csim, qg_artifacts, model=keras_model)
    assert result.n >= 256
    assert result.mismatches_vs_qkeras == 0, f"max |diff| {result.max_abs_diff}"
    assert result.mismatches_vs_golden in (0, None)


def test_build_csim_api_shapes(qg_artifacts: Path, tmp_path: Path) -> None:
    """The API bench/cpu_inference.py uses: predict(float features) and predict_int(int8 features)."""
    from hls.convert import build_csim

    csim = build_csim("qg_mlp", output_dir=tmp_path / "prj", artifacts=qg_artifacts)
    feats = np.load(qg_artifacts / "golden.npz")["features"][:5]
    y = csim.predict(feats.astype(np.float64) / csim.input_scale)
    assert y.shape == (5, 4) and y.dtype == np.float64
    yi = csim.predict_int(feats)
    assert yi.dtype == np.int64 and np.array_equal(yi, np.rint(y * csim.output_scale))
    assert (tmp_path / "prj" / "firmware").is_dir()


def test_input_precision_matches_the_input_quantizer(keras_model) -> None:
    from hls.convert import hls_config
    from models.config import load_config

    conf = hls_config(keras_model, "qg_mlp")
    first = keras_model.layers[0].name
    q = load_config("qg_mlp").quantizers.input
    assert conf["HLSConfig"]["LayerName"][first]["Precision"]["result"] == f"ap_fixed<{q.bits},{q.integer + 1}>"


def test_write_only_accel_projects(qg_artifacts: Path, tmp_path: Path) -> None:
    """VivadoAccelerator projects for the PYNQ boards are written without any vendor tool; zcu104's Tcl
    carries its own part (hls4ml 1.3 only has a zcu102 template)."""
    from hls.accel import write_project
    from hw.syn.boards import get_board

    for board in ("pynq-z2", "zcu104"):
        out = tmp_path / board
        write_project("qg_mlp", board, output_dir=out, artifacts=qg_artifacts)
        tcl = "".join(p.read_text() for p in out.rglob("*.tcl"))
        assert get_board(board).part in tcl
        assert (out / "firmware").is_dir()
    assert "xczu9eg" not in "".join(p.read_text() for p in (tmp_path / "zcu104").rglob("*.tcl"))


@pytest.mark.skipif(os.environ.get("RUN_VENDOR") != "1", reason="needs Vivado HLS; opt in with RUN_VENDOR=1")
@pytest.mark.vendor
def test_accel_build_with_vendor_tools(qg_artifacts: Path, tmp_path: Path) -> None:
    from hls.accel import write_project

    hls_model = write_project("qg_mlp", "pynq-z2", output_dir=tmp_path / "accel", artifacts=qg_artifacts)
    hls_model.build(csim=False, synth=True, export=True, bitfile=True)
    assert list((tmp_path / "accel").rglob("*.bit"))
