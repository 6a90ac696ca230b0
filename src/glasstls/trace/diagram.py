"""Sequence diagrams of a connection's actual message flow, drawn from its trace.

    diagram = SequenceDiagram()
    conn = ClientConnection(config, "example.com", observer=diagram)
    ...                                   # run the connection
    diagram.write("handshake.svg")        # or .mmd for Mermaid text

Like the figures of RFC 8446 (Section 2) and RFC 5246 (Section 7.3) and the
pictures in the seed articles: two lifelines, Client and Server, one arrow per
handshake message in the order it really went, numbered. The notation is the
RFC's: ``{…}`` a handshake message encrypted under handshake keys (TLS 1.3) or
under the negotiated keys after ChangeCipherSpec (TLS 1.2); ``[…]`` protected
under application traffic keys; ``(…)`` 0-RTT under early keys;
``[ChangeCipherSpec]`` the one-byte record of its own protocol. Braces beside a
lifeline group an encrypted flight; notes mark where keys switch, a
HelloRetryRequest, a resumed session, and alerts (in red).

One side's events are enough: each event says whether it went in or out, so
the side knows which way every arrow points. Only what that side saw is drawn
(its own key switches, not the peer's).

The drawing is plain SVG (no assets, no scripts), and the same steps render as
Mermaid ``sequenceDiagram`` text: both in diagram_render.py.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..enums import AlertLevel, ContentType, ExtensionType
from ..observe import (
    AlertTrace,
    KeysTrace,
    MessageTrace,
    Observer,
    RecordTrace,
    StateTrace,
    TraceEvent,
    VerificationTrace,
)
from ..text import exception_text, printable
from .diagram_render import (
    APPLICATION,
    EARLY,
    HANDSHAKE,
    PLAIN,
    TLS12,
    SequenceSvg,
    Step,
    render_by_suffix,
    to_mermaid,
)
from .words import plural


def display_name(name: str) -> str:
    """The RFC's name of a message class: ``Certificate12`` → ``Certificate``."""
    return name[:-2] if name.endswith("12") and not name[-3].isdigit() else name


def _wrap(label: str, protection: str) -> str:
    if protection in (HANDSHAKE, TLS12):
        return "{" + label + "}"
    if protection == APPLICATION:
        return "[" + label + "]"
    if protection == EARLY:
        return "(" + label + ")"
    return label


def _protection(epoch: str | None) -> str:
    if epoch is None:
        return PLAIN
    if "TLS 1.2" in epoch:
        return TLS12
    if epoch.startswith("early"):
        return EARLY  # 0-RTT: RFC 8446, Section 2.3 writes it in parentheses
    if epoch.startswith("application"):
        return APPLICATION
    return HANDSHAKE


def _safe(fn: Callable[[], str | None]) -> str:
    try:
        return fn() or ""
    except Exception:  # a detail is a nicety: never let it break the drawing
        return ""


def _ext(msg: Any, name: str) -> Any:
    """The decoded value of extension ``name`` in any message that has extensions, else None."""
    find = getattr(msg, "ext", None)
    ext = find(getattr(ExtensionType, name)) if find is not None else None
    return None if ext is None else ext.value


def _ext_in(msg: Any, name: str) -> Any:
    """As :func:`_ext`, for a message whose extensions have no lookup (NewSessionTicket)."""
    ext_type = getattr(ExtensionType, name)
    ext = next((e for e in getattr(msg, "extensions", ()) if e.type == ext_type), None)
    return None if ext is None else ext.value


def _enum_name(value: Any) -> str:
    return getattr(value, "name", str(value))


def _class_name(msg: Any) -> str:
    """The message's class name ("Certificate12"), also of one the diagram kept only a sketch of."""
    return msg.class_name if isinstance(msg, _Sketch) else type(msg).__name__


