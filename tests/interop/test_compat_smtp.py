"""``smtplib.SMTP.starttls(context=ctx)`` against a STARTTLS server the test runs itself.

The server (:func:`smtp_server`, in a :class:`ServerThread`) speaks just enough SMTP:
EHLO offering STARTTLS, STARTTLS (then ``wrap_socket(server_side=True)`` with an OpenSSL
``ssl.SSLContext`` or a glasstls one), EHLO again (STARTTLS no longer offered), MAIL, RCPT,
DATA, QUIT. Each client case runs with ``ssl.SSLContext`` and with
``glasstls.compat.SSLContext`` for the same outcome, TLS 1.3 and 1.2, to a host name and to
an IP address (both in the certificate). With verification on, a certificate for another
name and an untrusted root fail ``starttls`` with ``ssl.SSLCertVerificationError``
(smtplib does not wrap it), verify codes 62 and 20 as OpenSSL's.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from compat_servers import (
    CASES,
    X509_V_ERR_HOSTNAME_MISMATCH,
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    CompatServers,
    assert_socket_kind,
    case_id,
    client_context,
    server_context,
)
from conftest import InteropPKI
from interop_peers import WAIT, ServerFiles, ServerThread

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

SERVER_KINDS = {"openssl": "ssl", "glasstls": "glasstls"}  # the server's context: the stdlib's (OpenSSL) or ours
MESSAGE = b"Subject: starttls over an ssl-compatible context\r\n\r\nhello\r\n"
MAX_COMMANDS = 50  # a session of these tests has 8; a client going on longer is a bug, not a reason to hang


class Lines:
    """CRLF-terminated lines from a socket (at most 64 KiB each)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > 1 << 16:
                raise AssertionError("a line over 64 KiB")
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("the client closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line


def smtp_server(context: Any) -> Callable[[socket.socket], dict[str, Any]]:
    """A ServerThread handler: one SMTP session; returns what it saw (TLS version, EHLOs, the message)."""

    def handle(sock: socket.socket) -> dict[str, Any]:
        seen: dict[str, Any] = {"tls": None, "ehlo_before_tls": 0, "message": None}
        lines, channel = Lines(sock), sock
        channel.sendall(b"220 localhost glasstls test ESMTP\r\n")
        try:
            for _ in range(MAX_COMMANDS):
                command = lines.line()
                verb = command.split(b" ", 1)[0].upper()
                if verb == b"EHLO":
                    seen["ehlo_before_tls"] += seen["tls"] is None
                    extensions = [b"SIZE 65536", *([b"STARTTLS"] if seen["tls"] is None else [])]
                    reply = b"250-localhost\r\n" + b"".join(b"250-" + e + b"\r\n" for e in extensions[:-1])
                    channel.sendall(reply + b"250 " + extensions[-1] + b"\r\n")
                elif verb == b"STARTTLS" and seen["tls"] is None:
                    channel.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    assert lines.buffer == b"", "commands pipelined past STARTTLS"  # they were sent in clear
                    channel = context.wrap_socket(sock, server_side=True)
                    lines, seen["tls"], seen["socket"] = Lines(channel), channel.version(), channel
                elif verb in (b"MAIL", b"RCPT"):
                    channel.sendall(b"250 2.1.0 OK\r\n")
                elif verb == b"DATA":
                    channel.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    body = list(iter(lines.line, b"."))
                    seen["message"] = b"\r\n".join(body) + b"\r\n"
                    channel.sendall(b"250 2.0.0 queued\r\n")
                elif verb == b"QUIT":
                    channel.sendall(b"221 2.0.0 Bye\r\n")
                    return seen
                else:
                    channel.sendall(b"502 5.5.2 not here\r\n")
            raise AssertionError(f"more than {MAX_COMMANDS} commands")
        finally:
            if channel is not sock:
                channel.close()

    return handle


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_smtp_starttls(pki: InteropPKI, case: tuple[str, str, str], host: str) -> None:
    kind, server_kind, version = case
    server_ctx = server_context(SERVER_KINDS[server_kind], pki.files["ecdsa-p256"], version)
    with ServerThread(smtp_server(server_ctx)) as server:
        smtp = smtplib.SMTP(host, server.port, timeout=WAIT)
        try:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            code, _ = smtp.starttls(context=client_context(kind, version, pki.root_file))
            assert code == 220
            assert_socket_kind(smtp.sock, kind)
            assert smtp.sock.version() == version
            smtp.ehlo()  # as RFC 3207 asks; the server's answer no longer offers STARTTLS
            assert not smtp.has_extn("starttls") and smtp.has_extn("size")
            assert smtp.sendmail("alice@example.org", ["bob@example.org"], MESSAGE) == {}
            assert smtp.quit()[0] == 221
        finally:
            smtp.close()
        seen = server.result()
    assert_socket_kind(seen.pop("socket"), SERVER_KINDS[server_kind])
    assert seen == {"tls": version, "ehlo_before_tls": 1, "message": MESSAGE}


def refused_starttls(files: ServerFiles, server_kind: str, kind: str, version: str, cafile: Path) -> Any:
    """starttls to a server with ``files`` by a client trusting ``cafile``: the error it raised."""
    server_ctx = server_context(SERVER_KINDS[server_kind], files, version)
    with ServerThread(smtp_server(server_ctx)) as server:
        smtp = smtplib.SMTP("localhost", server.port, timeout=WAIT)
        try:
            smtp.ehlo()
            with pytest.raises(ssl.SSLError) as refused:
                smtp.starttls(context=client_context(kind, version, cafile))
        finally:
            smtp.close()
        with pytest.raises(OSError):  # the server's handshake failed too (the client's alert, or its EOF)
            server.result()
    return refused.value


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_smtp_wrong_host_and_untrusted_root_refused(
    pki: InteropPKI, compat_servers: CompatServers, untrusted_root: Path, case: tuple[str, str, str]
) -> None:
    kind, server_kind, version = case
    wrong_host = refused_starttls(compat_servers.wrong_name_files(), server_kind, kind, version, pki.root_file)
    untrusted = refused_starttls(pki.files["ecdsa-p256"], server_kind, kind, version, untrusted_root)
    assert type(wrong_host) is ssl.SSLCertVerificationError and type(untrusted) is ssl.SSLCertVerificationError
    assert (wrong_host.verify_code, untrusted.verify_code) == (
        X509_V_ERR_HOSTNAME_MISMATCH,
        X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    )
    assert wrong_host.verify_message == "Hostname mismatch, certificate is not valid for 'localhost'."
