"""The asyncio driver (glasstls.open_connection / glasstls.start_server) on real sockets on 127.0.0.1.

Each test runs its own event loop with ``asyncio.run`` under an overall bound
(:func:`run`); every server it starts is shut down, and every raw TCP peer is a
plain asyncio server closed in a ``finally``. Peers that misbehave (silent,
trickling, ending without close_notify) are raw TCP servers or clients, the
TLS ones driven by glasstls' own sans-I/O ServerConnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import glasstls
from glasstls import (
    AlertDescription,
    AlertError,
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    DeadlineError,
    KeyUpdated,
    Limits,
    PeerAlertError,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
    TLSError,
    TruncatedError,
)
from glasstls.io import aio
from glasstls.x509.store import TrustStore
from pairs import default_ca, other_ca, server_identity
from serving_helpers import until_no_connections

pytestmark = pytest.mark.timeout(60)

VERSIONS = [ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2]
VERSION_IDS = ["tls13", "tls12"]
RECORD = 1 << 14  # the most plaintext one record carries (RFC 8446, Section 5.1)
# What a reader over its limit may hold at most: the records of the read that took it over
# (the socket is paused then; asyncio's own reader pauses only at twice its limit).
HELD = aio.READ_BUFFER


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    """Run ``coro`` in a fresh event loop; fail (rather than hang) after ``timeout`` seconds."""

    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def server_config(**kw: Any) -> ServerConfig:
    identity = server_identity("localhost")
    return ServerConfig(certificates=(glasstls.CertifiedKey(identity.chain, identity.private_key),), **kw)


def client_config(tls_max: ProtocolVersion = ProtocolVersion.TLSv1_3, **kw: Any) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), tls_max=tls_max, **kw)


def port_of(server: Any) -> int:
    return server.sockets[0].getsockname()[1]


async def connect(port: int, tls_max: ProtocolVersion = ProtocolVersion.TLSv1_3, **kw: Any) -> Any:
    return await glasstls.open_connection("127.0.0.1", port, client_config(tls_max), server_name="localhost", **kw)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo until the client's clean end, then close (close_notify)."""
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes = b"ping\n") -> bytes:
    writer.write(line)
    await writer.drain()
    return await asyncio.wait_for(reader.readline(), 5)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TLSError):
        await asyncio.wait_for(writer.wait_closed(), 5)


@contextlib.asynccontextmanager
async def raw_server(handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]):
    """A plain TCP server on 127.0.0.1 (no TLS of its own): its port; it and its connections closed on exit."""
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    try:
        yield port_of(server)
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        await server.wait_closed()
        await asyncio.sleep(0)  # let the aborted transports finish closing


async def tls_handshake_as_raw_server(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, config: ServerConfig
) -> ServerConnection | None:
    """Complete a server handshake by hand with the sans-I/O ServerConnection; None if the client left."""
    conn = ServerConnection(config)
    while not conn.handshake_complete:
        data = await reader.read(1 << 16)
        if not data:
            return None
        conn.receive_bytes(data)
        writer.write(conn.data_to_send())
    await writer.drain()
    return conn


# -- the basics ---------------------------------------------------------------------------


@pytest.mark.parametrize("tls_max", VERSIONS, ids=VERSION_IDS)
def test_echo_round_trip_and_extra_info(tls_max):
    seen: dict[str, Any] = {}
    client_events: list[Any] = []
    server_events: list[Any] = []

    async def handler(reader, writer):
        seen["params"] = writer.get_extra_info("glasstls")
        seen["peername"] = writer.get_extra_info("peername")
        seen["connection"] = writer.get_extra_info("glasstls_connection")
        seen["peercert"] = writer.get_extra_info("peercert")
        await echo(reader, writer)

    async def main():
        async with await glasstls.start_server(
            handler, "127.0.0.1", 0, server_config(), on_event=server_events.append
        ) as server:
            port = port_of(server)
            reader, writer = await connect(port, tls_max, on_event=client_events.append)
            params = writer.get_extra_info("glasstls")
            assert params.version == tls_max.label
            assert params.peer_certificate_subject == "CN=localhost"
            assert isinstance(writer.get_extra_info("glasstls_connection"), ClientConnection)
            assert writer.get_extra_info("peername") == ("127.0.0.1", port)
            assert isinstance(writer.get_extra_info("socket"), asyncio.trsock.TransportSocket)  # as asyncio's
            # As asyncio's SSL transport: the SSLObject's getpeercert() and cipher().
            peercert = writer.get_extra_info("peercert")
            assert peercert["subject"] == ((("commonName", "localhost"),),)
            assert ("DNS", "localhost") in peercert["subjectAltName"]
            cipher = writer.get_extra_info("cipher")
            expected = ("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128)
            if tls_max == ProtocolVersion.TLSv1_2:
                expected = ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128)
            assert cipher == expected
            assert not writer.can_write_eof()
            assert await round_trip(reader, writer, b"hello over TLS\n") == b"hello over TLS\n"
            assert writer.get_extra_info("sockname") == seen["peername"]
            if tls_max == ProtocolVersion.TLSv1_3:
                # RFC 8446, Section 4.6.3: both sides change keys; the data below uses the new ones.
                writer.get_extra_info("glasstls_connection").update_keys(request_peer=True)
            big = bytes(range(256)) * 4000  # a megabyte: many records each way
            writer.write(big)
            assert await asyncio.wait_for(reader.readexactly(len(big)), 10) == big
            await close(writer)
            assert server.active_connections in (0, 1)
        assert seen["params"].version == tls_max.label
        assert isinstance(seen["connection"], ServerConnection)
        assert seen["peercert"] is None  # no client certificate: None, as getpeercert()

    run(main())
    if tls_max == ProtocolVersion.TLSv1_3:
        # KeyUpdate is not data: it reaches on_event and nothing else.
        assert KeyUpdated("read", requested_by_peer=False) in client_events
        assert KeyUpdated("write", requested_by_peer=True) in server_events


