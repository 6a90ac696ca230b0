"""The asyncio server's own socket transport (io/aio_transport.py), its handshake deadlines and what a
connection leaves behind when it ends (docs/design/serving.md, "The asyncio server's transport").

Real glasstls servers and clients on 127.0.0.1, as in test_aio.py: each test runs its own event loop
under an overall bound (:func:`run`), and every server is shut down by ``async with``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import socket
import time
import weakref
from collections.abc import Awaitable
from typing import Any

import pytest

import glasstls
from glasstls import ClientConfig, DeadlineError, ServerConfig, TLSError, TruncatedError
from glasstls.io import aio_server
from glasstls.io.aio import TLSProtocol
from glasstls.io.aio_transport import HIGH_WATER, LOST_WRITES_WARNING, SocketTransport
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity

pytestmark = pytest.mark.timeout(60)

MiB = 1 << 20
BLOCK = 1 << 16


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    """Run ``coro`` in a fresh event loop; fail (rather than hang) after ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def start(handler: Any, **kw: Any) -> Awaitable[aio_server.TLSServer]:
    identity = server_identity("localhost")
    config = ServerConfig(certificates=(glasstls.CertifiedKey(identity.chain, identity.private_key),))
    return glasstls.start_server(handler, "127.0.0.1", 0, config, **kw)


async def connect(server: aio_server.TLSServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    config = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()))
    port = server.sockets[0].getsockname()[1]
    return await glasstls.open_connection("127.0.0.1", port, config, server_name="localhost")


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, TLSError):
        await asyncio.wait_for(writer.wait_closed(), 5)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(BLOCK):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def read_all(reader: asyncio.StreamReader) -> tuple[bytes, BaseException | None]:
    """What the reader delivers up to its end, and how it ended (None: close_notify)."""
    got = bytearray()
    try:
        while data := await asyncio.wait_for(reader.read(BLOCK), 20):
            got += data
    except (TLSError, ConnectionError) as exc:
        return bytes(got), exc
    return bytes(got), None


async def wait_until(condition, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)


