"""Known answers for the TLS 1.2 PRF and its derivations (RFC 5246, Sections 5, 6.3, 7.4.9, 8.1;
RFC 7627, Section 4; RFC 5705, Section 4).

Three independent sources: the PRF test vectors published on the IETF TLS
mailing list (hard-coded below, and reproduced by ``openssl kdf`` too),
OpenSSL's own TLS1-PRF run through ``openssl kdf`` for many hashes and lengths,
and tlslite-ng's PRF and key derivations.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from functools import cache

import pytest

from glasstls.crypto.prf12 import (
    KeyBlock,
    MasterPrf,
    export_keying_material,
    extended_master_secret,
    finished_verify_data,
    key_block,
    master_secret,
    p_hash,
    prf,
)
from glasstls.crypto.suites import TLS12_SUITES
from glasstls.enums import CipherSuite

# The TLS 1.2 PRF vectors posted to the IETF TLS mailing list (and used by
# many implementations' test suites), label "test label".
SHA256_VECTOR = {
    "secret": "9bbe436ba940f017b17652849a71db35",
    "seed": "a0ba9f936cda311827a6f796ffd5198c",
    "output": (
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa0"
        "22f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66"
    ),
}
SHA384_VECTOR = {
    "secret": "b80b733d6ceefcdc71566ea48e5567df",
    "seed": "cd665cf6a8447dd6ff8b27555edb7465",
    "output": (
        "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534"
        "cb400fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd"
        "4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f"
    ),
}


@pytest.mark.parametrize(("hash_name", "vector"), [("sha256", SHA256_VECTOR), ("sha384", SHA384_VECTOR)])
def test_published_prf_vectors(hash_name: str, vector: dict[str, str]) -> None:
    expected = bytes.fromhex(vector["output"])
    out = prf(hash_name, bytes.fromhex(vector["secret"]), b"test label", bytes.fromhex(vector["seed"]), len(expected))
    assert out == expected
    # Every prefix is the same stream cut shorter.
    for n in (1, 12, 31, 32, 33, 48, 64, len(expected) - 1):
        assert (
            prf(hash_name, bytes.fromhex(vector["secret"]), b"test label", bytes.fromhex(vector["seed"]), n)
            == (expected[:n])
        )


# -- OpenSSL's TLS1-PRF through `openssl kdf` ------------------------------------

_DIGESTS = {"sha1": "SHA1", "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}


@cache
def _openssl_kdf_available() -> bool:
    exe = shutil.which("openssl")
    if exe is None:
        return False
    probe = subprocess.run(
        [exe, "kdf", "-keylen", "4", "-kdfopt", "digest:SHA256", "-kdfopt", "hexsecret:00", "-kdfopt", "hexseed:00",
         "TLS1-PRF"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return probe.returncode == 0 and ":" in probe.stdout


@pytest.fixture
def openssl_prf():
    if not _openssl_kdf_available():
        pytest.skip("needs OpenSSL 3's `openssl kdf ... TLS1-PRF`")

    def run(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
        # OpenSSL's TLS1-PRF takes label + seed as one seed (as P_hash does).
        out = subprocess.run(
            ["openssl", "kdf", "-keylen", str(length), "-kdfopt", f"digest:{_DIGESTS[hash_name]}",
             "-kdfopt", f"hexsecret:{secret.hex()}", "-kdfopt", f"hexseed:{(label + seed).hex()}", "TLS1-PRF"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return bytes.fromhex(out.strip().replace(":", ""))

    return run


def _rng(tag: str) -> random.Random:
    return random.Random(f"glasstls-prf12-{tag}")


def test_openssl_reproduces_the_published_vectors(openssl_prf) -> None:
    for hash_name, vector in (("sha256", SHA256_VECTOR), ("sha384", SHA384_VECTOR)):
        expected = bytes.fromhex(vector["output"])
        secret, seed = bytes.fromhex(vector["secret"]), bytes.fromhex(vector["seed"])
        assert openssl_prf(hash_name, secret, b"test label", seed, len(expected)) == expected


@pytest.mark.parametrize("hash_name", sorted(_DIGESTS))
@pytest.mark.parametrize("length", [1, 12, 20, 32, 33, 48, 64, 65, 104, 200])
def test_prf_matches_openssl(openssl_prf, hash_name: str, length: int) -> None:
    rng = _rng(f"{hash_name}-{length}")
    secret = rng.randbytes(rng.choice((0, 1, 16, 48, 64, 65, 130)))  # empty and longer-than-a-block keys too
    seed = rng.randbytes(rng.choice((0, 13, 64, 77)))
    assert prf(hash_name, secret, b"some label", seed, length) == openssl_prf(
        hash_name, secret, b"some label", seed, length
    )


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_master_secret_matches_openssl(openssl_prf, hash_name: str) -> None:
    rng = _rng(f"ms-{hash_name}")
    pms, cr, sr = rng.randbytes(48), rng.randbytes(32), rng.randbytes(32)
    out = master_secret(hash_name, pms, cr, sr)
    assert len(out) == 48
    assert out == openssl_prf(hash_name, pms, b"master secret", cr + sr, 48)
    # Order matters: client_random first (RFC 5246, Section 8.1).
    assert out != master_secret(hash_name, pms, sr, cr)


@pytest.mark.parametrize(("hash_name", "hash_len"), [("sha256", 32), ("sha384", 48)])
def test_extended_master_secret_matches_openssl(openssl_prf, hash_name: str, hash_len: int) -> None:
    rng = _rng(f"ems-{hash_name}")
    pms, session_hash = rng.randbytes(32), rng.randbytes(hash_len)  # an X25519 shared secret is 32 bytes
    out = extended_master_secret(hash_name, pms, session_hash)
    assert len(out) == 48
    assert out == openssl_prf(hash_name, pms, b"extended master secret", session_hash, 48)


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
@pytest.mark.parametrize("sender", ["client", "server"])
def test_finished_matches_openssl(openssl_prf, hash_name: str, sender: str) -> None:
    rng = _rng(f"fin-{hash_name}-{sender}")
    master, transcript = rng.randbytes(48), rng.randbytes(32 if hash_name == "sha256" else 48)
    out = finished_verify_data(hash_name, master, sender, transcript)
    assert len(out) == 12
    assert out == openssl_prf(hash_name, master, f"{sender} finished".encode(), transcript, 12)


@pytest.mark.parametrize("suite", list(TLS12_SUITES.values()), ids=lambda s: s.name)
def test_key_block_matches_openssl(openssl_prf, suite) -> None:
    rng = _rng(f"kb-{suite.name}")
    master, cr, sr = rng.randbytes(48), rng.randbytes(32), rng.randbytes(32)
    kb = key_block(suite, master, cr, sr)
    joined = kb.client_mac_key + kb.server_mac_key + kb.client_key + kb.server_key + kb.client_iv + kb.server_iv
    # RFC 5246, Section 6.3: the seed is server_random + client_random (the reverse of the master secret's).
    assert joined == openssl_prf(suite.prf_hash, master, b"key expansion", sr + cr, len(joined))


@pytest.mark.parametrize("context", [None, b"", b"some context"])
@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_exporter_matches_openssl(openssl_prf, hash_name: str, context: bytes | None) -> None:
    rng = _rng(f"ekm-{hash_name}-{context!r}")
    master, cr, sr = rng.randbytes(48), rng.randbytes(32), rng.randbytes(32)
    seed = cr + sr if context is None else cr + sr + len(context).to_bytes(2, "big") + context
    out = export_keying_material(hash_name, master, cr, sr, b"EXPORTER-test", context, 70)
    assert out == openssl_prf(hash_name, master, b"EXPORTER-test", seed, 70)


# -- tlslite-ng, an independent Python implementation ---------------------------


@pytest.mark.parametrize(
    "suite_id",
    [CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
     CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
     CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA],
)  # fmt: skip
def test_derivations_match_tlslite(suite_id: CipherSuite) -> None:
    mathtls = pytest.importorskip("tlslite.mathtls")
    handshakehashes = pytest.importorskip("tlslite.handshakehashes")
    suite = TLS12_SUITES[suite_id]
    rng = _rng(f"tlslite-{suite.name}")
    pms, cr, sr = rng.randbytes(48), rng.randbytes(32), rng.randbytes(32)
    hh = handshakehashes.HandshakeHashes()
    hh.update(rng.randbytes(300))
    transcript = hh.digest(suite.prf_hash)

    def tl(secret: bytes, label: bytes, n: int = 48) -> bytes:
        return bytes(
            mathtls.calc_key((3, 3), bytearray(secret), int(suite_id), label, handshake_hashes=hh,
                             client_random=bytearray(cr), server_random=bytearray(sr), output_length=n)
        )  # fmt: skip

    # tlslite picks the PRF hash from its own list of SHA-384 suites: this checks our suite table too.
    master = master_secret(suite.prf_hash, pms, cr, sr)
    assert master == tl(pms, b"master secret")
    assert extended_master_secret(suite.prf_hash, pms, transcript) == tl(pms, b"extended master secret")
    assert finished_verify_data(suite.prf_hash, master, "client", transcript) == tl(master, b"client finished", 12)
    assert finished_verify_data(suite.prf_hash, master, "server", transcript) == tl(master, b"server finished", 12)
    kb = key_block(suite, master, cr, sr)
    joined = kb.client_mac_key + kb.server_mac_key + kb.client_key + kb.server_key + kb.client_iv + kb.server_iv
    assert joined == tl(master, b"key expansion", len(joined))


# -- shapes and misuse -----------------------------------------------------------


@pytest.mark.parametrize("suite", list(TLS12_SUITES.values()), ids=lambda s: s.name)
def test_key_block_shapes(suite) -> None:
    kb = key_block(suite, bytes(48), bytes(32), bytes(range(32)))
    assert isinstance(kb, KeyBlock)
    assert len(kb.client_mac_key) == len(kb.server_mac_key) == suite.mac_len
    assert len(kb.client_key) == len(kb.server_key) == suite.key_len
    assert len(kb.client_iv) == len(kb.server_iv) == suite.fixed_iv_len
    if suite.aead:
        assert kb.client_mac_key == b""
    else:
        assert kb.client_iv == b""
    assert kb.client_key != kb.server_key
    assert kb.client_key.hex() not in repr(kb)  # secrets stay out of logs


def test_prf_edges() -> None:
    assert prf("sha256", b"k", b"l", b"s", 0) == b""
    with pytest.raises(ValueError):
        prf("sha256", b"k", b"l", b"s", -1)
    # P_hash output is one stream: a longer request extends, never changes, a shorter one.
    long = p_hash("sha384", b"key", b"seed", 1000)
    assert [p_hash("sha384", b"key", b"seed", n) for n in (1, 47, 48, 49, 96, 999)] == [
        long[:n] for n in (1, 47, 48, 49, 96, 999)
    ]


def test_finished_rejects_unknown_sender() -> None:
    with pytest.raises(ValueError):
        finished_verify_data("sha256", bytes(48), "Client", bytes(32))
    with pytest.raises(ValueError):
        MasterPrf("sha256", bytes(48)).finished("Client", bytes(32))


@pytest.mark.parametrize("suite", list(TLS12_SUITES.values()), ids=lambda s: s.name)
def test_one_master_prf_serves_a_whole_handshake(openssl_prf, suite) -> None:
    """A handshake keys one MasterPrf and uses it for its key block and both Finished, in that
    order and again: each use starts from the keyed HMAC, none from what an earlier one fed it."""
    rng = _rng(f"master-prf-{suite.name}")
    master, cr, sr = rng.randbytes(48), rng.randbytes(32), rng.randbytes(32)
    hashes = [rng.randbytes(48 if suite.prf_hash == "sha384" else 32) for _ in range(2)]
    shared = MasterPrf(suite.prf_hash, master)
    for _ in range(2):
        assert shared.key_block(suite, cr, sr) == key_block(suite, master, cr, sr)
        for sender, handshake_hash in zip(("server", "client"), hashes, strict=True):
            expected = openssl_prf(suite.prf_hash, master, f"{sender} finished".encode(), handshake_hash, 12)
            assert shared.finished(sender, handshake_hash) == expected


def test_exporter_context_none_differs_from_empty() -> None:
    args = ("sha256", bytes(48), bytes(32), bytes(32), b"EXPORTER-x")
    assert export_keying_material(*args, None, 32) != export_keying_material(*args, b"", 32)
    assert export_keying_material(*args, None, 32) == export_keying_material(
        "sha256", *args[1:4], "EXPORTER-x", None, 32
    )


@pytest.mark.parametrize(
    "label", [b"master secret", b"extended master secret", b"key expansion", b"client finished", b"server finished"]
)
def test_exporter_refuses_the_prf_own_labels(label: bytes) -> None:
    # These would hand out the session's keys or Finished values (OpenSSL refuses them as well).
    with pytest.raises(ValueError):
        export_keying_material("sha256", bytes(48), bytes(32), bytes(32), label, None, 12)


def test_exporter_refuses_oversized_context() -> None:
    with pytest.raises(ValueError):
        export_keying_material("sha256", bytes(48), bytes(32), bytes(32), b"EXPORTER-x", bytes(1 << 16), 12)