def test_failed_handshake_raises_the_tls_error_on_both_sides():
    failures: list[tuple[Any, BaseException]] = []

    async def main():
        untrusting = ClientConfig(trust_store=TrustStore.from_pem(other_ca().root_pem()))
        config = server_config()
        async with await glasstls.start_server(
            echo, "127.0.0.1", 0, config, on_handshake_error=lambda peer, exc: failures.append((peer, exc))
        ) as server:
            with pytest.raises(AlertError) as caught:
                await glasstls.open_connection("127.0.0.1", port_of(server), untrusting, server_name="localhost")
            assert caught.value.description == AlertDescription.unknown_ca
            for _ in range(100):
                if failures:
                    break
                await asyncio.sleep(0.02)

    run(main())
    assert len(failures) == 1
    peer, exc = failures[0]
    assert peer[0] == "127.0.0.1"
    # The client's alert was written before open_connection raised: the server heard it.
    assert isinstance(exc, PeerAlertError) and exc.description == AlertDescription.unknown_ca


# -- flow control ------------------------------------------------------------------------


def test_backpressure_a_server_that_stops_reading_blocks_the_client():
    limit = 1 << 16
    total = 20 * 1024 * 1024
    chunk = 1 << 16
    state: dict[str, Any] = {"max_buffered": 0}

    async def main():
        go_read = asyncio.Event()

        async def handler(reader, writer):
            state["reader"], state["writer"] = reader, writer
            await go_read.wait()  # do not read until the test says so
            received = 0
            while data := await reader.read(1 << 16):
                received += len(data)
            state["received"] = received
            writer.close()

        async def watch_buffer():
            while True:
                if "reader" in state:
                    state["max_buffered"] = max(state["max_buffered"], len(state["reader"]._buffer))
                await asyncio.sleep(0.005)

        async with await glasstls.start_server(handler, "127.0.0.1", 0, server_config(), limit=limit) as server:
            watcher = asyncio.create_task(watch_buffer())
            reader, writer = await connect(port_of(server))
            data, written, blocked = b"\xa5" * chunk, 0, False
            while written < total:
                writer.write(data)
                written += len(data)
                try:
                    await asyncio.wait_for(writer.drain(), 1.0)
                except TimeoutError:
                    blocked = True
                    break
            # drain() waits: the bytes pile up on the client, not in the server's memory.
            assert blocked and written < total, f"drain never blocked after {written} bytes"
            high_water = writer.transport.get_write_buffer_limits()[1]
            assert writer.transport.get_write_buffer_size() > high_water
            await asyncio.sleep(0.3)
            assert len(state["reader"]._buffer) <= limit + HELD
            assert state["max_buffered"] <= limit + HELD
            assert not state["writer"].transport.is_reading()  # the server stopped reading its socket

            go_read.set()  # now everything flows again, and all of it arrives
            while written < total:
                writer.write(data)
                written += len(data)
                await asyncio.wait_for(writer.drain(), 10)
            await close(writer)
            for _ in range(500):
                if "received" in state:
                    break
                await asyncio.sleep(0.02)
            watcher.cancel()
        assert state["received"] == written == total

    run(main(), timeout=50)


# -- truncation ----------------------------------------------------------------------------

PAYLOAD = b"the last words before the end\n" * 100


def _raw_tls_peer(ending: str, tls_max: ProtocolVersion = ProtocolVersion.TLSv1_3):
    """A TCP server that completes a handshake through ServerConnection, sends PAYLOAD and ends with ``ending``."""
    config = server_config(tls_max=tls_max)

    async def handler(reader, writer):
        conn = await tls_handshake_as_raw_server(reader, writer, config)
        if conn is None:
            return
        conn.send(PAYLOAD)
        if ending == "close_notify":
            conn.close()
        writer.write(conn.data_to_send())
        await writer.drain()
        await asyncio.sleep(0.2)  # let the data arrive first
        if ending == "reset":
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.close()

    return handler


@pytest.mark.parametrize("tls_max", VERSIONS, ids=VERSION_IDS)
@pytest.mark.parametrize("ending", ["FIN", "reset"])
def test_truncation_is_reported_after_the_data(ending, tls_max):
    async def main():
        async with raw_server(_raw_tls_peer(ending, tls_max)) as port:
            reader, writer = await connect(port, tls_max)
            got = b""
            with pytest.raises(TruncatedError) as caught:
                while True:  # read(n) hands over every byte before the error
                    got += await asyncio.wait_for(reader.read(1000), 5)
            assert got == PAYLOAD
            assert caught.value.received == len(PAYLOAD)
            assert f"({ending})" in str(caught.value)
            assert not reader.at_eof()  # not a clean end
            with pytest.raises(TruncatedError):
                await reader.read(10)  # and it stays an error
            await close(writer)

    run(main())


def test_truncation_read_all_raises_and_keeps_the_data():
    async def main():
        async with raw_server(_raw_tls_peer("FIN")) as port:
            reader, writer = await connect(port)
            with pytest.raises(TruncatedError):
                await asyncio.wait_for(reader.read(), 5)  # "read to the end" must not pass for a whole message
            assert await reader.read(1 << 20) == PAYLOAD  # what arrived is still there
            with pytest.raises(TruncatedError):
                await reader.readline()
            await close(writer)

    run(main())


