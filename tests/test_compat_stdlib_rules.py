"""Rules of ``ssl.SSLContext`` that CPython's own test_ssl found glasstls.compat breaking (run
under inject_into_ssl): each assertion runs with the stdlib's context (OpenSSL) and with
glasstls's, in memory over MemoryBIOs against the stdlib's SSLObject (test_compat_bio.Pair)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from glasstls.compat import SSLContext as GlassContext
from glasstls.x509.mint import ThrowawayCA
from test_compat_bio import MAX_ROUNDS, Pair

KINDS = [GlassContext, ssl.SSLContext]
KIND_IDS = ["glasstls", "stdlib"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One root (RSA), a localhost chain with an ECDSA key and one with an RSA key, and a client chain."""
    ca = ThrowawayCA.create(with_intermediate=False)  # (a chain file is then the leaf alone)
    base = tmp_path_factory.mktemp("compat-rules")
    paths = {name: base / f"{name}.pem" for name in ("ca", "ec", "ec_key", "rsa", "rsa_key", "client", "client_key")}
    paths["ca"].write_bytes(ca.root_pem())
    ca.issue_server(["localhost"], key_type="ecdsa-p256").write(paths["ec"], paths["ec_key"])
    ca.issue_server(["localhost"], key_type="rsa2048").write(paths["rsa"], paths["rsa_key"])
    ca.issue_client("client").write(paths["client"], paths["client_key"])
    return paths


def _quiet(kind: type, *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return kind(*args)


def _client(files: dict[str, Path], version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3) -> ssl.SSLContext:
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(str(files["ca"]))
    client.maximum_version = version
    return client


def _run(pair: Pair) -> dict[str, BaseException]:
    """Drive both sides until each finished its handshake or failed; each side's error."""
    errors: dict[str, BaseException] = {}
    done: set[str] = set()
    for _ in range(MAX_ROUNDS):
        for name, obj in (("client", pair.client), ("server", pair.server)):
            if name not in errors and name not in done:
                try:
                    obj.do_handshake()
                    done.add(name)
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLError as exc:
                    errors[name] = exc
        pair.move()
        if len(done | set(errors)) == 2:
            break
    return errors


# -- 1. SSLContext() without a protocol --------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_no_protocol_is_protocol_tls_for_either_side(files: dict[str, Path], kind: type) -> None:
    """Python 3.10+: PROTOCOL_TLS with a DeprecationWarning, no verification, usable as a server."""
    with pytest.warns(DeprecationWarning, match="without protocol argument is deprecated"):
        server = kind()
    assert server.protocol == ssl.PROTOCOL_TLS
    assert (server.verify_mode, server.check_hostname) == (ssl.CERT_NONE, False)
    server.load_cert_chain(str(files["rsa"]), str(files["rsa_key"]))
    pair = Pair(_client(files), server)
    assert _run(pair) == {}
    assert pair.client.version() == "TLSv1.3"


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_deprecated_protocols_and_version_options_warn(kind: type) -> None:
    for protocol in (ssl.PROTOCOL_TLS, ssl.PROTOCOL_TLSv1_2):
        with pytest.warns(DeprecationWarning, match=f"ssl.{protocol.name} is deprecated"):
            kind(protocol)
    ctx = kind(ssl.PROTOCOL_TLS_CLIENT)
    with pytest.warns(DeprecationWarning, match="OP_NO_TLS"):
        ctx.options |= ssl.OP_NO_TLSv1_3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ctx.options |= ssl.OP_NO_TICKET  # only a newly set version option warns
        ctx.options |= ssl.OP_NO_TLSv1_3


# -- 2. a context for one side used for the other ------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_context_refuses_the_other_side(files: dict[str, Path], kind: type) -> None:
    """A server's context as a client's would verify nothing: refused at wrap time, as _ssl.c."""
    server = kind(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["rsa"]), str(files["rsa_key"]))
    with pytest.raises(ssl.SSLError, match="Cannot create a client socket with a PROTOCOL_TLS_SERVER context"):
        server.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="localhost")
    with pytest.raises(ssl.SSLError, match="Cannot create a server socket with a PROTOCOL_TLS_CLIENT context"):
        kind(ssl.PROTOCOL_TLS_CLIENT).wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)


# -- 3. VERIFY_CRL_CHECK_LEAF without a CRL -------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_crl_check_without_a_crl_fails_the_chain(files: dict[str, Path], kind: type) -> None:
    client = kind(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(str(files["ca"]))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["rsa"]), str(files["rsa_key"]))
    assert _run(Pair(client, server)) == {}  # (a config built already: the flag must still count)
    client.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    error = _run(Pair(client, server))["client"]
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert (error.verify_code, error.verify_message) == (3, "unable to get certificate CRL")


