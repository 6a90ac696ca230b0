"""The Lucky Thirteen defences for MAC-then-encrypt CBC records (RFC 5246, Section 6.2.3.2).

A MAC-then-encrypt record decrypts to ``content || MAC || padding || padding_length``,
where every padding byte holds ``padding_length`` (RFC 5246, Section 6.2.3.2) and the
MAC covers ``seq_num || type || version || length || content`` (Section 6.2.3.1). The
receiver must find where the content ends from the padding before it can check the
MAC, and the padding is secret until the MAC matched. Lucky Thirteen (AlFardan and
Paterson, 2013) times that: an HMAC over a shorter content costs fewer hash
compression-function calls, so the time to reject tells an attacker something about
the last bytes of a block he chose.

:class:`MacThenEncryptCheck` does what OpenSSL and s2n do, as far as Python lets it:

- The padding is never read byte by byte with an early exit. One comparison
  (``hmac.compare_digest``, whose time depends only on the length) covers the last
  ``min(record, mac_len + 256)`` bytes against what they must be: the bytes before
  the MAC as they are, then the MAC we computed, then ``padding_length + 1`` copies
  of the padding length. So the padding and the MAC are checked together, over the
  same number of bytes whatever the padding length says, and there is one outcome.
- A padding length that would not fit (longer than the record allows) is replaced
  by 0 without a branch and the result is forced to failure, so that record also
  goes through the whole MAC computation (OpenSSL's ssl3_cbc_remove_padding).
- The HMAC is computed over the real content, then a separate hash object is fed
  exactly as many dummy compression-function blocks as the content is shorter than
  the longest content the record could hold (s2n's approach). The number of
  compression-function calls per record therefore depends only on the record's
  length, which is public.

What this can and cannot promise in Python is in docs/design/lucky13.md.
"""

from __future__ import annotations

import hashlib
import hmac

# Hash block size and the length field its padding appends (FIPS 180-4, Section 5.1).
_HASH_BLOCK = {"sha1": (64, 8), "sha256": (64, 8), "sha384": (128, 16)}
# RFC 5246, Section 6.2.3.2: padding_length is one byte, so at most 255 bytes of padding
# (plus the length byte itself) can sit behind the MAC.
_MAX_PADDING = 256
_MAC_HEADER_LEN = 13  # seq_num(8) + type(1) + version(2) + length(2), RFC 5246, Section 6.2.3.1
# padding_length + 1 bytes, each holding padding_length, for every possible padding_length.
_PADDINGS = tuple(bytes((p,)) * (p + 1) for p in range(256))


class MacThenEncryptCheck:
    """Checks the padding and the MAC of one decrypted MAC-then-encrypt record.

    ``check(mac_header_prefix, plaintext)`` takes ``seq_num || type || version`` (11
    bytes) and the decrypted record without its explicit IV, and returns
    ``(good, content_length)``. ``good`` is False for a bad MAC and for bad padding
    alike; the caller turns both into the same bad_record_mac.
    """

    __slots__ = ("mac_len", "_mac", "_dummy", "_block", "_length_field", "_zeros")

    def __init__(self, mac_key: bytes, hash_name: str) -> None:
        self._mac = hmac.new(mac_key, digestmod=hash_name)  # keyed once; each record works on a copy
        self.mac_len = self._mac.digest_size
        self._dummy = hashlib.new(hash_name)  # absorbs the padding-dependent dummy blocks, never finalised
        self._block, self._length_field = _HASH_BLOCK[hash_name]
        # Enough zero blocks for the largest difference in content length (256 bytes of padding),
        # plus the one block every record feeds (see check).
        self._zeros = memoryview(bytes(self._block * (_MAX_PADDING // self._block + 3)))

    def min_plaintext(self) -> int:
        """The shortest decrypted record that can be genuine: the MAC and the length byte, in whole blocks."""
        return -(-(self.mac_len + 1) // 16) * 16

    def inner_blocks(self, content_len: int) -> int:
        """Compression-function calls of the inner hash over the MAC input of ``content_len`` bytes.

        The keyed state already absorbed the ipad block; what remains is the 13-byte
        header, the content, the 0x80 byte and the length field, in whole blocks.
        """
        return (_MAC_HEADER_LEN + content_len + 1 + self._length_field + self._block - 1) // self._block

    def compute(self, mac_header_prefix: bytes, content: memoryview) -> bytes:
        """The record MAC of RFC 5246, Section 6.2.3.1 over ``content``."""
        n = len(content)
        mac = self._mac.copy()
        mac.update(mac_header_prefix + bytes((n >> 8, n & 0xFF)))
        mac.update(content)
        return mac.digest()

    def check(self, mac_header_prefix: bytes, plaintext: bytes) -> tuple[bool, int]:
        """(padding and MAC both good, content length); see the module docstring.

        No branch below depends on the padding length or on the MAC: only on the
        record's length, which the attacker already knows. The caller guarantees
        ``len(plaintext) >= min_plaintext()``.
        """
        n = len(plaintext)
        view = memoryview(plaintext)
        mac_len = self.mac_len
        pad = plaintext[-1]
        # RFC 5246, Section 6.2.3.2: the padding and its length byte must fit behind the MAC.
        fits = pad + 1 + mac_len <= n
        pad = pad * fits  # a padding length that does not fit is taken as 0 and fails below
        content_len = n - mac_len - pad - 1
        computed = self.compute(mac_header_prefix, view[:content_len])
        # Dummy blocks up to the compression calls of the longest content this record could
        # hold (padding_length 0): every record of this length costs the same number of calls.
        # One block more for every record, so that the dummy update is never an empty call,
        # which returns sooner than any real one (measured: bench/lucky13.py).
        extra = self.inner_blocks(n - mac_len - 1) - self.inner_blocks(content_len) + 1
        self._dummy.update(self._zeros[: extra * self._block])
        # One comparison over the last min(n, mac_len + 256) bytes, whatever the padding says:
        # the bytes in front of the MAC as they are, the MAC we computed, the padding expected.
        window_len = min(n, mac_len + _MAX_PADDING)
        window = view[n - window_len :]
        expected = b"".join((window[: window_len - mac_len - pad - 1], computed, _PADDINGS[pad]))
        good = hmac.compare_digest(window, expected) & fits
        return good, content_len
