"""Known answers: RFC 8448, Section 6 (Client Authentication).

The server (an ECDSA P-256 certificate) asks for a client certificate; the client answers
with an RSA one. Neither private key is in the RFC ("private keys for the certificates used
in this example are not shown"): the client's certificate (CN=client) is NOT the RSA key of
Section 2 (a different modulus; checked below). Every value comes from the RFC text
(../shared/rfc/rfc8448.txt, read by tests/rfc8448_trace.py):

- the key schedule: every HKDF step, and every secret through the stage classes from the
  RFC's messages (handshake, traffic, exporter, resumption) and both Finished values;
- both CertificateVerify signatures verify over the transcript glasstls's reading gives;
- the client: a glasstls ClientConnection given the RFC's x25519 key and random sends the
  RFC's ClientHello, accepts the RFC's server flight fed as bytes (CertificateRequest, ECDSA
  CertificateVerify checked, Finished checked), and sends the RFC's
  {Certificate, CertificateVerify, Finished} record and close_notify byte for byte.

What the client is given beyond its ephemeral key and random: its certificate key is a
_RecordedSignature, which holds the certificate's public key and the one signature the RFC
shows, and returns that signature only for content it verifies over (RSA-PSS, SHA-256), so
glasstls must ask to sign exactly the RFC's content (RFC 8446, Section 4.4.3). Encoding the
Certificate, building the signed content, framing the CertificateVerify, the Finished and
the record protection are glasstls's. (After its ClientHello the client's randomness is the
system's: glasstls signs RSA-PSS through the key's own sign() then, and it draws nothing else.)
The server's side cannot be produced at all: its flight is verified, not produced.
"""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, PSS, AsymmetricPadding

from glasstls import (
    AlertReceived,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    Dangerous,
    EventList,
    HandshakeComplete,
)
from glasstls.crypto import keyschedule13 as ks
from glasstls.crypto.rand import ReplayRandomness, system_randomness
from glasstls.enums import AlertDescription, AlertLevel, CipherSuite, ContentType, ProtocolVersion, SignatureScheme
from glasstls.enums import ExtensionType as E
from glasstls.record.protection import Protection13
from glasstls.wire.handshake import Certificate, CertificateRequest, CertificateVerify, decode_message
from rfc8448_replay import CLIENT_CV, SERVER_CV, check_hkdf_steps, recover_pss_salt, th
from rfc8448_trace import Trace, load_rfc8448_section, rfc_path
from test_rfc8448 import RFC_GROUPS, RFC_SIGNATURE_SCHEMES, SUITE, _feed, _secrets, rfc_server_key

H = SUITE.hash_name
C = "{client}"
S = "{server}"


@pytest.fixture(scope="module")
def trace() -> Trace:
    if not rfc_path("rfc8448.txt").exists():
        pytest.skip(f"RFC 8448 text not found at {rfc_path('rfc8448.txt')} (the shared/rfc folder beside the repo)")
    return load_rfc8448_section(6, "Client Authentication", "7.  Compatibility Mode")


def message(trace: Trace, who: str, name: str) -> bytes:
    article = "an" if name[0] in "AEIOU" else "a"
    return trace.block(f"{who}  construct {article} {name} handshake message", name)


def record(trace: Trace, who: str, what: str, index: int = 0) -> bytes:
    return trace.block(f"{who}  send {what} record", "complete record", index)


def secret(trace: Trace, label: str) -> bytes:
    return trace.block(f'{S}  derive secret "tls13 {label}"', "expanded")


SERVER_FLIGHT = ("EncryptedExtensions", "CertificateRequest", "Certificate", "CertificateVerify", "Finished")
CLIENT_FLIGHT = ("Certificate", "CertificateVerify", "Finished")


def transcript(trace: Trace, server: int = len(SERVER_FLIGHT), client: int = 0) -> list[bytes]:
    """ClientHello, ServerHello, the first ``server`` messages of the server's flight, the
    first ``client`` of the client's (RFC 8446, Section 4.4.1)."""
    msgs = [message(trace, C, "ClientHello"), message(trace, S, "ServerHello")]
    msgs += [message(trace, S, n) for n in SERVER_FLIGHT[:server]]
    return msgs + [message(trace, C, n) for n in CLIENT_FLIGHT[:client]]


def certificate_der(msg: bytes) -> bytes:
    cert = decode_message(msg)
    assert isinstance(cert, Certificate) and cert.certificate_request_context == b""
    assert len(cert.entries) == 1 and not cert.entries[0].extensions
    der: bytes = cert.entries[0].cert_data
    return der


