"""The types of a configuration's fields, checked when it is built.

A field given a value of another type (``tls13_tickets=2.5``, ``trust_store="/path"``,
``limits=None``, ``certificates=key`` for ``(key,)``) was accepted and failed later, at a
connection or deep inside a handshake, as an AttributeError or as an "internal error". Each
field's annotation says what it takes; this reads the plain ones (a class, optionally ``| None``,
or a tuple of a class) and checks the value against them, so the error names the field when the
configuration is made. Annotations it cannot read (protocols, callables) are left to the
configuration's own checks.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError
from .profiles import FlagFromProfile

_BUILTINS: dict[str, type] = {"bool": bool, "int": int, "float": float, "str": str, "bytes": bytes}


@functools.cache
def _reading(annotation: str) -> tuple[str, str, bool] | None:
    """An annotation as (form, class name, None allowed): form "one" (``X``) or "tuple" (``tuple[X, ...]``)."""
    parts = [p.strip() for p in annotation.split(" | ")]
    optional = "None" in parts
    parts = [p for p in parts if p != "None"]
    if len(parts) != 1 or "[" in parts[0].removeprefix("tuple[").removesuffix(", ...]"):
        return None
    part = parts[0]
    if part.startswith("tuple[") and part.endswith(", ...]"):
        return "tuple", part[len("tuple[") : -len(", ...]")], optional
    return ("one", part, optional) if "[" not in part else None


def _is(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, (bool, FlagFromProfile))  # (a flag the profile set: true or false)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)  # (True is not a count)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_field_types(config: Any, classes: Mapping[str, type]) -> None:
    """ConfigError for the first field of ``config`` (a dataclass) whose value is not of its annotated type.

    ``classes`` names the classes annotations may use besides the builtins; a field whose annotation
    names another is not checked here. A tuple field may be given as any sequence but a str or bytes.
    """
    known = {**_BUILTINS, **classes}
    for field in dataclasses.fields(config):
        reading = _reading(str(field.type))
        if reading is None or reading[1] not in known:
            continue
        form, name, optional = reading
        value, kind = getattr(config, field.name), known[name]
        if value is None and optional:
            continue
        where = f"{type(config).__name__}.{field.name}"
        if form == "one":
            if not _is(value, kind):
                raise ConfigError(f"{where} takes {field.type}, not {type(value).__name__} ({value!r:.80})")
            continue
        if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
            raise ConfigError(f"{where} takes a sequence ({field.type}), not {type(value).__name__} ({value!r:.80})")
        for item in value:
            if not _is(item, kind):
                raise ConfigError(f"{where} holds a {type(item).__name__} ({item!r:.80}), where it takes {name}")
