"""``glasstls dissect``: captures written from the tests' own connections, read back as trace events.

Each test runs a glasstls client and server in memory, keeps the bytes each
side sent in the order it sent them, and writes them as a capture of one TCP
connection (``trace.pcap.tcp_packets`` / ``write_capture``: Ethernet, IPv4,
TCP with real sequence and acknowledgment numbers, large writes split into
segments). The key log comes from the library's own observer
(``trace.keylog.KeyLog``) on the client. Then the capture is dissected and
compared with what the two live connections traced themselves: the same
records (header, ciphertext, inner type, plaintext) and the same handshake
messages (byte for byte), in the same order, on each side. Capture damage —
a retransmitted segment, segments out of order, a lost segment, a cut file,
noise — must be survived, and what cannot be known must be said.
"""

from __future__ import annotations

import random
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dpkt
import pytest

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ServerConfig, ServerConnection
from glasstls.cli.main import main
from glasstls.connection import Connection
from glasstls.enums import CipherSuite, ContentType, ExtensionType, NamedGroup, ProtocolVersion
from glasstls.observe import AlertTrace, EventList, KeysTrace, MessageTrace, RecordTrace, TraceEvent
from glasstls.trace import pcap
from glasstls.trace.keylog import KeyLog
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity

REQUEST = b"GET /glasstls-secret-payload-1234 HTTP/1.1\r\nHost: localhost\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\n\r\n" + b"".join(b"line %05d of the answer\n" % i for i in range(1500))  # ~36 KB

TLS13_MESSAGES = [
    ("client", "ClientHello"),
    ("server", "ServerHello"),
    ("server", "EncryptedExtensions"),
    ("server", "CompressedCertificate"),  # the glasstls client offers certificate compression (RFC 8879)
    ("server", "CertificateVerify"),
    ("server", "Finished"),
    ("client", "Finished"),
]
TLS12_MESSAGES = [
    ("client", "ClientHello"),
    ("server", "ServerHello"),
    ("server", "Certificate12"),
    ("server", "ServerKeyExchange"),
    ("server", "ServerHelloDone"),
    ("client", "ClientKeyExchange"),
    ("client", "Finished"),
    ("server", "NewSessionTicket12"),
    ("server", "Finished"),
]


# -- conversations ---------------------------------------------------------------------------


@dataclass
class Conversation:
    """One connection: what each side sent, in order, and what each traced live."""

    exchanges: list[tuple[str, bytes]] = field(default_factory=list)
    client_events: EventList = field(default_factory=EventList)
    server_events: EventList = field(default_factory=EventList)
    client: Any = None
    server: Any = None

    def live(self, side: str) -> list[TraceEvent]:
        return (self.client_events if side == "client" else self.server_events).events


class _Both:
    """Two observers as one (the live trace and the key log writer)."""

    def __init__(self, *observers: Any) -> None:
        self.observers = observers
        self.wants_secrets = any(o.wants_secrets for o in observers)

    def __call__(self, event: TraceEvent) -> None:
        for o in self.observers:
            o(event)


def converse(
    keylog: Path | None,
    *,
    client_kw: dict[str, Any] | None = None,
    server_kw: dict[str, Any] | None = None,
    session: Any = None,
    key_update: bool = False,
) -> Conversation:
    """A handshake, a request and a long answer, a close each way; every byte on the wire kept."""
    conv = Conversation()
    identity = server_identity("localhost")
    ccfg = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **(client_kw or {}))
    scfg = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **(server_kw or {}))
    writer = KeyLog(keylog) if keylog is not None else None
    client_observer = _Both(conv.client_events, writer) if writer else conv.client_events
    client = ClientConnection(ccfg, "localhost", session=session, observer=client_observer)
    server = ServerConnection(scfg, observer=conv.server_events)
    conv.client, conv.server = client, server

    def move(a: Connection, b: Connection, sender: str) -> None:
        data = a.data_to_send()
        if data:
            conv.exchanges.append((sender, data))
            b.receive_bytes(data)

    for _ in range(6):
        if client.handshake_complete and server.handshake_complete:
            break
        move(client, server, "client")
        move(server, client, "server")
    assert client.handshake_complete and server.handshake_complete
    move(server, client, "server")  # tickets sent after the handshake
    client.send(REQUEST)
    move(client, server, "client")
    if key_update:
        server.update_keys(request_peer=True)
        move(server, client, "server")
        move(client, server, "client")
    server.send(RESPONSE)
    move(server, client, "server")
    client.close()
    move(client, server, "client")
    server.close()
    move(server, client, "server")
    if writer is not None:
        writer.close()
    return conv


def data_packets(packets: list[bytes]) -> list[int]:
    return [i for i, p in enumerate(packets) if dpkt.ip.IP(p).data.data]


def damaged(packets: list[bytes]) -> list[bytes]:
    """One segment retransmitted later, two segments of a long write swapped."""
    packets = list(packets)
    data = data_packets(packets)
    # The answer's segments are the longest run of one sender: swap two in its middle.
    a = data[-6]
    packets[a], packets[a + 1] = packets[a + 1], packets[a]
    # A ClientHello segment retransmitted after the server's first flight.
    packets.insert(data[3] + 1, packets[data[0]])
    # And one of the server's segments sent twice in a row (a spurious retransmission).
    packets.insert(data[2] + 1, packets[data[2]])
    return packets


def write(tmp: Path, conv: Conversation, name: str = "capture.pcap", *, damage: bool = True, **kw: Any) -> Path:
    packets = pcap.tcp_packets(conv.exchanges, ("127.0.0.1", 50123), ("127.0.0.1", 4433), mss=1000)
    path = tmp / name
    pcap.write_capture(path, damaged(packets) if damage else packets, **kw)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["dissect", *map(str, args)]) == 0
    return capsys.readouterr().out


# -- comparing with the live trace -------------------------------------------------------------


def record_view(events: list[TraceEvent], side: str) -> dict[str, list[tuple]]:
    """Each direction's records in order. (Across directions a live side's order depends on when it
    processed what; e.g. a TLS 1.3 client sends its ChangeCipherSpec while reading the server's flight.)"""
    return {
        direction: [
            (e.content_type, e.header, e.payload, e.inner_type, e.plaintext)
            for e in events
            if isinstance(e, RecordTrace) and e.side == side and e.direction == direction
        ]
        for direction in ("out", "in")
    }


