"""Cipher suite parameters (RFC 8446, Appendix B.4).

A :class:`Suite13` names the AEAD and the hash a TLS 1.3 suite uses; the key
schedule and the record layer read everything they need from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from ..enums import CipherSuite


@dataclass(frozen=True)
class Suite13:
    suite: CipherSuite
    hash_name: str  # a hashlib / hmac name
    hash_len: int
    key_len: int
    iv_len: int
    aead: type  # AESGCM or ChaCha20Poly1305
    aead_name: str

    @property
    def name(self) -> str:
        return self.suite.name


TLS13_SUITES: dict[CipherSuite, Suite13] = {
    s.suite: s
    for s in (
        Suite13(CipherSuite.TLS_AES_128_GCM_SHA256, "sha256", 32, 16, 12, AESGCM, "AES-128-GCM"),
        Suite13(CipherSuite.TLS_AES_256_GCM_SHA384, "sha384", 48, 32, 12, AESGCM, "AES-256-GCM"),
        Suite13(CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "sha256", 32, 32, 12, ChaCha20Poly1305, "ChaCha20-Poly1305"),
    )
}

DEFAULT_TLS13_SUITES = (
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
)


# -- TLS 1.2 (RFC 5246, 5288, 8422, 7905, 7366) ----------------------------------


@dataclass(frozen=True)
class Suite12:
    """A TLS 1.2 cipher suite: key exchange, authentication, record protection, PRF hash."""

    suite: CipherSuite
    kx: str  # "ECDHE", "DHE" or "RSA" (RSA key transport)
    auth: str  # "ECDSA" or "RSA"
    cipher: str  # "AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305", "AES-128-CBC", "AES-256-CBC"
    key_len: int
    fixed_iv_len: int  # the implicit part of the nonce: 4 for GCM (RFC 5288), 12 for ChaCha20 (RFC 7905), 0 for CBC
    mac: str | None  # HMAC hash for CBC suites, None for AEAD suites
    mac_len: int
    prf_hash: str  # "sha256" or "sha384" (RFC 5246, Section 5; RFC 5288, Section 3)

    @property
    def name(self) -> str:
        return self.suite.name

    @property
    def aead(self) -> bool:
        return self.mac is None

    @property
    def legacy(self) -> bool:
        """CBC and RSA key transport: offered only when asked for by name."""
        return not self.aead or self.kx == "RSA"


def _s12(suite: CipherSuite, kx: str, auth: str, cipher: str, mac: str | None, prf: str) -> Suite12:
    key_len = 32 if ("256" in cipher or "ChaCha" in cipher) else 16
    fixed_iv = {"GCM": 4, "Cha": 12}.get(cipher[-3:] if cipher.endswith("GCM") else cipher[:3], 0)
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
        _s12(_C.TLS_RSA_WITH_AES_128_CBC_SHA, "RSA", "RSA", "AES-128-CBC", "sha1", "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_256_CBC_SHA, "RSA", "RSA", "AES-256-CBC", "sha1", "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_128_CBC_SHA256, "RSA", "RSA", "AES-128-CBC", "sha256", "sha256"),
        _s12(_C.TLS_RSA_WITH_AES_256_CBC_SHA256, "RSA", "RSA", "AES-256-CBC", "sha256", "sha256"),
    )
}

# Secure by default: forward-secret ECDHE with AEAD only (RFC 7525 recommendations).
DEFAULT_TLS12_SUITES = (
    _C.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    _C.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
)
