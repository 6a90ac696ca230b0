"""Path validation without the Web PKI profile, for chains with Ed25519 or Ed448 keys (RFC 5280,
Section 6.1; RFC 8410), servers' and clients' alike.

``cryptography``'s verifier admits RSA and ECDSA keys only; :mod:`.verify` sends here every
chain with an EdDSA key anywhere in it (:func:`uses_eddsa`). A path is built here (leaf, then
intermediates from the sent chain in any order, then an anchor) and checked as RFC 5280,
Section 6.1 asks, with the alerts and words of the table in verify.py: validity, the host name
(a server's; an IP against iPAddress entries only), the leaf's extended and key usage (serverAuth
or clientAuth), each CA's basicConstraints, pathLenConstraint, keyUsage and EKU (the leaf's
purpose or anyExtendedKeyUsage, as the Web PKI and OpenSSL's purpose check ask), nameConstraints
critical or not (x509/name_constraints.py), algorithms. Critical extensions it does not process
are rejected (RFC 5280, Section 4.2). A peer that sends an EdDSA certificate beside an RSA or
ECDSA chain sends it here too, so this path must refuse whatever the Web PKI path refuses (held
to OpenSSL's verdicts by tests/test_x509_own_path.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, PublicKeyAlgorithmOID

from ..enums import AlertDescription
from ..errors import AlertError
from .name_constraints import constraint_problem
from .names import describe, parse_problem
from .path_checks import (
    MAX_CHAIN_DEPTH,
    check_client_leaf,
    check_eku,
    check_name,
    check_validity,
    directly_issued_by,
    eku_name,
    extension_of,
    path_to_anchor,
    rejected,
    role_of,
)
from .store import TrustStore

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
# What a CA's EKU must allow for it to issue for a TLS server or a TLS client.
_CA_PURPOSES = {
    "server": frozenset({ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}),
    "client": frozenset({ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}),
}

# Signature checks one validation may spend: real chains need a handful, while a chain of
# certificates that all name (and sign for) one another could otherwise make the search explode.
_SIGNATURE_BUDGET = 64

_MIN_RSA_BITS = 2048  # as the Web PKI path requires (CA/Browser Forum Baseline Requirements, 6.1.5)


def uses_eddsa(chain: Sequence[x509.Certificate]) -> bool:
    """Whether an Ed25519 or Ed448 key appears in the chain, as a certificate's key or as its issuer's."""
    return any(c.public_key_algorithm_oid in _EDDSA or c.signature_algorithm_oid in _EDDSA for c in chain)


def verify_path(
    chain: Sequence[x509.Certificate], server_name: str | None, store: TrustStore, now: datetime
) -> list[x509.Certificate]:
    """The first candidate path (leaf first, anchor last) that passes every check; else the first
    path's error, else unknown_ca. ``server_name``: the (normalised) name a server's certificate must
    carry, "" for none; None for a client's chain, checked as a client's (x509/client_policy.py)."""
    whose = "client" if server_name is None else "server"
    first_error: AlertError | None = None
    for path in _candidate_paths(chain, store):
        error = _check_path(path, server_name, now)
        if error is None:
            return path
        first_error = first_error or error
    if first_error is not None:
        raise first_error
    _, untrusted = path_to_anchor(chain, store, whose)
    raise untrusted or AlertError(
        AlertDescription.unknown_ca,
        f"no trusted CA within {MAX_CHAIN_DEPTH} certificates of {whose} certificate {describe(chain[0])}",
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
        if cert != leaf and cert not in pool:  # peers do resend certificates
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
            checked[key] = directly_issued_by(child, issuer)
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


def _check_path(path: Sequence[x509.Certificate], server_name: str | None, now: datetime) -> AlertError | None:
    """RFC 5280, Section 6.1 for one path, in the order the Web PKI path's diagnosis reports problems."""
    whose = "client" if server_name is None else "server"
    leaf, anchor = path[0], len(path) == 1
    leaf_checks: tuple[Callable[[], AlertError | None], ...] = (
        (lambda: check_client_leaf(leaf, anchor),)
        if server_name is None
        else (lambda: check_name(leaf, server_name), lambda: check_eku(leaf), lambda: check_leaf(leaf, anchor))
    )
    try:
        checks: tuple[Callable[[], AlertError | None], ...] = (
            lambda: check_validity(path, now, whose),
            *leaf_checks,
            lambda: _check_cas(path, whose),
            lambda: _check_name_constraints(path, whose),
            lambda: check_critical(path, whose),
            lambda: _check_algorithms(path, whose),
        )
        for check in checks:
            error = check()
            if error is not None:
                return error
    except (ValueError, x509.DuplicateExtension) as exc:  # an extension that does not parse, or one present twice
        return rejected(leaf, f"a certificate's extensions do not parse: {parse_problem(exc)}", whose)
    return None