def message_view(events: list[TraceEvent], side: str) -> list[tuple[str, str, bytes]]:
    return [
        (e.direction, e.message.name, e.message.raw) for e in events if isinstance(e, MessageTrace) and e.side == side
    ]


def keys_view(events: list[TraceEvent], side: str) -> dict[str, list[str]]:
    """Each direction's key changes in order (across directions, as for records, the order is the side's own)."""
    return {
        direction: [e.epoch for e in events if isinstance(e, KeysTrace) and e.side == side and e.direction == direction]
        for direction in ("write", "read")
    }


def assert_same_as_live(stream: pcap.TLSStream, conv: Conversation, *, keys: bool = True) -> None:
    for side in ("client", "server"):
        live = conv.live(side)
        assert message_view(stream.events, side) == message_view(live, side), side
        assert record_view(stream.events, side) == record_view(live, side), side
        if keys:
            assert keys_view(stream.events, side) == keys_view(live, side), side


def sent_messages(stream: pcap.TLSStream) -> list[tuple[str, str]]:
    return [(e.side, e.message.name) for e in stream.events if isinstance(e, MessageTrace) and e.direction == "out"]


def application_data(stream: pcap.TLSStream, side: str) -> bytes:
    return b"".join(
        e.plaintext or b""
        for e in stream.events
        if isinstance(e, RecordTrace)
        and e.side == side
        and e.direction == "out"
        and e.inner_type == ContentType.application_data
    )


def assert_in_order(text: str, needles: list[str]) -> None:
    pos = 0
    for needle in needles:
        found = text.find(needle, pos)
        assert found >= 0, f"{needle!r} missing (or out of order) in:\n{text}"
        pos = found + len(needle)


def assert_messages_shown(text: str, messages: list[tuple[str, str]]) -> None:
    """Each message on the sender's line (">") and on the receiver's ("<"), each view in order."""
    sent, received = [], []
    for sender, name in messages:
        receiver = "server" if sender == "client" else "client"
        name = name.removesuffix("12")
        sent.append(f"{sender:<6} > {name} (")
        received.append(f"{receiver:<6} < {name} (")
    assert_in_order(text, sent)
    assert_in_order(text, received)


# -- TLS 1.3 -----------------------------------------------------------------------------------


def test_tls13_decrypted_is_the_live_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    capture = write(tmp_path, conv)
    result = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog))
    assert len(result.streams) == 1
    stream = result.streams[0]
    assert stream.version == ProtocolVersion.TLSv1_3
    assert stream.client == ("127.0.0.1", 50123) and stream.server == ("127.0.0.1", 4433)
    assert stream.encrypted_records == 0
    assert sent_messages(stream)[:7] == TLS13_MESSAGES
    assert application_data(stream, "client") == REQUEST
    assert application_data(stream, "server") == RESPONSE
    assert_same_as_live(stream, conv)
    assert not [e for e in stream.events if isinstance(e, pcap.NoteTrace)]

    out = run_cli(capsys, capture, "--keylog", keylog)
    assert_messages_shown(out, TLS13_MESSAGES)
    assert "client * write keys: application" in out
    assert "data: GET /glasstls-secret-payload-1234 HTTP/1.1\\r\\n" in out
    assert "line 00000 of the answer" in out
    assert "[encrypted]" not in out


def test_tls13_without_keys_shows_encrypted_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conv = converse(None)
    capture = write(tmp_path, conv)
    stream = pcap.dissect(capture).streams[0]
    assert sent_messages(stream) == TLS13_MESSAGES[:2]
    assert stream.decrypted_records == 0 and stream.encrypted_records > 4
    out = run_cli(capsys, capture)
    assert_messages_shown(out, TLS13_MESSAGES[:2])
    assert "server > record application_data" in out and "[encrypted]" in out
    assert "handshake records stay encrypted: no key log was given" in out
    for hidden in ("EncryptedExtensions", "CertificateVerify", "Finished"):
        assert f"> {hidden} (" not in out and f"< {hidden} (" not in out  # named below, never decoded
    assert "glasstls-secret-payload" not in out
    # TLS 1.3 hides every type behind application_data; where a record stands names it: the
    # server's first after its ServerHello begins its encrypted flight, the client's first after
    # that begins its own (here the Finished alone), in both sides' views. Later ones (tickets,
    # data, alerts) are not named.
    flight = "[encrypted: the server's encrypted handshake begins: EncryptedExtensions, then Certificate"
    finished = "[encrypted: the client's encrypted handshake begins: EndOfEarlyData if its 0-RTT data was accepted"
    encrypted = [line for line in out.splitlines() if "[encrypted" in line]
    assert encrypted[0].startswith("server > record application_data") and flight in encrypted[0]
    assert encrypted[1].startswith("client < record application_data") and flight in encrypted[1]
    assert encrypted[2].startswith("client > record application_data") and finished in encrypted[2]
    assert encrypted[3].startswith("server < record application_data") and finished in encrypted[3]
    assert all(line.endswith("[encrypted]") for line in encrypted[4:]) and len(encrypted) > 6
    assert sum("--keylog FILE opens it" in line for line in encrypted) == 4


def test_tls13_key_log_of_another_connection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.log"
    converse(other)
    conv = converse(None)
    out = run_cli(capsys, write(tmp_path, conv), "--keylog", other)
    assert "the key log has no SERVER_HANDSHAKE_TRAFFIC_SECRET for this connection" in out
    assert "glasstls-secret-payload" not in out


def test_tls13_hello_retry_and_key_update(tmp_path: Path) -> None:
    keylog = tmp_path / "keys.log"
    conv = converse(
        keylog,
        client_kw={"groups": (NamedGroup.x25519, NamedGroup.secp256r1)},
        server_kw={"groups": (NamedGroup.secp256r1,)},
        key_update=True,
    )
    stream = pcap.dissect(write(tmp_path, conv), pcap.NSSKeyLog.load(keylog)).streams[0]
    names = [name for _, name in sent_messages(stream)]
    assert names[:3] == ["ClientHello", "HelloRetryRequest", "ClientHello"]
    assert names.count("KeyUpdate") == 2  # the server's, and the client's answer
    assert application_data(stream, "server") == RESPONSE  # sent under the updated keys
    assert stream.encrypted_records == 0
    for side in ("client", "server"):
        assert message_view(stream.events, side) == message_view(conv.live(side), side)
        assert record_view(stream.events, side) == record_view(conv.live(side), side)
    assert "application+1" in keys_view(stream.events, "server")["write"]


