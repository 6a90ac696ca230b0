"""An ``ssl.SSLSocket``-compatible socket over any ``ssl.SSLObject``-like object (issue 13).

:func:`wrap_socket` takes over a connected (or not yet connected) TCP socket and a
factory ``make_sslobject(incoming, outgoing)`` that returns an object with the
``ssl.SSLObject`` API over two ``ssl.MemoryBIO``. The :class:`SSLSocket` it returns
is a ``socket.socket`` (same fd, same timeout, ``fileno()`` for ``select``) whose
``recv``/``send`` pump ciphertext between the real socket and the two BIOs, so
``http.client``, ``urllib`` and ``smtplib`` run on it unchanged, and so does
``makefile()`` (``socket.SocketIO`` only calls ``recv_into`` and ``send``).

What it keeps of the stdlib's ``SSLSocket`` (``Lib/ssl.py``), because libraries rely on it:

* ``recv`` returns ``b''`` once the peer's close_notify arrived (RFC 8446, 6.1);
  an EOF without it raises ``ssl.SSLEOFError``, or reads as ``b''`` when
  ``suppress_ragged_eofs`` is on (the default);
* a timeout on the socket is a deadline for each whole call (``TimeoutError``);
  a non-blocking socket raises ``ssl.SSLWantReadError``/``SSLWantWriteError``;
* ``close()``/``shutdown()`` drop TLS without close_notify, ``unwrap()`` sends and
  awaits close_notify and returns this same socket, now plain.

Ciphertext is read from the socket one record at a time (header, then exactly the
body, RFC 8446 5.1 / RFC 5246 6.2), as OpenSSL does without read-ahead: nothing past
a record stays hidden in a buffer where ``select()`` on the fd cannot see it, and
after ``unwrap()`` the bytes that follow close_notify are still in the kernel. While
nothing else waits to be read (the bulk of a transfer), a record read so is handed to
glasstls's SSLObject whole, past the incoming BIO (``read_record``).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable
from operator import index
from typing import TYPE_CHECKING, Any, TypeVar

from ..record.layer import record_size_at
from .deadline import DIRECT, NO_WAIT, Deadline, wait_ready
from .errors import eof_error, ssl_error, want
from .sslobject import encoded_hostname
from .sslqueries import SSLObjectQueries
from .sslrefusals import RefusedSocketCalls

__all__ = ["SSLObjectFactory", "SSLSocket", "wrap_socket"]

SSLObjectFactory = Callable[[ssl.MemoryBIO, ssl.MemoryBIO], Any]
T = TypeVar("T")

RECORD_HEADER_LENGTH = 5  # type(1) legacy_record_version(2) length(2): RFC 8446 5.1, RFC 5246 6.2
WRITE_CHUNK = 64 * 1024  # plaintext handed to the SSLObject at once: bounds the ciphertext held in memory


def wrap_socket(
    sock: socket.socket,
    make_sslobject: SSLObjectFactory,
    *,
    server_side: bool = False,
    do_handshake_on_connect: bool = True,
    suppress_ragged_eofs: bool = True,
) -> SSLSocket:
    """Wrap ``sock`` (which this call detaches) in an :class:`SSLSocket` driven by ``make_sslobject``.

    If the socket is connected and ``do_handshake_on_connect`` is on, the handshake
    runs here (a non-blocking socket refuses that, as the stdlib does); otherwise on
    ``connect()`` or at the first read or write.
    """
    return SSLSocket(
        sock,
        make_sslobject,
        server_side=server_side,
        do_handshake_on_connect=do_handshake_on_connect,
        suppress_ragged_eofs=suppress_ragged_eofs,
    )


def _room(buffer: Any) -> int:
    """The bytes ``buffer`` (a writable bytes-like object) holds: a bytearray's length, without a view."""
    if type(buffer) is bytearray:
        return len(buffer)
    with memoryview(buffer) as view:
        return view.nbytes


# A subclass of the stdlib's ``ssl.SSLSocket`` at run time, so that the ``isinstance(sock,
# ssl.SSLSocket)`` checks libraries make hold: httpcore reads the ALPN result (HTTP/2) only from
# an ssl.SSLSocket's ``_sslobj``, and ftplib's FTP_TLS refuses auth()/ccc() and skips unwrap() on
# a data connection otherwise. ``ssl.SSLSocket.__init__`` raises (its sockets are made by
# ``_create``); this class has its own, and defines every method and property of the stdlib's
# class that reaches ``_ssl._SSLSocket``, so none of those runs on our SSLObject. For mypy it
# is a socket.socket of its own, as context.SSLContext.
if TYPE_CHECKING:
    _Base = socket.socket
