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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..crypto.keyschedule13 import finished_verify_data, next_traffic_secret
from ..crypto.suites import Suite13
from ..crypto.transcript import Transcript
from ..enums import ExtensionType, KeyUpdateRequest
from ..errors import AlertDescription, AlertError, ConfigError, NotNegotiatedError, TLSError
from ..events import ClientAuthDeclined, ClientAuthenticated, KeyUpdated, NewTicket
from ..wire.handshake import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    Finished,
    Handshake,
    KeyUpdate,
    NewSessionTicket,
)
from .base import Connected, Context, State, require, traced_check, verify_finished
from .common13 import certificate_verify_content, send_certificate_flight
from .peer_auth import check_peer_signature, parse_chain, verify_client

ILLEGAL = AlertDescription.illegal_parameter
CONTEXT_LENGTH = 32  # bytes of randomness in a certificate_request_context


@dataclass
class PendingRequest:
    """A post-handshake CertificateRequest the server sent and the client has not answered."""

    message: CertificateRequest
    required: bool  # an empty Certificate in answer ends the connection (certificate_required)


@dataclass
class PostHandshakeAuth:
    """What post-handshake authentication keeps from the handshake.

    Exists only when the client offered post_handshake_auth. ``make_request``
    (server side) builds the handshake's CertificateRequest (signature_algorithms,
    certificate_authorities) for a new request to copy.
    """

    transcript: Transcript  # through the client's Finished; only forked, never added to
    make_request: Callable[[Context], CertificateRequest] | None = None
    # RFC 8446, Section 4.3.2: contexts are unique; the handshake's request had the empty one.
    used: set[bytes] = field(default_factory=lambda: {b""})
    outstanding: dict[bytes, PendingRequest] = field(default_factory=dict)

    def context(self, *messages: Handshake) -> Transcript:
        """The Handshake Context of one authentication: the handshake, then ``messages``."""
        transcript = self.transcript.fork()
        for msg in messages:
            transcript.add(msg.raw)
        return transcript


class Connected13(Connected):
    """Application data flows; the traffic secrets can move forward."""

    step = "exchanging application data"
    expects = (KeyUpdate,)

    def __init__(
        self,
        suite: Suite13,
        client_secret: bytes,
        server_secret: bytes,
        resumption_secret: bytes,
        post_handshake_auth: PostHandshakeAuth | None = None,
    ) -> None:
        self.suite = suite
        self.client_secret = client_secret
        self.server_secret = server_secret
        self.resumption_secret = resumption_secret
        self.generation = 0
        self.post_handshake_auth = post_handshake_auth

    def _read_secret(self, ctx: Context) -> bytes:
        return self.server_secret if ctx.side == "client" else self.client_secret

    def handle(self, ctx: Context, msg: Handshake) -> State:
        if isinstance(msg, KeyUpdate):
            return self._key_update(ctx, msg)
        raise AssertionError("unreachable: expects filters other messages")

    def _key_update(self, ctx: Context, msg: KeyUpdate) -> State:
        """RFC 8446, Section 4.6.3: move our read keys on; answer if asked."""
        new = next_traffic_secret(self.suite, self._read_secret(ctx))
        if ctx.side == "client":
            self.server_secret = new
        else:
            self.client_secret = new
        self.generation += 1
        ctx.install_read(self.suite, new, f"application+{self.generation}", ctx.peer_verified.finished)  # type: ignore[attr-defined]
        ctx.emit(KeyUpdated("read", requested_by_peer=False))
        if msg.request_update == KeyUpdateRequest.update_requested:
            self.update_write(ctx, request_peer=False)
            ctx.emit(KeyUpdated("write", requested_by_peer=True))
        return self

    def update_write(self, ctx: Context, request_peer: bool) -> None:
        request = KeyUpdateRequest.update_requested if request_peer else KeyUpdateRequest.update_not_requested
        ctx.send_message(KeyUpdate(request_update=request))
        if ctx.side == "client":
            self.client_secret = new = next_traffic_secret(self.suite, self.client_secret)
        else:
            self.server_secret = new = next_traffic_secret(self.suite, self.server_secret)
        ctx.install_write(self.suite, new, "application (updated)", ctx.peer_verified.finished)  # type: ignore[attr-defined]


class ClientConnected13(Connected13):
    expects = (KeyUpdate, NewSessionTicket, CertificateRequest)
    transitions = (
        ("KeyUpdate", "ClientConnected13", "next read keys"),
        ("NewSessionTicket", "ClientConnected13"),
        ("CertificateRequest", "ClientConnected13", "post-handshake auth, sends Certificate[, CV], Finished"),
    )

    def handle(self, ctx: Context, msg: Handshake) -> State:
        if isinstance(msg, NewSessionTicket):
            # Resumption arrives with the PSK issue; the ticket is surfaced now.
            ctx.emit(NewTicket(msg))
            return self
        if isinstance(msg, CertificateRequest):
            self._answer(ctx, msg)
            return self
        return super().handle(ctx, msg)

    def _answer(self, ctx: Context, request: CertificateRequest) -> None:
        """RFC 8446, Section 4.6.2: Certificate, CertificateVerify (with a certificate) and
        Finished, at once and back to back; several requests are answered in turn."""
        pha = self.post_handshake_auth
        if pha is None:
            raise AlertError(
                AlertDescription.unexpected_message,
                "CertificateRequest after the handshake, but this client did not offer post_handshake_auth "
                "(RFC 8446, Section 4.6.2)",
            )
        context = request.certificate_request_context
        require(bool(context), ILLEGAL, "post-handshake CertificateRequest has an empty certificate_request_context")
        require(
            context not in pha.used,
            ILLEGAL,
            f"CertificateRequest repeats the certificate_request_context {context.hex()} (RFC 8446, Section 4.3.2)",
        )
        require(
            request.ext(ExtensionType.signature_algorithms) is not None,
            AlertDescription.missing_extension,
            "CertificateRequest has no signature_algorithms",
        )
        pha.used.add(context)
        transcript = pha.context(request)
        send_certificate_flight(ctx, self.suite, transcript, request, "client")
        # RFC 8446, Section 4.4: the Base Key is client_application_traffic_secret_N.
        verify_data = finished_verify_data(self.suite, self.client_secret, transcript.digest())
        ctx.send_message(Finished(verify_data=verify_data))


