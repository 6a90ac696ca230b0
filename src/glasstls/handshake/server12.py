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

from ..config import CertifiedKey, ServerConfig
from ..crypto import kx
from ..crypto.signatures import SHA1_SIGNATURE_SCHEMES, key_kind, scheme_fits_key, sign
from ..crypto.suites import TLS12_SUITES, TLS13_SUITES, Suite12
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, CipherSuite, ClientCertificateType, NamedGroup, ProtocolVersion, SignatureScheme
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..profiles import refused_by_policy
from ..session.cache import UNKNOWN_SESSION, SessionCache
from ..session.state import SessionState
from ..session.stores import NoTicketKey, where
from ..session.tickets import TicketKeyRing
from ..text import listed
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
from .certselect import acknowledges_name, candidates, report_choice, requested_authorities
from .common12 import DEFAULT_TICKET_LIFETIME, Connected12, Handshake12, KeyedHandshake12, refuse_renegotiation_info
from .peer_auth import check_peer_signature, der_chain, parse_der_chain, session_client_refusal, verify_client
from .premaster12 import dhe_pre_master, rsa_pre_master
from .status import staple_for

ILLEGAL = AlertDescription.illegal_parameter
FAILURE = AlertDescription.handshake_failure
# Enum members read on every handshake's path, read once here: each E.name is a descriptor call.
TLS12, TLS13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
_SCSV = CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV
_RENEGOTIATION_INFO, _EMS, _ETM = E.renegotiation_info, E.extended_master_secret, E.encrypt_then_mac
_GROUPS, _SCHEMES, _POINT_FORMATS = E.supported_groups, E.signature_algorithms, E.ec_point_formats
_SESSION_TICKET, _SERVER_NAME = E.session_ticket, E.server_name
_RECORD_SIZE_LIMIT = E.record_size_limit
TICKET_LIFETIME = 7200  # seconds (RFC 5077, Section 3.3: a hint to the client)
_ECDHE_GROUPS = frozenset(kx.SUPPORTED_GROUPS) - kx.FFDHE_GROUPS - kx.TLS13_ONLY_GROUPS
M = TypeVar("M", bound=Handshake)  # the message(s) a state waits for


class ServerState12(State[M]):
    """A TLS 1.2 server state: TLS 1.2's messages."""

    parsers = TLS12_PARSERS


@dataclass(slots=True, eq=False)
class Offer:
    """What the client's TLS 1.2 ClientHello offers, decoded once (and never changed:
    not frozen only because a frozen dataclass costs several times more to build)."""

    hello: ClientHello
    groups: tuple[NamedGroup, ...]
    signature_schemes: tuple[SignatureScheme, ...]
    ems: bool
    etm: bool
    tickets: bool
    ticket: bytes
    secure_renegotiation: bool
    server_name: str | None
    point_formats: bool  # the client sent ec_point_formats: an ECDHE ServerHello answers it (RFC 8422, Section 5.2)
    record_size_limit: int | None  # the client's RecordSizeLimit (RFC 8449), None: it sent none


def _offer(ch: ClientHello) -> Offer:
    # One table by type for the eight extensions read here: eight ch.ext calls, even on its own
    # index, took twice as long (2.6 against 1.1 us). A hello repeats none (read_extensions
    # refuses that), so the table finds what ext() would.
    found = {ext.type: ext for ext in ch.extensions}
    reneg = found.get(_RENEGOTIATION_INFO)
    if reneg is not None:
        refuse_renegotiation_info(reneg.value)
    groups, schemes = found.get(_GROUPS), found.get(_SCHEMES)
    points = found.get(_POINT_FORMATS)
    if points is not None and groups is not None and 0 not in points.value:
        # RFC 8422, Section 5.1.2: a client naming curves must accept uncompressed points.
        raise AlertError(AlertDescription.illegal_parameter, "ec_point_formats does not list uncompressed (0)")
    ticket, sni = found.get(_SESSION_TICKET), found.get(_SERVER_NAME)
    return Offer(
        hello=ch,
        groups=groups.value if groups is not None else (),
        signature_schemes=schemes.value if schemes is not None else (),
        ems=_EMS in found,
        etm=_ETM in found,
        tickets=ticket is not None,
        ticket=ticket.value if ticket is not None else b"",
        secure_renegotiation=reneg is not None or _SCSV in ch.cipher_suites,
        server_name=sni.value if sni is not None else None,
        point_formats=points is not None,
        record_size_limit=limit.value if (limit := found.get(_RECORD_SIZE_LIMIT)) is not None else None,
    )


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
    offer = _offer(ch)
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
    refusal = session_client_refusal(ctx, state.peer_certificates)
    if refusal:
        ctx.verified("session", False, f"saved session not resumed: {refusal}")
        return False
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


