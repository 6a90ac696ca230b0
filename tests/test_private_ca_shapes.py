"""Chains from private CAs as OpenSSL, Go and rustls take them (x509/path_policy.py).

Three Web PKI rules are about how a CA issues, not about whether a path is valid
(RFC 5280, Section 6.1 checks none of them): a CA's basicConstraints marked critical,
a CA's keyUsage present, a leaf's authorityKeyIdentifier present. Private CAs break
them (``openssl req -x509``, Python's test CA, ``openssl x509 -req``); glasstls accepts
such chains, for server and client certificates alike. What path validation does
check stays refused: an issuer that is not a CA, a pathLenConstraint exceeded, a CA
keyUsage without keyCertSign.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from glasstls.enums import AlertDescription
from glasstls.errors import AlertError
from glasstls.x509.store import TrustStore
from glasstls.x509.verify import verify_client_chain, verify_server_chain

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
CA_USAGE = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # keyCertSign, cRLSign
NO_CERT_SIGN = x509.KeyUsage(True, False, False, False, False, False, True, False, False)  # digitalSignature, cRLSign


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject: str, issuer: str, key: Any, signer: Any, extensions: list[tuple[Any, bool]]) -> x509.Certificate:
    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def _ca_extensions(key: Any, issuer_key: Any | None, **shape: Any) -> list[tuple[Any, bool]]:
    """A CA's extensions, Web PKI shaped unless ``shape`` says otherwise."""
    extensions: list[tuple[Any, bool]] = []
    if shape.get("bc", True):
        bc = x509.BasicConstraints(ca=shape.get("ca", True), path_length=shape.get("path_length"))
        extensions.append((bc, shape.get("bc_critical", True)))
    usage = shape.get("usage", CA_USAGE)
    if usage is not None:
        extensions.append((usage, True))
    extensions.append((x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False))
    if issuer_key is not None:
        extensions.append((x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False))
    return extensions


def _chain(
    root: dict[str, Any] | None = None,
    intermediates: tuple[dict[str, Any], ...] = (),
    *,
    leaf_aki: bool = True,
    eku: Any = ExtendedKeyUsageOID.SERVER_AUTH,
) -> tuple[list[x509.Certificate], TrustStore]:
    """(leaf first chain without the root, a store holding the root)."""
    root_key = _key()
    root_cert = _cert("root", "root", root_key, root_key, _ca_extensions(root_key, None, **(root or {})))
    sent: list[x509.Certificate] = []
    issuer, issuer_key = "root", root_key
    for index, shape in enumerate(intermediates):
        key = _key()
        sent.insert(0, _cert(f"int{index}", issuer, key, issuer_key, _ca_extensions(key, issuer_key, **shape)))
        issuer, issuer_key = f"int{index}", key
    leaf_key = _key()
    extensions: list[tuple[Any, bool]] = [
        (x509.SubjectAlternativeName([x509.DNSName("localhost")]), False),
        (x509.ExtendedKeyUsage([eku]), False),
    ]
    if leaf_aki:
        extensions.append((x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False))
    leaf = _cert("localhost", issuer, leaf_key, issuer_key, extensions)
    return [leaf, *sent], TrustStore([root_cert])


ACCEPTED = {
    "root basicConstraints not critical (Python's test CA)": {"root": {"bc_critical": False}},
    "root without keyUsage (openssl req -x509)": {"root": {"usage": None}},
    "intermediate basicConstraints not critical": {"intermediates": ({"bc_critical": False},)},
    "intermediate without keyUsage": {"intermediates": ({"usage": None},)},
    "leaf without authorityKeyIdentifier (openssl x509 -req)": {"leaf_aki": False},
    "all three at once": {"root": {"bc_critical": False, "usage": None}, "leaf_aki": False},
}

REFUSED = {
    "intermediate with cA=FALSE": ({"intermediates": ({"ca": False},)}, "cA"),
    "intermediate without basicConstraints": ({"intermediates": ({"bc": False},)}, "basicConstraints"),
    "intermediate beyond the root's pathLenConstraint 0": (
        {"root": {"path_length": 0}, "intermediates": ({},)},
        "path length",
    ),
    "intermediate keyUsage without keyCertSign": ({"intermediates": ({"usage": NO_CERT_SIGN},)}, "keyCertSign"),
}


@pytest.mark.parametrize("shape", ACCEPTED)
def test_a_server_chain_of_a_private_ca_is_accepted(shape: str) -> None:
    chain, store = _chain(**ACCEPTED[shape])
    verified = verify_server_chain(chain, "localhost", store, NOW)
    assert verified.path[0] == chain[0] and verified.anchor in store


@pytest.mark.parametrize("shape", REFUSED)
def test_a_server_chain_that_fails_path_validation_is_refused(shape: str) -> None:
    kw, needle = REFUSED[shape]
    chain, store = _chain(**kw)
    with pytest.raises(AlertError) as info:
        verify_server_chain(chain, "localhost", store, NOW)
    assert info.value.description == AlertDescription.bad_certificate
    assert needle in info.value.reason


@pytest.mark.parametrize("shape", ACCEPTED)
def test_a_client_chain_of_a_private_ca_is_accepted(shape: str) -> None:
    chain, store = _chain(**ACCEPTED[shape], eku=ExtendedKeyUsageOID.CLIENT_AUTH)
    assert verify_client_chain(chain, store, NOW)[0] == chain[0]


@pytest.mark.parametrize("shape", REFUSED)
def test_a_client_chain_that_fails_path_validation_is_refused(shape: str) -> None:
    kw, needle = REFUSED[shape]
    chain, store = _chain(**kw, eku=ExtendedKeyUsageOID.CLIENT_AUTH)
    with pytest.raises(AlertError) as info:
        verify_client_chain(chain, store, NOW)
    assert info.value.description == AlertDescription.bad_certificate
    assert needle in info.value.reason
