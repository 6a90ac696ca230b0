"""A hostile TLS client for the conformance rules: it says anything, in any order.

Two ways to talk to the server under test (``target.py``), both over a real TCP
connection on 127.0.0.1:

* :func:`exchange` (and :func:`retry_exchange`, which waits for the
  HelloRetryRequest before the second hello) sends bytes built here from nothing
  (:class:`Hello`, :func:`record`, :func:`handshake`, :func:`ext`): duplicated,
  reordered, empty, oversized or truncated fields, wrong lengths. It reads what the
  server sends until it closes, and :class:`Answer` decodes the alert on the wire;
  after a TLS 1.3 ServerHello the records are decrypted with the probe's own key
  share (keys13.py), so an encrypted alert is read as well as a plaintext one.
* :class:`Scripted` drives glasstls's own client as the brain of a handshake that
  goes wrong later: ``flights`` rewrites each flight's records before they leave,
  ``before_finished`` puts records of any type under the client's keys just before
  its Finished, ``message_edit`` replaces a message on the wire only, and
  ``after`` sends records once the handshake completed. The server's alert,
  encrypted or not, is decrypted by that client's record layer (glasstls's key
  schedule and record protection), so it is still the alert on the wire.

Every read is bounded by :data:`WAIT`; a server that keeps waiting is reported
as such (``Answer.timed_out``), never as a hang.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from keys13 import Reader13

from glasstls import ClientConfig, ClientConnection
from glasstls.enums import AlertDescription, AlertLevel, ContentType
from glasstls.events import AlertReceived, ConnectionClosed, Event
from glasstls.wire.handshake import HRR_RANDOM, ClientHello, Handshake

WAIT = 4.0  # how long a probe waits for the server's answer and close
QUIET = 1.0  # once the server has answered, this long without a byte more ends the wait

# Code points used below (RFC 8446, Sections 4.1.2 and 4.2; RFC 5246, Section 7.4).
CLIENT_HELLO, SERVER_HELLO, FINISHED, KEY_UPDATE = 1, 2, 20, 24
CCS, ALERT, HANDSHAKE, APPLICATION_DATA = 20, 21, 22, 23
SERVER_NAME, SUPPORTED_GROUPS, EC_POINT_FORMATS, SIGNATURE_ALGORITHMS = 0, 10, 11, 13
ALPN, PADDING, EXTENDED_MASTER_SECRET, SESSION_TICKET = 16, 21, 23, 35
PRE_SHARED_KEY, EARLY_DATA, SUPPORTED_VERSIONS, COOKIE = 41, 42, 43, 44
PSK_KEY_EXCHANGE_MODES, KEY_SHARE, RENEGOTIATION_INFO = 45, 51, 0xFF01
X25519, SECP256R1, SECP384R1 = 0x001D, 0x0017, 0x0018
TLS13_SUITES = (0x1301, 0x1302, 0x1303)
TLS12_SUITES = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8)  # ECDHE, AEAD
SIG_SCHEMES = (0x0403, 0x0804, 0x0805, 0x0806, 0x0503, 0x0401, 0x0501, 0x0601)
RENEGOTIATION_SCSV = 0x00FF  # RFC 5746, Section 3.3


# -- bytes ---------------------------------------------------------------------------------


def vec(width: int, data: bytes) -> bytes:
    """A length-prefixed vector (RFC 8446, Section 3.4)."""
    return len(data).to_bytes(width, "big") + data


def u16s(*values: int) -> bytes:
    return b"".join(v.to_bytes(2, "big") for v in values)


def record(ctype: int, payload: bytes, version: int = 0x0303, length: int | None = None) -> bytes:
    """One TLSPlaintext record (RFC 8446, Section 5.1); ``length`` may lie."""
    size = len(payload) if length is None else length
    return bytes((ctype,)) + version.to_bytes(2, "big") + size.to_bytes(2, "big") + payload


def handshake(msg_type: int, body: bytes, length: int | None = None) -> bytes:
    """One handshake message (RFC 8446, Section 4); ``length`` may lie."""
    size = len(body) if length is None else length
    return bytes((msg_type,)) + size.to_bytes(3, "big") + body


def ext(ext_type: int, data: bytes = b"") -> tuple[int, bytes]:
    return (ext_type, data)


def alert(level: int, description: int) -> bytes:
    return record(ALERT, bytes((level, description)))


def x25519_public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def x25519_share() -> bytes:
    return x25519_public(X25519PrivateKey.generate())


def p384_key() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A secp384r1 key and its uncompressed point (RFC 8446, Section 4.2.8.2)."""
    key = ec.generate_private_key(ec.SECP384R1())
    return key, key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def key_share(*entries: tuple[int, bytes]) -> bytes:
    """A ClientHello key_share body (RFC 8446, Section 4.2.8)."""
    return vec(2, b"".join(g.to_bytes(2, "big") + vec(2, k) for g, k in entries))


