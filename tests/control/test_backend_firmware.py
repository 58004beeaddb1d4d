"""Loading a firmware image verifies its manifest first: a good image passes, a tampered file, another
model or a missing manifest are refused with every reason in the message; `fpga` without pynq or
without an image is unavailable with a clear reason, and `auto` then falls back."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from control.backends.base import BackendUnavailable
from control.backends.select import (
    REGMAP_YAML,
    BackendConfig,
    FirmwareRejected,
    choose,
    probe,
    verify_firmware,
)
from control.firmware import manifest as mf

REPO_ARTIFACTS = Path(__file__).resolve().parents[2] / "models" / "qg_mlp" / "artifacts"


def _image(tmp_path, model_hash: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    bit, hwh = tmp_path / "qg.bit", tmp_path / "qg.hwh"
    bit.write_bytes(b"\x00\x09\x0f\xf0" * 1000)
    hwh.write_text("<hwh/>")
    m = mf.build(
        board="pynq-z2",
        design="qg",
        files=[bit, hwh],
        model_name="qg_mlp",
        model_hash=model_hash,
        regmap_version=mf.current_regmap_version(REGMAP_YAML),
        git_hash="0" * 40,
        git_dirty=False,
        tools={"vivado": "2024.1"},
        timing={},
        utilization={},
        build_date="2026-11-26",
    )
    mf.write(m, tmp_path / mf.MANIFEST_NAME)
    return bit


def _hash(artifacts):
    return json.loads((artifacts / "metadata.json").read_text())["model_hash"]


def test_good_image_passes(tmp_path, model_artifacts):
    verify_firmware(_image(tmp_path, _hash(model_artifacts)), _hash(model_artifacts))


def test_tampered_image_and_other_model_refused(tmp_path, model_artifacts):
    bit = _image(tmp_path, _hash(model_artifacts))
    bit.write_bytes(bit.read_bytes()[:-4] + b"evil")
    with pytest.raises(FirmwareRejected) as e:
        verify_firmware(bit, "f" * 64)
    assert "file-hash: qg.bit" in str(e.value) and "model-hash" in str(e.value)


def test_missing_manifest_refused(tmp_path):
    bit = tmp_path / "lonely.bit"
    bit.write_bytes(b"x")
    with pytest.raises(FirmwareRejected, match="no manifest"):
        verify_firmware(bit, "0" * 64)


def test_fpga_availability_reasons(tmp_path, model_cfg, model_artifacts):
    cfg = BackendConfig(model_artifacts, model_cfg)
    why = probe(cfg)["fpga"]
    if importlib.util.find_spec("pynq") is None:
        assert "pynq is not installed" in why
    else:
        assert "no firmware image" in why
    with pytest.raises(BackendUnavailable, match="backend fpga unavailable"):
        choose("fpga", cfg)
    assert choose("cpu", cfg) == "cpu"
    with pytest.raises(BackendUnavailable, match="unknown backend"):
        choose("gpu", cfg)


def test_load_checks_the_manifest_before_the_board(tmp_path, model_artifacts):
    from control.backends.select import load_fpga_image

    bit = _image(tmp_path, _hash(model_artifacts))
    with pytest.raises(FirmwareRejected, match="model-hash"):
        load_fpga_image(bit, "e" * 64)
    if importlib.util.find_spec("pynq") is None:
        with pytest.raises(BackendUnavailable, match="pynq is not installed"):
            load_fpga_image(bit, _hash(model_artifacts))


def test_fw_load_verb(tmp_path):
    """`quoteguard fw load`: refused on a manifest mismatch (exit 1) before any board access; with a good
    image and no pynq here, a clear exit 2."""
    from click.testing import CliRunner

    from control.cli import main

    meta = json.loads((REPO_ARTIFACTS / "metadata.json").read_text())
    bad = _image(tmp_path / "bad", "f" * 64)
    r = CliRunner().invoke(main, ["fw", "load", str(bad)])
    assert r.exit_code == 1 and "refused" in r.output and "model-hash" in r.output
    good = _image(tmp_path / "good", meta["model_hash"])
    r = CliRunner().invoke(main, ["fw", "load", str(good)])
    if importlib.util.find_spec("pynq") is None:
        assert r.exit_code == 2 and "pynq is not installed" in r.output
    r = CliRunner().invoke(main, ["fw", "load", str(tmp_path / "missing.bit")])
    assert r.exit_code == 2
