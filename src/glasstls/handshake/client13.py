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

from dataclasses import dataclass, field

from ..config import ClientConfig
from ..crypto import kx
from ..crypto.keyschedule13 import EarlySecret, HandshakeSecret, finished_verify_data
from ..crypto.suites import TLS13_SUITES, Suite13
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, NamedGroup, ProtocolVersion, SignatureScheme
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..events import NegotiatedParameters
from ..frozen import dict_init
from ..wire import extensions as X
from ..wire.extensions import Extension, KeyShareEntry
from ..wire.handshake import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    EncryptedExtensions,
    Finished,
    HelloRetryRequest,
    ServerHello,
)
from . import early13, psk13
from .admission import CERTIFICATE_REQUEST_EXTENSIONS, admit_extensions, refuse_misplaced
from .base import AnyState, Context, PeerVerified, State, checked_finished, require
from .common13 import certificate_verify_content, received_certificate, secret_reporter, send_certificate_flight
from .hello import KeyShares, key_share_entries, offered_signature_schemes, shape_client_hello
from .peer_auth import Chain, check_peer_signature, der_chain, parse_chain, parse_der_chain, peer_subject, verify_server
from .post_handshake import ClientConnected13, PostHandshakeAuth, TrafficSecrets
from .psk13 import PskOffer, SessionBasis
from .status import check_server_status, leaf_staple

ILLEGAL = AlertDescription.illegal_parameter
# Enum members looked up on their class go through EnumType's attribute hook: those every
# handshake asks for, once, here.
_KEY_SHARE, _RECORD_SIZE_LIMIT = E.key_share, E.record_size_limit
_ALPN, _POST_HANDSHAKE_AUTH = E.application_layer_protocol_negotiation, E.post_handshake_auth
_SUPPORTED_VERSIONS = E.supported_versions
_TLS13, _TLS12 = ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2
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


def check_server_hello(
    sh: ServerHello, hello: ClientHello, retried: HelloRetryRequest | None, versions: Extension | None
) -> Suite13:
    """What a TLS 1.3 ServerHello and a HelloRetryRequest share (RFC 8446, Sections 4.1.3 and 4.1.4).
    ``versions``: its supported_versions extension (``sh.ext``, which the caller asked already)."""
    if versions is None:
        raise AlertError(
            AlertDescription.protocol_version,
            f"server chose {sh.legacy_version.label} without supported_versions after a HelloRetryRequest, "
            "or in one: both must select TLS 1.3 (RFC 8446, Section 4.1.4)",
        )
    if hello.ext(_SUPPORTED_VERSIONS) is None:
        # A ClientHello without supported_versions offers TLS 1.2 at most (RFC 8446, Section 4.2.1): the
        # extension is unsolicited (RFC 8446, Section 4.2; RFC 5246, Section 7.4.1.4), as OpenSSL answers.
        kind = "a HelloRetryRequest" if isinstance(sh, HelloRetryRequest) else "a ServerHello"
        raise AlertError(
            AlertDescription.unsupported_extension,
            f"the server answered with TLS 1.3 ({kind} with supported_versions), which this client did not "
            "offer: its highest version is TLS 1.2",
        )
    # (Tests written out, not require(): its message would be formatted in every handshake, and
    # each require() is a call, three fewer in every handshake.)
    if versions.value != _TLS13:
        raise AlertError(ILLEGAL, f"server selected {versions.value.label}, not offered")
    # With supported_versions present, RFC 8446, Section 4.2.1 has clients ignore sh.legacy_version (a
    # server MUST send 0x0303, Section 4.1.3), save that Appendix D.5 makes 0x0300 or below protocol_version
    # for any endpoint, as OpenSSL answers (and glasstls's server, hello.choose_protocol_version).
    if sh.legacy_version <= 0x0300:
        raise AlertError(
            AlertDescription.protocol_version,
            f"ServerHello legacy_version is {sh.legacy_version.label}: SSL 3.0 or older (RFC 8446, Appendix D.5)",
        )
    if sh.legacy_session_id_echo != hello.legacy_session_id:
        raise AlertError(ILLEGAL, "ServerHello does not echo the session id")
    suite = TLS13_SUITES.get(sh.cipher_suite)
    if sh.cipher_suite not in hello.cipher_suites or suite is None:
        # RFC 8446, Section 4.1.3: a suite offered, and one of TLS 1.3's (a TLS 1.2 suite offered
        # beside them is no answer to a TLS 1.3 hello).
        raise AlertError(ILLEGAL, f"server chose {sh.cipher_suite.name}, not offered for TLS 1.3")
    if sh.compression_method != 0:
        raise AlertError(ILLEGAL, "ServerHello compression method is not null")
    if retried is not None:
        require(not isinstance(sh, HelloRetryRequest), AlertDescription.unexpected_message, "second HelloRetryRequest")
        require(sh.cipher_suite == retried.cipher_suite, ILLEGAL, "ServerHello suite differs from the HRR's")
    return suite


