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
algorithm, which covers an EdDSA trust anchor the peer did not send), a server's
or a client's, is therefore validated on glasstls's own RFC 5280 path
(x509/own_path.py, :func:`verify_path_rfc5280` for a server's), with the same
alerts and messages as the table above. A peer that sends an EdDSA certificate
beside an RSA or ECDSA chain sends it there too, so that path refuses whatever the
Web PKI path refuses (held to OpenSSL's verdicts by tests/test_x509_own_path.py).

A certificate that is itself one of the trust anchors (byte for byte) is trusted as it
stands when the Web PKI profile refuses it, as OpenSSL, Go and Python's ``ssl`` trust
it: the self-signed certificate ``openssl req -x509`` makes has cA=TRUE, which the
profile forbids in an end entity. Its validity, names, purpose, keyUsage and critical
extensions are still checked.

A server checks a client's chain with :func:`verify_client_chain` (at the end):
the same verifiers and the same alerts, under the client rules of
x509/client_policy.py (no subjectAltName and no host name; keyUsage
digitalSignature and EKU clientAuth when present).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509 import verification

from ..enums import AlertDescription
from ..errors import AlertError, ConfigError, Facts
from ..text import printable
from .client_policy import client_extension_policies, leaf_purpose_problem
from .names import describe, parse_problem, san_names
from .own_path import check_critical, check_leaf, uses_eddsa, verify_path
from .path_checks import (
    MAX_CHAIN_DEPTH,
    TRUST_STORE_FIELDS,
    check_client_leaf,
    check_eku,
    check_name,
    check_validity,
    path_to_anchor,
    plain_message,
    rejected,
)
from .path_policy import server_extension_policies
from .store import TrustStore
from .verify_cache import der_of

__all__ = [
    "MAX_CHAIN_DEPTH",
    "TRUST_STORE_FIELDS",
    "VerifiedChain",
    "uses_eddsa",
    "verify_client_chain",
    "verify_path_rfc5280",
    "verify_server_chain",
]

# The Web PKI profile less three issuing rules private CAs break (x509/path_policy.py); made once.
_SERVER_POLICIES = server_extension_policies()


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
        path: Sequence[x509.Certificate] = verify_path(chain, name, store, now)
    else:
        try:
            path = verifier.verify(leaf, list(chain[1:]))
        except (verification.VerificationError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            if leaf not in store:
                raise _diagnose(chain, name, store, now, str(exc)) from None
            path = _trusted_leaf(leaf, name, now)
        # cryptography lets "*.internal" stand for "a.internal"; OpenSSL (so Python's ssl) and the own path
        # want two labels after a wildcard (names.name_matches): the same name check on both paths.
        problem = check_name(leaf, name)
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
        check_validity([leaf], now) or check_name(leaf, name) or check_eku(leaf)
        or check_leaf(leaf, anchor=True) or check_critical([leaf])
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
    path = verify_path(chain, "", store, now)
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
        path, untrusted = path_to_anchor(chain, store)
        if untrusted is not None:
            return untrusted
        for check in (check_validity(path, now), check_name(chain[0], server_name), check_eku(chain[0])):
            if check is not None:
                return check
    except (ValueError, x509.DuplicateExtension) as exc:  # a certificate the handshake did not parse first
        return rejected(chain[0], f"a certificate's extensions do not parse: {parse_problem(exc)}")
    return AlertError(
        AlertDescription.bad_certificate,
        f"server certificate {describe(chain[0])} was rejected: {plain_message(message)}",
    )


def verify_path_rfc5280(
    chain: Sequence[x509.Certificate], server_name: str, store: TrustStore, now: datetime
) -> tuple[x509.Certificate, ...]:
    """Build and check a server's path without the Web PKI profile (x509/own_path.py); returns it
    leaf first, anchor last.

    What :func:`verify_server_chain` uses for chains with EdDSA keys; callable on
    any chain. Raises :class:`AlertError` exactly as :func:`verify_server_chain` does.
    """
    if not chain:
        raise AlertError(AlertDescription.decode_error, "the server sent an empty certificate chain")
    name, _ = _subject_for(server_name)
    return tuple(verify_path(chain, name, store, now if now.tzinfo else now.replace(tzinfo=UTC)))


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
    """The validated path of a client chain (leaf first), or the AlertError that says why there is none.
    A chain with an Ed25519 or Ed448 key takes the own RFC 5280 path, as a server's does."""
    if uses_eddsa(chain):
        return tuple(verify_path(chain, None, store, now))
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
            raise _diagnose_client(chain, store, now, str(exc)) from None
        return _trusted_client_leaf(chain[0], now)


def _trusted_client_leaf(leaf: x509.Certificate, now: datetime) -> tuple[x509.Certificate]:
    """A client certificate that is itself a trust anchor of the client CA store (as
    :func:`_trusted_leaf` for a server's): trusted as OpenSSL trusts it, cA=TRUE or not, once
    it is valid now and its key may authenticate a TLS client."""
    problem = check_validity([leaf], now, "client")
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
        path, untrusted = path_to_anchor(chain, store, "client")
        found = untrusted or check_validity(path, now, "client") or check_client_leaf(leaf)
    except (ValueError, x509.DuplicateExtension) as exc:
        found = rejected(leaf, f"a certificate's extensions do not parse: {parse_problem(exc)}", "client")
    return found or rejected(leaf, plain_message(message), "client")
