"""Counters of one stream (or one file of it): what came in, what was applied, what was refused."""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field

from control.marketdata.errors import DecodeError
from control.marketdata.instruments import Instrument

MAX_EXAMPLES = 3   # offending records kept per reason (all are counted and logged)


@dataclass
class ReplayStats:
    """Cumulative counters. `per_file` holds one delta per input file when replaying files."""

    instrument: Instrument | None = None
    name: str = ""
    messages: int = 0                        # lines / frames received
    events: Counter = field(default_factory=Counter)    # decoded events by type
    records: int = 0                         # top-N records emitted
    syncs: int = 0                           # times the book became synchronized (first + re-syncs)
    resyncs: int = 0                         # syncs after a gap
    gaps: int = 0                            # sequence breaks detected
    crossed: int = 0                         # updates that left the book crossed or locked
    stale_diffs: int = 0                     # diffs older than the snapshot, dropped by the sync rule
    unsynced_diffs: int = 0                  # diffs that arrived while no snapshot could be aligned
    rejected: Counter = field(default_factory=Counter)  # refused records by reason
    examples: dict[str, list[str]] = field(default_factory=dict)
    in_sync: bool = False                    # state at the end
    last_update_id: int = -1
    elapsed_s: float = 0.0
    per_file: list[ReplayStats] = field(default_factory=list)

    def reject(self, err: DecodeError) -> None:
        self.rejected[err.reason] += 1
        ex = self.examples.setdefault(err.reason, [])
        if len(ex) < MAX_EXAMPLES:
            ex.append(str(err))

    def note(self, err: DecodeError) -> None:
        """Keep an example of a reported (not refused) condition, e.g. a crossed book."""
        ex = self.examples.setdefault(err.reason, [])
        if len(ex) < MAX_EXAMPLES:
            ex.append(str(err))

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def throughput(self) -> float:
        """Messages per second of wall time (0 when not timed)."""
        return self.messages / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def copy_counts(self) -> ReplayStats:
        c = copy.copy(self)
        c.events = Counter(self.events)
        c.rejected = Counter(self.rejected)
        c.examples = {k: list(v) for k, v in self.examples.items()}
        c.per_file = []
        return c

    def minus(self, before: ReplayStats, name: str = "") -> ReplayStats:
        """Counts accumulated since `before` (a copy_counts() taken earlier)."""
        d = self.copy_counts()
        d.name = name or self.name
        for f in ("messages", "records", "syncs", "resyncs", "gaps", "crossed", "stale_diffs",
                  "unsynced_diffs"):
            setattr(d, f, getattr(self, f) - getattr(before, f))
        d.events = self.events - before.events
        d.rejected = self.rejected - before.rejected
        d.examples = {k: v[len(before.examples.get(k, [])):] for k, v in self.examples.items()
                      if len(v) > len(before.examples.get(k, []))}
        d.elapsed_s = self.elapsed_s - before.elapsed_s
        return d

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "instrument": self.instrument.name if self.instrument else None,
            "messages": self.messages,
            "events": dict(sorted(self.events.items())),
            "records": self.records,
            "syncs": self.syncs,
            "resyncs": self.resyncs,
            "gaps": self.gaps,
            "crossed": self.crossed,
            "stale_diffs": self.stale_diffs,
            "unsynced_diffs": self.unsynced_diffs,
            "rejected": dict(sorted(self.rejected.items())),
            "rejected_total": self.rejected_total,
            "examples": self.examples,
            "in_sync": self.in_sync,
            "last_update_id": self.last_update_id,
            "elapsed_s": round(self.elapsed_s, 6),
            "messages_per_s": round(self.throughput, 1),
        }
        if self.per_file:
            out["files"] = [f.to_dict() for f in self.per_file]
        return out
