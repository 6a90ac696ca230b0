"""Cipher suite parameters (RFC 8446, Appendix B.4).

A :class:`Suite13` names the AEAD and the hash a TLS 1.3 suite uses; the key
schedule and the record layer read everything they need from it.

The AES-CCM suites (TLS 1.3: RFC 8446, Appendix B.4; TLS 1.2: RFC 6655 and
RFC 7251) are here so that they can be named in ``cipher_suites``; no default
offers them. Their ``_8`` variants carry an 8-byte tag, so everything that
sizes a record asks the suite for ``tag_len`` instead of assuming 16.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from ..enums import CipherSuite
from .kdf import hkdf_label


@dataclass(frozen=True)
class Suite13:
    suite: CipherSuite
    hash_name: str  # a hashlib / hmac name
    hash_len: int
    key_len: int
    iv_len: int
    aead: type  # AESGCM, ChaCha20Poly1305 or AESCCM
    aead_name: str
    tag_len: int = 16  # 8 for TLS_AES_128_CCM_8_SHA256 (RFC 8446, Appendix B.4)

    # The member's name, read once (an Enum's name is a descriptor call each time it is read).
    name: str = field(init=False, repr=False, compare=False)
    # The AEAD object for one traffic key, made by calling this: the AEAD's class itself, or AES-CCM's
    # with the tag length bound (chosen once, not per key: a resumption makes seven).
    new_aead: Callable[[bytes], AESGCM | ChaCha20Poly1305 | AESCCM] = field(init=False, repr=False, compare=False)

    # The HKDF-Expand inputs of the write key and IV (RFC 8446, Section 7.3: HkdfLabel of "key" and
    # "iv", empty context, then T(1)'s counter), made once (keyschedule13.traffic_key_and_iv).
    traffic_inputs: tuple[bytes, bytes] = field(init=False, repr=False, compare=False)
    # The HKDF-Expand input of a finished_key (RFC 8446, Section 4.4.4: HkdfLabel of "finished",
    # empty context, Hash.length, then T(1)'s counter), made once: a side makes three a resumption.
    finished_input: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.suite.name)
        if max(self.key_len, self.iv_len) > self.hash_len:  # (each must fit one HKDF-Expand block)
            raise ValueError(f"{self.name}: a key or IV longer than the hash needs more than one block")
        key_input = hkdf_label(b"key", b"", self.key_len) + b"\x01"
        object.__setattr__(self, "traffic_inputs", (key_input, hkdf_label(b"iv", b"", self.iv_len) + b"\x01"))
        object.__setattr__(self, "finished_input", hkdf_label(b"finished", b"", self.hash_len) + b"\x01")
        new_aead = partial(AESCCM, tag_length=self.tag_len) if self.aead is AESCCM else self.aead
        object.__setattr__(self, "new_aead", new_aead)


TLS13_SUITES: dict[CipherSuite, Suite13] = {
    s.suite: s
    for s in (
        Suite13(CipherSuite.TLS_AES_128_GCM_SHA256, "sha256", 32, 16, 12, AESGCM, "AES-128-GCM"),
        Suite13(CipherSuite.TLS_AES_256_GCM_SHA384, "sha384", 48, 32, 12, AESGCM, "AES-256-GCM"),
        Suite13(CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "sha256", 32, 32, 12, ChaCha20Poly1305, "ChaCha20-Poly1305"),
        Suite13(CipherSuite.TLS_AES_128_CCM_SHA256, "sha256", 32, 16, 12, AESCCM, "AES-128-CCM"),
        Suite13(CipherSuite.TLS_AES_128_CCM_8_SHA256, "sha256", 32, 16, 12, AESCCM, "AES-128-CCM-8", tag_len=8),
    )
}

DEFAULT_TLS13_SUITES = (
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
)


# -- TLS 1.2 (RFC 5246, 5288, 8422, 7905, 7366, 6655, 7251) ----------------------------------


@dataclass(frozen=True)
class Suite12:
    """A TLS 1.2 cipher suite: key exchange, authentication, record protection, PRF hash."""

    suite: CipherSuite
    kx: str  # "ECDHE", "DHE" or "RSA" (RSA key transport)
    auth: str  # "ECDSA" or "RSA"
    # "AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305", "AES-128-CBC", "AES-256-CBC",
    # "AES-128-CCM", "AES-256-CCM", "AES-128-CCM-8", "AES-256-CCM-8"
    cipher: str
    key_len: int
    # The implicit part of the nonce: 4 for GCM and CCM (RFC 5288, RFC 6655, Section 3),
    # 12 for ChaCha20 (RFC 7905), 0 for CBC.
    fixed_iv_len: int
    mac: str | None  # HMAC hash for CBC suites, None for AEAD suites
    mac_len: int
    prf_hash: str  # "sha256" or "sha384" (RFC 5246, Section 5; RFC 5288, Section 3)

    # The member's name, read once (an Enum's name is a descriptor call each time it is read).
    name: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.suite.name)

    @property
    def aead(self) -> bool:
        return self.mac is None

    @property
    def tag_len(self) -> int:
        """The AEAD tag's length: 8 for the CCM_8 suites (RFC 6655, Section 3), else 16; 0 for CBC."""
        if not self.aead:
            return 0
        return 8 if self.cipher.endswith("CCM-8") else 16

    @property
    def legacy(self) -> bool:
        """CBC and RSA key transport: offered only when asked for by name."""
        return not self.aead or self.kx == "RSA"


