"""Server certificate verification: each failure gives the right alert and a message naming the cause.

Chains come from the throwaway PKI in glasstls.x509.mint, minted at a fixed moment
so that the dates in the messages are known.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from glasstls.enums import AlertDescription
from glasstls.errors import AlertError, ConfigError, Facts
from glasstls.x509.mint import (
    CLIENT_AUTH,
    KEY_TYPES,
    SERVER_AUTH,
    Identity,
    Issuer,
    PrivateKey,
    ThrowawayCA,
    build_certificate,
    generate_key,
    key_usage,
)
from glasstls.x509.names import name_matches
from glasstls.x509.store import TrustStore
from glasstls.x509.verify import (
    MAX_CHAIN_DEPTH,
    VerifiedChain,
    uses_eddsa,
    verify_path_rfc5280,
    verify_server_chain,
)

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> ThrowawayCA:
    return ThrowawayCA.create(now=NOW)


@pytest.fixture(scope="module")
def store(ca: ThrowawayCA) -> TrustStore:
    return TrustStore.from_pem(ca.root_pem())


@pytest.fixture(scope="module")
def server(ca: ThrowawayCA) -> Identity:
    return ca.issue_server(["example.com", "www.example.com", "127.0.0.1", "::1"], now=NOW)


def fails(chain, name: str, store: TrustStore, now: datetime = NOW) -> AlertError:
    with pytest.raises(AlertError) as info:
        verify_server_chain(chain, name, store, now)
    return info.value


# -- chains that pass ------------------------------------------------------------------


def test_good_chain_by_dns_name(server: Identity, store: TrustStore, ca: ThrowawayCA) -> None:
    result = verify_server_chain(server.chain, "example.com", store, NOW)
    assert isinstance(result, VerifiedChain)
    assert result.path == (server.certificate, ca.intermediate_cert, ca.root_cert)
    assert result.leaf is server.certificate and result.anchor == ca.root_cert
    assert result.leaf_subject == "CN=example.com"
    assert result.anchor_subject == "CN=glasstls throwaway root"
    assert result.leaf_names == ("example.com", "www.example.com", "127.0.0.1", "::1")
    assert result.not_after == server.certificate.not_valid_after_utc


@pytest.mark.parametrize("name", ["127.0.0.1", "::1", "[::1]", "0:0:0:0:0:0:0:1"])
def test_good_chain_by_ip_address(server: Identity, store: TrustStore, name: str) -> None:
    result = verify_server_chain(server.chain, name, store, NOW)
    assert result.server_name in {"127.0.0.1", "::1"}


def test_name_is_case_insensitive_and_ignores_trailing_dot(server: Identity, store: TrustStore) -> None:
    assert verify_server_chain(server.chain, "WWW.Example.COM.", store, NOW).server_name == "www.example.com"


@pytest.mark.parametrize("name", ["my_host", "web_1.internal"])
def test_a_name_with_an_underscore_is_checked_not_refused_as_an_internal_error(
    ca: ThrowawayCA, store: TrustStore, name: str
) -> None:
    """Docker and compose service names: cryptography's Web PKI verifier refuses to take them as DNS
    names (ValueError, which ended the handshake as internal_error); Python's ssl verifies them against
    the certificate's names, and so does glasstls now, through its RFC 5280 path and name checks."""
    identity = ca.issue_server(["my_host", "web_1.internal"], now=NOW)
    assert verify_server_chain(identity.chain, name, store, NOW).leaf == identity.certificate
    other = ca.issue_server(["other_host"], now=NOW)
    assert fails(other.chain, name, store).description == AlertDescription.bad_certificate
    # A port or a space is no host name either: a name mismatch, as ssl's (verify error 62).
    for odd in ("localhost:443", "local host"):
        assert fails(identity.chain, odd, store).description == AlertDescription.bad_certificate
    # A wildcard stands for a host name's label only, as in OpenSSL (and so Python's ssl).
    wildcard = ca.issue_server(["*.corp.internal"], now=NOW)
    assert verify_server_chain(wildcard.chain, "web-1.corp.internal", store, NOW).leaf == wildcard.certificate
    assert fails(wildcard.chain, "web_1.corp.internal", store).description == AlertDescription.bad_certificate
    # ... and needs two labels after it, on the Web PKI path too (cryptography lets "*.internal" match).
    short = ca.issue_server(["*.internal"], now=NOW)
    assert fails(short.chain, "web-1.internal", store).description == AlertDescription.bad_certificate


def test_naive_time_is_utc(server: Identity, store: TrustStore) -> None:
    verify_server_chain(server.chain, "example.com", store, NOW.replace(tzinfo=None))


def test_root_signs_leaf_directly() -> None:
    ca = ThrowawayCA.create(with_intermediate=False, now=NOW)
    leaf = ca.issue_server(["example.com"], now=NOW)
    assert leaf.chain == (leaf.certificate,)
    result = verify_server_chain(leaf.chain, "example.com", TrustStore.from_certificates([ca.root_cert]), NOW)
    assert len(result.path) == 2


def test_server_may_send_the_root_too(server: Identity, store: TrustStore, ca: ThrowawayCA) -> None:
    verify_server_chain([*server.chain, ca.root_cert], "example.com", store, NOW)


