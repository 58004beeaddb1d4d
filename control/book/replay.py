"""Replay recorded captures into top-N records: the loader training, the backtest and the benchmarks
use. Files given together are one stream of one instrument, chained in order (a session that
continues across midnight keeps its book)."""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from control.book.counters import ReplayStats
from control.book.stream import FeedProcessor
from control.marketdata.errors import LoaderError
from control.marketdata.instruments import DEFAULT_REGISTRY, Instrument, Registry
from control.marketdata.source import FORMAT_LOBSTER, detect_format, line_bounds, read_bytes, sniff_binance
from models.record import DEFAULT_LEVELS, empty_records

log = logging.getLogger(__name__)


def load_records(paths: Sequence[str | Path], *, levels: int = DEFAULT_LEVELS, venue: str | None = None,
                 registry: Registry = DEFAULT_REGISTRY, instrument: Instrument | None = None,
                 compiled: bool = True) -> tuple[np.ndarray, ReplayStats]:
    """Records of `models.record.record_dtype(levels)` from one stream made of `paths` in order.

    Venue and format are detected from each file's content (and name); every file must hold the same
    instrument. `stats.instrument` says how to turn ticks/lots back into prices/sizes and
    `stats.per_file` holds one set of counters per file. `compiled=False` uses only the Python
    reference path (for cross-checking the compiled loop)."""
    if isinstance(paths, str | Path):
        paths = [paths]
    if not paths:
        raise LoaderError("no input files")
    formats = {detect_format(p, venue) for p in paths}
    if formats == {FORMAT_LOBSTER}:
        from control.marketdata.lobster import load_lobster_stream
        return load_lobster_stream(paths, levels=levels, registry=registry)
    if FORMAT_LOBSTER in formats:
        raise LoaderError("cannot chain LOBSTER and Binance files into one stream")
    proc: FeedProcessor | None = None
    chunks: list[np.ndarray] = []
    per_file: list[ReplayStats] = []
    for path in paths:
        data = read_bytes(path)
        starts, ends = line_bounds(data)
        head = [data[s:e] for s, e in zip(starts[:200].tolist(), ends[:200].tolist(), strict=True)]
        inst = instrument or sniff_binance(head, path, registry)
        if proc is None:
            proc = FeedProcessor(inst, levels=levels, source=str(path), compiled=compiled)
        elif inst != proc.instrument:
            raise LoaderError(f"{path}: holds {inst.name}, the stream is {proc.instrument.name}")
        proc.source = str(path)
        before = proc.stats.copy_counts()
        t0 = time.perf_counter()
        proc.feed_buffer(data, starts, ends)
        chunks.append(proc.take())
        proc.stats.elapsed_s += time.perf_counter() - t0
        per_file.append(proc.stats.minus(before, name=str(path)))
        log.info("%s: %d lines, %d records", path, len(starts), per_file[-1].records)
    assert proc is not None
    stats = proc.stats
    stats.name = ",".join(str(p) for p in paths)
    stats.per_file = per_file
    records = np.concatenate(chunks) if chunks else empty_records(0, levels)
    return records, stats
