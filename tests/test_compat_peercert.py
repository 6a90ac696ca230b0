"""What a glasstls.compat socket says of its connection, held against the stdlib's for the same
server: ``getpeercert()`` (the whole dict, for a certificate with every kind of entry _ssl.c
decodes) and ``cipher()`` (the protocol OpenSSL files the suite under, not the one negotiated)."""

from __future__ import annotations

import ipaddress
import ssl
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID, ObjectIdentifier

from compat_peers import CONTEXTS, Pki, client_context, connect, issue, server_context, tls_server
from glasstls.compat.certdict import certificate_dict

pytestmark = pytest.mark.timeout(60)
URI = x509.UniformResourceIdentifier


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("compat-peercert"))


def every_attribute() -> x509.Name:
    """One of each attribute type cryptography names, plus ones only OpenSSL names and one nobody does."""
    values = {  # (PrintableString or digit-only types: what cryptography accepts for them)
        "COUNTRY_NAME": "FR", "JURISDICTION_COUNTRY_NAME": "FR", "INN": "123456789012", "OGRN": "1234567890123",
        "SNILS": "12345678901", "SERIAL_NUMBER": "ABC 123", "DN_QUALIFIER": "ABC 123",
    }  # fmt: skip
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]
    for label in sorted(vars(NameOID)):
        oid = getattr(NameOID, label)
        if isinstance(oid, ObjectIdentifier) and label not in ("COMMON_NAME", "X500_UNIQUE_IDENTIFIER"):
            attributes.append(x509.NameAttribute(oid, values.get(label, f"v-{label.lower()}")))
    for dotted in ("2.5.4.13", "2.5.4.20", "2.5.4.41", "2.5.4.72", "1.2.840.113549.1.9.8", "1.3.6.1.4.1.99999.1"):
        attributes.append(x509.NameAttribute(ObjectIdentifier(dotted), "v"))
    return x509.Name(attributes)


def many_entries() -> list[x509.ExtensionType]:
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("::1")), x509.RFC822Name("a@b.example"),
        URI("https://u.example/"), x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dir")])),
        x509.RegisteredID(ObjectIdentifier("1.2.3.4")), x509.OtherName(ObjectIdentifier("1.2.3.5"), b"\x0c\x01x"),
    ])  # fmt: skip
    ocsp, issuers = AuthorityInformationAccessOID.OCSP, AuthorityInformationAccessOID.CA_ISSUERS
    aia = x509.AuthorityInformationAccess([
        x509.AccessDescription(ocsp, URI("http://ocsp1.example/")),
        x509.AccessDescription(issuers, URI("http://ca.example/ca.der")),
        x509.AccessDescription(ocsp, URI("http://ocsp2.example/")),
        x509.AccessDescription(ocsp, x509.DNSName("not.a.uri")),
    ])  # fmt: skip
    relative = x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "r")])
    cdp = x509.CRLDistributionPoints([
        x509.DistributionPoint([URI("http://crl.example/1"), x509.DNSName("x.example")], None, None, None),
        x509.DistributionPoint(None, relative, None, None),
        x509.DistributionPoint([URI("http://crl.example/2")], None, None, None),
    ])  # fmt: skip
    return [san, aia, cdp]


@pytest.fixture(scope="module")
def many(pki: Pki) -> Any:
    return issue(every_attribute(), pki.root, extensions=many_entries())


def test_getpeercert_equals_the_stdlibs(pki: Pki, many: Any) -> None:
    server = server_context(*pki.server_files("many", many))
    seen = {}
    for kind in CONTEXTS:
        with (
            tls_server(server, lambda tls: None) as peer,
            connect(client_context(kind, pki.root_file), peer.port) as tls,
        ):
            seen[kind] = tls.getpeercert()
    assert seen["glasstls"] == seen["stdlib"]
    assert list(seen["glasstls"]) == list(seen["stdlib"])  # the keys in _ssl.c's order too
    assert seen["stdlib"]["OCSP"] == ("http://ocsp1.example/", "http://ocsp2.example/")
    assert ("userId", "v-user_id") in [rdn[0] for rdn in seen["stdlib"]["subject"]]


def test_certificate_dict_of_a_plain_certificate_equals_the_stdlibs(pki: Pki) -> None:
    """No AIA, no CRL distribution points: no such keys (as _ssl.c's _test_decode_cert gives it)."""
    path = pki.write("root-again.pem", pki.root.pem())
    assert certificate_dict(pki.root.cert) == ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("version", "suite", "expected"),
    [
        ("TLSv1.2", "ECDHE-ECDSA-AES128-SHA", ("ECDHE-ECDSA-AES128-SHA", "TLSv1.0", 128)),
        ("TLSv1.2", "ECDHE-ECDSA-AES256-SHA384", ("ECDHE-ECDSA-AES256-SHA384", "TLSv1.2", 256)),
        ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128)),
        ("TLSv1.3", None, ("TLS_AES_256_GCM_SHA384", "TLSv1.3", 256)),
    ],
)
def test_cipher_names_the_suites_protocol(pki: Pki, version: str, suite: str | None, expected: tuple[Any, ...]) -> None:
    """_ssl.c's cipher() gives SSL_CIPHER_get_version: the oldest protocol the suite belongs to."""
    files = pki.server_files("cipher", issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "c")]), pki.root,
                                             hosts=["localhost"]))  # fmt: skip
    server = server_context(*files, version=version)
    if suite is not None:
        server.set_ciphers(suite)
    seen = {}
    for kind in CONTEXTS:
        with tls_server(server, lambda tls: tls.cipher()) as peer:
            client = client_context(kind, pki.root_file, version)
            if suite is not None:
                client.set_ciphers(suite)  # (the stdlib's default string leaves SHA-1 suites out)
            with connect(client, peer.port) as tls:
                seen[kind] = tls.cipher()
            assert peer.result() == [expected]
    assert seen == {"stdlib": expected, "glasstls": expected}
