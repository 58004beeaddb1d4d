"""Fill firmware/<board>/ after a build: copy the image and write manifest.json (control/firmware/manifest.py).

The build identity (git hash, regmap version, model hash) comes from the repository: git, firmware/regmap.yaml
and models/<name>/artifacts/metadata.json. The build date is $SOURCE_DATE_EPOCH when set (reproducible
builds), else the current UTC time.
"""
from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from control.firmware import manifest as mf
from control.firmware.manifest import git_identity
from hw.syn.boards import REPO, get_board
from hw.syn.open_flow import FlowReport, source_files

log = logging.getLogger(__name__)

REGMAP_YAML = REPO / "firmware" / "regmap.yaml"
DEFAULT_MODEL = "qg_mlp"


def model_metadata(model_name: str = DEFAULT_MODEL) -> Path:
    return REPO / "models" / model_name / "artifacts" / "metadata.json"


def build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def source_hashes(paths: list[Path], repo: Path = REPO) -> dict[str, str]:
    return {str(Path(p).resolve().relative_to(repo)): mf.sha256_file(Path(p)) for p in paths}


def package_open_flow(board_name: str, *, build_dir: Path, report: FlowReport,
                      model_name: str = DEFAULT_MODEL, dest: Path | None = None) -> Path:
    """Copy <build_dir>/qg_core.bit to firmware/<board>/ (or `dest`) and write its manifest.

    The model hash is the one the NN RTL was generated from (report.model_hash, read from
    nn_params.vh before synthesis), so `fw verify` catches RTL that is stale against the exported
    model; without NN RTL (smoke build) it is the exported model's metadata.json hash."""
    board = get_board(board_name)
    dest = Path(dest) if dest is not None else board.firmware_dir
    dest.mkdir(parents=True, exist_ok=True)
    bit = dest / board.bitstream
    shutil.copyfile(build_dir / "qg_core.bit", bit)
    git_hash, dirty = git_identity()
    model_hash = report.model_hash or mf.current_model_hash(model_metadata(model_name))
    if model_hash is None:
        log.warning("no model hash (no NN RTL, no %s): `fw verify` will refuse this image",
                    model_metadata(model_name))
    manifest = mf.build(
        board=board.name, design=report.design, files=[bit], model_name=model_name, model_hash=model_hash,
        regmap_version=mf.current_regmap_version(REGMAP_YAML), git_hash=git_hash, git_dirty=dirty,
        tools=report.tools,
        timing={"target_mhz": report.target_mhz, "fmax_mhz": report.fmax_mhz, "met": report.timing_met,
                "latency_cycles": report.latency_cycles, "latency_ns": report.latency_ns,
                "seed": report.seed, "seed_fmax_mhz": report.seed_fmax_mhz,
                "router": report.router, "nextpnr_options": report.nextpnr_options},
        utilization={"synth": report.utilization, "device": report.device_utilization},
        build_date=build_date(),
        sources=report.sources or source_hashes(source_files(smoke=report.design == "smoke", board=board)),
        flow=board.flow,
    )
    return mf.write(manifest, dest / mf.MANIFEST_NAME)


def load_report(build_dir: Path) -> FlowReport:
    """The FlowReport an open-flow build wrote to <build_dir>/report.json."""
    import json

    from hw.syn.open_flow import StepTime

    data = json.loads((Path(build_dir) / "report.json").read_text())
    data["steps"] = [StepTime(**s) for s in data.get("steps", [])]
    return FlowReport(**data)


def main() -> None:
    import sys

    import click

    @click.command(context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--board", "board_name", default="ecp5-85f", show_default=True)
    @click.option("--build-dir", type=click.Path(path_type=Path), default=None, help="Default build/<board>.")
    def cli(*, board_name: str, build_dir: Path | None) -> None:
        """Fill firmware/<board>/ (image + manifest.json) from a finished build in build/<board>/.

        \b
        Examples:
          python -m hw.syn.package --board ecp5-85f
          python -m hw.syn.package --board pynq-z2
        Exit codes: 0 written, 1 no finished build, 2 usage error.
        """
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        board = get_board(board_name)
        build_dir = build_dir or REPO / "build" / board.name
        try:
            if board.flow == "open":
                path = package_open_flow(board.name, build_dir=build_dir, report=load_report(build_dir))
            else:
                from hw.syn.vendor import package as package_vendor

                path = package_vendor(board, build_dir)
        except FileNotFoundError as exc:
            click.echo(f"error: no finished build for {board.name} ({exc.filename}); run `make bitstream`", err=True)
            sys.exit(1)
        click.echo(f"wrote {path}")

    cli()


if __name__ == "__main__":
    main()
