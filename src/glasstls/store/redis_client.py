"""The connection to Redis: one client per store URL, with a deadline on every call.

The URL is redis-py's (``Redis.from_url``): ``redis://[USER:PASSWORD@]HOST:PORT/DB``
(an ACL user, Redis 6 and later), ``rediss://`` for TLS to Redis, whose options go
in the query string (``?ssl_ca_certs=/etc/redis/ca.pem``, ``&ssl_certfile=…&ssl_keyfile=…``
for a client certificate), and ``unix:///run/redis.sock?db=0``. The deadline is
``socket_timeout`` and ``socket_connect_timeout`` (``DEADLINE`` unless the URL
sets them), and redis-py's own retries are off: a call that misses its deadline
fails at once, and :class:`~glasstls.store.health.StoreHealth` decides when to
try again. A handshake never waits on the store for longer than the deadline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import ConfigError

if TYPE_CHECKING:
    import redis

DEADLINE = 0.25  # seconds for one call to the store (connect, then each reply)
# Under PREFIX: when the replay guard's memory in this Redis began (ms since the epoch, no TTL), set
# by the first ticket-key sync or replay record that finds it missing (redis_sessions.RedisReplayGuard).
MEMORY_SINCE = "rp-since"
SCHEMES = ("redis", "rediss", "unix")


def connect(url: str, deadline: float = DEADLINE) -> redis.Redis:
    """A client for ``url`` (nothing is sent until the first call)."""
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:  # pragma: no cover - the optional extra glasstls[redis] (the tests install it)
        raise ConfigError("a Redis store needs the redis package: pip install 'glasstls[redis]'") from None
    check_scheme(url)
    if not deadline > 0:
        raise ConfigError(f"the store deadline must be above 0 seconds, not {deadline:g}")
    try:
        return redis.Redis.from_url(
            url,
            socket_timeout=deadline,
            socket_connect_timeout=deadline,
            retry=Retry(NoBackoff(), 0),
        )
    except ValueError as exc:
        raise ConfigError(f"bad store URL {label(url)!r}: {exc}") from None


def refusals() -> tuple[type[BaseException], ...]:
    """The errors that are Redis's answer to one call (an error reply: OOM, READONLY, WRONGTYPE, NOPERM
    ...), not a store that is down: redis-py's ResponseError (its ConnectionError and TimeoutError are)."""
    import redis

    return (redis.ResponseError,)


def check_scheme(url: str) -> None:
    if urlsplit(url).scheme not in SCHEMES:
        raise ConfigError(f"a store URL is 'memory' or starts with redis://, rediss:// or unix://, not {label(url)!r}")


def label(url: str) -> str:
    """``url`` with its password replaced by ``***``, fit for logs and traces: the userinfo's, and the
    query's ``password`` (and ``ssl_password``), which redis-py takes too (the form for unix://)."""
    try:
        parts = urlsplit(url)
        query = "&".join(
            f"{key}=***" if key.lower() in _SECRET_PARAMETERS else f"{key}={value}" if sep else key
            for key, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
        )
        netloc = parts.netloc
        if parts.password is not None:
            user = parts.username or ""
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
            netloc = f"{user}:***@{host}{port}"
        if netloc == parts.netloc and query == parts.query:
            return url
        # (Written out: urlunsplit would drop the "//" of unix:///path, whose host is empty.)
        return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
    except ValueError:
        return "(an unreadable store URL)"


_SECRET_PARAMETERS = frozenset({"password", "ssl_password"})
