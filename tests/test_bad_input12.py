"""Bad input in TLS 1.2 ends the connection with the alert RFC 5246 names, checked at both ends.

Like tests/test_bad_input.py for TLS 1.3, with two in-memory peers
(tests/pairs.py) that negotiate TLS 1.2, one message altered in flight:

* every TLS 1.2 message each side receives, truncated or with a length that
  claims more than is there → decode_error (RFC 5246, Section 7.2.2);
* a Finished that does not match → decrypt_error (Section 7.4.9);
* an RSA-encrypted pre-master secret with bad padding, the wrong length or
  the wrong version: the server goes on with a random pre-master secret and
  fails only at the client's Finished, with the same alert (decrypt_error)
  and the same reason as for a client that encrypted to the wrong key
  (Section 7.4.7.1, the Bleichenbacher countermeasure);
* renegotiation is refused with a no_renegotiation warning, and the
  connection goes on (RFC 5746, Section 4; RFC 5246, Section 7.4.1.1);
* a warning alert does not close a TLS 1.2 connection (Section 7.2);
* ChangeCipherSpec at the wrong time, and application data before the
  handshake is done → unexpected_message;
* a property test: flipped bytes and truncations in any TLS 1.2 message never
  let anything but an alert end the connection.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasstls import (
    AlertError,
    AlertReceived,
    ApplicationData,
    CertifiedKey,
    CipherSuite,
    ClientConfig,
    ConnectionClosed,
    PeerAlertError,
    ProtocolVersion,
    ServerConfig,
)
from glasstls.config import DEFAULT_SUITES
from glasstls.connection import Connection
from glasstls.crypto import kx
from glasstls.enums import AlertDescription as A
from glasstls.enums import AlertLevel, ContentType, ExtensionType, NamedGroup, SignatureScheme
from glasstls.errors import InternalError
from glasstls.events import Event
from glasstls.handshake import client12
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import (
    HRR_RANDOM,
    CertificateVerify,
    ClientHello,
    Finished,
    Handshake,
    HelloRetryRequest,
    ServerHello,
    decode_message,
)
from glasstls.wire.handshake12 import (
    Certificate12,
    CertificateRequest12,
    ClientKeyExchange,
    HelloRequest,
    NewSessionTicket12,
    ServerHelloDone,
    ServerKeyExchange,
)
from glasstls.x509.mint import Identity
from glasstls.x509.store import TrustStore
from pairs import (
    Pair,
    TamperingClient,
    TamperingServer,
    default_ca,
    flip,
    inject,
    inject_warning,
    make_pair,
    once,
    server_identity,
    set_u,
    split_records,
    transfer,
    truncated,
    with_body,
)

V12 = ProtocolVersion.TLSv1_2
RSA_KX = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
RSA_CBC = CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256
DHE = CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
ECDHE_RSA = CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
CCS = b"\x14\x03\x03\x00\x01\x01"


# -- TLS 1.2 pairs -------------------------------------------------------------------------


@functools.cache
def rsa_identity() -> Identity:
    return default_ca().issue_server(["localhost"], key_type="rsa2048")


@functools.cache
def client_identity() -> Identity:
    return default_ca().issue_client("client.test")


def pair12(
    *,
    suite: CipherSuite | None = None,
    client_auth: bool = False,
    client_alter: Any = None,
    server_alter: Any = None,
    client_kw: dict[str, Any] | None = None,
    server_kw: dict[str, Any] | None = None,
) -> Pair:
    """A client limited to TLS 1.2 and a (TLS 1.3 capable) server; ``suite`` picks the key exchange."""
    ckw: dict[str, Any] = {"tls_max": V12, **(client_kw or {})}
    skw: dict[str, Any] = dict(server_kw or {})
    identity = server_identity("localhost")
    if suite is not None:
        ckw["cipher_suites"] = (suite,)
        skw.setdefault("cipher_suites", (*DEFAULT_SUITES, suite))
        if "RSA" in suite.name:
            identity = rsa_identity()
    if client_auth:
        ckw["certificate"] = CertifiedKey(client_identity().chain, client_identity().private_key)
        skw |= {"client_auth": "required", "client_trust_store": TrustStore.from_pem(default_ca().root_pem())}
    ca = default_ca()
    ccfg = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()), **ckw)
    scfg = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **skw)
    client = TamperingClient(ccfg, "localhost", client_alter)
    server = TamperingServer(scfg, server_alter)
    return Pair(client, server, ccfg, scfg, identity, ca)


def connected12(**kw: Any) -> Pair:
    pair = pair12(**kw)
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
    assert pair.client.parameters.version == pair.server.parameters.version == "TLSv1.2"
    return pair


def until_closed(pair: Pair) -> tuple[Connection, Connection, list[Event]]:
    """Drive the handshake leg by leg until one side closes; (sender, receiver, receiver's events)."""
    for _ in range(4):
        for sender, receiver, leg in (
            (pair.client, pair.server, pair.to_server),
            (pair.server, pair.client, pair.to_client),
        ):
            events = leg()
            if receiver.closed:
                return sender, receiver, events
    raise AssertionError(f"nobody closed: {pair.log}")


# -- checking both ends ----------------------------------------------------------------------


def closed_with(receiver: Connection, events: list[Event], description: A, *reason_parts: str) -> AlertError:
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed, f"no ConnectionClosed in {events}"
    err = closed[-1].error
    assert isinstance(err, AlertError) and not closed[-1].by_peer, f"closed with {err!r}"
    assert err.description == description, f"{err.description.name} ({err.reason}), expected {description.name}"
    for part in reason_parts:
        assert part in err.reason, f"{part!r} not in reason {err.reason!r}"
    assert err.reason and err.step and receiver.closed and receiver.error is err
    return err


def sender_sees(sender: Connection, receiver: Connection, description: A) -> None:
    """The receiver's alert, on the wire, reaches the sender (encrypted or not) and closes it."""
    events = transfer(receiver, sender)
    assert AlertReceived(AlertLevel.fatal, description) in events, events
    assert isinstance(events[-1], ConnectionClosed) and events[-1].by_peer, events
    err = events[-1].error
    assert isinstance(err, PeerAlertError) and err.description == description
    assert sender.closed


def both_ends(
    sender: Connection, receiver: Connection, events: list[Event], description: A, *reason: str
) -> AlertError:
    err = closed_with(receiver, events, description, *reason)
    sender_sees(sender, receiver, description)
    return err


# -- truncated and over-long messages -----------------------------------------------------------

# Each message a side receives in a TLS 1.2 handshake: (who sends it, its class, the pair it needs).
MESSAGES: dict[str, tuple[str, type[Handshake], dict[str, Any]]] = {
    # at the client
    "ServerHello": ("server", ServerHello, {}),
    "Certificate (server's)": ("server", Certificate12, {}),
    "ServerKeyExchange (ECDHE)": ("server", ServerKeyExchange, {}),
    "ServerKeyExchange (DHE)": ("server", ServerKeyExchange, {"suite": DHE}),
    "CertificateRequest": ("server", CertificateRequest12, {"client_auth": True}),
    "ServerHelloDone": ("server", ServerHelloDone, {}),
    "NewSessionTicket": ("server", NewSessionTicket12, {}),
    "Finished (server's)": ("server", Finished, {}),
    # at the server
    "ClientHello": ("client", ClientHello, {}),
    "Certificate (client's)": ("client", Certificate12, {"client_auth": True}),
    "ClientKeyExchange (ECDHE)": ("client", ClientKeyExchange, {}),
    "ClientKeyExchange (DHE)": ("client", ClientKeyExchange, {"suite": DHE}),
    "ClientKeyExchange (RSA)": ("client", ClientKeyExchange, {"suite": RSA_KX}),
    "CertificateVerify": ("client", CertificateVerify, {"client_auth": True}),
    "Finished (client's)": ("client", Finished, {}),
}


def run_altered(message: str, alter: Callable[[Handshake], bytes]) -> tuple[Pair, Connection, Connection, list[Event]]:
    side, kind, kw = MESSAGES[message]
    pair = pair12(**{f"{side}_alter": once(kind, alter)}, **kw)
    sender, receiver, events = until_closed(pair)
    expected_sender = pair.server if side == "server" else pair.client
    assert sender is expected_sender, f"the {side} closed first: {events}"
    return pair, sender, receiver, events


def cut(keep: int) -> Callable[[Handshake], bytes]:
    return lambda msg: truncated(msg.raw, keep)


def one_byte_more(msg: Handshake) -> bytes:
    return with_body(msg.raw, msg.raw[4:] + b"\x00")


def longer_by_one(offset: int, width: int) -> Callable[[Handshake], bytes]:
    """The length field of ``width`` bytes at body offset ``offset`` claims one byte more."""

    def alter(msg: Handshake) -> bytes:
        at = 4 + offset
        return set_u(msg.raw, at, width, int.from_bytes(msg.raw[at : at + width], "big") + 1)

    return alter


def last_vector_longer_by_one(width: int, where: Callable[[bytes], int] | None = None) -> Callable[[Handshake], bytes]:
    """The message ends with a ``<..2^(8*width)-1>`` vector (a signature, a ticket): its length claims one more.

    ``where``: the offset of that length in the body. Without it, the last offset whose value is the
    length of what follows: for a message whose trailing vector holds random bytes (a ticket, a
    signature) that can be two bytes inside it which happen to match, so those messages say where."""

    def alter(msg: Handshake) -> bytes:
        body = msg.raw[4:]
        candidates = range(len(body) - width, -1, -1) if where is None else (where(body),)
        for at in candidates:
            if int.from_bytes(body[at : at + width], "big") == len(body) - at - width:
                return set_u(msg.raw, 4 + at, width, len(body) - at - width + 1)
        raise AssertionError("no trailing vector")

    return alter


def _after_ecdhe_params(body: bytes) -> int:
    """ServerKeyExchange (ECDHE, RFC 8422, Section 5.4): curve_type, named_curve, the point's
    one-byte length and the point, then the signature's algorithm, then its length."""
    return 4 + body[3] + 2


def overlong_extensions(msg: Handshake) -> bytes:
    at = len(msg.raw) - 2 - sum(4 + len(e.data) for e in msg.extensions)  # type: ignore[attr-defined]
    return set_u(msg.raw, at, 2, int.from_bytes(msg.raw[at : at + 2], "big") + 1)


TRUNCATIONS = [
    # (message, body bytes kept, words the reason must contain)
    ("ServerHello", 0, ("server_hello", "legacy_version truncated")),
    ("ServerHello", 20, ("server_hello", "random truncated")),
    ("ServerHello", 35, ("server_hello", "legacy_session_id_echo truncated")),
    ("ServerHello", 68, ("server_hello", "cipher_suite truncated")),
    ("ServerHello", 71, ("server_hello", "extensions length truncated")),
    ("ServerHello", 75, ("server_hello", "extensions truncated")),
    ("Certificate (server's)", 0, ("certificate", "certificate_list length truncated")),
    ("Certificate (server's)", 3, ("certificate", "certificate_list truncated")),
    ("Certificate (server's)", 100, ("certificate", "certificate_list truncated")),
    ("ServerKeyExchange (ECDHE)", 0, ("ServerKeyExchange", "curve_type truncated")),
    ("ServerKeyExchange (ECDHE)", 2, ("ServerKeyExchange", "namedcurve truncated")),
    ("ServerKeyExchange (ECDHE)", 3, ("ServerKeyExchange", "point length truncated")),
    ("ServerKeyExchange (ECDHE)", 20, ("ServerKeyExchange", "point truncated")),
    ("ServerKeyExchange (ECDHE)", 36, ("ServerKeyExchange", "signature algorithm truncated")),
    ("ServerKeyExchange (ECDHE)", 38, ("ServerKeyExchange", "signature length truncated")),
    ("ServerKeyExchange (ECDHE)", 50, ("ServerKeyExchange", "signature truncated")),
    ("ServerKeyExchange (DHE)", 1, ("ServerKeyExchange", "dh_p length truncated")),
    ("ServerKeyExchange (DHE)", 100, ("ServerKeyExchange", "dh_p truncated")),
    ("ServerKeyExchange (DHE)", 258, ("ServerKeyExchange", "dh_g length truncated")),
    ("ServerKeyExchange (DHE)", 262, ("ServerKeyExchange", "dh_Ys length truncated")),
    ("ServerKeyExchange (DHE)", 300, ("ServerKeyExchange", "dh_Ys truncated")),
    ("CertificateRequest", 0, ("certificate_request", "certificate_types length truncated")),
    ("CertificateRequest", 2, ("certificate_request", "certificate_types truncated")),
    ("CertificateRequest", 4, ("certificate_request", "supported_signature_algorithms length truncated")),
    ("CertificateRequest", 10, ("certificate_request", "supported_signature_algorithms truncated")),
    ("NewSessionTicket", 3, ("new_session_ticket", "ticket_lifetime_hint truncated")),
    ("NewSessionTicket", 5, ("new_session_ticket", "ticket length truncated")),
    ("NewSessionTicket", 40, ("new_session_ticket", "ticket truncated")),
    ("Finished (server's)", 0, ("server Finished", "0 bytes of verify_data, not 12")),
    ("Finished (server's)", 11, ("server Finished", "11 bytes of verify_data, not 12")),
    ("ClientHello", 0, ("client_hello", "legacy_version truncated")),
    ("ClientHello", 20, ("client_hello", "random truncated")),
    ("ClientHello", 34, ("client_hello", "legacy_session_id length truncated")),
    # A TLS 1.2-only client sends an empty legacy_session_id (no TLS 1.3 compatibility mode).
    ("ClientHello", 36, ("client_hello", "cipher_suites length truncated")),
    ("ClientHello", 40, ("client_hello", "cipher_suites truncated")),
    ("Certificate (client's)", 0, ("certificate", "certificate_list length truncated")),
    ("Certificate (client's)", 50, ("certificate", "certificate_list truncated")),
    ("ClientKeyExchange (ECDHE)", 0, ("ClientKeyExchange", "ecdh_Yc length truncated")),
    ("ClientKeyExchange (ECDHE)", 10, ("ClientKeyExchange", "ecdh_Yc truncated")),
    ("ClientKeyExchange (DHE)", 1, ("ClientKeyExchange", "dh_Yc length truncated")),
    ("ClientKeyExchange (DHE)", 100, ("ClientKeyExchange", "dh_Yc truncated")),
    ("ClientKeyExchange (RSA)", 1, ("ClientKeyExchange", "EncryptedPreMasterSecret length truncated")),
    ("ClientKeyExchange (RSA)", 100, ("ClientKeyExchange", "EncryptedPreMasterSecret truncated")),
    ("CertificateVerify", 1, ("certificate_verify", "algorithm truncated")),
    ("CertificateVerify", 3, ("certificate_verify", "signature length truncated")),
    ("CertificateVerify", 20, ("certificate_verify", "signature truncated")),
    ("Finished (client's)", 0, ("client Finished", "0 bytes of verify_data, not 12")),
    ("Finished (client's)", 11, ("client Finished", "11 bytes of verify_data, not 12")),
]


@pytest.mark.parametrize(("message", "keep", "reason"), TRUNCATIONS, ids=[f"{m}-{k}" for m, k, _ in TRUNCATIONS])
def test_truncated_tls12_message_is_decode_error(message: str, keep: int, reason: tuple[str, ...]) -> None:
    _pair, sender, receiver, events = run_altered(message, cut(keep))
    both_ends(sender, receiver, events, A.decode_error, *reason)


OVERLONG = [
    ("ServerHello", overlong_extensions, ("server_hello", "extensions truncated")),
    ("Certificate (server's)", longer_by_one(0, 3), ("certificate", "certificate_list truncated")),
    ("Certificate (server's)", longer_by_one(3, 3), ("certificate", "ASN.1Cert truncated")),
    ("ServerKeyExchange (ECDHE)", longer_by_one(3, 1), ("ServerKeyExchange",)),
    (
        "ServerKeyExchange (ECDHE)",
        last_vector_longer_by_one(2, _after_ecdhe_params),
        ("ServerKeyExchange", "signature truncated"),
    ),
    ("ServerKeyExchange (ECDHE)", one_byte_more, ("ServerKeyExchange", "1 unexpected trailing bytes")),
    ("ServerKeyExchange (DHE)", longer_by_one(0, 2), ("ServerKeyExchange",)),
    ("ServerKeyExchange (DHE)", one_byte_more, ("ServerKeyExchange", "1 unexpected trailing bytes")),
    ("CertificateRequest", longer_by_one(0, 1), ("certificate_request",)),
    ("CertificateRequest", last_vector_longer_by_one(2), ("certificate_request", "truncated")),
    ("CertificateRequest", one_byte_more, ("certificate_request", "1 unexpected trailing bytes")),
    # (the flight's records carry it after other messages: refused at its header, which claims a byte)
    ("ServerHelloDone", one_byte_more, ("server_hello_done header claims 1 bytes", "a ServerHelloDone is empty")),
    ("NewSessionTicket", last_vector_longer_by_one(2, lambda body: 4), ("new_session_ticket", "ticket truncated")),
    ("NewSessionTicket", one_byte_more, ("new_session_ticket", "1 unexpected trailing bytes")),
    ("Finished (server's)", one_byte_more, ("server Finished", "13 bytes of verify_data, not 12")),
    ("ClientHello", overlong_extensions, ("client_hello", "extensions truncated")),
    ("ClientHello", longer_by_one(34, 1), ("client_hello",)),
    ("Certificate (client's)", longer_by_one(0, 3), ("certificate", "certificate_list truncated")),
    ("ClientKeyExchange (ECDHE)", longer_by_one(0, 1), ("ClientKeyExchange", "ecdh_Yc truncated")),
    ("ClientKeyExchange (ECDHE)", one_byte_more, ("ClientKeyExchange", "1 unexpected trailing bytes")),
    ("ClientKeyExchange (DHE)", longer_by_one(0, 2), ("ClientKeyExchange", "dh_Yc truncated")),
    ("ClientKeyExchange (RSA)", longer_by_one(0, 2), ("ClientKeyExchange", "EncryptedPreMasterSecret truncated")),
    ("ClientKeyExchange (RSA)", one_byte_more, ("ClientKeyExchange", "1 unexpected trailing bytes")),
    ("CertificateVerify", last_vector_longer_by_one(2, lambda body: 2), ("certificate_verify", "signature truncated")),
    ("CertificateVerify", one_byte_more, ("certificate_verify", "1 unexpected trailing bytes")),
    ("Finished (client's)", one_byte_more, ("client Finished", "13 bytes of verify_data, not 12")),
]


@pytest.mark.parametrize(
    ("message", "alter", "reason"), OVERLONG, ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(OVERLONG)]
)
def test_overlong_tls12_message_is_decode_error(message: str, alter: Callable, reason: tuple[str, ...]) -> None:
    _pair, sender, receiver, events = run_altered(message, alter)
    both_ends(sender, receiver, events, A.decode_error, *reason)


