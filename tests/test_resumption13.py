"""TLS 1.3 session tickets, PSK resumption and external PSKs between in-memory glasstls peers
(RFC 8446, Sections 2.2, 4.2.9, 4.2.11 and 4.6.1).

* The server sends ``tls13_tickets`` NewSessionTickets after the client's Finished; the
  client turns each into a session (``conn.session`` is the newest, ``NewTicket.session``
  each) and offers it next time with a binder; the server checks it and resumes: no
  Certificate, ``parameters.resumed`` on both sides, the original server chain kept.
* psk_dhe_ke by default, psk_ke only when both sides list it; after a HelloRetryRequest
  the second ClientHello's binder covers the new transcript.
* Bad input: a wrong binder (decrypt_error), pre_shared_key not last (illegal_parameter),
  a truncated one (decode_error), no psk_key_exchange_modes (missing_extension), a server
  selecting an identity the client did not offer (illegal_parameter).
* A ticket the server cannot use (corrupt, expired, from another server, issued for
  another name, an age beyond its lifetime, a client certificate now required) means a
  full handshake, with the reason in the server's trace ("PSK" checks).
* External PSKs, with and without a certificate on the server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from glasstls import (
    ApplicationData,
    CertifiedKey,
    CipherSuite,
    ClientConfig,
    ClientConnection,
    NamedGroup,
    NewTicket,
    ProtocolVersion,
    ServerConfig,
)
from glasstls.enums import AlertDescription, ExtensionType, PskKeyExchangeMode
from glasstls.errors import AlertError, ConfigError
from glasstls.observe import EventList, MessageTrace, VerificationTrace
from glasstls.session.psk import ExternalPsk
from glasstls.session.state import MAX_OFFERABLE_TICKET, TLS13, SessionState
from glasstls.session.store import SessionStore
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import (
    Certificate,
    ClientHello,
    CompressedCertificate,
    NewSessionTicket,
    ServerHello,
    decode_message,
)
from glasstls.x509.store import TrustStore
from pairs import Alter, TamperingClient, TamperingServer, default_ca, flip, once, server_identity, with_body
from revocation_helpers import crl

A = AlertDescription
PSK_KE = (PskKeyExchangeMode.psk_ke,)
BOTH_MODES = (PskKeyExchangeMode.psk_dhe_ke, PskKeyExchangeMode.psk_ke)
EXTERNAL = ExternalPsk(b"client 7", bytes(range(32)))


def client_config(**kw: Any) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **kw)


def server_config(*names: str, **kw: Any) -> ServerConfig:
    identity = server_identity(*(names or ("localhost",)))
    return ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **kw)


class Run:
    """One connection, traced on both sides, with tamper hooks."""

    def __init__(
        self,
        ccfg: ClientConfig,
        scfg: ServerConfig,
        session: SessionState | None = None,
        server_name: str = "localhost",
        client_alter: Alter | None = None,
        server_alter: Alter | None = None,
        server_clock: Any = None,
    ) -> None:
        self.client_log, self.server_log = EventList(), EventList()
        self.client = TamperingClient(ccfg, server_name, client_alter, session=session, observer=self.client_log)
        skw = {"clock": server_clock} if server_clock is not None else {}
        self.server = TamperingServer(scfg, server_alter, observer=self.server_log, **skw)
        self.client_events: list[Any] = []

    def drive(self) -> Run:
        for _ in range(5):
            if self.client.closed or self.server.closed:
                break
            self.server.receive_bytes(self.client.data_to_send())
            self.client_events += self.client.receive_bytes(self.server.data_to_send())
        return self

    def handshake(self) -> Run:
        self.drive()
        assert self.client.handshake_complete and self.server.handshake_complete, (self.client.error, self.server.error)
        return self

    def sent(self, side: str, kind: type) -> list[Any]:
        log = self.client_log if side == "client" else self.server_log
        return [
            e.message
            for e in log.events
            if isinstance(e, MessageTrace) and e.direction == "out" and type(e.message) is kind
        ]

    def certificates(self) -> list[Any]:
        """The server's Certificate messages, compressed (RFC 8879) or not."""
        return self.sent("server", Certificate) + self.sent("server", CompressedCertificate)

    def checks(self, side: str, subject: str = "PSK") -> list[tuple[bool, str]]:
        log = self.client_log if side == "client" else self.server_log
        return [(e.ok, e.detail) for e in log.events if isinstance(e, VerificationTrace) and e.subject == subject]

    def failed_with(self, description: AlertDescription) -> str:
        """The server closed with ``description``; returns its reason."""
        error = self.server.error
        assert error is not None and error.description == description, error
        peer = self.client.error
        assert peer is not None and peer.description == description, peer
        return str(error)


def first_session(ccfg: ClientConfig, scfg: ServerConfig, **kw: Any) -> SessionState:
    run = Run(ccfg, scfg, **kw).handshake()
    assert run.client.session is not None, run.client_events
    return run.client.session


# -- tickets --------------------------------------------------------------------------------------


