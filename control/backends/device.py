"""The hardware backends, `fpga` (board through PynqIO) and `rtl` (qg_core_top in a simulator through
SimIO): one class, because they run the same driver code and differ only in the transport."""

from __future__ import annotations

import logging

import numpy as np

from control.backends.base import (
    Backend,
    BackendError,
    BackendFault,
    BackendIdentity,
    BackendIdentityError,
    BackendTimeout,
    Health,
    PredictionBatch,
    ProbabilityCache,
    RecordRefused,
    make_predictions,
)
from control.driver.device import U32, Device, to_wire
from control.driver.errors import IdentityMismatch, TransportError, TransportTimeout
from models.reference import OutputFormat

log = logging.getLogger(__name__)


class DeviceBackend(Backend):
    def __init__(
        self,
        name: str,
        device: Device,
        *,
        model_hash: str,
        horizon_ns: int,
        output_format: OutputFormat,
        firmware_hash: str = "",
        timeout_s: float = 1.0,
    ) -> None:
        self.name, self.device = name, device
        self.model_hash, self.horizon_ns, self.output_format = model_hash, horizon_ns, output_format
        self.firmware_hash, self.timeout_s = firmware_hash, timeout_s
        self._identity: BackendIdentity | None = None
        self.sent = self.received = 0
        self._base_in = self._base_out = 0
        self.card_cycles = np.zeros(0, dtype=np.int64)  # t_out - t_in of the last batch
        self.probs = ProbabilityCache(output_format)

    def start(self) -> DeviceBackend:
        """Check identity, clear state and counters, enable the datapath."""
        try:
            ident = self.device.check_identity(self.model_hash)
            rm = self.device.regmap
            self.device.pulse("CTRL_CONTROL", "SOFT_RESET")
            self.device.pulse("CTRL_CONTROL", "CLEAR_COUNTERS")
            self.device.write(
                "CTRL_ERROR_FLAGS", sum(f.mask for f in rm.REGISTERS["CTRL_ERROR_FLAGS"].fields.values())
            )
            self.device.write("CTRL_CONTROL", rm.REGISTERS["CTRL_CONTROL"].fields["ENABLE"].mask)
            self._base_in = self.device.read("STATS_RECORDS_IN")
            self._base_out = self.device.read("STATS_PREDICTIONS_OUT")
        except IdentityMismatch as e:
            raise BackendIdentityError(f"{self.name}: {e}") from e
        except TransportError as e:
            raise _translate(self.name, e) from e
        self._identity = BackendIdentity(
            self.name, self.model_hash, self.firmware_hash, ident.regmap_version, ident.core_id
        )
        log.info("%s backend up: %s", self.name, ident.as_dict())
        return self

    def submit(self, records: np.ndarray) -> PredictionBatch:
        n = len(records)
        try:
            wire = self.device.regmap.pack(to_wire(records))
        except ValueError as e:
            raise RecordRefused(f"{self.name}: {e}") from e
        try:
            self.device.send_wire(wire)
            self.sent += n
            raw = self.device.recv_predictions(n, self.timeout_s)
            self.received += n
        except TransportError as e:
            raise _translate(self.name, e) from e
        want = records["seq"].astype(np.uint64) & np.uint64(U32)
        if not np.array_equal(raw["seq"].astype(np.uint64), want):
            bad = int(np.flatnonzero(raw["seq"].astype(np.uint64) != want)[0])
            raise BackendFault(
                f"{self.name}: prediction {bad} has seq {int(raw['seq'][bad])}, "
                f"record has {int(want[bad])} (lost or reordered on the card)"
            )
        logits = raw["logits"].astype(np.int64)
        invalid = (raw["flags"] & self.device.regmap.PREDICTION_FLAG_INVALID) != 0
        self.card_cycles = (raw["t_out"] - raw["t_in"]).astype(np.int64)
        return make_predictions(
            records,
            logits,
            invalid,
            self.probs,
            horizon_ns=self.horizon_ns,
            model_hash=self.model_hash,
            backend=self.name,
        )

    def warm(self, records: np.ndarray) -> None:
        self.submit(records)

    def health(self) -> Health:
        """Error flags and counters: a stall is the card's counters disagreeing with what the host moved."""
        try:
            flags_reg = self.device.regmap.REGISTERS["CTRL_ERROR_FLAGS"]
            flags = self.device.read("CTRL_ERROR_FLAGS")
            status = self.device.read("CTRL_STATUS")
            c = self.device.counters()
        except TransportError as e:
            return Health(False, f"registers unreachable: {e}")
        counters = {k.removeprefix("STATS_").lower(): v for k, v in c.items()}
        problems = []
        if flags_reg.fields["OVERFLOW"].get(flags):
            problems.append("ERROR_FLAGS.OVERFLOW set")
        if not self.device.regmap.REGISTERS["CTRL_STATUS"].fields["ENABLED"].get(status):
            problems.append("datapath disabled")
        if (c["STATS_RECORDS_IN"] - self._base_in) & U32 != self.sent & U32:
            problems.append(f"records_in {counters['records_in']} != {self.sent} sent (stalled input?)")
        if (c["STATS_PREDICTIONS_OUT"] - self._base_out) & U32 != self.received & U32:
            problems.append(f"predictions_out {counters['predictions_out']} != {self.received} received")
        return Health(not problems, "; ".join(problems) or "ok", counters)

    def identity(self) -> BackendIdentity:
        if self._identity is None:
            raise BackendError(f"{self.name} backend not started")
        return self._identity

    def close(self) -> None:
        self.device.close()


def _translate(name: str, e: TransportError) -> BackendError:
    if isinstance(e, TransportTimeout):
        return BackendTimeout(f"{name}: {e}")
    return BackendFault(f"{name}: {e}")
