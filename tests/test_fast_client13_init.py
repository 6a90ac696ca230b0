"""The frozen dataclasses a TLS 1.3 client makes per handshake (and TrafficSecrets, both sides' and
each KeyUpdate's) write their fields straight into the instance's dict in an __init__ of their own
(issue 15), as the server's do (tests/test_fast_server13_init.py), instead of the generated one's
object.__setattr__ per field. Each must take what the generated one would (every field, in order,
with its default), keep every value, and stay frozen."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from glasstls.handshake import client13
from glasstls.handshake.post_handshake import TrafficSecrets

OWN_INIT = [
    client13.HandshakeKeys,
    client13.ServerChoices,
    client13.ExpectEncryptedExtensions,
    client13.ExpectCertificateOrRequest,
    client13.ExpectCertificate,
    client13.ExpectCertificateVerify,
    client13.ExpectFinished,
    TrafficSecrets,
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
    """A distinct value per field (nothing looks at them)."""

    def __init__(self, name: str) -> None:
        self.name = name


@pytest.mark.parametrize("cls", OWN_INIT, ids=lambda c: c.__name__)
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


def test_traffic_secrets_compare_and_print_as_before() -> None:
    """TrafficSecrets keeps the dataclass's eq, hash and repr (secrets hidden from it)."""
    a = TrafficSecrets(client13.TLS13_SUITES[0x1301], b"c" * 32, b"s" * 32, b"e" * 32)
    b = TrafficSecrets(client13.TLS13_SUITES[0x1301], b"c" * 32, b"s" * 32, b"e" * 32, 0)
    assert a == b and hash(a) == hash(b) and a != dataclasses.replace(b, read_generation=1)
    assert "c" * 32 not in repr(a) and "read_generation=0" in repr(a)
