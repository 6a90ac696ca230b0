"""TLS 1.3 interop with Python's own ``ssl`` module (OpenSSL underneath), both directions.

Each case is a real handshake on 127.0.0.1 (the server in a thread) plus a data
round trip, over the same pairwise matrix as the OpenSSL CLI tests.

How the suite and the group are pinned and checked on the Python side:

* Suite: Python 3.11 cannot choose TLS 1.3 suites (``set_ciphers`` only affects
  TLS 1.2 and below), so the glasstls side offers or accepts only the suite under
  test; Python reports the outcome with ``sslsock.cipher()`` and ``version()``.
* Group: ``SSLContext.set_ecdh_curve(name)`` calls ``SSL_CTX_set1_groups`` with that one
  group on OpenSSL 3, so it limits the TLS 1.3 groups too (X25519 and X448
  included); the glasstls side is limited to the same group. Python has no API that
  reports the negotiated group. As a check from Python's side all the same, the
  ServerHello bytes its OpenSSL read or wrote are taken from ``SSLContext._msg_callback``
  (a private debugging hook, present since 3.8) and the key_share group decoded from
  them. Where the hook is missing the forced configuration is all there is.
"""

from __future__ import annotations

import socket
import ssl

import pytest
from interop_peers import (
    SCHEME_FOR_CERT,
    WAIT,
    ServerThread,
    case_id,
    hrr_seen,
    pairwise_cases,
    read_line,
    server_hello_group,
)

import glasstls
from glasstls import CipherSuite, ClientConfig, NamedGroup, ServerConfig
from glasstls.observe import EventList

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CASES = pairwise_cases()

# OpenSSL's names for set_ecdh_curve.
PY_CURVE = {"x25519": "X25519", "secp256r1": "prime256v1", "secp384r1": "secp384r1", "x448": "X448"}


