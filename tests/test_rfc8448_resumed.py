"""Known answers: RFC 8448, Section 4 (Resumed 0-RTT Handshake), for the PSK pieces.

Section 4 resumes the session of Section 3 with the ticket Section 3's server issued:

- the PSK is Section 3's resumption PSK (its resumption master secret, the ticket's nonce);
- the binder: its key, the truncated ClientHello, the hash and the HMAC, and glasstls's
  client binding (psk13.bind) turns the RFC's ClientHello with a zeroed binder back into
  the RFC's ClientHello, byte for byte;
- the server: a glasstls ServerConnection given the RFC's ClientHello, a ticket opener that
  knows the RFC's ticket, and the RFC's ephemeral key and random, verifies the binder, accepts
  the PSK and sends the RFC's ServerHello; its handshake secrets are the RFC's;
- 0-RTT: the early secrets (client_early_traffic_secret, early_exporter_master_secret) and
  early traffic keys; a glasstls ClientConnection given Section 3's ticket (as a session),
  the RFC's early data, ephemeral key, random and the time its ticket age says sends the
  RFC's ClientHello and early data record, then, after the RFC's server flight, the RFC's
  EndOfEarlyData, Finished, application data and close_notify records; the server above,
  allowing early data, accepts it (an EarlyData event with the RFC's plaintext), answers
  with early_data in EncryptedExtensions, byte for byte the RFC's flight, and its
  application data and close_notify records are the RFC's.

The client's ClientHello has RFC 7685 padding (ClientConfig.client_hello_padding) and early_data
right behind key_share (Dangerous.hello_extension_order), as the RFC's NSS client sends them.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from glasstls import (
    AlertReceived,
    ApplicationData,
    ClientConfig,
    ClientConnection,
    Dangerous,
    EarlyData,
    EventList,
    HandshakeComplete,
    ServerConnection,
)
from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.rand import ReplayRandomness, system_randomness
from glasstls.enums import AlertDescription, AlertLevel, CipherSuite, ContentType, ProtocolVersion, PskKeyExchangeMode
from glasstls.enums import ExtensionType as E
from glasstls.handshake import psk13
from glasstls.observe import SecretTrace, VerificationTrace
from glasstls.record.protection import Protection13
from glasstls.session.psk import binder, ticket_age_ms
from glasstls.session.state import TLS13, SessionState
from glasstls.session.tickets import ACCEPTED, UNKNOWN_KEY, TicketKeys
from glasstls.wire.extensions import OfferedPsks
from glasstls.wire.handshake import ClientHello, EncryptedExtensions, NewSessionTicket, ServerHello, decode_message
from rfc8448_replay import check_hkdf_steps
from rfc8448_trace import Trace, load_rfc8448_section, rfc_path
from test_rfc8448 import RFC_GROUPS, RFC_SIGNATURE_SCHEMES, SUITE, _feed, _secrets, rfc_server_config

C = "{client}"
S = "{server}"
T0 = datetime(2019, 1, 1, tzinfo=UTC)  # when the client got the ticket (the RFC gives no time)


@pytest.fixture(scope="module")
def trace3() -> Trace:
    if not rfc_path("rfc8448.txt").exists():
        pytest.skip(f"RFC 8448 text not found at {rfc_path('rfc8448.txt')}")
    return load_rfc8448_section(3, "Simple 1-RTT Handshake", "4.  Resumed 0-RTT Handshake")


@pytest.fixture(scope="module")
def trace4() -> Trace:
    if not rfc_path("rfc8448.txt").exists():
        pytest.skip(f"RFC 8448 text not found at {rfc_path('rfc8448.txt')}")
    return load_rfc8448_section(4, "Resumed 0-RTT Handshake", "5.  HelloRetryRequest")


def ticket(trace3: Trace) -> NewSessionTicket:
    raw = trace3.block(f"{S}  construct a NewSessionTicket handshake message", "NewSessionTicket")
    msg = decode_message(raw)
    assert isinstance(msg, NewSessionTicket)
    return msg


def psk(trace3: Trace) -> bytes:
    """Section 3's resumption PSK (RFC 8446, Section 4.6.1)."""
    res_master = trace3.block(f'{C}  derive secret "tls13 res master"', "expanded")
    return ks.resumption_psk(SUITE, res_master, ticket(trace3).ticket_nonce)


