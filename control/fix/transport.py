"""Byte transports for the session runner: the asyncio TCP one, behind a small protocol.

The runner (control/fix/runner.py) is given a :class:`Transport`; it never opens sockets itself,
so tests and tools pass a real TCP transport (or any other implementation) instead of patching.
Servers bind to 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
READ_SIZE = 65536


class Transport(Protocol):
    peer: str

    async def read(self) -> bytes:
        """Next chunk of bytes; b"" when the peer closed the connection."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


class TcpTransport:
    """A connected asyncio TCP stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        info = writer.get_extra_info("peername")
        self.peer = f"{info[0]}:{info[1]}" if info else "?"

    async def read(self) -> bytes:
        try:
            return await self._reader.read(READ_SIZE)
        except (ConnectionResetError, BrokenPipeError) as exc:
            log.info("connection to %s lost: %s", self.peer, exc)
            return b""

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionResetError, BrokenPipeError) as exc:
            log.info("write to %s failed: %s", self.peer, exc)

    def close(self) -> None:
        self._writer.close()

    async def wait_closed(self) -> None:
        try:
            await self._writer.wait_closed()
        except (ConnectionResetError, BrokenPipeError):
            pass


async def connect_tcp(host: str, port: int, timeout_s: float = 10.0) -> TcpTransport:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    return TcpTransport(reader, writer)


async def serve_tcp(handler: Callable[[TcpTransport], Awaitable[None]], host: str = DEFAULT_HOST,
                    port: int = 0) -> asyncio.Server:
    """Start a TCP server calling ``handler(transport)`` per connection; port 0 picks a free port."""

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        transport = TcpTransport(reader, writer)
        try:
            await handler(transport)
        finally:
            transport.close()

    server = await asyncio.start_server(on_connect, host, port)
    log.info("FIX server listening on %s", ", ".join(str(s.getsockname()) for s in server.sockets))
    return server


def server_port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])
