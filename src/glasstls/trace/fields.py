"""Byte-exact field trees of TLS records and messages, for renderers.

:func:`field_tree` turns the bytes of a record, a handshake message, an alert,
a change_cipher_spec or a TLS 1.3 TLSInnerPlaintext into a tree of
:class:`Field`: each node names a range ``[start, end)`` of the input, its
leaves tile the input exactly (every byte belongs to exactly one leaf, with
no gaps and no overlaps), and every value is already a readable string. The
text trace (``--trace=full``), the illustrated page and the pcap dissector
draw their field-by-field views from it.

It is a pure function of the bytes. It walks them itself instead of going
through :mod:`glasstls.wire`, because it must describe what is there even
when the parsers would reject it: whatever cannot be decoded becomes one
leaf named ``undecodable`` whose note says why, and decoding goes on after
the enclosing length-prefixed block. It never raises.

Field names follow the presentation language of the RFCs (RFC 8446,
Section 4; RFC 5246, Section 7.4; RFC 8422, Section 5): a vector of
structures is a node holding a ``length`` leaf and its items; an opaque
vector is two sibling leaves, ``"<name> length"`` and ``"<name>"``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..enums import (
    AlertDescription,
    AlertLevel,
    CipherSuite,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)

UNDECODABLE = "undecodable"
KINDS = ("record", "handshake", "alert", "change_cipher_spec", "inner")

# RFC 8446, Section 4.1.3: the random of a HelloRetryRequest, and the last eight
# bytes of a ServerHello random that signal a downgrade.
_HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
_DOWNGRADE = {b"DOWNGRD\x01": "TLS 1.2", b"DOWNGRD\x00": "TLS 1.1 or below"}

MESSAGE_NAMES = {
    HandshakeType.hello_request: "HelloRequest",
    HandshakeType.client_hello: "ClientHello",
    HandshakeType.server_hello: "ServerHello",
    HandshakeType.new_session_ticket: "NewSessionTicket",
    HandshakeType.end_of_early_data: "EndOfEarlyData",
    HandshakeType.encrypted_extensions: "EncryptedExtensions",
    HandshakeType.certificate: "Certificate",
    HandshakeType.server_key_exchange: "ServerKeyExchange",
    HandshakeType.certificate_request: "CertificateRequest",
    HandshakeType.server_hello_done: "ServerHelloDone",
    HandshakeType.certificate_verify: "CertificateVerify",
    HandshakeType.client_key_exchange: "ClientKeyExchange",
    HandshakeType.finished: "Finished",
    HandshakeType.certificate_status: "CertificateStatus",
    HandshakeType.key_update: "KeyUpdate",
    HandshakeType.message_hash: "MessageHash",
}


@dataclass
class Field:
    """A named byte range ``[start, end)`` of the input, with its decoded value."""

    name: str
    start: int
    end: int
    value: str
    children: list[Field] = field(default_factory=list)
    note: str = ""

    @property
    def size(self) -> int:
        return self.end - self.start

    def leaves(self) -> Iterator[Field]:
        """The leaves, in byte order."""
        if not self.children:
            yield self
        for child in self.children:
            yield from child.leaves()

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Field]]:
        """Every node, depth first, with its depth (the root is 0)."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def find(self, name: str) -> Field | None:
        """The first node (depth first) called ``name``."""
        return next(self.find_all(name), None)

    def find_all(self, name: str) -> Iterator[Field]:
        return (node for _, node in self.walk() if node.name == name)

    def shifted(self, delta: int) -> Field:
        """A copy with every offset moved by ``delta`` (to place a subtree inside a larger buffer)."""
        return Field(
            self.name,
            self.start + delta,
            self.end + delta,
            self.value,
            [c.shifted(delta) for c in self.children],
            self.note,
        )


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
    if raw[0] == HandshakeType.server_hello and raw[6:38] == _HRR_RANDOM:
        return "HelloRetryRequest"
    return MESSAGE_NAMES.get(raw[0], f"handshake {HandshakeType(raw[0]).name}")


# -- the cursor ----------------------------------------------------------------------------


class _Bad(Exception):
    """The bytes do not hold what the layout says; caught at the enclosing block."""


@dataclass
class _Opts:
    version: int | None
    key_exchange: str | None
    continued: int


