"""Bad input of every kind ends the connection with the alert RFC 8446 names.

Each case tampers with one message (or record) in flight between two in-memory
peers (tests/pairs.py), then checks both ends:

* the receiver's ``receive_bytes`` returns ``ConnectionClosed(error=AlertError)``
  with the right description and a reason a person can act on, and
* the sender, fed the receiver's output, sees ``AlertReceived`` with that
  description and ``ConnectionClosed(error=PeerAlertError)`` — the alert on the wire.

Malformed messages are decode_error (RFC 8446, Section 6.2); the other alerts
are those the RFC names for each check.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasstls import (
    AlertError,
    AlertReceived,
    ApplicationData,
    CertifiedKey,
    ConnectionClosed,
    EventList,
    PeerAlertError,
)
from glasstls.connection import Connection
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import AlertDescription as A
from glasstls.enums import AlertLevel, CipherSuite, ContentType, ExtensionType, NamedGroup, SignatureScheme
from glasstls.errors import InternalError
from glasstls.events import Event
from glasstls.record.protection import Protection13
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    EncryptedExtensions,
    Finished,
    Handshake,
    HelloRetryRequest,
    KeyUpdate,
    NewSessionTicket,
    ServerHello,
)
from glasstls.x509.store import TrustStore
from pairs import (
    Pair,
    connected_pair,
    default_ca,
    flip,
    inject,
    make_pair,
    once,
    other_ca,
    server_identity,
    set_u,
    split_records,
    transfer,
    transfer_records,
    truncated,
    with_body,
)

# -- checking both ends ------------------------------------------------------------------


def closed_with(receiver: Connection, events: list[Event], description: A, *reason_parts: str) -> AlertError:
    """The receiver closed itself with ``description``; returns its error."""
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed, f"no ConnectionClosed in {events}"
    err = closed[-1].error
    assert isinstance(err, AlertError), f"closed with {err!r}, not an AlertError"
    assert not isinstance(err, InternalError), f"a bug, not the peer's fault: {err!r}"
    assert not closed[-1].by_peer
    assert err.description == description, f"{err.description.name} ({err.reason}), expected {description.name}"
    for part in reason_parts:
        assert part in err.reason, f"{part!r} not in reason {err.reason!r}"
    assert err.reason and err.step, err
    assert str(err).endswith(f"(alert {description.name} while {err.step})")
    assert receiver.closed and receiver.error is err
    return err


def sender_sees(sender: Connection, receiver: Connection, description: A) -> None:
    """Feed the receiver's output (its alert) to the sender: a fatal alert arrives and closes it."""
    events = transfer(receiver, sender)
    assert AlertReceived(AlertLevel.fatal, description) in events, events
    assert isinstance(events[-1], ConnectionClosed), events
    err = events[-1].error
    assert isinstance(err, PeerAlertError) and err.description == description and events[-1].by_peer
    assert sender.closed


def both_ends(sender: Connection, receiver: Connection, events: list[Event], description: A, *reason: str) -> None:
    closed_with(receiver, events, description, *reason)
    sender_sees(sender, receiver, description)


def server_flight_to_client(pair: Pair) -> list[Event]:
    """ClientHello to the server, then the server's whole flight to the client."""
    assert pair.to_server() == []
    return pair.to_client()


def client_finished_to_server(pair: Pair) -> list[Event]:
    pair.to_server()
    pair.to_client()
    assert pair.client.handshake_complete
    return pair.to_server()


# -- truncated and over-long messages -----------------------------------------------------


def ext_block_offset(msg: Handshake) -> int:
    """Where the 2-byte length of a trailing ``Extension extensions<..>`` block sits in ``msg.raw``."""
    return len(msg.raw) - 2 - sum(4 + len(e.data) for e in msg.extensions)  # type: ignore[attr-defined]


def overlong_extensions(msg: Handshake) -> bytes:
    """The extensions block claims one byte more than the message holds."""
    at = ext_block_offset(msg)
    return set_u(msg.raw, at, 2, int.from_bytes(msg.raw[at : at + 2], "big") + 1)


def overlong_certificate_list(msg: Handshake) -> bytes:
    at = 4 + 1 + len(msg.certificate_request_context)  # type: ignore[attr-defined]
    return set_u(msg.raw, at, 3, int.from_bytes(msg.raw[at : at + 3], "big") + 1)


def overlong_signature(msg: Handshake) -> bytes:
    return set_u(msg.raw, 6, 2, len(msg.signature) + 1)  # type: ignore[attr-defined]


def one_byte_more(msg: Handshake) -> bytes:
    """For messages without a length field: a body one byte longer than the structure."""
    return with_body(msg.raw, msg.raw[4:] + b"\x00")


def cut(keep: int) -> Callable[[Handshake], bytes]:
    return lambda msg: truncated(msg.raw, keep)


# A client that offers no certificate compression (RFC 8879), so that the server's Certificate
# goes as it is: the tests of the Certificate message alter that one.
UNCOMPRESSED: dict[str, Any] = {"client_kw": {"certificate_compression": ()}}


def run_client_hello(alter: Callable[[Handshake], bytes]) -> tuple[Pair, Connection, Connection, list[Event]]:
    pair = make_pair(client_alter=once(ClientHello, alter))
    return pair, pair.client, pair.server, pair.to_server()


def run_server_flight(kind: type[Handshake], alter: Callable[[Handshake], bytes]):
    pair = make_pair(server_alter=once(kind, alter), **(UNCOMPRESSED if kind is Certificate else {}))
    return pair, pair.server, pair.client, server_flight_to_client(pair)


def run_client_finished(alter: Callable[[Handshake], bytes]):
    pair = make_pair(client_alter=once(Finished, alter))
    return pair, pair.client, pair.server, client_finished_to_server(pair)