@pytest.mark.parametrize("version", [ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2], ids=["TLS1.3", "TLS1.2"])
def test_client_certificate(tmp_path: Path, version: ProtocolVersion) -> None:
    """The client's Certificate and CertificateVerify: under handshake keys in TLS 1.3, in the clear in 1.2."""
    keylog = tmp_path / "keys.log"
    alice = default_ca().issue_client("alice")
    conv = converse(
        keylog,
        client_kw={"certificate": CertifiedKey(alice.chain, alice.private_key), "tls_max": version},
        server_kw={"client_auth": "required", "client_trust_store": TrustStore.from_pem(default_ca().root_pem())},
    )
    stream = pcap.dissect(write(tmp_path, conv), pcap.NSSKeyLog.load(keylog)).streams[0]
    sent = sent_messages(stream)
    assert ("server", "CertificateRequest" if version == ProtocolVersion.TLSv1_3 else "CertificateRequest12") in sent
    assert ("client", "CertificateVerify") in sent
    assert stream.encrypted_records == 0
    assert_same_as_live(stream, conv)


# -- TLS 1.2 -----------------------------------------------------------------------------------

TLS12 = {"tls_max": ProtocolVersion.TLSv1_2}
CBC_SUITE = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256


@pytest.mark.parametrize("suite", [None, CBC_SUITE], ids=["ECDHE-GCM", "ECDHE-CBC-EtM"])
def test_tls12_decrypted_is_the_live_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suite: CipherSuite | None
) -> None:
    keylog = tmp_path / "keys.log"
    kw = dict(TLS12, cipher_suites=(suite,)) if suite else TLS12
    conv = converse(keylog, client_kw=kw, server_kw={"cipher_suites": (suite,)} if suite else None)
    capture = write(tmp_path, conv, "capture.pcapng", pcapng=True)
    stream = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog)).streams[0]
    assert stream.version == ProtocolVersion.TLSv1_2
    assert stream.cipher_suite == (suite or CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
    assert sent_messages(stream) == TLS12_MESSAGES
    assert stream.encrypted_records == 0
    assert application_data(stream, "client") == REQUEST
    assert application_data(stream, "server") == RESPONSE
    assert_same_as_live(stream, conv)

    out = run_cli(capsys, capture, "--keylog", keylog)
    assert_messages_shown(out, TLS12_MESSAGES)
    assert "glasstls-secret-payload-1234" in out and "line 01499 of the answer" not in out  # a preview only
    full = run_cli(capsys, capture, "--keylog", keylog, "--trace=full")
    dumped = "".join(re.findall(r"^ +[0-9a-f]{4}  [0-9a-f ]{47}  \|(.{1,16})\|$", full, re.MULTILINE))
    assert "line 01499 of the answer" in dumped  # all of it, as a hex dump


def test_tls12_cbc_encrypt_then_mac_was_negotiated(tmp_path: Path) -> None:
    """The CBC case above decrypts only because encrypt_then_mac (RFC 7366) is read from the ServerHello."""
    keylog = tmp_path / "keys.log"
    conv = converse(
        keylog, client_kw=dict(TLS12, cipher_suites=(CBC_SUITE,)), server_kw={"cipher_suites": (CBC_SUITE,)}
    )
    stream = pcap.dissect(write(tmp_path, conv), pcap.NSSKeyLog.load(keylog)).streams[0]
    hello = next(e.message for e in stream.events if isinstance(e, MessageTrace) and e.message.name == "ServerHello")
    assert hello.ext(22) is not None  # encrypt_then_mac
    assert stream.decrypted_records > 0 and stream.encrypted_records == 0


def test_tls12_without_keys_shows_encrypted_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conv = converse(None, client_kw=TLS12)
    capture = write(tmp_path, conv)
    stream = pcap.dissect(capture).streams[0]
    # Everything before ChangeCipherSpec is in the clear in TLS 1.2; the Finished messages are not.
    assert sent_messages(stream) == [m for m in TLS12_MESSAGES if m[1] != "Finished"]
    out = run_cli(capsys, capture)
    # The encrypted Finished is named for what it is (Wireshark's "Encrypted Handshake Message"), not decoded.
    named = "[encrypted: the Finished, Wireshark's Encrypted Handshake Message; --keylog FILE opens it]"
    assert f"client > record handshake, TLSv1.2, 40 bytes {named}" in out
    # Each side's Finished, in each side's view; application data and alerts are not named.
    for line in ("client > ", "server < ", "server > ", "client < "):
        assert f"{line}record handshake, TLSv1.2, 40 bytes {named}" in out, line
    assert out.count(named) == 4 and "record alert, TLSv1.2, 26 bytes [encrypted]" in out
    assert "client ~ the client's records stay encrypted: no key log was given" in out
    assert "Finished (20)" not in out and "verify_data" not in out and "glasstls-secret-payload" not in out


def test_tls12_resumption_in_a_second_connection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two TCP connections in one capture: a full handshake, then a resumption by ticket."""
    keylog = tmp_path / "keys.log"
    scfg_kw: dict[str, Any] = {}
    first = converse(keylog, client_kw=TLS12, server_kw=scfg_kw)
    # The second server must be able to read the first's ticket: share its ticket keys.
    scfg_kw["ticket_keys"] = first.server.config.ticket_keys
    second = converse(keylog, client_kw=TLS12, server_kw=scfg_kw, session=first.client.session)
    assert second.client.parameters.resumed
    packets = pcap.tcp_packets(first.exchanges, ("127.0.0.1", 50001), ("127.0.0.1", 4433))
    packets += pcap.tcp_packets(second.exchanges, ("127.0.0.1", 50002), ("127.0.0.1", 4433))
    capture = tmp_path / "two.pcap"
    pcap.write_capture(capture, packets)
    result = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog))
    assert [s.client[1] for s in result.streams] == [50001, 50002]
    resumed = result.streams[1]
    # RFC 5077, Section 3.1: the abbreviated handshake, the server's Finished first.
    assert sent_messages(resumed) == [
        ("client", "ClientHello"),
        ("server", "ServerHello"),
        ("server", "Finished"),
        ("client", "Finished"),
    ]
    assert application_data(resumed, "client") == REQUEST
    assert_same_as_live(resumed, second)
    out = run_cli(capsys, capture, "--keylog", keylog, "--connection", "2", "--side", "client")
    assert out.count("== connection") == 1 and "client < Finished (20)" in out
    assert not re.search(r"^server ", out, re.MULTILINE)


# -- capture formats -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "pcapng"),
    [("ethernet", False), ("ethernet", True), ("sll", False), ("sll2", False), ("raw", False), ("null", True)],
)
def test_link_types(tmp_path: Path, link: str, pcapng: bool) -> None:
    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    capture = write(tmp_path, conv, link=link, pcapng=pcapng)
    stream = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog)).streams[0]
    assert_same_as_live(stream, conv)


def test_ipv6_and_vlan(tmp_path: Path) -> None:
    """IPv6 inside an 802.1Q-tagged Ethernet frame, the way a trunk port captures it."""
    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    frames = []
    for raw in pcap.tcp_packets(conv.exchanges, ("127.0.0.1", 50123), ("127.0.0.1", 4433)):
        ip4 = dpkt.ip.IP(raw)
        tcp = ip4.data
        v6 = dpkt.ip6.IP6(src=b"\x00" * 15 + b"\x01", dst=b"\x00" * 15 + b"\x01", nxt=6, hlim=64, data=tcp)
        v6.plen = len(tcp)
        tcp.sum = 0
        frames.append(b"\x02" * 6 + b"\x04" * 6 + b"\x81\x00\x00\x07\x86\xdd" + bytes(v6))
    capture = tmp_path / "v6.pcap"
    with capture.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh)
        for i, frame in enumerate(frames):
            writer.writepkt(frame, ts=i / 1000)
    stream = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog)).streams[0]
    assert stream.client == ("::1", 50123)
    assert_same_as_live(stream, conv)


# -- odd captures ---------------------------------------------------------------------------------


def test_lost_segment_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    packets = pcap.tcp_packets(conv.exchanges, mss=1000)
    del packets[data_packets(packets)[-8]]  # a segment of the long answer never captured
    capture = tmp_path / "lost.pcap"
    pcap.write_capture(capture, packets)
    stream = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog)).streams[0]
    assert sent_messages(stream)[:7] == TLS13_MESSAGES
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    assert any("follow data the capture does not hold" in n for n in notes), notes
    out = run_cli(capsys, capture, "--keylog", keylog)
    assert "follow data the capture does not hold" in out


def test_capture_started_mid_connection(tmp_path: Path) -> None:
    """No SYN, no ClientHello: the records are still found, and shown as what they are."""
    conv = converse(None)
    packets = pcap.tcp_packets(conv.exchanges, ("127.0.0.1", 50123), ("127.0.0.1", 443), mss=700)
    first_data = data_packets(packets)
    capture = tmp_path / "late.pcap"
    pcap.write_capture(capture, packets[first_data[3] :])  # from inside the server's first flight
    result = pcap.dissect(capture)
    assert len(result.streams) == 1
    stream = result.streams[0]
    assert stream.client == ("127.0.0.1", 50123)
    assert stream.encrypted_records > 0
    # Each direction's first captured byte starts a record (the ServerHello, the client's ChangeCipherSpec):
    # every record from there on is shown, none skipped, as the live connections sent them.
    assert not any("skipped" in e.text for e in stream.events if isinstance(e, pcap.NoteTrace))
    for side in ("client", "server"):
        live = record_view(conv.live(side), side)["out"]
        shown = record_view(stream.events, side)["out"]
        assert [r[:3] for r in shown] == [r[:3] for r in live[len(live) - len(shown) :]], side
    assert record_view(stream.events, "client")["out"][0][0] == ContentType.change_cipher_spec


def test_starttls_preamble(tmp_path: Path) -> None:
    """Plain text first (SMTP's STARTTLS), TLS after: found by content, not by port or position."""
    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    preamble = [("server", b"220 mail ready\r\n"), ("client", b"EHLO x\r\nSTARTTLS\r\n"), ("server", b"220 go\r\n")]
    capture = tmp_path / "starttls.pcap"
    pcap.write_capture(capture, pcap.tcp_packets(preamble + conv.exchanges, ("127.0.0.1", 40000), ("127.0.0.1", 25)))
    stream = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog)).streams[0]
    assert_same_as_live(stream, conv)
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    client, server = (sum(len(d) for who, d in preamble if who == side) for side in ("client", "server"))
    assert notes == [
        f"skipped {client} bytes before the first TLS record",
        f"skipped {server} bytes before the first TLS record",
    ]


