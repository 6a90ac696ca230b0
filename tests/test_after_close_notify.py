"""Nothing goes out after our own close_notify (RFC 8446, Section 6.1: "the sender will not send any
more messages on this connection"; RFC 5246, Section 7.2.1), whatever the peer sends after it: a
KeyUpdate asking for ours, a post-handshake CertificateRequest, a HelloRequest, a record that fails
authentication. OpenSSL, after SSL_shutdown, still reads (and installs a peer's new keys) but sends
nothing; glasstls answered each of these with a record after its close_notify.
"""

from __future__ import annotations

import pytest

from glasstls import ConnectionClosed, KeyUpdated, ProtocolVersion
from glasstls.errors import ConnectionClosedError
from glasstls.wire.handshake12 import HelloRequest
from glasstls.x509.store import TrustStore
from pairs import connected_pair, default_ca, flip, inject, split_records

TLS12 = {"tls_max": ProtocolVersion.TLSv1_2}


def _closed_client(**kw: object):
    pair = connected_pair(**kw)
    pair.to_client()  # (the server's tickets)
    pair.client.close()
    pair.to_server()  # the client's close_notify reaches the server, which keeps its side open
    assert pair.client.data_to_send() == b""
    return pair


def test_a_key_update_asking_for_ours_after_our_close_notify_goes_unanswered() -> None:
    pair = _closed_client()
    pair.server.update_keys(request_peer=True)
    events = pair.to_client()
    assert [e for e in events if isinstance(e, KeyUpdated)] == [KeyUpdated("read", requested_by_peer=False)]
    assert pair.client.data_to_send() == b""
    # The peer's data under its new keys is still read.
    pair.server.send(b"after the update")
    assert [getattr(e, "data", None) for e in pair.to_client()] == [b"after the update"]
    assert pair.client.data_to_send() == b""


def test_a_certificate_request_after_our_close_notify_goes_unanswered() -> None:
    pair = connected_pair(
        client_kw={"post_handshake_auth": True},
        server_kw={"client_trust_store": TrustStore.from_pem(default_ca().root_pem())},
    )
    pair.to_client()
    pair.client.close()  # (its close_notify crosses the server's request)
    pair.server.request_client_certificate(required=False)
    pair.to_client()
    pair.to_server()  # the close_notify alone: no Certificate, no Finished
    assert pair.client.data_to_send() == b"" and pair.server.parameters is not None
    assert not pair.server.parameters.client_auth


def test_a_hello_request_after_our_close_notify_gets_no_warning() -> None:
    pair = _closed_client(client_kw=TLS12)
    inject(pair.server, HelloRequest())
    pair.to_client()
    assert pair.client.data_to_send() == b""


def test_a_bad_record_after_our_close_notify_ends_the_connection_silently() -> None:
    pair = _closed_client()
    pair.server.send(b"spoiled")
    (record,) = split_records(pair.server.data_to_send())
    events = pair.client.receive_bytes(flip(record, len(record) - 1))
    assert any(isinstance(e, ConnectionClosed) and e.error is not None for e in events)
    assert pair.client.data_to_send() == b""  # no fatal alert after close_notify


def test_update_keys_after_close_raises() -> None:
    pair = _closed_client()
    with pytest.raises(ConnectionClosedError, match="our close_notify was the last record we send"):
        pair.client.update_keys()
