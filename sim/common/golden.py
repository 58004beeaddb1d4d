"""Golden vectors for the RTL testbenches: real book records and what the software reference says
about them. Never a second implementation: features come from models.features.compute_features,
outputs from models.reference.ReferenceModel (and are cross-checked against golden.npz when it has them).

Record source, first found:
  1. models/<model>/artifacts/golden.npz (real slices exported by the model engineer), else
  2. tests/data/binance/btcusdt_20240718.gz (a real Binance capture committed to the repo), replayed
     through control.book.replay.load_records.
Each slice is one stream: its first record carries RESET, as a stream start does on the wire.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from models.config import ModelConfig, load_config
from models.features import compute_features
from models.record import FLAG_RESET, empty_records

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
MODEL = os.environ.get("QG_MODEL", "qg_mlp")
CAPTURE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"


def artifacts_dir() -> Path:
    return Path(os.environ.get("QG_ARTIFACTS", REPO / "models" / MODEL / "artifacts"))


def vectors(default: int = 200) -> int:
    return int(os.environ.get("VECTORS", str(default)))


@dataclass(frozen=True)
class Golden:
    records: np.ndarray       # models.record dtype, RESET set on the first record of each slice
    features: np.ndarray      # int8 (n, F)
    invalid: np.ndarray       # bool (n,)
    source: str
    outputs: np.ndarray | None = None   # int (n, 4) exported with golden.npz, when every slice had them


@lru_cache(maxsize=1)
def config() -> ModelConfig:
    return load_config(MODEL)


def _slices() -> tuple[list[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]], str]:
    """[(records, golden features or None, golden outputs or None)] per slice, and the source name."""
    g = artifacts_dir() / "golden.npz"
    if g.is_file():
        with np.load(g, allow_pickle=False) as z:
            n = len(z["seq"])
            recs = empty_records(n, levels=z["bid_px"].shape[1])
            for name in recs.dtype.names:
                if name in z.files:
                    recs[name] = z[name]
            starts = [int(s) for s in z["slice_start"]] + [n]
            feats = z["features"] if "features" in z.files else None
            outs = z["outputs"] if "outputs" in z.files else None
        out = [(recs[a:b], None if feats is None else feats[a:b], None if outs is None else outs[a:b])
               for a, b in zip(starts[:-1], starts[1:], strict=True)]
        return out, str(g.relative_to(REPO)) if g.is_relative_to(REPO) else str(g)
    from control.book.replay import load_records

    recs, _stats = load_records([CAPTURE], levels=config().levels)
    return [(recs, None, None)], str(CAPTURE.relative_to(REPO))


@lru_cache(maxsize=4)
def golden(n: int) -> Golden:
    """The first `n` records over the slices, with their reference features."""
    slices, source = _slices()
    # take records round-robin from the front of every slice so that a small n still covers each source
    per = max(1, -(-n // len(slices)))
    recs, feats, inv, outs = [], [], [], []
    left = n
    for s, gfeat, gout in slices:
        if left <= 0:
            break
        k = min(per, left, len(s))
        part = np.array(s[:k], copy=True)
        part["flags"][0] |= FLAG_RESET
        f, i = compute_features(part, config())
        if gfeat is not None and not np.array_equal(f, gfeat[:k]):
            raise AssertionError(f"{source}: models.features disagrees with the exported golden features")
        recs.append(part)
        feats.append(f)
        inv.append(i)
        outs.append(None if gout is None else gout[:k].astype(np.int64))
        left -= k
    names = recs[0].dtype.names
    records = np.concatenate([r[list(names)] for r in recs]) if len(recs) > 1 else recs[0]
    log.info("golden: %d records from %s", len(records), source)
    outputs = None if any(o is None for o in outs) else np.concatenate(outs)
    return Golden(records, np.concatenate(feats), np.concatenate(inv), source, outputs)


def with_invalid(records: np.ndarray, every: int = 7) -> np.ndarray:
    """Directed variant for the invalid-record rule: every `every`-th record (not the first) gets an
    empty, crossed or locked touch, cycling through the three cases of FEATURES.md."""
    r = np.array(records, copy=True)
    for j, i in enumerate(range(every, len(r), every)):
        case = j % 3
        if case == 0:
            r["bid_px"][i, 0] = 0                       # empty bid
        elif case == 1:
            r["ask_px"][i, 0] = r["bid_px"][i, 0] - 1   # crossed
        else:
            r["ask_px"][i, 0] = r["bid_px"][i, 0]       # locked
    return r


def reference_outputs(features: np.ndarray) -> np.ndarray:
    """int64 (n, 4) logits of the integer CPU reference for int8 features."""
    from models.reference import ReferenceModel

    return ReferenceModel.load(artifacts_dir()).predict_batch(features.astype(np.int8))
