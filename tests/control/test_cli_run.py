"""`quoteguard run` through click's CliRunner: dry-run on real data with audit and status, the live
path over a real FIX TCP session to our loopback venue, and the exit codes of bad input."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from control.audit import read_records, read_table
from control.cli import main

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "tests" / "data" / "binance" / "btcusdt_20240718.gz"


def _run(*args: str):
    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


def test_dry_run_prints_quotes_writes_audit_and_status(tmp_path, model_artifacts, binance_records):
    status = tmp_path / "status.json"
    r = _run(
        "--dry-run",
        "--backend",
        "cpu",
        "--artifacts",
        str(model_artifacts),
        "--audit",
        str(tmp_path / "audit"),
        "--status-file",
        str(status),
        str(CAPTURE),
    )
    assert r.exit_code == 0, r.output
    fix_lines = [ln for ln in r.output.splitlines() if ln.startswith("8=FIX.4.4|")]
    assert fix_lines and all("|35=S|" in ln or "|35=Z|" in ln for ln in fix_lines)
    assert "|55=BTCUSDT|" in fix_lines[0]
    summary = r.output.splitlines()[-2]
    assert f"{len(binance_records)} events" in summary and "backend cpu (healthy)" in summary
    st = json.loads(status.read_text())
    assert st["counters"]["records"] == len(binance_records)
    assert st["counters"]["quotes"] + st["counters"]["pulls"] == len(fix_lines)
    # the audit log is the stream, every event, in order, stamped with the model hash
    np.testing.assert_array_equal(read_records(tmp_path / "audit"), binance_records)
    preds = read_table(tmp_path / "audit", "predictions")
    assert preds.column("seq").to_pylist() == binance_records["seq"].tolist()
    assert set(preds.column("model_hash").to_pylist()) == {st["identity"]["model_hash"]}
    assert read_table(tmp_path / "audit", "quotes").num_rows == len(fix_lines)


def test_json_summary_quiet(tmp_path, model_artifacts):
    r = _run(
        "--dry-run",
        "--quiet",
        "--json",
        "--backend",
        "cpu",
        "--artifacts",
        str(model_artifacts),
        "--status-file",
        str(tmp_path / "s.json"),
        str(CAPTURE),
    )
    assert r.exit_code == 0, r.output
    st = json.loads(r.output)
    assert st["backend"] == "cpu" and st["latency_us"]["total"]["n"] == st["counters"]["records"]


class _Venue:
    """Our FIX acceptor as the venue, on 127.0.0.1 in its own event-loop thread."""

    def __enter__(self):
        from control.fix.loopback import venue_acceptor

        self.loop = asyncio.new_event_loop()
        self.venue = venue_acceptor(0)
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.port = asyncio.run_coroutine_threadsafe(self.venue.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.venue.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def test_live_fix_session_to_the_venue(tmp_path, model_artifacts):
    with _Venue() as v:
        r = _run(
            "--backend",
            "cpu",
            "--artifacts",
            str(model_artifacts),
            "--fix-port",
            str(v.port),
            "--json",
            "--status-file",
            str(tmp_path / "s.json"),
            str(CAPTURE),
        )
        assert r.exit_code == 0, r.output
        st = json.loads(r.output[r.output.index("{") :])
        kinds = [m.msg_type for m in v.venue.app.received]
    assert kinds.count("S") == st["counters"]["quotes"] > 0
    assert kinds.count("Z") == st["counters"]["pulls"]


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["--dry-run", "nope.gz"], 2, "does not exist"),
        ([str(CAPTURE)], 2, "--fix-port"),
        (["--dry-run", "--backend", "gpu", str(CAPTURE)], 2, "Invalid value for '--backend'"),
        (["--dry-run", "--backend", "cpu", "--artifacts", "/nonexistent", str(CAPTURE)], 2, "artifacts"),
        (["--dry-run", "--backend", "fpga", str(CAPTURE)], 2, "backend fpga unavailable"),
        (["--dry-run", "--model", "nomodel", str(CAPTURE)], 2, "model config not found"),
    ],
)
def test_bad_input_exit_codes(args, code, text):
    r = CliRunner().invoke(main, ["run", *args])
    assert r.exit_code == code, r.output
    assert text in r.output


def test_fix_venue_down_is_a_clear_failure(tmp_path, model_artifacts):
    from control.scaleout.server import free_port

    r = CliRunner().invoke(
        main,
        [
            "run",
            "--backend",
            "cpu",
            "--artifacts",
            str(model_artifacts),
            "--fix-port",
            str(free_port()),
            "--status-file",
            str(tmp_path / "s.json"),
            str(CAPTURE),
        ],
    )
    assert r.exit_code == 1 and "cannot connect to the FIX venue" in r.output


@pytest.mark.sim
def test_rtl_backend_run_gives_the_cpu_quotes(tmp_path, model_artifacts):
    """`run --backend rtl` (the simulated card) prints the same FIX quotes as `--backend cpu`."""
    import gzip
    import itertools
    import shutil

    from control.appliance import iter_lines

    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not on PATH")
    short = tmp_path / "btcusdt_20240718.gz"
    with gzip.open(short, "wb") as fh:
        fh.write(b"\n".join(itertools.islice(iter_lines([CAPTURE]), 1500)) + b"\n")
    outs = {}
    for backend in ("cpu", "rtl"):
        r = _run(
            "--dry-run",
            "--backend",
            backend,
            "--artifacts",
            str(model_artifacts),
            "--status-file",
            str(tmp_path / f"{backend}.json"),
            str(short),
        )
        assert r.exit_code == 0, r.output
        outs[backend] = [
            ln.split("|52=")[0] + ln.split("|56=")[1]
            for ln in r.output.splitlines()
            if ln.startswith("8=FIX")
        ]
        assert f"backend {backend} (healthy)" in r.output
    assert outs["rtl"] == outs["cpu"] and len(outs["cpu"]) > 0


class _MarketFeed:
    """A real WebSocket server (the recorded frames of the bundled capture) and a REST depth server
    (its snapshot) on 127.0.0.1: the live path without the internet."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from control.appliance import iter_lines

        lines = list(iter_lines([CAPTURE]))
        snapshot = next(ln.partition(b" ")[2] for ln in lines if b"lastUpdateId" in ln)
        self.frames = [ln.partition(b" ")[2].decode() for ln in lines if b"lastUpdateId" not in ln]
        self.ready = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                self.send_response(200)
                self.send_header("Content-Length", str(len(snapshot)))
                self.end_headers()
                self.wfile.write(snapshot)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    async def _handler(self, ws) -> None:
        import time

        shift = None
        for i, frame in enumerate(self.frames):
            msg = json.loads(frame)  # re-stamp event times to now: a live session
            data = msg.get("data", {})
            if shift is None and "E" in data:
                shift = time.time_ns() // 1_000_000 - data["E"]
            for k in ("E", "T"):
                if k in data and shift is not None:
                    data[k] += shift
            await ws.send(json.dumps(msg))
            if i % 200 == 0:
                await asyncio.sleep(0.001)
        await ws.wait_closed()

    def _run(self) -> None:
        from websockets.asyncio.server import serve

        async def main() -> None:
            self.stop = asyncio.Event()
            async with serve(self._handler, "127.0.0.1", 0) as server:
                self.ws_port = server.sockets[0].getsockname()[1]
                self.ready.set()
                await self.stop.wait()

        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(main())

    def __enter__(self):
        threading.Thread(target=self._run, daemon=True).start()
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.http.shutdown()

    def args(self) -> list[str]:
        return [
            "--live",
            "--symbol",
            "BTCUSDT",
            "--market",
            "usdm",
            "--ws-url",
            f"ws://127.0.0.1:{self.ws_port}/stream",
            "--rest-url",
            f"http://127.0.0.1:{self.http.server_address[1]}/fapi/v1/depth",
            "--max-messages",
            str(len(self.frames)),
        ]


