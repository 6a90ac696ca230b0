"""The transport of a connection accepted by the asyncio server (aio_server.py), on asyncio's selector loops.

asyncio's own socket transport (_SelectorSocketTransport) does, per connection,
more than a TLS server needs of it: a getsockname() system call, an entry in
the loop's weak registry of transports, TCP_NODELAY set through four property
look-ups, connection_made and the reader's registration each in a handle of its
own, a look-up that raises KeyError to unregister a writer it never registered,
and a __del__ run at every deallocation; and the loop's _add_reader, given a
descriptor it has not seen, raises and formats a KeyError twice before it
registers it. This one registers a new socket's reader with the selector itself
(the listener's address stands for getsockname() where that is the same: see
aio_server._Listener), and keeps its behaviour where
TLSProtocol can see it — a BufferedProtocol's reads, writes that never block
(sent at once, the rest buffered until the socket is writable, with pause_writing
and resume_writing at the same high and low marks), pause and resume of reads,
eof_received deciding whether our direction stays open, close() after what is
buffered has been written, abort(), connection_lost called soon, never inside
close() or abort() — and does only that. Loops other than asyncio's selector
loops (uvloop …) keep their own transports (aio_server._transport_soon).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import selectors
import socket
from asyncio.trsock import TransportSocket
from typing import Any

from .closing import close_gently

logger = logging.getLogger(__name__)

# asyncio's defaults for a transport's write buffer (transports._FlowControlMixin).
HIGH_WATER = 64 * 1024
LOW_WATER = HIGH_WATER // 4
# After this many writes to a transport that has lost its connection, say so (asyncio's own threshold).
LOST_WRITES_WARNING = 5


class SocketTransport(asyncio.Transport):
    """A connected, non-blocking stream socket driven by the loop's selector for a BufferedProtocol."""

    # Class-wide defaults that an instance overrides only when told (set_write_buffer_limits).
    _high = HIGH_WATER
    _low = LOW_WATER

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol: asyncio.BufferedProtocol,
        peer: Any,
        sockname: Any = None,
    ) -> None:
        # No super().__init__(): BaseTransport's only state is the extra dict, kept here lazily.
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self._peer = peer
        self._buffer = bytearray()  # what the socket did not take yet
        self._closing = False  # close() or abort() called
        self._lost = False  # connection_lost is scheduled
        self._reading = False  # our reader is registered with the selector
        self._paused = False  # by pause_reading()
        self._eof = False  # the peer's FIN arrived: nothing more to read, ever
        self._protocol_paused = False  # we called the protocol's pause_writing()
        self._lost_writes = 0
        self._sockname = sockname  # None: asked of the socket when first needed (_remember_sockname)

    def start(self) -> None:
        """Tell the protocol of the connection, then read: as asyncio's transports do, in that order."""
        self._protocol.connection_made(self)
        if not self._closing and not self._paused:
            self._register_reader()

    def _register_reader(self) -> None:
        """Our reader's first registration, straight into the loop's selector: a socket just accepted
        has none there, and the loop's _add_reader would look it up first, through a KeyError raised
        twice and a message formatted for it, once per connection."""
        self._reading = True
        loop = self._loop
        handle = asyncio.Handle(self._read_ready, (), loop, None)  # what _add_reader makes
        try:
            loop._selector.register(self._fd, selectors.EVENT_READ, (handle, None))  # type: ignore[attr-defined]
        except KeyError:  # registered after all (by someone else): the loop's own way then
            loop._add_reader(self._fd, self._read_ready)  # type: ignore[attr-defined]

    # -- reading ---------------------------------------------------------------------------
    def _read_ready(self) -> None:
        if self._lost:
            return
        try:
            nbytes = self._sock.recv_into(self._protocol.get_buffer(-1))
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        try:
            if nbytes:
                self._protocol.buffer_updated(nbytes)
            else:
                self._eof = True
                if self._protocol.eof_received():
                    self._stop_reading()  # our direction stays open
                else:
                    self.close()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: the protocol failed on what was read")

    # The loop's private _add_reader and kin, as its own transports use them: the public ones
    # first look the descriptor up in its registry of transports, a KeyError raised each time.
    def _add_reader(self) -> None:
        self._reading = True
        self._loop._add_reader(self._fd, self._read_ready)  # type: ignore[attr-defined]

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop._remove_reader(self._fd)  # type: ignore[attr-defined]

    def pause_reading(self) -> None:
        if self._closing or self._paused:
            return
        self._paused = True
        self._stop_reading()

    def resume_reading(self) -> None:
        if self._closing or not self._paused:
            return
        self._paused = False
        if not self._eof:
            self._add_reader()

    def is_reading(self) -> bool:
        return not self._closing and not self._paused

    # -- writing ---------------------------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if self._lost:
            self._lost_writes += 1
            if self._lost_writes == LOST_WRITES_WARNING:
                logger.warning("socket.send() raised exception.")  # asyncio's words for it
            return
        if not self._buffer:
            try:
                sent = self._sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on socket transport")
                return
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
            self._loop._add_writer(self._fd, self._write_ready)  # type: ignore[attr-defined]
        self._buffer += data
        if not self._protocol_paused and len(self._buffer) > self._high:
            self._protocol_paused = True
            self._call_protocol(self._protocol.pause_writing, "pause_writing")

    def _write_ready(self) -> None:
        if self._lost:
            return
        try:
            sent = self._sock.send(self._buffer)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop._remove_writer(self._fd)  # type: ignore[attr-defined]
            self._buffer.clear()
            self._fatal_error(exc, "Fatal write error on socket transport")
            return
        del self._buffer[:sent]
        if self._protocol_paused and len(self._buffer) <= self._low:
            self._protocol_paused = False
            self._call_protocol(self._protocol.resume_writing, "resume_writing")  # may write more
        if not self._buffer:
            self._loop._remove_writer(self._fd)  # type: ignore[attr-defined]
            if self._closing:
                self._connection_lost_soon(None)

    def _call_protocol(self, method: Any, name: str) -> None:
        try:
            method()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            context = {"message": f"protocol.{name}() failed", "exception": exc, "protocol": self._protocol}
            self._loop.call_exception_handler({**context, "transport": self})

    def can_write_eof(self) -> bool:
        return False  # TLS ends with close_notify; TLSProtocol never half-closes

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high, self._low = high, low
        if not self._protocol_paused and len(self._buffer) > high:
            self._protocol_paused = True
            self._call_protocol(self._protocol.pause_writing, "pause_writing")

    def get_write_buffer_size(self) -> int:
        return len(self._buffer)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._low, self._high

    # -- the end -----------------------------------------------------------------------------
    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Stop reading; connection_lost once what is buffered has been written."""
        if self._closing:
            return
        self._closing = True
        self._stop_reading()
        if not self._buffer:
            self._connection_lost_soon(None)

    def abort(self) -> None:
        self._force_close(None)

    def _fatal_error(self, exc: BaseException, message: str) -> None:
        if not isinstance(exc, OSError):  # a reset or a broken pipe is the peer's doing, not ours
            self._loop.call_exception_handler(
                {"message": message, "exception": exc, "transport": self, "protocol": self._protocol}
            )
        self._force_close(exc)

    def _force_close(self, exc: BaseException | None) -> None:
        if self._lost:
            return
        if self._buffer:
            self._buffer.clear()
            self._loop._remove_writer(self._fd)  # type: ignore[attr-defined]
        self._closing = True
        self._stop_reading()
        self._connection_lost_soon(exc)

    def _connection_lost_soon(self, exc: BaseException | None) -> None:
        self._lost = True
        self._loop.call_soon(self._connection_lost, exc)

    def _connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._protocol.connection_lost(exc)  # type: ignore[arg-type]  # an Exception in practice
        finally:
            self._remember_sockname()  # still answered after the end, as asyncio's transports do
            close_gently(self._sock)  # a FIN, not a reset that could destroy our last alert
            # As asyncio's transports: the protocol (which holds us) is let go, so that neither
            # waits for the cycle collector.
            self._protocol = _GONE

    # -- what else a transport answers --------------------------------------------------------
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self._peer  # accept()'s, as asyncio.Server gives it
        if name == "socket":  # as asyncio's transports give it: a wrapper that refuses send() and recv()
            return TransportSocket(self._sock)
        if name == "sockname":  # read when first asked for, or at the end (see _remember_sockname)
            self._remember_sockname()
            return self._sockname if self._sockname is not None else default
        return default

    def _remember_sockname(self) -> None:
        """Our address, read once: lazily, so that a connection nobody asks about costs no system
        call before its end, and before the socket closes, so that it still answers afterwards."""
        if self._sockname is None and self._sock.fileno() != -1:
            with contextlib.suppress(OSError):
                self._sockname = self._sock.getsockname()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        assert isinstance(protocol, asyncio.BufferedProtocol)
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol


class _Gone(asyncio.BufferedProtocol):
    """The protocol of a transport whose connection is lost: nothing reaches it any more."""

    def get_buffer(self, sizehint: int) -> memoryview:
        raise RuntimeError("a lost connection reads nothing")

    def buffer_updated(self, nbytes: int) -> None:
        raise RuntimeError("a lost connection reads nothing")


_GONE = _Gone()
