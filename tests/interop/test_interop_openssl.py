"""TLS 1.3 interop with the OpenSSL command line (``openssl s_server`` / ``s_client``), both directions.

Each case is a real handshake on 127.0.0.1 plus a data round trip, and checks
the suite and the group from both sides: glasstls from ``tls.parameters``, OpenSSL
from what it prints. The matrix is pairwise (see ``pairwise_cases``): all
suite × group pairs, each cert type meeting every suite and every group.

What OpenSSL 3.0 prints and these tests read:

* ``s_client``: ``New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256``,
  ``Server Temp Key: X25519, 253 bits`` (the negotiated group),
  ``Peer signature type: ECDSA`` and ``Verify return code: 0 (ok)``.
* ``s_server -rev``: ``Protocol version: TLSv1.3`` and ``Ciphersuite: ...``, then
  ``Supported groups: ...`` (the client's list; without -rev also ``Shared
  groups``), but never the group it chose. So it runs with ``-trace -msgfile``,
  and the group is read from OpenSSL's own decoding of the ServerHello it sent
  (``NamedGroup: ecdh_x25519 (29)`` in its key_share). That is OpenSSL's record of
  its choice, decoded by OpenSSL, which a hex dump from ``-msg`` decoded here
  would not be; the trace also shows a HelloRetryRequest (a ServerHello with
  the HRR random) and the CertificateVerify scheme.
"""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys

import pytest
from interop_peers import (
    SCHEME_FOR_CERT,
    WAIT,
    OpenSSLServer,
    ServerFiles,
    ServerThread,
    case_id,
    glasstls_line_through,
    hrr_seen,
    pairwise_cases,
    read_line,
    run_s_client,
    trace_close_notify_received,
    trace_fatal_alerts,
    trace_server_hellos,
    trace_signature_scheme,
)

import glasstls
from glasstls import CipherSuite, ClientConfig, NamedGroup, ServerConfig
from glasstls.observe import EventList
from glasstls.x509.store import TrustStore

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CASES = pairwise_cases()

# s_client's "Server Temp Key" line for each group.
TEMP_KEY = {
    "x25519": "X25519, 253 bits",
    "secp256r1": "ECDH, prime256v1, 256 bits",
    "secp384r1": "ECDH, secp384r1, 384 bits",
    "x448": "X448, 448 bits",
}
# s_client's "Peer signature type" for each server key.
PEER_SIGNATURE_TYPE = {"ecdsa-p256": "ECDSA", "rsa2048": "RSA-PSS", "ed25519": "ed25519"}


# -- glasstls client → openssl s_server ---------------------------------------------------


def _client_to_s_server(pki, tmp_path, suite, group, cert_type, *, offered=None, shares=None):
    offered = offered or (group,)
    events = EventList()
    config = ClientConfig(
        trust_store=pki.trust_store(),
        cipher_suites=(CipherSuite[suite],),
        groups=[NamedGroup[g] for g in offered],
        key_share_groups=[NamedGroup[g] for g in shares or (group,)],
    )
    line = f"glasstls to s_server {suite} {group}\n".encode()
    server_args = ("-ciphersuites", suite, "-groups", group)
    with OpenSSLServer(pki.files[cert_type], tmp_path / "s_server.trace", *server_args) as server:
        params, answer = glasstls_line_through(server, config, line, observer=events)
        output = server.wait_exit()
        trace = server.trace

    # glasstls's view
    assert params is not None
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.3", suite, group)
    assert params.signature_scheme == SCHEME_FOR_CERT[cert_type]
    assert params.peer_certificate_subject == "CN=localhost"
    # the data went through OpenSSL and came back reversed (-rev)
    assert answer == line[:-1][::-1] + b"\n"
    # OpenSSL's view
    assert "Protocol version: TLSv1.3" in output, output
    assert f"Ciphersuite: {suite}" in output, output
    hellos = trace_server_hellos(trace)
    assert hellos, trace
    assert hellos[-1].group == NamedGroup[group] and hellos[-1].cipher_suite == suite and not hellos[-1].retry
    assert trace_signature_scheme(trace) == SCHEME_FOR_CERT[cert_type]
    assert trace_fatal_alerts(trace) == []
    assert trace_close_notify_received(trace)  # glasstls closed cleanly
    assert "CONNECTION CLOSED" in output, output
    return hellos, events


@pytest.mark.parametrize(("suite", "group", "cert_type"), CASES, ids=[case_id(c) for c in CASES])
def test_glasstls_client_to_openssl_s_server(pki, tmp_path, suite, group, cert_type):
    hellos, events = _client_to_s_server(pki, tmp_path, suite, group, cert_type)
    assert len(hellos) == 1
    assert not hrr_seen(events, "in")


def test_glasstls_client_to_openssl_s_server_hello_retry(pki, tmp_path):
    """The client shares only X25519; s_server accepts only P-384, so it asks again (RFC 8446, Section 4.1.4)."""
    hellos, events = _client_to_s_server(
        pki, tmp_path, "TLS_CHACHA20_POLY1305_SHA256", "secp384r1", "ecdsa-p256",
        offered=("x25519", "secp384r1"), shares=("x25519",),
    )  # fmt: skip
    assert [h.retry for h in hellos] == [True, False]
    assert hellos[0].group == NamedGroup.secp384r1  # the HRR's selected_group
    assert hrr_seen(events, "in")


def _openssl_self_signed(directory, name: str = "localhost") -> tuple:
    """What ``openssl req -x509`` makes by default: a self-signed certificate with cA=TRUE."""
    key, cert = directory / "self.key", directory / "self.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
            "-days", "2",
        ],
        check=True, capture_output=True, timeout=WAIT,
    )  # fmt: skip
    return cert, key