def _certificate_request() -> CertificateRequest:
    sigs = Extension.make(ExtensionType.signature_algorithms, (SignatureScheme.ecdsa_secp256r1_sha256,), X.CR)
    return CertificateRequest(certificate_request_context=b"", extensions=(sigs,))


def run_certificate_request(alter: Callable[[Handshake], bytes]):
    """The server (which has no client auth yet) sends a CertificateRequest before its Certificate."""
    request = _certificate_request()
    request.encode()
    pair = make_pair(server_alter=once(Certificate, lambda msg: alter(request) + msg.raw), **UNCOMPRESSED)
    return pair, pair.server, pair.client, server_flight_to_client(pair)


def run_new_session_ticket(alter: Callable[[Handshake], bytes]):
    # No tickets of the server's own: the altered one is the one injected here.
    pair = connected_pair(server_alter=once(NewSessionTicket, alter), server_kw={"tls13_tickets": 0})
    inject(pair.server, NewSessionTicket(7200, 0x01020304, b"\x00", b"ticket-bytes"))
    return pair, pair.server, pair.client, pair.to_client()


def run_key_update(alter: Callable[[Handshake], bytes], to_server: bool = False):
    if to_server:
        pair = connected_pair(client_alter=once(KeyUpdate, alter))
        pair.client.update_keys(request_peer=False)
        return pair, pair.client, pair.server, pair.to_server()
    pair = connected_pair(server_alter=once(KeyUpdate, alter))
    pair.server.update_keys(request_peer=False)
    return pair, pair.server, pair.client, pair.to_client()


RUNNERS = {
    "ClientHello": run_client_hello,
    "ServerHello": lambda alter: run_server_flight(ServerHello, alter),
    "EncryptedExtensions": lambda alter: run_server_flight(EncryptedExtensions, alter),
    "CertificateRequest": run_certificate_request,
    "Certificate": lambda alter: run_server_flight(Certificate, alter),
    "CertificateVerify": lambda alter: run_server_flight(CertificateVerify, alter),
    "Finished (server's)": lambda alter: run_server_flight(Finished, alter),
    "Finished (client's)": run_client_finished,
    "NewSessionTicket": run_new_session_ticket,
    "KeyUpdate (to client)": run_key_update,
    "KeyUpdate (to server)": lambda alter: run_key_update(alter, to_server=True),
}

TRUNCATIONS = [
    # (message, body bytes kept, words the reason must contain)
    ("ClientHello", 0, ("client_hello", "legacy_version truncated")),
    ("ClientHello", 20, ("client_hello", "random truncated")),
    ("ClientHello", 40, ("client_hello", "truncated")),
    ("ServerHello", 1, ("server_hello", "legacy_version truncated")),
    ("ServerHello", 35, ("server_hello", "legacy_session_id_echo")),
    ("ServerHello", 71, ("server_hello", "extensions length truncated")),
    ("EncryptedExtensions", 0, ("encrypted_extensions", "extensions length truncated")),
    ("EncryptedExtensions", 3, ("encrypted_extensions", "truncated")),
    ("CertificateRequest", 0, ("certificate_request", "certificate_request_context length truncated")),
    ("CertificateRequest", 2, ("certificate_request", "extensions length truncated")),
    ("Certificate", 0, ("certificate", "certificate_request_context length truncated")),
    ("Certificate", 3, ("certificate", "certificate_list length truncated")),
    ("Certificate", 100, ("certificate", "truncated")),
    ("CertificateVerify", 1, ("certificate_verify", "algorithm truncated")),
    ("CertificateVerify", 3, ("certificate_verify", "signature length truncated")),
    ("CertificateVerify", 20, ("certificate_verify", "signature truncated")),
    ("Finished (server's)", 0, ("server Finished", "0 bytes of verify_data, not 32")),
    ("Finished (server's)", 31, ("server Finished", "31 bytes")),
    ("Finished (client's)", 16, ("client Finished", "16 bytes")),
    ("NewSessionTicket", 3, ("new_session_ticket", "ticket_lifetime truncated")),
    ("NewSessionTicket", 9, ("new_session_ticket", "ticket_nonce truncated")),
    ("NewSessionTicket", 11, ("new_session_ticket", "ticket length truncated")),
    ("NewSessionTicket", 20, ("new_session_ticket", "truncated")),
    ("KeyUpdate (to client)", 0, ("key_update", "request_update truncated")),
    ("KeyUpdate (to server)", 0, ("key_update", "request_update truncated")),
]


@pytest.mark.parametrize(("message", "keep", "reason"), TRUNCATIONS)
def test_truncated_message_is_decode_error(message: str, keep: int, reason: tuple[str, ...]) -> None:
    _pair, sender, receiver, events = RUNNERS[message](cut(keep))
    both_ends(sender, receiver, events, A.decode_error, *reason)


OVERLONG = [
    ("ClientHello", overlong_extensions, "extensions truncated"),
    ("ServerHello", overlong_extensions, "extensions truncated"),
    ("EncryptedExtensions", overlong_extensions, "extensions truncated"),
    ("CertificateRequest", overlong_extensions, "extensions truncated"),
    ("Certificate", overlong_certificate_list, "certificate_list truncated"),
    ("CertificateVerify", overlong_signature, "signature truncated"),
    ("Finished (server's)", one_byte_more, "33 bytes of verify_data"),
    ("Finished (client's)", one_byte_more, "33 bytes of verify_data"),
    ("NewSessionTicket", overlong_extensions, "extensions truncated"),
    ("KeyUpdate (to client)", one_byte_more, "key_update header claims 2 bytes: a KeyUpdate is one byte"),
    ("KeyUpdate (to server)", one_byte_more, "key_update header claims 2 bytes: a KeyUpdate is one byte"),
]


