"""hkdf_extract takes an empty salt's HashLen zeros from a table for TLS 1.3's hashes (issue 15):
the same PRK as HMAC under the zeros made afresh (RFC 5869, Section 2.2), for every hash, with
and without a salt, and the table's zeros are HashLen long."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from glasstls.crypto import kdf


@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512", "sha1"])
@pytest.mark.parametrize("ikm", [b"", b"\x00" * 32, bytes(range(48)), b"\x0b" * 22])
def test_an_empty_salt_is_hash_len_zeros(hash_name: str, ikm: bytes) -> None:
    zeros = bytes(hashlib.new(hash_name).digest_size)
    expected = hmac.new(zeros, ikm, hash_name).digest()
    assert kdf.hkdf_extract(hash_name, b"", ikm) == expected
    assert kdf.hkdf_extract(hash_name, zeros, ikm) == expected
    salt = bytes(range(13))
    assert kdf.hkdf_extract(hash_name, salt, ikm) == hmac.new(salt, ikm, hash_name).digest()


def test_the_kept_zeros_are_hash_len_long() -> None:
    for name, zeros in kdf._ZERO_SALTS.items():
        assert zeros == bytes(hashlib.new(name).digest_size)


def test_rfc5869_case_3() -> None:
    """RFC 5869, Appendix A.3: SHA-256, no salt."""
    prk = kdf.hkdf_extract("sha256", b"", b"\x0b" * 22)
    assert prk.hex() == "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04"