def test_non_tls_traffic_is_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conv = converse(None)
    http = [("client", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ("server", b"HTTP/1.1 200 OK\r\n\r\n" + bytes(5000))]
    packets = pcap.tcp_packets(http, ("127.0.0.1", 40000), ("127.0.0.1", 80))
    packets += pcap.tcp_packets(conv.exchanges, ("127.0.0.1", 40001), ("127.0.0.1", 443))
    capture = tmp_path / "mixed.pcap"
    pcap.write_capture(capture, packets)
    result = pcap.dissect(capture)
    assert result.connections == 2 and [s.number for s in result.streams] == [2]
    out = run_cli(capsys, capture)
    assert "2 TCP connections, 1 with TLS" in out


def test_not_a_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "bogus.pcap"
    bogus.write_bytes(b"this is not a capture at all")
    assert main(["dissect", str(bogus)]) == 2
    assert "not a pcap or pcapng capture" in capsys.readouterr().err
    assert main(["dissect", str(tmp_path / "missing.pcap")]) == 2


def test_damaged_captures_never_raise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keylog = tmp_path / "keys.log"
    conv = converse(keylog, client_kw=TLS12)
    good = write(tmp_path, conv).read_bytes()
    rng = random.Random(1234)
    for i in range(40):
        data = bytearray(good)
        if i % 4 == 0:
            data = data[: rng.randrange(24, len(data))]  # cut anywhere
        else:
            for _ in range(rng.randrange(1, 30)):  # bytes flipped anywhere past the file header
                data[rng.randrange(24, len(data))] ^= 1 << rng.randrange(8)
        capture = tmp_path / f"damaged{i}.pcap"
        capture.write_bytes(bytes(data))
        for trace in ("text", "full", "json"):
            assert main(["dissect", str(capture), "--keylog", str(keylog), f"--trace={trace}"]) == 0
    capsys.readouterr()


def test_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    out = run_cli(capsys, write(tmp_path, conv), "--keylog", keylog, "--trace=json", "--side", "server")
    objects = [json.loads(line) for line in out.splitlines()]
    assert objects[0]["kind"] == "connection" and objects[0]["version"] == "TLSv1_3"
    messages = [o["message"] for o in objects if o["kind"] == "message"]
    assert messages[:7] == [name for _, name in TLS13_MESSAGES]
    data = [o for o in objects if o["kind"] == "record" and o.get("inner_type") == "application_data"]
    assert bytes.fromhex(data[0]["plaintext"]) == REQUEST


# -- directions that open with an alert; hellos a live peer refuses -------------------------------------------


def refused(client: Connection, server: Connection) -> Conversation:
    """The client's first flight, and what the server answers it with (an alert): both as sent, both traced."""
    conv = Conversation(client=client, server=server)
    hello = client.data_to_send()
    conv.exchanges.append(("client", hello))
    server.receive_bytes(hello)
    conv.exchanges.append(("server", server.data_to_send()))
    return conv


def capture_of(tmp: Path, exchanges: list[tuple[str, bytes]], name: str = "capture.pcap", port: int = 40000) -> Path:
    path = tmp / name
    pcap.write_capture(path, pcap.tcp_packets(exchanges, ("127.0.0.1", port), ("127.0.0.1", 443)))
    return path


def alerts(stream: pcap.TLSStream, side: str) -> list[tuple[str, str, str]]:
    return [
        (e.direction, e.level.name, e.description.name)
        for e in stream.events
        if isinstance(e, AlertTrace) and e.side == side
    ]


def test_a_hello_refused_with_an_alert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The server answers the ClientHello with a fatal alert and nothing else: the alert is shown."""
    conv = Conversation()
    identity = server_identity("localhost")
    client = ClientConnection(
        ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), alpn=("x-never",)),
        "localhost",
        observer=conv.client_events,
    )
    server = ServerConnection(
        ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), alpn=("h2",)),
        observer=conv.server_events,
    )
    conv.exchanges = refused(client, server).exchanges
    assert conv.exchanges[1][1] == b"\x15\x03\x03\x00\x02\x02\x78"  # fatal no_application_protocol
    stream = pcap.dissect(capture_of(tmp_path, conv.exchanges)).streams[0]
    assert alerts(stream, "server") == [("out", "fatal", "no_application_protocol")]
    assert alerts(stream, "client") == [("in", "fatal", "no_application_protocol")]
    # The server's view is what the live server traced: the hello in, the alert record out, byte for byte.
    assert record_view(stream.events, "server") == record_view(conv.live("server"), "server")
    assert message_view(stream.events, "server") == message_view(conv.live("server"), "server")
    out = run_cli(capsys, capture_of(tmp_path, conv.exchanges))
    assert "server > Alert: fatal no_application_protocol (120)" in out
    assert "1 TCP connection, 1 with TLS" in out


def test_directions_that_open_with_an_alert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A server refusing what is not TLS, a client that sends nothing but an alert: each a TLS connection."""
    scfg = ServerConfig(
        certificates=(CertifiedKey(server_identity("localhost").chain, server_identity("localhost").private_key),)
    )
    server = ServerConnection(scfg)
    http = b"GET / HTTP/1.0\r\n\r\n"
    server.receive_bytes(http)
    answer = server.data_to_send()
    assert answer == b"\x15\x03\x03\x00\x02\x02\x0a"  # fatal unexpected_message
    client = ClientConnection(ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem())), "localhost")
    client.data_to_send()  # its ClientHello, never sent here
    client.close()
    goodbye = client.data_to_send()
    assert goodbye == b"\x15\x03\x03\x00\x02\x01\x5a\x15\x03\x03\x00\x02\x01\x00"  # user_canceled, close_notify
    packets = pcap.tcp_packets([("client", http), ("server", answer)], ("127.0.0.1", 40000), ("127.0.0.1", 443))
    packets += pcap.tcp_packets([("client", goodbye)], ("127.0.0.1", 40001), ("127.0.0.1", 443))
    capture = tmp_path / "alerts.pcap"
    pcap.write_capture(capture, packets)
    result = pcap.dissect(capture)
    assert [s.number for s in result.streams] == [1, 2]
    first, second = result.streams
    assert alerts(first, "server") == [("out", "fatal", "unexpected_message")]
    notes = [e.text for e in first.events if isinstance(e, pcap.NoteTrace)]
    assert notes == ["the client's 18 bytes are not TLS records (they begin 47 45 54 20 2f 20 48 54)"]
    assert alerts(second, "client") == [("out", "warning", "user_canceled"), ("out", "warning", "close_notify")]
    assert alerts(second, "server") == [("in", "warning", "user_canceled"), ("in", "warning", "close_notify")]
    out = run_cli(capsys, capture)
    assert "2 TCP connections, 2 with TLS" in out


