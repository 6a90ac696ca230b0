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
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from ..crypto import kx
from ..crypto.signatures import sign
from ..crypto.suites import TLS12_SUITES
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, ProtocolVersion, SignatureScheme
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..wire.handshake import CertificateVerify, ClientHello, Finished, ServerHello
from ..wire.handshake12 import (
    TLS12_PARSERS,
    Certificate12,
    CertificateRequest12,
    CertificateStatus,
    ClientKeyExchange,
    HelloRequest,
    NewSessionTicket12,
    ServerHelloDone,
    ServerKeyExchange,
)
from .admission import admit_extensions
from .base import Connected, Context, PeerVerified, State, require
from .certselect import client_certificate_for
from .common12 import DOWNGRADE_TLS12, Session12, refuse_renegotiation_info
from .hello import offered_signature_schemes
from .peer_auth import check_peer_signature, parse_der_chain, peer_subject, verify_server
from .status import check_server_status

ILLEGAL = AlertDescription.illegal_parameter
# RFC 5246 and its extensions: what a TLS 1.2 ServerHello may carry.
_SERVER_HELLO_EXTENSIONS = {
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


class State12(State):
    parsers = TLS12_PARSERS
    ccs_allowed = False

    def __init__(self, session: Session12) -> None:
        self.s = session

    def accept(self, ctx: Context, msg: Any) -> State:
        # RFC 5246, Section 7.4.1.1: a HelloRequest while negotiating is ignored (and not hashed).
        if isinstance(msg, HelloRequest) and not self.handshake_done:
            return self
        return super().accept(ctx, msg)


def on_server_hello(ctx: Context, hello: ClientHello, sh: ServerHello, transcript: Transcript) -> State:
    """The server chose TLS 1.2 (or below): check everything RFC 5246 and the
    downgrade protections ask of its ServerHello, then branch full/abbreviated."""
    cfg = ctx.config
    if sh.legacy_version < ProtocolVersion.TLSv1_2:
        raise AlertError(
            AlertDescription.protocol_version,
            f"server wants {sh.legacy_version.label}; glasstls speaks only TLS 1.2 and 1.3 (RFC 8996)",
        )
    require(sh.legacy_version == ProtocolVersion.TLSv1_2, ILLEGAL, f"ServerHello version {sh.legacy_version:#06x}")
    if cfg.tls_min > ProtocolVersion.TLSv1_2:
        raise AlertError(
            AlertDescription.protocol_version, "server chose TLS 1.2, but this client requires TLS 1.3 (tls_min)"
        )
    # RFC 8446, Section 4.1.3: a TLS 1.3 server forced down to 1.2 says so in its random.
    if cfg.tls_max >= ProtocolVersion.TLSv1_3 and sh.random[-8:] == DOWNGRADE_TLS12:
        raise AlertError(
            ILLEGAL,
            "ServerHello random carries the TLS 1.3 downgrade sentinel: something between us "
            "removed TLS 1.3 from the handshake (RFC 8446, Section 4.1.3)",
        )
    require(
        sh.cipher_suite in hello.cipher_suites and sh.cipher_suite in TLS12_SUITES,
        ILLEGAL,
        f"server chose {sh.cipher_suite.name}, which the client did not offer for TLS 1.2",
    )
    require(sh.compression_method == 0, ILLEGAL, "ServerHello compression method is not null")
    ctx.set_version(ProtocolVersion.TLSv1_2)
    _check_extensions(hello, sh)
    suite = TLS12_SUITES[sh.cipher_suite]
    ems = sh.ext(E.extended_master_secret) is not None
    if cfg.require_extended_master_secret and not ems:
        raise AlertError(
            AlertDescription.handshake_failure,
            "server does not support extended master secret (RFC 7627), which this client requires",
        )
    etm = sh.ext(E.encrypt_then_mac) is not None
    require(
        suite.aead or etm,
        AlertDescription.handshake_failure,
        f"server chose {suite.name} without encrypt-then-MAC; CBC with MAC-then-encrypt is refused",
    )
    transcript.start(suite.prf_hash)
    transcript.add(sh.raw)
    s = Session12(suite, hello.random, sh.random, transcript, ems, etm, session_id=sh.legacy_session_id_echo)
    s.server_name = ctx.offered_sni  # type: ignore[attr-defined]
    s.issue_ticket = sh.ext(E.session_ticket) is not None
    # RFC 6066, Section 8: an empty status_request announces a CertificateStatus after Certificate.
    s.extra["status_expected"] = sh.ext(E.status_request) is not None
    alpn = sh.ext(E.application_layer_protocol_negotiation)
    if alpn is not None:
        require(len(alpn.value) == 1, ILLEGAL, "server selected more than one ALPN protocol")
        s.alpn = alpn.value[0].decode("ascii", "replace")
    limit = sh.ext(E.record_size_limit)
    if limit is not None:
        ctx.set_peer_record_limit_12(limit.value)  # type: ignore[attr-defined]
    offered = ctx.offered_session  # type: ignore[attr-defined]
    if offered is not None and hello.legacy_session_id and sh.legacy_session_id_echo == hello.legacy_session_id:
        return _resume(ctx, s, offered)
    return ExpectCertificate12(s)


def _check_extensions(hello: ClientHello, sh: ServerHello) -> None:
    admit_extensions(sh.extensions, hello, _SERVER_HELLO_EXTENSIONS, "ServerHello", "TLS 1.2 ServerHello")
    reneg = sh.ext(E.renegotiation_info)
    if reneg is not None:
        refuse_renegotiation_info(reneg.value)
    alpn = sh.ext(E.application_layer_protocol_negotiation)
    if (
        alpn is not None
        and alpn.value
        and alpn.value[0] not in hello.ext(E.application_layer_protocol_negotiation).value
    ):
        raise AlertError(ILLEGAL, f"server selected ALPN {alpn.value[0]!r}, which the client did not offer")


def _resume(ctx: Context, s: Session12, offered: Any) -> State:
    """RFC 5246, Section 7.3 / RFC 5077, Section 3.1: the server accepted our session."""
    # RFC 7627, Section 5.3: a session must be resumed with the EMS it was made with.
    require(offered.cipher_suite == s.suite.suite, ILLEGAL, "server resumed a session with a different cipher suite")
    require(
        offered.extended_master_secret == s.extended_master_secret,
        AlertDescription.handshake_failure,
        "server resumed a session with a different extended-master-secret setting (RFC 7627, Section 5.3)",
    )
    s.resumed = True
    s.resume_master(ctx, offered.master_secret)
    s.peer_chain = tuple(x509.load_der_x509_certificate(d) for d in offered.peer_certificates)
    s.extra["offered"] = offered
    return ExpectNewTicketOrCcs12(s) if s.issue_ticket else ExpectServerCcs12(s)


class ExpectCertificate12(State12):
    expects = (Certificate12,)
    step = "waiting for the server's Certificate (TLS 1.2)"
    transitions = (
        ("Certificate12", "ExpectCertificateStatus12", "the ServerHello accepted status_request"),
        ("Certificate12", "ExpectServerKeyExchange12", "ECDHE or DHE"),
        ("Certificate12", "ExpectCertificateRequestOrDone12", "RSA key exchange"),
    )

    def handle(self, ctx: Context, msg: Certificate12) -> State:  # type: ignore[override]
        require(bool(msg.certificates), AlertDescription.decode_error, "server sent an empty Certificate message")
        chain = parse_der_chain(msg.certificates, "server")
        _check_key_fits_suite(chain[0], self.s.suite)
        path = None
        if ctx.config.dangerous.skip_server_verification:
            ctx.verified(peer_subject(chain[0]), True, "verification skipped (insecure)")
        else:
            path = verify_server(ctx, chain).path
        self.s.transcript.add(msg.raw)
        self.s.peer_chain = chain
        if self.s.extra.get("status_expected"):
            return ExpectCertificateStatus12(self.s, path)
        if path is not None:
            check_server_status(ctx, path, None)  # no staple can come: must-staple, CRLs
        return _after_certificate(self.s)


def _after_certificate(s: Session12) -> State:
    if s.suite.kx == "RSA":
        return ExpectCertificateRequestOrDone12(s)
    return ExpectServerKeyExchange12(s)


class ExpectCertificateStatus12(State12):
    """RFC 6066, Section 8: the stapled OCSP response, after Certificate and before ServerKeyExchange.

    The server announced it (status_request in its ServerHello) but may still
    leave it out; then the next message belongs to the state after Certificate.
    """

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

    def __init__(self, session: Session12, path: tuple[x509.Certificate, ...] | None) -> None:
        super().__init__(session)
        self.path = path  # the validated path (None: verification skipped)

    def handle(self, ctx: Context, msg: Any) -> State:
        if isinstance(msg, CertificateStatus):
            if self.path is not None:
                check_server_status(ctx, self.path, msg.ocsp_response)
            self.s.transcript.add(msg.raw)
            return _after_certificate(self.s)
        if self.path is not None:
            check_server_status(ctx, self.path, None)
        return _after_certificate(self.s).accept(ctx, msg)


def _check_key_fits_suite(cert: x509.Certificate, suite: Any) -> None:
    key = cert.public_key()
    if suite.auth == "RSA":
        ok = isinstance(key, rsa.RSAPublicKey)
    else:  # RFC 8422, Section 5.3: ECDSA suites carry ECDSA or EdDSA certificates
        ok = isinstance(key, (ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey))
    require(
        ok,
        AlertDescription.unsupported_certificate,
        f"server certificate key ({type(key).__name__.lstrip('_')}) does not fit {suite.name}",
    )


class ExpectServerKeyExchange12(State12):
    expects = (ServerKeyExchange,)
    step = "waiting for ServerKeyExchange"
    transitions = (("ServerKeyExchange", "ExpectCertificateRequestOrDone12"),)

    def handle(self, ctx: Context, msg: ServerKeyExchange) -> State:  # type: ignore[override]
        s = self.s
        params = msg.ecdhe() if s.suite.kx == "ECDHE" else msg.dhe()
        if s.suite.kx == "ECDHE":
            group = params.group
            require(
                group in ctx.config.groups and group not in kx.FFDHE_GROUPS,
                ILLEGAL,
                f"server chose curve {group.name}, which the client did not offer",
            )
            peer_public = params.public
        else:
            p = int.from_bytes(params.p, "big")
            group = kx.ffdhe_group_for(p, int.from_bytes(params.g, "big"))
            if group is None:
                # RFC 7919, Section 3: a client may refuse custom groups with insufficient_security.
                raise AlertError(
                    AlertDescription.insufficient_security,
                    f"server's DHE parameters (a {p.bit_length()}-bit prime) are not an RFC 7919 group; "
                    "custom groups are refused. The server must use ffdhe2048 or another RFC 7919 group "
                    "(OpenSSL: s_server -dhparam FILE, FILE from `openssl genpkey -genparam -algorithm DH "
                    "-pkeyopt group:ffdhe2048`), or offer ECDHE",
                )
            peer_public = params.ys.rjust(kx.key_share_length(group) or 0, b"\x00")
        self._verify_signature(ctx, params)
        s.group = group
        s.extra["peer_public"] = peer_public
        s.transcript.add(msg.raw)
        return ExpectCertificateRequestOrDone12(s)

    def _verify_signature(self, ctx: Context, params: Any) -> None:
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
        s.signature_scheme = params.algorithm


class ExpectCertificateRequestOrDone12(State12):
    expects = (CertificateRequest12, ServerHelloDone)
    step = "waiting for ServerHelloDone"
    transitions = (
        ("CertificateRequest12", "ExpectServerHelloDone12"),
        ("ServerHelloDone", "ExpectNewTicketOrCcs12", "sends the client flight, ticket promised"),
        ("ServerHelloDone", "ExpectServerCcs12", "sends the client flight"),
    )

    def handle(self, ctx: Context, msg: Any) -> State:
        self.s.transcript.add(msg.raw)
        if isinstance(msg, CertificateRequest12):
            self.s.extra["cert_request"] = msg
            return ExpectServerHelloDone12(self.s)
        return send_client_flight(ctx, self.s)


class ExpectServerHelloDone12(State12):
    expects = (ServerHelloDone,)
    step = "waiting for ServerHelloDone"
    transitions = (
        ("ServerHelloDone", "ExpectNewTicketOrCcs12", "sends the client flight, ticket promised"),
        ("ServerHelloDone", "ExpectServerCcs12", "sends the client flight"),
    )

    def handle(self, ctx: Context, msg: ServerHelloDone) -> State:  # type: ignore[override]
        self.s.transcript.add(msg.raw)
        return send_client_flight(ctx, self.s)


def send_client_flight(ctx: Context, s: Session12) -> State:
    """[Certificate] ClientKeyExchange [CertificateVerify] ChangeCipherSpec Finished."""
    request: CertificateRequest12 | None = s.extra.get("cert_request")
    certified = _client_certificate(ctx, request) if request is not None else None
    if request is not None:
        s.send(ctx, Certificate12(certificates=certified[0].der_chain if certified else ()))
    cke, pre_master = _key_exchange(ctx, s)
    s.send(ctx, cke)
    s.derive_master(ctx, pre_master)
    if certified is not None:
        key, scheme = certified[0].private_key, certified[1]
        signature = sign(key, scheme, s.transcript.messages(), ctx.randomness, tls13=False)
        s.send(ctx, CertificateVerify(algorithm=scheme, signature=signature))
        s.client_auth = True
    s.install_write(ctx)
    s.send(ctx, Finished(verify_data=s.finished("client")))
    return ExpectNewTicketOrCcs12(s) if s.issue_ticket else ExpectServerCcs12(s)


def _client_certificate(ctx: Context, request: CertificateRequest12) -> tuple[Any, SignatureScheme] | None:
    return client_certificate_for(ctx, request.signature_algorithms, request.authorities, tls13=False)


def _key_exchange(ctx: Context, s: Session12) -> tuple[ClientKeyExchange, bytes]:
    """RFC 8422, Section 5.7 (ECDHE), RFC 5246, Sections 7.4.7 and 8.1 (DHE, RSA)."""
    if s.suite.kx == "RSA":
        # RFC 5246, Section 7.4.7.1: the version we offered, then 46 random bytes.
        pre_master = ProtocolVersion.TLSv1_2.to_bytes(2, "big") + ctx.randomness(46)
        key = s.peer_chain[0].public_key()
        return ClientKeyExchange.for_rsa(key.encrypt(pre_master, padding.PKCS1v15())), pre_master
    assert s.group is not None
    share = kx.generate_key_share(s.group, ctx.randomness)
    secret = share.exchange(s.extra["peer_public"])
    if s.suite.kx == "DHE":
        return ClientKeyExchange.for_dhe(share.public_bytes()), kx.strip_leading_zeros(secret)
    return ClientKeyExchange.for_ecdhe(share.public_bytes()), secret


class ExpectNewTicketOrCcs12(State12):
    """RFC 5077, Section 3.3: the server promised a ticket; it comes before its CCS."""

    expects = (NewSessionTicket12,)
    step = "waiting for NewSessionTicket"
    transitions = (
        ("NewSessionTicket12", "ExpectServerCcs12"),
        ("ChangeCipherSpec", "ExpectServerFinished12", "no ticket after all"),
    )

    def handle(self, ctx: Context, msg: NewSessionTicket12) -> State:  # type: ignore[override]
        self.s.transcript.add(msg.raw)
        self.s.extra["ticket"] = msg
        return ExpectServerCcs12(self.s)

    def on_change_cipher_spec(self, ctx: Context) -> State:  # type: ignore[override]
        # RFC 5077, Section 3.3: a server that cannot issue a ticket after all may skip it.
        return ExpectServerCcs12(self.s).on_change_cipher_spec(ctx)


class ExpectServerCcs12(State12):
    expects = ()
    step = "waiting for the server's ChangeCipherSpec"
    transitions = (("ChangeCipherSpec", "ExpectServerFinished12", "next read keys"),)

    def on_change_cipher_spec(self, ctx: Context) -> State:  # type: ignore[override]
        self.s.install_read(ctx)
        return ExpectServerFinished12(self.s)


class ExpectServerFinished12(State12):
    expects = (Finished,)
    step = "waiting for the server's Finished (TLS 1.2)"
    transitions = (("Finished", "ClientConnected12", "if resumed, sends [ChangeCipherSpec] Finished"),)

    def handle(self, ctx: Context, msg: Finished) -> State:  # type: ignore[override]
        s = self.s
        proof = s.check_finished(ctx, "server", msg.verify_data)
        s.transcript.add(msg.raw)
        if s.resumed:
            # Abbreviated handshake: our CCS and Finished come after the server's.
            s.install_write(ctx)
            s.send(ctx, Finished(verify_data=s.finished("client")))
        ctx.new_session(_session_to_keep(ctx, s))
        ctx.complete(PeerVerified(proof), s.parameters())
        return ClientConnected12(s)


def _session_to_keep(ctx: Context, s: Session12) -> Any:
    ticket: NewSessionTicket12 | None = s.extra.get("ticket")
    offered = s.extra.get("offered")
    if ticket is not None:
        state = s.session_state(ctx, ticket.ticket, ticket.lifetime_hint or 7200)
    elif offered is not None:
        return offered  # resumed without a new ticket: the old session stays valid
    else:
        state = s.session_state(ctx)
    ders = tuple(c.public_bytes(Encoding.DER) for c in s.peer_chain)
    return replace(state, peer_certificates=ders)


class ClientConnected12(State12, Connected):
    """Application data; renegotiation is refused (RFC 5746 is only signalled)."""

    expects = (HelloRequest,)
    step = "exchanging application data"
    transitions = (("HelloRequest", "ClientConnected12", "refused with a no_renegotiation warning"),)

    version_label = "TLSv1.2"

    def handle(self, ctx: Context, msg: HelloRequest) -> State:  # type: ignore[override]
        # RFC 5246, Section 7.4.1.1: a client may decline with a no_renegotiation warning.
        ctx.send_warning(AlertDescription.no_renegotiation)
        return self
