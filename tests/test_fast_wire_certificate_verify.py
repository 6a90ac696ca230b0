"""The CertificateVerify read from the buffer in one go (issue 15) reads as the layout walk does.

CertificateVerify.parse reads the algorithm and the signature from the bytes when they fit and
walks its layout otherwise, so that the read that fails names the field. These tests hold it to
the layout (RFC 8446, Section 4.4.3; RFC 5246, Section 4.7) on good messages, on every truncation,
on every single-byte change and inside a longer buffer: same values, same errors.
"""

from __future__ import annotations

from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls.enums import SignatureScheme
from glasstls.errors import AlertError, DecodeError
from glasstls.wire import handshake as H
from glasstls.wire.codec import Reader


def _by_layout(r: Reader) -> H.CertificateVerify:
    return H.CertificateVerify(*[spec.read(r) for spec in H.CertificateVerify.layout])


def _read(parse: Any, data: bytes, pos: int = 0, end: int | None = None) -> tuple[str, Any]:
    r = Reader(data, "certificate_verify", pos, end)
    try:
        msg = parse(r)
        r.finish()
    except (DecodeError, AlertError) as exc:
        return type(exc).__name__, (str(exc), exc.description)
    return "value", (msg, type(msg.algorithm))


_MESSAGES = [
    H.CertificateVerify(SignatureScheme.ecdsa_secp256r1_sha256, bytes(range(71))),
    H.CertificateVerify(SignatureScheme.rsa_pss_rsae_sha256, b"\x5a" * 256),
    H.CertificateVerify(SignatureScheme(0x0A0A), b"\x01"),  # an unknown scheme, a one-byte signature
]


@pytest.mark.parametrize("msg", _MESSAGES)
def test_every_variant_parses_as_the_layout_does(msg: H.CertificateVerify) -> None:
    body = msg.encode()[4:]
    assert _read(H.CertificateVerify.parse, body) == ("value", (msg, type(msg.algorithm)))
    for variant in byte_variants(body, (0, 1, 2, 4, 0xFF)):
        assert _read(H.CertificateVerify.parse, variant) == _read(_by_layout, variant), variant.hex()


@pytest.mark.parametrize("msg", _MESSAGES)
def test_a_message_inside_a_longer_buffer_reads_alike(msg: H.CertificateVerify) -> None:
    """The fields must fit the reader's range, not its buffer: each split around that range reads alike."""
    body = msg.encode()[4:]
    for variant in (body, body[:-1], body + b"\x00", body[:3]):
        for extra in (b"", b"\x00", b"\xff" * 300):
            data = b"\x0f\x00" + variant + extra
            got = _read(H.CertificateVerify.parse, data, 2, 2 + len(variant))
            assert got == _read(_by_layout, data, 2, 2 + len(variant)), (variant + extra).hex()


def test_a_message_in_a_bytearray_reads_alike() -> None:
    body = _MESSAGES[0].encode()[4:]
    r = Reader(bytearray(body), "certificate_verify")  # type: ignore[arg-type]  # what a caller may hand in
    assert H.CertificateVerify.parse(r) == _MESSAGES[0]
    r.finish()
