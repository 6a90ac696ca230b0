"""TLS signature schemes: sign, verify, and which scheme fits which key.

Schemes are the SignatureScheme code points of RFC 8446, Section 4.2.3. The
same code point means slightly different things by version: in TLS 1.3 an
ECDSA scheme binds the curve, in TLS 1.2 it names only the hash (RFC 8422,
Section 5.1.3 / RFC 5246, Section 7.4.1.4.1). Functions take ``tls13`` to
say which rule applies; ``tls13=False`` is also the rule for signatures in
certificates.

SHA-1 (rsa_pkcs1_sha1, ecdsa_sha1). TLS 1.2 only, and only when configured:
they are what a client means by sending no signature_algorithms (RFC 5246,
Section 7.4.1.4.1), and the legacy profile lists them. TLS 1.3 never signs or
accepts them in CertificateVerify (RFC 8446, Section 4.2.3): ``tls13=True``
refuses them whatever the configuration. :func:`schemes_for_key` never
offers them, so nothing signs with SHA-1 unless a caller names it.

Failures: a signature that does not verify is ``decrypt_error`` (RFC 8446,
Section 4.4.3); a scheme that is unknown or does not fit the key is
``illegal_parameter``.

RSA-PSS keys. cryptography (48 and later) loads a key or certificate whose
algorithm is id-RSASSA-PSS as a plain RSA key: the key object cannot tell
rsa_pss_rsae_* from rsa_pss_pss_* (RFC 8446, Section 4.2.3). The
certificate can: :func:`is_rsassa_pss_certificate`, and
:func:`scheme_fits_certificate` applies it.

Replays. With injected randomness (``not is_system(randomness)``) every
signature is a function of the inputs and the injected bytes: ECDSA uses
RFC 6979 deterministic nonces, Ed25519/Ed448 and PKCS #1 v1.5 are
deterministic anyway, and RSA-PSS takes its salt from ``randomness``. As
cryptography does not accept a caller's PSS salt, that last path is done here
in Python (see :func:`_pss_sign_with_salt`); it is for replays only.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import PublicKeyAlgorithmOID

from ..enums import AlertDescription, NamedGroup, SignatureScheme
from ..errors import AlertError
from .rand import Randomness, is_system

__all__ = [
    "SHA1_SIGNATURE_SCHEMES",
    "TLS12_SIGNATURE_SCHEMES",
    "TLS13_CERTIFICATE_ONLY_SCHEMES",
    "TLS13_SIGNATURE_SCHEMES",
    "PrivateKey",
    "PublicKey",
    "is_rsassa_pss_certificate",
    "scheme_fits_certificate",
    "scheme_fits_key",
    "schemes_for_key",
    "sign",
    "signable_schemes",
    "verify",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey

S = SignatureScheme


@dataclass(frozen=True)
class _Scheme:
    kind: str  # "ecdsa", "rsa_pss_rsae", "rsa_pss_pss", "rsa_pkcs1", "ed25519", "ed448"
    hash: type[hashes.HashAlgorithm] | None = None
    curve: str | None = None  # the curve an ECDSA scheme binds in TLS 1.3


_SCHEMES: dict[SignatureScheme, _Scheme] = {
    S.ecdsa_secp256r1_sha256: _Scheme("ecdsa", hashes.SHA256, "secp256r1"),
    S.ecdsa_secp384r1_sha384: _Scheme("ecdsa", hashes.SHA384, "secp384r1"),
    S.ecdsa_secp521r1_sha512: _Scheme("ecdsa", hashes.SHA512, "secp521r1"),
    S.ecdsa_sha1: _Scheme("ecdsa", hashes.SHA1),
    S.rsa_pss_rsae_sha256: _Scheme("rsa_pss_rsae", hashes.SHA256),
    S.rsa_pss_rsae_sha384: _Scheme("rsa_pss_rsae", hashes.SHA384),
    S.rsa_pss_rsae_sha512: _Scheme("rsa_pss_rsae", hashes.SHA512),
    S.rsa_pss_pss_sha256: _Scheme("rsa_pss_pss", hashes.SHA256),
    S.rsa_pss_pss_sha384: _Scheme("rsa_pss_pss", hashes.SHA384),
    S.rsa_pss_pss_sha512: _Scheme("rsa_pss_pss", hashes.SHA512),
    S.rsa_pkcs1_sha256: _Scheme("rsa_pkcs1", hashes.SHA256),
    S.rsa_pkcs1_sha384: _Scheme("rsa_pkcs1", hashes.SHA384),
    S.rsa_pkcs1_sha512: _Scheme("rsa_pkcs1", hashes.SHA512),
    S.rsa_pkcs1_sha1: _Scheme("rsa_pkcs1", hashes.SHA1),
    S.ed25519: _Scheme("ed25519"),
    S.ed448: _Scheme("ed448"),
}

#: Schemes legal in a TLS 1.3 CertificateVerify (RFC 8446, Section 4.2.3):
#: no PKCS #1 v1.5, no SHA-1, ECDSA bound to its curve.
TLS13_SIGNATURE_SCHEMES: frozenset[SignatureScheme] = frozenset(
    s for s, spec in _SCHEMES.items() if spec.kind != "rsa_pkcs1" and spec.hash is not hashes.SHA1
)

#: Schemes a TLS 1.3 peer may sign certificates with but never a CertificateVerify: RFC 8446,
#: Section 4.2.3 keeps the PKCS #1 v1.5 code points for signatures in certificates. (SHA-1 not.)
TLS13_CERTIFICATE_ONLY_SCHEMES: frozenset[SignatureScheme] = frozenset(
    {S.rsa_pkcs1_sha256, S.rsa_pkcs1_sha384, S.rsa_pkcs1_sha512}
)

#: Schemes glasstls understands in TLS 1.2 (RFC 5246, Section 7.4.1.4.1; RFC 8422,
#: Section 5.1.3; RFC 8446, Section 4.2.3 for PSS) and in certificates.
TLS12_SIGNATURE_SCHEMES: frozenset[SignatureScheme] = frozenset(_SCHEMES)

#: The SHA-1 schemes: TLS 1.2 only (RFC 8446, Section 4.2.3), and the meaning of a TLS 1.2
#: ClientHello without signature_algorithms (RFC 5246, Section 7.4.1.4.1).
SHA1_SIGNATURE_SCHEMES: frozenset[SignatureScheme] = frozenset({S.rsa_pkcs1_sha1, S.ecdsa_sha1})

# ECDSA curves usable at all, by cryptography's curve name.
_CURVE_SCHEMES = {
    "secp256r1": S.ecdsa_secp256r1_sha256,
    "secp384r1": S.ecdsa_secp384r1_sha384,
    "secp521r1": S.ecdsa_secp521r1_sha512,
}

_PSS_ORDER = {
    "rsa_pss_rsae": (S.rsa_pss_rsae_sha256, S.rsa_pss_rsae_sha384, S.rsa_pss_rsae_sha512),
    "rsa_pss_pss": (S.rsa_pss_pss_sha256, S.rsa_pss_pss_sha384, S.rsa_pss_pss_sha512),
}
_PKCS1_ORDER = (S.rsa_pkcs1_sha256, S.rsa_pkcs1_sha384, S.rsa_pkcs1_sha512)


# ---------------------------------------------------------------------------
# Which scheme fits which key
# ---------------------------------------------------------------------------


def _public(key: PrivateKey | PublicKey) -> PublicKey:
    return key.public_key() if isinstance(key, PrivateKey) else key  # once per class: see key_kind


def key_kind(key: PrivateKey | PublicKey) -> str:
    """ "rsa", "ecdsa", "ed25519", "ed448" or the name of a key type no scheme fits; by class, worked out
    once per class (isinstance against cryptography's key ABCs, and public_key(), cost microseconds)."""
    kind = _KINDS.get(type(key))
    if kind is None:
        kind = _KINDS[type(key)] = _kind_of(key)
    return kind


def ecdsa_group(key: PrivateKey | PublicKey) -> NamedGroup | None:
    """The named group of an ECDSA key's curve (secp256r1, secp384r1, secp521r1), which a TLS 1.2
    supported_groups names too (RFC 8422, Section 5.1); None for any other key."""
    curve = getattr(key, "curve", None)
    return None if curve is None else NamedGroup.__members__.get(curve.name)


_KINDS: dict[type, str] = {}
_PRIVATE: dict[type, bool] = {}  # by class: is it one of the private key types (PrivateKey)?


def _is_private(key: object) -> bool:
    """isinstance(key, PrivateKey), worked out once per class (see key_kind)."""
    private = _PRIVATE.get(type(key))
    if private is None:
        private = _PRIVATE[type(key)] = isinstance(key, PrivateKey)
    return private


def _is_public(key: object) -> bool:
    """isinstance(key, PublicKey), by class as _is_private."""
    return not _is_private(key) and key_kind(key) in _KIND_LABELS  # type: ignore[arg-type]


def _kind_of(key: PrivateKey | PublicKey) -> str:
    public = _public(key)
    if isinstance(public, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return "ecdsa"
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(public, ed448.Ed448PublicKey):
        return "ed448"
    # A key type no scheme fits (DSA, X25519, ...): named for the reason.
    return type(public).__name__.removesuffix("PublicKey").removesuffix("PrivateKey")


def _pss_fits_size(key: PrivateKey | PublicKey, spec: _Scheme) -> bool:
    # RFC 8017, Section 9.1.1 step 3 with sLen = hLen (RFC 8446, Section 4.2.3):
    # emLen >= 2*hLen + 2, where emLen = ceil((modBits - 1) / 8).
    assert spec.hash is not None  # an RSA key here (_misfit checked its kind), private or public
    rsa_key = cast("rsa.RSAPublicKey | rsa.RSAPrivateKey", key)
    em_len = (rsa_key.key_size - 1 + 7) // 8  # a private key knows its size too: no public_key() needed
    return em_len >= 2 * spec.hash().digest_size + 2


def _misfit(key: PrivateKey | PublicKey, scheme: SignatureScheme, tls13: bool) -> str | None:
    """Why ``scheme`` cannot be used with ``key`` (None if it can); RSA-PSS key kind not judged."""
    spec = _SCHEMES.get(scheme)
    if spec is None:
        return f"signature scheme {scheme.name} is not supported"
    if tls13 and scheme not in TLS13_SIGNATURE_SCHEMES:
        return f"signature scheme {scheme.name} is not allowed in TLS 1.3 (RFC 8446, Section 4.2.3)"
    kind = key_kind(key)
    wanted = _KEY_KIND[scheme]
    if kind != wanted:
        return f"signature scheme {scheme.name} does not fit {_KIND_LABELS.get(kind, 'a ' + kind)} key"
    if kind == "ecdsa":
        return _ecdsa_misfit(key, scheme, spec, tls13)
    if spec.kind.startswith("rsa_pss") and not _pss_fits_size(key, spec):
        bits = key.key_size  # type: ignore[union-attr]  # an RSA key here: kind == "rsa" above
        return f"signature scheme {scheme.name} needs an RSA key larger than {bits} bits (RFC 8017, 9.1.1)"
    return None


_KIND_LABELS = {"rsa": "an RSA", "ecdsa": "an ECDSA", "ed25519": "an Ed25519", "ed448": "an Ed448"}
# The kind of key (key_kind) each scheme signs with: every RSA scheme takes an "rsa" key.
_KEY_KIND: dict[int, str] = {s: "rsa" if spec.kind.startswith("rsa") else spec.kind for s, spec in _SCHEMES.items()}
# The member of each scheme glasstls knows, by its number: a dict look-up, where SignatureScheme(n)
# goes through the Enum machinery (about ten times the cost) once or twice per handshake.
_MEMBERS: dict[int, SignatureScheme] = {int(s): s for s in _SCHEMES}


def _ecdsa_misfit(key: PrivateKey | PublicKey, scheme: SignatureScheme, spec: _Scheme, tls13: bool) -> str | None:
    # An ECDSA key (_misfit checked its kind); a private key knows its curve too: no public_key().
    curve = cast("ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey", key).curve.name
    if curve not in _CURVE_SCHEMES:
        return f"ECDSA key on curve {curve} is not supported"
    # RFC 8446, Section 4.2.3: in TLS 1.3 the scheme names the curve.
    if tls13 and spec.curve != curve:
        return f"signature scheme {scheme.name} does not fit an ECDSA key on {curve}"
    return None


def scheme_fits_key(
    key: PrivateKey | PublicKey,
    scheme: int,
    *,
    tls13: bool = True,
    rsa_pss_key: bool | None = False,
) -> bool:
    """Whether ``scheme`` can be used with ``key`` under TLS 1.3 (or TLS 1.2) rules.

    ``rsa_pss_key`` says whether an RSA key's certificate is id-RSASSA-PSS
    (True: only rsa_pss_pss_*), rsaEncryption (False, the default and by far
    the common case: rsa_pss_rsae_* and, in TLS 1.2, rsa_pkcs1_*), or unknown
    (None: both kinds accepted). cryptography's key objects do not carry that
    distinction; :func:`scheme_fits_certificate` takes it from the certificate.
    Getting it wrong matters: clients such as OpenSSL list rsa_pss_pss_* before
    rsa_pss_rsae_*, and reject a CertificateVerify whose kind does not match.
    """
    # A scheme of another kind of key (most of a peer's list), told without composing _misfit's reason.
    if _KEY_KIND.get(scheme) != key_kind(key):
        return False
    s = _MEMBERS[scheme]  # one of _SCHEMES: _KEY_KIND has it
    if _misfit(key, s, tls13) is not None:
        return False
    kind = _SCHEMES[s].kind
    if rsa_pss_key is None or not kind.startswith("rsa"):
        return True
    return (kind == "rsa_pss_pss") == rsa_pss_key


# The schemes each signing key can make (a frozenset per key and rule), worked out once: a server signs
# with its configured key every handshake, choosing the scheme and then checking it in sign(), and each
# _misfit asked cryptography for the key's curve or size anew for the same answer (some 300 bytecodes a
# handshake). Keyed by the key object itself: a private key hashes by identity, and the table holds it,
# so no later key can take its place. Only private keys: a peer's public key is new every handshake.
# Bounded (a server has a handful of keys): the table starts over when full.
_SIGNABLE: dict[tuple[PrivateKey, bool, bool | None], frozenset[SignatureScheme]] = {}
_SIGNABLE_MAX = 64


def signable_schemes(
    key: PrivateKey, *, tls13: bool = True, rsa_pss_key: bool | None = False
) -> frozenset[SignatureScheme]:
    """The schemes :func:`scheme_fits_key` accepts for ``key`` under the same rules, as a set."""
    entry = (key, tls13, rsa_pss_key)
    fits = _SIGNABLE.get(entry)
    if fits is None:
        fits = frozenset(s for s in _SCHEMES if scheme_fits_key(key, s, tls13=tls13, rsa_pss_key=rsa_pss_key))
        if len(_SIGNABLE) >= _SIGNABLE_MAX:
            _SIGNABLE.clear()
        _SIGNABLE[entry] = fits
    return fits


def schemes_for_key(
    key: PrivateKey | PublicKey,
    *,
    tls13: bool = True,
    rsa_pss_key: bool = False,
) -> list[SignatureScheme]:
    """Schemes glasstls can sign with using ``key``, most preferred first.

    SHA-1 schemes are never listed (glasstls only verifies them). For RSA,
    PSS comes before PKCS #1 v1.5 and SHA-256 before longer hashes; set
    ``rsa_pss_key`` when the certificate is id-RSASSA-PSS.
    """
    kind = key_kind(key)
    if kind == "ecdsa":
        candidates: tuple[SignatureScheme, ...] = _ecdsa_order(key)
    elif kind == "rsa":
        candidates = _PSS_ORDER["rsa_pss_pss" if rsa_pss_key else "rsa_pss_rsae"]
        if not rsa_pss_key:
            candidates += _PKCS1_ORDER
    elif kind in ("ed25519", "ed448"):
        candidates = (S.__members__[kind],)
    else:
        return []
    return [s for s in candidates if _misfit(key, s, tls13) is None]


def _ecdsa_order(key: PrivateKey | PublicKey) -> tuple[SignatureScheme, ...]:
    # The curve's own scheme first; TLS 1.2 may pair any curve with any hash.
    public = _public(key)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    own = _CURVE_SCHEMES.get(public.curve.name)
    rest = tuple(s for s in _CURVE_SCHEMES.values() if s != own)
    return ((own,) if own else ()) + rest


def is_rsassa_pss_certificate(certificate: x509.Certificate) -> bool:
    """True when the certificate's key is id-RSASSA-PSS (RFC 4055), not rsaEncryption.

    Such a key may only sign with rsa_pss_pss_* (RFC 8446, Section 4.2.3).
    cryptography loads it as a plain RSAPublicKey, so the OID is the only witness.
    """
    return certificate.public_key_algorithm_oid == PublicKeyAlgorithmOID.RSASSA_PSS


def scheme_fits_certificate(certificate: x509.Certificate, scheme: int, *, tls13: bool = True) -> bool:
    """:func:`scheme_fits_key` for the certificate's key, with its RSA kind taken from the certificate."""
    try:
        key = certificate.public_key()
    except (ValueError, TypeError):  # unsupported key algorithm in the certificate
        return False
    if not _is_public(key):
        return False
    pss = is_rsassa_pss_certificate(certificate) if key_kind(key) == "rsa" else None  # type: ignore[arg-type]
    return scheme_fits_key(cast("PublicKey", key), scheme, tls13=tls13, rsa_pss_key=pss)


def _checked(key: PrivateKey | PublicKey, scheme: int, tls13: bool) -> tuple[SignatureScheme, _Scheme]:
    s = _MEMBERS.get(scheme) or SignatureScheme(scheme)  # (an unknown one: _misfit names it)
    reason = _misfit(key, s, tls13)
    if reason is not None:
        raise AlertError(AlertDescription.illegal_parameter, reason)
    return s, _SCHEMES[s]


# ---------------------------------------------------------------------------
# Sign
# ---------------------------------------------------------------------------


def sign(
    private_key: PrivateKey,
    scheme: int,
    message: bytes,
    randomness: Randomness,
    *,
    tls13: bool = True,
) -> bytes:
    """Sign ``message`` (the full content, not a hash) with ``scheme``.

    Randomness is drawn only for RSA-PSS with injected randomness (the salt);
    see the module doc.
    """
    if not _is_private(private_key):
        raise TypeError(f"sign() needs a private key, not {type(private_key).__name__}")
    # The scheme must fit the key; under TLS 1.3 rules that refuses SHA-1 and PKCS #1 v1.5 (RFC 8446,
    # Section 4.2.3). rsa_pss_key=None: an RSA key's certificate kind is the caller's to judge.
    if scheme in signable_schemes(private_key, tls13=tls13, rsa_pss_key=None):
        s = _MEMBERS[scheme]
        spec = _SCHEMES[s]
    else:
        s, spec = _checked(private_key, scheme, tls13)  # raises, with the reason
    kind = key_kind(private_key)  # the classes of the key types, not isinstance against their ABCs
    if kind in ("ed25519", "ed448"):
        return cast("ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey", private_key).sign(message)
    assert spec.hash is not None
    algorithm = _hash(spec.hash)
    if kind == "ecdsa":
        # RFC 6979 nonces when replaying: the signature is then reproducible.
        ecdsa = _ecdsa(spec.hash, deterministic=not is_system(randomness))
        return cast("ec.EllipticCurvePrivateKey", private_key).sign(message, ecdsa)
    private_key = cast("rsa.RSAPrivateKey", private_key)
    if spec.kind == "rsa_pkcs1":
        return private_key.sign(message, _PKCS1V15, algorithm)
    if is_system(randomness):
        return private_key.sign(message, _pss(spec.hash), algorithm)
    salt = randomness(algorithm.digest_size)
    return _pss_sign_with_salt(private_key, message, algorithm, salt)


# The algorithm objects of a scheme's hash, padding and ECDSA, made once per hash (a handful): cryptography's
# are immutable, and making them took a few microseconds of each signature and verification.
_PKCS1V15 = padding.PKCS1v15()


@functools.cache
def _hash(hash_type: type[hashes.HashAlgorithm]) -> hashes.HashAlgorithm:
    return hash_type()


@functools.cache
def _ecdsa(hash_type: type[hashes.HashAlgorithm], deterministic: bool = False) -> ec.ECDSA:
    return ec.ECDSA(_hash(hash_type), deterministic_signing=deterministic)


@functools.cache
def _pss(hash_type: type[hashes.HashAlgorithm]) -> padding.PSS:
    # RFC 8446, Section 4.2.3: MGF1 with the signature's hash, salt as long as the hash.
    algorithm = _hash(hash_type)
    return padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)


# ---------------------------------------------------------------------------
# RSA-PSS with a given salt (replays only)
# ---------------------------------------------------------------------------
#
# NOT side-channel hardened: Python big-integer arithmetic is not constant time.
# It runs only when the caller injected randomness (a recorded handshake being
# replayed, a test), never with the system generator.


def _pss_sign_with_salt(
    private_key: rsa.RSAPrivateKey, message: bytes, algorithm: hashes.HashAlgorithm, salt: bytes
) -> bytes:
    """RSASSA-PSS-SIGN (RFC 8017, Section 8.1.1) with a caller-chosen salt."""
    numbers = private_key.private_numbers()
    n, e = numbers.public_numbers.n, numbers.public_numbers.e
    m_hash = hashlib.new(algorithm.name, message).digest()
    em = _emsa_pss_encode(m_hash, n.bit_length() - 1, salt, algorithm.name)
    m = int.from_bytes(em, "big")
    s = _rsasp1_crt(numbers, m)
    # Guard against a faulty CRT result (which would leak a factor of n) and
    # against inconsistent key numbers: the public operation must undo it.
    if pow(s, e, n) != m:
        raise AlertError(AlertDescription.internal_error, "RSA-PSS signature failed its self-check")
    return s.to_bytes((n.bit_length() + 7) // 8, "big")


def _emsa_pss_encode(m_hash: bytes, em_bits: int, salt: bytes, hash_name: str) -> bytes:
    """EMSA-PSS-ENCODE (RFC 8017, Section 9.1.1), from step 3, given mHash."""
    h_len = len(m_hash)
    em_len = (em_bits + 7) // 8
    if em_len < h_len + len(salt) + 2:
        raise AlertError(AlertDescription.internal_error, "RSA key too small for this PSS hash")
    h = hashlib.new(hash_name, b"\x00" * 8 + m_hash + salt).digest()
    db = b"\x00" * (em_len - len(salt) - h_len - 2) + b"\x01" + salt
    db_len = em_len - h_len - 1
    masked = int.from_bytes(db, "big") ^ int.from_bytes(_mgf1(h, db_len, hash_name), "big")
    # Step 11: clear the leftmost 8*emLen - emBits bits.
    masked &= (1 << (8 * db_len - (8 * em_len - em_bits))) - 1
    return masked.to_bytes(db_len, "big") + h + b"\xbc"


def _mgf1(seed: bytes, length: int, hash_name: str) -> bytes:
    """MGF1 (RFC 8017, Appendix B.2.1)."""
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.new(hash_name, seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:length])


def _rsasp1_crt(numbers: rsa.RSAPrivateNumbers, m: int) -> int:
    """RSASP1 (RFC 8017, Section 5.2.1, case 2 with u = 2): the CRT private operation."""
    p, q = numbers.p, numbers.q
    s1 = pow(m, numbers.dmp1, p)
    s2 = pow(m, numbers.dmq1, q)
    h = (numbers.iqmp * (s1 - s2)) % p  # iqmp = q^-1 mod p
    return s2 + q * h


# ---------------------------------------------------------------------------
# Verify
# ---------------------------------------------------------------------------


def verify(
    public_key: PublicKey,
    scheme: int,
    message: bytes,
    signature: bytes,
    *,
    what: str = "signature",
    tls13: bool = True,
) -> None:
    """Check ``signature`` over ``message``; AlertError(decrypt_error) if it does not verify.

    ``what`` names the signature in the reason, e.g. "CertificateVerify signature".
    """
    if _is_private(public_key):
        raise TypeError(f"verify() needs a public key, not {type(public_key).__name__}")
    s, spec = _checked(public_key, scheme, tls13)
    try:
        _verify(public_key, spec, bytes(message), bytes(signature))
    except (InvalidSignature, ValueError):
        raise AlertError(AlertDescription.decrypt_error, f"{what} ({s.name}) does not verify") from None


def _verify(public_key: PublicKey, spec: _Scheme, message: bytes, signature: bytes) -> None:
    kind = key_kind(public_key)  # _checked made sure the scheme fits this kind
    if kind in ("ed25519", "ed448"):
        cast("ed25519.Ed25519PublicKey | ed448.Ed448PublicKey", public_key).verify(signature, message)
        return
    assert spec.hash is not None
    algorithm = _hash(spec.hash)
    if kind == "ecdsa":
        cast("ec.EllipticCurvePublicKey", public_key).verify(signature, message, _ecdsa(spec.hash))
    elif spec.kind == "rsa_pkcs1":
        cast("rsa.RSAPublicKey", public_key).verify(signature, message, _PKCS1V15, algorithm)
    else:
        cast("rsa.RSAPublicKey", public_key).verify(signature, message, _pss(spec.hash), algorithm)
