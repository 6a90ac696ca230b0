"""A lean TLS client connection for the load generator: an asyncio Protocol driving an ssl.SSLObject.

asyncio's own TLS client (``open_connection(ssl=...)``: sslproto, StreamReader,
StreamWriter) cost the load process more CPU per connection than the OpenSSL
server it was loading (about 1.8 ms against 1.2 ms on the machine this was
written on), so the benchmark would have measured its client. This protocol
does only what the load needs — a handshake, echoes of a fixed payload, a
close_notify exchange — with OpenSSL (Python's ssl) doing all of the TLS.
"""

from __future__ import annotations

import asyncio
import ssl
import time

from load_common import ECHO_BYTES, HOST, SERVER_NAME

PAYLOAD = bytes(range(ECHO_BYTES))
_AGAIN = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


class EchoMismatch(Exception):
    """The server sent back something other than what it was sent."""


class TLSClient(asyncio.Protocol):
    """One client connection; ``handshake``, ``echo()`` and ``close()`` are awaited in that order."""

    def __init__(self, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.ssl = context.wrap_bio(self._incoming, self._outgoing, server_hostname=SERVER_NAME)
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._waiter: asyncio.Future[None] | None = None  # an echo, or the server's close_notify
        self._received = bytearray()
        self._closing = False

    # -- asyncio's side --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._advance()

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        self._advance()

    def eof_received(self) -> bool:
        self._fail(ConnectionResetError("the server closed the TCP connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionResetError("the connection was closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    # -- TLS ---------------------------------------------------------------------------------
    def _advance(self) -> None:
        try:
            if not self.handshake.done():
                self.ssl.do_handshake()
                self.handshake.set_result(None)
            if self._closing:
                self.ssl.unwrap()  # completes once the server's close_notify has arrived
                self._wake()
            else:
                self._read()
        except _AGAIN:
            pass
        except (ssl.SSLError, OSError) as exc:
            self._fail(exc)
        self._flush()

    def _read(self) -> None:
        while True:
            chunk = self.ssl.read(1 << 14)  # raises SSLWantReadError once the records run out
            if not chunk:  # the server's close_notify: ssl returns b"" from then on
                self._fail(ConnectionResetError("the server sent close_notify"))
                return
            self._received += chunk
            if len(self._received) >= ECHO_BYTES:
                data, self._received = bytes(self._received[:ECHO_BYTES]), self._received[ECHO_BYTES:]
                if data != PAYLOAD:
                    self._fail(EchoMismatch("the echo differs from what was sent"))
                self._wake()

    def _flush(self) -> None:
        if self._outgoing.pending and self.transport is not None and not self.transport.is_closing():
            self.transport.write(self._outgoing.read())

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        for future in (self.handshake, self._waiter):
            if future is not None and not future.done():
                future.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    # -- the load's side ---------------------------------------------------------------------
    async def echo(self) -> None:
        """Send PAYLOAD and wait for it to come back."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("the connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self.ssl.write(PAYLOAD)
        self._flush()
        await self._waiter

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def close(self) -> None:
        """Send close_notify, wait for the server's (RFC 8446, Section 6.1), then close TCP and wait for the end."""
        if self.transport is None or self.transport.is_closing():
            await self.closed
            return
        self._closing = True
        self._waiter = asyncio.get_running_loop().create_future()
        self._advance()
        try:
            await self._waiter
        finally:
            self.transport.close()
        await self.closed


async def connect(port: int, context: ssl.SSLContext) -> tuple[TLSClient, float]:
    """Connect and handshake; returns the connection and the seconds from connect() to the handshake's end."""
    start = time.perf_counter()
    _, client = await asyncio.get_running_loop().create_connection(lambda: TLSClient(context), HOST, port)
    try:
        await client.handshake
    except BaseException:
        if client.transport is not None:
            client.transport.abort()
        raise
    return client, time.perf_counter() - start