@pytest.mark.parametrize(("message", "alter", "reason"), OVERLONG)
def test_overlong_length_is_decode_error(message: str, alter: Callable, reason: str) -> None:
    _pair, sender, receiver, events = RUNNERS[message](alter)
    both_ends(sender, receiver, events, A.decode_error, reason)


@pytest.mark.parametrize("kind", [EncryptedExtensions, Certificate, CertificateVerify])
def test_overlong_handshake_header_swallows_the_next_message(kind: type[Handshake]) -> None:
    # The 4-byte header claims one byte more: the message takes the first byte of the
    # next one in the same record and its own parse ends with a byte left over.
    _pair, sender, receiver, events = run_server_flight(kind, lambda m: set_u(m.raw, 1, 3, len(m.raw) - 3))
    both_ends(sender, receiver, events, A.decode_error, "1 unexpected trailing bytes")


def test_overlong_header_of_the_last_message_waits_then_fails_on_the_next_record() -> None:
    # The client's Finished claims one byte more than it has: the server must wait for
    # the rest, still under the client's handshake keys, so the client's first
    # application data record (under its application keys) fails authentication.
    pair = make_pair(client_alter=once(Finished, lambda m: set_u(m.raw, 1, 3, len(m.raw) - 3)))
    assert client_finished_to_server(pair) == []
    assert not pair.server.closed and not pair.server.handshake_complete
    pair.client.send(b"hello")
    both_ends(pair.client, pair.server, pair.to_server(), A.bad_record_mac, "handshake keys")


def test_plaintext_record_cannot_continue_a_split_handshake_message() -> None:
    # RFC 8446, Section 5.1: handshake messages may not be interleaved with other records.
    pair = make_pair()
    message = pair.client.data_to_send()[5:]
    first_part = b"\x16\x03\x01" + (50).to_bytes(2, "big") + message[:50]
    events = pair.server.receive_bytes(first_part + b"\x15\x03\x03\x00\x02\x01\x00")
    closed_with(pair.server, events, A.unexpected_message, "alert record inside a split handshake message")


def test_oversized_handshake_message_is_refused_before_it_is_buffered() -> None:
    pair = make_pair()
    pair.client.data_to_send()
    header = bytes([1]) + (1 << 20).to_bytes(3, "big")
    events = pair.server.receive_bytes(b"\x16\x03\x01" + len(header).to_bytes(2, "big") + header)
    closed_with(pair.server, events, A.decode_error, "exceeds")


# -- the other messages -----------------------------------------------------------------


def test_key_update_with_invalid_request_is_illegal_parameter() -> None:
    # RFC 8446, Section 4.6.3: request_update is 0 or 1.
    _pair, sender, receiver, events = run_key_update(lambda m: with_body(m.raw, b"\x02"))
    both_ends(sender, receiver, events, A.illegal_parameter, "request_update 2")


def test_certificate_request_with_context_is_illegal_parameter() -> None:
    # RFC 8446, Section 4.3.2: the context is empty during the handshake.
    request = replace(_certificate_request(), certificate_request_context=b"x")
    request.encode()
    pair = make_pair(server_alter=once(Certificate, lambda msg: request.raw + msg.raw), **UNCOMPRESSED)
    both_ends(pair.server, pair.client, server_flight_to_client(pair), A.illegal_parameter, "context is not empty")


def test_certificate_request_without_signature_algorithms_is_missing_extension() -> None:
    request = CertificateRequest(b"", (Extension(ExtensionType(0x1234), b""),))
    request.encode()
    pair = make_pair(server_alter=once(Certificate, lambda msg: request.raw + msg.raw), **UNCOMPRESSED)
    both_ends(pair.server, pair.client, server_flight_to_client(pair), A.missing_extension, "signature_algorithms")


def test_empty_server_certificate_is_decode_error() -> None:
    # RFC 8446, Section 4.4.2.4.
    _pair, sender, receiver, events = run_server_flight(Certificate, lambda m: Certificate(b"", ()).encode())
    both_ends(sender, receiver, events, A.decode_error, "empty Certificate")


def test_certificate_that_is_not_der_is_bad_certificate() -> None:
    garbage = Certificate(b"", (CertificateEntry(b"\x30\x03not a certificate"),))
    _pair, sender, receiver, events = run_server_flight(Certificate, lambda m: garbage.encode())
    both_ends(sender, receiver, events, A.bad_certificate, "not valid DER X.509")


def _corrupted(der: bytes, broken: Callable[[x509.Certificate], object], error: type[Exception]) -> bytes:
    """``der`` with one byte changed so that it still loads, but ``broken(cert)`` raises ``error``."""
    for index in range(len(der)):
        for mask in (0x01, 0x80):
            candidate = flip(der, index, mask)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # skip, e.g., certificates with a negative serial
                try:
                    cert = x509.load_der_x509_certificate(candidate)
                except Exception:
                    continue
                try:
                    broken(cert)
                except error:
                    return candidate
                except Exception:
                    continue
    raise AssertionError("no such corruption")


def _with_chain(*ders: bytes) -> bytes:
    return Certificate(b"", tuple(CertificateEntry(d) for d in ders)).encode()


def _chain_ders(msg: Handshake) -> list[bytes]:
    return [entry.cert_data for entry in msg.entries]  # type: ignore[attr-defined]


def _parts(cert: x509.Certificate) -> object:
    return cert.subject, cert.issuer, cert.extensions, cert.public_key()