def test_the_server_sends_two_tickets_and_the_client_keeps_the_newest() -> None:
    run = Run(client_config(alpn=("h2",)), server_config(alpn=("h2",))).handshake()
    nsts = run.sent("server", NewSessionTicket)
    assert len(nsts) == 2
    assert [t.ticket_nonce for t in nsts] == [bytes(8), (1).to_bytes(8, "big")]  # unique per ticket
    assert all(t.ticket_lifetime == 7200 for t in nsts)
    assert nsts[0].ticket_age_add != nsts[1].ticket_age_add  # random each (Section 4.6.1)
    events = [e for e in run.client_events if isinstance(e, NewTicket)]
    assert [e.ticket.ticket for e in events] == [t.ticket for t in nsts]
    sessions = [e.session for e in events]
    assert run.client.session == sessions[-1]
    first, second = sessions
    assert first.version == TLS13 and first.master_secret != second.master_secret  # a PSK per nonce
    assert (first.server_name, first.alpn, first.lifetime) == ("localhost", "h2", 7200)
    assert len(first.peer_certificates) == 2  # the server's chain, for the resumed connection's parameters


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_number_of_tickets_is_configured(count: int) -> None:
    run = Run(client_config(), server_config(tls13_tickets=count)).handshake()
    assert len(run.sent("server", NewSessionTicket)) == count
    assert (run.client.session is None) == (count == 0)


def test_ticket_lifetime_is_capped_at_seven_days_and_zero_is_discarded() -> None:
    lifetimes = iter([30 * 24 * 3600, 0])

    def alter(msg: Any) -> bytes | None:
        if not isinstance(msg, NewSessionTicket):
            return None
        changed = replace(msg, ticket_lifetime=next(lifetimes))
        return changed.encode()

    run = Run(client_config(), server_config(), server_alter=alter).handshake()
    sessions = [e.session for e in run.client_events if isinstance(e, NewTicket)]
    assert sessions[0] is not None and sessions[0].lifetime == 7 * 24 * 3600  # RFC 8446, Section 4.6.1
    assert sessions[1] is None and run.client.session == sessions[0]


def test_a_ticket_too_large_to_offer_is_discarded_and_never_offered() -> None:
    """A ticket may have 2^16 - 1 bytes (RFC 8446, Section 4.6.1), but it has to go back inside the
    ClientHello's extensions, whose block has no more (Section 4.1.2). One over MAX_OFFERABLE_TICKET
    is discarded when it comes, and a session holding one (from a store, say) is not offered: every
    later connection given it raised a ValueError out of the encoder (found by a helper's review)."""
    sizes = iter([MAX_OFFERABLE_TICKET + 1, MAX_OFFERABLE_TICKET])

    def alter(msg: Any) -> bytes | None:
        if not isinstance(msg, NewSessionTicket):
            return None
        return replace(msg, ticket=bytes(next(sizes))).encode()

    run = Run(client_config(), server_config(), server_alter=alter).handshake()
    sessions = [e.session for e in run.client_events if isinstance(e, NewTicket)]
    assert sessions[0] is None and sessions[1] is not None and run.client.session is sessions[1]
    discarded = (False, f"{MAX_OFFERABLE_TICKET + 1} bytes: too large to offer, discarded")
    assert discarded in run.checks("client", "session ticket")
    kept = sessions[1]
    offered = ClientConnection(client_config(), "localhost", session=kept).offered_hello
    assert offered.ext(ExtensionType.pre_shared_key) is not None  # the largest it keeps still fits
    too_large = replace(kept, ticket=bytes(65535))
    hello = ClientConnection(client_config(), "localhost", session=too_large).offered_hello
    assert hello.ext(ExtensionType.pre_shared_key) is None


# -- resumption -----------------------------------------------------------------------------------


def test_resumption_with_psk_dhe_ke() -> None:
    ccfg, scfg = client_config(), server_config()
    session = first_session(ccfg, scfg)
    run = Run(ccfg, scfg, session=session).handshake()
    for conn in (run.client, run.server):
        params = conn.parameters
        assert params is not None and params.resumed and params.psk == "resumption"
        assert params.group is not None and params.signature_scheme is None
    assert run.certificates() == []
    sh = run.sent("server", ServerHello)[0]
    assert sh.ext(ExtensionType.pre_shared_key).value == 0 and sh.ext(ExtensionType.key_share) is not None
    assert run.checks("server") == [(True, "PSK accepted: resumption, binder verified")]
    assert run.checks("client") == [(True, "PSK accepted: resumption")]
    # The original chain, from the session: the resumed connection is the same server's.
    assert run.client.parameters is not None
    assert run.client.parameters.peer_certificate_subject == "CN=localhost"
    # A resumed connection gets fresh tickets, and the data flows.
    assert run.client.session is not None and run.client.session.ticket != session.ticket
    run.client.send(b"after resumption")
    assert run.server.receive_bytes(run.client.data_to_send()) == [ApplicationData(b"after resumption")]


