"""The asyncio server of glasstls: :func:`start_server` and :class:`TLSServer`.

    server = await glasstls.start_server(handle, "127.0.0.1", 8443, server_config, max_connections=100)
    async with server:
        await server.serve_forever()

Each accepted connection is driven by io/aio.py's protocol; this module adds what
a server needs around it: its own accept loop (asyncio.Server cannot stop
accepting, and beyond ``max_connections`` new connections must wait in the
kernel's backlog rather than cost memory here), a deadline per handshake,
containment of every failure to its own connection, and a bounded shutdown that
sends close_notify (see docs/design/serving.md).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import functools
import inspect
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import ServerConfig
from ..errors import ConfigError, DeadlineError, TLSError
from ..events import Event
from ..observe import Observer
from ..sides import ServerConnection
from .aio import ClientConnectedCallback, TLSProtocol, check_bounds, peer_label
from .aio_transport import SocketTransport

logger = logging.getLogger(__name__)

# An accept() that fails for lack of descriptors or memory is retried after this pause (as asyncio does).
ACCEPT_RETRY_DELAY = 1.0
# Connections aborted at the end of shutdown() get this long to report connection_lost.
ABORT_GRACE = 0.5
# At most this many connections accepted per wake-up of a listening socket (asyncio.Server takes
# its backlog's worth), so that a flood of connects cannot hold the loop from the rest.
ACCEPT_BATCH = 100
# Handshake deadlines are checked by one timer per server, at most this share of the deadline late.
DEADLINE_SLACK = 1 / 32


@dataclass(frozen=True, slots=True)
class _Listener:
    """A listening socket, and what every socket accepted from it shares, looked up once rather than
    per connection: its kind (socket.accept() asks the listener again each time, through two enum
    conversions), and, for one IPv4 address, the local address that getsockname() would answer for
    each of them. Not for 0.0.0.0, where it is the address each client chose, nor for IPv6, where the
    accepted socket's scope id may differ, nor for a transparent listener (IP_TRANSPARENT: a TPROXY
    redirect keeps each connection's original destination): those are asked of the socket itself."""

    sock: socket.socket
    family: int
    kind: int
    proto: int
    sockname: Any  # None: ask the accepted socket

    @classmethod
    def of(cls, sock: socket.socket) -> _Listener:
        sockname = None
        if sock.family == socket.AF_INET:
            with contextlib.suppress(OSError):
                address = sock.getsockname()
                if address[0] != "0.0.0.0" and not _transparent(sock):
                    sockname = address
        return cls(sock, int(sock.family), int(sock.type), sock.proto, sockname)

    def accept(self) -> tuple[socket.socket, Any]:
        """socket.accept(), without asking the listener its kind each time: through the socket's
        _accept() (CPython's, which socket.accept() calls itself), or socket.accept() where a
        Python has no such method."""
        if not _RAW_ACCEPT:
            return self.sock.accept()
        fd, peer = self.sock._accept()  # type: ignore[attr-defined]
        return socket.socket(self.family, self.kind, self.proto, fd), peer


# Whether sockets have CPython's private _accept(), checked once: another Python keeps the public call.
_RAW_ACCEPT = callable(getattr(socket.socket, "_accept", None))


def _transparent(sock: socket.socket) -> bool:
    """Whether an IPv4 listener takes connections for addresses other than its own (Linux's IP_TRANSPARENT)."""
    option = getattr(socket, "IP_TRANSPARENT", None)
    return option is not None and sock.getsockopt(socket.SOL_IP, option) != 0


@dataclass(frozen=True)
class _ServerOptions:
    config: ServerConfig
    client_connected_cb: ClientConnectedCallback
    handshake_timeout: float | None
    idle_timeout: float | None
    allow_truncation: bool
    limit: int
    observer_factory: Callable[[Any], Observer | None] | None
    on_handshake_error: Callable[[Any, BaseException], None] | None
    on_event: Callable[[Event], None] | None
    coroutine_cb: bool  # client_connected_cb is a coroutine function


