"""What the tests of ``glasstls server --workers`` share: the worker pids from the log, and
clients (Python's ssl, that is OpenSSL) that fetch the ``--www`` page, which names the
worker that served it, resuming the session the previous connection left.

Every wait is bounded; the clients run in a few threads and are joined before returning.
"""

from __future__ import annotations

import re
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from serving_helpers import PKI, WAIT, CLIServer

GET = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
SERVED_BY = re.compile(rb"Served by: +worker \d+ \(pid (\d+)\)")


def started_pids(server: CLIServer) -> dict[int, int]:
    """Worker number → pid of the latest worker started for it, from the supervisor's log."""
    pids: dict[int, int] = {}
    for line in server.lines:
        found = re.fullmatch(r"glasstls: worker (\d+) \(pid (\d+)\) started", line)
        if found:
            pids[int(found.group(1))] = int(found.group(2))
    return pids


def client_context(pki: PKI, tls12: bool = False) -> ssl.SSLContext:
    """TLS 1.3 (tickets), or TLS 1.2 with session IDs only (no tickets: the session cache is used)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(pki.ca_pem))
    if tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.options |= ssl.OP_NO_TICKET
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context


@dataclass(frozen=True)
class Visit:
    pid: int  # the worker that served the connection
    issuer: int | None  # the worker that issued the session offered (None: none offered)
    resumed: bool


def fetch_page(
    context: ssl.SSLContext, port: int, session: ssl.SSLSession | None = None
) -> tuple[int, bool, ssl.SSLSession]:
    """One GET of the --www page: the serving worker's pid, whether ``session`` was resumed, the session left."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=WAIT) as raw,
        context.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
    ):
        tls.sendall(GET)
        page = b""
        while chunk := tls.recv(65536):  # until close_notify: the TLS 1.3 tickets came before it
            page += chunk
        found = SERVED_BY.search(page)
        assert found, page[:400]
        left = tls.session
        assert left is not None
        return int(found.group(1)), tls.session_reused, left


def load_run(pki: PKI, port: int, *, threads: int = 4, per_thread: int = 50, tls12: bool = False) -> list[Visit]:
    """``threads`` clients, each making ``per_thread`` connections one after the other, every one after the
    first offering the session the previous one left (a new session after a full handshake, a ticket
    renewed by a TLS 1.3 resumption, the same session ID after a TLS 1.2 resumption)."""
    context = client_context(pki, tls12)

    def client(_: int) -> list[Visit]:
        visits: list[Visit] = []
        session: ssl.SSLSession | None = None
        issuer: int | None = None
        for _ in range(per_thread):
            pid, resumed, left = fetch_page(context, port, session)
            visits.append(Visit(pid, issuer, resumed))
            kept = resumed and session is not None and left.id == session.id
            session, issuer = left, (issuer if kept else pid)
        return visits

    with ThreadPoolExecutor(threads) as pool:
        return [visit for visits in pool.map(client, range(threads), timeout=WAIT * 6) for visit in visits]


def across(visits: list[Visit]) -> list[Visit]:
    """The connections that offered a session issued by another worker."""
    return [v for v in visits if v.issuer is not None and v.issuer != v.pid]


def at_home(visits: list[Visit]) -> list[Visit]:
    """The connections that offered a session issued by the worker that served them."""
    return [v for v in visits if v.issuer is not None and v.issuer == v.pid]