def answer_hello_retry(
    ctx: Context,
    hello: ClientHello,
    shares: KeyShares,
    transcript: Transcript,
    hrr: HelloRetryRequest,
    suite: Suite13,
    psk: PskOffer | None = None,
) -> tuple[ClientHello, KeyShares, PskOffer | None]:
    """RFC 8446, Section 4.1.4: answer a HelloRetryRequest with a second ClientHello (sent here),
    its PSK (if any) bound anew to the transcript so far."""
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
    hello2 = hello.with_extensions(tuple(exts))
    transcript.start(suite.hash_name)
    transcript.replace_with_message_hash()
    transcript.add(hrr.raw)
    hello2, psk = psk13.rebind_after_retry(ctx, hello2, psk, transcript, suite)
    shaped = shape_client_hello(ctx, hello2)  # configured order and padding, then the binder again
    if shaped is not hello2:
        hello2 = psk13.bind(ctx, shaped, psk, transcript) if psk is not None else shaped
    if ctx.config.middlebox_compat:
        ctx.send_change_cipher_spec()
    ctx.send_message(hello2)
    transcript.add(hello2.raw)
    return hello2, shares, psk


def on_server_hello(
    ctx: Context,
    hello: ClientHello,
    shares: KeyShares,
    transcript: Transcript,
    sh: ServerHello,
    suite: Suite13,
    retried: HelloRetryRequest | None,
    psk: PskOffer | None = None,
) -> AnyState:
    """RFC 8446, Section 4.1.3: the key share answers ours, the PSK (Section 4.2.11) is
    accepted or not; handshake keys from here on."""
    admit_extensions(sh.extensions, hello, _SERVER_HELLO_EXTENSIONS, "ServerHello")
    accepted = psk13.accepted_psk(ctx, sh, psk, suite)
    share_ext = sh.ext(_KEY_SHARE)
    psk13.check_key_exchange(accepted, share_ext is not None)
    group, shared = None, None  # psk_ke: no (EC)DHE (Section 4.2.9)
    if share_ext is not None:
        entry: KeyShareEntry = share_ext.value
        if entry.group not in shares:
            raise AlertError(ILLEGAL, f"server chose {entry.group.name}, for which no share was sent")
        group, shared = entry.group, shares[entry.group].exchange(entry.key_exchange)
    if not transcript.started:
        transcript.start(suite.hash_name)
    transcript.add(sh.raw)
    report = secret_reporter(ctx, hello.random)
    # The offered PSK's early secret, extracted for its binder (psk13.bind), under the chosen suite.
    early = accepted.early.reporting(report, suite) if accepted is not None else EarlySecret(suite, None, report)
    keys = HandshakeKeys.derive(suite, early.handshake_stage(shared), transcript)
    keys.install(ctx, first_encrypted_flight=retried is None)
    return ExpectEncryptedExtensions(keys, group, accepted)


@dict_init
@dataclass(frozen=True)
class HandshakeKeys:
    """From the ServerHello to the server's Finished (RFC 8446, Section 7.1): the
    handshake stage of the key schedule, both handshake traffic secrets, and the
    transcript, which each state adds its message to and hands on to the next."""

    suite: Suite13
    stage: HandshakeSecret = field(repr=False)
    transcript: Transcript
    client_secret: bytes = field(repr=False)
    server_secret: bytes = field(repr=False)

    @classmethod
    def derive(cls, suite: Suite13, stage: HandshakeSecret, transcript: Transcript) -> HandshakeKeys:
        th = transcript.digest()
        c_hs = stage.client_handshake_traffic_secret(th)
        s_hs = stage.server_handshake_traffic_secret(th)
        return cls(suite, stage, transcript, c_hs, s_hs)

    def install(self, ctx: Context, first_encrypted_flight: bool) -> None:
        config: ClientConfig = ctx.config
        ctx.install_read(self.suite, self.server_secret, "handshake")
        if early13.client_keeps_early_keys(ctx):
            return  # 0-RTT: the early keys write until EndOfEarlyData (RFC 8446, Section 4.5)
        # RFC 8446, Appendix D.4: a compatibility-mode client sends one dummy
        # change_cipher_spec before its first encrypted record (after a
        # HelloRetryRequest it already has, before its second ClientHello).
        if config.middlebox_compat and first_encrypted_flight:
            ctx.send_change_cipher_spec()
        ctx.install_write(self.suite, self.client_secret, "handshake")


