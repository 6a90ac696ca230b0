"""What each message says, as (label, value) pairs a person can read.

Every renderer (text, JSON lines, the explanation) asks this module which
fields of a message matter: versions, randoms, session IDs, the cipher suites
offered and chosen, groups and key shares, signature algorithms, extensions
by name (``GREASE_0x0a0a`` and ``unknown_0x1234`` for the ones glasstls has no
name for, with their bytes in hex), certificates (subject, issuer, validity,
subjectAltName), tickets, the TLS 1.2 key exchange messages and alerts.

What a TLS 1.2 ServerKeyExchange or ClientKeyExchange holds depends on the
cipher suite the ServerHello chose, so the functions take a :class:`Context`
that follows one side's handshake (``context.update(event)`` for each trace
event, in order). Without one the key exchange is guessed from the bytes.

The small words (byte counts, hex, lists, code point and version names) come
from :mod:`words`, and are imported from here as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..crypto.suites import TLS12_SUITES
from ..enums import (
    AlertDescription,
    AlertLevel,
    CertificateCompressionAlgorithm,
    CipherSuite,
    ClientCertificateType,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from ..errors import TLSError
from ..observe import MessageTrace, TraceEvent
from ..text import exception_text, printable
from ..wire import handshake as H
from ..wire import handshake12 as H12
from ..wire.extensions import EC_POINT_FORMATS, KeyShareEntry, OfferedPsks, StatusRequest, Unreadable
from ..wire.handshake import DOWNGRADE_TLS11, DOWNGRADE_TLS12
from . import certificates, hybrid
from .certificates import certificate_ders as certificate_ders
from .certificates import certificate_fields as certificate_fields
from .certificates import certificate_info as certificate_info
from .certificates import inflated_certificate as inflated_certificate
from .certificates import key_description as key_description
from .members import TLS13, Ext
from .words import HEX_LIMIT as HEX_LIMIT
from .words import enum_name as enum_name
from .words import hexs as hexs
from .words import names as names
from .words import nbytes as nbytes
from .words import plural as plural
from .words import version_label as version_label

Fields = list[tuple[str, str]]


def message_name(msg: Any) -> str:
    """The RFC's name of a message: TLS 1.2's ``Certificate12`` is a Certificate."""
    name = _MESSAGE_NAMES.get(type(msg))
    if name is None:
        name = type(msg).__name__
        name = name[:-2] if name.endswith("12") else name
        if len(_MESSAGE_NAMES) < 256:  # message classes are few; a bound all the same
            _MESSAGE_NAMES[type(msg)] = name
    return name


_MESSAGE_NAMES: dict[type, str] = {}  # by message class, as message_name makes them


def handshake_type(msg: Any) -> HandshakeType:
    return HandshakeType(msg.raw[0]) if msg.raw else msg.msg_type


def handshake_code(msg: Any) -> int:
    """``int(handshake_type(msg))`` without building the enum: the type byte as sent."""
    raw = msg.raw
    return raw[0] if raw else int(msg.msg_type)


def alert_text(level: AlertLevel | int, description: AlertDescription | int) -> str:
    return f"{enum_name(level, AlertLevel)} {enum_name(description, AlertDescription)} ({int(description)})"


# -- following a handshake -----------------------------------------------------------------------


@dataclass
class Context:
    """What one side's handshake has settled so far, as the trace shows it."""

    side: str = "?"
    version: ProtocolVersion | None = None
    suite: CipherSuite | None = None
    client_random: bytes = b""
    server_random: bytes = b""
    offered_session_id: bytes = b""
    session_id: bytes = b""
    offered_ticket: bool = False  # the ClientHello carried a non-empty session_ticket
    server_name: str | None = None
    hello_retry: bool = False
    retry_group: str | None = None  # the group a HelloRetryRequest asked for
    offered_suites: tuple[CipherSuite, ...] = ()
    offered_tls13: bool = False  # the ClientHello's supported_versions lists TLS 1.3
    offered_psk: bool = False  # TLS 1.3: the (last) ClientHello carried pre_shared_key
    early_data: str | None = None  # TLS 1.3 0-RTT: "offered", "accepted" or "rejected"
    resumed: bool = False
    psk: bool = False  # TLS 1.3: the ServerHello accepted a pre-shared key
    extended_master_secret: bool = False
    group: str | None = None
    certificate_names: tuple[str, ...] = ()  # the server certificate's subjectAltNames
    messages: list[str] = field(default_factory=list)  # "> ClientHello", "< ServerHello", ...
    handshake_done: bool = False

    @property
    def kx(self) -> str | None:
        """TLS 1.2: "ECDHE", "DHE" or "RSA"; TLS 1.3: "(EC)DHE" or "PSK"; None while unknown."""
        if self.suite is None:
            return None
        if self.version == TLS13:
            return "PSK" if self.psk and self.group is None else "(EC)DHE"
        suite = TLS12_SUITES.get(self.suite)
        return suite.kx if suite is not None else None

    @property
    def tls13(self) -> bool:
        return self.version == TLS13

    def update(self, event: TraceEvent) -> None:
        # Only a message or a state change teaches the context anything (TextTrace, which keeps one
        # context per side, calls this for those alone).
        if isinstance(event, MessageTrace):
            self.learn(event.side, event.direction, event.message)
            return
        self.side = event.side
        if event.kind == "state" and "Connected" in getattr(event, "new", ""):
            self.handshake_done = True

    def learn(self, side: str, direction: str, msg: Any) -> None:
        """What one message, sent (``direction`` "out") or received by ``side``, settles: as update()
        with its MessageTrace, from the fields (TextTrace's own lines build no event)."""
        self.side = side
        # A message a peer malformed teaches the context nothing; the trace goes on. (A try
        # rather than contextlib.suppress: this runs for every message, a context manager costs.
        # What is learned is looked up here, inline, rather than in a method of its own: the
        # frame cost a tenth of this, for every message of every traced connection.)
        try:
            name = _MESSAGE_NAMES.get(type(msg)) or message_name(msg)
            self.messages.append(("> " if direction == "out" else "< ") + name)
            learn = _LEARNER_OF_CLASS.get(type(msg), _UNSEEN)
            if learn is _UNSEEN:
                learn = _learner_of(type(msg))
            if learn is not None:
                learn(self, msg, direction)
        except Exception:
            return

    def _on_client_hello(self, msg: Any, direction: str) -> None:
        ext = extensions_by_type(msg.extensions).get
        self.client_random = msg.random
        self.offered_session_id = msg.legacy_session_id
        sni = ext(Ext.server_name)
        self.server_name = sni.value if sni is not None and isinstance(sni.value, str) else self.server_name
        ticket = ext(Ext.session_ticket)
        self.offered_ticket = ticket is not None and bool(ticket.data)
        self.offered_suites = tuple(msg.cipher_suites)
        versions = ext(Ext.supported_versions)
        listed = versions.value if versions is not None and isinstance(versions.value, tuple) else ()
        self.offered_tls13 = TLS13 in listed
        self.offered_psk = ext(Ext.pre_shared_key) is not None
        if ext(Ext.early_data) is not None and not self.hello_retry:
            self.early_data = "offered"

    def _on_hello_retry(self, msg: Any, direction: str) -> None:
        self.hello_retry = True
        self.version = TLS13
        self.suite = msg.cipher_suite
        group = msg.ext(Ext.key_share)
        self.retry_group = enum_name(group.value, NamedGroup) if group is not None else None
        if self.early_data == "offered":  # RFC 8446, Section 4.2.10: an HRR rejects 0-RTT
            self.early_data = "rejected"

    def _on_encrypted_extensions(self, msg: Any, direction: str) -> None:
        if msg.ext(Ext.early_data) is not None:
            self.early_data = "accepted"
        elif self.early_data == "offered":
            self.early_data = "rejected"

    def _on_server_hello(self, msg: Any, direction: str) -> None:
        self.server_random = msg.random
        self.suite = msg.cipher_suite
        self.session_id = msg.legacy_session_id_echo
        ext = extensions_by_type(msg.extensions).get
        self.version = chosen_version(ext(Ext.supported_versions), msg.legacy_version)
        share = ext(Ext.key_share)
        if share is not None and isinstance(share.value, KeyShareEntry):
            self.group = enum_name(share.value.group, NamedGroup)
        if self.version == TLS13:
            self.psk = ext(Ext.pre_shared_key) is not None
            self.resumed = self.psk
        else:
            self.extended_master_secret = ext(Ext.extended_master_secret) is not None
            # RFC 5246, Section 7.4.1.3 (and RFC 5077, Section 3.4): echoing the
            # client's session ID accepts the session it named.
            self.resumed = bool(self.session_id) and self.session_id == self.offered_session_id

    def _on_server_key_exchange(self, msg: Any, direction: str) -> None:
        params = server_key_exchange_params(msg, self)
        if isinstance(params, H12.ServerECDHParams):
            self.group = enum_name(params.group, NamedGroup)
        elif isinstance(params, H12.ServerDHParams):
            self.group = _dh_group_name(params)

    def _on_certificate(self, msg: Any, direction: str) -> None:
        if not _is_from_server(self.side, msg, direction):
            return
        if isinstance(msg, H.CompressedCertificate):
            names = certificates.compressed_certificate_names(msg)
        else:
            names = certificates.certificate_names(msg)
        if names is not None:
            self.certificate_names = names

    def _on_full_handshake12(self, msg: Any, direction: str) -> None:
        self.resumed = False  # a full TLS 1.2 handshake after all


