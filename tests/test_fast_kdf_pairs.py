"""Derivations that key one HMAC and copy it (issue 15) give what one HKDF-Expand-Label each gives.

A traffic key and IV (RFC 8446, Section 7.3) come of one secret through hkdf_expand_label_pair: an
HMAC keyed once, copied for the key and fed the IV itself. An early secret made from a PSK keys its
HMAC once for the binder key, "derived" and the early traffic and exporter secrets (Section 7.1).
Each must equal the one-HMAC-per-derivation result, for every suite and output length of one block,
in any order and any number of times, and a suite's AEAD constructor must make the AEAD make_aead made.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from glasstls.crypto import kdf
from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.suites import TLS13_SUITES, Suite13
from glasstls.enums import CipherSuite

SUITES = sorted(TLS13_SUITES)
HASHES = {"sha256": 32, "sha384": 48}


def secrets(size: int) -> list[bytes]:
    return [bytes(size), b"\xff" * size, bytes(range(size)), b"k"]


@pytest.mark.parametrize("hash_name", sorted(HASHES))
def test_a_pair_is_two_expand_labels(hash_name: str) -> None:
    size = HASHES[hash_name]
    labels = [b"key", b"iv", b"", b"x" * 249]  # 249: "tls13 " + it is 255 bytes
    for secret in secrets(size):
        for first in labels:
            for second in labels:
                for lengths in ((16, 12), (32, 12), (1, size), (size, 1), (size, size)):
                    expected = tuple(kdf.hkdf_expand_label(hash_name, secret, label, b"", n)
                                     for label, n in zip((first, second), lengths, strict=True))  # fmt: skip
                    got = kdf.hkdf_expand_label_pair(hash_name, secret, first, lengths[0], second, lengths[1])
                    assert got == expected


@pytest.mark.parametrize("hash_name", sorted(HASHES))
def test_a_pair_refuses_what_one_block_cannot_give(hash_name: str) -> None:
    size = HASHES[hash_name]
    for lengths in ((size + 1, 12), (16, size + 1)):
        with pytest.raises(ValueError):
            kdf.hkdf_expand_label_pair(hash_name, b"s" * size, b"key", lengths[0], b"iv", lengths[1])


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_traffic_keys_are_the_labels_of_section_7_3(suite: CipherSuite) -> None:
    s = TLS13_SUITES[suite]
    for secret in secrets(s.hash_len):
        keys = ks.traffic_keys(s, secret)
        assert keys.key == kdf.hkdf_expand_label(s.hash_name, secret, b"key", b"", s.key_len)
        assert keys.iv == kdf.hkdf_expand_label(s.hash_name, secret, b"iv", b"", s.iv_len)
        assert ks.traffic_key_and_iv(s, secret) == (keys.key, keys.iv)


def reference_aead(s: Suite13, key: bytes) -> object:
    return AESCCM(key, tag_length=s.tag_len) if s.aead is AESCCM else s.aead(key)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_a_suites_aead_is_its_class_with_its_tag_length(suite: CipherSuite) -> None:
    s = TLS13_SUITES[suite]
    key, nonce = bytes(range(s.key_len)), bytes(12)
    for aead in (s.new_aead(key), s.make_aead(key)):
        assert type(aead) is s.aead
        sealed = aead.encrypt(nonce, b"content", b"header")
        assert sealed == reference_aead(s, key).encrypt(nonce, b"content", b"header")  # type: ignore[attr-defined]
        assert len(sealed) == len(b"content") + s.tag_len


def early_derivations(early: ks.EarlySecret, h: str) -> list[bytes]:
    th = [hashlib.new(h, bytes([i])).digest() for i in range(2)]
    return [
        early.binder_key(),
        early.binder_key(external=True),
        early.client_early_traffic_secret(th[0]),
        early.early_exporter_master_secret(th[1]),
        early.client_early_traffic_secret(th[1]),
        early.handshake_stage(b"z" * 32).secret,
        early.binder_key(),
    ]


def early_reference(s: Suite13, secret: bytes) -> list[bytes]:
    h = s.hash_name
    th = [hashlib.new(h, bytes([i])).digest() for i in range(2)]
    derived = ks.derive_secret(h, secret, b"derived", ks.empty_hash(h))
    return [
        ks.derive_secret(h, secret, b"res binder", ks.empty_hash(h)),
        ks.derive_secret(h, secret, b"ext binder", ks.empty_hash(h)),
        ks.derive_secret(h, secret, b"c e traffic", th[0]),
        ks.derive_secret(h, secret, b"e exp master", th[1]),
        ks.derive_secret(h, secret, b"c e traffic", th[1]),
        kdf.hkdf_extract(h, derived, b"z" * 32),
        ks.derive_secret(h, secret, b"res binder", ks.empty_hash(h)),
    ]


@pytest.mark.parametrize("suite", [CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384])
def test_an_early_secret_derives_what_derive_secret_gives(suite: CipherSuite) -> None:
    s = TLS13_SUITES[suite]
    for psk in (None, b"p" * s.hash_len, b"q"):
        early = ks.EarlySecret(s, psk)
        expected = early_reference(s, early.secret)
        assert early_derivations(early, s.hash_name) == expected
        assert early_derivations(early, s.hash_name) == expected  # the keyed HMAC left as it was
        reported: list[str] = []

        def report(name: str, value: bytes, into: list[str] = reported) -> None:
            into.append(name)

        carried = early.reporting(report)
        assert carried is not early
        assert early_derivations(carried, s.hash_name) == expected
        assert "client_early_traffic_secret" in reported and "handshake_secret" in reported
