"""In-memory client/server pairs: the behaviour of the sans-I/O Connection."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from glasstls import (
    AlertReceived,
    ApplicationData,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    HandshakeComplete,
    KeyUpdated,
    NamedGroup,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
)
from glasstls.crypto.rand import ReplayRandomness
from glasstls.enums import AlertDescription, AlertLevel, ContentType
from glasstls.errors import ConnectionClosedError, PeerAlertError
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore


@pytest.fixture(scope="module")
def ca() -> ThrowawayCA:
    return ThrowawayCA.create()


@pytest.fixture(scope="module")
def server_key(ca: ThrowawayCA) -> CertifiedKey:
    ident = ca.issue_server(["localhost"])
    return CertifiedKey(ident.chain, ident.private_key)


def configs(ca: ThrowawayCA, key: CertifiedKey, client: dict | None = None, server: dict | None = None):
    cc = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()), **(client or {}))
    sc = ServerConfig(certificates=(key,), **(server or {}))
    return cc, sc


def pump(c: ClientConnection, s: ServerConnection, rounds: int = 10) -> tuple[list, list]:
    """Move bytes both ways until both are quiet; returns (client events, server events)."""
    c_events: list = []
    s_events: list = []
    for _ in range(rounds):
        to_server, to_client = c.data_to_send(), b""
        if to_server:
            s_events += s.receive_bytes(to_server)
        to_client = s.data_to_send()
        if to_client:
            c_events += c.receive_bytes(to_client)
        if not to_server and not to_client:
            break
    return c_events, s_events


def handshake(cc: ClientConfig, sc: ServerConfig, **kw) -> tuple[ClientConnection, ServerConnection, list, list]:
    c = ClientConnection(cc, server_name="localhost", **kw.get("client_kw", {}))
    s = ServerConnection(sc, **kw.get("server_kw", {}))
    ce, se = pump(c, s)
    assert any(isinstance(e, HandshakeComplete) for e in ce), ce
    assert any(isinstance(e, HandshakeComplete) for e in se), se
    return c, s, ce, se


def data_of(events: list) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, ApplicationData))


def test_full_handshake_parameters_both_sides(ca, server_key) -> None:
    cc, sc = configs(ca, server_key, {"alpn": ("h2", "http/1.1")}, {"alpn": ("http/1.1",)})
    c, s, _ce, _se = handshake(cc, sc)
    cp, sp = c.parameters, s.parameters
    for p in (cp, sp):
        assert (p.version, p.cipher_suite, p.group, p.alpn) == (
            "TLSv1.3",
            "TLS_AES_128_GCM_SHA256",
            "X25519MLKEM768",  # the default: the hybrid post-quantum group first
            "http/1.1",
        )
        assert p.signature_scheme == "ecdsa_secp256r1_sha256"
    assert cp.peer_certificate_subject == "CN=localhost"
    assert len(cp.peer_certificates) == 2  # leaf and intermediate
    assert sp.server_name == "localhost"


def test_hello_retry_request_when_no_share_fits(ca, server_key) -> None:
    cc, sc = configs(
        ca, server_key, {"groups": (NamedGroup.x25519, NamedGroup.secp384r1)}, {"groups": (NamedGroup.secp384r1,)}
    )
    c, s, _, _ = handshake(cc, sc)
    assert c.parameters.group == s.parameters.group == "secp384r1"
    c.send(b"after HRR")
    _, se = pump(c, s)
    assert data_of(se) == b"after HRR"


def test_large_writes_are_fragmented_and_reassembled(ca, server_key) -> None:
    c, s, _, _ = handshake(*configs(ca, server_key))
    payload = bytes(range(256)) * 400  # 102400 bytes, several records
    c.send(payload)
    wire = c.data_to_send()
    assert len(wire) > len(payload)
    # Feed in awkward pieces to exercise reassembly across record boundaries.
    received = []
    for i in range(0, len(wire), 7001):
        received += s.receive_bytes(wire[i : i + 7001])
    assert data_of(received) == payload


def record_lengths(wire: bytes) -> list[int]:
    """The length field of each record in ``wire``."""
    lengths, pos = [], 0
    while pos < len(wire):
        lengths.append(int.from_bytes(wire[pos + 3 : pos + 5], "big"))
        pos += 5 + lengths[-1]
    return lengths


def test_peer_record_size_limit_is_honoured(ca, server_key) -> None:
    c, s, _, _ = handshake(*configs(ca, server_key, {"record_size_limit": 64}))
    s.send(b"x" * 1000)
    wire = s.data_to_send()
    # RFC 8449: 63 bytes of data + 1 content type + 16 tag per record.
    assert max(record_lengths(wire)) == 63 + 1 + 16
    assert data_of(c.receive_bytes(wire)) == b"x" * 1000


def test_peer_record_size_limit_is_honoured_by_a_tls12_server(ca, server_key) -> None:
    # RFC 8449, Section 4: in TLS 1.2 the limit is the plaintext itself, at most 2^14; the server
    # answers with its own (2^14: TLS 1.2 has no content type byte to count) and keeps to the client's.
    cc, sc = configs(ca, server_key, {"record_size_limit": 64, "tls_max": ProtocolVersion.TLSv1_2})
    c, s, _, _ = handshake(cc, sc)
    assert s.parameters.version == "TLSv1.2"
    s.send(b"x" * 1000)
    wire = s.data_to_send()
    assert max(record_lengths(wire)) == 8 + 64 + 16  # explicit nonce, 64 bytes of data, tag (AES-GCM, RFC 5288)
    assert data_of(c.receive_bytes(wire)) == b"x" * 1000
    # A client that sends no limit gets none back, and full records.
    c, s, _, _ = handshake(*configs(ca, server_key, {"record_size_limit": None, "tls_max": ProtocolVersion.TLSv1_2}))
    s.send(b"x" * 20000)
    wire = s.data_to_send()
    assert int.from_bytes(wire[3:5], "big") == 8 + (1 << 14) + 16


def _sealed_past_the_limit(sender, size: int, padding: int = 0) -> bytes:
    """One application_data record of ``size`` bytes, sealed under ``sender``'s write keys as a peer
    that ignores the record_size_limit it was given would (TLS 1.3: with ``padding`` zeros)."""
    write = sender._records.write
    if padding:
        return write.seal(ContentType.application_data, b"x" * size, padding)
    return bytes(write.seal(ContentType.application_data, b"x" * size))


@pytest.mark.parametrize("version", [ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2])
@pytest.mark.parametrize("side", ["client", "server"])
def test_a_record_past_the_record_size_limit_we_announced_is_record_overflow(ca, server_key, side, version) -> None:
    """RFC 8449, Section 4: a record larger than the limit an endpoint announced is record_overflow
    once the extension is negotiated: TLS 1.3's TLSInnerPlaintext (content type and padding
    counted), TLS 1.2's plaintext. A record at the limit is read. (Before, only the protocol's
    largest records were refused.)"""
    limited = {"record_size_limit": 100, "tls_max": version}
    cc, sc = configs(
        ca, server_key, limited if side == "client" else {"tls_max": version}, limited if side == "server" else None
    )
    inner = 1 if version == ProtocolVersion.TLSv1_3 else 0  # (the content type byte of TLS 1.3)
    cases = [(100 - inner, 0, True), (101 - inner, 0, False)]
    if inner:
        cases.append((10, 100 - 10 - inner + 1, False))  # padding counts
    for size, padding, read in cases:
        c, s, _, _ = handshake(cc, sc)
        assert c.parameters.version == version.label
        receiver, sender = (c, s) if side == "client" else (s, c)
        events = receiver.receive_bytes(_sealed_past_the_limit(sender, size, padding))
        if read:
            assert data_of(events) == b"x" * size
            continue
        closed = [e for e in events if isinstance(e, ConnectionClosed)]
        assert closed and closed[0].error.description == AlertDescription.record_overflow, (size, padding)
        assert "record_size_limit of 100 we announced" in str(closed[0].error)


def test_key_update_both_ways(ca, server_key) -> None:
    c, s, _, _ = handshake(*configs(ca, server_key))
    c.update_keys(request_peer=True)
    c.send(b"under new client keys")
    ce, se = pump(c, s)
    assert data_of(se) == b"under new client keys"
    assert KeyUpdated("read", requested_by_peer=False) in se
    assert KeyUpdated("write", requested_by_peer=True) in se
    s.send(b"under new server keys")
    ce, _ = pump(c, s)
    assert data_of(ce) == b"under new server keys"


def test_close_notify_half_close_in_tls13(ca, server_key) -> None:
    """RFC 8446, Section 6.1: close_notify closes the sender's side only."""
    c, s, _, _ = handshake(*configs(ca, server_key))
    c.send(b"last words")
    c.close()
    ce, se = pump(c, s)
    assert data_of(se) == b"last words"
    assert ConnectionClosed(None, by_peer=True) in se
    assert s.peer_closed and not s.closed
    s.send(b"the answer, after the client closed")  # an echo's last reply still goes out
    s.close()
    ce, _ = pump(c, s)
    assert data_of(ce) == b"the answer, after the client closed"
    assert ConnectionClosed(None, by_peer=True) in ce
    assert c.closed and s.closed
    with pytest.raises(ConnectionClosedError):
        c.send(b"too late")


