"""Remembering work a client repeats on every connection to the same server: the certificates it
parses and the path it validates. Why this is safe: docs/design/verify-cache.md.

* :func:`parsed` keeps the DER certificates that parsed and passed the malformed-certificate
  checks of a handshake (``x509.Certificate`` objects are immutable), keyed by their bytes.
* :class:`VerifiedCache` (one per :class:`~glasstls.x509.store.TrustStore`, which is immutable)
  keeps each chain that verified, keyed by the exact DER of the chain as sent and the name it was
  verified for, with the window in which every certificate of its path is within its validity.
  Path validation depends on nothing else: the same bytes, the same anchors and a time inside
  that window give the same path. Failures are not kept (each gets its full diagnosis), and
  revocation is not part of it: it is checked on every handshake, after the path.

Both are bounded LRU maps: a peer sending new certificates each time evicts, never grows them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

K = TypeVar("K")
V = TypeVar("V")

MAX_PARSED = 512  # certificates: a few hundred servers' chains
MAX_VERIFIED = 256  # chains per trust store


class _Lru(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


_parsed: _Lru[tuple[bytes, bool], x509.Certificate] = _Lru(MAX_PARSED)
# The DER of a certificate object, by its id (the entry holds the object, so the id is not reused
# while it is kept): serialising one again costs more than parsing it did.
_ders: _Lru[int, tuple[x509.Certificate, bytes]] = _Lru(MAX_PARSED)


def parsed(der: bytes, as_leaf: bool, parse: Callable[[bytes], x509.Certificate]) -> x509.Certificate:
    """The certificate of ``der``, kept from an earlier ``parse`` (which raises on a bad one) of it
    in the same position (a leaf's checks include its key)."""
    cert = _parsed.get((der, as_leaf))
    if cert is None:
        cert = parse(der)
        _parsed.put((der, as_leaf), cert)
        _ders.put(id(cert), (cert, der))
    return cert


# Whole chains by their DER: a resumption's session keeps the peer's chain as DER, and every
# resumption from it turns the same tuple back into certificates (a lookup per certificate, each
# with the lock, otherwise). A chain that fails to parse raises and is never kept.
_chains: _Lru[tuple[bytes, ...], tuple[x509.Certificate, ...]] = _Lru(MAX_PARSED)


def parsed_chain(
    ders: tuple[bytes, ...], parse: Callable[[tuple[bytes, ...]], tuple[x509.Certificate, ...]]
) -> tuple[x509.Certificate, ...]:
    """The certificates of ``ders``, kept from an earlier ``parse`` of the same chain."""
    chain = _chains.get(ders)
    if chain is None:
        chain = parse(ders)
        _chains.put(ders, chain)
    return chain


def der_of(cert: x509.Certificate) -> bytes:
    """``cert`` as DER: the bytes it was parsed from when :func:`parsed` made it, else serialised."""
    kept = _ders.get(id(cert))
    if kept is not None and kept[0] is cert:
        return kept[1]
    der = cert.public_bytes(Encoding.DER)
    _ders.put(id(cert), (cert, der))
    return der


# The chain's DER (der_of) and the name checked; a tuple for a client chain, which no server name can be.
ChainKey = tuple[tuple[bytes, ...], str | tuple[str, ...]]


class VerifiedCache(Generic[V]):
    """Chains that verified against one trust store, each with its path's validity window."""

    def __init__(self, size: int = MAX_VERIFIED) -> None:
        self._lru: _Lru[ChainKey, tuple[V, datetime, datetime]] = _Lru(size)

    def get(self, key: ChainKey, now: datetime) -> V | None:
        hit = self._lru.get(key)
        if hit is None:
            return None
        result, start, end = hit
        return result if start <= now <= end else None

    def put(self, key: ChainKey, result: V, path: Sequence[x509.Certificate]) -> None:
        start = max(c.not_valid_before_utc for c in path)
        end = min(c.not_valid_after_utc for c in path)
        self._lru.put(key, (result, start, end))

    def __len__(self) -> int:
        return len(self._lru)
