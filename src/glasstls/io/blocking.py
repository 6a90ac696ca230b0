"""A blocking-socket driver of the sans-I/O Connection.

    import glasstls
    with glasstls.connect("example.com", 443, glasstls.ClientConfig(alpn=("http/1.1",)), timeout=10) as tls:
        tls.sendall(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\nConnection: close\\r\\n\\r\\n")
        print(tls.recv_all())

Servers wrap sockets they accepted: ``tls = glasstls.accept(sock, server_config, timeout=10)``.

Time is bounded by deadlines, not per-read timeouts: ``timeout`` bounds each
whole operation (the handshake, one ``recv``, one ``sendall``), so a peer that
trickles bytes, change_cipher_spec records or warnings cannot stretch it
(docs/design/serving.md). An end of stream without close_notify after the
handshake raises :class:`TruncatedError` once the data that did arrive has
been returned, unless ``allow_truncation`` is set.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..config import ClientConfig, ServerConfig
from ..connection import Connection
from ..errors import ConnectionClosedError, DeadlineError, NotNegotiatedError, TLSError, TruncatedError
from ..events import (
    ApplicationData,
    ClientAuthDeclined,
    ClientAuthenticated,
    ConnectionClosed,
    EarlyData,
    Event,
    HandshakeComplete,
    NegotiatedParameters,
)
from ..session.store import SessionStore, session_key
from ..sides import ClientConnection, ServerConnection
from .closing import close_gently
from .inbox import Inbox
from .payload import octets, slices

READ_SIZE = 1 << 16
# Non-data events (NewTicket, KeyUpdated, AlertReceived …) kept for inspection: the most
# recent ones only, so a peer sending warnings or KeyUpdates forever cannot fill memory.
KEPT_EVENTS = 64

# Application data a server keeps for recv() while it waits for a post-handshake certificate:
# a client that streams data instead of answering is refused past this.
MAX_BUFFERED = 1 << 24

EventCallback = Callable[[Event], None]


class TLSSocket:
    """A socket speaking TLS through one Connection.

    ``timeout`` (seconds, None for none) is the deadline of each operation:
    the handshake, one ``recv`` and one ``sendall``. ``events`` holds the most
    recent non-data events; ``on_event`` is called with each one as it happens.

    One thread may send while another receives, as with a plain socket: the
    Connection is used under a lock, and its records go out in the order they
    were sealed (a KeyUpdate a read answers comes between two writes' records,
    never inside one's; RFC 8446, Section 4.6.3).
    """

    def __init__(
        self,
        sock: socket.socket,
        conn: Connection,
        *,
        timeout: float | None = None,
        allow_truncation: bool = False,
        on_event: EventCallback | None = None,
    ) -> None:
        self.sock = sock
        self.conn = conn
        self.timeout = timeout
        self.allow_truncation = allow_truncation
        self.on_event = on_event
        self.events: collections.deque[Event] = collections.deque(maxlen=KEPT_EVENTS)
        self.received = 0  # application-data bytes received, for the truncation report
        self.early_data_received = 0  # of those, bytes that came as accepted 0-RTT data
        self._inbox = Inbox()
        self._eof = False
        self._error: TLSError | None = None
        self._cut: str | None = None  # what was being sent when a send missed its deadline mid-record
        self._conn_lock = threading.RLock()  # every call into the Connection (it is not thread-safe)
        self._send_lock = threading.Lock()  # taking its output and sending it: one step, so records stay in order
        self._flush_wanted = False  # a read queued answers while another thread was sending (_flush)

    # -- handshake -----------------------------------------------------------
    def do_handshake(self, timeout: float | None = None) -> NegotiatedParameters:
        """Complete the handshake within ``timeout`` (default: the socket's ``timeout``)."""
        deadline = _deadline(self.timeout if timeout is None else timeout)
        self._flush(deadline, "the TLS handshake")
        # A fatal alert, sent or received, ends the handshake at once (RFC 8446, Section 6.2): reading on
        # would wait for a peer that has no reason to speak.
        while not self.conn.handshake_complete and self._error is None and not self._eof:
            self._pump(deadline, "the TLS handshake")
        self._raise_if_failed()
        if not self.conn.handshake_complete:
            raise ConnectionClosedError(f"peer closed the connection while {self.conn.step}")
        assert self.conn.parameters is not None
        return self.conn.parameters

    @property
    def parameters(self) -> NegotiatedParameters | None:
        return self.conn.parameters

    def export_keying_material(self, label: str | bytes, context: bytes | None = None, length: int = 32) -> bytes:
        """See :meth:`glasstls.connection.Connection.export_keying_material` (RFC 8446, Section 7.5; RFC 5705)."""
        return self.conn.export_keying_material(label, context, length)

    def channel_binding(self, kind: str = "tls-exporter") -> bytes:
        """The ``tls-exporter`` channel binding of RFC 9266."""
        return self.conn.channel_binding(kind)

    # -- data ------------------------------------------------------------------
    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        """Send all of ``data`` (any bytes-like object) within the deadline, sealed and sent a
        slice at a time (io/payload.py, slices)."""
        deadline = _deadline(self.timeout)
        for piece in slices(octets(data)):
            with self._conn_lock:
                self.conn.send(piece)
            self._flush(deadline, "sending")

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """As ``sendall`` (within the deadline, everything), returning how many bytes were sent, as a
        socket's ``send`` does: the usual ``n = s.send(d); d = d[n:]`` loop then ends at once."""
        view = octets(data)
        self.sendall(view)
        return len(view)

    def recv(self, n: int = READ_SIZE) -> bytes:
        """Up to ``n`` bytes; b"" once the peer has closed cleanly (close_notify). A record's
        data of 2 KiB or more comes alone, as it arrived (no copy), as OpenSSL's SSL_read
        gives one record at a time; smaller records are joined up to ``n``.

        Data received before an error is returned first; the error (a
        TruncatedError for an end of stream without close_notify) is raised on
        the next call.
        """
        if n <= 0:  # as a socket's and ssl's recv: a negative size is an error, zero reads nothing
            if n < 0:
                raise ValueError(f"recv size should not be negative, not {n}")
            return b""
        deadline = _deadline(self.timeout)
        while not self._inbox and not self._eof and self._error is None:
            self._pump(deadline, "receiving")
        if self._inbox:
            return self._inbox.take(n)
        self._raise_if_failed()
        return b""

    def recv_all(self, *, allow_truncation: bool | None = None) -> bytes:
        """Everything until the peer closes. An end without close_notify raises
        TruncatedError unless truncation is allowed (here or on the socket)."""
        saved = self.allow_truncation
        if allow_truncation is not None:
            self.allow_truncation = allow_truncation
        try:
            chunks = []
            while chunk := self.recv():
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            self.allow_truncation = saved

    def request_client_certificate(self, *, required: bool = True, wait: bool = True) -> tuple[Any, ...]:
        """TLS 1.3 server: ask the client for a certificate now (RFC 8446, Section 4.6.2;
        see ServerConnection.request_client_certificate) and send the request.

        With ``wait``, read until the client has answered (within ``timeout``) and return
        its verified chain (leaf first; empty when it declined a request that was not
        ``required``); data arriving meanwhile is kept for recv(). Without, return ()
        at once: the answer is processed while reading, and shows in ``events``,
        ``on_event`` and ``parameters``.
        """
        if not isinstance(self.conn, ServerConnection):
            raise NotNegotiatedError("only a server asks for a client certificate (RFC 8446, Section 4.6.2)")
        with self._conn_lock:
            context = self.conn.request_client_certificate(required=required)
        deadline = _deadline(self.timeout)
        self._flush(deadline, "sending the certificate request")
        answers: list[Event] = []
        watching = self.on_event

        def watch(event: Event) -> None:
            answers.append(event)
            if watching is not None:
                watching(event)

        self.on_event = watch
        try:
            while wait:
                for event in answers:
                    if isinstance(event, ClientAuthenticated) and event.certificate_request_context == context:
                        return event.peer_certificates
                    if isinstance(event, ClientAuthDeclined) and event.certificate_request_context == context:
                        return ()
                answers.clear()
                if self._error is not None or self._eof:
                    self._raise_if_failed()
                    raise ConnectionClosedError("the client closed the connection before answering the request")
                if len(self._inbox) > MAX_BUFFERED:
                    raise ConnectionClosedError(
                        f"more than {MAX_BUFFERED} bytes of data arrived before the client answered the certificate "
                        "request (limit glasstls.io.blocking.MAX_BUFFERED); read them with recv() and wait=False"
                    )
                self._pump(deadline, "waiting for the client certificate")
        finally:
            self.on_event = watching
        return ()

    def update_keys(self, request_peer: bool = True) -> None:
        """Send a KeyUpdate now (RFC 8446, Section 4.6.3; TLS 1.3 only), asking the peer to update
        its keys too unless ``request_peer`` is False."""
        with self._conn_lock:
            self.conn.update_keys(request_peer)
        self._flush(_deadline(self.timeout), "sending a KeyUpdate")

    def shutdown_write(self) -> None:
        """Send close_notify and go on reading: it closes our direction only (RFC 8446, Section 6.1),
        so the peer may still answer, until its own close_notify (recv() gives b"")."""
        with self._conn_lock:
            self.conn.close()
        self._flush(_deadline(self.timeout), "closing our direction")

    def close(self) -> None:
        try:
            with self._conn_lock:
                self.conn.close()
            self._flush(_deadline(self.timeout), "closing")
        except (OSError, TLSError):
            pass
        finally:
            close_gently(self.sock)

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------
    def _flush(self, deadline: float | None, what: str, wait: bool = True) -> None:
        """Send what the Connection has to send. ``wait`` False (answers a read made): if another thread
        is sending, leave it to that one, which sends what was queued meanwhile before it stops (a read
        waiting on a send that waits on the peer, which waits on our reads, would never end)."""
        if not wait:
            self._flush_wanted = True  # (before trying: the sending thread looks at it after letting go)
        while True:
            if not self._send_lock.acquire(blocking=wait):
                return
            try:
                self._flush_wanted = False
                self._send_out(deadline, what)
            finally:
                self._send_lock.release()
            if not self._flush_wanted:  # (set by a read that left its answers to us meanwhile)
                return

    def _send_out(self, deadline: float | None, what: str) -> None:
        """One pass of _flush, under the send lock."""
        if self._cut is not None:  # an earlier send stopped inside a record: nothing after it can be read
            raise ConnectionClosedError(
                f"cannot go on {what}: {self._cut} stopped at its deadline in the middle of a record, so the "
                "stream to the peer is cut; close this connection (what was sent after it would be lost)"
            )
        with self._conn_lock:
            out = self.conn.data_to_send()
        if not out:
            return
        # Since Python 3.5 a socket timeout bounds the whole sendall, so this is a deadline.
        self.sock.settimeout(_remaining(deadline, what, self.timeout))
        try:
            self.sock.sendall(out)
        except TimeoutError:
            self._cut = what  # (how much went out is unknown: the records after it may not follow)
            raise DeadlineError(what, self.timeout or 0.0, "timeout") from None

    def _pump(self, deadline: float | None, what: str) -> None:
        """Read once from the socket (within the deadline) and process it."""
        self.sock.settimeout(_remaining(deadline, what, self.timeout))
        how = "FIN"
        try:
            data = self.sock.recv(READ_SIZE)
        except TimeoutError:
            raise DeadlineError(what, self.timeout or 0.0, "timeout") from None
        except ConnectionResetError:
            data, how = b"", "reset"
        if not data:
            self._on_end_of_stream(how)
            return
        with self._conn_lock:
            events = self.conn.receive_bytes(data)
        for event in events:
            self._on_event(event)
        with contextlib.suppress(OSError, TLSError):  # the peer left after its last message; report what it said
            self._flush(deadline, what, wait=False)

    def _on_end_of_stream(self, how: str) -> None:
        self._eof = True
        # RFC 8446, Section 6.1: only close_notify ends the data; a bare FIN or RST may be
        # an attacker cutting the stream (a truncation attack).
        cut = self.conn.handshake_complete and not self.conn.peer_closed and not self.conn.closed
        if cut and not self.allow_truncation and self._error is None:
            self._error = TruncatedError(self.received, how)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ApplicationData):
            self._inbox.append(event.data)
            self.received += len(event.data)
            return
        if isinstance(event, EarlyData):
            # 0-RTT data the server accepted comes first through recv(), nothing lost; the
            # event (in events and on_event) and early_data_received say how much was early
            # and may be a replay (RFC 8446, Section 8).
            self._inbox.append(event.data)
            self.received += len(event.data)
            self.early_data_received += len(event.data)
        if isinstance(event, ConnectionClosed):
            self._eof = True
            self._error = event.error
        elif isinstance(event, HandshakeComplete):
            return
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


def _remaining(deadline: float | None, what: str, timeout: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineError(what, timeout or 0.0, "timeout")
    return left


def connect(
    host: str,
    port: int,
    config: ClientConfig | None = None,
    *,
    server_name: str | None = None,
    timeout: float | None = 30.0,
    session_store: SessionStore | None = None,
    allow_truncation: bool = False,
    on_event: EventCallback | None = None,
    **conn_kwargs: Any,
) -> TLSSocket:
    """Open a TCP connection and complete a TLS handshake as a client.

    ``timeout`` is a deadline: the TCP connection and the whole handshake
    finish within it or DeadlineError is raised, whatever the server sends;
    afterwards it bounds each recv() and sendall(). With a ``session_store``
    the connection resumes the newest session saved for (server name, port)
    (a TLS 1.3 ticket is used once: SessionStore.offer) and saves the one it
    ends up with, and each TLS 1.3 ticket as it arrives after the handshake.
    """
    key = session_key(host, port, server_name)
    keeper = None
    if session_store is not None:
        if "session" not in conn_kwargs:
            conn_kwargs["session"] = session_store.offer(key, datetime.now(UTC))
        on_event = keeper = session_store.keeping_tickets(key, on_event)
    deadline = _deadline(timeout)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise DeadlineError(f"the TCP connection to {host}:{port}", timeout or 0.0, "timeout") from None
    try:
        conn = ClientConnection(config or ClientConfig(), server_name=server_name or host, **conn_kwargs)
        tls = TLSSocket(sock, conn, timeout=timeout, allow_truncation=allow_truncation, on_event=on_event)
        left = None if deadline is None else max(deadline - time.monotonic(), 1e-3)
        tls.do_handshake(left)
    except BaseException:
        close_gently(sock)  # (the alert that says why went out in do_handshake)
        raise
    if keeper is not None and conn.session is not None:
        keeper.keep(conn.session)  # (taken back if a fatal alert ends the connection: RFC 5246, 7.2)
    return tls


def accept(
    sock: socket.socket,
    config: ServerConfig,
    *,
    timeout: float | None = None,
    allow_truncation: bool = False,
    on_event: EventCallback | None = None,
    **conn_kwargs: Any,
) -> TLSSocket:
    """Complete a TLS handshake as a server on an accepted socket, within
    ``timeout`` (default: the socket's own timeout) as a deadline. A handshake that fails
    closes the socket (after the alert that says why), as ``ssl``'s ``wrap_socket`` does."""
    if timeout is None:
        timeout = sock.gettimeout()
    try:
        conn = ServerConnection(config, **conn_kwargs)
        tls = TLSSocket(sock, conn, timeout=timeout, allow_truncation=allow_truncation, on_event=on_event)
        tls.do_handshake()
    except BaseException:
        close_gently(sock)
        raise
    return tls
