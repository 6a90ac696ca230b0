"""``glasstls.inject_into_ssl()`` / ``extract_from_ssl()`` in this process: what is rebound, what
is restored, and the watch options applied to every connection made meanwhile (in memory, the
stdlib's OpenSSL on the other side)."""

from __future__ import annotations

import io
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests.adapters
import urllib3.util.ssl_

import glasstls
from glasstls.compat import SSLContext as GlassContext
from glasstls.compat.inject import is_injected
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


def test_each_connection_traced_as_one_block(injected: io.StringIO, tmp_path: Path) -> None:
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost"]).write(tmp_path / "cert.pem", tmp_path / "key.pem")
    (tmp_path / "ca.pem").write_bytes(ca.root_pem())
    client = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    server = STDLIB(ssl.PROTOCOL_TLS_SERVER)  # OpenSSL on the other side
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    first, second = Pair(client, server), Pair(client, server)
    first.handshake()
    second.handshake()
    text = injected.getvalue()
    headings = re.findall(r"^── (glasstls: connection (\d+), client \(server name localhost\)) ──$", text, re.M)
    assert len(headings) == 2 and int(headings[1][1]) == int(headings[0][1]) + 1
    one, two = text.split(f"── {headings[1][0]} ──\n")
    assert "ServerHello (2): TLSv1.3" in one and "ServerHello (2): TLSv1.3" in two
    assert "client > Finished (20)" in one and "client > Finished (20)" in two


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