class _Cur:
    """A read position bounded to ``raw[pos:end]``."""

    __slots__ = ("raw", "pos", "end")

    def __init__(self, raw: bytes, pos: int, end: int) -> None:
        self.raw, self.pos, self.end = raw, pos, end

    def left(self) -> int:
        return self.end - self.pos

    def take(self, n: int, what: str) -> int:
        if n > self.end - self.pos:
            raise _Bad(f"{what}: needs {n} bytes, {self.end - self.pos} left")
        start = self.pos
        self.pos += n
        return start

    def sub(self, n: int, what: str) -> _Cur:
        start = self.take(n, what)
        return _Cur(self.raw, start, start + n)

    def peek(self, offset: int, width: int) -> int | None:
        if self.pos + offset + width > self.end:
            return None
        return int.from_bytes(self.raw[self.pos + offset : self.pos + offset + width], "big")


Out = list[Field]
Body = Callable[[_Cur, Out], "str | None"]


def _undecodable(start: int, end: int, why: str) -> Field:
    return Field(UNDECODABLE, start, end, _size(end - start), [], why)


def _fill(c: _Cur, owner: Field, body: Body) -> str | None:
    """Run ``body`` over the bounded cursor ``c``, appending to ``owner``; the rest becomes undecodable."""
    try:
        value = body(c, owner.children)
        if c.pos < c.end:
            raise _Bad(f"{c.left()} bytes left over after the last field")
        return value
    except _Bad as exc:
        if c.pos < c.end:
            owner.children.append(_undecodable(c.pos, c.end, str(exc)))
        else:
            owner.note = owner.note or str(exc)
        c.pos = c.end
        return None


def _leaf(c: _Cur, out: Out, name: str, n: int, fmt: Callable[[bytes], str] | None = None, note: str = "") -> bytes:
    start = c.take(n, name)
    data = c.raw[start : c.pos]
    if n:
        out.append(Field(name, start, c.pos, (fmt or _hex)(data), [], note))
    return data


def _int(c: _Cur, out: Out, name: str, width: int, fmt: Callable[[int], str] = str) -> int:
    start = c.take(width, name)
    value = int.from_bytes(c.raw[start : c.pos], "big")
    text = fmt(value)
    out.append(Field(name, start, c.pos, text, [], _GREASE if text.startswith("GREASE") else ""))
    return value


def _opaque(c: _Cur, out: Out, name: str, width: int, fmt: Callable[[bytes], str] | None = None) -> bytes:
    """``opaque name<..>`` as two leaves: ``"name length"`` and ``name``."""
    n = _int(c, out, f"{name} length", width, _size)
    return _leaf(c, out, name, n, fmt)


def _group(c: _Cur, out: Out, name: str, body: Body) -> Field:
    """A node over the fields ``body`` reads (a struct without a length of its own)."""
    node = Field(name, c.pos, c.pos, "")
    out.append(node)
    try:
        node.value = body(c, node.children) or ""
    finally:
        node.end = c.pos
        if not node.children:
            out.pop()
    return node


def _block(c: _Cur, out: Out, name: str, width: int, body: Body) -> Field:
    """A vector of structures: a node holding its ``length`` and what ``body`` reads from the block."""
    node = Field(name, c.pos, c.pos, "")
    out.append(node)
    try:
        n = _int(c, node.children, "length", width, _size)
        sub = c.sub(n, name)
    except _Bad:
        node.end = c.pos
        if not node.children:
            out.pop()
        raise
    node.value = _fill(sub, node, body) or ""
    node.end = c.pos
    return node


def _items(item: Callable[[_Cur, Out], str | None]) -> Body:
    """A body reading ``item`` until the block ends; its value summarises the items."""

    def body(c: _Cur, out: Out) -> str:
        values = []
        while c.left():
            values.append(item(c, out))
        return _summary([v for v in values if v])

    return body


def _list(c: _Cur, out: Out, name: str, width: int, item_name: str, item_width: int, fmt: Callable[[int], str]) -> str:
    """A vector of integers (cipher suites, groups, …): its length, then one leaf per item."""

    def item(c: _Cur, out: Out) -> str:
        _int(c, out, item_name, item_width, fmt)
        return out[-1].value

    return _block(c, out, name, width, _items(item)).value


