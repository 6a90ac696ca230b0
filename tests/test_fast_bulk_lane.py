"""The connection's bulk lane held to its careful path.

``Connection.send`` seals one record of application data of at most 2^14 bytes
straight into the record layer's output when ``_sealer`` holds the write keys:
chosen by ``_choose_sealer`` at every change of the keys, the write limit, the
handshake's completion and the close states (TLS 1.3 keys, the full write limit,
no trace hook, handshake complete, not closed). Everything else takes
``_send`` and ``RecordLayer.send``.

Twin pairs replay byte for byte (an Ed25519 server, x25519, counted randomness, one
clock, shared configurations): in one, no connection is traced and the lanes are
taken; in the other, every connection has an observer, so every record takes the
careful path (as in tests/test_fast_record_layer.py). The same script, run on both,
must put the same bytes on the wire, return the same events and raise the same
errors, for every TLS 1.3 suite, around each change the lane follows: a KeyUpdate
either way, asked for or forced by KEY_UPDATE_AFTER_RECORDS (RFC 8446, Section 5.5),
the sequence number limit (Section 5.3), record_size_limit (RFC 8449), close_notify
either way, and fatal alerts sent and received. The lane twin also says, at each
step, whether the lane is chosen: a test that passes with it never taken proves
nothing. (A trace hook is given when a connection is made, RecordLayer(hook), and
cannot be attached later: the traced twin never has a lane, which run_twins asserts.)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ServerConfig, ServerConnection
from glasstls.connection import KEY_UPDATE_AFTER_RECORDS, Connection
from glasstls.enums import CipherSuite, NamedGroup, ProtocolVersion
from glasstls.events import AlertReceived, ApplicationData, ConnectionClosed, Event, KeyUpdated
from glasstls.observe import EventList
from glasstls.record.protection import MAX_PLAINTEXT
from glasstls.x509.store import TrustStore
from pairs import default_ca

SUITES = [
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_AES_128_CCM_SHA256,
    CipherSuite.TLS_AES_128_CCM_8_SHA256,
]
# Sizes around the lane's bound: one byte, one short of full, full, one past full (two records).
SIZES = (1, MAX_PLAINTEXT - 1, MAX_PLAINTEXT, MAX_PLAINTEXT + 1)


def _counted() -> Callable[[int], bytes]:
    counter = itertools.count()
    return lambda n: bytes((next(counter) + i) % 256 for i in range(n))


class Twins:
    """A client and a server, connected, in one of two twins of the same handshake."""

    def __init__(self, configs: tuple[ClientConfig, ServerConfig], now: datetime, traced: bool) -> None:
        client_config, server_config = configs
        observer = {"observer": EventList()} if traced else {}
        self.client = ClientConnection(client_config, "localhost", randomness=_counted(), clock=lambda: now, **observer)
        observer = {"observer": EventList()} if traced else {}
        self.server = ServerConnection(server_config, randomness=_counted(), clock=lambda: now, **observer)
        self.log: list[Any] = []
        for _ in range(4):
            self.move(self.client, self.server)
            self.move(self.server, self.client)
        assert self.client.handshake_complete and self.server.handshake_complete
        # The log starts with the traffic: a ticket differs between twins (its sealing draws its
        # own randomness), the keys and what they protect do not.
        self.log = []

    def move(self, sender: Connection, receiver: Connection) -> None:
        """What ``sender`` has queued, into ``receiver``: the bytes and the events logged."""
        wire = sender.data_to_send()
        self.log.append((sender.side, "wire", wire))
        self.log.append((receiver.side, "events", [_event(e) for e in receiver.receive_bytes(wire)]))

    def act(self, conn: Connection, action: Callable[..., object], *args: Any) -> None:
        """``action(*args)``, a method of ``conn``: its error (type and message) logged."""
        try:
            action(*args)
            self.log.append((conn.side, "ok"))
        except Exception as exc:
            self.log.append((conn.side, type(exc).__name__, str(exc)))


def _event(event: Event) -> Any:
    """An event as data (errors compare by identity): its class and what it carries."""
    if isinstance(event, ConnectionClosed):
        error = event.error
        return ("closed", event.by_peer, None if error is None else (type(error).__name__, str(error)))
    if isinstance(event, ApplicationData | AlertReceived | KeyUpdated):
        return event
    return type(event).__name__


def configs(suite: CipherSuite, client: dict[str, Any], server: dict[str, Any]) -> tuple[ClientConfig, ServerConfig]:
    ca = default_ca()
    identity = ca.issue_server(["localhost"], key_type="ed25519")  # deterministic signatures
    classical = {"groups": (NamedGroup.x25519,), "cipher_suites": (suite,)}  # (ML-KEM draws its own randomness)
    return (
        ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()), **classical, **client),
        ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **classical, **server),
    )


Script = Callable[[Twins], None]


def run_twins(
    suite: CipherSuite, script: Script, client: dict[str, Any] | None = None, server: dict[str, Any] | None = None
) -> Twins:
    """``script`` run on both twins (the careful one first); their logs must be equal. The lane twin."""
    shared, now = configs(suite, client or {}, server or {}), datetime.now(UTC)  # (one clock for both twins)
    careful = Twins(shared, now, traced=True)
    assert careful.client._sealer is None and careful.server._sealer is None
    script(careful)
    lanes = Twins(shared, now, traced=False)
    script(lanes)
    assert lanes.log == careful.log
    return lanes


def chosen(conn: Connection) -> bool:
    """The lane is chosen, and it is the write keys (the invariant _choose_sealer keeps)."""
    assert conn._sealer is None or conn._sealer is conn._records.write
    return conn._sealer is not None


def send_each_size(t: Twins, sender: Connection, receiver: Connection) -> None:
    for n in SIZES:
        t.act(sender, sender.send, bytes([n % 251]) * n)
        t.move(sender, receiver)
    t.act(sender, sender.send, b"")
    t.act(sender, sender.send, bytearray(b"not bytes"))
    t.act(sender, sender.send, memoryview(bytes(MAX_PLAINTEXT)))
    t.move(sender, receiver)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_data_both_ways_and_key_updates_either_way(suite: CipherSuite) -> None:
    def script(t: Twins) -> None:
        client, server = t.client, t.server
        lane = client._observer is None
        assert chosen(client) is lane and chosen(server) is lane
        send_each_size(t, client, server)
        send_each_size(t, server, client)
        for updater, peer in ((client, server), (server, client)):
            for request in (False, True):
                old = updater._records.write
                t.act(updater, updater.update_keys, request)
                assert updater._records.write is not old and chosen(updater) is lane
                t.act(updater, updater.send, bytes(MAX_PLAINTEXT))
                t.move(updater, peer)
                t.act(peer, peer.send, bytes(MAX_PLAINTEXT))  # (under its new keys when asked)
                t.move(peer, updater)
                assert chosen(peer) is lane

    run_twins(suite, script)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_a_worn_key_is_updated_after_the_record_that_wears_it(suite: CipherSuite) -> None:
    """RFC 8446, Section 5.5: the record that brings the count to KEY_UPDATE_AFTER_RECORDS goes
    under the old key, a KeyUpdate follows, the next record goes under the new key."""

    def script(t: Twins) -> None:
        client, server = t.client, t.server
        lane = client._observer is None
        for sender, receiver in ((client, server), (server, client)):
            sender._records.write.seq = receiver._records.read.seq = KEY_UPDATE_AFTER_RECORDS - 2
            worn = sender._records.write
            for n in (MAX_PLAINTEXT, 100, MAX_PLAINTEXT):
                t.act(sender, sender.send, bytes(n))
                t.log.append((sender.side, "updated", sender._records.write is not worn))
                assert chosen(sender) is lane
            t.move(sender, receiver)

    twins = run_twins(suite, script)
    assert ("client", "updated", True) in twins.log and ("client", "updated", False) in twins.log


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_the_sequence_number_limit_closes_as_before(suite: CipherSuite) -> None:
    """RFC 8446, Section 5.3: a sequence number never wraps; the send raises and the connection
    closes, on the lane (a full record) as on the careful path (a record past the limit)."""
    for n in (MAX_PLAINTEXT, MAX_PLAINTEXT + 1):

        def script(t: Twins, n: int = n) -> None:
            client, server = t.client, t.server
            client._records.write.seq = (1 << 64) - 2
            server._records.read.seq = (1 << 64) - 2
            t.act(client, client.send, bytes(n))
            t.act(client, client.send, bytes(n))
            t.log.append(("client", "closed", client.closed, client.error and str(client.error)))
            assert not chosen(client)
            t.act(client, client.send, bytes(n))
            t.move(client, server)

        run_twins(suite, script)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_record_size_limits_keep_the_careful_path(suite: CipherSuite) -> None:
    """RFC 8449: a peer's record_size_limit below 2^14 + 1 leaves no lane for its direction."""

    def script(t: Twins) -> None:
        client, server = t.client, t.server
        assert not chosen(client) and chosen(server) is (client._observer is None)
        assert client._records.write_limit == 999
        send_each_size(t, client, server)
        send_each_size(t, server, client)

    run_twins(suite, script, server={"record_size_limit": 1000})


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_close_notify_either_way(suite: CipherSuite) -> None:
    """RFC 8446, Section 6.1: after close() nothing more is sent; after the peer's close_notify
    this side may go on sending (on the lane) until it closes too."""

    def script(t: Twins) -> None:
        client, server = t.client, t.server
        lane = client._observer is None
        t.act(client, client.close)
        assert not chosen(client) and chosen(server) is lane
        t.act(client, client.send, bytes(MAX_PLAINTEXT))
        t.move(client, server)
        assert server.peer_closed and chosen(server) is lane
        send_each_size(t, server, client)
        t.act(server, server.close)
        assert not chosen(server)
        t.act(server, server.send, bytes(MAX_PLAINTEXT))
        t.move(server, client)
        t.log.append(("both", "closed", client.closed, server.closed))

    run_twins(suite, script)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_fatal_alerts_sent_and_received_end_the_lane(suite: CipherSuite) -> None:
    def script(t: Twins) -> None:
        client, server = t.client, t.server
        t.act(client, client.send, bytes(MAX_PLAINTEXT))
        wire = bytearray(client.data_to_send())
        wire[-1] ^= 1  # the tag: bad_record_mac (RFC 8446, Section 5.2)
        t.log.append(("server", "events", [_event(e) for e in server.receive_bytes(bytes(wire))]))
        assert not chosen(server)
        t.act(server, server.send, bytes(MAX_PLAINTEXT))
        t.move(server, client)  # the alert
        assert not chosen(client)
        t.act(client, client.send, bytes(MAX_PLAINTEXT))
        t.log.append(("both", "closed", client.closed, server.closed))

    run_twins(suite, script)


