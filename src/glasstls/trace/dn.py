"""A DER-encoded X.501 Name, as a person reads it (RFC 4514), for the trace.

CertificateRequest lists the CAs whose certificates the server accepts as DistinguishedName
vectors (RFC 5246, Section 7.4.4; RFC 8446's certificate_authorities, Section 4.2.4): DER of a
Name, which ``cryptography`` formats but does not parse apart from a certificate. This reads
the Name's structure (RFC 5280, Section 4.1.2.4: a SEQUENCE of SETs of SEQUENCE {OID, value})
and hands the attributes to ``cryptography`` for the RFC 4514 text, escaping included. Anything
it cannot read is None, and the trace keeps the hex: the bytes are the peer's choice.
"""

from __future__ import annotations

from cryptography import x509

from ..text import printable
from ..x509 import der

_SEQUENCE, _SET, _OID = 0x30, 0x31, 0x06
# The string types a Name's value comes in (RFC 5280, Appendix A: DirectoryString, IA5String).
_STRINGS = {0x0C: "utf-8", 0x13: "ascii", 0x14: "latin-1", 0x16: "ascii", 0x1E: "utf-16-be", 0x1C: "utf-32-be"}
MAX_ATTRIBUTES = 64  # a real Name has a handful; the rest is not worth a trace line


def dn_text(encoded: bytes) -> str | None:
    """``encoded`` as RFC 4514 text ("CN=Example Root,O=Example"), escaped for a terminal; None if it
    is not a Name this reads."""
    try:
        rdns = [_rdn(body) for body in _items(_whole(encoded, _SEQUENCE), _SET)]
        if sum(len(rdn) for rdn in rdns) > MAX_ATTRIBUTES:
            return None
        name = x509.Name([x509.RelativeDistinguishedName(rdn) for rdn in rdns])
        return printable(name.rfc4514_string(), escape_backslash=False) or "(an empty name)"
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def authorities_text(authorities: tuple[bytes, ...], shown: int = 3) -> str:
    """The first ``shown`` CA names a CertificateRequest gives, "; " between them, and how many more."""
    names = "; ".join(dn_text(der) or f"(a name of {len(der)} bytes)" for der in authorities[:shown])
    return names + (f" and {len(authorities) - shown} more" if len(authorities) > shown else "")


def _rdn(body: bytes) -> list[x509.NameAttribute[str]]:
    attributes: list[x509.NameAttribute[str]] = []
    for pair in _items(body, _SEQUENCE):
        oid, rest = _tlv(pair, _OID)
        tag, value, end = der.read(rest)
        if end != len(rest) or tag not in _STRINGS:
            raise ValueError("not an attribute this reads")
        attributes.append(x509.NameAttribute(x509.ObjectIdentifier(_dotted(oid)), value.decode(_STRINGS[tag])))
    return attributes


def _whole(data: bytes, tag: int) -> bytes:
    body, rest = _tlv(data, tag)
    if rest:
        raise ValueError("bytes after the Name")
    return body


def _items(body: bytes, tag: int) -> list[bytes]:
    items = []
    while body:
        item, body = _tlv(body, tag)
        items.append(item)
    return items


def _tlv(data: bytes, tag: int) -> tuple[bytes, bytes]:
    found, value, end = der.read(data)
    if found != tag:
        raise ValueError(f"tag {found:#x}, not {tag:#x}")
    return value, data[end:]


def _dotted(oid: bytes) -> str:
    """An OBJECT IDENTIFIER's contents (X.690, 8.19) as dotted numbers."""
    if not oid or oid[-1] & 0x80:
        raise ValueError("truncated OID")
    numbers, value = [], 0
    for byte in oid:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            numbers.append(value)
            value = 0
    first = min(numbers[0] // 40, 2)
    return ".".join(str(n) for n in (first, numbers[0] - 40 * first, *numbers[1:]))
