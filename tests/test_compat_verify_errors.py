"""The details of glasstls.compat's errors and name checks, held against the stdlib's: each test
runs with ``ssl.SSLContext`` and ``glasstls.compat.SSLContext`` (``kind``) and expects the same
verify_code, verify_message, reason and library, against a real peer on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest

from compat_peers import (
    CONTEXTS,
    WAIT,
    Pki,
    client_context,
    connect,
    issue,
    name,
    server_context,
    tls_server,
    verify_failure,
)  # fmt: skip

pytestmark = pytest.mark.timeout(60)
# OpenSSL 3 writes "self-signed" (1.1.1 "self signed"): what the local stdlib prints is the reference.
SELF_SIGNED = "self-signed certificate" if ssl.OPENSSL_VERSION_INFO >= (3,) else "self signed certificate"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("compat-verify"))


@pytest.fixture(params=list(CONTEXTS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def failure_against(pki: Pki, kind: str, chain: tuple[Path, Path], host: str = "localhost") -> Any:
    with tls_server(server_context(*chain), lambda tls: None) as server:
        return verify_failure(client_context(kind, pki.root_file), server.port, host)


def test_an_untrusted_self_signed_leaf_is_18(pki: Pki, kind: str) -> None:
    leaf = issue(name("localhost"), hosts=["localhost"])
    caught = failure_against(pki, kind, pki.server_files("self-signed", leaf))
    assert (caught.verify_code, caught.verify_message) == (18, SELF_SIGNED)
    assert (caught.reason, caught.library) == ("CERTIFICATE_VERIFY_FAILED", "SSL")


def test_an_untrusted_self_signed_root_in_the_chain_is_19(pki: Pki, kind: str) -> None:
    other_root = issue(name("another root"), ca=True)
    leaf = issue(name("localhost"), other_root, hosts=["localhost"])
    caught = failure_against(pki, kind, pki.server_files("other-root", leaf, other_root))
    assert (caught.verify_code, caught.verify_message) == (19, f"{SELF_SIGNED} in certificate chain")


def test_an_unknown_issuer_is_20(pki: Pki, kind: str) -> None:
    other_root = issue(name("another root"), ca=True)
    leaf = issue(name("localhost"), other_root, hosts=["localhost"])
    caught = failure_against(pki, kind, pki.server_files("unknown-issuer", leaf))
    assert (caught.verify_code, caught.verify_message) == (20, "unable to get local issuer certificate")


def test_an_ip_address_mismatch_is_64_and_a_name_mismatch_62(pki: Pki, kind: str) -> None:
    files = pki.server_files("names", issue(name("localhost"), pki.root, hosts=["other.example", "127.0.0.2"]))
    by_ip = failure_against(pki, kind, files, "127.0.0.1")
    assert (by_ip.verify_code, by_ip.verify_message) == (
        64, "IP address mismatch, certificate is not valid for '127.0.0.1'.",
    )  # fmt: skip
    by_v6 = failure_against(pki, kind, files, "::1")  # (as written, not as OpenSSL prints addresses)
    assert (by_v6.verify_code, by_v6.verify_message) == (64, "IP address mismatch, certificate is not valid for '::1'.")
    by_name = failure_against(pki, kind, files, "LocalHost")
    assert (by_name.verify_code, by_name.verify_message) == (
        62, "Hostname mismatch, certificate is not valid for 'LocalHost'.",
    )  # fmt: skip


def test_an_ip_with_leading_zeros_is_an_ip_as_openssl_reads_it(pki: Pki, kind: str) -> None:
    """OpenSSL's a2i_IPADDRESS reads "127.000.000.001" as 127.0.0.1 (Python's ipaddress refuses it):
    matched against the IP entry, and sent no SNI."""
    seen: list[Any] = []
    context = server_context(*pki.server_files("ip", issue(name("x"), pki.root, hosts=["127.0.0.1"])))
    context.sni_callback = lambda sock, server_name, ctx: seen.append(server_name)
    with tls_server(context, lambda tls: None) as server:
        connect(client_context(kind, pki.root_file), server.port, "127.000.000.001").close()
        server.result()
    assert seen == [None]


def test_a_ca_issued_leaf_alone_is_no_anchor_without_partial_chain(pki: Pki, kind: str) -> None:
    """OpenSSL (stdlib 3.11's default flags) wants a chain to end at a self-signed anchor: the
    server's own certificate loaded as the only CA fails with 20 unless VERIFY_X509_PARTIAL_CHAIN."""
    leaf = issue(name("localhost"), pki.root, hosts=["localhost"])
    files = pki.server_files("pinned", leaf)
    with tls_server(server_context(*files), lambda tls: tls.version(), connections=2) as server:
        context = client_context(kind, files[0])
        caught = verify_failure(context, server.port)
        assert (caught.verify_code, caught.verify_message) == (20, "unable to get local issuer certificate")
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        connect(context, server.port).close()
        assert server.result()[1] == "TLSv1.3"


def test_a_self_signed_leaf_loaded_as_ca_is_trusted(pki: Pki, kind: str) -> None:
    leaf = issue(name("localhost"), hosts=["localhost"])
    files = pki.server_files("self-trusted", leaf)
    with tls_server(server_context(*files), lambda tls: tls.version()) as server:
        connect(client_context(kind, files[0]), server.port).close()
        assert server.result() == ["TLSv1.3"]


def test_a_dotted_hostname_is_sent_and_checked_as_given(pki: Pki, kind: str) -> None:
    """ "localhost." : OpenSSL matches it against the certificate as written (no entry ends with a
    dot: 62) and sends it as SNI with the dot; glasstls, following RFC 6066 (Section 3: no
    trailing dot in a HostName), strips it for both and connects (a difference it keeps)."""
    files = pki.server_files("dotted", issue(name("localhost"), pki.root, hosts=["localhost"]))
    seen: list[Any] = []
    context = server_context(*files)
    context.sni_callback = lambda sock, server_name, ctx: seen.append(server_name)
    with tls_server(context, lambda tls: None) as server:
        try:
            connect(client_context(kind, pki.root_file), server.port, "localhost.").close()
            outcome: Any = "connected"
        except ssl.SSLCertVerificationError as exc:
            outcome = exc.verify_code
        server.result()
    assert (outcome, seen) == ((62, ["localhost."]) if kind == "stdlib" else ("connected", ["localhost"]))


# -- a peer that does not speak TLS; load_cert_chain -----------------------------------------------


def plain_server(answer: bytes) -> tuple[socket.socket, threading.Thread]:
    """A TCP server that reads the ClientHello and answers ``answer`` (an HTTP server's reply)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(WAIT)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(WAIT)
            conn.recv(4096)
            conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_an_http_answer_is_wrong_version_number(pki: Pki, kind: str) -> None:
    listener, thread = plain_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    with listener, pytest.raises(ssl.SSLError) as caught:
        connect(client_context(kind, pki.root_file), listener.getsockname()[1]).close()
    thread.join(WAIT)
    assert type(caught.value) is ssl.SSLError
    assert (caught.value.reason, caught.value.library) == ("WRONG_VERSION_NUMBER", "SSL")
    assert str(caught.value).startswith("[SSL: WRONG_VERSION_NUMBER] wrong version number (")
    if kind == "glasstls":  # OpenSSL's words, then glasstls's diagnosis (the README promises it)
        assert "the peer is not speaking TLS: it sent plain text 'HTTP/'" in str(caught.value), str(caught.value)


def test_an_http_request_to_a_server_is_http_request(pki: Pki, kind: str) -> None:
    files = pki.server_files("http", issue(name("localhost"), pki.root, hosts=["localhost"]))
    with tls_server(server_context(*files, kind=kind), lambda tls: None) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            with contextlib.suppress(OSError):  # (the server closes, maybe with our request unread: a reset)
                plain.recv(100)
        [caught] = server.result()
    assert isinstance(caught, ssl.SSLError) and (caught.reason, caught.library) == ("HTTP_REQUEST", "SSL")


def test_a_key_that_is_not_the_certificates_is_key_values_mismatch(pki: Pki, kind: str) -> None:
    chain, _ = pki.server_files("mismatch", issue(name("localhost"), pki.root, hosts=["localhost"]))
    _, other_key = pki.server_files("mismatch-other", issue(name("other"), pki.root))
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(ssl.SSLError) as caught:
        context.load_cert_chain(str(chain), str(other_key))
    assert (caught.value.reason, caught.value.library, caught.value.errno) == ("KEY_VALUES_MISMATCH", "X509", 116)


# -- wrap-time checks ----------------------------------------------------------------------------------


def test_wrap_socket_refusals_as_the_stdlib(kind: str) -> None:
    client, server = CONTEXTS[kind](ssl.PROTOCOL_TLS_CLIENT), CONTEXTS[kind](ssl.PROTOCOL_TLS_SERVER)
    cases = [
        (server, {"server_side": True, "server_hostname": "x"}, "server_hostname can only be specified in client mode"),
        (server, {"server_side": True, "session": object()}, "session can only be specified in client mode"),
        (client, {}, "check_hostname requires server_hostname"),
    ]
    for context, kwargs, message in cases:
        with socket.socket() as sock, pytest.raises(ValueError, match=message):
            context.wrap_socket(sock, **kwargs)


def test_wrap_bio_without_a_hostname_checks_the_chain_but_no_name(pki: Pki, kind: str) -> None:
    """The stdlib's wrap_bio takes no server_hostname with check_hostname on, and OpenSSL, given no
    name, checks none: the chain of a certificate for another name passes; an untrusted one not."""
    files = pki.server_files("no-name", issue(name("other"), pki.root, hosts=["other.example"]))
    context = client_context(kind, pki.root_file)
    assert context.check_hostname
    assert bio_handshake(context, server_context(*files)) == "TLSv1.3"
    untrusted = pki.server_files("no-name-untrusted", issue(name("other"), hosts=["other.example"]))
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        bio_handshake(context, server_context(*untrusted))
    assert caught.value.verify_code == 18


def bio_handshake(client_ctx: Any, server_ctx: Any) -> str:
    """A handshake between a client SSLObject (no server_hostname) and a stdlib one, in memory."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (client, server):
            with contextlib.suppress(ssl.SSLWantReadError):  # (until the other side's flight is in)
                side.do_handshake()
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    return str(client.version())


def test_hostname_checks_common_name_reads_as_the_stdlib(kind: str) -> None:
    """Read back as the stdlib's (True); glasstls never falls back to the CN whatever its value."""
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_CLIENT)
    assert context.hostname_checks_common_name is True
    context.hostname_checks_common_name = False
    assert context.hostname_checks_common_name is False


