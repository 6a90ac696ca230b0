"""TLS 1.2 session resumption with the OpenSSL command line, both directions.

* glasstls server ← ``openssl s_client -tls1_2 -sess_out FILE``, then ``-sess_in
  FILE``: OpenSSL prints ``Reused, TLSv1.2, Cipher is ...`` for the second
  connection and glasstls reports ``parameters.resumed``. One ServerConfig (so one
  session cache and one set of ticket keys) serves the connections one after
  another, as ``glasstls server`` does.
* glasstls client (the CLI: ``glasstls client --session-out F --json``, then
  ``--session-in F``) → ``openssl s_server -tls1_2 -naccept 2``: the JSON summary
  says ``"resumed": true``, and OpenSSL agrees twice: its session statistics,
  printed when it leaves, count ``1 session cache hits``, and its ``-trace`` of
  the second handshake has no Certificate (the abbreviated handshake of
  RFC 5246, Section 7.3).

Each direction runs with session tickets (RFC 5077) and with session IDs only
(``-no_ticket`` on the OpenSSL side, or a glasstls server without tickets).
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from interop_peers import OPENSSL, WAIT, OpenSSLServer, read_line, run_s_client, trace_fatal_alerts

import glasstls
from glasstls import NegotiatedParameters, ServerConfig
from glasstls.observe import EventList, VerificationTrace

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]

GLASSTLS = [sys.executable, "-m", "glasstls"]


# -- a glasstls server for several connections in a row -------------------------------------


class SequentialServer:
    """Listen on 127.0.0.1:0; one thread accepts ``count`` connections one after another
    and runs ``handler(sock)`` on each. ``results()`` returns what each returned, or raises
    what the first failing one raised."""

    def __init__(self, count: int, handler: Callable[[socket.socket], Any]) -> None:
        self._count = count
        self._handler = handler
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(WAIT)
        self.port = self._listener.getsockname()[1]
        self._results: list[Any] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="glasstls server", daemon=True)

    def __enter__(self) -> SequentialServer:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for _ in range(self._count):
                sock, _ = self._listener.accept()
                with sock:
                    sock.settimeout(WAIT)
                    self._results.append(self._handler(sock))
        except BaseException as exc:
            self._error = exc

    def results(self, timeout: float = WAIT) -> list[Any]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the server thread did not finish within {timeout} s")
        if self._error is not None:
            raise self._error
        return self._results

    def __exit__(self, *exc: Any) -> None:
        self._listener.close()
        self._thread.join(WAIT)


def echo_once(config: ServerConfig) -> Callable[[socket.socket], tuple[NegotiatedParameters, list[tuple[str, str]]]]:
    """Handshake, echo one line, close; returns the parameters and the server's session checks."""

    def handle(sock: socket.socket) -> tuple[NegotiatedParameters, list[tuple[str, str]]]:
        events = EventList()
        tls = glasstls.accept(sock, config, observer=events)
        try:
            tls.sendall(read_line(tls.recv))
        finally:
            tls.close()
        assert tls.parameters is not None
        checks = [
            (e.subject, e.detail)
            for e in events.events
            if isinstance(e, VerificationTrace) and e.subject in ("session ticket", "session ID", "session")
        ]
        return tls.parameters, checks

    return handle


# -- openssl s_client → glasstls server -------------------------------------------------------

# (s_client options, glasstls server issues tickets, how the server finds the session)
S_CLIENT_MODES = {
    "ticket": ((), True, ("session ticket", "ticket accepted (memory)")),
    "session-id-no_ticket": (("-no_ticket",), True, ("session ID", "found in the session cache (memory)")),
    "session-id-server-without-tickets": ((), False, ("session ID", "found in the session cache (memory)")),
}


