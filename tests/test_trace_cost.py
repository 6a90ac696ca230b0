"""A connection builds only the trace events its observer reads (issue 15: what a trace costs).

A plain text trace prints no secret and no state change, so it says it reads neither
(``Observer.wants_secret_events``, ``Observer.wants_state_events``) and a connection builds
none for it. What it prints must not change: the same handshake (injected randomness, a fixed
clock) runs twice, once with an EventList, which reads every event, rendered afterwards, and
once with the text trace alone, live.
"""

from __future__ import annotations

import functools
import io
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from glasstls import (
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    NamedGroup,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
)
from glasstls.observe import EventList, Observer, SecretTrace, StateTrace
from glasstls.session.tickets import TicketKeys
from glasstls.trace import Tee
from glasstls.trace.jsonl import JsonLinesTrace
from glasstls.trace.text import TextTrace, render_text
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity

NOW = datetime.now(UTC)
V12 = ProtocolVersion.TLSv1_2


class Seeded:
    """Deterministic randomness: the same handshake byte for byte on every run."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def __call__(self, n: int) -> bytes:
        return self._random.randbytes(n)


def configs(kind: str) -> tuple[ClientConfig, ServerConfig]:
    identity = server_identity("localhost")
    # x25519 alone: an ML-KEM encapsulation draws randomness of its own. Ticket keys from the seed too.
    extra: dict[str, Any] = {"groups": (NamedGroup.x25519,)}
    if kind == "1.2":
        # RFC 8422, Section 5.1: a TLS 1.2 client names the ECDSA certificate's curve (P-256) too.
        extra |= {"tls_max": ProtocolVersion.TLSv1_2, "groups": (NamedGroup.x25519, NamedGroup.secp256r1)}
    client = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **extra)
    server = ServerConfig(
        certificates=(CertifiedKey(identity.chain, identity.private_key),),
        groups=(NamedGroup.x25519,),
        ticket_keys=TicketKeys(Seeded(3)),
    )
    return client, server


def handshake(kind: str, client_observer: Observer, server_observer: Observer) -> None:
    client_config, server_config = configs(kind)
    clock = lambda: NOW  # noqa: E731
    client = ClientConnection(client_config, "localhost", observer=client_observer, randomness=Seeded(1), clock=clock)
    server = ServerConnection(server_config, observer=server_observer, randomness=Seeded(2), clock=clock)
    for _ in range(4):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.handshake_complete and server.handshake_complete
    client.close()
    server.receive_bytes(client.data_to_send())


class Spy(EventList):
    """Keeps what it is sent, and says it reads no secret and no state event."""

    wants_secret_events = False
    wants_state_events = False


def test_the_options_say_which_events_a_text_trace_reads() -> None:
    out = io.StringIO()
    plain = TextTrace(out, color=False)
    assert not plain.wants_secret_events and not plain.wants_state_events
    for options in ({"full": True}, {"explain": True}):
        trace = TextTrace(out, color=False, **options)
        assert trace.wants_secret_events and trace.wants_state_events
    secrets = TextTrace(out, color=False, show_secrets=True)
    assert secrets.wants_secret_events and not secrets.wants_state_events
    plain.full = True  # read from the options each time
    assert plain.wants_secret_events and plain.wants_state_events


def test_a_tee_reads_what_any_of_its_observers_reads() -> None:
    out = io.StringIO()
    assert not Tee(TextTrace(out, color=False), Spy()).wants_secret_events
    assert Tee(TextTrace(out, color=False), JsonLinesTrace(out)).wants_secret_events
    assert Tee(Spy(), EventList()).wants_state_events


@pytest.mark.parametrize("kind", ["1.3", "1.2"])
def test_no_secret_or_state_event_is_built_for_an_observer_that_reads_none(kind: str) -> None:
    everything = {"client": EventList(), "server": EventList()}
    handshake(kind, everything["client"], everything["server"])
    spies = {"client": Spy(), "server": Spy()}
    handshake(kind, spies["client"], spies["server"])
    for side in ("client", "server"):
        kinds = [type(e) for e in spies[side].events]
        assert SecretTrace not in kinds and StateTrace not in kinds
        read = [e for e in everything[side].events if not isinstance(e, (SecretTrace, StateTrace))]
        assert spies[side].events == read
        assert any(isinstance(e, SecretTrace) for e in everything[side].events)  # there were some to leave out
        assert any(isinstance(e, StateTrace) for e in everything[side].events)


def test_the_key_schedule_reports_to_no_one_for_an_observer_that_reads_no_secret_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # TLS 1.3's key schedule is given no report to call (common13.secret_reporter), not one whose
    # calls end at the connection: the same secrets are derived (the handshake completes).
    from glasstls.handshake_context import HandshakeContext

    reports: list[str] = []
    real = HandshakeContext.secret

    def counted(self: Any, label: str, client_random: bytes, secret: bytes) -> None:
        reports.append(label)
        real(self, label, client_random, secret)

    monkeypatch.setattr(HandshakeContext, "secret", counted)
    handshake("1.3", Spy(), Spy())
    assert reports == []
    handshake("1.3", EventList(), Spy())
    assert "client_handshake_traffic_secret" in reports and "server_application_traffic_secret_0" in reports


@pytest.mark.parametrize("kind", ["1.3", "1.2"])
def test_a_plain_text_trace_alone_prints_what_it_prints_beside_every_event(kind: str) -> None:
    everything = {"client": EventList(), "server": EventList()}
    handshake(kind, everything["client"], everything["server"])
    outs = {"client": io.StringIO(), "server": io.StringIO()}
    handshake(kind, TextTrace(outs["client"], color=False), TextTrace(outs["server"], color=False))
    for side in ("client", "server"):
        assert outs[side].getvalue() == render_text(everything[side].events)
        assert "Finished" in outs[side].getvalue()


def _counting(cls: type, built: list[str]) -> Any:
    def build(*args: Any) -> Any:
        built.append(cls.__name__)
        return cls(*args)

    return build


@pytest.mark.parametrize("kind", ["1.3", "1.2"])
def test_a_plain_text_trace_writes_a_line_it_has_kept_from_the_fields_alone(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection hands records, messages, key installations and checks to the observer's
    on_record, on_message, on_keys and on_verification; a plain text trace writes each message's
    line, and each other line it has already written once, with no event built, and the same
    text as from the events."""
    import glasstls.trace.text as text_module

    monkeypatch.setattr(text_module, "_KEPT_LINES", {})  # (a table of its own: nothing another test kept)
    monkeypatch.setattr(text_module, "_KEPT_HELD", [])
    built: list[str] = []
    for name in ("RecordTrace", "MessageTrace", "KeysTrace", "VerificationTrace"):
        monkeypatch.setattr(text_module, name, _counting(getattr(text_module, name), built))
    everything = {"client": EventList(), "server": EventList()}
    handshake(kind, everything["client"], everything["server"])
    first, second = (
        {"client": io.StringIO(), "server": io.StringIO()},
        {"client": io.StringIO(), "server": io.StringIO()},
    )
    handshake(kind, TextTrace(first["client"], color=False), TextTrace(first["server"], color=False))
    assert built and "MessageTrace" not in built  # lines met for the first time go through their events
    built.clear()
    handshake(kind, TextTrace(second["client"], color=False), TextTrace(second["server"], color=False))
    assert built == []
    for side in ("client", "server"):
        expected = render_text(everything[side].events)
        assert first[side].getvalue() == expected and second[side].getvalue() == expected