def test_tls12_takes_no_lane() -> None:
    """TLS 1.2 keys (Protection12) are never the lane: its records go through RecordLayer.send."""
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    tls12 = {"tls_max": ProtocolVersion.TLSv1_2, "cipher_suites": (suite,)}
    ca = default_ca()
    identity = ca.issue_server(["localhost"], key_type="ecdsa-p256")
    client = ClientConnection(ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()), **tls12), "localhost")
    server = ServerConnection(ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **tls12))
    for _ in range(4):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.version == ProtocolVersion.TLSv1_2 and client.handshake_complete
    assert client._sealer is None and server._sealer is None
    client.send(bytes(MAX_PLAINTEXT))
    assert [len(e.data) for e in server.receive_bytes(client.data_to_send()) if isinstance(e, ApplicationData)] == [
        MAX_PLAINTEXT
    ]


@pytest.mark.parametrize("version", [0x0203, 0x0403, 0x1303], ids=lambda v: f"{v:#06x}")
def test_a_record_whose_version_does_not_begin_with_3_is_refused_on_either_path(version: int) -> None:
    """RFC 8446, Appendix D.5: no record below 0x0300, and none above 0x03ff is TLS. An application_data
    record whose version's major byte is not 3 is refused with protocol_version, on the bulk lane as on
    the careful path (the twins' logs are equal), though its protection is sound; and the drivers'
    framing (record_size_at) does not take such a header for a record."""
    from glasstls.record.layer import record_size_at

    def script(t: Twins) -> None:
        t.act(t.client, t.client.send, b"x" * 100)
        wire = bytearray(t.client.data_to_send())
        wire[1:3] = version.to_bytes(2, "big")
        t.log.append((t.server.side, "events", [_event(e) for e in t.server.receive_bytes(bytes(wire))]))

    lanes = run_twins(CipherSuite.TLS_AES_128_GCM_SHA256, script)
    closed = lanes.log[-1][2][-1]
    assert closed[0] == "closed" and "protocol_version" in closed[2][1] and f"{version:04x}" in closed[2][1]
    header = bytes((23,)) + version.to_bytes(2, "big") + (100).to_bytes(2, "big")
    assert record_size_at(header, 0) is None
    assert record_size_at(bytes((23, 3, 3, 0, 100)), 0) == 105
