"""0-RTT anti-replay: early data is accepted at most once (RFC 8446, Section 8).

TLS does not protect a client's first flight against replay: an attacker who
copies a ClientHello with early data can send it again, and a server that
accepted it once would accept it twice. RFC 8446, Section 8 gives servers two
mechanisms, and glasstls uses both before it accepts early data:

* **Freshness** (Section 8.3): the client says how long ago it received the
  ticket (the obfuscated ticket age, minus ``ticket_age_add``); the server knows
  when it issued it. If the two disagree by more than a small window, the
  ClientHello is old (or the clocks disagree) and early data is refused.
  :func:`fresh` makes that check.
* **Single use** (Sections 8.1 and 8.2): the server remembers a unique value of
  every ClientHello whose early data it accepted (glasstls uses the PSK binder,
  which is unique per ClientHello and unforgeable without the PSK) for as long
  as the freshness window could still admit it, and refuses a second one.
  :class:`ReplayGuard` is that memory; :class:`MemoryReplayGuard` is the default,
  for one server process. A fleet of servers must share one (issue: a Redis
  store), or a replay sent to another server succeeds.

A refused replay is not an error: the server rejects the early data and the
handshake goes on as a 1-RTT one (Section 4.2.10), so the client's data is
sent again under 1-RTT keys only if its application chooses to.

The guard fails closed: when it cannot record a value (full, or a shared store
is unreachable) it refuses, and early data is refused. :meth:`ReplayGuard.record`
says why, for the trace: seen by this server, seen by another server of the fleet,
the guard full, the store down.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Protocol

from ..errors import ConfigError
from .state import check_aware
from .stores import MEMORY

# RFC 8446, Section 8.3: the window absorbs network delay and clock drift; ten
# seconds is what OpenSSL and BoringSSL allow (rustls: ten seconds as well).
DEFAULT_WINDOW = timedelta(seconds=10)
# How long a ClientHello's binder is remembered: as long as the freshness check could admit it again
# (the window either way). A memory younger than this cannot vouch for earlier tickets (Section 8.2).
RECORDING = 2 * DEFAULT_WINDOW
# Records kept by MemoryReplayGuard: each is a 32-48 byte binder and a deadline.
DEFAULT_MAX_ENTRIES = 100_000


def fresh(client_ticket_age_ms: int, issued: datetime, now: datetime, window: timedelta = DEFAULT_WINDOW) -> bool:
    """True when the client's view of the ticket's age (``client_ticket_age_ms``, already
    de-obfuscated) and the server's (``now - issued``) agree within ``window``
    (RFC 8446, Section 8.3)."""
    check_aware(now)
    check_aware(issued, "issued")
    server_age = now - issued
    client_age = timedelta(milliseconds=client_ticket_age_ms)
    return abs(server_age - client_age) <= window


# Reasons :meth:`ReplayGuard.record` gives (a shared guard adds "seen by another server", "store down").
SEEN = "seen before by this server"
FULL = "the replay guard is full (fails closed)"


class ReplayGuard(Protocol):
    """Remembers the unique values of accepted 0-RTT ClientHellos (RFC 8446, Section 8.2)."""

    @property
    def source(self) -> str: ...  # where the values are kept: "memory", "redis"

    def record(self, value: bytes, keep_until: datetime, now: datetime, issued: datetime | None = None) -> str | None:
        """Record ``value`` until ``keep_until``: None if it was not recorded before, otherwise
        why it is refused (seen, full, store down, a memory too young to vouch for a ticket
        ``issued`` before it began: RFC 8446, Section 8.2).

        Atomic: of two concurrent calls with one value, at most one returns None. Refuses
        (fails closed) when the value cannot be recorded; never raises for a store that
        cannot be reached.
        """
        ...


class MemoryReplayGuard:
    """A :class:`ReplayGuard` in this process's memory, bounded in size. Thread-safe."""

    source = MEMORY

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ConfigError(f"replay guard max_entries must be at least 1, not {max_entries}")
        self.max_entries = max_entries
        self._seen: dict[bytes, datetime] = {}
        self._lock = threading.Lock()
        self.refused_full = 0  # how often a value was refused because the guard was full

    def first_use(self, value: bytes, keep_until: datetime, now: datetime) -> bool:
        """True if ``value`` was not recorded before (and now is): :meth:`record` as a yes or no."""
        return self.record(value, keep_until, now) is None

    def record(self, value: bytes, keep_until: datetime, now: datetime, issued: datetime | None = None) -> str | None:
        """As ReplayGuard.record; ``issued`` is not needed here: this memory begins with the process,
        as do the ticket keys of a configuration that does not share them (TicketKeys)."""
        check_aware(now)
        check_aware(keep_until, "keep_until")
        with self._lock:
            known = self._seen.get(value)
            if known is not None and now < known:
                return SEEN
            if len(self._seen) >= self.max_entries:
                self._purge(now)
            if len(self._seen) >= self.max_entries:
                # Full of values still inside their window: refusing is safe, forgetting is not.
                self.refused_full += 1
                return FULL
            self._seen[value] = keep_until
            return None

    def _purge(self, now: datetime) -> None:
        for value in [v for v, until in self._seen.items() if now >= until]:
            del self._seen[value]

    def __len__(self) -> int:
        return len(self._seen)
