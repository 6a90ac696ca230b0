"""Ed25519 client certificates (RFC 8446, Section 4.2.3; RFC 8410) against OpenSSL, both ways.

cryptography's client verifier takes RSA and ECDSA keys only, so a glasstls server refused every
Ed25519 client chain ("not verified by glasstls yet"), which OpenSSL's s_client presents and
OpenSSL's s_server accepts, once an Ed25519 CA had signed it (cryptography verifies no EdDSA
signature). Such a chain now takes glasstls's own RFC 5280 path (x509/own_path.py) under the client
rules. Here ``openssl s_client -cert`` (an Ed25519 leaf under an Ed25519 root and intermediate)
authenticates to a glasstls server that requires a client certificate, and a glasstls client with
the same identity authenticates to ``openssl s_server -Verify 1``, which checks it against that CA.
"""

from __future__ import annotations

import pytest
from interop_peers import (
    OpenSSLServer,
    ServerThread,
    glasstls_line_server,
    glasstls_line_through,
    reverse_line,
    run_s_client,
    split_pem_chain,
)

from glasstls import CertifiedKey, ClientConfig, ProtocolVersion, ServerConfig
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


def _server_config(pki, client_ca: bytes) -> ServerConfig:
    server = pki.identities["ecdsa-p256"]
    return ServerConfig(
        certificates=(CertifiedKey(server.chain, server.private_key),),
        client_auth="required",
        client_trust_store=TrustStore.from_pem(client_ca),
    )


def _s_client_args(port: int, pki, identity, tmp_path) -> list[str]:
    """s_client presenting ``identity``: its leaf (-cert), its intermediates (-cert_chain), its key."""
    leaf, intermediates = split_pem_chain(identity.chain_pem())
    (tmp_path / "client.pem").write_bytes(leaf)
    (tmp_path / "chain.pem").write_bytes(intermediates)
    identity.write(tmp_path / "unused.pem", tmp_path / "client.key")
    return ["-connect", f"127.0.0.1:{port}", "-tls1_3", "-CAfile", str(pki.root_file),
            "-cert", str(tmp_path / "client.pem"), "-cert_chain", str(tmp_path / "chain.pem"),
            "-key", str(tmp_path / "client.key"), "-ign_eof"]  # fmt: skip


@pytest.fixture(scope="module")
def ed25519_ca() -> ThrowawayCA:
    return ThrowawayCA.create("ed25519 client root", key_type="ed25519")  # (a root and an intermediate)


def test_an_ed25519_client_certificate_from_s_client_is_verified(pki, tmp_path, ed25519_ca):
    client = ed25519_ca.issue_client("ed25519 client", key_type="ed25519")
    with ServerThread(glasstls_line_server(_server_config(pki, ed25519_ca.root_pem()))) as server:
        args = _s_client_args(server.port, pki, client, tmp_path)
        run_s_client(args, b"signed with ed25519\n")
        params, line = server.result()
    assert line == b"signed with ed25519\n"
    assert params.client_auth and params.peer_certificate_subject == "CN=ed25519 client"


def test_an_ed25519_client_chain_under_another_ca_is_unknown_ca(pki, tmp_path, ed25519_ca):
    other = ThrowawayCA.create("other client root", key_type="ed25519")
    client = other.issue_client("stranger", key_type="ed25519")
    with ServerThread(glasstls_line_server(_server_config(pki, ed25519_ca.root_pem()))) as server:
        args = _s_client_args(server.port, pki, client, tmp_path)
        answer = run_s_client(args, b"x\n")
        with pytest.raises(Exception) as info:
            server.result()
    assert "unknown_ca" in repr(info.value) or "not trusted" in str(info.value), info.value
    assert "unknown ca" in answer.stdout + answer.stderr


def test_a_glasstls_client_authenticates_with_ed25519_to_s_server(pki, tmp_path, ed25519_ca):
    identity = ed25519_ca.issue_client("ed25519 client", key_type="ed25519")
    (tmp_path / "client-root.pem").write_bytes(ed25519_ca.root_pem())
    config = ClientConfig(
        trust_store=pki.trust_store(),
        tls_min=ProtocolVersion.TLSv1_3,
        certificate=CertifiedKey(identity.chain, identity.private_key),
    )
    args = ("-Verify", "1", "-CAfile", str(tmp_path / "client-root.pem"), "-verify_return_error")
    with OpenSSLServer(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", *args, protocol="-tls1_3") as server:
        params, answer = glasstls_line_through(server, config, b"ed25519 line\n")
        server.wait_exit()
        output = server.output
    assert answer == reverse_line(b"ed25519 line\n")
    assert params is not None and params.client_auth
    assert "CN=ed25519 client" in output or "CN = ed25519 client" in output, output
