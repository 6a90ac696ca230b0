"""What a leaf of the CA tool (glasstls.x509.ca) certifies, and certificate requests made elsewhere.

A server's or a client's names become its subjectAltName and extended key usage here, for a key
the CA makes (``issue``) or one a requester keeps (``sign``, from a PKCS #10 request, RFC 2986).
A request is used for its key alone, once its signature shows the requester holds that key
(RFC 2986, Section 3: the request is signed with the key it asks a certificate for): its names
are what the CA is asked to certify (by default, unless the CA is given others), and nothing
else of it (its extensions, its subject's other attributes) is copied, as ``openssl ca``
copies none by default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import ConfigError, Facts
from .ca_files import dns_name, san_entry

Extensions: TypeAlias = list[tuple[x509.ExtensionType, bool]]
# What a leaf's key may be: what glasstls and the Web PKI take (an RSA key of 2048 bits or more).
_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
MIN_RSA_BITS = 2048


def server_parts(names: Sequence[str], must_staple: bool) -> tuple[str, x509.SubjectAlternativeName, Extensions]:
    """CN (the first name), subjectAltName and EKU serverAuth of a server certificate; ``must_staple``
    adds the TLS feature status_request (RFC 7633, Section 4)."""
    if not names:
        raise ConfigError("a server certificate needs at least one DNS name or IP address")
    san = x509.SubjectAlternativeName([san_entry(n) for n in names])
    extra: Extensions = [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)]
    if must_staple:
        extra.append((x509.TLSFeature([x509.TLSFeatureType.status_request]), False))
    return str(san[0].value), san, extra


def client_parts(name: str, email: str | None) -> tuple[str, x509.SubjectAlternativeName, Extensions]:
    """CN=``name``, a subjectAltName that repeats the identity (an rfc822Name for ``email`` or a
    ``name`` with "@", a dNSName or IP address for a ``name`` that is one) and EKU clientAuth."""
    name = name.strip()
    email = email or (name if "@" in name else None)
    entries: list[x509.GeneralName] = []
    if email is not None:
        local, _, domain = email.rpartition("@")
        if not local or not domain or re.search(r"\s", email):
            raise ConfigError(f"{email!r} is not an e-mail address (local@domain)")
        entries.append(x509.RFC822Name(f"{local}@{dns_name(domain)}"))
    if email != name:
        try:
            entries.append(san_entry(name))
        except ConfigError:
            if email is None:
                raise ConfigError(
                    f"client name {name!r} is neither an e-mail address nor a DNS name; the certificate carries "
                    "its identity in a SubjectAltName: give an e-mail address as well (email)",
                    facts=Facts("invalid_value", field="CertificateAuthority.issue_client(email)", value=""),
                ) from None
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    return name, x509.SubjectAlternativeName(entries), [(eku, False)]


def load_request(data: bytes, where: str) -> x509.CertificateSigningRequest:
    """A PKCS #10 request (PEM or DER) whose signature verifies and whose key a leaf may have."""
    try:
        csr = x509.load_pem_x509_csr(data) if b"-----BEGIN" in data else x509.load_der_x509_csr(data)
    except ValueError:  # (cryptography's reason names its parser's internals: ParseError { kind: ShortData ... })
        raise ConfigError(f"{where} is not a certificate request (PKCS #10, PEM or DER) that parses") from None
    if not csr.is_signature_valid:
        raise ConfigError(
            f"{where}: the request's signature does not verify with the key it carries, so nothing shows its "
            "sender holds that key (RFC 2986, Section 3): make the request again (openssl req -new -key KEY ...)"
        )
    problem = _key_problem(csr.public_key())
    if problem is not None:
        raise ConfigError(f"{where}: the request's key is {problem}")
    return csr


def _key_problem(key: CertificatePublicKeyTypes) -> str | None:
    if isinstance(key, rsa.RSAPublicKey):
        return None if key.key_size >= MIN_RSA_BITS else f"a {key.key_size}-bit RSA key: at least {MIN_RSA_BITS}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return None if isinstance(key.curve, _CURVES) else f"on the curve {key.curve.name}: P-256, P-384 or P-521"
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return None
    return f"a {type(key).__name__}, which TLS does not sign with: RSA, ECDSA, Ed25519 or Ed448"


def requested_names(csr: x509.CertificateSigningRequest) -> list[str]:
    """The names a request asks for: its subjectAltName's DNS names, IP addresses and e-mail
    addresses, else its common name; [] if it names nothing."""
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    except ValueError as exc:  # (an extension that does not parse)
        raise ConfigError(f"the request's extensions do not parse: {exc}") from None
    names: list[str] = []
    if san is not None:
        names += san.get_values_for_type(x509.DNSName)
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
        names += san.get_values_for_type(x509.RFC822Name)
    if not names:
        names = [str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return names