def _hello_detail(msg: Any) -> str:
    parts = []
    sni = _ext(msg, "server_name")
    if isinstance(sni, str):
        parts.append(f"SNI {printable(sni)}")  # the client chose it
    shares = _ext(msg, "key_share")
    if shares:
        parts.append("key shares " + ", ".join(_enum_name(e.group) for e in shares))
    parts.append(plural(len(msg.cipher_suites), "cipher suite"))
    if _ext(msg, "session_ticket"):
        parts.append("a session ticket")
    if _ext(msg, "cookie") is not None:
        parts.append("the cookie, echoed")
    psk = _ext(msg, "pre_shared_key")
    if psk is not None:
        n = len(getattr(psk, "identities", ()))
        parts.append(f"a PSK ({n} identit{'y' if n == 1 else 'ies'}, with binder{'' if n == 1 else 's'})")
    if _ext(msg, "early_data") is not None:
        parts.append("0-RTT data follows")
    return ", ".join(parts)


def _server_hello_detail(msg: Any) -> str:
    parts = [_enum_name(msg.cipher_suite)]
    share = _ext(msg, "key_share")
    if share is not None:
        parts.append(_enum_name(getattr(share, "group", share)))
    if _ext(msg, "pre_shared_key") is not None:
        parts.append("PSK accepted, " + ("psk_dhe_ke" if share is not None else "psk_ke"))
    return ", ".join(parts)


def _hello_retry_detail(msg: Any) -> str:
    group = _ext(msg, "key_share")
    asks = [f"a {_enum_name(group)} key share"] if group is not None else []
    if _ext(msg, "cookie") is not None:
        asks.append("its cookie back")
    return "asks for " + " and ".join(asks) if asks else ""


def _ticket_detail(msg: Any) -> str:
    early = _ext_in(msg, "early_data")
    extra = f", 0-RTT up to {early} bytes" if isinstance(early, int) and early is not True else ""
    return f"lifetime {msg.ticket_lifetime} s, nonce {msg.ticket_nonce.hex() or '(empty)'}{extra}"


def _compressed_detail(msg: Any) -> str:
    size = len(msg.compressed_certificate_message)
    return f"{_enum_name(msg.algorithm)}, {msg.uncompressed_length} → {size} bytes"


def _certificate_detail(msg: Any) -> str:
    chain = getattr(msg, "entries", None) or getattr(msg, "certificates", None) or ()
    n = len(chain)
    return "no certificate" if n == 0 else f"chain of {n} certificate{'s' if n != 1 else ''}"


def _key_exchange_detail(msg: Any) -> str:
    try:
        params: Any = msg.ecdhe()
        group = _enum_name(params.group)
    except Exception:  # not a named curve: finite-field DHE
        params, group = msg.dhe(), f"{len(msg.dhe().p) * 8}-bit DH"
    return f"{group} share, signed {_enum_name(params.algorithm)}"


# The line under each message's arrow, by message class.
_DETAILS: dict[str, Callable[[Any], str]] = {
    "ClientHello": _hello_detail,
    "ServerHello": _server_hello_detail,
    "HelloRetryRequest": _hello_retry_detail,
    "EncryptedExtensions": lambda msg: "0-RTT data accepted" if _ext(msg, "early_data") is not None else "",
    "Certificate": _certificate_detail,
    "CompressedCertificate": _compressed_detail,
    "EndOfEarlyData": lambda msg: "end of the 0-RTT data",
    "Certificate12": _certificate_detail,
    "CertificateVerify": lambda msg: _enum_name(msg.algorithm),
    "ServerKeyExchange": _key_exchange_detail,
    "NewSessionTicket": _ticket_detail,
    "NewSessionTicket12": lambda msg: f"lifetime hint {msg.lifetime_hint} s",
    "KeyUpdate": lambda msg: _enum_name(msg.request_update),
}


def message_detail(msg: Any) -> str:
    """A few words on what a message carries, for the line under its arrow."""
    if isinstance(msg, _Sketch):
        return msg.detail
    detail = _DETAILS.get(type(msg).__name__)
    return _safe(lambda: detail(msg)) if detail is not None else ""


# -- from events to steps ----------------------------------------------------------------


@dataclass(frozen=True)
class DataRun(TraceEvent):
    """Application data records in a row from one sender, as the diagram draws them: counted, their
    bytes not kept (the diagram shows a count and a size, never the data)."""

    direction: str  # "in" or "out"
    tally: list[int] = field(default_factory=lambda: [0, 0])  # records, bytes: grows while the run lasts
    kind: str = field(init=False, default="data")


