"""glasstls: a TLS 1.3 and TLS 1.2 stack in which every step can be seen.

The public API, and nothing else.
"""

from .compat import SSLContext, SSLObject, create_default_context, extract_from_ssl, inject_into_ssl
from .config import CertifiedKey, ClientConfig, Dangerous, ServerConfig
from .enums import AlertDescription, CipherSuite, NamedGroup, ProtocolVersion, PskKeyExchangeMode, SignatureScheme
from .errors import (
    AlertError,
    ConfigError,
    ConnectionClosedError,
    DeadlineError,
    NotNegotiatedError,
    PeerAlertError,
    PeerClosedError,
    TLSError,
    TruncatedError,
)
from .events import (
    AlertReceived,
    ApplicationData,
    ClientAuthDeclined,
    ClientAuthenticated,
    ConnectionClosed,
    EarlyData,
    HandshakeComplete,
    KeyUpdated,
    NegotiatedParameters,
    NewTicket,
)
from .io.aio import open_connection
from .io.aio_reader import TLSStreamReader
from .io.aio_server import TLSServer, start_server
from .io.blocking import TLSSocket, accept, connect
from .limits import Limits
from .observe import EventList, Observer, observer
from .session.psk import ExternalPsk
from .session.state import SessionState
from .session.store import SessionStore, load_session, save_session
from .sides import ClientConnection, ServerConnection
from .x509.client_identity import ClientIdentity, ClientIdentityCheck
from .x509.stapling import StapleSource
from .x509.store import TrustStore

__all__ = [
    "AlertDescription",
    "AlertError",
    "AlertReceived",
    "ApplicationData",
    "CertifiedKey",
    "CipherSuite",
    "ClientAuthDeclined",
    "ClientAuthenticated",
    "ClientConfig",
    "ClientConnection",
    "ClientIdentity",
    "ClientIdentityCheck",
    "ConfigError",
    "ConnectionClosed",
    "ConnectionClosedError",
    "Dangerous",
    "DeadlineError",
    "EarlyData",
    "EventList",
    "ExternalPsk",
    "HandshakeComplete",
    "KeyUpdated",
    "Limits",
    "NamedGroup",
    "NegotiatedParameters",
    "NewTicket",
    "NotNegotiatedError",
    "Observer",
    "PeerAlertError",
    "PeerClosedError",
    "ProtocolVersion",
    "PskKeyExchangeMode",
    "SSLContext",
    "SSLObject",
    "ServerConfig",
    "ServerConnection",
    "SessionState",
    "SessionStore",
    "SignatureScheme",
    "StapleSource",
    "TLSError",
    "TLSServer",
    "TLSSocket",
    "TLSStreamReader",
    "TruncatedError",
    "TrustStore",
    "accept",
    "connect",
    "create_default_context",
    "extract_from_ssl",
    "inject_into_ssl",
    "load_session",
    "observer",
    "open_connection",
    "save_session",
    "start_server",
]

__version__ = "0.1.0"