def test_a_message_line_that_cannot_be_written_is_said_and_the_handshake_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last resort of TextTrace.__call__ holds for a message line written from its fields too."""
    import glasstls.trace.headlines as headlines

    def broken(msg: Any) -> Any:
        raise RuntimeError("no headline today")

    monkeypatch.setattr(headlines, "headline_key", broken)
    everything = EventList()
    handshake("1.3", everything, EventList())
    out = io.StringIO()
    handshake("1.3", TextTrace(out, color=False), EventList())  # (handshake() asserts that it completes)
    text = out.getvalue()
    assert "client ! trace: cannot show this message event (RuntimeError: no headline today)" in text
    assert text == render_text(everything.events)


def test_a_tee_hands_each_observer_its_own_entry_points() -> None:
    """Through a Tee, a text trace writes what it writes alone, and an EventList gets every event."""
    everything = EventList()
    handshake("1.3", everything, EventList())
    out, beside = io.StringIO(), EventList()
    handshake("1.3", Tee(TextTrace(out, color=False), beside, DuckTyped()), EventList())
    assert out.getvalue() == render_text(everything.events)
    assert beside.events == everything.events


class DuckTyped:
    """An observer that is no Observer: a callable with wants_secrets, as the connection has always accepted."""

    wants_secrets = False

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)


def test_an_observer_that_does_not_say_is_sent_every_event() -> None:
    everything, duck = EventList(), DuckTyped()
    handshake("1.3", everything, EventList())
    handshake("1.3", duck, EventList())
    assert duck.events == everything.events


def test_a_field_that_is_not_text_is_shown_as_printable_shows_it() -> None:
    """An event built by hand may hold bytes or a number where text belongs: shown, escaped, as before."""
    from glasstls.observe import VerificationTrace

    events = [VerificationTrace("client", "x", True, b"caf\xc3\xa9\x1b"), VerificationTrace("client", "y", False, 7)]  # type: ignore[arg-type]
    assert render_text(events) == "client * verified x: café\\x1b\nclient ! rejected y: 7\n"


def test_headlines_kept_by_bytes_follow_the_bytes() -> None:
    """A server's EncryptedExtensions and certificates repeat byte for byte: their headlines are kept
    by the bytes, so one with other bytes (or none yet) still says what it holds."""
    from glasstls.enums import ExtensionType
    from glasstls.trace.headlines import headline
    from glasstls.wire import extensions as X
    from glasstls.wire import handshake as H

    def ee(alpn: bytes) -> H.EncryptedExtensions:
        exts = (X.Extension.make(ExtensionType.application_layer_protocol_negotiation, (alpn,), X.EE),)
        return H.EncryptedExtensions(extensions=exts)

    first, second = ee(b"h2"), ee(b"http/1.1")
    assert "ALPN h2" in headline(first)  # not encoded yet: read from its fields
    first.encode(), second.encode()
    assert "ALPN h2" in headline(first) and "ALPN h2" in headline(first)  # kept, and found again
    assert "ALPN http/1.1" in headline(second)
    assert "ALPN h2" in headline(H.decode_message(first.raw))


def test_kept_lines_follow_what_they_read() -> None:
    """Lines kept whole by the fields they read (records, key installations, checks, Finished and
    CertificateVerify) come back only for the same fields, side, direction and prefix, and never in colour."""
    from glasstls.enums import ContentType, SignatureScheme
    from glasstls.observe import KeysTrace, MessageTrace, RecordTrace, VerificationTrace
    from glasstls.wire import handshake as H

    def events(n: int) -> list[Any]:
        fin = H.Finished(verify_data=bytes(n))
        fin.encode()
        return [
            RecordTrace("client", "out", ContentType.handshake, bytes([22, 3, 3, 0, n]), bytes(n)),
            KeysTrace("server", "read", f"epoch{n}", "TLS_AES_128_GCM_SHA256"),
            VerificationTrace("client", f"subject{n}", n % 2 == 0, "detail"),
            MessageTrace("server", "in", fin),
            MessageTrace("client", "out", H.CertificateVerify(SignatureScheme.ed25519, bytes(n))),
            MessageTrace("client", "out", H.CertificateVerify(0x0807, bytes(n))),  # type: ignore[arg-type]
        ]

    def expected(n: int, label: bool = True) -> str:
        check = "client * verified" if n % 2 == 0 else "client ! rejected"
        lines = [
            f"client > record handshake, TLSv1.2, {n} bytes",
            f"server * read keys: epoch{n}, TLS_AES_128_GCM_SHA256",
            f"{check} subject{n}: detail",
            f"server < Finished (20): verify_data {n} bytes",
            f"client > CertificateVerify (15): ed25519, {n} bytes signature",
            f"client > CertificateVerify (15): ed25519, {n} bytes signature",
        ]
        if not label:
            lines = [line.split(" ", 1)[1] for line in lines]
        return "".join(f"{line}\n" for line in lines)

    for n in (32, 33, 32, 33):
        assert render_text(events(n)) == expected(n)
        assert render_text(events(n), side_label=False) == expected(n, label=False)
    coloured = io.StringIO()
    TextTrace(coloured, color=True).render(events(32))
    assert "\x1b[" in coloured.getvalue() and "verify_data 32 bytes" in coloured.getvalue()


def test_kept_lines_are_bounded_whatever_the_peers_send() -> None:
    """A peer choosing new subjects and details on every connection (names in certificates) only makes
    lines be built again: the table of kept lines starts over at its bound, and every line is still right."""
    from glasstls.observe import VerificationTrace
    from glasstls.trace import text

    bound = text._KEPT_LINES_MAX
    for n in range(bound + 10):
        line = render_text([VerificationTrace("client", f"CN=peer{n}.example", True, f"detail {n}")])
        assert line == f"client * verified CN=peer{n}.example: detail {n}\n"
        assert len(text._KEPT_LINES) <= bound


@functools.cache
def _client_versions() -> Any:
    """The supported_versions a client's configuration fixes: one object for every hello, as hello.py keeps it."""
    from glasstls.enums import ExtensionType
    from glasstls.wire import extensions as X

    return X.Extension.make(ExtensionType.supported_versions, (ProtocolVersion.TLSv1_3,), X.CH)


