"""What every handshake state shares: the state base class, the context a
state acts through, and the proof tokens that make skipped checks impossible.

A state holds only what is valid in it. ``handle(ctx, msg)`` either returns
the next state or raises :class:`~glasstls.errors.AlertError`. States never
touch bytes on the wire: they ask the context to send messages and to
install keys, and the context (the Connection) does the rest.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ..crypto.rand import Randomness
from ..crypto.suites import Suite13
from ..enums import AlertDescription, HandshakeType
from ..errors import AlertError, DecodeError, NotNegotiatedError, unexpected
from ..events import Event, NegotiatedParameters
from ..record.protection12 import Protection12
from ..session.state import SessionState
from ..wire.handshake import ClientHello, Handshake, Parser

if TYPE_CHECKING:
    from ..config import CertifiedKey
    from .zero_rtt import ZeroRtt

T = TypeVar("T")
M = TypeVar("M", bound=Handshake)  # the message(s) a state waits for


class FinishedVerified:
    """Proof that the peer's Finished matched (RFC 8446, Section 4.4.4).

    Only :func:`verify_finished` makes one; installing application read keys
    requires one.
    """

    __slots__ = ("which",)
    _token = object()

    def __init__(self, which: str, token: object) -> None:
        if token is not FinishedVerified._token:
            raise TypeError("FinishedVerified is made only by verify_finished()")
        self.which = which


class PeerVerified:
    """Proof that the peer is who it must be: certificate, signature and Finished
    all checked (or, for a server without client auth, the client's Finished).
    Application data flows only once the connection holds one."""

    __slots__ = ("finished",)

    def __init__(self, finished: FinishedVerified) -> None:
        if not isinstance(finished, FinishedVerified):
            raise TypeError("PeerVerified needs a FinishedVerified")
        self.finished = finished


def verify_finished(which: str, expected: bytes, received: bytes) -> FinishedVerified:
    """Constant-time comparison of verify_data; decrypt_error on mismatch."""
    # RFC 8446, Section 4.4.4: verify_data is exactly Hash.length bytes; another
    # length is a malformed message, decode_error (Section 6.2), not a wrong MAC.
    if len(received) != len(expected):
        raise DecodeError(f"{which} Finished has {len(received)} bytes of verify_data, not {len(expected)}")
    if not hmac.compare_digest(expected, received):
        raise AlertError(AlertDescription.decrypt_error, f"{which} Finished does not match the transcript")
    return FinishedVerified(which, FinishedVerified._token)


def checked_finished(
    ctx: Context, which: str, expected: bytes, received: bytes, matches: str = "verify_data matches the transcript"
) -> FinishedVerified:
    """verify_finished, reported as traced_check would report it, without its closure (every handshake
    checks a Finished or two); with no listener, the check alone."""
    if not ctx.tracing:
        return verify_finished(which, expected, received)
    try:
        proof = verify_finished(which, expected, received)
    except AlertError as err:
        ctx.verified(f"{which} Finished", False, err.reason)
        raise
    ctx.verified(f"{which} Finished", True, matches)
    return proof


def traced_check(ctx: Context, subject: str, success: str, check: Callable[[], T]) -> T:
    """Run ``check`` and report its outcome as a verification trace event."""
    try:
        result = check()
    except AlertError as err:
        ctx.verified(subject, False, err.reason)
        raise
    ctx.verified(subject, True, success)
    return result


class Context(Protocol):
    """Everything a state may read from or ask of its connection; nothing else.

    The connection implements it with an object of its own (handshake_context.HandshakeContext),
    so none of it is public API. Read-only properties, because states never assign them.
    """

    @property
    def side(self) -> str: ...  # "client" or "server"
    @property
    def config(self) -> Any: ...  # the ClientConfig or ServerConfig of the side
    @property
    def server_name(self) -> str | None: ...  # the name the client asked for
    @property
    def peer_verified(self) -> PeerVerified | None: ...  # set once the handshake completed
    @property
    def sending_closed(self) -> bool: ...  # we sent close_notify: nothing more goes out (RFC 8446, 6.1)
    # What the client offered: its last ClientHello, the session it tries to resume,
    # and the server_name it sends (None for an IP address, RFC 6066, Section 3).
    @property
    def offered_hello(self) -> ClientHello | None: ...

    # The session the client tries to resume; set to None when it may not be offered after all, so
    # that no ServerHello can resume it (an echo of a compatibility session ID included).
    offered_session: SessionState | None

    @property
    def offered_sni(self) -> str | None: ...

    # 0-RTT (RFC 8446, Section 4.2.10): the client's early data to send (None: none), and
    # the attempt once made (either side; None: no early data in play).
    early_wanted: bytes | None
    early: ZeroRtt | None
    # Server, TLS 1.2: the session ID this connection's session is kept under in the session
    # cache (cached, or resumed from it); dropped if the connection ends with a fatal alert.
    session_id_cached: bytes | None
    resuming: SessionState | None  # client, TLS 1.2: the offered session the server took (forget_session)
    # Server: what its server_name_callback gave for this handshake's server_name, asked once per
    # ClientHello (certselect.ask_server_name_callback): the chains to choose among; None: no callback.
    chains_for_name: tuple[CertifiedKey, ...] | None

    def serve_with(self, config: Any) -> None: ...  # server: the ServerConfig a server_name_callback gave

    def skip_early_data(self, limit: int) -> None: ...  # server: skip rejected early records
    def clear_write_keys(self) -> None: ...  # client: back to plaintext after rejected 0-RTT (HRR)

    # The connection's own source, not a wrapper: crypto.rand.is_system() must see
    # os.urandom to take the constant-time library paths (RSA signing, key generation).
    @property
    def randomness(self) -> Randomness: ...
    def now(self) -> datetime: ...
    def send_message(self, msg: Handshake) -> None: ...
    def send_change_cipher_spec(self) -> None: ...
    def send_warning(self, description: AlertDescription) -> None: ...
    # TLS 1.3 keys, from a traffic secret; application keys need the peer's Finished.
    def install_read(
        self, suite: Suite13, secret: bytes, epoch: str, proof: FinishedVerified | None = None
    ) -> None: ...
    def install_write(
        self, suite: Suite13, secret: bytes, epoch: str, proof: FinishedVerified | None = None
    ) -> None: ...
    # TLS 1.2 keys, built from the key block at ChangeCipherSpec.
    def install_read_protection(self, protection: Protection12) -> None: ...
    def install_write_protection(self, protection: Protection12) -> None: ...
    def set_version(self, version: int) -> None: ...
    def set_plaintext_record_version(self, version: int) -> None: ...
    def set_peer_record_limit(self, limit: int) -> None: ...  # RFC 8449 in TLS 1.3
    def set_peer_record_limit_12(self, limit: int) -> None: ...  # RFC 8449 in TLS 1.2
    def limit_incoming_records(self, limit: int) -> None: ...  # RFC 8449: the limit we announced

    # Whether anything reads verified(): where its subject or detail takes work to compose
    # (a certificate described), a state composes it only then.
    tracing: bool
    # Whether the observer reads secret events (a key log, a trace that shows what is derived,
    # Observer.wants_secret_events): the key schedule reports each secret it derives only then.
    reports_secrets: bool

    # What the trace and the application learn.
    def secret(self, label: str, client_random: bytes, secret: bytes) -> None: ...
    def verified(self, subject: str, ok: bool, detail: str) -> None: ...
    def note_verified_path(self, path: Sequence[Any]) -> None: ...  # the peer's chain as verified
    def emit(self, event: Event) -> None: ...
    def new_session(self, session: SessionState) -> None: ...
    def complete(self, proof: PeerVerified, parameters: NegotiatedParameters) -> None: ...
    def update_parameters(self, **changes: Any) -> None: ...


class State(Generic[M]):
    """A handshake state waiting for messages of type ``M``. Subclasses set ``expects``
    (the classes that make up ``M``) and implement ``handle``; ``accept`` turns every
    other message away, so ``handle`` is only ever given an ``M``."""

    expects: tuple[type[M], ...] = ()
    # Human description of the step, used in errors ("while waiting for ServerHello").
    step = "handshaking"
    # What an unexpected message most likely means here, added to its error ("" for nothing).
    unexpected_note = ""
    # In the middle of a peer's flight whose messages must come consecutively, with no record of
    # another type between them (RFC 8446, Section 4.6.2: a post-handshake authentication answer).
    mid_flight = False
    # RFC 8446, Section 5: a change_cipher_spec record may be dropped in this state.
    ccs_allowed = False
    # The transition table: every state ``handle`` or ``on_change_cipher_spec`` may
    # return, as (trigger, next state) or (trigger, next state, note), the note
    # saying when the edge is taken or what is sent on the way. The trigger is the
    # received message's class name (``msg.name``) or "ChangeCipherSpec"; names are
    # strings so that no module imports another for its table. The state diagrams
    # (trace/statemachine.py) are drawn from these tables, and
    # tests/test_state_tables.py holds the code to them.
    transitions: tuple[tuple[str, ...], ...] = ()
    # True for the state a connection of this role starts in.
    initial = False

    def handle(self, ctx: Context, msg: M) -> AnyState:  # pragma: no cover - abstract
        raise NotImplementedError

    def accept(self, ctx: Context, msg: Handshake) -> AnyState:
        if not isinstance(msg, self.expects):
            # (The RFC's name, not the class's: TLS 1.2's Certificate12 is a Certificate.)
            note = self.unexpected_note_for(msg.msg_type)
            raise unexpected(msg.name.removesuffix("12"), f"while {self.step}{note}")
        return self.handle(ctx, msg)

    def unexpected_note_for(self, msg_type: int) -> str:
        """What to add to "unexpected X while <step>" for a message of ``msg_type`` here: the
        state's ``unexpected_note`` unless it knows better for that type."""
        return self.unexpected_note

    def takes(self, msg_type: int) -> bool:
        """Whether this state reads messages of ``msg_type`` at all: a message of another type is
        unexpected_message however it is formed (asked of a message that failed to decode)."""
        return any(kind.msg_type == msg_type for kind in self.expects)

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def handshake_done(self) -> bool:
        return False

    # TLS 1.2 states that wait for the peer's ChangeCipherSpec override this;
    # None means "not a TLS 1.2 CCS point" (TLS 1.3 drops or rejects CCS).
    on_change_cipher_spec: Callable[[Context], AnyState] | None = None
    # The parser table for handshake messages in this state (None: TLS 1.3's).
    parsers: Mapping[HandshakeType, Parser] | None = None


# Any state, whatever it waits for: what handle() returns and a connection holds.
AnyState = State[Any]


class Connected(State[M]):
    """A state after the handshake. It answers every post-handshake operation the
    connection offers, with a result or a NotNegotiatedError that says why not, so
    the connection never calls a method only one version's states have."""

    # The version these states speak, for the errors ("this connection is TLSv1.2").
    version_label = "TLSv1.3"

    @property
    def handshake_done(self) -> bool:
        return True

    def update_write(self, ctx: Context, request_peer: bool) -> None:
        """Send a KeyUpdate (RFC 8446, Section 4.6.3)."""
        # TLS 1.2 has no KeyUpdate message; its keys change only by renegotiation,
        # which glasstls refuses (RFC 5746 secure renegotiation is not offered).
        raise NotNegotiatedError(f"KeyUpdate exists only in TLS 1.3; this connection is {self.version_label}")

    def request_client_certificate(self, ctx: Context, required: bool) -> bytes:
        """Send a post-handshake CertificateRequest (RFC 8446, Section 4.6.2); its context."""
        raise NotNegotiatedError("post-handshake client authentication needs an established TLS 1.3 connection")

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """Keying material bound to this connection (RFC 8446, Section 7.5; RFC 5705)."""
        raise NotImplementedError  # pragma: no cover - both versions' connected states answer

    def exporter_safe_for_channel_binding(self) -> bool:
        """Whether the exporter binds the handshake uniquely (RFC 9266, Section 4.2)."""
        return True


def require(condition: bool, description: AlertDescription, reason: str) -> None:
    if not condition:
        raise AlertError(description, reason)
