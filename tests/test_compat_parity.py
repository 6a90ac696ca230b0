"""glasstls.compat against the stdlib's ``ssl``, case by case: each test runs the same code with
``ssl.SSLContext`` and with ``glasstls.compat.SSLContext`` and expects the same outcome (the
audit of the compat layer's differences). Peers are real: a thread on 127.0.0.1 whose TLS is
the stdlib's, unless a test says otherwise.
"""

from __future__ import annotations

import socket
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import glasstls.compat
from pairs import default_ca, server_identity

sys.path.insert(0, str(Path(__file__).parent / "interop"))
from interop_peers import WAIT, ServerThread

pytestmark = pytest.mark.timeout(60)
CONTEXTS: dict[str, Any] = {"stdlib": ssl.SSLContext, "glasstls": glasstls.compat.SSLContext}
VERSIONS = {"TLSv1.3": ssl.TLSVersion.TLSv1_3, "TLSv1.2": ssl.TLSVersion.TLSv1_2}


class Files:
    def __init__(self, directory: Path) -> None:
        self.root, self.chain, self.key = directory / "root.pem", directory / "chain.pem", directory / "key.pem"
        self.root.write_bytes(default_ca().root_pem())
        server_identity("localhost", "127.0.0.1").write(self.chain, self.key)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("compat-parity"))


@pytest.fixture(params=list(CONTEXTS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client_context(files: Files, kind: str, version: str = "TLSv1.3") -> Any:
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(files.root))
    context.maximum_version = VERSIONS[version]
    return context


def server_context(files: Files, kind: str = "stdlib", version: str = "TLSv1.3") -> Any:
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(files.chain), str(files.key))
    context.maximum_version = VERSIONS[version]
    return context


def tls_server(context: Any, handler: Callable[[Any], Any]) -> ServerThread:
    """A server thread that wraps its one connection with ``context`` and runs ``handler`` on it."""

    def handle(sock: socket.socket) -> Any:
        with context.wrap_socket(sock, server_side=True) as tls:
            return handler(tls)

    return ServerThread(handle)


def connect(context: Any, port: int, **kwargs: Any) -> Any:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    return context.wrap_socket(sock, server_hostname=kwargs.pop("server_hostname", "localhost"), **kwargs)


# -- the stdlib's classes (item: httpcore, ftplib, asyncio check isinstance) -------------------------


def test_sockets_and_objects_are_the_stdlibs_classes(files: Files, kind: str) -> None:
    context = client_context(files, kind)
    sslobj = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
    assert isinstance(sslobj, ssl.SSLObject) and sslobj.server_side is False
    assert sslobj.server_hostname == "localhost"
    with tls_server(server_context(files), lambda tls: tls.recv(1)) as server, connect(context, server.port) as tls:
        assert isinstance(tls, ssl.SSLSocket) and isinstance(tls, socket.socket)
        tls.sendall(b"x")
        server.result()


def test_sni_callback_is_given_the_sslsocket(files: Files, kind: str) -> None:
    """_ssl.c hands the callback the SSLSocket for wrap_socket (its ``owner``), the SSLObject for wrap_bio."""
    seen: list[Any] = []
    context = server_context(files, kind)
    context.sni_callback = lambda sock, name, ctx: seen.append((sock, name))

    def handler(tls: Any) -> None:
        assert seen == [(tls, "localhost")]
        tls.sendall(b"ok")

    with tls_server(context, handler) as server, connect(client_context(files, "stdlib"), server.port) as tls:
        assert tls.recv(2) == b"ok"
        server.result()


def test_unwrap_keeps_context_and_server_hostname(files: Files, kind: str) -> None:
    def handler(tls: Any) -> None:
        tls.recv(1)
        tls.unwrap()

    context = client_context(files, kind)
    with tls_server(server_context(files), handler) as server, connect(context, server.port) as tls:
        tls.sendall(b"x")
        plain = tls.unwrap()
        assert (plain.context, plain.server_hostname, plain.session) == (context, "localhost", None)
        server.result()
