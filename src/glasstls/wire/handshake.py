"""Handshake messages of RFC 8446, Section 4, as declarative structures.

Every message keeps ``raw``: the exact bytes (4-byte header included) it was
received or sent as. The transcript hashes ``raw``, never a re-serialisation.
``encode()`` builds and stores ``raw`` for a message glasstls sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ..enums import (
    AlertDescription,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    ProtocolVersion,
    SignatureScheme,
)
from ..errors import AlertError, DecodeError
from . import extensions as X
from .codec import Reader, Writer
from .extensions import Extension

# RFC 8446, Section 4.1.3: SHA-256("HelloRetryRequest").
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


@dataclass
class Handshake:
    """Base of every handshake message."""

    msg_type: ClassVar[HandshakeType]
    raw: bytes = field(default=b"", init=False, repr=False, compare=False)

    def write_body(self, w: Writer) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self) -> bytes:
        """Serialise (header included), remember and return the bytes."""
        w = Writer()
        self.write_body(w)
        body = w.getvalue()
        self.raw = bytes([self.msg_type]) + len(body).to_bytes(3, "big") + body
        return self.raw

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass
class ClientHello(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.client_hello
    legacy_version: ProtocolVersion = ProtocolVersion.TLSv1_2
    random: bytes = bytes(32)
    legacy_session_id: bytes = b""
    cipher_suites: tuple[CipherSuite, ...] = ()
    compression_methods: tuple[int, ...] = (0,)
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> ClientHello:
        version = ProtocolVersion(r.u16("legacy_version"))
        random = r.raw(32, "random")
        session_id = r.vec(1, "legacy_session_id", 0, 32)
        suites = tuple(CipherSuite(v) for v in r.u16_list(2, "cipher_suites", 2))
        compression = tuple(r.u8_list(1, "legacy_compression_methods", 1))
        # RFC 5246, Section 7.4.1.2: extensions may be absent altogether.
        exts = X.read_extensions(r, X.CH) if not r.at_end() else ()
        msg = cls(version, random, session_id, suites, compression, exts)
        _check_psk_last(msg.extensions)
        return msg

    def write_body(self, w: Writer) -> None:
        w.u16(self.legacy_version).raw(self.random).vec(1, self.legacy_session_id)
        w.u16_list(2, list(self.cipher_suites)).u8_list(1, list(self.compression_methods))
        X.write_extensions(w, self.extensions)

    def ext(self, ext_type: int) -> Extension | None:
        return X.find(self.extensions, ext_type)

    def truncated_for_binders(self) -> bytes:
        """RFC 8446, Section 4.2.11.2: the ClientHello up to the binders list."""
        psk = self.ext(ExtensionType.pre_shared_key)
        assert psk is not None and self.raw
        return self.raw[: len(self.raw) - psk.value.binders_length()]


def _check_psk_last(exts: tuple[Extension, ...]) -> None:
    # RFC 8446, Section 4.2.11: pre_shared_key MUST be the last extension.
    for i, ext in enumerate(exts):
        if ext.type == ExtensionType.pre_shared_key and i != len(exts) - 1:
            raise AlertError(AlertDescription.illegal_parameter, "pre_shared_key is not the last ClientHello extension")


@dataclass
class ServerHello(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello
    legacy_version: ProtocolVersion = ProtocolVersion.TLSv1_2
    random: bytes = bytes(32)
    legacy_session_id_echo: bytes = b""
    cipher_suite: CipherSuite = CipherSuite.TLS_AES_128_GCM_SHA256
    compression_method: int = 0
    extensions: tuple[Extension, ...] = ()
    context: ClassVar[str] = X.SH

    @classmethod
    def parse(cls, r: Reader) -> ServerHello:
        version = ProtocolVersion(r.u16("legacy_version"))
        random = r.raw(32, "random")
        kind: type[ServerHello] = HelloRetryRequest if random == HRR_RANDOM else ServerHello
        session_id = r.vec(1, "legacy_session_id_echo", 0, 32)
        suite = CipherSuite(r.u16("cipher_suite"))
        compression = r.u8("legacy_compression_method")
        exts = X.read_extensions(r, kind.context) if not r.at_end() else ()
        return kind(version, random, session_id, suite, compression, exts)

    def write_body(self, w: Writer) -> None:
        w.u16(self.legacy_version).raw(self.random).vec(1, self.legacy_session_id_echo)
        w.u16(self.cipher_suite).u8(self.compression_method)
        X.write_extensions(w, self.extensions)

    def ext(self, ext_type: int) -> Extension | None:
        return X.find(self.extensions, ext_type)


@dataclass
class HelloRetryRequest(ServerHello):
    """A ServerHello whose random is HRR_RANDOM (RFC 8446, Section 4.1.4)."""

    random: bytes = HRR_RANDOM
    context: ClassVar[str] = X.HRR


@dataclass
class EncryptedExtensions(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.encrypted_extensions
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> EncryptedExtensions:
        return cls(X.read_extensions(r, X.EE))

    def write_body(self, w: Writer) -> None:
        X.write_extensions(w, self.extensions)

    def ext(self, ext_type: int) -> Extension | None:
        return X.find(self.extensions, ext_type)


@dataclass
class CertificateRequest(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request
    certificate_request_context: bytes = b""
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> CertificateRequest:
        ctx = r.vec(1, "certificate_request_context")
        return cls(ctx, X.read_extensions(r, X.CR, 2))

    def write_body(self, w: Writer) -> None:
        w.vec(1, self.certificate_request_context)
        X.write_extensions(w, self.extensions)

    def ext(self, ext_type: int) -> Extension | None:
        return X.find(self.extensions, ext_type)


@dataclass(frozen=True)
class CertificateEntry:
    cert_data: bytes
    extensions: tuple[Extension, ...] = ()


@dataclass
class Certificate(Handshake):
    """The TLS 1.3 Certificate message (RFC 8446, Section 4.4.2)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate
    certificate_request_context: bytes = b""
    entries: tuple[CertificateEntry, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> Certificate:
        ctx = r.vec(1, "certificate_request_context")
        block = r.sub(3, "certificate_list")
        entries = []
        while not block.at_end():
            data = block.vec(3, "cert_data", 1)
            entries.append(CertificateEntry(data, X.read_extensions(block, X.CT)))
        return cls(ctx, tuple(entries))

    def write_body(self, w: Writer) -> None:
        w.vec(1, self.certificate_request_context)
        body = Writer()
        for entry in self.entries:
            body.vec(3, entry.cert_data)
            X.write_extensions(body, entry.extensions)
        w.vec(3, body.getvalue())


@dataclass
class CertificateVerify(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_verify
    algorithm: SignatureScheme = SignatureScheme.ecdsa_secp256r1_sha256
    signature: bytes = b""

    @classmethod
    def parse(cls, r: Reader) -> CertificateVerify:
        return cls(SignatureScheme(r.u16("algorithm")), r.vec(2, "signature", 1))

    def write_body(self, w: Writer) -> None:
        w.u16(self.algorithm).vec(2, self.signature)


@dataclass
class Finished(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.finished
    verify_data: bytes = b""

    @classmethod
    def parse(cls, r: Reader) -> Finished:
        return cls(r.raw(r.remaining(), "verify_data"))

    def write_body(self, w: Writer) -> None:
        w.raw(self.verify_data)


@dataclass
class NewSessionTicket(Handshake):
    """The TLS 1.3 NewSessionTicket (RFC 8446, Section 4.6.1)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket
    ticket_lifetime: int = 0
    ticket_age_add: int = 0
    ticket_nonce: bytes = b""
    ticket: bytes = b""
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> NewSessionTicket:
        lifetime = r.u32("ticket_lifetime")
        age_add = r.u32("ticket_age_add")
        nonce = r.vec(1, "ticket_nonce")
        ticket = r.vec(2, "ticket", 1)
        return cls(lifetime, age_add, nonce, ticket, X.read_extensions(r, X.NST))

    def write_body(self, w: Writer) -> None:
        w.u32(self.ticket_lifetime).u32(self.ticket_age_add).vec(1, self.ticket_nonce).vec(2, self.ticket)
        X.write_extensions(w, self.extensions)


@dataclass
class EndOfEarlyData(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.end_of_early_data

    @classmethod
    def parse(cls, r: Reader) -> EndOfEarlyData:
        return cls()

    def write_body(self, w: Writer) -> None:
        pass


@dataclass
class KeyUpdate(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.key_update
    request_update: KeyUpdateRequest = KeyUpdateRequest.update_not_requested

    @classmethod
    def parse(cls, r: Reader) -> KeyUpdate:
        value = r.u8("request_update")
        if value > 1:  # RFC 8446, Section 4.6.3
            raise AlertError(AlertDescription.illegal_parameter, f"KeyUpdate request_update {value} is not 0 or 1")
        return cls(KeyUpdateRequest(value))

    def write_body(self, w: Writer) -> None:
        w.u8(self.request_update)


@dataclass
class MessageHash(Handshake):
    """The synthetic message that replaces ClientHello1 after an HRR (RFC 8446, Section 4.4.1)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.message_hash
    digest: bytes = b""

    def write_body(self, w: Writer) -> None:
        w.raw(self.digest)


Parser = Callable[[Reader], "Handshake"]

_TLS13_PARSERS: dict[HandshakeType, Parser] = {
    HandshakeType.client_hello: ClientHello.parse,
    HandshakeType.server_hello: ServerHello.parse,
    HandshakeType.encrypted_extensions: EncryptedExtensions.parse,
    HandshakeType.certificate_request: CertificateRequest.parse,
    HandshakeType.certificate: Certificate.parse,
    HandshakeType.certificate_verify: CertificateVerify.parse,
    HandshakeType.finished: Finished.parse,
    HandshakeType.new_session_ticket: NewSessionTicket.parse,
    HandshakeType.end_of_early_data: EndOfEarlyData.parse,
    HandshakeType.key_update: KeyUpdate.parse,
}


def decode_message(raw: bytes, parsers: Mapping[HandshakeType, Parser] | None = None) -> Handshake:
    """Decode one complete handshake message (header included).

    The body must be consumed exactly; anything else is decode_error.
    """
    if len(raw) < 4 or int.from_bytes(raw[1:4], "big") != len(raw) - 4:
        raise DecodeError(f"handshake message header does not match its {len(raw)} bytes")
    msg_type = HandshakeType(raw[0])
    parse = (parsers or _TLS13_PARSERS).get(msg_type)
    if parse is None:
        raise AlertError(AlertDescription.unexpected_message, f"unexpected handshake message type {msg_type.name}")
    r = Reader(raw, msg_type.name, 4)
    msg = parse(r)
    r.finish()
    msg.raw = raw
    return msg


class HandshakeBuffer:
    """Reassembles handshake messages that span or share records (RFC 8446, Section 5.1)."""

    # Large enough for long certificate chains; bounded so a peer cannot make us buffer forever.
    MAX_MESSAGE = 1 << 18

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self._buf = bytearray()
        self.max_message = max_message

    def feed(self, fragment: bytes) -> None:
        self._buf += fragment

    def pop(self) -> bytes | None:
        """The next complete message, or None if more bytes are needed."""
        if len(self._buf) < 4:
            return None
        length = int.from_bytes(self._buf[1:4], "big")
        if length > self.max_message:
            raise DecodeError(
                f"handshake message of {length} bytes exceeds the {self.max_message}-byte limit "
                "(limit Limits.max_handshake_message)"
            )
        if len(self._buf) < 4 + length:
            return None
        raw = bytes(self._buf[: 4 + length])
        del self._buf[: 4 + length]
        return raw

    def empty(self) -> bool:
        return not self._buf
