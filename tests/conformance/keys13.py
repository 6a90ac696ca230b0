"""Reading a TLS 1.3 server's encrypted answer to hellos the hostile client wrote itself.

Given the ClientHellos sent (each with the private key of its x25519 share), this
follows the key schedule as the server does (RFC 8446, Section 7.1, reusing
glasstls's keyschedule13 and record protection): handshake keys after the
ServerHello, the server's application keys after its Finished, message_hash after
a HelloRetryRequest (Section 4.4.1). So an alert the server sends after its
ServerHello is read from the wire like a plaintext one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from glasstls.crypto.keyschedule13 import EarlySecret, HandshakeSecret
from glasstls.crypto.suites import TLS13_SUITES, Suite13
from glasstls.enums import CipherSuite
from glasstls.errors import AlertError
from glasstls.record.protection import Protection13
from glasstls.wire.handshake import HRR_RANDOM

HANDSHAKE, APPLICATION_DATA, FINISHED, SERVER_HELLO, KEY_SHARE = 22, 23, 20, 2, 51


def _messages(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while len(data) - pos >= 4:
        end = pos + 4 + int.from_bytes(data[pos + 1 : pos + 4], "big")
        out.append(data[pos:end])
        pos = end
    return out


def _server_share(server_hello: bytes) -> bytes:
    """The key_exchange of the ServerHello's key_share (RFC 8446, Section 4.2.8)."""
    body = server_hello[4:]
    pos = 2 + 32
    pos += 1 + body[pos] + 2 + 1  # session id echo, suite, compression
    end = pos + 2 + int.from_bytes(body[pos : pos + 2], "big")
    pos += 2
    while pos < end:
        ext_type, length = int.from_bytes(body[pos : pos + 2], "big"), int.from_bytes(body[pos + 2 : pos + 4], "big")
        if ext_type == KEY_SHARE:
            return body[pos + 8 : pos + 4 + length]
        pos += 4 + length
    raise AssertionError("ServerHello without key_share")


class Reader13:
    """Decrypts the server's records in order; plaintext records pass through."""

    def __init__(self, hellos: Sequence[Any]) -> None:
        self._hellos = list(hellos)  # hostile.Hello, each with .message() and .key
        self._transcript = b""
        self._suite: Suite13 | None = None
        self._stage: HandshakeSecret | None = None
        self._read: Protection13 | None = None

    def _hash(self) -> bytes:
        assert self._suite is not None
        return hashlib.new(self._suite.hash_name, self._transcript).digest()

    def _on_server_hello(self, msg: bytes) -> None:
        hello = self._hellos.pop(0)
        suite = TLS13_SUITES[CipherSuite(int.from_bytes(msg[4 + 2 + 32 + 1 + msg[4 + 34] :][:2], "big"))]
        self._suite = suite
        if self._transcript:  # after a HelloRetryRequest: the transcript so far, then ClientHello2
            self._transcript += hello.message()
        else:
            self._transcript = hello.message()
        if msg[6:38] == HRR_RANDOM:
            digest = hashlib.new(suite.hash_name, self._transcript).digest()
            self._transcript = bytes((254, 0, 0, len(digest))) + digest + msg  # RFC 8446, Section 4.4.1
            return
        self._transcript += msg
        share = _server_share(msg)
        if isinstance(hello.key, ec.EllipticCurvePrivateKey):
            peer = ec.EllipticCurvePublicKey.from_encoded_point(hello.key.curve, share)
            shared = hello.key.exchange(ec.ECDH(), peer)
        else:
            shared = hello.key.exchange(X25519PublicKey.from_public_bytes(share))
        self._stage = EarlySecret(suite).handshake_stage(shared)
        self._read = Protection13(suite, self._stage.server_handshake_traffic_secret(self._hash()), "handshake")

    def _on_encrypted_handshake(self, data: bytes) -> None:
        for msg in _messages(data):
            self._transcript += msg
            if msg[0] == FINISHED and self._stage is not None and self._read is not None:
                master = self._stage.master_stage()
                secret = master.server_application_traffic_secret(self._hash())
                self._read = Protection13(self._read.suite, secret, "application")
                self._stage = None

    def records(self, records: list[tuple[int, int, bytes]]) -> list[tuple[int, bytes]]:
        """(content type, content) of each record, decrypted where keys are known."""
        out = []
        for ctype, version, payload in records:
            if ctype == HANDSHAKE and self._read is None:
                for msg in _messages(payload):
                    if msg[0] == SERVER_HELLO and self._hellos:
                        self._on_server_hello(msg)
            if ctype != APPLICATION_DATA or self._read is None:
                out.append((ctype, payload))
                continue
            header = bytes((ctype,)) + version.to_bytes(2, "big") + len(payload).to_bytes(2, "big")
            try:
                inner, data = self._read.open(header, payload)
            except AlertError:
                out.append((ctype, payload))  # not readable: leave it as it came
                continue
            if inner == HANDSHAKE:
                self._on_encrypted_handshake(data)
            out.append((int(inner), data))
        return out