def test_trace_is_self_consistent(trace: Trace) -> None:
    assert record(trace, C, "handshake", 0) == b"\x16\x03\x01\x00\xc0" + message(trace, C, "ClientHello")
    assert record(trace, S, "handshake", 0) == b"\x16\x03\x03\x00\x5a" + message(trace, S, "ServerHello")
    flight = b"".join(message(trace, S, n) for n in SERVER_FLIGHT)
    assert flight == trace.block(f"{S}  send handshake record", "payload", 1)
    client_flight = b"".join(message(trace, C, n) for n in CLIENT_FLIGHT)
    assert client_flight == trace.block(f"{C}  send handshake record", "payload", 1)


def test_every_hkdf_step(trace: Trace) -> None:
    # 3 extracts; 3 "derived" (the client's first shown too); c/s hs, c/s ap, exp master, res
    # master; 2 finished; 4 key/iv pairs (server hs and ap write, server hs read, client ap write)
    assert check_hkdf_steps(trace, SUITE) == 18


def client_certificate(trace: Trace) -> x509.Certificate:
    return x509.load_der_x509_certificate(certificate_der(message(trace, C, "Certificate")))


def client_public_key(trace: Trace) -> rsa.RSAPublicKey:
    public = client_certificate(trace).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return public


def test_the_keys_of_the_two_certificates(trace: Trace) -> None:
    """The client's certificate holds an RSA-1024 key that is not the one of RFC 8448,
    Section 2 (the RFC gives neither private key of Section 6); the server's an ECDSA P-256 key."""
    client_cert = client_certificate(trace)
    assert client_cert.subject.rfc4514_string() == "CN=client"
    assert client_public_key(trace).key_size == 1024
    assert client_public_key(trace).public_numbers().e == 65537
    assert client_public_key(trace).public_numbers() != rfc_server_key().public_key().public_numbers()
    server_cert = x509.load_der_x509_certificate(certificate_der(message(trace, S, "Certificate")))
    server_key = server_cert.public_key()
    assert isinstance(server_key, ec.EllipticCurvePublicKey) and server_key.curve.name == "secp256r1"