@pytest.mark.parametrize(
    ("broken", "error"),
    [
        (lambda c: c.issuer, ValueError),
        (lambda c: c.subject, ValueError),
        (lambda c: c.extensions, ValueError),
        (_parts, ValueError),  # the key itself
    ],
    ids=["issuer", "subject", "extensions", "public_key"],
)
def test_certificate_that_fails_lazy_parsing_is_bad_certificate(broken: Callable, error: type[Exception]) -> None:
    # cryptography parses names, extensions and keys on first use; a corruption there
    # must still end as bad_certificate, not as an exception from path validation.
    def alter(msg: Handshake) -> bytes:
        leaf, *rest = _chain_ders(msg)
        return _with_chain(_corrupted(leaf, broken, error), *rest)

    _pair, sender, receiver, events = run_server_flight(Certificate, alter)
    closed_with(receiver, events, A.bad_certificate, "server certificate #0", "is malformed")
    sender_sees(sender, receiver, A.bad_certificate)


def test_leaf_with_a_key_of_unknown_type_is_unsupported_certificate() -> None:
    def alter(msg: Handshake) -> bytes:
        leaf, *rest = _chain_ders(msg)
        return _with_chain(_corrupted(leaf, _parts, UnsupportedAlgorithm), *rest)

    _pair, sender, receiver, events = run_server_flight(Certificate, alter)
    both_ends(sender, receiver, events, A.unsupported_certificate, "server certificate #0", "has an unsupported key")


def test_certificate_with_invalid_version_is_bad_certificate() -> None:
    # x509.InvalidVersion is not a ValueError.
    def alter(msg: Handshake) -> bytes:
        leaf, *rest = _chain_ders(msg)
        at = leaf.index(b"\xa0\x03\x02\x01\x02")  # [0] EXPLICIT INTEGER 2 (v3)
        return _with_chain(set_u(leaf, at + 4, 1, 7), *rest)

    _pair, sender, receiver, events = run_server_flight(Certificate, alter)
    both_ends(sender, receiver, events, A.bad_certificate, "X.509 version number 7, which does not exist")


def test_intermediate_with_a_key_cryptography_cannot_load_is_unknown_ca() -> None:
    # The issuer's key cannot be loaded (UnsupportedAlgorithm), so it issued nothing.
    def alter(msg: Handshake) -> bytes:
        leaf, intermediate = _chain_ders(msg)
        return _with_chain(leaf, _corrupted(intermediate, _parts, UnsupportedAlgorithm))

    _pair, sender, receiver, events = run_server_flight(Certificate, alter)
    both_ends(sender, receiver, events, A.unknown_ca, "not trusted")


def test_unknown_handshake_type_is_unexpected_message() -> None:
    _pair, sender, receiver, events = run_server_flight(EncryptedExtensions, lambda m: b"\x63\x00\x00\x00")
    reason = "unexpected handshake message type 99 while waiting for EncryptedExtensions"
    both_ends(sender, receiver, events, A.unexpected_message, reason)


def test_duplicate_extension_is_illegal_parameter() -> None:
    # RFC 8446, Section 4.2: no extension type twice in one block.
    def twice(msg: Handshake) -> bytes:
        ext = msg.extensions[0]  # type: ignore[attr-defined]
        return replace(msg, extensions=(*msg.extensions, ext)).encode()  # type: ignore[attr-defined]

    _pair, sender, receiver, events = run_server_flight(EncryptedExtensions, twice)
    both_ends(sender, receiver, events, A.illegal_parameter, "EncryptedExtensions repeats the")


# -- a recognized extension where it may not be (RFC 8446, Section 4.2) --------------------------


def with_extension(ext_type: ExtensionType, body: bytes = b"") -> Callable[[Handshake], bytes]:
    """The message re-encoded with one more extension, last."""
    return lambda msg: replace(msg, extensions=(*msg.extensions, Extension(ext_type, body))).encode()  # type: ignore[attr-defined]


MISPLACED_IN_HELLO_ANSWERS = [
    (ServerHello, ExtensionType.padding),
    (HelloRetryRequest, ExtensionType.padding),
    (HelloRetryRequest, ExtensionType.early_data),
    (EncryptedExtensions, ExtensionType.padding),
    (EncryptedExtensions, ExtensionType.post_handshake_auth),
]


