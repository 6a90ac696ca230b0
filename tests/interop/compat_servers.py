"""What the tests of ``glasstls.compat`` with real libraries share (tests/interop/test_compat_*.py).

Every case runs once with ``ssl.SSLContext`` and once with ``glasstls.compat.SSLContext``
(:data:`CONTEXTS`) and asserts the same outcome, against an OpenSSL server and a glasstls
server (:data:`SERVERS`), TLS 1.3 and TLS 1.2 (:data:`VERSIONS`; the client's
``maximum_version`` picks it, the servers offer both).

:class:`CompatServers` (the session fixture ``compat_servers`` in conftest.py) starts the
servers on 127.0.0.1 on first use and stops them at the end of the session:

* ``www(kind)``: a new connection per request, HTTP/1.0 style: ``openssl s_server -www``
  or ``glasstls server --www``; both pages name the protocol version;
* ``www(kind, wrong_name=True)``: the same with a certificate for ``other.example`` only,
  so a client that asks for ``localhost`` must refuse it (hostname mismatch);
* ``keepalive(kind)``: HTTP/1.1 keep-alive, for several requests on one connection: nginx
  (over OpenSSL) or the stdlib's ``http.server`` over a glasstls server-side context
  (``glasstls server --www`` answers one request per connection). Each answer is the line
  ``TLSv1.3 conn=ID req=N``: the connection and how many requests it has carried.
"""

from __future__ import annotations

import contextlib
import http.server
import re
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from interop_peers import OPENSSL, WAIT, GlasstlsCLIServer, PeerProcess, ServerFiles, split_pem_chain
from nginx_peer import NGINX, PATHS, TEMP_PATHS, Nginx

import glasstls.compat
from glasstls.compat.sslsocket import SSLSocket
from glasstls.x509.mint import Identity

CONTEXTS: dict[str, Any] = {"ssl": ssl.SSLContext, "glasstls": glasstls.compat.SSLContext}
VERSIONS = {"TLSv1.3": ssl.TLSVersion.TLSv1_3, "TLSv1.2": ssl.TLSVersion.TLSv1_2}
SERVERS = ("openssl", "glasstls")
CASES = [(c, s, v) for c in CONTEXTS for s in SERVERS for v in VERSIONS]
WRONG_NAME = "other.example"  # the only name in the certificate of www(kind, wrong_name=True)
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_HOSTNAME_MISMATCH = 20, 62


def case_id(case: tuple[str, ...]) -> str:
    return "-".join(case)


def client_context(kind: str, version: str, cafile: Path) -> Any:
    """A client context of ``kind`` ("ssl" or "glasstls") trusting ``cafile``, at most ``version``."""
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(cafile))
    context.maximum_version = VERSIONS[version]
    return context


def server_context(kind: str, files: ServerFiles, version: str | None = None) -> Any:
    """A server context of ``kind`` with ``files``' chain and key, only ``version`` if given."""
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(files.full_chain), str(files.key))
    if version is not None:
        context.minimum_version = context.maximum_version = VERSIONS[version]
    return context


def assert_socket_kind(sock: Any, kind: str) -> None:
    """The library ran on the context's own socket class, not on a stdlib fallback."""
    expected = SSLSocket if kind == "glasstls" else ssl.SSLSocket
    assert isinstance(sock, expected), f"{type(sock)!r} is not {expected!r}"


def page_names(body: bytes, version: str) -> bool:
    """Whether a -www page (s_server's or glasstls's) names ``version`` as the protocol."""
    return version.encode() in body


def assert_keep_alive(pages: list[bytes], version: str) -> None:
    """The answers of :meth:`CompatServers.keepalive`: all on one connection, requests 1, 2, …, over ``version``."""
    seen = [re.fullmatch(rb"(TLSv1\.[23]) conn=(\d+) req=(\d+)\n", page) for page in pages]
    assert all(seen), pages
    assert {m.group(1).decode() for m in seen if m} == {version}, pages
    assert len({m.group(2) for m in seen if m}) == 1, f"not one connection: {pages}"
    assert [int(m.group(3)) for m in seen if m] == list(range(1, len(pages) + 1)), pages


def verification_error(exc: BaseException) -> ssl.SSLCertVerificationError:
    """The ``ssl.SSLCertVerificationError`` (that class, not a subclass) a library wrapped in ``exc``.

    Looked for along ``__cause__``, ``__context__``, ``args``, urllib3's ``reason`` and
    aiohttp's ``certificate_error``; each exception is visited once.
    """
    todo, seen = [exc], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if type(current) is ssl.SSLCertVerificationError:  # aiohttp's own error is a subclass; not that one
            return current
        links = (current.__cause__, current.__context__, getattr(current, "reason", None),
                 getattr(current, "certificate_error", None), *current.args)  # fmt: skip
        todo.extend(link for link in links if isinstance(link, BaseException))
    raise AssertionError(f"no ssl.SSLCertVerificationError in {exc!r}")


