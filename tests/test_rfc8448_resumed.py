"""Known answers: RFC 8448, Section 4 (Resumed 0-RTT Handshake), for the PSK pieces.

Section 4 resumes the session of Section 3 with the ticket Section 3's server issued:

- the PSK is Section 3's resumption PSK (its resumption master secret, the ticket's nonce);
- the binder: its key, the truncated ClientHello, the hash and the HMAC, and glasstls's
  client binding (psk13.bind) turns the RFC's ClientHello with a zeroed binder back into
  the RFC's ClientHello, byte for byte;
- the server: a glasstls ServerConnection given the RFC's ClientHello, a ticket opener that
  knows the RFC's ticket, and the RFC's ephemeral key and random, verifies the binder, accepts
  the PSK and sends the RFC's ServerHello; its handshake secrets are the RFC's.

0-RTT itself (the early data, EndOfEarlyData, the server's early_data answer) comes with 0-RTT.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from glasstls import EventList, ServerConnection
from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.rand import ReplayRandomness, system_randomness
from glasstls.enums import CipherSuite, PskKeyExchangeMode
from glasstls.handshake import psk13
from glasstls.observe import SecretTrace, VerificationTrace
from glasstls.session.psk import binder, ticket_age_ms
from glasstls.session.state import TLS13, SessionState
from glasstls.session.tickets import ACCEPTED, UNKNOWN_KEY, TicketKeys
from glasstls.wire.extensions import OfferedPsks
from glasstls.wire.handshake import ClientHello, NewSessionTicket, ServerHello, decode_message
from rfc8448_trace import Trace, load_rfc8448_section, rfc_path
from test_rfc8448 import SUITE, rfc_server_config

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
    offer = psk13.PskOffer(kept.ticket or b"", kept.master_secret, SUITE, kept, (PskKeyExchangeMode.psk_dhe_ke,))
    bound = psk13.bind(_At(T0 + reported_age(trace3, trace4)), zeroed, offer)  # type: ignore[arg-type]
    assert bound.raw == trace4.block(f"{C}  send handshake record", "payload", 0)


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