def _hello_events(share: int, name: str, ticket: bytes = b"", psk_answer: bool = False) -> list[Any]:
    """A ClientHello and a TLS 1.3 ServerHello as a client sends and receives them (made the way a
    handshake makes them: Extension.make, decoded from the bytes), with what varies per connection."""
    from glasstls.enums import CipherSuite, ExtensionType, NamedGroup
    from glasstls.observe import MessageTrace
    from glasstls.wire import extensions as X
    from glasstls.wire import handshake as H

    e = ExtensionType
    shares = (X.KeyShareEntry(NamedGroup.x25519, bytes(share)),)
    hello = H.ClientHello(
        random=bytes(32),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        extensions=(
            X.Extension.make(e.server_name, name, X.CH),
            _client_versions(),
            X.Extension.make(e.key_share, shares, X.CH),
            X.Extension.make(e.session_ticket, ticket, X.CH),
        ),
    )
    answer = [X.Extension.make(e.key_share, X.KeyShareEntry(NamedGroup.x25519, bytes(share)), X.SH)]
    answer.append(X.Extension.make(e.supported_versions, ProtocolVersion.TLSv1_3, X.SH))
    if psk_answer:
        answer.append(X.Extension.make(e.pre_shared_key, 0, X.SH))
    server_hello = H.ServerHello(random=bytes(32), extensions=tuple(answer))
    hello.encode(), server_hello.encode()
    received = H.decode_message(server_hello.raw)
    return [MessageTrace("client", "out", hello), MessageTrace("client", "in", received)]