# -- value formatting ------------------------------------------------------------------------


def _size(n: int) -> str:
    return f"{n} byte" if n == 1 else f"{n} bytes"


def _hex(data: bytes) -> str:
    if len(data) <= 48:
        return data.hex()
    return f"{data[:16].hex()}…{data[-4:].hex()} ({len(data)} bytes)"


def _text(data: bytes) -> str:
    text = data.decode("ascii", "backslashreplace")
    return repr(text) if not text.isprintable() else text


def _preview(data: bytes) -> str:
    if data and all(32 <= b < 127 or b in (9, 10, 13) for b in data):
        text = data.decode("ascii")
        return repr(text if len(text) <= 60 else text[:57] + "...") + f" ({_size(len(data))})"
    return _hex(data)


def _summary(values: list[str], limit: int = 6) -> str:
    if len(values) <= limit:
        return ", ".join(values)
    return ", ".join(values[:limit]) + f", … ({len(values)} in all)"


def _enum(enum: type, width: int) -> Callable[[int], str]:
    digits = width * 2

    def fmt(value: int) -> str:
        name = enum(value).name
        return f"{name} (0x{value:0{digits}x})" if width > 1 else f"{name} ({value})"

    return fmt


def _named(names: dict[int, str]) -> Callable[[int], str]:
    return lambda v: f"{names.get(v, 'unknown')} ({v})"


def _version(value: int) -> str:
    return f"{ProtocolVersion(value).label} (0x{value:04x})"


# RFC 8701: reserved values a client sends so that peers keep tolerating unknown ones.
_GREASE = "GREASE (RFC 8701): a reserved value sent to keep peers tolerant of unknown ones"


@functools.lru_cache(maxsize=64)
def _cert_text(der: bytes) -> str:
    try:
        import warnings

        from cryptography import x509

        with warnings.catch_warnings():  # a malformed certificate is described here, not complained about
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(der)
        subject = cert.subject.rfc4514_string() or "(empty subject)"
        issuer = cert.issuer.rfc4514_string() or "(empty issuer)"
        return (
            f"{subject} (issuer {issuer}; valid {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}; {_size(len(der))})"
        )
    except Exception:
        return f"{_size(len(der))}, not a parsable X.509 certificate"


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


def _handshake_stream(c: _Cur, out: Out, opts: _Opts) -> str:
    """Whole handshake messages; a fragment at either end is kept as such (RFC 8446, Section 5.1)."""
    names = []
    if opts.continued:
        n = min(opts.continued, c.left())
        _leaf(c, out, "message fragment", n, _size, "the end of a message begun in an earlier record")
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
        _leaf(c, node.children, "message fragment", c.left(), _size, "the rest follows in the next record")
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
            _decode_body(sub, root, decoder, opts)
        if avail < n:
            root.note = f"truncated: the header says {n} bytes, {avail} are here"
        elif c.left():
            raise _Bad("bytes after the end of the message")
        return f"{HandshakeType(msg_type).name} ({msg_type}), {_size(n)} body"

    root.value = _fill(c, root, body) or _size(end - start)
    return root


def _decode_body(c: _Cur, root: Field, decoder: Callable[[_Cur, Out, _Opts, bool], None], opts: _Opts) -> None:
    """Decode with the layout ``opts.version`` names; unknown version: the 1.3 one, else whichever is clean."""
    if opts.version is not None or decoder not in _VERSIONED:
        is13 = opts.version is None or opts.version >= ProtocolVersion.TLSv1_3
        _fill(c, root, lambda c, out: decoder(c, out, opts, is13))
        return
    start, attempts = c.pos, []
    for is13 in (True, False):
        trial = Field(root.name, start, start, "")
        c.pos = start
        _fill(c, trial, lambda c, out, is13=is13: decoder(c, out, opts, is13))
        clean = not any(leaf.name == UNDECODABLE for leaf in trial.leaves()) and not trial.note
        attempts.append(trial)
        if clean:
            break
    chosen = attempts[-1] if clean else attempts[0]
    root.children.extend(chosen.children)
    root.note = root.note or chosen.note
    c.pos = c.end