def test_a_ticket_resumes_under_another_suite_of_its_hash() -> None:
    # RFC 8446, Section 4.2.11: a PSK lends only its hash; the server may choose another suite with
    # it. The early secret each side extracted for the binder goes on under the chosen suite: the
    # traffic keys, and those after a KeyUpdate, are ChaCha20-Poly1305's.
    aes, chacha = CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256
    session = first_session(client_config(cipher_suites=(aes, chacha)), scfg := server_config(cipher_suites=(aes,)))
    assert session.cipher_suite == aes
    run = Run(client_config(cipher_suites=(aes, chacha)), replace(scfg, cipher_suites=(chacha,)), session=session)
    run.handshake()
    for conn in (run.client, run.server):
        params = conn.parameters
        assert params is not None and params.resumed and params.cipher_suite == chacha.name
    for sender, receiver in ((run.client, run.server), (run.server, run.client)):
        sender.send(b"under chacha")
        assert receiver.receive_bytes(sender.data_to_send()) == [ApplicationData(b"under chacha")]
    run.client.update_keys(request_peer=True)
    run.server.receive_bytes(run.client.data_to_send())
    run.client.receive_bytes(run.server.data_to_send())
    run.server.send(b"after a key update")
    assert ApplicationData(b"after a key update") in run.client.receive_bytes(run.server.data_to_send())


def test_the_offer_carries_the_obfuscated_age_and_modes() -> None:
    ccfg, scfg = client_config(), server_config()
    session = first_session(ccfg, scfg)
    run = Run(ccfg, scfg, session=session).handshake()
    hello: ClientHello = run.client.offered_hello
    assert hello.extensions[-1].type == ExtensionType.pre_shared_key  # last (Section 4.2.11)
    assert hello.ext(ExtensionType.psk_key_exchange_modes).value == (PskKeyExchangeMode.psk_dhe_ke,)
    (identity,) = hello.ext(ExtensionType.pre_shared_key).value.identities
    assert identity.identity == session.ticket
    age = (identity.obfuscated_ticket_age - session.ticket_age_add) % (1 << 32)
    assert 0 <= age < 60_000  # milliseconds since the ticket arrived


@pytest.mark.parametrize("retry", [False, True], ids=["first hello", "after HRR"])
def test_the_bound_hello_is_what_encoding_it_gives(retry: bool) -> None:
    """bind() splices the binder into the draft's bytes and into its pre_shared_key's: the hello it
    sends must be the one a fresh encoding and a fresh parse of it give, values included."""
    groups = (NamedGroup.x25519, NamedGroup.secp256r1)
    ccfg = client_config(groups=groups, key_share_groups=(NamedGroup.x25519,))
    scfg = server_config(groups=(NamedGroup.secp256r1,) if retry else groups)
    run = Run(ccfg, scfg, session=first_session(ccfg, scfg)).handshake()
    for hello in run.sent("client", ClientHello):
        fresh = hello.with_extensions(hello.extensions)
        assert fresh.encode() == hello.raw
        parsed = decode_message(hello.raw)
        assert parsed == hello and [e.value for e in parsed.extensions] == [e.value for e in hello.extensions]
        psk = hello.extensions[-1]
        assert Extension.make(psk.type, psk.value, "ClientHello") == psk == parsed.extensions[-1]


def test_resumption_with_psk_ke_when_both_allow_it() -> None:
    ccfg, scfg = client_config(psk_modes=PSK_KE), server_config(psk_modes=BOTH_MODES)
    session = first_session(ccfg, scfg)
    run = Run(ccfg, scfg, session=session).handshake()
    sh = run.sent("server", ServerHello)[0]
    assert sh.ext(ExtensionType.key_share) is None  # no (EC)DHE (Section 4.2.9)
    assert run.client.parameters is not None and run.client.parameters.group is None
    assert run.client.parameters.resumed


def test_psk_dhe_ke_is_preferred_when_the_server_lists_it_first() -> None:
    ccfg, scfg = client_config(psk_modes=BOTH_MODES), server_config(psk_modes=BOTH_MODES)
    run = Run(ccfg, scfg, session=first_session(ccfg, scfg)).handshake()
    assert run.sent("server", ServerHello)[0].ext(ExtensionType.key_share) is not None


def test_psk_ke_only_client_and_a_server_without_it_do_a_full_handshake() -> None:
    ccfg, scfg = client_config(psk_modes=PSK_KE), server_config()
    session = first_session(client_config(), scfg)
    run = Run(ccfg, scfg, session=session).handshake()
    assert run.client.parameters is not None and not run.client.parameters.resumed
    assert run.checks("server") == [(False, "no PSK key exchange mode in common (client: psk_ke): full handshake")]
    assert run.sent("server", NewSessionTicket) == []  # none the client could use (Section 4.2.9)


def test_resumption_after_hello_retry_request() -> None:
    """The second ClientHello's binder covers message_hash(ClientHello1) and the HRR (Section 4.2.11.2)."""
    groups = (NamedGroup.x25519, NamedGroup.secp256r1)
    ccfg = client_config(groups=groups, key_share_groups=(NamedGroup.x25519,))
    scfg = server_config(groups=(NamedGroup.secp256r1,))
    session = first_session(ccfg, scfg)
    run = Run(ccfg, scfg, session=session).handshake()
    hellos = run.sent("client", ClientHello)
    assert len(hellos) == 2
    binders = [h.ext(ExtensionType.pre_shared_key).value.binders[0] for h in hellos]
    assert binders[0] != binders[1]
    assert run.server.parameters is not None and run.server.parameters.resumed
    assert run.server.parameters.group == "secp256r1"
    assert run.checks("server") == [(True, "PSK accepted: resumption, binder verified")] * 2