def test_an_alert_record_too_short_for_an_alert(tmp_path: Path) -> None:
    """A 1-byte alert record in the clear is a malformed alert, not a protected one (no tag fits in it)."""
    client = ClientConnection(ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem())), "localhost")
    hello, short = client.data_to_send(), b"\x15\x03\x03\x00\x01\x02"
    packets = pcap.tcp_packets([("client", hello), ("server", short)], ("127.0.0.1", 40000), ("127.0.0.1", 443))
    pcap.write_capture(tmp_path / "short.pcap", packets)
    stream = pcap.dissect(tmp_path / "short.pcap").streams[0]
    assert (stream.encrypted, stream.encrypted_records) == (set(), 0)
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    assert notes == ["an alert record of 1 byte(s): an alert is 2 bytes, level and description (RFC 5246, "
                     "Section 7.2; RFC 8446, Section 6)"]  # fmt: skip


def test_any_record_opens_a_direction_once_the_other_is_tls(tmp_path: Path) -> None:
    """A capture begun mid-connection (TLS 1.2): the client's encrypted close_notify opens its direction (an
    alert longer than 2 bytes: encrypted), and the server's data records, first, open theirs once it did."""
    conv = converse(None, client_kw=TLS12)
    response = next(data for who, data in reversed(conv.exchanges) if who == "server" and len(data) > 30000)
    close = conv.exchanges[-2]
    assert close[0] == "client" and close[1][0] == ContentType.alert and len(close[1]) > 7
    one_record = response[: 5 + int.from_bytes(response[3:5], "big")]  # alone: no second header to confirm it
    stream = pcap.dissect(capture_of(tmp_path, [("server", one_record), close])).streams[0]
    records = record_view(stream.events, "server")
    assert records["out"] == [(ContentType.application_data, one_record[:5], one_record[5:], None, None)]
    assert records["in"] == [(ContentType.alert, close[1][:5], close[1][5:], None, None)]
    assert stream.encrypted_records == 2 and alerts(stream, "server") == []  # no alert read from ciphertext
    assert not [e for e in stream.events if isinstance(e, pcap.NoteTrace) and "skipped" in e.text]


