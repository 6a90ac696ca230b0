"""glasstls's own RFC 5280 path (x509/verify.py, for Ed25519/Ed448 chains and for names cryptography's
Web PKI verifier refuses) held to what that verifier and OpenSSL enforce, found by a differential
review against `openssl verify`: it must never pass what they refuse, and a server must not be able
to choose it by sending one more certificate.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from glasstls.enums import AlertDescription
from glasstls.errors import AlertError
from glasstls.x509.mint import generate_key, key_usage
from glasstls.x509.store import TrustStore
from glasstls.x509.verify import verify_client_chain, verify_server_chain
from test_x509_verify import NOW, fails, mint

NON_CRITICAL_NC = x509.NameConstraints(permitted_subtrees=[x509.DNSName("corp.example")], excluded_subtrees=None)


def _constrained_ecdsa() -> tuple[tuple[x509.Certificate, object], tuple[x509.Certificate, object], TrustStore]:
    """An ECDSA root and an intermediate under it whose non-critical nameConstraints permit corp.example only."""
    root = mint(None, "Root", key=generate_key("ecdsa-p256"), ca=True, names=())
    inter = mint(root, "Constrained Inter", key=generate_key("ecdsa-p256"), ca=True, names=(),
                 extra=((NON_CRITICAL_NC, False),))  # fmt: skip
    return root, inter, TrustStore.from_certificates([root[0]])


@pytest.mark.parametrize("how", ["a stray Ed25519 certificate sent along", "a name with an underscore"])
def test_a_chain_outside_its_name_constraints_is_refused_on_either_path(how: str) -> None:
    root, inter, store = _constrained_ecdsa()
    name = "x_y.bank.com" if "underscore" in how else "www.bank.com"
    leaf, _ = mint(inter, name, key=generate_key("ecdsa-p256"), names=(name,))
    chain = [leaf, inter[0]]
    if "Ed25519" in how:
        chain.append(mint(None, "stray", ca=True, names=())[0])
    error = fails(chain, name, store)
    assert error.description == AlertDescription.bad_certificate
    assert f"the name {name} of CN={name} is outside the name constraints of CN=Constrained Inter" in error.reason
    inside, _ = mint(inter, "www.corp.example", key=generate_key("ecdsa-p256"), names=("www.corp.example",))
    assert verify_server_chain([inside, inter[0], *chain[2:]], "www.corp.example", store, NOW).leaf == inside


def test_an_intermediate_whose_eku_excludes_servers_is_refused_on_the_own_path() -> None:
    root = mint(None, "Root", ca=True, names=())
    client_only = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    inter = mint(root, "Client CA", ca=True, names=(), extra=((client_only, False),))
    leaf, _ = mint(inter)
    error = fails([leaf, inter[0]], "example.com", TrustStore.from_certificates([root[0]]))
    assert error.description == AlertDescription.unsupported_certificate
    assert "CN=Client CA may not issue for TLS servers: its extended key usage names clientAuth" in error.reason


def test_an_ip_is_matched_against_ip_entries_only() -> None:
    """RFC 9525, Section 6.2: a dNSName "127.0.0.1" names no address; the Web PKI path and OpenSSL
    refuse it, the own path matched the text."""
    root = mint(None, "Root", ca=True, names=())
    leaf, _ = mint(root, names=("127.0.0.1",))
    error = fails([leaf], "127.0.0.1", TrustStore.from_certificates([root[0]]))
    assert error.description == AlertDescription.bad_certificate


def test_a_self_signed_ed25519_leaf_in_the_store_is_trusted_as_an_ecdsa_one_is() -> None:
    """`openssl req -x509` with an Ed25519 key (cA=TRUE), trusted as itself: a path of one, as the Web
    PKI path takes the ECDSA one; the own path refused it as a CA certificate."""
    for key in (generate_key("ed25519"), generate_key("ecdsa-p256")):
        cert, _ = mint(None, "localhost", key=key, ca=True, names=("localhost",))
        assert verify_server_chain([cert], "localhost", TrustStore.from_certificates([cert]), NOW).leaf == cert


def test_a_leaf_trusted_as_itself_still_has_its_extensions_checked() -> None:
    """The Web PKI path's fallback for a leaf in the store checked validity, name and EKU only: a
    critical extension nobody processes, or a keyUsage without any TLS use, passed (OpenSSL: errors
    34 and 26)."""
    unknown = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.99999.7"), b"\x05\x00")
    cert, _ = mint(None, "localhost", key=generate_key("ecdsa-p256"), ca=True, names=("localhost",),
                   extra=((unknown, True),))  # fmt: skip
    error = fails([cert], "localhost", TrustStore.from_certificates([cert]))
    assert error.description == AlertDescription.bad_certificate and "1.3.6.1.4.1.99999.7" in error.reason
    sign_only = key_usage(key_cert_sign=True)
    cert, _ = mint(None, "localhost", key=generate_key("ecdsa-p256"), ca=True, names=("localhost",),
                   key_usage=sign_only)  # fmt: skip
    assert fails([cert], "localhost", TrustStore.from_certificates([cert])).description == (
        AlertDescription.unsupported_certificate
    )


def test_no_name_check_takes_a_wildcard_leaf() -> None:
    root = mint(None, "Root", key=generate_key("ecdsa-p256"), ca=True, names=())
    leaf, _ = mint(root, "*.example.com", key=generate_key("ecdsa-p256"), names=("*.example.com",))
    result = verify_server_chain([leaf], None, TrustStore.from_certificates([root[0]]), NOW)
    assert result.leaf == leaf and result.server_name == ""


CLIENT_AUTH = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
SERVER_AUTH = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])


def _client_chain(leaf_eku: x509.ExtendedKeyUsage = CLIENT_AUTH, inter_eku: x509.ExtendedKeyUsage | None = None):
    """An Ed25519 root, intermediate and client leaf (no subjectAltName), and the client CA store."""
    root = mint(None, "Client Root", ca=True, names=())
    inter = mint(root, "Client Inter", ca=True, names=(), extra=(((inter_eku, False),) if inter_eku else ()))
    leaf, _ = mint(inter, "alice", names=(), key_usage=key_usage(digital_signature=True), extra=((leaf_eku, False),))
    return [leaf, inter[0]], TrustStore.from_certificates([root[0]]), root[0]


def test_an_eddsa_client_chain_is_verified_on_the_own_path() -> None:
    """RFC 8446, 4.2.3 allows Ed25519 client certificates and OpenSSL takes them; they were refused
    ("not verified by glasstls yet") because cryptography's client verifier takes RSA and ECDSA only."""
    chain, store, root = _client_chain()
    assert verify_client_chain(chain, store, NOW) == (*chain, root)
    # Accepted only where the Web PKI client path would accept: under the client CAs, for clients.
    with pytest.raises(AlertError) as info:
        verify_client_chain(chain, TrustStore.from_certificates([mint(None, "Other Root", ca=True, names=())[0]]), NOW)
    assert info.value.description == AlertDescription.unknown_ca
    assert "ServerConfig.client_trust_store must hold the CA that issued it" in info.value.reason


