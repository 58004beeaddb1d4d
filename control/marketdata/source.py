"""Recorded inputs: reading capture files and working out which venue, market and instrument they
hold (from their content first, their path second)."""
from __future__ import annotations

import gzip
import itertools
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import orjson

from control.marketdata.errors import LoaderError
from control.marketdata.instruments import DEFAULT_REGISTRY, Instrument, Registry

log = logging.getLogger(__name__)

FORMAT_BINANCE = "binance"
FORMAT_LOBSTER = "lobster"
_SNIFF_LINES = 200


def read_bytes(path: str | Path) -> bytes:
    """The whole (gzip-compressed or plain) capture."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            magic = fh.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise LoaderError(f"{path}: cannot read: {exc}") from exc
    return data


def line_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of every line of `data` ('\n' separated, a trailing '\r' excluded, a final
    empty line dropped), as int64 arrays."""
    buf = np.frombuffer(data, np.uint8)
    nl = np.flatnonzero(buf == 10)
    ends = nl.astype(np.int64)
    if len(data) and data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = nl[:len(ends) - 1] + 1
        cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
        ends = ends - cr
    return starts, ends


_BLOCK = 1 << 20   # bytes decompressed per read while streaming


def iter_lines(paths: Iterable[str | Path], *, keep_empty: bool = False) -> Iterator[bytes]:
    """Lines of recorded captures (gzip-compressed or plain), files in order, streamed a block at a
    time (replay holds one block, like live), without line terminators. Lines end at '\n'. By default
    trailing '\r's are dropped and empty lines skipped (the appliance's replay); keep_empty=True keeps
    every line, dropping one trailing '\r' (read_lines). An unreadable file raises LoaderError."""
    for path in paths:
        path = Path(path)
        try:
            with path.open("rb") as fh:
                magic = fh.read(2)
            with (gzip.open if magic == b"\x1f\x8b" else open)(path, "rb") as fh:
                rest = b""
                while block := fh.read(_BLOCK):
                    lines = (rest + block).split(b"\n")
                    rest = lines.pop()
                    yield from _clean(lines, keep_empty)
                if rest:
                    yield from _clean([rest], keep_empty)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise LoaderError(f"{path}: cannot read: {exc}") from exc


def head_lines(path: str | Path, n: int = _SNIFF_LINES) -> list[bytes]:
    """The first `n` lines of a capture (to sniff its venue and instrument), without reading the rest."""
    return list(itertools.islice(iter_lines([path]), n))


def _clean(lines: list[bytes], keep_empty: bool) -> list[bytes]:
    if keep_empty:
        return [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
    return [ln for ln in (x.rstrip(b"\r") for x in lines) if ln]


def read_lines(path: str | Path) -> list[bytes]:
    """All lines of a (gzip-compressed or plain) capture, without line terminators."""
    return list(iter_lines([path], keep_empty=True))


def detect_format(path: str | Path, venue: str | None = None) -> str:
    if venue:
        if venue not in (FORMAT_BINANCE, FORMAT_LOBSTER):
            raise LoaderError(f"unknown venue {venue!r}; known: binance, lobster")
        return venue
    p = Path(path)
    if p.suffix.lower() == ".zip" or "lobster" in p.name.lower():
        return FORMAT_LOBSTER
    return FORMAT_BINANCE


def sniff_binance(lines: list[bytes], path: str | Path, registry: Registry = DEFAULT_REGISTRY,
                  market: str | None = None) -> Instrument:
    """The instrument of a Binance capture. USD-M futures depth carries `pu`, futures bookTicker an
    `e` field, spot trades an `M` field; the symbol is the `s` field. The path ('usdm'/'spot' folder,
    '<symbol>_<date>' name) is used only when the content does not say."""
    symbol = None
    for line in lines[:_SNIFF_LINES]:
        _, _, payload = line.partition(b" ")
        try:
            msg = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        data = msg.get("data") if isinstance(msg, dict) else None
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("s"), str):
            symbol = symbol or data["s"].upper()
        if market is None:
            if data.get("e") == "depthUpdate":
                market = "usdm" if "pu" in data else "spot"
            elif data.get("e") == "trade":
                market = "spot" if "M" in data else "usdm"
            elif "B" in data and "A" in data:
                market = "usdm" if data.get("e") == "bookTicker" else "spot"
        if symbol and market:
            break
    p = Path(path)
    if market is None:
        parts = {x.lower() for x in p.parts}
        market = "spot" if "spot" in parts else "usdm" if ("usdm" in parts or "futures" in parts) else None
    if symbol is None:
        symbol = p.name.split("_")[0].split(".")[0].upper() or None
    if market is None or symbol is None:
        raise LoaderError(f"{path}: cannot tell the Binance market/symbol from content or name")
    return registry.get(FORMAT_BINANCE, market, symbol, source=path)


def sniff_instrument(path: str | Path, registry: Registry = DEFAULT_REGISTRY) -> Instrument:
    """The instrument of any capture: a LOBSTER zip's from its member names, a Binance capture's from
    its first lines (sniff_binance)."""
    if detect_format(path) == FORMAT_LOBSTER:
        # Imported here: lobster.py pulls in control.book (the replay counters) and models.record.
        from control.marketdata.lobster import lobster_instrument
        return lobster_instrument(path, registry)
    return sniff_binance(head_lines(path), path, registry)
