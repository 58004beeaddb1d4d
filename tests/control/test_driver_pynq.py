"""The PYNQ transport (control/driver/pynq_io.py) end to end, without a board: pynq's own classes
(DefaultIP bound by VLNV, pynq.lib.dma.DMA, pynq.allocate) run against an injected `pynq.Device` that
presents the qg_core AXI-Lite window and an AXI DMA (PG021 simple mode) at the register level, with the
core itself being qg_core_top under Icarus (through the simulator bridge). Predictions must equal the
model's golden vectors.

pynq 4.0 pins numpy<2, so this runs in a board-runtime environment (pynq + numpy 1.26 + pytest + pyyaml);
the simulator side runs under the project venv's interpreter (cocotb). In the main venv it is skipped.
"""

from __future__ import annotations

import importlib.util
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

pynq = pytest.importorskip(
    "pynq", reason="pynq not installed (board runtime environment, see control/README.md)"
)

from pynq.buffer import PynqBuffer  # noqa: E402
from pynq.lib.dma import DMA  # noqa: E402

from control.driver import regmap  # noqa: E402
from control.driver.device import Device  # noqa: E402
from control.driver.errors import TransportTimeout  # noqa: E402
from control.driver.pynq_io import VLNV, PynqIO, QgCore  # noqa: E402
from control.driver.sim_io import SimConfig, SimIO  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "models" / "qg_mlp" / "artifacts"
CORE_BASE, DMA_BASE, WINDOW = 0x43C0_0000, 0x4040_0000, 0x1_0000

pytestmark = [
    pytest.mark.sim,
    pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not on PATH"),
]


def _sim_python() -> str:
    if importlib.util.find_spec("cocotb") is not None:
        return sys.executable
    venv = REPO / ".venv" / "bin" / "python"
    if not venv.exists():
        pytest.skip("no interpreter with cocotb for the simulator side")
    return str(venv)


class QgCard(pynq.Device):
    """What pynq sees of a board carrying qg_core: register-level MMIO (REGISTER_RW) of the core window
    and of an AXI DMA, whose streams go to the simulated core."""

    def __init__(self, core: SimIO) -> None:
        super().__init__("qgcard0")
        self.capabilities = {"REGISTER_RW": True}
        self.core = core
        self.dma = {0x00: 0, 0x04: 1, 0x30: 0, 0x34: 1}  # DMACR / DMASR per channel: halted
        self.buffers: dict[int, PynqBuffer] = {}
        self.next_addr = 0x1000_0000
        self.dma_writes: list[tuple[int, int]] = []

    def allocate(self, shape, dtype, **kwargs):
        buf = PynqBuffer(
            shape, dtype, device=self, device_address=self.next_addr, bo=len(self.buffers), coherent=True
        )
        self.buffers[self.next_addr] = buf
        self.next_addr += (buf.nbytes + 0xFFF) & ~0xFFF
        return buf

    def _mem(self, addr: int, n: int) -> np.ndarray:
        for base, buf in self.buffers.items():
            if base <= addr and addr + n <= base + buf.nbytes:
                return buf.view(np.uint8).reshape(-1)[addr - base : addr - base + n]
        raise RuntimeError(f"DMA decode error at {addr:#x}")

    def read_registers(self, address, length):
        if CORE_BASE <= address < CORE_BASE + WINDOW:
            return struct.pack("<I", self.core.read32(address - CORE_BASE))
        return struct.pack("<I", self.dma.get(address - DMA_BASE, 0))

    def write_registers(self, address, data):
        val = struct.unpack("<I", bytes(data)[:4])[0]
        if CORE_BASE <= address < CORE_BASE + WINDOW:
            self.core.write32(address - CORE_BASE, val)
            return
        off = address - DMA_BASE
        self.dma_writes.append((off, val))
        self.dma[off] = val
        if off in (0x00, 0x30):  # DMACR.RS
            self.dma[off + 4] = 0x2 if val & 1 else 0x1
        elif off == 0x28:  # MM2S_LENGTH: stream the buffer out
            src = self.dma[0x18] | (self.dma[0x1C] << 32)
            self.core.send_frames(self._mem(src, val).tobytes(), regmap.BOOK_RECORD_DTYPE.itemsize)
            self.dma[0x04] = 0x2
        elif off == 0x58:  # S2MM_LENGTH: receive one packet
            self.dma[0x34] = 0x0
            size = regmap.PREDICTION_DTYPE.itemsize
            try:
                frame = self.core.recv_frames(1, size, timeout_s=5)
            except TransportTimeout:
                return  # stays busy: the host's deadline decides
            dst = self.dma[0x48] | (self.dma[0x4C] << 32)
            self._mem(dst, size)[:] = np.frombuffer(frame, np.uint8)
            self.dma[0x58] = size
            self.dma[0x34] = 0x2


