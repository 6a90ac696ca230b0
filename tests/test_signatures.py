"""Signature schemes: round trips, tampering, key fit, deterministic replays, RFC 8448."""

from __future__ import annotations

import datetime
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa, x25519
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from glasstls.crypto import signatures as sg
from glasstls.crypto.rand import ReplayRandomness
from glasstls.enums import AlertDescription, SignatureScheme
from glasstls.errors import AlertError

S = SignatureScheme
MESSAGE = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + bytes(range(32))


def fixed(byte: int = 0x5A):
    """Injected (not system) randomness that always returns the same bytes."""
    return lambda n: bytes([byte]) * n


@pytest.fixture(scope="module")
def keys():
    return {
        "rsa2048": rsa.generate_private_key(65537, 2048),
        "rsa1024": rsa.generate_private_key(65537, 1024),
        "p256": ec.generate_private_key(ec.SECP256R1()),
        "p384": ec.generate_private_key(ec.SECP384R1()),
        "p521": ec.generate_private_key(ec.SECP521R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "ed448": ed448.Ed448PrivateKey.generate(),
    }


# The key each scheme is exercised with.
SCHEME_KEY = {
    S.ecdsa_secp256r1_sha256: "p256",
    S.ecdsa_secp384r1_sha384: "p384",
    S.ecdsa_secp521r1_sha512: "p521",
    S.rsa_pss_rsae_sha256: "rsa2048",
    S.rsa_pss_rsae_sha384: "rsa2048",
    S.rsa_pss_rsae_sha512: "rsa2048",
    S.rsa_pss_pss_sha256: "rsa2048",
    S.rsa_pss_pss_sha384: "rsa2048",
    S.rsa_pss_pss_sha512: "rsa2048",
    S.ed25519: "ed25519",
    S.ed448: "ed448",
    S.rsa_pkcs1_sha256: "rsa2048",
    S.rsa_pkcs1_sha384: "rsa2048",
    S.rsa_pkcs1_sha512: "rsa2048",
    S.rsa_pkcs1_sha1: "rsa2048",
    S.ecdsa_sha1: "p256",
}
SIGNABLE = [s for s in SCHEME_KEY if s not in (S.rsa_pkcs1_sha1, S.ecdsa_sha1)]


def expect_alert(description, fn, *args, contains: str = "", **kwargs) -> AlertError:
    with pytest.raises(AlertError) as info:
        fn(*args, **kwargs)
    assert info.value.description == description, info.value
    assert contains in info.value.reason, info.value.reason
    return info.value


# ---------------------------------------------------------------------------
# Scheme sets
# ---------------------------------------------------------------------------


def test_scheme_sets():
    assert set(SCHEME_KEY) == sg.TLS12_SIGNATURE_SCHEMES
    assert {
        S.ecdsa_secp256r1_sha256,
        S.ecdsa_secp384r1_sha384,
        S.ecdsa_secp521r1_sha512,
        S.rsa_pss_rsae_sha256,
        S.rsa_pss_rsae_sha384,
        S.rsa_pss_rsae_sha512,
        S.rsa_pss_pss_sha256,
        S.rsa_pss_pss_sha384,
        S.rsa_pss_pss_sha512,
        S.ed25519,
        S.ed448,
    } == sg.TLS13_SIGNATURE_SCHEMES


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SIGNABLE, ids=str)
@pytest.mark.parametrize("source", ["system", "injected"])
def test_sign_verify_round_trip(keys, scheme, source):
    key = keys[SCHEME_KEY[scheme]]
    tls13 = scheme in sg.TLS13_SIGNATURE_SCHEMES
    randomness = os.urandom if source == "system" else fixed()
    signature = sg.sign(key, scheme, MESSAGE, randomness, tls13=tls13)
    sg.verify(key.public_key(), scheme, MESSAGE, signature, tls13=tls13)
    if not tls13:
        expect_alert(AlertDescription.illegal_parameter, sg.sign, key, scheme, MESSAGE, randomness)


