"""The extension encoders a TLS 1.3 handshake runs each time (the ClientHello's key_share and
pre_shared_key, the ServerHello's key_share) pack their fields at once; each is held here to the
field-by-field encoding it stands in for: the same bytes, or the same exception and message.
Extensions made without the dataclass's __init__ are the Extensions it would make."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from glasstls.enums import ExtensionType as E
from glasstls.enums import NamedGroup
from glasstls.wire import extensions as X
from glasstls.wire.codec import Reader
from glasstls.wire.extensions import Extension, KeyShareEntry, OfferedPsks, PskIdentity

GROUPS: list[Any] = [NamedGroup.x25519, NamedGroup(0x0A0A), 0, 0xFFFF, 0x10000, -1, True, None, "x25519"]
KEYS: list[Any] = [b"", b"k", bytes(32), bytes(0xFFFB), bytes(0xFFFC), bytes(0xFFFF), bytes(0x10000), bytearray(32)]


def outcome(encode: Any, *args: Any) -> tuple[str, Any]:
    try:
        return ("bytes", encode(*args))
    except Exception as exc:  # the exception itself is what is compared
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize(("group", "key"), list(itertools.product(GROUPS, KEYS)))
def test_key_share_entry(group: Any, key: Any) -> None:
    entry = KeyShareEntry(group, key)
    assert outcome(X._encode_key_share_entry, entry) == outcome(X._encode_key_share_entry_by_field, entry)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
@pytest.mark.parametrize(("group", "key"), list(itertools.product(GROUPS[:6], KEYS)))
def test_client_shares(n: int, group: Any, key: Any) -> None:
    shares = tuple(KeyShareEntry(group, key) for _ in range(n))
    fast = outcome(X._encode_client_shares, shares)
    assert fast == outcome(X._encode_client_shares_by_field, shares)
    if fast[0] == "bytes" and key and 0 <= group <= 0xFFFF:
        expected = tuple(KeyShareEntry(NamedGroup(group), key) for _ in range(n))
        assert X._decode_client_shares(Reader(fast[1])) == expected


IDENTITIES: list[Any] = [b"", b"i", bytes(200), bytes(0xFFF9), bytes(0xFFFA), bytearray(5), None]
AGES: list[Any] = [0, 1, 0xFFFFFFFF, 0x100000000, -1, True, 1.5]
BINDERS: list[Any] = [b"", bytes(32), bytes(48), bytes(0xFF), bytes(0x100), bytearray(32)]


@pytest.mark.parametrize(("identity", "age", "binder"), list(itertools.product(IDENTITIES, AGES, BINDERS)))
def test_one_offered_psk(identity: Any, age: Any, binder: Any) -> None:
    offered = OfferedPsks((PskIdentity(identity, age),), (binder,))
    fast = outcome(X._encode_offered_psks, offered)
    assert fast == outcome(X._encode_offered_psks_by_field, offered)
    if fast[0] == "bytes" and identity and len(binder) >= 32:
        assert X._decode_offered_psks(Reader(fast[1])) == OfferedPsks((PskIdentity(bytes(identity), age),), (binder,))


@pytest.mark.parametrize(("ids", "binders"), [(0, 0), (0, 1), (1, 0), (2, 2), (1, 2), (2, 1)])
def test_other_psk_counts(ids: int, binders: int) -> None:
    offered = OfferedPsks(tuple(PskIdentity(b"t%d" % i, i) for i in range(ids)), (bytes(32),) * binders)
    assert outcome(X._encode_offered_psks, offered) == outcome(X._encode_offered_psks_by_field, offered)


MADE: list[tuple[int, Any, str]] = [
    (E.key_share, (KeyShareEntry(NamedGroup.x25519, bytes(range(32))),), X.CH),
    (E.key_share, KeyShareEntry(NamedGroup.secp256r1, bytes(65)), X.SH),
    (E.pre_shared_key, OfferedPsks((PskIdentity(b"ticket", 7),), (bytes(32),)), X.CH),
    (int(E.key_share), (KeyShareEntry(NamedGroup.x25519, b"k"),), X.CH),
    (0x0A0A, b"grease", X.CH),
    (E.server_name, "example.com", X.CH),
    (E.supported_versions, (0x0304,), X.CH),
]


@pytest.mark.parametrize(("ext_type", "value", "context"), MADE)
def test_made_extension_is_the_dataclasss(ext_type: int, value: Any, context: str) -> None:
    made = Extension.make(ext_type, value, context)
    codec = X._codecs_in(context).get(ext_type)
    careful = Extension(E(ext_type), codec.encode(value), value) if codec else Extension(E(ext_type), value, None)
    assert made == careful and hash(made) == hash(careful) and repr(made) == repr(careful)
    assert (made.type, made.data, made.value) == (careful.type, careful.data, careful.value)
    assert type(made.type) is E
    with pytest.raises(AttributeError):
        made.data = b""  # type: ignore[misc]  # frozen, as the dataclass's own


def test_read_extensions_are_the_dataclasss() -> None:
    """An extension read (not one kept from before) is the Extension the dataclass makes."""
    share = Extension.make(E.key_share, KeyShareEntry(NamedGroup.x25519, bytes(range(1, 33))), X.SH)
    block = bytearray()
    X.put_extensions(block, [share])
    (read,) = X.read_extensions(Reader(bytes(block)), X.SH)
    assert read == Extension(E.key_share, share.data, share.value) and read.value == share.value


def test_no_codec_still_wants_bytes() -> None:
    with pytest.raises(TypeError, match="no codec for"):
        Extension.make(0x0A0A, 5, X.CH)
