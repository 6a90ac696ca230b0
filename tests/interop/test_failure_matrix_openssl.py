"""The failure matrix of issue 5 against OpenSSL: glasstls on one side, ``openssl`` on the other.

The rows and certificates are those of ``tests/test_failure_matrix.py`` (imported), in
TLS 1.3 and TLS 1.2. Wherever OpenSSL can play the other side, it does:

1. glasstls verifies, OpenSSL presents the bad certificate:

   * the ``glasstls client`` CLI (``--json``) against ``openssl s_server`` serving an
     expired, not yet valid, wrong-host, unknown-CA, leaf-only or clientAuth-only
     certificate, a certificate the ``--crl`` given to the client revokes, or stapling
     (``-status_file``) a revoked or a stale OCSP response: the CLI exits 1 with the
     reason and the alert in its JSON, and s_server's trace shows the alert received
     (and its error line "SSL alert number N");
   * the ``glasstls server`` CLI (``--client-ca``, ``--verify-client required``,
     ``--client-crl``), one process for the module, against ``openssl s_client`` with no
     client certificate, an untrusted, an expired or a revoked one: its stderr has the
     reason, and s_client reports the alert ("tlsv13 alert certificate required",
     "tlsv1 alert unknown ca"...).

2. OpenSSL verifies, glasstls presents the bad certificate (Python API, cheaper than
   the CLI): ``openssl s_client -verify_return_error`` (``-crl_check -CRL`` for the
   revoked row) against a glasstls server, and ``openssl s_server -Verify 1
   -verify_return_error`` against a glasstls client. OpenSSL sends its alert (it answers
   "not yet valid" with bad_certificate where glasstls sends certificate_expired) and
   glasstls reports "peer sent alert … while …". The two OCSP rows have no OpenSSL
   cell here: s_client -status prints a stapled response but never fails the handshake
   over it, and a glasstls server does not staple a stale response.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from interop_peers import (
    WAIT,
    GlasstlsCLIServer,
    OpenSSLServer,
    ServerFiles,
    ServerThread,
    run_s_client,
    split_pem_chain,
    trace_alert_codes,
)

import glasstls
from glasstls import CertifiedKey, ClientConfig, ServerConfig
from glasstls.enums import AlertDescription
from glasstls.errors import PeerAlertError
from glasstls.x509.mint import Identity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_failure_matrix import (
    CLIENT_ROWS,
    HOST,
    SERVER_ROWS,
    VERSIONS,
    Cell,
    MatrixPKI,
    mint_matrix_pki,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

A = AlertDescription
PROTOCOL = {"TLSv1.3": "-tls1_3", "TLSv1.2": "-tls1_2"}


@dataclass(frozen=True)
class Files:
    """The matrix PKI on disk, as the OpenSSL and glasstls command lines read it."""

    directory: Path
    server_root: Path
    client_root: Path
    servers: dict[str, ServerFiles]  # row (or "good") -> the server identity
    clients: dict[str, tuple[Path, Path]]  # row (or "good") -> (chain, key)
    server_crl: Path  # PEM, the server intermediate's CRL
    client_crl: Path  # PEM, the client intermediate's CRL
    staples: dict[str, Path]  # row -> the DER OCSP response s_server staples (-status_file)


@pytest.fixture(scope="module")
def matrix_pki() -> MatrixPKI:
    """Named apart from the interop conftest's ``pki``, which it would otherwise hide."""
    return mint_matrix_pki()


def _server_files(directory: Path, name: str, identity: Identity) -> ServerFiles:
    full_chain, key = directory / f"{name}.chain.pem", directory / f"{name}.key.pem"
    identity.write(full_chain, key)
    leaf_pem, intermediates_pem = split_pem_chain(identity.chain_pem())
    leaf, intermediates = directory / f"{name}.leaf.pem", directory / f"{name}.intermediates.pem"
    leaf.write_bytes(leaf_pem)
    intermediates.write_bytes(intermediates_pem)  # empty for the leaf-only row: s_server then sends the leaf alone
    return ServerFiles(leaf, intermediates, full_chain, key)


