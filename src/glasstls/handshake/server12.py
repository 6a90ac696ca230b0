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

Each state holds ``s``, the one :class:`~.common12.Handshake12` of the
connection, and only what it alone needs (the keys to read the
ClientKeyExchange with), handed on as typed values from state to state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric import rsa

from ..config import ServerConfig
from ..crypto import kx
from ..crypto.signatures import sign
from ..crypto.suites import TLS12_SUITES, Suite12
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, ClientCertificateType, ProtocolVersion
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..session.cache import UNKNOWN_SESSION, SessionCache
from ..session.state import SessionState
from ..session.stores import NoTicketKey, where
from ..session.tickets import TicketKeyRing
from ..wire import extensions as X
from ..wire.extensions import Extension
from ..wire.handshake import DOWNGRADE_TLS12, CertificateVerify, ClientHello, Finished, Handshake, ServerHello
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
from .base import AnyState, Context, PeerVerified, State, require
from .certselect import acknowledges_name, check_name_served, report_choice, requested_authorities
from .choice12 import Choice12, Offer, choose, offer_of
from .common12 import DEFAULT_TICKET_LIFETIME, Connected12, Handshake12, KeyedHandshake12
from .peer_auth import (
    check_peer_signature,
    der_chain,
    no_client_certificate,
    parse_der_chain,
    session_client_refusal,
    verify_client,
)
from .premaster12 import dhe_pre_master, rsa_pre_master
from .status import staple_for

ILLEGAL = AlertDescription.illegal_parameter
FAILURE = AlertDescription.handshake_failure
# Enum members read on every handshake's path, read once here: each E.name is a descriptor call.
TLS12, TLS13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
_RECORD_SIZE_LIMIT = E.record_size_limit
TICKET_LIFETIME = 7200  # seconds (RFC 5077, Section 3.3: a hint to the client)
M = TypeVar("M", bound=Handshake)  # the message(s) a state waits for


class ServerState12(State[M]):
    """A TLS 1.2 server state: TLS 1.2's messages."""

    parsers = TLS12_PARSERS


@dataclass(frozen=True)
class RsaKeyTransport:
    """RSA key transport (RFC 5246, Section 7.4.7.1): the client encrypts the
    pre-master secret to our certificate's key."""

    private_key: rsa.RSAPrivateKey
    # The legacy_version of the ClientHello, which the pre-master secret must start
    # with: checked, in constant time, by the ROBOT defence (rsa_pre_master).
    client_version: int


# What the server reads the client's ClientKeyExchange with: its RSA key, or the
# ephemeral share its ServerKeyExchange sent ((EC)DHE).
KeyExchangeKeys = RsaKeyTransport | kx.KeyShare


def on_client_hello(ctx: Context, ch: ClientHello) -> AnyState:
    """RFC 5246, Section 7.4.1.2: decide resumption or a full handshake."""
    config: ServerConfig = ctx.config
    ctx.set_version(TLS12)
    # RFC 5246, Section 7.4.1.2: null compression must be offered.
    require(0 in ch.compression_methods, ILLEGAL, "ClientHello does not offer the null compression method")
    offer = offer_of(ch)
    if config.require_extended_master_secret and not offer.ems:
        raise AlertError(
            FAILURE, "client does not support extended master secret (RFC 7627), which this server requires"
        )
    transcript = Transcript()
    resumed = _find_session(ctx, offer)
    if resumed is not None:
        return _resume(ctx, offer, transcript, *resumed)
    return _full_handshake(ctx, offer, transcript)


# -- resumption ---------------------------------------------------------------------


