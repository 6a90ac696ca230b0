"""Client certificates through glasstls.compat: in the handshake (``verify_mode`` on a server
context, ``load_cert_chain`` on a client's) and after it (TLS 1.3 post-handshake auth), each
case with glasstls on one side and the stdlib's OpenSSL on the other, as test_compat_bio."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from glasstls.compat import SSLContext as GlassContext
from glasstls.x509.mint import ThrowawayCA
from test_compat_bio import MAX_ROUNDS, VERSIONS, Pair, contexts

SIDES = [(GlassContext, ssl.SSLContext), (ssl.SSLContext, GlassContext)]
SIDE_IDS = ["glass-client", "glass-server"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    ca = ThrowawayCA.create()
    base = tmp_path_factory.mktemp("compat-client-auth")
    paths = {name: base / f"{name}.pem" for name in ("ca", "cert", "key", "client_cert", "client_key")}
    paths["ca"].write_bytes(ca.root_pem())
    ca.issue_server(["localhost"]).write(paths["cert"], paths["key"])
    ca.issue_client("alice").write(paths["client_cert"], paths["client_key"])
    return paths


def _contexts(files: dict[str, Path], client_kind: type, server_kind: type, version: ssl.TLSVersion,
              *, with_cert: bool = True) -> tuple[Any, Any]:  # fmt: skip
    client, _ = contexts(client_kind, files, version)
    _, server = contexts(server_kind, files, version)
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(cafile=str(files["ca"]))
    if with_cert:
        client.load_cert_chain(str(files["client_cert"]), str(files["client_key"]))
    return client, server


def _subject(cert: dict[str, Any]) -> str:
    return dict(pair for rdn in cert["subject"] for pair in rdn)["commonName"]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize(("client_kind", "server_kind"), SIDES, ids=SIDE_IDS)
def test_client_certificate_in_the_handshake(files: dict[str, Path], version: ssl.TLSVersion, client_kind: type,
                                             server_kind: type) -> None:  # fmt: skip
    client, server = _contexts(files, client_kind, server_kind, version)
    pair = Pair(client, server)
    pair.handshake()
    assert _subject(pair.server.getpeercert()) == "alice"
    assert len(pair.server.getpeercert(binary_form=True)) > 100


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize(("client_kind", "server_kind"), SIDES, ids=SIDE_IDS)
def test_no_client_certificate_refused(files: dict[str, Path], version: ssl.TLSVersion, client_kind: type,
                                       server_kind: type) -> None:  # fmt: skip
    """The server fails the handshake; the client learns it from the alert (in TLS 1.3 after
    its own handshake ended, on the next read)."""
    client, server = _contexts(files, client_kind, server_kind, version, with_cert=False)
    pair = Pair(client, server)
    server_error = client_error = None
    for _ in range(MAX_ROUNDS):
        for obj in (pair.client, pair.server):
            try:
                obj.do_handshake()
                obj.read(1)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:
                if obj is pair.server:
                    server_error = server_error or exc
                else:
                    client_error = client_error or exc
        pair.move()
        if server_error and client_error:
            break
    assert server_error is not None and client_error is not None
    expected = {"TLSv1_3": "TLSV13_ALERT_CERTIFICATE_REQUIRED", "TLSv1_2": "SSLV3_ALERT_HANDSHAKE_FAILURE"}
    assert client_error.reason == expected[version.name]
    # The server's own error says what OpenSSL's does, in both versions (it said NO_SHARED_CIPHER in TLS 1.2,
    # from the handshake_failure alert alone, and CERTIFICATE_REQUIRED in TLS 1.3).
    assert server_error.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE", server_error


@pytest.mark.parametrize(("client_kind", "server_kind"), SIDES, ids=SIDE_IDS)
def test_post_handshake_authentication(files: dict[str, Path], client_kind: type, server_kind: type) -> None:
    """TLS 1.3 (RFC 8446, Section 4.6.2): the server asks once the connection is up; the
    certificate arrives with the client's next flight."""
    client, server = _contexts(files, client_kind, server_kind, ssl.TLSVersion.TLSv1_3)
    client.post_handshake_auth = server.post_handshake_auth = True
    pair = Pair(client, server)
    pair.handshake()
    assert pair.server.getpeercert() is None  # not asked for in the handshake
    pair.server.verify_client_post_handshake()
    pair.server.write(b"who are you?")
    pair.move()
    assert pair.client.read(64) == b"who are you?"  # answering the request on the way
    pair.client.write(b"alice")
    pair.move()
    assert pair.server.read(64) == b"alice"
    assert _subject(pair.server.getpeercert()) == "alice"