def test_a_hello_with_a_server_name_a_live_server_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ClientHello whose server_name is not ASCII: refused live (illegal_parameter), dissected all the same."""
    from pairs import make_pair

    name = b"l\xc3\xb6calho\xff"  # "ö" in UTF-8, then a byte no UTF-8 has; as long as "localhost"
    pair = make_pair(
        client_alter=lambda msg: msg.raw.replace(b"localhost", name) if msg.name == "ClientHello" else None
    )
    conv = refused(pair.client, pair.server)
    hello, answer = conv.exchanges[0][1], conv.exchanges[1][1]
    assert name in hello and answer == b"\x15\x03\x03\x00\x02\x02\x2f"  # fatal illegal_parameter
    stream = pcap.dissect(capture_of(tmp_path, conv.exchanges)).streams[0]
    [msg] = [e.message for e in stream.events if isinstance(e, MessageTrace) and e.side == "client"]
    assert msg.name == "ClientHello" and msg.raw == hello[5:]
    assert msg.ext(ExtensionType.server_name).value == "l\u00f6calho\udcff"
    assert alerts(stream, "client") == [("in", "fatal", "illegal_parameter")]
    out = run_cli(capsys, capture_of(tmp_path, conv.exchanges))
    assert "client ~ the ClientHello's server_name is not ASCII: a live server refuses it (illegal_parameter);" in out
    assert "SNI l\u00f6calho\\xff;" in out


# -- captures cut short, snapped, damaged; retransmissions that disagree ------------------------------------


def pcap_records(data: bytes) -> list[tuple[int, int, int]]:
    """(offset of the record header, captured length, original length) of each packet of a pcap file."""
    out, pos = [], 24
    while pos + 16 <= len(data):
        caplen, length = struct.unpack("<II", data[pos + 8 : pos + 16])
        out.append((pos, caplen, length))
        pos += 16 + caplen
    return out


def snapped(data: bytes, snaplen: int) -> bytes:
    """The pcap file as ``tcpdump -s snaplen`` would have written it: each packet cut after ``snaplen`` bytes."""
    out = bytearray(data[:16] + struct.pack("<I", snaplen) + data[20:24])
    for pos, caplen, length in pcap_records(data):
        kept = min(caplen, snaplen)
        out += data[pos : pos + 8] + struct.pack("<II", kept, length) + data[pos + 16 : pos + 16 + kept]
    return bytes(out)


def test_a_capture_cut_short_inside_a_packet_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conv = converse(None)
    whole = write(tmp_path, conv, damage=False).read_bytes()
    records = pcap_records(whole)
    number, (pos, caplen, _) = next((n, r) for n, r in enumerate(records, 1) if r[1] > 1000)  # the ClientHello's
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[: pos + 16 + 300])
    result = pcap.dissect(cut)
    assert result.segments == number - 1 and result.streams == []
    note = (
        f"the capture is cut short: the file ends inside frame {number} (300 of its {caplen} captured bytes are there)"
    )
    assert result.notes == [note]
    assert f"note: {note}" in run_cli(capsys, cut)
    header_cut = tmp_path / "header.pcap"
    header_cut.write_bytes(whole[: records[5][0] + 7])
    assert pcap.dissect(header_cut).notes == [
        "the capture is cut short: the file ends inside frame 6 (7 bytes of its 16-byte record header are there)"
    ]


def test_a_pcapng_capture_cut_short_inside_a_packet_says_so(tmp_path: Path) -> None:
    conv = converse(None)
    whole = write(tmp_path, conv, damage=False, pcapng=True).read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(whole[: len(whole) - 50])  # inside the last packet's block
    result = pcap.dissect(cut)
    [note] = result.notes
    frame = result.segments + 1
    assert re.fullmatch(
        rf"the capture is cut short: the file ends inside frame {frame} \(\d+ of its block's \d+ bytes are there\)",
        note,
    )
    assert len(result.streams) == 1


def test_a_small_snap_length_is_said_even_with_no_tls_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conv = converse(None)
    capture = tmp_path / "snap100.pcap"
    capture.write_bytes(snapped(write(tmp_path, conv, damage=False).read_bytes(), 100))
    result = pcap.dissect(capture)
    assert result.streams == [] and result.segments == len(pcap_records(capture.read_bytes()))
    cut = [n for n, (_, caplen, length) in enumerate(pcap_records(capture.read_bytes()), 1) if caplen < length]
    ends = "127.0.0.1:50123 <-> 127.0.0.1:4433"
    assert result.notes[0] == (
        f"{len(cut)} frames (the first: frame {cut[0]}) were captured only up to 100 bytes (the capture's snap"
        " length): the data past that is not in the file, so the records it carried cannot be reassembled"
    )
    assert f"connection 1 ({ends}), no TLS seen: 127.0.0.1:50123: " in result.notes[1]
    assert any(n.endswith("segments hold less than their IP length says (cut short)") for n in result.notes[1:])
    assert not any("captured whole" in n for n in result.notes)  # the snap length, not the IP length, cut them
    out = run_cli(capsys, capture)
    assert "0 with TLS" in out and "were captured only up to 100 bytes" in out


def test_an_ip_length_beyond_a_whole_frame_is_not_blamed_on_the_snap_length(tmp_path: Path) -> None:
    client = ClientConnection(ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem())), "localhost")
    packets = pcap.tcp_packets([("client", client.data_to_send())], ("127.0.0.1", 40000), ("127.0.0.1", 443))
    number, hello = max(enumerate(packets, 1), key=lambda p: len(p[1]))
    claimed = len(hello) + 100  # the IPv4 total length says 100 bytes more than the packet has
    packets[number - 1] = hello[:2] + struct.pack(">H", claimed) + hello[4:]
    pcap.write_capture(tmp_path / "long.pcap", packets)
    result = pcap.dissect(tmp_path / "long.pcap")
    assert result.notes[0] == (
        f"1 frames (the first: frame {number}) were captured whole but hold less than their IP header's length"
        " says (a damaged frame or length field): the rest of their TCP data is not there"
    )
    assert not any("snap length" in n for n in result.notes)


def test_a_captured_length_no_capture_has_stops_the_reading(tmp_path: Path) -> None:
    conv = converse(None)
    data = bytearray(write(tmp_path, conv, damage=False).read_bytes())
    pos = pcap_records(bytes(data))[3][0]
    data[pos + 8 : pos + 12] = struct.pack("<I", 0x7FFFFFFF)  # packet 4 claims 2 GB
    capture = tmp_path / "huge.pcap"
    capture.write_bytes(bytes(data))
    result = pcap.dissect(capture)
    assert result.segments == 3
    assert result.notes == [
        "frame 4 claims a captured length of 2147483647 bytes, more than any capture holds (262144): "
        "the file is damaged there, and the rest of it is not read"
    ]


def test_retransmissions_that_disagree_are_said(tmp_path: Path) -> None:
    """The same TCP range sent twice with other bytes: the first copy is analysed, the conflict said."""
    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    packets = pcap.tcp_packets(conv.exchanges, ("127.0.0.1", 50123), ("127.0.0.1", 4433), mss=1000)
    server_data = [i for i in data_packets(packets) if dpkt.ip.IP(packets[i]).data.sport == 4433]
    original = dpkt.ip.IP(packets[server_data[2]])
    forged = dpkt.ip.IP(packets[server_data[2]])
    forged.data.data = b"\x1b[2J" + bytes(original.data.data)[4:]
    forged.sum = forged.data.sum = 0  # computed again when serialised
    packets.insert(server_data[2] + 1, bytes(forged))
    capture = tmp_path / "conflict.pcap"
    pcap.write_capture(capture, packets)
    stream = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog)).streams[0]
    assert_same_as_live(stream, conv)  # the first copy's bytes
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    assert notes == [
        "127.0.0.1:4433: 1 retransmitted segments carry other bytes than the first copy of the same range "
        "(the first at stream offset 2000); the first copy is analysed"
    ]


# -- a server's answer captured before the hello -------------------------------------------------------------


def test_the_servers_flight_captured_before_the_hello_is_decrypted(tmp_path: Path) -> None:
    """Capture order is not send order (two interfaces, a busy capture): the ServerHello comes first in the
    file. The client random is read ahead from the ClientHello, and every record opens with the key log."""
    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    packets = pcap.tcp_packets(conv.exchanges, ("127.0.0.1", 50123), ("127.0.0.1", 4433), mss=1000)
    data = data_packets(packets)
    hello = [i for i in data if dpkt.ip.IP(packets[i]).data.dport == 4433][:2]  # the ClientHello's segments
    first_answer = [i for i in data if i > hello[-1]][:3]
    assert [dpkt.ip.IP(packets[i]).data.sport for i in first_answer] == [4433] * 3
    reordered = packets[: hello[0]] + [packets[i] for i in first_answer] + [packets[i] for i in hello]
    reordered += packets[first_answer[-1] + 1 :]
    capture = tmp_path / "answer-first.pcap"
    pcap.write_capture(capture, reordered)
    stream = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog)).streams[0]
    assert stream.encrypted_records == 0
    assert [e for e in stream.events if isinstance(e, pcap.NoteTrace)] == []
    for side in ("client", "server"):
        assert record_view(stream.events, side) == record_view(conv.live(side), side), side


def test_no_hello_in_the_capture_is_what_the_note_says(tmp_path: Path) -> None:
    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    packets = pcap.tcp_packets(conv.exchanges, ("127.0.0.1", 50123), ("127.0.0.1", 4433), mss=1000)
    hello = [i for i in data_packets(packets) if dpkt.ip.IP(packets[i]).data.dport == 4433][:2]
    capture = tmp_path / "no-hello.pcap"
    pcap.write_capture(capture, [p for i, p in enumerate(packets) if i not in hello])
    stream = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog)).streams[0]
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    why = "the capture holds no ClientHello, whose client random finds the keys in the key log"
    assert f"the server's handshake records stay encrypted: {why}" in notes
    assert not any("the key log has no" in n for n in notes)


@pytest.mark.parametrize(
    "interface",
    [b"", struct.pack("<HHI", 101, 0, 65535) + struct.pack("<HH", 9, 1), struct.pack("<HHI", 101, 0, 65535)
     + struct.pack("<HH", 14, 8) + bytes(4)],
    ids=["empty", "tsresol-without-its-value", "tsoffset-cut"],
)  # fmt: skip
def test_a_damaged_pcapng_interface_block_is_a_note_not_a_traceback(tmp_path: Path, interface: bytes) -> None:
    """An interface block too short for its fixed part or an option raised struct.error or IndexError."""

    def block(kind: int, body: bytes) -> bytes:
        body += bytes(-len(body) % 4)
        return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    section = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    packet = block(6, struct.pack("<IIIII", 0, 0, 0, 4, 4) + b"\x45\x00\x00\x04")
    capture = tmp_path / "damaged.pcapng"
    capture.write_bytes(section + block(1, interface) + packet)
    result = pcap.dissect(capture)
    assert result.notes == [
        "interface 0 is damaged (its block is too short for what it says)",
        "the frames of a damaged interface are skipped",
    ]


def test_segments_held_behind_a_gap_come_out_in_order_overlaps_and_all() -> None:
    """TCP reassembly: data after a gap waits, overlapping copies keep the first, and the gap's filling
    releases everything in order. (With 20,000 segments held behind a gap each in-order segment sorted
    all of them: a 2.3 MB capture took over a minute; now each takes a heap operation.)"""
    import dpkt

    from glasstls.trace.capture import Segment, _HalfStream

    def seg(seq: int, data: bytes, flags: int = dpkt.tcp.TH_ACK) -> Segment:
        return Segment(0, 0.0, ("10.0.0.1", 1), ("10.0.0.2", 2), seq, flags, data, False)

    half = _HalfStream()
    assert half.add(seg(999, b"", dpkt.tcp.TH_SYN)) == b""
    stream = bytes(range(256)) * 200
    held = [seg(1000 + 100 + i * 10, stream[100 + i * 10 : 120 + i * 10]) for i in range(0, 5000, 2)]  # overlapping
    for s in held:
        assert half.add(s) == b""
    got = bytearray(half.add(seg(1000, stream[:60])))
    got += half.add(seg(1060, stream[60:100]))  # fills the gap: all that waited, in order
    assert bytes(got) == stream[: len(got)] and len(got) == 100 + (4998 * 10 + 20)
    assert half.conflicts == 0 and half.missing() is None


def test_a_stray_syn_ack_from_the_client_does_not_turn_the_connection_round(tmp_path: Path) -> None:
    """The client was taken from every SYN seen, the last one winning: one SYN|ACK sent by the client
    made it the server, and a capture whose keys were all there decrypted nothing."""
    import dpkt

    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    packets = pcap.tcp_packets(conv.exchanges, ("127.0.0.1", 50123), ("127.0.0.1", 4433), mss=1000)
    stray = dpkt.ip.IP(packets[3])  # a client's data segment, turned into a SYN|ACK with no data
    stray.data.flags, stray.data.data, stray.len = dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, b"", 40
    stray.sum = stray.data.sum = 0
    capture = tmp_path / "stray.pcap"
    pcap.write_capture(capture, [*packets[:4], bytes(stray), *packets[4:]])
    [stream] = pcap.dissect(capture, pcap.NSSKeyLog.load(keylog)).streams
    assert stream.client == ("127.0.0.1", 50123) and stream.encrypted_records == 0 and stream.decrypted_records > 0


def test_tls_after_a_preamble_sent_a_byte_at_a_time_is_found(tmp_path: Path) -> None:
    """TLS after bytes that are not TLS (a STARTTLS exchange, a capture begun mid-stream), each byte in a
    segment of its own: each new segment walked everything after the first header that could not be
    told yet (16,000 such bytes took 52 s); now each byte is walked once."""
    conv = converse(None)
    # Not TLS, then a header whose record would end past all that follows, then bytes of 0x03.
    preamble = b"STARTTLS\r\n\x16\x03\x03\x40\x00" + b"\x03" * 3000
    client_first = conv.exchanges[0][1]
    exchanges = [("client", bytes([b])) for b in preamble] + [("client", client_first), *conv.exchanges[1:]]
    [stream] = pcap.dissect(capture_of(tmp_path, exchanges)).streams
    assert stream.version == ProtocolVersion.TLSv1_3
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    assert "skipped 3015 bytes before the first TLS record" in notes


def test_the_records_and_connections_analysed_are_bounded_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each record analysed is kept as events (about 1 KB): a 26 MB capture of 5-byte records took 4 GB and
    ended in a MemoryError traceback. Past MAX_RECORDS a connection's rest is skipped, past MAX_CONNECTIONS
    the other connections are; each bound names itself."""
    conv = converse(None)
    monkeypatch.setattr(pcap, "MAX_RECORDS", 6)
    [stream] = pcap.dissect(write(tmp_path, conv, damage=False)).streams
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    assert "6 records analysed (glasstls.trace.pcap.MAX_RECORDS): the rest of this connection is skipped" in notes
    assert sum(isinstance(e, RecordTrace) for e in stream.events) <= 2 * 6  # (each record seen by both sides)
    monkeypatch.setattr(pcap, "MAX_CONNECTIONS", 1)
    packets = [
        packet
        for port in (40001, 40002)
        for packet in pcap.tcp_packets(conv.exchanges, ("127.0.0.1", port), ("127.0.0.1", 443), mss=1000)
    ]
    capture = tmp_path / "two.pcap"
    pcap.write_capture(capture, packets)
    result = pcap.dissect(capture)
    assert len(result.streams) == 1 and result.connections == 2
    assert "2 TCP connections: the first 1 are analysed (glasstls.trace.pcap.MAX_CONNECTIONS), the others skipped" in (
        result.notes
    )


