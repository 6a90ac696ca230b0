"""Frozen dataclasses whose ``__init__`` hands the instance its whole dict in one call.

A frozen dataclass's generated ``__init__`` sets each field through
``object.__setattr__``, since its own ``__setattr__`` refuses. For the small
records a handshake makes by the dozen (a decoded extension, the data a state
carries on, a session), those calls are most of what making one costs: a
seven-field record took some 12,000 instructions that way and about 6,000 with
its dict given at once. :func:`dict_init` writes that ``__init__`` for a class,
from the class's own fields, so that no signature is written out by hand: the
same parameters in the same order, with their defaults, default factories and
keyword-only markers; fields with ``init=False`` get their default or factory as
the generated ``__init__`` would; ``__post_init__`` is still called. The class
stays frozen: assigning to a field raises as before.

What it costs: an instance given its dict at once holds a dict of its own, not
the compact one CPython shares between the instances of a class. For the records
a connection keeps for its life (NegotiatedParameters, TrafficSecrets,
SessionBasis) that is about 1,100 bytes more per idle pair of connections
(12,780 -> 13,880 with bench.py's memory worker, a tenth of what an idle pair
holds, a third of the ssl module's), against 37,000 instructions (0.8 %) more
per TLS 1.3 resumption with the dataclass's own ``__init__`` for those three.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

_Class = TypeVar("_Class", bound=type)


class _Factory:
    """The default of a parameter whose field has a default factory (called in ``__init__``)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def dict_init(cls: _Class) -> _Class:
    """Give the frozen dataclass ``cls`` an ``__init__`` that sets its dict at once (see the module doc)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"dict_init is for frozen dataclasses; {cls.__name__} is not one")
    if "__slots__" in cls.__dict__:
        raise TypeError(f"dict_init needs an instance dict; {cls.__name__} has __slots__")
    if any(type(value) is dataclasses.InitVar for value in inspect.get_annotations(cls).values()):
        raise TypeError(f"dict_init does not take InitVar fields ({cls.__name__})")
    namespace: dict[str, Any] = {"_set": object.__setattr__, "_FACTORY": _FACTORY}
    positional: list[str] = []
    keyword_only: list[str] = []
    body: list[str] = []
    entries: list[str] = []
    for field in dataclasses.fields(cls):
        name = field.name
        if field.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = field.default
            value = f"_default_{name}"
        elif field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{name}"] = field.default_factory
            value = f"_factory_{name}()"
        else:
            value = ""
        if not field.init:
            # As the generated __init__: a non-init field's factory is called; its plain default
            # is the class attribute, and without either it stays unset.
            if field.default_factory is not dataclasses.MISSING:
                entries.append(f"{name!r}: {value}")
            continue
        if field.default_factory is not dataclasses.MISSING:
            body.append(f"    if {name} is _FACTORY:\n        {name} = {value}")
            value = "_FACTORY"
        (keyword_only if field.kw_only else positional).append(f"{name}={value}" if value else name)
        entries.append(f"{name!r}: {name}")
    signature = ", ".join(["self", *positional, *(["*", *keyword_only] if keyword_only else [])])
    post_init = "    self.__post_init__()\n" if hasattr(cls, "__post_init__") else ""
    source = (
        f"def __init__({signature}):\n"
        + "".join(line + "\n" for line in body)
        + f"    _set(self, '__dict__', {{{', '.join(entries)}}})\n"
        + post_init
    )
    exec(source, namespace)  # (built from the class's own field names, as dataclasses does)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = {f.name: f.type for f in dataclasses.fields(cls) if f.init} | {"return": None}
    init.made_by_dict_init = True  # type: ignore[attr-defined]  # (tests/test_frozen_init.py asks)
    cls.__init__ = init  # type: ignore[misc]
    return cls