@pytest.fixture()
def board(tmp_path):
    core = SimIO.launch(SimConfig(build_dir=tmp_path / "sim", python=_sim_python(), max_cycles_per_frame=500))
    card = QgCard(core)
    pynq.Device.active_device = card
    ip = QgCore(
        {
            "phys_addr": CORE_BASE,
            "addr_range": WINDOW,
            "device": card,
            "fullpath": "qg_core_0",
            "type": VLNV,
            "registers": {},
        }
    )
    dma = DMA(
        {
            "phys_addr": DMA_BASE,
            "addr_range": WINDOW,
            "device": card,
            "interrupts": {},
            "parameters": {
                "c_include_sg": "0",
                "c_sg_length_width": "14",
                "c_include_mm2s": "1",
                "c_m_axi_mm2s_data_width": "64",
                "c_include_s2mm": "1",
                "c_m_axi_s2mm_data_width": "64",
                "c_micro_dma": "0",
                "c_include_mm2s_dre": "0",
                "c_include_s2mm_dre": "0",
                "c_mm2s_burst_size": "16",
                "c_s2mm_burst_size": "16",
            },
        }
    )
    io = PynqIO(ip, dma, device=card)
    yield Device(io, io), card
    io.close()
    core.close()


def _golden(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z = np.load(ARTIFACTS / "golden.npz")
    recs = np.zeros(n, dtype=regmap.BOOK_RECORD_DTYPE)
    for name in regmap.BOOK_RECORD_DTYPE.names:
        recs[name] = z[name][:n]
    return recs, z["outputs"][:n].astype(np.int64), z["invalid"][:n]


def test_vlnv_binding():
    from pynq.overlay import _ip_drivers

    assert _ip_drivers[VLNV] is QgCore


def test_identity_and_golden_vectors_through_pynq(board):
    import json

    dev, card = board
    ident = dev.check_identity(json.loads((ARTIFACTS / "metadata.json").read_text())["model_hash"])
    assert ident.regmap_version == regmap.REGMAP_VERSION
    recs, outputs, invalid = _golden(96)
    got = []
    for i in range(0, len(recs), 32):
        dev.send_records(recs[i : i + 32])
        got.append(dev.recv_predictions(32, timeout_s=60))
    pred = np.concatenate(got)
    assert pred["seq"].tolist() == recs["seq"].tolist()
    np.testing.assert_array_equal(pred["logits"].astype(np.int64), outputs)
    np.testing.assert_array_equal((pred["flags"] & regmap.PREDICTION_FLAG_INVALID) != 0, invalid)
    mm2s = [v for off, v in card.dma_writes if off == 0x28]
    assert mm2s == [32 * regmap.BOOK_RECORD_DTYPE.itemsize] * 3  # one MM2S transfer per batch
    assert dev.read("STATS_RECORDS_IN") == 96


def test_stalled_stream_times_out_through_pynq(board):
    dev, card = board
    recs, _, _ = _golden(4)
    card.core.stall_output(True)
    dev.send_records(recs)
    with pytest.raises(TransportTimeout, match="did not complete"):
        dev.recv_predictions(4, timeout_s=0.5)
