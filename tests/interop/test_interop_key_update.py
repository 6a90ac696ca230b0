"""TLS 1.3 KeyUpdate (RFC 8446, Section 4.6.3) with OpenSSL: the glasstls client
updates its keys asking the server to do the same; OpenSSL answers with its own
KeyUpdate, which glasstls receives, and data keeps flowing under the new keys both
ways. (OpenSSL 3.0's s_client sends its "K" command line as data when stdin is a
pipe, so the reverse direction is covered by this same exchange.)"""

from __future__ import annotations

import re
import subprocess

import pytest

import glasstls
from glasstls import CertifiedKey, ClientConfig, KeyUpdated
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore

TIMEOUT = 15


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("keyupdate")
    ca = ThrowawayCA.create()
    ident = ca.issue_server(["localhost"])
    ident.write(d / "server.pem", d / "server.key")
    (d / "ca.pem").write_bytes(ca.root_pem())
    return d, ca, CertifiedKey(ident.chain, ident.private_key)


def _read_line(tls: glasstls.TLSSocket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = tls.recv()
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.interop
def test_glasstls_client_updates_keys_with_openssl_server(pki) -> None:
    d, ca, _ = pki
    server = subprocess.Popen(
        [
            "openssl",
            "s_server",
            "-tls1_3",
            "-accept",
            "127.0.0.1:0",
            "-naccept",
            "1",
            "-rev",
            "-trace",
            "-cert",
            str(d / "server.pem"),
            "-cert_chain",
            str(d / "server.pem"),
            "-key",
            str(d / "server.key"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = None
        for _ in range(50):
            match = re.search(r"ACCEPT .*:(\d+)", server.stdout.readline())
            if match:
                port = int(match.group(1))
                break
        assert port, "s_server did not start"
        config = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()))
        with glasstls.connect("127.0.0.1", port, config, server_name="localhost", timeout=TIMEOUT) as tls:
            tls.sendall(b"before\n")
            assert _read_line(tls) == b"erofeb\n"
            tls.conn.update_keys(request_peer=True)
            tls.sendall(b"after\n")
            assert _read_line(tls) == b"retfa\n"
            # OpenSSL answered the update_requested with a KeyUpdate of its own.
            assert KeyUpdated("read", requested_by_peer=False) in tls.events
        # close_notify ends s_server's one connection; it exits and flushes its trace.
        trace = server.communicate(timeout=TIMEOUT)[0]
    finally:
        server.kill()
    assert trace.count("KeyUpdate") >= 2, trace[-2000:]
