"""The text trace: ``curl -v`` / ``openssl s_client -msg`` for glasstls.

One line per record and per handshake message in each direction, with the
fields that matter inline::

    client > ClientHello (1): versions TLSv1.3, TLSv1.2; 5 cipher suites; key shares x25519 (32 bytes); ...
    client > record handshake, TLSv1.0, 250 bytes
    client < record handshake, TLSv1.2, 90 bytes
    client < ServerHello (2): TLSv1.3; TLS_AES_128_GCM_SHA256; key share x25519 (32 bytes)
    client * read keys: handshake (TLS_AES_128_GCM_SHA256)

``>`` is what the side sent, ``<`` what it received, ``*`` what it did (keys,
verification) and ``!`` what went wrong. ``full=True`` adds every field of
each message and a byte-level decode with offsets and hex
(:func:`glasstls.trace.fields.field_tree`, or a hex dump where that is not
available); ``explain=True`` adds the plain-words explanation of
:mod:`glasstls.trace.explain` under each step. Secrets are printed only with
``show_secrets=True`` (and then with a warning at the top), each with the keys
and IVs derived from it, named as in RFC 8446 Section 7.3 and RFC 5246
Section 6.3.

Colour comes from rich when the stream is a terminal (``color=None``), never
when it is not, unless ``color=True``.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping
from io import StringIO
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TextIO

from ..enums import ContentType
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
from ..text import exception_text, printable
from ..wire import handshake as H
from ..wire import handshake12 as H12
from . import describe as D
from . import headlines as HL
from .explain import Explainer

if TYPE_CHECKING:
    from rich.console import Console

SECRETS_WARNING = (
    "WARNING: this trace shows the connection's secrets, keys and IVs. Anyone who has them can decrypt "
    "this connection; do not share it."
)

_SIDE_STYLE = {"client": "bold cyan", "server": "bold magenta"}
# The escaped plain-text prefix of a line, by (side_label, side, mark), shared by every trace: a
# server makes two traces per connection.
_PLAIN_PREFIXES: dict[tuple[bool, str, str], str] = {}
_MARK_STYLE = {">": "green", "<": "yellow", "*": "dim", "!": "bold red"}
# Whole plain lines (prefix, text and newline, as _line writes them) of the events whose line reads
# only a few fields that come back on every connection: a record's type, header and lengths, a key
# installation's epoch and suite, a check's subject and detail. Kept by those fields and what the
# prefix reads, so that such a line is written without being built, escaped and prefixed again. For
# every trace; bounded: started over when full (names a peer chooses can only make lines be built
# again, as without the table). A key holds at most a message's 4 KiB (headlines.headline_key), so
# the table holds a few MiB at worst, whatever the peers send.
_KEPT_LINES: dict[tuple[Any, ...], str] = {}
_KEPT_LINES_MAX = 1024
# What the keys of kept lines name by identity (a hello's extensions, see headlines.hello_key), held
# here for as long as the lines are kept, so that no other object can take one of their ids. Started
# over with _KEPT_LINES: at most one item per kept line.
_KEPT_HELD: list[tuple[Any, ...]] = []
# What a trace in colour finds kept: nothing (its lines are styled segments, not plain lines).
_NOTHING_KEPT: Mapping[tuple[Any, ...], str] = MappingProxyType({})


def hexdump(data: bytes, indent: str = "", start: int = 0) -> list[str]:
    """Offset, 16 bytes in hex, printable ASCII: the classic dump."""
    lines = []
    for pos in range(0, len(data), 16):
        chunk = data[pos : pos + 16]
        hx = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{indent}{start + pos:04x}  {hx:<47}  |{text}|")
    return lines


def _field_tree() -> Any:
    """``glasstls.trace.fields.field_tree`` if that module is present, else None."""
    try:
        from .fields import field_tree
    except ImportError:
        return None
    return field_tree


def field_tree_lines(raw: bytes, kind: str, version: int | None, indent: str, **options: Any) -> list[str]:
    """The byte-exact decode of ``raw`` as indented lines; a hex dump if it cannot be had.

    ``options`` go to ``field_tree`` (e.g. ``key_exchange="ecdhe"``).
    """
    field_tree = _field_tree()
    if field_tree is not None:
        try:
            root = field_tree(raw, kind, version, **options)
        except Exception:  # a decoder's failure must never break a trace
            root = None
        if root is not None:
            lines: list[str] = []
            _walk(root, raw, indent, 0, lines)
            return lines
    return hexdump(raw, indent)


def _walk(node: Any, raw: bytes, indent: str, depth: int, out: list[str]) -> None:
    start, end = int(getattr(node, "start", 0)), int(getattr(node, "end", 0))
    children = list(getattr(node, "children", ()) or ())
    value = getattr(node, "value", "")
    note = getattr(node, "note", "")
    line = f"{indent}{start:04x}+{end - start:<4d} {'  ' * depth}{getattr(node, 'name', '?')}"
    if value not in (None, ""):
        line += f": {value}"
    if not children and end > start and raw[start:end].hex()[:16] not in str(value):
        line += f"  [{D.hexs(raw[start:end], 24)}]"
    if note:
        line += f"  ({note})"
    out.append(line)
    for child in children:
        _walk(child, raw, indent, depth + 1, out)


class TextTrace(Observer):
    """Prints trace events as they happen (attach as a Connection's observer), or
    a list of events after the fact (:meth:`render`)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        side_label: bool = True,
        full: bool = False,
        color: bool | None = None,
        explain: bool = False,
        show_secrets: bool = False,
        width: int = 100,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr  # (and its write and flush: see the setter)
        self.side_label = side_label
        self.full = full
        self.explain = explain
        self.show_secrets = show_secrets
        self.wants_secrets = show_secrets
        self.width = width
        self._contexts: dict[str, D.Context] = {}
        self._explainers: dict[str, Explainer] = {}
        self._console: Console | None = None
        self._written = False  # a line went out since the last flush
        if color is None:
            isatty = getattr(self.stream, "isatty", None)
            color = bool(isatty and isatty()) and not os.environ.get("NO_COLOR")
        if color:
            from rich.console import Console

            self._console = Console(
                file=self.stream, force_terminal=True, highlight=False, soft_wrap=True, emoji=False, markup=False
            )
        # The lines a handler may write as kept (see _KEPT_LINES): looked up by each handler itself, inline,
        # for most events of a handshake.
        self._kept = _KEPT_LINES if self._console is None else _NOTHING_KEPT
        if show_secrets:
            self._write([(SECRETS_WARNING, "bold red")])

    @property
    def stream(self) -> TextIO:
        return self._stream

    @stream.setter
    def stream(self, stream: TextIO) -> None:
        # The stream's write and flush, looked up once here rather than for every line: each event
        # writes a line and flushes. A stream given later (trace.stream = ...) is used from then on.
        self._stream = stream
        self._put = stream.write
        self._flush = getattr(stream, "flush", None)

    # -- the Observer interface ---------------------------------------------------------------
    @property
    def wants_secret_events(self) -> bool:  # type: ignore[override]  # read-only: follows the options
        return self.show_secrets or self.full or self.explain  # (what _secret prints, or the explainer reads)

    @property
    def wants_state_events(self) -> bool:  # type: ignore[override]  # read-only: follows the options
        return self.full or self.explain  # (what _state prints, or the explainer reads)

    def __call__(self, event: TraceEvent) -> None:
        try:
            handler = self._HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event)  # (a message's or state change's handler has its Context learn from it)
            elif isinstance(event, MessageTrace) or event.kind == "state":  # a subclass: learned from, not shown
                self._context(event.side).update(event)
            if self.explain:
                self._explain(event, self._context(event.side))
        except OSError:
            raise  # the stream failed (its reader went away): the caller decides what that ends
        except Exception as exc:
            self._cannot_show(event.side, event.kind, exc)
        self._flush_written()  # (an event that printed nothing, a state change or a hidden secret, flushes nothing)

    def _cannot_show(self, side: str, kind: str, exc: Exception) -> None:
        # The last resort: the trace is called from inside the connection, so a renderer
        # that raised would end the connection (or the whole server). Say so and go on.
        self._line(side, "!", f"trace: cannot show this {kind} event ({exception_text(exc)})", "red")

    # The entry points a connection calls for its most frequent events (Observer.on_record and the
    # others), with the event's fields. With neither full nor explain (which read the event itself),
    # the line is written from the fields: no event is built for a message, nor for a record, a key
    # installation or a check whose line is kept (_KEPT_LINES: from the second connection on, nearly
    # all of them). The same line methods serve __call__'s handlers, so both ways write one text;
    # each entry point keeps its line method as __call__ keeps a handler (the last resort, the flush).
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
        if self.full or self.explain:
            self(RecordTrace(side, direction, content_type, header, payload, inner_type, plaintext))
            return
        try:
            self._record_line(side, direction, content_type, header, payload, inner_type, plaintext)
        except OSError:
            raise  # as in __call__
        except Exception as exc:
            self._cannot_show(side, "record", exc)
        self._flush_written()

    def on_message(self, side: str, direction: str, message: Any) -> None:
        if self.full or self.explain:
            self(MessageTrace(side, direction, message))
            return
        try:
            self._message_line(side, direction, message)
        except OSError:
            raise
        except Exception as exc:
            self._cannot_show(side, "message", exc)
        self._flush_written()

    def on_keys(self, side: str, direction: str, epoch: str, suite: str) -> None:
        if self.full or self.explain:
            self(KeysTrace(side, direction, epoch, suite))
            return
        try:
            self._keys_line(side, direction, epoch, suite)
        except OSError:
            raise
        except Exception as exc:
            self._cannot_show(side, "keys", exc)
        self._flush_written()

    def on_verification(self, side: str, subject: str, ok: bool, detail: str) -> None:
        if self.full or self.explain:
            self(VerificationTrace(side, subject, ok, detail))
            return
        try:
            self._verification_line(side, subject, ok, detail)
        except OSError:
            raise
        except Exception as exc:
            self._cannot_show(side, "verification", exc)
        self._flush_written()

    def _flush_written(self) -> None:
        """Flush the stream if a line went out since the last flush (as __call__ does after a handler)."""
        if self._written:
            self._written = False
            flush = self._flush
            if flush is not None:
                flush()

    def _context(self, side: str) -> D.Context:
        """What ``side``'s handshake has settled so far: asked for by the events that read it (a
        message, and whatever full, explain or the secrets show), not by every event."""
        ctx = self._contexts.get(side)
        if ctx is None:
            ctx = self._contexts[side] = D.Context(side)
        return ctx

    def _explain(self, event: TraceEvent, ctx: D.Context) -> None:
        explainer = self._explainers.get(event.side)
        if explainer is None:
            explainer = self._explainers[event.side] = Explainer()
        for paragraph in explainer.explain(event, ctx):
            self._paragraph(paragraph)

    def render(self, events: Iterable[TraceEvent]) -> None:
        for event in events:
            self(event)

    # -- output ------------------------------------------------------------------------------------
    def _prefix(self, side: str, mark: str) -> list[tuple[str, str]]:
        if self.side_label:
            return [(f"{side:<6} ", _SIDE_STYLE.get(side, "bold")), (f"{mark} ", _MARK_STYLE.get(mark, ""))]
        return [(f"{mark} ", _MARK_STYLE.get(mark, ""))]

    @property
    def _indent(self) -> str:
        return " " * (9 if self.side_label else 2)

    def _write(self, segments: list[tuple[str, str]]) -> None:
        # The one way out: whatever a describer forgot to escape, no control character reaches
        # the terminal or the log (escapes already made are left as they are). Without colour the
        # line is escaped whole: printable(..., escape_backslash=False) maps each character on its
        # own, so escaping the joined text is escaping each segment and joining them.
        self._written = True
        if self._console is not None:
            from rich.text import Text

            styled = [(printable(text, escape_backslash=False), style) for text, style in segments]
            self._console.print(Text.assemble(*styled), end="\n")
        else:
            self._put(printable("".join([text for text, _ in segments]), escape_backslash=False) + "\n")

    def _line(
        self,
        side: str,
        mark: str,
        text: str,
        style: str,
        text2: str | None = None,
        style2: str = "",
        kept: tuple[Any, ...] | None = None,
        held: tuple[Any, ...] = (),
    ) -> None:
        """One line of the trace: one segment of text in a style, or two. Without colour, the line is
        kept under ``kept`` when given, with ``held``, what that key names by identity (see _KEPT_LINES
        and TextTrace._kept)."""
        if self._console is not None:
            second = [(text2, style2)] if text2 is not None else []
            self._write([*self._prefix(side, mark), (text, style), *second])
            return
        line = self._plain_line(side, mark, text, text2)
        if kept is not None:
            if len(_KEPT_LINES) >= _KEPT_LINES_MAX:
                _KEPT_LINES.clear()
                _KEPT_HELD.clear()
            _KEPT_LINES[kept] = line
            if held:
                _KEPT_HELD.append(held)
        self._written = True
        self._put(line)

    def _plain_line(self, side: str, mark: str, text: str, text2: str | None) -> str:
        """The line _line writes without colour: prefix, text (escaped where it must be), newline."""
        key = (self.side_label, side, mark)
        prefix = _PLAIN_PREFIXES.get(key)
        if prefix is None:
            prefix = printable("".join([part for part, _ in self._prefix(side, mark)]), escape_backslash=False)
            if len(_PLAIN_PREFIXES) < 64:  # two sides and four marks; events from elsewhere may name others
                _PLAIN_PREFIXES[key] = prefix
        if text2 is not None:
            # The second segment may be an event's field as given (a verification's detail): shown as
            # printable() shows any value, as when each segment was escaped on its own.
            text += text2 if type(text2) is str else printable(text2, escape_backslash=False)
        if not text.isprintable():  # printable() would return a printable text as it is: skip the call
            text = printable(text, escape_backslash=False)
        return f"{prefix}{text}\n"

    def _detail(self, text: str, style: str = "dim") -> None:
        self._write([(text, style)])

    def _paragraph(self, text: str) -> None:
        indent = self._indent + "| "
        for line in textwrap.wrap(text, self.width, initial_indent=indent, subsequent_indent=indent):
            self._write([(line, "italic")])

    # -- one renderer per event kind ---------------------------------------------------------------
    def _message(self, event: MessageTrace) -> None:
        self._message_line(event.side, event.direction, event.message)
        if self.full:
            self._message_fields(event.message, self._context(event.side))

    def _message_line(self, side: str, direction: str, msg: Any) -> None:
        """A message's line, and what its side's Context learns from it."""
        ctx = self._contexts.get(side) or self._context(side)  # (the common case without a call)
        # First: the headline reads what this very message settles (a ServerHello's version).
        ctx.learn(side, direction, msg)
        mark = ">" if direction == "out" else "<"
        raw = msg.raw
        code = raw[0] if raw else int(msg.msg_type)  # D.handshake_code, inline: every message line has one
        # A message whose headline reads a few fields that come back on every connection: its line is kept.
        reads, held = HL.headline_key(msg), ()
        if reads is None and self._console is None:  # (a hello's line, kept only without colour as every line)
            hello = HL.hello_key(msg, ctx)
            if hello is not None:
                reads, held = hello
        key = line = None
        if reads is not None:
            key = ("message", self.side_label, side, mark, code, reads)
            line = self._kept.get(key)
        if line is None:
            summary = HL.headline(msg, ctx)
            name = D.message_name(msg)
            self._line(side, mark, f"{name} ({code})", "bold", f": {summary}" if summary else "", "", key, held)
        else:
            self._written = True
            self._put(line)

    def _message_fields(self, msg: Any, ctx: D.Context) -> None:
        """Under a message's line (``full``): every field, and its bytes decoded."""
        indent = self._indent + "  "
        tree = _field_tree() is not None
        # The byte-level tree names every field; the certificate details it leaves out come from describe.
        if not tree or isinstance(msg, (H.Certificate, H12.Certificate12)):
            for label, value in D.describe(msg, ctx):
                self._detail(f"{indent}{label}: {value}", "")
        version = int(ctx.version) if ctx.version is not None else None
        kx = ctx.kx.lower() if ctx.kx in ("ECDHE", "DHE", "RSA") else None
        options = {"key_exchange": kx} if kx else {}
        for line in field_tree_lines(msg.raw, "handshake", version, indent, **options):
            self._detail(line)

    def _record(self, event: RecordTrace) -> None:
        e = event
        self._record_line(e.side, e.direction, e.content_type, e.header, e.payload, e.inner_type, e.plaintext, e)
        if self.full:
            self._record_fields(event)

    def _record_line(
        self,
        side: str,
        direction: str,
        content_type: ContentType,
        header: bytes,
        payload: bytes,
        inner_type: ContentType | None,
        plaintext: bytes | None,
        event: RecordTrace | None = None,
    ) -> None:
        """A record's line: kept by what it reads (a header that is not bytes may not be hashable),
        else made from ``event``, built here when not given."""
        key = line = None
        if type(header) is bytes:
            key = (
                "record", self.side_label, side, direction, content_type, header,
                len(payload), inner_type, len(plaintext or b""),
            )  # fmt: skip
            line = self._kept.get(key)
        if line is None:
            if event is None:
                event = RecordTrace(side, direction, content_type, header, payload, inner_type, plaintext)
            mark = ">" if direction == "out" else "<"
            self._line(side, mark, f"record {HL.record_headline(event)}", "dim", kept=key)
        else:
            self._written = True
            self._put(line)

    def _record_fields(self, event: RecordTrace) -> None:
        """Under a record's line (``full``): its header decoded, and its content when in the clear."""
        indent = self._indent + "  "
        ctx = self._context(event.side)
        version = int(ctx.version) if ctx.version is not None else None
        # The header decoded; handshake content is decoded message by message above or below.
        clear = event.inner_type is None and event.content_type != ContentType.handshake
        raw = event.header + event.payload
        for line in field_tree_lines(raw, "record", version, indent, decode_payload=clear):
            self._detail(line)

    def _state(self, event: StateTrace) -> None:
        self._context(event.side).update(event)
        if self.full:
            self._line(event.side, "*", f"state {event.old} -> {event.new}", "dim")

    def _keys(self, event: KeysTrace) -> None:
        self._keys_line(event.side, event.direction, event.epoch, event.suite)

    def _keys_line(self, side: str, direction: str, epoch: str, suite: str) -> None:
        key = line = None
        if type(direction) is str and type(epoch) is str and type(suite) is str:  # (text: hashable, shown as is)
            key = ("keys", self.side_label, side, direction, epoch, suite)
            line = self._kept.get(key)
        if line is None:
            self._line(side, "*", f"{direction} keys: {epoch}, {suite}", "dim", kept=key)
        else:
            self._written = True
            self._put(line)

    def _alert(self, event: AlertTrace) -> None:
        mark = ">" if event.direction == "out" else "<"
        reason = f": {event.reason}" if event.reason else ""
        style = "bold red" if event.description != 0 else "bold"
        self._line(event.side, mark, f"Alert: {D.alert_text(event.level, event.description)}", style, reason, "")

    def _verification(self, event: VerificationTrace) -> None:
        self._verification_line(event.side, event.subject, event.ok, event.detail)

    def _verification_line(self, side: str, subject: str, ok: bool, detail: str) -> None:
        ok = bool(ok)
        key = line = None
        if type(subject) is str and type(detail) is str:  # (text: hashable, shown as is)
            key = ("verification", self.side_label, side, ok, subject, detail)
            line = self._kept.get(key)
        if line is not None:
            self._written = True
            self._put(line)
        elif ok:
            self._line(side, "*", f"verified {subject}: ", "green", detail, "", key)
        else:
            self._line(side, "!", f"rejected {subject}: ", "bold red", detail, "red", key)

    def _secret(self, event: SecretTrace) -> None:
        if self.show_secrets and event.secret is not None:
            self._line(event.side, "*", f"secret {event.label} = ", "red", event.secret.hex(), "red")
            for name, value in derived_keys(event, self._context(event.side)):
                self._detail(f"{self._indent}  {name} = {value.hex()}", "red")
        elif self.full or self.explain:
            self._line(event.side, "*", f"derived {event.label} (value hidden)", "dim")

    # By the event's class. Each handler takes its own class, hence Any: no Callable over TraceEvent accepts them.
    _HANDLERS: ClassVar[dict[type[TraceEvent], Callable[[TextTrace, Any], None]]] = {
        MessageTrace: _message,
        RecordTrace: _record,
        StateTrace: _state,
        KeysTrace: _keys,
        AlertTrace: _alert,
        VerificationTrace: _verification,
        SecretTrace: _secret,
    }


