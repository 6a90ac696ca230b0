"""Client certificates checked as client certificates, and the server's identity hook.

A client certificate with only a subject name (no subjectAltName, as ``openssl
req``, corporate PKIs and devices make them) is accepted; the rules that do
apply (trust, validity, keyUsage digitalSignature, EKU clientAuth) refuse with
the alert OpenSSL sends (RFC 8446, Section 6.2); ``ServerConfig.client_identity_check``
then accepts or refuses (access_denied) the verified identity. The server's own
certificate path stays as strict as before. Real handshakes between two
in-memory glasstls peers, in both versions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from glasstls import (
    CertifiedKey,
    ClientAuthenticated,
    ClientConfig,
    ClientConnection,
    ClientIdentity,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
)
from glasstls.enums import AlertDescription
from glasstls.errors import AlertError, PeerAlertError
from glasstls.observe import EventList, VerificationTrace
from glasstls.trace.diagnose import diagnose
from glasstls.x509.mint import (
    CA_KEY_USAGE,
    CLIENT_AUTH,
    SERVER_AUTH,
    Identity,
    Issuer,
    ThrowawayCA,
    build_certificate,
    generate_key,
    key_usage,
)
from glasstls.x509.store import TrustStore
from glasstls.x509.verify import verify_client_chain, verify_server_chain
from pairs import connected_pair

VERSIONS = {"1.3": ProtocolVersion.TLSv1_3, "1.2": ProtocolVersion.TLSv1_2}
NOW = datetime.now(UTC)
SPIFFE = "spiffe://example.org/ns/prod/sa/billing"
DEVICE = x509.Name(
    [x509.NameAttribute(NameOID.COMMON_NAME, "device-42"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Corp")]
)


def client_cert(
    ca: ThrowawayCA,
    subject: x509.Name = DEVICE,
    *,
    san: list[x509.GeneralName] | None = None,
    eku: tuple[x509.ObjectIdentifier, ...] | None = (CLIENT_AUTH,),
    usage: x509.KeyUsage | None = None,
    is_ca: bool = False,
    not_after: datetime | None = None,
) -> Identity:
    """A client leaf under ``ca``: without subjectAltName unless ``san`` is given."""
    key = generate_key()
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=is_ca, path_length=None), True),
        (usage or key_usage(digital_signature=True, key_cert_sign=is_ca), True),
    ]
    if san:
        extensions.append((x509.SubjectAlternativeName(san), False))
    if eku:
        extensions.append((x509.ExtendedKeyUsage(list(eku)), False))
    issuer_cert, issuer_key = ca.issuer
    start = NOW - timedelta(hours=1)
    cert = build_certificate(
        subject,
        key.public_key(),
        Issuer(issuer_cert, issuer_key),
        issuer_key,
        start,
        not_after or NOW + timedelta(days=1),
        extensions,
    )
    chain = (cert, ca.intermediate_cert) if ca.intermediate_cert is not None else (cert,)
    return Identity(cert, chain, key)


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    server_ca, client_ca, stranger = ThrowawayCA.create(), ThrowawayCA.create("client root"), ThrowawayCA.create("x")
    return {
        "server_ca": server_ca,
        "server": server_ca.issue_server(["localhost"]),
        "client_ca": client_ca,
        "stranger": stranger,
        "plain": client_cert(client_ca),
        "spiffe": client_cert(client_ca, x509.Name([]), san=[x509.UniformResourceIdentifier(SPIFFE)]),
    }


def handshake(pki, identity: Identity, version: str = "1.3", check=None):
    """A full handshake; returns (client connection, server connection, server events, client events)."""
    v = VERSIONS[version]
    server = pki["server"]
    sc = ServerConfig(
        certificates=(CertifiedKey(server.chain, server.private_key),),
        tls_max=v,
        client_auth="required",
        client_trust_store=TrustStore.from_pem(pki["client_ca"].root_pem()),
        client_identity_check=check,
    )
    cc = ClientConfig(
        trust_store=TrustStore.from_pem(pki["server_ca"].root_pem()),
        certificate=CertifiedKey(identity.chain, identity.private_key),
        tls_min=v,
        tls_max=v,
    )
    slog, clog = EventList(), EventList()
    c = ClientConnection(cc, server_name="localhost", observer=clog)
    s = ServerConnection(sc, observer=slog)
    for _ in range(8):
        a = c.data_to_send()
        if a:
            s.receive_bytes(a)
        b = s.data_to_send()
        if b:
            c.receive_bytes(b)
        if not a and not b:
            break
    return c, s, slog, clog


def refused(pki, identity: Identity, version: str, alert: AlertDescription, check=None) -> AlertError:
    """The server's error, after checking both sides ended with ``alert``."""
    c, s, _, _ = handshake(pki, identity, version, check)
    assert isinstance(s.error, AlertError), s.error
    assert s.error.description == alert, s.error
    assert isinstance(c.error, PeerAlertError) and c.error.description == alert, c.error
    return s.error