@pytest.mark.parametrize(("who", "version"), [("client", "TLSv1_2"), ("client", "TLSv1_3"), ("server", "TLSv1_2")])
def test_close_during_the_handshake_cancels_it(ca, server_key, version, who) -> None:
    """RFC 8446, Section 6.1: a handshake is canceled with user_canceled, then close_notify. Before, close()
    sent close_notify alone, the client went on to report a completed handshake (its Finished never
    sent, keys exported) and the server took the close for a clean one."""
    cc, sc = configs(ca, server_key, {"tls_max": ProtocolVersion[version]})
    c, s = ClientConnection(cc, server_name="localhost"), ServerConnection(sc)
    s.receive_bytes(c.data_to_send())  # the server's flight is ready, the client has not read it
    closer, other = (c, s) if who == "client" else (s, c)
    closer.close()
    wire = closer.data_to_send()
    assert closer.closed and not closer.handshake_complete and closer.data_to_send() == b""
    events = other.receive_bytes(wire)
    assert not c.handshake_complete and not s.handshake_complete
    alerts = [(e.level, e.description) for e in events if isinstance(e, AlertReceived)]
    assert alerts == [
        (AlertLevel.warning, AlertDescription.user_canceled),
        (AlertLevel.warning, AlertDescription.close_notify),
    ]
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed) and closed.by_peer
    assert isinstance(closed.error, PeerAlertError) and closed.error.description == AlertDescription.user_canceled
    assert other.error is closed.error and other.closed
    for done in (c, s):
        with pytest.raises(ConnectionClosedError):
            done.send(b"data")