@pytest.mark.parametrize(("kind", "ext_type"), MISPLACED_IN_HELLO_ANSWERS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_a_recognized_extension_a_message_may_not_carry_is_illegal_parameter_even_unoffered(
    kind: type[Handshake], ext_type: ExtensionType
) -> None:
    """RFC 8446, Section 4.2: an extension the client recognizes in a message it is not specified for
    is illegal_parameter, whether or not the client offered it (OpenSSL answers so; TLS-Anvil's
    sendPaddingExtensionInEE expects it). It was unsupported_extension when not offered."""
    retry = {"client_kw": {"key_share_groups": (NamedGroup.secp256r1,)}, "server_kw": {"groups": (NamedGroup.x25519,)}}
    pair = make_pair(server_alter=once(kind, with_extension(ext_type)), **(retry if kind is HelloRetryRequest else {}))
    events = server_flight_to_client(pair)
    closed_with(pair.client, events, A.illegal_parameter, f"carries {ext_type.name}, which is not allowed there")


def test_an_unknown_extension_never_offered_is_still_unsupported_extension() -> None:
    pair = make_pair(server_alter=once(EncryptedExtensions, with_extension(ExtensionType(0x1234))))
    closed_with(pair.client, server_flight_to_client(pair), A.unsupported_extension, "did not offer")


@pytest.mark.parametrize("message", ["CertificateRequest", "NewSessionTicket"])
@pytest.mark.parametrize("ext_type", [ExtensionType.key_share, ExtensionType.supported_versions])
def test_a_recognized_extension_misplaced_in_a_request_or_ticket_is_illegal_parameter(
    message: str, ext_type: ExtensionType
) -> None:
    # RFC 8446, Section 4.2: neither message may carry these (OpenSSL: illegal_parameter); they were taken.
    run = run_certificate_request if message == "CertificateRequest" else run_new_session_ticket
    _pair, sender, receiver, events = run(with_extension(ext_type, b"\x03\x04"))
    both_ends(sender, receiver, events, A.illegal_parameter, f"{message} carries {ext_type.name}")


def test_a_certificate_request_with_an_unknown_extension_is_answered() -> None:
    """RFC 8446, Section 4.3.2: unknown extensions are ignored. (The request was added on the wire,
    so the server's CertificateVerify then fails against the client's transcript: that is how far
    the client gets, past the request.)"""
    _pair, _sender, receiver, events = run_certificate_request(with_extension(ExtensionType(0x1234), b"\x01"))
    closed_with(receiver, events, A.decrypt_error)


def test_a_new_session_ticket_with_an_unknown_extension_is_kept() -> None:
    _pair, _sender, receiver, events = run_new_session_ticket(with_extension(ExtensionType(0x1234), b"\x01"))
    assert [type(e).__name__ for e in events] == ["NewTicket"] and receiver.error is None


@pytest.mark.parametrize(
    ("ext_type", "alert"),
    [
        (ExtensionType.status_request, A.unsupported_extension),
        (ExtensionType(0x7F), A.unsupported_extension),
        (ExtensionType.key_share, A.illegal_parameter),
    ],
    ids=["status_request", "unknown", "key_share"],
)
def test_an_extension_in_the_clients_certificate_entry_the_request_did_not_ask_for_is_refused(
    ext_type: ExtensionType, alert: A
) -> None:
    """RFC 8446, Section 4.4.2: a client's CertificateEntry extensions MUST answer the server's
    CertificateRequest, which asked for none (BoGo's SendExtensionOnClientCertificate-TLS13;
    OpenSSL refuses status_request and key_share too). They were ignored."""

    def with_entry_extension(msg: Handshake) -> bytes:
        first = msg.entries[0]  # type: ignore[attr-defined]
        body = b"\x01\x00\x00\x01\x00" if ext_type == ExtensionType.status_request else b"\x00"  # (an OCSP staple)
        entry = CertificateEntry(first.cert_data, (Extension(ext_type, body),))
        return replace(msg, entries=(entry, *msg.entries[1:])).encode()  # type: ignore[attr-defined]

    client = default_ca().issue_client("client.test")
    pair = make_pair(
        client_alter=once(Certificate, with_entry_extension),
        client_kw={"certificate": CertifiedKey(client.chain, client.private_key), "certificate_compression": ()},
        server_kw={"client_auth": "required", "client_trust_store": TrustStore.from_pem(default_ca().root_pem())},
    )
    pair.to_server()
    pair.to_client()
    both_ends(pair.client, pair.server, pair.to_server(), alert, f"carries {ext_type.name}")


# -- messages out of order ----------------------------------------------------------------


def test_finished_before_certificate_is_unexpected_message() -> None:
    early = Finished(verify_data=bytes(32))
    _pair, sender, receiver, events = run_server_flight(Certificate, lambda m: early.encode())
    both_ends(sender, receiver, events, A.unexpected_message, "unexpected Finished", "server's Certificate")


def test_second_server_hello_is_unexpected_message() -> None:
    seen: dict[str, bytes] = {}

    def alter(msg: Handshake) -> bytes | None:
        if isinstance(msg, ServerHello):
            seen["sh"] = msg.raw
            return None
        if isinstance(msg, EncryptedExtensions):
            return seen["sh"]  # a second ServerHello where EncryptedExtensions belongs
        return None

    pair = make_pair(server_alter=alter)
    events = server_flight_to_client(pair)
    both_ends(pair.server, pair.client, events, A.unexpected_message, "unexpected ServerHello", "EncryptedExtensions")


def test_certificate_verify_before_certificate_is_unexpected_message() -> None:
    _pair, sender, receiver, events = run_server_flight(
        Certificate, lambda m: CertificateVerify(SignatureScheme.ecdsa_secp256r1_sha256, b"\x01").encode()
    )
    both_ends(sender, receiver, events, A.unexpected_message, "unexpected CertificateVerify")


def test_client_hello_after_the_handshake_is_unexpected_message() -> None:
    # RFC 8446, Section 4.1.2: a ClientHello at any other time is unexpected_message.
    pair = connected_pair()
    inject(pair.client, replace(pair.client.offered_hello))
    both_ends(pair.client, pair.server, pair.to_server(), A.unexpected_message, "unexpected ClientHello")


def test_new_session_ticket_at_the_server_is_unexpected_message() -> None:
    pair = connected_pair()
    inject(pair.client, NewSessionTicket(60, 0, b"", b"t"))
    both_ends(pair.client, pair.server, pair.to_server(), A.unexpected_message, "unexpected NewSessionTicket")


# -- cryptographic checks -----------------------------------------------------------------


def test_tampered_server_finished_is_decrypt_error() -> None:
    pair, sender, receiver, events = run_server_flight(Finished, lambda m: flip(m.raw, 10))
    both_ends(sender, receiver, events, A.decrypt_error, "server Finished does not match the transcript")
    assert not pair.client.handshake_complete


def test_tampered_client_finished_is_decrypt_error() -> None:
    pair, sender, receiver, events = run_client_finished(lambda m: flip(m.raw, len(m.raw) - 1))
    both_ends(sender, receiver, events, A.decrypt_error, "client Finished does not match the transcript")
    assert not pair.server.handshake_complete


def test_bad_certificate_verify_signature_is_decrypt_error() -> None:
    # The last byte of the ECDSA signature (inside s) flipped: still DER, no longer valid.
    _pair, sender, receiver, events = run_server_flight(CertificateVerify, lambda m: flip(m.raw, len(m.raw) - 1))
    both_ends(sender, receiver, events, A.decrypt_error, "server CertificateVerify signature", "does not verify")


def test_empty_certificate_verify_signature_is_decrypt_error() -> None:
    # RFC 8446, Section 4.4.3: signature<0..2^16-1>. An empty one decodes and fails to verify,
    # as OpenSSL answers it (tlsfuzzer's "0 byte sig in CertificateVerify").
    _pair, sender, receiver, events = run_server_flight(CertificateVerify, lambda m: replace(m, signature=b"").encode())
    both_ends(sender, receiver, events, A.decrypt_error, "server CertificateVerify signature", "does not verify")


def test_certificate_verify_with_scheme_not_offered_is_illegal_parameter() -> None:
    def alter(msg: Handshake) -> bytes:
        return replace(msg, algorithm=SignatureScheme.rsa_pkcs1_sha1).encode()

    _pair, sender, receiver, events = run_server_flight(CertificateVerify, alter)
    both_ends(sender, receiver, events, A.illegal_parameter, "rsa_pkcs1_sha1", "did not offer")


def test_changed_client_hello_random_breaks_the_handshake_keys() -> None:
    # A flipped byte of the ClientHello random: the server answers, but its handshake
    # keys come from a transcript the client never had, so the client cannot
    # authenticate the server's first encrypted record (RFC 8446, Section 7.1).
    pair = make_pair(client_alter=once(ClientHello, lambda m: flip(m.raw, 10)))
    assert pair.to_server() == []
    closed_with(pair.client, pair.to_client(), A.bad_record_mac, "handshake keys")
    # The client's alert is protected with keys the server does not share either.
    closed_with(pair.server, pair.to_server(), A.bad_record_mac, "handshake keys")


# -- certificates --------------------------------------------------------------------------


def test_untrusted_ca_is_unknown_ca() -> None:
    pair = make_pair(trust=other_ca())
    events = server_flight_to_client(pair)
    both_ends(pair.server, pair.client, events, A.unknown_ca)
    assert pair.client.error.step == "waiting for the server's Certificate"


def test_wrong_host_is_bad_certificate() -> None:
    pair = make_pair(server_name="example.com", identity=server_identity("localhost"))
    events = server_flight_to_client(pair)
    both_ends(pair.server, pair.client, events, A.bad_certificate, "example.com")


# -- negotiation ---------------------------------------------------------------------------


def test_unoffered_extension_in_encrypted_extensions_is_unsupported_extension() -> None:
    # RFC 8446, Section 4.2: a response to an extension the client did not send.
    def alter(msg: Handshake) -> bytes:
        extra = Extension(ExtensionType(0x1234), b"surprise")
        return replace(msg, extensions=(*msg.extensions, extra)).encode()  # type: ignore[attr-defined]

    _pair, sender, receiver, events = run_server_flight(EncryptedExtensions, alter)
    both_ends(sender, receiver, events, A.unsupported_extension, "unknown_0x1234", "did not offer")


def test_offered_extension_not_allowed_in_encrypted_extensions_is_illegal_parameter() -> None:
    # RFC 8446, Section 4.2: a recognised extension in a message it is not defined for.
    def alter(msg: Handshake) -> bytes:
        extra = Extension(ExtensionType.supported_versions, b"\x03\x04")
        return replace(msg, extensions=(*msg.extensions, extra)).encode()  # type: ignore[attr-defined]

    _pair, sender, receiver, events = run_server_flight(EncryptedExtensions, alter)
    both_ends(sender, receiver, events, A.illegal_parameter, "supported_versions", "not allowed")


def test_server_hello_with_suite_not_offered_is_illegal_parameter() -> None:
    def alter(msg: Handshake) -> bytes:
        return replace(msg, cipher_suite=CipherSuite.TLS_AES_128_CCM_SHA256).encode()

    _pair, sender, receiver, events = run_server_flight(ServerHello, alter)
    both_ends(sender, receiver, events, A.illegal_parameter, "TLS_AES_128_CCM_SHA256", "not offered")


def test_tls13_server_hello_with_an_offered_tls12_suite_is_illegal_parameter() -> None:
    # RFC 8446, Section 4.1.3: the client offered this suite for TLS 1.2; in a TLS 1.3 ServerHello
    # it is no suite the client offered for TLS 1.3 (it was an internal_error: a KeyError).
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256

    def alter(msg: Handshake) -> bytes:
        return replace(msg, cipher_suite=suite).encode()

    pair, sender, receiver, events = run_server_flight(ServerHello, alter)
    assert suite in pair.client.offered_hello.cipher_suites
    both_ends(sender, receiver, events, A.illegal_parameter, suite.name, "not offered for TLS 1.3")


def test_plaintext_alert_after_the_handshake_is_unexpected_message() -> None:
    # RFC 8446, Sections 5 and 6: once keys are agreed, alerts are encrypted; a plaintext one is
    # no alert from the peer (it could come from anyone on the path).
    pair = connected_pair()
    events = pair.client.receive_bytes(b"\x15\x03\x03\x00\x02\x02\x28")
    closed_with(pair.client, events, A.unexpected_message, "unprotected alert record")
    events = pair.server.receive_bytes(b"\x15\x03\x03\x00\x02\x02\x28")
    closed_with(pair.server, events, A.unexpected_message, "unprotected alert record")


def test_a_tls13_server_takes_a_plaintext_alert_before_the_clients_first_protected_record() -> None:
    # A client that cannot use the ServerHello has no keys to encrypt its refusal with: the server
    # takes a plaintext alert until the client's first protected record, as OpenSSL does.
    pair = make_pair()
    pair.to_server()
    events = pair.server.receive_bytes(b"\x15\x03\x03\x00\x02\x02\x30")
    assert pair.server.closed and isinstance(pair.server.error, PeerAlertError)
    assert pair.server.error.description == A.unknown_ca
    assert [type(e) for e in events] == [AlertReceived, ConnectionClosed]


def test_client_hello_without_key_share_is_missing_extension() -> None:
    def alter(msg: Handshake) -> bytes:
        exts = tuple(e for e in msg.extensions if e.type != ExtensionType.key_share)  # type: ignore[attr-defined]
        return replace(msg, extensions=exts).encode()

    _pair, sender, receiver, events = run_client_hello(alter)
    both_ends(sender, receiver, events, A.missing_extension, "no key_share")


def test_no_common_cipher_suite_is_handshake_failure_naming_both_sides() -> None:
    pair = make_pair(
        client_kw={"cipher_suites": (CipherSuite.TLS_AES_256_GCM_SHA384,)},
        server_kw={"cipher_suites": (CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256)},
    )
    err = closed_with(pair.server, pair.to_server(), A.handshake_failure)
    assert err.reason == (
        "no common cipher suite: client offered TLS_AES_256_GCM_SHA384, "
        "server accepts TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256"
    )
    sender_sees(pair.client, pair.server, A.handshake_failure)


# -- the record layer ---------------------------------------------------------------------


def test_ciphertext_record_over_the_limit_is_record_overflow() -> None:
    pair = connected_pair()
    length = (1 << 14) + 257
    events = pair.client.receive_bytes(b"\x17\x03\x03" + length.to_bytes(2, "big") + bytes(length))
    both_ends(pair.server, pair.client, events, A.record_overflow, f"{length} bytes exceeds {(1 << 14) + 256}")


def test_ciphertext_record_at_the_limit_is_not_record_overflow() -> None:
    pair = connected_pair()
    length = (1 << 14) + 256
    events = pair.client.receive_bytes(b"\x17\x03\x03" + length.to_bytes(2, "big") + bytes(length))
    closed_with(pair.client, events, A.bad_record_mac)  # parsed, then failed authentication


def test_plaintext_record_over_two_to_the_fourteen_is_record_overflow() -> None:
    pair = make_pair()
    pair.client.data_to_send()
    length = (1 << 14) + 1
    events = pair.server.receive_bytes(b"\x16\x03\x01" + length.to_bytes(2, "big") + bytes(length))
    both_ends(pair.client, pair.server, events, A.record_overflow)


def _server_write_protection(log: EventList) -> Protection13:
    """The server's application write keys, rebuilt from its secret (seq 0: nothing sent yet, no tickets)."""
    secret = next(e.secret for e in log.events if getattr(e, "label", "") == "server_application_traffic_secret_0")
    return Protection13(TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256], secret, "application")


