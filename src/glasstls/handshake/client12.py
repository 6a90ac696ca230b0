"""The TLS 1.2 client handshake (RFC 5246, Section 7.3; RFC 5077, Section 3.1).

Full handshake:                               Abbreviated (session ID or ticket):

    ClientHello          -->                      ClientHello          -->
                         <--  ServerHello                              <--  ServerHello
                         <--  Certificate                              <--  [NewSessionTicket]
                         <--  CertificateStatus*                       <--  [ChangeCipherSpec]
                         <--  ServerKeyExchange*                       <--  Finished
                         <--  CertificateRequest* [ChangeCipherSpec]
                         <--  ServerHelloDone     Finished         -->
    Certificate*
    ClientKeyExchange
    CertificateVerify*
    [ChangeCipherSpec]
    Finished             -->
                         <--  [NewSessionTicket*]
                         <--  [ChangeCipherSpec]
                         <--  Finished

The client enters here (on_server_hello) from client.ExpectServerHello when the
ServerHello carries no supported_versions extension: the server chose TLS 1.2.

Each state holds ``s``, the one :class:`~.common12.Handshake12` of the
connection, and only what it alone needs (whether a CertificateStatus may
come, the server's key share, its CertificateRequest, the session being
resumed, a new ticket), handed on as typed values from state to state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..config import CertifiedKey, ClientConfig
from ..crypto import dhe12, kx
from ..crypto.signatures import ecdsa_group, key_kind, sign
from ..crypto.suites import TLS12_SUITES, Suite12
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, HandshakeType, NamedGroup, ProtocolVersion, SignatureScheme
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..session.state import MAX_OFFERABLE_TICKET, SessionState
from ..wire.extensions import Extension
from ..wire.handshake import (
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    CertificateVerify,
    ClientHello,
    Finished,
    Handshake,
    ServerHello,
)
from ..wire.handshake12 import (
    TLS12_PARSERS,
    Certificate12,
    CertificateRequest12,
    CertificateStatus,
    ClientKeyExchange,
    HelloRequest,
    NewSessionTicket12,
    ServerDHParams,
    ServerECDHParams,
    ServerHelloDone,
    ServerKeyExchange,
)
from .admission import admit_extensions
from .base import AnyState, Context, PeerVerified, State, require
from .certselect import client_certificate_for
from .common12 import (
    DEFAULT_TICKET_LIFETIME,
    Connected12,
    Handshake12,
    KeyedHandshake12,
    refuse_renegotiation_info,
)
from .hello import offered_signature_schemes
from .peer_auth import check_peer_signature, der_chain, parse_der_chain, peer_subject, verify_server
from .status import check_server_status

ILLEGAL = AlertDescription.illegal_parameter
FAILURE = AlertDescription.handshake_failure
# RFC 5246 and its extensions: what a TLS 1.2 ServerHello may carry.
_SERVER_HELLO_EXTENSIONS = {
    E.supported_groups,  # (not RFC 8422's in a ServerHello, but offered: ignored, as OpenSSL and BoringSSL do)
    E.renegotiation_info,
    E.extended_master_secret,
    E.ec_point_formats,
    E.session_ticket,
    E.application_layer_protocol_negotiation,
    E.server_name,
    E.encrypt_then_mac,
    E.status_request,
    E.record_size_limit,
    E.max_fragment_length,
}
# Enum members read on every handshake's path, read once here: each E.name is a descriptor call.
TLS12, TLS13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
_RENEGOTIATION_INFO, _EMS, _ETM = E.renegotiation_info, E.extended_master_secret, E.encrypt_then_mac
_POINT_FORMATS = E.ec_point_formats
_ALPN, _SESSION_TICKET = E.application_layer_protocol_negotiation, E.session_ticket
_RECORD_SIZE_LIMIT, _STATUS_REQUEST = E.record_size_limit, E.status_request
_NEW_SESSION_TICKET, _FINISHED = HandshakeType.new_session_ticket, HandshakeType.finished
M = TypeVar("M", bound=Handshake)  # the message(s) a state waits for


class ClientState12(State[M]):
    """A TLS 1.2 client state: TLS 1.2's messages, and HelloRequest ignored while negotiating."""

    parsers = TLS12_PARSERS
    ccs_allowed = False

    def accept(self, ctx: Context, msg: Handshake) -> AnyState:
        # RFC 5246, Section 7.4.1.1: a HelloRequest while negotiating is ignored (and not hashed).
        if isinstance(msg, HelloRequest) and not self.handshake_done:
            return self
        return super().accept(ctx, msg)

    def takes(self, msg_type: int) -> bool:
        return (msg_type == HelloRequest.msg_type and not self.handshake_done) or super().takes(msg_type)


