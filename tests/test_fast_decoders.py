"""The extension bodies read straight from the buffer (issue 15) read as field-by-field reads do.

client_shares and the offered PSKs walk their entries over the bytes; at an entry that does not fit,
the rest of the block is read field by field, so the error names the field as before. These tests
hold both to a field-by-field reference (the code they replaced) on good bodies, on every
truncation and on every single-byte change of a length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from glasstls.enums import ExtensionType as E
from glasstls.enums import NamedGroup
from glasstls.errors import AlertDescription, AlertError, DecodeError
from glasstls.wire import extensions as X
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


def _variants(body: bytes) -> Iterator[bytes]:
    """``body``, each truncation of it, and each byte replaced by a few others."""
    yield body
    for n in range(len(body)):
        yield body[:n]
    for i in range(len(body)):
        for b in {0, 1, 2, 31, 32, 33, 0xFF, body[i] ^ 1}:
            yield body[:i] + bytes((b,)) + body[i + 1 :]


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
    for variant in _variants(body):
        assert _outcome(decode, variant) == _outcome(_reference_client_shares, variant), variant.hex()


@pytest.mark.parametrize("psks", _PSKS)
def test_offered_psks_read_as_field_by_field(psks: OfferedPsks) -> None:
    body = X.Extension.make(E.pre_shared_key, psks, X.CH).data
    decode = X._codecs_in(X.CH)[E.pre_shared_key].decode
    assert _outcome(decode, body) == ("value", psks)
    for variant in _variants(body):
        assert _outcome(decode, variant) == _outcome(_reference_offered_psks, variant), variant.hex()