def client_hello(trace4: Trace) -> ClientHello:
    msg = decode_message(trace4.block(f"{C}  send handshake record", "payload", 0))
    assert isinstance(msg, ClientHello)
    return msg


def session(trace3: Trace) -> SessionState:
    """What a client keeps from Section 3's ticket (RFC 8446, Section 4.6.1)."""
    nst = ticket(trace3)
    return SessionState(
        version=TLS13,
        cipher_suite=CipherSuite.TLS_AES_128_GCM_SHA256,
        master_secret=psk(trace3),
        extended_master_secret=False,
        server_name="server",
        alpn=None,
        created=T0,
        lifetime=nst.ticket_lifetime,
        ticket=nst.ticket,
        ticket_age_add=nst.ticket_age_add,
        ticket_nonce=nst.ticket_nonce,
        max_early_data=1024,
    )


def reported_age(trace3: Trace, trace4: Trace) -> timedelta:
    """The ticket age the RFC's client reports (RFC 8446, Section 4.2.11.1)."""
    offered: OfferedPsks = client_hello(trace4).ext(41).value
    age = ticket_age_ms(offered.identities[0].obfuscated_ticket_age, session(trace3).ticket_age_add)
    return timedelta(milliseconds=age)


def test_the_psk_is_section_3s_resumption_psk(trace3: Trace, trace4: Trace) -> None:
    assert psk(trace3) == trace4.block(f'{C}  extract secret "early"', "IKM")
    assert ks.EarlySecret(SUITE, psk(trace3)).secret == trace4.block(f'{C}  extract secret "early"', "secret")
    offered: OfferedPsks = client_hello(trace4).ext(41).value
    assert offered.identities[0].identity == ticket(trace3).ticket
    assert reported_age(trace3, trace4) == timedelta(milliseconds=6)


def test_binder_known_answers(trace3: Trace, trace4: Trace) -> None:
    step = trace4.step(f"{C}  calculate PSK binder")
    hello = client_hello(trace4)
    assert hello.truncated_for_binders() == step["ClientHello prefix"]
    assert hashlib.sha256(step["ClientHello prefix"]).digest() == step["binder hash"]
    early = ks.EarlySecret(SUITE, psk(trace3))
    assert early.binder_key(external=False) == step["PRK"]  # "res binder" (RFC 8446, Section 7.1)
    assert ks.finished_key(SUITE, step["PRK"]) == step["expanded"]
    assert binder(SUITE, psk(trace3), False, step["binder hash"]) == step["finished"]
    assert hello.ext(41).value.binders == (step["finished"],)
    # An external PSK's binder is keyed with "ext binder": the same key cannot pass for a ticket's.
    assert binder(SUITE, psk(trace3), True, step["binder hash"]) != step["finished"]