@pytest.mark.parametrize("scheme", SIGNABLE, ids=str)
def test_signatures_verify_with_cryptography_directly(keys, scheme):
    # Independent check of the wire format: the backend's own verify accepts ours.
    key = keys[SCHEME_KEY[scheme]]
    for randomness in (os.urandom, fixed()):
        signature = sg.sign(key, scheme, MESSAGE, randomness, tls13=False)
        _backend_verify(key.public_key(), scheme, MESSAGE, signature)


def _backend_verify(public, scheme, message, signature):
    name = scheme.name
    if name in ("ed25519", "ed448"):
        public.verify(signature, message)
        return
    algorithm = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384}.get(
        name.rsplit("_", 1)[1], hashes.SHA512
    )()
    if name.startswith("ecdsa"):
        public.verify(signature, message, ec.ECDSA(algorithm))
    elif name.startswith("rsa_pkcs1"):
        public.verify(signature, message, padding.PKCS1v15(), algorithm)
    else:
        pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
        public.verify(signature, message, pss, algorithm)


@pytest.mark.parametrize("scheme", [S.rsa_pkcs1_sha1, S.ecdsa_sha1], ids=str)
def test_sha1_schemes_tls12_only(keys, scheme):
    """SHA-1 signs and verifies under TLS 1.2 rules (RFC 5246, 7.4.1.4.1; used only when configured),
    never under TLS 1.3's (RFC 8446, 4.2.3)."""
    key = keys[SCHEME_KEY[scheme]]
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA1())
    else:
        signature = key.sign(MESSAGE, ec.ECDSA(hashes.SHA1()))
    sg.verify(key.public_key(), scheme, MESSAGE, signature, tls13=False)
    _backend_verify(key.public_key(), scheme, MESSAGE, sg.sign(key, scheme, MESSAGE, os.urandom, tls13=False))
    expect_alert(
        AlertDescription.illegal_parameter, sg.sign, key, scheme, MESSAGE, os.urandom, contains="not allowed in TLS 1.3"
    )
    assert scheme not in sg.schemes_for_key(key, tls13=False)  # never chosen unless named
    expect_alert(
        AlertDescription.illegal_parameter,
        sg.verify,
        key.public_key(),
        scheme,
        MESSAGE,
        signature,
        contains="not allowed in TLS 1.3",
    )


def test_tls12_ecdsa_may_pair_any_curve_with_any_hash(keys):
    key = keys["p256"]
    signature = sg.sign(key, S.ecdsa_secp384r1_sha384, MESSAGE, os.urandom, tls13=False)
    sg.verify(key.public_key(), S.ecdsa_secp384r1_sha384, MESSAGE, signature, tls13=False)
    # ... but not in TLS 1.3, where the scheme names the curve.
    expect_alert(
        AlertDescription.illegal_parameter,
        sg.verify,
        key.public_key(),
        S.ecdsa_secp384r1_sha384,
        MESSAGE,
        signature,
        contains="does not fit an ECDSA key on secp256r1",
    )


