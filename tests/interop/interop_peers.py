"""Real TLS peers for the interop tests, started on 127.0.0.1 by the tests themselves.

* :class:`OpenSSLServer`: ``openssl s_server`` on an ephemeral port (``-accept
  127.0.0.1:0``; it prints the port it got on its ``ACCEPT`` line), killed on exit.
* :func:`run_s_client`: ``openssl s_client`` with a bounded run time.
* :class:`ServerThread`: a listening socket on an ephemeral port and one thread
  that accepts one connection and runs a handler on it (a glasstls or a Python
  ``ssl`` server); its result or exception is handed back to the test.
* Parsers for what the peers print, and a ServerHello decoder for the bytes
  Python's ``ssl`` hands to its message callback.

Every wait is bounded by :data:`WAIT`; every process and thread ends in a
``finally`` (or ``__exit__``), also when the test fails.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glasstls.enums import NamedGroup
from glasstls.observe import EventList, MessageTrace
from glasstls.wire.handshake import HRR_RANDOM, HelloRetryRequest

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
WAIT = 10.0  # seconds: the bound on every wait for a peer or a thread

SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
GROUPS = ("x25519", "secp256r1", "secp384r1", "x448")
CERT_TYPES = ("ecdsa-p256", "rsa2048", "ed25519")

# The TLS 1.3 signature scheme each server key signs its CertificateVerify with, given
# glasstls's and OpenSSL's default preference orders (RSA: PSS with rsaEncryption keys).
SCHEME_FOR_CERT = {
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "rsa2048": "rsa_pss_rsae_sha256",
    "ed25519": "ed25519",
}


def pairwise_cases() -> list[tuple[str, str, str]]:
    """(suite, group, cert type): every suite × group pair once, cert types spread as a Latin square.

    The cert type is (suite index + group index) mod 3, so every suite meets every
    cert type and every group meets every cert type too: all pairs of the three
    factors are covered in 12 cases instead of the 36 of the full product.
    """
    return [
        (suite, group, CERT_TYPES[(s + g) % len(CERT_TYPES)])
        for s, suite in enumerate(SUITES)
        for g, group in enumerate(GROUPS)
    ]


def case_id(case: tuple[str, str, str]) -> str:
    suite, group, cert = case
    return f"{suite.removeprefix('TLS_').removesuffix('_SHA256').removesuffix('_SHA384')}-{group}-{cert}"


# -- the PKI on disk ----------------------------------------------------------------------


@dataclass(frozen=True)
class ServerFiles:
    """One server identity as the OpenSSL CLI wants it: -cert reads only the first PEM block."""

    leaf: Path  # the leaf certificate alone (-cert)
    intermediates: Path  # the rest of the chain (-cert_chain)
    full_chain: Path  # leaf + intermediates, as Identity.write writes them (Python's load_cert_chain)
    key: Path


def split_pem_chain(chain_pem: bytes) -> tuple[bytes, bytes]:
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\r?\n?", chain_pem, re.DOTALL)
    return blocks[0], b"".join(blocks[1:])


# -- OpenSSL ------------------------------------------------------------------------------


class OpenSSLServer:
    """``openssl s_server -tls1_3 -naccept 1 -rev`` on 127.0.0.1, with a protocol trace.

    ``-rev`` makes it answer every line with the line reversed, so the data round trip
    needs nothing on its stdin; stdin is still a pipe kept open, because s_server stops
    at end of input. ``-trace -msgfile`` writes OpenSSL's own decoding of every
    handshake message it sends and receives to a file (see :func:`trace_server_hellos`).
    """

    def __init__(self, files: ServerFiles, trace_path: Path, *args: str) -> None:
        self.trace_path = trace_path
        self.command = [
            OPENSSL, "s_server", "-tls1_3", "-accept", "127.0.0.1:0", "-naccept", "1", "-rev",
            "-cert", str(files.leaf), "-cert_chain", str(files.intermediates), "-key", str(files.key),
            "-trace", "-msgfile", str(trace_path), *args,
        ]  # fmt: skip
        self.port = 0
        self._lines: list[str] = []
        self._eof = False
        self._changed = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> OpenSSLServer:
        self._proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, name="s_server stdout", daemon=True)
        self._reader.start()
        try:
            line = self.wait_for(r"^ACCEPT ")
            self.port = int(line.rsplit(":", 1)[1])
        except BaseException:
            self.__exit__()
            raise
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

    def wait_for(self, pattern: str, timeout: float = WAIT) -> str:
        """The first output line matching ``pattern``; fails after ``timeout`` seconds or at exit."""
        regex = re.compile(pattern)
        with self._changed:
            found: list[str] = []

            def ready() -> bool:
                found[:] = [line for line in self._lines if regex.search(line)]
                return bool(found) or self._eof

            if not self._changed.wait_for(ready, timeout) or not found:
                raise AssertionError(f"s_server printed no line matching {pattern!r}:\n{self.output}")
            return found[0]

    def wait_exit(self, timeout: float = WAIT) -> str:
        """Wait for s_server to leave after its one connection; returns everything it printed."""
        assert self._proc is not None and self._reader is not None
        self._proc.wait(timeout)
        self._reader.join(timeout)
        return self.output

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    @property
    def trace(self) -> str:
        return self.trace_path.read_text(errors="replace") if self.trace_path.exists() else ""

    def __exit__(self, *exc: Any) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.kill()
            proc.wait(WAIT)
        finally:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            if self._reader is not None:
                self._reader.join(WAIT)


def run_s_client(args: Sequence[str], stdin: bytes, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
    """``openssl s_client`` with ``args``, fed ``stdin``; killed if it runs longer than ``timeout``."""
    return subprocess.run(
        [OPENSSL, "s_client", *args],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class TracedServerHello:
    """A ServerHello as OpenSSL's ``-trace`` decodes it."""

    cipher_suite: str
    group: NamedGroup | None  # from the key_share extension
    retry: bool  # a HelloRetryRequest: the random is HRR_RANDOM