def _find_session(ctx: Context, offer: Offer) -> tuple[SessionState, bool] | None:
    """A resumable session from the client's ticket or session ID, and whether it came
    by ticket; or None.

    A ticket that cannot be used (corrupt, expired, sealed under a retired
    key) means a full handshake, never a failure (RFC 5077, Section 3.4).
    """
    config: ServerConfig = ctx.config
    now = ctx.now()
    if config.session_tickets and offer.ticket:
        keys: TicketKeyRing = config.ticket_keys
        state, reason = keys.open(offer.ticket, now)
        ctx.verified("session ticket", state is not None, f"{reason} {where(keys.source)}")
        if state is not None and _resumable(ctx, offer, state):
            return state, True
    sid = offer.hello.legacy_session_id
    cache: SessionCache | None = config.session_cache
    if sid and cache is not None:
        state, reason = cache.lookup(sid, now)
        # An unknown ID is every new client's (TLS 1.3 clients send a random one): not worth a line.
        if state is None and reason != UNKNOWN_SESSION:
            ctx.verified("session ID", False, f"{reason} {where(cache.source)}: full handshake")
        if state is not None and _resumable(ctx, offer, state):
            if ctx.tracing:  # the line is composed only for a trace that shows it
                ctx.verified("session ID", True, f"{reason} {where(cache.source)}")
            ctx.session_id_cached = sid
            return state, False
    return None


def _resumable(ctx: Context, offer: Offer, state: SessionState) -> bool:
    """RFC 5246, Section 7.4.1.2; RFC 7627, Section 5.3; RFC 6066, Section 3."""
    suite = state.cipher_suite  # an int, which finds and equals its CipherSuite member
    known = TLS12_SUITES.get(suite)  # type: ignore[call-overload]  # (the same: an IntEnum's hash is its int's)
    # This connection's session (TLS 1.2, the server name) with a suite we still serve: what the
    # hello must then offer, or be refused; anything else about it only means a full handshake.
    ours = known is not None and suite in ctx.config.cipher_suites
    same = state.matches(TLS12, suite, state.extended_master_secret, offer.server_name)
    if ours and same:
        _check_resuming_hello(offer, state, known)
    usable = (
        ours
        and same
        and state.extended_master_secret == offer.ems
        # RFC 7366, Section 3.1: a CBC session made with encrypt-then-MAC resumes only with it (else
        # a full handshake, which may still choose MAC-then-encrypt); one made without it resumes
        # with what this hello asks (MAC-then-encrypt, or an upgrade to encrypt-then-MAC).
        and (known.aead or offer.etm or not state.encrypt_then_mac)
    )
    if not usable:
        ctx.verified(
            "session", False, "saved session does not match this hello (version, suite, EMS, SNI or encrypt-then-MAC)"
        )
        return False
    if not state.extended_master_secret:
        # RFC 7627, Section 5.3: a session without the extended master secret, resumed by a hello without
        # it, is the triple handshake's way in; the server SHOULD abort. A full handshake instead: the
        # client is served, and the session it gets is bound to its own handshake if it offers EMS now.
        ctx.verified("session", False, "saved session made without the extended master secret: not resumed")
        return False
    refusal = session_client_refusal(ctx, state.peer_certificates)
    if refusal:
        ctx.verified("session", False, f"saved session not resumed: {refusal}")
        return False
    check_name_served(ctx, offer.server_name)  # unrecognized_name, as a full handshake would say
    return True


def _check_resuming_hello(offer: Offer, state: SessionState, suite: Suite12) -> None:
    """Two MUSTs of a hello that resumes a session this server would resume, each broken only by a
    client that is wrong: the abort OpenSSL makes for a ticket, rather than a full handshake (which
    BoringSSL falls back to; RFC 5246 puts the MUST on the client)."""
    if state.cipher_suite not in offer.hello.cipher_suites:
        raise AlertError(
            AlertDescription.illegal_parameter,
            f"ClientHello resumes a session of {suite.suite.name} without offering that suite "
            "(RFC 5246, Section 7.4.1.2)",
        )
    if state.extended_master_secret and not offer.ems:
        raise AlertError(
            AlertDescription.handshake_failure,
            "ClientHello resumes a session made with the extended master secret without offering it "
            "(RFC 7627, Section 5.3)",
        )


