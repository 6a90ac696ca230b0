"""An asyncio driver of the sans-I/O Connection: StreamReader/StreamWriter pairs over TLS.

    reader, writer = await glasstls.open_connection("example.com", 443, glasstls.ClientConfig())
    writer.write(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\nConnection: close\\r\\n\\r\\n")
    page = await reader.read()

The server side, start_server() and TLSServer, is in aio_server.py.

Like asyncio's sslproto, a protocol (:class:`TLSProtocol`) sits between the raw
TCP transport and the application's StreamReaderProtocol, which talks to an
app-facing transport (:class:`_AppTransport`). The protocol only moves bytes and
events between the transport and the Connection; every TLS decision is the
Connection's. What it adds are the things only a driver can do: deadlines, flow
control in both directions, and telling a truncated stream from a clean end.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ..config import ClientConfig
from ..connection import Connection
from ..errors import ConfigError, ConnectionClosedError, DeadlineError, TruncatedError
from ..events import ApplicationData, ConnectionClosed, EarlyData, Event, HandshakeComplete, NegotiatedParameters
from ..observe import Observer
from ..session.state import SessionState
from ..session.store import SessionStore, session_key
from ..sides import ClientConnection
from .aio_reader import TLSStreamReader
from .payload import octets, slices

logger = logging.getLogger(__name__)

ClientConnectedCallback = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]

# Ciphertext is handed to the Connection a read at a time (asyncio reads up to READ_BUFFER
# bytes at once), the records of a read in one call and their data to the reader at once, as
# asyncio's own SSL protocol does; the record layer keeps a record the read cut short for the
# next. The reader is checked between reads: one over its limit pauses the socket, and holds at
# most one read more than its limit (asyncio's pauses only at twice its limit, after the read).
# After this many writes to a closed connection, say so (asyncio's transports do the same).
LOST_WRITES_WARNING = 5
# The most one read from the socket takes: asyncio's own transports read up to this much.
READ_BUFFER = 256 * 1024
# Seconds a close may wait for the peer to take what is queued (close_notify last) before the
# connection is aborted: asyncio's own default ssl_shutdown_timeout.
CLOSE_TIMEOUT = 30.0

# One read buffer per thread (so per event loop), shared by its connections: the transport
# fills it and hands it back at once (get_buffer, recv_into, buffer_updated, with no other
# callback in between), and its bytes are copied out before anything else runs. With
# data_received, asyncio would allocate READ_BUFFER bytes for every recv() and shrink them
# to what arrived: at that size malloc maps fresh memory each time (mmap, mremap and munmap,
# three system calls and page faults per read, nine per TLS 1.3 connection served).
_reading = threading.local()


def _read_buffer() -> memoryview:
    try:
        buffer: memoryview = _reading.buffer
    except AttributeError:
        buffer = _reading.buffer = memoryview(bytearray(READ_BUFFER))
    return buffer


def peer_label(peer: Any) -> str:
    """A peer's address for messages: HOST:PORT, or [HOST]:PORT for IPv6."""
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = f"[{peer[0]}]" if ":" in str(peer[0]) else str(peer[0])
        return f"{host}:{peer[1]}"
    return str(peer)