def trace_server_hellos(trace: str) -> list[TracedServerHello]:
    """Every ServerHello in an OpenSSL ``-trace`` log, in order (a HelloRetryRequest first if there was one).

    OpenSSL prints, for instance::

        ServerHello, Length=118
          ...
          Random:
            gmt_unix_time=0xCF21AD74
            random_bytes (len=28): E59A6111BE1D...
          cipher_suite {0x13, 0x01} TLS_AES_128_GCM_SHA256
          ...
            extension_type=key_share(51), length=36
                NamedGroup: ecdh_x25519 (29)

    The group is read from the code point in the last parentheses, which does not
    depend on OpenSSL's spelling of group names.
    """
    hellos = []
    blocks = re.split(r"^\s*ServerHello, Length=\d+\s*$", trace, flags=re.MULTILINE)[1:]
    for block in blocks:
        block = re.split(r"^(?:Sent|Received) Record", block, maxsplit=1, flags=re.MULTILINE)[0]
        suite = re.search(r"cipher_suite \{0x[0-9A-Fa-f]{2}, 0x[0-9A-Fa-f]{2}\} (\S+)", block)
        group = re.search(r"NamedGroup: .*\((\d+)\)\s*$", block, re.MULTILINE)
        unix_time = re.search(r"gmt_unix_time=0x([0-9A-Fa-f]{8})", block)
        random_bytes = re.search(r"random_bytes \(len=28\): ([0-9A-Fa-f]{56})", block)
        random = bytes.fromhex(unix_time.group(1) + random_bytes.group(1)) if unix_time and random_bytes else b""
        hellos.append(
            TracedServerHello(
                cipher_suite=suite.group(1) if suite else "",
                group=NamedGroup(int(group.group(1))) if group else None,
                retry=random == HRR_RANDOM,
            )
        )
    return hellos


