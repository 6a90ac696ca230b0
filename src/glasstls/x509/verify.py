"""Server certificate verification for the TLS client.

RFC 8446, Section 4.4.2.4 and RFC 5246, Section 7.4.2 leave path validation to
RFC 5280; this module hands it to ``cryptography.x509.verification``, which
validates against the Web PKI profile (RFC 5280 plus the CA/Browser Forum
Baseline Requirements) and checks the host name (RFC 6125 rules, with the
wildcard only as a whole left-most label).

Three of the profile's rules are about how CAs issue, not about whether a path is
valid, and private CAs break them (a CA's basicConstraints not critical, a CA without
keyUsage, a leaf without authorityKeyIdentifier): x509/path_policy.py leaves them out,
as OpenSSL, Go and rustls do.

``cryptography`` decides; this module explains. Its errors are terse strings
("candidates exhausted"), so when it rejects a chain we look at the chain
ourselves to name the specific problem and pick the alert, in this order
(the order OpenSSL's X509_verify_cert reports them in, trust first):

==========================  =========================  ==============================
problem                     alert (RFC 8446, 6.2)      why this one
==========================  =========================  ==============================
empty chain                 decode_error               RFC 8446, Section 4.4.2.4
no path to a trust anchor   unknown_ca                 "CA certificate ... not trusted"
expired or not yet valid    certificate_expired        "expired or is not currently
                                                       valid"; OpenSSL sends
                                                       bad_certificate for not-yet-valid
host name not in the SANs   bad_certificate            as OpenSSL does (HOSTNAME_MISMATCH)
EKU without serverAuth      unsupported_certificate    as OpenSSL does (INVALID_PURPOSE)
leaf KU allows no TLS use   unsupported_certificate    as OpenSSL does (INVALID_PURPOSE);
                                                       checked on our own path (below)
anything else               bad_certificate            with cryptography's message
==========================  =========================  ==============================

Ed25519 and Ed448 certificates (RFC 8446, Section 4.2.3; RFC 8410) are allowed in
TLS 1.3 and accepted by OpenSSL, but the Web PKI profile that ``cryptography``
enforces admits RSA and ECDSA keys only. A chain with an EdDSA key anywhere in
it (a certificate's own key, or its issuer's as seen in its signature
algorithm, which covers an EdDSA trust anchor the server did not send) is
therefore validated by :func:`verify_path_rfc5280` below: a path built here
(leaf, then intermediates from the sent chain in any order, then an anchor),
checked as RFC 5280, Section 6.1 asks, with the same alerts and messages as the
table above: validity, names (an IP against iPAddress entries only), EKU, the
leaf's keyUsage, each CA's basicConstraints, pathLenConstraint, keyUsage and EKU
(serverAuth or anyExtendedKeyUsage, as the Web PKI and OpenSSL's purpose check
ask), nameConstraints critical or not (x509/name_constraints.py), algorithms.
Critical extensions it does not process are rejected (RFC 5280, Section 4.2).
A server that sends an EdDSA certificate beside an RSA or ECDSA chain sends it
here too, so this path must refuse whatever the Web PKI path refuses (held to
OpenSSL's verdicts by tests/test_x509_own_path.py).

A certificate that is itself one of the trust anchors (byte for byte) is trusted as it
stands when the Web PKI profile refuses it, as OpenSSL, Go and Python's ``ssl`` trust
it: the self-signed certificate ``openssl req -x509`` makes has cA=TRUE, which the
profile forbids in an end entity. Its validity, names, purpose, keyUsage and critical
extensions are still checked.

A server checks a client's chain with :func:`verify_client_chain` (at the end):
the same verifier and the same alerts, under the client rules of
x509/client_policy.py (no subjectAltName and no host name; keyUsage
digitalSignature and EKU clientAuth when present).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, PublicKeyAlgorithmOID

from ..enums import AlertDescription
from ..errors import AlertError, ConfigError, Facts
from ..text import printable
from .client_policy import client_extension_policies, leaf_purpose_problem
from .name_constraints import constraint_problem
from .names import describe, describe_issuer, is_ip, matches_any, parse_problem, san_names, shown_names
from .path_policy import server_extension_policies
from .store import TrustStore
from .verify_cache import der_of

# cryptography's own default; a longer chain is not one a server should send.
MAX_CHAIN_DEPTH = 8
# The Web PKI profile less three issuing rules private CAs break (x509/path_policy.py); made once.
_SERVER_POLICIES = server_extension_policies()

# The trust store a chain is checked against: a client checks the server's chain, a server the client's.
TRUST_STORE_FIELDS = {"server": "ClientConfig.trust_store", "client": "ServerConfig.client_trust_store"}


@dataclass(frozen=True)
class VerifiedChain:
    """A chain that passed: the proof a client holds before it trusts the server's key."""

    path: tuple[x509.Certificate, ...]  # leaf first, trust anchor last
    server_name: str  # as checked: lower case, no trailing dot, IPs in canonical form
    leaf_subject: str  # RFC 4514, e.g. "CN=example.com"
    leaf_names: tuple[str, ...]  # the subjectAltName DNS names and IP addresses
    anchor_subject: str
    not_after: datetime  # when the leaf expires (UTC)

    @property
    def leaf(self) -> x509.Certificate:
        return self.path[0]

    @property
    def anchor(self) -> x509.Certificate:
        return self.path[-1]