def test_a_server_that_read_no_client_hello_closes_without_a_word(ca, server_key) -> None:
    """Nothing to cancel, and the peer may not speak TLS at all: nothing is sent, as OpenSSL's SSL_shutdown
    during the handshake sends nothing."""
    server = ServerConnection(configs(ca, server_key)[1])
    server.close()
    assert server.closed and server.data_to_send() == b""


def test_a_close_notify_alone_during_the_handshake_is_not_a_clean_close(ca, server_key) -> None:
    c, s = (
        ClientConnection(configs(ca, server_key)[0], server_name="localhost"),
        ServerConnection(configs(ca, server_key)[1]),
    )
    s.receive_bytes(c.data_to_send())
    c._send_alert(AlertLevel.warning, AlertDescription.close_notify, "")  # as a peer that skips user_canceled
    (alert, closed) = s.receive_bytes(c.data_to_send())
    assert isinstance(closed, ConnectionClosed) and closed.by_peer
    assert isinstance(closed.error, PeerAlertError) and closed.error.description == AlertDescription.close_notify
    assert "the peer sent close_notify while" in str(closed.error)
    assert isinstance(closed.error, ConnectionClosedError)  # (what the blocking and asyncio APIs raise)


def test_a_failed_connection_says_why_to_every_later_call(ca, server_key) -> None:
    from glasstls.errors import NotNegotiatedError

    c, s, _, _ = handshake(*configs(ca, server_key))
    c.send(b"ok")
    forged = bytearray(c.data_to_send())
    forged[-1] ^= 1
    (closed,) = s.receive_bytes(bytes(forged))
    assert isinstance(closed, ConnectionClosed) and closed.error is s.error
    calls = {
        "send": lambda: s.send(b"x"),
        "update_keys": s.update_keys,
        "export_keying_material": lambda: s.export_keying_material("EXPORTER-test"),
        "channel_binding": s.channel_binding,
    }
    for name, call in calls.items():
        with pytest.raises(ConnectionClosedError, match="the connection failed: record failed authentication") as info:
            call()
        assert info.value.__cause__ is s.error, name
    fresh = ClientConnection(configs(ca, server_key)[0], server_name="localhost")
    with pytest.raises(NotNegotiatedError, match="the handshake has not completed"):
        fresh.update_keys()


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_close_notify_ends_the_peers_side_and_our_answer_still_goes(ca, server_key, version) -> None:
    """close_notify ends the sender's writing only: the receiver's application answers what it
    already took, then closes (RFC 8446, Section 6.1; in TLS 1.2 as OpenSSL, Go and rustls do,
    rather than RFC 5246, Section 7.2.1's immediate answer that would drop it)."""
    from glasstls import ProtocolVersion

    c, s, _, _ = handshake(*configs(ca, server_key, {"tls_max": ProtocolVersion[version]}))
    c.send(b"request")
    c.close()
    se = s.receive_bytes(c.data_to_send())
    assert se[0] == ApplicationData(b"request") and se[-1] == ConnectionClosed(None, by_peer=True)
    assert s.peer_closed and not s.closed
    s.send(b"answer")
    s.close()
    ce = c.receive_bytes(s.data_to_send())
    assert ce[0] == ApplicationData(b"answer") and ce[-1] == ConnectionClosed(None, by_peer=True)
    assert s.closed and c.closed


