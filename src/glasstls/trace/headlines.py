"""One line per message and per record: the headline a text trace, the JSON lines and
``glasstls dissect`` print for each, built from the fields :mod:`describe` reads."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from ..crypto.suites import TLS12_SUITES
from ..enums import (
    ContentType,
    ExtensionType,
    NamedGroup,
    SignatureScheme,
)
from ..observe import RecordTrace
from ..text import exception_text
from ..wire import handshake as H
from ..wire import handshake12 as H12
from ..wire.extensions import KeyShareEntry, OfferedPsks
from .describe import (
    Context,
    certificate_ders,
    certificate_info,
    certificate_request_fields,
    chosen_version,
    client_key_exchange_fields,
    compressed_certificate_summary,
    day,
    describe,
    enum_name,
    ext_value,
    extension_name,
    extension_value,
    extensions_by_type,
    hybrid_shares,
    names,
    nbytes,
    new_session_ticket_fields,
    plural,
    psk_modes,
    requested_authorities,
    server_key_exchange_fields,
    ticket_early_data,
    version_label,
)
from .dn import authorities_text
from .members import TLS13, Ext

# -- one-line summaries -------------------------------------------------------------------------


def _optional_parts(ext: Any, labelled: tuple[tuple[str, ExtensionType], ...]) -> list[str]:
    """ "label value" for each extension the message carries (``ext``: its ``ext`` method, or a table's ``get``)."""
    parts = []
    for label, ext_type in labelled:
        found = ext(ext_type)
        if found is not None:
            parts.append(f"{label} {extension_value(found)}")
    return parts


def _hybrid_parts(ext: Any) -> list[str]:
    shares = ext(Ext.key_share)
    if shares is None:
        return []
    return [f"{group} share = {parts}" for group, parts in hybrid_shares(shares.value)]


# (label, extension type) of the optional parts, made once.
_KEY_SHARES = (("key shares", Ext.key_share),)
_KEY_SHARE = (("key share", Ext.key_share),)
_ALPN = (("ALPN", Ext.application_layer_protocol_negotiation),)
_CLIENT_HELLO_OPTIONAL = (
    ("SNI", Ext.server_name),
    ("ALPN", Ext.application_layer_protocol_negotiation),
    ("certificate compression", Ext.compress_certificate),
    ("cookie", Ext.cookie),
)


def _client_hello_line(msg: Any, ctx: Context | None) -> list[str]:
    ext = extensions_by_type(msg.extensions).get
    versions_ext = ext(Ext.supported_versions)
    versions = (extension_value(versions_ext) if versions_ext is not None else None) or version_label(
        msg.legacy_version
    )
    parts = [f"versions {versions}", plural(len(msg.cipher_suites), "cipher suite")]
    parts += _optional_parts(ext, _KEY_SHARES)
    parts += _hybrid_parts(ext)
    parts += _optional_parts(ext, _CLIENT_HELLO_OPTIONAL)
    if msg.legacy_session_id:
        parts.append(f"session ID {nbytes(len(msg.legacy_session_id))}")
    ticket = ext(Ext.session_ticket)
    psk = ext(Ext.pre_shared_key)
    if psk is not None:
        offered = plural(len(psk.value.identities), "identity") if isinstance(psk.value, OfferedPsks) else "?"
        parts.append(f"offers a PSK ({offered}; modes {psk_modes(msg) or 'none'})")
    elif ticket is not None and ticket.data:
        parts.append("offers a ticket")
    if ext(Ext.early_data) is not None:
        parts.append("0-RTT early data follows")
    return [*parts, plural(len(msg.extensions), "extension")]


def _hello_retry_line(msg: Any, ctx: Context | None) -> list[str]:
    parts = [str(msg.cipher_suite)]
    group = ext_value(msg, Ext.key_share)
    if group is not None:
        parts.append(f"key share needed: {group}")
    cookie = ext_value(msg, Ext.cookie)
    if cookie is not None:
        parts.append(f"cookie {cookie} (to echo)")
    return parts


def _server_hello_line(msg: Any, ctx: Context | None) -> list[str]:
    ext = extensions_by_type(msg.extensions).get
    version = chosen_version(ext(Ext.supported_versions), msg.legacy_version)
    parts = [version_label(version), str(msg.cipher_suite)]
    parts += _optional_parts(ext, _KEY_SHARE)
    parts += _hybrid_parts(ext)
    selected = ext(Ext.pre_shared_key)
    if selected is not None:
        mode = "psk_dhe_ke" if ext(Ext.key_share) is not None else "psk_ke"
        parts.append(f"PSK accepted (identity {extension_value(selected).removeprefix('selected identity ')}, {mode})")
    if version != TLS13 and msg.legacy_session_id_echo:
        parts.append(f"session ID {msg.legacy_session_id_echo[:8].hex()}…")
    if ctx is not None and ctx.resumed and not ctx.tls13:
        parts.append("resumed")
    if ext(Ext.extended_master_secret) is not None:
        parts.append("extended master secret")
    suite = TLS12_SUITES.get(msg.cipher_suite) if version != TLS13 else None
    if suite is not None and not suite.aead:  # a CBC suite: the order of MAC and encryption (RFC 7366)
        parts.append("encrypt-then-MAC" if ext(ExtensionType.encrypt_then_mac) is not None else "MAC-then-encrypt")
    return parts + _optional_parts(ext, _ALPN)


def _encrypted_extensions_line(msg: Any, ctx: Context | None) -> list[str]:
    parts = [names([extension_name(e.type) for e in msg.extensions])]
    parts += _optional_parts(msg.ext, _ALPN)
    if msg.ext(Ext.early_data) is not None:
        parts.append("0-RTT early data accepted")
    return parts


def _certificate_line(msg: Any, ctx: Context | None) -> list[str]:
    ders = certificate_ders(msg)
    if not ders:
        return ["no certificate"]
    info = certificate_info(ders[0])
    if "error" in info:
        return [info["error"], f"chain of {len(ders)}"]
    parts = [
        info["subject"],
        f"issuer {info['issuer']}",
        f"valid {day(info['not_before'])} to {day(info['not_after'])}",
    ]
    if info["sans"]:
        parts.append(f"SAN {', '.join(info['sans'])}")
    if "extensions" in info:
        parts.append(f"extensions {info['extensions']}")
    return [*parts, info["key"], f"chain of {len(ders)}"]


def _server_key_exchange_line(msg: Any, ctx: Context | None) -> list[str]:
    fields = dict(server_key_exchange_fields(msg, ctx))
    if "key_exchange" not in fields:
        return [fields.get("body", "")]
    group = fields.get("named_curve") or fields.get("group")
    public = fields.get("public", fields.get("dh_Ys", "")).split(":")[0]
    return [f"{fields['key_exchange']} {group}", f"public {public}", f"signed {fields['signature_algorithm']}"]


def _client_key_exchange_line(msg: Any, ctx: Context | None) -> list[str]:
    fields = dict(client_key_exchange_fields(msg, ctx))
    length = fields.get("exchange_keys", fields.get("body", "")).split(":")[0]
    return [f"{fields['key_exchange']}, {length}"]


def _ticket_line(msg: Any, ctx: Context | None) -> list[str]:
    fields = dict(new_session_ticket_fields(msg, ctx))
    lifetime = fields.get("ticket_lifetime") or fields.get("ticket_lifetime_hint")
    parts = [f"lifetime {lifetime}", f"ticket {fields['ticket']}"]
    if isinstance(msg, H.NewSessionTicket):
        parts += [f"age_add {fields['ticket_age_add']}", f"nonce {fields['ticket_nonce']}"]
        early = ticket_early_data(msg)
        if early is not None:
            parts.append(f"0-RTT allowed: max_early_data_size {early}")
    return parts


def _certificate_verify_line(msg: Any, ctx: Context | None) -> list[str]:
    return [f"{enum_name(msg.algorithm, SignatureScheme)}, {nbytes(len(msg.signature))} signature"]


def _certificate_request_line(msg: Any, ctx: Context | None) -> list[str]:
    """What the server accepts: (TLS 1.2) the certificate types, the signature algorithms, the CAs."""
    fields = dict(certificate_request_fields(msg, ctx))
    parts = [f"certificate types {fields['certificate_types']}"] if "certificate_types" in fields else []
    if "signature_algorithms" in fields:
        parts.append(f"signature algorithms {fields['signature_algorithms']}")
    authorities = requested_authorities(msg)
    if authorities:
        parts.append(f"CAs {authorities_text(authorities)}")
    return parts


# Checked in order: HelloRetryRequest is a ServerHello subclass.
_HEADLINES: tuple[tuple[type | tuple[type, ...], Any], ...] = (
    (H.ClientHello, _client_hello_line),
    (H.HelloRetryRequest, _hello_retry_line),
    (H.ServerHello, _server_hello_line),
    (H.EncryptedExtensions, _encrypted_extensions_line),
    ((H.Certificate, H12.Certificate12), _certificate_line),
    (H.CompressedCertificate, compressed_certificate_summary),
    (H.CertificateVerify, _certificate_verify_line),
    (H.Finished, lambda m, c: [f"verify_data {nbytes(len(m.verify_data))}"]),
    (H12.ServerKeyExchange, _server_key_exchange_line),
    (H12.ClientKeyExchange, _client_key_exchange_line),
    ((H.NewSessionTicket, H12.NewSessionTicket12), _ticket_line),
    ((H.CertificateRequest, H12.CertificateRequest12), _certificate_request_line),
)


def _described_line(msg: Any, ctx: Context | None) -> list[str]:
    return [f"{label} {value}" for label, value in describe(msg, ctx)]


# The headline function of each message class met so far, found once through _HEADLINES.
_LINE_OF_CLASS: dict[type, Any] = {}


def _line_of(cls: type) -> Any:
    line = _LINE_OF_CLASS.get(cls)
    if line is None:
        line = next((line for kinds, line in _HEADLINES if issubclass(cls, kinds)), _described_line)
        if len(_LINE_OF_CLASS) < 256:  # message classes are few; a bound all the same
            _LINE_OF_CLASS[cls] = line
    return line


def _raw(msg: Any) -> bytes | None:
    raw = msg.raw
    return raw if type(raw) is bytes and 4 <= len(raw) <= 4096 else None  # (bounded: what a key holds)


# What the headline of a message of these classes reads: nothing but the message, and what comes
# back the same connection after connection. A server sends its EncryptedExtensions and certificate
# message byte for byte the same to every client (kept by their bytes, up to 4 KiB; a message built
# and not encoded has no bytes yet: read each time); a Finished line shows a length, a
# CertificateVerify line an algorithm and a length. Checked by exact class, as a subclass may show
# more. A change to one of these headlines changes what it reads here.
_HEADLINE_READS: dict[type, Callable[[Any], Hashable]] = {
    H.EncryptedExtensions: _raw,
    H.Certificate: _raw,
    H12.Certificate12: _raw,
    H.CompressedCertificate: _raw,
    H.Finished: lambda m: len(m.verify_data),
    # (the type too: the name of an algorithm given as a plain int is found through the enum)
    H.CertificateVerify: lambda m: (type(m.algorithm), m.algorithm, len(m.signature)),
}


def headline_key(msg: Any) -> Hashable | None:
    """What the headline of ``msg`` reads (with its class), when that is few fields that come back on
    every connection: the headline is the same for the same key. None for any other message."""
    reads = _HEADLINE_READS.get(type(msg))
    if reads is None:
        return None
    try:
        key = reads(msg)
        hash(key)
    except Exception:  # a field of a message built by hand that is missing or cannot be a key: read each time
        return None
    return None if key is None else (type(msg), key)


# -- the hellos' lines, by what they read -----------------------------------------------------------
#
# A hello's headline reads a few extensions, and a client's configuration (and so the server's view
# of it) fixes all of them but the key shares (and a PSK offer, a cookie, a ticket): the wire layer
# hands out the same decoded Extension object for the same bytes, and a client sends the objects
# Extension.make keeps (wire/extensions.py). So what a hello's line reads is, for those, which object
# it is (the key holds its id: whoever keeps the key must hold the objects too, so that no other
# object can take the id meanwhile), and for the others the few fields the line shows of them (a key
# share's group and length, a PSK offer's number of identities, a cookie's length, whether a ticket
# is offered). Only what these lines read, in the forms a parse or Extension.make gives; anything else
# (a hello built by hand with other forms) is not kept, and its line is built each time. A change to
# _client_hello_line or _server_hello_line changes what it reads here.


def _shares(value: Any) -> tuple[tuple[NamedGroup, int], ...] | None:
    """(group, length) of each share of a ClientHello's key_share value: what _share and hybrid_shares
    read of it (the group's name and parts, the length). None for a value in any other form."""
    if type(value) is not tuple:
        return None
    shares = []
    for entry in value:  # (a loop: a client sends one or two shares, a comprehension's frame costs more)
        if type(entry) is not KeyShareEntry or type(entry.group) is not NamedGroup:
            return None
        shares.append((entry.group, len(entry.key_exchange)))
    return tuple(shares)


# The extensions a ClientHello's line reads by identity (held), and the others it reads, by type: looked
# up in one go (map over the table's get) rather than one call each.
_CLIENT_HELLO_HELD = (
    Ext.supported_versions,
    Ext.server_name,
    Ext.application_layer_protocol_negotiation,
    Ext.compress_certificate,
    Ext.psk_key_exchange_modes,
)
_CLIENT_HELLO_OTHERS = (Ext.key_share, Ext.cookie, Ext.pre_shared_key, Ext.session_ticket, Ext.early_data)
_SERVER_HELLO_HELD = (Ext.supported_versions, Ext.pre_shared_key, Ext.application_layer_protocol_negotiation)


def _client_hello_reads(msg: Any, ctx: Context | None) -> tuple[Hashable, tuple[Any, ...]] | None:
    exts, version, sid = msg.extensions, msg.legacy_version, msg.legacy_session_id
    if type(exts) is not tuple or type(sid) is not bytes:
        return None
    get = extensions_by_type(exts).get  # (the table the Context made of this very hello: kept with it)
    ks, cookie, psk, ticket, early = map(get, _CLIENT_HELLO_OTHERS)
    shares = None
    if ks is not None and (shares := _shares(ks.value)) is None:
        return None
    if cookie is not None and type(cookie.value) is not bytes:  # (shown by its length)
        return None
    held = tuple(map(get, _CLIENT_HELLO_HELD))
    key = (
        version, type(version), len(msg.cipher_suites), len(sid), len(exts), *map(id, held), shares,
        None if psk is None else (len(psk.value.identities) if isinstance(psk.value, OfferedPsks) else -1),
        None if cookie is None else len(cookie.value),
        None if ticket is None else bool(ticket.data),
        early is None,
    )  # fmt: skip
    return key, held


def _server_hello_reads(msg: Any, ctx: Context | None) -> tuple[Hashable, tuple[Any, ...]] | None:
    exts, suite = msg.extensions, msg.cipher_suite
    if type(exts) is not tuple:
        return None
    get = extensions_by_type(exts).get
    held = tuple(map(get, _SERVER_HELLO_HELD))
    version = chosen_version(held[0], msg.legacy_version)
    if version != TLS13 and msg.legacy_session_id_echo:
        return None  # a TLS 1.2 line shows the session ID: a new one on every connection, not worth keeping
    share = None
    ks = get(Ext.key_share)
    if ks is not None:
        value = ks.value
        if type(value) is not KeyShareEntry or type(value.group) is not NamedGroup:
            return None
        share = (value.group, len(value.key_exchange))
    resumed = bool(ctx is not None and ctx.resumed and not ctx.tls13)
    ems = get(Ext.extended_master_secret)
    key = (version, type(version), suite, type(suite), *map(id, held), share, resumed, ems is None)
    return key, held


# By exact class: a subclass (HelloRetryRequest is a ServerHello) has a line of its own.
_HELLO_READS: dict[type, Callable[[Any, Context | None], tuple[Hashable, tuple[Any, ...]] | None]] = {
    H.ClientHello: _client_hello_reads,
    H.ServerHello: _server_hello_reads,
}


def hello_key(msg: Any, ctx: Context | None) -> tuple[Hashable, tuple[Any, ...]] | None:
    """What the headline of a ClientHello or ServerHello reads (after ``ctx`` learned from it), with its
    class: the headline is the same for the same key while the objects that come with it (the second
    item, named in the key by identity) are held. None for any other message, or one whose line is not
    kept (see above)."""
    reads = _HELLO_READS.get(type(msg))
    if reads is None:
        return None
    try:
        found = reads(msg, ctx)
    except Exception:  # a field of a hello built by hand that is missing or of another form: read each time
        return None
    return None if found is None else ((type(msg), found[0]), found[1])


# Headlines by their headline_key. Bounded: started over when full.
_KEPT: dict[Hashable, str] = {}
_KEPT_MAX = 64


def headline(msg: Any, ctx: Context | None = None) -> str:
    """The few fields of ``msg`` a one-line trace shows (like ``curl -v``)."""
    key = headline_key(msg)
    if key is None:
        return _headline(msg, ctx)
    text = _KEPT.get(key)
    if text is None:
        text = _headline(msg, ctx)
        if len(_KEPT) >= _KEPT_MAX:
            _KEPT.clear()
        _KEPT[key] = text
    return text


def _headline(msg: Any, ctx: Context | None) -> str:
    try:
        line = _LINE_OF_CLASS.get(type(msg)) or _line_of(type(msg))
        parts = line(msg, ctx)
    except Exception as exc:  # as describe: the headline of a malformed message says so and the trace goes on
        parts = [f"undecodable: {exception_text(exc)}"]
    return "; ".join(filter(None, parts))  # the parts that say something


# -- records and alerts ---------------------------------------------------------------------------


def record_version(event: RecordTrace) -> str:
    header = event.header
    return version_label(header[1] << 8 | header[2]) if len(header) >= 3 else "?"


# The names of the content types glasstls names, by code point: the common case without the enum's name property.
_CONTENT_TYPE_NAMES = {int(t): t.name for t in ContentType}


def _content_type_name(value: Any) -> str:
    if type(value) is ContentType or type(value) is int:
        name = _CONTENT_TYPE_NAMES.get(value)
        if name is not None:
            return name
    return enum_name(value, ContentType)


# Record lines made so far, by what they say: a handshake's records come in the same few sizes on
# every connection. Bounded: started over when full.
_RECORD_LINES: dict[tuple[Any, ...], str] = {}
_RECORD_LINES_MAX = 1024


def record_headline(event: RecordTrace) -> str:
    if type(event.header) is not bytes:  # (a header that is not bytes may not be hashable: not kept)
        return _record_headline(event)
    # All that the line reads.
    key = (event.content_type, event.header, len(event.payload), event.inner_type, len(event.plaintext or b""))
    text = _RECORD_LINES.get(key)
    if text is None:
        text = _record_headline(event)
        if len(_RECORD_LINES) >= _RECORD_LINES_MAX:
            _RECORD_LINES.clear()
        _RECORD_LINES[key] = text
    return text


def _record_headline(event: RecordTrace) -> str:
    text = f"{_content_type_name(event.content_type)}, {record_version(event)}, {nbytes(len(event.payload))}"
    if event.inner_type is not None:
        text += f" [protected: {_content_type_name(event.inner_type)}, {nbytes(len(event.plaintext or b''))}]"
    elif event.content_type == ContentType.change_cipher_spec:
        text += " [ChangeCipherSpec]"
    return text
