"""The TLS 1.3 client's NegotiatedParameters are built positionally (issue 15: a class called with
keywords gets them as a dict, some 4,800 instructions per call), and its connected state without a
keyword: every field of the client's parameters must be what the handshake settled, field by field,
for a full handshake with SNI and ALPN, a resumption of its ticket, an external PSK in both modes
and a client-authenticated handshake. A field out of its place fails here."""

from __future__ import annotations

import pytest

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ServerConfig, ServerConnection
from glasstls.config import Dangerous
from glasstls.enums import NamedGroup, PskKeyExchangeMode, SignatureScheme
from glasstls.events import NegotiatedParameters
from glasstls.session.psk import ExternalPsk
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity

EXTERNAL = ExternalPsk(b"client 9", bytes(range(1, 33)))


def _server_config(**kw: object) -> ServerConfig:
    identity = server_identity("localhost")
    return ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **kw)  # type: ignore[arg-type]


def _client_config(**kw: object) -> ClientConfig:
    kw.setdefault("groups", (NamedGroup.x25519,))
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **kw)  # type: ignore[arg-type]


def _client_parameters(
    ccfg: ClientConfig, scfg: ServerConfig, server_name: str | None = "localhost", session: object = None
) -> tuple[ClientConnection, NegotiatedParameters]:
    client = ClientConnection(ccfg, server_name=server_name, session=session)  # type: ignore[arg-type]
    server = ServerConnection(scfg)
    for _ in range(4):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.handshake_complete and server.handshake_complete, (client.error, server.error)
    assert client.parameters is not None
    return client, client.parameters


def test_a_full_handshake_with_sni_and_alpn() -> None:
    scfg = _server_config(alpn=("h2", "http/1.1"))
    client, p = _client_parameters(_client_config(alpn=("http/1.1",), groups=(NamedGroup.secp256r1,)), scfg)
    assert p.signature_scheme in SignatureScheme.__members__
    leaf = server_identity("localhost").chain[0]
    assert p.peer_certificates and p.peer_certificates[0] == leaf
    assert p == NegotiatedParameters(
        version="TLSv1.3",
        cipher_suite="TLS_AES_128_GCM_SHA256",
        group="secp256r1",
        signature_scheme=p.signature_scheme,
        alpn="http/1.1",
        server_name="localhost",
        peer_certificates=p.peer_certificates,
        resumed=False,
        client_auth=False,
        extended_master_secret=None,
        psk=None,
        early_data_accepted=None,
    )


@pytest.mark.parametrize("server_name", ["localhost", None])
def test_a_resumption_of_its_ticket(server_name: str | None) -> None:
    scfg = _server_config(alpn=("h2",))
    ccfg = _client_config(alpn=("h2",), dangerous=Dangerous(skip_server_name_check=server_name is None))
    first, _ = _client_parameters(ccfg, scfg, server_name=server_name)
    assert first.session is not None
    client, p = _client_parameters(ccfg, scfg, server_name=server_name, session=first.session)
    leaf = server_identity("localhost").chain[0]
    assert p.peer_certificates and p.peer_certificates[0] == leaf  # the ticket's session kept the chain
    assert p == NegotiatedParameters(
        version="TLSv1.3",
        cipher_suite="TLS_AES_128_GCM_SHA256",
        group="x25519",
        signature_scheme=None,
        alpn="h2",
        server_name=server_name,
        peer_certificates=p.peer_certificates,
        resumed=True,
        client_auth=False,
        extended_master_secret=None,
        psk="resumption",
        early_data_accepted=None,
    )
    # Its own tickets resume the same session basis (RFC 8446, Section 4.6.1).
    assert client.session is not None and (client.session.server_name, client.session.alpn) == (server_name, "h2")


@pytest.mark.parametrize("mode", ["psk_dhe_ke", "psk_ke"])
def test_an_external_psk(mode: str) -> None:
    modes = (PskKeyExchangeMode[mode],)
    scfg = _server_config(psks=(EXTERNAL,), psk_modes=modes)
    _, p = _client_parameters(_client_config(psk=EXTERNAL, psk_modes=modes), scfg)
    assert p == NegotiatedParameters(
        version="TLSv1.3",
        cipher_suite="TLS_AES_128_GCM_SHA256",
        group="x25519" if mode == "psk_dhe_ke" else None,
        signature_scheme=None,
        alpn=None,
        server_name="localhost",
        peer_certificates=(),
        resumed=False,
        client_auth=False,
        extended_master_secret=None,
        psk="external PSK",
        early_data_accepted=None,
    )


def test_a_client_authenticated_handshake() -> None:
    client_ca = ThrowawayCA.create("client root", with_intermediate=False)
    bob = client_ca.issue_client("bob")
    scfg = _server_config(client_auth="required", client_trust_store=TrustStore.from_pem(client_ca.root_pem()))
    _, p = _client_parameters(_client_config(certificate=CertifiedKey(bob.chain, bob.private_key)), scfg)
    assert p.client_auth and p.signature_scheme is not None and p.peer_certificates
    assert (p.resumed, p.psk, p.server_name, p.group, p.alpn) == (False, None, "localhost", "x25519", None)
    assert p.peer_certificates[0] == server_identity("localhost").chain[0]  # the server's, not bob's
