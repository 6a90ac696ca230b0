"""The extension encoders a TLS 1.3 handshake runs each time (the ClientHello's key_share and
pre_shared_key, the ServerHello's key_share) pack their fields at once; each is held here to the
field-by-field encoding it stands in for: the same bytes, or the same exception and message.
Extensions made without the dataclass's __init__ are the Extensions it would make."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from glasstls.enums import CipherSuite, NamedGroup
from glasstls.enums import ExtensionType as E
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
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


def _made_key_careful(context: str, ext_type: int, value: Any) -> Any:
    """_made_key as it read before its tuple check went first-item first."""
    kind = type(value)
    if kind in X._SCALARS or (kind is bytes and len(value) <= 4):
        return (context, ext_type, kind, value)
    if kind is tuple and len(value) <= 4 and all(type(v) is int or type(v) is bytes for v in value):
        return (context, ext_type, kind, value)
    return None


_ENTRY = KeyShareEntry(NamedGroup.x25519, b"k")
MADE_VALUES: list[Any] = [
    (), (1,), (b"h2",), (1, b"x"), (1, 2, 3, 4), (1, 2, 3, 4, 5), (_ENTRY,), (_ENTRY, 1), (1, _ENTRY),
    (True,), (NamedGroup.x25519,), (1.0,), ("a",), 1, True, "name", b"", b"four", b"fives", NamedGroup.x25519, None,
]  # fmt: skip


@pytest.mark.parametrize("value", MADE_VALUES)
def test_made_key(value: Any) -> None:
    assert X._made_key(X.CH, E.key_share, value) == _made_key_careful(X.CH, E.key_share, value)


SUITES: list[Any] = [
    (CipherSuite.TLS_AES_128_GCM_SHA256,),
    (CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite(0x0A0A), 0xC02F),
    (1.0,),
    (0x10000,),
    (),
]


@pytest.mark.parametrize("suites", SUITES)
@pytest.mark.parametrize("methods", [(0,), (1, 0), (), (256,)])
def test_client_hello_lists_as_the_walk(suites: Any, methods: Any) -> None:
    """The ClientHello's suites and methods, kept by the tuples' identity, encode as the layout walk
    does, every time (the second from what was kept), or fail alike."""
    hello = H.ClientHello(random=bytes(32), cipher_suites=suites, compression_methods=methods)
    fresh = H.ClientHello(random=bytes(32), cipher_suites=suites, compression_methods=methods)
    walked = outcome(H.Handshake.encode, fresh)
    assert outcome(hello.encode) == walked
    assert outcome(hello.encode) == walked


def test_client_hello_lists_not_kept_for_a_list() -> None:
    """A list may change under the same id: it is encoded each time."""
    suites: Any = [CipherSuite.TLS_AES_128_GCM_SHA256]
    hello = H.ClientHello(cipher_suites=suites)
    first = hello.encode()
    suites.append(CipherSuite.TLS_AES_256_GCM_SHA384)
    assert hello.encode() != first and hello.encode() == H.Handshake.encode(hello)


def test_client_hello_lists_bounded() -> None:
    """Past its bound the table starts over, and what it gives is still the walk's."""
    hellos = [H.ClientHello(cipher_suites=(CipherSuite(0x1300 + i),)) for i in range(H._OFFERED_MAX + 5)]
    for hello in hellos * 2:
        assert hello.encode() == H.Handshake.encode(hello)
        assert len(H._offered) <= H._OFFERED_MAX
