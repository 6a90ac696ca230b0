"""The codec: every handshake message and every extension codec round-trips, unknown
code points (GREASE, future extensions and suites) survive with visible names, and
malformed blocks fail with decode_error or the alert RFC 8446 names.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.enums import (
    GREASE_VALUES,
    AlertDescription,
    CertificateCompressionAlgorithm,
    CertificateStatusType,
    CipherSuite,
    ContentType,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from glasstls.errors import AlertError, DecodeError
from glasstls.wire import extensions as X
from glasstls.wire.codec import Reader, Writer
from glasstls.wire.extensions import (
    Extension,
    KeyShareEntry,
    OfferedPsks,
    PskIdentity,
    StatusRequest,
    decode_extension,
    read_extensions,
    write_extensions,
)
from glasstls.wire.handshake import (
    HRR_RANDOM,
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    Handshake,
    HandshakeBuffer,
    HelloRetryRequest,
    KeyUpdate,
    MessageHash,
    NewSessionTicket,
    ServerHello,
    decode_message,
)

E = ExtensionType
ALG = CertificateCompressionAlgorithm
GREASE_EXT = ExtensionType(0x0A0A)
GREASE_SUITE = CipherSuite(0x1A1A)


def ext(ext_type: int, value: object, context: str) -> Extension:
    return Extension.make(ext_type, value, context)


def decode_fails(raw: bytes, description: AlertDescription = AlertDescription.decode_error) -> AlertError:
    with pytest.raises(AlertError) as info:
        decode_message(raw)
    assert info.value.description == description, info.value
    return info.value


# -- extension codecs, table-driven -------------------------------------------------------

X25519_KEY = bytes(range(32))
P256_KEY = b"\x04" + bytes(range(64))

# (type, key of the codec table, context to use, value, wire bytes of extension_data or None)
EXTENSION_CASES = [
    (E.server_name, X.CH, X.CH, "example.com", b"\x00\x0e\x00\x00\x0bexample.com"),
    (E.server_name, "*", X.EE, True, b""),
    (E.max_fragment_length, X.CH, X.CH, 2, b"\x02"),  # 2^10 (RFC 6066, Section 4)
    (E.supported_groups, "*", X.CH, (NamedGroup.x25519, NamedGroup.secp256r1), b"\x00\x04\x00\x1d\x00\x17"),
    (
        E.signature_algorithms,
        "*",
        X.CH,
        (SignatureScheme.ecdsa_secp256r1_sha256, SignatureScheme.rsa_pss_rsae_sha256),
        b"\x00\x04\x04\x03\x08\x04",
    ),
    (E.signature_algorithms_cert, "*", X.CR, (SignatureScheme.ed25519,), b"\x00\x02\x08\x07"),
    (
        E.key_share,
        X.CH,
        X.CH,
        (KeyShareEntry(NamedGroup.x25519, X25519_KEY), KeyShareEntry(NamedGroup.secp256r1, P256_KEY)),
        None,
    ),
    (E.key_share, X.SH, X.SH, KeyShareEntry(NamedGroup.x25519, X25519_KEY), b"\x00\x1d\x00\x20" + X25519_KEY),
    (E.key_share, X.HRR, X.HRR, NamedGroup.secp384r1, b"\x00\x18"),
    (E.supported_versions, X.CH, X.CH, (ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2), b"\x04\x03\x04\x03\x03"),
    (E.supported_versions, X.SH, X.SH, ProtocolVersion.TLSv1_3, b"\x03\x04"),
    (E.supported_versions, X.HRR, X.HRR, ProtocolVersion.TLSv1_3, b"\x03\x04"),
    (E.psk_key_exchange_modes, "*", X.CH, (PskKeyExchangeMode.psk_dhe_ke, PskKeyExchangeMode.psk_ke), b"\x02\x01\x00"),
    (
        E.pre_shared_key,
        X.CH,
        X.CH,
        OfferedPsks((PskIdentity(b"ticket", 0x01020304),), (bytes(range(32)),)),
        b"\x00\x0c\x00\x06ticket\x01\x02\x03\x04" + b"\x00\x21\x20" + bytes(range(32)),
    ),
    (E.pre_shared_key, X.SH, X.SH, 0, b"\x00\x00"),
    (E.early_data, X.NST, X.NST, 16384, b"\x00\x00\x40\x00"),
    (E.early_data, "*", X.EE, True, b""),
    (E.cookie, "*", X.HRR, b"opaque cookie", b"\x00\x0dopaque cookie"),
    (E.application_layer_protocol_negotiation, "*", X.CH, (b"h2", b"http/1.1"), b"\x00\x0c\x02h2\x08http/1.1"),
    (E.status_request, X.CH, X.CH, StatusRequest(), b"\x01\x00\x00\x00\x00"),
    (E.status_request, X.CT, X.CT, b"an OCSP response", b"\x01\x00\x00\x10an OCSP response"),
    (E.status_request, "*", X.CR, True, b""),
    (E.record_size_limit, "*", X.EE, 16385, b"\x40\x01"),
    (E.padding, "*", X.CH, 5, bytes(5)),
    (E.renegotiation_info, "*", X.CH, b"", b"\x00"),
    (E.session_ticket, "*", X.CH, b"old ticket", b"old ticket"),
    (E.extended_master_secret, "*", X.CH, True, b""),
    (E.encrypt_then_mac, "*", X.CH, True, b""),
    (E.post_handshake_auth, "*", X.CH, True, b""),
    (E.ec_point_formats, "*", X.CH, (0,), b"\x01\x00"),
    (E.certificate_authorities, "*", X.CR, (b"\x30\x00", b"\x30\x03\x31\x01\x00"), None),
    (E.compress_certificate, "*", X.CR, (ALG.brotli, ALG.zlib), b"\x04\x00\x02\x00\x01"),  # RFC 8879, Section 3
]


def test_the_table_covers_every_extension_codec() -> None:
    covered = {(t, key) for t, key, *_ in EXTENSION_CASES}
    assert covered == set(X._CODECS), set(X._CODECS) ^ covered


@pytest.mark.parametrize(
    ("ext_type", "key", "context", "value", "wire"),
    EXTENSION_CASES,
    ids=[f"{t.name}-{key}" for t, key, *_ in EXTENSION_CASES],
)
def test_extension_codec_round_trip(ext_type, key, context, value, wire) -> None:
    made = ext(ext_type, value, context)
    assert made.type == ext_type and made.value == value
    if wire is not None:
        assert made.data == wire
    assert decode_extension(ext_type, made.data, context) == value
    # And inside an extensions block, as a message carries it.
    w = Writer()
    write_extensions(w, (made,))
    (back,) = read_extensions(Reader(w.getvalue()), context)
    assert back == made and back.value == value


@pytest.mark.parametrize(
    ("ext_type", "context", "data", "description"),
    [
        (E.supported_groups, X.CH, b"\x00\x03\x00\x1d\x00", AlertDescription.decode_error),  # odd length
        (E.supported_groups, X.CH, b"\x00\x00", AlertDescription.decode_error),  # empty list, <2..2^16-1>
        (E.supported_groups, X.CH, b"\x00\x02\x00\x1d\x00", AlertDescription.decode_error),  # trailing byte
        (E.key_share, X.SH, b"\x00\x1d\x00\x00", AlertDescription.decode_error),  # empty key_exchange
        (E.key_share, X.CH, b"\x00\x06\x00\x1d\x00\x04\x01\x02", AlertDescription.decode_error),  # over-long entry
        (E.supported_versions, X.CH, b"\x01\x03", AlertDescription.decode_error),  # below the 2-byte minimum
        (E.server_name, X.CH, b"\x00\x00", AlertDescription.decode_error),
        (E.server_name, X.CH, b"\x00\x05\x01\x00\x02ab", AlertDescription.illegal_parameter),  # no host_name
        (E.server_name, X.CH, b"\x00\x0a\x00\x00\x02ab\x00\x00\x02cd", AlertDescription.illegal_parameter),
        (E.server_name, X.CH, b"\x00\x05\x00\x00\x02\xc3\xa9", AlertDescription.illegal_parameter),  # not ASCII
        (E.record_size_limit, X.EE, b"\x00\x3f", AlertDescription.illegal_parameter),  # below 64 (RFC 8449)
        (E.padding, X.CH, b"\x00\x01", AlertDescription.illegal_parameter),
        (
            E.pre_shared_key,
            X.CH,
            b"\x00\x07\x00\x01x\x00\x00\x00\x00" + b"\x00\x42" + (b"\x20" + bytes(32)) * 2,
            AlertDescription.illegal_parameter,  # two binders for one identity
        ),
        (E.status_request, X.CT, b"\x02\x00\x00\x01x", AlertDescription.illegal_parameter),
        (E.application_layer_protocol_negotiation, X.CH, b"\x00\x01\x00", AlertDescription.decode_error),
        (E.early_data, X.EE, b"\x00", AlertDescription.decode_error),  # must be empty there
    ],
)
def test_malformed_extension_data(ext_type, context, data, description) -> None:
    with pytest.raises(AlertError) as info:
        decode_extension(ext_type, data, context)
    assert info.value.description == description, info.value
    assert context in info.value.reason or description != AlertDescription.decode_error


def test_make_without_codec_needs_raw_bytes() -> None:
    assert Extension.make(0x4444, b"raw", X.EE) == Extension(ExtensionType(0x4444), b"raw")
    with pytest.raises(TypeError, match="no codec"):
        Extension.make(0x4444, 12, X.EE)


# -- GREASE and unknown code points ---------------------------------------------------------


def test_unknown_and_grease_names() -> None:
    assert GREASE_EXT.name == "GREASE_0x0a0a" and not GREASE_EXT.known
    assert GREASE_SUITE.name == "GREASE_0x1a1a" and str(GREASE_SUITE) == "GREASE_0x1a1a"
    assert NamedGroup(0xFAFA).name == "GREASE_0xfafa"
    assert ExtensionType(0x4444).name == "unknown_0x4444"
    assert CipherSuite(0x1306).name == "unknown_0x1306"
    assert ContentType(0x63).name == "unknown_0x63"  # 8-bit registries have no GREASE
    assert HandshakeType(0x0A).name == "unknown_0x0a"
    assert len(GREASE_VALUES) == 16 and all(CipherSuite(v).name.startswith("GREASE_") for v in GREASE_VALUES)
    assert CipherSuite.TLS_AES_128_GCM_SHA256.known
    with pytest.raises(ValueError):
        CipherSuite(0x10000)


def test_grease_and_unknown_values_survive_a_client_hello() -> None:
    shares = (KeyShareEntry(NamedGroup(0x2A2A), b"\x00"), KeyShareEntry(NamedGroup.x25519, X25519_KEY))
    exts = (
        Extension(GREASE_EXT, b""),
        ext(E.supported_groups, (NamedGroup(0x2A2A), NamedGroup.x25519), X.CH),
        ext(E.key_share, shares, X.CH),
        ext(E.supported_versions, (ProtocolVersion(0x3A3A), ProtocolVersion.TLSv1_3), X.CH),
        ext(E.signature_algorithms, (SignatureScheme(0x4A4A), SignatureScheme.ed25519), X.CH),
        Extension(ExtensionType(0x4444), b"from the future"),
        Extension(ExtensionType(0xFAFA), b"\x00"),
    )
    hello = ClientHello(
        random=bytes(range(32)),
        legacy_session_id=bytes(32),
        cipher_suites=(GREASE_SUITE, CipherSuite.TLS_AES_128_GCM_SHA256),
        extensions=exts,
    )
    back = decode_message(hello.encode())
    assert back == hello and back.raw == hello.raw
    assert [s.name for s in back.cipher_suites] == ["GREASE_0x1a1a", "TLS_AES_128_GCM_SHA256"]
    assert [e.type.name for e in back.extensions] == [
        "GREASE_0x0a0a",
        "supported_groups",
        "key_share",
        "supported_versions",
        "signature_algorithms",
        "unknown_0x4444",
        "GREASE_0xfafa",
    ]
    assert back.extensions[0].value is None and back.extensions[5].data == b"from the future"
    assert [g.name for g in back.ext(E.supported_groups).value] == ["GREASE_0x2a2a", "x25519"]
    assert back.ext(E.key_share).value[0].group.name == "GREASE_0x2a2a"
    assert [v.name for v in back.ext(E.supported_versions).value] == ["GREASE_0x3a3a", "TLSv1_3"]
    assert back.ext(E.signature_algorithms).value[0].name == "GREASE_0x4a4a"


def test_unknown_extension_in_any_message_is_kept() -> None:
    unknown = Extension(ExtensionType(0x5A5A), b"\x01\x02")
    for msg in (
        EncryptedExtensions((unknown,)),
        CertificateRequest(b"", (unknown,)),
        NewSessionTicket(1, 2, b"", b"t", (unknown,)),
        Certificate(b"", (CertificateEntry(b"cert", (unknown,)),)),
    ):
        back = decode_message(msg.encode())
        assert back == msg


# -- duplicates and trailing bytes ----------------------------------------------------------


def test_duplicate_extension_is_illegal_parameter() -> None:
    # RFC 8446, Section 4.2: no extension type twice in one block.
    w = Writer()
    write_extensions(w, (Extension(E.padding, b""), Extension(E.padding, b"\x00")))
    with pytest.raises(AlertError) as info:
        read_extensions(Reader(w.getvalue()), X.CH)
    assert info.value.description == AlertDescription.illegal_parameter
    assert info.value.reason == "ClientHello repeats the padding extension"


@pytest.mark.parametrize("grease", [True, False])
def test_duplicate_unknown_extension_in_a_message_is_illegal_parameter(grease: bool) -> None:
    dup = Extension(GREASE_EXT if grease else ExtensionType(0x4444), b"")
    err = decode_fails(EncryptedExtensions((dup, dup)).encode(), AlertDescription.illegal_parameter)
    assert "repeats the" in err.reason and dup.type.name in err.reason


def test_reader_finish_with_trailing_bytes_is_decode_error() -> None:
    r = Reader(b"\x00\x01\x02", "test block")
    assert r.u16("field") == 1
    with pytest.raises(DecodeError) as info:
        r.finish()
    assert info.value.description == AlertDescription.decode_error
    assert info.value.reason == "test block: 1 unexpected trailing bytes"
    r.u8()
    r.finish()


@pytest.mark.parametrize(
    "msg",
    [
        KeyUpdate(KeyUpdateRequest.update_requested),
        EndOfEarlyData(),
        CertificateVerify(SignatureScheme.ed25519, b"sig"),
        ServerHello(random=bytes(32), extensions=()),
        EncryptedExtensions(()),
    ],
    ids=lambda m: m.name,
)
def test_message_with_trailing_bytes_is_decode_error(msg: Handshake) -> None:
    raw = msg.encode()
    longer = raw[:1] + (len(raw) - 3).to_bytes(3, "big") + raw[4:] + b"\x00"
    err = decode_fails(longer)
    assert "trailing" in err.reason or "truncated" in err.reason


def test_reader_errors_name_the_field() -> None:
    with pytest.raises(DecodeError, match=r"^msg: cookie truncated \(need 5 bytes, 2 left\)"):
        Reader(b"\x00\x05ab", "msg").vec(2, "cookie")
    with pytest.raises(DecodeError, match=r"^msg: id has length 3, allowed 0\.\.2"):
        Reader(b"\x03abc", "msg").vec(1, "id", 0, 2)
    with pytest.raises(DecodeError, match=r"^msg: list has length 0, allowed >= 2"):
        Reader(b"\x00\x00", "msg").u16_list(2, "list", 2)
    with pytest.raises(DecodeError, match=r"odd length 3"):
        Reader(b"\x00\x03abc", "msg").u16_list(2, "list")
    block = Reader(b"\x00\x02ab!", "msg").sub(2, "inner")
    with pytest.raises(DecodeError, match=r"^msg: inner: x truncated"):
        block.u24("x")


def test_writer_refuses_a_vector_too_long_for_its_length() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        Writer().vec(1, bytes(256))
    assert Writer().vec(1, bytes(255)).getvalue()[:1] == b"\xff"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2, 3]), st.binary(max_size=300)),
        max_size=8,
    ),
    st.integers(0, 0xFFFFFFFF),
)
def test_reader_writer_round_trip(vectors, number) -> None:
    w = Writer().u32(number)
    for width, data in vectors:
        if len(data) < 1 << (8 * width):
            w.vec(width, data)
    r = Reader(w.getvalue())
    assert r.u32() == number
    for width, data in vectors:
        if len(data) < 1 << (8 * width):
            assert r.vec(width) == data
    r.finish()


# -- every handshake message, table-driven ---------------------------------------------------

SIGS = ext(E.signature_algorithms, (SignatureScheme.ecdsa_secp256r1_sha256,), X.CR)

MESSAGES = [
    ClientHello(
        random=bytes(range(32)),
        legacy_session_id=bytes(32),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256),
        extensions=(
            ext(E.server_name, "localhost", X.CH),
            ext(E.supported_groups, (NamedGroup.x25519,), X.CH),
            ext(E.key_share, (KeyShareEntry(NamedGroup.x25519, X25519_KEY),), X.CH),
            ext(E.supported_versions, (ProtocolVersion.TLSv1_3,), X.CH),
            ext(E.pre_shared_key, OfferedPsks((PskIdentity(b"id", 7),), (bytes(32),)), X.CH),
        ),
    ),
    ClientHello(random=bytes(32), cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,), extensions=()),
    ServerHello(
        random=bytes(range(1, 33)),
        legacy_session_id_echo=b"\x07" * 32,
        cipher_suite=CipherSuite.TLS_AES_256_GCM_SHA384,
        extensions=(
            ext(E.key_share, KeyShareEntry(NamedGroup.x25519, X25519_KEY), X.SH),
            ext(E.supported_versions, ProtocolVersion.TLSv1_3, X.SH),
            ext(E.pre_shared_key, 0, X.SH),
        ),
    ),
    HelloRetryRequest(
        cipher_suite=CipherSuite.TLS_AES_128_GCM_SHA256,
        extensions=(
            ext(E.supported_versions, ProtocolVersion.TLSv1_3, X.HRR),
            ext(E.key_share, NamedGroup.secp256r1, X.HRR),
            ext(E.cookie, b"state", X.HRR),
        ),
    ),
    EncryptedExtensions(
        (
            ext(E.server_name, True, X.EE),
            ext(E.application_layer_protocol_negotiation, (b"h2",), X.EE),
            ext(E.record_size_limit, 4096, X.EE),
            ext(E.early_data, True, X.EE),
        )
    ),
    EncryptedExtensions(()),
    CertificateRequest(b"", (SIGS, ext(E.certificate_authorities, (b"\x30\x00",), X.CR))),
    CertificateRequest(b"post-handshake", (SIGS,)),
    Certificate(
        b"",
        (
            CertificateEntry(b"leaf DER", (ext(E.status_request, b"ocsp", X.CT),)),
            CertificateEntry(b"intermediate DER", ()),
        ),
    ),
    Certificate(b"ctx", ()),
    CompressedCertificate(ALG.zstd, 1234, b"a zstd frame"),  # RFC 8879, Section 4
    CertificateVerify(SignatureScheme.rsa_pss_rsae_sha256, bytes(256)),
    Finished(bytes(range(48))),
    NewSessionTicket(7200, 0xFFFFFFFF, b"\x00", b"ticket", (ext(E.early_data, 16384, X.NST),)),
    EndOfEarlyData(),
    KeyUpdate(KeyUpdateRequest.update_not_requested),
    KeyUpdate(KeyUpdateRequest.update_requested),
]


def test_the_table_covers_every_message_class() -> None:
    kinds = {type(m) for m in MESSAGES} | {MessageHash}
    # TLS 1.3 messages only: the TLS 1.2 ones (wire.handshake12) have tests/test_wire12.py.
    ours = {c for c in _all_subclasses(Handshake) if c.__module__ == "glasstls.wire.handshake"}
    assert kinds == ours, ours ^ kinds


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: m.name)
def test_message_round_trip(msg: Handshake) -> None:
    raw = msg.encode()
    assert raw[0] == msg.msg_type and int.from_bytes(raw[1:4], "big") == len(raw) - 4
    back = decode_message(raw)
    assert type(back) is type(msg)
    assert back == msg
    assert back.raw == raw  # the bytes received are kept, for the transcript
    assert back.encode() == raw
    for mine, theirs in zip(getattr(msg, "extensions", ()), getattr(back, "extensions", ()), strict=True):
        assert mine.value == theirs.value


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: m.name)
def test_every_truncation_of_every_message_is_decode_error(msg: Handshake) -> None:
    raw = msg.encode()
    for keep in range(len(raw) - 4):
        cut = raw[:1] + keep.to_bytes(3, "big") + raw[4 : 4 + keep]
        try:
            back = decode_message(cut)
        except AlertError as err:
            assert err.description == AlertDescription.decode_error, (keep, err)
            continue
        # Only a prefix that is itself a whole message may parse: a hello without
        # extensions (RFC 5246, Section 7.4.1.2) or a shorter Finished.
        assert isinstance(back, ClientHello | ServerHello | Finished), (keep, back)
        if not isinstance(back, Finished):
            assert back.extensions == ()


def test_hello_retry_request_is_recognised_by_its_random() -> None:
    hrr = decode_message(HelloRetryRequest(extensions=()).encode())
    assert isinstance(hrr, HelloRetryRequest) and hrr.random == HRR_RANDOM
    sh = decode_message(ServerHello(random=HRR_RANDOM[:-1] + b"\x00").encode())
    assert type(sh) is ServerHello


def test_message_hash_encodes_as_rfc_8446_describes() -> None:
    # RFC 8446, Section 4.4.1: type 254, then the hash as the body.
    digest = bytes(range(32))
    assert MessageHash(digest=digest).encode() == b"\xfe\x00\x00\x20" + digest
    decode_fails(MessageHash(digest=digest).encode(), AlertDescription.unexpected_message)


def test_unknown_handshake_type_is_unexpected_message() -> None:
    err = decode_fails(b"\x63\x00\x00\x00", AlertDescription.unexpected_message)
    assert err.reason == "unexpected handshake message type unknown_0x63"


def test_pre_shared_key_must_be_last() -> None:
    # RFC 8446, Section 4.2.11.
    psk = ext(E.pre_shared_key, OfferedPsks((PskIdentity(b"id", 7),), (bytes(32),)), X.CH)
    hello = ClientHello(random=bytes(32), cipher_suites=(0x1301,), extensions=(psk, Extension(E.padding, b"")))
    err = decode_fails(hello.encode(), AlertDescription.illegal_parameter)
    assert "pre_shared_key is not the last" in err.reason


def test_binders_are_cut_from_the_end_of_the_hello() -> None:
    hello = MESSAGES[0]
    back = decode_message(hello.encode())
    assert back.truncated_for_binders() == back.raw[: -(2 + 1 + 32)]


def test_key_update_request_over_one_is_illegal_parameter() -> None:
    err = decode_fails(b"\x18\x00\x00\x01\x02", AlertDescription.illegal_parameter)
    assert "request_update 2" in err.reason


def test_status_request_of_other_type_is_kept_raw() -> None:
    value = decode_extension(E.status_request, b"\x02\x01\x02", X.CH)
    assert value == StatusRequest(CertificateStatusType(2), b"\x01\x02", b"")


# -- reassembly ---------------------------------------------------------------------------------


def test_handshake_buffer_reassembles_and_splits() -> None:
    a, b = KeyUpdate().encode(), Finished(bytes(32)).encode()
    buf = HandshakeBuffer()
    data = a + b
    for i in range(len(data)):
        buf.feed(data[i : i + 1])
    assert buf.pop() == a and buf.pop() == b and buf.pop() is None and buf.empty()
    buf.feed(b[:3])
    assert buf.pop() is None and not buf.empty()


def test_handshake_buffer_refuses_a_huge_message_length() -> None:
    buf = HandshakeBuffer()
    buf.feed(b"\x0b" + (HandshakeBuffer.MAX_MESSAGE + 1).to_bytes(3, "big"))
    with pytest.raises(DecodeError, match="exceeds"):
        buf.pop()


# -- property: random messages round-trip ----------------------------------------------------

_unknown_types = st.one_of(st.sampled_from(sorted(GREASE_VALUES)), st.integers(0x4000, 0x4FFF)).map(ExtensionType)
_unknown_exts = st.lists(
    st.builds(Extension, _unknown_types, st.binary(max_size=40)), max_size=6, unique_by=lambda e: int(e.type)
)


@settings(max_examples=100, deadline=None)
@given(
    random=st.binary(min_size=32, max_size=32),
    session_id=st.binary(max_size=32),
    suites=st.lists(st.integers(0, 0xFFFF).map(CipherSuite), min_size=1, max_size=20),
    exts=_unknown_exts,
)
def test_random_client_hellos_round_trip(random, session_id, suites, exts) -> None:
    hello = ClientHello(
        random=random, legacy_session_id=session_id, cipher_suites=tuple(suites), extensions=tuple(exts)
    )
    back = decode_message(hello.encode())
    assert back == hello and back.raw == hello.raw


@settings(max_examples=100, deadline=None)
@given(
    lifetime=st.integers(0, 0xFFFFFFFF),
    age_add=st.integers(0, 0xFFFFFFFF),
    nonce=st.binary(max_size=255),
    ticket=st.binary(min_size=1, max_size=600),
    exts=_unknown_exts,
)
def test_random_tickets_round_trip(lifetime, age_add, nonce, ticket, exts) -> None:
    nst = NewSessionTicket(lifetime, age_add, nonce, ticket, tuple(exts))
    assert decode_message(nst.encode()) == nst
