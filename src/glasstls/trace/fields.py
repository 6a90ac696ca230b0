"""Byte-exact field trees of TLS records and messages, for renderers.

:func:`field_tree` turns the bytes of a record, a handshake message, an alert,
a change_cipher_spec or a TLS 1.3 TLSInnerPlaintext into a tree of
:class:`Field`: each node names a range ``[start, end)`` of the input, its
leaves tile the input exactly (every byte belongs to exactly one leaf, with
no gaps and no overlaps), and every value is already a readable string. The
text trace (``--trace=full``), the illustrated page and the pcap dissector
draw their field-by-field views from it.

It is a pure function of the bytes. It reads the layouts the wire classes
declare (:mod:`glasstls.wire.layout`) with a cursor of its own instead of
the strict parsers, because it must describe what is there even when the
parsers would reject it: whatever cannot be decoded becomes one leaf named
``undecodable`` whose note says why, and decoding goes on after the
enclosing length-prefixed block. It never raises.

Field names follow the presentation language of the RFCs (RFC 8446,
Section 4; RFC 5246, Section 7.4; RFC 8422, Section 5): a vector of
structures is a node holding a ``length`` leaf and its items; an opaque
vector is two sibling leaves, ``"<name> length"`` and ``"<name>"``.

The pieces: :mod:`glasstls.trace.fields_core` (:class:`Field`, the cursor,
value formatting), :mod:`glasstls.trace.fields_messages` (the body of each
handshake message and extension) and this module (the public API, records,
content and handshake dispatch).
"""

from __future__ import annotations

from ..enums import AlertDescription, AlertLevel, ContentType, HandshakeType, ProtocolVersion
from ..wire.handshake import HRR_RANDOM
from .fields_core import (
    UNDECODABLE,
    Body,
    Field,
    Out,
    _Bad,
    _Cur,
    _enum,
    _fill,
    _group,
    _hex,
    _int,
    _items,
    _leaf,
    _named,
    _Opts,
    _preview,
    _size,
    _undecodable,
    _version,
)
from .fields_messages import _MESSAGES, _VERSIONED, MESSAGE_NAMES, Decoder

__all__ = ["KINDS", "MESSAGE_NAMES", "UNDECODABLE", "Field", "content_tree", "field_tree", "message_name"]

KINDS = ("record", "handshake", "alert", "change_cipher_spec", "inner")


def field_tree(
    raw: bytes,
    kind: str,
    version: int | str | None = None,
    *,
    key_exchange: str | None = None,
    decode_payload: bool = False,
    continued: int = 0,
) -> Field:
    """The field tree of ``raw`` read as ``kind`` (one of :data:`KINDS`).

    ``version`` (0x0303 or 0x0304) picks between the TLS 1.2 and 1.3 layouts of
    Certificate, CertificateRequest and NewSessionTicket; when None, the layout
    that decodes cleanly wins. ``key_exchange`` ("ecdhe", "dhe" or "rsa") says
    how to read a ServerKeyExchange or ClientKeyExchange, whose layout the
    bytes alone do not tell. For a "record", the payload is one child, left
    opaque unless ``decode_payload`` (for a record in the clear). ``continued``
    counts leading bytes of handshake content that finish a message begun in
    an earlier record (for "inner" and decoded records).
    """
    raw = bytes(raw)
    opts = _Opts(_version_number(version), key_exchange, continued)
    try:
        if kind == "record":
            return _record(raw, opts, decode_payload)
        if kind == "handshake":
            return _handshake(raw, 0, len(raw), opts)
        if kind == "alert":
            return _content_node(raw, 0, len(raw), ContentType.alert, opts, "Alert")
        if kind == "change_cipher_spec":
            return _content_node(raw, 0, len(raw), ContentType.change_cipher_spec, opts, "ChangeCipherSpec")
        if kind == "inner":
            return _inner(raw, opts)
    except Exception as exc:  # the last resort: a bug here must not break a renderer
        return Field(kind, 0, len(raw), _size(len(raw)), [_undecodable(0, len(raw), f"internal error: {exc!r}")])
    raise ValueError(f"unknown field tree kind {kind!r}; expected one of {', '.join(KINDS)}")