def _resume(ctx: Context, offer: Offer, transcript: Transcript, state: SessionState, by_ticket: bool) -> AnyState:
    """RFC 5246, Section 7.3: ServerHello [NewSessionTicket] ChangeCipherSpec Finished."""
    ch, config = offer.hello, ctx.config
    suite = TLS12_SUITES[state.cipher_suite]  # type: ignore[index]  # an int finds its member (_resumable)
    # RFC 7301, Section 3.2: ALPN is the connection's, not the session's: chosen anew from this hello.
    offered_alpn = ch.ext(E.application_layer_protocol_negotiation)
    hs = Handshake12(
        suite,
        ch.random,
        _server_random(ctx),
        transcript,
        state.extended_master_secret,
        offer.etm and not suite.aead,  # RFC 7366, Section 3: no encrypt_then_mac answer for an AEAD suite
        session_id=ch.legacy_session_id,  # RFC 5077, Section 3.4: accepting a ticket echoes the client's session ID
        server_name=offer.server_name,
        alpn=N.choose_alpn(offered_alpn.value if offered_alpn else (), config.alpn, config.alpn_required),
        issue_ticket=by_ticket
        and offer.tickets
        and config.session_tickets
        and config.ticket_keys.needs_renewal(offer.ticket, ctx.now()),
        resumed=True,
        created=state.created,  # (a renewed ticket ends when the session would have)
    )
    if state.peer_certificates:  # the client proved this chain in the session's full handshake
        hs.peer_chain = parse_der_chain(state.peer_certificates, "client")
        hs.client_auth = True
    _start_transcript(hs, ch)
    limit = _take_record_limit(ctx, offer)
    hs.send(ctx, _server_hello(offer, hs, stapled=False, record_limit=limit))
    s = hs.resume_master(ctx, state.master_secret)  # reported once the ServerHello is out, as in a full handshake
    if s.issue_ticket:
        _send_ticket(ctx, s)
    s.install_write(ctx)
    s.send(ctx, Finished(verify_data=s.finished("server")))
    return ExpectClientCcs12(s)


# -- full handshake -----------------------------------------------------------------


def _full_handshake(ctx: Context, offer: Offer, transcript: Transcript) -> AnyState:
    """RFC 5246, Section 7.3: ServerHello Certificate [CertificateStatus] [ServerKeyExchange]
    [CertificateRequest] ServerHelloDone, then wait for the client's flight."""
    config: ServerConfig = ctx.config
    ch = offer.hello
    choice = choose(ctx, offer)
    server_random = _server_random(ctx)  # before the session ID: seeded runs replay this order of draws
    alpn = ch.ext(E.application_layer_protocol_negotiation)
    s = Handshake12(
        choice.suite,
        ch.random,
        server_random,
        transcript,
        offer.ems,
        offer.etm and not choice.suite.aead,  # RFC 7366, Section 3: no encrypt_then_mac answer for an AEAD suite
        alpn=N.choose_alpn(alpn.value if alpn else (), config.alpn, config.alpn_required),
        session_id=ctx.randomness(32) if config.session_cache is not None else b"",
        server_name=offer.server_name,
        issue_ticket=offer.tickets and config.session_tickets,
        group=choice.group,
        signature_scheme=choice.scheme,
    )
    keys = _send_server_flight(ctx, offer, s, choice)
    report_choice(ctx, choice.certified, offer.server_name)
    if config.client_auth != "none":
        return ExpectClientCertificate12(s, keys)
    return ExpectClientKeyExchange12(s, keys)


def _send_server_flight(ctx: Context, offer: Offer, s: Handshake12, choice: Choice12) -> KeyExchangeKeys:
    """The server's flight up to ServerHelloDone; the keys to read the ClientKeyExchange with."""
    config: ServerConfig = ctx.config
    staple = staple_for(ctx, offer.hello, choice.certified)
    _start_transcript(s, offer.hello)
    name = offer.server_name
    name_used = name is not None and acknowledges_name(ctx, choice.certified, name)
    limit = _take_record_limit(ctx, offer)
    s.send(ctx, _server_hello(offer, s, stapled=staple is not None, name_used=name_used, record_limit=limit))
    s.send(ctx, Certificate12(certificates=choice.certified.der_chain))
    if staple is not None:
        s.send(ctx, CertificateStatus(ocsp_response=staple))  # RFC 6066, Section 8
    keys: KeyExchangeKeys
    if choice.suite.kx == "RSA":
        key = choice.certified.private_key
        assert isinstance(key, rsa.RSAPrivateKey)  # choice12._cert_fits gives RSA suites only RSA keys
        keys = RsaKeyTransport(key, offer.hello.legacy_version)
    else:
        ske, keys = _server_key_exchange(ctx, s, choice)
        s.send(ctx, ske)
    if config.client_auth != "none":
        s.send(ctx, _certificate_request(ctx))
    s.send(ctx, ServerHelloDone())
    return keys


