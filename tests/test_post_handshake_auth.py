"""TLS 1.3 post-handshake client authentication (RFC 8446, Sections 4.2.6 and 4.6.2),
both roles: in memory between glasstls peers (with the tamper hooks of pairs.py),
and against OpenSSL 3 (``s_client -enable_pha``; ``s_server``'s ``c`` command)."""

from __future__ import annotations

import contextlib
import functools
import queue
import re
import socket
import subprocess
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

import glasstls
from glasstls import (
    AlertReceived,
    ApplicationData,
    CertifiedKey,
    ClientAuthDeclined,
    ClientAuthenticated,
    ClientConfig,
    ConfigError,
    ConnectionClosed,
    NotNegotiatedError,
    PeerAlertError,
    ProtocolVersion,
    ServerConfig,
)
from glasstls.enums import AlertDescription, AlertLevel, ContentType, SignatureScheme
from glasstls.enums import ExtensionType as E
from glasstls.events import Event
from glasstls.observe import EventList, MessageTrace, StateTrace, VerificationTrace
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    Finished,
)
from glasstls.x509.mint import Identity, ThrowawayCA
from glasstls.x509.store import TrustStore
from pairs import Pair, connected_pair, flip, inject, once

WAIT = 10.0


# -- PKI and pairs --------------------------------------------------------------------------------


@functools.cache
def client_ca() -> ThrowawayCA:
    return ThrowawayCA.create("pha client root")


@functools.cache
def alice() -> Identity:
    return client_ca().issue_client("alice")


def alice_key() -> CertifiedKey:
    return CertifiedKey(alice().chain, alice().private_key)


def client_store() -> TrustStore:
    return TrustStore.from_pem(client_ca().root_pem())


def pha_pair(*, certificate: bool = True, client_kw: dict | None = None, server_kw: dict | None = None, **kw) -> Pair:
    """A connected TLS 1.3 pair; the client holds alice's certificate (and so offers
    post_handshake_auth), the server trusts alice's CA but asked nothing in the handshake."""
    ckw = {"tls_min": ProtocolVersion.TLSv1_3} | ({"certificate": alice_key()} if certificate else {})
    skw = {"client_trust_store": client_store()}
    return connected_pair(client_kw=ckw | (client_kw or {}), server_kw=skw | (server_kw or {}), **kw)


def exchange(pair: Pair, tag: bytes) -> None:
    """Application data both ways; each side receives exactly what the other sent."""
    pair.client.send(b"c:" + tag)
    pair.server.send(b"s:" + tag)
    assert data_of(pair.to_server()) == b"c:" + tag
    assert data_of(pair.to_client()) == b"s:" + tag


def data_of(events: list[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, ApplicationData))


