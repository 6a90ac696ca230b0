"""The asyncio server and a peer that does not read: what it sends can make the server answer without the
application writing (a KeyUpdate asking for one, RFC 8446 Section 4.6.3), so the server stops reading from a
peer that leaves its answers unread (the transport's write buffer over its high-water mark), and the answers
buffered for it stay bounded. And a connection the idle timeout ends while the handler waits in drain() tells
the handler so, by name (found by a helper's review of the server's bounds: the buffer grew by megabytes a
second, and the handler heard "Connection lost")."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

import glasstls
from glasstls import ClientConfig, ClientConnection, ProtocolVersion, ServerConfig
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity
from serving_helpers import CLIServer, make_pki

WAIT = 10.0


def server_config() -> ServerConfig:
    identity = server_identity("localhost")
    return ServerConfig(certificates=(glasstls.CertifiedKey(identity.chain, identity.private_key),))


def connected(port: int, root_pem: bytes | None = None) -> tuple[socket.socket, ClientConnection]:
    """A TLS 1.3 handshake driven by hand over a blocking socket that then reads nothing more; the
    server's chain is under ``root_pem`` (default: the shared test CA)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    trust = TrustStore.from_pem(root_pem or default_ca().root_pem())
    config = ClientConfig(trust_store=trust, tls_min=ProtocolVersion.TLSv1_3)
    conn = ClientConnection(config, server_name="localhost")
    sock.sendall(conn.data_to_send())
    while conn.parameters is None:
        data = sock.recv(65536)
        assert data, "the server closed the connection in the handshake"
        conn.receive_bytes(data)
        sock.sendall(conn.data_to_send())
    return sock, conn


class Served:
    """start_server on a loop of its own thread, with ``handler``; what handlers leave in ``seen``."""

    def __init__(self, handler: Any, **kw: Any) -> None:
        self.seen: dict[str, Any] = {}
        self.loop = asyncio.new_event_loop()
        self._handler, self._kw = handler, kw
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Served:
        self._thread.start()

        async def start() -> Any:
            return await glasstls.start_server(
                lambda r, w: self._handler(self, r, w), "127.0.0.1", 0, server_config(), **self._kw
            )

        self.server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(WAIT)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: Any) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(WAIT)
        self.loop.close()


async def sink(served: Served, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Reads and drops what comes, writes nothing itself."""
    served.seen["transport"] = writer.transport
    while await reader.read(65536):
        pass
    writer.close()


def test_a_peer_that_asks_for_key_updates_and_never_reads_them_is_no_longer_read() -> None:
    with Served(sink) as served:
        sock, conn = connected(served.port)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(2.0)
        sent, blocked, deadline = 0, False, time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                conn.send(b"x" * 32)
                for _ in range(32):  # as many as Limits.max_key_updates lets through per 32 bytes of data
                    conn.update_keys(request_peer=True)
                batch = conn.data_to_send()
                sock.sendall(batch)
                sent += len(batch)
        except TimeoutError:
            blocked = True  # the server stopped reading from us

        async def buffered() -> tuple[int, int]:
            transport = served.seen["transport"]
            return transport.get_write_buffer_size(), transport.get_write_buffer_limits()[1]

        size, high = asyncio.run_coroutine_threadsafe(buffered(), served.loop).result(WAIT)
        sock.close()
    assert blocked, f"the server read {sent / 1e6:.0f} MB of KeyUpdate requests without being read from"
    # Its answers wait in a buffer bounded near the transport's high-water mark (64 KiB), plus what one
    # read (and its records' answers) adds past it.
    assert size < high + 1024 * 1024, (size, high)


def test_an_idle_timeout_that_ends_a_peer_that_stopped_reading_names_itself(tmp_path: Path) -> None:
    """The CLI echo server with --idle-timeout 1: a client sends megabytes to echo, reads none of it and
    falls silent; the echo handler waits in drain() when the timeout ends the connection, and the log names
    the deadline and what the client did not do (it said "ended: Connection lost", then "was idle")."""
    pki = make_pki(tmp_path)
    with CLIServer(pki, "--idle-timeout", "1") as server:
        sock, conn = connected(server.port, pki.ca.root_pem())
        port = sock.getsockname()[1]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(2.0)
        try:
            for _ in range(4000):  # 64 MB at most: the server stops reading long before
                conn.send(b"e" * 16000)
                sock.sendall(conn.data_to_send())
        except OSError:
            pass  # the server stopped reading (its echoes wait on us), then ended the connection
        try:
            line = server.wait_for(rf"connection with 127\.0\.0\.1:{port} ended")
        finally:
            sock.close()
    assert "read nothing of what we sent for 1 s (deadline idle_timeout)" in line, line


async def echo_all(served: Served, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


def test_a_stream_that_carries_data_both_ways_at_once_never_stalls() -> None:
    """A glasstls client sends 32 MiB to an echo server while it reads the echoes in another task: both
    ends' writes wait on each other's reads, and each must go on reading while its writes wait. Pausing
    reading on every write backlog (as 14086f8 first did) stalled both for good; only a peer that asks for
    answers while it reads none is paused."""
    with Served(echo_all) as served:
        trust = TrustStore.from_pem(default_ca().root_pem())

        async def both_ways() -> int:
            reader, writer = await glasstls.open_connection(
                "127.0.0.1", served.port, ClientConfig(trust_store=trust), server_name="localhost"
            )
            total, chunk = 32 * 1024 * 1024, b"z" * 65536

            async def send() -> None:
                for _ in range(total // len(chunk)):
                    writer.write(chunk)
                    await writer.drain()

            async def receive() -> int:
                got = 0
                while got < total and (data := await reader.read(65536)):
                    got += len(data)
                return got

            _, got = await asyncio.wait_for(asyncio.gather(send(), receive()), 30)
            writer.close()
            return got

        assert asyncio.run(both_ways()) == 32 * 1024 * 1024