def sni(*names: bytes, name_type: int = 0) -> bytes:
    """A server_name body (RFC 6066, Section 3) listing ``names``."""
    return vec(2, b"".join(bytes((name_type,)) + vec(2, n) for n in names))


def alpn(*protocols: bytes) -> bytes:
    return vec(2, b"".join(vec(1, p) for p in protocols))


@dataclass
class Hello:
    """A ClientHello as its fields, each free to be wrong (RFC 8446, Section 4.1.2)."""

    version: int = 0x0303
    random: bytes = field(default_factory=lambda: os.urandom(32))
    session_id: bytes = field(default_factory=lambda: os.urandom(32))
    suites: bytes = u16s(*TLS13_SUITES)  # the encoded list, without its length
    compression: bytes = b"\x00"
    extensions: list[tuple[int, bytes]] = field(default_factory=list)
    extensions_block: bytes | None = None  # the whole block, length included, instead of ``extensions``
    trailing: bytes = b""
    key: Any = field(default=None, repr=False, compare=False)  # the private key of the one share, for keys13

    def body(self) -> bytes:
        block = self.extensions_block
        if block is None:
            block = vec(2, b"".join(t.to_bytes(2, "big") + vec(2, d) for t, d in self.extensions))
        head = self.version.to_bytes(2, "big") + self.random + vec(1, self.session_id)
        return head + vec(2, self.suites) + vec(1, self.compression) + block + self.trailing

    def message(self) -> bytes:
        return handshake(CLIENT_HELLO, self.body())

    def records(self) -> bytes:
        return record(HANDSHAKE, self.message(), 0x0301)

    # Editing, each returning a new Hello.
    def with_ext(self, ext_type: int, data: bytes = b"", at: int | None = None) -> Hello:
        exts = list(self.extensions)
        exts.insert(len(exts) if at is None else at, (ext_type, data))
        return replace(self, extensions=exts)

    def without(self, *ext_types: int) -> Hello:
        return replace(self, extensions=[(t, d) for t, d in self.extensions if t not in ext_types])

    def replacing(self, ext_type: int, data: bytes) -> Hello:
        return replace(self, extensions=[(t, data if t == ext_type else d) for t, d in self.extensions])

    def ext_data(self, ext_type: int) -> bytes:
        return next(d for t, d in self.extensions if t == ext_type)


def hello13(*, share: tuple[int, bytes] | None = None, groups: tuple[int, ...] = (X25519, SECP256R1)) -> Hello:
    """A well-formed TLS 1.3-only ClientHello (RFC 8446, Section 9.2's mandatory extensions)."""
    key = X25519PrivateKey.generate()
    entry = share or (X25519, x25519_public(key))
    return Hello(
        key=key,
        extensions=[
            ext(SERVER_NAME, sni(b"localhost")),
            ext(SUPPORTED_GROUPS, vec(2, u16s(*groups))),
            ext(SIGNATURE_ALGORITHMS, vec(2, u16s(*SIG_SCHEMES))),
            ext(KEY_SHARE, key_share(entry)),
            ext(PSK_KEY_EXCHANGE_MODES, vec(1, b"\x01")),
            ext(SUPPORTED_VERSIONS, vec(1, u16s(0x0304))),
        ],
    )