# What a message of each class teaches the context, checked in order (HelloRetryRequest is a
# ServerHello subclass); the method found for a class is kept in _LEARNER_OF_CLASS.
_LEARNERS: tuple[tuple[type | tuple[type, ...], Any], ...] = (
    (H.ClientHello, Context._on_client_hello),
    (H.HelloRetryRequest, Context._on_hello_retry),
    (H.EncryptedExtensions, Context._on_encrypted_extensions),
    (H.ServerHello, Context._on_server_hello),
    (H12.ServerKeyExchange, Context._on_server_key_exchange),
    ((H.Certificate, H12.Certificate12, H.CompressedCertificate), Context._on_certificate),
    ((H12.ClientKeyExchange, H12.ServerHelloDone), Context._on_full_handshake12),
)
_LEARNER_OF_CLASS: dict[type, Any] = {}
_UNSEEN = object()  # a class _LEARNER_OF_CLASS has no entry for yet (None: one that teaches nothing)


def _learner_of(cls: type) -> Any:
    if cls in _LEARNER_OF_CLASS:
        return _LEARNER_OF_CLASS[cls]
    learn = next((learn for kinds, learn in _LEARNERS if issubclass(cls, kinds)), None)
    if len(_LEARNER_OF_CLASS) < 256:  # message classes are few; a bound all the same
        _LEARNER_OF_CLASS[cls] = learn
    return learn


