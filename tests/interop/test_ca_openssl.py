"""The CA tool's files as OpenSSL 3 sees them: ``openssl verify``, ``crl``, ``ocsp``, ``pkcs12``, ``s_server``.

One CA per CA key type is made through the CLI (``glasstls ca init``, ``issue``,
``revoke``, ``crl``, ``ocsp``, ``export``) in a temporary directory; each test then
asks OpenSSL about the files. What OpenSSL 3.0 prints and these tests read:

* ``openssl verify``: ``FILE: OK``, or ``error 23 at 0 depth lookup: certificate revoked``.
* ``openssl ocsp -respin``: ``Response verify OK`` (on stderr) and ``FILE: good`` /
  ``FILE: revoked`` with ``Reason: keyCompromise``; ``No Status found`` when the
  CertID hash differs from the one it looks up with (SHA-1 unless told ``-sha256``).
* ``openssl s_client -crl_check -CRL FILE -verify_return_error``: ``Verify return
  code: 0 (ok)``, or ``verify error:num=23:certificate revoked`` and no connection.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from interop_peers import OPENSSL, WAIT, OpenSSLServer, ServerFiles, run_s_client

from glasstls.x509.ca import load_certificates, serial_hex

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

CA_KEY_TYPES = ("ecdsa-p256", "rsa2048", "ed25519")
PASSWORD = "correct horse"


@dataclass(frozen=True)
class CAFiles:
    work: Path
    key_type: str

    def __truediv__(self, name: str) -> Path:
        return self.work / name

    @property
    def ca(self) -> Path:
        return self.work / "glasstls-ca"

    @property
    def root(self) -> Path:
        return self.ca / "root.pem"

    @property
    def chain(self) -> Path:
        return self.ca / "chain.pem"

    @property
    def intermediate(self) -> Path:
        return self.ca / "intermediate.pem"


def glasstls_ca(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "glasstls", "ca", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, *map(str, args)], capture_output=True, text=True, errors="replace", timeout=WAIT, check=False
    )


@pytest.fixture(scope="module", params=CA_KEY_TYPES)
def files(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> CAFiles:
    """A CA of one key type: a good and a revoked server certificate, a client, a responder, CRLs, OCSP answers."""
    key_type = request.param
    work = tmp_path_factory.mktemp(f"ca-{key_type}")
    glasstls_ca(work, "init", "--name", f"Interop {key_type} Root", "--key-type", key_type,
                "--crl-url", "http://127.0.0.1/crl.der", "--ocsp-url", "http://127.0.0.1:8080/")  # fmt: skip
    glasstls_ca(work, "issue", "server", "localhost", "127.0.0.1", "--key-type", key_type, "--out", "good",
                "--must-staple")  # fmt: skip
    glasstls_ca(work, "issue", "server", "localhost", "127.0.0.1", "--out", "revoked")
    glasstls_ca(work, "issue", "client", "alice@example.com", "--key-type", key_type, "--out", "alice")
    glasstls_ca(work, "issue", "ocsp-responder", "Interop OCSP", "--key-type", key_type, "--out", "responder")
    glasstls_ca(work, "revoke", "revoked.pem", "--reason", "keyCompromise")
    glasstls_ca(work, "crl", "--out", "crl.pem")
    glasstls_ca(work, "crl", "--issuer", "root", "--out", "root-crl.pem")
    for name in ("good", "revoked"):
        glasstls_ca(work, "ocsp", f"{name}.pem", "--out", f"{name}.ocsp.der")
        glasstls_ca(work, "ocsp", f"{name}.pem", "--out", f"{name}.delegated.der",
                    "--responder", "responder.pem", "--responder-key", "responder.key")  # fmt: skip
    glasstls_ca(work, "ocsp", "good.pem", "--hash", "sha256", "--out", "good.sha256.der")
    glasstls_ca(work, "export", "alice.pem", "alice.key", "--password", PASSWORD, "--out", "alice.p12")
    glasstls_ca(work, "export", "alice.pem", "alice.key", "--password", PASSWORD, "--legacy", "--out", "legacy.p12")
    return CAFiles(work, key_type)


# -- openssl verify ---------------------------------------------------------------------------------


def test_openssl_verify_accepts_the_chains(files: CAFiles) -> None:
    for leaf in ("good.pem", "alice.pem", "responder.pem"):
        result = openssl("verify", "-CAfile", files.root, "-untrusted", files.chain, files / leaf)
        assert result.returncode == 0 and result.stdout.strip() == f"{files / leaf}: OK", result.stdout + result.stderr
    # Without the intermediate there is no path: chain.pem is needed, and suffices.
    result = openssl("verify", "-CAfile", files.root, files / "good.pem")
    assert result.returncode != 0 and "unable to get local issuer certificate" in result.stdout + result.stderr


def test_openssl_verify_with_the_crl(files: CAFiles) -> None:
    base = ("verify", "-CAfile", files.root, "-untrusted", files.chain, "-crl_check", "-CRLfile", files / "crl.pem")
    good = openssl(*base, files / "good.pem")
    assert good.returncode == 0 and good.stdout.strip() == f"{files / 'good.pem'}: OK", good.stderr
    revoked = openssl(*base, files / "revoked.pem")
    assert revoked.returncode != 0
    assert "error 23 at 0 depth lookup: certificate revoked" in revoked.stdout + revoked.stderr
    # -crl_check_all wants a CRL for every CA in the path: the root's CRL covers the intermediate.
    every = openssl(*base, "-crl_check_all", "-CRLfile", files / "root-crl.pem", files / "good.pem")
    assert every.returncode == 0, every.stdout + every.stderr


def test_openssl_crl_lists_the_revoked_serial(files: CAFiles) -> None:
    text = openssl("crl", "-in", files / "crl.pem", "-noout", "-text")
    assert text.returncode == 0, text.stderr
    serial = serial_hex(load_certificates(files / "revoked.pem")[0].serial_number)
    assert f"Serial Number: {serial}" in text.stdout
    assert "Key Compromise" in text.stdout
    assert "X509v3 CRL Number: \n                1" in text.stdout
    assert "X509v3 Authority Key Identifier" in text.stdout
    assert "Issuer: CN = Interop" in text.stdout and "Intermediate" in text.stdout
    good = serial_hex(load_certificates(files / "good.pem")[0].serial_number)
    assert good not in text.stdout
    for crl, form in ((files / "crl.pem", "PEM"), (files / "crl.der", "DER")):
        checked = openssl("crl", "-in", crl, "-inform", form, "-CAfile", files.intermediate, "-noout")
        assert checked.returncode == 0 and "verify OK" in checked.stderr + checked.stdout, checked.stderr


# -- openssl ocsp ---------------------------------------------------------------------------------------


def ocsp_check(files: CAFiles, response: str, cert: str, *extra: str | Path, digest: str = "-sha1") -> str:
    # -issuer, then the CertID digest, then -cert: OpenSSL builds the CertID when it reads -cert.
    result = openssl("ocsp", "-respin", files / response, "-issuer", files.intermediate, digest, "-cert", files / cert,
                     "-CAfile", files.root, "-resp_text", *extra)  # fmt: skip
    return result.stdout + result.stderr


@pytest.mark.parametrize("signer", ["issuer", "delegated"])
def test_openssl_ocsp_reads_the_responses(files: CAFiles, signer: str) -> None:
    suffix = "ocsp" if signer == "issuer" else "delegated"
    extra: tuple[str | Path, ...] = () if signer == "issuer" else ("-VAfile", files / "responder.pem")
    good = ocsp_check(files, f"good.{suffix}.der", "good.pem", *extra)
    assert "Response verify OK" in good and f"{files / 'good.pem'}: good" in good, good
    assert "Cert Status: good" in good and "Hash Algorithm: sha1" in good
    revoked = ocsp_check(files, f"revoked.{suffix}.der", "revoked.pem", *extra)
    assert "Response verify OK" in revoked and f"{files / 'revoked.pem'}: revoked" in revoked, revoked
    assert "Reason: keyCompromise" in revoked and "Revocation Time:" in revoked
    if signer == "delegated":
        assert "Responder Id: " in good and "OCSP No Check" in good  # the responder's certificate travels along
        # Without -VAfile OpenSSL checks the responder's path itself: issued by the intermediate, OCSPSigning.
        chained = ocsp_check(files, "good.delegated.der", "good.pem", "-verify_other", files.chain)
        assert "Response verify OK" in chained and ": good" in chained, chained


def test_openssl_ocsp_finds_a_sha256_cert_id_only_when_asked_to(files: CAFiles) -> None:
    """Why the CertID hash defaults to SHA-1: OpenSSL looks a certificate up by a SHA-1 CertID."""
    default = ocsp_check(files, "good.sha256.der", "good.pem")
    assert "No Status found" in default, default
    asked = ocsp_check(files, "good.sha256.der", "good.pem", digest="-sha256")
    assert "Response verify OK" in asked and ": good" in asked and "Hash Algorithm: sha256" in asked, asked


def test_openssl_sees_the_leaf_extensions(files: CAFiles) -> None:
    good = openssl("x509", "-in", files / "good.pem", "-noout", "-text").stdout
    assert "TLS Feature: \n                status_request" in good  # must-staple, RFC 7633
    assert "TLS Web Server Authentication" in good and "IP Address:127.0.0.1" in good and "DNS:localhost" in good
    assert "URI:http://127.0.0.1/crl.der" in good and "OCSP - URI:http://127.0.0.1:8080/" in good
    responder = openssl("x509", "-in", files / "responder.pem", "-noout", "-text").stdout
    assert "OCSP Signing" in responder and "OCSP No Check" in responder
    alice = openssl("x509", "-in", files / "alice.pem", "-noout", "-text").stdout
    assert "TLS Web Client Authentication" in alice and "email:alice@example.com" in alice


# -- openssl pkcs12 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bundle", "algorithm"), [("alice.p12", "AES-256-CBC"), ("legacy.p12", "3DES")])
def test_openssl_pkcs12_info(files: CAFiles, bundle: str, algorithm: str) -> None:
    result = openssl("pkcs12", "-info", "-in", files / bundle, "-passin", f"pass:{PASSWORD}", "-nokeys")
    assert result.returncode == 0, result.stderr
    text = result.stdout + result.stderr
    if algorithm == "AES-256-CBC":
        assert "MAC: sha256" in text and "PBES2, PBKDF2, AES-256-CBC" in text and "hmacWithSHA256" in text, text
    else:
        assert "MAC: sha1" in text and "pbeWithSHA1And3-KeyTripleDES-CBC" in text, text
    assert text.count("-----BEGIN CERTIFICATE-----") == 2  # alice and the intermediate
    assert "friendlyName: alice@example.com" in text and "subject=CN = alice@example.com" in text
    wrong = openssl("pkcs12", "-info", "-in", files / bundle, "-passin", "pass:wrong", "-nokeys")
    assert wrong.returncode != 0 and "Mac verify error: invalid password?" in wrong.stderr


# -- a real OpenSSL server serving the CA's certificates -----------------------------------------------------


@pytest.mark.parametrize("leaf", ["good", "revoked"])
def test_s_client_with_crl_check(files: CAFiles, leaf: str, tmp_path: Path) -> None:
    server_files = ServerFiles(files / f"{leaf}.pem", files.chain, files / f"{leaf}.pem", files / f"{leaf}.key")
    with OpenSSLServer(server_files, tmp_path / "trace.txt") as server:
        result = run_s_client(
            ["-connect", f"127.0.0.1:{server.port}", "-servername", "localhost", "-CAfile", str(files.root),
             "-verify_return_error", "-crl_check", "-CRL", str(files / "crl.pem"), "-ign_eof"],
            b"hello\nCLOSE\n",  # s_server -rev answers "olleh", then closes on CLOSE
        )  # fmt: skip
    output = result.stdout + result.stderr
    if leaf == "good":
        assert "Verify return code: 0 (ok)" in output, output
        assert "olleh" in output  # s_server -rev answered: the connection carried data
    else:
        assert result.returncode != 0
        assert "verify error:num=23:certificate revoked" in output, output
        assert "olleh" not in output


def test_s_server_staples_the_ca_tools_ocsp_response(files: CAFiles, tmp_path: Path) -> None:
    server_files = ServerFiles(files / "good.pem", files.chain, files / "good.pem", files / "good.key")
    with OpenSSLServer(server_files, tmp_path / "trace.txt", "-status_file", str(files / "good.ocsp.der")) as server:
        result = run_s_client(
            ["-connect", f"127.0.0.1:{server.port}", "-CAfile", str(files.root), "-verify_return_error", "-status"],
            b"hello\n",
        )
    output = result.stdout + result.stderr
    assert "OCSP Response Status: successful (0x0)" in output, output
    assert "Cert Status: good" in output and "Verify return code: 0 (ok)" in output