@dataclass(frozen=True)
class Choice12:
    """What a full handshake serves: the suite, the certificate, and for (EC)DHE the
    group and the scheme that signs the ServerKeyExchange (None for RSA key transport)."""

    suite: Suite12
    certified: CertifiedKey
    group: NamedGroup | None
    scheme: SignatureScheme | None


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
        assert isinstance(key, rsa.RSAPrivateKey)  # _cert_fits gives RSA suites only RSA keys
        keys = RsaKeyTransport(key, offer.hello.legacy_version)
    else:
        ske, keys = _server_key_exchange(ctx, s, choice)
        s.send(ctx, ske)
    if config.client_auth != "none":
        s.send(ctx, _certificate_request(ctx))
    s.send(ctx, ServerHelloDone())
    return keys


def choose(ctx: Context, offer: Offer) -> Choice12:
    """The server's preferred TLS 1.2 suite that the client offers and that one of
    our certificates, a shared group and a shared signature scheme can serve."""
    config: ServerConfig = ctx.config
    client_suites = offer.hello.cipher_suites
    ours = [s for s in config.cipher_suites if s in TLS12_SUITES]
    order = N.suite_order(client_suites, ours, config.prefer_client_suites)
    if not offer.etm:
        # MAC-then-encrypt CBC (RFC 5246, Section 6.2.3.2) last: any other suite that fits first.
        order = sorted(order, key=lambda s: not TLS12_SUITES[s].aead)  # stable: preference kept otherwise
    for suite_id in order:
        choice = _try_suite(ctx, offer, TLS12_SUITES[suite_id])
        if choice is not None:
            return choice
    _refuse_sha1_default(ctx, offer, order)
    offered = listed((s for s in client_suites if s in TLS12_SUITES), "no TLS 1.2 suite glasstls implements")
    offered += _unimplemented(client_suites)
    shared = next((s for s in order if s in client_suites), None)
    raise AlertError(
        _no_suite_alert(ctx, offer),
        f"no common cipher suite: client offered {offered}, server accepts "
        f"{', '.join(str(s) for s in ours) or '(none)'} (with its certificates and groups)"
        + (_why_not_served(ctx, offer, TLS12_SUITES[shared]) if shared is not None else "")
        + refused_by_policy("cipher_suites", client_suites, config.cipher_suites, TLS12_SUITES),
    )


def _why_not_served(ctx: Context, offer: Offer, suite: Suite12) -> str:
    """Why a suite both sides list could not be served, for the refusal (the first that applies)."""
    name = suite.suite.name
    if suite.kx != "RSA" and _group_for(ctx, offer, suite) is None:
        # Say what the client named too (RFC 8422, Section 5.1.1; RFC 7919, Section 4), and whether a
        # profile left it out, as the TLS 1.3 "no common group" refusal does.
        ours = ", ".join(g.name for g in ctx.config.groups)
        theirs = listed(offer.groups, "nothing")
        return (
            f"; {name} needs a group both sides name, and the client's supported_groups has none of {ours} "
            f"(it names {theirs})" + refused_by_policy("groups", offer.groups, ctx.config.groups, kx.SUPPORTED_GROUPS)
        )
    chains = candidates(ctx, offer.server_name)
    wanted = ("rsa",) if suite.auth == "RSA" else ("ecdsa", "ed25519", "ed448")
    fitting = [c for c in chains if key_kind(c.private_key) in wanted]
    if not fitting:
        kind = "an RSA" if suite.auth == "RSA" else "an ECDSA or EdDSA"
        return f"; {name} needs {kind} certificate, which this server lacks"
    curves = [c.ecdsa_curve.name for c in fitting if c.ecdsa_curve is not None]
    if len(curves) == len(fitting) and not any(_cert_fits(c, suite, offer) for c in fitting):
        return (
            f"; the server's ECDSA certificate is on {', '.join(curves)}, which the client's supported_groups "
            "does not name (RFC 8422, Section 5.1)"
        )
    return "; no scheme of the client's signature_algorithms fits the server's certificate"


def _unimplemented(client_suites: tuple[CipherSuite, ...]) -> str:
    """What else the client offered, by name (registry_names.py), for a refusal: a client of 3DES,
    RC4 or CAMELLIA only is told so, not that it offered nothing (TLS 1.3 suites, SCSVs and GREASE aside)."""
    others = [
        str(s) for s in client_suites
        if s not in TLS12_SUITES and s not in TLS13_SUITES and not s.known and not str(s).startswith("GREASE")
    ]  # fmt: skip
    if not others:
        return ""
    return f" (and suites glasstls does not implement: {listed(others, most=8)})"


def _try_suite(ctx: Context, offer: Offer, suite: Suite12) -> Choice12 | None:
    # A CBC suite is served with encrypt-then-MAC when the client offered it (RFC 7366), else
    # MAC-then-encrypt (RFC 5246, Section 6.2.3.2); CBC suites are only here when named.
    group = _group_for(ctx, offer, suite)
    if suite.kx != "RSA" and group is None:
        return None
    for certified in candidates(ctx, offer.server_name):
        if not _cert_fits(certified, suite, offer):
            continue
        if suite.kx == "RSA":
            return Choice12(suite, certified, None, None)
        scheme = _signature_scheme(ctx, offer, certified)
        if scheme is not None:
            return Choice12(suite, certified, group, scheme)
    return None


