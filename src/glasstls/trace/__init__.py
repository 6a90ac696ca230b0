"""Renderers of the trace events a Connection emits (:mod:`glasstls.observe`).

Each renderer is an :class:`~glasstls.observe.Observer`: attach it to a
connection (``ClientConnection(config, observer=TextTrace())``) to see the
connection live, or feed it a list of events afterwards (``.render(events)``).
A connection without an observer builds no events at all.

* :class:`TextTrace` (``text``): one line per record and message, like
  ``curl -v``; ``full=True`` decodes every field, ``explain=True`` says what
  each step is for, ``show_secrets=True`` shows secrets, keys and IVs.
* :class:`JsonLinesTrace` (``jsonl``): one JSON object per event and line.
* :class:`KeyLog` (``keylog``): the NSS key log for Wireshark (SSLKEYLOGFILE).
* :func:`diagnose` (``diagnose``): why a handshake failed and the likely fix.
* :class:`Tee`: several observers at once; :class:`Spill` writes a buffered trace out as it grows.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..enums import ContentType
from ..observe import Observer, SecretTrace, TraceEvent, as_observer


class Tee(Observer):
    """Hands every event to several observers, in order.

    ``wants_secrets`` is true when any of them wants secrets; the others still
    never see a secret value (it is removed from the events they get).
    """

    def __init__(self, *observers: Observer | None) -> None:
        self.observers: tuple[Observer, ...] = tuple(as_observer(o) for o in observers if o is not None)

    @property
    def wants_secrets(self) -> bool:  # type: ignore[override]  # read-only: asks the observers each time
        return any(o.wants_secrets for o in self.observers)

    @property
    def wants_secret_events(self) -> bool:  # type: ignore[override]  # read-only, as wants_secrets
        return any(o.wants_secret_events for o in self.observers)

    @property
    def wants_state_events(self) -> bool:  # type: ignore[override]  # read-only, as wants_secrets
        return any(o.wants_state_events for o in self.observers)

    def __call__(self, event: TraceEvent) -> None:
        redacted: TraceEvent | None = None
        for obs in self.observers:
            if isinstance(event, SecretTrace) and event.secret is not None and not obs.wants_secrets:
                if redacted is None:
                    redacted = dataclasses.replace(event, secret=None)
                obs(redacted)
            else:
                obs(event)

    # A connection's most frequent events go to each observer's own entry point, so that one that
    # writes from the fields (TextTrace) does so here too; each of the others builds its event.
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
        for obs in self.observers:
            obs.on_record(side, direction, content_type, header, payload, inner_type, plaintext)

    def on_message(self, side: str, direction: str, message: Any) -> None:
        for obs in self.observers:
            obs.on_message(side, direction, message)

    def on_keys(self, side: str, direction: str, epoch: str, suite: str) -> None:
        for obs in self.observers:
            obs.on_keys(side, direction, epoch, suite)

    def on_verification(self, side: str, subject: str, ok: bool, detail: str) -> None:
        for obs in self.observers:
            obs.on_verification(side, subject, ok, detail)


def combine(*observers: Observer | None) -> Observer | None:
    """None for no observer (so the connection builds no events), the observer itself for one, else a Tee."""
    present = [o for o in observers if o is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return Tee(*present)


SPILL_BYTES = 64 * 1024  # how much buffered trace Spill lets a connection hold


class Spill(Observer):
    """Placed after a trace renderer that writes into ``buffer``: once the buffer holds ``limit``
    characters or more at an event's end, calls ``flush`` to write it out. A driver that keeps each
    connection's trace in a buffer, so that connections served at once do not interleave, writes it
    at the end of the handshake and of the connection; a connection kept busy in between (small
    records, one at a time) would otherwise make it hold the whole trace (hundreds of MiB)."""

    wants_secret_events = False
    wants_state_events = False

    def __init__(self, buffer: Any, flush: Any, limit: int = SPILL_BYTES) -> None:
        self._buffer, self._flush, self._limit = buffer, flush, limit

    def __call__(self, event: TraceEvent) -> None:
        if self._buffer.tell() >= self._limit:
            self._flush()

    # The connection's most frequent events: no event built just to look at the buffer.
    def on_record(self, *args: Any) -> None:  # (any record: the buffer is what counts)
        if self._buffer.tell() >= self._limit:
            self._flush()

    def on_message(self, side: str, direction: str, message: Any) -> None:
        if self._buffer.tell() >= self._limit:
            self._flush()


def __getattr__(name: str) -> object:
    # The renderers are imported on first use, so importing glasstls.trace costs nothing.
    lazy = {
        "TextTrace": "text",
        "render_text": "text",
        "JsonLinesTrace": "jsonl",
        "KeyLog": "keylog",
        "keylog_from_env": "keylog",
        "diagnose": "diagnose",
        "FailureRecorder": "diagnose",
        "Explainer": "explain",
        "describe": "describe",
    }
    if name in lazy:
        import importlib

        module = importlib.import_module(f".{lazy[name]}", __name__)
        return getattr(module, name) if name != "describe" else module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SPILL_BYTES",
    "Explainer",
    "FailureRecorder",
    "JsonLinesTrace",
    "KeyLog",
    "Spill",
    "Tee",
    "TextTrace",
    "combine",
    "diagnose",
    "keylog_from_env",
    "render_text",
]
