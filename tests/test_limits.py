"""Every bound on what a peer can make a connection spend (limits.py), in memory.

Each test drives a real client/server pair past one limit and checks the alert
on the wire, the limit's name in the error, and that staying under the limit
works. The same floods against real sockets are in tests/test_floods.py.
"""

from __future__ import annotations

import pytest

from glasstls import ConfigError, Limits, NotNegotiatedError, ProtocolVersion
from glasstls.enums import AlertDescription, AlertLevel, ContentType
from glasstls.errors import AlertError, PeerAlertError
from glasstls.events import ApplicationData, ConnectionClosed
from glasstls.limits import DEFAULT_LIMITS
from glasstls.wire.handshake import NewSessionTicket
from pairs import connected_pair, inject, inject_warning, make_pair

TLS12 = {"tls_max": ProtocolVersion.TLSv1_2}


def closed_with(events: list, description: AlertDescription, limit: str) -> AlertError:
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed, events
    err = closed[-1].error
    assert isinstance(err, AlertError), err
    assert err.description == description
    assert f"Limits.{limit}" in err.reason, err.reason
    return err


def plaintext_alert(level: int, description: int) -> bytes:
    return bytes((ContentType.alert, 3, 3, 0, 2, level, description))


def test_a_warning_alert_before_the_client_hello_is_unexpected_message():
    # Nothing precedes a ClientHello, as OpenSSL and GnuTLS hold (tests/conformance: alert-*-before-hello):
    # the first warning ends it, so a flood of them is no longer counted up to Limits.max_warning_alerts.
    pair = make_pair()
    flood = plaintext_alert(AlertLevel.warning, AlertDescription.user_canceled) * 5
    events = pair.server.receive_bytes(flood)
    error = events[-1].error
    assert isinstance(error, AlertError) and error.description == AlertDescription.unexpected_message
    assert "a warning alert (user_canceled) before the ClientHello" in error.reason
    assert pair.server.closed
    # Whatever more arrives is not processed, and nothing accumulates.
    assert pair.server.receive_bytes(flood * 1000) == []


def test_four_warnings_are_tolerated_in_a_tls12_handshake_then_it_goes_on():
    # The fifth is fatal, as in OpenSSL and BoringSSL (BoGo's SendWarningAlerts-TooMany sends five).
    pair = make_pair(client_kw=TLS12, server_kw=TLS12)
    pair.to_server()
    pair.to_client()
    pair.server.receive_bytes(plaintext_alert(AlertLevel.warning, AlertDescription.unrecognized_name) * 4)
    assert not pair.server.closed
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete


@pytest.mark.parametrize("kw", [{}, TLS12], ids=["tls13", "tls12"])
def test_consecutive_warnings_after_the_handshake(kw):
    pair = connected_pair(client_kw=kw, server_kw=kw)
    description = AlertDescription.no_renegotiation if kw else AlertDescription.user_canceled
    for round_ in range(3):  # data between the warnings resets the count
        for _ in range(4):
            inject_warning(pair.client, description)
        pair.client.send(b"x")
        events = pair.to_server()
        assert not pair.server.closed, (round_, events)
    for _ in range(5):
        inject_warning(pair.client, description)
    closed_with(pair.to_server(), AlertDescription.unexpected_message, "max_warning_alerts")
    pair.to_client()
    assert isinstance(pair.client.error, PeerAlertError)
    assert pair.client.error.description == AlertDescription.unexpected_message


@pytest.mark.parametrize("kw", [{}, TLS12], ids=["tls13", "tls12"])
def test_empty_records_are_bounded(kw):
    pair = connected_pair(client_kw=kw, server_kw=kw)
    for _ in range(32):
        pair.client._records.send(ContentType.application_data, b"")
    pair.client.send(b"data resets the count")
    for _ in range(32):
        pair.client._records.send(ContentType.application_data, b"")
    events = pair.to_server()
    assert not pair.server.closed
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [b"data resets the count"]
    pair.client._records.send(ContentType.application_data, b"")
    closed_with(pair.to_server(), AlertDescription.unexpected_message, "max_empty_records")


def test_a_second_change_cipher_spec_in_a_tls13_handshake_is_unexpected():
    pair = make_pair()
    pair.to_server()  # ClientHello
    pair.to_client()  # the server's flight; the client answers with CCS + Finished
    flight = pair.client.data_to_send()
    assert flight.startswith(b"\x14\x03\x03\x00\x01\x01")  # middlebox compatibility (RFC 8446, D.4)
    events = pair.server.receive_bytes(b"\x14\x03\x03\x00\x01\x01" + flight)
    closed_with(events, AlertDescription.unexpected_message, "max_tls13_ccs")


