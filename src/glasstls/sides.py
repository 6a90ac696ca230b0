"""The two sides of a :class:`~glasstls.connection.Connection`: what a client adds (its server name,
the session it resumes, 0-RTT data) and what a server adds (post-handshake client authentication).

Both check what they are given when they are made, as Python's ``ssl`` does at ``wrap`` time: a
configuration of the other side, a session that is not one, a server name that cannot be one."""

from __future__ import annotations

from typing import Any

from .config import ClientConfig, ServerConfig
from .connection import Connection
from .enums import ContentType, ProtocolVersion
from .errors import ConfigError, ConnectionClosedError, NotNegotiatedError
from .handshake import client, server
from .handshake.base import Connected
from .handshake.hello import check_server_name, sni_name
from .session.state import SessionState, ended_by_alert
from .wire.handshake import ClientHello


def _check_early_data(session: SessionState | None, size: int, alpn: tuple[str, ...]) -> None:
    """A client may send early data only with a ticket that allows that much (RFC 8446, Section 4.2.10),
    and only for the ALPN protocol of the ticket's connection when it had one: early data is sent
    under the session's parameters (Section 4.2.10), so a server that cannot select that protocol
    again must refuse it (as OpenSSL's client refuses: INCONSISTENT_EARLY_DATA_ALPN)."""
    if session is None or session.version != ProtocolVersion.TLSv1_3 or not session.ticket:
        raise ConfigError("early data needs a session with a TLS 1.3 ticket (session=...)")
    if session.max_early_data == 0:
        raise ConfigError("the session's ticket does not allow early data (the server announced none)")
    if size > session.max_early_data:
        raise ConfigError(f"{size} bytes of early data exceed the ticket's max_early_data ({session.max_early_data})")
    if session.alpn is not None and session.alpn not in alpn:
        raise ConfigError(
            f"the session's early data belongs to ALPN protocol {session.alpn!r}, which this connection "
            "does not offer (RFC 8446, Section 4.2.10): offer it too (alpn=, --alpn) or send no early data"
        )


class ClientConnection(Connection):
    side = "client"

    def __init__(
        self,
        config: Any,
        server_name: str | None = None,
        *,
        session: Any = None,
        early_data: bytes | None = None,
        **kwargs: Any,
    ) -> None:
        """``early_data``: 0-RTT data to send right behind the ClientHello (RFC 8446, Section
        2.3), with ``session``'s TLS 1.3 ticket, which must allow that much
        (``session.max_early_data``). Whether the server took it is
        ``parameters.early_data_accepted``; rejected data is not sent again."""
        if not isinstance(config, ClientConfig):
            raise TypeError(f"a ClientConnection takes a ClientConfig, not {type(config).__name__}")
        if session is not None and not isinstance(session, SessionState):
            raise TypeError(f"session must be a SessionState (a connection's .session), not {type(session).__name__}")
        super().__init__(config, **kwargs)
        check_server_name(config, server_name)
        self.server_name = server_name
        self._ctx.offered_sni = sni_name(server_name)
        # A saved session (session.state.SessionState) to resume, if still valid and not ended by a
        # fatal alert (RFC 5246, Section 7.2).
        if session is not None and not session.expired(self._clock()) and not ended_by_alert(session):
            self._ctx.offered_session = session
        if early_data is not None:
            _check_early_data(session, len(early_data), self.config.alpn)
            self._ctx.early_wanted = bytes(early_data)
        self._records.plaintext_version = b"\x03\x01"  # RFC 8446, Section 5.1
        self._state = client.start(self._ctx)
        self._flush_handshake()
        self._records.plaintext_version = b"\x03\x03"
        if early_data:
            self.send_early_data(early_data, _first=True)

    def send_early_data(self, data: bytes, *, _first: bool = False) -> None:
        """Send more 0-RTT data (RFC 8446, Section 4.2.10): only on a connection made with
        ``early_data`` whose ClientHello offered it, before the server's answer arrived,
        and within the ticket's ``max_early_data``. Raises NotNegotiatedError otherwise."""
        early = self._ctx.early
        if self._closed or self._write_closed:
            raise ConnectionClosedError("cannot send early data: the connection is closed")
        if early is None or early.suite is None:
            raise NotNegotiatedError(
                "no early data on this connection: make it with early_data=... and a session whose "
                "TLS 1.3 ticket allows early data (the ClientHello offers it only then)"
            )
        if not early.open:
            raise NotNegotiatedError("too late for early data: the server has answered the ClientHello")
        sent = 0 if _first else early.count
        if sent + len(data) > early.limit:
            raise NotNegotiatedError(
                f"{sent + len(data)} bytes of early data exceed the ticket's max_early_data ({early.limit})"
            )
        early.count = sent + len(data)
        if data:
            self._records.send(ContentType.application_data, bytes(data))

    @property
    def offered_hello(self) -> ClientHello:
        """The ClientHello this client sent last (the second one after a HelloRetryRequest)."""
        hello = self._ctx.offered_hello
        assert hello is not None  # sent from the constructor
        return hello


class ServerConnection(Connection):
    side = "server"

    def __init__(self, config: Any, **kwargs: Any) -> None:
        if not isinstance(config, ServerConfig):
            raise TypeError(f"a ServerConnection takes a ServerConfig, not {type(config).__name__}")
        super().__init__(config, **kwargs)
        self._state = server.ExpectClientHello()

    def request_client_certificate(self, *, required: bool = True) -> bytes:
        """Ask the client for a certificate now: TLS 1.3 post-handshake authentication
        (RFC 8446, Section 4.6.2). Queues a CertificateRequest with a fresh random
        certificate_request_context (returned), the handshake's signature_algorithms and
        certificate_authorities; send it with data_to_send().

        The answer comes through receive_bytes(), application data possibly first:
        ClientAuthenticated, with ``parameters`` now holding the client's chain (checked
        against ``config.client_trust_store``), or, when not ``required``, ClientAuthDeclined
        for an empty answer; a required request answered empty ends the connection with
        certificate_required. Several requests may be outstanding.

        Raises NotNegotiatedError (nothing sent) unless the connection is an established
        TLS 1.3 one whose client offered post_handshake_auth, and ConfigError when the
        configuration has no client_trust_store.
        """
        if self._closed or self._write_closed or self._read_closed:
            raise ConnectionClosedError("cannot request a client certificate: the connection is closed")
        state = self._state
        if self.peer_verified is None or not isinstance(state, Connected):
            raise NotNegotiatedError("post-handshake client authentication needs an established TLS 1.3 connection")
        return state.request_client_certificate(self._ctx, required)  # NotNegotiatedError in TLS 1.2