def of_type(events: list[Any], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def closed_with(events: list[Event]) -> Any:
    (closed,) = of_type(events, ConnectionClosed)
    return closed.error


def messages(log: EventList, direction: str) -> list[Any]:
    return [e.message for e in log.events if isinstance(e, MessageTrace) and e.direction == direction]


# -- success -------------------------------------------------------------------------------------


def test_client_offers_post_handshake_auth_when_it_has_a_certificate() -> None:
    def offered(**kw: Any) -> bool:
        pair = pha_pair(**kw)
        hello = pair.client.offered_hello
        assert isinstance(hello, ClientHello)
        return hello.ext(E.post_handshake_auth) is not None

    assert offered()
    assert not offered(certificate=False)
    assert offered(certificate=False, client_kw={"post_handshake_auth": True})
    assert not offered(client_kw={"post_handshake_auth": False})


def test_post_handshake_auth_succeeds_and_data_flows_around_it() -> None:
    client_log, server_log = EventList(), EventList()
    # An uncompressed answer, whose context is checked below (compressed: test_certcompress_handshake.py).
    plain = {"certificate_compression": ()}
    pair = pha_pair(client_observer=client_log, server_observer=server_log, client_kw=plain)
    before = pair.server.parameters
    assert before.client_auth is False and before.peer_certificates == ()
    exchange(pair, b"before")

    context = pair.server.request_client_certificate()
    assert len(context) == 32
    # Data sent by both sides while the request is in flight, in both orders.
    pair.server.send(b"s:while")
    pair.client.send(b"c:while")
    client_events = pair.to_client()
    assert data_of(client_events) == b"s:while"
    server_events = pair.to_server()
    assert data_of(server_events) == b"c:while"

    (event,) = of_type(server_events, ClientAuthenticated)
    assert event.certificate_request_context == context
    assert event.peer_certificate_subject == "CN=alice"
    assert [e for e in server_events if not isinstance(e, ApplicationData)] == [event]
    after = pair.server.parameters
    assert after.client_auth is True and after.peer_certificate_subject == "CN=alice"
    assert after.peer_certificates == event.peer_certificates
    assert (after.version, after.cipher_suite, after.group) == (before.version, before.cipher_suite, before.group)
    exchange(pair, b"after")
    assert not pair.client.closed and not pair.server.closed

    # The request carries the handshake request's extensions, with the fresh context.
    (request,) = [m for m in messages(server_log, "out") if isinstance(m, CertificateRequest)]
    assert request.certificate_request_context == context
    assert request.ext(E.signature_algorithms) is not None
    assert request.ext(E.certificate_authorities).value == (client_ca().root_cert.subject.public_bytes(),)
    assert [type(m) for m in messages(client_log, "in")][-1] is CertificateRequest
    answer = messages(client_log, "out")[-3:]
    assert [type(m) for m in answer] == [Certificate, CertificateVerify, Finished]
    assert answer[0].certificate_request_context == context
    # The server's sub-states are declared and traced.
    states = [(e.old, e.new) for e in server_log.events if isinstance(e, StateTrace)][-3:]
    assert states == [
        ("ServerConnected13", "ExpectPostHandshakeCertificateVerify"),
        ("ExpectPostHandshakeCertificateVerify", "ExpectPostHandshakeFinished"),
        ("ExpectPostHandshakeFinished", "ServerConnected13"),
    ]
    checks = [e.subject for e in server_log.events if isinstance(e, VerificationTrace) and e.ok]
    assert checks[-3:] == ["CN=alice", "client CertificateVerify (post-handshake)", "client Finished (post-handshake)"]


@pytest.mark.parametrize("size", [11, 20000])  # one record (send's bulk lane), and more than one
def test_data_sent_after_the_answer_follows_it(size: int) -> None:
    """The client reads the request (its answer is queued), then sends data: the data went out first,
    sealed at once while the answer waited for data_to_send, so the server took data the client sent
    after authenticating for data sent before it."""
    pair = pha_pair()
    pair.server.request_client_certificate()
    pair.to_client()
    pair.client.send(b"a" * size)
    server_events = pair.to_server()
    kinds = [type(e) for e in server_events]
    assert kinds.index(ClientAuthenticated) < kinds.index(ApplicationData), kinds
    assert data_of(server_events) == b"a" * size


def test_after_handshake_client_auth_a_second_authentication_works() -> None:
    """Client auth in the handshake (empty context) and then after it (a fresh one)."""
    pair = pha_pair(server_kw={"client_auth": "optional"})
    assert pair.server.parameters.peer_certificate_subject == "CN=alice"
    pair.server.request_client_certificate()
    pair.to_client()
    assert of_type(pair.to_server(), ClientAuthenticated)


def test_the_current_client_traffic_secret_keys_the_finished() -> None:
    """The client moves its keys on before it answers: its Finished is keyed by
    client_application_traffic_secret_1, and the server follows (RFC 8446, Section 4.4)."""
    pair = pha_pair()
    pair.server.request_client_certificate()
    pair.client.update_keys(request_peer=False)
    pair.to_client()
    events = pair.to_server()
    assert of_type(events, ClientAuthenticated), events
    exchange(pair, b"after")


def test_server_sends_updates_keys_and_asks_again_between_the_clients_messages() -> None:
    """In ExpectPostHandshakeFinished the connection is up: the server may send, move its
    write keys on and make another request; the held Finished then completes the first."""
    held: list[bytes] = []

    def hold(msg: Any) -> bytes:
        held.append(msg.raw)
        return b""

    server_log = EventList()
    pair = pha_pair(client_alter=once(Finished, hold, nth=1), server_observer=server_log)
    first = pair.server.request_client_certificate()
    pair.to_client()
    assert pair.to_server() == [] and pair.server.state_name == "ExpectPostHandshakeFinished"
    pair.server.send(b"meanwhile")
    pair.server.update_keys(request_peer=False)
    second = pair.server.request_client_certificate()
    assert data_of(pair.to_client()) == b"meanwhile"
    pair.client._hs_out.insert(0, held[0])  # the first answer's Finished, then the second answer
    events = of_type(pair.to_server(), ClientAuthenticated)
    assert [e.certificate_request_context for e in events] == [first, second]
    assert pair.server.state_name == "ServerConnected13"
    exchange(pair, b"after")


# -- declining, and the server's required / optional -----------------------------------------------


def test_client_without_certificate_gets_certificate_required() -> None:
    client_log = EventList()
    pair = pha_pair(certificate=False, client_kw={"post_handshake_auth": True}, client_observer=client_log)
    exchange(pair, b"before")
    pair.server.request_client_certificate()
    assert pair.to_client() == []
    answer = messages(client_log, "out")[-2:]
    assert [type(m) for m in answer] == [Certificate, Finished] and answer[0].entries == ()

    server_events = pair.to_server()
    err = closed_with(server_events)
    assert err.description == AlertDescription.certificate_required
    assert "requires one" in err.reason
    assert pair.server.closed
    # On the wire: the client reads the server's fatal alert.
    client_events = pair.to_client()
    assert AlertReceived(AlertLevel.fatal, AlertDescription.certificate_required) in client_events
    peer_err = closed_with(client_events)
    assert isinstance(peer_err, PeerAlertError) and peer_err.description == AlertDescription.certificate_required
    assert pair.client.closed


def test_optional_request_answered_empty_is_declined() -> None:
    pair = pha_pair(certificate=False, client_kw={"post_handshake_auth": True})
    context = pair.server.request_client_certificate(required=False)
    pair.to_client()
    events = pair.to_server()
    assert events == [ClientAuthDeclined(context)]
    assert pair.server.parameters.client_auth is False and pair.server.parameters.peer_certificates == ()
    exchange(pair, b"after")


def test_client_whose_certificate_fits_no_requested_scheme_answers_empty() -> None:
    bob = client_ca().issue_client("bob", key_type="ed25519")
    pair = pha_pair(
        client_kw={"certificate": CertifiedKey(bob.chain, bob.private_key)},
        server_kw={"signature_schemes": (SignatureScheme.ecdsa_secp256r1_sha256,)},
    )
    pair.server.request_client_certificate()
    pair.to_client()
    err = closed_with(pair.to_server())
    assert err.description == AlertDescription.certificate_required


def test_untrusted_client_certificate_is_refused() -> None:
    stranger = ThrowawayCA.create("pha stranger root").issue_client("mallory")
    pair = pha_pair(certificate=False, client_kw={"certificate": CertifiedKey(stranger.chain, stranger.private_key)})
    pair.server.request_client_certificate()
    pair.to_client()
    err = closed_with(pair.to_server())
    assert err.description == AlertDescription.unknown_ca
    assert closed_with(pair.to_client()).description == AlertDescription.unknown_ca


# -- tampering ---------------------------------------------------------------------------------------


def _last_byte_flipped(msg: Any) -> bytes:
    return flip(msg.raw, len(msg.raw) - 1)


def test_tampered_certificate_verify_is_decrypt_error() -> None:
    # The client signs nothing in the handshake: its first CertificateVerify is the post-handshake one.
    pair = pha_pair(client_alter=once(CertificateVerify, _last_byte_flipped))
    pair.server.request_client_certificate()
    pair.to_client()
    err = closed_with(pair.to_server())
    assert err.description == AlertDescription.decrypt_error
    assert "CertificateVerify" in err.reason
    assert closed_with(pair.to_client()).description == AlertDescription.decrypt_error
    assert pair.server.parameters.client_auth is False


def test_tampered_finished_is_decrypt_error() -> None:
    # Finished #0 ends the handshake; #1 is the post-handshake one.
    pair = pha_pair(client_alter=once(Finished, _last_byte_flipped, nth=1))
    pair.server.request_client_certificate()
    pair.to_client()
    err = closed_with(pair.to_server())
    assert err.description == AlertDescription.decrypt_error
    assert "Finished" in err.reason
    assert closed_with(pair.to_client()).description == AlertDescription.decrypt_error
    assert pair.server.parameters.client_auth is False


def test_certificate_for_no_outstanding_request_is_refused() -> None:
    pair = pha_pair()
    inject(pair.client, Certificate(certificate_request_context=b"\x01" * 32, entries=()))
    assert closed_with(pair.to_server()).description == AlertDescription.unexpected_message

    pair = pha_pair()
    pair.server.request_client_certificate()
    pair.server.data_to_send()  # the request is lost: the client answers a context of its own
    inject(pair.client, Certificate(certificate_request_context=b"\x02" * 32, entries=()))
    err = closed_with(pair.to_server())
    assert err.description == AlertDescription.illegal_parameter and "no outstanding" in err.reason


# -- who may ask ---------------------------------------------------------------------------------------


def test_request_without_the_extension_raises() -> None:
    pair = pha_pair(client_kw={"post_handshake_auth": False})
    with pytest.raises(NotNegotiatedError, match="post_handshake_auth"):
        pair.server.request_client_certificate()
    assert pair.server.data_to_send() == b""  # nothing was queued, and the connection goes on
    exchange(pair, b"still")


def test_request_needs_an_established_tls13_connection_and_a_client_ca_store() -> None:
    pair12 = pha_pair(client_kw={"tls_min": ProtocolVersion.TLSv1_2, "tls_max": ProtocolVersion.TLSv1_2})
    with pytest.raises(NotNegotiatedError, match=r"TLS 1\.3"):
        pair12.server.request_client_certificate()
    fresh = glasstls.ServerConnection(pha_pair().server_config)
    with pytest.raises(NotNegotiatedError):
        fresh.request_client_certificate()
    no_store = pha_pair(server_kw={"client_trust_store": None})
    with pytest.raises(ConfigError, match="client CA store"):
        no_store.server.request_client_certificate()


def _request(context: bytes) -> CertificateRequest:
    schemes = Extension.make(E.signature_algorithms, (SignatureScheme.ecdsa_secp256r1_sha256,), X.CR)
    return CertificateRequest(certificate_request_context=context, extensions=(schemes,))


def test_unexpected_certificate_request_to_a_client_that_did_not_offer() -> None:
    pair = pha_pair(certificate=False)
    assert pair.client.offered_hello.ext(E.post_handshake_auth) is None
    inject(pair.server, _request(b"\x07" * 32))  # a server breaking RFC 8446, Section 4.2.6
    err = closed_with(pair.to_client())
    assert err.description == AlertDescription.unexpected_message
    assert "post_handshake_auth" in err.reason
    peer = closed_with(pair.to_server())
    assert isinstance(peer, PeerAlertError) and peer.description == AlertDescription.unexpected_message


def test_client_refuses_an_empty_request_context() -> None:
    pair = pha_pair()
    inject(pair.server, _request(b""))
    err = closed_with(pair.to_client())
    assert err.description == AlertDescription.illegal_parameter and "empty" in err.reason


def test_client_refuses_a_repeated_request_context() -> None:
    pair = pha_pair()
    context = pair.server.request_client_certificate()
    pair.to_client()
    assert of_type(pair.to_server(), ClientAuthenticated)
    inject(pair.server, _request(context))  # a replay of the same context
    err = closed_with(pair.to_client())
    assert err.description == AlertDescription.illegal_parameter and "repeats" in err.reason


def test_client_refuses_a_request_carrying_a_recognized_extension_it_may_not_carry() -> None:
    # RFC 8446, Section 4.2: supported_versions is not a CertificateRequest's (illegal_parameter, as OpenSSL).
    pair = pha_pair()
    request = _request(b"\x09" * 32)
    misplaced = Extension(E.supported_versions, b"\x03\x04")
    inject(pair.server, CertificateRequest(request.certificate_request_context, (*request.extensions, misplaced)))
    err = closed_with(pair.to_client())
    assert err.description == AlertDescription.illegal_parameter and "carries supported_versions" in err.reason


def test_server_refuses_an_answer_whose_certificate_entry_carries_an_extension() -> None:
    # RFC 8446, Section 4.4.2: the client's CertificateEntry extensions answer the request's, and it
    # asked for none (as in the handshake: test_bad_input). Ignored before.
    def with_entry_extension(msg: Any) -> bytes:
        entry = CertificateEntry(msg.entries[0].cert_data, (Extension(E(0x7F), b"\x00"),))
        return replace(msg, entries=(entry, *msg.entries[1:])).encode()

    pair = pha_pair(client_kw={"certificate_compression": ()}, client_alter=once(Certificate, with_entry_extension))
    pair.server.request_client_certificate()
    pair.to_client()
    err = closed_with(pair.to_server())
    assert err.description == AlertDescription.unsupported_extension and "post-handshake" in err.reason


@pytest.mark.parametrize("between", [1, 2], ids=["after-certificate", "after-certificate-verify"])
def test_server_refuses_application_data_inside_the_clients_answer(between: int) -> None:
    """RFC 8446, Section 4.6.2: the client's Certificate, CertificateVerify and Finished come
    consecutively, no record of another type between them (OpenSSL: unexpected_message). The
    answer is sealed here a message per record, an application data record among them; the data
    was delivered and the answer accepted (found by a helper's review)."""
    answer: list[bytes] = []
    capturing = [False]
    pair = pha_pair(client_alter=lambda msg: answer.append(msg.raw) if capturing[0] else None)
    capturing[0] = True
    pair.server.request_client_certificate()
    pair.to_client()
    pair.client.data_to_send()  # the answer in one record: sealed again below, a message per record
    write = pair.client._records.write
    write.seq -= 1
    sealed = [write.seal(ContentType.handshake, raw) for raw in answer[:between]]
    sealed.append(write.seal(ContentType.application_data, b"between"))
    sealed += [write.seal(ContentType.handshake, raw) for raw in answer[between:]]
    events = pair.server.receive_bytes(b"".join(sealed))
    assert not any(isinstance(e, ApplicationData) for e in events)
    err = closed_with(events)
    assert err.description == AlertDescription.unexpected_message and "consecutively" in err.reason


# -- several requests ------------------------------------------------------------------------------------


def test_two_outstanding_requests_answered_in_order() -> None:
    pair = pha_pair()
    first = pair.server.request_client_certificate()
    second = pair.server.request_client_certificate()
    assert first != second
    pair.server.send(b"both asked")
    assert data_of(pair.to_client()) == b"both asked"
    events = of_type(pair.to_server(), ClientAuthenticated)
    assert [e.certificate_request_context for e in events] == [first, second]
    exchange(pair, b"after")


def test_two_outstanding_requests_answered_out_of_order() -> None:
    """RFC 8446, Section 4.6.2: a client may answer in another order; the context tells them apart."""
    held: list[bytes] = []
    holding = [False]

    def hold_first_answer(msg: Any) -> bytes | None:
        if isinstance(msg, Certificate) and msg.certificate_request_context == contexts[0]:
            holding[0] = True
        if holding[0]:
            held.append(msg.raw)
            holding[0] = not isinstance(msg, Finished)
            return b""
        return None

    pair = pha_pair(client_alter=hold_first_answer, client_kw={"certificate_compression": ()})  # contexts in sight
    contexts = [pair.server.request_client_certificate(), pair.server.request_client_certificate()]
    pair.to_client()
    assert len(held) == 3
    events = of_type(pair.to_server(), ClientAuthenticated)
    assert [e.certificate_request_context for e in events] == [contexts[1]]
    pair.client._hs_out.extend(held)  # the first answer, late
    events = of_type(pair.to_server(), ClientAuthenticated)
    assert [e.certificate_request_context for e in events] == [contexts[0]]
    exchange(pair, b"after")


# -- against OpenSSL ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Any:
    d = tmp_path_factory.mktemp("pha")
    server_ca = ThrowawayCA.create("pha server root")
    server = server_ca.issue_server(["localhost", "127.0.0.1"])
    server.write(d / "server.pem", d / "server.key")
    alice().write(d / "client.pem", d / "client.key")
    (d / "server-ca.pem").write_bytes(server_ca.root_pem())
    (d / "client-ca.pem").write_bytes(client_ca().root_pem())
    return {"dir": d, "server": CertifiedKey(server.chain, server.private_key), "server_ca": server_ca}


class _Lines:
    """A process's merged output, read line by line in a thread, waited on with a bound."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        for line in self.lines:
            if m := re.search(pattern, line):
                return m
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if m := re.search(pattern, line):
                return m
        raise AssertionError(f"no {pattern!r} in the output:\n{''.join(self.lines)}")

    def drain(self, timeout: float = WAIT) -> str:
        """Everything up to the end of the output (the process has exited or was killed)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)
                break
            self.lines.append(line)
        return self.text

    @property
    def text(self) -> str:
        return "".join(self.lines)


