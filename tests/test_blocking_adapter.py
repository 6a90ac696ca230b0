"""The blocking adapter (``glasstls.connect``) against servers that stall it, flood it or cut it short.

Each server is a real socket on 127.0.0.1 played by a thread: some speak TLS through
glasstls' own ServerConnection and then misbehave, some only send crafted records.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import time
from collections.abc import Callable

import pytest

import glasstls
from glasstls.enums import AlertDescription, AlertLevel, ContentType
from glasstls.errors import AlertError, ConnectionClosedError, DeadlineError, NotNegotiatedError, TruncatedError
from glasstls.io.closing import close_gently
from pairs import inject_warning
from serving_helpers import GLASSTLS, PKI, make_pki, raw_server

pytestmark = pytest.mark.timeout(60)
CCS = b"\x14\x03\x03\x00\x01\x01"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("blocking"))


def connect(pki: PKI, port: int, timeout: float = 10, **kw: object) -> glasstls.TLSSocket:
    return glasstls.connect("127.0.0.1", port, pki.client_config(), server_name="localhost", timeout=timeout, **kw)


# -- deadlines ------------------------------------------------------------------------------------


def test_connect_deadline_holds_against_a_change_cipher_spec_trickle(pki: PKI) -> None:
    def trickle(sock: socket.socket) -> None:
        sock.recv(1 << 16)  # the ClientHello
        for _ in range(40):  # one CCS every 0.25 s: each read returns quickly, the handshake never ends
            sock.sendall(CCS)
            time.sleep(0.25)

    with raw_server(trickle) as port:
        started = time.monotonic()
        with pytest.raises((DeadlineError, AlertError)) as info:
            connect(pki, port, timeout=1.5)
        elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed
    # A plaintext CCS before the ServerHello is refused at once, or the deadline ends the wait.
    assert "change_cipher_spec" in str(info.value) or "deadline timeout" in str(info.value)


def test_connect_deadline_holds_against_a_byte_trickle(pki: PKI) -> None:
    def trickle(sock: socket.socket) -> None:
        sock.recv(1 << 16)
        # A ServerHello record header claiming 100 bytes, then one byte every 0.2 s.
        sock.sendall(b"\x16\x03\x03\x00\x64")
        for _ in range(100):
            sock.sendall(b"\x02")
            time.sleep(0.2)

    with raw_server(trickle) as port:
        started = time.monotonic()
        with pytest.raises(DeadlineError, match=r"did not complete within 1\.5 s"):
            connect(pki, port, timeout=1.5)
        assert time.monotonic() - started < 2.5


def test_recv_deadline_holds_after_the_handshake(pki: PKI) -> None:
    def established_then_warnings(sock: socket.socket) -> None:
        tls = glasstls.accept(sock, pki.server_config(tls_max=glasstls.ProtocolVersion.TLSv1_2), timeout=10)
        for _ in range(20):  # a legal warning every 0.2 s; the reader never gets data
            inject_warning(tls.conn, AlertDescription.no_renegotiation)
            tls.sock.sendall(tls.conn.data_to_send())
            time.sleep(0.2)

    with raw_server(established_then_warnings) as port:
        tls = connect(pki, port, timeout=1.0)
        started = time.monotonic()
        with pytest.raises((DeadlineError, AlertError)):
            tls.recv()
        assert time.monotonic() - started < 2.0
        tls.close()


def test_a_send_cut_at_its_deadline_leaves_no_later_send_to_pass_as_delivered(pki: PKI) -> None:
    """sendall() that misses its deadline stops inside a record, and how much of it went out is unknown:
    whatever is sent after it lands inside that record's claimed body and is never read. Later sends (and
    close's close_notify) went out as if delivered; now they refuse, as OpenSSL refuses a write after an
    unfinished one."""

    def reads_nothing(sock: socket.socket) -> None:
        glasstls.accept(sock, pki.server_config(), timeout=10)
        time.sleep(4)  # its receive buffer fills; the client's send waits

    with raw_server(reads_nothing) as port:
        tls = connect(pki, port, timeout=1.0)
        with pytest.raises(DeadlineError, match=r"sending did not complete within 1 s"):
            tls.sendall(b"x" * (32 << 20))
        with pytest.raises(ConnectionClosedError, match=r"sending stopped at its deadline in the middle of a record"):
            tls.sendall(b"after")
        tls.close()  # (no close_notify into a cut record: closed as it is)


# -- floods ------------------------------------------------------------------------------------------


def test_a_flood_of_warnings_ends_the_handshake_at_once(pki: PKI) -> None:
    flood = bytes((ContentType.alert, 3, 3, 0, 2, AlertLevel.warning, AlertDescription.user_canceled)) * 4096

    def flooding(sock: socket.socket) -> None:
        sock.recv(1 << 16)
        for _ in range(1500):  # 40 MB, unless the client hangs up first
            sock.sendall(flood)

    with raw_server(flooding) as port:
        started = time.monotonic()
        with pytest.raises(AlertError, match=r"Limits\.max_warning_alerts") as info:
            connect(pki, port)
        assert info.value.description == AlertDescription.unexpected_message
        assert time.monotonic() - started < 3


def test_post_handshake_events_are_not_kept_forever(pki: PKI) -> None:
    def warner(sock: socket.socket) -> None:
        tls = glasstls.accept(sock, pki.server_config(tls_max=glasstls.ProtocolVersion.TLSv1_2), timeout=10)
        for i in range(300):
            inject_warning(tls.conn, AlertDescription.no_renegotiation)
            tls.sendall(b"%d," % i)
        tls.close()

    with raw_server(warner) as port:
        seen = []
        tls = connect(pki, port, on_event=seen.append)
        data = tls.recv_all()
        tls.close()
    assert data.endswith(b"299,")
    assert len(seen) >= 300  # every event was delivered …
    assert len(tls.events) <= 64  # … and only the most recent are kept


# -- truncation ----------------------------------------------------------------------------------------


def cut_after(pki: PKI, payload: bytes, reset: bool):
    def script(sock: socket.socket) -> None:
        tls = glasstls.accept(sock, pki.server_config(), timeout=10)
        tls.sendall(payload)
        if reset:  # SO_LINGER 0: close() sends RST
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        time.sleep(0.2)
        sock.close()  # no close_notify

    return script


@pytest.mark.parametrize("reset", [False, True], ids=["FIN", "RST"])
def test_a_stream_cut_without_close_notify_is_an_error_after_the_data(pki: PKI, reset: bool) -> None:
    body = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHALF"
    with raw_server(cut_after(pki, body, reset)) as port:
        tls = connect(pki, port)
        assert tls.recv() == body  # what arrived is delivered first
        with pytest.raises(TruncatedError) as info:
            tls.recv()
        tls.close()
    assert info.value.received == len(body)
    assert "without close_notify" in str(info.value) and f"after {len(body)} bytes" in str(info.value)


def test_a_stream_cut_before_any_data_is_still_an_error_but_says_nothing_was_cut(pki: PKI) -> None:
    """A probe that hangs up after the handshake (a scanner's, a browser's preconnect): still no clean end,
    but the message no longer speaks of data that may be truncated when none arrived."""
    with raw_server(cut_after(pki, b"", False)) as port:
        tls = connect(pki, port)
        with pytest.raises(TruncatedError) as info:
            tls.recv()
        tls.close()
    assert info.value.received == 0
    assert str(info.value) == "the peer closed the connection without close_notify (FIN) before any application data"


def test_recv_all_raises_on_truncation_and_allows_it_when_asked(pki: PKI) -> None:
    with raw_server(cut_after(pki, b"HALF", False)) as port:
        tls = connect(pki, port)
        with pytest.raises(TruncatedError):
            tls.recv_all()
        tls.close()
    with raw_server(cut_after(pki, b"HALF", False)) as port:
        tls = connect(pki, port)
        assert tls.recv_all(allow_truncation=True) == b"HALF"
        tls.close()
    with raw_server(cut_after(pki, b"HALF", False)) as port:
        tls = connect(pki, port, allow_truncation=True)
        assert tls.recv_all() == b"HALF"
        tls.close()


def test_close_notify_is_a_clean_end(pki: PKI) -> None:
    def polite(sock: socket.socket) -> None:
        tls = glasstls.accept(sock, pki.server_config(), timeout=10)
        tls.sendall(b"WHOLE")
        tls.close()

    with raw_server(polite) as port:
        tls = connect(pki, port)
        assert tls.recv_all() == b"WHOLE"
        tls.close()


def test_cli_client_exit_status_on_truncation(pki: PKI) -> None:
    argv = [*GLASSTLS, "client", "--cacert", str(pki.ca_pem), "--servername", "localhost", "--linger", "3"]
    with raw_server(cut_after(pki, b"HALF", False)) as port:
        res = subprocess.run([*argv, f"127.0.0.1:{port}"], input=b"", capture_output=True, timeout=30)
    assert res.returncode == 1, res.stderr
    assert res.stdout == b"HALF"
    assert b"without close_notify" in res.stderr and b"after 4 bytes" in res.stderr
    with raw_server(cut_after(pki, b"HALF", False)) as port:
        res = subprocess.run([*argv, "--allow-truncation", f"127.0.0.1:{port}"], capture_output=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"HALF"


def test_cli_client_linger_runs_from_the_last_data_not_the_last_byte(pki: PKI) -> None:
    """--linger 1 after stdin ends: a server that drips a record a byte every 0.2 s sends bytes but no
    data, and held the client for the whole drip (an idle timer the drip kept resetting)."""

    def drip(sock: socket.socket) -> None:
        tls = glasstls.accept(sock, pki.server_config(), timeout=10)
        tls.sendall(b"hello")
        tls.conn.send(b"x" * 100)
        record = tls.conn.data_to_send()
        with contextlib.suppress(OSError):
            for byte in record:  # 20 s of drip, if nobody stops listening
                sock.sendall(bytes([byte]))
                time.sleep(0.2)

    argv = [*GLASSTLS, "client", "--cacert", str(pki.ca_pem), "--servername", "localhost", "--linger", "1"]
    with raw_server(drip) as port:
        started = time.monotonic()
        res = subprocess.run([*argv, f"127.0.0.1:{port}"], input=b"", capture_output=True, timeout=30)
        took = time.monotonic() - started
    assert res.stdout == b"hello", res.stderr
    assert took < 6, took


# -- TLS 1.2 -----------------------------------------------------------------------------------------------


def test_tls12_update_keys_is_a_clear_error_on_a_real_connection(pki: PKI) -> None:
    def echo12(sock: socket.socket) -> None:
        tls = glasstls.accept(sock, pki.server_config(tls_max=glasstls.ProtocolVersion.TLSv1_2), timeout=10)
        while data := tls.recv():
            tls.sendall(data)
        tls.close()

    with raw_server(echo12) as port:
        tls = connect(pki, port)
        with pytest.raises(NotNegotiatedError, match=r"only in TLS 1\.3; this connection is TLSv1\.2"):
            tls.conn.update_keys()
        tls.sendall(b"still here")
        assert tls.recv() == b"still here"
        tls.close()


# -- closing ----------------------------------------------------------------------------------------


def test_a_refusing_client_closes_with_a_fin_so_its_alert_arrives(pki: PKI) -> None:
    # A server sends a record no client takes, and far more than one read behind it. The client
    # refuses with an alert and closes; had it closed with that data unread, the kernel would
    # reset the connection, and a reset may destroy the alert before the server reads it.
    seen: dict[str, object] = {}

    def script(sock: socket.socket) -> None:
        sock.recv(1 << 16)  # the ClientHello
        bogus = b"\x16\x03\x03\x00\x04\x63\x00\x00\x00"  # a handshake message of unknown type 0x63
        sock.sendall(bogus + b"\x17\x03\x03\x40\x00" + bytes(1 << 14) * 5)
        time.sleep(0.5)  # the client's refusal and close, with its gentle drain, happen meanwhile
        got = b""
        try:
            while chunk := sock.recv(1 << 16):
                got += chunk
            seen["end"] = "FIN"
        except ConnectionResetError:
            seen["end"] = "reset"
        seen["data"] = got

    with raw_server(script) as port:
        with pytest.raises(AlertError) as info:
            connect(pki, port, timeout=5)
        deadline = time.monotonic() + 5
        while "end" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
    assert info.value.description == AlertDescription.unexpected_message
    assert seen.get("end") == "FIN", seen.get("end")
    assert seen["data"] == bytes((ContentType.alert, 3, 3, 0, 2, AlertLevel.fatal, AlertDescription.unexpected_message))


def test_close_gently_ends_with_a_fin_even_with_unread_data() -> None:
    # What the blocking adapter, the CLI client and the asyncio transport close with: data the
    # peer sent and nobody read would make a plain close() a reset.
    def ending(gentle: bool) -> str:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            peer = socket.create_connection(listener.getsockname(), timeout=5)
            ours, _ = listener.accept()
            with peer:
                peer.sendall(bytes(100_000))
                time.sleep(0.2)  # arrived, unread
                ours.sendall(b"last words")
                close_gently(ours) if gentle else ours.close()
                got = b""
                try:
                    while chunk := peer.recv(1 << 16):
                        got += chunk
                except ConnectionResetError:
                    return "reset"
                assert got == b"last words"
                return "FIN"

    assert ending(gentle=True) == "FIN"
    assert ending(gentle=False) == "reset"  # (what close_gently is for)


def test_one_thread_sends_while_another_receives_key_updates(pki: PKI) -> None:
    """A TLSSocket used as a plain socket is, one thread in sendall() and one in recv(), while the peer
    sends KeyUpdate(update_requested) every few milliseconds (RFC 8446, Section 4.6.3: our KeyUpdate is
    the last record under the old key). The reader's answer went out between, or inside, the writer's
    sealed records, and the peer failed the first KeyUpdate with bad_record_mac."""
    import select
    import threading

    from glasstls import ApplicationData, ClientConnection, ConnectionClosed

    listener = socket.create_server(("127.0.0.1", 0))
    port, stop, errors = listener.getsockname()[1], threading.Event(), []
    pattern = bytes(range(256)) * 12  # 3 KiB a write: the peer checks every byte, in order

    def serve() -> None:
        sock, _ = listener.accept()
        tls = glasstls.accept(sock, pki.server_config(), timeout=10)

        def write() -> None:
            with contextlib.suppress(OSError):  # (the peer closes at the end)
                while not stop.is_set():
                    tls.sendall(pattern)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            while tls.recv(1 << 16):
                pass
        except (OSError, glasstls.errors.TLSError) as exc:
            errors.append(exc)
        stop.set()
        writer.join(10)
        close_gently(sock)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    with listener, socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        conn = ClientConnection(pki.client_config(), server_name="localhost")
        while not conn.handshake_complete:
            sock.sendall(conn.data_to_send())
            conn.receive_bytes(sock.recv(1 << 16))
        received, updates, ended = bytearray(), 0, time.monotonic() + 1.5
        while time.monotonic() < ended:
            conn.update_keys(request_peer=True)
            conn.send(b"x")  # (a byte between KeyUpdates: a stream of them alone is refused past a bound)
            updates += 1
            sock.sendall(conn.data_to_send())
            next_update = time.monotonic() + 0.003
            while time.monotonic() < next_update and select.select([sock], [], [], 0.003)[0]:
                for event in conn.receive_bytes(sock.recv(1 << 16)):
                    assert not isinstance(event, ConnectionClosed), event.error
                    if isinstance(event, ApplicationData):
                        received += event.data
        stop.set()
        conn.close()
        sock.sendall(conn.data_to_send())
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(1 << 16):  # what the writer still sends, to the server's FIN (a close with
            pass  # unread data would be a reset, which can overtake our close_notify at the server)
    server.join(10)
    whole = len(received) // len(pattern) * len(pattern)
    assert updates > 50 and whole > 10 * len(pattern), (updates, len(received))
    assert bytes(received[:whole]) == pattern * (whole // len(pattern))
    assert errors == [], errors


def test_recv_sizes_and_send_answer_as_a_socket_does(pki: PKI) -> None:
    """recv(-1) is a ValueError and recv(0) reads nothing, as ssl's are (a negative size corrupted the
    stream: recv(-1) gave all but the last byte, then b"" as if at the end); send() returns the count."""

    def answer(sock: socket.socket) -> None:
        tls = glasstls.accept(sock, pki.server_config(), timeout=10)
        tls.sendall(tls.recv(100))
        tls.close()

    with raw_server(answer) as port:
        tls = connect(pki, port)
        assert tls.send(bytearray(b"0123456789")) == 10
        with pytest.raises(ValueError, match="recv size should not be negative, not -1"):
            tls.recv(-1)
        assert tls.recv(0) == b""
        assert tls.recv_all() == b"0123456789"
        tls.close()


def test_a_failed_accept_closes_the_socket(pki: PKI) -> None:
    """As ssl's wrap_socket(server_side=True): the socket was left open, its descriptor held until the
    garbage collector found it (with a ResourceWarning)."""
    server, client = socket.socketpair()
    with client:
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not TLS
        with pytest.raises(glasstls.errors.TLSError):
            glasstls.accept(server, pki.server_config(), timeout=5)
        assert server.fileno() == -1


def _update_keys_then_half_close(pki: PKI, serve: Callable[[socket.socket], None]) -> glasstls.TLSSocket:
    """The client of the two tests below: 100 bytes, a KeyUpdate, 50 bytes, close_notify, the answer."""
    with raw_server(serve) as port:
        tls = connect(pki, port)
        tls.sendall(b"x" * 100)
        tls.update_keys()
        tls.sendall(b"y" * 50)
        tls.shutdown_write()
        assert tls.recv_all() == b"got 150 bytes"
        tls.close()
    return tls


def test_update_keys_and_a_half_close_from_the_blocking_api(pki: PKI) -> None:
    """TLSSocket.update_keys() sends its KeyUpdate at once (it waited for the next sendall, or a recv
    that read something), and shutdown_write() sends close_notify while the peer may still answer
    (RFC 8446, Section 6.1): close() closed the TCP connection too."""
    seen: list[object] = []

    def count_then_answer(sock: socket.socket) -> None:
        tls = glasstls.accept(sock, pki.server_config(), timeout=10, on_event=seen.append)
        received = tls.recv_all()  # to the client's close_notify, KeyUpdate and data read on the way
        tls.sendall(b"got %d bytes" % len(received))
        tls.close()

    _update_keys_then_half_close(pki, count_then_answer)
    updates = [e for e in seen if isinstance(e, glasstls.KeyUpdated)]
    assert [(u.direction, u.requested_by_peer) for u in updates] == [("read", False), ("write", True)]


def test_update_keys_and_a_half_close_against_pythons_ssl(pki: PKI) -> None:
    """The same against OpenSSL (Python's ssl as the server): it takes the KeyUpdate between two writes
    (its later records are read under the new keys) and answers after our close_notify, which its
    recv() reports as the end of our data."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(str(pki.cert), str(pki.key))

    def count_then_answer(sock: socket.socket) -> None:
        with context.wrap_socket(sock, server_side=True) as tls:
            received = b""
            while chunk := tls.recv(65536):  # b"" at our close_notify
                received += chunk
            tls.sendall(b"got %d bytes" % len(received))
            tls.unwrap()

    tls = _update_keys_then_half_close(pki, count_then_answer)
    # OpenSSL answered update_requested with a KeyUpdate of its own (RFC 8446, Section 4.6.3): it read ours.
    assert glasstls.KeyUpdated("read", requested_by_peer=False) in tls.events