def test_decrypted_record_of_two_to_the_fourteen_is_accepted() -> None:
    log = EventList(wants_secrets=True)
    pair = connected_pair(server_observer=log, server_kw={"tls13_tickets": 0})
    record = _server_write_protection(log).seal(ContentType.application_data, bytes(1 << 14))
    assert pair.client.receive_bytes(record) == [ApplicationData(bytes(1 << 14))]


@pytest.mark.parametrize(("size", "padding"), [((1 << 14) + 1, 0), (1 << 14, 1), (100, (1 << 14) - 99)])
def test_decrypted_record_over_two_to_the_fourteen_is_record_overflow(size: int, padding: int) -> None:
    # RFC 8446, Sections 5.2 and 5.4: the TLSInnerPlaintext (content type and padding
    # included) may not exceed 2^14 + 1 bytes, even when the ciphertext length is legal.
    log = EventList(wants_secrets=True)
    pair = connected_pair(server_observer=log, server_kw={"tls13_tickets": 0})
    record = _server_write_protection(log).seal(ContentType.application_data, bytes(size), padding)
    assert len(record) - 5 <= (1 << 14) + 256
    events = pair.client.receive_bytes(record)
    both_ends(pair.server, pair.client, events, A.record_overflow, "2^14")


def test_flipped_ciphertext_byte_is_bad_record_mac() -> None:
    pair = connected_pair()
    pair.client.send(b"hello")
    events = transfer_records(pair.client, pair.server, lambda i, rec: flip(rec, len(rec) - 1))
    both_ends(pair.client, pair.server, events, A.bad_record_mac, "application keys")


