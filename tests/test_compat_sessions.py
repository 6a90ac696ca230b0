"""Sessions through glasstls.compat as through the stdlib's ``ssl``: ``sock.session`` read after a
connection and set on the next one before its handshake resumes it (``session_reused``), with
the stdlib's attributes and refusals; against a stdlib server and a glasstls.compat one, TLS 1.2
and 1.3, each test run with both clients (``kind``) and the same expectations."""

from __future__ import annotations

import re
import socket
import ssl
import time
from typing import Any

import pytest

from compat_peers import CONTEXTS, VERSIONS, Pki, client_context, connect, issue, name, server_context, tls_server

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("compat-sessions"))


@pytest.fixture(params=list(CONTEXTS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def echo_once(tls: Any) -> bool:
    """Answer one byte (the TLS 1.3 tickets go out with it); whether this connection resumed."""
    tls.sendall(tls.recv(1))
    tls.recv(1)  # until the client closes
    return bool(tls.session_reused)


def exchange(tls: Any) -> None:
    tls.sendall(b"x")
    assert tls.recv(1) == b"x"  # (after it, a TLS 1.3 client holds the server's tickets)


@pytest.mark.parametrize("server_kind", list(CONTEXTS))
@pytest.mark.parametrize("version", VERSIONS)
def test_a_session_set_before_the_handshake_resumes(pki: Pki, kind: str, server_kind: str, version: str) -> None:
    files = pki.server_files("sessions", issue(name("localhost"), pki.root, hosts=["localhost"]))
    context = client_context(kind, pki.root_file, version)
    server = server_context(*files, kind=server_kind, version=version)
    with tls_server(server, echo_once, connections=2) as peer:
        with connect(context, peer.port) as first:
            exchange(first)
            session = first.session
            assert first.session_reused is False
        assert (len(session.id), session.has_ticket, session.timeout) == (32, True, 7200)
        assert session.ticket_lifetime_hint > 0 and abs(session.time - time.time()) < 30
        with connect(context, peer.port, do_handshake_on_connect=False) as second:
            second.session = session
            second.do_handshake()
            exchange(second)
            assert second.session_reused is True
            with pytest.raises(ValueError, match=re.escape("Cannot set session after handshake.")):
                second.session = session
        assert peer.result() == [False, True]


def test_session_attributes_equal_the_stdlib_clients(pki: Pki) -> None:
    """Against one stdlib server, both clients' sessions read alike (the lifetime is the server's)."""
    files = pki.server_files("session-attrs", issue(name("localhost"), pki.root, hosts=["localhost"]))
    seen = []
    for kind in CONTEXTS:
        with (
            tls_server(server_context(*files), echo_once) as peer,
            connect(client_context(kind, pki.root_file), peer.port) as tls,
        ):
            exchange(tls)
            s = tls.session
            seen.append((len(s.id), s.timeout, s.ticket_lifetime_hint, s.has_ticket, s == tls.session))
    assert seen[0] == seen[1]


def test_session_refusals_as_the_stdlib(pki: Pki, kind: str) -> None:
    files = pki.server_files("session-refusals", issue(name("localhost"), pki.root, hosts=["localhost"]))
    context = client_context(kind, pki.root_file)
    with tls_server(server_context(*files), echo_once) as peer, connect(context, peer.port) as tls:
        exchange(tls)
        with pytest.raises(TypeError, match=re.escape("Value is not a SSLSession.")):
            tls.session = "not a session"
        other = client_context(kind, pki.root_file)
        sslobj = other.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
        with pytest.raises(ValueError, match=re.escape("Session refers to a different SSLContext.")):
            sslobj.session = tls.session
        # (_ssl.c checks the context before the side: a server's context is always another one)
        server_side = server_context(*files, kind=kind).wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)
        with pytest.raises(ValueError, match=re.escape("Session refers to a different SSLContext.")):
            server_side.session = tls.session
        # Given when wrapping, the same checks (_ssl.c's newPySSLSocket goes through the setter).
        with pytest.raises(ValueError, match=re.escape("Session refers to a different SSLContext.")):
            other.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost", session=tls.session)
        near, far = socket.socketpair()  # (connected: wrap_socket makes its SSLObject at once)
        with near, far, pytest.raises(ValueError, match=re.escape("Session refers to a different SSLContext.")):
            other.wrap_socket(near, server_hostname="localhost", session=tls.session, do_handshake_on_connect=False)
        with pytest.raises(TypeError, match=re.escape("Value is not a SSLSession.")):
            context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost", session="not a session")


def test_a_tls13_session_before_any_ticket_resumes_nothing(pki: Pki, kind: str) -> None:
    """Read right after a TLS 1.3 handshake, before a ticket came: a session all the same, with no
    ticket, and offering it makes a full handshake (the audit's t_client_misc case)."""
    files = pki.server_files("session-early", issue(name("localhost"), pki.root, hosts=["localhost"]))
    context = client_context(kind, pki.root_file)
    with tls_server(server_context(*files), echo_once, connections=2) as peer:
        with connect(context, peer.port) as first:
            early = first.session
            exchange(first)
        assert early is not None and early.has_ticket is False
        with connect(context, peer.port, do_handshake_on_connect=False) as second:
            second.session = early
            second.do_handshake()
            exchange(second)
            assert second.session_reused is False
        assert peer.result() == [False, False]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_tls12_session_whose_connection_a_fatal_alert_ended_is_not_offered_again(
    pki: Pki, kind: str, version: str
) -> None:
    """RFC 5246, Section 7.2: a connection ended by a fatal alert must not be resumed. The server
    forges a record after the first exchange (the client answers bad_record_mac) and never reads that
    alert, so its tickets would still resume; the second connection is given the first's session, the
    third the clean second's (the control). glasstls's client does not offer the TLS 1.2 one again;
    a TLS 1.3 one it does, as RFC 8446 sets no such rule. OpenSSL 3.0's offers both (the stdlib's
    client, asserted so that the difference written down in compat/session.py is seen to hold)."""
    files = pki.server_files("session-alert", issue(name("localhost"), pki.root, hosts=["localhost"]))
    context = client_context(kind, pki.root_file, version)
    served: list[int] = []

    def forge_on_the_first(tls: Any) -> bool:
        served.append(1)
        if len(served) > 1:
            return echo_once(tls)
        tls.sendall(tls.recv(1))
        tls.recv(1)  # the client's word: its tickets arrived
        socket.socket.sendall(tls, b"\x17\x03\x03\x00\x20" + bytes(32))  # under no key of ours
        while socket.socket.recv(tls, 4096):  # (the client's alert, never read as TLS)
            pass
        return False

    with tls_server(server_context(*files, version=version), forge_on_the_first, connections=3) as peer:
        with connect(context, peer.port) as first:
            exchange(first)
            session = first.session
            first.sendall(b"x")
            with pytest.raises(ssl.SSLError, match=r"BAD_RECORD_MAC|bad record mac"):
                first.recv(1)
        with connect(context, peer.port, do_handshake_on_connect=False) as second:
            second.session = session
            second.do_handshake()
            exchange(second)
            clean, reused = second.session, [second.session_reused]
        with connect(context, peer.port, do_handshake_on_connect=False) as third:
            third.session = clean
            third.do_handshake()
            exchange(third)
            reused.append(third.session_reused)
        ends_it = kind == "glasstls" and version == "TLSv1.2"
        assert reused == [not ends_it, True]
        assert peer.result() == [False, not ends_it, True]
