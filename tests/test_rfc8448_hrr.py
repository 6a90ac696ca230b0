"""Known answers: RFC 8448, Section 5 (HelloRetryRequest) byte for byte.

The client offers an x25519 share; the server prefers P-256 and sends a HelloRetryRequest
with a cookie; the client answers with a P-256 share and the cookie. Every value comes from
the RFC text (../shared/rfc/rfc8448.txt, read by tests/rfc8448_trace.py):

- the key schedule: every HKDF step; the transcript after the retry, which starts with
  message_hash(ClientHello1) (RFC 8446, Section 4.4.1), against the hashes the RFC shows;
- the client: a glasstls ClientConnection given the RFC's x25519 key, random and P-256 scalar
  sends the RFC's first ClientHello, answers the RFC's HelloRetryRequest with the RFC's second
  ClientHello (cookie echoed, padded to 512 bytes as the RFC's NSS client does: RFC 7685),
  derives the RFC's secrets and sends the RFC's Finished and close_notify records;
- the server: a glasstls ServerConnection preferring secp256r1, stateless (its HRR carries a
  cookie), given the RFC's P-256 scalar, random and RSA-PSS salt, sends the RFC's
  HelloRetryRequest, ServerHello and encrypted flight, then its close_notify.

What the server is given beyond keys and randoms: the cookie. It is the RFC server's own
opaque format, which no other server reproduces, so the test's cookie sealer (_RfcCookieSealer)
returns the RFC's 114 cookie bytes from seal() after checking that glasstls sealed
Hash(ClientHello1), TLS_AES_128_GCM_SHA256 and secp256r1, and gives those contents back from
open() when the second ClientHello echoes the same 114 bytes. Everything else is glasstls's.

glasstls's extension order differs from the RFC's NSS (the cookie's place in the second
ClientHello, the HelloRetryRequest's), so both sides are given the RFC's order through
Dangerous.hello_extension_order, and the client ClientConfig.client_hello_padding.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from glasstls import (
    AlertReceived,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    Dangerous,
    EventList,
    HandshakeComplete,
    ServerConnection,
)
from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.rand import ReplayRandomness, system_randomness
from glasstls.crypto.transcript import Transcript
from glasstls.enums import AlertDescription, AlertLevel, CipherSuite, NamedGroup, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.session.cookie import NOT_AUTHENTIC, CookieContents, CookieSealer
from glasstls.wire.handshake import HelloRetryRequest, decode_message
from rfc8448_replay import SERVER_CV, check_hkdf_steps, message_hash, recover_pss_salt, th
from rfc8448_trace import Trace, load_rfc8448_section, rfc_path
from test_rfc8448 import RFC_SIGNATURE_SCHEMES, SUITE, _feed, _secrets, rfc_certificate_der, rfc_server_config

H = SUITE.hash_name
C = "{client}"
S = "{server}"

CLIENT_GROUPS = (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1)  # the ClientHellos' list
SERVER_GROUPS = (NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.x25519)  # the EncryptedExtensions'
# The RFC's extension orders: the second ClientHello has the cookie after signature_algorithms
# (and padding last), the HelloRetryRequest key_share, cookie, supported_versions.
CLIENT_ORDER = (
    E.server_name, E.renegotiation_info, E.supported_groups, E.key_share, E.early_data,
    E.supported_versions, E.signature_algorithms, E.cookie, E.psk_key_exchange_modes, E.record_size_limit,
)  # fmt: skip
HRR_ORDER = (E.key_share, E.cookie, E.supported_versions)


@pytest.fixture(scope="module")
def trace() -> Trace:
    if not rfc_path("rfc8448.txt").exists():
        pytest.skip(f"RFC 8448 text not found at {rfc_path('rfc8448.txt')} (the shared/rfc folder beside the repo)")
    return load_rfc8448_section(5, "HelloRetryRequest", "6.  Client Authentication")


def client_hello(trace: Trace, index: int) -> bytes:
    return trace.block(f"{C}  construct a ClientHello handshake message", "ClientHello", index)


def server_hello(trace: Trace, index: int) -> bytes:
    """#0 is the HelloRetryRequest (the RFC labels it ServerHello: the same message type)."""
    return trace.block(f"{S}  construct a ServerHello handshake message", "ServerHello", index)


