"""The clients of bench/load_fleet.py: asyncio + Python's ssl (OpenSSL), full handshakes or resumptions.

Each client loops on connect, handshake, one 64-byte echo, close (close_notify both
ways), as bench/load_client.py's do, through the same lean protocol (load_tls.py);
a resuming client offers, on every connection, the session its previous connection
left (the newest TLS 1.3 ticket, or the TLS 1.2 session ID). They do not verify the
chain (the server's work is the same either way).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field

from load_common import HOST, SERVER_NAME
from load_tls import TLSClient

# What a run offers: TLS 1.3 with tickets, or TLS 1.2 with session IDs only (the session cache is used).
MODES = ("tls13", "tls12-session-id")


_CONTEXTS: dict[str, ssl.SSLContext] = {}


def client_context(mode: str) -> ssl.SSLContext:
    """One context per mode for the whole run: a session resumes only through the context it came from."""
    if mode in _CONTEXTS:
        return _CONTEXTS[mode]
    context = _CONTEXTS[mode] = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if mode == "tls13":
        context.minimum_version = ssl.TLSVersion.TLSv1_3
    else:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.options |= ssl.OP_NO_TICKET
    return context


class ResumingClient(TLSClient):
    """load_tls.TLSClient offering ``session`` (built with none, then rewrapped before any byte moved)."""

    def __init__(self, context: ssl.SSLContext, session: ssl.SSLSession | None) -> None:
        super().__init__(context)
        if session is not None:
            self.ssl = context.wrap_bio(self._incoming, self._outgoing, server_hostname=SERVER_NAME, session=session)


@dataclass
class Tally:
    completed: int = 0
    resumed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0


async def cycle(port: int, context: ssl.SSLContext, session: ssl.SSLSession | None) -> tuple[bool, ssl.SSLSession]:
    """One connection: whether it resumed ``session``, and the session it leaves."""
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: ResumingClient(context, session), HOST, port)
    try:
        await client.handshake
        await client.echo()  # the TLS 1.3 tickets come before the echo
    except BaseException:
        client.abort()
        raise
    resumed, left = client.ssl.session_reused, client.ssl.session
    await client.close()
    assert left is not None
    return resumed, left


async def prime(port: int, mode: str, count: int, timeout: float) -> list[ssl.SSLSession]:
    """One full handshake per resuming client: the sessions they start from (not measured)."""
    context = client_context(mode)
    firsts = await asyncio.gather(*(asyncio.wait_for(cycle(port, context, None), timeout) for _ in range(count)))
    return [session for _, session in firsts]


async def run(port: int, mode: str, sessions: list[ssl.SSLSession | None], seconds: float, timeout: float) -> Tally:
    """One client per entry of ``sessions``, looping for ``seconds``: full handshakes where it is None,
    else resumptions of the session the client's previous connection left."""
    context = client_context(mode)
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async def client(session: ssl.SSLSession | None) -> None:
        resume = session is not None
        while time.perf_counter() < deadline:
            try:
                resumed, left = await asyncio.wait_for(cycle(port, context, session), timeout)
            except Exception as exc:
                tally.failures[type(exc).__name__] += 1
                continue
            tally.completed += 1
            tally.resumed += resumed
            if resume:
                session = left

    start = time.perf_counter()
    await asyncio.gather(*(client(session) for session in sessions))
    tally.elapsed = time.perf_counter() - start
    return tally
