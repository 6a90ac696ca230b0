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

The ClientHello and the choice between this flight and TLS 1.2's are in
``hello.py`` and ``client.py``; from the ServerHello on, one class per state,
each reading top to bottom in the RFC's order of checks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cryptography import x509

from ..crypto import kx
from ..crypto.keyschedule13 import EarlySecret, HandshakeSecret, finished_verify_data
from ..crypto.suites import TLS13_SUITES, Suite13
from ..crypto.transcript import Transcript
from ..enums import ExtensionType as E
from ..enums import NamedGroup, ProtocolVersion, SignatureScheme
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
from .admission import admit_extensions
from .base import Context, PeerVerified, State, require, traced_check, verify_finished
from .common13 import certificate_verify_content, secret_reporter, send_certificate_flight
from .hello import KeyShares, key_share_entries, offered_signature_schemes, sni_name
from .peer_auth import check_peer_signature, parse_chain, peer_subject, verify_server
from .post_handshake import ClientConnected13, PostHandshakeAuth
from .status import check_server_status, leaf_staple

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


def check_server_hello(sh: ServerHello, hello: ClientHello, retried: HelloRetryRequest | None) -> Suite13:
    """What a TLS 1.3 ServerHello and a HelloRetryRequest share (RFC 8446, Sections 4.1.3 and 4.1.4)."""
    versions = sh.ext(E.supported_versions)
    if versions is None:
        raise AlertError(
            AlertDescription.protocol_version,
            f"server chose {sh.legacy_version.label} without supported_versions after a HelloRetryRequest, "
            "or in one: both must select TLS 1.3 (RFC 8446, Section 4.1.4)",
        )
    require(versions.value == ProtocolVersion.TLSv1_3, ILLEGAL, f"server selected {versions.value.label}, not offered")
    require(sh.legacy_version == ProtocolVersion.TLSv1_2, ILLEGAL, "ServerHello legacy_version is not 0x0303")
    require(
        sh.legacy_session_id_echo == hello.legacy_session_id,
        ILLEGAL,
        "ServerHello does not echo the session id",
    )
    require(sh.cipher_suite in hello.cipher_suites, ILLEGAL, f"server chose {sh.cipher_suite.name}, not offered")
    require(sh.compression_method == 0, ILLEGAL, "ServerHello compression method is not null")
    if retried is not None:
        require(not isinstance(sh, HelloRetryRequest), AlertDescription.unexpected_message, "second HelloRetryRequest")
        require(sh.cipher_suite == retried.cipher_suite, ILLEGAL, "ServerHello suite differs from the HRR's")
    return TLS13_SUITES[sh.cipher_suite]


def answer_hello_retry(
    ctx: Context, hello: ClientHello, shares: KeyShares, transcript: Transcript, hrr: HelloRetryRequest, suite: Suite13
) -> tuple[ClientHello, KeyShares]:
    """RFC 8446, Section 4.1.4: answer a HelloRetryRequest with a second ClientHello (sent here)."""
    admit_extensions(hrr.extensions, hello, _HRR_EXTENSIONS, "HelloRetryRequest")
    group_ext = hrr.ext(E.key_share)
    cookie = hrr.ext(E.cookie)
    require(group_ext is not None or cookie is not None, ILLEGAL, "HelloRetryRequest would not change the ClientHello")
    exts = [e for e in hello.extensions if e.type not in (E.key_share, E.early_data, E.cookie)]
    if group_ext is not None:
        group = group_ext.value
        require(group in ctx.config.groups, ILLEGAL, f"HRR asks for {group.name}, which the client did not offer")
        require(group not in shares, ILLEGAL, f"HRR asks for {group.name}, for which a share was already sent")
        shares = {group: kx.generate_key_share(group, ctx.randomness)}
    key_share = Extension.make(E.key_share, key_share_entries(shares), X.CH)
    at = [e.type for e in exts].index(E.supported_versions)
    exts.insert(at, key_share)
    if cookie is not None:
        exts.insert(at + 1, Extension(E.cookie, cookie.data, cookie.value))
    hello2 = replace(hello, extensions=tuple(exts))
    transcript.start(suite.hash_name)
    transcript.replace_with_message_hash()
    transcript.add(hrr.raw)
    if ctx.config.middlebox_compat:
        ctx.send_change_cipher_spec()
    ctx.send_message(hello2)
    transcript.add(hello2.raw)
    return hello2, shares


def on_server_hello(
    ctx: Context,
    hello: ClientHello,
    shares: KeyShares,
    transcript: Transcript,
    sh: ServerHello,
    suite: Suite13,
    retried: HelloRetryRequest | None,
) -> State:
    """RFC 8446, Section 4.1.3: the key share answers ours; handshake keys from here on."""
    admit_extensions(sh.extensions, hello, _SERVER_HELLO_EXTENSIONS, "ServerHello")
    share_ext = sh.ext(E.key_share)
    require(share_ext is not None, AlertDescription.missing_extension, "ServerHello has no key_share")
    entry: KeyShareEntry = share_ext.value
    require(entry.group in shares, ILLEGAL, f"server chose {entry.group.name}, for which no share was sent")
    shared = shares[entry.group].exchange(entry.key_exchange)
    if not transcript.started:
        transcript.start(suite.hash_name)
    transcript.add(sh.raw)
    early = EarlySecret(suite, report=secret_reporter(ctx, hello.random))
    keys = HandshakeKeys.derive(ctx, suite, early.handshake_stage(shared), transcript, hello)
    keys.install_client(ctx, replace_ccs=retried is None)
    return ExpectEncryptedExtensions(keys, Negotiated(suite=suite, group=entry.group))


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
        admit_extensions(ee.extensions, hello, _EE_EXTENSIONS, "EncryptedExtensions")
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


class ExpectCertificateVerify(State):
    expects = (CertificateVerify,)
    step = "waiting for the server's CertificateVerify"
    ccs_allowed = True
    transitions = (("CertificateVerify", "ExpectFinished"),)

    def __init__(self, keys: HandshakeKeys, negotiated: Negotiated) -> None:
        self.keys = keys
        self.negotiated = negotiated

    def handle(self, ctx: Context, msg: CertificateVerify) -> State:  # type: ignore[override]
        # RFC 8446, Section 4.4.3: a scheme we offered, legal in TLS 1.3, fitting the key.
        check_peer_signature(
            ctx,
            "server",
            self.negotiated.peer_chain[0],
            msg.algorithm,
            msg.signature,
            certificate_verify_content("server", self.keys.transcript.digest()),
            offered_signature_schemes(ctx.config),
            tls13=True,
            subject="server CertificateVerify",
            success=f"{msg.algorithm.name} signature over the transcript verifies with the certificate key",
            what="server CertificateVerify signature",
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
        master.exporter_master_secret(th)  # reported for the key log; exporters are not offered yet
        ctx.install_read(suite, s_ap, "application", proof)
        if self.negotiated.cert_request is not None:
            send_certificate_flight(ctx, suite, keys.transcript, self.negotiated.cert_request, "client")
        verify_data = finished_verify_data(suite, keys.client_secret, keys.transcript.digest())
        fin = Finished(verify_data=verify_data)
        ctx.send_message(fin)
        keys.transcript.add(fin.raw)
        ctx.install_write(suite, c_ap, "application", proof)
        resumption = master.resumption_master_secret(keys.transcript.digest())
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
