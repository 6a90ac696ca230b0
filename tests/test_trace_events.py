"""The trace: the complete, ordered list of events both sides emit for a full
TLS 1.3 handshake, one round trip of data and a close.

The expected lists are written from the flow of RFC 8446 (Section 2, Figure 1;
Section 7.1 for the order secrets are derived in; Appendix D.4 for the
compatibility-mode change_cipher_spec records) and from where the connection
emits each kind of event:

* "message out" when a state hands a message over; it reaches the wire (a
  "record out") only when the handshake queue is flushed: before a key change,
  a change_cipher_spec, an alert or the end of ``data_to_send``.
* "message in" as each message is decoded, before the state handles it; a state
  change is reported after the state returns, so the keys and secrets a message
  brings come before the state change.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from glasstls import (
    AlertReceived,
    ApplicationData,
    ConnectionClosed,
    EventList,
    HandshakeComplete,
    NewTicket,
)
from glasstls.crypto.keyschedule13 import traffic_keys
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import AlertDescription, AlertLevel, CipherSuite, ContentType
from glasstls.observe import (
    AlertTrace,
    KeysTrace,
    MessageTrace,
    RecordTrace,
    SecretTrace,
    StateTrace,
    TraceEvent,
    VerificationTrace,
)
from pairs import Pair, make_pair, other_ca


def brief(e: TraceEvent) -> tuple:
    """The part of an event the expected lists spell out."""
    if isinstance(e, RecordTrace):
        return ("record", e.direction, e.content_type.name, e.inner_type.name if e.inner_type is not None else None)
    if isinstance(e, MessageTrace):
        return ("message", e.direction, e.message.name)
    if isinstance(e, StateTrace):
        return ("state", e.old, e.new)
    if isinstance(e, SecretTrace):
        return ("secret", e.label)
    if isinstance(e, KeysTrace):
        return ("keys", e.direction, e.epoch)
    if isinstance(e, AlertTrace):
        return ("alert", e.direction, e.level.name, e.description.name)
    if isinstance(e, VerificationTrace):
        return ("verification", e.ok)
    raise AssertionError(f"unknown trace event {e!r}")


def rec(direction: str, outer: str, inner: str | None = None) -> tuple:
    return ("record", direction, outer, inner)


def msg(direction: str, name: str) -> tuple:
    return ("message", direction, name)


def secrets(*labels: str) -> list[tuple]:
    return [("secret", label) for label in labels]


HANDSHAKE_SECRETS = secrets("handshake_secret", "client_handshake_traffic_secret", "server_handshake_traffic_secret")
MASTER_SECRETS = secrets(
    "master_secret",
    "client_application_traffic_secret_0",
    "server_application_traffic_secret_0",
    "exporter_master_secret",
)
PROTECTED_HANDSHAKE = ("application_data", "handshake")

CLIENT_TRACE = [
    # The constructor sends the ClientHello in a plaintext record.
    msg("out", "ClientHello"),
    rec("out", "handshake"),
    # The server's flight: ServerHello in the clear ...
    rec("in", "handshake"),
    msg("in", "ServerHello"),
    *HANDSHAKE_SECRETS,
    ("keys", "read", "handshake"),
    rec("out", "change_cipher_spec"),  # Appendix D.4: before the client's first protected record
    ("keys", "write", "handshake"),
    ("state", "ExpectServerHello", "ExpectEncryptedExtensions"),
    # ... the server's compatibility change_cipher_spec, dropped ...
    rec("in", "change_cipher_spec"),
    # ... then {EncryptedExtensions, Certificate, CertificateVerify, Finished} in one record, the
    # Certificate compressed: the client offers compress_certificate (RFC 8879).
    rec("in", *PROTECTED_HANDSHAKE),
    msg("in", "EncryptedExtensions"),
    ("state", "ExpectEncryptedExtensions", "ExpectCertificateOrRequest"),
    msg("in", "CompressedCertificate"),
    ("verification", True),  # decompressed
    ("verification", True),  # the chain
    ("verification", True),  # revocation not checked online (revocation_fetch is off; docs/design/revocation.md)
    ("state", "ExpectCertificateOrRequest", "ExpectCertificateVerify"),
    msg("in", "CertificateVerify"),
    ("verification", True),  # the signature over the transcript
    ("state", "ExpectCertificateVerify", "ExpectFinished"),
    msg("in", "Finished"),
    ("verification", True),  # the server's verify_data
    *MASTER_SECRETS,
    ("keys", "read", "application"),
    msg("out", "Finished"),
    rec("out", *PROTECTED_HANDSHAKE),  # flushed under the handshake keys, before they change
    ("keys", "write", "application"),
    ("secret", "resumption_master_secret"),  # Section 7.1: after the client's Finished
    ("state", "ExpectFinished", "ClientConnected13"),
    # One round trip of application data; the server's two tickets (Section 4.6.1) come first.
    rec("out", "application_data", "application_data"),
    rec("in", *PROTECTED_HANDSHAKE),
    msg("in", "NewSessionTicket"),
    msg("in", "NewSessionTicket"),
    rec("in", "application_data", "application_data"),
    # The client closes; the server, done too, sends its own close_notify.
    ("alert", "out", "warning", "close_notify"),
    rec("out", "application_data", "alert"),
    rec("in", "application_data", "alert"),
    ("alert", "in", "warning", "close_notify"),
]

SERVER_TRACE = [
    rec("in", "handshake"),
    msg("in", "ClientHello"),
    ("verification", True),  # the certificate chosen for the server name (SNI)
    msg("out", "ServerHello"),
    rec("out", "handshake"),
    rec("out", "change_cipher_spec"),  # Appendix D.4: the client sent a legacy_session_id
    *HANDSHAKE_SECRETS,
    ("keys", "write", "handshake"),
    msg("out", "EncryptedExtensions"),
    msg("out", "CompressedCertificate"),  # RFC 8879: the client offered compress_certificate
    msg("out", "CertificateVerify"),
    msg("out", "Finished"),
    *MASTER_SECRETS,
    rec("out", *PROTECTED_HANDSHAKE),  # the whole encrypted flight, one record
    ("keys", "write", "application"),  # Section 4.4.4: the server may send 0.5-RTT data now
    ("keys", "read", "handshake"),
    ("state", "ExpectClientHello", "ExpectClientFinished"),
    rec("in", "change_cipher_spec"),
    rec("in", *PROTECTED_HANDSHAKE),
    msg("in", "Finished"),
    ("verification", True),  # the client's verify_data
    ("keys", "read", "application"),
    ("secret", "resumption_master_secret"),
    msg("out", "NewSessionTicket"),  # ServerConfig.tls13_tickets: two, right after the handshake
    msg("out", "NewSessionTicket"),
    rec("out", *PROTECTED_HANDSHAKE),
    ("state", "ExpectClientFinished", "ServerConnected13"),
    rec("in", "application_data", "application_data"),
    rec("out", "application_data", "application_data"),
    rec("in", "application_data", "alert"),
    ("alert", "in", "warning", "close_notify"),
    ("alert", "out", "warning", "close_notify"),
    rec("out", "application_data", "alert"),
]


class Run:
    """A full exchange with both sides observed, and the secrets each side really derived."""

    def __init__(self, wants_secrets: bool) -> None:
        self.client_log = EventList(wants_secrets=wants_secrets)
        self.server_log = EventList(wants_secrets=wants_secrets)
        self.pair: Pair = make_pair(client_observer=self.client_log, server_observer=self.server_log)
        self.derived: dict[str, dict[str, bytes]] = {"client": {}, "server": {}}
        for side, conn in (("client", self.pair.client), ("server", self.pair.server)):
            conn._ctx.secret = self._spy(side, conn._ctx.secret)  # type: ignore[method-assign]
        p = self.pair
        self.events = {
            "server 1": p.to_server(),
            "client 1": p.to_client(),
            "server 2": p.to_server(),
        }
        p.client.send(b"ping")
        self.events["server 3"] = p.to_server()
        p.server.send(b"pong")
        self.events["client 2"] = p.to_client()
        p.client.close()
        self.events["server 4"] = p.to_server()
        # TLS 1.3 half-close (RFC 8446, Section 6.1): the server closes when it is done.
        p.server.close()
        self.events["client 3"] = p.to_client()

    def _spy(self, side: str, secret: Any) -> Any:
        def spy(label: str, client_random: bytes, value: bytes) -> None:
            self.derived[side][label] = value
            secret(label, client_random, value)

        return spy


@pytest.fixture(scope="module")
def run() -> Run:
    return Run(wants_secrets=False)


@pytest.fixture(scope="module")
def run_with_secrets() -> Run:
    return Run(wants_secrets=True)


def test_client_trace_is_complete_and_in_order(run: Run) -> None:
    assert [brief(e) for e in run.client_log.events] == CLIENT_TRACE


def test_server_trace_is_complete_and_in_order(run: Run) -> None:
    assert [brief(e) for e in run.server_log.events] == SERVER_TRACE


def test_the_same_trace_with_secrets(run_with_secrets: Run) -> None:
    assert [brief(e) for e in run_with_secrets.client_log.events] == CLIENT_TRACE
    assert [brief(e) for e in run_with_secrets.server_log.events] == SERVER_TRACE


def test_connection_events_of_the_exchange(run: Run) -> None:
    ev = run.events
    assert ev["server 1"] == []
    assert [type(e) for e in ev["client 1"]] == [HandshakeComplete]
    assert [type(e) for e in ev["server 2"]] == [HandshakeComplete]
    assert ev["server 3"] == [ApplicationData(b"ping")]
    assert [type(e) for e in ev["client 2"]] == [NewTicket, NewTicket, ApplicationData]
    assert ev["client 2"][-1] == ApplicationData(b"pong")
    closed = [AlertReceived(AlertLevel.warning, AlertDescription.close_notify), ConnectionClosed(None, by_peer=True)]
    assert ev["server 4"] == closed and ev["client 3"] == closed


def test_every_event_names_its_side(run: Run) -> None:
    assert {e.side for e in run.client_log.events} == {"client"}
    assert {e.side for e in run.server_log.events} == {"server"}


# -- records and messages -----------------------------------------------------------------


def _handshake_bytes(events: list[TraceEvent], direction: str) -> tuple[bytes, bytes]:
    """(handshake content of the records, raw bytes of the messages) seen in ``direction``."""
    records = b"".join(
        (e.plaintext if e.inner_type is not None else e.payload)
        for e in events
        if isinstance(e, RecordTrace)
        and e.direction == direction
        and (e.inner_type or e.content_type) == ContentType.handshake
    )
    messages = b"".join(e.message.raw for e in events if isinstance(e, MessageTrace) and e.direction == direction)
    return records, messages


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize("direction", ["in", "out"])
def test_message_raw_bytes_are_what_was_on_the_wire(run: Run, side: str, direction: str) -> None:
    events = run.client_log.events if side == "client" else run.server_log.events
    records, messages = _handshake_bytes(events, direction)
    assert records and records == messages


def test_what_one_side_sent_is_what_the_other_received(run: Run) -> None:
    def records(events: list[TraceEvent], direction: str) -> list[bytes]:
        return [e.header + e.payload for e in events if isinstance(e, RecordTrace) and e.direction == direction]

    assert records(run.client_log.events, "out") == records(run.server_log.events, "in")
    assert records(run.server_log.events, "out") == records(run.client_log.events, "in")
    for e in run.client_log.events + run.server_log.events:
        if isinstance(e, RecordTrace):
            assert e.header[0] == e.content_type and int.from_bytes(e.header[3:5], "big") == len(e.payload)
            assert (e.inner_type is None) == (e.plaintext is None)


def test_message_in_and_out_agree_across_sides(run: Run) -> None:
    sent = [e.message.raw for e in run.client_log.events if isinstance(e, MessageTrace) and e.direction == "out"]
    got = [e.message.raw for e in run.server_log.events if isinstance(e, MessageTrace) and e.direction == "in"]
    assert sent == got
    sent = [e.message.raw for e in run.server_log.events if isinstance(e, MessageTrace) and e.direction == "out"]
    got = [e.message.raw for e in run.client_log.events if isinstance(e, MessageTrace) and e.direction == "in"]
    assert sent == got


def test_application_data_and_alerts_travel_in_protected_records(run: Run) -> None:
    for log, data_out, data_in in ((run.client_log, b"ping", b"pong"), (run.server_log, b"pong", b"ping")):
        app = [e for e in log.events if isinstance(e, RecordTrace) and e.inner_type == ContentType.application_data]
        assert [(e.direction, e.plaintext) for e in app] in (
            [("out", data_out), ("in", data_in)],
            [("in", data_in), ("out", data_out)],
        )
        assert all(data_out not in e.payload and data_in not in e.payload for e in app)
        alerts = [e for e in log.events if isinstance(e, RecordTrace) and e.inner_type == ContentType.alert]
        assert [e.plaintext for e in alerts] == [b"\x01\x00", b"\x01\x00"]


def test_keys_name_the_suite(run: Run) -> None:
    for log in (run.client_log, run.server_log):
        assert {e.suite for e in log.events if isinstance(e, KeysTrace)} == {"TLS_AES_128_GCM_SHA256"}


def test_verification_names_the_server(run: Run) -> None:
    events = [e for e in run.client_log.events if isinstance(e, VerificationTrace)]
    decompressed, chain, revocation, signature, finished = events
    assert revocation.ok and revocation.detail.startswith("revocation not checked online")
    assert decompressed.ok and decompressed.subject == "server CompressedCertificate"
    assert decompressed.detail.startswith("certificate decompressed: brotli, ")
    assert chain.ok and chain.subject == "CN=localhost"
    assert chain.detail == "chain to a trusted root, valid for localhost"
    assert signature.ok and signature.subject == "server CertificateVerify"
    assert signature.detail.startswith("ecdsa_secp256r1_sha256 signature")
    assert finished.ok and finished.subject == "server Finished"
    # No client auth: the server reports its certificate choice and checks only the client's Finished.
    choice, client_finished = [e for e in run.server_log.events if isinstance(e, VerificationTrace)]
    assert choice.subject == "certificate CN=localhost" and choice.detail == "chosen for server name localhost"
    assert client_finished.ok and client_finished.subject == "client Finished"


def test_state_changes_chain(run: Run) -> None:
    for log, first in ((run.client_log, "ExpectServerHello"), (run.server_log, "ExpectClientHello")):
        states = [e for e in log.events if isinstance(e, StateTrace)]
        assert states[0].old == first
        assert all(a.new == b.old for a, b in itertools.pairwise(states))


# -- secrets -------------------------------------------------------------------------------


def test_secret_values_are_withheld_without_wants_secrets(run: Run) -> None:
    traced = [e for e in run.client_log.events + run.server_log.events if isinstance(e, SecretTrace)]
    assert len(traced) == 16 and all(e.secret is None for e in traced)
    random = run.pair.client.offered_hello.random
    assert all(e.client_random == random for e in traced)  # the key log's lookup key is not secret


def test_secret_values_are_given_to_an_observer_that_wants_them(run_with_secrets: Run) -> None:
    r = run_with_secrets
    for side, log in (("client", r.client_log), ("server", r.server_log)):
        traced = {e.label: e.secret for e in log.events if isinstance(e, SecretTrace)}
        assert traced == r.derived[side]
        assert all(isinstance(v, bytes) and len(v) == 32 for v in traced.values())
    assert r.derived["client"] == r.derived["server"]  # both sides derived the same schedule


def _all_bytes(obj: Any, seen: set[int] | None = None) -> list[bytes]:
    """Every bytes value reachable from a trace event (messages and extensions included)."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, bytes | bytearray):
        return [bytes(obj)]
    if isinstance(obj, str):
        return [obj.encode()]
    if isinstance(obj, tuple | list):
        return [b for item in obj for b in _all_bytes(item, seen)]
    if dataclasses.is_dataclass(obj):
        out = [b for f in dataclasses.fields(obj) for b in _all_bytes(getattr(obj, f.name), seen)]
        return out + _all_bytes(getattr(obj, "raw", b""), seen)
    return []


