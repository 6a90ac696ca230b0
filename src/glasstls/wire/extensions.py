"""Extensions (RFC 8446, Section 4.2; RFC 6066; RFC 7301; RFC 8449; RFC 8879).

An :class:`Extension` keeps the bytes it was received as (``data``) and, for
the types glasstls knows, a decoded ``value``. What a type's data looks like
depends on the message carrying it (``supported_versions`` is a list in a
ClientHello and one version in a ServerHello), so each codec is chosen by
(type, context). Unknown types and GREASE keep ``value=None`` and survive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from struct import Struct
from typing import Any, NoReturn

from ..enums import (
    AlertDescription,
    CertificateCompressionAlgorithm,
    CertificateStatusType,
    ExtensionType,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from ..errors import AlertError
from ..frozen import dict_init
from .codec import Reader, Writer, put_vec
from .layout import Custom, Int, Layout, Opaque, Raw, Spec, Vector, member_of

# Message contexts, named after RFC 8446's Section 4.2 table columns.
CH = "ClientHello"
SH = "ServerHello"
HRR = "HelloRetryRequest"
EE = "EncryptedExtensions"
CR = "CertificateRequest"
CT = "Certificate"
NST = "NewSessionTicket"


@dict_init
@dataclass(frozen=True)
class Extension:
    type: ExtensionType
    data: bytes
    value: Any = field(default=None, compare=False)
    # Not a field: the extension as it goes on the wire (type, length, data), made the first time it is
    # sent (put_extensions) and kept, as the extensions a configuration sends go in every hello alike.
    _wire = b""

    @classmethod
    def make(cls, ext_type: int, value: Any, context: str) -> Extension:
        """Build an extension to send from a decoded value (one of a scalar value made once, see _made)."""
        key = _made_key(context, ext_type, value) if type(value) in _KEYABLE else None
        if key is not None:
            made = _made.get(key)
            if made is not None:
                return made
        if type(ext_type) is not ExtensionType:
            ext_type = member_of(ExtensionType, ext_type)
        codec = (_BY_CONTEXT.get(context) or _codecs_in(context)).get(ext_type)
        if codec is None:
            if not isinstance(value, bytes):
                raise TypeError(f"no codec for {ext_type.name} in {context}; pass raw bytes")
            ext = Extension(ext_type, value, None)
        else:
            ext = Extension(ext_type, codec.encode(value), value)
        if key is not None:
            if len(_made) >= _KEPT_MAX:
                _made.clear()
            _made[key] = ext
        return ext


@dataclass(frozen=True, eq=False)
class Unreadable:
    """The value of a ClientHello extension only TLS 1.2 reads (TLS12_ONLY_IN_HELLO) whose body did not
    decode: kept, not raised at once, since a server that chooses TLS 1.3 ignores the extension (as
    OpenSSL does, and tlsfuzzer's test-tls13-large-number-of-extensions.py expects); one that chooses
    TLS 1.2 raises ``error`` then (hello.raise_unreadable)."""

    error: AlertError

    def __str__(self) -> str:
        return f"unreadable ({self.error.reason})"

    def _key(self) -> tuple[Any, ...]:
        return type(self.error), self.error.description, str(self.error)

    def __eq__(self, other: object) -> bool:  # (as the same failure: exceptions compare by identity)
        return isinstance(other, Unreadable) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dict_init
@dataclass(frozen=True)
class KeyShareEntry:
    group: NamedGroup
    key_exchange: bytes


@dict_init
@dataclass(frozen=True)
class PskIdentity:
    identity: bytes
    obfuscated_ticket_age: int


@dict_init
@dataclass(frozen=True)
class OfferedPsks:
    identities: tuple[PskIdentity, ...]
    binders: tuple[bytes, ...]

    def binders_length(self) -> int:
        """Bytes the binders list takes on the wire, length prefix included."""
        return 2 + sum(1 + len(b) for b in self.binders)


@dataclass(frozen=True)
class StatusRequest:
    """RFC 6066, Section 8 (CertificateStatusRequest)."""

    status_type: CertificateStatusType = CertificateStatusType.ocsp
    responder_ids: bytes = b""
    request_extensions: bytes = b""


@dataclass(frozen=True)
class _Codec:
    decode: Callable[[Reader], Any]
    encode: Callable[[Any], bytes]
    layout: Layout = ()  # for a one-field body: its layout, which the trace reads too
    # For the bodies that change in every handshake (key shares, offered PSKs): the value read
    # straight from the body's bytes when they are well formed, else _CAREFUL, and ``decode``
    # reads them field by field, the read that fails naming its field (see _decode).
    from_bytes: Callable[[bytes], Any] | None = None


_CAREFUL = object()  # from_bytes's answer for a body it leaves to the field-by-field reads


def _one(spec: Spec) -> _Codec:
    """A codec whose value is the one field ``spec`` describes."""

    def encode_one(value: Any) -> bytes:
        buf = bytearray()
        spec.put(buf, value)
        return bytes(buf)

    return _Codec(spec.read, encode_one, (spec,))


def _empty_decode(r: Reader) -> Any:
    return True


def _empty_encode(v: Any) -> bytes:
    return b""


def _decode_server_name(r: Reader) -> str:
    # RFC 6066, Section 3: a list, but only one name per type is allowed.
    names = r.sub(2, "server_name_list", 1)
    host = None
    while not names.at_end():
        name_type = names.u8("name_type")
        name = names.vec(2, "HostName", 1)
        if name_type == 0:
            if host is not None:
                raise AlertError(AlertDescription.illegal_parameter, "server_name lists two host names")
            host = name
    names.finish()
    if host is None:
        raise AlertError(AlertDescription.illegal_parameter, "server_name has no host_name entry")
    try:
        text = host.decode("ascii")
    except UnicodeDecodeError:
        raise AlertError(AlertDescription.illegal_parameter, "server_name is not ASCII") from None
    # A DNS host name (RFC 6066, Section 3; RFC 1035, Section 2.3.1) holds no control character or space.
    if not text.isprintable() or " " in text:
        raise AlertError(AlertDescription.illegal_parameter, "server_name holds a control character or a space")
    return text


def _encode_server_name(name: str) -> bytes:
    entry = Writer().u8(0).vec(2, name.encode("ascii")).getvalue()
    return Writer().vec(2, entry).getvalue()


def _decode_key_share_entry(r: Reader) -> KeyShareEntry:
    """A KeyShareEntry (RFC 8446, Section 4.2.8), field by field."""
    group = member_of(NamedGroup, r.u16("group"))
    return KeyShareEntry(group, r.vec(2, "key_exchange", 1))


def _key_share_entry_from(data: bytes) -> Any:
    """A ServerHello's key_share body, one KeyShareEntry filling it, read from its bytes; else _CAREFUL."""
    n = len(data)
    if n > 4 and ((data[2] << 8) | data[3]) == n - 4 and type(data) is bytes:  # key_exchange<1..2^16-1>
        return KeyShareEntry(member_of(NamedGroup, (data[0] << 8) | data[1]), data[4:])
    return _CAREFUL


def _put_key_share_entry(buf: bytearray, e: KeyShareEntry) -> None:
    buf += e.group.to_bytes(2, "big")
    put_vec(buf, 2, e.key_exchange)


def _encode_key_share_entry(e: KeyShareEntry) -> bytes:
    # One pack for the group and the length when both fit (each side sends one a handshake); else
    # field by field, which raises for what does not fit, as it always did.
    key, group = e.key_exchange, e.group
    if type(key) is bytes and len(key) <= 0xFFFF and isinstance(group, int) and 0 <= group <= 0xFFFF:
        return _TWO_U16(group, len(key)) + key
    return _encode_key_share_entry_by_field(e)


def _encode_key_share_entry_by_field(e: KeyShareEntry) -> bytes:
    buf = bytearray()
    _put_key_share_entry(buf, e)
    return bytes(buf)


def _decode_client_shares(r: Reader) -> tuple[KeyShareEntry, ...]:
    """A ClientHello's client_shares (RFC 8446, Section 4.2.8), field by field."""
    block = r.sub(2, "client_shares")
    shares = []
    while not block.at_end():
        shares.append(_decode_key_share_entry(block))
    return tuple(shares)


def _client_shares_from(data: bytes) -> Any:
    """A ClientHello's key_share body read from its bytes when each entry fits it; else _CAREFUL."""
    n = len(data)
    if n < 2 or ((data[0] << 8) | data[1]) != n - 2 or type(data) is not bytes:
        return _CAREFUL
    shares = []
    pos = 2
    while pos < n:
        start = pos + 4
        if start > n:
            return _CAREFUL
        stop = start + ((data[pos + 2] << 8) | data[pos + 3])
        if stop == start or stop > n:  # key_exchange<1..2^16-1>
            return _CAREFUL
        shares.append(KeyShareEntry(member_of(NamedGroup, (data[pos] << 8) | data[pos + 1]), data[start:stop]))
        pos = stop
    return tuple(shares)


def _encode_client_shares(shares: tuple[KeyShareEntry, ...]) -> bytes:
    if len(shares) == 1:  # one share, as a client sends most often: two packs, no buffer
        entry = _encode_key_share_entry(shares[0])
        if len(entry) <= 0xFFFF:
            return len(entry).to_bytes(2, "big") + entry
    return _encode_client_shares_by_field(shares)


def _encode_client_shares_by_field(shares: tuple[KeyShareEntry, ...]) -> bytes:
    body = bytearray()
    for share in shares:
        _put_key_share_entry(body, share)
    buf = bytearray()
    put_vec(buf, 2, body)
    return bytes(buf)


def _decode_offered_psks(r: Reader) -> OfferedPsks:
    """A ClientHello's OfferedPsks (RFC 8446, Section 4.2.11), field by field."""
    ids = r.sub(2, "identities", 7)
    identities = []
    while not ids.at_end():
        identity = ids.vec(2, "identity", 1)
        identities.append(PskIdentity(identity, ids.u32("obfuscated_ticket_age")))
    block = r.sub(2, "binders", 33)
    binders = []
    while not block.at_end():
        binders.append(block.vec(1, "PskBinderEntry", 32))
    if len(binders) != len(identities):
        raise AlertError(AlertDescription.illegal_parameter, "pre_shared_key: binder count != identity count")
    return OfferedPsks(tuple(identities), tuple(binders))


def _offered_psks_from(data: bytes) -> Any:
    """A ClientHello's pre_shared_key body read from its bytes when it is well formed; else _CAREFUL."""
    n = len(data)
    if n < 2 or type(data) is not bytes:
        return _CAREFUL
    ids_end = 2 + ((data[0] << 8) | data[1])
    if ids_end < 9 or ids_end + 2 > n:  # identities<7..2^16-1>, then the binders' length
        return _CAREFUL
    identities = []
    pos = 2
    while pos < ids_end:
        start = pos + 2
        if start > ids_end:
            return _CAREFUL
        stop = start + ((data[pos] << 8) | data[pos + 1])
        if stop == start or stop + 4 > ids_end:  # identity<1..2^16-1>, then a uint32
            return _CAREFUL
        identities.append(PskIdentity(data[start:stop], int.from_bytes(data[stop : stop + 4], "big")))
        pos = stop + 4
    pos = ids_end + 2
    if pos + ((data[ids_end] << 8) | data[ids_end + 1]) != n or n - pos < 33:  # binders<33..2^16-1>, filling it
        return _CAREFUL
    binders = []
    while pos < n:
        stop = pos + 1 + data[pos]
        if stop < pos + 33 or stop > n:  # PskBinderEntry<32..255>
            return _CAREFUL
        binders.append(data[pos + 1 : stop])
        pos = stop
    if len(binders) != len(identities):
        return _CAREFUL
    return OfferedPsks(tuple(identities), tuple(binders))


def _encode_offered_psks(p: OfferedPsks) -> bytes:
    if len(p.identities) == 1 and len(p.binders) == 1:  # one PSK, as glasstls offers
        one = _one_offered_psk(p.identities[0], p.binders[0])
        if one is not None:
            return one
    return _encode_offered_psks_by_field(p)


def _encode_offered_psks_by_field(p: OfferedPsks) -> bytes:
    ids = bytearray()
    for i in p.identities:
        put_vec(ids, 2, i.identity)
        ids += i.obfuscated_ticket_age.to_bytes(4, "big")
    binders = bytearray()
    for b in p.binders:
        put_vec(binders, 1, b)
    buf = bytearray()
    put_vec(buf, 2, ids)
    put_vec(buf, 2, binders)
    return bytes(buf)


def _one_offered_psk(psk: PskIdentity, binder: bytes) -> bytes | None:
    """An OfferedPsks of one identity and one binder, packed at once; None when a field does not fit
    its length or width (the field-by-field encoding raises for it)."""
    identity, age, n = psk.identity, psk.obfuscated_ticket_age, len(binder)
    size = len(identity)
    if type(identity) is not bytes or type(binder) is not bytes or type(age) is not int:
        return None
    if size + 6 > 0xFFFF or n > 0xFF or not 0 <= age <= 0xFFFFFFFF:
        return None
    # identities<7..2^16-1>: the identity and its age; binders<33..2^16-1>: the binder
    return _TWO_U16(size + 6, size) + identity + _AGE_AND_BINDERS(age, n + 1, n) + binder


def _decode_status_request(r: Reader) -> StatusRequest:
    status_type = CertificateStatusType(r.u8("status_type"))
    if status_type != CertificateStatusType.ocsp:
        return StatusRequest(status_type, r.raw(r.remaining()), b"")
    return StatusRequest(status_type, r.vec(2, "responder_id_list"), r.vec(2, "request_extensions"))


def _encode_status_request(s: StatusRequest) -> bytes:
    return Writer().u8(s.status_type).vec(2, s.responder_ids).vec(2, s.request_extensions).getvalue()


def _decode_ocsp_status(r: Reader) -> bytes:
    # RFC 8446, Section 4.4.2.1: CertificateStatus in a CertificateEntry.
    status_type = r.u8("status_type")
    if status_type != CertificateStatusType.ocsp:
        raise AlertError(AlertDescription.illegal_parameter, f"unknown certificate status type {status_type}")
    return r.vec(3, "OCSPResponse", 1)


def _record_size_limit(limit: int) -> str | None:  # RFC 8449, Section 4
    return f"record_size_limit {limit} is below 64" if limit < 64 else None


def _max_fragment_length(value: int) -> str | None:  # RFC 6066, Section 4
    if 1 <= value <= 4:
        return None
    return f"max_fragment_length {value} is none of the four values RFC 6066, Section 4 defines (1 to 4)"


def _decode_padding(r: Reader) -> int:
    pad = r.raw(r.remaining(), "padding")
    if pad.strip(b"\x00"):
        raise AlertError(AlertDescription.illegal_parameter, "padding extension holds non-zero bytes")
    return len(pad)


# RFC 8422, Section 5.1.2.
EC_POINT_FORMATS = {0: "uncompressed", 1: "ansiX962_compressed_prime", 2: "ansiX962_compressed_char2"}

E = ExtensionType
_EMPTY = _Codec(_empty_decode, _empty_encode)
_SIGNATURE_SCHEMES = _one(Vector("supported_signature_algorithms", 2, Int("SignatureScheme", 2, SignatureScheme), 2))
_VERSION = _one(Int("selected_version", 2, ProtocolVersion))
_CODECS: dict[tuple[ExtensionType, str], _Codec] = {
    (E.server_name, CH): _Codec(_decode_server_name, _encode_server_name),
    (E.server_name, "*"): _EMPTY,
    # RFC 6066, Section 4: read to refuse a value it does not define (glasstls negotiates none: a server MAY
    # ignore the request, and record_size_limit supersedes it, RFC 8449, Section 5).
    (E.max_fragment_length, CH): _one(Int("MaxFragmentLength", 1, check=_max_fragment_length)),
    (E.supported_groups, "*"): _one(Vector("named_group_list", 2, Int("NamedGroup", 2, NamedGroup), 2)),
    (E.signature_algorithms, "*"): _SIGNATURE_SCHEMES,
    (E.signature_algorithms_cert, "*"): _SIGNATURE_SCHEMES,
    (E.key_share, CH): _Codec(_decode_client_shares, _encode_client_shares, from_bytes=_client_shares_from),
    (E.key_share, SH): _Codec(_decode_key_share_entry, _encode_key_share_entry, from_bytes=_key_share_entry_from),
    (E.key_share, HRR): _one(Int("selected_group", 2, NamedGroup)),
    (E.supported_versions, CH): _one(Vector("versions", 1, Int("ProtocolVersion", 2, ProtocolVersion), 2)),
    (E.supported_versions, SH): _VERSION,
    (E.supported_versions, HRR): _VERSION,
    (E.psk_key_exchange_modes, "*"): _one(Vector("ke_modes", 1, Int("PskKeyExchangeMode", 1, PskKeyExchangeMode), 1)),
    (E.pre_shared_key, CH): _Codec(_decode_offered_psks, _encode_offered_psks, from_bytes=_offered_psks_from),
    (E.pre_shared_key, SH): _one(Int("selected_identity", 2)),
    (E.early_data, NST): _one(Int("max_early_data_size", 4, show="size")),
    (E.early_data, "*"): _EMPTY,
    (E.cookie, "*"): _one(Opaque("cookie", 2, 1)),
    (E.application_layer_protocol_negotiation, "*"): _one(
        Vector("protocol_name_list", 2, Opaque("ProtocolName", 1, 1, show="text"), 2)
    ),
    (E.status_request, CH): _Codec(_decode_status_request, _encode_status_request),
    (E.status_request, CT): _Codec(
        _decode_ocsp_status, lambda v: Writer().u8(CertificateStatusType.ocsp).vec(3, v).getvalue()
    ),
    (E.status_request, "*"): _EMPTY,
    (E.record_size_limit, "*"): _one(Int("RecordSizeLimit", 2, show="size", check=_record_size_limit)),
    (E.padding, "*"): _Codec(_decode_padding, lambda n: bytes(n)),
    (E.renegotiation_info, "*"): _one(Opaque("renegotiated_connection", 1)),
    (E.session_ticket, "*"): _one(Raw("ticket")),
    (E.extended_master_secret, "*"): _EMPTY,
    (E.encrypt_then_mac, "*"): _EMPTY,
    (E.post_handshake_auth, "*"): _EMPTY,
    (E.ec_point_formats, "*"): _one(
        Vector("ec_point_format_list", 1, Int("ECPointFormat", 1, show=EC_POINT_FORMATS), 1)
    ),
    (E.certificate_authorities, "*"): _one(Vector("authorities", 2, Opaque("DistinguishedName", 2, 1), 3)),
    # RFC 8879, Section 3: algorithms<2..2^8-2>, in a ClientHello or a CertificateRequest (which message may
    # carry it, and that TLS 1.2 ignores it, is the handshake's rule); an odd length is decode_error too.
    (E.compress_certificate, "*"): _one(
        Vector("algorithms", 1, Int("CertificateCompressionAlgorithm", 2, CertificateCompressionAlgorithm), 2)
    ),
}


# ClientHello extensions that TLS 1.3 does not use (RFC 8446, Section 4.2 lists them for no message),
# which a client offering both versions sends for TLS 1.2: a body of one that does not decode is an
# error only if the server chooses TLS 1.2 (Unreadable).
TLS12_ONLY_IN_HELLO = frozenset(
    (E.ec_point_formats, E.encrypt_then_mac, E.extended_master_secret, E.session_ticket, E.renegotiation_info)
)


# The codecs of each context, by extension type: the context's own, else the "*" one. Built once per
# context on first use, so reading an extension is one dict lookup (the hot paths look a built table
# up here first, without _codecs_in's call: a table is never empty, it holds the "*" codecs).
_BY_CONTEXT: dict[str, dict[int, _Codec]] = {}


def _codecs_in(context: str) -> dict[int, _Codec]:
    table = _BY_CONTEXT.get(context)
    if table is None:
        table = {t: c for (t, ctx), c in _CODECS.items() if ctx == "*"}
        table.update({t: c for (t, ctx), c in _CODECS.items() if ctx == context})
        _BY_CONTEXT[context] = table
    return table


def _codec(ext_type: ExtensionType, context: str) -> _Codec | None:
    return _codecs_in(context).get(ext_type)


def layout_of(ext_type: int, context: str) -> Layout:
    """The layout of a one-field extension body in ``context`` (empty: the body has a codec of its own)."""
    codec = _codec(ExtensionType(ext_type), context)
    return codec.layout if codec is not None else ()


def decode_extension(ext_type: ExtensionType, data: bytes, context: str) -> Any:
    codec = _codecs_in(context).get(ext_type)
    if codec is None:
        return None
    return _value_of(codec, ext_type, data, context)


def _value_of(codec: _Codec, ext_type: ExtensionType, data: bytes, context: str) -> Any:
    """The decoded body; for a hello's extension only TLS 1.2 reads, Unreadable where it does not decode."""
    try:
        return _decode(codec, ext_type, data, context)
    except AlertError as err:
        if context == CH and ext_type in TLS12_ONLY_IN_HELLO:
            return Unreadable(err)
        raise


def _decode(codec: _Codec, ext_type: ExtensionType, data: bytes, context: str) -> Any:
    from_bytes = codec.from_bytes
    if from_bytes is not None:  # (no Reader, name or finish() for a body that is well formed)
        value = from_bytes(data)
        if value is not _CAREFUL:
            return value
    r = Reader(data, f"{context} extension {ext_type._name_}")
    value = codec.decode(r)
    r.finish()
    return value


# Extensions whose decoded value is kept, by context and wire bytes (type, length and body): what a
# peer's configuration fixes (its groups, schemes, versions …) arrives byte for byte the same in every
# handshake, so each is decoded once. Values are immutable; only successful decodings are kept; types that carry
# per-connection data (key_share, pre_shared_key, cookie, tickets) are not, unless their body is
# four bytes or less (a selected PSK identity, a group, a ticket's max_early_data_size: few values).
# Bounded: bodies up to 256 bytes, and a context's table starts over when full.
_STABLE = frozenset(
    (
        E.server_name,
        E.supported_groups,
        E.signature_algorithms,
        E.signature_algorithms_cert,
        E.supported_versions,
        E.psk_key_exchange_modes,
        E.ec_point_formats,
        E.compress_certificate,
        E.application_layer_protocol_negotiation,
        E.status_request,
        E.record_size_limit,
    )
)
_KEPT_MAX = 512
# One table per message context: the key is the extension as it came (a slice of the block), which the
# loop takes before it has to split type, length and body, and what the extension is depends on the context.
_kept: dict[str, dict[bytes, Extension]] = {}

# Extensions made to send from a scalar value (a version, a group, a limit, an identity index, a host
# name, an empty body's True, a body of a few bytes) or a short tuple of ints or bytes, by (context,
# type, the value's type, value): a side sends the same few in every handshake. Other values (key
# shares, PSK offers, lists of enums) are encoded each time; the lists a configuration fixes are kept
# by the handshake (hello.py). Bounded as _kept is.
_SCALARS = frozenset((bool, int, str, ProtocolVersion, NamedGroup, PskKeyExchangeMode, SignatureScheme))
_made: dict[tuple[str, int, type, Any], Extension] = {}
_KEYABLE = _SCALARS | {bytes, tuple}  # the types _made_key may keep: others are not asked about
_PLAIN = (int, bytes)  # the types of the items of a tuple _made_key keeps


def _made_key(context: str, ext_type: int, value: Any) -> tuple[str, int, type, Any] | None:
    """The key of ``value`` in _made, None when it is not kept there. The value's type is part of it (True
    is not 1 to the trace, which shows the value), and a tuple's items must be plain ints or bytes."""
    kind = type(value)
    if kind in _SCALARS or (kind is bytes and len(value) <= 4):
        return (context, ext_type, kind, value)
    if kind is not tuple or (value and type(value[0]) not in _PLAIN):  # (a client's key shares: at once)
        return None
    if len(value) <= 4 and all(type(v) is int or type(v) is bytes for v in value):
        return (context, ext_type, kind, value)  # an ec_point_formats, an ALPN answer
    return None


def _kept_in(context: str) -> dict[bytes, Extension]:
    kept = _kept.get(context)
    if kept is None:
        kept = _kept[context] = {}
    return kept


# The known extension types by value (member_of without its call; an unknown type goes through it).
_EXTENSION_TYPES: dict[int, ExtensionType] = ExtensionType._value2member_map_  # type: ignore[assignment]  # typed Enum


def _extension(code: int, data: bytes, context: str, whole: bytes) -> Extension:
    """The Extension of ``code`` with body ``data``, decoded for ``context`` (and kept by ``whole``, its
    type, length and body, when stable)."""
    ext_type = _EXTENSION_TYPES.get(code)
    if ext_type is None:
        ext_type = member_of(ExtensionType, code)
    codec = (_BY_CONTEXT.get(context) or _codecs_in(context)).get(code)
    value = None if codec is None else _value_of(codec, ext_type, data, context)
    if type(value) is Unreadable:
        return Extension(ext_type, data, value)  # (not kept: only what decoded is)
    ext = Extension(ext_type, data, value)
    if (code in _STABLE and len(data) <= 256) or len(data) <= 4:
        kept = _kept_in(context)
        if len(kept) >= _KEPT_MAX:
            kept.clear()
        kept[whole] = ext
    return ext


def read_extensions(r: Reader, context: str, min_len: int = 0) -> tuple[Extension, ...]:
    """Parse an ``Extension extensions<min..2^16-1>`` block for ``context``.

    RFC 8446, Section 4.2: no type may appear twice in one block."""
    return read_indexed_extensions(r, context, min_len)[0]


def read_indexed_extensions(
    r: Reader, context: str, min_len: int = 0
) -> tuple[tuple[Extension, ...], dict[int, Extension]]:
    """:func:`read_extensions`, with the extensions by type too (a message's ``ext`` index).

    Each extension's type and length are read straight from the buffer (a hello carries a dozen),
    and one seen before in this context is looked up by its bytes; one that does not fit is read
    again field by field, which fails naming the field. A repeated type is found by the count of
    types at the end, or before anything else can fail, so that it is reported first, as when each
    extension was checked in turn: before a truncation, and before a new extension is decoded."""
    data, pos, end = r.block(2, "extensions", min_len)
    if pos == end:  # an empty block (a NewSessionTicket's most often): nothing to look up or count
        return (), {}
    kept = _kept.get(context) or _kept_in(context)
    runs = _runs.get(context)  # (not ``or``: a context whose blocks form no run keeps an empty table)
    if runs is None:
        runs = _runs_in(context)
    by_type: dict[int, Extension] = {}
    out: list[Extension] = []
    streak, streak_at = 0, pos  # the kept extensions met one by one since the last run or new one
    while pos < end:
        start = pos + 4
        if start > end:
            _truncated_extension(r.sub_at("extensions", pos, end), out, by_type, context)
        code, length = _TYPE_AND_LENGTH_AT(data, pos)  # one call, not four indexings and shifts
        stop = start + length
        if stop > end:
            _truncated_extension(r.sub_at("extensions", pos, end), out, by_type, context)
        whole = data[pos:stop]
        run = runs.get(whole)
        if run is not None and data.startswith(run[0], pos, end):
            if streak > 1:
                _keep_run(runs, data[streak_at:pos], out[-streak:])
            streak = 0
            by_type.update(run[2])
            out += run[1]
            pos += len(run[0])
            continue
        ext = kept.get(whole)
        if ext is None:
            if streak > 1:
                _keep_run(runs, data[streak_at:pos], out[-streak:])
            streak = 0
            if code in by_type or len(by_type) != len(out):
                _repeated(out, code, context)
            ext = _extension(code, data[start:stop], context, whole)
        else:
            if not streak:
                streak_at = pos
            streak += 1
        by_type[code] = ext
        out.append(ext)
        pos = stop
    if len(by_type) != len(out):
        _repeated(out, None, context)
    if streak > 1:
        _keep_run(runs, data[streak_at:pos], out[-streak:])
    return tuple(out), by_type


# Runs of kept extensions that came one after another, by the bytes of the first (one of _kept's
# keys): a peer's configuration sends its fixed extensions in the same order every time, between
# the few that change (a ClientHello's key_share and pre_shared_key), so a run is taken whole when
# the block holds its bytes, as the extensions one by one would have been. Each run is its bytes,
# its extensions, and its extensions by type. A run is kept once read one by one, when no type
# repeats within it (one that repeats an earlier type of its block is caught as a kept one is);
# bounded as _kept is, and at _RUN_MAX extensions.
_RUN_MAX = 32
_Run = tuple[bytes, tuple[Extension, ...], tuple[tuple[int, Extension], ...]]
_runs: dict[str, dict[bytes, _Run]] = {}


def _runs_in(context: str) -> dict[bytes, _Run]:
    runs = _runs.get(context)
    if runs is None:
        runs = _runs[context] = {}
    return runs


def _keep_run(runs: dict[bytes, _Run], wire: bytes, exts: list[Extension]) -> None:
    """Keep the run of ``exts``, whose bytes are ``wire``, when no type repeats in it."""
    pairs = tuple([(ext.type, ext) for ext in exts[:_RUN_MAX]])
    if len(pairs) != len(exts) or len(dict(pairs)) != len(pairs):
        return
    if len(runs) >= _KEPT_MAX:
        runs.clear()
    first = exts[0]
    runs[wire[: 4 + len(first.data)]] = (wire, tuple(exts), pairs)


def _repeated(read: list[Extension], code: int | None, context: str) -> NoReturn:
    """Raise for the first type in ``read`` (then ``code``, the extension read next) seen twice."""
    seen: set[int] = set()
    for ext_type in [e.type for e in read] if code is None else [*(e.type for e in read), code]:
        if ext_type in seen:
            name = member_of(ExtensionType, ext_type).name
            raise AlertError(AlertDescription.illegal_parameter, f"{context} repeats the {name} extension")
        seen.add(ext_type)
    raise AssertionError("no repeated extension type")  # pragma: no cover


def _truncated_extension(block: Reader, read: list[Extension], by_type: dict[int, Extension], context: str) -> NoReturn:
    """Read the extension at ``block``'s position field by field: the read that fails names its field
    (a type repeated before it is reported first)."""
    if len(by_type) != len(read):
        _repeated(read, None, context)
    ext_type = member_of(ExtensionType, block.u16("extension_type"))
    block.vec(2, f"{ext_type._name_} extension_data")
    raise AssertionError("the extensions loop and the field reads disagree")  # pragma: no cover


def write_extensions(w: Writer, extensions: tuple[Extension, ...] | list[Extension]) -> None:
    put_extensions(w._buf, extensions)


def put_extensions(buf: bytearray, extensions: tuple[Extension, ...] | list[Extension]) -> None:
    """Append an extensions block (its uint16 length, then each type, length and body)."""
    put_vec(buf, 2, b"".join([ext._wire or _wire_of(ext) for ext in extensions]))


def _wire_of(ext: Extension) -> bytes:
    """``ext``'s type, length and data, kept on it (see Extension._wire)."""
    data = ext.data
    if len(data) > 0xFFFF:
        raise ValueError(f"vector of {len(data)} bytes does not fit a 2-byte length")
    wire = _TYPE_AND_LENGTH(ext.type, len(data)) + data
    object.__setattr__(ext, "_wire", wire)
    return wire


# An Extension's extension_type and the length of its extension_data.
_TYPE_AND_LENGTH, _TYPE_AND_LENGTH_AT = Struct(">HH").pack, Struct(">HH").unpack_from
_TWO_U16 = _TYPE_AND_LENGTH  # also a KeyShareEntry's group and key length, an identities block's and identity's
# An OfferedPsks' obfuscated_ticket_age, its binders block's length and its one binder's.
_AGE_AND_BINDERS = Struct(">IHB").pack


@dataclass(frozen=True)
class Extensions(Custom):
    """A message's extensions block as a layout field; ``optional``: it may be absent at the end."""

    context: str
    min_len: int = 0
    optional: bool = False

    def read(self, r: Reader) -> tuple[Extension, ...]:
        if self.optional and r.at_end():  # RFC 5246, Section 7.4.1.2: a hello's extensions may be absent
            return ()
        return read_extensions(r, self.context, self.min_len)

    def write(self, w: Writer, value: tuple[Extension, ...]) -> None:
        put_extensions(w._buf, value)

    def put(self, buf: bytearray, value: tuple[Extension, ...]) -> None:
        put_extensions(buf, value)


def find(extensions: tuple[Extension, ...] | list[Extension], ext_type: int) -> Extension | None:
    for ext in extensions:
        if ext.type == ext_type:
            return ext
    return None