def test_leaf_without_eku_is_accepted(ca: ThrowawayCA, store: TrustStore) -> None:
    leaf = ca.issue_server(["example.com"], eku=None, now=NOW)
    verify_server_chain(leaf.chain, "example.com", store, NOW)


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa2048"])
def test_every_webpki_key_type_verifies(key_type: str) -> None:
    ca = ThrowawayCA.create(key_type=key_type, now=NOW)  # type: ignore[arg-type]
    leaf = ca.issue_server(["example.com"], key_type=key_type, now=NOW)  # type: ignore[arg-type]
    verify_server_chain(leaf.chain, "example.com", TrustStore.from_pem(ca.root_pem()), NOW)


# -- empty chain ---------------------------------------------------------------------


def test_empty_chain_is_decode_error(store: TrustStore) -> None:
    error = fails([], "example.com", store)
    assert error.description == AlertDescription.decode_error
    assert "empty certificate chain" in error.reason


def test_no_server_name_is_a_configuration_error(server: Identity, store: TrustStore) -> None:
    with pytest.raises(ConfigError):
        verify_server_chain(server.chain, "", store, NOW)


# -- validity periods -----------------------------------------------------------------


def test_expired_leaf(ca: ThrowawayCA, store: TrustStore) -> None:
    start, end = datetime(2025, 10, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    leaf = ca.issue_server(["example.com"], not_before=start, not_after=end)
    error = fails(leaf.chain, "example.com", store)
    assert error.description == AlertDescription.certificate_expired
    assert "server certificate CN=example.com expired on 2026-01-01" in error.reason
    assert "2026-06-01 12:00:00 UTC" in error.reason  # the time it was checked at


def test_leaf_not_yet_valid(ca: ThrowawayCA, store: TrustStore) -> None:
    leaf = ca.issue_server(["example.com"], not_before=NOW + timedelta(days=1))
    error = fails(leaf.chain, "example.com", store)
    assert error.description == AlertDescription.certificate_expired
    assert "server certificate CN=example.com is not valid before 2026-06-02" in error.reason


def test_the_same_chain_fails_once_time_has_passed(server: Identity, store: TrustStore) -> None:
    error = fails(server.chain, "example.com", store, now=NOW + timedelta(days=31))
    assert error.description == AlertDescription.certificate_expired
    assert "expired on 2026-07-01" in error.reason


def test_expired_intermediate(ca: ThrowawayCA, store: TrustStore) -> None:
    old = ca.with_intermediate(
        "old intermediate", not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=35)
    )
    leaf = old.issue_server(["example.com"], now=NOW)
    error = fails(leaf.chain, "example.com", store)
    assert error.description == AlertDescription.certificate_expired
    assert "intermediate certificate CN=old intermediate expired on 2026-04-27" in error.reason


def test_expired_root() -> None:
    ca = ThrowawayCA.create("old root", with_intermediate=False, now=NOW - timedelta(days=400))
    leaf = ca.issue_server(["example.com"], now=NOW)
    error = fails(leaf.chain, "example.com", TrustStore.from_pem(ca.root_pem()))
    assert error.description == AlertDescription.certificate_expired
    assert "trusted root certificate CN=old root expired on" in error.reason


# -- host names ------------------------------------------------------------------------


def test_wrong_host_lists_the_certificate_names(ca: ThrowawayCA, store: TrustStore) -> None:
    leaf = ca.issue_server(["example.org", "www.example.org"], now=NOW)
    error = fails(leaf.chain, "example.com", store)
    assert error.description == AlertDescription.bad_certificate
    assert error.reason == "certificate is for example.org, www.example.org, not example.com"


def test_ip_address_does_not_match_dns_names(ca: ThrowawayCA, store: TrustStore) -> None:
    leaf = ca.issue_server(["localhost"], now=NOW)
    error = fails(leaf.chain, "127.0.0.1", store)
    assert error.description == AlertDescription.bad_certificate
    assert "certificate is for localhost, not 127.0.0.1" in error.reason
    assert "only against IP address entries" in error.reason


def test_wrong_ip_address(server: Identity, store: TrustStore) -> None:
    error = fails(server.chain, "127.0.0.2", store)
    assert error.description == AlertDescription.bad_certificate
    assert "not 127.0.0.2" in error.reason


@pytest.fixture(scope="module")
def wildcard(ca: ThrowawayCA) -> Identity:
    return ca.issue_server(["*.example.org"], now=NOW)


@pytest.mark.parametrize("name", ["www.example.org", "API.example.org"])
def test_wildcard_matches_one_label(wildcard: Identity, store: TrustStore, name: str) -> None:
    verify_server_chain(wildcard.chain, name, store, NOW)