def test_truncation_allowed_is_a_plain_eof():
    async def main():
        async with raw_server(_raw_tls_peer("FIN")) as port:
            reader, writer = await connect(port, allow_truncation=True)
            assert await asyncio.wait_for(reader.read(), 5) == PAYLOAD
            assert await reader.read(10) == b""
            await close(writer)

    run(main())


@pytest.mark.parametrize("tls_max", VERSIONS, ids=VERSION_IDS)
def test_close_notify_is_a_clean_eof(tls_max):
    async def main():
        async with raw_server(_raw_tls_peer("close_notify", tls_max)) as port:
            reader, writer = await connect(port, tls_max)
            assert await asyncio.wait_for(reader.read(), 5) == PAYLOAD
            assert reader.at_eof()
            await close(writer)

    run(main())


# -- deadlines --------------------------------------------------------------------------------


def test_client_handshake_deadline_against_a_silent_server():
    async def silent(reader, writer):
        await reader.read()  # never answers

    async def main():
        async with raw_server(silent) as port:
            started = time.monotonic()
            with pytest.raises(DeadlineError) as caught:
                await connect(port, handshake_timeout=1.0)
            elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 2.0
        assert caught.value.limit == "handshake_timeout"
        assert f"127.0.0.1:{port}" in str(caught.value)

    run(main())


@pytest.mark.parametrize(
    ("piece", "interval"),
    [(b"\x14\x03\x03\x00\x01\x01", 0.5), (b"\x14", 0.2)],
    ids=["ccs-record-every-0.5s", "one-byte-every-0.2s"],
)
def test_client_handshake_deadline_is_not_extended_by_a_trickle(piece, interval):
    """Each change_cipher_spec record (or byte of one) is progress on the wire, and still the
    whole handshake must end within handshake_timeout. The client tolerates many CCS records
    here, so only the deadline can end it."""
    ccs = b"\x14\x03\x03\x00\x01\x01"

    async def trickle(reader, writer):
        await reader.read(1 << 16)  # the ClientHello
        stream = ccs * 1000
        for i in range(0, len(stream), len(piece)):
            writer.write(stream[i : i + len(piece)])
            await asyncio.sleep(interval)

    async def main():
        config = client_config(limits=Limits(max_tls13_ccs=10_000))
        async with raw_server(trickle) as port:
            started = time.monotonic()
            with pytest.raises(DeadlineError):
                await glasstls.open_connection(
                    "127.0.0.1", port, config, server_name="localhost", handshake_timeout=1.5
                )
            assert time.monotonic() - started < 2.0

    run(main())


def test_server_handshake_deadline_drops_an_idle_client_and_serves_others():
    failures: list[tuple[Any, BaseException]] = []

    async def main():
        async with await glasstls.start_server(
            echo,
            "127.0.0.1",
            0,
            server_config(),
            handshake_timeout=1.0,
            on_handshake_error=lambda peer, exc: failures.append((peer, exc)),
        ) as server:
            port = port_of(server)
            started = time.monotonic()  # (before the connection: the deadline runs from its accept, after this)
            idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)  # TCP, never a ClientHello
            reader, writer = await connect(port)  # served while the idle one waits
            assert await round_trip(reader, writer) == b"ping\n"
            assert not failures
            await close(writer)

            with contextlib.suppress(ConnectionError):
                assert await asyncio.wait_for(idle_reader.read(), 3) == b""  # dropped
            assert 0.9 <= time.monotonic() - started < 2.5
            idle_writer.close()
            assert len(failures) == 1
            peer, exc = failures[0]
            assert isinstance(exc, DeadlineError) and exc.limit == "handshake_timeout"
            assert peer == idle_writer.get_extra_info("sockname")

            reader, writer = await connect(port)  # and the next one is served as well
            assert await round_trip(reader, writer) == b"ping\n"
            await close(writer)

    run(main())


def test_idle_timeout_closes_with_close_notify():
    handler_saw: list[BaseException] = []

    async def handler(reader, writer):
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
        except DeadlineError as exc:
            handler_saw.append(exc)
        finally:
            writer.close()

    async def main():
        async with await glasstls.start_server(handler, "127.0.0.1", 0, server_config(), idle_timeout=0.6) as server:
            reader, writer = await connect(port_of(server))
            await asyncio.sleep(0.4)
            assert await round_trip(reader, writer) == b"ping\n"  # activity restarts the clock
            started = time.monotonic()
            assert await asyncio.wait_for(reader.read(), 3) == b""  # a clean end: the server sent close_notify
            assert 0.4 <= time.monotonic() - started < 1.5
            await close(writer)

    run(main())
    assert len(handler_saw) == 1 and handler_saw[0].limit == "idle_timeout"
    assert " was idle for 0.6 s (deadline idle_timeout)" in str(handler_saw[0])  # not "did not complete"


def test_close_is_bounded_when_the_peer_reads_nothing(monkeypatch):
    """writer.close() queues close_notify behind what the peer never reads: wait_closed() ends after
    CLOSE_TIMEOUT with the DeadlineError that names it (asyncio's ssl_shutdown_timeout raises a
    TimeoutError too), instead of never."""
    monkeypatch.setattr(aio, "CLOSE_TIMEOUT", 1.0)
    stop = asyncio.Event()

    async def deaf(reader, writer):
        conn = await tls_handshake_as_raw_server(reader, writer, server_config())
        assert conn is not None
        await stop.wait()  # reads nothing more

    async def main():
        async with raw_server(deaf) as port:
            reader, writer = await connect(port)
            while True:  # until the socket and both kernels' buffers are full
                writer.write(b"\xa5" * (1 << 16))
                try:
                    await asyncio.wait_for(writer.drain(), 0.5)
                except TimeoutError:
                    break
            writer.close()
            started = time.monotonic()
            with pytest.raises(DeadlineError) as info:
                await asyncio.wait_for(writer.wait_closed(), 10)
            assert 0.8 <= time.monotonic() - started < 5 and info.value.limit == "close_timeout"
            stop.set()

    run(main())