@pytest.fixture(scope="module")
def files(matrix_pki: MatrixPKI, tmp_path_factory: pytest.TempPathFactory) -> Files:
    directory = tmp_path_factory.mktemp("failure-matrix")
    server_root, client_root = directory / "server-root.pem", directory / "client-root.pem"
    server_root.write_bytes(matrix_pki.server_ca.root_pem())
    client_root.write_bytes(matrix_pki.client_ca.root_pem())
    identities = {**matrix_pki.bad_server, "good": matrix_pki.good_server}
    servers = {name: _server_files(directory, name, identity) for name, identity in identities.items()}
    clients = {}
    for name, identity in {**matrix_pki.bad_client, "good": matrix_pki.good_client}.items():
        chain, key = directory / f"client-{name}.chain.pem", directory / f"client-{name}.key.pem"
        identity.write(chain, key)
        clients[name] = (chain, key)
    server_crl, client_crl = directory / "server.crl.pem", directory / "client.crl.pem"
    server_crl.write_bytes(matrix_pki.server_crl.public_bytes(serialization.Encoding.PEM))
    client_crl.write_bytes(matrix_pki.client_crl.public_bytes(serialization.Encoding.PEM))
    staples = {
        "revoked_by_stapled_ocsp": matrix_pki.staples["revoked_by_stapled_ocsp"],
        "stale_ocsp_response": matrix_pki.stale_staple,  # s_server staples whatever it is given, stale or not
    }
    staple_files = {}
    for row, response in staples.items():
        staple_files[row] = directory / f"{row}.ocsp.der"
        staple_files[row].write_bytes(response)
    return Files(directory, server_root, client_root, servers, clients, server_crl, client_crl, staple_files)


# What OpenSSL 3.0 sends as the verifying side (ssl_x509err2alert in ssl/statem/statem_lib.c), and the
# verify error it prints. It differs from glasstls in one row: not yet valid is bad_certificate.
OPENSSL_VERDICT: dict[str, tuple[A, str]] = {
    "expired": (A.certificate_expired, "certificate has expired"),
    "not_yet_valid": (A.bad_certificate, "certificate is not yet valid"),
    "wrong_host": (A.bad_certificate, "hostname mismatch"),
    "unknown_ca": (A.unknown_ca, "unable to get local issuer certificate"),
    "missing_intermediate": (A.unknown_ca, "unable to get local issuer certificate"),
    "wrong_eku": (A.unsupported_certificate, "unsuitable certificate purpose"),
    "revoked_by_crl": (A.certificate_revoked, "certificate revoked"),
    "client_untrusted": (A.unknown_ca, "unable to get local issuer certificate"),
    "client_expired": (A.certificate_expired, "certificate has expired"),
    "client_revoked_by_crl": (A.certificate_revoked, "certificate revoked"),
}
OPENSSL_MISSING_CLIENT_CERT = {"TLSv1.3": A.certificate_required, "TLSv1.2": A.handshake_failure}

# What OpenSSL prints on receiving an alert: "...:ssl3_read_bytes:tlsv13 alert certificate required:...:SSL alert
# number 116" (its names come from its own table: sslv3/tlsv1/tlsv13 by the version that defined the alert).
OPENSSL_ALERT_TEXT = {
    A.certificate_expired: "sslv3 alert certificate expired",
    A.bad_certificate: "sslv3 alert bad certificate",
    A.unknown_ca: "tlsv1 alert unknown ca",
    A.unsupported_certificate: "sslv3 alert unsupported certificate",
    A.handshake_failure: "sslv3 alert handshake failure",
    A.certificate_required: "tlsv13 alert certificate required",
    A.certificate_revoked: "sslv3 alert certificate revoked",
    A.bad_certificate_status_response: "tlsv1 bad certificate status response",
}


