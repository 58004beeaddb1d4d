"""The prediction that every backend (fpga, rtl, cpu) returns for one book record.

`logits` are the exact integers the network produced (the bit-exact contract is on these); the
probabilities are derived from them on the host by one shared function, so every backend yields the
same quotes for the same integers.

A NamedTuple, not a frozen dataclass: one is built per book record on the per-event path, and a
frozen dataclass's __init__ (one object.__setattr__ per field) cost a microsecond of it.
"""
from __future__ import annotations

from typing import NamedTuple


class Prediction(NamedTuple):
    seq: int                      # sequence number of the record this predicts from
    ts_ns: int                    # exchange timestamp of that record
    logits: tuple[int, ...]       # raw integer outputs: (none, up, down, withdraw) on the output grid
    p_up: float                   # probability of a mid move >= threshold up within the horizon
    p_down: float                 # ... down
    p_withdraw: float             # probability that touch depth drops by the configured fraction
    horizon_ns: int               # how long this prediction stays valid
    model_hash: str               # sha256 of the model that produced it
    backend: str                  # "fpga" | "rtl" | "cpu"

    @property
    def p_move(self) -> float:
        return self.p_up + self.p_down

    def expired(self, now_ns: int) -> bool:
        return now_ns - self.ts_ns > self.horizon_ns