def test_kept_hello_lines_follow_what_they_read() -> None:
    """A hello's line is kept by the extension objects it reads (held while kept) and the few fields it
    shows of the others: a new key share length, host name, ticket or PSK answer is shown as it is."""
    from glasstls.trace import text

    def expected(share: int, name: str, ticket: bool, psk: bool) -> str:
        offers = "; offers a ticket" if ticket else ""
        accepted = "; PSK accepted (identity 0, psk_dhe_ke)" if psk else ""
        return (
            f"client > ClientHello (1): versions TLSv1.3; 1 cipher suite; key shares x25519 ({share} bytes); "
            f"SNI {name}{offers}; 4 extensions\n"
            f"client < ServerHello (2): TLSv1.3; TLS_AES_128_GCM_SHA256; key share x25519 ({share} bytes){accepted}\n"
        )

    for share, name, ticket, psk in [(32, "a.example", b"", False), (33, "a.example", b"", False)] * 2 + [
        (32, "b.example", b"", False),
        (32, "a.example", b"ticket", False),
        (32, "a.example", b"", True),
        (32, "a.example", b"", False),
    ]:
        assert render_text(_hello_events(share, name, ticket, psk)) == expected(share, name, bool(ticket), psk)
    assert text._KEPT_HELD  # (they were kept)
    # A TLS 1.2 ServerHello's line says "resumed" by what the context learned: that is in its key too.
    from glasstls.trace.describe import Context
    from glasstls.trace.headlines import hello_key
    from glasstls.wire import handshake as H

    tls12 = H.ServerHello(legacy_version=V12)
    resumed, full = Context("client", version=V12, resumed=True), Context("client", version=V12)
    assert hello_key(tls12, resumed) is not None and hello_key(tls12, resumed) != hello_key(tls12, full)
    # A hello built by hand with a value its bytes do not say: shown as it is, each time.
    from glasstls.enums import ExtensionType
    from glasstls.observe import MessageTrace
    from glasstls.wire import extensions as X

    for host in ("one.example", "two.example", "one.example"):
        msg = H.ClientHello(extensions=(X.Extension(ExtensionType.server_name, b"", host),))
        msg.encode()
        assert f"SNI {host};" in render_text([MessageTrace("server", "in", msg)])


