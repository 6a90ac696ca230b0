"""Reader and Writer for the TLS presentation language (RFC 8446, Section 3).

Every length-prefixed block is consumed exactly: :meth:`Reader.sub` hands out
a reader bounded to the block, and :meth:`Reader.finish` fails with
decode_error if anything is left over. Truncations and over-long lengths
therefore surface as :class:`~glasstls.errors.DecodeError` naming the field.
"""

from __future__ import annotations

from ..errors import DecodeError


class Reader:
    """Reads big-endian integers and vectors from ``data[pos:end]``."""

    __slots__ = ("_data", "_pos", "_end", "_what")

    def __init__(self, data: bytes, what: str = "message", pos: int = 0, end: int | None = None) -> None:
        self._data = data
        self._pos = pos
        self._end = len(data) if end is None else end
        self._what = what

    # -- scalars ---------------------------------------------------------
    def _take(self, n: int, field: str) -> int:
        start = self._pos
        if start + n > self._end:
            raise DecodeError(f"{self._what}: {field} truncated (need {n} bytes, {self._end - start} left)")
        self._pos = start + n
        return start

    def u8(self, field: str = "uint8") -> int:
        return self._data[self._take(1, field)]

    def u16(self, field: str = "uint16") -> int:
        i = self._take(2, field)
        return int.from_bytes(self._data[i : i + 2], "big")

    def u24(self, field: str = "uint24") -> int:
        i = self._take(3, field)
        return int.from_bytes(self._data[i : i + 3], "big")

    def u32(self, field: str = "uint32") -> int:
        i = self._take(4, field)
        return int.from_bytes(self._data[i : i + 4], "big")

    def raw(self, n: int, field: str = "bytes") -> bytes:
        i = self._take(n, field)
        return bytes(self._data[i : i + n])

    # -- vectors ---------------------------------------------------------
    def _length(self, width: int, field: str) -> int:
        if width == 1:
            return self.u8(f"{field} length")
        if width == 2:
            return self.u16(f"{field} length")
        return self.u24(f"{field} length")

    def vec(self, width: int, field: str = "vector", min_len: int = 0, max_len: int | None = None) -> bytes:
        """An opaque<min..max> with a ``width``-byte length prefix."""
        n = self._length(width, field)
        self._check_bounds(n, field, min_len, max_len)
        return self.raw(n, field)

    def sub(self, width: int, field: str = "block", min_len: int = 0, max_len: int | None = None) -> Reader:
        """A reader over the next length-prefixed block; advances past it."""
        n = self._length(width, field)
        self._check_bounds(n, field, min_len, max_len)
        start = self._take(n, field)
        return Reader(self._data, f"{self._what}: {field}", start, start + n)

    def _check_bounds(self, n: int, field: str, min_len: int, max_len: int | None) -> None:
        if n < min_len or (max_len is not None and n > max_len):
            limit = f"{min_len}..{max_len}" if max_len is not None else f">= {min_len}"
            raise DecodeError(f"{self._what}: {field} has length {n}, allowed {limit}")

    def u16_list(self, width: int, field: str, min_len: int = 0) -> list[int]:
        block = self.sub(width, field, min_len)
        if block.remaining() % 2:
            raise DecodeError(f"{self._what}: {field} has odd length {block.remaining()}")
        out = [block.u16(field) for _ in range(block.remaining() // 2)]
        return out

    def u8_list(self, width: int, field: str, min_len: int = 0) -> list[int]:
        block = self.sub(width, field, min_len)
        return list(block.raw(block.remaining(), field))

    # -- bookkeeping -------------------------------------------------------
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
            raise DecodeError(f"{self._what}: {self._end - self._pos} unexpected trailing bytes")


class Writer:
    """Appends big-endian integers and length-prefixed vectors."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

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
        if len(b) >= 1 << (8 * width):
            raise ValueError(f"vector of {len(b)} bytes does not fit a {width}-byte length")
        self._buf += len(b).to_bytes(width, "big")
        self._buf += b
        return self

    def u16_list(self, width: int, values: list[int] | tuple[int, ...]) -> Writer:
        return self.vec(width, b"".join(v.to_bytes(2, "big") for v in values))

    def u8_list(self, width: int, values: list[int] | tuple[int, ...]) -> Writer:
        return self.vec(width, bytes(values))

    def getvalue(self) -> bytes:
        return bytes(self._buf)