def message(trace: Trace, who: str, name: str) -> bytes:
    article = "an" if name[0] in "AEIOU" else "a"
    return trace.block(f"{who}  construct {article} {name} handshake message", name)


def record(trace: Trace, who: str, what: str, index: int = 0) -> bytes:
    return trace.block(f"{who}  send {what} record", "complete record", index)


def secret(trace: Trace, label: str) -> bytes:
    return trace.block(f'{S}  derive secret "tls13 {label}"', "expanded")


def p256_scalar(trace: Trace, who: str) -> int:
    return int.from_bytes(trace.block(f"{who}  create an ephemeral P-256 key pair", "private key"), "big")


def p256_replay_bytes(trace: Trace, who: str) -> bytes:
    """What glasstls's replay path (kx._scalar_from: bytes mod (n-1), plus 1) turns into the RFC's scalar."""
    return (p256_scalar(trace, who) - 1).to_bytes(32, "big")


def rfc_cookie(trace: Trace) -> bytes:
    hrr = decode_message(server_hello(trace, 0))
    assert isinstance(hrr, HelloRetryRequest)
    cookie = hrr.ext(E.cookie)
    assert cookie is not None
    value: bytes = cookie.value
    return value


def flight(trace: Trace) -> list[bytes]:
    """ClientHello1 .. the client's Finished, as the transcript has them (message_hash aside)."""
    return [
        client_hello(trace, 0), server_hello(trace, 0), client_hello(trace, 1), server_hello(trace, 1),
        *(message(trace, S, n) for n in ("EncryptedExtensions", "Certificate", "CertificateVerify", "Finished")),
        message(trace, C, "Finished"),
    ]  # fmt: skip


# ---------------------------------------------------------------------------
# The trace, the key schedule and the transcript
# ---------------------------------------------------------------------------


def test_trace_is_self_consistent(trace: Trace) -> None:
    assert record(trace, C, "handshake", 0) == b"\x16\x03\x01\x00\xb4" + client_hello(trace, 0)
    assert record(trace, S, "handshake", 0) == b"\x16\x03\x03\x00\xb0" + server_hello(trace, 0)
    # The second ClientHello goes out in a record of version 0x0303 (RFC 8446, Section 5.1).
    assert record(trace, C, "handshake", 1) == b"\x16\x03\x03\x02\x00" + client_hello(trace, 1)
    assert record(trace, S, "handshake", 1) == b"\x16\x03\x03\x00\x7b" + server_hello(trace, 1)
    encrypted = b"".join(flight(trace)[4:8])
    assert encrypted == trace.block(f"{S}  send handshake record", "payload", 2)
    assert server_hello(trace, 0)[6:38] == HelloRetryRequest.random  # RFC 8446, Section 4.1.3
    assert rfc_cookie(trace) and len(rfc_cookie(trace)) == 114


def test_every_hkdf_step(trace: Trace) -> None:
    # 3 extracts; 3 "derived" (the client's first shown too); c/s hs, c/s ap, exp master, res
    # master; 2 finished; 4 key/iv pairs (server hs and ap write, server hs read, client ap write)
    assert check_hkdf_steps(trace, SUITE) == 18


