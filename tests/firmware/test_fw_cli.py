"""`quoteguard fw info` / `fw verify` through click's CliRunner (exit codes 0 / 1 / 2, tables, --json)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from click.testing import CliRunner

from control.cli.fw import fw

_spec = importlib.util.spec_from_file_location("fw_test_manifest", Path(__file__).with_name("test_manifest.py"))
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
make_image = _mod.make_image


def identity(tmp_path: Path, model_hash: str = "abc123", regmap: str = "1") -> list[str]:
    (tmp_path / "metadata.json").write_text(json.dumps({"model_hash": model_hash}))
    (tmp_path / "regmap.yaml").write_text(f"version: {regmap}\n")
    return ["--model-metadata", str(tmp_path / "metadata.json"), "--regmap", str(tmp_path / "regmap.yaml")]


def test_info_table_and_json(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img")
    res = CliRunner().invoke(fw, ["info", str(path)])
    assert res.exit_code == 0, res.output
    assert "pynq-z2" in res.output and "qg_core.bit" in res.output and "ok" in res.output
    res = CliRunner().invoke(fw, ["info", "--json", str(tmp_path / "img" / "qg_core.bit")])
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["manifest"]["model"]["hash"] == "abc123" and data["file_mismatches"] == []


def test_info_shows_what_reproduces_an_open_flow_placement() -> None:
    """The committed ECP5 manifest: seed and router (and any extra nextpnr options) on one line, so
    `python -m hw.syn.open_flow --seed N --router R` rebuilds it."""
    manifest = Path(__file__).resolve().parents[2] / "firmware" / "ecp5-85f" / "manifest.json"
    timing = json.loads(manifest.read_text())["timing"]
    res = CliRunner().invoke(fw, ["info", str(manifest)])
    line = next(row for row in res.output.splitlines() if row.startswith("place+route"))
    assert line.split(None, 1)[1] == f"seed {timing['seed']}, --router {timing['router']}" + "".join(
        f" {o}" for o in timing["nextpnr_options"])


def test_info_detects_tampering(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img")
    (tmp_path / "img" / "qg_core.hwh").write_text("<evil/>")
    res = CliRunner().invoke(fw, ["info", str(path)])
    assert res.exit_code == 1
    assert "file-hash" in res.output


def test_info_without_manifest_is_usage_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(fw, ["info", str(tmp_path)])
    assert res.exit_code == 2


def test_verify_ok(tmp_path: Path) -> None:
    make_image(tmp_path / "img")
    res = CliRunner().invoke(fw, ["verify", str(tmp_path / "img"), *identity(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "OK" in res.output


def test_verify_wrong_model_regmap_and_tamper(tmp_path: Path) -> None:
    make_image(tmp_path / "img")
    (tmp_path / "img" / "qg_core.bit").write_bytes(b"x" * (256 * 64))
    res = CliRunner().invoke(fw, ["verify", "--json", str(tmp_path / "img"),
                                  *identity(tmp_path, model_hash="zzz", regmap="9")])
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["ok"] is False
    (image,) = data["images"].values()
    assert sorted(m["kind"] for m in image["mismatches"]) == ["file-hash", "model-hash", "regmap-version"]


def test_verify_needs_a_manifest(tmp_path: Path) -> None:
    res = CliRunner().invoke(fw, ["verify", str(tmp_path / "nothing"), *identity(tmp_path)])
    assert res.exit_code == 2


def test_help_has_examples() -> None:
    for verb in ("info", "verify"):
        res = CliRunner().invoke(fw, [verb, "--help"])
        assert res.exit_code == 0 and "Examples" in res.output
