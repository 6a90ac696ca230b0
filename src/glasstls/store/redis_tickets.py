"""Ticket keys shared by a fleet through Redis: every server seals under the same
key, every server opens every server's tickets (docs/design/fleet.md).

Time is cut into periods of ``rotate_after`` seconds counted from the Unix epoch;
period *n* is a *slot*. The key of slot *n* is **pending** before ``n·P``, **current**
(it seals) during ``[n·P, (n+1)·P)``, then **retired**: it still opens tickets until
``(n+1)·P + accept_for`` (at least the tickets' lifetime), then it is deleted. The
fleet's keys are one Redis hash::

    PREFIX ticket-keys:P   field "<slot>" = sealed(key_name[16] || key[32], aad = "ticket-key|<hash>|<slot>")

(P in the hash's name: servers rotating at another period keep keys of their own, rather than
reading each other's slot numbers as theirs, deleting them as retired and overflowing dates.)

A server *syncs* at least every ``P/4`` (at most every minute), before it seals or
opens, and at once (at most once a second) when a ticket names a key it does not
know. A sync is one pipelined round trip: ``HSETNX`` for slots *n* and *n+1* (a new
random key where it knows none, otherwise the key it knows, which refills a Redis
that restarted empty), ``HGETALL``, ``PEXPIRE``. The first writer of a slot wins and
every server adopts what Redis holds. Any sync during period *n* creates or learns
the key of *n+1*, and every server syncs at least twice per period, so every server
knows a key before the first server seals with it: a key is published a whole period
before it becomes current.

A server seals only with a key it read back from Redis. Cut off from Redis it goes
on with the keys it has (its pending key carries it to the end of the next period);
once it has no key for the current period it issues no tickets
(:class:`~glasstls.session.stores.NoTicketKey`), and a ticket under a key it never
learned gets a full handshake.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ConfigError
from ..session.state import SessionState, check_aware
from ..session.stores import STORE_DOWN, NoTicketKey
from ..session.tickets import (
    ACCEPTED,
    ACCEPTED_OLD_KEY,
    KEY_LEN,
    KEY_NAME_LEN,
    MALFORMED,
    NONCE_LEN,
    UNKNOWN_KEY,
    open_with,
    seal_with,
    split_ticket,
)
from .health import StoreDown, StoreHealth
from .redis_client import MEMORY_SINCE
from .sealing import StoreSealer

if TYPE_CHECKING:
    import redis

SOURCE = "redis"
MAX_SLOTS = 1000  # keys the ring may hold at once: accept_for / rotate_after must stay below it
MAX_SYNC_EVERY = 60.0  # seconds between syncs at most, whatever the period
FORCED_SYNC_EVERY = timedelta(seconds=1)  # syncs for unknown key names, at most
HASH_GRACE = 60  # seconds the hash outlives its newest key's use, should every server stop


@dataclass
class _Key:
    slot: int
    name: bytes
    aead: AESGCM
    blob: bytes  # as sealed in Redis (re-offered with HSETNX after a restart of Redis)
    accept_until: datetime


class RedisTicketKeys:
    """A :class:`~glasstls.session.tickets.TicketKeyRing` agreed through Redis. Thread-safe."""

    source = SOURCE

    def __init__(
        self,
        client: redis.Redis,
        health: StoreHealth,
        sealer: StoreSealer,
        prefix: str = "glasstls:",
        rotate_after: int = 3600,
        accept_for: int = 7200,
    ) -> None:
        if rotate_after < 1:
            raise ConfigError(f"ticket key rotate_after must be at least 1 second, not {rotate_after}")
        if accept_for < 0:
            raise ConfigError(f"ticket key accept_for cannot be negative ({accept_for})")
        if accept_for // rotate_after + 2 > MAX_SLOTS:
            raise ConfigError(f"accept_for / rotate_after keeps over {MAX_SLOTS} ticket keys: rotate less often")
        self._client, self._health, self._sealer = client, health, sealer
        self.period = rotate_after
        self.accept_for = timedelta(seconds=accept_for)
        self.sync_every = timedelta(seconds=min(rotate_after / 4, MAX_SYNC_EVERY))
        self._hash = f"{prefix}ticket-keys:{rotate_after}"
        self._memory_since = prefix + MEMORY_SINCE
        self._keys: dict[bytes, _Key] = {}  # every key that opens tickets, by name
        self._agreed: dict[int, _Key] = {}  # the fleet's key of each slot, as Redis last said
        self._synced: datetime | None = None
        self._forced: datetime | None = None
        self._lock = threading.Lock()  # the two dicts
        self._sync_lock = threading.Lock()  # one sync at a time
        self.syncs = 0  # successful syncs, for tests and statistics
        self.unreadable = ""  # why the last key this ring could not open was refused

    @property
    def label(self) -> str:
        """The store's URL, password hidden."""
        return self._health.label

    # -- the slots ---------------------------------------------------------------------------

    def slot(self, now: datetime) -> int:
        return math.floor(now.timestamp() / self.period)

    def _accept_until(self, slot: int) -> datetime:
        try:
            return datetime.fromtimestamp((slot + 1) * self.period, UTC) + self.accept_for
        except (OverflowError, ValueError, OSError):  # a field no server of this period wrote: past use
            return datetime.min.replace(tzinfo=UTC)

    def _aad(self, slot: int) -> bytes:
        return f"ticket-key|{self._hash}|{slot}".encode()

    def _retire(self, now: datetime) -> None:
        """Forget keys past their last use (callers hold the lock)."""
        for name in [n for n, k in self._keys.items() if now >= k.accept_until]:
            del self._keys[name]
        for slot in [s for s, k in self._agreed.items() if now >= k.accept_until]:
            del self._agreed[slot]

    # -- syncing with Redis ----------------------------------------------------------------------

    @property
    def credentials_refused(self) -> str | None:
        """Why Redis refused the URL's credentials (a wrong password, none where one is needed), if that is
        how the last call failed: a configuration to fix, not a store that is down."""
        import redis

        failure = self._health.last_failure
        return str(failure) if isinstance(failure, redis.AuthenticationError) and self._health.down else None

    def sync(self, now: datetime) -> bool:
        """One round trip: offer keys for this slot and the next, learn the fleet's. False
        when Redis did not answer (or another thread is syncing)."""
        check_aware(now)
        if not self._sync_lock.acquire(blocking=False):
            return False
        try:
            slot = self.slot(now)
            with self._lock:
                self._retire(now)
                offers = {s: k.blob for s, k in self._agreed.items()}
            for s in (slot, slot + 1):
                if s not in offers:
                    offers[s] = self._sealer.seal(os.urandom(KEY_NAME_LEN) + os.urandom(KEY_LEN), self._aad(s))
            try:
                fields = self._health.call(lambda: self._round_trip(offers, slot, now))
            except StoreDown:
                return False
            stale = self._adopt(fields, now)
            self._synced = now
            self.syncs += 1
        finally:
            self._sync_lock.release()
        if stale:  # once a period, by whichever server sees them first
            with contextlib.suppress(StoreDown):
                self._health.call(lambda: self._client.hdel(self._hash, *stale))
        return True

    def _round_trip(self, offers: dict[int, bytes], slot: int, now: datetime) -> dict[Any, Any]:
        pipe = self._client.pipeline(transaction=False)
        for s, blob in sorted(offers.items()):
            pipe.hsetnx(self._hash, str(s), blob)
        # Before any ticket is sealed under a key from this Redis, its replay memory has a beginning.
        pipe.set(self._memory_since, int(now.timestamp() * 1000), nx=True)
        pipe.hgetall(self._hash)
        keep = self._accept_until(slot + 1) + timedelta(seconds=HASH_GRACE)
        pipe.pexpireat(self._hash, keep)
        # An error reply to one command (a full Redis refuses HSETNX even for a field it has) leaves the
        # others' answers: the keys Redis holds are adopted all the same. Only HGETALL's is needed.
        results = pipe.execute(raise_on_error=False)
        fields = results[-2]
        if isinstance(fields, Exception):
            raise fields
        return fields if isinstance(fields, dict) else {}

    def _adopt(self, fields: dict[Any, Any], now: datetime) -> list[str]:
        """Take the fleet's keys from an HGETALL answer; the fields of retired slots."""
        stale: list[str] = []
        agreed: dict[int, _Key] = {}
        for raw_field, blob in fields.items():
            try:
                slot = int(raw_field)
            except ValueError:
                continue
            if now >= self._accept_until(slot):
                stale.append(str(slot))
                continue
            value, why = self._sealer.open(bytes(blob), self._aad(slot))
            if value is None or len(value) != KEY_NAME_LEN + KEY_LEN:
                self.unreadable = f"the store's ticket key {why or 'has the wrong length'}"
                continue  # never used: sealed under another store key, or not ours
            name = value[:KEY_NAME_LEN]
            known = self._keys.get(name)
            if known is None or known.slot != slot:
                known = _Key(slot, name, AESGCM(value[KEY_NAME_LEN:]), bytes(blob), self._accept_until(slot))
            agreed[slot] = known
        with self._lock:
            for key in agreed.values():
                self._keys[key.name] = key  # a key Redis replaced stays in _keys: it still opens
            self._agreed.update(agreed)
            self._retire(now)
        return stale

    def _maybe_sync(self, now: datetime) -> None:
        synced = self._synced
        if synced is None or now - synced >= self.sync_every or now < synced:
            self.sync(now)

    # -- the ring ------------------------------------------------------------------------------

    def seal(self, state: SessionState, now: datetime) -> bytes:
        check_aware(now)
        self._maybe_sync(now)
        with self._lock:
            key = self._agreed.get(self.slot(now))
        if key is None:
            why = STORE_DOWN if self._health.down else (self.unreadable or "not agreed with the store yet")
            raise NoTicketKey(f"no ticket key for this period ({why})")
        return seal_with(key.aead, key.name, os.urandom(NONCE_LEN), state)

    def open(self, ticket: bytes, now: datetime) -> tuple[SessionState | None, str]:
        check_aware(now)
        parts = split_ticket(ticket)
        if parts is None:
            return None, MALFORMED
        self._maybe_sync(now)
        key = self._find(parts[0], now)
        if key is None and self._may_force(now):
            self.sync(now)  # a key another server learned first, or one made while we were cut off
            key = self._find(parts[0], now)
        if key is None:
            return None, f"{UNKNOWN_KEY}; {STORE_DOWN}" if self._health.down else UNKNOWN_KEY
        state, reason = open_with(key.aead, parts, now)
        if state is None:
            return None, reason
        with self._lock:
            current = self._agreed.get(self.slot(now))
        return state, ACCEPTED if key is current else ACCEPTED_OLD_KEY

    def needs_renewal(self, ticket: bytes, now: datetime) -> bool:
        check_aware(now)
        with self._lock:
            current = self._agreed.get(self.slot(now))
        return current is None or bytes(ticket[:KEY_NAME_LEN]) != current.name

    def _find(self, name: bytes, now: datetime) -> _Key | None:
        with self._lock:
            key = self._keys.get(name)
        return key if key is not None and now < key.accept_until else None

    def _may_force(self, now: datetime) -> bool:
        with self._lock:
            if self._forced is not None and self._forced <= now < self._forced + FORCED_SYNC_EVERY:
                return False
            self._forced = now
            return True

    def key_names(self, now: datetime) -> list[bytes]:
        """The names of the keys that open tickets now, oldest slot first (for traces and tests)."""
        with self._lock:
            self._retire(now)
            return [k.name for k in sorted(self._keys.values(), key=lambda k: k.slot)]

    def agreed(self, now: datetime) -> dict[int, bytes]:
        """The fleet's key name per slot, as this server last learned it (for tests)."""
        with self._lock:
            self._retire(now)
            return {s: k.name for s, k in sorted(self._agreed.items())}