@pytest.mark.parametrize("api", ["cli", "ssl-compatible"])
def test_a_self_signed_openssl_certificate_trusted_as_itself(tmp_path, api):
    """The everyday test set-up: s_server with an ``openssl req -x509`` certificate (cA=TRUE), which
    the client trusts by that very file. OpenSSL, Go and Python's ssl accept it; the Web PKI profile
    alone refused it ("cA must not be asserted in an EE certificate")."""
    cert, key = _openssl_self_signed(tmp_path)
    files = ServerFiles(cert, tmp_path / "none.pem", cert, key)
    files.intermediates.write_bytes(b"")
    with OpenSSLServer(files, tmp_path / "s_server.trace") as server:
        if api == "cli":
            done = subprocess.run(
                [sys.executable, "-m", "glasstls", "client", f"127.0.0.1:{server.port}", "--servername", "localhost",
                 "--cacert", str(cert), "--json", "--linger", "0.5"],
                input=b"self\n", capture_output=True, timeout=WAIT,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr.decode()
            assert done.stdout.splitlines()[0] == b"fles"
        else:
            context = glasstls.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.load_verify_locations(cafile=str(cert))
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"self\n")
                assert read_line(tls.recv) == b"fles\n"
        server.wait_exit()


def test_a_self_signed_certificate_trusted_as_itself_still_needs_the_right_name(tmp_path):
    cert, key = _openssl_self_signed(tmp_path, "other.example")
    files = ServerFiles(cert, tmp_path / "none.pem", cert, key)
    files.intermediates.write_bytes(b"")
    config = ClientConfig(trust_store=TrustStore.from_file(cert))
    with (
        OpenSSLServer(files, tmp_path / "s_server.trace") as server,
        pytest.raises(AssertionError, match=r"certificate is for other\.example, not localhost"),
    ):
        glasstls_line_through(server, config, b"wrong name\n")


# -- openssl s_client → glasstls server ---------------------------------------------------


def _echo_server(config: ServerConfig, events: EventList):
    def handle(sock):
        tls = glasstls.accept(sock, config, observer=events)
        try:
            line = read_line(tls.recv)
            tls.sendall(line)
            return tls.parameters, line
        finally:
            tls.close()

    return handle


def _s_client_to_server(pki, tmp_path, suite, group, cert_type, *, client_groups=None):
    events = EventList()
    config = ServerConfig(
        certificates=(pki.certified_key(cert_type),),
        cipher_suites=(CipherSuite[suite],),
        groups=(NamedGroup[group],),
    )
    line = f"s_client to glasstls {suite} {group}\n".encode()
    trace_file = tmp_path / "s_client.trace"
    with ServerThread(_echo_server(config, events)) as server:
        client = run_s_client(
            [
                "-tls1_3", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                "-CAfile", str(pki.root_file), "-verify_return_error", "-verify_hostname", "localhost",
                "-ciphersuites", suite, "-groups", client_groups or group,
                "-ign_eof",  # after sending its input, read until glasstls closes the connection
                "-trace", "-msgfile", str(trace_file),
            ],
            stdin=line,
        )  # fmt: skip
        try:
            params, received = server.result()
        except Exception as exc:
            said = client.stdout + client.stderr
            raise AssertionError(f"glasstls server failed: {exc!r}; s_client said:\n{said}") from exc
    out = client.stdout
    trace = trace_file.read_text(errors="replace")

    # glasstls's view
    assert received == line
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.3", suite, group)
    assert params.signature_scheme == SCHEME_FOR_CERT[cert_type]
    # OpenSSL's view
    assert client.returncode == 0, client.stdout + client.stderr
    assert f"New, TLSv1.3, Cipher is {suite}" in out, out
    assert f"Server Temp Key: {TEMP_KEY[group]}" in out, out
    assert f"Peer signature type: {PEER_SIGNATURE_TYPE[cert_type]}" in out, out
    assert "Verification: OK" in out and "Verify return code: 0 (ok)" in out, out
    assert re.search(r"^depth=0 CN = localhost\nverify return:1$", client.stderr, re.MULTILINE), client.stderr
    assert line.decode() in out, out  # the echo, printed by s_client as it arrived
    assert trace_fatal_alerts(trace) == []
    assert trace_close_notify_received(trace)  # glasstls closed cleanly
    hellos = trace_server_hellos(trace)
    assert hellos[-1].group == NamedGroup[group] and hellos[-1].cipher_suite == suite and not hellos[-1].retry
    return hellos, events


@pytest.mark.parametrize(("suite", "group", "cert_type"), CASES, ids=[case_id(c) for c in CASES])
def test_openssl_s_client_to_glasstls_server(pki, tmp_path, suite, group, cert_type):
    hellos, events = _s_client_to_server(pki, tmp_path, suite, group, cert_type)
    assert len(hellos) == 1
    assert not hrr_seen(events, "out")


def test_openssl_s_client_to_glasstls_server_hello_retry(pki, tmp_path):
    """s_client shares X25519 (the first of its groups); glasstls accepts only P-384 and sends a HelloRetryRequest."""
    hellos, events = _s_client_to_server(
        pki, tmp_path, "TLS_AES_256_GCM_SHA384", "secp384r1", "rsa2048", client_groups="x25519:secp384r1"
    )
    assert [h.retry for h in hellos] == [True, False]
    assert hellos[0].group == NamedGroup.secp384r1
    assert hrr_seen(events, "out")
