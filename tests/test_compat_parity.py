"""glasstls.compat against the stdlib's ``ssl``, case by case: each test runs the same code with
``ssl.SSLContext`` and with ``glasstls.compat.SSLContext`` and expects the same outcome (the
audit of the compat layer's differences). Peers are real: a thread on 127.0.0.1 whose TLS is
the stdlib's, unless a test says otherwise.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time
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


def connect(context: Any, port: int, sock: socket.socket | None = None, **kwargs: Any) -> Any:
    sock = sock or socket.create_connection(("127.0.0.1", port), timeout=WAIT)
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


@pytest.mark.parametrize("version", list(VERSIONS))
def test_sni_callback_switch_serves_that_contexts_chain_and_alpn(
    files: Files, kind: str, version: str, tmp_path: Path
) -> None:
    """A context an sni_callback switches to serves its chain and its ALPN protocols (OpenSSL's
    SSL_set_SSL_CTX, whose ALPN callback is the new context's), and the callback is asked once per
    handshake, a resumed one too, whatever the number of suites the client offers."""
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    server_identity("switched.test").write(chain, key)
    other = CONTEXTS[kind](ssl.PROTOCOL_TLS_SERVER)
    other.load_cert_chain(str(chain), str(key))
    other.set_alpn_protocols(["h2"])
    context = server_context(files, kind, version)
    context.set_alpn_protocols(["http/1.1"])
    names: list[str] = []

    def switch(sock: Any, name: str, _context: Any) -> None:
        names.append(name)
        sock.context = other

    context.sni_callback = switch

    def handler(tls: Any) -> tuple[str | None, bool]:
        tls.sendall(b"ok")
        tls.recv(1)
        return tls.selected_alpn_protocol(), tls.session_reused

    client = client_context(files, "stdlib", version)
    client.set_alpn_protocols(["http/1.1", "h2"])
    session = None
    for _ in range(2):
        with tls_server(context, handler) as server:
            with connect(client, server.port, server_hostname="switched.test", session=session) as tls:
                assert tls.recv(2) == b"ok"
                session = tls.session
                tls.sendall(b"x")
                assert tls.selected_alpn_protocol() == "h2"
            assert server.result() == ("h2", len(names) == 2)
    assert names == ["switched.test", "switched.test"]


@pytest.mark.parametrize("version", list(VERSIONS))
def test_a_reset_after_the_handshake_reads_as_a_ragged_eof(files: Files, kind: str, version: str) -> None:
    """A peer that resets the connection (SO_LINGER 0) is, as _ssl.c reports it over OpenSSL 3, the end
    of the stream without close_notify: recv gives b'' (suppress_ragged_eofs) or raises SSLEOFError,
    and a send raises SSLEOFError, then and after; not ConnectionResetError or BrokenPipeError."""
    reset = threading.Event()

    def handler(tls: Any) -> None:
        tls.sendall(b"hi")
        tls.recv(1)
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        tls.close()  # (a reset: SO_LINGER with no time to linger)
        reset.set()

    outcomes = []
    for ragged, action in ((True, "recv"), (False, "recv"), (True, "send")):
        context = client_context(files, kind, version)
        with tls_server(server_context(files, version=version), handler) as server:
            with connect(context, server.port, suppress_ragged_eofs=ragged) as tls:
                assert tls.recv(2) == b"hi"
                tls.sendall(b"x")
                assert reset.wait(WAIT)
                time.sleep(0.1)  # (the reset reaches our end)
                for _ in range(2):
                    try:
                        outcomes.append(tls.recv(10) if action == "recv" else tls.sendall(b"y" * 10))
                    except OSError as exc:
                        outcomes.append(type(exc).__name__)
            server.result()
            reset.clear()
    assert outcomes == [b"", b"", "SSLEOFError", "SSLEOFError", "SSLEOFError", "SSLEOFError"]


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


# -- a non-blocking send() counts only what left (SSL_write's WANT_WRITE) -------------------------------


def late_reader(files: Files, size: int, version: str) -> tuple[socket.socket, Any]:
    """A listener with a small receive buffer, and a thread that waits before reading ``size``
    bytes over TLS, then answers how many it got: the client's send buffer fills meanwhile."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # (before listen: inherited)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(WAIT)
    context = server_context(files, version=version)

    def serve() -> None:
        conn, _ = listener.accept()
        conn.settimeout(WAIT)
        with context.wrap_socket(conn, server_side=True) as tls, contextlib.suppress(OSError):
            time.sleep(0.5)  # (OSError: a client that closes before all came, as the BAD_WRITE_RETRY test)
            got = 0
            while got < size and (chunk := tls.recv(4096)):
                got += len(chunk)
            tls.sendall(b"got %d" % got)
            tls.recv(1)  # until the client closes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize("version", VERSIONS)
def test_nonblocking_send_counts_only_what_left(files: Files, kind: str, version: str) -> None:
    """An event loop's send loop, then select() for the answer: with sends reported before their
    records left, the request stayed in the socket's buffer and select() never saw the answer."""
    size = 1 << 16
    listener, thread = late_reader(files, size, version)
    raw = socket.create_connection(listener.getsockname(), timeout=WAIT)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    with listener, connect(client_context(files, kind, version), 0, sock=raw) as tls:
        tls.setblocking(False)
        data, sent, wants = os.urandom(size), 0, 0
        deadline = time.monotonic() + WAIT
        while sent < size and time.monotonic() < deadline:
            try:
                sent += tls.send(bytes(data[sent:]))  # a new buffer each time: it may move (ACCEPT_MOVING_WRITE_BUFFER)
            except ssl.SSLWantWriteError:
                wants += 1
                select.select([], [tls], [], WAIT)
        assert sent == size and wants > 0
        assert select.select([tls], [], [], WAIT)[0], "the answer never came: the request did not all leave"
        answer = b""
        while not answer and time.monotonic() < deadline:
            try:
                answer = tls.recv(100)
            except ssl.SSLWantReadError:
                select.select([tls], [], [], 1.0)
        assert answer == b"got %d" % size
    thread.join(WAIT)


def test_a_retry_shorter_than_what_was_taken_is_refused(files: Files) -> None:
    """OpenSSL's SSL_write refuses a retry with fewer bytes than the first call took (BAD_WRITE_RETRY)."""
    listener, thread = late_reader(files, 1 << 20, "TLSv1.3")
    raw = socket.create_connection(listener.getsockname(), timeout=WAIT)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    with listener, connect(client_context(files, "glasstls"), 0, sock=raw) as tls:
        tls.setblocking(False)
        with pytest.raises(ssl.SSLWantWriteError):
            for _ in range(100):
                tls.send(b"x" * 16384)
        with pytest.raises(ssl.SSLError, match="BAD_WRITE_RETRY"):
            tls.send(b"x")
        tls.setblocking(True)
        tls.settimeout(WAIT)
        tls.sendall(b"x" * 16384)  # the sealed bytes go out first, then the rest of this buffer


# -- unwrap() and data the peer sent after our close_notify ---------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_unwrap_with_data_after_our_close_notify(files: Files, kind: str, version: str) -> None:
    """The peer answers our close_notify with data, then its own close_notify (allowed in TLS 1.3,
    RFC 8446 6.1; OpenSSL writes after a received close_notify in TLS 1.2 too). OpenSSL's
    SSL_shutdown fails with APPLICATION_DATA_AFTER_CLOSE_NOTIFY; glasstls raises the same, and
    (its rule: data received is delivered, never silently lost) recv() still gives the data."""
    last_words = b"LAST WORDS " * 10

    def answer_after_close(tls: Any) -> None:
        assert tls.recv(3) == b"bye"
        assert tls.recv(1) == b""  # the client's close_notify
        tls.sendall(last_words)
        tls.unwrap()

    context = client_context(files, kind, version)
    with tls_server(server_context(files, version=version), answer_after_close) as server:
        with connect(context, server.port) as tls:
            tls.sendall(b"bye")
            with pytest.raises(ssl.SSLError) as caught:
                tls.unwrap()
            assert type(caught.value) is ssl.SSLError and caught.value.args[0] == ssl.SSL_ERROR_SSL
            assert (caught.value.reason, caught.value.library) == ("APPLICATION_DATA_AFTER_CLOSE_NOTIFY", "SSL")
            if kind == "glasstls":  # (one record: sent by one sendall)
                assert tls.recv(1000) == last_words
                assert tls.unwrap() is tls  # the peer's close_notify came after the data
        server.result()


# -- context defaults, versions, ALPN arguments; the attributes of the exceptions ---------------------------


def test_context_defaults_as_the_stdlib() -> None:
    for protocol in (ssl.PROTOCOL_TLS_CLIENT, ssl.PROTOCOL_TLS_SERVER):
        theirs, ours = ssl.SSLContext(protocol), glasstls.compat.SSLContext(protocol)
        assert (ours.minimum_version, ours.maximum_version) == (theirs.minimum_version, theirs.maximum_version)
        assert ours.options == theirs.options  # OP_CIPHER_SERVER_PREFERENCE, OP_ENABLE_MIDDLEBOX_COMPAT among them


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.MINIMUM_SUPPORTED])
def test_an_older_floor_is_read_back_and_tls12_in_effect(files: Files, kind: str, version: ssl.TLSVersion) -> None:
    """Libraries set TLSv1 as the floor for old servers: the stdlib takes it, so glasstls does, and
    (it has no TLS 1.0/1.1, RFC 8996) still negotiates TLS 1.2 at least."""
    context = client_context(files, kind, "TLSv1.2")
    old = version != ssl.TLSVersion.MINIMUM_SUPPORTED
    with pytest.warns(DeprecationWarning, match="is deprecated") if old else contextlib.nullcontext():
        context.minimum_version = version
    assert context.minimum_version == version
    with tls_server(server_context(files, version="TLSv1.2"), lambda tls: tls.version()) as server:
        with connect(context, server.port) as tls:
            assert tls.version() == "TLSv1.2"
        assert server.result() == "TLSv1.2"


