"""What the drivers (io/blocking.py, io/aio.py, compat/sslobject.py) hand Connection.send: their
callers' data as bytes or a byte view (``octets``), a large write cut into pieces sealed and sent
one after another (``slices``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# The most plaintext a driver hands send() before sending the records it made (see slices).
SEND_SLICE = 1 << 17


def slices(payload: bytes | memoryview, size: int = SEND_SLICE) -> Iterator[bytes | memoryview]:
    """``payload`` (bytes, or a byte view: see octets) in pieces of at most ``size`` bytes, for a
    driver to seal and send one before sealing the next: the peer reads and decrypts the first
    records while the next are sealed, instead of waiting for a whole large write to be sealed
    (and a piece's records are still in the CPU's caches when they are copied on). A small
    payload is its own one piece. bench/sockets.py chose the size (64 KiB to unsliced measured)."""
    if len(payload) <= size:
        yield payload
        return
    with memoryview(payload) as view:
        for start in range(0, len(view), size):
            yield view[start : start + size]


def octets(data: Any) -> bytes | memoryview:
    """The bytes of a bytes-like object, as Connection.send takes them: ``data`` itself when it
    is bytes, a byte view of it when it is contiguous (no copy: send seals at once and keeps
    none of it), else a copy. Drivers give their callers' buffers through it."""
    if type(data) is bytes:
        return data
    view = memoryview(data)
    return view.cast("B") if view.c_contiguous else view.tobytes()
