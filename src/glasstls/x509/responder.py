"""``glasstls ca serve``: the CA's OCSP responder, CRL and issuer certificates over plain HTTP.

What it answers (the paths :mod:`glasstls.x509.ca_urls` puts into certificates):

* ``POST /ocsp`` (Content-Type application/ocsp-request) and ``GET /ocsp/<url-encoded
  base64 of the DER request>`` (RFC 6960, Appendix A.1). The base64 may hold '/' (as
  is, or as %2F), so everything after ``/ocsp/`` is the request. The answer
  (Appendix A.2, application/ocsp-response) says good, revoked (time and reason) or
  unknown (a serial this CA never issued), from the CA's state as it is on disk at
  that moment, so a ``glasstls ca revoke`` shows at once. It is signed by the
  certificate's issuer, or by a delegated responder for the leaves' issuer (RFC 6960,
  4.2.2.2); a request nonce is echoed (4.4.1). A request that does not parse gets
  malformedRequest, one about another CA's certificates unauthorized (Section 2.3).
* ``GET /crl.der`` (the leaves' issuer's CRL), ``/root-crl.der`` (the root's), made
  again whenever the revocations change or the last one is half way to nextUpdate;
  ``/root.der``, ``/intermediate.der``, ``/issuer.der`` (the leaves' issuer), DER.

The HTTP side is h11 over blocking sockets, one thread per connection, bounded: at
most ``max_connections`` at once (with all taken, a new connection takes the slot of
the one that has waited longest for its request, as nginx reuses idle keep-alive
connections; it is closed only when every connection is being answered), a request head
of at most ``MAX_REQUEST`` bytes (431 beyond) and a body of as much (413), a deadline per
connection. Anything wrong with one request is answered 400/404/405/413/415/431 and
logged; the server goes on.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import h11
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from ..errors import ConfigError
from ..text import printable
from .ca import INTERMEDIATE, ROOT, STATE_FILE, CertificateAuthority, serial_hex
from .ca_ocsp import CertId, check_responder, sign_response
from .ca_urls import CRL_PATH, ISSUER_PATH, OCSP_PATH, ROOT_CRL_PATH, certificate_path
from .mint import Issuer, PrivateKey

DER = serialization.Encoding.DER
MAX_REQUEST = 16 * 1024  # an OCSP request is a few hundred bytes; headers included
CONNECTION_DEADLINE = 10.0  # seconds for a whole connection, however many requests it carries
MAX_CONNECTIONS = 64
LINGER, LINGER_BYTES = 1.0, 16 << 20  # after an error answer: how long, and how much, to read and drop
OCSP_LIFETIME = timedelta(days=1)
CRL_LIFETIME = timedelta(days=7)
MAX_NONCE = 32  # octets of an OCSP nonce (RFC 8954, Section 2.1)

Log = Callable[[str], None]


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, content type, body, and what the log line says about it."""

    status: int
    content_type: str
    body: bytes
    note: str
    headers: tuple[tuple[str, str], ...] = ()


def _text(status: int, message: str, *headers: tuple[str, str]) -> Answer:
    return Answer(status, "text/plain; charset=utf-8", (message + "\n").encode(), message, headers)


# -- what the CA says ---------------------------------------------------------------------------------