def test_idle_timeout_ends_a_peer_that_reads_nothing_of_what_we_write():
    """A client that neither sends nor reads, while the server's writes wait on it, is idle: it held a
    connection slot until the server stopped (the idle clock waited while reading was paused)."""
    ended: list[BaseException] = []

    async def flood(reader, writer):
        try:
            while True:
                writer.write(b"\x5a" * (1 << 16))
                await writer.drain()
        except (DeadlineError, ConnectionError) as exc:
            ended.append(exc)

    async def main():
        async with await glasstls.start_server(flood, "127.0.0.1", 0, server_config(), idle_timeout=0.6) as server:
            sock = await asyncio.to_thread(socket.create_connection, ("127.0.0.1", port_of(server)), 5)
            with sock:  # a TLS client that completes its handshake, then reads and sends nothing
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                conn = ClientConnection(client_config(), "localhost")
                sock.sendall(conn.data_to_send())
                while not conn.handshake_complete:
                    conn.receive_bytes(await asyncio.to_thread(sock.recv, 1 << 16))
                    sock.sendall(conn.data_to_send())
                assert await until_no_connections(server, 10.0) == 0
        assert ended, "the handler's drain never ended"
        assert isinstance(ended[0], DeadlineError) and ended[0].limit == "idle_timeout", ended
        assert " read nothing of what we sent for 0.6 s (deadline idle_timeout)" in str(ended[0])

    run(main())


def test_idle_timeout_spares_a_large_write_draining_to_a_slow_reader():
    """One write that takes longer than idle_timeout to reach a client reading all the while is not
    idle: the bytes the peer takes count as activity. It was aborted as "idle" mid-transfer, and the
    client (ssl ignores a missing close_notify) saw a short body end cleanly."""
    size, outcome = 3 << 20, []

    async def one_big_write(reader, writer):
        # Small kernel buffers, so that the write waits in the transport, not in loopback's megabytes.
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 14)
        try:
            writer.write(b"\x5a" * size)
            await writer.drain()
            outcome.append("sent")
        except Exception as exc:  # (the test reports what ended it)
            outcome.append(exc)
        writer.close()

    async def main():
        config = server_config()
        async with await glasstls.start_server(one_big_write, "127.0.0.1", 0, config, idle_timeout=0.6) as server:
            reader, writer = await connect(port_of(server))
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 14)
            received, started = 0, time.monotonic()
            while chunk := await asyncio.wait_for(reader.read(1 << 16), 5):
                received += len(chunk)
                await asyncio.sleep(len(chunk) / (2 << 20))  # about 2 MiB/s: the transfer takes 1.5 s
            assert received == size and time.monotonic() - started > 1.2
            await close(writer)
        assert outcome == ["sent"]

    run(main())


@pytest.mark.parametrize("tls_max", VERSIONS, ids=VERSION_IDS)
def test_a_handler_answers_a_client_that_half_closed(tls_max):
    """A client's close_notify ends only the server's reader (RFC 8446, Section 6.1; the same in TLS 1.2,
    as OpenSSL, Go and rustls do): the handler, having read to the end, still answers, and its close_notify
    follows the answer. asyncio's SSL transport would have answered the close_notify at once, the answer lost.
    The client is a sans-I/O ClientConnection on a plain socket, which sends close_notify and reads on."""

    async def count_then_answer(reader, writer):
        received = await reader.read()  # to the client's close_notify
        writer.write(b"got %d bytes\n" % len(received))
        await writer.drain()
        writer.close()

    async def main():
        async with await glasstls.start_server(count_then_answer, "127.0.0.1", 0, server_config()) as server:
            tcp_reader, tcp_writer = await asyncio.open_connection("127.0.0.1", port_of(server))
            conn = ClientConnection(client_config(tls_max), server_name="localhost")
            events: list[Any] = []
            try:
                while not conn.handshake_complete:
                    tcp_writer.write(conn.data_to_send())
                    chunk = await asyncio.wait_for(tcp_reader.read(1 << 16), 5)
                    assert chunk, "the server closed during the handshake"
                    events += conn.receive_bytes(chunk)
                conn.send(b"x" * 1000)
                conn.close()  # close_notify: our side is done, TCP stays open
                tcp_writer.write(conn.data_to_send())
                while not any(isinstance(e, ConnectionClosed) for e in events):
                    chunk = await asyncio.wait_for(tcp_reader.read(1 << 16), 5)
                    assert chunk, f"the TCP stream ended before the server's close_notify: {events}"
                    events += conn.receive_bytes(chunk)
            finally:
                tcp_writer.close()
            answer = b"".join(e.data for e in events if isinstance(e, ApplicationData))
            assert answer == b"got 1000 bytes\n"
            closed = next(e for e in events if isinstance(e, ConnectionClosed))
            assert closed.error is None and closed.by_peer  # a clean close_notify, after the answer

    run(main())


