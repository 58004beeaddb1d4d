"""`quoteguard fw`: inspect and verify firmware images (firmware/<board>/manifest.json)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from control.cli.options import REPO, fail, kv_table
from control.firmware import manifest as mf

DEFAULT_REGMAP = REPO / "firmware" / "regmap.yaml"


def _metadata_path(model: str) -> Path:
    return REPO / "models" / model / "artifacts" / "metadata.json"


def _summary_rows(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    timing = manifest.get("timing", {})
    util = manifest.get("utilization", {}).get("synth", manifest.get("utilization", {}))
    rows = [
        ("board", f"{manifest['board']} ({manifest.get('flow', '?')} flow, design {manifest['design']})"),
        ("model", f"{manifest['model'].get('name')} {manifest['model'].get('hash')}"),
        ("regmap version", str(manifest["regmap"].get("version"))),
        ("git", f"{manifest['git'].get('hash')}{' (dirty)' if manifest['git'].get('dirty') else ''}"),
        ("build date", str(manifest["build_date"])),
    ]
    if timing:
        met = "met" if timing.get("met") else "MISSED"
        rows.append(("Fmax", f"{timing.get('fmax_mhz')} MHz (target {timing.get('target_mhz')} MHz, {met})"))
        if timing.get("latency_ns") is not None:
            rows.append(("latency", f"{timing.get('latency_cycles')} cycles = {timing.get('latency_ns')} ns"))
        if timing.get("seed") is not None:     # open flow: what reproduces the placement
            how = [f"seed {timing['seed']}"] + ([f"--router {timing['router']}"] if timing.get("router") else [])
            rows.append(("place+route", ", ".join(how) + "".join(f" {o}" for o in timing.get("nextpnr_options", []))))
    if isinstance(util, dict) and util:
        rows.append(("utilization", ", ".join(f"{k} {v}" for k, v in util.items() if not isinstance(v, dict))))
    for tool, version in manifest.get("tools", {}).items():
        rows.append((f"tool {tool}", str(version)))
    return rows


@click.group()
def fw() -> None:
    """Inspect, verify and load firmware images.

    \b
    Examples:
      quoteguard fw info firmware/ecp5-85f/manifest.json
      quoteguard fw verify --board ecp5-85f
    """


@fw.command("info")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest and the file check as JSON.")
def info(*, file: Path, as_json: bool) -> None:
    """Print the manifest of FILE (a manifest.json, an image beside one, or a firmware folder) and check
    the sha256 of every image file it lists.

    \b
    Examples:
      quoteguard fw info firmware/ecp5-85f/manifest.json
      quoteguard fw info firmware/ecp5-85f/qg_core.bit --json
    Exit codes: 0 files match, 1 a file is missing or its hash differs, 2 no readable manifest.
    """
    try:
        path = mf.resolve(file)
        manifest = mf.load(path)
    except mf.ManifestError as exc:
        fail(str(exc), 2)
    problems = mf.verify_files(manifest, path.parent)
    if as_json:
        click.echo(json.dumps({"manifest": manifest, "path": str(path),
                               "file_mismatches": [m.to_dict() for m in problems]}, indent=2, sort_keys=True))
    else:
        click.echo(kv_table(_summary_rows(manifest)))
        click.echo("")
        bad = {m.subject: m for m in problems}
        rows = [(name, f"{entry['sha256'][:16]}  {entry.get('size', '?'):>9}  "
                       f"{'ok' if name not in bad else bad[name].kind}")
                for name, entry in sorted(manifest["files"].items())]
        click.echo(kv_table([("file", "sha256            size       check"), *rows]))
    if problems:
        for m in problems:
            click.echo(f"MISMATCH {m}", err=True)
        sys.exit(1)


@fw.command("verify")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--board", default=None,
              help="Verify firmware/<board>/manifest.json (default: every firmware/*/manifest.json).")
@click.option("--model", default="qg_mlp", show_default=True, help="Model whose metadata.json holds the hash.")
@click.option("--model-metadata", type=click.Path(path_type=Path), default=None,
              help="metadata.json to compare against (default models/<model>/artifacts/metadata.json).")
@click.option("--regmap", type=click.Path(path_type=Path), default=DEFAULT_REGMAP, show_default=True,
              help="Register map whose version the image must carry.")
@click.option("--sources/--no-sources", default=False, show_default=True,
              help="Also compare the recorded build inputs with this checkout.")
@click.option("--json", "as_json", is_flag=True, help="Print the mismatches as JSON.")
def verify(*, file: Path | None, board: str | None, model: str, model_metadata: Path | None, regmap: Path,
           sources: bool, as_json: bool) -> None:
    """Refuse an image that does not match this host: image file hashes, model hash (vs the model's
    metadata.json) and register-map version (vs firmware/regmap.yaml). Without FILE or --board,
    every firmware/*/manifest.json of this checkout is verified.

    \b
    Examples:
      quoteguard fw verify
      quoteguard fw verify --board ecp5-85f
      quoteguard fw verify firmware/pynq-z2/manifest.json --json
      quoteguard fw verify firmware/ecp5-85f --sources
    Exit codes: 0 image accepted, 1 any mismatch, 2 usage error or no readable manifest.
    """
    if file is not None:
        targets = [file]
    elif board is not None:
        targets = [REPO / "firmware" / board]
    else:
        targets = sorted(p.parent for p in (REPO / "firmware").glob(f"*/{mf.MANIFEST_NAME}"))
        if not targets:
            fail("no firmware/*/manifest.json in this checkout; give FILE or --board", 2)
    metadata = model_metadata if model_metadata is not None else _metadata_path(model)
    want_model = mf.current_model_hash(metadata)
    want_regmap = mf.current_regmap_version(regmap)
    results: dict[str, list[mf.Mismatch]] = {}
    for target in targets:
        try:
            path = mf.resolve(target)
            mf.load(path)
        except mf.ManifestError as exc:
            fail(str(exc), 2)
        results[str(path)] = mf.verify(path, model_hash=want_model, regmap_version=want_regmap,
                                       repo=REPO if sources else None)
    problems = [m for found in results.values() for m in found]
    if as_json:
        click.echo(json.dumps({"ok": not problems,
                               "images": {p: {"ok": not found, "mismatches": [m.to_dict() for m in found]}
                                          for p, found in results.items()}}, indent=2, sort_keys=True))
    else:
        for path, found in results.items():
            if not found:
                click.echo(f"{path}: OK (files, model hash, regmap version)")
                continue
            click.echo(f"{path}: REFUSED")
            click.echo(kv_table([("kind", "subject / manifest / found"),
                               *[(m.kind, f"{m.subject} / {m.expected} / {m.actual}") for m in found]]))
    sys.exit(1 if problems else 0)