@dict_init
@dataclass(frozen=True)
class ServerChoices:
    """What the server chose and the client accepted before the server proved who it
    is: the key exchange group (ServerHello) and the application protocol
    (EncryptedExtensions; None: no ALPN). The suite is in :class:`HandshakeKeys`."""

    group: NamedGroup | None  # None: a psk_ke handshake, without (EC)DHE
    alpn: str | None


def offered_hello(ctx: Context) -> ClientHello:
    """The ClientHello this client sent last (the one the server's flight answers)."""
    hello: ClientHello | None = ctx.offered_hello
    assert hello is not None  # the client sent it before the server could answer
    return hello


@dict_init
@dataclass(frozen=True, eq=False, repr=False)
class ExpectEncryptedExtensions(State[EncryptedExtensions]):
    expects = (EncryptedExtensions,)
    step = "waiting for EncryptedExtensions"
    ccs_allowed = True
    transitions = (
        ("EncryptedExtensions", "ExpectCertificateOrRequest"),
        ("EncryptedExtensions", "ExpectFinished", "PSK accepted: no certificate"),
    )

    keys: HandshakeKeys
    group: NamedGroup | None
    psk: PskOffer | None = None  # the PSK the server accepted

    def handle(self, ctx: Context, ee: EncryptedExtensions) -> AnyState:
        hello = offered_hello(ctx)
        admit_extensions(ee.extensions, hello, _EE_EXTENSIONS, "EncryptedExtensions")
        alpn = _accepted_alpn(ee, hello)
        limit = ee.ext(_RECORD_SIZE_LIMIT)
        if limit is not None:
            ctx.set_peer_record_limit(limit.value)
            if ctx.config.record_size_limit:  # ours, which the hello offered: from the next record on
                ctx.limit_incoming_records(ctx.config.record_size_limit)
        early13.client_encrypted_extensions(ctx, ee, self.psk, self.keys.suite)  # 0-RTT accepted or not
        self.keys.transcript.add(ee.raw)
        choices = ServerChoices(self.group, alpn)
        if self.psk is not None:
            # RFC 8446, Sections 2.2 and 4.3.2: the PSK authenticates the server; no
            # CertificateRequest either. A ticket's session keeps the original chain.
            session = self.psk.session
            chain = parse_der_chain(session.peer_certificates, "server") if session is not None else ()
            return ExpectFinished(self.keys, choices, None, chain, None, self.psk)
        return ExpectCertificateOrRequest(self.keys, choices)


def _accepted_alpn(ee: EncryptedExtensions, hello: ClientHello) -> str | None:
    """RFC 7301, Section 3.1: exactly one protocol, one the client offered."""
    selected = ee.ext(_ALPN)
    if selected is None:
        return None
    offered = hello.ext(_ALPN)  # admit_extensions saw it offered
    require(len(selected.value) == 1, ILLEGAL, "server selected more than one ALPN protocol")
    protocol: bytes = selected.value[0]
    if offered is None or protocol not in offered.value:  # (its reason formatted only then)
        raise AlertError(ILLEGAL, f"server selected ALPN {protocol!r}, which the client did not offer")
    return protocol.decode("utf-8", "replace")  # (one the client offered: its own name, as it encoded it)


