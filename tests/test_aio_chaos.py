"""The asyncio server under many hostile clients at once: none of them reaches asyncio's exception
handler or an error in the log, each one's failure stays its own, and a good client is served after.

Each hostile client (a seeded random choice, so a failure names its seed) drives a real TCP
connection to ``glasstls.start_server`` on 127.0.0.1: a ClientHello cut anywhere and then a FIN, a
reset, silence until the handshake deadline or garbage; or a complete handshake (a sans-I/O
ClientConnection) followed by data, a record cut short, a forged record, close_notify then a reset,
a FIN without close_notify, a flood of KeyUpdates, or echoes it never reads. Every connection and
the whole run are bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from typing import Any

import pytest

import glasstls
from glasstls import ClientConfig, ClientConnection, ProtocolVersion, ServerConfig
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity

pytestmark = pytest.mark.timeout(120)

CLIENTS = 160  # hostile clients per run, CONCURRENCY at a time
CONCURRENCY = 40
STEP = 3.0  # every read of a hostile client waits at most this long


def server_config() -> ServerConfig:
    identity = server_identity("localhost")
    return ServerConfig(certificates=(glasstls.CertifiedKey(identity.chain, identity.private_key),))


def client_config(version: ProtocolVersion) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), tls_max=version)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data * 4)  # more than came: a client that reads nothing fills our buffers
            await writer.drain()
    finally:
        writer.close()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN (SO_LINGER with a zero timeout)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def read_some(reader: asyncio.StreamReader) -> bytes:
    try:
        return await asyncio.wait_for(reader.read(1 << 16), STEP)
    except (TimeoutError, ConnectionError):
        return b""


async def handshake(rng: random.Random, port: int) -> tuple[Any, Any, ClientConnection] | None:
    """A complete handshake over a plain TCP stream; None if the server ended it."""
    version = rng.choice((ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = ClientConnection(client_config(version), server_name="localhost")
    while not conn.handshake_complete:
        writer.write(conn.data_to_send())
        data = await read_some(reader)
        if not data:
            writer.close()
            return None
        conn.receive_bytes(data)
    return reader, writer, conn


async def cut_hello(rng: random.Random, port: int) -> None:
    hello = ClientConnection(client_config(ProtocolVersion.TLSv1_3), server_name="localhost").data_to_send()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(hello[: rng.randrange(len(hello))])
    end = rng.choice(("fin", "reset", "garbage", "silence"))
    if end == "fin":
        writer.write_eof()
        await read_some(reader)
    elif end == "garbage":
        writer.write(rng.randbytes(rng.randrange(1, 3000)))
        await read_some(reader)
    elif end == "silence":
        await read_some(reader)  # the server's handshake deadline (1 s here) ends it
    reset(writer) if end == "reset" else writer.close()


async def after_handshake(rng: random.Random, port: int) -> None:
    done = await handshake(rng, port)
    if done is None:
        return
    reader, writer, conn = done
    action = rng.choice(("data", "cut-record", "forged", "close-notify-reset", "fin", "key-updates", "no-reads"))
    conn.send(rng.randbytes(rng.randrange(1, 40000)))
    records = conn.data_to_send()
    if action == "data":
        writer.write(records)
        await read_some(reader)
        conn.close()
        writer.write(conn.data_to_send())
    elif action == "cut-record":
        writer.write(records[: rng.randrange(1, len(records))])
        await asyncio.sleep(rng.random() / 10)
    elif action == "forged":
        writer.write(records[:5] + rng.randbytes(len(records) - 5))  # its header, then noise
        await read_some(reader)
    elif action == "close-notify-reset":
        conn.close()
        writer.write(records + conn.data_to_send())
        await asyncio.sleep(rng.random() / 20)
    elif action == "fin":
        writer.write(records)
        writer.write_eof()  # no close_notify: a truncation
        await read_some(reader)
    elif action == "key-updates" and conn.version == ProtocolVersion.TLSv1_3:
        for _ in range(rng.randrange(1, 80)):
            conn.update_keys(request_peer=rng.random() < 0.5)
        writer.write(conn.data_to_send())
        await read_some(reader)
    else:  # no-reads: echoes the server cannot deliver pile up on its side
        for _ in range(8):
            writer.write(records)
            conn.send(b"x" * 60000)
            records = conn.data_to_send()
        await asyncio.sleep(0.2)
    reset(writer) if rng.random() < 0.5 else writer.close()


async def good_client(port: int) -> bytes:
    reader, writer = await glasstls.open_connection(
        "127.0.0.1", port, client_config(ProtocolVersion.TLSv1_3), server_name="localhost"
    )
    writer.write(b"still here\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.readexactly(44), 5)
    writer.close()
    return answer


@pytest.mark.parametrize("seed", [1, 2])
def test_hostile_clients_at_once_reach_no_handler_of_last_resort(seed: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    last_resort: list[dict[str, Any]] = []

    async def one(rng: random.Random, port: int, slots: asyncio.Semaphore) -> None:
        async with slots:
            hostile = cut_hello if rng.random() < 0.35 else after_handshake
            # The server's answers to a hostile client end it; what matters here is the server's side.
            with contextlib.suppress(ConnectionError, TimeoutError, glasstls.TLSError):
                await asyncio.wait_for(hostile(rng, port), 15)

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: last_resort.append(context))
        failed: list[BaseException] = []
        server = await glasstls.start_server(
            echo, "127.0.0.1", 0, server_config(), handshake_timeout=1.0,
            on_handshake_error=lambda _peer, exc: failed.append(exc),
        )  # fmt: skip
        async with server:
            port = server.sockets[0].getsockname()[1]
            rng = random.Random(seed)
            slots = asyncio.Semaphore(CONCURRENCY)
            await asyncio.gather(*(one(random.Random(rng.random()), port, slots) for _ in range(CLIENTS)))
            assert await good_client(port) == b"still here\n" * 4
            for _ in range(100):
                if server.active_connections == 0:
                    break
                await asyncio.sleep(0.05)
            assert server.active_connections == 0
        assert failed, "no hostile client's handshake failed: the clients did not do what they say"

    asyncio.run(main())
    assert last_resort == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.name.startswith("asyncio")]
    assert errors == [], [r.getMessage() for r in errors]