def test_empty_server_certificate_is_decode_error() -> None:
    _pair, sender, receiver, events = run_altered("Certificate (server's)", lambda m: Certificate12(()).encode())
    both_ends(sender, receiver, events, A.decode_error, "empty Certificate")


# -- Finished ---------------------------------------------------------------------------------


@pytest.mark.parametrize("resumed", [False, True], ids=["full", "abbreviated"])
@pytest.mark.parametrize("side", ["server", "client"])
def test_finished_that_does_not_match_is_decrypt_error(side: str, resumed: bool) -> None:
    alter = once(Finished, lambda m: flip(m.raw, len(m.raw) - 1))
    if resumed:
        first = connected12()
        pair = _with_session(first, **{f"{side}_alter": alter})
    else:
        pair = pair12(**{f"{side}_alter": alter})
    sender, receiver, events = until_closed(pair)
    assert sender.side == side
    both_ends(sender, receiver, events, A.decrypt_error, f"{side} Finished does not match the transcript")
    assert not pair.client.handshake_complete or not pair.server.handshake_complete


def _with_session(first: Pair, **alters: Any) -> Pair:
    """A new pair with ``first``'s configurations, the client offering ``first``'s session."""
    client = TamperingClient(first.client_config, "localhost", alters.get("client_alter"), session=first.client.session)
    server = TamperingServer(first.server_config, alters.get("server_alter"))
    return Pair(client, server, first.client_config, first.server_config, first.identity, first.ca)


