"""One connection of ``glasstls server``: its observers, its buffered trace, its
log lines, and the two things it can do once connected (echo, or ``--www``).

Connections are served concurrently, so each keeps its trace in a buffer of its
own and writes it to stdout in one piece (when its handshake ends and when the
connection ends): the output of two connections never interleaves inside one
block. Every name a peer chose (SNI, ALPN, certificate subjects, the HTTP
request line) is printed through :func:`glasstls.text.printable`.

In a worker of ``--workers N`` (cli/workers.py) every log line starts with
``[worker K pid P]``, trace blocks and ``--www`` pages name the worker, and the
pictures of ``--illustrate``/``--diagram`` carry its pid in their file names.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h11

from ..enums import ContentType
from ..errors import AlertError, PeerAlertError, TLSError, TruncatedError
from ..events import NegotiatedParameters
from ..io import aio
from ..observe import KeysTrace, Observer, RecordTrace, TraceEvent, VerificationTrace
from ..text import printable
from ..trace import Spill, Tee
from ..trace.diagnose import FailureRecorder, diagnose
from .common import silence_broken_output, trace_mode, trace_renderer
from .diagram import new_sequence_diagram, save_sequence_diagram

if TYPE_CHECKING:
    from ..trace.keylog import KeyLog

# h11 refuses a request head larger than this with RemoteProtocolError (status hint 431).
MAX_REQUEST_HEAD = 16 * 1024
# Seconds for the whole request head, from the end of the handshake (a deadline, not per read, as
# nginx's client_header_timeout): a client sending its request a byte at a time, each under
# --idle-timeout, would otherwise hold the connection for as long as 16 KiB take (a slow loris
# after the handshake). Then 408 and the connection closes (RFC 9110, Section 15.5.9).
REQUEST_HEAD_DEADLINE = 10.0
READ_CHUNK = 1 << 16
HTTP_CHUNK = 1024  # h11 checks its head limit only while the head is incomplete


@dataclass
class _Worker:
    """Which worker of --workers this process is (slot 0: not a worker)."""

    slot: int = 0
    pid: int = 0

    @property
    def label(self) -> str:
        return f"worker {self.slot} (pid {self.pid})" if self.slot else ""


WORKER = _Worker()


def set_worker(slot: int) -> None:
    """This process is worker ``slot`` of ``glasstls server --workers``."""
    WORKER.slot, WORKER.pid = slot, os.getpid()


def log(line: str) -> None:
    """One line on stderr, whole (the server's own messages; the trace goes to stdout): one write, so that
    the lines of workers sharing stderr never cut into one another (a pipe keeps writes of 4 KiB whole).
    A line no reader takes any more (a log shipper gone, its pipe broken) is lost, and serving goes on,
    as nginx and gunicorn go on: the end of a trace's reader stops a server, not the end of its log's."""
    prefix = f"[worker {WORKER.slot} pid {WORKER.pid}] " if WORKER.slot else ""
    if prefix and "\n" in line:  # (a diagnosis block: every line of it says whose it is)
        line = line.replace("\n", f"\n{prefix}")
    try:
        sys.stderr.write(f"{prefix}{line}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # (ValueError: stderr closed)
        silence_broken_output(sys.stderr)


def peer_label(peer: Any) -> str:
    """HOST:PORT ([HOST]:PORT for IPv6), as the asyncio driver names peers, made safe to print."""
    return printable(aio.peer_label(peer))


# RFC 8470, Section 5.1 and RFC 9110, Section 9.2.1: safe methods, fine to take from 0-RTT data.
SAFE_METHODS = (b"GET", b"HEAD", b"OPTIONS")


class EarlyDataCounter(Observer):
    """Counts the bytes of 0-RTT data a server connection received (application data read
    under the early keys) and keeps the trace's reason when it rejected them."""

    def __init__(self) -> None:
        self.received = 0
        self.rejected_reason: str | None = None
        self._read_epoch = ""

    def __call__(self, event: TraceEvent) -> None:
        if isinstance(event, KeysTrace) and event.direction == "read":
            self._read_epoch = event.epoch
        elif isinstance(event, RecordTrace) and event.direction == "in" and self._read_epoch == "early":
            if event.inner_type == ContentType.application_data and event.plaintext is not None:
                self.received += len(event.plaintext)
        elif isinstance(event, VerificationTrace) and event.detail.startswith("0-RTT rejected"):
            self.rejected_reason = event.detail.removeprefix("0-RTT rejected: ")


def early_data_note(params: NegotiatedParameters, counter: EarlyDataCounter) -> str:
    """The log line's end: what became of the client's 0-RTT data, if it sent any."""
    if params.early_data_accepted is None:
        return ""
    if params.early_data_accepted:
        return f"; 0-RTT accepted ({counter.received} bytes)"
    reason = f": {printable(counter.rejected_reason)}" if counter.rejected_reason else ""
    return f"; 0-RTT rejected{reason}"


class ConnectionLog:
    """The observers of connection ``number`` and where its trace goes."""

    def __init__(self, number: int, peer: Any, args: argparse.Namespace, keylog: KeyLog | None) -> None:
        self.number = number
        self.label = peer_label(peer)
        self.args = args
        self.recorder = FailureRecorder()
        self.diagram = new_sequence_diagram(getattr(args, "diagram", None))
        self.illustration = None
        if getattr(args, "illustrate", None):
            from ..trace.illustrate import Illustration

            self.illustration = Illustration(wants_secrets=bool(getattr(args, "show_secrets", False)))
        self.buffer: io.StringIO | None = None
        self.blocks = 0  # blocks of trace written so far
        trace = None
        mode = trace_mode(args)
        self.headed = mode in ("text", "full")  # JSON lines carry their connection number instead
        if mode is not None:
            self.buffer = io.StringIO()
            extra: dict[str, object] = {"connection": number, "peer": self.label}
            if WORKER.slot:
                extra["worker_pid"] = WORKER.pid
            trace = trace_renderer(args, self.buffer, extra=extra)
        self.early = EarlyDataCounter()
        spill = Spill(self.buffer, self.flush_trace) if trace is not None else None  # "continued" blocks
        self.observer = Tee(self.recorder, self.early, trace, spill, keylog, self.illustration, self.diagram)

    def flush_trace(self) -> None:
        """Write what the trace holds so far to stdout, in one piece."""
        if self.buffer is None:
            return
        text = self.buffer.getvalue()
        if not text:
            return
        self.buffer.seek(0)
        self.buffer.truncate()
        if self.headed:  # every block says whose it is
            more = ", continued" if self.blocks else ""
            whose = f" of {WORKER.label}" if WORKER.slot else ""
            text = f"* connection {self.number}{whose} from {self.label}{more}\n{text}"
        self.blocks += 1
        sys.stdout.write(text)  # BrokenPipeError: the trace's reader went away; the server stops quietly
        sys.stdout.flush()

    def handshake_failed(self, exc: BaseException) -> None:
        self.flush_trace()
        log(f"glasstls: handshake with {self.label} failed: {printable(str(exc), escape_backslash=False)}")
        # A client that sent nothing (a health check, a port scan) has nothing to diagnose: one line.
        if isinstance(exc, TLSError) and self.recorder.events:
            log(diagnose(exc, self.recorder.events, side="server"))

    def connected(self, params: NegotiatedParameters) -> None:
        self.flush_trace()
        log(f"glasstls: {self.label} {describe_short(params)}{early_data_note(params, self.early)}")

    def ended(self, exc: BaseException | None) -> None:
        self.flush_trace()
        if exc is not None:
            # The library's TruncatedError suggests its allow_truncation keyword, which the server's operator
            # has no use for: what the client did is the whole story here.
            text = exc.explain() if isinstance(exc, TruncatedError) else str(exc)
            reason = printable(text or type(exc).__name__, escape_backslash=False)
            log(f"glasstls: connection with {self.label} ended: {reason}")
            # An alert after the handshake (the client's answer to a refused renegotiation, a record
            # that failed authentication) says little alone: the diagnosis says who and why, as the
            # client's does. The recorder keeps the alerts that came after the handshake.
            if isinstance(exc, (AlertError, PeerAlertError)):
                log(diagnose(exc, self.recorder.events, side="server"))

    def save_pictures(self) -> None:
        """--illustrate and --diagram: FILE-<number>.html / .svg; a failure to write is logged, not raised."""
        save_sequence_diagram(self.diagram, _per_worker(getattr(self.args, "diagram", None)), self.number)
        if self.illustration is None or not self.illustration.events:
            return
        path = Path(_per_worker(self.args.illustrate) or "")
        path = path.with_name(f"{path.stem}-{self.number}{path.suffix or '.html'}")
        try:
            self.illustration.write_html(path)
        except OSError as exc:
            log(f"glasstls: cannot write the page {path}: {exc.strerror or exc}")
            return
        log(f"glasstls: connection {self.number} illustrated in {path}")


def _per_worker(path: str | None) -> str | None:
    """FILE.ext, or FILE-<pid>.ext in a worker: workers number their connections each from 1."""
    if not path or not WORKER.slot:
        return path
    name = Path(path)
    return str(name.with_name(f"{name.stem}-{WORKER.pid}{name.suffix}"))


def describe_short(p: NegotiatedParameters) -> str:
    """One log line's words; "none" for what the connection has none of (no (EC)DHE group with RSA
    key transport or psk_ke, no signature in a resumption, no ALPN, no SNI)."""
    alpn = printable(p.alpn) if p.alpn is not None else "none"
    sni = printable(p.server_name) if p.server_name is not None else "none"
    how = " resumed" if p.resumed else " external-psk" if p.psk == "external PSK" else ""
    group, scheme = p.group or "none", p.signature_scheme or "none"
    return f"{p.version} {p.cipher_suite} {group} {scheme} alpn={alpn} sni={sni}{how}"


def describe_page(p: NegotiatedParameters, early_bytes: int = 0) -> str:
    subject = p.peer_certificate_subject if p.client_auth else None
    client = printable(subject) if subject is not None else "(none)"
    lines = [
        "glasstls server: the TLS connection you made",
        "",
        f"Protocol version:  {p.version}",
        f"Cipher suite:      {p.cipher_suite}",
        f"Key exchange:      {p.group}",
        f"Signature scheme:  {p.signature_scheme}",
        f"ALPN:              {printable(p.alpn) if p.alpn else '(none)'}",
        f"Server name (SNI): {printable(p.server_name) if p.server_name else '(none)'}",
        f"Resumed:           {'yes' if p.resumed else 'no'}",
        f"Client certificate: {client}",
    ]
    if WORKER.slot:
        lines.append(f"Served by:         {WORKER.label}")
    if early_bytes:
        lines.append(f"0-RTT:             yes, this request came as early data ({early_bytes} bytes)")
    return "\n".join(lines) + "\n"


async def serve_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Send back what arrives, until the client closes (the StreamReader pauses the
    connection when we fall behind, so a fast client cannot fill our memory)."""
    while data := await reader.read(READ_CHUNK):
        writer.write(data)
        await writer.drain()


async def serve_www(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    early_bytes: int = 0,
    head_deadline: float = REQUEST_HEAD_DEADLINE,
) -> None:
    """Answer one HTTP/1.1 request (h11) with a page about the connection, then close.

    A request h11 cannot parse (a bad request line, no Host in HTTP/1.1, a head over
    16 KiB, binary garbage) gets 400 (or 431), and one whose head is not all there within
    ``head_deadline`` seconds gets 408; the connection then closes (RFC 9112, Section 3;
    RFC 6585, Section 5; RFC 9110, Section 15.5.9). ``early_bytes``: how much of the stream came
    as accepted 0-RTT data; the request is the stream's first bytes, so any means it came
    (at least partly) early, and a method that is not safe gets 425 (RFC 8470, Section 5.2)."""
    http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_HEAD)
    params: NegotiatedParameters = writer.get_extra_info("glasstls")
    try:
        async with asyncio.timeout(head_deadline):
            event = await _request_head(reader, http)
    except TimeoutError:
        error = h11.RemoteProtocolError(
            f"request head not complete within {head_deadline:g} s (--request-timeout)", 408
        )
        writer.write(_bad_request(error))
        await writer.drain()
        raise BadRequest(error) from None
    except h11.RemoteProtocolError as exc:
        writer.write(_bad_request(exc))
        await writer.drain()
        raise BadRequest(exc) from None
    if event is not None:
        writer.write(_answer(http, event, params, early_bytes))
        await writer.drain()


async def _request_head(reader: asyncio.StreamReader, http: h11.Connection) -> h11.Request | None:
    """The request's head, read in small pieces; None when the client closed before one came."""
    fed = 0  # bytes given to h11: what the head took is this less what h11 holds after it
    while True:
        try:
            event = http.next_event()
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint == 431:  # h11 says "Receive buffer too long": name the bound
                raise h11.RemoteProtocolError(f"request head over {MAX_REQUEST_HEAD} bytes", 431) from None
            raise
        if event is h11.NEED_DATA:
            # Small pieces, so that h11 sees a head over its limit while it is still incomplete.
            piece = await reader.read(HTTP_CHUNK)
            fed += len(piece)
            http.receive_data(piece)
        elif isinstance(event, h11.Request):
            # h11 checks its limit only on an incomplete head: a head that completes in the
            # piece that crossed it is measured here.
            if fed - len(http.trailing_data[0]) > MAX_REQUEST_HEAD:
                raise h11.RemoteProtocolError(f"request head over {MAX_REQUEST_HEAD} bytes", 431)
            return event
        elif isinstance(event, (h11.ConnectionClosed, h11.EndOfMessage)):
            return None


class BadRequest(Exception):
    """The client's HTTP request did not parse; it was answered with 400 or 431."""

    def __init__(self, exc: h11.RemoteProtocolError) -> None:
        self.status = exc.error_status_hint
        # h11's text already shows the request's bytes as a repr (b'GE\\x01T'): escaping its
        # backslashes again would print them doubled. What is unsafe in it is still escaped.
        super().__init__(f"HTTP {self.status}: {printable(str(exc), escape_backslash=False)}")


def _answer(http: h11.Connection, request: h11.Request, params: NegotiatedParameters, early_bytes: int) -> bytes:
    if early_bytes and request.method not in SAFE_METHODS:
        return _too_early(http)
    ok = request.method in (b"GET", b"HEAD")
    body = describe_page(params, early_bytes).encode() if ok else b"only GET is served here\n"
    headers = _headers(body)
    if not ok:
        headers.append(("allow", "GET, HEAD"))
    status, reason = (200, b"OK") if ok else (405, b"Method Not Allowed")
    out = http.send(h11.Response(status_code=status, headers=headers, reason=reason)) or b""
    if request.method != b"HEAD":
        out += http.send(h11.Data(data=body)) or b""
    out += http.send(h11.EndOfMessage()) or b""
    return out


def _too_early(http: h11.Connection) -> bytes:
    """RFC 8470, Section 5.2: a request that may not be replayed, received in early data."""
    body = b"425 Too Early: this request came in 0-RTT data, which may be replayed; send it again after the handshake\n"
    headers = _headers(body)
    out = http.send(h11.Response(status_code=425, headers=headers, reason=b"Too Early")) or b""
    out += http.send(h11.Data(data=body)) or b""
    return out + (http.send(h11.EndOfMessage()) or b"")


def _bad_request(exc: h11.RemoteProtocolError) -> bytes:
    # Written by hand: after a parse error h11 no longer knows where the request ended.
    status = exc.error_status_hint
    reason = _reason_phrase(status)
    body = f"{status} {reason}: the request could not be read\n".encode()
    fields = "".join(f"{name}: {value}\r\n" for name, value in _headers(body))
    return f"HTTP/1.1 {status} {reason}\r\n{fields}\r\n".encode() + body


def _reason_phrase(status: int) -> str:
    """RFC 9110's reason phrase for ``status`` (h11 hints 400, 408, 431 and 501); "Bad Request" for another."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Bad Request"


def _headers(body: bytes) -> list[tuple[str, str]]:
    """The header fields of every answer; Date because an origin server with a clock sends one
    (RFC 9110, Section 6.6.1), which clients and scanners read the server's time from."""
    return [
        ("date", formatdate(usegmt=True)),
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", str(len(body))),
        ("connection", "close"),
        ("server", "glasstls"),
    ]
