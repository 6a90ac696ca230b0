"""Reader and Writer for the TLS presentation language (RFC 8446, Section 3).

Every length-prefixed block is consumed exactly: :meth:`Reader.sub` hands out
a reader bounded to the block, and :meth:`Reader.finish` fails with
decode_error if anything is left over. Truncations and over-long lengths
therefore surface as :class:`~glasstls.errors.DecodeError` naming the field.

The readers run tens of thousands of times per few hundred handshakes, so the
fast paths index the buffer directly and the names that go into error
messages (``"ClientHello: extensions: cookie length"``) are only put together
when an error is raised: a sub-reader keeps a reference to its parent and its
field name instead of a formatted string.
"""

from __future__ import annotations

from struct import error as _StructError
from struct import pack, unpack_from

from ..errors import DecodeError


class Reader:
    """Reads big-endian integers and vectors from ``data[pos:end]``."""

    __slots__ = ("_data", "_pos", "_end", "_what", "_parent")

    def __init__(self, data: bytes, what: str = "message", pos: int = 0, end: int | None = None) -> None:
        self._data = data
        self._pos = pos
        self._end = len(data) if end is None else end
        self._what = what  # this reader's name; for a sub-block, its field name within _parent
        self._parent: Reader | None = None

    # -- errors (off the fast paths) ---------------------------------------
    def _name(self) -> str:
        """The name errors use: the message's, then each enclosing block's field, joined by ": "."""
        parent = self._parent
        return self._what if parent is None else f"{parent._name()}: {self._what}"

    def _truncated(self, n: int, field: str) -> DecodeError:
        left = self._end - self._pos
        return DecodeError(f"{self._name()}: {field} truncated (need {n} bytes, {left} left)")

    def _bad_length(self, n: int, field: str, min_len: int, max_len: int | None) -> DecodeError:
        limit = f"{min_len}..{max_len}" if max_len is not None else f">= {min_len}"
        return DecodeError(f"{self._name()}: {field} has length {n}, allowed {limit}")

    # -- scalars ---------------------------------------------------------
    def u8(self, field: str = "uint8") -> int:
        pos = self._pos
        if pos >= self._end:
            raise self._truncated(1, field)
        self._pos = pos + 1
        return self._data[pos]

    def u16(self, field: str = "uint16") -> int:
        pos = self._pos
        if pos + 2 > self._end:
            raise self._truncated(2, field)
        self._pos = pos + 2
        data = self._data
        return (data[pos] << 8) | data[pos + 1]

    def u24(self, field: str = "uint24") -> int:
        pos = self._pos
        if pos + 3 > self._end:
            raise self._truncated(3, field)
        self._pos = pos + 3
        data = self._data
        return (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]

    def u32(self, field: str = "uint32") -> int:
        pos = self._pos
        if pos + 4 > self._end:
            raise self._truncated(4, field)
        self._pos = pos + 4
        return int.from_bytes(self._data[pos : pos + 4], "big")

    def raw(self, n: int, field: str = "bytes") -> bytes:
        pos = self._pos
        if pos + n > self._end:
            raise self._truncated(n, field)
        self._pos = pos + n
        return bytes(self._data[pos : pos + n])

    # -- vectors ---------------------------------------------------------
    def _block(self, width: int, field: str, min_len: int, max_len: int | None) -> int:
        """Read a ``width``-byte length, check it, and take that many bytes: their start."""
        pos = self._pos
        if pos + width > self._end:
            raise self._truncated(width, f"{field} length")
        data = self._data
        if width == 1:
            n = data[pos]
        elif width == 2:
            n = (data[pos] << 8) | data[pos + 1]
        else:
            n = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]
        start = pos + width
        self._pos = start
        if n < min_len or (max_len is not None and n > max_len):
            raise self._bad_length(n, field, min_len, max_len)
        if start + n > self._end:
            raise self._truncated(n, field)
        self._pos = start + n
        return start

    def vec(self, width: int, field: str = "vector", min_len: int = 0, max_len: int | None = None) -> bytes:
        """An opaque<min..max> with a ``width``-byte length prefix."""
        start = self._block(width, field, min_len, max_len)
        return bytes(self._data[start : self._pos])

    def sub(self, width: int, field: str = "block", min_len: int = 0, max_len: int | None = None) -> Reader:
        """A reader over the next length-prefixed block; advances past it."""
        start = self._block(width, field, min_len, max_len)
        block = Reader(self._data, field, start, self._pos)
        block._parent = self
        return block

    def tlv16(self) -> tuple[int, bytes] | None:
        """A ``uint16`` and an ``opaque<0..2^16-1>`` after it (an Extension, RFC 8446, Section 4.2),
        or None, consuming nothing, when they do not fit: the caller then reads them by field for the error."""
        pos = self._pos
        data = self._data
        start = pos + 4
        if start <= self._end:
            end = start + ((data[pos + 2] << 8) | data[pos + 3])
            if end <= self._end:
                self._pos = end
                return (data[pos] << 8) | data[pos + 1], bytes(data[start:end])
        return None

    def block(self, width: int, field: str = "block", min_len: int = 0) -> tuple[bytes, int, int]:
        """The next length-prefixed block as (buffer, start, end), advancing past it: :meth:`sub`
        without a reader, for a loop that walks the block on its own (a hello's extensions). The
        buffer is ``bytes``, so a slice of it is too; :meth:`sub_at` makes the reader an error needs."""
        start = self._block(width, field, min_len, None)
        data = self._data
        if type(data) is not bytes:
            data = self._data = bytes(data)
        return data, start, self._pos

    def sub_at(self, field: str, pos: int, end: int) -> Reader:
        """A reader at ``pos`` of a block from :meth:`block`, ending at ``end``, named as :meth:`sub` names one."""
        block = Reader(self._data, field, pos, end)
        block._parent = self
        return block

    def u16_list(self, width: int, field: str, min_len: int = 0) -> list[int]:
        start = self._block(width, field, min_len, None)
        n = self._pos - start
        if n % 2:
            raise DecodeError(f"{self._name()}: {field} has odd length {n}")
        return list(unpack_from(f">{n // 2}H", self._data, start))

    def u8_list(self, width: int, field: str, min_len: int = 0) -> list[int]:
        start = self._block(width, field, min_len, None)
        return list(self._data[start : self._pos])

    # -- bookkeeping -------------------------------------------------------
    def view(self) -> tuple[bytes, int, int]:
        """(buffer, position, end), for a parser that reads a run of fixed fields from the bytes itself,
        then moves past them with :meth:`skip` (the buffer is made ``bytes`` first, as :meth:`block` does)."""
        data = self._data
        if type(data) is not bytes:
            data = self._data = bytes(data)
        return data, self._pos, self._end

    def rest(self) -> bytes:
        """What is left to read, without consuming it."""
        return bytes(self._data[self._pos : self._end])

    def skip(self, n: int) -> None:
        """Move past ``n`` bytes known to be there (read before: see Handshake.parse)."""
        self._pos += n

    def remaining(self) -> int:
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    @property
    def position(self) -> int:
        return self._pos

    def finish(self) -> None:
        """Fail unless the block was consumed exactly."""
        if self._pos != self._end:
            raise DecodeError(f"{self._name()}: {self._end - self._pos} unexpected trailing bytes")