# -- the RSA pre-master secret (RFC 5246, Section 7.4.7.1) -----------------------------------------
#
# The client itself sends the bad ClientKeyExchange (its _key_exchange is replaced), so its
# transcript and its extended master secret (RFC 7627: the session hash covers the
# ClientKeyExchange) match the server's; what differs is only what each side takes the
# pre-master secret to be. Where the server refused the secret, its keys differ from the
# client's and the client's Finished record does not authenticate: bad_record_mac, the
# same as for a client that encrypted to the wrong key. (decrypt_error would need a
# Finished that decrypts but does not match, which keys from another master secret never give.)


def pkcs1_encrypt(key: rsa.RSAPublicKey, block: bytes) -> bytes:
    """Raw RSA of an encoded block of the key's size: padding done by hand, right or wrong."""
    size = (key.key_size + 7) // 8
    assert len(block) == size
    n, e = key.public_numbers().n, key.public_numbers().e
    return pow(int.from_bytes(block, "big"), e, n).to_bytes(size, "big")


def _nonzero(n: int) -> bytes:
    return bytes(b % 255 + 1 for b in os.urandom(n))


def eme_pkcs1(key: rsa.RSAPublicKey, message: bytes, block_type: bytes = b"\x02", separator: bytes = b"\x00") -> bytes:
    """EME-PKCS1-v1_5 (RFC 8017, Section 7.2.1): 0x00 || 0x02 || PS || 0x00 || M, with the parts overridable."""
    ps_len = (key.key_size + 7) // 8 - 3 - len(message)
    ps = b"\xff" * ps_len if block_type == b"\x01" else _nonzero(ps_len)
    return b"\x00" + block_type + ps + separator + message


def pkcs1v15(key: rsa.RSAPublicKey, message: bytes) -> bytes:
    return key.encrypt(message, padding.PKCS1v15())


def _secret(version: bytes = b"\x03\x03", length: int = 48) -> bytes:
    return version + os.urandom(length - 2)


# Each case: the pre-master secret the client uses, and the EncryptedPreMasterSecret it sends,
# from the server's public key and another one.
PreMaster = Callable[[rsa.RSAPublicKey, rsa.RSAPublicKey], tuple[bytes, bytes]]


def _case(secret: bytes, encrypt: Callable[[rsa.RSAPublicKey, rsa.RSAPublicKey, bytes], bytes]) -> PreMaster:
    return lambda key, other: (secret, encrypt(key, other, secret))


