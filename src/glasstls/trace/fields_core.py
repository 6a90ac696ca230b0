"""The building blocks of :mod:`glasstls.trace.fields`: :class:`Field`, the bounded cursor and value formatting.

Internal to the field-tree modules: :mod:`glasstls.trace.fields` (records,
content and handshake dispatch; the public API) and
:mod:`glasstls.trace.fields_messages` (the body of each handshake message and
extension) both build on these; this module imports neither.

A decoder reads with a :class:`_Cur` bounded to its block and appends
:class:`Field` nodes to a list; a layout that does not hold raises
:class:`_Bad`, which :func:`_fill` turns into an ``undecodable`` leaf at the
enclosing length-prefixed block.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..enums import ProtocolVersion
from ..text import printable

UNDECODABLE = "undecodable"


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
    # A peer's name (SNI, ALPN): escaped as every text output escapes them (glasstls.text).
    return printable(data)


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
    if not isinstance(value, int) or not 0 <= value <= 0xFFFF:  # not a code point: built wrong, shown as it is
        return printable(repr(value))
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
        # The names are the certificate owner's choice: escaped, like every value of a field tree.
        subject = printable(cert.subject.rfc4514_string()) or "(empty subject)"
        issuer = printable(cert.issuer.rfc4514_string()) or "(empty issuer)"
        return (
            f"{subject} (issuer {issuer}; valid {cert.not_valid_before_utc:%Y-%m-%d} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d}; {_size(len(der))})"
        )
    except Exception:
        return f"{_size(len(der))}, not a parsable X.509 certificate"
