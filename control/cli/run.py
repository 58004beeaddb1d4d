"""`quoteguard run`: the appliance -- feed -> book -> backend -> quoting -> FIX (or --dry-run)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[2]
DEFAULT_STATUS = REPO / "build" / "quoteguard-status.json"
EXIT_FAILURE, EXIT_USAGE = 1, 2

log = logging.getLogger(__name__)


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def backend_options(f):
    """--backend, --model, --artifacts, --firmware: shared by run, regs and status."""
    f = click.option(
        "--firmware",
        type=click.Path(path_type=Path),
        default=None,
        help="fpga: bitstream (.bit with .hwh and manifest.json beside it).",
    )(f)
    f = click.option(
        "--artifacts",
        type=click.Path(path_type=Path),
        default=None,
        help="Model artifacts [default: models/<model>/artifacts].",
    )(f)
    f = click.option("--model", default="qg_mlp", show_default=True, help="Model name (models/<name>/).")(f)
    return f


def backend_config(model: str, artifacts: Path | None, firmware: Path | None, **kw):
    from control.backends.select import BackendConfig
    from models.config import ConfigError, load_config

    try:
        cfg = load_config(model)
    except ConfigError as e:
        fail(str(e), EXIT_USAGE)
    art = artifacts or REPO / "models" / model / "artifacts"
    return BackendConfig(artifacts=art, model=cfg, firmware=firmware, **kw)


def _show(raw: bytes) -> str:
    return raw.replace(b"\x01", b"|").decode()


@click.command("run")
@click.argument(
    "captures", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "fpga", "rtl", "cpu"]),
    default="auto",
    show_default=True,
    help="Inference backend; auto picks fpga > rtl > cpu by what is available.",
)
@backend_options
@click.option("--dry-run", is_flag=True, help="Print the FIX quotes (| for SOH) instead of sending them.")
@click.option("--fix-host", default="127.0.0.1", show_default=True, help="Venue FIX acceptor host.")
@click.option(
    "--fix-port", type=int, default=None, help="Venue FIX acceptor port (required unless --dry-run)."
)
@click.option("--sender-comp-id", default="QUOTEGUARD", show_default=True)
@click.option("--target-comp-id", default="VENUE", show_default=True)
@click.option(
    "--fix-store",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite FIX message store: sequence numbers survive restarts.",
)
@click.option(
    "--quoting-config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Quoting policy YAML [default: control/quoting/default.yaml].",
)
@click.option(
    "--audit",
    "audit_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the append-only Parquet audit log here.",
)
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus metrics on 127.0.0.1:PORT.")
@click.option(
    "--status-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATUS,
    show_default=True,
    help="Status JSON that `quoteguard status` reads.",
)
@click.option("--quiet", is_flag=True, help="Dry-run: do not print every quote, only the summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run(
    *,
    captures: tuple[Path, ...],
    backend: str,
    model: str,
    artifacts: Path | None,
    firmware: Path | None,
    dry_run: bool,
    fix_host: str,
    fix_port: int | None,
    sender_comp_id: str,
    target_comp_id: str,
    fix_store: Path | None,
    quoting_config: Path | None,
    audit_dir: Path | None,
    metrics_port: int | None,
    status_file: Path,
    quiet: bool,
    as_json: bool,
) -> None:
    """Run the appliance over recorded captures: decode, book, predict, quote, and send the quotes
    over FIX 4.4 (or print them with --dry-run).

    CAPTURES are recorded venue files of one instrument, replayed in order as one stream.

    \b
    Examples:
      quoteguard run --dry-run tests/data/binance/btcusdt_20240718.gz
      quoteguard run --backend cpu --audit build/audit --metrics-port 9108 --dry-run --quiet CAPTURE
      python -m control.fix.loopback venue --port 9878 &
      quoteguard run --fix-port 9878 tests/data/binance/btcusdt_20240718.gz
    \b
    Exit codes: 0 ok, 1 runtime failure (FIX logon, backend), 2 usage / missing tool / bad config.
    """
    if not dry_run and fix_port is None:
        fail("give --fix-port (the venue's FIX acceptor) or --dry-run", EXIT_USAGE)
    from control.appliance import (
        Appliance,
        ApplianceConfig,
        DryRunSink,
        QueueSink,
        head_lines,
        iter_lines,
    )
    from control.audit import AuditConfig, AuditError, AuditWriter
    from control.backends.base import BackendError
    from control.backends.select import open_backend
    from control.book.stream import FeedProcessor
    from control.drift import DriftMonitor, DriftReferenceError, load_config, load_reference
    from control.marketdata.errors import LoaderError
    from control.marketdata.source import sniff_binance
    from control.metrics import Metrics, MetricsConfig
    from control.quoting.config import QuotingConfigError
    from control.quoting.config import load_config as load_quoting
    from control.quoting.engine import QuotingEngine
    from models.reference import ModelArtifactError

    bcfg = backend_config(model, artifacts, firmware)
    try:
        inst = sniff_binance(head_lines(captures[0]), captures[0])
        qcfg = load_quoting(quoting_config)
        qcfg.instrument(inst.symbol)
    except (LoaderError, QuotingConfigError) as e:
        fail(str(e), EXIT_USAGE)
    metrics = Metrics()
    server = None
    if metrics_port is not None:
        server, _ = metrics.serve(MetricsConfig(port=metrics_port))
    meta = bcfg.artifacts / "metadata.json"
    audit = None
    try:
        if audit_dir is not None:
            from control.firmware.manifest import sha256_file

            fw_hash = sha256_file(firmware) if firmware is not None and firmware.is_file() else ""
            audit = AuditWriter(AuditConfig(audit_dir), json.loads(meta.read_text())["model_hash"], fw_hash)
        be = open_backend(backend, bcfg, metrics=metrics, audit=audit)
    except (BackendError, ModelArtifactError, AuditError, OSError, KeyError, ValueError) as e:
        code = (
            EXIT_USAGE
            if not isinstance(e, BackendError) or e.reason in ("unavailable", "identity")
            else EXIT_FAILURE
        )
        fail(str(e), code)
    try:
        drift = DriftMonitor(load_reference(meta), load_config(meta), metrics=metrics)
    except DriftReferenceError as e:
        log.warning("drift monitoring off: %s", e)
        drift = None
    echo = (lambda raw: click.echo(_show(raw))) if dry_run and not quiet and not as_json else None
    sink = DryRunSink(echo, sender=sender_comp_id, target=target_comp_id) if dry_run else QueueSink()
    status_file.parent.mkdir(parents=True, exist_ok=True)
    app = Appliance(
        ApplianceConfig(inst.symbol, status_path=status_file),
        FeedProcessor(inst, levels=10, source=str(captures[0])),
        be,
        QuotingEngine(qcfg),
        sink,
        metrics,
        audit=audit,
        drift=drift,
        feature_names=bcfg.model.features.names,
        output_names=bcfg.model.network.outputs,
    )
    show_bar = not as_json and echo is None and sys.stderr.isatty()
    total = sum(1 for _ in iter_lines(captures)) if show_bar else 0
    try:
        with click.progressbar(length=total, label="replaying", file=sys.stderr, hidden=not show_bar) as bar:
            if dry_run:
                app.run(iter_lines(captures), progress=bar.update)
            else:
                _run_fix(
                    app,
                    iter_lines(captures),
                    sink,
                    fix_host,
                    fix_port,
                    sender_comp_id,
                    target_comp_id,
                    fix_store,
                    bar.update,
                )
        status = app.status()
    finally:
        app.close()
        if server is not None:
            server.shutdown()
    _summary(status, as_json)


def _run_fix(
    app, lines, sink, host: str, port: int, sender: str, target: str, store_path: Path | None, progress=None
) -> None:
    from control.appliance import quote_events
    from control.fix.initiator import LogonFailed, QuoteStreamer
    from control.fix.quotes import QuoteWriter
    from control.fix.session import Role, Session, SessionConfig, SystemClock
    from control.fix.store import MemoryStore, SqliteStore
    from control.fix.transport import connect_tcp

    store = SqliteStore(store_path) if store_path is not None else MemoryStore()

    async def go() -> str:
        session = Session(SessionConfig(sender, target, Role.INITIATOR), store, SystemClock())
        try:
            transport = await connect_tcp(host, port)
        except OSError as e:
            fail(f"cannot connect to the FIX venue at {host}:{port}: {e}", EXIT_FAILURE)
        streamer = QuoteStreamer(session, QuoteWriter(prefix=f"QG{store.next_sender_seq()}"))
        return await streamer.run(transport, quote_events(app, lines, sink, progress))

    try:
        reason = asyncio.run(go())
        log.info("FIX session ended: %s", reason)
    except LogonFailed as e:
        fail(str(e), EXIT_FAILURE)
    finally:
        store.close()


def _summary(status: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(status, indent=1, default=str))
        return
    c = status["counters"]
    click.echo(
        f"{status['symbol']}: {c['lines']} lines, {c['records']} events, {c['quotes']} quotes, "
        f"{c['pulls']} pulls, {c['refused_records']} refused, {c['decode_errors']} undecodable "
        f"on backend {status['backend']} ({'healthy' if status['health']['ok'] else 'UNHEALTHY'})"
    )
    for f in status["failovers"]:
        click.echo(
            f"failover {f['from_backend']} -> {f['to_backend']} ({f['reason']}) at seq {f['at_seq']}, "
            f"{f['replayed']} records replayed, switch {f['switch_ns'] / 1e6:.2f} ms"
        )
    lat = status["latency_us"]
    if "total" in lat:
        t = lat["total"]
        click.echo(
            f"latency per event: p50 {t['p50']:.1f} µs, p99 {t['p99']:.1f} µs, p99.9 {t['p99.9']:.1f} µs"
        )
