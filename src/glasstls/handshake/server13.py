"""The TLS 1.3 server handshake (RFC 8446, Section 2, Figures 1 and 2).

ClientHello          -->
                     <--  HelloRetryRequest*   (then ClientHello again)
                     <--  ServerHello
                     <--  {EncryptedExtensions}
                     <--  {CertificateRequest*}
                     <--  {Certificate}
                     <--  {CertificateVerify}
                     <--  {Finished}
{Certificate*,
 CertificateVerify*,
 Finished}           -->
[Application Data]  <->   [Application Data]

The server enters here (on_client_hello) from server.ExpectClientHello once
TLS 1.3 is the version both sides share (hello.choose_protocol_version).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..crypto import kx
from ..crypto.keyschedule13 import EarlySecret, finished_verify_data
from ..crypto.signatures import TLS13_SIGNATURE_SCHEMES, is_rsassa_pss_certificate
from ..crypto.suites import TLS13_SUITES, Suite13
from ..crypto.transcript import Transcript
from ..enums import CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme
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
from . import negotiation as N
from .base import Context, PeerVerified, State, require, traced_check, verify_finished
from .certselect import candidates, report_choice
from .common13 import certificate_verify_content, secret_reporter, send_certificate_and_verify
from .peer_auth import check_peer_signature, parse_chain, verify_client
from .post_handshake import PostHandshakeAuth, ServerConnected13
from .status import staple_for

ILLEGAL = AlertDescription.illegal_parameter
MISSING = AlertDescription.missing_extension


@dataclass
class Choice:
    """The server's decisions for this handshake."""

    suite: Suite13
    group: NamedGroup
    share: KeyShareEntry | None
    certified: Any
    scheme: SignatureScheme
    alpn: str | None
    server_name: str | None
    peer_chain: tuple = ()
    post_handshake_auth: bool = False  # the client offered it (RFC 8446, Section 4.2.6)


def on_client_hello(ctx: Context, ch: ClientHello) -> State:
    """TLS 1.3 is the version both sides share: negotiate, then a HelloRetryRequest
    (no usable key share) or the server flight."""
    ctx.set_version(ProtocolVersion.TLSv1_3)
    choice = negotiate(ctx, ch)
    transcript = Transcript()
    transcript.start(choice.suite.hash_name)
    transcript.add(ch.raw)
    if choice.share is None:
        return send_hello_retry(ctx, ch, choice, transcript)
    return send_server_flight(ctx, ch, choice, transcript, after_hrr=False)


def negotiate(ctx: Context, ch: ClientHello) -> Choice:
    """Everything the server decides from one TLS 1.3 ClientHello, checked in RFC order."""
    cfg = ctx.config
    # RFC 8446, Section 4.1.2: TLS 1.3 allows only the null compression method.
    require(tuple(ch.compression_methods) == (0,), ILLEGAL, "ClientHello offers compression other than null only")
    ours = [s for s in cfg.cipher_suites if s in TLS13_SUITES]
    suite = N.choose_suite([s for s in ch.cipher_suites if s in TLS13_SUITES], ours, cfg.prefer_client_suites)
    groups_ext, shares_ext, sigs_ext = ch.ext(E.supported_groups), ch.ext(E.key_share), ch.ext(E.signature_algorithms)
    # RFC 8446, Section 9.2: a certificate-based handshake needs these three.
    require(sigs_ext is not None, MISSING, "ClientHello has no signature_algorithms")
    require(groups_ext is not None, MISSING, "ClientHello has no supported_groups")
    require(shares_ext is not None, MISSING, "ClientHello has no key_share")
    _check_shares(shares_ext.value, groups_ext.value)
    group, share = N.choose_group(groups_ext.value, shares_ext.value, cfg.groups)
    sni = ch.ext(E.server_name)
    certified, scheme = _certificate_for(ctx, sigs_ext.value, sni.value if sni else None)
    alpn_ext = ch.ext(E.application_layer_protocol_negotiation)
    alpn = N.choose_alpn(alpn_ext.value if alpn_ext else (), cfg.alpn)
    return Choice(TLS13_SUITES[suite], group, share, certified, scheme, alpn, sni.value if sni else None)