def test_a_tls13_session_offered_to_a_tls12_server_gives_a_full_tls12_handshake() -> None:
    ccfg, scfg = client_config(), server_config()
    session = first_session(ccfg, scfg)
    run = Run(ccfg, server_config(tls_max=ProtocolVersion.TLSv1_2, ticket_keys=scfg.ticket_keys), session=session)
    run.handshake()
    assert run.client.parameters is not None
    assert run.client.parameters.version == "TLSv1.2" and not run.client.parameters.resumed


def test_the_client_certificate_carries_over() -> None:
    client = default_ca().issue_client("client.test")
    auth = {"client_auth": "required", "client_trust_store": TrustStore.from_pem(default_ca().root_pem())}
    ccfg = client_config(certificate=CertifiedKey(client.chain, client.private_key))
    scfg = server_config(**auth)
    run = Run(ccfg, scfg, session=first_session(ccfg, scfg)).handshake()
    params = run.server.parameters
    assert params is not None and params.resumed and params.client_auth
    assert params.peer_certificate_subject == "CN=client.test"


def _client_certificate_session() -> tuple[ClientConfig, ServerConfig, SessionState, Any]:
    """A session whose handshake proved a client certificate, the client's config, the server's."""
    client = default_ca().issue_client("client.test")
    auth = {"client_auth": "required", "client_trust_store": TrustStore.from_pem(default_ca().root_pem())}
    ccfg = client_config(certificate=CertifiedKey(client.chain, client.private_key))
    scfg = server_config(**auth)
    return ccfg, scfg, first_session(ccfg, scfg), client


def test_a_session_whose_client_the_identity_check_now_refuses_is_declined() -> None:
    """The application turned the client away since the session was made: the ticket is declined, and
    the full handshake that follows asks for the certificate again and refuses it (access_denied)."""
    ccfg, scfg, session, _ = _client_certificate_session()
    stricter = replace(scfg, client_identity_check=lambda identity: "client.test was let go")
    run = Run(ccfg, stricter, session=session).drive()
    ((ok, detail),) = run.checks("server")
    assert not ok and "does not pass any longer" in detail and "client.test was let go" in detail, detail
    assert "client.test was let go" in run.failed_with(AlertDescription.access_denied)
    assert run.certificates(), "a full handshake sends the certificate"


def test_a_session_whose_client_certificate_was_revoked_since_is_declined() -> None:
    """A CRL listing the client's certificate, published after the session was made (RFC 5280,
    Section 6.3): the ticket is declined, and the full handshake refuses the certificate."""
    ccfg, scfg, session, client = _client_certificate_session()
    ca = default_ca()
    revoked = crl((ca.intermediate_cert, ca.intermediate_key), revoked=[client.chain[0]])
    run = Run(ccfg, replace(scfg, client_crls=(revoked,)), session=session).drive()
    ((ok, detail),) = run.checks("server")
    assert not ok and "does not pass any longer" in detail and "revoked" in detail, detail
    run.failed_with(AlertDescription.certificate_revoked)


# -- bad input ------------------------------------------------------------------------------------


def _resuming(alter: Alter | None = None, server_alter: Alter | None = None) -> Run:
    ccfg, scfg = client_config(), server_config()
    session = first_session(ccfg, scfg)
    return Run(ccfg, scfg, session=session, client_alter=alter, server_alter=server_alter).drive()


def _hello_with(msg: ClientHello, extensions: tuple[Extension, ...]) -> bytes:
    return replace(msg, extensions=extensions).encode()


def test_a_wrong_binder_is_decrypt_error() -> None:
    run = _resuming(once(ClientHello, lambda m: flip(m.raw, len(m.raw) - 1)))
    assert "binder" in run.failed_with(A.decrypt_error)
    assert run.checks("server")[-1] == (False, "the PSK binder does not match the ClientHello")


def test_pre_shared_key_not_last_is_illegal_parameter() -> None:
    def move(msg: Any) -> bytes:
        *rest, psk = msg.extensions
        return _hello_with(msg, (*rest[:-1], psk, rest[-1]))

    run = _resuming(once(ClientHello, move))
    assert "last" in run.failed_with(A.illegal_parameter)


def test_a_truncated_pre_shared_key_is_decode_error() -> None:
    def cut(msg: Any) -> bytes:
        *rest, psk = msg.extensions
        return _hello_with(msg, (*rest, Extension(psk.type, psk.data[:-5])))

    _resuming(once(ClientHello, cut)).failed_with(A.decode_error)


def test_a_psk_without_psk_key_exchange_modes_is_missing_extension() -> None:
    def drop(msg: Any) -> bytes:
        return _hello_with(msg, tuple(e for e in msg.extensions if e.type != ExtensionType.psk_key_exchange_modes))

    assert "psk_key_exchange_modes" in _resuming(once(ClientHello, drop)).failed_with(A.missing_extension)


def test_a_server_selecting_an_identity_not_offered_is_illegal_parameter() -> None:
    def select_one(msg: Any) -> bytes:
        psk = ExtensionType.pre_shared_key
        exts = tuple(Extension(e.type, b"\x00\x01") if e.type == psk else e for e in msg.extensions)
        return with_body(msg.raw, replace(msg, extensions=exts).encode()[4:])

    run = _resuming(server_alter=once(ServerHello, select_one))
    error = run.client.error
    assert error is not None and error.description == A.illegal_parameter and "identity 1" in str(error)