@pytest.mark.parametrize("returns", ["after-eof", "at-once"])
@pytest.mark.parametrize("tls_max", VERSIONS, ids=VERSION_IDS)
def test_a_callback_that_leaves_its_connection_open_does_not_hold_its_slot(tls_max, returns):
    """A TLS 1.3 close_notify closes only the peer's direction (RFC 8446, 6.1), so the server kept its own
    open for an answer, also when the callback had returned without closing: the connection and its slot
    stayed until the server stopped. asyncio's SSL transport closes at the peer's close_notify."""

    async def careless(reader, writer):
        if returns == "after-eof":
            await reader.read()  # to the client's end, then return without writer.close()

    async def main():
        async with await glasstls.start_server(careless, "127.0.0.1", 0, server_config()) as server:
            reader, writer = await connect(port_of(server), tls_max)
            writer.write(b"bye\n")
            await writer.drain()
            await asyncio.sleep(0.2)
            await close(writer)
            assert await until_no_connections(server, 2.5) == 0

    run(main())


# -- the server's bounds and its robustness ------------------------------------------------------


def test_max_connections_holds_the_third_client_in_the_backlog():
    async def main():
        async with await glasstls.start_server(echo, "127.0.0.1", 0, server_config(), max_connections=2) as server:
            port = port_of(server)
            first = await connect(port)
            second = await connect(port)
            assert await round_trip(*first) == await round_trip(*second) == b"ping\n"
            third = asyncio.create_task(connect(port, handshake_timeout=10))
            await asyncio.sleep(0.6)
            assert not third.done()  # its TCP connection waits in the kernel's backlog
            assert server.active_connections == 2
            await close(first[1])
            reader, writer = await asyncio.wait_for(third, 3)
            assert await round_trip(reader, writer) == b"ping\n"
            assert server.active_connections == 2
            await close(second[1])
            await close(writer)

    run(main())


@pytest.mark.parametrize("tls_max", VERSIONS, ids=VERSION_IDS)
def test_shutdown_sends_close_notify_and_returns_in_time(tls_max):
    async def main():
        server = await glasstls.start_server(echo, "127.0.0.1", 0, server_config())
        port = port_of(server)
        clients = [await connect(port, tls_max) for _ in range(3)]
        for reader, writer in clients:
            assert await round_trip(reader, writer) == b"ping\n"
        raw_reader, raw_writer = await asyncio.open_connection("127.0.0.1", port)  # stuck before its handshake
        await asyncio.sleep(0.05)
        assert server.active_connections == 4
        started = time.monotonic()
        await server.shutdown(timeout=2.0)
        assert time.monotonic() - started < 2.0
        assert server.active_connections == 0
        for reader, writer in clients:
            assert await asyncio.wait_for(reader.read(), 2) == b""  # close_notify: a clean end
            await close(writer)
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(raw_reader.read(), 2) == b""
        raw_writer.close()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)  # no longer listening

    run(main())


def test_shutdown_cancels_a_handshake_in_progress():
    """A client whose handshake is under way when the server shuts down got a bare FIN, which OpenSSL and
    GnuTLS clients report as a truncation: it now gets user_canceled, then close_notify (RFC 8446, 6.1)."""

    async def main():
        server = await glasstls.start_server(echo, "127.0.0.1", 0, server_config())
        client = glasstls.ClientConnection(client_config(tls_max=glasstls.ProtocolVersion.TLSv1_2), "localhost")
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
        writer.write(client.data_to_send())  # its ClientHello; the server's flight comes back, unanswered
        await writer.drain()
        await asyncio.sleep(0.2)
        await server.shutdown(timeout=2.0)
        events = client.receive_bytes(await asyncio.wait_for(reader.read(), 2))
        writer.close()
        alerts = [(e.level.name, e.description.name) for e in events if isinstance(e, glasstls.AlertReceived)]
        assert alerts == [("warning", "user_canceled"), ("warning", "close_notify")]
        closed = events[-1]
        assert isinstance(closed, glasstls.ConnectionClosed) and closed.error is not None
        assert "canceled the handshake" in str(closed.error)

    run(main())


def test_shutdown_aborts_what_does_not_end_within_its_bound():
    async def flood(reader, writer):
        while True:  # the client never reads: drain() blocks, and shutdown's close cannot flush
            writer.write(b"\x00" * (1 << 16))
            await writer.drain()

    async def main():
        server = await glasstls.start_server(flood, "127.0.0.1", 0, server_config())
        reader, writer = await connect(port_of(server))
        await asyncio.sleep(0.5)
        # The client does not read either: its reader stops at its limit, the rest stays in the kernel.
        assert len(reader._buffer) <= (1 << 16) + HELD
        assert not writer.transport.is_reading()
        started = time.monotonic()
        await server.shutdown(timeout=1.0)
        assert time.monotonic() - started < 1.0 + 1.0
        assert server.active_connections == 0
        writer.transport.abort()

    run(main())


@pytest.mark.parametrize("kind", ["coroutine", "function"])
def test_a_failing_callback_does_not_stop_the_server(kind):
    calls = []

    def plain(reader, writer):
        calls.append(writer)
        if len(calls) == 1:
            raise RuntimeError("the application's bug")
        asyncio.get_running_loop().create_task(echo(reader, writer))

    async def coroutine(reader, writer):
        calls.append(writer)
        if len(calls) == 1:
            raise RuntimeError("the application's bug")
        await echo(reader, writer)

    async def main():
        callback = coroutine if kind == "coroutine" else plain
        async with await glasstls.start_server(callback, "127.0.0.1", 0, server_config()) as server:
            port = port_of(server)
            reader, writer = await connect(port)
            writer.write(b"ping\n")
            with pytest.raises((TruncatedError, ConnectionError)):  # aborted: neither data nor close_notify
                await asyncio.wait_for(reader.read(), 3)
            await close(writer)
            reader, writer = await connect(port)
            assert await round_trip(reader, writer) == b"ping\n"
            await close(writer)

    run(main())
    assert len(calls) == 2


