"""Certificate compression (RFC 8879) against GnuTLS's command line, both directions, TLS 1.3.

* ``gnutls-cli --compress-cert=ALG`` against a glasstls server (default configuration, which
  compresses with the first of brotli, zstd, zlib the client lists);
* a glasstls client (default configuration: it offers all three) against
  ``gnutls-serv --compress-cert=ALG``.

Each checks, on the glasstls side, that the certificate really went compressed (a MessageTrace
of a CompressedCertificate with that algorithm, through an EventList observer) and that the
handshake completed (a line sent and answered); on the GnuTLS side, that it trusted the chain
(gnutls-cli) or summed up the connection (gnutls-serv).

GnuTLS decompresses and compresses with libraries it must be built with (``--with-brotli``,
``--with-zlib``, ``--with-zstd``). A build without one takes the option, says ``Unknown
compression method: ALG`` and goes on without compression; the test then checks that the
handshake still completed uncompressed and skips with that reason. (Debian's gnutls-bin 3.7.9
is built without all three.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from interop_peers import (
    GNUTLS_CLI,
    GNUTLS_SERV,
    WAIT,
    GnuTLSServer,
    PeerProcess,
    ServerThread,
    glasstls_line_server,
    gnutls_priority,
    read_line,
    reverse_line,
)

import glasstls
from glasstls import ClientConfig, ServerConfig
from glasstls.enums import CertificateCompressionAlgorithm
from glasstls.observe import EventList, MessageTrace
from glasstls.wire.handshake import Certificate, CompressedCertificate

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        GNUTLS_CLI is None or GNUTLS_SERV is None,
        reason="gnutls-cli/gnutls-serv not installed (Debian package gnutls-bin; `make peers` installs it)",
    ),
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="gnutls-serv's port is found through Linux's /proc"),
]

ALGORITHMS = ["brotli", "zlib", "zstd"]
PRIORITY = gnutls_priority("TLS_AES_128_GCM_SHA256", "TLSv1.3")


def certificates(events: EventList, direction: str) -> list[Certificate | CompressedCertificate]:
    """The server's Certificate as glasstls sent (``out``) or received (``in``) it, compressed or not."""
    return [
        e.message
        for e in events.events
        if isinstance(e, MessageTrace)
        and e.direction == direction
        and isinstance(e.message, Certificate | CompressedCertificate)
    ]


def skip_if_gnutls_lacks(algorithm: str, output: str, sent: list[Certificate | CompressedCertificate]) -> None:
    """This GnuTLS cannot use ``algorithm``: the handshake went uncompressed, as it must; skip."""
    unknown = re.search(rf"^Unknown compression method: {algorithm}$", output, re.MULTILINE)
    if unknown is None:
        return
    assert [type(m) for m in sent] == [Certificate], sent  # nothing offered, nothing compressed
    pytest.skip(f"this GnuTLS was built without {algorithm}: it says {unknown.group(0)!r}")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_gnutls_cli_gets_a_compressed_certificate_from_glasstls_server(pki, algorithm: str) -> None:
    events = EventList()
    line = f"gnutls-cli --compress-cert={algorithm} to glasstls\n"
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),))
    with ServerThread(glasstls_line_server(config, events)) as server:
        command = [
            GNUTLS_CLI, "--x509cafile", str(pki.root_file), "-p", str(server.port), "--priority", PRIORITY,
            f"--compress-cert={algorithm}", "localhost",
        ]  # fmt: skip
        with PeerProcess(command, name="gnutls-cli") as client:
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
    assert params.version == "TLSv1.3" and received == line.encode()
    assert "- Status: The certificate is trusted." in output, output
    assert reverse_line(line.encode()).decode() in output + "\n", output
    sent = certificates(events, "out")
    skip_if_gnutls_lacks(algorithm, output, sent)
    (msg,) = sent
    assert isinstance(msg, CompressedCertificate), output
    assert msg.algorithm == CertificateCompressionAlgorithm[algorithm]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_glasstls_client_gets_a_compressed_certificate_from_gnutls_serv(pki, algorithm: str) -> None:
    events = EventList()
    line = f"glasstls to gnutls-serv --compress-cert={algorithm}\n".encode()
    config = ClientConfig(trust_store=pki.trust_store())
    with GnuTLSServer(pki.files["ecdsa-p256"], PRIORITY, f"--compress-cert={algorithm}") as server:
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

    assert params.version == "TLSv1.3" and params.peer_certificate_subject == "CN=localhost"
    assert answer == line  # echoed by GnuTLS
    assert "- Version: TLS1.3" in output, output
    received = certificates(events, "in")
    skip_if_gnutls_lacks(algorithm, output, received)
    (msg,) = received
    assert isinstance(msg, CompressedCertificate), output
    assert msg.algorithm == CertificateCompressionAlgorithm[algorithm]