def test_the_ephemeral_keys(trace: Trace) -> None:
    """The RFC's key pairs, and the P-256 shared secret the handshake secret is extracted from."""
    step = trace.step(f"{C}  create an ephemeral x25519 key pair")
    public = x25519.X25519PrivateKey.from_private_bytes(step["private key"]).public_key()
    assert public.public_bytes(Encoding.Raw, PublicFormat.Raw) == step["public key"]
    keys = {}
    for who in (C, S):
        private = ec.derive_private_key(p256_scalar(trace, who), ec.SECP256R1())
        point = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        assert point == trace.block(f"{who}  create an ephemeral P-256 key pair", "public key"), who
        keys[who] = private
    shared = keys[C].exchange(ec.ECDH(), keys[S].public_key())
    assert shared == trace.block(f'{S}  extract secret "handshake"', "IKM")


def test_message_hash_transcript(trace: Trace) -> None:
    """RFC 8446, Section 4.4.1: after a HelloRetryRequest the transcript begins with
    message_hash = 254 || 00 00 Hash.length || Hash(ClientHello1); the RFC's hashes agree,
    and so does glasstls's Transcript."""
    msgs = flight(trace)
    synthetic = message_hash(H, msgs[0])
    assert synthetic[:4] == b"\xfe\x00\x00\x20"
    after_hello = th(H, synthetic, *msgs[1:4])
    assert after_hello == trace.block(f'{S}  derive secret "tls13 c hs traffic"', "hash")
    assert after_hello == trace.block(f'{S}  derive secret "tls13 s hs traffic"', "hash")
    assert th(H, *msgs[:4]) != after_hello  # the plain concatenation is not the transcript
    after_server_finished = th(H, synthetic, *msgs[1:8])
    assert after_server_finished == trace.block(f'{S}  derive secret "tls13 c ap traffic"', "hash")
    assert th(H, synthetic, *msgs[1:9]) == trace.block(f'{C}  derive secret "tls13 res master"', "hash")

    transcript = Transcript()
    transcript.start(H)
    transcript.add(msgs[0])
    transcript.replace_with_message_hash()
    for msg in msgs[1:4]:
        transcript.add(msg)
    assert transcript.digest() == after_hello
    stateless = Transcript()  # what a stateless server rebuilds from the cookie's Hash(ClientHello1)
    stateless.start(H)
    stateless.add_message_hash(th(H, msgs[0]))
    for msg in msgs[1:4]:
        stateless.add(msg)
    assert stateless.digest() == after_hello


def test_key_schedule_stages(trace: Trace) -> None:
    msgs = flight(trace)
    synthetic = message_hash(H, msgs[0])
    early = ks.EarlySecret(SUITE)
    assert early.secret == trace.block(f'{S}  extract secret "early"', "secret")
    hs = early.handshake_stage(trace.block(f'{S}  extract secret "handshake"', "IKM"))
    assert hs.secret == trace.block(f'{S}  extract secret "handshake"', "secret")
    th_hello = th(H, synthetic, *msgs[1:4])
    c_hs, s_hs = hs.client_handshake_traffic_secret(th_hello), hs.server_handshake_traffic_secret(th_hello)
    assert (c_hs, s_hs) == (secret(trace, "c hs traffic"), secret(trace, "s hs traffic"))
    master = hs.master_stage()
    assert master.secret == trace.block(f'{S}  extract secret "master"', "secret")
    th_server_fin = th(H, synthetic, *msgs[1:8])
    assert master.client_application_traffic_secret(th_server_fin) == secret(trace, "c ap traffic")
    assert master.server_application_traffic_secret(th_server_fin) == secret(trace, "s ap traffic")
    assert master.exporter_master_secret(th_server_fin) == secret(trace, "exp master")
    res = master.resumption_master_secret(th(H, synthetic, *msgs[1:9]))
    assert res == trace.block(f'{C}  derive secret "tls13 res master"', "expanded")
    # Finished (RFC 8446, Section 4.4.4) over the transcript with message_hash.
    server_fin = trace.step(f'{S}  calculate finished "tls13 finished"')
    assert ks.finished_verify_data(SUITE, s_hs, th(H, synthetic, *msgs[1:7])) == server_fin["finished"]
    assert msgs[7][4:] == server_fin["finished"]
    client_fin = trace.step(f'{C}  calculate finished "tls13 finished"')
    assert ks.finished_verify_data(SUITE, c_hs, th_server_fin) == client_fin["finished"]
    assert msgs[8][4:] == client_fin["finished"]


