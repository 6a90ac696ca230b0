"""``glasstls ca sign``: a request made by OpenSSL (``openssl req -new``), signed by the CA tool, the key
staying with the requester (seed 003: request, issue, revoke, import; DESIGN.md: "issue, sign, revoke").

The certificate is checked by ``openssl verify`` against the CA, served by ``openssl s_server`` with the
requester's own key, and refused where the request cannot stand: a signature that does not verify (no
proof the requester holds the key), a key TLS does not take.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from interop_peers import OPENSSL, WAIT, OpenSSLServer, ServerFiles, glasstls_line_through, reverse_line

from glasstls import ClientConfig
from glasstls.x509.ca_files import load_certificates
from glasstls.x509.store import TrustStore

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


def glasstls_ca(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glasstls", "ca", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def openssl(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, text=True, timeout=WAIT, cwd=cwd)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("ca-sign")
    assert glasstls_ca(work, "init", "--name", "Sign Root").returncode == 0
    return work


def request(work: Path, name: str, *args: str) -> Path:
    """``openssl req -new`` with a new key NAME.key: NAME.csr."""
    made = openssl("req", "-new", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", *args, cwd=work)
    assert made.returncode == 0, made.stderr
    return work / f"{name}.csr"


def test_a_request_made_by_openssl_is_signed_verified_and_served_with_its_own_key(work: Path, tmp_path: Path) -> None:
    request(work, "www", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")  # fmt: skip
    signed = glasstls_ca(work, "sign", "server", "www.csr", "--out", "www")
    assert signed.returncode == 0, signed.stderr
    assert "Signed server certificate CN=localhost" in signed.stdout and "localhost, 127.0.0.1" in signed.stdout
    assert not (work / "www.pem.key").exists()  # the key stays the requester's
    chain = load_certificates(work / "www.pem")
    verified = openssl("verify", "-CAfile", work / "glasstls-ca" / "root.pem", "-untrusted",
                       work / "glasstls-ca" / "chain.pem", "-purpose", "sslserver", work / "www.pem")  # fmt: skip
    assert verified.returncode == 0 and "www.pem: OK" in verified.stdout, verified.stdout + verified.stderr
    # Served by s_server with the key openssl made, and checked by a glasstls client against the CA's root.
    (tmp_path / "leaf.pem").write_bytes(chain[0].public_bytes(encoding=Encoding.PEM))
    (tmp_path / "inter.pem").write_bytes(b"".join(c.public_bytes(encoding=Encoding.PEM) for c in chain[1:]))
    files = ServerFiles(tmp_path / "leaf.pem", tmp_path / "inter.pem", work / "www.pem", work / "www.key")
    config = ClientConfig(trust_store=TrustStore.from_pem((work / "glasstls-ca" / "root.pem").read_bytes()))
    with OpenSSLServer(files, tmp_path / "s_server.trace") as server:
        params, answer = glasstls_line_through(server, config, b"signed elsewhere\n")
    assert answer == reverse_line(b"signed elsewhere\n") and params is not None
    assert params.peer_certificate_subject == "CN=localhost"


def test_names_given_to_the_ca_replace_the_requested_ones(work: Path) -> None:
    request(work, "asks", "-newkey", "ed25519", "-subj", "/CN=asks-for.example",
            "-addext", "subjectAltName=DNS:asks-for.example,DNS:evil.example")  # fmt: skip
    signed = glasstls_ca(work, "sign", "server", "asks.csr", "granted.example", "--out", "granted")
    assert signed.returncode == 0, signed.stderr
    text = openssl("x509", "-in", work / "granted.pem", "-noout", "-ext", "subjectAltName,extendedKeyUsage").stdout
    assert "DNS:granted.example" in text and "evil" not in text and "TLS Web Server Authentication" in text


def test_a_client_request_gets_client_auth(work: Path) -> None:
    request(work, "alice", "-newkey", "rsa:2048", "-subj", "/CN=alice@example.com")
    signed = glasstls_ca(work, "sign", "client", "alice.csr", "--out", "alice")
    assert signed.returncode == 0, signed.stderr
    text = openssl("x509", "-in", work / "alice.pem", "-noout", "-ext", "subjectAltName,extendedKeyUsage").stdout
    assert "email:alice@example.com" in text and "TLS Web Client Authentication" in text


def test_a_request_whose_signature_does_not_verify_is_refused(work: Path) -> None:
    csr = request(work, "forged", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-subj", "/CN=forged.example")
    der = subprocess.run([OPENSSL, "req", "-in", str(csr), "-outform", "DER"], capture_output=True, timeout=WAIT)
    data = bytearray(der.stdout)
    data[-5] ^= 0x01  # inside the signature
    (work / "forged.der").write_bytes(bytes(data))
    refused = glasstls_ca(work, "sign", "server", "forged.der")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "the request's signature does not verify with the key it carries" in refused.stderr


def test_a_key_tls_does_not_take_and_a_file_that_is_no_request_are_refused(work: Path) -> None:
    request(work, "small", "-newkey", "rsa:1024", "-subj", "/CN=small.example")
    refused = glasstls_ca(work, "sign", "server", "small.csr")
    assert refused.returncode == 2 and "the request's key is a 1024-bit RSA key: at least 2048" in refused.stderr
    (work / "junk.csr").write_text(
        "-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n"
    )
    refused = glasstls_ca(work, "sign", "server", "junk.csr")
    assert refused.returncode == 2 and "junk.csr is not a certificate request (PKCS #10, PEM or DER)" in refused.stderr
