"""0-RTT anti-replay (RFC 8446, Section 8): the freshness window and the single-use memory."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from glasstls.errors import ConfigError
from glasstls.session.replay import DEFAULT_WINDOW, MemoryReplayGuard, fresh

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_fresh_accepts_ages_that_agree_within_the_window() -> None:
    now = T0 + timedelta(seconds=30)
    assert fresh(30_000, T0, now)
    assert fresh(30_000 - 9_999, T0, now)  # the client's clock lags by 9.999 s
    assert fresh(30_000 + 10_000, T0, now)  # exactly the window


def test_fresh_refuses_a_hello_from_outside_the_window() -> None:
    now = T0 + timedelta(minutes=5)
    assert not fresh(1_000, T0, now)  # a ClientHello recorded 5 minutes ago, replayed now
    assert not fresh(300_000 + 10_001, T0, now)  # a client age ahead of the server's
    assert fresh(1_000, T0, now, window=timedelta(minutes=5))


def test_fresh_needs_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fresh(0, T0.replace(tzinfo=None), T0)


def test_a_value_is_accepted_once_until_its_deadline() -> None:
    guard = MemoryReplayGuard()
    until = T0 + DEFAULT_WINDOW
    assert guard.first_use(b"binder-1", until, T0)
    assert not guard.first_use(b"binder-1", until, T0 + timedelta(seconds=1))
    assert guard.first_use(b"binder-2", until, T0)
    # Past the deadline the freshness check refuses the hello anyway; the slot may be reused.
    assert guard.first_use(b"binder-1", until + DEFAULT_WINDOW, until)


def test_a_full_guard_fails_closed_and_forgets_only_expired_values() -> None:
    guard = MemoryReplayGuard(max_entries=2)
    assert guard.first_use(b"a", T0 + timedelta(seconds=5), T0)
    assert guard.first_use(b"b", T0 + timedelta(seconds=50), T0)
    assert not guard.first_use(b"c", T0 + timedelta(seconds=50), T0 + timedelta(seconds=1))
    assert guard.refused_full == 1
    assert guard.first_use(b"c", T0 + timedelta(seconds=50), T0 + timedelta(seconds=6))  # "a" expired
    assert len(guard) == 2
    with pytest.raises(ConfigError, match="max_entries"):
        MemoryReplayGuard(max_entries=0)


def test_concurrent_first_uses_of_one_value_admit_exactly_one() -> None:
    guard = MemoryReplayGuard()
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait(timeout=10)
        results.append(guard.first_use(b"same", T0 + DEFAULT_WINDOW, T0))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(results) == [False] * 7 + [True]
