"""The demo's backend: a short slice of the stream on a hardware backend (the RTL in Icarus, or the card),
each record also run on the CPU reference in lockstep and compared (logits and INVALID flag: the
bit-exact contract, live), then the rest of the stream on the CPU reference alone.

The CPU backend sees every record of the slice, so its feature state is exactly where the hardware's is
when the slice ends, and the switch changes no prediction (the same reason failover changes no quote,
control/backends/failover.py). A hardware fault inside the slice ends the slice early: the record in
flight is answered by the CPU, and the fault is kept in `events`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from control.backends.base import (
    Backend,
    BackendError,
    BackendIdentity,
    Health,
    PredictionBatch,
)
from control.demo.trace import PredictionTrace

log = logging.getLogger(__name__)

MAX_REPORTED_MISMATCHES = 10


@dataclass
class OverlapCheck:
    """Hardware vs CPU on the records both ran."""

    compared: int = 0
    mismatched: int = 0
    examples: list[dict[str, object]] = field(default_factory=list)  # the first few differences

    @property
    def identical(self) -> bool:
        return self.mismatched == 0

    def compare(self, records: np.ndarray, hw: PredictionBatch, cpu: PredictionBatch) -> None:
        hw_logits, cpu_logits = hw.logits(), cpu.logits()
        differ = (hw_logits != cpu_logits).any(axis=1) | (hw.invalid != cpu.invalid)
        differ |= np.array(hw.seqs) != np.array(cpu.seqs)
        self.compared += len(records)
        for k in np.flatnonzero(differ).tolist():
            self.mismatched += 1
            if len(self.examples) < MAX_REPORTED_MISMATCHES:
                self.examples.append(
                    {
                        "seq": int(records["seq"][k]),
                        "hw_logits": hw_logits[k].tolist(),
                        "cpu_logits": cpu_logits[k].tolist(),
                        "hw_invalid": bool(hw.invalid[k]),
                        "cpu_invalid": bool(cpu.invalid[k]),
                    }
                )
                log.error("bit-exact mismatch at seq %d: %s", int(records["seq"][k]), self.examples[-1])


@dataclass(frozen=True)
class SliceFault:
    backend: str
    reason: str
    detail: str
    at_seq: int


def _concat(a: PredictionBatch, b: PredictionBatch) -> PredictionBatch:
    feats = None
    if a.features is not None and b.features is not None:
        feats = np.concatenate([a.features, b.features])
    stages = {k: a.stage_ns.get(k, 0) + b.stage_ns.get(k, 0) for k in set(a.stage_ns) | set(b.stage_ns)}
    return PredictionBatch(a.predictions + b.predictions, np.concatenate([a.invalid, b.invalid]), feats, stages)


class SliceBackend(Backend):
    def __init__(
        self,
        cpu: Backend,
        primary: Backend | None = None,
        slice_records: int | None = None,
        *,
        trace: PredictionTrace | None = None,
    ) -> None:
        """`slice_records` None: the whole stream on `primary` (still checked against `cpu`)."""
        self.cpu, self.primary, self.slice_records = cpu, primary, slice_records
        self.trace = trace
        self.overlap = OverlapCheck()
        self.faults: list[SliceFault] = []
        self.primary_identity: BackendIdentity | None = primary.identity() if primary is not None else None
        self.primary_name = primary.name if primary is not None else None
        self.primary_wall_ns: list[int] = []  # host round trip per hardware batch (simulator time on rtl)
        self.card_cycles: list[int] = []  # t_out - t_in per record, where the backend reports it
        self.done = 0

    @property
    def name(self) -> str:
        return self.primary.name if self.primary is not None else self.cpu.name

    @property
    def in_slice(self) -> bool:
        return self.primary is not None

    def _slice_left(self) -> int | None:
        return None if self.slice_records is None else self.slice_records - self.done

    def submit(self, records: np.ndarray) -> PredictionBatch:
        if self.primary is None:
            out = self.cpu.submit(records)
        else:
            left = self._slice_left()
            n_hw = len(records) if left is None else min(left, len(records))
            out = self._on_primary(records[:n_hw])
            if n_hw < len(records):
                out = _concat(out, self.cpu.submit(records[n_hw:]))
        self.done += len(records)
        if self.trace is not None:
            self.trace.add(records, out)
        if self.primary is not None and self._slice_left() is not None and self._slice_left() <= 0:
            self._end_slice()
        return out

    def _on_primary(self, records: np.ndarray) -> PredictionBatch:
        t0 = time.perf_counter_ns()
        try:
            hw = self.primary.submit(records)
        except BackendError as e:
            seq = int(records["seq"][0])
            log.error("%s failed at seq %d (%s: %s); the CPU takes over", self.primary.name, seq, e.reason, e)
            self.faults.append(SliceFault(self.primary.name, e.reason, str(e), seq))
            self._end_slice()
            return self.cpu.submit(records)
        self.primary_wall_ns.append(time.perf_counter_ns() - t0)
        cycles = getattr(self.primary, "card_cycles", None)
        if cycles is not None and len(cycles) == len(records):
            self.card_cycles += np.asarray(cycles).tolist()
        cpu = self.cpu.submit(records)  # lockstep: the CPU state follows the card's record by record
        self.overlap.compare(records, hw, cpu)
        return hw

    def _end_slice(self) -> None:
        primary, self.primary = self.primary, None
        try:
            primary.close()
        except Exception as e:  # noqa: BLE001 -- a faulted backend may fail to close in any way
            log.warning("closing %s: %s", primary.name, e)
        log.info("slice on %s ended after %d records; the CPU reference continues", primary.name, self.done)

    def warm(self, records: np.ndarray) -> None:
        if self.primary is not None:
            self.primary.warm(records)
        self.cpu.warm(records)

    def health(self) -> Health:
        return (self.primary or self.cpu).health()

    def identity(self) -> BackendIdentity:
        return (self.primary or self.cpu).identity()

    def close(self) -> None:
        if self.primary is not None:
            self.primary.close()
            self.primary = None
        self.cpu.close()
