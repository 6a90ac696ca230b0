"""Cookie HelloRetryRequests (RFC 8446, Sections 4.1.4 and 4.2.2) with the OpenSSL command line,
both directions.

* ``openssl s_client`` through the cookie HelloRetryRequest of a stateless glasstls server
  (``ServerConfig.stateless_hrr``, ``glasstls server --stateless-hrr``). The server speaks
  secp384r1 only; s_client sends an x25519 share and lists secp384r1, so the server answers
  with a HelloRetryRequest that carries a cookie and keeps nothing of the first ClientHello.
  s_client echoes the cookie (its ``-trace`` shows the extension in the retry and in its
  second ClientHello) and the handshake completes.
* The glasstls client against ``openssl s_server -stateless -tls1_3 -groups P-256``
  (``SSL_stateless``): the client's X25519MLKEM768 and x25519 shares force a retry, whose
  cookie s_server's ``-trace`` shows, and glasstls's second ClientHello carries the same
  bytes. OpenSSL 3.0's stateless server starts over for the second ClientHello and takes
  the compatibility-mode change_cipher_spec that comes before it (Appendix D.4) as an
  unexpected message: it closes without reading the second ClientHello, and the glasstls
  client (middlebox_compat on, the default) ends with a ConnectionClosedError, a one-line
  error from the CLI. Without middlebox compatibility there is no such record, s_server's
  trace shows the cookie echoed in the second ClientHello, and the handshake completes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import InteropPKI
from interop_peers import (
    OPENSSL,
    WAIT,
    GlasstlsCLIServer,
    PeerProcess,
    ServerThread,
    glasstls_line_server,
    hrr_seen,
    reverse_line,
    run_s_client,
    trace_fatal_alerts,
    trace_server_hellos,
)

import glasstls
from glasstls import ClientConfig, NamedGroup, ServerConfig
from glasstls.enums import ExtensionType
from glasstls.errors import ConnectionClosedError
from glasstls.observe import EventList, MessageTrace
from glasstls.wire.handshake import ClientHello, HelloRetryRequest

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]


def _cookies(trace: str) -> list[bytes]:
    """The cookie of each cookie extension in OpenSSL's ``-trace`` output, in order (its
    hex dump holds the extension's body: a 2-byte length, then the cookie)."""
    dumps = re.findall(r"extension_type=cookie(?:_ext)?\(44\), length=\d+\n((?:[ \t]+[0-9a-f]{4} - [^\n]*\n)+)", trace)
    bodies = [
        bytes.fromhex("".join(re.sub(r"-", " ", line.split(" - ", 1)[1][:47]) for line in dump.splitlines()))
        for dump in dumps
    ]
    return [body[2:] for body in bodies]


def test_s_client_completes_a_stateless_hrr_echoing_the_cookie(pki: InteropPKI, tmp_path: Path) -> None:
    events = EventList()
    config = ServerConfig(
        certificates=(pki.certified_key("ecdsa-p256"),), groups=(NamedGroup.secp384r1,), stateless_hrr=True
    )
    line = b"through a cookie retry\n"
    trace_file = tmp_path / "s_client.trace"
    with ServerThread(glasstls_line_server(config, events)) as server:
        client = run_s_client(
            [
                "-tls1_3", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                "-CAfile", str(pki.root_file), "-verify_return_error",
                "-groups", "x25519:secp384r1",
                "-ign_eof", "-trace", "-msgfile", str(trace_file),
            ],
            stdin=line,
        )  # fmt: skip
        try:
            params, received = server.result()
        except Exception as exc:
            said = client.stdout + client.stderr
            raise AssertionError(f"glasstls server failed: {exc!r}; s_client said:\n{said}") from exc
    trace = trace_file.read_text(errors="replace")
    # glasstls's view: a retry with a cookie, and the second ClientHello brought it back.
    assert received == line
    assert (params.version, params.group) == ("TLSv1.3", "secp384r1")
    assert hrr_seen(events, "out")
    messages = [e.message for e in events.events if isinstance(e, MessageTrace)]
    hrr = next(m for m in messages if isinstance(m, HelloRetryRequest))
    sent = hrr.ext(ExtensionType.cookie)
    assert sent is not None
    hellos = [m for m in messages if isinstance(m, ClientHello)]
    assert len(hellos) == 2 and hellos[0].ext(ExtensionType.cookie) is None
    echoed = hellos[1].ext(ExtensionType.cookie)
    assert echoed is not None and echoed.value == sent.value
    # OpenSSL's view: the cookie in the retry and in its second ClientHello, then success.
    assert client.returncode == 0, client.stdout + client.stderr
    assert "New, TLSv1.3" in client.stdout, client.stdout
    assert reverse_line(line).decode() in client.stdout, client.stdout
    retry = trace_server_hellos(trace)
    assert retry[0].retry and not retry[-1].retry
    cookies = _cookies(trace)
    assert cookies == [sent.value, sent.value], trace
    assert trace_fatal_alerts(trace) == []


