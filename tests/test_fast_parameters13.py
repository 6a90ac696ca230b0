"""Both sides' TLS 1.3 NegotiatedParameters, field by field (issue 15: client13 and server13 build
them positionally, as a class called with keywords gets them as a dict, some 4,800 instructions
per call; psk13 builds each ticket's SessionState so too): for a full handshake with SNI and ALPN,
a resumption of its ticket with and without SNI, an external PSK in both modes, and a
client-authenticated handshake and its resumption. Each side's parameters must be what the
handshake settled, and the two sides agree on every field both see. A field out of its place
fails here."""

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

EXTERNAL = ExternalPsk(b"client 7", bytes(range(32)))
LEAF = server_identity("localhost").chain[0]


def _server_config(**kw: object) -> ServerConfig:
    identity = server_identity("localhost")
    return ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **kw)  # type: ignore[arg-type]


def _client_config(**kw: object) -> ClientConfig:
    kw.setdefault("groups", (NamedGroup.x25519,))
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **kw)  # type: ignore[arg-type]


def _handshake(
    ccfg: ClientConfig, scfg: ServerConfig, server_name: str | None = "localhost", session: object = None
) -> tuple[ClientConnection, NegotiatedParameters, NegotiatedParameters]:
    """A completed handshake: the client (holding its tickets), its parameters and the server's."""
    client = ClientConnection(ccfg, server_name=server_name, session=session)  # type: ignore[arg-type]
    server = ServerConnection(scfg)
    for _ in range(4):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.handshake_complete and server.handshake_complete, (client.error, server.error)
    assert client.parameters is not None and server.parameters is not None
    return client, client.parameters, server.parameters


def _expect(
    client: NegotiatedParameters,
    server: NegotiatedParameters,
    client_view: dict[str, object] | None = None,
    server_view: dict[str, object] | None = None,
    **settled: object,
) -> None:
    """Every field of both sides' parameters: ``settled`` on both, then what each side alone sees
    (``client_view``, ``server_view``: at least its peer's certificates, none unless given)."""
    both: dict[str, object] = {"version": "TLSv1.3", "cipher_suite": "TLS_AES_128_GCM_SHA256"}
    both.update(extended_master_secret=None, early_data_accepted=None, peer_certificates=(), **settled)
    assert client == NegotiatedParameters(**{**both, **(client_view or {})})  # type: ignore[arg-type]
    assert server == NegotiatedParameters(**{**both, **(server_view or {})})  # type: ignore[arg-type]


def test_a_full_handshake_with_sni_and_alpn() -> None:
    scfg = _server_config(alpn=("h2", "http/1.1"), groups=(NamedGroup.secp256r1, NamedGroup.x25519))
    _, c, s = _handshake(_client_config(alpn=("http/1.1",), groups=(NamedGroup.secp256r1,)), scfg)
    assert c.signature_scheme in SignatureScheme.__members__
    assert c.peer_certificates and c.peer_certificates[0] == LEAF
    _expect(
        c, s, group="secp256r1", signature_scheme=c.signature_scheme, alpn="http/1.1", server_name="localhost",
        resumed=False, client_auth=False, psk=None, client_view={"peer_certificates": c.peer_certificates},
    )  # fmt: skip


@pytest.mark.parametrize("server_name", ["localhost", None])
def test_a_resumption_of_its_ticket(server_name: str | None) -> None:
    scfg = _server_config(alpn=("h2",))
    ccfg = _client_config(alpn=("h2",), dangerous=Dangerous(skip_server_name_check=server_name is None))
    first, _, _ = _handshake(ccfg, scfg, server_name=server_name)
    assert first.session is not None and (first.session.server_name, first.session.alpn) == (server_name, "h2")
    client, c, s = _handshake(ccfg, scfg, server_name=server_name, session=first.session)
    assert c.peer_certificates and c.peer_certificates[0] == LEAF  # the ticket's session kept the chain
    _expect(
        c, s, group="x25519", signature_scheme=None, alpn="h2", server_name=server_name,
        resumed=True, client_auth=False, psk="resumption", client_view={"peer_certificates": c.peer_certificates},
    )  # fmt: skip
    # Its new ticket resumes the same session basis (RFC 8446, Section 4.6.1).
    assert client.session is not None and (client.session.server_name, client.session.alpn) == (server_name, "h2")


@pytest.mark.parametrize("mode", ["psk_dhe_ke", "psk_ke"])
def test_an_external_psk(mode: str) -> None:
    modes = (PskKeyExchangeMode[mode],)
    scfg = _server_config(psks=(EXTERNAL,), psk_modes=modes)
    _, c, s = _handshake(_client_config(psk=EXTERNAL, psk_modes=modes), scfg)
    _expect(
        c, s, group="x25519" if mode == "psk_dhe_ke" else None, signature_scheme=None, alpn=None,
        server_name="localhost", resumed=False, client_auth=False, psk="external PSK",
    )  # fmt: skip


def test_a_client_authenticated_handshake_and_its_resumption() -> None:
    client_ca = ThrowawayCA.create("client root", with_intermediate=False)
    alice = client_ca.issue_client("alice")
    scfg = _server_config(client_auth="required", client_trust_store=TrustStore.from_pem(client_ca.root_pem()))
    ccfg = _client_config(certificate=CertifiedKey(alice.chain, alice.private_key))
    first, c, s = _handshake(ccfg, scfg)
    assert c.signature_scheme is not None and c.peer_certificates[0] == LEAF
    assert s.peer_certificates and s.peer_certificates[0] == alice.chain[0]
    _expect(
        c, s, group="x25519", signature_scheme=c.signature_scheme, alpn=None, server_name="localhost",
        resumed=False, client_auth=True, psk=None,
        client_view={"peer_certificates": c.peer_certificates}, server_view={"peer_certificates": s.peer_certificates},
    )  # fmt: skip
    assert first.session is not None
    _, c, s = _handshake(ccfg, scfg, session=first.session)
    # RFC 8446, Section 4.6.1: the ticket kept the client's chain, and the resumption has it; the
    # client sent no certificate in this handshake.
    assert s.peer_certificates and s.peer_certificates[0] == alice.chain[0]
    _expect(
        c, s, group="x25519", signature_scheme=None, alpn=None, server_name="localhost", resumed=True,
        psk="resumption", client_view={"peer_certificates": c.peer_certificates, "client_auth": False},
        server_view={"peer_certificates": s.peer_certificates, "client_auth": True},
    )  # fmt: skip