def test_a_ceiling_below_tls12_leaves_no_protocol(files: Files) -> None:
    context = client_context(files, "glasstls")
    with pytest.warns(DeprecationWarning):
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError) as caught:
        context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
    assert caught.value.reason == "NO_PROTOCOLS_AVAILABLE"


def test_protocol_tlsv1_2_is_tls12_only(files: Files, kind: str) -> None:
    with pytest.warns(DeprecationWarning, match="PROTOCOL_TLSv1_2 is deprecated"):  # both, as _ssl.c
        context = CONTEXTS[kind](ssl.PROTOCOL_TLSv1_2)
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_NONE, False)
    assert context.minimum_version == ssl.TLSVersion.MINIMUM_SUPPORTED
    with tls_server(server_context(files), lambda tls: tls.version()) as server:
        with connect(context, server.port) as tls:  # a TLS 1.3 server: TLS 1.2 negotiated all the same
            assert tls.version() == "TLSv1.2"
        assert server.result() == "TLSv1.2"


def test_alpn_arguments_refused_as_the_stdlib(kind: str) -> None:
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(ssl.SSLError, match="ALPN protocols must be 1 to 255 in length"):
        context.set_alpn_protocols(["h2", ""])
    with pytest.raises(TypeError):
        context.set_alpn_protocols([b"h2"])


