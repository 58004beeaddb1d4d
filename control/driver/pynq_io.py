"""The board transport: pynq Overlay, the qg_core IP bound by VLNV, and an AXI DMA (simple mode).

This is the ONLY module that imports pynq (pynq 4.0 pins numpy<2; the main environment does not have
it). Import it lazily, where a board transport is asked for. It works on the board and from an x86 host
through PYNQ.remote (`PYNQ_REMOTE_DEVICES=<board ip>`), and against any injected `pynq.Device`.

Stream convention of qg_core: input records are counted by beats (one MM2S transfer carries a whole
batch); every prediction frame ends with tlast, so S2MM takes one transfer per prediction.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pynq
from pynq import DefaultIP

from control.driver.errors import TransportClosed, TransportError, TransportTimeout
from control.driver.io import check_u32

log = logging.getLogger(__name__)

VLNV = "quoteguard:quoteguard:qg_core:1.0"
POLL_S = 20e-6


class QgCore(DefaultIP):
    """Driver class pynq instantiates for every qg_core in the overlay's .hwh."""

    bindto = [VLNV]

    def __init__(self, description: dict) -> None:
        super().__init__(description=description)


class PynqIO:
    """RegisterIO + StreamIO over a QgCore IP and its AXI DMA."""

    def __init__(self, core: QgCore, dma, device: pynq.Device | None = None) -> None:
        self.core, self.dma, self.device = core, dma, device
        self._tx: np.ndarray | None = None
        self._rx: np.ndarray | None = None
        self._tx_pending = False  # an MM2S transfer was started and not yet seen complete
        self.closed = False

    @classmethod
    def from_overlay(cls, bitfile: Path, dma_name: str = "axi_dma_0", download: bool = True) -> PynqIO:
        """Load (or attach to) an overlay; `bitfile` needs its .hwh beside it."""
        bitfile = Path(bitfile)
        if not bitfile.with_suffix(".hwh").exists():
            raise TransportError(
                f"{bitfile.with_suffix('.hwh')} missing: pynq needs the .hwh beside the .bit"
            )
        try:
            ol = pynq.Overlay(str(bitfile), download=download)
        except RuntimeError as e:  # pynq raises RuntimeError("No Devices Found") without a board
            raise TransportError(f"cannot open overlay {bitfile}: {e}") from e
        cores = [
            name for name, d in ol.ip_dict.items() if d.get("type", "").startswith(VLNV.rsplit(":", 1)[0])
        ]
        if len(cores) != 1:
            raise TransportError(
                f"overlay {bitfile} has {len(cores)} qg_core instances ({cores}); expected 1"
            )
        return cls(getattr(ol, cores[0]), getattr(ol, dma_name))

    # -- RegisterIO --------------------------------------------------------------------------------
    def read32(self, offset: int) -> int:
        self._check_open()
        return int(self.core.read(offset)) & 0xFFFF_FFFF

    def write32(self, offset: int, value: int) -> None:
        self._check_open()
        self.core.write(offset, check_u32(value))

    # -- StreamIO ----------------------------------------------------------------------------------
    def send_frames(self, payload: bytes, frame_bytes: int) -> None:
        """Start one MM2S transfer of the whole batch; it completes while predictions are read."""
        self._check_open()
        if len(payload) % frame_bytes:
            raise ValueError(
                f"payload of {len(payload)} bytes is not a whole number of {frame_bytes}-byte frames"
            )
        ch = self.dma.sendchannel
        if self._tx_pending:
            self._wait(ch, 1.0, "previous MM2S transfer")
        self._tx = self._buffer(self._tx, len(payload))
        self._tx[: len(payload)] = np.frombuffer(payload, dtype=np.uint8)
        ch.transfer(self._tx, nbytes=len(payload))
        self._tx_pending = True

    def recv_frames(self, count: int, frame_bytes: int, timeout_s: float) -> bytes:
        self._check_open()
        deadline = time.monotonic() + timeout_s
        self._rx = self._buffer(self._rx, count * frame_bytes)
        ch = self.dma.recvchannel
        for i in range(count):
            ch.transfer(self._rx, start=i * frame_bytes, nbytes=frame_bytes)
            self._wait(ch, deadline - time.monotonic(), f"prediction {i} of {count}")
        if self._tx_pending:
            self._wait(self.dma.sendchannel, deadline - time.monotonic(), "MM2S transfer")
            self._tx_pending = False
        return self._rx[: count * frame_bytes].tobytes()

    def close(self) -> None:
        for buf in (self._tx, self._rx):
            if buf is not None:
                buf.freebuffer()
        self._tx = self._rx = None
        self.closed = True

    # -- internals ---------------------------------------------------------------------------------
    def _buffer(self, buf: np.ndarray | None, nbytes: int) -> np.ndarray:
        if buf is not None and buf.nbytes >= nbytes:
            return buf
        if buf is not None:
            buf.freebuffer()
        size = 1 << max(12, (nbytes - 1).bit_length())
        return (
            pynq.allocate(shape=(size,), dtype=np.uint8, target=self.device)
            if self.device
            else pynq.allocate(shape=(size,), dtype=np.uint8)
        )

    @staticmethod
    def _wait(ch, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + max(timeout_s, 0.0)
        while not ch.idle:
            if ch.error:
                raise TransportError(f"DMA error while waiting for {what}")
            if time.monotonic() > deadline:
                raise TransportTimeout(
                    f"DMA: {what} did not complete within {timeout_s:.3f} s (stalled stream?)"
                )
            time.sleep(POLL_S)

    def _check_open(self) -> None:
        if self.closed:
            raise TransportClosed("PynqIO is closed")


def board_present() -> bool:
    """True when pynq sees a device (a local board, PYNQ.remote, or an injected pynq.Device)."""
    try:
        return pynq.Device.active_device is not None
    except RuntimeError:  # "No Devices Found"
        return False