# ---------------------------------------------------------------------------
# Tampering → decrypt_error
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SIGNABLE, ids=str)
def test_tampered_signature_is_decrypt_error(keys, scheme):
    key = keys[SCHEME_KEY[scheme]]
    tls13 = scheme in sg.TLS13_SIGNATURE_SCHEMES
    signature = sg.sign(key, scheme, MESSAGE, os.urandom, tls13=tls13)
    public = key.public_key()
    flipped = bytearray(signature)
    flipped[len(flipped) // 2] ^= 0x01
    reason = f"CertificateVerify signature ({scheme.name}) does not verify"
    for bad_signature, message in (
        (bytes(flipped), MESSAGE),
        (signature[:-1], MESSAGE),
        (signature + b"\x00", MESSAGE),
        (b"", MESSAGE),
        (signature, MESSAGE + b"!"),
    ):
        err = expect_alert(
            AlertDescription.decrypt_error,
            sg.verify,
            public,
            scheme,
            message,
            bad_signature,
            what="CertificateVerify signature",
            tls13=tls13,
        )
        assert err.reason == reason


def test_default_what_is_signature(keys):
    err = expect_alert(
        AlertDescription.decrypt_error, sg.verify, keys["ed25519"].public_key(), S.ed25519, b"m", bytes(64)
    )
    assert err.reason == "signature (ed25519) does not verify"


def test_signature_from_another_key_is_decrypt_error(keys):
    other = rsa.generate_private_key(65537, 2048)
    signature = sg.sign(other, S.rsa_pss_rsae_sha256, MESSAGE, os.urandom)
    expect_alert(
        AlertDescription.decrypt_error,
        sg.verify,
        keys["rsa2048"].public_key(),
        S.rsa_pss_rsae_sha256,
        MESSAGE,
        signature,
    )


@settings(max_examples=100, deadline=None)
@given(scheme=st.sampled_from(sorted(sg.TLS13_SIGNATURE_SCHEMES)), junk=st.binary(max_size=600))
def test_random_signature_bytes_are_decrypt_error(keys, scheme, junk):
    public = keys[SCHEME_KEY[S(scheme)]].public_key()
    expect_alert(AlertDescription.decrypt_error, sg.verify, public, scheme, MESSAGE, junk)


# ---------------------------------------------------------------------------
# Scheme that does not fit the key → illegal_parameter
# ---------------------------------------------------------------------------


MISFITS = [
    ("rsa2048", S.ecdsa_secp256r1_sha256, "does not fit an RSA key"),
    ("rsa2048", S.ed25519, "does not fit an RSA key"),
    ("p256", S.rsa_pss_rsae_sha256, "does not fit an ECDSA key"),
    ("p256", S.ecdsa_secp384r1_sha384, "does not fit an ECDSA key on secp256r1"),
    ("p384", S.ecdsa_secp256r1_sha256, "does not fit an ECDSA key on secp384r1"),
    ("p521", S.ed448, "does not fit an ECDSA key"),
    ("ed25519", S.ed448, "does not fit an Ed25519 key"),
    ("ed448", S.ed25519, "does not fit an Ed448 key"),
    ("ed25519", S.ecdsa_secp256r1_sha256, "does not fit an Ed25519 key"),
    ("rsa2048", S.rsa_pkcs1_sha256, "not allowed in TLS 1.3"),
    ("rsa1024", S.rsa_pss_rsae_sha512, "needs an RSA key larger than 1024 bits"),
    ("rsa2048", 0x0A0A, "not supported"),
    ("rsa2048", 0x0402, "not supported"),
]


@pytest.mark.parametrize(("key_name", "scheme", "reason"), MISFITS)
def test_misfit_is_illegal_parameter(keys, key_name, scheme, reason):
    key = keys[key_name]
    expect_alert(AlertDescription.illegal_parameter, sg.sign, key, scheme, MESSAGE, os.urandom, contains=reason)
    expect_alert(
        AlertDescription.illegal_parameter,
        sg.verify,
        key.public_key(),
        scheme,
        MESSAGE,
        b"\x00" * 64,
        contains=reason,
    )
    assert not sg.scheme_fits_key(key, scheme)
    assert not sg.scheme_fits_key(key.public_key(), scheme)


def test_unsupported_key_types():
    for key in (dsa.generate_private_key(2048), x25519.X25519PrivateKey.generate()):
        assert sg.schemes_for_key(key) == []
        assert sg.schemes_for_key(key.public_key(), tls13=False) == []
        assert not sg.scheme_fits_key(key, S.rsa_pss_rsae_sha256)
    dsa_key = dsa.generate_private_key(2048)
    expect_alert(
        AlertDescription.illegal_parameter,
        sg.verify,
        dsa_key.public_key(),
        S.rsa_pss_rsae_sha256,
        MESSAGE,
        b"x",
        contains="does not fit",
    )


def test_ecdsa_on_unsupported_curve():
    key = ec.generate_private_key(ec.SECP256K1())
    assert sg.schemes_for_key(key, tls13=False) == []
    expect_alert(
        AlertDescription.illegal_parameter,
        sg.sign,
        key,
        S.ecdsa_secp256r1_sha256,
        MESSAGE,
        os.urandom,
        tls13=False,
        contains="curve secp256k1 is not supported",
    )


def test_sign_needs_a_private_key(keys):
    with pytest.raises(TypeError):
        sg.sign(keys["p256"].public_key(), S.ecdsa_secp256r1_sha256, MESSAGE, os.urandom)


# ---------------------------------------------------------------------------
# schemes_for_key / scheme_fits_key
# ---------------------------------------------------------------------------


def test_schemes_for_key(keys):
    assert sg.schemes_for_key(keys["rsa2048"]) == [
        S.rsa_pss_rsae_sha256,
        S.rsa_pss_rsae_sha384,
        S.rsa_pss_rsae_sha512,
    ]
    assert sg.schemes_for_key(keys["rsa2048"], tls13=False) == [
        S.rsa_pss_rsae_sha256,
        S.rsa_pss_rsae_sha384,
        S.rsa_pss_rsae_sha512,
        S.rsa_pkcs1_sha256,
        S.rsa_pkcs1_sha384,
        S.rsa_pkcs1_sha512,
    ]
    assert sg.schemes_for_key(keys["rsa2048"], rsa_pss_key=True) == [
        S.rsa_pss_pss_sha256,
        S.rsa_pss_pss_sha384,
        S.rsa_pss_pss_sha512,
    ]
    assert sg.schemes_for_key(keys["rsa2048"], tls13=False, rsa_pss_key=True) == [
        S.rsa_pss_pss_sha256,
        S.rsa_pss_pss_sha384,
        S.rsa_pss_pss_sha512,
    ]
    assert S.rsa_pss_rsae_sha512 not in sg.schemes_for_key(keys["rsa1024"])
    assert sg.schemes_for_key(keys["p256"]) == [S.ecdsa_secp256r1_sha256]
    assert sg.schemes_for_key(keys["p384"].public_key()) == [S.ecdsa_secp384r1_sha384]
    assert sg.schemes_for_key(keys["p521"]) == [S.ecdsa_secp521r1_sha512]
    assert sg.schemes_for_key(keys["p384"], tls13=False) == [
        S.ecdsa_secp384r1_sha384,
        S.ecdsa_secp256r1_sha256,
        S.ecdsa_secp521r1_sha512,
    ]
    assert sg.schemes_for_key(keys["ed25519"]) == [S.ed25519]
    assert sg.schemes_for_key(keys["ed448"].public_key(), tls13=False) == [S.ed448]
    for key in keys.values():
        for tls13 in (True, False):
            for scheme in sg.schemes_for_key(key, tls13=tls13):
                assert isinstance(scheme, SignatureScheme)
                assert sg.scheme_fits_key(key, scheme, tls13=tls13, rsa_pss_key=False)


def test_scheme_fits_key_rsa_kind(keys):
    key = keys["rsa2048"].public_key()
    # Default: an rsaEncryption key, the common case.
    assert sg.scheme_fits_key(key, S.rsa_pss_rsae_sha256)
    assert not sg.scheme_fits_key(key, S.rsa_pss_pss_sha256)
    # Kind unknown: both accepted.
    assert sg.scheme_fits_key(key, S.rsa_pss_pss_sha256, rsa_pss_key=None)
    assert sg.scheme_fits_key(key, S.rsa_pss_rsae_sha256, rsa_pss_key=None)
    assert sg.scheme_fits_key(key, S.rsa_pss_pss_sha256, rsa_pss_key=True)
    assert not sg.scheme_fits_key(key, S.rsa_pss_rsae_sha256, rsa_pss_key=True)
    assert not sg.scheme_fits_key(key, S.rsa_pss_pss_sha256, rsa_pss_key=False)
    assert not sg.scheme_fits_key(key, S.rsa_pkcs1_sha256, tls13=False, rsa_pss_key=True)
    assert sg.scheme_fits_key(key, S.rsa_pkcs1_sha256, tls13=False, rsa_pss_key=False)
    assert sg.scheme_fits_key(key, S.rsa_pkcs1_sha1, tls13=False)
    assert not sg.scheme_fits_key(key, S.rsa_pkcs1_sha1)


def _self_signed(key, public_key=None) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "glasstls test")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key or key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    return builder.sign(key, hashes.SHA256())