def test_a_failing_observer_is_contained_to_its_connection():
    failures: list[BaseException] = []
    made = []

    class Broken(glasstls.Observer):
        def __call__(self, event):
            raise ValueError("observer bug")

    def factory(peer):
        made.append(peer)
        return Broken() if len(made) == 1 else glasstls.EventList()

    async def main():
        async with await glasstls.start_server(
            echo,
            "127.0.0.1",
            0,
            server_config(),
            observer_factory=factory,
            on_handshake_error=lambda peer, exc: failures.append(exc),
        ) as server:
            port = port_of(server)
            with pytest.raises((TLSError, ConnectionError)):
                await connect(port, handshake_timeout=3)
            reader, writer = await connect(port)
            assert await round_trip(reader, writer) == b"ping\n"
            await close(writer)

    run(main())
    assert len(made) == 2
    assert len(failures) == 1 and isinstance(failures[0], ValueError)


def test_server_config_is_required_and_tls12_only_server_works():
    async def main():
        with pytest.raises(glasstls.ConfigError):
            await glasstls.start_server(echo, "127.0.0.1", 0)
        config = server_config(tls_max=ProtocolVersion.TLSv1_2)
        async with await glasstls.start_server(echo, "127.0.0.1", 0, config) as server:
            reader, writer = await connect(port_of(server))  # offers 1.3 and 1.2, gets 1.2
            assert writer.get_extra_info("glasstls").version == "TLSv1.2"
            assert await round_trip(reader, writer) == b"ping\n"
            await close(writer)

    run(main())


def test_close_stops_accepting_while_connections_go_on():
    async def main():
        server = await glasstls.start_server(echo, "127.0.0.1", 0, server_config())
        port = port_of(server)
        forever = asyncio.create_task(server.serve_forever())
        reader, writer = await connect(port)
        server.close()
        await asyncio.wait_for(forever, 2)  # serve_forever returns once the server is closed
        assert not server.is_serving()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
        assert await round_trip(reader, writer) == b"ping\n"  # the open connection is still served
        closed = asyncio.create_task(server.wait_closed())
        await asyncio.sleep(0.2)
        assert not closed.done()  # wait_closed waits for the connection too
        await close(writer)
        await asyncio.wait_for(closed, 3)
        assert server.active_connections == 0

    run(main())


@pytest.mark.parametrize("tls_max", [ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2], ids=["tls13", "tls12"])
def test_open_connection_resumes_through_a_session_store(tls_max):
    """A SessionStore keeps what the first connection got (TLS 1.3: the tickets that arrive
    after the handshake; TLS 1.2: the session) and the second connection resumes with it."""
    store = glasstls.SessionStore()

    async def main():
        async with await glasstls.start_server(echo, "127.0.0.1", 0, server_config()) as server:
            port = port_of(server)
            results = []
            for _ in range(2):
                reader, writer = await connect(port, tls_max, session_store=store)
                assert await round_trip(reader, writer) == b"ping\n"  # the tickets come before the echo
                results.append(writer.get_extra_info("glasstls").resumed)
                await close(writer)
            return results

    assert run(main()) == [False, True]
    # TLS 1.3: two tickets per connection (ServerConfig.tls13_tickets), each used once; TLS 1.2: one session.
    assert len(store) == (2 + 1 - 1 if tls_max == ProtocolVersion.TLSv1_3 else 1)  # one ticket after a resumption


def test_a_tls12_session_whose_connection_ends_with_a_fatal_alert_leaves_the_session_store():
    """RFC 5246, Section 7.2: a connection ended by a fatal alert must not be resumed. The session the
    handshake put in the store is taken back when the connection then fails (here a forged record from
    the server, which the client answers with bad_record_mac), and the next connection does not offer it."""
    store = glasstls.SessionStore()

    async def forge_after_echo(reader, writer):
        await reader.readline()
        writer.write(b"ping\n")
        await writer.drain()
        await reader.readline()  # the client's word to break the connection
        # Past the TLS layer, straight onto the socket (asyncio's socket wrapper has no send()): it fails
        # authentication.
        os.write(writer.get_extra_info("socket").fileno(), b"\x17\x03\x03\x00\x20" + bytes(32))
        with contextlib.suppress(Exception):
            await reader.read()

    async def main():
        async with await glasstls.start_server(forge_after_echo, "127.0.0.1", 0, server_config()) as server:
            port = port_of(server)
            reader, writer = await connect(port, ProtocolVersion.TLSv1_2, session_store=store)
            assert await round_trip(reader, writer) == b"ping\n"
            assert len(store) == 1
            writer.write(b"break\n")
            with pytest.raises(AlertError, match="bad_record_mac"):
                await asyncio.wait_for(reader.read(), 5)
            await close(writer)
            assert len(store) == 0
            reader, writer = await connect(port, ProtocolVersion.TLSv1_2, session_store=store)
            resumed = writer.get_extra_info("glasstls").resumed
            writer.close()
            return resumed

    assert run(main()) is False


def test_the_server_without_asyncio_s_private_transport_maker(monkeypatch):
    """On a loop other than asyncio's selector loops (uvloop …) an accepted socket gets its transport
    from loop.connect_accepted_socket in a task: the same service, failures and deadline there too."""
    from glasstls.io import aio_server

    through_a_task = lambda loop: functools.partial(aio_server._transport_soon, loop)  # noqa: E731
    monkeypatch.setattr(aio_server, "_transport_maker", through_a_task)
    failures: list[BaseException] = []

    async def main():
        async with await glasstls.start_server(
            echo, "127.0.0.1", 0, server_config(), handshake_timeout=0.5, max_connections=2,
            on_handshake_error=lambda peer, exc: failures.append(exc),
        ) as server:  # fmt: skip
            port = port_of(server)
            reader, writer = await connect(port)
            assert await round_trip(reader, writer) == b"ping\n"
            await close(writer)
            idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)  # never a ClientHello
            with contextlib.suppress(ConnectionError):
                assert await asyncio.wait_for(idle_reader.read(), 3) == b""  # dropped at the deadline
            idle_writer.close()
            assert len(failures) == 1 and isinstance(failures[0], DeadlineError)
            reader, writer = await connect(port)
            assert await round_trip(reader, writer) == b"ping\n"
            await close(writer)

    run(main())