@dataclass(frozen=True)
class ServerShare:
    """The (EC)DHE share of a ServerKeyExchange whose signature checked (RFC 8422,
    Section 5.4; RFC 5246, Section 7.4.3): the group and the server's public value."""

    group: NamedGroup | None  # None: a DHE group with no code point (RFC 3526's, a server's own)
    public: bytes  # DHE: left-padded to the length of p
    dhe: dhe12.DHEGroup | None = None  # DHE: the group, as (p, g)


@dataclass(frozen=True)
class ServerKeys12:
    """What the client's ClientKeyExchange answers (RFC 5246, Section 7.4.7)."""

    kx: str  # the suite's key exchange: "ECDHE", "DHE" or "RSA"
    peer_chain: tuple[x509.Certificate, ...]  # RSA key transport encrypts to the leaf's key
    share: ServerShare | None  # (EC)DHE: the ServerKeyExchange's share; None for RSA


# -- ServerHello --------------------------------------------------------------------


def on_server_hello(ctx: Context, hello: ClientHello, sh: ServerHello, transcript: Transcript) -> AnyState:
    """The server chose TLS 1.2 (or below): check everything RFC 5246 and the
    downgrade protections ask of its ServerHello, then branch full/abbreviated."""
    config: ClientConfig = ctx.config
    _check_version(config, sh)
    # Raised, not require()d, here and below on every handshake's path: require() would
    # format its reason (an enum's name, a hex number) even when the check passes.
    if sh.cipher_suite not in hello.cipher_suites or sh.cipher_suite not in TLS12_SUITES:
        raise AlertError(ILLEGAL, f"server chose {sh.cipher_suite.name}, which the client did not offer for TLS 1.2")
    require(sh.compression_method == 0, ILLEGAL, "ServerHello compression method is not null")
    ctx.set_version(TLS12)
    # The ServerHello's extensions by type, for the checks and settlements below (a dozen sh.ext
    # walks otherwise); read_extensions refused a repeated type, so each has one.
    found = {ext.type: ext for ext in sh.extensions}
    _check_extensions(hello, sh, found)
    if _RENEGOTIATION_INFO not in found and not config.legacy_server_connect:
        raise AlertError(FAILURE, _NO_SECURE_RENEGOTIATION)
    hs = _settled(ctx, config, hello, sh, transcript, found)
    limit = found.get(_RECORD_SIZE_LIMIT)
    if limit is not None:
        ctx.set_peer_record_limit_12(limit.value)
        if config.record_size_limit:  # (ours, which the hello offered: from the server's ChangeCipherSpec on)
            ctx.limit_incoming_records(config.record_size_limit)
    offered = ctx.offered_session
    if offered is not None and offered.version != TLS12:
        offered = None  # a TLS 1.3 ticket, offered as a PSK: nothing a TLS 1.2 server can echo
    if offered is not None and hello.legacy_session_id and sh.legacy_session_id_echo == hello.legacy_session_id:
        return _resume(ctx, hs, offered)
    if offered is not None:  # RFC 5246, Section 7.4.1.3: a new session ID (or none) declines it
        how = "ticket" if offered.ticket else "session ID"
        ctx.verified("session", False, f"the server declined the session offered by {how}: a full handshake")
    # RFC 6066, Section 8: an empty status_request announces a CertificateStatus after Certificate.
    return ExpectCertificate12(hs, status_expected=_STATUS_REQUEST in found)


