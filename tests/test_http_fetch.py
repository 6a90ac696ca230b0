"""glasstls.x509.http_fetch against real HTTP servers on 127.0.0.1, well-behaved and not.

Each test starts a tiny TCP server in a thread that reads one request and
answers with scripted bytes (so truncation, oversize, slowness and redirects
are exactly what the test says), and stops it in ``finally``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest

from glasstls.x509.http_fetch import FetchError, HttpResult, fetch

Answer = Callable[[socket.socket, bytes], None]


def _read_request(conn: socket.socket) -> bytes:
    """The request head and, when it declares one, its body (bounded: tests send small requests)."""
    data = b""
    conn.settimeout(5)
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            want = int(line.split(b":", 1)[1])
            while len(rest) < want:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                rest += chunk
    return head + b"\r\n\r\n" + rest


@contextmanager
def serving(answer: Answer, connections: int = 1) -> Iterator[tuple[int, list[bytes]]]:
    """A server on 127.0.0.1 that answers up to ``connections`` requests with ``answer``; yields (port, requests)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]
    requests: list[bytes] = []
    stop = threading.Event()

    def run() -> None:
        for _ in range(connections):
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    request = _read_request(conn)
                    requests.append(request)
                    answer(conn, request)
                except OSError:
                    pass
            if stop.is_set():
                return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield port, requests
    finally:
        stop.set()
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept (Linux)
        listener.close()
        thread.join(timeout=10)


def reply(raw: bytes) -> Answer:
    return lambda conn, _request: conn.sendall(raw)


def ok(body: bytes, ctype: bytes = b"application/ocsp-response") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def soon(seconds: float = 3.0) -> float:
    return time.monotonic() + seconds


def test_get_with_content_length() -> None:
    with serving(reply(ok(b"DER"))) as (port, requests):
        result = fetch(f"http://127.0.0.1:{port}/ocsp/abc%2B", deadline=soon())
    assert isinstance(result, HttpResult)
    assert (result.status, result.content_type, result.body) == (200, "application/ocsp-response", b"DER")
    assert 0 <= result.elapsed < 3
    assert requests[0].startswith(b"GET /ocsp/abc%2B HTTP/1.1\r\n")
    assert f"host: 127.0.0.1:{port}\r\n".encode() in requests[0].lower()


def test_post_sends_body_and_type() -> None:
    with serving(reply(ok(b"answer"))) as (port, requests):
        result = fetch(
            f"http://127.0.0.1:{port}/", deadline=soon(), body=b"\x30\x03abc", content_type="application/ocsp-request"
        )
    assert result.body == b"answer"
    assert requests[0].startswith(b"POST / HTTP/1.1\r\n")
    assert b"content-type: application/ocsp-request" in requests[0].lower()
    assert requests[0].endswith(b"\r\n\r\n\x30\x03abc")


def test_chunked_and_close_delimited_bodies() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    with serving(reply(chunked)) as (port, _):
        assert fetch(f"http://127.0.0.1:{port}/c", deadline=soon()).body == b"abcde"
    with serving(reply(b"HTTP/1.0 200 OK\r\n\r\nuntil the close")) as (port, _):
        assert fetch(f"http://127.0.0.1:{port}/c", deadline=soon()).body == b"until the close"


def test_truncated_body_is_an_error() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"
    with serving(reply(raw)) as (port, _), pytest.raises(FetchError, match="truncated") as info:
        fetch(f"http://127.0.0.1:{port}/crl", deadline=soon())
    assert f"http://127.0.0.1:{port}/crl" in str(info.value)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort"
    with serving(reply(chunked)) as (port, _), pytest.raises(FetchError, match="truncated"):
        fetch(f"http://127.0.0.1:{port}/crl", deadline=soon())


def test_closed_before_headers() -> None:
    with serving(reply(b"")) as (port, _), pytest.raises(FetchError, match="closed before the response headers"):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon())


def test_oversized_body_declared_and_streamed() -> None:
    with serving(reply(ok(b"x" * 5000))) as (port, _), pytest.raises(FetchError, match="more than the limit of 4096"):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon(), max_bytes=4096)
    streamed = b"HTTP/1.0 200 OK\r\n\r\n" + b"y" * 50000
    with serving(reply(streamed)) as (port, _), pytest.raises(FetchError, match="larger than the limit of 4096"):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon(), max_bytes=4096)


