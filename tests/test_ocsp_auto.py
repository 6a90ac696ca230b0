"""``glasstls server --ocsp auto``: the staple fetched from ``glasstls ca serve`` (both real processes on
127.0.0.1), seen by ``openssl s_client -status`` and by the glasstls client with ocsp="require"; refreshed
half way to nextUpdate, so a revocation at the CA reaches the staple; a responder down at start (the
server starts, logs it, staples nothing, then staples once the responder is back) and down later (the
last response fetched stays stapled until it goes stale). And the library side: StapleSource.from_responder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

import glasstls
from ca_serve_helpers import GLASSTLS, WAIT, OnlineCA, Process, ca_cli, ca_serve, online_ca, wait_until_refused
from glasstls import ClientConfig
from glasstls.errors import AlertError, ConfigError
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.stapling import StapleSource
from glasstls.x509.store import TrustStore
from online_responder import Pki, Responder, free_port, serving

OPENSSL = shutil.which("openssl")
pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed"),
]


@pytest.fixture
def ca(tmp_path: Path) -> OnlineCA:
    return online_ca(tmp_path)


def stapling_server(ca: OnlineCA, *extra: str) -> tuple[Process, int]:
    """``glasstls server --ocsp auto`` for the CA's server certificate; the process and its port."""
    command = [*GLASSTLS, "server", "--listen", "127.0.0.1:0", "--cert", str(ca.server_pem)]
    command += ["--key", str(ca.server_key), "--ocsp", "auto", *extra]
    server = Process(command, name="glasstls server --ocsp auto").__enter__()
    try:
        line = server.wait_for(r"listening on 127\.0\.0\.1:\d+", timeout=WAIT + 10)
    except BaseException:
        server.stop()
        raise
    match = re.search(r":(\d+)$", line)
    assert match is not None, line
    return server, int(match.group(1))


def s_client_status(ca: OnlineCA, port: int) -> str:
    """What ``openssl s_client -status`` says of the staple (its whole output)."""
    assert OPENSSL is not None
    command = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-status"]
    command += ["-CAfile", str(ca.root_pem)]
    done = subprocess.run(command, input="", capture_output=True, text=True, timeout=WAIT)
    return done.stdout + done.stderr


def glasstls_client(ca: OnlineCA, port: int) -> None:
    """A handshake by the glasstls client that requires a good staple (raises AlertError otherwise)."""
    config = ClientConfig(trust_store=TrustStore.from_file(ca.root_pem), ocsp="require")
    with glasstls.connect("127.0.0.1", port, config, server_name="localhost", timeout=WAIT) as tls:
        tls.sendall(b"ping\n")


def test_the_server_staples_what_the_ca_says_and_a_revocation_reaches_the_staple(ca: OnlineCA) -> None:
    with ca_serve(ca, "--next-update", "4s") as responder:
        server, port = stapling_server(ca)
        with server:
            server.wait_for(
                r"OCSP fetch for CN=\S+, GET http://127\.0\.0\.1:\d+/ocsp \(HTTP 200.*\): good, valid until .*; "
                r"next refresh"
            )
            output = s_client_status(ca, port)
            assert "OCSP Response Status: successful" in output and "Cert Status: good" in output, output
            glasstls_client(ca, port)

            ca_cli(ca.directory, "revoke", str(ca.server_pem), "--reason", "keyCompromise")
            # nextUpdate is 4 s away: the server fetches again half way, within about 2 s.
            server.wait_for(r"OCSP fetch .*: revoked, valid until", timeout=WAIT)
            output = s_client_status(ca, port)
            assert "Cert Status: revoked" in output and "Revocation Reason: keyCompromise" in output, output
            with pytest.raises(AlertError, match="revoked"):
                glasstls_client(ca, port)
        responder.wait_for(r": revoked, signed by the intermediate")


def test_a_responder_down_at_start_leaves_the_server_up_without_staple_until_it_is_back(ca: OnlineCA) -> None:
    server, port = stapling_server(ca, "--ocsp-retry", "1")
    with server:
        server.wait_for(
            r"OCSP fetch for CN=\S+, http://127\.0\.0\.1:\d+/ocsp failed: .*nothing to staple until a fetch succeeds"
        )
        output = s_client_status(ca, port)
        assert "OCSP response: no response sent" in output and "CONNECTED" in output, output
        with pytest.raises(AlertError, match="stapled no OCSP response"):
            glasstls_client(ca, port)
        with ca_serve(ca):
            server.wait_for(r"OCSP fetch for CN=\S+, GET .*: good", timeout=WAIT)
            assert "Cert Status: good" in s_client_status(ca, port)
            glasstls_client(ca, port)


def test_a_responder_down_later_leaves_the_last_response_stapled_until_it_is_stale(ca: OnlineCA) -> None:
    responder = ca_serve(ca, "--next-update", "12s")
    try:
        server, port = stapling_server(ca, "--ocsp-retry", "1")
        with server:
            server.wait_for(r"OCSP fetch for CN=\S+, GET .*: good")
            responder.stop()
            wait_until_refused(ca.port)
            # Half way to nextUpdate (about 6 s), the refresh fails and the old response stays.
            failed = server.wait_for(r"failed: .*keeping the last response fetched until it goes stale", timeout=WAIT)
            output = s_client_status(ca, port)
            assert "Cert Status: good" in output, f"{failed}\n{output}"
            glasstls_client(ca, port)
    finally:
        responder.stop()


