"""Real TLS peers for the interop tests, started on 127.0.0.1 by the tests themselves.

* :class:`PeerProcess`: any command-line peer, its output read line by line in a
  thread (:meth:`PeerProcess.wait_for`), killed on exit. On it:
* :class:`OpenSSLServer`: ``openssl s_server`` on an ephemeral port (``-accept
  127.0.0.1:0``; it prints the port it got on its ``ACCEPT`` line), killed on exit.
* :func:`run_s_client`: ``openssl s_client`` with a bounded run time.
* :class:`GnuTLSServer`: ``gnutls-serv --echo`` (its port found through ``/proc``),
  and :class:`GlasstlsCLIServer`: ``glasstls server`` as a process (for curl).
* The TLS 1.2 matrix (:func:`tls12_cases`: every suite of ``TLS12_SUITES`` with a
  key that fits it) and the names OpenSSL and GnuTLS give those suites.
* :class:`ServerThread`: a listening socket on an ephemeral port and one thread
  that accepts one connection and runs a handler on it (a glasstls or a Python
  ``ssl`` server); its result or exception is handed back to the test.
* Parsers for what the peers print, and a ServerHello decoder for the bytes
  Python's ``ssl`` hands to its message callback.

Every wait is bounded by :data:`WAIT`; every process and thread ends in a
``finally`` (or ``__exit__``), also when the test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import glasstls
from glasstls.crypto.suites import TLS12_SUITES, TLS13_SUITES
from glasstls.enums import CipherSuite, NamedGroup
from glasstls.observe import EventList, MessageTrace
from glasstls.wire.handshake import HRR_RANDOM, HelloRetryRequest, ServerHello

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
GNUTLS_CLI = shutil.which("gnutls-cli")  # None when gnutls-bin is not installed: those tests skip
GNUTLS_SERV = shutil.which("gnutls-serv")
CURL = shutil.which("curl")
WAIT = 10.0  # seconds: the bound on every wait for a peer or a thread


# Linux's prctl, looked up before any fork: a preexec_fn must not import in the child.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def die_with_parent() -> None:
    """A ``preexec_fn`` for a peer started in a session of its own (nginx, redis-server): sent SIGTERM
    when the process that started it ends, however it ends (PR_SET_PDEATHSIG), so that a test run
    killed outright (a timeout, SIGKILL) leaves no server behind. Its fixture stops it otherwise."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


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


# -- peers run as processes; OpenSSL ---------------------------------------------------------