@dict_init
@dataclass(frozen=True, eq=False, repr=False)
class ExpectCertificateOrRequest(State[Certificate | CompressedCertificate | CertificateRequest]):
    expects = (Certificate, CompressedCertificate, CertificateRequest)
    step = "waiting for the server's Certificate"
    ccs_allowed = True
    transitions = (
        ("CertificateRequest", "ExpectCertificate"),
        ("Certificate", "ExpectCertificateVerify"),
        ("CompressedCertificate", "ExpectCertificateVerify"),
    )

    keys: HandshakeKeys
    choices: ServerChoices

    def handle(self, ctx: Context, msg: Certificate | CompressedCertificate | CertificateRequest) -> AnyState:
        if isinstance(msg, CertificateRequest):
            # RFC 8446, Section 4.3.2: empty context; signature_algorithms required.
            require(msg.certificate_request_context == b"", ILLEGAL, "CertificateRequest context is not empty")
            require(
                msg.ext(E.signature_algorithms) is not None,
                AlertDescription.missing_extension,
                "CertificateRequest has no signature_algorithms",
            )
            refuse_misplaced(msg.extensions, CERTIFICATE_REQUEST_EXTENSIONS, "CertificateRequest")
            self.keys.transcript.add(msg.raw)
            return ExpectCertificate(self.keys, self.choices, msg)  # (the request)
        return ExpectCertificate(self.keys, self.choices, None).handle(ctx, msg)  # (no request)


@dict_init
@dataclass(frozen=True, eq=False, repr=False)
class ExpectCertificate(State[Certificate | CompressedCertificate]):
    """The server's Certificate, compressed or not (RFC 8879, Section 4)."""

    expects = (Certificate, CompressedCertificate)
    step = "waiting for the server's Certificate"
    ccs_allowed = True
    transitions = (
        ("Certificate", "ExpectCertificateVerify"),
        ("CompressedCertificate", "ExpectCertificateVerify"),
    )

    keys: HandshakeKeys
    choices: ServerChoices
    certificate_request: CertificateRequest | None  # None: the server asked for no client certificate

    def handle(self, ctx: Context, received: Certificate | CompressedCertificate) -> AnyState:
        config: ClientConfig = ctx.config
        msg = received_certificate(ctx, received, "server CompressedCertificate")
        require(msg.certificate_request_context == b"", ILLEGAL, "server Certificate has a request context")
        # RFC 8446, Section 4.4.2.4: an empty server Certificate is a decode_error.
        require(bool(msg.entries), AlertDescription.decode_error, "server sent an empty Certificate message")
        chain = parse_chain(msg, "server")
        staple = leaf_staple(ctx, msg)  # RFC 8446, Section 4.4.2.1
        if config.dangerous.skip_server_verification:
            ctx.verified(peer_subject(chain[0]), True, "verification skipped (insecure)")
        else:
            verified = verify_server(ctx, chain)
            check_server_status(ctx, verified.path, staple)
        self.keys.transcript.add(msg.raw)
        return ExpectCertificateVerify(self.keys, self.choices, self.certificate_request, chain)


@dict_init
@dataclass(frozen=True, eq=False, repr=False)
class ExpectCertificateVerify(State[CertificateVerify]):
    expects = (CertificateVerify,)
    step = "waiting for the server's CertificateVerify"
    ccs_allowed = True
    transitions = (("CertificateVerify", "ExpectFinished"),)

    keys: HandshakeKeys
    choices: ServerChoices
    certificate_request: CertificateRequest | None
    server_chain: Chain  # leaf first, never empty

    def handle(self, ctx: Context, msg: CertificateVerify) -> AnyState:
        # RFC 8446, Section 4.4.3: a scheme we offered, legal in TLS 1.3, fitting the key.
        check_peer_signature(
            ctx,
            "server",
            self.server_chain[0],
            msg.algorithm,
            msg.signature,
            certificate_verify_content("server", self.keys.transcript.digest()),
            offered_signature_schemes(ctx.config),
            tls13=True,
            subject="server CertificateVerify",
            # (_name_: an Enum's name is a descriptor call each time it is read.)
            success=f"{msg.algorithm._name_} signature over the transcript verifies with the certificate key",
            what="server CertificateVerify signature",
        )
        self.keys.transcript.add(msg.raw)
        return ExpectFinished(self.keys, self.choices, self.certificate_request, self.server_chain, msg.algorithm)