def _cases() -> dict[str, PreMaster]:
    good, key_size = _secret(), 256
    return {
        # padding, by hand, around the right 48 bytes: a lenient decoder would find them
        "block-type-1": _case(good, lambda k, _o, pm: pkcs1_encrypt(k, eme_pkcs1(k, pm, block_type=b"\x01"))),
        "block-type-0": _case(good, lambda k, _o, pm: pkcs1_encrypt(k, eme_pkcs1(k, pm, block_type=b"\x00"))),
        "first-byte-not-zero": _case(good, lambda k, _o, pm: pkcs1_encrypt(k, b"\x01" + eme_pkcs1(k, pm)[1:])),
        "no-zero-separator": _case(
            good, lambda k, _o, pm: pkcs1_encrypt(k, eme_pkcs1(k, _nonzero(48), separator=b"\x01"))
        ),
        "padding-string-too-short": _case(
            good,
            lambda k, _o, pm: pkcs1_encrypt(k, b"\x00\x02" + _nonzero(7) + b"\x00" + bytes(key_size - 10 - 48) + pm),
        ),
        # length: properly padded secrets of 47 and 49 bytes (and none)
        "47-bytes": _case(_secret(length=47), lambda k, _o, pm: pkcs1v15(k, pm)),
        "49-bytes": _case(_secret(length=49), lambda k, _o, pm: pkcs1v15(k, pm)),
        "empty": _case(b"", lambda k, _o, pm: pkcs1v15(k, pm)),
        # version: not the 0x0303 the ClientHello offered
        "version-0x0302": _case(_secret(b"\x03\x02"), lambda k, _o, pm: pkcs1v15(k, pm)),
        "version-0x0301": _case(_secret(b"\x03\x01"), lambda k, _o, pm: pkcs1v15(k, pm)),
        "version-0x0304": _case(_secret(b"\x03\x04"), lambda k, _o, pm: pkcs1v15(k, pm)),
        # the ciphertext itself
        "ciphertext-one-byte-short": _case(good, lambda k, _o, pm: pkcs1v15(k, pm)[1:]),
        "ciphertext-above-modulus": _case(good, lambda _k, _o, _pm: b"\xff" * key_size),
        # the reference: the right secret, to the wrong key
        "wrong-key": _case(good, lambda _k, other, pm: pkcs1v15(other, pm)),
    }


BAD_PRE_MASTERS = list(_cases())


@functools.cache
def _other_rsa_key() -> rsa.RSAPublicKey:
    return rsa.generate_private_key(65537, 2048).public_key()


def _rsa_pair(monkeypatch: pytest.MonkeyPatch, pre_master: PreMaster, suite: CipherSuite = RSA_KX) -> Pair:
    """A TLS 1.2 pair with RSA key transport whose client sends ``pre_master``'s secret and ciphertext."""

    def key_exchange(ctx: Any, s: Any) -> tuple[ClientKeyExchange, bytes]:
        secret, encrypted = pre_master(s.peer_chain[0].public_key(), _other_rsa_key())
        return ClientKeyExchange.for_rsa(encrypted), secret

    monkeypatch.setattr(client12, "_key_exchange", key_exchange)
    return pair12(suite=suite)


def _client_flight_record_by_record(pair: Pair) -> list[Event]:
    """ClientKeyExchange, ChangeCipherSpec, Finished: one record at a time. The server must
    take the first two whatever the pre-master secret was; returns its events for the last."""
    pair.to_server()
    pair.to_client()
    cke, ccs, finished = split_records(pair.client.data_to_send())
    assert cke[0] == 0x16 and ccs == CCS and finished[0] == 0x16
    assert pair.server.receive_bytes(cke) == [] and not pair.server.closed
    assert pair.server.state_name == "ExpectClientCcs12"
    assert pair.server.receive_bytes(ccs) == [] and not pair.server.closed
    assert pair.server.state_name == "ExpectClientFinished12"
    return pair.server.receive_bytes(finished)


@pytest.mark.parametrize("suite", [RSA_KX, RSA_CBC], ids=["gcm", "cbc"])
def test_rsa_pre_master_secret_sent_right_completes(monkeypatch: pytest.MonkeyPatch, suite: CipherSuite) -> None:
    # The harness itself: the same path with a proper secret is accepted.
    pair = _rsa_pair(monkeypatch, _case(_secret(), lambda k, _o, pm: pkcs1v15(k, pm)), suite)
    events = _client_flight_record_by_record(pair)
    assert pair.server.handshake_complete, events
    pair.to_client()
    assert pair.client.handshake_complete
    assert pair.client.parameters.cipher_suite == pair.server.parameters.cipher_suite == suite.name


def _failure(monkeypatch: pytest.MonkeyPatch, case: str, suite: CipherSuite) -> AlertError:
    pair = _rsa_pair(monkeypatch, _cases()[case], suite)
    events = _client_flight_record_by_record(pair)
    err = both_ends(pair.client, pair.server, events, A.bad_record_mac, "record failed authentication")
    assert err.step == "waiting for the client's Finished (TLS 1.2)"
    assert not pair.server.handshake_complete
    return err


@pytest.mark.parametrize("suite", [RSA_KX, RSA_CBC], ids=["gcm", "cbc"])
@pytest.mark.parametrize("case", BAD_PRE_MASTERS, ids=BAD_PRE_MASTERS)
def test_bad_rsa_pre_master_secret_fails_only_at_finished_like_a_wrong_key(
    monkeypatch: pytest.MonkeyPatch, case: str, suite: CipherSuite
) -> None:
    err = _failure(monkeypatch, case, suite)
    reference = _failure(monkeypatch, "wrong-key", suite)
    # Nothing tells a bad padding, length or version from a wrong key: same alert, same words.
    assert (err.description, err.reason, err.step) == (reference.description, reference.reason, reference.step)


# -- renegotiation is refused, the connection goes on -----------------------------------------------


def _data_flows(pair: Pair) -> None:
    pair.client.send(b"still here?")
    assert pair.to_server() == [ApplicationData(b"still here?")]
    pair.server.send(b"yes")
    assert pair.to_client() == [ApplicationData(b"yes")]


def test_hello_request_gets_a_no_renegotiation_warning() -> None:
    # RFC 5246, Section 7.4.1.1: a client that does not renegotiate may answer with a warning.
    pair = connected12()
    inject(pair.server, HelloRequest())
    assert pair.to_client() == []
    assert not pair.client.closed
    events = pair.to_server()
    assert events == [AlertReceived(AlertLevel.warning, A.no_renegotiation)]
    assert not pair.server.closed
    _data_flows(pair)


def test_hello_request_with_a_body_is_decode_error() -> None:
    pair = connected12()
    inject(pair.server, HelloRequest())
    pair.server._hs_out[-1] = b"\x00\x00\x00\x01\x00"  # struct { } HelloRequest, one byte too many
    both_ends(pair.server, pair.client, pair.to_client(), A.decode_error, "hello_request header claims 1 bytes")


@pytest.mark.parametrize("before", [Certificate12, ServerHelloDone, NewSessionTicket12, Finished])
def test_hello_request_during_the_handshake_is_ignored(before: type[Handshake]) -> None:
    # RFC 5246, Section 7.4.1.1: a client that is negotiating ignores it, and it is not hashed.
    hello_request = HelloRequest().encode()
    pair = pair12(server_alter=once(before, lambda msg: hello_request + msg.raw))
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
    _data_flows(pair)


def test_client_hello_after_the_handshake_gets_a_no_renegotiation_warning() -> None:
    # RFC 5746, Section 4.4 / RFC 5246, Section 7.2.2: the server declines with a warning.
    pair = connected12()
    inject(pair.client, replace(pair.client.offered_hello))
    assert pair.to_server() == []
    assert not pair.server.closed
    assert pair.to_client() == [AlertReceived(AlertLevel.warning, A.no_renegotiation)]
    assert not pair.client.closed
    _data_flows(pair)