class ServerConnected13(Connected13):
    expects = (KeyUpdate, Certificate)
    transitions = (
        ("KeyUpdate", "ServerConnected13", "next read keys"),
        ("Certificate", "ExpectPostHandshakeCertificateVerify", "post-handshake auth, client chain verified"),
        ("Certificate", "ExpectPostHandshakeFinished", "post-handshake auth, empty, request not required"),
    )

    def handle(self, ctx: Context, msg: Handshake) -> State:
        if isinstance(msg, Certificate):
            return self._client_certificate(ctx, msg)
        return super().handle(ctx, msg)

    def request_client_certificate(self, ctx: Context, required: bool) -> bytes:
        """Send a CertificateRequest with a fresh random context (RFC 8446, Sections 4.3.2 and 4.6.2)."""
        pha = self.post_handshake_auth
        if pha is None or pha.make_request is None:
            raise NotNegotiatedError(
                "the client did not offer post_handshake_auth, so it may not be asked for a certificate "
                "after the handshake (RFC 8446, Section 4.2.6)"
            )
        if ctx.config.client_trust_store is None:
            raise ConfigError("post-handshake client authentication needs a client CA store (client_trust_store)")
        for _ in range(4):
            context = ctx.randomness(CONTEXT_LENGTH)
            if context not in pha.used:
                break
        else:
            raise TLSError("the randomness source keeps repeating a certificate_request_context")
        pha.used.add(context)
        request = replace(pha.make_request(ctx), certificate_request_context=context)
        ctx.send_message(request)
        pha.outstanding[context] = PendingRequest(request, required)
        return context

    def _client_certificate(self, ctx: Context, msg: Certificate) -> State:
        pha = self.post_handshake_auth
        if pha is None or not pha.outstanding:
            raise AlertError(
                AlertDescription.unexpected_message,
                "client Certificate after the handshake, with no CertificateRequest outstanding",
            )
        pending = pha.outstanding.pop(msg.certificate_request_context, None)
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
            return ExpectPostHandshakeFinished(self, pending, transcript, ())
        chain = parse_chain(msg, "client")
        verify_client(ctx, chain)
        return ExpectPostHandshakeCertificateVerify(self, pending, transcript, chain)


class _PostHandshakeStep(Connected):
    """Between the client's post-handshake Certificate and its Finished. The connection
    stays up: the server may send, update its keys and make further requests."""

    def __init__(
        self, connected: ServerConnected13, pending: PendingRequest, transcript: Transcript, chain: tuple[Any, ...]
    ) -> None:
        self.connected = connected
        self.pending = pending
        self.transcript = transcript
        self.chain = chain

    def update_write(self, ctx: Context, request_peer: bool) -> None:
        self.connected.update_write(ctx, request_peer)

    def request_client_certificate(self, ctx: Context, required: bool) -> bytes:
        return self.connected.request_client_certificate(ctx, required)


class ExpectPostHandshakeCertificateVerify(_PostHandshakeStep):
    expects = (CertificateVerify,)
    step = "waiting for the client's post-handshake CertificateVerify"
    transitions = (("CertificateVerify", "ExpectPostHandshakeFinished"),)

    def handle(self, ctx: Context, msg: CertificateVerify) -> State:  # type: ignore[override]
        requested = self.pending.message.ext(ExtensionType.signature_algorithms)
        check_peer_signature(
            ctx,
            "client",
            self.chain[0],
            msg.algorithm,
            msg.signature,
            certificate_verify_content("client", self.transcript.digest()),
            requested.value if requested is not None else (),
            tls13=True,
            subject="client CertificateVerify (post-handshake)",
            success=f"{msg.algorithm.name} signature over the handshake and this request",
            what="client CertificateVerify signature",
        )
        self.transcript.add(msg.raw)
        return ExpectPostHandshakeFinished(self.connected, self.pending, self.transcript, self.chain)


class ExpectPostHandshakeFinished(_PostHandshakeStep):
    expects = (Finished,)
    step = "waiting for the client's post-handshake Finished"
    transitions = (("Finished", "ServerConnected13", "client authenticated, or declined"),)

    def handle(self, ctx: Context, msg: Finished) -> State:  # type: ignore[override]
        connected = self.connected
        # RFC 8446, Section 4.4: keyed by the client's current application traffic secret.
        expected = finished_verify_data(connected.suite, connected.client_secret, self.transcript.digest())
        traced_check(
            ctx,
            "client Finished (post-handshake)",
            "verify_data matches the handshake and this request",
            lambda: verify_finished("client post-handshake", expected, msg.verify_data),
        )
        context = self.pending.message.certificate_request_context
        if self.chain:
            ctx.update_parameters(peer_certificates=self.chain, client_auth=True)
            ctx.emit(ClientAuthenticated(self.chain, context))
        else:
            ctx.emit(ClientAuthDeclined(context))
        return connected
