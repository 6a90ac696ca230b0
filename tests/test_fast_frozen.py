"""quick_init (issue 15): the frozen dataclasses a handshake makes dozens of get an ``__init__``
that writes their fields directly; it must take the same arguments and build the same objects
as the one dataclasses generated, which it keeps as ``_dataclass_init``."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime
from typing import Any

import pytest

from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import CipherSuite, NamedGroup, PskKeyExchangeMode
from glasstls.enums import ExtensionType as E
from glasstls.handshake import client13, post_handshake, psk13, server13
from glasstls.session.state import TLS13, SessionState
from glasstls.wire import extensions as X
from glasstls.wire.frozen import quick_init

SUITE = TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
NOW = datetime(2026, 1, 2, tzinfo=UTC)
_SESSION = {
    "version": TLS13,
    "cipher_suite": 0x1301,
    "master_secret": bytes(32),
    "extended_master_secret": False,
    "server_name": "example.com",
    "alpn": "h2",
    "created": NOW,
    "lifetime": 7200,
    "ticket_nonce": b"n",
    "peer_certificates": (b"der",),
}

# Each decorated class, with keyword arguments enough to build one (the others left to their defaults).
CASES: list[tuple[type, dict[str, Any]]] = [
    (X.Extension, {"type": E.key_share, "data": b"d"}),
    (X.KeyShareEntry, {"group": NamedGroup.x25519, "key_exchange": b"k"}),
    (X.PskIdentity, {"identity": b"i", "obfuscated_ticket_age": 7}),
    (X.OfferedPsks, {"identities": (), "binders": (b"b",)}),
    (SessionState, _SESSION),
    (
        post_handshake.TrafficSecrets,
        dict(zip(("suite", "client", "server", "exporter_master"), (SUITE, b"c", b"s", b"e"), strict=True)),
    ),
    (psk13.SessionBasis, {"server_name": None, "alpn": "h2"}),
    (psk13.PskOffer, {"identity": b"i", "secret": b"s", "suite": SUITE, "session": None, "modes": ()}),
    (
        psk13.AcceptedPsk,
        {
            "index": 0,
            "identity": b"i",
            "secret": b"s",
            "suite": SUITE,
            "mode": PskKeyExchangeMode.psk_dhe_ke,
            "session": None,
        },
    ),
    (
        server13.Decisions,
        {"suite": SUITE, "group": None, "certified": None, "scheme": None, "alpn": None, "server_name": "x"},
    ),
    (
        server13.ServerFlight,
        {
            "decisions": None,
            "transcript": None,
            "client_handshake_secret": b"c",
            "traffic": None,
            "master": None,
            "client_offered_post_handshake_auth": False,
        },
    ),
    (server13.ExpectClientFinished, {"flight": None, "client_chain": ()}),
    (
        client13.HandshakeKeys,
        {"suite": SUITE, "stage": None, "transcript": None, "client_secret": b"c", "server_secret": b"s"},
    ),
    (client13.ExpectEncryptedExtensions, {"keys": None, "group": NamedGroup.x25519}),
    (client13.ServerChoices, {"group": None, "alpn": "h2"}),
]


@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_quick_init_builds_what_the_generated_init_builds(cls: type, kwargs: dict[str, Any]) -> None:
    generated = cls._dataclass_init  # type: ignore[attr-defined]
    assert list(inspect.signature(cls).parameters) == list(inspect.signature(generated).parameters)[1:]
    for name, param in inspect.signature(cls).parameters.items():
        assert param.default == inspect.signature(generated).parameters[name].default
    quick = cls(**kwargs)
    slow = object.__new__(cls)
    generated(slow, **kwargs)
    assert vars(quick) == vars(slow)
    positional = [kwargs.get(f.name, f.default) for f in dataclasses.fields(cls)]
    assert vars(cls(*positional)) == vars(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.anything = 1  # type: ignore[attr-defined]


def test_client_finished_state_is_decorated_too() -> None:
    assert hasattr(client13.ExpectFinished, "_dataclass_init")


def test_post_init_still_runs() -> None:
    with pytest.raises(ValueError, match="32 or 48 bytes"):
        SessionState(**{**_SESSION, "master_secret": b"short"})
    naive = SessionState(**{**_SESSION, "created": datetime(2026, 1, 2, 1, tzinfo=UTC).astimezone()})
    assert naive.created.tzinfo is UTC


def test_quick_init_refuses_what_it_cannot_copy() -> None:
    @dataclasses.dataclass
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    @dataclasses.dataclass(frozen=True)
    class Hidden:
        a: int = dataclasses.field(default=0, init=False)

    for cls in (Mutable, Factory, Hidden):
        with pytest.raises(TypeError):
            quick_init(cls)
