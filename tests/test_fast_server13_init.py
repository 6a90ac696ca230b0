"""The frozen dataclasses a TLS 1.3 server makes per handshake write their fields straight into
the instance's dict in an __init__ of their own (issue 15), as observe.py's events do, instead
of the generated one's object.__setattr__ per field. Each must take what the generated one
would (every field, in order, with its default), keep every value, and stay frozen."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from glasstls.handshake import psk13, server13
from glasstls.session.state import SessionState

OWN_INIT = [
    server13.Decisions,
    server13.ServerFlight,
    server13.ExpectClientFinished,
    psk13.AcceptedPsk,
    psk13.SessionBasis,
    psk13.PskOffer,
    SessionState,
]


@pytest.mark.parametrize("cls", OWN_INIT, ids=lambda c: c.__name__)
def test_the_init_takes_the_fields_in_order_with_their_defaults(cls: type) -> None:
    assert "__init__" in vars(cls)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # (self)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    assert [p.name for p in params] == [f.name for f in fields]
    for param, f in zip(params, fields, strict=True):
        default = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert param.default == default and param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


class _Value:
    """A distinct value per field (the checks of SessionState aside, nothing looks at them)."""

    def __init__(self, name: str) -> None:
        self.name = name


@pytest.mark.parametrize("cls", [c for c in OWN_INIT if c is not SessionState], ids=lambda c: c.__name__)
def test_every_value_is_kept_positionally_by_keyword_and_by_replace(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    values = {name: _Value(name) for name in names}
    for made in (cls(*values.values()), cls(**values)):
        assert vars(made) == values
        other = {name: _Value(name) for name in names[:1]}
        changed = dataclasses.replace(made, **other)
        assert vars(changed) == {**values, **other}
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, names[0], None)
    required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
    defaulted = cls(**{name: values[name] for name in required})
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            assert getattr(defaulted, f.name) == f.default
