"""A client makes a session of every NewSessionTicket (RFC 8446, Section 4.6.1), with the server's
chain in it (issue 15). SessionState checks the chain with one loop over it: the chain is made a
tuple of bytes exactly when it was not one, and refused for exactly the lengths, and with the
reasons, of the former checks over list, map, min, max and sum, at every bound of ``opaque
peer_certificates<0..2^24-1>`` of ``opaque DER<1..2^24-1>`` (state.py's module doc). And
SessionState.tls13 makes the client's session with only the checks that can fail: it must
make the constructor's state, or raise its error, for every field a client can pass, and for every
NewSessionTicket the decoder reads of each cut and byte change of real ones."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls.crypto.keyschedule13 import resumption_psk
from glasstls.crypto.suites import TLS13_SUITES, Suite13
from glasstls.enums import CipherSuite, ExtensionType
from glasstls.errors import AlertError, DecodeError
from glasstls.handshake.psk13 import SessionBasis, session_from_ticket
from glasstls.session.psk import MAX_TICKET_LIFETIME
from glasstls.session.state import TLS13, SessionState
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import NewSessionTicket, decode_message
from test_fast_server13_tickets import same_as_constructed

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


# -- SessionState.tls13: the client's session of a NewSessionTicket, checked only where it can fail

U32_MAX = (1 << 32) - 1
NAMES = [None, "", "a", "localhost", "x" * 65535, "x" * 65536, "é" * 32768]
ALPNS = [None, "", "h2", "é" * 127, "é" * 128, "p" * 255, "p" * 256]
CREATED = [
    NOW,
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 12, 6, 9, 0, tzinfo=timezone(timedelta(hours=2))),
    datetime(1970, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
    datetime(2026, 12, 6),  # naive
]
RECEIVED_CHAINS: list[Any] = [
    (),
    (b"leaf",),
    (b"leaf", b"issuer"),
    (b"",),
    [b"leaf"],
    (bytearray(b"leaf"),),
    (Der(b"x"),),
]


def test_every_field_a_client_passes_makes_the_constructors_state() -> None:
    """Each TLS 1.3 suite with its PSK, the names, protocols, clocks and chains above (the ones
    the checks refuse too), and the bounds of what the NewSessionTicket decoder reads."""
    for suite in TLS13_SUITES.values():
        psk = bytes(range(suite.hash_len))
        for name, alpn, created, chain in itertools.product(NAMES, ALPNS, CREATED, RECEIVED_CHAINS):
            same_as_constructed(suite.suite, psk, name, alpn, created, 7200, b"t", 0x12345678, b"", 0, chain)
        tickets, nonces = (b"t", b"T" * 65535), (b"", b"n" * 255)
        for ticket, age_add, nonce, early in itertools.product(tickets, (0, U32_MAX), nonces, (0, U32_MAX)):
            for lifetime in (1, MAX_TICKET_LIFETIME):
                same_as_constructed(
                    suite.suite, psk, "localhost", "h2", NOW, lifetime, ticket, age_add, nonce, early, ()
                )


class _Clock:
    """What session_from_ticket asks of a connection's context: the time, and a trace line."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self.lines: list[tuple[str, bool, str]] = []

    def now(self) -> datetime:
        return self._now

    def verified(self, subject: str, ok: bool, detail: str) -> None:
        self.lines.append((subject, ok, detail))


def _careful_session(ctx: _Clock, suite: Suite13, secret: bytes, basis: SessionBasis, nst: NewSessionTicket) -> Any:
    """session_from_ticket as it was: the lifetime-0 discard, then the checked constructor."""
    if nst.ticket_lifetime == 0:
        ctx.verified("session ticket", False, "lifetime 0: discarded at once (RFC 8446, Section 4.6.1)")
        return None
    early = next((e for e in nst.extensions if e.type == ExtensionType.early_data), None)
    return SessionState(
        TLS13,
        suite.suite,
        resumption_psk(suite, secret, nst.ticket_nonce),
        False,
        basis.server_name,
        basis.alpn,
        ctx.now(),
        min(nst.ticket_lifetime, MAX_TICKET_LIFETIME),
        b"",
        nst.ticket,
        nst.ticket_age_add,
        nst.ticket_nonce,
        early.value if early is not None else 0,
        basis.peer_certificates,
    )


def _ticket_outcome(make: Callable[..., Any], basis: SessionBasis, nst: NewSessionTicket) -> object:
    ctx = _Clock(NOW)
    suite = TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
    try:
        session = make(ctx, suite, bytes(range(32)), basis, nst)
    except ValueError as exc:
        return f"ValueError: {exc}", ctx.lines
    if session is None:
        return None, ctx.lines
    return vars(session), [type(v) for v in vars(session).values()], ctx.lines


# NewSessionTickets as servers send them: empty and long nonces and tickets, with early_data.
TICKETS = [
    NewSessionTicket(7200, 0x01020304, bytes(8), b"T" * 40, ()),
    NewSessionTicket(1, 0, b"", b"t", (Extension.make(ExtensionType.early_data, 16384, X.NST),)),
    NewSessionTicket(U32_MAX, U32_MAX, b"n" * 33, b"x" * 300, ()),
]
BASES = [
    SessionBasis("localhost", "h2", (b"leaf", b"issuer")),
    SessionBasis(None, None, ()),
    SessionBasis("", "é" * 128, (b"",)),  # refused by the checks
]


def test_every_cut_and_byte_change_of_a_new_session_ticket_makes_the_careful_session() -> None:
    """Every NewSessionTicket the decoder reads of each truncation and byte change of real ones
    makes, through session_from_ticket and SessionState.tls13, the session the constructor made."""
    for nst, basis in itertools.product(TICKETS, BASES):
        raw = nst.encode()
        for variant in byte_variants(raw[4:]):
            message = raw[:1] + len(variant).to_bytes(3, "big") + variant
            try:
                decoded = decode_message(message)
            except (DecodeError, AlertError):
                continue
            assert isinstance(decoded, NewSessionTicket)
            fast = _ticket_outcome(session_from_ticket, basis, decoded)
            assert fast == _ticket_outcome(_careful_session, basis, decoded)
