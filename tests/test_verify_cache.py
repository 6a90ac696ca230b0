"""The verification cache (x509/verify_cache.py): a chain verified once is not validated again
while every certificate of its path is within its dates, for the same trust store and name; a
failure is never kept; revocation is checked on every handshake; both caches are bounded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from glasstls import CertifiedKey, ClientConfig, ServerConfig
from glasstls.enums import AlertDescription
from glasstls.errors import AlertError
from glasstls.events import ConnectionClosed
from glasstls.handshake.peer_auth import load_certificate, parse_der_chain
from glasstls.x509 import names, verify_cache
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore
from glasstls.x509.verify import verify_client_chain, verify_server_chain
from pairs import TamperingClient, TamperingServer, transfer
from revocation_helpers import crl

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> ThrowawayCA:
    return ThrowawayCA.create(now=NOW)


def test_a_verified_chain_is_kept_within_its_dates(ca: ThrowawayCA) -> None:
    store = TrustStore.from_pem(ca.root_pem())
    leaf = ca.issue_server(["example.com"], now=NOW)
    first = verify_server_chain(leaf.chain, "example.com", store, NOW)
    assert verify_server_chain(leaf.chain, "example.com", store, NOW + timedelta(days=1)) is first
    assert len(store.verified) == 1
    # another name, another store: validated again, and the name still checked
    with pytest.raises(AlertError, match=r"not other\.example"):
        verify_server_chain(leaf.chain, "other.example", store, NOW)
    other = TrustStore.from_pem(ca.root_pem())
    assert verify_server_chain(leaf.chain, "example.com", other, NOW) is not first
    # past the leaf's notAfter the kept result does not answer: the chain fails as it must
    late = leaf.certificate.not_valid_after_utc + timedelta(seconds=1)
    with pytest.raises(AlertError) as expired:
        verify_server_chain(leaf.chain, "example.com", store, late)
    assert expired.value.description == AlertDescription.certificate_expired


def test_a_client_chain_is_kept_apart_and_its_crls_checked_every_time(ca: ThrowawayCA) -> None:
    """Client chains (verify_client_chain) are kept as server chains are, under a name of their own:
    the same client again, or a session's chain checked again at resumption, is not validated twice;
    its CRLs are looked at every time, and a client chain is never a server chain's answer."""
    store = TrustStore.from_pem(ca.root_pem())
    client = ca.issue_client("client.test", now=NOW)
    first = verify_client_chain(client.chain, store, NOW)
    assert verify_client_chain(client.chain, store, NOW + timedelta(days=1)) is first
    assert len(store.verified) == 1
    revoked = crl((ca.intermediate_cert, ca.intermediate_key), revoked=[client.certificate], now=NOW)
    with pytest.raises(AlertError) as refused:
        verify_client_chain(client.chain, store, NOW, crls=[revoked])
    assert refused.value.description == AlertDescription.certificate_revoked
    late = client.certificate.not_valid_after_utc + timedelta(seconds=1)
    with pytest.raises(AlertError) as expired:
        verify_client_chain(client.chain, store, late)
    assert expired.value.description == AlertDescription.certificate_expired
    # the kept client result never answers for a server: checked as one, the chain fails (its EKU)
    with pytest.raises(AlertError):
        verify_server_chain(client.chain, "client.test", store, NOW)
    with pytest.raises(AlertError):
        verify_server_chain(client.chain, None, store, NOW)


def test_a_failure_is_not_kept(ca: ThrowawayCA) -> None:
    store = TrustStore.from_pem(ca.root_pem())
    leaf = ca.issue_server(["example.com"], now=NOW)
    for _ in range(2):
        with pytest.raises(AlertError, match=r"not wrong\.example"):
            verify_server_chain(leaf.chain, "wrong.example", store, NOW)
    assert len(store.verified) == 0
    broken = (leaf.certificate,)  # the intermediate left out: unknown issuer, every time
    for _ in range(2):
        with pytest.raises(AlertError):
            verify_server_chain(broken, "example.com", store, NOW)
    assert len(store.verified) == 0


def test_the_caches_are_bounded(ca: ThrowawayCA, monkeypatch: pytest.MonkeyPatch) -> None:
    store = TrustStore.from_pem(ca.root_pem())
    store.verified = verify_cache.VerifiedCache(size=3)
    leaves = [ca.issue_server([f"host{i}.example"], now=NOW) for i in range(5)]
    for i, leaf in enumerate(leaves):
        verify_server_chain(leaf.chain, f"host{i}.example", store, NOW)
    assert len(store.verified) == 3
    monkeypatch.setattr(verify_cache, "_parsed", verify_cache._Lru(2))
    ders = [leaf.certificate.public_bytes(serialization.Encoding.DER) for leaf in leaves]
    parsed = [load_certificate(der, 0, "server") for der in ders]
    assert len(verify_cache._parsed) == 2
    assert load_certificate(ders[-1], 0, "server") is parsed[-1]  # kept
    assert load_certificate(ders[0], 0, "server") is not parsed[0]  # evicted, parsed again


