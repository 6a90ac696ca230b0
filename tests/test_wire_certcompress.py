"""Certificate compression (RFC 8879): the compress_certificate extension, the CompressedCertificate
message, bounded decompression with zlib, brotli and zstd, and how the trace shows both.

These are the building blocks, tested on their own; the handshake's use of them (both
roles, TLS 1.3) is tested in test_certcompress_handshake.py.
"""

from __future__ import annotations

import datetime
import time
import tracemalloc
import zlib
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest
import zstandard
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasstls.crypto import certcompress as CC
from glasstls.enums import (
    AlertDescription,
    CertificateCompressionAlgorithm,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    SignatureScheme,
)
from glasstls.errors import AlertError, DecodeError
from glasstls.trace import describe, headlines
from glasstls.trace.fields import MESSAGE_NAMES, UNDECODABLE, Field, field_tree, message_name
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire import handshake12 as H12
from glasstls.wire.codec import Reader
from glasstls.wire.extensions import Extension, decode_extension

ALG = CertificateCompressionAlgorithm
E = ExtensionType
ALL = (ALG.zlib, ALG.brotli, ALG.zstd)
SUITES = (CipherSuite.TLS_AES_128_GCM_SHA256,)
BOMB_SIZE = 16 << 20  # 16 MiB of zeros


# -- a real certificate message ------------------------------------------------------------------


def _cert(subject: str, issuer: str, key: ec.EllipticCurvePrivateKey, signer: ec.EllipticCurvePrivateKey) -> bytes:
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("compress.example")]), critical=False)
    )
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def certificate() -> H.Certificate:
    """A TLS 1.3 Certificate: a leaf with an OCSP staple, then its issuer."""
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Compression Test CA", "Compression Test CA", ca_key, ca_key)
    leaf = _cert("compress.example", "Compression Test CA", leaf_key, ca_key)
    staple = (Extension.make(E.status_request, b"\x30\x03\x0a\x01\x00", X.CT),)
    return H.Certificate(b"", (H.CertificateEntry(leaf, staple), H.CertificateEntry(ca)))


def body_of(cert: H.Certificate) -> bytes:
    return cert.encode()[4:]


# -- code points ----------------------------------------------------------------------------------


def test_code_points_of_rfc8879() -> None:
    assert int(E.compress_certificate) == 27 and int(HandshakeType.compressed_certificate) == 25
    assert (ALG.zlib, ALG.brotli, ALG.zstd) == (1, 2, 3)
    assert ALG(0x4000).name == "unknown_0x4000" and not ALG(0x4000).known  # an experimental value survives


# -- the extension --------------------------------------------------------------------------------


@pytest.mark.parametrize("context", [X.CH, X.CR])
def test_extension_encodes_byte_exact_and_decodes_back(context: str) -> None:
    ext = Extension.make(E.compress_certificate, (ALG.brotli, ALG.zlib), context)
    assert ext.data == bytes.fromhex("04 0002 0001")
    assert decode_extension(E.compress_certificate, ext.data, context) == (ALG.brotli, ALG.zlib)


def test_extension_rides_in_a_client_hello_and_a_certificate_request() -> None:
    ext = Extension.make(E.compress_certificate, (ALG.zstd, ALG(0x4000)), X.CH)
    hello = H.decode_message(H.ClientHello(random=b"r" * 32, cipher_suites=SUITES, extensions=(ext,)).encode())
    assert isinstance(hello, H.ClientHello)
    found = hello.ext(E.compress_certificate)
    assert found is not None and found.value == (ALG.zstd, ALG(0x4000))
    sigs = Extension.make(E.signature_algorithms, (SignatureScheme.ed25519,), X.CR)
    request = H.CertificateRequest(b"", (sigs, Extension.make(E.compress_certificate, (ALG.zlib,), X.CR)))
    again = H.decode_message(request.encode())
    assert isinstance(again, H.CertificateRequest) and again == request


