"""Certificate compression in the TLS 1.3 handshake (RFC 8879), both roles, between in-memory
glasstls peers (tests/pairs.py).

* The client offers compress_certificate in its ClientHello, the server in its CertificateRequest
  (in the handshake and after it); each side sends a CompressedCertificate in its Certificate's
  place when the peer listed an algorithm of its own, and the transcript hashes what was sent.
* No compression when either list is empty or they share no algorithm, for an empty client
  Certificate, or in TLS 1.2 (RFC 8879, Section 3: TLS 1.2 ignores the extension).
* What a receiver refuses: a CompressedCertificate it did not ask for (unexpected_message), an
  algorithm it did not offer (illegal_parameter), an uncompressed_length over the limit
  (illegal_parameter, before decompressing), data that inflates past or short of the length it
  claims, or does not decompress (bad_certificate, RFC 8879, Section 4).

The building blocks (crypto/certcompress.py, the message and the extension) are tested in
test_wire_certcompress.py.
"""

from __future__ import annotations

import functools
import tracemalloc
from typing import Any

import brotli  # type: ignore[import-untyped]
import pytest

from glasstls import (
    AlertError,
    AlertReceived,
    ApplicationData,
    CertifiedKey,
    ClientAuthDeclined,
    ClientAuthenticated,
    ClientConfig,
    ConfigError,
    ConnectionClosed,
    PeerAlertError,
    ProtocolVersion,
    ServerConfig,
)
from glasstls.connection import Connection
from glasstls.crypto import certcompress
from glasstls.enums import AlertDescription as A
from glasstls.enums import AlertLevel, CertificateCompressionAlgorithm, ExtensionType, NamedGroup
from glasstls.events import Event
from glasstls.handshake.common13 import certificate_message
from glasstls.limits import Limits
from glasstls.observe import EventList, MessageTrace, VerificationTrace
from glasstls.trace.text import render_text
from glasstls.wire.handshake import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    Finished,
    Handshake,
)
from glasstls.wire.handshake12 import Certificate12, CertificateRequest12
from glasstls.x509.store import TrustStore
from pairs import Pair, TamperingClient, TamperingServer, connected_pair, default_ca, make_pair, once, server_identity
from revocation_helpers import stapled_key

ALG = CertificateCompressionAlgorithm
ALGORITHMS = [ALG.brotli, ALG.zstd, ALG.zlib]
V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
BOMB_SIZE = 16 << 20  # 16 MiB of zeros: a few KiB once compressed


# -- helpers ----------------------------------------------------------------------------------------


@functools.cache
def client_key() -> CertifiedKey:
    identity = default_ca().issue_client("client.test")
    return CertifiedKey(identity.chain, identity.private_key)


def client_trust() -> dict[str, Any]:
    return {"client_trust_store": TrustStore.from_pem(default_ca().root_pem())}


def client_auth_kw(**server_kw: Any) -> dict[str, Any]:
    """make_pair arguments for a handshake with a client certificate the server requires."""
    return {
        "client_kw": {"certificate": client_key()},
        "server_kw": {"client_auth": "required", **client_trust(), **server_kw},
    }


def traced(**kw: Any) -> tuple[Pair, EventList, EventList]:
    client_log, server_log = EventList(), EventList()
    pair = make_pair(client_observer=client_log, server_observer=server_log, **kw)
    pair.handshake()
    return pair, client_log, server_log


def messages(log: EventList, direction: str) -> list[Handshake]:
    return [e.message for e in log.events if isinstance(e, MessageTrace) and e.direction == direction]


def of_type(log: EventList, direction: str, kind: type[Handshake]) -> list[Any]:
    return [m for m in messages(log, direction) if type(m) is kind]


def decompressed_notes(log: EventList) -> list[VerificationTrace]:
    return [e for e in log.events if isinstance(e, VerificationTrace) and e.detail.startswith("certificate decompr")]


def sent_hello(pair: Pair) -> ClientHello:
    hello = pair.client.offered_hello
    assert isinstance(hello, ClientHello)
    return hello


def offered(msg: ClientHello | CertificateRequest) -> tuple[ALG, ...] | None:
    ext = msg.ext(ExtensionType.compress_certificate)
    return None if ext is None else tuple(ext.value)


def compressed(alg: ALG) -> Any:
    """An ``alter`` body: the Certificate sent as a CompressedCertificate with ``alg`` instead."""
    return lambda msg: certcompress.compress_certificate(msg, alg).encode()