@pytest.mark.parametrize("to", ["server", "client"])
@pytest.mark.parametrize("description", [A.no_renegotiation, A.unrecognized_name, A.bad_certificate])
def test_warning_alert_does_not_close_a_tls12_connection(to: str, description: A) -> None:
    # RFC 5246, Section 7.2: only fatal alerts end a TLS 1.2 connection.
    pair = connected12()
    sender, leg = (pair.client, pair.to_server) if to == "server" else (pair.server, pair.to_client)
    inject_warning(sender, description)
    assert leg() == [AlertReceived(AlertLevel.warning, description)]
    assert not pair.client.closed and not pair.server.closed
    _data_flows(pair)


@pytest.mark.parametrize("to", ["server", "client"])
def test_fatal_alert_closes_a_tls12_connection(to: str) -> None:
    pair = connected12()
    sender, receiver = (pair.client, pair.server) if to == "server" else (pair.server, pair.client)
    sender._send_alert(AlertLevel.fatal, A.internal_error, "")  # as a failing peer would
    events = transfer(sender, receiver)
    assert events[0] == AlertReceived(AlertLevel.fatal, A.internal_error)
    assert isinstance(events[-1], ConnectionClosed) and isinstance(events[-1].error, PeerAlertError)
    assert receiver.closed


# -- ChangeCipherSpec and application data at the wrong time ----------------------------------------


def one_record_per_message(data: bytes) -> bytes:
    """A plaintext handshake flight with each message in a record of its own."""
    out = b""
    for record in split_records(data):
        if record[0] != 0x16:
            out += record
            continue
        body = record[5:]
        while body:
            size = 4 + int.from_bytes(body[1:4], "big")
            out += record[:3] + size.to_bytes(2, "big") + body[:size]
            body = body[size:]
    return out


def _server_flight_records(pair: Pair) -> list[bytes]:
    pair.to_server()
    return split_records(one_record_per_message(pair.server.data_to_send()))


@pytest.mark.parametrize("after", [1, 2, 3], ids=["after-ServerHello", "after-Certificate", "after-ServerKeyExchange"])
def test_ccs_inside_the_server_flight_is_unexpected_message(after: int) -> None:
    pair = pair12()
    records = _server_flight_records(pair)
    assert len(records) == 4  # ServerHello, Certificate, ServerKeyExchange, ServerHelloDone
    events = pair.client.receive_bytes(b"".join(records[:after]) + CCS)
    both_ends(pair.server, pair.client, events, A.unexpected_message, "change_cipher_spec")


def test_ccs_before_the_server_hello_to_a_client_offering_tls12_alone_is_unexpected_message() -> None:
    # RFC 8446, Section 5 drops a CCS after a hello offering TLS 1.3; one offering TLS 1.2 alone can only
    # lead to TLS 1.2, where a CCS before the key exchange is unexpected (RFC 5246, Section 7.1), as
    # OpenSSL and GnuTLS answer. (It was dropped, and the handshake went on.)
    pair = pair12()
    pair.to_server()
    events = pair.client.receive_bytes(CCS + pair.server.data_to_send())
    both_ends(pair.server, pair.client, events, A.unexpected_message, "change_cipher_spec record where none may appear")


def test_ccs_before_the_server_hello_to_a_client_offering_tls13_is_dropped() -> None:
    # The control: a hello offering TLS 1.3 (RFC 8446, Section 5), a handshake that settles on TLS 1.2.
    pair = pair12(client_kw={"tls_max": ProtocolVersion.TLSv1_3}, server_kw={"tls_max": V12})
    pair.to_server()
    pair.client.receive_bytes(CCS + pair.server.data_to_send())
    pair.to_server()
    pair.to_client()
    assert pair.client.handshake_complete and pair.server.handshake_complete
    assert pair.client.parameters is not None and pair.client.parameters.version == "TLSv1.2"


@pytest.mark.parametrize("retry", [True, False], ids=["HelloRetryRequest", "ServerHello"])
def test_a_tls13_answer_to_a_client_offering_tls12_alone_is_unsupported_extension(retry: bool) -> None:
    # Its hello has no supported_versions: one in the answer was not asked for (RFC 8446, Section 4.2;
    # RFC 5246, Section 7.4.1.4), as OpenSSL and GnuTLS answer. It was illegal_parameter for the
    # answer's TLS 1.3 suite "not offered for TLS 1.3", which the client never offered.
    pair = pair12()
    hello = decode_message(split_records(pair.client.data_to_send())[0][5:])
    assert isinstance(hello, ClientHello)
    kind = HelloRetryRequest if retry else ServerHello
    answer = kind(
        random=HRR_RANDOM if retry else bytes(32),
        legacy_session_id_echo=hello.legacy_session_id,
        cipher_suite=CipherSuite.TLS_AES_128_GCM_SHA256,
        extensions=(Extension.make(ExtensionType.supported_versions, ProtocolVersion.TLSv1_3, X.SH),),
    ).encode()
    events = pair.client.receive_bytes(b"\x16\x03\x03" + len(answer).to_bytes(2, "big") + answer)
    error = closed_with(pair.client, events, A.unsupported_extension, "the server answered with TLS 1.3")
    assert "not offered for TLS 1.3" not in error.reason


def test_an_unexpected_message_is_named_as_the_rfc_names_it_and_with_the_state() -> None:
    # Not the class ("Certificate12") nor the registry ("key_update"), and always with what was awaited.
    pair = pair12()
    records = _server_flight_records(pair)
    events = pair.client.receive_bytes(records[0] + records[1] + records[1])
    error = closed_with(pair.client, events, A.unexpected_message, "unexpected Certificate while waiting for")
    assert "Certificate12" not in error.reason
    pair = pair12()
    pair.to_server()
    pair.to_client()
    events = pair.server.receive_bytes(b"\x16\x03\x03\x00\x05\x18\x00\x00\x01\x00")  # a KeyUpdate: TLS 1.3's
    error = closed_with(pair.server, events, A.unexpected_message, "unexpected KeyUpdate while waiting for")
    assert "key_update" not in error.reason


def _record(msg: Handshake) -> bytes:
    raw = msg.encode()
    return b"\x16\x03\x03" + len(raw).to_bytes(2, "big") + raw


def test_an_unpromised_ticket_is_unexpected_message_and_says_so() -> None:
    # The alert was right and the note spoke of a missing ChangeCipherSpec (a state-machine review).
    pair = pair12(server_kw={"session_tickets": False})
    pair.to_server()
    pair.to_client()
    pair.to_server()
    events = pair.client.receive_bytes(_record(NewSessionTicket12(7200, b"ticket")) + pair.server.data_to_send())
    error = closed_with(pair.client, events, A.unexpected_message, "unexpected NewSessionTicket while waiting")
    assert "the ServerHello did not promise" in error.reason and "RFC 5077, Section 3.2" in error.reason


def test_a_certificate_after_a_resuming_server_hello_is_unexpected_message_and_says_so() -> None:
    pair = _with_session(connected12(server_kw={"session_tickets": False}))
    pair.to_server()
    server_hello = split_records(pair.server.data_to_send())[0]  # (the ChangeCipherSpec and Finished follow)
    certificate = _record(Certificate12(certificates=(b"\x30\x03\x02\x01\x01",)))  # (never read: out of place)
    events = pair.client.receive_bytes(server_hello + certificate)
    error = closed_with(pair.client, events, A.unexpected_message, "unexpected Certificate while waiting")
    assert "the ServerHello resumed a session" in error.reason and "ChangeCipherSpec belongs" not in error.reason


