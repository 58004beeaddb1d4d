"""Backtest inputs from recorded captures: book records (control.book.replay), individual trades
(control.marketdata's Binance decoder: the records only carry traded lots per record, the fill
simulator needs each trade's price) and the CPU reference model's predictions (models/, no
TensorFlow). Each loader returns the plain arrays of control.backtest.arrays.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from control.backtest.arrays import PRED_DTYPE, TRADE_DTYPE
from control.marketdata.binance import BinanceDecoder
from control.marketdata.errors import DecodeError, LoaderError
from control.marketdata.events import Trade
from control.marketdata.instruments import Instrument
from control.marketdata.source import FORMAT_BINANCE, detect_format, read_lines, sniff_binance

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileSpan:
    path: str
    first_record: int    # index range of this file's records in the concatenated stream
    end_record: int


@dataclass(frozen=True, slots=True)
class ReplayData:
    instrument: Instrument
    records: np.ndarray
    trades: np.ndarray
    files: tuple[FileSpan, ...]


def load_trades(paths: Sequence[str | Path], instrument: Instrument | None = None) -> np.ndarray:
    """Every trade of Binance captures `paths` (one instrument), in receive order, as TRADE_DTYPE."""
    rows: list[tuple[int, int, int, int, int]] = []
    for path in paths:
        if detect_format(path) != FORMAT_BINANCE:
            raise LoaderError(f"{path}: the backtest needs individual trades; only Binance captures carry them")
        lines = read_lines(path)
        inst = instrument or sniff_binance(lines, path)
        if instrument is not None and inst != instrument:
            raise LoaderError(f"{path}: holds {inst.name}, expected {instrument.name}")
        instrument = inst
        dec = BinanceDecoder(inst)
        for lineno, line in enumerate(lines, 1):
            if b"@trade" not in line:   # cheap filter: the decoder parses JSON, trades are ~10% of lines
                continue
            try:
                ev = dec.decode_line(line)
            except DecodeError as e:
                raise e.located(str(path), lineno, line) from None
            if isinstance(ev, Trade):
                rows.append((ev.recv_ns, ev.ts_ns, ev.price, ev.size, ev.side))
    out = np.array(rows, dtype=TRADE_DTYPE) if rows else np.zeros(0, dtype=TRADE_DTYPE)
    # Receive order is the order the quoting process would see them in; stable for equal stamps.
    order = np.argsort(out["recv_ns"], kind="stable")
    return out[order]


def load_replay(paths: Sequence[str | Path], *, levels: int = 10) -> ReplayData:
    """Records and trades of one stream made of `paths` (files continuing one another, in order)."""
    from control.book.replay import load_records  # import here: the book builder is heavy to import

    records, stats = load_records([str(p) for p in paths], levels=levels)
    inst = stats.instrument
    trades = load_trades(paths, inst)
    spans, k = [], 0
    for p, s in zip(paths, stats.per_file, strict=True):
        spans.append(FileSpan(str(p), k, k + int(s.records)))
        k += int(s.records)
    if k != len(records):
        raise LoaderError(f"per-file record counts sum to {k}, the stream has {len(records)} records")
    log.info("%s: %d records, %d trades", inst.name, len(records), len(trades))
    return ReplayData(inst, records, trades, tuple(spans))


@dataclass(frozen=True, slots=True)
class ModelPredictions:
    preds: np.ndarray        # PRED_DTYPE, one per record
    horizon_ns: int
    model_hash: str
    splits: dict[str, str]   # data path (relative to the data root) -> the model's split for it
    features: np.ndarray     # the model's inputs, int8 (records x features)
    feature_names: tuple[str, ...]


def predict(records: np.ndarray, model: str | Path) -> ModelPredictions:
    """CPU reference predictions for every record: features (models.features) -> integer network
    (models.reference) -> the shared probability function. `model` is a model name (models/<name>)
    or a config.yaml path; artifacts are read from the config's folder's `artifacts/`."""
    from models.config import MODELS_DIR, load_config
    from models.features import compute_features
    from models.reference import ReferenceModel

    cfg = load_config(model)
    p = Path(model)
    model_dir = p.parent if p.suffix in (".yaml", ".yml") else MODELS_DIR / str(model)
    ref = ReferenceModel.load(model_dir / "artifacts")
    feats, invalid = compute_features(records, cfg)
    probs = ref.probabilities(ref.predict_batch(feats))
    out = np.zeros(len(records), dtype=PRED_DTYPE)
    out["p_up"], out["p_down"], out["p_withdraw"] = probs[:, 0], probs[:, 1], probs[:, 2]
    out["invalid"] = invalid
    splits = {s.path: s.split for s in getattr(getattr(cfg, "training", None), "sources", ())}
    return ModelPredictions(out, ref.horizon_ns, ref.model_hash, splits, feats, tuple(cfg.features.names))