def _check_version(config: ClientConfig, sh: ServerHello) -> None:
    if sh.legacy_version < TLS12:
        raise AlertError(
            AlertDescription.protocol_version,
            f"server wants {sh.legacy_version.label}; glasstls speaks only TLS 1.2 and 1.3 "
            f"({sh.legacy_version.retired_by} retired {sh.legacy_version.label})",
        )
    if sh.legacy_version != TLS12:
        # Above TLS 1.2 without supported_versions (TLS 1.3 is chosen only through it: RFC 8446,
        # Section 4.2.1): a version this client does not speak, which RFC 5246, Appendix E.1 answers
        # with protocol_version, as OpenSSL does.
        raise AlertError(
            AlertDescription.protocol_version,
            f"ServerHello version {sh.legacy_version:#06x} without supported_versions: not a version this client "
            "speaks (TLS 1.3 is chosen through supported_versions alone)",
        )
    if TLS12 not in config.versions:
        why = "tls_min" if config.tls_min > TLS12 else "no TLS 1.2 cipher suite is configured"
        raise AlertError(
            AlertDescription.protocol_version, f"server chose TLS 1.2, which this client does not offer ({why})"
        )
    # RFC 8446, Section 4.1.3: a TLS 1.3 server forced down to 1.2 (or below) says so in its random;
    # a client that offered 1.3 checks for both values (as OpenSSL does; Go and BoringSSL look for
    # the second only below TLS 1.2, which glasstls never speaks).
    if TLS13 in config.versions and sh.random[-8:] in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
        raise AlertError(
            ILLEGAL,
            "ServerHello random carries the TLS 1.3 downgrade sentinel: something between us "
            "removed TLS 1.3 from the handshake (RFC 8446, Section 4.1.3)",
        )


# RFC 5746, Sections 1 and 4.1: without renegotiation_info the server cannot tell our first
# handshake from a renegotiation of someone else's connection, so an attacker in the middle can
# put his own data in front of ours. OpenSSL 3 refuses such a server (handshake_failure) unless
# asked (SSL_OP_LEGACY_SERVER_CONNECT); BoringSSL and Go accept it.
_NO_SECURE_RENEGOTIATION = (
    "the server does not support secure renegotiation: its TLS 1.2 ServerHello has no "
    "renegotiation_info (RFC 5746), so an attacker could splice his own data in front of ours; "
    "--profile legacy (ClientConfig.legacy_server_connect=True) accepts such a server"
)


def _check_extensions(hello: ClientHello, sh: ServerHello, found: dict[E, Extension]) -> None:
    admit_extensions(sh.extensions, hello, _SERVER_HELLO_EXTENSIONS, "ServerHello", "TLS 1.2 ServerHello", tls13=False)
    reneg = found.get(_RENEGOTIATION_INFO)
    if reneg is not None:
        refuse_renegotiation_info(reneg.value)
    alpn = found.get(_ALPN)
    if alpn is None:
        return
    offered = hello.ext(_ALPN)  # admit_extensions: offered if answered
    if alpn.value and (offered is None or alpn.value[0] not in offered.value):
        raise AlertError(ILLEGAL, f"server selected ALPN {alpn.value[0]!r}, which the client did not offer")


def _settled(
    ctx: Context,
    config: ClientConfig,
    hello: ClientHello,
    sh: ServerHello,
    transcript: Transcript,
    found: dict[E, Extension],
) -> Handshake12:
    """What the ServerHello settles (RFC 5246, Section 7.4.1.3), once it passed the checks."""
    suite = TLS12_SUITES[sh.cipher_suite]
    ems = _EMS in found
    if config.require_extended_master_secret and not ems:
        raise AlertError(
            AlertDescription.handshake_failure,
            "server does not support extended master secret (RFC 7627), which this client requires",
        )
    # RFC 7366, Section 3: without the server's encrypt_then_mac a CBC suite runs
    # MAC-then-encrypt (RFC 5246, Section 6.2.3.2); the client offered CBC by name.
    etm = _ETM in found
    if etm and suite.aead:
        # RFC 7366, Section 3: a server that selects an AEAD suite MUST NOT answer encrypt_then_mac,
        # which has no meaning for it (TLS-Anvil aborts on it; OpenSSL's client ignores it).
        raise AlertError(ILLEGAL, f"server answered encrypt_then_mac for {suite.name}, an AEAD suite (RFC 7366, 3)")
    formats = found.get(_POINT_FORMATS)
    if formats is not None and suite.kx == "ECDHE" and 0 not in formats.value:
        # RFC 8422, Section 5.2: the client MUST respect the server's point formats, and the list MUST
        # hold uncompressed (0), the one format glasstls (and RFC 8422) sends; OpenSSL refuses it too.
        raise AlertError(ILLEGAL, "server's ec_point_formats does not list uncompressed (0) (RFC 8422, Section 5.2)")
    transcript.start(suite.prf_hash)
    transcript.add(sh.raw)
    return Handshake12(
        suite,
        hello.random,
        sh.random,
        transcript,
        ems,
        etm,
        session_id=sh.legacy_session_id_echo,
        server_name=ctx.offered_sni,
        alpn=_selected_alpn(found.get(_ALPN)),
        issue_ticket=_SESSION_TICKET in found,
    )


