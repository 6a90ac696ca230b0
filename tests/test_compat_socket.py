"""glasstls.compat.sslsocket: the SSLSocket pump over an SSLObject, against real peers on 127.0.0.1.

The SSLObject comes from a factory; the stdlib's own (``ssl.SSLContext.wrap_bio``)
proves the pump: whatever goes wrong here is the pump's, not the TLS stack's.

* a raw client: ``wrap_socket`` over TCP to ``openssl s_server -www`` and to
  ``glasstls server --www``, an HTTP GET read back through ``makefile('rb')``;
* the server side: a thread wraps an accepted socket ``server_side`` and a stdlib
  ``ssl`` client talks to it (lines, 1 MiB each way, ``sendfile``, ``accept()``);
* timeouts (a silent peer), non-blocking ``SSLWantReadError`` and ``select()``,
  EOF with and without close_notify under both ``suppress_ragged_eofs``, ``unwrap``;
* ``http.client``, ``urllib`` and ``smtplib`` through an ``ssl.SSLContext`` whose
  ``wrap_socket`` is this pump.
"""

from __future__ import annotations

import array
import contextlib
import http.client
import random
import select
import smtplib
import socket
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import glasstls.compat
from glasstls.compat.sslsocket import SSLSocket, wrap_socket
from pairs import default_ca, other_ca, server_identity

sys.path.insert(0, str(Path(__file__).parent / "interop"))
from interop_peers import OPENSSL, WAIT, GlasstlsCLIServer, PeerProcess, ServerThread, read_line, split_pem_chain

pytestmark = pytest.mark.timeout(60)

STACKS: dict[str, Any] = {"stdlib": ssl, "glasstls": glasstls.compat}  # whose SSLObject the pump drives
PROTOCOLS = {"TLSv1.3": ssl.TLSVersion.TLSv1_3, "TLSv1.2": ssl.TLSVersion.TLSv1_2}


# -- the PKI and the stdlib's SSLObject as the factory ---------------------------------------


class Files:
    def __init__(self, directory: Path) -> None:
        identity = server_identity("localhost", "127.0.0.1")
        self.root = directory / "root.pem"
        self.root.write_bytes(default_ca().root_pem())
        self.chain, self.key = directory / "chain.pem", directory / "key.pem"
        identity.write(self.chain, self.key)
        leaf, rest = split_pem_chain(identity.chain_pem())
        self.leaf, self.intermediates = directory / "leaf.pem", directory / "intermediates.pem"
        self.leaf.write_bytes(leaf)
        self.intermediates.write_bytes(rest)


@pytest.fixture(params=list(STACKS))
def stack(request: pytest.FixtureRequest) -> Any:
    return STACKS[request.param]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("compat-socket"))


def client_context(files: Files, version: str = "TLSv1.3", stack: Any = ssl) -> Any:
    context = stack.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(files.root))
    context.minimum_version = context.maximum_version = PROTOCOLS[version]
    return context


def server_context(files: Files, version: str = "TLSv1.3", stack: Any = ssl) -> Any:
    context = stack.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(files.chain), str(files.key))
    context.minimum_version = context.maximum_version = PROTOCOLS[version]
    return context


def client_factory(context: Any, host: str = "localhost") -> Callable[[ssl.MemoryBIO, ssl.MemoryBIO], Any]:
    return lambda incoming, outgoing: context.wrap_bio(incoming, outgoing, server_hostname=host)


def server_factory(context: Any) -> Callable[[ssl.MemoryBIO, ssl.MemoryBIO], Any]:
    return lambda incoming, outgoing: context.wrap_bio(incoming, outgoing, server_side=True)


def pumped_client(files: Files, port: int, version: str = "TLSv1.3", stack: Any = ssl, **kw: Any) -> SSLSocket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    return wrap_socket(sock, client_factory(client_context(files, version, stack)), **kw)


class PumpedContext(ssl.SSLContext):
    """An ``ssl.SSLContext`` whose sockets are this module's pump over its own SSLObjects."""

    def wrap_socket(  # type: ignore[override]
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | None = None,
        session: Any = None,
    ) -> SSLSocket:
        def make(incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO) -> ssl.SSLObject:
            return self.wrap_bio(incoming, outgoing, server_side, server_hostname, session)

        return wrap_socket(
            sock,
            make,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
        )


def pumped_context(files: Files, stack: Any) -> Any:
    """A client context whose wrap_socket is the pump: over the stdlib's SSLObject, or glasstls's own."""
    context = (PumpedContext if stack is ssl else stack.SSLContext)(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(files.root))
    return context


# -- peers -------------------------------------------------------------------------------------