@pytest.mark.parametrize("name", ["example.org", "a.b.example.org", "wwwexample.org", "www.example.com"])
def test_wildcard_does_not_match(wildcard: Identity, store: TrustStore, name: str) -> None:
    error = fails(wildcard.chain, name, store)
    assert error.description == AlertDescription.bad_certificate
    assert f"certificate is for *.example.org, not {name.lower()}" in error.reason


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("example.com", "EXAMPLE.com", True),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", ".example.com", False),
        ("w*.example.com", "www.example.com", False),
        # What "*" stands for is a host name's label, as OpenSSL's X509_check_host takes it.
        ("*.example.com", "my_host.example.com", False),
        ("*.example.com", "a b.example.com", False),
        ("my_host.example.com", "MY_HOST.example.com", True),
        ("*.example.com", "xn--bcher-kva.example.com", True),
        ("*.com", "example.com", False),  # (two labels after the wildcard, as OpenSSL asks)
    ],
)
def test_name_matches(pattern: str, name: str, expected: bool) -> None:
    assert name_matches(pattern, name) is expected


def test_leaf_without_subject_alt_name(ca: ThrowawayCA, store: TrustStore) -> None:
    issuer_cert, issuer_key = ca.issuer
    key = generate_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.com")]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())  # the fixture CA's keys are P-256
    )
    error = fails([cert, ca.intermediate_cert], "example.com", store)
    assert error.description == AlertDescription.bad_certificate
    assert "has no DNS or IP subjectAltName" in error.reason
    # Without a name to check (ssl's check_hostname False), the same chain passes: path and dates only.
    result = verify_server_chain([cert, ca.intermediate_cert], None, store, NOW)
    assert result.server_name == "" and result.leaf_names == () and result.path[-1] == ca.root_cert
    expired = fails_without_name([cert, ca.intermediate_cert], store, NOW + timedelta(days=2))
    assert expired.description == AlertDescription.certificate_expired


def fails_without_name(chain, store: TrustStore, now: datetime = NOW) -> AlertError:
    with pytest.raises(AlertError) as info:
        verify_server_chain(chain, None, store, now)
    return info.value


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519"])
def test_no_name_checks_the_chain_but_not_the_name(ca: ThrowawayCA, store: TrustStore, key_type: str) -> None:
    leaf = ca.issue_server(["example.com"], key_type=key_type, now=NOW)  # type: ignore[arg-type]
    result = verify_server_chain(leaf.chain, None, store, NOW)
    assert result.server_name == "" and result.leaf_names == ("example.com",)
    assert result.path == (leaf.certificate, ca.intermediate_cert, ca.root_cert)
    other = TrustStore.from_pem(ThrowawayCA.create(common_name="another root", now=NOW).root_pem())
    assert fails_without_name(leaf.chain, other).description == AlertDescription.unknown_ca
    assert fails_without_name(leaf.chain, store, NOW + timedelta(days=3650)).description == (
        AlertDescription.certificate_expired
    )
    client_only = ca.issue_client("someone", now=NOW)
    wrong_use = fails_without_name(client_only.chain, store)  # a server's chain still needs serverAuth
    assert wrong_use.description == AlertDescription.unsupported_certificate and "serverAuth" in wrong_use.reason


# -- trust -----------------------------------------------------------------------------


def test_unknown_ca(server: Identity) -> None:
    other = ThrowawayCA.create("some other root", now=NOW)
    error = fails(server.chain, "example.com", TrustStore.from_pem(other.root_pem()))
    assert error.description == AlertDescription.unknown_ca
    assert "issuer CN=glasstls throwaway root is not trusted" in error.reason
    assert "ClientConfig.trust_store must hold the CA that issued it" in error.reason
    # The facts a caller acts on without reading the reason; the CLI turns them into "--cacert FILE".
    assert error.facts == Facts(
        "untrusted_issuer",
        field="ClientConfig.trust_store",
        chain="server",
        subject="CN=glasstls throwaway root intermediate",
        issuer="CN=glasstls throwaway root",
        depth=1,  # the intermediate: where the path stops, as OpenSSL's error depth
    )


def test_unknown_ca_with_the_same_name(server: Identity) -> None:
    twin = ThrowawayCA.create(now=NOW)  # same default name, different key
    error = fails(server.chain, "example.com", TrustStore.from_pem(twin.root_pem()))
    assert error.description == AlertDescription.unknown_ca
    assert "a trusted CA has that name but did not sign" in error.reason


def test_missing_intermediate(server: Identity, store: TrustStore) -> None:
    error = fails(server.chain[:1], "example.com", store)
    assert error.description == AlertDescription.unknown_ca
    assert "issuer CN=glasstls throwaway root intermediate is not trusted" in error.reason
    assert "sent no intermediate certificates" in error.reason


def test_self_signed_server_certificate(store: TrustStore) -> None:
    alone = ThrowawayCA.create("self-signed.example", with_intermediate=False, now=NOW)
    error = fails([alone.root_cert], "example.com", store)
    assert error.description == AlertDescription.unknown_ca
    assert "server certificate CN=self-signed.example is self-signed and not trusted" in error.reason
    assert error.facts is not None and error.facts.depth == 0