def _selected_alpn(alpn: Extension | None) -> str | None:
    if alpn is None:
        return None
    # RFC 7301, Section 3.1: the server answers with exactly one protocol.
    require(len(alpn.value) == 1, ILLEGAL, "server selected more than one ALPN protocol")
    selected: bytes = alpn.value[0]
    return selected.decode("utf-8", "replace")  # (one the client offered: its own name, as it encoded it)


def _resume(ctx: Context, hs: Handshake12, offered: SessionState) -> AnyState:
    """RFC 5246, Section 7.3 / RFC 5077, Section 3.1: the server accepted our session."""
    require(offered.cipher_suite == hs.suite.suite, ILLEGAL, "server resumed a session with a different cipher suite")
    # RFC 7627, Section 5.3: a session must be resumed with the EMS it was made with.
    require(
        offered.extended_master_secret == hs.extended_master_secret,
        FAILURE,
        "server resumed a session with a different extended-master-secret setting (RFC 7627, Section 5.3)",
    )
    # A CBC session made with encrypt-then-MAC keeps it (RFC 7366, Section 3.1; lucky13.md): never back to
    # MAC-then-encrypt, as the server refuses to resume it so.
    require(
        hs.suite.aead or not offered.encrypt_then_mac or hs.encrypt_then_mac,
        FAILURE,
        "server resumed a session made with encrypt-then-MAC without it (RFC 7366, Section 3.1)",
    )
    hs.resumed = True
    hs.created = offered.created  # (a ticket renewed now ends when the session would have)
    ctx.resuming = offered  # (what a fatal alert from here on ends: HandshakeContext.forget_session)
    hs.peer_chain = parse_der_chain(offered.peer_certificates, "server")
    keyed = hs.resume_master(ctx, offered.master_secret)
    if keyed.issue_ticket:
        return ExpectNewTicketOrCcs12(keyed, resumed_from=offered)
    return ExpectServerCcs12(keyed, resumed_from=offered)


# -- the server's flight ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ExpectCertificate12(ClientState12[Certificate12]):
    s: Handshake12
    status_expected: bool  # the ServerHello accepted status_request (RFC 6066, Section 8)

    expects = (Certificate12,)
    step = "waiting for the server's Certificate (TLS 1.2)"
    transitions = (
        ("Certificate12", "ExpectCertificateStatus12", "the ServerHello accepted status_request"),
        ("Certificate12", "ExpectServerKeyExchange12", "ECDHE or DHE"),
        ("Certificate12", "ExpectCertificateRequestOrDone12", "RSA key exchange"),
    )

    def handle(self, ctx: Context, msg: Certificate12) -> AnyState:
        require(bool(msg.certificates), AlertDescription.decode_error, "server sent an empty Certificate message")
        chain = parse_der_chain(msg.certificates, "server")
        _check_key_fits_suite(chain[0], self.s.suite)
        _check_leaf_curve(ctx.offered_hello, chain[0])
        config: ClientConfig = ctx.config
        path = None
        if config.dangerous.skip_server_verification:
            ctx.verified(peer_subject(chain[0]), True, "verification skipped (insecure)")
        else:
            path = verify_server(ctx, chain).path
        s = self.s
        s.transcript.add(msg.raw)
        s.peer_chain = chain
        if self.status_expected:
            return ExpectCertificateStatus12(s, path)
        if path is not None:
            check_server_status(ctx, path, None)  # no staple can come: must-staple, CRLs
        return _after_certificate(s)


def _after_certificate(s: Handshake12) -> ExpectServerKeyExchange12 | ExpectCertificateRequestOrDone12:
    if s.suite.kx == "RSA":
        return ExpectCertificateRequestOrDone12(s, share=None)
    return ExpectServerKeyExchange12(s)


