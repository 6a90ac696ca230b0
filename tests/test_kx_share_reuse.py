"""A ClientHello that offers X25519MLKEM768 and x25519 sends one X25519 key, not two.

draft-ietf-tls-hybrid-design lets a component algorithm's key_exchange value be
reused across the KeyShareEntry records of one ClientHello; rustls and Go's crypto/tls send
the hybrid's X25519 public key as the standalone x25519 share, and so does glasstls
(:func:`glasstls.crypto.kx.generate_key_shares`). The client's hybrid share is the ML-KEM-768
encapsulation key followed by the X25519 public key (draft-ietf-tls-ecdhe-mlkem, Section 4.1),
so the x25519 share is its last 32 bytes.

* the default client's ClientHello carries both shares, the x25519 one equal to the hybrid's
  last 32 bytes (this test fails when the reuse is taken out: two keys, two public values);
* generate_key_shares draws its randomness in a fixed, documented order, whichever of the two
  groups comes first, and leaves every other group as generate_key_share makes it;
* real handshakes complete, with application data both ways, when the server picks x25519
  (a glasstls server with x25519 only, and ``openssl s_server -groups X25519`` on 127.0.0.1)
  and when it picks the hybrid;
* the --explain text says that the x25519 share is the hybrid's X25519 part, and only when the
  bytes show it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from glasstls import ApplicationData, ClientConfig, ClientConnection
from glasstls.crypto import kx
from glasstls.crypto.rand import ReplayRandomness
from glasstls.enums import ExtensionType, NamedGroup
from glasstls.observe import EventList
from glasstls.trace.explain_phrases import reused_shares
from glasstls.trace.text import render_text
from glasstls.wire.extensions import KeyShareEntry
from glasstls.wire.handshake import ClientHello, Handshake, decode_message
from glasstls.x509.store import TrustStore
from pairs import Pair, default_ca, make_pair, server_identity, transfer

sys.path.insert(0, str(Path(__file__).parent / "interop"))
from interop_peers import OpenSSLServer, ServerFiles, glasstls_line_through, split_pem_chain, trace_server_hellos

HYBRID, X25519 = NamedGroup.X25519MLKEM768, NamedGroup.x25519
X25519_LEN, HYBRID_CLIENT_LEN, MLKEM768_EK_LEN, MLKEM_SEED_LEN = 32, 1216, 1184, 64

pytestmark = pytest.mark.skipif(HYBRID not in kx.SUPPORTED_GROUPS, reason="no ML-KEM in this cryptography build")


def client_config(**kw: Any) -> ClientConfig:
    return ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), **kw)


def shares_of(hello: ClientHello) -> tuple[KeyShareEntry, ...]:
    ext = hello.ext(ExtensionType.key_share)
    assert ext is not None, "the ClientHello has no key_share"
    entries: tuple[KeyShareEntry, ...] = ext.value
    return entries


def first_client_hello(conn: ClientConnection) -> ClientHello:
    record = conn.data_to_send()
    assert record[0] == 0x16, record[:5]
    hello = decode_message(record[5:])
    assert isinstance(hello, ClientHello)
    return hello


def assert_x25519_is_the_hybrids_half(entries: tuple[KeyShareEntry, ...]) -> None:
    by_group = {e.group: e.key_exchange for e in entries}
    hybrid, x25519 = by_group[HYBRID], by_group[X25519]
    assert (len(hybrid), len(x25519)) == (HYBRID_CLIENT_LEN, X25519_LEN)
    # draft-ietf-tls-ecdhe-mlkem, Section 4.1: ML-KEM-768 encapsulation key || X25519 public
    assert x25519 == hybrid[MLKEM768_EK_LEN:] == hybrid[-X25519_LEN:]


# -- the ClientHello ---------------------------------------------------------------------------


def test_default_client_hello_sends_the_hybrids_x25519_key_as_its_x25519_share() -> None:
    hello = first_client_hello(ClientConnection(client_config(), server_name="example.com"))
    entries = shares_of(hello)
    assert [e.group for e in entries] == [HYBRID, X25519]  # the default shares_for, in its order
    assert_x25519_is_the_hybrids_half(entries)


def test_each_hello_has_a_fresh_key() -> None:
    """Reuse is within one ClientHello only: the next connection's hello has new keys."""
    config = client_config()
    first, second = (shares_of(first_client_hello(ClientConnection(config, "example.com"))) for _ in range(2))
    assert_x25519_is_the_hybrids_half(first)
    assert_x25519_is_the_hybrids_half(second)
    assert first[1].key_exchange != second[1].key_exchange
    assert first[0].key_exchange[:MLKEM768_EK_LEN] != second[0].key_exchange[:MLKEM768_EK_LEN]