@pytest.mark.parametrize("mode", S_CLIENT_MODES, ids=list(S_CLIENT_MODES))
def test_openssl_s_client_resumes_with_glasstls_server(pki, tmp_path: Path, mode: str) -> None:
    options, tickets, found = S_CLIENT_MODES[mode]
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), session_tickets=tickets)
    session_file = tmp_path / "openssl.session"
    runs = 3  # a new session, then two resumptions of it
    with SequentialServer(runs, echo_once(config)) as server:
        outputs = []
        for i in range(runs):
            stored = ("-sess_out", str(session_file)) if i == 0 else ("-sess_in", str(session_file))
            client = run_s_client(
                [
                    "-tls1_2", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                    "-CAfile", str(pki.root_file), "-verify_return_error", "-ign_eof", *stored, *options,
                ],
                stdin=f"connection {i}\n".encode(),
            )  # fmt: skip
            assert client.returncode == 0, client.stdout + client.stderr
            outputs.append(client.stdout)
        results = server.results()

    # OpenSSL's view
    suite = "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert f"New, TLSv1.2, Cipher is {suite}" in outputs[0], outputs[0]
    for out in outputs[1:]:
        assert f"Reused, TLSv1.2, Cipher is {suite}" in out, out
    for i, out in enumerate(outputs):
        assert f"connection {i}\n" in out, out  # the echo came back
    has_ticket = [bool(re.search(r"TLS session ticket:\n", out)) for out in outputs]
    assert has_ticket == [tickets and not options] * runs
    # glasstls's view, from the same ServerConfig throughout
    params = [p for p, _ in results]
    assert [p.resumed for p in params] == [False, True, True]
    assert {(p.version, p.cipher_suite) for p in params} == {("TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")}
    assert all(p.extended_master_secret for p in params)
    for _, checks in results[1:]:
        assert checks == [found], checks


# OpenSSL 3's SSL_OP_NO_EXTENDED_MASTER_SECRET (Python's ssl has no name for it, but passes the bit on).
_NO_EMS = 0x1


@pytest.mark.parametrize("tickets", [True, False], ids=["ticket", "session-id"])
@pytest.mark.parametrize("ems", [False, True], ids=["without-ems", "with-ems"])
def test_a_python_ssl_client_without_ems_gets_a_full_handshake_instead_of_a_resumption(
    pki, tickets: bool, ems: bool
) -> None:
    """RFC 7627, Section 5.3: a session made without the extended master secret, offered by a hello
    without it, is the triple handshake's way in; glasstls makes a full handshake (OpenSSL's own
    server resumes it). The control, with EMS, resumes."""
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), session_tickets=tickets)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=str(pki.root_file))
    if not ems:
        context.options |= _NO_EMS
    reused = []
    with SequentialServer(2, echo_once(config)) as server:
        session = None
        for i in range(2):
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
            with context.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
                tls.sendall(b"line %d\n" % i)
                assert read_line(tls.recv) == b"line %d\n" % i
                session = tls.session
                reused.append(tls.session_reused)
        (first, _), (second, checks) = server.results()
    assert first.extended_master_secret is ems and not first.resumed
    assert reused[1] is ems and second.resumed is ems, (reused, checks)
    refused = ("session", "saved session made without the extended master secret: not resumed")
    assert (refused in checks) is not ems, checks


# -- glasstls client (CLI) → openssl s_server ----------------------------------------------------


class SServer12(OpenSSLServer):
    """``openssl s_server -tls1_2 -rev`` for ``naccept`` connections (stdin kept open), traced."""

    def __init__(self, files: Any, trace_path: Path, naccept: int, *args: str) -> None:
        super().__init__(files, trace_path)
        self.command = [
            OPENSSL, "s_server", "-tls1_2", "-accept", "127.0.0.1:0", "-naccept", str(naccept), "-rev",
            "-cert", str(files.leaf), "-cert_chain", str(files.intermediates), "-key", str(files.key),
            "-trace", "-msgfile", str(trace_path), *args,
        ]  # fmt: skip


