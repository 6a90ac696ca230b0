"""SHA-1 signatures: TLS 1.2 only, and only when configured (the legacy profile names them).

* A TLS 1.2 ClientHello without signature_algorithms means {sha1, rsa} / {sha1, ecdsa}
  (RFC 5246, Section 7.4.1.4.1). A raw one, built here byte by byte, goes to a glasstls
  server: by default it refuses with handshake_failure and a reason saying why; with
  rsa_pkcs1_sha1 / ecdsa_sha1 in its signature_schemes its ServerKeyExchange is signed
  with SHA-1, which this test verifies with the certificate's key itself.
* rsa_pkcs1_sha1 / ecdsa_sha1 offered by a peer are used when configured: a glasstls
  pair signs its ServerKeyExchange, and a client its CertificateVerify, with them.
* TLS 1.3 never uses them in CertificateVerify (RFC 8446, Section 4.2.3), whatever the
  configuration: neither side signs with them, and a client refuses one.
"""

from __future__ import annotations

import functools
import os
from dataclasses import replace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from glasstls import CertifiedKey, CipherSuite, ProtocolVersion, ServerConfig, ServerConnection
from glasstls.config import DEFAULT_SIGNATURE_SCHEMES
from glasstls.enums import AlertDescription as A
from glasstls.enums import SignatureScheme as S
from glasstls.errors import AlertError
from glasstls.events import ConnectionClosed
from glasstls.wire.handshake import CertificateVerify, Handshake
from glasstls.x509.mint import Identity
from glasstls.x509.store import TrustStore
from pairs import default_ca, make_pair, once, server_identity

NO_SIGALGS_REASON = (
    "the client sent no signature_algorithms, which means SHA-1 (RFC 5246 §7.4.1.4.1); "
    "SHA-1 signatures need --profile legacy"
)
ECDHE_RSA = CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
ECDHE_ECDSA = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
SHA1_FIRST = (S.rsa_pkcs1_sha1, S.ecdsa_sha1, *DEFAULT_SIGNATURE_SCHEMES)


@functools.cache
def rsa_identity() -> Identity:
    return default_ca().issue_server(["localhost"], key_type="rsa2048")


# (certificate, suite, the SHA-1 scheme RFC 5246, Section 7.4.1.4.1 implies for it)
KINDS = {
    "rsa": (rsa_identity, ECDHE_RSA, S.rsa_pkcs1_sha1),
    "ecdsa": (lambda: server_identity("localhost"), ECDHE_ECDSA, S.ecdsa_sha1),
}


# -- a raw ClientHello and the server's answer, byte by byte --------------------------------------


def vec(width: int, data: bytes) -> bytes:
    return len(data).to_bytes(width, "big") + data


def u16s(values) -> bytes:
    return b"".join(int(v).to_bytes(2, "big") for v in values)


def raw_client_hello(suite: CipherSuite, signature_algorithms=None) -> tuple[bytes, bytes]:
    """A TLS 1.2 ClientHello record (x25519 and P-256, uncompressed points, ``signature_algorithms``
    only if given) and its random."""
    random = os.urandom(32)
    extensions = b"\x00\x0a" + vec(2, vec(2, u16s((0x001D, 0x0017))))  # supported_groups
    extensions += b"\x00\x0b" + vec(2, vec(1, b"\x00"))  # ec_point_formats: uncompressed
    if signature_algorithms is not None:
        extensions += b"\x00\x0d" + vec(2, vec(2, u16s(signature_algorithms)))
    body = b"\x03\x03" + random + vec(1, b"") + vec(2, u16s((suite,))) + vec(1, b"\x00") + vec(2, extensions)
    handshake = b"\x01" + vec(3, body)
    return b"\x16\x03\x01" + vec(2, handshake), random