# -- the chain, as a client chain ------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_certificate_without_subject_alt_name_is_accepted(pki, version) -> None:
    c, s, slog, _ = handshake(pki, pki["plain"], version)
    assert s.error is None and c.error is None
    assert s.parameters.client_auth is True
    assert s.parameters.peer_certificate_subject == "O=Corp,CN=device-42"
    assert s.parameters.version == f"TLSv{version}"
    checks = [e for e in slog.events if isinstance(e, VerificationTrace)]
    assert any(e.ok and "trusted client CA" in e.detail for e in checks)


def test_verify_client_chain_returns_the_path_of_a_no_san_leaf(pki) -> None:
    store = TrustStore.from_pem(pki["client_ca"].root_pem())
    path = verify_client_chain(pki["plain"].chain, store, NOW)
    assert path[0] == pki["plain"].certificate and path[-1] == pki["client_ca"].root_cert


def test_any_extended_key_usage_and_no_eku_are_accepted(pki) -> None:
    store = TrustStore.from_pem(pki["client_ca"].root_pem())
    for eku in ((ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,), None, (SERVER_AUTH, CLIENT_AUTH)):
        identity = client_cert(pki["client_ca"], eku=eku)
        assert verify_client_chain(identity.chain, store, NOW)[0] == identity.certificate


def test_a_ca_without_key_usage_is_accepted_as_openssl_req_makes_it() -> None:
    """``openssl req -x509`` makes a root with BasicConstraints but no keyUsage; RFC 5280 validators take it."""
    root_key = generate_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Corp Root")])
    root = build_certificate(
        name,
        root_key.public_key(),
        None,
        root_key,
        NOW - timedelta(hours=1),
        NOW + timedelta(days=30),
        [(x509.BasicConstraints(ca=True, path_length=None), True)],
    )
    ca = ThrowawayCA(root, root_key)
    identity = client_cert(ca)
    assert verify_client_chain(identity.chain, TrustStore([root]), NOW) == (identity.certificate, root)
    # A CA key usage without keyCertSign still refuses (RFC 5280, Section 4.2.1.3).
    bad_usage = x509.KeyUsage(True, False, False, False, False, False, True, False, False)
    bad_root = build_certificate(
        name,
        root_key.public_key(),
        None,
        root_key,
        NOW - timedelta(hours=1),
        NOW + timedelta(days=30),
        [(x509.BasicConstraints(ca=True, path_length=None), True), (bad_usage, True)],
    )
    with pytest.raises(AlertError) as err:
        verify_client_chain(identity.chain, TrustStore([bad_root]), NOW)
    assert err.value.description == AlertDescription.bad_certificate
    assert "keyCertSign" in err.value.reason
    assert CA_KEY_USAGE.key_cert_sign  # the minted CAs carry it


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_expired_client_certificate_is_certificate_expired(pki, version) -> None:
    identity = client_cert(pki["client_ca"], not_after=NOW - timedelta(minutes=5))
    err = refused(pki, identity, version, AlertDescription.certificate_expired)
    assert err.reason.startswith("client certificate O=Corp,CN=device-42 expired on")


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_certificate_of_another_ca_is_unknown_ca(pki, version) -> None:
    err = refused(pki, client_cert(pki["stranger"]), version, AlertDescription.unknown_ca)
    assert "ServerConfig.client_trust_store" in err.reason
    assert err.facts is not None and err.facts.chain == "client"


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_server_auth_only_eku_is_unsupported_certificate(pki, version) -> None:
    identity = client_cert(pki["client_ca"], eku=(SERVER_AUTH,))
    err = refused(pki, identity, version, AlertDescription.unsupported_certificate)
    assert err.reason == (
        "client certificate O=Corp,CN=device-42 is not for TLS clients: its extended key usage allows "
        "serverAuth, not clientAuth"
    )


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_key_usage_without_digital_signature_is_unsupported_certificate(pki, version) -> None:
    identity = client_cert(pki["client_ca"], usage=key_usage(key_agreement=True))
    err = refused(pki, identity, version, AlertDescription.unsupported_certificate)
    assert "its key usage allows keyAgreement, not digitalSignature" in err.reason