def extensions_by_type(extensions: tuple[Any, ...]) -> dict[int, Any]:
    """Each type's first extension, as ``msg.ext`` finds it, for a message whose extensions are looked
    up many times (a ClientHello's dozen, ten times for its headline). The last table made is kept
    with its tuple: the Context and the headline of one message ask in turn. Do not change it."""
    last = _LAST_BY_TYPE[0]
    if last is not None and last[0] is extensions:
        return last[1]
    found: dict[int, Any] = {}
    for ext in extensions:
        found.setdefault(ext.type, ext)
    if type(extensions) is tuple:  # (immutable: a list could change under the same identity)
        _LAST_BY_TYPE[0] = (extensions, found)  # held with it: its id cannot be reused meanwhile
    return found


_LAST_BY_TYPE: list[tuple[tuple[Any, ...], dict[int, Any]] | None] = [None]


def _is_from_server(side: str, msg: Any, direction: str) -> bool:
    return (side == "server") == (direction == "out")


def server_hello_version(msg: H.ServerHello) -> ProtocolVersion:
    """RFC 8446, Section 4.2.1: supported_versions, if present, names the version."""
    return chosen_version(msg.ext(Ext.supported_versions), msg.legacy_version)


def chosen_version(supported_versions: Any, legacy_version: ProtocolVersion) -> ProtocolVersion:
    """The version a ServerHello chose, from its supported_versions extension (or None) and legacy_version."""
    ext = supported_versions
    if ext is not None and isinstance(ext.value, int) and 0 <= ext.value <= 0xFFFF:  # a message built wrong: ignore
        member = _VERSION_MEMBERS.get(ext.value)  # the member itself, without the enum's call
        return member if member is not None else ProtocolVersion(ext.value)
    return legacy_version