def _check_key_fits_suite(cert: x509.Certificate, suite: Suite12) -> None:
    key = cert.public_key()
    kind = key_kind(key)  # type: ignore[arg-type]  # any key: a kind no suite fits is refused below
    # RFC 8422, Section 5.3: ECDSA suites carry ECDSA or EdDSA certificates
    ok = kind == "rsa" if suite.auth == "RSA" else kind in ("ecdsa", "ed25519", "ed448")
    if not ok:
        raise AlertError(
            AlertDescription.unsupported_certificate,
            f"server certificate key ({type(key).__name__.lstrip('_')}) does not fit {suite.name}",
        )


def _check_leaf_curve(hello: ClientHello | None, cert: x509.Certificate) -> None:
    """RFC 8422, Sections 5.1 and 5.3: in TLS 1.2 the curves of supported_groups bind the server's
    ECDSA certificate too; one on a curve the client did not name is illegal_parameter, as OpenSSL
    ("wrong curve") and BoringSSL answer."""
    key = cert.public_key()
    if key_kind(key) != "ecdsa":  # type: ignore[arg-type]  # (any key: a kind no suite fits is refused before)
        return
    named = hello.ext(E.supported_groups) if hello is not None else None
    group = ecdsa_group(key)  # type: ignore[arg-type]
    if named is not None and (group is None or group not in named.value):
        raise AlertError(
            ILLEGAL,
            f"server certificate's key is on {key.curve.name}, which this client did not name in "  # type: ignore[union-attr]
            "supported_groups (RFC 8422, Section 5.3)",
        )


@dataclass(frozen=True, eq=False)
class ExpectCertificateStatus12(
    ClientState12[CertificateStatus | ServerKeyExchange | CertificateRequest12 | ServerHelloDone]
):
    """RFC 6066, Section 8: the stapled OCSP response, after Certificate and before ServerKeyExchange.

    The server announced it (status_request in its ServerHello) but may still
    leave it out; then the next message belongs to the state after Certificate.
    """

    s: Handshake12
    path: tuple[x509.Certificate, ...] | None  # the validated path (None: verification skipped)

    expects = (CertificateStatus, ServerKeyExchange, CertificateRequest12, ServerHelloDone)
    step = "waiting for CertificateStatus"
    transitions = (
        ("CertificateStatus", "ExpectServerKeyExchange12", "ECDHE or DHE"),
        ("CertificateStatus", "ExpectCertificateRequestOrDone12", "RSA key exchange"),
        ("ServerKeyExchange", "ExpectCertificateRequestOrDone12", "no CertificateStatus after all"),
        ("CertificateRequest12", "ExpectServerHelloDone12", "RSA key exchange, no CertificateStatus"),
        ("ServerHelloDone", "ExpectNewTicketOrCcs12", "RSA, no CertificateStatus; client flight, ticket promised"),
        ("ServerHelloDone", "ExpectServerCcs12", "RSA, no CertificateStatus; sends the client flight"),
    )

    def handle(
        self, ctx: Context, msg: CertificateStatus | ServerKeyExchange | CertificateRequest12 | ServerHelloDone
    ) -> AnyState:
        if isinstance(msg, CertificateStatus):
            if self.path is not None:
                check_server_status(ctx, self.path, msg.ocsp_response)
            self.s.transcript.add(msg.raw)
            return _after_certificate(self.s)
        if self.path is not None:
            check_server_status(ctx, self.path, None)
        return _after_certificate(self.s).accept(ctx, msg)


@dataclass(frozen=True, eq=False)
class ExpectServerKeyExchange12(ClientState12[ServerKeyExchange]):
    s: Handshake12

    expects = (ServerKeyExchange,)
    step = "waiting for ServerKeyExchange"
    transitions = (("ServerKeyExchange", "ExpectCertificateRequestOrDone12"),)

    def handle(self, ctx: Context, msg: ServerKeyExchange) -> AnyState:
        params: ServerECDHParams | ServerDHParams
        if self.s.suite.kx == "ECDHE":
            params = msg.ecdhe()
            share = _ecdhe_share(ctx.config, params)
            self._verify_signature(ctx, params)
        else:
            params = msg.dhe()
            # Signature first: only the server's own parameters get the (costly) group check.
            self._verify_signature(ctx, params)
            share = _dhe_share(ctx.config, params)
        # A DHE group of RFC 3526 or the server's own has no code point: its label names it.
        group: NamedGroup | str | None = share.group
        if group is None and share.dhe is not None:
            group = share.dhe.label
        s = self.s
        s.group, s.signature_scheme = group, params.algorithm
        s.transcript.add(msg.raw)
        return ExpectCertificateRequestOrDone12(s, share)

    def _verify_signature(self, ctx: Context, params: ServerECDHParams | ServerDHParams) -> None:
        """RFC 5246, Section 7.4.3 / RFC 8422, Section 5.4: signed over both randoms and the params."""
        s = self.s
        check_peer_signature(
            ctx,
            "server",
            s.peer_chain[0],
            params.algorithm,
            params.signature,
            s.client_random + s.server_random + params.params_raw,
            offered_signature_schemes(ctx.config),
            tls13=False,
            subject="ServerKeyExchange signature",
            success=f"{params.algorithm.name} over both randoms and the key exchange parameters",
            what="ServerKeyExchange signature",
        )