def write_server_files(identity: Identity, directory: Path, stem: str) -> ServerFiles:
    """``identity`` as the files the servers read: the full chain, the leaf and intermediates apart, the key."""
    full_chain, key = directory / f"{stem}.chain.pem", directory / f"{stem}.key.pem"
    identity.write(full_chain, key)
    leaf_pem, intermediates_pem = split_pem_chain(identity.chain_pem())
    leaf, intermediates = directory / f"{stem}.leaf.pem", directory / f"{stem}.intermediates.pem"
    leaf.write_bytes(leaf_pem)
    intermediates.write_bytes(intermediates_pem)
    return ServerFiles(leaf, intermediates, full_chain, key)


# -- the servers ---------------------------------------------------------------------------------


class WWWServer(PeerProcess):
    """``openssl s_server -www`` on 127.0.0.1: ``version`` only if given, for ``naccept`` connections if given."""

    name = "s_server -www"

    def __init__(self, files: ServerFiles, version: str | None = None, naccept: int | None = None) -> None:
        flags = [{"TLSv1.3": "-tls1_3", "TLSv1.2": "-tls1_2"}[version]] if version else []
        if naccept is not None:
            flags += ["-naccept", str(naccept)]
        super().__init__(
            [
                OPENSSL, "s_server", *flags, "-www", "-accept", "127.0.0.1:0",
                "-cert", str(files.leaf), "-cert_chain", str(files.intermediates), "-key", str(files.key),
            ]
        )  # fmt: skip

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^ACCEPT ").rsplit(":", 1)[1])


def start_www_server(
    kind: str, files: ServerFiles, version: str | None = None, connections: int | None = None
) -> PeerProcess:
    """``openssl s_server -www`` or ``glasstls server --www`` (not yet entered)."""
    if kind == "openssl":
        return WWWServer(files, version, connections)
    args = ["--www", "--cert", str(files.full_chain), "--key", str(files.key)]
    if version is not None:
        tls = version.removeprefix("TLSv")
        args += ["--tls-min", tls, "--tls-max", tls]
    if connections is not None:
        args += ["--max-connections", str(connections)]
    return GlasstlsCLIServer(*args)


class _KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: each GET answered ``TLSv1.x conn=PORT req=N``."""

    protocol_version = "HTTP/1.1"
    served = 0

    def do_GET(self) -> None:
        self.served += 1
        version = self.connection.version()  # type: ignore[attr-defined]
        body = f"{version} conn={self.client_address[1]} req={self.served}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TLSHTTPServer(http.server.ThreadingHTTPServer):
    """The stdlib's HTTP server on 127.0.0.1:0, each connection wrapped with ``context`` in its own thread."""

    daemon_threads = True

    def __init__(self, context: Any) -> None:
        super().__init__(("127.0.0.1", 0), _KeepAliveHandler)
        self.context = context
        self.port = self.server_address[1]
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(WAIT)
        tls = self.context.wrap_socket(request, server_side=True)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        self.errors.append(sys.exc_info()[1])  # type: ignore[arg-type]  # a refused handshake, for one

    def __enter__(self) -> TLSHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(WAIT)


NGINX_KEEPALIVE = (
    PATHS
    + """
http {{
    access_log off;"""
    + TEMP_PATHS
    + """
    keepalive_requests 100;
    keepalive_timeout 30s;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate {chain};
        ssl_certificate_key {key};
        location / {{
            default_type text/plain;
            return 200 "$ssl_protocol conn=$connection req=$connection_requests\\n";
        }}
    }}
}}
"""
)


class CompatServers:
    """The servers of the compat tests, each started on first use, all stopped by :meth:`close`."""

    def __init__(self, pki: Any, directory: Path) -> None:
        self.pki = pki
        self.directory = directory
        self.files: ServerFiles = pki.files["ecdsa-p256"]
        self._wrong_name_files: ServerFiles | None = None
        self._ports: dict[tuple[str, ...], int] = {}
        self._stack = contextlib.ExitStack()

    def www(self, kind: str, *, wrong_name: bool = False) -> int:
        """The port of ``openssl s_server -www`` ("openssl") or ``glasstls server --www`` ("glasstls")."""
        key = ("www", kind, str(wrong_name))
        if key not in self._ports:
            files = self.wrong_name_files() if wrong_name else self.files
            self._ports[key] = self._stack.enter_context(start_www_server(kind, files)).port
        return self._ports[key]

    def keepalive(self, kind: str) -> int:
        """The port of nginx ("openssl") or ``http.server`` over a glasstls server context ("glasstls")."""
        key = ("keepalive", kind)
        if key not in self._ports:
            if kind == "openssl":
                if NGINX is None:
                    pytest.skip("nginx is not installed (Debian package nginx; make peers)")
                prefix, files = self.directory / "nginx", self.files
                prefix.mkdir(exist_ok=True)
                places = {"prefix": prefix, "chain": files.full_chain, "key": files.key}
                nginx = Nginx(prefix, lambda port: NGINX_KEEPALIVE.format(port=port, **places))
                nginx.start()
                self._stack.callback(nginx.stop)
                self._ports[key] = nginx.port
            else:
                server = TLSHTTPServer(server_context("glasstls", self.files))
                self._ports[key] = self._stack.enter_context(server).port
        return self._ports[key]

    def wrong_name_files(self) -> ServerFiles:
        if self._wrong_name_files is None:
            identity = self.pki.ca.issue_server([WRONG_NAME])
            self._wrong_name_files = write_server_files(identity, self.directory, "wrong-name")
        return self._wrong_name_files

    def close(self) -> None:
        self._stack.close()
