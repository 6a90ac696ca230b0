"""``glasstls client HOST:PORT``: like ``openssl s_client``, send stdin to the
server and write what it sends to stdout; a summary of the connection goes to
stderr (with ``--json``, one JSON object on the last line of stderr).

``--trace[=full|json]``, ``--explain`` and ``--show-secrets`` print the trace
to stderr (stdout carries the server's data); ``--keylog FILE`` (or
SSLKEYLOGFILE) appends the NSS key log. A failed handshake is followed by its
diagnosis: the step, the alert, the reason and the likely fix."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import socket
import sys
import time
from typing import TYPE_CHECKING, BinaryIO

from ..enums import ProtocolVersion
from ..errors import AlertError, ConfigError, PeerAlertError, TLSError, TruncatedError
from ..events import ApplicationData, ConnectionClosed, Event, HandshakeComplete, NegotiatedParameters
from ..io.closing import close_gently
from ..session.store import load_session, save_session
from ..sides import ClientConnection
from ..text import printable
from ..trace import Tee
from ..trace.diagnose import FailureRecorder, diagnose
from .common import (
    TRACE_FORMATS,
    add_common_options,
    add_psk_options,
    add_trace_options,
    check_illustrate,
    check_output_file,
    client_config,
    open_keylog,
    silence_broken_output,
    split_hostport,
    trace_mode,
    trace_renderer,
    warn_secrets,
)
from .diagram import DIAGRAM_HELP, new_sequence_diagram, save_sequence_diagram

if TYPE_CHECKING:
    from ..config import ClientConfig
    from ..session.state import SessionState
    from ..trace.illustrate import Illustration

CONNECT_TIMEOUT = 15.0  # seconds to connect and complete the handshake, one deadline for both (--timeout)
# With --session-out, how long to wait after a TLS 1.3 handshake for a ticket (they come after it,
# RFC 8446, Section 4.6.1) before closing, when --linger is shorter.
TICKET_WAIT = 2.0
# Outgoing records waiting for the socket: stdin is not read above OUTGOING_HIGH bytes, and a regular
# file given as stdin is fed in STDIN_CHUNK pieces while fewer than OUTGOING_LOW wait.
OUTGOING_HIGH = 1 << 20
OUTGOING_LOW = 1 << 18
STDIN_CHUNK = 1 << 16


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("client", help="connect to a TLS server; stdin to it, its data to stdout")
    p.add_argument("target", metavar="HOST:PORT", nargs="?")
    p.add_argument("--cacert", help="PEM file of trusted CA certificates (default: the system's)")
    p.add_argument("--capath", help="directory of trusted CA certificates (PEM files)")
    p.add_argument("--insecure", action="store_true", help="do not verify the server's certificate (dangerous)")
    p.add_argument("--servername", help="name for SNI and certificate verification (default: HOST)")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line of stderr")
    p.add_argument(
        "--linger",
        type=float,
        default=1.0,
        help="after stdin ends, seconds without data from the server before closing (default 1)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=CONNECT_TIMEOUT,
        metavar="SECONDS",
        help="give up when connecting and the handshake together take longer, or when the server takes none of "
        f"our data for this long (default {CONNECT_TIMEOUT:g})",
    )
    p.add_argument(
        "--allow-truncation",
        action="store_true",
        help="accept a server that ends the stream without close_notify (only where the data frames itself); "
        "otherwise that ends with an error and exit status 1",
    )
    _add_identity_options(p)
    _add_revocation_options(p)
    _add_session_options(p)
    add_common_options(p)
    add_psk_options(p)
    add_trace_options(p)
    p.add_argument(
        "--illustrate",
        metavar="FILE.html",
        help="write the connection to FILE.html: one self-contained page, every record byte by byte and explained "
        "(secret values only with --show-secrets)",
    )
    p.add_argument("--diagram", metavar="FILE.svg|FILE.mmd", help=DIAGRAM_HELP)
    p.set_defaults(run=run)


def _add_identity_options(p: argparse.ArgumentParser) -> None:
    """The client certificates a server may ask for."""
    p.add_argument(
        "--cert",
        metavar="FILE",
        action="append",
        default=[],
        help="client certificate chain PEM, for servers that ask for one (repeat for several: "
        "the one that fits the server's request is sent)",
    )
    p.add_argument("--key", metavar="FILE", action="append", default=[], help="private key PEM for each --cert")


def _add_revocation_options(p: argparse.ArgumentParser) -> None:
    """How the server's certificates are checked for revocation."""
    p.add_argument(
        "--ocsp",
        choices=("request", "require", "off"),
        default="request",
        help="OCSP stapling: ask for a stapled response and check it when sent, must-staple certificates "
        "included (request, the default); refuse a server that staples none (require); do not ask (off)",
    )
    p.add_argument(
        "--crl",
        metavar="FILE",
        action="append",
        default=[],
        help="CRL file (PEM or DER) to look the server's certificates up in; may be given more than once",
    )
    p.add_argument(
        "--revocation",
        choices=("soft", "hard"),
        default="soft",
        help="a certificate with no current CRL (nor a good OCSP staple): accept it (soft, the default) "
        "or refuse it (hard)",
    )
    p.add_argument(
        "--revocation-fetch",
        choices=("ocsp", "crl", "both", "off"),
        default="off",
        help="when no good staple covers a certificate, ask the OCSP responder it names (ocsp), fetch the CRL "
        "it names (crl), OCSP then the CRL (both), or nothing (off, the default); over plain HTTP, 3 s per "
        "fetch, 6 s per handshake; an unreachable responder follows --revocation",
    )


