"""The sans-I/O connection: bytes in, events out; data in, bytes out.

What both sides share; what each adds (its start, the client's session and 0-RTT data, the
server's post-handshake requests) is in :mod:`glasstls.sides`::

    conn = ClientConnection(config, server_name="example.com")
    sock.sendall(conn.data_to_send())          # the ClientHello
    events = conn.receive_bytes(sock.recv(...))
    conn.send(b"GET / ...")

The connection is the one place where an :class:`AlertError` raised deep in
the stack becomes an alert on the wire and a closed connection (RFC 8446,
Section 6.2), and the choke point every trace event passes through.
Application data received before an error is always returned first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from datetime import UTC, datetime
from typing import Any

from .crypto.rand import Randomness
from .enums import AlertDescription, AlertLevel, ContentType, HandshakeType, KeyUpdateRequest, ProtocolVersion
from .errors import (
    AlertError,
    ConnectionClosedError,
    InternalError,
    NotNegotiatedError,
    PeerAlertError,
    PeerClosedError,
    TLSError,
    unexpected,
)
from .events import (
    AlertReceived,
    ApplicationData,
    ConnectionClosed,
    EarlyData,
    Event,
    HandshakeComplete,
    NegotiatedParameters,
)
from .handshake.base import AnyState, Connected, PeerVerified
from .handshake_context import Clock, HandshakeContext
from .limits import DEFAULT_LIMITS, PeerBudget
from .observe import AlertTrace, Observer, StateTrace, as_observer
from .record.layer import RecordLayer
from .record.protection import MAX_PLAINTEXT, Protection13
from .record.protection12 import Protection12
from .session.state import SessionState
from .wire.handshake import (
    ClientHello,
    Finished,
    Handshake,
    HandshakeBuffer,
    KeyUpdate,
    MessageTooLarge,
    decode_message,
)

# RFC 8446, Section 5.5: at most 2^24.5 full-size records under one AES-GCM key.
# Rekey well before that; ChaCha20-Poly1305 would allow more but one rule is simpler.
KEY_UPDATE_AFTER_RECORDS = 1 << 24
# The longest export HKDF-Expand allows under SHA-256 (RFC 5869, Section 2.3), for both versions.
MAX_EXPORT_LENGTH = 255 * 32
MAX_EXPORT_LABEL = 255 - len(b"tls13 ")

# Compared or passed per record: module names, not enum class attributes (an Enum member
# looked up on its class costs a descriptor call each time).
_CHANGE_CIPHER_SPEC, _ALERT, _HANDSHAKE, _APPLICATION_DATA = 20, 21, 22, 23
_APPLICATION_DATA_TYPE, _HANDSHAKE_TYPE = ContentType.application_data, ContentType.handshake
_NEW_SESSION_TICKET, _FINISHED = HandshakeType.new_session_ticket, HandshakeType.finished
_CERTIFICATE_REQUEST = HandshakeType.certificate_request
# After the handshake, answered each with a no_renegotiation warning (Limits.max_renegotiation_requests).
_RENEGOTIATION_REQUESTS = frozenset({HandshakeType.hello_request, HandshakeType.client_hello})
_HELLO_REQUEST = HandshakeType.hello_request
_TLS13, _TLS12 = ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2
_ALERT_TYPE, _CCS_TYPE = ContentType.alert, ContentType.change_cipher_spec
_WARNING, _FATAL = AlertLevel.warning, AlertLevel.fatal
_CLOSE_NOTIFY, _USER_CANCELED = AlertDescription.close_notify, AlertDescription.user_canceled
# RFC 8446, Section 5.1: the messages that can immediately precede a key change, which must end
# their record. Checked once the message decodes, before it is handled, so nothing it would have sent (a server's
# whole first flight, NewSessionTickets, a KeyUpdate) goes out ahead of the alert. A ClientHello
# is checked whatever the version (no client sends more after it before the server answers); the
# others exist, or change keys, only in TLS 1.3 (a Finished only in the handshake: post-handshake
# authentication's changes none). (A TLS 1.3 ServerHello sends nothing: the check
# after each message catches it, as any other key change.)
_ENDS_RECORD_ALWAYS = frozenset({HandshakeType.client_hello})
_ENDS_RECORD_TLS13 = frozenset({HandshakeType.finished, HandshakeType.key_update, HandshakeType.end_of_early_data})


def _members(enum: type[AlertLevel] | type[AlertDescription]) -> tuple[Any, ...]:
    """The members of an 8-bit enum indexed by value, None where the enum has none."""
    members = {int(m): m for m in enum}
    return tuple(members.get(i) for i in range(256))


# An alert's two bytes as members, from tables (None: a value the enum must make; an Enum call
# costs as much as the rest of a close_notify's handling).
_LEVELS, _DESCRIPTIONS = _members(AlertLevel), _members(AlertDescription)


# The default clock: datetime.now(UTC) bound as a partial, a C call with no Python frame of its own
# (a TLS 1.3 resumption reads the clock six times).
_utc_now: Clock = functools.partial(datetime.now, UTC)


class Connection:
    """Common machinery of both roles. Use ClientConnection or ServerConnection."""

    side = "?"
    # The observer again, for secret and state events, unless it reads none (Observer.wants_secret_events,
    # wants_state_events: asked once, when the connection is made; a duck-typed observer reads all).
    _secret_observer: Observer | None = None
    _state_observer: Observer | None = None

    def __init__(
        self,
        config: Any,
        *,
        observer: Observer | None = None,
        randomness: Randomness = os.urandom,
        clock: Clock = _utc_now,
    ) -> None:
        self.config = config
        if observer is not None:
            observer = as_observer(observer)
        self._observer = observer
        if observer is not None:
            if getattr(observer, "wants_secret_events", True):
                self._secret_observer = observer
            if getattr(observer, "wants_state_events", True):
                self._state_observer = observer
        # The callable itself, not a wrapper: the crypto layer checks whether it is
        # os.urandom (crypto.rand.is_system) to choose the constant-time library
        # paths; replay-only code paths are taken only for injected randomness.
        self.randomness: Randomness = randomness
        if clock is not _utc_now:
            _check_clock(clock)
        self._clock = clock
        # The record layer calls the observer's on_record itself, with this side's name first.
        self._records = RecordLayer(functools.partial(observer.on_record, self.side) if observer is not None else None)
        limits = getattr(config, "limits", DEFAULT_LIMITS)
        self._budget = PeerBudget(limits)  # what the peer may make us spend (limits.py)
        self._hs_in = HandshakeBuffer(limits.max_handshake_message)
        self._hs_partial = False  # not _hs_in.empty(), as _on_handshake leaves it (it alone feeds _hs_in)
        self._hs_out: list[bytes] = []
        self._peer_canceled = False  # a user_canceled warning came: the close_notify after it cancels
        self._events: list[Event] = []
        self._app_out: list[bytes] = []
        self._state: AnyState
        self._ctx = HandshakeContext(self)
        # RFC 5929, Section 3.1: the first Finished of the handshake, sent or received (tls-unique).
        self._first_finished: bytes | None = None
        self.peer_cipher_suites: tuple[int, ...] = ()  # server: the suites of the client's (last) ClientHello
        self.peer_verified: PeerVerified | None = None
        self.parameters: NegotiatedParameters | None = None
        # The path the peer's chain was verified along, leaf to trust anchor (x509.Certificate), as
        # OpenSSL's SSL_get0_verified_chain: () when none was (a resumption, verification skipped).
        self.verified_path: tuple[Any, ...] = ()
        self.error: TLSError | None = None
        self.client_random = b""
        self.server_name: str | None = None
        self.version: ProtocolVersion | None = None
        self.session: SessionState | None = None  # the session to resume with next time, once known
        self._closed = False  # nothing more can be sent or received
        self._write_closed = False  # we sent close_notify
        self._read_closed = False  # the peer sent close_notify (TLS 1.3 half-close)
        # send's bulk lane: the write keys while one record of application data needs nothing but
        # sealing under them (records.bulk_sealer) and the connection may send (handshake complete,
        # not closed); None otherwise. Chosen anew by _choose_sealer at every change of one of those.
        self._sealer: Protection13 | None = None

    # -- the public, sans-I/O surface -----------------------------------------
    def receive_bytes(self, data: bytes) -> list[Event]:
        """Feed bytes from the peer; returns what happened, in order."""
        return self._receive(data, None)

    def receive_record(self, header: bytes, body: bytes) -> list[Event]:
        """receive_bytes(header + body) for one whole record whose 5-byte header and body a driver
        read apart (as OpenSSL reads without read-ahead), without joining them when it is the
        bulk of a transfer."""
        if type(header) is not bytes:
            return self._receive(bytes(header) + body, None)
        return self._receive(header, body)

    def _receive(self, data: bytes, body: bytes | None) -> list[Event]:
        """receive_bytes of ``data``, or of ``data + body`` when ``body`` is given (``data`` the header)."""
        if self._closed or self._read_closed:
            return []
        records = self._records
        whole = type(data) is bytes  # (feed cannot fail for bytes: what it cannot take raises to the caller)
        if not whole:
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"receive_bytes() takes bytes, a bytearray or a memoryview, not {type(data).__name__}")
            records.feed(data)
        try:
            # An input that is one whole record (a 16 KiB one of a transfer) is read in one call;
            # any other is fed and read record by record. (records.buffered: no call for the
            # record after the last one of the input.)
            if body is None:
                record = records.read_whole(data) if whole else None
            else:
                record = records.read_parts(data, body)
                if record is None:
                    data += body
            if record is None:
                if whole:
                    records.feed(data)
                record = records.read_record() if records.buffered else None
            self._take_records(record)
        except AlertError as err:
            self._fail(err)
        except Exception as exc:
            self._fail(InternalError(exc))
        events, self._events = self._events, []
        return events

    def _take_records(self, record: tuple[ContentType, bytes, bytes, bool] | None) -> None:
        """Act on ``record`` and on every record buffered after it, in order (their events queued)."""
        records = self._records
        while record is not None:
            ctype, content, _header, protected = record
            if ctype == _APPLICATION_DATA and content and self.peer_verified is not None and not self._hs_partial:
                # Application data after the handshake, the record of bulk transfer: here, in
                # at most one budget call; every check of _dispatch passes for it.
                if not self._budget.settled:
                    self._budget.on_application_record(len(content))
                self._events.append(ApplicationData(content))
            elif ctype == _HANDSHAKE and content:
                # A handshake record with content: _dispatch's checks for it are the budget's alone
                # (no other record may be inside a split message; this one continues it).
                self._budget.on_record(_HANDSHAKE, len(content))
                self._on_handshake(content, protected)
            else:
                self._dispatch(ctype, content, protected)
            record = records.read_record() if records.buffered and not (self._closed or self._read_closed) else None

    def send(self, data: bytes | memoryview) -> None:
        """Queue application data; it flows once the handshake is complete. (A memoryview, of
        bytes, is sealed at once, or copied while the handshake runs: it is not kept.)"""
        sealer = self._sealer
        kind = type(data)
        if sealer is None or (kind is not bytes and kind is not memoryview) or not data or len(data) > MAX_PLAINTEXT:
            self._send(data)
            return
        if self._hs_out:
            self._send(data)
            return
        # The bulk of a transfer: one record, sealed as records.send would seal it (_choose_sealer).
        try:
            self._records.output.append(sealer.seal(_APPLICATION_DATA, data))
        except AlertError as err:  # RFC 8446, Section 5.3: a sequence number may not wrap; close instead
            self._fail(err)
            raise
        if sealer.seq >= KEY_UPDATE_AFTER_RECORDS:
            self._update_worn_write_key()

    def _send(self, data: bytes | memoryview) -> None:
        """send, in every state and for data of any size."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"send() takes bytes (or a bytearray or memoryview), not {type(data).__name__}")
        if self._closed or self._write_closed:
            raise self._closed_error("cannot send")
        if not data:
            return
        if self.peer_verified is None:
            self._app_out.append(bytes(data))
            return
        if self._hs_out:  # a post-handshake answer (Certificate … Finished) queued before this data goes first
            self._flush_handshake()
        try:
            self._records.send(_APPLICATION_DATA_TYPE, data)
        except AlertError as err:  # RFC 5246, Section 6.1: a sequence number may not wrap; close instead
            self._fail(err)
            raise
        self._update_worn_write_key()

    def _update_worn_write_key(self) -> None:
        """A KeyUpdate once the write key has protected KEY_UPDATE_AFTER_RECORDS records."""
        # RFC 8446, Section 5.5: a TLS 1.3 key wears out; TLS 1.2 counts to 2^64 instead (RFC 5246, Section 6.1).
        write = self._records.write
        if write is not None and write.seq >= KEY_UPDATE_AFTER_RECORDS and self.version == _TLS13:
            state = self._state
            if isinstance(state, Connected):
                state.update_write(self._ctx, request_peer=False)

    def _drop_pending_handshake(self) -> None:
        """A handshake ending before it completed: what it queued and did not seal yet is not sent. Except
        in TLS 1.2 after our ChangeCipherSpec: a Finished must follow it (RFC 5246, Section 7.1), and a
        peer such as OpenSSL answers anything else there with unexpected_message."""
        if self.version != _TLS13 and self._records.write is not None:
            return
        self._hs_out.clear()

    def _closed_error(self, what: str) -> ConnectionClosedError:
        """The error for ``what`` asked of a closed connection: the failure that closed it, when one did."""
        if self.error is None:
            return ConnectionClosedError(f"{what}: the connection is closed")
        error = ConnectionClosedError(f"{what}: the connection failed: {self.error}")
        error.__cause__ = self.error
        return error

    def _choose_sealer(self) -> None:
        """send's bulk lane anew, for the record layer's keys and limit and the connection's state."""
        may_send = self.peer_verified is not None and not (self._closed or self._write_closed)
        self._sealer = self._records.bulk_sealer() if may_send else None

    def data_to_send(self) -> bytes:
        if self._hs_out:
            self._flush_handshake()
        return self._records.take_output()

    def close(self) -> None:
        """Send close_notify (RFC 8446, Section 6.1); the peer's data may still arrive. Before the
        handshake completed, cancel it: user_canceled, then close_notify (Section 6.1), and the
        connection is over; handshake messages not yet sealed are dropped (a Finished among them: the
        peer is not to complete a handshake we cancel)."""
        if self._write_closed or self._closed:
            return
        if self.peer_verified is None:
            # A server that has read no ClientHello yet has nothing to cancel, and its peer may not
            # speak TLS at all: nothing is sent (as OpenSSL's SSL_shutdown in the handshake sends nothing).
            if not (self.side == "server" and self._state.initial):
                self._drop_pending_handshake()
                self._send_alert(_WARNING, _USER_CANCELED, "the handshake is canceled: close() before it completed")
                self._send_alert(_WARNING, _CLOSE_NOTIFY, "")
            self._write_closed = self._read_closed = self._closed = True
            self._choose_sealer()
            return
        self._send_alert(_WARNING, _CLOSE_NOTIFY, "")
        self._write_closed = True
        if self._read_closed:
            self._closed = True
        self._choose_sealer()

    def update_keys(self, request_peer: bool = True) -> None:
        """Send a KeyUpdate (RFC 8446, Section 4.6.3)."""
        state = self._state
        if self._closed:
            raise self._closed_error("cannot send a KeyUpdate")
        if self.peer_verified is None or not isinstance(state, Connected):
            raise NotNegotiatedError("a KeyUpdate needs an established connection: the handshake has not completed")
        if self._write_closed:
            raise ConnectionClosedError("KeyUpdate after close(): our close_notify was the last record we send")
        state.update_write(self._ctx, request_peer)  # NotNegotiatedError in TLS 1.2, which has no KeyUpdate
        if request_peer:
            self._budget.on_key_update_requested()

    def export_keying_material(self, label: str | bytes, context: bytes | None = None, length: int = 32) -> bytes:
        """Keying material bound to this connection, the same on both ends: TLS 1.3's
        exporter (RFC 8446, Section 7.5) or TLS 1.2's (RFC 5705, Section 4).

        In TLS 1.2, ``context=None`` (no context) differs from ``b""``; in TLS 1.3 they
        are the same. Raises NotNegotiatedError before the handshake completed and
        ValueError for a label that is not ASCII or a length outside 1..8160.
        """
        state = self._state
        if self.peer_verified is None or not isinstance(state, Connected):
            raise NotNegotiatedError("keying material can be exported only once the handshake completed")
        if self.error is not None:  # (a failed connection's keys may be an attacker's to know: none from them)
            raise self._closed_error("cannot export keying material")
        if not isinstance(label, (str, bytes)) or not isinstance(context, (bytes, type(None))):
            raise TypeError("the exporter's label is a str or bytes, its context bytes or None")
        if isinstance(label, str):
            if not label.isascii():
                raise ValueError(f"exporter label {label!r} is not ASCII (RFC 5705, Section 4)")
            label = label.encode("ascii")
        if type(length) is not int or not 1 <= length <= MAX_EXPORT_LENGTH:
            raise ValueError(f"exporter length {length!r} is not a whole number in 1..{MAX_EXPORT_LENGTH}")
        if self.version == _TLS13 and len(label) > MAX_EXPORT_LABEL:
            # RFC 8446, Section 7.1: HkdfLabel's label is "tls13 " + Label, at most 255 bytes.
            raise ValueError(f"exporter label of {len(label)} bytes: TLS 1.3 takes at most {MAX_EXPORT_LABEL}")
        return state.export_keying_material(label, context, length)

    def channel_binding(self, kind: str = "tls-exporter") -> bytes:
        """The ``tls-exporter`` channel binding (RFC 9266, Section 2): 32 bytes exported
        with the label "EXPORTER-Channel-Binding" and no context. In TLS 1.2 it needs the
        extended master secret (RFC 9266, Section 4.2); NotNegotiatedError otherwise."""
        if kind != "tls-exporter":
            raise ValueError(f"unknown channel binding type {kind!r}; glasstls offers 'tls-exporter' (RFC 9266)")
        state = self._state
        if isinstance(state, Connected) and not state.exporter_safe_for_channel_binding():
            raise NotNegotiatedError(
                "tls-exporter needs the extended master secret in TLS 1.2 (RFC 9266, Section 4.2); "
                "this connection negotiated none"
            )
        return self.export_keying_material(b"EXPORTER-Channel-Binding", b"", 32)

    def tls_unique(self) -> bytes:
        """The ``tls-unique`` channel binding (RFC 5929, Section 3.1): the first Finished's
        verify_data. Only meaningful in TLS 1.2 with the extended master secret (RFC 7627,
        Section 5.4); RFC 9266 replaces it by ``tls-exporter``. NotNegotiatedError before the
        handshake is done."""
        if not self.handshake_complete or self._first_finished is None:
            raise NotNegotiatedError("tls-unique needs a completed handshake")
        if self.error is not None:
            raise self._closed_error("cannot give tls-unique")
        return self._first_finished

    @property
    def record_bytes_awaited(self) -> int:
        """How many more bytes of input complete the record (or record header) the input so far
        ended inside; 0 when it ended at a record's end: for a driver that hands over its input a
        record at a time."""
        return self._records.awaited()

    @property
    def handshake_complete(self) -> bool:
        return self.peer_verified is not None

    @property
    def closed(self) -> bool:
        return self._closed or (self._read_closed and self._write_closed)

    @property
    def peer_closed(self) -> bool:
        """The peer sent close_notify; in TLS 1.3 we may still send until we close()."""
        return self._read_closed

    @property
    def state_name(self) -> str:
        return self._state.name

    @property
    def step(self) -> str:
        """What the handshake is doing now, in words ("waiting for ServerHello"), for messages."""
        return self._state.step

    # -- record dispatch -------------------------------------------------------
    def _dispatch(self, ctype: ContentType, data: bytes, protected: bool) -> None:
        self._budget.on_record(ctype, len(data))
        if not data and ctype in (_HANDSHAKE, _ALERT):
            # RFC 8446, Section 5.4 (and RFC 5246, Section 6.2.1): a protected Handshake or
            # Alert record with no content is unexpected_message, as its plaintext twin is in
            # the record layer; an empty alert is not a malformed (decode_error) one.
            raise AlertError(AlertDescription.unexpected_message, f"empty {ctype.name} record")
        if ctype != _HANDSHAKE and not self._hs_in.empty() and (ctype != _ALERT or self.version != _TLS12):
            # RFC 8446, Section 5.1: handshake messages may not be interleaved with other records. TLS 1.2
            # lets types interleave (RFC 5246, Section 6.2.1), as OpenSSL and GnuTLS take an alert between
            # the pieces of a message (a fatal one says why the peer gave up); never a key change
            # (change_cipher_spec) or application data inside one.
            raise AlertError(
                AlertDescription.unexpected_message, f"{ctype.name} record inside a split handshake message"
            )
        if ctype == _APPLICATION_DATA and self._state.mid_flight:
            raise AlertError(
                AlertDescription.unexpected_message,
                f"application data while {self._state.step}: the client's post-handshake Certificate, "
                "CertificateVerify and Finished come consecutively (RFC 8446, Section 4.6.2)",
            )
        if ctype == _APPLICATION_DATA:
            if self.peer_verified is None:
                self._on_early_application_data(data)
            elif data:  # (receive_bytes handles these itself; here too, so that none is ever dropped)
                self._budget.on_application_record(len(data))
                self._events.append(ApplicationData(data))
        elif ctype == _HANDSHAKE:
            self._on_handshake(data, protected)
        elif ctype == _ALERT:
            if not protected and self._records.read is not None and not self._plaintext_alert_allowed():
                # RFC 8446, Sections 5 and 6: once keys are agreed, alerts travel encrypted.
                raise AlertError(AlertDescription.unexpected_message, "unprotected alert record after keys were agreed")
            self._on_alert(data)
        elif ctype == _CHANGE_CIPHER_SPEC:
            self._on_change_cipher_spec(data, protected)
        else:
            # (TLS 1.3: the type inside a protected record, which no valid record layer can carry.)
            raise AlertError(
                AlertDescription.unexpected_message,
                f"protected record of unknown content type 0x{int(ctype):02x} (RFC 8446, Section 5.4)",
            )

    def _on_handshake(self, data: bytes, protected: bool) -> None:
        records, hs_in = self._records, self._hs_in
        if records.read is not None and not protected:
            raise AlertError(AlertDescription.unexpected_message, "unprotected handshake record after keys were agreed")
        n = len(data)
        if (
            not self._hs_partial
            and type(data) is bytes
            and n >= 4
            and ((data[1] << 16) | (data[2] << 8) | data[3]) == n - 4 <= hs_in.longest[data[0]]
        ):
            # A record that is one whole message, nothing pending (most are): the message the buffer
            # would hand on, taken without its feed and pops; it leaves the buffer empty, so no key
            # change can split it (RFC 8446, Section 5.1).
            self._on_message(data)
            return
        hs_in.feed(data)
        try:
            while not self._closed:
                try:
                    raw = hs_in.pop()
                except MessageTooLarge as err:
                    self._check_takes(err.msg_type)  # (unexpected_message before the length is judged)
                    raise
                if raw is None:
                    if (pending := hs_in.pending_type()) is not None:
                        self._check_takes(pending)  # (not waited for until the rest arrives)
                    return
                read_before = records.read
                self._on_message(raw, hs_in.empty())
                if records.read is not read_before and not hs_in.empty():
                    # RFC 8446, Section 5.1: a key change must fall on a record boundary.
                    raise AlertError(
                        AlertDescription.unexpected_message,
                        f"{HandshakeType(raw[0]).label} does not end its record: the handshake data after it "
                        "spans a key change, which must fall on a record boundary (RFC 8446, Section 5.1)",
                    )
        finally:
            split = records.handshake_split = not hs_in.empty()  # (the record layer's skipping asks)
            self._hs_partial = split or self._state.mid_flight

    def _check_takes(self, msg_type: int) -> None:
        """A type this state never reads is unexpected_message once known, whatever length its header
        claims, as _on_message judges one that does not decode (OpenSSL checks the type first too)."""
        if not self._state.takes(msg_type):
            state = self._state
            note = state.unexpected_note_for(msg_type)
            raise unexpected(HandshakeType(msg_type).label, f"while {state.step}{note}")

    def _check_ends_record(self, msg_type: int) -> None:
        """RFC 8446, Section 5.1: a message before a key change, with handshake data after it in its record."""
        if msg_type == _FINISHED and self.peer_verified is not None:
            return  # post-handshake authentication's Finished changes no keys (RFC 8446, Section 4.6.2)
        if msg_type in _ENDS_RECORD_ALWAYS or (msg_type in _ENDS_RECORD_TLS13 and self.version == _TLS13):
            name = HandshakeType(msg_type).label
            raise AlertError(
                AlertDescription.unexpected_message,
                f"{name} does not end its record: more handshake data follows it, and a key change "
                "must fall on a record boundary (RFC 8446, Section 5.1)",
            )

    def _on_message(self, raw: bytes, ends_record: bool = True) -> None:
        """One complete handshake message: decoded, traced, noted, and given to the state.
        ``ends_record``: no handshake data follows it in its record."""
        old = self._state
        try:
            msg = decode_message(raw, old.parsers)
        except AlertError:
            if not old.takes(raw[0]):
                # RFC 8446, Section 6.2; RFC 5246, Section 7.2.2: a message this state never reads is
                # unexpected_message, whether or not its body would parse (said with the state).
                note = old.unexpected_note_for(raw[0])
                raise unexpected(HandshakeType(raw[0]).label, f"while {old.step}{note}") from None
            raise
        if self._observer is not None:
            self._observer.on_message(self.side, "in", msg)
        if not ends_record and old.takes(raw[0]):
            # After the decoding and the state's own check of the type: a malformed message is a
            # decode_error and one out of place is unexpected, as OpenSSL reports them.
            self._check_ends_record(raw[0])
        # What the compat layer reports of the handshake: the peer's suites, the first Finished.
        if isinstance(msg, ClientHello):
            self.peer_cipher_suites = tuple(msg.cipher_suites)
        elif isinstance(msg, Finished) and self._first_finished is None:
            self._first_finished = msg.verify_data
        if self.peer_verified is not None:
            self._spend_post_handshake(msg)
        elif msg.msg_type == _HELLO_REQUEST:  # ignored while negotiating (RFC 5246, 7.4.1.1), not unbounded
            self._budget.on_hello_request_while_negotiating()
        self._state = new = old.accept(self._ctx, msg)
        if new.mid_flight or old.mid_flight:  # (application data goes through _dispatch meanwhile)
            self._hs_partial = new.mid_flight or not self._hs_in.empty()
        if self._state_observer is not None and new is not old:
            self._state_observer(StateTrace(self.side, old.name, new.name))

    def _spend_post_handshake(self, msg: Handshake) -> None:
        kind = msg.msg_type
        if type(msg) is KeyUpdate:
            self._budget.on_key_update(msg.request_update == KeyUpdateRequest.update_requested)
        elif kind == _NEW_SESSION_TICKET:
            self._budget.on_new_session_ticket()
        elif kind in _RENEGOTIATION_REQUESTS:
            self._budget.on_renegotiation_request()
        elif kind == _CERTIFICATE_REQUEST:
            self._budget.on_certificate_request()

    def _on_early_application_data(self, data: bytes) -> None:
        """Application data before the handshake completed: 0-RTT data, or an error."""
        early = self._ctx.early
        if early is not None and early.accepted and early.open and self.side == "server":
            early.take(len(data))  # 0-RTT data (RFC 8446, Section 4.2.10), under the early keys
            if data:
                self._events.append(EarlyData(data))
            return
        raise AlertError(AlertDescription.unexpected_message, "application data before the handshake completed")

    def _plaintext_alert_allowed(self) -> bool:
        """A TLS 1.3 server takes a plaintext alert until the client's first protected record: a
        client that could not use the ServerHello (no keys of its own) can only refuse it in the
        clear. OpenSSL allows the same, and no more (tlsfuzzer's unencrypted-alert expects it)."""
        read = self._records.read
        epoch = getattr(read, "epoch", None)
        return self.side == "server" and read is not None and epoch in ("handshake", "early") and read.seq == 0

    def _on_alert(self, data: bytes) -> None:
        if len(data) != 2:
            n = len(data)
            raise AlertError(AlertDescription.decode_error, f"alert record of {n} byte{'' if n == 1 else 's'}, not 2")
        level, description = _LEVELS[data[0]], _DESCRIPTIONS[data[1]]
        if level is None:
            level = AlertLevel(data[0])
        if description is None:
            description = AlertDescription(data[1])
        if level not in (_WARNING, _FATAL) and self.version != _TLS13:
            # RFC 5246, Section 7.2: AlertLevel is warning(1) or fatal(2); OpenSSL answers any other
            # with illegal_parameter. TLS 1.3 ignores the level (RFC 8446, Section 6): an error alert.
            raise AlertError(AlertDescription.illegal_parameter, f"alert of unknown level {int(level)}")
        if self._observer is not None:
            self._observer(AlertTrace(self.side, "in", level, description))
        self._events.append(AlertReceived(level, description))
        if level == _WARNING and description != _CLOSE_NOTIFY:
            self._budget.on_warning_alert()
            if self.side == "server" and self.version is None:
                # Nothing precedes a ClientHello, and the version that would say whether a warning is
                # fatal (RFC 8446, Section 6) is not known yet: OpenSSL and GnuTLS refuse it too.
                raise AlertError(
                    AlertDescription.unexpected_message,
                    f"a warning alert ({description.name}) before the ClientHello: a client begins with its hello",
                )
        if description == _CLOSE_NOTIFY:
            self._on_close_notify()
        elif description == _USER_CANCELED and level == _WARNING:
            self._peer_canceled = True
            return  # RFC 8446, Section 6.1: a closure alert is expected to follow
        elif level == _WARNING and self.version != _TLS13:
            # RFC 5246, Section 7.2: in TLS 1.2 a warning (e.g. no_renegotiation) is not fatal. So
            # before the version is known: a TLS 1.3 peer sends no warnings, and old TLS 1.2 servers
            # send unrecognized_name as one before their ServerHello (RFC 6066, Section 3), which
            # OpenSSL, GnuTLS and Python's ssl clients go past.
            return
        else:
            # RFC 8446, Section 6.2: every other alert is fatal in TLS 1.3.
            self._ctx.forget_session()  # RFC 5246, Section 7.2: not to be resumed
            self._closed = True
            self._choose_sealer()
            self.error = PeerAlertError(description, self._state.step)
            self._events.append(ConnectionClosed(self.error, by_peer=True))

    def _on_close_notify(self) -> None:
        if self.peer_verified is not None:
            # RFC 8446, Section 6.1: close_notify closes the peer's write side only; we may go on
            # sending (an echo's last answer) until close(). TLS 1.2 too: RFC 5246, Section 7.2.1
            # asks for our close_notify at once, "discarding any pending writes", but what the
            # application already took from the peer (a request, data to echo) would then go
            # unanswered, depending on whether the close_notify came in the same read. OpenSSL, Go
            # and rustls end the read side alone and answer when the application closes.
            self._read_closed = True
            if self._write_closed:
                self._closed = True
        else:
            # During the handshake there is nothing to finish: answer with our own and close, "discarding
            # any pending writes" (RFC 5246, Section 7.2.1): our queued flight is not sent. The handshake
            # did not complete: not a clean close (user_canceled before it: canceled).
            self._drop_pending_handshake()
            self._send_alert(_WARNING, _CLOSE_NOTIFY, "")
            self._write_closed = self._read_closed = self._closed = True
            step = self._state.step
            if self._peer_canceled:
                said = f"the peer canceled the handshake (user_canceled, then close_notify) while {step}"
                self.error = PeerClosedError(_USER_CANCELED, step, said)
            else:
                self.error = PeerClosedError(_CLOSE_NOTIFY, step, f"the peer sent close_notify while {step}")
            self._events.append(ConnectionClosed(self.error, by_peer=True))
            return
        # (No lane to drop: close() had chosen none.)
        self._events.append(ConnectionClosed(None, by_peer=True))

    def _on_change_cipher_spec(self, data: bytes, protected: bool) -> None:
        handler = self._state.on_change_cipher_spec
        if handler is not None:
            # TLS 1.2 (RFC 5246, Section 7.1): the peer switches to its new keys. Any other content is
            # not a ChangeCipherSpec: unexpected_message, as OpenSSL answers and TLS 1.3 names (RFC 8446,
            # Section 5).
            if protected or data != b"\x01":
                raise AlertError(AlertDescription.unexpected_message, "malformed change_cipher_spec record")
            old = self._state
            self._state = handler(self._ctx)
            if self._state_observer is not None:
                self._state_observer(StateTrace(self.side, old.name, self._state.name))
            return
        # RFC 8446, Section 5: drop a plaintext 0x01 CCS between the first
        # ClientHello and the peer's Finished; anything else is unexpected.
        if protected or data != b"\x01" or not self._state.ccs_allowed:
            raise AlertError(AlertDescription.unexpected_message, "change_cipher_spec record where none may appear")
        self._budget.on_tls13_change_cipher_spec()

    # -- failure ------------------------------------------------------------------
    def _fail(self, err: AlertError) -> None:
        if not err.step:
            err.step = self._state.step
        with contextlib.suppress(TLSError):  # the alert itself could not be protected
            self._send_alert(_FATAL, err.description, err.reason)
        self._ctx.forget_session()  # RFC 5246, Section 7.2: not to be resumed
        self._closed = True
        self._choose_sealer()
        self.error = err
        self._events.append(ConnectionClosed(err, by_peer=False))

    def _send_alert(self, level: AlertLevel, description: AlertDescription, reason: str) -> None:
        if self._write_closed:  # our close_notify was the last record we send (RFC 8446, Section 6.1)
            return
        if self._hs_out:
            self._flush_handshake()
        if self._observer is not None:
            self._observer(AlertTrace(self.side, "out", level, description, reason))
        self._records.send(_ALERT_TYPE, bytes((level, description)))

    # -- what the handshake context does to the connection --------------------------
    def _send_handshake(self, msg: Handshake) -> None:
        """Queue one handshake message a state sends, noting what the connection reports of it: the
        ClientHello offered, the client random, the first Finished (tests/pairs.py overrides this to
        tamper with the message)."""
        if self._write_closed:
            # RFC 8446, Section 6.1: after our close_notify we send nothing more; a KeyUpdate or a
            # CertificateRequest the peer sends later goes unanswered (its new read keys are still
            # installed), as OpenSSL leaves them after SSL_shutdown.
            return
        if isinstance(msg, ClientHello):
            self._ctx.offered_hello = msg
            raw = msg.raw or msg.encode()
            if not self.client_random:
                self.client_random = msg.random
        else:
            if isinstance(msg, Finished) and self._first_finished is None:
                self._first_finished = msg.verify_data
            raw = msg.raw or msg.encode()
        if self._observer is not None:
            self._observer.on_message(self.side, "out", msg)
        self._hs_out.append(raw)

    def _keys_installed(self, direction: str, protection: Protection13 | Protection12) -> None:
        """Tell the observer of new keys (the context installs them, and calls this only when traced)."""
        assert self._observer is not None
        self._observer.on_keys(self.side, direction, protection.epoch, protection.suite.name)

    def _complete(self, proof: PeerVerified, parameters: NegotiatedParameters) -> None:
        early = self._ctx.early
        if early is not None:
            parameters = dataclasses.replace(parameters, early_data_accepted=bool(early.accepted))
        self.peer_verified = proof
        self._choose_sealer()
        self.parameters = parameters
        self._flush_handshake()
        self._events.append(HandshakeComplete(parameters))
        pending, self._app_out = self._app_out, []
        for data in pending:
            self._records.send(ContentType.application_data, data)

    # -- plumbing -------------------------------------------------------------------
    def _flush_handshake(self) -> None:
        if self._hs_out:
            data = b"".join(self._hs_out)
            self._hs_out.clear()
            self._records.send(_HANDSHAKE_TYPE, data)


def _check_clock(clock: Clock) -> None:
    """A clock given to a connection is read once here: its datetimes are compared with certificates',
    tickets' and OCSP answers', and a naive one failed mid-handshake as an internal error."""
    sample = clock()
    if not isinstance(sample, datetime):
        raise TypeError(f"clock must return a datetime, not {type(sample).__name__}")
    if sample.tzinfo is None or sample.utcoffset() is None:
        raise ValueError("clock must return aware datetimes: use datetime.now(timezone.utc), not datetime.now()")