def _popen(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(timeout=WAIT)


def _read_line(tls: glasstls.TLSSocket) -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        chunk = tls.recv(1)
        if not chunk:
            break
        line += chunk
    return line


def _s_client_to_glasstls_server(files: Any, client_args: list[str], required: bool) -> tuple[dict[str, Any], str]:
    """``s_client -enable_pha`` (plus ``client_args``) against a glasstls server thread
    that reads a line, asks for a certificate, reads a second line and says who it got."""
    d = files["dir"]
    config = ServerConfig(certificates=(files["server"],), client_trust_store=client_store())
    result: dict[str, Any] = {}
    requested = threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(WAIT)
        port = listener.getsockname()[1]

        def serve() -> None:
            try:
                sock, _ = listener.accept()
                sock.settimeout(WAIT)
                with glasstls.accept(sock, config) as tls:
                    result["before"] = tls.parameters
                    result["first"] = _read_line(tls)
                    result["chain"] = tls.request_client_certificate(required=required)
                    requested.set()
                    result["second"] = _read_line(tls)
                    result["after"] = tls.parameters
                    tls.sendall(f"authenticated {result['after'].peer_certificate_subject}\n".encode())
                    result["events"] = list(tls.events)
            except BaseException as exc:  # handed to the test
                result["error"] = exc
            finally:
                requested.set()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        command = ["openssl", "s_client", "-tls1_3", "-enable_pha", "-connect", f"127.0.0.1:{port}"]
        command += ["-servername", "localhost", "-CAfile", str(d / "server-ca.pem"), "-ign_eof", *client_args]
        proc = _popen(command)
        out = _Lines(proc)
        try:
            out.wait_for(r"Verify return code: 0")
            assert proc.stdin is not None
            proc.stdin.write("first line\n")
            proc.stdin.flush()
            assert requested.wait(WAIT)
            if "error" not in result:
                proc.stdin.write("second line\n")
                proc.stdin.flush()
                out.wait_for(r"authenticated ")
            thread.join(WAIT)
            if "error" in result:  # s_client reports the alert and exits
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=WAIT)
        finally:
            _stop(proc)
    return result, out.drain()