# -- 4. post-handshake authentication, CERT_OPTIONAL, no certificate ------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_optional_post_handshake_auth_without_a_certificate_goes_on(files: dict[str, Path], kind: type) -> None:
    server = kind(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["rsa"]), str(files["rsa_key"]))
    server.load_verify_locations(str(files["ca"]))
    server.verify_mode, server.post_handshake_auth = ssl.CERT_OPTIONAL, True
    client = _client(files)
    client.post_handshake_auth = True  # and no certificate loaded
    pair = Pair(client, server)
    assert _run(pair) == {}
    pair.server.verify_client_post_handshake()
    pair.server.write(b"asked")
    for _ in range(4):  # the request, the client's empty Certificate and Finished, the answer
        pair.move()
        for obj in (pair.client, pair.server):
            with contextlib.suppress(ssl.SSLWantReadError):
                obj.read(100)
        pair.client.write(b"x")
    pair.move()
    pair.server.write(b"still here")
    pair.move()
    assert pair.client.read(100) == b"still here"
    assert pair.server.getpeercert() is None


# -- 5. two chains, one per kind of key --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(("ciphers", "key"), [("ECDHE+ECDSA", "ec"), ("ECDHE+aRSA", "rsa")])
def test_an_ecdsa_and_an_rsa_chain_serve_each_client(files: dict[str, Path], kind: type, ciphers: str,
                                                     key: str) -> None:  # fmt: skip
    """load_cert_chain twice (ECDSA, then RSA): OpenSSL keeps both and serves what the client takes."""
    server = kind(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["ec"]), str(files["ec_key"]))
    server.load_cert_chain(str(files["rsa"]), str(files["rsa_key"]))
    client = _client(files, ssl.TLSVersion.TLSv1_2)
    client.set_ciphers(ciphers)
    pair = Pair(client, server)
    assert _run(pair) == {}
    served = x509.load_der_x509_certificate(pair.client.getpeercert(binary_form=True))
    assert served == x509.load_pem_x509_certificate(files[key].read_bytes())


# -- 6. unwrap() after the data that came after our close_notify was read -----------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_unwrap_after_reading_the_data_that_followed_our_close_notify(files: dict[str, Path], kind: type) -> None:
    """asyncio's sslproto: unwrap(), read what the peer still sent up to its close_notify, unwrap()
    again: OpenSSL completes the shutdown (the data was read, nothing is lost)."""
    server = kind(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["rsa"]), str(files["rsa_key"]))
    pair = Pair(_client(files), server)
    assert _run(pair) == {}
    pair.client.write(b"ping")
    pair.move()
    assert pair.server.read(4) == b"ping"
    with pytest.raises(ssl.SSLWantReadError):
        pair.server.unwrap()
    pair.client.write(b"x" * 1000)  # still sending: our close_notify is not there yet
    pair.move()
    assert pair.client.read(10) == b""  # the server's close_notify (after the session tickets)
    pair.client.unwrap()  # its close_notify in answer (both sent now: complete)
    pair.move()
    got = b""
    with pytest.raises(ssl.SSLZeroReturnError):
        for _ in range(5):
            got += pair.server.read(16384)
    assert got == b"x" * 1000
    assert pair.server.unwrap() is None


# -- 7. server_hostname values the stdlib refuses -------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(("name", "error"), [
    ("", ValueError), (b"", ValueError), (".example.org", UnicodeError), ("a" * 64 + ".example", UnicodeError),
    ("example.org\x00evil.com", TypeError), (b"example.org\x00evil.com", TypeError),
])  # fmt: skip
def test_bad_server_hostnames_refused(kind: type, name: str | bytes, error: type) -> None:
    ctx = kind(ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(error) as caught:
        ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname=name)
    assert type(caught.value) is error


# -- 8. the smaller ones ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_context_argument_checks(files: dict[str, Path], kind: type) -> None:
    server = kind(ssl.PROTOCOL_TLS_SERVER)
    server.num_tickets = 0
    assert server.num_tickets == 0
    with pytest.raises(ValueError):
        server.num_tickets = -1
    with pytest.raises(TypeError):
        server.num_tickets = None
    with pytest.raises(ValueError, match="not a server context"):
        kind(ssl.PROTOCOL_TLS_CLIENT).num_tickets = 1
    server.set_ecdh_curve("prime256v1")
    server.set_ecdh_curve(b"secp384r1")
    for bad, error in ((None, TypeError), ("foo", ValueError), (b"foo", ValueError), ("secp256r1", ValueError)):
        with pytest.raises(error):
            server.set_ecdh_curve(bad)
    with pytest.raises(TypeError):
        server.load_default_certs("x")
    server.load_verify_locations(cafile=str(files["ca"]).encode())  # a bytes path
    assert len(server.get_ca_certs()) == 1


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_msg_callback_stored(kind: type) -> None:
    ctx = kind(ssl.PROTOCOL_TLS_CLIENT)
    assert ctx._msg_callback is None

    def callback(*args: Any) -> None:
        return None

    ctx._msg_callback = callback
    assert ctx._msg_callback is callback
    with pytest.raises(TypeError):
        ctx._msg_callback = object()
    ctx._msg_callback = None
    assert ctx._msg_callback is None