class CaResponder:
    """The CA's answers, from its directory as it is now (reloaded when state.json changes)."""

    def __init__(
        self,
        directory: str | Path,
        *,
        responder: tuple[x509.Certificate, PrivateKey] | None = None,
        ocsp_lifetime: timedelta = OCSP_LIFETIME,
        crl_lifetime: timedelta = CRL_LIFETIME,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.directory = Path(directory)
        self.ca = CertificateAuthority.load(self.directory)
        self._stamp = self._state_stamp()
        if responder is not None:  # fail at start, not at the first request
            check_responder(*responder, self.ca.issuer)
        self.responder = responder
        self.ocsp_lifetime, self.crl_lifetime, self.clock = ocsp_lifetime, crl_lifetime, clock
        self._crls: dict[str, tuple[object, datetime, bytes]] = {}  # level -> (revocations, made, DER)
        self._lock = threading.Lock()

    def _state_stamp(self) -> object:
        try:
            st = (self.directory / STATE_FILE).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _current(self) -> CertificateAuthority:
        """The CA as on disk now: ``glasstls ca revoke`` in another process shows at the next request."""
        stamp = self._state_stamp()
        if stamp != self._stamp:
            self.ca, self._stamp = CertificateAuthority.load(self.directory), stamp
        return self.ca

    def answer(self, method: str, target: str, content_type: str | None, body: bytes) -> Answer:
        """The answer to one HTTP request (path and query as sent)."""
        path = target.split("?", 1)[0]
        with self._lock:
            if path == OCSP_PATH or path.startswith(OCSP_PATH + "/"):
                return self._ocsp_route(method, path, content_type, body)
            documents = self._documents()
            if path not in documents:
                return _text(404, f"no such document: {path[:64]!r}")
            if method not in ("GET", "HEAD"):
                return _text(405, f"{method} {path}: only GET", ("allow", "GET, HEAD"))
            return documents[path]()

    def _ocsp_route(self, method: str, path: str, content_type: str | None, body: bytes) -> Answer:
        if method == "POST" and path == OCSP_PATH:
            if (content_type or "").split(";")[0].strip().lower() != "application/ocsp-request":
                return _text(415, f"POST {OCSP_PATH} needs Content-Type application/ocsp-request (RFC 6960, A.1)")
            return self.ocsp(body)
        if method == "GET" and path.startswith(OCSP_PATH + "/"):
            # RFC 6960, A.1: the url-encoded base64 of the DER; '/' may appear as is or as %2F.
            encoded = urllib.parse.unquote(path[len(OCSP_PATH) + 1 :]).translate(_URLSAFE)
            try:
                der = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                return _ocsp_failure(ocsp.OCSPResponseStatus.MALFORMED_REQUEST, "GET request is not base64")
            return self.ocsp(der)
        allowed = "POST" if path == OCSP_PATH else "GET"
        return _text(405, f"{method} {path[:64]}: use {allowed} (RFC 6960, A.1)", ("allow", allowed))

    # -- OCSP ---------------------------------------------------------------------------------------

    def ocsp(self, der: bytes) -> Answer:
        """The OCSPResponse to a DER OCSPRequest (RFC 6960, Sections 4.1 and 4.2)."""
        try:
            request = ocsp.load_der_ocsp_request(der)
            cert_id = CertId.from_request(request)
        except (ValueError, TypeError) as exc:
            return _ocsp_failure(ocsp.OCSPResponseStatus.MALFORMED_REQUEST, f"request does not parse ({exc})")
        except UnsupportedAlgorithm as exc:  # a CertID hashed with what cryptography lacks (RFC 5019, 2.1.1: SHA-1)
            return _ocsp_failure(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST, f"the CertID's hash algorithm is not supported ({exc})"
            )
        except NotImplementedError:
            # RFC 6960, 4.1.1 lets one request ask about several certificates (openssl ocsp -cert A -cert B);
            # cryptography reads and answers one. An answer, not a dropped connection: the client is told.
            return _ocsp_failure(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST,
                "the request asks about more than one certificate; this responder answers one per request",
            )
        nonce = _nonce(request)
        if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE:
            # RFC 8954, Section 2.1: a nonce of 0 octets or over 32 is refused, not echoed (and signed).
            why = f"a nonce of {len(nonce)} octets (RFC 8954: 1 to {MAX_NONCE})"
            return _ocsp_failure(ocsp.OCSPResponseStatus.MALFORMED_REQUEST, why)
        ca = self._current()
        level, issuer = _issuer_named(ca, cert_id)
        if issuer is None:
            return _ocsp_failure(ocsp.OCSPResponseStatus.UNAUTHORIZED, "about another CA's certificate")
        serial = serial_hex(cert_id.serial)
        known = any(e["serial"] == serial and e["issuer"] == level for e in ca.issued)
        revocation = next((r for r in ca.revocations if r.serial == cert_id.serial and r.issuer == level), None)
        delegate = self.responder if level == _leaves_level(ca) else None
        response = sign_response(
            cert_id, issuer, revocation, self.clock(), self.ocsp_lifetime, delegate, nonce=nonce, known=known
        )
        status = "unknown" if not known else ("revoked" if revocation else "good")
        signer = "delegated responder" if delegate else level
        note = f"ocsp serial {serial}: {status}, signed by the {signer}{', nonce echoed' if nonce else ''}"
        body = response.public_bytes(DER)
        # A nonce makes the answer this request's own: no cache may give it to another (RFC 5019, 6.2 is for
        # the nonce-free lightweight profile).
        headers = (("cache-control", "no-store"),) if nonce else _cache_headers(response, body, self.clock())
        return Answer(200, "application/ocsp-response", body, note, headers)

    # -- CRLs and certificates ----------------------------------------------------------------------

    def _documents(self) -> dict[str, Callable[[], Answer]]:
        ca = self._current()
        leaves = _leaves_level(ca)
        documents: dict[str, Callable[[], Answer]] = {
            CRL_PATH: lambda: self._crl(leaves),
            ISSUER_PATH: lambda: _certificate(ca.issuer, leaves),
            certificate_path(ROOT): lambda: _certificate(ca.root, ROOT),
        }
        if ca.intermediate is not None:
            intermediate = ca.intermediate
            documents[ROOT_CRL_PATH] = lambda: self._crl(ROOT)
            documents[certificate_path(INTERMEDIATE)] = lambda: _certificate(intermediate, INTERMEDIATE)
        return documents

    def _crl(self, level: str) -> Answer:
        """The CRL of ``level``, made again when its revocations change or it is half way to nextUpdate."""
        ca, now = self._current(), self.clock()
        revocations = tuple((r.serial, r.reason, r.date) for r in ca.revocations if r.issuer == level)
        cached = self._crls.get(level)
        if cached is None or cached[0] != revocations or now - cached[1] >= self.crl_lifetime / 2:
            days = max(1, round(self.crl_lifetime / timedelta(days=1)))
            crl = ca.crl(now, days, issuer=level)
            self._crls[level] = cached = (revocations, now, crl.public_bytes(DER))
            self._current()  # ca.crl counted a CRL number into state.json: take that state as ours
        note = f"crl of the {level}: {len(revocations)} revoked"
        return Answer(200, "application/pkix-crl", cached[2], note)


_URLSAFE = str.maketrans("-_", "+/")  # accept base64url too: some clients send it


def _certificate(issuer: Issuer, level: str) -> Answer:
    # RFC 5280, 4.2.2.1: a caIssuers URL over HTTP points at a DER certificate (application/pkix-cert).
    return Answer(200, "application/pkix-cert", issuer.certificate.public_bytes(DER), f"certificate of the {level}")


def _leaves_level(ca: CertificateAuthority) -> str:
    return INTERMEDIATE if ca.intermediate is not None else ROOT


def _issuer_named(ca: CertificateAuthority, cert_id: CertId) -> tuple[str, Issuer | None]:
    """Which of this CA's certificates the CertID's issuer hashes name (RFC 6960, 4.1.1)."""
    for level, issuer in ((INTERMEDIATE, ca.intermediate), (ROOT, ca.root)):
        if issuer is not None and cert_id.names_issuer(issuer.certificate):
            return level, issuer
    return "", None


def _nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except (x509.ExtensionNotFound, ValueError):
        return None


def _cache_headers(response: ocsp.OCSPResponse, body: bytes, now: datetime) -> tuple[tuple[str, str], ...]:
    """RFC 5019, Section 6.2: what lets an HTTP cache keep this answer until its nextUpdate (a GET's
    answer is cacheable, Appendix A.1 of RFC 6960)."""
    this_update, next_update = response.this_update_utc, response.next_update_utc
    if next_update is None:
        return (("cache-control", "no-cache"),)
    max_age = max(0, int((next_update - now).total_seconds()))
    return (
        ("last-modified", format_datetime(this_update, usegmt=True)),
        ("expires", format_datetime(next_update, usegmt=True)),
        ("etag", f'"{hashlib.sha256(body).hexdigest()[:32]}"'),
        ("cache-control", f"max-age={max_age}, public, no-transform, must-revalidate"),
    )


def _ocsp_failure(status: ocsp.OCSPResponseStatus, why: str) -> Answer:
    """RFC 6960, Section 2.3: an unsuccessful OCSPResponse is unsigned, just its status (HTTP 200)."""
    der = ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(DER)
    return Answer(200, "application/ocsp-response", der, f"ocsp {status.name.lower()}: {why}")


# -- HTTP ---------------------------------------------------------------------------------------------


class HttpServer:
    """A small bounded HTTP/1.1 server (h11) in front of a :class:`CaResponder`."""

    def __init__(
        self,
        responder: CaResponder,
        listener: socket.socket,
        *,
        log: Log,
        max_connections: int = MAX_CONNECTIONS,
        deadline: float = CONNECTION_DEADLINE,
    ) -> None:
        self.responder, self.listener, self.log = responder, listener, log
        self.deadline = deadline
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        # The connections waiting for a request (head or body), with since when and whose: the ones
        # a new connection may take the slot of when all are open.
        self._waiting: dict[socket.socket, tuple[float, tuple[str, int]]] = {}
        self._waiting_lock = threading.Lock()
        self.stopping = threading.Event()

    def serve_forever(self) -> None:
        """Accept until :attr:`stopping` is set (checked twice a second)."""
        self.listener.settimeout(0.5)
        while not self.stopping.is_set():
            try:
                sock, peer = self.listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                self.log(f"accept failed: {exc.strerror or exc}")
                time.sleep(0.1)
                continue
            if not self._slots.acquire(blocking=False) and not self._slot_of_the_longest_waiting():
                self.log(f"{_peer(peer)} refused: {self.max_connections} connections open already, all answering")
                sock.close()
                continue
            threading.Thread(target=self._connection, args=(sock, peer), daemon=True).start()

    def _slot_of_the_longest_waiting(self) -> bool:
        """Every slot taken: close the connection that has waited longest for its request and take its
        slot (as nginx reuses idle keep-alive connections when it has none left), so that silent or
        slow connections cannot keep everyone out; False when every connection is being answered."""
        with self._waiting_lock:
            if not self._waiting:
                return False
            victim = min(self._waiting, key=lambda s: self._waiting[s][0])
            since, peer = self._waiting.pop(victim)
        self.log(f"{_peer(peer)} closed after {time.monotonic() - since:.1f} s without a request: all slots taken")
        with contextlib.suppress(OSError):
            victim.shutdown(socket.SHUT_RDWR)  # (its thread's recv returns at once; it then frees the slot)
        return self._slots.acquire(timeout=1.0)

    def _connection(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        try:
            self._exchange(sock, peer, time.monotonic() + self.deadline)
        except Exception as exc:  # one connection never takes the server down
            self.log(f"{_peer(peer)} connection failed: {type(exc).__name__}: {exc}")
        finally:
            with self._waiting_lock:
                self._waiting.pop(sock, None)
            with contextlib.suppress(OSError):
                sock.close()
            self._slots.release()

    def _exchange(self, sock: socket.socket, peer: tuple[str, int], deadline: float) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST)
        while True:
            with self._waiting_lock:
                self._waiting[sock] = (time.monotonic(), peer)
            try:
                request = _read_request(conn, sock, deadline)
            except _Refused as refused:
                self._send(conn, sock, refused.answer, peer, refused.request_line)
                _linger(sock)
                return
            with self._waiting_lock:
                if self._waiting.pop(sock, None) is None:
                    return  # its slot went to a new connection (_slot_of_the_longest_waiting)
            if request is None:
                return  # the client closed, or went quiet: nothing to answer
            method, target, content_type, body = request
            started = time.monotonic()
            try:
                answer = self.responder.answer(method, target, content_type, body)
            except ConfigError as exc:  # e.g. state.json damaged while serving: say so, keep going
                answer = _text(500, f"the CA cannot answer: {exc}")
            self._send(conn, sock, answer, peer, f"{method} {target}", time.monotonic() - started)
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()

    def _send(
        self,
        conn: h11.Connection,
        sock: socket.socket,
        answer: Answer,
        peer: tuple[str, int],
        line: str,
        took: float = 0.0,
    ) -> None:
        headers = [
            ("content-type", answer.content_type),
            ("content-length", str(len(answer.body))),
            *answer.headers,
        ]
        if answer.status >= 400:
            headers.append(("connection", "close"))
        data = b""
        with contextlib.suppress(h11.LocalProtocolError):
            data = conn.send(h11.Response(status_code=answer.status, headers=headers))
            if not line.startswith("HEAD "):  # HEAD: the length of the body, not the body (RFC 9110, 9.3.2)
                data += conn.send(h11.Data(data=answer.body))
            data += conn.send(h11.EndOfMessage())
        with contextlib.suppress(OSError):
            sock.sendall(data)
        line = printable(line, escape_backslash=False)  # the client wrote it: no control characters in the log
        shown = line if len(line) <= 96 else line[:93] + "..."
        self.log(f'{_peer(peer)} "{shown}" {answer.status} {len(answer.body)}B {took * 1000:.1f}ms {answer.note}')


class _Refused(Exception):
    """A request answered with an HTTP error before it reached the CA."""

    def __init__(self, answer: Answer, request_line: str = "-") -> None:
        super().__init__(answer.note)
        self.answer, self.request_line = answer, request_line


def _read_request(
    conn: h11.Connection, sock: socket.socket, deadline: float
) -> tuple[str, str, str | None, bytes] | None:
    """One request: method, target, Content-Type and body; None when the client is gone."""
    request: h11.Request | None = None
    body = bytearray()
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            status = exc.error_status_hint  # 400, or 431 for headers over MAX_REQUEST
            line = f"{request.method.decode()} {request.target.decode()}" if request else "-"
            raise _Refused(_text(status, f"bad request: {exc}"), line) from None
        if event is h11.NEED_DATA:
            if not _receive(conn, sock, deadline):
                return None
            continue
        if isinstance(event, h11.Request):
            request = event
            length = dict(event.headers).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > MAX_REQUEST:
                raise _Refused(_text(413, f"request body of {int(length)} bytes: at most {MAX_REQUEST}"), _line(event))
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_REQUEST:
                raise _Refused(_text(413, f"request body over {MAX_REQUEST} bytes"), _line(request))
        elif isinstance(event, h11.EndOfMessage) and request is not None:
            content_type = dict(request.headers).get(b"content-type")
            kind = content_type.decode("latin-1") if content_type is not None else None
            return request.method.decode("ascii", "replace"), request.target.decode("latin-1"), kind, bytes(body)
        elif isinstance(event, h11.ConnectionClosed | h11.PAUSED):
            return None


def _line(request: h11.Request | None) -> str:
    return f"{request.method.decode('ascii', 'replace')} {request.target.decode('latin-1')}" if request else "-"


def _receive(conn: h11.Connection, sock: socket.socket, deadline: float) -> bool:
    """Feed the next bytes to h11 before ``deadline``; False when the time is up or the socket failed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    sock.settimeout(remaining)
    try:
        data = sock.recv(8192)
    except OSError:
        return False
    conn.receive_data(data)
    return True


def _linger(sock: socket.socket) -> None:
    """After an error answer to a request not read whole: our side closed, what the client still sends
    read and dropped for a moment, so that closing does not reset the connection and take the answer
    with it (a close with unread data sends RST; nginx's lingering close)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        deadline, dropped = time.monotonic() + LINGER, 0
        while dropped < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            data = sock.recv(16384)
            if not data:
                return
            dropped += len(data)


def _peer(peer: tuple[str, int] | object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (ConfigError when it cannot be had)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return listener