def verify_server_chain(
    chain: Sequence[x509.Certificate], server_name: str | None, store: TrustStore, now: datetime
) -> VerifiedChain:
    """Validate the server's chain (leaf first) for ``server_name`` at ``now``.

    ``server_name`` is a DNS name or an IPv4/IPv6 literal (brackets allowed); None checks
    the chain as a server's (path, validity, key usage) but no name, as OpenSSL does without
    a host to check (the result's ``server_name`` is then ""). Raises :class:`AlertError`
    for every problem with the chain; a naive ``now`` is taken as UTC.
    """
    if not chain:
        # RFC 8446, Section 4.4.2.4: an empty server Certificate message is a decode_error.
        raise AlertError(AlertDescription.decode_error, "the server sent an empty certificate chain")
    if server_name is None:
        return _verify_without_name(chain, store, now)
    name, subject = _subject_for(server_name)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    # By the chain's DER, which is what certificates hash and compare by: kept certificates keep the
    # bytes they were parsed from (der_of), whose hash Python keeps, where hashing a certificate
    # object hashes its DER again (about 2 us each, every handshake).
    key = (tuple([der_of(c) for c in chain]), name)
    known: VerifiedChain | None = store.verified.get(key, now)
    if known is not None:
        return known
    verified = _verify_for_name(chain, name, subject, store, now)
    store.verified.put(key, verified, verified.path)
    return verified


