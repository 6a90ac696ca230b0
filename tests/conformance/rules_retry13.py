"""Rules of the second ClientHello, after a HelloRetryRequest (RFC 8446, 4.1.2, 4.1.4 and 4.2.10).

The "hrr" server prefers only secp384r1, so a first hello with an x25519 share alone
is answered with a HelloRetryRequest; the second carries a P-384 share.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hostile import (
    APPLICATION_DATA,
    EARLY_DATA,
    HANDSHAKE,
    KEY_SHARE,
    PADDING,
    PRE_SHARED_KEY,
    SECP384R1,
    X25519,
    Answer,
    Hello,
    exchange,
    hello13,
    key_share,
    p384_key,
    record,
    retry_exchange,
    vec,
)
from ruletable import SERVED, rule

from glasstls.enums import AlertDescription as A

RECORD_SIZE_LIMIT = 28  # RFC 8449, Section 4
UNKNOWN_EXTENSION = 0x5A5A


def _fake_psk() -> bytes:
    """A pre_shared_key offer the server cannot know (RFC 8446, Section 4.2.11): one identity, one binder."""
    identity = vec(2, os.urandom(32)) + bytes(4)
    return vec(2, identity) + vec(2, vec(1, os.urandom(32)))


def _with_early_data() -> Hello:
    """A first hello offering early data under a PSK the server does not know (it sends a HelloRetryRequest)."""
    return hello13(groups=(X25519, SECP384R1)).with_ext(EARLY_DATA).with_ext(PRE_SHARED_KEY, _fake_psk())


def _second(first: Hello) -> Hello:
    """The second hello as Section 4.1.2 allows it: a P-384 share, no early_data."""
    key, public = p384_key()
    return replace(first, key=key).replacing(KEY_SHARE, key_share((SECP384R1, public))).without(EARLY_DATA)


def _moved_psk_last(hello: Hello) -> Hello:
    """``hello`` with pre_shared_key back in last place (Section 4.2.11), where with_ext put another."""
    psk = [(t, d) for t, d in hello.extensions if t == PRE_SHARED_KEY]
    return replace(hello, extensions=[(t, d) for t, d in hello.extensions if t != PRE_SHARED_KEY] + psk)


def _retry_then(t: Any, first: Hello, second: Hello, *after: bytes) -> Answer:
    """``first``, early data, ``second``, then ``after`` once the server's flight is out."""
    early = record(APPLICATION_DATA, os.urandom(512))
    return exchange(t.port, first.records(), early, second.records(), *after, hellos=(first, second), pause=0.2)


@rule("hello-retry-early-data-skipped-then-completes", "RFC 8446 4.2.10", "1.3", SERVED, server="hrr")
def _(t: Any) -> Answer:
    first = _with_early_data()
    return _retry_then(t, first, _second(first))


@rule("hello-retry-early-data-inside-the-second-hello", "RFC 8446 5.1", "1.3", A.unexpected_message, server="hrr")
def _(t: Any) -> Answer:
    # Early data skipped after a HelloRetryRequest, but one of its records comes between two pieces of
    # the second hello: no record may come between a handshake message's pieces (BoGo's
    # SkipEarlyData-HRR-Interleaved-TLS13; OpenSSL answers unexpected_message too).
    first = _with_early_data()
    second = _second(first)
    message = second.message()
    early = record(APPLICATION_DATA, os.urandom(512))
    pieces = (record(HANDSHAKE, message[:16]), early, record(HANDSHAKE, message[16:]))
    return exchange(t.port, first.records(), early, b"".join(pieces), hellos=(first, second), pause=0.2)


@rule("hello-retry-undecryptable-record-after-second-hello", "RFC 8446 4.2.10", "1.3", A.bad_record_mac, server="hrr")
def _(t: Any) -> Answer:
    # The early data skipped after a HelloRetryRequest is what came before the second hello,
    # which offers none: a record the handshake keys do not open is no longer skipped.
    first = _with_early_data()
    return _retry_then(t, first, _second(first), record(APPLICATION_DATA, os.urandom(64)))


@rule(
    "hello-retry-undecryptable-record-after-second-hello-stateless",
    "RFC 8446 4.2.10",
    "1.3",
    A.bad_record_mac,
    server="stateless",
)
def _(t: Any) -> Answer:
    first = _with_early_data()
    early, garbage = record(APPLICATION_DATA, os.urandom(512)), record(APPLICATION_DATA, os.urandom(64))
    return retry_exchange(t.port, first, _second(first), between=early, after=garbage)


