"""The Redis stores against a real redis-server (issue 14, items 2 and 3): sealed
sessions with a TTL of their lifetime, single use across servers by SET NX PX, ticket
keys agreed a period ahead and retired after their grace, a Redis that restarted
empty refilled, an ACL user, TLS to Redis, and a store that is down: safe answers,
one log line down, one back.

Each "server" here is one ``open_stores`` on the same URL (its own client, health and
key cache), as two processes would have; times are given, so rotation needs no sleep.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from redis_peer import RedisServer, free_port, needs_redis

from glasstls.session import cache as C
from glasstls.session import tickets as T
from glasstls.session.replay import RECORDING, SEEN
from glasstls.session.state import SessionState
from glasstls.session.stores import STORE_DOWN, NoTicketKey
from glasstls.store import Stores, open_stores
from glasstls.store.redis_tickets import RedisTicketKeys
from glasstls.x509.mint import ThrowawayCA

pytestmark = [pytest.mark.interop, needs_redis]

KEY = bytes(range(32))
SECRET = bytes(range(100, 148))
PERIOD = 10


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """Each test its own keys in the one server."""
    return f"t{abs(hash(request.node.name)) % 10**8}:"


def stores(url: str, prefix: str, key: bytes = KEY, **kw: object) -> Stores:
    return open_stores(url, key, prefix=prefix, rotate_after=PERIOD, accept_for=2 * PERIOD, **kw)  # type: ignore[arg-type]


def now_at(slot_offset: int, seconds: float = 1.0) -> datetime:
    """A time ``seconds`` into the period ``slot_offset`` periods from the present one."""
    slot = math.floor(time.time() / PERIOD) + slot_offset
    return datetime.fromtimestamp(slot * PERIOD + seconds, UTC)


def make_state(created: datetime, lifetime: int = 3600, version: int = 0x0303) -> SessionState:
    return SessionState(
        version=version,
        cipher_suite=0xC02F if version == 0x0303 else 0x1301,
        master_secret=SECRET,
        extended_master_secret=version == 0x0303,
        server_name="localhost",
        alpn=None,
        created=created,
        lifetime=lifetime,
    )


def everything_in(url: str, prefix: str) -> bytes:
    """Every value under ``prefix``, hashes included, as one byte string."""
    client = redis.Redis.from_url(url)
    out = b""
    for key in client.scan_iter(f"{prefix}*"):
        kind = client.type(key)
        if kind == b"hash":
            out += b"".join(client.hgetall(key).values())
        elif kind == b"zset":  # the session index: session IDs
            out += b"".join(client.zrange(key, 0, -1))
        else:
            out += client.get(key) or b""
    return out


# -- sessions ----------------------------------------------------------------------------------


def test_a_session_put_by_one_server_is_found_by_another_sealed_with_its_lifetime(
    redis_server: RedisServer, prefix: str
) -> None:
    a, b = stores(redis_server.url, prefix), stores(redis_server.url, prefix)
    now = datetime.now(UTC)
    state = make_state(now - timedelta(seconds=100), lifetime=300)
    a.session_cache.put(b"\x07" * 32, state, now)
    assert b.session_cache.lookup(b"\x07" * 32, now) == (state, C.FOUND)
    assert b.session_cache.lookup(b"\x08" * 32, now) == (None, C.UNKNOWN_SESSION)
    client = redis.Redis.from_url(redis_server.url)
    ttl = client.pttl(f"{prefix}sid:{'07' * 32}")
    assert 199_000 <= ttl <= 200_000  # what is left of its 300 s lifetime
    assert SECRET not in everything_in(redis_server.url, prefix)  # sealed: no master secret in Redis
    # Another store key cannot open it; a value moved to another session ID does not open either.
    stranger = stores(redis_server.url, prefix, key=bytes(32))
    assert stranger.session_cache.lookup(b"\x07" * 32, now) == (
        None,
        "the stored session sealed under another store key",
    )
    client.copy(f"{prefix}sid:{'07' * 32}", f"{prefix}sid:{'09' * 32}")
    state_moved, why = b.session_cache.lookup(b"\x09" * 32, now)
    assert state_moved is None and "does not authenticate" in why
    b.session_cache.remove(b"\x07" * 32)
    assert a.session_cache.lookup(b"\x07" * 32, now) == (None, C.UNKNOWN_SESSION)


def test_the_shared_session_cache_holds_at_most_max_sessions_and_says_so_once(
    redis_server: RedisServer, prefix: str
) -> None:
    """A bound on what anonymous full handshakes can make Redis keep: beyond ``max_sessions`` the
    sessions that would end first are deleted, their index entries too, and the log says so once."""
    said: list[str] = []
    a = stores(redis_server.url, prefix, max_sessions=3, log=said.append)
    b = stores(redis_server.url, prefix, max_sessions=3, log=said.append)
    now = datetime.now(UTC)
    ids = [bytes([n]) * 32 for n in range(1, 6)]
    for n, session_id in enumerate(ids):  # each ends a minute after the one before
        (a if n % 2 else b).session_cache.put(session_id, make_state(now, lifetime=600 + 60 * n), now)
    found = [b.session_cache.lookup(i, now)[1] for i in ids]
    assert found == [C.UNKNOWN_SESSION] * 2 + [C.FOUND] * 3
    client = redis.Redis.from_url(redis_server.url)
    assert sorted(client.zrange(f"{prefix}sids", 0, -1)) == [i.hex().encode() for i in ids[2:]]
    assert sorted(client.keys(f"{prefix}sid:*")) == [f"{prefix}sid:{i.hex()}".encode() for i in ids[2:]]
    assert 0 < client.pttl(f"{prefix}sids") <= 7200 * 1000  # the index goes when no session is put for 2 h
    full = [line for line in said if "maximum" in line]
    assert len(full) == 2, said  # once per server (each its own health), not once per put
    assert full[0] == (
        f"glasstls: {redis_server.url}: the shared session cache holds its maximum of 3 sessions (max_entries): "
        "the ones that would end first are forgotten; said once per 60 s"
    )
    # A removed session leaves the index; an ended one leaves it at the next put.
    a.session_cache.remove(ids[4])
    later = now + timedelta(seconds=800)  # past the ends of ids[2] and ids[3] (720 s, 780 s)
    a.session_cache.put(b"\x0a" * 32, make_state(later, lifetime=600), later)
    assert sorted(client.zrange(f"{prefix}sids", 0, -1)) == [(b"\x0a" * 32).hex().encode()]


# -- the replay guard ------------------------------------------------------------------------------


def test_single_use_across_servers_names_who_saw_it_first(redis_server: RedisServer, prefix: str) -> None:
    a, b = stores(redis_server.url, prefix), stores(redis_server.url, prefix)
    now = datetime.now(UTC)
    until = now + timedelta(seconds=20)
    assert a.replay_guard.record(b"binder:1", until, now) is None
    assert a.replay_guard.record(b"binder:1", until, now) == SEEN
    seen_by_b = b.replay_guard.record(b"binder:1", until, now)
    assert seen_by_b == f"seen before by another server ({a.replay_guard.instance})"  # type: ignore[attr-defined]
    keys = list(redis.Redis.from_url(redis_server.url).scan_iter(f"{prefix}rp:*"))
    assert len(keys) == 1 and 19_000 <= redis.Redis.from_url(redis_server.url).pttl(keys[0]) <= 20_000


def test_of_many_servers_racing_with_one_hello_exactly_one_accepts(redis_server: RedisServer, prefix: str) -> None:
    fleet = [stores(redis_server.url, prefix) for _ in range(8)]
    now = datetime.now(UTC)
    barrier = threading.Barrier(len(fleet))
    results: list[str | None] = []

    def race(s: Stores) -> None:
        barrier.wait(timeout=10)
        results.append(s.replay_guard.record(b"binder:race", now + timedelta(seconds=20), now))

    threads = [threading.Thread(target=race, args=(s,)) for s in fleet]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert results.count(None) == 1 and len(results) == 8, results
    assert all(r is None or r.startswith("seen before by another server") for r in results)


def test_a_replay_memory_that_begins_again_vouches_only_for_later_tickets(
    redis_server: RedisServer, prefix: str
) -> None:
    """RFC 8446, Section 8.2: a Redis that forgot its records (restarted or failed over empty, flushed)
    cannot tell a replay of a hello it accepted before from a new one. The memory notes when it began,
    a ticket issued before that is refused until the memory is RECORDING old, and one issued after it
    is not (nothing could have been accepted with it before)."""
    a, b = stores(redis_server.url, prefix), stores(redis_server.url, prefix)
    client = redis.Redis.from_url(redis_server.url)
    issued = datetime.now(UTC)
    assert a.ticket_keys.sync(issued)  # (as before any ticket: the memory begins here at the latest)
    since = f"{prefix}rp-since"
    assert abs(int(client.get(since)) - issued.timestamp() * 1000) < 1000
    now = issued + timedelta(seconds=1)
    assert a.replay_guard.record(b"binder:1", now + RECORDING, now, issued) is None
    for key in [since, *client.scan_iter(f"{prefix}rp:*")]:  # what a flush does to this fleet's keys
        client.delete(key)
    later = now + timedelta(seconds=2)
    why = b.replay_guard.record(b"binder:1", later + RECORDING, later, issued)  # the replay, at the other
    assert why is not None and why.startswith("the replay memory began 0.0 s ago (Redis emptied"), why
    assert "RFC 8446, Section 8.2" in why
    assert b.replay_guard.record(b"binder:2", later + RECORDING, later, later) is None  # a ticket of the new memory
    old_enough = later + RECORDING
    assert b.replay_guard.record(b"binder:3", old_enough + RECORDING, old_enough, issued) is None
    for unreadable in (b"not a time", b"9" * 20):  # (the second past what a datetime holds)
        client.set(since, unreadable)
        assert "unreadable" in str(a.replay_guard.record(b"binder:" + unreadable, later + RECORDING, later, issued))


def test_a_redis_that_may_evict_refuses_all_0rtt(tmp_path: Path) -> None:
    """Keys evicted at maxmemory take the replay records with them: unless the policy is noeviction
    (or there is no maxmemory), the guard refuses, and says so."""
    with RedisServer(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        client.config_set("maxmemory", "64mb")
        client.config_set("maxmemory-policy", "allkeys-lru")
        now = datetime.now(UTC)
        guard = stores(server.url, "ev:").replay_guard
        why = guard.record(b"binder:1", now + RECORDING, now, now)
        assert why is not None and "Redis may evict the replay records (maxmemory-policy allkeys-lru)" in why
        client.config_set("maxmemory-policy", "noeviction")
        assert stores(server.url, "ev:").replay_guard.record(b"binder:2", now + RECORDING, now, now) is None


# -- ticket keys ------------------------------------------------------------------------------------


def ring(s: Stores) -> RedisTicketKeys:
    assert isinstance(s.ticket_keys, RedisTicketKeys)
    return s.ticket_keys


def test_ticket_keys_are_agreed_a_period_ahead_and_rotate_under_both_servers(
    redis_server: RedisServer, prefix: str
) -> None:
    a, b = ring(stores(redis_server.url, prefix)), ring(stores(redis_server.url, prefix))
    t0 = now_at(0)
    slot = a.slot(t0)
    ticket = a.seal(make_state(t0), t0)  # a's first sync makes the keys of this period and the next
    assert b.open(ticket, t0) == (make_state(t0), T.ACCEPTED)
    assert a.agreed(t0) == b.agreed(t0) and set(a.agreed(t0)) == {slot, slot + 1}
    pending = a.agreed(t0)[slot + 1]
    # The next period: its key, known to both for a whole period already, seals; the old one still opens.
    t1 = now_at(1)
    fresh = b.seal(make_state(t1), t1)
    assert fresh[:16] == pending
    assert a.open(fresh, t1) == (make_state(t1), T.ACCEPTED)
    assert a.open(ticket, t1) == (make_state(t0), T.ACCEPTED_OLD_KEY)
    assert a.needs_renewal(ticket, t1) and not a.needs_renewal(fresh, t1)
    # Past the grace (two periods after it stopped sealing) the first key is gone, in both and in Redis.
    t4 = now_at(3, 2.0)
    assert a.open(ticket, t4) == (None, T.UNKNOWN_KEY)
    b.sync(t4)
    fields = redis.Redis.from_url(redis_server.url).hkeys(f"{prefix}ticket-keys:{PERIOD}")
    assert str(slot).encode() not in fields and str(a.slot(t4)).encode() in fields
    assert SECRET not in everything_in(redis_server.url, prefix)
    for key_name in a.key_names(t4):
        assert key_name not in everything_in(redis_server.url, prefix)  # key names sealed too


def test_rings_of_other_rotation_periods_on_one_store_keep_apart(redis_server: RedisServer, prefix: str) -> None:
    """A server rotating every 2 s read a 3600 s ring's slot numbers as its own: it deleted them as
    retired, and its own slot numbers made every other server's dates overflow (a traceback at start,
    internal_error on every TLS 1.2 handshake). Each period now keeps a hash of its own."""
    slow = ring(open_stores(redis_server.url, KEY, prefix=prefix, rotate_after=3600, accept_for=7200))
    fast = ring(open_stores(redis_server.url, KEY, prefix=prefix, rotate_after=2, accept_for=4))
    now = datetime.now(UTC)
    slow_ticket, fast_ticket = slow.seal(make_state(now), now), fast.seal(make_state(now), now)
    later = now + timedelta(seconds=10)  # fast has rotated five times, retiring its keys
    fast.seal(make_state(later), later)
    assert slow.sync(later) and slow.open(slow_ticket, later) == (make_state(now), T.ACCEPTED)
    assert fast.open(fast_ticket, later)[0] is None  # its own key retired: a full handshake, no error
    assert slow.open(fast_ticket, now)[0] is None  # each opens only its own tickets
    # A field no server of this period could have written (a slot far past the year 9999) is skipped.
    redis.Redis.from_url(redis_server.url).hset(f"{prefix}ticket-keys:3600", "898287692000", b"x" * 60)
    assert slow.sync(later + timedelta(minutes=5))
    assert slow.open(slow_ticket, later) == (make_state(now), T.ACCEPTED)


def test_a_ring_without_the_store_key_seals_nothing(redis_server: RedisServer, prefix: str) -> None:
    a = ring(stores(redis_server.url, prefix))
    t0 = now_at(0)
    ticket = a.seal(make_state(t0), t0)
    stranger = ring(stores(redis_server.url, prefix, key=bytes(32)))
    with pytest.raises(NoTicketKey, match="sealed under another store key"):
        stranger.seal(make_state(t0), t0)
    assert stranger.open(ticket, t0) == (None, T.UNKNOWN_KEY)


def test_a_redis_that_restarted_empty_is_refilled_with_the_keys_in_use(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis") as server:
        a = ring(stores(server.url, "r:"))
        t0 = now_at(0)
        ticket = a.seal(make_state(t0), t0)
        server.stop()
        server.start()  # empty: --save ""
        assert a.sync(t0)  # a offers what it has: the same keys, back in Redis
        late = ring(stores(server.url, "r:"))  # a server started after the restart
        assert late.open(ticket, t0) == (make_state(t0), T.ACCEPTED)


# -- access: ACL users, TLS ---------------------------------------------------------------------------


def test_an_acl_user_and_tls_to_redis(tmp_path: Path) -> None:
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost", "127.0.0.1"]).write(tmp_path / "redis.pem", tmp_path / "redis.key")
    (tmp_path / "ca.pem").write_bytes(ca.root_pem())
    tls = (tmp_path / "redis.pem", tmp_path / "redis.key", tmp_path / "ca.pem")
    users = ("fleet on >s3cret ~glasstls:* +@all",)
    with RedisServer(tmp_path / "redis", users=users, tls=tls) as server:
        url = f"rediss://fleet:s3cret@127.0.0.1:{server.port}/0?ssl_ca_certs={tmp_path / 'ca.pem'}"
        a, b = open_stores(url, KEY), open_stores(url, KEY)
        now = datetime.now(UTC)
        a.session_cache.put(b"\x05" * 32, make_state(now), now)
        assert b.session_cache.lookup(b"\x05" * 32, now)[1] == C.FOUND
        assert a.label == f"rediss://fleet:***@127.0.0.1:{server.port}/0?ssl_ca_certs={tmp_path / 'ca.pem'}"
        lines: list[str] = []
        wrong = open_stores(url.replace("s3cret", "wrong"), KEY, log=lines.append)
        assert wrong.session_cache.lookup(b"\x05" * 32, now) == (None, STORE_DOWN)
        assert len(lines) == 1 and "store down" in lines[0] and "s3cret" not in lines[0] and "wrong" not in lines[0]
        untrusted = open_stores(f"rediss://fleet:s3cret@127.0.0.1:{server.port}/0", KEY, log=lines.append)
        assert untrusted.session_cache.lookup(b"\x05" * 32, now) == (None, STORE_DOWN)
        assert "CERTIFICATE_VERIFY_FAILED" in lines[-1]


# -- a store that is down ------------------------------------------------------------------------------


def test_a_full_redis_refuses_calls_without_flapping_and_keeps_sharing_ticket_keys(tmp_path: Path) -> None:
    """A Redis at its maxmemory with noeviction refuses every write (OOM) and answers PING: each refused
    call gets the safe answer and the store is not down (it flapped down and back every second, and a
    refused HSETNX failed the whole ticket-key sync, so the keys Redis held were not adopted)."""
    oom = "command not allowed when used memory > 'maxmemory'."
    with RedisServer(tmp_path) as server:
        lines: list[str] = []
        s = open_stores(server.url, KEY, log=lines.append, rotate_after=PERIOD, accept_for=2 * PERIOD)
        now = datetime.now(UTC)
        assert s.ticket_keys.sync(now)
        redis.Redis.from_url(server.url).config_set("maxmemory", "1")  # full: every write refused
        for i in range(5):
            later = now + timedelta(seconds=i)
            assert s.ticket_keys.sync(later)  # HSETNX refused, HGETALL answered: the fleet's keys adopted
            assert s.ticket_keys.seal(make_state(later), later)
            s.session_cache.put(b"\x01" * 32, make_state(later), later)  # dropped, no exception
            why = s.replay_guard.record(b"binder:x", later + RECORDING, later, later)
            assert why == f"the store refused the record (OutOfMemoryError: {oom})"
        assert s.session_cache.lookup(b"\x01" * 32, now) == (None, C.UNKNOWN_SESSION)  # reads still answered
        assert not [line for line in lines if "store down" in line or "store back" in line], lines
        assert len(lines) == 1, lines
        # (the first refused call may be the session put, whose script Redis names after the reason)
        assert lines[0].startswith(f"glasstls: store refused a call: {server.url} (OutOfMemoryError: {oom}")


def test_writes_paused_for_a_failover_are_one_down_and_one_back(tmp_path: Path) -> None:
    """CLIENT PAUSE WRITE (what Redis's FAILOVER does): writes wait, reads and PING answer. The probe
    writes, so the store stays down until writes go through again, where a PING probe took it back
    each second only for the next write to miss its deadline (a handshake's wait each time)."""
    with RedisServer(tmp_path) as server:
        lines: list[str] = []
        s = open_stores(server.url, KEY, log=lines.append, rotate_after=PERIOD, accept_for=2 * PERIOD)
        now = datetime.now(UTC)
        redis.Redis.from_url(server.url).execute_command("CLIENT", "PAUSE", "3000", "WRITE")
        started = time.monotonic()
        while time.monotonic() - started < 5:
            s.session_cache.put(b"\x01" * 32, make_state(now), now)  # each a write: waits, or skipped while down
            time.sleep(0.1)
        assert [line.split(":")[1].strip() for line in lines] == ["store down", "store back"], lines
        assert s.replay_guard.record(b"binder:p", now + RECORDING, now, now) is None


def test_down_means_safe_answers_fast_one_line_and_recovery(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis")
    server.port = free_port()  # nothing listens there yet
    lines: list[str] = []
    s = open_stores(server.url, KEY, log=lines.append, rotate_after=PERIOD, accept_for=2 * PERIOD)
    now = datetime.now(UTC)
    started = time.monotonic()
    for _ in range(20):
        assert s.session_cache.lookup(b"\x01" * 32, now) == (None, STORE_DOWN)
        s.session_cache.put(b"\x01" * 32, make_state(now), now)  # dropped, no exception
        assert s.replay_guard.record(b"binder:x", now + timedelta(seconds=20), now) == STORE_DOWN  # fails closed
        with pytest.raises(NoTicketKey, match="store down"):
            s.ticket_keys.seal(make_state(now), now)
    assert time.monotonic() - started < 2.0
    assert len(lines) == 1 and lines[0].startswith(f"glasstls: store down: {server.url} (")
    try:
        server.start()
        deadline = time.monotonic() + 5
        while s.session_cache.lookup(b"\x01" * 32, now)[1] == STORE_DOWN and time.monotonic() < deadline:
            time.sleep(0.1)  # the next probe comes within a second
        assert s.session_cache.lookup(b"\x01" * 32, now) == (None, C.UNKNOWN_SESSION)
        assert s.replay_guard.record(b"binder:x", now + timedelta(seconds=20), now) is None
        assert s.ticket_keys.seal(make_state(now), now)
        assert len(lines) == 2 and lines[1].startswith(f"glasstls: store back: {server.url} answers again")
    finally:
        server.stop()