def test_data_before_an_error_is_delivered_first(ca, server_key) -> None:
    c, s, _, _ = handshake(*configs(ca, server_key))
    c.send(b"good data")
    good = c.data_to_send()
    bad = bytearray(good)
    bad[-1] ^= 1  # corrupt a second copy's tag; the record sequence makes it fail anyway
    events = s.receive_bytes(good + bytes(bad))
    assert isinstance(events[0], ApplicationData) and events[0].data == b"good data"
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.error.description == AlertDescription.bad_record_mac
    # The alert reaches the client, which reports it with the step it was in.
    ce = c.receive_bytes(s.data_to_send())
    assert AlertReceived in {type(e) for e in ce}
    err = ce[-1].error
    assert isinstance(err, PeerAlertError) and err.description == AlertDescription.bad_record_mac
    assert "exchanging application data" in str(err)


def test_alpn_mismatch_is_no_application_protocol(ca, server_key) -> None:
    cc, sc = configs(ca, server_key, {"alpn": ("h2",)}, {"alpn": ("http/1.1",)})
    c, s = ClientConnection(cc, server_name="localhost"), ServerConnection(sc)
    ce, se = pump(c, s)
    assert se[-1].error.description == AlertDescription.no_application_protocol
    assert "client offered h2, server accepts http/1.1" in se[-1].error.reason
    assert ce[-1].error.description == AlertDescription.no_application_protocol


@pytest.mark.parametrize("tls_max", [ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2])
def test_alpn_mismatch_goes_on_without_alpn_when_not_required(ca, server_key, tls_max) -> None:
    """ServerConfig.alpn_required=False: no protocol selected, as OpenSSL's servers answer when their
    callback chooses none (what the ssl-compatible layer does for Python's ssl programs)."""
    cc, sc = configs(
        ca, server_key, {"alpn": ("h2",), "tls_max": tls_max}, {"alpn": ("http/1.1",), "alpn_required": False}
    )
    c, s = ClientConnection(cc, server_name="localhost"), ServerConnection(sc)
    pump(c, s)
    assert c.handshake_complete and s.handshake_complete
    assert c.parameters.alpn is None and s.parameters.alpn is None
    cc, sc = configs(
        ca,
        server_key,
        {"alpn": ("h2", "http/1.1"), "tls_max": tls_max},
        {"alpn": ("http/1.1",), "alpn_required": False},
    )
    c, s = ClientConnection(cc, server_name="localhost"), ServerConnection(sc)
    pump(c, s)
    assert c.parameters.alpn == s.parameters.alpn == "http/1.1"


def test_expired_certificate_by_injected_clock(ca, server_key) -> None:
    cc, sc = configs(ca, server_key)
    future = datetime(2099, 1, 1, tzinfo=UTC)
    c = ClientConnection(cc, server_name="localhost", clock=lambda: future)
    s = ServerConnection(sc)
    ce, se = pump(c, s)
    assert ce[-1].error.description == AlertDescription.certificate_expired
    assert "expired on" in ce[-1].error.reason
    assert se[-1].error.description == AlertDescription.certificate_expired