def _self_signed_ca_leaf(
    name: str, *, days: tuple[int, int] = (-1, 30), eku: list | None = None, cn: str | None = None
) -> x509.Certificate:
    """As ``openssl req -x509`` makes one: self-signed, basicConstraints cA=TRUE, a subjectAltName."""
    key = generate_key("ecdsa-p256")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn or name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + timedelta(days=days[0]))
        .not_valid_after(NOW + timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(key, hashes.SHA256())


def test_a_self_signed_ca_leaf_trusted_as_itself_is_a_path_of_one() -> None:
    """As OpenSSL, Go and Python's ssl: the server's own certificate in the trust store is trusted
    even with cA=TRUE, which the Web PKI profile refuses in an end-entity certificate."""
    leaf = _self_signed_ca_leaf("example.com")
    verified = verify_server_chain([leaf], "example.com", TrustStore.from_certificates([leaf]), NOW)
    assert verified.path == (leaf,)
    assert verified.anchor_subject == verified.leaf_subject == "CN=example.com"


@pytest.mark.parametrize(
    ("days", "eku", "name", "alert", "reason"),
    [
        ((-9, -1), None, "example.com", AlertDescription.certificate_expired, "CN=example.com expired"),
        ((-1, 30), None, "other.example", AlertDescription.bad_certificate, "is for example.com, not other"),
        ((-1, 30), [CLIENT_AUTH], "example.com", AlertDescription.unsupported_certificate, "is not for TLS servers"),
    ],
    ids=["expired", "wrong-name", "client-only"],
)
def test_a_self_signed_ca_leaf_trusted_as_itself_passes_every_leaf_check(days, eku, name, alert, reason) -> None:
    leaf = _self_signed_ca_leaf("example.com", days=days, eku=eku)
    error = fails([leaf], name, TrustStore.from_certificates([leaf]))
    assert error.description == alert and reason in error.reason, error.reason


def test_a_self_signed_ca_leaf_not_trusted_as_itself_is_unknown_ca(store: TrustStore) -> None:
    error = fails([_self_signed_ca_leaf("example.com")], "example.com", store)
    assert error.description == AlertDescription.unknown_ca


def test_the_validators_message_is_escaped(ca: ThrowawayCA, store: TrustStore) -> None:
    """cryptography's message shows the certificate it refused, names and all: an alert reason is
    printed to terminals, so the peer's escape sequences and line breaks are escaped there too."""
    cert, key = ca.issuer
    leaf_key = generate_key("ecdsa-p256")
    leaf = build_certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil\x1b[2J\nFAKE LINE")]),
        leaf_key.public_key(), Issuer(cert, key), key, NOW - timedelta(days=1), NOW + timedelta(days=9),
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),  # a CA as a leaf: refused by the profile
            (x509.SubjectAlternativeName([x509.DNSName("example.com")]), False),
        ],
    )  # fmt: skip
    error = fails([leaf, ca.intermediate_cert], "example.com", store)
    assert error.description == AlertDescription.bad_certificate
    assert "cA must not be asserted" in error.reason
    assert "\x1b" not in error.reason and "\n" not in error.reason, error.reason


def test_untrusted_chain_reports_trust_before_expiry(ca: ThrowawayCA) -> None:
    start, end = NOW - timedelta(days=9), NOW - timedelta(days=1)
    expired = ca.issue_server(["example.com"], not_before=start, not_after=end)
    other = ThrowawayCA.create("some other root", now=NOW)
    error = fails(expired.chain, "example.com", TrustStore.from_pem(other.root_pem()))
    assert error.description == AlertDescription.unknown_ca


# -- purpose and profile ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("eku", "named"),
    [([CLIENT_AUTH], "clientAuth"), ([ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE], "anyExtendedKeyUsage")],
)
def test_wrong_extended_key_usage(ca: ThrowawayCA, store: TrustStore, eku, named: str) -> None:
    leaf = ca.issue_server(["example.com"], eku=eku, now=NOW)
    error = fails(leaf.chain, "example.com", store)
    assert error.description == AlertDescription.unsupported_certificate
    assert "CN=example.com is not for TLS servers" in error.reason
    assert named in error.reason


def test_other_failures_are_bad_certificate_with_the_validator_message() -> None:
    # A root minted without an intermediate has pathLenConstraint 0 (RFC 5280, 4.2.1.9),
    # so an intermediate under it breaks the path.
    ca = ThrowawayCA.create("strict root", with_intermediate=False, now=NOW).with_intermediate(now=NOW)
    leaf = ca.issue_server(["example.com"], now=NOW)
    error = fails(leaf.chain, "example.com", TrustStore.from_pem(ca.root_pem()))
    assert error.description == AlertDescription.bad_certificate
    assert error.reason.startswith("server certificate CN=example.com was rejected: ")


# -- Ed25519 and Ed448: our own path validation -----------------------------------------
#
# cryptography's Web PKI verifier rejects EdDSA keys; TLS 1.3 (RFC 8446, Section 4.2.3) and
# OpenSSL accept them, so these chains go through verify_path_rfc5280 instead.

EDDSA = ["ed25519", "ed448"]


@pytest.fixture(scope="module")
def ed_ca() -> ThrowawayCA:
    return ThrowawayCA.create("ed25519 root", key_type="ed25519", now=NOW)


@pytest.fixture(scope="module")
def ed_store(ed_ca: ThrowawayCA) -> TrustStore:
    return TrustStore.from_pem(ed_ca.root_pem())


def _sign_hash(key: PrivateKey) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) else hashes.SHA256()


