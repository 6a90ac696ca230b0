"""The handshake transcript hash (RFC 8446, Section 4.4.1).

Messages are added as the raw bytes received or sent. Until the cipher suite
(and so the hash) is known, the bytes are buffered.
"""

from __future__ import annotations

import hashlib

from ..enums import HandshakeType

# The suites' hashes by name, their constructors called directly (hashlib.new goes through a Python wrapper).
_CONSTRUCTORS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384}


def new_hash(hash_name: str, data: bytes = b"") -> hashlib._Hash:
    """A running hash of the suite's ``hash_name``, fed ``data``."""
    constructor = _CONSTRUCTORS.get(hash_name)
    return constructor(data) if constructor is not None else hashlib.new(hash_name, data)


class Transcript:
    def __init__(self) -> None:
        self._pending: list[bytes] = []
        # The raw messages themselves: a TLS 1.2 CertificateVerify signs them,
        # not their hash (RFC 5246, Section 7.4.8).
        self._messages: list[bytes] = []
        self._hash: hashlib._Hash | None = None
        self.hash_name = ""

    def start(self, hash_name: str) -> None:
        self.hash_name = hash_name
        self._hash = new_hash(hash_name)
        for raw in self._pending:
            self._hash.update(raw)
        self._pending.clear()

    def start_hashed(self, hash_name: str, running: hashlib._Hash, raw: bytes, hashed: int) -> None:
        """start(hash_name) then add(raw), from ``running``, a hash of ``hash_name`` already fed
        ``raw[:hashed]`` (and nothing else): only the rest of ``raw`` is hashed here. The
        transcript takes ``running`` over and goes on updating it."""
        assert self._hash is None and not self._messages, "start_hashed on a transcript already begun"
        self.hash_name = hash_name
        running.update(raw[hashed:])
        self._hash = running
        self._messages.append(raw)

    @property
    def started(self) -> bool:
        return self._hash is not None

    def add(self, raw: bytes) -> None:
        self._messages.append(raw)
        if self._hash is None:
            self._pending.append(raw)
        else:
            self._hash.update(raw)

    def digest(self) -> bytes:
        """Transcript-Hash of everything added so far."""
        assert self._hash is not None, "transcript hash used before the suite was chosen"
        # hashlib's digest() finalizes a copy of its own and leaves the running hash to go on:
        # no copy() of ours (a handshake takes some five digests a side).
        return self._hash.digest()

    def fork(self) -> Transcript:
        """A separate continuation of the running hash (the raw messages are not copied).

        Each post-handshake authentication hashes the handshake and then only its
        own messages, never another's (RFC 8446, Section 4.4.1).
        """
        assert self._hash is not None, "transcript forked before the suite was chosen"
        other = Transcript()
        other.hash_name = self.hash_name
        other._hash = self._hash.copy()
        return other

    def replace_with_message_hash(self) -> None:
        """After a HelloRetryRequest: ClientHello1 becomes message_hash (RFC 8446, Section 4.4.1)."""
        digest = self.digest()
        assert self._hash is not None
        self._hash = new_hash(self.hash_name)
        self._hash.update(bytes([HandshakeType.message_hash, 0, 0, len(digest)]) + digest)

    def add_message_hash(self, digest: bytes) -> None:
        """message_hash(ClientHello1) from its hash alone: a stateless server's cookie
        carries it (RFC 8446, Sections 4.2.2 and 4.4.1)."""
        self.add(bytes([HandshakeType.message_hash, 0, 0, len(digest)]) + digest)

    def messages(self) -> bytes:
        """Every message added so far, concatenated."""
        return b"".join(self._messages)
