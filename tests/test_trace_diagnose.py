"""Failure diagnosis (glasstls.trace.diagnose) and the explanation of failures.

A failed handshake, on either side, must come with the step, the alert, the
precise reason glasstls found (or, on the side that only received the alert,
what the trace shows) and the likely fix. The failures are real ones between
two in-memory glasstls peers, each side traced.
"""

from __future__ import annotations

from typing import Any

import pytest

from glasstls import (
    CipherSuite,
    ClientConfig,
    ClientConnection,
    ExternalPsk,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    ServerConfig,
    ServerConnection,
)
from glasstls.enums import HandshakeType
from glasstls.errors import AlertError, TLSError
from glasstls.observe import EventList
from glasstls.trace.diagnose import FailureRecorder, diagnose, find_diagnosis
from glasstls.trace.text import render_text
from glasstls.wire.handshake import Finished
from glasstls.wire.handshake12 import ClientKeyExchange
from glasstls.x509.store import TrustStore
from pairs import Pair, default_ca, flip, make_pair, once, other_ca, with_body

V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
OTHER_ROOT = other_ca().root_pem()


class Failed:
    def __init__(self, **kw: Any) -> None:
        self.client_log, self.server_log = EventList(), EventList()
        self.pair: Pair = make_pair(client_observer=self.client_log, server_observer=self.server_log, **kw)
        for _ in range(6):  # until both sides have given up (the alert reaches the other side too)
            self.pair.to_server()
            self.pair.to_client()
        assert self.pair.client.error is not None and self.pair.server.error is not None

    def client(self) -> str:
        return diagnose(self.pair.client.error, self.client_log.events)

    def server(self) -> str:
        return diagnose(self.pair.server.error, self.server_log.events)


def test_unknown_ca_on_the_client() -> None:
    f = Failed(trust=other_ca())
    text = f.client()
    assert text.startswith("diagnosis: the handshake failed on the client while waiting for the server's Certificate")
    assert "last message: < CompressedCertificate (received)" in text  # RFC 8879: the client offered it
    assert "alert:        unknown_ca (48), sent by the client" in text
    assert "reason:       issuer CN=glasstls throwaway root is not trusted" in text
    assert "likely fix:   pass --cacert FILE with the CA certificate that issued the server's certificate" in text
    # The server only got the alert: its diagnosis says what the client needs.
    text = f.server()
    assert "alert:        unknown_ca (48), received from the client" in text
    assert "the peer did not say" in text
    assert "the client does not trust this server's certificate" in text and "--cacert" in text


def test_wrong_host_on_the_client() -> None:
    f = Failed(server_name="example.com")
    text = f.client()
    assert "alert:        bad_certificate (42), sent by the client" in text
    assert "reason:       certificate is for localhost, not example.com" in text
    assert "in words:     the server's certificate names localhost, not example.com" in text
    assert "likely fix:   connect with --servername set to a name the certificate holds (localhost)" in text
    text = f.server()
    assert "bad_certificate (42), received from the client" in text
    assert "(SNI: example.com; the certificate names: localhost)" in text


def test_no_common_cipher_suite_on_the_server() -> None:
    f = Failed(
        client_kw={"cipher_suites": (CipherSuite.TLS_AES_256_GCM_SHA384,)},
        server_kw={"cipher_suites": (CipherSuite.TLS_AES_128_GCM_SHA256,)},
    )
    text = f.server()
    assert text.startswith("diagnosis: the handshake failed on the server while waiting for ClientHello")
    assert "alert:        handshake_failure (40), sent by the server" in text
    assert "reason:       no common cipher suite: client offered TLS_AES_256_GCM_SHA384, server accepts" in text
    assert "likely fix:   align the cipher suites: give --ciphers a suite the other side accepts" in text
    text = f.client()
    assert "handshake_failure (40), received from the server" in text
    assert "compare --ciphers / --groups" in text


def test_no_common_tls12_suite_on_the_server() -> None:
    f = Failed(
        client_kw={"tls_max": V12, "cipher_suites": (CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,)},
        server_kw={"cipher_suites": (CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,)},
    )
    assert "align the cipher suites" in f.server()


