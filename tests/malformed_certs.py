"""Certificates that ``cryptography``'s builder refuses to make, made by hand for the tests.

:func:`with_duplicated_extension` takes a certificate the builder made, splices a
second copy of one of its extensions into the TBSCertificate (RFC 5280,
Section 4.1; Section 4.2 forbids the duplicate), fixes every DER length on the
way up and signs the new TBSCertificate with the issuer's key, so the only fault
is the duplicate. :func:`named` makes a certificate whose subject and
subjectAltName hold whatever characters a test asks for (control characters
included), as a hostile peer would.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from glasstls.x509.mint import (
    BACKDATE,
    CLIENT_AUTH,
    LEAF_LIFETIME,
    SERVER_AUTH,
    Issuer,
    ThrowawayCA,
    build_certificate,
    generate_key,
    leaf_key_usage,
)

SUBJECT_ALT_NAME = x509.SubjectAlternativeName.oid


# -- DER, as much as a certificate needs (X.690, Section 8.1) ----------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def read_tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the content, end of the element) of the element at ``pos``."""
    tag, first = data[pos], data[pos + 1]
    if first < 0x80:
        return tag, pos + 2, pos + 2 + first
    size = first & 0x7F
    n = int.from_bytes(data[pos + 2 : pos + 2 + size], "big")
    start = pos + 2 + size
    return tag, start, start + n


def children(data: bytes, start: int, end: int) -> list[bytes]:
    """The encoded elements between ``start`` and ``end``."""
    out = []
    while start < end:
        _, _, stop = read_tlv(data, start)
        out.append(data[start:stop])
        start = stop
    return out


def oid_der(oid: x509.ObjectIdentifier) -> bytes:
    arcs = [int(a) for a in oid.dotted_string.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, bytes(body))


# -- the certificates --------------------------------------------------------------------------------


def _sign(tbs: bytes, key: object) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())


def with_duplicated_extension(
    cert: x509.Certificate, issuer_key: object, oid: x509.ObjectIdentifier = SUBJECT_ALT_NAME
) -> bytes:
    """The DER of ``cert`` with its extension ``oid`` present twice, re-signed by ``issuer_key``.

    The issuer must sign with SHA-256 (ECDSA P-256 or RSA), as the signature
    algorithm field is kept as it was.
    """
    der = cert.public_bytes(Encoding.DER)
    _, cert_start, cert_end = read_tlv(der, 0)
    tbs_elem, sigalg, _signature = children(der, cert_start, cert_end)
    _, tbs_start, tbs_end = read_tlv(tbs_elem, 0)
    fields = children(tbs_elem, tbs_start, tbs_end)
    index = next(i for i, f in enumerate(fields) if f[0] == 0xA3)  # [3] EXPLICIT Extensions
    _, a3_start, a3_end = read_tlv(fields[index], 0)
    _, seq_start, seq_end = read_tlv(fields[index], a3_start)
    extensions = children(fields[index], seq_start, seq_end)
    wanted = oid_der(oid)
    copy = next(e for e in extensions if e[read_tlv(e, 0)[1] :].startswith(wanted))
    fields[index] = tlv(0xA3, tlv(0x30, b"".join([*extensions, copy])))
    tbs = tlv(0x30, b"".join(fields))
    signature = tlv(0x03, b"\x00" + _sign(tbs, issuer_key))
    return tlv(0x30, tbs + sigalg + signature)


def named(
    ca: ThrowawayCA, common_name: str, dns_names: Sequence[str], *, client: bool = False
) -> tuple[x509.Certificate, object]:
    """A leaf under ``ca`` with subject CN=``common_name`` and these dNSName entries, taken as they are.

    ``cryptography`` lets a name hold control characters; the real CAs would not,
    but a peer can still send one. Returns the certificate and its key.
    """
    key = generate_key("ecdsa-p256")
    issuer_cert, issuer_key = ca.issuer
    start = datetime.now(UTC) - BACKDATE
    eku = CLIENT_AUTH if client else SERVER_AUTH
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (leaf_key_usage(key), True),
        (x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), False),
        (x509.ExtendedKeyUsage([eku]), False),
    ]
    cert = build_certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
        key.public_key(),
        Issuer(issuer_cert, issuer_key),
        issuer_key,
        start,
        start + BACKDATE + LEAF_LIFETIME,
        extensions,
    )
    return cert, key


def pem(der: bytes) -> bytes:
    """``der`` as a PEM CERTIFICATE block (written by hand: cryptography will not load it to write it)."""
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n").encode()
