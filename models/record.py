"""The top-N book record: the one in-memory layout shared by the book builder, the feature pipelines,
training, the backends and the audit log.

Prices are integer ticks and sizes integer lots of the record's instrument; an empty level is
price 0, size 0. `trade_buy` / `trade_sell` are the buyer- / seller-initiated lots traded since the
previous record of the same stream. The exact semantics the features rely on are in models/FEATURES.md.
The card's wire layout (narrower integers) is generated from firmware/regmap.yaml, not from here.
"""
from __future__ import annotations

import numpy as np

DEFAULT_LEVELS = 10

FLAG_IN_SYNC = 1 << 0   # the book is synchronized with the venue (snapshot + contiguous diffs)
FLAG_RESET = 1 << 1     # first record of a stream or first after a re-sync: feature state restarts


def record_dtype(levels: int = DEFAULT_LEVELS) -> np.dtype:
    """numpy structured dtype of a top-N record with `levels` levels per side."""
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    return np.dtype([
        ("seq", np.uint64),          # record sequence number within its stream
        ("ts_ns", np.int64),         # exchange timestamp, ns since the epoch
        ("recv_ns", np.int64),       # local receive timestamp, ns since the epoch
        ("update_id", np.int64),     # venue's last applied update id (Binance u, LOBSTER row index)
        ("bid_px", np.int64, (levels,)),
        ("bid_sz", np.int64, (levels,)),
        ("ask_px", np.int64, (levels,)),
        ("ask_sz", np.int64, (levels,)),
        ("trade_buy", np.int64),
        ("trade_sell", np.int64),
        ("flags", np.uint32),
    ])


def empty_records(n: int, levels: int = DEFAULT_LEVELS) -> np.ndarray:
    return np.zeros(n, dtype=record_dtype(levels))


def truncate_levels(records: np.ndarray, levels: int) -> np.ndarray:
    """Copy of `records` keeping only the first `levels` levels per side."""
    have = records.dtype["bid_px"].shape[0]
    if levels > have:
        raise ValueError(f"records carry {have} levels, {levels} requested")
    out = empty_records(len(records), levels)
    for name in records.dtype.names:
        out[name] = records[name][:, :levels] if records.dtype[name].shape else records[name]
    return out