def mint(
    issuer: tuple[x509.Certificate, PrivateKey] | None,
    common_name: str = "example.com",
    *,
    key: PrivateKey | None = None,
    ca: bool = False,
    path_length: int | None = None,
    key_usage: x509.KeyUsage | None = None,
    names: tuple[str, ...] = ("example.com",),
    extra: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> tuple[x509.Certificate, PrivateKey]:
    """A certificate shaped by hand (issuer None: self-signed), for the cases ThrowawayCA will not make."""
    key = key or generate_key("ed25519")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, _sign_hash(issuer_key)), key


def usage(*, digital_signature: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    content_commitment = not (digital_signature or key_cert_sign)  # a usage that allows neither
    return key_usage(
        digital_signature=digital_signature, content_commitment=content_commitment, key_cert_sign=key_cert_sign
    )


@pytest.mark.parametrize("key_type", EDDSA)
def test_eddsa_leaf_under_ecdsa_ca(ca: ThrowawayCA, store: TrustStore, key_type: str) -> None:
    leaf = ca.issue_server(["example.com", "127.0.0.1"], key_type=key_type, now=NOW)  # type: ignore[arg-type]
    assert uses_eddsa(leaf.chain)
    result = verify_server_chain(leaf.chain, "example.com", store, NOW)
    assert result.path == (leaf.certificate, ca.intermediate_cert, ca.root_cert)
    assert result.leaf_subject == "CN=example.com" and result.anchor_subject == "CN=glasstls throwaway root"
    assert result.leaf_names == ("example.com", "127.0.0.1")
    assert result.not_after == leaf.certificate.not_valid_after_utc
    assert verify_server_chain(leaf.chain, "127.0.0.1", store, NOW).server_name == "127.0.0.1"


@pytest.mark.parametrize("key_type", [*EDDSA, "ecdsa-p256"])
def test_leaf_under_ed25519_ca(ed_ca: ThrowawayCA, ed_store: TrustStore, key_type: str) -> None:
    # An ECDSA leaf counts too: its intermediate's key, and the root's, are Ed25519.
    leaf = ed_ca.issue_server(["example.com"], key_type=key_type, now=NOW)  # type: ignore[arg-type]
    result = verify_server_chain(leaf.chain, "Example.COM.", ed_store, NOW)
    assert result.path == (leaf.certificate, ed_ca.intermediate_cert, ed_ca.root_cert)
    assert result.server_name == "example.com"


@pytest.mark.parametrize("key_type", EDDSA)
def test_eddsa_leaf_signed_by_an_eddsa_root_directly(key_type: str) -> None:
    # Only the root's signature on the leaf shows that EdDSA is involved: nothing sent has an EdDSA key.
    root = ThrowawayCA.create("ed root", key_type=key_type, with_intermediate=False, now=NOW)  # type: ignore[arg-type]
    leaf = root.issue_server(["example.com"], key_type="ecdsa-p256", now=NOW)
    assert leaf.chain == (leaf.certificate,) and uses_eddsa(leaf.chain)
    result = verify_server_chain(leaf.chain, "example.com", TrustStore.from_certificates([root.root_cert]), NOW)
    assert result.path == (leaf.certificate, root.root_cert)


def test_ecdsa_chain_does_not_use_eddsa(server: Identity) -> None:
    assert not uses_eddsa(server.chain)


def test_intermediates_in_any_order_with_extras(ed_ca: ThrowawayCA, ed_store: TrustStore, ca: ThrowawayCA) -> None:
    leaf = ed_ca.issue_server(["example.com"], key_type="ed25519", now=NOW)
    unrelated = ca.issue_server(["other.example"], now=NOW).certificate
    sent = [leaf.certificate, ed_ca.root_cert, unrelated, ca.intermediate_cert, ed_ca.intermediate_cert]
    sent.append(leaf.certificate)  # a server that repeats its own certificate
    result = verify_server_chain(sent, "example.com", ed_store, NOW)
    assert result.path == (leaf.certificate, ed_ca.intermediate_cert, ed_ca.root_cert)


def test_a_trusted_eddsa_leaf_is_a_path_of_one() -> None:
    cert, _ = mint(None, key_usage=usage(digital_signature=True))
    assert verify_server_chain([cert], "example.com", TrustStore.from_certificates([cert]), NOW).path == (cert,)


def test_verify_path_rfc5280_also_takes_webpki_chains(server: Identity, store: TrustStore, ca: ThrowawayCA) -> None:
    assert verify_path_rfc5280(server.chain, "WWW.example.com", store, NOW.replace(tzinfo=None)) == (
        server.certificate,
        ca.intermediate_cert,
        ca.root_cert,
    )
    with pytest.raises(AlertError) as info:
        verify_path_rfc5280([], "example.com", store, NOW)
    assert info.value.description == AlertDescription.decode_error


# the failures, each with the alert and wording of the Web PKI path


@pytest.mark.parametrize("key_type", EDDSA)
def test_eddsa_expired_leaf(ed_ca: ThrowawayCA, ed_store: TrustStore, key_type: str) -> None:
    start, end = datetime(2025, 10, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    leaf = ed_ca.issue_server(["example.com"], key_type=key_type, not_before=start, not_after=end)  # type: ignore[arg-type]
    error = fails(leaf.chain, "example.com", ed_store)
    assert error.description == AlertDescription.certificate_expired
    assert "server certificate CN=example.com expired on 2026-01-01" in error.reason
    assert "2026-06-01 12:00:00 UTC" in error.reason


def test_eddsa_leaf_not_yet_valid(ed_ca: ThrowawayCA, ed_store: TrustStore) -> None:
    leaf = ed_ca.issue_server(["example.com"], key_type="ed25519", not_before=NOW + timedelta(days=1))
    error = fails(leaf.chain, "example.com", ed_store)
    assert error.description == AlertDescription.certificate_expired
    assert "server certificate CN=example.com is not valid before 2026-06-02" in error.reason


def test_eddsa_expired_intermediate_and_root(ed_ca: ThrowawayCA, ed_store: TrustStore) -> None:
    old = ed_ca.with_intermediate(
        "old intermediate", "ed25519", not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=35)
    )
    error = fails(old.issue_server(["example.com"], key_type="ed25519", now=NOW).chain, "example.com", ed_store)
    assert error.description == AlertDescription.certificate_expired
    assert "intermediate certificate CN=old intermediate expired on 2026-04-27" in error.reason
    old_root = ThrowawayCA.create("old root", "ed25519", with_intermediate=False, now=NOW - timedelta(days=400))
    leaf = old_root.issue_server(["example.com"], key_type="ed25519", now=NOW)
    error = fails(leaf.chain, "example.com", TrustStore.from_pem(old_root.root_pem()))
    assert error.description == AlertDescription.certificate_expired
    assert "trusted root certificate CN=old root expired on" in error.reason


@pytest.mark.parametrize("key_type", EDDSA)
def test_eddsa_wrong_host(ca: ThrowawayCA, store: TrustStore, key_type: str) -> None:
    leaf = ca.issue_server(["example.org", "www.example.org"], key_type=key_type, now=NOW)  # type: ignore[arg-type]
    error = fails(leaf.chain, "example.com", store)
    assert error.description == AlertDescription.bad_certificate
    assert error.reason == "certificate is for example.org, www.example.org, not example.com"
    error = fails(leaf.chain, "127.0.0.1", store)
    assert "only against IP address entries" in error.reason


def test_eddsa_wildcard_and_no_cn_fallback(ed_ca: ThrowawayCA, ed_store: TrustStore) -> None:
    wild = ed_ca.issue_server(["*.example.org"], key_type="ed25519", now=NOW)
    verify_server_chain(wild.chain, "api.example.org", ed_store, NOW)
    assert "not a.b.example.org" in fails(wild.chain, "a.b.example.org", ed_store).reason
    no_san, _ = mint((ed_ca.root_cert, ed_ca.root_key), names=())
    error = fails([no_san], "example.com", ed_store)
    assert error.description == AlertDescription.bad_certificate
    assert "has no DNS or IP subjectAltName" in error.reason


@pytest.mark.parametrize("key_type", EDDSA)
def test_eddsa_unknown_ca(ed_ca: ThrowawayCA, store: TrustStore, key_type: str) -> None:
    leaf = ed_ca.issue_server(["example.com"], key_type=key_type, now=NOW)  # type: ignore[arg-type]
    error = fails(leaf.chain, "example.com", store)
    assert error.description == AlertDescription.unknown_ca
    assert "issuer CN=ed25519 root is not trusted" in error.reason and "ClientConfig.trust_store" in error.reason
    assert error.facts is not None and error.facts.problem == "untrusted_issuer"


def test_eddsa_unknown_ca_with_the_same_name(ed_ca: ThrowawayCA) -> None:
    twin = ThrowawayCA.create("ed25519 root", key_type="ed25519", now=NOW)
    leaf = ed_ca.issue_server(["example.com"], key_type="ed25519", now=NOW)
    error = fails(leaf.chain, "example.com", TrustStore.from_pem(twin.root_pem()))
    assert error.description == AlertDescription.unknown_ca
    assert "a trusted CA has that name but did not sign" in error.reason


def test_eddsa_self_signed_untrusted(store: TrustStore) -> None:
    cert, _ = mint(None, "self-signed.example")
    error = fails([cert], "example.com", store)
    assert error.description == AlertDescription.unknown_ca
    assert "server certificate CN=self-signed.example is self-signed and not trusted" in error.reason


@pytest.mark.parametrize("key_type", EDDSA)
def test_eddsa_missing_intermediate(ed_ca: ThrowawayCA, ed_store: TrustStore, key_type: str) -> None:
    leaf = ed_ca.issue_server(["example.com"], key_type=key_type, now=NOW)  # type: ignore[arg-type]
    error = fails(leaf.chain[:1], "example.com", ed_store)
    assert error.description == AlertDescription.unknown_ca
    assert "issuer CN=ed25519 root intermediate is not trusted" in error.reason
    assert "sent no intermediate certificates" in error.reason


@pytest.mark.parametrize(("key_type", "eku"), [("ed25519", [CLIENT_AUTH]), ("ed448", [CLIENT_AUTH])])
def test_eddsa_wrong_extended_key_usage(ed_ca: ThrowawayCA, ed_store: TrustStore, key_type: str, eku) -> None:
    leaf = ed_ca.issue_server(["example.com"], key_type=key_type, eku=eku, now=NOW)  # type: ignore[arg-type]
    error = fails(leaf.chain, "example.com", ed_store)
    assert error.description == AlertDescription.unsupported_certificate
    assert "CN=example.com is not for TLS servers" in error.reason and "clientAuth" in error.reason


def test_eddsa_eku_absent_or_with_server_auth_among_others(ed_ca: ThrowawayCA, ed_store: TrustStore) -> None:
    for eku in (None, [CLIENT_AUTH, SERVER_AUTH]):
        leaf = ed_ca.issue_server(["example.com"], key_type="ed25519", eku=eku, now=NOW)
        verify_server_chain(leaf.chain, "example.com", ed_store, NOW)


def test_eddsa_key_usage_without_signing(ed_ca: ThrowawayCA, ed_store: TrustStore) -> None:
    leaf, _ = mint(ed_ca.issuer, key_usage=usage())
    error = fails([leaf, ed_ca.intermediate_cert], "example.com", ed_store)
    assert error.description == AlertDescription.unsupported_certificate
    assert "its key usage allows neither digitalSignature" in error.reason


def test_eddsa_leaf_that_is_a_ca(ed_ca: ThrowawayCA, ed_store: TrustStore) -> None:
    leaf, _ = mint(ed_ca.issuer, ca=True)
    error = fails([leaf, ed_ca.intermediate_cert], "example.com", ed_store)
    assert error.description == AlertDescription.bad_certificate
    assert error.reason == (
        "server certificate CN=example.com was rejected: it is a CA certificate (BasicConstraints cA=TRUE), "
        "not a server's"
    )


def test_eddsa_issuer_that_is_not_a_ca(ed_ca: ThrowawayCA, ed_store: TrustStore) -> None:
    middle = mint(ed_ca.issuer, "not a ca", names=("not-a-ca.example",))
    leaf, _ = mint(middle)
    error = fails([leaf, middle[0], ed_ca.intermediate_cert], "example.com", ed_store)
    assert error.description == AlertDescription.bad_certificate
    assert "intermediate certificate CN=not a ca is not a CA (no BasicConstraints cA=TRUE)" in error.reason


def test_eddsa_issuer_without_key_cert_sign() -> None:
    root = mint(None, "root", ca=True, key_usage=usage(digital_signature=True), names=())
    leaf, _ = mint(root)
    error = fails([leaf], "example.com", TrustStore.from_certificates([root[0]]))
    assert error.description == AlertDescription.bad_certificate
    assert "trusted root certificate CN=root has a key usage without keyCertSign" in error.reason


def test_eddsa_path_length_exceeded() -> None:
    strict = ThrowawayCA.create("strict root", key_type="ed25519", with_intermediate=False, now=NOW)
    ca = strict.with_intermediate(key_type="ed25519", now=NOW)
    leaf = ca.issue_server(["example.com"], key_type="ed25519", now=NOW)
    error = fails(leaf.chain, "example.com", TrustStore.from_pem(ca.root_pem()))
    assert error.description == AlertDescription.bad_certificate
    assert error.reason == (
        "server certificate CN=example.com was rejected: trusted root certificate CN=strict root allows 0 "
        "intermediate certificate(s) below it (pathLenConstraint) and has 1"
    )


def test_eddsa_unknown_critical_extension(ed_ca: ThrowawayCA, ed_store: TrustStore) -> None:
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00")
    leaf, _ = mint(ed_ca.issuer, extra=((odd, True),))
    error = fails([leaf, ed_ca.intermediate_cert], "example.com", ed_store)
    assert error.description == AlertDescription.bad_certificate
    assert "has the critical extension 1.3.6.1.4.1.55555.1, which this validator does not process" in error.reason
    quiet, _ = mint(ed_ca.issuer, extra=((odd, False),))  # the same extension, not critical, is ignored
    verify_server_chain([quiet, ed_ca.intermediate_cert], "example.com", ed_store, NOW)


@pytest.mark.parametrize("critical", [True, False])
def test_eddsa_name_constraints_are_processed_critical_or_not(critical: bool) -> None:
    """RFC 5280, 6.1.3 (b) (c): a CA's nameConstraints hold whatever their criticality, as OpenSSL and the
    Web PKI path apply them. The EdDSA path refused critical ones it did not process and ignored
    non-critical ones, so a leaf outside them passed (and a server could send an Ed25519 certificate
    beside an ECDSA chain to have it checked so)."""
    permitted = [x509.DNSName("example.org"), x509.IPAddress(ipaddress.ip_network("10.0.0.0/8"))]
    constraints = x509.NameConstraints(
        permitted_subtrees=permitted, excluded_subtrees=[x509.DNSName("bad.example.org")]
    )
    root = mint(None, "constrained root", ca=True, names=(), extra=((constraints, critical),))
    store = TrustStore.from_certificates([root[0]])
    for name in ("www.example.org", "example.org"):
        inside, _ = mint(root, names=(name,))
        assert verify_server_chain([inside], name, store, NOW).leaf == inside
    for names, shown in ((("example.com",), "example.com"), (("x.bad.example.org",), "x.bad.example.org"),
                         (("*.example.com",), "*.example.com"), (("*.example.org",), "*.example.org")):  # fmt: skip
        outside, _ = mint(root, names=names)
        error = fails([outside], names[0].replace("*", "a"), store)
        assert error.description == AlertDescription.bad_certificate
        assert (
            f"name {shown} of CN=" in error.reason
            and "is outside the name constraints of CN=constrained root" in error.reason
        )


def test_eddsa_chain_depth_limit() -> None:
    issuer = mint(None, "root", ca=True, names=())
    store = TrustStore.from_certificates([issuer[0]])
    sent: list[x509.Certificate] = []
    for depth in range(MAX_CHAIN_DEPTH + 1):
        if depth == MAX_CHAIN_DEPTH:  # MAX_CHAIN_DEPTH intermediates: the most the Web PKI path takes too
            deepest, _ = mint(issuer)
            assert len(verify_server_chain([deepest, *sent], "example.com", store, NOW).path) == MAX_CHAIN_DEPTH + 2
        issuer = mint(issuer, f"intermediate {depth}", ca=True, names=())
        sent.insert(0, issuer[0])
    leaf, _ = mint(issuer)
    error = fails([leaf, *sent], "example.com", store)
    # The path goes on in what was sent: too long, not untrusted (--cacert would not help).
    assert error.description == AlertDescription.bad_certificate
    assert f"chain goes on past {MAX_CHAIN_DEPTH} CA certificates" in error.reason
    assert error.facts is not None and error.facts.problem == "chain_too_long"
    from glasstls.trace.diagnose import diagnose

    error.step = "waiting for the server's Certificate"
    assert "the CA must issue a shorter one" in diagnose(error, [])  # not "pass --cacert"


def test_eddsa_cross_signed_loop_terminates(ed_store: TrustStore) -> None:
    # Two CAs with one name and one key, each signed by the other: a cycle the search must not follow forever.
    key = generate_key("ed25519")
    first = mint(None, "loop", key=key, ca=True, names=())
    second = mint(first, "loop", key=key, ca=True, names=())
    leaf, _ = mint(second)
    error = fails([leaf, *[first[0], second[0]] * 5], "example.com", ed_store)
    assert error.description == AlertDescription.unknown_ca


# -- the throwaway PKI itself ----------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_identity_pem_round_trip(key_type: str, tmp_path: Path) -> None:
    ca = ThrowawayCA.create(key_type=key_type, with_intermediate=True, now=NOW)  # type: ignore[arg-type]
    identity = ca.issue_server(["example.com", "192.0.2.1"], key_type=key_type, now=NOW)  # type: ignore[arg-type]
    assert x509.load_pem_x509_certificates(identity.chain_pem()) == list(identity.chain)
    key = serialization.load_pem_private_key(identity.key_pem(), None)
    assert key.public_key() == identity.certificate.public_key()
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    identity.write(cert_file, key_file)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert cert_file.read_bytes() == identity.chain_pem()
    san = identity.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(v) for v in san.get_values_for_type(x509.IPAddress)] == ["192.0.2.1"]