def content_tree(
    data: bytes,
    content_type: int,
    version: int | str | None = None,
    *,
    continued: int = 0,
    key_exchange: str | None = None,
    name: str = "content",
) -> Field:
    """The tree of a record's content of ``content_type`` (handshake messages, alerts, …)."""
    data = bytes(data)
    try:
        opts = _Opts(_version_number(version), key_exchange, continued)
        return _content_node(data, 0, len(data), content_type, opts, name)
    except Exception as exc:
        return Field(name, 0, len(data), _size(len(data)), [_undecodable(0, len(data), f"internal error: {exc!r}")])


def _version_number(version: int | str | None) -> int | None:
    """0x0303 / 0x0304 from a code point or a label ("TLSv1.3", "1.3", as NegotiatedParameters spells it)."""
    if version is None or isinstance(version, int):
        return version
    return {"1.2": 0x0303, "1.3": 0x0304}.get(version.removeprefix("TLSv").removeprefix("TLS ").strip())


def message_name(raw: bytes) -> str:
    """The RFC name of the handshake message starting ``raw`` (HelloRetryRequest told apart)."""
    if not raw:
        return "handshake"
    if raw[0] == HandshakeType.server_hello and raw[6:38] == HRR_RANDOM:
        return "HelloRetryRequest"
    return MESSAGE_NAMES.get(raw[0], f"handshake {HandshakeType(raw[0]).name}")


# -- records and content ---------------------------------------------------------------------


def _record(raw: bytes, opts: _Opts, decode_payload: bool) -> Field:
    root = Field("record", 0, len(raw), "")
    c = _Cur(raw, 0, len(raw))

    def body(c: _Cur, out: Out) -> str:
        ctype = _int(c, out, "type", 1, _enum(ContentType, 1))
        _int(c, out, "legacy_record_version", 2, _version)
        n = _int(c, out, "length", 2, _size)
        avail = min(n, c.left())
        is13 = opts.version is not None and opts.version >= ProtocolVersion.TLSv1_3
        name = "encrypted_record" if ctype == ContentType.application_data and is13 else "fragment"
        start = c.take(avail, name)
        if avail:
            if decode_payload and ctype in _DECODED_TYPES:
                node = _content_node(raw, start, c.pos, ctype, opts, name)
            else:
                node = Field(name, start, c.pos, _size(avail))
            out.append(node)
        if avail < n:
            (out[-1] if avail else root).note = f"truncated: the header says {n} bytes, {avail} are here"
        elif c.left():
            raise _Bad("bytes after the end of the record")
        return f"{ContentType(ctype).name}, {_size(avail)}"

    root.value = _fill(c, root, body) or _size(len(raw))
    return root


_DECODED_TYPES = (ContentType.handshake, ContentType.alert, ContentType.change_cipher_spec)


def _inner(raw: bytes, opts: _Opts) -> Field:
    # RFC 8446, Section 5.2: content, then the real content type, then zero padding.
    root = Field("TLSInnerPlaintext", 0, len(raw), "")
    end = len(raw.rstrip(b"\x00"))
    if end == 0:
        root.children.append(_undecodable(0, len(raw), "all zeros: no content type (unexpected_message)"))
        root.value = _size(len(raw))
        return root
    ctype = raw[end - 1]
    if end > 1:
        root.children.append(_content_node(raw, 0, end - 1, ctype, opts, "content"))
    root.children.append(Field("type", end - 1, end, _enum(ContentType, 1)(ctype)))
    if end < len(raw):
        root.children.append(Field("zeros", end, len(raw), f"{_size(len(raw) - end)} of padding"))
    root.value = f"{ContentType(ctype).name}, {_size(end - 1)} of content"
    return root


def _content_node(raw: bytes, start: int, end: int, ctype: int, opts: _Opts, name: str) -> Field:
    node = Field(name, start, end, "")
    c = _Cur(raw, start, end)
    if ctype == ContentType.handshake:
        node.value = _fill(c, node, lambda c, out: _handshake_stream(c, out, opts)) or ""
    elif ctype == ContentType.alert:
        node.value = _fill(c, node, _items(_alert)) or ""
    elif ctype == ContentType.change_cipher_spec:
        node.value = _fill(c, node, _ccs) or ""
    elif ctype == ContentType.application_data:
        node.children.append(Field("application_data", start, end, _preview(raw[start:end])))
        node.value = _size(end - start)
    else:
        node.children.append(Field("content", start, end, _hex(raw[start:end]), [], "content of an unknown type"))
        node.value = _size(end - start)
    if not node.value and start == end:
        node.value = "empty"
    return node


