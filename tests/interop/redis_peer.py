"""redis-server as a peer of the tests (Debian's package redis-server, Redis 7.0).

Each test starts its own on 127.0.0.1 on a free port, in the foreground, in a process
group of its own, with nothing written to disk (``--save "" --appendonly no``) and its
files in the test's directory; the system's Redis, if one runs, is neither used nor
touched. :meth:`RedisServer.stop` then :meth:`RedisServer.start` restart it on the same
port, empty (the fleet tests' "Redis went away and came back").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import pytest
from interop_peers import die_with_parent

REDIS_SERVER = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed (Debian package redis-server; make peers)"
)
START_WAIT = 10.0  # seconds for redis-server to accept connections


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """One redis-server on 127.0.0.1. ``users``: ACL lines ("NAME on >PASSWORD ~* +@all");
    ``tls``: (cert, key, ca) files, then it listens with TLS only."""

    def __init__(
        self, directory: Path, users: tuple[str, ...] = (), tls: tuple[Path, Path, Path] | None = None
    ) -> None:
        assert REDIS_SERVER is not None
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.users = users
        self.tls = tls
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        assert REDIS_SERVER is not None
        cmd = [REDIS_SERVER, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        cmd += ["--dir", str(self.directory), "--logfile", str(self.directory / "redis.log"), "--daemonize", "no"]
        if self.tls:
            cert, key, ca = self.tls
            cmd += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(cert)]
            cmd += ["--tls-key-file", str(key), "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"]
        else:
            cmd += ["--port", str(self.port)]
        for user in self.users:
            cmd += ["--user", *user.split()]
        if self.users:
            cmd += ["--user", "default", "off"]
        return cmd

    def start(self) -> RedisServer:
        """Start, on a free port the first time and on the same port again after :meth:`stop`;
        returns once it accepts connections."""
        first = not self.port
        for _ in range(5):  # a free port can be taken by another process before redis-server binds it
            if first:
                self.port = free_port()
            self.proc = subprocess.Popen(
                self._command(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
            if self._wait_ready():
                return self
            self.stop()
            time.sleep(0.2)
        raise AssertionError(f"redis-server did not start: {self.log()[-2000:]}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_WAIT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            if "Ready to accept connections" in self.log():
                return True
            time.sleep(0.02)
        return False

    def log(self) -> str:
        try:
            return (self.directory / "redis.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # The next start must find the log line of its own run.
        with contextlib.suppress(OSError):
            (self.directory / "redis.log").rename(self.directory / f"redis-{time.monotonic_ns()}.log")

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