# ---------------------------------------------------------------------------
# The client, replayed
# ---------------------------------------------------------------------------


def rfc_client_config() -> ClientConfig:
    return ClientConfig(
        cipher_suites=(
            CipherSuite.TLS_AES_128_GCM_SHA256,
            CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
            CipherSuite.TLS_AES_256_GCM_SHA384,
        ),
        groups=CLIENT_GROUPS,
        key_share_groups=(NamedGroup.x25519,),
        tls_min=ProtocolVersion.TLSv1_3,
        middlebox_compat=False,  # empty legacy_session_id, no change_cipher_spec
        record_size_limit=(1 << 14) + 1,
        session_tickets=False,  # Section 5's ClientHellos carry no session_ticket
        certificate_compression=(),
        client_hello_padding=True,  # the second ClientHello: 333 bytes padded to 512 (RFC 7685)
        dangerous=Dangerous(
            skip_server_verification=True,  # RSA-1024, self-signed CN=rsa
            advertised_signature_schemes=RFC_SIGNATURE_SCHEMES,
            hello_extension_order=CLIENT_ORDER,
        ),
    )


def new_client(trace: Trace, observer: EventList | None = None) -> ClientConnection:
    x25519_private = trace.block(f"{C}  create an ephemeral x25519 key pair", "private key")
    # The first hello draws its x25519 key, then its random; the answer to the HRR its P-256 key.
    randomness = ReplayRandomness(x25519_private, client_hello(trace, 0)[6:38], p256_replay_bytes(trace, C))
    return ClientConnection(rfc_client_config(), server_name="server", randomness=randomness, observer=observer)


@pytest.mark.parametrize("chunking", ["per-record", "bytewise"])
def test_client_replay(trace: Trace, chunking: str) -> None:
    observer = EventList(wants_secrets=True)
    conn = new_client(trace, observer)
    assert conn.data_to_send() == record(trace, C, "handshake", 0)  # ClientHello1: x25519, no padding

    assert _feed(conn, record(trace, S, "handshake", 0), chunking) == []  # the HelloRetryRequest
    assert conn.error is None, conn.error
    assert conn.data_to_send() == record(trace, C, "handshake", 1)  # ClientHello2: P-256, cookie, padding

    events = _feed(conn, record(trace, S, "handshake", 1) + record(trace, S, "handshake", 2), chunking)
    assert conn.error is None, conn.error
    complete = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(complete) == 1
    params = complete[0].parameters
    assert (params.cipher_suite, params.group, params.signature_scheme) == (
        "TLS_AES_128_GCM_SHA256",
        "secp256r1",
        "rsa_pss_rsae_sha256",
    )
    assert conn.data_to_send() == record(trace, C, "handshake", 2)  # {Finished}

    secrets = _secrets(observer)
    assert secrets["handshake_secret"] == trace.block(f'{S}  extract secret "handshake"', "secret")
    assert secrets["master_secret"] == trace.block(f'{S}  extract secret "master"', "secret")
    for label, name in (
        ("c hs traffic", "client_handshake_traffic_secret"),
        ("s hs traffic", "server_handshake_traffic_secret"),
        ("c ap traffic", "client_application_traffic_secret_0"),
        ("s ap traffic", "server_application_traffic_secret_0"),
        ("exp master", "exporter_master_secret"),
    ):
        assert secrets[name] == secret(trace, label), label
    resumption = getattr(conn._state, "resumption_secret", None)
    assert resumption == trace.block(f'{C}  derive secret "tls13 res master"', "expanded")

    # close_notify both ways (RFC 8446, Section 6.1), the first records under the application keys.
    conn.close()
    assert conn.data_to_send() == record(trace, C, "alert")
    events = _feed(conn, record(trace, S, "alert"), chunking)
    assert AlertReceived(AlertLevel.warning, AlertDescription.close_notify) in events
    assert any(isinstance(e, ConnectionClosed) and e.error is None for e in events)
    assert conn.closed and conn.error is None


