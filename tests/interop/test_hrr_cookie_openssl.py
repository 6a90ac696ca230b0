"""``openssl s_client`` through the cookie HelloRetryRequest of a stateless glasstls server
(RFC 8446, Section 4.2.2; ``ServerConfig.stateless_hrr``, ``glasstls server --stateless-hrr``).

The server speaks secp384r1 only; s_client sends an x25519 share and lists secp384r1, so
the server answers with a HelloRetryRequest that carries a cookie and keeps nothing of the
first ClientHello. s_client echoes the cookie (its ``-trace`` shows the extension in the
retry and in its second ClientHello) and the handshake completes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import InteropPKI
from interop_peers import (
    GlasstlsCLIServer,
    ServerThread,
    glasstls_line_server,
    hrr_seen,
    reverse_line,
    run_s_client,
    trace_fatal_alerts,
    trace_server_hellos,
)

from glasstls import NamedGroup, ServerConfig
from glasstls.enums import ExtensionType
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