@pytest.mark.parametrize(
    ("kw", "side", "needles"),
    [
        (
            {"client_kw": {"tls_min": V13}, "server_kw": {"tls_max": V12}},
            "server",
            ["protocol_version (70), sent by the server", "--tls-min / --tls-max"],
        ),
        (
            {"client_kw": {"alpn": ("h2",)}, "server_kw": {"alpn": ("http/1.1",)}},
            "server",
            ["no_application_protocol (120)", "--alpn"],
        ),
        (
            {"server_kw": {"client_auth": "required", "client_trust_store": TrustStore.from_pem(OTHER_ROOT)}},
            "client",
            ["certificate_required (116), received from the server", "--cert FILE --key FILE"],
        ),
    ],
)
def test_other_failures(kw: dict, side: str, needles: list[str]) -> None:
    f = Failed(**kw)
    text = f.client() if side == "client" else f.server()
    for needle in needles:
        assert needle in text


def test_finished_that_does_not_match() -> None:
    def bad_finished(msg: Any) -> bytes:
        return with_body(msg.raw, flip(msg.raw[4:], 0))

    f = Failed(client_kw={"tls_max": V12}, client_alter=once(Finished, bad_finished))
    text = f.server()
    assert "decrypt_error (51), sent by the server" in text
    assert "client Finished does not match the transcript" in text
    assert "computed different keys" in text and "tampering" in text


def test_a_closed_connection_without_alert() -> None:
    text = diagnose(TLSError("the server closed the connection while waiting for ServerHello"), side="client")
    assert "diagnosis: the handshake failed on the client" in text
    assert "ended without an alert" in text


def test_structured_diagnosis_and_recorder() -> None:
    recorder = FailureRecorder()
    pair = make_pair(server_name="example.com", client_observer=recorder)
    pair.handshake()
    d = find_diagnosis(pair.client.error, recorder.events)
    assert (d.side, d.alert, d.alert_code, d.origin) == ("client", "bad_certificate", 42, "local")
    assert isinstance(pair.client.error, AlertError) and d.reason == pair.client.error.reason
    assert d.verification == "CN=localhost: certificate is for localhost, not example.com"


def test_recorder_keeps_little_after_the_handshake() -> None:
    recorder = FailureRecorder()
    pair = make_pair(client_observer=recorder)
    pair.handshake()
    count = len(recorder.events)
    for _ in range(20):
        pair.client.send(b"x" * 100)
        pair.to_server()
    assert len(recorder.events) == count


def test_a_bound_hit_after_the_handshake_is_diagnosed_as_the_bound_on_the_message_that_hit_it() -> None:
    # A flood of KeyUpdates: each legal, too many (Limits.max_key_updates). The diagnosis called it "a
    # message out of the protocol's order" and named the last handshake message (a long-lived helper's review).
    recorder = FailureRecorder()
    pair = make_pair(server_observer=recorder)
    pair.handshake()
    for _ in range(40):
        pair.client.update_keys()
        pair.to_server()
        if pair.server.closed:
            break
    d = find_diagnosis(pair.server.error, recorder.events)
    assert "Limits.max_key_updates" in d.reason and d.alert == "unexpected_message"
    assert d.last_message == "< KeyUpdate (received)"
    assert "a bound glasstls keeps on what a peer may make it spend (Limits.max_key_updates)" in d.fix
    assert "limits=Limits(max_key_updates=...)" in d.fix and "out of the protocol's order" not in d.fix
    messages = [e for e in recorder.events if e.kind == "message"]
    assert sum(1 for m in messages if m.message.msg_type == HandshakeType.key_update) == 1  # the latest alone


def test_explain_says_why_the_certificate_was_refused() -> None:
    f = Failed(server_name="example.com")
    text = render_text(f.client_log.events, explain=True, width=1000)
    assert "client ! rejected CN=localhost: certificate is for localhost, not example.com" in text
    assert "the server's certificate names localhost, not example.com" in text
    assert "client > Alert: fatal bad_certificate (42): certificate is for localhost, not example.com" in text
    text = render_text(f.server_log.events, explain=True, width=1000)
    assert "The client ended the connection with a fatal bad_certificate alert" in text


def test_explain_unknown_ca_names_the_ca() -> None:
    f = Failed(trust=other_ca())
    text = render_text(f.client_log.events, explain=True, width=1000)
    assert "The client rejects the server's credentials (CN=localhost): issuer CN=glasstls throwaway root" in text
    assert default_ca() is not other_ca()


def test_a_failure_after_the_handshake_is_the_connections() -> None:
    """A record that fails authentication once the handshake is done: the connection failed, not the
    handshake (which the diagnosis said before)."""
    client_log, server_log = EventList(), EventList()
    pair = make_pair(client_observer=client_log, server_observer=server_log)
    pair.handshake()
    pair.client.send(b"some data")
    record = bytearray(pair.client.data_to_send())
    record[-1] ^= 1
    pair.server.receive_bytes(bytes(record))
    assert pair.server.error is not None
    text = diagnose(pair.server.error, server_log.events)
    assert text.startswith("diagnosis: the connection failed on the server while exchanging application data"), text
    assert "bad_record_mac (20), sent by the server" in text


