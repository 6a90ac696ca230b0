"""The bodies of handshake messages and extensions, for :mod:`glasstls.trace.fields`.

A message body is read from the layout its wire class declares
(:mod:`glasstls.wire.layout`: the one description the strict parser and the
encoder use too), walked leniently with the cursor of
:mod:`glasstls.trace.fields_core` (:data:`_MESSAGES`, RFC 8446, Section 4;
RFC 5246, Section 7.4). An extension body is read by its decoder in
:data:`_EXTENSIONS`: for a one-field body, the layout of its wire codec; for
the others, one of its own (why: ``docs/design/message-grammar.md``). Internal:
:func:`glasstls.trace.fields.field_tree` is the way in; this module does not
import it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..enums import ExtensionType, HandshakeType, NamedGroup, ProtocolVersion
from ..wire import extensions as X
from ..wire import handshake as H
from ..wire import handshake12 as H12
from ..wire.extensions import Extensions
from ..wire.handshake import DOWNGRADE_TLS11, DOWNGRADE_TLS12, HRR_RANDOM
from ..wire.layout import Int, Layout, Opaque, Raw, Spec, Vector
from . import hybrid
from .dn import dn_text
from .fields_core import (
    Field,
    Out,
    _Bad,
    _block,
    _cert_text,
    _Cur,
    _enum,
    _fill,
    _group,
    _hex,
    _int,
    _items,
    _leaf,
    _list,
    _named,
    _opaque,
    _Opts,
    _size,
    _text,
    _undecodable,
    _version,
)

Decoder = Callable[[_Cur, Out, _Opts, bool], None]


# -- layouts, read leniently -----------------------------------------------------------------


def _walk(c: _Cur, out: Out, layout: Sequence[Spec]) -> str | None:
    """The fields of ``layout``, as far as the bytes hold them; the value is the first field's summary."""
    summary = None
    for spec in layout:
        value = _spec(c, out, spec)
        summary = summary or value
    return summary


def _spec(c: _Cur, out: Out, spec: Spec) -> str | None:
    if isinstance(spec, Int):
        value = _int(c, out, spec.shown_as or spec.name, spec.width, _int_text(spec))
        why = spec.check(spec.kind(value) if spec.kind else value) if spec.selects and spec.check else None
        if why:  # what follows depends on this value: the rest is undecodable, for the parser's reason
            raise _Bad(why)
        return out[-1].value
    if isinstance(spec, Raw):
        _leaf(c, out, spec.name, c.left() if spec.size is None else spec.size)
        return None
    if isinstance(spec, Opaque):
        data = _opaque(c, out, spec.shown_as or spec.name, spec.width, _SHOW.get(spec.show))
        if spec.show == "certificate":
            return _cert_text(data).split(" (issuer")[0]
        return _text(data) if spec.show == "text" else None
    if isinstance(spec, Extensions):
        if c.left() or not spec.optional:
            _extensions(c, out, spec.context)
        return None
    if not isinstance(spec, Vector):
        raise _Bad(f"{type(spec).__name__} has no lenient reading")
    item = spec.item
    if isinstance(item, Int):
        return _list(c, out, spec.name, spec.width, item.name, item.width, _int_text(item))
    if isinstance(item, Opaque):
        return _block(c, out, spec.name, spec.width, _items(lambda c, o: _spec(c, o, item))).value

    def struct(c: _Cur, out: Out) -> str:
        return _group(c, out, item.name, lambda c, o: _walk(c, o, item.fields)).value

    return _block(c, out, spec.name, spec.width, _items(struct)).value


_SHOW: dict[str, Callable[[bytes], str]] = {
    "certificate": _cert_text,
    "text": _text,
    "name": lambda der: dn_text(der) or _hex(der),  # an X.501 Name in DER (trace/dn.py)
}


def _int_text(spec: Int) -> Callable[[int], str]:
    if isinstance(spec.show, str):
        return _size if spec.show == "size" else spec.show.format
    if spec.show is not None:
        return _named(dict(spec.show))
    if spec.kind is None:
        return str
    return _version if spec.kind is ProtocolVersion else _enum(spec.kind, spec.width)


