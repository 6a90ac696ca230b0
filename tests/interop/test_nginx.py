"""The glasstls client against nginx (Debian's package, built with OpenSSL 3.0): HTTP/1.1 over
TLS 1.3, resumption with nginx's tickets, 0-RTT (RFC 8446, Sections 2.2, 2.3, 4.2.10, 4.6.1),
and TLS 1.2 resumption with a ticket (RFC 5077) and with a session ID (RFC 5246, Section 7.3).

Each test starts its own nginx on 127.0.0.1 (nginx_peer.py).

nginx says in its own words what it saw, in a response header, the page and its access
log: ``$ssl_protocol``, ``$ssl_session_reused`` ("r" for a resumed session, "." otherwise)
and ``$ssl_early_data`` ("1" when the request came as 0-RTT data, before the handshake
was complete; empty otherwise). nginx leaves a header out when its value is empty, so a
request sent after the handshake has no ``X-Early`` header and its page says ``early=``.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import InteropPKI
from interop_peers import WAIT, ServerFiles
from nginx_peer import PATHS, TEMP_PATHS, Nginx, needs_nginx, running_nginx

import glasstls
from glasstls import ApplicationData, ClientConfig, ClientConnection, NegotiatedParameters, SessionStore
from glasstls.enums import ProtocolVersion
from glasstls.observe import EventList, MessageTrace
from glasstls.wire.handshake import Certificate, CompressedCertificate, NewSessionTicket
from glasstls.wire.handshake12 import Certificate12, NewSessionTicket12

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]


# nginx's answer to every request: the variables the tests read, in headers and in the page.
CONFIG = PATHS + """
http {{
    log_format glasstls '$ssl_protocol reused=$ssl_session_reused early=$ssl_early_data "$request" $status';
    access_log {prefix}/access.log glasstls;""" + TEMP_PATHS + """
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {chain};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets {tickets};
        ssl_session_cache shared:glasstls:1m;
        ssl_early_data on;
        location /guarded {{
            if ($ssl_early_data) {{ return 425; }}
            default_type text/plain;
            add_header X-Early $ssl_early_data always;
            add_header X-Resumed $ssl_session_reused always;
            add_header X-Protocol $ssl_protocol always;
            return 200 "guarded page, sent after the handshake\\n";
        }}
        location / {{
            default_type text/plain;
            add_header X-Early $ssl_early_data always;
            add_header X-Resumed $ssl_session_reused always;
            add_header X-Protocol $ssl_protocol always;
            return 200 "page $request_uri protocol=$ssl_protocol reused=$ssl_session_reused early=$ssl_early_data\\n";
        }}
    }}
}}
"""


@contextlib.contextmanager
def running(directory: Path, files: ServerFiles, *, tickets: bool = True) -> Iterator[Nginx]:
    """nginx serving CONFIG with ``files``' chain and key."""

    def configuration(port: int) -> str:
        tickets_on = "on" if tickets else "off"
        return CONFIG.format(prefix=directory, port=port, chain=files.full_chain, key=files.key, tickets=tickets_on)

    with running_nginx(directory, configuration) as server:
        yield server


@pytest.fixture
def nginx(pki: InteropPKI, tmp_path: Path) -> Iterator[Nginx]:
    with running(tmp_path, pki.files["ecdsa-p256"]) as server:
        yield server


# -- HTTP/1.1 over glasstls ------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


def request_for(uri: str) -> bytes:
    return f"GET {uri} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()


def parse_response(raw: bytes) -> Response:
    head, separator, body = raw.partition(b"\r\n\r\n")
    assert separator, f"no complete HTTP header block: {raw!r}"
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/1\.1 (\d{3})\b", status_line)
    assert match, status_line
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(int(match.group(1)), headers, body)


@dataclass
class Fetched:
    params: NegotiatedParameters
    response: Response
    events: EventList
    session: Any  # the connection's newest session (a TLS 1.3 ticket arrives with the response)


def fetch(
    server: Nginx,
    config: ClientConfig,
    uri: str,
    *,
    early: bool = False,
    resend: bool = False,
    hold_finished: bool = False,
    **kwargs: Any,
) -> Fetched:
    """One connection, one GET of ``uri``, read to the end (nginx closes after ``Connection: close``).

    ``early``: the request goes as 0-RTT data; when nginx rejects it, it is sent again after
    the handshake only with ``resend``, else the test fails saying so. ``hold_finished``: see
    fetch_holding_finished.
    """
    if hold_finished:
        return fetch_holding_finished(server, config, uri, **kwargs)
    events = EventList()
    request = request_for(uri)
    if early:
        kwargs["early_data"] = request
    try:
        with glasstls.connect(
            "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, observer=events, **kwargs
        ) as tls:
            params = tls.parameters
            assert params is not None
            if early and not params.early_data_accepted:
                assert resend, "nginx rejected the 0-RTT request"
            if not early or not params.early_data_accepted:
                tls.sendall(request)
            raw = b""
            while chunk := tls.recv(65536):
                raw += chunk
            session = tls.conn.session
    except Exception as exc:
        raise AssertionError(f"glasstls client, GET {uri}, failed: {exc!r}; nginx said:\n{server.log}") from exc
    return Fetched(params, parse_response(raw), events, session)


