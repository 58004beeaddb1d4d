"""Failover: a watchdog around a hardware backend (fpga or rtl) that moves the stream to the CPU
backend mid-stream, without losing or reordering an event.

- Faults detected: transport timeouts (stalled stream, hung simulator), transport loss (killed simulator,
  board gone), error flags and counter stalls (`health()` every `health_every` batches), identity
  mismatch, and a prediction whose seq does not match its record (all surface as BackendError).
- The CPU feature state is kept warm by a shadow `StreamingFeatures` that runs (compiled, state only)
  over every batch the card answered. On a fault the batch in flight -- every record whose prediction
  was not delivered -- is replayed on the CPU backend built on that shadow state, so its predictions are
  the ones an all-CPU run would have produced (bit-exact contract).
- The switch is counted in metrics (`failovers_total{from,to,reason}`, `failover_switch_seconds`) and
  written to the audit log as a `failover` control event, with its duration.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from control.backends.base import (
    Backend,
    BackendError,
    BackendFault,
    BackendIdentity,
    Health,
    PredictionBatch,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchdogConfig:
    health_every: int = 1  # check health (error flags, counters) after every n-th batch


@dataclass(frozen=True)
class FailoverEvent:
    from_backend: str
    to_backend: str
    reason: str
    detail: str
    at_seq: int  # seq of the first record replayed on the fallback
    replayed: int  # records in flight, replayed on the fallback
    switch_ns: int  # fault detected -> replayed predictions ready


class FailoverBackend(Backend):
    def __init__(
        self,
        primary: Backend,
        make_fallback: Callable[[object], Backend],
        shadow,
        cfg: WatchdogConfig = WatchdogConfig(),
        metrics=None,
        audit=None,
    ) -> None:
        """`shadow` is a models.streaming.StreamingFeatures that has seen exactly what the primary has;
        `make_fallback(shadow)` builds the CPU backend that continues from its state."""
        self.primary, self.make_fallback, self.shadow = primary, make_fallback, shadow
        self.cfg, self.metrics, self.audit = cfg, metrics, audit
        self.active: Backend = primary
        self.events: list[FailoverEvent] = []
        self._batches = 0
        if metrics is not None:
            metrics.set_active_backend(primary.name)
            metrics.backend_healthy.labels(primary.name).set(1.0)

    @property
    def name(self) -> str:
        return self.active.name

    @property
    def failed_over(self) -> bool:
        return self.active is not self.primary

    def submit(self, records: np.ndarray) -> PredictionBatch:
        if self.failed_over:
            return self.active.submit(records)
        try:
            preds = self.primary.submit(records)
            self._batches += 1
            if self._batches % self.cfg.health_every == 0:
                h = self.primary.health()
                if not h.ok:
                    raise BackendFault(f"health check failed: {h.detail}")
        except BackendError as e:
            return self._switch(e, records, replay=True)
        feats = self._shadow(records)
        return dataclasses.replace(preds, features=feats)

    def warm(self, records: np.ndarray) -> None:
        if self.failed_over:
            self.active.warm(records)
            return
        try:
            self.primary.warm(records)
        except BackendError as e:
            self._switch(e, records, replay=False)
            self.active.warm(records)
            return
        self._shadow(records)

    def _shadow(self, records: np.ndarray) -> np.ndarray:
        """Advance the CPU shadow state over records the card answered; their features (for drift)."""
        if len(records) == 1:
            f, _ = self.shadow.update_at(records, 0)   # the single-event path: no batch checks
            return f[None, :]
        return self.shadow.run(records)[0]

    def _switch(self, err: BackendError, records: np.ndarray, replay: bool) -> PredictionBatch:
        t0 = time.perf_counter_ns()
        log.error(
            "backend %s failed (%s: %s); switching to cpu, replaying %d records in flight",
            self.primary.name,
            err.reason,
            err,
            len(records) if replay else 0,
        )
        fallback = self.make_fallback(self.shadow)
        preds = fallback.submit(records) if replay else PredictionBatch([], np.zeros(0, bool))
        switch_ns = time.perf_counter_ns() - t0
        ev = FailoverEvent(
            self.primary.name,
            fallback.name,
            err.reason,
            str(err),
            int(records["seq"][0]) if len(records) else -1,
            len(records) if replay else 0,
            switch_ns,
        )
        self.events.append(ev)
        self.active = fallback
        if self.metrics is not None:
            self.metrics.record_failover(ev.from_backend, ev.to_backend, ev.reason, switch_ns / 1e9)
        if self.audit is not None:
            self.audit.control(
                "failover",
                from_backend=ev.from_backend,
                to_backend=ev.to_backend,
                reason=ev.reason,
                detail=ev.detail,
                at_seq=ev.at_seq,
                replayed=ev.replayed,
                switch_ns=ev.switch_ns,
            )
        try:
            self.primary.close()
        except Exception as e:  # noqa: BLE001 -- the failed backend may fail to close in any way
            log.warning("closing failed backend %s: %s", self.primary.name, e)
        return preds

    def health(self) -> Health:
        h = self.active.health()
        if self.failed_over:
            return Health(
                h.ok,
                f"failed over from {self.primary.name}: {self.events[-1].reason}; {h.detail}",
                h.counters,
            )
        return h

    def identity(self) -> BackendIdentity:
        return self.active.identity()

    def close(self) -> None:
        self.active.close()  # a failed primary was closed at the switch
