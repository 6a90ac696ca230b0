"""TLS 1.3 after the handshake (RFC 8446, Section 4.6): NewSessionTicket,
KeyUpdate, and post-handshake client authentication (Section 4.6.2).

Post-handshake authentication, only with a client that offered
post_handshake_auth in its ClientHello (Section 4.2.6):

    Server                                        Client
    [CertificateRequest (context c)]     -->
                                         <--      [Certificate (c),
                                                   CertificateVerify*,
                                                   Finished]

The context ``c`` is random and unique on the connection (Section 4.3.2). The
Handshake Context is the transcript through the client's Finished, then that
CertificateRequest, Certificate and CertificateVerify; the Finished key comes
from the current client_application_traffic_secret_N (Section 4.4, the table).
Authentications never hash one another (Section 4.4.1), so each continues a
fork of the transcript kept at the end of the handshake.

Several requests may be outstanding and application data may flow in between.
The client answers each one at once, its three messages back to back; the
server checks them in two sub-states (ExpectPostHandshakeCertificateVerify,
ExpectPostHandshakeFinished) and returns to ServerConnected13.

What a connected state knows is held in frozen values (:class:`TrafficSecrets`,
:class:`PostHandshakeAuth`, :class:`PostHandshakeRequests`). A connected state
lasts as long as the connection: a KeyUpdate, a ticket or a request leaves the
connection in the same state object (it reports a state change only when that
object changes), so such a state swaps its own values for new ones; no state
writes to another.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Self, TypeVar

from ..config import ServerConfig
from ..crypto.keyschedule13 import export_keying_material, finished_verify_data, next_traffic_secret
from ..crypto.suites import Suite13
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, ExtensionType, HandshakeType, KeyUpdateRequest
from ..errors import AlertError, ConfigError, NotNegotiatedError, TLSError
from ..events import ClientAuthDeclined, ClientAuthenticated, KeyUpdated, NewTicket
from ..frozen import dict_init
from ..wire.handshake import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    CompressedCertificate,
    Finished,
    Handshake,
    KeyUpdate,
    NewSessionTicket,
)
from .admission import (
    CERTIFICATE_REQUEST_EXTENSIONS,
    NEW_SESSION_TICKET_EXTENSIONS,
    refuse_client_entry_extensions,
    refuse_misplaced,
)
from .base import AnyState, Connected, Context, FinishedVerified, require, traced_check, verify_finished
from .common13 import certificate_request, certificate_verify_content, received_certificate, send_certificate_flight
from .peer_auth import Chain, check_peer_signature, parse_chain, verify_client
from .psk13 import SessionBasis, session_from_ticket

ILLEGAL = AlertDescription.illegal_parameter
CONTEXT_LENGTH = 32  # bytes of randomness in a certificate_request_context
Msg = TypeVar("Msg", bound=Handshake)  # what a connected state waits for


@dict_init
@dataclass(frozen=True)
class TrafficSecrets:
    """The application traffic secrets in use, one per direction (RFC 8446, Section 7.1).

    A KeyUpdate moves one direction to the next generation (Section 7.2);
    ``read_generation`` counts the peer's updates, for the epoch's name. The
    exporter master secret rides along: exporters are bound to the handshake.
    """

    suite: Suite13
    client: bytes = field(repr=False)
    server: bytes = field(repr=False)
    # RFC 8446, Section 7.5: derived beside the first application secrets; a KeyUpdate leaves it.
    exporter_master: bytes = field(repr=False)
    read_generation: int = 0

    def read(self, side: str) -> bytes:
        return self.server if side == "client" else self.client

    def write(self, side: str) -> bytes:
        return self.client if side == "client" else self.server

    def next_read(self, side: str) -> TrafficSecrets:
        new, generation = next_traffic_secret(self.suite, self.read(side)), self.read_generation + 1
        if side == "client":
            return replace(self, server=new, read_generation=generation)
        return replace(self, client=new, read_generation=generation)

    def next_write(self, side: str) -> TrafficSecrets:
        new = next_traffic_secret(self.suite, self.write(side))
        return replace(self, client=new) if side == "client" else replace(self, server=new)


@dataclass(frozen=True)
class PendingRequest:
    """A post-handshake CertificateRequest the server sent and the client has not answered."""

    message: CertificateRequest
    required: bool  # an empty Certificate in answer ends the connection (certificate_required)

    @property
    def context(self) -> bytes:
        return self.message.certificate_request_context


@dataclass(frozen=True)
class PostHandshakeAuth:
    """What post-handshake authentication keeps from the handshake, on the client.

    Exists only when the client offered post_handshake_auth (Section 4.2.6).
    """

    transcript: Transcript  # through the client's Finished; only forked, never added to
    # RFC 8446, Section 4.3.2: contexts are unique; the handshake's request had the empty one.
    used_contexts: frozenset[bytes] = frozenset({b""})

    def context(self, *messages: Handshake) -> Transcript:
        """The Handshake Context of one authentication: the handshake, then ``messages``."""
        transcript = self.transcript.fork()
        for msg in messages:
            transcript.add(msg.raw)
        return transcript

    def using(self, context: bytes) -> Self:
        return replace(self, used_contexts=self.used_contexts | {context})


@dataclass(frozen=True)
class PostHandshakeRequests(PostHandshakeAuth):
    """The server's side: also the requests sent and not yet answered, oldest first."""

    outstanding: tuple[PendingRequest, ...] = ()

    def sent(self, request: PendingRequest) -> PostHandshakeRequests:
        return replace(self.using(request.context), outstanding=(*self.outstanding, request))

    def take(self, context: bytes) -> tuple[PendingRequest | None, PostHandshakeRequests]:
        """The request a client Certificate with ``context`` answers (None: no such one), and the rest."""
        for pending in self.outstanding:
            if pending.context == context:
                rest = tuple(p for p in self.outstanding if p is not pending)
                return pending, replace(self, outstanding=rest)
        return None, self


