"""Watching every TLS connection of a process: the options of ``inject_into_ssl(trace=…)`` and
``glasstls run``, and the observer each compat connection gets from them.

A process has at most one :class:`Watch` (set by :func:`start`). Each SSLObject built while it
is set asks :func:`connection_watch` for a :class:`ConnectionWatch`: a trace renderer writing
into a buffer, the key log, an illustration and a sequence diagram, as the options ask. The
buffer is written out as one block, headed by the connection's number, role, peer address and
server name, when the handshake ends (done or failed), and what follows it (tickets, alerts,
close) when the connection ends or is collected, or when the process exits. So a program with
many connections at once still shows each connection's trace in one piece.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import os
import sys
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigError
from ..observe import Observer
from ..text import exception_text, printable

TRACE_FORMATS = ("text", "full", "json")


@dataclass(frozen=True)
class Watch:
    """What to show of every connection. ``output``: where trace blocks go (default stderr);
    ``illustrate`` and ``diagram`` are folders, one page or SVG per connection."""

    trace: str | None = None  # "text", "full" or "json"
    explain: bool = False
    show_secrets: bool = False
    keylog: str | None = None
    illustrate: str | None = None
    diagram: str | None = None
    output: TextIO | None = None

    def __post_init__(self) -> None:
        if self.trace is not None and self.trace not in TRACE_FORMATS:
            raise ConfigError(f"trace takes {', '.join(TRACE_FORMATS)}, not {self.trace!r}")
        for folder in (self.illustrate, self.diagram):
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)

    @property
    def trace_mode(self) -> str | None:
        """The trace format; explain and show_secrets alone mean "text", as on the CLI."""
        if self.trace is None and (self.explain or self.show_secrets):
            return "text"
        return self.trace

    @property
    def active(self) -> bool:
        return bool(self.trace_mode or self.keylog or self.illustrate or self.diagram)


_current: Watch | None = None
_keylogs: dict[str, Observer] = {}  # one KeyLog per file for the whole process
_numbers = itertools.count(1)
_output_lock = threading.Lock()
_stderr_copies: dict[tuple[int, int], TextIO] = {}  # by (device, inode) of what they write to


def start(watch: Watch) -> None:
    """Watch every connection from now on; trace blocks without an ``output`` go to a copy of
    stderr's file descriptor taken now (:func:`_stderr_now`)."""
    global _current
    if watch.active and watch.output is None:
        watch = dataclasses.replace(watch, output=_stderr_now())
    _current = watch if watch.active else None


def stop() -> None:
    global _current
    _current = None


def current() -> Watch | None:
    return _current


def connection_watch(role: str, server_name: str | None, peer: Any) -> ConnectionWatch | None:
    """The watch of one new connection, or None when the process is not watched."""
    watch = _current
    if watch is None:
        return None
    return ConnectionWatch(watch, next(_numbers), role, server_name, peer)


class ConnectionWatch:
    """One connection's observers and the block of trace text it writes out."""

    def __init__(self, watch: Watch, number: int, role: str, server_name: str | None, peer: Any) -> None:
        self.watch = watch
        self.number = number
        self._role, self._server_name = role, server_name
        self._peer_source = peer if callable(peer) else None  # asyncio: known only once connected
        self.peer = None if callable(peer) else peer
        self.label = _label(number, role, server_name, self.peer)
        self._buffer = io.StringIO()
        self._written_once = False
        self._illustration: Any = None
        self._json: Any = None
        self._diagram: Any = None
        self._lock = threading.Lock()
        from ..trace import Spill, Tee  # only for a watched process: import glasstls loads no renderer

        trace = self._trace(role, server_name, peer)
        spill = Spill(self._buffer, self.flush) if trace is not None else None  # a long connection's trace as it grows
        self.observer = Tee(trace, spill, self._keylog(), *self._drawings())

    def _trace(self, role: str, server_name: str | None, peer: Any) -> Observer | None:
        mode = self.watch.trace_mode
        if mode is None:
            return None
        if mode == "json":
            from ..trace.jsonl import JsonLinesTrace

            extra = {"connection": self.number, "role": role, "peer": _address(self.peer), "server_name": server_name}
            trace = JsonLinesTrace(self._buffer, show_secrets=self.watch.show_secrets, extra=extra)
            self._json = trace
            return trace
        from ..trace.text import TextTrace

        return TextTrace(
            self._buffer, full=mode == "full", explain=self.watch.explain, show_secrets=self.watch.show_secrets,
            color=False,
        )  # fmt: skip

    def _keylog(self) -> Observer | None:
        path = self.watch.keylog
        if not path:
            return None
        with _output_lock:
            if path not in _keylogs:
                from ..trace.keylog import KeyLog

                _keylogs[path] = KeyLog(path)
            return _keylogs[path]

    def _drawings(self) -> tuple[Observer | None, ...]:
        if self.watch.illustrate:
            from ..trace.illustrate import Illustration

            self._illustration = Illustration(wants_secrets=self.watch.show_secrets, title=self.label)
        if self.watch.diagram:
            from ..trace.diagram import SequenceDiagram

            self._diagram = SequenceDiagram(title=self.label)
        return (self._illustration, self._diagram)

    def flush(self) -> None:
        """Write what the trace holds as one block (the first headed by the label, later ones
        "continued"); never raises: a trace must not fail the program it watches."""
        with self._lock:
            text = self._buffer.getvalue()
            self._buffer.seek(0)
            self._buffer.truncate()
            if not text:
                return
            as_json = self.watch.trace_mode == "json"
            if self._peer_source is not None and self._learn_peer() and as_json:
                text = _with_peer(text, _address(self.peer))
            head = "" if as_json else f"── {self.label}{' (continued)' if self._written_once else ''} ──\n"
            self._written_once = True
        _write(self.watch.output, head + text)

    def _learn_peer(self) -> bool:
        """Ask the connection's transport for the peer's address; True once known."""
        assert self._peer_source is not None
        try:
            address = self._peer_source()
        except Exception:  # the watch never fails the program
            address = None
        if address is None:
            return False
        self.peer, self._peer_source = address, None
        if self._json is not None:
            self._json.extra["peer"] = _address(address)
        self.label = _label(self.number, self._role, self._server_name, address)
        return True

    def locate(self, peer: Any) -> None:
        """The peer's address, or a function that asks for it (as ``peer`` of the constructor), given
        after the connection's watch was made."""
        with self._lock:
            self._peer_source = peer if callable(peer) else lambda: peer
            self._learn_peer()

    def finish(self) -> None:
        """The connection is over (closed, failed or collected): the last block, the page and the diagram."""
        self.flush()
        stem = f"connection-{self.number:03d}"
        if self._illustration is not None and self._illustration.events:
            _save(
                lambda: self._illustration.write_html(Path(self.watch.illustrate or ".") / f"{stem}.html"),
                self.watch.output,
            )
        if self._diagram is not None and self._diagram.events:
            _save(lambda: self._diagram.write(Path(self.watch.diagram or ".") / f"{stem}.svg"), self.watch.output)
        self._illustration = self._diagram = None