class TLSServer:
    """Listening sockets, the accept loop and the connections of :func:`start_server`."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sockets: list[socket.socket], options: _ServerOptions, slots: int | None
    ) -> None:
        self._loop = loop
        self._sockets = sockets
        self._listeners = [_Listener.of(sock) for sock in sockets]
        self._options = options
        self._free = slots  # connections that may still be accepted; None: no bound
        self._open: set[TLSProtocol] = set()  # accepted and not yet gone
        self._tasks: set[asyncio.Task[None]] = set()  # one per connection whose handshake completed: the callback
        self._closed = asyncio.Event()
        self._serving_forever: asyncio.Future[None] | None = None
        self._listening = False  # our reader is registered on the listening sockets
        self._retry: asyncio.TimerHandle | None = None  # accept() ran out of descriptors: when to try again
        # Every handshake gets the same time, so the deadlines come due in the order of accept: a
        # queue of [deadline, protocol, peer], the protocol cleared when its handshake ends, checked
        # by one timer (_check_deadlines) rather than a timer made and cancelled per connection.
        self._deadlines: collections.deque[list[Any]] = collections.deque()
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._make_transport = _transport_maker(loop)
        self._listen()

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return tuple(self._sockets)

    @property
    def active_connections(self) -> int:
        """Connections accepted and not yet closed, in their handshake or after it."""
        return len(self._open)

    def is_serving(self) -> bool:
        return not self._closed.is_set()

    def close(self) -> None:
        """Stop accepting and close the listening sockets; open connections go on."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._unlisten()  # before closing: a closed descriptor's number may be reused at once
        if self._retry is not None:
            self._retry.cancel()
        for sock in self._sockets:
            sock.close()
        if self._serving_forever is not None and not self._serving_forever.done():
            self._serving_forever.set_result(None)

    async def wait_closed(self) -> None:
        """Wait until the server is closed and every connection and callback has ended."""
        await self._closed.wait()
        while True:
            pending = {*self._tasks, *(tls.closed for tls in self._open)}
            pending = {f for f in pending if not f.done()}
            if not pending:
                return
            await asyncio.wait(pending)

    async def serve_forever(self) -> None:
        """Serve until close() (then return) or cancellation (then shut down and re-raise)."""
        if self._serving_forever is not None:
            raise RuntimeError("serve_forever() is already running")
        if self._closed.is_set():
            raise RuntimeError("the server is closed")
        self._serving_forever = self._loop.create_future()
        try:
            await self._serving_forever
        except asyncio.CancelledError:
            await self.shutdown()
            raise
        finally:
            self._serving_forever = None

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting, send close_notify on every established connection and cancel those still
        in their handshake (user_canceled, then close_notify: RFC 8446, Section 6.1; a bare FIN read
        as a truncation to OpenSSL and GnuTLS clients); wait up to ``timeout`` seconds for the
        connections and their callbacks to end, then abort the rest."""
        self.close()
        for tls in list(self._open):
            if tls.handshake.done() and not tls.handshake.exception():
                tls.close()
            elif not tls.handshake.done():
                tls.cancel(ConnectionAbortedError("the server is shutting down"))
            else:
                tls.abort()  # (its handshake failed: its alert went out already)
        self._drop_deadlines()  # no handshake is left to time
        waiting = {*self._tasks, *(tls.closed for tls in self._open)}
        if waiting:
            await asyncio.wait(waiting, timeout=timeout)
        for tls in list(self._open):
            tls.abort()
        for task in self._tasks:
            task.cancel()
        rest = {*self._tasks, *(tls.closed for tls in self._open)}
        if rest:
            await asyncio.wait(rest, timeout=ABORT_GRACE)

    async def __aenter__(self) -> TLSServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    # -- accepting ---------------------------------------------------------------------
    # Our own accept loop rather than asyncio.Server, which cannot stop accepting: beyond
    # max_connections the listening sockets are not watched, and new connections wait in
    # the kernel's backlog. While a slot is free, a reader stays registered on them (one
    # registration for the server's life, not one per connection) and each wake-up
    # accepts what is waiting, as asyncio.Server does.
    def _listen(self) -> None:
        if self._listening or self._closed.is_set() or self._retry is not None or self._free == 0:
            return
        for listener in self._listeners:
            self._loop.add_reader(listener.sock, self._accept, listener)
        self._listening = True

    def _unlisten(self) -> None:
        if self._listening:
            for sock in self._sockets:
                with contextlib.suppress(ValueError, OSError):  # a socket its owner closed under us
                    self._loop.remove_reader(sock)
            self._listening = False

    def _accept(self, listener: _Listener) -> None:
        for _ in range(ACCEPT_BATCH):
            if self._free == 0:
                self._unlisten()  # until a connection ends (_release_slot)
                return
            try:
                sock, peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    logger.warning(
                        "accept() failed (%s): out of file descriptors or memory (see ulimit -n); accepting again "
                        "in %g s", exc, ACCEPT_RETRY_DELAY,
                    )  # fmt: skip
                    self._unlisten()
                    self._retry = self._loop.call_later(ACCEPT_RETRY_DELAY, self._retry_accept)
                    return
                continue  # otherwise (ECONNABORTED …) only that connection is lost
            if self._free is not None:
                self._free -= 1
            self._start(sock, peer, listener.sockname)

    def _retry_accept(self) -> None:
        self._retry = None
        self._listen()

    def _release_slot(self) -> None:
        if self._free is not None:
            self._free += 1
            self._listen()

    # -- one connection -----------------------------------------------------------------
    # No task until the handshake has completed: the handshake is driven by the protocol's
    # callbacks, its deadline is one timer, and the protocol tells us of its end (on_handshake).
    def _start(self, sock: socket.socket, peer: Any, sockname: Any) -> None:
        options = self._options
        try:
            observer = options.observer_factory(peer) if options.observer_factory is not None else None
            conn = ServerConnection(options.config, observer=observer)
            tls = TLSProtocol(conn, self._loop, limit=options.limit, allow_truncation=options.allow_truncation,
                              on_event=options.on_event, idle_timeout=options.idle_timeout,
                              on_handshake=lambda: self._handshake_done(tls, peer, deadline),
                              on_closed=lambda: self._connection_ended(tls))  # fmt: skip
        except Exception as exc:
            sock.close()
            self._release_slot()
            self._handshake_failed(peer, exc)
            return
        self._open.add(tls)
        deadline = self._add_deadline(tls, peer)
        self._make_transport(sock, tls, peer, sockname)

    def _connection_ended(self, tls: TLSProtocol) -> None:
        self._open.discard(tls)
        self._release_slot()

    def _add_deadline(self, tls: TLSProtocol, peer: Any) -> list[Any] | None:
        timeout = self._options.handshake_timeout
        if timeout is None:
            return None
        entry = [self._loop.time() + timeout, tls, peer]
        self._deadlines.append(entry)
        if self._deadline_timer is None:
            self._deadline_timer = self._loop.call_at(entry[0], self._check_deadlines)
        return entry

    def _drop_deadlines(self) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        self._deadlines.clear()

    def _check_deadlines(self) -> None:
        """Abort the handshakes past their deadline; come back for the next one, or a little later."""
        timeout = self._options.handshake_timeout
        assert timeout is not None
        now = self._loop.time()
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, tls, peer = deadlines.popleft()
            if tls is not None and not tls.handshake.done():
                tls.abort(DeadlineError(f"the TLS handshake with {peer_label(peer)}", timeout, "handshake_timeout"))
        # Not a wake-up per connection under load: the next check may come DEADLINE_SLACK late.
        if deadlines:
            when = max(deadlines[0][0], now + timeout * DEADLINE_SLACK)
            self._deadline_timer = self._loop.call_at(when, self._check_deadlines)
        else:
            self._deadline_timer = None

    def _handshake_done(self, tls: TLSProtocol, peer: Any, deadline: list[Any] | None) -> None:
        if deadline is not None:
            deadline[1] = deadline[2] = None  # the queue keeps no connection past its handshake
        error = tls.handshake.exception()
        if error is not None:
            self._handshake_failed(peer, error)
            return
        writer = tls.writer
        assert writer is not None  # made with the handshake's end
        if self._options.coroutine_cb:
            # Calling a coroutine function runs none of it: the task runs the application's coroutine itself.
            try:
                coroutine = self._options.client_connected_cb(tls.reader, writer)
            except Exception:  # (arguments it does not take: a TypeError before any of it runs)
                logger.exception("client_connected_cb failed for %s; its connection is aborted", peer_label(peer))
                tls.abort()
                return
        else:
            coroutine = self._call_plain(tls.reader, writer)
        task: asyncio.Task[None] = self._loop.create_task(coroutine)  # type: ignore[arg-type]  # one, by coroutine_cb
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._callback_ended, tls, peer))

    def _handshake_failed(self, peer: Any, exc: BaseException) -> None:
        callback = self._options.on_handshake_error
        if callback is None:
            logger.debug("TLS handshake with %s failed: %s", peer_label(peer), exc)
            return
        try:
            callback(peer, exc)
        except Exception:
            logger.exception("on_handshake_error raised")

    async def _call_plain(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A callback that is not a coroutine function, called in a task as a coroutine's would run."""
        result = self._options.client_connected_cb(reader, writer)
        if inspect.isawaitable(result):
            await result

    def _callback_ended(self, tls: TLSProtocol, peer: Any, task: asyncio.Task[None]) -> None:
        """The connection's callback returned, failed or was cancelled; any failure aborts its connection only."""
        self._tasks.discard(task)
        if task.cancelled():
            tls.abort()
            return
        exc = task.exception()
        if exc is None:
            tls.owner_finished()
            return
        if isinstance(exc, TLSError | OSError):
            # The connection itself failed (truncation, reset, alert): nothing to debug here.
            logger.info("connection with %s ended: %s", peer_label(peer), exc)
        else:
            logger.error("client_connected_cb failed for %s; its connection is aborted", peer_label(peer), exc_info=exc)
        tls.abort()