class PeerProcess:
    """A peer run as a command: started on ``__enter__``, killed on exit.

    Its stdout and stderr are read, merged, line by line by a thread, so a test can
    wait for a line (:meth:`wait_for`) without ever blocking on a pipe. stdin is a
    pipe kept open until :meth:`close_stdin` or exit (several peers stop at end of
    input). Subclasses wait in :meth:`_started` until the peer is ready.
    """

    name = "peer"

    def __init__(self, command: Sequence[str], *, name: str | None = None) -> None:
        self.command = list(command)
        if name is not None:
            self.name = name
        self.port = 0
        self._lines: list[str] = []
        self._eof = False
        self._changed = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, name=f"{self.name} output", daemon=True)
        self._reader.start()
        try:
            self._started()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _started(self) -> None:
        """Wait until the peer is ready (a server: listening, with :attr:`port` set)."""

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def wait_for(self, pattern: str, timeout: float = WAIT) -> str:
        """The first output line matching ``pattern``; fails after ``timeout`` seconds or at exit."""
        regex = re.compile(pattern)
        with self._changed:
            found: list[str] = []

            def ready() -> bool:
                found[:] = [line for line in self._lines if regex.search(line)]
                return bool(found) or self._eof

            if not self._changed.wait_for(ready, timeout) or not found:
                raise AssertionError(f"{self.name} printed no line matching {pattern!r}:\n{self.output}")
            return found[0]

    def write(self, text: str) -> None:
        """Send ``text`` to the peer's stdin (lost if the peer has left: its output says why)."""
        assert self._proc is not None and self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.write(text)
            self._proc.stdin.flush()

    def close_stdin(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()

    def wait_exit(self, timeout: float = WAIT) -> str:
        """Wait for the peer to leave; returns everything it printed."""
        assert self._proc is not None and self._reader is not None
        self._proc.wait(timeout)
        self._reader.join(timeout)
        return self.output

    @property
    def returncode(self) -> int | None:
        assert self._proc is not None
        return self._proc.poll()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def __exit__(self, *exc: Any) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.kill()
            proc.wait(WAIT)
        finally:
            self.close_stdin()
            if self._reader is not None:
                self._reader.join(WAIT)


class OpenSSLServer(PeerProcess):
    """``openssl s_server -tls1_3 -naccept 1 -rev`` on 127.0.0.1, with a protocol trace.

    ``-rev`` makes it answer every line with the line reversed, so the data round trip
    needs nothing on its stdin; stdin is still a pipe kept open, because s_server stops
    at end of input. ``-trace -msgfile`` writes OpenSSL's own decoding of every
    handshake message it sends and receives to a file (see :func:`trace_server_hellos`).
    ``protocol="-tls1_2"`` runs it as a TLS 1.2 server instead.
    """

    name = "s_server"

    def __init__(self, files: ServerFiles, trace_path: Path, *args: str, protocol: str = "-tls1_3") -> None:
        super().__init__(
            [
                OPENSSL, "s_server", protocol, "-accept", "127.0.0.1:0", "-naccept", "1", "-rev",
                "-cert", str(files.leaf), *_cert_chain_option(files), "-key", str(files.key),
                "-trace", "-msgfile", str(trace_path), *args,
            ]
        )  # fmt: skip
        self.trace_path = trace_path

    def _started(self) -> None:
        line = self.wait_for(r"^ACCEPT ")
        self.port = int(line.rsplit(":", 1)[1])

    @property
    def trace(self) -> str:
        return self.trace_path.read_text(errors="replace") if self.trace_path.exists() else ""


def _cert_chain_option(files: ServerFiles) -> tuple[str, ...]:
    """``-cert_chain FILE``, left out when there are no intermediates (s_server refuses an empty file)."""
    return ("-cert_chain", str(files.intermediates)) if files.intermediates.read_bytes().strip() else ()


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
    extensions: tuple[str, ...] = ()  # OpenSSL's names, in order: "extended_master_secret", "encrypt_then_mac", ...


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
                extensions=tuple(re.findall(r"extension_type=(\w+)\(\d+\)", block)),
            )
        )
    return hellos


@dataclass(frozen=True)
class TracedKeyExchange:
    """A TLS 1.2 ServerKeyExchange as OpenSSL's ``-trace`` decodes it."""

    algorithm: str  # "ECDHE" or "DHE"
    group: NamedGroup | None  # ECDHE: the named curve
    dh_p: int | None  # DHE: the prime
    signature_scheme: str


def trace_server_key_exchange(trace: str) -> TracedKeyExchange | None:
    """The ServerKeyExchange in an OpenSSL ``-trace`` log, or None (RSA key transport has none).

    OpenSSL prints, for ECDHE and for DHE::

        ServerKeyExchange, Length=111
          KeyExchangeAlgorithm=ECDHE
            named_curve: ecdh_x25519 (29)
            point (len=32): 869B8F37...
          Signature Algorithm: ecdsa_secp256r1_sha256 (0x0403)

          KeyExchangeAlgorithm=DHE
            dh_p (len=256): FFFFFFFFFFFFFFFFADF85458...
            dh_g (len=1): 02
    """
    blocks = re.split(r"^\s*ServerKeyExchange, Length=\d+\s*$", trace, flags=re.MULTILINE)[1:]
    if not blocks:
        return None
    block = re.split(r"^(?:Sent|Received) Record", blocks[0], maxsplit=1, flags=re.MULTILINE)[0]
    algorithm = re.search(r"KeyExchangeAlgorithm=(\w+)", block)
    curve = re.search(r"named_curve: .*\((\d+)\)\s*$", block, re.MULTILINE)
    dh_p = re.search(r"dh_p \(len=\d+\): ([0-9A-Fa-f]+)", block)
    scheme = re.search(r"Signature Algorithm: (\S+) \(0x", block)
    return TracedKeyExchange(
        algorithm=algorithm.group(1) if algorithm else "",
        group=NamedGroup(int(curve.group(1))) if curve else None,
        dh_p=int(dh_p.group(1), 16) if dh_p else None,
        signature_scheme=scheme.group(1) if scheme else "",
    )


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