def _server_random(ctx: Context) -> bytes:
    # RFC 8446, Section 4.1.3: a server able to do TLS 1.3 (a TLS 1.3 suite configured) marks a TLS 1.2 hello.
    if TLS13 in ctx.config.versions:
        return ctx.randomness(24) + DOWNGRADE_TLS12
    return ctx.randomness(32)


def _start_transcript(s: Handshake12, ch: ClientHello) -> None:
    s.transcript.start(s.suite.prf_hash)
    s.transcript.add(ch.raw)


# The ServerHello's extensions whose value never changes, made once (RFC 5746, Section 3.6: an empty
# renegotiation_info; RFC 8422, Section 5.2: uncompressed points; the others empty).
_SH_RENEGOTIATION_INFO = Extension.make(E.renegotiation_info, b"", X.SH)
_SH_EMS = Extension.make(E.extended_master_secret, True, X.SH)
_SH_POINT_FORMATS = Extension.make(E.ec_point_formats, (0,), X.SH)
_SH_SESSION_TICKET = Extension.make(E.session_ticket, b"", X.SH)
_SH_ETM = Extension.make(E.encrypt_then_mac, True, X.SH)
_SH_SERVER_NAME = Extension.make(E.server_name, True, X.SH)
_SH_STATUS_REQUEST = Extension.make(E.status_request, True, X.SH)
_SH_RECORD_LIMIT = Extension.make(E.record_size_limit, 1 << 14, X.SH)  # TLS 1.2's largest (RFC 8449, Section 4)


def _take_record_limit(ctx: Context, offer: Offer) -> int | None:
    """RFC 8449, Section 4: the client's record_size_limit bounds our records' plaintext (in TLS 1.2
    the value itself); the limit the ServerHello announces back, None: none (the client sent none,
    or the configuration takes none). TLS 1.2's largest is 2^14, without TLS 1.3's type byte."""
    ours: int | None = ctx.config.record_size_limit
    if offer.record_size_limit is None or not ours:
        return None
    ctx.set_peer_record_limit_12(offer.record_size_limit)
    announced = ours if ours < 1 << 14 else 1 << 14
    ctx.limit_incoming_records(announced)  # negotiated: from the client's ChangeCipherSpec on
    return announced


def _server_hello(
    offer: Offer, s: Handshake12, stapled: bool, name_used: bool = False, record_limit: int | None = None
) -> ServerHello:
    """``name_used``: the server_name chose the certificate (certselect.acknowledges_name), which
    an empty server_name says (RFC 6066, Section 3; never when resuming). ``record_limit``: the
    record_size_limit to announce (_take_record_limit)."""
    exts: list[Extension] = []
    if offer.secure_renegotiation:
        exts.append(_SH_RENEGOTIATION_INFO)
    if s.extended_master_secret:
        exts.append(_SH_EMS)
    if s.suite.kx == "ECDHE" and offer.point_formats:
        exts.append(_SH_POINT_FORMATS)
    if s.issue_ticket:
        exts.append(_SH_SESSION_TICKET)
    if s.alpn is not None:
        exts.append(Extension.make(E.application_layer_protocol_negotiation, (s.alpn.encode(),), X.SH))
    if s.encrypt_then_mac:
        exts.append(_SH_ETM)
    if name_used and not s.resumed:
        exts.append(_SH_SERVER_NAME)
    if stapled and not s.resumed:
        exts.append(_SH_STATUS_REQUEST)  # RFC 6066, Section 8: empty; a CertificateStatus follows Certificate
    if record_limit == 1 << 14:
        exts.append(_SH_RECORD_LIMIT)
    elif record_limit is not None:
        exts.append(Extension.make(_RECORD_SIZE_LIMIT, record_limit, X.SH))
    return ServerHello(
        random=s.server_random, legacy_session_id_echo=s.session_id, cipher_suite=s.suite.suite, extensions=tuple(exts)
    )


