"""Wire protocol between the host-side SimIO transport and the cocotb bridge (sim/bridge/qg_bridge.py)
that runs qg_core_top in a simulator. One request, one reply, over a stream socket, little-endian:

    request: op u8, a u32, b u32, n u32, then n payload bytes
    reply:   status u8, value u32, n u32, then n payload bytes

ops: READ32 (a=offset) -> value; WRITE32 (a=offset, b=value); SEND (a=frame bytes, payload=frames;
queued to the AXI-Stream source, reply at once); RECV (a=count, b=frame bytes, payload=u64 max cycles)
-> the frames received, fewer than `count` with status TIMEOUT if the core did not deliver them in time;
STALL (a=1 holds m_axis_tready low, a=0 releases it: downstream backpressure, used for fault tests);
CYCLES -> u64 cycle count (payload); SHUTDOWN ends the simulation; FORCE (a=value, b=cycles,
payload=signal path below the top, e.g. b"fifo_overflow") forces a net for b cycles, then releases it:
fault injection at the signal level (an upset), never a change to the host code under test.
"""

from __future__ import annotations

import socket
import struct

REQ = struct.Struct("<BIII")
REP = struct.Struct("<BII")

READ32, WRITE32, SEND, RECV, STALL, CYCLES, SHUTDOWN, FORCE = range(1, 9)
OK, TIMEOUT, ERROR = 0, 1, 2

ENV_SOCKET = "QG_BRIDGE_SOCKET"  # where the bridge connects (the host listens)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Read exactly n bytes; raise ConnectionError on EOF."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise ConnectionError("bridge peer closed the connection")
        buf += chunk
    return bytes(buf)


def send_request(sock: socket.socket, op: int, a: int = 0, b: int = 0, payload: bytes = b"") -> None:
    sock.sendall(REQ.pack(op, a, b, len(payload)) + payload)


def read_request(sock: socket.socket) -> tuple[int, int, int, bytes]:
    op, a, b, n = REQ.unpack(recv_exact(sock, REQ.size))
    return op, a, b, recv_exact(sock, n) if n else b""


def send_reply(sock: socket.socket, status: int, value: int = 0, payload: bytes = b"") -> None:
    sock.sendall(REP.pack(status, value, len(payload)) + payload)


def read_reply(sock: socket.socket) -> tuple[int, int, bytes]:
    status, value, n = REP.unpack(recv_exact(sock, REP.size))
    return status, value, recv_exact(sock, n) if n else b""
