"""The demo run: plan the backend, wire feed -> book -> backend -> quoting -> FIX 4.4 to our own venue on
127.0.0.1, replay the captures, and collect what every stage did.

Backend plan (`--backend`):
- auto: the card when one is here (whole stream, checked against the CPU); else the RTL in Icarus for the
  first `rtl_records` records, then the CPU reference; else the CPU reference, saying why.
- rtl:  the RTL slice is required (an error when the simulator or a matching RTL is missing).
- fpga: the card for the whole stream.  cpu: the CPU reference only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from control.appliance import (
    Appliance,
    ApplianceConfig,
    Counters,
    QueueSink,
    head_lines,
    iter_lines,
    quote_events,
)
from control.backends.base import Backend, BackendError
from control.demo.slice import SliceBackend
from control.demo.trace import DecisionTrace, PredictionTrace
from control.demo.venue import FixOutcome, stream_to_venue
from control.fix.interface import QuoteEvent
from control.metrics import LatencyWindow, Metrics

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = (REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz",)
DEFAULT_RTL_RECORDS = 64
BACKEND_CHOICES = ("auto", "fpga", "rtl", "cpu")
EXIT_FAILURE, EXIT_USAGE = 1, 2


class DemoError(Exception):
    """The demo cannot run or did not hold: `code` 2 for bad input or a missing tool, 1 for a failure."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DemoSettings:
    data: tuple[Path, ...] = DEFAULT_DATA
    backend: str = "auto"
    rtl_records: int = DEFAULT_RTL_RECORDS
    model: str = "qg_mlp"
    artifacts: Path | None = None  # default models/<model>/artifacts
    firmware: Path | None = None  # fpga image
    quoting_config: Path | None = None  # default control/quoting/default.yaml
    build_dir: Path = REPO / "build" / "demo"  # simulator build and socket


@dataclass(frozen=True)
class Plan:
    primary: str | None  # "fpga" | "rtl" | None (CPU only)
    slice_records: int | None  # records on the primary; None = the whole stream
    notes: tuple[str, ...] = ()


@dataclass
class DemoResult:
    settings: DemoSettings
    symbol: str
    tick_size: float
    plan: Plan
    counters: Counters
    predictions: PredictionTrace
    decisions: DecisionTrace
    latency_us: dict[str, dict[str, float]]  # per stage, the CPU path (after the hardware slice)
    slice_latency_us: dict[str, dict[str, float]]  # per stage, the records of the hardware slice
    latency_ns: dict[str, list[int]]  # raw samples of latency_us, for the histogram
    backend: SliceBackend
    fix: FixOutcome
    model_hash: str
    wall_s: float
    sim_clock_ns: float | None = None
    load_avg: tuple[float, float, float] = (0.0, 0.0, 0.0)  # at the start of the run

    @property
    def ok(self) -> bool:
        return self.backend.overlap.identical and self.fix.ok


def make_plan(settings: DemoSettings, probe: dict[str, str | None]) -> Plan:
    """Which backend serves which part of the stream, from what is available here (`select.probe`)."""
    b, n = settings.backend, settings.rtl_records
    if b not in BACKEND_CHOICES:
        raise DemoError(f"unknown backend {b!r}; choose from {', '.join(BACKEND_CHOICES)}", EXIT_USAGE)
    if n < 0:
        raise DemoError(f"--rtl-records must be >= 0, got {n}", EXIT_USAGE)
    if b == "cpu":
        return Plan(None, 0, ("CPU reference only (--backend cpu)",))
    if b == "fpga":
        if probe["fpga"] is not None:
            raise DemoError(f"backend fpga unavailable: {probe['fpga']}", EXIT_USAGE)
        return Plan("fpga", None)
    if b == "rtl":
        if n == 0:
            raise DemoError("--backend rtl needs --rtl-records > 0", EXIT_USAGE)
        if probe["rtl"] is not None:
            raise DemoError(f"backend rtl unavailable: {probe['rtl']}", EXIT_USAGE)
        return Plan("rtl", n)
    if probe["fpga"] is None:
        return Plan("fpga", None)
    if n == 0:
        return Plan(None, 0, ("RTL slice skipped (--rtl-records 0); CPU reference only",))
    if probe["rtl"] is not None:
        return Plan(None, 0, (f"RTL slice skipped: {probe['rtl']}; CPU reference only",))
    return Plan("rtl", n)


def _load(settings: DemoSettings):
    from control.backends.select import BackendConfig
    from control.marketdata.errors import LoaderError
    from control.marketdata.source import sniff_binance
    from control.quoting.config import QuotingConfigError
    from control.quoting.config import load_config as load_quoting
    from models.config import ConfigError, load_config
    from models.reference import ModelArtifactError, ReferenceModel

    if not settings.data:
        raise DemoError("no data files given", EXIT_USAGE)
    try:
        cfg = load_config(settings.model)
    except ConfigError as e:
        raise DemoError(str(e), EXIT_USAGE) from e
    artifacts = settings.artifacts or REPO / "models" / settings.model / "artifacts"
    try:
        model = ReferenceModel.load(artifacts)
    except (ModelArtifactError, OSError) as e:
        raise DemoError(f"model artifacts {artifacts}: {e}", EXIT_USAGE) from e
    try:
        inst = sniff_binance(head_lines(settings.data[0]), settings.data[0])
        qcfg = load_quoting(settings.quoting_config)
        qcfg.instrument(inst.symbol)
    except (LoaderError, QuotingConfigError, OSError) as e:
        raise DemoError(str(e), EXIT_USAGE) from e
    bcfg = BackendConfig(artifacts=artifacts, model=cfg, firmware=settings.firmware)
    return cfg, model, inst, qcfg, bcfg