def test_flipped_handshake_record_byte_is_bad_record_mac() -> None:
    pair = make_pair()
    pair.to_server()
    # The server's flight: ServerHello record, change_cipher_spec, then the encrypted rest.
    events = transfer_records(pair.server, pair.client, lambda i, rec: flip(rec, 20) if i == 2 else None)
    both_ends(pair.server, pair.client, events, A.bad_record_mac, "handshake keys")


def test_change_cipher_spec_after_the_handshake_is_unexpected_message() -> None:
    # RFC 8446, Section 5: a CCS is dropped only before the peer's Finished.
    pair = connected_pair()
    events = pair.server.receive_bytes(b"\x14\x03\x03\x00\x01\x01")
    both_ends(pair.client, pair.server, events, A.unexpected_message, "change_cipher_spec")


def test_change_cipher_spec_with_wrong_content_is_unexpected_message() -> None:
    pair = make_pair()
    pair.to_server()
    events = pair.client.receive_bytes(b"\x14\x03\x03\x00\x01\x02")
    closed_with(pair.client, events, A.unexpected_message, "change_cipher_spec")


def test_garbage_first_record_gets_an_alert_and_a_clear_message() -> None:
    pair = make_pair()
    events = pair.server.receive_bytes(b"GET / HTTP/1.1\r\n\r\n")
    err = closed_with(pair.server, events, A.unexpected_message, "0x47", "not speaking TLS")
    assert err.step == "waiting for ClientHello"
    # A plaintext fatal alert is what goes back on the wire.
    assert pair.server.data_to_send() == b"\x15\x03\x03\x00\x02\x02\x0a"


