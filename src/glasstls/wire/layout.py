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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from ..enums import AlertDescription, OpenEnum
from ..errors import AlertError
from .codec import Reader, Writer


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


@dataclass(frozen=True)
class Raw:
    """``opaque name[size]``; ``size`` None: the rest of the message (Finished's verify_data)."""

    name: str
    size: int | None = None


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


@dataclass(frozen=True)
class Struct:
    """A structure inside a vector (a CertificateEntry): its fields, and the type built from them."""

    name: str
    fields: tuple[Spec, ...]
    make: Callable[..., Any]


@dataclass(frozen=True)
class Vector:
    """``Item name<min_len..2^(8*width)-1>``: a list of ``item`` (Int, Opaque or Struct), read as a tuple."""

    name: str
    width: int
    item: Int | Opaque | Struct
    min_len: int = 0


class Custom:
    """A field whose codec lives elsewhere: it reads and writes itself (the extensions block)."""

    def read(self, r: Reader) -> Any:
        raise NotImplementedError

    def write(self, w: Writer, value: Any) -> None:
        raise NotImplementedError


Spec = Int | Raw | Opaque | Vector | Custom
Layout = tuple[Spec, ...]


# -- the strict parser -------------------------------------------------------------------------


def read(layout: Sequence[Spec], r: Reader) -> list[Any]:
    """The values of ``layout``'s fields, read strictly from ``r`` (not finished: the caller does)."""
    return [_read(spec, r) for spec in layout]


def _read(spec: Spec, r: Reader) -> Any:
    if isinstance(spec, Int):
        value: Any = (r.u8, r.u16, r.u24, r.u32)[spec.width - 1](spec.name)
        value = spec.kind(value) if spec.kind is not None else value
        why = spec.check(value) if spec.check is not None else None
        if why:
            raise AlertError(AlertDescription.illegal_parameter, why)
        return value
    if isinstance(spec, Raw):
        return r.raw(r.remaining() if spec.size is None else spec.size, spec.name)
    if isinstance(spec, Opaque):
        return r.vec(spec.width, spec.name, spec.min_len, spec.max_len)
    if isinstance(spec, Custom):
        return spec.read(r)
    item = spec.item
    if isinstance(item, Int):
        values = (r.u8_list if item.width == 1 else r.u16_list)(spec.width, spec.name, spec.min_len)
        return tuple(item.kind(v) for v in values) if item.kind is not None else tuple(values)
    block = r.sub(spec.width, spec.name, spec.min_len)
    out = []
    while not block.at_end():
        out.append(_read(item, block) if isinstance(item, Opaque) else item.make(*read(item.fields, block)))
    return tuple(out)


# -- the encoder -------------------------------------------------------------------------------


def write(layout: Sequence[Spec], w: Writer, values: Sequence[Any]) -> Writer:
    """Append ``values``, one per field of ``layout``."""
    for spec, value in zip(layout, values, strict=True):
        _write(spec, w, value)
    return w


def encode(layout: Sequence[Spec], *values: Any) -> bytes:
    return write(layout, Writer(), values).getvalue()


def values_of(obj: Any) -> list[Any]:
    """A dataclass's init fields, in order: what its layout writes."""
    return [getattr(obj, f.name) for f in fields(obj) if f.init]


def _write(spec: Spec, w: Writer, value: Any) -> None:
    if isinstance(spec, Int):
        (w.u8, w.u16, w.u24, w.u32)[spec.width - 1](value)
    elif isinstance(spec, Raw):
        w.raw(value)
    elif isinstance(spec, Opaque):
        w.vec(spec.width, value)
    elif isinstance(spec, Custom):
        spec.write(w, value)
    elif isinstance(spec.item, Int):
        (w.u8_list if spec.item.width == 1 else w.u16_list)(spec.width, list(value))
    else:
        item = spec.item
        body = Writer()
        for v in value:
            if isinstance(item, Opaque):
                _write(item, body, v)
            else:
                write(item.fields, body, values_of(v))
        w.vec(spec.width, body.getvalue())