def test_ccs_before_client_key_exchange_is_unexpected_message() -> None:
    pair = pair12()
    pair.to_server()
    pair.to_client()
    events = pair.server.receive_bytes(CCS)
    both_ends(pair.client, pair.server, events, A.unexpected_message, "change_cipher_spec")


def test_ccs_twice_is_unexpected_message() -> None:
    pair = pair12()
    pair.to_server()
    pair.to_client()
    cke, ccs, _finished = split_records(pair.client.data_to_send())
    events = pair.server.receive_bytes(cke + ccs + CCS)
    both_ends(pair.client, pair.server, events, A.unexpected_message, "change_cipher_spec record where none may appear")


def test_finished_without_ccs_is_unexpected_message() -> None:
    # The client "forgets" its ChangeCipherSpec: its Finished arrives while the server waits for one.
    pair = pair12()
    pair.to_server()
    pair.to_client()
    cke, _ccs, _finished = split_records(pair.client.data_to_send())
    finished = Finished(verify_data=bytes(12)).encode()
    record = b"\x16\x03\x03" + len(finished).to_bytes(2, "big") + finished
    events = pair.server.receive_bytes(cke + record)
    both_ends(
        pair.client,
        pair.server,
        events,
        A.unexpected_message,
        "unexpected Finished",
        "client's ChangeCipherSpec belongs",
    )


@pytest.mark.parametrize("y", ["0 (one byte)", "1", "p-1", "p", "2^2048 (257 bytes)", "2^8192 (1025 bytes)"])
def test_a_dh_yc_out_of_range_is_handshake_failure(y: str) -> None:
    # RFC 7919, Section 4: a TLS 1.2 server MUST answer handshake_failure (found by a helper's review;
    # it was illegal_parameter, the TLS 1.3 key share's alert, while glasstls's client already said this),
    # whatever the value's length: one longer than p was still illegal_parameter (tlsfuzzer's
    # test-dhe-rsa-key-exchange-with-bad-messages sends these with one expected alert).
    p = kx.ffdhe_prime(NamedGroup.ffdhe2048)
    number, size = {
        "0 (one byte)": (0, 1),
        "1": (1, 256),
        "p-1": (p - 1, 256),
        "p": (p, 256),
        "2^2048 (257 bytes)": (1 << 2048, 257),
        "2^8192 (1025 bytes)": (1 << 8192, 1025),
    }[y]
    value = number.to_bytes(size, "big")
    body = len(value).to_bytes(2, "big") + value
    pair = pair12(suite=DHE, client_alter=once(ClientKeyExchange, lambda msg: ClientKeyExchange(body=body).encode()))
    sender, receiver, events = until_closed(pair)
    assert receiver is pair.server
    both_ends(sender, receiver, events, A.handshake_failure, "dh_Yc is outside [2, p-2] in ffdhe2048")


def test_a_dh_yc_with_leading_zero_bytes_past_the_length_of_p_is_taken_by_its_value() -> None:
    """A dh_Yc in range is the number, not its encoding: 2 with 300 bytes of leading zeros completes the
    handshake as 2 would (it is in [2, p-2]; the shared secret is then 2^x mod p, which the client, whose own
    Yc this is not, cannot match: the handshake ends at the first record under keys the two sides do not share)."""
    value = (2).to_bytes(300, "big")
    body = len(value).to_bytes(2, "big") + value
    pair = pair12(suite=DHE, client_alter=once(ClientKeyExchange, lambda msg: ClientKeyExchange(body=body).encode()))
    sender, receiver, events = until_closed(pair)
    assert receiver is pair.server
    assert pair.server.error is not None and pair.server.error.description == A.bad_record_mac


def test_a_server_certificate_on_a_curve_the_client_did_not_name_is_illegal_parameter() -> None:
    # RFC 8422, Section 5.3: the client names P-384 alone; the hello is changed on the wire to name
    # P-256, so the server signs with its P-256 certificate (BoGo's CheckLeafCurve; OpenSSL: "wrong
    # curve"). The client judges the certificate by what it offered itself. It was taken.
    p384 = NamedGroup.secp384r1.to_bytes(2, "big")

    def name_p256(msg: Handshake) -> bytes:
        groups = Extension(ExtensionType.supported_groups, b"\x00\x04" + NamedGroup.secp256r1.to_bytes(2, "big") + p384)
        exts = [groups if e.type == ExtensionType.supported_groups else e for e in msg.extensions]  # type: ignore[attr-defined]
        return replace(msg, extensions=tuple(exts)).encode()

    pair = pair12(client_kw={"groups": (NamedGroup.secp384r1,)}, client_alter=once(ClientHello, name_p256))
    assert pair.identity.private_key.curve.name == "secp256r1"  # type: ignore[union-attr]
    pair.to_server()
    both_ends(pair.server, pair.client, pair.to_client(), A.illegal_parameter, "did not name in supported_groups")


@pytest.mark.parametrize(("types", "sends_chain"), [((1,), False), ((64,), True), ((1, 64), True)])
def test_the_client_sends_a_certificate_only_of_a_type_the_request_lists(
    types: tuple[int, ...], sends_chain: bool
) -> None:
    # RFC 5246, Section 7.4.4: the client's key MUST be of a type certificate_types lists (rsa_sign 1,
    # ecdsa_sign 64, RFC 8422, Section 5.5); an ECDSA client given rsa_sign alone sends an empty
    # Certificate (found by a helper's review: the types were ignored, as OpenSSL ignores them).
    sent: list[Handshake] = []
    pick = once(CertificateRequest12, lambda msg: replace(msg, certificate_types=types).encode())
    pair = pair12(client_auth=True, server_alter=pick, client_alter=lambda msg: sent.append(msg))
    assert isinstance(pair.client_config.client_certificates[0].private_key, ec.EllipticCurvePrivateKey)
    pair.handshake()  # (a changed request fails the Finished later; the Certificate is what counts here)
    certificate = next(m for m in sent if isinstance(m, Certificate12))
    assert bool(certificate.certificates) == sends_chain


def _server_hello_with(ext_type: ExtensionType, body: bytes) -> Callable[[Handshake], bytes]:
    """The ServerHello with ``ext_type``'s body replaced (or the extension added, last)."""

    def alter(msg: Handshake) -> bytes:
        exts = [e for e in msg.extensions if e.type != ext_type]  # type: ignore[attr-defined]
        return replace(msg, extensions=(*exts, Extension(ext_type, body))).encode()

    return alter


def test_a_server_hello_whose_point_formats_lack_uncompressed_is_illegal_parameter() -> None:
    # RFC 8422, Section 5.2: the client MUST respect the server's point formats; without uncompressed
    # (0) there is none it may send (BoGo's PointFormat-Client-MissingUncompressed; OpenSSL refuses too).
    pair = pair12(server_alter=once(ServerHello, _server_hello_with(ExtensionType.ec_point_formats, b"\x01\x01")))
    pair.to_server()
    both_ends(pair.server, pair.client, pair.to_client(), A.illegal_parameter, "does not list uncompressed")


def test_supported_groups_in_a_tls12_server_hello_is_ignored() -> None:
    # Offered in the ClientHello, so RFC 5246, Section 7.4.1.4 lets it come back; OpenSSL and BoringSSL
    # ignore it (BoGo's SupportedCurves-ServerHello-TLS12). The ServerHello is changed on the wire,
    # so the handshake then fails on the Finished the changed transcript makes, not on the extension.
    groups = b"\x00\x02\x00\x1d"
    pair = pair12(server_alter=once(ServerHello, _server_hello_with(ExtensionType.supported_groups, groups)))
    pair.to_server()
    assert pair.to_client() == [] and not pair.client.closed  # past the ServerHello, its flight out
    events = pair.to_server()
    closed_with(pair.server, events, A.bad_record_mac)


