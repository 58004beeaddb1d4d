"""cocotb test module that turns a simulated qg_core_top into a card the host can drive: it connects to
the host's SimIO socket and serves READ32/WRITE32 through an AxiLiteMaster and SEND/RECV through
AXI-Stream source/sink (protocol: control/driver/bridge_protocol.py). Simulated time advances only
while a request needs it, so the host sees the RTL exactly as the driver sees the board.

Started by sim/bridge/launch.py; not a pass/fail test of its own.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import struct

import cocotb
from cocotb.clock import Clock
from cocotb.handle import Force, Release
from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus, AxiStreamSink, AxiStreamSource

from control.driver import bridge_protocol as bp

log = logging.getLogger("cocotb.qg_bridge")

ENV_CLOCK_NS = "QG_BRIDGE_CLOCK_NS"


class Card:
    def __init__(self, dut, clock_ns: float) -> None:
        self.dut, self.clock_ns = dut, clock_ns
        Clock(dut.clk, clock_ns, unit="ns").start()
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 8)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 4)

    def cycles(self) -> int:
        return int(get_sim_time("ns") / self.clock_ns)

    async def recv(self, count: int, frame_bytes: int, max_cycles: int) -> tuple[int, bytes]:
        deadline = get_sim_time("ns") + max_cycles * self.clock_ns
        out = bytearray()
        got = 0
        while got < count:
            if self.sink.empty():
                remaining = deadline - get_sim_time("ns")
                if remaining <= 0:
                    return bp.TIMEOUT, bytes(out)
                await self.sink.wait(math.ceil(remaining), "ns")
                continue
            frame = bytes(self.sink.recv_nowait().tdata)
            if len(frame) != frame_bytes:
                raise ValueError(f"core sent a {len(frame)}-byte frame, expected {frame_bytes}")
            out += frame
            got += 1
        return bp.OK, bytes(out)

    async def handle(self, sock: socket.socket, op: int, a: int, b: int, payload: bytes) -> bool:
        """Serve one request; False when the host asked to shut down."""
        if op == bp.READ32:
            bp.send_reply(sock, bp.OK, await self.axil.read_dword(a))
        elif op == bp.WRITE32:
            await self.axil.write_dword(a, b)
            bp.send_reply(sock, bp.OK)
        elif op == bp.SEND:
            for i in range(0, len(payload), a):
                self.source.send_nowait(payload[i : i + a])
            bp.send_reply(sock, bp.OK)
        elif op == bp.RECV:
            (max_cycles,) = struct.unpack("<Q", payload)
            status, data = await self.recv(a, b, max_cycles)
            bp.send_reply(sock, status, 0, data)
        elif op == bp.STALL:
            self.sink.pause = bool(a)
            bp.send_reply(sock, bp.OK)
        elif op == bp.CYCLES:
            bp.send_reply(sock, bp.OK, 0, struct.pack("<Q", self.cycles()))
        elif op == bp.FORCE:
            handle = self.dut
            for part in payload.decode().split("."):
                handle = getattr(handle, part)
            handle.value = Force(a)
            await ClockCycles(self.dut.clk, max(b, 1))
            handle.value = Release()
            await ClockCycles(self.dut.clk, 1)
            bp.send_reply(sock, bp.OK)
        elif op == bp.SHUTDOWN:
            bp.send_reply(sock, bp.OK)
            return False
        else:
            bp.send_reply(sock, bp.ERROR, 0, f"unknown op {op}".encode())
        return True


@cocotb.test()
async def serve(dut):
    card = Card(dut, float(os.environ.get(ENV_CLOCK_NS, "4")))
    await card.reset()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.environ[bp.ENV_SOCKET])
    log.info("bridge connected to %s", os.environ[bp.ENV_SOCKET])
    try:
        while True:
            try:
                op, a, b, payload = bp.read_request(sock)
            except ConnectionError:
                log.info("host closed the bridge")
                return
            try:
                if not await card.handle(sock, op, a, b, payload):
                    return
            except (ValueError, struct.error, AttributeError) as e:
                bp.send_reply(sock, bp.ERROR, 0, str(e).encode())
    finally:
        sock.close()
