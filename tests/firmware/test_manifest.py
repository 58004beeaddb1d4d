"""control/firmware/manifest.py: build, load and the specific mismatches verify() reports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from control.firmware import manifest as mf


def make_image(folder: Path, *, model_hash: str | None = "abc123", regmap: str | None = "1",
               met: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    bit = folder / "qg_core.bit"
    bit.write_bytes(bytes(range(256)) * 64)
    hwh = folder / "qg_core.hwh"
    hwh.write_text("<hwh/>")
    manifest = mf.build(board="pynq-z2", design="qg_core", files=[bit, hwh], model_name="qg_mlp",
                        model_hash=model_hash, regmap_version=regmap, git_hash="0" * 40, git_dirty=False,
                        tools={"vivado": "2024.2"}, timing={"target_mhz": 100.0, "fmax_mhz": 123.0, "met": met},
                        utilization={"LUT": 10}, build_date="2026-01-01T00:00:00Z",
                        sources={"hw/boards.yaml": "00"}, flow="vivado")
    return mf.write(manifest, folder / "manifest.json")


def test_roundtrip_and_clean_verify(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img")
    data = mf.load(path)
    assert data["files"]["qg_core.bit"]["size"] == 256 * 64
    assert set(data["files"]) == {"qg_core.bit", "qg_core.hwh"}
    assert mf.verify(path, model_hash="abc123", regmap_version="1") == []
    # a bitstream path or the folder resolve to the same manifest
    assert mf.verify(tmp_path / "img" / "qg_core.bit", model_hash="abc123", regmap_version="1") == []
    assert mf.verify(tmp_path / "img", model_hash="abc123", regmap_version="1") == []


def test_manifest_is_stable_json(tmp_path: Path) -> None:
    a = make_image(tmp_path / "a").read_text()
    b = make_image(tmp_path / "b").read_text()
    assert a == b
    assert json.loads(a)["schema"] == mf.SCHEMA


def test_tampered_bitstream(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img")
    bit = tmp_path / "img" / "qg_core.bit"
    data = bytearray(bit.read_bytes())
    data[100] ^= 0x01
    bit.write_bytes(bytes(data))
    kinds = [(m.kind, m.subject) for m in mf.verify(path, model_hash="abc123", regmap_version="1")]
    assert kinds == [("file-hash", "qg_core.bit")]


def test_truncated_and_missing_files(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img")
    (tmp_path / "img" / "qg_core.bit").write_bytes(b"short")
    (tmp_path / "img" / "qg_core.hwh").unlink()
    kinds = sorted(m.kind for m in mf.verify(path, model_hash="abc123", regmap_version="1"))
    assert kinds == ["file-hash", "file-missing", "file-size"]


def test_wrong_model_and_regmap(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img")
    found = mf.verify(path, model_hash="other", regmap_version="2")
    assert [(m.kind, m.expected, m.actual) for m in found] == [("model-hash", "abc123", "other"),
                                                               ("regmap-version", "1", "2")]


@pytest.mark.parametrize("model_hash, regmap", [(None, "1"), ("abc123", None)])
def test_unknown_identity_is_refused(tmp_path: Path, model_hash: str | None, regmap: str | None) -> None:
    path = make_image(tmp_path / "img")
    assert len(mf.verify(path, model_hash=model_hash, regmap_version=regmap)) == 1
    unset = make_image(tmp_path / "unset", model_hash=None)
    assert [m.kind for m in mf.verify(unset, model_hash="abc123", regmap_version="1")] == ["model-hash"]


def test_sources_checked_against_a_tree(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img")
    tree = tmp_path / "tree" / "hw"
    tree.mkdir(parents=True)
    (tree / "boards.yaml").write_text("changed")
    found = mf.verify(path, model_hash="abc123", regmap_version="1", repo=tmp_path / "tree")
    assert [m.kind for m in found] == ["source-hash"]


def test_bad_manifests(tmp_path: Path) -> None:
    with pytest.raises(mf.ManifestError):
        mf.load(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(mf.ManifestError):
        mf.load(tmp_path / "manifest.json")
    (tmp_path / "manifest.json").write_text(json.dumps({"schema": 1}))
    with pytest.raises(mf.ManifestError, match="missing"):
        mf.load(tmp_path)


def test_current_identity_readers(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text(json.dumps({"model_hash": "feed"}))
    assert mf.current_model_hash(tmp_path / "metadata.json") == "feed"
    assert mf.current_model_hash(tmp_path / "absent.json") is None
    (tmp_path / "regmap.yaml").write_text("name: qg_core\nversion: 3\n")
    assert mf.current_regmap_version(tmp_path / "regmap.yaml") == "3"
    repo_regmap = Path(__file__).resolve().parents[2] / "firmware" / "regmap.yaml"
    if repo_regmap.exists():
        assert mf.current_regmap_version(repo_regmap) is not None


def test_timing_miss_is_refused(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img", met=False)
    assert [m.kind for m in mf.verify(path, model_hash="abc123", regmap_version="1")] == ["timing-not-met"]
