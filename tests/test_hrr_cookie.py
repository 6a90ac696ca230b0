"""The stateless server's HelloRetryRequest cookie (RFC 8446, Section 4.2.2): sealed, bound, short-lived."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from glasstls import NamedGroup
from glasstls.enums import ExtensionType as E
from glasstls.errors import ConfigError
from glasstls.session.cookie import EXPIRED, MALFORMED, NOT_AUTHENTIC, CookieContents, CookieSealer
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import Handshake, HelloRetryRequest
from pairs import make_pair, once

T0 = datetime(2026, 12, 1, 12, 0, 0, 123000, tzinfo=UTC)
CONTENTS = CookieContents(ch1_hash=bytes(range(32)), cipher_suite=0x1301, group=0x11EC, issued=T0)


def test_a_cookie_opens_to_what_was_sealed() -> None:
    sealer = CookieSealer(os.urandom)
    cookie = sealer.seal(CONTENTS)
    assert sealer.open(cookie, T0 + timedelta(seconds=1)) == (CONTENTS, "")
    assert CONTENTS.ch1_hash not in cookie  # sealed, not merely signed


def test_a_cookie_from_another_server_or_altered_does_not_open() -> None:
    cookie = CookieSealer(os.urandom).seal(CONTENTS)
    assert CookieSealer(os.urandom).open(cookie, T0) == (None, NOT_AUTHENTIC)
    sealer = CookieSealer(os.urandom, key=b"k" * 32)
    good = sealer.seal(CONTENTS)
    altered = good[:-1] + bytes([good[-1] ^ 1])
    assert sealer.open(altered, T0) == (None, NOT_AUTHENTIC)
    for bad in (b"", b"\x01", b"\x02" + good[1:], good[:20]):
        assert sealer.open(bad, T0) == (None, MALFORMED)


def test_a_cookie_expires() -> None:
    sealer = CookieSealer(os.urandom, lifetime=60)
    cookie = sealer.seal(CONTENTS)
    assert sealer.open(cookie, T0 + timedelta(seconds=59))[0] == CONTENTS
    assert sealer.open(cookie, T0 + timedelta(seconds=60)) == (None, EXPIRED)
    assert sealer.open(cookie, T0 - timedelta(seconds=1)) == (None, EXPIRED)  # issued "in the future"


def test_bad_keys_and_lifetimes_are_refused() -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        CookieSealer(os.urandom, key=b"short")
    with pytest.raises(ConfigError, match="lifetime"):
        CookieSealer(os.urandom, lifetime=0)


def test_the_client_echoes_a_cookie_it_never_offered() -> None:
    """RFC 8446, Section 4.2.2: the cookie is the one extension a HelloRetryRequest may carry
    unasked; the second ClientHello carries it back unchanged, right after the new key_share."""
    cookie = b"opaque server state \x00\x01"

    def add_cookie(msg: Handshake) -> bytes:
        assert isinstance(msg, HelloRetryRequest)
        return replace(msg, extensions=(*msg.extensions, Extension.make(E.cookie, cookie, X.HRR))).encode()

    pair = make_pair(
        client_kw={"key_share_groups": (NamedGroup.x25519,)},  # the server prefers the hybrid: a retry
        server_alter=once(HelloRetryRequest, add_cookie),
    )
    pair.to_server()
    pair.to_client()
    second = pair.client.offered_hello
    echoed = second.ext(E.cookie)
    assert echoed is not None and echoed.value == cookie
    names = [e.type for e in second.extensions]
    assert names.index(E.cookie) == names.index(E.key_share) + 1
    assert pair.client.error is None