def test_a_server_resuming_under_a_suite_of_another_hash_is_illegal_parameter() -> None:
    # RFC 8446, Section 4.2.11: the PSK is used only with a suite of its hash. The client refuses the
    # ServerHello before it derives anything from the PSK's early secret.
    def sha384_suite(msg: Any) -> bytes:
        return with_body(msg.raw, replace(msg, cipher_suite=CipherSuite.TLS_AES_256_GCM_SHA384).encode()[4:])

    run = _resuming(server_alter=once(ServerHello, sha384_suite))
    error = run.client.error
    assert error is not None and error.description == A.illegal_parameter, error
    assert "TLS_AES_256_GCM_SHA384 with a PSK for sha256" in str(error)


# -- tickets that cannot be used: a full handshake, and why -------------------------------------------


def _refused(run: Run) -> str:
    run.handshake()
    assert run.client.parameters is not None and not run.client.parameters.resumed
    assert run.certificates(), "a full handshake sends the certificate"
    assert run.checks("client") == [(False, "the server declined the PSK (resumption): full handshake")]
    ((ok, detail),) = run.checks("server")
    assert not ok
    return detail


def test_a_corrupt_ticket_means_a_full_handshake() -> None:
    ccfg, scfg = client_config(), server_config()
    session = first_session(ccfg, scfg)
    assert session.ticket is not None
    corrupt = replace(session, ticket=flip(session.ticket, 40))
    detail = _refused(Run(ccfg, scfg, session=corrupt))
    assert detail == "ticket refused: ticket does not authenticate (memory), full handshake"


def test_a_ticket_from_another_server_means_a_full_handshake() -> None:
    ccfg = client_config()
    session = first_session(ccfg, server_config())
    detail = _refused(Run(ccfg, server_config(), session=session))
    assert detail == "ticket refused: unknown key name (retired or from another server) (memory), full handshake"


def test_an_expired_ticket_means_a_full_handshake() -> None:
    ccfg, scfg = client_config(), server_config()
    session = first_session(ccfg, scfg)
    later = datetime.now(UTC) + timedelta(seconds=7300)
    detail = _refused(Run(ccfg, scfg, session=session, server_clock=lambda: later))
    assert detail.startswith("ticket refused: ") and detail.endswith(", full handshake")


def test_an_age_beyond_the_lifetime_means_a_full_handshake() -> None:
    """The client says the ticket is three hours old; it lives two (Section 4.6.1)."""
    ccfg, scfg = client_config(), server_config()
    session = first_session(ccfg, scfg)
    aged = replace(session, created=session.created - timedelta(hours=3), lifetime=7 * 24 * 3600)
    detail = _refused(Run(ccfg, scfg, session=aged))
    assert "beyond its lifetime of 7200 s" in detail


def test_tickets_issued_on_resumptions_end_when_the_first_one_does() -> None:
    """RFC 8446, Section 4.6.1: a limit on how long keying material is carried on from ticket to
    ticket. A ticket issued on a resumption ends when the ticket it resumed does, so a chain of
    resumptions ends two hours after the full handshake; each new ticket used to live two more."""
    ccfg, scfg = client_config(), server_config()
    first = first_session(ccfg, scfg)
    hour_later = datetime.now(UTC) + timedelta(hours=1)
    resumed = Run(ccfg, scfg, session=first, server_clock=lambda: hour_later).handshake()
    assert resumed.server.parameters is not None and resumed.server.parameters.resumed
    (issued,) = resumed.sent("server", NewSessionTicket)
    assert 3590 <= issued.ticket_lifetime <= 3600, issued.ticket_lifetime
    second = resumed.client.session
    assert second is not None and second.ticket != first.ticket and second.lifetime == issued.ticket_lifetime
    # Within the first ticket's two hours the new ticket resumes; past them it does not, though it
    # is only an hour and a quarter old.
    still = datetime.now(UTC) + timedelta(hours=1, minutes=50)
    assert Run(ccfg, scfg, session=second, server_clock=lambda: still).handshake().server.parameters.resumed
    past = datetime.now(UTC) + timedelta(hours=2, minutes=15)
    detail = _refused(Run(ccfg, scfg, session=second, server_clock=lambda: past))
    assert detail.startswith("ticket refused: ") and detail.endswith(", full handshake")


def test_no_ticket_is_issued_on_a_resumption_in_the_last_second_of_its_ticket() -> None:
    ccfg, scfg = client_config(), server_config()
    first = first_session(ccfg, scfg)
    last_second = first.created + timedelta(seconds=7199, microseconds=500_000)
    run = Run(ccfg, scfg, session=first, server_clock=lambda: last_second).handshake()
    assert run.server.parameters is not None and run.server.parameters.resumed
    assert run.sent("server", NewSessionTicket) == []
    assert (False, "no ticket issued: the session it would carry on ends now") in run.checks("server", "session ticket")


def test_a_ticket_for_another_server_name_means_a_full_handshake() -> None:
    ccfg, scfg = client_config(), server_config("localhost", "other.test")
    session = first_session(ccfg, scfg)
    # The client offers it (its copy names other.test); the sealed state names localhost.
    moved = replace(session, server_name="other.test")
    detail = _refused(Run(ccfg, scfg, session=moved, server_name="other.test"))
    assert "another server name" in detail


