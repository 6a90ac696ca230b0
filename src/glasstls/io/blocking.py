"""A blocking-socket driver of the sans-I/O Connection.

    import glasstls
    with glasstls.connect("example.com", 443, glasstls.ClientConfig(alpn=("http/1.1",))) as tls:
        tls.sendall(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\nConnection: close\\r\\n\\r\\n")
        print(tls.recv_all())

Servers wrap sockets they accepted: ``tls = glasstls.accept(sock, server_config)``.
"""

from __future__ import annotations

import contextlib
import socket
from datetime import UTC, datetime
from typing import Any

from ..config import ClientConfig, ServerConfig
from ..connection import ClientConnection, Connection, ServerConnection
from ..errors import ConnectionClosedError, TLSError
from ..events import (
    ApplicationData,
    ClientAuthDeclined,
    ClientAuthenticated,
    ConnectionClosed,
    Event,
    HandshakeComplete,
    NegotiatedParameters,
)
from ..session.store import SessionStore, session_key

READ_SIZE = 1 << 16


class TLSSocket:
    """A socket speaking TLS through one Connection."""

    def __init__(self, sock: socket.socket, conn: Connection) -> None:
        self.sock = sock
        self.conn = conn
        self._inbox = bytearray()
        self._eof = False
        self._error: TLSError | None = None
        self.events: list[Event] = []  # non-data events, e.g. NewTicket

    # -- handshake -----------------------------------------------------------
    def do_handshake(self) -> NegotiatedParameters:
        self._flush()
        # A fatal alert, sent or received, ends the handshake at once (RFC 8446, Section 6.2): reading on
        # would wait for a peer that has no reason to speak, until the socket's timeout.
        while not self.conn.handshake_complete and self._error is None and not self._eof:
            if not self._pump():
                break
        self._raise_if_failed()
        if not self.conn.handshake_complete:
            raise ConnectionClosedError(f"peer closed the connection while {self.conn._state.step}")
        assert self.conn.parameters is not None
        return self.conn.parameters

    @property
    def parameters(self) -> NegotiatedParameters | None:
        return self.conn.parameters

    # -- data ------------------------------------------------------------------
    def sendall(self, data: bytes) -> None:
        self.conn.send(data)
        self._flush()

    send = sendall

    def recv(self, n: int = READ_SIZE) -> bytes:
        """Up to ``n`` bytes; b"" once the peer has closed cleanly.

        Data received before an error is returned first; the error is raised
        on the next call.
        """
        while not self._inbox and not self._eof and self._error is None:
            if not self._pump():
                break
        if self._inbox:
            out = bytes(self._inbox[:n])
            del self._inbox[:n]
            return out
        self._raise_if_failed()
        return b""

    def request_client_certificate(self, *, required: bool = True, wait: bool = True) -> tuple[Any, ...]:
        """TLS 1.3 server: ask the client for a certificate now (RFC 8446, Section 4.6.2;
        see ServerConnection.request_client_certificate) and send the request.

        With ``wait``, read until the client has answered and return its verified chain
        (leaf first; empty when it declined a request that was not ``required``); data
        arriving meanwhile is kept for recv(). Without, return () at once: the answer
        is processed while reading, and shows in ``events`` and ``parameters``.
        """
        context = self.conn.request_client_certificate(required=required)  # type: ignore[attr-defined]
        self._flush()
        while wait:
            for event in self.events:
                answered = isinstance(event, ClientAuthenticated | ClientAuthDeclined)
                if answered and event.certificate_request_context == context:  # type: ignore[union-attr]
                    return getattr(event, "peer_certificates", ())
            if self._error is not None or self._eof or not self._pump():
                self._raise_if_failed()
                raise ConnectionClosedError("the client closed the connection before answering the certificate request")
        return ()

    def recv_all(self) -> bytes:
        chunks = []
        while chunk := self.recv():
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        try:
            self.conn.close()
            self._flush()
        except OSError:
            pass
        finally:
            self.sock.close()

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------
    def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def _pump(self) -> bool:
        """Read once from the socket and process it; False at end of stream."""
        try:
            data = self.sock.recv(READ_SIZE)
        except ConnectionResetError:
            data = b""
        if not data:
            self._eof = True
            return False
        for event in self.conn.receive_bytes(data):
            self._on_event(event)
        with contextlib.suppress(OSError):  # the peer left after its last message; report what it said
            self._flush()
        return True

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ApplicationData):
            self._inbox += event.data
        elif isinstance(event, ConnectionClosed):
            self._eof = True
            self._error = event.error
        elif not isinstance(event, HandshakeComplete):
            self.events.append(event)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


def connect(
    host: str,
    port: int,
    config: ClientConfig | None = None,
    *,
    server_name: str | None = None,
    timeout: float | None = 30.0,
    session_store: SessionStore | None = None,
    **conn_kwargs: Any,
) -> TLSSocket:
    """Open a TCP connection and complete a TLS handshake as a client.

    With a ``session_store`` the connection resumes the newest session saved
    for (server name, port) and saves the one it ends up with.
    """
    key = session_key(host, port, server_name)
    if session_store is not None and "session" not in conn_kwargs:
        conn_kwargs["session"] = session_store.get(key, datetime.now(UTC))
    sock = socket.create_connection((host, port), timeout=timeout)
    conn = ClientConnection(config or ClientConfig(), server_name=server_name or host, **conn_kwargs)
    tls = TLSSocket(sock, conn)
    try:
        tls.do_handshake()
    except BaseException:
        sock.close()
        raise
    if session_store is not None and conn.session is not None:
        session_store.put(key, conn.session)
    return tls


def accept(sock: socket.socket, config: ServerConfig, **conn_kwargs: Any) -> TLSSocket:
    """Complete a TLS handshake as a server on an accepted socket."""
    tls = TLSSocket(sock, ServerConnection(config, **conn_kwargs))
    tls.do_handshake()
    return tls
