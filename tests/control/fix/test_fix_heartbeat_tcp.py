"""Timers and garbled input over real TCP: a raw client logs on to our acceptor with HeartBtInt=1,
sends a garbled message and a TestRequest, then goes silent; the acceptor heartbeats, sends a
TestRequest after 1.2 s of silence and disconnects after 2.4 s."""
from __future__ import annotations

import asyncio
import time

from control.fix.acceptor import Acceptor, AcceptorApp, AcceptorConfig, Counterparty
from control.fix.framing import Frame, Framer
from control.fix.messages import encode, parse, utc_timestamp
from control.fix.session import SystemClock
from control.fix.transport import connect_tcp


def msg(msg_type: bytes, seq: int, body: list[tuple[int, bytes]]) -> bytes:
    header = [(34, b"%d" % seq), (49, b"CLIENT"), (52, utc_timestamp(time.time_ns())), (56, b"DESK")]
    return encode(msg_type, header, body)


def test_silent_peer_gets_test_request_then_disconnect_and_garbled_is_ignored():
    async def main():
        clock = SystemClock()
        desk = Acceptor(AcceptorConfig("DESK", (Counterparty("CLIENT"),)), AcceptorApp(clock), clock)
        port = await desk.start()
        t = await connect_tcp("127.0.0.1", port)
        t.write(msg(b"A", 1, [(98, b"0"), (108, b"1")]))
        bad = msg(b"1", 2, [(112, b"LOST")])
        t.write(bad[:-4] + b"999\x01")                 # CheckSum wrong: dropped, seq 2 not consumed
        t.write(msg(b"1", 2, [(112, b"PING")]))       # so this one is in sequence
        await t.drain()
        start = time.monotonic()
        data = b""
        while chunk := await asyncio.wait_for(t.read(), 10):
            data += chunk
        elapsed = time.monotonic() - start
        t.close()
        await desk.stop()
        return [parse(f.raw) for f in Framer().feed(data) if isinstance(f, Frame)], elapsed, desk

    got, elapsed, desk = asyncio.run(main())
    types = [m.msg_type for m in got]
    assert types[0] == "A"
    assert [m.value(112) for m in got if m.msg_type == "0" and m.value(112)] == [b"PING"]
    assert "1" in types                                   # TestRequest after 1.2 x HeartBtInt
    assert 2.0 <= elapsed < 6.0                           # disconnected after 2.4 x HeartBtInt
    assert [m.as_int(34) for m in got] == list(range(1, len(got) + 1))
    session = desk.runners[0].session
    assert session.stats.garbled == 1 and session.next_target_seq == 3
    assert "Heartbeat timeout" in desk.runners[0].disconnect_reason
