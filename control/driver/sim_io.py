"""SimIO: the RegisterIO + StreamIO transport to qg_core_top running in a simulator (Icarus via cocotb).

The host listens on a Unix socket, starts the simulator as a child process (sim/bridge/launch.py: build
with cocotb_tools.runner, run the bridge test module), and the bridge connects back. The driver
(control.driver.device.Device) is unchanged: it sees registers and frames, as on the board.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from control.driver import bridge_protocol as bp
from control.driver.errors import TransportClosed, TransportError, TransportTimeout
from control.driver.io import check_u32
from control.firmware.manifest import git_hash32

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
UNIX_PATH_MAX = 100   # sun_path is 108 bytes on Linux


@dataclass(frozen=True)
class SimConfig:
    build_dir: Path  # simulator build + socket + log live here
    python: str = sys.executable  # interpreter with cocotb for the simulator side
    toplevel: str = "qg_core_top"
    simulator: str = "icarus"
    clock_ns: float = 4.0
    start_timeout_s: float = 120.0  # build + elaboration + connect
    call_timeout_s: float = 60.0  # wall-clock bound on any one request (hung simulator)
    max_cycles_per_frame: int = 20_000  # a frame not out after this many cycles -> TIMEOUT
    # top-level parameters; GIT_HASH defaults to this checkout's commit at launch (as a bitstream build
    # sets it), not here: a SimConfig is built on every backend selection, rtl or not
    parameters: dict[str, int] = field(default_factory=dict)


class SimIO:
    """One simulator process and its bridge connection. Use `SimIO.launch(cfg)`; close() ends both."""

    def __init__(
        self, cfg: SimConfig, proc: subprocess.Popen, sock: socket.socket, listener: socket.socket
    ) -> None:
        self.cfg, self.proc, self.sock, self._listener = cfg, proc, sock, listener
        self.closed = False

    @classmethod
    def launch(cls, cfg: SimConfig) -> SimIO:
        cfg.build_dir.mkdir(parents=True, exist_ok=True)
        path = cfg.build_dir / "bridge.sock"
        if len(str(path)) > UNIX_PATH_MAX:          # AF_UNIX paths are short: fall back to a short tmp dir
            path = Path(tempfile.mkdtemp(prefix="qg-bridge-")) / "bridge.sock"
        if path.exists():
            path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(1)
        log_path = cfg.build_dir / "sim.log"
        env = dict(os.environ, **{bp.ENV_SOCKET: str(path)})
        args = [
            cfg.python,
            "-m",
            "sim.bridge.launch",
            "--build-dir",
            str(cfg.build_dir),
            "--toplevel",
            cfg.toplevel,
            "--sim",
            cfg.simulator,
            "--clock-ns",
            str(cfg.clock_ns),
        ]
        for k, v in {"GIT_HASH": git_hash32(), **cfg.parameters}.items():
            args += ["--param", f"{k}={v}"]
        with open(log_path, "ab") as logf:
            proc = subprocess.Popen(
                args, cwd=REPO, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True
            )
        t0 = time.monotonic()
        listener.settimeout(0.5)
        try:
            while True:
                try:
                    sock, _ = listener.accept()
                    break
                except TimeoutError:
                    if proc.poll() is not None:
                        raise TransportClosed(
                            f"simulator exited with code {proc.returncode} before connecting:\n"
                            + _tail(log_path)
                        ) from None
                    if time.monotonic() - t0 > cfg.start_timeout_s:
                        raise TransportTimeout(
                            f"simulator did not connect within {cfg.start_timeout_s:.0f} s; see {log_path}"
                        ) from None
        except TransportError:
            _kill(proc)
            listener.close()
            raise
        sock.settimeout(cfg.call_timeout_s)
        log.info("simulator pid %d connected after %.1f s", proc.pid, time.monotonic() - t0)
        return cls(cfg, proc, sock, listener)

    # -- RegisterIO --------------------------------------------------------------------------------
    def read32(self, offset: int) -> int:
        return self._call(bp.READ32, offset)[1]

    def write32(self, offset: int, value: int) -> None:
        self._call(bp.WRITE32, offset, check_u32(value))

    # -- StreamIO ----------------------------------------------------------------------------------
    def send_frames(self, payload: bytes, frame_bytes: int) -> None:
        if len(payload) % frame_bytes:
            raise ValueError(
                f"payload of {len(payload)} bytes is not a whole number of {frame_bytes}-byte frames"
            )
        self._call(bp.SEND, frame_bytes, 0, payload)

    def recv_frames(self, count: int, frame_bytes: int, timeout_s: float) -> bytes:
        cycles = self.cfg.max_cycles_per_frame * max(count, 1)
        status, _, data = self._call(
            bp.RECV,
            count,
            frame_bytes,
            struct.pack("<Q", cycles),
            accept=(bp.OK, bp.TIMEOUT),
            wall_timeout_s=timeout_s,
        )
        if status == bp.TIMEOUT:
            raise TransportTimeout(
                f"core delivered {len(data) // frame_bytes} of {count} frames "
                f"in {cycles} cycles (stalled stream?)"
            )
        return data

    # -- test and diagnostics hooks on the simulated board -----------------------------------------
    def stall_output(self, stalled: bool) -> None:
        """Hold (or release) m_axis_tready low: downstream backpressure, a real stall of the core."""
        self._call(bp.STALL, int(stalled))

    def force(self, signal: str, value: int, cycles: int = 1) -> None:
        """Force `signal` (a net below the top, dotted path) to `value` for `cycles` clocks, then release."""
        self._call(bp.FORCE, value, cycles, signal.encode())

    def cycles(self) -> int:
        return struct.unpack("<Q", self._call(bp.CYCLES)[2])[0]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.proc.poll() is None:
                self.sock.settimeout(5)
                bp.send_request(self.sock, bp.SHUTDOWN)
                bp.read_reply(self.sock)
                self.proc.wait(10)
        except (OSError, ConnectionError, subprocess.TimeoutExpired):
            pass
        finally:
            _kill(self.proc)
            self.sock.close()
            self._listener.close()

    # -- internals ---------------------------------------------------------------------------------
    def _call(
        self,
        op: int,
        a: int = 0,
        b: int = 0,
        payload: bytes = b"",
        accept=(bp.OK,),
        wall_timeout_s: float | None = None,
    ) -> tuple[int, int, bytes]:
        if self.closed:
            raise TransportClosed("SimIO is closed")
        timeout = self.cfg.call_timeout_s if wall_timeout_s is None else max(wall_timeout_s, 0.001)
        self.sock.settimeout(timeout)
        try:
            bp.send_request(self.sock, op, a, b, payload)
            status, value, data = bp.read_reply(self.sock)
        except TimeoutError:
            # The reply may still come; the connection is out of step, so it cannot be used again.
            self._abandon()
            raise TransportTimeout(f"simulator did not answer op {op} within {timeout:.1f} s") from None
        except (ConnectionError, OSError) as e:
            self._abandon()
            code = self.proc.poll()
            raise TransportClosed(f"simulator connection lost ({e}); process exit code {code}") from None
        if status not in accept:
            raise TransportError(f"bridge error on op {op}: {data.decode(errors='replace')}")
        return status, value, data

    def _abandon(self) -> None:
        self.closed = True
        _kill(self.proc)
        self.sock.close()
        self._listener.close()


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        log.error("simulator pid %d did not exit after SIGKILL", proc.pid)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
