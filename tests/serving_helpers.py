"""What the serving tests share: a PKI on disk, ``glasstls server`` as a process whose
log is read line by line, raw TCP peers scripted in a thread, and memory readings.

Every wait is bounded (:data:`WAIT`), every process is stopped and every thread
joined in a ``finally``, also when the test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import glasstls
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore

WAIT = 10.0
GLASSTLS = [sys.executable, "-m", "glasstls"]


@dataclass
class PKI:
    ca: ThrowawayCA
    cert: Path
    key: Path
    ca_pem: Path

    def client_config(self, **kw: object) -> glasstls.ClientConfig:
        return glasstls.ClientConfig(trust_store=TrustStore.from_pem(self.ca.root_pem()), **kw)  # type: ignore[arg-type]

    def server_config(self, **kw: object) -> glasstls.ServerConfig:
        return glasstls.ServerConfig(
            certificates=(glasstls.CertifiedKey.from_files(str(self.cert), str(self.key)),),
            **kw,  # type: ignore[arg-type]
        )


def make_pki(folder: Path) -> PKI:
    ca = ThrowawayCA.create()
    identity = ca.issue_server(["localhost", "127.0.0.1"])
    identity.write(folder / "server.pem", folder / "server.key")
    (folder / "ca.pem").write_bytes(ca.root_pem())
    return PKI(ca, folder / "server.pem", folder / "server.key", folder / "ca.pem")


class CLIServer:
    """``glasstls server --listen 127.0.0.1:0 …`` with its stderr collected line by line."""

    def __init__(self, pki: PKI, *args: str, stdout: int = subprocess.DEVNULL) -> None:
        argv = [*GLASSTLS, "server", "--listen", "127.0.0.1:0", "--cert", str(pki.cert), "--key", str(pki.key), *args]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        line = self.wait_for(r"listening on 127\.0\.0\.1:\d+$")
        self.port = int(line.rsplit(":", 1)[1])

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = WAIT) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if regex.search(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r} in {timeout} s:\n" + self.log)
                self._changed.wait(min(left, 0.2))

    @property
    def log(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kib(self) -> int:
        return rss_kib(self.proc.pid)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = WAIT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(WAIT)
        self._reader.join(WAIT)
        return self.proc.returncode

    def __enter__(self) -> CLIServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        assert "Traceback" not in self.log, self.log


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def fetch(pki: PKI, port: int, data: bytes = b"ping\n", **kw: object) -> bytes:
    """A glasstls client's round trip: connect, send, read what comes back (until ``data``'s length)."""
    with glasstls.connect("127.0.0.1", port, pki.client_config(**kw), server_name="localhost", timeout=WAIT) as tls:
        tls.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = tls.recv()
            if not chunk:
                break
            got += chunk
        return got


@contextlib.contextmanager
def raw_server(script: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 for one connection, which ``script`` plays; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(WAIT)
                with contextlib.suppress(OSError):
                    script(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(WAIT * 2)


def slow_sender(port: int, data: bytes, interval: float, stop: threading.Event) -> threading.Thread:
    """A slow-loris client: ``data`` one byte every ``interval`` seconds until ``stop`` or the server hangs up."""

    def run() -> None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
            for byte in data:
                sock.sendall(bytes((byte,)))
                if stop.wait(interval):
                    return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the peer sends until it closes (FIN or RST), and when that happened."""
    sock.settimeout(timeout)
    got = b""
    started = time.monotonic()
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(1 << 16):
            got += chunk
    return got, time.monotonic() - started


async def until_no_connections(server: Any, seconds: float = 5.0) -> int:
    """Wait (up to ``seconds``) for an asyncio TLSServer's connections to end; returns how many are left."""
    deadline = time.monotonic() + seconds
    while server.active_connections and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return int(server.active_connections)
