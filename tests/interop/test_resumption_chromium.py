"""Headless Chromium resumes its sessions with a glasstls server: TLS 1.3 tickets, TLS 1.2 tickets
and TLS 1.2 session IDs, on one page load.

The page makes the resumptions happen, rather than waiting for Chromium to choose to: the server
(glasstls's asyncio server, in this test's event loop) answers every request with
``connection: close``, and its page (``/``) holds three images, so Chromium needs a new connection
for each of them once it has read the page. The page came after the handshake, and with it the
server's tickets (RFC 8446, Section 4.6.1; RFC 5077's NewSessionTicket before the TLS 1.2
Finished) or session ID, so those later connections offer the session and the server resumes it.
Chromium may also open a connection of its own before the first handshake ends (a preconnect);
that one is a full handshake, as it had nothing to offer yet.

Each connection is checked from both sides, paired by Chromium's local port (the server's peer):

* Chromium's NetLog (``run_chromium`` of test_interop_chromium_hybrid.py): the ``SSL_CONNECT`` end's
  ``version`` and ``is_resumed``, and whether a Certificate went by;
* the server: what ``writer.get_extra_info("glasstls")`` says of the connection (version,
  ``resumed``), and which page it asked for.

They must agree on every connection, a resumed one must have had no Certificate, and at least one
connection must be a resumption and at least one a full handshake.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from interop_peers import request_path
from test_interop_chromium_hybrid import CHROMIUM, CHROMIUM_TIMEOUT, ChromiumRun, run_chromium

from glasstls import ProtocolVersion, ServerConfig
from glasstls.io.aio_server import start_server

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(90),
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package chromium; make test)"),
]

IMAGES = ("/a.svg", "/b.svg", "/c.svg")
PAGE = ("<!doctype html><title>resumption</title><p>three images</p>" + "".join(
    f"<img src='{path}'>" for path in IMAGES
)).encode()  # fmt: skip
IMAGE = b"<svg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/>"


@dataclass(frozen=True)
class Served:
    """One connection as the server saw it."""

    port: int  # the peer's: Chromium's local port
    path: str
    version: str
    resumed: bool


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, served: list[Served]) -> None:
    """One request, one answer, then close (``connection: close``): the next resource needs a new connection."""
    path = await request_path(reader)
    parameters = writer.get_extra_info("glasstls")
    served.append(Served(writer.get_extra_info("peername")[1], path, parameters.version, parameters.resumed))
    body, kind = (PAGE, b"text/html") if path == "/" else (IMAGE, b"image/svg+xml") if path in IMAGES else (b"", b"")
    head = b"200 OK" if body else b"404 Not Found"
    writer.write(
        b"HTTP/1.1 " + head + b"\r\ncontent-type: " + (kind or b"text/plain") + b"\r\ncontent-length: "
        + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )  # fmt: skip
    await writer.drain()
    writer.close()


async def load_page(config: ServerConfig, spki: str, tmp_path: Path) -> tuple[ChromiumRun, list[Served]]:
    served: list[Served] = []
    server = await start_server(lambda r, w: answer(r, w, served), "127.0.0.1", 0, config)
    try:
        port = server.sockets[0].getsockname()[1]
        url = f"https://localhost:{port}/"
        run = await asyncio.get_running_loop().run_in_executor(None, run_chromium, url, port, spki, tmp_path)
    finally:
        server.close()
        await server.wait_closed()
    return run, served


@pytest.fixture(scope="module")
def spki(pki: Any) -> str:
    leaf = pki.identities["ecdsa-p256"].chain[0]
    der = leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


CASES = [
    pytest.param({}, "TLSv1.3", "TLS 1.3", id="tls13-tickets"),
    pytest.param({"tls_max": ProtocolVersion.TLSv1_2}, "TLSv1.2", "TLS 1.2", id="tls12-tickets"),
    pytest.param(
        {"tls_max": ProtocolVersion.TLSv1_2, "session_tickets": False}, "TLSv1.2", "TLS 1.2", id="tls12-session-ids"
    ),
]


@pytest.mark.parametrize(("settings", "version", "chromium_version"), CASES)
def test_chromium_resumes_on_the_connections_a_page_needs(
    pki: Any, spki: str, tmp_path: Path, settings: dict[str, Any], version: str, chromium_version: str
) -> None:
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), **settings)
    run, served = asyncio.run(load_page(config, spki, tmp_path))
    said = (
        f"Chromium ran {run.seconds:.1f} s, exit {run.returncode}; it printed:\n{run.dom[-1500:]}\n"
        f"{run.stderr[-1500:]}\nthe server served: {served}"
    )
    assert run.returncode == 0 and run.seconds < CHROMIUM_TIMEOUT, said
    assert "three images" in run.dom, said
    assert {s.path for s in served} >= {"/", *IMAGES}, said  # (and perhaps /favicon.ico)

    by_port = {s.port: s for s in served}
    chromium = {int(c.local_address.rsplit(":", 1)[1]): c for c in run.connections if c.ssl_info is not None}
    both = sorted(set(by_port) & set(chromium))
    assert set(by_port) <= set(chromium), f"connections the NetLog does not have\n{said}"
    for peer in both:
        ours, theirs = by_port[peer], chromium[peer]
        info = theirs.ssl_info or {}
        assert (ours.version, info.get("version")) == (version, chromium_version), f"{peer}: {info}\n{said}"
        assert ours.resumed == info.get("is_resumed"), f"{peer}: server {ours}, Chromium {info}\n{said}"
        assert theirs.handshake.full == (not ours.resumed), f"{peer}: a Certificate went by: {ours}\n{said}"
    assert any(by_port[peer].resumed for peer in both), f"no connection resumed\n{said}"
    assert any(not by_port[peer].resumed for peer in both), f"no full handshake\n{said}"
