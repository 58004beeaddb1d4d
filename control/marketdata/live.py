"""Live Binance market data over WebSocket (`websockets`), with reconnect and re-snapshot.

After the socket everything goes through the same FeedProcessor as replay: each frame is stamped
with its receive time and handed to `process(frame, recv_ns)`. Whenever the book needs a snapshot (at
start, after a gap, after a reconnect) the REST depth snapshot is fetched concurrently while the diffs
keep buffering; the processor aligns it exactly as it aligns a recorded snapshot line.
"""
from __future__ import annotations

import asyncio
import logging
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import websockets

from control.book.counters import ReplayStats
from control.book.stream import FeedProcessor
from control.marketdata.instruments import Instrument

log = logging.getLogger(__name__)

_WS = {"usdm": "wss://fstream.binance.com/stream", "spot": "wss://stream.binance.com:9443/stream"}
_REST = {"usdm": "https://fapi.binance.com/fapi/v1/depth", "spot": "https://api.binance.com/api/v3/depth"}
_DEPTH = {"usdm": "depth@0ms", "spot": "depth@100ms"}


class LiveFeedError(RuntimeError):
    """The live feed cannot continue (e.g. reconnect budget exhausted)."""


@dataclass(frozen=True)
class LiveConfig:
    ws_url: str
    rest_url: str
    reconnect_delay_s: float = 1.0        # first back-off; doubles up to max_reconnect_delay_s
    max_reconnect_delay_s: float = 30.0
    max_reconnects: int = 100
    snapshot_retry_s: float = 2.0         # minimum spacing of snapshot requests
    open_timeout_s: float = 10.0
    http_timeout_s: float = 10.0

    @classmethod
    def for_instrument(cls, inst: Instrument, *, ws_base: str | None = None, rest_url: str | None = None,
                       **kw: float) -> LiveConfig:
        """Binance's public endpoints for `inst` (combined depth + bookTicker + trade streams)."""
        sym = inst.symbol.lower()
        streams = "/".join(f"{sym}@{s}" for s in (_DEPTH[inst.market], "bookTicker", "trade"))
        ws = f"{ws_base or _WS[inst.market]}?streams={streams}"
        rest = f"{rest_url or _REST[inst.market]}?symbol={inst.symbol}&limit=1000"
        return cls(ws_url=ws, rest_url=rest, **kw)  # type: ignore[arg-type]


def _http_get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (configured URL)
        return resp.read()


class LiveFeed:
    """Runs one instrument's combined stream into a FeedProcessor until stopped."""

    def __init__(self, config: LiveConfig, processor: FeedProcessor) -> None:
        self.config = config
        self.proc = processor
        self.reconnects = 0
        self.snapshot_requests = 0
        self.snapshot_failures = 0
        self._last_snapshot_t = -1e9
        self._snapshot_task: asyncio.Task | None = None
        self._on_records: Callable[[np.ndarray], None] | None = None

    @property
    def stats(self) -> ReplayStats:
        return self.proc.stats

    async def run(self, on_records: Callable[[np.ndarray], None] | None = None, *,
                  stop: asyncio.Event | None = None, max_messages: int | None = None,
                  duration_s: float | None = None) -> ReplayStats:
        """Receive until `stop` is set, `max_messages` frames arrived or `duration_s` passed."""
        cfg = self.config
        self._on_records = on_records
        deadline = time.monotonic() + duration_s if duration_s else None
        delay = cfg.reconnect_delay_s
        try:
            while not self._done(stop, max_messages, deadline):
                try:
                    async with websockets.connect(cfg.ws_url, open_timeout=cfg.open_timeout_s,
                                                  max_size=None) as ws:
                        log.info("connected to %s", cfg.ws_url)
                        delay = cfg.reconnect_delay_s
                        await self._pump(ws, on_records, stop, max_messages, deadline)
                        if self._done(stop, max_messages, deadline):
                            break
                except (TimeoutError, OSError, websockets.exceptions.WebSocketException) as exc:
                    log.warning("connection to %s lost: %s", cfg.ws_url, exc)
                # Anything missed while disconnected breaks the diff chain: re-sync from a snapshot.
                self.proc.book.lose_sync("reconnect")
                self.reconnects += 1
                if self.reconnects > cfg.max_reconnects:
                    raise LiveFeedError(f"gave up after {cfg.max_reconnects} reconnects to {cfg.ws_url}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, cfg.max_reconnect_delay_s)
        finally:
            if self._snapshot_task is not None:
                self._snapshot_task.cancel()
        return self.stats

    def _done(self, stop: asyncio.Event | None, max_messages: int | None, deadline: float | None) -> bool:
        return bool((stop is not None and stop.is_set())
                    or (max_messages is not None and self.stats.messages >= max_messages)
                    or (deadline is not None and time.monotonic() >= deadline))

    async def _pump(self, ws, on_records, stop, max_messages, deadline) -> None:
        proc = self.proc
        while not self._done(stop, max_messages, deadline):
            try:
                frame = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                self._maybe_snapshot()
                continue
            recs = proc.process(frame if isinstance(frame, bytes) else frame.encode(), time.time_ns())
            if on_records is not None and len(recs):
                on_records(recs)
            self._maybe_snapshot()

    def _maybe_snapshot(self) -> None:
        if not self.proc.needs_snapshot or (self._snapshot_task and not self._snapshot_task.done()):
            return
        if time.monotonic() - self._last_snapshot_t < self.config.snapshot_retry_s:
            return
        self._last_snapshot_t = time.monotonic()
        self._snapshot_task = asyncio.get_running_loop().create_task(self._fetch_snapshot())

    async def _fetch_snapshot(self) -> None:
        self.snapshot_requests += 1
        try:
            body = await asyncio.to_thread(_http_get, self.config.rest_url, self.config.http_timeout_s)
        except OSError as exc:
            self.snapshot_failures += 1
            log.warning("snapshot request %s failed: %s", self.config.rest_url, exc)
            return
        # Same path as a recorded snapshot line: decode, align with the buffered diffs.
        recs = self.proc.process(body, time.time_ns())
        if self._on_records is not None and len(recs):
            self._on_records(recs)
