"""TicketKeys keeps its newest key at hand for _current instead of finding it again in the
ring per ticket sealed or opened (issue 15). Whatever the server does, at whatever times (the
clock may step back), the kept key must be the ring's last one, and what _current answers
what it answered from the ring itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.session import tickets as T
from glasstls.session.state import SessionState
from glasstls.session.tickets import TicketKeys

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATE = SessionState(0x0304, 0x1301, b"k" * 32, False, "example.com", None, T0, 100_000)
OPERATIONS = ["seal", "open", "rotate", "needs_renewal", "key_names"]


def _counter() -> T.Randomness:
    drawn = [0]

    def randomness(n: int) -> bytes:
        drawn[0] += 1
        return drawn[0].to_bytes(4, "big") * (n // 4)

    return randomness


def _as_the_ring_says(keys: TicketKeys, now: datetime) -> None:
    ring = list(keys._keys.values())
    assert keys._newest is (ring[-1] if ring else None)
    newest = ring[-1] if ring else None
    expected = None if newest is None or now >= newest.current_until else newest
    assert keys._current(now) is expected


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(0, 8),
    st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(-3, 12)), max_size=40),
)
def test_the_kept_newest_key_is_the_rings_last(
    rotate_after: int, accept_for: int, steps: list[tuple[str, int]]
) -> None:
    keys = TicketKeys(_counter(), rotate_after=rotate_after, accept_for=accept_for)
    now, sealed = T0, []
    _as_the_ring_says(keys, now)
    for operation, step in steps:
        now += timedelta(seconds=step)  # (a negative step: the clock stepped back)
        if operation == "seal":
            sealed.append(keys.seal(STATE, now))
        elif operation == "open":
            for ticket in sealed[-3:]:
                keys.open(ticket, now)
        elif operation == "rotate":
            keys.rotate(now)
        elif operation == "needs_renewal":
            for ticket in sealed[-3:]:
                keys.needs_renewal(ticket, now)
        else:
            keys.key_names(now)
        _as_the_ring_says(keys, now)


def test_a_key_retired_with_all_others_leaves_none_kept() -> None:
    keys = TicketKeys(_counter(), rotate_after=1, accept_for=0)
    ticket = keys.seal(STATE, T0)
    assert keys._newest is not None
    assert keys.open(ticket, T0 + timedelta(seconds=1)) == (None, T.UNKNOWN_KEY)
    assert keys._newest is None and keys._current(T0) is None
    assert keys.seal(STATE, T0 + timedelta(seconds=1))[:16] != ticket[:16]
    _as_the_ring_says(keys, T0 + timedelta(seconds=1))