def test_extension_length_bounds() -> None:
    most = bytes([254]) + b"\x00\x01" * 127  # algorithms<2..2^8-2>
    assert len(decode_extension(E.compress_certificate, most, X.CH)) == 127
    for data, why in [
        (b"\x00", "length 0"),  # an empty list
        (b"\x01\x00", "length 1"),  # below 2
        (b"\x03\x00\x01\x00", "odd length 3"),  # half an algorithm
        (bytes([255]) + bytes(255), "odd length 255"),  # above 2^8-2
        (b"\x04\x00\x01", "truncated"),  # the list is longer than the data
        (b"\x02\x00\x01\x00", "trailing"),  # data after the list
        (b"", "truncated"),
    ]:
        with pytest.raises(DecodeError, match=why) as info:
            decode_extension(E.compress_certificate, data, X.CH)
        assert info.value.description == AlertDescription.decode_error


# -- the message ----------------------------------------------------------------------------------

SAMPLE = H.CompressedCertificate(ALG.brotli, 0x010203, b"abc")
SAMPLE_RAW = bytes.fromhex("19 00000b 0002 010203 000003 616263")


def test_message_encodes_byte_exact() -> None:
    assert SAMPLE.encode() == SAMPLE_RAW and SAMPLE.raw == SAMPLE_RAW


def test_message_decodes_back_with_the_tls13_parsers() -> None:
    msg = H.decode_message(SAMPLE_RAW)
    assert isinstance(msg, H.CompressedCertificate) and msg == SAMPLE and msg.raw == SAMPLE_RAW
    assert msg.algorithm is ALG.brotli and msg.uncompressed_length == 0x010203
    unknown = H.decode_message(bytes.fromhex("19 000009 4000 000001 000001 7a"))
    assert isinstance(unknown, H.CompressedCertificate) and unknown.algorithm.name == "unknown_0x4000"


def test_message_is_unexpected_in_tls12() -> None:
    # RFC 8879, Section 3 and 6: TLS 1.3 and later only.
    with pytest.raises(AlertError) as info:
        H.decode_message(SAMPLE_RAW, H12.TLS12_PARSERS)
    assert info.value.description == AlertDescription.unexpected_message


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("", "algorithm truncated"),
        ("00", "algorithm truncated"),
        ("0001", "uncompressed_length truncated"),
        ("0001 0000", "uncompressed_length truncated"),
        ("0001 000010", "compressed_certificate_message length truncated"),
        ("0001 000010 000000", "compressed_certificate_message has length 0"),  # <1..2^24-1>
        ("0001 000010 000005 61", "compressed_certificate_message truncated"),
        ("0001 000010 000001 61 62", "1 unexpected trailing bytes"),
    ],
)
def test_malformed_message_is_decode_error(body: str, why: str) -> None:
    data = bytes.fromhex(body)
    raw = bytes([HandshakeType.compressed_certificate]) + len(data).to_bytes(3, "big") + data
    with pytest.raises(DecodeError, match=why) as info:
        H.decode_message(raw)
    assert info.value.description == AlertDescription.decode_error
    with pytest.raises(DecodeError):
        H.decode_message(raw + b"x")  # the header no longer matches


# -- compressing and decompressing ----------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALL, ids=lambda a: a.name)
def test_each_algorithm_round_trips_a_certificate_message(
    certificate: H.Certificate, algorithm: CertificateCompressionAlgorithm
) -> None:
    sent = CC.compress_certificate(certificate, algorithm)
    raw = sent.encode()
    assert sent.algorithm is algorithm and sent.uncompressed_length == len(body_of(certificate))
    assert len(sent.compressed_certificate_message) < sent.uncompressed_length
    received = H.decode_message(raw)
    assert isinstance(received, H.CompressedCertificate) and received == sent
    cert = CC.decompress_certificate(received, offered=(algorithm,))
    assert cert == certificate and cert.entries[0].extensions == certificate.entries[0].extensions
    assert cert.raw == raw  # the transcript hashes what was received: the CompressedCertificate
    assert CC.compress(algorithm, body_of(certificate)) == sent.compressed_certificate_message  # deterministic


@pytest.mark.parametrize("algorithm", ALL, ids=lambda a: a.name)
def test_bytes_round_trip_including_empty_and_incompressible(algorithm: CertificateCompressionAlgorithm) -> None:
    for data in (b"", b"x", bytes(range(256)) * 64):
        assert CC.decompress(algorithm, CC.compress(algorithm, data), len(data)) == data


