"""Bulk data through glasstls's blocking sockets, against Python's ``ssl`` (OpenSSL) on 127.0.0.1.

``TLSSocket.sendall`` seals a large buffer a slice at a time and sends each slice's
records before sealing the next; ``recv`` hands out each record's data as it came
(glasstls.io.inbox). These hold both to what a real peer sends and receives:
every byte in order, records OpenSSL accepts, ``recv(n)`` never above ``n``,
and a clean end.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

import glasstls
from serving_helpers import PKI, make_pki

pytestmark = pytest.mark.timeout(60)
WAIT = 20.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("bulk"))


@contextmanager
def ssl_server(pki: PKI, script: Callable[[ssl.SSLSocket], None]) -> Iterator[int]:
    """An OpenSSL server (Python's ssl) for one connection, which ``script`` plays; yields the port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(WAIT)
            with context.wrap_socket(conn, server_side=True) as tls:
                script(tls)
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(WAIT)
        listener.close()
    assert not failures, failures


def connect(pki: PKI, port: int, **kw: object) -> glasstls.TLSSocket:
    return glasstls.connect("127.0.0.1", port, pki.client_config(**kw), server_name="localhost", timeout=WAIT)


@pytest.mark.parametrize("size", [1, 16 * 1024, 64 * 1024 + 1, 128 * 1024, 128 * 1024 + 1, 3 * 1024 * 1024 + 12345])
@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_sendall_arrives_whole_at_openssl(pki: PKI, size: int, version: str) -> None:
    data = os.urandom(size)
    seen: dict[str, object] = {}

    def receive(tls: ssl.SSLSocket) -> None:
        digest, count = hashlib.sha256(), 0
        while count < size:
            chunk = tls.recv(1 << 16)
            assert chunk, "the stream ended early"
            digest.update(chunk)
            count += len(chunk)
        seen.update(count=count, digest=digest.digest(), version=tls.version())
        tls.sendall(b"done")

    version_range = {"tls_min": getattr(glasstls.ProtocolVersion, version.replace(".", "_"))}
    version_range["tls_max"] = version_range["tls_min"]
    with ssl_server(pki, receive) as port, connect(pki, port, **version_range) as tls:
        tls.sendall(data)
        assert tls.recv(4) == b"done"
    assert seen == {"count": size, "digest": hashlib.sha256(data).digest(), "version": version}


def test_recv_reads_records_of_every_size_in_order(pki: PKI) -> None:
    # Small writes (a record each), then large ones (records of 16 KiB, a last shorter one).
    writes = [os.urandom(n) for n in [1, 7, 100, 3000, 16 * 1024, 16 * 1024 + 1, 100_000, 5]] + [b"z" * 10] * 50

    def send(tls: ssl.SSLSocket) -> None:
        for data in writes:
            tls.sendall(data)
        tls.unwrap()  # close_notify: a clean end

    with ssl_server(pki, send) as port, connect(pki, port) as tls:
        got, sizes = bytearray(), []
        for n in [1, 10, 4096, 1 << 16] * 1000:
            chunk = tls.recv(n)
            if not chunk:
                break
            assert len(chunk) <= n
            got += chunk
            sizes.append(len(chunk))
        assert tls.recv(1 << 16) == b""  # and it stays ended
    assert bytes(got) == b"".join(writes)
    assert max(sizes) <= 1 << 16


def test_glasstls_server_receives_and_echoes_a_large_stream_from_openssl(pki: PKI) -> None:
    data = os.urandom(2 * 1024 * 1024 + 777)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    result: dict[str, bytes] = {}

    def serve() -> None:
        conn, _ = listener.accept()
        conn.settimeout(WAIT)
        with glasstls.accept(conn, pki.server_config(), timeout=WAIT) as tls:
            got = bytearray()
            while len(got) < len(data):
                chunk = tls.recv(1 << 16)
                if not chunk:
                    break
                got += chunk
            result["got"] = bytes(got)
            tls.sendall(bytes(got))  # echoed in one sendall: sliced, and read back by OpenSSL

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    context = ssl.create_default_context(cafile=str(pki.ca_pem))
    try:
        with (
            socket.create_connection(listener.getsockname(), timeout=WAIT) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(data)
            echoed = bytearray()
            while len(echoed) < len(data):
                chunk = tls.recv(1 << 16)
                assert chunk
                echoed += chunk
    finally:
        thread.join(WAIT)
        listener.close()
    assert result["got"] == data and bytes(echoed) == data