@dataclass(frozen=True)
class Omitted(TraceEvent):
    """Where a long connection's diagram stops, and how many events of each kind it leaves out."""

    tally: dict[str, int] = field(default_factory=dict)  # "records", "messages", "alerts", "events"
    kind: str = field(init=False, default="omitted")


@dataclass(frozen=True)
class _Sketch:
    """A message the diagram need not read again: its class's name and its detail line, not its bytes."""

    class_name: str
    detail: str


_OMITTED_KINDS = {DataRun: "records", RecordTrace: "records", MessageTrace: "messages", AlertTrace: "alerts"}

# The messages whose extensions the drawing reads again (the version, 0-RTT, resumption, HelloRetryRequest);
# at most _FULL_MESSAGES of them are kept whole, every other message as a _Sketch.
_READ_AGAIN = frozenset({"ClientHello", "ServerHello", "HelloRetryRequest", "EncryptedExtensions"})
_FULL_MESSAGES = 6


class SequenceDiagram(Observer):
    """An observer that keeps the events a diagram needs; or give it events already recorded.

    ``show_states`` adds the traced side's state changes as small notes.

    What is kept is bounded, whatever the peer sends: application data records in a row from one side
    are one :class:`DataRun` (a count and a size), messages other than the hellos keep only what is drawn
    of them, and after :attr:`MAX_EVENTS` events the drawing stops with a note saying what it left out
    (an :class:`Omitted` event), keeping only the last :attr:`MAX_LAST_ALERTS` alerts after it.
    """

    wants_secrets = False
    MAX_EVENTS = 250  # events drawn of one connection; a full handshake is some forty
    MAX_LAST_ALERTS = 4  # alerts kept after that (how the connection ended)
    _KINDS = (MessageTrace, KeysTrace, AlertTrace, StateTrace, VerificationTrace)

    def __init__(
        self, events: Iterable[TraceEvent] = (), *, show_states: bool = False, title: str | None = None
    ) -> None:
        self.kept: list[TraceEvent] = []
        self.last_alerts: deque[AlertTrace] = deque()
        self.omitted: Omitted | None = None
        self.show_states = show_states
        self.title = title
        self._full = 0
        for event in events:
            self(event)

    @property
    def events(self) -> list[TraceEvent]:
        """What the diagram is drawn from: the events kept, then the last alerts if it was cut short."""
        return self.kept + list(self.last_alerts) if self.last_alerts else self.kept

    def __call__(self, event: TraceEvent) -> None:
        if isinstance(event, RecordTrace):
            self._record(event)
        elif isinstance(event, DataRun):  # from another diagram's events: a run of its own, to grow here
            self._keep(DataRun(event.side, event.direction, list(event.tally)))
        elif isinstance(event, self._KINDS):
            self._keep(event)

    def _record(self, e: RecordTrace) -> None:
        """Keep what is drawn of a record: a ChangeCipherSpec without its byte, application data as a count."""
        if e.content_type == ContentType.change_cipher_spec:
            self._keep(RecordTrace(e.side, e.direction, e.content_type, e.header, b""))
            return
        inner = e.inner_type if e.inner_type is not None else e.content_type
        if inner != ContentType.application_data:
            return  # handshake and alert records are drawn from their messages and AlertTraces
        size = len(e.plaintext) if e.plaintext is not None else len(e.payload)
        last = self.kept[-1] if self.kept else None
        if self.omitted is None and isinstance(last, DataRun) and last.direction == e.direction:
            last.tally[0] += 1
            last.tally[1] += size
            return
        self._keep(DataRun(e.side, e.direction, [1, size]))

    def _keep(self, event: TraceEvent) -> None:
        if self.omitted is None and len(self.kept) < self.MAX_EVENTS:
            self.kept.append(self._sketched(event))
            return
        if self.omitted is None:  # the limit is hit: the drawing says so where it stops
            self.omitted = Omitted(event.side)
            self.kept.append(self.omitted)
        if isinstance(event, AlertTrace):
            self.last_alerts.append(event)
            if len(self.last_alerts) <= self.MAX_LAST_ALERTS:
                return
            event = self.last_alerts.popleft()
        what = _OMITTED_KINDS.get(type(event), "events")
        count = event.tally[0] if isinstance(event, DataRun) else 1
        self.omitted.tally[what] = self.omitted.tally.get(what, 0) + count

    def _sketched(self, event: TraceEvent) -> TraceEvent:
        """A MessageTrace keeps its message whole only for the few messages the drawing reads again."""
        if not isinstance(event, MessageTrace) or isinstance(event.message, _Sketch):
            return event
        name = type(event.message).__name__
        if name in _READ_AGAIN and self._full < _FULL_MESSAGES:
            self._full += 1
            return event
        return MessageTrace(event.side, event.direction, _Sketch(name, message_detail(event.message)))

    # -- analysis -------------------------------------------------------------------------
    @property
    def side(self) -> str:
        return self.events[0].side if self.events else "client"

    def steps(self) -> list[Step]:
        return _Builder(self.events, self.show_states).build()

    def version(self) -> str | None:
        return _version_of(self.events)

    def heading(self) -> str:
        if self.title:
            return self.title
        version = self.version()
        steps = self.steps()
        what = "TLS handshake" if version is None else f"TLS {version} handshake"
        if any(s.style == "resumption" for s in steps):
            what += " (resumed session)"
        if any(s.kind == "alert" and s.style == "failure" for s in steps):
            what += " (failed)"
        return f"{what}, traced by the {self.side}"

    # -- output ---------------------------------------------------------------------------
    def to_mermaid(self) -> str:
        return to_mermaid(self.steps(), self.heading(), self.side)

    def to_svg(self) -> str:
        return SequenceSvg(self.steps(), self.heading(), self.side).render()

    def write(self, path: str | Path) -> Path:
        """Write ``.svg`` or ``.mmd`` (also ``.mermaid``), chosen by the file's suffix."""
        path = Path(path)
        text = render_by_suffix(path, self.to_svg, self.to_mermaid)
        path.write_text(text, encoding="utf-8")
        return path


