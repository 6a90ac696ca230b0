"""The early secrets of TLS 1.3 (0-RTT) in the NSS key log and the text trace (issue 10, item 8).

The key schedule reports them as RFC 8446 names them (crypto/keyschedule13.py,
EarlySecret: ``client_early_traffic_secret``, ``early_exporter_master_secret``);
draft-ietf-tls-keylogfile, Section 2.1 (and its IANA table) logs them as
CLIENT_EARLY_TRAFFIC_SECRET and EARLY_EXPORTER_SECRET, the names OpenSSL writes
and Wireshark reads. From synthetic SecretTrace events:

* each becomes its key log line, at once, for its connection's client random;
* a connection that derived early secrets is a TLS 1.3 one, so its
  ``master_secret`` never becomes a TLS 1.2 CLIENT_RANDOM line;
* a secret the observer did not get (value None) writes nothing;
* the text trace shows them as other secrets, with the 0-RTT key and IV, only
  when secrets are wanted.
"""

from __future__ import annotations

import io

from glasstls.crypto.keyschedule13 import EarlySecret, traffic_keys
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import CipherSuite, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.observe import EventList, MessageTrace, SecretTrace, TraceEvent
from glasstls.trace import Tee
from glasstls.trace.keylog import TLS13_LABELS, KeyLog
from glasstls.trace.text import TextTrace, render_text
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.extensions import Extension

RANDOM = bytes(range(32))
EARLY = bytes.fromhex("11" * 32)
EXPORTER = bytes.fromhex("22" * 32)


def secret(label: str, value: bytes | None, random: bytes = RANDOM, side: str = "client") -> SecretTrace:
    return SecretTrace(side, label, random, value)


def keylog_of(events: list[TraceEvent]) -> list[str]:
    out = io.StringIO()
    KeyLog(out).render(events)
    return out.getvalue().splitlines()


def test_the_key_schedule_reports_the_names_the_key_log_maps() -> None:
    reported: list[str] = []
    early = EarlySecret(TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256], b"p" * 32, lambda n, s: reported.append(n))
    early.client_early_traffic_secret(bytes(32))
    early.early_exporter_master_secret(bytes(32))
    assert reported == ["client_early_traffic_secret", "early_exporter_master_secret"]
    assert [TLS13_LABELS[n] for n in reported] == ["CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET"]


def test_early_secrets_become_their_lines() -> None:
    lines = keylog_of([secret("client_early_traffic_secret", EARLY), secret("early_exporter_master_secret", EXPORTER)])
    assert lines == [
        f"CLIENT_EARLY_TRAFFIC_SECRET {RANDOM.hex()} {EARLY.hex()}",
        f"EARLY_EXPORTER_SECRET {RANDOM.hex()} {EXPORTER.hex()}",
    ]


def test_a_resumed_0rtt_connection_logs_every_tls13_secret_and_no_client_random() -> None:
    other = bytes(32)
    events: list[TraceEvent] = [
        secret("client_early_traffic_secret", EARLY),
        secret("early_exporter_master_secret", EXPORTER),
        secret("master_secret", b"m" * 32),  # TLS 1.3's: no CLIENT_RANDOM line
        secret("client_application_traffic_secret_0", b"c" * 32),
        secret("master_secret", b"M" * 48, random=other),  # a TLS 1.2 connection beside it
    ]
    lines = keylog_of(events)
    assert [line.split()[0] for line in lines] == [
        "CLIENT_EARLY_TRAFFIC_SECRET",
        "EARLY_EXPORTER_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "CLIENT_RANDOM",
    ]
    assert lines[-1].split()[1] == other.hex()


def test_secrets_not_given_write_nothing() -> None:
    assert keylog_of([secret("client_early_traffic_secret", None), secret("early_exporter_master_secret", None)]) == []


def test_both_sides_log_the_same_line() -> None:
    out = io.StringIO()
    log = KeyLog(out)
    log(secret("client_early_traffic_secret", EARLY, side="client"))
    log(secret("client_early_traffic_secret", EARLY, side="server"))
    assert out.getvalue().splitlines() == [f"CLIENT_EARLY_TRAFFIC_SECRET {RANDOM.hex()} {EARLY.hex()}"] * 2


def hello(*suites: CipherSuite) -> H.ClientHello:
    msg = H.ClientHello(
        random=RANDOM,
        cipher_suites=suites,
        extensions=(
            Extension.make(E.supported_versions, (ProtocolVersion.TLSv1_3,), X.CH),
            Extension.make(E.early_data, True, X.CH),
        ),
    )
    msg.encode()
    return msg


def test_text_trace_shows_early_secrets_only_when_wanted() -> None:
    suite = CipherSuite.TLS_AES_256_GCM_SHA384
    value = b"\x33" * 48
    events: list[TraceEvent] = [
        MessageTrace("client", "out", hello(suite, CipherSuite.TLS_AES_128_GCM_SHA256)),
        secret("client_early_traffic_secret", value),
        secret("early_exporter_master_secret", b"\x44" * 48),
    ]
    shown = render_text(events, show_secrets=True)
    assert f"client * secret client_early_traffic_secret = {value.hex()}" in shown
    assert f"client * secret early_exporter_master_secret = {'44' * 48}" in shown
    # The 0-RTT key and IV: the one offered suite of the secret's hash length (SHA-384) is the PSK's.
    keys = traffic_keys(TLS13_SUITES[suite], value)
    assert f"client_write_key = {keys.key.hex()}" in shown and f"client_write_iv = {keys.iv.hex()}" in shown
    # Not wanted: no value anywhere, only that they were derived (with --explain or the full trace).
    hidden = [secret(e.label, None) if isinstance(e, SecretTrace) else e for e in events]
    for options in ({}, {"explain": True}, {"full": True}):
        text = render_text(hidden, **options)
        assert value.hex() not in text and keys.key.hex() not in text
        assert ("derived client_early_traffic_secret (value hidden)" in text) == bool(options)


def test_text_trace_names_each_candidate_suite() -> None:
    value = b"\x55" * 32
    events: list[TraceEvent] = [
        MessageTrace(
            "client", "out", hello(CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256)
        ),
        secret("client_early_traffic_secret", value),
    ]
    shown = render_text(events, show_secrets=True)
    for suite in (CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256):
        keys = traffic_keys(TLS13_SUITES[suite], value)
        assert f"client_write_key (if {suite.name}) = {keys.key.hex()}" in shown


def test_a_tee_gives_the_early_secrets_only_to_the_key_log() -> None:
    out, text = io.StringIO(), io.StringIO()
    kept = EventList()
    tee = Tee(KeyLog(out), TextTrace(text, color=False, full=True), kept)
    assert tee.wants_secrets
    tee(secret("client_early_traffic_secret", EARLY))
    assert out.getvalue() == f"CLIENT_EARLY_TRAFFIC_SECRET {RANDOM.hex()} {EARLY.hex()}\n"
    assert EARLY.hex() not in text.getvalue() and "derived client_early_traffic_secret" in text.getvalue()
    (event,) = kept.events
    assert isinstance(event, SecretTrace) and event.secret is None