class _At:
    """What psk13.bind asks of a context: the time."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def test_the_client_binds_the_rfc_client_hello(trace3: Trace, trace4: Trace) -> None:
    """psk13.bind, given the RFC's ClientHello with a zeroed binder, Section 3's session and the
    time the RFC's age says, writes the RFC's ClientHello back, age and binder included."""
    rfc = client_hello(trace4)
    offered: OfferedPsks = rfc.ext(41).value
    blank = replace(offered, binders=(bytes(32),))
    zeroed = replace(rfc, extensions=(*rfc.extensions[:-1], replace(rfc.extensions[-1], value=blank)))
    kept = session(trace3)
    early = ks.EarlySecret(SUITE, kept.master_secret)
    offer = psk13.PskOffer(kept.ticket or b"", kept.master_secret, SUITE, kept, (PskKeyExchangeMode.psk_dhe_ke,), early)
    bound = psk13.bind(_At(T0 + reported_age(trace3, trace4)), zeroed, offer)  # type: ignore[arg-type]
    assert bound.raw == trace4.block(f"{C}  send handshake record", "payload", 0)
    # bind patches the binder into the draft's bytes: the message object says the same.
    assert replace(bound).encode() == bound.raw


class _RfcTicketKeys(TicketKeys):
    """Ticket keys that open exactly the RFC's ticket, into Section 3's session."""

    def __init__(self, trace3: Trace) -> None:
        super().__init__(system_randomness)
        self._ticket, self._session = ticket(trace3).ticket, session(trace3)

    def open(self, ticket: bytes, now: datetime) -> tuple[SessionState | None, str]:
        if ticket != self._ticket:
            return None, UNKNOWN_KEY
        return replace(self._session, ticket=None), ACCEPTED


def test_the_server_accepts_the_rfc_resumption(trace3: Trace, trace4: Trace) -> None:
    config = replace(rfc_server_config(trace3), ticket_keys=_RfcTicketKeys(trace3))
    x25519_private = trace4.block(f"{S}  create an ephemeral x25519 key pair", "private key")
    sh_raw = trace4.block(f"{S}  construct a ServerHello handshake message", "ServerHello")
    observer = EventList(wants_secrets=True)
    now = T0 + reported_age(trace3, trace4)
    conn = ServerConnection(
        config, randomness=ReplayRandomness(x25519_private, sh_raw[6:38]), clock=lambda: now, observer=observer
    )
    assert conn.receive_bytes(trace4.block(f"{C}  send handshake record", "complete record", 0)) == []
    assert conn.error is None, conn.error
    checks = [(e.subject, e.ok, e.detail) for e in observer.events if isinstance(e, VerificationTrace)]
    assert ("PSK", True, "PSK accepted: resumption, binder verified") in checks
    out = conn.data_to_send()
    rfc_sh_record = trace4.block(f"{S}  send handshake record", "complete record", 0)
    assert out[: len(rfc_sh_record)] == rfc_sh_record  # pre_shared_key(0), key_share, supported_versions
    sh = decode_message(sh_raw)
    assert isinstance(sh, ServerHello) and sh.ext(41).value == 0
    secrets = {e.label: e.secret for e in observer.events if isinstance(e, SecretTrace)}
    assert secrets["handshake_secret"] == trace4.block(f'{S}  extract secret "handshake"', "secret")
    for label, name in (("c hs traffic", "client"), ("s hs traffic", "server")):
        rfc = trace4.block(f'{S}  derive secret "tls13 {label}"', "expanded")
        assert secrets[f"{name}_handshake_traffic_secret"] == rfc, label
    assert secrets["master_secret"] == trace4.block(f'{S}  extract secret "master"', "secret")


def test_a_wrong_binder_is_decrypt_error(trace3: Trace, trace4: Trace) -> None:
    """RFC 8446, Section 4.2.11: the server aborts when the binder does not validate."""
    config = replace(rfc_server_config(trace3), ticket_keys=_RfcTicketKeys(trace3))
    record = bytearray(trace4.block(f"{C}  send handshake record", "complete record", 0))
    record[-1] ^= 0x01  # the binder's last byte
    now = T0 + reported_age(trace3, trace4)
    conn = ServerConnection(config, clock=lambda: now)
    conn.receive_bytes(bytes(record))
    assert conn.error is not None and conn.error.description.name == "decrypt_error"


# ---------------------------------------------------------------------------
# 0-RTT (RFC 8446, Sections 2.3, 4.2.10 and 4.5)
# ---------------------------------------------------------------------------

EARLY = 0  # "{client}  send application_data record" #0 is the early data, #1 the later data


def rec(trace4: Trace, who: str, what: str, index: int = 0) -> bytes:
    return trace4.block(f"{who}  send {what} record", "complete record", index)


def early_data(trace4: Trace) -> bytes:
    return trace4.block(f"{C}  send application_data record", "payload", EARLY)


def test_every_hkdf_step(trace4: Trace) -> None:
    # 3 extracts; 3 "derived" (the client's first shown too); c e traffic, e exp master, c/s hs,
    # c/s ap, exp master, res master; binder and 2 finished; 5 key/iv pairs (early, server hs
    # and ap write, client hs and ap write)
    assert check_hkdf_steps(trace4, SUITE) == 22


def test_early_secrets(trace3: Trace, trace4: Trace) -> None:
    """RFC 8446, Section 7.1: client_early_traffic_secret and early_exporter_master_secret,
    Derive-Secret of the Early Secret over the ClientHello; the early traffic keys (Section 7.3)."""
    hello = trace4.block(f"{C}  send handshake record", "payload", 0)
    th_hello = hashlib.sha256(hello).digest()
    early = ks.EarlySecret(SUITE, psk(trace3))
    c_e = trace4.step(f'{C}  derive secret "tls13 c e traffic"')
    assert (c_e["PRK"], c_e["hash"]) == (early.secret, th_hello)
    assert early.client_early_traffic_secret(th_hello) == c_e["expanded"]
    e_exp = trace4.step(f'{C}  derive secret "tls13 e exp master"')
    assert (e_exp["PRK"], e_exp["hash"]) == (early.secret, th_hello)
    assert early.early_exporter_master_secret(th_hello) == e_exp["expanded"]
    keys_step = trace4.step(f"{C}  derive write traffic keys for early application data")
    keys = ks.traffic_keys(SUITE, c_e["expanded"])
    assert keys_step["PRK"] == c_e["expanded"]
    assert (keys.key, keys.iv) == (keys_step["key expanded"], keys_step["iv expanded"])
    # The early data record and EndOfEarlyData are sealed under it, at sequence numbers 0 and 1.
    protection = Protection13(SUITE, c_e["expanded"], "early")
    assert protection.seal(ContentType.application_data, early_data(trace4)) == rec(trace4, C, "application_data", 0)
    eoed = trace4.block(f"{C}  construct an EndOfEarlyData handshake message", "EndOfEarlyData")
    assert eoed == b"\x05\x00\x00\x00"
    assert protection.seal(ContentType.handshake, eoed) == rec(trace4, C, "handshake", 1)


# The RFC's ClientHello: early_data right behind key_share (glasstls puts it last).
RFC_ORDER = (
    E.server_name, E.renegotiation_info, E.supported_groups, E.key_share, E.early_data,
    E.supported_versions, E.signature_algorithms, E.psk_key_exchange_modes, E.record_size_limit,
)  # fmt: skip


def rfc_client_config() -> ClientConfig:
    return ClientConfig(
        cipher_suites=(
            CipherSuite.TLS_AES_128_GCM_SHA256,
            CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
            CipherSuite.TLS_AES_256_GCM_SHA384,
        ),
        groups=RFC_GROUPS,
        key_share_groups=RFC_GROUPS[:1],
        tls_min=ProtocolVersion.TLSv1_3,
        middlebox_compat=False,  # no change_cipher_spec before the early data
        record_size_limit=(1 << 14) + 1,
        session_tickets=False,  # Section 4's ClientHello carries no session_ticket
        certificate_compression=(),
        client_hello_padding=True,  # 421 bytes padded to 512 (RFC 7685), before the binder
        dangerous=Dangerous(
            skip_server_verification=True,
            advertised_signature_schemes=RFC_SIGNATURE_SCHEMES,
            hello_extension_order=RFC_ORDER,
        ),
    )


@pytest.mark.parametrize("chunking", ["per-record", "bytewise"])
def test_client_sends_the_rfc_early_data(trace3: Trace, trace4: Trace, chunking: str) -> None:
    x25519_private = trace4.block(f"{C}  create an ephemeral x25519 key pair", "private key")
    hello = trace4.block(f"{C}  send handshake record", "payload", 0)
    observer = EventList(wants_secrets=True)
    now = T0 + reported_age(trace3, trace4)
    conn = ClientConnection(
        rfc_client_config(),
        server_name="server",
        session=session(trace3),
        early_data=early_data(trace4),
        randomness=ReplayRandomness(x25519_private, hello[6:38]),
        clock=lambda: now,
        observer=observer,
    )
    # The ClientHello (pre_shared_key, early_data, padding), then the early data record.
    assert conn.data_to_send() == rec(trace4, C, "handshake", 0) + rec(trace4, C, "application_data", EARLY)
    secrets = _secrets(observer)
    assert secrets["client_early_traffic_secret"] == trace4.block(f'{C}  derive secret "tls13 c e traffic"', "expanded")
    assert secrets["early_exporter_master_secret"] == trace4.block(
        f'{C}  derive secret "tls13 e exp master"', "expanded"
    )

    # ServerHello, {EncryptedExtensions with early_data, Finished}: EndOfEarlyData, then {Finished}.
    events = _feed(conn, rec(trace4, S, "handshake", 0) + rec(trace4, S, "handshake", 1), chunking)
    assert conn.error is None, conn.error
    complete = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(complete) == 1 and complete[0].parameters.early_data_accepted is True
    assert complete[0].parameters.resumed
    assert conn.data_to_send() == rec(trace4, C, "handshake", 1) + rec(trace4, C, "handshake", 2)
    secrets = _secrets(observer)
    for label, name in (
        ("c hs traffic", "client_handshake_traffic_secret"),
        ("s hs traffic", "server_handshake_traffic_secret"),
        ("c ap traffic", "client_application_traffic_secret_0"),
        ("s ap traffic", "server_application_traffic_secret_0"),
        ("exp master", "exporter_master_secret"),
    ):
        assert secrets[name] == trace4.block(f'{S}  derive secret "tls13 {label}"', "expanded"), label
    assert getattr(conn._state, "resumption_secret", None) == trace4.block(
        f'{C}  derive secret "tls13 res master"', "expanded"
    )

    events = _feed(conn, rec(trace4, S, "application_data"), chunking)
    server_payload = trace4.block(f"{S}  send application_data record", "payload")
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [server_payload]
    conn.send(trace4.block(f"{C}  send application_data record", "payload", 1))
    assert conn.data_to_send() == rec(trace4, C, "application_data", 1)
    conn.close()
    assert conn.data_to_send() == rec(trace4, C, "alert")
    events = _feed(conn, rec(trace4, S, "alert"), chunking)
    assert AlertReceived(AlertLevel.warning, AlertDescription.close_notify) in events
    assert conn.closed and conn.error is None


def _rfc_0rtt_server(trace3: Trace, trace4: Trace, observer: EventList | None = None) -> ServerConnection:
    config = replace(rfc_server_config(trace3), ticket_keys=_RfcTicketKeys(trace3), max_early_data_size=1024)
    x25519_private = trace4.block(f"{S}  create an ephemeral x25519 key pair", "private key")
    sh_raw = trace4.block(f"{S}  construct a ServerHello handshake message", "ServerHello")
    now = T0 + reported_age(trace3, trace4)
    randomness = ReplayRandomness(x25519_private, sh_raw[6:38])
    return ServerConnection(config, randomness=randomness, clock=lambda: now, observer=observer)


@pytest.mark.parametrize("chunking", ["per-record", "bytewise"])
def test_the_server_accepts_the_rfc_early_data(trace3: Trace, trace4: Trace, chunking: str) -> None:
    observer = EventList(wants_secrets=True)
    conn = _rfc_0rtt_server(trace3, trace4, observer)
    events = _feed(conn, rec(trace4, C, "handshake", 0) + rec(trace4, C, "application_data", EARLY), chunking)
    assert conn.error is None, conn.error
    assert events == [EarlyData(early_data(trace4))]
    checks = [(e.subject, e.ok, e.detail) for e in observer.events if isinstance(e, VerificationTrace)]
    assert ("0-RTT", True, "0-RTT accepted: up to 1024 bytes") in checks
    # ServerHello, then {EncryptedExtensions (early_data last, empty: accepted), Finished}.
    assert conn.data_to_send() == rec(trace4, S, "handshake", 0) + rec(trace4, S, "handshake", 1)
    ee = decode_message(trace4.block(f"{S}  construct an EncryptedExtensions handshake message", "EncryptedExtensions"))
    assert isinstance(ee, EncryptedExtensions) and ee.extensions[-1].type == E.early_data
    secrets = _secrets(observer)
    assert secrets["client_early_traffic_secret"] == trace4.block(f'{C}  derive secret "tls13 c e traffic"', "expanded")

    events = _feed(conn, rec(trace4, C, "handshake", 1) + rec(trace4, C, "handshake", 2), chunking)  # EOED, Finished
    assert conn.error is None, conn.error
    assert [type(e) for e in events] == [HandshakeComplete]
    assert events[0].parameters.early_data_accepted is True
    assert getattr(conn._state, "resumption_secret", None) == trace4.block(
        f'{C}  derive secret "tls13 res master"', "expanded"
    )
    # The server's application data, then the client's, then close_notify both ways.
    conn.send(trace4.block(f"{S}  send application_data record", "payload"))
    assert conn.data_to_send() == rec(trace4, S, "application_data")
    events = _feed(conn, rec(trace4, C, "application_data", 1), chunking)
    assert events == [ApplicationData(trace4.block(f"{C}  send application_data record", "payload", 1))]
    events = _feed(conn, rec(trace4, C, "alert"), chunking)
    assert AlertReceived(AlertLevel.warning, AlertDescription.close_notify) in events
    conn.close()
    assert conn.data_to_send() == rec(trace4, S, "alert")


def test_the_same_early_data_again_is_a_replay(trace3: Trace, trace4: Trace) -> None:
    """RFC 8446, Section 8.2: the RFC's first flight a second time at the same server (its
    configuration's replay guard): the PSK is accepted, the early data is not (its record
    skipped), and the EncryptedExtensions no longer carries early_data."""
    first = rec(trace4, C, "handshake", 0) + rec(trace4, C, "application_data", EARLY)
    conn = _rfc_0rtt_server(trace3, trace4)
    assert conn.receive_bytes(first) == [EarlyData(early_data(trace4))]
    observer = EventList()
    again = ServerConnection(
        conn.config,
        randomness=ReplayRandomness(
            trace4.block(f"{S}  create an ephemeral x25519 key pair", "private key"),
            trace4.block(f"{S}  construct a ServerHello handshake message", "ServerHello")[6:38],
        ),
        clock=lambda: T0 + reported_age(trace3, trace4),
        observer=observer,
    )
    assert again.receive_bytes(first) == []  # the early record is skipped, not delivered
    assert again.error is None, again.error
    checks = [(e.subject, e.ok, e.detail) for e in observer.events if isinstance(e, VerificationTrace)]
    replayed = (
        "0-RTT rejected: replayed ClientHello: its binder was seen before by this server (memory) "
        "(RFC 8446, Section 8.2)"
    )
    assert ("0-RTT", False, replayed) in checks
    out = again.data_to_send()
    sh_record = rec(trace4, S, "handshake", 0)
    assert out.startswith(sh_record)  # the same ServerHello: the PSK is accepted
    flight = Protection13(SUITE, trace4.block(f'{S}  derive secret "tls13 s hs traffic"', "expanded"), "handshake")
    _, plaintext = flight.open(out[len(sh_record) : len(sh_record) + 5], out[len(sh_record) + 5 :])
    ee = decode_message(plaintext[: 4 + int.from_bytes(plaintext[1:4], "big")])
    assert isinstance(ee, EncryptedExtensions) and ee.ext(E.early_data) is None
