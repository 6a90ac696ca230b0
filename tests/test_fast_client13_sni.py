"""The server name a TLS 1.3 client sends and reports (issue 15: hello.py and client13 read the
connection's ``offered_sni``, made once by ClientConnection, in place of ``sni_name(server_name)``
per ClientHello and per handshake). For a plain name, one with a trailing dot, literal IPv4 and
IPv6 addresses (RFC 6066, Section 3: never sent) and none: the ClientHello's server_name
extension and the client's parameters, after a full handshake and after a resumption, are what
``sni_name`` makes of the name."""

from __future__ import annotations

import pytest

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ServerConfig, ServerConnection
from glasstls.config import Dangerous
from glasstls.enums import ExtensionType, NamedGroup
from glasstls.handshake.hello import sni_name
from glasstls.session.state import SessionState
from glasstls.wire.handshake import ClientHello, decode_message
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity

NAMES = ["localhost", "localhost.", "LocalHost", "127.0.0.1", "::1", None]


def _configs() -> tuple[ClientConfig, ServerConfig]:
    identity = server_identity("localhost")
    scfg = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),))
    ccfg = ClientConfig(
        trust_store=TrustStore.from_pem(default_ca().root_pem()),
        groups=(NamedGroup.x25519,),
        dangerous=Dangerous(skip_server_name_check=True),  # (the certificate names localhost only)
    )
    return ccfg, scfg


def _sent_server_name(first_flight: bytes) -> str | None:
    """The host name in the ClientHello at the head of ``first_flight`` (one plaintext record)."""
    hello = decode_message(first_flight[5:])
    assert isinstance(hello, ClientHello)
    ext = hello.ext(ExtensionType.server_name)
    return None if ext is None else ext.value


def _handshake(
    ccfg: ClientConfig, scfg: ServerConfig, name: str | None, session: SessionState | None
) -> tuple[ClientConnection, str | None]:
    client = ClientConnection(ccfg, server_name=name, session=session)
    server = ServerConnection(scfg)
    hello = client.data_to_send()
    sent = _sent_server_name(hello)
    server.receive_bytes(hello)
    for _ in range(4):
        client.receive_bytes(server.data_to_send())
        server.receive_bytes(client.data_to_send())
    assert client.handshake_complete and server.handshake_complete, (client.error, server.error)
    return client, sent


@pytest.mark.parametrize("name", NAMES)
def test_the_name_sent_and_reported_is_sni_name_s(name: str | None) -> None:
    ccfg, scfg = _configs()
    first, sent = _handshake(ccfg, scfg, name, None)
    assert first.parameters is not None and not first.parameters.resumed
    assert sent == first.parameters.server_name == sni_name(name)
    assert first.session is not None
    again, sent = _handshake(ccfg, scfg, name, first.session)
    assert again.parameters is not None and again.parameters.resumed
    assert sent == again.parameters.server_name == sni_name(name)