def _transport_maker(loop: asyncio.AbstractEventLoop) -> Callable[[socket.socket, TLSProtocol, Any, Any], None]:
    """How an accepted socket gets its transport: at once, without a task, on asyncio's own selector
    loops, our lean SocketTransport (aio_transport.py); elsewhere (uvloop …) the loop's own, from a
    task running connect_accepted_socket."""
    if isinstance(loop, asyncio.selector_events.BaseSelectorEventLoop):
        return functools.partial(_transport_now, loop)
    return functools.partial(_transport_soon, loop)


def _transport_now(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, tls: TLSProtocol, peer: Any, sockname: Any
) -> None:
    try:
        sock.setblocking(False)
        # As asyncio does: small writes (a flight, an alert) go out without waiting for an ACK.
        # (A bare try costs nothing when nothing is raised; contextlib.suppress is an object per call.)
        try:  # noqa: SIM105
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a Unix socket given as sock=)
        # The transport calls tls.connection_made, then reads. The peer's address is accept()'s,
        # as asyncio.Server passes it: no getpeername() call; our own is the listener's where known.
        SocketTransport(loop, sock, tls, peer, sockname).start()
    except Exception as exc:
        sock.close()
        tls.abort(exc)  # reported to on_handshake_error through tls.handshake


def _transport_soon(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, tls: TLSProtocol, _peer: Any, _sockname: Any
) -> None:
    task = loop.create_task(_connect_accepted(loop, sock, tls))
    _connecting.add(task)
    task.add_done_callback(_connecting.discard)