_VERSION_MEMBERS = {int(v): v for v in ProtocolVersion}


# -- extensions ------------------------------------------------------------------------------


def extension_name(ext_type: int) -> str:
    """The IANA name, or ``GREASE_0x0a0a`` / ``unknown_0x1234``."""
    return enum_name(ext_type, ExtensionType)


def _share(entry: KeyShareEntry) -> str:
    return f"{enum_name(entry.group, NamedGroup)} ({nbytes(len(entry.key_exchange))})"


def hybrid_shares(value: Any) -> Fields:
    """(group, its parts) for each hybrid post-quantum share of a key_share extension's value
    (draft-ietf-tls-ecdhe-mlkem, Sections 4.1 and 4.2): a tuple is the client's shares, one entry
    the server's. A share of the wrong length says so instead."""
    entries, role = (value, "client") if isinstance(value, tuple) else ((value,), "server")
    out: Fields = []
    for entry in entries:
        # (summary says None for a group that is no hybrid: asked only of the hybrid ones)
        if isinstance(entry, KeyShareEntry) and isinstance(entry.group, int) and entry.group in hybrid.HYBRIDS:
            parts = hybrid.summary(entry.group, entry.key_exchange, role)
            if parts is not None:
                out.append((enum_name(entry.group, NamedGroup), parts))
    return out


def ticket_early_data(msg: Any) -> str | None:
    """A TLS 1.3 NewSessionTicket's max_early_data_size ("16384 bytes"), or None without early_data."""
    ext = next((e for e in getattr(msg, "extensions", ()) if e.type == ExtensionType.early_data), None)
    if ext is None:
        return None
    return nbytes(ext.value) if isinstance(ext.value, int) and ext.value is not True else "(undecodable)"


def psk_modes(msg: Any) -> str | None:
    """The psk_key_exchange_modes a message lists, by name, or None without that extension."""
    ext = msg.ext(Ext.psk_key_exchange_modes) if hasattr(msg, "ext") else None
    if ext is None:
        return None
    return names([enum_name(m, PskKeyExchangeMode) for m in ext.value]) if isinstance(ext.value, tuple) else "?"


def extension_value(ext: Any) -> str:
    """What one extension says, in a few words; "undecodable: why" for one that cannot be described."""
    kept = _KEPT_VALUES.get(id(ext))
    if kept is not None and kept[0] is ext:
        return kept[1]
    try:
        text = _extension_value(ext)
    except Exception as exc:  # a describer never raises on what a peer sent
        return f"undecodable: {exception_text(exc)}"
    if getattr(ext, "type", None) in _KEPT_TYPES:
        if len(_KEPT_VALUES) >= _KEPT_MAX:
            _KEPT_VALUES.clear()
        _KEPT_VALUES[id(ext)] = (ext, text)
    return text


