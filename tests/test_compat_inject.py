"""``glasstls.inject_into_ssl()`` / ``extract_from_ssl()`` in this process: what is rebound, what
is restored, and the watch options applied to every connection made meanwhile (in memory, the
stdlib's OpenSSL on the other side)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.connector
import pytest
import requests.adapters
import urllib3.util.ssl_

import glasstls
from compat_peers import tls_server
from glasstls.compat import SSLContext as GlassContext
from glasstls.compat.inject import is_injected
from glasstls.trace import SPILL_BYTES
from glasstls.x509.mint import ThrowawayCA
from test_compat_bio import Pair

STDLIB = ssl.SSLContext


@pytest.fixture
def injected() -> Iterator[io.StringIO]:
    output = io.StringIO()
    glasstls.inject_into_ssl(trace="text", output=output)
    try:
        yield output
    finally:
        glasstls.extract_from_ssl()


def test_everything_rebound_and_restored(injected: io.StringIO) -> None:
    preloaded = getattr(requests.adapters, "_preloaded_ssl_context", None)
    assert is_injected() and ssl.SSLContext is GlassContext
    assert type(ssl.create_default_context()) is GlassContext  # through the rebound name
    assert type(ssl._create_unverified_context()) is GlassContext  # smtplib's and http.client's default
    assert urllib3.util.ssl_.SSLContext is GlassContext  # imported by name before the injection
    assert type(urllib3.util.ssl_.create_urllib3_context()) is GlassContext
    if preloaded is not None:  # requests >= 2.32 makes one context at import
        assert type(requests.adapters._preloaded_ssl_context) is GlassContext
    glasstls.inject_into_ssl(trace="json")  # again: new options, nothing rebound twice
    glasstls.extract_from_ssl()
    assert not is_injected() and ssl.SSLContext is STDLIB and urllib3.util.ssl_.SSLContext is STDLIB
    assert type(ssl.create_default_context()) is STDLIB
    if preloaded is not None:
        assert requests.adapters._preloaded_ssl_context is preloaded


def injected_client_and_stdlib_server(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A client context made through the injected ssl module (glasstls's), trusting a throwaway root,
    and an OpenSSL server context with a localhost certificate under it."""
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost"]).write(tmp_path / "cert.pem", tmp_path / "key.pem")
    (tmp_path / "ca.pem").write_bytes(ca.root_pem())
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    server = STDLIB(ssl.PROTOCOL_TLS_SERVER)  # OpenSSL on the other side
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return client, server


def test_each_connection_traced_as_one_block(injected: io.StringIO, tmp_path: Path) -> None:
    client, server = injected_client_and_stdlib_server(tmp_path)
    first, second = Pair(client, server), Pair(client, server)
    first.handshake()
    second.handshake()
    text = injected.getvalue()
    headings = re.findall(r"^── (glasstls: connection (\d+), client \(server name localhost\)) ──$", text, re.M)
    assert len(headings) == 2 and int(headings[1][1]) == int(headings[0][1]) + 1
    one, two = text.split(f"── {headings[1][0]} ──\n")
    assert "ServerHello (2): TLSv1.3" in one and "ServerHello (2): TLSv1.3" in two
    assert "client > Finished (20)" in one and "client > Finished (20)" in two


def test_a_long_connection_s_trace_is_written_out_as_it_grows(injected: io.StringIO, tmp_path: Path) -> None:
    """A traced connection kept busy writes its trace out in "(continued)" blocks of about 64 KiB
    (trace.Spill), not all of it when it ends: the watch held it whole before, as the CLI server did."""
    client, server = injected_client_and_stdlib_server(tmp_path)
    pair = Pair(client, server)
    pair.handshake()
    for _ in range(1500):  # each: a record out and its echo in, both traced
        pair.client.write(b"x")
        pair.move()
        pair.server.write(pair.server.read(1))
        pair.move()
        assert pair.client.read(1) == b"x"
    text = injected.getvalue()  # the connection is still open
    assert len(text) > 4 * SPILL_BYTES, len(text)
    assert text.count("(continued) ──") >= 4, text.count("(continued) ──")


def test_no_watch_no_trace() -> None:
    output = io.StringIO()
    glasstls.inject_into_ssl(output=output)  # injected, nothing asked to be shown
    try:
        assert ssl.SSLContext is GlassContext
        obj = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
        assert obj._watch is None
    finally:
        glasstls.extract_from_ssl()
    assert output.getvalue() == ""