class _AppTransport(asyncio.Transport):
    """The transport the application's StreamWriter writes to, and the protocol behind it.

    What the writer asks of its protocol (drain's wait, wait_closed's future) is
    passed on to the TLSProtocol. Once the connection has ended (``ended``), this
    answers as a closed transport without holding the TLSProtocol: the reader,
    the writer and this are all the application may keep, and none of them then
    refers back to the protocol, so the protocol and its Connection are freed by
    reference counting when the connection ends, not left to the cycle collector.
    """

    def __init__(self, tls: TLSProtocol) -> None:
        super().__init__()
        self._tls: TLSProtocol | None = tls
        self._conn = tls.conn
        self._raw: asyncio.Transport | None = None  # set when the handshake completes
        self._lost_error: Exception | None = None  # how the TCP connection ended, once it has
        self._lost_writes = 0

    def lost_write(self) -> None:
        self._lost_writes += 1
        if self._lost_writes == LOST_WRITES_WARNING:
            logger.warning("writing to a glasstls connection that is closed: the data is dropped")

    def started(self, raw: asyncio.Transport) -> None:
        self._raw = raw

    def ended(self, exc: Exception | None) -> None:
        self._tls = None
        self._lost_error = exc

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "glasstls":
            return self._conn.parameters
        if name == "glasstls_connection":
            return self._conn
        if name in ("peercert", "cipher"):
            return self._ssl_info(name, default)
        assert self._raw is not None  # the application gets this transport only after the handshake
        return self._raw.get_extra_info(name, default)  # peername, sockname, socket …

    def _ssl_info(self, name: str, default: Any) -> Any:
        """The keys asyncio's SSL transport answers from its SSLObject, in the same shapes: "peercert"
        as ``getpeercert()`` (None without a certificate), "cipher" as ``cipher()``."""
        from ..compat.certdict import certificate_dict  # (late: the ssl-compatible layer is optional here)
        from ..compat.ciphers import cipher_tuple

        parameters = self._conn.parameters
        if parameters is None:
            return default
        if name == "cipher":
            return cipher_tuple(parameters.cipher_suite)
        chain = parameters.peer_certificates
        return certificate_dict(chain[0]) if chain else None

    def is_closing(self) -> bool:
        return self._tls is None or self._tls.is_closing()

    def close(self) -> None:
        if self._tls is not None:
            self._tls.close()

    def abort(self) -> None:
        if self._tls is not None:
            self._tls.abort()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data: expecting a bytes-like instance, got {type(data).__name__}")
        if self._tls is not None:
            self._tls.write(octets(data))  # (a view of the caller's buffer: sealed before write returns)
        else:
            self.lost_write()

    def can_write_eof(self) -> bool:
        return False  # as sslproto: close() sends close_notify and closes both directions

    def pause_reading(self) -> None:
        if self._tls is not None:
            self._tls.pause_reading()

    def resume_reading(self) -> None:
        if self._tls is not None:
            self._tls.resume_reading()

    def is_reading(self) -> bool:
        return self._tls is not None and not self._tls.reading_paused and not self._tls.is_closing()

    # Flow control of writes is the raw transport's: its buffer holds our ciphertext.
    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        assert self._raw is not None
        self._raw.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        assert self._raw is not None
        return self._raw.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        assert self._raw is not None
        return self._raw.get_write_buffer_limits()

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tls if self._tls is not None else _ENDED

    # -- as the StreamWriter's protocol (what it asks of a StreamReaderProtocol) --------
    def _drain_helper(self) -> Awaitable[None]:
        return self._tls._drain_helper() if self._tls is not None else _connection_lost()

    def _get_close_waiter(self, stream: asyncio.StreamWriter) -> asyncio.Future[None]:
        if self._tls is not None:
            return self._tls._get_close_waiter(stream)
        waiter: asyncio.Future[None] = stream._loop.create_future()  # type: ignore[attr-defined]
        _resolve(waiter, self._lost_error)
        return waiter


_ENDED = asyncio.BaseProtocol()  # an ended connection's get_protocol(): it no longer has one


async def _connection_lost() -> None:
    raise ConnectionResetError("Connection lost")  # what a StreamReaderProtocol's drain raises then