def refused(receiver: Connection, sender: Connection, events: list[Event], description: A, *words: str) -> AlertError:
    """``receiver`` closed itself with ``description`` (a reason holding ``words``); ``sender`` got the alert."""
    (closed,) = [e for e in events if isinstance(e, ConnectionClosed)]
    err = closed.error
    assert isinstance(err, AlertError) and not closed.by_peer, closed
    assert err.description == description, (err.description.name, err.reason)
    for word in words:
        assert word in err.reason, (word, err.reason)
    back = sender.receive_bytes(receiver.data_to_send())
    assert AlertReceived(AlertLevel.fatal, description) in back, back
    assert isinstance(back[-1], ConnectionClosed) and isinstance(back[-1].error, PeerAlertError)
    return err


def server_flight_to_client(pair: Pair) -> list[Event]:
    assert pair.to_server() == []
    return pair.to_client()


def client_flight_to_server(pair: Pair) -> list[Event]:
    pair.to_server()
    pair.to_client()
    return pair.to_server()


# -- the server's Certificate ---------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS, ids=lambda a: a.name)
def test_server_certificate_goes_compressed_with_each_algorithm(alg: ALG) -> None:
    pair, client_log, server_log = traced(client_kw={"certificate_compression": (alg,)})
    assert pair.client.handshake_complete and pair.server.handshake_complete
    assert offered(sent_hello(pair)) == (alg,)
    (sent,) = of_type(server_log, "out", CompressedCertificate)
    assert sent.algorithm == alg and not of_type(server_log, "out", Certificate)
    (received,) = of_type(client_log, "in", CompressedCertificate)
    assert received.raw == sent.raw
    # Decompressed, it is the Certificate the server would have sent: its chain is the peer's.
    body = certcompress.decompress(alg, sent.compressed_certificate_message, sent.uncompressed_length)
    assert len(body) == sent.uncompressed_length > len(sent.compressed_certificate_message)
    assert pair.client.parameters.peer_certificates == tuple(pair.identity.chain)
    assert pair.client.parameters.peer_certificate_subject == "CN=localhost"
    # The trace says so once, on the client.
    (note,) = decompressed_notes(client_log)
    size, length = len(sent.compressed_certificate_message), sent.uncompressed_length
    assert note.ok and note.subject == "server CompressedCertificate"
    assert note.detail == f"certificate decompressed: {alg.name}, {size} -> {length} bytes"
    assert not decompressed_notes(server_log)
    # Application data flows: both Finished matched, so both transcripts hashed the compressed message.
    pair.client.send(b"ping")
    assert [e.data for e in pair.to_server() if isinstance(e, ApplicationData)] == [b"ping"]


def test_the_server_picks_by_its_own_preference() -> None:
    both = {"client_kw": {"certificate_compression": (ALG.brotli, ALG.zlib)}}
    _pair, _c, server_log = traced(**both, server_kw={"certificate_compression": (ALG.zlib, ALG.brotli)})
    assert [m.algorithm for m in of_type(server_log, "out", CompressedCertificate)] == [ALG.zlib]
    _pair, _c, server_log = traced(**both, server_kw={"certificate_compression": (ALG.zstd, ALG.brotli)})
    assert [m.algorithm for m in of_type(server_log, "out", CompressedCertificate)] == [ALG.brotli]


def test_default_configs_compress_with_brotli_and_the_text_trace_shows_it() -> None:
    assert (
        ClientConfig().certificate_compression
        == ServerConfig(
            certificates=(CertifiedKey(server_identity().chain, server_identity().private_key),)
        ).certificate_compression
        == (ALG.brotli, ALG.zstd, ALG.zlib)
    )
    pair, client_log, _s = traced()
    assert offered(sent_hello(pair)) == (ALG.brotli, ALG.zstd, ALG.zlib)
    (received,) = of_type(client_log, "in", CompressedCertificate)
    assert received.algorithm == ALG.brotli
    text = render_text(client_log.events)
    assert "client < CompressedCertificate" in text
    assert text.count("certificate decompressed: brotli, ") == 1


def test_stapled_ocsp_response_rides_in_the_compressed_certificate() -> None:
    identity = server_identity()
    ccfg = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), ocsp="require")
    scfg = ServerConfig(certificates=(stapled_key(identity, default_ca()),))
    client_log = EventList()
    client = TamperingClient(ccfg, "localhost", observer=client_log)
    pair = Pair(client, TamperingServer(scfg), ccfg, scfg, identity, default_ca())
    pair.handshake()
    assert pair.client.handshake_complete, pair.log
    assert of_type(client_log, "in", CompressedCertificate)
    checks = [e for e in client_log.events if isinstance(e, VerificationTrace) and e.subject.startswith("OCSP")]
    assert [c.ok for c in checks] == [True]