def _certificate_for(ctx: Context, offered: Any, server_name: str | None) -> tuple[Any, SignatureScheme]:
    """The first certificate for the client's server name whose key can sign with a
    scheme the client offered (RFC 8446, Section 4.4.2.2)."""
    cfg, error = ctx.config, None
    for certified in candidates(ctx, server_name):
        try:
            scheme = N.choose_signature_scheme(
                offered, certified.private_key, cfg.signature_schemes, is_rsassa_pss_certificate(certified.chain[0])
            )
        except AlertError as exc:
            error = error or exc
            continue
        report_choice(ctx, certified, server_name)
        return certified, scheme
    assert error is not None
    raise error


def _check_shares(shares: tuple[KeyShareEntry, ...], groups: tuple[NamedGroup, ...]) -> None:
    """RFC 8446, Section 4.2.8: one share per group, each for an offered group."""
    seen: set[int] = set()
    for entry in shares:
        require(entry.group not in seen, ILLEGAL, f"ClientHello has two key shares for {entry.group.name}")
        require(entry.group in groups, ILLEGAL, f"key share for {entry.group.name}, which is not in supported_groups")
        seen.add(entry.group)


def _server_hello(
    ch: ClientHello,
    suite: CipherSuite,
    random: bytes,
    exts: tuple[Extension, ...],
    kind: type[ServerHello] = ServerHello,
) -> ServerHello:
    return kind(random=random, legacy_session_id_echo=ch.legacy_session_id, cipher_suite=suite, extensions=exts)


def send_hello_retry(ctx: Context, ch: ClientHello, choice: Choice, transcript: Transcript) -> State:
    """RFC 8446, Section 4.1.4: ask for a share of the group we chose."""
    exts = (
        Extension.make(E.supported_versions, ProtocolVersion.TLSv1_3, X.HRR),
        Extension.make(E.key_share, choice.group, X.HRR),
    )
    hrr = _server_hello(ch, choice.suite.suite, HelloRetryRequest.random, exts, HelloRetryRequest)
    transcript.replace_with_message_hash()
    ctx.send_message(hrr)
    transcript.add(hrr.raw)
    if ch.legacy_session_id:  # RFC 8446, Appendix D.4
        ctx.send_change_cipher_spec()
    return ExpectSecondClientHello(ch, choice, transcript)


class ExpectSecondClientHello(State):
    expects = (ClientHello,)
    step = "waiting for the second ClientHello"
    ccs_allowed = True
    transitions = (
        ("ClientHello", "ExpectClientFinished", "sends the server flight"),
        ("ClientHello", "ExpectClientCertificate13", "with client auth, sends the server flight"),
    )

    def __init__(self, first: ClientHello, choice: Choice, transcript: Transcript) -> None:
        self.first = first
        self.choice = choice
        self.transcript = transcript

    def handle(self, ctx: Context, ch: ClientHello) -> State:  # type: ignore[override]
        # RFC 8446, Section 4.1.2: the same hello, but for the new share (and cookie).
        require(
            ch.random == self.first.random and ch.legacy_session_id == self.first.legacy_session_id,
            ILLEGAL,
            "second ClientHello changed its random or session id",
        )
        require(self.choice.suite.suite in ch.cipher_suites, ILLEGAL, "second ClientHello dropped the chosen suite")
        shares = ch.ext(E.key_share)
        require(
            shares is not None and len(shares.value) == 1 and shares.value[0].group == self.choice.group,
            ILLEGAL,
            f"second ClientHello does not carry exactly one {self.choice.group.name} key share",
        )
        self.choice.share = shares.value[0]
        self.transcript.add(ch.raw)
        return send_server_flight(ctx, ch, self.choice, self.transcript, after_hrr=True)