def test_rsa_encryption_certificate(keys):
    cert = _self_signed(keys["rsa2048"])
    assert not sg.is_rsassa_pss_certificate(cert)
    assert sg.scheme_fits_certificate(cert, S.rsa_pss_rsae_sha256)
    assert not sg.scheme_fits_certificate(cert, S.rsa_pss_pss_sha256)
    assert not sg.scheme_fits_certificate(cert, S.rsa_pkcs1_sha256)
    assert sg.scheme_fits_certificate(cert, S.rsa_pkcs1_sha256, tls13=False)
    ec_cert = _self_signed(keys["p256"])
    assert not sg.is_rsassa_pss_certificate(ec_cert)
    assert sg.scheme_fits_certificate(ec_cert, S.ecdsa_secp256r1_sha256)
    assert not sg.scheme_fits_certificate(ec_cert, S.ecdsa_secp384r1_sha384)


@pytest.fixture(scope="module")
def rsassa_pss_pair(tmp_path_factory) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """An id-RSASSA-PSS key and certificate; cryptography cannot create these, OpenSSL can."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    d = tmp_path_factory.mktemp("pss")
    key_path, cert_path = d / "pss.key", d / "pss.crt"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key_path],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "req", "-x509", "-new", "-key", key_path, "-subj", "/CN=pss", "-days", "1", "-out", cert_path],
        check=True,
        capture_output=True,
    )
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), None)
    return key, x509.load_pem_x509_certificate(Path(cert_path).read_bytes())


def test_rsassa_pss_certificate(rsassa_pss_pair):
    key, cert = rsassa_pss_pair
    # cryptography hands back plain RSA keys: only the certificate's OID tells.
    assert isinstance(key, rsa.RSAPrivateKey) and isinstance(cert.public_key(), rsa.RSAPublicKey)
    assert sg.is_rsassa_pss_certificate(cert)
    assert sg.scheme_fits_certificate(cert, S.rsa_pss_pss_sha256)
    assert not sg.scheme_fits_certificate(cert, S.rsa_pss_rsae_sha256)
    assert not sg.scheme_fits_certificate(cert, S.rsa_pkcs1_sha256, tls13=False)
    schemes = sg.schemes_for_key(key, rsa_pss_key=sg.is_rsassa_pss_certificate(cert))
    assert schemes[0] == S.rsa_pss_pss_sha256
    for randomness in (os.urandom, fixed()):
        signature = sg.sign(key, schemes[0], MESSAGE, randomness)
        sg.verify(cert.public_key(), schemes[0], MESSAGE, signature)


# ---------------------------------------------------------------------------
# Deterministic replay
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SIGNABLE, ids=str)
def test_injected_randomness_gives_identical_signatures(keys, scheme):
    key = keys[SCHEME_KEY[scheme]]
    first = sg.sign(key, scheme, MESSAGE, fixed(0x11), tls13=False)
    assert sg.sign(key, scheme, MESSAGE, fixed(0x11), tls13=False) == first


@pytest.mark.parametrize("scheme", [S.rsa_pss_rsae_sha256, S.rsa_pss_rsae_sha384, S.rsa_pss_pss_sha512], ids=str)
def test_pss_salt_comes_from_randomness(keys, scheme):
    key = keys["rsa2048"]
    hash_len = {"sha256": 32, "sha384": 48, "sha512": 64}[scheme.name.rsplit("_", 1)[1]]
    salt = bytes(range(hash_len))
    signature = sg.sign(key, scheme, MESSAGE, ReplayRandomness(salt))
    assert signature == sg.sign(key, scheme, MESSAGE, ReplayRandomness(salt))
    assert signature != sg.sign(key, scheme, MESSAGE, ReplayRandomness(salt[::-1]))
    assert _recover_pss_salt(key.public_key(), signature, hash_len) == salt
    _backend_verify(key.public_key(), scheme, MESSAGE, signature)


def test_pss_with_odd_modulus_length():
    # emBits = modBits - 1 is not a multiple of 8 here: step 11 of EMSA-PSS-ENCODE matters.
    key = rsa.generate_private_key(65537, 2047 + 8)
    for _ in range(3):
        signature = sg.sign(key, S.rsa_pss_rsae_sha256, MESSAGE, fixed(0x42))
        _backend_verify(key.public_key(), S.rsa_pss_rsae_sha256, MESSAGE, signature)


def test_system_randomness_pss_is_not_deterministic(keys):
    key = keys["rsa2048"]
    a = sg.sign(key, S.rsa_pss_rsae_sha256, MESSAGE, os.urandom)
    b = sg.sign(key, S.rsa_pss_rsae_sha256, MESSAGE, os.urandom)
    assert a != b


def test_ecdsa_replay_is_rfc6979(keys):
    # Deterministic ECDSA draws nothing from the injected source.
    key = keys["p384"]
    signature = sg.sign(key, S.ecdsa_secp384r1_sha384, MESSAGE, ReplayRandomness())
    assert signature == sg.sign(key, S.ecdsa_secp384r1_sha384, MESSAGE, ReplayRandomness())


def _recover_pss_salt(public: rsa.RSAPublicKey, signature: bytes, hash_len: int) -> bytes:
    """RSA public operation, then EMSA-PSS decoding (RFC 8017, Section 9.1.2) up to the salt."""
    numbers = public.public_numbers()
    em_bits = numbers.n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    em = pow(int.from_bytes(signature, "big"), numbers.e, numbers.n).to_bytes(em_len, "big")
    assert em[-1] == 0xBC
    masked_db, h = em[: em_len - hash_len - 1], em[em_len - hash_len - 1 : -1]
    name = {32: "sha256", 48: "sha384", 64: "sha512"}[hash_len]
    mask = b""
    counter = 0
    while len(mask) < len(masked_db):
        mask += hashlib.new(name, h + counter.to_bytes(4, "big")).digest()
        counter += 1
    db = bytearray(a ^ b for a, b in zip(masked_db, mask, strict=False))
    db[0] &= 0xFF >> (8 * em_len - em_bits)
    separator = db.index(1)
    assert not any(db[:separator])
    return bytes(db[separator + 1 :])


# ---------------------------------------------------------------------------
# RFC 8448, Section 3: the server's CertificateVerify, byte for byte
# ---------------------------------------------------------------------------

# The server's RSA key from RFC 8448, Section 2 (1024 bits).
RFC8448_MODULUS = bytes.fromhex(
    "b4bb498f8279303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af1"
    "9eaa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda430846748030530ef0461c8c"
    "a9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f"
)
RFC8448_PRIVATE_EXPONENT = bytes.fromhex(
    "04dea705d43a6ea7209dd8072111a83c81e322a59278b33480641eaf7c0a6985b8e31c44f6de62e1b4c2309f6126e77b"
    "7c41e923314bbfa3881305dc1217f16c819ce538e922f369828d0e57195d8c8488460207b2faa726bcf708bbd7db7f67"
    "9f893492fc2a622e08970aac441ce4e0c3088df25ae679233df8a3bda2ff9941"
)
RFC8448_PRIME1 = bytes.fromhex(
    "e435fb7cc83737756dacea96ab7f59a2cc1069db7deb190e17e33a532b273f30a327aa0aaabc58cd67466af9845fadc6"
    "75fe094af92c4bd1f2c1bc33dd2e0515"
)
RFC8448_PRIME2 = bytes.fromhex(
    "cabd3bc0e0438664c8d4cc9f99977a94d9bbfead8e43870abae3f7eb8b4e0eee8af1d9b4719ba6196cf2cbbaeeebf8b3"
    "490afe9e9ffa74a88aa51fc645629303"
)
# The whole CertificateVerify message of Section 3: type 15, length, scheme 0x0804, signature.
RFC8448_CERTIFICATE_VERIFY = bytes.fromhex(
    "0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145ab3ff52f1fda8477b0b7abc90db78e2d3"
    "3a5c141a078653fa6bef780c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671459e46445c"
    "9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda65cdf5aea20d53dfacd42f74f3"
)
# SHA-256 over ClientHello, ServerHello, EncryptedExtensions and Certificate of
# Section 3 (recomputed from the RFC text by test_rfc8448_transcript_hash).
RFC8448_TRANSCRIPT_HASH = bytes.fromhex("764d6632b3c35c3f3205e3499ac3edbaabb88295fba751461d3678e2e5ea0687")


def _rfc8448_key() -> rsa.RSAPrivateKey:
    p = int.from_bytes(RFC8448_PRIME1, "big")
    q = int.from_bytes(RFC8448_PRIME2, "big")
    d = int.from_bytes(RFC8448_PRIVATE_EXPONENT, "big")
    n = int.from_bytes(RFC8448_MODULUS, "big")
    assert p * q == n
    public = rsa.RSAPublicNumbers(65537, n)
    return rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), public
    ).private_key()


def test_rfc8448_certificate_verify_byte_for_byte():
    key = _rfc8448_key()
    assert RFC8448_CERTIFICATE_VERIFY[4:6] == S.rsa_pss_rsae_sha256.to_bytes(2, "big")
    expected = RFC8448_CERTIFICATE_VERIFY[8:]
    # RFC 8446, Section 4.4.3: 64 spaces, the context string, a zero byte, the transcript hash.
    content = b" " * 64 + b"TLS 1.3, server CertificateVerify" + b"\x00" + RFC8448_TRANSCRIPT_HASH
    sg.verify(key.public_key(), S.rsa_pss_rsae_sha256, content, expected, what="CertificateVerify signature")
    # The trace does not print the salt; recover it from the signature, then replay it.
    salt = _recover_pss_salt(key.public_key(), expected, 32)
    assert sg.sign(key, S.rsa_pss_rsae_sha256, content, ReplayRandomness(salt)) == expected


RFC8448_PATH = Path(__file__).resolve().parents[2] / "shared" / "rfc" / "rfc8448.txt"


def _rfc8448_field(text: str, label: str, start: int) -> bytes:
    """The hex bytes printed after ``label`` (page headers and footers skipped)."""
    i = text.index(label, start)
    out: list[str] = []
    for line in text[text.index(":", i) + 1 :].splitlines():
        tokens = line.split()
        if tokens and all(len(t) == 2 and all(c in "0123456789abcdef" for c in t) for t in tokens):
            out += tokens
        elif out and tokens and not line.startswith(("Thomson", "RFC 8448")):
            break
    return bytes.fromhex("".join(out))


@pytest.mark.skipif(not RFC8448_PATH.exists(), reason="needs shared/rfc/rfc8448.txt beside the repo")
def test_rfc8448_transcript_hash():
    text = RFC8448_PATH.read_text()
    start = text.index("3.  Simple 1-RTT Handshake\n")
    messages = [
        _rfc8448_field(text, label, start)
        for label in (
            "ClientHello (196 octets)",
            "ServerHello (90 octets)",
            "EncryptedExtensions (40 octets)",
            "Certificate (445 octets)",
        )
    ]
    assert [len(m) for m in messages] == [196, 90, 40, 445]
    assert hashlib.sha256(b"".join(messages)).digest() == RFC8448_TRANSCRIPT_HASH
    assert _rfc8448_field(text, "CertificateVerify (136 octets)", start) == RFC8448_CERTIFICATE_VERIFY
