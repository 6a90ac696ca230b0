"""What a server asks of a client certificate: the rules, as ``cryptography`` extension policies.

``cryptography``'s client verifier starts from the Web PKI (CA/Browser Forum)
profile, which is written for servers: it requires a subjectAltName in every
leaf, keyUsage in every CA, an ExtendedKeyUsage that is never
anyExtendedKeyUsage. Client certificates come from corporate PKIs, devices and
``openssl req``, which follow RFC 5280 and often carry only a subject name.
So the server relaxes exactly those rules and keeps the rest (path building,
validity, signatures, key sizes, basic constraints of the CAs):

* leaf: subjectAltName optional (a client names no host: there is no host name
  rule); keyUsage, when present, must include digitalSignature, because the
  client proves its key by signing CertificateVerify (RFC 8446, Section 4.4.3;
  RFC 5246, Section 7.4.8), and must not include keyCertSign (RFC 5280,
  Section 4.2.1.3: only for CAs); ExtendedKeyUsage, when present, must list
  clientAuth or anyExtendedKeyUsage (RFC 5280, Section 4.2.1.12), either
  critical or not; authorityKeyIdentifier optional.
* CAs: as for server chains (x509/path_policy.py): basicConstraints critical or
  not, keyUsage optional (OpenSSL's ``req -x509`` CAs have none) but with
  keyCertSign when present (RFC 5280, Section 4.2.1.3).

The checks are also plain functions (:func:`leaf_purpose_problem`), which the
diagnosis calls to say which rule a refused chain broke.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from .path_policy import ca_extension_policy

# The extended key usages that let a key authenticate a TLS client (RFC 5280, Section 4.2.1.12).
CLIENT_PURPOSES = frozenset({ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE})

_ANY = verification.Criticality.AGNOSTIC


def client_extension_policies() -> tuple[verification.ExtensionPolicy, verification.ExtensionPolicy]:
    """(CA policy, leaf policy) for ``PolicyBuilder.extension_policies`` when verifying a client chain."""
    ca_policy = ca_extension_policy()
    leaf_policy = (
        verification.ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.SubjectAlternativeName, _ANY, None)
        .may_be_present(x509.AuthorityKeyIdentifier, _ANY, None)
        .may_be_present(x509.KeyUsage, _ANY, _leaf_key_usage)
        .may_be_present(x509.ExtendedKeyUsage, _ANY, _leaf_extended_key_usage)
    )
    return ca_policy, leaf_policy


# -- the rules, as functions that return what is wrong (None: nothing) -------------------------


def key_usage_problem(usage: x509.KeyUsage | None) -> str | None:
    """A client leaf's keyUsage must allow signing (and not certificate signing)."""
    if usage is None:
        return None
    if not usage.digital_signature:
        return f"its key usage allows {_usages(usage)}, not digitalSignature, so it cannot sign CertificateVerify"
    if usage.key_cert_sign:
        return "its key usage includes keyCertSign, which only a CA certificate may have (RFC 5280, 4.2.1.3)"
    return None


def extended_key_usage_problem(usages: x509.ExtendedKeyUsage | None) -> str | None:
    """A client leaf's ExtendedKeyUsage, when present, must allow TLS client authentication."""
    if usages is None or any(oid in CLIENT_PURPOSES for oid in usages):
        return None
    allowed = ", ".join(_eku_name(oid) for oid in usages) or "nothing"
    return f"its extended key usage allows {allowed}, not clientAuth"


def leaf_purpose_problem(leaf: x509.Certificate) -> str | None:
    """Why ``leaf`` may not authenticate a TLS client (its KU or EKU), or None.

    May raise ValueError (or DuplicateExtension) for extensions that do not parse.
    """
    usage = _extension(leaf, x509.KeyUsage)
    eku = _extension(leaf, x509.ExtendedKeyUsage)
    return extended_key_usage_problem(eku if isinstance(eku, x509.ExtendedKeyUsage) else None) or key_usage_problem(
        usage if isinstance(usage, x509.KeyUsage) else None
    )


# -- the callbacks cryptography calls (a raised ValueError refuses the certificate) --------------


def _leaf_key_usage(_policy: verification.Policy, _cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    problem = key_usage_problem(usage)
    if problem is not None:
        raise ValueError(problem)


def _leaf_extended_key_usage(
    _policy: verification.Policy, _cert: x509.Certificate, usages: x509.ExtendedKeyUsage | None
) -> None:
    problem = extended_key_usage_problem(usages)
    if problem is not None:
        raise ValueError(problem)


# -- helpers -------------------------------------------------------------------------------------

_KEY_USAGE_NAMES = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


def _usages(usage: x509.KeyUsage) -> str:
    names = [name for attribute, name in _KEY_USAGE_NAMES if getattr(usage, attribute)]
    return ", ".join(names) or "nothing"


def _eku_name(oid: x509.ObjectIdentifier) -> str:
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else name


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
