"""TLS 1.2 interop with Python's own ``ssl`` module (OpenSSL underneath), both directions.

Python is held to TLS 1.2 with ``maximum_version = TLSVersion.TLSv1_2`` and to one
suite with ``set_ciphers`` (OpenSSL's suite names; in TLS 1.2 they do choose the
suite). A few suites per direction cover the key exchanges and record protections:
ECDHE with ECDSA, Ed25519 and RSA keys, DHE over ffdhe2048 (a Python server given
the RFC 7919 group with ``load_dh_params``), RSA key transport, and CBC with
encrypt-then-MAC.

Python reports the suite with ``sslsock.cipher()`` (``('ECDHE-RSA-AES128-GCM-SHA256',
'TLSv1.2', 128)``; its second field is the version that defined the suite, ``TLSv1.0``
for ``ECDHE-ECDSA-AES128-SHA``) and the connection's version with ``version()``. It has no API for the extended
master secret or encrypt-then-MAC, so the ServerHello its OpenSSL sent or received is
also decoded (``SSLServerHelloRecorder``): the suite's code point, and the
extended_master_secret (23) and encrypt_then_mac (22) extensions.
"""

from __future__ import annotations

import socket
import ssl

import pytest
from interop_peers import (
    OPENSSL_TLS12_NAMES,
    SCHEME_FOR_CERT,
    TLS12_GROUP,
    WAIT,
    ServerThread,
    SSLServerHelloRecorder,
    glasstls_line_server,
    read_line,
    reverse_line,
    traced_server_hello,
)

import glasstls
from glasstls import CipherSuite, ClientConfig, ProtocolVersion, ServerConfig
from glasstls.crypto.suites import DEFAULT_TLS12_SUITES, TLS12_SUITES
from glasstls.enums import ExtensionType
from glasstls.observe import EventList

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

# (suite, server key): Python pins the suite; glasstls offers its defaults, or the legacy suite by name.
PYTHON_CLIENT_CASES = [
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ecdsa-p256"),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "rsa2048"),
    ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "rsa2048"),
    ("TLS_RSA_WITH_AES_256_CBC_SHA256", "rsa2048"),
]
PYTHON_SERVER_CASES = [
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "rsa2048"),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ed25519"),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ecdsa-p256"),
    ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "rsa2048"),
]


def _ids(cases):
    return [f"{suite.removeprefix('TLS_')}-{cert}" for suite, cert in cases]


def _glasstls_suites(suite: str) -> tuple[CipherSuite, ...]:
    """The defaults when they hold the suite (glasstls's ordinary configuration); else the suite by name."""
    return DEFAULT_TLS12_SUITES if CipherSuite[suite] in DEFAULT_TLS12_SUITES else (CipherSuite[suite],)


def _tls12_context(purpose: int, suite: str) -> ssl.SSLContext:
    context = ssl.SSLContext(purpose)
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(OPENSSL_TLS12_NAMES[suite])
    return context


def _check(params, events, cipher, version, recorder, suite, cert_type) -> None:
    """Both views: glasstls's parameters and ServerHello, Python's cipher() and version(), OpenSSL's ServerHello."""
    s = TLS12_SUITES[CipherSuite[suite]]
    # glasstls
    assert params is not None
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.2", suite, TLS12_GROUP[s.kx])
    assert params.signature_scheme == (None if s.kx == "RSA" else SCHEME_FOR_CERT[cert_type])
    assert params.extended_master_secret is True
    assert (traced_server_hello(events).ext(ExtensionType.encrypt_then_mac) is not None) == (not s.aead)
    # Python (cipher()[1] is the version that defined the suite, "TLSv1.0" for the SHA-1 CBC ones)
    assert version == "TLSv1.2" and cipher[0] == OPENSSL_TLS12_NAMES[suite]
    if recorder.available:
        (hello,) = recorder.hellos
        assert hello.cipher_suite == CipherSuite[suite]
        assert 23 in hello.extensions  # extended_master_secret (RFC 7627)
        assert (22 in hello.extensions) == (not s.aead)  # encrypt_then_mac (RFC 7366)


# -- Python ssl client → glasstls server -----------------------------------------------------------


@pytest.mark.parametrize(("suite", "cert_type"), PYTHON_CLIENT_CASES, ids=_ids(PYTHON_CLIENT_CASES))
def test_python_ssl_client_to_glasstls_server_tls12(pki, suite, cert_type):
    events = EventList()
    config = ServerConfig(certificates=(pki.certified_key(cert_type),), cipher_suites=_glasstls_suites(suite))
    context = _tls12_context(ssl.PROTOCOL_TLS_CLIENT, suite)  # verifies the chain and the host name
    context.load_verify_locations(cadata=pki.root_pem.decode())
    recorder = SSLServerHelloRecorder(context)
    line = f"python to glasstls {suite}\n".encode()
    with ServerThread(glasstls_line_server(config, events, wait_for_close=True)) as server:
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            cipher, version = tls.cipher(), tls.version()
            peer = tls.getpeercert()
            tls.sendall(line)
            answer = read_line(tls.recv)
            tls.unwrap()  # send close_notify and wait for glasstls's
        params, received = server.result()

    _check(params, events, cipher, version, recorder, suite, cert_type)
    assert dict(x[0] for x in peer["subject"]) == {"commonName": "localhost"}
    assert received == line and answer == reverse_line(line)


# -- glasstls client → Python ssl server -----------------------------------------------------------


@pytest.mark.parametrize(("suite", "cert_type"), PYTHON_SERVER_CASES, ids=_ids(PYTHON_SERVER_CASES))
def test_glasstls_client_to_python_ssl_server_tls12(pki, ffdhe2048, suite, cert_type):
    files = pki.files[cert_type]
    context = _tls12_context(ssl.PROTOCOL_TLS_SERVER, suite)
    context.load_cert_chain(files.full_chain, files.key)
    context.load_dh_params(str(ffdhe2048))  # RFC 7919 ffdhe2048 for DHE; OpenSSL's own group otherwise
    recorder = SSLServerHelloRecorder(context)

    def handle(sock):
        with context.wrap_socket(sock, server_side=True) as tls:
            line = read_line(tls.recv)
            tls.sendall(reverse_line(line))
            closing = tls.recv(1024)  # b"": glasstls's close_notify
            return tls.cipher(), tls.version(), line, closing

    events = EventList()
    config = ClientConfig(
        trust_store=pki.trust_store(), tls_max=ProtocolVersion.TLSv1_2, cipher_suites=_glasstls_suites(suite)
    )
    line = f"glasstls to python {suite}\n".encode()
    with ServerThread(handle) as server:
        with glasstls.connect(
            "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, observer=events
        ) as tls:
            params = tls.parameters
            tls.sendall(line)
            answer = read_line(tls.recv)
        cipher, version, received, closing = server.result()

    _check(params, events, cipher, version, recorder, suite, cert_type)
    assert params.peer_certificate_subject == "CN=localhost"
    assert answer == reverse_line(line)
    assert received == line and closing == b""