class WWWServer(PeerProcess):
    """``openssl s_server -www`` on 127.0.0.1: answers a GET with a page about the connection."""

    name = "s_server -www"

    def __init__(self, files: Files, version: str, naccept: int = 1) -> None:
        flag = {"TLSv1.3": "-tls1_3", "TLSv1.2": "-tls1_2"}[version]
        super().__init__(
            [
                OPENSSL, "s_server", flag, "-www", "-accept", "127.0.0.1:0", "-naccept", str(naccept),
                "-cert", str(files.leaf), "-cert_chain", str(files.intermediates), "-key", str(files.key),
            ]
        )  # fmt: skip

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^ACCEPT ").rsplit(":", 1)[1])


def http_get(sock: socket.socket, host: str = "localhost") -> tuple[bytes, bytes]:
    """GET / over ``sock``; the status line and the whole body, read through makefile('rb')."""
    sock.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
    with sock.makefile("rb") as stream:
        status = stream.readline()
        body = stream.read()
    return status, body


def silent_listener() -> socket.socket:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)
    return listener


# -- (a) a raw client against real servers ---------------------------------------------------


@pytest.mark.parametrize("version", PROTOCOLS)
def test_get_from_openssl_www(files: Files, stack: Any, version: str) -> None:
    with WWWServer(files, version) as server, pumped_client(files, server.port, version, stack) as tls:
        assert tls.version() == version
        assert tls.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
        assert tls.cipher()[1] == version and tls.server_hostname == "localhost" and not tls.server_side
        status, body = http_get(tls)
    assert status.startswith(b"HTTP/1.0 200"), status
    assert f"Protocol  : {version}".encode() in body, body[:400]


@pytest.mark.parametrize("version", PROTOCOLS)
def test_get_from_glasstls_server_www(files: Files, stack: Any, version: str) -> None:
    args = ("--www", "--cert", str(files.chain), "--key", str(files.key), "--max-connections", "1")
    with GlasstlsCLIServer(*args) as server, pumped_client(files, server.port, version, stack) as tls:
        assert tls.version() == version
        status, body = http_get(tls)
    assert status.startswith(b"HTTP/1.") and b" 200 " in status, status
    assert version.encode() in body, body[:400]


# -- (b) the server side -----------------------------------------------------------------------


def pumped_server(
    files: Files, handler: Callable[[SSLSocket], Any], version: str = "TLSv1.3", stack: Any = ssl
) -> ServerThread:
    factory = server_factory(server_context(files, version, stack))

    def handle(sock: socket.socket) -> Any:
        with wrap_socket(sock, factory, server_side=True) as tls:
            return handler(tls)

    return ServerThread(handle)


def stdlib_connect(files: Files, port: int, version: str = "TLSv1.3") -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    return client_context(files, version).wrap_socket(sock, server_hostname="localhost")


@pytest.mark.parametrize("version", PROTOCOLS)
def test_server_side_answers_a_stdlib_client(files: Files, stack: Any, version: str) -> None:
    def reverse_lines(tls: SSLSocket) -> tuple[str | None, bool]:
        while line := read_line(tls.recv):
            tls.sendall(line.rstrip(b"\n")[::-1] + b"\n")
        answer = tls.version(), tls.server_side  # the loop ended at the client's close_notify: b''
        tls.unwrap()  # ours in answer, which the client's unwrap() waits for
        return answer

    with pumped_server(files, reverse_lines, version, stack) as server:
        with stdlib_connect(files, server.port, version) as client:
            for text in (b"hello", b"x" * 40000):
                client.sendall(text + b"\n")
                assert read_line(client.recv) == text[::-1] + b"\n"
            client.unwrap()
        assert server.result() == (version, True)


def test_a_mebibyte_each_way_and_sendfile(files: Files, stack: Any, tmp_path: Path) -> None:
    blob = bytes(range(256)) * 4096  # 1 MiB: many records, the pump's chunks and record boundaries
    source = tmp_path / "blob"
    source.write_bytes(blob)

    def echo_then_file(tls: SSLSocket) -> int:
        received = bytearray()
        while len(received) < len(blob):
            received += tls.recv(70000)
        tls.sendall(received)
        with source.open("rb") as file:
            return tls.sendfile(file)

    with pumped_server(files, echo_then_file, stack=stack) as server, stdlib_connect(files, server.port) as client:
        client.sendall(blob)
        back = bytearray()
        while len(back) < 2 * len(blob):
            chunk = client.recv(1 << 16)
            assert chunk, "EOF before all the data came back"
            back += chunk
        assert back == blob + blob and server.result() == len(blob)