_connecting: set[asyncio.Task[None]] = set()  # strong references to the tasks of _transport_soon


async def _connect_accepted(loop: asyncio.AbstractEventLoop, sock: socket.socket, tls: TLSProtocol) -> None:
    try:
        await loop.connect_accepted_socket(lambda: tls, sock)
    except Exception as exc:
        sock.close()
        tls.abort(exc)


async def _bind(host: str | Sequence[str] | None, port: int | None, backlog: int) -> list[socket.socket]:
    """Listening sockets for every address ``host`` resolves to (all interfaces for None), as asyncio binds them."""
    loop = asyncio.get_running_loop()
    hosts: list[str | None] = [host] if host is None or isinstance(host, str) else list(host)
    infos: dict[tuple[Any, ...], None] = {}
    for name in hosts:
        for family, kind, proto, _, address in await loop.getaddrinfo(
            name, port or 0, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            infos[(family, kind, proto, address)] = None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, address in infos:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # As asyncio: an IPv6 socket does not also take the IPv4 address bound beside it.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def start_server(
    client_connected_cb: ClientConnectedCallback,
    host: str | Sequence[str] | None = None,
    port: int | None = None,
    config: ServerConfig | None = None,
    *,
    handshake_timeout: float | None = 10.0,
    idle_timeout: float | None = None,
    max_connections: int | None = None,
    allow_truncation: bool = False,
    limit: int = 64 * 1024,
    observer_factory: Callable[[Any], Observer | None] | None = None,
    on_handshake_error: Callable[[Any, BaseException], None] | None = None,
    on_event: Callable[[Event], None] | None = None,
    backlog: int = 128,
    sock: socket.socket | None = None,
) -> TLSServer:
    """Listen on ``host``:``port`` (or ``sock``) and serve TLS, calling
    ``client_connected_cb(reader, writer)`` (a function or a coroutine function)
    for each connection whose handshake completed.

    ``handshake_timeout`` bounds each whole handshake; ``idle_timeout`` closes (with
    close_notify) a connection that neither received nor wrote anything for that
    long while its reader was not full; ``max_connections`` bounds the connections
    open at once, later ones waiting in the kernel's backlog. ``observer_factory(peername)``
    gives each connection its trace observer; ``on_handshake_error(peername, exc)``
    hears of every failed handshake (TLSError, DeadlineError, OSError …). An exception
    in a connection, an observer or a callback aborts that connection only.
    """
    if config is None:
        raise ConfigError("start_server needs a ServerConfig (config=)")
    if max_connections is not None and max_connections < 1:
        raise ConfigError(f"max_connections must be at least 1, not {max_connections}")
    check_bounds(handshake_timeout=handshake_timeout, idle_timeout=idle_timeout, limit=limit)
    if sock is not None:
        if host is not None or port is not None:
            raise ValueError("host and port cannot be given with sock")
        sock.listen(backlog)
        sock.setblocking(False)
        sockets = [sock]
    else:
        sockets = await _bind(host, port, backlog)
    options = _ServerOptions(config, client_connected_cb, handshake_timeout, idle_timeout, allow_truncation, limit,
                             observer_factory, on_handshake_error, on_event,
                             inspect.iscoroutinefunction(client_connected_cb))  # fmt: skip
    return TLSServer(asyncio.get_running_loop(), sockets, options, max_connections)
