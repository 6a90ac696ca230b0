"""The CAs a CertificateRequest names, shown as names (RFC 4514), not as DER hex."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from glasstls.trace.dn import MAX_ATTRIBUTES, dn_text


def name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def test_a_name_reads_as_rfc4514_text() -> None:
    n = name((NameOID.COUNTRY_NAME, "DE"), (NameOID.ORGANIZATION_NAME, "Ex, ample"), (NameOID.COMMON_NAME, "Root"))
    assert dn_text(n.public_bytes()) == n.rfc4514_string() == "CN=Root,O=Ex\\, ample,C=DE"


def test_a_peers_control_characters_are_escaped() -> None:
    text = dn_text(name((NameOID.COMMON_NAME, "a\x1b[31mred\nx")).public_bytes())
    assert text is not None and "\x1b" not in text and "\n" not in text


@pytest.mark.parametrize(
    "der",
    [b"", b"\x30", b"\x30\x03\x01\x02", b"\x31\x00", b"\x30\x05\x31\x03\x30\x01\x06", b"\x30\x84\xff\xff\xff\xff"],
)
def test_what_does_not_read_as_a_name_is_none(der: bytes) -> None:
    assert dn_text(der) is None


def test_a_name_of_too_many_attributes_is_not_spelled_out() -> None:
    many = name(*[(NameOID.ORGANIZATIONAL_UNIT_NAME, f"u{i}") for i in range(MAX_ATTRIBUTES + 1)])
    assert dn_text(many.public_bytes()) is None


@pytest.mark.parametrize("version", ["TLSv1_3", "TLSv1_2"])
def test_the_full_trace_names_the_cas_a_certificate_request_accepts(version: str) -> None:
    from glasstls import EventList, ProtocolVersion
    from glasstls.trace.text import render_text
    from glasstls.x509.store import TrustStore
    from pairs import default_ca, make_pair

    ca = default_ca()
    log = EventList()
    server_kw = {"client_auth": "optional", "client_trust_store": TrustStore.from_pem(ca.root_pem())}
    pair = make_pair(client_observer=log, client_kw={"tls_max": ProtocolVersion[version]}, server_kw=server_kw)
    pair.handshake()
    text = render_text(log.events, full=True, width=1000)
    root = ca.root_cert.subject.rfc4514_string()
    assert f"DistinguishedName: {root}" in text, text
    explained = render_text(log.events, explain=True, width=1000)
    assert f"It names the CAs whose certificates it accepts ({root})" in explained, explained