def _encrypted_extensions(ctx: Context, ch: ClientHello, choice: Choice) -> EncryptedExtensions:
    cfg, exts = ctx.config, []
    if cfg.advertise_groups:
        exts.append(Extension.make(E.supported_groups, cfg.groups, X.EE))
    client_limit = ch.ext(E.record_size_limit)
    if client_limit is not None:
        ctx.set_peer_record_limit(client_limit.value)
        if cfg.record_size_limit:
            exts.append(Extension.make(E.record_size_limit, cfg.record_size_limit, X.EE))
    if choice.server_name is not None:
        exts.append(Extension.make(E.server_name, True, X.EE))  # RFC 6066, Section 3: empty = accepted
    if choice.alpn is not None:
        exts.append(Extension.make(E.application_layer_protocol_negotiation, (choice.alpn.encode(),), X.EE))
    return EncryptedExtensions(extensions=tuple(exts))


def send_server_flight(ctx: Context, ch: ClientHello, choice: Choice, transcript: Transcript, after_hrr: bool) -> State:
    """ServerHello, then {EE, Certificate, CertificateVerify, Finished} under handshake keys."""
    assert choice.share is not None
    server_share, shared = kx.encapsulate_to(choice.group, choice.share.key_exchange, ctx.randomness)
    exts = (
        Extension.make(E.key_share, KeyShareEntry(choice.group, server_share), X.SH),
        Extension.make(E.supported_versions, ProtocolVersion.TLSv1_3, X.SH),
    )
    sh = _server_hello(ch, choice.suite.suite, ctx.randomness(32), exts)
    ctx.send_message(sh)
    transcript.add(sh.raw)
    if ch.legacy_session_id and not after_hrr:  # RFC 8446, Appendix D.4
        ctx.send_change_cipher_spec()
    suite = choice.suite
    stage = EarlySecret(suite, report=secret_reporter(ctx, ch.random)).handshake_stage(shared)
    th = transcript.digest()
    c_hs, s_hs = stage.client_handshake_traffic_secret(th), stage.server_handshake_traffic_secret(th)
    ctx.install_write(suite, s_hs, "handshake")
    choice.post_handshake_auth = ch.ext(E.post_handshake_auth) is not None
    ee = _encrypted_extensions(ctx, ch, choice)
    ctx.send_message(ee)
    transcript.add(ee.raw)
    if ctx.config.client_auth != "none":
        request = _certificate_request(ctx)
        ctx.send_message(request)
        transcript.add(request.raw)
    staple = staple_for(ctx, ch, choice.certified)  # RFC 8446, Section 4.4.2.1
    send_certificate_and_verify(ctx, transcript, choice.certified, choice.scheme, "server", ocsp_staple=staple)
    fin = Finished(verify_data=finished_verify_data(suite, s_hs, transcript.digest()))
    ctx.send_message(fin)
    transcript.add(fin.raw)
    master = stage.master_stage()
    th = transcript.digest()
    c_ap, s_ap = master.client_application_traffic_secret(th), master.server_application_traffic_secret(th)
    master.exporter_master_secret(th)  # reported for the key log; exporters are not offered yet
    # RFC 8446, Section 4.4.4: the server may send (0.5-RTT) under s_ap now.
    ctx.install_write(suite, s_ap, "application")
    ctx.install_read(suite, c_hs, "handshake")
    finished = ExpectClientFinished(choice, transcript, ch.random, c_hs, (c_ap, s_ap), master)
    return ExpectClientCertificate13(finished) if ctx.config.client_auth != "none" else finished


def _certificate_request(ctx: Context) -> CertificateRequest:
    """RFC 8446, Section 4.3.2: our signature schemes and the client CAs we trust."""
    cfg = ctx.config
    schemes = tuple(s for s in cfg.signature_schemes if s in TLS13_SIGNATURE_SCHEMES)
    exts = [Extension.make(E.signature_algorithms, schemes, X.CR)]
    if cfg.client_trust_store is not None:
        names = tuple(c.subject.public_bytes() for c in cfg.client_trust_store.certificates)
        exts.append(Extension.make(E.certificate_authorities, names, X.CR))
    return CertificateRequest(certificate_request_context=b"", extensions=tuple(exts))