def test_accept_on_a_listening_sslsocket(files: Files, stack: Any) -> None:
    factory = server_factory(server_context(files, stack=stack))
    listener = wrap_socket(socket.create_server(("127.0.0.1", 0)), factory, server_side=True)
    listener.settimeout(WAIT)
    port = listener.getsockname()[1]
    done: list[bytes] = []

    def client() -> None:
        with stdlib_connect(files, port) as tls:
            tls.sendall(b"ping\n")
            done.append(read_line(tls.recv))

    thread = threading.Thread(target=client)
    thread.start()
    try:
        conn, _ = listener.accept()
        with conn:
            assert isinstance(conn, SSLSocket) and conn.version() == "TLSv1.3"
            assert read_line(conn.recv) == b"ping\n"
            conn.sendall(b"pong\n")
        thread.join(WAIT)
    finally:
        listener.close()
    assert done == [b"pong\n"]


# -- (c) timeouts, non-blocking, EOF, unwrap -------------------------------------------------------


def test_handshake_with_a_silent_peer_times_out(files: Files, stack: Any) -> None:
    with silent_listener() as listener:
        sock = socket.create_connection(listener.getsockname(), timeout=0.5)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="handshake"):
            wrap_socket(sock, client_factory(client_context(files, stack=stack)))
        assert 0.4 < time.monotonic() - started < 3.0
        assert sock.fileno() == -1  # taken over by the SSLSocket, which closed on failure


@pytest.mark.parametrize(
    "answer", [b"HTTP/1.1 400 Bad Request\r\n", b"\x16\x03\x03\xff\xff"], ids=["plain-text", "over-long-record"]
)
def test_an_answer_that_begins_no_record_fails_at_once(files: Files, stack: Any, answer: bytes) -> None:
    """The pump reads a record's body before asking the SSLObject again, but not after a header
    no record has: the peer's bytes are refused at once, not at the deadline."""
    answered = threading.Event()
    with silent_listener() as listener:

        def answer_and_stay() -> None:
            peer, _ = listener.accept()
            with peer:
                peer.recv(65536)  # the ClientHello
                peer.sendall(answer)
                answered.wait(WAIT)  # then silent, the connection open

        thread = threading.Thread(target=answer_and_stay, daemon=True)
        thread.start()
        sock = socket.create_connection(listener.getsockname(), timeout=10)
        started = time.monotonic()
        try:
            with pytest.raises(ssl.SSLError):
                wrap_socket(sock, client_factory(client_context(files, stack=stack)))
            assert time.monotonic() - started < 3.0
        finally:
            answered.set()
            thread.join(WAIT)


def test_recv_from_a_silent_peer_times_out_as_a_deadline(files: Files, stack: Any) -> None:
    release = threading.Event()

    def silent(tls: SSLSocket) -> None:
        release.wait(WAIT)

    with pumped_server(files, silent, stack=stack) as server, pumped_client(files, server.port, stack=stack) as tls:
        tls.settimeout(0.5)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="read"):
            tls.recv(100)
        assert 0.4 < time.monotonic() - started < 3.0
        release.set()
        server.result()


def test_nonblocking_recv_wants_read_until_select_says_readable(files: Files, stack: Any) -> None:
    send_now = threading.Event()

    def late_line(tls: SSLSocket) -> None:
        send_now.wait(WAIT)
        tls.sendall(b"late\n")
        assert tls.recv(10) == b""  # the client's close_notify
        tls.unwrap()  # ours in answer, which the client's unwrap() waits for

    with pumped_server(files, late_line, stack=stack) as server, pumped_client(files, server.port, stack=stack) as tls:
        tls.setblocking(False)
        with pytest.raises(ssl.SSLWantReadError):
            while True:  # TLS 1.3 tickets may be read first; then nothing is left
                assert tls.recv(100) == b"", "no data was sent yet"
        send_now.set()
        deadline = time.monotonic() + WAIT
        data = b""
        while not data.endswith(b"\n") and time.monotonic() < deadline:
            select.select([tls], [], [], 1.0)
            try:
                data += tls.recv(100)
            except ssl.SSLWantReadError:
                continue
        assert data == b"late\n"
        assert tls.pending() == 0
        tls.setblocking(True)
        tls.settimeout(WAIT)
        tls.unwrap()
        server.result()