def sequence_diagram(events: Iterable[TraceEvent], **kw: Any) -> SequenceDiagram:
    """A :class:`SequenceDiagram` of events already recorded (e.g. an ``EventList``'s)."""
    return SequenceDiagram(events, **kw)


def _version_of(events: list[TraceEvent]) -> str | None:
    for e in events:
        if isinstance(e, MessageTrace) and _class_name(e.message) == "HelloRetryRequest":
            return "1.3"
        if isinstance(e, MessageTrace) and _class_name(e.message) == "ServerHello":
            return "1.3" if _ext(e.message, "supported_versions") is not None else "1.2"
    return None


class _Builder:
    """Walks the events once, tracking the protection each direction is under."""

    def __init__(self, events: list[TraceEvent], show_states: bool) -> None:
        self.events = events
        self.show_states = show_states
        self.side = events[0].side if events else "client"
        self.peer = "server" if self.side == "client" else "client"
        self.read: str | None = None
        self.write: str | None = None
        self.version: str | None = None
        self.early_data: str | None = None  # 0-RTT: "offered", then "accepted" or "rejected"
        self.steps: list[Step] = []

    def build(self) -> list[Step]:
        for event in self.events:
            try:
                self._draw(event)
            except Exception as exc:  # one event that cannot be drawn leaves a note, not a missing diagram
                self.steps.append(Step("note", None, "error", f"an event that cannot be drawn ({exception_text(exc)})"))
        self._annotate_resumption()
        for n, step in enumerate((s for s in self.steps if s.kind in ("message", "ccs", "alert", "data")), 1):
            step.number = n
        return self.steps

    def _draw(self, event: TraceEvent) -> None:
        """The steps of one event (SecretTrace and VerificationTrace draw none)."""
        if isinstance(event, MessageTrace):
            self._message(event)
        elif isinstance(event, RecordTrace):
            self._record(event)
        elif isinstance(event, DataRun):
            self._data(event)
        elif isinstance(event, Omitted) and event.tally:
            self.steps.append(Step("note", None, "omitted", _omitted_note(event.tally), style="omitted"))
        elif isinstance(event, KeysTrace):
            self._keys(event)
        elif isinstance(event, AlertTrace):
            self._alert(event)
        elif isinstance(event, StateTrace):
            self._state(event)

    def _sender(self, direction: str) -> str:
        return self.side if direction == "out" else self.peer

    def _message(self, e: MessageTrace) -> None:
        name = _class_name(e.message)
        if name in ("ServerHello", "HelloRetryRequest") and self.version is None:
            self.version = "1.3" if _ext(e.message, "supported_versions") is not None else "1.2"
        protection = _protection(self.write if e.direction == "out" else self.read)
        label = _wrap(display_name(name), protection)
        style = "hrr" if name == "HelloRetryRequest" else ("early" if protection == EARLY else "")
        self.steps.append(
            Step("message", self._sender(e.direction), name, label, message_detail(e.message), protection, style)
        )
        if name == "HelloRetryRequest":
            self.steps.append(Step("note", None, "HelloRetryRequest", _hrr_note(e.message), style="hrr"))
            if self.early_data == "offered":
                self.early_data = "rejected"
                self.steps.append(Step("note", None, "0-RTT", _REJECTED_0RTT, style="hrr"))
        if name == "ClientHello" and _ext(e.message, "early_data") is not None and self.early_data is None:
            self.early_data = "offered"
            self.steps.append(
                Step(
                    "note",
                    None,
                    "0-RTT",
                    "0-RTT: the client sends application data right behind its ClientHello, before any answer, "
                    "under early traffic keys from the PSK (RFC 8446, Section 2.3). It saves a round trip, but "
                    "has no forward secrecy and can be replayed by an attacker.",
                    style="early",
                )
            )
        if name == "EncryptedExtensions" and self.early_data == "offered":
            accepted = _ext(e.message, "early_data") is not None
            self.early_data = "accepted" if accepted else "rejected"
            if not accepted:
                self.steps.append(Step("note", None, "0-RTT", _REJECTED_0RTT, style="hrr"))
        if name == "ServerHello" and _ext(e.message, "pre_shared_key") is not None:
            # TLS 1.3 resumption: the server accepted one of the offered PSKs.
            fresh = _ext(e.message, "key_share") is not None
            mode = (
                "psk_dhe_ke: with a fresh key exchange too, so still forward secret"
                if fresh
                else "psk_ke: keys from the PSK alone, no forward secrecy"
            )
            self.steps.append(
                Step(
                    "note",
                    None,
                    "resumption",
                    "Session resumed with a pre-shared key from an earlier connection's ticket "
                    f"(RFC 8446, Section 2.2): no certificates this time; {mode}.",
                    style="resumption",
                )
            )

    def _record(self, e: RecordTrace) -> None:
        """A ChangeCipherSpec record (the only records kept as such: application data comes as DataRuns)."""
        sender = self._sender(e.direction)
        if e.content_type != ContentType.change_cipher_spec:
            return
        if self.version == "1.2":
            self.steps.append(Step("ccs", sender, "ChangeCipherSpec", "[ChangeCipherSpec]"))
        else:
            # RFC 8446, Appendix D.4: a dummy record for middleboxes, ignored by the peer.
            self.steps.append(
                Step("ccs", sender, "ChangeCipherSpec", "ChangeCipherSpec", "compatibility, ignored", style="dummy")
            )

    def _data(self, e: DataRun) -> None:
        sender = self._sender(e.direction)
        count, size = e.tally
        last = self.steps[-1] if self.steps else None
        if last is not None and last.kind == "data" and last.sender == sender:
            last.count += count
            last.size += size
            return
        protection = _protection(self.write if e.direction == "out" else self.read)
        protection = protection if protection in (EARLY, PLAIN) else APPLICATION
        label = "(Application Data)" if protection == EARLY else "[Application Data]"
        self.steps.append(Step("data", sender, "ApplicationData", label, "", protection, count=count, size=size))

    def _keys(self, e: KeysTrace) -> None:
        if e.direction == "read":
            self.read = e.epoch
        else:
            self.write = e.epoch
        last = self.steps[-1] if self.steps else None
        epoch = _epoch_words(e.epoch)
        if last is not None and last.kind == "keys" and last.name == e.epoch and last.detail == e.suite:
            last.label = f"read + write: {epoch}"
            return
        self.steps.append(Step("keys", self.side, e.epoch, f"{e.direction}: {epoch}", e.suite))

    def _alert(self, e: AlertTrace) -> None:
        protection = _protection(self.write if e.direction == "out" else self.read)
        fatal = e.level == AlertLevel.fatal
        name = _enum_name(e.description)
        label = _wrap(f"Alert ({_enum_name(e.level)}, {name})", protection)
        style = "failure" if fatal else ("closure" if name in ("close_notify", "user_canceled") else "")
        self.steps.append(Step("alert", self._sender(e.direction), name, label, e.reason, protection, style))

    def _state(self, e: StateTrace) -> None:
        if self.show_states:
            self.steps.append(Step("state", self.side, e.new, f"{e.old} → {e.new}"))

    def _annotate_resumption(self) -> None:
        """TLS 1.2: a ServerHello then Finished with no Certificate is an abbreviated handshake."""
        names = [s.name for s in self.steps if s.kind == "message"]
        if self.version != "1.2" or "ServerHello" not in names or "Finished" not in names:
            return
        if "Certificate12" in names or "ClientKeyExchange" in names:
            return
        how = self._resumed_by()
        at = next(i for i, s in enumerate(self.steps) if s.name == "ServerHello") + 1
        text = (
            f"Session resumed by {how}: an abbreviated handshake (RFC 5246, Section 7.3"
            + ("; RFC 5077" if how == "session ticket" else "")
            + "). No certificates and no key exchange: the keys come from the saved master secret "
            "and the two new randoms, and the server sends its Finished first."
        )
        self.steps.insert(at, Step("note", None, "resumption", text, style="resumption"))

    def _resumed_by(self) -> str:
        for e in self.events:
            if isinstance(e, VerificationTrace) and e.ok and e.subject == "session ticket":
                return "session ticket"
        for e in self.events:
            if isinstance(e, MessageTrace) and _class_name(e.message) == "ClientHello":
                return "session ticket" if _ext(e.message, "session_ticket") else "session ID"
        return "session ID"


