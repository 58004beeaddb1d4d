"""Integer primitives of the feature contract (models/FEATURES.md), shared by the numpy and the
streaming pipelines: the reciprocal table, the feature-kind codes, the compiled feature table, and
input validation. Pure numpy; no floats touch a feature value."""
from __future__ import annotations

import numpy as np

from models.config import FEATURE_KINDS, ModelConfig

# RECIP[j] = floor(2**16 / (128 + j)), j = 0..127: 512 .. 257 (10 bits). The RTL holds the same ROM.
RECIP = np.array([(1 << 16) // (128 + j) for j in range(128)], dtype=np.int64)

# bitlen(x) for 0 <= x < 2**63 is the number of powers of two <= x (exact, unlike frexp on floats).
POW2 = np.array([1 << k for k in range(63)], dtype=np.int64)

KIND_CODE = {kind: i for i, kind in enumerate(FEATURE_KINDS)}
SIDE_CODE = {"": 0, "bid": 0, "ask": 1}

# Column layout of the compiled feature table (one row per feature, config order).
COL_KIND, COL_SHIFT, COL_LO, COL_HI, COL_LEVELS, COL_SIDE = range(6)

U32_MAX = (1 << 32) - 1
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


class FeatureInputError(ValueError):
    """A book record violates the feature contract's input ranges (names the field and the record)."""


def feature_table(cfg: ModelConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(spec (F, 6) int64, level weights (L,) int64, decay (4,) int64) for the compiled pipeline."""
    spec = np.zeros((cfg.n_features, 6), dtype=np.int64)
    weights = np.zeros(cfg.levels, dtype=np.int64)
    for i, s in enumerate(cfg.features.specs):
        spec[i] = (KIND_CODE[s.kind], s.shift, s.range[0], s.range[1], s.levels, SIDE_CODE[s.side])
        if s.kind == "weighted_imbalance":
            weights[:] = s.weights
    d = cfg.features.decay
    decay = np.array([d.trade_flow_shift, d.trade_flow_prescale, d.volatility_shift, d.volatility_prescale],
                     dtype=np.int64)
    return spec, weights, decay


def check_records(records: np.ndarray, levels: int) -> None:
    """Raise FeatureInputError unless `records` is a record array with >= `levels` levels whose
    prices fit i32 and sizes / trade volumes fit u32 (the widths the card and the contract assume)."""
    names = getattr(records.dtype, "names", None) or ()
    for f in ("seq", "ts_ns", "bid_px", "bid_sz", "ask_px", "ask_sz", "trade_buy", "trade_sell", "flags"):
        if f not in names:
            raise FeatureInputError(f"records lack field '{f}' (expected models.record.record_dtype)")
    have = records.dtype["bid_px"].shape[0] if records.dtype["bid_px"].shape else 1
    if have < levels:
        raise FeatureInputError(f"records carry {have} book levels, the features need {levels}")
    if len(records) == 0:
        return
    checks = [
        ("bid_px", records["bid_px"][:, :levels], I32_MIN, I32_MAX),
        ("ask_px", records["ask_px"][:, :levels], I32_MIN, I32_MAX),
        ("bid_sz", records["bid_sz"][:, :levels], 0, U32_MAX),
        ("ask_sz", records["ask_sz"][:, :levels], 0, U32_MAX),
        ("trade_buy", records["trade_buy"], 0, U32_MAX),
        ("trade_sell", records["trade_sell"], 0, U32_MAX),
    ]
    for name, values, lo, hi in checks:
        bad = (values < lo) | (values > hi)
        if bad.any():
            flat = np.argwhere(bad)[0]
            i = int(flat[0])
            where = f"{name}[{int(flat[1])}]" if values.ndim == 2 else name
            raise FeatureInputError(
                f"record {i} (seq {int(records['seq'][i])}): {where} = {int(values[tuple(flat)])} "
                f"outside [{lo}, {hi}]")
