"""Known answers: RFC 8448, Section 3 (Simple 1-RTT Handshake) byte for byte, and RFC 5869, Appendix A.

Every value comes from the RFC text itself (../shared/rfc), read by tests/rfc8448_trace.py:

- the key schedule: each HKDF-Extract / HKDF-Expand-Label step the trace shows, then the
  same secrets through the EarlySecret -> HandshakeSecret -> MasterSecret stages;
- the client: a glasstls ClientConnection, given the RFC's ephemeral key and random, sends
  the RFC's ClientHello, Finished, application data and close_notify records;
- the server: a glasstls ServerConnection, given the RFC's key, certificate, ephemeral key,
  random and PSS salt, sends the RFC's ServerHello and encrypted flight.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from glasstls import (
    AlertReceived,
    ApplicationData,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    Dangerous,
    EventList,
    HandshakeComplete,
    NewTicket,
    ServerConfig,
    ServerConnection,
)
from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.rand import ReplayRandomness
from glasstls.crypto.suites import TLS13_SUITES
from glasstls.enums import AlertDescription, AlertLevel, CipherSuite, ContentType, NamedGroup, ProtocolVersion
from glasstls.observe import SecretTrace
from glasstls.record.protection import Protection13
from rfc8448_trace import Trace, load_rfc8448_section, rfc5869_test_cases, rfc8448_private_key_numbers, rfc_path

SUITE = TLS13_SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
H = SUITE.hash_name

C = "{client}"
S = "{server}"

# The groups both peers list in RFC 8448, Section 3 (ClientHello supported_groups, and the
# server's EncryptedExtensions), in that order.
RFC_GROUPS = (
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.secp384r1,
    NamedGroup.secp521r1,
    NamedGroup.ffdhe2048,
    NamedGroup.ffdhe3072,
    NamedGroup.ffdhe4096,
    NamedGroup.ffdhe6144,
    NamedGroup.ffdhe8192,
)
# The ClientHello's signature_algorithms, verbatim: it includes ecdsa_sha1 (0x0203) and the DSA
# code points (0x0402, 0x0502, 0x0602, 0x0202), hence Dangerous.advertised_signature_schemes.
RFC_SIGNATURE_SCHEMES = (
    0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806,
    0x0401, 0x0501, 0x0601, 0x0201, 0x0402, 0x0502, 0x0602, 0x0202,
)  # fmt: skip


# ---------------------------------------------------------------------------
# The RFC text
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trace() -> Trace:
    if not rfc_path("rfc8448.txt").exists():
        pytest.skip(f"RFC 8448 text not found at {rfc_path('rfc8448.txt')} (the shared/rfc folder beside the repo)")
    return load_rfc8448_section(3, "Simple 1-RTT Handshake", "4.  Resumed 0-RTT Handshake")


def record(trace: Trace, who: str, what: str, index: int = 0) -> bytes:
    """The "complete record" of the ``index``-th "{who}  send <what> record" step."""
    return trace.block(f"{who}  send {what} record", "complete record", index)


def message(trace: Trace, who: str, name: str) -> bytes:
    article = "an" if name[0] in "AEIOU" else "a"
    return trace.block(f"{who}  construct {article} {name} handshake message", name)


def th(*messages: bytes) -> bytes:
    return hashlib.new(H, b"".join(messages)).digest()


def test_trace_is_self_consistent(trace: Trace) -> None:
    """The parser read the blocks the RFC repeats identically (message, payload, record body)."""
    ch = message(trace, C, "ClientHello")
    assert ch == trace.block(f"{C}  send handshake record", "payload", 0)
    assert record(trace, C, "handshake", 0) == b"\x16\x03\x01\x00\xc4" + ch
    sh = message(trace, S, "ServerHello")
    assert record(trace, S, "handshake", 0) == b"\x16\x03\x03\x00\x5a" + sh
    flight = b"".join(
        message(trace, S, name) for name in ("EncryptedExtensions", "Certificate", "CertificateVerify", "Finished")
    )
    assert flight == trace.block(f"{S}  send handshake record", "payload", 1)
    assert len(record(trace, S, "handshake", 1)) == 679
    assert len(record(trace, C, "handshake", 1)) == 58


# ---------------------------------------------------------------------------
# RFC 5869, Appendix A
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", range(1, 8))
def test_rfc5869_hkdf(case: int) -> None:
    if not rfc_path("rfc5869.txt").exists():
        pytest.skip(f"RFC 5869 text not found at {rfc_path('rfc5869.txt')}")
    tc = rfc5869_test_cases()[case]
    hash_name = {"SHA-256": "sha256", "SHA-1": "sha1"}[tc["Hash"]]
    prk = ks.hkdf_extract(hash_name, tc["salt"], tc["IKM"])
    assert prk == tc["PRK"]
    assert ks.hkdf_expand(hash_name, prk, tc["info"], tc["L"]) == tc["OKM"]


# ---------------------------------------------------------------------------
# Key schedule: every HKDF step of the trace
# ---------------------------------------------------------------------------


def test_every_hkdf_step(trace: Trace) -> None:
    """Each step with PRK/info/expanded: HkdfLabel (RFC 8446, Section 7.1) and HKDF-Expand;
    each "extract secret" step: HKDF-Extract; each "traffic keys" step: key and iv."""
    checked = 0
    for step in trace.steps:
        b = step.blocks
        if "expanded" in b:
            label = re.search(r'"tls13 ([^"]+)"', step.label)
            assert label, step.label
            assert ks.hkdf_label(label.group(1).encode(), b["hash"], len(b["expanded"])) == b["info"], step.label
            assert ks.hkdf_expand(H, b["PRK"], b["info"], len(b["expanded"])) == b["expanded"], step.label
            checked += 1
        elif "key expanded" in b:
            assert ks.hkdf_label(b"key", b"", SUITE.key_len) == b["key info"], step.label
            assert ks.hkdf_label(b"iv", b"", SUITE.iv_len) == b["iv info"], step.label
            keys = ks.traffic_keys(SUITE, b["PRK"])
            assert (keys.key, keys.iv) == (b["key expanded"], b["iv expanded"]), step.label
            checked += 1
        elif "secret" in b:
            salt = b.get("salt", b"")
            assert "salt" in b or step.notes["salt"].startswith("0 "), step.label
            assert ks.hkdf_extract(H, salt, b["IKM"]) == b["secret"], step.label
            checked += 1
        if "finished" in b:
            # The base key (PRK) is the handshake traffic secret; the transcript is checked below.
            assert ks.finished_key(SUITE, b["PRK"]) == b["expanded"], step.label
    # 3 extracts, 3 "derived" (the client's first is shown too), c/s hs, c/s ap, exp, res master,
    # 2 finished, resumption, 4 key/iv pairs
    assert checked == 19


def _secret(trace: Trace, label: str) -> bytes:
    return trace.block(f'{S}  derive secret "tls13 {label}"', "expanded")


def test_key_schedule_stages(trace: Trace) -> None:
    """The same values through the stage classes, from the RFC's messages and ephemeral keys."""
    c_priv = trace.block(f"{C}  create an ephemeral x25519 key pair", "private key")
    s_priv = trace.block(f"{S}  create an ephemeral x25519 key pair", "private key")
    s_pub = trace.block(f"{S}  create an ephemeral x25519 key pair", "public key")
    c_pub = trace.block(f"{C}  create an ephemeral x25519 key pair", "public key")
    for priv, pub in ((c_priv, c_pub), (s_priv, s_pub)):
        derived = x25519.X25519PrivateKey.from_private_bytes(priv).public_key()
        assert derived.public_bytes(Encoding.Raw, PublicFormat.Raw) == pub
    shared = x25519.X25519PrivateKey.from_private_bytes(c_priv).exchange(
        x25519.X25519PublicKey.from_public_bytes(s_pub)
    )
    assert shared == trace.block(f'{S}  extract secret "handshake"', "IKM")

    ch, sh = message(trace, C, "ClientHello"), message(trace, S, "ServerHello")
    ee, cert = message(trace, S, "EncryptedExtensions"), message(trace, S, "Certificate")
    cv, s_fin = message(trace, S, "CertificateVerify"), message(trace, S, "Finished")
    c_fin = message(trace, C, "Finished")

    early = ks.EarlySecret(SUITE)
    assert early.secret == trace.block(f'{S}  extract secret "early"', "secret")
    hs = early.handshake_stage(shared)
    assert hs.secret == trace.block(f'{S}  extract secret "handshake"', "secret")
    th_hello = th(ch, sh)
    assert th_hello == trace.block(f'{S}  derive secret "tls13 c hs traffic"', "hash")
    c_hs, s_hs = hs.client_handshake_traffic_secret(th_hello), hs.server_handshake_traffic_secret(th_hello)
    assert c_hs == _secret(trace, "c hs traffic")
    assert s_hs == _secret(trace, "s hs traffic")

    master = hs.master_stage()
    assert master.secret == trace.block(f'{S}  extract secret "master"', "secret")
    th_server_fin = th(ch, sh, ee, cert, cv, s_fin)
    assert th_server_fin == trace.block(f'{S}  derive secret "tls13 c ap traffic"', "hash")
    c_ap = master.client_application_traffic_secret(th_server_fin)
    s_ap = master.server_application_traffic_secret(th_server_fin)
    assert c_ap == _secret(trace, "c ap traffic")
    assert s_ap == _secret(trace, "s ap traffic")
    assert master.exporter_master_secret(th_server_fin) == _secret(trace, "exp master")
    th_client_fin = th(ch, sh, ee, cert, cv, s_fin, c_fin)
    res = master.resumption_master_secret(th_client_fin)
    assert res == trace.block(f'{C}  derive secret "tls13 res master"', "expanded")

    # Write keys and IVs of the four epochs (RFC 8446, Section 7.3).
    for label, secret in (
        (f"{S}  derive write traffic keys for handshake data", s_hs),
        (f"{S}  derive read traffic keys for handshake data", c_hs),
        (f"{S}  derive write traffic keys for application data", s_ap),
        (f"{C}  derive write traffic keys for application data", c_ap),
    ):
        step = trace.step(label)
        assert step["PRK"] == secret, label
        keys = ks.traffic_keys(SUITE, secret)
        assert (keys.key, keys.iv) == (step["key expanded"], step["iv expanded"]), label

    # Finished (RFC 8446, Section 4.4.4): key from the handshake secret, HMAC over the transcript.
    server_finished = trace.step(f'{S}  calculate finished "tls13 finished"')
    assert ks.finished_key(SUITE, s_hs) == server_finished["expanded"]
    assert ks.finished_verify_data(SUITE, s_hs, th(ch, sh, ee, cert, cv)) == server_finished["finished"]
    assert s_fin[4:] == server_finished["finished"]
    client_finished = trace.step(f'{C}  calculate finished "tls13 finished"')
    assert ks.finished_key(SUITE, c_hs) == client_finished["expanded"]
    assert ks.finished_verify_data(SUITE, c_hs, th_server_fin) == client_finished["finished"]
    assert c_fin[4:] == client_finished["finished"]

    # The PSK of the ticket (RFC 8446, Section 4.6.1), with the NewSessionTicket's nonce.
    nst = message(trace, S, "NewSessionTicket")
    nonce = nst[4 + 8 + 1 : 4 + 8 + 1 + nst[4 + 8]]
    resumption = trace.step(f'{S}  generate resumption secret "tls13 resumption"')
    assert nonce == resumption["hash"] == b"\x00\x00"
    assert ks.resumption_psk(SUITE, res, nonce) == resumption["expanded"]


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
        groups=RFC_GROUPS,
        key_share_groups=(NamedGroup.x25519,),
        tls_min=ProtocolVersion.TLSv1_3,  # the RFC's client offers TLS 1.3 only
        middlebox_compat=False,  # the RFC's ClientHello has an empty legacy_session_id
        record_size_limit=(1 << 14) + 1,
        session_tickets=True,
        certificate_compression=(),  # the RFC's ClientHello has no compress_certificate (RFC 8879)
        # RSA-1024, self-signed CN=rsa: nothing to verify it against.
        dangerous=Dangerous(skip_server_verification=True, advertised_signature_schemes=RFC_SIGNATURE_SCHEMES),
    )