# The text of an extension whose object comes back connection after connection: the wire layer keeps
# the decoded Extension of what a peer's configuration fixes, and a configuration its own. Kept by
# the object's identity with the object itself (so the id cannot be reused while kept; an Extension
# is frozen), for the types whose content a configuration fixes; bounded, started over when full.
_KEPT_TYPES = frozenset(
    (
        ExtensionType.server_name,
        ExtensionType.supported_groups,
        ExtensionType.signature_algorithms,
        ExtensionType.signature_algorithms_cert,
        ExtensionType.supported_versions,
        ExtensionType.psk_key_exchange_modes,
        ExtensionType.ec_point_formats,
        ExtensionType.compress_certificate,
        ExtensionType.application_layer_protocol_negotiation,
        ExtensionType.status_request,
        ExtensionType.record_size_limit,
    )
)
_KEPT_MAX = 512
_KEPT_VALUES: dict[int, tuple[Any, str]] = {}


def _extension_value(ext: Any) -> str:
    value = ext.value
    if type(value) is Unreadable:  # (a hello's TLS 1.2-only extension: ignored unless TLS 1.2 is chosen)
        return f"{value}, {nbytes(len(ext.data))}: {hexs(ext.data)}" if ext.data else f"{value}, (empty)"
    if value is None:
        return f"{nbytes(len(ext.data))}: {hexs(ext.data)}" if ext.data else "(empty)"
    describe_value = _VALUE_DESCRIBERS.get(ext.type)
    if describe_value is not None:
        text = describe_value(value)
        if text is not None:
            return text
    if value is True:
        return "(empty)"
    if isinstance(value, tuple):
        return names([printable(str(v)) for v in value])
    if isinstance(value, bytes):
        return hexs(value)
    return printable(str(value))


def _versions_value(value: Any) -> str:
    return names([version_label(v) for v in value]) if isinstance(value, tuple) else version_label(value)


def _key_share_value(value: Any) -> str:
    if isinstance(value, tuple):
        return names([_share(e) for e in value])
    if isinstance(value, KeyShareEntry):
        return _share(value)
    return f"selected group {enum_name(value, NamedGroup)}"  # HelloRetryRequest


def _psk_value(value: Any) -> str:
    if isinstance(value, OfferedPsks):
        ids = ", ".join(
            f"{nbytes(len(i.identity))}, obfuscated age 0x{i.obfuscated_ticket_age:08x}" for i in value.identities
        )
        binders = ", ".join(nbytes(len(b)) for b in value.binders)
        return f"{plural(len(value.identities), 'identity')} ({ids}); binders ({binders})"
    return f"selected identity {value}"


def _status_request_value(value: Any) -> str | None:
    if isinstance(value, StatusRequest):
        return f"{enum_name(value.status_type)} stapling requested"
    if isinstance(value, bytes):
        return f"OCSP response, {nbytes(len(value))}"
    return None


# What the value of each extension type says; None sends it to the general forms of _extension_value.
# A table rather than a chain of comparisons: a ClientHello's dozen extensions are each described.
_VALUE_DESCRIBERS: dict[int, Callable[[Any], str | None]] = {
    ExtensionType.supported_versions: _versions_value,
    ExtensionType.key_share: _key_share_value,
    # the peer's bytes: a name may hold anything
    ExtensionType.application_layer_protocol_negotiation: lambda v: names([printable(p) for p in v]),
    ExtensionType.server_name: lambda v: printable(v) if isinstance(v, str) else None,
    ExtensionType.pre_shared_key: _psk_value,
    ExtensionType.ec_point_formats: lambda v: names([EC_POINT_FORMATS.get(p, f"unknown_{p}") for p in v]),
    ExtensionType.padding: lambda v: f"{v} zero bytes",
    ExtensionType.session_ticket: lambda v: f"ticket of {nbytes(len(v))}" if v else "(empty: a ticket is welcome)",
    ExtensionType.renegotiation_info: lambda v: hexs(v) if v else "(empty: initial handshake)",
    ExtensionType.cookie: lambda v: nbytes(len(v)),
    ExtensionType.early_data: lambda v: f"max_early_data_size {v}" if isinstance(v, int) and v is not True else None,
    ExtensionType.status_request: _status_request_value,
    ExtensionType.certificate_authorities: lambda v: f"{len(v)} distinguished name(s)",
}


