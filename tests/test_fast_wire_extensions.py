"""The extensions loop (issue 15) reads as the field-by-field reads with a check per extension did.

read_extensions looks an extension seen before up by its bytes, and counts the types once at the
end instead of checking each in turn; a repeated type is still reported before a truncation or a
decoding error that comes after it. These tests hold it to a field-by-field reference (the loop it
replaced, checking each type as it goes) on good blocks, on every truncation, on every single-byte
change and on blocks with repeated types, both when the extensions are new and when they are kept.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls.enums import AlertDescription, ExtensionType, NamedGroup, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertError, DecodeError
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.codec import Reader
from glasstls.wire.extensions import Extension, KeyShareEntry, OfferedPsks, PskIdentity, put_extensions, read_extensions
from glasstls.wire.layout import member_of


def _reference(r: Reader, context: str) -> tuple[Extension, ...]:
    block = r.sub(2, "extensions")
    seen: set[int] = set()
    out = []
    while not block.at_end():
        ext_type = member_of(ExtensionType, block.u16("extension_type"))
        data = block.vec(2, f"{ext_type._name_} extension_data")
        if ext_type in seen:
            raise AlertError(AlertDescription.illegal_parameter, f"{context} repeats the {ext_type.name} extension")
        seen.add(ext_type)
        out.append(Extension(ext_type, data, X.decode_extension(ext_type, data, context)))
    return tuple(out)


def _outcome(read: Any, block: bytes, context: str) -> tuple[str, Any]:
    r = Reader(block, context)
    try:
        exts = read(r, context)
        r.finish()
    except (DecodeError, AlertError) as exc:
        return type(exc).__name__, (str(exc), getattr(exc, "description", None))
    return "value", [(e.type, type(e.type), e.data, e.value) for e in exts]


def _block(*exts: Extension) -> bytes:
    buf = bytearray()
    put_extensions(buf, exts)
    return bytes(buf)


_EXTENSION_EDGES = (0, 1, 2, 4, 0x2B, 0x33, 0xFF)  # lengths, and the types of supported_versions and key_share


_VERSIONS = Extension.make(E.supported_versions, (ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2), X.CH)
_GROUPS = Extension.make(E.supported_groups, (NamedGroup.x25519, NamedGroup.secp256r1), X.CH)
_SHARE = Extension.make(E.key_share, (KeyShareEntry(NamedGroup.x25519, bytes(range(32))),), X.CH)
_EMS = Extension.make(E.extended_master_secret, True, X.CH)
_UNKNOWN = Extension(member_of(ExtensionType, 0x7A7A), b"\x00", None)
_BLOCKS = {
    "hello": (X.CH, _block(_EMS, _GROUPS, _SHARE, _VERSIONS, _UNKNOWN)),
    "repeat kept": (X.CH, _block(_GROUPS, _VERSIONS, _GROUPS, _SHARE)),
    "repeat then bad": (X.CH, _block(_EMS, _EMS, Extension(E.key_share, b"\x00\x05\x00", None))),
    "repeat new": (X.CH, _block(_SHARE, _EMS, _SHARE)),
    "server": (X.SH, _block(Extension.make(E.supported_versions, ProtocolVersion.TLSv1_3, X.SH), _UNKNOWN)),
    "empty": (X.EE, _block()),
}


@pytest.mark.parametrize("name", _BLOCKS)
def test_every_variant_reads_as_the_field_by_field_loop(name: str) -> None:
    context, block = _BLOCKS[name]
    for variant in byte_variants(block, _EXTENSION_EDGES):
        expected = _outcome(_reference, variant, context)
        for _ in range(2):  # new, then kept
            assert _outcome(read_extensions, variant, context) == expected, variant.hex()


def test_a_repeat_is_reported_before_a_truncation_after_it() -> None:
    block = _block(_EMS, _EMS) + b"\x00\x2b\x00"
    bad = (len(block) - 2 + 0).to_bytes(2, "big") + block[2:]
    for _ in range(2):
        with pytest.raises(AlertError, match="repeats the extended_master_secret"):
            read_extensions(Reader(bad, "ClientHello"), X.CH)


def test_a_parsed_hello_is_indexed_as_ext_would_index_it() -> None:
    exts = (_EMS, _GROUPS, _SHARE, _VERSIONS, _UNKNOWN, Extension.make(E.psk_key_exchange_modes, (1,), X.CH))
    raw = H.ClientHello(cipher_suites=(0x1301,), extensions=exts).encode()
    hello = H.decode_message(raw)
    assert isinstance(hello, H.ClientHello)
    index = hello._ext_index
    assert index is not None and index[0] is hello.extensions
    for ext in exts:
        assert hello.ext(ext.type) is hello.extensions[exts.index(ext)]
    assert hello.ext(E.pre_shared_key) is None and hello.ext(int(E.key_share)) is hello.extensions[2]
    hello.extensions = hello.extensions[:1]
    assert hello.ext(E.key_share) is None


def _plain_block(exts: tuple[Extension, ...]) -> bytes:
    body = b"".join(int(e.type).to_bytes(2, "big") + len(e.data).to_bytes(2, "big") + e.data for e in exts)
    return len(body).to_bytes(2, "big") + body


def test_an_extension_sent_again_goes_out_as_the_first_time() -> None:
    """put_extensions keeps each extension's wire bytes on it (Extension._wire): the same bytes each time,
    a replaced extension (a new object) encoded anew, an over-long one refused every time."""
    exts = (_EMS, _GROUPS, _SHARE, _VERSIONS, _UNKNOWN)
    for _ in range(2):
        assert _block(*exts) == _plain_block(exts)
    other = dataclasses.replace(_GROUPS, data=b"\x00\x02\x00\x17")
    assert _block(_GROUPS, other)[-8:] == b"\x00\x0a\x00\x04\x00\x02\x00\x17"
    huge = Extension(E.padding, bytes(0x10000), None)
    for _ in range(2):
        with pytest.raises(ValueError, match="does not fit a 2-byte length"):
            _block(_EMS, huge)


def _careful(codec: Any, ext_type: ExtensionType, body: bytes, context: str) -> Any:
    """The body's value as the codec's field-by-field reads give it (what _decode did before from_bytes)."""
    r = Reader(body, f"{context} extension {ext_type._name_}")
    value = codec.decode(r)
    r.finish()
    return value


def _decode_outcome(decode: Any, ext_type: ExtensionType, body: bytes, context: str) -> tuple[str, Any]:
    codec = X._codecs_in(context)[ext_type]
    try:
        value = decode(codec, ext_type, body, context)
    except (DecodeError, AlertError) as exc:
        return type(exc).__name__, (str(exc), getattr(exc, "description", None))
    entries = value if isinstance(value, tuple) else (value,)
    return "value", (value, [(type(e.group), type(e.key_exchange)) for e in entries if isinstance(e, KeyShareEntry)])


_IDENTITY = PskIdentity(bytes(range(1, 9)), 0x01020304)
_FROM_BYTES = {
    "server share": (X.SH, E.key_share, KeyShareEntry(NamedGroup.x25519, bytes(range(32)))),
    "server share, unknown group": (X.SH, E.key_share, KeyShareEntry(NamedGroup(0x7A7A), b"k")),
    "client shares": (
        X.CH,
        E.key_share,
        (KeyShareEntry(NamedGroup.x25519, bytes(range(32))), KeyShareEntry(NamedGroup(0x7A7A), b"\x00")),
    ),
    "no client shares": (X.CH, E.key_share, ()),
    "offered psk": (X.CH, E.pre_shared_key, OfferedPsks((_IDENTITY,), (bytes(range(32)),))),
    "offered psks": (
        X.CH,
        E.pre_shared_key,
        OfferedPsks((_IDENTITY, PskIdentity(b"t", 7)), (bytes(32), bytes(range(48)))),
    ),
}


@pytest.mark.parametrize("name", _FROM_BYTES)
def test_a_body_read_from_its_bytes_reads_as_field_by_field(name: str) -> None:
    """A key_share or pre_shared_key body (RFC 8446, Sections 4.2.8 and 4.2.11) is read from its bytes
    when they are well formed (_Codec.from_bytes), else by the Reader: every truncation and byte change
    decodes, or fails, as the field-by-field reads do, with the same values and errors."""
    context, ext_type, value = _FROM_BYTES[name]
    body = Extension.make(ext_type, value, context).data
    assert _decode_outcome(X._decode, ext_type, body, context)[1][0] == value
    for variant in byte_variants(body, _EXTENSION_EDGES):
        expected = _decode_outcome(_careful, ext_type, variant, context)
        assert _decode_outcome(X._decode, ext_type, variant, context) == expected, variant.hex()


_SCHEMES = Extension.make(E.signature_algorithms, (0x0403, 0x0804), X.CH)
_MODES = Extension.make(E.psk_key_exchange_modes, (1,), X.CH)
_OTHER_SHARE = Extension.make(E.key_share, (KeyShareEntry(NamedGroup.x25519, bytes(range(1, 33))),), X.CH)
_RUN_BLOCKS = {
    # two runs of fixed extensions around the one that changes, as a client's hellos come
    "hello": _block(_EMS, _GROUPS, _UNKNOWN, _SHARE, _VERSIONS, _SCHEMES, _MODES),
    "next hello": _block(_EMS, _GROUPS, _UNKNOWN, _OTHER_SHARE, _VERSIONS, _SCHEMES, _MODES),
    "run repeated": _block(_EMS, _GROUPS, _UNKNOWN, _SHARE, _EMS, _GROUPS, _UNKNOWN),
    "run repeated then bad": _block(
        _EMS, _GROUPS, _SHARE, _EMS, _GROUPS, Extension(E.key_share, b"\x00\x05\x00", None)
    ),
    "run cut short": _block(_EMS, _GROUPS, _SHARE, _EMS),
    "run inside a run": _block(_VERSIONS, _EMS, _GROUPS, _UNKNOWN, _SCHEMES),
}  # fmt: skip


def test_runs_are_kept_and_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client's second and third hellos are read through the runs their fixed extensions make."""
    monkeypatch.setitem(X._runs, X.CH, {})  # (other tests' blocks made runs of their own)
    for _ in range(3):
        _outcome(read_extensions, _RUN_BLOCKS["hello"], X.CH)
    runs = X._runs[X.CH]
    first = _block(_EMS)[2:]
    assert first in runs and runs[first][1] == (_EMS, _GROUPS, _UNKNOWN)
    assert _outcome(read_extensions, _RUN_BLOCKS["next hello"], X.CH) == _outcome(
        _reference, _RUN_BLOCKS["next hello"], X.CH
    )