def glasstls_client(port: int, root: Path, line: bytes, *args: str) -> tuple[dict, bytes]:
    """``glasstls client`` with ``args``; returns its JSON summary and what it printed on stdout."""
    proc = subprocess.run(
        [
            *GLASSTLS, "client", f"127.0.0.1:{port}", "--cacert", str(root), "--servername", "localhost",
            "--json", "--linger", "0.5", *args,
        ],
        input=line,
        capture_output=True,
        timeout=WAIT * 2,
        check=False,
    )  # fmt: skip
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, stderr
    return json.loads(stderr.strip().splitlines()[-1]), proc.stdout


def test_glasstls_cli_offers_a_tls12_session_only_to_its_server_name(pki, tmp_path: Path) -> None:
    """A session made for localhost, offered to s_server under another name, would resume there (OpenSSL
    resumes it: it does not check names): the new name would go unverified, as a resumption shows no
    certificate. The client does not offer it (RFC 6066, Section 3; Go and rustls alike), so the full
    handshake's certificate check refuses the name this certificate does not cover."""
    session_file = tmp_path / "glasstls.session"
    with SServer12(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", 2) as server:
        glasstls_client(server.port, pki.root_file, b"first\n", "--session-out", str(session_file))
        proc = subprocess.run(
            [
                *GLASSTLS, "client", f"127.0.0.1:{server.port}", "--cacert", str(pki.root_file),
                "--servername", "evil.test", "--session-in", str(session_file), "--json",
            ],
            input=b"second\n", capture_output=True, timeout=WAIT * 2, check=False,
        )  # fmt: skip
        server.wait_exit()
        trace = server.trace
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode != 0, stderr
    assert "not evil.test" in stderr, stderr
    assert handshake_messages(trace).count("Certificate") == 2, trace  # two full handshakes


def handshake_messages(trace: str) -> list[str]:
    """The handshake messages in an OpenSSL ``-trace`` log, in order (``ClientHello``, ``Certificate``, ...)."""
    return re.findall(r"^\s+(\w+), Length=\d+$", trace, re.MULTILINE)


@pytest.mark.parametrize("no_ticket", [False, True], ids=["ticket", "session-id"])
def test_glasstls_cli_resumes_with_openssl_s_server(pki, tmp_path: Path, no_ticket: bool) -> None:
    session_file = tmp_path / "glasstls.session"
    options = ("-no_ticket",) if no_ticket else ()
    with SServer12(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", 2, *options) as server:
        first, out1 = glasstls_client(server.port, pki.root_file, b"first line\n", "--session-out", str(session_file))
        assert session_file.exists()
        second, out2 = glasstls_client(server.port, pki.root_file, b"second line\n", "--session-in", str(session_file))
        output = server.wait_exit()
        trace = server.trace

    # glasstls's view
    assert (first["version"], first["resumed"]) == ("TLSv1.2", False)
    assert (second["version"], second["resumed"]) == ("TLSv1.2", True)
    assert first["cipher_suite"] == second["cipher_suite"] == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert second["extended_master_secret"] is True
    assert second["peer_certificate"] == "CN=localhost"  # remembered from the first handshake
    assert (out1, out2) == (b"enil tsrif\n", b"enil dnoces\n")  # -rev: the data went both ways
    # OpenSSL's view: one hit in its session statistics...
    assert re.search(r"^\s*1 session cache hits$", output, re.MULTILINE), output
    assert re.search(r"^\s*1 session cache misses$", output, re.MULTILINE), output
    # ...and an abbreviated second handshake: no Certificate, no key exchange (OpenSSL keeps
    # the ticket it issued the first time, so it sends no NewSessionTicket either).
    ticket = [] if no_ticket else ["NewSessionTicket"]
    full = ["ClientHello", "ServerHello", "Certificate", "ServerKeyExchange", "ServerHelloDone", "ClientKeyExchange"]
    abbreviated = ["ClientHello", "ServerHello", "Finished", "Finished"]
    assert handshake_messages(trace) == [*full, "Finished", *ticket, "Finished", *abbreviated], trace
    assert trace_fatal_alerts(trace) == []