@dataclass(frozen=True)
class ClientAnswer:
    """The client's answer to one post-handshake request, so far: the request, the Handshake
    Context it is checked against (Section 4.4), and its chain (empty: it declined)."""

    request: PendingRequest
    transcript: Transcript
    chain: Chain


class Connected13(Connected[Msg]):
    """Application data flows; the traffic secrets can move forward.

    ``finished`` is the proof the peer's Finished matched: installing new
    application keys asks for it (Section 4.4.4).
    """

    step = "exchanging application data"

    def __init__(self, traffic: TrafficSecrets, resumption_secret: bytes, finished: FinishedVerified) -> None:
        self.traffic = traffic
        self.resumption_secret = resumption_secret
        self.finished = finished

    @property
    def suite(self) -> Suite13:
        return self.traffic.suite

    def handle(self, ctx: Context, msg: Msg) -> AnyState:
        if isinstance(msg, KeyUpdate):
            return self._key_update(ctx, msg)
        raise AssertionError("unreachable: expects filters other messages")

    def _key_update(self, ctx: Context, msg: KeyUpdate) -> AnyState:
        """RFC 8446, Section 4.6.3: move our read keys on; answer if asked."""
        self.traffic = traffic = self.traffic.next_read(ctx.side)
        epoch = f"application+{traffic.read_generation}"
        ctx.install_read(self.suite, traffic.read(ctx.side), epoch, self.finished)
        ctx.emit(KeyUpdated("read", requested_by_peer=False))
        # Asked for ours too: answered unless our close_notify was the last we send (Section 6.1).
        if msg.request_update == KeyUpdateRequest.update_requested and not ctx.sending_closed:
            self.update_write(ctx, request_peer=False)
            ctx.emit(KeyUpdated("write", requested_by_peer=True))
        return self

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        # RFC 8446, Section 7.5: no context and an empty context are the same in TLS 1.3.
        traffic = self.traffic
        return export_keying_material(traffic.suite, traffic.exporter_master, label, context or b"", length)

    def update_write(self, ctx: Context, request_peer: bool) -> None:
        request = KeyUpdateRequest.update_requested if request_peer else KeyUpdateRequest.update_not_requested
        ctx.send_message(KeyUpdate(request_update=request))
        self.traffic = self.traffic.next_write(ctx.side)
        ctx.install_write(self.suite, self.traffic.write(ctx.side), "application (updated)", self.finished)


