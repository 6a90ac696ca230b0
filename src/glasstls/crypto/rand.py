"""Randomness, injected so a handshake can be replayed byte for byte.

Every random byte glasstls uses comes from a ``Randomness`` callable:
``randomness(n) -> n bytes``. In production that is :func:`os.urandom`;
a test passes a deterministic source (see :class:`ReplayRandomness`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

Randomness = Callable[[int], bytes]

system_randomness: Randomness = os.urandom


def is_system(randomness: Randomness) -> bool:
    """True when ``randomness`` is the operating system's generator."""
    return randomness is os.urandom


class ReplayRandomness:
    """Hands out pre-recorded chunks in order, for known-answer replays."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = list(chunks)

    def __call__(self, n: int) -> bytes:
        if not self._chunks:
            raise RuntimeError(f"replay randomness exhausted (wanted {n} bytes)")
        chunk = self._chunks.pop(0)
        if len(chunk) != n:
            raise RuntimeError(f"replay randomness: next chunk has {len(chunk)} bytes, wanted {n}")
        return chunk
