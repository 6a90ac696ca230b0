"""Derivations that key one HMAC and copy it (issue 15) give what one HKDF-Expand-Label each gives.

A traffic key and IV (RFC 8446, Section 7.3) come of one secret through hkdf_expand_pair, from the
HkdfLabel inputs each suite makes once: an HMAC keyed once, copied for the key and fed the IV
itself. An early secret made from a PSK keys its HMAC once for the binder key, "derived" and the
early traffic and exporter secrets (Section 7.1), as the later stages do. Each must equal the
one-HMAC-per-derivation result, for every suite and output length of one block, in any order and
any number of times, and a suite's AEAD constructor must make the AEAD its class makes.
"""

from __future__ import annotations

import hashlib
import hmac

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
                    pairs = list(zip((first, second), lengths, strict=True))
                    expected = tuple(kdf.hkdf_expand_label(hash_name, secret, label, b"", n) for label, n in pairs)
                    inputs = [kdf.hkdf_label(label, b"", n) + b"\x01" for label, n in pairs]
                    got = kdf.hkdf_expand_pair(hash_name, secret, inputs[0], lengths[0], inputs[1], lengths[1])
                    assert got == expected


def test_a_suite_whose_key_or_iv_needs_two_blocks_is_refused() -> None:
    s = TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
    for key_len, iv_len in ((33, 12), (16, 33)):
        with pytest.raises(ValueError, match="more than one block"):
            Suite13(s.suite, s.hash_name, s.hash_len, key_len, iv_len, s.aead, s.aead_name)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_traffic_keys_are_the_labels_of_section_7_3(suite: CipherSuite) -> None:
    s = TLS13_SUITES[suite]
    for secret in secrets(s.hash_len):
        keys = ks.traffic_keys(s, secret)
        assert keys.key == kdf.hkdf_expand_label(s.hash_name, secret, b"key", b"", s.key_len)
        assert keys.iv == kdf.hkdf_expand_label(s.hash_name, secret, b"iv", b"", s.iv_len)
        assert ks.traffic_key_and_iv(s, secret) == (keys.key, keys.iv)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_a_finished_key_is_the_label_of_section_4_4_4(suite: CipherSuite) -> None:
    s = TLS13_SUITES[suite]
    for secret in secrets(s.hash_len):
        expected = kdf.hkdf_expand_label(s.hash_name, secret, b"finished", b"", s.hash_len)
        assert ks.finished_key(s, secret) == expected
        for th in (b"", hashlib.new(s.hash_name, secret).digest()):
            assert ks.finished_verify_data(s, secret, th) == kdf.hmac_digest(expected, th, s.hash_name)


@pytest.mark.parametrize("hash_name", sorted(HASHES))
def test_an_hmac_of_an_hmac_is_the_second_keyed_by_the_first(hash_name: str) -> None:
    """kdf.hmac_of_hmac, one call for the two HMACs of a Finished or binder, against hmac's own."""
    for key in [*secrets(HASHES[hash_name]), b"", b"k" * 200]:
        for first, second in ((b"", b""), (b"finished", bytes(HASHES[hash_name])), (b"x" * 300, b"y")):
            inner = hmac.new(key, first, hash_name).digest()
            expected = hmac.new(inner, second, hash_name).digest()
            assert kdf.hmac_of_hmac(key, first, second, hash_name) == expected


def reference_aead(s: Suite13, key: bytes) -> object:
    return AESCCM(key, tag_length=s.tag_len) if s.aead is AESCCM else s.aead(key)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_a_suites_aead_is_its_class_with_its_tag_length(suite: CipherSuite) -> None:
    s = TLS13_SUITES[suite]
    key, nonce = bytes(range(s.key_len)), bytes(12)
    aead = s.new_aead(key)
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


@pytest.mark.parametrize("suite", [CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384])
def test_a_stage_derives_from_a_context_of_any_length_as_expand_label(suite: CipherSuite) -> None:
    """The kept HkdfLabel heads hold for a transcript hash of the suite's length; any other context is
    derived as HKDF-Expand-Label to its own length, as Derive-Secret was before."""
    s = TLS13_SUITES[suite]
    h = s.hash_name
    early = ks.EarlySecret(s, b"p" * s.hash_len)
    stage = early.handshake_stage(b"z" * 32)
    master = stage.master_stage()
    for n in (0, 1, 20, s.hash_len - 1, s.hash_len, 32, 48):
        context = bytes(range(n))
        for derive, secret, label in (
            (early.client_early_traffic_secret, early.secret, b"c e traffic"),
            (stage.client_handshake_traffic_secret, stage.secret, b"c hs traffic"),
            (stage.server_handshake_traffic_secret, stage.secret, b"s hs traffic"),
            (master.resumption_master_secret, master.secret, b"res master"),
            (master.exporter_master_secret, master.secret, b"exp master"),
        ):
            assert derive(context) == kdf.hkdf_expand_label(h, secret, label, context, n)


@pytest.mark.parametrize("hash_name", sorted(HASHES))
def test_derive_secret_heads_are_the_hkdf_labels_and_stay_bounded(hash_name: str) -> None:
    size = HASHES[hash_name]
    heads = kdf.derive_secret_heads(hash_name)
    assert kdf.derive_secret_heads(hash_name) is heads
    labels = [b"c hs traffic", b"derived", *(b"label %d" % i for i in range(kdf._HEADS_MAX + 3)), b"derived"]
    for label in labels:
        context = bytes(range(size))
        assert heads[label] + context == kdf.hkdf_label(label, context, size)
        assert len(heads) <= kdf._HEADS_MAX
