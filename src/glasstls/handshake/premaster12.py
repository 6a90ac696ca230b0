"""The TLS 1.2 server's pre-master secret from the client's ClientKeyExchange (RFC 5246, Section
7.4.7): finite-field DHE (Section 8.1.2) and RSA key transport (Section 7.4.7.1) with the
Bleichenbacher/ROBOT defence. ECDHE's is the key share's own exchange (crypto/kx.py)."""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..crypto import kx
from ..enums import AlertDescription, ProtocolVersion
from ..errors import AlertError
from .base import Context

ILLEGAL = AlertDescription.illegal_parameter


def dhe_pre_master(share: kx.KeyShare, yc: bytes) -> bytes:
    """RFC 5246, Section 8.1.2: the shared secret, leading zero bytes stripped (Yc padded to the length of p)."""
    plen = kx.key_share_length(share.group) or 0
    if not yc:
        raise AlertError(ILLEGAL, f"client DH public value of 0 bytes for {share.group.name}")
    # RFC 7919, Section 4: a TLS 1.2 server names handshake_failure for a dh_Yc out of range, whatever
    # its length: one longer than p is out of range too, as OpenSSL compares the numbers (a TLS 1.3 key
    # share's is illegal_parameter, in the share's own exchange).
    value = int.from_bytes(yc, "big")
    if not 1 < value < kx.ffdhe_prime(share.group) - 1:
        raise AlertError(
            AlertDescription.handshake_failure,
            f"client's DH public value dh_Yc is outside [2, p-2] in {share.group.name} (a {len(yc)}-byte value; "
            "RFC 7919, Section 4)",
        )
    return kx.strip_leading_zeros(share.exchange(value.to_bytes(plen, "big")))


def rsa_pre_master(ctx: Context, key: rsa.RSAPrivateKey, encrypted: bytes, client_version: int) -> bytes:
    """RFC 5246, Section 7.4.7.1, with the Bleichenbacher/ROBOT defence.

    A random pre-master secret is drawn first. Whatever goes wrong with the
    decryption (padding, length, version) the handshake continues with that
    random value through the same code path, so the only symptom is a
    Finished that does not decrypt: the same bad_record_mac a wrong key gives.
    """
    fallback = ProtocolVersion.TLSv1_2.to_bytes(2, "big") + ctx.randomness(46)
    try:
        candidate = key.decrypt(encrypted, padding.PKCS1v15())
    except ValueError:
        candidate = b""
    good_length = len(candidate) == 48
    # RFC 5246: the version is the one the client offered in its ClientHello.
    expected_version = client_version.to_bytes(2, "big")
    good_version = hmac.compare_digest(candidate[:2] if good_length else b"\x00\x00", expected_version)
    return candidate if (good_length and good_version) else fallback