def test_live_feed_to_live_fix(tmp_path, model_artifacts):
    """--live: frames over a real WebSocket, the snapshot over HTTP, quotes over a real FIX session."""
    with _MarketFeed() as feed, _Venue() as v:
        r = _run(
            "--backend",
            "cpu",
            "--artifacts",
            str(model_artifacts),
            "--fix-port",
            str(v.port),
            "--json",
            "--status-file",
            str(tmp_path / "s.json"),
            *feed.args(),
        )
        assert r.exit_code == 0, r.output
        st = json.loads(r.output[r.output.index("{") :])
        kinds = [m.msg_type for m in v.venue.app.received]
    assert st["counters"]["records"] > 3000  # the stream was synced and predicted
    assert kinds.count("S") == st["counters"]["quotes"] > 0


def test_live_needs_no_captures():
    r = CliRunner().invoke(main, ["run", "--dry-run", "--live", str(CAPTURE)])
    assert r.exit_code == 2 and "not both" in r.output
    r = CliRunner().invoke(main, ["run", "--dry-run"])
    assert r.exit_code == 2 and "give CAPTURES" in r.output


def test_bad_quoting_config_and_missing_simulator(tmp_path, model_artifacts):
    bad = tmp_path / "quoting.yaml"
    bad.write_text("instruments: {}\n")
    r = CliRunner().invoke(
        main, ["run", "--dry-run", "--backend", "cpu", "--quoting-config", str(bad), str(CAPTURE)]
    )
    assert r.exit_code == 2 and "instruments" in r.output
    bad.write_text("instruments: [unclosed\n")
    r = CliRunner().invoke(
        main, ["run", "--dry-run", "--backend", "cpu", "--quoting-config", str(bad), str(CAPTURE)]
    )
    assert r.exit_code == 2 and "not valid YAML" in r.output
    no_tools = {"PATH": str(tmp_path)}  # no iverilog (nor anything else) on PATH
    r = CliRunner().invoke(
        main,
        ["run", "--dry-run", "--backend", "rtl", "--artifacts", str(model_artifacts), str(CAPTURE)],
        env=no_tools,
    )
    assert r.exit_code == 2 and "iverilog not on PATH" in r.output
    r = CliRunner().invoke(main, ["regs", "dump"], env=no_tools)
    assert r.exit_code == 2 and "iverilog not on PATH" in r.output