def _counter_randomness():
    counter = itertools.count()
    return lambda n: bytes((next(counter) + i) % 256 for i in range(n))


def test_injected_randomness_replays_byte_for_byte(ca) -> None:
    ident = ca.issue_server(["localhost"], key_type="ed25519")  # deterministic signatures
    key = CertifiedKey(ident.chain, ident.private_key)
    now = datetime.now(UTC)
    transcripts = []
    # ML-KEM encapsulation draws from OpenSSL's own generator, which no injected randomness
    # reaches: a byte-exact replay needs a classical group.
    classical = {"groups": (NamedGroup.x25519,)}
    for _ in range(2):
        cc, sc = configs(ca, key, classical, classical)
        c = ClientConnection(cc, server_name="localhost", randomness=_counter_randomness(), clock=lambda: now)
        s = ServerConnection(sc, randomness=_counter_randomness(), clock=lambda: now)
        first = c.data_to_send()
        s.receive_bytes(first)
        second = s.data_to_send()
        c.receive_bytes(second)
        transcripts.append((first, second, c.data_to_send()))
    assert transcripts[0] == transcripts[1]


def test_replay_randomness_reports_exhaustion() -> None:
    r = ReplayRandomness(b"ab")
    assert r(2) == b"ab"
    with pytest.raises(RuntimeError):
        r(1)


def test_blocking_connect_resumes_through_a_session_store(ca, server_key) -> None:
    import socket
    import threading

    import glasstls

    cc, sc = configs(ca, server_key, {"tls_max": glasstls.ProtocolVersion.TLSv1_2})
    store = glasstls.SessionStore()
    resumed = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(2)
        listener.settimeout(10)
        port = listener.getsockname()[1]

        def serve() -> None:
            for _ in range(2):
                sock, _ = listener.accept()
                sock.settimeout(10)
                with glasstls.accept(sock, sc) as tls:
                    resumed.append(tls.parameters.resumed)
                    tls.sendall(tls.recv())

        thread = threading.Thread(target=serve)
        thread.start()
        for _ in range(2):
            with glasstls.connect("127.0.0.1", port, cc, server_name="localhost", session_store=store) as tls:
                tls.sendall(b"x")
                assert tls.recv() == b"x"
        thread.join(10)
    assert resumed == [False, True]
    assert len(store) >= 1


def test_default_randomness_is_the_system_generator(ca, server_key) -> None:
    """The crypto layer takes its constant-time library paths only for os.urandom."""
    from glasstls.crypto.rand import is_system

    cc, sc = configs(ca, server_key)
    assert is_system(ClientConnection(cc, server_name="localhost").randomness)
    # What the handshake states are given must be the same callable, or signing and key
    # generation leave the constant-time library paths (crypto.rand.is_system).
    client, server = ClientConnection(cc, server_name="localhost"), ServerConnection(sc)
    assert is_system(client._ctx.randomness)  # (a context holds its connection weakly: keep them)
    assert is_system(server._ctx.randomness)
    assert is_system(ServerConnection(sc).randomness)
    assert not is_system(ClientConnection(cc, server_name="localhost", randomness=_counter_randomness()).randomness)


