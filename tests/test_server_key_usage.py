"""A server uses its certificate only as the certificate allows (RFC 5246, Section 7.4.2; RFC 8446,
Section 4.4.2.2): RSA key exchange needs a key that may encrypt (keyEncipherment, and not an
id-RSASSA-PSS key: tests/interop/test_interop_openssl12.py), a signed handshake a key that may sign
(digitalSignature). A certificate that may not serve a suite is skipped for it, another suite or
certificate serves; when none can, the refusal and its diagnosis name the certificate as the cause.

Also here: the server's own side of two diagnoses whose advice used to be the client's (a client
without the certificate this server requires, a name it does not serve)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509

from glasstls import (
    CertifiedKey,
    CipherSuite,
    ClientConfig,
    ClientConnection,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
)
from glasstls.enums import AlertDescription, SignatureScheme
from glasstls.observe import EventList
from glasstls.trace.diagnose import diagnose
from glasstls.x509.mint import SERVER_AUTH, Issuer, KeyType, build_certificate, generate_key, key_usage, subject_name
from glasstls.x509.store import TrustStore
from pairs import default_ca

V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
RSA_KX = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
ECDHE_RSA = CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
ECDHE_ECDSA = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256


def usage(*, sign: bool, encipher: bool = False, agree: bool = False) -> x509.KeyUsage:
    return key_usage(digital_signature=sign, key_encipherment=encipher, key_agreement=agree)


def certified(key_type: KeyType, key_usage: x509.KeyUsage | None) -> CertifiedKey:
    """A localhost leaf under the shared test CA with ``key_usage`` (None: no KeyUsage extension)."""
    ca, key = default_ca(), generate_key(key_type)
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.SubjectAlternativeName([x509.DNSName("localhost")]), False),
        (x509.ExtendedKeyUsage([SERVER_AUTH]), False),
    ]
    if key_usage is not None:
        extensions.append((key_usage, True))
    issuer_cert, issuer_key = ca.issuer
    now = datetime.now(UTC)
    leaf = build_certificate(
        subject_name("localhost"),
        key.public_key(),
        Issuer(issuer_cert, issuer_key),
        issuer_key,
        now - timedelta(hours=1),
        now + timedelta(days=1),
        extensions,
    )
    assert ca.intermediate_cert is not None
    return CertifiedKey((leaf, ca.intermediate_cert), key)


class Run:
    """One in-memory handshake of a glasstls client (for ``server_name``, trusting the shared test CA) and a
    server serving ``chains``."""

    def __init__(
        self,
        chains: tuple[CertifiedKey, ...],
        client_kw: dict[str, Any],
        server_kw: dict[str, Any],
        server_name: str = "localhost",
    ) -> None:
        self.server_log = EventList()
        trust = TrustStore.from_pem(default_ca().root_pem())
        self.client = ClientConnection(ClientConfig(trust_store=trust, **client_kw), server_name=server_name)
        self.server = ServerConnection(ServerConfig(certificates=chains, **server_kw), observer=self.server_log)
        for _ in range(6):  # until both sides are done, or have given up
            self.server.receive_bytes(self.client.data_to_send())
            self.client.receive_bytes(self.server.data_to_send())

    @property
    def server_reason(self) -> str:
        error = self.server.error
        assert error is not None, "the handshake went through"
        return str(error.reason)

    def served(self) -> Any:
        assert self.server.parameters is not None, self.server.error
        return self.server.parameters

    def server_diagnosis(self) -> str:
        return diagnose(self.server.error, self.server_log.events)


def tls12(*suites: CipherSuite) -> dict[str, Any]:
    return {"tls_max": V12, "cipher_suites": suites}


def test_rsa_key_exchange_skips_a_certificate_without_key_encipherment() -> None:
    signing_only = certified("rsa2048", usage(sign=True))
    served = Run((signing_only,), tls12(RSA_KX, ECDHE_RSA), {"cipher_suites": (RSA_KX, ECDHE_RSA)})
    assert served.served().cipher_suite == ECDHE_RSA.name  # the server's first choice was RSA_KX
    refused = Run((signing_only,), tls12(RSA_KX), {"cipher_suites": (RSA_KX, ECDHE_RSA)})
    assert "(RSA key exchange) needs a certificate whose KeyUsage allows keyEncipherment" in refused.server_reason
    assert "may not be used that way (its key type or KeyUsage)" in refused.server_diagnosis()


def test_a_certificate_for_key_exchange_only_serves_rsa_key_exchange_and_no_signed_handshake() -> None:
    enciphering_only = certified("rsa2048", usage(sign=False, encipher=True))
    served = Run((enciphering_only,), tls12(ECDHE_RSA, RSA_KX), {"cipher_suites": (ECDHE_RSA, RSA_KX)})
    assert served.served().cipher_suite == RSA_KX.name  # the server's first choice was ECDHE_RSA
    refused = Run((enciphering_only,), tls12(ECDHE_RSA), {"cipher_suites": (ECDHE_RSA, RSA_KX)})
    assert "needs a certificate whose KeyUsage allows digitalSignature" in refused.server_reason
    tls13 = Run((enciphering_only,), {}, {})
    assert tls13.server.error is not None and tls13.server.error.description == AlertDescription.handshake_failure
    assert "may not sign: its KeyUsage lacks digitalSignature" in tls13.server_reason
    assert "RFC 8446, Section 4.4.2.2" in tls13.server_reason
    assert "reissue it with the key usage the handshake needs" in tls13.server_diagnosis()


@pytest.mark.parametrize("version", [V12, V13])
def test_a_certificate_that_may_sign_is_taken_over_one_that_may_not(version: ProtocolVersion) -> None:
    """Two chains for one name: the first may not sign, so the second serves (ECDHE)."""
    no_signing = certified("ecdsa-p256", usage(sign=False, agree=True))
    signing = certified("ecdsa-p256", None)  # no KeyUsage at all: any use (RFC 5280, Section 4.2.1.3)
    run = Run((no_signing, signing), {"tls_max": version}, {})
    run.served()
    assert run.client.parameters is not None and run.client.parameters.peer_certificates[0] == signing.chain[0]


def test_a_tls12_refusal_explains_the_suite_the_server_has_a_key_for() -> None:
    """An Ed25519 server and a client (a browser's offer) whose signature_algorithms has no ed25519:
    the first suite both list is an RSA one, but the cause to fix is that no signature the client takes
    fits the Ed25519 key, not the missing RSA certificate."""
    ed25519 = certified("ed25519", usage(sign=True))
    schemes = (SignatureScheme.ecdsa_secp256r1_sha256, SignatureScheme.rsa_pss_rsae_sha256)
    run = Run((ed25519,), {**tls12(ECDHE_RSA, ECDHE_ECDSA), "signature_schemes": schemes}, {})
    assert "TLS_ECDHE_ECDSA" in run.server_reason and "needs an RSA certificate" not in run.server_reason
    assert "no scheme of the client's signature_algorithms fits the server's certificate" in run.server_reason
    text = run.server_diagnosis()
    assert "the client accepts no signature this server's certificate can make" in text
    assert "--profile legacy" not in text


@pytest.mark.parametrize("version", [V12, V13])
def test_the_server_is_told_what_to_do_about_a_client_without_the_certificate_it_requires(version) -> None:
    run = Run(
        (certified("ecdsa-p256", None),),
        {"tls_max": version},
        {"client_auth": "required", "client_trust_store": TrustStore.from_pem(default_ca().root_pem())},
    )
    text = run.server_diagnosis()
    assert "the client sent no certificate, and this server requires one" in text
    assert "--verify-client optional" in text and "--client-ca" in text


def test_the_server_is_told_what_to_do_about_a_name_it_does_not_serve() -> None:
    chains = (certified("ecdsa-p256", None),)
    Run(chains, {}, {"refuse_unknown_server_names": True}).served()  # localhost is served
    run = Run(chains, {}, {"refuse_unknown_server_names": True}, server_name="elsewhere.example")
    assert run.server.error is not None and run.server.error.description == AlertDescription.unrecognized_name
    text = run.server_diagnosis()
    assert "add a certificate for it" in text and "--unknown-name default" in text
    assert "--servername" not in text
