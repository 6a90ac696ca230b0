"""The TLS 1.2 server handshake (RFC 5246, Section 7.3; RFC 5077, Section 3.1).

Full handshake:                                  Abbreviated (session ID or ticket):

    ClientHello          -->                         ClientHello        -->
                         <--  ServerHello                               <--  ServerHello
                         <--  Certificate                               <--  [NewSessionTicket]
                         <--  CertificateStatus*
                         <--  ServerKeyExchange*                        <--  [ChangeCipherSpec]
                         <--  CertificateRequest*                       <--  Finished
                         <--  ServerHelloDone        [ChangeCipherSpec]
    Certificate*                                     Finished           -->
    ClientKeyExchange
    CertificateVerify*
    [ChangeCipherSpec]
    Finished             -->
                         <--  [NewSessionTicket*]
                         <--  [ChangeCipherSpec]
                         <--  Finished

The server enters here (on_client_hello) from server.ExpectClientHello once
TLS 1.2 is the version both sides share.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from ..crypto import kx
from ..crypto.signatures import scheme_fits_key, sign
from ..crypto.suites import TLS12_SUITES, Suite12
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, CipherSuite, ClientCertificateType, NamedGroup, ProtocolVersion, SignatureScheme
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..wire import extensions as X
from ..wire.extensions import Extension
from ..wire.handshake import CertificateVerify, ClientHello, Finished, ServerHello
from ..wire.handshake12 import (
    TLS12_PARSERS,
    Certificate12,
    CertificateRequest12,
    CertificateStatus,
    ClientKeyExchange,
    NewSessionTicket12,
    ServerHelloDone,
    ServerKeyExchange,
    dhe_params_bytes,
    ecdhe_params_bytes,
)
from . import negotiation as N
from .base import Connected, Context, PeerVerified, State, require
from .certselect import candidates, report_choice
from .common12 import DOWNGRADE_TLS12, Session12, refuse_renegotiation_info
from .peer_auth import check_peer_signature, parse_der_chain, verify_client
from .status import staple_for

ILLEGAL = AlertDescription.illegal_parameter
FAILURE = AlertDescription.handshake_failure
TICKET_LIFETIME = 7200  # seconds (RFC 5077, Section 3.3: a hint to the client)
_ECDHE_GROUPS = frozenset(kx.SUPPORTED_GROUPS) - kx.FFDHE_GROUPS - kx.TLS13_ONLY_GROUPS


class State12(State):
    parsers = TLS12_PARSERS

    def __init__(self, session: Session12) -> None:
        self.s = session


@dataclass
class Offer:
    """What the client's TLS 1.2 ClientHello offers, decoded once."""

    hello: ClientHello
    groups: tuple[NamedGroup, ...]
    signature_schemes: tuple[SignatureScheme, ...]
    ems: bool
    etm: bool
    tickets: bool
    ticket: bytes
    secure_renegotiation: bool
    server_name: str | None


def _offer(ch: ClientHello) -> Offer:
    def value(ext_type: E, default: Any) -> Any:
        ext = ch.ext(ext_type)
        return default if ext is None else ext.value

    reneg = ch.ext(E.renegotiation_info)
    if reneg is not None:
        refuse_renegotiation_info(reneg.value)
    ticket = ch.ext(E.session_ticket)
    return Offer(
        hello=ch,
        groups=value(E.supported_groups, ()),
        signature_schemes=value(E.signature_algorithms, ()),
        ems=ch.ext(E.extended_master_secret) is not None,
        etm=ch.ext(E.encrypt_then_mac) is not None,
        tickets=ticket is not None,
        ticket=ticket.value if ticket is not None else b"",
        secure_renegotiation=reneg is not None or CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV in ch.cipher_suites,
        server_name=value(E.server_name, None),
    )


def on_client_hello(ctx: Context, ch: ClientHello) -> State:
    """RFC 5246, Section 7.4.1.2: decide resumption or a full handshake."""
    cfg = ctx.config
    ctx.set_version(ProtocolVersion.TLSv1_2)
    # RFC 5246, Section 7.4.1.2: null compression must be offered.
    require(0 in ch.compression_methods, ILLEGAL, "ClientHello does not offer the null compression method")
    offer = _offer(ch)
    if cfg.require_extended_master_secret and not offer.ems:
        raise AlertError(
            FAILURE, "client does not support extended master secret (RFC 7627), which this server requires"
        )
    transcript = Transcript()
    resumed = _find_session(ctx, offer)
    if resumed is not None:
        return _resume(ctx, offer, transcript, *resumed)
    return _full_handshake(ctx, offer, transcript)


