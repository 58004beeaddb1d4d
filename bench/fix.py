"""FIX layer throughput, next to raw simplefix in the same run.

    .venv/bin/python bench/fix.py [--count N] [--repeat R] [--json]

Rows (best of R runs, N messages each; a Quote of ~200 bytes):
  simplefix encode            FixMessage.append_pair x fields + encode()      (reference)
  simplefix parse             FixParser fed 64 KiB socket-sized chunks        (reference)
  ours encode                 QuoteWriter + header + encode_message           (no session)
  ours Quote frame            control.fix.quote_frame.QuoteFrame from ticks and lots: the appliance's
                              dry-run requote path (compiled; the same bytes, checked in the run)
  ours session send           Session.send: seq, header, encode, outbound dictionary check, MemoryStore
  ours session send, sqlite   the same with SqliteStore (WAL; FULL: one fsync per message, power-loss
                              safe; NORMAL: survives kill -9 but not an OS crash)
  ours frame+parse            Framer (BodyLength, CheckSum) + parse, 64 KiB chunks
  ours session receive        Session.data_received: frame, parse, validate, sequence, deliver
  ours loopback TCP           initiator -> our venue acceptor over 127.0.0.1, end to end
Figures come from a shared 2-core machine: quote them with the load average.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import simplefix

from control.fix.acceptor import Acceptor, AcceptorApp, AcceptorConfig, Counterparty
from control.fix.framing import Frame, Framer
from control.fix.initiator import QuoteStreamer
from control.fix.interface import InstrumentQuote, QuoteUpdate
from control.fix.messages import Message, encode_message, parse, utc_timestamp
from control.fix.quote_frame import QuoteFrame
from control.fix.quotes import QuoteWriter
from control.fix.session import Deliver, Role, Send, Session, SessionConfig, SystemClock
from control.fix.store import MemoryStore, SqliteStore
from control.fix.transport import connect_tcp

CHUNK = 65536
UPDATE = QuoteUpdate((InstrumentQuote("BTCUSDT", Decimal("64000.1"), Decimal("64000.2"), Decimal("1.25"),
                                      Decimal("1.25")),), reason="vol_spread;move_widen")


def timed(fn, n: int, repeat: int) -> float:
    """Best seconds of ``repeat`` runs of ``fn(n)``."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(n)
        best = min(best, time.perf_counter() - t)
    return best


def simplefix_encode(n: int) -> None:
    now = time.time_ns()
    ts = utc_timestamp(now)
    for i in range(n):
        m = simplefix.FixMessage()
        m.append_pair(8, "FIX.4.4")
        m.append_pair(35, "S")
        m.append_pair(34, i + 1)
        m.append_pair(49, "QUOTEGUARD")
        m.append_pair(52, ts)
        m.append_pair(56, "VENUE")
        m.append_pair(117, f"QG-{i}")
        m.append_pair(537, 1)
        m.append_pair(55, "BTCUSDT")
        m.append_pair(132, "64000.1")
        m.append_pair(133, "64000.2")
        m.append_pair(134, "1.25")
        m.append_pair(135, "1.25")
        m.append_pair(60, ts)
        m.append_pair(58, "vol_spread;move_widen")
        m.encode()


def make_stream(n: int) -> bytes:
    clock = SystemClock()
    w = QuoteWriter()
    out = []
    for i in range(n):
        m = w.messages(UPDATE, clock.time_ns())[0]
        out.append(encode_message(m, [(34, b"%d" % (i + 2)), (49, b"CLIENT"), (52, utc_timestamp(clock.time_ns())),
                                      (56, b"DESK")]))
    return b"".join(out)


def chunks(data: bytes) -> list[bytes]:
    return [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]


def simplefix_parse(parts: list[bytes]) -> int:
    p = simplefix.FixParser()
    got = 0
    for c in parts:
        p.append_buffer(c)
        while p.get_message() is not None:
            got += 1
    return got


def ours_frame_parse(parts: list[bytes]) -> int:
    f = Framer()
    got = 0
    for c in parts:
        for item in f.feed(c):
            if isinstance(item, Frame):
                parse(item.raw)
                got += 1
    return got


def logged_on_acceptor() -> Session:
    clock = SystemClock()
    s = Session(SessionConfig("DESK", "CLIENT", Role.ACCEPTOR), MemoryStore(), clock)
    s.connection_made()
    logon = encode_message(
        Message("A").add(98, 0).add(108, 30),
        [(34, b"1"), (49, b"CLIENT"), (52, utc_timestamp(clock.time_ns())), (56, b"DESK")])
    s.data_received(logon)
    return s


def ours_receive(parts: list[bytes]) -> int:
    s = logged_on_acceptor()
    got = 0
    for c in parts:
        acts = s.data_received(c)
        while True:
            got += sum(isinstance(a, Deliver) for a in acts)
            if not s.pending:
                break
            acts = s.data_received(b"")
    return got


def session_sender(store) -> Session:
    clock = SystemClock()
    s = Session(SessionConfig("QG", "VENUE", Role.ACCEPTOR), store, clock)
    s.connection_made()
    s.data_received(encode_message(
        Message("A").add(98, 0).add(108, 30),
        [(34, b"1"), (49, b"VENUE"), (52, utc_timestamp(clock.time_ns())), (56, b"QG")]))
    return s


