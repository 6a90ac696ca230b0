"""The checks of path validation that both validators of :mod:`.verify` use (RFC 5280, Section 6.1):
the path to a trust anchor followed for a diagnosis, validity, the host name, the leaf's purpose,
and the alerts and words of the table in verify.py. ``whose`` chain it is ("server" or "client")
picks the words and the trust store a reason names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..enums import AlertDescription
from ..errors import AlertError, Facts
from ..text import printable
from .client_policy import leaf_purpose_problem
from .names import describe, describe_issuer, is_ip, matches_any, san_names, shown_names
from .store import TrustStore

# cryptography's own default; a longer chain is not one a server should send.
MAX_CHAIN_DEPTH = 8

# The trust store a chain is checked against: a client checks the server's chain, a server the client's.
TRUST_STORE_FIELDS = {"server": "ClientConfig.trust_store", "client": "ServerConfig.client_trust_store"}


def directly_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Issuer name matches and the issuer's key verifies the signature (RFC 5280, 6.1.3 (a))."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):  # a key cryptography cannot load
        return False
    return True


def path_to_anchor(
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
        anchor = next((a for a in anchors if directly_issued_by(current, a)), None)
        if anchor is not None:
            return [*path, anchor], None
        candidates = (c for c in pool if c.subject == current.issuer)  # names first: no signature work
        issuer = next((c for c in candidates if directly_issued_by(current, c)), None)
        if issuer is None:
            return path, _untrusted(current, chain, bool(anchors), whose)
        path.append(issuer)
        pool.remove(issuer)
    current = path[-1]
    anchors = store.issuers_of(current)
    onward = [c for c in pool if c not in path and c.subject == current.issuer]  # (not round a loop)
    if not any(directly_issued_by(current, c) for c in [*anchors, *onward]):
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
    if current.issuer == current.subject and directly_issued_by(current, current):
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


def check_validity(path: Sequence[x509.Certificate], now: datetime, whose: str = "server") -> AlertError | None:
    """RFC 5280, Section 6.1.3 (a)(2): every certificate of the path must be valid at ``now``."""
    for index, cert in enumerate(path):
        role = role_of(index, len(path), whose)
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


def role_of(index: int, length: int, whose: str = "server") -> str:
    if index == 0:
        return f"{whose} certificate"
    return "trusted root certificate" if index == length - 1 else "intermediate certificate"


def check_name(leaf: x509.Certificate, server_name: str) -> AlertError | None:
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


def check_eku(leaf: x509.Certificate) -> AlertError | None:
    """RFC 5280, Section 4.2.1.12: with an EKU extension, the key may serve only the listed purposes."""
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if ExtendedKeyUsageOID.SERVER_AUTH in usages:
        return None
    allowed = ", ".join(eku_name(oid) for oid in usages) or "nothing"
    return AlertError(
        AlertDescription.unsupported_certificate,
        f"server certificate {describe(leaf)} is not for TLS servers: its extended key usage allows "
        f"{allowed}, not serverAuth",
    )


def eku_name(oid: x509.ObjectIdentifier) -> str:
    if oid == ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE:
        return "anyExtendedKeyUsage (which the Web PKI does not accept for servers)"
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else name


def rejected(leaf: x509.Certificate, why: str, whose: str = "server") -> AlertError:
    """The "anything else" row of the table: bad_certificate, worded as for the Web PKI path."""
    return AlertError(AlertDescription.bad_certificate, f"{whose} certificate {describe(leaf)} was rejected: {why}")


def extension_of(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def check_client_leaf(leaf: x509.Certificate, anchor: bool = False) -> AlertError | None:
    """The leaf is an end entity (v3, not a CA) whose key may authenticate a TLS client; one that is
    itself a trust anchor (``anchor``) may be a CA, as OpenSSL trusts it."""
    if leaf.version != x509.Version.v3 and not anchor:
        # cryptography's verifier (RFC 5280 path validation as the Web PKI profiles it) takes v3 only.
        return rejected(
            leaf,
            "it is an X.509 version 1 certificate, and only version 3 certificates are accepted: have it "
            "reissued as v3 (openssl x509 -req ... -extfile FILE, with basicConstraints=CA:FALSE and "
            "extendedKeyUsage=clientAuth in FILE)",
            "client",
        )
    constraints = extension_of(leaf, x509.BasicConstraints)
    if not anchor and isinstance(constraints, x509.BasicConstraints) and constraints.ca:
        return rejected(leaf, "it is a CA certificate (BasicConstraints cA=TRUE), not a client's", "client")
    problem = leaf_purpose_problem(leaf)
    if problem is None:
        return None
    # As OpenSSL does (X509_V_ERR_INVALID_PURPOSE): unsupported_certificate (RFC 8446, Section 6.2).
    return AlertError(
        AlertDescription.unsupported_certificate,
        f"client certificate {describe(leaf)} is not for TLS clients: {problem}",
    )


def plain_message(message: str) -> str:
    """cryptography's message without the certificate's repr it appends (the reason names the certificate)."""
    return printable(message.split(" (encountered processing <Certificate", 1)[0])
