"""Online revocation (x509/online.py): a glasstls client asks the OCSP responder and the CRL
distribution point its server's certificate names, over real HTTP on 127.0.0.1.

The server is glasstls in memory (tests/pairs.py style: no staple unless given);
the responder and the CRL are served by tests/online_responder.py in a thread,
started by each test and stopped in ``finally``. Each outcome is checked as the
client saw it: the alert, its reason, and the trace lines (one per fetch).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import glasstls
from glasstls import ClientConfig, ProtocolVersion, ServerConfig
from glasstls.enums import AlertDescription
from glasstls.errors import AlertError, ConfigError, TLSError
from glasstls.events import ConnectionClosed, Event
from glasstls.observe import EventList, VerificationTrace
from glasstls.x509 import online
from glasstls.x509.http_fetch import fetch
from glasstls.x509.mint import Identity, certificates_pem
from glasstls.x509.online import OnlineRevocation, crl_urls, ocsp_urls
from glasstls.x509.revocation_cache import RevocationCache
from online_responder import REVOKED_AT, Pki, Responder, certified, der_crl, free_port, make_crl, serving
from pairs import TamperingClient, TamperingServer
from revocation_helpers import undecodable_name

VERSIONS = {"1.3": ProtocolVersion.TLSv1_3, "1.2": ProtocolVersion.TLSv1_2}


@dataclass
class Outcome:
    client_events: list[Event]
    log: EventList
    complete: bool

    def lines(self, prefix: str = "") -> list[VerificationTrace]:
        return [e for e in self.log.events if isinstance(e, VerificationTrace) and e.subject.startswith(prefix)]

    def error(self) -> AlertError:
        closed = [e for e in self.client_events if isinstance(e, ConnectionClosed)]
        assert closed and isinstance(closed[0].error, AlertError), self.client_events
        return closed[0].error


def connect(
    pki: Pki, identity: Identity, version: str = "1.3", *, fetcher: OnlineRevocation | None = None, **ckw: Any
) -> Outcome:
    """One in-memory handshake; the client's online checks go to the real responder."""
    v = VERSIONS[version]
    if fetcher is not None:
        ckw["revocation_fetcher"] = fetcher
    ccfg = ClientConfig(trust_store=pki.trust_store(), tls_min=v, tls_max=v, **ckw)
    scfg = ServerConfig(certificates=(certified(identity),), tls_min=v, tls_max=v)
    log = EventList()
    client = TamperingClient(ccfg, "localhost", observer=log)
    server = TamperingServer(scfg)
    events: list[Event] = []
    for _ in range(8):
        to_server = client.data_to_send()
        if to_server:
            server.receive_bytes(to_server)
        to_client = server.data_to_send()
        if to_client:
            events += client.receive_bytes(to_client)
        if not to_server and not to_client:
            break
    return Outcome(events, log, client.handshake_complete)


@dataclass
class World:
    pki: Pki
    responder: Responder
    port: int

    @property
    def ocsp_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ocsp"

    @property
    def crl_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ca.crl"

    def leaf(self, *, ocsp: bool = True, crl: bool = True) -> Identity:
        return self.pki.leaf(self.ocsp_url if ocsp else None, self.crl_url if crl else None)


@pytest.fixture
def world() -> Iterator[World]:
    pki = Pki.create()
    port = free_port()
    responder = Responder(pki)
    with serving(responder, port):
        yield World(pki, responder, port)


# -- OCSP ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_good_by_ocsp_is_accepted_with_a_fetch_line(world: World, version: str) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    out = connect(world.pki, leaf, version, revocation_fetch="ocsp")
    assert out.complete
    (line,) = out.lines("OCSP fetch for CN=localhost")
    assert line.ok and line.detail.startswith(f"GET {world.ocsp_url}, HTTP 200, ")
    assert " ms: good, signed by the issuer CN=online root" in line.detail
    assert world.responder.requests[0][0] == "GET" and world.responder.requests[0][1].startswith("/ocsp/")
    assert not out.lines("online revocation")  # it was checked: no "not checked" line


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_revoked_by_ocsp_is_certificate_revoked(world: World, version: str) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "revoked"
    for policy in ("soft", "hard"):
        out = connect(world.pki, leaf, version, revocation_fetch="ocsp", revocation=policy)
        error = out.error()
        assert error.description == AlertDescription.certificate_revoked
        assert "server certificate CN=localhost was revoked on 2025-03-01 12:00:00 UTC (keyCompromise)" in error.reason
        assert f"says the OCSP responder {world.ocsp_url}" in error.reason
        assert not out.lines("OCSP fetch")[0].ok


