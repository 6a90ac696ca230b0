"""The TLS 1.3 client handshake (RFC 8446, Section 2, Figure 1 and 2).

    ClientHello                        -->
                                       <--  HelloRetryRequest*   (then ClientHello again)
                                       <--  ServerHello
                                       <--  {EncryptedExtensions}
                                       <--  {CertificateRequest*}
                                       <--  {Certificate}
                                       <--  {CertificateVerify}
                                       <--  {Finished}
    {Certificate*, CertificateVerify*,
     Finished}                         -->
    [Application Data]                <->   [Application Data]

One class per state; each reads top to bottom in the RFC's order of checks.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from ..crypto import kx
from ..crypto.keyschedule13 import EarlySecret, HandshakeSecret, finished_verify_data
from ..crypto.signatures import TLS13_SIGNATURE_SCHEMES, scheme_fits_certificate, verify
from ..crypto.suites import TLS12_SUITES, TLS13_SUITES, Suite13
from ..crypto.transcript import Transcript
from ..enums import CipherSuite, NamedGroup, ProtocolVersion, PskKeyExchangeMode, SignatureScheme
from ..enums import ExtensionType as E
from ..errors import AlertDescription, AlertError
from ..events import NegotiatedParameters
from ..wire import extensions as X
from ..wire.extensions import Extension, KeyShareEntry
from ..wire.handshake import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    Finished,
    HelloRetryRequest,
    ServerHello,
)
from .base import Context, PeerVerified, State, require, traced_check, verify_finished
from .common13 import certificate_verify_content, send_certificate_flight
from .post_handshake import ClientConnected13, PostHandshakeAuth
from .status import check_server_status, leaf_staple

if TYPE_CHECKING:
    from ..x509.verify import VerifiedChain

ILLEGAL = AlertDescription.illegal_parameter
# RFC 8446, Section 4.2: what a server may send in each message.
_SERVER_HELLO_EXTENSIONS = {E.key_share, E.supported_versions, E.pre_shared_key}
_HRR_EXTENSIONS = {E.key_share, E.supported_versions, E.cookie}
_EE_EXTENSIONS = {
    E.server_name,
    E.max_fragment_length,
    E.supported_groups,
    E.use_srtp,
    E.heartbeat,
    E.application_layer_protocol_negotiation,
    E.record_size_limit,
    E.early_data,
    E.encrypted_client_hello,
}


def sni_name(server_name: str | None) -> str | None:
    """RFC 6066, Section 3: literal IP addresses are not sent as SNI."""
    if not server_name:
        return None
    try:
        ipaddress.ip_address(server_name)
    except ValueError:
        return server_name.rstrip(".")
    return None


def start(ctx: Context) -> State:
    """Build and send the first ClientHello; wait for ServerHello.

    One ClientHello offers every version in the configured range; the server
    picks (RFC 8446, Section 4.2.1). A TLS 1.2 session to resume rides in it
    as a session ID or a ticket (RFC 5246, Section 7.4.1.2; RFC 5077, Section 3.4).
    """
    cfg = ctx.config
    offers_13 = cfg.tls_max >= ProtocolVersion.TLSv1_3
    offers_12 = cfg.tls_min <= ProtocolVersion.TLSv1_2
    shares = {g: kx.generate_key_share(g, ctx.randomness) for g in cfg.shares_for} if offers_13 else {}
    session = ctx.offered_session  # type: ignore[attr-defined]
    if session is not None and session.ticket is None and session.session_id:
        session_id = session.session_id
    elif (cfg.middlebox_compat and offers_13) or (session is not None and session.ticket):
        session_id = ctx.randomness(32)  # RFC 5077, Section 3.4: tells us whether the ticket was taken
    else:
        session_id = b""
    suites = tuple(
        s for s in cfg.cipher_suites if (s in TLS13_SUITES and offers_13) or (s in TLS12_SUITES and offers_12)
    )
    if cfg.send_fallback_scsv:
        suites += (CipherSuite.TLS_FALLBACK_SCSV,)  # RFC 7507, Section 4
    hello = ClientHello(
        random=ctx.randomness(32),
        legacy_session_id=session_id,
        cipher_suites=suites,
        extensions=_client_hello_extensions(ctx, shares, offers_12, offers_13, session),
    )
    ctx.send_message(hello)
    transcript = Transcript()
    transcript.add(hello.raw)
    return ExpectServerHello(hello, shares, transcript)


def _client_hello_extensions(
    ctx: Context, shares: dict[NamedGroup, kx.KeyShare], offers_12: bool, offers_13: bool, session: Any
) -> tuple[Extension, ...]:
    cfg = ctx.config
    exts: list[Extension] = []

    def add(ext_type: E, value: object) -> None:
        exts.append(Extension.make(ext_type, value, X.CH))

    sni = sni_name(ctx.server_name)
    if sni:
        add(E.server_name, sni)
    if offers_12:
        add(E.extended_master_secret, True)  # RFC 7627, Section 5.1
    add(E.renegotiation_info, b"")  # RFC 5746, Section 3.4
    add(E.supported_groups, cfg.groups)
    if offers_12:
        add(E.ec_point_formats, (0,))  # RFC 8422, Section 5.1.2: uncompressed only
    if cfg.ocsp != "off" and not cfg.dangerous.skip_server_verification:
        add(E.status_request, X.StatusRequest())  # RFC 6066, Section 8: staple an OCSP response, please
    if cfg.session_tickets:
        ticket = session.ticket if session is not None and session.ticket and offers_12 else b""
        add(E.session_ticket, ticket)
    if cfg.alpn:
        add(E.application_layer_protocol_negotiation, tuple(p.encode() for p in cfg.alpn))
    if offers_12 and any(TLS12_SUITES.get(s) is not None and not TLS12_SUITES[s].aead for s in cfg.cipher_suites):
        add(E.encrypt_then_mac, True)  # RFC 7366: the only way glasstls does CBC
    if offers_13:
        add(E.key_share, tuple(KeyShareEntry(g, s.public_bytes()) for g, s in shares.items()))
        versions = [v for v in (ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2) if cfg.tls_min <= v <= cfg.tls_max]
        add(E.supported_versions, tuple(versions))
    add(E.signature_algorithms, offered_signature_schemes(cfg))
    if offers_13:
        add(E.psk_key_exchange_modes, (PskKeyExchangeMode.psk_dhe_ke,))
        if cfg.offers_post_handshake_auth:
            add(E.post_handshake_auth, True)  # RFC 8446, Section 4.2.6
    if cfg.record_size_limit:
        add(E.record_size_limit, cfg.record_size_limit)
    return tuple(exts)


def offered_signature_schemes(cfg: object) -> tuple[int, ...]:
    advertised = cfg.dangerous.advertised_signature_schemes  # type: ignore[attr-defined]
    return tuple(advertised) if advertised is not None else cfg.signature_schemes  # type: ignore[attr-defined]


def _check_allowed(exts: tuple[Extension, ...], allowed: set, offered: ClientHello, where: str) -> None:
    """RFC 8446, Section 4.2: extensions not offered, or not allowed here, are fatal."""
    for ext in exts:
        # Not offered first: an extension the client does not even recognise is an
        # unsolicited response (unsupported_extension), not a misplaced one.
        if offered.ext(ext.type) is None:
            raise AlertError(
                AlertDescription.unsupported_extension,
                f"{where} carries {ext.type.name}, which the client did not offer",
            )
        if ext.type not in allowed:
            raise AlertError(ILLEGAL, f"{where} carries {ext.type.name}, which is not allowed there")


class ExpectServerHello(State):
    expects = (ServerHello,)
    step = "waiting for ServerHello"
    ccs_allowed = True
    initial = True
    transitions = (
        ("ServerHello", "ExpectEncryptedExtensions", "TLS 1.3"),
        ("HelloRetryRequest", "ExpectServerHello", "TLS 1.3, sends a second ClientHello"),
        ("ServerHello", "ExpectCertificate12", "TLS 1.2, full handshake"),
        ("ServerHello", "ExpectNewTicketOrCcs12", "TLS 1.2, session resumed, ticket promised"),
        ("ServerHello", "ExpectServerCcs12", "TLS 1.2, session resumed"),
    )

    def __init__(
        self, hello: ClientHello, shares: dict, transcript: Transcript, retried: HelloRetryRequest | None = None
    ):
        self.hello = hello
        self.shares = shares
        self.transcript = transcript
        self.retried = retried

    def handle(self, ctx: Context, sh: ServerHello) -> State:  # type: ignore[override]
        if sh.ext(E.supported_versions) is None and not isinstance(sh, HelloRetryRequest) and self.retried is None:
            # No supported_versions: the server chose TLS 1.2 or below (RFC 8446, Section 4.2.1).
            from .client12 import on_server_hello

            return on_server_hello(ctx, self.hello, sh, self.transcript)
        suite = self._check_common(sh)
        ctx.set_version(ProtocolVersion.TLSv1_3)
        if isinstance(sh, HelloRetryRequest):
            return self._retry(ctx, sh, suite)
        _check_allowed(sh.extensions, _SERVER_HELLO_EXTENSIONS, self.hello, "ServerHello")
        share_ext = sh.ext(E.key_share)
        require(share_ext is not None, AlertDescription.missing_extension, "ServerHello has no key_share")
        entry: KeyShareEntry = share_ext.value
        require(entry.group in self.shares, ILLEGAL, f"server chose {entry.group.name}, for which no share was sent")
        shared = self.shares[entry.group].exchange(entry.key_exchange)
        if not self.transcript.started:
            self.transcript.start(suite.hash_name)
        self.transcript.add(sh.raw)
        keys = HandshakeKeys.derive(ctx, suite, EarlySecret(suite).handshake_stage(shared), self.transcript, self.hello)
        keys.install_client(ctx, replace_ccs=self.retried is None)
        return ExpectEncryptedExtensions(keys, Negotiated(suite=suite, group=entry.group))

    def _check_common(self, sh: ServerHello) -> Suite13:
        versions = sh.ext(E.supported_versions)
        if versions is None:
            raise AlertError(
                AlertDescription.protocol_version,
                f"server chose {sh.legacy_version.label} without supported_versions after a HelloRetryRequest, "
                "or in one: both must select TLS 1.3 (RFC 8446, Section 4.1.4)",
            )
        require(
            versions.value == ProtocolVersion.TLSv1_3, ILLEGAL, f"server selected {versions.value.label}, not offered"
        )
        require(sh.legacy_version == ProtocolVersion.TLSv1_2, ILLEGAL, "ServerHello legacy_version is not 0x0303")
        require(
            sh.legacy_session_id_echo == self.hello.legacy_session_id,
            ILLEGAL,
            "ServerHello does not echo the session id",
        )
        require(
            sh.cipher_suite in self.hello.cipher_suites, ILLEGAL, f"server chose {sh.cipher_suite.name}, not offered"
        )
        require(sh.compression_method == 0, ILLEGAL, "ServerHello compression method is not null")
        if self.retried is not None:
            require(
                not isinstance(sh, HelloRetryRequest), AlertDescription.unexpected_message, "second HelloRetryRequest"
            )
            require(sh.cipher_suite == self.retried.cipher_suite, ILLEGAL, "ServerHello suite differs from the HRR's")
        return TLS13_SUITES[sh.cipher_suite]

    def _retry(self, ctx: Context, hrr: HelloRetryRequest, suite: Suite13) -> State:
        """RFC 8446, Section 4.1.4: answer a HelloRetryRequest with a second ClientHello."""
        _check_allowed(hrr.extensions, _HRR_EXTENSIONS, self.hello, "HelloRetryRequest")
        group_ext = hrr.ext(E.key_share)
        cookie = hrr.ext(E.cookie)
        require(
            group_ext is not None or cookie is not None, ILLEGAL, "HelloRetryRequest would not change the ClientHello"
        )
        exts = [e for e in self.hello.extensions if e.type not in (E.key_share, E.early_data, E.cookie)]
        shares = self.shares
        if group_ext is not None:
            group = group_ext.value
            require(group in ctx.config.groups, ILLEGAL, f"HRR asks for {group.name}, which the client did not offer")
            require(group not in self.shares, ILLEGAL, f"HRR asks for {group.name}, for which a share was already sent")
            shares = {group: kx.generate_key_share(group, ctx.randomness)}
        key_share = Extension.make(
            E.key_share, tuple(KeyShareEntry(g, s.public_bytes()) for g, s in shares.items()), X.CH
        )
        at = [e.type for e in exts].index(E.supported_versions)
        exts.insert(at, key_share)
        if cookie is not None:
            exts.insert(at + 1, Extension(E.cookie, cookie.data, cookie.value))
        hello2 = replace(self.hello, extensions=tuple(exts))
        self.transcript.start(suite.hash_name)
        self.transcript.replace_with_message_hash()
        self.transcript.add(hrr.raw)
        if ctx.config.middlebox_compat:
            ctx.send_change_cipher_spec()
        ctx.send_message(hello2)
        self.transcript.add(hello2.raw)
        return ExpectServerHello(hello2, shares, self.transcript, retried=hrr)


@dataclass
class Negotiated:
    """What the handshake has settled so far (filled in state by state)."""

    suite: Suite13
    group: NamedGroup | None = None
    alpn: str | None = None
    signature_scheme: SignatureScheme | None = None
    peer_chain: tuple[x509.Certificate, ...] = ()
    cert_request: CertificateRequest | None = None


class HandshakeKeys:
    """The handshake-stage secrets and the running transcript."""

    def __init__(
        self,
        suite: Suite13,
        stage: HandshakeSecret,
        transcript: Transcript,
        client_random: bytes,
        client_secret: bytes,
        server_secret: bytes,
    ) -> None:
        self.suite = suite
        self.stage = stage
        self.transcript = transcript
        self.client_random = client_random
        self.client_secret = client_secret
        self.server_secret = server_secret

    @classmethod
    def derive(
        cls, ctx: Context, suite: Suite13, stage: HandshakeSecret, transcript: Transcript, hello: ClientHello
    ) -> HandshakeKeys:
        th = transcript.digest()
        c_hs = stage.client_handshake_traffic_secret(th)
        s_hs = stage.server_handshake_traffic_secret(th)
        ctx.secret("handshake_secret", hello.random, stage.secret)
        ctx.secret("client_handshake_traffic_secret", hello.random, c_hs)
        ctx.secret("server_handshake_traffic_secret", hello.random, s_hs)
        return cls(suite, stage, transcript, hello.random, c_hs, s_hs)

    def install_client(self, ctx: Context, replace_ccs: bool) -> None:
        ctx.install_read(self.suite, self.server_secret, "handshake")
        # RFC 8446, Appendix D.4: a compatibility-mode client sends one dummy
        # change_cipher_spec before its first encrypted record.
        if ctx.config.middlebox_compat and replace_ccs:
            ctx.send_change_cipher_spec()
        ctx.install_write(self.suite, self.client_secret, "handshake")


class ExpectEncryptedExtensions(State):
    expects = (EncryptedExtensions,)
    step = "waiting for EncryptedExtensions"
    ccs_allowed = True
    transitions = (("EncryptedExtensions", "ExpectCertificateOrRequest"),)

    def __init__(self, keys: HandshakeKeys, negotiated: Negotiated) -> None:
        self.keys = keys
        self.negotiated = negotiated

    def handle(self, ctx: Context, ee: EncryptedExtensions) -> State:  # type: ignore[override]
        hello = _offered_hello(ctx)
        _check_allowed(ee.extensions, _EE_EXTENSIONS, hello, "EncryptedExtensions")
        alpn = ee.ext(E.application_layer_protocol_negotiation)
        if alpn is not None:
            # RFC 7301, Section 3.1: exactly one protocol, one the client offered.
            require(len(alpn.value) == 1, ILLEGAL, "server selected more than one ALPN protocol")
            require(
                alpn.value[0] in hello.ext(E.application_layer_protocol_negotiation).value,
                ILLEGAL,
                f"server selected ALPN {alpn.value[0]!r}, which the client did not offer",
            )
            self.negotiated.alpn = alpn.value[0].decode("ascii", "replace")
        limit = ee.ext(E.record_size_limit)
        if limit is not None:
            ctx.set_peer_record_limit(limit.value)
        self.keys.transcript.add(ee.raw)
        return ExpectCertificateOrRequest(self.keys, self.negotiated)


def _offered_hello(ctx: Context) -> ClientHello:
    return ctx.offered_hello  # type: ignore[attr-defined]


class ExpectCertificateOrRequest(State):
    expects = (Certificate, CertificateRequest)
    step = "waiting for the server's Certificate"
    ccs_allowed = True
    transitions = (
        ("CertificateRequest", "ExpectCertificate"),
        ("Certificate", "ExpectCertificateVerify"),
    )

    def __init__(self, keys: HandshakeKeys, negotiated: Negotiated) -> None:
        self.keys = keys
        self.negotiated = negotiated

    def handle(self, ctx: Context, msg: Certificate | CertificateRequest) -> State:  # type: ignore[override]
        if isinstance(msg, CertificateRequest):
            # RFC 8446, Section 4.3.2: empty context; signature_algorithms required.
            require(msg.certificate_request_context == b"", ILLEGAL, "CertificateRequest context is not empty")
            require(
                msg.ext(E.signature_algorithms) is not None,
                AlertDescription.missing_extension,
                "CertificateRequest has no signature_algorithms",
            )
            self.keys.transcript.add(msg.raw)
            self.negotiated.cert_request = msg
            return ExpectCertificate(self.keys, self.negotiated)
        return ExpectCertificate(self.keys, self.negotiated).handle(ctx, msg)


class ExpectCertificate(State):
    expects = (Certificate,)
    step = "waiting for the server's Certificate"
    ccs_allowed = True
    transitions = (("Certificate", "ExpectCertificateVerify"),)

    def __init__(self, keys: HandshakeKeys, negotiated: Negotiated) -> None:
        self.keys = keys
        self.negotiated = negotiated

    def handle(self, ctx: Context, msg: Certificate) -> State:  # type: ignore[override]
        require(msg.certificate_request_context == b"", ILLEGAL, "server Certificate has a request context")
        # RFC 8446, Section 4.4.2.4: an empty server Certificate is a decode_error.
        require(bool(msg.entries), AlertDescription.decode_error, "server sent an empty Certificate message")
        chain = parse_chain(msg, "server")
        staple = leaf_staple(ctx, msg)  # RFC 8446, Section 4.4.2.1
        if ctx.config.dangerous.skip_server_verification:
            ctx.verified(peer_subject(chain[0]), True, "verification skipped (insecure)")
        else:
            verified = verify_server(ctx, chain)
            check_server_status(ctx, verified.path, staple)
        self.keys.transcript.add(msg.raw)
        self.negotiated.peer_chain = chain
        return ExpectCertificateVerify(self.keys, self.negotiated)


def parse_chain(msg: Certificate, whose: str) -> tuple[x509.Certificate, ...]:
    return tuple(load_certificate(entry.cert_data, i, whose) for i, entry in enumerate(msg.entries))


def load_certificate(der: bytes, index: int, whose: str) -> x509.Certificate:
    """Parse one DER certificate; a corrupt one is bad_certificate (RFC 8446, Section 6.2)."""
    from ..x509.verify import describe, parse_problem

    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:
        raise AlertError(
            AlertDescription.bad_certificate,
            f"{whose} certificate #{index} is not valid DER X.509: {parse_problem(exc)}",
        ) from None
    try:
        # cryptography parses these parts lazily: parse them here, so a corrupt
        # certificate fails here, with an alert, and not deep inside path
        # validation, a log line (the subject) or the connection's parameters.
        _ = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.extensions
        if index == 0:
            cert.public_key()
    except (ValueError, TypeError, x509.DuplicateExtension) as exc:
        raise AlertError(
            AlertDescription.bad_certificate,
            f"{whose} certificate #{index} ({describe(cert)}) is malformed: {parse_problem(exc)}",
        ) from None
    except UnsupportedAlgorithm as exc:
        raise AlertError(
            AlertDescription.unsupported_certificate,
            f"{whose} certificate #{index} ({describe(cert)}) has an unsupported key: {parse_problem(exc)}",
        ) from None
    return cert


def peer_subject(cert: x509.Certificate) -> str:
    """The subject for the trace, escaped: the peer chose it."""
    from ..x509.verify import describe

    return describe(cert)


def verify_server(ctx: Context, chain: tuple[x509.Certificate, ...]) -> VerifiedChain:
    """Path validation and host name; revocation follows (status.check_server_status) on the path returned."""
    from ..x509.store import TrustStore
    from ..x509.verify import verify_server_chain

    store = ctx.config.trust_store or TrustStore.system()
    subject = peer_subject(chain[0])
    if not ctx.server_name:
        raise AlertError(
            AlertDescription.internal_error,
            "no server name to verify the certificate against: pass server_name (or skip_server_verification)",
        )
    try:
        verified = verify_server_chain(chain, ctx.server_name, store, ctx.now())
    except AlertError as err:
        ctx.verified(subject, False, err.reason)
        raise
    ctx.verified(subject, True, f"chain to a trusted root, valid for {ctx.server_name}")
    return verified


class ExpectCertificateVerify(State):
    expects = (CertificateVerify,)
    step = "waiting for the server's CertificateVerify"
    ccs_allowed = True
    transitions = (("CertificateVerify", "ExpectFinished"),)

    def __init__(self, keys: HandshakeKeys, negotiated: Negotiated) -> None:
        self.keys = keys
        self.negotiated = negotiated

    def handle(self, ctx: Context, msg: CertificateVerify) -> State:  # type: ignore[override]
        key = self.negotiated.peer_chain[0].public_key()
        # RFC 8446, Section 4.4.3: a scheme we offered, legal in TLS 1.3, fitting the key.
        offered = offered_signature_schemes(ctx.config)
        require(
            msg.algorithm in offered and msg.algorithm in TLS13_SIGNATURE_SCHEMES,
            ILLEGAL,
            f"server signed with {msg.algorithm.name}, which the client did not offer for TLS 1.3",
        )
        require(
            scheme_fits_certificate(self.negotiated.peer_chain[0], msg.algorithm),
            ILLEGAL,
            f"server signed with {msg.algorithm.name}, which does not fit its certificate key",
        )
        content = certificate_verify_content("server", self.keys.transcript.digest())
        traced_check(
            ctx,
            "server CertificateVerify",
            f"{msg.algorithm.name} signature over the transcript verifies with the certificate key",
            lambda: verify(key, msg.algorithm, content, msg.signature, what="server CertificateVerify signature"),
        )
        self.keys.transcript.add(msg.raw)
        self.negotiated.signature_scheme = msg.algorithm
        return ExpectFinished(self.keys, self.negotiated)


class ExpectFinished(State):
    expects = (Finished,)
    step = "waiting for the server's Finished"
    ccs_allowed = True
    transitions = (("Finished", "ClientConnected13", "sends [Certificate, CertificateVerify,] Finished"),)

    def __init__(self, keys: HandshakeKeys, negotiated: Negotiated) -> None:
        self.keys = keys
        self.negotiated = negotiated

    def handle(self, ctx: Context, msg: Finished) -> State:  # type: ignore[override]
        keys, suite = self.keys, self.keys.suite
        expected = finished_verify_data(suite, keys.server_secret, keys.transcript.digest())
        proof = traced_check(
            ctx,
            "server Finished",
            "verify_data matches the transcript",
            lambda: verify_finished("server", expected, msg.verify_data),
        )
        keys.transcript.add(msg.raw)
        master = keys.stage.master_stage()
        th = keys.transcript.digest()
        c_ap = master.client_application_traffic_secret(th)
        s_ap = master.server_application_traffic_secret(th)
        ctx.secret("master_secret", keys.client_random, master.secret)
        ctx.secret("client_application_traffic_secret_0", keys.client_random, c_ap)
        ctx.secret("server_application_traffic_secret_0", keys.client_random, s_ap)
        ctx.secret("exporter_master_secret", keys.client_random, master.exporter_master_secret(th))
        ctx.install_read(suite, s_ap, "application", proof)
        if self.negotiated.cert_request is not None:
            send_certificate_flight(ctx, suite, keys.transcript, self.negotiated.cert_request, "client")
        verify_data = finished_verify_data(suite, keys.client_secret, keys.transcript.digest())
        fin = Finished(verify_data=verify_data)
        ctx.send_message(fin)
        keys.transcript.add(fin.raw)
        ctx.install_write(suite, c_ap, "application", proof)
        resumption = master.resumption_master_secret(keys.transcript.digest())
        ctx.secret("resumption_master_secret", keys.client_random, resumption)
        ctx.complete(PeerVerified(proof), self._parameters(ctx))
        # RFC 8446, Section 4.4: post-handshake authentication continues this transcript.
        offered_pha = _offered_hello(ctx).ext(E.post_handshake_auth) is not None
        pha = PostHandshakeAuth(keys.transcript.fork()) if offered_pha else None
        return ClientConnected13(suite, c_ap, s_ap, resumption, pha)

    def _parameters(self, ctx: Context) -> NegotiatedParameters:
        n = self.negotiated
        return NegotiatedParameters(
            version="TLSv1.3",
            cipher_suite=n.suite.name,
            group=n.group.name if n.group is not None else None,
            signature_scheme=n.signature_scheme.name if n.signature_scheme is not None else None,
            alpn=n.alpn,
            server_name=sni_name(ctx.server_name),
            peer_certificates=n.peer_chain,
            client_auth=n.cert_request is not None,
        )
