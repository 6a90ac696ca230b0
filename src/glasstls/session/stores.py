"""The three stores a server keeps between connections, as the handshake sees them.

* the session-ID cache (TLS 1.2, RFC 5246, Section 7.4.1.2): :class:`~.cache.SessionCache`;
* the ticket-key ring that seals and opens tickets (TLS 1.2, RFC 5077; TLS 1.3,
  RFC 8446, Section 4.6.1): :class:`~.tickets.TicketKeyRing`;
* the 0-RTT anti-replay memory (RFC 8446, Section 8): :class:`~.replay.ReplayGuard`.

Each is a Protocol next to its in-memory implementation (``ServerSessionCache``,
``TicketKeys``, ``MemoryReplayGuard``: one process, nothing to start). A shared
implementation (:mod:`glasstls.store`, Redis) lets a fleet of servers resume each
other's sessions and refuse each other's replays. TLS 1.2 and TLS 1.3 use them the
same way: a ticket of either version is sealed by the one ring, a 0-RTT hello is
recorded in the one guard.

Every store names where its answers come from (``source``: "memory", "redis"), and
every refusal says why, so the trace can tell "expired" from "unknown key" from
"store down" (issue 14, item 5). A store that cannot be reached never fails a
handshake: resumption falls back to a full handshake and early data is refused.
"""

from __future__ import annotations

MEMORY = "memory"

# Why a store gave no answer; the stores' own reasons (unknown, expired, replayed) are theirs.
STORE_DOWN = "store down"


class NoTicketKey(Exception):
    """Raised by :meth:`TicketKeyRing.seal` when no key may seal now (a shared ring that has
    not reached its store for longer than it can bridge): the server then issues no ticket."""


def where(source: str) -> str:
    """The trace's note on a store's answer: ``"(memory)"``, ``"(redis)"``."""
    return f"({source})"