def derived_keys(event: SecretTrace, ctx: D.Context) -> list[tuple[str, bytes]]:
    """The keys and IVs a secret yields, named as in the RFCs (for --show-secrets)."""
    from ..crypto.suites import TLS12_SUITES, TLS13_SUITES

    secret, label = event.secret, event.label
    if secret is not None and label == "client_early_traffic_secret":
        return _early_keys(secret, ctx)
    if secret is None or ctx.suite is None:
        return []
    if ctx.tls13 and ctx.suite in TLS13_SUITES and "traffic_secret" in label:
        from ..crypto.keyschedule13 import traffic_keys

        sender = "client" if label.startswith("client") else "server"
        keys = traffic_keys(TLS13_SUITES[ctx.suite], secret)
        # RFC 8446, Section 7.3: [sender]_write_key and [sender]_write_iv.
        return [(f"{sender}_write_key", keys.key), (f"{sender}_write_iv", keys.iv)]
    if not ctx.tls13 and label == "master_secret" and ctx.suite in TLS12_SUITES and ctx.server_random:
        from ..crypto import prf12

        kb = prf12.key_block(TLS12_SUITES[ctx.suite], secret, event.client_random, ctx.server_random)
        # RFC 5246, Section 6.3: the key block, in the order it is cut.
        out = [
            ("client_write_MAC_key", kb.client_mac_key),
            ("server_write_MAC_key", kb.server_mac_key),
            ("client_write_key", kb.client_key),
            ("server_write_key", kb.server_key),
            ("client_write_IV", kb.client_iv),
            ("server_write_IV", kb.server_iv),
        ]
        return [(name, value) for name, value in out if value]
    return []


