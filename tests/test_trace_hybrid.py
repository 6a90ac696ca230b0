"""The hybrid post-quantum key share, split into its parts by the renderers (issue 10, item 8).

draft-ietf-tls-ecdhe-mlkem, Sections 4.1 to 4.3: X25519MLKEM768's client share is
the ML-KEM-768 encapsulation key (1184 bytes) then the X25519 share (32), the
server's the ML-KEM-768 ciphertext (1088) then its X25519 share (32), and the
shared secret the ML-KEM secret then the X25519 secret.

* The field tree of a real hybrid ClientHello and ServerHello (shares made by
  glasstls.crypto.kx) names both parts of each key_exchange, at the right
  offsets: the parts are checked against keys made independently with
  cryptography (the client's from the same seed; the server's by decapsulating
  its ciphertext and exchanging with its X25519 part, which must give the two
  halves of the shared secret, in the draft's order).
* describe's one-liners and fields name the parts.
* A hybrid share of the wrong length (truncated, padded, random) never raises:
  the key_exchange holds one undecodable leaf saying what the size should be,
  and the tree still tiles the message.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import cast

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasstls.crypto import kx
from glasstls.enums import CipherSuite, NamedGroup, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.trace import describe as D
from glasstls.trace import headlines as HL
from glasstls.trace.fields import UNDECODABLE, Field, field_tree
from glasstls.trace.text import field_tree_lines
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.extensions import Extension, KeyShareEntry

pytestmark = pytest.mark.skipif(
    NamedGroup.X25519MLKEM768 not in kx.SUPPORTED_GROUPS, reason="this cryptography build has no ML-KEM"
)

HYBRID = NamedGroup.X25519MLKEM768
V13 = ProtocolVersion.TLSv1_3


def stream(seed: bytes) -> Callable[[int], bytes]:
    """Deterministic randomness: the bytes of ``seed`` repeated, handed out in order."""
    data = bytearray(seed * 64)

    def take(n: int) -> bytes:
        out = bytes(data[:n])
        del data[:n]
        return out

    return take


def client_hello(*shares: KeyShareEntry, parse: bool = True) -> H.ClientHello:
    """A ClientHello with these shares, as parsed from its bytes (``parse``) or only encoded."""
    msg = H.ClientHello(
        random=os.urandom(32),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        extensions=(
            Extension.make(E.supported_versions, (V13,), X.CH),
            Extension.make(E.key_share, shares, X.CH),
        ),
    )
    raw = msg.encode()
    return cast(H.ClientHello, H.decode_message(raw)) if parse else msg


def server_hello(share: KeyShareEntry, parse: bool = True) -> H.ServerHello:
    msg = H.ServerHello(
        random=os.urandom(32),
        extensions=(Extension.make(E.supported_versions, V13, X.SH), Extension.make(E.key_share, share, X.SH)),
    )
    raw = msg.encode()
    return cast(H.ServerHello, H.decode_message(raw)) if parse else msg


def data(raw: bytes, node: Field | None) -> bytes:
    assert node is not None
    return raw[node.start : node.end]


def assert_tiles(tree: Field, size: int) -> None:
    leaves = list(tree.leaves())
    assert leaves[0].start == 0 and leaves[-1].end == size
    assert all(a.end == b.start for a, b in itertools.pairwise(leaves))


def shares_of(tree: Field) -> list[Field]:
    return list(tree.find_all("KeyShareEntry"))


# -- the parts, byte for byte -------------------------------------------------------------------------


def test_client_share_splits_into_encapsulation_key_and_x25519() -> None:
    seed = bytes(range(96))
    share = kx.generate_key_share(HYBRID, stream(seed))
    # kx draws the 64-byte FIPS 203 seed first, then the 32-byte X25519 key.
    from cryptography.hazmat.primitives.asymmetric import mlkem

    ek = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed[:64]).public_key().public_bytes_raw()
    x_pub = x25519.X25519PrivateKey.from_private_bytes(seed[64:96]).public_key().public_bytes_raw()
    assert share.public_bytes() == ek + x_pub  # the draft's order, independently of the trace

    classic = kx.generate_key_share(NamedGroup.x25519, os.urandom)
    msg = client_hello(
        KeyShareEntry(HYBRID, share.public_bytes()), KeyShareEntry(classic.group, classic.public_bytes())
    )
    tree = field_tree(msg.raw, "handshake", V13)
    assert_tiles(tree, len(msg.raw))
    assert not any(leaf.name == UNDECODABLE for leaf in tree.leaves())
    hybrid_entry, x25519_entry = shares_of(tree)
    key = hybrid_entry.find("key_exchange")
    assert key is not None and data(msg.raw, key) == share.public_bytes()
    assert key.value == "mlkem768_encapsulation_key (1184 bytes) || x25519 (32 bytes)"
    assert [(c.name, c.size) for c in key.children] == [("mlkem768_encapsulation_key", 1184), ("x25519", 32)]
    assert data(msg.raw, key.children[0]) == ek and data(msg.raw, key.children[1]) == x_pub
    assert key.children[0].start == key.start and key.children[1].end == key.end
    assert key.children[0].value.endswith("(1184 bytes)") and key.children[1].value == x_pub.hex()
    # A classic share stays one leaf.
    plain = x25519_entry.find("key_exchange")
    assert plain is not None and not plain.children and data(msg.raw, plain) == classic.public_bytes()


def test_server_share_splits_into_ciphertext_and_x25519_in_the_secrets_order() -> None:
    from cryptography.hazmat.primitives.asymmetric import mlkem

    kem = mlkem.MLKEM768PrivateKey.generate()
    ecdh = x25519.X25519PrivateKey.generate()
    client_share = kem.public_key().public_bytes_raw() + ecdh.public_key().public_bytes_raw()
    server_share, secret = kx.encapsulate_to(HYBRID, client_share, os.urandom)
    msg = server_hello(KeyShareEntry(HYBRID, server_share))
    tree = field_tree(msg.raw, "handshake", V13)
    assert_tiles(tree, len(msg.raw))
    (entry,) = shares_of(tree)
    key = entry.find("key_exchange")
    assert key is not None and data(msg.raw, key) == server_share
    assert key.value == "mlkem768_ciphertext (1088 bytes) || x25519 (32 bytes)"
    ciphertext, x_part = (data(msg.raw, c) for c in key.children)
    assert [c.name for c in key.children] == ["mlkem768_ciphertext", "x25519"]
    # Section 4.3: the shared secret is the ML-KEM secret, then the X25519 one.
    assert kem.decapsulate(ciphertext) == secret[:32]
    assert ecdh.exchange(x25519.X25519PublicKey.from_public_bytes(x_part)) == secret[32:]


def test_the_text_trace_shows_the_parts() -> None:
    share = kx.generate_key_share(HYBRID, os.urandom)
    msg = client_hello(KeyShareEntry(HYBRID, share.public_bytes()))
    lines = field_tree_lines(msg.raw, "handshake", V13, "")
    text = "\n".join(lines)
    assert "key_exchange: mlkem768_encapsulation_key (1184 bytes) || x25519 (32 bytes)" in text
    (ek_line,) = [line for line in lines if "mlkem768_encapsulation_key:" in line]
    (x_line,) = [line for line in lines if " x25519: " in line]
    assert ek_line.split()[0].endswith("+1184") and x_line.split()[0].endswith("+32")
    assert share.public_bytes()[-32:].hex() in x_line


# -- describe --------------------------------------------------------------------------------------


def test_describe_names_the_parts() -> None:
    share = kx.generate_key_share(HYBRID, os.urandom)
    classic = kx.generate_key_share(NamedGroup.x25519, os.urandom)
    ch = client_hello(KeyShareEntry(HYBRID, share.public_bytes()), KeyShareEntry(classic.group, classic.public_bytes()))
    line = HL.headline(ch)
    assert "key shares X25519MLKEM768 (1216 bytes), x25519 (32 bytes)" in line
    assert "X25519MLKEM768 share = mlkem768_encapsulation_key (1184 bytes) || x25519 (32 bytes)" in line
    fields = dict(D.describe(ch))
    assert fields["key_share X25519MLKEM768"] == "mlkem768_encapsulation_key (1184 bytes) || x25519 (32 bytes)"
    assert "key_share x25519" not in fields

    server_share, _ = kx.encapsulate_to(HYBRID, share.public_bytes(), os.urandom)
    sh = server_hello(KeyShareEntry(HYBRID, server_share))
    line = HL.headline(sh)
    assert line.startswith("TLSv1.3; TLS_AES_128_GCM_SHA256; key share X25519MLKEM768 (1120 bytes); ")
    assert "X25519MLKEM768 share = mlkem768_ciphertext (1088 bytes) || x25519 (32 bytes)" in line
    assert dict(D.describe(sh))["key_share X25519MLKEM768"] == "mlkem768_ciphertext (1088 bytes) || x25519 (32 bytes)"


def test_a_classic_hello_has_no_parts() -> None:
    classic = kx.generate_key_share(NamedGroup.x25519, os.urandom)
    ch = client_hello(KeyShareEntry(classic.group, classic.public_bytes()))
    assert "share =" not in HL.headline(ch)
    assert not [label for label, _ in D.describe(ch) if label.startswith("key_share ")]


# -- wrong lengths: lenient, never raising -------------------------------------------------------------


def check_malformed(msg: H.Handshake, size: int, role: str) -> Field:
    tree = field_tree(msg.raw, "handshake", V13)
    assert_tiles(tree, len(msg.raw))
    key = next(e for e in shares_of(tree) if e.children[0].value.startswith("X25519MLKEM768")).find("key_exchange")
    assert key is not None and key.size == size
    if size:
        assert [c.name for c in key.children] == [UNDECODABLE]
        expected = 1216 if role == "client" else 1120
        assert key.children[0].note == (
            f"X25519MLKEM768 {role} share is {expected} bytes ("
            + ("mlkem768_encapsulation_key 1184" if role == "client" else "mlkem768_ciphertext 1088")
            + f" + x25519 32), not {size}"
        )
        assert (key.children[0].start, key.children[0].end) == (key.start, key.end)
    return tree


@pytest.mark.parametrize("size", [1, 31, 32, 1119, 1120, 1184, 1215, 1217, 2432])
def test_client_shares_of_other_lengths(size: int) -> None:
    msg = client_hello(KeyShareEntry(HYBRID, os.urandom(size)))
    check_malformed(msg, size, "client")
    line = HL.headline(msg)
    assert "X25519MLKEM768 share = X25519MLKEM768 client share is 1216 bytes" in line and f"not {size}" in line


@pytest.mark.parametrize("size", [1, 32, 1088, 1119, 1121, 1216])
def test_server_shares_of_other_lengths(size: int) -> None:
    msg = server_hello(KeyShareEntry(HYBRID, os.urandom(size)))
    check_malformed(msg, size, "server")
    assert f"not {size}" in HL.headline(msg)


def test_truncated_hybrid_hellos_never_raise() -> None:
    share = kx.generate_key_share(HYBRID, os.urandom)
    msg = client_hello(KeyShareEntry(HYBRID, share.public_bytes()))
    for cut in range(4, len(msg.raw), 97):
        raw = msg.raw[:cut]
        for version in (V13, None):
            tree = field_tree(raw, "handshake", version)
            assert_tiles(tree, len(raw))
        fixed = bytearray(raw)
        fixed[1:4] = (len(raw) - 4).to_bytes(3, "big")  # the header describes what is there
        assert_tiles(field_tree(bytes(fixed), "handshake", V13), len(fixed))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=1300),
    role=st.sampled_from(["client", "server"]),
    group=st.sampled_from([0x11EC, 0x11EB, 0x11ED]),
)
def test_any_hybrid_share_is_read_leniently(body: bytes, role: str, group: int) -> None:
    entry = KeyShareEntry(NamedGroup(group), body)  # even empty, which the parser would refuse
    msg: H.Handshake = client_hello(entry, parse=False) if role == "client" else server_hello(entry, parse=False)
    tree = field_tree(msg.raw, "handshake", V13)
    assert_tiles(tree, len(msg.raw))
    # describe and the headline never raise either
    D.describe(msg)
    HL.headline(msg)


def test_other_hybrids_put_the_ecdh_share_first() -> None:
    # draft-ietf-tls-ecdhe-mlkem, Sections 4.1 and 4.2: SecP256r1MLKEM768 and SecP384r1MLKEM1024.
    for group, sizes in ((0x11EB, ((65, 1184), (65, 1088))), (0x11ED, ((97, 1568), (97, 1568)))):
        client = client_hello(KeyShareEntry(NamedGroup(group), os.urandom(sum(sizes[0]))))
        key = shares_of(field_tree(client.raw, "handshake", V13))[0].find("key_exchange")
        assert key is not None
        assert [(c.name.startswith("secp"), c.size) for c in key.children] == [
            (True, sizes[0][0]),
            (False, sizes[0][1]),
        ]
        server = server_hello(KeyShareEntry(NamedGroup(group), os.urandom(sum(sizes[1]))))
        key = shares_of(field_tree(server.raw, "handshake", V13))[0].find("key_exchange")
        assert key is not None and "ciphertext" in key.children[1].name and key.children[1].size == sizes[1][1]
