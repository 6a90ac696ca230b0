"""TLS 1.3 0-RTT between in-memory glasstls peers (RFC 8446, Sections 2.3, 4.2.10, 4.5, 8).

* Accepted: the server's ticket allows early data (``max_early_data_size``), the client
  sends it right behind its ClientHello, the server delivers it as ``EarlyData`` events
  before ``HandshakeComplete``, then EndOfEarlyData; both sides report
  ``early_data_accepted``.
* Rejected, the handshake still completing and the early records skipped: a server that
  accepts none (even when the client sends some anyway), a replayed ClientHello, a second
  use of one ticket, a stale ClientHello (freshness window), no accepted PSK.
* More early data than ``max_early_data_size``: unexpected_message.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from glasstls import (
    ApplicationData,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    EarlyData,
    HandshakeComplete,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
)
from glasstls.connection import Connection
from glasstls.enums import AlertDescription, CipherSuite, ExtensionType, NamedGroup
from glasstls.errors import AlertError, ConfigError, NotNegotiatedError
from glasstls.events import Event
from glasstls.observe import EventList, SecretTrace, VerificationTrace
from glasstls.session.state import SessionState
from glasstls.session.tickets import TicketKeys
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import EncryptedExtensions, Handshake
from glasstls.x509.store import TrustStore
from pairs import TamperingServer, default_ca, once, server_identity

DATA = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"


def client_config(**kw: Any) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **kw)


def server_config(**kw: Any) -> ServerConfig:
    identity = server_identity("localhost")
    return ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **kw)


def drive(client: Connection, server: Connection) -> tuple[list[Event], list[Event]]:
    """Both sides to completion (or until one closes); their events, in order."""
    client_events: list[Event] = []
    server_events: list[Event] = []
    for _ in range(8):
        server_events += server.receive_bytes(client.data_to_send())
        client_events += client.receive_bytes(server.data_to_send())
        if client.closed or server.closed:
            break
    return client_events, server_events


def ticket(scfg: ServerConfig, ccfg: ClientConfig | None = None) -> SessionState:
    """A session from a full handshake with a server of ``scfg``."""
    client = ClientConnection(ccfg or client_config(), "localhost")
    server = ServerConnection(scfg)
    drive(client, server)
    assert client.handshake_complete and client.session is not None
    return client.session


def rejections(log: EventList) -> list[str]:
    return [e.detail for e in log.events if isinstance(e, VerificationTrace) and e.subject == "0-RTT" and not e.ok]


def test_ticket_announces_max_early_data() -> None:
    assert ticket(server_config(max_early_data_size=4096)).max_early_data == 4096
    assert ticket(server_config()).max_early_data == 0  # the default: no 0-RTT, as OpenSSL


def test_accepted() -> None:
    scfg = server_config(max_early_data_size=1024)
    session = ticket(scfg)
    client_log, server_log = EventList(wants_secrets=True), EventList(wants_secrets=True)
    client = ClientConnection(client_config(), "localhost", session=session, early_data=DATA, observer=client_log)
    client.send_early_data(b"more")
    server = ServerConnection(scfg, observer=server_log)
    first = server.receive_bytes(client.data_to_send())
    # The early data arrives with the ClientHello, before the handshake completes.
    assert [e.data for e in first if isinstance(e, EarlyData)] == [DATA, b"more"]
    assert not any(isinstance(e, HandshakeComplete) for e in first)
    client_events, server_events = drive(client, server)
    assert client.handshake_complete and server.handshake_complete
    assert client.parameters is not None and client.parameters.early_data_accepted is True
    assert server.parameters is not None and server.parameters.early_data_accepted is True
    assert client.parameters.resumed
    # The key log: the same client_early_traffic_secret on both sides.
    early = [
        [e.secret for e in log.events if isinstance(e, SecretTrace) and e.label == "client_early_traffic_secret"]
        for log in (client_log, server_log)
    ]
    assert len(early[0]) == 1 and early[0][0] and early[0] == early[1]
    client.send(b"after")
    assert [e.data for e in server.receive_bytes(client.data_to_send()) if isinstance(e, ApplicationData)] == [b"after"]
    server.send(b"answer")
    assert [e.data for e in client.receive_bytes(server.data_to_send()) if isinstance(e, ApplicationData)] == [
        b"answer"
    ]
    with pytest.raises(NotNegotiatedError):
        client.send_early_data(b"late")


def _rejected(client: ClientConnection, server: ServerConnection, server_log: EventList, reason: str) -> list[Event]:
    client_events, server_events = drive(client, server)
    assert client.handshake_complete and server.handshake_complete, (client.error, server.error)
    assert not any(isinstance(e, EarlyData) for e in server_events)
    assert client.parameters is not None and client.parameters.early_data_accepted is False
    assert server.parameters is not None and server.parameters.early_data_accepted is False
    assert any(reason in r for r in rejections(server_log)), rejections(server_log)
    client.send(b"1-RTT")
    data = [e.data for e in server.receive_bytes(client.data_to_send()) if isinstance(e, ApplicationData)]
    assert data == [b"1-RTT"]
    return server_events


def test_rejected_by_a_server_without_early_data() -> None:
    scfg = server_config(max_early_data_size=1024)
    session = ticket(scfg)
    log = EventList()
    client = ClientConnection(client_config(), "localhost", session=session, early_data=DATA)
    server = ServerConnection(replace(scfg, max_early_data_size=0), observer=log)
    _rejected(client, server, log, "max_early_data_size 0")


@pytest.mark.parametrize("lowered_to", [100, 0])
def test_a_ticket_issued_before_max_early_data_size_was_lowered(lowered_to: int) -> None:
    """The ticket allows 16384 bytes (RFC 8446, Section 4.6.1: what the client may send with it); the
    server now takes 100. It accepted the 0-RTT "up to 100 bytes" and aborted a client sending 1000 with
    unexpected_message, or, rejecting it, skipped only 100. Now rejected, and the ticket's 16384 skipped."""
    scfg = server_config(max_early_data_size=16384)
    session = ticket(scfg)
    log = EventList()
    client = ClientConnection(client_config(), "localhost", session=session, early_data=bytes(16000))
    server = ServerConnection(replace(scfg, max_early_data_size=lowered_to), observer=log)
    _rejected(client, server, log, "this server" if lowered_to == 0 else "max_early_data_size was lowered")