def _socketpair_session(
    files: Files, stack: Any
) -> tuple[SSLSocket, socket.socket, ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    """A pumped client over one end of a socket pair, the stdlib's server SSLObject driven by hand
    over the other: (client, the raw end, the server, the server's outgoing and incoming BIOs)."""
    near, far = socket.socketpair()
    far.settimeout(WAIT)
    context = server_context(files)
    context.num_tickets = 0  # nothing after the handshake but what the test writes
    s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = context.wrap_bio(s_in, s_out, server_side=True)
    made: list[SSLSocket] = []
    factory = client_factory(client_context(files, stack=stack))
    client = threading.Thread(target=lambda: made.append(wrap_socket(near, factory)))
    client.start()
    for _ in range(10):  # a TLS 1.3 handshake is two flights each way
        try:
            server.do_handshake()
        except ssl.SSLWantReadError:
            far.sendall(s_out.read())
            s_in.write(far.recv(65536))
            continue
        far.sendall(s_out.read())
        break
    client.join(WAIT)
    assert made, "the client's handshake did not finish"
    return made[0], far, server, s_out, s_in


@pytest.mark.parametrize("cut", [3, 5, 9], ids=["in-header", "after-header", "in-body"])
def test_a_record_arriving_in_pieces(files: Files, stack: Any, cut: int) -> None:
    """The pump reads a record's body in the same call as its header, so a record that arrives in
    pieces must leave it where it was: a non-blocking recv wants read and then reads the record
    whole; a recv that times out in the middle loses nothing, and the next one reads it."""
    tls, far, server, s_out, _ = _socketpair_session(files, stack)
    with tls, far:
        server.write(b"first record")
        record = s_out.read()
        tls.setblocking(False)
        far.sendall(record[:cut])
        with pytest.raises(ssl.SSLWantReadError):
            tls.recv(100)
        far.sendall(record[cut:])
        assert select.select([tls], [], [], WAIT)[0]
        assert tls.recv(100) == b"first record"

        server.write(b"second record")
        record = s_out.read()
        tls.settimeout(0.3)
        far.sendall(record[:cut])
        with pytest.raises(TimeoutError, match="read"):
            tls.recv(100)
        far.sendall(record[cut:])
        assert tls.recv(100) == b"second record"


def test_records_larger_than_each_read_are_read_across_calls_in_order(files: Files, stack: Any) -> None:
    """A reader asking less than a record holds (http.client reads 8 KiB, records carry 16 KiB) takes
    each record in pieces: into a bytearray, an array of words or a slice of a view, with ``nbytes``
    or without, as bytes, or a whole record at a time; nothing is lost, repeated or reordered, and
    the peer's close_notify after the data reads as the end."""
    tls, far, server, s_out, _ = _socketpair_session(files, stack)
    blob = random.Random(7).randbytes(200_000)  # 13 records, the last one short
    server.write(blob)

    def into_bytearray() -> bytes:
        buffer = bytearray(8192)
        return bytes(buffer[: tls.recv_into(buffer)])

    def into_words() -> bytes:  # a view of another format: its bytes count, as _ssl.c counts them
        words = array.array("I", bytes(4000))
        count = tls.recv_into(words)
        return words.tobytes()[:count]

    def into_a_slice_with_nbytes() -> bytes:
        buffer = bytearray(6000)
        with memoryview(buffer) as view:
            count = tls.recv_into(view[1000:], 3000)
        return bytes(buffer[1000 : 1000 + count])

    readers = [into_bytearray, into_words, lambda: tls.recv(3000), into_a_slice_with_nbytes, lambda: tls.read(1 << 16)]
    sender = threading.Thread(target=far.sendall, args=(s_out.read(),))  # (more than a socket buffer may hold)
    with tls, far:
        sender.start()
        got, calls = bytearray(), 0
        while len(got) < len(blob):
            piece = readers[calls % len(readers)]()
            assert piece, f"the end after {len(got)} of {len(blob)} bytes"
            got += piece
            calls += 1
        assert got == blob and calls > 2 * 13
        sender.join(WAIT)
        with contextlib.suppress(ssl.SSLWantReadError):
            server.unwrap()  # its close_notify
        far.sendall(s_out.read())
        assert tls.recv(8192) == b""


def test_a_body_in_pieces_is_waited_for_and_a_stream_cut_inside_a_record_is_a_truncation(
    files: Files, stack: Any
) -> None:
    """A recv waits for the whole body of a record however it comes (here its header and body
    in three pieces, apart in time), and a stream that ends inside a record is a truncation,
    never a short record: SSLEOFError when ragged EOFs are not suppressed."""
    tls, far, server, s_out, _ = _socketpair_session(files, stack)
    with tls, far:
        tls.settimeout(WAIT)
        tls.suppress_ragged_eofs = False
        server.write(bytes(range(200)) * 25)
        record = s_out.read()

        def trickle() -> None:
            for start, end in ((0, 7), (7, 2000), (2000, len(record))):
                far.sendall(record[start:end])
                time.sleep(0.05)

        sender = threading.Thread(target=trickle)
        sender.start()
        assert tls.recv(10_000) == bytes(range(200)) * 25
        sender.join(WAIT)

        server.write(b"cut short")
        far.sendall(s_out.read()[:12])
        far.shutdown(socket.SHUT_WR)
        with pytest.raises(ssl.SSLEOFError):
            tls.recv(100)


@pytest.mark.parametrize(
    ("header", "alert"),
    [
        (b"\x17\x03\x03\x41\x01", "record overflow"),  # 2^14 + 257 bytes: past TLS 1.3's limit (RFC 8446, 5.2)
        (b"\x17\x03\x03\x00\x40", "bad record mac"),  # a whole record that does not open
    ],
    ids=["overflow", "bad-mac"],
)
def test_a_record_that_cannot_be_taken_fails_the_read_and_tells_the_peer(
    files: Files, stack: Any, header: bytes, alert: str
) -> None:
    """A whole record read after the handshake that is too long for TLS 1.3, or that does not
    open, fails the read with SSLError and sends the peer the alert (RFC 8446, 5.2 and 6.2)."""
    tls, far, server, _, s_in = _socketpair_session(files, stack)
    with tls, far:
        tls.settimeout(WAIT)
        length = int.from_bytes(header[3:5], "big")
        far.sendall(header + bytes(length))
        with pytest.raises(ssl.SSLError):
            tls.recv(100)
        s_in.write(far.recv(65536))  # the alert, under the client's application keys
        with pytest.raises(ssl.SSLError, match=f"(?i){alert}"):
            server.read(100)


def test_nonblocking_handshake_on_connect_is_refused(files: Files, stack: Any) -> None:
    with silent_listener() as listener:
        sock = socket.create_connection(listener.getsockname(), timeout=WAIT)
        sock.setblocking(False)
        with pytest.raises(ValueError, match="non-blocking"):
            wrap_socket(sock, client_factory(client_context(files, stack=stack)))


def close_without_close_notify(tls: SSLSocket) -> None:
    tls.sendall(b"last\n")
    tls.close()  # the fd only: no close_notify, as the stdlib's close()


@pytest.mark.parametrize("version", PROTOCOLS)
def test_ragged_eof_reads_as_end_when_suppressed(files: Files, stack: Any, version: str) -> None:
    with pumped_server(files, close_without_close_notify, version, stack) as server:
        with pumped_client(files, server.port, version, stack) as tls:
            assert read_line(tls.recv) == b"last\n"
            assert tls.recv(10) == b""
            buffer = bytearray(10)
            assert tls.recv_into(buffer) == 0
        server.result()


@pytest.mark.parametrize("version", PROTOCOLS)
def test_ragged_eof_raises_when_not_suppressed(files: Files, stack: Any, version: str) -> None:
    with pumped_server(files, close_without_close_notify, version, stack) as server:
        with pumped_client(files, server.port, version, stack, suppress_ragged_eofs=False) as tls:
            assert read_line(tls.recv) == b"last\n"
            with pytest.raises(ssl.SSLEOFError):
                tls.recv(10)
        server.result()


def test_close_notify_reads_as_end_even_unsuppressed(files: Files, stack: Any) -> None:
    def unwrap_at_once(tls: SSLSocket) -> None:
        tls.sendall(b"bye\n")
        tls.unwrap()

    with pumped_server(files, unwrap_at_once, stack=stack) as server:
        with pumped_client(files, server.port, stack=stack, suppress_ragged_eofs=False) as tls:
            assert read_line(tls.recv) == b"bye\n"
            assert tls.recv(10) == b"" and tls.recv(10) == b""
            tls.unwrap()
        server.result()


def test_unwrap_returns_the_plain_socket_both_ends(files: Files, stack: Any) -> None:
    def tls_then_plain(tls: SSLSocket) -> bytes:
        assert read_line(tls.recv) == b"STOPTLS\n"
        plain = tls.unwrap()
        line = read_line(plain.recv)  # the first plain bytes were not swallowed with the close_notify
        plain.sendall(b"plain:" + line)
        return line

    server = pumped_server(files, tls_then_plain, stack=stack)
    with server, pumped_client(files, server.port, stack=stack) as tls:
        tls.sendall(b"STOPTLS\n")
        plain = tls.unwrap()
        assert plain is tls and tls.version() is None and tls.cipher() is None
        plain.sendall(b"in the clear\n")
        assert read_line(plain.recv) == b"plain:in the clear\n"
        assert server.result() == b"in the clear\n"
        with pytest.raises(ValueError, match="No SSL wrapper"):
            tls.unwrap()


def test_sendall_on_a_closed_connection_raises(files: Files, stack: Any) -> None:
    def close_at_once(tls: SSLSocket) -> None:
        tls.shutdown(socket.SHUT_RDWR)

    server = pumped_server(files, close_at_once, stack=stack)
    with server, pumped_client(files, server.port, stack=stack) as tls:
        server.result()
        with pytest.raises(OSError):
            for _ in range(200):  # the first writes may still reach the kernel before the RST comes back
                tls.sendall(b"x" * 16384)
                time.sleep(0.01)
    tls.close()
    with pytest.raises(OSError):
        tls.sendall(b"after close")


def reader_after(event: threading.Event) -> Callable[[SSLSocket], bytes]:
    """A server handler that reads nothing until ``event``, then everything up to close_notify."""

    def read_all_later(tls: SSLSocket) -> bytes:
        event.wait(WAIT)
        received = bytearray()
        while chunk := tls.recv(1 << 16):
            received += chunk
        tls.unwrap()
        return bytes(received)

    return read_all_later


def test_nonblocking_send_wants_write_and_never_repeats_or_loses_bytes(files: Files, stack: Any) -> None:
    """A peer that does not read fills the kernel: send raises SSLWantWriteError; what send
    returned as taken, and the data of the call that raised once it is retried (as OpenSSL's
    SSL_write wants), arrives exactly once, in order, once the peer reads."""
    start_reading = threading.Event()
    read_all_later = reader_after(start_reading)
    block = bytes(range(251)) * 800  # 200800 bytes, a length that does not match the chunk size
    server = pumped_server(files, read_all_later, stack=stack)
    with server, pumped_client(files, server.port, stack=stack) as tls:
        tls.setblocking(False)
        accepted = bytearray()
        with pytest.raises(ssl.SSLWantWriteError):
            for _ in range(10_000):  # bounded: the kernel buffers fill up long before
                offset = len(accepted) % len(block)
                sent = tls.send(block[offset:])
                accepted += block[offset : offset + sent]
        start_reading.set()
        tls.settimeout(WAIT)
        tls.sendall(block[offset:])  # the retry: what the failed call had sealed is sent once, then the rest
        tls.sendall(b"end")
        accepted += block[offset:] + b"end"
        tls.unwrap()
        assert server.result() == bytes(accepted)


def test_sendall_to_a_peer_that_never_reads_times_out(files: Files, stack: Any) -> None:
    release = threading.Event()
    server = pumped_server(files, lambda tls: release.wait(WAIT), stack=stack)
    with server, pumped_client(files, server.port, stack=stack) as tls:
        tls.settimeout(0.5)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="write"):
            tls.sendall(b"x" * (64 << 20))  # far more than the kernel buffers of both ends
        assert time.monotonic() - started < 5.0
        release.set()
        server.result()