def handshake_messages(data: bytes) -> dict[int, bytes]:
    """The bodies of the handshake messages in a stream of plaintext records, by type."""
    stream, offset = b"", 0
    while offset < len(data):
        content_type, length = data[offset], int.from_bytes(data[offset + 3 : offset + 5], "big")
        if content_type == 22:
            stream += data[offset + 5 : offset + 5 + length]
        offset += 5 + length
    messages, offset = {}, 0
    while offset < len(stream):
        length = int.from_bytes(stream[offset + 1 : offset + 4], "big")
        messages[stream[offset]] = stream[offset + 4 : offset + 4 + length]
        offset += 4 + length
    return messages


def server_for(kind: str, **kw) -> tuple[ServerConnection, Identity]:
    identity = KINDS[kind][0]()
    config = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), **kw)
    return ServerConnection(config), identity


def verify_sha1_server_key_exchange(messages: dict[int, bytes], client_random: bytes, expected: S) -> None:
    """RFC 8422, Section 5.4: ECParameters, the point, then the signature over both randoms and them."""
    server_random = messages[2][2:34]
    certificates = messages[11]
    leaf = x509.load_der_x509_certificate(certificates[6 : 6 + int.from_bytes(certificates[3:6], "big")])
    ske = messages[12]
    params_length = 4 + ske[3]  # curve_type(1) named_curve(2) point<1..255>
    params, rest = ske[:params_length], ske[params_length:]
    assert int.from_bytes(rest[:2], "big") == expected
    signature = rest[4 : 4 + int.from_bytes(rest[2:4], "big")]
    key = leaf.public_key()
    content = client_random + server_random + params
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, content, padding.PKCS1v15(), hashes.SHA1())
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(signature, content, ec.ECDSA(hashes.SHA1()))


@pytest.mark.parametrize("kind", KINDS)
def test_no_signature_algorithms_refused_by_default(kind: str) -> None:
    server, _ = server_for(kind)
    record, _ = raw_client_hello(KINDS[kind][1])
    events = server.receive_bytes(record)
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed and isinstance(closed[0].error, AlertError)
    assert closed[0].error.description == A.handshake_failure
    assert NO_SIGALGS_REASON in closed[0].error.reason
    assert server.data_to_send() == b"\x15\x03\x03\x00\x02\x02\x28"  # fatal handshake_failure, nothing else


@pytest.mark.parametrize("profile", ["intermediate", "legacy"])
def test_no_signature_algorithms_to_an_ed25519_server_says_the_client_must_send_them(profile: str) -> None:
    # No configuration makes an Ed25519 key sign with SHA-1: the refusal says so, rather than
    # advising --profile legacy, which did not help (found by a helper's review).
    identity = default_ca().issue_server(["localhost"], key_type="ed25519")
    config = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), profile=profile)
    server = ServerConnection(config)
    record, _ = raw_client_hello(ECDHE_ECDSA)
    closed = [e for e in server.receive_bytes(record) if isinstance(e, ConnectionClosed)]
    assert closed and isinstance(closed[0].error, AlertError)
    assert closed[0].error.description == A.handshake_failure
    assert "no key of this server (ed25519) can sign that way" in closed[0].error.reason


@pytest.mark.parametrize("kind", KINDS)
def test_no_signature_algorithms_means_sha1_when_configured(kind: str) -> None:
    _, suite, scheme = KINDS[kind]
    server, _ = server_for(kind, signature_schemes=(scheme, *DEFAULT_SIGNATURE_SCHEMES))
    record, client_random = raw_client_hello(suite)
    events = server.receive_bytes(record)
    assert not any(isinstance(e, ConnectionClosed) for e in events), events
    messages = handshake_messages(server.data_to_send())
    assert set(messages) == {2, 11, 12, 14}  # ServerHello Certificate ServerKeyExchange ServerHelloDone
    hello = messages[2]
    suite_at = 35 + hello[34]  # version, random, then the session ID's length and the session ID
    assert int.from_bytes(hello[suite_at : suite_at + 2], "big") == suite
    verify_sha1_server_key_exchange(messages, client_random, scheme)


