"""``glasstls server`` against clients that try to crash it, hold it up or fill it up.

Each test is a real socket on 127.0.0.1 against the server as a process of its own,
and ends by checking that the server is alive and serves the next client.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
import time

import pytest

import glasstls
from glasstls.cli.server_conn import MAX_REQUEST_HEAD
from glasstls.config import Dangerous
from glasstls.enums import AlertDescription, AlertLevel, ContentType
from glasstls.errors import PeerAlertError, TLSError
from pairs import inject_warning
from serving_helpers import GLASSTLS, PKI, WAIT, CLIServer, fetch, make_pki, read_until_closed, slow_sender

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("serving"))


def serves_next_client(server: CLIServer, pki: PKI) -> None:
    assert server.alive(), server.log
    assert fetch(pki, server.port, b"next\n") == b"next\n"


def www_request(pki: PKI, port: int, request: bytes) -> bytes:
    with glasstls.connect("127.0.0.1", port, pki.client_config(), server_name="localhost", timeout=10) as tls:
        tls.sendall(request)
        return tls.recv_all()


# -- crashes -----------------------------------------------------------------------------------


BAD_REQUESTS = {
    "no-space-before-version": (b"GET /HTTP/1.0\r\n\r\n", 400),
    "binary-garbage": (bytes(range(256)) * 4, 400),
    "no-host": (b"GET / HTTP/1.1\r\n\r\n", 400),
    "head-over-16k": (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431),
    "head-one-byte-over-16k": (None, 431),  # completes in the piece that crosses the limit
    "transfer-coding-not-chunked-last": (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    ),
}
# Each status with its reason phrase (RFC 9110, Section 15), and for 431 the bound that was hit, by its size.
REASONS = {400: "Bad Request", 431: "Request Header Fields Too Large", 501: "Not Implemented"}


def head_of(size: int) -> bytes:
    """A GET whose head (request line, headers, blank line) is ``size`` bytes."""
    start, end = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Pad: ", b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_www_answers_a_malformed_request_with_400_and_goes_on(pki: PKI, name: str) -> None:
    request, status = BAD_REQUESTS[name]
    request = request or head_of(MAX_REQUEST_HEAD + 1)
    with CLIServer(pki, "--www") as server:
        answer = www_request(pki, server.port, request)
        assert answer.startswith(f"HTTP/1.1 {status} {REASONS[status]}\r\n".encode()), answer[:200]
        line = server.wait_for(f"ended: HTTP {status}")
        assert "\\\\" not in line, line  # h11's repr of the bytes, its escapes not doubled
        if status == 431:
            assert f"request head over {MAX_REQUEST_HEAD} bytes" in line, line
        page = www_request(pki, server.port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert page.startswith(b"HTTP/1.1 200 OK\r\n"), page[:100]  # with its reason phrase
        assert b"Protocol version:  TLSv1.3" in page


def test_www_serves_a_head_of_exactly_16k(pki: PKI) -> None:
    with CLIServer(pki, "--www") as server:
        answer = www_request(pki, server.port, head_of(MAX_REQUEST_HEAD))
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:200]


def test_www_answers_other_methods_with_405(pki: PKI) -> None:
    with CLIServer(pki, "--www") as server:
        answer = www_request(pki, server.port, b"DELETE / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
        assert b"allow: GET, HEAD" in answer


# -- held up --------------------------------------------------------------------------------------


def timed_fetch(pki: PKI, port: int) -> float:
    started = time.monotonic()
    assert fetch(pki, port) == b"ping\n"
    return time.monotonic() - started


def test_an_idle_and_a_slow_loris_client_do_not_delay_the_next(pki: PKI) -> None:
    hello = glasstls.ClientConnection(pki.client_config(), server_name="localhost").data_to_send()
    stop = threading.Event()
    with CLIServer(pki) as server:
        idle = socket.create_connection(("127.0.0.1", server.port))
        loris = slow_sender(server.port, hello, 0.2, stop)
        try:
            time.sleep(0.5)  # both are in the server's hands now
            assert timed_fetch(pki, server.port) < 1.0
            assert timed_fetch(pki, server.port) < 1.0
        finally:
            stop.set()
            idle.close()
            loris.join(10)
        serves_next_client(server, pki)


def test_the_handshake_deadline_cuts_a_slow_loris(pki: PKI) -> None:
    hello = glasstls.ClientConnection(pki.client_config(), server_name="localhost").data_to_send()
    with CLIServer(pki, "--handshake-timeout", "1.5") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            started = time.monotonic()
            try:
                for byte in hello:  # one byte every 0.1 s: each read is quick, the whole is not
                    sock.sendall(bytes((byte,)))
                    time.sleep(0.1)
            except OSError:
                pass
            read_until_closed(sock, 10)
            assert time.monotonic() - started < 4.0
        line = server.wait_for("handshake with .* failed")
        assert "1.5 s" in line and "handshake_timeout" in line, line
        serves_next_client(server, pki)


def test_the_request_deadline_cuts_a_slow_loris_after_the_handshake(pki: PKI) -> None:
    """--www: a request sent a byte every 0.1 s, each well inside --idle-timeout, must still be whole
    within --request-timeout (a deadline, as nginx's client_header_timeout): then 408 and a close."""
    with CLIServer(pki, "--www", "--request-timeout", "1.5", "--idle-timeout", "30") as server:
        config = pki.client_config()
        with glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=10) as tls:
            started = time.monotonic()
            answer = b""
            with contextlib.suppress(OSError, TLSError):
                for byte in b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 100:
                    tls.sendall(bytes((byte,)))
                    time.sleep(0.1)
            answer = tls.recv_all()
            assert time.monotonic() - started < 6.0
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:200]
        line = server.wait_for("ended: HTTP 408")
        assert "1.5 s" in line and "--request-timeout" in line, line
        page = www_request(pki, server.port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert page.startswith(b"HTTP/1.1 200 OK\r\n"), page[:100]


def test_an_idle_connection_is_closed_with_close_notify(pki: PKI) -> None:
    with CLIServer(pki, "--idle-timeout", "1") as server:
        config = pki.client_config()
        with glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=10) as tls:
            started = time.monotonic()
            assert tls.recv() == b""  # a clean close: close_notify, not a cut
            assert 0.8 < time.monotonic() - started < 4.0
        serves_next_client(server, pki)


