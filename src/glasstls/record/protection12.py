"""TLS 1.2 record protection (RFC 5246, Section 6.2.3; RFC 5288; RFC 6655; RFC 7905; RFC 7366).

One :class:`Protection12` is one direction's keys after ChangeCipherSpec. It
protects every content type and keeps the real type in the record header
(``protects_all_types``), unlike TLS 1.3. Four kinds, chosen by
:func:`protection12` from the suite:

- AES-GCM (RFC 5288, Section 3) and AES-CCM (RFC 6655, Section 3): nonce =
  4-byte salt from the key block + 8-byte explicit part sent in front of the
  ciphertext. The explicit part is the sequence number, as OpenSSL does: unique
  per key for free. CCM_8 suites carry an 8-byte tag, the others 16.
- ChaCha20-Poly1305 (RFC 7905, Section 2): nonce = 12-byte IV XOR the
  left-padded sequence number, nothing explicit on the wire.
- AES-CBC with HMAC and encrypt-then-MAC (RFC 7366, Section 3): random
  explicit IV, CBC over content + padding, HMAC over header fields, IV and
  ciphertext. Used whenever both sides offered encrypt_then_mac.
- AES-CBC with HMAC, MAC-then-encrypt (RFC 5246, Section 6.2.3.2), only when a
  CBC suite was negotiated without encrypt_then_mac: the HMAC covers the
  plaintext and is encrypted with it, so the receiver checks padding and MAC
  with the Lucky Thirteen defences of :mod:`.cbc_mte`.

The AEAD additional data is seq_num + type + version + plaintext length
(RFC 5246, Section 6.2.3.3). As in :mod:`.protection`, everything that can be
done once per key (cipher objects, nonce prefixes as integers, a keyed HMAC to
copy) is done in ``__init__``. An AEAD record is the header and the AEAD's
output joined into the bytes that are sent; a CBC record is encrypted straight
into its final buffer.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from ..crypto.prf12 import KeyBlock
from ..crypto.suites import Suite12
from ..enums import AlertDescription, ContentType
from ..errors import AlertError
from .cbc_mte import MacThenEncryptCheck

TAG_LEN = 16
EXPLICIT_NONCE_LEN = 8  # RFC 5288, Section 3
BLOCK = 16  # the AES block, and the length of a CBC record's explicit IV (RFC 5246, Section 6.2.3.2)
MAX_PLAINTEXT = 1 << 14  # RFC 5246, Section 6.2.1
MAX_CIPHERTEXT = (1 << 14) + 2048  # RFC 5246, Section 6.2.3
_SEQ_LIMIT = (1 << 64) - 1  # RFC 5246, Section 6.1: sequence numbers never wrap
_V0, _V1 = 3, 3
# A sealed record's header (RFC 5246, Section 6.2.1) and AEAD additional data, seq_num + type +
# version + length (Section 6.2.3.3), each packed in one call. (An opened record's additional
# data takes the type and version of the header received, any bytes-like object.)
_HEADER = struct.Struct(">BHH")
_AAD = struct.Struct(">QBHH")
_VERSION = 0x0303

Randomness = Callable[[int], bytes]
_CONTENT_TYPES: dict[int, ContentType] = {int(t): t for t in ContentType}


def _content_type(value: int) -> ContentType:
    """``ContentType(value)`` from a table: the record layer has let through only the four known types."""
    return _CONTENT_TYPES.get(value) or ContentType(value)


class Protection12:
    """Record protection for one direction and one TLS 1.2 key block half.

    ``seal(content_type, data)`` returns a whole record, header included;
    ``open(header, payload)`` authenticates and decrypts one record and
    returns ``(ContentType(header[0]), plaintext)``. Failures raise
    :class:`AlertError`: bad_record_mac for anything that does not
    authenticate (truncation included), record_overflow for a record over the
    limits of RFC 5246, Section 6.2.
    """

    __slots__ = ("suite", "epoch", "seq")

    # TLS 1.2 encrypts every content type after ChangeCipherSpec and leaves the
    # real one in the header (RFC 5246, Section 6.2.3), so the layer sends all
    # protected records here, not only application_data.
    protects_all_types = True
    # Whether open() takes a view of the received bytes and keeps none of it (the AEADs below),
    # so that the record layer's one-call lanes may read these records as TLS 1.3's
    # (layer.RecordLayer.read_whole); CBC's take bytes. A full record is no special case here:
    # the lanes check a TLS 1.2 record's header field by field.
    opens_views = False
    full_header = b""
    full_size = -1

    def __init__(self, suite: Suite12, epoch: str) -> None:
        # The subclasses call this by name: a zero-argument super() costs about as much as
        # the rest of it, and a TLS 1.2 handshake builds four protections.
        self.suite = suite
        self.epoch = epoch
        self.seq = 0

    def seal(self, content_type: int, data: bytes | memoryview) -> bytes | bytearray:
        raise NotImplementedError

    def open(self, header: bytes, payload: bytes) -> tuple[ContentType, bytes]:
        raise NotImplementedError

    def _next_seq(self) -> int:
        """This record's sequence number; the next record gets the one after (RFC 5246, Section 6.1)."""
        seq = self.seq
        if seq >= _SEQ_LIMIT:
            raise self._wrapped()
        self.seq = seq + 1
        return seq

    # -- shared failure paths (kept out of the fast paths) ------------------
    def _bad(self, what: str) -> AlertError:
        return AlertError(AlertDescription.bad_record_mac, f"record {what} ({self.epoch} keys, {self.suite.cipher})")

    def _overflow_in(self, payload: bytes) -> AlertError:
        return AlertError(
            AlertDescription.record_overflow,
            f"protected record of {len(payload)} bytes exceeds 2^14 + 2048 ({self.epoch} keys)",
        )

    def _overflow_out(self, length: int) -> AlertError:
        return AlertError(
            AlertDescription.record_overflow, f"decrypted record of {length} bytes exceeds 2^14 ({self.epoch} keys)"
        )

    def _wrapped(self) -> AlertError:
        return AlertError(AlertDescription.internal_error, f"record sequence number would wrap ({self.epoch} keys)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.suite.name}, epoch={self.epoch!r}, seq={self.seq})"


class GCMProtection12(Protection12):
    """AES-GCM records, RFC 5288, Section 3: explicit(8) + ciphertext + tag(16)."""

    __slots__ = ("_aead", "_salt", "_salt_int", "_tag_len")
    opens_views = True

    def __init__(self, suite: Suite12, key: bytes, fixed_iv: bytes, epoch: str) -> None:
        Protection12.__init__(self, suite, epoch)
        self._aead: AESGCM | AESCCM = AESGCM(key)
        self._salt = bytes(fixed_iv)
        self._salt_int = int.from_bytes(fixed_iv, "big") << 64  # the salt, already in place for OR with seq
        self._tag_len = TAG_LEN

    def seal(self, content_type: int, data: bytes | memoryview) -> bytes:
        seq = self._next_seq()
        n = len(data)
        length = EXPLICIT_NONCE_LEN + n + self._tag_len
        nonce = (self._salt_int | seq).to_bytes(12, "big")
        explicit = nonce[4:]  # == seq_num
        aad = _AAD.pack(seq, content_type, _VERSION, n)
        # Bytes, as data_to_send hands them out, from encrypt: the buffer Protection13.seal keeps for
        # large records was measured in TLS 1.3 only.
        header = _HEADER.pack(content_type, _VERSION, length)
        return b"".join((header, explicit, self._aead.encrypt(nonce, data, aad)))

    def open(self, header: bytes, payload: bytes) -> tuple[ContentType, bytes]:
        seq = self._next_seq()
        if len(payload) > MAX_CIPHERTEXT:
            raise self._overflow_in(payload)
        n = len(payload) - (EXPLICIT_NONCE_LEN + self._tag_len)
        if n < 0:
            raise self._bad(f"of {len(payload)} bytes is too short for explicit nonce and tag")
        # The peer chooses the explicit nonce; any value is accepted (RFC 5288, Section 3).
        nonce = self._salt + payload[:EXPLICIT_NONCE_LEN]
        aad = seq.to_bytes(8, "big") + header[:3] + n.to_bytes(2, "big")
        try:
            plaintext = self._aead.decrypt(nonce, memoryview(payload)[EXPLICIT_NONCE_LEN:], aad)
        except InvalidTag:
            raise self._bad("failed authentication") from None
        if n > MAX_PLAINTEXT:
            raise self._overflow_out(n)
        return _content_type(header[0]), plaintext


class CCMProtection12(GCMProtection12):
    """AES-CCM records, RFC 6655, Section 3 (RFC 7251 for ECDHE-ECDSA): laid out as GCM's,
    explicit(8) + ciphertext + tag, with the same salt + explicit nonce and additional
    data; the tag is 16 bytes, or 8 for the CCM_8 suites."""

    __slots__ = ()

    def __init__(self, suite: Suite12, key: bytes, fixed_iv: bytes, epoch: str) -> None:
        super().__init__(suite, key, fixed_iv, epoch)
        self._tag_len = suite.tag_len
        self._aead = AESCCM(key, tag_length=suite.tag_len)


class ChaChaProtection12(Protection12):
    """ChaCha20-Poly1305 records, RFC 7905, Section 2: ciphertext + tag(16), no explicit nonce."""

    __slots__ = ("_aead", "_iv")
    opens_views = True

    def __init__(self, suite: Suite12, key: bytes, fixed_iv: bytes, epoch: str) -> None:
        Protection12.__init__(self, suite, epoch)
        self._aead = ChaCha20Poly1305(key)
        self._iv = int.from_bytes(fixed_iv, "big")

    def seal(self, content_type: int, data: bytes | memoryview) -> bytes:
        seq = self._next_seq()
        n = len(data)
        length = n + TAG_LEN
        header = _HEADER.pack(content_type, _VERSION, length)
        aad = _AAD.pack(seq, content_type, _VERSION, n)
        return header + self._aead.encrypt((self._iv ^ seq).to_bytes(12, "big"), data, aad)

    def open(self, header: bytes, payload: bytes) -> tuple[ContentType, bytes]:
        seq = self._next_seq()
        if len(payload) > MAX_CIPHERTEXT:
            raise self._overflow_in(payload)
        n = len(payload) - TAG_LEN
        if n < 0:
            raise self._bad(f"of {len(payload)} bytes is too short for the tag")
        aad = seq.to_bytes(8, "big") + header[:3] + n.to_bytes(2, "big")
        try:
            plaintext = self._aead.decrypt((self._iv ^ seq).to_bytes(12, "big"), payload, aad)
        except InvalidTag:
            raise self._bad("failed authentication") from None
        if n > MAX_PLAINTEXT:
            raise self._overflow_out(n)
        return _content_type(header[0]), plaintext


# The padding that completes n bytes of content to whole blocks, padding_length
# byte included (RFC 5246, Section 6.2.3.2): every byte holds the padding length.
_PADDING = tuple(bytes((15 - r,)) * (16 - r) for r in range(BLOCK))


class CBCProtection12(Protection12):
    """AES-CBC + HMAC with encrypt-then-MAC, RFC 7366, Section 3.

    Record payload: IV(16) + AES-CBC(content + padding) + HMAC, the HMAC over
    seq_num + type + version + length(IV + ciphertext) + IV + ciphertext. The
    MAC is checked first, in constant time, and nothing is decrypted unless it
    matches; so padding errors (also bad_record_mac) reveal nothing.

    Speed trick: one CBC encryptor and one decryptor live as long as the key
    (setting up a cipher context costs more than encrypting a small record).
    To seal, a fresh random block R is encrypted in front of the content,
    chained on from the previous record; its ciphertext E(R XOR last block) is
    the record's explicit IV, as unpredictable as R itself (the "random block,
    CBC residue as mask" method of RFC 4346, Section 6.2.3.2, item 2b). To
    open, IV + ciphertext go through the running decryptor and the first
    output block is dropped: every later block decrypts against its true
    predecessor, the IV included. On the wire this is plain TLS 1.2 CBC.
    """

    __slots__ = ("_encryptor", "_decryptor", "_mac", "_mac_len", "_randomness")

    def __init__(self, suite: Suite12, key: bytes, mac_key: bytes, epoch: str, randomness: Randomness) -> None:
        Protection12.__init__(self, suite, epoch)
        aes = algorithms.AES(key)
        # The starting chain value only masks the first R, which is random anyway.
        self._encryptor = Cipher(aes, modes.CBC(bytes(BLOCK))).encryptor()
        self._decryptor = Cipher(aes, modes.CBC(bytes(BLOCK))).decryptor()
        assert suite.mac is not None  # a CBC suite always names its HMAC hash
        self._mac = hmac.new(mac_key, digestmod=suite.mac)  # keyed once; each record works on a copy
        self._mac_len = suite.mac_len
        self._randomness = randomness

    def seal(self, content_type: int, data: bytes | memoryview) -> bytearray:
        seq = self._next_seq()
        n = len(data)
        padding = _PADDING[n % BLOCK]
        body_len = BLOCK + n + len(padding)  # IV + ciphertext
        length = body_len + self._mac_len
        r = self._randomness(BLOCK)
        if len(r) != BLOCK:
            raise AlertError(AlertDescription.internal_error, f"randomness gave {len(r)} bytes for a CBC IV block")
        record = bytearray(5 + length)
        view = memoryview(record)
        record[:5] = bytes((content_type, _V0, _V1, length >> 8, length & 0xFF))
        # Whole blocks in, whole blocks out: the running encryptor never holds a partial
        # block. The MAC's room after the ciphertext is the slack update_into asks for.
        self._encryptor.update_into(b"".join((r, data, padding)), view[5:])
        mac = self._mac.copy()
        mac.update(seq.to_bytes(8, "big") + bytes((content_type, _V0, _V1, body_len >> 8, body_len & 0xFF)))
        mac.update(view[5 : 5 + body_len])
        record[5 + body_len :] = mac.digest()
        return record

    def open(self, header: bytes, payload: bytes) -> tuple[ContentType, bytes]:
        seq = self._next_seq()
        if len(payload) > MAX_CIPHERTEXT:
            raise self._overflow_in(payload)
        body_len = len(payload) - self._mac_len
        if body_len < 2 * BLOCK or body_len % BLOCK:
            # IV plus at least one block, whole blocks only: nothing shorter can be genuine.
            raise self._bad(f"of {len(payload)} bytes is not IV + whole blocks + MAC")
        view = memoryview(payload)
        mac = self._mac.copy()
        mac.update(seq.to_bytes(8, "big") + header[:3] + body_len.to_bytes(2, "big"))
        mac.update(view[:body_len])
        # RFC 7366, Section 3: the MAC is checked before anything is decrypted.
        if not hmac.compare_digest(mac.digest(), view[body_len:]):
            raise self._bad("failed authentication")
        padded = self._decryptor.update(view[:body_len])  # block 0 is the IV's garbage, dropped below
        pad = padded[-1]
        end = len(padded) - pad - 1
        # RFC 5246, Section 6.2.3.2: every padding byte holds the padding length.
        # The MAC already matched, so this check needs no constant-time care.
        if end < BLOCK or padded[end:-1].count(pad) != pad:
            raise self._bad("has malformed CBC padding")
        if end - BLOCK > MAX_PLAINTEXT:
            raise self._overflow_out(end - BLOCK)
        return _content_type(header[0]), padded[BLOCK:end]


class MteCBCProtection12(Protection12):
    """AES-CBC + HMAC, MAC-then-encrypt, RFC 5246, Section 6.2.3.2.

    Record payload: IV(16) + AES-CBC(content + MAC + padding + padding_length),
    the MAC over seq_num + type + version + length(content) + content (Section
    6.2.3.1). Used only for a CBC suite negotiated without encrypt_then_mac.

    Opening decrypts everything, then :class:`~.cbc_mte.MacThenEncryptCheck` checks
    padding and MAC together in constant-time style (Lucky Thirteen); every
    failure, padding or MAC, is the same bad_record_mac with the same reason.
    The IV handling is CBCProtection12's: one running encryptor and decryptor,
    a random block R whose ciphertext is the explicit IV.
    """

    __slots__ = ("_encryptor", "_decryptor", "_check", "_mac_len", "_min_payload", "_randomness")

    def __init__(self, suite: Suite12, key: bytes, mac_key: bytes, epoch: str, randomness: Randomness) -> None:
        Protection12.__init__(self, suite, epoch)
        aes = algorithms.AES(key)
        self._encryptor = Cipher(aes, modes.CBC(bytes(BLOCK))).encryptor()
        self._decryptor = Cipher(aes, modes.CBC(bytes(BLOCK))).decryptor()
        assert suite.mac is not None  # a CBC suite always names its HMAC hash
        self._check = MacThenEncryptCheck(mac_key, suite.mac)
        self._mac_len = suite.mac_len
        self._min_payload = BLOCK + self._check.min_plaintext()  # the IV, then MAC + length byte in blocks
        self._randomness = randomness

    def seal(self, content_type: int, data: bytes | memoryview) -> bytes:
        seq = self._next_seq()
        n = len(data)
        prefix = seq.to_bytes(8, "big") + bytes((content_type, _V0, _V1))
        mac = self._check.compute(prefix, memoryview(data))
        padding = _PADDING[(n + self._mac_len) % BLOCK]
        length = BLOCK + n + self._mac_len + len(padding)
        r = self._randomness(BLOCK)
        if len(r) != BLOCK:
            raise AlertError(AlertDescription.internal_error, f"randomness gave {len(r)} bytes for a CBC IV block")
        header = bytes((content_type, _V0, _V1, length >> 8, length & 0xFF))
        # Whole blocks in, whole blocks out: the running encryptor never holds a partial block.
        return header + self._encryptor.update(b"".join((r, data, mac, padding)))

    def open(self, header: bytes, payload: bytes) -> tuple[ContentType, bytes]:
        seq = self._next_seq()
        if len(payload) > MAX_CIPHERTEXT:
            raise self._overflow_in(payload)
        # Only the record's length decides these, and the attacker knows it already.
        if len(payload) < self._min_payload or len(payload) % BLOCK:
            raise self._failed()
        padded = self._decryptor.update(payload)[BLOCK:]  # block 0 is the IV's garbage
        good, content_len = self._check.check(seq.to_bytes(8, "big") + header[:3], padded)
        if not good:
            raise self._failed()  # RFC 5246, Section 7.2.2: bad padding and bad MAC look the same
        if content_len > MAX_PLAINTEXT:
            raise self._overflow_out(content_len)
        return _content_type(header[0]), padded[:content_len]

    def _failed(self) -> AlertError:
        # One reason for every failure, so not even the error text tells padding from MAC.
        return self._bad("failed authentication (MAC-then-encrypt: MAC or padding)")


# The AEAD ciphers the TLS 1.2 suites name (crypto/suites.py), each with its records' layout.
_AEAD_PROTECTIONS: dict[str, type[GCMProtection12 | ChaChaProtection12]] = {
    "AES-128-GCM": GCMProtection12,
    "AES-256-GCM": GCMProtection12,
    "AES-128-CCM": CCMProtection12,
    "AES-256-CCM": CCMProtection12,
    "AES-128-CCM-8": CCMProtection12,
    "AES-256-CCM-8": CCMProtection12,
    "ChaCha20-Poly1305": ChaChaProtection12,
}


def protection12(
    suite: Suite12,
    key: bytes,
    fixed_iv: bytes,
    mac_key: bytes,
    epoch: str,
    randomness: Randomness | None = None,
    *,
    encrypt_then_mac: bool = True,
) -> Protection12:
    """The :class:`Protection12` for ``suite`` with one direction's keys.

    ``randomness`` (``n -> n bytes``) draws CBC's per-record IVs and is
    required for CBC suites only. ``encrypt_then_mac`` says whether RFC 7366
    was negotiated; a CBC suite without it gets MAC-then-encrypt records
    (RFC 5246, Section 6.2.3.2). AEAD suites ignore it.
    """
    if len(key) != suite.key_len:
        raise ValueError(f"{suite.name} needs a {suite.key_len}-byte key, got {len(key)}")
    if len(fixed_iv) != suite.fixed_iv_len:
        raise ValueError(f"{suite.name} needs a {suite.fixed_iv_len}-byte fixed IV, got {len(fixed_iv)}")
    if len(mac_key) != suite.mac_len:
        raise ValueError(f"{suite.name} needs a {suite.mac_len}-byte MAC key, got {len(mac_key)}")
    cipher = suite.cipher
    aead = _AEAD_PROTECTIONS.get(cipher)
    if aead is not None:
        return aead(suite, key, fixed_iv, epoch)
    if cipher.endswith("-CBC") and suite.mac:
        if randomness is None:
            raise ValueError(f"{suite.name} draws a random IV per record: pass randomness")
        if not encrypt_then_mac:
            return MteCBCProtection12(suite, key, mac_key, epoch, randomness)
        return CBCProtection12(suite, key, mac_key, epoch, randomness)
    raise ValueError(f"no TLS 1.2 record protection for {suite.name} ({cipher})")


def protection12_from_key_block(
    suite: Suite12,
    keys: KeyBlock,
    writer: str,
    epoch: str,
    randomness: Randomness | None = None,
    *,
    encrypt_then_mac: bool = True,
) -> Protection12:
    """The protection for records written by ``writer`` ("client" or "server").

    A client seals with the client half and opens with the server half; a
    server the other way round (RFC 5246, Section 6.3).
    """
    if writer == "client":
        key, iv, mac_key = keys.client_key, keys.client_iv, keys.client_mac_key
    elif writer == "server":
        key, iv, mac_key = keys.server_key, keys.server_iv, keys.server_mac_key
    else:
        raise ValueError(f"writer must be 'client' or 'server', not {writer!r}")
    aead = _AEAD_PROTECTIONS.get(suite.cipher)
    if aead is not None and not mac_key and len(key) == suite.key_len and len(iv) == suite.fixed_iv_len:
        # What protection12 would check and choose, without its call: every TLS 1.2
        # handshake builds four protections here, and this one is all AEAD.
        return aead(suite, key, iv, epoch)
    return protection12(suite, key, iv, mac_key, epoch, randomness, encrypt_then_mac=encrypt_then_mac)
