"""Application data received and not yet read, as the records brought it.

A driver's ``recv`` takes from here. The data of each record is kept as the bytes
object the connection handed over (one ApplicationData event per record), so a
record read whole costs no copy: a bytearray inbox copied every byte in, then
twice more out (a slice, then ``bytes``), which over a socket cost more than
decrypting it. A piece of at least ``WHOLE`` bytes is handed out alone, as
OpenSSL's SSL_read hands out one record at a time; smaller ones are joined with
what follows, up to the size asked for, so that a peer writing many small
records is not read a record per call.
"""

from __future__ import annotations

from collections import deque

# A piece this large is returned on its own rather than copied into a join: below it, a call
# costs more than the copy it saves.
WHOLE = 2048


class Inbox:
    """Bytes in arrival order; ``len()`` is their count."""

    __slots__ = ("_chunks", "_offset", "size")

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # what was read of the first chunk already
        self.size = 0  # (read directly where a len() call per read counts)

    def __len__(self) -> int:
        return self.size

    def append(self, data: bytes) -> None:
        if data:
            self._chunks.append(data)
            self.size += len(data)

    def keep_rest(self, data: bytes, offset: int) -> None:
        """Keep what follows ``offset`` in ``data``, whose first ``offset`` bytes (fewer than all)
        were handed out already, in an empty inbox."""
        if self._chunks:
            raise ValueError("keep_rest needs an empty inbox")
        self._chunks.append(data)
        self._offset = offset
        self.size = len(data) - offset

    def take(self, n: int) -> bytes:
        """Up to ``n`` (> 0) bytes from the front: a record's data as it came when it is taken
        whole, a slice of it when ``n`` is smaller, small pieces joined up to ``n``."""
        chunks, offset = self._chunks, self._offset
        if not chunks:
            return b""
        first = chunks[0]
        left = len(first) - offset
        if left > n:
            self._offset = offset + n
            self.size -= n
            return first[offset : offset + n]
        if left >= WHOLE or len(chunks) == 1:
            chunks.popleft()
            self._offset = 0
            self.size -= left
            return first[offset:] if offset else first
        return self._joined(n)

    def take_into(self, view: memoryview | bytearray, n: int) -> int:
        """Copy up to ``n`` bytes from the front into ``view`` (a writable byte view, or a bytearray
        at least ``n`` long); their count."""
        done = 0
        chunks = self._chunks
        while chunks and done < n:
            first, offset = chunks[0], self._offset
            count = min(len(first) - offset, n - done)
            view[done : done + count] = memoryview(first)[offset : offset + count]
            done += count
            if offset + count == len(first):
                chunks.popleft()
                self._offset = 0
            else:
                self._offset = offset + count
        self.size -= done
        return done

    def _joined(self, n: int) -> bytes:
        """Up to ``n`` bytes copied out of the front pieces (the first is smaller than WHOLE)."""
        out = bytearray(min(n, self.size))
        with memoryview(out) as view:
            self.take_into(view, len(out))
        return bytes(out)
