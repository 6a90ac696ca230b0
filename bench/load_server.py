"""One server under test in a process of its own: glasstls's asyncio driver, or asyncio + ssl (OpenSSL).

    python bench/load_server.py glasstls|ssl PKI_DIR FD_LIMIT

Both run the same echo handler on the same certificate, with the same backlog and
the same handshake deadline (load_common.py). When listening it prints one JSON
line (port, pid, what it was told); then it reads commands on stdin: ``stats``
(answered with a JSON line of error counts), ``profile`` and ``profiled FILE``
(cProfile on, then off with its stats written to FILE: bench/load_profile.py)
and ``stop``. The end of stdin also
stops it: the orchestrator is gone, and a server must not outlive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import operator
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

from load_common import BACKLOG, HANDSHAKE_TIMEOUT, HOST, MAX_CONNECTIONS, READ_SIZE, Pki, raise_fd_limit, reply

# What went wrong on the server's side, by kind; reported on ``stats``.
ERRORS: Counter[str] = Counter()
OPEN = {"handlers": 0}  # connections whose handler is running (handshake done, not yet closed)
# ``profile`` starts it, ``profiled FILE`` stops it and writes its stats (bench/load_profile.py).
PROFILER = cProfile.Profile()


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send back whatever arrives until the peer's end; the one handler of both servers."""
    OPEN["handlers"] += 1
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
    except Exception as exc:  # a peer gone without close_notify is counted, not logged per connection
        ERRORS[f"handler: {type(exc).__name__}"] += 1
    finally:
        OPEN["handlers"] -= 1
        writer.close()


def split_connection_calls() -> None:
    """Route the Connection's entry points through operator.call, a C function called from nowhere else
    here, so that under callgrind its inclusive cost is the Connection's and the rest is the server's
    own (load_profile.py --callgrind). The wrappers cost a call each, counted on the server's side."""
    from glasstls import connection, sides
    from glasstls.io import aio_server

    def through_call(method: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *args, **kwargs: operator.call(method, *args, **kwargs)

    for cls in (connection.Connection, sides.ServerConnection):
        for name in ("receive_bytes", "data_to_send", "send", "close"):
            if name in vars(cls):
                setattr(cls, name, through_call(vars(cls)[name]))
    aio_server.ServerConnection = through_call(aio_server.ServerConnection)  # type: ignore[misc]


async def start_glasstls(pki: Pki) -> tuple[Any, str]:
    from glasstls import CertifiedKey, CipherSuite, NamedGroup, ProtocolVersion, ServerConfig
    from glasstls.io.aio_server import start_server

    if os.environ.get("LOAD_SPLIT_CONNECTION"):
        split_connection_calls()

    config = ServerConfig(
        certificates=(CertifiedKey.from_pem(pki.chain.read_bytes(), pki.key.read_bytes()),),
        tls_min=ProtocolVersion.TLSv1_3,
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        groups=(NamedGroup.x25519,),
        tls13_tickets=0,  # as the ssl server's num_tickets = 0 (and bench.py's full handshakes): the same messages
    )

    def failed(_peer: Any, exc: BaseException) -> None:
        ERRORS[f"handshake: {type(exc).__name__}"] += 1

    server = await start_server(
        echo,
        HOST,
        0,
        config,
        handshake_timeout=HANDSHAKE_TIMEOUT,
        idle_timeout=None,  # the stdlib server has none; idle connections are what section 3 measures
        max_connections=MAX_CONNECTIONS,
        on_handshake_error=failed,
        backlog=BACKLOG,
    )
    told = (
        f"glasstls.io.aio_server.start_server: TLS 1.3 only, TLS_AES_128_GCM_SHA256, x25519; "
        f"handshake_timeout={HANDSHAKE_TIMEOUT:g}, idle_timeout=None, max_connections={MAX_CONNECTIONS}, "
        f"backlog={BACKLOG}, tls13_tickets=0"
    )
    return server, told


async def start_ssl(pki: Pki) -> tuple[Any, str]:
    import ssl  # only here, after OPENSSL_CONF (set by the orchestrator) is in the environment

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.set_ecdh_curve("X25519")
    context.load_cert_chain(pki.chain, pki.key)
    context.num_tickets = 0  # as glasstls, which sends no TLS 1.3 tickets: the same messages, the same work

    def exception_handler(_loop: asyncio.AbstractEventLoop, ctx: dict[str, Any]) -> None:
        exc = ctx.get("exception")
        ERRORS[f"loop: {type(exc).__name__ if exc else ctx.get('message', '?')}"] += 1

    asyncio.get_running_loop().set_exception_handler(exception_handler)
    server = await asyncio.start_server(
        echo, HOST, 0, ssl=context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT, backlog=BACKLOG
    )
    told = (
        f"asyncio.start_server(ssl=...): TLS 1.3 only, {os.environ.get('OPENSSL_CONF', 'no OPENSSL_CONF')} "
        f"pins TLS_AES_128_GCM_SHA256, set_ecdh_curve('X25519'); ssl_handshake_timeout={HANDSHAKE_TIMEOUT:g} "
        f"(asyncio's default is 60), backlog={BACKLOG}, num_tickets=0; no idle or connection limit (it has none)"
    )
    return server, told


async def commands(stop: asyncio.Event) -> None:
    """Answer the orchestrator's commands until ``stop``, or until its end of the pipe closes."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while not stop.is_set():
        line = (await reader.readline()).strip()
        if line == b"stats":
            reply({"errors": dict(ERRORS), "handlers": OPEN["handlers"]})
        elif line == b"profile":
            PROFILER.enable()
            reply({"profiling": True})
        elif line.startswith(b"profiled "):
            PROFILER.disable()
            PROFILER.dump_stats(line.split(b" ", 1)[1].decode())
            reply({"profiled": True})
        elif line in (b"stop", b""):  # b"": end of input
            break
    stop.set()


async def main(stack: str, pki: Pki) -> None:
    server, told = await (start_glasstls(pki) if stack == "glasstls" else start_ssl(pki))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    port = server.sockets[0].getsockname()[1]
    reply({"port": port, "pid": os.getpid(), "told": told})
    task = asyncio.create_task(commands(stop))
    await stop.wait()
    task.cancel()
    if stack == "glasstls":
        await asyncio.wait_for(server.shutdown(timeout=2.0), 5.0)
    else:
        server.close()  # the open connections go with the process
    with contextlib.suppress(Exception):
        reply({"stopped": True})


if __name__ == "__main__":
    raise_fd_limit(int(sys.argv[3]))
    asyncio.run(main(sys.argv[1], Pki(sys.argv[2])))