def test_a_ca_certificate_as_client_certificate_is_bad_certificate(pki) -> None:
    identity = client_cert(pki["client_ca"], is_ca=True)
    err = refused(pki, identity, "1.3", AlertDescription.bad_certificate)
    assert "is a CA certificate" in err.reason


def test_the_server_certificate_path_is_as_strict_as_before(pki) -> None:
    """A client verifying a server still needs a subjectAltName naming the host, and serverAuth."""
    store = TrustStore.from_pem(pki["client_ca"].root_pem())
    no_san = client_cert(
        pki["client_ca"], x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), eku=(SERVER_AUTH,)
    )
    with pytest.raises(AlertError) as err:
        verify_server_chain(no_san.chain, "localhost", store, NOW)
    assert err.value.description == AlertDescription.bad_certificate
    assert "no DNS or IP subjectAltName" in err.value.reason
    any_eku = client_cert(
        pki["client_ca"], san=[x509.DNSName("localhost")], eku=(ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,)
    )
    with pytest.raises(AlertError) as err:
        verify_server_chain(any_eku.chain, "localhost", store, NOW)
    assert err.value.description == AlertDescription.unsupported_certificate


# -- the identity hook -------------------------------------------------------------------------------


def spiffe_only(allowed: str):
    def check(identity: ClientIdentity) -> str | None:
        if identity.spiffe_id != allowed:
            return f"SPIFFE ID {identity.spiffe_id} is not {allowed}"
        return None

    return check


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_identity_check_accepts_by_spiffe_id(pki, version) -> None:
    seen: list[ClientIdentity] = []

    def check(identity: ClientIdentity) -> str | None:
        seen.append(identity)
        return spiffe_only(SPIFFE)(identity)

    c, s, slog, _ = handshake(pki, pki["spiffe"], version, check)
    assert s.error is None and c.error is None and s.parameters.client_auth
    (identity,) = seen
    assert identity.uris == (SPIFFE,) and identity.spiffe_id == SPIFFE
    assert identity.subject == "" and identity.common_name is None and identity.dns_names == ()
    assert identity.certificate == pki["spiffe"].certificate and identity.chain[-1] == pki["client_ca"].root_cert
    details = [e.detail for e in slog.events if isinstance(e, VerificationTrace) and e.ok]
    assert "client accepted by ServerConfig.client_identity_check" in details


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_identity_check_refuses_by_spiffe_id_with_access_denied(pki, version) -> None:
    check = spiffe_only("spiffe://example.org/ns/prod/sa/payments")
    c, s, slog, clog = handshake(pki, pki["spiffe"], version, check)
    assert s.error.description == AlertDescription.access_denied
    serial = pki["spiffe"].certificate.serial_number
    assert s.error.reason == (
        f"client certificate with serial {serial:#x} and an empty subject refused by "
        f"ServerConfig.client_identity_check: SPIFFE ID {SPIFFE} is not spiffe://example.org/ns/prod/sa/payments"
    )
    assert isinstance(c.error, PeerAlertError) and c.error.description == AlertDescription.access_denied
    failed = [e for e in slog.events if isinstance(e, VerificationTrace) and not e.ok]
    assert failed and "is not spiffe://example.org/ns/prod/sa/payments" in failed[-1].detail
    text = diagnose(s.error, slog.events)
    assert "alert:        access_denied (49), sent by the server" in text
    assert "client_identity_check refused it" in text and "host" not in text
    client_text = diagnose(c.error, clog.events)
    assert "its access control refuses that identity" in client_text