def check_leaf(leaf: x509.Certificate, anchor: bool = False) -> AlertError | None:
    """The server's certificate is an end entity whose key may be used in a handshake; one that is
    itself a trust anchor (``anchor``: ``openssl req -x509``'s, cA=TRUE) may be a CA, as verify.py's
    _trusted_leaf takes it on the Web PKI path."""
    constraints = extension_of(leaf, x509.BasicConstraints)
    if not anchor and isinstance(constraints, x509.BasicConstraints) and constraints.ca:
        return rejected(leaf, "it is a CA certificate (BasicConstraints cA=TRUE), not a server's")
    usage = extension_of(leaf, x509.KeyUsage)
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


def _check_cas(path: Sequence[x509.Certificate], whose: str) -> AlertError | None:
    """RFC 5280, Section 6.1.4 (k), (l), (m), (n): every issuer is a CA allowed to sign certificates."""
    below = 0  # intermediates under the current CA that count towards its pathLenConstraint
    for index in range(1, len(path)):
        cert, role = path[index], role_of(index, len(path), whose)
        constraints = extension_of(cert, x509.BasicConstraints)
        if not isinstance(constraints, x509.BasicConstraints) or not constraints.ca:
            return rejected(path[0], f"{role} {describe(cert)} is not a CA (no BasicConstraints cA=TRUE)", whose)
        if constraints.path_length is not None and below > constraints.path_length:
            return rejected(
                path[0],
                f"{role} {describe(cert)} allows {constraints.path_length} intermediate certificate(s) "
                f"below it (pathLenConstraint) and has {below}",
                whose,
            )
        usage = extension_of(cert, x509.KeyUsage)
        if isinstance(usage, x509.KeyUsage) and not usage.key_cert_sign:
            return rejected(path[0], f"{role} {describe(cert)} has a key usage without keyCertSign", whose)
        purposes = extension_of(cert, x509.ExtendedKeyUsage)
        if isinstance(purposes, x509.ExtendedKeyUsage) and not _CA_PURPOSES[whose].intersection(purposes):
            # A CA's EKU limits what it issues for (CA/Browser Forum Baseline Requirements, 7.1.2.2; as
            # OpenSSL's purpose check and the Web PKI path): the leaf's purpose, or anyExtendedKeyUsage.
            return AlertError(
                AlertDescription.unsupported_certificate,
                f"{role} {describe(cert)} may not issue for TLS {whose}s: its extended key usage names "
                f"{', '.join(eku_name(p) for p in purposes)}",
            )
        if cert.subject != cert.issuer:  # self-issued certificates do not count (6.1.4 (l))
            below += 1
    return None


def _check_name_constraints(path: Sequence[x509.Certificate], whose: str) -> AlertError | None:
    """RFC 5280, 6.1.3 (b) (c): every CA's nameConstraints, critical or not (x509/name_constraints.py)."""
    problem = constraint_problem(path)
    return rejected(path[0], problem, whose) if problem is not None else None


def check_critical(path: Sequence[x509.Certificate], whose: str = "server") -> AlertError | None:
    """RFC 5280, Section 4.2: a critical extension that is not processed must end validation."""
    for index, cert in enumerate(path):
        for extension in cert.extensions:
            if extension.critical and extension.oid not in _UNDERSTOOD:
                name = getattr(extension.oid, "_name", "Unknown OID")
                shown = extension.oid.dotted_string if name == "Unknown OID" else name
                return rejected(
                    path[0],
                    f"{role_of(index, len(path), whose)} {describe(cert)} has the critical extension {shown}, "
                    "which this validator does not process",
                    whose,
                )
    return None


def _check_algorithms(path: Sequence[x509.Certificate], whose: str) -> AlertError | None:
    """No MD5 or SHA-1 signatures and no RSA key under 2048 bits, as on the Web PKI path."""
    for index, cert in enumerate(path):
        role = role_of(index, len(path), whose)
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < _MIN_RSA_BITS:
            return rejected(path[0], f"{role} {describe(cert)} has a {key.key_size}-bit RSA key", whose)
        if index == len(path) - 1:
            continue  # a trust anchor's own signature is never checked (RFC 5280, Section 6.1.1 (d))
        try:
            digest = cert.signature_hash_algorithm
        except UnsupportedAlgorithm:
            digest = None  # its issuer's signature verified, so the algorithm is one cryptography knows
        if isinstance(digest, hashes.MD5 | hashes.SHA1):
            return rejected(path[0], f"{role} {describe(cert)} is signed with {digest.name.upper()}", whose)
    return None