# -- large writes -----------------------------------------------------------------------------


def _openssl_contexts(tmp_path: Any) -> tuple[Any, Any]:
    """Python's ssl (OpenSSL) contexts for the test PKI: a client trusting its root, a server with its chain."""
    import ssl

    from cryptography.hazmat.primitives import serialization

    identity = server_identity("localhost")
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in identity.chain))
    key.write_bytes(
        identity.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    client = ssl.create_default_context(cadata=default_ca().root_pem().decode())
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(chain, key)
    return client, server


_LARGE = [
    bytes(range(256)) * 512,  # 128 KiB: one slice of TLSProtocol.write
    bytes(range(251)) * 523 + b"!",  # one byte past it
    bytearray(b"\x5a" * (3 * 1024 * 1024 + 17)),  # many slices, and not bytes
    memoryview(bytes(range(256)) * 4097)[3:],  # a view, at an offset
]


def test_large_writes_arrive_whole_at_openssl_both_ways(tmp_path: Any) -> None:
    """writer.write() of buffers larger than the slice TLSProtocol seals at once, each way
    against asyncio's own TLS (OpenSSL): every byte arrives, in order, in records OpenSSL takes."""
    openssl_client, openssl_server = _openssl_contexts(tmp_path)
    expected = b"".join(bytes(data) for data in _LARGE)

    async def read_all(reader: asyncio.StreamReader) -> bytes:
        got = bytearray()
        while len(got) < len(expected) and (chunk := await reader.read(1 << 16)):
            got += chunk
        return bytes(got)

    async def glasstls_writes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for data in _LARGE:
            writer.write(data)
            await writer.drain()
        await reader.read(1)  # the peer's word that it has all of it
        writer.close()

    async def main() -> tuple[bytes, bytes]:
        # glasstls client -> OpenSSL server
        received: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def openssl_reads(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.set_result(await read_all(reader))
            writer.write(b"k")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(openssl_reads, "127.0.0.1", 0, ssl=openssl_server)
        async with server:
            reader, writer = await connect(port_of(server))
            await glasstls_writes(reader, writer)
            first = await asyncio.wait_for(received, 20)
        # glasstls server -> OpenSSL client
        async with await glasstls.start_server(glasstls_writes, "127.0.0.1", 0, server_config()) as tls_server:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port_of(tls_server), ssl=openssl_client, server_hostname="localhost"
            )
            second = await read_all(reader)
            writer.write(b"k")
            await writer.drain()
            writer.close()
        return first, second

    first, second = run(main(), timeout=60)
    assert first == expected and second == expected


def test_the_server_hands_its_connection_each_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """However TCP cuts the client's stream (here inside a header, inside a body, between records),
    TLSProtocol hands Connection.receive_bytes each read as it came, the records in it at once
    (one call, one wake-up of the reader for them all, as asyncio's SSL protocol), and the
    records a read cut short are completed by the next: every byte arrives, in order."""
    from glasstls.connection import Connection

    pieces: list[int] = []
    original = Connection.receive_bytes

    def recording(self: Connection, data: bytes) -> list[Any]:
        if self.side == "server":
            pieces.append(len(data))
        return original(self, data)

    monkeypatch.setattr(Connection, "receive_bytes", recording)
    total = 5 * RECORD + 1234

    payload = bytes(range(256)) * (total // 256) + bytes(total % 256)
    got: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append(await reader.readexactly(total))
        writer.write(b"done")
        await writer.drain()
        writer.close()

    def client(port: int) -> bytes:
        conn = glasstls.ClientConnection(client_config(), server_name="localhost")
        sent = bytearray()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not conn.handshake_complete:
                out = conn.data_to_send()
                sent += out
                sock.sendall(out)
                conn.receive_bytes(sock.recv(1 << 16))
            conn.send(payload)
            records = conn.data_to_send()  # the client's Finished, then the data
            sent += records
            # Cuts 2 bytes into a header, inside a body, at a boundary (of the data records).
            finished = len(records) - (5 * (RECORD + 22) + 5 + 1235 + 16)
            cuts = [finished + RECORD + 22 + 2, finished + 2 * RECORD + 9000, finished + 3 * (RECORD + 22)]
            start = 0
            for cut in [*cuts, len(records)]:
                sock.sendall(records[start:cut])
                start = cut
                time.sleep(0.05)
            answer = b""
            while b"done" not in answer:
                events = conn.receive_bytes(sock.recv(1 << 16))
                answer += b"".join(e.data for e in events if isinstance(e, glasstls.ApplicationData))
        return bytes(sent)

    async def main() -> bytes:
        async with await glasstls.start_server(handler, "127.0.0.1", 0, server_config()) as server:
            return await asyncio.get_running_loop().run_in_executor(None, client, port_of(server))

    stream = run(main())
    boundaries, at = set(), 0
    while at < len(stream):
        at += 5 + int.from_bytes(stream[at + 3 : at + 5], "big")
        boundaries.add(at)
    assert sum(pieces) == len(stream) and got == [payload]
    start, spanning = 0, 0
    for size in pieces:
        spanning += len([b for b in boundaries if start < b < start + size]) > 1  # records at once
        start += size
    assert spanning, pieces


@pytest.mark.parametrize(
    ("sent", "description"),
    [
        (b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", AlertDescription.unexpected_message),  # no TLS record
        (b"\x16\x03\x01\xff\xff" + bytes(100), AlertDescription.record_overflow),  # RFC 8446, Section 5.1
        (b"\x16\x03\x01\x40\x01" + bytes(100), AlertDescription.record_overflow),  # one byte past 2^14
        (b"\x17\x03\x03\x00\x20" + bytes(32), AlertDescription.unexpected_message),  # data before any keys
    ],
    ids=["plain-text", "header-65535", "header-2^14+1", "early-application-data"],
)
def test_the_server_refuses_what_begins_no_record_and_serves_on(sent: bytes, description: AlertDescription) -> None:
    """Bytes the asyncio server cuts into record-sized pieces (io/aio.py) that begin no acceptable
    record: a fatal alert naming why, the connection closed, and the next client served."""

    async def main() -> tuple[bytes, Any]:
        async with await glasstls.start_server(echo, "127.0.0.1", 0, server_config()) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port_of(server))
            writer.write(sent)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 10)  # up to the server's close
            writer.close()
            tls_reader, tls_writer = await connect(port_of(server))
            echoed = await round_trip(tls_reader, tls_writer)
            await close(tls_writer)
            return answer, echoed

    answer, echoed = run(main())
    assert answer[:1] == b"\x15" and answer[3:5] == b"\x00\x02" and answer[5:7] == bytes((2, description))
    assert len(answer) == 7  # the alert, then the close
    assert echoed == b"ping\n"


def test_a_client_writer_dropped_unclosed_is_closed_as_asyncio_closes_it():
    """asyncio's StreamWriter.__del__ closes a transport its application dropped, with a ResourceWarning;
    the protocol held our writer for the loop's life, so such a connection stayed open (and its socket)."""
    import gc
    import warnings

    ended = asyncio.Event()

    async def until_end(reader, writer):
        await reader.read()
        ended.set()
        writer.close()

    async def main():
        async with await glasstls.start_server(until_end, "127.0.0.1", 0, server_config()) as server:
            reader, writer = await connect(port_of(server))
            writer.write(b"then dropped\n")
            await writer.drain()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                del reader, writer
                gc.collect()
            assert any("unclosed <StreamWriter" in str(w.message) for w in caught), [str(w.message) for w in caught]
            await asyncio.wait_for(ended.wait(), 5)  # the server read to our close_notify

    run(main())


def test_a_callback_that_takes_other_arguments_is_logged_as_an_error(caplog):
    """asyncio logs the TypeError of a client_connected_cb called with (reader, writer) it does not take;
    glasstls dropped every connection with it at debug level, the clients seeing a truncation."""

    async def handler(reader):  # no writer
        raise AssertionError("never runs")

    async def main():
        async with await glasstls.start_server(handler, "127.0.0.1", 0, server_config()) as server:
            reader, writer = await connect(port_of(server))
            with pytest.raises(glasstls.errors.TruncatedError):  # aborted: a FIN, no close_notify
                await asyncio.wait_for(reader.read(), 5)
            writer.close()

    with caplog.at_level("ERROR", logger="glasstls.io.aio_server"):
        run(main())
    failed = [r for r in caplog.records if "client_connected_cb failed" in r.getMessage()]
    assert failed and failed[0].exc_info is not None and failed[0].exc_info[0] is TypeError


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("limit", 0, "limit must be at least 1 byte, not 0"),
        ("idle_timeout", 0, "idle_timeout must be a positive number of seconds, or None for none; not 0"),
        ("handshake_timeout", -5, "handshake_timeout must be a positive number of seconds, or None for none; not -5"),
    ],
)
def test_start_server_and_open_connection_refuse_bounds_that_cannot_work(option, value, message):
    """A zero limit failed every accepted connection in the loop's exception handler (its socket and
    max_connections slot lost), a zero idle_timeout closed each right after its handshake, and a negative
    handshake_timeout was reported as 'did not complete within -5 s'. asyncio refuses its own likewise."""

    async def main():
        with pytest.raises(glasstls.errors.ConfigError, match=re.escape(message)):
            await glasstls.start_server(echo, "127.0.0.1", 0, server_config(), **{option: value})
        if option != "idle_timeout":  # (a client has no idle timeout)
            with pytest.raises(glasstls.errors.ConfigError, match=re.escape(message)):
                await glasstls.open_connection("127.0.0.1", 9, client_config(), **{option: value})

    run(main())


def test_after_a_fatal_alert_the_reader_and_drain_say_which():
    """reader.exception() answers how the stream ended, as a StreamReader does after set_exception(), and
    StreamWriter.drain() raises it: drain() said only 'Connection lost' after a record failed
    authentication, and exception() was None while the reader held the alert."""
    stop = asyncio.Event()

    async def spoiling(reader, writer):
        conn = await tls_handshake_as_raw_server(reader, writer, server_config())
        assert conn is not None
        conn.send(b"spoiled")
        record = bytearray(conn.data_to_send())
        record[-1] ^= 1  # the tag no longer authenticates the record
        writer.write(bytes(record))
        await stop.wait()

    async def main():
        async with raw_server(spoiling) as port:
            reader, writer = await connect(port)
            with pytest.raises(AlertError) as info:
                await asyncio.wait_for(reader.read(100), 5)
            assert info.value.description == AlertDescription.bad_record_mac
            assert reader.exception() is info.value
            writer.write(b"too late")
            with pytest.raises(AlertError) as again:
                await writer.drain()
            assert again.value is info.value
            stop.set()
            writer.close()

    run(main())