@rule("hello-retry-second-hello-offers-early-data", "RFC 8446 4.2.10", "1.3", A.illegal_parameter, server="hrr")
def _(t: Any) -> Answer:
    first = _with_early_data()
    second = _moved_psk_last(_second(first).with_ext(EARLY_DATA))
    return exchange(t.port, first.records(), second.records(), hellos=(first, second), pause=0.2)


@rule("hello-retry-second-hello-without-key-share", "RFC 8446 9.2", "1.3", A.missing_extension, server="hrr")
def _(t: Any) -> Answer:
    # supported_groups kept, key_share gone: Section 9.2 wants both or neither (BoGo's
    # SecondClientHelloMissingKeyShare; OpenSSL answers missing_extension too).
    first = hello13(groups=(X25519, SECP384R1))
    second = _second(first).without(KEY_SHARE)
    return exchange(t.port, first.records(), second.records(), hellos=(first, second), pause=0.2)


_STATELESS = {"server": "stateless"}


@rule("hello-retry-second-hello-without-key-share-stateless", "RFC 8446 9.2", "1.3", A.missing_extension, **_STATELESS)
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    return retry_exchange(t.port, first, _second(first).without(KEY_SHARE))


def _with_limit() -> Hello:
    return hello13(groups=(X25519, SECP384R1)).with_ext(RECORD_SIZE_LIMIT, (1 << 14 | 1).to_bytes(2, "big"))


def _reversed(hello: Hello) -> Hello:
    return replace(hello, extensions=list(reversed(hello.extensions)))


# Second hellos that change what RFC 8446, Section 4.1.2 does not let them change: (name, first
# hello, the change made to the allowed second hello). Each is refused by both servers, the one that
# kept the first hello and the stateless one that kept its fingerprint in the cookie.
_CHANGES: list[tuple[str, Callable[[], Hello], Callable[[Hello], Hello]]] = [
    ("changes-record-size-limit", _with_limit, lambda h: h.replacing(RECORD_SIZE_LIMIT, (1 << 14).to_bytes(2, "big"))),
    ("drops-an-extension", _with_limit, lambda h: h.without(RECORD_SIZE_LIMIT)),
    (
        "adds-an-extension",
        lambda: hello13(groups=(X25519, SECP384R1)),
        lambda h: h.with_ext(UNKNOWN_EXTENSION, b"\x00"),
    ),
    ("reorders-extensions", lambda: hello13(groups=(X25519, SECP384R1)), _reversed),
    (
        "changes-session-id",
        lambda: hello13(groups=(X25519, SECP384R1)),
        lambda h: replace(h, session_id=os.urandom(32)),
    ),
]


def _refused_change(first_hello: Callable[[], Hello], change: Callable[[Hello], Hello], stateless: bool) -> Any:
    def probe(t: Any) -> Answer:
        first = first_hello()
        second = change(_second(first))
        if stateless:  # (the cookie goes in as the client must put it)
            return retry_exchange(t.port, first, second)
        return exchange(t.port, first.records(), second.records(), hellos=(first, second), pause=0.2)

    return probe


for _name, _first, _change in _CHANGES:
    for _stateless in (False, True):
        rule(
            f"hello-retry-second-hello-{_name}" + ("-stateless" if _stateless else ""),
            "RFC 8446 4.1.2",
            "1.3",
            A.illegal_parameter,
            server="stateless" if _stateless else "hrr",
            openssl=SERVED,
        )(_refused_change(_first, _change, _stateless))


@rule("hello-retry-second-hello-changes-padding", "RFC 8446 4.1.2", "1.3", SERVED, server="hrr")
def _(t: Any) -> Answer:
    # Padding is one of the changes Section 4.1.2 allows, and the place of the key share.
    first = hello13(groups=(X25519, SECP384R1)).with_ext(PADDING, bytes(40))
    second = _second(first).replacing(PADDING, bytes(7))
    share = [e for e in second.extensions if e[0] == KEY_SHARE]
    second = replace(second, extensions=share + [e for e in second.extensions if e[0] != KEY_SHARE])
    return exchange(t.port, first.records(), second.records(), hellos=(first, second), pause=0.2)
