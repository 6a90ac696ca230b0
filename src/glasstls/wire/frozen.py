"""A cheaper ``__init__`` for the frozen dataclasses a handshake makes dozens of.

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``
(its own ``__setattr__`` refuses), a call per field: a 14-field SessionState spends some
14k instructions on it, and a TLS 1.3 resumption makes about 140 such fields. :func:`quick_init`
gives a frozen dataclass an ``__init__`` with the same signature (names, order, defaults) that
writes the fields into the instance's ``__dict__`` and then calls ``__post_init__`` as the
generated one does; nothing else of the class changes (it stays frozen to its users).
The generated ``__init__`` is kept as ``_dataclass_init``, which the tests compare it with.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar

C = TypeVar("C", bound=type)


def quick_init(cls: C) -> C:
    """Decorate a ``@dataclass(frozen=True)`` class (put it above the ``@dataclass`` line)."""
    params = dataclasses.fields(cls)
    generated = cls.__dict__.get("__init__")
    if not cls.__dataclass_params__.frozen or generated is None or "__slots__" in cls.__dict__:  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__}: quick_init is for a frozen dataclass without slots")
    names = [p.name for p in params]
    if (
        any(not p.init or p.kw_only or p.default_factory is not dataclasses.MISSING for p in params)
        or list(inspect.signature(generated).parameters)[1:] != names
    ):
        raise TypeError(f"{cls.__name__}: quick_init takes plain fields only (no factory, init=False, InitVar)")
    defaults = {f"_default_{p.name}": p.default for p in params if p.default is not dataclasses.MISSING}
    signature = ", ".join(p.name if p.default is dataclasses.MISSING else f"{p.name}=_default_{p.name}" for p in params)
    lines = [f"def __init__(self, {signature}):" if params else "def __init__(self):", "    d = self.__dict__"]
    lines += [f"    d[{name!r}] = {name}" for name in names]
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), dict(defaults), namespace)  # as dataclasses builds its own __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = generated.__doc__
    cls._dataclass_init = generated  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]
    return cls