def test_slow_server_hits_the_deadline() -> None:
    release = threading.Event()

    def slow(conn: socket.socket, _request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
        release.wait(5)  # a body that trickles: each read would be on time, the whole is not

    with serving(slow) as (port, _):
        start = time.monotonic()
        try:
            with pytest.raises(FetchError, match="deadline passed"):
                fetch(f"http://127.0.0.1:{port}/", deadline=time.monotonic() + 0.5)
        finally:
            release.set()
        assert time.monotonic() - start < 2


def test_trickling_server_cannot_extend_the_deadline() -> None:
    release = threading.Event()

    def trickle(conn: socket.socket, _request: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(40):  # one byte every 0.1 s: a per-read timeout of 0.5 s would never fire
            if release.wait(0.1):
                return
            conn.sendall(b"z")

    with serving(trickle) as (port, _):
        start = time.monotonic()
        try:
            with pytest.raises(FetchError, match="deadline passed"):
                fetch(f"http://127.0.0.1:{port}/", deadline=time.monotonic() + 0.6)
        finally:
            release.set()
        assert time.monotonic() - start < 1.5


def test_non_2xx_is_an_error() -> None:
    raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"
    with serving(reply(raw)) as (port, _), pytest.raises(FetchError, match="HTTP 404 Not Found, not 200"):
        fetch(f"http://127.0.0.1:{port}/ca.crl", deadline=soon())
    error = b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"
    with serving(reply(error)) as (port, _), pytest.raises(FetchError, match="HTTP 500"):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon())


def test_same_host_redirect_followed() -> None:
    def answer(conn: socket.socket, request: bytes) -> None:
        if request.startswith(b"GET /old"):
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n")
        else:
            conn.sendall(ok(b"moved"))

    with serving(answer, connections=2) as (port, requests):
        result = fetch(f"http://127.0.0.1:{port}/old", deadline=soon())
    assert (result.body, result.url) == (b"moved", f"http://127.0.0.1:{port}/new")
    assert len(requests) == 2


def test_redirect_to_another_port_or_host_not_followed() -> None:
    with serving(reply(ok(b"elsewhere"))) as (other, other_requests):
        moved = f"HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:{other}/x\r\nContent-Length: 0\r\n\r\n"
        with serving(reply(moved.encode())) as (port, _), pytest.raises(FetchError, match="another host or port"):
            fetch(f"http://127.0.0.1:{port}/", deadline=soon())
        assert other_requests == []  # nothing went to the other port
    moved_host = b"HTTP/1.1 302 Found\r\nLocation: http://example.invalid/x\r\nContent-Length: 0\r\n\r\n"
    with serving(reply(moved_host)) as (port, _), pytest.raises(FetchError, match="not followed"):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon())
    to_https = f"HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1:{port}/\r\nContent-Length: 0\r\n\r\n"
    with serving(reply(to_https.encode())) as (port, _), pytest.raises(FetchError, match="https"):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon())


def test_a_redirect_to_no_url_is_a_fetch_error_not_a_crash() -> None:
    """urljoin raises ValueError for a Location such as an unclosed IPv6 bracket: the path (plain HTTP)
    chooses it, so it is no answer, as any other bad redirect, never an exception out of the handshake."""
    broken = b"HTTP/1.1 302 Found\r\nLocation: http://[::1/evil\r\nContent-Length: 0\r\n\r\n"
    with (
        serving(reply(broken)) as (port, _),
        pytest.raises(FetchError, match=r"redirected to http://\[::1/evil, not a URL"),
    ):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon())


def test_redirect_loop_bounded() -> None:
    loop = b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n"
    with serving(reply(loop), connections=5) as (port, requests), pytest.raises(FetchError, match="more than 2"):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon(), max_redirects=2)
    assert len(requests) == 3


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://127.0.0.1/ocsp", "scheme 'https' is not fetched"),
        ("ldap://ldap.example/cn=CA", "scheme 'ldap' is not fetched"),
        ("http:///nohost", "names no host"),
        ("http://user:pw@127.0.0.1/", "user name or password"),
        ("http://127.0.0.1:99999/", "not a valid URL"),
        ("http://127.0.0.1/a b", "spaces, control"),
    ],
)
def test_refused_urls(url: str, problem: str) -> None:
    with pytest.raises(FetchError, match=problem):
        fetch(url, deadline=soon())


def test_nobody_listening() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match=f"cannot connect to 127.0.0.1 port {port}"):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon())


def test_deadline_already_passed() -> None:
    with pytest.raises(FetchError, match="deadline passed while connecting"):
        fetch("http://127.0.0.1:9/", deadline=time.monotonic() - 1)


def test_garbage_response() -> None:
    with serving(reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")) as (port, _), pytest.raises(FetchError, match="not valid HTTP"):
        fetch(f"http://127.0.0.1:{port}/", deadline=soon())
