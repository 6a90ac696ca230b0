"""Trace events: the structured record of every step of a connection.

A Connection emits these from a few choke points (record in/out, message
in/out, state change, secret derived / keys installed, alert, verification)
to the observer its caller attached. With no observer attached nothing is
built: every emitting site is guarded by one ``if observer`` test.

Secrets are carried only to observers that ask for them
(``Observer.wants_secrets``), e.g. a key log writer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .enums import AlertDescription, AlertLevel, ContentType


@dataclass(frozen=True)
class TraceEvent:
    side: str  # "client" or "server"
    kind: str = field(init=False, default="event")


@dataclass(frozen=True)
class RecordTrace(TraceEvent):
    direction: str  # "in" or "out"
    content_type: ContentType  # outer type on the wire
    header: bytes
    payload: bytes  # as on the wire (ciphertext when protected)
    inner_type: ContentType | None = None  # type inside a protected record
    plaintext: bytes | None = None  # content of a protected record
    kind: str = field(init=False, default="record")


@dataclass(frozen=True)
class MessageTrace(TraceEvent):
    direction: str
    message: Any  # a wire.handshake message (keeps .raw)
    kind: str = field(init=False, default="message")


@dataclass(frozen=True)
class StateTrace(TraceEvent):
    old: str
    new: str
    kind: str = field(init=False, default="state")


@dataclass(frozen=True)
class SecretTrace(TraceEvent):
    label: str  # the RFC's name, e.g. "client_handshake_traffic_secret"
    client_random: bytes
    secret: bytes | None  # None unless the observer wants secrets
    kind: str = field(init=False, default="secret")


@dataclass(frozen=True)
class KeysTrace(TraceEvent):
    direction: str  # "read" or "write"
    epoch: str  # "handshake", "application", "application+1", ...
    suite: str
    kind: str = field(init=False, default="keys")


@dataclass(frozen=True)
class AlertTrace(TraceEvent):
    direction: str
    level: AlertLevel
    description: AlertDescription
    reason: str = ""
    kind: str = field(init=False, default="alert")


@dataclass(frozen=True)
class VerificationTrace(TraceEvent):
    subject: str
    ok: bool
    detail: str
    kind: str = field(init=False, default="verification")


class Observer:
    """Receives trace events. Subclass, or wrap a callable with :func:`observer`."""

    wants_secrets = False

    def __call__(self, event: TraceEvent) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class _CallableObserver(Observer):
    def __init__(self, fn: Callable[[TraceEvent], None], wants_secrets: bool) -> None:
        self._fn = fn
        self.wants_secrets = wants_secrets

    def __call__(self, event: TraceEvent) -> None:
        self._fn(event)


def observer(fn: Callable[[TraceEvent], None], *, wants_secrets: bool = False) -> Observer:
    return _CallableObserver(fn, wants_secrets)


class EventList(Observer):
    """An observer that keeps every event, for tests and renderers."""

    def __init__(self, wants_secrets: bool = False) -> None:
        self.events: list[TraceEvent] = []
        self.wants_secrets = wants_secrets

    def __call__(self, event: TraceEvent) -> None:
        self.events.append(event)