def test_a_chains_certificate_message_is_kept_per_staple_and_algorithm_and_bounded() -> None:
    """common13.certificate_message: made once per (staple, algorithm) and kept on the key, the same
    bytes as one made afresh; a post-handshake request's (a fresh context) is never kept; at most
    eight per key."""
    identity = server_identity()
    key = CertifiedKey(identity.chain, identity.private_key)
    first = certificate_message(key, b"", None, ALG.brotli)
    again = certificate_message(key, b"", None, ALG.brotli)
    assert again == first and again.raw == first.raw and again is not first  # each connection its own
    assert key.kept_messages[None, ALG.brotli].raw is first.raw  # made and encoded once
    entries = tuple(CertificateEntry(der, ()) for der in key.der_chain)
    fresh = certcompress.compress_certificate(Certificate(b"", entries), ALG.brotli)
    assert first.raw == fresh.encode()
    plain = certificate_message(key, b"", None, None)
    assert isinstance(plain, Certificate) and plain.raw == Certificate(b"", entries).encode()
    stapled = certificate_message(key, b"", b"response one", None)
    assert isinstance(stapled, Certificate) and b"response one" in stapled.raw
    renewed = certificate_message(key, b"", b"response two", None)  # a renewed staple: another message
    assert b"response two" in renewed.raw and b"response one" not in renewed.raw
    kept = len(key.kept_messages)
    pha = certificate_message(key, b"pha-1", None, None)
    assert isinstance(pha, Certificate) and pha.certificate_request_context == b"pha-1"
    assert len(key.kept_messages) == kept  # not kept
    for n in range(20):
        certificate_message(key, b"", f"staple {n}".encode(), None)
        assert len(key.kept_messages) <= 8


def test_every_server_handshake_sends_the_kept_certificate_and_clients_verify_it() -> None:
    logs = []
    for _ in range(2):
        pair, client_log, _s = traced()
        assert pair.client.handshake_complete, pair.log
        logs.append(client_log)
    (one,), (two,) = (of_type(log, "in", CompressedCertificate) for log in logs)
    assert one.raw == two.raw


# -- the client's Certificate -----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS, ids=lambda a: a.name)
def test_client_certificate_goes_compressed_with_each_algorithm(alg: ALG) -> None:
    pair, client_log, server_log = traced(**client_auth_kw(certificate_compression=(alg,)))
    assert pair.client.handshake_complete and pair.server.handshake_complete
    (request,) = of_type(client_log, "in", CertificateRequest)
    assert offered(request) == (alg,)
    sent = [type(m) for m in messages(client_log, "out")]
    assert sent == [ClientHello, CompressedCertificate, CertificateVerify, Finished]
    (received,) = of_type(server_log, "in", CompressedCertificate)
    assert received.algorithm == alg
    assert pair.server.parameters.client_auth and pair.server.parameters.peer_certificate_subject == "CN=client.test"
    (note,) = decompressed_notes(server_log)
    assert note.subject == "client CompressedCertificate" and note.detail.startswith(
        f"certificate decompressed: {alg.name}, "
    )


@pytest.mark.parametrize("alg", ALGORITHMS, ids=lambda a: a.name)
def test_post_handshake_client_certificate_goes_compressed(alg: ALG) -> None:
    client_log, server_log = EventList(), EventList()
    pair = connected_pair(
        client_kw={"tls_min": V13, "certificate": client_key()},
        server_kw={**client_trust(), "certificate_compression": (alg,)},
        client_observer=client_log,
        server_observer=server_log,
    )
    context = pair.server.request_client_certificate()
    pair.to_client()
    (authenticated,) = [e for e in pair.to_server() if isinstance(e, ClientAuthenticated)]
    assert authenticated.certificate_request_context == context
    assert authenticated.peer_certificate_subject == "CN=client.test"
    (request,) = of_type(client_log, "in", CertificateRequest)
    assert request.certificate_request_context == context and offered(request) == (alg,)
    answer = messages(client_log, "out")[-3:]
    assert [type(m) for m in answer] == [CompressedCertificate, CertificateVerify, Finished]
    assert answer[0].algorithm == alg
    (note,) = decompressed_notes(server_log)
    assert note.subject == "client CompressedCertificate (post-handshake)"
    pair.client.send(b"after")
    assert not pair.server.closed and [e.data for e in pair.to_server() if isinstance(e, ApplicationData)] == [b"after"]