class ServerHellos:
    """Records the ServerHellos an SSLContext sends or receives, through its private message callback."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.hellos: list[tuple[NamedGroup | None, bool]] = []  # (key_share group, is an HRR)
        self.available = hasattr(context, "_msg_callback")
        if self.available:
            context._msg_callback = self._callback  # type: ignore[attr-defined]

    def _callback(self, conn, direction, version, content_type, msg_type, data) -> None:
        if content_type == ssl._TLSContentType.HANDSHAKE and msg_type == ssl._TLSMessageType.SERVER_HELLO:
            self.hellos.append(server_hello_group(data))

    def check(self, group: str, *, retry: bool = False) -> None:
        if not self.available:
            return
        expected = [(NamedGroup[group], True)] if retry else []
        assert self.hellos == [*expected, (NamedGroup[group], False)]


def _tls13_context(purpose: int) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    return context


# -- Python ssl client → glasstls server ---------------------------------------------------


def _python_client_to_server(pki, suite, group, cert_type, *, client_curve=None):
    events = EventList()
    config = ServerConfig(
        certificates=(pki.certified_key(cert_type),),
        cipher_suites=(CipherSuite[suite],),
        groups=(NamedGroup[group],),
    )

    def handle(sock):
        tls = glasstls.accept(sock, config, observer=events)
        try:
            line = read_line(tls.recv)
            tls.sendall(line[::-1])
            closing = tls.recv()  # b"": the client's close_notify
            return tls.parameters, line, closing
        finally:
            tls.close()

    context = _tls13_context(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    context.load_verify_locations(cadata=pki.root_pem.decode())
    if client_curve is not False:
        context.set_ecdh_curve(client_curve or PY_CURVE[group])
    hellos = ServerHellos(context)
    line = f"python to glasstls {suite} {group}\n".encode()
    with ServerThread(handle) as server:
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            cipher, version = tls.cipher(), tls.version()
            peer = tls.getpeercert()
            tls.sendall(line)
            answer = read_line(tls.recv)
            tls.unwrap()  # send close_notify and wait for glasstls's
        params, received, closing = server.result()

    # Python's view
    assert version == "TLSv1.3" and cipher[0] == suite and cipher[1] == "TLSv1.3"
    assert dict(x[0] for x in peer["subject"]) == {"commonName": "localhost"}
    assert answer == line[::-1]
    # glasstls's view
    assert received == line and closing == b""
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.3", suite, group)
    assert params.signature_scheme == SCHEME_FOR_CERT[cert_type]
    return hellos, events


@pytest.mark.parametrize(("suite", "group", "cert_type"), CASES, ids=[case_id(c) for c in CASES])
def test_python_ssl_client_to_glasstls_server(pki, suite, group, cert_type):
    hellos, events = _python_client_to_server(pki, suite, group, cert_type)
    hellos.check(group)
    assert not hrr_seen(events, "out")


def test_python_ssl_client_to_glasstls_server_hello_retry(pki):
    """Python's default ClientHello shares only X25519; glasstls accepts only P-384 and asks again.

    RFC 8446, Section 4.1.4: the HelloRetryRequest names secp384r1, the second
    ClientHello carries a P-384 share, and the handshake completes on it.
    """
    hellos, events = _python_client_to_server(pki, "TLS_AES_128_GCM_SHA256", "secp384r1", "ed25519", client_curve=False)
    hellos.check("secp384r1", retry=True)
    assert hrr_seen(events, "out")


# -- glasstls client → Python ssl server ---------------------------------------------------


def _client_to_python_server(pki, suite, group, cert_type, *, offered=None, shares=None):
    files = pki.files[cert_type]
    context = _tls13_context(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.full_chain, files.key)  # leaf + intermediate
    context.set_ecdh_curve(PY_CURVE[group])
    hellos = ServerHellos(context)

    def handle(sock):
        with context.wrap_socket(sock, server_side=True) as tls:
            line = read_line(tls.recv)
            tls.sendall(line[::-1])
            closing = tls.recv(1024)  # b"": glasstls's close_notify
            return tls.cipher(), tls.version(), line, closing

    events = EventList()
    config = ClientConfig(
        trust_store=pki.trust_store(),
        cipher_suites=(CipherSuite[suite],),
        groups=[NamedGroup[g] for g in offered or (group,)],
        key_share_groups=[NamedGroup[g] for g in shares or (group,)],
    )
    line = f"glasstls to python {suite} {group}\n".encode()
    with ServerThread(handle) as server:
        with glasstls.connect(
            "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, observer=events
        ) as tls:
            params = tls.parameters
            tls.sendall(line)
            answer = read_line(tls.recv)
        cipher, version, received, closing = server.result()

    # glasstls's view
    assert params is not None
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.3", suite, group)
    assert params.signature_scheme == SCHEME_FOR_CERT[cert_type]
    assert params.peer_certificate_subject == "CN=localhost"
    assert answer == line[::-1]
    # Python's view
    assert version == "TLSv1.3" and cipher[0] == suite
    assert received == line and closing == b""
    return hellos, events


@pytest.mark.parametrize(("suite", "group", "cert_type"), CASES, ids=[case_id(c) for c in CASES])
def test_glasstls_client_to_python_ssl_server(pki, suite, group, cert_type):
    hellos, events = _client_to_python_server(pki, suite, group, cert_type)
    hellos.check(group)
    assert not hrr_seen(events, "in")


def test_glasstls_client_to_python_ssl_server_hello_retry(pki):
    """glasstls shares X25519 but also offers P-384, the only group the Python server takes: OpenSSL asks again."""
    hellos, events = _client_to_python_server(
        pki, "TLS_CHACHA20_POLY1305_SHA256", "secp384r1", "rsa2048",
        offered=("x25519", "secp384r1"), shares=("x25519",),
    )  # fmt: skip
    hellos.check("secp384r1", retry=True)
    assert hrr_seen(events, "in")