def extension_fields(extensions: tuple[Any, ...]) -> Fields:
    if not extensions:
        return [("extensions", "(none)")]
    out: Fields = [("extensions", f"{len(extensions)}: {names([extension_name(e.type) for e in extensions])}")]
    for ext in extensions:
        out.append((extension_name(ext.type), extension_value(ext)))
        if ext.type == ExtensionType.key_share:  # a hybrid share, in its parts
            out += [(f"key_share {group}", parts) for group, parts in hybrid_shares(ext.value)]
    return out


# -- messages -----------------------------------------------------------------------------------


def _session_id(sid: bytes) -> str:
    return f"{nbytes(len(sid))}: {sid.hex()}" if sid else "(empty)"


def _random(random: bytes) -> str:
    text = random.hex()
    if random == H.HRR_RANDOM:
        return f"{text} (the HelloRetryRequest value)"
    if random[-8:] == DOWNGRADE_TLS12:
        return f"{text} (ends in DOWNGRD\\x01: a TLS 1.3 server negotiating TLS 1.2)"
    if random[-8:] == DOWNGRADE_TLS11:
        return f"{text} (ends in DOWNGRD\\x00: a TLS 1.3 server negotiating TLS 1.1 or below)"
    return text


def _client_hello(msg: H.ClientHello, ctx: Context | None) -> Fields:
    return [
        ("legacy_version", f"{version_label(msg.legacy_version)} (0x{msg.legacy_version:04x})"),
        ("random", _random(msg.random)),
        ("session_id", _session_id(msg.legacy_session_id)),
        ("cipher_suites", f"{len(msg.cipher_suites)}: {names(msg.cipher_suites)}"),
        ("compression_methods", names(["null" if m == 0 else str(m) for m in msg.compression_methods])),
        *extension_fields(msg.extensions),
    ]


def _server_hello(msg: H.ServerHello, ctx: Context | None) -> Fields:
    out = [
        ("legacy_version", f"{version_label(msg.legacy_version)} (0x{msg.legacy_version:04x})"),
        ("version", version_label(server_hello_version(msg))),
        ("random", _random(msg.random)),
        ("session_id", _session_id(msg.legacy_session_id_echo)),
        ("cipher_suite", str(msg.cipher_suite)),
        ("compression_method", "null" if msg.compression_method == 0 else str(msg.compression_method)),
        *extension_fields(msg.extensions),
    ]
    return out


# Certificates of one message described field by field: a real chain has a handful, and a message of
# thousands (a capture, a hostile peer; each one parsed to be described) would bury the trace.
LISTED_CERTIFICATES = 16


def _certificate(msg: Any, ctx: Context | None) -> Fields:
    ders = certificate_ders(msg)
    out: Fields = []
    if isinstance(msg, H.Certificate):
        ctx_bytes = msg.certificate_request_context
        out.append(("certificate_request_context", hexs(ctx_bytes) if ctx_bytes else "(empty)"))
    out.append(("certificates", str(len(ders)) if ders else "0 (no certificate)"))
    for i, der in enumerate(ders[:LISTED_CERTIFICATES]):
        out += certificate_fields(der, f"certificate {i}")
    if len(ders) > LISTED_CERTIFICATES:
        unlisted = f"{len(ders) - LISTED_CERTIFICATES} (the first {LISTED_CERTIFICATES} are)"
        out.append(("certificates not listed", unlisted))
    if isinstance(msg, H.Certificate):
        for i, entry in enumerate(msg.entries[:LISTED_CERTIFICATES]):
            if entry.extensions:
                out.append((f"certificate {i} extensions", names([extension_name(e.type) for e in entry.extensions])))
    return out


def _compressed_certificate(msg: H.CompressedCertificate, ctx: Context | None) -> Fields:
    # RFC 8879, Section 4. The certificates inside are not listed here: the fields are the message's own.
    return [
        ("algorithm", enum_name(msg.algorithm, CertificateCompressionAlgorithm)),
        ("uncompressed_length", nbytes(msg.uncompressed_length)),
        ("compressed_certificate_message", nbytes(len(msg.compressed_certificate_message))),
    ]


