"""``SSLSession``: what ``SSLSocket.session`` and ``SSLObject.session`` return, as the stdlib's.

glasstls keeps a resumable session as a :class:`~glasstls.session.state.SessionState`; code
written for the stdlib reads ``id``, ``time``, ``timeout``, ``ticket_lifetime_hint`` and
``has_ticket`` off the session and gives it back (``sock.session = s`` before the handshake,
or ``wrap_socket(..., session=s)``) to resume. This wraps a state with those attributes, with
the values OpenSSL's SSL_SESSION_get_* give (``_ssl.SSLSession`` cannot be subclassed, so
``isinstance(s, ssl.SSLSession)`` does not hold).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..session.state import SessionState

# SSL_CTX's default session timeout in OpenSSL (tls1_default_timeout: 2 hours), which a client
# session keeps unless the context changed it; the stdlib has no setter for it.
OPENSSL_SESSION_TIMEOUT = 7200


class SSLSession:
    """A session; ``state`` is glasstls's, ``context`` the SSLContext it came from. ``state`` is
    None for a connection that has nothing to resume with yet (TLS 1.3 before a NewSessionTicket,
    or a server that gives none): OpenSSL has a session there all the same, with an empty ID and
    no ticket, and offering it resumes nothing."""

    __slots__ = ("_made", "context", "state")

    def __init__(self, state: SessionState | None, context: Any, made: float = 0.0) -> None:
        self.state = state
        self.context = context
        self._made = made  # (when a session without state began: the handshake's end)

    @property
    def id(self) -> bytes:
        """The session ID; for a session with a ticket, the SHA-256 of the ticket, which OpenSSL's
        client puts there when the ticket arrives (tls_process_new_session_ticket)."""
        if self.state is None:
            return b""
        if self.state.ticket is not None:
            return hashlib.sha256(self.state.ticket).digest()
        return self.state.session_id

    @property
    def time(self) -> int:
        """When the session was made, in seconds since the epoch."""
        return int(self.state.created.timestamp() if self.state is not None else self._made)

    @property
    def timeout(self) -> int:
        return OPENSSL_SESSION_TIMEOUT

    @property
    def ticket_lifetime_hint(self) -> int:
        """The lifetime the server gave its ticket, in seconds; 0 without a ticket."""
        return self.state.lifetime if self.has_ticket and self.state is not None else 0

    @property
    def has_ticket(self) -> bool:
        return self.state is not None and self.state.ticket is not None

    def __eq__(self, other: object) -> bool:
        # As _ssl.c's session_richcompare: sessions are equal when their IDs are.
        if not isinstance(other, SSLSession):
            return NotImplemented
        return self.id == other.id

    __hash__ = None  # type: ignore[assignment]  # (as the stdlib's: equal by ID, not hashable)

    def __repr__(self) -> str:
        return f"<glasstls.compat.SSLSession id={self.id.hex()[:16]} has_ticket={self.has_ticket}>"


def session_state(session: Any) -> SessionState | None:
    """The glasstls state behind what a program gives as ``session``: an SSLSession of this
    module, or (as glasstls's own API takes) a SessionState; TypeError otherwise, as _ssl.c."""
    if isinstance(session, SessionState):
        return session
    if isinstance(session, SSLSession):
        return session.state
    raise TypeError("Value is not a SSLSession.")