def test_a_certificate_gives_back_its_der(ca: ThrowawayCA, monkeypatch: pytest.MonkeyPatch) -> None:
    """der_of answers with the bytes a certificate was parsed from, or serialises it; bounded."""
    monkeypatch.setattr(verify_cache, "_ders", verify_cache._Lru(2))
    leaves = [ca.issue_server([f"der{i}.example"], now=NOW) for i in range(3)]
    ders = [leaf.certificate.public_bytes(serialization.Encoding.DER) for leaf in leaves]
    parsed = [load_certificate(der, 0, "server") for der in ders]
    assert len(verify_cache._ders) == 2
    assert verify_cache.der_of(parsed[2]) is ders[2]  # the very bytes it was parsed from
    assert [verify_cache.der_of(cert) for cert in parsed] == ders  # evicted or not, the same DER
    made_here = leaves[0].certificate  # never went through parsed()
    assert verify_cache.der_of(made_here) == ders[0]
    assert len(verify_cache._ders) == 2


def test_a_chain_parses_once_and_is_bounded(ca: ThrowawayCA, monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_der_chain keeps a chain by its DER (a session's chain comes back on every resumption):
    the same certificates for an equal tuple, a bounded table, a bad chain never kept."""
    monkeypatch.setattr(verify_cache, "_chains", verify_cache._Lru(2))
    leaves = [ca.issue_server([f"chain{i}.example"], now=NOW) for i in range(3)]
    chains = [tuple(c.public_bytes(serialization.Encoding.DER) for c in leaf.chain) for leaf in leaves]
    first = parse_der_chain(chains[0], "server")
    assert [c.public_bytes(serialization.Encoding.DER) for c in first] == list(chains[0])
    assert parse_der_chain(tuple(bytes(der) for der in chains[0]), "server") is first  # equal DER, kept
    for chain in chains[1:]:
        parse_der_chain(chain, "server")
    assert len(verify_cache._chains) == 2
    assert parse_der_chain(chains[0], "server") is not first  # evicted, parsed again
    assert parse_der_chain((), "server") == ()
    broken = (chains[1][0], b"\x30\x03\x02\x01\x00")
    for _ in range(2):
        with pytest.raises(AlertError) as bad:
            parse_der_chain(broken, "server")
        assert bad.value.description == AlertDescription.bad_certificate
        assert "server certificate #1" in bad.value.reason
    assert broken not in verify_cache._chains._items


def test_a_certificates_description_is_kept_per_object_and_bounded(
    ca: ThrowawayCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """describe() keeps its text by certificate object (held, so the id is not reused), within its bound."""
    monkeypatch.setattr(names, "_described", {})
    monkeypatch.setattr(names, "_DESCRIBED_MAX", 2)
    leaves = [ca.issue_server([f"desc{i}.example"], now=NOW).certificate for i in range(3)]
    texts = [names.describe(cert) for cert in leaves]
    assert texts == [f"CN=desc{i}.example" for i in range(3)]
    assert len(names._described) <= 2
    assert names.describe(leaves[2]) is texts[2]  # kept: the same text object
    again = load_certificate(leaves[0].public_bytes(serialization.Encoding.DER), 0, "server")
    assert names.describe(again) == texts[0]  # another object, the same subject
    assert len(names._described) <= 2


def test_a_malformed_certificate_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(AlertError) as bad:
            load_certificate(b"\x30\x03\x02\x01\x00", 0, "server")
        assert bad.value.description == AlertDescription.bad_certificate


def _handshake(config: ClientConfig, server: ServerConfig) -> list:
    client = TamperingClient(config, "localhost")
    peer = TamperingServer(server)
    events = []
    for _ in range(4):
        transfer(client, peer)
        events += transfer(peer, client)
    return events


def test_revocation_is_checked_on_every_handshake() -> None:
    """The same trust store (its cache warm from the first handshake) with a CRL revoking the
    server's certificate: the second handshake is refused."""
    ca = ThrowawayCA.create()
    identity = ca.issue_server(["localhost"])
    store = TrustStore.from_pem(ca.root_pem())
    server = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),))
    client = ClientConfig(trust_store=store, ocsp="off")
    assert not any(isinstance(e, ConnectionClosed) for e in _handshake(client, server))
    assert len(store.verified) == 1
    revoked = crl((ca.intermediate_cert, ca.intermediate_key), [identity.certificate])
    closed = [e for e in _handshake(replace(client, crls=(revoked,)), server) if isinstance(e, ConnectionClosed)]
    assert closed and closed[0].error.description == AlertDescription.certificate_revoked