def trace_alert_codes(trace: str, direction: str) -> list[int]:
    """The fatal alerts an OpenSSL ``-trace`` log shows as sent ("Sent") or received ("Received"), as numbers.

    By number, because OpenSSL 3.0 has no name for some: it prints certificate_required
    as ``Level=fatal(2), description=unknown(116)``. A TLS 1.3 alert is encrypted; the
    trace shows it decrypted, after ``Inner Content Type = Alert (21)``.
    """
    records = re.split(r"^(?=(?:Sent|Received) Record)", trace, flags=re.MULTILINE)
    return [
        int(code)
        for record in records
        if record.startswith(f"{direction} Record")
        for code in re.findall(r"Level=fatal\(2\), description=[^\n]*\((\d+)\)", record)
    ]


def hrr_seen(events: EventList, direction: str) -> bool:
    """Whether glasstls sent ("out") or received ("in") a HelloRetryRequest, from its trace events."""
    return any(
        isinstance(e, MessageTrace) and e.direction == direction and isinstance(e.message, HelloRetryRequest)
        for e in events.events
    )


def traced_server_hello(events: EventList) -> Any:
    """The (last) ServerHello glasstls sent or received, from its trace events; it keeps its extensions."""
    hellos = [e.message for e in events.events if isinstance(e, MessageTrace) and isinstance(e.message, ServerHello)]
    assert hellos, "glasstls traced no ServerHello"
    return hellos[-1]


# -- the group of a ServerHello, from its bytes ------------------------------------------


@dataclass(frozen=True)
class WireServerHello:
    """What the tests read from the bytes of a ServerHello (TLS 1.2 or 1.3)."""

    random: bytes
    cipher_suite: int
    extensions: dict[int, bytes]  # extension type -> body, in the order sent


def parse_server_hello(message: bytes) -> WireServerHello:
    """Decode a ServerHello handshake message (with or without its 4-byte header).

    RFC 8446, Section 4.1.3 (the layout of RFC 5246, Section 7.4.1.3): legacy_version(2)
    random(32) legacy_session_id<0..32> cipher_suite(2) legacy_compression_method(1)
    extensions<6..2^16-1>; a TLS 1.2 ServerHello may end before the extensions.
    """
    body = message[4:] if message[:1] == b"\x02" else message
    random = body[2:34]
    pos = 34
    pos += 1 + body[pos]  # legacy_session_id_echo
    cipher_suite = int.from_bytes(body[pos : pos + 2], "big")
    pos += 2 + 1  # cipher_suite, legacy_compression_method
    extensions: dict[int, bytes] = {}
    if pos + 2 <= len(body):
        end = pos + 2 + int.from_bytes(body[pos : pos + 2], "big")
        pos += 2
        while pos + 4 <= end:
            ext_type = int.from_bytes(body[pos : pos + 2], "big")
            ext_len = int.from_bytes(body[pos + 2 : pos + 4], "big")
            extensions[ext_type] = body[pos + 4 : pos + 4 + ext_len]
            pos += 4 + ext_len
    return WireServerHello(random, cipher_suite, extensions)


def server_hello_group(message: bytes) -> tuple[NamedGroup | None, bool]:
    """(key_share group, is a HelloRetryRequest) of a ServerHello handshake message.

    The key_share extension (51) of a ServerHello starts with the group (RFC 8446,
    Section 4.2.8), and in a HelloRetryRequest it is only the selected group.
    """
    hello = parse_server_hello(message)
    share = hello.extensions.get(51)
    group = NamedGroup(int.from_bytes(share[:2], "big")) if share is not None and len(share) >= 2 else None
    return group, hello.random == HRR_RANDOM


