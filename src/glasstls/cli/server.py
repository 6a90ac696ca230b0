"""``glasstls server``: echo what each connection sends, or, with ``--www``,
answer an HTTP GET with a page describing the connection (like
``openssl s_server -www``). Connections are served one after another.

``--trace[=full|json]``, ``--explain`` and ``--show-secrets`` print each
connection's trace to stdout (the server's own messages stay on stderr, so a
JSON trace can be piped as is); ``--keylog FILE`` (or SSLKEYLOGFILE) appends
the NSS key log of every connection. A failed handshake is reported on stderr
with its diagnosis: the step, the alert, the reason and the likely fix."""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from pathlib import Path
from typing import Any

import h11

from ..errors import ConfigError, TLSError
from ..events import NegotiatedParameters
from ..io.blocking import TLSSocket, accept
from ..trace import Tee
from ..trace.diagnose import FailureRecorder, diagnose
from .common import (
    add_common_options,
    add_trace_options,
    check_illustrate,
    check_output_file,
    open_keylog,
    server_config,
    split_hostport,
    trace_mode,
    trace_renderer,
    warn_secrets,
)
from .diagram import DIAGRAM_HELP, new_sequence_diagram, save_sequence_diagram

CONNECTION_TIMEOUT = 30.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="run a TLS server (echo, or --www)")
    p.add_argument("--listen", default="127.0.0.1:4433", help="HOST:PORT to listen on (default 127.0.0.1:4433)")
    p.add_argument("--cert", action="append", default=[], help="certificate chain PEM (leaf first)")
    p.add_argument("--key", action="append", default=[], help="private key PEM for --cert")
    p.add_argument(
        "--ocsp",
        metavar="FILE",
        action="append",
        default=[],
        help="DER OCSP response to staple (openssl ocsp -respout, glasstls ca ocsp) for the --cert of the same "
        "position: the first --ocsp for the first --cert, and so on; reloaded when the file changes",
    )
    p.add_argument("--www", action="store_true", help="answer HTTP GET with a page about the connection")
    p.add_argument("--max-connections", type=int, default=0, help="exit after this many connections (0: never)")
    p.add_argument("--unknown-name", choices=("default", "refuse"), default="default",
                   help="a server name no certificate carries: serve the first chain, or refuse (unrecognized_name)")
    p.add_argument("--no-tickets", action="store_true", help="do not issue TLS 1.2 session tickets (session IDs only)")
    p.add_argument("--client-ca", metavar="FILE", help="PEM file of CAs trusted for client certificates")
    p.add_argument(
        "--verify-client",
        choices=("none", "optional", "required"),
        default=None,
        help="ask for a client certificate (default: required when --client-ca is given)",
    )
    p.add_argument(
        "--client-crl",
        metavar="FILE",
        action="append",
        default=[],
        help="CRL file (PEM or DER) to look client certificates up in; may be given more than once",
    )
    p.add_argument(
        "--client-revocation",
        choices=("soft", "hard"),
        default="soft",
        help="a client certificate with no current CRL of its issuer: accept it (soft, the default) or refuse it",
    )
    add_common_options(p)
    add_trace_options(p)
    p.add_argument(
        "--illustrate",
        metavar="FILE.html",
        help="write each connection as one self-contained, explained HTML page: FILE-1.html, FILE-2.html, … "
        "(secret values only with --show-secrets)",
    )
    p.add_argument("--diagram", metavar="FILE.svg|FILE.mmd", help=DIAGRAM_HELP + ": FILE-1.svg, FILE-2.svg, …")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = server_config(args)
    trace_mode(args)  # a bad --trace fails now, not at the first connection
    if args.max_connections < 0:
        raise ConfigError(f"--max-connections must be 0 (no limit) or more, not {args.max_connections}")
    new_sequence_diagram(args.diagram)  # a --diagram not .svg or .mmd, or files that cannot be written, fail now too
    check_output_file(args.diagram, "--diagram")
    check_illustrate(args.illustrate)
    keylog = open_keylog(args)
    try:
        return _listen(args, config, keylog)
    finally:
        if keylog is not None:
            keylog.close()