def test_a_tls13_only_group_in_a_server_key_exchange_is_illegal_parameter() -> None:
    """draft-ietf-tls-ecdhe-mlkem: X25519MLKEM768 is TLS 1.3's alone. A client offering TLS 1.3 and 1.2
    names it in supported_groups; a TLS 1.2 server whose (validly signed) ServerKeyExchange picks it
    is refused with illegal_parameter (BoGo's ClientShouldNotAllowInTLS12-X25519MLKEM768). The client
    took it and failed with internal_error, building a ClientKeyExchange too long for its field."""
    seen: dict[str, bytes] = {}
    pair = pair12(client_kw={"tls_max": ProtocolVersion.TLSv1_3}, server_kw={"tls_max": V12})
    key = pair.identity.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)

    def alter(msg: Handshake) -> bytes | None:
        if isinstance(msg, ServerHello):
            seen["server_random"] = msg.random
        if not isinstance(msg, ServerKeyExchange):
            return None
        params = b"\x03" + NamedGroup.X25519MLKEM768.to_bytes(2, "big") + b"\x20" + bytes(range(32))
        signature = key.sign(
            pair.client.offered_hello.random + seen["server_random"] + params, ec.ECDSA(hashes.SHA256())
        )
        scheme = SignatureScheme.ecdsa_secp256r1_sha256.to_bytes(2, "big")
        return ServerKeyExchange(body=params + scheme + len(signature).to_bytes(2, "big") + signature).encode()

    pair.server.alter = alter
    assert NamedGroup.X25519MLKEM768 in pair.client.offered_hello.ext(ExtensionType.supported_groups).value
    pair.to_server()
    events = pair.to_client()
    both_ends(pair.server, pair.client, events, A.illegal_parameter, "X25519MLKEM768 for TLS 1.2")


def test_an_encrypted_finished_without_the_servers_ccs_is_unexpected_message_and_says_so() -> None:
    # The server leaves its ChangeCipherSpec out (TLS-Anvil's omitChangeCipherSpecEncryptedFinished):
    # its encrypted Finished is read as plaintext handshake bytes, whose explicit nonce of zeros reads
    # as HelloRequests (ignored while negotiating, RFC 5246, Section 7.4.1.1), then garbage.
    pair = pair12()
    pair.to_server()
    pair.to_client()
    pair.to_server()
    records = [r for r in split_records(pair.server.data_to_send()) if r[0] != ContentType.change_cipher_spec]
    events = pair.client.receive_bytes(b"".join(records))
    both_ends(pair.server, pair.client, events, A.unexpected_message, "where the server's ChangeCipherSpec belongs")


@pytest.mark.parametrize("to", ["server", "client"])
def test_ccs_after_the_handshake_is_unexpected_message(to: str) -> None:
    pair = connected12()
    receiver, sender = (pair.server, pair.client) if to == "server" else (pair.client, pair.server)
    events = receiver.receive_bytes(CCS)
    both_ends(sender, receiver, events, A.unexpected_message, "change_cipher_spec record where none may appear")


def test_malformed_ccs_is_refused() -> None:
    pair = pair12()
    pair.to_server()
    pair.to_client()
    cke, _ccs, _finished = split_records(pair.client.data_to_send())
    events = pair.server.receive_bytes(cke + b"\x14\x03\x03\x00\x01\x02")
    both_ends(pair.client, pair.server, events, A.unexpected_message, "change_cipher_spec")


@pytest.mark.parametrize("to", ["server", "client"])
def test_plaintext_application_data_before_the_keys_is_unexpected_message(to: str) -> None:
    pair = pair12()
    pair.to_server()
    early = b"\x17\x03\x03\x00\x05hello"
    if to == "server":
        pair.to_client()  # the server now waits for the client's flight
        events = pair.server.receive_bytes(early)
        both_ends(pair.client, pair.server, events, A.unexpected_message, "before keys were agreed")
    else:
        events = pair.client.receive_bytes(pair.server.data_to_send() + early)
        both_ends(pair.server, pair.client, events, A.unexpected_message, "before keys were agreed")


def sealed_application_data(conn: Connection, data: bytes) -> bytes:
    """An application_data record under ``conn``'s own TLS 1.2 write keys, sequence number 0,
    built from the Session12 its handshake state holds (test-only access)."""
    session = conn._state.s  # type: ignore[attr-defined]
    return session._protection(conn, conn.side).seal(ContentType.application_data, data)


def test_application_data_between_client_ccs_and_finished_is_unexpected_message() -> None:
    # It authenticates under the keys the CCS installed, but the client's Finished has not come.
    pair = pair12()
    pair.to_server()
    pair.to_client()
    cke, ccs, _finished = split_records(pair.client.data_to_send())
    events = pair.server.receive_bytes(cke + ccs + sealed_application_data(pair.client, b"early"))
    reason = "application data before the handshake completed"
    both_ends(pair.client, pair.server, events, A.unexpected_message, reason)


def test_application_data_between_server_ccs_and_finished_is_unexpected_message() -> None:
    pair = pair12()
    pair.to_server()
    pair.to_client()
    pair.to_server()
    ticket, ccs, _finished = split_records(pair.server.data_to_send())
    events = pair.client.receive_bytes(ticket + ccs + sealed_application_data(pair.server, b"early"))
    reason = "application data before the handshake completed"
    both_ends(pair.server, pair.client, events, A.unexpected_message, reason)


def test_application_data_sent_before_the_handshake_waits_for_it() -> None:
    # The other side of the rule: data the application sends early is held back, not sent.
    pair = pair12()
    pair.client.send(b"early")
    pair.handshake()
    assert pair.client.handshake_complete
    assert pair.to_server() == [ApplicationData(b"early")]


# -- property: nothing but an alert ever ends a TLS 1.2 connection ---------------------------------

# The messages of TLS 1.2 handshakes: (configuration, who sends, class, which one of that class).
_CONFIGS: dict[str, dict[str, Any]] = {
    "ecdhe": {},
    "dhe": {"suite": DHE},
    "rsa": {"suite": RSA_KX},
    "client-auth": {"client_auth": True, "suite": ECDHE_RSA},
}
_FLIGHTS = [
    *(
        (config, side, kind)
        for config in _CONFIGS
        for side, kind in [
            ("client", ClientHello),
            ("server", ServerHello),
            ("server", Certificate12),
            ("client", ClientKeyExchange),
            ("client", Finished),
            ("server", NewSessionTicket12),
            ("server", Finished),
        ]
    ),
    ("ecdhe", "server", ServerKeyExchange),
    ("dhe", "server", ServerKeyExchange),
    ("client-auth", "server", CertificateRequest12),
    ("client-auth", "client", Certificate12),
    ("client-auth", "client", CertificateVerify),
    ("ecdhe", "server", ServerHelloDone),
    ("resumed", "client", ClientHello),
    ("resumed", "server", ServerHello),
    ("resumed", "server", Finished),
    ("resumed", "client", Finished),
]


@functools.cache
def _resumable() -> Pair:
    return connected12()


def _fuzz_pair(config: str, side: str, alter: Any) -> Pair:
    if config == "resumed":
        return _with_session(_resumable(), **{f"{side}_alter": alter})
    return pair12(**{f"{side}_alter": alter}, **_CONFIGS[config])