def trace_signature_scheme(trace: str) -> str | None:
    """The scheme of the (server's) CertificateVerify in an OpenSSL ``-trace`` log.

    OpenSSL prints ``CertificateVerify, Length=76`` and then
    ``Signature Algorithm: ecdsa_secp256r1_sha256 (0x0403)``.
    """
    match = re.search(r"CertificateVerify, Length=\d+\s*\n\s*Signature Algorithm: (\S+) \(0x", trace)
    return match.group(1) if match else None


def trace_close_notify_received(trace: str) -> bool:
    """Whether the peer's close_notify arrived: a received record with ``description=close notify(0)``."""
    records = re.split(r"^(?=(?:Sent|Received) Record)", trace, flags=re.MULTILINE)
    return any(r.startswith("Received Record") and "description=close notify(0)" in r for r in records)


def trace_fatal_alerts(trace: str) -> list[str]:
    """Fatal alerts in an OpenSSL ``-trace`` log (``Level=fatal(2), description=decode error(50)``)."""
    return re.findall(r"Level=fatal\(2\), description=([^\n]+)", trace)


def hrr_seen(events: EventList, direction: str) -> bool:
    """Whether glasstls sent ("out") or received ("in") a HelloRetryRequest, from its trace events."""
    return any(
        isinstance(e, MessageTrace) and e.direction == direction and isinstance(e.message, HelloRetryRequest)
        for e in events.events
    )


# -- the group of a ServerHello, from its bytes ------------------------------------------


def server_hello_group(message: bytes) -> tuple[NamedGroup | None, bool]:
    """(key_share group, is a HelloRetryRequest) of a ServerHello handshake message.

    RFC 8446, Section 4.1.3: legacy_version(2) random(32) legacy_session_id<0..32>
    cipher_suite(2) legacy_compression_method(1) extensions<6..2^16-1>; the
    key_share extension (51) of a ServerHello starts with the group (Section 4.2.8),
    and in a HelloRetryRequest it is only the selected group.
    """
    body = message[4:] if message[:1] == b"\x02" else message
    random = body[2:34]
    pos = 34
    pos += 1 + body[pos]  # legacy_session_id_echo
    pos += 2 + 1  # cipher_suite, legacy_compression_method
    end = pos + 2 + int.from_bytes(body[pos : pos + 2], "big")
    pos += 2
    while pos + 4 <= end:
        ext_type = int.from_bytes(body[pos : pos + 2], "big")
        ext_len = int.from_bytes(body[pos + 2 : pos + 4], "big")
        if ext_type == 51:
            return NamedGroup(int.from_bytes(body[pos + 4 : pos + 6], "big")), random == HRR_RANDOM
        pos += 4 + ext_len
    return None, random == HRR_RANDOM


# -- a server in a thread -------------------------------------------------------------------


class ServerThread:
    """Listen on 127.0.0.1:0 and run ``handler(sock)`` on the one connection accepted, in a thread.

    ``result()`` returns what the handler returned, or raises what it raised.
    """

    def __init__(self, handler: Callable[[socket.socket], Any]) -> None:
        self._handler = handler
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(WAIT)
        self.port = self._listener.getsockname()[1]
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="interop server", daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            sock, _ = self._listener.accept()
            with sock:
                sock.settimeout(WAIT)
                self._result = self._handler(sock)
        except BaseException as exc:
            self._error = exc

    def result(self, timeout: float = WAIT) -> Any:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the server thread did not finish within {timeout} s")
        if self._error is not None:
            raise self._error
        return self._result

    def __exit__(self, *exc: Any) -> None:
        self._listener.close()  # a thread still in accept() gets an error and ends
        self._thread.join(WAIT)


def read_line(recv: Callable[[int], bytes], limit: int = 1 << 16) -> bytes:
    """Bytes up to and including the first newline (or whatever came before the end of the stream)."""
    data = b""
    while b"\n" not in data and len(data) < limit:
        chunk = recv(limit)
        if not chunk:
            break
        data += chunk
    return data
