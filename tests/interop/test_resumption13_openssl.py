"""TLS 1.3 resumption and external PSKs with the OpenSSL command line, both directions
(RFC 8446, Sections 2.2, 4.2.11 and 4.6.1).

* glasstls server ← ``openssl s_client -tls1_3 -sess_out FILE``, then ``-sess_in FILE``
  twice: OpenSSL prints ``Reused, TLSv1.3, Cipher is ...`` and glasstls reports
  ``parameters.resumed``, the PSK accepted in its trace; with ``-allow_no_dhe_kex`` and a
  server that prefers psk_ke, the resumption has no (EC)DHE.
* glasstls client (the CLI: ``--session-out F``, then ``--session-in F``) → ``openssl
  s_server -tls1_3``: the JSON says ``"resumed": true``; OpenSSL's ``-www`` page says
  ``Reused, TLSv1.3`` and, in a second run, its ``-trace`` shows the abbreviated handshake
  (no Certificate) and its statistics one cache hit.
* External PSKs: ``openssl s_client -psk_identity X -psk HEX`` → ``glasstls server
  --psk-identity X --psk-key HEX`` (without a certificate and with one), and ``glasstls client
  --psk-identity X --psk-key HEX`` → ``openssl s_server -psk_identity X -psk HEX`` (with
  ``-nocert`` and with a certificate).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from interop_peers import (
    OPENSSL,
    GlasstlsCLIServer,
    OpenSSLServer,
    read_line,
    run_s_client,
    trace_fatal_alerts,
    trace_server_hellos,
)
from test_resumption_openssl import SequentialServer, glasstls_client, handshake_messages

import glasstls
from glasstls import NegotiatedParameters, ServerConfig
from glasstls.enums import NamedGroup, PskKeyExchangeMode
from glasstls.observe import EventList, VerificationTrace

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]

SUITE = "TLS_AES_128_GCM_SHA256"
PSK_HEX = bytes(range(0x40, 0x60)).hex()  # 32 bytes
Result = tuple[NegotiatedParameters, list[tuple[bool, str]]]


def echo_once(config: ServerConfig) -> Callable[[socket.socket], Result]:
    """Handshake, echo one line, close; returns the parameters and the server's PSK checks."""

    def handle(sock: socket.socket) -> Result:
        events = EventList()
        tls = glasstls.accept(sock, config, observer=events)
        try:
            tls.sendall(read_line(tls.recv))
        finally:
            tls.close()
        assert tls.parameters is not None
        checks = [(e.ok, e.detail) for e in events.events if isinstance(e, VerificationTrace) and e.subject == "PSK"]
        return tls.parameters, checks

    return handle


# -- openssl s_client → glasstls server ----------------------------------------------------------

DHE_ONLY = (PskKeyExchangeMode.psk_dhe_ke,)
# mode: (s_client options, ServerConfig options, the resumed connection has a key exchange group)
S_CLIENT_MODES: dict[str, tuple[tuple[str, ...], dict[str, Any], bool]] = {
    "psk_dhe_ke": ((), {"psk_modes": DHE_ONLY}, True),
    "psk_ke": (("-allow_no_dhe_kex",), {"psk_modes": (PskKeyExchangeMode.psk_ke, *DHE_ONLY)}, False),
    # s_client sends an x25519 share; the server wants secp384r1: a HelloRetryRequest every time,
    # so the resumptions' binders cover message_hash(ClientHello1) and the HRR (Section 4.2.11.2).
    "after-hrr": ((), {"groups": (NamedGroup.secp384r1,)}, True),
}


@pytest.mark.parametrize("mode", S_CLIENT_MODES)
def test_openssl_s_client_resumes_with_glasstls_server(pki, tmp_path: Path, mode: str) -> None:
    options, server_options, dhe = S_CLIENT_MODES[mode]
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), **server_options)
    session_file = tmp_path / "openssl.session"
    runs = 3  # a new session, then two resumptions (s_client keeps the file it was given)
    with SequentialServer(runs, echo_once(config)) as server:
        outputs = []
        for i in range(runs):
            stored = ("-sess_out", str(session_file)) if i == 0 else ("-sess_in", str(session_file))
            client = run_s_client(
                [
                    "-tls1_3", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                    "-CAfile", str(pki.root_file), "-verify_return_error", "-ign_eof", *stored, *options,
                ],
                stdin=f"connection {i}\n".encode(),
            )  # fmt: skip
            assert client.returncode == 0, client.stdout + client.stderr
            outputs.append(client.stdout)
            if i == 0:
                assert session_file.exists(), client.stdout  # a ticket arrived and was saved
        results = server.results()

    # OpenSSL's view
    assert f"New, TLSv1.3, Cipher is {SUITE}" in outputs[0], outputs[0]
    for out in outputs[1:]:
        assert f"Reused, TLSv1.3, Cipher is {SUITE}" in out, out
    for i, out in enumerate(outputs):
        assert f"connection {i}\n" in out, out  # the echo came back
    # glasstls's view, from the same ServerConfig (and so the same ticket keys) throughout
    params = [p for p, _ in results]
    assert [p.resumed for p in params] == [False, True, True]
    assert [p.signature_scheme is None for p in params] == [False, True, True]  # no CertificateVerify
    assert [p.group is not None for p in params] == [True, dhe, dhe]
    assert results[0][1] == []
    hellos = 2 if "groups" in server_options else 1  # after a HelloRetryRequest the binder is checked again
    for _, checks in results[1:]:
        assert checks == [(True, "PSK accepted: resumption, binder verified")] * hellos, checks


