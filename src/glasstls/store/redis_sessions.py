"""The session-ID cache and the 0-RTT replay guard of a fleet, in Redis.

Keys (``PREFIX`` is ``glasstls:`` unless told otherwise)::

    PREFIX sid:<session_id hex>     sealed SessionState           PX = what is left of its lifetime
    PREFIX sids                     sorted set: session_id hex -> when its entry ends (ms since 1970)
    PREFIX rp:<SHA-256(value) hex>  the server that recorded it    SET NX PX: single use, atomic

The session cache holds at most ``max_entries`` sessions, as a server's memory cache
does: one Lua script stores a session, indexes it in ``sids``, forgets the index
entries of ended sessions, and beyond the bound deletes the sessions that would end
first (OpenSSL's own cache drops its oldest too). Without it an anonymous client
could fill Redis at a few hundred full handshakes a second for the two hours a
session lives.

A session is sealed under the store key (:mod:`.sealing`) with its Redis key as
associated data: Redis holds no master secret in the clear, and a value moved to
another session ID does not open. A replay-guard value is a PSK binder or a ticket's
digest, which are not secret; what is stored is who recorded it
(``host:pid:random``), so a refusal can say "seen before by another server".

Every call goes through :class:`~.health.StoreHealth`: when Redis is down or slow, a
lookup answers "store down" (a full handshake follows), a put is dropped, and the
replay guard refuses (fails closed: no 0-RTT without the fleet's memory).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, DecodeError
from ..session.cache import EXPIRED_SESSION, FOUND, UNKNOWN_SESSION
from ..session.replay import RECORDING, SEEN
from ..session.state import SessionState, check_aware
from ..session.stores import STORE_DOWN
from ..text import printable
from .health import StoreDown, StoreHealth, StoreRefused
from .redis_client import MEMORY_SINCE
from .sealing import StoreSealer

if TYPE_CHECKING:
    import redis

SOURCE = "redis"
EVICTION_CHECK = 60.0  # seconds between two reads of Redis's maxmemory settings by a replay guard
_BLOB = (bytes, type(None))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # what GET and SET ... GET answer: a value, or nil


DEFAULT_MAX_SESSIONS = 100_000  # about 30 MB of Redis memory (some 300 bytes a session)
# KEYS: the session's key, the index. ARGV: the sealed session, its PX, its index member, when it
# ends and now (ms since 1970), the bound, the prefix of the sessions' keys, the index's own PX.
# The SET comes first: a Redis at its maxmemory (noeviction) refuses a script at its first command
# that may take memory, so a full Redis refuses the whole put, as it refused the plain SET.
_PUT_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6])
if over > 0 then
  local first = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  for _, id in ipairs(first) do redis.call('DEL', ARGV[7] .. id) end
  return over
end
return 0
"""


def _ms_until(until: datetime, now: datetime) -> int:
    """Milliseconds from ``now`` to ``until``, at least 1 (PX 0 is an error)."""
    return max(1, math.ceil((until - now).total_seconds() * 1000))


def _unix_ms(when: datetime) -> int:
    return math.ceil((when - _EPOCH).total_seconds() * 1000)


