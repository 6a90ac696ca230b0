"""Slow-loris connections, and a fresh client's handshakes made among them (load.py, section 4).

Each loris is a plain TCP connection that sends a real ClientHello (made by
Python's ssl with the same context as the load clients) one byte per PERIOD,
never finishing it: a 500-byte hello would take minutes. When the server drops
one (its handshake deadline), it connects again at once, so ``count`` stay open
as far as the server lets them. A prober meanwhile makes one full connection
(handshake and echo) at a time and times its handshake: what a legitimate
client waits while the lorises hold their connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from load_common import HOST, SERVER_NAME

PERIOD = 1.0  # seconds between two bytes of a loris
CONNECT_TIMEOUT = 5.0


@dataclass
class Lorises:
    open: int = 0  # connected now
    opened: int = 0
    lifetimes: list[float] = field(default_factory=list)  # of those the server dropped, in seconds
    failures: Counter[str] = field(default_factory=Counter)


def client_hello(context: ssl.SSLContext) -> bytes:
    """The first flight a real client sends, from an SSLObject that never gets an answer."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    ssl_object = context.wrap_bio(incoming, outgoing, server_hostname=SERVER_NAME)
    with contextlib.suppress(ssl.SSLWantReadError):
        ssl_object.do_handshake()
    return outgoing.read()


def _gone(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    # A FIN leaves a plain TCP transport open (eof_received returns True), so the reader is asked too.
    return reader.at_eof() or reader.exception() is not None or writer.is_closing()


async def _trickle(port: int, hello: bytes, stop: float, state: Lorises) -> None:
    """One loris slot: connect, send ``hello`` a byte per PERIOD until ``stop``; connect again when dropped."""
    await asyncio.sleep(random.random() * PERIOD)  # the bytes of all the lorises spread over each second
    while time.perf_counter() < stop:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), CONNECT_TIMEOUT)
        except Exception as exc:
            state.failures[f"loris connect: {type(exc).__name__}"] += 1
            await asyncio.sleep(PERIOD)
            continue
        state.open += 1
        state.opened += 1
        opened = time.perf_counter()
        try:
            for i in range(len(hello)):
                writer.write(hello[i : i + 1])
                await asyncio.sleep(max(0.0, min(PERIOD, stop - time.perf_counter())))
                if _gone(reader, writer):
                    state.lifetimes.append(time.perf_counter() - opened)
                    break
                if time.perf_counter() >= stop:
                    break
        finally:
            state.open -= 1
            writer.close()


async def loris(
    port: int,
    context: ssl.SSLContext,
    probe: Callable[[], Awaitable[float]],
    *,
    count: int,
    seconds: float,
    probe_every: float,
    timeout: float,
) -> dict[str, Any]:
    """``count`` lorises for ``seconds``; once they are all connected, ``probe()`` every ``probe_every`` seconds."""
    state = Lorises()
    start = time.perf_counter()
    stop = start + seconds
    lorises = [asyncio.create_task(_trickle(port, client_hello(context), stop, state)) for _ in range(count)]
    latencies: list[float] = []
    open_at_probe: list[int] = []
    failures: Counter[str] = Counter()
    try:
        # Probe only once every loris has connected and sent its first byte (PERIOD at most after the start).
        while state.opened < count and time.perf_counter() < start + PERIOD + CONNECT_TIMEOUT:
            await asyncio.sleep(0.05)
        await asyncio.sleep(max(0.0, start + PERIOD + 0.1 - time.perf_counter()))
        while time.perf_counter() < stop:
            open_at_probe.append(state.open)
            try:
                latencies.append(await probe())
            except RuntimeError as exc:
                failures[str(exc)] += 1
            await asyncio.sleep(probe_every)
    finally:
        await asyncio.gather(*lorises, return_exceptions=True)
    return {
        "lorises": count,
        "open_min": min(open_at_probe, default=0),
        "open_mean": statistics.fmean(open_at_probe) if open_at_probe else 0.0,
        "dropped": len(state.lifetimes),
        "dropped_after": statistics.median(state.lifetimes) if state.lifetimes else None,
        "latencies": [round(x, 5) for x in latencies],
        "failures": dict(failures),
        "loris_failures": dict(state.failures),
    }
