"""Streams of records -> features, labels and a time-ordered train / val / test split.

Loading the files is the caller's job (the CLI uses control's loaders; models/ never imports
control/). Features are computed over each whole stream before it is split, so feature state carries
across the split point exactly as it would live. Records whose label window reaches across a split
boundary are dropped (purged), so no label of an earlier part looks into a later part.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from models.config import DataSource, ModelConfig
from models.features import compute_features
from models.labels import Labels, make_labels, segment_last
from models.record import FLAG_IN_SYNC, FLAG_RESET, truncate_levels

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
SPLIT_CODE = {name: i for i, name in enumerate(SPLITS)}


class DatasetError(ValueError):
    """The configured sources cannot form a time-ordered split."""


def stream_groups(sources: Sequence[DataSource]) -> list[list[DataSource]]:
    """Sources chained by `continues` into streams (files of one stream, in order)."""
    groups: list[list[DataSource]] = []
    by_path: dict[str, list[DataSource]] = {}
    for s in sources:
        if s.continues:
            if s.continues not in by_path:
                raise DatasetError(f"{s.path} continues {s.continues}, which is not listed before it")
            g = by_path[s.continues]
            if g[-1].path != s.continues:
                raise DatasetError(f"{s.path} continues {s.continues}, which another file already continues")
        else:
            g = []
            groups.append(g)
        g.append(s)
        by_path[s.path] = g
    return groups


def source_split_codes(src: DataSource, ts_ns: np.ndarray) -> np.ndarray:
    """Split code (SPLIT_CODE) of each record of one source file, from the records' exchange time stamps:
    the source's split, or for `by_time` its local-time cuts (train before train_until, val before
    val_until, test after). The backtest reads it too, to score only what the model never trained on."""
    if src.split != "by_time":
        return np.full(len(ts_ns), SPLIT_CODE[src.split], dtype=np.int8)
    tz = ZoneInfo(src.tz)
    t_train = time.fromisoformat(src.train_until)
    t_val = time.fromisoformat(src.val_until)
    if not t_train < t_val:
        raise DatasetError(f"{src.path}: train_until {src.train_until} must precede val_until {src.val_until}")
    codes = np.empty(len(ts_ns), dtype=np.int8)
    if len(ts_ns) == 0:
        return codes
    day = datetime.fromtimestamp(int(ts_ns[0]) // 1_000_000_000, tz).date()
    cut1 = int(datetime.combine(day, t_train, tz).timestamp()) * 1_000_000_000
    cut2 = int(datetime.combine(day, t_val, tz).timestamp()) * 1_000_000_000
    codes[:] = SPLIT_CODE["test"]
    codes[ts_ns < cut2] = SPLIT_CODE["val"]
    codes[ts_ns < cut1] = SPLIT_CODE["train"]
    return codes


def split_codes(records: np.ndarray, group: Sequence[DataSource], counts: Sequence[int]) -> np.ndarray:
    """Per-record split code for a stream made of `group` files holding `counts` records each."""
    if len(group) != len(counts) or sum(counts) != len(records):
        raise DatasetError(f"stream {group[0].path}: {len(records)} records, per-file counts {list(counts)}")
    parts = []
    start = 0
    for src, n in zip(group, counts, strict=True):
        parts.append(source_split_codes(src, records["ts_ns"][start:start + n]))
        start += n
    codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int8)
    if np.any(np.diff(codes) < 0):
        raise DatasetError(f"stream {group[0].path}: split goes back in time (e.g. a val file before a train file)")
    return codes


@dataclass(frozen=True)
class StreamData:
    name: str
    records: np.ndarray      # truncated to the config's levels
    features: np.ndarray     # int8 (n, F)
    invalid: np.ndarray      # bool (n,)
    labels: Labels
    split: np.ndarray        # int8 (n,) split codes
    usable: np.ndarray       # bool (n,): labelled, and the label window stays inside the split part
    persistence: np.ndarray  # int8 (n, 2): last fully observed (cls, withdraw) -- a leak-free baseline


def prepare_stream(name: str, records: np.ndarray, codes: np.ndarray, cfg: ModelConfig) -> StreamData:
    recs = truncate_levels(records, cfg.levels) if records.dtype["bid_px"].shape[0] != cfg.levels else records
    feats, invalid = compute_features(recs, cfg)
    labels = make_labels(recs, cfg.labels)
    n = len(recs)
    h = cfg.labels.horizon_events
    seg_last = segment_last(recs)
    idx = np.arange(n)
    ahead = np.minimum(idx + h, seg_last)
    # out-of-sync books never reach the model live (FEATURES.md), so they neither train nor score
    in_sync = (recs["flags"] & FLAG_IN_SYNC) != 0
    usable = labels.labelled & (codes[ahead] == codes) & in_sync
    # Persistence: at record i the newest label surely complete is the one of record i - h - 1 (its
    # window ended at or before i - 1 by the event bound); use it if in the same segment.
    pers = np.zeros((n, 2), dtype=np.int8)
    j = np.maximum(idx - h - 1, 0)
    ok = (idx - h - 1 >= 0) & (seg_last[j] == seg_last) & labels.labelled[j]
    pers[ok, 0] = labels.cls[j[ok]]
    pers[ok, 1] = labels.withdraw[j[ok]]
    log.info("%s: %d records, %d usable, split sizes %s", name, n, int(usable.sum()),
             {s: int((codes[usable] == c).sum()) for s, c in SPLIT_CODE.items()})
    return StreamData(name, recs, feats, invalid, labels, codes, usable, pers)


@dataclass(frozen=True)
class Part:
    """Usable records of one split over all streams, in time order within each stream."""

    x: np.ndarray            # int8 (n, F)
    cls: np.ndarray          # int8 (n,)
    withdraw: np.ndarray     # int8 (n,)
    persistence: np.ndarray  # int8 (n, 2)
    stream: np.ndarray       # int16 (n,) index into the stream list

    def __len__(self) -> int:
        return len(self.cls)


def windows(s: StreamData, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, ok): x[i] = the `window` feature vectors ending at record i, int8 (n, window, F); ok[i] is
    False where that window would reach back past the start of i's segment (RESET or stream start).
    window = 1 gives x = features (n, F) and ok all True."""
    n, F = s.features.shape
    if window <= 1:
        return s.features, np.ones(n, dtype=bool)
    idx = np.arange(n)
    seg_start = np.maximum.accumulate(np.where((s.records["flags"] & FLAG_RESET) != 0, idx, 0))
    ok = idx - window + 1 >= seg_start
    padded = np.concatenate([np.zeros((window - 1, F), dtype=s.features.dtype), s.features])
    x = np.lib.stride_tricks.sliding_window_view(padded, (window, F))[:, 0]
    return x, ok