def test_an_empty_client_certificate_is_never_compressed() -> None:
    pair, client_log, server_log = traced(server_kw={"client_auth": "optional", **client_trust()})
    assert pair.client.handshake_complete and pair.server.handshake_complete
    (request,) = of_type(client_log, "in", CertificateRequest)
    assert offered(request) == (ALG.brotli, ALG.zstd, ALG.zlib)
    (empty,) = of_type(client_log, "out", Certificate)
    assert empty.entries == () and not of_type(client_log, "out", CompressedCertificate)
    # After the handshake too: a declined post-handshake request.
    pair = connected_pair(
        client_kw={"tls_min": V13, "post_handshake_auth": True}, server_kw=client_trust(), client_observer=client_log
    )
    context = pair.server.request_client_certificate(required=False)
    pair.to_client()
    assert pair.to_server() == [ClientAuthDeclined(context)]
    assert [type(m) for m in messages(client_log, "out")[-2:]] == [Certificate, Finished]


# -- no compression -----------------------------------------------------------------------------------


NOT_SHARED = [
    pytest.param((), certcompress.SUPPORTED, id="client offers none"),
    pytest.param(certcompress.SUPPORTED, (), id="server offers none"),
    pytest.param((ALG.brotli,), (ALG.zlib, ALG.zstd), id="disjoint"),
]


@pytest.mark.parametrize(("client_list", "server_list"), NOT_SHARED)
def test_no_compression_without_a_shared_algorithm(client_list: tuple[ALG, ...], server_list: tuple[ALG, ...]) -> None:
    kw = client_auth_kw(certificate_compression=server_list)
    kw["client_kw"]["certificate_compression"] = client_list
    pair, client_log, server_log = traced(**kw)
    assert pair.client.handshake_complete and pair.server.handshake_complete
    assert offered(sent_hello(pair)) == (client_list or None)
    (request,) = of_type(client_log, "in", CertificateRequest)
    assert offered(request) == (server_list or None)
    for log in (client_log, server_log):
        assert not any(isinstance(m, CompressedCertificate) for m in messages(log, "in") + messages(log, "out"))
        assert not decompressed_notes(log)
    assert len(of_type(client_log, "in", Certificate)) == len(of_type(server_log, "in", Certificate)) == 1
    assert pair.server.parameters.client_auth


def test_tls12_ignores_the_extension() -> None:
    # The client offers TLS 1.3 and 1.2 (and so compress_certificate); the server speaks only 1.2.
    kw = client_auth_kw(tls_max=V12)
    pair, client_log, server_log = traced(**kw)
    assert pair.client.parameters.version == "TLSv1.2" and pair.server.parameters.client_auth
    assert offered(sent_hello(pair)) == certcompress.SUPPORTED
    assert of_type(client_log, "in", CertificateRequest12) and of_type(client_log, "out", Certificate12)
    assert of_type(server_log, "out", Certificate12)
    for log in (client_log, server_log):
        assert not any(isinstance(m, CompressedCertificate) for m in messages(log, "in") + messages(log, "out"))
    # A client that offers only TLS 1.2 does not offer compression at all.
    pair, _c, _s = traced(client_kw={"tls_max": V12})
    assert pair.client.handshake_complete and offered(sent_hello(pair)) is None


def test_config_validates_the_list() -> None:
    assert ClientConfig(certificate_compression=[2, 1]).certificate_compression == (ALG.brotli, ALG.zlib)
    assert ClientConfig(certificate_compression=()).certificate_compression == ()
    with pytest.raises(ConfigError, match=r"certificate compression unknown_0x0009 \(9\) is not supported"):
        ClientConfig(certificate_compression=(9,))
    with pytest.raises(ConfigError, match="lists an algorithm twice"):
        ServerConfig(
            certificates=(CertifiedKey(server_identity().chain, server_identity().private_key),),
            certificate_compression=(ALG.zlib, ALG.zlib),
        )


# -- what a receiver refuses -------------------------------------------------------------------------


def test_compressed_certificate_to_a_client_that_offered_none_is_unexpected_message() -> None:
    pair = make_pair(client_kw={"certificate_compression": ()}, server_alter=once(Certificate, compressed(ALG.brotli)))
    events = server_flight_to_client(pair)
    err = refused(pair.client, pair.server, events, A.unexpected_message, "offered no certificate compression")
    assert "server CompressedCertificate" in err.reason


