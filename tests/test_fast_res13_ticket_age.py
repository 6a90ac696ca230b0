"""A client offering a TLS 1.3 ticket reads the clock once for its first ClientHello (issue 15: a
reading costs some 2,700 instructions): psk13 checks the ticket's expiry and reports its age
(RFC 8446, Sections 4.2.11 and 4.6.1) at the same reading, so a ticket is never offered with an
age past the lifetime it was found within. A second ClientHello, after a HelloRetryRequest,
reports the age at a reading of its own, as before (Section 4.1.2: a fresh binder and age)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from glasstls import CertifiedKey, ClientConfig, ClientConnection, NamedGroup, ServerConfig, ServerConnection
from glasstls.enums import ExtensionType
from glasstls.session.state import SessionState
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity, ticket_session

NOW = datetime.now(UTC)  # (the test CA issues its certificates now)
STEP = timedelta(seconds=1)  # how far the stepping clock moves on at each reading


class SteppingClock:
    """A clock that moves on by STEP at every reading, and keeps them."""

    def __init__(self, start: datetime) -> None:
        self.readings: list[datetime] = []
        self._next = start

    def __call__(self) -> datetime:
        self.readings.append(self._next)
        self._next += STEP
        return self.readings[-1]


def _configs(**server: Any) -> tuple[ClientConfig, ServerConfig]:
    identity = server_identity("localhost")
    cc = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()))
    sc = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **server)
    return cc, sc


def _session(cc: ClientConfig, sc: ServerConfig) -> SessionState:
    return ticket_session(cc, sc, NOW)


def _reported_at(client: ClientConnection, session: SessionState) -> datetime:
    """The time at which the client's last ClientHello reports its ticket's age."""
    hello = client.offered_hello
    assert hello is not None
    (identity,) = hello.ext(ExtensionType.pre_shared_key).value.identities
    assert identity.identity == session.ticket
    age_ms = (identity.obfuscated_ticket_age - session.ticket_age_add) % (1 << 32)
    return session.created + timedelta(milliseconds=age_ms)


def _offering(session: SessionState, cc: ClientConfig, clock: Callable[[], datetime]) -> ClientConnection:
    client = ClientConnection(cc, server_name="localhost", session=session, clock=clock)
    client.data_to_send()  # (the ClientHello, built when the first flight is asked for)
    return client


def test_the_first_client_hello_reports_the_age_at_the_reading_it_checked_expiry_at() -> None:
    """The connection may read the clock before (ClientConnection checks the session it is given);
    the hello's own check of the ticket is the last reading, and its age is reported at it."""
    cc, sc = _configs()
    session = _session(cc, sc)
    for after in (timedelta(0), timedelta(seconds=5), timedelta(seconds=session.lifetime - 5)):
        clock = SteppingClock(session.created + after)
        client = _offering(session, cc, clock)
        assert _reported_at(client, session) == clock.readings[-1]


def test_a_ticket_within_its_lifetime_at_the_reading_is_offered_with_an_age_within_it() -> None:
    """The end of the lifetime: a reading after the check would be past it."""
    cc, sc = _configs()
    session = _session(cc, sc)
    # (readings: the connection's check of the clock, its check of the session, the hello's, the last)
    clock = SteppingClock(session.created + timedelta(seconds=session.lifetime) - 5 * STEP / 2)
    client = _offering(session, cc, clock)
    reported = _reported_at(client, session)
    assert reported == clock.readings[-1]
    assert not session.expired(reported) and session.expired(reported + STEP)


def test_the_second_client_hello_after_a_retry_reports_the_age_at_a_later_reading() -> None:
    cc, sc = _configs()
    session = _session(cc, sc)
    # A server that takes only secp256r1 asks the client, which shares x25519, for another share.
    retrying = ServerConfig(certificates=sc.certificates, ticket_keys=sc.ticket_keys, groups=(NamedGroup.secp256r1,))
    clock = SteppingClock(session.created + timedelta(seconds=10))
    client = ClientConnection(cc, server_name="localhost", session=session, clock=clock)
    server = ServerConnection(retrying, clock=lambda: NOW)
    server.receive_bytes(client.data_to_send())
    first = _reported_at(client, session)
    assert first == clock.readings[-1]
    before_retry = len(clock.readings)
    client.receive_bytes(server.data_to_send())  # the HelloRetryRequest: a second ClientHello
    second = _reported_at(client, session)
    assert second in clock.readings[before_retry:] and second > first
    server.receive_bytes(client.data_to_send())
    client.receive_bytes(server.data_to_send())
    assert client.parameters is not None and client.parameters.resumed
