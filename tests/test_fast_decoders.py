"""What is read straight from the buffer (issue 15) reads as field-by-field reads do.

client_shares and the offered PSKs walk their entries over the bytes; at an entry that does not fit,
the rest of the block is read field by field, so the error names the field as before. These tests
hold both to a field-by-field reference (the code they replaced) on good bodies, on every
truncation and on every single-byte change of a length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls.enums import CipherSuite, NamedGroup, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertDescription, AlertError, DecodeError
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.codec import Reader
from glasstls.wire.extensions import KeyShareEntry, OfferedPsks, PskIdentity


def _reference_client_shares(r: Reader) -> tuple[KeyShareEntry, ...]:
    block = r.sub(2, "client_shares")
    shares = []
    while not block.at_end():
        group = NamedGroup(block.u16("group"))
        shares.append(KeyShareEntry(group, block.vec(2, "key_exchange", 1)))
    return tuple(shares)


def _reference_offered_psks(r: Reader) -> OfferedPsks:
    ids = r.sub(2, "identities", 7)
    identities = []
    while not ids.at_end():
        identity = ids.vec(2, "identity", 1)
        identities.append(PskIdentity(identity, ids.u32("obfuscated_ticket_age")))
    binders_block = r.sub(2, "binders", 33)
    binders = []
    while not binders_block.at_end():
        binders.append(binders_block.vec(1, "PskBinderEntry", 32))
    if len(binders) != len(identities):
        raise AlertError(AlertDescription.illegal_parameter, "pre_shared_key: binder count != identity count")
    return OfferedPsks(tuple(identities), tuple(binders))


def _outcome(decode: Callable[[Reader], Any], body: bytes) -> tuple[str, Any]:
    r = Reader(body, "ClientHello extension x")
    try:
        value = decode(r)
        r.finish()
    except (DecodeError, AlertError) as exc:
        return type(exc).__name__, str(exc)
    return "value", value


_SHARES = [
    (KeyShareEntry(NamedGroup.x25519, bytes(range(32))),),
    (KeyShareEntry(NamedGroup.secp256r1, b"\x04" * 65), KeyShareEntry(NamedGroup.x25519, b"k")),
    (),
]
_PSKS = [
    OfferedPsks((PskIdentity(b"ticket" * 3, 0x01020304),), (bytes(range(32)),)),
    OfferedPsks((PskIdentity(b"a", 0), PskIdentity(b"b" * 40, 0xFFFFFFFF)), (b"x" * 48, b"y" * 32)),
]


@pytest.mark.parametrize("shares", _SHARES)
def test_client_shares_read_as_field_by_field(shares: tuple[KeyShareEntry, ...]) -> None:
    body = X.Extension.make(E.key_share, shares, X.CH).data
    decode = X._codecs_in(X.CH)[E.key_share].decode
    assert _outcome(decode, body) == ("value", shares)
    for variant in byte_variants(body):
        assert _outcome(decode, variant) == _outcome(_reference_client_shares, variant), variant.hex()


@pytest.mark.parametrize("psks", _PSKS)
def test_offered_psks_read_as_field_by_field(psks: OfferedPsks) -> None:
    body = X.Extension.make(E.pre_shared_key, psks, X.CH).data
    decode = X._codecs_in(X.CH)[E.pre_shared_key].decode
    assert _outcome(decode, body) == ("value", psks)
    for variant in byte_variants(body):
        assert _outcome(decode, variant) == _outcome(_reference_offered_psks, variant), variant.hex()


# -- the hellos' direct reads against their layouts' walk ------------------------------------------


def _walk_client_hello(r: Reader) -> H.ClientHello:
    msg = H.ClientHello(*[spec.read(r) for spec in H.ClientHello.layout])
    H._check_psk_last(msg.extensions)
    return msg


def _walk_server_hello(r: Reader) -> H.ServerHello:
    start = H.ServerHello.layout[:2]
    version, random = (spec.read(r) for spec in start)
    kind = H.HelloRetryRequest if random == H.HRR_RANDOM else H.ServerHello
    return kind(version, random, *[spec.read(r) for spec in kind.after_random])


def _hello_variants(body: bytes) -> Iterator[bytes]:
    """``body``, each truncation, and each byte of its first 80 and last 40 changed (the fixed fields and
    the first extensions, the last ones); all of byte_variants for a short body."""
    if len(body) <= 160:
        yield from byte_variants(body)
        return
    yield body
    for n in range(len(body)):
        yield body[:n]
    for i in [*range(80), *range(len(body) - 40, len(body))]:
        for b in {0, 1, 0x20, 0xFF, body[i] ^ 1}:
            yield body[:i] + bytes((b,)) + body[i + 1 :]


_CLIENT_HELLO = H.ClientHello(
    random=bytes(range(32)),
    legacy_session_id=b"s" * 32,
    cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite(0x0A0A)),
    extensions=(
        X.Extension.make(E.supported_versions, (ProtocolVersion.TLSv1_3,), X.CH),
        X.Extension.make(E.key_share, _SHARES[0], X.CH),
        X.Extension.make(E.pre_shared_key, _PSKS[0], X.CH),
    ),
)
_SERVER_HELLOS = [
    H.ServerHello(
        random=b"r" * 32,
        legacy_session_id_echo=b"e" * 32,
        extensions=(
            X.Extension.make(E.key_share, _SHARES[0][0], X.SH),
            X.Extension.make(E.supported_versions, ProtocolVersion.TLSv1_3, X.SH),
        ),
    ),
    H.HelloRetryRequest(extensions=(X.Extension.make(E.key_share, NamedGroup.secp256r1, X.HRR),)),
    H.ServerHello(random=b"r" * 32),
]


@pytest.mark.parametrize(
    ("msg", "walk"),
    [(_CLIENT_HELLO, _walk_client_hello), (H.ClientHello(cipher_suites=(1,)), _walk_client_hello)]
    + [(sh, _walk_server_hello) for sh in _SERVER_HELLOS],
    ids=lambda v: getattr(v, "__name__", type(v).__name__),
)
def test_hellos_read_as_their_layouts_walk(msg: H.Handshake, walk: Callable[[Reader], Any]) -> None:
    body = msg.encode()[4:]
    parse = type(msg).parse if type(msg) is not H.HelloRetryRequest else H.ServerHello.parse
    outcome = _outcome(parse, body)
    assert outcome == ("value", msg) and type(outcome[1]) is type(msg)
    for variant in _hello_variants(body):
        fast, walked = _outcome(parse, variant), _outcome(walk, variant)
        assert fast == walked and type(fast[1]) is type(walked[1]), variant.hex()
