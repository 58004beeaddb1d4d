"""Cross-check of a rebuilt Binance depth book against the venue's own bookTicker stream.

For every record (the book after an applied diff with final id u), the reference is the latest
bookTicker whose update id is <= u: bookTicker is pushed on every top-of-book change, so that message
describes the touch as of u. The streams arrive interleaved in receive order, so the comparison is
made after the whole stream is read. Prices and sizes must be equal as integers.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from control.book.stream import FeedProcessor
from control.marketdata.errors import DecodeError
from control.marketdata.events import BestBidOffer
from control.marketdata.instruments import DEFAULT_REGISTRY, Registry
from control.marketdata.source import read_lines, sniff_binance


@dataclass
class AgreementResult:
    name: str
    compared: int = 0          # records with at least one earlier bookTicker
    equal: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.equal / self.compared if self.compared else 0.0


def bbo_agreement(paths: Sequence[str | Path], *, registry: Registry = DEFAULT_REGISTRY,
                  max_examples: int = 5) -> list[AgreementResult]:
    """One result per file of the stream `paths` (chained in order, as load_records does)."""
    proc: FeedProcessor | None = None
    per_file: list[tuple[str, np.ndarray]] = []
    bbo: list[tuple[int, int, int, int, int]] = []
    for path in paths:
        lines = read_lines(path)
        if proc is None:
            proc = FeedProcessor(sniff_binance(lines, path, registry), levels=1, source=str(path))
        decode = proc.decoder.decode_line
        chunks = []
        for line in lines:
            try:
                ev = decode(line)
            except DecodeError:
                proc.feed(line)          # counted by the processor like any refused record
                continue
            if type(ev) is BestBidOffer:
                bbo.append((ev.update_id, ev.bid_px, ev.bid_sz, ev.ask_px, ev.ask_sz))
            proc.feed(ev)
        chunks.append(proc.take())
        per_file.append((str(path), np.concatenate(chunks)))
    bbo.sort()
    ref = np.array(bbo, dtype=np.int64).reshape(-1, 5)
    results = []
    for name, recs in per_file:
        res = AgreementResult(name)
        if len(recs) and len(ref):
            j = np.searchsorted(ref[:, 0], recs["update_id"], side="right") - 1
            ok = j >= 0
            r = ref[j[ok]]
            mine = np.stack([recs["bid_px"][ok, 0], recs["bid_sz"][ok, 0],
                             recs["ask_px"][ok, 0], recs["ask_sz"][ok, 0]], axis=1)
            same = (mine == r[:, 1:]).all(axis=1)
            res.compared = int(ok.sum())
            res.equal = int(same.sum())
            for k in np.flatnonzero(~same)[:max_examples]:
                res.examples.append(f"record u={int(recs['update_id'][ok][k])}: book {mine[k].tolist()} "
                                    f"!= bookTicker u={int(r[k, 0])} {r[k, 1:].tolist()}")
        results.append(res)
    return results