def instance_id() -> str:
    """This server, as the replay guard records it: host, process, and a random part
    (a later process may get the same pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


class RedisSessionCache:
    """A :class:`~glasstls.session.cache.SessionCache` in Redis, shared by the fleet."""

    source = SOURCE

    def __init__(
        self,
        client: redis.Redis,
        health: StoreHealth,
        sealer: StoreSealer,
        prefix: str = "glasstls:",
        lifetime: int = 7200,
        max_entries: int = DEFAULT_MAX_SESSIONS,
    ) -> None:
        if max_entries < 1:
            raise ConfigError(f"shared session cache max_entries must be at least 1, not {max_entries}")
        self._client, self._health, self._sealer = client, health, sealer
        self._prefix = prefix
        self._index = f"{prefix}sids"
        self.lifetime = lifetime
        self.max_entries = max_entries
        self._put = client.register_script(_PUT_SCRIPT)  # (EVALSHA, loaded on first use)

    def _key(self, session_id: bytes) -> str:
        return f"{self._prefix}sid:{bytes(session_id).hex()}"

    def put(self, session_id: bytes, state: SessionState, now: datetime) -> None:
        check_aware(now)
        if not 1 <= len(session_id) <= 32:
            raise ValueError(f"a session_id has 1..32 bytes, not {len(session_id)} (RFC 5246, Section 7.4.1.2)")
        remaining = min(state.expires, now + timedelta(seconds=self.lifetime))
        if remaining <= now:
            return
        key, member = self._key(session_id), bytes(session_id).hex()
        blob = self._sealer.seal(state.to_bytes(), b"session|" + key.encode())
        ends, now_ms = _unix_ms(remaining), _unix_ms(now)
        args = (blob, _ms_until(remaining, now), member, ends, now_ms, self.max_entries, f"{self._prefix}sid:")
        keys = (key, self._index)
        put = functools.partial(self._put, keys=keys, args=(*args, self.lifetime * 1000))
        try:  # (logged once by the health when down; the session is then just not resumable)
            over = self._health.call(put, expect=(int,))
        except StoreDown:
            return
        if over:
            self._health.note(
                "session cache full",
                f"the shared session cache holds its maximum of {self.max_entries:,} sessions "
                "(max_entries): the ones that would end first are forgotten",
            )

    def lookup(self, session_id: bytes, now: datetime) -> tuple[SessionState | None, str]:
        check_aware(now)
        key = self._key(session_id)
        try:
            blob: Any = self._health.call(lambda: self._client.get(key), expect=_BLOB)
        except StoreDown:
            return None, STORE_DOWN
        if blob is None:
            return None, UNKNOWN_SESSION
        value, why = self._sealer.open(bytes(blob), b"session|" + key.encode())
        if value is None:
            return None, f"the stored session {why}"
        try:
            state = SessionState.from_bytes(value)
        except DecodeError:
            return None, "the stored session is in another format"
        if state.expired(now):
            return None, EXPIRED_SESSION
        return state, FOUND

    def get(self, session_id: bytes, now: datetime) -> SessionState | None:
        return self.lookup(session_id, now)[0]

    def remove(self, session_id: bytes) -> None:
        key, member = self._key(session_id), bytes(session_id).hex()

        def remove() -> object:  # (one round trip: the session and its index entry)
            pipe = self._client.pipeline()
            pipe.delete(key)
            pipe.zrem(self._index, member)
            return pipe.execute()

        with contextlib.suppress(StoreDown):
            self._health.call(remove)


class RedisReplayGuard:
    """A :class:`~glasstls.session.replay.ReplayGuard` in Redis: one atomic ``SET NX PX GET``
    per value, so of two servers given one ClientHello at most one accepts its early data.

    Redis may forget what it recorded: restarted or failed over empty, flushed, or evicting keys
    at its maxmemory. RFC 8446, Section 8.2: a memory that begins (again) refuses 0-RTT while a
    ClientHello accepted before it may still be fresh. So the memory notes when it began
    (``PREFIX rp-since``, no TTL, set by the first sync or record that finds it missing), and a
    ticket issued before that is refused until the memory is RECORDING old; and a Redis that may
    evict (a maxmemory and a policy other than noeviction, read every EVICTION_CHECK seconds)
    refuses all 0-RTT."""

    source = SOURCE

    def __init__(self, client: redis.Redis, health: StoreHealth, prefix: str = "glasstls:") -> None:
        self._client, self._health = client, health
        self._prefix = prefix
        self._memory_since = prefix + MEMORY_SINCE
        self.instance = instance_id()
        self._evicts: str | None = None  # why this Redis may forget records ("": it may not)
        self._eviction_checked = -math.inf

    def record(self, value: bytes, keep_until: datetime, now: datetime, issued: datetime | None = None) -> str | None:
        check_aware(now)
        check_aware(keep_until, "keep_until")
        key = f"{self._prefix}rp:{hashlib.sha256(value).hexdigest()}"
        check = time.monotonic() - self._eviction_checked >= EVICTION_CHECK
        try:
            answers = self._health.call(lambda: self._round_trip(key, _ms_until(keep_until, now), now, check))
        except StoreRefused as exc:
            return f"the store refused the record ({exc.reason})"
        except StoreDown:
            return STORE_DOWN
        since, before = answers[0], answers[1]
        if check:
            self._evicts, self._eviction_checked = _eviction(answers[2]), time.monotonic()
        if before is not None:
            if not isinstance(before, bytes):
                return f"the store answered a {type(before).__name__} for a record (fails closed)"
            who = before.decode("utf-8", "replace")
            return SEEN if who == self.instance else f"seen before by another server ({who})"
        return self._evicts or _young(since, issued, now)

    def _round_trip(self, key: str, ms: int, now: datetime, check: bool) -> list[Any]:
        now_ms = int(now.timestamp() * 1000)
        pipe = self._client.pipeline(transaction=False)
        pipe.set(self._memory_since, now_ms, nx=True, get=True)  # (Redis 7.0: NX with GET)
        pipe.set(key, self.instance, nx=True, px=ms, get=True)  # the value already there, or nil: recorded now
        if check:
            pipe.info("memory")
        answers = list(pipe.execute(raise_on_error=False))  # (errors as they are, not quoting the commands)
        failed = next((a for a in answers if isinstance(a, Exception)), None)
        if failed is not None:
            raise failed
        return answers

    def first_use(self, value: bytes, keep_until: datetime, now: datetime) -> bool:
        return self.record(value, keep_until, now) is None


def _young(since: Any, issued: datetime | None, now: datetime) -> str | None:
    """Why a replay memory that began at ``since`` (ms, as Redis holds it; nil: it begins now) cannot
    vouch for a ticket issued at ``issued``, or None: it began before the ticket, or RECORDING ago."""
    try:
        began = datetime.fromtimestamp(int(since) / 1000, UTC) if since is not None else now
    except (TypeError, ValueError, OverflowError, OSError):  # (fromtimestamp: OSError past its range)
        return "the store's replay memory has an unreadable beginning (fails closed)"
    if issued is None or issued >= began or now - began >= RECORDING:
        return None
    age = max(0.0, (now - began).total_seconds())
    return (
        f"the replay memory began {age:.1f} s ago (Redis emptied: restarted, failed over or flushed), after "
        f"this ticket was issued: 0-RTT waits until it is {RECORDING.total_seconds():.0f} s old (RFC 8446, Section 8.2)"
    )


def _eviction(info: Any) -> str:
    """Why Redis may forget replay records before their time, from INFO memory, or "": it never evicts
    (no maxmemory, or maxmemory-policy noeviction)."""
    if not isinstance(info, dict):
        return "the store's memory settings are unreadable (fails closed)"
    policy = str(info.get("maxmemory_policy", "?"))
    if not info.get("maxmemory") or policy == "noeviction":
        return ""
    return (
        f"Redis may evict the replay records (maxmemory-policy {printable(policy)}): 0-RTT is refused "
        "unless it is noeviction (RFC 8446, Section 8)"
    )