def fetch_holding_finished(server: Nginx, config: ClientConfig, uri: str, *, session: Any) -> Fetched:
    """A 0-RTT GET of ``uri`` whose client holds its EndOfEarlyData and Finished back until nginx has
    answered and closed, as over a slow link: nginx reads the request while the handshake is still
    open, and answers it then (0.5-RTT data, RFC 8446, Section 2.3). Sent at once, as fetch sends
    them, they could reach a busy nginx before it read the request, which it would then read as one
    sent after the handshake."""
    events = EventList()
    conn = ClientConnection(
        config, server_name="localhost", session=session, early_data=request_for(uri), observer=events
    )
    raw = b""
    deadline = time.monotonic() + WAIT
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(conn.data_to_send())  # ClientHello and the request as early data
        while not conn.closed and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            for event in conn.receive_bytes(chunk):
                if isinstance(event, ApplicationData):
                    raw += event.data
            conn.data_to_send()  # EndOfEarlyData and Finished, once the server's flight is read: held back
    assert conn.error is None, f"GET {uri} holding the Finished: {conn.error}; nginx said:\n{server.log}"
    assert conn.parameters is not None, f"GET {uri} holding the Finished: no handshake; nginx said:\n{server.log}"
    return Fetched(conn.parameters, parse_response(raw), events, conn.session)


def client_config(pki: InteropPKI, **kwargs: Any) -> ClientConfig:
    return ClientConfig(trust_store=pki.trust_store(), **kwargs)


def nginx_saw(fetched: Fetched) -> tuple[str, str, str | None]:
    """(protocol, reused, early) from nginx's headers; early is None when nginx left X-Early out."""
    headers = fetched.response.headers
    return headers["x-protocol"], headers["x-resumed"], headers.get("x-early")


def received(events: EventList, *kinds: type) -> int:
    """How many handshake messages of these classes glasstls received (TLS 1.2 and 1.3 have their own)."""
    return sum(
        1 for e in events.events if isinstance(e, MessageTrace) and e.direction == "in" and isinstance(e.message, kinds)
    )


def certificates(events: EventList) -> int:
    return received(events, Certificate, Certificate12, CompressedCertificate)


def tickets(events: EventList) -> int:
    return received(events, NewSessionTicket, NewSessionTicket12)


# -- the tests ---------------------------------------------------------------------------------------


@needs_nginx
def test_glasstls_client_fetches_a_page_over_tls13(nginx: Nginx, pki: InteropPKI) -> None:
    got = fetch(nginx, client_config(pki), "/index")
    assert got.response.status == 200, got.response
    assert got.response.body == b"page /index protocol=TLSv1.3 reused=. early=\n"
    assert nginx_saw(got) == ("TLSv1.3", ".", None)
    assert (got.params.version, got.params.resumed) == ("TLSv1.3", False)
    assert got.params.peer_certificate_subject == "CN=localhost"
    assert nginx.access_log("/index") == ['TLSv1.3 reused=. early=- "GET /index HTTP/1.1" 200'], nginx.log


@needs_nginx
def test_glasstls_client_resumes_tls13_with_an_nginx_ticket(nginx: Nginx, pki: InteropPKI) -> None:
    store = SessionStore()
    config = client_config(pki)
    first = fetch(nginx, config, "/first", session_store=store)
    assert tickets(first.events) >= 1, "nginx sent no NewSessionTicket"
    second = fetch(nginx, config, "/second", session_store=store)
    # glasstls's view: a PSK handshake, no Certificate
    assert (first.params.resumed, second.params.resumed) == (False, True)
    assert (second.params.version, second.params.psk) == ("TLSv1.3", "resumption")
    assert certificates(first.events) == 1 and certificates(second.events) == 0
    # nginx's view
    assert nginx_saw(first) == ("TLSv1.3", ".", None)
    assert nginx_saw(second) == ("TLSv1.3", "r", None)
    assert nginx.access_log("/second") == ['TLSv1.3 reused=r early=- "GET /second HTTP/1.1" 200'], nginx.log


