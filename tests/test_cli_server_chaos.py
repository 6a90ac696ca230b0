"""``glasstls server --www --trace --explain`` under many hostile clients at once: the process stays
up, writes no traceback to either stream, escapes every name a peer chose in its trace, and serves a
good client after them.

The hostile clients are those of hostile_clients.py (TLS broken at every step), plus ClientHellos
whose server name or ALPN protocol carries terminal escapes and control characters, and HTTP gone
wrong after a good handshake: random bytes, an HTTP/2 preface, a 100 KB header, a request line with
escapes, pipelined requests, a request head trickled past ``--request-timeout``, a request then a
reset. Seeded, bounded in time, on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path

import pytest

import glasstls
from glasstls import ClientConfig, ClientConnection
from glasstls.x509.store import TrustStore
from hostile_clients import after_handshake, cut_hello, handshake, read_some, reset
from serving_helpers import CLIServer, make_pki

pytestmark = pytest.mark.timeout(120)

CLIENTS = 120
CONCURRENCY = 30
HOSTILE_NAME = b"\x1b[31mX\n\x07\x00y"  # ESC [ 3 1 m, a newline, a bell, a NUL: 10 bytes
HOSTILE_ALPN = b"\x1b]0;pwn\x07"  # an xterm title sequence: 8 bytes


def hello_with(trust: TrustStore, placeholder: bytes, hostile: bytes, **kw: object) -> bytes:
    """A real ClientHello whose ``placeholder`` bytes (a server name or an ALPN protocol of the same
    length) are replaced on the wire by ``hostile``: every length stays right."""
    assert len(placeholder) == len(hostile)
    config = ClientConfig(trust_store=trust, **kw)  # type: ignore[arg-type]
    hello = ClientConnection(config, server_name="localhost" if b"." not in placeholder else placeholder.decode())
    data = hello.data_to_send()
    assert data.count(placeholder) == 1
    return data.replace(placeholder, hostile)


async def hostile_hello(rng: random.Random, port: int, trust: TrustStore) -> None:
    if rng.random() < 0.5:
        data = hello_with(trust, b"abcdefgh.t", HOSTILE_NAME)
    else:
        data = hello_with(trust, b"zzzzzzzz", HOSTILE_ALPN, alpn=("zzzzzzzz",))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await read_some(reader)
    writer.close()


HTTP_WRONGS = {
    "random": lambda rng: rng.randbytes(rng.randrange(1, 5000)),
    "h2-preface": lambda rng: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + rng.randbytes(40),
    "huge-header": lambda rng: b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 100_000 + b"\r\n\r\n",
    "escapes": lambda rng: b"GET /\x1b[2J\x1b]0;pwn\x07 HTTP/1.1\r\nHost: \x1b[31m\r\n\r\n",
    "pipelined": lambda rng: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * rng.randrange(2, 20),
}


async def http_wrong(rng: random.Random, port: int, trust: TrustStore) -> None:
    done = await handshake(rng, port, trust)
    if done is None:
        return
    reader, writer, conn = done
    how = rng.choice((*HTTP_WRONGS, "trickle", "request-then-reset"))
    if how == "trickle":  # a request head, a byte at a time, past --request-timeout
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\n":
            conn.send(bytes([byte]))
            writer.write(conn.data_to_send())
            await asyncio.sleep(0.1)
            if writer.is_closing() or reader.at_eof():
                break
    else:
        conn.send(HTTP_WRONGS.get(how, HTTP_WRONGS["pipelined"])(rng))
        writer.write(conn.data_to_send())
        if how == "request-then-reset":
            reset(writer)
            return
        with contextlib.suppress(glasstls.TLSError):
            conn.receive_bytes(await read_some(reader))
    writer.close()


async def good_get(port: int, trust: TrustStore) -> bytes:
    reader, writer = await glasstls.open_connection(
        "127.0.0.1", port, ClientConfig(trust_store=trust), server_name="localhost"
    )
    writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


def test_the_cli_server_with_traces_survives_hostile_clients_and_escapes_their_names(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    trust = TrustStore.from_pem(pki.ca.root_pem())
    kinds = (cut_hello, after_handshake, hostile_hello, http_wrong)
    trace = tmp_path / "trace.txt"
    with trace.open("wb") as out:
        server = CLIServer(
            pki, "--www", "--trace", "--explain", "--handshake-timeout", "1", "--request-timeout", "1",
            "--idle-timeout", "2", stdout=out.fileno(),
        )  # fmt: skip
        with server:

            async def one(rng: random.Random, slots: asyncio.Semaphore) -> None:
                async with slots:
                    with contextlib.suppress(ConnectionError, TimeoutError, glasstls.TLSError):
                        await asyncio.wait_for(rng.choice(kinds)(rng, server.port, trust), 15)

            async def main() -> bytes:
                rng, slots = random.Random(7), asyncio.Semaphore(CONCURRENCY)
                await asyncio.gather(*(one(random.Random(rng.random()), slots) for _ in range(CLIENTS)))
                return await good_get(server.port, trust)

            page = asyncio.run(main())
            assert page.startswith(b"HTTP/1.1 200 "), page[:200]
            assert server.alive()
    printed = trace.read_bytes()
    for stream in (printed, server.log.encode()):
        assert b"Traceback" not in stream and b"Exception" not in stream
        assert b"\x1b" not in stream and b"\x07" not in stream  # every peer-chosen name escaped
    assert b"ClientHello" in printed and b"\\x1b" in printed  # the trace ran, and showed the escapes escaped