# -- resumption ---------------------------------------------------------------------


def _find_session(ctx: Context, offer: Offer) -> tuple[Any, bool] | None:
    """A resumable session from the client's ticket or session ID, or None.

    A ticket that cannot be used (corrupt, expired, sealed under a retired
    key) means a full handshake, never a failure (RFC 5077, Section 3.4).
    """
    cfg, now = ctx.config, ctx.now()
    if cfg.session_tickets and offer.ticket:
        state, reason = cfg.ticket_keys.open(offer.ticket, now)
        ctx.verified("session ticket", state is not None, reason)
        if state is not None and _resumable(ctx, offer, state):
            return state, True
    sid = offer.hello.legacy_session_id
    if sid and cfg.session_cache is not None:
        state = cfg.session_cache.get(sid, now)
        if state is not None and _resumable(ctx, offer, state):
            ctx.verified("session ID", True, "found in the session cache")
            return state, False
    return None


def _resumable(ctx: Context, offer: Offer, state: Any) -> bool:
    """RFC 5246, Section 7.4.1.2; RFC 7627, Section 5.3; RFC 6066, Section 3."""
    suite = CipherSuite(state.cipher_suite)
    usable = (
        state.version == ProtocolVersion.TLSv1_2
        and suite in offer.hello.cipher_suites
        and suite in ctx.config.cipher_suites
        and state.matches(ProtocolVersion.TLSv1_2, suite, offer.ems, offer.server_name)
        # RFC 7366: CBC only with encrypt-then-MAC, as in a full handshake (_try_suite).
        and suite in TLS12_SUITES
        and (TLS12_SUITES[suite].aead or offer.etm)
    )
    if not usable:
        ctx.verified(
            "session", False, "saved session does not match this hello (version, suite, EMS, SNI or encrypt-then-MAC)"
        )
    return usable


def _resume(ctx: Context, offer: Offer, transcript: Transcript, state: Any, by_ticket: bool) -> State:
    ch, cfg = offer.hello, ctx.config
    suite = TLS12_SUITES[CipherSuite(state.cipher_suite)]
    # RFC 7366, Section 3: no encrypt_then_mac answer for an AEAD suite.
    etm = offer.etm and not suite.aead
    s = Session12(suite, ch.random, _server_random(ctx), transcript, state.extended_master_secret, etm)
    s.resumed, s.master_secret, s.server_name, s.alpn = True, state.master_secret, offer.server_name, state.alpn
    # RFC 5077, Section 3.4: accepting a ticket echoes the client's session ID.
    s.session_id = ch.legacy_session_id
    s.issue_ticket = (
        by_ticket and offer.tickets and cfg.session_tickets and cfg.ticket_keys.needs_renewal(offer.ticket, ctx.now())
    )
    s.extra["state"] = state
    _start_transcript(s, ch)
    s.send(ctx, _server_hello(ctx, offer, s))
    s.resume_master(ctx, s.master_secret)  # reported once the ServerHello is out, as in a full handshake
    if s.issue_ticket:
        _send_ticket(ctx, s)
    s.install_write(ctx)
    s.send(ctx, Finished(verify_data=s.finished("server")))
    return ExpectClientCcs12(s)


# -- full handshake -----------------------------------------------------------------


@dataclass
class Choice12:
    suite: Suite12
    certified: Any
    group: NamedGroup | None
    scheme: SignatureScheme | None


def _full_handshake(ctx: Context, offer: Offer, transcript: Transcript) -> State:
    cfg, ch = ctx.config, offer.hello
    choice = choose(ctx, offer)
    s = Session12(
        choice.suite, ch.random, _server_random(ctx), transcript, offer.ems, offer.etm and not choice.suite.aead
    )
    s.server_name, s.group, s.signature_scheme = offer.server_name, choice.group, choice.scheme
    alpn = ch.ext(E.application_layer_protocol_negotiation)
    s.alpn = N.choose_alpn(alpn.value if alpn else (), cfg.alpn)
    s.session_id = ctx.randomness(32) if cfg.session_cache is not None else b""
    s.issue_ticket = offer.tickets and cfg.session_tickets
    s.extra["client_version"] = ch.legacy_version
    staple = staple_for(ctx, ch, choice.certified)
    s.extra["staple"] = staple
    _start_transcript(s, ch)
    s.send(ctx, _server_hello(ctx, offer, s))
    s.send(ctx, Certificate12(certificates=choice.certified.der_chain))
    if staple is not None:
        s.send(ctx, CertificateStatus(ocsp_response=staple))  # RFC 6066, Section 8
    if choice.suite.kx != "RSA":
        s.send(ctx, _server_key_exchange(ctx, s, choice))
    if cfg.client_auth != "none":
        s.send(ctx, _certificate_request(ctx))
    s.send(ctx, ServerHelloDone())
    s.extra["certified"] = choice.certified
    report_choice(ctx, choice.certified, offer.server_name)
    if cfg.client_auth != "none":
        return ExpectClientCertificate12(s)
    return ExpectClientKeyExchange12(s)


