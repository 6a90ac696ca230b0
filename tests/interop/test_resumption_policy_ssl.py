"""A session is resumed only under the policy that would accept a full handshake, against OpenSSL.

The server is Python's ``ssl`` (OpenSSL 3.0), which resumes any ticket it issued. A glasstls client that
skipped verification keeps a session from it; a glasstls client that verifies, given that session, must
not offer it: a resumption shows no certificate, so the untrusted server would pass for a verified one.
It makes a full handshake instead, which fails on the certificate. The control resumes with the same
session under the configuration that made it, so the server does resume that ticket.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import glasstls
from glasstls.config import Dangerous
from glasstls.errors import AlertError
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore

WAIT = 10.0


@contextlib.contextmanager
def ssl_server(tmp_path: Path, connections: int) -> Iterator[int]:
    """An OpenSSL TLS 1.3 server (Python's ssl) with a certificate of a CA the verifying client does not
    trust; it says hello after each handshake (so the tickets reach the client) and serves ``connections``."""
    identity = ThrowawayCA.create("untrusted root").issue_server(["localhost"])
    identity.write(tmp_path / "s.pem", tmp_path / "s.key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(str(tmp_path / "s.pem"), str(tmp_path / "s.key"))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)

    def serve() -> None:
        for _ in range(connections):
            with contextlib.suppress(OSError, ssl.SSLError):
                sock, _ = listener.accept()
                sock.settimeout(WAIT)
                with context.wrap_socket(sock, server_side=True) as tls:
                    tls.sendall(b"hello\n")
                    tls.recv(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(WAIT)


def test_a_session_from_an_unverified_handshake_is_not_resumed_by_a_client_that_verifies(tmp_path: Path) -> None:
    insecure = glasstls.ClientConfig(dangerous=Dangerous(skip_server_verification=True))
    strict = glasstls.ClientConfig(trust_store=TrustStore.from_pem(ThrowawayCA.create().root_pem()))
    with ssl_server(tmp_path, connections=3) as port:
        with glasstls.connect("127.0.0.1", port, insecure, server_name="localhost", timeout=WAIT) as first:
            assert first.recv(10) == b"hello\n"  # (the tickets came before it)
            session = first.conn.session
        assert session is not None and session.ticket
        with glasstls.connect(
            "127.0.0.1", port, insecure, server_name="localhost", timeout=WAIT, session=session
        ) as again:
            assert again.conn.parameters is not None and again.conn.parameters.resumed  # OpenSSL resumes it
        with pytest.raises(AlertError, match="is not trusted"):  # a full handshake: the certificate is checked
            glasstls.connect("127.0.0.1", port, strict, server_name="localhost", timeout=WAIT, session=session)
