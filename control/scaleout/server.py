"""Start and stop a real redis-server on 127.0.0.1 (tests, benches, demos): free port, own directory,
no persistence unless asked."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)


class RedisServerError(Exception):
    """redis-server is missing or did not come up."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """`with RedisServer(tmpdir) as srv: srv.url` -- killed (and waited for) on exit."""

    def __init__(self, workdir: Path, port: int | None = None, appendonly: bool = False) -> None:
        self.workdir, self.port, self.appendonly = Path(workdir), port or free_port(), appendonly
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RedisServerError("redis-server not found on PATH (Debian: apt-get install redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            exe,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.workdir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.workdir / "redis.log"),
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RedisServerError(
                        f"redis-server did not start on port {self.port}; see {self.workdir / 'redis.log'}"
                    ) from None
                time.sleep(0.02)
        client.close()
        log.info("redis-server pid %d on %s", self.proc.pid, self.url)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
