"""HMAC and HKDF: the one MAC path of both key schedules.

TLS 1.2's PRF (RFC 5246, Section 5) and TLS 1.3's key schedule (RFC 8446,
Section 7.1, over HKDF of RFC 5869) are chains of HMACs over short inputs,
some fifty per handshake, so what counts is the cost of one call, not of the
hashing. :func:`hmac.digest` goes through ``hmac.py`` into OpenSSL's one-shot
``HMAC()``, which under OpenSSL 3 fetches the MAC algorithm on every call;
``_hashlib.hmac_new`` keys an HMAC context from a cached digest and is about
40 % cheaper per call (SHA-256 over 60 bytes: 2.1 µs against 1.2 µs). A
Python build without ``_hashlib`` (no OpenSSL) falls back to :func:`hmac.new`,
which takes the same arguments.

Every TLS 1.3 derivation fits in one HKDF-Expand block, so
:func:`hkdf_expand_label` is one HMAC over an ``HkdfLabel`` whose constant
head (length and label) is built once per label.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

_new: Callable[[bytes, bytes, str], Any]  # (key, msg, hash name) -> an HMAC object with .digest()
try:
    from _hashlib import hmac_new as _new
except ImportError:  # pragma: no cover - CPython without OpenSSL
    from hmac import new as _new  # the same (key, msg, digestmod) call

_DIGEST_SIZES = {"sha256": 32, "sha384": 48}


def digest_size(hash_name: str) -> int:
    size = _DIGEST_SIZES.get(hash_name)
    if size is None:
        size = _DIGEST_SIZES[hash_name] = hashlib.new(hash_name).digest_size
    return size


def hmac_digest(key: bytes, msg: bytes, hash_name: str) -> bytes:
    """HMAC (RFC 2104) of ``msg`` under ``key`` with the hash ``hash_name``."""
    return _new(key, msg, hash_name).digest()  # type: ignore[no-any-return]  # HMAC.digest is bytes


def hmac_of_hmac(key: bytes, first: bytes, second: bytes, hash_name: str) -> bytes:
    """HMAC(HMAC(key, first), second), the first HMAC's output keying the second: TLS 1.3's
    Finished and PSK binder (RFC 8446, Section 4.4.4), in one call rather than two of
    :func:`hmac_digest` (a side makes three or four per handshake)."""
    inner: bytes = _new(key, first, hash_name).digest()
    return _new(inner, second, hash_name).digest()  # type: ignore[no-any-return]  # HMAC.digest is bytes


def hmac_keyed(key: bytes, hash_name: str) -> Any:
    """An HMAC keyed with ``key`` and fed nothing yet: ``copy()`` it for each message under the same
    key, which saves setting the key's pads up again (TLS 1.2's P_hash makes four or more HMACs per key)."""
    return _new(key, b"", hash_name)


# HashLen zeros, the salt an empty one stands for, made once for TLS 1.3's hashes (each key
# schedule's first extract has none: RFC 8446, Section 7.1), and an HMAC keyed with them, which
# such an extract copies instead of keying one anew (the zeros are no secret: nothing is kept).
_ZERO_SALTS = {"sha256": bytes(32), "sha384": bytes(48)}
_ZERO_KEYED = {name: hmac_keyed(zeros, name) for name, zeros in _ZERO_SALTS.items()}


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """RFC 5869, Section 2.2 (an empty salt is HashLen zeros)."""
    if not salt:
        keyed = _ZERO_KEYED.get(hash_name)
        if keyed is not None:
            mac = keyed.copy()
            mac.update(ikm)
            return mac.digest()  # type: ignore[no-any-return]
        salt = bytes(digest_size(hash_name))
    return _new(salt, ikm, hash_name).digest()  # type: ignore[no-any-return]


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869, Section 2.3."""
    if length <= digest_size(hash_name):
        block: bytes = _new(prk, info + b"\x01", hash_name).digest()  # T(1) is the whole output
        return block if len(block) == length else block[:length]
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = _new(prk, block + info + bytes([counter]), hash_name).digest()
        out += block
        counter += 1
    return out[:length]


@lru_cache(maxsize=128)
def _label_head(label: bytes, length: int) -> bytes:
    """``uint16 length`` and ``opaque label<7..255>`` of the HkdfLabel (RFC 8446, Section 7.1)."""
    full = b"tls13 " + label
    return length.to_bytes(2, "big") + bytes([len(full)]) + full


