"""Interop with GnuTLS's command line (``gnutls-serv`` / ``gnutls-cli``, Debian's gnutls-bin), both directions.

TLS 1.2: every suite of ``TLS12_SUITES`` both ways (``tls12_cases``). The GnuTLS side
is pinned to the one suite by its priority string (``gnutls_priority``, e.g.
``NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA256``);
the glasstls side offers or accepts all 23 suites by name, so it is glasstls that
must find the one GnuTLS takes. GnuTLS negotiates RFC 7919 groups for DHE itself,
so ffdhe2048 needs no parameters file. One TLS 1.3 case runs each way as well.

What GnuTLS prints and these tests read (gnutls_session_get_desc() and friends):

* both tools, per connection: ``- Description: (TLS1.2-X.509)-(ECDHE-X25519)-(ECDSA-SHA256)-(AES-128-GCM)``
  (CBC suites end with the MAC, ``-(AES-128-CBC)-(SHA1)``; RSA key transport is
  ``(TLS1.2-X.509)-(RSA)-(AES-128-GCM)``), compared in full with what glasstls
  reports (``gnutls_description``), and ``- Options: extended master secret, safe
  renegotiation, EtM,`` (EtM for the CBC suites only);
* gnutls-serv also ``- Version: TLS1.2``; gnutls-cli ``- Status: The certificate is
  trusted.``, the data it received, and ``- Peer has closed the GnuTLS connection``.

gnutls-cli sends what it reads from stdin; at end of input it sends close_notify but
keeps reading (a half-close). A close_notify ends only glasstls's read side; the line server
here closes (its close_notify) when its read ends, so stdin is kept open until it has answered
and closed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from interop_peers import (
    GNUTLS_CLI,
    GNUTLS_SERV,
    SCHEME_FOR_CERT,
    TLS12_GROUP,
    WAIT,
    GnuTLSServer,
    PeerProcess,
    ServerThread,
    glasstls_line_server,
    gnutls_description,
    gnutls_priority,
    read_line,
    reverse_line,
    tls12_case_id,
    tls12_cases,
    traced_server_hello,
)

import glasstls
from glasstls import CipherSuite, ClientConfig, ProtocolVersion, ServerConfig
from glasstls.crypto.suites import TLS12_SUITES
from glasstls.enums import ContentType, ExtensionType
from glasstls.observe import EventList, MessageTrace, RecordTrace
from glasstls.wire.handshake import EncryptedExtensions, ServerHello

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        GNUTLS_CLI is None or GNUTLS_SERV is None,
        reason="gnutls-cli/gnutls-serv not installed (Debian package gnutls-bin; `make peers` installs it)",
    ),
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="gnutls-serv's port is found through Linux's /proc"),
]

CASES = tls12_cases()
IDS = [tls12_case_id(c) for c in CASES]
ALL_TLS12 = tuple(TLS12_SUITES)  # every TLS 1.2 suite, the legacy ones included because they are named

# The TLS 1.2 signature scheme a glasstls server signs with for a GnuTLS client: glasstls
# follows the client's order, and GnuTLS lists RSA PKCS#1 v1.5 (RSA-SHA256) before RSA-PSS.
SCHEME_FOR_GNUTLS_CLIENT = {**SCHEME_FOR_CERT, "rsa2048": "rsa_pkcs1_sha256"}


def _check_glasstls_view(params, events: EventList, suite: str, scheme: str | None) -> None:
    s = TLS12_SUITES[CipherSuite[suite]]
    assert params is not None
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.2", suite, TLS12_GROUP[s.kx])
    assert params.signature_scheme == (None if s.kx == "RSA" else scheme)
    assert params.extended_master_secret is True
    assert (traced_server_hello(events).ext(ExtensionType.encrypt_then_mac) is not None) == (not s.aead)


def _check_gnutls_options(output: str, suite: str | None) -> None:
    """``- Options:``: the extended master secret always, EtM exactly for CBC suites (None: TLS 1.3)."""
    options = re.search(r"^- Options:(.*)$", output, re.MULTILINE)
    assert options, output
    if suite is None:
        return
    assert "extended master secret" in options.group(1), output
    assert ("EtM" in options.group(1)) == (not TLS12_SUITES[CipherSuite[suite]].aead), output


# -- glasstls client → gnutls-serv -------------------------------------------------------------


def _client_to_gnutls_serv(pki, cert_type: str, priority: str, config: ClientConfig, version: str, line: bytes = b""):
    events = EventList()
    line = line or f"glasstls to gnutls-serv {priority}\n".encode()
    with GnuTLSServer(pki.files[cert_type], priority) as server:
        try:
            with glasstls.connect(
                "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, observer=events
            ) as tls:
                params = tls.parameters
                tls.sendall(line)
                answer = read_line(tls.recv)
        except Exception as exc:
            raise AssertionError(f"glasstls client failed: {exc!r}; gnutls-serv said:\n{server.output}") from exc
        server.wait_for(r"^- Options:")  # the end of its summary of the connection
        output = server.output

    assert answer == line  # echoed by GnuTLS
    assert params.peer_certificate_subject == "CN=localhost"
    assert f"- Description: {gnutls_description(params)}" in output, output
    assert f"- Version: {version}" in output, output
    return params, events, output


@pytest.mark.parametrize(("suite", "cert_type"), CASES, ids=IDS)
def test_glasstls_client_to_gnutls_serv_tls12(pki, suite, cert_type):
    config = ClientConfig(trust_store=pki.trust_store(), tls_max=ProtocolVersion.TLSv1_2, cipher_suites=ALL_TLS12)
    params, events, output = _client_to_gnutls_serv(pki, cert_type, gnutls_priority(suite), config, "TLS1.2")
    _check_glasstls_view(params, events, suite, SCHEME_FOR_CERT[cert_type])
    _check_gnutls_options(output, suite)


def test_glasstls_client_to_gnutls_serv_tls13(pki):
    """The default glasstls client against a TLS 1.3-only gnutls-serv that takes only ChaCha20-Poly1305."""
    suite = "TLS_CHACHA20_POLY1305_SHA256"
    config = ClientConfig(trust_store=pki.trust_store())
    params, _, output = _client_to_gnutls_serv(pki, "ecdsa-p256", gnutls_priority(suite, "TLSv1.3"), config, "TLS1.3")
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.3", suite, "x25519")
    assert params.signature_scheme == "ecdsa_secp256r1_sha256"
    _check_gnutls_options(output, None)


# -- gnutls-cli → glasstls server ----------------------------------------------------------------


def _gnutls_cli_to_server(pki, config: ServerConfig, priority: str):
    events = EventList()
    line = f"gnutls-cli to glasstls {priority}\n"
    with ServerThread(glasstls_line_server(config, events)) as server:
        command = [GNUTLS_CLI, "--x509cafile", str(pki.root_file), "-p", str(server.port), "--priority", priority]
        with PeerProcess([*command, "localhost"], name="gnutls-cli") as client:
            client.write(line)  # stdin stays open: gnutls-cli leaves when glasstls closes
            try:
                output = client.wait_exit()
            except Exception as exc:
                raise AssertionError(f"gnutls-cli did not finish:\n{client.output}") from exc
            returncode = client.returncode
        try:
            params, received = server.result()
        except Exception as exc:
            raise AssertionError(f"glasstls server failed: {exc!r}; gnutls-cli said:\n{output}") from exc

    assert returncode == 0, output
    assert received == line.encode()
    assert "- Status: The certificate is trusted." in output, output
    assert f"- Description: {gnutls_description(params)}" in output, output
    assert reverse_line(line.encode()).decode() in output + "\n", output  # what glasstls answered
    assert "- Peer has closed the GnuTLS connection" in output, output
    return params, events, output


@pytest.mark.parametrize(("suite", "cert_type"), CASES, ids=IDS)
def test_gnutls_cli_to_glasstls_server_tls12(pki, suite, cert_type):
    config = ServerConfig(certificates=(pki.certified_key(cert_type),), cipher_suites=ALL_TLS12)
    params, events, output = _gnutls_cli_to_server(pki, config, gnutls_priority(suite))
    _check_glasstls_view(params, events, suite, SCHEME_FOR_GNUTLS_CLIENT[cert_type])
    _check_gnutls_options(output, suite)


def test_gnutls_cli_to_glasstls_server_tls13(pki):
    """A TLS 1.3-only gnutls-cli that offers only AES-256-GCM, against the default glasstls server (Ed25519 key)."""
    suite = "TLS_AES_256_GCM_SHA384"
    config = ServerConfig(certificates=(pki.certified_key("ed25519"),))
    params, _, output = _gnutls_cli_to_server(pki, config, gnutls_priority(suite, "TLSv1.3"))
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.3", suite, "x25519")
    assert params.signature_scheme == "ed25519"
    _check_gnutls_options(output, None)


def test_gnutls_cli_record_size_limit_is_kept_by_a_tls12_glasstls_server(pki):
    """RFC 8449 in TLS 1.2: gnutls-cli --recordsize=512 announces record_size_limit 512; glasstls
    answers with its own (2^14) and sends its 1,500-byte answer in records of at most 512 bytes of
    plaintext, which GnuTLS reads. (GnuTLS offers max_fragment_length too, which glasstls does not
    answer.)"""
    suite = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    events = EventList()
    answer = b"y" * 1500 + b"\n"
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),))

    def handle(sock):
        tls = glasstls.accept(sock, config, observer=events)
        try:
            line = read_line(tls.recv)
            tls.sendall(answer)
            return tls.parameters, line
        finally:
            tls.close()

    with ServerThread(handle) as server:
        command = [GNUTLS_CLI, "--x509cafile", str(pki.root_file), "-p", str(server.port), "--recordsize=512"]
        with PeerProcess([*command, "--priority", gnutls_priority(suite), "localhost"], name="gnutls-cli") as client:
            client.write("hello\n")
            try:
                output = client.wait_exit()
            except Exception as exc:
                raise AssertionError(f"gnutls-cli did not finish:\n{client.output}") from exc
            returncode = client.returncode
        params, received = server.result()
    assert returncode == 0 and received == b"hello\n", output
    assert params.version == "TLSv1.2" and answer.decode().strip() in output, output
    (hello,) = [e.message for e in events.events if isinstance(e, MessageTrace) and type(e.message) is ServerHello]
    assert hello.ext(ExtensionType.record_size_limit).value == 1 << 14
    sent = [e for e in events.events if isinstance(e, RecordTrace) and e.direction == "out" and e.plaintext]
    data = [e for e in sent if e.inner_type == ContentType.application_data]
    assert data and max(len(e.plaintext) for e in data) == 512, [len(e.plaintext) for e in data]


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_a_glasstls_client_s_record_size_limit_is_kept_by_gnutls_serv(pki, version):
    """RFC 8449 the other way: a glasstls client configured with record_size_limit 512 offers it;
    gnutls-serv answers with its own and echoes a 1,500-byte line in records within ours (TLS 1.3:
    511 bytes of data and the content type byte), which the client, holding the server's records to
    its limit (a larger one is record_overflow), reads whole."""
    suite = "TLS_AES_128_GCM_SHA256" if version == "TLSv1.3" else "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    priority = gnutls_priority(suite, version) if version == "TLSv1.3" else gnutls_priority(suite)
    line = b"z" * 1500 + b"\n"
    config = ClientConfig(
        trust_store=pki.trust_store(),
        record_size_limit=512,
        cipher_suites=(*ALL_TLS12, CipherSuite.TLS_AES_128_GCM_SHA256),
    )
    label = version.replace("TLSv", "TLS")  # (as gnutls-serv names it)
    params, events, _ = _client_to_gnutls_serv(pki, "ecdsa-p256", priority, config, label, line)
    assert params.version == version
    answers = [e.message for e in events.events if isinstance(e, MessageTrace) and e.direction == "in"]
    answer = [m for m in answers if type(m) in (ServerHello, EncryptedExtensions)][-1]
    assert answer.ext(ExtensionType.record_size_limit) is not None  # negotiated
    taken = [e for e in events.events if isinstance(e, RecordTrace) and e.direction == "in" and e.plaintext]
    data = [len(e.plaintext) for e in taken if e.inner_type == ContentType.application_data]
    assert sum(data) == len(line) and max(data) == (511 if version == "TLSv1.3" else 512), data
