"""``glasstls server``: echo what each connection sends, or, with ``--www``,
answer an HTTP GET with a page describing the connection (like
``openssl s_server -www``). Connections are served one after another."""

from __future__ import annotations

import argparse
import socket
import sys

import h11

from ..errors import TLSError
from ..events import NegotiatedParameters
from ..io.blocking import TLSSocket, accept
from .common import add_common_options, server_config, split_hostport

CONNECTION_TIMEOUT = 30.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("server", help="run a TLS server (echo, or --www)")
    p.add_argument("--listen", default="127.0.0.1:4433", help="HOST:PORT to listen on (default 127.0.0.1:4433)")
    p.add_argument("--cert", action="append", default=[], help="certificate chain PEM (leaf first)")
    p.add_argument("--key", action="append", default=[], help="private key PEM for --cert")
    p.add_argument("--www", action="store_true", help="answer HTTP GET with a page about the connection")
    p.add_argument("--max-connections", type=int, default=0, help="exit after this many connections (0: never)")
    p.add_argument("--no-tickets", action="store_true", help="do not issue TLS 1.2 session tickets (session IDs only)")
    p.add_argument("--client-ca", metavar="FILE", help="PEM file of CAs trusted for client certificates")
    p.add_argument(
        "--verify-client",
        choices=("none", "optional", "required"),
        default=None,
        help="ask for a client certificate (default: required when --client-ca is given)",
    )
    add_common_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = server_config(args)
    host, port = split_hostport(args.listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(16)
        bound = listener.getsockname()
        print(f"glasstls server listening on {bound[0]}:{bound[1]}", file=sys.stderr, flush=True)
        served = 0
        while not args.max_connections or served < args.max_connections:
            sock, peer = listener.accept()
            served += 1
            sock.settimeout(CONNECTION_TIMEOUT)
            serve_one(sock, peer, config, args.www)
    return 0


def serve_one(sock: socket.socket, peer: tuple, config: object, www: bool) -> None:
    try:
        tls = accept(sock, config)  # type: ignore[arg-type]
    except (TLSError, OSError) as exc:
        print(f"glasstls: handshake with {peer[0]}:{peer[1]} failed: {exc}", file=sys.stderr, flush=True)
        sock.close()
        return
    params = tls.parameters
    assert params is not None
    print(f"glasstls: {peer[0]}:{peer[1]} {describe_short(params)}", file=sys.stderr, flush=True)
    try:
        (serve_www if www else serve_echo)(tls)
    except (TLSError, OSError) as exc:
        print(f"glasstls: connection with {peer[0]}:{peer[1]} ended: {exc}", file=sys.stderr, flush=True)
    finally:
        tls.close()


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