def hkdf_label(label: bytes, context: bytes, length: int) -> bytes:
    """The HkdfLabel structure of RFC 8446, Section 7.1."""
    return _label_head(label, length) + bytes([len(context)]) + context


# The HkdfLabel up to its context (length, label, the context's length) by (hash, label, length,
# context length), for the derivations that fit one HKDF-Expand block: a handshake makes some
# twenty on each side, from a dozen labels. With an empty context (the traffic keys and IVs,
# the Finished keys) the entry is the whole HKDF-Expand input, T(1)'s counter included. An
# exporter's label is the application's: the table is bounded, past that a head is made anew.
_HEADS: dict[tuple[str, bytes, int, int], bytes] = {}
_HEADS_MAX = 256


def _single_block_head(hash_name: str, label: bytes, length: int, n: int) -> bytes | None:
    """What _HEADS keeps for these, made and kept; None when the output needs more than one block.
    A context too long for its one-byte length (``opaque context<0..255>``) is a ValueError."""
    if length > _DIGEST_SIZES.get(hash_name, 0):
        return None
    head = _label_head(label, length) + bytes([n])  # ValueError for a context of 256 bytes or more
    if n == 0:
        head += b"\x01"  # T(1) = HMAC(PRK, HkdfLabel | 0x01), RFC 5869, Section 2.3
    if len(_HEADS) < _HEADS_MAX:
        _HEADS[hash_name, label, length, n] = head
    return head


class _DeriveSecretHeads(dict[bytes, bytes]):
    """The HkdfLabel of Derive-Secret (RFC 8446, Section 7.1) up to its context, by label, for one
    hash: length and context (a transcript hash) both Hash.length. Made at a label's first use; the
    stages of the key schedule ask for their own few labels, so the table stays small, and it
    starts over past _HEADS_MAX all the same."""

    def __init__(self, hash_name: str) -> None:
        super().__init__()
        self.hash_name = hash_name
        self.size = digest_size(hash_name)

    def __missing__(self, label: bytes) -> bytes:
        # _single_block_head's HkdfLabel head, a context of Hash.length given: never None here
        # (the output is one block); ValueError for a label too long, as hkdf_expand_label's.
        head = _single_block_head(self.hash_name, label, self.size, self.size)
        assert head is not None
        if len(self) >= _HEADS_MAX:
            self.clear()
        self[label] = head
        return head


_DERIVE_SECRET_HEADS: dict[str, _DeriveSecretHeads] = {}


def derive_secret_heads(hash_name: str) -> dict[bytes, bytes]:
    """For Derive-Secret under ``hash_name`` from a keyed HMAC (:func:`hmac_keyed`): by label, the
    HkdfLabel up to its context. ``heads[label] + transcript_hash + b"\x01"`` is then the whole
    HKDF-Expand input of T(1) when the transcript hash has the hash's length (its output's)."""
    heads = _DERIVE_SECRET_HEADS.get(hash_name)
    if heads is None:
        heads = _DERIVE_SECRET_HEADS[hash_name] = _DeriveSecretHeads(hash_name)
    return heads


def hkdf_expand_label(hash_name: str, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label of RFC 8446, Section 7.1: one HMAC when ``length`` fits a block, as all of TLS 1.3's do."""
    n = len(context)
    head = _HEADS.get((hash_name, label, length, n))
    if head is None:
        head = _single_block_head(hash_name, label, length, n)
        if head is None:
            return hkdf_expand(hash_name, secret, hkdf_label(label, context, length), length)
    block: bytes = _new(secret, head + context + b"\x01" if n else head, hash_name).digest()
    return block if len(block) == length else block[:length]


def hkdf_expand_pair(
    hash_name: str, prk: bytes, first: bytes, first_length: int, second: bytes, second_length: int
) -> tuple[bytes, bytes]:
    """Two HKDF-Expand outputs of at most one block each under one PRK (RFC 5869, Section 2.3),
    ``first`` and ``second`` the whole inputs of their T(1), info and counter (a traffic key's and
    IV's HkdfLabel | 0x01: RFC 8446, Section 7.3, each suite's made once, Suite13.traffic_inputs): one
    HMAC keyed with ``prk``, copied for the first and fed the second itself, instead of two keyed
    anew (about 4,500 instructions less a pair, the key's pads set up once)."""
    keyed = _new(prk, b"", hash_name)
    mac = keyed.copy()
    mac.update(first)
    keyed.update(second)
    return mac.digest()[:first_length], keyed.digest()[:second_length]