def test_sha1_configured_but_a_better_scheme_listed_first_is_used() -> None:
    server, _ = server_for("rsa", signature_schemes=SHA1_FIRST)
    record, _ = raw_client_hello(ECDHE_RSA, (S.rsa_pss_rsae_sha256, S.rsa_pkcs1_sha1))
    server.receive_bytes(record)
    ske = handshake_messages(server.data_to_send())[12]
    assert int.from_bytes(ske[4 + ske[3] : 6 + ske[3]], "big") == S.rsa_pss_rsae_sha256


def test_client_listing_only_sha1_refused_by_default() -> None:
    server, _ = server_for("rsa")
    record, _ = raw_client_hello(ECDHE_RSA, (S.rsa_pkcs1_sha1,))
    events = server.receive_bytes(record)
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert closed and closed[0].error.description == A.handshake_failure


# -- glasstls pairs ------------------------------------------------------------------------------


def rsa_pair(client_kw: dict, server_kw: dict, **kw):
    return make_pair(identity=rsa_identity(), client_kw=client_kw, server_kw=server_kw, **kw)


def test_tls12_pair_signs_server_key_exchange_with_sha1_when_both_name_it() -> None:
    pair = rsa_pair(
        {"tls_max": ProtocolVersion.TLSv1_2, "signature_schemes": SHA1_FIRST}, {"signature_schemes": SHA1_FIRST}
    )
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
    assert pair.client.parameters.signature_scheme == pair.server.parameters.signature_scheme == "rsa_pkcs1_sha1"


def test_tls12_client_certificate_verify_with_ecdsa_sha1() -> None:
    sent: list[Handshake] = []
    client = default_ca().issue_client("client.test")
    pair = make_pair(
        client_alter=lambda msg: sent.append(msg) and None,
        client_kw={
            "tls_max": ProtocolVersion.TLSv1_2,
            "signature_schemes": SHA1_FIRST,
            "certificate": CertifiedKey(client.chain, client.private_key),
        },
        server_kw={
            "signature_schemes": (S.ecdsa_sha1,),
            "client_auth": "required",
            "client_trust_store": TrustStore.from_pem(default_ca().root_pem()),
        },
    )
    pair.handshake()
    assert pair.server.handshake_complete and pair.server.parameters.client_auth, pair.log
    assert pair.server.parameters.signature_scheme == "ecdsa_sha1"
    verifies = [m for m in sent if isinstance(m, CertificateVerify)]
    assert len(verifies) == 1 and verifies[0].algorithm == S.ecdsa_sha1


def test_tls13_never_signs_with_sha1_even_when_listed_first() -> None:
    pair = rsa_pair({"signature_schemes": SHA1_FIRST}, {"signature_schemes": SHA1_FIRST})
    pair.handshake()
    assert pair.client.parameters.version == "TLSv1.3"
    assert pair.client.parameters.signature_scheme == "rsa_pss_rsae_sha256"


def test_tls13_with_only_sha1_fails() -> None:
    only_sha1 = {"signature_schemes": (S.rsa_pkcs1_sha1,)}
    pair = rsa_pair({**only_sha1, "tls_min": ProtocolVersion.TLSv1_3}, only_sha1)
    pair.handshake()
    assert not pair.client.handshake_complete and not pair.server.handshake_complete
    assert isinstance(pair.server.error, AlertError) and pair.server.error.description == A.handshake_failure


def test_tls13_client_refuses_a_sha1_certificate_verify_it_listed() -> None:
    def to_sha1(msg: Handshake) -> bytes:
        return replace(msg, algorithm=S.rsa_pkcs1_sha1).encode()

    pair = rsa_pair({"signature_schemes": SHA1_FIRST}, {}, server_alter=once(CertificateVerify, to_sha1))
    pair.handshake()
    err = pair.client.error
    assert isinstance(err, AlertError) and err.description == A.illegal_parameter
    assert "rsa_pkcs1_sha1" in err.reason and "did not offer for TLS 1.3" in err.reason