class TLSProtocol(asyncio.BufferedProtocol):
    """Moves bytes between a raw transport and a Connection, and events to the application.

    ``handshake`` resolves to the NegotiatedParameters (``reader`` is connected
    then, and ``writer`` exists) or to the error that ended the handshake;
    ``closed`` resolves when the TCP connection is gone.

    It is also the protocol behind ``writer``: what a StreamWriter asks of its
    protocol (drain's wait while the raw transport's buffer is full, wait_closed's
    future) is answered here, as a StreamReaderProtocol would, without one more
    object, future and finalizer per connection.
    """

    def __init__(
        self,
        conn: Connection,
        loop: asyncio.AbstractEventLoop,
        *,
        limit: int,
        allow_truncation: bool,
        on_event: Callable[[Event], None] | None,
        idle_timeout: float | None = None,
        on_handshake: Callable[[], None] | None = None,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        self.conn = conn
        self._loop = loop
        self.reader = TLSStreamReader(limit=limit, loop=loop)
        self._app_transport = _AppTransport(self)
        self.writer: asyncio.StreamWriter | None = None  # (a client's: None once handed out, hand_out_writer)
        self.raw: asyncio.Transport | None = None
        self.handshake: asyncio.Future[NegotiatedParameters] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        # Called at once when ``handshake`` and ``closed`` resolve: a server's bookkeeping,
        # without a done-callback (and its turn of the loop) per future and connection.
        self._on_handshake = on_handshake
        self._on_closed_hook = on_closed
        self._allow_truncation = allow_truncation
        self._event_callback = on_event
        self._pending = b""  # ciphertext held back while the application does not read
        self.reading_paused = False  # by the application's reader, over its limit
        self._writing_paused = False  # by the raw transport, its write buffer over the high-water mark
        self._answers_paused = False  # reading paused: the peer asks for answers while it reads none (_flush_answers)
        self._drain_waiters: list[asyncio.Future[None]] = []  # writer.drain() calls waiting for resume_writing
        self._close_waiter: asyncio.Future[None] | None = None  # writer.wait_closed()'s, made when asked for
        self._lost_error: Exception | None = None  # how the TCP connection ended, for a later wait_closed()
        self._closing = False  # we closed or aborted
        self._peer_done = False  # the peer's stream has ended and the reader has been told how
        self._owner_done = False  # a server's callback for this connection has returned (owner_finished)
        self._received = 0  # application-data bytes, for TruncatedError
        self.early_data_received = 0  # of those, bytes that came as accepted 0-RTT data
        self._idle_timeout = idle_timeout
        self._idle_timer: asyncio.TimerHandle | None = None
        self._close_timer: asyncio.TimerHandle | None = None  # CLOSE_TIMEOUT, once we close
        self._last_activity = loop.time()
        self._unsent_at_check = 0  # the raw transport's unsent bytes at the last idle check
        self._feeding: asyncio.Task[None] | None = None  # the executor holds the Connection (see _feed)
        self._read_buffer = _read_buffer()  # this thread's, so this loop's: looked up once
        config = conn.config
        self._fetches = isinstance(config, ClientConfig) and config.revocation_fetch != "off"

    # -- the raw transport's side ---------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.raw = transport
        if self._closing:  # aborted between the transport's making and this call (a server's shutdown)
            transport.abort()
            return
        self._flush()  # a client's ClientHello, queued when the Connection was made

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        if self._idle_timeout is not None:
            self._last_activity = self._loop.time()
        received = self._read_buffer[:nbytes]
        if self._pending or self._feeding is not None or self._fetches:
            self._pending += received.tobytes()
            self._feed()
        else:
            self._feed_from(received)  # copied piece by piece: no copy of the whole read in between

    def eof_received(self) -> bool:
        if self._feeding is not None:
            self._feeding.add_done_callback(lambda _task: self._eof_after_feeding())
            return True  # decided once the executor has handed the Connection back
        self._feed(force=True)
        if not self.handshake.done():
            self._peer_done = True
            self._set_error(ConnectionClosedError(f"the peer closed the connection while {self.conn.step}"))
            return False
        if not self._peer_done:
            self._peer_ended("FIN", None)
        # Keep our direction open where the application may still answer: after a TLS 1.3
        # close_notify (RFC 8446, Section 6.1: it closes only the peer's direction), or a
        # FIN the application accepted as an end (allow_truncation). Not for a server
        # connection whose callback has returned: nobody is left to answer or to close it.
        writable = not self._closing and not self.conn.closed
        if writable and self._owner_done:
            self.close()
        return writable and (self.conn.peer_closed or self._allow_truncation)

    def owner_finished(self) -> None:
        """A server's callback for this connection returned. Once the peer's stream has ended too,
        the connection is closed (close_notify, then the socket): the callback may have left it open
        (asyncio's SSL transport closes at the peer's close_notify), and it would hold its slot."""
        self._owner_done = True
        if self._peer_done and not self.is_closing():
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closing:
            self._feed(force=True)  # what arrived before the end is delivered before it
        if not self.handshake.done():
            self._peer_done = True
            self._set_error(exc or ConnectionClosedError(f"the connection closed while {self.conn.step}"))
        elif not self._peer_done and not self._closing:
            self._peer_ended("reset" if exc is not None else "FIN", exc)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self._close_timer is not None:  # (not kept: it would hold this connection for CLOSE_TIMEOUT)
            self._close_timer.cancel()
            self._close_timer = None
        # Where the reader already knows how the stream ended, this comes second and changes nothing.
        if exc is None:
            self.reader.feed_eof()
        else:
            self.reader.set_exception(exc)
        if exc is not None:  # (else a deadline that aborted us may have said why already)
            self._lost_error = exc
        self._wake_drains(self._lost_error)
        if self._close_waiter is not None:
            _resolve(self._close_waiter, exc)
        self._finish()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drains(None)
        if self._answers_paused:
            self._answers_paused = False
            if not self.reading_paused and self.raw is not None and not self.raw.is_closing():
                self.raw.resume_reading()

    # -- the StreamWriter's side (what it asks of a StreamReaderProtocol) -----------
    async def _drain_helper(self) -> None:
        if self.closed.done():
            raise self._lost_error or ConnectionResetError("Connection lost")
        if not self._writing_paused:
            return
        waiter = self._loop.create_future()
        self._drain_waiters.append(waiter)
        try:
            await waiter
        finally:
            self._drain_waiters.remove(waiter)

    def _wake_drains(self, exc: Exception | None) -> None:
        for waiter in self._drain_waiters:
            _resolve(waiter, exc)

    def _get_close_waiter(self, _stream: asyncio.StreamWriter) -> asyncio.Future[None]:
        if self._close_waiter is None:
            self._close_waiter = self._loop.create_future()
            if self.closed.done():
                _resolve(self._close_waiter, self._lost_error)
        return self._close_waiter

    # -- into the Connection ------------------------------------------------------
    def _feed(self, force: bool = False) -> None:
        if self._feeding is not None:
            return  # the executor has the Connection; it takes what is pending when its turn ends
        if self._pending and not self._closing and self._blocks_in_handshake():
            self._feeding = self._loop.create_task(self._feed_off_loop())
            return
        data, self._pending = self._pending, b""
        self._feed_from(data, force)

    def _feed_from(self, data: bytes | memoryview, force: bool = False) -> None:
        """Hand ``data`` to the Connection, or keep it for later while the reader is over its limit.

        bytes() copies a read out of the shared read buffer (the Connection may keep what it is
        given) and costs nothing for bytes, the pending data of an earlier read."""
        if self._closing or not data:
            return  # we closed or aborted: what the peer sends now is not read
        if self.reading_paused and not force:
            self._pending = bytes(data)
            return
        self._receive(bytes(data))

    def _receive(self, data: bytes) -> None:
        try:
            self._deliver(self.conn.receive_bytes(data))
            self._flush_answers()
        except Exception as exc:  # a bug below us, or an observer's or on_event's exception
            logger.debug("glasstls connection aborted by an exception", exc_info=True)
            self.abort(exc)

    def _blocks_in_handshake(self) -> bool:
        """A client with online revocation checks (ClientConfig.revocation_fetch) fetches OCSP responses
        and CRLs over HTTP inside receive_bytes, synchronously, for up to its handshake deadline (6 s):
        until the handshake is over, its bytes are fed from an executor thread so the loop runs on."""
        return self._fetches and not self.handshake.done() and not self.conn.closed

    async def _feed_off_loop(self) -> None:
        """Feed the pending bytes to the Connection in the default executor, one batch at a time.

        Only this task touches the Connection meanwhile (_feed and eof_received wait for it), so
        the sans-I/O Connection never sees two threads; events are handled back on the loop.
        """
        try:
            while self._pending and not self._closing and self._blocks_in_handshake():
                data, self._pending = self._pending, b""
                try:
                    events = await self._loop.run_in_executor(None, self.conn.receive_bytes, data)
                except Exception as exc:  # a bug below us, or an observer's exception
                    logger.debug("glasstls connection aborted by an exception", exc_info=True)
                    self.abort(exc)
                    return
                if self._closing or self.closed.done():
                    return  # aborted (a handshake timeout) or lost meanwhile: nothing more to do
                try:
                    self._deliver(events)
                    self._flush()
                except Exception as exc:  # on_event's exception
                    logger.debug("glasstls connection aborted by an exception", exc_info=True)
                    self.abort(exc)
                    return
        finally:
            self._feeding = None
        if self._pending and not self._closing:
            self._feed()  # after the handshake: the rest on the loop, as usual

    def _eof_after_feeding(self) -> None:
        if not self.eof_received() and self.raw is not None and not self.raw.is_closing():
            self.raw.close()  # what returning False from eof_received would have done

    def _deliver(self, events: list[Event]) -> None:
        """The Connection's events, in order; the data of consecutive records goes to the reader at once."""
        data: list[bytes] = []
        for event in events:
            if type(event) is ApplicationData:
                data.append(event.data)
                continue
            if data:
                self._feed_reader(data)
                data = []
            if self._closing:
                return  # we closed or aborted (an event's handler did): the rest is not read
            self._on_event(event)
        if data and not self._closing:
            self._feed_reader(data)

    def _feed_reader(self, data: list[bytes]) -> None:
        for chunk in data:
            self._received += len(chunk)
        self.reader.feed_records(data)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ApplicationData):
            self._received += len(event.data)
            self.reader.feed_data(event.data)
        elif isinstance(event, EarlyData):
            # Accepted 0-RTT data is read first, nothing lost; on_event still hears that it
            # was early, and so may be a replay (RFC 8446, Section 8).
            self._received += len(event.data)
            self.early_data_received += len(event.data)
            self.reader.feed_data(event.data)
            if self._event_callback is not None:
                self._event_callback(event)
        elif isinstance(event, HandshakeComplete):
            self._start_app()
        elif isinstance(event, ConnectionClosed):
            self._on_closed(event)
            if self._event_callback is not None:  # (as the blocking adapter: a session store takes back
                self._event_callback(event)  # a TLS 1.2 session a fatal alert ended, SessionKeeper)
        elif self._event_callback is not None:
            self._event_callback(event)

    def hand_out_writer(self) -> asyncio.StreamWriter:
        """The writer, now the application's alone: this protocol (which the loop holds while the socket
        is open) lets go of it, so a writer dropped unclosed is closed by its ``__del__`` with a
        ResourceWarning, as asyncio's open_connection leaves it; it was kept open for the loop's life."""
        writer = self.writer
        assert writer is not None  # made with the handshake's end
        self.writer = None
        return writer

    def _start_app(self) -> None:
        app = self._app_transport
        assert self.raw is not None  # the handshake came through it
        app.started(self.raw)
        self.reader.set_transport(app)  # the reader now pauses us through _AppTransport
        self.writer = asyncio.StreamWriter(app, app, self.reader, self._loop)  # type: ignore[arg-type]
        parameters = self.conn.parameters
        if not self.handshake.done() and parameters is not None:  # set by the HandshakeComplete that got us here
            self.handshake.set_result(parameters)
            self._handshake_ended()
        if self._idle_timeout is not None:
            self._idle_timer = self._loop.call_later(self._idle_timeout, self._check_idle)

    def _on_closed(self, event: ConnectionClosed) -> None:
        self._peer_done = True
        if event.error is not None:
            # A fatal alert, sent (it is flushed by _close_raw) or received (RFC 8446, Section 6.2), or the
            # peer's close during the handshake (a PeerClosedError, which is a ConnectionClosedError).
            self._set_error(event.error)
            self._close_raw()
            return
        self.reader.feed_eof()  # the peer's close_notify: a clean end of its data
        if self.conn.closed:
            self._close_raw()  # our close_notify went first: both directions are done

    def _peer_ended(self, how: str, exc: Exception | None) -> None:
        """The TCP stream ended without the Connection having ended first."""
        self._peer_done = True
        if self.conn.peer_closed or self.conn.closed:
            return  # a close_notify or an alert came first; the reader has that end
        if how == "FIN" and self._allow_truncation:
            self.reader.feed_eof()
        elif exc is not None and self._allow_truncation:
            self.reader.set_exception(exc)
        else:
            # RFC 8446, Section 6.1 / RFC 5246, Section 7.2.1: without close_notify the data may be cut short.
            self.reader.set_exception(TruncatedError(self._received, how))

    def _set_error(self, exc: BaseException) -> None:
        ended = not self.handshake.done()
        if ended:
            self.handshake.set_exception(exc)
            # Retrieved here: the error is also delivered elsewhere (on_handshake_error, the
            # reader), and asyncio would otherwise log it as lost.
            self.handshake.exception()
        self.reader.set_exception(exc)
        if ended:
            self._handshake_ended()

    def _handshake_ended(self) -> None:
        hook, self._on_handshake = self._on_handshake, None  # called once, and not kept (it refers to us)
        if hook is not None:
            hook()

    # -- out to the raw transport ---------------------------------------------------
    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data and self.raw is not None and not self.raw.is_closing():
            self.raw.write(data)

    def _flush_answers(self) -> None:
        """_flush() for what reading made the Connection send: the handshake's flights, and after it the
        answers a peer can ask for without the application writing (a KeyUpdate with update_requested, a
        renegotiation refused with a warning). A peer that asks while it leaves our writes unread (the
        transport over its high-water mark) is read no more until it reads: else the answers would pile up
        here without end. The application's own writes never pause reading: a stream that carries data
        both ways at once must go on reading while it waits to write."""
        data = self.conn.data_to_send()
        if not data or self.raw is None or self.raw.is_closing():
            return
        self.raw.write(data)
        if self._writing_paused and not self._answers_paused:  # (write() may have just paused it)
            self._answers_paused = True
            self.raw.pause_reading()

    def _close_raw(self) -> None:
        self._flush()
        self._closing = True
        if self.raw is not None:
            self.raw.close()  # after what is buffered has been written
            # ... which a peer that reads nothing never lets happen: bounded, as asyncio's
            # ssl_shutdown_timeout bounds its SSL shutdown (wait_closed() then raises the DeadlineError).
            self._close_timer = self._loop.call_later(CLOSE_TIMEOUT, self._close_timed_out)

    def _close_timed_out(self) -> None:
        if self.closed.done() or self.raw is None:
            return
        peer = peer_label(self.raw.get_extra_info("peername"))
        self._lost_error = DeadlineError(f"closing the connection with {peer}", CLOSE_TIMEOUT, "close_timeout")
        if self._close_waiter is not None:
            _resolve(self._close_waiter, self._lost_error)
        self.raw.abort()

    def _finish(self) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
            self._app_transport.ended(self._lost_error)  # which lets go of us
            hook, self._on_closed_hook = self._on_closed_hook, None
            if hook is not None:
                hook()

    # -- the application's side (through _AppTransport) -------------------------------
    def write(self, data: bytes | memoryview) -> None:
        if self._closing or self.conn.closed:
            self._app_transport.lost_write()
            return
        self._last_activity = self._loop.time()
        try:
            for piece in slices(data):  # (a large write: its first records go out while the next are sealed)
                self.conn.send(piece)
                self._flush()
        except Exception as exc:  # e.g. a sequence number that would wrap (RFC 5246, Section 6.1)
            logger.debug("glasstls connection failed while sending", exc_info=True)
            self.abort(self.conn.error or exc)
            return
        if self._idle_timeout is not None and self.raw is not None:  # (what _check_idle sees shrink)
            self._unsent_at_check = self.raw.get_write_buffer_size()

    def close(self) -> None:
        """Send close_notify (RFC 8446, Section 6.1) and close the transport once it is written."""
        if self._closing:
            return
        try:
            self.conn.close()
        except Exception:
            logger.debug("close_notify could not be sent", exc_info=True)
        self._close_raw()

    def cancel(self, exc: BaseException) -> None:
        """End a handshake in progress: user_canceled, then close_notify (RFC 8446, Section 6.1), and
        the transport closed once they are written; ``exc`` is what the handshake reports."""
        self._set_error(exc)
        self.close()

    def abort(self, exc: BaseException | None = None) -> None:
        """Drop the connection at once; ``exc`` is what the handshake or the reader reports."""
        if exc is not None:
            self._set_error(exc)
        self._closing = True
        if self.raw is not None:
            self.raw.abort()
        else:
            self._finish()

    def is_closing(self) -> bool:
        return self._closing or (self.raw is not None and self.raw.is_closing())

    def pause_reading(self) -> None:
        if self.reading_paused:
            return
        self.reading_paused = True
        if self.raw is not None and not self.raw.is_closing():
            self.raw.pause_reading()

    def resume_reading(self) -> None:
        if not self.reading_paused:
            return
        self.reading_paused = False
        self._last_activity = self._loop.time()
        # Later, not from inside the reader's own read(): feeding it now would re-enter it.
        self._loop.call_soon(self._resume_feed)

    def _resume_feed(self) -> None:
        if self.reading_paused or self.is_closing():
            return
        self._feed()
        if self.reading_paused or self._pending or self._answers_paused:  # (resume_writing reads on)
            return
        if self.raw is not None and not self.raw.is_closing():
            self.raw.resume_reading()

    def _check_idle(self) -> None:
        """Close a connection that neither received nor sent anything for idle_timeout seconds. Bytes
        of ours the peer takes count (the raw transport's buffer shrank since the last check): one
        large write draining to a slow reader is not idle."""
        assert self._idle_timeout is not None
        now = self._loop.time()
        unsent = self.raw.get_write_buffer_size() if self.raw is not None and not self.raw.is_closing() else 0
        if unsent and unsent < self._unsent_at_check:
            self._last_activity = now
        self._unsent_at_check = unsent
        quiet = now - self._last_activity
        if self._closing:
            return
        # A peer we stopped reading from is not idle: it waits for us; unless it reads nothing of ours
        # either (our writes wait on it: _writing_paused), when both directions wait on the peer.
        waits_for_us = self.reading_paused and not self._writing_paused
        if waits_for_us or quiet < self._idle_timeout:
            wait = self._idle_timeout if waits_for_us else self._idle_timeout - quiet
            self._idle_timer = self._loop.call_later(wait, self._check_idle)
            return
        peer = peer_label(self.raw.get_extra_info("peername") if self.raw is not None else None)
        happened = "read nothing of what we sent for" if unsent else "was idle for"
        idle = DeadlineError(f"the connection with {peer}", self._idle_timeout, "idle_timeout", happened)
        self.reader.set_exception(idle)
        if self._writing_paused:  # close_notify would queue behind what the peer does not read
            self._lost_error = idle  # what a write waiting in drain() is told (connection_lost keeps it)
            self.abort()
        else:
            self.close()


