"""`quoteguard run`: the appliance -- feed -> book -> backend -> quoting -> FIX (or --dry-run)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import click

from control.cli.options import (
    EXIT_FAILURE,
    EXIT_USAGE,
    REPO,
    backend_config,
    backend_options,
    fail,
    quoting_config_option,
)

DEFAULT_STATUS = REPO / "build" / "quoteguard-status.json"

log = logging.getLogger(__name__)


def _show(raw: bytes) -> str:
    return raw.replace(b"\x01", b"|").decode()


@click.command("run")
@click.argument("captures", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--backend",
    type=click.Choice(["auto", "fpga", "rtl", "cpu"]),
    default="auto",
    show_default=True,
    help="Inference backend; auto picks fpga > rtl > cpu by what is available.",
)
@backend_options
@click.option(
    "--hw-timeout",
    type=float,
    default=2.0,
    show_default=True,
    help="fpga/rtl: seconds a batch may take before the watchdog fails over to cpu.",
)
@click.option(
    "--health-every",
    type=int,
    default=1,
    show_default=True,
    help="fpga/rtl: check error flags and counters after every N submits.",
)
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
@click.option("--live", is_flag=True, help="Live Binance WebSocket feed instead of CAPTURES.")
@click.option("--symbol", default="BTCUSDT", show_default=True, help="--live: instrument symbol.")
@click.option(
    "--market",
    type=click.Choice(["usdm", "spot"]),
    default="usdm",
    show_default=True,
    help="--live: Binance market.",
)
@click.option("--ws-url", default=None, help="--live: WebSocket base URL [default: Binance's].")
@click.option("--rest-url", default=None, help="--live: REST depth URL [default: Binance's].")
@click.option("--duration", type=float, default=None, help="--live: stop after this many seconds.")
@click.option("--max-messages", type=int, default=None, help="--live: stop after this many frames.")
@quoting_config_option
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
    hw_timeout: float,
    health_every: int,
    dry_run: bool,
    fix_host: str,
    fix_port: int | None,
    sender_comp_id: str,
    target_comp_id: str,
    fix_store: Path | None,
    live: bool,
    symbol: str,
    market: str,
    ws_url: str | None,
    rest_url: str | None,
    duration: float | None,
    max_messages: int | None,
    quoting_config: Path | None,
    audit_dir: Path | None,
    metrics_port: int | None,
    status_file: Path,
    quiet: bool,
    as_json: bool,
) -> None:
    """Run the appliance: decode, book, predict, quote, and send the quotes over FIX 4.4 (or print
    them with --dry-run), from recorded CAPTURES (one instrument, replayed in order as one stream) or
    from the live Binance feed (--live).

    \b
    Examples:
      quoteguard run --dry-run tests/data/binance/btcusdt_20240718.gz
      quoteguard run --backend cpu --audit build/audit --metrics-port 9108 --dry-run --quiet CAPTURE
      python -m control.fix.loopback venue --port 9878 &
      quoteguard run --fix-port 9878 tests/data/binance/btcusdt_20240718.gz
      quoteguard run --live --symbol BTCUSDT --duration 60 --dry-run
    \b
    Exit codes: 0 ok, 1 runtime failure (FIX logon, backend, feed), 2 usage / missing tool / bad config.
    """
    if not dry_run and fix_port is None:
        fail("give --fix-port (the venue's FIX acceptor) or --dry-run", EXIT_USAGE)
    if bool(captures) == live:
        fail("give CAPTURES to replay, or --live (not both)", EXIT_USAGE)
    from control.appliance import AsyncQueueSink, DryRunSink, QueueSink

    inst = _instrument(captures, live, market, symbol)
    echo = (lambda raw: click.echo(_show(raw))) if dry_run and not quiet and not as_json else None
    sink = (
        DryRunSink(echo, sender=sender_comp_id, target=target_comp_id)
        if dry_run
        else AsyncQueueSink()
        if live
        else QueueSink()
    )
    if hw_timeout <= 0 or health_every < 1:
        fail("--hw-timeout must be > 0 and --health-every >= 1", EXIT_USAGE)
    from control.backends.failover import WatchdogConfig

    metrics, server, app = _build(
        inst,
        sink,
        backend=backend,
        backend_kw={"timeout_s": hw_timeout, "watchdog": WatchdogConfig(health_every=health_every)},
        model=model,
        artifacts=artifacts,
        firmware=firmware,
        quoting_config=quoting_config,
        audit_dir=audit_dir,
        metrics_port=metrics_port,
        status_file=status_file,
        source=str(captures[0]) if captures else "live",
    )
    fix = None if dry_run else (fix_host, fix_port, sender_comp_id, target_comp_id, fix_store)
    try:
        if live:
            from control.marketdata.live import LiveConfig

            cfg = LiveConfig.for_instrument(inst, ws_base=ws_url, rest_url=rest_url)
            _run_live(app, cfg, sink, fix, duration, max_messages)
        else:
            _run_replay(
                app, captures, sink, fix, show_bar=not as_json and echo is None and sys.stderr.isatty()
            )
        status = app.status()
    finally:
        app.close()
        if server is not None:
            server.shutdown()
    _summary(status, as_json)


def _instrument(captures: tuple[Path, ...], live: bool, market: str, symbol: str):
    from control.appliance import head_lines
    from control.marketdata.errors import LoaderError
    from control.marketdata.instruments import DEFAULT_REGISTRY, UnknownInstrumentError
    from control.marketdata.source import sniff_binance

    try:
        if live:
            return DEFAULT_REGISTRY.get("binance", market, symbol)
        return sniff_binance(head_lines(captures[0]), captures[0])
    except (LoaderError, UnknownInstrumentError) as e:
        fail(str(e), EXIT_USAGE)


def _build(
    inst,
    sink,
    *,
    backend: str,
    model: str,
    artifacts: Path | None,
    firmware: Path | None,
    quoting_config: Path | None,
    audit_dir: Path | None,
    metrics_port: int | None,
    status_file: Path,
    source: str,
    backend_kw: dict,
):
    """The appliance for one instrument: backend (opened and identity-checked), quoting, audit, drift,
    metrics (served when asked). Exits with a message on anything the user must fix."""
    from control.appliance import Appliance, ApplianceConfig
    from control.audit import AuditConfig, AuditError, AuditWriter
    from control.backends.base import BackendError
    from control.backends.select import open_backend
    from control.book.stream import FeedProcessor
    from control.drift import DriftMonitor, DriftReferenceError, load_config, load_reference
    from control.metrics import Metrics, MetricsConfig
    from control.quoting.config import QuotingConfigError
    from control.quoting.config import load_config as load_quoting
    from control.quoting.engine import QuotingEngine
    from models.reference import ModelArtifactError

    bcfg = backend_config(model, artifacts, firmware, **backend_kw)
    try:
        qcfg = load_quoting(quoting_config)
        qcfg.instrument(inst.symbol)
    except QuotingConfigError as e:
        fail(str(e), EXIT_USAGE)
    metrics = Metrics()
    meta = bcfg.artifacts / "metadata.json"
    audit = None
    try:
        if audit_dir is not None:
            from control.firmware.manifest import sha256_file

            fw_hash = sha256_file(firmware) if firmware is not None and firmware.is_file() else ""
            audit = AuditWriter(AuditConfig(audit_dir), json.loads(meta.read_text())["model_hash"], fw_hash)
        be = open_backend(backend, bcfg, metrics=metrics, audit=audit)
    except (BackendError, ModelArtifactError, AuditError, OSError, KeyError, ValueError) as e:
        usage = not isinstance(e, BackendError) or e.reason in ("unavailable", "identity")
        fail(str(e), EXIT_USAGE if usage else EXIT_FAILURE)
    try:
        drift = DriftMonitor(load_reference(meta), load_config(meta), metrics=metrics)
    except DriftReferenceError as e:
        log.warning("drift monitoring off: %s", e)
        drift = None
    server = None
    if metrics_port is not None:
        try:
            server, _ = metrics.serve(MetricsConfig(port=metrics_port))
        except OSError as e:
            be.close()
            fail(f"cannot serve metrics on 127.0.0.1:{metrics_port}: {e}", EXIT_USAGE)
    status_file.parent.mkdir(parents=True, exist_ok=True)
    app = Appliance(
        ApplianceConfig(inst.symbol, status_path=status_file),
        FeedProcessor(inst, levels=10, source=source),
        be,
        QuotingEngine(qcfg),
        sink,
        metrics,
        audit=audit,
        drift=drift,
        feature_names=bcfg.model.features.names,
        output_names=bcfg.model.network.outputs,
    )
    return metrics, server, app


def _run_replay(app, captures: tuple[Path, ...], sink, fix, show_bar: bool) -> None:
    from control.appliance import iter_lines, quote_events

    total = sum(1 for _ in iter_lines(captures)) if show_bar else 0
    with click.progressbar(length=total, label="replaying", file=sys.stderr, hidden=not show_bar) as bar:
        if fix is None:
            app.run(iter_lines(captures), progress=bar.update)
        else:
            _with_fix(app, fix, lambda: quote_events(app, iter_lines(captures), sink, bar.update))


def _run_live(app, cfg, sink, fix, duration: float | None, max_messages: int | None) -> None:
    from control.marketdata.live import LiveFeed, LiveFeedError

    feed = LiveFeed(cfg, app.feed)

    async def consume() -> None:
        try:
            await feed.run(on_records=app.on_records, duration_s=duration, max_messages=max_messages)
        finally:
            app.flush()
            if fix is not None:
                sink.close()  # ends the FIX event stream

    try:
        if fix is None:
            asyncio.run(consume())
        else:
            _with_fix(app, fix, sink.events, background=consume)
    except LiveFeedError as e:
        fail(str(e), EXIT_FAILURE)


def _with_fix(app, fix, events, background=None) -> None:
    """Log on to the venue, stream `events()` as Quote/QuoteCancel messages, log out at the end;
    `background()` (the live feed) runs alongside in the same event loop. Fills update the position."""
    from control.appliance import FillHandler
    from control.fix.initiator import LogonFailed, QuoteStreamer
    from control.fix.quotes import QuoteWriter
    from control.fix.session import Role, Session, SessionConfig, SystemClock
    from control.fix.store import MemoryStore, SqliteStore
    from control.fix.transport import connect_tcp

    host, port, sender, target, store_path = fix
    store = SqliteStore(store_path) if store_path is not None else MemoryStore()

    async def go() -> str:
        session = Session(SessionConfig(sender, target, Role.INITIATOR), store, SystemClock())
        try:
            transport = await connect_tcp(host, port)
        except OSError as e:
            fail(f"cannot connect to the FIX venue at {host}:{port}: {e}", EXIT_FAILURE)
        task = asyncio.create_task(background()) if background is not None else None
        try:
            streamer = QuoteStreamer(
                session, QuoteWriter(prefix=f"QG{store.next_sender_seq()}"), FillHandler(app)
            )
            reason = await streamer.run(transport, events())
        finally:
            if task is not None:
                if not task.done():
                    task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return reason

    try:
        log.info("FIX session ended: %s", asyncio.run(go()))
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