def test_application_data_before_the_handshake_is_unexpected_message() -> None:
    pair = make_pair()
    events = pair.server.receive_bytes(b"\x17\x03\x03\x00\x05hello")
    both_ends(pair.client, pair.server, events, A.unexpected_message)


def test_alert_record_of_wrong_length_is_decode_error() -> None:
    pair = make_pair()
    events = pair.server.receive_bytes(b"\x15\x03\x03\x00\x03\x02\x28\x00")
    closed_with(pair.server, events, A.decode_error, "3 bytes")


def test_split_records_round_trip() -> None:
    pair = make_pair()
    data = pair.client.data_to_send()
    assert b"".join(split_records(data)) == data


# -- property: no exception other than an alert ever escapes -------------------------------

# The messages of a full handshake, by who sends them and in which order.
_MESSAGES = [
    ("client", ClientHello),
    ("server", ServerHello),
    ("server", EncryptedExtensions),
    ("server", Certificate),  # with a client that offers no certificate compression
    ("server", CompressedCertificate),  # in its place when the client does (RFC 8879)
    ("server", CertificateVerify),
    ("server", Finished),
    ("client", Finished),
]


def _check_outcome(pair: Pair, header_touched: bool, may_complete: bool = False) -> None:
    """Whatever happened, it happened through alerts: never a completed handshake (unless
    ``may_complete``), never a non-alert error; a stall only when a length header changed."""
    if may_complete and pair.client.handshake_complete and pair.server.handshake_complete:
        return
    assert not (pair.client.handshake_complete and pair.server.handshake_complete)
    for _side, events in pair.log:
        for e in events:
            if isinstance(e, ConnectionClosed):
                expected = PeerAlertError if e.by_peer else AlertError
                assert isinstance(e.error, expected), e
                assert not isinstance(e.error, InternalError), e  # a bug, not the peer's fault
    if not (pair.client.closed or pair.server.closed):
        assert header_touched, pair.log


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(_MESSAGES), data=st.data())
def test_truncating_any_handshake_message_only_ever_alerts(which, data) -> None:
    side, kind = which

    def alter(msg: Handshake) -> bytes:
        # Sizes vary from run to run (ECDSA signatures, key shares): draw, then scale.
        keep = data.draw(st.integers(0, 1 << 16), label="keep") % (len(msg.raw) - 4)
        return truncated(msg.raw, keep)

    kw = {"client_alter": once(kind, alter)} if side == "client" else {"server_alter": once(kind, alter)}
    pair = make_pair(**kw, **(UNCOMPRESSED if kind is Certificate else {}))
    pair.handshake()
    _check_outcome(pair, header_touched=False)
    assert pair.client.closed or pair.server.closed


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(_MESSAGES), data=st.data())
def test_flipping_any_byte_of_any_handshake_message_only_ever_alerts(which, data) -> None:
    side, kind = which
    touched = []

    def alter(msg: Handshake) -> bytes:
        index = data.draw(st.integers(0, 1 << 16), label="index") % len(msg.raw)
        mask = data.draw(st.integers(1, 255), label="mask")
        touched.append(1 <= index <= 3)
        return flip(msg.raw, index, mask)

    kw = {"client_alter": once(kind, alter)} if side == "client" else {"server_alter": once(kind, alter)}
    pair = make_pair(**kw, **(UNCOMPRESSED if kind is Certificate else {}))
    pair.handshake()
    _check_outcome(pair, header_touched=touched[0])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(_MESSAGES), extra=st.binary(min_size=1, max_size=3))
def test_bytes_after_any_handshake_message_only_ever_alert(which, extra: bytes) -> None:
    """Stray bytes after a message begin the next message's header, in the same record: its type
    is judged as soon as it arrives, so one the receiving state never reads is unexpected_message
    at once; only a type it reads may wait for the rest of its message."""
    side, kind = which
    alter = once(kind, lambda msg: msg.raw + extra)
    kw = {"client_alter": alter} if side == "client" else {"server_alter": alter}
    pair = make_pair(**kw, **(UNCOMPRESSED if kind is Certificate else {}))
    pair.handshake()
    _check_outcome(pair, header_touched=True)
    if not (pair.client.closed or pair.server.closed):  # a stall: the receiver waits for the rest
        receiver = pair.server if side == "client" else pair.client
        assert receiver._state.takes(extra[0]), (extra, receiver._state, pair.log)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_flipping_any_byte_of_any_record_only_ever_alerts(data) -> None:
    pair = make_pair()
    pair.log.append(("server", transfer_records(pair.client, pair.server, lambda i, r: None)))
    records = split_records(pair.server.data_to_send())
    i = data.draw(st.integers(0, 2), label="record") % len(records)
    index = data.draw(st.integers(0, 1 << 16), label="index") % len(records[i])
    mask = data.draw(st.integers(1, 255), label="mask")
    records[i] = flip(records[i], index, mask)
    pair.log.append(("client", pair.client.receive_bytes(b"".join(records))))
    pair.handshake()
    # A flipped record length can leave the client waiting for bytes that never come; the
    # legacy_record_version of a plaintext record is ignored (RFC 8446, Section 5.1), while
    # that of a protected record is authenticated as additional data (Section 5.2).
    plaintext = records[i][0] != ContentType.application_data
    _check_outcome(pair, header_touched=index in (3, 4), may_complete=plaintext and index in (1, 2))