def test_concurrency_limit_keeps_the_rest_in_the_backlog(pki: PKI) -> None:
    with CLIServer(pki, "--concurrency", "2") as server:
        config = pki.client_config()
        first = glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=10)
        second = glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=10)
        try:
            with pytest.raises(glasstls.DeadlineError):
                glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=1)
            first.close()
            assert timed_fetch(pki, server.port) < 2.0
        finally:
            first.close()
            second.close()


# -- filled up --------------------------------------------------------------------------------------


def warning(description: AlertDescription) -> bytes:
    return bytes((ContentType.alert, 3, 3, 0, 2, AlertLevel.warning, description))


def test_a_flood_of_warnings_before_the_client_hello_is_cut_short(pki: PKI) -> None:
    flood = warning(AlertDescription.user_canceled) * 4096  # 28 KiB a write
    with CLIServer(pki) as server:
        before = server.rss_kib()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sent = 0
            try:
                while sent < 20 << 20:
                    sock.sendall(flood)
                    sent += len(flood)
            except OSError:
                pass
            answer, _ = read_until_closed(sock, 10)
        assert sent < 20 << 20, "the server read 20 MB of warnings without hanging up"
        assert bytes((ContentType.alert,)) in answer[:1] and answer[5:7] == bytes((2, 10)), answer[:16]
        line = server.wait_for("handshake with .* failed")
        assert "a warning alert (user_canceled) before the ClientHello" in line, line  # (the first ends it)
        assert server.rss_kib() - before < 10 * 1024
        serves_next_client(server, pki)