def hello12() -> Hello:
    """A well-formed TLS 1.2 ClientHello: ECDHE with AEAD suites (RFC 5246, 7.4.1.2; RFC 8422)."""
    return Hello(
        suites=u16s(*TLS12_SUITES),
        extensions=[
            ext(SERVER_NAME, sni(b"localhost")),
            ext(SUPPORTED_GROUPS, vec(2, u16s(X25519, SECP256R1))),
            ext(EC_POINT_FORMATS, vec(1, b"\x00")),
            ext(SIGNATURE_ALGORITHMS, vec(2, u16s(*SIG_SCHEMES))),
            ext(EXTENDED_MASTER_SECRET),
            ext(RENEGOTIATION_INFO, vec(1, b"")),
        ],
    )


# -- reading the answer ----------------------------------------------------------------------


def split_records(data: bytes) -> list[tuple[int, int, bytes]]:
    """(content type, legacy_record_version, fragment) of every whole record in ``data``."""
    out, pos = [], 0
    while len(data) - pos >= 5:
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        if len(data) - pos - 5 < length:
            break
        out.append((data[pos], int.from_bytes(data[pos + 1 : pos + 3], "big"), data[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    return out


@dataclass
class Answer:
    """What the server sent until it closed (or :data:`WAIT` ran out).

    With ``hellos`` (the TLS 1.3 ClientHellos sent, with their keys), records after
    the ServerHello are decrypted (keys13.Reader13), so an encrypted alert counts.
    """

    data: bytes
    timed_out: bool
    hellos: tuple[Hello, ...] = ()

    @property
    def records(self) -> list[tuple[int, int, bytes]]:
        return split_records(self.data)

    @functools.cached_property
    def plain(self) -> list[tuple[int, bytes]]:
        """(content type, content) of each record, decrypted where the keys are known."""
        if not any(h.key for h in self.hellos):
            return [(c, p) for c, _, p in self.records]
        return Reader13(self.hellos).records(self.records)

    def _first_alert(self) -> bytes | None:
        return next((p for c, p in self.plain if c == ALERT and len(p) == 2), None)

    @property
    def alert(self) -> AlertDescription | None:
        """The description of the first alert (RFC 8446, Section 6)."""
        found = self._first_alert()
        return None if found is None else AlertDescription(found[1])

    @property
    def alert_level(self) -> AlertLevel | None:
        found = self._first_alert()
        return None if found is None else AlertLevel(found[0])

    @property
    def handshake_types(self) -> list[int]:
        """The type of the first handshake message of each handshake record."""
        return [p[0] for c, p in self.plain if c == HANDSHAKE and p]

    @property
    def server_hello(self) -> bytes | None:
        """The first ServerHello's body (a HelloRetryRequest is one too, RFC 8446, 4.1.4)."""
        for ctype, payload in self.plain:
            if ctype == HANDSHAKE and payload[:1] == bytes((SERVER_HELLO,)):
                return payload[4 : 4 + int.from_bytes(payload[1:4], "big")]
        return None

    @property
    def is_hrr(self) -> bool:
        hello = self.server_hello
        return hello is not None and hello[2:34] == HRR_RANDOM

    def describe(self) -> str:
        kinds = [f"{ContentType(c).name}({len(p)})" for c, p in self.plain]
        return f"alert {self.alert}; records {kinds}; timed_out={self.timed_out}"


def read_until_closed(sock: socket.socket, wait: float = WAIT) -> Answer:
    """Until the server closes, or is silent for :data:`QUIET` after answering (timed_out)."""
    deadline = time.monotonic() + wait
    got = b""
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(min(left, QUIET) if got else left)
            try:
                chunk = sock.recv(1 << 16)
            except TimeoutError:
                return Answer(got, True)
            if not chunk:
                return Answer(got, False)
            got += chunk
        return Answer(got, True)
    return Answer(got, False)


def exchange(
    port: int, *chunks: bytes, hellos: tuple[Hello, ...] = (), wait: float = WAIT, pause: float = 0.0
) -> Answer:
    """Send each chunk (``pause`` seconds apart), then read until the server closes.
    ``hellos``: the TLS 1.3 ClientHellos among the chunks, to read the encrypted answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            for chunk in chunks:
                sock.sendall(chunk)
                if pause:
                    time.sleep(pause)
        answer = read_until_closed(sock, wait)
    return replace(answer, hellos=hellos)


def hrr_cookie(answer: Answer) -> bytes | None:
    """The cookie extension's data in the answer's HelloRetryRequest (RFC 8446, Section 4.2.2)."""
    hello = answer.server_hello if answer.is_hrr else None
    if hello is None:
        return None
    pos = 34 + 1 + hello[34] + 3
    end = pos + 2 + int.from_bytes(hello[pos : pos + 2], "big")
    pos += 2
    while pos < end:
        ext_type, length = int.from_bytes(hello[pos : pos + 2], "big"), int.from_bytes(hello[pos + 2 : pos + 4], "big")
        if ext_type == COOKIE:
            return hello[pos + 4 : pos + 4 + length]
        pos += 4 + length
    return None


def retry_exchange(
    port: int, first: Hello, second: Hello, wait: float = WAIT, *, between: bytes = b"", after: bytes = b""
) -> Answer:
    """``first`` (and ``between``), then (once the HelloRetryRequest came) ``second`` carrying the
    HRR's cookie if it had one, as the client must (RFC 8446, Section 4.1.2), and ``after`` once
    the server had a moment to answer it; the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(first.records() + between)
        head = read_until_closed(sock, wait)
        cookie = hrr_cookie(replace(head, hellos=(first,)))
        if cookie is not None:
            second = second.with_ext(COOKIE, cookie, at=0)
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            sock.sendall(record(HANDSHAKE, second.message()))
            if after:
                time.sleep(0.2)
                sock.sendall(after)
        rest = read_until_closed(sock, wait)
    return Answer(head.data + rest.data, rest.timed_out, (first, second))


# -- a scripted glasstls client -------------------------------------------------------------

Flights = Callable[["Scripted", int, list[bytes]], list[bytes]]
HelloEdit = Callable[[bytes], bytes]
MessageEdit = Callable[[Handshake], "bytes | None"]


class _Client(ClientConnection):
    """glasstls's client, whose ClientHello may be rewritten before it enters its transcript
    (``hello_edit``) and whose messages may be replaced on the wire only (``message_edit``,
    returning the bytes to send instead, or None to keep the message)."""

    def __init__(
        self,
        config: ClientConfig,
        hello_edit: HelloEdit | None,
        message_edit: MessageEdit | None,
        before_finished: list[tuple[int, bytes]],
        **kw: Any,
    ) -> None:
        self.hello_edit = hello_edit  # set first: the ClientHello goes out from the constructor
        self.message_edit = message_edit
        self.before_finished = before_finished
        super().__init__(config, "localhost", **kw)

    def _send_handshake(self, msg: Handshake) -> None:
        if isinstance(msg, ClientHello) and self.hello_edit is not None:
            msg.raw = self.hello_edit(msg.raw or msg.encode())
        if type(msg).__name__ == "Finished" and self.before_finished:
            # Records of any type under the keys the Finished goes out with, in sequence.
            self._flush_handshake()
            for ctype, data in self.before_finished:
                self._records._emit(ContentType(ctype), data)
        super()._send_handshake(msg)
        replacement = self.message_edit(msg) if self.message_edit is not None else None
        if replacement is not None:
            self._hs_out[-1] = replacement  # the transcript keeps the original, as on a tampered wire


@dataclass
class Outcome:
    """How a scripted handshake ended, as the client saw the server's records."""

    alert: AlertDescription | None
    level: AlertLevel | None
    completed: bool
    timed_out: bool
    events: list[Event]

    @property
    def alert_level(self) -> AlertLevel | None:
        return self.level

    def describe(self) -> str:
        return f"alert={self.alert} completed={self.completed} timed_out={self.timed_out} events={self.events}"


class Scripted:
    """glasstls's client over a socket, with every record it sends open to rewriting."""

    def __init__(
        self,
        port: int,
        config: ClientConfig,
        *,
        hello_edit: HelloEdit | None = None,
        message_edit: MessageEdit | None = None,
        before_finished: list[tuple[int, bytes]] = [],  # noqa: B006  (never mutated)
        flights: Flights | None = None,
        after: Callable[[Scripted], list[bytes]] | None = None,
        **conn_kw: Any,
    ) -> None:
        self.port = port
        self.conn = _Client(config, hello_edit, message_edit, before_finished, **conn_kw)
        self.flights = flights
        self.after = after

    # Records the script may add, under the client's current keys or in plaintext.
    def sealed(self, ctype: int, data: bytes, padding: int = 0) -> bytes:
        """One record under the client's write keys, as it is given (TLS 1.3: with ``padding`` zeros)."""
        protection = self.conn._records.write
        assert protection is not None, "no write keys yet"
        if padding:
            return bytes(protection.seal(ctype, data, padding))
        return bytes(protection.seal(ctype, data))

    @staticmethod
    def plain(ctype: int, data: bytes, version: int = 0x0303) -> bytes:
        return record(ctype, data, version)

    def _send(self, sock: socket.socket, flight: int, data: bytes) -> None:
        records = [record(c, p, v) for c, v, p in split_records(data)]
        if self.flights is not None:
            records = self.flights(self, flight, records)
        if records:
            sock.sendall(b"".join(records))

    def run(self, wait: float = WAIT) -> Outcome:
        """Play the handshake until the server closes, or :data:`WAIT` (or, once the
        handshake completed with nothing more to send, :data:`QUIET`) runs out."""
        events: list[Event] = []
        timed_out = True
        with (
            socket.create_connection(("127.0.0.1", self.port), timeout=wait) as sock,
            contextlib.suppress(ConnectionResetError, BrokenPipeError),
        ):
            timed_out = self._play(sock, time.monotonic() + wait, events)
        alerts = [e for e in events if isinstance(e, AlertReceived)]
        first = alerts[0] if alerts else None
        closed_by_us = any(isinstance(e, ConnectionClosed) and not e.by_peer for e in events)
        assert not closed_by_us or first is not None, f"the scripted client failed by itself: {events}"
        return Outcome(
            first.description if first else None,
            first.level if first else None,
            self.conn.handshake_complete,
            timed_out,
            events,
        )

    def _play(self, sock: socket.socket, deadline: float, events: list[Event]) -> bool:
        """Returns whether the time ran out (False: the server closed)."""
        flight, after_sent = 0, False
        self._send(sock, flight, self.conn.data_to_send())
        while (left := deadline - time.monotonic()) > 0:
            quiet = self.conn.handshake_complete and self.after is None
            sock.settimeout(min(left, QUIET) if quiet else left)
            try:
                data = sock.recv(1 << 16)
            except TimeoutError:
                return True
            if not data:
                return False
            events += self.conn.receive_bytes(data)
            if self.conn.closed:
                return False
            out = self.conn.data_to_send()
            if out:
                flight += 1
                self._send(sock, flight, out)
            if self.after is not None and self.conn.handshake_complete and not after_sent:
                after_sent = True
                sock.sendall(b"".join(self.after(self)))
        return True