def test_small_sendalls_to_a_peer_that_never_reads_time_out_and_lose_nothing(files: Files, stack: Any) -> None:
    """Request-sized sendalls (each sealed and sent in one call while nothing else waits: glasstls's
    SSLObject) until the kernel buffers of both ends are full: the call that finds no room
    times out; its records, sealed already, go out first at the next sendall, whole and once."""
    release = threading.Event()
    read_all_later = reader_after(release)
    payload = bytes(range(251)) * 4 + b"\n"  # after a message's number: 1,005 bytes
    server = pumped_server(files, read_all_later, stack=stack)
    with server, pumped_client(files, server.port, stack=stack) as tls:
        tls.settimeout(0.5)
        sent: list[bytes] = []
        with pytest.raises(TimeoutError, match="write"):
            for number in range(100_000):  # bounded: about 100 MB; the kernel buffers fill up long before
                sent.append(b"%08d" % number + payload)
                started = time.monotonic()
                tls.sendall(sent[-1])
        assert time.monotonic() - started < 5.0
        release.set()
        tls.settimeout(WAIT)
        tls.sendall(b"end")
        tls.unwrap()
        assert server.result() == b"".join(sent) + b"end"


def test_writer_threads_share_the_socket(files: Files, stack: Any) -> None:
    """Threads writing small messages at once: each message arrives whole, each thread's in its order."""
    threads, count = 4, 400

    def read_lines(tls: SSLSocket) -> list[bytes]:
        received = bytearray()
        while chunk := tls.recv(1 << 16):
            received += chunk
        tls.unwrap()
        return bytes(received).splitlines(keepends=True)

    server = pumped_server(files, read_lines, stack=stack)
    with server, pumped_client(files, server.port, stack=stack) as tls:

        def writer(index: int) -> None:
            for number in range(count):
                tls.sendall(b"%d %05d " % (index, number) + b"x" * (number % 700) + b"\n")

        workers = [threading.Thread(target=writer, args=(index,)) for index in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(WAIT)
        assert not any(worker.is_alive() for worker in workers)
        tls.unwrap()
        lines = server.result()
    assert len(lines) == threads * count
    for index in range(threads):
        mine = [line for line in lines if line.startswith(b"%d " % index)]
        assert mine == [b"%d %05d " % (index, n) + b"x" * (n % 700) + b"\n" for n in range(count)]


def test_wrap_unconnected_then_connect_runs_the_handshake(files: Files, stack: Any) -> None:
    server = pumped_server(files, lambda tls: tls.sendall(b"hi\n"), stack=stack)
    with server:
        tls = wrap_socket(socket.socket(), client_factory(client_context(files, stack=stack)))
        with tls:
            tls.settimeout(WAIT)
            assert tls.version() is None  # no handshake before connect()
            tls.connect(("127.0.0.1", server.port))
            assert tls.version() == "TLSv1.3" and read_line(tls.recv) == b"hi\n"
            with pytest.raises(ValueError, match="already-connected"):
                tls.connect(("127.0.0.1", server.port))
        server.result()


def test_a_reader_thread_and_a_writer_thread_share_the_socket(files: Files, stack: Any) -> None:
    """One thread reads while another writes, as code that splits a connection does."""

    def echo(tls: SSLSocket) -> None:
        while chunk := tls.recv(1 << 16):
            tls.sendall(chunk)
        tls.unwrap()

    # One sendall far larger than the loopback buffers of both ends: while it blocks, the
    # echo can only go on if the reader keeps reading, never waiting behind the writer.
    blob = bytes(range(251)) * ((16 << 20) // 251)
    total = len(blob)
    with pumped_server(files, echo, stack=stack) as server, pumped_client(files, server.port, stack=stack) as tls:
        received = bytearray()

        def reader() -> None:
            while len(received) < total and (chunk := tls.recv(1 << 16)):
                received.extend(chunk)

        thread = threading.Thread(target=reader)
        thread.start()
        tls.sendall(blob)
        thread.join(WAIT)
        assert not thread.is_alive() and received == blob
        tls.unwrap()
        server.result()


def test_channel_binding_is_the_same_at_both_ends(files: Files, stack: Any) -> None:
    """tls-exporter (RFC 9266) where the SSLObject has it (glasstls), tls-unique (RFC 5929) over TLS 1.2 otherwise."""
    cb_type, version = ("tls-exporter", "TLSv1.3") if stack is glasstls.compat else ("tls-unique", "TLSv1.2")
    server = pumped_server(files, lambda tls: tls.get_channel_binding(cb_type), version, stack)
    with server, pumped_client(files, server.port, version, stack) as tls:
        mine = tls.get_channel_binding(cb_type)
        assert mine is not None and len(mine) >= 12
    assert server.result() == mine


def test_unknown_ca_fails_the_handshake_and_the_peer_hears_the_alert(files: Files, stack: Any) -> None:
    def handshake(tls: SSLSocket) -> None:
        tls.recv(10)

    with pumped_server(files, handshake, stack=stack) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        context = stack.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cadata=other_ca().root_pem().decode())  # a root that issued nothing here
        with pytest.raises(ssl.SSLCertVerificationError):
            wrap_socket(sock, client_factory(context))
        with pytest.raises(ssl.SSLError, match=r"UNKNOWN_CA|unknown ca"):
            server.result()


# -- http.client, urllib and smtplib over the pump -------------------------------------------


@pytest.mark.parametrize("version", PROTOCOLS)
def test_http_client_and_urllib_through_a_pumped_context(files: Files, stack: Any, version: str) -> None:
    context = pumped_context(files, stack)
    context.maximum_version = PROTOCOLS[version]
    with WWWServer(files, version, naccept=2) as server:
        connection = http.client.HTTPSConnection("localhost", server.port, context=context, timeout=WAIT)
        try:
            connection.request("GET", "/")
            assert isinstance(connection.sock, SSLSocket)  # gone once the HTTP/1.0 answer is read
            response = connection.getresponse()
            assert response.status == 200 and f"Protocol  : {version}".encode() in response.read()
        finally:
            connection.close()
        with urllib.request.urlopen(f"https://localhost:{server.port}/", context=context, timeout=WAIT) as page:
            assert page.status == 200 and f"Protocol  : {version}".encode() in page.read()


class StartTLSServer:
    """Just enough SMTP: 220, EHLO → 250-STARTTLS, STARTTLS → 220, then TLS (the stdlib's), EHLO, QUIT."""

    def __init__(self, files: Files) -> None:
        self.context = server_context(files)
        self.heard: list[bytes] = []
        self.thread = ServerThread(self._serve)

    def _serve(self, sock: socket.socket) -> list[bytes]:
        sock.sendall(b"220 localhost ESMTP test\r\n")
        self._command(sock.recv, sock.sendall, b"250-localhost\r\n250 STARTTLS\r\n")
        self._command(sock.recv, sock.sendall, b"220 go ahead\r\n")
        with self.context.wrap_socket(sock, server_side=True) as tls:
            self._command(tls.recv, tls.sendall, b"250 localhost\r\n")
            self._command(tls.recv, tls.sendall, b"221 bye\r\n")
        return self.heard

    def _command(self, recv: Callable[[int], bytes], send: Callable[[bytes], Any], answer: bytes) -> None:
        self.heard.append(read_line(recv).strip())
        send(answer)


def test_smtplib_starttls_through_a_pumped_context(files: Files, stack: Any) -> None:
    smtp_server = StartTLSServer(files)
    with smtp_server.thread as server:
        client = smtplib.SMTP("127.0.0.1", server.port, local_hostname="client", timeout=WAIT)
        try:
            client._host = "localhost"  # the name the certificate carries, for server_hostname
            assert client.starttls(context=pumped_context(files, stack))[0] == 220
            assert isinstance(client.sock, SSLSocket) and client.sock.version() == "TLSv1.3"
            assert client.ehlo()[0] == 250
        finally:
            client.quit()
        assert server.result() == [b"ehlo client", b"STARTTLS", b"ehlo client", b"quit"]


@pytest.mark.parametrize("version", PROTOCOLS)
def test_session_and_session_reused_pass_through(files: Files, stack: Any, version: str) -> None:
    """The session of one connection resumes the next (RFC 8446 2.2, RFC 5077) through wrap_socket(session=)."""
    context = pumped_context(files, stack)
    context.maximum_version = PROTOCOLS[version]
    with WWWServer(files, version, naccept=2) as server:
        first = context.wrap_socket(socket.create_connection(("127.0.0.1", server.port), timeout=WAIT),
                                    server_hostname="localhost")  # fmt: skip
        with first:
            assert http_get(first)[0].startswith(b"HTTP/1.0 200")  # TLS 1.3: the tickets came with the page
            session = first.session
            assert session is not None and first.session_reused is False
        second = context.wrap_socket(socket.create_connection(("127.0.0.1", server.port), timeout=WAIT),
                                     server_hostname="localhost", session=session)  # fmt: skip
        with second:
            assert isinstance(second, SSLSocket) and second.session_reused is True


def test_a_key_update_between_records_is_answered_and_reading_goes_on(files: Files) -> None:
    """glasstls's SSLSocket reading records as they come: a KeyUpdate asking for ours between two
    records of data (RFC 8446, Section 4.6.3) is read, answered with a KeyUpdate before the next
    write, and the records after it open under the peer's new keys; a peer's server told apart by
    hand (a glasstls Connection on the other end of a socket pair)."""
    identity = server_identity("localhost", "127.0.0.1")
    certified = glasstls.CertifiedKey(identity.chain, identity.private_key)
    config = glasstls.ServerConfig(certificates=(certified,), tls13_tickets=0)
    server = glasstls.ServerConnection(config)
    near, far = socket.socketpair()
    far.settimeout(WAIT)
    made: list[SSLSocket] = []
    factory = client_factory(client_context(files, stack=glasstls.compat))
    client = threading.Thread(target=lambda: made.append(wrap_socket(near, factory)))
    client.start()
    with far:
        while not server.handshake_complete:
            server.receive_bytes(far.recv(65536))
            far.sendall(server.data_to_send())
        client.join(WAIT)
        assert made, "the client's handshake did not finish"
        tls = made[0]
        with tls:
            tls.settimeout(WAIT)
            server.send(b"before the update")
            server.update_keys(request_peer=True)
            server.send(b"after the update")
            far.sendall(server.data_to_send())
            assert tls.recv(100) == b"before the update"
            assert tls.recv(100) == b"after the update"
            tls.sendall(b"and back")
            events: list[Any] = []
            while not any(isinstance(e, glasstls.ApplicationData) for e in events):
                events += server.receive_bytes(far.recv(65536))
            assert glasstls.KeyUpdated("read", requested_by_peer=False) in events  # the client's answer
            assert [e.data for e in events if isinstance(e, glasstls.ApplicationData)] == [b"and back"]