def choose(ctx: Context, offer: Offer) -> Choice12:
    """The server's preferred TLS 1.2 suite that the client offers and that one of
    our certificates, a shared group and a shared signature scheme can serve."""
    cfg, client_suites = ctx.config, offer.hello.cipher_suites
    ours = [s for s in cfg.cipher_suites if s in TLS12_SUITES]
    order = N.suite_order(client_suites, ours, cfg.prefer_client_suites)
    for suite_id in order:
        choice = _try_suite(ctx, offer, TLS12_SUITES[suite_id])
        if choice is not None:
            return choice
    offered = ", ".join(str(s) for s in client_suites if s in TLS12_SUITES) or "(no TLS 1.2 suite)"
    raise AlertError(
        FAILURE,
        f"no common cipher suite: client offered {offered}, server accepts "
        f"{', '.join(str(s) for s in ours) or '(none)'} (with its certificates and groups)",
    )


def _try_suite(ctx: Context, offer: Offer, suite: Suite12) -> Choice12 | None:
    if not suite.aead and not offer.etm:
        return None  # CBC only with encrypt-then-MAC (RFC 7366)
    group = _group_for(ctx, offer, suite)
    if suite.kx != "RSA" and group is None:
        return None
    for certified in candidates(ctx, offer.server_name):
        if not _cert_fits(certified, suite):
            continue
        if suite.kx == "RSA":
            return Choice12(suite, certified, None, None)
        scheme = _signature_scheme(ctx, offer, certified)
        if scheme is not None:
            return Choice12(suite, certified, group, scheme)
    return None


def _group_for(ctx: Context, offer: Offer, suite: Suite12) -> NamedGroup | None:
    ours = ctx.config.groups
    if suite.kx == "ECDHE":
        # RFC 8422, Section 4: a client with no supported_groups supports P-256 (and P-384).
        client = offer.groups or (NamedGroup.secp256r1, NamedGroup.secp384r1)
        return next((g for g in ours if g in _ECDHE_GROUPS and g in client), None)
    if suite.kx == "DHE":
        client_ff = [g for g in offer.groups if g in kx.FFDHE_GROUPS]
        if not client_ff:
            # RFC 7919, Section 4: a client that names no FFDHE group takes the server's.
            return next((g for g in ours if g in kx.FFDHE_GROUPS), NamedGroup.ffdhe2048)
        return next((g for g in ours if g in client_ff), None)
    return None


def _cert_fits(certified: Any, suite: Suite12) -> bool:
    key = certified.private_key
    if suite.auth == "RSA":
        return isinstance(key, rsa.RSAPrivateKey)
    return isinstance(key, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))


def _signature_scheme(ctx: Context, offer: Offer, certified: Any) -> SignatureScheme | None:
    # RFC 5246, Section 7.4.1.4.1: without signature_algorithms the client means
    # SHA-1, which glasstls does not sign with.
    for scheme in offer.signature_schemes:
        if scheme in ctx.config.signature_schemes and scheme_fits_key(certified.private_key, scheme, tls13=False):
            return SignatureScheme(scheme)
    return None


def _server_random(ctx: Context) -> bytes:
    # RFC 8446, Section 4.1.3: a server able to do TLS 1.3 marks a TLS 1.2 hello.
    if ctx.config.tls_max >= ProtocolVersion.TLSv1_3:
        return ctx.randomness(24) + DOWNGRADE_TLS12
    return ctx.randomness(32)


def _start_transcript(s: Session12, ch: ClientHello) -> None:
    s.transcript.start(s.suite.prf_hash)
    s.transcript.add(ch.raw)


