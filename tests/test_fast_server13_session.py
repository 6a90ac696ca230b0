"""SessionState.from_bytes reads a well-formed encoding in one pass (a server opens a ticket per
TLS 1.3 resumption, issue 15) and hands anything else to the field-by-field reader, which says
what is wrong: the fast reader must read exactly what the careful one reads, and refuse what
it refuses."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.errors import DecodeError
from glasstls.session import state as S
from glasstls.session.state import SessionState
from test_session import states


def encodings() -> st.SearchStrategy[bytes]:
    """Encodings of random states (test_session.py's strategy)."""
    return states().map(SessionState.to_bytes)


def _careful_state(data: bytes) -> SessionState:
    """What from_bytes made before its unchecked construction: the careful reader's fields, then
    SessionState's checks."""
    fields = S._checked_fields(data)
    version, suite, secret, flags, micros, lifetime, session_id, name, alpn, *rest = fields
    try:
        created = S._EPOCH + micros * S._MICROSECOND
    except OverflowError:
        raise DecodeError(f"session state: created timestamp {micros} is out of range") from None
    try:
        etm = bool(flags & 0x10)
        return SessionState(
            version, suite, secret, bool(flags & 1), name, alpn, created, lifetime, session_id, *rest, etm
        )
    except ValueError as exc:
        raise DecodeError(f"session state: {exc}") from None


def _outcome(read: Callable[[bytes], SessionState], data: bytes) -> object:
    try:
        state = read(data)
    except DecodeError as exc:
        return str(exc)
    values = vars(state)
    assert list(values) == [f.name for f in dataclasses.fields(SessionState)]
    assert state.created.tzinfo is UTC and all(type(c) is bytes for c in state.peer_certificates)
    return values, [type(v) for v in values.values()]


def _same_reading(data: bytes) -> None:
    """The fast reader gives the dict of the careful construction's state, of the same types, or
    None exactly where the careful reader or construction refuses; and from_bytes makes the state
    (or raises the error) the careful construction does."""
    assert _outcome(SessionState.from_bytes, data) == _outcome(_careful_state, data)
    fast = S._well_formed_state(data)
    try:
        careful = _careful_state(data)
    except DecodeError:
        assert fast is None
        return
    assert fast is not None
    assert fast == vars(careful)
    assert [type(v) for v in fast.values()] == [type(v) for v in vars(careful).values()]


@settings(max_examples=300)
@given(encodings())
def test_a_well_formed_encoding_is_read_in_one_pass(data: bytes) -> None:
    assert S._well_formed_state(data) == vars(_careful_state(data))


@settings(max_examples=300)
@given(encodings(), st.data())
def test_every_cut_and_change_reads_as_the_careful_reader_does(data: bytes, draw: st.DataObject) -> None:
    for cut in range(len(data)):
        _same_reading(data[:cut])
    _same_reading(data + b"\x00")
    at = draw.draw(st.integers(0, len(data) - 1))
    for value in (0, 1, 0x7F, 0x80, 0xFF, data[at] ^ 1):
        _same_reading(data[:at] + bytes([value]) + data[at + 1 :])


@settings(max_examples=300)
@given(st.binary(max_size=120))
def test_garbage_reads_as_the_careful_reader_does(data: bytes) -> None:
    _same_reading(b"\x01" + data)


def test_a_secret_of_the_wrong_length_or_version_is_refused_as_before() -> None:
    """The one check the encoding's bounds do not make: a secret's length for its version."""
    created = datetime(2025, 1, 1, tzinfo=UTC)
    base = SessionState(0x0304, 0x1301, b"k" * 32, False, "ab", "h2", created, 60).to_bytes()
    assert base[5] == 32  # the secret's length byte
    for version in (b"\x03\x03", b"\x03\x04", b"\x03\x02", b"\xfe\xfd"):
        for n in (1, 31, 32, 33, 47, 48, 49, 255):
            data = base[:1] + version + base[3:5] + bytes([n]) + b"s" * n + base[6 + 32 :]
            _same_reading(data)


def test_a_created_out_of_range_is_left_to_the_careful_reader() -> None:
    state = SessionState(0x0304, 0x1301, b"k" * 32, False, "ab", "h2", datetime(2025, 1, 1, tzinfo=UTC), 60)
    data = state.to_bytes()
    at = S._HEAD.size + 32 + 1  # created, after the secret and the flags
    assert int.from_bytes(data[at : at + 8], "big") == (state.created - S._EPOCH) // S._MICROSECOND
    for micros in (0, 1, 253402300799999999, 253402300800000000, 1 << 62, (1 << 64) - 1):
        changed = data[:at] + micros.to_bytes(8, "big") + data[at + 8 :]
        _same_reading(changed)
    assert S._well_formed_state(data[:at] + b"\xff" * 8 + data[at + 8 :]) is None


def test_a_bad_utf8_name_is_left_to_the_careful_reader() -> None:
    state = SessionState(0x0304, 0x1301, b"k" * 32, False, "ab", "h2", datetime(2025, 1, 1, tzinfo=UTC), 60)
    data = state.to_bytes().replace(b"ab", b"\xff\xfe", 1)
    assert S._well_formed_state(data) is None
    try:
        SessionState.from_bytes(data)
    except DecodeError as exc:
        assert "server_name is not UTF-8" in str(exc)
    else:
        raise AssertionError("a server_name that is not UTF-8 decoded")


def test_an_empty_name_or_alpn_is_left_to_the_careful_reader() -> None:
    state = SessionState(0x0304, 0x1301, b"k" * 32, False, "ab", "h2", datetime(2025, 1, 1, tzinfo=UTC), 60)
    data = state.to_bytes()
    for vector, empty in ((b"\x00\x02ab", b"\x00\x00"), (b"\x02h2", b"\x00")):
        assert vector in data
        _same_reading(data.replace(vector, empty, 1))
        assert S._well_formed_state(data.replace(vector, empty, 1)) is None


def test_expired_is_now_at_or_past_expires() -> None:
    from datetime import timedelta

    created = datetime(2025, 1, 1, tzinfo=UTC)
    for lifetime in (0, 1, 7200, (1 << 32) - 1):
        state = SessionState(0x0304, 0x1301, b"k" * 32, False, None, None, created, lifetime)
        for offset in (-1, 0, 1):
            now = created + timedelta(seconds=lifetime, microseconds=offset)
            assert state.expired(now) == (lifetime <= 0 or now >= state.expires)


def test_ticket_keys_forget_each_key_when_its_acceptance_ends() -> None:
    """TicketKeys looks for keys to forget only once the earliest accept_until has come: the
    keys it holds at each moment are the ones whose accept_until is still ahead."""
    from datetime import timedelta
    from random import Random

    from glasstls.session.tickets import TicketKeys

    keys = TicketKeys(Random(7).randbytes, rotate_after=10, accept_for=25)
    state = SessionState(0x0304, 0x1301, b"k" * 32, False, None, None, datetime(2025, 1, 1, tzinfo=UTC), 3600)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    sealed: dict[bytes, datetime] = {}  # key name -> when it stops opening tickets
    for second in range(0, 120, 3):
        now = start + timedelta(seconds=second)
        if second in (21, 57):
            keys.rotate(now)
        ticket = keys.seal(state, now)
        for name, key in keys._keys.items():
            sealed[name] = key.accept_until
        assert keys.open(ticket, now)[0] == state
        assert keys.key_names(now) == [n for n, until in sealed.items() if now < until]


@settings(max_examples=200)
@given(states())
def test_a_state_is_made_alike_positionally_by_keyword_and_by_replace(state: SessionState) -> None:
    import dataclasses

    values = {f.name: getattr(state, f.name) for f in dataclasses.fields(SessionState)}
    for made in (SessionState(*values.values()), SessionState(**values), dataclasses.replace(state)):
        assert made == state and vars(made) == values and hash(made) == hash(state)
        assert SessionState.from_bytes(made.to_bytes()) == state


def test_the_constructor_still_normalizes_and_refuses() -> None:
    import dataclasses
    from datetime import timedelta, timezone

    import pytest

    plus_two = timezone(timedelta(hours=2))
    local = datetime(2025, 1, 1, 2, tzinfo=plus_two)
    state = SessionState(0x0304, 0x1301, b"k" * 32, False, None, None, local, 60, peer_certificates=[bytearray(b"c")])
    assert state.created == datetime(2025, 1, 1, tzinfo=UTC) and state.created.tzinfo is UTC
    assert state.peer_certificates == (b"c",) and type(state.peer_certificates[0]) is bytes
    with pytest.raises(ValueError, match="naive"):
        SessionState(0x0304, 0x1301, b"k" * 32, False, None, None, datetime(2025, 1, 1), 60)
    with pytest.raises(ValueError, match=r"invalid session state: a TLS 1\.3 resumption PSK has 32 or 48 bytes"):
        dataclasses.replace(state, master_secret=b"k")
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.lifetime = 1


@settings(max_examples=500)
@given(
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.integers(0, (1 << 32) - 1),
    st.timedeltas(min_value=-timedelta(days=20000), max_value=timedelta(days=60000)),
    st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]),
)
def test_expired_counts_whole_seconds_as_expires_does(
    created: datetime, lifetime: int, age: timedelta, zone: timezone
) -> None:
    """expired() compares the age's whole seconds with lifetime instead of building a timedelta:
    the same answer as now >= expires, for any age (negative too: the clock stepped back), a
    lifetime up to 2^32 - 1 seconds, and a clock in another zone."""
    state = SessionState(0x0304, 0x1301, b"k" * 32, False, None, None, created, lifetime)
    for now in (
        created + age,
        created + timedelta(seconds=lifetime) + age % timedelta(seconds=2) - timedelta(seconds=1),
    ):
        try:
            local = now.astimezone(zone)
        except OverflowError:
            continue
        assert state.expired(local) == (lifetime <= 0 or now >= state.expires)


def test_split_ticket_takes_bytes_as_they_are_and_other_buffers_as_before() -> None:
    from glasstls.session.tickets import MIN_TICKET_LEN, split_ticket

    ticket = bytes(range(MIN_TICKET_LEN + 5))
    parts = split_ticket(ticket)
    assert parts == (ticket[:16], ticket[16:28], ticket[28:])
    for other in (bytearray(ticket), memoryview(ticket)):
        assert split_ticket(other) == parts and all(type(p) is bytes for p in split_ticket(other) or ())
    for bad in ("x" * 60, None, 3.5, ticket[: MIN_TICKET_LEN - 1]):
        assert split_ticket(bad) is None  # type: ignore[arg-type]