def _group_for(ctx: Context, offer: Offer, suite: Suite12) -> NamedGroup | None:
    ours: tuple[NamedGroup, ...] = ctx.config.groups
    if suite.kx == "ECDHE":
        # RFC 8422, Section 4: a client with no supported_groups supports P-256 (and P-384).
        client = offer.groups or (NamedGroup.secp256r1, NamedGroup.secp384r1)
        return next((g for g in ours if g in _ECDHE_GROUPS and g in client), None)
    if suite.kx == "DHE":
        client_ff = _named_ffdhe(offer)
        if not client_ff:
            # RFC 7919, Section 4: a client that names no FFDHE group takes the server's.
            return next((g for g in ours if g in kx.FFDHE_GROUPS), NamedGroup.ffdhe2048)
        # One it names that we know and accept, or no DHE suite at all (the MUST NOT of Section 4).
        return next((g for g in ours if g in kx.FFDHE_GROUPS and g in client_ff), None)
    return None


def _named_ffdhe(offer: Offer) -> list[int]:
    """The FFDHE groups the client names: every code point from 256 to 511, known to us or not
    (RFC 7919, Section 4 counts them all)."""
    return [g for g in offer.groups if 256 <= g <= 511]


def _no_suite_alert(ctx: Context, offer: Offer) -> AlertDescription:
    """The alert for a hello with no suite in common: RFC 7919, Section 4 names
    insufficient_security when the client names FFDHE groups and we accept none of its groups;
    otherwise handshake_failure."""
    groups = ctx.config.groups
    if _named_ffdhe(offer) and not any(g in groups for g in offer.groups):
        return AlertDescription.insufficient_security
    return FAILURE


def _cert_fits(certified: CertifiedKey, suite: Suite12, offer: Offer) -> bool:
    kind = key_kind(certified.private_key)  # by the key's class: no isinstance against the key ABCs
    if suite.auth == "RSA":
        return kind == "rsa"
    if kind == "ecdsa" and offer.groups:
        # RFC 8422, Sections 5.1 and 5.3: an ECDSA certificate on a curve the client's supported_groups
        # names (a client without the extension takes any); another chain, else another suite.
        return certified.ecdsa_curve in offer.groups
    return kind in ("ecdsa", "ed25519", "ed448")


# RFC 5246, Section 7.4.1.4.1: a client that sends no signature_algorithms means {sha1, rsa}
# for an RSA suite and {sha1, ecdsa} for an ECDSA one (RFC 8422, Section 5.1.3); _cert_fits
# pairs the suite with the key, so the key picks which.
_NO_SIGNATURE_ALGORITHMS_MEANS = (SignatureScheme.rsa_pkcs1_sha1, SignatureScheme.ecdsa_sha1)


def _client_signature_schemes(offer: Offer) -> tuple[int, ...]:
    if offer.hello.ext(E.signature_algorithms) is None:
        return _NO_SIGNATURE_ALGORITHMS_MEANS
    return offer.signature_schemes


def _signature_scheme(ctx: Context, offer: Offer, certified: CertifiedKey) -> SignatureScheme | None:
    # SHA-1 only when the configuration names it (the legacy profile does): signatures.py never picks it.
    # An id-RSASSA-PSS certificate signs with rsa_pss_pss_* only, an rsaEncryption one never (RFC 8446,
    # Section 4.2.3, which TLS 1.2 follows for the PSS schemes): OpenSSL refuses the other kind.
    key, pss = certified.private_key, certified.leaf_is_rsassa_pss
    for scheme in _client_signature_schemes(offer):
        if scheme in ctx.config.signature_schemes and scheme_fits_key(key, scheme, tls13=False, rsa_pss_key=pss):
            return SignatureScheme(scheme)
    return None


def _refuse_sha1_default(ctx: Context, offer: Offer, order: list[CipherSuite]) -> None:
    """No suite fits: say so plainly when the cause is a ClientHello without signature_algorithms
    (an (EC)DHE suite was shared, and no SHA-1 scheme is configured)."""
    if offer.hello.ext(E.signature_algorithms) is not None:
        return
    if not any(TLS12_SUITES[s].kx != "RSA" for s in order):
        return
    config: ServerConfig = ctx.config
    if not any(key_kind(c.private_key) in ("rsa", "ecdsa") and not c.leaf_is_rsassa_pss for c in config.certificates):
        kinds = ", ".join(sorted({key_kind(c.private_key) for c in config.certificates})) or "none"
        raise AlertError(
            FAILURE,
            "the client sent no signature_algorithms, which means SHA-1 with RSA or ECDSA (RFC 5246 §7.4.1.4.1), "
            f"and no key of this server ({kinds}) can sign that way: the client must send signature_algorithms",
        )
    if any(s in config.signature_schemes for s in SHA1_SIGNATURE_SCHEMES):
        return
    raise AlertError(
        FAILURE,
        "the client sent no signature_algorithms, which means SHA-1 (RFC 5246 §7.4.1.4.1); SHA-1 signatures "
        "need --profile legacy (ServerConfig.signature_schemes naming rsa_pkcs1_sha1 or ecdsa_sha1)",
    )


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
            require(
                ctx.config.client_auth != "required",
                FAILURE,
                "client sent no certificate, and this server requires one (client_auth='required')",
            )
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
