"""Firmware manifests: `firmware/<board>/manifest.json` describes one image and how it was built.

The control plane calls `verify()` before it loads an image and refuses the image on any mismatch:
a file whose sha256 differs (tampered or partly copied bitstream), a model hash other than the one the
CPU fallback runs (models/<name>/artifacts/metadata.json), or a register-map version other than the
one the driver was generated from (firmware/regmap.yaml). The build (hw/syn/package.py) calls `build()`
and `write()`. No TensorFlow, no vendor tool, no board: plain json + hashlib.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]

SCHEMA = 1
MANIFEST_NAME = "manifest.json"
REQUIRED_KEYS = ("schema", "board", "design", "files", "model", "regmap", "git", "tools", "timing",
                 "utilization", "build_date")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def git_identity(repo: Path = REPO) -> tuple[str, bool]:
    """(commit hash, working tree dirty?) -- ("unknown", True) outside a git checkout."""
    try:
        return _git(repo, "rev-parse", "HEAD"), bool(_git(repo, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return "unknown", True


def git_hash32(repo: Path = REPO) -> int:
    """The core's GIT_HASH parameter (ID_GIT_HASH register): the first 32 bits of the commit, 0 outside
    a git checkout. Set by the bitstream builds and by the simulated card alike (no `git status`: the
    dirty flag is the manifest's business)."""
    try:
        head = _git(repo, "rev-parse", "HEAD")
    except (OSError, subprocess.CalledProcessError):
        return 0
    return int(head[:8], 16) if re.fullmatch(r"[0-9a-f]{8,}", head) else 0


class ManifestError(ValueError):
    """The manifest cannot be read or lacks a required field."""


@dataclass(frozen=True)
class Mismatch:
    """One reason to refuse an image. `kind` is one of: file-missing, file-hash, file-size,
    model-hash, regmap-version, timing-not-met (built with --allow-timing-fail), source-hash,
    source-missing."""

    kind: str
    subject: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}: manifest {self.expected}, found {self.actual}"

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "expected": self.expected, "actual": self.actual}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_entry(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "size": Path(path).stat().st_size}


def build(*, board: str, design: str, files: list[Path], model_name: str, model_hash: str | None,
          regmap_version: str | None, git_hash: str, git_dirty: bool, tools: dict[str, str],
          timing: dict[str, Any], utilization: dict[str, Any], build_date: str,
          sources: dict[str, str] | None = None, flow: str = "open") -> dict[str, Any]:
    """A manifest dict. `files` are the image files (they must sit next to the manifest; their hashes
    are taken now); `sources` maps repository paths of the build inputs to their sha256."""
    entries: dict[str, Any] = {}
    for path in sorted(files, key=lambda p: Path(p).name):
        entries[Path(path).name] = file_entry(Path(path))
    return {
        "schema": SCHEMA,
        "board": board,
        "design": design,
        "flow": flow,
        "files": entries,
        "model": {"name": model_name, "hash": model_hash},
        "regmap": {"version": regmap_version},
        "git": {"hash": git_hash, "dirty": git_dirty},
        "tools": dict(sorted(tools.items())),
        "timing": timing,
        "utilization": utilization,
        "build_date": build_date,
        "sources": dict(sorted((sources or {}).items())),
    }


def write(manifest: dict[str, Any], path: Path) -> Path:
    """Write `manifest` as stable, diff-friendly JSON (sorted keys, trailing newline)."""
    path = Path(path)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log.info("wrote %s", path)
    return path


def resolve(path: Path) -> Path:
    """The manifest for `path`: the manifest itself, an image file beside it, or a firmware folder."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    elif path.name != MANIFEST_NAME and path.suffix != ".json":
        path = path.parent / MANIFEST_NAME
    if not path.exists():
        raise ManifestError(f"{path}: no manifest")
    return path


def load(path: Path) -> dict[str, Any]:
    """Read and check the shape of a manifest (see `resolve` for what `path` may be)."""
    path = resolve(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: not a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ManifestError(f"{path}: missing {', '.join(missing)}")
    if data["schema"] != SCHEMA:
        raise ManifestError(f"{path}: schema {data['schema']!r}, this library reads {SCHEMA}")
    return data


def current_model_hash(metadata_json: Path) -> str | None:
    """`model_hash` of an exported model (models/<name>/artifacts/metadata.json), None if absent."""
    metadata_json = Path(metadata_json)
    if not metadata_json.exists():
        return None
    return json.loads(metadata_json.read_text()).get("model_hash")


def current_regmap_version(regmap_yaml: Path) -> str | None:
    """Version of firmware/regmap.yaml: top-level `version`, else `regmap: {version}`; None if absent."""
    regmap_yaml = Path(regmap_yaml)
    if not regmap_yaml.exists():
        return None
    data = yaml.safe_load(regmap_yaml.read_text()) or {}
    version = data.get("version")
    if version is None and isinstance(data.get("regmap"), dict):
        version = data["regmap"].get("version")
    return None if version is None else str(version)


def verify_files(manifest: dict[str, Any], folder: Path) -> list[Mismatch]:
    """Check every image file listed in the manifest against the files in `folder`."""
    out: list[Mismatch] = []
    for name, entry in sorted(manifest["files"].items()):
        path = Path(folder) / name
        if not path.exists():
            out.append(Mismatch("file-missing", name, entry["sha256"], "no file"))
            continue
        size = path.stat().st_size
        if size != entry.get("size", size):
            out.append(Mismatch("file-size", name, str(entry["size"]), str(size)))
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            out.append(Mismatch("file-hash", name, entry["sha256"], digest))
    return out


def verify_sources(manifest: dict[str, Any], repo: Path) -> list[Mismatch]:
    """Check the recorded build inputs against a source tree (a rebuild would differ where they do)."""
    out: list[Mismatch] = []
    for rel, digest in sorted(manifest.get("sources", {}).items()):
        path = Path(repo) / rel
        if not path.exists():
            out.append(Mismatch("source-missing", rel, digest, "no file"))
        elif (actual := sha256_file(path)) != digest:
            out.append(Mismatch("source-hash", rel, digest, actual))
    return out


def verify(path: Path, *, model_hash: str | None, regmap_version: str | None,
           repo: Path | None = None) -> list[Mismatch]:
    """Every reason to refuse the image described by `path` (empty list: the image is good).

    `model_hash` / `regmap_version` are what the host runs now (see current_model_hash /
    current_regmap_version); None means "unknown here", which is itself a mismatch: an image is never
    accepted against an unknown model or register map. With `repo`, the build inputs are checked too.
    """
    manifest_path = resolve(Path(path))
    manifest = load(manifest_path)
    out = verify_files(manifest, manifest_path.parent)
    want_model = manifest["model"].get("hash")
    if want_model is None or model_hash is None or want_model != model_hash:
        out.append(Mismatch("model-hash", manifest["model"].get("name", "?"), str(want_model), str(model_hash)))
    want_regmap = manifest["regmap"].get("version")
    if want_regmap is None or regmap_version is None or str(want_regmap) != str(regmap_version):
        out.append(Mismatch("regmap-version", "firmware/regmap.yaml", str(want_regmap), str(regmap_version)))
    timing = manifest.get("timing") or {}
    if timing.get("met") is False:
        out.append(Mismatch("timing-not-met", manifest["board"], f"{timing.get('target_mhz')} MHz",
                            f"{timing.get('fmax_mhz')} MHz"))
    if repo is not None:
        out.extend(verify_sources(manifest, repo))
    for m in out:
        log.info("firmware %s: %s", manifest_path, m)
    return out