def test_from_responder_fetches_and_says_when_to_refresh(ca: OnlineCA) -> None:
    chain = x509.load_pem_x509_certificates(ca.server_pem.read_bytes())
    lines: list[str] = []
    with ca_serve(ca, "--next-update", "1h"):
        source = StapleSource.from_responder(chain, log=lines.append, start=False)
        now = datetime.now(UTC)
        due = source.refresh(now)
        assert timedelta(minutes=29) <= due - now <= timedelta(minutes=31)  # half way to nextUpdate
        der, why = source.staple_for(chain[0], chain[1], now)
        assert der is not None and "good" in why, why
        assert len(lines) == 1 and "GET http://127.0.0.1" in lines[0] and "next refresh" in lines[0]
    wait_until_refused(ca.port)
    later = now + timedelta(minutes=31)
    due = source.refresh(later)  # the responder is gone: retry in a minute, keep the response
    assert due == later + timedelta(minutes=1)
    assert "failed" in lines[-1] and "keeping the last response fetched" in lines[-1]
    assert source.staple_for(chain[0], chain[1], later)[0] == der


def test_from_responder_refuses_a_chain_without_issuer_or_a_certificate_without_ocsp_url() -> None:
    throwaway = ThrowawayCA.create().with_intermediate()
    identity = throwaway.issue_server(["localhost"])
    with pytest.raises(ConfigError, match="needs its issuer"):
        StapleSource.from_responder(identity.chain[:1], start=False)
    with pytest.raises(ConfigError, match="names no http:// OCSP responder"):
        StapleSource.from_responder(identity.chain, start=False)


def test_ocsp_auto_for_a_certificate_without_ocsp_url_fails_at_start(tmp_path: Path) -> None:
    directory = tmp_path / "plain-ca"
    ca_cli(directory, "init")
    ca_cli(directory, "issue", "server", "localhost", "--out", str(tmp_path / "plain"))
    command = [*GLASSTLS, "server", "--listen", "127.0.0.1:0", "--cert", str(tmp_path / "plain.pem")]
    command += ["--key", str(tmp_path / "plain.key"), "--ocsp", "auto"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=WAIT + 20)
    assert done.returncode == 2 and "names no http:// OCSP responder" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and time.monotonic() - started < WAIT + 20


def test_auto_and_files_mix_by_position(ca: OnlineCA, tmp_path: Path) -> None:
    from glasstls.cli.main import build_parser
    from glasstls.cli.server import _with_auto_staples

    ca_cli(ca.directory, "issue", "server", "second.example", "--out", str(tmp_path / "second"))
    ca_cli(ca.directory, "ocsp", str(tmp_path / "second.pem"), "--out", str(tmp_path / "second.der"))
    certs = ["--cert", str(ca.server_pem), "--key", str(ca.server_key)]
    certs += ["--cert", str(tmp_path / "second.pem"), "--key", str(tmp_path / "second.key")]
    args = build_parser().parse_args(["server", *certs, "--ocsp", "auto", "--ocsp", str(tmp_path / "second.der")])
    config = _with_auto_staples(args)
    sources = [c.ocsp for c in config.certificates]
    try:
        assert sources[0] is not None and sources[0].description == f"OCSP responder {ca.url}/ocsp"
        assert sources[1] is not None and sources[1].description == str(tmp_path / "second.der")
    finally:
        for source in sources:
            if source is not None:
                source.stop()
    args = build_parser().parse_args(["server", *certs, "--ocsp", "auto"])  # one 'auto' alone: every --cert
    config = _with_auto_staples(args)
    try:
        assert all(c.ocsp is not None and c.ocsp.description.startswith("OCSP responder") for c in config.certificates)
    finally:
        for certified in config.certificates:
            if certified.ocsp is not None:
                certified.ocsp.stop()


def test_an_unknown_answer_is_never_stapled_over_the_good_one_held() -> None:
    """A responder that answers "unknown" (it does not know the certificate yet, or any more): a client
    refuses that staple, so the server keeps the last good one and asks again after retry_after, as
    nginx staples only good and revoked answers. A revoked answer is stapled (the test above)."""
    pki = Pki.create(intermediate_urls=(None, None))
    port = free_port()
    leaf = pki.leaf(f"http://127.0.0.1:{port}/ocsp", None)
    responder = Responder(pki, statuses={leaf.certificate.serial_number: "good"})
    lines: list[str] = []
    with serving(responder, port):
        source = StapleSource.from_responder(leaf.chain, log=lines.append, start=False)
        now = datetime.now(UTC)
        source.refresh(now)
        der, why = source.staple_for(leaf.chain[0], leaf.chain[1], now)
        assert der is not None and "good" in why, why
        responder.statuses[leaf.certificate.serial_number] = "unknown"
        later = now + timedelta(hours=13)  # past the half-way refresh of a day's response
        assert source.refresh(later) == later + source.retry_after
        assert "answered 'unknown' for CN=localhost: not stapled" in lines[-1], lines[-1]
        assert "keeping the last response fetched" in lines[-1], lines[-1]
        assert source.staple_for(leaf.chain[0], leaf.chain[1], later)[0] == der
