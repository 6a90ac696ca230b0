"""glasstls.SSLContext keeps one config for all the connections it makes while its settings
stay the same (as OpenSSL's SSL objects share their SSL_CTX), and a setting changed between
two connections still reaches the second one. Every connection is a real handshake in memory
against the stdlib's ssl (OpenSSL) on the other side (test_compat_bio.Pair).

Loading the same CA or CRL file again (requests does it for every connection) adds nothing
and keeps the trust store, so the chains verified against it stay verified
(x509/verify_cache.py); as OpenSSL's X509_STORE, which holds each certificate and CRL once.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from glasstls.compat import SSLContext as GlassContext
from glasstls.x509.mint import ThrowawayCA
from revocation_helpers import crl, issuer_of
from test_compat_bio import Pair

TLS13, TLS12 = ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two roots, a localhost chain under each, and an empty CRL of the first root."""
    ca, other = ThrowawayCA.create(), ThrowawayCA.create(common_name="a second root")
    base = tmp_path_factory.mktemp("compat-reuse")
    paths = {name: base / f"{name}.pem" for name in ("ca", "other", "cert", "key", "other_cert", "other_key", "crl")}
    paths["ca"].write_bytes(ca.root_pem())
    paths["other"].write_bytes(other.root_pem())
    ca.issue_server(["localhost"]).write(paths["cert"], paths["key"])
    other.issue_server(["localhost"]).write(paths["other_cert"], paths["other_key"])
    paths["crl"].write_bytes(crl(issuer_of(ca)).public_bytes(serialization.Encoding.PEM))
    return paths


def stdlib_server(files: dict[str, Path], cert: str = "cert", alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files[cert]), str(files[cert.replace("cert", "key")]))
    if alpn:
        server.set_alpn_protocols(list(alpn))
    return server


def connect(client: Any, server: Any) -> Pair:
    pair = Pair(client, server)
    pair.handshake()
    return pair


def test_a_client_context_changed_between_connections(files: dict[str, Path]) -> None:
    client = GlassContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=str(files["ca"]))
    client.set_alpn_protocols(["h2"])
    server = stdlib_server(files, alpn=("h2", "http/1.1"))
    first = connect(client, server)
    assert (first.client.version(), first.client.selected_alpn_protocol()) == ("TLSv1.3", "h2")
    assert client.client_config() is client.client_config()  # nothing changed: the same config

    client.set_alpn_protocols(["http/1.1"])  # each setting alone: each must reach the next connection
    second = connect(client, server)
    assert (second.client.version(), second.client.selected_alpn_protocol()) == ("TLSv1.3", "http/1.1")
    client.maximum_version = TLS12
    assert connect(client, server).client.version() == "TLSv1.2"

    client.maximum_version = TLS13
    with pytest.raises(ssl.SSLError):  # a chain under a root not loaded yet
        connect(client, stdlib_server(files, "other_cert"))
    client.load_verify_locations(cafile=str(files["other"]))
    assert connect(client, stdlib_server(files, "other_cert")).client.version() == "TLSv1.3"

    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    unverified = Pair(client, stdlib_server(files, "other_cert"), hostname="not-the-name.example")
    unverified.handshake()
    assert unverified.client.getpeercert() == {}


def test_loading_the_same_files_again_keeps_the_trust_store(files: dict[str, Path]) -> None:
    client = GlassContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=str(files["ca"]))
    client.load_verify_locations(cafile=str(files["crl"]))
    stats = client.cert_store_stats()
    assert stats == {"x509": 1, "crl": 1, "x509_ca": 1}
    connect(client, stdlib_server(files))
    config = client.client_config()
    for _ in range(3):  # as requests, before each of its connections
        client.load_verify_locations(cafile=str(files["ca"]))
        client.load_verify_locations(cafile=str(files["crl"]))
        connect(client, stdlib_server(files))
    assert client.cert_store_stats() == stats
    assert client.client_config() is config
    assert config.crls and len(config.crls) == 1


def test_the_stdlib_keeps_each_crl_once_too(files: dict[str, Path]) -> None:
    """What the glasstls counts above are compared with: OpenSSL's store."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for _ in range(3):
        client.load_verify_locations(cafile=str(files["ca"]))
        client.load_verify_locations(cafile=str(files["crl"]))
    assert client.cert_store_stats() == {"x509": 1, "crl": 1, "x509_ca": 1}


def test_a_server_context_changed_between_connections(files: dict[str, Path]) -> None:
    server = GlassContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["cert"]), str(files["key"]))
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cafile=str(files["ca"]))
    first = connect(client, server)
    assert first.client.version() == "TLSv1.3"
    assert server.server_config() is server.server_config()

    server.load_cert_chain(str(files["other_cert"]), str(files["other_key"]))
    with pytest.raises(ssl.SSLError):  # the new chain is served: its root is not the client's
        connect(client, server)
    client.load_verify_locations(cafile=str(files["other"]))
    server.maximum_version = TLS12
    assert connect(client, server).client.version() == "TLSv1.2"