def pattern(total: int) -> bytes:
    """``total`` bytes in 64 KiB blocks, each unlike its neighbours: a lost or reordered block shows."""
    return b"".join(bytes([i % 251]) * BLOCK for i in range(total // BLOCK))


@pytest.mark.parametrize("maker", ["ours", "fallback"])
def test_an_accepted_connection_s_transport(maker, monkeypatch):
    """asyncio's selector loop: a SocketTransport. The fallback for other loops (connect_accepted_socket
    in a task) is forced here as in test_aio.py::test_the_server_without_asyncio_s_private_transport_maker."""
    if maker == "fallback":
        through_a_task = lambda loop: functools.partial(aio_server._transport_soon, loop)  # noqa: E731
        monkeypatch.setattr(aio_server, "_transport_maker", through_a_task)
    seen: dict[str, Any] = {}

    async def handler(reader, writer):
        raw = seen["raw"] = writer.transport.get_protocol().raw
        seen.update(limits=raw.get_write_buffer_limits(), peer=writer.get_extra_info("peername"))
        seen.update(sockname=writer.get_extra_info("sockname"), socket=writer.get_extra_info("socket"))
        await echo(reader, writer)

    async def main():
        loop = asyncio.get_running_loop()
        assert isinstance(loop, asyncio.selector_events.BaseSelectorEventLoop)
        if maker == "ours":
            assert aio_server._transport_maker(loop).func is aio_server._transport_now
        async with await start(handler) as server:
            reader, writer = await connect(server)
            writer.write(b"ping\n")
            assert await asyncio.wait_for(reader.readline(), 5) == b"ping\n"
            seen["client"] = writer.get_extra_info("sockname")
            await close(writer)
            return server.sockets[0].getsockname()

    listening = run(main())
    assert (type(seen["raw"]) is SocketTransport) == (maker == "ours")
    assert seen["limits"] == (HIGH_WATER // 4, HIGH_WATER)  # asyncio's 16 and 64 KiB marks either way
    assert seen["peer"] == seen["client"] and seen["sockname"] == listening
    assert seen["socket"].fileno() == -1  # closed with its connection
    # asyncio's wrapper, on either transport, as asyncio's transports give it: send() and recv() past the
    # TLS layer are refused (the raw socket was given on ours).
    assert isinstance(seen["socket"], asyncio.trsock.TransportSocket) and not hasattr(seen["socket"], "send")


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize("raw_accept", [True, False], ids=["socket._accept", "socket.accept"])
@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::1"])
def test_an_accepted_socket_s_local_address_is_its_own_whatever_the_listener(host, raw_accept, monkeypatch):
    """The server gives each socket accepted on one IPv4 address that listener's address instead of
    asking getsockname() (aio_server._Listener); on 0.0.0.0 and IPv6 it asks. Either way the answer is
    what the accepted socket itself says, while it is open and after its end; and the same when the
    sockets are accepted through the public socket.accept() (a Python without CPython's _accept)."""
    if host == "::1" and not ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    monkeypatch.setattr(aio_server, "_RAW_ACCEPT", raw_accept)
    seen: dict[str, Any] = {}

    async def handler(reader, writer):
        sock = writer.get_extra_info("socket")
        seen.update(sockname=writer.get_extra_info("sockname"), own=sock.getsockname(), peer=sock.getpeername())
        await echo(reader, writer)
        await writer.wait_closed()
        seen["after"] = writer.get_extra_info("sockname")

    async def main():
        identity = server_identity("localhost")
        config = ServerConfig(certificates=(glasstls.CertifiedKey(identity.chain, identity.private_key),))
        async with await glasstls.start_server(handler, host, 0, config) as server:
            port = server.sockets[0].getsockname()[1]
            client = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()))
            target = "::1" if host == "::1" else "127.0.0.1"
            reader, writer = await glasstls.open_connection(target, port, client, server_name="localhost")
            writer.write(b"ping\n")
            assert await asyncio.wait_for(reader.readline(), 5) == b"ping\n"
            seen["client"] = writer.get_extra_info("sockname")
            await close(writer)
            await wait_until(lambda: "after" in seen)

    run(main())
    assert seen["sockname"] == seen["own"] == seen["after"]
    assert seen["sockname"][0] == ("::1" if host == "::1" else "127.0.0.1")  # never the wildcard
    assert seen["peer"][:2] == seen["client"][:2]


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")
def test_a_unix_listening_socket_given_as_sock(tmp_path):
    """Accepted sockets take their kind from the listener (aio_server._Listener): a Unix one gives Unix
    sockets, which refuse TCP_NODELAY and are served all the same, their sockname the listener's path.
    The client is Python's ssl, as glasstls.open_connection dials TCP only."""
    import ssl

    path = str(tmp_path / "tls.sock")
    seen: dict[str, Any] = {}

    async def handler(reader, writer):
        sock = writer.get_extra_info("socket")
        seen.update(family=sock.family, sockname=writer.get_extra_info("sockname"), own=sock.getsockname())
        await echo(reader, writer)

    async def main():
        identity = server_identity("localhost")
        config = ServerConfig(certificates=(glasstls.CertifiedKey(identity.chain, identity.private_key),))
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listening.bind(path)
        async with await glasstls.start_server(handler, config=config, sock=listening):
            context = ssl.create_default_context(cadata=default_ca().root_pem().decode())
            reader, writer = await asyncio.open_unix_connection(path, ssl=context, server_hostname="localhost")
            writer.write(b"ping\n")
            assert await asyncio.wait_for(reader.readline(), 5) == b"ping\n"
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await asyncio.wait_for(writer.wait_closed(), 5)

    run(main())
    assert seen["family"] == socket.AF_UNIX
    assert seen["sockname"] == seen["own"] == path


def test_a_transparent_listener_s_sockets_are_asked_their_own_address():
    """Under a TPROXY redirect a transparent listener's connections keep their original destination,
    so its address does not stand for theirs: each is asked (getsockname) as on 0.0.0.0."""
    with socket.socket() as plain, socket.socket() as transparent:
        plain.bind(("127.0.0.1", 0))
        assert aio_server._Listener.of(plain).sockname == plain.getsockname()
        try:
            transparent.setsockopt(socket.SOL_IP, socket.IP_TRANSPARENT, 1)  # needs CAP_NET_ADMIN
        except (AttributeError, OSError):
            pytest.skip("IP_TRANSPARENT cannot be set here")
        transparent.bind(("127.0.0.1", 0))
        assert aio_server._Listener.of(transparent).sockname is None


def test_a_reader_already_registered_for_an_accepted_descriptor_is_replaced_as_asyncio_does(monkeypatch):
    """SocketTransport registers a fresh socket's reader with the loop's selector directly; where the
    selector says it has the descriptor already, the loop's own _add_reader takes over, as before."""
    refused: list[int] = []

    async def main():
        loop = asyncio.get_running_loop()
        selector = loop._selector  # type: ignore[attr-defined]
        register = selector.register

        def once_taken(fd, events, data=None):
            callback = getattr(data[0] if isinstance(data, tuple) else None, "_callback", None)
            if not refused and isinstance(getattr(callback, "__self__", None), SocketTransport):
                refused.append(fd)
                raise KeyError(f"{fd!r} (FD {fd}) is already registered")
            return register(fd, events, data)

        async with await start(echo) as server:
            monkeypatch.setattr(selector, "register", once_taken)
            reader, writer = await connect(server)
            writer.write(b"ping\n")
            assert await asyncio.wait_for(reader.readline(), 5) == b"ping\n"
            await close(writer)

    run(main())
    assert len(refused) == 1


def test_server_writes_to_a_client_that_does_not_read_wait_in_drain_with_a_bounded_buffer():
    total = 16 * MiB
    data = pattern(total)
    state: dict[str, Any] = {"max_buffered": 0}

    async def main():
        blocked = asyncio.Event()

        async def handler(reader, writer):
            state["raw"] = writer.transport.get_protocol().raw
            for start_at in range(0, total, BLOCK):
                writer.write(data[start_at : start_at + BLOCK])
                state["max_buffered"] = max(state["max_buffered"], writer.transport.get_write_buffer_size())
                if not blocked.is_set():
                    try:
                        await asyncio.wait_for(writer.drain(), 0.5)
                    except TimeoutError:
                        state["blocked_at"] = start_at + BLOCK
                        state["buffered"] = writer.transport.get_write_buffer_size()
                        blocked.set()
                await writer.drain()
            writer.close()

        async with await start(handler) as server:
            reader, writer = await connect(server)  # and reads nothing until drain() has blocked
            await asyncio.wait_for(blocked.wait(), 15)
            got, end = await read_all(reader)
            await close(writer)
            return got, end

    got, end = run(main(), timeout=50)
    assert type(state["raw"]) is SocketTransport
    assert state["blocked_at"] < total, "drain() never blocked"
    assert state["buffered"] > state["raw"].get_write_buffer_limits()[0]  # paused above the low mark
    assert state["max_buffered"] < MiB  # a bound: one write's records above the high mark, not 16 MiB
    assert end is None and len(got) == total and got == data


def test_handshake_deadlines_under_churn_come_due_at_most_a_32nd_late():
    timeout = 1.0
    # Every accept's time by peer address: under churn a client port comes round again, and a later
    # connection from the same address must not stand for an earlier one.
    accepted: dict[Any, list[float]] = {}
    failed: dict[Any, tuple[float, BaseException]] = {}

    def note_accept(peer):
        accepted.setdefault(peer, []).append(time.monotonic())  # before the server reads its clock

    async def main():
        async with await start(
            echo, handshake_timeout=timeout, observer_factory=note_accept,
            on_handshake_error=lambda peer, exc: failed.__setitem__(peer, (time.monotonic(), exc)),
        ) as server:  # fmt: skip
            stop = asyncio.Event()

            async def churn() -> int:
                for served in range(10_000):  # until stopped
                    if stop.is_set():
                        return served
                    reader, writer = await connect(server)
                    writer.write(b"x")
                    assert await asyncio.wait_for(reader.read(1), 5) == b"x"
                    await close(writer)
                return 10_000

            async def idle(delay: float) -> Any:
                await asyncio.sleep(delay)
                reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
                with contextlib.suppress(ConnectionError):  # never a ClientHello: dropped
                    assert await asyncio.wait_for(reader.read(), 5) == b""
                writer.close()
                return writer.get_extra_info("sockname")

            churners = [asyncio.create_task(churn()) for _ in range(2)]
            idles = await asyncio.gather(*(idle(delay) for delay in (0.0, 0.3, 0.7, 1.2, 1.6)))
            stop.set()
            return idles, await asyncio.gather(*churners)

    idles, churned = run(main())
    assert min(churned) >= 5, churned
    for peer in idles:
        when, exc = failed.pop(peer)
        assert isinstance(exc, DeadlineError) and exc.limit == "handshake_timeout"
        late = when - max(t for t in accepted[peer] if t <= when)  # the accept of the connection that failed
        assert timeout - 1e-6 <= late < timeout * (1 + aio_server.DEADLINE_SLACK) + 0.45, late
    assert not failed  # every churning client's handshake succeeded


# -- what a connection leaves behind -------------------------------------------------------------


def serve_and_watch(watch) -> tuple[list[str], set[str]]:
    """With the cycle collector off: five connections echoed and ended, one dropped at its handshake
    deadline. The kinds of ``watch(tls, writer)``'s objects of each still alive once the server has
    nothing of them left to do, then those of all TLSProtocols and SocketTransports found cyclic garbage."""
    watched: list[weakref.ref[Any]] = []

    async def handler(reader, writer):
        watched.extend(weakref.ref(o) for o in watch(writer.transport.get_protocol(), writer))
        await echo(reader, writer)

    async def main():
        async with await start(handler, handshake_timeout=0.5) as server:
            for _ in range(5):
                reader, writer = await connect(server)
                writer.write(b"ping\n")
                assert await asyncio.wait_for(reader.readline(), 5) == b"ping\n"
                await close(writer)
            idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
            await wait_until(lambda: server.active_connections == 1)
            watched.extend(weakref.ref(o) for o in watch(next(iter(server._open)), None))  # in its handshake
            with contextlib.suppress(ConnectionError):
                assert await asyncio.wait_for(idle_reader.read(), 5) == b""  # dropped at its deadline
            idle_writer.close()
            await wait_until(lambda: server.active_connections == 0 and not any(ref() for ref in watched), 2.0)
            assert len(watched) >= 6

    gc.collect()
    gc.disable()
    try:
        run(main())
        left = [type(ref()).__name__ for ref in watched if ref() is not None]
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        return left, {type(o).__name__ for o in gc.garbage if isinstance(o, TLSProtocol | SocketTransport)}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_an_ended_connection_s_io_objects_are_freed_without_the_cycle_collector():
    def io_objects(tls: TLSProtocol, writer: asyncio.StreamWriter | None) -> list[Any]:
        return [tls, tls.raw, tls.reader, *([writer, writer.transport] if writer is not None else [])]

    left, cyclic = serve_and_watch(io_objects)
    assert left == []  # the server's: freed by reference counting as each connection ended
    assert cyclic == set()  # nor were the client's TLSProtocols left to the cycle collector


def test_an_ended_connection_s_connection_is_freed_without_the_cycle_collector():
    left, _ = serve_and_watch(lambda tls, _writer: [tls.conn])
    assert left == []


def after_the_end(log: pytest.LogCaptureFixture) -> dict[str, Any]:
    """A server's handler that closes, waits for the end, then uses its writer: what it saw."""
    seen: dict[str, Any] = {"warnings": []}

    async def handler(reader, writer):
        await reader.readexactly(5)
        writer.close()
        writer.write(b"after close")  # closing, not yet ended: dropped all the same
        await asyncio.wait_for(writer.wait_closed(), 5)
        seen["ended"] = type(writer.transport.get_protocol()) is not TLSProtocol  # it let go of the protocol
        for _ in range(LOST_WRITES_WARNING + 2):  # no exception, ever
            writer.write(b"after the end")
            seen["warnings"].append(sum(record.name == "glasstls.io.aio" for record in log.records))
        try:
            await writer.drain()
        except ConnectionResetError as exc:
            seen["drain"] = exc
        await asyncio.wait_for(writer.wait_closed(), 1)  # and again
        seen.update(closing=writer.is_closing(), peer=writer.get_extra_info("peername"))
        seen.update(version=writer.get_extra_info("glasstls").version, sockname=writer.get_extra_info("sockname"))

    async def main():
        async with await start(handler) as server:
            reader, writer = await connect(server)
            writer.write(b"hello")
            assert await read_all(reader) == (b"", None)  # the server's close_notify
            seen["client"] = writer.get_extra_info("sockname")
            await close(writer)
            await wait_until(lambda: "version" in seen)
            seen["listening"] = server.sockets[0].getsockname()

    log.set_level(logging.WARNING, logger="glasstls.io.aio")
    run(main())
    return seen


def test_the_writer_after_the_end_answers_as_a_closed_transport(caplog):
    seen = after_the_end(caplog)
    assert seen["ended"] and seen["closing"]
    # A warning on the fifth dropped write (the first came between close() and the end), once.
    assert seen["warnings"] == [0, 0, 0, 1, 1, 1, 1]
    assert isinstance(seen["drain"], ConnectionResetError)
    assert seen["peer"] == seen["client"] and seen["version"] == "TLSv1.3"


def test_sockname_still_answers_after_the_end(caplog):
    """Read lazily, but before the socket closes: asyncio's transports keep it too."""
    seen = after_the_end(caplog)
    assert seen["sockname"] == seen["listening"]


@pytest.mark.parametrize("ending", ["close", "abort"])
def test_close_writes_what_is_buffered_first_and_abort_drops_it(ending):
    total = 16 * MiB
    data = pattern(total)
    seen: dict[str, Any] = {}

    async def handler(reader, writer):
        writer.write(data)  # at once: what the socket does not take waits in the transport
        seen["buffered"] = writer.transport.get_write_buffer_size()
        if ending == "close":
            writer.close()
        else:
            writer.transport.abort()

    async def main():
        async with await start(handler) as server:
            reader, writer = await connect(server)
            await wait_until(lambda: "buffered" in seen)
            await asyncio.sleep(0.2)  # the server has ended its side while we did not read
            got, end = await read_all(reader)
            await close(writer)
            return got, end

    got, end = run(main(), timeout=50)
    assert seen["buffered"] > 0
    if ending == "close":
        assert end is None and len(got) == total and got == data  # all of it, then close_notify
    else:
        assert isinstance(end, TruncatedError), end  # no close_notify
        # What arrived and what was dropped add up to no more than what was written (as records: < 1% more).
        assert len(got) + seen["buffered"] <= total * 1.01 and data.startswith(got)
