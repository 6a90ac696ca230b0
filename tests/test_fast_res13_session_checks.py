"""SessionState checks the peer's chain with one loop over it (issue 15: a client makes a session
of every NewSessionTicket, RFC 8446, Section 4.6.1, with the server's chain in it): the chain is
made a tuple of bytes exactly when it was not one, and refused for exactly the lengths, and with
the reasons, of the former checks over list, map, min, max and sum, at every bound of
``opaque peer_certificates<0..2^24-1>`` of ``opaque DER<1..2^24-1>`` (state.py's module doc)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from glasstls.session.state import TLS13, SessionState

NOW = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)
LIMIT = 1 << 24


class Der(bytes):
    """A bytes subclass: not bytes itself, so made bytes."""


def _former_normal(certs: Any) -> bool:
    """Whether the former check left ``certs`` as given."""
    return type(certs) is tuple and (not certs or set(map(type, certs)) == {bytes})


def _former_problem(certs: tuple[bytes, ...]) -> str | None:
    """The former length checks, word for word."""
    if not certs:
        return None
    lengths = list(map(len, certs))
    if min(lengths) < 1 or max(lengths) >= 1 << 24:
        return "bad peer certificate length"
    if sum(lengths) + 3 * len(lengths) >= 1 << 24:
        return "peer certificates too long"
    return None


def _state(certs: Any) -> SessionState:
    return SessionState(TLS13, 0x1301, bytes(32), False, "a", None, NOW, 60, b"", b"t", 1, b"n", 0, certs)


def _outcome(certs: Any) -> object:
    try:
        state = _state(certs)
    except ValueError as exc:
        return str(exc)
    return state.peer_certificates, state.peer_certificates is certs


def _expected(certs: Any) -> object:
    normal = _former_normal(certs)
    made = certs if normal else tuple(bytes(c) for c in certs)
    problem = _former_problem(made)
    if problem is not None:
        return f"invalid session state: {problem}"
    return made, normal


# Certificates of the lengths at the bounds, each made once (the longest are 16 MiB).
SIZES = (0, 1, 2, LIMIT // 2 - 3, LIMIT // 2 - 2, LIMIT - 7, LIMIT - 6, LIMIT - 4, LIMIT - 3, LIMIT - 1, LIMIT)
BLOBS = {size: bytes(size) for size in SIZES}


def _chains() -> list[tuple[int, ...]]:
    """Chains of up to three of those lengths whose whole length is near a bound or small."""
    chains: list[tuple[int, ...]] = [()]
    for n in (1, 2, 3):
        for sizes in itertools.product(SIZES, repeat=n):
            if sum(sizes) <= 2 * LIMIT:
                chains.append(sizes)
    return chains


@pytest.mark.parametrize("sizes", _chains(), ids=lambda sizes: "-".join(map(str, sizes)) or "empty")
def test_every_chain_length_at_the_bounds_is_refused_as_before(sizes: tuple[int, ...]) -> None:
    certs = tuple(BLOBS[size] for size in sizes)
    assert _outcome(certs) == _expected(certs)


KINDS: dict[str, Callable[[bytes], Any]] = {
    "bytes": bytes,
    "bytearray": bytearray,
    "memoryview": lambda data: memoryview(bytes(data)),
    "subclass": Der,
}


@pytest.mark.parametrize("container", ["tuple", "list"])
@pytest.mark.parametrize("kinds", list(itertools.product(KINDS, repeat=2)), ids="-".join)
def test_a_chain_of_other_types_is_made_a_tuple_of_bytes_as_before(container: str, kinds: tuple[str, str]) -> None:
    items = [KINDS[kind](data) for kind, data in zip(kinds, (b"leaf", b"issuer"), strict=True)]
    certs = tuple(items) if container == "tuple" else items
    got, expected = _outcome(certs), _expected(certs)
    assert got == expected
    assert isinstance(got, tuple) and all(type(c) is bytes for c in got[0])


def test_an_empty_chain_and_one_of_an_empty_certificate() -> None:
    for certs in ((), [], (b"",), [b""], (b"x", b"")):
        assert _outcome(certs) == _expected(certs)