@pytest.mark.parametrize("name", _RUN_BLOCKS)
def test_every_variant_reads_as_the_field_by_field_loop_with_runs_kept(name: str) -> None:
    """Each variant of each block, read while the runs of a client's hello (and of the block itself)
    are kept, reads as the field-by-field loop does: a run is taken only where the block holds all
    of its bytes, and a type it repeats is reported as a kept extension's is."""
    block = _RUN_BLOCKS[name]
    for variant in byte_variants(block, _EXTENSION_EDGES):
        expected = _outcome(_reference, variant, X.CH)
        for warm in (_RUN_BLOCKS["hello"], block, variant):
            for _ in range(3):  # new, kept one by one, then as runs
                _outcome(read_extensions, warm, X.CH)
            assert _outcome(read_extensions, variant, X.CH) == expected, (warm.hex(), variant.hex())


def test_runs_are_bounded() -> None:
    """No more runs than the kept extensions' bound in one context, none longer than _RUN_MAX."""
    many = tuple(Extension(member_of(ExtensionType, 0x7000 + i), b"", None) for i in range(X._RUN_MAX + 8))
    for _ in range(3):
        assert _outcome(read_extensions, _block(*many), X.EE) == _outcome(_reference, _block(*many), X.EE)
    for i in range(X._KEPT_MAX + 10):
        pair = (Extension(member_of(ExtensionType, 0x6000 + i), b"", None), _UNKNOWN)
        for _ in range(2):
            read_extensions(Reader(_block(*pair), X.CT), X.CT)
    assert len(X._runs[X.CT]) <= X._KEPT_MAX
    assert all(len(run[1]) <= X._RUN_MAX for runs in X._runs.values() for run in runs.values())