@pytest.mark.interop
def test_openssl_s_client_answers_glasstls_server_request(files: Any) -> None:
    """``s_client -enable_pha`` offers post_handshake_auth; the glasstls server asks
    after the handshake and gets alice's verified certificate."""
    d = files["dir"]
    cert = ["-cert", str(d / "client.pem"), "-cert_chain", str(d / "client.pem"), "-key", str(d / "client.key")]
    result, output = _s_client_to_glasstls_server(files, cert, required=True)
    assert "error" not in result, result.get("error")
    assert "authenticated CN=alice" in output
    assert result["before"].client_auth is False
    assert (result["first"], result["second"]) == (b"first line\n", b"second line\n")
    assert result["chain"][0].subject.rfc4514_string() == "CN=alice"
    assert result["after"].client_auth is True and result["after"].peer_certificate_subject == "CN=alice"
    assert any(isinstance(e, ClientAuthenticated) for e in result["events"])


@pytest.mark.interop
def test_openssl_s_client_without_certificate_gets_certificate_required(files: Any) -> None:
    result, output = _s_client_to_glasstls_server(files, [], required=True)
    err = result["error"]
    assert isinstance(err, glasstls.AlertError) and err.description == AlertDescription.certificate_required
    assert "certificate required" in output, output


def _s_server(files: Any) -> tuple[subprocess.Popen[str], _Lines, int]:
    d = files["dir"]
    proc = _popen(
        [
            "openssl",
            "s_server",
            "-tls1_3",
            "-accept",
            "127.0.0.1:0",
            "-naccept",
            "1",
            "-cert",
            str(d / "server.pem"),
            "-cert_chain",
            str(d / "server.pem"),
            "-key",
            str(d / "server.key"),
            "-CAfile",
            str(d / "client-ca.pem"),
            "-verify_return_error",
        ]
    )
    out = _Lines(proc)
    try:
        port = int(out.wait_for(r"ACCEPT .*:(\d+)").group(1))
    except BaseException:
        _stop(proc)
        raise
    return proc, out, port


