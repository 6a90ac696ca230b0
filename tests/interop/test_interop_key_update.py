"""TLS 1.3 KeyUpdate (RFC 8446, Section 4.6.3) with OpenSSL: the glasstls client
updates its keys asking the server to do the same; OpenSSL answers with its own
KeyUpdate, which glasstls receives, and data keeps flowing under the new keys both
ways. (OpenSSL 3.0's s_client sends its "K" command line as data when stdin is a
pipe, so the reverse direction is covered by this same exchange.)"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import subprocess
import threading

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


def _s_server(d) -> tuple[subprocess.Popen[str], int]:
    """``openssl s_server -rev`` for one TLS 1.3 connection, traced: the process and its port."""
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
    assert server.stdout is not None
    for _ in range(50):
        match = re.search(r"ACCEPT .*:(\d+)", server.stdout.readline())
        if match:
            return server, int(match.group(1))
    server.kill()
    raise AssertionError("s_server did not start")


@pytest.mark.interop
def test_glasstls_client_updates_keys_with_openssl_server(pki) -> None:
    d, ca, _ = pki
    server, port = _s_server(d)
    try:
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


@pytest.mark.interop
def test_python_ssls_answers_to_many_requests_are_not_a_key_update_flood(pki) -> None:
    """RFC 8446, Section 4.6.3: asked for a KeyUpdate, OpenSSL (here under Python's ssl, an echo
    server) answers each request with one. Those answers are owed, not charged to
    Limits.max_key_updates (32): asked 40 times over a few bytes, glasstls goes on (it cut the
    peer off at 32 before). (s_server -rev sleeps a second after each KeyUpdate: too slow here.)"""
    d, ca, _ = pki
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d / "server.pem", d / "server.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def echo() -> None:
        with contextlib.suppress(OSError), listener:
            raw, _ = listener.accept()
            raw.settimeout(TIMEOUT)
            with context.wrap_socket(raw, server_side=True) as tls:
                while data := tls.recv(1 << 16):
                    tls.sendall(data)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    config = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()))
    with glasstls.connect(
        "127.0.0.1", listener.getsockname()[1], config, server_name="localhost", timeout=TIMEOUT
    ) as tls:
        for i in range(40):
            tls.conn.update_keys(request_peer=True)
            tls.sendall(b"ping %d\n" % i)
            assert _read_line(tls) == b"ping %d\n" % i
        answers = [e for e in tls.events if e == KeyUpdated("read", requested_by_peer=False)]
        assert len(answers) == 40
    thread.join(TIMEOUT)
