"""The load generator, in a process of its own: Python's asyncio + ssl clients, many connections at once.

    python bench/load_client.py PKI_DIR FD_LIMIT

Reads one JSON command per line on stdin, runs it against the port it names and
answers with one JSON line; it exits at the end of stdin (the orchestrator is
gone). Every command is bounded in time (``bound``), every connection by
``timeout``. The clients are cheap on purpose, so that the server is what is
measured: OpenSSL does their cryptography, and they do not verify the chain
(``check`` does once per server, with verification on), which spares them two
ECDSA verifications per handshake; the server's work is the same either way.

Commands (``op``): ``check``; ``run`` (connections that each connect, handshake,
echo ECHO_BYTES once and close, ``concurrency`` at a time, until ``count`` or
``seconds``); ``hold`` / ``probe_held`` / ``release`` (connections kept open
after their echo); ``loris`` (load_loris.py).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import time
from collections import Counter
from typing import Any

from load_common import Pki, raise_fd_limit, reply
from load_loris import loris
from load_tls import TLSClient, connect


def client_context(pki: Pki, verify: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.set_ecdh_curve("X25519")  # the only key share offered, so the only group the server can pick
    if verify:
        context.load_verify_locations(cafile=pki.root)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def failure(what: str, exc: BaseException) -> str:
    return f"{what}: {type(exc).__name__}"


async def cycle(port: int, context: ssl.SSLContext, timeout: float) -> tuple[float, float, float]:
    """One connection of a ``run``: connect, handshake, one echo, close; returns the seconds each took:
    connect() to the handshake's end, the echo's round trip, and the close (our close_notify sent to
    the server's received).

    Raises RuntimeError naming the step that failed and how.
    """
    step = "handshake"
    try:
        async with asyncio.timeout(timeout):
            client, latency = await connect(port, context)
            step = "echo"
            echoed = time.perf_counter()
            try:
                await client.echo()
            except BaseException:  # a timeout too: no graceful close, which could wait as long again
                client.abort()
                raise
            step = "close"
            closing = time.perf_counter()
            await client.close()
    except Exception as exc:
        raise RuntimeError(failure(step, exc)) from exc
    return latency, closing - echoed, time.perf_counter() - closing


class Client:
    """The commands, with the connections held open between them (by port)."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.fast = client_context(pki, verify=False)
        self.held: dict[int, list[TLSClient]] = {}

    async def check(self, port: int) -> dict[str, Any]:
        """One connection with the chain and the host name verified: what each server negotiates."""
        async with asyncio.timeout(10.0):
            client, _ = await connect(port, client_context(self.pki, verify=True))
            try:
                await client.echo()
                suite, version, _ = client.ssl.cipher()
            finally:
                await client.close()
        return {"version": version, "suite": suite, "group": "x25519 (the only key share offered)"}

    async def run(self, port: int, concurrency: int, count: int, seconds: float, timeout: float) -> dict[str, Any]:
        """``concurrency`` clients, each doing cycles until ``count`` were started in all or ``seconds`` passed."""
        start = time.perf_counter()
        deadline = start + seconds
        latencies: list[float] = []
        echoes: list[float] = []
        closes: list[float] = []
        failures: Counter[str] = Counter()
        started = 0

        async def client() -> None:
            nonlocal started
            while started < count and time.perf_counter() < deadline:
                started += 1
                try:
                    handshake, echo, close = await cycle(port, self.fast, timeout)
                except RuntimeError as exc:
                    failures[str(exc)] += 1
                else:
                    latencies.append(handshake)
                    echoes.append(echo)
                    closes.append(close)

        await asyncio.gather(*(client() for _ in range(min(concurrency, count))))
        return {
            "completed": len(latencies),
            "failures": dict(failures),
            "elapsed": time.perf_counter() - start,
            "latencies": [round(x, 5) for x in latencies],
            "echo_latencies": [round(x, 5) for x in echoes],
            "close_latencies": [round(x, 5) for x in closes],
            "time_bound_hit": started < count,
        }

    async def hold(self, port: int, count: int, concurrency: int, timeout: float) -> dict[str, Any]:
        """Open ``count`` connections (handshake and one echo each) and keep them, ``concurrency`` opening at a time."""
        held = self.held.setdefault(port, [])
        failures: Counter[str] = Counter()
        slots = asyncio.Semaphore(concurrency)
        start = time.perf_counter()

        async def one() -> None:
            async with slots:
                client = None
                try:
                    async with asyncio.timeout(timeout):
                        client, _ = await connect(port, self.fast)
                        await client.echo()
                except Exception as exc:
                    failures[failure("open", exc)] += 1
                    if client is not None:
                        client.abort()
                else:
                    held.append(client)

        await asyncio.gather(*(one() for _ in range(count)))
        return {"held": len(held), "failures": dict(failures), "elapsed": time.perf_counter() - start}

    async def probe_held(self, port: int, timeout: float) -> dict[str, Any]:
        """One echo on every held connection: how many are still alive."""
        failures: Counter[str] = Counter()

        async def one(client: TLSClient) -> None:
            try:
                async with asyncio.timeout(timeout):
                    await client.echo()
            except Exception as exc:
                failures[failure("held echo", exc)] += 1

        held = self.held.get(port, [])
        await asyncio.gather(*(one(client) for client in held))
        return {"alive": len(held) - sum(failures.values()), "failures": dict(failures)}

    async def release(self, port: int, timeout: float) -> dict[str, Any]:
        failures: Counter[str] = Counter()

        async def one(client: TLSClient) -> None:
            try:
                async with asyncio.timeout(timeout):
                    await client.close()
            except Exception as exc:
                failures[failure("held close", exc)] += 1

        await asyncio.gather(*(one(client) for client in self.held.pop(port, [])))
        return {"failures": dict(failures)}

    async def loris(self, port: int, **kw: Any) -> dict[str, Any]:
        async def probe() -> float:
            return (await cycle(port, self.fast, kw["timeout"]))[0]  # the handshake's latency

        return await loris(port, self.fast, probe, **kw)


async def serve(client: Client) -> None:
    """Run the orchestrator's commands one after the other until the end of stdin."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while (line := await reader.readline()) and line.strip() != b"stop":
        command = json.loads(line)
        op, bound = command.pop("op"), command.pop("bound")
        try:
            async with asyncio.timeout(bound):
                answer = await getattr(client, op)(**command)
        except Exception as exc:  # reported to the orchestrator, which fails the run with it
            answer = {"error": f"{op}: {type(exc).__name__}: {exc}"}
        reply(answer)
    for port in list(client.held):
        await client.release(port, 2.0)


if __name__ == "__main__":
    raise_fd_limit(int(sys.argv[2]))
    asyncio.run(serve(Client(Pki(sys.argv[1]))))
