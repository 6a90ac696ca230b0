"""``load_verify_locations(capath=…)`` and SSL_CERT_DIR, as OpenSSL's "hashed directory" lookup
(crypto/x509/by_dir.c): a CA in such a directory is found through its file's name, the hash of its
subject (``openssl rehash`` / ``c_rehash`` make these names), and only when a chain needs it.

* Which files: ``HHHHHHHH.N``, the eight hex digits of :func:`subject_hash`, N counting from 0
  with no gap (by_dir stops at the first number missing). A file named otherwise (``ca.pem``), or a
  certificate whose subject does not hash to its file's name, is no CA here, as for OpenSSL.
* When: OpenSSL reads the file of a name when a chain asks for an issuer of that name, and only
  then adds its certificates to the context's store; so ``get_ca_certs()`` and
  ``cert_store_stats()`` list none of the directory's CAs before a handshake used one. glasstls
  builds its trust store from the directory's hashed CAs (the same set of anchors), and lists a CA
  once a verified peer's chain named it as an issuer (:func:`looked_up`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import warnings
from collections.abc import Iterable, Sequence

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from ..x509 import der
from ..x509.store import TrustStore

_HASHED = re.compile(r"([0-9a-f]{8})\.([0-9]+)")
# String types asn1_string_canon turns into lower-cased UTF8String (crypto/x509/x_name.c,
# ASN1_MASK_CANON), each with its codec: UTF8String, PrintableString, T61String (one byte a
# character, as ASN1_STRING_to_UTF8 reads it), IA5String, VisibleString, UniversalString, BMPString.
_CANON = {12: "utf-8", 19: "latin-1", 20: "latin-1", 22: "latin-1", 26: "latin-1", 28: "utf-32-be", 30: "utf-16-be"}
_SPACE = b" \t\n\v\f\r"  # ossl_isspace


def subject_hash(name: x509.Name) -> int:
    """OpenSSL's X509_NAME_hash_ex (``openssl x509 -subject_hash``): the first four bytes, little
    endian, of the SHA-1 of the name's canonical encoding (x509_name_canon: every RDN's SET,
    without the outer SEQUENCE, string values canonicalised)."""
    digest = hashlib.sha1(_canonical(name.public_bytes()), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "little")


def _canonical(name_der: bytes) -> bytes:
    out = b""
    for rdn in der.members(der.read(name_der)[1]):
        entries = [der.write(0x30, oid + _canonical_value(value)) for oid, value in _pairs(der.read(rdn)[1])]
        out += der.write(0x31, b"".join(sorted(entries)))  # a DER SET OF: its members in sorted order
    return out


def _pairs(rdn_content: bytes) -> Iterable[tuple[bytes, bytes]]:
    for entry in der.members(rdn_content):
        oid, value = der.members(der.read(entry)[1])
        yield oid, value


def _canonical_value(tlv: bytes) -> bytes:
    """asn1_string_canon: a string type as UTF-8, outer white space dropped, inner runs one space,
    ASCII lower-cased; another type as it was."""
    codec = _CANON.get(tlv[0])
    if codec is None:
        return tlv
    text = der.read(tlv)[1].decode(codec, errors="replace").encode("utf-8").strip(_SPACE)
    collapsed = re.sub(rb"[ \t\n\v\f\r]+", b" ", text)
    return der.write(0x0C, bytes(c + 32 if 0x41 <= c <= 0x5A else c for c in collapsed))


@functools.lru_cache(maxsize=16)
def hashed_certificates(path: str, mtime_ns: int, size: int) -> tuple[x509.Certificate, ...]:
    """The CAs OpenSSL can find in the directory (parsed once while it is unchanged: the key is
    the directory's stamp)."""
    try:
        names = os.listdir(path)
    except OSError:
        return ()  # (OpenSSL's lookup finds nothing in a directory it cannot read either)
    numbers: dict[str, set[int]] = {}
    for name in names:
        match = _HASHED.fullmatch(name)
        if match:
            numbers.setdefault(match[1], set()).add(int(match[2]))
    found: list[x509.Certificate] = []
    for digest, taken in sorted(numbers.items()):
        n = 0
        while n in taken:  # by_dir: .0, .1, … up to the first one missing
            found += _matching(os.path.join(path, f"{digest}.{n}"), int(digest, 16))
            n += 1
    return tuple(found)


def _matching(path: str, digest: int) -> list[x509.Certificate]:
    try:
        with open(path, "rb") as f:
            data = f.read()
        certs = TrustStore.from_pem(data, path, skip_unparsable=True).certificates
    except (OSError, ValueError):
        return []  # (an unreadable file, or one with no certificate: nothing found in it)
    with warnings.catch_warnings():  # old roots with a non-positive serial: cryptography warns, OpenSSL not
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return [c for c in certs if subject_hash(c.subject) == digest]


def looked_up(chain: Sequence[x509.Certificate], available: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    """The directory's CAs OpenSSL would have read for ``chain`` (a peer's, leaf first): each
    certificate's issuer, then that issuer's issuer, until a self-issued one or none is found."""
    by_subject: dict[x509.Name, list[x509.Certificate]] = {}
    for cert in available:
        by_subject.setdefault(cert.subject, []).append(cert)
    wanted = [c.issuer for c in chain if c.issuer != c.subject]
    found: list[x509.Certificate] = []
    while wanted:
        for cert in by_subject.pop(wanted.pop(), []):
            found.append(cert)
            if cert.issuer != cert.subject:
                wanted.append(cert.issuer)
    return found
