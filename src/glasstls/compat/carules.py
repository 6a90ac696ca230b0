"""How OpenSSL reads CA material, for the ssl-compatible context (context.py): ``cadata``'s run of
DER certificates, and which certificates count as CAs (X509_check_ca, for ``get_ca_certs`` and
``cert_store_stats``; basicConstraints, for the anchors a partial chain may end at)."""

from __future__ import annotations

import ssl
import warnings

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

__all__ = ["der_certificates", "is_ca", "openssl_ca"]


def der_certificates(data: bytes) -> list[x509.Certificate]:
    """Concatenated DER certificates, as the stdlib's ``cadata`` bytes."""
    out = []
    while data:
        if len(data) < 4 or data[0] != 0x30:
            err = ssl.SSLError(
                ssl.SSL_ERROR_SSL, "[ASN1: NOT_ENOUGH_DATA] not enough data: cadata does not contain a certificate"
            )
            err.reason, err.library = "NOT_ENOUGH_DATA", "ASN1"
            raise err
        length, header = data[1], 2
        if length & 0x80:
            size = length & 0x7F
            length, header = int.from_bytes(data[2 : 2 + size], "big"), 2 + size
        out.append(x509.load_der_x509_certificate(data[: header + length]))
        data = data[header + length :]
    return out


def is_ca(cert: x509.Certificate) -> bool:
    try:
        with warnings.catch_warnings():  # old roots with a non-positive serial: cryptography warns, OpenSSL not
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def openssl_ca(cert: x509.Certificate) -> bool:
    """OpenSSL's X509_check_ca (crypto/x509/v3_purp.c, check_ca): a keyUsage without keyCertSign
    says no; else basicConstraints decides; without it a version 1 self-issued certificate (an
    old root) or one whose keyUsage allows keyCertSign is a CA. (Netscape's certificate types,
    the last rule there, are not read.)"""
    with warnings.catch_warnings():  # old roots with a non-positive serial: cryptography warns, OpenSSL not
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        extensions = cert.extensions
    try:
        if not extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign:
            return False
        usage = True
    except x509.ExtensionNotFound:
        usage = False
    try:
        return bool(extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        pass
    return (cert.version == x509.Version.v1 and cert.subject == cert.issuer) or usage
