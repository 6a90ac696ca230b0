"""The server's session-ID cache (RFC 5246, Section 7.4.1.2; RFC 8446 does not use it).

After a full TLS 1.2 handshake the server may remember the session under the
session_id it chose; a client that offers that ID in a later ClientHello gets
an abbreviated handshake. The cache is bounded twice: by size (the least
recently used entry goes first) and by age (RFC 5246, Appendix F.1.4 suggests
an upper limit of 24 hours; the default here is two hours). An entry lives no
longer than the state's own ``lifetime`` either.

Time is passed in; the cache never reads the clock. A lock guards every
operation, so servers that handle connections in threads may share one cache.

:class:`SessionCache` is what the TLS 1.2 server asks of a cache;
:class:`ServerSessionCache` is the in-memory one (one process), and
:mod:`glasstls.store` has one shared through Redis.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ..errors import ConfigError
from .state import SessionState, check_aware
from .stores import MEMORY

# Reasons :meth:`SessionCache.lookup` gives, for traces (a shared cache adds "store down").
FOUND = "found in the session cache"
UNKNOWN_SESSION = "session ID not in the session cache"
EXPIRED_SESSION = "session expired"
# The expiry of an entry whose state is expired from the start (SessionState.expired: lifetime <= 0).
_EXPIRED = datetime.min.replace(tzinfo=UTC)


class SessionCache(Protocol):
    """The server's sessions by session ID (RFC 5246, Section 7.4.1.2), as the handshake uses them."""

    @property
    def source(self) -> str: ...  # where the sessions are kept: "memory", "redis"

    def put(self, session_id: bytes, state: SessionState, now: datetime) -> None:
        """Remember ``state`` under ``session_id`` for no longer than its lifetime; never raises
        for a store that cannot be reached (the session is then just not resumable)."""
        ...

    def lookup(self, session_id: bytes, now: datetime) -> tuple[SessionState | None, str]:
        """``(state, FOUND)``, or ``(None, why)``: unknown, expired, store down. Never raises."""
        ...

    def remove(self, session_id: bytes) -> None: ...


class ServerSessionCache:
    """An LRU map ``session_id -> SessionState`` with a size bound and a lifetime: the
    in-memory :class:`SessionCache`."""

    source = MEMORY

    def __init__(self, max_entries: int = 1024, lifetime: int = 7200) -> None:
        if max_entries < 1:
            raise ConfigError(f"session cache max_entries must be at least 1, not {max_entries}")
        if lifetime < 1:
            raise ConfigError(f"session cache lifetime must be at least 1 second, not {lifetime}")
        self.max_entries = max_entries
        self.lifetime = lifetime
        self._entries: OrderedDict[bytes, tuple[SessionState, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, session_id: bytes, state: SessionState, now: datetime) -> None:
        """Remember ``state`` under ``session_id`` (1..32 bytes); evicts the least recently used beyond the bound."""
        check_aware(now)
        session_id = bytes(session_id)
        if not 1 <= len(session_id) <= 32:
            raise ValueError(f"a session_id has 1..32 bytes, not {len(session_id)} (RFC 5246, Section 7.4.1.2)")
        # The one expiry lookup() checks: no later than the state's own (SessionState.expired),
        # and already past for a state whose lifetime is not positive (always expired).
        expires = _EXPIRED if state.lifetime <= 0 else min(now + timedelta(seconds=self.lifetime), state.expires)
        with self._lock:
            self._entries[session_id] = (state, expires)
            self._entries.move_to_end(session_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def get(self, session_id: bytes, now: datetime) -> SessionState | None:
        """The state for ``session_id``, or None when unknown or expired (an expired entry is dropped)."""
        return self.lookup(session_id, now)[0]

    def lookup(self, session_id: bytes, now: datetime) -> tuple[SessionState | None, str]:
        """As :meth:`get`, with the reason: ``FOUND``, ``UNKNOWN_SESSION`` or ``EXPIRED_SESSION``."""
        check_aware(now)
        session_id = bytes(session_id)
        with self._lock:
            entry = self._entries.get(session_id)
            if entry is None:
                return None, UNKNOWN_SESSION
            state, expires = entry
            if now >= expires:
                del self._entries[session_id]
                return None, EXPIRED_SESSION
            self._entries.move_to_end(session_id)
            return state, FOUND

    def remove(self, session_id: bytes) -> None:
        """Forget ``session_id`` (no error when absent), e.g. after a fatal alert (RFC 5246, Section 7.2)."""
        with self._lock:
            self._entries.pop(bytes(session_id), None)

    def purge(self, now: datetime) -> int:
        """Drop every expired entry; returns how many went."""
        check_aware(now)
        with self._lock:
            stale = [sid for sid, (_, expires) in self._entries.items() if now >= expires]
            for sid in stale:
                del self._entries[sid]
            return len(stale)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, session_id: object) -> bool:
        """Membership without touching LRU order or expiry (for tests and traces)."""
        with self._lock:
            return session_id in self._entries
