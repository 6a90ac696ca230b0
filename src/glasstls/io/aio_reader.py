"""The application's side of a TLS stream in the asyncio driver (aio.py): a StreamReader that gives
everything received before it raises how the stream ended (an alert, a truncation, a deadline)."""

from __future__ import annotations

import asyncio


class TLSStreamReader(asyncio.StreamReader):
    """A StreamReader that delivers everything received before an error or a truncated end.

    The stdlib's read() raises an exception set with set_exception() before the
    buffered data, which would lose the last bytes a peer sent before a fatal
    alert or a truncation. Here an error is raised only by a read that the
    buffer cannot satisfy; a read(-1), readexactly() or readuntil() that fails
    this way leaves what it had collected in the buffer, so read(n) still gets it.
    The reader also pauses its transport as soon as its buffer is over ``limit``
    after a read (the stdlib waits for twice that).
    """

    _end_error: BaseException | None = None
    # StreamReader's own state, which typeshed does not declare; this class extends its behaviour.
    _buffer: bytearray
    _limit: int
    _eof: bool
    _paused: bool
    _transport: asyncio.Transport | None

    def set_exception(self, exc: BaseException) -> None:
        if self._eof:
            return  # the stream already ended: the first end is the one the application sees
        self._end_error = exc
        self.feed_eof()

    def exception(self) -> Exception | None:
        """How the stream ended, if by an error (an alert, a truncation, a deadline), as a StreamReader
        answers once set_exception() was called: StreamWriter.drain() raises it, rather than the
        ConnectionResetError of a transport gone. (Reads give the data received before it first.)"""
        error = self._end_error
        return error if isinstance(error, Exception) else super().exception()

    def at_eof(self) -> bool:
        # Not at a clean end while an error waits: a `while not at_eof()` loop must reach it.
        return super().at_eof() and self._end_error is None

    def feed_data(self, data: bytes) -> None:  # type: ignore[override]  # typeshed widens it to any iterable
        super().feed_data(data)
        self._pause_if_full()

    def feed_records(self, chunks: list[bytes]) -> None:
        """feed_data for the application data of several records, in order: one wake-up of a
        waiting read and one look at the limit for all of them (the bulk of a transfer)."""
        super().feed_data(chunks[0])  # (wakes a read waiting for data; asserts the stream has not ended)
        buffer = self._buffer
        for chunk in chunks[1:]:
            buffer += chunk
        self._pause_if_full()

    def _pause_if_full(self) -> None:
        if self._transport is not None and not self._paused and len(self._buffer) > self._limit:
            self._transport.pause_reading()
            self._paused = True

    async def read(self, n: int = -1) -> bytes:
        if n < 0:
            return await self._read_to_end()
        data = await super().read(n)
        if not data and n and self._end_error is not None:
            raise self._end_error
        return data

    async def _read_to_end(self) -> bytes:
        blocks: list[bytes] = []
        try:
            while block := await self.read(self._limit):
                blocks.append(block)
        except BaseException:
            self._buffer[:0] = b"".join(blocks)  # nothing received is lost: read(n) can still take it
            raise
        return b"".join(blocks)

    async def readexactly(self, n: int) -> bytes:
        try:
            return await super().readexactly(n)
        except asyncio.IncompleteReadError as exc:
            raise self._unread(exc) from None

    async def readuntil(self, separator: bytes = b"\n") -> bytes:  # type: ignore[override]  # one separator only
        try:
            return await super().readuntil(separator)
        except asyncio.IncompleteReadError as exc:
            raise self._unread(exc) from None

    def _unread(self, exc: asyncio.IncompleteReadError) -> BaseException:
        """At an error's end, put back what the failed read took; the error is what to raise."""
        if self._end_error is None:
            return exc  # a clean end: the stdlib's IncompleteReadError
        self._buffer[:0] = exc.partial
        return self._end_error