def _ecdhe_share(config: ClientConfig, params: ServerECDHParams) -> ServerShare:
    group = params.group
    # RFC 8422, Section 5.4: the curve must be one the client named in supported_groups.
    if group not in config.groups or group in kx.FFDHE_GROUPS:
        raise AlertError(ILLEGAL, f"server chose curve {group.name}, which the client did not offer")
    # The hybrid groups are TLS 1.3's alone (draft-ietf-tls-ecdhe-mlkem, Section 3): offered in
    # supported_groups for TLS 1.3, never an ECDHE curve of a TLS 1.2 ServerKeyExchange.
    if group in kx.TLS13_ONLY_GROUPS:
        raise AlertError(ILLEGAL, f"server chose {group.name} for TLS 1.2, where that group is not defined")
    return ServerShare(group, params.public)


def _dhe_share(config: ClientConfig, params: ServerDHParams) -> ServerShare:
    """RFC 5246, Section 7.4.3: the server names its DHE group as (p, g). Published safe
    primes (RFC 7919, RFC 3526) pass; a server's own group only with dhe_custom_groups
    and as a safe prime of 2048 bits or more (RFC 7919, Section 3: insufficient_security)."""
    p, g = int.from_bytes(params.p, "big"), int.from_bytes(params.g, "big")
    group = dhe12.server_dhe_group(p, g, custom_allowed=bool(config.dhe_custom_groups))
    # RFC 7919, Section 3: a TLS 1.2 client ends the handshake with handshake_failure for a dh_Ys out of
    # range, whatever its length (one longer than p is out of range too; leading zeros are no matter, as
    # for OpenSSL's BN_bin2bn), as the server judges dh_Yc (premaster12).
    ys = int.from_bytes(params.ys, "big")
    require(
        1 < ys < p - 1,
        AlertDescription.handshake_failure,
        f"server's DH public value dh_Ys ({len(params.ys)} bytes) is outside [2, p-2] in {group.label} "
        "(RFC 7919, Section 3)",
    )
    return ServerShare(group.named, ys.to_bytes(group.size, "big"), group)


@dataclass(frozen=True, eq=False)
class ExpectCertificateRequestOrDone12(ClientState12[CertificateRequest12 | ServerHelloDone]):
    s: Handshake12
    share: ServerShare | None  # None for RSA key transport

    expects = (CertificateRequest12, ServerHelloDone)
    step = "waiting for ServerHelloDone"
    transitions = (
        ("CertificateRequest12", "ExpectServerHelloDone12"),
        ("ServerHelloDone", "ExpectNewTicketOrCcs12", "sends the client flight, ticket promised"),
        ("ServerHelloDone", "ExpectServerCcs12", "sends the client flight"),
    )

    def handle(self, ctx: Context, msg: CertificateRequest12 | ServerHelloDone) -> AnyState:
        self.s.transcript.add(msg.raw)
        if isinstance(msg, CertificateRequest12):
            return ExpectServerHelloDone12(self.s, self.share, msg)
        return send_client_flight(ctx, self.s, self.share, None)