def test_one_change_cipher_spec_is_fine():
    pair = make_pair()
    pair.handshake()
    assert pair.server.handshake_complete


def test_key_updates_with_data_between_them_are_never_cut_off():
    """A quiet connection that rekeys now and then (a few bytes between KeyUpdates) goes on; 33
    KeyUpdates with nothing between them end it (BoringSSL's rule)."""
    pair = connected_pair()
    for _ in range(100):
        pair.client.update_keys(request_peer=False)
        pair.client.send(b"0123456789")
        assert not [e for e in pair.to_server() if isinstance(e, ConnectionClosed)]
    for _ in range(32):
        pair.client.update_keys(request_peer=False)
    assert not [e for e in pair.to_server() if isinstance(e, ConnectionClosed)]
    pair.client.update_keys(request_peer=False)
    closed_with(pair.to_server(), AlertDescription.unexpected_message, "max_key_updates")
    assert "KeyUpdates without application data between them" in pair.server.error.reason


def test_key_updates_are_budgeted_by_data():
    pair = connected_pair(server_kw={"limits": Limits(key_update_data_credit=1 << 16)})
    for _ in range(32):
        pair.client.update_keys(request_peer=False)
    events = pair.to_server()
    assert not pair.server.closed, events
    # Data earns KeyUpdates back: one per 64 KiB.
    pair.client.send(b"x" * (1 << 16))
    pair.client.update_keys(request_peer=False)
    assert not [e for e in pair.to_server() if isinstance(e, ConnectionClosed)]
    pair.client.update_keys(request_peer=False)
    closed_with(pair.to_server(), AlertDescription.unexpected_message, "max_key_updates")


def test_key_update_flood_with_update_requested_stops_the_answers_too():
    pair = connected_pair()
    for _ in range(100):
        pair.client.update_keys(request_peer=True)
    closed_with(pair.to_server(), AlertDescription.unexpected_message, "max_key_updates")


def test_answers_to_our_own_key_update_requests_are_not_charged():
    # RFC 8446, Section 4.6.3: a peer asked for a KeyUpdate must answer with one; however often this
    # side asks, the answers are owed, not a flood (Node, asked 40 times, was cut off at 32).
    pair = connected_pair(server_kw={"limits": Limits(max_key_updates=1000)})  # a peer that lets us ask (Node)
    for _ in range(100):
        pair.client.update_keys(request_peer=True)
        pair.to_server()
        assert not [e for e in pair.to_client() if isinstance(e, ConnectionClosed)]
    assert not pair.client.closed and not pair.server.closed
    # Only answers owed are forgiven: unasked ones still spend the budget.
    for _ in range(32):
        pair.server.update_keys(request_peer=False)
    assert not [e for e in pair.to_client() if isinstance(e, ConnectionClosed)]
    pair.server.update_keys(request_peer=False)
    closed_with(pair.to_client(), AlertDescription.unexpected_message, "max_key_updates")


def test_new_session_tickets_without_data_are_bounded():
    pair = connected_pair()
    for i in range(33):
        inject(pair.server, NewSessionTicket(7200, i, bytes([i]), b"ticket-%d" % i))
    closed_with(pair.to_client(), AlertDescription.unexpected_message, "max_tickets")


def test_handshake_message_size_limit_names_itself():
    small = Limits(max_handshake_message=1024)
    pair = make_pair(server_kw={"limits": small})
    # A ClientHello header announcing 2 KiB: refused before the body arrives.
    record = bytes((ContentType.handshake, 3, 1, 0, 4)) + b"\x01\x00\x08\x00"
    closed_with_desc = pair.server.receive_bytes(record)
    closed = [e for e in closed_with_desc if isinstance(e, ConnectionClosed)]
    assert closed and "Limits.max_handshake_message" in closed[0].error.reason


def test_limits_are_validated():
    with pytest.raises(ConfigError, match="max_warning_alerts"):
        Limits(max_warning_alerts=0)


def test_tls12_has_no_key_update():
    pair = connected_pair(client_kw=TLS12, server_kw=TLS12)
    with pytest.raises(NotNegotiatedError, match=r"only in TLS 1\.3; this connection is TLSv1\.2"):
        pair.client.update_keys()
    with pytest.raises(NotNegotiatedError):
        pair.server.update_keys()
    # The connection is untouched.
    pair.client.send(b"still fine")
    assert [e.data for e in pair.to_server() if isinstance(e, ApplicationData)] == [b"still fine"]