class SSLServerHelloRecorder:
    """The ServerHellos a Python ``ssl.SSLContext`` sends or receives, decoded (:func:`parse_server_hello`).

    Through the context's private message callback (``_msg_callback``, present since
    Python 3.8); where it is missing ``available`` is False and ``hellos`` stays empty.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        self.hellos: list[WireServerHello] = []
        self.available = hasattr(context, "_msg_callback")
        if self.available:
            context._msg_callback = self._callback  # type: ignore[attr-defined]

    def _callback(self, conn: Any, direction: str, version: Any, content_type: Any, msg_type: Any, data: bytes) -> None:
        if content_type == ssl._TLSContentType.HANDSHAKE and msg_type == ssl._TLSMessageType.SERVER_HELLO:  # type: ignore[attr-defined]
            self.hellos.append(parse_server_hello(data))


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


async def request_path(reader: asyncio.StreamReader, limit: int = 16 * 1024) -> str:
    """The path of the HTTP request whose head comes on ``reader``: read up to its blank line (at most
    ``limit`` bytes); "" when no request line came whole."""
    head = b""
    while b"\r\n\r\n" not in head and len(head) < limit:
        chunk = await reader.read(4096)
        if not chunk:
            break
        head += chunk
    words = head.split(b" ", 2)
    return words[1].decode("ascii", "replace") if len(words) == 3 else ""


def read_line(recv: Callable[[int], bytes], limit: int = 1 << 16) -> bytes:
    """Bytes up to and including the first newline (or whatever came before the end of the stream)."""
    data = b""
    while b"\n" not in data and len(data) < limit:
        chunk = recv(limit)
        if not chunk:
            break
        data += chunk
    return data


def glasstls_line_through(
    server: OpenSSLServer, config: glasstls.ClientConfig, line: bytes, **connect: Any
) -> tuple[glasstls.NegotiatedParameters | None, bytes]:
    """A glasstls client's line to ``s_server -rev`` and back: the parameters it negotiated and
    the answer. A failure is raised with what s_server said."""
    try:
        with glasstls.connect(
            "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, **connect
        ) as tls:
            params = tls.parameters
            tls.sendall(line)
            return params, read_line(tls.recv)
    except Exception as exc:
        raise AssertionError(f"glasstls client failed: {exc!r}; s_server said:\n{server.output}") from exc


def reverse_line(line: bytes) -> bytes:
    """What ``s_server -rev`` answers to a line: the line reversed, its newline kept last."""
    return line.rstrip(b"\n")[::-1] + b"\n"


def glasstls_line_server(
    config: Any, events: EventList | None = None, *, wait_for_close: bool = False
) -> Callable[[socket.socket], Any]:
    """A :class:`ServerThread` handler: glasstls accepts, reads one line, answers it reversed, closes.

    With ``wait_for_close`` it waits for the client's close_notify before its own (for
    clients that close first and expect an answer, like Python's ``unwrap()``).
    Returns ``(parameters, the line received)``.
    """

    def handle(sock: socket.socket) -> tuple[Any, bytes]:
        tls = glasstls.accept(sock, config, observer=events)
        try:
            line = read_line(tls.recv)
            tls.sendall(reverse_line(line))
            if wait_for_close:
                rest = tls.recv()
                assert rest == b"", f"the client sent more than one line: {rest!r}"
            return tls.parameters, line
        finally:
            tls.close()

    return handle


# -- TLS 1.2: every suite, and what the peers call it ---------------------------------------


def tls12_cases() -> list[tuple[str, str]]:
    """(suite, cert type) for every suite of ``TLS12_SUITES``: defaults, DHE, RSA key transport, CBC.

    RSA-authenticated suites (and RSA key transport) take the RSA key; ECDSA suites
    alternate between the P-256 and the Ed25519 key (RFC 8422, Section 5.3 lets
    EdDSA certificates serve them), so both meet GCM, ChaCha20 and CBC.
    """
    cases, ecdsa = [], 0
    for suite in TLS12_SUITES.values():
        if suite.auth == "ECDSA":
            cert_type = ("ecdsa-p256", "ed25519")[ecdsa % 2]
            ecdsa += 1
        else:
            cert_type = "rsa2048"
        cases.append((suite.name, cert_type))
    return cases


def tls12_case_id(case: tuple[str, str]) -> str:
    suite, cert_type = case
    return f"{suite.removeprefix('TLS_')}-{cert_type}"


# What both sides settle on for each key exchange when neither is told a group:
# X25519 is everyone's first curve; ffdhe2048 is the RFC 7919 group glasstls and
# GnuTLS pick, and the one the tests give OpenSSL (-dhparam, load_dh_params).
TLS12_GROUP = {"ECDHE": "x25519", "DHE": "ffdhe2048", "RSA": None}

# OpenSSL's names for the TLS 1.2 suites (`openssl ciphers -stdname` prints both).
OPENSSL_TLS12_NAMES = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": "DHE-RSA-AES128-GCM-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": "DHE-RSA-AES256-GCM-SHA384",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "DHE-RSA-CHACHA20-POLY1305",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384": "ECDHE-ECDSA-AES256-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384": "ECDHE-RSA-AES256-SHA384",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256": "DHE-RSA-AES128-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256": "DHE-RSA-AES256-SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA": "DHE-RSA-AES128-SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA": "DHE-RSA-AES256-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256": "AES256-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM": "ECDHE-ECDSA-AES128-CCM",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CCM": "ECDHE-ECDSA-AES256-CCM",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8": "ECDHE-ECDSA-AES128-CCM8",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8": "ECDHE-ECDSA-AES256-CCM8",
    "TLS_DHE_RSA_WITH_AES_128_CCM": "DHE-RSA-AES128-CCM",
    "TLS_DHE_RSA_WITH_AES_256_CCM": "DHE-RSA-AES256-CCM",
    "TLS_DHE_RSA_WITH_AES_128_CCM_8": "DHE-RSA-AES128-CCM8",
    "TLS_DHE_RSA_WITH_AES_256_CCM_8": "DHE-RSA-AES256-CCM8",
    "TLS_RSA_WITH_AES_128_CCM": "AES128-CCM",
    "TLS_RSA_WITH_AES_256_CCM": "AES256-CCM",
    "TLS_RSA_WITH_AES_128_CCM_8": "AES128-CCM8",
    "TLS_RSA_WITH_AES_256_CCM_8": "AES256-CCM8",
}


# -- GnuTLS ----------------------------------------------------------------------------------


def gnutls_priority(suite: str, version: str = "TLSv1.2") -> str:
    """A GnuTLS priority string that allows ``version`` and exactly one suite.

    TLS 1.2: ``NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA256``
    (GnuTLS names key exchange, cipher and MAC separately; NORMAL leaves out the
    SHA-256/384 CBC MACs, which are added back this way). TLS 1.3 only needs the cipher.
    """
    if version == "TLSv1.3":
        return f"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+{TLS13_SUITES[CipherSuite[suite]].aead_name.upper()}"
    s = TLS12_SUITES[CipherSuite[suite]]
    kx = {"ECDHE": f"ECDHE-{s.auth}", "DHE": "DHE-RSA", "RSA": "RSA"}[s.kx]
    mac = (s.mac or "AEAD").upper()
    return f"NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+{kx}:-CIPHER-ALL:+{s.cipher.upper()}:-MAC-ALL:+{mac}"


# gnutls_sign_get_name() of the signature schemes in these tests; TLS 1.3 binds ECDSA to its curve.
GNUTLS_SIGN = {
    "ecdsa_secp256r1_sha256": "ECDSA-SHA256",
    "ed25519": "EdDSA-Ed25519",
    "rsa_pss_rsae_sha256": "RSA-PSS-RSAE-SHA256",
    "rsa_pkcs1_sha256": "RSA-SHA256",
}
GNUTLS_SIGN_TLS13 = {**GNUTLS_SIGN, "ecdsa_secp256r1_sha256": "ECDSA-SECP256R1-SHA256"}


def gnutls_description(params: Any) -> str:
    """The ``- Description:`` GnuTLS must print (gnutls_session_get_desc) for what glasstls negotiated.

    ``(TLS1.2-X.509)-(ECDHE-X25519)-(ECDSA-SHA256)-(AES-128-GCM)``; CBC suites end with
    the MAC, ``-(AES-128-CBC)-(SHA1)``; RSA key transport is ``(TLS1.2-X.509)-(RSA)-(AES-128-GCM)``;
    TLS 1.3 is ``(TLS1.3-X.509)-(ECDHE-X25519)-(ECDSA-SECP256R1-SHA256)-(AES-256-GCM)``.
    """
    parts = [f"{params.version.replace('v', '')}-X.509"]
    suite_id = CipherSuite[params.cipher_suite]
    if params.version == "TLSv1.3":
        parts += [f"ECDHE-{params.group.upper()}", GNUTLS_SIGN_TLS13[params.signature_scheme]]
        parts.append(TLS13_SUITES[suite_id].aead_name.upper())
        return "-".join(f"({p})" for p in parts)
    suite = TLS12_SUITES[suite_id]
    if suite.kx == "RSA":
        parts.append("RSA")
    else:
        parts += [f"{suite.kx}-{params.group.upper()}", GNUTLS_SIGN[params.signature_scheme]]
    parts.append(suite.cipher.upper())
    if suite.mac:
        parts.append(suite.mac.upper())
    return "-".join(f"({p})" for p in parts)


def listening_port(pid: int, timeout: float = WAIT) -> int:
    """The IPv4 TCP port process ``pid`` listens on, from Linux's /proc.

    For a peer that cannot say which port it got for port 0 (gnutls-serv prints
    "port 0"): the inodes of its sockets (/proc/PID/fd) are looked up in the
    kernel's table of TCP sockets (/proc/net/tcp; state 0A is LISTEN).
    """
    deadline = time.monotonic() + timeout
    while True:
        inodes = set()
        with contextlib.suppress(FileNotFoundError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:[") : -1])
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                return int(fields[1].rsplit(":", 1)[1], 16)
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} is not listening on any IPv4 TCP port after {timeout} s")
        time.sleep(0.01)


class GnuTLSServer(PeerProcess):
    """``gnutls-serv --echo``: sends every line back; prints a summary of each connection.

    gnutls-serv cannot be told which address to listen on: it binds the wildcard
    addresses (0.0.0.0 and ::) and, with ``--port 0``, prints "port 0"; the port it
    got is read from /proc (:func:`listening_port`). The tests connect to 127.0.0.1.
    For each connection it prints, among other lines::

        - Description: (TLS1.2-X.509)-(ECDHE-X25519)-(ECDSA-SHA256)-(AES-128-GCM)
        - Version: TLS1.2
        - Options: extended master secret, safe renegotiation, EtM,
    """

    name = "gnutls-serv"

    def __init__(self, files: ServerFiles, priority: str, *args: str) -> None:
        super().__init__(
            [
                GNUTLS_SERV or "gnutls-serv", "--echo", "--port", "0",
                "--x509certfile", str(files.full_chain), "--x509keyfile", str(files.key),
                "--priority", priority, *args,
            ]
        )  # fmt: skip

    def _started(self) -> None:
        self.wait_for(r"listening on IPv4 .*done")
        self.port = listening_port(self.pid)


# -- glasstls's own command line, for curl -------------------------------------------------------


class GlasstlsCLIServer(PeerProcess):
    """``glasstls server --listen 127.0.0.1:0 ARGS`` as a process of its own (``python -m glasstls``).

    It prints ``glasstls server listening on 127.0.0.1:PORT`` first, then one line per
    connection: ``glasstls: 127.0.0.1:54321 TLSv1.2 TLS_ECDHE_... x25519 ecdsa_secp256r1_sha256
    alpn=none sni=localhost``.
    """

    name = "glasstls server"

    def __init__(self, *args: str) -> None:
        super().__init__([sys.executable, "-m", "glasstls", "server", "--listen", "127.0.0.1:0", *args])

    def _started(self) -> None:
        line = self.wait_for(r"listening on 127\.0\.0\.1:\d+$")
        self.port = int(line.rsplit(":", 1)[1])