@dataclass(frozen=True, eq=False)
class ExpectServerHelloDone12(ClientState12[ServerHelloDone]):
    s: Handshake12
    share: ServerShare | None
    request: CertificateRequest12  # the server asks for a client certificate (RFC 5246, Section 7.4.4)

    expects = (ServerHelloDone,)
    step = "waiting for ServerHelloDone"
    transitions = (
        ("ServerHelloDone", "ExpectNewTicketOrCcs12", "sends the client flight, ticket promised"),
        ("ServerHelloDone", "ExpectServerCcs12", "sends the client flight"),
    )

    def handle(self, ctx: Context, msg: ServerHelloDone) -> AnyState:
        self.s.transcript.add(msg.raw)
        return send_client_flight(ctx, self.s, self.share, self.request)


# -- the client's flight ------------------------------------------------------------


def send_client_flight(
    ctx: Context, s: Handshake12, share: ServerShare | None, request: CertificateRequest12 | None
) -> AnyState:
    """[Certificate] ClientKeyExchange [CertificateVerify] ChangeCipherSpec Finished."""
    certified = _client_certificate(ctx, request) if request is not None else None
    if request is not None:
        # RFC 5246, Section 7.4.6: asked for one, the client sends a Certificate, empty if it has none.
        s.send(ctx, Certificate12(certificates=certified[0].der_chain if certified else ()))
    cke, pre_master = _key_exchange(ctx, ServerKeys12(s.suite.kx, s.peer_chain, share))
    s.send(ctx, cke)
    keyed = s.derive_master(ctx, pre_master)
    if certified is not None:
        key, scheme = certified[0].private_key, certified[1]
        signature = sign(key, scheme, keyed.transcript.messages(), ctx.randomness, tls13=False)
        keyed.send(ctx, CertificateVerify(algorithm=scheme, signature=signature))
        keyed.client_auth = True
    keyed.install_write(ctx)
    keyed.send(ctx, Finished(verify_data=keyed.finished("client")))
    return ExpectNewTicketOrCcs12(keyed) if keyed.issue_ticket else ExpectServerCcs12(keyed)


def _client_certificate(ctx: Context, request: CertificateRequest12) -> tuple[CertifiedKey, SignatureScheme] | None:
    return client_certificate_for(
        ctx,
        request.signature_algorithms,
        request.authorities,
        tls13=False,
        certificate_types=request.certificate_types,
    )


def _key_exchange(ctx: Context, server: ServerKeys12) -> tuple[ClientKeyExchange, bytes]:
    """RFC 8422, Section 5.7 (ECDHE), RFC 5246, Sections 7.4.7 and 8.1 (DHE, RSA)."""
    if server.kx == "RSA":
        # RFC 5246, Section 7.4.7.1: the version we offered, then 46 random bytes.
        pre_master = ProtocolVersion.TLSv1_2.to_bytes(2, "big") + ctx.randomness(46)
        key = server.peer_chain[0].public_key()
        assert isinstance(key, rsa.RSAPublicKey)  # _check_key_fits_suite let only RSA keys into RSA suites
        return ClientKeyExchange.for_rsa(key.encrypt(pre_master, padding.PKCS1v15())), pre_master
    assert server.share is not None  # an (EC)DHE suite always has a ServerKeyExchange
    if server.share.dhe is not None:
        dhe = dhe12.generate_dhe_share(server.share.dhe, ctx.randomness)
        secret = dhe.exchange(server.share.public)
        return ClientKeyExchange.for_dhe(dhe.public_bytes()), kx.strip_leading_zeros(secret)
    assert server.share.group is not None  # ECDHE: always a named curve (RFC 8422, Section 5.4)
    share = kx.generate_key_share(server.share.group, ctx.randomness)
    return ClientKeyExchange.for_ecdhe(share.public_bytes()), share.exchange(server.share.public)


# -- the server's ticket, ChangeCipherSpec and Finished -------------------------------


@dataclass(frozen=True, eq=False)
class ExpectNewTicketOrCcs12(ClientState12[NewSessionTicket12]):
    """RFC 5077, Section 3.3: the server promised a ticket; it comes before its CCS."""

    s: KeyedHandshake12
    resumed_from: SessionState | None = None  # the session resumed (abbreviated handshake)

    expects = (NewSessionTicket12,)
    step = "waiting for NewSessionTicket"
    transitions = (
        ("NewSessionTicket12", "ExpectServerCcs12"),
        ("ChangeCipherSpec", "ExpectServerFinished12", "no ticket after all"),
    )

    def handle(self, ctx: Context, msg: NewSessionTicket12) -> AnyState:
        self.s.transcript.add(msg.raw)
        return ExpectServerCcs12(self.s, self.resumed_from, ticket=msg)

    def on_change_cipher_spec(self, ctx: Context) -> AnyState:
        # RFC 5077, Section 3.3: a server that cannot issue a ticket after all may skip it.
        return ExpectServerCcs12(self.s, self.resumed_from).on_change_cipher_spec(ctx)