def test_a_stream_that_ends_inside_a_handshake_message_says_so(tmp_path: Path) -> None:
    """A Certificate split over records whose last records the capture lacks was dropped without a word."""
    conv = converse(None, client_kw=TLS12)
    sender, flight = conv.exchanges[1]
    assert sender == "server" and flight[0] == ContentType.handshake
    length = int.from_bytes(flight[3:5], "big")
    body = flight[5 : 5 + length]  # the handshake messages of its first record
    pieces = [body[i : i + 200] for i in range(0, len(body), 200)]
    reframed = b"".join(b"\x16\x03\x03" + len(p).to_bytes(2, "big") + p for p in pieces[:3])  # the rest is lost
    [stream] = pcap.dissect(capture_of(tmp_path, [conv.exchanges[0], ("server", reframed)])).streams
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    assert "the server's stream ends inside a handshake message (certificate): it is not shown" in notes


def test_ip_fragments_are_skipped_and_said(tmp_path: Path) -> None:
    """A fragmented ClientHello vanished without a word (IPv4), or its first fragment was taken for a
    whole segment (IPv6, where no check looked for the Fragment header)."""
    import dpkt

    conv = converse(None)
    packets = pcap.tcp_packets(conv.exchanges, ("127.0.0.1", 50123), ("127.0.0.1", 4433), mss=1000)
    first = dpkt.ip.IP(packets[3])  # the client's first data: as the first fragment of two
    first.mf, first.sum = 1, 0
    capture = tmp_path / "fragments.pcap"
    pcap.write_capture(capture, [*packets[:3], bytes(first), *packets[4:]])
    result = pcap.dissect(capture)
    assert "1 IP fragments were skipped: TCP over fragmented IP is not reassembled" in result.notes


