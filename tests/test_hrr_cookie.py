"""The stateless server's HelloRetryRequest cookie (RFC 8446, Section 4.2.2): sealed, bound, short-lived."""

from __future__ import annotations

import os
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from glasstls import NamedGroup
from glasstls.enums import AlertDescription
from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertError, ConfigError
from glasstls.handshake.second_hello import MAY_CHANGE, change_in_second_hello, fingerprint
from glasstls.handshake.server13 import ExpectCookieClientHello, ExpectSecondClientHello
from glasstls.observe import EventList, MessageTrace
from glasstls.session.cookie import (
    DEFAULT_LIFETIME,
    EXPIRED,
    MALFORMED,
    NOT_AUTHENTIC,
    CookieContents,
    CookieSealer,
)
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension, KeyShareEntry
from glasstls.wire.handshake import ClientHello, Handshake, HelloRetryRequest, decode_message
from pairs import Pair, TamperingClient, TamperingServer, connected_pair, make_pair, once

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
    for bad in (b"", b"\x02", b"\x01" + good[1:], good[:20]):  # (format 1: before hello_fingerprint)
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


# -- the stateless server (ServerConfig.stateless_hrr) ------------------------------------


def _stateless_pair(**kw: Any) -> Pair:
    """The client offers only an x25519 share; the server prefers the hybrid: a retry, with a cookie."""
    return make_pair(client_kw={"key_share_groups": (NamedGroup.x25519,)}, server_kw={"stateless_hrr": True}, **kw)


def _hrr_cookie(log: EventList) -> bytes:
    hrrs = [m for m in _messages(log.events) if isinstance(m, HelloRetryRequest)]
    assert len(hrrs) == 1
    cookie = hrrs[0].ext(E.cookie)
    assert cookie is not None
    value: bytes = cookie.value
    return value


def _messages(events: list[Any]) -> list[Any]:
    return [e.message for e in events if isinstance(e, MessageTrace)]


def _alert(conn: Any) -> AlertDescription:
    assert isinstance(conn.error, AlertError), conn.error
    description: AlertDescription = conn.error.description
    return description


def test_a_stateless_server_retries_with_a_cookie_and_completes() -> None:
    log = EventList()
    pair = _stateless_pair(client_observer=log)
    pair.to_server()
    pair.to_client()
    cookie = _hrr_cookie(log)
    assert len(cookie) > 32
    echoed = pair.client.offered_hello.ext(E.cookie)
    assert echoed is not None and echoed.value == cookie
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
    assert pair.server.parameters is not None and pair.server.parameters.group == NamedGroup.X25519MLKEM768.name


def test_after_its_retry_a_stateless_server_holds_nothing_of_the_first_client_hello() -> None:
    pair = _stateless_pair()
    pair.to_server()
    state = pair.server._state
    assert isinstance(state, ExpectCookieClientHello)
    assert fields(state) == ()  # no ClientHello, no decisions, no transcript
    assert state.ccs_allowed  # a middlebox-compatible client may send its CCS first (RFC 8446, D.4)


def test_without_stateless_hrr_the_retry_carries_no_cookie() -> None:
    pair = make_pair(client_kw={"key_share_groups": (NamedGroup.x25519,)})
    pair.to_server()
    assert isinstance(pair.server._state, ExpectSecondClientHello)
    pair.to_client()
    assert pair.client.offered_hello.ext(E.cookie) is None
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete


def _with_cookie(msg: Handshake, cookie: bytes) -> bytes:
    assert isinstance(msg, ClientHello)
    exts = tuple(Extension.make(E.cookie, cookie, X.CH) if e.type == E.cookie else e for e in msg.extensions)
    return replace(msg, extensions=exts).encode()


def test_an_altered_cookie_is_illegal_parameter() -> None:
    """RFC 8446, Section 4.2.2: a cookie this server did not issue (it does not authenticate)."""

    def alter(msg: Handshake) -> bytes:
        cookie = msg.ext(E.cookie).value  # type: ignore[attr-defined]
        return _with_cookie(msg, cookie[:-1] + bytes([cookie[-1] ^ 1]))

    pair = _stateless_pair(client_alter=once(ClientHello, alter, nth=1))
    pair.handshake()
    assert _alert(pair.server) == AlertDescription.illegal_parameter
    assert NOT_AUTHENTIC in str(pair.server.error)


def test_a_cookie_from_another_server_is_illegal_parameter() -> None:
    other = CookieSealer(os.urandom).seal(CONTENTS)
    pair = _stateless_pair(client_alter=once(ClientHello, lambda m: _with_cookie(m, other), nth=1))
    pair.handshake()
    assert _alert(pair.server) == AlertDescription.illegal_parameter
    assert NOT_AUTHENTIC in str(pair.server.error)


def test_a_second_client_hello_without_the_cookie_is_illegal_parameter() -> None:
    def drop(msg: Handshake) -> bytes:
        assert isinstance(msg, ClientHello)
        return replace(msg, extensions=tuple(e for e in msg.extensions if e.type != E.cookie)).encode()

    pair = _stateless_pair(client_alter=once(ClientHello, drop, nth=1))
    pair.handshake()
    assert _alert(pair.server) == AlertDescription.illegal_parameter


