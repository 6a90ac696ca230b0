"""The session layer: SessionState encodings, the server's session-ID cache, ticket
sealing with rotating keys (a bad ticket is a full handshake, never an error), and
the client's session store and session files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.errors import ConfigError, DecodeError
from glasstls.session import tickets as T
from glasstls.session.cache import ServerSessionCache
from glasstls.session.state import SessionState
from glasstls.session.store import SessionStore, load_session, save_session, session_key
from glasstls.session.tickets import TicketKeys

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def make_state(**overrides: object) -> SessionState:
    fields: dict[str, object] = dict(
        version=0x0303,
        cipher_suite=0xC02F,
        master_secret=bytes(range(48)),
        extended_master_secret=True,
        server_name="example.com",
        alpn="h2",
        created=T0,
        lifetime=3600,
        session_id=b"\x01" * 32,
    )
    fields.update(overrides)
    return SessionState(**fields)  # type: ignore[arg-type]


def seeded(seed: int = 1):
    rng = random.Random(seed)
    return rng.randbytes


# -- SessionState ------------------------------------------------------------------------------

_name = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
_alpn = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


@st.composite
def states(draw: st.DrawFn) -> SessionState:
    version = draw(st.sampled_from([0x0303, 0x0304]))
    secret_len = 48 if version == 0x0303 else draw(st.sampled_from([32, 48]))
    return SessionState(
        version=version,
        cipher_suite=draw(st.integers(0, 0xFFFF)),
        master_secret=draw(st.binary(min_size=secret_len, max_size=secret_len)),
        extended_master_secret=draw(st.booleans()),
        server_name=draw(st.none() | _name),
        alpn=draw(st.none() | _alpn),
        created=draw(st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(UTC))),
        lifetime=draw(st.integers(0, (1 << 32) - 1)),
        session_id=draw(st.binary(max_size=32)),
        ticket=draw(st.none() | st.binary(max_size=300)),
        ticket_age_add=draw(st.integers(0, (1 << 32) - 1)),
        ticket_nonce=draw(st.binary(max_size=255)),
        max_early_data=draw(st.integers(0, (1 << 32) - 1)),
        peer_certificates=tuple(draw(st.lists(st.binary(min_size=1, max_size=64), max_size=3))),
        encrypt_then_mac=draw(st.booleans()),
    )


@given(states())
def test_state_bytes_round_trip(state: SessionState) -> None:
    assert SessionState.from_bytes(state.to_bytes()) == state


@given(states())
def test_state_pem_round_trip(state: SessionState) -> None:
    pem = state.to_pem()
    lines = pem.splitlines()
    assert lines[0] == "-----BEGIN GLASSTLS SESSION-----"
    assert lines[-1] == "-----END GLASSTLS SESSION-----"
    assert all(len(line) <= 64 for line in lines[1:-1])
    assert all(len(line) == 64 for line in lines[1:-2])
    assert SessionState.from_pem(pem) == state


def test_pem_tolerates_surrounding_text_and_crlf() -> None:
    state = make_state()
    text = "saved by glasstls\r\n" + state.to_pem().replace("\n", "\r\n") + "trailing words\n"
    assert SessionState.from_pem(text) == state
    assert SessionState.from_pem(text.encode()) == state


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a session",
        "-----BEGIN GLASSTLS SESSION-----\n!!!!\n-----END GLASSTLS SESSION-----\n",
        "-----BEGIN GLASSTLS SESSION-----\nAAAA\n-----END GLASSTLS SESSION-----\n",
        "-----BEGIN GLASSTLS SESSION-----\nAQMD\n",  # no END line
    ],
)
def test_malformed_pem_is_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        SessionState.from_pem(text)


def test_every_truncation_is_decode_error() -> None:
    full = make_state(ticket=b"T" * 40, peer_certificates=(b"cert-one", b"cert-two"), ticket_nonce=b"n").to_bytes()
    for cut in range(len(full)):
        with pytest.raises(DecodeError):
            SessionState.from_bytes(full[:cut])
    with pytest.raises(DecodeError, match="trailing"):
        SessionState.from_bytes(full + b"\x00")


def test_unknown_format_flags_and_bad_fields_are_decode_errors() -> None:
    data = bytearray(make_state().to_bytes())
    with pytest.raises(DecodeError, match="format"):
        SessionState.from_bytes(b"\x02" + bytes(data[1:]))
    flags_at = 1 + 2 + 2 + 1 + 48
    bad_flags = bytearray(data)
    bad_flags[flags_at] |= 0x80
    with pytest.raises(DecodeError, match="flags"):
        SessionState.from_bytes(bytes(bad_flags))
    bad_version = bytearray(data)
    bad_version[1:3] = b"\x03\x02"
    with pytest.raises(DecodeError, match=r"neither TLS 1\.2 nor TLS 1\.3"):
        SessionState.from_bytes(bytes(bad_version))
    huge_time = bytearray(data)
    huge_time[flags_at + 1 : flags_at + 9] = b"\xff" * 8
    with pytest.raises(DecodeError, match="out of range"):
        SessionState.from_bytes(bytes(huge_time))


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_garbage_state_bytes_only_raise_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        SessionState.from_bytes(data)


@pytest.mark.parametrize(
    "overrides",
    [
        {"created": datetime(2025, 1, 1)},  # naive
        {"master_secret": b"x" * 32},  # TLS 1.2 needs 48
        {"version": 0x0304, "master_secret": b"x" * 40},
        {"version": 0x0302},
        {"session_id": b"x" * 33},
        {"alpn": ""},
        {"lifetime": -1},
    ],
)
def test_invalid_states_are_rejected_when_built(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_state(**overrides)


def test_created_is_normalised_to_utc() -> None:
    plus2 = T0.astimezone(datetime.now(UTC).astimezone().tzinfo)
    state = make_state(created=plus2)
    assert state.created.tzinfo is UTC and state.created == T0


def test_repr_hides_the_master_secret() -> None:
    state = make_state(master_secret=b"\xaa" * 48)
    assert "aa" * 8 not in repr(state) and "\\xaa" not in repr(state)


def test_expiry() -> None:
    state = make_state(lifetime=60)
    assert not state.expired(T0)
    assert not state.expired(T0 + seconds(59.999))
    assert state.expired(T0 + seconds(60))
    assert not state.expired(T0 - seconds(10))  # clock stepped back: still usable
    assert make_state(lifetime=0).expired(T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        state.expired(datetime(2025, 3, 1))


def test_matches_version_suite_ems_and_sni() -> None:
    state = make_state()
    assert state.matches(0x0303, 0xC02F, True, "example.com")
    assert state.matches(0x0303, 0xC02F, True, "EXAMPLE.com.")  # DNS names are case-insensitive
    assert not state.matches(0x0304, 0xC02F, True, "example.com")
    assert not state.matches(0x0303, 0xC030, True, "example.com")
    assert not state.matches(0x0303, 0xC02F, False, "example.com")  # RFC 7627, Section 5.3
    assert not state.matches(0x0303, 0xC02F, True, "other.example")
    assert not state.matches(0x0303, 0xC02F, True, None)
    no_sni = make_state(server_name=None)
    assert no_sni.matches(0x0303, 0xC02F, True, None)
    assert not no_sni.matches(0x0303, 0xC02F, True, "example.com")


# -- ServerSessionCache ---------------------------------------------------------------------------


def sid(i: int) -> bytes:
    return i.to_bytes(32, "big")


def test_cache_put_get_remove() -> None:
    cache = ServerSessionCache()
    state = make_state()
    cache.put(sid(1), state, T0)
    assert cache.get(sid(1), T0) == state
    assert cache.get(sid(2), T0) is None
    assert len(cache) == 1
    cache.remove(sid(1))
    cache.remove(sid(1))  # absent: no error
    assert cache.get(sid(1), T0) is None and len(cache) == 0


def test_cache_lru_bound() -> None:
    cache = ServerSessionCache(max_entries=3)
    for i in range(3):
        cache.put(sid(i), make_state(), T0)
    assert cache.get(sid(0), T0) is not None  # 0 is now the most recently used
    cache.put(sid(3), make_state(), T0)  # evicts 1, the least recently used
    assert len(cache) == 3
    assert sid(1) not in cache
    assert all(cache.get(sid(i), T0) is not None for i in (0, 2, 3))
    for i in range(10, 20):
        cache.put(sid(i), make_state(), T0)
    assert len(cache) == 3


def test_cache_expiry_by_cache_lifetime_and_state_lifetime() -> None:
    cache = ServerSessionCache(lifetime=100)
    cache.put(sid(1), make_state(lifetime=3600), T0)
    cache.put(sid(2), make_state(lifetime=50), T0)
    assert cache.get(sid(2), T0 + seconds(49)) is not None
    assert cache.get(sid(2), T0 + seconds(50)) is None  # the state's own lifetime
    assert sid(2) not in cache  # expired entries are removed
    assert cache.get(sid(1), T0 + seconds(99)) is not None
    assert cache.get(sid(1), T0 + seconds(100)) is None  # the cache's lifetime
    assert len(cache) == 0


def test_cache_purge_and_bad_arguments() -> None:
    cache = ServerSessionCache(lifetime=10)
    cache.put(sid(1), make_state(), T0)
    cache.put(sid(2), make_state(), T0 + seconds(5))
    assert cache.purge(T0 + seconds(12)) == 1 and len(cache) == 1
    with pytest.raises(ValueError):
        cache.put(b"", make_state(), T0)
    with pytest.raises(ValueError):
        cache.put(b"x" * 33, make_state(), T0)
    with pytest.raises(ConfigError):
        ServerSessionCache(max_entries=0)


def run_threads(work, count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(k: int) -> None:
        try:
            work(k)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_cache_is_safe_across_threads() -> None:
    cache = ServerSessionCache(max_entries=50)
    state = make_state()

    def work(k: int) -> None:
        base = 1000 * (k + 1)
        for i in range(300):
            cache.put(sid(base + i), state, T0)
            cache.get(sid(base + i // 2), T0)
            if i % 7 == 0:
                cache.remove(sid(base + i - 3))

    assert run_threads(work, 8) == []
    assert len(cache) <= 50


# -- TicketKeys ---------------------------------------------------------------------------------------


def test_ticket_round_trip_and_layout() -> None:
    keys = TicketKeys(seeded())
    state = make_state(version=0x0304, cipher_suite=0x1301, master_secret=b"\x5a" * 32, ticket_age_add=7)
    ticket = keys.seal(state, T0)
    assert len(ticket) == 16 + 12 + len(state.to_bytes()) + 16
    assert ticket[:16] == keys.key_names(T0)[0]
    assert b"\x5a" * 32 not in ticket  # the secret is encrypted
    assert keys.open(ticket, T0 + seconds(10)) == (state, T.ACCEPTED)
    assert not keys.needs_renewal(ticket, T0 + seconds(10))
    assert keys.seal(state, T0) != ticket  # a fresh nonce each time


def test_ticket_randomness_order_is_documented() -> None:
    drawn: list[int] = []

    def counting(n: int) -> bytes:
        drawn.append(n)
        return bytes(n)

    keys = TicketKeys(counting)
    keys.seal(make_state(), T0)
    keys.seal(make_state(), T0)
    assert drawn == [16, 32, 12, 12]


@pytest.mark.parametrize("where", ["key_name", "nonce", "ciphertext", "tag"])
def test_tampered_ticket_is_refused_with_a_reason(where: str) -> None:
    keys = TicketKeys(seeded())
    ticket = bytearray(keys.seal(make_state(), T0))
    index = {"key_name": 3, "nonce": 20, "ciphertext": 40, "tag": len(ticket) - 1}[where]
    ticket[index] ^= 0x01
    state, reason = keys.open(bytes(ticket), T0)
    assert state is None
    assert reason == (T.UNKNOWN_KEY if where == "key_name" else T.NOT_AUTHENTIC)


def test_truncated_and_extended_tickets_are_refused() -> None:
    keys = TicketKeys(seeded())
    ticket = keys.seal(make_state(), T0)
    for cut in range(len(ticket)):
        state, reason = keys.open(ticket[:cut], T0)
        assert state is None and reason in (T.MALFORMED, T.UNKNOWN_KEY, T.NOT_AUTHENTIC)
    assert keys.open(ticket + b"\x00", T0) == (None, T.NOT_AUTHENTIC)
    assert keys.open(b"", T0) == (None, T.MALFORMED)


def test_ticket_from_another_server_is_unknown() -> None:
    ticket = TicketKeys(seeded(1)).seal(make_state(), T0)
    assert TicketKeys(seeded(2)).open(ticket, T0) == (None, T.UNKNOWN_KEY)


def test_rotated_but_accepted_key_works_and_needs_renewal() -> None:
    keys = TicketKeys(seeded(), rotate_after=3600, accept_for=7200)
    state = make_state(lifetime=100_000)
    old = keys.seal(state, T0)
    keys.rotate(T0 + seconds(60))
    assert len(keys.key_names(T0 + seconds(60))) == 2
    assert keys.open(old, T0 + seconds(120)) == (state, T.ACCEPTED_OLD_KEY)
    assert keys.needs_renewal(old, T0 + seconds(120))
    fresh = keys.seal(state, T0 + seconds(120))
    assert fresh[:16] != old[:16]
    assert keys.open(fresh, T0 + seconds(120)) == (state, T.ACCEPTED)
    assert not keys.needs_renewal(fresh, T0 + seconds(120))


def test_retired_key_is_refused() -> None:
    keys = TicketKeys(seeded(), rotate_after=3600, accept_for=7200)
    state = make_state(lifetime=100_000)
    old = keys.seal(state, T0)
    keys.rotate(T0 + seconds(60))
    assert keys.open(old, T0 + seconds(60 + 7199))[0] == state
    assert keys.open(old, T0 + seconds(60 + 7200)) == (None, T.UNKNOWN_KEY)
    assert len(keys.key_names(T0 + seconds(60 + 7200))) == 1


def test_rotation_by_age() -> None:
    keys = TicketKeys(seeded(), rotate_after=100, accept_for=50)
    state = make_state(lifetime=100_000)
    first = keys.seal(state, T0)
    assert keys.seal(state, T0 + seconds(99))[:16] == first[:16]
    # At 100 s the first key stops being current: it still opens, the next seal makes a new key.
    assert keys.needs_renewal(first, T0 + seconds(100))
    assert keys.open(first, T0 + seconds(100)) == (state, T.ACCEPTED_OLD_KEY)
    second = keys.seal(state, T0 + seconds(100))
    assert second[:16] != first[:16]
    assert keys.open(first, T0 + seconds(149))[0] == state
    assert keys.open(first, T0 + seconds(150)) == (None, T.UNKNOWN_KEY)
    # A server idle for days: the old key is gone even though nothing sealed in between.
    assert keys.open(second, T0 + seconds(100_000)) == (None, T.UNKNOWN_KEY)


def test_expired_session_inside_a_valid_ticket_is_refused() -> None:
    keys = TicketKeys(seeded(), rotate_after=10_000, accept_for=10_000)
    ticket = keys.seal(make_state(lifetime=300), T0)
    assert keys.open(ticket, T0 + seconds(299))[0] is not None
    assert keys.open(ticket, T0 + seconds(300)) == (None, T.EXPIRED)


def test_no_keys_yet() -> None:
    keys = TicketKeys(seeded())
    assert keys.open(b"\x00" * 100, T0) == (None, T.UNKNOWN_KEY)
    assert keys.needs_renewal(b"\x00" * 100, T0)
    keys.rotate(T0)  # forcing a rotation with no key just creates one
    assert len(keys.key_names(T0)) == 1


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_garbage_tickets_never_raise(garbage: bytes) -> None:
    keys = TicketKeys(seeded())
    real = keys.seal(make_state(), T0)
    for candidate in (garbage, real[:16] + garbage, real[:28] + garbage):
        state, reason = keys.open(candidate, T0)
        assert state is None and reason in (T.MALFORMED, T.UNKNOWN_KEY, T.NOT_AUTHENTIC)
        assert isinstance(keys.needs_renewal(candidate, T0), bool)


def test_authentic_but_unreadable_state_is_malformed() -> None:
    keys = TicketKeys(seeded())
    real = keys.seal(make_state(), T0)
    key = next(iter(keys._keys.values()))  # a ticket sealed by a build with another state format
    nonce = b"\x07" * 12
    ticket = key.name + nonce + key.aead.encrypt(nonce, b"\x09not a state", key.name)
    assert keys.open(ticket, T0) == (None, T.MALFORMED)
    assert keys.open(real, T0)[0] is not None


def test_ticket_keys_are_safe_across_threads() -> None:
    keys = TicketKeys(seeded(), rotate_after=1, accept_for=3)
    state = make_state(lifetime=100_000)
    failures: list[str] = []

    def work(offset: int) -> None:
        for i in range(200):
            now = T0 + timedelta(milliseconds=10 * i + offset)
            ticket = keys.seal(state, now)
            got, reason = keys.open(ticket, now)
            if got != state:
                failures.append(reason)

    assert run_threads(work, 6) == []
    assert failures == []


# -- SessionStore and session files -------------------------------------------------------------------


def test_store_newest_first_and_expiry() -> None:
    store = SessionStore()
    key = session_key("Example.COM", 443)
    older = make_state(created=T0, lifetime=1000)
    newer = make_state(created=T0 + seconds(10), lifetime=100)
    store.put(key, older)
    store.put(key, newer)
    assert store.get(key, T0 + seconds(20)) == newer
    assert store.get(("example.com.", 443), T0 + seconds(20)) == newer  # the key is normalised
    assert store.get(key, T0 + seconds(110)) == older  # newer expired and is dropped
    assert len(store) == 1
    assert store.get(key, T0 + seconds(1000)) is None
    assert len(store) == 0
    assert store.get(session_key("example.com", 8443), T0) is None


def test_store_key_prefers_server_name() -> None:
    assert session_key("192.0.2.1", 443, "Example.com") == ("example.com", 443)
    assert session_key("192.0.2.1", 443) == ("192.0.2.1", 443)


def test_store_take_remove_and_bounds() -> None:
    store = SessionStore(max_servers=2, per_server=3)
    key = session_key("a.example", 443)
    tickets = [make_state(version=0x0304, master_secret=bytes([i]) * 32, ticket=bytes([i])) for i in range(5)]
    for state in tickets:
        store.put(key, state)
    assert len(store) == 3  # per_server bound keeps the newest three
    assert store.take(key, T0) == tickets[4]
    assert store.get(key, T0) == tickets[3]
    store.remove(key, tickets[3])
    assert store.get(key, T0) == tickets[2]
    store.put(key, tickets[2])  # the same state again is not duplicated
    assert len(store) == 1
    store.put(session_key("b.example", 443), make_state())
    store.put(session_key("c.example", 443), make_state())  # evicts a.example, the least recently used
    assert store.get(key, T0) is None
    store.remove(session_key("b.example", 443))
    assert len(store) == 1


def test_save_and_load_session_file(tmp_path) -> None:
    state = make_state(ticket=b"opaque ticket", peer_certificates=(b"der",))
    path = tmp_path / "session.pem"
    save_session(path, state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN GLASSTLS SESSION-----\n")
    assert load_session(path) == state
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_save_over_a_world_readable_file_makes_it_private(tmp_path) -> None:
    path = tmp_path / "session.pem"
    path.write_text("old")
    path.chmod(0o644)
    save_session(str(path), make_state())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_session(str(path)) == make_state()


def test_load_session_errors_are_config_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_session(tmp_path / "missing.pem")
    bad = tmp_path / "bad.pem"
    bad.write_text("hello\n")
    with pytest.raises(ConfigError, match="not a usable glasstls session"):
        load_session(bad)
    truncated = tmp_path / "truncated.pem"
    pem = make_state().to_pem().splitlines()
    truncated.write_text("\n".join([pem[0], pem[1][:40], pem[-1]]) + "\n")
    with pytest.raises(ConfigError, match="not a usable glasstls session"):
        load_session(truncated)
    with pytest.raises(ConfigError, match="cannot write"):
        save_session(tmp_path / "no-such-dir" / "s.pem", make_state())


def test_replace_keeps_state_frozen() -> None:
    state = make_state()
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.lifetime = 5  # type: ignore[misc]
    assert dataclasses.replace(state, lifetime=5).lifetime == 5


def test_a_keeper_takes_back_its_tls12_session_when_a_fatal_alert_ends_the_connection() -> None:
    """RFC 5246, Section 7.2: the session a connection kept (SessionKeeper.keep) leaves the store if the
    connection then ends with a fatal alert, sent or received (a ConnectionClosed with an error); a clean
    close leaves it; TLS 1.3 sessions stay (RFC 8446 has no such rule), and so do other connections'."""
    from glasstls.enums import AlertDescription
    from glasstls.errors import AlertError
    from glasstls.events import ConnectionClosed

    key = ("example.com", 443)
    fatal = ConnectionClosed(AlertError(AlertDescription.bad_record_mac, "forged"), by_peer=False)
    for ending, stays in ((fatal, False), (ConnectionClosed(None, by_peer=True), True)):
        store, seen = SessionStore(), []
        other = make_state(session_id=b"\x02" * 32, created=T0 - seconds(10))
        store.put(key, other)  # another connection's session
        keeper = store.keeping_tickets(key, seen.append)
        mine = make_state()
        keeper.keep(mine)
        keeper(ending)
        assert seen == [ending]  # the application's on_event still hears it
        assert store.offer(key, T0) == (mine if stays else other)  # the newest left: mine, if it stayed
        assert len(store) == (2 if stays else 1)
    store = SessionStore()
    keeper = store.keeping_tickets(key, None)
    tls13 = make_state(version=0x0304, master_secret=bytes(32), ticket=b"t")
    keeper.keep(tls13)
    keeper(fatal)
    assert len(store) == 1