def part(streams: Sequence[StreamData], split: str, window: int = 1) -> Part:
    """Usable records of `split`; with window > 1 each x is the window of feature vectors ending at
    the record (records without a full window inside their segment are left out)."""
    code = SPLIT_CODE[split]
    xs, sel = [], []
    for k, s in enumerate(streams):
        x, ok = windows(s, window)
        m = s.usable & (s.split == code) & ok
        xs.append(x[m])
        sel.append((k, s, m))
    return Part(
        x=np.concatenate(xs),
        cls=np.concatenate([s.labels.cls[m] for _, s, m in sel]),
        withdraw=np.concatenate([s.labels.withdraw[m] for _, s, m in sel]),
        persistence=np.concatenate([s.persistence[m] for _, s, m in sel]),
        stream=np.concatenate([np.full(int(m.sum()), k, dtype=np.int16) for k, _, m in sel]),
    )


def sizes(streams: Sequence[StreamData]) -> dict[str, dict[str, int]]:
    """Records and usable (labelled, purged) records per stream and split: the honest dataset size."""
    out: dict[str, dict[str, int]] = {}
    for s in streams:
        d = {"records": len(s.records), "invalid": int(s.invalid.sum())}
        for name, c in SPLIT_CODE.items():
            d[name] = int((s.usable & (s.split == c)).sum())
        out[s.name] = d
    return out