def test_msg_callback_under_injection() -> None:
    """ssl.py's property calls super(SSLContext, SSLContext): rebound by inject_into_ssl to glasstls's
    class, it recursed without end."""
    import glasstls

    glasstls.inject_into_ssl()
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx._msg_callback = print
        assert ctx._msg_callback is print
    finally:
        glasstls.extract_from_ssl()


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_get_ca_certs_lists_what_openssl_takes_for_a_ca(files: dict[str, Path], kind: type) -> None:
    """A server's own certificate loaded to trust it is no CA to X509_check_ca: not listed, not counted."""
    ctx = kind(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(files["rsa"]))
    assert ctx.get_ca_certs() == []
    assert ctx.cert_store_stats() == {"x509": 1, "crl": 0, "x509_ca": 0}
    ctx.load_verify_locations(str(files["ca"]))
    assert [c["subject"] for c in ctx.get_ca_certs()] == [ssl._ssl._test_decode_cert(str(files["ca"]))["subject"]]
    assert ctx.cert_store_stats() == {"x509": 2, "crl": 0, "x509_ca": 1}


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("answer", ["raise", "wrong type"])
def test_sni_callback_failures_reach_the_unraisable_hook(files: dict[str, Path], kind: type, answer: str) -> None:
    server = kind(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["rsa"]), str(files["rsa_key"]))
    server.sni_callback = (lambda s, n, c: 1 / 0) if answer == "raise" else (lambda s, n, c: "foo")
    unraisable: list = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        errors = _run(Pair(_client(files), server))
    finally:
        sys.unraisablehook = hook
    expected = (ZeroDivisionError, "SSLV3_ALERT_HANDSHAKE_FAILURE")
    if answer == "wrong type":
        expected = (TypeError, "TLSV1_ALERT_INTERNAL_ERROR")
    assert [u.exc_type for u in unraisable] == [expected[0]]
    assert getattr(errors["client"], "reason", None) == expected[1]


# -- a socket wrapped before it is connected ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_handshake_on_an_unconnected_socket_is_enotconn(kind: type) -> None:
    import errno
    import socket

    context = kind(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    with context.wrap_socket(socket.socket()) as sock, pytest.raises(OSError) as raised:
        sock.do_handshake()
    assert raised.value.errno == errno.ENOTCONN and not isinstance(raised.value, ValueError)


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_session_of_another_context_is_refused_before_connecting(files: dict[str, Path], kind: type) -> None:
    """As CPython's test_session_handling: the stdlib refuses it in connect(), before any TCP
    connection (the SSL object is made first); glasstls when it is set."""
    import socket

    def client() -> Any:
        context = kind(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(str(files["ca"]))
        context.maximum_version = ssl.TLSVersion.TLSv1_2  # (a session at once, no ticket to wait for)
        return context

    server = kind(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["rsa"]), str(files["rsa_key"]))
    pair = Pair(client(), server)
    pair.handshake()
    session = pair.client.session
    assert session is not None
    refused = pytest.raises(ValueError, match="Session refers to a different SSLContext")
    with client().wrap_socket(socket.socket(), server_hostname="localhost") as sock, refused:
        sock.session = session
        sock.connect(("127.0.0.1", 9))


# -- the wrapped object's owner (test_ssl's test_bio_handshake) --------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_the_wrapped_object_names_its_owner(files: dict[str, Path], kind: type) -> None:
    """_ssl.c's ``owner``: the object that wraps a connection, the SSLObject of wrap_bio, and the
    SSLSocket of wrap_socket (whose sni_callback is given it too)."""
    context = kind(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(files["ca"]))
    sslobj = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), False, "localhost")
    assert sslobj._sslobj.owner is sslobj
    near, far = socket.socketpair()
    with near, far:
        sock = context.wrap_socket(near, server_hostname="localhost", do_handshake_on_connect=False)
        assert sock._sslobj.owner is sock


# -- TLS 1.3 suites in OpenSSL's order ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_tls13_suites_come_in_openssls_order(files: dict[str, Path], kind: type) -> None:
    """OpenSSL's TLS_DEFAULT_CIPHERSUITES order: get_ciphers() lists AES-256-GCM, ChaCha20-Poly1305,
    AES-128-GCM first, and a server (Python's contexts prefer the server's order) picks AES-256-GCM,
    so that tls-unique is 48 bytes (CPython's test_tls_unique_channel_binding)."""
    names = [c["name"] for c in kind(ssl.PROTOCOL_TLS_CLIENT).get_ciphers()]
    assert names[:3] == ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"]
    client = kind(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(str(files["ca"]))
    server = kind(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(files["ec"]), str(files["ec_key"]))
    pair = Pair(client, server)
    assert _run(pair) == {}
    assert pair.client.cipher()[0] == pair.server.cipher()[0] == "TLS_AES_256_GCM_SHA384"
