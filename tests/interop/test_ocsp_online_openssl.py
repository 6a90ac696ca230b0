"""`openssl ocsp` as the responder a glasstls client asks online (issue 12, item 1).

The certificates name ``http://127.0.0.1:PORT/`` in their Authority Information
Access; ``openssl ocsp -index index.txt -port PORT`` answers from an
OpenSSL CA database (one line per certificate: V for valid, R for revoked with
the revocation time and reason), signed by the issuing CA. The glasstls server
does not staple, so everything the client learns it fetched itself. The
responder is started by each test and stopped in ``finally``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from interop_peers import OPENSSL

from glasstls import ClientConfig, ClientConnection, ProtocolVersion, ServerConfig, ServerConnection
from glasstls.enums import AlertDescription
from glasstls.errors import AlertError
from glasstls.events import ConnectionClosed, Event
from glasstls.observe import EventList, VerificationTrace
from glasstls.x509 import online
from glasstls.x509.mint import Identity, certificates_pem, private_key_pem
from glasstls.x509.online import OnlineRevocation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the PKI whose certificates name URLs
from online_responder import Pki, certified, free_port

pytestmark = pytest.mark.interop
VERSIONS = {"1.3": ProtocolVersion.TLSv1_3, "1.2": ProtocolVersion.TLSv1_2}


def index_line(cert: x509.Certificate, revoked: bool) -> str:
    """One line of OpenSSL's CA database: status, expiry, revocation[,reason], serial (hex), file, DN."""
    expiry = cert.not_valid_after_utc.strftime("%y%m%d%H%M%SZ")
    revocation = "250301120000Z,keyCompromise" if revoked else ""
    serial = f"{cert.serial_number:X}"
    serial = serial if len(serial) % 2 == 0 else "0" + serial
    subject = "/" + "/".join(rdn.rfc4514_string() for rdn in reversed(cert.subject.rdns))
    return "\t".join(("R" if revoked else "V", expiry, revocation, serial, "unknown", subject)) + "\n"


@contextmanager
def openssl_ocsp(pki: Pki, port: int, entries: list[tuple[x509.Certificate, bool]], tmp: Path) -> Iterator[Path]:
    """``openssl ocsp`` on 127.0.0.1:``port`` answering for ``entries`` (certificate, revoked); yields its log."""
    (tmp / "index.txt").write_text("".join(index_line(c, r) for c, r in entries))
    (tmp / "ca.pem").write_bytes(certificates_pem([pki.issuer.certificate]))
    (tmp / "ca.key").write_bytes(private_key_pem(pki.issuer.key))
    log = tmp / "ocsp.log"
    # OpenSSL 3.0's -port takes a number only (it listens on every address); the certificates name 127.0.0.1.
    args = ["-index", "index.txt", "-port", str(port), "-CA", "ca.pem"]
    args += ["-rsigner", "ca.pem", "-rkey", "ca.key", "-nmin", "10"]  # signed by the CA; nextUpdate in 10 min
    with log.open("wb") as out:
        proc = subprocess.Popen([OPENSSL, "ocsp", *args], cwd=tmp, stdout=out, stderr=subprocess.STDOUT)
    try:
        # Ready once it says so: a probe connection of our own would hold the one-at-a-time responder.
        for _ in range(200):
            if proc.poll() is not None:
                raise AssertionError(f"openssl ocsp exited: {log.read_text(errors='replace')}")
            if b"waiting for OCSP client connections" in log.read_bytes():
                break
            time.sleep(0.05)
        else:
            raise AssertionError("openssl ocsp did not listen")
        yield log
    finally:
        proc.kill()
        proc.wait(10)


def handshake(pki: Pki, leaf: Identity, fetcher: OnlineRevocation, **ckw: Any) -> tuple[bool, list[Event], EventList]:
    """An in-memory glasstls pair (no staple); the client asks the responder its certificate names."""
    ccfg = ClientConfig(trust_store=pki.trust_store(), revocation_fetcher=fetcher, revocation_fetch="ocsp", **ckw)
    log = EventList()
    client = ClientConnection(ccfg, server_name="localhost", observer=log)
    server = ServerConnection(ServerConfig(certificates=(certified(leaf),)))
    events: list[Event] = []
    for _ in range(8):
        out = client.data_to_send()
        if out:
            server.receive_bytes(out)
        back = server.data_to_send()
        if back:
            events += client.receive_bytes(back)
        if not out and not back:
            break
    return client.handshake_complete, events, log


def fetch_lines(log: EventList) -> list[VerificationTrace]:
    return [e for e in log.events if isinstance(e, VerificationTrace) and e.subject.startswith("OCSP fetch")]


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_openssl_ocsp_answers_good_and_revoked(tmp_path: Path, version: str) -> None:
    v = VERSIONS[version]
    pki, port = Pki.create(), free_port()
    url = f"http://127.0.0.1:{port}/"
    good, revoked = pki.leaf(url, None), pki.leaf(url, None)
    fetcher = OnlineRevocation()
    with openssl_ocsp(pki, port, [(good.certificate, False), (revoked.certificate, True)], tmp_path) as log:
        ok, _events, trace = handshake(pki, good, fetcher, revocation="hard", tls_min=v, tls_max=v)
        assert ok, log.read_text(errors="replace")
        (line,) = fetch_lines(trace)
        assert line.ok and line.detail.startswith(f"GET {url}, HTTP 200"), line.detail
        assert "good, signed by the issuer CN=online root" in line.detail
        done, events, _trace = handshake(pki, revoked, fetcher, tls_min=v, tls_max=v)
        # The good answer is cached by CertID until its nextUpdate: no second request for it.
        again, _events, trace = handshake(pki, good, fetcher, tls_min=v, tls_max=v)
    assert not done
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed and isinstance(closed[0].error, AlertError)
    assert closed[0].error.description == AlertDescription.certificate_revoked
    assert "revoked on 2025-03-01 12:00:00 UTC (keyCompromise)" in closed[0].error.reason
    assert f"says the OCSP responder {url}" in closed[0].error.reason
    assert again and fetch_lines(trace)[0].detail.startswith(f"cache hit ({url}): good")


def test_openssl_ocsp_by_post_with_a_nonce(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 6960, Appendix A.1: the POST form (every responder must take it); OpenSSL echoes the nonce."""
    pki, port = Pki.create(), free_port()
    url = f"http://127.0.0.1:{port}/"
    leaf = pki.leaf(url, None)
    monkeypatch.setattr(online, "GET_LIMIT", 10)  # a one-certificate request is short: make every one "long"
    with openssl_ocsp(pki, port, [(leaf.certificate, False)], tmp_path) as log:
        ok, _events, trace = handshake(pki, leaf, OnlineRevocation(nonce=True), revocation="hard")
    assert ok, log.read_text(errors="replace")
    assert fetch_lines(trace)[0].detail.startswith(f"POST {url}, HTTP 200")


def test_openssl_ocsp_unknown_certificate(tmp_path: Path) -> None:
    """A certificate missing from index.txt: OpenSSL answers unknown, which the client refuses."""
    pki, port = Pki.create(), free_port()
    url = f"http://127.0.0.1:{port}/"
    leaf = pki.leaf(url, None)
    with openssl_ocsp(pki, port, [], tmp_path):
        ok, events, _trace = handshake(pki, leaf, OnlineRevocation())
    assert not ok
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed and isinstance(closed[0].error, AlertError)
    assert closed[0].error.description == AlertDescription.bad_certificate_status_response
    assert "is unknown" in closed[0].error.reason
