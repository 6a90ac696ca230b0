"""The cache of online revocation answers: OCSP results by CertID, CRLs by issuer and URL.

An entry lives until the nextUpdate its answer gives (RFC 6960, Section 4.2.2.1;
RFC 5280, Section 5.1.2.5): past that time the CA may have newer information,
so the next handshake asks again. An answer without nextUpdate is kept for
``without_next_update`` only. The cache is bounded in entries (least recently
used first out), because a client that talks to many servers must not grow
without limit; it is shared by every connection of a ClientConfig, from any
thread (the asyncio adapter checks in an executor), hence the lock.

Times are the handshake's own (``Context.now()``), the same clock the checks use.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

DEFAULT_MAX_ENTRIES = 512
DEFAULT_WITHOUT_NEXT_UPDATE = timedelta(hours=1)


class RevocationCache:
    """Answers by key until their expiry; at most ``max_entries``, least recently used dropped first."""

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, without_next_update: timedelta = DEFAULT_WITHOUT_NEXT_UPDATE
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"a revocation cache holds at least one entry, not {max_entries}")
        self.max_entries = max_entries
        self.without_next_update = without_next_update
        self._entries: OrderedDict[Hashable, tuple[Any, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: datetime) -> Any | None:
        """The answer stored under ``key`` if it has not expired at ``now``; an expired one is dropped."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, expires = entry
            if now > expires:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any, fetched: datetime, next_update: datetime | None) -> None:
        """Keep ``value`` until ``next_update`` (or ``without_next_update`` after ``fetched``)."""
        expires = next_update if next_update is not None else fetched + self.without_next_update
        if expires <= fetched:
            return  # already stale: nothing to keep
        with self._lock:
            self._entries[key] = (value, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