def test_early_data_sent_anyway_is_skipped() -> None:
    """A ticket that allows none, a client that sends some anyway: skipped, not bad_record_mac."""
    scfg = server_config()
    session = replace(ticket(scfg), max_early_data=4000)
    log = EventList()
    client = ClientConnection(client_config(), "localhost", session=session, early_data=bytes(3000))
    server = ServerConnection(scfg, observer=log)
    _rejected(client, server, log, "accepts no early data")


def test_client_refuses_early_data_the_ticket_does_not_allow() -> None:
    session = ticket(server_config(max_early_data_size=10))
    with pytest.raises(ConfigError, match="max_early_data"):
        ClientConnection(client_config(), "localhost", session=session, early_data=bytes(11))
    with pytest.raises(ConfigError, match="does not allow"):
        ClientConnection(client_config(), "localhost", session=ticket(server_config()), early_data=b"x")
    with pytest.raises(ConfigError, match=r"TLS 1\.3 ticket"):
        ClientConnection(client_config(), "localhost", early_data=b"x")
    client = ClientConnection(client_config(), "localhost", session=session, early_data=bytes(10))
    with pytest.raises(NotNegotiatedError, match="exceed"):
        client.send_early_data(b"1")


def test_replayed_client_hello_is_rejected() -> None:
    scfg = server_config(max_early_data_size=1024)
    session = ticket(scfg)
    client = ClientConnection(client_config(), "localhost", session=session, early_data=DATA)
    flight = client.data_to_send()
    first = ServerConnection(scfg)
    assert [e.data for e in first.receive_bytes(flight) if isinstance(e, EarlyData)] == [DATA]
    log = EventList()
    second = ServerConnection(scfg, observer=log)  # the same configuration, so the same replay guard
    events = second.receive_bytes(flight)
    assert not any(isinstance(e, EarlyData) for e in events)
    assert second.error is None and second.data_to_send()  # it answers, as a 1-RTT handshake
    assert any("replayed ClientHello" in r for r in rejections(log)), rejections(log)


def test_second_use_of_a_ticket_is_rejected() -> None:
    scfg = server_config(max_early_data_size=1024)
    session = ticket(scfg)
    client = ClientConnection(client_config(), "localhost", session=session, early_data=DATA)
    drive(client, ServerConnection(scfg))
    assert client.parameters is not None and client.parameters.early_data_accepted
    log = EventList()
    again = ClientConnection(client_config(), "localhost", session=session, early_data=DATA)
    _rejected(again, ServerConnection(scfg, observer=log), log, "single use")


def test_stale_client_hello_is_rejected() -> None:
    scfg = server_config(max_early_data_size=1024)
    session = ticket(scfg)
    log = EventList()
    client = ClientConnection(client_config(), "localhost", session=session, early_data=DATA)
    later = datetime.now(UTC) + timedelta(seconds=60)
    server = ServerConnection(scfg, observer=log, clock=lambda: later)
    _rejected(client, server, log, "freshness window")