def compressed_certificate_summary(msg: H.CompressedCertificate, ctx: Context | None) -> list[str]:
    size, length = len(msg.compressed_certificate_message), msg.uncompressed_length
    saved = f" ({100 - 100 * size // length}% smaller)" if 0 < size < length else ""
    algorithm = enum_name(msg.algorithm, CertificateCompressionAlgorithm)
    return [algorithm, f"{nbytes(length)} compressed to {nbytes(size)}{saved}"]


def _dh_group_name(params: H12.ServerDHParams) -> str:
    from ..crypto.dhe12 import known_dhe_group

    p, g = int.from_bytes(params.p, "big"), int.from_bytes(params.g, "big")
    group = known_dhe_group(p, g)  # RFC 7919 or RFC 3526
    return group.label if group is not None else f"custom {p.bit_length()}-bit group"


def server_key_exchange_params(msg: H12.ServerKeyExchange, ctx: Context | None) -> Any:
    """The parsed ServerECDHParams / ServerDHParams, or None if the body does not parse."""
    kx = ctx.kx if ctx is not None else None
    readers = {"ECDHE": (msg.ecdhe,), "DHE": (msg.dhe,)}.get(kx or "", (msg.ecdhe, msg.dhe))
    for read in readers:
        with contextlib.suppress(TLSError):
            return read()
    return None


def server_key_exchange_fields(msg: H12.ServerKeyExchange, ctx: Context | None) -> Fields:
    params = server_key_exchange_params(msg, ctx)
    if isinstance(params, H12.ServerECDHParams):
        return [
            ("key_exchange", "ECDHE"),
            ("curve_type", "named_curve"),
            ("named_curve", enum_name(params.group, NamedGroup)),
            ("public", f"{nbytes(len(params.public))}: {hexs(params.public)}"),
            ("signature_algorithm", enum_name(params.algorithm, SignatureScheme)),
            ("signature", nbytes(len(params.signature))),
        ]
    if isinstance(params, H12.ServerDHParams):
        p = int.from_bytes(params.p, "big")
        return [
            ("key_exchange", "DHE"),
            ("group", _dh_group_name(params)),
            ("dh_p", f"{p.bit_length()}-bit prime"),
            ("dh_g", str(int.from_bytes(params.g, "big"))),
            ("dh_Ys", nbytes(len(params.ys))),
            ("signature_algorithm", enum_name(params.algorithm, SignatureScheme)),
            ("signature", nbytes(len(params.signature))),
        ]
    return [("body", f"{nbytes(len(msg.body))} (not understood)")]


def client_key_exchange_fields(msg: H12.ClientKeyExchange, ctx: Context | None) -> Fields:
    kx = ctx.kx if ctx is not None else None
    readers = {
        "RSA": ("RSA-encrypted pre-master secret", msg.rsa_encrypted),
        "ECDHE": ("ECDHE public value (ecdh_Yc)", msg.ecdhe_public),
        "DHE": ("DHE public value (dh_Yc)", msg.dhe_public),
    }
    if kx in readers:
        kind, read = readers[kx]
        with contextlib.suppress(TLSError):
            value = read()
            return [("key_exchange", kind), ("exchange_keys", f"{nbytes(len(value))}: {hexs(value)}")]
    return [("key_exchange", "unknown until the cipher suite is known"), ("body", nbytes(len(msg.body)))]


def requested_authorities(msg: Any) -> tuple[bytes, ...]:
    """The CA names (DER) a CertificateRequest gives: TLS 1.2's list, TLS 1.3's certificate_authorities."""
    if isinstance(msg, H12.CertificateRequest12):
        return tuple(msg.authorities)
    extension = msg.ext(ExtensionType.certificate_authorities)
    return tuple(extension.value) if extension is not None else ()


