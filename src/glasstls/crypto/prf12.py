"""The TLS 1.2 PRF and everything derived from it (RFC 5246, Sections 5, 6.3, 7.4.9 and 8.1).

    pre_master --PRF "master secret" / "extended master secret"--> master (48 bytes)
    master --PRF "key expansion"--> key block: MAC keys, write keys, IVs
    master --PRF "client finished" / "server finished"--> verify_data (12 bytes)
    master --PRF exporter label--> keying material (RFC 5705)

TLS 1.2 has one PRF, P_hash over HMAC, with the hash of the cipher suite
(SHA-256 unless the suite names SHA-384; RFC 5246, Section 5; RFC 5288,
Section 3). HMAC runs through :mod:`.kdf`, the key schedules' one HMAC path
(one OpenSSL call per HMAC): the PRF is on the handshake's hot path and a
master secret is four HMACs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .kdf import digest_size, hmac_digest, hmac_keyed
from .suites import Suite12

MASTER_SECRET_LEN = 48  # RFC 5246, Section 8.1
VERIFY_DATA_LEN = 12  # RFC 5246, Section 7.4.9 (the default for every TLS 1.2 suite)

# Labels the PRF already uses; an exporter label equal to one of them would hand out
# the session's own keys or Finished values (RFC 5705, Section 4 warns of collisions).
_RESERVED_LABELS = frozenset(
    (b"master secret", b"extended master secret", b"key expansion", b"client finished", b"server finished")
)


def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """P_hash of RFC 5246, Section 5: HMAC(secret, A(i) + seed) for i = 1, 2, …, with A(i) = HMAC(secret, A(i-1))."""
    if length <= digest_size(hash_name):  # one block (a Finished): two HMACs, nothing worth sharing
        out = hmac_digest(secret, hmac_digest(secret, seed, hash_name) + seed, hash_name)
        return out[:length] if len(out) != length else out
    return _expand(hmac_keyed(secret, hash_name), seed, length)  # a master secret, a key block: 4 HMACs or more


def _expand(keyed: Any, seed: bytes, length: int) -> bytes:
    """P_hash with an HMAC already keyed with the secret (:func:`~.kdf.hmac_keyed`): each HMAC is a
    copy of it, which saves setting the key's pads up again."""
    h = keyed.copy()
    h.update(seed)
    a = h.digest()  # A(1)
    h = keyed.copy()
    h.update(a + seed)
    out: bytes = h.digest()
    while len(out) < length:
        h = keyed.copy()
        h.update(a)
        a = h.digest()  # A(i)
        h = keyed.copy()
        h.update(a + seed)
        out += h.digest()
    return out[:length] if len(out) != length else out


def prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """PRF(secret, label, seed) = P_<hash>(secret, label + seed), RFC 5246, Section 5."""
    if length < 0:
        raise ValueError("PRF output length must not be negative")
    if length == 0:
        return b""
    return p_hash(hash_name, secret, label + seed, length)


def master_secret(hash_name: str, pre_master: bytes, client_random: bytes, server_random: bytes) -> bytes:
    """RFC 5246, Section 8.1: PRF(pre_master_secret, "master secret", client_random + server_random)[0..47]."""
    return p_hash(hash_name, pre_master, b"master secret" + client_random + server_random, MASTER_SECRET_LEN)


def extended_master_secret(hash_name: str, pre_master: bytes, session_hash: bytes) -> bytes:
    """RFC 7627, Section 4: the master secret bound to the handshake's session hash.

    ``session_hash`` is the hash of the handshake messages up to and including
    ClientKeyExchange (RFC 7627, Section 3).
    """
    return p_hash(hash_name, pre_master, b"extended master secret" + session_hash, MASTER_SECRET_LEN)


