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