def certificate_request_fields(msg: Any, ctx: Context | None) -> Fields:
    if isinstance(msg, H12.CertificateRequest12):
        return [
            ("certificate_types", names([enum_name(t, ClientCertificateType) for t in msg.certificate_types])),
            ("signature_algorithms", names([enum_name(a, SignatureScheme) for a in msg.signature_algorithms])),
            ("certificate_authorities", str(len(msg.authorities))),
        ]
    ctx_bytes = msg.certificate_request_context
    return [
        ("certificate_request_context", hexs(ctx_bytes) if ctx_bytes else "(empty)"),
        *extension_fields(msg.extensions),
    ]


def new_session_ticket_fields(msg: Any, ctx: Context | None) -> Fields:
    if isinstance(msg, H12.NewSessionTicket12):
        if not msg.ticket:
            return [("ticket_lifetime_hint", f"{msg.lifetime_hint} s"), ("ticket", "(empty: no ticket after all)")]
        return [("ticket_lifetime_hint", f"{msg.lifetime_hint} s"), ("ticket", nbytes(len(msg.ticket)))]
    return [
        ("ticket_lifetime", f"{msg.ticket_lifetime} s"),
        ("ticket_age_add", f"0x{msg.ticket_age_add:08x}" if isinstance(msg.ticket_age_add, int) else "?"),
        ("ticket_nonce", hexs(msg.ticket_nonce) if msg.ticket_nonce else "(empty)"),
        ("ticket", nbytes(len(msg.ticket))),
        *extension_fields(msg.extensions),
    ]


def describe(msg: Any, ctx: Context | None = None) -> Fields:
    """The fields of handshake message ``msg`` that matter, in wire order.

    Never raises: a message no describer can read (one built with values of the
    wrong kind, say) is one ``undecodable`` field that says why.
    """
    try:
        return _describe(msg, ctx)
    except Exception as exc:
        return [("undecodable", exception_text(exc))]


def _describe(msg: Any, ctx: Context | None) -> Fields:
    if isinstance(msg, H.ClientHello):
        return _client_hello(msg, ctx)
    if isinstance(msg, H.ServerHello):
        return _server_hello(msg, ctx)
    if isinstance(msg, H.EncryptedExtensions):
        return extension_fields(msg.extensions)
    if isinstance(msg, (H.CertificateRequest, H12.CertificateRequest12)):
        return certificate_request_fields(msg, ctx)
    if isinstance(msg, (H.Certificate, H12.Certificate12)):
        return _certificate(msg, ctx)
    if isinstance(msg, H.CompressedCertificate):
        return _compressed_certificate(msg, ctx)
    if isinstance(msg, H.CertificateVerify):
        return [("algorithm", enum_name(msg.algorithm, SignatureScheme)), ("signature", nbytes(len(msg.signature)))]
    if isinstance(msg, H.Finished):
        return [("verify_data", f"{nbytes(len(msg.verify_data))}: {msg.verify_data.hex()}")]
    if isinstance(msg, (H.NewSessionTicket, H12.NewSessionTicket12)):
        return new_session_ticket_fields(msg, ctx)
    if isinstance(msg, H.KeyUpdate):
        return [("request_update", enum_name(msg.request_update, KeyUpdateRequest))]
    if isinstance(msg, H12.ServerKeyExchange):
        return server_key_exchange_fields(msg, ctx)
    if isinstance(msg, H12.ClientKeyExchange):
        return client_key_exchange_fields(msg, ctx)
    if isinstance(msg, H12.CertificateStatus):
        return [("status_type", "ocsp"), ("ocsp_response", nbytes(len(msg.ocsp_response)))]
    return []  # ServerHelloDone, HelloRequest, EndOfEarlyData: no body


def day(moment: str) -> str:
    """The date of a certificate's time ("2025-01-31 12:00:00 UTC"), or all of an undecodable one."""
    return moment if moment.startswith("undecodable") else moment[:10]


def ext_value(msg: Any, ext_type: ExtensionType) -> str | None:
    """The readable value of the extension ``ext_type`` of ``msg``, or None when it has none."""
    ext = msg.ext(ext_type) if hasattr(msg, "ext") else None
    return extension_value(ext) if ext is not None else None