def _server_hello(ctx: Context, offer: Offer, s: Session12) -> ServerHello:
    exts: list[Extension] = []

    def add(ext_type: E, value: object) -> None:
        exts.append(Extension.make(ext_type, value, X.SH))

    if offer.secure_renegotiation:
        add(E.renegotiation_info, b"")  # RFC 5746, Section 3.6
    if s.extended_master_secret:
        add(E.extended_master_secret, True)
    if s.suite.kx == "ECDHE" and offer.hello.ext(E.ec_point_formats) is not None:
        add(E.ec_point_formats, (0,))
    if s.issue_ticket:
        add(E.session_ticket, b"")
    if s.alpn is not None:
        add(E.application_layer_protocol_negotiation, (s.alpn.encode(),))
    if s.encrypt_then_mac:
        add(E.encrypt_then_mac, True)
    if offer.server_name is not None and not s.resumed:
        add(E.server_name, True)
    if s.extra.get("staple") is not None and not s.resumed:
        add(E.status_request, True)  # RFC 6066, Section 8: empty; a CertificateStatus follows Certificate
    return ServerHello(
        random=s.server_random, legacy_session_id_echo=s.session_id, cipher_suite=s.suite.suite, extensions=tuple(exts)
    )


def _server_key_exchange(ctx: Context, s: Session12, choice: Choice12) -> ServerKeyExchange:
    """RFC 8422, Section 5.4 / RFC 5246, Section 7.4.3: our share, signed with both randoms."""
    assert choice.group is not None and choice.scheme is not None
    share = kx.generate_key_share(choice.group, ctx.randomness)
    s.extra["share"] = share
    if s.suite.kx == "ECDHE":
        params = ecdhe_params_bytes(choice.group, share.public_bytes())
    else:
        p, g = kx.ffdhe_parameters(choice.group)
        plen = (p.bit_length() + 7) // 8
        params = dhe_params_bytes(p.to_bytes(plen, "big"), g.to_bytes(1, "big"), share.public_bytes())
    content = s.client_random + s.server_random + params
    signature = sign(choice.certified.private_key, choice.scheme, content, ctx.randomness, tls13=False)
    if s.suite.kx == "ECDHE":
        return ServerKeyExchange.for_ecdhe(choice.group, share.public_bytes(), choice.scheme, signature)
    p, g = kx.ffdhe_parameters(choice.group)
    plen = (p.bit_length() + 7) // 8
    return ServerKeyExchange.for_dhe(
        p.to_bytes(plen, "big"), g.to_bytes(1, "big"), share.public_bytes(), choice.scheme, signature
    )


def _certificate_request(ctx: Context) -> CertificateRequest12:
    """RFC 5246, Section 7.4.4: rsa_sign(1) and ecdsa_sign(64), our schemes, our client CAs."""
    store = ctx.config.client_trust_store
    authorities = tuple(c.subject.public_bytes() for c in store.certificates) if store is not None else ()
    schemes = tuple(ctx.config.signature_schemes)
    # The message carries the open enum, as a parsed one does: every renderer names its values.
    types = (ClientCertificateType.rsa_sign, ClientCertificateType.ecdsa_sign)
    return CertificateRequest12(certificate_types=types, signature_algorithms=schemes, authorities=authorities)


def _send_ticket(ctx: Context, s: Session12) -> None:
    state = s.session_state(ctx, lifetime=TICKET_LIFETIME)
    ticket = ctx.config.ticket_keys.seal(state, ctx.now())
    s.send(ctx, NewSessionTicket12(lifetime_hint=TICKET_LIFETIME, ticket=ticket))


# -- the client's flight ------------------------------------------------------------


class ExpectClientCertificate12(State12):
    expects = (Certificate12,)
    step = "waiting for the client's Certificate (TLS 1.2)"
    transitions = (("Certificate12", "ExpectClientKeyExchange12"),)

    def handle(self, ctx: Context, msg: Certificate12) -> State:  # type: ignore[override]
        s = self.s
        s.transcript.add(msg.raw)
        if not msg.certificates:
            # RFC 5246, Section 7.4.6: a server that requires one answers handshake_failure.
            require(
                ctx.config.client_auth != "required",
                FAILURE,
                "client sent no certificate, and this server requires one (client_auth='required')",
            )
            return ExpectClientKeyExchange12(s)
        chain = parse_der_chain(msg.certificates, "client")
        verify_client(ctx, chain)
        s.peer_chain = chain
        return ExpectClientKeyExchange12(s)


