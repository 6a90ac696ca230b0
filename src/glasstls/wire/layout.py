"""Message layouts: one description of a message's fields, read three ways.

A layout is the struct of the RFC as data: a tuple of field specs in wire
order (:class:`Int`, :class:`Raw`, :class:`Opaque`, :class:`Vector` of items,
and :class:`Custom` blocks such as :class:`glasstls.wire.extensions.Extensions`).
The same tuple drives

* the strict parser (:func:`read`): every block consumed exactly, a bad
  length or a truncation is decode_error naming the field, a failed
  ``check`` is illegal_parameter with the check's reason;
* the encoder (:func:`write`);
* the trace's field tree (:mod:`glasstls.trace.fields_messages`), which
  walks the same specs leniently over bytes the parser would reject and
  renders each value as ``kind`` and ``show`` say.

A message class lists its fields in ``layout`` in the order of its dataclass
fields, so ``cls(*read(cls.layout, r))`` builds it (see
:class:`glasstls.wire.handshake.Handshake`); the simple extension bodies are
one-field layouts (:mod:`glasstls.wire.extensions`). What is not a layout,
and why: ``docs/design/message-grammar.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, TypeVar

from ..enums import AlertDescription, OpenEnum
from ..errors import AlertError
from .codec import Reader, Writer, put_vec, u16s

E = TypeVar("E", bound=OpenEnum)


@dataclass(frozen=True)
class Int:
    """An unsigned integer of ``width`` bytes (``uint8`` … ``uint32``).

    ``kind``: the registry the parser reads the value as (and the trace names
    it from). ``show``: how the trace renders a value no registry names, as
    names (``{0: "null"}``), a format (``"{} s"``) or ``"size"``. ``check``: the reason a
    parsed value is illegal_parameter, or None. ``selects``: the fields after
    this one depend on its value (``select`` in the RFC), so a failed check
    ends the trace's reading too. ``shown_as``: the trace's name, where the
    tests pin one different from the parser's.
    """

    name: str
    width: int
    kind: type[OpenEnum] | None = None
    show: Mapping[int, str] | str | None = None
    check: Callable[[Any], str | None] | None = None
    selects: bool = False
    shown_as: str = ""

    def read(self, r: Reader) -> Any:
        value: Any = _INT_READERS[self.width](r, self.name)
        kind = self.kind
        if kind is not None:  # member_of, inline: most fields are a registry's
            member = kind._value2member_map_.get(value)
            value = member if member is not None else kind(value)
        check = self.check
        if check is not None:
            why = check(value)
            if why:
                raise AlertError(AlertDescription.illegal_parameter, why)
        return value

    def write(self, w: Writer, value: Any) -> None:
        self.put(w._buf, value)

    def put(self, buf: bytearray, value: Any) -> None:
        width = self.width
        if width == 1:
            buf.append(value)
        else:
            buf += value.to_bytes(width, "big")


@dataclass(frozen=True)
class Raw:
    """``opaque name[size]``; ``size`` None: the rest of the message (Finished's verify_data)."""

    name: str
    size: int | None = None

    def read(self, r: Reader) -> bytes:
        return r.raw(r.remaining() if self.size is None else self.size, self.name)

    def write(self, w: Writer, value: bytes) -> None:
        w._buf += value

    def put(self, buf: bytearray, value: bytes) -> None:
        buf += value


@dataclass(frozen=True)
class Opaque:
    """``opaque name<min_len..max_len>`` behind a ``width``-byte length.

    ``show`` tells the trace what the bytes are ("certificate", "text"); hex otherwise.
    """

    name: str
    width: int
    min_len: int = 0
    max_len: int | None = None
    show: str = ""
    shown_as: str = ""

    def read(self, r: Reader) -> bytes:
        return r.vec(self.width, self.name, self.min_len, self.max_len)

    def write(self, w: Writer, value: bytes) -> None:
        put_vec(w._buf, self.width, value)

    def put(self, buf: bytearray, value: bytes) -> None:
        put_vec(buf, self.width, value)


@dataclass(frozen=True)
class Struct:
    """A structure inside a vector (a CertificateEntry): its fields, and the type built from them."""

    name: str
    fields: tuple[Spec, ...]
    make: Callable[..., Any]

    def read(self, r: Reader) -> Any:
        return self.make(*read(self.fields, r))

    def write(self, w: Writer, value: Any) -> None:
        self.put(w._buf, value)

    def put(self, buf: bytearray, value: Any) -> None:
        for spec, v in zip(self.fields, field_values(value), strict=True):
            spec.put(buf, v)


@dataclass(frozen=True)
class Vector:
    """``Item name<min_len..2^(8*width)-1>``: a list of ``item`` (Int, Opaque or Struct), read as a tuple."""

    name: str
    width: int
    item: Int | Opaque | Struct
    min_len: int = 0

    def read(self, r: Reader) -> tuple[Any, ...]:
        item = self.item
        if isinstance(item, Int):
            values = (r.u8_list if item.width == 1 else r.u16_list)(self.width, self.name, self.min_len)
            kind = item.kind
            return tuple(values) if kind is None else members_of(kind, values)
        block = r.sub(self.width, self.name, self.min_len)
        read_item = item.read
        out = []
        while not block.at_end():
            out.append(read_item(block))
        return tuple(out)

    def write(self, w: Writer, value: Any) -> None:
        self.put(w._buf, value)

    def put(self, buf: bytearray, value: Any) -> None:
        item = self.item
        if isinstance(item, Int):
            values = list(value)
            put_vec(buf, self.width, bytes(values) if item.width == 1 else u16s(values))
            return
        body = bytearray()
        for v in value:
            item.put(body, v)
        put_vec(buf, self.width, body)


class Custom:
    """A field whose codec lives elsewhere: it reads and writes itself (the extensions block)."""

    def read(self, r: Reader) -> Any:
        raise NotImplementedError

    def write(self, w: Writer, value: Any) -> None:
        self.put(w._buf, value)

    def put(self, buf: bytearray, value: Any) -> None:
        raise NotImplementedError


Spec = Int | Raw | Opaque | Vector | Custom
Layout = tuple[Spec, ...]


# -- the strict parser and the encoder ----------------------------------------------------------
#
# Each spec reads and writes itself (``spec.read(r)``, ``spec.write(w, value)``): one method call per
# field instead of a chain of isinstance tests, which matters at tens of thousands of fields per few
# hundred handshakes. A message is written with ``spec.put(buf, value)``, which appends to a bytearray
# (``write`` is ``put`` on the Writer's): no Writer per message, no Writer method per field.

_INT_READERS: dict[int, Callable[[Reader, str], int]] = {1: Reader.u8, 2: Reader.u16, 3: Reader.u24, 4: Reader.u32}


def member_of(kind: type[E], value: int) -> E:
    """``kind(value)``: the member from the enum's own table; for a value it lacks, the pseudo-member
    of an open enum (enums.OpenEnum._missing_, asked directly: the Enum call around it costs as much
    again, and a hostile ClientHello may carry 32,767 unknown suites), else the Enum call (its error)."""
    member = kind._value2member_map_.get(value)
    if member is None:
        member = kind._missing_(value) or kind(value)
    return member  # type: ignore[return-value]  # the table is typed Enum


def members_of(kind: type[E], values: Iterable[int]) -> tuple[E, ...]:
    """``tuple(kind(v) for v in values)``, as :func:`member_of` does it."""
    get, missing = kind._value2member_map_.get, kind._missing_
    return tuple([m if (m := get(v)) is not None else (missing(v) or kind(v)) for v in values])  # type: ignore[misc]  # as above


def read(layout: Sequence[Spec], r: Reader) -> list[Any]:
    """The values of ``layout``'s fields, read strictly from ``r`` (not finished: the caller does)."""
    return [spec.read(r) for spec in layout]


def write(layout: Sequence[Spec], w: Writer, values: Sequence[Any]) -> Writer:
    """Append ``values``, one per field of ``layout``."""
    buf = w._buf
    for spec, value in zip(layout, values, strict=True):
        spec.put(buf, value)
    return w


def encode(layout: Sequence[Spec], *values: Any) -> bytes:
    buf = bytearray()
    for spec, value in zip(layout, values, strict=True):
        spec.put(buf, value)
    return bytes(buf)


_FIELD_VALUES: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def field_values(obj: Any) -> tuple[Any, ...]:
    """A dataclass's init fields, in order: what its layout writes (one getter per class, made on first use)."""
    get = _FIELD_VALUES.get(type(obj))
    if get is None:
        get = _FIELD_VALUES[type(obj)] = _getter(tuple(f.name for f in fields(obj) if f.init))
    return get(obj)


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        name = names[0]
        return lambda obj: (getattr(obj, name),)
    return lambda obj: ()


def values_of(obj: Any) -> list[Any]:
    """A dataclass's init fields, in order: what its layout writes."""
    return list(field_values(obj))