def test_a_key_log_secret_of_the_wrong_length_is_said_and_not_used(tmp_path: Path) -> None:
    """A TLS 1.3 secret padded to 48 bytes still decrypted (HMAC pads a short key with zeros), and a
    1-byte one only 'did not decrypt': its length is checked against the suite's hash."""
    keylog = tmp_path / "keys.log"
    conv = converse(keylog)
    lines = keylog.read_text().splitlines()
    padded = [ln + "00" * 16 if ln.startswith("SERVER_HANDSHAKE_TRAFFIC_SECRET ") else ln for ln in lines]
    keylog.write_text("\n".join(padded) + "\n")
    [stream] = pcap.dissect(write(tmp_path, conv, damage=False), pcap.NSSKeyLog.load(keylog)).streams
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    assert (
        "the key log's SERVER_HANDSHAKE_TRAFFIC_SECRET for this connection is 48 bytes; TLS_AES_128_GCM_SHA256 "
        "uses 32: it is not used" in notes
    ), notes
    assert stream.encrypted_records > 0


def test_a_tls12_master_secret_of_the_wrong_length_is_said(tmp_path: Path) -> None:
    keylog = tmp_path / "keys.log"
    conv = converse(keylog, client_kw=TLS12)
    keylog.write_text("".join(ln[:-2] + "\n" for ln in keylog.read_text().splitlines()))  # one byte short
    [stream] = pcap.dissect(write(tmp_path, conv, damage=False), pcap.NSSKeyLog.load(keylog)).streams
    notes = [e.text for e in stream.events if isinstance(e, pcap.NoteTrace)]
    assert "the client's records stay encrypted: the key log's CLIENT_RANDOM master secret is 47 bytes, not 48" in (
        notes
    )