class ClientConnected13(Connected13[KeyUpdate | NewSessionTicket | CertificateRequest]):
    expects = (KeyUpdate, NewSessionTicket, CertificateRequest)
    transitions = (
        ("KeyUpdate", "ClientConnected13", "next read keys"),
        ("NewSessionTicket", "ClientConnected13"),
        ("CertificateRequest", "ClientConnected13", "post-handshake auth, sends Certificate[, CV], Finished"),
    )

    def __init__(
        self,
        traffic: TrafficSecrets,
        resumption_secret: bytes,
        finished: FinishedVerified,
        post_handshake_auth: PostHandshakeAuth | None,  # None: the client did not offer it
        session_basis: SessionBasis | None = None,  # None: tickets are surfaced, not kept
    ) -> None:
        super().__init__(traffic, resumption_secret, finished)
        self.post_handshake_auth = post_handshake_auth
        self.session_basis = session_basis

    def handle(self, ctx: Context, msg: KeyUpdate | NewSessionTicket | CertificateRequest) -> AnyState:
        if isinstance(msg, NewSessionTicket):
            self._keep_ticket(ctx, msg)
            return self
        if isinstance(msg, CertificateRequest):
            if not ctx.sending_closed:  # (after our close_notify no answer can go out: Section 6.1)
                self.post_handshake_auth = self._answer(ctx, msg)
            return self
        return super().handle(ctx, msg)

    def _keep_ticket(self, ctx: Context, msg: NewSessionTicket) -> None:
        """RFC 8446, Section 4.6.1: a ticket and the PSK derived from its nonce make a session to
        resume; the newest becomes the connection's session."""
        refuse_misplaced(msg.extensions, NEW_SESSION_TICKET_EXTENSIONS, "NewSessionTicket")
        session = None
        if self.session_basis is not None:
            session = session_from_ticket(ctx, self.suite, self.resumption_secret, self.session_basis, msg)
        if session is not None:
            ctx.new_session(session)
        ctx.emit(NewTicket(msg, session))

    def _answer(self, ctx: Context, request: CertificateRequest) -> PostHandshakeAuth:
        """RFC 8446, Section 4.6.2: Certificate, CertificateVerify (with a certificate) and
        Finished, at once and back to back; several requests are answered in turn."""
        pha = _admit_request(self.post_handshake_auth, request)
        transcript = pha.context(request)
        send_certificate_flight(ctx, self.suite, transcript, request, "client")
        # RFC 8446, Section 4.4: the Base Key is client_application_traffic_secret_N.
        verify_data = finished_verify_data(self.suite, self.traffic.client, transcript.digest())
        ctx.send_message(Finished(verify_data=verify_data))
        return pha.using(request.certificate_request_context)


def _admit_request(pha: PostHandshakeAuth | None, request: CertificateRequest) -> PostHandshakeAuth:
    """The checks a post-handshake CertificateRequest passes before the client answers it."""
    if pha is None:
        raise AlertError(
            AlertDescription.unexpected_message,
            "CertificateRequest after the handshake, but this client did not offer post_handshake_auth "
            "(RFC 8446, Section 4.6.2)",
        )
    context = request.certificate_request_context
    require(bool(context), ILLEGAL, "post-handshake CertificateRequest has an empty certificate_request_context")
    require(
        context not in pha.used_contexts,
        ILLEGAL,
        f"CertificateRequest repeats the certificate_request_context {context.hex()} (RFC 8446, Section 4.3.2)",
    )
    require(
        request.ext(ExtensionType.signature_algorithms) is not None,
        AlertDescription.missing_extension,
        "CertificateRequest has no signature_algorithms",
    )
    refuse_misplaced(request.extensions, CERTIFICATE_REQUEST_EXTENSIONS, "post-handshake CertificateRequest")
    return pha


