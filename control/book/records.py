"""Builds top-N records (models.record.record_dtype) from book states.

Rows are collected as flat Python int lists and converted to the structured dtype in bulk on
`take()`: per-row numpy field assignment costs several µs, a bulk column copy a few ns per row.
"""
from __future__ import annotations

import numpy as np

from models.record import FLAG_IN_SYNC, FLAG_RESET, empty_records

__all__ = ["RecordBuilder", "FLAG_IN_SYNC", "FLAG_RESET"]


class RecordBuilder:
    def __init__(self, levels: int) -> None:
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        self.levels = levels
        self.rows: list[list[int]] = []
        self.seq = 0
        self._pad = [[0] * k for k in range(levels + 1)]

    def add(self, ts_ns: int, recv_ns: int, update_id: int,
            bid_px: list[int], bid_sz: list[int], ask_px: list[int], ask_sz: list[int],
            trade_buy: int, trade_sell: int, flags: int) -> None:
        n = self.levels
        pb = self._pad[n - len(bid_px)]
        pa = self._pad[n - len(ask_px)]
        self.rows.append([self.seq, ts_ns, recv_ns, update_id, *bid_px, *pb, *bid_sz, *pb,
                          *ask_px, *pa, *ask_sz, *pa, trade_buy, trade_sell, flags])
        self.seq += 1

    def take(self) -> np.ndarray:
        """The records added since the last take(), as a structured array."""
        rows, self.rows = self.rows, []
        return rows_to_records(rows, self.levels)


def rows_to_records(rows: list[list[int]], levels: int) -> np.ndarray:
    out = empty_records(len(rows), levels)
    if not rows:
        return out
    a = np.array(rows, dtype=np.int64)
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