def test_an_expired_cookie_is_illegal_parameter() -> None:
    pair = _stateless_pair()
    now = [datetime.now(UTC)]
    pair.server = TamperingServer(pair.server_config, clock=lambda: now[0])  # a clock the test moves
    pair.to_server()
    now[0] += timedelta(seconds=DEFAULT_LIFETIME + 1)  # the client took longer than the cookie's lifetime
    pair.handshake()
    assert _alert(pair.server) == AlertDescription.illegal_parameter
    assert EXPIRED in str(pair.server.error)


def test_a_second_client_hello_with_another_share_is_illegal_parameter() -> None:
    """The cookie fixes the group: the second ClientHello must carry exactly one share of it."""
    pair = make_pair(
        client_kw={"key_share_groups": (NamedGroup.x25519,)},
        server_kw={"stateless_hrr": True, "groups": (NamedGroup.secp256r1,)},
        client_alter=once(ClientHello, _second_hello_with_x25519_share, nth=1),
    )
    pair.handshake()
    assert _alert(pair.server) == AlertDescription.illegal_parameter
    assert "exactly one secp256r1 key share" in str(pair.server.error)


def _second_hello_with_x25519_share(msg: Handshake) -> bytes:
    assert isinstance(msg, ClientHello)
    share = KeyShareEntry(NamedGroup.x25519, bytes(range(1, 33)))
    exts = tuple(Extension.make(E.key_share, (share,), X.CH) if e.type == E.key_share else e for e in msg.extensions)
    return replace(msg, extensions=exts).encode()


def test_a_stateless_retry_still_resumes_a_ticket() -> None:
    first = connected_pair(server_kw={"stateless_hrr": True})
    first.to_client()  # the tickets
    session = first.client.session
    assert session is not None
    log = EventList()
    client = TamperingClient(
        replace(first.client_config, key_share_groups=(NamedGroup.x25519,)), "localhost", session=session, observer=log
    )
    server = TamperingServer(first.server_config)
    pair = Pair(client, server, first.client_config, first.server_config, first.identity, first.ca)
    pair.handshake()
    assert client.handshake_complete and server.handshake_complete, pair.log
    assert _hrr_cookie(log)
    assert client.parameters is not None and client.parameters.resumed
    assert server.parameters is not None and server.parameters.resumed


def test_a_second_client_hello_that_drops_the_chosen_psk_is_illegal_parameter() -> None:
    """RFC 8446, Section 4.1.2: the second ClientHello may update the PSK the first offered (a new
    binder), not drop or swap it. The cookie names the PSK the server chose, as a server that keeps the
    first hello knows it (ExpectSecondClientHello); without it the stateless server went on to a full
    handshake."""
    first = connected_pair(server_kw={"stateless_hrr": True})
    first.to_client()  # the tickets
    session = first.client.session
    assert session is not None

    def drop_psk(msg: Handshake) -> bytes:
        assert isinstance(msg, ClientHello)
        kept = tuple(e for e in msg.extensions if e.type not in (E.pre_shared_key, E.early_data))
        return replace(msg, extensions=kept).encode()

    config = replace(first.client_config, key_share_groups=(NamedGroup.x25519,))
    client = TamperingClient(config, "localhost", once(ClientHello, drop_psk, nth=1), session=session)
    server = TamperingServer(first.server_config)
    pair = Pair(client, server, first.client_config, first.server_config, first.identity, first.ca)
    pair.handshake()
    assert _alert(pair.server) == AlertDescription.illegal_parameter
    assert "second ClientHello dropped or changed the PSK the server chose in the first" in str(pair.server.error)


def _one_group_fewer(ext: Extension) -> Extension:
    """supported_groups without its last group (still well formed); any other extension as it is."""
    if ext.type != E.supported_groups:
        return ext
    groups = ext.data[2:-2]
    return Extension(E.supported_groups, len(groups).to_bytes(2, "big") + groups)


def _variants(hello: ClientHello) -> dict[str, ClientHello]:
    """``hello`` and second hellos made from it: allowed changes and forbidden ones."""
    exts = hello.extensions
    kept = [e for e in exts if e.type not in MAY_CHANGE]
    padding = Extension(E.padding, bytes(9))
    return {
        "same": hello,
        "new share and cookie": hello.with_extensions(
            (*[e for e in exts if e.type != E.key_share], Extension(E.cookie, b"\x00\x02ok"))
        ),
        "padding added": hello.with_extensions((*exts, padding)),
        "random": replace(hello, random=bytes(32)),
        "session id": replace(hello, legacy_session_id=bytes(32)),
        "suites": replace(hello, cipher_suites=hello.cipher_suites[1:]),
        "extension dropped": hello.with_extensions(tuple(e for e in exts if e is not kept[0])),
        "extension changed": hello.with_extensions(tuple(_one_group_fewer(e) for e in exts)),
        "extensions reordered": hello.with_extensions(tuple(reversed(exts))),
    }


def test_the_cookie_fingerprint_sees_exactly_the_changes_the_stateful_check_sees() -> None:
    # A stateless server compares fingerprints where a stateful one compares the hellos
    # (RFC 8446, Section 4.1.2): the two must agree on every second hello.
    first = make_pair().client.offered_hello
    assert isinstance(first, ClientHello)
    for name, variant in _variants(first).items():
        second = decode_message(variant.encode())  # as the server reads it off the wire
        assert isinstance(second, ClientHello)
        change = change_in_second_hello(first, second)
        allowed = name in ("same", "new share and cookie", "padding added")
        assert (change is None) == allowed, (name, change)
        assert (fingerprint(second) == fingerprint(first)) == allowed, name
