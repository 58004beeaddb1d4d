"""What the demo keeps per prediction and per quoting decision: small columns, for the summary and the
plots (the audit log is the durable record; this is an in-memory view of one short run)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from control.backends.base import PredictionBatch
from control.quoting.types import Action, QuoteDecision, ReasonCode


@dataclass
class PredictionTrace:
    """One row per prediction: the record's touch (ticks) and what the backend said about it."""

    seq: list[int] = field(default_factory=list)
    ts_ns: list[int] = field(default_factory=list)  # exchange time of the record
    recv_ns: list[int] = field(default_factory=list)  # local receive time (the quoting clock)
    mid2_ticks: list[int] = field(default_factory=list)  # best bid + best ask (2 x mid), 0 when one side is empty
    p_up: list[float] = field(default_factory=list)
    p_down: list[float] = field(default_factory=list)
    p_withdraw: list[float] = field(default_factory=list)
    invalid: list[bool] = field(default_factory=list)
    backend: list[str] = field(default_factory=list)

    def add(self, records: np.ndarray, batch: PredictionBatch) -> None:
        bid, ask = records["bid_px"][:, 0], records["ask_px"][:, 0]
        mid2 = np.where((bid > 0) & (ask > 0), bid + ask, 0)
        self.mid2_ticks += mid2.tolist()
        self.recv_ns += records["recv_ns"].tolist()
        self.invalid += batch.invalid.tolist()
        for p in batch:
            self.seq.append(p.seq)
            self.ts_ns.append(p.ts_ns)
            self.p_up.append(p.p_up)
            self.p_down.append(p.p_down)
            self.p_withdraw.append(p.p_withdraw)
            self.backend.append(p.backend)

    def __len__(self) -> int:
        return len(self.seq)

    def by_backend(self) -> dict[str, int]:
        return dict(Counter(self.backend))

    def segments(self) -> list[dict[str, object]]:
        """Runs of consecutive predictions from one backend: which backend served which records."""
        out: list[dict[str, object]] = []
        for s, b in zip(self.seq, self.backend, strict=True):
            if out and out[-1]["backend"] == b:
                out[-1]["last_seq"] = s
                out[-1]["records"] += 1  # type: ignore[operator]
            else:
                out.append({"backend": b, "first_seq": s, "last_seq": s, "records": 1})
        return out


@dataclass
class DecisionTrace:
    """One row per quoting decision that sent something (QUOTE or PULL), plus counts of all decisions."""

    ts_ns: list[int] = field(default_factory=list)  # the quoting engine's clock (record receive time)
    action: list[str] = field(default_factory=list)
    bid_px: list[int] = field(default_factory=list)  # ticks, 0 = no bid
    ask_px: list[int] = field(default_factory=list)  # ticks, 0 = no ask
    half_spread_bp: list[float] = field(default_factory=list)
    widened: list[bool] = field(default_factory=list)
    actions: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)

    def add(self, decisions: list[QuoteDecision]) -> None:
        for d in decisions:
            self.actions[d.action.value] += 1
            if d.action is Action.UNCHANGED:
                continue
            codes = {r.code for r in d.reasons}
            self.reasons.update(c.value for c in codes)
            self.ts_ns.append(d.ts_ns)
            self.action.append(d.action.value)
            self.bid_px.append(d.bid.px if d.bid else 0)
            self.ask_px.append(d.ask.px if d.ask else 0)
            self.half_spread_bp.append(d.half_spread_bp)
            self.widened.append(d.action is Action.QUOTE and ReasonCode.MOVE_WIDEN in codes)

    def count(self, action: Action) -> int:
        return self.actions[action.value]

    @property
    def widened_quotes(self) -> int:
        return sum(self.widened)

    def with_reason(self, code: ReasonCode) -> int:
        return self.reasons[code.value]
