"""Key exchange groups: X25519, X448, the NIST P-curves, FFDHE and X25519MLKEM768.

Pure: no I/O, no clock; every private value comes from the injected
``randomness`` (see :mod:`glasstls.crypto.rand`), so a recorded handshake can
be replayed byte for byte, except a server's X25519MLKEM768 encapsulation,
whose ML-KEM message ``cryptography`` draws itself (:func:`_hybrid_encapsulate`).

Roles. A *client* calls :func:`generate_key_share` (or, for all the shares of
its first ClientHello, :func:`generate_key_shares`), sends
``share.public_bytes()`` and later calls ``share.exchange(server_share)``.
A *server* calls :func:`encapsulate_to` with the client's share and gets back
its own share and the shared secret in one step. For Diffie-Hellman groups
that is "generate a share and exchange"; for the KEM hybrid it is an
encapsulation, which is why the server side is one function for all groups.

Every check on a peer's value raises ``AlertError(illegal_parameter, reason)``
with a reason that names the group; no exception from the backend escapes for
bad peer input.

Wire formats (RFC 8446, Section 4.2.8): X25519/X448 shares are the raw
RFC 7748 strings; ECDHE shares are uncompressed points (Section 4.2.8.2);
FFDHE shares and secrets are left-padded to the byte length of p
(Section 4.2.8.1 and Section 7.4.1). TLS 1.2 strips leading zeros from a DH
premaster secret instead (RFC 5246, Section 8.1.2): :func:`strip_leading_zeros`.
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dh, ec, x448, x25519
from cryptography.utils import CryptographyDeprecationWarning

from ..enums import AlertDescription, NamedGroup
from ..errors import AlertError
from .rand import Randomness, is_system

try:  # ML-KEM arrived in cryptography 47; it also needs a backend that has it.
    from cryptography.hazmat.backends.openssl.backend import backend as _backend
    from cryptography.hazmat.primitives.asymmetric import mlkem as _mlkem

    _HAVE_MLKEM = bool(_backend.mlkem_supported())
except ImportError:  # pragma: no cover - depends on the installed cryptography
    _mlkem = None  # type: ignore[assignment]  # no ML-KEM in this build: _HAVE_MLKEM guards every use
    _HAVE_MLKEM = False


# cryptography's X25519 classmethods (generate, from_public_bytes) import the backend and ask it
# whether X25519 is allowed (it is not in FIPS mode) before each call into the Rust binding; every
# TLS 1.3 handshake makes a key and reads the peer's on each side. The binding is called directly
# while the backend allows X25519; otherwise, or without such a binding, the classmethods are,
# which raise as they always did.
def _x25519_binding(binding: Any, backend: Any) -> Any:
    """cryptography's X25519 binding when it and the backend have the (private) names kx calls,
    else None: a release without one of them takes the classmethods, instead of failing in a
    handshake."""
    names = hasattr(binding, "generate_key") and hasattr(binding, "from_public_bytes")
    return binding if names and hasattr(backend, "x25519_supported") else None


try:
    from cryptography.hazmat.backends.openssl.backend import backend as _x25519_backend
    from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

    _RUST_X25519: Any = _x25519_binding(getattr(_rust_openssl, "x25519", None), _x25519_backend)
except ImportError:  # pragma: no cover - depends on the installed cryptography
    _RUST_X25519 = None


def _x25519_generate() -> x25519.X25519PrivateKey:
    if _RUST_X25519 is not None and _x25519_backend.x25519_supported():
        key: x25519.X25519PrivateKey = _RUST_X25519.generate_key()
        return key
    return x25519.X25519PrivateKey.generate()


def _x25519_public(data: bytes) -> x25519.X25519PublicKey:
    if _RUST_X25519 is not None and _x25519_backend.x25519_supported():
        key: x25519.X25519PublicKey = _RUST_X25519.from_public_bytes(data)
        return key
    return x25519.X25519PublicKey.from_public_bytes(data)


# cryptography 50 deprecates finite-field DH and warns on every call. FFDHE is
# still a TLS group (RFC 7919) peers may pick, so the warning is silenced for
# calls made from this module only; if cryptography drops DH, _FFDHEShare needs
# another backend (pow() works, at roughly 5-10x the cost).
warnings.filterwarnings(
    "ignore",
    message="Diffie-Hellman over finite fields",
    category=CryptographyDeprecationWarning,
    module=__name__,
)

__all__ = [
    "SUPPORTED_GROUPS",
    "TLS13_ONLY_GROUPS",
    "DHEShare",
    "KeyShare",
    "encapsulate_to",
    "ffdhe_group_for",
    "ffdhe_parameters",
    "ffdhe_prime",
    "generate_key_share",
    "generate_key_shares",
    "key_share_length",
    "strip_leading_zeros",
]

# ---------------------------------------------------------------------------
# Group tables
# ---------------------------------------------------------------------------

_DH_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.x448,
    NamedGroup.secp384r1,
    NamedGroup.secp521r1,
    NamedGroup.ffdhe2048,
    NamedGroup.ffdhe3072,
    NamedGroup.ffdhe4096,
    NamedGroup.ffdhe6144,
    NamedGroup.ffdhe8192,
)

#: Every group this module implements, in a sensible default preference order
#: (hybrid post-quantum first, then X25519, as DESIGN.md asks).
FFDHE_GROUPS: frozenset[NamedGroup] = frozenset(
    (NamedGroup.ffdhe2048, NamedGroup.ffdhe3072, NamedGroup.ffdhe4096, NamedGroup.ffdhe6144, NamedGroup.ffdhe8192)
)
SUPPORTED_GROUPS: tuple[NamedGroup, ...] = ((NamedGroup.X25519MLKEM768,) if _HAVE_MLKEM else ()) + _DH_GROUPS

#: Groups defined for TLS 1.3 key_share only (draft-ietf-tls-ecdhe-mlkem,
#: Abstract and Section 4): a TLS 1.2 ServerKeyExchange must not use them.
TLS13_ONLY_GROUPS: frozenset[NamedGroup] = frozenset({NamedGroup.X25519MLKEM768})

# Montgomery curves (RFC 7748): key and share length in bytes.
_MONTGOMERY = {NamedGroup.x25519: 32, NamedGroup.x448: 56}
# The members each TLS 1.3 handshake compares with, looked up once: a member looked up on its
# class goes through EnumType's attribute hook (some 900 instructions a time in CPython 3.11).
_X25519, _HYBRID = NamedGroup.x25519, NamedGroup.X25519MLKEM768

# NIST curves: the curve, the byte length of a coordinate and the group order
# n (SEC 2 / FIPS 186-4 D.1.2; cross-checked against OpenSSL in the tests).
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_P384_ORDER = int(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
)
_P521_ORDER = int(
    "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA"
    "51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
    16,
)


@dataclass(frozen=True)
class _Curve:
    curve: ec.EllipticCurve
    coordinate_bytes: int
    order: int


_CURVES = {
    NamedGroup.secp256r1: _Curve(ec.SECP256R1(), 32, _P256_ORDER),
    NamedGroup.secp384r1: _Curve(ec.SECP384R1(), 48, _P384_ORDER),
    NamedGroup.secp521r1: _Curve(ec.SECP521R1(), 66, _P521_ORDER),
}

# RFC 7919, Appendix A: the safe primes, generator 2. The hex was extracted
# from the RFC text by a script and is checked in the tests against the
# derivation formula of Appendix A and against OpenSSL's built-in groups.
_FFDHE_PRIME_HEX: dict[NamedGroup, str] = {
    NamedGroup.ffdhe2048: (
        "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
        "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
        "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
        "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
        "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
        "886B423861285C97FFFFFFFFFFFFFFFF"
    ),
    NamedGroup.ffdhe3072: (
        "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
        "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
        "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
        "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
        "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
        "886B4238611FCFDCDE355B3B6519035BBC34F4DEF99C023861B46FC9D6E6C9077AD91D2691F7F7EE598CB0FAC186D91C"
        "AEFE130985139270B4130C93BC437944F4FD4452E2D74DD364F2E21E71F54BFF5CAE82AB9C9DF69EE86D2BC522363A0D"
        "ABC521979B0DEADA1DBF9A42D5C4484E0ABCD06BFA53DDEF3C1B20EE3FD59D7C25E41D2B66C62E37FFFFFFFFFFFFFFFF"
    ),
    NamedGroup.ffdhe4096: (
        "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
        "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
        "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
        "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
        "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
        "886B4238611FCFDCDE355B3B6519035BBC34F4DEF99C023861B46FC9D6E6C9077AD91D2691F7F7EE598CB0FAC186D91C"
        "AEFE130985139270B4130C93BC437944F4FD4452E2D74DD364F2E21E71F54BFF5CAE82AB9C9DF69EE86D2BC522363A0D"
        "ABC521979B0DEADA1DBF9A42D5C4484E0ABCD06BFA53DDEF3C1B20EE3FD59D7C25E41D2B669E1EF16E6F52C3164DF4FB"
        "7930E9E4E58857B6AC7D5F42D69F6D187763CF1D5503400487F55BA57E31CC7A7135C886EFB4318AED6A1E012D9E6832"
        "A907600A918130C46DC778F971AD0038092999A333CB8B7A1A1DB93D7140003C2A4ECEA9F98D0ACC0A8291CDCEC97DCF"
        "8EC9B55A7F88A46B4DB5A851F44182E1C68A007E5E655F6AFFFFFFFFFFFFFFFF"
    ),
    NamedGroup.ffdhe6144: (
        "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
        "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
        "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
        "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
        "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
        "886B4238611FCFDCDE355B3B6519035BBC34F4DEF99C023861B46FC9D6E6C9077AD91D2691F7F7EE598CB0FAC186D91C"
        "AEFE130985139270B4130C93BC437944F4FD4452E2D74DD364F2E21E71F54BFF5CAE82AB9C9DF69EE86D2BC522363A0D"
        "ABC521979B0DEADA1DBF9A42D5C4484E0ABCD06BFA53DDEF3C1B20EE3FD59D7C25E41D2B669E1EF16E6F52C3164DF4FB"
        "7930E9E4E58857B6AC7D5F42D69F6D187763CF1D5503400487F55BA57E31CC7A7135C886EFB4318AED6A1E012D9E6832"
        "A907600A918130C46DC778F971AD0038092999A333CB8B7A1A1DB93D7140003C2A4ECEA9F98D0ACC0A8291CDCEC97DCF"
        "8EC9B55A7F88A46B4DB5A851F44182E1C68A007E5E0DD9020BFD64B645036C7A4E677D2C38532A3A23BA4442CAF53EA6"
        "3BB454329B7624C8917BDD64B1C0FD4CB38E8C334C701C3ACDAD0657FCCFEC719B1F5C3E4E46041F388147FB4CFDB477"
        "A52471F7A9A96910B855322EDB6340D8A00EF092350511E30ABEC1FFF9E3A26E7FB29F8C183023C3587E38DA0077D9B4"
        "763E4E4B94B2BBC194C6651E77CAF992EEAAC0232A281BF6B3A739C1226116820AE8DB5847A67CBEF9C9091B462D538C"
        "D72B03746AE77F5E62292C311562A846505DC82DB854338AE49F5235C95B91178CCF2DD5CACEF403EC9D1810C6272B04"
        "5B3B71F9DC6B80D63FDD4A8E9ADB1E6962A69526D43161C1A41D570D7938DAD4A40E329CD0E40E65FFFFFFFFFFFFFFFF"
    ),
    NamedGroup.ffdhe8192: (
        "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
        "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
        "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
        "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
        "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
        "886B4238611FCFDCDE355B3B6519035BBC34F4DEF99C023861B46FC9D6E6C9077AD91D2691F7F7EE598CB0FAC186D91C"
        "AEFE130985139270B4130C93BC437944F4FD4452E2D74DD364F2E21E71F54BFF5CAE82AB9C9DF69EE86D2BC522363A0D"
        "ABC521979B0DEADA1DBF9A42D5C4484E0ABCD06BFA53DDEF3C1B20EE3FD59D7C25E41D2B669E1EF16E6F52C3164DF4FB"
        "7930E9E4E58857B6AC7D5F42D69F6D187763CF1D5503400487F55BA57E31CC7A7135C886EFB4318AED6A1E012D9E6832"
        "A907600A918130C46DC778F971AD0038092999A333CB8B7A1A1DB93D7140003C2A4ECEA9F98D0ACC0A8291CDCEC97DCF"
        "8EC9B55A7F88A46B4DB5A851F44182E1C68A007E5E0DD9020BFD64B645036C7A4E677D2C38532A3A23BA4442CAF53EA6"
        "3BB454329B7624C8917BDD64B1C0FD4CB38E8C334C701C3ACDAD0657FCCFEC719B1F5C3E4E46041F388147FB4CFDB477"
        "A52471F7A9A96910B855322EDB6340D8A00EF092350511E30ABEC1FFF9E3A26E7FB29F8C183023C3587E38DA0077D9B4"
        "763E4E4B94B2BBC194C6651E77CAF992EEAAC0232A281BF6B3A739C1226116820AE8DB5847A67CBEF9C9091B462D538C"
        "D72B03746AE77F5E62292C311562A846505DC82DB854338AE49F5235C95B91178CCF2DD5CACEF403EC9D1810C6272B04"
        "5B3B71F9DC6B80D63FDD4A8E9ADB1E6962A69526D43161C1A41D570D7938DAD4A40E329CCFF46AAA36AD004CF600C838"
        "1E425A31D951AE64FDB23FCEC9509D43687FEB69EDD1CC5E0B8CC3BDF64B10EF86B63142A3AB8829555B2F747C932665"
        "CB2C0F1CC01BD70229388839D2AF05E454504AC78B7582822846C0BA35C35F5C59160CC046FD8251541FC68C9C86B022"
        "BB7099876A460E7451A8A93109703FEE1C217E6C3826E52C51AA691E0E423CFC99E9E31650C1217B624816CDAD9A95F9"
        "D5B8019488D9C0A0A1FE3075A577E23183F81D4A3F2FA4571EFC8CE0BA8A4FE8B6855DFE72B0A66EDED2FBABFBE58A30"
        "FAFABE1C5D71A87E2F741EF8C1FE86FEA6BBFDE530677F0D97D11D49F7A8443D0822E506A9F4614E011E2A94838FF88C"
        "D68C8BB7C5C6424CFFFFFFFFFFFFFFFF"
    ),
}

# RFC 7919, Appendix A: the suggested minimum length in bits of a short
# secret exponent (Section 5.2) for each group.
_FFDHE_SHORT_EXPONENT_BITS = {
    NamedGroup.ffdhe2048: 225,
    NamedGroup.ffdhe3072: 275,
    NamedGroup.ffdhe4096: 325,
    NamedGroup.ffdhe6144: 375,
    NamedGroup.ffdhe8192: 400,
}

_FFDHE_GENERATOR = 2

# draft-ietf-tls-ecdhe-mlkem, Sections 4.1-4.3 (and FIPS 203 for the sizes).
_MLKEM768_EK_LEN = 1184
_MLKEM768_CT_LEN = 1088
_MLKEM768_SEED_LEN = 64  # FIPS 203 key generation seed d || z
_HYBRID_CLIENT_LEN = _MLKEM768_EK_LEN + 32
_HYBRID_SERVER_LEN = _MLKEM768_CT_LEN + 32


def _illegal(reason: str) -> AlertError:
    return AlertError(AlertDescription.illegal_parameter, reason)


def _check_length(group: NamedGroup, what: str, data: bytes, expected: int) -> None:
    if len(data) != expected:
        raise _illegal(f"{group.name} {what} is {len(data)} bytes, expected {expected}")


# ---------------------------------------------------------------------------
# Public helpers
# ---------------------------------------------------------------------------


def key_share_length(group: int, *, server: bool = False) -> int | None:
    """Length of a key_share value for ``group``, or None if unsupported.

    Only the hybrid differs by role (ciphertext vs encapsulation key).
    """
    g = NamedGroup(group)
    if g in _MONTGOMERY:
        return _MONTGOMERY[g]
    if g in _CURVES:
        return 1 + 2 * _CURVES[g].coordinate_bytes
    if g in _FFDHE_PRIME_HEX:
        return _ffdhe(g).size
    if g == NamedGroup.X25519MLKEM768 and _HAVE_MLKEM:
        return _HYBRID_SERVER_LEN if server else _HYBRID_CLIENT_LEN
    return None


def strip_leading_zeros(secret: bytes) -> bytes:
    """TLS 1.2 DH premaster secret: leading zero bytes removed (RFC 5246, Section 8.1.2).

    TLS 1.3 keeps the padded form instead (RFC 8446, Section 7.4.1).
    """
    return secret.lstrip(b"\x00")


def ffdhe_parameters(group: int) -> tuple[int, int]:
    """(p, g) of an RFC 7919 group, for a TLS 1.2 ServerKeyExchange (RFC 5246, Section 7.4.3)."""
    g = NamedGroup(group)
    if g not in _FFDHE_PRIME_HEX:
        raise _illegal(f"{g.name} is not an FFDHE group")
    return _ffdhe(g).p, _FFDHE_GENERATOR


def ffdhe_group_for(p: int, g: int) -> NamedGroup | None:
    """The RFC 7919 group with prime ``p`` and generator ``g``, if any.

    A TLS 1.2 client learns the DHE group only as (p, g) in ServerKeyExchange;
    only a known safe prime allows the cheap check of RFC 7919, Section 5.1.
    """
    if g != _FFDHE_GENERATOR:
        return None
    return _ffdhe_by_prime().get(p)


# ---------------------------------------------------------------------------
# Key shares
# ---------------------------------------------------------------------------


class KeyShare(abc.ABC):
    """One side's ephemeral key for ``group``: send ``public_bytes()``, then ``exchange``."""

    __slots__ = ("group",)

    group: NamedGroup

    @abc.abstractmethod
    def public_bytes(self) -> bytes:
        """The key_share value to send (RFC 8446, Section 4.2.8)."""

    @abc.abstractmethod
    def exchange(self, peer_public: bytes) -> bytes:
        """The shared secret with the peer's share; AlertError(illegal_parameter) if it is bad."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.group.name}>"


class _MontgomeryShare(KeyShare):
    """X25519 / X448 (RFC 7748): generated by OpenSSL, or with injected randomness (a replay)
    the drawn string itself as the private key."""

    __slots__ = ("_private", "_public")

    def __init__(self, group: NamedGroup, randomness: Randomness) -> None:
        self.group = group
        x25519_group = group == _X25519
        self._private: x25519.X25519PrivateKey | x448.X448PrivateKey
        if is_system(randomness):  # as _ECShare: a generated key, no bytes to build one from
            self._private = _x25519_generate() if x25519_group else x448.X448PrivateKey.generate()
        else:
            raw = randomness(_MONTGOMERY[group])
            if x25519_group:
                self._private = x25519.X25519PrivateKey.from_private_bytes(raw)
            else:
                self._private = x448.X448PrivateKey.from_private_bytes(raw)
        self._public = self._private.public_key().public_bytes_raw()

    def public_bytes(self) -> bytes:
        return self._public

    def exchange(self, peer_public: bytes) -> bytes:
        peer_public = bytes(peer_public)
        _check_length(self.group, "key share", peer_public, _MONTGOMERY[self.group])
        private: Any = self._private  # (typed by the group below: no typing.cast call, a Python function)
        secret: bytes
        try:
            if self.group == _X25519:  # (the key's class is an ABC: isinstance costs more)
                secret = private.exchange(_x25519_public(peer_public))
            else:
                secret = private.exchange(x448.X448PublicKey.from_public_bytes(peer_public))
        except ValueError:
            # OpenSSL refuses an all-zero result itself; report it the same way.
            secret = b""
        if not secret or not any(secret):
            raise _illegal(_all_zero_reason(self.group))
        return secret


def _all_zero_reason(group: NamedGroup) -> str:
    # RFC 7748, Section 6.1/6.2 and RFC 8446, Section 7.4.2: a small-order
    # peer point yields the all-zero secret, which must be rejected.
    return (
        f"{group.name} shared secret is all zeros: the peer's share is a small-order point "
        "(RFC 7748, Section 6; RFC 8446, Section 7.4.2)"
    )


class _ECShare(KeyShare):
    """ECDHE on a NIST curve with uncompressed points (RFC 8446, Section 4.2.8.2)."""

    __slots__ = ("_private", "_public")

    def __init__(self, group: NamedGroup, randomness: Randomness) -> None:
        self.group = group
        spec = _CURVES[group]
        if is_system(randomness):
            self._private = ec.generate_private_key(spec.curve)
        else:
            self._private = ec.derive_private_key(_scalar_from(randomness, spec.order), spec.curve)
        self._public = self._private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def public_bytes(self) -> bytes:
        return self._public

    def exchange(self, peer_public: bytes) -> bytes:
        peer = _load_point(self.group, bytes(peer_public))
        # The x-coordinate, fixed length (RFC 8446, Section 7.4.2).
        return self._private.exchange(ec.ECDH(), peer)


def _scalar_from(randomness: Randomness, order: int) -> int:
    """A private scalar in [1, n-1] from injected bytes (replay path).

    The reduction is slightly biased for P-521; harmless for an ephemeral
    key-agreement key (unlike an ECDSA nonce), and only used with injected
    randomness.
    """
    raw = randomness((order.bit_length() + 7) // 8)
    return int.from_bytes(raw, "big") % (order - 1) + 1


def _load_point(group: NamedGroup, data: bytes) -> ec.EllipticCurvePublicKey:
    spec = _CURVES[group]
    # RFC 8446, Section 4.2.8.2: only the uncompressed form (legacy_form 4).
    if data[:1] != b"\x04":
        first = f"0x{data[0]:02x}" if data else "nothing"
        raise _illegal(
            f"{group.name} key share is not an uncompressed point (first byte {first}; RFC 8446, Section 4.2.8.2)"
        )
    _check_length(group, "key share", data, 1 + 2 * spec.coordinate_bytes)
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(spec.curve, data)
    except ValueError:
        raise _illegal(f"{group.name} key share is not a point on the curve") from None


@dataclass(frozen=True)
class _FFDHEGroup:
    """Parameter objects built once per group, not per handshake."""

    label: str  # the group's name in reasons: "ffdhe2048", "modp2048 (RFC 3526 group 14)", ...
    p: int
    g: int
    size: int  # byte length of p
    numbers: dh.DHParameterNumbers
    parameters: dh.DHParameters
    generator_key: dh.DHPublicKey  # g itself as a public value (see _derive_ffdhe_key)
    exponent_bytes: int  # the short secret exponent of the replay path


def _ffdh_spec(label: str, p: int, g: int, exponent_bits: int) -> _FFDHEGroup:
    numbers = dh.DHParameterNumbers(p, g)
    try:
        parameters = numbers.parameters()
        generator_key = dh.DHPublicNumbers(g, numbers).public_key()
    except ValueError:
        # OpenSSL's own DH_check refused (p, g); callers vet groups first, so this is a backstop.
        raise _illegal(f"{label}: the DH backend refuses the group's parameters") from None
    return _FFDHEGroup(
        label=label,
        p=p,
        g=g,
        size=(p.bit_length() + 7) // 8,
        numbers=numbers,
        parameters=parameters,
        generator_key=generator_key,
        exponent_bytes=(exponent_bits + 7) // 8,
    )


def ffdhe_prime(group: NamedGroup) -> int:
    """The prime p of an RFC 7919 group."""
    return _ffdhe(group).p


@cache
def _ffdhe(group: NamedGroup) -> _FFDHEGroup:
    p = int(_FFDHE_PRIME_HEX[group], 16)
    return _ffdh_spec(group.name, p, _FFDHE_GENERATOR, _FFDHE_SHORT_EXPONENT_BITS[group])


# Groups a TLS 1.2 server names only as (p, g) (crypto/dhe12.py): a few, kept by p.
@lru_cache(maxsize=16)
def _dhe_spec(label: str, p: int, g: int) -> _FFDHEGroup:
    # RFC 7919, Appendix A's short-exponent sizes, by the largest listed size not above p's.
    bits = max((b for size, b in _SHORT_EXPONENT_BY_SIZE if size <= p.bit_length()), default=225)
    return _ffdh_spec(label, p, g, bits)


_SHORT_EXPONENT_BY_SIZE = ((2048, 225), (3072, 275), (4096, 325), (6144, 375), (8192, 400))


@lru_cache(maxsize=1)
def _ffdhe_by_prime() -> dict[int, NamedGroup]:
    return {_ffdhe(g).p: g for g in _FFDHE_PRIME_HEX}


class _FiniteFieldKey:
    """One ephemeral key in a safe-prime group: Y = g^x mod p, then Z = Y_peer^x mod p."""

    __slots__ = ("spec", "_private", "public")

    def __init__(self, spec: _FFDHEGroup, randomness: Randomness) -> None:
        self.spec = spec
        if is_system(randomness):
            # OpenSSL recognises a named safe prime (RFC 7919's, RFC 3526's) and picks a
            # short exponent itself (RFC 7919, Section 5.2); a full-length one otherwise.
            self._private = spec.parameters.generate_private_key()
            y = self._private.public_key().public_numbers().y
            self.public = y.to_bytes(spec.size, "big")
        else:
            self._private, self.public = _derive_ffdhe_key(spec, randomness)

    def exchange(self, peer_public: bytes) -> bytes:
        spec = self.spec
        # RFC 8446, Section 4.2.8.1: Y is left-padded to the byte length of p.
        if len(peer_public) != spec.size:
            raise _illegal(f"{spec.label} key share is {len(peer_public)} bytes, expected {spec.size}")
        y = int.from_bytes(peer_public, "big")
        # RFC 7919, Section 5.1: 1 < Y < p-1 keeps us out of the 2-element subgroup.
        # That is the whole check because every group here is a safe prime p = 2q+1
        # (RFC 7919's and RFC 3526's by construction, a server's own after
        # dhe12.is_safe_prime): the only subgroups of order below q are {1} and
        # {1, p-1}, so no other small subgroup can confine the shared secret.
        if not 1 < y < spec.p - 1:
            raise _illegal(f"{spec.label} key share Y is outside [2, p-2] (RFC 7919, Section 5.1)")
        try:
            secret = self._private.exchange(dh.DHPublicNumbers(y, spec.numbers).public_key())
        except ValueError:
            raise _illegal(f"{spec.label} key share Y is rejected by the DH backend") from None
        # RFC 8446, Section 7.4.1: padded to the length of p.
        return secret.rjust(spec.size, b"\x00")


class _FFDHEShare(KeyShare):
    """Finite-field DHE over an RFC 7919 group."""

    __slots__ = ("_key",)

    def __init__(self, group: NamedGroup, randomness: Randomness) -> None:
        self.group = group
        self._key = _FiniteFieldKey(_ffdhe(group), randomness)

    def public_bytes(self) -> bytes:
        return self._key.public

    def exchange(self, peer_public: bytes) -> bytes:
        return self._key.exchange(bytes(peer_public))


class DHEShare:
    """TLS 1.2 DHE over a group the server named only as (p, g) (RFC 5246, Section 7.4.3),
    already vetted as a safe prime (crypto/dhe12.py): RFC 3526's or a server's own.

    ``public_bytes()`` is Y padded to the length of p; ``exchange`` checks the
    peer's Y as for RFC 7919 and returns the secret padded to the length of p.
    """

    __slots__ = ("label", "_key")

    def __init__(self, label: str, p: int, g: int, randomness: Randomness) -> None:
        self.label = label
        self._key = _FiniteFieldKey(_dhe_spec(label, p, g), randomness)

    def public_bytes(self) -> bytes:
        return self._key.public

    def exchange(self, peer_public: bytes) -> bytes:
        return self._key.exchange(bytes(peer_public))

    def __repr__(self) -> str:
        return f"<DHEShare {self.label}>"


def _derive_ffdhe_key(spec: _FFDHEGroup, randomness: Randomness) -> tuple[dh.DHPrivateKey, bytes]:
    """Replay path: a short exponent x from injected bytes (RFC 7919, Section 5.2).

    cryptography has no "g^x for this x"; a DH exchange with the peer value g
    computes exactly that inside OpenSSL, far faster than Python's pow() on an
    8192-bit modulus. The first key object carries a placeholder public value
    (OpenSSL does not use it for the exchange); the kept one carries the real Y.
    """
    x = 2 + int.from_bytes(randomness(spec.exponent_bytes), "big")
    placeholder = dh.DHPrivateNumbers(x, dh.DHPublicNumbers(spec.g, spec.numbers)).private_key()
    public = placeholder.exchange(spec.generator_key).rjust(spec.size, b"\x00")
    y = int.from_bytes(public, "big")
    private = dh.DHPrivateNumbers(x, dh.DHPublicNumbers(y, spec.numbers)).private_key()
    return private, public


class _X25519MLKEM768Share(KeyShare):
    """Client side of X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem, Section 4).

    Share = ML-KEM-768 encapsulation key || X25519 public; the ML-KEM key comes
    from a 64-byte FIPS 203 seed drawn first, then 32 bytes for X25519.
    """

    __slots__ = ("_kem", "_ecdh")

    def __init__(self, randomness: Randomness) -> None:
        self.group = NamedGroup.X25519MLKEM768
        self._kem = _mlkem.MLKEM768PrivateKey.from_seed_bytes(randomness(_MLKEM768_SEED_LEN))
        self._ecdh = _MontgomeryShare(NamedGroup.x25519, randomness)

    def public_bytes(self) -> bytes:
        return self._kem.public_key().public_bytes_raw() + self._ecdh.public_bytes()

    def exchange(self, peer_public: bytes) -> bytes:
        peer_public = bytes(peer_public)
        # Section 4.2: a ciphertext of the wrong length is illegal_parameter ...
        _check_length(self.group, "server share", peer_public, _HYBRID_SERVER_LEN)
        ciphertext, ecdh_public = peer_public[:_MLKEM768_CT_LEN], peer_public[_MLKEM768_CT_LEN:]
        ecdh_secret = _hybrid_ecdh(self._ecdh, ecdh_public)
        try:
            kem_secret = self._kem.decapsulate(ciphertext)
        except ValueError:
            # ... and any other decapsulation failure is internal_error.
            raise AlertError(
                AlertDescription.internal_error, "X25519MLKEM768: ML-KEM-768 decapsulation failed"
            ) from None
        # Section 4.3: ML-KEM secret first, then X25519.
        return kem_secret + ecdh_secret


def _hybrid_ecdh(share: _MontgomeryShare, peer_public: bytes) -> bytes:
    """The X25519 half of the hybrid; reasons name the hybrid group."""
    try:
        return share.exchange(peer_public)
    except AlertError as exc:
        raise _illegal(f"X25519MLKEM768: {exc.reason}") from None


def _hybrid_encapsulate(client_share: bytes, randomness: Randomness) -> tuple[bytes, bytes]:
    """Server side of X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem, Sections 4.2-4.3).

    The ML-KEM encapsulation draws its message from OpenSSL's generator:
    cryptography offers no way to inject it, so the server's ciphertext is
    not reproducible in a replay (the X25519 half is).
    """
    group = NamedGroup.X25519MLKEM768
    _check_length(group, "client share", client_share, _HYBRID_CLIENT_LEN)
    encapsulation_key, ecdh_public = client_share[:_MLKEM768_EK_LEN], client_share[_MLKEM768_EK_LEN:]
    try:
        # from_public_bytes performs the FIPS 203, Section 7.2 modulus check.
        peer_kem = _mlkem.MLKEM768PublicKey.from_public_bytes(encapsulation_key)
    except ValueError:
        raise _illegal("X25519MLKEM768: ML-KEM-768 encapsulation key fails the FIPS 203 (Section 7.2) check") from None
    ecdh = _MontgomeryShare(NamedGroup.x25519, randomness)
    ecdh_secret = _hybrid_ecdh(ecdh, ecdh_public)
    kem_secret, ciphertext = peer_kem.encapsulate()
    return ciphertext + ecdh.public_bytes(), kem_secret + ecdh_secret


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def _supported(group: int) -> NamedGroup:
    # A NamedGroup member is taken as it is: NamedGroup() goes through EnumType.__call__.
    g = group if type(group) is NamedGroup else NamedGroup(group)
    if g not in SUPPORTED_GROUPS:
        raise _illegal(f"key exchange group {g.name} is not supported")
    return g


def generate_key_share(group: int, randomness: Randomness) -> KeyShare:
    """A fresh ephemeral key share for ``group`` (the client role for the hybrid)."""
    return _new_share(_supported(group), randomness)


def generate_key_shares(groups: Iterable[int], randomness: Randomness) -> dict[NamedGroup, KeyShare]:
    """The key shares of one ClientHello, one for each of ``groups``, in that order.

    Every group's share is made as :func:`generate_key_share` makes it, but for
    one: offered beside X25519MLKEM768, the standalone x25519 share is the
    hybrid's own X25519 half (the same key object), whichever of the two comes
    first. A component algorithm's key_exchange value may be reused across the
    KeyShareEntry records of one ClientHello (draft-ietf-tls-hybrid-design,
    the version draft-ietf-tls-ecdhe-mlkem cites is -16), and rustls and Go's
    crypto/tls send a default hello this way: its x25519 share is the last 32 bytes of the hybrid's
    (draft-ietf-tls-ecdhe-mlkem, Section 4.1). That saves an X25519 key
    generation per hello and weakens nothing: the server selects one group
    (RFC 8446, Section 4.2.8), so the key still takes part in one exchange.

    Randomness is drawn group by group in list order. The pair draws where the
    first of its two groups stands, as :func:`generate_key_share` does for the
    hybrid alone (the 64-byte ML-KEM seed, then 32 bytes for X25519), and the
    second of them draws nothing: with the default order (the hybrid, then
    x25519) a replay's stream is the hybrid's draws, without the 32 bytes a
    separate x25519 key took.
    """
    wanted = [_supported(g) for g in groups]
    pair = _HYBRID in wanted and _X25519 in wanted
    made: dict[NamedGroup, KeyShare] = {}
    for g in wanted:
        if g in made:  # (a group named twice, or the second of the pair)
            continue
        if pair and (g is _HYBRID or g is _X25519):
            hybrid = _X25519MLKEM768Share(randomness)
            made[_HYBRID] = hybrid
            made[_X25519] = hybrid._ecdh
        else:
            made[g] = _new_share(g, randomness)
    return {g: made[g] for g in wanted}  # (in the order given: the key_share entries are sent in it)


def _new_share(g: NamedGroup, randomness: Randomness) -> KeyShare:
    if g in _MONTGOMERY:
        return _MontgomeryShare(g, randomness)
    if g in _CURVES:
        return _ECShare(g, randomness)
    if g in _FFDHE_PRIME_HEX:
        return _FFDHEShare(g, randomness)
    return _X25519MLKEM768Share(randomness)


def encapsulate_to(group: int, client_share: bytes, randomness: Randomness) -> tuple[bytes, bytes]:
    """Server side for every group: (server key_share bytes, shared secret).

    For Diffie-Hellman groups this generates a share and exchanges; for the
    KEM hybrid it encapsulates to the client's key.
    """
    g = _supported(group)
    client_share = bytes(client_share)
    if g == _HYBRID:
        return _hybrid_encapsulate(client_share, randomness)
    share = _new_share(g, randomness)  # (g checked above)
    return share.public_bytes(), share.exchange(client_share)