def _only_alerts(pair: Pair, header_touched: bool) -> None:
    """Nothing completed on both sides, every close came from an alert, a stall only after a header changed."""
    assert not (pair.client.handshake_complete and pair.server.handshake_complete), pair.log
    for _side, events in pair.log:
        for e in events:
            if isinstance(e, ConnectionClosed):
                assert isinstance(e.error, PeerAlertError if e.by_peer else AlertError), e
                assert not isinstance(e.error, InternalError), e  # a bug, not the peer's fault
    if not (pair.client.closed or pair.server.closed):
        assert header_touched, pair.log


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(_FLIGHTS), data=st.data())
def test_flipping_any_byte_of_any_tls12_message_only_ever_alerts(which: tuple, data: st.DataObject) -> None:
    config, side, kind = which
    touched: list[bool] = []

    def alter(msg: Handshake) -> bytes:
        index = data.draw(st.integers(0, 1 << 16), label="index") % len(msg.raw)
        mask = data.draw(st.integers(1, 255), label="mask")
        # A length that claims more leaves the receiver waiting; so does an empty message
        # (ServerHelloDone) turned into a HelloRequest, which a negotiating client ignores.
        touched.append(1 <= index <= 3 or (index == 0 and msg.raw[0] ^ mask == 0 and len(msg.raw) == 4))
        return flip(msg.raw, index, mask)

    pair = _fuzz_pair(config, side, once(kind, alter))
    pair.handshake()  # raises if anything but an alert escapes receive_bytes
    assert touched, f"no {kind.__name__} was sent"
    _only_alerts(pair, header_touched=touched[0])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(_FLIGHTS), extra=st.binary(min_size=1, max_size=3))
def test_bytes_after_any_tls12_message_only_ever_alert(which: tuple, extra: bytes) -> None:
    """Stray bytes after a message begin another's header: a type the receiving state never reads
    is unexpected_message at once; only one it reads (a HelloRequest the client ignores while
    negotiating, or takes after) may wait for the rest. The handshake may complete before them
    (after the last Finished)."""
    config, side, kind = which
    pair = _fuzz_pair(config, side, once(kind, lambda msg: msg.raw + extra))
    pair.handshake()
    for _side, events in pair.log:
        for e in events:
            if isinstance(e, ConnectionClosed):
                assert isinstance(e.error, PeerAlertError if e.by_peer else AlertError), e
                assert not isinstance(e.error, InternalError), e
    if not (pair.client.closed or pair.server.closed):  # a stall: the receiver waits for the rest
        receiver = pair.server if side == "client" else pair.client
        assert receiver._state.takes(extra[0]), (extra, receiver._state, pair.log)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from([f for f in _FLIGHTS if f[2] is not ServerHelloDone]), data=st.data())
def test_truncating_any_tls12_message_only_ever_alerts(which: tuple, data: st.DataObject) -> None:
    config, side, kind = which
    sent: list[int] = []

    def alter(msg: Handshake) -> bytes:
        keep = data.draw(st.integers(0, 1 << 16), label="keep") % (len(msg.raw) - 4)
        sent.append(keep)
        return truncated(msg.raw, keep)

    pair = _fuzz_pair(config, side, once(kind, alter))
    pair.handshake()
    assert sent, f"no {kind.__name__} was sent"
    _only_alerts(pair, header_touched=False)
    assert pair.client.closed or pair.server.closed


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=st.sampled_from([*_CONFIGS, "resumed"]), leg=st.integers(0, 3), data=st.data())
def test_flipping_any_byte_of_any_tls12_record_only_ever_alerts(config: str, leg: int, data: st.DataObject) -> None:
    pair = _fuzz_pair(config, "client", None)
    legs = [(pair.client, pair.server), (pair.server, pair.client)] * 2
    for sender, receiver in legs[:leg]:
        pair.log.append((receiver.side, transfer(sender, receiver)))
    sender, receiver = legs[leg]
    records = split_records(sender.data_to_send())
    if not records:  # an abbreviated handshake has fewer legs
        return
    i = data.draw(st.integers(0, 1 << 8), label="record") % len(records)
    index = data.draw(st.integers(0, 1 << 16), label="index") % len(records[i])
    # The legacy_record_version of a plaintext record (handshake, ChangeCipherSpec) is not
    # checked; that of a protected one (after the sender's CCS) is authenticated (RFC 5246, Section 6.2.3.3).
    protected = receiver._records.read is not None or any(r[0] == ContentType.change_cipher_spec for r in records[:i])
    lengths = _length_bytes(records[i], protected)
    records[i] = flip(records[i], index, data.draw(st.integers(1, 255), label="mask"))
    pair.log.append((receiver.side, receiver.receive_bytes(b"".join(records))))
    pair.handshake()
    if index in (1, 2) and not protected and pair.client.handshake_complete and pair.server.handshake_complete:
        return
    _only_alerts(pair, header_touched=index in lengths)


def _length_bytes(record: bytes, protected: bool) -> set[int]:
    """Where lengths sit in ``record``: its own, and those of the handshake messages in a plaintext
    one (and the type of an empty message, which may become an ignored HelloRequest). Changing
    one can leave the receiver waiting for bytes that never come."""
    where = {3, 4}
    pos = 5
    while not protected and record[0] == ContentType.handshake and pos + 4 <= len(record):
        size = int.from_bytes(record[pos + 1 : pos + 4], "big")
        where |= {pos + 1, pos + 2, pos + 3} | ({pos} if size == 0 else set())
        pos += 4 + size
    return where


def test_a_peer_that_ends_the_connection_after_our_no_renegotiation_is_diagnosed_as_such() -> None:
    """openssl s_server's "R", Node's renegotiate(): the server asks, the client declines with a
    warning, the server ends the connection with handshake_failure. The diagnosis says that, not
    that the server found nothing acceptable in the ClientHello."""
    from glasstls import EventList
    from glasstls.trace.diagnose import diagnose

    log = EventList()
    pair = connected12()
    pair.client._observer = log  # from here on, as the CLI's recorder keeps alerts after the handshake
    inject(pair.server, HelloRequest())
    pair.to_client()
    pair.to_server()
    pair.server._send_alert(AlertLevel.fatal, A.handshake_failure, "")  # what OpenSSL's server answers
    pair.to_client()
    assert pair.client.error is not None
    text = diagnose(pair.client.error, log.events, side="client")
    assert "asked to renegotiate" in text and "no_renegotiation" in text, text
    assert "nothing acceptable in the ClientHello" not in text, text


def test_a_warning_alert_is_explained_as_news_not_an_ending() -> None:
    """RFC 5246, Section 7.2: a TLS 1.2 warning does not end the connection, and --explain says so
    (an old server's unrecognized_name, our own no_renegotiation)."""
    from glasstls import EventList
    from glasstls.trace.text import render_text

    log = EventList()
    pair = make_pair(client_observer=log, client_kw={"tls_max": V12})
    pair.handshake()
    inject_warning(pair.server, A.unrecognized_name)
    pair.to_client()
    inject(pair.server, HelloRequest())
    pair.to_client()  # the client answers with its own no_renegotiation warning
    text = render_text(log.events, explain=True, width=1000)
    assert "The server sent a warning unrecognized_name alert" in text, text
    assert "The client sends a warning no_renegotiation alert" in text, text
    assert "A warning does not end a TLS 1.2 connection" in text
    assert "ended the connection with a warning" not in text and "ends the connection with a warning" not in text
    assert "the server asks the client to renegotiate" in text  # the HelloRequest has words of its own


def test_a_renegotiating_client_hello_is_explained_as_such() -> None:
    from glasstls import EventList
    from glasstls.trace.text import render_text

    log = EventList()
    pair = make_pair(server_observer=log, client_kw={"tls_max": V12})
    pair.handshake()
    inject(pair.client, replace(pair.client.offered_hello))
    pair.to_server()
    text = render_text(log.events, explain=True, width=1000)
    assert "the client asks to renegotiate" in text, text
    assert text.count("opens the handshake, in the clear") == 1  # the first ClientHello only
