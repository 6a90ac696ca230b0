"""Hostile TLS clients for the servers' chaos tests (test_aio_chaos.py, test_cli_server_chaos.py).

Each is a coroutine over a real TCP connection to 127.0.0.1, driven by a seeded ``random.Random``
so that a failure names its seed; every read waits at most :data:`STEP`. They raise only what a
server's refusal causes (ConnectionError, TimeoutError, TLSError), which the tests ignore: what they
check is the server's side.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from typing import Any

from glasstls import ClientConfig, ClientConnection, ProtocolVersion
from glasstls.x509.store import TrustStore

STEP = 3.0  # every read of a hostile client waits at most this long


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN (SO_LINGER with a zero timeout)."""
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.fileno() != -1:  # (closed already, by the server's end: nothing to reset)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def read_some(reader: asyncio.StreamReader) -> bytes:
    try:
        return await asyncio.wait_for(reader.read(1 << 16), STEP)
    except (TimeoutError, ConnectionError):
        return b""


async def handshake(rng: random.Random, port: int, trust: TrustStore) -> tuple[Any, Any, ClientConnection] | None:
    """A complete handshake over a plain TCP stream; None if the server ended it."""
    version = rng.choice((ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = ClientConnection(ClientConfig(trust_store=trust, tls_max=version), server_name="localhost")
    while not conn.handshake_complete:
        writer.write(conn.data_to_send())
        data = await read_some(reader)
        if not data:
            writer.close()
            return None
        conn.receive_bytes(data)
    return reader, writer, conn


async def cut_hello(rng: random.Random, port: int, trust: TrustStore) -> None:
    """A ClientHello cut anywhere, then a FIN, a reset, garbage, or silence until the server's deadline."""
    hello = ClientConnection(ClientConfig(trust_store=trust), server_name="localhost").data_to_send()
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
        await read_some(reader)  # the server's handshake deadline ends it
    reset(writer) if end == "reset" else writer.close()


async def after_handshake(rng: random.Random, port: int, trust: TrustStore) -> None:
    """A handshake, then data, a record cut short, a forged record, close_notify and a reset, a FIN
    without close_notify, a flood of KeyUpdates (TLS 1.3), or data sent and its echoes never read."""
    done = await handshake(rng, port, trust)
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
