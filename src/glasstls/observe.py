"""Trace events: the structured record of every step of a connection.

A Connection emits these from a few choke points (record in/out, message
in/out, state change, secret derived / keys installed, alert, verification)
to the observer its caller attached. With no observer attached nothing is
built: every emitting site is guarded by one ``if observer`` test.

The four most frequent (a record, a message, a key installation, a verification
result) go to the observer's ``on_record``, ``on_message``, ``on_keys`` and
``on_verification`` with their fields; an Observer's own build the event and pass
it to ``__call__``, which is all a subclass need write. A callable that is no
Observer is wrapped (:func:`as_observer`) and gets every event.

Secrets are carried only to observers that ask for them
(``Observer.wants_secrets``), e.g. a key log writer. Secret and state events
are built only for observers that read them (``Observer.wants_secret_events``,
``Observer.wants_state_events``).

The events are frozen dataclasses, each with an ``__init__`` of its own: the one
``dataclass`` writes for a frozen class calls ``object.__setattr__`` for every
field and sets ``kind`` too (a class default here), which a traced handshake
(some forty events a side) pays for every field of every event. Each ``__init__``
stores its fields in the instance's dictionary instead, as the frozen class's own
``__setattr__`` would not let it (half the time per event); the instance is the
same size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .enums import AlertDescription, AlertLevel, ContentType
from .frozen import dict_init


@dataclass(frozen=True)
class TraceEvent:
    side: str  # "client" or "server"
    kind: str = field(init=False, default="event")


@dict_init
@dataclass(frozen=True)
class RecordTrace(TraceEvent):
    direction: str  # "in" or "out"
    content_type: ContentType  # outer type on the wire
    header: bytes
    payload: bytes  # as on the wire (ciphertext when protected)
    inner_type: ContentType | None = None  # type inside a protected record
    plaintext: bytes | None = None  # content of a protected record
    kind: str = field(init=False, default="record")


@dict_init
@dataclass(frozen=True)
class MessageTrace(TraceEvent):
    direction: str
    message: Any  # a wire.handshake message (keeps .raw)
    kind: str = field(init=False, default="message")


@dict_init
@dataclass(frozen=True)
class StateTrace(TraceEvent):
    old: str
    new: str
    kind: str = field(init=False, default="state")


@dict_init
@dataclass(frozen=True)
class SecretTrace(TraceEvent):
    label: str  # the RFC's name, e.g. "client_handshake_traffic_secret"
    client_random: bytes
    secret: bytes | None  # None unless the observer wants secrets
    kind: str = field(init=False, default="secret")


@dict_init
@dataclass(frozen=True)
class KeysTrace(TraceEvent):
    direction: str  # "read" or "write"
    epoch: str  # "handshake", "application", "application+1", ...
    suite: str
    kind: str = field(init=False, default="keys")


@dict_init
@dataclass(frozen=True)
class AlertTrace(TraceEvent):
    direction: str
    level: AlertLevel
    description: AlertDescription
    reason: str = ""
    kind: str = field(init=False, default="alert")


@dict_init
@dataclass(frozen=True)
class VerificationTrace(TraceEvent):
    subject: str
    ok: bool
    detail: str
    kind: str = field(init=False, default="verification")


class Observer:
    """Receives trace events. Subclass, or wrap a callable with :func:`observer`."""

    wants_secrets = False  # the secret values themselves (a key log); without, SecretTrace.secret is None
    # Whether the observer reads SecretTrace and StateTrace events at all. An observer that does not (a
    # plain text trace prints neither) may be sent none: the connection then builds no such event (a
    # TLS 1.3 handshake derives some sixteen secrets and changes state about seven times on each side).
    # A connection asks once, when it is made.
    wants_secret_events = True
    wants_state_events = True

    def __call__(self, event: TraceEvent) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    # What a connection calls for its four most frequent events (a traced TLS 1.3 handshake makes
    # some forty of them, two sides together), with the event's fields. Each builds its event and
    # hands it to __call__, so an observer need write __call__ alone; one that can do its work from
    # the fields (TextTrace, writing a line it has already written once) overrides them and builds
    # no event at all. Alerts, secrets and state changes come to __call__ as events.
    def on_record(
        self,
        side: str,
        direction: str,
        content_type: ContentType,
        header: bytes,
        payload: bytes,
        inner_type: ContentType | None = None,
        plaintext: bytes | None = None,
    ) -> None:
        self(RecordTrace(side, direction, content_type, header, payload, inner_type, plaintext))

    def on_message(self, side: str, direction: str, message: Any) -> None:
        self(MessageTrace(side, direction, message))

    def on_keys(self, side: str, direction: str, epoch: str, suite: str) -> None:
        self(KeysTrace(side, direction, epoch, suite))

    def on_verification(self, side: str, subject: str, ok: bool, detail: str) -> None:
        self(VerificationTrace(side, subject, ok, detail))


class _CallableObserver(Observer):
    def __init__(self, fn: Callable[[TraceEvent], None], wants_secrets: bool) -> None:
        self._fn = fn
        self.wants_secrets = wants_secrets

    def __call__(self, event: TraceEvent) -> None:
        self._fn(event)


def observer(fn: Callable[[TraceEvent], None], *, wants_secrets: bool = False) -> Observer:
    """An Observer that calls ``fn`` with every trace event of the connections it is given to
    (records, messages, state changes, keys, alerts, verification results). ``wants_secrets``:
    whether key-schedule secrets come with their values (for a key log), which is asked of the
    observer and never the default."""
    return _CallableObserver(fn, wants_secrets)


class _DuckObserver(Observer):
    """A callable given as an observer without being one: what it says it wants, and every event
    through its own call (the Observer entry points a connection calls build them)."""

    def __init__(self, duck: Any) -> None:
        self._duck = duck

    @property
    def wants_secrets(self) -> bool:  # type: ignore[override]  # read-only: the duck's own, as it says now
        return bool(getattr(self._duck, "wants_secrets", False))

    @property
    def wants_secret_events(self) -> bool:  # type: ignore[override]
        return bool(getattr(self._duck, "wants_secret_events", True))

    @property
    def wants_state_events(self) -> bool:  # type: ignore[override]
        return bool(getattr(self._duck, "wants_state_events", True))

    def __call__(self, event: TraceEvent) -> None:
        self._duck(event)


def as_observer(candidate: Any) -> Observer:
    """``candidate`` if it is an :class:`Observer`; else an Observer that hands it every event."""
    return candidate if isinstance(candidate, Observer) else _DuckObserver(candidate)


class EventList(Observer):
    """An observer that keeps every event, for tests and renderers."""

    def __init__(self, wants_secrets: bool = False) -> None:
        self.events: list[TraceEvent] = []
        self.wants_secrets = wants_secrets

    def __call__(self, event: TraceEvent) -> None:
        self.events.append(event)