# A program that moves its stderr after the injection: it closes fd 2 (a daemon), so that its next
# socket gets that number, or points sys.stderr at sys.stdout; then one connection, in memory.
_MOVES_ITS_STDERR = r"""
import os, socket, ssl, sys, tempfile
import glasstls
from glasstls.x509.mint import ThrowawayCA
glasstls.inject_into_ssl(trace="text")
out = os.fdopen(os.dup(1), "w")
if sys.argv[1] == "closefd":
    os.close(2)
    near, far = socket.socketpair()
    print("socket fd", near.fileno(), file=out)
else:
    sys.stderr = sys.stdout
folder = tempfile.mkdtemp()
ca = ThrowawayCA.create()
ca.issue_server(["localhost"]).write(folder + "/cert.pem", folder + "/key.pem")
server = glasstls.compat.inject._ORIGINAL(ssl.PROTOCOL_TLS_SERVER)
server.load_cert_chain(folder + "/cert.pem", folder + "/key.pem")
client = ssl.create_default_context(cadata=ca.root_pem().decode())
bios = [ssl.MemoryBIO() for _ in range(4)]
c = client.wrap_bio(bios[0], bios[1], server_hostname="localhost")
s = server.wrap_bio(bios[2], bios[3], server_side=True)
for _ in range(10):
    for obj in (c, s):
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
    bios[2].write(bios[1].read()); bios[0].write(bios[3].read())
print("version", c.version(), file=out)
if sys.argv[1] == "closefd":
    far.setblocking(False)
    try:
        print("into the socket", far.recv(65536), file=out)
    except BlockingIOError:
        print("into the socket nothing", file=out)
out.flush()
"""


@pytest.mark.parametrize("move", ["closefd", "stdout"])
def test_the_trace_goes_where_stderr_was_when_tracing_started(tmp_path: Path, move: str) -> None:
    """As a program's own output under the stdlib: nothing of the trace in its stdout or in the
    socket that took fd 2; the trace in the stderr the process had when the injection began."""
    script = tmp_path / "moves.py"
    script.write_text(_MOVES_ITS_STDERR)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run(
        [sys.executable, str(script), move], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "version TLSv1.3" in done.stdout
    if move == "closefd":
        assert "socket fd 2" in done.stdout and "into the socket nothing" in done.stdout
    assert "glasstls" not in done.stdout.replace("glasstls.", "")
    assert "── glasstls: connection 1, client (server name localhost) ──" in done.stderr
    assert "ServerHello (2): TLSv1.3" in done.stderr


def _answer_http(tls: Any) -> bytes:
    request = tls.recv(4096)
    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    return bytes(request)


def test_aiohttps_contexts_made_at_its_import_are_made_again(tmp_path: Path) -> None:
    """aiohttp (imported before the injection) makes its ssl=True and ssl=False contexts at import:
    they are glasstls's while injected, with aiohttp's settings, and its own again after."""
    connector = aiohttp.connector
    verified, unverified = connector._SSL_CONTEXT_VERIFIED, connector._SSL_CONTEXT_UNVERIFIED
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost"]).write(tmp_path / "cert.pem", tmp_path / "key.pem")
    server_ctx = STDLIB(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    output = io.StringIO()
    glasstls.inject_into_ssl(trace="text", output=output)
    try:
        assert type(connector._SSL_CONTEXT_VERIFIED) is GlassContext
        assert type(connector._SSL_CONTEXT_UNVERIFIED) is GlassContext
        assert connector._SSL_CONTEXT_VERIFIED.verify_mode == verified.verify_mode == ssl.CERT_REQUIRED
        assert connector._SSL_CONTEXT_UNVERIFIED.verify_mode == unverified.verify_mode == ssl.CERT_NONE
        with tls_server(server_ctx, _answer_http) as server:
            assert asyncio.run(_aiohttp_get(f"https://127.0.0.1:{server.port}/")) == "ok"  # ssl=False
            assert server.result()[0].startswith(b"GET / HTTP/1.1")
    finally:
        glasstls.extract_from_ssl()
    assert connector._SSL_CONTEXT_VERIFIED is verified and connector._SSL_CONTEXT_UNVERIFIED is unverified
    assert "── glasstls: connection" in output.getvalue() and "ServerHello (2): TLSv1.3" in output.getvalue()


async def _aiohttp_get(url: str) -> str:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(url, ssl=False) as response,
    ):
        return await response.text()


@pytest.mark.parametrize("recipe", ["listening", "accepted"])
def test_a_server_connection_is_labelled_with_its_peer(injected: io.StringIO, tmp_path: Path, recipe: str) -> None:
    """http.server's recipe (a wrapped listening socket) and wrap_socket(server_side=True) of an
    accepted socket: the trace names the client's host:port, and a listening socket, which has no
    TLS of its own (as the stdlib's has no SSL object), takes no connection number."""
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost"]).write(tmp_path / "cert.pem", tmp_path / "key.pem")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # glasstls's (injected)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client_ctx = STDLIB(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cadata=ca.root_pem().decode())
    plain = socket.create_server(("127.0.0.1", 0))
    listener = server_ctx.wrap_socket(plain, server_side=True) if recipe == "listening" else plain
    before = server_ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)._watch.number
    with listener:
        listener.settimeout(10)
        made: list[Any] = []
        port = listener.getsockname()[1]
        client = threading.Thread(target=lambda: made.append(_stdlib_client(client_ctx, port)))
        client.start()
        conn, address = listener.accept()
        with conn if recipe == "listening" else server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"ok")
        client.join(10)
    heading = f"── glasstls: connection {before + 1}, server from 127.0.0.1:{address[1]} ──"
    assert heading in injected.getvalue() and made == [b"ok"]


def _stdlib_client(context: Any, port: int) -> bytes:
    with context.wrap_socket(
        socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost"
    ) as s:
        return bytes(s.recv(2))