class Writer:
    """Appends big-endian integers and length-prefixed vectors."""

    __slots__ = ("_buf",)

    def __init__(self, start: bytes = b"") -> None:
        self._buf = bytearray(start)

    def u8(self, v: int) -> Writer:
        self._buf.append(v)
        return self

    def u16(self, v: int) -> Writer:
        self._buf += v.to_bytes(2, "big")
        return self

    def u24(self, v: int) -> Writer:
        self._buf += v.to_bytes(3, "big")
        return self

    def u32(self, v: int) -> Writer:
        self._buf += v.to_bytes(4, "big")
        return self

    def raw(self, b: bytes) -> Writer:
        self._buf += b
        return self

    def vec(self, width: int, b: bytes) -> Writer:
        put_vec(self._buf, width, b)
        return self

    def u16_list(self, width: int, values: list[int] | tuple[int, ...]) -> Writer:
        return self.vec(width, u16s(values))

    def u8_list(self, width: int, values: list[int] | tuple[int, ...]) -> Writer:
        return self.vec(width, bytes(values))

    def getvalue(self) -> bytes:
        return bytes(self._buf)

    def getvalue_with_length(self, at: int, width: int) -> bytes:
        """The bytes, with the ``width``-byte length of what follows offset ``at + width`` written at ``at``
        (a header whose length was unknown when it was started)."""
        buf = self._buf
        buf[at : at + width] = (len(buf) - at - width).to_bytes(width, "big")
        return bytes(buf)


# -- appending to a buffer: what the layouts write a message with (no Writer per message or field) --------


def put_vec(buf: bytearray, width: int, b: bytes | bytearray) -> None:
    """Append ``b`` behind its ``width``-byte length (an opaque<..> or a vector's body)."""
    n = len(b)
    if n >> (8 * width):
        raise ValueError(f"vector of {n} bytes does not fit a {width}-byte length")
    buf += n.to_bytes(width, "big")
    buf += b


def u16s(values: list[int] | tuple[int, ...]) -> bytes:
    """``uint16`` values, big-endian, one after the other."""
    try:
        return pack(f">{len(values)}H", *values)
    except _StructError:  # out of range: the error to_bytes has always raised here
        return b"".join(v.to_bytes(2, "big") for v in values)