def test_a_flood_of_key_updates_is_refused(pki: PKI) -> None:
    with CLIServer(pki) as server:
        config = pki.client_config()
        with glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=10) as tls:
            for _ in range(200):
                tls.conn.update_keys(request_peer=False)
            tls.sock.sendall(tls.conn.data_to_send())
            with pytest.raises(PeerAlertError) as info:
                tls.recv_all()
            assert info.value.description == AlertDescription.unexpected_message
        assert "Limits.max_key_updates" in server.wait_for("ended")
        serves_next_client(server, pki)


def test_many_warnings_after_the_handshake_do_not_accumulate_in_the_client(pki: PKI) -> None:
    config = pki.client_config(tls_max=glasstls.ProtocolVersion.TLSv1_2)
    with CLIServer(pki) as server:
        with glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=10) as tls:
            for _ in range(3):  # four warnings, then data: under the limit every time
                for _ in range(4):
                    inject_warning(tls.conn, AlertDescription.no_renegotiation)
                tls.sendall(b"x")
                assert tls.recv() == b"x"
        serves_next_client(server, pki)


# -- log injection ---------------------------------------------------------------------------------


def test_a_server_name_cannot_forge_log_lines(pki: PKI) -> None:
    # A name with a newline or an escape is refused (RFC 6066, Section 3: a DNS host name), and the
    # refusal does not print it; a printable one is logged as it is.
    evil = "evil\nglasstls: 6.6.6.6:1 TLSv1.3 forged\x1b[31m"
    config = pki.client_config(dangerous=Dangerous(skip_server_verification=True))
    with CLIServer(pki) as server:
        with pytest.raises(TLSError, match="illegal_parameter"):
            glasstls.connect("127.0.0.1", server.port, config, server_name=evil, timeout=10)
        server.wait_for("server_name holds a control character")
        with glasstls.connect("127.0.0.1", server.port, config, server_name="evil<x>.example", timeout=10) as tls:
            tls.sendall(b"x")
            assert tls.recv() == b"x"
        line = server.wait_for("sni=")
        assert "sni=evil<x>.example" in line, line
        assert not any(ln.startswith("glasstls: 6.6.6.6") for ln in server.lines)
        assert "\x1b" not in server.log


# -- shutdown ----------------------------------------------------------------------------------------


def test_sigterm_closes_open_connections_with_close_notify_and_exits_0(pki: PKI) -> None:
    server = CLIServer(pki)
    try:
        config = pki.client_config()
        tls = glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=10)
        started = time.monotonic()
        assert server.stop() == 0, server.log
        assert time.monotonic() - started < 7.0
        assert tls.recv() == b""  # close_notify, not a cut stream
        tls.close()
    finally:
        server.stop()
    assert "Traceback" not in server.log


# -- 200 at once ---------------------------------------------------------------------------------------


def test_200_concurrent_clients_glasstls_and_openssl(pki: PKI) -> None:
    import subprocess
    from concurrent.futures import ThreadPoolExecutor

    request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"

    def glasstls_client(i: int) -> bool:
        return www_request(pki, server.port, request).startswith(b"HTTP/1.1 200 OK")

    def openssl_client(i: int) -> bool:
        # -ign_eof: read until the server closes (it does, with close_notify, after its answer).
        res = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-CAfile", str(pki.ca_pem),
             "-verify_return_error", "-quiet", "-ign_eof", "-servername", "localhost"],
            input=request, capture_output=True, timeout=40,
        )  # fmt: skip
        return res.stdout.startswith(b"HTTP/1.1 200 OK")

    with CLIServer(pki, "--www") as server:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=100) as pool:
            jobs = [pool.submit(glasstls_client, i) for i in range(150)]
            jobs += [pool.submit(openssl_client, i) for i in range(50)]
            results = [job.result(timeout=50) for job in jobs]
        elapsed = time.monotonic() - started
        assert all(results), f"{results.count(False)} of 200 clients were not served:\n{server.log[-3000:]}"
        assert elapsed < 45
        assert len([ln for ln in server.lines if " sni=localhost" in ln]) == 200