class _ServerConnected(Connected13[Msg]):
    """What every connected server state does: update its keys and ask the client for a
    certificate, also while an earlier request is being answered."""

    def __init__(
        self,
        traffic: TrafficSecrets,
        resumption_secret: bytes,
        finished: FinishedVerified,
        post_handshake_auth: PostHandshakeRequests | None,  # None: the client did not offer it
    ) -> None:
        super().__init__(traffic, resumption_secret, finished)
        self.post_handshake_auth = post_handshake_auth

    def request_client_certificate(self, ctx: Context, required: bool) -> bytes:
        """Send a CertificateRequest with a fresh random context (RFC 8446, Sections 4.3.2 and 4.6.2)."""
        pha = self.post_handshake_auth
        if pha is None:
            raise NotNegotiatedError(
                "the client did not offer post_handshake_auth, so it may not be asked for a certificate "
                "after the handshake (RFC 8446, Section 4.2.6)"
            )
        config: ServerConfig = ctx.config
        if config.client_trust_store is None:
            raise ConfigError("post-handshake client authentication needs a client CA store (client_trust_store)")
        context = _fresh_context(ctx, pha.used_contexts)
        request = certificate_request(ctx, context)
        ctx.send_message(request)
        self.post_handshake_auth = pha.sent(PendingRequest(request, required))
        return context


def _fresh_context(ctx: Context, used: frozenset[bytes]) -> bytes:
    """A certificate_request_context not used before on this connection (RFC 8446, Section 4.3.2)."""
    for _ in range(4):
        context = ctx.randomness(CONTEXT_LENGTH)
        if context not in used:
            return context
    raise TLSError("the randomness source keeps repeating a certificate_request_context")


class ServerConnected13(_ServerConnected[KeyUpdate | Certificate | CompressedCertificate]):
    expects = (KeyUpdate, Certificate, CompressedCertificate)
    transitions = (
        ("KeyUpdate", "ServerConnected13", "next read keys"),
        ("Certificate", "ExpectPostHandshakeCertificateVerify", "post-handshake auth, client chain verified"),
        ("Certificate", "ExpectPostHandshakeFinished", "post-handshake auth, empty, request not required"),
        ("CompressedCertificate", "ExpectPostHandshakeCertificateVerify", "post-handshake auth, client chain verified"),
        ("CompressedCertificate", "ExpectPostHandshakeFinished", "post-handshake auth, empty, request not required"),
    )

    def handle(self, ctx: Context, msg: KeyUpdate | Certificate | CompressedCertificate) -> AnyState:
        if isinstance(msg, Certificate | CompressedCertificate):
            return self._client_certificate(ctx, msg)
        return super().handle(ctx, msg)

    def takes(self, msg_type: int) -> bool:
        # A client Certificate only answers an outstanding CertificateRequest: without one it is
        # unexpected_message however it is formed (as OpenSSL answers it), not a decode_error.
        if msg_type in (HandshakeType.certificate, HandshakeType.compressed_certificate):
            return self._requests_outstanding
        return super().takes(msg_type)

    @property
    def _requests_outstanding(self) -> bool:
        pha = self.post_handshake_auth
        return pha is not None and bool(pha.outstanding)

    def _client_certificate(self, ctx: Context, received: Certificate | CompressedCertificate) -> AnyState:
        pha = self.post_handshake_auth
        if pha is None or not self._requests_outstanding:
            raise AlertError(
                AlertDescription.unexpected_message,
                f"client {received.name} after the handshake, with no CertificateRequest outstanding",
            )
        # RFC 8879, Section 4: compressed in answer to our request's compress_certificate.
        msg = received_certificate(ctx, received, "client CompressedCertificate (post-handshake)")
        refuse_client_entry_extensions(msg.entries, "client CertificateEntry (post-handshake)")
        pending, rest = pha.take(msg.certificate_request_context)
        if pending is None:
            raise AlertError(
                ILLEGAL,
                f"client Certificate answers certificate_request_context {msg.certificate_request_context.hex()}, "
                "which no outstanding CertificateRequest carries",
            )
        transcript = pha.context(pending.message, msg)
        if not msg.entries:
            # RFC 8446, Section 4.4.2.4: certificate_required when we insist.
            require(
                not pending.required,
                AlertDescription.certificate_required,
                "client sent no certificate after the handshake, and this server requires one",
            )
            declined = ClientAnswer(pending, transcript, chain=())
            return ExpectPostHandshakeFinished(self.traffic, self.resumption_secret, self.finished, rest, declined)
        chain = parse_chain(msg, "client")
        verify_client(ctx, chain)
        answer = ClientAnswer(pending, transcript, chain)
        return ExpectPostHandshakeCertificateVerify(self.traffic, self.resumption_secret, self.finished, rest, answer)


