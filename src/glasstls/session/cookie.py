"""The HelloRetryRequest cookie of a stateless server (RFC 8446, Section 4.2.2).

A server that answers a ClientHello with a HelloRetryRequest need not keep
anything while it waits for the second ClientHello: it can put what it must
remember into the HRR's cookie, which the client echoes. What the server needs
to resume is the hash of the first ClientHello (the transcript restarts with it,
Section 4.4.1) and the suite and group its HRR chose; the HRR itself is rebuilt
from those and the cookie.

The cookie is the server's own format, opaque to the client, sealed and
authenticated under a key only the server holds, so a client cannot forge the
transcript hash or pick another group::

    cookie = format[1] || nonce[12] || AES-256-GCM(key, nonce, contents, aad=format)
    contents = uint64 issued_ms || uint16 cipher_suite || uint16 group || opaque ch1_hash<32..48>
               || opaque hello_fingerprint<32> || opaque psk_identity_hash<0..32>

hello_fingerprint is what the second ClientHello must repeat of the first (RFC 8446,
Section 4.1.2; handshake/second_hello.py), so a stateless server checks it as one that
kept the first hello does. psk_identity_hash is SHA-256 of the PSK identity the server
accepted in the first hello (empty: none): the second may update that PSK's binder, not
switch to another or add one (Section 4.1.2).

A cookie is valid for ``lifetime`` seconds after it was issued. A bad cookie is
never a crash: :meth:`CookieSealer.open` returns None and a reason, and the
server ends the handshake with illegal_parameter (the client echoed a cookie
this server did not issue).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..crypto.rand import Randomness
from ..errors import ConfigError, DecodeError
from ..wire.codec import Reader, Writer
from .state import check_aware

FORMAT = b"\x03"  # 2: with hello_fingerprint; 3: with psk_identity_hash
NONCE_LEN = 12
KEY_LEN = 32
DEFAULT_LIFETIME = 60  # seconds: a client answers an HRR within one round trip

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Reasons open() gives, for traces and alerts.
MALFORMED = "malformed cookie"
NOT_AUTHENTIC = "cookie was not issued by this server (it does not authenticate)"
EXPIRED = "cookie expired"


@dataclass(frozen=True)
class CookieContents:
    """What a stateless server remembers between its HelloRetryRequest and the second ClientHello."""

    ch1_hash: bytes  # Hash(ClientHello1) under the chosen suite's hash (Section 4.4.1)
    cipher_suite: int
    group: int
    issued: datetime
    hello_fingerprint: bytes = bytes(32)  # second_hello.fingerprint(ClientHello1)
    psk_identity_hash: bytes = b""  # SHA-256 of the identity of the PSK accepted in ClientHello1 (b"": none)


class CookieSealer:
    """Seals and opens HRR cookies under one server key (random unless given)."""

    def __init__(self, randomness: Randomness, key: bytes | None = None, lifetime: int = DEFAULT_LIFETIME) -> None:
        key = key if key is not None else randomness(KEY_LEN)
        if len(key) != KEY_LEN:
            raise ConfigError(f"HRR cookie key must be {KEY_LEN} bytes, not {len(key)}")
        if lifetime < 1:
            raise ConfigError(f"HRR cookie lifetime must be at least 1 second, not {lifetime}")
        self._aead = AESGCM(key)
        self._randomness = randomness
        self.lifetime = timedelta(seconds=lifetime)

    def seal(self, contents: CookieContents) -> bytes:
        check_aware(contents.issued, "issued")
        issued_ms = (contents.issued - _EPOCH) // timedelta(milliseconds=1)
        plain = (
            Writer()
            .raw(issued_ms.to_bytes(8, "big"))
            .u16(contents.cipher_suite)
            .u16(contents.group)
            .vec(1, contents.ch1_hash)
            .vec(1, contents.hello_fingerprint)
            .vec(1, contents.psk_identity_hash)
            .getvalue()
        )
        nonce = self._randomness(NONCE_LEN)
        return FORMAT + nonce + self._aead.encrypt(nonce, plain, FORMAT)

    def open(self, cookie: bytes, now: datetime) -> tuple[CookieContents | None, str]:
        """``(contents, "")`` or ``(None, reason)``; never raises for bad input."""
        check_aware(now)
        if len(cookie) < 1 + NONCE_LEN + 16 or cookie[:1] != FORMAT:
            return None, MALFORMED
        nonce, sealed = cookie[1 : 1 + NONCE_LEN], cookie[1 + NONCE_LEN :]
        try:
            plain = self._aead.decrypt(nonce, sealed, FORMAT)
        except InvalidTag:
            return None, NOT_AUTHENTIC
        try:
            contents = _decode(plain)
        except DecodeError:
            return None, MALFORMED
        if not contents.issued <= now < contents.issued + self.lifetime:
            return None, EXPIRED
        return contents, ""


def _decode(plain: bytes) -> CookieContents:
    r = Reader(plain)
    issued = _EPOCH + timedelta(milliseconds=int.from_bytes(r.raw(8, "issued"), "big"))
    suite, group = r.u16("cipher_suite"), r.u16("group")
    ch1_hash = r.vec(1, "ch1_hash")
    fingerprint = r.vec(1, "hello_fingerprint")
    psk_identity_hash = r.vec(1, "psk_identity_hash")
    r.finish()
    if len(ch1_hash) not in (32, 48):
        raise DecodeError(f"ch1_hash of {len(ch1_hash)} bytes")
    if len(fingerprint) != 32:
        raise DecodeError(f"hello_fingerprint of {len(fingerprint)} bytes")
    if len(psk_identity_hash) not in (0, 32):
        raise DecodeError(f"psk_identity_hash of {len(psk_identity_hash)} bytes")
    return CookieContents(ch1_hash, suite, group, issued, fingerprint, psk_identity_hash)
