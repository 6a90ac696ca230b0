"""The server's handshake transcript of a ClientHello with a PSK goes on from the hash its binder
check made of the ClientHello up to the binders (RFC 8446, Sections 4.2.11.2 and 4.4.1), instead
of hashing the whole ClientHello again (issue 15); and a transcript digest leaves the running hash
to go on without a copy of it. Either must give what the careful path gives: the same bytes out,
the same alert, for the ClientHellos of several clients and every cut and byte change of one."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from byte_variants import byte_variants
from glasstls import CertifiedKey, CipherSuite, ClientConfig, ServerConfig
from glasstls.crypto.transcript import Transcript
from glasstls.enums import NamedGroup, PskKeyExchangeMode
from glasstls.handshake import server13
from glasstls.session.psk import ExternalPsk
from glasstls.session.state import SessionState
from glasstls.session.tickets import TicketKeys
from glasstls.sides import ClientConnection, ServerConnection
from glasstls.x509.store import TrustStore
from pairs import default_ca, server_identity, ticket_session

NOW = datetime.now(UTC)  # (the test CA issues its certificates now)
MESSAGES = (b"\x01\x00\x00\x05hello", b"\x02" + bytes(range(90)), b"", b"\x14\x00\x00\x20" + b"f" * 32)


def _counter() -> Callable[[int], bytes]:
    counter = itertools.count()
    return lambda n: bytes((next(counter) + i) % 256 for i in range(n))


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_a_digest_leaves_the_transcript_running(hash_name: str) -> None:
    transcript = Transcript()
    transcript.start(hash_name)
    for n, raw in enumerate(MESSAGES, 1):
        transcript.add(raw)
        assert transcript.digest() == hashlib.new(hash_name, b"".join(MESSAGES[:n])).digest()
        assert transcript.digest() == transcript.digest()
    assert transcript.messages() == b"".join(MESSAGES)


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_a_transcript_started_hashed_is_one_started_and_added(hash_name: str) -> None:
    raw = bytes(range(256)) * 2
    for hashed in range(len(raw) + 1):
        careful = Transcript()
        careful.start(hash_name)
        careful.add(raw)
        fast = Transcript()
        fast.start_hashed(hash_name, hashlib.new(hash_name, raw[:hashed]), raw, hashed)
        assert fast.hash_name == careful.hash_name
        assert fast.digest() == careful.digest()
        for t in (careful, fast):
            t.add(MESSAGES[1])
        assert fast.digest() == careful.digest()
        assert fast.messages() == careful.messages() == raw + MESSAGES[1]
        assert fast.fork().digest() == careful.fork().digest()


def _careful_first_transcript(ch, decisions) -> Transcript:  # type: ignore[no-untyped-def]
    """What server13 did before: the whole ClientHello hashed into a fresh transcript."""
    transcript = Transcript()
    transcript.start(decisions.suite.hash_name)
    transcript.add(ch.raw)
    return transcript


def _configs(**client: object) -> tuple[ClientConfig, ServerConfig]:
    ca, identity = default_ca(), server_identity("localhost")
    psk = ExternalPsk(b"ext-identity", b"k" * 32, "sha384")
    cc = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()), groups=(NamedGroup.x25519,), **client)  # type: ignore[arg-type]
    sc = ServerConfig(
        certificates=(CertifiedKey(identity.chain, identity.private_key),),
        groups=(NamedGroup.x25519,),
        psk_modes=(PskKeyExchangeMode.psk_dhe_ke, PskKeyExchangeMode.psk_ke),
        psks=(psk,),
        alpn=("h2", "http/1.1"),
        ticket_keys=TicketKeys(_counter()),
    )
    return cc, sc


def _session(cc: ClientConfig, sc: ServerConfig) -> SessionState:
    return ticket_session(cc, sc, NOW)


def _client_hellos() -> Iterator[tuple[ServerConfig, bytes]]:
    """(server config, the first record of a client offering a PSK) for several clients."""
    ext = ExternalPsk(b"ext-identity", b"k" * 32, "sha384")
    variants: list[dict[str, object]] = [
        {},
        {"alpn": ("h2",)},
        {"cipher_suites": (CipherSuite.TLS_AES_256_GCM_SHA384,)},
        {"psk_modes": (PskKeyExchangeMode.psk_ke,)},
        {"psk": ext, "cipher_suites": (CipherSuite.TLS_AES_256_GCM_SHA384,)},
    ]
    for kw in variants:
        cc, sc = _configs(**kw)
        session = None if "psk" in kw else _session(cc, sc)
        client = ClientConnection(cc, server_name="localhost", session=session, clock=lambda: NOW)
        yield sc, client.data_to_send()


def _outcome(sc: ServerConfig, record: bytes) -> tuple[str, bytes, bool]:
    server = ServerConnection(sc, randomness=_counter(), clock=lambda: NOW)
    events = server.receive_bytes(record)
    return repr(events), server.data_to_send(), server.closed


def _both(sc: ServerConfig, record: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _outcome(sc, record)
    with monkeypatch.context() as m:
        m.setattr(server13, "_first_transcript", _careful_first_transcript)
        careful = _outcome(sc, record)
    assert fast == careful


def test_each_client_hello_with_a_psk_gets_the_careful_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    start_hashed = Transcript.start_hashed

    def counted(self: Transcript, hash_name: str, running, raw: bytes, hashed: int) -> None:  # type: ignore[no-untyped-def]
        started.append(hashed)
        start_hashed(self, hash_name, running, raw, hashed)

    monkeypatch.setattr(Transcript, "start_hashed", counted)
    hellos = list(_client_hellos())
    for sc, record in hellos:
        started.clear()
        fast = _outcome(sc, record)
        assert not fast[2] and len(fast[1]) > 100  # the flight, not an alert
        assert len(started) == 1 and 0 < started[0] < len(record) - 5  # from the binder's hash
        _both(sc, record, monkeypatch)


def test_every_cut_and_byte_change_of_the_client_hello_as_the_careful_path(monkeypatch: pytest.MonkeyPatch) -> None:
    sc, record = next(_client_hellos())
    head, body = record[:5], record[5:]
    assert head[0] == 22 and int.from_bytes(head[3:5], "big") == len(body)  # one handshake record
    for variant in byte_variants(body, (0, 0xFF)):
        _both(sc, head[:3] + len(variant).to_bytes(2, "big") + variant, monkeypatch)