def _feed(conn: ClientConnection | ServerConnection, data: bytes, chunking: str) -> list:
    if chunking == "bytewise":
        return [e for i in range(len(data)) for e in conn.receive_bytes(data[i : i + 1])]
    return conn.receive_bytes(data)


def _secrets(observer: EventList) -> dict[str, bytes]:
    return {e.label: e.secret for e in observer.events if isinstance(e, SecretTrace) and e.secret is not None}


@pytest.mark.parametrize("chunking", ["per-record", "whole-flight", "bytewise"])
def test_client_replay(trace: Trace, chunking: str) -> None:
    x25519_private = trace.block(f"{C}  create an ephemeral x25519 key pair", "private key")
    client_random = message(trace, C, "ClientHello")[6:38]
    observer = EventList(wants_secrets=True)
    # client13.start() draws the key share's private key first, then the random
    # (no legacy_session_id is drawn when middlebox_compat is off).
    conn = ClientConnection(
        rfc_client_config(),
        server_name="server",
        randomness=ReplayRandomness(x25519_private, client_random),
        observer=observer,
    )
    assert conn.data_to_send() == record(trace, C, "handshake", 0)

    server_hello, server_flight = record(trace, S, "handshake", 0), record(trace, S, "handshake", 1)
    if chunking == "per-record":
        assert conn.receive_bytes(server_hello) == []
        assert conn.data_to_send() == b""
        events = conn.receive_bytes(server_flight)
    else:
        events = _feed(conn, server_hello + server_flight, chunking)
    assert conn.error is None, conn.error
    complete = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(complete) == 1
    params = complete[0].parameters
    assert (params.cipher_suite, params.group, params.signature_scheme) == (
        "TLS_AES_128_GCM_SHA256",
        "x25519",
        "rsa_pss_rsae_sha256",
    )
    assert params.peer_certificate_subject == "CN=rsa"
    assert conn.data_to_send() == record(trace, C, "handshake", 1)  # {Finished}

    secrets = _secrets(observer)
    assert secrets["handshake_secret"] == trace.block(f'{S}  extract secret "handshake"', "secret")
    assert secrets["client_handshake_traffic_secret"] == _secret(trace, "c hs traffic")
    assert secrets["server_handshake_traffic_secret"] == _secret(trace, "s hs traffic")
    assert secrets["master_secret"] == trace.block(f'{S}  extract secret "master"', "secret")
    assert secrets["client_application_traffic_secret_0"] == _secret(trace, "c ap traffic")
    assert secrets["server_application_traffic_secret_0"] == _secret(trace, "s ap traffic")
    assert secrets["exporter_master_secret"] == _secret(trace, "exp master")
    # The resumption master secret is kept by the connected state for the coming PSK work.
    resumption = getattr(conn._state, "resumption_secret", None)
    assert resumption == trace.block(f'{C}  derive secret "tls13 res master"', "expanded")

    # [NewSessionTicket], then the server's application data.
    events = _feed(conn, record(trace, S, "handshake", 2), chunking)
    tickets = [e for e in events if isinstance(e, NewTicket)]
    assert len(tickets) == 1 and tickets[0].ticket.raw == message(trace, S, "NewSessionTicket")
    assert tickets[0].ticket.ticket_nonce == b"\x00\x00"
    events = _feed(conn, record(trace, S, "application_data"), chunking)
    server_payload = trace.block(f"{S}  send application_data record", "payload")
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [server_payload]

    client_payload = trace.block(f"{C}  send application_data record", "payload")
    conn.send(client_payload)
    assert conn.data_to_send() == record(trace, C, "application_data")

    # close_notify both ways (RFC 8446, Section 6.1).
    conn.close()
    assert trace.block(f"{C}  send alert record", "payload") == b"\x01\x00"
    assert conn.data_to_send() == record(trace, C, "alert")
    events = _feed(conn, record(trace, S, "alert"), chunking)
    assert AlertReceived(AlertLevel.warning, AlertDescription.close_notify) in events
    assert any(isinstance(e, ConnectionClosed) and e.error is None for e in events)
    assert conn.data_to_send() == b""
    assert conn.closed and conn.error is None