def _openssl_received(output: str, trace: str, alert: A) -> None:
    """OpenSSL's error line and its -trace both show ``alert`` as received."""
    assert f"{OPENSSL_ALERT_TEXT[alert]}:" in output and f"SSL alert number {alert.value}" in output, output
    assert trace_alert_codes(trace, "Received") == [alert.value], trace
    assert trace_alert_codes(trace, "Sent") == [], trace


# -- 1a. the glasstls client CLI verifies, openssl s_server serves the bad certificate -----------


def _run_cli_client(port: int, cacert: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "glasstls", "client", f"127.0.0.1:{port}",
            "--cacert", str(cacert), "--servername", HOST, "--json", "--linger", "0.2", *extra,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("cell", SERVER_ROWS, ids=[c.row for c in SERVER_ROWS])
def test_glasstls_cli_client_refuses_openssl_server(files: Files, cell: Cell, version: str, tmp_path: Path) -> None:
    alert = cell.alert[version]
    staple = ("-status_file", str(files.staples[cell.row])) if cell.row in files.staples else ()
    crl = ("--crl", str(files.server_crl)) if cell.row == "revoked_by_crl" else ()
    trace = tmp_path / "trace.txt"
    with OpenSSLServer(files.servers[cell.row], trace, *staple, protocol=PROTOCOL[version]) as server:
        client = _run_cli_client(server.port, files.server_root, *crl)
        output = server.wait_exit()

    # (b) the user's message: exit status 1, the reason on stderr and, with --json, in its last line.
    assert client.returncode == 1, client.stderr
    summary = json.loads(client.stderr.strip().splitlines()[-1])
    assert summary["alert"] == alert.name
    assert summary["error"].startswith("handshake failed: ")
    for text in cell.message:
        assert text in summary["error"]
    # TLS 1.2 carries the staple in a CertificateStatus message of its own (RFC 6066, Section 8).
    step = "CertificateStatus" if cell.row in files.staples and version == "TLSv1.2" else "the server's Certificate"
    assert f"(alert {alert.name} while waiting for {step}" in summary["error"]
    assert f"alert:        {alert.name} ({alert.value}), sent by the client" in client.stderr  # the diagnosis
    # (a) the alert on the wire, as s_server received it.
    _openssl_received(output, server.trace, alert)


# -- 1b. the glasstls server CLI verifies client certificates, openssl s_client presents them ------------


@pytest.fixture(scope="module")
def cli_server(files: Files):
    """``glasstls server --client-ca ... --verify-client required --client-crl ...``: one process, every cell."""
    good = files.servers["good"]
    with GlasstlsCLIServer(
        "--cert", str(good.full_chain), "--key", str(good.key), "--client-ca", str(files.client_root),
        "--verify-client", "required", "--client-crl", str(files.client_crl),
    ) as server:  # fmt: skip
        yield server


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("cell", CLIENT_ROWS, ids=[c.row for c in CLIENT_ROWS])
def test_glasstls_cli_server_refuses_openssl_client(files: Files, cli_server, cell: Cell, version: str) -> None:
    alert = cell.alert[version]
    cert_args: list[str] = []
    if cell.row != "client_missing":
        chain, key = files.clients[cell.row]
        cert_args = ["-cert", str(chain), "-cert_chain", str(chain), "-key", str(key)]
    result = run_s_client(
        [
            PROTOCOL[version], "-connect", f"127.0.0.1:{cli_server.port}", "-servername", HOST,
            "-CAfile", str(files.server_root), "-verify_return_error", "-ign_eof", "-trace", *cert_args,
        ],
        b"",
    )  # fmt: skip

    # (a) s_client received the alert the glasstls server sent.
    assert result.returncode == 1
    _openssl_received(result.stdout + result.stderr, result.stdout, alert)
    # (b) the glasstls server's stderr: "glasstls: handshake with 127.0.0.1:PORT failed: REASON (alert A while STEP)".
    step = "waiting for the client's Certificate" + (" (TLS 1.2)" if version == "TLSv1.2" else "")
    line = cli_server.wait_for(rf"failed: .*\(alert {alert.name} while {re.escape(step)}\)$")
    for text in cell.message:
        assert text in line


# -- 2a. openssl s_client verifies the glasstls server's certificate -----------------------------


def _expect_peer_alert(config: ServerConfig):
    def handle(sock: socket.socket) -> PeerAlertError:
        with pytest.raises(PeerAlertError) as info:
            glasstls.accept(sock, config)
        return info.value

    return handle


OPENSSL_CHECKS_SERVER = [c for c in SERVER_ROWS if c.row in OPENSSL_VERDICT]  # all but the two OCSP rows


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("cell", OPENSSL_CHECKS_SERVER, ids=[c.row for c in OPENSSL_CHECKS_SERVER])
def test_openssl_client_refuses_glasstls_server(matrix_pki: MatrixPKI, files: Files, cell: Cell, version: str) -> None:
    alert, verify_error = OPENSSL_VERDICT[cell.row]
    identity = matrix_pki.bad_server[cell.row]
    config = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),))
    crl = ("-crl_check", "-CRL", str(files.server_crl)) if cell.row == "revoked_by_crl" else ()
    with ServerThread(_expect_peer_alert(config)) as server:
        result = run_s_client(
            [
                PROTOCOL[version], "-connect", f"127.0.0.1:{server.port}", "-servername", HOST,
                "-verify_hostname", HOST, "-CAfile", str(files.server_root), "-verify_return_error", "-trace", *crl,
            ],
            b"",
        )  # fmt: skip
        error = server.result()

    # OpenSSL's own verdict, and the alert it sent.
    assert "verify error:num=" in result.stderr and verify_error in result.stderr, result.stderr
    assert trace_alert_codes(result.stdout, "Sent") == [alert.value], result.stdout
    # glasstls received it and says so.
    assert error.description == alert
    step = "waiting for the client's Finished" if version == "TLSv1.3" else "waiting for ClientKeyExchange"
    assert str(error) == f"peer sent alert {alert.name} while {step}"