def test_s_client_through_glasstls_server_stateless_hrr(pki: InteropPKI, tmp_path: Path) -> None:
    """The same through the command line: ``glasstls server --stateless-hrr --groups secp384r1``."""
    files = pki.files["ecdsa-p256"]
    trace_file = tmp_path / "s_client.trace"
    cert = ("--cert", str(files.full_chain), "--key", str(files.key))
    # --idle-timeout: the server closes once the echo is out, which ends s_client -ign_eof.
    with GlasstlsCLIServer(
        *cert, "--stateless-hrr", "--groups", "secp384r1", "--max-connections", "1", "--idle-timeout", "1"
    ) as server:
        client = run_s_client(
            [
                "-tls1_3", "-connect", f"127.0.0.1:{server.port}", "-groups", "x25519:secp384r1",
                "-ign_eof", "-trace", "-msgfile", str(trace_file),
            ],
            stdin=b"cli cookie\n",
        )  # fmt: skip
        logged = server.wait_for(r"TLSv1\.3 ")
    trace = trace_file.read_text(errors="replace")
    assert client.returncode == 0, client.stdout + client.stderr
    assert "cli cookie\n" in client.stdout  # echoed
    assert " secp384r1 " in logged, logged
    hellos = trace_server_hellos(trace)
    assert hellos[0].retry and not hellos[-1].retry
    cookies = _cookies(trace)
    assert len(cookies) == 2 and cookies[0] == cookies[1] and len(cookies[0]) > 32, trace


# -- the glasstls client against openssl s_server -stateless ------------------------------------


class StatelessSServer(PeerProcess):
    """``openssl s_server -stateless -tls1_3 -groups P-256 -naccept 1`` with a ``-trace`` file.

    Not :class:`interop_peers.OpenSSLServer`: its ``-rev`` mode runs s_server's own handshake
    loop, which never calls ``SSL_stateless``; the default mode does (and prints what the
    client sends to its stdout).
    """

    name = "s_server -stateless"

    def __init__(self, pki: InteropPKI, trace_path: Path) -> None:
        files = pki.files["ecdsa-p256"]
        super().__init__(
            [
                OPENSSL, "s_server", "-stateless", "-tls1_3", "-groups", "P-256",
                "-accept", "127.0.0.1:0", "-naccept", "1",
                "-cert", str(files.leaf), "-cert_chain", str(files.intermediates), "-key", str(files.key),
                "-trace", "-msgfile", str(trace_path),
            ]
        )  # fmt: skip
        self.trace_path = trace_path

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^ACCEPT ").rsplit(":", 1)[1])

    @property
    def trace(self) -> str:
        return self.trace_path.read_text(errors="replace") if self.trace_path.exists() else ""


def _hello_cookies(trace: str) -> list[tuple[str, str, bytes | None]]:
    """(Sent/Received, ClientHello/ServerHello, its cookie or None) for each hello in an OpenSSL
    ``-trace`` log, in order, and ("Received", "ChangeCipherSpec", None) for a peer's CCS record."""
    seen: list[tuple[str, str, bytes | None]] = []
    for record in re.split(r"^(?=(?:Sent|Received) Record)", trace, flags=re.MULTILINE):
        direction = record.split(" ", 1)[0]
        hello = re.search(r"^\s+(ClientHello|ServerHello), Length=\d+", record, re.MULTILINE)
        if hello:
            cookies = _cookies(record)
            seen.append((direction, hello.group(1), cookies[0] if cookies else None))
        elif "Content Type = ChangeCipherSpec (20)" in record and direction == "Received":
            seen.append((direction, "ChangeCipherSpec", None))
    return seen


def _glasstls_hellos(events: EventList) -> tuple[bytes, list[ClientHello]]:
    """The cookie of the HelloRetryRequest glasstls received, and the ClientHellos it sent."""
    messages = [e.message for e in events.events if isinstance(e, MessageTrace)]
    hrr = next(m for m in messages if isinstance(m, HelloRetryRequest))
    cookie = hrr.ext(ExtensionType.cookie)
    assert cookie is not None, "the HelloRetryRequest carried no cookie"
    return cookie.value, [m for m in messages if isinstance(m, ClientHello)]


def _client_config(pki: InteropPKI, **kwargs: Any) -> ClientConfig:
    return ClientConfig(trust_store=pki.trust_store(), **kwargs)


