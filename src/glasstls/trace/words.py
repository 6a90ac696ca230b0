"""The small words of a trace: byte counts, plurals, hex, lists, code point and version names.

At the bottom of :mod:`glasstls.trace` (it imports no renderer): :mod:`describe` and the others
build their fields and lines from these.
"""

from __future__ import annotations

import contextlib
from enum import Enum
from typing import Any

from ..enums import ProtocolVersion
from ..text import printable

HEX_LIMIT = 32  # bytes of an opaque value shown in hex before "…"


def hexs(data: bytes, limit: int | None = HEX_LIMIT) -> str:
    """``data`` in hex, cut after ``limit`` bytes with a note of the full length."""
    if limit is not None and len(data) > limit:
        return f"{data[:limit].hex()}… ({len(data)} bytes)"
    return data.hex()


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def nbytes(n: int) -> str:
    return f"{n} byte" if n == 1 else f"{n} bytes"  # plural(n, "byte"), one call fewer: every record line has two


def enum_name(value: Any, enum: type | None = None) -> str:
    """The name of a code point, whatever the message was built with.

    A parsed message holds open enums (``SignatureScheme.ed25519``), but one
    built in code may hold a plain int: that is named through ``enum`` when
    given, else shown in hex; a value no enum accepts is shown as it is.
    """
    # A member's name is its _name_ (read here without the name property's two Python calls).
    name = value._name_ if isinstance(value, Enum) else getattr(value, "name", None)
    if isinstance(name, str):
        return name
    if enum is not None:
        with contextlib.suppress(ValueError, TypeError):
            return str(enum(value).name)
    return f"0x{value:02x}" if isinstance(value, int) else printable(repr(value))


# The labels of the versions glasstls names, by code point: the common case without an enum lookup.
_KNOWN_VERSION_LABELS = {int(v): v.label for v in ProtocolVersion}


def version_label(value: int) -> str:
    if type(value) is int or type(value) is ProtocolVersion:
        label = _KNOWN_VERSION_LABELS.get(value)
        if label is not None:
            return label
    try:
        v = ProtocolVersion(value)
    except (ValueError, TypeError):  # wider than 16 bits: not a code point at all
        return enum_name(value)
    return v.label if v.known else v.name


def names(values: Any) -> str:
    return ", ".join(map(str, values)) or "(none)"
