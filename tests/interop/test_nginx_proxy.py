"""nginx as a TLS client: a reverse proxy (``proxy_pass https://...``) in front of a glasstls server.

nginx (Debian's package, OpenSSL 3.0) listens for plain HTTP on 127.0.0.1 and passes each request
to a glasstls asyncio server over TLS, as a site puts nginx in front of an application:

    proxy_ssl_verify on;  proxy_ssl_trusted_certificate ROOT;  proxy_ssl_name localhost;
    proxy_ssl_server_name on;  proxy_ssl_protocols TLSv1.2|TLSv1.3;  proxy_ssl_session_reuse on;
    [proxy_ssl_certificate CLIENT_CHAIN;  proxy_ssl_certificate_key CLIENT_KEY;]

nginx speaks HTTP/1.0 to its upstream and closes after each answer, so every request is a new TLS
connection, and ``proxy_ssl_session_reuse`` (its default) offers the session of the one before:
the first connection is a full handshake, the later ones resume (a TLS 1.3 ticket, RFC 8446,
Section 4.6.1; a TLS 1.2 ticket, RFC 5077; or a TLS 1.2 session ID, RFC 5246, Section 7.3).

The glasstls server answers each request with what it saw of the connection (version, resumed,
SNI, the client certificate's subject), which reaches the test through nginx; nginx's access log
adds ``$upstream_status``. With ``proxy_ssl_verify on``, nginx answering at all shows it verified
glasstls's chain and name. The client-certificate case needs a certificate (client_auth required):
a resumed connection must still know the client's certificate, from the session (RFC 8446,
Section 4.6.1: a ticket may carry the client's identity).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import InteropPKI
from interop_peers import WAIT, request_path
from nginx_peer import PATHS, TEMP_PATHS, Nginx, needs_nginx, running_nginx

from glasstls import ServerConfig, TrustStore
from glasstls.io.aio_server import start_server

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90), needs_nginx]

REQUESTS = 4  # through nginx, one after another: one full handshake, then resumptions

# fmt: off
CONFIG = PATHS + """
http {{
    log_format glasstls '"$request" $status upstream=$upstream_status';
    access_log {prefix}/access.log glasstls;""" + TEMP_PATHS + """
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass https://127.0.0.1:{backend};
            proxy_ssl_verify on;
            proxy_ssl_verify_depth 3;
            proxy_ssl_trusted_certificate {root};
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;
            proxy_ssl_protocols {protocols};
            proxy_ssl_session_reuse on;
            {client_certificate}
        }}
    }}
}}
"""
# fmt: on


@dataclass(frozen=True)
class Seen:
    """One upstream connection as the glasstls server saw it."""

    path: str
    version: str
    resumed: bool
    server_name: str | None
    client: str | None  # the client certificate's subject, if one was given

    def line(self) -> str:
        return f"{self.path} {self.version} resumed={self.resumed} sni={self.server_name} client={self.client}\n"


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[Seen]) -> None:
    """Read one request's head, answer with what this connection is, close (nginx asked HTTP/1.0)."""
    path = await request_path(reader)
    parameters = writer.get_extra_info("glasstls")
    chain = parameters.peer_certificates
    this = Seen(
        path,
        parameters.version,
        parameters.resumed,
        parameters.server_name,
        chain[0].subject.rfc4514_string() if chain else None,
    )
    seen.append(this)
    body = this.line().encode()
    writer.write(b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    writer.close()


@contextlib.contextmanager
def backend(config: ServerConfig) -> Iterator[tuple[int, list[Seen]]]:
    """The glasstls server in a thread of its own (its event loop), until the block ends."""
    seen: list[Seen] = []
    ready: dict[str, Any] = {}
    started, stop = threading.Event(), threading.Event()

    async def serve() -> None:
        server = await start_server(lambda r, w: answer(r, w, seen), "127.0.0.1", 0, config)
        ready["port"] = server.sockets[0].getsockname()[1]
        started.set()
        while not stop.is_set():
            await asyncio.sleep(0.02)
        server.close()
        await server.wait_closed()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the test below, not lost in the thread
            ready["error"] = exc
            started.set()

    thread = threading.Thread(target=run, name="glasstls backend", daemon=True)
    thread.start()
    assert started.wait(WAIT), "the glasstls backend did not start"
    assert "error" not in ready, ready.get("error")
    try:
        yield ready["port"], seen
    finally:
        stop.set()
        thread.join(WAIT)


def fetch(port: int, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=WAIT) as reply:
        return reply.status, reply.read().decode()


CASES = [
    pytest.param("TLSv1.3", {}, False, id="tls13"),
    pytest.param("TLSv1.2", {}, False, id="tls12-tickets"),
    pytest.param("TLSv1.2", {"session_tickets": False}, False, id="tls12-session-ids"),
    pytest.param("TLSv1.3", {}, True, id="tls13-client-certificate"),
    pytest.param("TLSv1.2", {}, True, id="tls12-client-certificate"),
]


@pytest.mark.parametrize(("protocol", "settings", "client_certificate"), CASES)
def test_nginx_proxies_to_a_glasstls_server_and_resumes(
    pki: InteropPKI, tmp_path: Path, protocol: str, settings: dict[str, Any], client_certificate: bool
) -> None:
    client_line, subject = "", None
    if client_certificate:
        identity = pki.ca.issue_client("nginx-proxy")
        identity.write(tmp_path / "client.pem", tmp_path / "client.key")
        client_line = (
            f"proxy_ssl_certificate {tmp_path / 'client.pem'}; proxy_ssl_certificate_key {tmp_path / 'client.key'};"
        )
        subject = "CN=nginx-proxy"
        settings = {**settings, "client_auth": "required", "client_trust_store": TrustStore.from_pem(pki.root_pem)}
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), **settings)
    with backend(config) as (backend_port, seen):

        def configuration(port: int) -> str:
            return CONFIG.format(
                prefix=tmp_path, port=port, backend=backend_port, root=pki.root_file,
                protocols=protocol, client_certificate=client_line,
            )  # fmt: skip

        with running_nginx(tmp_path, configuration) as nginx:
            answers = [fetch(nginx.port, f"/{n}") for n in range(REQUESTS)]
            said = f"answers {answers}\nthe glasstls server saw {seen}\n{nginx_log(nginx)}"
    assert [status for status, _ in answers] == [200] * REQUESTS, said
    assert [s.path for s in seen] == [f"/{n}" for n in range(REQUESTS)], said
    assert [body for _, body in answers] == [s.line() for s in seen], said  # (nginx passed each answer on whole)
    for s in seen:
        assert (s.version, s.server_name, s.client) == (protocol, "localhost", subject), said
    # The first connection had nothing to offer; each later one offered the session of the one before.
    assert [s.resumed for s in seen] == [False] + [True] * (REQUESTS - 1), said


def nginx_log(nginx: Nginx) -> str:
    access = nginx.prefix / "access.log"
    return nginx.log + ("\n-- access.log:\n" + access.read_text(errors="replace") if access.exists() else "")
