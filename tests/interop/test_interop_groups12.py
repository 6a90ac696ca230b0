"""TLS 1.2 ECDHE over every group glasstls offers, checked from both sides:
`openssl s_client -tls1_2 -groups G` against a glasstls server."""

from __future__ import annotations

import socket
import subprocess
import threading

import pytest

import glasstls
from glasstls import CertifiedKey, ProtocolVersion, ServerConfig
from glasstls.enums import NamedGroup
from glasstls.x509.mint import ThrowawayCA

GROUPS = [
    ("x25519", "X25519", "X25519, 253 bits"),
    ("secp256r1", "P-256", "ECDH, prime256v1, 256 bits"),
    ("secp384r1", "P-384", "ECDH, secp384r1, 384 bits"),
    ("x448", "X448", "X448, 448 bits"),
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("groups12")
    ca = ThrowawayCA.create()
    ident = ca.issue_server(["localhost"], key_type="rsa2048")
    (d / "ca.pem").write_bytes(ca.root_pem())
    return d, CertifiedKey(ident.chain, ident.private_key)


@pytest.mark.interop
@pytest.mark.parametrize(("group", "openssl_name", "temp_key"), GROUPS)
def test_openssl_client_ecdhe_groups(setup, group, openssl_name, temp_key) -> None:
    d, key = setup
    # x448 is in no profile's groups (Mozilla lists x25519, P-256, P-384): named explicitly.
    groups = (NamedGroup[group],)
    config = ServerConfig(certificates=(key,), tls_max=ProtocolVersion.TLSv1_2, groups=groups)
    seen: dict = {}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(15)
        port = listener.getsockname()[1]

        def serve() -> None:
            sock, _ = listener.accept()
            sock.settimeout(15)
            with glasstls.accept(sock, config) as tls:
                seen["params"] = tls.parameters
                tls.sendall(tls.recv())

        thread = threading.Thread(target=serve)
        thread.start()
        proc = subprocess.run(
            [
                "openssl",
                "s_client",
                "-tls1_2",
                "-groups",
                openssl_name,
                "-connect",
                f"127.0.0.1:{port}",
                "-servername",
                "localhost",
                "-CAfile",
                str(d / "ca.pem"),
                "-verify_return_error",
                "-ign_eof",
            ],
            input=b"group test\n",
            capture_output=True,
            timeout=20,
        )
        thread.join(20)
    out = proc.stdout.decode()
    assert f"Server Temp Key: {temp_key}" in out, out + proc.stderr.decode()
    assert "group test" in out
    params = seen["params"]
    assert (params.version, params.group) == ("TLSv1.2", group)
    assert params.cipher_suite == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
