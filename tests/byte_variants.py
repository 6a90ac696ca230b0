"""Variants of an encoding, for the tests that hold a fast reader to the field-by-field one it stands in for."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

LENGTH_EDGES = (0, 1, 2, 31, 32, 33, 0xFF)  # lengths at and around the 32-byte fields and vectors


def byte_variants(body: bytes, values: Iterable[int] = LENGTH_EDGES) -> Iterator[bytes]:
    """``body``, each truncation of it, and each byte replaced by each of ``values`` and by
    itself with its low bit flipped."""
    yield body
    for n in range(len(body)):
        yield body[:n]
    for i in range(len(body)):
        for b in {*values, body[i] ^ 1}:
            yield body[:i] + bytes((b,)) + body[i + 1 :]
