"""Where a server keeps what outlives a connection: in its memory, or shared by a fleet.

The handshakes ask three stores (:mod:`glasstls.session.stores`): the session-ID
cache, the ticket-key ring and the 0-RTT replay guard. :func:`open_stores` builds all
three from one URL:

* ``memory`` (or None): this process's own, as every ``ServerConfig`` has by default;
* ``redis://[USER:PASSWORD@]HOST:PORT/DB``, ``rediss://…`` (TLS), ``unix:///path?db=N``:
  shared through Redis, with secrets sealed under the store key the servers hold
  (:mod:`.sealing`), ticket keys rotated through Redis (:mod:`.redis_tickets`), a
  deadline on every call and a safe answer when Redis is down (:mod:`.health`).

``ServerConfig.with_store(url, store_key=...)`` puts them in a configuration, and
``glasstls server --store URL --store-key FILE`` does the same from the command line.
See docs/design/fleet.md.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..crypto.rand import system_randomness
from ..errors import ConfigError
from ..session.cache import ServerSessionCache, SessionCache
from ..session.replay import MemoryReplayGuard, ReplayGuard
from ..session.tickets import TicketKeyRing, TicketKeys
from .sealing import StoreSealer, load_store_keys

MEMORY_URLS = ("", "memory", "memory:", "memory://")
DEFAULT_PREFIX = "glasstls:"


@dataclass(frozen=True)
class Stores:
    """The three stores of one server (or one fleet)."""

    session_cache: SessionCache
    ticket_keys: TicketKeyRing
    replay_guard: ReplayGuard
    label: str = "memory"  # the URL, password hidden: for logs

    def fields(self) -> dict[str, Any]:
        """As ``ServerConfig`` keyword arguments."""
        return {"session_cache": self.session_cache, "ticket_keys": self.ticket_keys, "replay_guard": self.replay_guard}


def open_stores(
    url: str | None = None,
    store_key: bytes | Sequence[bytes] | str | os.PathLike[str] | None = None,
    *,
    rotate_after: int = 3600,
    accept_for: int = 7200,
    prefix: str = DEFAULT_PREFIX,
    deadline: float | None = None,
    log: Callable[[str], None] | None = None,
    max_sessions: int | None = None,
) -> Stores:
    """The three stores for ``url``.

    ``store_key`` (Redis only, required there): the key(s) secrets are sealed under, as
    32 bytes, a list of them (the first seals), or the path of a key file
    (:func:`~.sealing.load_store_keys`). ``rotate_after``/``accept_for``: how long a ticket
    key seals, and opens after that. ``deadline``: seconds per call to Redis. ``log``:
    where "store down" and "store back" go (the ``glasstls.store`` logger by default).
    ``max_sessions``: how many TLS 1.2 sessions the cache holds at most (1,024 in memory,
    100,000 in Redis by default); the ones that would end first are forgotten beyond it.
    Nothing is sent to Redis here: the first handshake that needs it connects.
    """
    if url is None or url in MEMORY_URLS:
        keys = TicketKeys(system_randomness, rotate_after=rotate_after, accept_for=accept_for)
        cache = ServerSessionCache() if max_sessions is None else ServerSessionCache(max_entries=max_sessions)
        return Stores(cache, keys, MemoryReplayGuard())
    from .health import StoreHealth
    from .redis_client import DEADLINE, check_scheme, connect, label, refusals
    from .redis_sessions import DEFAULT_MAX_SESSIONS, RedisReplayGuard, RedisSessionCache
    from .redis_tickets import RedisTicketKeys

    check_scheme(url)
    if store_key is None:
        raise ConfigError(
            f"the store {label(url)} needs a store key, which seals what the servers keep there "
            "(--store-key FILE: 32 random bytes, e.g. `openssl rand -hex 32 > FILE`, the same file on every server)"
        )
    sealer = StoreSealer(_store_keys(store_key))
    client = connect(url, DEADLINE if deadline is None else deadline)
    # The probe writes, as the stores do: a Redis pausing writes (a failover) answers PING at once.
    probe = functools.partial(client.set, f"{prefix}probe", b"1", px=1000)
    health = StoreHealth(label(url), log, probe=probe, refusals=refusals())
    return Stores(
        RedisSessionCache(client, health, sealer, prefix, max_entries=max_sessions or DEFAULT_MAX_SESSIONS),
        RedisTicketKeys(client, health, sealer, prefix, rotate_after=rotate_after, accept_for=accept_for),
        RedisReplayGuard(client, health, prefix),
        label(url),
    )


def _store_keys(store_key: bytes | Sequence[bytes] | str | os.PathLike[str]) -> list[bytes]:
    if isinstance(store_key, bytes | bytearray):
        return [bytes(store_key)]
    if isinstance(store_key, str | os.PathLike):
        return load_store_keys(store_key)
    return [bytes(k) for k in store_key]


__all__ = ["Stores", "open_stores"]
