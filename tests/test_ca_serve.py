"""``glasstls ca serve`` as a process on 127.0.0.1: OCSP over GET and POST (RFC 6960, Appendix A), the CRL
and the issuer certificates over HTTP, revocations visible at once, and bad requests answered with the
right status while the server goes on serving.

The OCSP answers are checked with glasstls's own checker (revocation.check_ocsp_response:
signature by the issuer or a delegated responder, CertID, thisUpdate/nextUpdate); the HTTP
exchanges go through x509.http_fetch, the bad ones through a raw socket.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ca_serve_helpers import WAIT, OnlineCA, ca_cli, ca_serve, ocsp_request, online_ca
from glasstls.x509.ca_urls import aia_url
from glasstls.x509.http_fetch import HttpResult, fetch
from glasstls.x509.revocation import check_ocsp_response

pytestmark = pytest.mark.timeout(90)
DER = serialization.Encoding.DER


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> OnlineCA:
    return online_ca(tmp_path_factory.mktemp("ca-serve"))


def _post(url: str, der: bytes) -> HttpResult:
    return fetch(url, deadline=time.monotonic() + WAIT, body=der, content_type="application/ocsp-request")


def _get(url: str) -> HttpResult:
    return fetch(url, deadline=time.monotonic() + WAIT)


def _exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` over a fresh connection; what the server answers until it closes (an error closes)."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(raw)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            answer += chunk
    return answer


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    return int(answer.split(b" ")[1])


def test_the_certificates_point_at_the_responder(ca: OnlineCA) -> None:
    from cryptography.x509.oid import AuthorityInformationAccessOID as AIA

    leaf, intermediate = ca.leaf(), ca.intermediate()
    assert aia_url(leaf, AIA.OCSP) == f"{ca.url}/ocsp"
    assert aia_url(leaf, AIA.CA_ISSUERS) == f"{ca.url}/intermediate.der"
    assert aia_url(intermediate, AIA.CA_ISSUERS) == f"{ca.url}/root.der"
    points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for n in points[0].full_name] == [f"{ca.url}/crl.der"]
    points = intermediate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for n in points[0].full_name] == [f"{ca.url}/root-crl.der"]  # the root's CRL lists it


def test_ocsp_get_and_post_good_then_revoked_at_once_then_unknown(ca: OnlineCA, tmp_path: Path) -> None:
    ca_cli(ca.directory, "issue", "server", "revoke-me.example", "--out", str(tmp_path / "victim"))
    victim = x509.load_pem_x509_certificates((tmp_path / "victim.pem").read_bytes())[0]
    issuer = ca.intermediate()
    with ca_serve(ca, "--next-update", "2h") as server:
        nonce = os.urandom(16)
        answer = _post(f"{ca.url}/ocsp", ocsp_request(victim, issuer, nonce))
        assert answer.content_type == "application/ocsp-response"
        result = check_ocsp_response(answer.body, victim, issuer, datetime.now(UTC))
        assert result.status == "good" and "the issuer" in result.responder
        assert result.next_update is not None
        assert timedelta(hours=1, minutes=59) <= result.next_update - result.this_update <= timedelta(hours=2)
        parsed = ocsp.load_der_ocsp_response(answer.body)
        assert parsed.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce  # RFC 6960, 4.4.1

        ca_cli(ca.directory, "revoke", str(tmp_path / "victim.pem"), "--reason", "keyCompromise")
        encoded = urllib.parse.quote(base64.b64encode(ocsp_request(victim, issuer)).decode(), safe="")
        answer = _get(f"{ca.url}/ocsp/{encoded}")
        result = check_ocsp_response(answer.body, victim, issuer, datetime.now(UTC))
        assert result.status == "revoked" and result.revocation_reason == x509.ReasonFlags.key_compromise
        assert result.revocation_time is not None
        # RFC 5019, 6.2: a nonce-free answer says how long a cache may keep it; one with a nonce, not at all.
        head = _exchange(ca.port, f"GET /ocsp/{encoded} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = head.split(b"\r\n\r\n", 1)[0].decode().lower()
        max_age = re.search(r"cache-control: max-age=(\d+), public, no-transform, must-revalidate", head)
        assert max_age is not None and 7000 < int(max_age.group(1)) <= 7200, head
        assert all(f"\r\n{name}: " in head for name in ("last-modified", "expires", "etag")), head
        nonced = urllib.parse.quote(base64.b64encode(ocsp_request(victim, issuer, nonce)).decode(), safe="")
        request = f"GET /ocsp/{nonced} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        head = _exchange(ca.port, request.encode())
        assert b"\r\ncache-control: no-store\r\n" in head.lower() and b"max-age" not in head

        stranger = x509.load_pem_x509_certificates(ca.server_pem.read_bytes())[0]
        unknown_request = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
            ocsp.load_der_ocsp_request(ocsp_request(stranger, issuer)).issuer_name_hash,
            ocsp.load_der_ocsp_request(ocsp_request(stranger, issuer)).issuer_key_hash,
            12345,
            ocsp.load_der_ocsp_request(ocsp_request(stranger, issuer)).hash_algorithm,
        )
        answer = _post(f"{ca.url}/ocsp", unknown_request.build().public_bytes(DER))
        single = ocsp.load_der_ocsp_response(answer.body)
        assert single.certificate_status == ocsp.OCSPCertStatus.UNKNOWN and single.serial_number == 12345
        server.wait_for(r'"POST /ocsp" 200 .*serial 3039: unknown')
        server.wait_for(r'"GET /ocsp/.*" 200 .*: revoked, signed by the intermediate')


def test_a_get_whose_base64_holds_a_slash_is_read_whole_raw_or_percent_encoded(ca: OnlineCA) -> None:
    leaf, issuer = ca.leaf(), ca.intermediate()
    for _ in range(500):  # a nonce whose request's base64 holds '/': one in a few tries
        der = ocsp_request(leaf, issuer, os.urandom(8))
        encoded = base64.b64encode(der).decode()
        if "/" in encoded:
            break
    else:
        pytest.fail("no request with a '/' in its base64 in 500 tries")
    with ca_serve(ca):
        for target in (encoded.replace("+", "%2B").replace("=", "%3D"), urllib.parse.quote(encoded, safe="")):
            answer = _get(f"{ca.url}/ocsp/{target}")
            assert check_ocsp_response(answer.body, leaf, issuer, datetime.now(UTC)).status == "good"


def test_garbage_and_foreign_requests_get_ocsp_errors(ca: OnlineCA, tmp_path: Path) -> None:
    from glasstls.x509.mint import ThrowawayCA

    stranger_ca = ThrowawayCA.create()
    stranger = stranger_ca.issue_server(["stranger.example"])
    with ca_serve(ca):
        answer = _post(f"{ca.url}/ocsp", b"\x30\x03garbage")
        assert ocsp.load_der_ocsp_response(answer.body).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        answer = _get(f"{ca.url}/ocsp/not*base64")
        assert ocsp.load_der_ocsp_response(answer.body).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        foreign = ocsp_request(stranger.certificate, stranger_ca.issuer[0])
        answer = _post(f"{ca.url}/ocsp", foreign)
        assert ocsp.load_der_ocsp_response(answer.body).response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED
        # A CertID hashed with SHA3-256 (OID ...4.2.8 for SHA-256's ...4.2.1), which cryptography lacks: an
        # answer, not a dropped connection; and a nonce over RFC 8954's 32 octets is refused, not echoed.
        leaf, issuer = x509.load_pem_x509_certificates(ca.server_pem.read_bytes())[:2]
        sha256 = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA256()).build().public_bytes(DER)
        sha3 = sha256.replace(bytes.fromhex("0609608648016503040201"), bytes.fromhex("0609608648016503040208"))
        for request in (sha3, ocsp_request(leaf, issuer, os.urandom(33)), ocsp_request(leaf, issuer, b"")):
            answer = _post(f"{ca.url}/ocsp", request)
            assert ocsp.load_der_ocsp_response(answer.body).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        answer = _post(f"{ca.url}/ocsp", ocsp_request(leaf, issuer, os.urandom(32)))
        assert ocsp.load_der_ocsp_response(answer.body).response_status == ocsp.OCSPResponseStatus.SUCCESSFUL


def test_a_request_about_two_certificates_gets_an_answer(ca: OnlineCA, tmp_path: Path) -> None:
    """RFC 6960, 4.1.1: a request may list several certificates (openssl ocsp -cert A -cert B); the
    responder answers one per request, so it says so (malformedRequest) instead of dropping the connection."""
    leaf_file = tmp_path / "leaf.pem"
    leaf_file.write_bytes(ca.leaf().public_bytes(serialization.Encoding.PEM))
    request = tmp_path / "two.der"
    subprocess.run(
        ["openssl", "ocsp", "-issuer", str(ca.intermediate_pem), "-cert", str(leaf_file), "-cert", str(leaf_file),
         "-no_nonce", "-reqout", str(request)],
        check=True, capture_output=True, timeout=WAIT,
    )  # fmt: skip
    with ca_serve(ca) as server:
        answer = _post(f"{ca.url}/ocsp", request.read_bytes())
        assert answer.status == 200
        assert ocsp.load_der_ocsp_response(answer.body).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        server.wait_for(r"more than one certificate")
        single = _post(f"{ca.url}/ocsp", ocsp_request(ca.leaf(), ca.intermediate()))  # and it goes on serving
        assert ocsp.load_der_ocsp_response(single.body).response_status == ocsp.OCSPResponseStatus.SUCCESSFUL


def test_the_crl_and_the_issuer_certificates_over_http(ca: OnlineCA, tmp_path: Path) -> None:
    with ca_serve(ca) as server:
        first = x509.load_der_x509_crl(_get(f"{ca.url}/crl.der").body)
        intermediate = ca.intermediate()
        assert first.issuer == intermediate.subject and first.is_signature_valid(intermediate.public_key())
        again = x509.load_der_x509_crl(_get(f"{ca.url}/crl.der").body)
        assert again.public_bytes(DER) == first.public_bytes(DER)  # cached
        ca_cli(ca.directory, "issue", "server", "crl-victim.example", "--out", str(tmp_path / "crlvictim"))
        victim = x509.load_pem_x509_certificates((tmp_path / "crlvictim.pem").read_bytes())[0]
        ca_cli(ca.directory, "revoke", "--serial", f"{victim.serial_number:X}", "--reason", "superseded")
        fresh = x509.load_der_x509_crl(_get(f"{ca.url}/crl.der").body)  # made again: the revocations changed
        entry = fresh.get_revoked_certificate_by_serial_number(victim.serial_number)
        assert entry is not None
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.superseded
        number = fresh.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        assert number > first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

        root_crl = x509.load_der_x509_crl(_get(f"{ca.url}/root-crl.der").body)
        assert root_crl.issuer == ca.root().subject and root_crl.is_signature_valid(ca.root().public_key())
        issued = _get(f"{ca.url}/intermediate.der")
        assert issued.content_type == "application/pkix-cert"
        assert x509.load_der_x509_certificate(issued.body) == intermediate
        assert x509.load_der_x509_certificate(_get(f"{ca.url}/issuer.der").body) == intermediate
        assert x509.load_der_x509_certificate(_get(f"{ca.url}/root.der").body) == ca.root()
        server.wait_for(r'"GET /crl.der" 200 .*crl of the intermediate: [1-9]')


def test_bad_requests_are_answered_and_the_server_goes_on(ca: OnlineCA) -> None:
    leaf, issuer = ca.leaf(), ca.intermediate()
    cases = [
        (b"\x16\x03\x01\x02\x00garbage that is no HTTP\r\n\r\n", 400),
        (
            b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n"
            b"Content-Length: 1000000\r\n\r\n" + b"\x00" * 1024,
            413,
        ),
        (b"DELETE /ocsp HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (b"POST /crl.der HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
        (b"GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc", 415),
        (b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    ]
    with ca_serve(ca) as server:
        idle = socket.create_connection(("127.0.0.1", ca.port), timeout=WAIT)  # a client that says nothing
        try:
            for raw, status in cases:
                assert _status(_exchange(ca.port, raw)) == status, raw[:40]
                good = _post(f"{ca.url}/ocsp", ocsp_request(leaf, issuer))  # still serving
                assert check_ocsp_response(good.body, leaf, issuer, datetime.now(UTC)).status == "good"
        finally:
            idle.close()
        assert server.alive
        for status in ("400", "413", "405", "404", "415", "431"):
            # Each connection's thread logs after its answer is sent, so the client can be
            # on its next request before the line is printed: wait for it, do not peek.
            server.wait_for(f'" {status} ')
        assert "Traceback" not in server.output


def test_a_delegated_responder_signs_for_the_leaves(ca: OnlineCA, tmp_path: Path) -> None:
    ca_cli(ca.directory, "issue", "ocsp-responder", "Test OCSP", "--out", str(tmp_path / "responder"))
    leaf, issuer = ca.leaf(), ca.intermediate()
    extra = ("--responder", str(tmp_path / "responder.pem"), "--responder-key", str(tmp_path / "responder.key"))
    with ca_serve(ca, *extra) as server:
        answer = _post(f"{ca.url}/ocsp", ocsp_request(leaf, issuer))
        result = check_ocsp_response(answer.body, leaf, issuer, datetime.now(UTC))
        assert result.status == "good" and "delegated responder" in result.responder
        answer = _post(f"{ca.url}/ocsp", ocsp_request(issuer, ca.root()))  # the intermediate: the root signs
        assert check_ocsp_response(answer.body, issuer, ca.root(), datetime.now(UTC)).status == "good"
        server.wait_for("signed by the delegated responder")
        server.wait_for("signed by the root")


def test_serve_refuses_a_responder_of_another_ca_and_a_bad_duration(ca: OnlineCA, tmp_path: Path) -> None:
    import subprocess

    from ca_serve_helpers import GLASSTLS

    run = [*GLASSTLS, "ca", "--dir", str(ca.directory), "serve", "--listen", "127.0.0.1:0"]
    done = subprocess.run([*run, "--next-update", "soon"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "--next-update 'soon'" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run(
        [*run, "--responder", str(ca.server_pem), "--responder-key", str(ca.server_key)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "OCSPSigning" in done.stderr and "Traceback" not in done.stderr


def test_a_new_connection_takes_the_slot_of_the_one_waiting_longest(ca: OnlineCA) -> None:
    """Connections that send nothing (or a byte now and then) held every slot until their 10 s deadline,
    so 64 of them kept everyone out. Now, with every slot taken, a new connection closes the one that
    has waited longest for its request and takes its slot, as nginx reuses idle keep-alive connections."""
    leaf, issuer = ca.leaf(), ca.intermediate()
    with ca_serve(ca, "--max-connections", "2") as server:
        idle = [socket.create_connection(("127.0.0.1", ca.port), timeout=WAIT) for _ in range(2)]
        try:
            time.sleep(0.3)  # the server accepts both and waits for their requests
            good = _post(f"{ca.url}/ocsp", ocsp_request(leaf, issuer))
            assert check_ocsp_response(good.body, leaf, issuer, datetime.now(UTC)).status == "good"
            server.wait_for(r"closed after \d+\.\d s without a request: all slots taken")
            assert idle[0].recv(1) == b""  # the first one, closed for it
            idle[1].sendall(b"GET /crl.der HTTP/1.1\r\nHost: x\r\n\r\n")  # the other is still served
            assert idle[1].recv(12).startswith(b"HTTP/1.1 200")
        finally:
            for sock in idle:
                sock.close()


def test_an_error_answer_reaches_a_client_still_sending(ca: OnlineCA) -> None:
    """A 413 for a body the server will not read: it closes its side and drops what still comes for a
    moment before closing, so the client can send its body to the end and read the answer; closing
    with data unread resets the connection, and the client's writes fail before it reads."""
    head = b"POST /ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/ocsp-request\r\n"
    head += b"Content-Length: 2000000\r\n\r\n"
    with ca_serve(ca), socket.create_connection(("127.0.0.1", ca.port), timeout=WAIT) as sock:
        failures: list[BaseException] = []

        def send_all() -> None:
            try:
                sock.sendall(head + b"\x00" * 2_000_000)
            except OSError as exc:
                failures.append(exc)

        sender = threading.Thread(target=send_all)
        sender.start()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        sender.join(WAIT)
        assert _status(answer) == 413
        assert failures == []


