"""Transports under the one driver: a `RegisterIO` protocol (32-bit AXI-Lite access by byte offset)
and a `StreamIO` protocol (AXI-Stream frames: book records to the card, predictions back).

Implementations:
- `control.driver.pynq_io.PynqIO`  -- the board (pynq Overlay + DMA); the only module importing pynq.
- `control.driver.sim_io.SimIO`    -- qg_core_top under Icarus/cocotb, over a socket bridge (sim/bridge).
- `FakeIO` (here)                  -- a dict of registers and a frame queue, for driver unit tests only.

Frames travel as bytes: packing records into the card's wire layout is the driver's job
(`control.driver.regmap.pack/unpack`), so every transport moves the same bytes.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Protocol, runtime_checkable

from control.driver.errors import RegisterAccessError, TransportClosed, TransportTimeout

log = logging.getLogger(__name__)

MASK32 = 0xFFFF_FFFF


@runtime_checkable
class RegisterIO(Protocol):
    """32-bit register access at byte offsets of the core's AXI-Lite window."""

    def read32(self, offset: int) -> int: ...

    def write32(self, offset: int, value: int) -> None: ...


@runtime_checkable
class StreamIO(Protocol):
    """Fixed-size frames in and out of the core's AXI-Streams, in order."""

    def send_frames(self, payload: bytes, frame_bytes: int) -> None:
        """Send len(payload) // frame_bytes frames back to back (tlast after each)."""
        ...

    def recv_frames(self, count: int, frame_bytes: int, timeout_s: float) -> bytes:
        """Receive exactly `count` frames; raise TransportTimeout if they do not arrive in time."""
        ...

    def close(self) -> None: ...


def check_u32(value: int) -> int:
    if not 0 <= value <= MASK32:
        raise RegisterAccessError(f"value {value:#x} does not fit in 32 bits")
    return value


class FakeIO:
    """Registers in a dict and a queue of prepared output frames. For unit tests of the driver only:
    it models no card behaviour beyond storage, so anything it returns was put there by the test."""

    def __init__(self, registers: dict[int, int] | None = None) -> None:
        self.registers: dict[int, int] = dict(registers or {})
        self.writes: list[tuple[int, int]] = []
        self.sent: list[bytes] = []
        self._out: deque[bytes] = deque()
        self.closed = False

    def read32(self, offset: int) -> int:
        self._check_open()
        return self.registers.get(offset, 0)

    def write32(self, offset: int, value: int) -> None:
        self._check_open()
        self.registers[offset] = check_u32(value)
        self.writes.append((offset, value))

    def queue_frames(self, payload: bytes) -> None:
        """Make `payload` (whole frames) available to recv_frames."""
        self._out.append(bytes(payload))

    def send_frames(self, payload: bytes, frame_bytes: int) -> None:
        self._check_open()
        if len(payload) % frame_bytes:
            raise ValueError(
                f"payload of {len(payload)} bytes is not a whole number of {frame_bytes}-byte frames"
            )
        self.sent.append(bytes(payload))

    def recv_frames(self, count: int, frame_bytes: int, timeout_s: float) -> bytes:
        self._check_open()
        want = count * frame_bytes
        buf = bytearray()
        while len(buf) < want and self._out:
            chunk = self._out.popleft()
            take = want - len(buf)
            buf += chunk[:take]
            if len(chunk) > take:
                self._out.appendleft(chunk[take:])
        if len(buf) < want:
            if buf:
                self._out.appendleft(bytes(buf))
            raise TransportTimeout(f"FakeIO: {len(buf) // frame_bytes} of {count} frames available")
        return bytes(buf)

    def close(self) -> None:
        self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise TransportClosed("FakeIO is closed")