def _add_session_options(p: argparse.ArgumentParser) -> None:
    """Resumption and TLS 1.3 0-RTT."""
    p.add_argument("--session-in", metavar="FILE", help="resume the session saved in FILE (session ID or ticket)")
    p.add_argument("--session-out", metavar="FILE", help="save the session to FILE for a later --session-in")
    p.add_argument(
        "--early-data",
        metavar="FILE",
        help="send FILE's bytes as TLS 1.3 0-RTT early data, with --session-in whose ticket allows it; "
        "the summary says whether the server accepted them (early data can be replayed by an attacker)",
    )
    p.add_argument(
        "--resend-rejected-early-data",
        action="store_true",
        help="when the server rejects the --early-data bytes, send them again after the handshake "
        "(by default they are not sent again)",
    )


def _target_after_trace(args: argparse.Namespace) -> None:
    """``--trace HOST:PORT``: argparse took the target for the trace format; give it back."""
    if args.target is None and args.trace is not None and args.trace not in TRACE_FORMATS:
        args.target, args.trace = args.trace, "text"
    if args.target is None:
        raise ConfigError("expected HOST:PORT to connect to")


MAX_WAIT = 86400.0  # seconds: the longest --timeout or --linger (a day)


def run(args: argparse.Namespace) -> int:
    _target_after_trace(args)
    config = client_config(args)
    host, port = split_hostport(args.target)
    # (a NaN passes no comparison, and an infinite or huge one overflowed the socket's timeout)
    if not 0 < args.timeout <= MAX_WAIT or not 0 <= args.linger <= MAX_WAIT:
        raise ConfigError(f"--timeout must be above 0 seconds, --linger 0 or more, both at most {MAX_WAIT:g}")
    check_illustrate(args.illustrate)
    check_output_file(args.diagram, "--diagram")
    check_output_file(args.session_out, "--session-out")
    if trace_mode(args) not in ("text", "full"):  # a text trace on stderr carries its own warning
        warn_secrets(args)
    keylog = open_keylog(args)
    illustration = _illustration(args)
    diagram = new_sequence_diagram(args.diagram)
    try:
        observers = Tee(trace_renderer(args, sys.stderr), keylog, illustration, diagram)
        return _connect_and_run(args, config, host, port, observers)
    finally:
        if keylog is not None:
            keylog.close()
        # --json keeps the last line of stderr, --trace=json every line JSON
        save_sequence_diagram(diagram, args.diagram, quiet=args.json or args.trace == "json")
        if illustration is not None and illustration.events:
            try:
                path = illustration.write_html(args.illustrate)
            except OSError as exc:
                print(f"glasstls: cannot write the page {args.illustrate}: {exc.strerror or exc}", file=sys.stderr)
            else:
                if not args.json:  # --json keeps the last line of stderr
                    say(args, f"Illustrated connection: {path}")


def _illustration(args: argparse.Namespace) -> Illustration | None:
    """The Illustration --illustrate asks for (None without it)."""
    if not getattr(args, "illustrate", None):
        return None
    from ..trace.illustrate import Illustration

    return Illustration(wants_secrets=bool(getattr(args, "show_secrets", False)))