def test_client_default_order_differs_only_in_order(trace: Trace) -> None:
    """Without the RFC's order the second ClientHello has the same extensions, the cookie
    right behind key_share (glasstls's place): the knob changes the order, nothing else."""
    unordered = Dangerous(skip_server_verification=True, advertised_signature_schemes=RFC_SIGNATURE_SCHEMES)
    plain = replace(rfc_client_config(), dangerous=unordered)
    x25519_private = trace.block(f"{C}  create an ephemeral x25519 key pair", "private key")
    randomness = ReplayRandomness(x25519_private, client_hello(trace, 0)[6:38], p256_replay_bytes(trace, C))
    conn = ClientConnection(plain, server_name="server", randomness=randomness)
    assert conn.data_to_send() == record(trace, C, "handshake", 0)
    conn.receive_bytes(record(trace, S, "handshake", 0))
    ours = decode_message(conn.data_to_send()[5:])
    rfc = decode_message(client_hello(trace, 1))
    assert ours.raw != rfc.raw and len(ours.raw) == len(rfc.raw) == 512
    assert sorted((e.type, e.data) for e in ours.extensions) == sorted((e.type, e.data) for e in rfc.extensions)
    types = [e.type for e in ours.extensions]
    assert types.index(E.cookie) == types.index(E.key_share) + 1


# ---------------------------------------------------------------------------
# The server, replayed
# ---------------------------------------------------------------------------


class _RfcCookieSealer(CookieSealer):
    """Seals into the RFC's cookie bytes (see the module docstring); opens only those."""

    def __init__(self, trace: Trace) -> None:
        super().__init__(system_randomness)
        self.rfc_cookie = rfc_cookie(trace)
        self.expected_hash = th(H, client_hello(trace, 0))
        self.sealed: CookieContents | None = None

    def seal(self, contents: CookieContents) -> bytes:
        assert contents.ch1_hash == self.expected_hash
        assert (contents.cipher_suite, contents.group) == (CipherSuite.TLS_AES_128_GCM_SHA256, NamedGroup.secp256r1)
        self.sealed = contents
        return self.rfc_cookie

    def open(self, cookie: bytes, now: datetime) -> tuple[CookieContents | None, str]:
        if cookie != self.rfc_cookie or self.sealed is None:
            return None, NOT_AUTHENTIC
        return self.sealed, ""


def rfc_server(trace: Trace, observer: EventList | None = None) -> tuple[ServerConnection, _RfcCookieSealer]:
    sealer = _RfcCookieSealer(trace)
    base = rfc_server_config(trace)
    config = replace(
        base,
        groups=SERVER_GROUPS,
        strict_group_preference=True,  # P-256, though the client sent an x25519 share
        stateless_hrr=True,
        cookie_sealer=sealer,
        dangerous=Dangerous(hello_extension_order=HRR_ORDER),
    )
    public = config.certificates[0].private_key.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    msgs = flight(trace)
    transcript = th(H, message_hash(H, msgs[0]), *msgs[1:6])  # through the server's Certificate
    salt = recover_pss_salt(msgs[6], public, SERVER_CV, transcript)
    # At the HRR the server draws nothing (the HRR's random is fixed, the cookie injected); after
    # the second ClientHello its P-256 key, its random, then the RSA-PSS salt.
    randomness = ReplayRandomness(p256_replay_bytes(trace, S), server_hello(trace, 1)[6:38], salt)
    return ServerConnection(config, randomness=randomness, observer=observer), sealer


