"""HKDF-Expand-Label (RFC 8446, Section 7.1) against cryptography's HKDF-Expand (RFC 5869) over an
HkdfLabel built here field by field: glasstls keeps the label's head per (hash, label, length,
context length), so each case is derived twice, the second time from what was kept."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from glasstls.crypto import kdf
from glasstls.crypto.kdf import hkdf_expand_label

_HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}


def reference(hash_name: str, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(_HASHES[hash_name], length, info).derive(secret)


CASES = [
    ("sha256", b"key", b"", 16),  # a traffic key (Section 7.3)
    ("sha256", b"iv", b"", 12),
    ("sha256", b"finished", b"", 32),  # Section 4.4.4
    ("sha256", b"c hs traffic", bytes(range(32)), 32),  # Derive-Secret over a transcript hash
    ("sha256", b"resumption", b"\x00", 32),  # a ticket's PSK from its nonce (Section 4.6.1)
    ("sha256", b"exporter", bytes(32), 100),  # more than one HKDF-Expand block (an exporter's length)
    ("sha384", b"key", b"", 32),
    ("sha384", b"s ap traffic", bytes(range(48)), 48),
    ("sha384", b"exporter", b"", 48 * 3 + 1),
    ("sha256", b"x", bytes(range(255)), 32),  # the longest context opaque context<0..255> allows
]


@pytest.mark.parametrize(("hash_name", "label", "context", "length"), CASES)
def test_expand_label_matches_rfc5869_expand(hash_name: str, label: bytes, context: bytes, length: int) -> None:
    secret = bytes(range(64, 64 + (48 if hash_name == "sha384" else 32)))
    expected = reference(hash_name, secret, label, context, length)
    assert hkdf_expand_label(hash_name, secret, label, context, length) == expected
    assert hkdf_expand_label(hash_name, secret, label, context, length) == expected  # from the kept head


def test_same_label_and_length_under_two_hashes() -> None:
    # 48 bytes are one SHA-384 block but two SHA-256 blocks: what is kept for one hash is not used for the other.
    secret = bytes(48)
    for hash_name in ("sha384", "sha256", "sha384"):
        assert hkdf_expand_label(hash_name, secret, b"lbl", b"", 48) == reference(hash_name, secret, b"lbl", b"", 48)


def test_a_context_longer_than_255_bytes_is_refused() -> None:
    with pytest.raises(ValueError):
        hkdf_expand_label("sha256", bytes(32), b"x", bytes(256), 32)


def test_application_labels_beyond_the_bound_are_derived_right(monkeypatch: pytest.MonkeyPatch) -> None:
    # Exporter labels are the application's (RFC 8446, Section 7.5): the table stops growing at its
    # bound, and a label it could not keep is derived as any other.
    monkeypatch.setattr(kdf, "_HEADS", {})
    secret = bytes(32)
    for i in range(kdf._HEADS_MAX + 20):
        label = b"EXPORTER-app-%d" % i
        assert hkdf_expand_label("sha256", secret, label, b"", 32) == reference("sha256", secret, label, b"", 32)
    assert len(kdf._HEADS) == kdf._HEADS_MAX