def test_the_client_does_not_offer_a_ticket_for_another_name() -> None:
    ccfg, scfg = client_config(), server_config("localhost", "other.test")
    session = first_session(ccfg, scfg)
    run = Run(ccfg, scfg, session=session, server_name="other.test").handshake()
    assert run.client.offered_hello.ext(ExtensionType.pre_shared_key) is None
    assert run.checks("client") == [
        (False, "ticket not offered: the ticket is for server name 'localhost', not 'other.test'")
    ]


def test_a_session_without_client_certificate_is_refused_once_one_is_required() -> None:
    auth = {"client_trust_store": TrustStore.from_pem(default_ca().root_pem())}
    client = default_ca().issue_client("client.test")
    ccfg = client_config(certificate=CertifiedKey(client.chain, client.private_key))
    scfg = server_config(client_auth="optional", **auth)
    session = first_session(client_config(), scfg)  # no client certificate that time
    run = Run(ccfg, replace(scfg, client_auth="required"), session=session)
    assert "requires one" in _refused(run)
    assert run.server.parameters is not None and run.server.parameters.client_auth


# -- external PSKs ----------------------------------------------------------------------------------


def test_external_psk_with_a_certificate_on_the_server() -> None:
    run = Run(client_config(psk=EXTERNAL), server_config(psks=(EXTERNAL,))).handshake()
    for conn in (run.client, run.server):
        params = conn.parameters
        assert params is not None and params.psk == "external PSK" and not params.resumed
        assert params.peer_certificates == ()
    assert run.certificates() == []
    assert run.checks("server") == [(True, "PSK accepted: external PSK, binder verified")]
    hello = run.client.offered_hello
    (identity,) = hello.ext(ExtensionType.pre_shared_key).value.identities
    assert (identity.identity, identity.obfuscated_ticket_age) == (b"client 7", 0)  # Section 4.2.11


def test_external_psk_server_without_a_certificate() -> None:
    scfg = ServerConfig(psks=(EXTERNAL,), tls_min=ProtocolVersion.TLSv1_3)
    run = Run(client_config(psk=EXTERNAL), scfg).handshake()
    assert run.server.parameters is not None and run.server.parameters.psk == "external PSK"


def test_a_psk_only_server_refuses_a_client_without_the_psk() -> None:
    scfg = ServerConfig(psks=(EXTERNAL,), tls_min=ProtocolVersion.TLSv1_3)
    other = ExternalPsk(b"client 8", bytes(32))
    for ccfg in (client_config(), client_config(psk=other)):
        run = Run(ccfg, scfg).drive()
        assert "external PSKs only" in run.failed_with(A.unknown_psk_identity)


def test_an_external_psk_the_server_does_not_know_gives_a_certificate_handshake() -> None:
    run = Run(client_config(psk=EXTERNAL), server_config()).handshake()
    assert run.client.parameters is not None and run.client.parameters.peer_certificate_subject == "CN=localhost"
    assert run.checks("client") == [(False, "the server declined the PSK (external PSK): full handshake")]


def test_a_wrong_external_key_is_decrypt_error() -> None:
    wrong = ExternalPsk(EXTERNAL.identity, bytes(32))
    run = Run(client_config(psk=wrong), server_config(psks=(EXTERNAL,))).drive()
    run.failed_with(A.decrypt_error)


def test_external_psk_with_sha384() -> None:
    psk = ExternalPsk(b"sha384 client", bytes(48), "sha384")
    run = Run(client_config(psk=psk), server_config(psks=(psk,))).handshake()
    assert run.server.parameters is not None and run.server.parameters.cipher_suite == "TLS_AES_256_GCM_SHA384"


def test_external_psk_configuration_is_checked() -> None:
    with pytest.raises(ConfigError, match="1 to 65535 bytes"):
        ExternalPsk(b"", b"key")
    with pytest.raises(ConfigError, match="sha256 or sha384"):
        ExternalPsk(b"id", b"key", "sha1")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"tls_min to 1\.3"):
        ServerConfig(psks=(EXTERNAL,))
    with pytest.raises(ConfigError, match="share one identity"):
        server_config(psks=(EXTERNAL, EXTERNAL))
    with pytest.raises(ConfigError, match="certificate and key, or external PSKs"):
        ServerConfig()
    with pytest.raises(ConfigError, match="tls13_tickets"):
        server_config(tls13_tickets=-1)


# -- the client's store: single-use TLS 1.3 tickets ---------------------------------------------------


def test_the_store_offers_a_tls13_ticket_once_and_keeps_a_tls12_session() -> None:
    ccfg, scfg = client_config(), server_config()
    first, second = (e.session for e in Run(ccfg, scfg).handshake().client_events if isinstance(e, NewTicket))
    store, key, now = SessionStore(), ("localhost", 443), datetime.now(UTC)
    store.put(key, first)
    store.put(key, second)
    assert store.offer(key, now) == second and store.offer(key, now) == first  # newest first, each once
    assert store.offer(key, now) is None and len(store) == 0
    tls12 = replace(first, version=0x0303, master_secret=bytes(48))
    store.put(key, tls12)
    assert store.offer(key, now) == tls12 and store.offer(key, now) == tls12  # RFC 5077 tickets are reused