def test_the_certificate_is_section_3s(trace: Trace) -> None:
    trace3 = load_rfc8448_section(3, "Simple 1-RTT Handshake", "4.  Resumed 0-RTT Handshake")
    assert rfc_certificate_der(trace) == rfc_certificate_der(trace3)


@pytest.mark.parametrize("chunking", ["per-record", "bytewise"])
def test_server_replay(trace: Trace, chunking: str) -> None:
    observer = EventList(wants_secrets=True)
    conn, sealer = rfc_server(trace, observer)
    assert _feed(conn, record(trace, C, "handshake", 0), chunking) == []
    assert conn.error is None, conn.error
    assert conn.data_to_send() == record(trace, S, "handshake", 0)  # the HelloRetryRequest, cookie and all
    assert sealer.sealed is not None

    assert _feed(conn, record(trace, C, "handshake", 1), chunking) == []
    assert conn.error is None, conn.error
    out = conn.data_to_send()
    sh_record = record(trace, S, "handshake", 1)
    assert out[: len(sh_record)] == sh_record  # ServerHello: P-256 share
    assert out[len(sh_record) :] == record(trace, S, "handshake", 2)  # {EE, Certificate, CertificateVerify, Finished}

    events = _feed(conn, record(trace, C, "handshake", 2), chunking)  # {Finished}
    assert conn.error is None, conn.error
    assert [type(e) for e in events] == [HandshakeComplete]
    params = events[0].parameters
    assert (params.cipher_suite, params.group, params.server_name) == ("TLS_AES_128_GCM_SHA256", "secp256r1", "server")
    secrets = _secrets(observer)
    for label, name in (
        ("c hs traffic", "client_handshake_traffic_secret"),
        ("s hs traffic", "server_handshake_traffic_secret"),
        ("c ap traffic", "client_application_traffic_secret_0"),
        ("s ap traffic", "server_application_traffic_secret_0"),
        ("exp master", "exporter_master_secret"),
    ):
        assert secrets[name] == secret(trace, label), label
    assert getattr(conn._state, "resumption_secret", None) == trace.block(
        f'{C}  derive secret "tls13 res master"', "expanded"
    )

    events = _feed(conn, record(trace, C, "alert"), chunking)
    assert AlertReceived(AlertLevel.warning, AlertDescription.close_notify) in events
    conn.close()
    assert conn.data_to_send() == record(trace, S, "alert")  # s ap sequence 0: no ticket before it


def test_server_refuses_another_cookie(trace: Trace) -> None:
    """The same second ClientHello with one cookie byte changed: the sealer does not know it,
    and the server ends the handshake with illegal_parameter (RFC 8446, Section 4.2.2)."""
    conn, _ = rfc_server(trace)
    conn.receive_bytes(record(trace, C, "handshake", 0))
    conn.data_to_send()
    second = bytearray(record(trace, C, "handshake", 1))
    at = bytes(second).index(rfc_cookie(trace))
    second[at + 10] ^= 0x01
    conn.receive_bytes(bytes(second))
    assert conn.error is not None and conn.error.description == AlertDescription.illegal_parameter


def test_without_strict_preference_the_share_wins(trace: Trace) -> None:
    """The default (strict_group_preference False): the x25519 share the RFC's first
    ClientHello carries is taken, P-256 preferred or not, and no HelloRetryRequest is sent."""
    config = replace(rfc_server_config(trace), groups=SERVER_GROUPS)
    conn = ServerConnection(config)
    conn.receive_bytes(record(trace, C, "handshake", 0))
    assert conn.error is None, conn.error
    out = conn.data_to_send()
    sh = decode_message(out[5 : 5 + int.from_bytes(out[3:5], "big")])
    assert not isinstance(sh, HelloRetryRequest)
    assert sh.ext(E.key_share).value.group == NamedGroup.x25519