@fw.command("load")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", default="qg_mlp", show_default=True, help="Model whose metadata.json holds the hash.")
@click.option("--json", "as_json", is_flag=True, help="Print the card's identity as JSON.")
def load(*, image: Path, model: str, as_json: bool) -> None:
    """Load a firmware image onto the board through pynq. The manifest beside the image is verified
    first (file hashes, model hash, regmap version): a mismatch refuses the image before the board is
    touched. After the download the card's ID, regmap version and model hash registers are checked.

    \b
    Examples:
      quoteguard fw load firmware/pynq-z2/qg_core.bit
      quoteguard fw load firmware/pynq-z2/qg_core.bit --json
    Exit codes: 0 loaded and identified, 1 refused or wrong identity, 2 usage error or no pynq here.
    """
    from control.backends.base import BackendError, BackendUnavailable
    from control.backends.select import FirmwareRejected, load_fpga_image

    want_model = mf.current_model_hash(_metadata_path(model))
    if want_model is None:
        fail(f"no model metadata at {_metadata_path(model)} (quoteguard model export)", 2)
    try:
        ident = load_fpga_image(image, want_model)
    except FirmwareRejected as exc:
        fail(str(exc), 1)
    except BackendUnavailable as exc:
        fail(str(exc), 2)
    except BackendError as exc:
        fail(str(exc), 1)
    info = ident.as_dict()
    click.echo(json.dumps(info, indent=2) if as_json else kv_table([(k, str(v)) for k, v in info.items()]))
