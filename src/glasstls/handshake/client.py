"""The client's start, before a version is chosen: one ClientHello for every
version in range, then the ServerHello decides which flight follows.

    ClientHello   -->
                  <--  HelloRetryRequest*   (TLS 1.3: a second ClientHello, back here)
                  <--  ServerHello          with supported_versions: TLS 1.3 (client13)
                                            without: TLS 1.2 (client12)

RFC 8446, Section 4.2.1: a TLS 1.3 ServerHello (and every HelloRetryRequest)
carries supported_versions; a server that chose TLS 1.2 or below sends none.
This is the only place that knows both versions' client flights.
"""

from __future__ import annotations

from types import MappingProxyType

from ..crypto.transcript import Transcript
from ..enums import ExtensionType as E
from ..enums import HandshakeType, ProtocolVersion
from ..wire.handshake import ClientHello, Handshake, HelloRetryRequest, ServerHello
from ..wire.handshake12 import HelloRequest
from . import client12, client13, early13
from .base import AnyState, Context, State
from .hello import KeyShares, client_hello, shape_client_hello
from .psk13 import PskOffer, bind

# Enum members looked up on their class go through EnumType's attribute hook: once, here.
_SUPPORTED_VERSIONS, _TLS13 = E.supported_versions, ProtocolVersion.TLSv1_3


def start(ctx: Context) -> AnyState:
    """Build and send the first ClientHello; wait for ServerHello."""
    hello, shares, psk = client_hello(ctx)
    if psk is not None and early13.client_may_offer(ctx, psk):
        # RFC 8446, Section 4.2.10: early_data, before pre_shared_key (last), bound anew.
        others = tuple(e for e in hello.extensions if e.type != E.pre_shared_key)
        hello = bind(ctx, hello.with_extensions((*others, early13.early_data_extension())), psk, now=psk.checked_at)
    shaped = shape_client_hello(ctx, hello)  # configured order and padding, then the binder again
    if shaped is not hello:
        hello = bind(ctx, shaped, psk, now=psk.checked_at) if psk is not None else shaped
    ctx.send_message(hello)
    early13.client_start(ctx, hello, psk)  # early keys, for the 0-RTT data sent next
    transcript = Transcript()
    transcript.add(hello.raw)
    # (None: not retried. No keyword: a class called with keywords gets them as a dict.)
    return ExpectServerHello(hello, shares, transcript, None, psk)


class ExpectServerHello(State[ServerHello]):
    expects = (ServerHello,)
    step = "waiting for ServerHello"
    initial = True
    # A HelloRequest before the first ServerHello (a TLS 1.2 server's: TLS 1.3 has none) is read
    # only to be ignored, as RFC 5246, Section 7.4.1.1 asks of a client that is negotiating.
    parsers = MappingProxyType(
        {HandshakeType.server_hello: ServerHello.parse, HandshakeType.hello_request: HelloRequest.parse}
    )
    transitions = (
        ("ServerHello", "ExpectEncryptedExtensions", "TLS 1.3"),
        ("HelloRetryRequest", "ExpectServerHello", "TLS 1.3, sends a second ClientHello"),
        ("ServerHello", "ExpectCertificate12", "TLS 1.2, full handshake"),
        ("ServerHello", "ExpectNewTicketOrCcs12", "TLS 1.2, session resumed, ticket promised"),
        ("ServerHello", "ExpectServerCcs12", "TLS 1.2, session resumed"),
    )

    def __init__(
        self,
        hello: ClientHello,
        shares: KeyShares,
        transcript: Transcript,
        retried: HelloRetryRequest | None = None,
        psk: PskOffer | None = None,  # the TLS 1.3 PSK the hello offers (RFC 8446, Section 4.2.11)
    ):
        self.hello = hello
        self.shares = shares
        self.transcript = transcript
        self.retried = retried
        self.psk = psk

    @property
    def ccs_allowed(self) -> bool:  # type: ignore[override]  # (a class attribute in the other states)
        """RFC 8446, Section 5 drops a change_cipher_spec after a ClientHello offering TLS 1.3 (its
        middlebox compatibility); one that offers TLS 1.2 alone can only lead to TLS 1.2, where a
        ChangeCipherSpec before the ServerHello is unexpected_message (RFC 5246, Section 7.1), as
        OpenSSL and GnuTLS answer. (Read only when one arrives.)"""
        return self.hello.ext(_SUPPORTED_VERSIONS) is not None

    def accept(self, ctx: Context, msg: Handshake) -> AnyState:
        if isinstance(msg, HelloRequest) and self.retried is None:
            return self  # ignored, and not in the transcript (RFC 5246, Section 7.4.1.1)
        return super().accept(ctx, msg)

    def takes(self, msg_type: int) -> bool:
        return (msg_type == HandshakeType.hello_request and self.retried is None) or super().takes(msg_type)

    def handle(self, ctx: Context, sh: ServerHello) -> AnyState:
        versions = sh.ext(_SUPPORTED_VERSIONS)
        if versions is None and not isinstance(sh, HelloRetryRequest) and self.retried is None:
            # No supported_versions: the server chose TLS 1.2 or below (RFC 8446, Section 4.2.1).
            early13.client_refuse_tls12(ctx)
            return client12.on_server_hello(ctx, self.hello, sh, self.transcript)
        suite = client13.check_server_hello(sh, self.hello, self.retried, versions)
        ctx.set_version(_TLS13)
        if isinstance(sh, HelloRetryRequest):
            early13.client_retry(ctx)  # RFC 8446, Section 4.2.10: early data is rejected
            hello, shares, psk = client13.answer_hello_retry(
                ctx, self.hello, self.shares, self.transcript, sh, suite, self.psk
            )
            return ExpectServerHello(hello, shares, self.transcript, retried=sh, psk=psk)
        return client13.on_server_hello(
            ctx, self.hello, self.shares, self.transcript, sh, suite, self.retried, self.psk
        )
