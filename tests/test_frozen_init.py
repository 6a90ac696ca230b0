"""glasstls.frozen.dict_init: the __init__ it writes takes what the dataclass's own takes and
makes the same instance, for every kind of field, and the class stays frozen."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

import pytest

from glasstls import events, observe
from glasstls.frozen import dict_init
from glasstls.handshake import client13, post_handshake, psk13, server13
from glasstls.session.state import SessionState
from glasstls.wire import extensions


def _both(body: dict[str, Any], post_init: bool = False) -> tuple[type, type]:
    """The same frozen dataclass twice: as dataclasses makes it, and with dict_init."""

    def make() -> type:
        namespace = dict(body)
        if post_init:

            def __post_init__(self: Any) -> None:
                object.__setattr__(self, "derived", (self.a, self.b))

            namespace["__post_init__"] = __post_init__
        return dataclass(frozen=True)(type("Record", (), namespace))

    return make(), dict_init(make())


FIELDS: dict[str, Any] = {
    "__annotations__": {"a": "int", "b": "str", "c": "bytes", "d": "list", "e": "int", "f": "int", "g": "dict"},
    "c": b"c",
    "d": field(default_factory=list),
    "e": field(default=5, kw_only=True),
    "f": field(default=7, init=False),
    "g": field(default_factory=dict, init=False),
}


@pytest.mark.parametrize("post_init", [False, True])
def test_same_signature_and_instances(post_init: bool) -> None:
    plain, fast = _both(FIELDS, post_init)
    assert str(inspect.signature(fast)) == str(inspect.signature(plain))
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((1, "b"), {}),
        ((1, "b", b"x"), {}),
        ((1, "b", b"x", [1]), {"e": 9}),
        ((), {"a": 2, "b": "y", "d": [2], "c": b""}),
    ]
    for args, kwargs in calls:
        want, got = plain(*args, **kwargs), fast(*args, **kwargs)
        assert dataclasses.asdict(got) == dataclasses.asdict(want)
        assert got.__dict__ == want.__dict__  # the non-init field and __post_init__'s work included
        assert got == fast(*args, **kwargs) and repr(got).replace("Record", "") == repr(want).replace("Record", "")


def test_factory_makes_a_fresh_value_each_time() -> None:
    _, fast = _both(FIELDS)
    one, two = fast(1, "b"), fast(1, "b")
    assert one.d == [] and one.d is not two.d


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1,), {}), ((1, "b", b"", [], 5), {}), ((1, "b"), {"f": 1}), ((1, "b"), {"z": 1}), ((1,), {"a": 1})],
)
def test_bad_calls_fail_alike(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, fast = _both(FIELDS)
    with pytest.raises(TypeError):
        plain(*args, **kwargs)
    with pytest.raises(TypeError):
        fast(*args, **kwargs)


def test_the_class_stays_frozen() -> None:
    _, fast = _both(FIELDS)
    record = fast(1, "b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.a = 2
    assert dataclasses.replace(record, a=3).a == 3


def test_refuses_what_it_cannot_make() -> None:
    with pytest.raises(TypeError, match="frozen"):
        dict_init(dataclass(type("Open", (), {"__annotations__": {"a": "int"}})))
    with pytest.raises(TypeError, match="__slots__"):
        dict_init(dataclass(frozen=True, slots=True)(type("Slotted", (), {"__annotations__": {"a": "int"}})))


# The frozen records the stack makes per handshake (issue 15: a generated __init__'s
# object.__setattr__ per field was most of their cost).
STACK = [
    server13.Decisions,
    server13.ServerFlight,
    server13.ExpectClientFinished,
    psk13.AcceptedPsk,
    psk13.SessionBasis,
    psk13.PskOffer,
    client13.HandshakeKeys,
    client13.ServerChoices,
    client13.ExpectEncryptedExtensions,
    client13.ExpectCertificateOrRequest,
    client13.ExpectCertificate,
    client13.ExpectCertificateVerify,
    client13.ExpectFinished,
    post_handshake.TrafficSecrets,
    extensions.Extension,
    extensions.KeyShareEntry,
    extensions.PskIdentity,
    extensions.OfferedPsks,
    events.NegotiatedParameters,
    events.HandshakeComplete,
    events.NewTicket,
    observe.RecordTrace,
    observe.MessageTrace,
    observe.StateTrace,
    observe.SecretTrace,
    observe.KeysTrace,
    observe.AlertTrace,
    observe.VerificationTrace,
    SessionState,
]


class _Value:
    """A distinct value per field (nothing looks at them but SessionState's checks)."""

    def __init__(self, name: str) -> None:
        self.name = name


@pytest.mark.parametrize("cls", STACK, ids=lambda c: c.__name__)
def test_the_stack_s_records_are_made_by_dict_init(cls: type) -> None:
    assert getattr(vars(cls)["__init__"], "made_by_dict_init", False)


@pytest.mark.parametrize("cls", [c for c in STACK if c is not SessionState], ids=lambda c: c.__name__)
def test_every_value_is_kept_positionally_by_keyword_and_by_replace(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    values = {name: _Value(name) for name in names}
    for made in (cls(*values.values()), cls(**values)):
        assert {k: v for k, v in vars(made).items() if k in values} == values
        other = {names[0]: _Value("other")}
        assert getattr(dataclasses.replace(made, **other), names[0]) is other[names[0]]
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, names[0], None)