def test_an_untrusted_issuer_is_told_in_ssls_terms(pki: Pki) -> None:
    """What to change, said as an ssl user sets it (cafile, load_verify_locations), not as the
    glasstls config field behind it."""
    other_root = issue(name("another root"), ca=True)
    leaf = issue(name("localhost"), other_root, hosts=["localhost"])
    caught = failure_against(pki, "glasstls", pki.server_files("untrusted-terms", leaf))
    assert str(caught).startswith("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local")
    assert "load_verify_locations(cafile=" in str(caught) and "ClientConfig" not in str(caught)


def test_an_eof_without_close_notify_reads_as_the_stdlibs(pki: Pki, kind: str) -> None:
    """SSLEOFError (suppress_ragged_eofs=False): str(), strerror and args as _ssl.c's over OpenSSL 3,
    but for the source line _ssl.c adds ("(_ssl.c:NNNN)")."""
    leaf = issue(name("localhost"), pki.root, hosts=["localhost"])

    def cut(tls: Any) -> None:
        tls.sendall(b"last")
        socket.socket.shutdown(tls, socket.SHUT_RDWR)  # TCP ends, no close_notify

    with tls_server(server_context(*pki.server_files("eof", leaf)), cut) as server:
        with connect(client_context(kind, pki.root_file), server.port, suppress_ragged_eofs=False) as tls:
            assert tls.recv(4) == b"last"
            with pytest.raises(ssl.SSLEOFError) as caught:
                tls.recv(4)
        server.result()
    text = "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol"
    assert str(caught.value).startswith(text) and caught.value.strerror.startswith(text)
    assert caught.value.args[0] == 8 and type(caught.value.args[0]) is int
    assert (caught.value.reason, caught.value.library) == ("UNEXPECTED_EOF_WHILE_READING", "SSL")


def test_an_alert_error_reads_as_openssl_says_it_then_as_glasstls_explains_it() -> None:
    """Programs match on OpenSSL's words ("tlsv1 alert unknown ca", "no shared cipher"): they come
    first, after the reason code as the stdlib shows it; glasstls's own account follows in brackets."""
    from glasstls.compat.errors import to_ssl_error
    from glasstls.enums import AlertDescription as Alerts
    from glasstls.errors import AlertError as Refused
    from glasstls.errors import PeerAlertError

    received = to_ssl_error(PeerAlertError(Alerts.unknown_ca, "waiting for ServerHello"))
    assert str(received).startswith("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (peer sent alert unknown_ca")
    refused = to_ssl_error(Refused(Alerts.handshake_failure, "no common cipher suite"))
    assert str(refused).startswith("[SSL: NO_SHARED_CIPHER] no shared cipher (no common cipher suite")
    assert received.reason == "TLSV1_ALERT_UNKNOWN_CA" and refused.reason == "NO_SHARED_CIPHER"
