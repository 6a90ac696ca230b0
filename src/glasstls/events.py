"""What a Connection reports to its driver from ``receive_bytes``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .enums import AlertDescription, AlertLevel
from .errors import TLSError
from .frozen import dict_init


@dict_init
@dataclass(frozen=True)
class NegotiatedParameters:
    """Everything the handshake settled, as both sides see it."""

    version: str
    cipher_suite: str
    group: str | None
    signature_scheme: str | None
    alpn: str | None
    server_name: str | None
    peer_certificates: tuple[Any, ...] = ()  # cryptography x509.Certificate, leaf first
    resumed: bool = False
    client_auth: bool = False
    extended_master_secret: bool | None = None  # TLS 1.2 only (RFC 7627)
    # TLS 1.3 (RFC 8446, Section 4.2.11): "resumption" (a ticket, then ``resumed``) or
    # "external PSK" when a PSK authenticated the handshake; None: certificates did.
    psk: str | None = None
    # TLS 1.3 0-RTT (RFC 8446, Section 4.2.10): None when no early data was attempted, else
    # whether the server accepted it. A rejected attempt is not resent: the application decides.
    early_data_accepted: bool | None = None

    @property
    def peer_certificate_subject(self) -> str | None:
        if not self.peer_certificates:
            return None
        subject: str = self.peer_certificates[0].subject.rfc4514_string()
        return subject

    def summary(self) -> dict[str, Any]:
        """The JSON summary of the CLI (keys are part of its interface)."""
        return {
            "version": self.version,
            "cipher_suite": self.cipher_suite,
            "group": self.group,
            "signature_scheme": self.signature_scheme,
            "alpn": self.alpn,
            "peer_certificate": self.peer_certificate_subject,
            "server_name": self.server_name,
            "resumed": self.resumed,
            "extended_master_secret": self.extended_master_secret,
            "psk": self.psk,
        }


class Event:
    """Base class of connection events."""


@dict_init
@dataclass(frozen=True)
class HandshakeComplete(Event):
    parameters: NegotiatedParameters


@dataclass(frozen=True)
class ApplicationData(Event):
    data: bytes

    def __init__(self, data: bytes) -> None:
        # What the generated __init__ of a frozen dataclass does (it cannot assign through the
        # frozen __setattr__), without its object.__setattr__ call: one event per record
        # received, so it is the cost of every 16 KiB of a transfer. Still frozen, equal,
        # hashed and printed as the dataclass (tests/test_fast_record_events.py). (For one
        # field this costs less than frozen.dict_init's whole dict: bulk 171k -> 167k.)
        self.__dict__["data"] = data


@dataclass(frozen=True)
class EarlyData(Event):
    """0-RTT application data the server accepted (RFC 8446, Section 4.2.10), before the
    handshake completed. It may be a replay of an earlier connection's (Section 8): act
    only on what is safe to repeat."""

    data: bytes


@dataclass(frozen=True)
class AlertReceived(Event):
    level: AlertLevel
    description: AlertDescription


@dict_init
@dataclass(frozen=True)
class NewTicket(Event):
    """The server issued a session ticket: the message, and (TLS 1.3) the session it
    resumes, now also the connection's ``session`` (None: a ticket to discard)."""

    ticket: Any
    session: Any = None  # session.state.SessionState


@dataclass(frozen=True)
class KeyUpdated(Event):
    direction: str  # "read" or "write"
    requested_by_peer: bool = False


@dataclass(frozen=True)
class ClientAuthenticated(Event):
    """Server side, TLS 1.3 post-handshake authentication (RFC 8446, Section 4.6.2)
    succeeded: the client's chain verified against the client CA store, and its
    CertificateVerify and Finished for ``certificate_request_context`` matched.
    The connection's ``parameters`` now carry the chain too."""

    peer_certificates: tuple[Any, ...]  # cryptography x509.Certificate, leaf first
    certificate_request_context: bytes = b""

    @property
    def peer_certificate_subject(self) -> str:
        subject: str = self.peer_certificates[0].subject.rfc4514_string()
        return subject


@dataclass(frozen=True)
class ClientAuthDeclined(Event):
    """Server side: the client answered a post-handshake CertificateRequest made
    with ``required=False`` with an empty Certificate (RFC 8446, Section 4.6.2)."""

    certificate_request_context: bytes


@dataclass(frozen=True)
class ConnectionClosed(Event):
    """The connection is over. ``error`` is None for a clean close_notify."""

    error: TLSError | None = field(default=None)
    by_peer: bool = False