def test_no_secret_value_appears_in_any_event_without_wants_secrets(run: Run) -> None:
    suite = TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
    derived = run.derived["client"] | run.derived["server"]
    assert len(derived) == 8
    needles = []
    for value in derived.values():
        keys = traffic_keys(suite, value)
        needles += [value, keys.key, keys.iv, value.hex().encode(), keys.key.hex().encode()]
    haystack = [b for e in run.client_log.events + run.server_log.events for b in _all_bytes(e)]
    assert haystack
    for needle in needles:
        assert not any(needle in hay for hay in haystack)
    for e in run.client_log.events + run.server_log.events:
        text = repr(e)
        assert not any(v.hex() in text for v in derived.values())


# -- a failed handshake ----------------------------------------------------------------------


def test_trace_of_a_certificate_the_client_rejects() -> None:
    client_log, server_log = EventList(), EventList()
    pair = make_pair(trust=other_ca(), client_observer=client_log, server_observer=server_log)
    pair.to_server()
    pair.to_client()
    pair.to_server()
    assert [brief(e) for e in client_log.events][-8:] == [
        rec("in", *PROTECTED_HANDSHAKE),
        msg("in", "EncryptedExtensions"),
        ("state", "ExpectEncryptedExtensions", "ExpectCertificateOrRequest"),
        msg("in", "CompressedCertificate"),
        ("verification", True),  # decompressed (RFC 8879)
        ("verification", False),
        ("alert", "out", "fatal", "unknown_ca"),
        rec("out", "application_data", "alert"),  # under the client's handshake keys
    ]
    failed = next(e for e in client_log.events if isinstance(e, VerificationTrace) and not e.ok)
    alert = next(e for e in client_log.events if isinstance(e, AlertTrace))
    assert failed.subject == "CN=localhost" and "not trusted" in failed.detail
    assert alert.reason == failed.detail  # the reason travels with the alert in the trace, not on the wire
    assert [brief(e) for e in server_log.events][-4:] == [
        ("state", "ExpectClientHello", "ExpectClientFinished"),
        rec("in", "change_cipher_spec"),
        rec("in", "application_data", "alert"),
        ("alert", "in", "fatal", "unknown_ca"),
    ]
    assert next(e for e in server_log.events if isinstance(e, AlertTrace)).reason == ""