def test_delegated_responder_is_accepted(world: World) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    world.responder.signer = world.pki.responder_identity()
    out = connect(world.pki, leaf, revocation_fetch="ocsp", revocation="hard")
    assert out.complete
    assert "signed by delegated responder CN=online responder" in out.lines("OCSP fetch")[0].detail


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("expired", "is stale: its nextUpdate"),
        ("stranger", "is signed by a responder that is neither the issuer CN=online root nor"),
        ("forged", "names CN=online root as its signer, but the signature does not verify"),
    ],
)
def test_expired_or_wrongly_signed_response_is_refused_even_soft(world: World, mode: str, words: str) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    world.responder.mode = mode
    out = connect(world.pki, leaf, revocation_fetch="ocsp", revocation="soft")
    error = out.error()
    assert error.description == AlertDescription.bad_certificate_status_response
    assert f"the OCSP response from {world.ocsp_url} for server certificate CN=localhost" in error.reason
    assert words in error.reason and "stapled" not in error.reason and "the server must" not in error.reason


def test_status_unknown_is_refused(world: World) -> None:
    out = connect(world.pki, world.leaf(), revocation_fetch="ocsp")  # the responder knows no serial
    error = out.error()
    assert error.description == AlertDescription.bad_certificate_status_response
    assert "is unknown" in error.reason and world.ocsp_url in error.reason


def test_nonce_when_asked(world: World) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    assert connect(world.pki, leaf, fetcher=OnlineRevocation(nonce=True), revocation_fetch="ocsp").complete
    world.responder.mode = "no_nonce"
    error = connect(world.pki, leaf, fetcher=OnlineRevocation(nonce=True), revocation_fetch="ocsp").error()
    assert error.description == AlertDescription.bad_certificate_status_response
    assert "carries no nonce" in error.reason