def _ask_with_c(
    proc: subprocess.Popen[str], out: _Lines, tls: glasstls.TLSSocket, log: EventList, then: str | None
) -> bytes:
    """Type ``c`` into s_server, then the line ``then`` once the request reached the client;
    return what the client reads (reading is what makes it see and answer the request)."""
    out.wait_for(r"CIPHER is")
    lines: queue.Queue[bytes | BaseException] = queue.Queue()

    def read() -> None:
        try:
            lines.put(_read_line(tls))
        except BaseException as exc:
            lines.put(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert proc.stdin is not None
    proc.stdin.write("c\n")
    proc.stdin.flush()
    # s_server drops whatever follows "c" in the same read: wait until the request arrived.
    deadline = time.monotonic() + WAIT
    while not any(isinstance(m, CertificateRequest) for m in messages(log, "in")):
        assert time.monotonic() < deadline, "no CertificateRequest from s_server"
        time.sleep(0.05)
    if then is not None:
        proc.stdin.write(then)
        proc.stdin.flush()
    line = lines.get(timeout=WAIT)
    reader.join(WAIT)
    if isinstance(line, BaseException):
        raise line
    return line


@pytest.mark.interop
def test_glasstls_client_answers_openssl_s_server_request(files: Any) -> None:
    """``s_server``'s ``c`` command sends a CertificateRequest after the handshake to a
    client that offered post_handshake_auth; the glasstls client answers and s_server
    verifies alice's chain against its CA file (``-verify_return_error``)."""
    proc, out, port = _s_server(files)
    log = EventList()
    try:
        config = ClientConfig(trust_store=TrustStore.from_pem(files["server_ca"].root_pem()), certificate=alice_key())
        with glasstls.connect("127.0.0.1", port, config, server_name="localhost", timeout=WAIT, observer=log) as tls:
            assert tls.parameters.client_auth is False  # s_server asked nothing in the handshake
            assert _ask_with_c(proc, out, tls, log, then="after the request\n") == b"after the request\n"
            tls.sendall(b"from alice\n")
            out.wait_for(r"from alice")
        out.wait_for(r"depth=0 CN = alice")
        assert not re.search(r"verify error|alert", out.text, re.IGNORECASE), out.text
    finally:
        _stop(proc)
    received = [type(m).__name__ for m in messages(log, "in")]
    sent = [type(m).__name__ for m in messages(log, "out")]
    assert "CertificateRequest" in received
    assert sent[-3:] == ["Certificate", "CertificateVerify", "Finished"]


@pytest.mark.interop
def test_openssl_s_server_refuses_an_untrusted_post_handshake_certificate(files: Any) -> None:
    stranger = ThrowawayCA.create("pha stranger root").issue_client("mallory")
    proc, out, port = _s_server(files)
    log = EventList()
    try:
        config = ClientConfig(
            trust_store=TrustStore.from_pem(files["server_ca"].root_pem()),
            certificate=CertifiedKey(stranger.chain, stranger.private_key),
        )
        with (
            glasstls.connect("127.0.0.1", port, config, server_name="localhost", timeout=WAIT, observer=log) as tls,
            pytest.raises(PeerAlertError) as caught,
        ):
            _ask_with_c(proc, out, tls, log, then=None)  # reads until s_server's alert
        assert caught.value.description == AlertDescription.unknown_ca
        out.wait_for(r"verify error")
    finally:
        _stop(proc)


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x00\x00\x00",  # a well-formed empty Certificate (context, no entries)
        b"\x00\x00\x00\x05",  # a certificate_list length running past the message
        b"",  # no body at all
    ],
)
def test_a_client_certificate_nobody_asked_for_is_unexpected_however_formed(body: bytes) -> None:
    """After the handshake, with no CertificateRequest outstanding, a client Certificate is
    unexpected_message (as OpenSSL answers it), not a decode_error of its body."""
    pair = pha_pair()
    raw = bytes([11]) + len(body).to_bytes(3, "big") + body
    pair.client._records.send(glasstls.enums.ContentType.handshake, raw)
    events = pair.to_server()
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed and closed[0].error.description == AlertDescription.unexpected_message, events