def _open_primary(plan: Plan, settings: DemoSettings, bcfg) -> tuple[Backend | None, Plan, float | None]:
    """The hardware backend of the plan, started and identity-checked; in `auto`, a failure to start
    falls back to the CPU reference with the reason in the plan's notes."""
    from control.backends.select import open_backend
    from control.driver.sim_io import SimConfig

    if plan.primary is None:
        return None, plan, None
    sim = SimConfig(build_dir=settings.build_dir.resolve() / "sim")  # the simulator runs in another cwd
    cfg = replace(bcfg, failover=False, sim=sim, timeout_s=30.0 if plan.primary == "rtl" else bcfg.timeout_s)
    try:
        return open_backend(plan.primary, cfg), plan, sim.clock_ns if plan.primary == "rtl" else None
    except BackendError as e:
        if settings.backend != "auto":
            code = EXIT_USAGE if e.reason in ("unavailable", "identity") else EXIT_FAILURE
            raise DemoError(f"backend {plan.primary} did not start: {e}", code) from e
        log.info("auto: %s did not start: %s", plan.primary, e)
        first = str(e).splitlines()[0].rstrip(":")
        note = f"{'RTL slice' if plan.primary == 'rtl' else 'fpga'} skipped: {first}; CPU reference only"
        return None, Plan(None, 0, (*plan.notes, note)), None


def run_demo(
    settings: DemoSettings,
    *,
    on_phase: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> DemoResult:
    """Replay `settings.data` through the appliance and over FIX to our venue. Raises DemoError."""
    from control.backends.cpu import CpuBackend
    from control.backends.select import probe
    from control.book.stream import FeedProcessor
    from control.fix.initiator import LogonFailed
    from control.quoting.engine import QuotingEngine
    from models.streaming import StreamingFeatures

    say = on_phase or (lambda _msg: None)
    t_start = time.perf_counter()
    load_avg = os.getloadavg()
    cfg, model, inst, qcfg, bcfg = _load(settings)
    plan = make_plan(settings, probe(bcfg))
    if plan.primary == "rtl":
        say(f"starting the RTL (qg_core_top) in Icarus for the first {plan.slice_records} records ...")
    primary, plan, sim_clock_ns = _open_primary(plan, settings, bcfg)
    for note in plan.notes:
        say(note)
    predictions, decisions = PredictionTrace(), DecisionTrace()
    features = StreamingFeatures(cfg)
    model.warm_up()  # compile the single-event kernels now, not on the first live event
    features.warm_up()
    backend = SliceBackend(CpuBackend(model, features), primary, plan.slice_records, trace=predictions)
    app = Appliance(
        ApplianceConfig(inst.symbol),
        FeedProcessor(inst, levels=cfg.levels, source=str(settings.data[0])),
        backend,
        QuotingEngine(qcfg),
        QueueSink(),
        Metrics(),
        feature_names=cfg.features.names,
        output_names=cfg.network.outputs,
    )
    slice_window: list[LatencyWindow] = []

    def after_line(line_decisions: list) -> None:
        decisions.add(line_decisions)
        if plan.primary is not None and not backend.in_slice and not slice_window:
            # the slice is over: its stage times (simulator round trips) are kept apart
            slice_window.append(app.latency)
            app.latency = LatencyWindow()

    def events(lines: Iterable[bytes]) -> AsyncIterator[QuoteEvent]:
        return quote_events(app, lines, app.sink, progress, progress_every=500, on_line=after_line)

    def listening(host: str, port: int) -> None:
        say(f"venue acceptor (our FIX 4.4 acceptor in venue role) listening on {host}:{port}")

    try:
        fix = asyncio.run(stream_to_venue(events(iter_lines(settings.data)), on_listen=listening))
    except LogonFailed as e:
        raise DemoError(f"FIX logon to our venue failed: {e}", EXIT_FAILURE) from e
    except OSError as e:
        raise DemoError(f"FIX session to our venue failed: {e}", EXIT_FAILURE) from e
    finally:
        app.close()
    cpu_window = app.latency
    if plan.primary is not None and not slice_window:
        slice_window.append(cpu_window)  # the whole stream ran on the hardware
        cpu_window = LatencyWindow()
    return DemoResult(
        settings=settings,
        symbol=inst.symbol,
        tick_size=float(qcfg.instrument(inst.symbol).tick_size),
        plan=plan,
        counters=app.counters,
        predictions=predictions,
        decisions=decisions,
        latency_us=cpu_window.percentiles(),
        slice_latency_us=slice_window[0].percentiles() if slice_window else {},
        latency_ns=_samples(cpu_window),
        backend=backend,
        fix=fix,
        model_hash=model.model_hash,
        wall_s=time.perf_counter() - t_start,
        sim_clock_ns=sim_clock_ns,
        load_avg=load_avg,
    )


def _samples(window: LatencyWindow) -> dict[str, list[int]]:
    return {
        s: window.data[s][: min(window.count[s], window.size)].tolist()
        for s in window.stages
        if window.count[s]
    }