def _s12(suite: CipherSuite, kx: str, auth: str, cipher: str, mac: str | None, prf: str) -> Suite12:
    key_len = 32 if ("256" in cipher or "ChaCha" in cipher) else 16
    # GCM and CCM: a 4-byte salt (RFC 5288, Section 3; RFC 6655, Section 3); ChaCha20: a 12-byte IV.
    fixed_iv = 4 if ("GCM" in cipher or "CCM" in cipher) else (12 if cipher.startswith("ChaCha") else 0)
    mac_len = {"sha1": 20, "sha256": 32, "sha384": 48}.get(mac or "", 0)
    return Suite12(suite, kx, auth, cipher, key_len, fixed_iv, mac, mac_len, prf)


_C = CipherSuite
TLS12_SUITES: dict[CipherSuite, Suite12] = {
    s.suite: s
    for s in (
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE", "ECDSA", "AES-128-GCM", None, "sha256"),
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE", "ECDSA", "AES-256-GCM", None, "sha384"),
        _s12(_C.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE", "ECDSA", "ChaCha20-Poly1305", None, "sha256"),
        _s12(_C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE", "RSA", "AES-128-GCM", None, "sha256"),
        _s12(_C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE", "RSA", "AES-256-GCM", None, "sha384"),
        _s12(_C.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE", "RSA", "ChaCha20-Poly1305", None, "sha256"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256, "DHE", "RSA", "AES-128-GCM", None, "sha256"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384, "DHE", "RSA", "AES-256-GCM", None, "sha384"),
        _s12(_C.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "DHE", "RSA", "ChaCha20-Poly1305", None, "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_128_GCM_SHA256, "RSA", "RSA", "AES-128-GCM", None, "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_256_GCM_SHA384, "RSA", "RSA", "AES-256-GCM", None, "sha384"),
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE", "ECDSA", "AES-128-CBC", "sha1", "sha256"),
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE", "ECDSA", "AES-256-CBC", "sha1", "sha256"),
        _s12(_C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE", "RSA", "AES-128-CBC", "sha1", "sha256"),
        _s12(_C.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE", "RSA", "AES-256-CBC", "sha1", "sha256"),
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE", "ECDSA", "AES-128-CBC", "sha256", "sha256"),
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, "ECDHE", "ECDSA", "AES-256-CBC", "sha384", "sha384"),
        _s12(_C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE", "RSA", "AES-128-CBC", "sha256", "sha256"),
        _s12(_C.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, "ECDHE", "RSA", "AES-256-CBC", "sha384", "sha384"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256, "DHE", "RSA", "AES-128-CBC", "sha256", "sha256"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256, "DHE", "RSA", "AES-256-CBC", "sha256", "sha256"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_128_CBC_SHA, "DHE", "RSA", "AES-128-CBC", "sha1", "sha256"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_256_CBC_SHA, "DHE", "RSA", "AES-256-CBC", "sha1", "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_128_CBC_SHA, "RSA", "RSA", "AES-128-CBC", "sha1", "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_256_CBC_SHA, "RSA", "RSA", "AES-256-CBC", "sha1", "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_128_CBC_SHA256, "RSA", "RSA", "AES-128-CBC", "sha256", "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_256_CBC_SHA256, "RSA", "RSA", "AES-256-CBC", "sha256", "sha256"),
        # AES-CCM (RFC 7251, Section 2 for ECDHE-ECDSA; RFC 6655, Section 3 for DHE-RSA and RSA):
        # the PRF is always SHA-256. Available by name only, in no default.
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_128_CCM, "ECDHE", "ECDSA", "AES-128-CCM", None, "sha256"),
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_256_CCM, "ECDHE", "ECDSA", "AES-256-CCM", None, "sha256"),
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, "ECDHE", "ECDSA", "AES-128-CCM-8", None, "sha256"),
        _s12(_C.TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8, "ECDHE", "ECDSA", "AES-256-CCM-8", None, "sha256"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_128_CCM, "DHE", "RSA", "AES-128-CCM", None, "sha256"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_256_CCM, "DHE", "RSA", "AES-256-CCM", None, "sha256"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_128_CCM_8, "DHE", "RSA", "AES-128-CCM-8", None, "sha256"),
        _s12(_C.TLS_DHE_RSA_WITH_AES_256_CCM_8, "DHE", "RSA", "AES-256-CCM-8", None, "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_128_CCM, "RSA", "RSA", "AES-128-CCM", None, "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_256_CCM, "RSA", "RSA", "AES-256-CCM", None, "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_128_CCM_8, "RSA", "RSA", "AES-128-CCM-8", None, "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_256_CCM_8, "RSA", "RSA", "AES-256-CCM-8", None, "sha256"),
    )
}

# Forward-secret ECDHE with AEAD only (RFC 7525 recommendations): every profile's TLS 1.2 core;
# the default profile, intermediate, adds DHE-RSA with AEAD (profiles.py).
DEFAULT_TLS12_SUITES = (
    _C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    _C.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
)
