"""What a TLS 1.2 server chooses for a ClientHello (RFC 5246, Section 7.4.1.3): the client's offer,
read once, and the suite, certificate, (EC)DHE group and signature scheme that serve it, or the
refusal that says why none can."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import CertifiedKey, ServerConfig
from ..crypto import kx
from ..crypto.signatures import SHA1_SIGNATURE_SCHEMES, key_kind, scheme_fits_key
from ..crypto.suites import TLS12_SUITES, TLS13_SUITES, Suite12
from ..enums import AlertDescription, CipherSuite, NamedGroup, SignatureScheme
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..profiles import refused_by_policy
from ..text import listed
from ..wire.handshake import ClientHello
from . import negotiation as N
from .base import Context
from .certselect import candidates
from .common12 import refuse_renegotiation_info

FAILURE = AlertDescription.handshake_failure
# Enum members read on every handshake's path, read once here: each E.name is a descriptor call.
_SCSV = CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV
_RENEGOTIATION_INFO, _EMS, _ETM = E.renegotiation_info, E.extended_master_secret, E.encrypt_then_mac
_GROUPS, _SCHEMES, _POINT_FORMATS = E.supported_groups, E.signature_algorithms, E.ec_point_formats
_SESSION_TICKET, _SERVER_NAME = E.session_ticket, E.server_name
_RECORD_SIZE_LIMIT = E.record_size_limit
_ECDHE_GROUPS = frozenset(kx.SUPPORTED_GROUPS) - kx.FFDHE_GROUPS - kx.TLS13_ONLY_GROUPS


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


def offer_of(ch: ClientHello) -> Offer:
    """The TLS 1.2 ClientHello's offer, its renegotiation_info and ec_point_formats checked."""
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
class Choice12:
    """What a full handshake serves: the suite, the certificate, and for (EC)DHE the
    group and the scheme that signs the ServerKeyExchange (None for RSA key transport)."""

    suite: Suite12
    certified: CertifiedKey
    group: NamedGroup | None
    scheme: SignatureScheme | None


def choose(ctx: Context, offer: Offer) -> Choice12:
    """The server's preferred TLS 1.2 suite that the client offers and that one of
    our certificates, a shared group and a shared signature scheme can serve."""
    config: ServerConfig = ctx.config
    client_suites = offer.hello.cipher_suites
    ours = [s for s in config.cipher_suites if s in TLS12_SUITES]
    order = N.suite_order(client_suites, ours, config.prefer_client_suites)
    if not offer.etm:
        # MAC-then-encrypt CBC (RFC 5246, Section 6.2.3.2) after the AEAD suites, but forward secrecy
        # first: ECDHE/DHE with CBC before RSA key transport with GCM, as Mozilla's "old" list ranks them.
        order = sorted(order, key=_mte_rank)  # stable: the preference kept otherwise
    for suite_id in order:
        choice = _try_suite(ctx, offer, TLS12_SUITES[suite_id])
        if choice is not None:
            return choice
    _refuse_sha1_default(ctx, offer, order)
    offered = listed((s for s in client_suites if s in TLS12_SUITES), "no TLS 1.2 suite glasstls implements")
    offered += _unimplemented(client_suites)
    shared = _suite_to_explain(ctx, offer, [s for s in order if s in client_suites])
    raise AlertError(
        _no_suite_alert(ctx, offer),
        f"no common cipher suite: client offered {offered}, server accepts "
        f"{', '.join(str(s) for s in ours) or '(none)'} (with its certificates and groups)"
        + (_why_not_served(ctx, offer, TLS12_SUITES[shared]) if shared is not None else "")
        + refused_by_policy("cipher_suites", client_suites, config.cipher_suites, TLS12_SUITES),
    )


def _mte_rank(suite_id: CipherSuite) -> tuple[bool, bool]:
    """For a client without encrypt-then-MAC: RSA key transport (no forward secrecy) last, then CBC."""
    suite = TLS12_SUITES[suite_id]
    return suite.kx == "RSA", not suite.aead


def _suite_to_explain(ctx: Context, offer: Offer, shared: list[CipherSuite]) -> CipherSuite | None:
    """Which suite both sides list the refusal explains: the first the server has a certificate of the
    suite's key type for (why that one failed is the cause to fix), else the first."""
    kinds = {key_kind(c.private_key) for c in candidates(ctx, offer.server_name)}
    for suite_id in shared:
        if kinds.intersection(_key_kinds(TLS12_SUITES[suite_id])):
            return suite_id
    return shared[0] if shared else None