@dataclass(frozen=True, eq=False)
class ExpectServerCcs12(ClientState12[Handshake]):
    s: KeyedHandshake12
    resumed_from: SessionState | None = None
    ticket: NewSessionTicket12 | None = None  # a new ticket (RFC 5077, Section 3.3)

    expects = ()
    step = "waiting for the server's ChangeCipherSpec"
    # A server that sends its encrypted Finished without ChangeCipherSpec shows up here as handshake
    # bytes in plaintext: the explicit nonce's zeros read as HelloRequests, then garbage.
    unexpected_note = (
        " (a handshake record came where the server's ChangeCipherSpec belongs: its Finished must follow "
        "one, RFC 5246, Section 7.4.9; a server that leaves it out is read so)"
    )
    transitions = (("ChangeCipherSpec", "ExpectServerFinished12", "next read keys"),)

    def unexpected_note_for(self, msg_type: int) -> str:
        if msg_type == _NEW_SESSION_TICKET:
            return (
                " (a NewSessionTicket the ServerHello did not promise: a server sends one only after an empty "
                "session_ticket extension in its ServerHello, RFC 5077, Section 3.2)"
            )
        if self.resumed_from is not None and msg_type != _FINISHED:
            return (
                " (the ServerHello resumed a session: the server's ChangeCipherSpec and Finished come next, "
                "RFC 5246, Section 7.3)"
            )
        return self.unexpected_note

    def on_change_cipher_spec(self, ctx: Context) -> AnyState:
        self.s.install_read(ctx)
        return ExpectServerFinished12(self.s, self.resumed_from, self.ticket)


@dataclass(frozen=True, eq=False)
class ExpectServerFinished12(ClientState12[Finished]):
    s: KeyedHandshake12
    resumed_from: SessionState | None
    ticket: NewSessionTicket12 | None

    expects = (Finished,)
    step = "waiting for the server's Finished (TLS 1.2)"
    transitions = (("Finished", "ClientConnected12", "if resumed, sends [ChangeCipherSpec] Finished"),)

    def handle(self, ctx: Context, msg: Finished) -> AnyState:
        s = self.s
        proof = s.check_finished(ctx, "server", msg.verify_data)
        s.transcript.add(msg.raw)
        if s.resumed:
            # Abbreviated handshake: our CCS and Finished come after the server's.
            s.install_write(ctx)
            s.send(ctx, Finished(verify_data=s.finished("client")))
        ctx.new_session(self._session_to_keep(ctx))
        ctx.complete(PeerVerified(proof), s.parameters())
        return ClientConnected12(s)

    def _session_to_keep(self, ctx: Context) -> SessionState:
        s, ticket = self.s, self.ticket
        if ticket is None and self.resumed_from is not None:
            return self.resumed_from  # resumed without a new ticket: the old session stays valid
        ders = der_chain(s.peer_chain)
        if ticket is not None and len(ticket.ticket) > MAX_OFFERABLE_TICKET:
            ctx.verified("session ticket", False, f"{len(ticket.ticket)} bytes: too large to offer, discarded")
        elif ticket is not None:
            return s.session_state(ctx, ticket.ticket, ticket.lifetime_hint or DEFAULT_TICKET_LIFETIME, ders)
        return s.session_state(ctx, peer_certificates=ders)


@dataclass(frozen=True, eq=False)
class ClientConnected12(ClientState12[HelloRequest], Connected12[HelloRequest]):
    """Application data; renegotiation is refused (RFC 5746 is only signalled)."""

    s: KeyedHandshake12

    expects = (HelloRequest,)
    step = "exchanging application data"
    transitions = (("HelloRequest", "ClientConnected12", "refused with a no_renegotiation warning"),)

    def handle(self, ctx: Context, msg: HelloRequest) -> AnyState:
        # RFC 5246, Section 7.4.1.1: a client may decline with a no_renegotiation warning.
        ctx.send_warning(AlertDescription.no_renegotiation)
        return self
