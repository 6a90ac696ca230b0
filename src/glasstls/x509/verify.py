"""Server certificate verification for the TLS client.

RFC 8446, Section 4.4.2.4 and RFC 5246, Section 7.4.2 leave path validation to
RFC 5280; this module hands it to ``cryptography.x509.verification``, which
validates against the Web PKI profile (RFC 5280 plus the CA/Browser Forum
Baseline Requirements) and checks the host name (RFC 6125 rules, with the
wildcard only as a whole left-most label).

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
EdDSA key in the chain      unsupported_certificate    the Web PKI profile forbids it
anything else               bad_certificate            with cryptography's message
==========================  =========================  ==============================
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..enums import AlertDescription
from ..errors import AlertError, ConfigError
from .store import TrustStore

# cryptography's own default; a longer chain is not one a server should send.
MAX_CHAIN_DEPTH = 8

_CACERT_HINT = "pass --cacert FILE with the CA that issued it, or install that CA"


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
    chain: Sequence[x509.Certificate], server_name: str, store: TrustStore, now: datetime
) -> VerifiedChain:
    """Validate the server's chain (leaf first) for ``server_name`` at ``now``.

    ``server_name`` is a DNS name or an IPv4/IPv6 literal (brackets allowed).
    Raises :class:`AlertError` for every problem with the chain; a naive ``now``
    is taken as UTC.
    """
    if not chain:
        # RFC 8446, Section 4.4.2.4: an empty server Certificate message is a decode_error.
        raise AlertError(AlertDescription.decode_error, "the server sent an empty certificate chain")
    name, subject = _subject_for(server_name)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    leaf, intermediates = chain[0], list(chain[1:])
    verifier = (
        verification.PolicyBuilder()
        .store(store.to_cryptography_store())
        .time(now)
        .max_chain_depth(MAX_CHAIN_DEPTH)
        .build_server_verifier(subject)
    )
    try:
        path = verifier.verify(leaf, intermediates)
    except (verification.VerificationError, ValueError, TypeError) as exc:
        raise _diagnose(chain, name, store, now, str(exc)) from None
    return VerifiedChain(
        path=tuple(path),
        server_name=name,
        leaf_subject=describe(leaf),
        leaf_names=san_names(leaf),
        anchor_subject=describe(path[-1]),
        not_after=leaf.not_valid_after_utc,
    )


# -- names ---------------------------------------------------------------------------


def _subject_for(server_name: str) -> tuple[str, verification.Subject]:
    """The normalised name and the subject the verifier matches against the SANs."""
    name = server_name.strip().removeprefix("[").removesuffix("]").rstrip(".").lower()
    if not name:
        raise ConfigError("no server name to check the certificate against: pass --servername NAME")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name, verification.DNSName(name)
    return str(address), verification.IPAddress(address)


def describe(cert: x509.Certificate) -> str:
    """The subject as a person reads it ("CN=example.com"), or the serial when it is empty."""
    return cert.subject.rfc4514_string() or f"with serial {cert.serial_number:#x} and an empty subject"


def san_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The DNS names and IP addresses of the subjectAltName extension, in certificate order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(
        str(entry.value) for entry in san if isinstance(entry, x509.DNSName | x509.IPAddress)
    )


def name_matches(pattern: str, name: str) -> bool:
    """RFC 6125, Section 6.4.3, as the Web PKI narrows it: "*" only as the whole left-most label.

    "*.example.com" matches "a.example.com" but neither "example.com" nor
    "a.b.example.com"; comparison ignores case (RFC 4343).
    """
    pattern, name = pattern.rstrip(".").lower(), name.rstrip(".").lower()
    if not pattern.startswith("*."):
        return pattern == name
    label, dot, rest = name.partition(".")
    return bool(label) and bool(dot) and rest == pattern[2:]


def _matches_any(names: Sequence[str], server_name: str) -> bool:
    try:
        address = ipaddress.ip_address(server_name)
    except ValueError:
        return any(name_matches(n, server_name) for n in names if not _is_ip(n))
    return any(_is_ip(n) and ipaddress.ip_address(n) == address for n in names)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- diagnosis -----------------------------------------------------------------------


def _diagnose(
    chain: Sequence[x509.Certificate], server_name: str, store: TrustStore, now: datetime, message: str
) -> AlertError:
    """Why cryptography rejected the chain, as the alert and a reason a person can act on."""
    path, untrusted = _path_to_anchor(chain, store)
    if untrusted is not None:
        return untrusted
    for check in (_check_validity(path, now), _check_name(chain[0], server_name), _check_eku(chain[0])):
        if check is not None:
            return check
    eddsa = _check_key_algorithms(path)
    if eddsa is not None:
        return eddsa
    return AlertError(
        AlertDescription.bad_certificate,
        f"server certificate {describe(chain[0])} was rejected: {message}",
    )


def _directly_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Issuer name matches and the issuer's key verifies the signature (RFC 5280, 6.1.3 (a))."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _path_to_anchor(
    chain: Sequence[x509.Certificate], store: TrustStore
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
            return path, _untrusted(current, chain, bool(anchors))
        path.append(issuer)
        pool.remove(issuer)
    return path, AlertError(
        AlertDescription.unknown_ca,
        f"no trusted CA within {MAX_CHAIN_DEPTH} certificates of server certificate {describe(chain[0])}",
    )


def _untrusted(current: x509.Certificate, chain: Sequence[x509.Certificate], name_known: bool) -> AlertError:
    """unknown_ca (RFC 8446, Section 6.2): the path stops at ``current``."""
    role = "server certificate" if current is chain[0] else "certificate"
    if current.issuer == current.subject and _directly_issued_by(current, current):
        reason = (
            f"{role} {describe(current)} is self-signed and not trusted: "
            "pass --cacert FILE with that certificate, or install it as a trusted CA"
        )
    elif name_known:
        reason = (
            f"issuer {current.issuer.rfc4514_string()} is not trusted: a trusted CA has that name "
            f"but did not sign {describe(current)} (another CA with the same name?); {_CACERT_HINT}"
        )
    else:
        reason = f"issuer {current.issuer.rfc4514_string()} is not trusted: {_CACERT_HINT}"
        if current is chain[0] and len(chain) == 1:
            reason += (
                " (the server sent no intermediate certificates: if that issuer is an intermediate CA,"
                " the server must send it after its own certificate)"
            )
    return AlertError(AlertDescription.unknown_ca, reason)


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _check_validity(path: Sequence[x509.Certificate], now: datetime) -> AlertError | None:
    """RFC 5280, Section 6.1.3 (a)(2): every certificate of the path must be valid at ``now``."""
    for index, cert in enumerate(path):
        role = _role(index, len(path))
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


def _role(index: int, length: int) -> str:
    if index == 0:
        return "server certificate"
    return "trusted root certificate" if index == length - 1 else "intermediate certificate"


def _check_name(leaf: x509.Certificate, server_name: str) -> AlertError | None:
    """The name the client asked for must be among the leaf's subjectAltName entries."""
    names = san_names(leaf)
    if not names:
        return AlertError(
            AlertDescription.bad_certificate,
            f"server certificate {describe(leaf)} has no DNS or IP subjectAltName, so it names no host "
            f"and cannot be for {server_name} (the CN is never used: CA/Browser Forum rules, RFC 9525)",
        )
    if _matches_any(names, server_name):
        return None
    note = " (an IP address is matched only against IP address entries)" if _is_ip(server_name) else ""
    return AlertError(
        AlertDescription.bad_certificate,
        f"certificate is for {', '.join(names)}, not {server_name}{note}",
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


def _check_key_algorithms(path: Sequence[x509.Certificate]) -> AlertError | None:
    """The Web PKI profile that cryptography enforces admits RSA and ECDSA keys only."""
    for index, cert in enumerate(path):
        key = cert.public_key()
        if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            kind = "Ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "Ed448"
            return AlertError(
                AlertDescription.unsupported_certificate,
                f"{_role(index, len(path))} {describe(cert)} has an {kind} key, which the Web PKI "
                "certificate profile (CA/Browser Forum) used for verification does not accept",
            )
    return None
