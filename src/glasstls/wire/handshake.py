"""Handshake messages of RFC 8446, Section 4, as declarative structures.

Each message lists its fields once, as a ``layout`` (:mod:`glasstls.wire.layout`):
the strict parser, the encoder and the trace's field tree all read that one
description. Every message keeps ``raw``: the exact bytes (4-byte header
included) it was received or sent as. The transcript hashes ``raw``, never a
re-serialisation. ``encode()`` builds and stores ``raw`` for a message
glasstls sends.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from struct import unpack_from
from typing import Any, ClassVar, Self

from ..enums import (
    AlertDescription,
    CertificateCompressionAlgorithm,
    CipherSuite,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    ProtocolVersion,
    SignatureScheme,
)
from ..errors import AlertError, DecodeError
from . import extensions as X
from .codec import Reader, Writer, put_vec, u16s
from .extensions import Extension, Extensions, put_extensions
from .layout import Int, Layout, Opaque, Raw, Struct, Vector, field_values, member_of, members_of

# RFC 8446, Section 4.1.3: SHA-256("HelloRetryRequest").
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
# RFC 8446, Section 4.1.3: the last 8 bytes of a TLS 1.3 server's random when it negotiates an older version.
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"


@dataclass
class Handshake:
    """Base of every handshake message: parsed and written by its ``layout``."""

    msg_type: ClassVar[HandshakeType]
    layout: ClassVar[Layout] = ()
    # A message a peer sends byte for byte alike in every handshake (what its configuration fixes: its
    # EncryptedExtensions, its certificate chain): its values are kept by its bytes (see _parse_kept).
    same_every_time: ClassVar[bool] = False
    raw: bytes = field(default=b"", init=False, repr=False, compare=False)

    @classmethod
    def parse(cls, r: Reader) -> Self:
        if cls.same_every_time:
            return cls(*_parse_kept(cls, r))
        values: list[Any] = [spec.read(r) for spec in cls.layout]
        return cls(*values)

    def write_body(self, w: Writer) -> None:
        buf = w._buf
        for spec, value in zip(self.layout, field_values(self), strict=True):
            spec.put(buf, value)

    def encode(self) -> bytes:
        """Serialise (header included), remember and return the bytes.

        The messages every handshake sends (ClientHello, ServerHello and HelloRetryRequest,
        EncryptedExtensions, Finished, NewSessionTicket) write their fields directly instead
        (``encode`` of their own, each tested to give this walk's bytes): the walk costs a method
        call per field."""
        buf = bytearray(4)  # RFC 8446, Section 4: msg_type, then the body's uint24 length (set by _framed)
        for spec, value in zip(self.layout, field_values(self), strict=True):
            spec.put(buf, value)
        return self._framed(buf)

    def _framed(self, buf: bytearray) -> bytes:
        """``buf`` (4 bytes for the header, then the body) with its header filled in, remembered as ``raw``."""
        buf[0] = self.msg_type
        buf[1:4] = (len(buf) - 4).to_bytes(3, "big")
        self.raw = bytes(buf)
        return self.raw

    @property
    def name(self) -> str:
        return type(self).__name__


# The values of the messages of the classes marked same_every_time, by (class, body): a message that
# parsed is parsed alike from the same bytes, so one that arrives again is built from the values its
# first parse gave (immutable: bytes, tuples, enums, frozen entries), the reader moved past what that
# parse consumed (what it left over, the caller's finish() reports again). A body that fails to parse
# is never kept, so its error is raised afresh. Bounded: bodies up to 16 KiB, 64 kept, then started over.
_KEPT_BODY_MAX = 1 << 14
_KEPT_MAX = 64
_kept: dict[tuple[type, bytes], tuple[tuple[Any, ...], int]] = {}


def _parse_kept(cls: type[Handshake], r: Reader) -> tuple[Any, ...]:
    body = r.rest()
    kept = _kept.get((cls, body))
    if kept is not None:
        values, consumed = kept
        r.skip(consumed)
        return values
    start = r.position
    values = tuple([spec.read(r) for spec in cls.layout])
    if len(body) <= _KEPT_BODY_MAX:
        if len(_kept) >= _KEPT_MAX:
            _kept.clear()
        _kept[cls, body] = (values, r.position - start)
    return values


class _WithExtensions:
    """A message with one extensions block."""

    extensions: tuple[Extension, ...]
    # (extensions, {type: first extension of that type}), made by ext() for a long block: the
    # states ask a ClientHello a dozen questions, and a scan compares enum members in Python.
    # Kept with the tuple it indexes, so a message given other extensions is indexed anew.
    _ext_index: tuple[tuple[Extension, ...], dict[int, Extension]] | None = None

    def ext(self, ext_type: int) -> Extension | None:
        exts, index = self.extensions, self._ext_index
        if index is not None and index[0] is exts:  # (first: a server asks its ClientHello a dozen times)
            found: Extension | None = index[1].get(ext_type)
            return found
        if len(exts) <= _SCANNED:
            for ext in exts:
                if ext.type == ext_type:
                    return ext
            return None
        index = self._ext_index = (exts, _first_by_type(exts))
        return index[1].get(ext_type)

    def by_type(self) -> Mapping[int, Extension]:
        """The extensions by type, the first of each: what ext() answers, for a caller that asks
        about many types (admission.py asks the ClientHello about each extension of an answer)."""
        exts = self.extensions
        index = self._ext_index
        if index is None or index[0] is not exts:
            index = self._ext_index = (exts, _first_by_type(exts))
        return index[1]


def _first_by_type(exts: tuple[Extension, ...]) -> dict[int, Extension]:
    """{type: the first extension of that type} (a comprehension: dict(zip(map(attrgetter ...)))
    counts more instructions on CPython 3.11, ~17,000 against ~10,000 for 14 extensions)."""
    return {ext.type: ext for ext in reversed(exts)}


_SCANNED = 4  # a block this short is scanned: cheaper than building its index


_NULL = {0: "null"}  # the only compression method (RFC 8446, Section 4.1.2)
_LEGACY_VERSION, _RANDOM = Int("legacy_version", 2, ProtocolVersion), Raw("random", 32)
_HELLO_START: Layout = (_LEGACY_VERSION, _RANDOM)


@dataclass
class ClientHello(_WithExtensions, Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.client_hello
    layout: ClassVar[Layout] = (
        *_HELLO_START,
        Opaque("legacy_session_id", 1, 0, 32),
        Vector("cipher_suites", 2, Int("cipher_suite", 2, CipherSuite), 2),
        Vector("legacy_compression_methods", 1, Int("compression_method", 1, show=_NULL), 1),
        Extensions(X.CH, optional=True),
    )
    legacy_version: ProtocolVersion = ProtocolVersion.TLSv1_2
    random: bytes = bytes(32)
    legacy_session_id: bytes = b""
    cipher_suites: tuple[CipherSuite, ...] = ()
    compression_methods: tuple[int, ...] = (0,)
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> ClientHello:
        fixed = _client_hello_fixed(r) or _client_hello_fixed_by_field(r)
        if r.at_end():  # RFC 5246, Section 7.4.1.2: the extensions may be absent
            return cls(*fixed, ())
        exts, by_type = X.read_indexed_extensions(r, X.CH)
        _check_psk_last(exts, by_type)
        msg = cls(*fixed, exts)
        if len(exts) > _SCANNED:
            msg._ext_index = (exts, by_type)  # the index ext() would make (no type repeats)
        return msg

    def encode(self) -> bytes:
        """The layout's bytes (RFC 8446, Section 4.1.2), written without its walk."""
        buf = bytearray(4)
        buf += self.legacy_version.to_bytes(2, "big")
        buf += self.random
        put_vec(buf, 1, self.legacy_session_id)
        buf += _offered_lists(self.cipher_suites, self.compression_methods)
        put_extensions(buf, self.extensions)
        return self._framed(buf)

    def with_extensions(self, extensions: tuple[Extension, ...]) -> ClientHello:
        """This hello with ``extensions`` instead, not encoded yet (dataclasses.replace, without its
        generic field walk: a client with a PSK makes two per hello, RFC 8446, Section 4.2.11)."""
        return ClientHello(
            self.legacy_version, self.random, self.legacy_session_id, self.cipher_suites, self.compression_methods,
            extensions,
        )  # fmt: skip

    def truncated_for_binders(self) -> bytes:
        """RFC 8446, Section 4.2.11.2: the ClientHello up to the binders list."""
        exts = self.extensions
        psk = exts[-1] if exts and exts[-1].type == _PSK else self.ext(_PSK)  # it is last (Section 4.2.11)
        assert psk is not None and self.raw
        return self.raw[: len(self.raw) - psk.value.binders_length()]


def _offered_lists(suites: tuple[CipherSuite, ...], methods: tuple[int, ...]) -> bytes:
    """A ClientHello's cipher_suites and legacy_compression_methods vectors. A client offers the
    same lists, the very same tuples (hello.py keeps them per configuration), in every hello: kept
    by the tuples' identity, which the entry holds on to (so the id is not reused while it is
    kept), and encoded anew for any other tuple; what fails to encode raises each time."""
    kept = _offered.get(id(suites))
    if kept is not None and kept[0] is suites and kept[1] is methods:
        return kept[2]
    buf = bytearray()
    put_vec(buf, 2, u16s(suites))
    put_vec(buf, 1, bytes(methods))
    lists = bytes(buf)
    if type(suites) is tuple and type(methods) is tuple:  # (a list may change under the same id)
        if len(_offered) >= _OFFERED_MAX:
            _offered.clear()
        _offered[id(suites)] = (suites, methods, lists)
    return lists


# The encodings _offered_lists made, by the id of their cipher_suites tuple. Bounded: the table
# starts over when full.
_OFFERED_MAX = 64
_offered: dict[int, tuple[tuple[CipherSuite, ...], tuple[int, ...], bytes]] = {}

# An Enum member looked up on its class is a descriptor call: the one the hello's loops compare with, once.
_PSK = ExtensionType.pre_shared_key

# -- the hellos' fixed fields (RFC 8446, Sections 4.1.2 and 4.1.3), read straight from the buffer -------
#
# A hello starts with legacy_version, random and a session id<0..32>; the ClientHello goes on with its
# suites and compression methods, the ServerHello with its suite and compression method. Each parser
# below reads them from the bytes in one go when they fit, or returns None: the fields are then read
# one by one by the Reader (``*_by_field``), whose read that fails names the field, as it always did.
# tests/test_fast_wire_hellos.py holds both to the same values and errors.

_ClientHelloFixed = tuple[ProtocolVersion, bytes, bytes, tuple[CipherSuite, ...], tuple[int, ...]]
_ServerHelloFixed = tuple[ProtocolVersion, bytes, bytes, CipherSuite, int]


def _client_hello_fixed(r: Reader) -> _ClientHelloFixed | None:
    data, pos, end = r.view()
    at = pos + 34  # the legacy_session_id length, after legacy_version and random
    if at >= end or data[at] > 32:
        return None
    suites_at = at + 1 + data[at]
    if suites_at + 2 > end:
        return None
    n = (data[suites_at] << 8) | data[suites_at + 1]  # cipher_suites<2..2^16-2>, two bytes each
    methods_at = suites_at + 2 + n
    if n < 2 or n % 2 or methods_at >= end:
        return None
    stop = methods_at + 1 + data[methods_at]  # legacy_compression_methods<1..2^8-1>
    if stop == methods_at + 1 or stop > end:
        return None
    r.skip(stop - pos)
    return (
        member_of(ProtocolVersion, (data[pos] << 8) | data[pos + 1]),
        data[pos + 2 : at],
        data[at + 1 : suites_at],
        members_of(CipherSuite, unpack_from(f">{n // 2}H", data, suites_at + 2)),
        tuple(data[methods_at + 1 : stop]),
    )


def _client_hello_fixed_by_field(r: Reader) -> _ClientHelloFixed:
    return (
        member_of(ProtocolVersion, r.u16("legacy_version")),
        r.raw(32, "random"),
        r.vec(1, "legacy_session_id", 0, 32),
        members_of(CipherSuite, r.u16_list(2, "cipher_suites", 2)),
        tuple(r.u8_list(1, "legacy_compression_methods", 1)),
    )


def _server_hello_fixed(r: Reader) -> _ServerHelloFixed | None:
    data, pos, end = r.view()
    at = pos + 34  # the legacy_session_id_echo length, after legacy_version and random
    if at >= end or data[at] > 32:
        return None
    suite_at = at + 1 + data[at]
    if suite_at + 3 > end:  # cipher_suite and legacy_compression_method
        return None
    r.skip(suite_at + 3 - pos)
    return (
        member_of(ProtocolVersion, (data[pos] << 8) | data[pos + 1]),
        data[pos + 2 : at],
        data[at + 1 : suite_at],
        member_of(CipherSuite, (data[suite_at] << 8) | data[suite_at + 1]),
        data[suite_at + 2],
    )


def _server_hello_fixed_by_field(r: Reader) -> _ServerHelloFixed:
    return (
        member_of(ProtocolVersion, r.u16("legacy_version")),
        r.raw(32, "random"),
        r.vec(1, "legacy_session_id_echo", 0, 32),
        member_of(CipherSuite, r.u16("cipher_suite")),
        r.u8("legacy_compression_method"),
    )


def _check_psk_last(exts: tuple[Extension, ...], by_type: Mapping[int, Extension] | None = None) -> None:
    """RFC 8446, Section 4.2.11: pre_shared_key MUST be the last extension. ``by_type``: the block's
    extensions by type (read_indexed_extensions, which refused a repeated type): one lookup, no scan."""
    if by_type is not None:
        psk = by_type.get(_PSK)
        if psk is None or psk is exts[-1]:
            return
    elif all(ext.type != _PSK for ext in exts[:-1]):
        return
    raise AlertError(AlertDescription.illegal_parameter, "pre_shared_key is not the last ClientHello extension")


@dataclass
class ServerHello(_WithExtensions, Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.server_hello
    layout: ClassVar[Layout] = (
        *_HELLO_START,
        Opaque("legacy_session_id_echo", 1, 0, 32),
        Int("cipher_suite", 2, CipherSuite),
        Int("legacy_compression_method", 1, show=_NULL),
        Extensions(X.SH, optional=True),
    )
    after_random: ClassVar[Layout] = layout[2:]  # what the parser reads once the random said which message
    legacy_version: ProtocolVersion = ProtocolVersion.TLSv1_2
    random: bytes = bytes(32)
    legacy_session_id_echo: bytes = b""
    cipher_suite: CipherSuite = CipherSuite.TLS_AES_128_GCM_SHA256
    compression_method: int = 0
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        """The layout's bytes (RFC 8446, Section 4.1.3), written without its walk (HelloRetryRequest's too)."""
        buf = bytearray(4)
        buf += self.legacy_version.to_bytes(2, "big")
        buf += self.random
        put_vec(buf, 1, self.legacy_session_id_echo)
        buf += self.cipher_suite.to_bytes(2, "big")
        buf.append(self.compression_method)
        put_extensions(buf, self.extensions)
        return self._framed(buf)

    @classmethod
    def parse(cls, r: Reader) -> ServerHello:
        fixed = _server_hello_fixed(r) or _server_hello_fixed_by_field(r)
        # The random says which message this is, and so which extensions may follow.
        if fixed[1] == HRR_RANDOM:
            kind: type[ServerHello] = HelloRetryRequest
            context = X.HRR
        else:
            kind, context = ServerHello, X.SH
        return kind(*fixed, () if r.at_end() else X.read_extensions(r, context))


@dataclass
class HelloRetryRequest(ServerHello):
    """A ServerHello whose random is HRR_RANDOM (RFC 8446, Section 4.1.4)."""

    layout: ClassVar[Layout] = (*ServerHello.layout[:-1], Extensions(X.HRR, optional=True))
    after_random: ClassVar[Layout] = layout[2:]
    random: bytes = HRR_RANDOM


@dataclass
class EncryptedExtensions(_WithExtensions, Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.encrypted_extensions
    same_every_time = True
    layout: ClassVar[Layout] = (Extensions(X.EE),)
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        """The layout's bytes (RFC 8446, Section 4.3.1), written without its walk."""
        buf = bytearray(4)
        put_extensions(buf, self.extensions)
        return self._framed(buf)


@dataclass
class CertificateRequest(_WithExtensions, Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_request
    same_every_time = True
    layout: ClassVar[Layout] = (Opaque("certificate_request_context", 1), Extensions(X.CR, 2))
    certificate_request_context: bytes = b""
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True)
class CertificateEntry:
    cert_data: bytes
    extensions: tuple[Extension, ...] = ()


_ENTRY: Layout = (Opaque("cert_data", 3, 1, show="certificate"), Extensions(X.CT))


@dataclass
class Certificate(Handshake):
    """The TLS 1.3 Certificate message (RFC 8446, Section 4.4.2)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate
    same_every_time = True
    layout: ClassVar[Layout] = (
        Opaque("certificate_request_context", 1),
        Vector("certificate_list", 3, Struct("CertificateEntry", _ENTRY, CertificateEntry)),
    )
    certificate_request_context: bytes = b""
    entries: tuple[CertificateEntry, ...] = ()


@dataclass
class CompressedCertificate(Handshake):
    """RFC 8879, Section 4: a TLS 1.3 Certificate message's body, compressed; it takes the Certificate's place.

    ``uncompressed_length`` is the length of the Certificate's body (without its 4-byte header), which is
    what the compression covers. Compressing and the checks on decompression (the length, the limit, an
    algorithm that was not offered) are :mod:`glasstls.crypto.certcompress`'s.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.compressed_certificate
    layout: ClassVar[Layout] = (
        Int("algorithm", 2, CertificateCompressionAlgorithm),
        Int("uncompressed_length", 3, show="size"),
        Opaque("compressed_certificate_message", 3, 1),
    )
    algorithm: CertificateCompressionAlgorithm = CertificateCompressionAlgorithm.zlib
    uncompressed_length: int = 0
    compressed_certificate_message: bytes = b""


@dataclass
class CertificateVerify(Handshake):
    """RFC 8446, Section 4.4.3; TLS 1.2's digitally-signed (RFC 5246, Section 4.7) has the same layout.
    Both allow an empty signature (``<0..2^16-1>``): it decodes, and fails as a signature (decrypt_error)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.certificate_verify
    layout: ClassVar[Layout] = (Int("algorithm", 2, SignatureScheme), Opaque("signature", 2))
    algorithm: SignatureScheme = SignatureScheme.ecdsa_secp256r1_sha256
    signature: bytes = b""

    @classmethod
    def parse(cls, r: Reader) -> CertificateVerify:
        """The layout's two fields, read from the buffer in one go when they fit (one a full handshake,
        a new signature each time), else by the layout's walk, whose read that fails names the field."""
        data, pos, end = r.view()
        if pos + 4 <= end:
            stop = pos + 4 + ((data[pos + 2] << 8) | data[pos + 3])
            if stop <= end:  # signature<0..2^16-1>
                r.skip(stop - pos)
                return cls(member_of(SignatureScheme, (data[pos] << 8) | data[pos + 1]), data[pos + 4 : stop])
        return super().parse(r)


@dataclass
class Finished(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.finished
    layout: ClassVar[Layout] = (Raw("verify_data"),)
    verify_data: bytes = b""

    @classmethod
    def parse(cls, r: Reader) -> Finished:
        """The layout's one field, the rest of the message (RFC 8446, Section 4.4.4), taken at once;
        its length is checked against the hash's by the state that verifies it."""
        data, pos, end = r.view()
        r.skip(end - pos)
        return cls(data[pos:end])

    def encode(self) -> bytes:
        """The layout's bytes (RFC 8446, Section 4.4.4), written without its walk."""
        buf = bytearray(4)
        buf += self.verify_data
        return self._framed(buf)


@dataclass
class NewSessionTicket(Handshake):
    """The TLS 1.3 NewSessionTicket (RFC 8446, Section 4.6.1)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.new_session_ticket
    layout: ClassVar[Layout] = (
        Int("ticket_lifetime", 4, show="{} s"),
        Int("ticket_age_add", 4, show="0x{:08x}"),
        Opaque("ticket_nonce", 1),
        Opaque("ticket", 2, 1),
        Extensions(X.NST),
    )
    ticket_lifetime: int = 0
    ticket_age_add: int = 0
    ticket_nonce: bytes = b""
    ticket: bytes = b""
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> NewSessionTicket:
        """The layout's fields, read from the buffer in one go when they fit (a client reads one or
        two per connection), else by the layout's walk, whose read that fails names the field."""
        data, pos, end = r.view()
        nonce_at = pos + 8  # after ticket_lifetime and ticket_age_add
        if nonce_at < end:
            ticket_at = nonce_at + 1 + data[nonce_at]
            if ticket_at + 2 <= end:
                exts_at = ticket_at + 2 + ((data[ticket_at] << 8) | data[ticket_at + 1])
                if ticket_at + 2 < exts_at <= end:  # ticket<1..2^16-1>
                    lifetime, age_add = _TWO_U32_AT(data, pos)
                    nonce, ticket = data[nonce_at + 1 : ticket_at], data[ticket_at + 2 : exts_at]
                    if end - exts_at == 2 and data[exts_at] == 0 == data[exts_at + 1]:
                        r.skip(end - pos)  # the empty extensions block that ends most tickets
                        return cls(lifetime, age_add, nonce, ticket, ())
                    r.skip(exts_at - pos)
                    return cls(lifetime, age_add, nonce, ticket, X.read_extensions(r, X.NST))
        return super().parse(r)

    def encode(self) -> bytes:
        """The layout's bytes (RFC 8446, Section 4.6.1), written without its walk."""
        buf = bytearray(4)
        buf += self.ticket_lifetime.to_bytes(4, "big")
        buf += self.ticket_age_add.to_bytes(4, "big")
        put_vec(buf, 1, self.ticket_nonce)
        put_vec(buf, 2, self.ticket)
        put_extensions(buf, self.extensions)
        return self._framed(buf)


@dataclass
class EndOfEarlyData(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.end_of_early_data


def _request_update(value: int) -> str | None:  # RFC 8446, Section 4.6.3
    return f"KeyUpdate request_update {int(value)} is not 0 or 1" if value > 1 else None


@dataclass
class KeyUpdate(Handshake):
    msg_type: ClassVar[HandshakeType] = HandshakeType.key_update
    layout: ClassVar[Layout] = (Int("request_update", 1, KeyUpdateRequest, check=_request_update),)
    request_update: KeyUpdateRequest = KeyUpdateRequest.update_not_requested


@dataclass
class MessageHash(Handshake):
    """The synthetic message that replaces ClientHello1 after an HRR (RFC 8446, Section 4.4.1)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.message_hash
    layout: ClassVar[Layout] = (Raw("hash"),)
    digest: bytes = b""


Parser = Callable[[Reader], "Handshake"]

_TLS13_PARSERS: dict[HandshakeType, Parser] = {
    HandshakeType.client_hello: ClientHello.parse,
    HandshakeType.server_hello: ServerHello.parse,
    HandshakeType.encrypted_extensions: EncryptedExtensions.parse,
    HandshakeType.certificate_request: CertificateRequest.parse,
    HandshakeType.certificate: Certificate.parse,
    HandshakeType.compressed_certificate: CompressedCertificate.parse,
    HandshakeType.certificate_verify: CertificateVerify.parse,
    HandshakeType.finished: Finished.parse,
    HandshakeType.new_session_ticket: NewSessionTicket.parse,
    HandshakeType.end_of_early_data: EndOfEarlyData.parse,
    HandshakeType.key_update: KeyUpdate.parse,
}


_PARSE_FINISHED = _TLS13_PARSERS[HandshakeType.finished]  # (the very object the table gives)

# A handshake message's header (RFC 8446, Section 4): msg_type and the uint24 length, read as one uint32.
_HEADER_AT = struct.Struct(">I").unpack_from
_TWO_U32_AT = struct.Struct(">II").unpack_from  # a NewSessionTicket's ticket_lifetime and ticket_age_add
_HANDSHAKE_TYPES: Mapping[int, HandshakeType] = HandshakeType._value2member_map_  # type: ignore[assignment]  # typed Enum


def decode_message(raw: bytes, parsers: Mapping[HandshakeType, Parser] | None = None) -> Handshake:
    """Decode one complete handshake message (header included).

    The body must be consumed exactly; anything else is decode_error.
    """
    n = len(raw)
    if n < 4 or _HEADER_AT(raw, 0)[0] & 0xFFFFFF != n - 4:  # the uint24 length after msg_type
        raise DecodeError(f"handshake message header does not match its {n} bytes")
    msg_type = _HANDSHAKE_TYPES.get(raw[0])
    if msg_type is None:
        msg_type = member_of(HandshakeType, raw[0])
    parse = (parsers or _TLS13_PARSERS).get(msg_type)
    if parse is None:
        raise AlertError(AlertDescription.unexpected_message, f"unexpected handshake message type {msg_type.name}")
    if parse is _PARSE_FINISHED and type(raw) is bytes:
        # What Finished.parse reads (the rest of the message, so nothing is left over), without its
        # Reader: two a TLS 1.3 handshake, each four calls fewer.
        msg: Handshake = Finished(raw[4:])
    else:
        r = Reader(raw, msg_type._name_, 4)
        msg = parse(r)
        if r._pos != r._end:  # (finish() only to raise its error: a call fewer per message)
            r.finish()
    msg.raw = raw
    return msg


class MessageTooLarge(DecodeError):
    """A handshake header announcing more than the buffer's limit; ``msg_type`` is the header's
    type, so the connection can tell a message its state never reads (unexpected_message) from
    an oversized one of a type it does (decode_error)."""

    def __init__(self, msg_type: int, reason: str) -> None:
        super().__init__(reason)
        self.msg_type = msg_type


# The longest each fixed-size or small message can be, checked as soon as its header is in: a
# header claiming more is refused at once, not buffered until the rest (or the handshake deadline)
# arrives, as OpenSSL bounds each message type. The others are bounded by Limits.max_handshake_message.
_LONGEST: dict[int, tuple[int, str]] = {
    HandshakeType.hello_request: (0, "a HelloRequest is empty (RFC 5246, Section 7.4.1.1)"),
    HandshakeType.end_of_early_data: (0, "an EndOfEarlyData is empty (RFC 8446, Section 4.5)"),
    HandshakeType.server_hello_done: (0, "a ServerHelloDone is empty (RFC 5246, Section 7.4.5)"),
    HandshakeType.key_update: (1, "a KeyUpdate is one byte (RFC 8446, Section 4.6.3)"),
    HandshakeType.finished: (64, "a Finished holds one hash, at most 64 bytes (RFC 8446, Section 4.4.4)"),
    # A public value or an RSA-encrypted secret of a 16384-bit group or key, twice over (RFC 5246, 7.4.7).
    HandshakeType.client_key_exchange: (4096, "a ClientKeyExchange is at most 4096 bytes here"),
    # One signature (RSA of 16384 bits: 2048 bytes), as OpenSSL's bound of 2^14 (RFC 8446, Section 4.4.3).
    HandshakeType.certificate_verify: (1 << 14, "a CertificateVerify is at most 16384 bytes here"),
    # Every field at its longest (RFC 8446, Section 4.1.2; RFC 5246, 7.4.1.2): version 2, random 32,
    # session id 1 + 32, suites 2 + 65534, compression 1 + 255, extensions 2 + 65535. OpenSSL's
    # CLIENT_HELLO_MAX_LENGTH is the same. A server buffers no more than this before its handshake.
    HandshakeType.client_hello: (131_396, "a ClientHello is at most 131396 bytes, every field at its longest"),
    # Version 2, random 32, session id 1 + 32, suite 2, compression 1, extensions 2 + 65535 (RFC 8446, 4.1.3).
    HandshakeType.server_hello: (65_607, "a ServerHello is at most 65607 bytes, every field at its longest"),
    HandshakeType.encrypted_extensions: (65_537, "an EncryptedExtensions is at most 65537 bytes (RFC 8446, 4.3.1)"),
}


@functools.cache
def _longest_by_type(max_message: int) -> tuple[int, ...]:
    return tuple(min(_LONGEST[t][0], max_message) if t in _LONGEST else max_message for t in range(256))


class HandshakeBuffer:
    """Reassembles handshake messages that span or share records (RFC 8446, Section 5.1).

    A record's bytes are read in place while nothing is pending (a message that fills its record
    is handed on without a copy); a message split across records waits in a bytearray.
    """

    # Large enough for long certificate chains; bounded so a peer cannot make us buffer forever.
    MAX_MESSAGE = 1 << 18

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self._buf: bytes | bytearray = b""
        self._pos = 0  # start of the next message in _buf
        self.max_message = max_message
        # The longest message of each type (by its type byte): what pop() holds a header to, and
        # what the connection's one-message-record shortcut checks before taking a record.
        self.longest = _longest_by_type(max_message)

    def feed(self, fragment: bytes) -> None:
        buf = self._buf
        if self._pos >= len(buf) and type(fragment) is bytes:
            self._buf, self._pos = fragment, 0
        elif isinstance(buf, bytes):
            self._buf, self._pos = bytearray(buf[self._pos :]) + fragment, 0
        else:
            buf += fragment

    def pop(self) -> bytes | None:
        """The next complete message, or None if more bytes are needed."""
        buf, pos = self._buf, self._pos
        size = len(buf)
        if size - pos < 4:
            return None
        length = _HEADER_AT(buf, pos)[0] & 0xFFFFFF  # the uint24 length after msg_type
        if length > self.longest[buf[pos]]:
            raise self._too_large(buf[pos], length)
        end = pos + 4 + length
        if end == size and type(buf) is bytes:  # the buffer's last message (most often its only one)
            self._buf, self._pos = b"", 0
            return buf[pos:]  # (the buffer itself when it is the whole of it)
        if size < end:
            return None
        raw = buf[pos:end] if isinstance(buf, bytes) else bytes(buf[pos:end])
        if end == size:
            self._buf, self._pos = b"", 0
        elif isinstance(buf, bytes):
            self._pos = end
        else:
            del buf[:end]
            self._pos = 0
        return raw

    def _too_large(self, msg_type: int, length: int) -> MessageTooLarge:
        if length > self.max_message:
            return MessageTooLarge(
                msg_type,
                f"handshake message of {length} bytes exceeds the {self.max_message}-byte limit "
                "(limit Limits.max_handshake_message)",
            )
        name = HandshakeType(msg_type).name
        return MessageTooLarge(msg_type, f"{name} header claims {length} bytes: {_LONGEST[msg_type][1]}")

    def empty(self) -> bool:
        return self._pos >= len(self._buf)

    def pending_type(self) -> int | None:
        """The type of the incomplete message waiting for more bytes (its first byte), None if none."""
        return self._buf[self._pos] if self._pos < len(self._buf) else None