_OMITTED_WORDS = {
    "records": ("more record", "more records"),
    "messages": ("more message", "more messages"),
    "alerts": ("more alert", "more alerts"),
    "events": ("other event", "other events"),
}


def _omitted_note(tally: dict[str, int]) -> str:
    """The note where the diagram stops ("1200 more records … not shown: …"), naming the limit hit."""
    parts = [f"{n} {_OMITTED_WORDS[what][n != 1]}" for what, n in tally.items()]
    listing = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return (
        f"{listing} not shown: the diagram draws {SequenceDiagram.MAX_EVENTS} events of a connection "
        f"(SequenceDiagram.MAX_EVENTS), then only its last {SequenceDiagram.MAX_LAST_ALERTS} alerts."
    )


_REJECTED_0RTT = (
    "0-RTT rejected: the server skips the client's early data unread and the handshake goes on as a full "
    "1-RTT one; the client may send that data again once it completes (RFC 8446, Section 4.2.10)."
)


def _hrr_note(msg: Any) -> str:
    group = _ext(msg, "key_share")
    if group is not None:
        text = (
            f"HelloRetryRequest: the server can use none of the key shares offered and asks for one for "
            f"{_enum_name(group)}; the client answers with a second ClientHello and the transcript restarts "
            "from a hash of the first (RFC 8446, Section 4.1.4)."
        )
    else:
        text = (
            "HelloRetryRequest: the server asks for the ClientHello again; the client answers with a second one "
            "and the transcript restarts from a hash of the first (RFC 8446, Section 4.1.4)."
        )
    if _ext(msg, "cookie") is not None:
        text += (
            " It carries a cookie the client must echo: the server kept no state, what it needs comes back in "
            "the cookie (Section 4.2.2)."
        )
    return text


def _epoch_words(epoch: str) -> str:
    """``handshake`` → "handshake traffic keys"; ``client write (TLS 1.2)`` → "the client's write keys"."""
    if "TLS 1.2" in epoch:
        return f"the {epoch.split()[0]}'s write keys"
    if epoch.startswith("application+"):
        return f"application traffic keys, update {epoch.partition('+')[2]}"
    if epoch == "application (updated)":
        return "application traffic keys, updated"
    if epoch.startswith("early"):
        return "early (0-RTT) traffic keys"
    return f"{epoch} traffic keys"