def _label(number: int, role: str, server_name: str | None, peer: Any) -> str:
    where = _address(peer)
    arrow = "to" if role == "client" else "from"
    text = f"glasstls: connection {number}, {role}"
    if where:
        text += f" {arrow} {where}"
    if server_name:
        text += f" (server name {printable(server_name)})"
    return text


def _with_peer(lines: str, address: str | None) -> str:
    """JSON lines written before the peer's address was known, with it."""
    out = []
    for line in lines.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        if event.get("peer") is None:
            event["peer"] = address
        out.append(json.dumps(event))
    return "\n".join(out) + "\n"


def _address(peer: Any) -> str | None:
    """host:port of a socket address; [v6]:port; None when unknown."""
    if not isinstance(peer, tuple) or len(peer) < 2:
        return None
    host = printable(str(peer[0]))
    return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"


def _stderr_now() -> TextIO:
    """Where stderr goes now, kept for the rest of the process: a duplicate of its file descriptor
    (made once per file it writes to). A daemon closes fd 2, and the next socket it opens gets
    that number: writing to fd 2, or to whatever sys.stderr is later (sys.stdout, for some),
    would put the cleartext trace into that TLS stream or into the program's output. A stderr
    without a file descriptor (a test's capture, a StringIO) is kept as it is."""
    stream = sys.stderr
    try:
        fd = stream.fileno()
    except (AttributeError, io.UnsupportedOperation):
        return stream
    except (OSError, ValueError):  # sys.stderr closed: the program has no stderr, the trace no place
        fd = -1
    try:
        status = os.fstat(fd)
    except OSError:  # fd 2 closed: what gets that number later is not stderr
        return open(os.devnull, "w", encoding="utf-8")  # open for the process
    key = (status.st_dev, status.st_ino)
    with _output_lock:
        if key not in _stderr_copies:  # (never closed: connections watched before may still write)
            encoding = getattr(stream, "encoding", None) or "utf-8"
            _stderr_copies[key] = open(  # noqa: SIM115  # open for the process, as stderr is
                os.dup(fd), "w", encoding=encoding, errors="backslashreplace", buffering=1
            )
        return _stderr_copies[key]


def _write(stream: TextIO | None, text: str) -> None:
    target = stream if stream is not None else sys.stderr
    with _output_lock:
        try:
            target.write(text)
            target.flush()
        except (OSError, ValueError):  # a closed or broken output: the program goes on untraced
            pass


def _save(write: Any, stream: TextIO | None) -> None:
    try:
        path = write()
    except Exception as exc:  # drawing or writing failed: say so, the program goes on
        _write(stream, f"glasstls: cannot write a page of the trace: {exception_text(exc)}\n")
        return
    _write(stream, f"glasstls: wrote {path}\n")


# -- where a connection's peer is, for its watch's label ------------------------------------------


def socket_peer(sock: Any) -> Any:
    """The peer's address of a connected socket, for the watch's label; None before connect()."""
    try:
        return sock.getpeername()
    except (OSError, AttributeError):
        return None


def later_peer(sock: Any) -> Any:
    """A function that asks ``sock`` (weakly held: the watch must not keep it) for its peer's address."""
    held = weakref.ref(sock)

    def peername() -> Any:
        owner = held()
        return socket_peer(owner) if owner is not None else None

    return peername


def asyncio_peer(caller: Any) -> Any:
    """When asyncio's SSLProtocol calls wrap_bio (from its __init__: it has no transport yet, and
    passes no address), a function that asks its transport for the peer's address later, when the
    watch writes the connection's trace out; None for any other caller."""
    owner = caller.f_locals.get("self")
    if type(owner).__module__ != "asyncio.sslproto":
        return None
    protocol = weakref.ref(owner)

    def peername() -> Any:
        transport = getattr(protocol(), "_transport", None)
        try:
            return transport.get_extra_info("peername") if transport is not None else None
        except Exception:  # a transport of someone else's making: no address, no failure
            return None

    return peername
