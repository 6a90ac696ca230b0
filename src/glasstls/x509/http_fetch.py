"""A small HTTP/1.1 client for revocation data: OCSP requests and CRL downloads.

Why not urllib: a revocation check runs inside a handshake, so it needs one
absolute deadline over the whole exchange (connect, send, every read), a hard
bound on the body, and no redirect that leaves the host the certificate named.
urllib gives per-socket-operation timeouts and follows redirects anywhere.

Why plain http:// only: RFC 6960, Appendix A.1 and RFC 5280, Section 4.2.1.13
publish OCSP responders and CRLs over HTTP; the data is signed, so TLS adds
nothing but a loop (checking the responder's certificate would need a
revocation check of its own). An https:// URL is refused, not downgraded.

The HTTP framing (Content-Length, chunked, or delimited by the close) is h11's;
this module only moves bytes between h11 and a socket and enforces the limits.
h11 is imported when a fetch runs, not with the module: ``import glasstls``
stays free of it (tests/test_layering.py), and only a client that fetches
online pays for it.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ..text import printable

if TYPE_CHECKING:
    import h11

_USER_AGENT = b"glasstls-revocation/1"
_READ_SIZE = 16384
_REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """A fetch that failed; the message names the URL and what went wrong."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"{url}: {problem}")


@dataclass(frozen=True)
class HttpResult:
    """A 2xx answer: the final URL (after same-host redirects), its status, type and body."""

    url: str
    status: int
    content_type: str | None
    body: bytes
    elapsed: float  # seconds, from the first connect to the last byte


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    target: str  # path and query, as sent on the request line