def test_identity_check_by_common_name_on_a_no_san_certificate(pki) -> None:
    def only_device_42(identity: ClientIdentity) -> str | None:
        return None if identity.common_name == "device-42" else f"{identity.common_name} is not allowed"

    c, s, _, _ = handshake(pki, pki["plain"], "1.3", only_device_42)
    assert s.error is None and s.parameters.peer_certificate_subject == "O=Corp,CN=device-42"
    other = client_cert(pki["client_ca"], x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device-7")]))
    err = refused(pki, other, "1.2", AlertDescription.access_denied, only_device_42)
    assert err.reason.endswith("refused by ServerConfig.client_identity_check: device-7 is not allowed")


def test_identity_check_is_not_asked_about_a_chain_that_failed(pki) -> None:
    asked: list[ClientIdentity] = []
    refused(pki, client_cert(pki["stranger"]), "1.3", AlertDescription.unknown_ca, lambda i: asked.append(i))
    assert asked == []


def test_a_failing_identity_check_refuses_with_internal_error(pki) -> None:
    def broken(identity: ClientIdentity) -> str | None:
        raise KeyError("no such tenant")

    err = refused(pki, pki["plain"], "1.3", AlertDescription.internal_error, broken)
    assert "ServerConfig.client_identity_check raised KeyError" in err.reason and "refused" in err.reason
    assert "the application's ServerConfig.client_identity_check failed" in diagnose(err, side="server")
    err = refused(pki, pki["plain"], "1.3", AlertDescription.internal_error, lambda identity: False)
    assert "returned bool" in err.reason


def test_an_empty_or_unprintable_reason_still_refuses(pki) -> None:
    err = refused(pki, pki["plain"], "1.3", AlertDescription.access_denied, lambda identity: "")
    assert err.reason.endswith("(no reason given)")
    err = refused(pki, pki["plain"], "1.3", AlertDescription.access_denied, lambda identity: "bad\x1b[31m")
    assert "\x1b" not in err.reason


def test_client_identity_fields() -> None:
    ca = ThrowawayCA.create(with_intermediate=False)
    san: list[x509.GeneralName] = [
        x509.DNSName("dev.example"),
        x509.RFC822Name("alice@example.org"),
        x509.UniformResourceIdentifier("spiffe://a/b"),
        x509.UniformResourceIdentifier("https://example.org/alice"),
    ]
    identity = ClientIdentity.of(client_cert(ca, san=san).chain)
    assert identity.subject == "O=Corp,CN=device-42" and identity.common_name == "device-42"
    assert identity.dns_names == ("dev.example",) and identity.emails == ("alice@example.org",)
    assert identity.uris == ("spiffe://a/b", "https://example.org/alice")
    assert identity.spiffe_id is None  # an X.509-SVID holds exactly one URI
    with pytest.raises(AttributeError):
        identity.subject = "CN=mallory"  # type: ignore[misc]


# -- diagnosis ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: client_cert(p["client_ca"], not_after=NOW - timedelta(minutes=5)), "a new one from its CA"),
        (lambda p: client_cert(p["client_ca"], eku=(SERVER_AUTH,)), "not a TLS client certificate"),
        (lambda p: client_cert(p["stranger"]), "does not trust the CA of the client's certificate"),
        (lambda p: client_cert(p["client_ca"], is_ca=True), "need no subjectAltName"),
    ],
)
def test_diagnosis_of_a_refused_client_certificate_names_no_host(pki, make, words) -> None:
    c, s, slog, clog = handshake(pki, make(pki), "1.3")
    text = diagnose(s.error, slog.events)
    assert words in text, text
    assert "name the host" not in text
    client_text = diagnose(c.error, clog.events)
    assert "our client certificate" in client_text and "name the host" not in client_text, client_text


