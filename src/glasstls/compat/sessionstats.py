"""``SSLContext.session_stats()``: the counters OpenSSL keeps per SSL_CTX (SSL_CTX_sess_*), counted
by this context's connections.

``connect``/``accept``: handshakes started as a client/server; ``*_good``: completed; ``hits``:
completed by resuming a session (either side, as OpenSSL counts a client's reuse too);
``number``: sessions in the server's session-ID cache. Renegotiation (never done), a server's
misses, timeouts and a full cache are not counted: those keys stay 0.
"""

from __future__ import annotations

_KEYS = (
    "number", "connect", "connect_good", "connect_renegotiate", "accept", "accept_good",
    "accept_renegotiate", "hits", "misses", "timeouts", "cache_full",
)  # fmt: skip


class SessionStats:
    """One context's counters."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(_KEYS, 0)

    def started(self, server_side: bool) -> None:
        self.counts["accept" if server_side else "connect"] += 1

    def completed(self, server_side: bool, resumed: bool) -> None:
        self.counts["accept_good" if server_side else "connect_good"] += 1
        if resumed:
            self.counts["hits"] += 1

    def as_dict(self, cached: int) -> dict[str, int]:
        return {**self.counts, "number": cached}