def test_an_eddsa_client_certificate_for_servers_only_is_refused() -> None:
    chain, store, _ = _client_chain(leaf_eku=SERVER_AUTH)
    with pytest.raises(AlertError) as info:
        verify_client_chain(chain, store, NOW)
    assert info.value.description == AlertDescription.unsupported_certificate
    assert info.value.reason.startswith("client certificate CN=alice is not for TLS clients")


def test_an_eddsa_intermediate_for_servers_only_may_not_issue_client_certificates() -> None:
    chain, store, _ = _client_chain(inter_eku=SERVER_AUTH)
    with pytest.raises(AlertError) as info:
        verify_client_chain(chain, store, NOW)
    assert info.value.description == AlertDescription.unsupported_certificate
    assert "CN=Client Inter may not issue for TLS clients: its extended key usage names serverAuth" in info.value.reason


def test_an_expired_eddsa_client_chain_says_so_as_a_client() -> None:
    chain, store, _ = _client_chain()
    with pytest.raises(AlertError) as info:
        verify_client_chain(chain, store, NOW + timedelta(days=3))
    assert info.value.description == AlertDescription.certificate_expired
    assert info.value.reason.startswith("client certificate CN=alice expired on ")


@pytest.mark.parametrize("odd", ["example.com..", " example.com ", "[example.com]"])
def test_a_server_name_is_not_trimmed_into_a_match(odd: str) -> None:
    """One trailing dot (an absolute name) and the brackets of an IPv6 literal are all a name sheds;
    spaces, a second dot or brackets around a host name matched after trimming, which OpenSSL refuses."""
    root = mint(None, "Root", key=generate_key("ecdsa-p256"), ca=True, names=())
    leaf, _ = mint(root, key=generate_key("ecdsa-p256"), names=("example.com",))
    store = TrustStore.from_certificates([root[0]])
    assert verify_server_chain([leaf], "Example.COM.", store, NOW).leaf == leaf
    assert fails([leaf], odd, store).description == AlertDescription.bad_certificate


def test_a_unicode_server_name_is_a_config_error_that_asks_for_its_a_label() -> None:
    """A U-label name given to the verifier raised cryptography's bare ValueError."""
    from glasstls.errors import ConfigError

    root = mint(None, "Root", key=generate_key("ecdsa-p256"), ca=True, names=())
    leaf, _ = mint(root, key=generate_key("ecdsa-p256"), names=("xn--bcher-kva.example",))
    store = TrustStore.from_certificates([root[0]])
    with pytest.raises(ConfigError, match=r"is not ASCII: give its A-label \(IDNA, e\.g\. xn--\.\.\.\)"):
        verify_server_chain([leaf], "bücher.example", store, NOW)
    assert verify_server_chain([leaf], "xn--bcher-kva.example", store, NOW).leaf == leaf


def test_an_ipv6_name_with_a_zone_matches_its_address_on_both_paths() -> None:
    """fe80::1%eth0 names the address fe80::1 on the link eth0: the Web PKI path matched it, the own path
    (an Ed25519 chain) compared the zone too and refused."""
    import ipaddress

    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("fe80::1"))])
    for key in (generate_key("ed25519"), generate_key("ecdsa-p256")):
        root = mint(None, "Root", key=key, ca=True, names=())
        leaf, _ = mint(root, "link-local", key=key, names=(), extra=((san, False),))
        store = TrustStore.from_certificates([root[0]])
        assert verify_server_chain([leaf], "fe80::1%eth0", store, NOW).leaf == leaf
        assert fails([leaf], "fe80::2%eth0", store).description == AlertDescription.bad_certificate
