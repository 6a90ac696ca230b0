"""A glasstls CA that is online, for the tests: ``glasstls ca init --url`` and ``glasstls ca serve`` as processes.

:func:`online_ca` makes a CA whose certificates point at ``http://127.0.0.1:PORT`` (a
port free when asked) and a server certificate for localhost/127.0.0.1;
:class:`Process` runs a command, reads its merged output in a thread (so a test can
wait for a line without blocking on a pipe) and kills it on exit; :func:`ca_serve`
starts the responder on the CA's port and waits until it listens. Every wait is
bounded by :data:`WAIT`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

GLASSTLS = [sys.executable, "-m", "glasstls"]
WAIT = 10.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the CA's URL must name it before the server starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ca_cli(directory: Path, *args: str) -> str:
    """``glasstls ca --dir DIRECTORY ARGS``; its stdout, failing the test when it fails."""
    done = subprocess.run(
        [*GLASSTLS, "ca", "--dir", str(directory), *args],
        cwd=directory.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"glasstls ca {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class OnlineCA:
    directory: Path
    port: int
    server_pem: Path  # the leaf, then the intermediate
    server_key: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def root_pem(self) -> Path:
        return self.directory / "root.pem"

    @property
    def intermediate_pem(self) -> Path:
        return self.directory / "intermediate.pem"

    def leaf(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.server_pem.read_bytes())[0]

    def intermediate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.intermediate_pem.read_bytes())

    def root(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.root_pem.read_bytes())


def online_ca(base: Path, port: int | None = None) -> OnlineCA:
    """A CA in ``base/ca`` pointing at 127.0.0.1:PORT, and a server certificate base/server.pem, .key."""
    port = port or free_port()
    directory = base / "ca"
    ca_cli(directory, "init", "--url", f"http://127.0.0.1:{port}")
    ca_cli(directory, "issue", "server", "localhost", "127.0.0.1", "--out", str(base / "server"))
    return OnlineCA(directory, port, base / "server.pem", base / "server.key")


def ocsp_request(cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None) -> bytes:
    """A DER OCSPRequest for ``cert`` (SHA-1 CertID, as OpenSSL sends), with a nonce when given."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


class Process:
    """A command, its stdout and stderr merged and read line by line in a thread; killed on exit."""

    def __init__(self, command: Sequence[str], *, name: str = "process", cwd: Path | None = None) -> None:
        self.command, self.name, self.cwd = list(command), name, cwd
        self._lines: list[str] = []
        self._eof = False
        self._changed = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> Self:
        if self._proc is not None:  # started already (ca_serve starts it, a ``with`` enters it again)
            return self
        self._proc = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            cwd=self.cwd,
        )
        self._reader = threading.Thread(target=self._read, name=f"{self.name} output", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = WAIT, *, after: int = 0) -> str:
        """The first line (from line number ``after`` on) matching ``pattern``; fails after ``timeout``."""
        regex = re.compile(pattern)
        with self._changed:
            found: list[str] = []

            def ready() -> bool:
                found[:] = [line for line in self._lines[after:] if regex.search(line)]
                return bool(found) or self._eof

            if not self._changed.wait_for(ready, timeout) or not found:
                raise AssertionError(f"{self.name} printed no line matching {pattern!r}:\n{self.output}")
            return found[0]

    @property
    def line_count(self) -> int:
        with self._changed:
            return len(self._lines)

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Kill the process and wait for it (and for the reader) to end."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.kill()
            proc.wait(WAIT)
        finally:
            if self._reader is not None:
                self._reader.join(WAIT)

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def ca_serve(ca: OnlineCA, *extra: str) -> Process:
    """``glasstls ca serve`` on the CA's port, started and listening (use it in a ``with``)."""
    command = [*GLASSTLS, "ca", "--dir", str(ca.directory), "serve", "--listen", f"127.0.0.1:{ca.port}", *extra]
    process = Process(command, name="glasstls ca serve").__enter__()
    try:
        process.wait_for(r"listening on http://127\.0\.0\.1:")
    except BaseException:
        process.stop()
        raise
    return process


def wait_until_refused(port: int, timeout: float = WAIT) -> None:
    """Wait until nothing listens on 127.0.0.1:PORT any more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.closing(socket.socket()) as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"127.0.0.1:{port} still accepts connections after {timeout} s")