def test_blocking_connect_resumes_tls13_through_a_session_store() -> None:
    import glasstls

    ccfg, scfg = client_config(), server_config()
    store = glasstls.SessionStore()
    resumed: list[bool] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = listener.getsockname()[1]

        def serve() -> None:
            for _ in range(3):
                sock, _ = listener.accept()
                sock.settimeout(10)
                with glasstls.accept(sock, scfg) as tls:
                    assert tls.parameters is not None
                    resumed.append(tls.parameters.resumed)
                    tls.sendall(tls.recv())

        thread = threading.Thread(target=serve)
        thread.start()
        offered = []
        for _ in range(3):
            with glasstls.connect("127.0.0.1", port, ccfg, server_name="localhost", session_store=store) as tls:
                psk = tls.conn.offered_hello.ext(ExtensionType.pre_shared_key)  # type: ignore[attr-defined]
                offered.append(psk.value.identities[0].identity if psk is not None else None)
                tls.sendall(b"x")
                assert tls.recv() == b"x"  # the tickets arrive with the echo, and go to the store
        thread.join(10)
    assert resumed == [False, True, True]
    assert offered[0] is None and offered[1] != offered[2]  # each ticket offered once (RFC 8446, Appendix C.4)
    assert len(store) == 2  # two tickets after the full handshake, one after each resumption, two of the four used


# -- seen and explained ---------------------------------------------------------------------------


def test_the_trace_shows_and_explains_the_psk_decision() -> None:
    from glasstls.trace.text import render_text

    ccfg = client_config()
    session = first_session(ccfg, server_config())
    refused = Run(ccfg, server_config(), session=session).handshake()
    text = render_text(refused.server_log.events, explain=True, width=1000)
    assert "server ! rejected PSK: ticket refused: unknown key name" in text, text
    assert "falls back to a full handshake with its certificate" in text
    scfg = server_config()
    accepted = Run(ccfg, scfg, session=first_session(ccfg, scfg)).handshake()
    text = render_text(accepted.client_log.events, width=1000)
    assert "verified PSK: PSK accepted: resumption" in text
    assert "NewSessionTicket" in text and "PSK accepted" in text


