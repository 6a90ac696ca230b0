"""A TLS 1.3 stage keys its secret's HMAC once and copies it per derivation (issue 15):
hkdf_expand_label_keyed must give what hkdf_expand_label gives for the same secret, for every
label length, context length and output length of one block, under both hashes, in any order
and any number of times (a copy leaves the keyed HMAC as it was); and an empty salt's extract,
from a kept HMAC keyed with zeros, what HMAC under HashLen zeros gives, the kept one unchanged."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from glasstls.crypto import kdf
from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import CipherSuite

HASHES = {"sha256": 32, "sha384": 48}
LABELS = [b"", b"derived", b"c hs traffic", b"res master", b"x" * 249]  # 249: "tls13 " + it is 255 bytes


@pytest.mark.parametrize("hash_name", sorted(HASHES))
def test_keyed_expand_label_is_expand_label(hash_name: str) -> None:
    size = HASHES[hash_name]
    for secret in (bytes(size), b"\xff" * size, bytes(range(size)), b"k"):
        keyed = kdf.hmac_keyed(secret, hash_name)
        for label in LABELS:
            for n in (0, 1, 8, size, 255):
                context = bytes((n + i) % 256 for i in range(n))
                for length in (1, 12, 16, size - 1, size):
                    expected = kdf.hkdf_expand_label(hash_name, secret, label, context, length)
                    assert kdf.hkdf_expand_label_keyed(keyed, hash_name, label, context, length) == expected
        # The keyed HMAC is left as it was: the first derivation again gives the same.
        first = kdf.hkdf_expand_label(hash_name, secret, LABELS[1], b"", size)
        assert kdf.hkdf_expand_label_keyed(keyed, hash_name, LABELS[1], b"", size) == first


@pytest.mark.parametrize("hash_name", sorted(HASHES))
def test_keyed_expand_label_refuses_what_one_block_cannot_give(hash_name: str) -> None:
    keyed = kdf.hmac_keyed(b"s" * HASHES[hash_name], hash_name)
    with pytest.raises(ValueError):
        kdf.hkdf_expand_label_keyed(keyed, hash_name, b"key", b"", HASHES[hash_name] + 1)
    with pytest.raises(ValueError):  # opaque context<0..255>
        kdf.hkdf_expand_label_keyed(keyed, hash_name, b"key", bytes(256), 16)


@pytest.mark.parametrize("suite", [CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384])
def test_stages_derive_in_any_order_what_derive_secret_gives(suite: CipherSuite) -> None:
    s = TLS13_SUITES[suite]
    h = s.hash_name
    ths = [hashlib.new(h, bytes([i])).digest() for i in range(3)]
    stage = ks.EarlySecret(s, b"p" * s.hash_len).handshake_stage(b"z" * 32)
    for th in (*ths, *reversed(ths)):
        assert stage.server_handshake_traffic_secret(th) == ks.derive_secret(h, stage.secret, b"s hs traffic", th)
        assert stage.client_handshake_traffic_secret(th) == ks.derive_secret(h, stage.secret, b"c hs traffic", th)
    master = stage.master_stage()
    # Section 7.1: Extract(Derive-Secret(handshake secret, "derived", ""), 0)
    derived = ks.derive_secret(h, stage.secret, b"derived", ks.empty_hash(h))
    assert master.secret == hmac.new(derived, bytes(s.hash_len), h).digest()
    assert stage.master_stage().secret == master.secret  # asked twice, the same
    for th in (*ths, *reversed(ths)):
        assert master.resumption_master_secret(th) == ks.derive_secret(h, master.secret, b"res master", th)
        assert master.exporter_master_secret(th) == ks.derive_secret(h, master.secret, b"exp master", th)
        assert master.client_application_traffic_secret(th) == ks.derive_secret(h, master.secret, b"c ap traffic", th)


@pytest.mark.parametrize("hash_name", sorted(HASHES))
def test_an_empty_salt_extract_leaves_the_kept_zeros_hmac_as_it_was(hash_name: str) -> None:
    zeros = bytes(HASHES[hash_name])
    for ikm in (b"", b"\x00" * 32, bytes(range(48)), b"i" * 200, b"", bytes(range(48))):
        assert kdf.hkdf_extract(hash_name, b"", ikm) == hmac.new(zeros, ikm, hash_name).digest()
    assert kdf._ZERO_KEYED[hash_name].digest() == hmac.new(zeros, b"", hash_name).digest()