# -- glasstls client (CLI) → openssl s_server ------------------------------------------------------


class SServer13(OpenSSLServer):
    """``openssl s_server -tls1_3`` for ``naccept`` connections (stdin kept open), traced;
    ``certificate=False``: ``-nocert`` (an external PSK only)."""

    def __init__(self, files: Any, trace_path: Path, naccept: int, *args: str, certificate: bool = True) -> None:
        super().__init__(files, trace_path)
        cert = ("-cert", str(files.leaf), "-cert_chain", str(files.intermediates), "-key", str(files.key))
        self.command = [
            OPENSSL, "s_server", "-tls1_3", "-accept", "127.0.0.1:0", "-naccept", str(naccept),
            *(cert if certificate else ("-nocert",)), "-trace", "-msgfile", str(trace_path), *args,
        ]  # fmt: skip


def test_glasstls_cli_resumes_with_openssl_s_server(pki, tmp_path: Path) -> None:
    session_file = tmp_path / "glasstls.session"
    session = ("--session-in", str(session_file), "--session-out", str(session_file))
    with SServer13(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", 2, "-rev") as server:
        first, out1 = glasstls_client(server.port, pki.root_file, b"first line\n", "--session-out", str(session_file))
        assert session_file.exists()
        second, out2 = glasstls_client(server.port, pki.root_file, b"second line\n", *session)
        output = server.wait_exit()
        trace = server.trace

    # glasstls's view
    assert (first["version"], first["resumed"], first["psk"]) == ("TLSv1.3", False, None)
    assert (second["version"], second["resumed"], second["psk"]) == ("TLSv1.3", True, "resumption")
    assert second["peer_certificate"] == "CN=localhost"  # remembered from the first handshake
    assert second["signature_scheme"] is None
    assert (out1, out2) == (b"enil tsrif\n", b"enil dnoces\n")  # -rev: the data went both ways
    # OpenSSL's view: one hit in its session statistics, and a second handshake without a certificate
    assert re.search(r"^\s*1 session cache hits$", output, re.MULTILINE), output
    full = ["ClientHello", "ServerHello", "EncryptedExtensions", "Certificate", "CertificateVerify", "Finished"]
    resumed = ["ClientHello", "ServerHello", "EncryptedExtensions", "Finished"]
    tickets = ["NewSessionTicket"] * 2
    assert handshake_messages(trace) == [*full, "Finished", *tickets, *resumed, "Finished", "NewSessionTicket"], trace
    assert trace_fatal_alerts(trace) == []


@pytest.mark.parametrize("retry", [False, True], ids=["one-round-trip", "after-hrr"])
def test_openssl_www_page_says_reused(pki, tmp_path: Path, retry: bool) -> None:
    """With ``-groups secp384r1`` s_server answers both ClientHellos with a HelloRetryRequest:
    it checks the resumption binder over message_hash(ClientHello1), the HRR and ClientHello2."""
    session_file = tmp_path / "glasstls.session"
    request = b"GET / HTTP/1.0\r\n\r\n"
    groups = ("-groups", "secp384r1") if retry else ()
    with SServer13(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", 2, "-www", *groups) as server:
        first, page1 = glasstls_client(server.port, pki.root_file, request, "--session-out", str(session_file))
        second, page2 = glasstls_client(server.port, pki.root_file, request, "--session-in", str(session_file))
        server.wait_exit()
        trace = server.trace
    assert [h.retry for h in trace_server_hellos(trace)] == [retry, False, retry, False][: 4 if retry else 2], trace
    assert f"New, TLSv1.3, Cipher is {SUITE}".encode() in page1, page1
    assert f"Reused, TLSv1.3, Cipher is {SUITE}".encode() in page2, page2
    assert (first["resumed"], second["resumed"]) == (False, True)


# -- external PSKs -------------------------------------------------------------------------------


@pytest.mark.parametrize("with_certificate", [False, True], ids=["psk-only", "with-certificate"])
def test_openssl_s_client_external_psk_to_glasstls_server(pki, with_certificate: bool) -> None:
    files = pki.files["ecdsa-p256"]
    cert = ("--cert", str(files.full_chain), "--key", str(files.key)) if with_certificate else ()
    psk = ("--psk-identity", "alice", "--psk-key", PSK_HEX)
    # --idle-timeout: the server closes once the echo is out, which ends s_client -ign_eof.
    with GlasstlsCLIServer(*cert, *psk, "--max-connections", "1", "--idle-timeout", "1") as server:
        client = run_s_client(
            ["-tls1_3", "-connect", f"127.0.0.1:{server.port}", "-psk_identity", "alice", "-psk", PSK_HEX, "-ign_eof"],
            stdin=b"psk data\n",
        )
        logged = server.wait_for(r"TLSv1\.3 ")
    assert client.returncode == 0, client.stdout + client.stderr
    assert "psk data\n" in client.stdout  # echoed
    assert f"Cipher is {SUITE}" in client.stdout
    assert "Server certificate" not in client.stdout  # the PSK authenticated the server
    assert logged.endswith(" external-psk"), logged


def test_openssl_s_client_with_a_wrong_psk_is_refused(pki) -> None:
    with GlasstlsCLIServer("--psk-identity", "alice", "--psk-key", PSK_HEX, "--max-connections", "1") as server:
        client = run_s_client(
            ["-tls1_3", "-connect", f"127.0.0.1:{server.port}", "-psk_identity", "alice", "-psk", "00" * 32],
            stdin=b"",
        )
        logged = server.wait_for(r"binder")
    assert client.returncode != 0
    assert "decrypt error" in client.stdout + client.stderr, client.stdout + client.stderr
    assert "PSK binder does not match" in logged, logged


@pytest.mark.parametrize("nocert", [True, False], ids=["nocert", "with-certificate"])
def test_glasstls_client_external_psk_to_openssl_s_server(pki, tmp_path: Path, nocert: bool) -> None:
    psk = ("-psk_identity", "bob", "-psk", PSK_HEX, "-rev")
    with SServer13(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", 1, *psk, certificate=not nocert) as server:
        summary, out = glasstls_client(
            server.port, pki.root_file, b"psk line\n", "--psk-identity", "bob", "--psk-key", PSK_HEX
        )
        trace = server.trace
    assert (summary["version"], summary["psk"], summary["resumed"]) == ("TLSv1.3", "external PSK", False)
    assert summary["peer_certificate"] is None and summary["signature_scheme"] is None
    assert out == b"enil ksp\n"
    assert "Certificate" not in handshake_messages(trace), trace


def test_glasstls_client_psk_ke_to_openssl_s_server(pki, tmp_path: Path) -> None:
    """``--psk-modes psk_ke``: the external PSK alone, no (EC)DHE (RFC 8446, Section 4.2.9), with
    an s_server that allows it (``-allow_no_dhe_kex``): its trace shows a ServerHello without key_share."""
    psk = ("-psk_identity", "bob", "-psk", PSK_HEX, "-allow_no_dhe_kex", "-rev")
    with SServer13(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", 1, *psk, certificate=False) as server:
        summary, out = glasstls_client(
            server.port, pki.root_file, b"psk_ke\n", "--psk-identity", "bob", "--psk-key", PSK_HEX,
            "--psk-modes", "psk_ke",
        )  # fmt: skip
        trace = server.trace
    assert (summary["version"], summary["psk"], summary["group"]) == ("TLSv1.3", "external PSK", None)
    assert out == b"ek_ksp\n"
    server_hello = trace[trace.index("ServerHello") :]
    assert "extension_type=psk(41)" in server_hello and "extension_type=key_share" not in server_hello, trace


@pytest.mark.parametrize("modes", ["psk_ke", "psk_dhe_ke,psk_ke"])
def test_openssl_s_client_psk_ke_to_glasstls_server(modes: str) -> None:
    """s_client ``-allow_no_dhe_kex`` offers both modes; the server takes the first of ``--psk-modes``
    the client offers: no key exchange for psk_ke (s_client prints no "Server Temp Key")."""
    psk = ("--psk-identity", "alice", "--psk-key", PSK_HEX, "--psk-modes", modes)
    with GlasstlsCLIServer(*psk, "--max-connections", "1", "--idle-timeout", "1") as server:
        client = run_s_client(
            [
                "-tls1_3", "-connect", f"127.0.0.1:{server.port}", "-psk_identity", "alice", "-psk", PSK_HEX,
                "-allow_no_dhe_kex", "-ign_eof",
            ],
            stdin=b"modes\n",
        )  # fmt: skip
        logged = server.wait_for(r"TLSv1\.3 ")
    assert client.returncode == 0 and "modes\n" in client.stdout, client.stdout + client.stderr
    if modes == "psk_ke":
        assert "Server Temp Key" not in client.stdout and " none " in logged, client.stdout + logged
    else:
        assert "Server Temp Key: X25519" in client.stdout and " x25519 " in logged, client.stdout + logged