class KeyBlock(NamedTuple):
    """The key block of RFC 5246, Section 6.3, split in its order of appearance.

    MAC keys are empty for AEAD suites; IVs are the implicit nonce parts (4 bytes
    for AES-GCM, RFC 5288, Section 3; 12 for ChaCha20-Poly1305, RFC 7905,
    Section 2) and empty for CBC, whose IVs travel in each record. A named tuple:
    immutable like a frozen dataclass, at a third of its cost to build (one per
    handshake and side).
    """

    client_mac_key: bytes
    server_mac_key: bytes
    client_key: bytes
    server_key: bytes
    client_iv: bytes
    server_iv: bytes

    def __repr__(self) -> str:  # keys are secrets: never print them by accident
        return (
            f"KeyBlock(mac_keys={len(self.client_mac_key)}B, keys={len(self.client_key)}B, ivs={len(self.client_iv)}B)"
        )


def key_block(suite: Suite12, master: bytes, client_random: bytes, server_random: bytes) -> KeyBlock:
    """RFC 5246, Section 6.3: PRF(master, "key expansion", server_random + client_random), sliced."""
    return MasterPrf(suite.prf_hash, master).key_block(suite, client_random, server_random)


def finished_verify_data(hash_name: str, master: bytes, sender: str, handshake_hash: bytes) -> bytes:
    """RFC 5246, Section 7.4.9: PRF(master, finished_label, Hash(handshake_messages))[0..11].

    ``sender`` is "client" or "server"; ``handshake_hash`` is the transcript
    hash (with the PRF's hash) of every handshake message before this Finished.
    """
    return MasterPrf(hash_name, master).finished(sender, handshake_hash)


_FINISHED_LABELS = {"client": b"client finished", "server": b"server finished"}


class MasterPrf:
    """The PRF keyed with one master secret (RFC 5246, Section 5), for one handshake.

    Each side of a handshake runs eight HMACs under its master secret: four
    for the key block, two for each Finished. Keyed once here, each is a copy
    of the keyed HMAC (an HMAC keyed anew for each Finished cost about 2.5 %
    of a TLS 1.2 resumption's instructions).
    """

    __slots__ = ("hash_name", "_keyed")

    def __init__(self, hash_name: str, master: bytes) -> None:
        self.hash_name = hash_name
        self._keyed = hmac_keyed(master, hash_name)

    def key_block(self, suite: Suite12, client_random: bytes, server_random: bytes) -> KeyBlock:
        """RFC 5246, Section 6.3: PRF(master, "key expansion", server_random + client_random), sliced."""
        mac_len, key_len, iv_len = suite.mac_len, suite.key_len, suite.fixed_iv_len
        keys_at = 2 * mac_len  # where the write keys start, then the IVs
        ivs_at = keys_at + 2 * key_len
        block = _expand(self._keyed, b"key expansion" + server_random + client_random, ivs_at + 2 * iv_len)
        return KeyBlock(
            block[:mac_len],
            block[mac_len:keys_at],
            block[keys_at : keys_at + key_len],
            block[keys_at + key_len : ivs_at],
            block[ivs_at : ivs_at + iv_len],
            block[ivs_at + iv_len :],
        )

    def finished(self, sender: str, handshake_hash: bytes) -> bytes:
        """RFC 5246, Section 7.4.9: the verify_data of ``sender`` ("client" or "server")."""
        label = _FINISHED_LABELS.get(sender)
        if label is None:
            raise ValueError(f"Finished sender must be 'client' or 'server', not {sender!r}")
        return _expand(self._keyed, label + handshake_hash, VERIFY_DATA_LEN)


def export_keying_material(
    hash_name: str,
    master: bytes,
    client_random: bytes,
    server_random: bytes,
    label: bytes | str,
    context: bytes | None,
    length: int,
) -> bytes:
    """The TLS 1.2 exporter of RFC 5705, Section 4.

    ``context=None`` means no context at all, which differs from an empty
    context: the latter still mixes in its 2-byte zero length.
    """
    if isinstance(label, str):
        label = label.encode("ascii")
    if label in _RESERVED_LABELS:
        raise ValueError(f"exporter label {label!r} collides with a label of the TLS 1.2 PRF itself")
    seed = client_random + server_random
    if context is not None:
        if len(context) >= 1 << 16:
            raise ValueError("exporter context must be shorter than 2^16 bytes (RFC 5705, Section 4)")
        seed += len(context).to_bytes(2, "big") + context
    return prf(hash_name, master, label, seed, length)