def test_tls12_sends_past_2_to_the_24_records_without_rekeying():
    pair = connected_pair(client_kw=TLS12, server_kw=TLS12)
    pair.client._records.write.seq = pair.server._records.read.seq = 1 << 24
    pair.client.send(b"record 2^24")
    assert [e.data for e in pair.to_server() if isinstance(e, ApplicationData)] == [b"record 2^24"]


def test_tls12_write_sequence_number_never_wraps():
    pair = connected_pair(client_kw=TLS12, server_kw=TLS12)
    pair.client._records.write.seq = (1 << 64) - 1  # RFC 5246, Section 6.1
    with pytest.raises(AlertError, match="sequence number would wrap"):
        pair.client.send(b"one too many")
    assert pair.client.closed


def test_an_observer_that_raises_ends_only_its_connection_with_internal_error():
    from glasstls.errors import InternalError

    def broken(event):
        if type(event).__name__ == "MessageTrace":
            raise RuntimeError("renderer bug")

    pair = make_pair(server_observer=broken)
    events = pair.to_server()
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed and isinstance(closed[0].error, InternalError)
    assert closed[0].error.description == AlertDescription.internal_error
    assert "renderer bug" in str(closed[0].error)
    pair.to_client()
    assert pair.client.error.description == AlertDescription.internal_error


def test_own_certificate_with_a_duplicated_extension_is_refused_when_configured():
    from cryptography import x509

    from glasstls import CertifiedKey, ServerConfig
    from malformed_certs import with_duplicated_extension
    from pairs import default_ca, server_identity

    identity = server_identity("localhost")
    leaf = x509.load_der_x509_certificate(with_duplicated_extension(identity.certificate, default_ca().issuer[1]))
    with pytest.raises(ConfigError, match=r"certificate #0 of the chain is malformed .*: reissue it"):
        ServerConfig(certificates=(CertifiedKey((leaf, *identity.chain[1:]), identity.private_key),))


def test_hello_request_flood_ends_at_the_renegotiation_budget() -> None:
    """Each HelloRequest draws a no_renegotiation warning (31 bytes for 4): a run of them with no
    application data between ends at Limits.max_renegotiation_requests; data between them resets it."""
    from glasstls import ProtocolVersion
    from glasstls.wire.handshake12 import HelloRequest
    from pairs import inject

    pair = connected_pair(client_kw={"tls_max": ProtocolVersion.TLSv1_2})
    for _ in range(20):  # with data between: a server that asks now and then is not cut off
        inject(pair.server, HelloRequest())
        assert not [e for e in pair.to_client() if isinstance(e, ConnectionClosed)]
        pair.server.send(b"x")  # after it: data between two requests
        assert not [e for e in pair.to_client() if isinstance(e, ConnectionClosed)]
        pair.client.send(b"y")  # (the server's own budget of consecutive warnings wants data between them)
        pair.to_server()  # the warning, then the data
    for _ in range(DEFAULT_LIMITS.max_renegotiation_requests):
        inject(pair.server, HelloRequest())
    assert not [e for e in pair.to_client() if isinstance(e, ConnectionClosed)]
    inject(pair.server, HelloRequest())
    closed_with(pair.to_client(), AlertDescription.unexpected_message, "max_renegotiation_requests")


def test_hello_requests_during_the_handshake_are_ignored_but_bounded() -> None:
    """RFC 5246, Section 7.4.1.1: a client ignores a HelloRequest while it negotiates. A server that sends
    nothing else (any number, one record each) held the handshake of the compat layer and the CLI past
    their deadlines, whose reads found the socket always readable; now the same budget ends it."""
    from glasstls import ProtocolVersion

    client = make_pair(client_kw={"tls_max": ProtocolVersion.TLSv1_2}).client
    client.data_to_send()
    hello_request = b"\x16\x03\x03\x00\x04\x00\x00\x00\x00"  # a plaintext HelloRequest record
    assert not [e for e in client.receive_bytes(hello_request * DEFAULT_LIMITS.max_renegotiation_requests)
                if isinstance(e, ConnectionClosed)]  # fmt: skip
    err = closed_with(client.receive_bytes(hello_request), AlertDescription.unexpected_message,
                      "max_renegotiation_requests")  # fmt: skip
    assert "HelloRequests during the handshake (ignored)" in err.reason


