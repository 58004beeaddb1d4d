"""`quoteguard model train|evaluate|export`: the quantized model from real data to artifacts.

train     -> build/models/<name>/ (QAT model, float twin, training log)
evaluate  -> build/models/<name>/report/ (report.txt, metrics.json, PNG plots); exit 1 if the
             quantized model misses its targets (beat every baseline, <= 2 points below float)
export    -> models/<name>/artifacts/ (model.json, weights.h5, weights_int.npz, metadata.json,
             golden.npz), verified bit-exact against QKeras before it is written

TensorFlow is imported inside the verbs only. Loading market data uses control's loaders here, since
models/ never imports control/.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import numpy as np

from control.cli.options import columns_table
from models.config import ConfigError, ModelConfig, load_config

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data"


def build_dir(cfg: ModelConfig) -> Path:
    suffix = "" if cfg.network.kind == cfg.raw["network"]["kind"] else f"-{cfg.network.kind}"
    return REPO / "build" / "models" / f"{cfg.name}{suffix}"


def load_training_streams(cfg: ModelConfig, data_root: Path, echo=None, audit_dirs: tuple[Path, ...] = (),
                          audit_split: tuple[float, float] = (0.7, 0.85)) -> list:
    """Every configured source, loaded with control's loaders and chained into streams, as
    models.dataset.StreamData (features, labels, split); then each stream of each audit log (the
    appliance's own Parquet record log: the feedback loop). An audit log is the newest data, so it is
    split in time order too: the first `audit_split[0]` of its records train, up to `audit_split[1]`
    validate, the rest test."""
    from control.book.replay import load_records
    from control.marketdata.lobster import load_lobster_stream
    from models.dataset import prepare_stream, split_codes, stream_groups

    streams = []
    for group in stream_groups(cfg.training.sources):
        paths = [data_root / s.path for s in group]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"data files not found: {', '.join(missing)} (--data-dir?)")
        t0 = time.perf_counter()
        if group[0].kind == "lobster":
            recs, st = load_lobster_stream(paths, levels=cfg.levels)
        else:
            recs, st = load_records(paths, levels=cfg.levels)
        counts = [f.records for f in st.per_file] if st.per_file else [len(recs)]
        codes = split_codes(recs, group, counts)
        name = " + ".join(Path(s.path).name for s in group)
        sd = prepare_stream(name, recs, codes, cfg)
        streams.append(sd)
        if echo:
            echo(f"loaded {name}: {len(recs)} records in {time.perf_counter() - t0:.1f} s")
    for directory in audit_dirs:
        streams.extend(_audit_streams(cfg, directory, audit_split, echo))
    return streams


def _audit_streams(cfg: ModelConfig, directory: Path, audit_split: tuple[float, float], echo) -> list:
    from control.audit import read_records, streams
    from models.dataset import SPLIT_CODE, prepare_stream

    out = []
    for stream in streams(directory):  # features are per stream: never train on the interleaved log
        recs = read_records(directory, stream=stream)
        if recs.dtype["bid_px"].shape[0] < cfg.levels:
            raise ValueError(f"audit log {directory} stream {stream}: {recs.dtype['bid_px'].shape[0]} levels, "
                             f"the model needs {cfg.levels}")
        n = len(recs)
        codes = np.full(n, SPLIT_CODE["test"], dtype=np.int8)
        codes[: int(n * audit_split[1])] = SPLIT_CODE["val"]
        codes[: int(n * audit_split[0])] = SPLIT_CODE["train"]
        out.append(prepare_stream(f"audit {directory.name}/{stream}", recs, codes, cfg))
        if echo:
            echo(f"loaded audit {directory}/{stream}: {n} records")
    return out


def sizes_table(sizes: dict[str, dict[str, int]]) -> str:
    rows = [(name, d["records"], d["invalid"], d["train"], d["val"], d["test"]) for name, d in sizes.items()]
    tot = tuple(sum(r[i] for r in rows) for i in range(1, 6))
    rows.append(("total", *tot))
    return columns_table(rows, ("stream", "records", "invalid", "train", "val", "test"))


def metrics_table(metrics: dict[str, Any], split: str) -> str:
    rows = []
    for name, m in metrics[split]["models"].items():
        d, w = m["direction"], m["withdraw"]
        pc = d["per_class"]
        rows.append((name, f"{d['macro_f1']:.3f}",
                     *(f"{pc[c]['precision']:.2f}/{pc[c]['recall']:.2f}" for c in ("none", "up", "down")),
                     f"{w['macro_f1']:.3f}",
                     f"{w['per_class']['withdraw']['precision']:.2f}/{w['per_class']['withdraw']['recall']:.2f}"))
    return columns_table(rows, ("model", "macro-F1", "none P/R", "up P/R", "down P/R", "wd macro-F1", "withdraw P/R"))


def _config_option(f):
    return click.option("--config", "config", default="qg_mlp", show_default=True,
                        help="Model name (models/<name>/config.yaml) or a config file path.")(f)


def _data_option(f):
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATA,
                        show_default=True, help="Root of the recorded market data.")(f)


def _work_option(f):
    return click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Where trained models and the report go (default build/models/<name>).")(f)


def _kind_option(f):
    return click.option("--network", "network", type=click.Choice(["mlp", "conv1d"]), default=None,
                        help="Override network.kind (conv1d: QConv1D over the last network.window "
                             "feature vectors); default work dir build/models/<name>-<kind>.")(f)


def _json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")(f)


def _load(config: str, network: str | None = None) -> ModelConfig:
    try:
        cfg = load_config(config)
    except ConfigError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    return cfg if network is None else replace(cfg, network=replace(cfg.network, kind=network))


def _audit_option(f):
    return click.option("--audit", "audit_dirs", multiple=True,
                        type=click.Path(exists=True, file_okay=False, path_type=Path),
                        help="Also learn from an appliance audit log (quoteguard run --audit DIR); "
                             "repeatable; split in time order 70/15/15 like the other data.")(f)


def _streams_or_exit(cfg: ModelConfig, data_dir: Path, quiet: bool, audit_dirs: tuple[Path, ...] = ()) -> list:
    try:
        return load_training_streams(cfg, data_dir, echo=None if quiet else lambda m: click.echo(m, err=True),
                                     audit_dirs=audit_dirs)
    except (FileNotFoundError, ValueError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_USAGE)


def _trained_or_exit(work: Path):
    from models.export import load_trained

    try:
        return load_trained(work)
    except FileNotFoundError as e:
        click.echo(f"error: {e} (run `quoteguard model train` first)", err=True)
        sys.exit(EXIT_USAGE)


@click.group()
def model() -> None:
    """Train, evaluate and export the quantized quote-stability model."""


@model.command()
@_config_option
@_data_option
@_audit_option
@_work_option
@_kind_option
@click.option("--epochs", type=click.IntRange(1, 1000), default=None, help="Override training.epochs.")
@_json_option
def train(*, config: str, data_dir: Path, audit_dirs: tuple[Path, ...], work_dir: Path | None, network: str | None, epochs: int | None,
          as_json: bool) -> None:
    """Train the quantized model (QAT + pruning) and its float twin on the time-ordered training
    part of the real data; save both under build/models/<name>/.

    \b
    Examples:
      quoteguard model train
      quoteguard model train --epochs 2 --json
      quoteguard model train --network conv1d
      quoteguard model train --audit audit/2026-11-26   # feedback: learn from the appliance's log
      quoteguard model train --config models/qg_mlp/config.yaml --data-dir ../shared/data
    """
    from models.dataset import part, sizes

    cfg = _load(config, network)
    streams = _streams_or_exit(cfg, data_dir, as_json, audit_dirs)
    from models.export import save_trained  # TensorFlow: only once the data are known to load
    from models.train import train as run_train

    tr = part(streams, "train", cfg.network.window if cfg.network.kind == "conv1d" else 1)
    t0 = time.perf_counter()
    res = run_train(cfg, tr, epochs=epochs, progress=None if as_json else lambda m: click.echo(m, err=True))
    out = save_trained(work_dir or build_dir(cfg), res, sizes(streams), {s.name: s.labels.balance() for s in streams})
    summary = {"model": cfg.name, "train_records": len(tr), "seconds": round(time.perf_counter() - t0, 1),
               "sparsity": res.sparsity, "class_weights": res.class_weights, "out": str(out),
               "sizes": sizes(streams), "label_balance": {s.name: s.labels.balance() for s in streams}}
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    click.echo(sizes_table(summary["sizes"]))
    click.echo("")
    click.echo(columns_table([(n, b.get("labelled", 0), *(f"{b.get(k, 0):.1%}" for k in ("none", "up", "down", "withdraw")))
                       for n, b in summary["label_balance"].items()],
                      ("stream", "labelled", "none", "up", "down", "withdraw")))
    click.echo(f"\ntrained on {len(tr)} records in {summary['seconds']} s; kernel sparsity "
               + ", ".join(f"{k} {v:.0%}" for k, v in res.sparsity.items()) + f"; saved to {out}")


@model.command()
@_config_option
@_data_option
@_audit_option
@_work_option
@_kind_option
@_json_option
def evaluate(*, config: str, data_dir: Path, audit_dirs: tuple[Path, ...], work_dir: Path | None, network: str | None, as_json: bool) -> None:
    """Score the trained quantized model, its float twin and the baselines on the later data
    (validation and test parts); write report.txt, metrics.json and PNG plots.

    Exit 1 when the quantized model does not beat every baseline's macro-F1 on the test part or
    loses more than 2 points against its float twin.

    \b
    Examples:
      quoteguard model evaluate
      quoteguard model evaluate --json
      quoteguard model evaluate --network conv1d
    """
    cfg = _load(config, network)
    work = work_dir or build_dir(cfg)
    from models.dataset import sizes
    from models.evaluate import evaluate as run_eval  # TensorFlow: only once the config is known good
    from models.export import write_report

    qmodel, fmodel, _ = _trained_or_exit(work)
    streams = _streams_or_exit(cfg, data_dir, as_json, audit_dirs)
    rdir = work / "report"
    metrics = run_eval(cfg, streams, qmodel, fmodel, rdir)
    metrics["sizes"] = sizes(streams)
    text = render_report(cfg, metrics)
    write_report(rdir, metrics, text)
    if as_json:
        click.echo(json.dumps(metrics, indent=1))
    else:
        click.echo(text)
        click.echo(f"report, metrics and plots in {rdir}")
    sys.exit(EXIT_OK if metrics["passed"] else EXIT_FAIL)


def render_report(cfg: ModelConfig, metrics: dict[str, Any]) -> str:
    lines = [f"model {cfg.name}: evaluation on later data (time-ordered split)", "",
             "dataset (usable = labelled, window inside its split part):", sizes_table(metrics["sizes"]), ""]
    for split in ("val", "test"):
        lines += [f"{split} ({metrics[split]['records']} records):", metrics_table(metrics, split), ""]
        by = metrics[split].get("by_stream", {})
        if by:
            names = list(next(iter(by.values())).keys())[1:]
            lines += [f"{split} macro-F1 by stream (direction / withdraw):", columns_table(
                [(s, d["records"], *(f"{d[n]['direction_macro_f1']:.3f}/{d[n]['withdraw_macro_f1']:.3f}"
                                     for n in names)) for s, d in by.items()],
                ("stream", "records", *names)), ""]
    lines.append("baselines: " + "; ".join(f"{k}: {v}" for k, v in metrics["baselines"].items()))
    lines.append("")
    for task, c in metrics["checks"].items():
        lines.append(f"{task}: quantized {c['quantized_macro_f1']:.3f} vs best baseline "
                     f"{c['best_baseline_macro_f1']:.3f} ({'beats' if c['beats_baselines'] else 'DOES NOT beat'}),"
                     f" float {c['float_macro_f1']:.3f} ({'within' if c['within_2pt_of_float'] else 'MORE than'}"
                     " 2 points)")
    if "by_horizon_test" in metrics:
        lines += ["", "precision/recall by label horizon (test):", columns_table(
            [(r["horizon_events"], r["horizon_ms"], f"{r['up_precision']:.2f}/{r['up_recall']:.2f}",
              f"{r['down_precision']:.2f}/{r['down_recall']:.2f}",
              f"{r['withdraw_precision']:.2f}/{r['withdraw_recall']:.2f}") for r in metrics["by_horizon_test"]],
            ("events", "ms", "up P/R", "down P/R", "withdraw P/R"))]
    lines += ["", f"overall: {'PASS' if metrics['passed'] else 'FAIL'}",
              "note: one trading day of LOBSTER AMZN and ~16 minutes of Binance perpetuals; small data."]
    return "\n".join(lines)


@model.command()
@_config_option
@_data_option
@_audit_option
@_work_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Artifacts directory (default models/<name>/artifacts).")
@_json_option
def export(*, config: str, data_dir: Path, audit_dirs: tuple[Path, ...], work_dir: Path | None, out_dir: Path | None, as_json: bool) -> None:
    """Export the trained model: QKeras model.json + weights.h5, integer weights, metadata (model
    hash, formats, labels, dataset sizes, drift histograms, metrics) and golden vectors from real
    records. Verifies the integer reference against QKeras predict on the golden vectors and on every
    validation and test record before writing; exit 1 on any difference.

    \b
    Examples:
      quoteguard model export
      quoteguard model export --out build/artifacts --json
    """
    cfg = _load(config)
    work = work_dir or build_dir(cfg)
    from models.export import ExportMismatch, StaleMetrics, export_artifacts  # TensorFlow: after usage checks

    qmodel, _, train_info = _trained_or_exit(work)
    mpath = work / "report" / "metrics.json"
    if not mpath.is_file():
        click.echo(f"error: {mpath} missing (run `quoteguard model evaluate` first)", err=True)
        sys.exit(EXIT_USAGE)
    metrics = json.loads(mpath.read_text())
    streams = _streams_or_exit(cfg, data_dir, as_json, audit_dirs)
    dest = out_dir or (cfg.path.parent / "artifacts")
    try:
        meta = export_artifacts(cfg, qmodel, streams, metrics, train_info, dest)
    except StaleMetrics as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    except ExportMismatch as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_FAIL)
    summary = {"out": str(dest), "model_hash": meta["model_hash"], "verified_records": meta["verified_records"],
               "golden_records": meta["golden"]["records"],
               "files": sorted(p.name for p in dest.iterdir())}
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo(columns_table([(k, v if not isinstance(v, list) else ", ".join(v)) for k, v in summary.items()],
                          ("item", "value")))
