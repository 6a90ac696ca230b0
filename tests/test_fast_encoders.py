"""The messages that write their fields directly (issue 15) give the bytes their layout gives.

ClientHello, ServerHello, HelloRetryRequest, EncryptedExtensions, Finished and NewSessionTicket each have an
``encode`` of their own that skips the layout walk; :meth:`Handshake.encode` is the walk. Both
must agree byte for byte on every message, and each must parse back to the message.
"""

from __future__ import annotations

import pytest

from glasstls.enums import CipherSuite, NamedGroup, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.extensions import Extension, KeyShareEntry

_SH_EXTS = (
    Extension.make(E.pre_shared_key, 0, X.SH),
    Extension.make(E.key_share, KeyShareEntry(NamedGroup.x25519, bytes(range(32))), X.SH),
    Extension.make(E.supported_versions, ProtocolVersion.TLSv1_3, X.SH),
)
_HRR_EXTS = (
    Extension.make(E.supported_versions, ProtocolVersion.TLSv1_3, X.HRR),
    Extension.make(E.key_share, NamedGroup.secp256r1, X.HRR),
    Extension.make(E.cookie, b"c" * 300, X.HRR),
)
_EE_EXTS = (
    Extension.make(E.record_size_limit, 16385, X.EE),
    Extension.make(E.server_name, True, X.EE),
    Extension.make(E.application_layer_protocol_negotiation, (b"h2",), X.EE),
    Extension(E(0x0A0A), b"grease"),
)

_CH_EXTS = (
    Extension.make(E.server_name, "example.com", X.CH),
    Extension.make(E.supported_versions, (ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2), X.CH),
    Extension.make(E.key_share, (KeyShareEntry(NamedGroup.x25519, bytes(32)),), X.CH),
    Extension(E(0x2A2A), b"\x00"),
)

MESSAGES = [
    H.ClientHello(cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,)),
    H.ClientHello(
        random=b"r" * 32,
        legacy_session_id=b"s" * 32,
        cipher_suites=(
            CipherSuite.TLS_AES_128_GCM_SHA256,
            CipherSuite(0x0A0A),
            CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        ),
        extensions=_CH_EXTS,
    ),
    H.ClientHello(ProtocolVersion.TLSv1, bytes(32), b"", (CipherSuite.TLS_AES_256_GCM_SHA384,), (1, 0), _CH_EXTS[:1]),
    H.ServerHello(random=bytes(range(32)), cipher_suite=CipherSuite.TLS_AES_128_GCM_SHA256),
    H.ServerHello(random=b"r" * 32, legacy_session_id_echo=b"s" * 32, extensions=_SH_EXTS),
    H.ServerHello(ProtocolVersion.TLSv1_2, b"\xff" * 32, b"x", CipherSuite.TLS_AES_256_GCM_SHA384, 0, _SH_EXTS[1:]),
    H.HelloRetryRequest(legacy_session_id_echo=b"i" * 32, extensions=_HRR_EXTS),
    H.EncryptedExtensions(),
    H.EncryptedExtensions(_EE_EXTS),
    H.Finished(verify_data=bytes(32)),
    H.Finished(verify_data=b"\x01" * 48),
    H.Finished(),
    H.NewSessionTicket(7200, 0xFFFFFFFF, bytes(8), b"t" * 200),
    H.NewSessionTicket(0, 0, b"", b"x", (Extension.make(E.early_data, 16384, X.NST),)),
    H.NewSessionTicket(1, 2, b"n" * 255, b"y" * 0xFFFF, (Extension(E(0x1A1A), b""),)),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_own_encoder_matches_the_layout_walk(msg: H.Handshake) -> None:
    assert type(msg).encode is not H.Handshake.encode  # the class has one of its own
    walked = H.Handshake.encode(msg)
    assert msg.encode() == walked and msg.raw == walked
    back = H.decode_message(walked)
    assert back == msg and type(back) is type(msg)


@pytest.mark.parametrize(
    "msg",
    [
        H.NewSessionTicket(1, 2, b"n" * 256, b"t"),
        H.NewSessionTicket(1, 2, b"", b"t" * 0x10000),
        H.NewSessionTicket(1 << 32, 0, b"", b"t"),
        H.ServerHello(legacy_session_id_echo=b"s" * 256),
        H.ServerHello(compression_method=256),
        H.ClientHello(legacy_session_id=b"s" * 256),
        H.ClientHello(cipher_suites=(0x10000,)),  # type: ignore[arg-type]  # an int out of range
        H.ClientHello(compression_methods=(256,)),
    ],
    ids=lambda m: type(m).__name__,
)
def test_own_encoder_fails_as_the_layout_walk(msg: H.Handshake) -> None:
    errors = []
    for encode in (H.Handshake.encode, type(msg).encode):
        with pytest.raises((ValueError, OverflowError)) as caught:
            encode(msg)
        errors.append((type(caught.value), str(caught.value)))
    assert errors[0] == errors[1]
