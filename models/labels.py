"""Training labels from the future of one stream (config `labels`, definitions in config.yaml):

- class: 0 none, 1 up, 2 down -- which side of mid x (1 +/- threshold) the mid touches first inside the
  window (horizon_events records and horizon_ms milliseconds, whichever closes first);
- withdraw: touch depth (bid + ask size over withdraw_levels) falls to <= (1 - fraction) x now.

Invalid records (FEATURES.md) get no label and are skipped as future observations. A record whose
window is cut short by the end of the stream or by a RESET is unlabelled. No TensorFlow here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numba
import numpy as np

from models.config import LabelsConfig
from models.features import invalid_mask
from models.record import FLAG_RESET

log = logging.getLogger(__name__)

NONE, UP, DOWN = 0, 1, 2
CLASS_NAMES = ("none", "up", "down")


@dataclass(frozen=True)
class Labels:
    cls: np.ndarray        # int8 (n,): NONE / UP / DOWN
    withdraw: np.ndarray   # int8 (n,): 1 when touch depth drops by the fraction
    labelled: np.ndarray   # bool (n,): False for invalid records and truncated windows

    def balance(self) -> dict[str, float]:
        """Class shares over labelled records (the figures documented in config.yaml)."""
        m = self.labelled
        n = int(m.sum())
        if n == 0:
            return {"labelled": 0}
        out: dict[str, float] = {"labelled": n}
        for k, name in enumerate(CLASS_NAMES):
            out[name] = float((self.cls[m] == k).mean())
        out["withdraw"] = float(self.withdraw[m].mean())
        return out


@numba.njit(cache=False)
def _scan(mid2, depth, ts, valid, seg_last, horizon, horizon_ns, up_mult, down_mult, keep_frac,
          cls, wd, labelled):
    n = mid2.shape[0]
    for i in range(n):
        if not valid[i]:
            continue
        last = seg_last[i]
        # complete window: the event bound fits in the segment, or the time bound closes inside it
        if i + horizon > last and ts[last] - ts[i] <= horizon_ns:
            continue
        up = mid2[i] * up_mult
        down = mid2[i] * down_mult
        floor_depth = depth[i] * keep_frac
        c = 0
        w = 0
        end = min(i + horizon, last)
        for j in range(i + 1, end + 1):
            if ts[j] - ts[i] > horizon_ns:
                break
            if not valid[j]:
                continue
            if c == 0:
                if mid2[j] >= up:
                    c = 1
                elif mid2[j] <= down:
                    c = 2
            if w == 0 and depth[j] <= floor_depth:
                w = 1
            if c != 0 and w != 0:
                break
        cls[i] = c
        wd[i] = w
        labelled[i] = True


def segment_last(records: np.ndarray) -> np.ndarray:
    """Index of the last record of each record's segment (a segment ends before the next RESET)."""
    n = len(records)
    reset = (records["flags"] & FLAG_RESET) != 0
    if n:
        reset[0] = True
    starts = np.flatnonzero(reset)
    ends = np.append(starts[1:] - 1, n - 1)
    seg = np.cumsum(reset) - 1
    return ends[seg].astype(np.int64)


def make_labels(records: np.ndarray, cfg: LabelsConfig, *, horizon_events: int | None = None,
                horizon_ms: int | None = None) -> Labels:
    """Labels of one stream; `horizon_*` override the config (precision/recall by horizon)."""
    n = len(records)
    h_ev = cfg.horizon_events if horizon_events is None else horizon_events
    h_ms = cfg.horizon_ms if horizon_ms is None else horizon_ms
    b = records["bid_px"][:, 0].astype(np.int64)
    a = records["ask_px"][:, 0].astype(np.int64)
    mid2 = (a + b).astype(np.float64)
    k = cfg.withdraw_levels
    depth = (records["bid_sz"][:, :k].sum(axis=1) + records["ask_sz"][:, :k].sum(axis=1)).astype(np.float64)
    valid = ~invalid_mask(records)
    cls = np.zeros(n, dtype=np.int8)
    wd = np.zeros(n, dtype=np.int8)
    labelled = np.zeros(n, dtype=np.bool_)
    thr = cfg.move_threshold_bp / 1e4
    _scan(mid2, depth, records["ts_ns"].astype(np.int64), valid, segment_last(records), int(h_ev),
          int(h_ms) * 1_000_000, 1.0 + thr, 1.0 - thr, 1.0 - cfg.withdraw_fraction, cls, wd, labelled)
    return Labels(cls, wd, labelled)