def check_bounds(*, limit: int, **timeouts: float | None) -> None:
    """The reader's ``limit`` and each timeout (seconds; None for none), as asyncio checks its own
    (ssl_handshake_timeout "should be a positive number"): a zero or negative one would end every
    connection at once, or (a limit) fail each as it was accepted."""
    if limit < 1:
        raise ConfigError(f"limit must be at least 1 byte, not {limit}")
    for name, seconds in timeouts.items():
        if seconds is not None and not seconds > 0:
            raise ConfigError(f"{name} must be a positive number of seconds, or None for none; not {seconds}")


def _resolve(future: asyncio.Future[None], exc: Exception | None) -> None:
    """End a waiter of the writer's with the connection's end: None, or the error it ended with."""
    if future.done():
        return  # cancelled by its caller
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
        future.exception()  # retrieved: the reader reports it too; asyncio would log it as lost


# -- the client ------------------------------------------------------------------------------


async def open_connection(
    host: str,
    port: int,
    config: ClientConfig | None = None,
    *,
    server_name: str | None = None,
    session: SessionState | None = None,
    session_store: SessionStore | None = None,
    handshake_timeout: float | None = 10.0,
    allow_truncation: bool = False,
    limit: int = 64 * 1024,
    observer: Observer | None = None,
    on_event: Callable[[Event], None] | None = None,
    **conn_kwargs: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect over TCP, complete a TLS handshake as a client, and return a (reader, writer) pair.

    ``handshake_timeout`` bounds the TCP connect and the whole handshake together
    (DeadlineError when exceeded). A failed handshake raises its TLSError once
    the alert has been written. ``server_name`` (default ``host``) is sent as SNI
    where it is a DNS name and is what the certificate is checked against.
    Events other than data and the handshake's end (NewTicket, KeyUpdated,
    AlertReceived …) go to ``on_event`` when given. See :class:`TLSStreamReader`
    for how a peer that ends without close_notify is reported (TruncatedError,
    unless ``allow_truncation``). With a ``session_store`` it resumes as :func:`glasstls.connect`
    does: the newest session for (server name, port), a TLS 1.3 ticket once, and it keeps the
    session it ends up with and each ticket that arrives.
    """
    check_bounds(handshake_timeout=handshake_timeout, limit=limit)
    loop = asyncio.get_running_loop()
    key = session_key(host, port, server_name)
    keeper = None
    if session_store is not None:
        session = session or session_store.offer(key, datetime.now(UTC))
        on_event = keeper = session_store.keeping_tickets(key, on_event)
    conn = ClientConnection(
        config or ClientConfig(), server_name=server_name or host, session=session, observer=observer, **conn_kwargs
    )
    tls = TLSProtocol(conn, loop, limit=limit, allow_truncation=allow_truncation, on_event=on_event)
    try:
        async with asyncio.timeout(handshake_timeout) as deadline:
            await loop.create_connection(lambda: tls, host, port)
            await asyncio.shield(tls.handshake)
    except TimeoutError:
        if not deadline.expired():
            raise
        assert handshake_timeout is not None
        error = DeadlineError(f"the TLS handshake with {host}:{port}", handshake_timeout, "handshake_timeout")
        tls.abort(error)
        raise error from None
    except BaseException:
        if tls.raw is not None and not tls.is_closing():
            tls.abort()
        raise
    if keeper is not None and conn.session is not None:
        keeper.keep(conn.session)  # (taken back if a fatal alert ends the connection: RFC 5246, 7.2)
    return tls.reader, tls.hand_out_writer()