def test_both_certificate_verify_signatures(trace: Trace) -> None:
    """RFC 8446, Section 4.4.3: each signature is over 64 spaces, the context string, a zero
    byte and the transcript hash through the signer's Certificate."""
    server_cert = x509.load_der_x509_certificate(certificate_der(message(trace, S, "Certificate")))
    server_cv = decode_message(message(trace, S, "CertificateVerify"))
    assert isinstance(server_cv, CertificateVerify)
    assert server_cv.algorithm == SignatureScheme.ecdsa_secp256r1_sha256
    content = b" " * 64 + SERVER_CV + b"\x00" + th(H, *transcript(trace, 3))
    server_key = server_cert.public_key()
    assert isinstance(server_key, ec.EllipticCurvePublicKey)
    server_key.verify(server_cv.signature, content, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        server_key.verify(server_cv.signature, content + b"x", ec.ECDSA(hashes.SHA256()))
    assert len(client_salt(trace)) == 32  # recover_pss_salt verified the client's signature


def test_every_secret_and_both_finished(trace: Trace) -> None:
    """Handshake, traffic, exporter and resumption secrets through the stage classes, from the
    RFC's shared secret and messages; both Finished values (RFC 8446, Sections 4.4.4 and 7.1)."""
    early = ks.EarlySecret(SUITE)
    assert early.secret == trace.block(f'{S}  extract secret "early"', "secret")
    hs = early.handshake_stage(trace.block(f'{S}  extract secret "handshake"', "IKM"))
    assert hs.secret == trace.block(f'{S}  extract secret "handshake"', "secret")
    th_hello = th(H, *transcript(trace, 0))
    assert th_hello == trace.block(f'{S}  derive secret "tls13 c hs traffic"', "hash")
    c_hs, s_hs = hs.client_handshake_traffic_secret(th_hello), hs.server_handshake_traffic_secret(th_hello)
    assert (c_hs, s_hs) == (secret(trace, "c hs traffic"), secret(trace, "s hs traffic"))
    master = hs.master_stage()
    assert master.secret == trace.block(f'{S}  extract secret "master"', "secret")
    th_server_fin = th(H, *transcript(trace))
    assert th_server_fin == trace.block(f'{S}  derive secret "tls13 c ap traffic"', "hash")
    assert master.client_application_traffic_secret(th_server_fin) == secret(trace, "c ap traffic")
    assert master.server_application_traffic_secret(th_server_fin) == secret(trace, "s ap traffic")
    assert master.exporter_master_secret(th_server_fin) == secret(trace, "exp master")
    # The resumption master secret covers the client's Certificate and CertificateVerify too.
    th_client_fin = th(H, *transcript(trace, client=3))
    assert th_client_fin == trace.block(f'{C}  derive secret "tls13 res master"', "hash")
    res = master.resumption_master_secret(th_client_fin)
    assert res == trace.block(f'{C}  derive secret "tls13 res master"', "expanded")

    server_fin = trace.step(f'{S}  calculate finished "tls13 finished"')
    assert ks.finished_verify_data(SUITE, s_hs, th(H, *transcript(trace, 4))) == server_fin["finished"]
    assert message(trace, S, "Finished")[4:] == server_fin["finished"]
    # The client's Finished is over the transcript through its own CertificateVerify.
    client_fin = trace.step(f'{C}  calculate finished "tls13 finished"')
    assert ks.finished_verify_data(SUITE, c_hs, th(H, *transcript(trace, client=2))) == client_fin["finished"]
    assert message(trace, C, "Finished")[4:] == client_fin["finished"]


def test_the_certificate_request(trace: Trace) -> None:
    """RFC 8446, Section 4.3.2: an empty context (during the handshake) and signature_algorithms."""
    request = decode_message(message(trace, S, "CertificateRequest"))
    assert isinstance(request, CertificateRequest) and request.certificate_request_context == b""
    assert [e.type for e in request.extensions] == [E.signature_algorithms]
    assert tuple(request.ext(E.signature_algorithms).value) == RFC_SIGNATURE_SCHEMES


# ---------------------------------------------------------------------------
# The client, replayed
# ---------------------------------------------------------------------------


def rfc_client_config(trace: Trace, key: rsa.RSAPrivateKey | None = None) -> ClientConfig:
    certificate = CertifiedKey((client_certificate(trace),), key) if key is not None else None
    return ClientConfig(
        cipher_suites=(
            CipherSuite.TLS_AES_128_GCM_SHA256,
            CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
            CipherSuite.TLS_AES_256_GCM_SHA384,
        ),
        groups=RFC_GROUPS,
        key_share_groups=RFC_GROUPS[:1],
        tls_min=ProtocolVersion.TLSv1_3,
        middlebox_compat=False,
        record_size_limit=(1 << 14) + 1,
        session_tickets=False,  # Section 6's ClientHello carries no session_ticket
        certificate_compression=(),
        certificate=certificate,
        post_handshake_auth=False,  # Section 6's ClientHello does not offer it
        # The server's certificate (CN=ecdsa, self-signed) has nothing to chain to; its
        # CertificateVerify signature is still checked.
        dangerous=Dangerous(skip_server_verification=True, advertised_signature_schemes=RFC_SIGNATURE_SCHEMES),
    )


def client_salt(trace: Trace) -> bytes:
    """The salt in the client's RSA-PSS signature, which is checked to be over the transcript
    through the client's Certificate (Section 4.4.3)."""
    signed = th(H, *transcript(trace, client=1))
    return recover_pss_salt(message(trace, C, "CertificateVerify"), client_public_key(trace), CLIENT_CV, signed)


class _RecordedSignature(rsa.RSAPrivateKey):
    """The client's certificate key as far as the RFC shows it (see the module docstring)."""

    def __init__(self, public: rsa.RSAPublicKey, signature: bytes) -> None:
        self._public, self._signature = public, signature
        self.signed: list[bytes] = []

    def sign(self, data: bytes, padding: AsymmetricPadding, algorithm: object) -> bytes:
        assert isinstance(padding, PSS) and isinstance(algorithm, hashes.SHA256)
        # Raises InvalidSignature unless ``data`` is what the RFC's client signed.
        self._public.verify(self._signature, data, PSS(MGF1(hashes.SHA256()), 32), hashes.SHA256())
        self.signed.append(data)
        return self._signature

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> bytes:
        raise NotImplementedError("a recorded signature decrypts nothing")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        raise NotImplementedError("RFC 8448 does not give the client's private key")

    def private_bytes(self, *args: object, **kwargs: object) -> bytes:
        raise NotImplementedError("RFC 8448 does not give the client's private key")

    def __copy__(self) -> _RecordedSignature:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> _RecordedSignature:
        return self


def recorded_key(trace: Trace) -> _RecordedSignature:
    cv = decode_message(message(trace, C, "CertificateVerify"))
    assert isinstance(cv, CertificateVerify) and cv.algorithm == SignatureScheme.rsa_pss_rsae_sha256
    return _RecordedSignature(client_public_key(trace), cv.signature)


@pytest.mark.parametrize("chunking", ["per-record", "bytewise"])
def test_client_replay(trace: Trace, chunking: str) -> None:
    x25519_private = trace.block(f"{C}  create an ephemeral x25519 key pair", "private key")
    client_random = message(trace, C, "ClientHello")[6:38]
    observer = EventList(wants_secrets=True)
    key = recorded_key(trace)
    randomness = ReplayRandomness(x25519_private, client_random)  # the key share's private key, the random
    conn = ClientConnection(
        rfc_client_config(trace, key), server_name="server", randomness=randomness, observer=observer
    )
    assert conn.data_to_send() == record(trace, C, "handshake", 0)
    conn.randomness = system_randomness  # see the module docstring: RSA-PSS through key.sign()

    events = _feed(conn, record(trace, S, "handshake", 0) + record(trace, S, "handshake", 1), chunking)
    assert conn.error is None, conn.error
    complete = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(complete) == 1
    params = complete[0].parameters
    assert (params.cipher_suite, params.group, params.signature_scheme) == (
        "TLS_AES_128_GCM_SHA256",
        "x25519",
        "ecdsa_secp256r1_sha256",
    )
    # {Certificate, CertificateVerify, Finished} in one record, byte for byte.
    assert conn.data_to_send() == record(trace, C, "handshake", 1)
    assert len(key.signed) == 1

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

    conn.close()
    assert conn.data_to_send() == record(trace, C, "alert")
    events = _feed(conn, record(trace, S, "alert"), chunking)
    assert AlertReceived(AlertLevel.warning, AlertDescription.close_notify) in events
    assert any(isinstance(e, ConnectionClosed) and e.error is None for e in events)
    assert conn.closed and conn.error is None


def test_a_bad_server_signature_is_refused(trace: Trace) -> None:
    """The server's flight with one bit of its ECDSA signature flipped (in the plaintext,
    resealed under the RFC's handshake keys): decrypt_error (RFC 8446, Section 4.4.3)."""
    flight = bytearray(b"".join(message(trace, S, n) for n in SERVER_FLIGHT))
    cv_at = sum(len(message(trace, S, n)) for n in SERVER_FLIGHT[:3])
    flight[cv_at + 20] ^= 0x01  # inside the DER signature's r
    sealed = Protection13(SUITE, secret(trace, "s hs traffic"), "handshake").seal(ContentType.handshake, bytes(flight))
    x25519_private = trace.block(f"{C}  create an ephemeral x25519 key pair", "private key")
    randomness = ReplayRandomness(x25519_private, message(trace, C, "ClientHello")[6:38])
    conn = ClientConnection(rfc_client_config(trace, recorded_key(trace)), server_name="server", randomness=randomness)
    conn.receive_bytes(record(trace, S, "handshake", 0) + sealed)
    assert conn.error is not None and conn.error.description == AlertDescription.decrypt_error


def test_without_a_certificate_the_client_answers_empty(trace: Trace) -> None:
    """The same server flight to a client with no certificate: its flight is an empty
    Certificate and a Finished, no CertificateVerify (RFC 8446, Section 4.4.2)."""
    config = rfc_client_config(trace)  # no certificate
    x25519_private = trace.block(f"{C}  create an ephemeral x25519 key pair", "private key")
    randomness = ReplayRandomness(x25519_private, message(trace, C, "ClientHello")[6:38])
    conn = ClientConnection(config, server_name="server", randomness=randomness)
    assert conn.data_to_send() == record(trace, C, "handshake", 0)
    conn.receive_bytes(record(trace, S, "handshake", 0) + record(trace, S, "handshake", 1))
    assert conn.error is None, conn.error
    opener = Protection13(SUITE, secret(trace, "c hs traffic"), "handshake")
    out = conn.data_to_send()
    content_type, plaintext = opener.open(out[:5], out[5:])
    assert content_type == ContentType.handshake
    assert plaintext[:8] == b"\x0b\x00\x00\x04\x00\x00\x00\x00"  # Certificate: empty context, no entries
    assert plaintext[8] == 20 and len(plaintext) == 8 + 36  # then the Finished