def _parse_url(url: str) -> _Target:
    """http://host[:port]/path?query; any other scheme, userinfo or an empty host is refused."""
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError as exc:
        raise FetchError(printable(url), f"not a valid URL ({exc})") from None
    if parts.scheme.lower() != "http":
        raise FetchError(
            printable(url),
            f"scheme {parts.scheme or '(none)'!r} is not fetched: revocation data is fetched over plain http:// "
            "only (RFC 6960, Appendix A.1; RFC 5280, Section 4.2.1.13), never https:// or others",
        )
    if not parts.hostname:
        raise FetchError(printable(url), "the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise FetchError(printable(url), "the URL carries a user name or password; refused")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in target) or any(ord(c) > 0x7E for c in parts.hostname):
        raise FetchError(printable(url), "the URL holds spaces, control or non-ASCII characters")
    return _Target(parts.hostname, port, target)


def _remaining(deadline: float, url: str, doing: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(url, f"deadline passed while {doing}")
    return left


def _host_header(target: _Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == 80 else f"{host}:{target.port}"


def _request(target: _Target, body: bytes | None, content_type: str | None) -> h11.Request:
    import h11  # late: see the module docstring

    headers = [
        ("Host", _host_header(target)),
        ("User-Agent", _USER_AGENT.decode()),
        ("Accept", "*/*"),
        ("Connection", "close"),
    ]
    if body is None:
        return h11.Request(method="GET", target=target.target, headers=headers)
    headers.append(("Content-Type", content_type or "application/octet-stream"))
    headers.append(("Content-Length", str(len(body))))
    return h11.Request(method="POST", target=target.target, headers=headers)


def _resolve(target: _Target, url: str, deadline: float) -> list[str]:
    """The addresses of the host, looked up within the deadline.

    getaddrinfo takes no timeout, and a resolver that does not answer can hold
    it for many seconds: it runs in a daemon thread that is abandoned (and ends
    on its own) when the deadline passes first. An IP literal needs no lookup.
    """
    try:
        ipaddress.ip_address(target.host)
        return [target.host]
    except ValueError:
        pass
    found: list[list[str]] = []
    failed: list[BaseException] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
            found.append([str(info[4][0]) for info in infos])
        except (OSError, UnicodeError, ValueError) as exc:
            failed.append(exc)

    thread = threading.Thread(target=lookup, name=f"resolve {target.host}", daemon=True)
    thread.start()
    thread.join(_remaining(deadline, url, "looking up the host"))
    if failed:
        exc = failed[0]
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FetchError(url, f"cannot look up host {target.host!r}: {detail}")
    if not found:
        raise FetchError(url, f"deadline passed while looking up host {target.host!r}")
    return found[0]


def _connect(target: _Target, url: str, deadline: float) -> socket.socket:
    """A TCP connection to the first address that accepts, each try bounded by what is left of the deadline."""
    problems = []
    for address in _resolve(target, url, deadline):
        which = "" if address == target.host else f"{address}: "
        try:
            return socket.create_connection((address, target.port), timeout=_remaining(deadline, url, "connecting"))
        except TimeoutError:
            problems.append(f"{which}no answer before the deadline")
        except OSError as exc:
            problems.append(f"{which}{exc.strerror or exc}")
    where = f"{target.host} port {target.port}"
    raise FetchError(url, f"cannot connect to {where}: {'; '.join(problems) or 'no address'}")


def _send_all(sock: socket.socket, data: bytes, url: str, deadline: float) -> None:
    try:
        view = memoryview(data)
        while view:
            sock.settimeout(_remaining(deadline, url, "sending the request"))
            sent = sock.send(view)
            view = view[sent:]
    except TimeoutError:
        raise FetchError(url, "deadline passed while sending the request") from None
    except OSError as exc:
        raise FetchError(url, f"sending the request failed: {exc.strerror or exc}") from None


def _receive(sock: socket.socket, url: str, deadline: float) -> bytes:
    try:
        sock.settimeout(_remaining(deadline, url, "waiting for the response"))
        return sock.recv(_READ_SIZE)
    except TimeoutError:
        raise FetchError(url, "deadline passed while waiting for the response (the server is too slow)") from None
    except OSError as exc:
        raise FetchError(url, f"reading the response failed: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _exchange(
    target: _Target, url: str, body: bytes | None, content_type: str | None, deadline: float, max_bytes: int
) -> _Answer:
    """One request on a fresh connection; the whole response, bounded by ``max_bytes`` and ``deadline``."""
    import h11

    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=16384)
    sock = _connect(target, url, deadline)
    try:
        out = conn.send(_request(target, body, content_type)) or b""
        if body:
            out += conn.send(h11.Data(data=body)) or b""
        out += conn.send(h11.EndOfMessage()) or b""
        _send_all(sock, out, url, deadline)
        return _read_answer(conn, sock, url, deadline, max_bytes)
    finally:
        sock.close()


def _read_answer(conn: h11.Connection, sock: socket.socket, url: str, deadline: float, max_bytes: int) -> _Answer:
    import h11

    status, size, closed = 0, 0, False
    headers: dict[str, str] = {}
    chunks: list[bytes] = []
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            if closed:  # h11 saw the close before the Content-Length or last chunk was complete
                what = "the response headers" if status == 0 else "the end of the response body"
                raise FetchError(url, f"the connection closed before {what}: the response is truncated") from None
            raise FetchError(url, f"the server's answer is not valid HTTP/1.1 ({exc})") from None
        if event is h11.NEED_DATA:
            data = _receive(sock, url, deadline)
            closed = not data
            conn.receive_data(data)  # b"" is the close, which h11 interprets
        elif isinstance(event, h11.InformationalResponse):
            continue  # 100 Continue and friends: the real answer follows
        elif isinstance(event, h11.Response):
            status = event.status_code
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
            if event.status_code in _REDIRECTS:
                return _Answer(status, headers, b"")  # its body is not needed, and may be large
            if not 200 <= status < 300:
                reason = printable(event.reason.decode("latin-1"))[:80]
                raise FetchError(url, f"the server answered HTTP {status} {reason}, not 200 OK".replace("  ", " "))
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(url, f"the response announces {declared} bytes, more than the limit of {max_bytes}")
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > max_bytes:
                raise FetchError(url, f"the response body is larger than the limit of {max_bytes} bytes")
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return _Answer(status, headers, b"".join(chunks))
        elif isinstance(event, h11.ConnectionClosed):
            what = "the response headers" if status == 0 else "the end of the response body"
            raise FetchError(url, f"the connection closed before {what}: the response is truncated")
        else:
            raise FetchError(url, f"unexpected HTTP event {type(event).__name__}")


def fetch(
    url: str,
    *,
    deadline: float,
    body: bytes | None = None,
    content_type: str | None = None,
    max_bytes: int = 1 << 20,
    max_redirects: int = 2,
) -> HttpResult:
    """GET (``body`` None) or POST ``url`` over plain TCP with h11, within the absolute ``deadline``.

    ``deadline`` is a :func:`time.monotonic` value covering connect, send and
    the whole response. A body over ``max_bytes``, a truncated response, a
    non-2xx status, a redirect to another host or port (same-host ones are
    followed at most ``max_redirects`` times), an https:// or other scheme:
    each raises :class:`FetchError` naming the URL and the problem.
    """
    import h11

    start = time.monotonic()
    current = url
    first = _parse_url(url)
    for _hop in range(max_redirects + 1):
        printable_url = printable(current)
        target = _parse_url(current)
        try:
            answer = _exchange(target, printable_url, body, content_type, deadline, max_bytes)
        except h11.LocalProtocolError as exc:
            raise FetchError(printable_url, f"cannot send this request ({exc})") from None
        except (ValueError, UnicodeError) as exc:  # whatever else an answer holds that cannot be read
            raise FetchError(printable_url, f"an unreadable answer ({printable(str(exc))})") from None
        if answer.status in _REDIRECTS:
            current = _follow(current, answer, first, printable_url)
            continue
        return HttpResult(
            current, answer.status, answer.headers.get("content-type"), answer.body, time.monotonic() - start
        )
    raise FetchError(printable(url), f"more than {max_redirects} redirects")


def _follow(current: str, answer: _Answer, first: _Target, printable_url: str) -> str:
    """Where a redirect points, if it stays on the certificate's host and port (else FetchError)."""
    location = answer.headers.get("location")
    if not location:
        raise FetchError(printable_url, f"HTTP {answer.status} redirect without a Location")
    try:
        following = urljoin(current, location)
    except ValueError as exc:  # a Location urllib cannot read ("http://[::1/"): the responder's, or the path's
        raise FetchError(printable_url, f"redirected to {printable(location)}, not a URL ({exc})") from None
    try:
        target = _parse_url(following)
    except FetchError as err:
        raise FetchError(printable_url, f"redirected to {printable(following)}, not followed: {err.problem}") from None
    if (target.host.lower(), target.port) != (first.host.lower(), first.port):
        raise FetchError(
            printable_url,
            f"redirected to {printable(following)}, another host or port than the certificate names: not followed",
        )
    return following