def test_glasstls_client_echoes_the_cookie_of_openssl_stateless_server(pki: InteropPKI, tmp_path: Path) -> None:
    """Without middlebox compatibility the second ClientHello is the next record s_server reads:
    its trace shows the cookie of the retry in it, and the handshake completes on P-256."""
    events = EventList()
    with StatelessSServer(pki, tmp_path / "s_server.trace") as server:
        with glasstls.connect(
            "127.0.0.1", server.port, _client_config(pki, middlebox_compat=False),
            server_name="localhost", timeout=WAIT, observer=events,
        ) as tls:  # fmt: skip
            tls.sendall(b"after a stateless retry\n")
            server.wait_for(r"^after a stateless retry$")  # s_server prints what it reads
            params = tls.parameters
        server.wait_exit()  # -naccept 1: it leaves once glasstls has closed
        trace = server.trace
    # s_server decrypted the line: the handshake completed on its side too. (How it then sees the
    # close varies, "DONE" or "ERROR", with whether its tickets were still unread when glasstls left.)
    assert params is not None and (params.version, params.group) == ("TLSv1.3", "secp256r1")
    hellos = _hello_cookies(trace)
    assert [h[:2] for h in hellos] == [
        ("Received", "ClientHello"), ("Sent", "ServerHello"), ("Received", "ClientHello"), ("Sent", "ServerHello"),
    ], trace  # fmt: skip
    retried = trace_server_hellos(trace)
    assert retried[0].retry and not retried[1].retry and retried[1].group == NamedGroup.secp256r1
    (_, _, first), (_, _, sent), (_, _, echoed), (_, _, last) = hellos
    assert first is None and last is None
    assert sent is not None and len(sent) > 32 and echoed == sent, trace  # OpenSSL's view of the echo
    cookie, client_hellos = _glasstls_hellos(events)
    assert cookie == sent and len(client_hellos) == 2
    echoed_by_glasstls = client_hellos[1].ext(ExtensionType.cookie)
    assert echoed_by_glasstls is not None and echoed_by_glasstls.value == sent
    assert trace_fatal_alerts(trace) == [], trace


def test_openssl_stateless_server_drops_the_compat_ccs_retry(pki: InteropPKI, tmp_path: Path) -> None:
    """glasstls's default (middlebox_compat): the change_cipher_spec before the second ClientHello
    ends OpenSSL 3.0's stateless handshake. The cookie glasstls echoed is the one s_server's trace
    shows in the retry; the client ends with a clear error well inside its deadline, no hang."""
    events = EventList()
    with StatelessSServer(pki, tmp_path / "s_server.trace") as server:
        started = time.monotonic()
        with pytest.raises(ConnectionClosedError, match="peer closed the connection while waiting for ServerHello"):
            glasstls.connect(
                "127.0.0.1", server.port, _client_config(pki), server_name="localhost", timeout=WAIT, observer=events
            )
        elapsed = time.monotonic() - started
        output = server.wait_exit()
        trace = server.trace
    assert elapsed < WAIT / 2, elapsed
    assert "ERROR" in output.splitlines(), output  # s_server gave up on the connection
    # s_server read the first ClientHello, sent the retry with its cookie, then the CCS, and no more
    hellos = _hello_cookies(trace)
    assert [h[:2] for h in hellos] == [
        ("Received", "ClientHello"), ("Sent", "ServerHello"), ("Received", "ChangeCipherSpec"),
    ], trace  # fmt: skip
    sent = hellos[1][2]
    assert sent is not None and trace_server_hellos(trace)[0].retry, trace
    # glasstls answered it with a second ClientHello carrying those bytes, after the CCS
    cookie, client_hellos = _glasstls_hellos(events)
    assert cookie == sent and len(client_hellos) == 2
    echoed_by_glasstls = client_hellos[1].ext(ExtensionType.cookie)
    assert echoed_by_glasstls is not None and echoed_by_glasstls.value == sent


def test_glasstls_cli_client_against_openssl_stateless_server(pki: InteropPKI, tmp_path: Path) -> None:
    """The same through ``glasstls client``: a one-line error and exit status 1, no traceback."""
    with StatelessSServer(pki, tmp_path / "s_server.trace") as server:
        client = subprocess.run(
            [
                sys.executable, "-m", "glasstls", "client", "--cacert", str(pki.root_file),
                "--servername", "localhost", "--timeout", str(WAIT), f"127.0.0.1:{server.port}",
            ],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=WAIT + 20, check=False,
        )  # fmt: skip
        server.wait_exit()
        trace = server.trace
    assert client.returncode == 1, client
    assert "Traceback" not in client.stderr, client.stderr
    assert re.search(r"closed the connection while waiting for ServerHello", client.stderr), client.stderr
    assert [h[:2] for h in _hello_cookies(trace)][:2] == [("Received", "ClientHello"), ("Sent", "ServerHello")]