@pytest.mark.parametrize("groups", [(X25519, HYBRID), (HYBRID, X25519)], ids=["x25519-first", "hybrid-first"])
def test_configured_order_is_kept_and_the_key_shared(groups: tuple[NamedGroup, ...]) -> None:
    config = client_config(groups=groups, key_share_groups=groups)
    entries = shares_of(first_client_hello(ClientConnection(config, "example.com")))
    assert tuple(e.group for e in entries) == groups
    assert_x25519_is_the_hybrids_half(entries)


# -- generate_key_shares: the order of the draws -------------------------------------------------

SEED, X_PRIV = bytes(range(MLKEM_SEED_LEN)), bytes(range(100, 100 + X25519_LEN))


@pytest.mark.parametrize("groups", [(HYBRID, X25519), (X25519, HYBRID)], ids=["hybrid-first", "x25519-first"])
def test_the_pair_draws_what_the_hybrid_alone_draws(groups: tuple[NamedGroup, ...]) -> None:
    """ReplayRandomness hands out whole chunks and fails on a draw of another size or past its
    end: the pair draws the 64-byte ML-KEM seed, then 32 bytes of X25519, and nothing more."""
    alone = kx.generate_key_share(HYBRID, ReplayRandomness(SEED, X_PRIV)).public_bytes()
    shares = kx.generate_key_shares(groups, ReplayRandomness(SEED, X_PRIV))
    assert tuple(shares) == groups
    assert shares[HYBRID].public_bytes() == alone
    assert shares[X25519].public_bytes() == alone[-X25519_LEN:]
    assert shares[X25519].public_bytes() == kx.generate_key_share(X25519, ReplayRandomness(X_PRIV)).public_bytes()


def test_the_pair_draws_where_its_first_group_stands() -> None:
    p256 = bytes(range(1, 33))  # a P-256 scalar: 32 bytes (below the order)
    x448 = bytes(range(56))
    first = kx.generate_key_shares((X25519, NamedGroup.secp256r1, HYBRID), ReplayRandomness(SEED, X_PRIV, p256))
    assert tuple(first) == (X25519, NamedGroup.secp256r1, HYBRID)
    assert first[NamedGroup.secp256r1].public_bytes() == (
        kx.generate_key_share(NamedGroup.secp256r1, ReplayRandomness(p256)).public_bytes()
    )
    # the same pair after another group: that group draws first
    later = kx.generate_key_shares((NamedGroup.x448, HYBRID, X25519), ReplayRandomness(x448, SEED, X_PRIV))
    assert later[HYBRID].public_bytes() == first[HYBRID].public_bytes()
    assert later[X25519].public_bytes() == first[X25519].public_bytes() == first[HYBRID].public_bytes()[-32:]


def test_other_groups_are_made_as_generate_key_share_makes_them() -> None:
    groups = (X25519, NamedGroup.secp256r1, NamedGroup.x448)  # no hybrid: x25519 draws its own key
    draws = (X_PRIV, bytes(range(1, 33)), bytes(range(56)))
    shares = kx.generate_key_shares(groups, ReplayRandomness(*draws))
    assert tuple(shares) == groups
    for group, draw in zip(groups, draws, strict=True):
        assert shares[group].public_bytes() == kx.generate_key_share(group, ReplayRandomness(draw)).public_bytes()
    assert kx.generate_key_shares((HYBRID,), ReplayRandomness(SEED, X_PRIV))[HYBRID].public_bytes() == (
        kx.generate_key_share(HYBRID, ReplayRandomness(SEED, X_PRIV)).public_bytes()
    )