def _connect_and_run(args: argparse.Namespace, config: ClientConfig, host: str, port: int, observers: Tee) -> int:
    server_name = args.servername or host
    session = load_session(args.session_in) if args.session_in else None  # a bad file fails before connecting
    early_data = _early_data(args, session)
    deadline = time.monotonic() + args.timeout  # one deadline for connecting and the handshake
    try:
        sock = socket.create_connection((host, port), timeout=args.timeout)
    except OSError as exc:
        return _report_failure(args, f"cannot connect to {host}:{port}: {exc.strerror or exc}", None)
    # The recorder keeps the handshake's events for a diagnosis if it fails; the
    # trace and the key log are there only when asked for.
    recorder = FailureRecorder()
    observer = Tee(recorder, *observers.observers)
    try:
        conn = ClientConnection(
            config, server_name=server_name, session=session, observer=observer, early_data=early_data
        )
    except ConfigError:
        sock.close()
        raise
    tls_session = _Session(sock, conn, args, recorder)
    tls_session.deadline = deadline
    tls_session.early_data = early_data
    tls_session.early_alpn = session.alpn if session is not None else None
    try:
        return tls_session.run()
    finally:
        close_gently(sock)


def _early_data(args: argparse.Namespace, session: SessionState | None) -> bytes | None:
    """--early-data FILE's bytes, once the saved session is known to allow that many (RFC 8446, 4.2.10)."""
    if args.early_data is None:
        if args.resend_rejected_early_data:
            raise ConfigError("--resend-rejected-early-data goes with --early-data FILE")
        return None
    if session is None:
        raise ConfigError("--early-data needs --session-in FILE: 0-RTT data is sent only when resuming")
    limit = session.max_early_data
    if limit == 0:
        raise ConfigError(f"the session in {args.session_in} allows no early data (its ticket's max_early_data is 0)")
    try:
        with open(args.early_data, "rb") as f:
            data = f.read(limit + 1)  # (no more: the file may be endless, /dev/zero)
    except OSError as exc:
        raise ConfigError(f"--early-data {args.early_data}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ConfigError(
            f"{args.early_data} has more than {limit} bytes, what the session's ticket allows of early data"
        )
    return data


def early_data_word(p: NegotiatedParameters) -> str | None:
    """ "accepted", "rejected", or None when no early data was offered."""
    if p.early_data_accepted is None:
        return None
    return "accepted" if p.early_data_accepted else "rejected"


def say(args: argparse.Namespace, text: str) -> None:
    """A line for the person at the terminal, on stderr: "* text", or with --trace=json one JSON
    object ({"note": text}), so that stderr stays JSON Lines for whoever parses it."""
    if getattr(args, "trace", None) == "json":
        print(json.dumps({"note": text}), file=sys.stderr, flush=True)
    else:
        print(f"* {text}", file=sys.stderr, flush=True)


def print_summary(args: argparse.Namespace, p: NegotiatedParameters) -> None:
    # The certificate's names and the ALPN protocol are the server's choice: printable() keeps a
    # newline or a terminal escape in them from forging lines or recolouring the terminal.
    resumed = " (resumed session)" if p.resumed else " (external PSK)" if p.psk == "external PSK" else ""
    say(args, f"Connected with {p.version}, {p.cipher_suite}{resumed}")
    group = p.group or (
        "none (a resumption: the session's master secret is used again, with no new key exchange)"
        if p.resumed and p.version == "TLSv1.2"
        else "none (no (EC)DHE: RSA key transport, or a PSK alone)"
    )
    scheme = p.signature_scheme or (
        "none (a resumption: the session vouches for the server)"
        if p.resumed or p.psk
        else "none (RSA key transport: the server proves its key by decrypting)"
    )
    say(args, f"Key exchange group: {group}; server signature: {scheme}")
    subject = p.peer_certificate_subject
    shown = printable(subject) if subject is not None else "none (a session or a PSK vouches for the server)"
    say(args, f"Server certificate: {shown}")
    if len(p.peer_certificates) > 0:
        leaf = p.peer_certificates[0]
        say(args, f"  issuer: {printable(leaf.issuer.rfc4514_string())}")
        say(args, f"  valid {leaf.not_valid_before_utc:%Y-%m-%d} to {leaf.not_valid_after_utc:%Y-%m-%d}")
    say(args, f"ALPN: {printable(p.alpn) if p.alpn else '(none)'}")
    if p.early_data_accepted is not None:
        say(args, f"Early data (0-RTT): {early_data_word(p)}")


