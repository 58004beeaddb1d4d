"""A loopback FIX session on 127.0.0.1: our acceptor as the venue, our initiator streaming quotes.

    python -m control.fix.loopback demo --count 200
    python -m control.fix.loopback venue --port 9878
    python -m control.fix.loopback initiator --port 9878 --store /tmp/qg-fix.db --count 1000

The quote stream here is synthetic (a deterministic walk per symbol, a Pull every 50 events); the
appliance feeds the initiator from control/quoting instead.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path

from control.fix.acceptor import Acceptor, AcceptorApp, AcceptorConfig, Counterparty
from control.fix.initiator import QuoteStreamer
from control.fix.interface import InstrumentQuote, Pull, QuoteEvent, QuoteUpdate
from control.fix.quotes import QuoteWriter
from control.fix.session import Role, Session, SessionConfig, SystemClock
from control.fix.store import MemoryStore, MessageStore, SqliteStore
from control.fix.transport import DEFAULT_HOST, connect_tcp

log = logging.getLogger(__name__)

VENUE_ID = "VENUE"
OUR_ID = "QUOTEGUARD"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


async def synthetic_events(count: int, interval_s: float = 0.0, symbols: Sequence[str] = SYMBOLS,
                           seed: int = 7) -> AsyncIterator[QuoteEvent]:
    """``count`` events: single-instrument Quotes, MassQuotes over all symbols, and Pulls."""
    rng = random.Random(seed)
    mids = {s: Decimal(1000 * (i + 1)) for i, s in enumerate(symbols)}
    for n in range(count):
        if n % 50 == 49:
            yield Pull((symbols[0],), reason="synthetic pull")
        else:
            chosen = symbols if n % 5 == 0 else (symbols[n % len(symbols)],)
            quotes = []
            for s in chosen:
                mids[s] += Decimal(rng.randint(-5, 5)) / 10
                quotes.append(InstrumentQuote(s, mids[s] - Decimal("0.5"), mids[s] + Decimal("0.5"),
                                              Decimal("1.5"), Decimal("1.5")))
            yield QuoteUpdate(tuple(quotes), reason="synthetic")
        if interval_s > 0:
            await asyncio.sleep(interval_s)


def initiator_session(store: MessageStore, heartbeat_s: int = 30, password: str | None = None) -> Session:
    cfg = SessionConfig(OUR_ID, VENUE_ID, Role.INITIATOR, heartbeat_interval_s=heartbeat_s, password=password)
    return Session(cfg, store, SystemClock())


async def run_initiator(host: str, port: int, store: MessageStore, count: int, interval_s: float,
                        password: str | None = None) -> str:
    session = initiator_session(store, password=password)
    writer = QuoteWriter(prefix=f"QG{store.next_sender_seq()}")
    transport = await connect_tcp(host, port)
    streamer = QuoteStreamer(session, writer)
    reason = await streamer.run(transport, synthetic_events(count, interval_s))
    print(f"initiator: {streamer.sent_events} events sent, next seq {store.next_sender_seq()}, "
          f"{len(streamer.app.acks)} MassQuote acks; {reason}", flush=True)
    return reason


def venue_acceptor(port: int = 0, password: str | None = None) -> Acceptor:
    clock = SystemClock()
    cfg = AcceptorConfig(VENUE_ID, (Counterparty(OUR_ID, password),), DEFAULT_HOST, port)
    return Acceptor(cfg, AcceptorApp(clock, venue=True), clock)


async def demo(count: int) -> int:
    venue = venue_acceptor()
    port = await venue.start()
    await run_initiator(DEFAULT_HOST, port, MemoryStore(), count, 0.0)
    await venue.stop()
    kinds: dict[str, int] = {}
    for r in venue.app.received:
        kinds[r.msg_type] = kinds.get(r.msg_type, 0) + 1
    print(f"venue on 127.0.0.1:{port} received {len(venue.app.received)} messages: {kinds}")
    return 0


async def serve_venue(port: int) -> int:
    venue = venue_acceptor(port)
    bound = await venue.start()
    print(f"venue listening on 127.0.0.1:{bound}", flush=True)
    await asyncio.Event().wait()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m control.fix.loopback", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="venue + initiator in one process")
    d.add_argument("--count", type=int, default=200)
    v = sub.add_parser("venue", help="run our acceptor as the venue")
    v.add_argument("--port", type=int, default=0)
    i = sub.add_parser("initiator", help="stream synthetic quotes to a venue")
    i.add_argument("--host", default=DEFAULT_HOST)
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--store", type=Path, help="sqlite store (sequence numbers survive restarts)")
    i.add_argument("--synchronous", choices=SqliteStore.SYNC_MODES, default="FULL",
                   help="FULL: fsync per message; NORMAL: survives kill -9, not power loss")
    i.add_argument("--count", type=int, default=1000)
    i.add_argument("--interval", type=float, default=0.01)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.cmd == "demo":
        return asyncio.run(demo(args.count))
    if args.cmd == "venue":
        return asyncio.run(serve_venue(args.port))
    store: MessageStore = SqliteStore(args.store, args.synchronous) if args.store else MemoryStore()
    try:
        asyncio.run(run_initiator(args.host, args.port, store, args.count, args.interval))
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
