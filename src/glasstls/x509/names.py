"""Certificates' names as a person reads them, and as a host name is matched against them.

The subject and issuer as RFC 4514 text, escaped (the peer chose them, and they go into alert
reasons, traces and logs); what ``cryptography`` could not parse, in words; the subjectAltName's
DNS names and IP addresses, and RFC 6125's matching of a server name against them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import cast

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from ..text import printable

# describe()'s text by certificate object, held beside it so that its id is not reused while kept
# (an lru_cache would hash the certificate, which hashes its DER anew each time: 1.8 us): a traced
# handshake describes the same certificates three times or more, and a server's certificates and
# a kept peer's (x509/verify_cache.py) are the same objects on every connection. Started over when full.
_DESCRIBED_MAX = 256
_described: dict[int, tuple[x509.Certificate, str]] = {}


def describe(cert: x509.Certificate) -> str:
    """The subject as a person reads it ("CN=example.com"), or the serial when it is empty.

    Escaped (:func:`~glasstls.text.printable`): the subject is the peer's choice, and this
    text goes into alert reasons, traces and logs.
    """
    kept = _described.get(id(cert))
    if kept is not None and kept[0] is cert:
        return kept[1]
    text = _describe(cert)
    if len(_described) >= _DESCRIBED_MAX:
        _described.clear()
    _described[id(cert)] = (cert, text)
    return text


def _describe(cert: x509.Certificate) -> str:
    try:
        subject = cert.subject.rfc4514_string()
    except (ValueError, TypeError) as exc:  # a name that does not decode; cryptography parses names lazily
        return f"with serial {cert.serial_number:#x} and an undecodable subject ({parse_problem(exc)})"
    return printable(subject) or f"with serial {cert.serial_number:#x} and an empty subject"


def describe_issuer(cert: x509.Certificate) -> str:
    """The issuer's name as :func:`describe` gives a subject."""
    try:
        return printable(cert.issuer.rfc4514_string()) or "(an empty name)"
    except (ValueError, TypeError) as exc:
        return f"(an undecodable name: {parse_problem(exc)})"


def parse_problem(exc: BaseException) -> str:
    """What is wrong with a certificate ``cryptography`` would not read, in words a person can act on."""
    if isinstance(exc, x509.DuplicateExtension):
        return (
            f"it carries the extension {_oid_name(exc.oid)} twice, and RFC 5280 (Section 4.2) allows each "
            "extension once: the certificate must be reissued"
        )
    if isinstance(exc, x509.InvalidVersion):
        return f"it has X.509 version number {exc.parsed_version}, which does not exist (v3 is 2)"
    return printable(str(exc)) or type(exc).__name__


def _oid_name(oid: x509.ObjectIdentifier) -> str:
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else f"{name} ({oid.dotted_string})"


_SAN = ExtensionOID.SUBJECT_ALTERNATIVE_NAME


def san_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The DNS names and IP addresses of the subjectAltName extension, in certificate order."""
    try:
        san = cast("x509.SubjectAlternativeName", cert.extensions.get_extension_for_oid(_SAN).value)
    except x509.ExtensionNotFound:
        return ()
    return tuple(str(entry.value) for entry in san if isinstance(entry, x509.DNSName | x509.IPAddress))


def shown_names(names: Sequence[str]) -> str:
    """subjectAltName entries for a message: the peer wrote them, so escaped."""
    return ", ".join(printable(n) for n in names)


_HOST_LABEL = re.compile(r"[a-z0-9-]+")


def name_matches(pattern: str, name: str) -> bool:
    """RFC 6125, Section 6.4.3, as the Web PKI narrows it: "*" only as the whole left-most label.

    "*.example.com" matches "a.example.com" but neither "example.com" nor
    "a.b.example.com"; comparison ignores case (RFC 4343). The label "*" stands for is a
    host name's (letters, digits, hyphens: RFC 952 and RFC 1123, Section 2.1), as OpenSSL's
    X509_check_host takes it: "my_host.example.com" matches only a name written out in full; and
    "*.com" matches nothing.
    """
    pattern, name = pattern.removesuffix(".").lower(), name.removesuffix(".").lower()  # (one: an absolute name)
    if not pattern.startswith("*."):
        return pattern == name
    label, dot, rest = name.partition(".")
    base = pattern[2:]
    # "*.com" stands for nothing: a wildcard needs two labels after it, as OpenSSL's X509_check_host.
    return "." in base and _HOST_LABEL.fullmatch(label) is not None and bool(dot) and rest == base


def matches_any(cert: x509.Certificate, server_name: str) -> bool:
    """Whether a subjectAltName entry of ``cert`` names ``server_name``, entry type and all: an IP
    address only an iPAddress entry (a dNSName "127.0.0.1" names no address: RFC 9525, Section 6.2),
    a host name only a dNSName entry."""
    try:
        san = cast("x509.SubjectAlternativeName", cert.extensions.get_extension_for_oid(_SAN).value)
    except x509.ExtensionNotFound:
        return False
    try:
        address = ipaddress.ip_address(server_name.partition("%")[0])  # (an IPv6 zone names no address)
    except ValueError:
        return any(name_matches(e.value, server_name) for e in san if isinstance(e, x509.DNSName))
    return any(isinstance(e, x509.IPAddress) and e.value == address for e in san)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
