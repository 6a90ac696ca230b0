"""Key exchange groups: round trips, known answers, replays and every bad peer value."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasstls.crypto import kx
from glasstls.crypto.rand import ReplayRandomness
from glasstls.enums import AlertDescription, NamedGroup
from glasstls.errors import AlertError

DH_GROUPS = [g for g in kx.SUPPORTED_GROUPS if g != NamedGroup.X25519MLKEM768]
FFDHE_GROUPS = [g for g in NamedGroup if g.name.startswith("ffdhe")]
EC_GROUPS = [NamedGroup.secp256r1, NamedGroup.secp384r1, NamedGroup.secp521r1]
HYBRID = NamedGroup.X25519MLKEM768

# cryptography >= 50 deprecates finite-field DH; kx silences it for its own calls,
# but pytest's per-test warning capture overrides module filters.
pytestmark = pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields")


def counter_randomness(seed: int = 1):
    """Deterministic, never-repeating bytes (not is_system), for replays."""
    state = {"n": seed}

    def draw(n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            out += state["n"].to_bytes(8, "big") * 4
            state["n"] += 1
        return bytes(out[:n])

    return draw


def expect_illegal(fn, *args, contains: str = "") -> AlertError:
    with pytest.raises(AlertError) as info:
        fn(*args)
    assert info.value.description == AlertDescription.illegal_parameter, info.value
    assert contains in info.value.reason, info.value.reason
    return info.value


# ---------------------------------------------------------------------------
# Supported groups and round trips
# ---------------------------------------------------------------------------


def test_supported_groups_cover_the_brief():
    expected = {
        NamedGroup.x25519,
        NamedGroup.x448,
        NamedGroup.secp256r1,
        NamedGroup.secp384r1,
        NamedGroup.secp521r1,
        *FFDHE_GROUPS,
        HYBRID,
    }
    assert set(kx.SUPPORTED_GROUPS) == expected  # ML-KEM-768 is in cryptography >= 47
    assert kx.SUPPORTED_GROUPS[0] == HYBRID and kx.SUPPORTED_GROUPS[1] == NamedGroup.x25519
    assert all(isinstance(g, NamedGroup) for g in kx.SUPPORTED_GROUPS)


@pytest.mark.parametrize("group", kx.SUPPORTED_GROUPS, ids=str)
@pytest.mark.parametrize("source", ["system", "injected"])
def test_round_trip(group, source):
    client_rand = os.urandom if source == "system" else counter_randomness(1)
    server_rand = os.urandom if source == "system" else counter_randomness(1000)
    client = kx.generate_key_share(group, client_rand)
    assert client.group == group
    assert len(client.public_bytes()) == kx.key_share_length(group)
    server_share, server_secret = kx.encapsulate_to(group, client.public_bytes(), server_rand)
    assert len(server_share) == kx.key_share_length(group, server=True)
    assert client.exchange(server_share) == server_secret
    assert len(server_secret) == _secret_length(group)


def _secret_length(group: NamedGroup) -> int:
    return {
        NamedGroup.x25519: 32,
        NamedGroup.x448: 56,
        NamedGroup.secp256r1: 32,
        NamedGroup.secp384r1: 48,
        NamedGroup.secp521r1: 66,
        HYBRID: 64,
    }.get(group) or kx.key_share_length(group)


@pytest.mark.parametrize("group", DH_GROUPS, ids=str)
def test_dh_groups_are_symmetric(group):
    a = kx.generate_key_share(group, os.urandom)
    b = kx.generate_key_share(group, os.urandom)
    assert a.exchange(b.public_bytes()) == b.exchange(a.public_bytes())


def test_key_share_lengths():
    assert kx.key_share_length(NamedGroup.x25519) == 32
    assert kx.key_share_length(NamedGroup.x448) == 56
    assert kx.key_share_length(NamedGroup.secp256r1) == 65
    assert kx.key_share_length(NamedGroup.secp384r1) == 97
    assert kx.key_share_length(NamedGroup.secp521r1) == 133
    assert kx.key_share_length(NamedGroup.ffdhe2048) == 256
    assert kx.key_share_length(NamedGroup.ffdhe8192) == 1024
    assert kx.key_share_length(HYBRID) == 1216
    assert kx.key_share_length(HYBRID, server=True) == 1120
    assert kx.key_share_length(0x0A0A) is None


@pytest.mark.parametrize("group", [0x0A0A, 0x0016, 0x11EB, 0xFFFF])
def test_unsupported_group_is_illegal_parameter(group):
    expect_illegal(kx.generate_key_share, group, os.urandom, contains="not supported")
    expect_illegal(kx.encapsulate_to, group, b"\x01" * 32, os.urandom, contains="not supported")


def test_tls13_only_groups():
    assert HYBRID in kx.TLS13_ONLY_GROUPS
    assert NamedGroup.x25519 not in kx.TLS13_ONLY_GROUPS


def test_repr_does_not_leak_key_material():
    share = kx.generate_key_share(NamedGroup.x25519, ReplayRandomness(bytes(range(32))))
    assert repr(share) == "<_MontgomeryShare x25519>"


# ---------------------------------------------------------------------------
# Known answers
# ---------------------------------------------------------------------------

# RFC 7748, Section 5.2: the two X25519 test vectors (scalar, u-coordinate, output).
RFC7748_X25519_VECTORS = [
    (
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ),
    (
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ),
]


@pytest.mark.parametrize(("scalar", "u", "output"), RFC7748_X25519_VECTORS)
def test_rfc7748_section_5_2_x25519(scalar, u, output):
    share = kx.generate_key_share(NamedGroup.x25519, ReplayRandomness(bytes.fromhex(scalar)))
    assert share.exchange(bytes.fromhex(u)).hex() == output


# RFC 7748, Section 6.1 (X25519) and 6.2 (X448): Alice, Bob and their K.
RFC7748_DH = {
    NamedGroup.x25519: (
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
        "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
    ),
    NamedGroup.x448: (
        "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
        "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0",
        "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
        "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
        "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d",
    ),
}


@pytest.mark.parametrize("group", list(RFC7748_DH), ids=str)
def test_rfc7748_section_6_diffie_hellman(group):
    a_priv, a_pub, b_priv, b_pub, k = (bytes.fromhex(h) for h in RFC7748_DH[group])
    alice = kx.generate_key_share(group, ReplayRandomness(a_priv))
    assert alice.public_bytes() == a_pub
    assert alice.exchange(b_pub) == k
    # The server role through encapsulate_to gives Bob's share and the same K.
    assert kx.encapsulate_to(group, a_pub, ReplayRandomness(b_priv)) == (b_pub, k)


# RFC 8448, Section 3: the ephemeral x25519 keys of the simple 1-RTT handshake
# and the (EC)DHE input to the handshake secret ("IKM").
RFC8448_CLIENT_PRIVATE = bytes.fromhex("49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005")
RFC8448_CLIENT_PUBLIC = bytes.fromhex("99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c")
RFC8448_SERVER_PRIVATE = bytes.fromhex("b1580eeadf6dd589b8ef4f2d5652578cc810e9980191ec8d058308cea216a21e")
RFC8448_SERVER_PUBLIC = bytes.fromhex("c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f")
RFC8448_ECDHE_SECRET = bytes.fromhex("8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d")


def test_rfc8448_simple_1rtt_replay():
    client = kx.generate_key_share(NamedGroup.x25519, ReplayRandomness(RFC8448_CLIENT_PRIVATE))
    assert client.public_bytes() == RFC8448_CLIENT_PUBLIC
    server_share, secret = kx.encapsulate_to(
        NamedGroup.x25519, client.public_bytes(), ReplayRandomness(RFC8448_SERVER_PRIVATE)
    )
    assert server_share == RFC8448_SERVER_PUBLIC
    assert secret == RFC8448_ECDHE_SECRET
    assert client.exchange(server_share) == RFC8448_ECDHE_SECRET


# ---------------------------------------------------------------------------
# Deterministic replay with injected randomness
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("group", kx.SUPPORTED_GROUPS, ids=str)
def test_injected_randomness_replays_byte_for_byte(group):
    first = kx.generate_key_share(group, counter_randomness(7))
    second = kx.generate_key_share(group, counter_randomness(7))
    other = kx.generate_key_share(group, counter_randomness(8))
    assert first.public_bytes() == second.public_bytes() != other.public_bytes()


@pytest.mark.parametrize("group", DH_GROUPS, ids=str)
def test_server_side_replays_for_dh_groups(group):
    client = kx.generate_key_share(group, counter_randomness(3)).public_bytes()
    assert kx.encapsulate_to(group, client, counter_randomness(9)) == kx.encapsulate_to(
        group, client, counter_randomness(9)
    )


def test_hybrid_client_draws_mlkem_seed_then_x25519():
    seed, x_priv = bytes(range(64)), RFC8448_CLIENT_PRIVATE
    share = kx.generate_key_share(HYBRID, ReplayRandomness(seed, x_priv))
    public = share.public_bytes()
    assert public[1184:] == RFC8448_CLIENT_PUBLIC
    from cryptography.hazmat.primitives.asymmetric import mlkem

    assert public[:1184] == mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()


def test_hybrid_server_x25519_half_replays():
    client = kx.generate_key_share(HYBRID, counter_randomness(5))
    share, secret = kx.encapsulate_to(HYBRID, client.public_bytes(), ReplayRandomness(RFC8448_SERVER_PRIVATE))
    assert share[1088:] == RFC8448_SERVER_PUBLIC
    assert client.exchange(share) == secret
    assert secret[32:] == client._ecdh.exchange(RFC8448_SERVER_PUBLIC)


@pytest.mark.parametrize("group", EC_GROUPS, ids=str)
def test_ec_scalar_from_injected_bytes(group):
    spec = kx._CURVES[group]
    n = (spec.order.bit_length() + 7) // 8
    # Zero bytes map to the scalar 1: the public key is the generator itself.
    share = kx.generate_key_share(group, ReplayRandomness(bytes(n)))
    generator = ec.derive_private_key(1, spec.curve).public_key()
    assert share.public_bytes() == _uncompressed(generator)
    # All-ones bytes: reduced into [1, n-1].
    share = kx.generate_key_share(group, ReplayRandomness(b"\xff" * n))
    scalar = (256**n - 1) % (spec.order - 1) + 1
    assert share.public_bytes() == _uncompressed(ec.derive_private_key(scalar, spec.curve).public_key())


def _uncompressed(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


@pytest.mark.parametrize("group", EC_GROUPS, ids=str)
def test_curve_orders(group):
    spec = kx._CURVES[group]
    # (n-1)*G = -G: same x, opposite y; and n itself is not a valid scalar.
    g = ec.derive_private_key(1, spec.curve).public_key().public_numbers()
    minus_g = ec.derive_private_key(spec.order - 1, spec.curve).public_key().public_numbers()
    assert minus_g.x == g.x and minus_g.y != g.y
    with pytest.raises(ValueError):
        ec.derive_private_key(spec.order, spec.curve)


@pytest.mark.parametrize("group", FFDHE_GROUPS, ids=str)
def test_ffdhe_injected_public_value_is_g_to_the_x(group):
    spec = kx._ffdhe(group)
    raw = bytes(range(1, spec.exponent_bytes + 1))
    share = kx.generate_key_share(group, ReplayRandomness(raw))
    x = 2 + int.from_bytes(raw, "big")
    assert share.public_bytes() == pow(2, x, spec.p).to_bytes(spec.size, "big")
    assert x.bit_length() >= kx._FFDHE_SHORT_EXPONENT_BITS[group] - 8


def test_ffdhe_parameter_objects_are_built_once():
    assert kx._ffdhe(NamedGroup.ffdhe2048) is kx._ffdhe(NamedGroup.ffdhe2048)


# ---------------------------------------------------------------------------
# FFDHE primes (RFC 7919, Appendix A)
# ---------------------------------------------------------------------------


def _floor_e_times_power_of_two(k: int) -> int:
    """floor(2^k * e) exactly, from e = sum 1/n! in integer arithmetic."""
    guard = 64
    term = total = 1 << (k + guard)
    n = 1
    while term:
        term //= n
        total += term
        n += 1
    return total >> guard


# The X of the Appendix A formula for each group.
RFC7919_X = {
    NamedGroup.ffdhe2048: 560316,
    NamedGroup.ffdhe3072: 2625351,
    NamedGroup.ffdhe4096: 5736041,
    NamedGroup.ffdhe6144: 15705020,
    NamedGroup.ffdhe8192: 10965728,
}


@pytest.mark.parametrize("group", FFDHE_GROUPS, ids=str)
def test_ffdhe_prime_matches_rfc7919_formula(group):
    b = int(group.name[5:])
    p, g = kx.ffdhe_parameters(group)
    assert g == 2
    assert p.bit_length() == b
    # p = 2^b - 2^{b-64} + {[2^{b-130} e] + X } * 2^64 - 1
    expected = 2**b - 2 ** (b - 64) + (_floor_e_times_power_of_two(b - 130) + RFC7919_X[group]) * 2**64 - 1
    assert p == expected
    # A safe prime in which 2 generates the subgroup of order q = (p-1)/2.
    assert pow(2, (p - 1) // 2, p) == 1


def test_ffdhe2048_matches_known_value():
    p, _ = kx.ffdhe_parameters(NamedGroup.ffdhe2048)
    assert p.to_bytes(256, "big")[:16].hex() == "ffffffffffffffffadf85458a2bb4a9a"
    assert p.to_bytes(256, "big")[-16:].hex() == "886b423861285c97ffffffffffffffff"
    assert pow(3, p - 1, p) == 1  # Fermat


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("group", FFDHE_GROUPS, ids=str)
def test_ffdhe_prime_matches_openssl(group):
    pem = subprocess.run(
        ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:{group.name}"],
        check=True,
        capture_output=True,
    ).stdout
    numbers = serialization.load_pem_parameters(pem).parameter_numbers()
    assert (numbers.p, numbers.g) == kx.ffdhe_parameters(group)


def test_ffdhe_group_lookup():
    p, g = kx.ffdhe_parameters(NamedGroup.ffdhe3072)
    assert kx.ffdhe_group_for(p, g) == NamedGroup.ffdhe3072
    assert kx.ffdhe_group_for(p, 5) is None
    assert kx.ffdhe_group_for(p + 2, 2) is None
    expect_illegal(kx.ffdhe_parameters, NamedGroup.x25519)


# ---------------------------------------------------------------------------
# TLS 1.3 padding vs TLS 1.2 stripping of the FFDHE secret
# ---------------------------------------------------------------------------


def test_strip_leading_zeros():
    assert kx.strip_leading_zeros(b"\x00\x00\x01\x00") == b"\x01\x00"
    assert kx.strip_leading_zeros(b"\x05") == b"\x05"


def test_ffdhe_secret_keeps_leading_zeros_tls13_and_strips_tls12():
    group = NamedGroup.ffdhe2048
    client = kx.generate_key_share(group, ReplayRandomness(b"\x11" * 29))
    for i in range(1, 5000):
        _, secret = kx.encapsulate_to(group, client.public_bytes(), ReplayRandomness(i.to_bytes(29, "big")))
        if secret[0] == 0:
            break
    else:  # pragma: no cover - probability about 2^-28
        pytest.fail("no secret with a leading zero byte found")
    assert len(secret) == 256  # RFC 8446, Section 7.4.1
    assert len(kx.strip_leading_zeros(secret)) < 256  # RFC 5246, Section 8.1.2
    assert int.from_bytes(secret, "big") == int.from_bytes(kx.strip_leading_zeros(secret), "big")


# ---------------------------------------------------------------------------
# Bad peer values: always illegal_parameter, never another exception
# ---------------------------------------------------------------------------


def _both_roles(group: NamedGroup, bad: bytes, contains: str = "") -> None:
    """The bad value is rejected by the client (exchange) and the server (encapsulate_to)."""
    if group != HYBRID:
        client = kx.generate_key_share(group, os.urandom)
        expect_illegal(client.exchange, bad, contains=contains)
    expect_illegal(kx.encapsulate_to, group, bad, os.urandom, contains=contains)


@pytest.mark.parametrize("group", DH_GROUPS, ids=str)
@pytest.mark.parametrize("delta", [-1, +1])
def test_wrong_length_share(group, delta):
    good = kx.generate_key_share(group, os.urandom).public_bytes()
    bad = good[:-1] if delta < 0 else good + b"\x00"
    err = _expect_both_roles_reject(group, bad)
    assert group.name in err.reason


@pytest.mark.parametrize("group", DH_GROUPS, ids=str)
def test_empty_share(group):
    _both_roles(group, b"", contains=group.name)


def _expect_both_roles_reject(group: NamedGroup, bad: bytes) -> AlertError:
    client = kx.generate_key_share(group, os.urandom)
    expect_illegal(client.exchange, bad)
    return expect_illegal(kx.encapsulate_to, group, bad, os.urandom)


# Montgomery curves: small-order points give the all-zero secret (RFC 7748, Section 6).
@pytest.mark.parametrize("group", [NamedGroup.x25519, NamedGroup.x448], ids=str)
@pytest.mark.parametrize("u", [0, 1])
def test_montgomery_small_order_points(group, u):
    size = kx.key_share_length(group)
    _both_roles(group, u.to_bytes(size, "little"), contains="all zeros")


def test_x25519_order_8_point():
    # A point of order 8 on Curve25519 (the well-known small-order list).
    u = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
    _both_roles(NamedGroup.x25519, u, contains="all zeros")


@pytest.mark.parametrize("group", EC_GROUPS, ids=str)
def test_ec_compressed_point_rejected(group):
    key = ec.generate_private_key(kx._CURVES[group].curve).public_key()
    compressed = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    _both_roles(group, compressed, contains="not an uncompressed point")
    # Same length as an uncompressed point, but a compressed-form prefix.
    _both_roles(group, b"\x02" + _uncompressed(key)[1:], contains="first byte 0x02")


@pytest.mark.parametrize("group", EC_GROUPS, ids=str)
def test_ec_point_not_on_curve(group):
    good = bytearray(kx.generate_key_share(group, os.urandom).public_bytes())
    good[-1] ^= 1
    _both_roles(group, bytes(good), contains="not a point on the curve")
    size = kx.key_share_length(group)
    _both_roles(group, b"\x04" + bytes(size - 1), contains="not a point on the curve")
    _both_roles(group, b"\x04" + b"\xff" * (size - 1), contains="not a point on the curve")


@pytest.mark.parametrize("group", EC_GROUPS, ids=str)
def test_ec_point_at_infinity(group):
    _both_roles(group, b"\x00", contains="not an uncompressed point")


@pytest.mark.parametrize("group", FFDHE_GROUPS, ids=str)
def test_ffdhe_y_outside_range(group):
    p, _ = kx.ffdhe_parameters(group)
    size = kx.key_share_length(group)
    for y in (0, 1, p - 1, p, p + 1, 256**size - 1):
        _both_roles(group, y.to_bytes(size, "big"), contains="outside [2, p-2]")


def test_ffdhe_y_at_range_edges_accepted():
    group = NamedGroup.ffdhe2048
    p, _ = kx.ffdhe_parameters(group)
    client = kx.generate_key_share(group, os.urandom)
    for y in (2, p - 2):
        assert len(client.exchange(y.to_bytes(256, "big"))) == 256


def test_ffdhe_unpadded_share_rejected():
    group = NamedGroup.ffdhe2048
    _both_roles(group, (12345).to_bytes(2, "big"), contains="is 2 bytes, expected 256")


def test_hybrid_wrong_lengths():
    client = kx.generate_key_share(HYBRID, os.urandom)
    for n in (0, 32, 1119, 1121, 1216):
        expect_illegal(client.exchange, bytes(n), contains="X25519MLKEM768 server share")
    for n in (0, 32, 1184, 1215, 1217, 1120):
        expect_illegal(kx.encapsulate_to, HYBRID, b"\x01" * n, os.urandom, contains="X25519MLKEM768 client share")


def test_hybrid_bad_encapsulation_key():
    # Coefficients >= q fail the FIPS 203 encapsulation key (modulus) check.
    x_public = kx.generate_key_share(NamedGroup.x25519, os.urandom).public_bytes()
    err = expect_illegal(kx.encapsulate_to, HYBRID, b"\xff" * 1184 + x_public, os.urandom)
    assert "encapsulation key" in err.reason and "X25519MLKEM768" in err.reason


def test_hybrid_x25519_half_all_zero():
    client = kx.generate_key_share(HYBRID, os.urandom)
    ek = client.public_bytes()[:1184]
    err = expect_illegal(kx.encapsulate_to, HYBRID, ek + bytes(32), os.urandom, contains="all zeros")
    assert err.reason.startswith("X25519MLKEM768: x25519")
    share, _ = kx.encapsulate_to(HYBRID, client.public_bytes(), os.urandom)
    expect_illegal(client.exchange, share[:1088] + bytes(32), contains="all zeros")


def test_hybrid_garbage_ciphertext_is_implicitly_rejected():
    # FIPS 203 implicit rejection: a wrong ciphertext yields an unrelated secret, not an error.
    client = kx.generate_key_share(HYBRID, os.urandom)
    share, secret = kx.encapsulate_to(HYBRID, client.public_bytes(), os.urandom)
    tampered = bytes([share[0] ^ 1]) + share[1:]
    other = client.exchange(tampered)
    assert len(other) == 64 and other[:32] != secret[:32] and other[32:] == secret[32:]


_CLIENTS: dict[NamedGroup, kx.KeyShare] = {}


def _client(group: NamedGroup) -> kx.KeyShare:
    if group not in _CLIENTS:
        _CLIENTS[group] = kx.generate_key_share(group, os.urandom)
    return _CLIENTS[group]


@st.composite
def peer_values(draw):
    group = draw(st.sampled_from(kx.SUPPORTED_GROUPS))
    server = draw(st.booleans())
    exact = kx.key_share_length(group, server=not server)
    length = draw(st.one_of(st.just(exact), st.integers(0, exact + 2)))
    data = draw(st.binary(min_size=length, max_size=length))
    return group, server, data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(peer_values())
def test_any_peer_bytes_give_a_secret_or_illegal_parameter(case):
    group, server, data = case
    try:
        if server:
            share, secret = kx.encapsulate_to(group, data, os.urandom)
            assert len(share) == kx.key_share_length(group, server=True)
        else:
            secret = _client(group).exchange(data)
    except AlertError as exc:
        assert exc.description == AlertDescription.illegal_parameter
        assert group.name in exc.reason
    else:
        assert len(secret) == _secret_length(group)