def test_python_ssl_client_is_served_too(pki: PKI) -> None:
    ctx = ssl.create_default_context(cafile=str(pki.ca_pem))
    with CLIServer(pki) as server:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"hello\n")
            assert tls.recv(100) == b"hello\n"
        serves_next_client(server, pki)


# -- traces of concurrent connections ---------------------------------------------------------------


def test_traces_of_concurrent_connections_never_interleave(pki: PKI, tmp_path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path / "trace.txt"
    with out.open("wb") as stdout, CLIServer(pki, "--trace", stdout=stdout.fileno()) as server:
        with ThreadPoolExecutor(max_workers=20) as pool:
            data = [f"client {i}\n".encode() for i in range(40)]
            assert list(pool.map(lambda d: fetch(pki, server.port, d), data)) == data
        server.wait_for(r"sni=localhost")
        time.sleep(0.5)
    blocks: dict[str, list[list[str]]] = {}
    current: list[str] = []
    for line in out.read_text().splitlines():
        if line.startswith("* connection "):
            number = line.split()[2]
            current = []
            blocks.setdefault(number, []).append(current)
        else:
            current.append(line)
    assert len(blocks) == 40, sorted(blocks)
    for number, parts in blocks.items():
        first = "\n".join(parts[0])
        # The whole handshake is in one block, in order, and no other connection's messages are in it.
        assert first.count("ClientHello (1)") == 1, (number, first)
        assert first.count("< Finished (20)") == 1, (number, first)
        assert first.index("ClientHello (1)") < first.index("ServerHello (2)") < first.index("< Finished (20)")
        later = "\n".join("\n".join(p) for p in parts[1:])
        assert "ClientHello" not in later and "ServerHello" not in later, (number, later)


def test_keylog_illustrate_and_diagram_work_per_connection(pki: PKI, tmp_path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    keylog, page, diagram = tmp_path / "keys.txt", tmp_path / "page.html", tmp_path / "flow.svg"
    args = ("--keylog", str(keylog), "--illustrate", str(page), "--diagram", str(diagram), "--explain")
    with CLIServer(pki, *args) as server:
        with ThreadPoolExecutor(max_workers=3) as pool:
            data = [f"client {i}\n".encode() for i in range(3)]
            assert list(pool.map(lambda d: fetch(pki, server.port, d), data)) == data
        for n in (1, 2, 3):
            server.wait_for(f"connection {n} illustrated in")
    for n in (1, 2, 3):
        assert (tmp_path / f"page-{n}.html").read_text().startswith("<!DOCTYPE html>")
        assert (tmp_path / f"flow-{n}.svg").read_text().lstrip().startswith(("<svg", "<?xml"))
    randoms = {line.split()[1] for line in keylog.read_text().splitlines() if line and not line.startswith("#")}
    assert len(randoms) == 3  # one client random per connection, each with its secrets


def send_then_close_notify(
    pki: PKI, port: int, version: glasstls.ProtocolVersion, payload: bytes
) -> tuple[bytes, bool]:
    """A client that writes ``payload`` and its close_notify in one TCP write, then reads to the end:
    (what came back, whether the server's close_notify ended it)."""
    conn = glasstls.ClientConnection(pki.client_config(tls_max=version), server_name="localhost")
    received, clean = bytearray(), False
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.settimeout(10)
        deadline = time.monotonic() + 20
        sent = False
        while time.monotonic() < deadline:
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
            data = sock.recv(1 << 16)
            if not data:
                break
            for event in conn.receive_bytes(data):
                if isinstance(event, glasstls.ApplicationData):
                    received += event.data
                elif isinstance(event, glasstls.ConnectionClosed):
                    clean = event.error is None and event.by_peer
            if conn.handshake_complete and not sent:
                conn.send(payload)
                conn.close()  # the data and the close_notify leave together
                sock.sendall(conn.data_to_send())
                sent = True
            if clean:
                break
    return bytes(received), clean


@pytest.mark.parametrize("version", [glasstls.ProtocolVersion.TLSv1_2, glasstls.ProtocolVersion.TLSv1_3])
def test_data_and_close_notify_in_one_write_are_answered_in_full(pki: PKI, version) -> None:
    """The peer's close_notify ends its side only: the echo of what came before it, and the page
    for a request that came with it, still go out before our own close_notify (TLS 1.2 too)."""
    payload = bytes(range(256)) * 800  # 200 KiB: more than one read of the server's
    with CLIServer(pki) as server:
        echoed, clean = send_then_close_notify(pki, server.port, version, payload)
    assert echoed == payload and clean
    with CLIServer(pki, "--www") as server:
        page, clean = send_then_close_notify(pki, server.port, version, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert page.startswith(b"HTTP/1.1 200 OK\r\n") and clean


def test_a_client_that_sends_nothing_is_one_log_line(pki: PKI) -> None:
    """A health check or a port scan (connect, close): one line, no diagnosis of a handshake that never began."""
    with CLIServer(pki) as server:
        socket.create_connection(("127.0.0.1", server.port), timeout=10).close()
        line = server.wait_for(r"handshake with .* failed")
        serves_next_client(server, pki)  # (its own lines come after)
        after = server.lines[server.lines.index(line) + 1 :]
    assert line.endswith("failed: the peer closed the connection while waiting for ClientHello"), line
    assert not after or not after[0].startswith("diagnosis:"), after


def openssl_send_then_close_notify(pki: PKI, port: int, payload: bytes) -> tuple[bytes, bool]:
    """Python's ssl (OpenSSL) as the client, TLS 1.2: ``payload`` and its close_notify (unwrap) in one
    TCP write, then every byte until the server's close_notify: (what came back, a clean end)."""
    context = ssl.create_default_context(cafile=str(pki.ca_pem))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    received, clean = bytearray(), False
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                incoming.write(sock.recv(1 << 16))
        tls.write(payload)
        with contextlib.suppress(ssl.SSLWantReadError):
            tls.unwrap()  # our close_notify, behind the data
        sock.sendall(outgoing.read())
        while time.monotonic() < deadline and not clean:
            data = sock.recv(1 << 16)
            if not data:
                break
            incoming.write(data)
            while True:
                try:
                    chunk = tls.read(1 << 16)
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLZeroReturnError:
                    clean = True
                    break
                if not chunk:
                    clean = True
                    break
                received += chunk
    return bytes(received), clean


def test_an_openssl_clients_data_and_close_notify_are_answered_in_full(pki: PKI) -> None:
    """The same with a real peer: OpenSSL's TLS 1.2 client, as `echo … | openssl s_client` sends it."""
    payload = bytes(range(256)) * 800
    with CLIServer(pki) as server:
        echoed, clean = openssl_send_then_close_notify(pki, server.port, payload)
    assert len(echoed) == len(payload) and echoed == payload and clean
    with CLIServer(pki, "--www") as server:
        page, _ = openssl_send_then_close_notify(pki, server.port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert page.startswith(b"HTTP/1.1 200 OK\r\n"), page[:200]


def test_a_file_descriptor_limit_below_concurrency_is_said_at_start(pki: PKI) -> None:
    """With a hard limit of 256 descriptors, --concurrency 4096 cannot be served: it was found only under
    load, as lines of 'accept() failed ([Errno 24] Too many open files)'."""
    import resource

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    argv = [*GLASSTLS, "server", "--listen", "127.0.0.1:0", "--cert", str(pki.cert), "--key", str(pki.key),
            "--concurrency", "4096"]  # fmt: skip
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=low_limit)  # fmt: skip
    try:
        assert proc.stderr is not None
        lines = []
        while not any("listening on" in line for line in lines):
            line = proc.stderr.readline().decode()
            assert line, "".join(lines)
            lines.append(line)
        assert any(
            "--concurrency 4096 connections need about 4160 file descriptors and the limit is 256" in line
            for line in lines
        ), lines
    finally:
        proc.terminate()
        proc.wait(WAIT)