def test_init_url_is_checked_and_excludes_the_single_urls(tmp_path: Path) -> None:
    from glasstls.errors import ConfigError
    from glasstls.x509.ca import CertificateAuthority

    with pytest.raises(ConfigError, match="give the responder's base as http://HOST:PORT"):
        CertificateAuthority.init(tmp_path / "a", url="https://127.0.0.1:8080")
    with pytest.raises(ConfigError, match="not both"):
        CertificateAuthority.init(tmp_path / "b", url="http://127.0.0.1:8080", crl_url="http://x/crl")
    ca = CertificateAuthority.init(tmp_path / "c", url="http://127.0.0.1:8080/", with_intermediate=False)
    leaf = ca.issue_server(["localhost"]).certificate
    points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for n in points[0].full_name] == ["http://127.0.0.1:8080/crl.der"]  # the root's, which signs
    from cryptography.x509.oid import AuthorityInformationAccessOID as AIA

    assert aia_url(leaf, AIA.CA_ISSUERS) == "http://127.0.0.1:8080/root.der"
    assert CertificateAuthority.load(tmp_path / "c").url == "http://127.0.0.1:8080"


@pytest.mark.parametrize("fetch_mode", ["ocsp", "crl"])
def test_the_glasstls_client_online_asks_ca_serve(ca: OnlineCA, tmp_path: Path, fetch_mode: str) -> None:
    """A server that staples nothing; the client fetches from where the certificates point (both levels)."""
    import re

    import glasstls
    from ca_serve_helpers import GLASSTLS, Process
    from glasstls import ClientConfig
    from glasstls.errors import AlertError
    from glasstls.x509.store import TrustStore

    ca_cli(ca.directory, "issue", "server", "localhost", "--out", str(tmp_path / "online"))
    config = ClientConfig(trust_store=TrustStore.from_file(ca.root_pem), revocation_fetch=fetch_mode, revocation="hard")
    command = [*GLASSTLS, "server", "--listen", "127.0.0.1:0", "--cert", str(tmp_path / "online.pem")]
    command += ["--key", str(tmp_path / "online.key")]
    with ca_serve(ca) as responder, Process(command, name="glasstls server") as server:
        listening = re.search(r":(\d+)$", server.wait_for(r"listening on 127\.0\.0\.1:\d+"))
        assert listening is not None
        port = int(listening.group(1))

        def handshake() -> None:
            with glasstls.connect("127.0.0.1", port, config, server_name="localhost", timeout=WAIT) as tls:
                tls.sendall(b"ping\n")

        handshake()
        ca_cli(ca.directory, "revoke", str(tmp_path / "online.pem"), "--reason", "keyCompromise")
        config = ClientConfig(  # a new fetcher: the first one cached the good answer until its nextUpdate
            trust_store=TrustStore.from_file(ca.root_pem), revocation_fetch=fetch_mode, revocation="hard"
        )
        with pytest.raises(AlertError, match="revoked"):
            handshake()
        wanted = {"ocsp": r'"GET /ocsp/.*" 200 .*: revoked', "crl": r'"GET /root-crl.der" 200 .*crl of the root'}
        responder.wait_for(wanted[fetch_mode])
