"""``glasstls ca serve`` answering OpenSSL 3.0: ``openssl ocsp -url`` (POST, with a nonce) says good, then
revoked at once after ``glasstls ca revoke``; a request ``openssl ocsp -reqout`` wrote, sent by GET (RFC 6960,
Appendix A.1), gives a response ``openssl ocsp -respin`` verifies; a delegated responder's answers verify
too; the CRL and the issuer certificate fetched over HTTP are what ``openssl verify -crl_check`` uses.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from interop_peers import OPENSSL, WAIT

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the CA helpers
from ca_serve_helpers import OnlineCA, ca_cli, ca_serve, online_ca
from glasstls.x509.http_fetch import fetch

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


@pytest.fixture
def ca(tmp_path: Path) -> OnlineCA:
    return online_ca(tmp_path)


def openssl(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run([OPENSSL, *args], capture_output=True, text=True, timeout=WAIT, cwd=cwd)
    return done.stdout + done.stderr


def ocsp_query(ca: OnlineCA, cert: Path, *extra: str) -> str:
    return openssl(
        "ocsp", "-issuer", str(ca.intermediate_pem), "-cert", str(cert), "-url", f"{ca.url}/ocsp",
        "-CAfile", str(ca.root_pem), *extra,
    )


def test_openssl_ocsp_sees_good_then_revoked_at_once(ca: OnlineCA) -> None:
    with ca_serve(ca) as server:
        output = ocsp_query(ca, ca.server_pem)
        assert "Response verify OK" in output and f"{ca.server_pem}: good" in output, output
        assert "WARNING: no nonce" not in output  # openssl sent a nonce; the answer echoed it (RFC 6960, 4.4.1)
        ca_cli(ca.directory, "revoke", str(ca.server_pem), "--reason", "cessationOfOperation")
        output = ocsp_query(ca, ca.server_pem)
        assert "Response verify OK" in output and f"{ca.server_pem}: revoked" in output, output
        assert "Reason: cessationOfOperation" in output, output
        # The intermediate, asked of its issuer, the root: the root signs that answer.
        output = openssl(
            "ocsp", "-issuer", str(ca.root_pem), "-cert", str(ca.intermediate_pem), "-url", f"{ca.url}/ocsp",
            "-CAfile", str(ca.root_pem),
        )
        assert "Response verify OK" in output and ": good" in output, output
        server.wait_for(r'"POST /ocsp" 200 .*: revoked, signed by the intermediate, nonce echoed')


def test_a_get_request_gets_an_answer_openssl_verifies(ca: OnlineCA, tmp_path: Path) -> None:
    request, response = tmp_path / "request.der", tmp_path / "response.der"
    # No nonce: -respin checks the answer against a request of its own, whose nonce would differ.
    openssl("ocsp", "-issuer", str(ca.intermediate_pem), "-cert", str(ca.server_pem), "-reqout", str(request),
            "-no_nonce")
    encoded = urllib.parse.quote(base64.b64encode(request.read_bytes()).decode(), safe="")
    with ca_serve(ca) as server:
        answer = fetch(f"{ca.url}/ocsp/{encoded}", deadline=time.monotonic() + WAIT)
        server.wait_for(r'"GET /ocsp/.*" 200 .*: good')
    assert answer.content_type == "application/ocsp-response"
    response.write_bytes(answer.body)
    output = openssl(
        "ocsp", "-respin", str(response), "-issuer", str(ca.intermediate_pem), "-cert", str(ca.server_pem),
        "-CAfile", str(ca.root_pem), "-no_nonce",
    )
    assert "Response verify OK" in output and f"{ca.server_pem}: good" in output, output


def test_a_delegated_responder_is_accepted_by_openssl(ca: OnlineCA, tmp_path: Path) -> None:
    ca_cli(ca.directory, "issue", "ocsp-responder", "glasstls OCSP", "--out", str(tmp_path / "responder"))
    extra = ("--responder", str(tmp_path / "responder.pem"), "--responder-key", str(tmp_path / "responder.key"))
    with ca_serve(ca, *extra):
        output = ocsp_query(ca, ca.server_pem, "-resp_text")
    assert "Response verify OK" in output and f"{ca.server_pem}: good" in output, output
    assert "Subject: CN=glasstls OCSP" in output  # the responder's certificate rides in the response (RFC 6960, 4.2.1)


def test_the_crl_and_issuer_fetched_over_http_serve_openssl_verify(ca: OnlineCA, tmp_path: Path) -> None:
    ca_cli(ca.directory, "issue", "server", "gone.example", "--out", str(tmp_path / "gone"))
    ca_cli(ca.directory, "revoke", str(tmp_path / "gone.pem"), "--reason", "keyCompromise")
    with ca_serve(ca):
        deadline = time.monotonic() + WAIT
        crl = fetch(f"{ca.url}/crl.der", deadline=deadline)
        root_crl = fetch(f"{ca.url}/root-crl.der", deadline=deadline)
        issuer = fetch(f"{ca.url}/intermediate.der", deadline=deadline)
    assert crl.content_type == "application/pkix-crl" and issuer.content_type == "application/pkix-cert"
    for name, body in (("crl.der", crl.body), ("root-crl.der", root_crl.body), ("intermediate.der", issuer.body)):
        (tmp_path / name).write_bytes(body)
    crls = tmp_path / "crls.pem"
    pems = [openssl("crl", "-inform", "DER", "-in", str(tmp_path / n)) for n in ("crl.der", "root-crl.der")]
    crls.write_text("".join(pems))
    chain = tmp_path / "untrusted.pem"
    chain.write_text(openssl("x509", "-inform", "DER", "-in", str(tmp_path / "intermediate.der")))
    common = ["verify", "-crl_check_all", "-CRLfile", str(crls), "-CAfile", str(ca.root_pem), "-untrusted", str(chain)]
    output = openssl(*common, str(ca.server_pem))
    assert f"{ca.server_pem}: OK" in output, output
    output = openssl(*common, str(tmp_path / "gone.pem"))
    assert "certificate revoked" in output, output
