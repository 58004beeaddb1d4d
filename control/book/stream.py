"""The streaming processor: raw venue bytes (a recorded line or a live frame) in, top-N records out.

This is the one path from bytes to records: `load_records` (replay), the live WebSocket client and
the appliance all push through `FeedProcessor.feed`. A refused record costs only itself: it is
counted by reason, its first examples are kept with source and line, and processing continues with
the next record.
"""
from __future__ import annotations

import logging

import numpy as np

from control.book.counters import ReplayStats
from control.book.records import RecordBuilder
from control.book.sync import InstrumentBook
from control.marketdata.binance import BinanceDecoder
from control.marketdata.errors import DecodeError
from control.marketdata.events import EVENT_NAMES, Event
from control.marketdata.instruments import Instrument
from models.record import DEFAULT_LEVELS

log = logging.getLogger(__name__)


class FeedProcessor:
    """Decoder + book + record builder for one Binance instrument stream."""

    def __init__(self, instrument: Instrument, *, levels: int = DEFAULT_LEVELS, source: str = "") -> None:
        self.instrument = instrument
        self.decoder = BinanceDecoder(instrument)
        self.stats = ReplayStats(instrument=instrument, name=source)
        self.builder = RecordBuilder(levels)
        self.book = InstrumentBook(instrument, self.builder, self.stats)
        self.source = source
        self.levels = levels

    @property
    def needs_snapshot(self) -> bool:
        return self.book.needs_snapshot

    def process(self, raw: bytes | str | Event, recv_ns: int | None = None, *, line: int = 0) -> np.ndarray:
        """Feed one input and return the records it produced (a structured array, often empty).

        `raw` is a recorded `<ts> <json>` line when `recv_ns` is None, else one JSON frame received at
        `recv_ns`, or an already decoded event."""
        self.feed(raw, recv_ns, line=line)
        return self.builder.take()

    def feed(self, raw: bytes | str | Event, recv_ns: int | None = None, *, line: int = 0) -> None:
        """Like process() but leaves the records in the builder (batch callers take() them in bulk)."""
        stats = self.stats
        stats.messages += 1
        try:
            if isinstance(raw, bytes | bytearray | memoryview | str):
                if isinstance(raw, str):
                    raw = raw.encode("utf-8", errors="surrogateescape")
                ev = self.decoder.decode_line(bytes(raw)) if recv_ns is None else self.decoder.decode(raw, recv_ns)
            else:
                ev = raw
            stats.events[EVENT_NAMES[type(ev)]] += 1
            self.book.on_event(ev)
        except DecodeError as err:
            located = err.located(self.source, line, raw if isinstance(raw, bytes | str) else None)
            stats.reject(located)
            log.debug("rejected %s", located)
        stats.in_sync = self.book.synced
        stats.last_update_id = self.book.last_u

    def take(self) -> np.ndarray:
        return self.builder.take()