def _layout(layout13: Layout, layout12: Layout | None = None) -> Decoder:
    """A message read by its layout: TLS 1.3's, or TLS 1.2's where the two differ."""

    def decode(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
        _walk(c, out, layout13 if is13 or layout12 is None else layout12)

    return decode


# -- messages whose layout the bytes or the key exchange choose ------------------------------

_DOWNGRADE = {DOWNGRADE_TLS12: "TLS 1.2", DOWNGRADE_TLS11: "TLS 1.1 or below"}


def _server_hello(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _walk(c, out, H.ServerHello.layout[:2])
    random = c.raw[out[-1].start : out[-1].end]
    hrr = random == HRR_RANDOM
    if hrr:
        out[-1].note = "the special value that makes this ServerHello a HelloRetryRequest (RFC 8446, Section 4.1.3)"
    elif random[-8:] in _DOWNGRADE:
        out[-1].note = f"ends with the downgrade sentinel for {_DOWNGRADE[random[-8:]]} (RFC 8446, Section 4.1.3)"
    _walk(c, out, (H.HelloRetryRequest if hrr else H.ServerHello).layout[2:])


def _server_key_exchange(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    kx = opts.key_exchange
    if kx is None:  # the bytes alone: ECDHE if they read cleanly as ServerECDHParams and a signature
        kx = "ecdhe" if _clean(c, H12.SKE_LAYOUTS["ecdhe"]) else "dhe"
    if kx not in H12.SKE_LAYOUTS:
        raise _Bad(f"no ServerKeyExchange in the {kx} key exchange")
    _walk(c, out, H12.SKE_LAYOUTS[kx])


def _clean(c: _Cur, layout: Layout) -> bool:
    trial = _Cur(c.raw, c.pos, c.end)
    try:
        _walk(trial, [], layout)
        return trial.pos == trial.end
    except _Bad:
        return False


def _client_key_exchange(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    kx = opts.key_exchange
    if kx is None:
        kx = "ecdhe" if c.peek(0, 1) == c.left() - 1 else "rsa or dhe"
    if kx in H12.CKE_LAYOUTS:
        _walk(c, out, H12.CKE_LAYOUTS[kx])
    else:
        _opaque(c, out, "exchange_keys", 2)
        out[-1].note = "an RSA-encrypted pre-master secret or a DH public value; the cipher suite tells which"


# Every handshake message the trace reads: its wire class, then TLS 1.2's where the layouts differ.
_CLASSES: tuple[tuple[type[H.Handshake], ...], ...] = (
    (H12.HelloRequest,),
    (H.ClientHello,),
    (H.ServerHello,),
    (H.NewSessionTicket, H12.NewSessionTicket12),
    (H.EndOfEarlyData,),
    (H.EncryptedExtensions,),
    (H.Certificate, H12.Certificate12),
    (H.CompressedCertificate,),
    (H12.ServerKeyExchange,),
    (H.CertificateRequest, H12.CertificateRequest12),
    (H12.ServerHelloDone,),
    (H.CertificateVerify,),
    (H12.ClientKeyExchange,),
    (H.Finished,),
    (H12.CertificateStatus,),
    (H.KeyUpdate,),
    (H.MessageHash,),
)
MESSAGE_NAMES: dict[int, str] = {classes[0].msg_type: classes[0].__name__ for classes in _CLASSES}
_VERSIONED = frozenset(classes[0].msg_type for classes in _CLASSES if len(classes) > 1)
_MESSAGES: dict[int, Decoder] = {
    **{classes[0].msg_type: _layout(*(cls.layout for cls in classes)) for classes in _CLASSES},
    HandshakeType.server_hello: _server_hello,
    HandshakeType.server_key_exchange: _server_key_exchange,
    HandshakeType.client_key_exchange: _client_key_exchange,
}


def _distinguished_name(c: _Cur, out: Out) -> None:
    # A CA the peer accepts: its name as RFC 4514 text when it reads as one, else the hex.
    _opaque(c, out, "DistinguishedName", 2, _SHOW["name"])


# -- extensions ------------------------------------------------------------------------------


def _extensions(c: _Cur, out: Out, context: str) -> None:
    """``Extension extensions<..2^16-1>`` (RFC 8446, Section 4.2), each decoded for ``context``."""

    def extension(c: _Cur, out: Out) -> str:
        node = _group(c, out, "Extension", lambda c, o: _extension(c, o, context))
        return node.value.split(":")[0]

    _block(c, out, "extensions", 2, _items(extension))


def _extension(c: _Cur, out: Out, context: str) -> str:
    ext_type = _int(c, out, "extension_type", 2, _enum(ExtensionType, 2))
    name = ExtensionType(ext_type).name
    n = _int(c, out, "extension_data length", 2, _size)
    data = c.sub(n, "extension_data")
    decoder = _EXTENSIONS.get(ext_type)
    if not n:
        return name
    if decoder is None:
        note = "GREASE (RFC 8701)" if out[0].note else "an extension glasstls does not decode"
        out.append(Field("extension_data", data.pos, data.end, _hex(c.raw[data.pos : data.end]), [], note))
        return name
    node = Field("extension_data", data.pos, data.end, "")
    out.append(node)
    node.value = _fill(data, node, lambda c, o: decoder(c, o, context)) or _size(n)
    if len(node.children) == 1 and node.children[0].size == n and not node.note:
        out[-1] = node.children[0]  # one structure fills the data: show it, not a wrapper around it
    return f"{name}: {node.value}" if node.value and node.value != _size(n) else name


def _by_layout(ext_type: int) -> Callable[[_Cur, Out, str], str | None]:
    """A one-field extension body, read by the layout of its wire codec in the context (none: empty there)."""
    return lambda c, out, ctx: _walk(c, out, X.layout_of(ext_type, ctx))


def _ext_server_name(c: _Cur, out: Out, ctx: str) -> str | None:
    if ctx != "ClientHello":
        return None  # empty in the server's answer (RFC 6066, Section 3)

    def entry(c: _Cur, out: Out) -> str:
        _int(c, out, "name_type", 1, _named({0: "host_name"}))
        return _text(_opaque(c, out, "HostName", 2, _text))

    return _block(c, out, "server_name_list", 2, _items(lambda c, o: _group(c, o, "ServerName", entry).value)).value


def _ext_status_request(c: _Cur, out: Out, ctx: str) -> str | None:
    if ctx == "Certificate":  # RFC 8446, Section 4.4.2.1
        _int(c, out, "status_type", 1, _named({1: "ocsp"}))
        _opaque(c, out, "OCSPResponse", 3)
        return "a stapled OCSP response"
    if ctx != "ClientHello":
        return None
    _int(c, out, "status_type", 1, _named({1: "ocsp"}))  # RFC 6066, Section 8
    _opaque(c, out, "responder_id_list", 2)
    _opaque(c, out, "request_extensions", 2)
    return "ocsp"


def _ext_supported_versions(c: _Cur, out: Out, ctx: str) -> str | None:
    # A list in a ClientHello, the chosen version in any other message.
    return _walk(c, out, X.layout_of(E.supported_versions, X.CH if ctx == X.CH else X.SH))


def _key_share_entry(role: str) -> Callable[[_Cur, Out], str]:
    """A KeyShareEntry as ``role`` ("client" or "server") sends it: a hybrid's key_exchange in its parts."""

    def item(c: _Cur, out: Out) -> str:
        def entry(c: _Cur, out: Out) -> str:
            group = _int(c, out, "group", 2, _enum(NamedGroup, 2))
            key = _opaque(c, out, "key_exchange", 2)
            if key:
                _hybrid_parts(c.raw, out[-1], group, role)
            return f"{out[0].value.split(' ')[0]} ({_size(len(key))})"

        return _group(c, out, "KeyShareEntry", entry).value

    return item


def _hybrid_parts(raw: bytes, leaf: Field, group: int, role: str) -> None:
    """draft-ietf-tls-ecdhe-mlkem, Sections 4.1 and 4.2: a hybrid share is its parts back to back.

    The parts become the leaf's children; a share of another length one undecodable child (the
    wire parser takes any length, the key exchange refuses it with illegal_parameter)."""
    cut = hybrid.split(group, raw[leaf.start : leaf.end], role)
    if cut is None:
        return
    if isinstance(cut, str):
        leaf.children = [_undecodable(leaf.start, leaf.end, cut)]
        return
    leaf.children = [
        Field(part, leaf.start + a, leaf.start + b, _hex(raw[leaf.start + a : leaf.start + b])) for part, a, b in cut
    ]
    leaf.value = " || ".join(f"{part} ({_size(b - a)})" for part, a, b in cut)


def _ext_key_share(c: _Cur, out: Out, ctx: str) -> str | None:
    if ctx == "ClientHello":
        return _block(c, out, "client_shares", 2, _items(_key_share_entry("client"))).value
    if ctx == "HelloRetryRequest":
        return _walk(c, out, X.layout_of(E.key_share, X.HRR))
    return _key_share_entry("server")(c, out)


def _ext_pre_shared_key(c: _Cur, out: Out, ctx: str) -> str:
    if ctx != "ClientHello":
        _int(c, out, "selected_identity", 2)
        return f"identity {out[-1].value} accepted"

    def identity(c: _Cur, out: Out) -> str:
        def body(c: _Cur, out: Out) -> str:
            _opaque(c, out, "identity", 2)
            _int(c, out, "obfuscated_ticket_age", 4, lambda v: f"0x{v:08x}")
            return ""

        return _group(c, out, "PskIdentity", body).value

    ids = _block(c, out, "identities", 2, _items(identity))
    _block(c, out, "binders", 2, _items(_binder))
    return f"{len(ids.children) - 1} identity offered"


def _binder(c: _Cur, out: Out) -> None:
    _opaque(c, out, "PskBinderEntry", 1)


def _ext_cookie(c: _Cur, out: Out, ctx: str) -> str:
    return _size(len(_opaque(c, out, "cookie", 2)))


def _ext_padding(c: _Cur, out: Out, ctx: str) -> str:
    data = _leaf(c, out, "padding", c.left(), lambda d: f"{_size(len(d))} of zeros")
    if data.strip(b"\x00"):
        out[-1].note = "padding must be all zeros (RFC 7685, Section 3)"
    return f"{_size(len(data))}"


def _ext_renegotiation_info(c: _Cur, out: Out, ctx: str) -> str:
    data = _opaque(c, out, "renegotiated_connection", 1)
    return "initial handshake" if not data else f"{_size(len(data))} of verify_data"


def _ext_session_ticket(c: _Cur, out: Out, ctx: str) -> str:
    return _size(len(_leaf(c, out, "ticket", c.left())))


def _ext_max_fragment_length(c: _Cur, out: Out, ctx: str) -> str:
    _int(c, out, "max_fragment_length", 1, _named({1: "2^9", 2: "2^10", 3: "2^11", 4: "2^12"}))
    return out[-1].value


def _ext_certificate_authorities(c: _Cur, out: Out, ctx: str) -> str:
    node = _block(c, out, "authorities", 2, _items(_distinguished_name))
    return f"{(len(node.children) - 1) // 2} names"


def _ext_opaque(name: str) -> Callable[[_Cur, Out, str], str]:
    return lambda c, out, ctx: _size(len(_leaf(c, out, name, c.left())))


def _ext_heartbeat(c: _Cur, out: Out, ctx: str) -> str:
    _int(c, out, "mode", 1, _named({1: "peer_allowed_to_send", 2: "peer_not_allowed_to_send"}))
    return out[-1].value


E = ExtensionType
_EXTENSIONS: dict[int, Callable[[_Cur, Out, str], str | None]] = {
    E.server_name: _ext_server_name,
    E.max_fragment_length: _ext_max_fragment_length,
    E.status_request: _ext_status_request,
    E.heartbeat: _ext_heartbeat,
    E.signed_certificate_timestamp: _ext_opaque("SignedCertificateTimestampList"),
    E.padding: _ext_padding,
    E.session_ticket: _ext_session_ticket,
    E.pre_shared_key: _ext_pre_shared_key,
    E.supported_versions: _ext_supported_versions,
    E.cookie: _ext_cookie,
    E.certificate_authorities: _ext_certificate_authorities,
    E.key_share: _ext_key_share,
    E.renegotiation_info: _ext_renegotiation_info,
    E.encrypted_client_hello: _ext_opaque("ECHClientHello"),
}
_LAYOUT_EXTENSIONS = (
    E.supported_groups,
    E.ec_point_formats,
    E.signature_algorithms,
    E.signature_algorithms_cert,
    E.application_layer_protocol_negotiation,
    E.record_size_limit,
    E.early_data,
    E.psk_key_exchange_modes,
    E.compress_certificate,
)
_EXTENSIONS |= {ext_type: _by_layout(ext_type) for ext_type in _LAYOUT_EXTENSIONS}