def test_compressed_certificate_to_a_server_that_offered_none_is_unexpected_message() -> None:
    kw = client_auth_kw(certificate_compression=())
    pair = make_pair(**kw, client_alter=once(Certificate, compressed(ALG.zlib)))
    events = client_flight_to_server(pair)
    refused(pair.server, pair.client, events, A.unexpected_message, "client CompressedCertificate", "offered no")


def test_algorithm_not_offered_is_illegal_parameter() -> None:
    def recompress(msg: Any) -> bytes:
        return compressed(ALG.zlib)(certcompress.decompress_certificate(msg, certcompress.SUPPORTED))

    pair = make_pair(
        client_kw={"certificate_compression": (ALG.brotli,)}, server_alter=once(CompressedCertificate, recompress)
    )
    events = server_flight_to_client(pair)
    refused(pair.client, pair.server, events, A.illegal_parameter, "zlib", "not offered", "offered: brotli")


def _with(msg: Any, *, length: int | None = None, data: bytes | None = None) -> bytes:
    """``msg`` (a CompressedCertificate) re-encoded with another uncompressed_length and/or data."""
    return CompressedCertificate(
        msg.algorithm,
        msg.uncompressed_length if length is None else length,
        msg.compressed_certificate_message if data is None else data,
    ).encode()


def test_compression_bomb_is_bad_certificate_and_stops_at_the_claimed_length() -> None:
    bomb = brotli.compress(bytes(BOMB_SIZE))
    assert len(bomb) < 1 << 16
    pair = make_pair(server_alter=once(CompressedCertificate, lambda m: _with(m, data=bomb)))
    assert pair.to_server() == []
    tracemalloc.start()
    try:
        events = pair.to_client()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    refused(pair.client, pair.server, events, A.bad_certificate, "inflates past the uncompressed_length")
    assert peak < 4 << 20, f"decompression was not bounded: {peak} bytes at peak"


@pytest.mark.parametrize("delta", [1, -1], ids=["claims more", "claims less"])
def test_length_mismatch_is_bad_certificate(delta: int) -> None:
    pair = make_pair(server_alter=once(CompressedCertificate, lambda m: _with(m, length=m.uncompressed_length + delta)))
    events = server_flight_to_client(pair)
    words = ("inflates to",) if delta > 0 else ("inflates past",)
    refused(pair.client, pair.server, events, A.bad_certificate, *words)


def test_data_that_does_not_decompress_is_bad_certificate() -> None:
    pair = make_pair(server_alter=once(CompressedCertificate, lambda m: _with(m, data=b"\xff" * 64)))
    events = server_flight_to_client(pair)
    refused(pair.client, pair.server, events, A.bad_certificate, "does not decompress with brotli")


def test_bomb_from_the_client_is_bad_certificate_at_the_server() -> None:
    bomb = brotli.compress(bytes(BOMB_SIZE))
    pair = make_pair(**client_auth_kw(), client_alter=once(CompressedCertificate, lambda m: _with(m, data=bomb)))
    events = client_flight_to_server(pair)
    refused(pair.server, pair.client, events, A.bad_certificate, "inflates past")


def test_uncompressed_length_over_the_limit_is_refused_before_decompressing() -> None:
    claimed = (1 << 24) - 1
    pair = make_pair(server_alter=once(CompressedCertificate, lambda m: _with(m, length=claimed)))
    events = server_flight_to_client(pair)
    refused(
        pair.client,
        pair.server,
        events,
        A.illegal_parameter,
        f"uncompressed_length of {claimed} bytes",
        f"limit Limits.max_handshake_message = {1 << 18}",
        "not decompressed",
    )


def test_the_limit_is_the_connections_own() -> None:
    """RFC 8879, Section 5: the limit an uncompressed Certificate has, here Limits.max_handshake_message
    lowered below the chain's size (and above every message's size on the wire)."""
    x25519 = {"groups": (NamedGroup.x25519,)}
    _pair, client_log, _s = traced(client_kw=x25519)
    (msg,) = of_type(client_log, "in", CompressedCertificate)
    limit = msg.uncompressed_length - 1
    assert len(msg.raw) < limit
    pair = make_pair(client_kw={**x25519, "limits": Limits(max_handshake_message=limit)})
    events = server_flight_to_client(pair)
    refused(pair.client, pair.server, events, A.illegal_parameter, f"limit Limits.max_handshake_message = {limit}")
