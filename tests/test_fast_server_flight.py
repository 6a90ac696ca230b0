"""The server flight's per-key table gives what working it out anew gives: the schemes a signing
key can make (signatures.signable_schemes, which choose_signature_scheme and sign() read). Another
key, another rule or another offered list is never served an answer kept for a different one; and
a server still serves each name its own chain."""

from __future__ import annotations

import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ServerConfig, ServerConnection
from glasstls.crypto import signatures
from glasstls.crypto.rand import system_randomness
from glasstls.crypto.signatures import TLS13_SIGNATURE_SCHEMES, scheme_fits_key, sign, signable_schemes
from glasstls.enums import AlertDescription, SignatureScheme
from glasstls.errors import AlertError
from glasstls.handshake.negotiation import choose_signature_scheme
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore

ALL_SCHEMES = sorted(SignatureScheme(s) for s in signatures.TLS12_SIGNATURE_SCHEMES)


@pytest.fixture(scope="module")
def keys() -> list[object]:
    return [
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP521R1()),
        ed25519.Ed25519PrivateKey.generate(),
        rsa.generate_private_key(65537, 2048),
        rsa.generate_private_key(65537, 1024),  # too small for rsa_pss_*_sha512 (RFC 8017, 9.1.1)
    ]


def _reference_choice(offered: list[Any], key: Any, allowed: Any, rsa_pss_key: bool | None) -> SignatureScheme | None:
    """choose_signature_scheme as it was, scheme by scheme through scheme_fits_key."""
    for scheme in offered:
        if allowed is not None and scheme not in allowed:
            continue
        if scheme in TLS13_SIGNATURE_SCHEMES and scheme_fits_key(key, scheme, rsa_pss_key=rsa_pss_key):
            return SignatureScheme(scheme)
    return None


def test_signable_schemes_are_what_scheme_fits_key_accepts(keys: list[Any]) -> None:
    signatures._SIGNABLE.clear()
    for _ in range(2):  # worked out, then kept: the same both times
        for key in keys:
            for tls13 in (True, False):
                for pss in (True, False, None):
                    expected = {s for s in ALL_SCHEMES if scheme_fits_key(key, s, tls13=tls13, rsa_pss_key=pss)}
                    assert signable_schemes(key, tls13=tls13, rsa_pss_key=pss) == expected


def test_another_key_of_the_same_kind_is_not_served_the_first_ones_schemes(keys: list[Any]) -> None:
    p256, p384 = keys[0], keys[1]
    assert signable_schemes(p256) == {SignatureScheme.ecdsa_secp256r1_sha256}
    assert signable_schemes(p384) == {SignatureScheme.ecdsa_secp384r1_sha384}
    big, small = keys[4], keys[5]
    assert SignatureScheme.rsa_pss_rsae_sha512 in signable_schemes(big)
    assert SignatureScheme.rsa_pss_rsae_sha512 not in signable_schemes(small)


def test_the_table_is_bounded_and_starts_over(keys: list[Any]) -> None:
    signatures._SIGNABLE.clear()
    fresh = [ed25519.Ed25519PrivateKey.generate() for _ in range(signatures._SIGNABLE_MAX + 5)]
    for key in fresh:
        assert signable_schemes(key) == {SignatureScheme.ed25519}
    assert len(signatures._SIGNABLE) <= signatures._SIGNABLE_MAX
    assert signable_schemes(keys[0]) == {SignatureScheme.ecdsa_secp256r1_sha256}


def test_the_chosen_scheme_is_the_one_chosen_scheme_by_scheme(keys: list[Any]) -> None:
    rng = random.Random(31)
    pool = [*ALL_SCHEMES, 0x0A0A, 0x0301]  # GREASE and an unknown code point ride along
    for _ in range(300):
        offered = rng.sample(pool, rng.randint(0, len(pool)))
        allowed = None if rng.random() < 0.3 else tuple(rng.sample(ALL_SCHEMES, rng.randint(0, len(ALL_SCHEMES))))
        for key in keys:
            for pss in (False, True):
                expected = _reference_choice(offered, key, allowed, pss)
                try:
                    got = choose_signature_scheme(offered, key, allowed, pss)
                except AlertError as exc:
                    assert expected is None and exc.description == AlertDescription.handshake_failure
                else:
                    assert got == expected and type(got) is SignatureScheme


def test_sign_still_refuses_a_scheme_the_key_cannot_make(keys: list[Any]) -> None:
    message = b"content"
    for key in keys:
        for tls13 in (True, False):
            for scheme in [*ALL_SCHEMES, 0x0A0A]:
                # rsa_pss_key=None: sign() leaves an RSA key's certificate kind to its caller.
                fits = scheme_fits_key(key, scheme, tls13=tls13, rsa_pss_key=None)
                try:
                    signature = sign(key, scheme, message, system_randomness, tls13=tls13)
                except AlertError as exc:
                    assert not fits and exc.description == AlertDescription.illegal_parameter
                else:
                    assert fits and signature


@pytest.fixture(scope="module")
def ca() -> ThrowawayCA:
    return ThrowawayCA.create()


def test_a_handshake_picks_the_chain_by_name_as_before(ca: ThrowawayCA) -> None:
    """Through real connections: two configurations, several names, each served its own chain."""
    a, b = ca.issue_server(["a.test"]), ca.issue_server(["b.test"])
    trust = TrustStore.from_pem(ca.root_pem())
    configs = [
        ServerConfig(certificates=(CertifiedKey(a.chain, a.private_key), CertifiedKey(b.chain, b.private_key))),
        ServerConfig(certificates=(CertifiedKey(b.chain, b.private_key), CertifiedKey(a.chain, a.private_key))),
    ]
    for _ in range(2):
        for config in configs:
            for name, ident in (("a.test", a), ("b.test", b)):
                client = ClientConnection(ClientConfig(trust_store=trust), server_name=name)
                server = ServerConnection(config)
                server.receive_bytes(client.data_to_send())
                client.receive_bytes(server.data_to_send())
                server.receive_bytes(client.data_to_send())
                assert client.handshake_complete and server.handshake_complete
                assert client.parameters is not None
                assert client.parameters.peer_certificates[0] == ident.chain[0]
