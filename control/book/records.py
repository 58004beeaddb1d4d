"""Top-N record output buffer: kernels write int64 rows (kernels.emit), `take()` turns them into
models.record structured arrays with bulk column copies."""
from __future__ import annotations

import numpy as np

from control.book.kernels import S_NOUT, record_width
from models.record import record_dtype

DEFAULT_ROWS = 8192


class RecordBuilder:
    def __init__(self, levels: int, st: np.ndarray, rows: int = DEFAULT_ROWS) -> None:
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        self.levels = levels
        self.st = st
        self.out = np.zeros((rows, record_width(levels)), dtype=np.int64)
        self._chunks: list[np.ndarray] = []

    def ensure_room(self, rows: int = 1) -> None:
        if self.st[S_NOUT] + rows > len(self.out):
            self.flush()

    def flush(self) -> None:
        n = int(self.st[S_NOUT])
        if n:
            self._chunks.append(rows_to_records(self.out[:n], self.levels))
            self.st[S_NOUT] = 0

    def take(self) -> np.ndarray:
        """The records written since the last take(), as one structured array."""
        n = int(self.st[S_NOUT])
        if not self._chunks:
            recs = rows_to_records(self.out[:n], self.levels)
            self.st[S_NOUT] = 0
            return recs
        self.flush()
        chunks, self._chunks = self._chunks, []
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


_DTYPES: dict[int, np.dtype] = {}


def empty(n: int, levels: int) -> np.ndarray:
    """models.record.empty_records(n, levels), with the dtype built once per level count."""
    dt = _DTYPES.get(levels)
    if dt is None:
        dt = _DTYPES[levels] = record_dtype(levels)
    return np.zeros(n, dtype=dt)


def rows_to_records(a: np.ndarray, levels: int) -> np.ndarray:
    out = empty(len(a), levels)
    if not len(a):
        return out
    n = levels
    out["seq"] = a[:, 0]
    out["ts_ns"] = a[:, 1]
    out["recv_ns"] = a[:, 2]
    out["update_id"] = a[:, 3]
    out["bid_px"] = a[:, 4:4 + n]
    out["bid_sz"] = a[:, 4 + n:4 + 2 * n]
    out["ask_px"] = a[:, 4 + 2 * n:4 + 3 * n]
    out["ask_sz"] = a[:, 4 + 3 * n:4 + 4 * n]
    out["trade_buy"] = a[:, 4 + 4 * n]
    out["trade_sell"] = a[:, 5 + 4 * n]
    out["flags"] = a[:, 6 + 4 * n]
    return out