def test_no_accepted_psk() -> None:
    scfg = server_config(max_early_data_size=1024)
    session = ticket(scfg)
    log = EventList()
    client = ClientConnection(client_config(), "localhost", session=session, early_data=DATA)
    other = replace(scfg, ticket_keys=TicketKeys(os.urandom))  # cannot open the ticket: a full handshake
    events = _rejected(client, ServerConnection(other, observer=log), log, "no PSK accepted")
    assert client.parameters is not None and not client.parameters.resumed
    assert any(isinstance(e, HandshakeComplete) for e in events)


def test_client_refuses_early_data_for_an_alpn_it_does_not_offer() -> None:
    """RFC 8446, Section 4.2.10: early data goes under the ticket connection's ALPN protocol; a
    hello that does not offer it could only have the data refused (OpenSSL's client refuses too)."""
    scfg = server_config(max_early_data_size=100, alpn=("http/1.1", "h2"))
    session = ticket(scfg, client_config(alpn=("http/1.1",)))
    assert session.alpn == "http/1.1"
    with pytest.raises(ConfigError, match=r"belongs to ALPN protocol 'http/1\.1', which this connection does not"):
        ClientConnection(client_config(alpn=("h2",)), "localhost", session=session, early_data=DATA)
    client = ClientConnection(client_config(alpn=("h2", "http/1.1")), "localhost", session=session, early_data=DATA)
    server = ServerConnection(scfg)
    _, server_events = drive(client, server)
    assert [e.data for e in server_events if isinstance(e, EarlyData)] == [DATA]
    assert server.parameters.alpn == "http/1.1"


def test_a_client_refuses_early_data_accepted_under_another_alpn() -> None:
    """RFC 8446, Section 4.2.10: accepted early data goes under the ticket's ALPN protocol. A server
    (changed on the wire here) that accepts it but selects another is illegal_parameter, as OpenSSL
    and BoringSSL answer (BoGo's EarlyData-BadALPNMismatch-Client-TLS13); it was taken."""
    scfg = server_config(max_early_data_size=100, alpn=("http/1.1", "h2"))
    session = ticket(scfg, client_config(alpn=("http/1.1",)))

    def other_alpn(ee: Handshake) -> bytes:
        alpn = Extension.make(ExtensionType.application_layer_protocol_negotiation, (b"h2",), X.EE)
        kept = tuple(e for e in ee.extensions if e.type != ExtensionType.application_layer_protocol_negotiation)  # type: ignore[attr-defined]
        return replace(ee, extensions=(*kept, alpn)).encode()

    client = ClientConnection(client_config(alpn=("http/1.1", "h2")), "localhost", session=session, early_data=DATA)
    server = TamperingServer(scfg, once(EncryptedExtensions, other_alpn))
    drive(client, server)
    assert isinstance(client.error, AlertError) and client.error.description == AlertDescription.illegal_parameter
    assert "early data under ALPN 'h2'" in str(client.error)


def test_a_client_refuses_early_data_accepted_under_another_cipher_suite() -> None:
    """RFC 8446, Section 4.2.10: early data is accepted only under the ticket's suite, which sealed it.
    A server that resumes under another suite of the same hash (allowed) and says it accepted the early
    data (added on the wire here: glasstls's server refuses it) is illegal_parameter, as BoringSSL's
    client answers (CIPHER_MISMATCH_ON_EARLY_DATA); the client took it and reported it accepted."""
    first = server_config(max_early_data_size=100)
    session = ticket(first)
    assert session.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    chacha_first = (CipherSuite.TLS_CHACHA20_POLY1305_SHA256, CipherSuite.TLS_AES_128_GCM_SHA256)
    scfg = replace(first, cipher_suites=chacha_first)  # (the same ticket keys)

    def accepted(ee: Handshake) -> bytes:
        early = Extension.make(ExtensionType.early_data, True, X.EE)
        return replace(ee, extensions=(*ee.extensions, early)).encode()  # type: ignore[attr-defined]

    client = ClientConnection(client_config(), "localhost", session=session, early_data=DATA)
    drive(client, TamperingServer(scfg, once(EncryptedExtensions, accepted)))
    assert isinstance(client.error, AlertError) and client.error.description == AlertDescription.illegal_parameter
    assert "early data sealed under TLS_AES_128_GCM_SHA256 in a handshake under TLS_CHACHA20_POLY1305_SHA256" in str(
        client.error
    )