def test_either_share_completes_an_exchange_with_the_one_key() -> None:
    """The server picks one group; whichever, the client derives the server's secret."""
    for group in (X25519, HYBRID):
        shares = kx.generate_key_shares((HYBRID, X25519), ReplayRandomness(SEED, X_PRIV))
        server_share, secret = kx.encapsulate_to(group, shares[group].public_bytes(), ReplayRandomness(SEED[:32]))
        assert shares[group].exchange(server_share) == secret


# -- handshakes ------------------------------------------------------------------------------------


def handshake_with_data(pair: Pair) -> None:
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete, pair.log
    pair.client.send(b"client to server")
    assert ApplicationData(b"client to server") in transfer(pair.client, pair.server)
    pair.server.send(b"server to client")
    assert ApplicationData(b"server to client") in transfer(pair.server, pair.client)


@pytest.mark.parametrize(
    ("server_groups", "chosen"),
    [((X25519,), "x25519"), ((HYBRID, X25519), "X25519MLKEM768")],
    ids=["server-picks-x25519", "server-picks-hybrid"],
)
def test_handshake_completes_whichever_share_the_server_picks(
    server_groups: tuple[NamedGroup, ...], chosen: str
) -> None:
    sent: list[Handshake] = []

    def keep(msg: Handshake) -> None:
        sent.append(msg)

    pair = make_pair(client_alter=keep, server_kw={"groups": server_groups})
    handshake_with_data(pair)
    hellos = [m for m in sent if isinstance(m, ClientHello)]
    assert len(hellos) == 1, "a HelloRetryRequest was needed"
    assert_x25519_is_the_hybrids_half(shares_of(hellos[0]))
    assert pair.client.parameters is not None and pair.server.parameters is not None
    assert pair.client.parameters.group == pair.server.parameters.group == chosen


@pytest.mark.interop
def test_openssl_s_server_with_x25519_only_takes_the_shared_key(tmp_path: Path) -> None:
    identity = server_identity("localhost")
    leaf_pem, intermediates_pem = split_pem_chain(identity.chain_pem())
    files = ServerFiles(tmp_path / "leaf.pem", tmp_path / "chain.pem", tmp_path / "full.pem", tmp_path / "key.pem")
    files.leaf.write_bytes(leaf_pem)
    files.intermediates.write_bytes(intermediates_pem)
    identity.write(files.full_chain, files.key)
    line = b"glasstls shares one X25519 key\n"
    with OpenSSLServer(files, tmp_path / "s_server.trace", "-groups", "X25519") as server:
        params, answer = glasstls_line_through(server, client_config(), line)
        server.wait_exit()
        trace = server.trace
    assert params is not None and (params.version, params.group) == ("TLSv1.3", "x25519")
    assert answer == line[:-1][::-1] + b"\n"  # through OpenSSL's keys and back (-rev)
    hellos = trace_server_hellos(trace)
    assert [(h.group, h.retry) for h in hellos] == [(X25519, False)], trace  # the first share was taken


# -- the explanation -------------------------------------------------------------------------------

SHARED_SENTENCE = "Its x25519 share is no second key: it is the x25519 part of the X25519MLKEM768 share"


def explained_client_hello(config: ClientConfig) -> str:
    events = EventList()
    ClientConnection(config, "example.com", observer=events)
    return render_text(events.events, explain=True, width=100_000)


def test_explain_says_the_x25519_share_is_the_hybrids_half() -> None:
    text = explained_client_hello(client_config())
    assert SHARED_SENTENCE in text and "the same 32 bytes" in text
    assert text.count(SHARED_SENTENCE) == 1


def test_explain_says_nothing_of_two_separate_keys() -> None:
    """A hello whose two keys differ (another client's, or glasstls's before the reuse) is not said to share one."""
    hello = first_client_hello(ClientConnection(client_config(), "example.com"))
    hybrid, _ = shares_of(hello)
    other = kx.generate_key_share(X25519, ReplayRandomness(X_PRIV)).public_bytes()
    assert reused_shares((hybrid, KeyShareEntry(X25519, other))) == []
    assert reused_shares((hybrid, KeyShareEntry(X25519, hybrid.key_exchange[-X25519_LEN:]))) != []
    assert reused_shares((KeyShareEntry(X25519, other),)) == [] and reused_shares(None) == []