# ---------------------------------------------------------------------------
# The server, replayed
# ---------------------------------------------------------------------------


def rfc_server_key() -> rsa.RSAPrivateKey:
    """RFC 8448, Section 2."""
    n = rfc8448_private_key_numbers()
    public = rsa.RSAPublicNumbers(n["public exponent"], n["modulus (public)"])
    private = rsa.RSAPrivateNumbers(
        p=n["prime1"],
        q=n["prime2"],
        d=n["private exponent"],
        dmp1=n["exponent1"],
        dmq1=n["exponent2"],
        iqmp=n["coefficient"],
        public_numbers=public,
    )
    return private.private_key()


def rfc_certificate_der(trace: Trace) -> bytes:
    """The one entry of the RFC's Certificate message (RFC 8446, Section 4.4.2)."""
    msg = message(trace, S, "Certificate")
    assert msg[4] == 0  # empty certificate_request_context
    length = int.from_bytes(msg[8:11], "big")
    der = msg[11 : 11 + length]
    assert msg[11 + length :] == b"\x00\x00"  # no entry extensions, nothing after
    return der


def _mgf1(seed: bytes, length: int) -> bytes:
    out = b"".join(hashlib.new(H, seed + i.to_bytes(4, "big")).digest() for i in range((length + 31) // 32))
    return out[:length]


def recover_pss_salt(trace: Trace, public: rsa.RSAPublicKey) -> bytes:
    """The salt inside the RFC's CertificateVerify signature: the RSA public operation, then
    EMSA-PSS-VERIFY's decoding (RFC 8017, Sections 8.1.2 and 9.1.2) with SHA-256 and MGF1-SHA-256."""
    cv = message(trace, S, "CertificateVerify")
    assert cv[4:6] == b"\x08\x04"  # rsa_pss_rsae_sha256
    signature = cv[8 : 8 + int.from_bytes(cv[6:8], "big")]
    numbers = public.public_numbers()
    em_bits = numbers.n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    em = pow(int.from_bytes(signature, "big"), numbers.e, numbers.n).to_bytes(em_len, "big")
    assert em[-1] == 0xBC
    h_len = hashlib.new(H).digest_size
    masked_db, h = em[: em_len - h_len - 1], em[em_len - h_len - 1 : -1]
    db = bytes(a ^ b for a, b in zip(masked_db, _mgf1(h, len(masked_db)), strict=True))
    db = bytes([db[0] & (0xFF >> (8 * em_len - em_bits))]) + db[1:]
    salt = db[-h_len:]
    assert db[: -h_len - 1] == bytes(len(db) - h_len - 1) and db[-h_len - 1] == 1
    # The signed content (RFC 8446, Section 4.4.3) over ClientHello..Certificate.
    transcript = th(*(message(trace, who, name) for who, name in (
        (C, "ClientHello"), (S, "ServerHello"), (S, "EncryptedExtensions"), (S, "Certificate"),
    )))  # fmt: skip
    content = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + transcript
    m_hash = hashlib.new(H, content).digest()
    assert hashlib.new(H, bytes(8) + m_hash + salt).digest() == h
    return salt


def rfc_server_config(trace: Trace) -> ServerConfig:
    certificate = x509.load_der_x509_certificate(rfc_certificate_der(trace))
    return ServerConfig(
        certificates=(CertifiedKey((certificate,), rfc_server_key()),),
        cipher_suites=(
            CipherSuite.TLS_AES_128_GCM_SHA256,
            CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
            CipherSuite.TLS_AES_256_GCM_SHA384,
        ),
        groups=RFC_GROUPS,
        advertise_groups=True,  # the RFC's EncryptedExtensions: supported_groups, record_size_limit, server_name
        record_size_limit=(1 << 14) + 1,
        tls13_tickets=0,  # the RFC's ticket is its server's own format; checked at the record layer below
    )


@pytest.mark.parametrize("chunking", ["per-record", "bytewise"])
def test_server_replay(trace: Trace, chunking: str) -> None:
    config = rfc_server_config(trace)
    salt = recover_pss_salt(trace, config.certificates[0].private_key.public_key())
    x25519_private = trace.block(f"{S}  create an ephemeral x25519 key pair", "private key")
    server_random = message(trace, S, "ServerHello")[6:38]
    observer = EventList(wants_secrets=True)
    # The server draws its key share's private key, then the random, then the RSA-PSS salt.
    conn = ServerConnection(config, randomness=ReplayRandomness(x25519_private, server_random, salt), observer=observer)
    assert _feed(conn, record(trace, C, "handshake", 0), chunking) == []
    assert conn.error is None, conn.error
    out = conn.data_to_send()
    assert out[:95] == record(trace, S, "handshake", 0)  # ServerHello
    assert out[95:] == record(trace, S, "handshake", 1)  # {EE, Certificate, CertificateVerify, Finished}

    events = _feed(conn, record(trace, C, "handshake", 1), chunking)  # {Finished}
    assert conn.error is None, conn.error
    assert [type(e) for e in events] == [HandshakeComplete]
    assert conn.handshake_complete
    params = events[0].parameters
    assert (params.cipher_suite, params.group, params.signature_scheme, params.server_name) == (
        "TLS_AES_128_GCM_SHA256",
        "x25519",
        "rsa_pss_rsae_sha256",
        "server",
    )
    secrets = _secrets(observer)
    assert secrets["client_application_traffic_secret_0"] == _secret(trace, "c ap traffic")
    s_ap = secrets["server_application_traffic_secret_0"]
    assert s_ap == _secret(trace, "s ap traffic")
    assert secrets["exporter_master_secret"] == _secret(trace, "exp master")
    assert getattr(conn._state, "resumption_secret", None) == trace.block(
        f'{C}  derive secret "tls13 res master"', "expanded"
    )

    # A glasstls ticket seals the session in glasstls's own format (session/tickets.py), so the
    # RFC server's records after its Finished (NewSessionTicket at s_ap sequence 0, application
    # data at 1, close_notify at 2) cannot come out of the ServerConnection as they are (it is
    # configured to issue none). They are checked here at the record
    # layer instead: a Protection13 keyed with the server application traffic secret, at the
    # RFC's sequence numbers, seals the RFC's plaintexts into exactly the RFC's records.
    assert conn.data_to_send() == b""
    for seq, ctype, plaintext, rfc_record in (
        (0, ContentType.handshake, message(trace, S, "NewSessionTicket"), record(trace, S, "handshake", 2)),
        (
            1,
            ContentType.application_data,
            trace.block(f"{S}  send application_data record", "payload"),
            record(trace, S, "application_data"),
        ),
        (2, ContentType.alert, trace.block(f"{S}  send alert record", "payload"), record(trace, S, "alert")),
    ):
        protection = Protection13(SUITE, s_ap, "application")
        protection.seq = seq
        assert protection.seal(ctype, plaintext) == rfc_record, ctype.name

    # The client's application data and close_notify, through the connection.
    events = _feed(conn, record(trace, C, "application_data"), chunking)
    assert events == [ApplicationData(trace.block(f"{C}  send application_data record", "payload"))]
    events = _feed(conn, record(trace, C, "alert"), chunking)
    assert AlertReceived(AlertLevel.warning, AlertDescription.close_notify) in events
    # RFC 8446, Section 6.1: the client's close_notify closes only its side.
    assert conn.peer_closed and not conn.closed and conn.error is None
    conn.close()
    assert conn.closed
    # The server's own close_notify goes out at sequence 0 (no ticket before it).
    reply = conn.data_to_send()
    expected = Protection13(SUITE, s_ap, "application").seal(ContentType.alert, b"\x01\x00")
    assert reply == expected