def test_short_request_by_get_long_one_by_post(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 6960, Appendix A.1: GET carries the request in the URL when it is short; POST otherwise.
    A one-certificate request is always short (about 100 bytes encoded), so the limit is lowered to see POST."""
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    assert connect(world.pki, leaf, fetcher=OnlineRevocation(nonce=True), revocation_fetch="ocsp").complete
    assert world.responder.requests[-1][0] == "GET"
    monkeypatch.setattr(online, "GET_LIMIT", 10)
    out = connect(world.pki, leaf, fetcher=OnlineRevocation(), revocation_fetch="ocsp")
    assert out.complete and world.responder.requests[-1] == ("POST", "/ocsp")
    assert out.lines("OCSP fetch")[0].detail.startswith(f"POST {world.ocsp_url}, HTTP 200")


# -- soft and hard fail ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["garbage", "try_later", "http500", "undecodable"])
def test_no_answer_soft_accepts_and_says_so(world: World, mode: str) -> None:
    leaf = world.leaf(crl=False)
    world.responder.mode = mode
    out = connect(world.pki, leaf, revocation_fetch="ocsp", revocation="soft")
    assert out.complete
    (fetch_line,) = out.lines("OCSP fetch")
    assert not fetch_line.ok and world.ocsp_url in fetch_line.detail
    (soft,) = out.lines("online revocation for CN=localhost")
    assert soft.ok and soft.detail.endswith("accepted (soft-fail)") and world.ocsp_url in soft.detail


@pytest.mark.parametrize("mode", ["garbage", "try_later", "http500", "undecodable"])
def test_no_answer_hard_refuses_naming_the_url(world: World, mode: str) -> None:
    world.responder.mode = mode
    error = connect(world.pki, world.leaf(crl=False), revocation_fetch="ocsp", revocation="hard").error()
    assert error.description == AlertDescription.certificate_unknown
    assert f"OCSP responder {world.ocsp_url}" in error.reason and "revocation='hard'" in error.reason
    expected = {
        "garbage": "not a DER OCSP response",
        "try_later": "answered try_later",
        "http500": "HTTP 500",
        "undecodable": "the response does not parse",
    }
    assert expected[mode] in error.reason


def test_responder_down() -> None:
    pki = Pki.create()
    port = free_port()  # nobody listens there
    leaf = pki.leaf(f"http://127.0.0.1:{port}/ocsp", None)
    out = connect(pki, leaf, revocation_fetch="ocsp", revocation="soft")
    assert out.complete
    (soft,) = out.lines("online revocation")
    assert "cannot connect to 127.0.0.1 port" in soft.detail and "accepted (soft-fail)" in soft.detail
    error = connect(pki, leaf, revocation_fetch="ocsp", revocation="hard").error()
    assert error.description == AlertDescription.certificate_unknown
    assert f"OCSP responder http://127.0.0.1:{port}/ocsp: cannot connect" in error.reason


def test_slow_responder_hits_the_fetch_deadline(world: World) -> None:
    leaf = world.leaf(crl=False)
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    world.responder.delay = 2.0
    fetcher = OnlineRevocation(fetch_timeout=0.3)
    start = time.monotonic()
    out = connect(world.pki, leaf, fetcher=fetcher, revocation_fetch="ocsp", revocation="soft")
    assert time.monotonic() - start < 1.8
    assert out.complete and "deadline passed" in out.lines("online revocation")[0].detail
    error = connect(world.pki, leaf, fetcher=fetcher, revocation_fetch="ocsp", revocation="hard").error()
    assert error.description == AlertDescription.certificate_unknown and "deadline passed" in error.reason


def test_handshake_deadline_bounds_all_fetches(world: World) -> None:
    world.responder.delay = 0.4  # the OCSP answer (garbage) takes 0.4 s of the 0.5 s; the CRL gets the rest
    world.responder.mode = "garbage"
    world.responder.crl_body = der_crl(make_crl(world.pki.issuer))
    fetcher = OnlineRevocation(fetch_timeout=1.0, handshake_timeout=0.5)
    start = time.monotonic()
    out = connect(world.pki, world.leaf(), fetcher=fetcher, revocation_fetch="both", revocation="soft")
    assert time.monotonic() - start < 1.2
    assert out.complete
    (crl_line,) = out.lines("CRL fetch")
    assert not crl_line.ok and "deadline passed" in crl_line.detail


def test_no_url_in_the_certificate(world: World) -> None:
    leaf = world.leaf(ocsp=False, crl=False)
    out = connect(world.pki, leaf, revocation_fetch="both")
    assert out.complete and world.responder.requests == []
    assert "no OCSP responder in its Authority Information Access" in out.lines("online revocation")[0].detail
    error = connect(world.pki, leaf, revocation_fetch="both", revocation="hard").error()
    assert (
        error.description == AlertDescription.certificate_unknown and "no http CRL distribution point" in error.reason
    )


# -- CRLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_revoked_by_fetched_crl(world: World, version: str) -> None:
    leaf = world.leaf(ocsp=False)
    world.responder.crl_body = der_crl(make_crl(world.pki.issuer, {leaf.certificate.serial_number: REVOKED_AT}))
    error = connect(world.pki, leaf, version, revocation_fetch="crl").error()
    assert error.description == AlertDescription.certificate_revoked
    assert "server certificate CN=localhost was revoked on 2025-03-01" in error.reason
    assert f"fetched from {world.crl_url}" in error.reason


def test_good_by_fetched_crl_and_pem_accepted(world: World) -> None:
    leaf = world.leaf(ocsp=False)
    crl = make_crl(world.pki.issuer, {12345: REVOKED_AT})
    world.responder.crl_body = der_crl(crl)
    out = connect(world.pki, leaf, revocation_fetch="crl", revocation="hard")
    assert out.complete
    (line,) = out.lines("CRL fetch for CN=localhost")
    assert line.ok and line.detail.startswith(f"GET {world.crl_url}, HTTP 200, ")
    assert "not on the CRL of CN=online root" in line.detail


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not a CRL at all", "the body is not a CRL"),
        ("stale", "is not current"),
        ("stranger", "signature does not verify"),
        ("undecodable", "the CRL does not parse: its issuer name does not parse"),
        (None, "HTTP 404"),
    ],
)
def test_crl_without_an_answer(world: World, body: Any, words: str) -> None:
    leaf = world.leaf(ocsp=False)
    if body == "stale":
        body = der_crl(make_crl(world.pki.issuer, stale=True))
    elif body == "undecodable":  # the issuer's name a UTF8String that is not UTF-8 (read lazily: it was internal_error)
        issuer_name = world.pki.issuer.certificate.subject.rfc4514_string().removeprefix("CN=")
        body = undecodable_name(der_crl(make_crl(world.pki.issuer)), issuer_name)
    elif body == "stranger":
        body = der_crl(make_crl(world.pki.issuer, signer=Pki.create().root.key))
    world.responder.crl_body = body
    out = connect(world.pki, leaf, revocation_fetch="crl")
    assert out.complete and words in out.lines("online revocation")[0].detail
    error = connect(world.pki, leaf, revocation_fetch="crl", revocation="hard").error()
    assert error.description == AlertDescription.certificate_unknown
    assert world.crl_url in error.reason and words in error.reason


def test_both_falls_back_to_the_crl(world: World) -> None:
    leaf = world.leaf()
    world.responder.mode = "garbage"
    world.responder.crl_body = der_crl(make_crl(world.pki.issuer, {leaf.certificate.serial_number: REVOKED_AT}))
    error = connect(world.pki, leaf, revocation_fetch="both", revocation="soft").error()
    assert error.description == AlertDescription.certificate_revoked


def test_intermediate_checked_too() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    pki = Pki.create(intermediate_urls=(None, f"{base}/ca.crl"))
    leaf = pki.leaf(f"{base}/ocsp", None)
    responder = Responder(pki)
    responder.statuses[leaf.certificate.serial_number] = "good"
    with serving(responder, port):
        # The intermediate's status comes from the root: its CRL (the responder here signs as the intermediate).
        responder.crl_body = der_crl(make_crl(pki.root))
        out = connect(pki, leaf, revocation_fetch="both", revocation="hard")
    assert out.complete, out.client_events
    assert out.lines("OCSP fetch for CN=localhost")[0].ok
    assert out.lines("CRL fetch for CN=online intermediate")[0].ok


# -- cache --------------------------------------------------------------------------------------


def test_second_connection_uses_the_cache(world: World) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    fetcher = OnlineRevocation()
    assert connect(world.pki, leaf, fetcher=fetcher, revocation_fetch="ocsp").complete
    assert len(world.responder.requests) == 1
    out = connect(world.pki, leaf, fetcher=fetcher, revocation_fetch="ocsp")
    assert out.complete and len(world.responder.requests) == 1  # no second fetch
    assert out.lines("OCSP fetch")[0].detail.startswith(f"cache hit ({world.ocsp_url}): good")
    world.responder.crl_body = der_crl(make_crl(world.pki.issuer))
    leaf2 = world.leaf(ocsp=False)
    for _ in range(2):
        assert connect(world.pki, leaf2, fetcher=fetcher, revocation_fetch="crl").complete
    assert [r for r in world.responder.requests if r[1] == "/ca.crl"] == [("GET", "/ca.crl")]


def test_config_copies_share_the_cache(world: World) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    cfg = ClientConfig(trust_store=world.pki.trust_store(), revocation_fetch="ocsp")
    assert replace(cfg, alpn=("h2",)).revocation_fetcher is cfg.revocation_fetcher


def test_cache_is_bounded_and_expires() -> None:
    cache = RevocationCache(max_entries=2)
    now = datetime.now(UTC)
    for i in range(3):
        cache.put(i, f"v{i}", now, now + timedelta(hours=1))
    assert len(cache) == 2 and cache.get(0, now) is None and cache.get(2, now) == "v2"
    assert cache.get(1, now + timedelta(hours=2)) is None  # past nextUpdate
    cache.put("stale", "x", now, now - timedelta(seconds=1))
    assert cache.get("stale", now) is None


# -- off, configuration ---------------------------------------------------------------------------


def test_off_says_not_checked_online(world: World) -> None:
    out = connect(world.pki, world.leaf())
    assert out.complete and world.responder.requests == []
    (line,) = out.lines("online revocation for CN=localhost")
    assert line.detail.startswith("revocation not checked online")


def test_off_is_silent_when_a_crl_covered_the_leaf(world: World) -> None:
    out = connect(world.pki, world.leaf(), crls=(make_crl(world.pki.issuer),))
    assert out.complete and not out.lines("online revocation")


def test_configured_crl_spares_the_fetch(world: World) -> None:
    leaf = world.leaf()
    out = connect(world.pki, leaf, crls=(make_crl(world.pki.issuer),), revocation_fetch="both", revocation="hard")
    assert out.complete and world.responder.requests == []
    assert out.lines("CRL check for CN=localhost")[0].ok


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="revocation_fetch must be one of off, ocsp, crl, both"):
        ClientConfig(revocation_fetch="always")
    with pytest.raises(ConfigError, match="timeouts"):
        OnlineRevocation(fetch_timeout=0)


def test_urls_from_the_certificate(world: World) -> None:
    cert = world.leaf().certificate
    assert ocsp_urls(cert) == (world.ocsp_url,) and crl_urls(cert) == (world.crl_url,)


def test_fetch_is_the_default(world: World) -> None:
    assert OnlineRevocation().fetch is fetch


# -- asyncio: the fetch does not block the loop ---------------------------------------------------


def _aio_handshake(world: World, leaf: Identity, **ckw: Any) -> tuple[int, Any]:
    """open_connection to a glasstls asyncio server while a ticker counts 10 ms ticks; (ticks, result or error)."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            writer.write(await reader.readline())
            await writer.drain()
        writer.close()

    async def main() -> tuple[int, Any]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                await asyncio.sleep(0.01)
                ticks += 1

        scfg = ServerConfig(certificates=(certified(leaf),))
        ccfg = ClientConfig(trust_store=world.pki.trust_store(), **ckw)
        async with await glasstls.start_server(echo, "127.0.0.1", 0, scfg) as server:
            port = server.sockets[0].getsockname()[1]
            task = asyncio.create_task(ticker())
            try:
                reader, writer = await glasstls.open_connection("127.0.0.1", port, ccfg, server_name="localhost")
                writer.write(b"ping\n")
                result: Any = await asyncio.wait_for(reader.readline(), 5)
                writer.close()
            except TLSError as exc:
                result = exc
            finally:
                stop.set()
                await task
        return ticks, result

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_asyncio_client_keeps_the_loop_running_while_it_fetches(world: World) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    world.responder.delay = 0.5  # the OCSP answer takes half a second
    ticks, result = _aio_handshake(world, leaf, revocation_fetch="ocsp", revocation="hard")
    assert result == b"ping\n"
    assert ticks >= 25, ticks  # the loop ran on during the fetch (a blocked loop would count about none)
    assert world.responder.requests and world.responder.requests[0][0] == "GET"


def test_asyncio_client_refuses_a_revoked_certificate(world: World) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "revoked"
    _ticks, result = _aio_handshake(world, leaf, revocation_fetch="ocsp")
    assert isinstance(result, AlertError) and result.description == AlertDescription.certificate_revoked


# -- the command line -----------------------------------------------------------------------------

GLASSTLS = [sys.executable, "-m", "glasstls"]


@contextlib.contextmanager
def cli_server(leaf: Identity, tmp_path: Path) -> Iterator[int]:
    """``glasstls server`` (no stapling) with ``leaf``; its port; killed at the end."""
    leaf.write(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    proc = subprocess.Popen(
        [
            *GLASSTLS,
            "server",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            str(tmp_path / "leaf.pem"),
            "--key",
            str(tmp_path / "leaf.key"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", proc.stderr.readline())
        assert match, "glasstls server did not start"
        yield int(match.group(1))
    finally:
        proc.kill()
        proc.wait(20)


def cli_client(port: int, pki: Pki, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "root.pem").write_bytes(certificates_pem([pki.root.certificate]))
    return subprocess.run(
        [
            *GLASSTLS,
            "client",
            f"127.0.0.1:{port}",
            "--servername",
            "localhost",
            "--cacert",
            str(tmp_path / "root.pem"),
            "--linger",
            "0.3",
            *args,
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_cli_revocation_fetch_explained(world: World, tmp_path: Path) -> None:
    leaf = world.leaf()
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    with cli_server(leaf, tmp_path) as port:
        res = cli_client(port, world.pki, tmp_path, "--revocation-fetch", "ocsp", "--explain")
        assert res.returncode == 0, res.stderr
        assert f"verified OCSP fetch for CN=localhost: GET {world.ocsp_url}, HTTP 200" in res.stderr
        assert "OCSP (RFC 6960) asks the CA" in res.stderr and "(privacy)" in res.stderr
        off = cli_client(port, world.pki, tmp_path, "--explain")
        assert off.returncode == 0 and "revocation not checked online" in off.stderr
        assert "No staple and no CRL said whether this certificate was revoked" in off.stderr
        world.responder.statuses[leaf.certificate.serial_number] = "revoked"
        res = cli_client(port, world.pki, tmp_path, "--revocation-fetch", "both")
        assert res.returncode != 0 and "certificate_revoked" in res.stderr and "Traceback" not in res.stderr
        assert f"says the OCSP responder {world.ocsp_url}" in res.stderr


def test_cli_hard_fail_names_the_url(tmp_path: Path) -> None:
    pki = Pki.create()
    url = f"http://127.0.0.1:{free_port()}/ocsp"  # nobody answers there
    with cli_server(pki.leaf(url, None), tmp_path) as port:
        soft = cli_client(port, pki, tmp_path, "--revocation-fetch", "ocsp", "--explain")
        assert soft.returncode == 0, soft.stderr
        assert "accepted (soft-fail)" in soft.stderr and "Soft-fail: the status could not be learned" in soft.stderr
        hard = cli_client(port, pki, tmp_path, "--revocation-fetch", "ocsp", "--revocation", "hard")
    assert hard.returncode != 0 and "certificate_unknown" in hard.stderr and "Traceback" not in hard.stderr
    assert f"OCSP responder {url}: cannot connect" in hard.stderr


# -- with glasstls's own CA --------------------------------------------------------------------------


def test_certificates_of_the_ca_tool_revoked_at_the_ca(tmp_path: Path) -> None:
    """`glasstls ca` with --ocsp-url/--crl-url: its certificates point here; a revocation at the CA is seen
    by the client through the OCSP answer the CA signs and through the CRL it publishes."""
    from glasstls.x509.ca import CertificateAuthority

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ca = CertificateAuthority.init(
        tmp_path / "ca", with_intermediate=False, ocsp_url=f"{base}/ocsp", crl_url=f"{base}/ca.crl"
    )
    leaf = ca.issue_server(["localhost"])
    assert ocsp_urls(leaf.certificate) == (f"{base}/ocsp",) and crl_urls(leaf.certificate) == (f"{base}/ca.crl",)
    pki = Pki(ca.root, ca.root, ())

    def from_the_ca(request_der: bytes) -> bytes:
        request = x509.ocsp.load_der_ocsp_request(request_der)
        assert request.serial_number == leaf.certificate.serial_number
        return der_of(ca.ocsp_response(leaf.certificate, datetime.now(UTC)))

    responder = Responder(pki, answer_with=from_the_ca)
    with serving(responder, port):
        responder.crl_body = der_crl(ca.crl(datetime.now(UTC)))
        assert connect(pki, leaf, revocation_fetch="both", revocation="hard").complete
        ca.revoke(leaf.certificate, "keyCompromise")
        error = connect(pki, leaf, revocation_fetch="ocsp").error()
        assert error.description == AlertDescription.certificate_revoked and "(keyCompromise)" in error.reason
        responder.crl_body = der_crl(ca.crl(datetime.now(UTC)))
        error = connect(pki, leaf, revocation_fetch="crl").error()
        assert (
            error.description == AlertDescription.certificate_revoked and f"fetched from {base}/ca.crl" in error.reason
        )


def der_of(response: x509.ocsp.OCSPResponse) -> bytes:
    return response.public_bytes(serialization.Encoding.DER)


def test_url_with_control_characters_is_not_fetched_and_shown_escaped(world: World) -> None:
    leaf = world.pki.leaf(world.ocsp_url + "\n\x1b[31mx", None)
    out = connect(world.pki, leaf, revocation_fetch="ocsp")
    assert out.complete and world.responder.requests == []
    (line,) = out.lines("OCSP fetch")
    assert "\\n\\x1b[31mx: the URL holds control characters; not fetched" in line.detail
    assert "\n" not in line.detail and "\x1b" not in out.lines("online revocation")[0].detail


def test_a_responder_that_did_not_answer_is_not_asked_again_for_a_while(world: World) -> None:
    """Under soft-fail a dead responder would cost every handshake its fetch deadline: the fetcher
    remembers the URL for retry_after seconds, says so in the trace, and asks again afterwards."""
    leaf = world.leaf(crl=False)
    world.responder.statuses[leaf.certificate.serial_number] = "good"
    world.responder.mode = "http500"
    fetcher = OnlineRevocation(retry_after=1.0)
    first = connect(world.pki, leaf, fetcher=fetcher, revocation_fetch="ocsp", revocation="soft")
    assert first.complete and "HTTP 500" in first.lines("online revocation")[0].detail
    asked = len(world.responder.requests)
    world.responder.mode = "normal"
    second = connect(world.pki, leaf, fetcher=fetcher, revocation_fetch="ocsp", revocation="soft")
    assert second.complete and len(world.responder.requests) == asked  # not asked again
    detail = second.lines("online revocation")[0].detail
    assert "gave no answer 0 s ago (the server answered HTTP 500" in detail and "not asked again within 1 s" in detail
    time.sleep(1.1)
    third = connect(world.pki, leaf, fetcher=fetcher, revocation_fetch="ocsp", revocation="soft")
    assert third.complete and len(world.responder.requests) > asked
    assert third.lines("OCSP fetch")[-1].ok