def _client_hello(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _int(c, out, "legacy_version", 2, _version)
    _leaf(c, out, "random", 32)
    _opaque(c, out, "legacy_session_id", 1)
    _list(c, out, "cipher_suites", 2, "cipher_suite", 2, _enum(CipherSuite, 2))
    _list(c, out, "legacy_compression_methods", 1, "compression_method", 1, _named({0: "null"}))
    if c.left():  # RFC 5246, Section 7.4.1.2: extensions may be absent
        _extensions(c, out, "ClientHello")


def _server_hello(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _int(c, out, "legacy_version", 2, _version)
    random = _leaf(c, out, "random", 32)
    hrr = random == _HRR_RANDOM
    if hrr:
        out[-1].note = "the special value that makes this ServerHello a HelloRetryRequest (RFC 8446, Section 4.1.3)"
    elif random[-8:] in _DOWNGRADE:
        out[-1].note = f"ends with the downgrade sentinel for {_DOWNGRADE[random[-8:]]} (RFC 8446, Section 4.1.3)"
    _opaque(c, out, "legacy_session_id_echo", 1)
    _int(c, out, "cipher_suite", 2, _enum(CipherSuite, 2))
    _int(c, out, "legacy_compression_method", 1, _named({0: "null"}))
    if c.left():
        _extensions(c, out, "HelloRetryRequest" if hrr else "ServerHello")


def _encrypted_extensions(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _extensions(c, out, "EncryptedExtensions")


def _certificate_request(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    if is13:  # RFC 8446, Section 4.3.2
        _opaque(c, out, "certificate_request_context", 1)
        _extensions(c, out, "CertificateRequest")
        return
    # RFC 5246, Section 7.4.4
    types = {1: "rsa_sign", 2: "dss_sign", 3: "rsa_fixed_dh", 4: "dss_fixed_dh", 64: "ecdsa_sign"}
    _list(c, out, "certificate_types", 1, "ClientCertificateType", 1, _named(types))
    _list(c, out, "supported_signature_algorithms", 2, "SignatureScheme", 2, _enum(SignatureScheme, 2))
    _block(c, out, "certificate_authorities", 2, _items(_distinguished_name))


def _distinguished_name(c: _Cur, out: Out) -> None:
    _opaque(c, out, "DistinguishedName", 2)


def _certificate(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    if is13:  # RFC 8446, Section 4.4.2

        def entry(c: _Cur, out: Out) -> str:
            der = _opaque(c, out, "cert_data", 3, _cert_text)
            _extensions(c, out, "Certificate")
            return _cert_text(der).split(" (issuer")[0]

        _opaque(c, out, "certificate_request_context", 1)
        _block(c, out, "certificate_list", 3, _items(lambda c, out: _group(c, out, "CertificateEntry", entry).value))
        return

    def cert12(c: _Cur, out: Out) -> str:  # RFC 5246, Section 7.4.2
        der = _opaque(c, out, "ASN.1Cert", 3, _cert_text)
        return _cert_text(der).split(" (issuer")[0]

    _block(c, out, "certificate_list", 3, _items(cert12))


def _signature(c: _Cur, out: Out) -> None:
    # RFC 8446, Section 4.4.3; RFC 5246, Section 4.7 (digitally-signed).
    _int(c, out, "algorithm", 2, _enum(SignatureScheme, 2))
    _opaque(c, out, "signature", 2)


def _certificate_verify(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _signature(c, out)


def _finished(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _leaf(c, out, "verify_data", c.left())


def _new_session_ticket(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    if is13:  # RFC 8446, Section 4.6.1
        _int(c, out, "ticket_lifetime", 4, lambda v: f"{v} s")
        _int(c, out, "ticket_age_add", 4, lambda v: f"0x{v:08x}")
        _opaque(c, out, "ticket_nonce", 1)
        _opaque(c, out, "ticket", 2)
        _extensions(c, out, "NewSessionTicket")
    else:  # RFC 5077, Section 3.3
        _int(c, out, "ticket_lifetime_hint", 4, lambda v: f"{v} s")
        _opaque(c, out, "ticket", 2)


def _empty(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    pass


def _key_update(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _int(c, out, "request_update", 1, _named({0: "update_not_requested", 1: "update_requested"}))


def _certificate_status(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _int(c, out, "status_type", 1, _named({1: "ocsp"}))
    _opaque(c, out, "OCSPResponse", 3)


def _message_hash(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    _leaf(c, out, "hash", c.left())


def _server_key_exchange(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    kx = opts.key_exchange
    if kx is None:  # the bytes alone: ECDHE if they read cleanly as ServerECDHParams and a signature
        kx = "ecdhe" if _clean(c, _ecdhe_params) else "dhe"
    if kx == "ecdhe":
        _ecdhe_params(c, out)
    elif kx == "dhe":
        for name in ("dh_p", "dh_g", "dh_Ys"):  # RFC 5246, Section 7.4.3
            _opaque(c, out, name, 2)
    else:
        raise _Bad(f"no ServerKeyExchange in the {kx} key exchange")
    _signature(c, out)


def _ecdhe_params(c: _Cur, out: Out) -> None:
    # RFC 8422, Section 5.4: ServerECDHParams
    curve = _int(c, out, "curve_type", 1, _named({1: "explicit_prime", 2: "explicit_char2", 3: "named_curve"}))
    if curve != 3:
        raise _Bad("only named curves are in use (RFC 8422, Section 5.4)")
    _int(c, out, "named_curve", 2, _enum(NamedGroup, 2))
    _opaque(c, out, "public", 1)


def _clean(c: _Cur, body: Callable[[_Cur, Out], None]) -> bool:
    trial = _Cur(c.raw, c.pos, c.end)
    try:
        body(trial, [])
        _signature(trial, [])
        return trial.pos == trial.end
    except _Bad:
        return False


def _client_key_exchange(c: _Cur, out: Out, opts: _Opts, is13: bool) -> None:
    kx = opts.key_exchange
    if kx is None:
        kx = "ecdhe" if c.peek(0, 1) == c.left() - 1 else "rsa or dhe"
    if kx == "ecdhe":  # RFC 8422, Section 5.7
        _opaque(c, out, "ecdh_Yc", 1)
    elif kx == "dhe":  # RFC 5246, Section 7.4.7.2
        _opaque(c, out, "dh_Yc", 2)
    elif kx == "rsa":  # RFC 5246, Section 7.4.7.1
        _opaque(c, out, "EncryptedPreMasterSecret", 2)
    else:
        _opaque(c, out, "exchange_keys", 2)
        out[-1].note = "an RSA-encrypted pre-master secret or a DH public value; the cipher suite tells which"


_MESSAGES: dict[int, Callable[[_Cur, Out, _Opts, bool], None]] = {
    HandshakeType.hello_request: _empty,
    HandshakeType.client_hello: _client_hello,
    HandshakeType.server_hello: _server_hello,
    HandshakeType.new_session_ticket: _new_session_ticket,
    HandshakeType.end_of_early_data: _empty,
    HandshakeType.encrypted_extensions: _encrypted_extensions,
    HandshakeType.certificate: _certificate,
    HandshakeType.server_key_exchange: _server_key_exchange,
    HandshakeType.certificate_request: _certificate_request,
    HandshakeType.server_hello_done: _empty,
    HandshakeType.certificate_verify: _certificate_verify,
    HandshakeType.client_key_exchange: _client_key_exchange,
    HandshakeType.finished: _finished,
    HandshakeType.certificate_status: _certificate_status,
    HandshakeType.key_update: _key_update,
    HandshakeType.message_hash: _message_hash,
}
_VERSIONED = (_certificate, _certificate_request, _new_session_ticket)


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


def _ext_server_name(c: _Cur, out: Out, ctx: str) -> str | None:
    if ctx != "ClientHello":
        return None  # empty in the server's answer (RFC 6066, Section 3)

    def entry(c: _Cur, out: Out) -> str:
        _int(c, out, "name_type", 1, _named({0: "host_name"}))
        return _text(_opaque(c, out, "HostName", 2, _text))

    return _block(c, out, "server_name_list", 2, _items(lambda c, o: _group(c, o, "ServerName", entry).value)).value


def _ext_groups(c: _Cur, out: Out, ctx: str) -> str:
    return _list(c, out, "named_group_list", 2, "NamedGroup", 2, _enum(NamedGroup, 2))


def _ext_signature_algorithms(c: _Cur, out: Out, ctx: str) -> str:
    return _list(c, out, "supported_signature_algorithms", 2, "SignatureScheme", 2, _enum(SignatureScheme, 2))


def _ext_point_formats(c: _Cur, out: Out, ctx: str) -> str:
    names = {0: "uncompressed", 1: "ansiX962_compressed_prime", 2: "ansiX962_compressed_char2"}
    return _list(c, out, "ec_point_format_list", 1, "ECPointFormat", 1, _named(names))


def _ext_alpn(c: _Cur, out: Out, ctx: str) -> str:
    def name(c: _Cur, out: Out) -> str:
        return _text(_opaque(c, out, "ProtocolName", 1, _text))

    return _block(c, out, "protocol_name_list", 2, _items(name)).value


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


def _ext_supported_versions(c: _Cur, out: Out, ctx: str) -> str:
    if ctx == "ClientHello":
        return _list(c, out, "versions", 1, "ProtocolVersion", 2, _version)
    _int(c, out, "selected_version", 2, _version)
    return out[-1].value


def _key_share_entry(c: _Cur, out: Out) -> str:
    def entry(c: _Cur, out: Out) -> str:
        _int(c, out, "group", 2, _enum(NamedGroup, 2))
        key = _opaque(c, out, "key_exchange", 2)
        return f"{out[0].value.split(' ')[0]} ({_size(len(key))})"

    return _group(c, out, "KeyShareEntry", entry).value


def _ext_key_share(c: _Cur, out: Out, ctx: str) -> str:
    if ctx == "ClientHello":
        return _block(c, out, "client_shares", 2, _items(_key_share_entry)).value
    if ctx == "HelloRetryRequest":
        _int(c, out, "selected_group", 2, _enum(NamedGroup, 2))
        return out[-1].value
    return _key_share_entry(c, out)


def _ext_psk_modes(c: _Cur, out: Out, ctx: str) -> str:
    return _list(c, out, "ke_modes", 1, "PskKeyExchangeMode", 1, _enum(PskKeyExchangeMode, 1))


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
    _block(c, out, "binders", 2, _items(lambda c, o: _opaque(c, o, "PskBinderEntry", 1) and None))
    return f"{len(ids.children) - 1} identity offered"


def _ext_early_data(c: _Cur, out: Out, ctx: str) -> str | None:
    if ctx != "NewSessionTicket":
        return None
    _int(c, out, "max_early_data_size", 4, _size)
    return out[-1].value


def _ext_cookie(c: _Cur, out: Out, ctx: str) -> str:
    return _size(len(_opaque(c, out, "cookie", 2)))


def _ext_record_size_limit(c: _Cur, out: Out, ctx: str) -> str:
    _int(c, out, "RecordSizeLimit", 2, _size)
    return out[-1].value


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


def _ext_compress_certificate(c: _Cur, out: Out, ctx: str) -> str:
    names = {1: "zlib", 2: "brotli", 3: "zstd"}
    return _list(c, out, "algorithms", 1, "CertificateCompressionAlgorithm", 2, _named(names))


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
    E.supported_groups: _ext_groups,
    E.ec_point_formats: _ext_point_formats,
    E.signature_algorithms: _ext_signature_algorithms,
    E.signature_algorithms_cert: _ext_signature_algorithms,
    E.heartbeat: _ext_heartbeat,
    E.application_layer_protocol_negotiation: _ext_alpn,
    E.signed_certificate_timestamp: _ext_opaque("SignedCertificateTimestampList"),
    E.padding: _ext_padding,
    E.compress_certificate: _ext_compress_certificate,
    E.record_size_limit: _ext_record_size_limit,
    E.session_ticket: _ext_session_ticket,
    E.pre_shared_key: _ext_pre_shared_key,
    E.early_data: _ext_early_data,
    E.supported_versions: _ext_supported_versions,
    E.cookie: _ext_cookie,
    E.psk_key_exchange_modes: _ext_psk_modes,
    E.certificate_authorities: _ext_certificate_authorities,
    E.key_share: _ext_key_share,
    E.renegotiation_info: _ext_renegotiation_info,
    E.encrypted_client_hello: _ext_opaque("ECHClientHello"),
}