def test_renegotiating_client_hellos_end_at_the_same_budget() -> None:
    from dataclasses import replace

    from glasstls import ProtocolVersion
    from pairs import inject

    pair = connected_pair(client_kw={"tls_max": ProtocolVersion.TLSv1_2})
    for _ in range(DEFAULT_LIMITS.max_renegotiation_requests):
        inject(pair.client, replace(pair.client.offered_hello))
        assert not [e for e in pair.to_server() if isinstance(e, ConnectionClosed)]
    inject(pair.client, replace(pair.client.offered_hello))
    closed_with(pair.to_server(), AlertDescription.unexpected_message, "max_renegotiation_requests")


def test_post_handshake_certificate_requests_are_bounded_per_connection() -> None:
    """Each post-handshake CertificateRequest costs the client a signature (RFC 8446, 4.6.2): a
    connection answers at most Limits.max_certificate_requests, data or not."""
    from test_post_handshake_auth import pha_pair

    pair = pha_pair(client_kw={"limits": Limits(max_certificate_requests=3)})
    for _ in range(3):
        pair.server.request_client_certificate()
        pair.server.send(b"x")
        assert not [e for e in pair.to_client() if isinstance(e, ConnectionClosed)]
        pair.to_server()
    pair.server.request_client_certificate()
    closed_with(pair.to_client(), AlertDescription.unexpected_message, "max_certificate_requests")


def _longest_client_hello() -> bytes:
    """A TLS 1.2 ClientHello with every field at its longest (RFC 5246, 7.4.1.2): 32,767 suites (ECDHE
    after values we do not know), 255 compression methods, a 32-byte session id, and 65,535 bytes of
    extensions (the padding extension fills what the ECDHE ones leave): a 131,396-byte body."""
    u16 = lambda n: n.to_bytes(2, "big")  # noqa: E731
    # Values we do not know (no suite of TLS 1.3, no ECDHE one, not TLS_FALLBACK_SCSV), then two we do.
    others = [v for v in range(0x0100, 0x10000) if v >> 8 not in (0x13, 0x56, 0xC0, 0xCC)][:32_765]
    suites = b"".join(u16(v) for v in (*others, 0xC02B, 0xC02F))
    exts = [
        (10, u16(4) + u16(0x001D) + u16(0x0017)),  # supported_groups: x25519, secp256r1
        (11, b"\x01\x00"),  # ec_point_formats: uncompressed
        (13, u16(4) + u16(0x0403) + u16(0x0804)),  # signature_algorithms
        (0xFF01, b"\x00"),  # renegotiation_info
    ]
    block = b"".join(u16(t) + u16(len(d)) + d for t, d in exts)
    block += u16(21) + u16(65_535 - len(block) - 4) + bytes(65_535 - len(block) - 4)  # padding (RFC 7685)
    body = b"\x03\x03" + bytes(32) + b"\x20" + bytes(32) + u16(len(suites)) + suites
    body += b"\xff" + bytes(range(255)) + u16(len(block)) + block
    assert len(body) == 131_396
    return b"\x01" + len(body).to_bytes(3, "big") + body


def _records(message: bytes) -> bytes:
    return b"".join(
        bytes((ContentType.handshake, 3, 1)) + len(chunk).to_bytes(2, "big") + chunk
        for chunk in (message[i : i + (1 << 14)] for i in range(0, len(message), 1 << 14))
    )


def test_the_longest_client_hello_is_served_and_a_header_claiming_more_is_refused_at_once():
    """A ClientHello is bounded by what its fields can hold, 131,396 bytes (OpenSSL's bound too), not
    by Limits.max_handshake_message: the longest is served; a header claiming one byte more is refused
    before its body arrives, so a server buffers no more than that before a handshake."""
    hello = _longest_client_hello()
    served = make_pair().server
    events = served.receive_bytes(_records(hello))
    assert not [e for e in events if isinstance(e, ConnectionClosed)], events
    assert served.data_to_send()[:1] == bytes((ContentType.handshake,))  # its ServerHello flight
    refused = make_pair().server
    header = b"\x01" + (131_397).to_bytes(3, "big")
    events = refused.receive_bytes(bytes((ContentType.handshake, 3, 1, 0, 4)) + header)
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed and isinstance(closed[0].error, AlertError), events
    assert closed[0].error.description == AlertDescription.decode_error
    assert "client_hello header claims 131397 bytes: a ClientHello is at most 131396" in closed[0].error.reason