def test_external_psk_without_a_common_mode_names_the_psk_options() -> None:
    """A PSK-only server and a client whose --psk-modes share nothing with it: neither side's
    likely fix is about a saved session (there is none)."""
    psk = ExternalPsk(b"alice", bytes(32))
    client_log, server_log = EventList(), EventList()
    client = ClientConnection(
        ClientConfig(psk=psk, psk_modes=(PskKeyExchangeMode.psk_ke,)), server_name="localhost", observer=client_log
    )
    server_config = ServerConfig(certificates=(), psks=(psk,), tls_min=ProtocolVersion.TLSv1_3)
    server = ServerConnection(server_config, observer=server_log)
    for _ in range(3):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
    assert client.error is not None and server.error is not None
    client_text = diagnose(client.error, client_log.events)
    server_text = diagnose(server.error, server_log.events)
    assert "unknown_psk_identity (115), received from the server" in client_text
    assert "--psk-identity, --psk-key, --psk-hash or --psk-modes" in client_text
    assert "unknown_psk_identity (115), sent by the server" in server_text
    assert "no PSK key exchange mode in common (client: psk_ke)" in server_text
    assert "a --psk-modes in common" in server_text and "--session-in" not in server_text


@pytest.mark.parametrize(
    ("client_kw", "why"),
    [
        # The server's ECDSA certificate is on P-256; the client names only P-384 (RFC 8422, 5.1).
        ({"groups": (NamedGroup.secp384r1,)}, "ECDSA certificate is on secp256r1, which the client's supported_groups"),
        # An RSA suite only: this server has an ECDSA certificate alone.
        (
            {"cipher_suites": (CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,)},
            "needs an RSA certificate, which this server lacks",
        ),
    ],
)
def test_a_tls12_refusal_says_why_a_shared_suite_could_not_be_served(client_kw: dict, why: str) -> None:
    suites = (CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
    f = Failed(client_kw={"tls_max": V12, "cipher_suites": suites, **client_kw}, server_kw={"cipher_suites": suites})
    assert f.pair.server.error is not None and why in f.pair.server.error.reason, f.pair.server.error


def test_an_rsa_pre_master_secret_that_does_not_decrypt_is_named_on_the_server() -> None:
    """A ROBOT probe, as testssl.sh sends five of them: the client's encrypted pre-master secret altered in
    transit. The server goes on with a random one (RFC 5246, Section 7.4.7.1), so the first sign is the
    client's Finished failing authentication; the diagnosis names the pre-master secret, not a middlebox."""
    rsa = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
    alter = once(ClientKeyExchange, lambda m: flip(m.raw, len(m.raw) - 1))  # the last byte of the ciphertext
    f = Failed(
        identity=default_ca().issue_server(["localhost"], key_type="rsa2048"),
        client_alter=alter,
        client_kw={"cipher_suites": (rsa,), "tls_max": V12},
        server_kw={"cipher_suites": (rsa,)},
    )
    text = f.server()
    assert "alert:        bad_record_mac (20), sent by the server" in text, text
    assert "likely fix:   with RSA key exchange, the client's encrypted pre-master secret did not decrypt" in text
    assert "ROBOT" in text and "middlebox" not in text, text


@pytest.mark.parametrize("who", ["client", "server"])
def test_a_canceled_handshake_says_who_gave_up(who: str) -> None:
    """user_canceled (RFC 8446, Section 6.1), as a server shutting down sends it: the diagnosis said only
    "the peer's log says why"; it now says the peer gave up on purpose, and what that usually is."""
    client_log, server_log = EventList(), EventList()
    tls12 = {"tls_max": ProtocolVersion.TLSv1_2}  # (in TLS 1.3 the server's flight ends with its Finished)
    pair = make_pair(client_observer=client_log, server_observer=server_log, client_kw=tls12)
    pair.to_server()  # the ClientHello; the server's flight is ready
    if who == "client":
        canceling, other, log = pair.client, pair.server, server_log
    else:
        canceling, other, log = pair.server, pair.client, client_log
    canceling.close()
    other.receive_bytes(canceling.data_to_send())
    assert other.error is not None
    text = diagnose(other.error, log.events)
    assert f"alert:        user_canceled (90), received from the {who}" in text, text
    assert f"likely fix:   the {who} canceled the handshake" in text, text