def test_the_cli_saves_and_resumes_a_tls13_session(tmp_path: Path) -> None:
    """glasstls client --session-out, then --session-in, against glasstls server: the JSON says resumed."""
    chain, key, root, saved = (tmp_path / n for n in ("chain.pem", "key.pem", "root.pem", "s.pem"))
    server_identity("localhost").write(chain, key)
    root.write_bytes(default_ca().root_pem())
    glasstls = [sys.executable, "-m", "glasstls"]
    files = ["--cert", str(chain), "--key", str(key)]
    server = subprocess.Popen(
        [*glasstls, "server", "--listen", "127.0.0.1:0", *files, "--max-connections", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        port = int(server.stderr.readline().rsplit(":", 1)[1])  # "glasstls server listening on 127.0.0.1:PORT"

        def client(*args: str) -> dict[str, Any]:
            address = f"127.0.0.1:{port}"
            options = ["--cacert", str(root), "--servername", "localhost", "--json", "--linger", "0.2", *args]
            proc = subprocess.run(
                [*glasstls, "client", address, *options], input=b"x", capture_output=True, timeout=30, check=False
            )
            assert proc.returncode == 0, proc.stderr
            said.append(proc.stderr.decode())
            summary: dict[str, Any] = json.loads(proc.stderr.decode().strip().splitlines()[-1])
            return summary

        said: list[str] = []
        first = client("--session-out", str(saved))
        assert saved.exists() and "GLASSTLS SESSION" in saved.read_text()
        second = client("--session-in", str(saved))
    finally:
        server.kill()
        server.wait(10)
    assert (first["resumed"], first["psk"]) == (False, None)
    assert (second["resumed"], second["psk"], second["peer_certificate"]) == (True, "resumption", "CN=localhost")
    # The summary a person reads names what a resumption has none of, in words (not Python's None).
    assert "server signature: none (a resumption: the session vouches for the server)" in said[1], said[1]
    assert "None" not in said[1].split("{", 1)[0], said[1]


def test_a_client_does_not_offer_a_session_whose_server_chain_does_not_parse() -> None:
    """A damaged session file, its server chain not DER: not offered, a full handshake instead; before,
    the handshake failed with bad_certificate, blaming the server."""
    ccfg, scfg = client_config(), server_config()
    damaged = replace(first_session(ccfg, scfg), peer_certificates=(b"\x30\x03\x02\x01\x00",))
    run = Run(ccfg, scfg, session=damaged).handshake()
    assert run.client.offered_hello.ext(ExtensionType.pre_shared_key) is None
    assert not run.client.parameters.resumed and run.certificates()
    ((ok, detail),) = run.checks("client")
    assert not ok and detail.startswith("ticket not offered: the server chain it keeps does not parse"), detail


def test_a_session_made_without_verification_is_not_offered_by_a_config_that_verifies() -> None:
    """A session from a client that skipped verification (here a server of a CA nobody trusts), given to a
    client that verifies: resumed, the untrusted server was taken as verified (a resumption shows no
    certificate). The kept chain is checked as the configuration would check it: not offered, and the
    full handshake refuses the server. The same session under the skipping config still resumes."""
    from glasstls.config import Dangerous
    from glasstls.x509.mint import ThrowawayCA

    stranger = ThrowawayCA.create("untrusted root").issue_server(["localhost"])
    scfg = ServerConfig(certificates=(CertifiedKey(stranger.chain, stranger.private_key),))
    insecure = ClientConfig(dangerous=Dangerous(skip_server_verification=True))
    session = first_session(insecure, scfg)
    client = ClientConnection(client_config(), "localhost", session=session, observer=(log := EventList()))
    assert client.offered_hello.ext(ExtensionType.pre_shared_key) is None
    checks = [e.detail for e in log.events if isinstance(e, VerificationTrace) and e.subject == "PSK"]
    assert len(checks) == 1 and checks[0].startswith(
        "ticket not offered: the server chain it keeps does not verify with this configuration: issuer CN=untrusted"
    ), checks
    again = ClientConnection(insecure, "localhost", session=session)
    assert again.offered_hello.ext(ExtensionType.pre_shared_key) is not None


@pytest.mark.parametrize("policy", ["crl revokes the leaf", "ocsp require", "revocation hard"])
def test_the_clients_revocation_policy_holds_for_a_session(policy: str) -> None:
    """A configuration whose full handshake refuses the server (its CRLs revoke the leaf, it requires an
    OCSP staple the server does not send, or a CRL it lacks) resumed the server's session all the same:
    a resumption shows no certificate and no staple. The session is not offered; the full handshake
    that follows fails as it would have (RFC 5246, Appendix F.1.4)."""
    scfg = server_config()
    session = first_session(client_config(), scfg)
    ca = default_ca()
    if policy == "crl revokes the leaf":
        leaf = server_identity("localhost").chain[0]
        strict = client_config(crls=(crl((ca.intermediate_cert, ca.intermediate_key), revoked=[leaf]),))
    elif policy == "ocsp require":
        strict = client_config(ocsp="require")
    else:
        strict = client_config(revocation="hard")
    client = ClientConnection(strict, "localhost", session=session, observer=(log := EventList()))
    assert client.offered_hello.ext(ExtensionType.pre_shared_key) is None
    checks = [e.detail for e in log.events if isinstance(e, VerificationTrace) and e.subject == "PSK"]
    assert len(checks) == 1 and checks[0].startswith("ticket not offered: "), checks
    assert "revocation" in checks[0] or "OCSP" in checks[0], checks


def test_a_ticket_resumes_under_another_application_protocol_without_early_data() -> None:
    """ALPN is the connection's (RFC 7301, Section 3); only 0-RTT data is bound to the ticket's protocol
    (RFC 8446, Section 4.2.10). The server made a full handshake when the client now offered another."""
    scfg = server_config(alpn=("h2", "http/1.1"))
    session = first_session(client_config(alpn=("h2",)), scfg)
    assert session.alpn == "h2"
    run = Run(client_config(alpn=("http/1.1",)), scfg, session=session).handshake()
    assert run.client.parameters.resumed and run.client.parameters.alpn == "http/1.1"


def test_a_name_the_server_no_longer_serves_is_refused_on_a_resumption_too() -> None:
    """refuse_unknown_server_names: a full handshake for a name no certificate carries ends in
    unrecognized_name (RFC 6066, Section 3); a ticket issued when the name was served resumed anyway."""
    issued = server_config("a.example", "b.example")
    session = first_session(client_config(), issued, server_name="a.example")
    now_b_only = server_config("b.example", refuse_unknown_server_names=True, ticket_keys=issued.ticket_keys)
    run = Run(client_config(), now_b_only, session=session, server_name="a.example")
    assert run.client.offered_hello.ext(ExtensionType.pre_shared_key) is not None
    run.drive()
    error = run.server.error
    assert isinstance(error, AlertError) and error.description == AlertDescription.unrecognized_name


def test_a_client_does_not_offer_a_session_whose_server_certificate_has_expired() -> None:
    """The server's certificate expires while the ticket still lives (an hour against two): past its
    notAfter the client offers the ticket no more (as Go's client), and the full handshake shows the
    certificate's state (here: expired)."""
    now = datetime.now(UTC)
    short = default_ca().issue_server(["localhost"], not_after=now + timedelta(hours=1))
    ccfg = client_config()
    scfg = ServerConfig(certificates=(CertifiedKey(short.chain, short.private_key),))
    session = first_session(ccfg, scfg)
    late = now + timedelta(hours=1, minutes=1)
    client = ClientConnection(ccfg, "localhost", session=session, clock=lambda: late, observer=(log := EventList()))
    assert client.offered_hello.ext(ExtensionType.pre_shared_key) is None
    checks = [(e.ok, e.detail) for e in log.events if isinstance(e, VerificationTrace) and e.subject == "PSK"]
    assert len(checks) == 1 and checks[0][1].startswith("ticket not offered: the server certificate it keeps expired")
    early = ClientConnection(ccfg, "localhost", session=session, clock=lambda: now + timedelta(minutes=59))
    assert early.offered_hello.ext(ExtensionType.pre_shared_key) is not None  # before: still offered
