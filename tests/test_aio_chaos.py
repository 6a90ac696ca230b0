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
from typing import Any

import pytest

import glasstls
from glasstls import ClientConfig, ProtocolVersion, ServerConfig
from glasstls.x509.store import TrustStore
from hostile_clients import after_handshake, cut_hello
from pairs import default_ca, server_identity
from serving_helpers import until_no_connections

pytestmark = pytest.mark.timeout(120)

CLIENTS = 160  # hostile clients per run, CONCURRENCY at a time
CONCURRENCY = 40


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

    trust = TrustStore.from_pem(default_ca().root_pem())  # (one for every client)

    async def one(rng: random.Random, port: int, slots: asyncio.Semaphore) -> None:
        async with slots:
            hostile = cut_hello if rng.random() < 0.35 else after_handshake
            # The server's answers to a hostile client end it; what matters here is the server's side.
            with contextlib.suppress(ConnectionError, TimeoutError, glasstls.TLSError):
                await asyncio.wait_for(hostile(rng, port, trust), 15)

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
            assert await until_no_connections(server) == 0
        assert failed, "no hostile client's handshake failed: the clients did not do what they say"

    asyncio.run(main())
    assert last_resort == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.name.startswith("asyncio")]
    assert errors == [], [r.getMessage() for r in errors]