def _early_keys(secret: bytes, ctx: D.Context) -> list[tuple[str, bytes]]:
    """The 0-RTT key and IV (RFC 8446, Sections 7.1 and 7.3).

    They are made with the PSK's cipher suite, which no ServerHello has named yet when a client
    derives them: until one does, the candidates are the TLS 1.3 suites the ClientHello offers
    with the secret's hash length, each shown with its name when there are several."""
    from ..crypto.keyschedule13 import traffic_keys
    from ..crypto.suites import TLS13_SUITES

    if ctx.suite is not None and ctx.suite in TLS13_SUITES:
        candidates = [ctx.suite]
    else:
        candidates = [s for s in ctx.offered_suites if s in TLS13_SUITES and TLS13_SUITES[s].hash_len == len(secret)]
    out: list[tuple[str, bytes]] = []
    for suite in candidates:
        keys = traffic_keys(TLS13_SUITES[suite], secret)
        which = f" (if {suite.name})" if len(candidates) > 1 else ""
        out += [(f"client_write_key{which}", keys.key), (f"client_write_iv{which}", keys.iv)]
    return out


def render_text(events: Iterable[TraceEvent], **options: Any) -> str:
    """The text trace of a list of events, as one string (no colour)."""
    out = StringIO()
    options.setdefault("color", False)
    TextTrace(out, **options).render(events)
    return out.getvalue()
