"""The connection as the handshake states see it: the object behind handshake.base.Context.

Each Connection makes one (``conn._ctx``) and hands it to its handshake states: what they may
read, send and install, and nothing of the public API beside send() and receive_bytes(). It
holds its connection weakly and reaches into it only through :class:`Owner`, the part of a
Connection it needs, so that this module need not import connection.py (which imports it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import weakref
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from .crypto.rand import Randomness
from .crypto.suites import Suite13
from .enums import AlertDescription, AlertLevel, ContentType, ProtocolVersion
from .events import Event, NegotiatedParameters
from .handshake.base import FinishedVerified, PeerVerified
from .handshake.zero_rtt import ZeroRtt
from .observe import Observer, SecretTrace
from .record.layer import RecordLayer
from .record.protection import Protection13
from .record.protection12 import Protection12
from .session.state import SessionState, end_by_alert
from .wire.handshake import ClientHello, Handshake

Clock = Callable[[], datetime]

_TLS13 = ProtocolVersion.TLSv1_3
_CCS_TYPE = ContentType.change_cipher_spec
_WARNING = AlertLevel.warning


class Owner(Protocol):
    """What a HandshakeContext reads and calls of its Connection (connection.py)."""

    side: str
    config: Any
    randomness: Randomness
    server_name: str | None
    version: ProtocolVersion | None
    session: SessionState | None
    peer_verified: PeerVerified | None
    parameters: NegotiatedParameters | None
    verified_path: tuple[Any, ...]
    _records: RecordLayer
    _hs_out: list[bytes]
    _write_closed: bool
    _events: list[Event]
    _clock: Clock
    _observer: Observer | None
    _secret_observer: Observer | None

    def _flush_handshake(self) -> None: ...
    def _send_handshake(self, msg: Handshake) -> None: ...
    def _send_alert(self, level: AlertLevel, description: AlertDescription, reason: str) -> None: ...
    def _keys_installed(self, direction: str, protection: Protection13 | Protection12) -> None: ...
    def _complete(self, proof: PeerVerified, parameters: NegotiatedParameters) -> None: ...
    def _choose_sealer(self) -> None: ...


class HandshakeContext:
    """The connection as the handshake states see it (handshake.base.Context): what they
    may read, send and install. Private to the connection, so that none of it sits on
    the public API next to send() and receive_bytes()."""

    def __init__(self, conn: Owner) -> None:
        # Weakly: the connection owns its context, and a context holding it back would make every
        # connection a reference cycle, freed only by the cycle collector (whose passes then cost
        # a few percent of a handshake, and keep each ended connection's memory until they run).
        self._conn = cast(Owner, weakref.proxy(conn))
        # What the connection holds for its life and never replaces, held here too: none of them
        # holds the connection, and each use is then no hop through the proxy (some forty a handshake).
        self._records = conn._records
        self._hs_out = conn._hs_out  # (emptied in place by _flush_handshake)
        # The clock itself, called as ctx.now(): no frame of the context's own per reading.
        self.now: Clock = conn._clock
        # What a connection never changes, read by the states a dozen times a handshake: plain
        # attributes, not properties through the proxy.
        self.side: str = conn.side
        self.config: Any = conn.config
        self.tracing = conn._observer is not None
        self.reports_secrets = conn._secret_observer is not None
        self.offered_hello: ClientHello | None = None  # the client's last ClientHello
        self.offered_session: SessionState | None = None  # the session the client offers to resume
        self.offered_sni: str | None = None  # the server_name the client sends (RFC 6066, Section 3)
        self.early_wanted: bytes | None = None  # the client's 0-RTT data (RFC 8446, Section 4.2.10)
        self.early: ZeroRtt | None = None  # the 0-RTT attempt, either side
        self._ccs_sent = False  # a change_cipher_spec went out
        self.session_id_cached: bytes | None = None  # server, TLS 1.2: see forget_session
        self.resuming: SessionState | None = None  # client, TLS 1.2: the offered session the server took
        self.chains_for_name: tuple[Any, ...] | None = None  # server: the server_name_callback's chains
        # The handshake completed (complete() was called): only from then on can a change of the
        # write keys or limit change send's bulk lane (none before: the connection's _choose_sealer), so
        # only then is the connection told, through the proxy, of one.
        self._completed = False

    def serve_with(self, config: Any) -> None:
        """Server: serve this handshake with the ServerConfig the server_name_callback gave
        (certselect.ask_server_name_callback); the connection keeps the one it was made with."""
        self.config = config

    def forget_session(self) -> None:
        """RFC 5246, Section 7.2: a connection ended by a fatal alert, sent or received, must not be
        resumed, so a server drops its session ID from the session cache (as OpenSSL's
        SSL_CTX_remove_session on a fatal alert), and a client marks its session so that no
        ClientConnection offers it again (session.state.end_by_alert: the one the handshake made, or
        the one the server took to resume; not one it declined). A TLS 1.2 ticket, which the server
        does not keep, cannot be taken back; TLS 1.3 tickets are not bound by this rule."""
        if self.side == "client":
            end_by_alert(self._conn.session or self.resuming)
            return
        session_id, self.session_id_cached = self.session_id_cached, None
        cache = getattr(self.config, "session_cache", None)
        if session_id and cache is not None:
            # (A shared cache out of reach: the session then lasts its lifetime.)
            with contextlib.suppress(Exception):
                cache.remove(session_id)

    def skip_early_data(self, limit: int) -> None:
        """Server: drop early records that fail to decrypt, up to ``limit`` bytes (RFC 8446, Section 4.2.10)."""
        self._records.skip_early_data = limit

    def clear_write_keys(self) -> None:
        """Client: the early keys are dropped before a second ClientHello (RFC 8446, Section 4.1.2)."""
        self._conn._flush_handshake()
        self._records.write = None
        self._write_changed()

    @property
    def server_name(self) -> str | None:
        return self._conn.server_name

    @property
    def peer_verified(self) -> PeerVerified | None:
        return self._conn.peer_verified

    @property
    def sending_closed(self) -> bool:
        return self._conn._write_closed

    @property
    def randomness(self) -> Randomness:
        # The callable itself, so that crypto.rand.is_system() recognises os.urandom.
        return self._conn.randomness

    def send_message(self, msg: Handshake) -> None:
        self._conn._send_handshake(msg)

    def send_change_cipher_spec(self) -> None:
        if self.side == "client" and self._ccs_sent and self._conn.version == _TLS13:
            return  # RFC 8446, Appendix D.4: one, already sent before 0-RTT data (then a HelloRetryRequest)
        self._ccs_sent = True
        if self._hs_out:
            self._conn._flush_handshake()
        # RFC 8446, Section 5.1: 0x0301 is for the initial ClientHello only (a 0-RTT client
        # sends its change_cipher_spec before the constructor's ClientHello flush ends).
        records = self._records
        records.plaintext_version = b"\x03\x03"
        records.send(_CCS_TYPE, b"\x01")

    def install_read(self, suite: Suite13, secret: bytes, epoch: str, proof: FinishedVerified | None = None) -> None:
        if epoch.startswith("application") and not isinstance(proof, FinishedVerified):
            raise TypeError("application read keys need the peer's verified Finished")
        self._install_read(Protection13(suite, secret, epoch))

    def install_write(self, suite: Suite13, secret: bytes, epoch: str, proof: FinishedVerified | None = None) -> None:
        if self.side == "client" and epoch.startswith("application") and not isinstance(proof, FinishedVerified):
            raise TypeError("client application write keys need the server's verified Finished")
        self._install_write(Protection13(suite, secret, epoch))

    def install_read_protection(self, protection: Protection12) -> None:
        """TLS 1.2: the peer's keys, from its ChangeCipherSpec on (RFC 5246, Section 7.1)."""
        self._install_read(protection)

    def install_write_protection(self, protection: Protection12) -> None:
        """TLS 1.2: our keys, from our ChangeCipherSpec on; queued handshake data goes out first."""
        self._install_write(protection)

    def _install_read(self, protection: Protection13 | Protection12) -> None:
        self._records.install_read(protection)
        if self.tracing:
            self._conn._keys_installed("read", protection)

    def _install_write(self, protection: Protection13 | Protection12) -> None:
        if self._hs_out:
            self._conn._flush_handshake()  # queued handshake data goes out under the old keys
        records = self._records
        records.write = protection
        self._write_changed()
        records.plaintext_version = b"\x03\x03"
        if self.tracing:
            self._conn._keys_installed("write", protection)

    def secret(self, label: str, client_random: bytes, secret: bytes) -> None:
        observer = self._conn._secret_observer
        if observer is not None:
            observer(SecretTrace(self._conn.side, label, client_random, secret if observer.wants_secrets else None))

    def verified(self, subject: str, ok: bool, detail: str) -> None:
        observer = self._conn._observer
        if observer is not None:
            observer.on_verification(self._conn.side, subject, ok, detail)

    def note_verified_path(self, path: Sequence[Any]) -> None:
        self._conn.verified_path = tuple(path)

    def emit(self, event: Event) -> None:
        self._conn._events.append(event)

    def set_peer_record_limit(self, limit: int) -> None:
        # RFC 8449, Section 4: in TLS 1.3 the limit counts the inner content type byte.
        self._set_write_limit(limit - 1)

    def set_peer_record_limit_12(self, limit: int) -> None:
        # RFC 8449, Section 4: in TLS 1.2 the limit is the plaintext size itself.
        self._set_write_limit(limit)

    def limit_incoming_records(self, limit: int) -> None:
        """RFC 8449, Section 4: the record_size_limit we announced, now negotiated, bounds the
        plaintext of the peer's protected records (a larger one is record_overflow): from the current
        read keys on, and for every keys installed after them, 0-RTT's excepted (RecordLayer.limit_reads)."""
        self._records.limit_reads(limit)

    def _set_write_limit(self, limit: int) -> None:
        # (Most peers announce the largest records there are: nothing changes, nothing to choose anew.)
        if limit < self._records.write_limit:
            self._records.write_limit = limit
            self._write_changed()

    def set_version(self, version: int) -> None:
        # A member as it is: an Enum call costs as much even when given one.
        self._conn.version = version if type(version) is ProtocolVersion else ProtocolVersion(version)

    def set_plaintext_record_version(self, version: int) -> None:
        """The legacy_record_version of records sent before any keys (RFC 8446, Section 5.1)."""
        self._records.plaintext_version = version.to_bytes(2, "big")

    def send_warning(self, description: AlertDescription) -> None:
        self._conn._send_alert(_WARNING, description, "")

    def new_session(self, session: SessionState) -> None:
        """The handshake produced a session that can be resumed later."""
        self._conn.session = session

    def complete(self, proof: PeerVerified, parameters: NegotiatedParameters) -> None:
        self._completed = True
        self._conn._complete(proof, parameters)

    def _write_changed(self) -> None:
        """The write keys or limit changed: send's bulk lane is chosen anew, once it can be one."""
        if self._completed:
            self._conn._choose_sealer()

    def update_parameters(self, **changes: Any) -> None:
        """After the handshake, e.g. a client certificate from post-handshake auth."""
        conn = self._conn
        assert conn.parameters is not None
        conn.parameters = dataclasses.replace(conn.parameters, **changes)