def _report_failure(
    args: argparse.Namespace, message: str, error: TLSError | None, recorder: FailureRecorder | None = None
) -> int:
    # Reasons quote what the server sent, escaped where they are made; this guards the rest.
    alert = getattr(error, "description", None)
    if getattr(args, "trace", None) == "json":  # stderr stays JSON Lines
        diagnosis = diagnose(error, recorder.events, side="client") if recorder is not None else None
        failure = {"error": message, "alert": alert.name if alert else None, "diagnosis": diagnosis}
        print(json.dumps(failure), file=sys.stderr)
        return 1
    print(f"glasstls: {printable(message, escape_backslash=False)}", file=sys.stderr)
    if recorder is not None:
        print(diagnose(error, recorder.events, side="client"), file=sys.stderr)
    if args.json:
        alert = getattr(error, "description", None)
        print(json.dumps({"error": message, "alert": alert.name if alert is not None else None}), file=sys.stderr)
    return 1


class _Session:
    """The select loop between stdin, stdout and the TLS connection."""

    def __init__(
        self, sock: socket.socket, conn: ClientConnection, args: argparse.Namespace, recorder: FailureRecorder
    ) -> None:
        self.sock, self.conn, self.args, self.recorder = sock, conn, args, recorder
        self.selector = selectors.DefaultSelector()
        self.stdin_open = True
        self.stdin_paused = False  # stdin not read while OUTGOING_HIGH bytes wait for the socket
        # stdin when it cannot be polled (a regular file, /dev/zero): read a piece at a time as the socket
        # takes what came before (not whole: a file may be larger than memory, or endless)
        self.pending_stdin: BinaryIO | None = None
        self.handshake_done = False
        self.outgoing = bytearray()  # records the socket has not taken yet
        self.writing = False  # the socket is watched for room to write
        self.last_taken = time.monotonic()  # when the socket last took bytes (or outgoing stopped being empty)
        self.last_activity = time.monotonic()  # the last event of the connection, or stdin's end (_linger_left)
        self.finished = False
        self.stdout_open = True
        self.deadline = time.monotonic() + args.timeout  # the handshake's (_connect_and_run sets its own)
        self.error: TLSError | None = None
        self.received = 0  # application-data bytes, for the truncation report
        self.wire_received = 0  # bytes from the server of any kind, for the deadline's report
        self.early_data: bytes | None = None  # --early-data's bytes, for --resend-rejected-early-data
        self.early_alpn: str | None = None  # the ALPN protocol the early data was sent under (the session's)

    def run(self) -> int:
        self.sock.setblocking(False)
        self.selector.register(self.sock, selectors.EVENT_READ, "net")
        if not self.early_data:  # with early data, stdin waits for the handshake: see _on_event
            self._register_stdin()
        self._flush()
        deadline = self.deadline
        while not self.finished:
            idle = self.conn.handshake_complete and not self.stdin_open and not self.pending_stdin and not self.outgoing
            if not self.conn.handshake_complete:  # a silent server must not hold us forever
                timeout: float | None = max(0.0, deadline - time.monotonic())
            else:
                timeout = self._linger_left() if idle else None
                if self.outgoing:  # a server that stops reading must not hold us forever either
                    timeout = min(timeout if timeout is not None else self.args.timeout, self._stall_left())
            ready = self.selector.select(timeout)
            # Past the deadline, the handshake ends even on a socket that is always readable (a server
            # that keeps sending): the deadline is the whole handshake's, not each wait's. So does the
            # linger for a server that sends bytes but no data (a record dripped a byte at a time).
            if (not self.conn.handshake_complete and time.monotonic() >= deadline) or (
                idle and not self._linger_left()
            ):
                ready = []
            if not ready and not self.conn.handshake_complete:
                step = self.conn.step
                if self.wire_received:  # it answered, too slowly: the deadline is for the whole handshake
                    late = f"the server's answer was still incomplete after {self.wire_received} bytes"
                    self.error = TLSError(f"{late} and {self.args.timeout:g} s, while {step}")
                else:
                    self.error = TLSError(f"no answer from the server in {self.args.timeout:g} s while {step}")
                self.finished = True
            elif not ready and idle:  # (a wait bounded by a write stall ends below, not here)
                self._close()
                continue
            for key, events in ready:
                if key.data != "net":
                    self._on_stdin()
                    continue
                if events & selectors.EVENT_WRITE:
                    self._send_some()
                if events & selectors.EVENT_READ:
                    self._on_network()
            if self.conn.handshake_complete and self.outgoing and not self.finished and not self._stall_left():
                self.error = TLSError(f"the server took none of our data for {self.args.timeout:g} s: it stopped "
                                      "reading (--timeout)")  # fmt: skip
                self.outgoing.clear()  # (it will not go: nor will a close_notify queued behind it)
                self.finished = True
        if not self.conn.closed and self.error is None:
            self._close()  # our close_notify, after the server's (TLS 1.3 half-close)
        self._drain_outgoing()
        return self._result()

    def _stall_left(self) -> float:
        """Seconds left before queued bytes the socket takes none of make the server a stalled reader."""
        limit: float = self.args.timeout
        return max(0.0, self.last_taken + limit - time.monotonic())

    def _linger_left(self) -> float:
        """What is left of the linger: it runs from the last event of the connection (data, a ticket
        ...) or the end of stdin, whichever came last, not from the last byte."""
        return max(0.0, self.last_activity + self._linger() - time.monotonic())

    def _linger(self) -> float:
        """Seconds without news from the server before closing: --linger, or long enough for a TLS 1.3
        ticket to arrive when --session-out wants one and none has yet."""
        awaiting_ticket = (
            self.args.session_out is not None
            and self.conn.version == ProtocolVersion.TLSv1_3
            and self.conn.session is None
        )
        linger: float = self.args.linger
        return max(linger, TICKET_WAIT) if awaiting_ticket else linger

    def _register_stdin(self) -> None:
        fd = sys.stdin.fileno() if sys.stdin else -1
        try:
            self.selector.register(fd, selectors.EVENT_READ, "stdin")
        except (PermissionError, ValueError, OSError):
            # A regular file or /dev/null cannot be polled: read it whole.
            self.pending_stdin = sys.stdin.buffer if fd >= 0 else None
            self.stdin_open = False

    def _on_stdin(self) -> None:
        if self.finished or self.conn.closed:
            return  # the connection ended in this same round of events: the report says how
        data = os.read(sys.stdin.fileno(), 1 << 14)
        if data:
            self.conn.send(data)
            self._flush()
        else:
            self.selector.unregister(sys.stdin.fileno())
            self.stdin_open = False
            self.last_activity = time.monotonic()  # (the linger starts here at the latest)

    def _on_network(self) -> None:
        try:
            data = self.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._eof()
            return
        self.wire_received += len(data)
        for event in self.conn.receive_bytes(data):
            self._on_event(event)
        self._flush()

    def _on_event(self, event: Event) -> None:
        self.last_activity = time.monotonic()
        if isinstance(event, HandshakeComplete):
            print_summary(self.args, event.parameters)
            self._resend_early_data(event.parameters)
            if self.early_data:
                # Only now: stdin's bytes come after the early data in the stream, also when the
                # early data was rejected and is sent again (the handshake would have queued
                # stdin's bytes ahead of it).
                self._register_stdin()
            self.handshake_done = True  # a regular file's bytes go out from here, as the socket takes them
        elif isinstance(event, ApplicationData) and self.stdout_open:
            self.received += len(event.data)
            try:
                sys.stdout.buffer.write(event.data)
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                # Whoever read stdout went away (``| head``): nobody wants the rest, so close cleanly.
                self.stdout_open = False
                silence_broken_output(sys.stdout)
                self._close()
        elif isinstance(event, ConnectionClosed):
            self.error = event.error
            self.finished = True

    def _resend_early_data(self, p: NegotiatedParameters) -> None:
        """Rejected 0-RTT data is lost unless --resend-rejected-early-data asks to send it now, and
        then only under the ALPN protocol it was written for (RFC 8446, Section 4.2.10)."""
        if p.early_data_accepted is not False:
            return
        if not (self.args.resend_rejected_early_data and self.early_data):
            if not self.args.json:
                say(self.args, "The rejected early data was not sent again (--resend-rejected-early-data)")
        elif p.alpn != self.early_alpn:
            chosen, written = p.alpn or "none", self.early_alpn or "none"
            say(self.args, f"The rejected early data was not sent again: it was for ALPN {printable(written)}, "
                f"the connection chose {printable(chosen)} (RFC 8446, Section 4.2.10)")  # fmt: skip
        else:
            say(self.args, "Sending the rejected early data again, after the handshake")
            self.conn.send(self.early_data)

    def _eof(self) -> None:
        if not self.conn.handshake_complete and self.error is None:
            self.error = TLSError(f"the server closed the connection while {self.conn.step}")
        elif self.error is None and not (self.conn.peer_closed or self.conn.closed or self.args.allow_truncation):
            # RFC 8446, Section 6.1: without close_notify the data may have been cut short.
            self.error = TruncatedError(self.received, allowed_by="--allow-truncation")
        self.finished = True

    def _close(self) -> None:
        self.pending_stdin = None  # (nothing goes after our close_notify)
        self.conn.close()
        self._flush()
        self.finished = True

    def _flush(self) -> None:
        if not self.outgoing:
            self.last_taken = time.monotonic()  # (the wait for the socket starts now)
        self.outgoing += self.conn.data_to_send()
        self._send_some()

    def _send_some(self) -> None:
        """Give the socket what it takes now, never waiting: a peer that echoes what we send stops
        reading when we stop reading, so a blocking send of megabytes would wait forever. What the
        socket does not take waits for room (EVENT_WRITE); stdin waits while too much does."""
        while True:
            while self.outgoing:
                try:
                    sent = self.sock.send(self.outgoing)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    self.outgoing.clear()  # the connection is gone: the next read says how
                    break
                del self.outgoing[:sent]
                self.last_taken = time.monotonic()
            if not self._feed_file():
                break
        self._watch(write=bool(self.outgoing))

    def _feed_file(self) -> bool:
        """The next piece of a regular file given as stdin, once the handshake is done and the socket
        has taken what came before; False when there is nothing more to give now."""
        if not (self.handshake_done and self.pending_stdin is not None and len(self.outgoing) < OUTGOING_LOW):
            return False
        chunk = self.pending_stdin.read(STDIN_CHUNK)
        if not chunk:
            self.pending_stdin = None
            self.last_activity = time.monotonic()  # (the linger starts here at the latest)
            return False
        self.conn.send(chunk)
        self.outgoing += self.conn.data_to_send()
        return True

    def _watch(self, write: bool) -> None:
        """Watch the socket for room to write while records wait, and stdin only while few do."""
        if write != self.writing:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if write else 0)
            self.selector.modify(self.sock, events, "net")
            self.writing = write
        pause = len(self.outgoing) >= OUTGOING_HIGH
        if self.stdin_open and pause != self.stdin_paused:
            if pause:
                self.selector.unregister(sys.stdin.fileno())
            else:
                self.selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
            self.stdin_paused = pause

    def _drain_outgoing(self) -> None:
        """At the end: what is still queued (the close_notify, an alert), within --timeout."""
        if not self.outgoing:
            return
        self.sock.settimeout(self.args.timeout)
        with contextlib.suppress(OSError):
            self.sock.sendall(self.outgoing)
        self.outgoing.clear()

    def _result(self) -> int:
        if self.error is not None:
            prefix = "handshake failed" if not self.conn.handshake_complete else "connection failed"
            if isinstance(self.error, (AlertError, PeerAlertError)) or not self.conn.handshake_complete:
                # In TLS 1.3 the server refuses a client certificate after the client's
                # handshake has completed: that alert deserves a diagnosis too.
                late_refusal = isinstance(self.error, PeerAlertError)
                recorder = self.recorder if (not self.conn.handshake_complete or late_refusal) else None
                return _report_failure(self.args, f"{prefix}: {self.error}", self.error, recorder)
            return _report_failure(self.args, f"{prefix}: {self.error}", self.error)
        if self.error is None and not self.conn.handshake_complete:
            return _report_failure(self.args, "handshake failed: the connection closed before it completed", None)
        if self.args.session_out and self.conn.session is not None:
            save_session(self.args.session_out, self.conn.session)
        elif self.args.session_out:
            say(self.args, f"No session saved to {self.args.session_out}: the server offered none to resume")
        if self.args.json and self.conn.parameters is not None:
            summary = self.conn.parameters.summary()
            if (word := early_data_word(self.conn.parameters)) is not None:
                summary["early_data"] = word
            print(json.dumps(summary), file=sys.stderr)
        return 0
