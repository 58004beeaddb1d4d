"""Backtest inputs from recorded captures: book records (control.book.replay), individual trades
(Binance `@trade` lines through control.marketdata's decoder, LOBSTER execution messages; the records
only carry traded lots per record, the fill simulator needs each trade's price) and the CPU reference
model's predictions (models/, no TensorFlow). Each loader returns the plain arrays of
control.backtest.arrays.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from control.backtest.arrays import PRED_DTYPE, TRADE_DTYPE
from control.backtest.run import Segment
from control.marketdata.binance import BinanceDecoder
from control.marketdata.errors import DecodeError, LoaderError
from control.marketdata.events import Trade
from control.marketdata.instruments import Instrument
from control.marketdata.lobster import load_executions
from control.marketdata.source import FORMAT_LOBSTER, detect_format, read_lines, sniff_binance
from models.config import DataSource
from models.dataset import SPLITS, source_split_codes

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
    """Every trade of captures `paths` (one instrument, one venue), in receive order, as TRADE_DTYPE:
    Binance `@trade` lines, or LOBSTER executions (lobster.load_executions)."""
    parts: list[np.ndarray] = []
    for path in paths:
        if detect_format(path) == FORMAT_LOBSTER:
            ex = load_executions(path)
            inst = ex.instrument
            part = np.zeros(len(ex.px), dtype=TRADE_DTYPE)
            part["recv_ns"], part["ts_ns"] = ex.ts_ns, ex.ts_ns   # no receive clock: the exchange's
            part["px"], part["lots"], part["side"] = ex.px, ex.lots, ex.side
        else:
            lines = read_lines(path)
            inst = sniff_binance(lines, path)
            part = _binance_trades(path, lines, inst)
        if instrument is not None and inst != instrument:
            raise LoaderError(f"{path}: holds {inst.name}, expected {instrument.name}")
        instrument = inst
        parts.append(part)
    out = np.concatenate(parts) if parts else np.zeros(0, dtype=TRADE_DTYPE)
    # Receive order is the order the quoting process would see them in; stable for equal stamps.
    order = np.argsort(out["recv_ns"], kind="stable")
    return out[order]


def _binance_trades(path: str | Path, lines: list[bytes], inst: Instrument) -> np.ndarray:
    rows: list[tuple[int, int, int, int, int]] = []
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
    return np.array(rows, dtype=TRADE_DTYPE) if rows else np.zeros(0, dtype=TRADE_DTYPE)


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
    sources: dict[str, DataSource]   # data path (relative to the data root) -> the model's training source
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
    sources = {s.path: s for s in getattr(getattr(cfg, "training", None), "sources", ())}
    return ModelPredictions(out, ref.horizon_ns, ref.model_hash, sources, feats, tuple(cfg.features.names))


def model_segments(rd: ReplayData, mp: ModelPredictions | None) -> tuple[Segment, ...]:
    """One Segment per input file with the model's split for it ("unknown" for a file it does not list,
    or without a model). A file split by time of day (LOBSTER: train before 12:30, ...) gives one
    Segment per part, named `<file> [train]` etc., so that its held-out hours are scored as unseen."""
    out: list[Segment] = []
    for f in rd.files:
        name = Path(f.path).name
        src = _source_of(f.path, mp)
        if src is None:
            out.append(Segment(name, f.first_record, f.end_record, "unknown"))
            continue
        codes = source_split_codes(src, rd.records["ts_ns"][f.first_record:f.end_record])
        if src.split != "by_time":
            out.append(Segment(name, f.first_record, f.end_record, src.split))
            continue
        for code, split in enumerate(SPLITS):   # codes never decrease in time: each part is one slice
            idx = np.flatnonzero(codes == code)
            if len(idx):
                out.append(Segment(f"{name} [{split}]", f.first_record + int(idx[0]), f.first_record + int(idx[-1]) + 1,
                                   split))
    return tuple(out)


def _source_of(path: str, mp: ModelPredictions | None) -> DataSource | None:
    if mp is None:
        return None
    full = Path(path).resolve().as_posix()
    for rel, src in mp.sources.items():
        if full.endswith("/" + rel):
            return src
    return None
