"""kx's X25519 fast path (cryptography's Rust binding, called without its classmethods' wrapper)
against the classmethods: the same keys and secrets, and the classmethods' refusal where the
backend refuses X25519 (FIPS mode)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import x25519

from glasstls.crypto import kx
from glasstls.crypto.rand import system_randomness
from glasstls.enums import NamedGroup
from glasstls.errors import AlertError


def test_generated_key_is_cryptographys() -> None:
    key = kx._x25519_generate()
    assert isinstance(key, x25519.X25519PrivateKey)
    peer = x25519.X25519PrivateKey.generate()
    assert key.exchange(peer.public_key()) == peer.exchange(key.public_key())


def test_peer_key_reads_as_cryptographys() -> None:
    raw = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    fast, careful = kx._x25519_public(raw), x25519.X25519PublicKey.from_public_bytes(raw)
    assert isinstance(fast, x25519.X25519PublicKey)
    assert fast == careful and fast.public_bytes_raw() == raw


def test_round_trip_through_the_fast_path() -> None:
    client = kx.generate_key_share(NamedGroup.x25519, system_randomness)
    server_public, server_secret = kx.encapsulate_to(NamedGroup.x25519, client.public_bytes(), system_randomness)
    assert client.exchange(server_public) == server_secret


# RFC 7748, Section 6.1: Alice's public key, a good one. (Fixed, not drawn at collection: pytest-xdist's
# workers must collect the same test ids.)
_GOOD_PEER = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")


@pytest.mark.parametrize(
    "peer",
    [b"", bytes(31), bytes(33), bytes(32), _GOOD_PEER],
    ids=["empty", "short", "long", "small-order", "good"],
)
def test_bad_peer_keys_fail_alike(peer: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong length, a small-order point, a good key: the same outcome with the binding as with
    the classmethods (whose ValueError the binding raises)."""
    share = kx.generate_key_share(NamedGroup.x25519, system_randomness)
    fast = _outcome(share, peer)
    monkeypatch.setattr(kx, "_RUST_X25519", None)
    assert _outcome(share, peer) == fast


def _outcome(share: kx.KeyShare, peer: bytes) -> tuple[str, object]:
    try:
        return ("secret", share.exchange(peer))
    except AlertError as exc:
        return ("alert", (exc.description, exc.reason))


def test_refused_where_the_backend_refuses_x25519(monkeypatch: pytest.MonkeyPatch) -> None:
    """FIPS mode: the backend says no, and glasstls raises what cryptography's classmethods raise."""
    monkeypatch.setattr(kx._x25519_backend, "x25519_supported", lambda: False)
    with pytest.raises(UnsupportedAlgorithm):
        x25519.X25519PrivateKey.generate()
    with pytest.raises(UnsupportedAlgorithm):
        kx.generate_key_share(NamedGroup.x25519, system_randomness)
    with pytest.raises(UnsupportedAlgorithm):
        kx._x25519_public(bytes(range(32)))


def test_group_given_as_a_plain_value() -> None:
    """generate_key_share takes the group as a member or its value, and refuses an unsupported one alike."""
    assert kx.generate_key_share(int(NamedGroup.x25519), system_randomness).group is NamedGroup.x25519
    for group in (0x1234, NamedGroup(0x1234)):
        with pytest.raises(Exception, match="is not supported") as raised:
            kx.generate_key_share(group, system_randomness)
        assert "unknown_0x1234" in str(raised.value)



def test_a_cryptography_without_the_binding_s_names_takes_the_classmethods() -> None:
    """The binding is private to cryptography: kx takes it only with every name it calls."""
    binding = SimpleNamespace(generate_key=object(), from_public_bytes=object())
    backend = SimpleNamespace(x25519_supported=object())
    assert kx._x25519_binding(binding, backend) is binding
    assert kx._x25519_binding(None, backend) is None
    assert kx._x25519_binding(SimpleNamespace(generate_key=object()), backend) is None
    assert kx._x25519_binding(SimpleNamespace(from_public_bytes=object()), backend) is None
    assert kx._x25519_binding(binding, SimpleNamespace()) is None
    assert kx._RUST_X25519 is not None  # this cryptography has them all