def test_kept_hello_lines_and_what_they_hold_are_bounded() -> None:
    """A client naming a new host on every connection: the hello lines are built again, the table of kept
    lines starts over at its bound, and what the kept keys hold goes with them."""
    from glasstls.trace import text

    bound = text._KEPT_LINES_MAX
    for n in range(bound + 10):
        name = f"host{n}.example"
        assert f"SNI {name};" in render_text(_hello_events(32, name))
        assert len(text._KEPT_HELD) <= len(text._KEPT_LINES) <= bound


def test_names_learned_from_compressed_certificates_follow_their_bytes() -> None:
    """A client's context learns the server's names from inside a CompressedCertificate; kept by the
    message's bytes, so another chain (or bytes that do not inflate) says what it holds, and the table
    of what was learned starts over at its bound."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from glasstls.crypto import certcompress
    from glasstls.enums import CertificateCompressionAlgorithm
    from glasstls.observe import MessageTrace
    from glasstls.trace import certificates
    from glasstls.trace import describe as D
    from glasstls.wire import handshake as H

    def compressed(*names: str) -> Any:
        chain = server_identity(*names).chain
        cert = H.Certificate(b"", tuple(H.CertificateEntry(c.public_bytes(Encoding.DER)) for c in chain))
        msg = certcompress.compress_certificate(cert, CertificateCompressionAlgorithm.zlib)
        msg.encode()
        return H.decode_message(msg.raw)

    def learned(msg: Any, side: str = "client", direction: str = "in") -> tuple[str, ...]:
        ctx = D.Context(side, certificate_names=("before",))
        ctx.update(MessageTrace(side, direction, msg))
        return ctx.certificate_names

    one, two = compressed("one.example"), compressed("two.example", "2.example")
    for _ in range(2):
        assert learned(one) == ("one.example",)
        assert learned(two) == ("two.example", "2.example")
    assert learned(one, "server", "in") == ("before",)  # the client's chain: not the server's names
    broken = H.decode_message(H.CompressedCertificate(CertificateCompressionAlgorithm.zlib, 50, b"not zlib").encode())
    assert learned(broken) == ("before",)
    for n in range(certificates._COMPRESSED_NAMES_MAX + 3):
        msg = H.decode_message(H.CompressedCertificate(CertificateCompressionAlgorithm.zlib, 50 + n, b"x").encode())
        assert learned(msg) == ("before",)
        assert len(certificates._COMPRESSED_NAMES) <= certificates._COMPRESSED_NAMES_MAX
    assert learned(one) == ("one.example",)