# -- post-handshake authentication (RFC 8446, Section 4.6.2) goes through the same checks ----------------


@pytest.mark.parametrize(("allowed", "outcome"), [("device-42", "accepted"), ("device-7", "access_denied")])
def test_post_handshake_client_certificate_without_san_and_the_identity_check(pki, allowed, outcome) -> None:
    plain = pki["plain"]

    def check(identity: ClientIdentity) -> str | None:
        return None if identity.common_name == allowed else f"only {allowed} may come in"

    pair = connected_pair(
        client_kw={"tls_min": ProtocolVersion.TLSv1_3, "certificate": CertifiedKey(plain.chain, plain.private_key)},
        server_kw={
            "client_trust_store": TrustStore.from_pem(pki["client_ca"].root_pem()),
            "client_identity_check": check,
        },
    )
    pair.server.request_client_certificate()
    pair.to_client()
    events = pair.to_server()
    if outcome == "accepted":
        (event,) = [e for e in events if isinstance(e, ClientAuthenticated)]
        assert event.peer_certificate_subject == "O=Corp,CN=device-42"
    else:
        assert pair.server.error.description == AlertDescription.access_denied
        assert pair.server.error.reason.endswith("client_identity_check: only device-7 may come in")


def test_a_leaf_without_authority_key_identifier_and_with_a_critical_eku_is_accepted(pki) -> None:
    """Both refused by the Web PKI profile, both allowed by RFC 5280 (Sections 4.2.1.1 and 4.2.1.12)."""
    issuer_cert, issuer_key = pki["client_ca"].issuer
    key = generate_key()
    leaf = (
        x509.CertificateBuilder()
        .subject_name(DEVICE)
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(hours=1))
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([CLIENT_AUTH]), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )
    store = TrustStore.from_pem(pki["client_ca"].root_pem())
    assert verify_client_chain((leaf, *pki["plain"].chain[1:]), store, NOW)[0] == leaf


def _self_signed_client(eku: list | None, days: tuple[int, int] = (-1, 30)) -> x509.Certificate:
    """As ``openssl req -x509`` makes a client certificate: self-signed, cA=TRUE."""
    key = generate_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed device")])
    extensions: list = [(x509.BasicConstraints(ca=True, path_length=None), True)]
    if eku is not None:
        extensions.append((x509.ExtendedKeyUsage(eku), False))
    return build_certificate(
        name, key.public_key(), None, key, NOW + timedelta(days=days[0]), NOW + timedelta(days=days[1]), extensions
    )


def test_a_self_signed_client_certificate_trusted_as_itself_is_a_path_of_one() -> None:
    """As OpenSSL: a client certificate that is itself in the client CA store is trusted, cA=TRUE
    or not; its validity and purpose are still checked, and it is no anchor for another store."""
    cert = _self_signed_client(None)
    assert verify_client_chain([cert], TrustStore([cert]), NOW) == (cert,)
    expired = _self_signed_client(None, days=(-9, -1))
    with pytest.raises(AlertError) as err:
        verify_client_chain([expired], TrustStore([expired]), NOW)
    assert err.value.description == AlertDescription.certificate_expired
    server_only = _self_signed_client([ExtendedKeyUsageOID.SERVER_AUTH])
    with pytest.raises(AlertError) as err:
        verify_client_chain([server_only], TrustStore([server_only]), NOW)
    assert err.value.description == AlertDescription.unsupported_certificate
    with pytest.raises(AlertError) as err:
        verify_client_chain([cert], TrustStore([server_only]), NOW)
    assert err.value.description == AlertDescription.unknown_ca