class ExpectClientKeyExchange12(State12):
    expects = (ClientKeyExchange,)
    step = "waiting for ClientKeyExchange"
    transitions = (
        ("ClientKeyExchange", "ExpectClientCertificateVerify12", "the client sent a certificate"),
        ("ClientKeyExchange", "ExpectClientCcs12"),
    )

    def handle(self, ctx: Context, msg: ClientKeyExchange) -> State:  # type: ignore[override]
        s = self.s
        if s.suite.kx == "RSA":
            pre_master = rsa_pre_master(ctx, s.extra["certified"].private_key, msg.rsa_encrypted(), s)
        elif s.suite.kx == "DHE":
            share, yc = s.extra["share"], msg.dhe_public()
            plen = kx.key_share_length(share.group) or 0
            require(0 < len(yc) <= plen, ILLEGAL, f"client DH public value of {len(yc)} bytes for {share.group.name}")
            pre_master = kx.strip_leading_zeros(share.exchange(yc.rjust(plen, b"\x00")))
        else:
            pre_master = s.extra["share"].exchange(msg.ecdhe_public())
        s.transcript.add(msg.raw)
        s.derive_master(ctx, pre_master)
        if s.peer_chain:
            return ExpectClientCertificateVerify12(s)
        return ExpectClientCcs12(s)


def rsa_pre_master(ctx: Context, key: rsa.RSAPrivateKey, encrypted: bytes, s: Session12) -> bytes:
    """RFC 5246, Section 7.4.7.1, with the Bleichenbacher/ROBOT defence.

    A random pre-master secret is drawn first. Whatever goes wrong with the
    decryption (padding, length, version) the handshake continues with that
    random value through the same code path, so the only symptom is a
    Finished that does not match: the same decrypt_error a wrong key gives.
    """
    fallback = ProtocolVersion.TLSv1_2.to_bytes(2, "big") + ctx.randomness(46)
    try:
        candidate = key.decrypt(encrypted, padding.PKCS1v15())
    except ValueError:
        candidate = b""
    good_length = len(candidate) == 48
    # RFC 5246: the version is the one the client offered in its ClientHello.
    expected_version = s.extra.get("client_version", ProtocolVersion.TLSv1_2).to_bytes(2, "big")
    good_version = hmac.compare_digest(candidate[:2] if good_length else b"\x00\x00", expected_version)
    return candidate if (good_length and good_version) else fallback


class ExpectClientCertificateVerify12(State12):
    expects = (CertificateVerify,)
    step = "waiting for the client's CertificateVerify (TLS 1.2)"
    transitions = (("CertificateVerify", "ExpectClientCcs12"),)

    def handle(self, ctx: Context, msg: CertificateVerify) -> State:  # type: ignore[override]
        s = self.s
        check_peer_signature(
            ctx,
            "client",
            s.peer_chain[0],
            msg.algorithm,
            msg.signature,
            s.transcript.messages(),
            ctx.config.signature_schemes,
            tls13=False,
            subject="client CertificateVerify",
            success=f"{msg.algorithm.name} over the handshake messages",
            what="client CertificateVerify signature",
        )
        s.transcript.add(msg.raw)
        s.client_auth = True
        return ExpectClientCcs12(s)


class ExpectClientCcs12(State12):
    expects = ()
    step = "waiting for the client's ChangeCipherSpec"
    transitions = (("ChangeCipherSpec", "ExpectClientFinished12", "next read keys"),)

    def on_change_cipher_spec(self, ctx: Context) -> State:  # type: ignore[override]
        self.s.install_read(ctx)
        return ExpectClientFinished12(self.s)


class ExpectClientFinished12(State12):
    expects = (Finished,)
    step = "waiting for the client's Finished (TLS 1.2)"
    transitions = (("Finished", "ServerConnected12", "if full, sends [ChangeCipherSpec] Finished"),)

    def handle(self, ctx: Context, msg: Finished) -> State:  # type: ignore[override]
        s, cfg = self.s, ctx.config
        proof = s.check_finished(ctx, "client", msg.verify_data)
        s.transcript.add(msg.raw)
        if not s.resumed:
            if s.issue_ticket:
                _send_ticket(ctx, s)
            s.install_write(ctx)
            s.send(ctx, Finished(verify_data=s.finished("server")))
            if s.session_id and cfg.session_cache is not None:
                cfg.session_cache.put(s.session_id, s.session_state(ctx), ctx.now())
        ctx.complete(PeerVerified(proof), s.parameters())
        return ServerConnected12(s)


class ServerConnected12(State12, Connected):
    """Application data. A ClientHello now would be a renegotiation: refused."""

    expects = (ClientHello,)
    step = "exchanging application data"
    transitions = (("ClientHello", "ServerConnected12", "renegotiation refused with a no_renegotiation warning"),)

    version_label = "TLSv1.2"

    def handle(self, ctx: Context, msg: ClientHello) -> State:  # type: ignore[override]
        # RFC 5746, Section 4.4 and RFC 5246, Section 7.2.2: decline with a warning.
        ctx.send_warning(AlertDescription.no_renegotiation)
        return self