@needs_nginx
def test_glasstls_client_sends_a_0rtt_get_that_nginx_accepts(nginx: Nginx, pki: InteropPKI) -> None:
    """The GET goes only as 0-RTT data (glasstls.connect with ``early_data``; never sent again):
    nginx's answer is the proof that it took it. Whether nginx reads it before or after the
    client's Finished arrives is a race on a busy machine, and ``$ssl_early_data`` says which;
    a client holding its Finished back (fetch_holding_finished) makes nginx's own word certain."""
    store = SessionStore()
    config = client_config(pki)
    first = fetch(nginx, config, "/ticket", session_store=store)
    assert first.session is not None and first.session.max_early_data > 0, "nginx's ticket allows no early data"
    early = fetch(nginx, config, "/early", session_store=store, early=True)
    # glasstls's view: resumed, and EncryptedExtensions said early_data (Section 4.2.10)
    assert early.params.resumed and early.params.early_data_accepted is True
    assert early.response.status == 200, early.response
    assert nginx_saw(early)[:2] == ("TLSv1.3", "r")
    assert [line.split(" ")[2] for line in nginx.access_log("/early")] in (["early=1"], ["early=-"]), nginx.log
    # nginx's view: the request was read as 0-RTT data, before the client's Finished
    held = fetch(nginx, config, "/held", session=first.session, early=True, hold_finished=True)
    assert held.params.early_data_accepted is True
    assert nginx_saw(held) == ("TLSv1.3", "r", "1")
    assert held.response.body == b"page /held protocol=TLSv1.3 reused=r early=1\n"
    assert nginx.access_log("/held") == ['TLSv1.3 reused=r early=1 "GET /held HTTP/1.1" 200'], nginx.log
    assert nginx_saw(first) == ("TLSv1.3", ".", None)  # the same header is absent after a 1-RTT request


@needs_nginx
def test_nginx_rejects_0rtt_with_a_ticket_it_cannot_open(pki: InteropPKI, tmp_path: Path) -> None:
    """A ticket from an nginx that has since been restarted (new ticket keys: nginx makes them at
    start when none are configured): nginx answers with a full handshake, declines the early
    data and skips its records (RFC 8446, Section 4.2.10); glasstls says it was rejected and
    the GET, sent again after the handshake, is answered as a 1-RTT request."""
    config = client_config(pki)
    files = pki.files["ecdsa-p256"]
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    with running(tmp_path / "before", files) as before:
        first = fetch(before, config, "/ticket")
    assert first.session is not None and first.session.max_early_data > 0
    with running(tmp_path / "after", files) as after:
        late = fetch(after, config, "/late", session=first.session, early=True, resend=True)
        logged = after.access_log("/late")
    assert late.params.early_data_accepted is False and late.params.resumed is False
    assert certificates(late.events) == 1  # a full handshake
    assert late.response.status == 200 and nginx_saw(late) == ("TLSv1.3", ".", None)
    assert logged == ['TLSv1.3 reused=. early=- "GET /late HTTP/1.1" 200'], logged  # nginx read it once


@needs_nginx
def test_nginx_leaves_replay_protection_to_the_application(nginx: Nginx, pki: InteropPKI) -> None:
    """nginx turns OpenSSL's anti-replay off (SSL_OP_NO_ANTI_REPLAY) and leaves replay protection
    of 0-RTT requests to the application (RFC 8446, Section 8; RFC 8470): the same ticket's early
    data is taken twice, each time with ``$ssl_early_data`` = 1, and a location that refuses
    early requests answers 425 Too Early (RFC 8470, Section 5.2) until the request comes after
    the handshake."""
    config = client_config(pki)
    first = fetch(nginx, config, "/ticket")
    assert first.session is not None
    once = fetch(nginx, config, "/once", session=first.session, early=True, hold_finished=True)
    again = fetch(nginx, config, "/again", session=first.session, early=True, hold_finished=True)
    assert [once.params.early_data_accepted, again.params.early_data_accepted] == [True, True]
    assert [nginx_saw(once), nginx_saw(again)] == [("TLSv1.3", "r", "1")] * 2
    too_early = fetch(nginx, config, "/guarded", session=first.session, early=True, hold_finished=True)
    assert too_early.params.early_data_accepted is True
    assert too_early.response.status == 425, too_early.response
    later = fetch(nginx, config, "/guarded", session=first.session)
    assert later.response.status == 200 and nginx_saw(later) == ("TLSv1.3", "r", None)
    assert [line.split(" ")[2] for line in nginx.access_log("/guarded")] == ["early=1", "early=-"], nginx.log


@needs_nginx
@pytest.mark.parametrize("tickets_on", [True, False], ids=["ticket", "session-id"])
def test_glasstls_client_resumes_tls12_with_nginx(pki: InteropPKI, tmp_path: Path, tickets_on: bool) -> None:
    """TLS 1.2: with ``ssl_session_tickets on`` nginx resumes from the ticket (RFC 5077); with
    ``off``, from the session ID in its shared session cache (RFC 5246, Section 7.4.1.2)."""
    config = client_config(pki, tls_max=ProtocolVersion.TLSv1_2)
    store = SessionStore()
    with running(tmp_path, pki.files["ecdsa-p256"], tickets=tickets_on) as server:
        first = fetch(server, config, "/first", session_store=store)
        second = fetch(server, config, "/second", session_store=store)
    assert (first.params.version, second.params.version) == ("TLSv1.2", "TLSv1.2")
    assert (first.params.resumed, second.params.resumed) == (False, True)
    assert tickets(first.events) == (1 if tickets_on else 0)
    assert certificates(first.events) == 1 and certificates(second.events) == 0
    assert nginx_saw(first) == ("TLSv1.2", ".", None)
    assert nginx_saw(second) == ("TLSv1.2", "r", None)
    assert second.response.body == b"page /second protocol=TLSv1.2 reused=r early=\n"
