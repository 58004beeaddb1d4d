"""The one driver for the QuoteGuard core: registers by name (from the generated map), stream send of
book records and receive of predictions, and the identity check. The same class drives the board
(PynqIO), the RTL in a simulator (SimIO) and FakeIO; only the transport differs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from control.driver.errors import IdentityMismatch, RegisterAccessError, UnknownRegister
from control.driver.io import RegisterIO, StreamIO, check_u32

log = logging.getLogger(__name__)


def default_regmap() -> ModuleType:
    from control.driver import regmap

    return regmap


@dataclass(frozen=True)
class Identity:
    core_id: int
    regmap_version: int
    model_hash: str  # hex digest prefix as far as the card stores it

    def as_dict(self) -> dict[str, object]:
        return {
            "core_id": f"{self.core_id:#010x}",
            "regmap_version": self.regmap_version,
            "model_hash": self.model_hash,
        }


class Device:
    """Operations on one qg_core instance. Holds no cached register values: every read goes to the card."""

    def __init__(
        self, regs: RegisterIO, stream: StreamIO | None = None, regmap: ModuleType | None = None
    ) -> None:
        self.regs = regs
        self.stream = stream
        self.regmap = regmap if regmap is not None else default_regmap()

    # -- registers by name -------------------------------------------------------------------------
    def register(self, name: str):
        try:
            return self.regmap.REGISTERS[name.upper()]
        except KeyError:
            raise UnknownRegister(
                f"no register {name!r}; known: {', '.join(self.regmap.REGISTERS)}"
            ) from None

    def read(self, name: str) -> int:
        return self.regs.read32(self.register(name).offset)

    def write(self, name: str, value: int) -> None:
        reg = self.register(name)
        if not _writable(reg):
            raise RegisterAccessError(f"register {reg.name} is {reg.access}, not writable")
        self.regs.write32(reg.offset, check_u32(value))

    def read_field(self, name: str, field: str) -> int:
        reg = self.register(name)
        try:
            return reg.fields[field.upper()].get(self.regs.read32(reg.offset))
        except KeyError:
            raise UnknownRegister(
                f"register {reg.name} has no field {field!r}; fields: {', '.join(reg.fields)}"
            ) from None

    def pulse(self, name: str, field: str) -> None:
        """Write 1 to a w1p field (e.g. CTRL_CONTROL.SOFT_RESET), keeping the register's rw fields as they are."""
        reg = self.register(name)
        f = reg.fields.get(field.upper())
        if f is None or f.access != "w1p":
            raise RegisterAccessError(f"{reg.name}.{field} is not a pulse (w1p) field")
        keep = sum(x.mask for x in reg.fields.values() if x.access == "rw")
        self.regs.write32(reg.offset, (self.regs.read32(reg.offset) & keep) | f.mask)

    def counters(self) -> dict[str, int]:
        """The STATS block (without its header), by register name."""
        return {
            n: self.regs.read32(r.offset)
            for n, r in self.regmap.REGISTERS.items()
            if r.block == "STATS" and r.access == "ro"
        }

    def dump(self) -> dict[str, int]:
        """Every readable register, in map order."""
        return {
            name: self.regs.read32(reg.offset)
            for name, reg in self.regmap.REGISTERS.items()
            if _readable(reg)
        }

    # -- identity ----------------------------------------------------------------------------------
    def identity(self) -> Identity:
        words = [self.read(n) for n in self.regmap.MODEL_HASH_REGISTERS]
        return Identity(
            core_id=self.read(self.regmap.ID_REGISTER),
            regmap_version=self.read(self.regmap.VERSION_REGISTER),
            model_hash="".join(f"{w:08x}" for w in words),
        )

    def check_identity(self, model_hash: str) -> Identity:
        """Raise IdentityMismatch unless the card is a qg_core of this regmap version running `model_hash`."""
        ident = self.identity()
        problems = []
        if ident.core_id != self.regmap.ID_VALUE:
            problems.append(f"ID {ident.core_id:#010x} != {self.regmap.ID_VALUE:#010x} (not a qg_core?)")
        if ident.regmap_version != self.regmap.REGMAP_VERSION:
            problems.append(f"regmap version {ident.regmap_version} != host {self.regmap.REGMAP_VERSION}")
        if not model_hash.lower().startswith(ident.model_hash):
            problems.append(
                f"model hash {ident.model_hash} on the card, host artifacts {model_hash[: len(ident.model_hash)]}"
            )
        if problems:
            raise IdentityMismatch("; ".join(problems))
        return ident

    # -- streams -----------------------------------------------------------------------------------
    def send_records(self, records: np.ndarray) -> None:
        """Pack book records into the card's wire layout and send them, one frame each."""
        self.send_wire(self.regmap.pack(to_wire(records)))

    def send_wire(self, wire: np.ndarray) -> None:
        """Send records already in the wire layout (BOOK_RECORD_DTYPE)."""
        self._stream().send_frames(wire.tobytes(), self.regmap.BOOK_RECORD_DTYPE.itemsize)

    def recv_predictions(self, count: int, timeout_s: float) -> np.ndarray:
        """Receive `count` prediction records (PREDICTION_DTYPE), in order."""
        size = self.regmap.PREDICTION_DTYPE.itemsize
        return self.regmap.unpack(self._stream().recv_frames(count, size, timeout_s))

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def _stream(self) -> StreamIO:
        if self.stream is None:
            raise RegisterAccessError("this device was opened without a stream transport (registers only)")
        return self.stream


WRITABLE = ("rw", "rw1c", "w1p")
U32 = 0xFFFF_FFFF


def to_wire(records: np.ndarray) -> np.ndarray:
    """The host record with its seq cut to the wire's 32 bits (the card's seq wraps, FEATURES.md)."""
    if len(records) and int(records["seq"].max()) > U32:
        records = records.copy()
        records["seq"] &= np.uint64(U32)
    return records


def _readable(reg) -> bool:
    return reg.access != "w1p"


def _writable(reg) -> bool:
    return reg.access in WRITABLE
