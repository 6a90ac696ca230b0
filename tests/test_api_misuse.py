"""The library API misused: each mistake is refused when it is made, with an error that names it.

A value of the wrong type or form was accepted and failed later (at the first connection, deep in a
handshake as an AttributeError or an "internal error", or on the wire as a malformed ClientHello),
or was silently turned into something else (``alpn="h2"`` as the protocols "h" and "2", ``send(5)``
as five zero bytes). Found by a review of the sans-I/O API; Python's ``ssl`` refuses the same at
``wrap`` time.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ProtocolVersion, ServerConfig, ServerConnection
from glasstls.config import Dangerous
from glasstls.enums import NamedGroup
from glasstls.errors import ConfigError
from glasstls.limits import Limits
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity


def client_config(**kw: object) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **kw)  # type: ignore[arg-type]


def certified() -> CertifiedKey:
    identity = server_identity("localhost")
    return CertifiedKey(identity.chain, identity.private_key)


def connected() -> tuple[ClientConnection, ServerConnection]:
    client, server = ClientConnection(client_config(), "localhost"), ServerConnection(ServerConfig((certified(),)))
    for _ in range(4):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.handshake_complete and server.handshake_complete
    return client, server


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"alpn": "h2"}, r"alpn is a sequence of protocol names: alpn=\('h2',\), not alpn='h2'"),
        ({"alpn": (2,)}, r"an ALPN protocol name is a str, not int \(2\)"),
        ({"trust_store": "/etc/ssl/certs/ca-certificates.crt"}, r"ClientConfig.trust_store takes TrustStore \| None"),
        ({"limits": None}, "ClientConfig.limits takes Limits, not NoneType"),
        ({"dangerous": None}, "ClientConfig.dangerous takes Dangerous, not NoneType"),
        ({"certificates": "key"}, r"ClientConfig.certificates takes a sequence"),
        ({"record_size_limit": 1000.0}, r"ClientConfig.record_size_limit takes int \| None, not float"),
        ({"session_tickets": "no"}, "ClientConfig.session_tickets takes bool, not str"),
        ({"signature_schemes": ()}, "no signature schemes configured"),
        (
            {"groups": (NamedGroup.X25519MLKEM768,), "tls_max": ProtocolVersion.TLSv1_2},
            "TLS 1.2, the only version left, has no group to use: X25519MLKEM768 is for TLS 1.3 only",
        ),
    ],
)
def test_a_client_config_refuses_what_cannot_work(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ClientConfig(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"alpn": "http/1.1"}, r"alpn is a sequence of protocol names: alpn=\('http/1.1',\)"),
        ({"tls13_tickets": 2.5}, r"ServerConfig.tls13_tickets takes int, not float \(2.5\)"),
        ({"max_early_data_size": 1e6}, "ServerConfig.max_early_data_size takes int, not float"),
        ({"tls13_tickets": True}, "ServerConfig.tls13_tickets takes int, not bool"),
        ({"limits": None}, "ServerConfig.limits takes Limits, not NoneType"),
        ({"server_name_callback": 5}, "ServerConfig.server_name_callback takes a function or None, not int"),
    ],
)
def test_a_server_config_refuses_what_cannot_work(kw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServerConfig(certificates=(certified(),), **kw)  # type: ignore[arg-type]


def test_the_plain_values_still_pass() -> None:
    client_config(alpn=[b"h2", "http/1.1"], record_size_limit=None, limits=Limits(), dangerous=Dangerous())
    assert client_config(alpn=[b"h2"]).alpn == ("h2",)
    ServerConfig(certificates=[certified()], tls13_tickets=0, max_early_data_size=16384, alpn=["h2"])


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("", ConfigError, "server name '' is empty"),
        ("localhost\x00evil", ConfigError, "holds '\\\\x00'"),
        ("localhost:443", ConfigError, "ends in a port: the port goes elsewhere"),
        ("a" * 64 + ".example", ConfigError, "has a label of 64 characters: at most 63"),
        ("a..b", ConfigError, "has an empty label"),
        ("bücher.example", ConfigError, r"not ASCII: give it in its IDNA form \(xn--bcher-kva.example\)"),
        (b"localhost", TypeError, "server_name must be a str .*, not bytes"),
        (None, ConfigError, "no server_name: the server's certificate is checked against it"),
    ],
)
def test_a_server_name_that_cannot_be_one_is_refused_at_once(name: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        ClientConnection(client_config(), name)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["LOCALHOST", "localhost.", "127.0.0.1", "::1", "[::1]", "under_score.test"])
def test_the_names_a_host_has_are_taken(name: str) -> None:
    client = ClientConnection(client_config(), name)
    sni = client.offered_hello.ext(0)
    assert (sni is None) == (name.strip("[]") in ("127.0.0.1", "::1"))  # an IP literal is not sent (RFC 6066, 3)


def test_no_server_name_is_fine_when_no_name_is_checked() -> None:
    ClientConnection(client_config(dangerous=Dangerous(skip_server_name_check=True)))
    ClientConnection(ClientConfig(dangerous=Dangerous(skip_server_verification=True)))


def test_connections_take_their_own_config_and_a_session() -> None:
    server_config = ServerConfig(certificates=(certified(),))
    with pytest.raises(TypeError, match="a ClientConnection takes a ClientConfig, not ServerConfig"):
        ClientConnection(server_config, "localhost")
    with pytest.raises(TypeError, match="a ServerConnection takes a ServerConfig, not ClientConfig"):
        ServerConnection(client_config())
    with pytest.raises(TypeError, match="session must be a SessionState"):
        ClientConnection(client_config(), "localhost", session="saved")
    with pytest.raises(ValueError, match="clock must return aware datetimes"):
        ClientConnection(client_config(), "localhost", clock=datetime.now)  # (it failed mid-handshake)
    with pytest.raises(TypeError, match="clock must return a datetime, not float"):
        ServerConnection(server_config, clock=lambda: 1.0)


def test_send_and_receive_take_bytes_only() -> None:
    client, server = connected()
    for wrong in (5, None, "text", ["a"]):
        with pytest.raises(TypeError, match="send\\(\\) takes bytes"):
            client.send(wrong)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="receive_bytes\\(\\) takes bytes"):
            client.receive_bytes(wrong)  # type: ignore[arg-type]
    fresh = ClientConnection(client_config(), "localhost")
    with pytest.raises(TypeError, match="send\\(\\) takes bytes"):
        fresh.send(5)  # type: ignore[arg-type]  # (before the handshake it became five zero bytes)
    client.send(bytearray(b"ba"))
    client.send(memoryview(b"mv"))
    events = server.receive_bytes(client.data_to_send())
    assert b"".join(e.data for e in events) == b"bamv"  # type: ignore[attr-defined]


def test_exporter_arguments_are_checked() -> None:
    client, _ = connected()
    with pytest.raises(ValueError, match=r"exporter length 1\.5 is not a whole number in 1\.\.8160"):
        client.export_keying_material("EXPORTER-x", None, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"exporter label of 300 bytes: TLS 1\.3 takes at most 249"):
        client.export_keying_material(b"x" * 300)
    with pytest.raises(TypeError, match="the exporter's label is a str or bytes"):
        client.export_keying_material(None)  # type: ignore[arg-type]
    assert len(client.export_keying_material(b"x" * 249)) == 32


@pytest.mark.parametrize("version", [ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3])
def test_a_non_ascii_alpn_name_is_negotiated_as_it_was_given(version: ProtocolVersion) -> None:
    """RFC 7301 names are bytes; one given as a str goes UTF-8 encoded, and the client read the server's
    choice back as ASCII: it reported 'h\\ufffd\\ufffd' for 'hé'."""
    client = ClientConnection(client_config(alpn=("hé", "h2"), tls_max=version), "localhost")
    server = ServerConnection(ServerConfig(certificates=(certified(),), alpn=("hé",)))
    for _ in range(4):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.parameters is not None and server.parameters is not None
    assert client.parameters.alpn == server.parameters.alpn == "hé"
