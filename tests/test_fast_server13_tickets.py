"""A TLS 1.3 server makes the session it seals into each NewSessionTicket without the
constructor's checks when they cannot fail (SessionState.tls13; a ticket per resumption,
issue 15): for every field a server can pass, the state must be the constructor's, the same
dict of the same types, and a clock or a client chain the checks are for must get them, and
their errors, as before. And SessionState.to_bytes, which packs several fields in one run,
must encode every state as the module doc's layout does, field by field."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import ExtensionType as E
from glasstls.session.state import TLS13, SessionState
from glasstls.wire import extensions as X
from test_session import states

U32_MAX = (1 << 32) - 1
# The longest host name a ClientHello's server_name can carry: the list<1..2^16-1> holds a
# type byte and a two-byte length before it (RFC 6066, Section 3).
LONGEST_NAME = 65532
NAMES = [None, "a", "example.com", "x" * LONGEST_NAME]
ALPNS = [None, "h", "h2", "é" * 127, "p" * 255]
CREATED = [
    datetime(2026, 12, 6, 4, 37, 2, 123456, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),  # the earliest the encoding holds
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # refused by the checks
    datetime(2026, 12, 6, 6, 37, tzinfo=timezone(timedelta(hours=2))),  # normalized to UTC
    datetime(1970, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),  # before 1970 in UTC: refused
    datetime(2026, 12, 6),  # naive: refused
]
CHAINS: list[tuple[bytes, ...]] = [(), (b"leaf",), (b"leaf", b"intermediate"), (b"",)]


def outcome(make: Callable[..., SessionState], *fields: Any) -> object:
    """What ``make(*fields)`` gives: its ValueError, or the state's type, fields and their types."""
    try:
        state = make(*fields)
    except ValueError as exc:
        return f"ValueError: {exc}"
    values = vars(state)
    assert list(values) == [f.name for f in dataclasses.fields(SessionState)]
    return type(state), values, [type(v) for v in values.values()]


def constructed13(
    suite: int, psk: bytes, name: Any, alpn: Any, created: datetime, lifetime: int, ticket: bytes | None, *rest: Any
) -> SessionState:
    """What psk13 made before SessionState.tls13: the constructor, with every check; ``rest``: the
    ticket_age_add, nonce, max_early_data and chain."""
    age_add, nonce, early, chain = rest
    return SessionState(
        TLS13, suite, psk, False, name, alpn, created, lifetime, b"", ticket, age_add, nonce, early, chain
    )


def same_as_constructed(*fields: Any) -> None:
    """SessionState.tls13 makes of ``fields`` what the constructor makes, or raises its error."""
    fast = outcome(SessionState.tls13, *fields)
    assert fast == outcome(constructed13, *fields)
    if not isinstance(fast, str):
        state = SessionState.tls13(*fields)
        assert state == constructed13(*fields)
        assert state.to_bytes() == constructed13(*fields).to_bytes()
        assert SessionState.from_bytes(state.to_bytes()) == state


def _same(suite: int, psk: bytes, name: str | None, alpn: str | None, created: datetime, *rest: Any) -> None:
    """same_as_constructed for the fields a server passes: no ticket (the client's to keep)."""
    lifetime, *after_ticket = rest
    same_as_constructed(suite, psk, name, alpn, created, lifetime, None, *after_ticket)


def test_every_field_a_server_passes_makes_the_constructors_state() -> None:
    """Each TLS 1.3 suite with its PSK's length, the names, protocols, clocks and chains above,
    the bounds of the integers, the nonces of the first and the last ticket."""
    for suite in TLS13_SUITES.values():
        psk = bytes(range(suite.hash_len))
        for name, alpn, created, chain in itertools.product(NAMES, ALPNS, CREATED, CHAINS):
            _same(suite.suite, psk, name, alpn, created, 7200, 0x12345678, bytes(8), 0, chain)
        nonces = (bytes(8), (255).to_bytes(8, "big"))
        for age_add, nonce, early in itertools.product((0, U32_MAX), nonces, (0, U32_MAX)):
            _same(suite.suite, psk, "example.com", "h2", CREATED[0], 7200, age_add, nonce, early, ())


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(TLS13_SUITES)),
    st.none() | st.text(st.characters(max_codepoint=127), min_size=1, max_size=300),
    st.none() | st.text(min_size=1, max_size=60),
    st.datetimes(min_value=datetime(1969, 12, 31), timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    st.integers(0, U32_MAX),
    st.integers(0, 7),
    st.integers(0, U32_MAX),
    st.lists(st.binary(min_size=1, max_size=40), max_size=3).map(tuple),
)
def test_random_fields_make_the_constructors_state(
    suite_id: int,
    name: str | None,
    alpn: str | None,
    created: datetime,
    age_add: int,
    counter: int,
    early: int,
    chain: tuple[bytes, ...],
) -> None:
    suite = TLS13_SUITES[suite_id]
    psk = bytes([counter]) * suite.hash_len
    _same(suite.suite, psk, name, alpn, created, 7200, age_add, counter.to_bytes(8, "big"), early, chain)


def test_the_longest_name_a_client_can_send_is_what_the_server_name_decoder_reads() -> None:
    """The longest name a server passes is within the state's bounds: the decoder's names are."""
    entry = b"\x00" + LONGEST_NAME.to_bytes(2, "big") + b"x" * LONGEST_NAME
    data = len(entry).to_bytes(2, "big") + entry
    assert len(entry) == (1 << 16) - 1  # the list's bound (RFC 6066, Section 3)
    name = X.decode_extension(E.server_name, data, X.CH)
    assert name == NAMES[-1]


def _field_by_field(state: SessionState) -> bytes:
    """The encoding of state.py's module doc, one field at a time."""

    def vector(data: bytes, size: int) -> bytes:
        return len(data).to_bytes(size, "big") + data

    flags = state.extended_master_secret | (state.server_name is not None) << 1
    flags |= (state.alpn is not None) << 2 | (state.ticket is not None) << 3 | state.encrypt_then_mac << 4
    micros = (state.created - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    out = b"\x01" + state.version.to_bytes(2, "big") + state.cipher_suite.to_bytes(2, "big")
    out += vector(state.master_secret, 1) + bytes([flags]) + micros.to_bytes(8, "big")
    out += state.lifetime.to_bytes(4, "big") + vector(state.session_id, 1)
    if state.server_name is not None:
        out += vector(state.server_name.encode(), 2)
    if state.alpn is not None:
        out += vector(state.alpn.encode(), 1)
    if state.ticket is not None:
        out += vector(state.ticket, 2)
    out += state.ticket_age_add.to_bytes(4, "big") + vector(state.ticket_nonce, 1)
    out += state.max_early_data.to_bytes(4, "big")
    return out + vector(b"".join(vector(der, 3) for der in state.peer_certificates), 3)


@settings(max_examples=500, deadline=None)
@given(states())
def test_to_bytes_encodes_the_documented_layout(state: SessionState) -> None:
    assert state.to_bytes() == _field_by_field(state)
