"""Code points glasstls does not implement are named in traces and refusals (registry_names.py)."""

from __future__ import annotations

from dataclasses import replace

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ProtocolVersion, ServerConfig, ServerConnection
from glasstls.enums import AlertDescription, CipherSuite, NamedGroup
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity


def test_registered_values_are_named_but_not_known() -> None:
    assert (str(CipherSuite(0x000A)), CipherSuite(0x000A).known) == ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", False)
    assert str(CipherSuite(0xC012)) == "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"
    assert [str(NamedGroup(v)) for v in (1, 14, 22, 26, 28, 31)] == [
        "sect163k1", "sect571r1", "secp256k1", "brainpoolP256r1", "brainpoolP512r1", "brainpoolP256r1tls13",
    ]  # fmt: skip
    assert not NamedGroup(22).known and NamedGroup(23).known  # secp256r1 stays the real member
    assert str(NamedGroup(0x0A0A)) == "GREASE_0x0a0a" and str(CipherSuite(0x1234)) == "unknown_0x1234"


def test_a_refusal_names_the_suites_offered_that_glasstls_does_not_implement() -> None:
    """A scanner's (or an old client's) 3DES and RC4 offer: the reason said "(no TLS 1.2 suite)"."""
    identity = server_identity("localhost")
    server_config = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),))
    client = ClientConnection(
        ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), tls_max=ProtocolVersion.TLSv1_2),
        "localhost",
    )
    old = (0x000A, 0x0005, 0xC012, 0x0A0A, 0x00FF)  # 3DES, RC4, ECDHE 3DES, GREASE, the renegotiation SCSV
    body = replace(client.offered_hello, cipher_suites=tuple(CipherSuite(v) for v in old)).encode()
    server = ServerConnection(server_config)
    server.receive_bytes(b"\x16\x03\x01" + len(body).to_bytes(2, "big") + body)
    assert server.error is not None and server.error.description == AlertDescription.handshake_failure
    assert (
        "client offered no TLS 1.2 suite glasstls implements (and suites glasstls does not implement: "
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA, TLS_RSA_WITH_RC4_128_SHA, TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA)"
    ) in server.error.reason, server.error.reason