def _listen(args: argparse.Namespace, config: object, keylog: Any) -> int:
    host, port = split_hostport(args.listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError as exc:  # a port in use is the user's to fix, not a traceback
            raise ConfigError(f"cannot listen on {args.listen}: {exc.strerror or exc}") from None
        listener.listen(16)
        bound = listener.getsockname()
        print(f"glasstls server listening on {bound[0]}:{bound[1]}", file=sys.stderr, flush=True)
        warn_secrets(args)  # after the line other tools wait for
        served = 0
        while not args.max_connections or served < args.max_connections:
            sock, peer = listener.accept()
            served += 1
            sock.settimeout(CONNECTION_TIMEOUT)
            serve_one(sock, peer, config, args.www, args=args, keylog=keylog, number=served)
    return 0


def serve_one(
    sock: socket.socket,
    peer: tuple,
    config: object,
    www: bool,
    *,
    args: argparse.Namespace | None = None,
    keylog: Any = None,
    number: int = 0,
) -> None:
    recorder = FailureRecorder()
    diagram = new_sequence_diagram(getattr(args, "diagram", None))
    trace = illustration = out = None
    if args is not None and getattr(args, "illustrate", None):
        from ..trace.illustrate import Illustration

        illustration = Illustration(wants_secrets=bool(getattr(args, "show_secrets", False)))
    if args is not None:
        label = f"{peer[0]}:{peer[1]}"
        mode = trace_mode(args)
        if mode in ("text", "full"):
            print(f"* connection {number} from {label}", flush=True)
        out = _TraceOut(sys.stdout)
        trace = trace_renderer(args, out, extra={"connection": number, "peer": label})
    try:
        tls = accept(sock, config, observer=Tee(recorder, trace, keylog, illustration, diagram))  # type: ignore[arg-type]
    except (TLSError, OSError) as exc:
        _check_trace_reader(out, sock)
        print(f"glasstls: handshake with {peer[0]}:{peer[1]} failed: {exc}", file=sys.stderr, flush=True)
        if isinstance(exc, TLSError):
            print(diagnose(exc, recorder.events, side="server"), file=sys.stderr, flush=True)
        sock.close()
        _write_illustration(illustration, args, number)
        save_sequence_diagram(diagram, getattr(args, "diagram", None), number)
        return
    params = tls.parameters
    assert params is not None
    print(f"glasstls: {peer[0]}:{peer[1]} {describe_short(params)}", file=sys.stderr, flush=True)
    try:
        (serve_www if www else serve_echo)(tls)
    except (TLSError, OSError) as exc:
        _check_trace_reader(out, tls)
        print(f"glasstls: connection with {peer[0]}:{peer[1]} ended: {exc}", file=sys.stderr, flush=True)
    finally:
        tls.close()
        _write_illustration(illustration, args, number)
        save_sequence_diagram(diagram, getattr(args, "diagram", None), number)


class _TraceOut:
    """stdout for a connection's trace, noting when its reader has gone (``--trace | head``)."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.gone = stream, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def write(self, text: str) -> int:
        try:
            return int(self.stream.write(text))
        except BrokenPipeError:
            self.gone = True
            raise

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self.gone = True
            raise


def _check_trace_reader(out: _TraceOut | None, sock: Any) -> None:
    """A failure may be the trace's, not the peer's: with its reader gone, a BrokenPipeError ends the
    server quietly (in cli.main) instead of failing this connection and every one after it."""
    if out is not None and out.gone:
        sock.close()
        raise BrokenPipeError(errno.EPIPE, "the trace's reader went away")


def _write_illustration(illustration: Any, args: argparse.Namespace | None, number: int) -> None:
    """Connection ``number``'s page, as FILE-<number>.html next to the --illustrate FILE."""
    if illustration is None or args is None or not illustration.events:
        return
    path = Path(args.illustrate)
    path = path.with_name(f"{path.stem}-{number}{path.suffix or '.html'}")
    try:
        illustration.write_html(path)
    except OSError as exc:  # the server goes on serving
        print(f"glasstls: cannot write the page {path}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        return
    print(f"glasstls: connection {number} illustrated in {path}", file=sys.stderr, flush=True)


def describe_short(p: NegotiatedParameters) -> str:
    return f"{p.version} {p.cipher_suite} {p.group} {p.signature_scheme} alpn={p.alpn} sni={p.server_name}"


def serve_echo(tls: TLSSocket) -> None:
    while data := tls.recv():
        tls.sendall(data)


def describe_page(p: NegotiatedParameters) -> str:
    lines = [
        "glasstls server: the TLS connection you made",
        "",
        f"Protocol version:  {p.version}",
        f"Cipher suite:      {p.cipher_suite}",
        f"Key exchange:      {p.group}",
        f"Signature scheme:  {p.signature_scheme}",
        f"ALPN:              {p.alpn or '(none)'}",
        f"Server name (SNI): {p.server_name or '(none)'}",
        f"Resumed:           {'yes' if p.resumed else 'no'}",
        f"Client certificate: {p.peer_certificate_subject if p.client_auth else '(none)'}",
    ]
    return "\n".join(lines) + "\n"


def serve_www(tls: TLSSocket) -> None:
    """Answer each HTTP/1.1 request on this connection (h11), then close."""
    http = h11.Connection(h11.SERVER)
    while True:
        event = http.next_event()
        if event is h11.NEED_DATA:
            data = tls.recv()
            http.receive_data(data)
            if not data and http.their_state is not h11.DONE:
                return
            continue
        if isinstance(event, h11.Request):
            ok = event.method in (b"GET", b"HEAD")
            assert tls.parameters is not None
            body = describe_page(tls.parameters).encode() if ok else b"only GET is served here\n"
            headers = [
                ("content-type", "text/plain; charset=utf-8"),
                ("content-length", str(len(body))),
                ("connection", "close"),
                ("server", "glasstls"),
            ]
            out = http.send(h11.Response(status_code=200 if ok else 405, headers=headers))
            if event.method != b"HEAD":
                out += http.send(h11.Data(data=body))
            out += http.send(h11.EndOfMessage())
            tls.sendall(out)
            return
        if isinstance(event, (h11.ConnectionClosed, h11.EndOfMessage)):
            return