def test_ca_extensions(ca: ThrowawayCA) -> None:
    root_bc = ca.root_cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert root_bc.critical and root_bc.value.ca and root_bc.value.path_length == 1
    assert ca.intermediate_cert is not None
    inter_bc = ca.intermediate_cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert inter_bc.ca and inter_bc.path_length == 0
    assert ca.root_cert.not_valid_before_utc == NOW - timedelta(hours=1)


def test_leaf_validity_defaults(server: Identity) -> None:
    assert server.certificate.not_valid_before_utc == NOW - timedelta(hours=1)
    assert server.certificate.not_valid_after_utc == NOW + timedelta(days=30)


def test_client_certificate_passes_cryptography_client_verifier(ca: ThrowawayCA, store: TrustStore) -> None:
    client = ca.issue_client("alice@example.com", now=NOW)
    builder = verification.PolicyBuilder().store(store.to_cryptography_store()).time(NOW)
    verifier = builder.build_client_verifier()
    verified = verifier.verify(client.certificate, list(client.chain[1:]))
    assert verified.subjects == [x509.RFC822Name("alice@example.com")]
    eku = client.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [CLIENT_AUTH]


# -- trust stores ----------------------------------------------------------------------


def test_store_from_file_and_duplicates(ca: ThrowawayCA, tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(ca.root_pem() + b"\n" + ca.root_pem())
    store = TrustStore.from_file(bundle)
    assert store.certificates == (ca.root_cert,)
    assert store.to_cryptography_store() is store.to_cryptography_store()
    assert ca.root_cert in store


def test_store_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read CA file"):
        TrustStore.from_file(tmp_path / "missing.pem")
    (tmp_path / "empty.pem").write_bytes(b"not a certificate\n")
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        TrustStore.from_file(tmp_path / "empty.pem")
    with pytest.raises(ConfigError, match="does not parse"):
        TrustStore.from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="no trust anchors"):
        TrustStore.from_certificates([])


def test_system_store_loads_when_present() -> None:
    try:
        store = TrustStore.system()
    except ConfigError:
        pytest.skip("no system CA bundle on this machine")
    assert len(store) > 10
    assert TrustStore.system() is store