class _PostHandshakeStep(_ServerConnected[Msg]):
    """Between the client's post-handshake Certificate and its Finished. The connection
    stays up: the server may send, update its keys and make further requests; but the client's
    answer comes whole, no other record between its messages (RFC 8446, Section 4.6.2)."""

    mid_flight = True

    post_handshake_auth: PostHandshakeRequests  # a step exists only for an outstanding request

    def __init__(
        self,
        traffic: TrafficSecrets,
        resumption_secret: bytes,
        finished: FinishedVerified,
        post_handshake_auth: PostHandshakeRequests,
        answer: ClientAnswer,
    ) -> None:
        super().__init__(traffic, resumption_secret, finished, post_handshake_auth)
        self.answer = answer


class ExpectPostHandshakeCertificateVerify(_PostHandshakeStep[CertificateVerify]):
    expects = (CertificateVerify,)
    step = "waiting for the client's post-handshake CertificateVerify"
    transitions = (("CertificateVerify", "ExpectPostHandshakeFinished"),)

    def handle(self, ctx: Context, msg: CertificateVerify) -> AnyState:
        answer = self.answer
        requested = answer.request.message.ext(ExtensionType.signature_algorithms)
        check_peer_signature(
            ctx,
            "client",
            answer.chain[0],
            msg.algorithm,
            msg.signature,
            certificate_verify_content("client", answer.transcript.digest()),
            requested.value if requested is not None else (),
            tls13=True,
            subject="client CertificateVerify (post-handshake)",
            success=f"{msg.algorithm.name} signature over the handshake and this request",
            what="client CertificateVerify signature",
        )
        answer.transcript.add(msg.raw)
        pha = self.post_handshake_auth
        return ExpectPostHandshakeFinished(self.traffic, self.resumption_secret, self.finished, pha, answer)


class ExpectPostHandshakeFinished(_PostHandshakeStep[Finished]):
    expects = (Finished,)
    step = "waiting for the client's post-handshake Finished"
    transitions = (("Finished", "ServerConnected13", "client authenticated, or declined"),)

    def handle(self, ctx: Context, msg: Finished) -> AnyState:
        answer = self.answer
        # RFC 8446, Section 4.4: keyed by the client's current application traffic secret.
        expected = finished_verify_data(self.suite, self.traffic.client, answer.transcript.digest())
        traced_check(
            ctx,
            "client Finished (post-handshake)",
            "verify_data matches the handshake and this request",
            lambda: verify_finished("client post-handshake", expected, msg.verify_data),
        )
        if answer.chain:
            ctx.update_parameters(peer_certificates=answer.chain, client_auth=True)
            ctx.emit(ClientAuthenticated(answer.chain, answer.request.context))
        else:
            ctx.emit(ClientAuthDeclined(answer.request.context))
        return ServerConnected13(self.traffic, self.resumption_secret, self.finished, self.post_handshake_auth)
