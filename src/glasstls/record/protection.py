"""TLS 1.3 record protection (RFC 8446, Section 5.2 and 5.3).

One :class:`Protection13` is one direction's key epoch. Everything that can be
done once per key is done once, for the first record (the key and IV, the AEAD
object, the IV as an integer), so a record costs one XOR, one AEAD call and the
header. Not before: an epoch that never protects a record (the application
read keys of a connection whose peer sends nothing, the keys of a handshake
that fails before its first encrypted record) costs no HKDF and no AEAD
context. The content-type bytes and members are tables, not built per record.

The tag is 16 bytes except for TLS_AES_128_CCM_8_SHA256, whose AES-CCM tag is 8
(RFC 8446, Appendix B.4): record lengths come from the suite's ``tag_len``.

A full record (2^14 bytes of content, the bulk of a transfer) is encrypted and
decrypted into a buffer, with the AEAD's ``encrypt_into`` and ``decrypt_into``:
``encrypt`` and ``decrypt`` zero-fill each new bytes object before writing it, a
pass over the whole record the buffer saves (about 16,000 instructions, 0.1 to
0.2 us, per 16 KiB record each way). The buffer is copied out to the bytes handed
on, as ``header + encrypt(...)`` and the content's slice were. Buffers are lent
from a pool of the process for one call and given back (``deque.pop`` and
``append`` are atomic: threads, and a call made from a signal handler in the
middle of another, each get their own), at most ``POOLED`` of each kind kept (a
bounded deque drops its oldest when one more is given back): a connection holds none
between records. Sealing buffers are pooled per tag length (an
epoch takes its suite's pool with its keys), so a buffer lent fits without a check.
Other records take the plain calls.
"""

from __future__ import annotations

from collections import deque

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from ..crypto.keyschedule13 import traffic_key_and_iv
from ..crypto.suites import Suite13
from ..enums import AlertDescription, ContentType
from ..errors import AlertError

TAG_LEN = 16  # every TLS 1.3 AEAD but AES-CCM-8 (Suite13.tag_len)
# RFC 8446, Section 5.2: TLSCiphertext.length is at most 2^14 + 256.
MAX_CIPHERTEXT = (1 << 14) + 256
MAX_PLAINTEXT = 1 << 14
_APP_HEADER = b"\x17\x03\x03"
_SEQ_LIMIT = (1 << 64) - 1  # RFC 8446, Section 5.3: a sequence number never wraps
_TYPE_BYTE = [bytes((i,)) for i in range(256)]
_CONTENT_TYPES: dict[int, ContentType] = {int(t): t for t in ContentType}
# Indexed by the inner content type byte: the member, or None for a value ContentType must make.
_INNER_TYPES: tuple[ContentType | None, ...] = tuple(_CONTENT_TYPES.get(i) for i in range(256))
_MAX_INNER = MAX_PLAINTEXT + 1  # RFC 8446, Section 5.2: the content type byte included
# A full record's header and size, header included, by tag length (Protection13.full_header
# and full_size): 16 bytes, and 8 for AES-CCM-8 (RFC 8446, Appendix B.4).
_TAG_LENGTHS = (16, 8)
_FULL_RECORDS = {
    tag: (_APP_HEADER + (_MAX_INNER + tag).to_bytes(2, "big"), 5 + _MAX_INNER + tag) for tag in _TAG_LENGTHS
}
AEAD = AESGCM | ChaCha20Poly1305 | AESCCM

# The pools of buffers for full records (see the module doc): to seal, a view of the record's
# buffer with its header written, the header, and a view of its payload, one pool per tag
# length; to open, a view of the inner plaintext and a view of all but its last byte.
# Copied out with memoryview.tobytes (about 600 instructions less than bytes(view)). Deques,
# not lists: a list that a pop empties gives its array back and takes a new one at the next
# append (several hundred instructions a record); a deque keeps its block.
POOLED = 4
_Sealing = tuple[memoryview, bytes, memoryview]
_SEALING: dict[int, deque[_Sealing]] = {tag: deque(maxlen=POOLED) for tag in _TAG_LENGTHS}
_OPENING: deque[tuple[memoryview, memoryview]] = deque(maxlen=POOLED)


def _sealing(tag_len: int) -> _Sealing:
    """A buffer for a sealed full record under a tag of ``tag_len`` bytes, its header written."""
    header, record_size = _FULL_RECORDS[tag_len]
    record = memoryview(bytearray(header) + bytes(record_size - 5))
    return record, header, record[5:]


def _opening(size: int) -> tuple[memoryview, memoryview]:
    """A buffer for an inner plaintext of ``size`` bytes."""
    view = memoryview(bytearray(size))
    return view, view[:-1]