@pytest.mark.parametrize(
    ("group", "suite"),
    [
        ("x25519", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        ("secp256r1", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
        ("secp384r1", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
        ("x448", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        ("ffdhe2048", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
        ("ffdhe3072", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
        ("ffdhe4096", "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ],
)
def test_tls12_key_exchange_groups(ca, group, suite) -> None:
    """RFC 8422 (ECDHE) and RFC 7919 (DHE) groups, negotiated through supported_groups."""
    from glasstls import CipherSuite, ProtocolVersion

    key_type = "rsa2048" if suite.startswith("TLS_DHE_RSA") else "ecdsa-p256"
    ident = ca.issue_server(["localhost"], key_type=key_type)
    key = CertifiedKey(ident.chain, ident.private_key)
    common = {"groups": (NamedGroup[group],), "cipher_suites": (CipherSuite[suite],)}
    # RFC 8422, Section 5.1: the client names the P-256 certificate's curve too; the server keys on `group`.
    client_groups = (NamedGroup[group], NamedGroup.secp256r1) if key_type == "ecdsa-p256" else (NamedGroup[group],)
    client = {**common, "groups": tuple(dict.fromkeys(client_groups))}
    cc, sc = configs(ca, key, client, {**common, "tls_max": ProtocolVersion.TLSv1_2})
    c, s, _, _ = handshake(cc, sc)
    for p in (c.parameters, s.parameters):
        assert (p.version, p.cipher_suite, p.group) == ("TLSv1.2", suite, group)


def test_server_can_require_extended_master_secret(ca, server_key) -> None:
    from glasstls import ProtocolVersion
    from glasstls.wire.extensions import ExtensionType

    cc, sc = configs(ca, server_key, {}, {"tls_max": ProtocolVersion.TLSv1_2, "require_extended_master_secret": True})
    c, s, _, _ = handshake(cc, sc)
    assert c.parameters.extended_master_secret and s.parameters.extended_master_secret
    # A client that does not offer it is refused with a reason naming RFC 7627.
    c = ClientConnection(cc, server_name="localhost")
    hello = c.offered_hello
    stripped = [e for e in hello.extensions if e.type != ExtensionType.extended_master_secret]
    from dataclasses import replace

    bad = replace(hello, extensions=tuple(stripped)).encode()
    record = b"\x16\x03\x01" + len(bad).to_bytes(2, "big") + bad
    events = ServerConnection(sc).receive_bytes(record)
    assert events[-1].error.description == AlertDescription.handshake_failure
    assert "RFC 7627" in events[-1].error.reason


def test_octets_gives_the_bytes_of_any_bytes_like_object_without_copying_a_contiguous_one() -> None:
    """io.payload.octets, through which the drivers hand their callers' buffers to Connection.send."""
    import array

    from glasstls.io.payload import octets

    data = b"abcdef"
    assert octets(data) is data
    buffer = bytearray(b"0123456789")
    view = octets(buffer)
    assert isinstance(view, memoryview) and bytes(view) == buffer
    buffer[0] = ord("X")  # a view, not a copy
    assert bytes(view)[:1] == b"X"
    ints = array.array("i", [1, 2, 3])
    assert len(octets(ints)) == 3 * ints.itemsize and bytes(octets(ints)) == ints.tobytes()  # bytes, not items
    strided = memoryview(b"abcdefgh")[::2]  # not contiguous: copied
    assert octets(strided) == b"aceg" and type(octets(strided)) is bytes


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_a_warning_before_the_server_hello_is_not_fatal(ca, server_key, version) -> None:
    """An old TLS 1.2 server's unrecognized_name warning before its ServerHello (RFC 6066, Section 3;
    openssl s_server -servername does it): the client goes on, as OpenSSL's and GnuTLS's do."""
    from glasstls import ProtocolVersion

    client_config, server_config = configs(ca, server_key, {"tls_max": ProtocolVersion[version]})
    c = ClientConnection(client_config, server_name="localhost")
    s = ServerConnection(server_config)
    s.receive_bytes(c.data_to_send())
    warning = bytes([21, 3, 3, 0, 2, 1, AlertDescription.unrecognized_name])
    events = c.receive_bytes(warning + s.data_to_send())
    assert not c.closed and c.error is None, events
    pump(c, s)
    assert c.handshake_complete and s.handshake_complete


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_a_hello_request_before_the_server_hello_is_ignored(ca, server_key, version) -> None:
    """RFC 5246, Section 7.4.1.1: a client that is negotiating ignores a HelloRequest (OpenSSL's
    s_client goes past one a server sends before its ServerHello), and leaves it out of the transcript."""
    from glasstls import ProtocolVersion

    client_config, server_config = configs(ca, server_key, {"tls_max": ProtocolVersion[version]})
    c = ClientConnection(client_config, server_name="localhost")
    s = ServerConnection(server_config)
    s.receive_bytes(c.data_to_send())
    hello_request = bytes([22, 3, 3, 0, 4, 0, 0, 0, 0])
    events = c.receive_bytes(hello_request + s.data_to_send())
    assert not c.closed and c.error is None, events
    pump(c, s)
    assert c.handshake_complete and s.handshake_complete