def _server_key_exchange(ctx: Context, s: Handshake12, choice: Choice12) -> tuple[ServerKeyExchange, kx.KeyShare]:
    """RFC 8422, Section 5.4 / RFC 5246, Section 7.4.3: our share, signed with both randoms."""
    assert choice.group is not None and choice.scheme is not None  # _try_suite chose both for (EC)DHE
    share = kx.generate_key_share(choice.group, ctx.randomness)
    if s.suite.kx == "ECDHE":
        params = ecdhe_params_bytes(choice.group, share.public_bytes())
    else:
        p, g = kx.ffdhe_parameters(choice.group)
        p_bytes, g_bytes = p.to_bytes((p.bit_length() + 7) // 8, "big"), g.to_bytes(1, "big")
        params = dhe_params_bytes(p_bytes, g_bytes, share.public_bytes())
    content = s.client_random + s.server_random + params
    signature = sign(choice.certified.private_key, choice.scheme, content, ctx.randomness, tls13=False)
    if s.suite.kx == "ECDHE":
        return ServerKeyExchange.for_ecdhe(choice.group, share.public_bytes(), choice.scheme, signature), share
    return ServerKeyExchange.for_dhe(p_bytes, g_bytes, share.public_bytes(), choice.scheme, signature), share


def _certificate_request(ctx: Context) -> CertificateRequest12:
    """RFC 5246, Section 7.4.4: rsa_sign(1) and ecdsa_sign(64), our schemes, our client CAs."""
    config: ServerConfig = ctx.config
    authorities = requested_authorities(ctx)
    schemes = tuple(config.signature_schemes)
    # The message carries the open enum, as a parsed one does: every renderer names its values.
    types = (ClientCertificateType.rsa_sign, ClientCertificateType.ecdsa_sign)
    return CertificateRequest12(certificate_types=types, signature_algorithms=schemes, authorities=authorities)


def _session(ctx: Context, s: KeyedHandshake12, lifetime: int = DEFAULT_TICKET_LIFETIME) -> SessionState | None:
    """The session this handshake leaves for resumption (RFC 5246, Section 7.3; RFC 5077, Section 4),
    the client's chain in it, so that a resumption still knows who the client is (RFC 5077's
    client_identity; as our TLS 1.3 tickets keep it); None when it cannot be kept."""
    try:
        return s.session_state(
            ctx, lifetime=lifetime, peer_certificates=der_chain(s.peer_chain) if s.peer_chain else ()
        )
    except ValueError as exc:  # a client chain a session cannot hold
        ctx.verified("session", False, f"not kept for resumption: {exc}")
        return None


def _send_ticket(ctx: Context, s: KeyedHandshake12) -> None:
    """RFC 5077, Section 3.3: the session, sealed under our ticket key, before our CCS."""
    state = _session(ctx, s, TICKET_LIFETIME)
    keys: TicketKeyRing = ctx.config.ticket_keys
    ticket = b""  # (the ServerHello promised a NewSessionTicket: an empty one says "no ticket after all")
    try:
        if state is not None:
            ticket = keys.seal(state, ctx.now())
    except NoTicketKey as exc:
        ctx.verified("session ticket", False, f"no ticket issued: {exc} {where(keys.source)}")
    except ValueError as exc:  # a session too large for a ticket
        ctx.verified("session ticket", False, f"no ticket issued: {exc}")
    s.send(ctx, NewSessionTicket12(lifetime_hint=TICKET_LIFETIME if ticket else 0, ticket=ticket))


# -- the client's flight ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ExpectClientCertificate12(ServerState12[Certificate12]):
    s: Handshake12
    keys: KeyExchangeKeys  # to read the ClientKeyExchange that follows

    expects = (Certificate12,)
    step = "waiting for the client's Certificate (TLS 1.2)"
    transitions = (("Certificate12", "ExpectClientKeyExchange12"),)

    def handle(self, ctx: Context, msg: Certificate12) -> AnyState:
        self.s.transcript.add(msg.raw)
        if not msg.certificates:
            # RFC 5246, Section 7.4.6: a server that requires one answers handshake_failure.
            if ctx.config.client_auth == "required":
                raise no_client_certificate(FAILURE)
            return ExpectClientKeyExchange12(self.s, self.keys)
        chain = parse_der_chain(msg.certificates, "client")
        verify_client(ctx, chain)
        self.s.peer_chain = chain
        return ExpectClientKeyExchange12(self.s, self.keys)


@dataclass(frozen=True, eq=False)
class ExpectClientKeyExchange12(ServerState12[ClientKeyExchange]):
    s: Handshake12
    keys: KeyExchangeKeys

    expects = (ClientKeyExchange,)
    step = "waiting for ClientKeyExchange"
    transitions = (
        ("ClientKeyExchange", "ExpectClientCertificateVerify12", "the client sent a certificate"),
        ("ClientKeyExchange", "ExpectClientCcs12"),
    )

    def handle(self, ctx: Context, msg: ClientKeyExchange) -> AnyState:
        keys = self.keys
        if isinstance(keys, RsaKeyTransport):
            pre_master = rsa_pre_master(ctx, keys.private_key, msg.rsa_encrypted(), keys.client_version)
        elif self.s.suite.kx == "DHE":
            pre_master = dhe_pre_master(keys, msg.dhe_public())
        else:
            pre_master = keys.exchange(msg.ecdhe_public())
        self.s.transcript.add(msg.raw)
        s = self.s.derive_master(ctx, pre_master)
        if s.peer_chain:
            return ExpectClientCertificateVerify12(s)
        return ExpectClientCcs12(s)


@dataclass(frozen=True, eq=False)
class ExpectClientCertificateVerify12(ServerState12[CertificateVerify]):
    s: KeyedHandshake12

    expects = (CertificateVerify,)
    step = "waiting for the client's CertificateVerify (TLS 1.2)"
    transitions = (("CertificateVerify", "ExpectClientCcs12"),)

    def handle(self, ctx: Context, msg: CertificateVerify) -> AnyState:
        s = self.s
        # RFC 5246, Section 7.4.8: signed over every handshake message so far.
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


@dataclass(frozen=True, eq=False)
class ExpectClientCcs12(ServerState12[Handshake]):
    s: KeyedHandshake12

    expects = ()
    step = "waiting for the client's ChangeCipherSpec"
    unexpected_note = (
        " (a handshake record came where the client's ChangeCipherSpec belongs: its Finished must follow "
        "one, RFC 5246, Section 7.4.9)"
    )
    transitions = (("ChangeCipherSpec", "ExpectClientFinished12", "next read keys"),)

    def on_change_cipher_spec(self, ctx: Context) -> AnyState:
        self.s.install_read(ctx)
        return ExpectClientFinished12(self.s)


@dataclass(frozen=True, eq=False)
class ExpectClientFinished12(ServerState12[Finished]):
    s: KeyedHandshake12

    expects = (Finished,)
    step = "waiting for the client's Finished (TLS 1.2)"
    transitions = (("Finished", "ServerConnected12", "if full, sends [ChangeCipherSpec] Finished"),)

    def handle(self, ctx: Context, msg: Finished) -> AnyState:
        s = self.s
        proof = s.check_finished(ctx, "client", msg.verify_data)
        s.transcript.add(msg.raw)
        if not s.resumed:
            # RFC 5246, Section 7.3: in a full handshake the server's CCS and Finished come last.
            if s.issue_ticket:
                _send_ticket(ctx, s)
            s.install_write(ctx)
            s.send(ctx, Finished(verify_data=s.finished("server")))
            cache: SessionCache | None = ctx.config.session_cache
            if s.session_id and cache is not None:
                state = _session(ctx, s)
                if state is not None:
                    cache.put(s.session_id, state, ctx.now())
                    ctx.session_id_cached = s.session_id
        ctx.complete(PeerVerified(proof), s.parameters())
        return ServerConnected12(s)


@dataclass(frozen=True, eq=False)
class ServerConnected12(ServerState12[ClientHello], Connected12[ClientHello]):
    """Application data. A ClientHello now would be a renegotiation: refused."""

    s: KeyedHandshake12

    expects = (ClientHello,)
    step = "exchanging application data"
    transitions = (("ClientHello", "ServerConnected12", "renegotiation refused with a no_renegotiation warning"),)

    def handle(self, ctx: Context, msg: ClientHello) -> AnyState:
        # RFC 5746, Section 4.4 and RFC 5246, Section 7.2.2: decline with a warning.
        ctx.send_warning(AlertDescription.no_renegotiation)
        return self