class Protection13:
    """AEAD protection for one direction and one traffic secret."""

    __slots__ = (
        "suite",
        "epoch",
        "seq",
        "_secret",
        "_aead",
        "_iv",
        "_tag_len",
        "_sealing",
        "full_header",
        "full_size",
    )
    # TLS 1.3 protects only records whose outer type is application_data.
    protects_all_types = False
    # open() reads its payload from a view of the received bytes and keeps none of it: the
    # record layer's one-call lanes may hand it one (Protection12's AEADs too; not CBC's).
    opens_views = True
    _sealing: deque[_Sealing]  # the pool of this tag length, taken by _keys with the AEAD

    def __init__(self, suite: Suite13, secret: bytes, epoch: str) -> None:
        self.suite = suite
        self.epoch = epoch
        self.seq = 0
        self._secret = secret  # until the first record derives the key and IV from it (_keys)
        self._aead: AEAD | None = None
        self._iv = 0
        self._tag_len = suite.tag_len
        # A full record (2^14 bytes of content, padding none) as a peer sends it under these keys:
        # what the record layer compares an input with first. (An input that differs is checked
        # field by field.)
        self.full_header, self.full_size = _FULL_RECORDS[suite.tag_len]

    def _keys(self) -> AEAD:
        """The AEAD, made for the first record: RFC 8446, Section 7.3, the write key and IV. The
        secret is not kept."""
        suite = self.suite
        key, iv = traffic_key_and_iv(suite, self._secret)
        self._iv = int.from_bytes(iv, "big")
        aead = self._aead = suite.new_aead(key)
        self._sealing = _SEALING[self._tag_len]
        self._secret = b""
        return aead

    def seal(self, content_type: int, data: bytes | memoryview, padding: int = 0) -> bytes:
        """One TLSCiphertext record carrying ``data`` of ``content_type``, as bytes (what
        ``data_to_send`` hands out: the layer copies it no more)."""
        # TLSInnerPlaintext (RFC 8446, Section 5.2): content, type, zeros. One concatenation
        # (one copy of the content) when there is no padding and the content is bytes.
        if padding or type(data) is not bytes:
            inner = b"".join((data, _TYPE_BYTE[content_type], bytes(padding)))
        else:
            inner = data + _TYPE_BYTE[content_type]
        # RFC 8446, Section 5.3: the nonce is the IV XOR the 64-bit sequence number, left-padded;
        # a sequence number never wraps. (A record that cannot be built leaves the sequence
        # number where it was.)
        seq = self.seq
        if seq >= _SEQ_LIMIT:
            raise AlertError(AlertDescription.internal_error, "record sequence number would wrap")
        self.seq = seq + 1
        aead = self._aead or self._keys()
        nonce = (self._iv ^ seq).to_bytes(12)  # (big-endian: the default)
        if len(inner) == _MAX_INNER:  # a full record: through a buffer of the pool
            pool = self._sealing
            lent = pool.pop() if pool else _sealing(self._tag_len)
            whole, header, view = lent
            aead.encrypt_into(nonce, inner, header, view)
            record = whole.tobytes()
            pool.append(lent)
            return record
        header = _APP_HEADER + (len(inner) + self._tag_len).to_bytes(2, "big")
        return header + aead.encrypt(nonce, inner, header)

    def open(self, header: bytes, payload: bytes | memoryview) -> tuple[ContentType, bytes]:
        """Decrypt one record; returns the inner content type and content.

        ``payload`` may be a memoryview of the received bytes: the AEAD reads it in place.
        """
        seq = self.seq
        if seq >= _SEQ_LIMIT:
            raise AlertError(AlertDescription.internal_error, "record sequence number would wrap")
        self.seq = seq + 1
        aead = self._aead or self._keys()
        nonce = (self._iv ^ seq).to_bytes(12)  # (big-endian: the default)
        if len(payload) - self._tag_len != _MAX_INNER:
            try:
                inner = aead.decrypt(nonce, payload, header)
            except InvalidTag:
                raise self._failed() from None
            if len(inner) > _MAX_INNER:
                # RFC 8446, Sections 5.2 and 5.4: the whole TLSInnerPlaintext, content type
                # and padding included, is at most 2^14 + 1 bytes.
                raise AlertError(AlertDescription.record_overflow, "decrypted record exceeds 2^14 + 1 bytes")
            if inner and inner[-1]:  # no padding: the content is all but the last byte
                return _INNER_TYPES[inner[-1]] or ContentType(inner[-1]), inner[:-1]
            return _padded(inner)
        # A full record: into a buffer of the pool, copied out before the buffer is given back;
        # given back whatever happened (what a failed call wrote is overwritten by the next one).
        pool = _OPENING
        lent = pool.pop() if pool else _opening(_MAX_INNER)
        view, content = lent
        try:
            aead.decrypt_into(nonce, payload, header, view)
            last = view[-1]
            opened = (_INNER_TYPES[last] or ContentType(last), content.tobytes()) if last else _padded(view.tobytes())
        except InvalidTag:
            raise self._failed() from None
        finally:
            pool.append(lent)
        return opened

    def _failed(self) -> AlertError:
        return AlertError(AlertDescription.bad_record_mac, f"record failed authentication ({self.epoch} keys)")


def _padded(inner: bytes) -> tuple[ContentType, bytes]:
    """The content type and content of a TLSInnerPlaintext that ends in padding (or is empty)."""
    stripped = inner.rstrip(b"\x00")
    if not stripped:
        # RFC 8446, Section 5.4: all-zero plaintext has no content type.
        raise AlertError(AlertDescription.unexpected_message, "decrypted record holds no content type")
    return ContentType(stripped[-1]), stripped[:-1]