def _why_not_served(ctx: Context, offer: Offer, suite: Suite12) -> str:
    """Why a suite both sides list could not be served, for the refusal (the first that applies)."""
    name = suite.suite.name
    if suite.kx == "DHE" and not any(g in kx.FFDHE_GROUPS for g in ctx.config.groups):
        return f"; {name} needs a finite-field group (RFC 7919), and this server's groups name none"
    if suite.kx != "RSA" and _group_for(ctx, offer, suite) is None:
        # Say what the client named too (RFC 8422, Section 5.1.1; RFC 7919, Section 4), and whether a
        # profile left it out, as the TLS 1.3 "no common group" refusal does.
        # (Ours that this suite's key exchange can use: EC groups for ECDHE, FFDHE ones for DHE.)
        kinds = _ECDHE_GROUPS if suite.kx == "ECDHE" else kx.FFDHE_GROUPS
        ours = ", ".join(g.name for g in ctx.config.groups if g in kinds) or "none"
        theirs = listed(offer.groups, "nothing")
        return (
            f"; {name} needs {'an' if suite.kx == 'ECDHE' else 'a'} {suite.kx} group both sides name: "
            f"this server's are {ours}, the client's supported_groups names {theirs}"
            + refused_by_policy("groups", offer.groups, ctx.config.groups, kx.SUPPORTED_GROUPS)
        )
    chains = candidates(ctx, offer.server_name)
    fitting = [c for c in chains if key_kind(c.private_key) in _key_kinds(suite)]
    if not fitting:
        kind = "an RSA" if suite.auth == "RSA" else "an ECDSA or EdDSA"
        return f"; {name} needs {kind} certificate, which this server lacks"
    unusable = _unusable_key(fitting, suite)
    if unusable:
        return f"; {name} {unusable}"
    curves = [c.ecdsa_curve.name for c in fitting if c.ecdsa_curve is not None]
    if len(curves) == len(fitting) and not any(_cert_fits(c, suite, offer) for c in fitting):
        return (
            f"; the server's ECDSA certificate is on {', '.join(curves)}, which the client's supported_groups "
            "does not name (RFC 8422, Section 5.1)"
        )
    fitting_schemes = [
        s for s in _client_signature_schemes(offer)
        if any(scheme_fits_key(c.private_key, s, tls13=False, rsa_pss_key=c.leaf_is_rsassa_pss) for c in fitting)
    ]  # fmt: skip
    policy = refused_by_policy("signature_schemes", fitting_schemes, ctx.config.signature_schemes, fitting_schemes)
    if policy:  # the certificate could sign as the client asks (SHA-1, say): the profile says no
        return f"; the client's signature_algorithms names only schemes this server's profile leaves out{policy}"
    return "; no scheme of the client's signature_algorithms fits the server's certificate"


def _unusable_key(chains: list[CertifiedKey], suite: Suite12) -> str:
    """Why every one of ``chains`` (of the suite's key type) may not serve ``suite``, or "" when one may:
    its key's permitted use (RFC 5246, Section 7.4.2)."""
    if suite.kx == "RSA":
        if any(c.leaf_may_encipher for c in chains):
            return ""
        if all(c.leaf_is_rsassa_pss for c in chains):
            return (
                "(RSA key exchange) needs an rsaEncryption certificate, and the server's key is id-RSASSA-PSS, "
                "which may only sign (RFC 4055, Section 1.2)"
            )
        return (
            "(RSA key exchange) needs a certificate whose KeyUsage allows keyEncipherment (RFC 5246, "
            "Section 7.4.2), which the server's lacks"
        )
    if any(c.leaf_may_sign for c in chains):
        return ""
    return (
        "needs a certificate whose KeyUsage allows digitalSignature, to sign the ServerKeyExchange "
        "(RFC 5246, Section 7.4.2), which the server's lacks"
    )


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
            # RFC 7919, Section 4: a client that names no FFDHE group takes the server's, if it has one
            # (groups that name none, as --groups x25519, serve no DHE suite).
            return next((g for g in ours if g in kx.FFDHE_GROUPS), None)
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
    if suite.kx == "RSA":  # RSA key transport: the key decrypts the premaster secret (RFC 5246, Section 7.4.2)
        return certified.leaf_may_encipher
    if not certified.leaf_may_sign:  # (EC)DHE: the key signs the ServerKeyExchange
        return False
    kind = key_kind(certified.private_key)  # by the key's class: no isinstance against the key ABCs
    if suite.auth == "RSA":
        return kind == "rsa"
    if kind == "ecdsa" and offer.groups:
        # RFC 8422, Sections 5.1 and 5.3: an ECDSA certificate on a curve the client's supported_groups
        # names (a client without the extension takes any); another chain, else another suite.
        return certified.ecdsa_curve in offer.groups
    return kind in _key_kinds(suite)


def _key_kinds(suite: Suite12) -> tuple[str, ...]:
    """The kinds of key (signatures.key_kind) a certificate for ``suite`` has: its authentication's."""
    return ("rsa",) if suite.auth == "RSA" else ("ecdsa", "ed25519", "ed448")


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