def test_choose_takes_our_preference_among_what_the_peer_lists() -> None:
    assert CC.choose((ALG.zlib, ALG.zstd)) is ALG.zstd
    assert CC.choose((ALG.zlib, ALG.brotli, ALG.zstd)) is ALG.brotli
    assert CC.choose((ALG.zlib, ALG.zstd), preference=(ALG.zlib,)) is ALG.zlib
    assert CC.choose((0x4000,)) is None and CC.choose(()) is None
    assert CC.choose((0x4000,), preference=(0x4000,)) is None  # never one glasstls cannot decompress


def test_compress_refuses_an_algorithm_it_does_not_have() -> None:
    with pytest.raises(ValueError, match="unknown_0x4000"):
        CC.compress(0x4000, b"data")


# -- what the receiver refuses ----------------------------------------------------------------------


def refusal(description: AlertDescription, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(AlertError) as info:
        CC.decompress(*args, **kwargs)
    assert info.value.description == description, info.value
    return info.value.reason


@pytest.fixture(scope="module")
def bombs() -> dict[CertificateCompressionAlgorithm, bytes]:
    zeros = bytes(BOMB_SIZE)
    return {
        ALG.zlib: zlib.compress(zeros, 9),
        ALG.brotli: brotli.compress(zeros, quality=1),
        ALG.zstd: zstandard.ZstdCompressor(level=1).compress(zeros),
    }


@pytest.mark.parametrize("algorithm", ALL, ids=lambda a: a.name)
def test_a_bomb_claiming_a_small_length_stops_at_that_length(
    bombs: dict[CertificateCompressionAlgorithm, bytes], algorithm: CertificateCompressionAlgorithm
) -> None:
    bomb = bombs[algorithm]
    assert len(bomb) < 64 << 10  # 16 MiB of zeros in a message any peer can send
    tracemalloc.start()
    started = time.perf_counter()
    try:
        reason = refusal(AlertDescription.bad_certificate, algorithm, bomb, 4000)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "inflates past the uncompressed_length it claims (4000 bytes)" in reason
    assert elapsed < 1.0, elapsed  # it does not inflate 16 MiB first
    assert peak < 1 << 20, peak  # brotli returns one ~32 KiB block past the bound; nothing near 16 MiB


@pytest.mark.parametrize("algorithm", ALL, ids=lambda a: a.name)
def test_a_length_over_the_limit_is_refused_before_decompressing(
    bombs: dict[CertificateCompressionAlgorithm, bytes],
    algorithm: CertificateCompressionAlgorithm,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(data: bytes, cap: int) -> bytes:
        raise AssertionError("decompressed although the claimed length is over the limit")

    monkeypatch.setitem(CC._INFLATE, algorithm, never)
    claimed = BOMB_SIZE - 1  # the most a uint24 holds
    reason = refusal(AlertDescription.illegal_parameter, algorithm, bombs[algorithm], claimed)
    assert f"uncompressed_length of {claimed} bytes" in reason
    assert f"limit Limits.max_handshake_message = {CC.DEFAULT_LIMIT}" in reason
    reason = refusal(AlertDescription.illegal_parameter, algorithm, b"x", 1001, 1000, limit_name="my_limit")
    assert "(limit my_limit = 1000)" in reason


def test_the_default_limit_is_the_one_an_uncompressed_certificate_has(
    bombs: dict[CertificateCompressionAlgorithm, bytes],
) -> None:
    # RFC 8879, Section 5: the same limit as without compression, here Limits.max_handshake_message.
    assert CC.DEFAULT_LIMIT == H.HandshakeBuffer.MAX_MESSAGE == 1 << 18
    data = bytes(CC.DEFAULT_LIMIT)
    assert CC.decompress(ALG.zlib, zlib.compress(data), CC.DEFAULT_LIMIT) == data
    refusal(AlertDescription.illegal_parameter, ALG.zlib, zlib.compress(data + b"\x00"), CC.DEFAULT_LIMIT + 1)


@pytest.mark.parametrize("algorithm", ALL, ids=lambda a: a.name)
def test_a_length_that_does_not_match_is_bad_certificate(
    certificate: H.Certificate, algorithm: CertificateCompressionAlgorithm
) -> None:
    body = body_of(certificate)
    packed = CC.compress(algorithm, body)
    reason = refusal(AlertDescription.bad_certificate, algorithm, packed, len(body) - 1)
    assert f"inflates past the uncompressed_length it claims ({len(body) - 1} bytes)" in reason
    reason = refusal(AlertDescription.bad_certificate, algorithm, packed, len(body) + 1)
    assert f"inflates to {len(body)} bytes, not the {len(body) + 1}" in reason
    sent = CC.compress_certificate(certificate, algorithm)
    sent.uncompressed_length += 1
    received = H.decode_message(sent.encode())
    assert isinstance(received, H.CompressedCertificate)
    with pytest.raises(AlertError) as info:
        CC.decompress_certificate(received, offered=ALL)
    assert info.value.description == AlertDescription.bad_certificate


@pytest.mark.parametrize("algorithm", ALL, ids=lambda a: a.name)
def test_broken_streams_are_bad_certificate(
    certificate: H.Certificate, algorithm: CertificateCompressionAlgorithm
) -> None:
    body = body_of(certificate)
    packed = CC.compress(algorithm, body)
    cases = {
        "garbage": b"\xff" * 40,
        "cut short": packed[:-3],
        "trailing bytes": packed + b"\x00junk",
        "empty": b"",
    }
    for case, data in cases.items():
        reason = refusal(AlertDescription.bad_certificate, algorithm, data, len(body))
        assert f"does not decompress with {algorithm.name}" in reason, (case, reason)


def test_zstd_accepts_several_frames_and_refuses_a_huge_window() -> None:
    dctx = zstandard.ZstdCompressor(level=3)
    a, b = b"first frame " * 50, b"second frame " * 50
    skippable = b"\x50\x2a\x4d\x18" + (2).to_bytes(4, "little") + b"ab"  # RFC 8878, Section 3.1.2
    data = dctx.compress(a) + skippable + dctx.compress(b)
    assert CC.decompress(ALG.zstd, data, len(a + b)) == a + b
    big = zstandard.ZstdCompressor(
        compression_params=zstandard.ZstdCompressionParameters(window_log=27, write_content_size=False)
    )
    streamed = big.compressobj()
    framed = streamed.compress(b"small") + streamed.flush()
    assert zstandard.get_frame_parameters(framed).window_size > CC.ZSTD_MAX_WINDOW
    reason = refusal(AlertDescription.bad_certificate, ALG.zstd, framed, 5)
    assert "not valid zstd data" in reason


def test_zlib_means_rfc1950_not_raw_deflate() -> None:
    raw_deflate = zlib.compressobj(wbits=-15)
    data = raw_deflate.compress(b"certificate") + raw_deflate.flush()
    refusal(AlertDescription.bad_certificate, ALG.zlib, data, 11)


def test_an_algorithm_not_offered_or_unknown_is_illegal_parameter(certificate: H.Certificate) -> None:
    packed = CC.compress(ALG.zlib, b"body")
    reason = refusal(AlertDescription.illegal_parameter, ALG.zlib, packed, 4, offered=(ALG.brotli, ALG.zstd))
    assert "zlib (1), which was not offered" in reason and "offered: brotli, zstd" in reason
    reason = refusal(AlertDescription.illegal_parameter, 0x4000, packed, 4)
    assert "unknown_0x4000 (16384), which glasstls cannot decompress" in reason
    reason = refusal(AlertDescription.illegal_parameter, 0x4000, packed, 4, offered=(0x4000,))
    assert "cannot decompress" in reason
    sent = H.decode_message(CC.compress_certificate(certificate, ALG.brotli).encode())
    assert isinstance(sent, H.CompressedCertificate)
    with pytest.raises(AlertError) as info:
        CC.decompress_certificate(sent, offered=(ALG.zlib,))
    assert info.value.description == AlertDescription.illegal_parameter


def test_the_decompressed_certificate_is_parsed_strictly() -> None:
    # RFC 8879, Section 5: processed as if it had come uncompressed.
    for body in (b"\x00\x00\x00\x05\x00\x00\x01x\x00", b"\x00\x00\x00\x00junk", b""):
        msg = H.CompressedCertificate(ALG.zlib, len(body), CC.compress(ALG.zlib, body))
        with pytest.raises(DecodeError) as info:
            CC.decompress_certificate(msg, offered=(ALG.zlib,))
        assert info.value.description == AlertDescription.decode_error


# -- the trace ------------------------------------------------------------------------------------


def names_and_values(tree: Field) -> list[tuple[str, str]]:
    return [(c.name, c.value) for c in tree.children]


def assert_clean(tree: Field, allow_grease: bool = False) -> None:
    def bad(node: Field) -> bool:
        return node.name == UNDECODABLE or bool(node.note and not (allow_grease and node.note.startswith("GREASE")))

    found = [(n.name, n.note) for _, n in tree.walk() if bad(n)]
    assert not found, found


def test_field_tree_shows_the_message() -> None:
    assert MESSAGE_NAMES[HandshakeType.compressed_certificate] == "CompressedCertificate"
    assert message_name(SAMPLE_RAW) == "CompressedCertificate"
    for version in (0x0304, None):
        tree = field_tree(SAMPLE_RAW, "handshake", version)
        assert tree.name == "CompressedCertificate"
        assert names_and_values(tree) == [
            ("msg_type", "compressed_certificate (25)"),
            ("length", "11 bytes"),
            ("algorithm", "brotli (0x0002)"),
            ("uncompressed_length", "66051 bytes"),
            ("compressed_certificate_message length", "3 bytes"),
            ("compressed_certificate_message", "616263"),
        ]
        assert_clean(tree)
        assert [(leaf.start, leaf.end) for leaf in tree.leaves()] == [(0, 1), (1, 4), (4, 6), (6, 9), (9, 12), (12, 15)]


def test_field_tree_shows_what_the_parser_rejects() -> None:
    empty = bytes.fromhex("19 000008 0001 000010 000000")  # compressed_certificate_message<1..>
    with pytest.raises(DecodeError):
        H.decode_message(empty)
    tree = field_tree(empty, "handshake", 0x0304)
    assert names_and_values(tree)[-1] == ("compressed_certificate_message length", "0 bytes")
    cut = bytes.fromhex("19 000009 0001 000010 000005 61")  # 5 bytes announced, 1 there
    tree = field_tree(cut, "handshake", 0x0304)
    assert tree.children[-1].name == UNDECODABLE and "compressed_certificate_message" in tree.children[-1].note


def test_field_tree_shows_the_extension() -> None:
    ext = Extension.make(E.compress_certificate, (ALG.brotli, ALG.zstd, ALG(0x4000)), X.CH)
    raw = H.ClientHello(random=b"r" * 32, cipher_suites=SUITES, extensions=(ext,)).encode()
    tree = field_tree(raw, "handshake", 0x0304)
    assert_clean(tree)
    node = next(n for n in tree.find_all("Extension") if n.value.startswith("compress_certificate"))
    assert node.value == "compress_certificate: brotli (0x0002), zstd (0x0003), unknown_0x4000 (0x4000)"
    algorithms = node.find("algorithms")
    assert algorithms is not None
    assert [(c.name, c.value) for c in algorithms.children] == [
        ("length", "6 bytes"),
        ("CertificateCompressionAlgorithm", "brotli (0x0002)"),
        ("CertificateCompressionAlgorithm", "zstd (0x0003)"),
        ("CertificateCompressionAlgorithm", "unknown_0x4000 (0x4000)"),
    ]


def test_describe_and_headline(certificate: H.Certificate) -> None:
    sent = CC.compress_certificate(certificate, ALG.zstd)
    msg = H.decode_message(sent.encode())
    size, length = len(sent.compressed_certificate_message), sent.uncompressed_length
    assert describe.describe(msg) == [
        ("algorithm", "zstd"),
        ("uncompressed_length", f"{length} bytes"),
        ("compressed_certificate_message", f"{size} bytes"),
    ]
    line = headlines.headline(msg)
    assert line.startswith(f"zstd; {length} bytes compressed to {size} bytes (") and line.endswith("% smaller)")
    assert headlines.headline(H.CompressedCertificate(ALG(0x4000), 0, b"\x00")) == (
        "unknown_0x4000; 0 bytes compressed to 1 byte"
    )
    ext = Extension.make(E.compress_certificate, (ALG.brotli, ALG.zlib), X.CH)
    hello = H.ClientHello(random=b"r" * 32, cipher_suites=SUITES, extensions=(ext,))
    assert describe.extension_value(ext) == "brotli, zlib"
    assert "certificate compression brotli, zlib" in headlines.headline(hello)


# -- fuzz: whatever the parser accepts, the trace reads cleanly ---------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=40),
        st.builds(
            lambda alg, n, data: alg.to_bytes(2, "big") + n.to_bytes(3, "big") + len(data).to_bytes(3, "big") + data,
            st.integers(0, 0xFFFF),
            st.integers(0, (1 << 24) - 1),
            st.binary(max_size=30),
        ),
    )
)
def test_fuzz_parser_and_trace_agree(body: bytes) -> None:
    raw = bytes([HandshakeType.compressed_certificate]) + len(body).to_bytes(3, "big") + body
    tree = field_tree(raw, "handshake", 0x0304)
    assert sum(leaf.size for leaf in tree.leaves()) == len(raw)
    try:
        msg = H.decode_message(raw)
    except AlertError as exc:
        assert exc.description == AlertDescription.decode_error
        return
    assert isinstance(msg, H.CompressedCertificate) and msg.encode() == raw
    # The 16-bit open enums call 0x?a?a GREASE (RFC 8701) in every registry, this one included.
    assert_clean(tree, allow_grease=True)
    try:
        CC.decompress(msg.algorithm, msg.compressed_certificate_message, msg.uncompressed_length)
    except AlertError as exc:
        assert exc.description in (AlertDescription.bad_certificate, AlertDescription.illegal_parameter)


