"""X25519MLKEM768 by default (issue 10, item 5; draft-ietf-tls-ecdhe-mlkem): first in the
groups, shares for it and X25519 in the first ClientHello, preferred by the server even at
the cost of a HelloRetryRequest, and never offered to or chosen for TLS 1.2."""

from __future__ import annotations

import pytest

from glasstls import ClientConfig, NamedGroup, ProtocolVersion, ServerConfig
from glasstls.crypto import kx
from glasstls.enums import ExtensionType
from glasstls.observe import EventList, MessageTrace
from glasstls.wire.handshake import HelloRetryRequest
from pairs import connected_pair, make_pair

HYBRID, X25519 = NamedGroup.X25519MLKEM768, NamedGroup.x25519
pytestmark = pytest.mark.skipif(HYBRID not in kx.SUPPORTED_GROUPS, reason="this cryptography build lacks ML-KEM")


def _hrr_sent(log: EventList) -> bool:
    return any(isinstance(e, MessageTrace) and isinstance(e.message, HelloRetryRequest) for e in log.events)


def test_defaults_put_the_hybrid_first_with_an_x25519_share_beside_it() -> None:
    config = ClientConfig()
    assert config.groups[:2] == (HYBRID, X25519)
    assert config.shares_for == (HYBRID, X25519)
    assert ServerConfig.__dataclass_fields__["groups"].default[0] == HYBRID
    hello = make_pair().client.offered_hello
    shares = hello.ext(ExtensionType.key_share).value
    assert [s.group for s in shares] == [HYBRID, X25519]
    assert len(shares[0].key_exchange) == 1184 + 32  # ML-KEM-768 encapsulation key, then X25519


def test_two_default_peers_agree_on_the_hybrid_without_a_retry() -> None:
    log = EventList()
    pair = connected_pair(server_observer=log)
    assert pair.client.parameters is not None and pair.client.parameters.group == HYBRID.name
    assert not _hrr_sent(log)


def test_the_server_asks_for_the_hybrid_when_the_client_sent_only_x25519() -> None:
    log = EventList()
    pair = connected_pair(server_observer=log, client_kw={"key_share_groups": (X25519,)})
    assert _hrr_sent(log)
    assert pair.server.parameters is not None and pair.server.parameters.group == HYBRID.name


def test_a_server_preferring_x25519_takes_the_x25519_share() -> None:
    log = EventList()
    pair = connected_pair(server_observer=log, server_kw={"groups": (X25519, HYBRID)})
    assert pair.server.parameters is not None and pair.server.parameters.group == X25519.name
    assert not _hrr_sent(log)


def test_tls12_neither_offers_nor_chooses_the_hybrid() -> None:
    pair = connected_pair(client_kw={"tls_max": ProtocolVersion.TLSv1_2})
    groups = pair.client.offered_hello.ext(ExtensionType.supported_groups).value
    assert HYBRID not in groups and X25519 in groups
    assert pair.server.parameters is not None and pair.server.parameters.group == X25519.name
    # A TLS 1.2 server with the hybrid first still picks an ECDHE curve (it is TLS 1.3-only).
    other = connected_pair(server_kw={"tls_max": ProtocolVersion.TLSv1_2})
    assert other.server.parameters is not None and other.server.parameters.group == X25519.name