def test_too_much_early_data() -> None:
    scfg = server_config(max_early_data_size=100)
    session = replace(ticket(scfg), max_early_data=1000)  # the client believes it may send more
    client = ClientConnection(client_config(), "localhost", session=session, early_data=bytes(200))
    server = ServerConnection(scfg)
    server.receive_bytes(client.data_to_send())
    assert isinstance(server.error, AlertError)
    assert server.error.description == AlertDescription.unexpected_message


def test_hello_retry_request_rejects_early_data() -> None:
    """The server wants another group: a HelloRetryRequest, the early records skipped."""
    scfg = server_config(max_early_data_size=1024)
    session = ticket(scfg)
    log = EventList()
    client = ClientConnection(client_config(), "localhost", session=session, early_data=DATA)
    server = ServerConnection(replace(scfg, groups=(NamedGroup.secp384r1,)), observer=log)
    _rejected(client, server, log, "HelloRetryRequest")
    assert client.parameters is not None and client.parameters.resumed


@pytest.mark.parametrize("size", [16368, 16384, 40000])
def test_full_size_early_records_before_a_hello_retry_request_are_skipped(size: int) -> None:
    """Early data in full 16 KiB records, then a HelloRetryRequest: each record is a protected one
    of up to 2^14 + 256 bytes (RFC 8446, Section 5.2), skipped unread (Section 4.2.10). A record
    over 2^14 bytes was record_overflow, as if it were plaintext, so a client with that much early
    data could not connect to a server that asked for another group (found by a BoGo review)."""
    scfg = server_config(max_early_data_size=65536)
    session = ticket(scfg)
    log = EventList()
    client = ClientConnection(client_config(), "localhost", session=session, early_data=bytes(size))
    server = ServerConnection(replace(scfg, groups=(NamedGroup.secp384r1,)), observer=log)
    _rejected(client, server, log, "HelloRetryRequest")
    assert client.parameters is not None and client.parameters.resumed


def test_a_client_that_sent_early_data_refuses_a_tls12_server_hello() -> None:
    """RFC 8446, Appendix D.3: after 0-RTT data the client MUST fail a connection whose server answers
    TLS 1.2 (BoGo's EarlyDataVersionDowngrade-Client-TLS13). It went on and sent its ClientKeyExchange
    under the early keys, and the failure came back as an unexpected_message nobody could act on."""
    scfg = server_config(max_early_data_size=1024)
    session = ticket(scfg)
    client = ClientConnection(client_config(), "localhost", session=session, early_data=DATA)
    server = ServerConnection(replace(scfg, tls_max=ProtocolVersion.TLSv1_2, max_early_data_size=0))
    server.receive_bytes(client.data_to_send())  # the ClientHello and the early data
    client.receive_bytes(server.data_to_send())  # a TLS 1.2 ServerHello
    assert isinstance(client.error, AlertError) and client.error.description == AlertDescription.protocol_version
    assert "Appendix D.3" in str(client.error)


def test_the_blocking_adapter_reads_accepted_early_data_first() -> None:
    """Over real sockets: the server's recv() returns the 0-RTT bytes, then the 1-RTT ones, and
    says how many were early (they may be a replay: RFC 8446, Section 8); nothing is lost."""
    import socket
    import threading

    import glasstls

    identity = server_identity("localhost")
    server_config = ServerConfig(
        certificates=(glasstls.CertifiedKey(identity.chain, identity.private_key),), max_early_data_size=1024
    )
    client_config = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    seen: list[tuple[bytes, int]] = []

    def serve() -> None:
        for _ in range(2):
            sock, _ = listener.accept()
            with sock, glasstls.accept(sock, server_config, timeout=20) as tls:
                data = b""
                while not data.endswith(b"late\n"):
                    data += tls.recv()
                seen.append((data, tls.early_data_received))
                tls.sendall(b"ok\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    store = glasstls.SessionStore()
    with glasstls.connect("127.0.0.1", port, client_config, server_name="localhost", session_store=store) as tls:
        tls.sendall(b"first late\n")
        assert tls.recv() == b"ok\n"  # the tickets came before it
    session = store.offer(("localhost", port), datetime.now(UTC))
    assert session is not None and session.max_early_data == 1024
    with glasstls.connect(
        "127.0.0.1", port, client_config, server_name="localhost", session=session, early_data=b"early "
    ) as tls:
        assert tls.parameters is not None and tls.parameters.early_data_accepted is True
        tls.sendall(b"late\n")
        assert tls.recv() == b"ok\n"
    thread.join(20)
    listener.close()
    assert seen == [(b"first late\n", 0), (b"early late\n", 6)]
