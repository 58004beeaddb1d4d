"""The live WebSocket path against a real local server on 127.0.0.1 that replays a recorded Binance
session, and a real HTTP server that serves that session's REST depth snapshot. The first
connection is cut mid-stream: the client must reconnect, re-snapshot and rebuild the same books."""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from websockets.asyncio.server import serve

from control.book.replay import load_records
from control.book.stream import FeedProcessor
from control.cli.feed import feed
from control.marketdata.live import LiveConfig, LiveFeed
from control.marketdata.source import read_lines
from models.record import FLAG_RESET

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"
LINES = read_lines(BUNDLED)
SNAPSHOT = next(ln.partition(b" ")[2] for ln in LINES if b"lastUpdateId" in ln)
FRAMES = [ln.partition(b" ")[2] for ln in LINES if b"lastUpdateId" not in ln]
CUT = 2000   # frames sent on the first connection before it is dropped


class Venue:
    """A WebSocket server + REST server pair in a background thread."""

    def __init__(self) -> None:
        self.connections = 0
        self.snapshots = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        venue = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                venue.snapshots += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(SNAPSHOT)))
                self.end_headers()
                self.wfile.write(SNAPSHOT)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http_thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    async def _handler(self, ws) -> None:
        self.connections += 1
        first = self.connections == 1
        for i, frame in enumerate(FRAMES):
            if first and i == CUT:
                await ws.close(code=1011, reason="test: connection dropped")
                return
            await ws.send(frame.decode())
            if i % 200 == 0:
                await asyncio.sleep(0.001)   # let the client fetch its snapshot
        await ws.wait_closed()        # hold the stream open until the client leaves

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.stop = asyncio.Event()
            async with serve(self._handler, "127.0.0.1", 0) as server:
                self.ws_port = server.sockets[0].getsockname()[1]
                self.ready.set()
                await self.stop.wait()

        self.loop.run_until_complete(main())

    def __enter__(self) -> Venue:
        self.thread.start()
        self.http_thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)
        self.http.shutdown()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/stream"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/fapi/v1/depth"


@pytest.fixture
def venue() -> Iterator[Venue]:
    with Venue() as v:
        yield v


def test_reconnect_and_resnapshot_rebuild_the_same_books(venue: Venue) -> None:
    clean, st = load_records([BUNDLED])
    cfg = LiveConfig.for_instrument(st.instrument, ws_base=venue.ws_url, rest_url=venue.rest_url,
                                    reconnect_delay_s=0.05, snapshot_retry_s=0.0)
    proc = FeedProcessor(st.instrument, source="live")
    got: list[np.ndarray] = []
    live = LiveFeed(cfg, proc)
    last_u = int(clean["update_id"][-1])

    async def main():
        stop = asyncio.Event()
        resets = [0]

        def on_records(recs: np.ndarray) -> None:
            got.append(recs)
            resets[0] += int(np.count_nonzero(recs["flags"] & FLAG_RESET))
            if resets[0] == 2 and recs["update_id"][-1] == last_u:   # second pass reached the end
                stop.set()

        return await asyncio.wait_for(live.run(on_records, stop=stop), 120)

    stats = asyncio.run(main())
    recs = np.concatenate(got)
    assert live.reconnects == 1 and venue.connections == 2
    assert venue.snapshots >= 2 and stats.syncs == 2 and stats.resyncs == 1
    # trades replayed by the venue after the reconnect are duplicates; nothing else is refused
    assert set(stats.rejected) <= {"non_monotonic_id"}
    resets = np.flatnonzero(recs["flags"] & FLAG_RESET)
    assert len(resets) == 2
    second = recs[resets[1]:]
    assert len(second) == len(clean)
    for f in ("update_id", "bid_px", "bid_sz", "ask_px", "ask_sz"):
        np.testing.assert_array_equal(second[f], clean[f], err_msg=f)
    np.testing.assert_array_equal(recs["seq"], np.arange(len(recs)))


def test_cli_live_against_local_venue(venue: Venue) -> None:
    res = CliRunner().invoke(feed, ["live", "--venue", "binance", "--symbol", "BTCUSDT",
                                    "--ws-url", venue.ws_url, "--rest-url", venue.rest_url,
                                    "--max-messages", "1500", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["messages"] >= 1500 and out["records"] > 100 and out["in_sync"]
    assert out["snapshot_requests"] >= 1 and out["rejected_total"] == 0


def test_cli_live_unknown_symbol_is_usage_error() -> None:
    res = CliRunner().invoke(feed, ["live", "--symbol", "NOPEUSDT"])
    assert res.exit_code == 2 and "no instrument" in res.output
