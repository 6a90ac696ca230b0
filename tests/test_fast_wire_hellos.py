"""The hellos' fixed fields read straight from the buffer (issue 15) read as the layout walk does.

ClientHello and ServerHello read legacy_version, random, the session id and the suite fields from
the bytes in one go when they fit, and field by field otherwise, so that the read that fails names
the field. These tests hold both messages to their layout (the strict parser every other message
uses) on good messages, on every truncation and on every single-byte change: same values, same
extensions, same errors.
"""

from __future__ import annotations

from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls.enums import CipherSuite, NamedGroup, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertError, DecodeError
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.codec import Reader
from glasstls.wire.extensions import Extension, KeyShareEntry, OfferedPsks, PskIdentity


def _by_layout(cls: type[H.Handshake], body: bytes) -> H.Handshake:
    if cls is H.ServerHello and body[2:34] == H.HRR_RANDOM:  # the HRR's extensions context
        cls = H.HelloRetryRequest
    r = Reader(body, "hello")
    values = [spec.read(r) for spec in cls.layout]
    r.finish()
    if cls is H.ClientHello:
        H._check_psk_last(values[-1])
    return cls(*values)


def _parsed(cls: type[H.Handshake], body: bytes) -> H.Handshake:
    r = Reader(body, "hello")
    msg = cls.parse(r)
    r.finish()
    return msg


def _outcome(parse: Any, cls: type[H.Handshake], body: bytes) -> tuple[str, Any]:
    try:
        msg = parse(cls, body)
    except (DecodeError, AlertError) as exc:
        return type(exc).__name__, (str(exc), exc.description)
    exts = [(e.type, e.data, e.value) for e in getattr(msg, "extensions", ())]
    return "value", (type(msg), msg, exts)


_SHARE = KeyShareEntry(NamedGroup.x25519, bytes(range(32)))
_EXTS = tuple(
    Extension.make(t, v, X.CH)
    for t, v in [
        (E.supported_versions, (ProtocolVersion.TLSv1_3,)),
        (E.key_share, (_SHARE,)),
        (E.extended_master_secret, True),
        (E.psk_key_exchange_modes, (1,)),
        (E.record_size_limit, 16385),
    ]
)
_PSK = Extension.make(E.pre_shared_key, OfferedPsks((PskIdentity(b"ticket", 7),), (bytes(32),)), X.CH)
_HELLOS = [
    H.ClientHello(
        random=bytes(range(32)),
        legacy_session_id=b"\x07" * 32,
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite(0x0A0A)),
        extensions=(
            Extension.make(E.supported_versions, (ProtocolVersion.TLSv1_3,), X.CH),
            Extension.make(E.key_share, (_SHARE,), X.CH),
        ),
    ),
    H.ClientHello(random=bytes(32), cipher_suites=(CipherSuite.TLS_AES_256_GCM_SHA384,), compression_methods=(1, 0)),
    H.ClientHello(cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,), extensions=(*_EXTS, _PSK)),  # PSK last
    H.ClientHello(cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,), extensions=(_EXTS[0], _PSK, *_EXTS[1:])),
]
_SERVER_HELLOS = [
    H.ServerHello(
        random=bytes(range(32)),
        legacy_session_id_echo=b"\x07" * 32,
        extensions=(
            Extension.make(E.supported_versions, ProtocolVersion.TLSv1_3, X.SH),
            Extension.make(E.key_share, _SHARE, X.SH),
        ),
    ),
    H.ServerHello(random=H.HRR_RANDOM, extensions=(Extension.make(E.key_share, NamedGroup.secp256r1, X.HRR),)),
    H.ServerHello(random=bytes(32), cipher_suite=CipherSuite(0x1302), compression_method=1),
]


@pytest.mark.parametrize(
    ("cls", "msg"), [(H.ClientHello, m) for m in _HELLOS] + [(H.ServerHello, m) for m in _SERVER_HELLOS]
)
def test_every_variant_parses_as_the_layout_does(cls: type[H.Handshake], msg: H.Handshake) -> None:
    body = msg.encode()[4:]
    misplaced = isinstance(msg, H.ClientHello) and _PSK in msg.extensions[:-1]
    assert _outcome(_parsed, cls, body)[0] == ("AlertError" if misplaced else "value")
    for variant in byte_variants(body):
        assert _outcome(_parsed, cls, variant) == _outcome(_by_layout, cls, variant), variant.hex()


def test_a_hello_read_from_a_bytearray_is_read_alike() -> None:
    body = _HELLOS[0].encode()[4:]
    r = Reader(bytearray(body), "ClientHello")  # type: ignore[arg-type]  # what a caller may hand in
    assert H.ClientHello.parse(r) == _by_layout(H.ClientHello, body)
    r.finish()
