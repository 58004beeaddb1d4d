"""Stream names and the wire encoding of records and predictions in Redis Stream entries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from control.prediction import Prediction
from models.record import record_dtype

GROUP = "appliances"


@dataclass(frozen=True)
class Keys:
    prefix: str = "qg"

    def market_data(self, symbol: str) -> str:
        return f"{self.prefix}:md:{symbol}"

    def resets(self, symbol: str) -> str:
        """Ids (equal to the market-data entry ids) of RESET records: where feature state restarts."""
        return f"{self.prefix}:reset:{symbol}"

    def predictions(self, symbol: str) -> str:
        return f"{self.prefix}:pred:{symbol}"


DEFAULT_KEYS = Keys()


def encode_record(rec: np.void) -> dict[bytes, bytes]:
    levels = rec.dtype["bid_px"].shape[0]
    return {b"l": str(levels).encode(), b"r": rec.tobytes()}


def decode_records(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> np.ndarray:
    if not entries:
        return np.zeros(0, dtype=record_dtype())
    levels = int(entries[0][1][b"l"])
    # a writable copy: the compiled feature kernels are specialised for writable arrays
    return np.frombuffer(b"".join(f[b"r"] for _, f in entries), dtype=record_dtype(levels)).copy()


def prediction_id(seq: int) -> str:
    """Output entries are keyed by record seq, so a replayed record cannot be published twice."""
    return f"{seq + 1}-0"


def encode_prediction(p: Prediction, source_id: bytes) -> dict[bytes, bytes | str]:
    return {
        b"seq": str(p.seq),
        b"src": source_id,
        b"ts_ns": str(p.ts_ns),
        b"logits": ",".join(map(str, p.logits)),
        b"p_up": repr(p.p_up),
        b"p_down": repr(p.p_down),
        b"p_withdraw": repr(p.p_withdraw),
        b"horizon_ns": str(p.horizon_ns),
        b"model_hash": p.model_hash,
        b"backend": p.backend,
    }


def encode_refusal(seq: int, source_id: bytes, reason: str) -> dict[bytes, bytes | str]:
    """Output entry for a record refused by the feature contract (no prediction; quotes get pulled)."""
    return {b"seq": str(seq), b"src": source_id, b"refused": reason[:200]}


def decode_prediction(fields: dict[bytes, bytes]) -> Prediction | None:
    """The Prediction of an output entry; None for a refused record."""
    if b"refused" in fields:
        return None
    return Prediction(
        seq=int(fields[b"seq"]),
        ts_ns=int(fields[b"ts_ns"]),
        logits=tuple(int(x) for x in fields[b"logits"].split(b",")),
        p_up=float(fields[b"p_up"]),
        p_down=float(fields[b"p_down"]),
        p_withdraw=float(fields[b"p_withdraw"]),
        horizon_ns=int(fields[b"horizon_ns"]),
        model_hash=fields[b"model_hash"].decode(),
        backend=fields[b"backend"].decode(),
    )
