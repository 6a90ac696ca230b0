"""TLS 1.3 0-RTT with the OpenSSL command line, both directions (RFC 8446, Sections 2.3,
4.2.10 and 8).

* ``openssl s_client -tls1_3 -sess_out F``, then ``-sess_in F -early_data FILE`` twice
  against a glasstls server with ``max_early_data_size``: the first resumption's early
  data is accepted (s_client: "Early data was accepted", glasstls: an ``EarlyData``
  event with the file's bytes); the second use of the same ticket is refused for early
  data (single-use tickets, Section 8.1): "Early data was rejected", and the handshake
  still completes.
* The glasstls client, with a ticket from a first connection, sends early data to
  ``openssl s_server -tls1_3 -early_data``, which prints it; ``early_data_accepted``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from interop_peers import run_s_client
from test_resumption13_openssl import SServer13
from test_resumption_openssl import SequentialServer

from glasstls import (
    ApplicationData,
    ClientConfig,
    ClientConnection,
    EarlyData,
    HandshakeComplete,
    NegotiatedParameters,
    ServerConfig,
    ServerConnection,
)
from glasstls.connection import Connection
from glasstls.events import Event
from glasstls.observe import EventList, VerificationTrace
from glasstls.session.state import SessionState
from glasstls.x509.store import TrustStore

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]

EARLY = b"early bytes, sent in the first flight\n"
Result = tuple[NegotiatedParameters, bytes, list[str]]


def _pump(sock: socket.socket, conn: Connection, done: Callable[[list[Event]], bool]) -> list[Event]:
    """Exchange bytes until ``done(all events so far)``; returns the events."""
    events: list[Event] = []
    sock.sendall(conn.data_to_send())
    while not done(events):
        data = sock.recv(65536)
        if not data:
            break
        events += conn.receive_bytes(data)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if conn.error is not None:
            raise AssertionError(conn.error)
    return events


def serve_once(config: ServerConfig) -> Callable[[socket.socket], Result]:
    """Handshake, echo the first line of 1-RTT data, close; the parameters, the early data
    received and the server's 0-RTT trace lines."""

    def handle(sock: socket.socket) -> Result:
        log = EventList()
        conn = ServerConnection(config, observer=log)

        def line_arrived(events: list[Event]) -> bool:
            return b"\n" in b"".join(e.data for e in events if isinstance(e, ApplicationData))

        events = _pump(sock, conn, line_arrived)
        line = b"".join(e.data for e in events if isinstance(e, ApplicationData))
        conn.send(line)
        conn.close()
        sock.sendall(conn.data_to_send())
        assert conn.parameters is not None
        early = b"".join(e.data for e in events if isinstance(e, EarlyData))
        complete = next(i for i, e in enumerate(events) if isinstance(e, HandshakeComplete))
        assert all(i < complete for i, e in enumerate(events) if isinstance(e, EarlyData))  # before it
        checks = [e.detail for e in log.events if isinstance(e, VerificationTrace) and e.subject == "0-RTT"]
        return conn.parameters, early, checks

    return handle


def test_openssl_s_client_early_data_with_glasstls_server(pki, tmp_path: Path) -> None:
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), max_early_data_size=16384)
    session_file = tmp_path / "openssl.session"
    early_file = tmp_path / "early.txt"
    early_file.write_bytes(EARLY)
    runs = 3  # a new session, then early data twice with the same ticket
    with SequentialServer(runs, serve_once(config)) as server:
        outputs = []
        for i in range(runs):
            stored = ("-sess_out", str(session_file)) if i == 0 else ("-sess_in", str(session_file))
            early = ("-early_data", str(early_file)) if i else ()
            client = run_s_client(
                [
                    "-tls1_3", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                    "-CAfile", str(pki.root_file), "-verify_return_error", "-ign_eof", *stored, *early,
                ],
                stdin=f"connection {i}\n".encode(),
            )  # fmt: skip
            assert client.returncode == 0, client.stdout + client.stderr
            outputs.append(client.stdout)
        results = server.results()

    assert "Early data was accepted" in outputs[1], outputs[1]
    assert "Early data was rejected" in outputs[2], outputs[2]
    for i, out in enumerate(outputs):
        assert f"connection {i}\n" in out, out  # the handshake completed and the echo came back
    params = [p for p, _, _ in results]
    assert [p.resumed for p in params] == [False, True, True]
    assert [p.early_data_accepted for p in params] == [None, True, False]
    assert [early for _, early, _ in results] == [b"", EARLY, b""]
    assert any("single use" in c for c in results[2][2]), results[2][2]


def _glasstls_connection(
    port: int, root: Path, session: SessionState | None, early: bytes | None
) -> tuple[NegotiatedParameters, SessionState]:
    config = ClientConfig(trust_store=TrustStore.from_pem(root.read_bytes()))
    conn = ClientConnection(config, "localhost", session=session, early_data=early)
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        _pump(sock, conn, lambda events: any(isinstance(e, HandshakeComplete) for e in events))
        # Wait for the tickets that follow the handshake (s_server sends them with its first write).
        conn.send(b"1-RTT line\n")
        sock.sendall(conn.data_to_send())
        sock.settimeout(1.0)
        try:
            while conn.session is None or (session is not None and conn.session is session):
                data = sock.recv(65536)
                if not data:
                    break
                conn.receive_bytes(data)
        except TimeoutError:
            pass
        conn.close()
        sock.sendall(conn.data_to_send())
    assert conn.parameters is not None
    assert conn.session is not None
    return conn.parameters, conn.session


def test_glasstls_client_early_data_with_openssl_s_server(pki, tmp_path: Path) -> None:
    trace = tmp_path / "s_server.trace"
    with SServer13(pki.files["ecdsa-p256"], trace, 2, "-early_data") as server:
        first, session = _glasstls_connection(server.port, pki.root_file, None, None)
        assert first.early_data_accepted is None
        assert session.max_early_data > 0  # s_server -early_data announces it in its tickets
        second, _ = _glasstls_connection(server.port, pki.root_file, session, EARLY)
        output = server.wait_exit()
    assert second.resumed and second.early_data_accepted is True
    assert EARLY.decode().strip() in output, output  # s_server prints the early data it read