def _verify_for_name(
    chain: Sequence[x509.Certificate], name: str, subject: verification.Subject, store: TrustStore, now: datetime
) -> VerifiedChain:
    leaf = chain[0]
    verifier = None if uses_eddsa(chain) else _web_pki_verifier(subject, store, now)
    if verifier is None:
        path: Sequence[x509.Certificate] = _verify_path(chain, name, store, now)
    else:
        try:
            path = verifier.verify(leaf, list(chain[1:]))
        except (verification.VerificationError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            if leaf not in store:
                raise _diagnose(chain, name, store, now, str(exc)) from None
            path = _trusted_leaf(leaf, name, now)
        # cryptography lets "*.internal" stand for "a.internal"; OpenSSL (so Python's ssl) and the own path
        # want two labels after a wildcard (names.name_matches): the same name check on both paths.
        problem = _check_name(leaf, name)
        if problem is not None:
            raise problem
    return VerifiedChain(
        path=tuple(path),
        server_name=name,
        leaf_subject=describe(leaf),
        leaf_names=san_names(leaf),
        anchor_subject=describe(path[-1]),
        not_after=leaf.not_valid_after_utc,
    )


def _web_pki_verifier(
    subject: verification.Subject, store: TrustStore, now: datetime
) -> verification.ServerVerifier | None:
    """cryptography's Web PKI verifier for ``subject``; None for a name it refuses to take as a DNS name
    (an underscore as in Docker's service names, a port, a space ...): such a name is checked by this
    module's own RFC 5280 path and name checks (_verify_path), as Python's ssl checks it, rather than
    failing the handshake as an internal error."""
    try:
        return (
            verification.PolicyBuilder()
            .store(store.to_cryptography_store())
            .time(now)
            .max_chain_depth(MAX_CHAIN_DEPTH)
            .extension_policies(ca_policy=_SERVER_POLICIES[0], ee_policy=_SERVER_POLICIES[1])
            .build_server_verifier(subject)
        )
    except ValueError:
        return None


def _trusted_leaf(leaf: x509.Certificate, name: str, now: datetime) -> tuple[x509.Certificate]:
    """A server certificate that is itself one of the trust anchors, refused by the Web PKI
    profile only for being a CA (the self-signed certificate ``openssl req -x509`` makes, which
    sets cA=TRUE): trusted as it stands, as OpenSSL, Go and Python's ``ssl`` trust it, once its
    validity, names and purpose pass the checks every leaf passes (RFC 5280, 6.1: a path of one
    certificate, the anchor)."""
    problem = (
        _check_validity([leaf], now) or _check_name(leaf, name) or _check_eku(leaf)
        or _check_leaf(leaf, anchor=True) or _check_critical([leaf])
    )  # fmt: skip
    if problem is not None:
        raise problem
    return (leaf,)


def _verify_without_name(chain: Sequence[x509.Certificate], store: TrustStore, now: datetime) -> VerifiedChain:
    """The Web PKI path for one of the leaf's own names, which it matches by construction (a
    wildcard's with a label for its "*"); a leaf naming no host goes through the RFC 5280 path
    builder with the name check left out."""
    names = san_names(chain[0])
    if names:
        name = "x" + names[0][1:] if names[0].startswith("*.") else names[0]
        return replace(verify_server_chain(chain, name, store, now), server_name="")
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    path = _verify_path(chain, "", store, now)
    return VerifiedChain(
        path=tuple(path), server_name="", leaf_subject=describe(chain[0]), leaf_names=(),
        anchor_subject=describe(path[-1]), not_after=chain[0].not_valid_after_utc,
    )  # fmt: skip


# -- names ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # a client checks the same few names again and again
def _subject_for(server_name: str) -> tuple[str, verification.Subject]:
    """The normalised name and the subject the verifier matches against the SANs: lower case, one
    trailing dot dropped (an absolute name), brackets dropped around an IPv6 literal only; spaces and
    other brackets stay, and match no SAN, as OpenSSL's X509_check_host has them."""
    name = server_name.lower()
    name = name.removesuffix(".") if not name.endswith("..") else name
    if name.startswith("[") and name.endswith("]") and ":" in name:
        name = name[1:-1]
    if not name.strip(" ."):  # (blank: no name at all, as before)
        raise ConfigError(
            "no server name to check the certificate against: give the client the name it connects to (server_name)",
            facts=Facts("no_server_name", field="server_name"),
        )
    if not name.isascii():  # (certificates name hosts in A-labels, RFC 5890: "xn--bcher-kva.example")
        raise ConfigError(
            f"server name {printable(server_name)} is not ASCII: give its A-label (IDNA, e.g. xn--...), as "
            "certificates name it",
            facts=Facts("invalid_value", field="server_name", value=printable(server_name)),
        )
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name, x509.DNSName(name)
    return str(address), x509.IPAddress(address)


# -- diagnosis -----------------------------------------------------------------------


def _diagnose(
    chain: Sequence[x509.Certificate], server_name: str, store: TrustStore, now: datetime, message: str
) -> AlertError:
    """Why cryptography rejected the chain, as the alert and a reason a person can act on."""
    try:
        path, untrusted = _path_to_anchor(chain, store)
        if untrusted is not None:
            return untrusted
        for check in (_check_validity(path, now), _check_name(chain[0], server_name), _check_eku(chain[0])):
            if check is not None:
                return check
    except (ValueError, x509.DuplicateExtension) as exc:  # a certificate the handshake did not parse first
        return _rejected(chain[0], f"a certificate's extensions do not parse: {parse_problem(exc)}")
    return AlertError(
        AlertDescription.bad_certificate,
        f"server certificate {describe(chain[0])} was rejected: {_plain(message)}",
    )


def _directly_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Issuer name matches and the issuer's key verifies the signature (RFC 5280, 6.1.3 (a))."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):  # a key cryptography cannot load
        return False
    return True


def _path_to_anchor(
    chain: Sequence[x509.Certificate], store: TrustStore, whose: str = "server"
) -> tuple[list[x509.Certificate], AlertError | None]:
    """Follow issuers from the leaf through the sent certificates to an anchor of the store.

    Returns the path found (leaf first) and, when it does not end at a trust
    anchor, the unknown_ca error naming the first issuer that could not be found.
    """
    path = [chain[0]]
    pool = list(chain[1:])
    for _ in range(MAX_CHAIN_DEPTH):
        current = path[-1]
        anchors = store.issuers_of(current)
        anchor = next((a for a in anchors if _directly_issued_by(current, a)), None)
        if anchor is not None:
            return [*path, anchor], None
        candidates = (c for c in pool if c.subject == current.issuer)  # names first: no signature work
        issuer = next((c for c in candidates if _directly_issued_by(current, c)), None)
        if issuer is None:
            return path, _untrusted(current, chain, bool(anchors), whose)
        path.append(issuer)
        pool.remove(issuer)
    current = path[-1]
    anchors = store.issuers_of(current)
    onward = [c for c in pool if c not in path and c.subject == current.issuer]  # (not round a loop)
    if not any(_directly_issued_by(current, c) for c in [*anchors, *onward]):
        return path, _untrusted(current, chain, bool(anchors), whose)
    # The path goes on, to an anchor or in what was sent: longer than any verifier here follows.
    return path, AlertError(
        AlertDescription.bad_certificate,
        f"the {whose}'s chain goes on past {MAX_CHAIN_DEPTH} CA certificates above {describe(chain[0])}, the most "
        "glasstls follows (as cryptography's verifier; OpenSSL's default is 100): the CA must issue a shorter chain",
        facts=Facts("chain_too_long", chain=whose, subject=describe(chain[0]), depth=MAX_CHAIN_DEPTH),
    )


def _untrusted(
    current: x509.Certificate, chain: Sequence[x509.Certificate], name_known: bool, whose: str = "server"
) -> AlertError:
    """unknown_ca (RFC 8446, Section 6.2): the path stops at ``current``.

    ``whose`` chain it is ("server" or "client") picks the trust store the reason and the facts name.
    """
    field = TRUST_STORE_FIELDS[whose]
    role = f"{whose} certificate" if current is chain[0] else "certificate"
    subject, issuer = describe(current), describe_issuer(current)
    problem = "untrusted_issuer"
    if current.issuer == current.subject and _directly_issued_by(current, current):
        problem = "untrusted_self_signed"
        reason = f"{role} {subject} is self-signed and not trusted: {field} must hold that certificate as a CA"
    elif name_known:
        reason = (
            f"issuer {issuer} is not trusted: a trusted CA has that name but did not sign {subject} "
            f"(another CA with the same name?); {field} must hold the CA that issued it"
        )
    else:
        reason = f"issuer {issuer} is not trusted: {field} must hold the CA that issued it"
        if current is chain[0] and len(chain) == 1:
            problem = "missing_intermediate"
            reason += (
                f" (the {whose} sent no intermediate certificates: if that issuer is an intermediate CA,"
                f" the {whose} must send it after its own certificate)"
            )
    depth = next((i for i, c in enumerate(chain) if c is current), None)
    facts = Facts(problem, field=field, chain=whose, subject=subject, issuer=issuer, depth=depth)
    return AlertError(AlertDescription.unknown_ca, reason, facts=facts)


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _check_validity(path: Sequence[x509.Certificate], now: datetime, whose: str = "server") -> AlertError | None:
    """RFC 5280, Section 6.1.3 (a)(2): every certificate of the path must be valid at ``now``."""
    for index, cert in enumerate(path):
        role = _role(index, len(path), whose)
        if now > cert.not_valid_after_utc:
            when = f"expired on {_fmt(cert.not_valid_after_utc)}"
        elif now < cert.not_valid_before_utc:
            when = f"is not valid before {_fmt(cert.not_valid_before_utc)}"
        else:
            continue
        # RFC 8446, Section 6.2: certificate_expired covers "not currently valid" too.
        return AlertError(
            AlertDescription.certificate_expired,
            f"{role} {describe(cert)} {when} (the time now is {_fmt(now)}; check this machine's clock "
            "if that is wrong)",
        )
    return None


def _role(index: int, length: int, whose: str = "server") -> str:
    if index == 0:
        return f"{whose} certificate"
    return "trusted root certificate" if index == length - 1 else "intermediate certificate"


def _check_name(leaf: x509.Certificate, server_name: str) -> AlertError | None:
    """The name the client asked for must be among the leaf's subjectAltName entries ("": no
    name to check, :func:`verify_server_chain` with None)."""
    if not server_name:
        return None
    names = san_names(leaf)
    if not names:
        return AlertError(
            AlertDescription.bad_certificate,
            f"server certificate {describe(leaf)} has no DNS or IP subjectAltName, so it names no host "
            f"and cannot be for {printable(server_name)} (the CN is never used: CA/Browser Forum rules, RFC 9525)",
        )
    if matches_any(leaf, server_name):
        return None
    note = " (an IP address is matched only against IP address entries)" if is_ip(server_name) else ""
    return AlertError(
        AlertDescription.bad_certificate,
        f"certificate is for {shown_names(names)}, not {printable(server_name)}{note}",
        facts=Facts(
            "name_mismatch",
            field="server_name",
            chain="server",
            subject=describe(leaf),
            name=printable(server_name),
            value=shown_names(names),
        ),
    )


def _check_eku(leaf: x509.Certificate) -> AlertError | None:
    """RFC 5280, Section 4.2.1.12: with an EKU extension, the key may serve only the listed purposes."""
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if ExtendedKeyUsageOID.SERVER_AUTH in usages:
        return None
    allowed = ", ".join(_eku_name(oid) for oid in usages) or "nothing"
    return AlertError(
        AlertDescription.unsupported_certificate,
        f"server certificate {describe(leaf)} is not for TLS servers: its extended key usage allows "
        f"{allowed}, not serverAuth",
    )


def _eku_name(oid: x509.ObjectIdentifier) -> str:
    if oid == ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE:
        return "anyExtendedKeyUsage (which the Web PKI does not accept for servers)"
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else name


# -- our own path validation, for Ed25519 and Ed448 chains ---------------------------------

# An Ed25519 (Ed448) key and a signature made with one share one identifier (RFC 8410, Section 3).
_EDDSA = frozenset({PublicKeyAlgorithmOID.ED25519, PublicKeyAlgorithmOID.ED448})

# The extensions the checks below process; a critical one outside this set ends validation
# (RFC 5280, Section 4.2). The policy extensions are among those rejected.
_UNDERSTOOD = frozenset(
    {
        x509.BasicConstraints.oid,
        x509.KeyUsage.oid,
        x509.ExtendedKeyUsage.oid,
        x509.SubjectAlternativeName.oid,
        x509.NameConstraints.oid,  # (x509/name_constraints.py)
    }
)
_SERVER_PURPOSES = frozenset({ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE})

# Signature checks one validation may spend: real chains need a handful, while a chain of
# certificates that all name (and sign for) one another could otherwise make the search explode.
_SIGNATURE_BUDGET = 64

_MIN_RSA_BITS = 2048  # as the Web PKI path requires (CA/Browser Forum Baseline Requirements, 6.1.5)


def uses_eddsa(chain: Sequence[x509.Certificate]) -> bool:
    """Whether an Ed25519 or Ed448 key appears in the chain, as a certificate's key or as its issuer's."""
    return any(c.public_key_algorithm_oid in _EDDSA or c.signature_algorithm_oid in _EDDSA for c in chain)


def verify_path_rfc5280(
    chain: Sequence[x509.Certificate], server_name: str, store: TrustStore, now: datetime
) -> tuple[x509.Certificate, ...]:
    """Build and check a path without the Web PKI profile; returns it leaf first, anchor last.

    What :func:`verify_server_chain` uses for chains with EdDSA keys; callable on
    any chain. Raises :class:`AlertError` exactly as :func:`verify_server_chain` does.
    """
    if not chain:
        raise AlertError(AlertDescription.decode_error, "the server sent an empty certificate chain")
    name, _ = _subject_for(server_name)
    return tuple(_verify_path(chain, name, store, now if now.tzinfo else now.replace(tzinfo=UTC)))


def _verify_path(
    chain: Sequence[x509.Certificate], server_name: str, store: TrustStore, now: datetime
) -> list[x509.Certificate]:
    """The first candidate path that passes every check; else the first path's error, else unknown_ca."""
    first_error: AlertError | None = None
    for path in _candidate_paths(chain, store):
        error = _check_path(path, server_name, now)
        if error is None:
            return path
        first_error = first_error or error
    if first_error is not None:
        raise first_error
    _, untrusted = _path_to_anchor(chain, store)
    raise untrusted or AlertError(
        AlertDescription.unknown_ca,
        f"no trusted CA within {MAX_CHAIN_DEPTH} certificates of server certificate {describe(chain[0])}",
    )


def _candidate_paths(chain: Sequence[x509.Certificate], store: TrustStore) -> Iterator[list[x509.Certificate]]:
    """Every path from the leaf through sent certificates to an anchor, depth first (RFC 4158, loosely).

    An edge is a name match confirmed by the issuer's signature (RFC 5280, 6.1.3 (a)(1) and (4));
    at most :data:`MAX_CHAIN_DEPTH` certificates follow the leaf, none twice.
    A leaf that is itself a trust anchor is a path of one, as ``cryptography`` allows.
    """
    leaf = chain[0]
    pool: list[x509.Certificate] = []
    for cert in chain[1:]:
        if cert != leaf and cert not in pool:  # servers do resend certificates
            pool.append(cert)
    checked: dict[tuple[int, int], bool] = {}
    budget = _SIGNATURE_BUDGET

    def issued(child: x509.Certificate, issuer: x509.Certificate) -> bool:
        nonlocal budget
        key = (id(child), id(issuer))
        if key not in checked:
            if budget <= 0:
                return False
            budget -= 1
            checked[key] = _directly_issued_by(child, issuer)
        return checked[key]

    def extend(path: list[x509.Certificate]) -> Iterator[list[x509.Certificate]]:
        current = path[-1]
        for anchor in store.issuers_of(current):
            if anchor != current and issued(current, anchor):  # not a self-signed one as its own issuer
                yield [*path, anchor]
        if len(path) - 1 >= MAX_CHAIN_DEPTH:  # (the leaf aside) one more and the anchor would exceed it
            return
        for cert in pool:
            if cert.subject == current.issuer and cert not in path and issued(current, cert):
                yield from extend([*path, cert])

    if leaf in store:
        yield [leaf]
    yield from extend([leaf])


def _check_path(path: Sequence[x509.Certificate], server_name: str, now: datetime) -> AlertError | None:
    """RFC 5280, Section 6.1 for one path, in the order the Web PKI path's diagnosis reports problems."""
    try:
        checks: tuple[Callable[[], AlertError | None], ...] = (
            lambda: _check_validity(path, now),
            lambda: _check_name(path[0], server_name),
            lambda: _check_eku(path[0]),
            lambda: _check_leaf(path[0], anchor=len(path) == 1),
            lambda: _check_cas(path),
            lambda: _check_name_constraints(path),
            lambda: _check_critical(path),
            lambda: _check_algorithms(path),
        )
        for check in checks:
            error = check()
            if error is not None:
                return error
    except (ValueError, x509.DuplicateExtension) as exc:  # an extension that does not parse, or one present twice
        return _rejected(path[0], f"a certificate's extensions do not parse: {parse_problem(exc)}")
    return None


def _rejected(leaf: x509.Certificate, why: str, whose: str = "server") -> AlertError:
    """The "anything else" row of the table: bad_certificate, worded as for the Web PKI path."""
    return AlertError(AlertDescription.bad_certificate, f"{whose} certificate {describe(leaf)} was rejected: {why}")


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _check_leaf(leaf: x509.Certificate, anchor: bool = False) -> AlertError | None:
    """The server's certificate is an end entity whose key may be used in a handshake; one that is
    itself a trust anchor (``anchor``: ``openssl req -x509``'s, cA=TRUE) may be a CA, as _trusted_leaf
    takes it on the Web PKI path."""
    constraints = _extension(leaf, x509.BasicConstraints)
    if not anchor and isinstance(constraints, x509.BasicConstraints) and constraints.ca:
        return _rejected(leaf, "it is a CA certificate (BasicConstraints cA=TRUE), not a server's")
    usage = _extension(leaf, x509.KeyUsage)
    # RFC 5280, Section 4.2.1.3; RFC 8446, Section 4.4.2.2 requires digitalSignature to sign in TLS 1.3.
    if isinstance(usage, x509.KeyUsage) and not (
        usage.digital_signature or usage.key_encipherment or usage.key_agreement
    ):
        return AlertError(
            AlertDescription.unsupported_certificate,
            f"server certificate {describe(leaf)} is not for TLS servers: its key usage allows "
            "neither digitalSignature nor keyEncipherment nor keyAgreement",
        )
    return None


def _check_cas(path: Sequence[x509.Certificate]) -> AlertError | None:
    """RFC 5280, Section 6.1.4 (k), (l), (m), (n): every issuer is a CA allowed to sign certificates."""
    below = 0  # intermediates under the current CA that count towards its pathLenConstraint
    for index in range(1, len(path)):
        cert, role = path[index], _role(index, len(path))
        constraints = _extension(cert, x509.BasicConstraints)
        if not isinstance(constraints, x509.BasicConstraints) or not constraints.ca:
            return _rejected(path[0], f"{role} {describe(cert)} is not a CA (no BasicConstraints cA=TRUE)")
        if constraints.path_length is not None and below > constraints.path_length:
            return _rejected(
                path[0],
                f"{role} {describe(cert)} allows {constraints.path_length} intermediate certificate(s) "
                f"below it (pathLenConstraint) and has {below}",
            )
        usage = _extension(cert, x509.KeyUsage)
        if isinstance(usage, x509.KeyUsage) and not usage.key_cert_sign:
            return _rejected(path[0], f"{role} {describe(cert)} has a key usage without keyCertSign")
        purposes = _extension(cert, x509.ExtendedKeyUsage)
        if isinstance(purposes, x509.ExtendedKeyUsage) and not _SERVER_PURPOSES.intersection(purposes):
            # A CA's EKU limits what it issues for (CA/Browser Forum Baseline Requirements, 7.1.2.2; as
            # OpenSSL's purpose check and the Web PKI path): serverAuth, or anyExtendedKeyUsage.
            return AlertError(
                AlertDescription.unsupported_certificate,
                f"{role} {describe(cert)} may not issue for TLS servers: its extended key usage names "
                f"{', '.join(_eku_name(p) for p in purposes)}",
            )
        if cert.subject != cert.issuer:  # self-issued certificates do not count (6.1.4 (l))
            below += 1
    return None


def _check_name_constraints(path: Sequence[x509.Certificate]) -> AlertError | None:
    """RFC 5280, 6.1.3 (b) (c): every CA's nameConstraints, critical or not (x509/name_constraints.py)."""
    problem = constraint_problem(path)
    return _rejected(path[0], problem) if problem is not None else None


def _check_critical(path: Sequence[x509.Certificate]) -> AlertError | None:
    """RFC 5280, Section 4.2: a critical extension that is not processed must end validation."""
    for index, cert in enumerate(path):
        for extension in cert.extensions:
            if extension.critical and extension.oid not in _UNDERSTOOD:
                name = getattr(extension.oid, "_name", "Unknown OID")
                shown = extension.oid.dotted_string if name == "Unknown OID" else name
                return _rejected(
                    path[0],
                    f"{_role(index, len(path))} {describe(cert)} has the critical extension {shown}, "
                    "which this validator does not process",
                )
    return None


def _check_algorithms(path: Sequence[x509.Certificate]) -> AlertError | None:
    """No MD5 or SHA-1 signatures and no RSA key under 2048 bits, as on the Web PKI path."""
    for index, cert in enumerate(path):
        role = _role(index, len(path))
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < _MIN_RSA_BITS:
            return _rejected(path[0], f"{role} {describe(cert)} has a {key.key_size}-bit RSA key")
        if index == len(path) - 1:
            continue  # a trust anchor's own signature is never checked (RFC 5280, Section 6.1.1 (d))
        try:
            digest = cert.signature_hash_algorithm
        except UnsupportedAlgorithm:
            digest = None  # its issuer's signature verified, so the algorithm is one cryptography knows
        if isinstance(digest, hashes.MD5 | hashes.SHA1):
            return _rejected(path[0], f"{role} {describe(cert)} is signed with {digest.name.upper()}")
    return None


# -- client certificates ---------------------------------------------------------------------
#
# A client chain is checked as a client's (x509/client_policy.py): to the client CAs, valid now,
# CAs that are CAs, keyUsage digitalSignature and EKU clientAuth when present; no subjectAltName
# is required and no host name is matched. Diagnosis follows the server table above, for the client.


def verify_client_chain(
    chain: Sequence[x509.Certificate],
    store: TrustStore,
    now: datetime,
    *,
    crls: Sequence[x509.CertificateRevocationList] = (),
    revocation: str = "soft",
    report: Callable[[str, bool, str], None] | None = None,
) -> tuple[x509.Certificate, ...]:
    """Validate a client's chain (leaf first) against the server's client CA store.

    Raises :class:`AlertError` with the alert RFC 5246 / RFC 8446 name and a
    reason that speaks of the client and of ``ServerConfig.client_trust_store``
    (its ``facts`` name that store, or ``ServerConfig.client_crls``). The validated
    path is then looked up in ``crls`` (:func:`glasstls.x509.revocation.check_crls`,
    with the ``revocation`` policy "soft" or "hard"; each verdict to ``report``).
    """
    if not chain:
        raise AlertError(AlertDescription.bad_certificate, "the client sent an empty certificate chain")
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    # Kept as a server's chain is (verify_cache.py), under a name no host name can be: the same client
    # again, or a session's chain checked again at resumption, is not validated twice; the CRLs are.
    key = (tuple([der_of(c) for c in chain]), _CLIENT_CHAIN)
    path: tuple[x509.Certificate, ...] | None = store.verified.get(key, now)
    if path is None:
        path = _client_path(chain, store, now)
        store.verified.put(key, path, path)
    if crls or revocation == "hard":
        from .revocation import check_crls

        check_crls(path, crls, now, revocation, role="client", report=report)
    return path


_CLIENT_CHAIN = ("client chain",)  # the verified-chain cache's name for client chains (a tuple: no server name)


def _client_path(chain: Sequence[x509.Certificate], store: TrustStore, now: datetime) -> tuple[x509.Certificate, ...]:
    """The validated path of a client chain (leaf first), or the AlertError that says why there is none."""
    ca_policy, leaf_policy = client_extension_policies()
    verifier = (
        verification.PolicyBuilder()
        .store(store.to_cryptography_store())
        .time(now)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .extension_policies(ca_policy=ca_policy, ee_policy=leaf_policy)
        .build_client_verifier()
    )
    try:
        return tuple(verifier.verify(chain[0], list(chain[1:])).chain)
    except (verification.VerificationError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        if chain[0] not in store:
            if uses_eddsa(chain):  # (its message is cryptography's internal one: say it plainly)
                raise AlertError(
                    AlertDescription.unsupported_certificate,
                    f"client certificate {describe(chain[0])}: a client chain with an Ed25519 or Ed448 key is not "
                    "verified by glasstls yet (server chains are)",
                ) from None
            raise _diagnose_client(chain, store, now, str(exc)) from None
        return _trusted_client_leaf(chain[0], now)


def _trusted_client_leaf(leaf: x509.Certificate, now: datetime) -> tuple[x509.Certificate]:
    """A client certificate that is itself a trust anchor of the client CA store (as
    :func:`_trusted_leaf` for a server's): trusted as OpenSSL trusts it, cA=TRUE or not, once
    it is valid now and its key may authenticate a TLS client."""
    problem = _check_validity([leaf], now, "client")
    purpose = leaf_purpose_problem(leaf)
    if problem is None and purpose is not None:
        reason = f"client certificate {describe(leaf)} is not for TLS clients: {purpose}"
        problem = AlertError(AlertDescription.unsupported_certificate, reason)
    if problem is not None:
        raise problem
    return (leaf,)


def _diagnose_client(chain: Sequence[x509.Certificate], store: TrustStore, now: datetime, message: str) -> AlertError:
    """Why a client chain was refused, in the order of the server table: trust, validity, purpose, the rest."""
    leaf = chain[0]
    try:
        path, untrusted = _path_to_anchor(chain, store, "client")
        found = untrusted or _check_validity(path, now, "client") or _check_client_leaf(leaf)
    except (ValueError, x509.DuplicateExtension) as exc:
        found = _rejected(leaf, f"a certificate's extensions do not parse: {parse_problem(exc)}", "client")
    return found or _rejected(leaf, _plain(message), "client")


def _check_client_leaf(leaf: x509.Certificate) -> AlertError | None:
    """The leaf is an end entity (v3, not a CA) whose key may authenticate a TLS client."""
    if leaf.version != x509.Version.v3:
        # cryptography's verifier (RFC 5280 path validation as the Web PKI profiles it) takes v3 only.
        return _rejected(
            leaf,
            "it is an X.509 version 1 certificate, and only version 3 certificates are accepted: have it "
            "reissued as v3 (openssl x509 -req ... -extfile FILE, with basicConstraints=CA:FALSE and "
            "extendedKeyUsage=clientAuth in FILE)",
            "client",
        )
    constraints = _extension(leaf, x509.BasicConstraints)
    if isinstance(constraints, x509.BasicConstraints) and constraints.ca:
        return _rejected(leaf, "it is a CA certificate (BasicConstraints cA=TRUE), not a client's", "client")
    problem = leaf_purpose_problem(leaf)
    if problem is None:
        return None
    # As OpenSSL does (X509_V_ERR_INVALID_PURPOSE): unsupported_certificate (RFC 8446, Section 6.2).
    return AlertError(
        AlertDescription.unsupported_certificate,
        f"client certificate {describe(leaf)} is not for TLS clients: {problem}",
    )


def _plain(message: str) -> str:
    """cryptography's message without the certificate's repr it appends (the reason names the certificate)."""
    return printable(message.split(" (encountered processing <Certificate", 1)[0])
