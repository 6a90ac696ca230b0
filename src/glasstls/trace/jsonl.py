"""The JSON Lines trace: one JSON object per trace event, one event per line, for machines.

Every object has ``seq`` (0, 1, 2, ... in the order the events happened),
``kind`` (record, message, state, secret, keys, alert, verification) and
``side``; the rest depends on the kind:

* record: ``direction``, ``content_type``, ``inner_type`` (protected records),
  ``version``, ``length``, ``header`` and ``payload`` in hex, and for protected
  records ``plaintext`` in hex (application data only with ``include_data``);
* message: ``direction``, ``handshake_type`` (name and ``handshake_type_code``),
  ``message`` (the RFC's name), ``fields`` (label → value, from
  :mod:`glasstls.trace.describe`) and ``raw`` in hex;
* state: ``old``, ``new``; keys: ``direction``, ``epoch``, ``suite``;
* secret: ``label``, ``client_random``, and ``secret`` only with ``show_secrets``;
* alert: ``direction``, ``level``, ``description``, ``reason``;
* verification: ``subject``, ``ok``, ``detail``.

``extra`` (e.g. ``{"connection": 3}``) is added to every object.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from ..enums import AlertDescription, AlertLevel, ContentType
from ..observe import (
    AlertTrace,
    KeysTrace,
    MessageTrace,
    Observer,
    RecordTrace,
    SecretTrace,
    StateTrace,
    TraceEvent,
    VerificationTrace,
)
from ..text import exception_text
from . import describe as D
from . import headlines as HL


def _fields(pairs: D.Fields) -> dict[str, str]:
    out: dict[str, str] = {}
    for label, value in pairs:
        key, n = label, 2
        while key in out:
            key, n = f"{label} ({n})", n + 1
        out[key] = value
    return out


def event_to_dict(
    event: TraceEvent, ctx: D.Context | None = None, *, show_secrets: bool = False, include_data: bool = False
) -> dict[str, Any]:
    """The JSON object of one event (``ctx`` already updated with it)."""
    out: dict[str, Any] = {"kind": event.kind, "side": event.side}
    if isinstance(event, RecordTrace):
        out.update(
            direction=event.direction,
            content_type=D.enum_name(event.content_type, ContentType),
            inner_type=D.enum_name(event.inner_type, ContentType) if event.inner_type is not None else None,
            version=HL.record_version(event),
            length=len(event.payload),
            header=event.header.hex(),
            payload=event.payload.hex(),
        )
        if event.plaintext is not None:
            if event.inner_type != ContentType.application_data or include_data:
                out["plaintext"] = event.plaintext.hex()
            out["plaintext_length"] = len(event.plaintext)
    elif isinstance(event, MessageTrace):
        msg = event.message
        htype = D.handshake_type(msg)
        out.update(
            direction=event.direction,
            handshake_type=htype.name,
            handshake_type_code=int(htype),
            message=D.message_name(msg),
            summary=HL.headline(msg, ctx),
            fields=_fields(D.describe(msg, ctx)),
            raw=msg.raw.hex(),
        )
    elif isinstance(event, StateTrace):
        out.update(old=event.old, new=event.new)
    elif isinstance(event, SecretTrace):
        out.update(label=event.label, client_random=event.client_random.hex())
        if show_secrets and event.secret is not None:
            out["secret"] = event.secret.hex()
    elif isinstance(event, KeysTrace):
        out.update(direction=event.direction, epoch=event.epoch, suite=event.suite)
    elif isinstance(event, AlertTrace):
        out.update(
            direction=event.direction,
            level=D.enum_name(event.level, AlertLevel),
            description=D.enum_name(event.description, AlertDescription),
            description_code=int(event.description),
            reason=event.reason,
        )
    elif isinstance(event, VerificationTrace):
        out.update(subject=event.subject, ok=event.ok, detail=event.detail)
    return out


def terminal_safe(line: str) -> str:
    """A JSON text with the characters json.dumps leaves raw that a terminal acts on escaped as ``\\uXXXX``.

    ``ensure_ascii=False`` keeps names readable ("é") but passes DEL, C1 controls and
    bidi overrides through; escaped, the JSON decodes to the same strings and cannot
    recolour or reorder the terminal it is read on.
    """
    if line.isprintable():
        return line
    return "".join(ch if ch.isprintable() or ch == " " else _json_escape(ch) for ch in line)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # RFC 8259, Section 7: a character beyond the BMP is a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


class JsonLinesTrace(Observer):
    """Writes one JSON object per event and line to ``stream`` (see module doc)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        show_secrets: bool = False,
        include_data: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.extra = dict(extra or {})
        self.show_secrets = show_secrets
        self.include_data = include_data
        self.wants_secrets = show_secrets
        self._contexts: dict[str, D.Context] = {}
        self._seq = 0

    def __call__(self, event: TraceEvent) -> None:
        ctx = self._contexts.setdefault(event.side, D.Context(event.side))
        try:
            ctx.update(event)
            body = event_to_dict(event, ctx, show_secrets=self.show_secrets, include_data=self.include_data)
        except Exception as exc:  # the trace is called inside the connection: never end it from here
            body = {"kind": event.kind, "side": event.side, "error": f"cannot render this event: {exception_text(exc)}"}
        obj = {"seq": self._seq, **self.extra, **body}
        self._seq += 1
        self.stream.write(terminal_safe(json.dumps(obj, ensure_ascii=False)) + "\n")
        flush = getattr(self.stream, "flush", None)
        if flush is not None:
            flush()

    def render(self, events: Iterable[TraceEvent]) -> None:
        for event in events:
            self(event)
