"""The TLS 1.3 server's NegotiatedParameters and tickets' sessions are built positionally (issue 15:
a class called with keywords gets them as a dict, some 5,000 instructions per call): every field
must be what the handshake settled, field by field, for a full handshake with SNI and ALPN, a
resumption of its ticket, an external PSK and a client-authenticated handshake; and the server
and the client agree on every field both see. A field out of its place fails here."""

from __future__ import annotations

import pytest

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ServerConfig, ServerConnection
from glasstls.config import Dangerous
from glasstls.enums import NamedGroup, SignatureScheme
from glasstls.events import NegotiatedParameters
from glasstls.session.psk import ExternalPsk
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity

EXTERNAL = ExternalPsk(b"client 7", bytes(range(32)))
SHARED = ("version", "cipher_suite", "group", "signature_scheme", "alpn", "resumed", "psk")


def _server_config(**kw: object) -> ServerConfig:
    identity = server_identity("localhost")
    return ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **kw)  # type: ignore[arg-type]


def _client_config(**kw: object) -> ClientConfig:
    kw.setdefault("groups", (NamedGroup.x25519,))
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **kw)  # type: ignore[arg-type]


def _handshake(
    ccfg: ClientConfig, scfg: ServerConfig, server_name: str | None = "localhost", session: object = None
) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(ccfg, server_name=server_name, session=session)  # type: ignore[arg-type]
    server = ServerConnection(scfg)
    for _ in range(4):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.handshake_complete and server.handshake_complete, (client.error, server.error)
    return client, server


def _agree(client: ClientConnection, server: ServerConnection) -> NegotiatedParameters:
    assert client.parameters is not None and server.parameters is not None
    for name in SHARED:
        assert getattr(client.parameters, name) == getattr(server.parameters, name), name
    return server.parameters


def test_a_full_handshake_with_sni_and_alpn() -> None:
    scfg = _server_config(alpn=("h2", "http/1.1"), groups=(NamedGroup.secp256r1, NamedGroup.x25519))
    client, server = _handshake(_client_config(alpn=("http/1.1",), groups=(NamedGroup.secp256r1,)), scfg)
    p = _agree(client, server)
    assert p == NegotiatedParameters(
        version="TLSv1.3",
        cipher_suite="TLS_AES_128_GCM_SHA256",
        group="secp256r1",
        signature_scheme=p.signature_scheme,
        alpn="http/1.1",
        server_name="localhost",
        peer_certificates=(),
        resumed=False,
        client_auth=False,
        extended_master_secret=None,
        psk=None,
        early_data_accepted=None,
    )
    assert p.signature_scheme in SignatureScheme.__members__


def test_a_resumption_of_its_ticket_without_sni() -> None:
    scfg = _server_config(alpn=("h2",))
    ccfg = _client_config(alpn=("h2",), dangerous=Dangerous(skip_server_name_check=True))  # no name: none to check
    first, _ = _handshake(ccfg, scfg, server_name=None)
    first.receive_bytes(b"")
    assert first.session is not None and first.session.server_name is None and first.session.alpn == "h2"
    client, server = _handshake(ccfg, scfg, server_name=None, session=first.session)
    p = _agree(client, server)
    assert p == NegotiatedParameters(
        version="TLSv1.3",
        cipher_suite="TLS_AES_128_GCM_SHA256",
        group="x25519",
        signature_scheme=None,
        alpn="h2",
        server_name=None,
        peer_certificates=(),
        resumed=True,
        client_auth=False,
        extended_master_secret=None,
        psk="resumption",
        early_data_accepted=None,
    )


@pytest.mark.parametrize("modes", ["psk_dhe_ke", "psk_ke"])
def test_an_external_psk(modes: str) -> None:
    from glasstls.enums import PskKeyExchangeMode

    mode = (PskKeyExchangeMode[modes],)
    scfg = _server_config(psks=(EXTERNAL,), psk_modes=mode)
    client, server = _handshake(_client_config(psk=EXTERNAL, psk_modes=mode), scfg)
    p = _agree(client, server)
    assert p == NegotiatedParameters(
        version="TLSv1.3",
        cipher_suite="TLS_AES_128_GCM_SHA256",
        group="x25519" if modes == "psk_dhe_ke" else None,
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


def test_a_client_authenticated_handshake_and_its_resumption() -> None:
    client_ca = ThrowawayCA.create("client root", with_intermediate=False)
    alice = client_ca.issue_client("alice")
    scfg = _server_config(client_auth="required", client_trust_store=TrustStore.from_pem(client_ca.root_pem()))
    ccfg = _client_config(certificate=CertifiedKey(alice.chain, alice.private_key))
    first, server = _handshake(ccfg, scfg)
    p = _agree(first, server)
    assert p.client_auth and p.peer_certificates and p.peer_certificates[0] == alice.chain[0]
    assert (p.resumed, p.psk, p.server_name, p.group) == (False, None, "localhost", "x25519")
    first.receive_bytes(b"")
    assert first.session is not None
    client, server = _handshake(ccfg, scfg, session=first.session)
    p = _agree(client, server)
    # RFC 8446, Section 4.6.1: the ticket kept the client's chain, and the resumption has it.
    assert p.client_auth and p.peer_certificates[0] == alice.chain[0]
    assert (p.resumed, p.psk, p.signature_scheme, p.group) == (True, "resumption", None, "x25519")
