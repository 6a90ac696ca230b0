"""The client's first ClientHello, field by field (issue 15: hello.py makes it positionally, as a
class called with keywords gets them as a dict, some 1,000 instructions a keyword). For TLS 1.3
alone and TLS 1.2 with 1.3, with and without middlebox compatibility and with a TLS 1.3 ticket:
the hello on the wire has legacy_version 0x0303, the null compression method only, the suites
the configuration offers, its random and legacy_session_id drawn from the connection's
randomness in that order (the session id first), and the connection's client random is it."""

from __future__ import annotations

import pytest

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ServerConfig, ServerConnection
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import CipherSuite, ExtensionType, NamedGroup, ProtocolVersion
from glasstls.wire.handshake import ClientHello, decode_message
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity


class _Draws:
    """Randomness that hands out distinct bytes on each call and remembers them in order."""

    def __init__(self) -> None:
        self.made: list[bytes] = []

    def __call__(self, n: int) -> bytes:
        value = bytes((len(self.made) * 7 + i) % 256 for i in range(n))
        self.made.append(value)
        return value


def _config(tls_min: ProtocolVersion, compat: bool) -> ClientConfig:
    return ClientConfig(
        trust_store=TrustStore.from_pem(default_ca().root_pem()),
        groups=(NamedGroup.x25519,),
        tls_min=tls_min,
        middlebox_compat=compat,
    )


def _ticket(ccfg: ClientConfig) -> object:
    identity = server_identity("localhost")
    server = ServerConnection(ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),)))
    client = ClientConnection(ccfg, server_name="localhost")
    for _ in range(4):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.handshake_complete and client.session is not None, client.error
    return client.session


@pytest.mark.parametrize("resumed", [False, True], ids=["fresh", "ticket"])
@pytest.mark.parametrize("compat", [True, False], ids=["compat", "no-compat"])
@pytest.mark.parametrize("tls_min", [ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2], ids=["1.3", "1.2-1.3"])
def test_the_first_client_hello_field_by_field(tls_min: ProtocolVersion, compat: bool, resumed: bool) -> None:
    ccfg = _config(tls_min, compat)
    session = _ticket(ccfg) if resumed else None
    draws = _Draws()
    client = ClientConnection(ccfg, server_name="localhost", session=session, randomness=draws)  # type: ignore[arg-type]
    flight = client.data_to_send()
    hello = decode_message(flight[5 : 5 + int.from_bytes(flight[3:5], "big")])
    assert isinstance(hello, ClientHello)
    assert hello.legacy_version == ProtocolVersion.TLSv1_2
    assert hello.compression_methods == (0,)
    offered = tuple(s for s in ccfg.cipher_suites if tls_min == ProtocolVersion.TLSv1_2 or s in TLS13_SUITES)
    assert hello.cipher_suites == offered and all(isinstance(s, CipherSuite) for s in hello.cipher_suites)
    at = draws.made.index(hello.random)
    assert len(hello.random) == 32 and client.client_random == hello.random
    if compat:
        assert len(hello.legacy_session_id) == 32 and draws.made[at - 1] == hello.legacy_session_id
    else:
        assert hello.legacy_session_id == b""
    assert hello.extensions[0].type == ExtensionType.server_name and hello.extensions[0].value == "localhost"
    assert (hello.extensions[-1].type == ExtensionType.pre_shared_key) is resumed