def _alert(c: _Cur, out: Out) -> str:
    def body(c: _Cur, out: Out) -> str:
        level = _int(c, out, "level", 1, _enum(AlertLevel, 1))
        desc = _int(c, out, "description", 1, _enum(AlertDescription, 1))
        return f"{AlertLevel(level).name} {AlertDescription(desc).name}"

    return _group(c, out, "Alert", body).value


def _ccs(c: _Cur, out: Out) -> str:
    # RFC 5246, Section 7.1; RFC 8446, Section 5: a single byte of value 1.
    value = _int(c, out, "type", 1, _named({1: "change_cipher_spec"}))
    if value != 1:
        out[-1].note = "a change_cipher_spec must hold the single byte 1"
    return "change_cipher_spec"


def _byte_count(data: bytes) -> str:
    return _size(len(data))


def _handshake_stream(c: _Cur, out: Out, opts: _Opts) -> str:
    """Whole handshake messages; a fragment at either end is kept as such (RFC 8446, Section 5.1)."""
    names = []
    if opts.continued:
        n = min(opts.continued, c.left())
        _leaf(c, out, "message fragment", n, _byte_count, "the end of a message begun in an earlier record")
        names.append("(continued)")
    while c.left():
        length = c.peek(1, 3)
        if length is not None and 4 + length <= c.left():
            msg = _handshake(c.raw, c.pos, c.pos + 4 + length, opts)
            c.pos = msg.end
        else:
            msg = _partial_message(c)
        out.append(msg)
        names.append(msg.name)
    return ", ".join(names)


def _partial_message(c: _Cur) -> Field:
    name = message_name(c.raw[c.pos : c.end])
    node = Field(name, c.pos, c.end, "", [], "the message continues in the next record")
    length = c.peek(1, 3)
    if c.left() >= 4 and length is not None:
        _int(c, node.children, "msg_type", 1, _enum(HandshakeType, 1))
        _int(c, node.children, "length", 3, _size)
        node.value = f"first {_size(c.left())} of {_size(length)}"
    if c.left():
        _leaf(c, node.children, "message fragment", c.left(), _byte_count, "the rest follows in the next record")
    return node


# -- handshake messages ----------------------------------------------------------------------


def _handshake(raw: bytes, start: int, end: int, opts: _Opts) -> Field:
    root = Field(message_name(raw[start:end]), start, end, "")
    c = _Cur(raw, start, end)

    def body(c: _Cur, out: Out) -> str:
        msg_type = _int(c, out, "msg_type", 1, _enum(HandshakeType, 1))
        n = _int(c, out, "length", 3, _size)
        avail = min(n, c.left())
        sub = c.sub(avail, "body")
        decoder = _MESSAGES.get(msg_type)
        if decoder is None:
            _leaf(sub, out, "body", avail, _hex, "a handshake message type glasstls does not know")
        elif avail:
            _decode_body(sub, root, msg_type, opts)
        if avail < n:
            root.note = f"truncated: the header says {n} bytes, {avail} are here"
        elif c.left():
            raise _Bad("bytes after the end of the message")
        return f"{HandshakeType(msg_type).name} ({msg_type}), {_size(n)} body"

    root.value = _fill(c, root, body) or _size(end - start)
    return root


def _version_body(decoder: Decoder, opts: _Opts, is13: bool) -> Body:
    """``decoder`` with its version fixed: one trial of :func:`_decode_body`."""
    return lambda c, out: decoder(c, out, opts, is13)


def _decode_body(c: _Cur, root: Field, msg_type: int, opts: _Opts) -> None:
    """Decode with the layout ``opts.version`` names; unknown version: the 1.3 one, else whichever is clean."""
    decoder = _MESSAGES[msg_type]
    if opts.version is not None or msg_type not in _VERSIONED:
        is13 = opts.version is None or opts.version >= ProtocolVersion.TLSv1_3
        _fill(c, root, lambda c, out: decoder(c, out, opts, is13))
        return
    start, attempts = c.pos, []
    for is13 in (True, False):
        trial = Field(root.name, start, start, "")
        c.pos = start
        _fill(c, trial, _version_body(decoder, opts, is13))
        clean = not any(leaf.name == UNDECODABLE for leaf in trial.leaves()) and not trial.note
        attempts.append(trial)
        if clean:
            break
    chosen = attempts[-1] if clean else attempts[0]
    root.children.extend(chosen.children)
    root.note = root.note or chosen.note
    c.pos = c.end