@dict_init
@dataclass(frozen=True, eq=False, repr=False)
class ExpectFinished(State[Finished]):
    expects = (Finished,)
    step = "waiting for the server's Finished"
    ccs_allowed = True
    transitions = (("Finished", "ClientConnected13", "sends [Certificate, CertificateVerify,] Finished"),)

    keys: HandshakeKeys
    choices: ServerChoices
    certificate_request: CertificateRequest | None
    server_chain: Chain  # empty: an external PSK authenticated the server
    server_scheme: SignatureScheme | None  # what its CertificateVerify was signed with; None: a PSK handshake
    psk: PskOffer | None = None  # the PSK the server accepted

    def handle(self, ctx: Context, msg: Finished) -> AnyState:
        keys, suite = self.keys, self.keys.suite
        # RFC 8446, Section 4.4.4: keyed by the server's handshake traffic secret.
        expected = finished_verify_data(suite, keys.server_secret, keys.transcript.digest())
        proof = checked_finished(ctx, "server", expected, msg.verify_data)
        keys.transcript.add(msg.raw)
        master = keys.stage.master_stage()
        th = keys.transcript.digest()
        c_ap = master.client_application_traffic_secret(th)
        s_ap = master.server_application_traffic_secret(th)
        # RFC 8446, Section 7.5: derived now, as the master secret is not kept (test_key_hygiene.py).
        exporter = master.exporter_master_secret(th)
        ctx.install_read(suite, s_ap, "application", proof)
        authenticated = self._send_client_flight(ctx, th)
        ctx.install_write(suite, c_ap, "application", proof)
        resumption = master.resumption_master_secret(keys.transcript.digest())
        ctx.complete(PeerVerified(proof), self._parameters(ctx, authenticated))
        traffic = TrafficSecrets(suite, c_ap, s_ap, exporter)
        pha = self._post_handshake_auth(ctx)
        basis = self._session_basis(ctx)
        return ClientConnected13(traffic, resumption, proof, pha, basis)  # (no keyword: see _parameters)

    def _session_basis(self, ctx: Context) -> SessionBasis:
        """What the server's tickets will resume (RFC 8446, Section 4.6.1): a resumed connection's is its
        ticket's session's chain, whose DER the session holds already."""
        session = self.psk.session if self.psk is not None else None
        chain = session.peer_certificates if session is not None else der_chain(self.server_chain)
        return SessionBasis(ctx.offered_sni, self.choices.alpn, chain)

    def _send_client_flight(self, ctx: Context, through_server_finished: bytes) -> bool:
        """RFC 8446, Section 4.4: [Certificate, CertificateVerify,] Finished, under handshake keys.
        ``through_server_finished``: the transcript hash so far, which the Finished covers when
        neither EndOfEarlyData (no early data in play) nor a certificate flight comes before it.
        True when the client authenticated with a certificate (not when it answered with an empty one)."""
        keys = self.keys
        th = through_server_finished
        authenticated = False
        if ctx.early is not None or self.certificate_request is not None:
            early13.client_end_early_data(ctx, keys.suite, keys.client_secret, keys.transcript)
            if self.certificate_request is not None:
                authenticated = send_certificate_flight(
                    ctx, keys.suite, keys.transcript, self.certificate_request, "client"
                )
            th = keys.transcript.digest()
        verify_data = finished_verify_data(keys.suite, keys.client_secret, th)
        fin = Finished(verify_data)
        ctx.send_message(fin)
        keys.transcript.add(fin.raw)
        return authenticated

    def _post_handshake_auth(self, ctx: Context) -> PostHandshakeAuth | None:
        """RFC 8446, Section 4.4: post-handshake authentication continues this transcript,
        when the client offered it (Section 4.2.6)."""
        if offered_hello(ctx).ext(_POST_HANDSHAKE_AUTH) is None:
            return None
        return PostHandshakeAuth(self.keys.transcript.fork())

    def _parameters(self, ctx: Context, authenticated: bool) -> NegotiatedParameters:
        # Positionally, in the fields' order: a class called with keywords gets them as a dict
        # (some 4,800 instructions more for these ten). The members' _name_: an Enum's name is
        # a descriptor call each time it is read.
        group, scheme, psk = self.choices.group, self.server_scheme, self.psk
        return NegotiatedParameters(
            "TLSv1.3",  # version
            self.keys.suite.name,  # cipher_suite
            group._name_ if group is not None else None,  # group
            scheme._name_ if scheme is not None else None,  # signature_scheme
            self.choices.alpn,  # alpn
            ctx.offered_sni,  # server_name: sni_name(ctx.server_name), as the connection keeps it
            self.server_chain,  # peer_certificates
            psk is not None and not psk.external,  # resumed
            # client_auth: the client proved a certificate, as in TLS 1.2 (common12.py) and on the
            # server's side; a CertificateRequest answered with an empty Certificate (RFC 8446,
            # Section 4.4.2) is no client authentication.
            authenticated,
            None,  # extended_master_secret: TLS 1.2 only
            psk.kind if psk is not None else None,  # psk
        )
