"""What a shared store holds is sealed under a key only the servers have.

A session in the session-ID cache holds a master secret; a ticket key opens every
ticket sealed under it. Neither may be readable by whoever can read the store (its
operators, its backups, a snapshot on disk, a replica in another region). So every
secret value is sealed with AES-256-GCM under the *store key*, a 32-byte key the
servers are given in a file (``--store-key FILE``), never kept in the store::

    blob = version[1] || key_id[4] || nonce[12] || AES-256-GCM(store_key, nonce, value, aad)

``aad`` is what the blob is for and where it lives (``b"session|" + redis key``,
``b"ticket-key|" + slot``), so a blob copied to another key or another purpose does
not open. ``key_id`` (the first 4 bytes of SHA-256 over a label and the key) names
the store key without revealing it, so a rotation of the store key itself works:
the file may hold several keys, one per line, the first sealing and all opening.

The nonce is random (12 bytes from ``os.urandom``); the number of values sealed
under one store key stays far below GCM's 2**32 bound for random nonces as long as
the store key is replaced now and then (see docs/design/fleet.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ConfigError

VERSION = 1
KEY_LEN = 32
KEY_ID_LEN = 4
NONCE_LEN = 12
_HEADER = 1 + KEY_ID_LEN + NONCE_LEN


def key_id(key: bytes) -> bytes:
    """The public name of a store key: it tells keys apart, it does not help find one."""
    return hashlib.sha256(b"glasstls store key id\x00" + key).digest()[:KEY_ID_LEN]


class StoreSealer:
    """Seals and opens a store's values under the store keys (the first seals, all open)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ConfigError("a store sealer needs at least one store key")
        for key in keys:
            if len(key) != KEY_LEN:
                raise ConfigError(f"a store key has {KEY_LEN} bytes, not {len(key)}")
        self._sealing = (key_id(keys[0]), AESGCM(bytes(keys[0])))
        self._opening = {key_id(k): AESGCM(bytes(k)) for k in reversed(keys)}  # the first wins an id clash

    def seal(self, value: bytes, aad: bytes) -> bytes:
        kid, aead = self._sealing
        nonce = os.urandom(NONCE_LEN)
        return bytes([VERSION]) + kid + nonce + aead.encrypt(nonce, value, aad)

    def open(self, blob: bytes, aad: bytes) -> tuple[bytes | None, str]:
        """``(value, "")``, or ``(None, why)``: another format, another store key, not authentic."""
        if len(blob) < _HEADER + 16 or blob[0] != VERSION:
            return None, "not a sealed value of this version"
        aead = self._opening.get(blob[1 : 1 + KEY_ID_LEN])
        if aead is None:
            return None, "sealed under another store key"
        try:
            return aead.decrypt(blob[1 + KEY_ID_LEN : _HEADER], blob[_HEADER:], aad), ""
        except InvalidTag:
            return None, "does not authenticate under the store key"


def parse_store_keys(data: bytes, origin: str = "the store key") -> list[bytes]:
    """Store keys from a file's bytes: exactly 32 raw bytes, or lines of 64 hex digits or
    base64 of 32 bytes (``#`` comments and blank lines skipped), the sealing key first."""
    if len(data) == KEY_LEN and not _looks_textual(data):
        return [data]
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"{origin}: neither 32 raw bytes nor text lines of hex or base64") from None
    keys = []
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        keys.append(_parse_line(line, f"{origin}, line {number}"))
    if not keys:
        raise ConfigError(f"{origin} holds no key (32 random bytes; e.g. `openssl rand -hex 32 > FILE`)")
    return keys


def _looks_textual(data: bytes) -> bool:
    return all(32 <= b < 127 or b in b"\r\n\t" for b in data)


def _parse_line(line: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(line) if len(line) == 2 * KEY_LEN else base64.b64decode(line, validate=True)
    except (ValueError, binascii.Error):
        raise ConfigError(f"{where}: not hex or base64") from None
    if len(key) != KEY_LEN:
        raise ConfigError(f"{where}: a store key has {KEY_LEN} bytes, not {len(key)}")
    return key


def load_store_keys(path: str | os.PathLike[str]) -> list[bytes]:
    """The store keys in ``path`` (see :func:`parse_store_keys`), from a file only its owner may read and
    write, or, owned by root, its group read too (PostgreSQL's rule for its key file: a group such as
    ssl-cert that the servers run in); another is refused."""
    target = Path(path)
    try:
        status = target.stat()
        data = target.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the store key file {target}: {exc.strerror or exc}") from None
    mode = status.st_mode & 0o777
    if mode & 0o007:
        raise ConfigError(f"the store key file {target} is open to every user (mode {mode:o}); chmod 600 it")
    if mode & (0o070 if status.st_uid != 0 else 0o030):
        raise ConfigError(
            f"the store key file {target} is open to its group (mode {mode:o}); chmod 600 it (a file owned by "
            "root may be 640, for a group the servers run in)"
        )
    return parse_store_keys(data, f"the store key file {target}")
