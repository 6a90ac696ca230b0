"""A TLS 1.3 stage keys its secret's HMAC once and copies it per derivation (issue 15): the
stages must derive what derive_secret gives, in any order and any number of times (a copy
leaves the keyed HMAC as it was; tests/test_fast_kdf_pairs.py holds the derivations to
hkdf_expand_label for every context length); and an empty salt's extract, from a kept HMAC
keyed with zeros, what HMAC under HashLen zeros gives, the kept one unchanged."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from glasstls.crypto import kdf
from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import CipherSuite

HASHES = {"sha256": 32, "sha384": 48}


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