# -- 2b. openssl s_server verifies the glasstls client's certificate -----------------------------


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("cell", CLIENT_ROWS, ids=[c.row for c in CLIENT_ROWS])
def test_openssl_server_refuses_glasstls_client(
    matrix_pki: MatrixPKI, files: Files, cell: Cell, version: str, tmp_path: Path
) -> None:
    if cell.row == "client_missing":
        alert, verify_error = OPENSSL_MISSING_CLIENT_CERT[version], "peer did not return a certificate"
        certificate = None
    else:
        alert, verify_error = OPENSSL_VERDICT[cell.row]
        identity = matrix_pki.bad_client[cell.row]
        certificate = CertifiedKey(identity.chain, identity.private_key)
    config = ClientConfig(trust_store=matrix_pki.server_store(), certificate=certificate)
    verify = ("-Verify", "1", "-CAfile", str(files.client_root), "-verify_return_error")
    if cell.row == "client_revoked_by_crl":
        verify += ("-crl_check", "-CRL", str(files.client_crl))
    with OpenSSLServer(files.servers["good"], tmp_path / "trace.txt", *verify, protocol=PROTOCOL[version]) as server:
        # TLS 1.3: the client's handshake is over once it sent its Finished; the alert comes with the first read.
        with (
            pytest.raises(PeerAlertError) as info,
            glasstls.connect("127.0.0.1", server.port, config, server_name=HOST, timeout=WAIT) as tls,
        ):
            tls.recv()
        output = server.wait_exit()

    assert verify_error in output, output
    assert trace_alert_codes(server.trace, "Sent") == [alert.value], server.trace
    assert info.value.description == alert
    assert str(info.value).startswith(f"peer sent alert {alert.name} while ")