else:
    _Base = ssl.SSLSocket


class SSLSocket(SSLObjectQueries, RefusedSocketCalls, _Base):
    """A ``socket.socket`` (an ``ssl.SSLSocket``) that speaks TLS through an ``SSLObject``-like
    object; see the module text."""

    def __init__(
        self,
        sock: socket.socket,
        make_sslobject: SSLObjectFactory,
        *,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        context: Any = None,
        server_hostname: str | None = None,
        session: Any = None,
    ) -> None:
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) != socket.SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        timeout = sock.gettimeout()
        socket.socket.__init__(self, sock.family, sock.type, sock.proto, fileno=sock.detach())
        self._make_sslobject = make_sslobject
        self.server_side = server_side
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._unsent = bytearray()  # ciphertext taken from the outgoing BIO, not yet accepted by the kernel
        self._taken = 0  # plaintext a non-blocking write sealed but did not report sent (SSLWantWriteError)
        self._rx_header = bytearray()  # the part of the next record header read so far
        self._rx_body_left = 0  # bytes of the current record body still to read
        self._takes_records = False  # (set with the SSLObject: _make_tls)
        self._rx_eof = False  # the peer closed TCP
        self._ssl_lock = threading.RLock()  # the SSLObject and its BIOs: MemoryBIO is not thread-safe
        self._send_lock = threading.Lock()  # taking ciphertext out and sending it, so records stay in order
        self._recv_lock = threading.Lock()  # reading records, so their boundaries stay counted
        self._sslobj: Any = None
        # The context and server_hostname while there is no SSLObject: before connect() (the
        # stdlib's makes its SSL object only then, and never for a listening socket) and once it is gone.
        self._kept: tuple[Any, str | None] = (context, server_hostname)
        self._session = session  # set on the SSLObject connect() makes
        self._by_context = context is not None  # accept() wraps through context.wrap_socket, as the stdlib's
        self._connected = self._is_connected(timeout)
        self.settimeout(timeout)
        try:
            if self._connected:
                self._make_tls()
                if do_handshake_on_connect:
                    if timeout == 0.0:
                        raise ValueError("do_handshake_on_connect should not be specified for non-blocking sockets")
                    self.do_handshake()
        except (OSError, ValueError):
            self.close()
            raise

    @classmethod
    def _create(
        cls, sock: socket.socket, server_side: bool = False, do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True, server_hostname: str | None = None, context: Any = None,
        session: Any = None,
    ) -> Any:  # fmt: skip
        """What ``SSLContext.wrap_socket`` calls on its ``sslsocket_class``, with the stdlib's
        arguments and checks (``ssl.SSLSocket._create``): an instance of ``cls`` (a subclass's own
        methods, an overridden do_handshake, run) whose TLS is an SSLObject of ``context``'s
        making (``context._socket_sslobject``), as _ssl.c's ``_wrap_socket``."""
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) != socket.SOCK_STREAM:  # the stdlib's first check
            raise NotImplementedError("only stream sockets are supported")
        if server_side and server_hostname:
            raise ValueError("server_hostname can only be specified in client mode")
        if server_side and session is not None:
            raise ValueError("session can only be specified in client mode")
        if context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        self = cls.__new__(cls)
        owner = weakref.ref(self)

        def make(incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO) -> Any:
            wrapper = owner()  # (weakly: the socket holds this function)
            assert wrapper is not None
            session = wrapper._session
            return context._socket_sslobject(wrapper, incoming, outgoing, server_side, server_hostname, session)

        SSLSocket.__init__(
            self, sock, make, server_side=server_side, do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs, context=context,
            server_hostname=encoded_hostname(server_hostname), session=session,
        )  # fmt: skip
        return self

    def _make_tls(self) -> None:
        self._sslobj = self._make_sslobject(self._incoming, self._outgoing)
        # glasstls's SSLObject takes whole records and waiting plaintext directly (_read's fast paths).
        self._takes_records = hasattr(self._sslobj, "read_record")
        if hasattr(self._sslobj, "_owner"):  # glasstls's: its sni_callback is given this socket, as _ssl.c's
            self._sslobj._owner = weakref.ref(self)

    def _is_connected(self, timeout: float | None) -> bool:
        """Whether the socket has a peer; an unconnected one with bytes waiting is refused.

        As the stdlib (CVE-2023-40217): data that reached a socket before it was
        connected must not pass as data that came through TLS.
        """
        try:
            self.getpeername()
            return True
        except OSError as exc:
            if exc.errno != errno.ENOTCONN:
                raise
        self.setblocking(False)
        try:
            early = socket.socket.recv(self, 1)
        except OSError as exc:
            if exc.errno not in (errno.ENOTCONN, errno.EINVAL, errno.EAGAIN):
                raise
            early = b""
        self.settimeout(timeout)
        if early:
            self.close()
            reason = "Closed before TLS handshake with data in recv buffer."
            error = ssl.SSLError(errno.ENOTCONN, reason)
            error.reason, error.library = reason, None  # type: ignore[assignment]  # (as ssl.py sets them)
            raise error
        return False

    # -- the pump ---------------------------------------------------------------------------

    def _drive(
        self,
        operation: Callable[[], T],
        what: str,
        *,
        must_flush: bool = True,
        reading: bool = False,
        deadline: Deadline | None = None,
    ) -> T:
        """Run one SSLObject operation to completion, moving ciphertext both ways as it asks.

        ``what`` names the operation in a timeout ("read", "write", "handshake").
        Output the operation made is sent before waiting for the peer (our flight must be
        out before its answer can come) and after success; on a non-blocking socket it
        may then stay queued (``must_flush`` False) or raise ``SSLWantWriteError`` (True).
        Output made by another thread is only sent if the kernel takes it at once: a
        reader must not wait behind a writer whose peer is busy writing to us.
        A read (``reading``) of an SSLObject with nothing to give (``starved``) reads the
        socket first: the answer of the call it saves is known, SSLWantReadError.
        ``deadline``: the call's, when it began before this (default: from now, the socket's timeout).
        """
        deadline = deadline or Deadline(self.gettimeout())
        starved = getattr(self._sslobj, "starved", None) if reading else None  # (glasstls's SSLObject has it)
        if starved is not None:
            with self._ssl_lock:
                starved = starved()
            if starved:
                self._flush_quietly()
                self._receive_some(deadline, what)
        while True:
            result, error, produced = self._attempt(operation)
            if isinstance(error, ssl.SSLWantReadError):
                self._send_output(deadline, what, produced, must=True)
                self._receive_some(deadline, what)
                continue
            if isinstance(error, ssl.SSLWantWriteError):  # a MemoryBIO never fills up, but an SSLObject may ask
                self._flush(deadline, what, must=True)
                continue
            if error is not None:
                self._flush_quietly()  # the alert the SSLObject wrote, so the peer learns why
                raise error
            self._send_output(deadline, what, produced, must=must_flush)
            return result  # type: ignore[return-value]  # (T: the operation succeeded; typing.cast is a call)

    def _attempt(self, operation: Callable[[], T]) -> tuple[T | None, ssl.SSLError | None, bool]:
        """One call of ``operation`` under the SSL lock: its result or SSL error, and whether it wrote output."""
        with self._ssl_lock:
            queued = self._outgoing.pending
            try:
                return operation(), None, self._outgoing.pending > queued
            except ssl.SSLError as exc:
                return None, exc, self._outgoing.pending > queued

    def _send_output(self, deadline: Deadline, what: str, produced: bool, *, must: bool) -> None:
        if produced:
            self._flush(deadline, what, must=must)
        else:
            self._flush_quietly()  # leftovers of a non-blocking write, or another thread's, if the kernel has room

    def _receive_some(self, deadline: Deadline, what: str) -> None:
        """Read ciphertext from the socket up to the end of the current record: the rest of its
        header, then its whole body, so that the SSLObject is asked again once it has a record
        to open rather than after every recv. A header no record has (an unknown content type, a
        length past any TLS version's limit) is handed over alone, to be refused at once."""
        with self._recv_lock:
            while True:
                if self._rx_eof:  # the SSLObject wants more after EOF: it is a truncation
                    raise self._sslobj.truncation() if self._sslobj is not None else eof_error()
                # A deadline for the whole call, not for each read: a peer that never lets the socket go
                # quiet (a handshake it keeps feeding) is stopped here, the read tried first (_raw) or not.
                if deadline.at is not None and not deadline.nonblocking and time.monotonic() >= deadline.at:
                    raise TimeoutError(f"The {what} operation timed out")
                want = self._rx_body_left or RECORD_HEADER_LENGTH - len(self._rx_header)
                data = self._raw(socket.socket.recv, want, write=False, deadline=deadline, what=what)
                with self._ssl_lock:
                    if not data:
                        self._rx_eof = True
                        self._incoming.write_eof()
                        return
                    self._incoming.write(data)
                if self._count_record_bytes(data):
                    return

    def _read_record(self, sslobj: Any, size: int, buffer: Any, deadline: Deadline) -> Any:
        """read() of the next record while nothing else is waiting to be read (the bulk of a
        transfer): its header, then exactly its body, as _receive_some reads them, handed to the
        SSLObject whole (``read_record``) rather than through the incoming BIO; what the record
        gave is returned. None when the general path must go on: something was waiting, the
        record brought no data, or the socket gave less than a record; what was read of it is
        then in the BIO, as if _receive_some had read it."""
        with self._recv_lock:
            with self._ssl_lock:
                if self._rx_header or self._rx_body_left or not sslobj.starved():
                    return None
            if self._unsent or self._outgoing.pending:
                self._flush_quietly()
            header = self._recv_now(RECORD_HEADER_LENGTH, deadline)
            size_of_record = record_size_at(header, 0) if len(header) == RECORD_HEADER_LENGTH else None
            if size_of_record is None:  # cut short, the end of the stream, or a header that begins no record
                self._hand_over([header])
                return None
            body_size = size_of_record - RECORD_HEADER_LENGTH
            try:
                body = self._recv_now(body_size, deadline) if body_size else b""
            except BaseException:
                self._hand_over([header])  # a timeout (or an interruption) before the body: kept for the next call
                raise
            if len(body) != body_size:  # (the body in pieces, or cut short)
                whole = self._rest_of_body(header, body, body_size, deadline)
                if whole is None:
                    return None
                body = whole
            with self._ssl_lock:
                queued = self._outgoing.pending
                result = sslobj.read_record(header, body, size, buffer)
                produced = self._outgoing.pending > queued
        # An answer the record asked for (a KeyUpdate, a fatal alert) is sent as _drive sends a
        # read's; another thread's records only if the kernel takes them at once.
        if produced or self._unsent or self._outgoing.pending:
            self._send_output(deadline, "read", produced, must=False)
        return result

    def _rest_of_body(self, header: bytes, first: bytes, body_size: int, deadline: Deadline) -> bytes | None:
        """The body of the record ``header`` begins, whose ``first`` piece came short, read whole;
        None at the end of the stream inside it, what came of the record then handed to the
        incoming BIO, as when a timeout or an interruption cuts it (then raised)."""
        pieces, got = [header, first], len(first)
        try:
            while got < body_size:
                if not pieces[-1]:  # the end of the stream inside the record
                    self._hand_over(pieces)
                    return None
                piece = self._recv_now(body_size - got, deadline)
                pieces.append(piece)
                got += len(piece)
        except BaseException:
            self._hand_over(pieces)  # a timeout (or an interruption) inside the record: kept for the next call
            raise
        return b"".join(pieces[1:])

    def _recv_now(self, size: int, deadline: Deadline) -> bytes:
        """Up to ``size`` bytes from the socket within ``deadline`` (not a non-blocking one's). On
        POSIX its descriptor is read directly: a blocking one waits in the read; one with a timeout
        (non-blocking) is read at once, and when it has nothing yet, polled until the deadline and
        read again, as _ssl.c does (one read per wait, not two)."""
        if not DIRECT:
            data: bytes = self._raw(socket.socket.recv, size, write=False, deadline=deadline, what="read")
            return data
        fd = self.fileno()
        while True:
            try:
                return os.read(fd, size)
            except ConnectionResetError:
                return b""  # the end of the stream, as _raw reads one (_peer_gone)
            except (BlockingIOError, InterruptedError):
                if deadline.at is None:  # a blocking socket whose descriptor is not: as its own recv
                    data = self._raw(socket.socket.recv, size, write=False, deadline=deadline, what="read")
                    return data
                wait_ready(self, False, deadline, "read")  # (TimeoutError past the deadline)

    def _hand_over(self, pieces: list[bytes]) -> None:
        """Bytes read from the socket into the incoming BIO, counted as _receive_some counts them (an
        empty piece: the end of the stream). Called under the receive lock."""
        with self._ssl_lock:
            for data in pieces:
                if not data:
                    self._rx_eof = True
                    self._incoming.write_eof()
                    return
                self._incoming.write(data)
                self._count_record_bytes(data)

    def _count_record_bytes(self, data: bytes) -> bool:
        """Note ``data`` read from the socket; True when the SSLObject has something to act on:
        a whole record, or a header that begins none."""
        if self._rx_body_left:
            self._rx_body_left -= len(data)
            return not self._rx_body_left
        header = self._rx_header
        header += data
        if len(header) < RECORD_HEADER_LENGTH:
            return False
        size = record_size_at(header, 0)
        header.clear()
        self._rx_body_left = size - RECORD_HEADER_LENGTH if size is not None else 0
        return not self._rx_body_left

    def _flush(self, deadline: Deadline, what: str, *, must: bool) -> bool:
        """Send all the ciphertext made so far; False if a non-blocking socket took only part (``must``: raise).

        If another thread is sending, it takes these bytes too, so this returns at once:
        a reader must never wait behind a writer the peer is not reading from (the peer
        may be blocked writing to us). The sender looks at the BIO one last time and
        lets go of the send lock under the SSL lock, so no bytes can be left behind.
        """
        with self._ssl_lock:
            if not self._send_lock.acquire(blocking=False):
                return True
        return self._send_held(deadline, what, must=must)

    def _send_held(self, deadline: Deadline, what: str, *, must: bool) -> bool:
        """_flush, once the send lock is this thread's: what waits to be sent goes out (or, if a
        non-blocking socket takes only part and ``must`` is off, False), then the lock is let go."""
        done = False
        try:
            while True:
                with self._ssl_lock:
                    out: bytes | bytearray = self._outgoing.read()
                    if self._unsent:
                        self._unsent += out
                        out = self._unsent
                    elif not out:
                        done = True
                        self._send_lock.release()  # still under the SSL lock: see above
                        return True
                # New records alone are sent from the BIO's bytes, not copied into _unsent first;
                # what the kernel does not take (nothing, if the send raises) is kept there.
                sent = 0
                try:
                    sent = self._raw(socket.socket.send, out, write=True, deadline=deadline, what=what)
                finally:
                    if out is self._unsent:
                        del self._unsent[:sent]
                    elif sent < len(out):
                        self._unsent += memoryview(out)[sent:]
        except ssl.SSLWantWriteError:
            if must:
                raise
            return False
        finally:
            if not done:
                self._send_lock.release()

    def _flush_quietly(self) -> None:
        """Best effort, never waiting: the fatal alert before an error is raised, leftovers after a read."""
        if not self._unsent and not self._outgoing.pending:
            return  # the common case of a read, without taking any lock
        with contextlib.suppress(OSError):  # SSLWantWriteError included
            self._flush(Deadline(0.0), "write", must=False)

    def _raw(self, call: Callable[..., Any], arg: Any, *, write: bool, deadline: Deadline, what: str) -> Any:
        """One recv or send on the real socket within ``deadline`` (0: now or never, whatever the socket's mode).

        The call is tried first and waited for only when the kernel has nothing to give or no
        room, as _ssl.c does: a socket's own recv and send on a socket with a timeout poll
        before every call, so there the file descriptor (already non-blocking) is read or
        written directly (POSIX).
        """
        timeout = self.gettimeout()
        if timeout is None and not deadline.nonblocking:
            return call(self, arg, 0)  # a blocking socket and no deadline: the call itself waits
        direct = DIRECT.get(call) if timeout else None
        while True:
            try:
                if direct is not None:
                    return direct(self.fileno(), arg)
                return call(self, arg, NO_WAIT)  # (timeout 0 or None: the socket does not poll first)
            except (BlockingIOError, InterruptedError):
                if deadline.nonblocking or timeout == 0.0:
                    raise want(write) from None
            except (ConnectionResetError, BrokenPipeError) as exc:
                if not write:
                    return b""  # a reset reads as the end of the stream: see _peer_gone
                raise self._peer_gone() from exc
            wait_ready(self, write, deadline, what)  # nothing yet: wait, within the deadline

    def _peer_gone(self) -> ssl.SSLEOFError:
        """A reset or a broken pipe, as _ssl.c over OpenSSL 3 reports one: the stream's end without close_notify
        (a read: b'' with suppress_ragged_eofs, else SSLEOFError; a write: SSLEOFError, then and after)."""
        truncation = getattr(self._sslobj, "truncation", None)  # (glasstls's SSLObject has it)
        return truncation() if truncation is not None else eof_error()

    # -- TLS operations -----------------------------------------------------------------------

    def do_handshake(self, block: bool = False) -> None:
        """Run the handshake (``block``: even on a non-blocking socket, as the stdlib's)."""
        self._check_connected()  # first, as the stdlib's: ENOTCONN on a socket not connected yet
        if self._sslobj is None:
            raise ValueError("No SSL wrapper around " + str(self))
        timeout = self.gettimeout()
        try:
            if timeout == 0.0 and block:
                self.settimeout(None)
            self._drive(self._sslobj.do_handshake, "handshake")
        finally:
            self.settimeout(timeout)

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Up to ``len`` bytes of plaintext (into ``buffer``: their count); ``b''`` at close_notify."""
        if self._sslobj is None:
            raise ValueError("Read on closed or unwrapped SSL socket.")
        sslobj = self._sslobj
        len = index(len)  # a float is a TypeError here, before a record is read (as _ssl.c's argument parsing)
        if buffer is not None:  # as _ssl.c's read: no more than the buffer holds (an empty one reads 0 at once)
            room = _room(buffer)
            len = room if len <= 0 or len > room else len
        return self._read(sslobj, len, buffer)

    def _read(self, sslobj: Any, len: int, buffer: Any) -> Any:
        """read(), once ``len`` is no more than ``buffer`` holds (recv and recv_into come here directly)."""
        fast = len > 0 and self._takes_records
        if fast:  # plaintext already waiting: no socket, no pump
            with self._ssl_lock:
                got = None if self._unsent or self._outgoing.pending else sslobj.take_waiting(len, buffer)
            if got is not None:
                return got
        deadline = Deadline(self.gettimeout())
        if fast and not deadline.nonblocking:
            got = self._read_record(sslobj, len, buffer, deadline)
            if got is not None:
                return got
        try:
            if buffer is not None:
                return self._drive(
                    lambda: sslobj.read(len, buffer), "read", must_flush=False, reading=len > 0, deadline=deadline
                )
            return self._drive(lambda: sslobj.read(len), "read", must_flush=False, reading=len > 0, deadline=deadline)
        except ssl.SSLError as exc:
            eof = isinstance(exc, ssl.SSLEOFError) or exc.args[:1] == (ssl.SSL_ERROR_EOF,)
            if eof and self.suppress_ragged_eofs:
                return 0 if buffer is not None else b""
            raise

    def write(self, data: Any) -> int:
        """Encrypt and send ``data``; the count of bytes taken (all of them unless non-blocking)."""
        if self._sslobj is None:
            raise ValueError("Write on closed or unwrapped SSL socket.")
        sslobj = self._sslobj
        if type(data) is bytes and len(data) <= WRITE_CHUNK and self._sent_at_once(sslobj, data):
            return len(data)
        with memoryview(data) as view, view.cast("B") as octets:
            if self.gettimeout() == 0.0:
                return self._write_nonblocking(sslobj, octets)
            done = self._taken_back(octets, Deadline(self.gettimeout()))
            for start in range(done, len(octets), WRITE_CHUNK):
                chunk = octets[start : start + WRITE_CHUNK]  # (each chunk within the timeout)
                if not self._sent_at_once(sslobj, chunk):
                    self._drive(functools.partial(sslobj.write, chunk), "write")
            return len(octets)

    def _sent_at_once(self, sslobj: Any, data: bytes | memoryview) -> bool:
        """A write (up to WRITE_CHUNK) on a socket that may wait: ``data`` sealed and its records
        handed to the kernel in one call while nothing else waits to be sent and no other thread
        is sending, past the outgoing BIO and the general pump. False, with nothing done, when the
        general path must write it: a non-blocking socket, an SSLObject that cannot seal now
        (``seal``: the handshake not done, a failure, a close), another thread sending. What the
        kernel does not take at once is sent as _flush sends, within the socket's timeout."""
        seal = getattr(sslobj, "seal", None)  # (glasstls's SSLObject has it)
        timeout = self.gettimeout()
        if seal is None or timeout == 0.0 or not DIRECT:
            return False
        with self._ssl_lock:
            if self._taken or self._unsent or self._outgoing.pending or not self._send_lock.acquire(blocking=False):
                return False
            records: bytes | None = None
            try:
                records = seal(data)
            finally:
                if records is None:  # (the SSLObject raised, or cannot seal now)
                    self._send_lock.release()
            if records is None:
                return False
        # The send lock is ours and these records are the next on the wire: they go first, then
        # whatever other threads queued meanwhile and left to the lock's holder (_send_held).
        sent = 0
        try:
            sent = os.write(self.fileno(), records)
        except (BlockingIOError, InterruptedError):
            pass  # (the kernel has no room now: _send_held waits for it)
        except (ConnectionResetError, BrokenPipeError) as exc:
            self._send_lock.release()  # (nothing more will go out: what was sealed is dropped)
            raise self._peer_gone() from exc
        except BaseException:
            self._unsent += records  # kept, as _flush keeps what a failed send did not take
            self._send_lock.release()
            raise
        if sent < len(records):
            self._unsent += memoryview(records)[sent:]
        else:
            with self._ssl_lock:
                if not self._outgoing.pending:  # (as _send_held lets go: nobody left records to us)
                    self._send_lock.release()
                    return True
        self._send_held(Deadline(timeout), "write", must=True)
        return True

    def _write_nonblocking(self, sslobj: Any, octets: memoryview) -> int:
        """Take at most one chunk, and count it as sent only once its records are all in the kernel.

        As OpenSSL's SSL_write (with SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, which _ssl.c sets):
        records the kernel did not take all of raise SSLWantWriteError, so that the caller
        waits for writability, not for an answer to a request still here; data handed to the
        SSLObject is sealed at once and cannot be taken back, so its count is kept, and the
        call again with the same data (which may have moved) sends the rest of those records
        and returns that count without sealing the data twice.
        """
        if not octets:
            return 0
        taken = self._taken_back(octets, Deadline(0.0))
        if taken:
            return taken
        if not self._flush(Deadline(0.0), "write", must=False):
            raise want(write=True)
        chunk = octets[:WRITE_CHUNK]
        self._drive(lambda: sslobj.write(chunk), "write", must_flush=False)
        if self._unsent or self._outgoing.pending:
            self._taken = len(chunk)
            raise want(write=True)
        return len(chunk)

    def _taken_back(self, octets: memoryview, deadline: Deadline) -> int:
        """The count of the bytes an earlier write sealed but did not report sent, once their records
        are out (SSLWantWriteError on a non-blocking socket until then); 0 if there are none.

        The retry must offer at least those bytes, as OpenSSL refuses a shorter one (BAD_WRITE_RETRY).
        """
        taken = self._taken
        if not taken:
            return 0
        if len(octets) < taken:
            raise ssl_error("BAD_WRITE_RETRY", f"bad write retry: {taken} bytes were taken, {len(octets)} offered")
        if not self._flush(deadline, "write", must=not deadline.nonblocking):
            raise want(write=True)
        self._taken = 0
        return taken

    def unwrap(self) -> SSLSocket:
        """Send close_notify, wait for the peer's (RFC 8446 6.1), and return this socket, now plain."""
        if self._sslobj is None:
            raise ValueError("No SSL wrapper around " + str(self))
        self._drive(self._sslobj.unwrap, "shutdown")
        self._forget_sslobj()
        return self

    def _forget_sslobj(self) -> None:
        """Drop the SSLObject; ``context`` and ``server_hostname`` keep their values, as the stdlib's."""
        if self._sslobj is not None:
            self._kept = (self._sslobj.context, self._sslobj.server_hostname)
        self._sslobj = None

    def pending(self) -> int:
        """Plaintext already decrypted and not yet read."""
        if self._sslobj is None:
            return 0
        with self._ssl_lock:
            return int(self._sslobj.pending())

    def verify_client_post_handshake(self) -> None:
        """Ask the client for a certificate (TLS 1.3, RFC 8446 4.6.2); the request goes out with the next I/O."""
        if self._sslobj is None:
            raise ValueError("No SSL wrapper around " + str(self))
        with self._ssl_lock:
            self._sslobj.verify_client_post_handshake()

    # -- socket methods, TLS-aware --------------------------------------------------------------

    def recv(self, bufsize: int = 1024, flags: int = 0) -> bytes:
        sslobj = self._sslobj
        if sslobj is None:
            return socket.socket.recv(self, bufsize, flags)
        self._no_flags(flags, "recv")
        return bytes(self._read(sslobj, index(bufsize), None))

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        room = _room(buffer)
        if nbytes is None:
            nbytes = room or 1024
        nbytes = index(nbytes)
        sslobj = self._sslobj
        if sslobj is None:
            return socket.socket.recv_into(self, buffer, nbytes, flags)
        self._no_flags(flags, "recv_into")
        return int(self._read(sslobj, room if nbytes <= 0 or nbytes > room else nbytes, buffer))

    def send(self, data: Any, flags: int = 0) -> int:
        if self._sslobj is None:
            return socket.socket.send(self, data, flags)
        self._no_flags(flags, "send")
        return self.write(data)

    def sendall(self, data: Any, flags: int = 0) -> None:
        sslobj = self._sslobj
        if sslobj is None:
            socket.socket.sendall(self, data, flags)
            return
        self._no_flags(flags, "sendall")
        if type(data) is bytes and len(data) <= WRITE_CHUNK and self._sent_at_once(sslobj, data):
            return  # (write's common case, one call sooner)
        if self.gettimeout() != 0.0:
            self.write(data)  # all of it, each chunk within the timeout, as send would in the loop below
            return
        with memoryview(data) as view, view.cast("B") as octets:
            count = 0
            while count < len(octets):
                count += self.send(octets[count:])

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        """Through ``send`` (os.sendfile would bypass TLS), as the stdlib's SSLSocket."""
        if self._sslobj is None:
            return socket.socket.sendfile(self, file, offset, count)
        return int(self._sendfile_use_send(file, offset, count))  # type: ignore[attr-defined]

    def _no_flags(self, flags: int, method: str) -> None:
        if flags != 0:
            raise ValueError(f"non-zero flags not allowed in calls to {method}() on {self.__class__}")

    def shutdown(self, how: int) -> None:
        """Shut the TCP connection down without close_notify, as the stdlib's (unwrap sends it)."""
        self._forget_sslobj()
        socket.socket.shutdown(self, how)

    def _real_close(self, *args: Any) -> None:
        self._forget_sslobj()
        socket.socket._real_close(self, *args)  # type: ignore[attr-defined]

    def connect(self, address: Any) -> None:
        self._real_connect(address, connect_ex=False)

    def connect_ex(self, address: Any) -> int:
        return int(self._real_connect(address, connect_ex=True) or 0)

    def _real_connect(self, address: Any, *, connect_ex: bool) -> int | None:
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected or self._sslobj is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        self._make_tls()  # before connecting, as the stdlib's: a non-blocking connect_ex() may still be under way
        try:
            if connect_ex:
                rc: int | None = socket.socket.connect_ex(self, address)
            else:
                socket.socket.connect(self, address)
                rc = None
            if not rc:
                self._connected = True
                if self.do_handshake_on_connect:
                    self.do_handshake()
            return rc
        except (OSError, ValueError):
            self._sslobj = None
            raise

    def accept(self) -> tuple[socket.socket, Any]:
        """A connection from the listening socket, wrapped server-side with the same factory."""
        plain, address = socket.socket.accept(self)
        if self._by_context:  # as the stdlib's: the context's sslsocket_class, the peer's address in the trace
            wrapped = self.context.wrap_socket(
                plain, server_side=True, do_handshake_on_connect=self.do_handshake_on_connect,
                suppress_ragged_eofs=self.suppress_ragged_eofs,
            )  # fmt: skip
            return wrapped, address
        wrapped = wrap_socket(
            plain,
            self._make_sslobject,
            server_side=True,
            do_handshake_on_connect=self.do_handshake_on_connect,
            suppress_ragged_eofs=self.suppress_ragged_eofs,
        )
        return wrapped, address

    def _check_connected(self) -> None:
        if not self._connected:
            self.getpeername()  # raises ENOTCONN unless a non-blocking connect() finished since
