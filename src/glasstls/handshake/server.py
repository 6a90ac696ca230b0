"""The server's start, before a version is chosen: the ClientHello names the
versions the client speaks (RFC 8446, Section 4.2.1), the server picks one
(hello.choose_protocol_version), and that version's flight answers.

    ClientHello   -->   TLS 1.3: server13.on_client_hello (HelloRetryRequest or ServerHello …)
                        TLS 1.2: server12.on_client_hello (ServerHello … ServerHelloDone, or resumption)

This is the only place that knows both versions' server flights.
"""

from __future__ import annotations

from ..enums import ProtocolVersion
from ..wire.handshake import ClientHello
from . import server12, server13
from .base import AnyState, Context, State
from .certselect import ask_server_name_callback
from .hello import choose_protocol_version, raise_unreadable

# Looked up once: a member looked up on its class goes through EnumType's attribute hook (some 900
# instructions a time in CPython 3.11), and every ClientHello asks.
_TLS12 = ProtocolVersion.TLSv1_2


class ExpectClientHello(State[ClientHello]):
    expects = (ClientHello,)
    step = "waiting for ClientHello"
    initial = True
    transitions = (
        ("ClientHello", "ExpectSecondClientHello", "TLS 1.3, no usable key share, sends HelloRetryRequest"),
        ("ClientHello", "ExpectCookieClientHello", "TLS 1.3, no usable key share, stateless: HRR with a cookie"),
        ("ClientHello", "ExpectClientFinished", "TLS 1.3, sends the server flight"),
        ("ClientHello", "ExpectClientCertificate13", "TLS 1.3 with client auth, sends the server flight"),
        ("ClientHello", "ExpectEndOfEarlyData", "TLS 1.3, PSK and 0-RTT accepted, sends the server flight"),
        ("ClientHello", "ExpectClientKeyExchange12", "TLS 1.2, full handshake"),
        ("ClientHello", "ExpectClientCertificate12", "TLS 1.2, full handshake with client auth"),
        ("ClientHello", "ExpectClientCcs12", "TLS 1.2, session resumed, sends ServerHello to Finished"),
    )

    def handle(self, ctx: Context, ch: ClientHello) -> AnyState:
        tls12 = choose_protocol_version(ctx, ch) == _TLS12
        if tls12:
            raise_unreadable(ch)  # (the extensions TLS 1.3 ignores: TLS 1.2 reads them)
        if ctx.config.server_name_callback is not None:
            ask_server_name_callback(ctx, ch)  # (after the version, as OpenSSL's servername callback)
        if tls12:
            return server12.on_client_hello(ctx, ch)
        return server13.on_client_hello(ctx, ch)