class ExpectClientCertificate13(State):
    """RFC 8446, Section 4.4.2: the client's answer to our CertificateRequest."""

    expects = (Certificate,)
    step = "waiting for the client's Certificate"
    ccs_allowed = True
    transitions = (
        ("Certificate", "ExpectClientCertificateVerify13"),
        ("Certificate", "ExpectClientFinished", "empty, no client certificate"),
    )

    def __init__(self, finished: ExpectClientFinished) -> None:
        self.finished = finished

    def handle(self, ctx: Context, msg: Certificate) -> State:  # type: ignore[override]
        require(msg.certificate_request_context == b"", ILLEGAL, "client Certificate has a request context")
        self.finished.transcript.add(msg.raw)
        if not msg.entries:
            # RFC 8446, Section 4.4.2.4: certificate_required when we insist.
            require(
                ctx.config.client_auth != "required",
                AlertDescription.certificate_required,
                "client sent no certificate, and this server requires one (client_auth='required')",
            )
            return self.finished
        chain = parse_chain(msg, "client")
        verify_client(ctx, chain)
        self.finished.choice.peer_chain = chain
        return ExpectClientCertificateVerify13(self.finished)


class ExpectClientCertificateVerify13(State):
    expects = (CertificateVerify,)
    step = "waiting for the client's CertificateVerify"
    ccs_allowed = True
    transitions = (("CertificateVerify", "ExpectClientFinished"),)

    def __init__(self, finished: ExpectClientFinished) -> None:
        self.finished = finished

    def handle(self, ctx: Context, msg: CertificateVerify) -> State:  # type: ignore[override]
        transcript = self.finished.transcript
        check_peer_signature(
            ctx,
            "client",
            self.finished.choice.peer_chain[0],
            msg.algorithm,
            msg.signature,
            certificate_verify_content("client", transcript.digest()),
            ctx.config.signature_schemes,
            tls13=True,
            subject="client CertificateVerify",
            success=f"{msg.algorithm.name} signature over the transcript",
            what="client CertificateVerify signature",
        )
        transcript.add(msg.raw)
        return self.finished


class ExpectClientFinished(State):
    expects = (Finished,)
    step = "waiting for the client's Finished"
    ccs_allowed = True
    transitions = (("Finished", "ServerConnected13"),)

    def __init__(
        self,
        choice: Choice,
        transcript: Transcript,
        client_random: bytes,
        c_hs: bytes,
        app_secrets: tuple[bytes, bytes],
        master: Any,
    ) -> None:
        self.choice = choice
        self.transcript = transcript
        self.client_random = client_random
        self.c_hs = c_hs
        self.app_secrets = app_secrets
        self.master = master

    def handle(self, ctx: Context, msg: Finished) -> State:  # type: ignore[override]
        suite = self.choice.suite
        expected = finished_verify_data(suite, self.c_hs, self.transcript.digest())
        proof = traced_check(
            ctx,
            "client Finished",
            "verify_data matches the transcript",
            lambda: verify_finished("client", expected, msg.verify_data),
        )
        self.transcript.add(msg.raw)
        c_ap, s_ap = self.app_secrets
        ctx.install_read(suite, c_ap, "application", proof)
        resumption = self.master.resumption_master_secret(self.transcript.digest())
        ctx.complete(PeerVerified(proof), self._parameters())
        # RFC 8446, Section 4.4: post-handshake authentication continues this transcript.
        pha = None
        if self.choice.post_handshake_auth:
            pha = PostHandshakeAuth(self.transcript.fork(), _certificate_request)
        return ServerConnected13(suite, c_ap, s_ap, resumption, pha)

    def _parameters(self) -> NegotiatedParameters:
        c = self.choice
        return NegotiatedParameters(
            version="TLSv1.3",
            cipher_suite=c.suite.name,
            group=c.group.name,
            signature_scheme=c.scheme.name,
            alpn=c.alpn,
            server_name=c.server_name,
            peer_certificates=c.peer_chain,
            client_auth=bool(c.peer_chain),
        )