def test_want_errors_carry_reason_and_library_none(files: Files, kind: str) -> None:
    sslobj = client_context(files, kind).wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError) as caught:
        sslobj.do_handshake()
    assert (caught.value.reason, caught.value.library, caught.value.errno) == (None, None, ssl.SSL_ERROR_WANT_READ)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_server_alpn_list_with_no_overlap_goes_on_without_alpn(files: Files, kind: str, version: str) -> None:
    """_ssl.c's ALPN select callback answers NOACK when nothing matches: the handshake goes on with no
    protocol (RFC 7301, Section 3.2 would refuse it; glasstls's own server does, alpn_required)."""
    context = server_context(files, kind, version)
    context.set_alpn_protocols(["h2"])

    def handler(tls: Any) -> Any:
        tls.sendall(b"ok")
        return tls.selected_alpn_protocol()

    client = client_context(files, "stdlib", version)
    client.set_alpn_protocols(["http/1.1"])
    with tls_server(context, handler) as server, connect(client, server.port) as tls:
        assert tls.recv(2) == b"ok" and tls.selected_alpn_protocol() is None
        assert server.result() is None


@pytest.mark.parametrize("size", [5.0, "5"])
def test_a_read_size_that_is_no_integer_is_a_type_error_and_loses_nothing(files: Files, kind: str, size: Any) -> None:
    """recv(n / 2) and the like: _ssl.c refuses the size before it reads, and the connection goes on.
    glasstls read and decrypted a record first, kept a float as the offset of what remained, and every
    later read failed (found by a helper's differential review)."""
    server = tls_server(server_context(files), lambda tls: (tls.sendall(b"0123456789" * 10), tls.recv(1)))
    with server, connect(client_context(files, kind), server.port) as tls:
        for read in (tls.recv, tls.read, lambda n: tls.recv_into(bytearray(100), n)):
            with pytest.raises(TypeError):
                read(size)
        got = b""
        while len(got) < 100:
            got += tls.recv(100)
        assert got == b"0123456789" * 10