def ours_session_send(n: int, store=None) -> None:
    s = session_sender(store or MemoryStore())
    w = QuoteWriter()
    clock = s.clock
    for _ in range(n):
        for m in w.messages(UPDATE, clock.time_ns()):
            for a in s.send(m):
                assert isinstance(a, Send)


FRAME_ARGS = ("BTCUSDT", Decimal("0.1"), Decimal("0.01"), "QUOTEGUARD", "VENUE", "QG")


def ours_frame(n: int) -> None:
    f = QuoteFrame.of(*FRAME_ARGS)
    for i in range(n):
        f.quote(i, time.time_ns(), i, 640001, 640002, 125, 125, "vol_spread;move_widen")


def check_frame() -> None:
    """The frame row's bytes are the encoder row's bytes (64000.1 = 640001 ticks of 0.1, 1.25 = 125 lots)."""
    now = time.time_ns()
    (m,) = QuoteWriter(start=7).messages(UPDATE, now)
    want = encode_message(m, [(34, b"3"), (49, b"QUOTEGUARD"), (52, utc_timestamp(now)), (56, b"VENUE")])
    assert QuoteFrame.of(*FRAME_ARGS).quote(3, now, 7, 640001, 640002, 125, 125, "vol_spread;move_widen") == want


def ours_encode(n: int) -> None:
    w = QuoteWriter()
    for i in range(n):
        now = time.time_ns()
        for m in w.messages(UPDATE, now):
            encode_message(m, [(34, b"%d" % i), (49, b"QUOTEGUARD"), (52, utc_timestamp(now)), (56, b"VENUE")])


async def loopback(n: int) -> float:
    clock = SystemClock()
    venue = Acceptor(AcceptorConfig("VENUE", (Counterparty("QG"),)), AcceptorApp(clock, venue=True), clock)
    port = await venue.start()
    session = Session(SessionConfig("QG", "VENUE", Role.INITIATOR), MemoryStore(), clock)

    async def events():
        for _ in range(n):
            yield UPDATE

    t = time.perf_counter()
    await QuoteStreamer(session, QuoteWriter()).run(await connect_tcp("127.0.0.1", port), events())
    dt = time.perf_counter() - t
    await venue.stop()
    assert len(venue.app.received) == n, len(venue.app.received)
    return dt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sqlite-count", type=int, default=500, help="messages for the fsync-per-message row")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    n, r = args.count, args.repeat
    sample = make_stream(1)
    stream = make_stream(n)
    parts = chunks(stream)
    assert simplefix_parse(parts) == n and ours_frame_parse(parts) == n and ours_receive(parts) == n
    rows: list[tuple[str, int, float]] = []
    rows.append(("simplefix encode (reference)", n, timed(simplefix_encode, n, r)))
    rows.append(("ours encode (QuoteWriter + header)", n, timed(ours_encode, n, r)))
    check_frame()
    rows.append(("ours Quote frame (compiled, from ticks)", n, timed(ours_frame, n, r)))
    rows.append(("ours session send (validate, MemoryStore)", n, timed(ours_session_send, n, r)))
    with tempfile.TemporaryDirectory() as tmp:
        sq = args.sqlite_count

        def sqlite_send(k: int, sync: str) -> None:
            path = Path(tmp) / f"s{time.perf_counter_ns()}.db"
            store = SqliteStore(path, synchronous=sync)
            try:
                ours_session_send(k, store)
            finally:
                store.close()

        rows.append(("ours session send (SqliteStore FULL: fsync/msg)", sq,
                     timed(lambda k: sqlite_send(k, "FULL"), sq, r)))
        rows.append(("ours session send (SqliteStore NORMAL: kill-9 safe)", n,
                     timed(lambda k: sqlite_send(k, "NORMAL"), n, r)))
    rows.append(("simplefix parse, 64 KiB chunks (reference)", n, timed(lambda _: simplefix_parse(parts), n, r)))
    rows.append(("ours frame + parse, 64 KiB chunks", n, timed(lambda _: ours_frame_parse(parts), n, r)))
    rows.append(("ours session receive (frame, parse, validate, seq)", n, timed(lambda _: ours_receive(parts), n, r)))
    ln = min(n, 5000)
    rows.append(("ours loopback TCP initiator -> venue", ln, min(asyncio.run(loopback(ln)) for _ in range(r))))
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"message_bytes": len(sample), "loadavg": load,
                          "rows": [{"name": k, "count": c, "seconds": s, "msg_per_s": c / s, "us_per_msg": s / c * 1e6}
                                   for k, c, s in rows]}, indent=2))
        return 0
    print(f"FIX bench: Quote of {len(sample)} bytes, best of {r}; python {sys.version.split()[0]}, "
          f"simplefix {getattr(simplefix, '__version__', '1.0.17')}, load average {load[0]:.2f}")
    print(f"{'path':56s} {'msgs':>7s} {'msg/s':>10s} {'us/msg':>8s}")
    for name, c, s in rows:
        print(f"{name:56s} {c:7d} {c / s:10.0f} {s / c * 1e6:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