def test_compression_covers_the_certificate_body_without_its_header(certificate: H.Certificate) -> None:
    # The body, not the 4-byte header, is compressed (RFC 8879, Section 4; BoringSSL and OpenSSL agree).
    sent = CC.compress_certificate(certificate, ALG.zlib)
    body = zlib.decompress(sent.compressed_certificate_message)
    parsed = H.Certificate.parse(Reader(body))
    assert parsed == certificate and body == body_of(certificate)


@pytest.mark.parametrize("algorithm", ALL, ids=lambda a: a.name)
def test_clean_data_is_inflated_once_and_checked_every_time(
    algorithm: CertificateCompressionAlgorithm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chain met again is not inflated again, but the offered and limit checks run each time;
    a failure, and a chain over 16 KiB, are never kept."""
    data = bytes(range(256)) * 8
    packed = CC.compress(algorithm, data)
    calls: list[int] = []
    inflate = CC._INFLATE[algorithm]

    def counted(raw: bytes, cap: int) -> bytes:
        calls.append(len(raw))
        return inflate(raw, cap)

    monkeypatch.setitem(CC._INFLATE, algorithm, counted)
    CC._inflate_kept.cache_clear()
    assert CC.decompress(algorithm, packed, len(data)) == data
    assert CC.decompress(algorithm, packed, len(data)) == data
    assert len(calls) == 1
    refusal(AlertDescription.illegal_parameter, algorithm, packed, len(data), offered=())  # not offered
    refusal(AlertDescription.illegal_parameter, algorithm, packed, len(data), len(data) - 1)  # over the limit
    for _ in range(2):  # a wrong claimed length fails each time, inflating each time
        refusal(AlertDescription.bad_certificate, algorithm, packed, len(data) + 1)
    assert len(calls) == 3
    big = bytes(range(256)) * 80  # 20 KiB
    for _ in range(2):
        assert CC.decompress(algorithm, CC.compress(algorithm, big), len(big)) == big
    assert len(calls) == 5
