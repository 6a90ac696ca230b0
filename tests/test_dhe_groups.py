"""TLS 1.2 DHE groups (crypto/dhe12.py): RFC 3526's MODP primes accepted by default as known
safe primes, a server's own group only with dhe_custom_groups and only as a safe prime of
2048 bits or more, and the alerts and reasons of every refusal.

The RFC 3526 primes are checked against the RFC's formula
p = 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + k), with floor(2^(n-130) pi) computed
exactly here from Machin's formula, against a Miller-Rabin test written here (on p and
(p-1)/2, random bases), and against OpenSSL's built-in modp_N groups.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from glasstls import (
    CertifiedKey,
    CipherSuite,
    ClientConfig,
    ClientConnection,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
)
from glasstls.crypto import dhe12, kx
from glasstls.crypto.rand import ReplayRandomness
from glasstls.enums import AlertDescription, ExtensionType, NamedGroup, SignatureScheme
from glasstls.errors import AlertError
from glasstls.handshake import client12
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import ServerHello, decode_message
from glasstls.wire.handshake12 import ServerDHParams
from glasstls.x509.store import TrustStore
from pairs import default_ca

DATA = Path(__file__).resolve().parent / "data"
RFC3526_SIZES = (2048, 3072, 4096, 6144, 8192)
# RFC 3526, Sections 3-7: the k of each group's formula.
RFC3526_K = {2048: 124476, 3072: 1690314, 4096: 240904, 6144: 929484, 8192: 4743158}


def pem_numbers(name: str) -> tuple[int, int]:
    numbers = serialization.load_pem_parameters((DATA / name).read_bytes()).parameter_numbers()
    return numbers.p, numbers.g


def expect_alert(description: AlertDescription, fn, *args, **kwargs) -> str:
    with pytest.raises(AlertError) as info:
        fn(*args, **kwargs)
    assert info.value.description == description, info.value.reason
    return info.value.reason


# -- the RFC 3526 primes -------------------------------------------------------------------------


def _arctan_inverse(x: int, one: int) -> int:
    """arctan(1/x) * one, by its Taylor series in fixed point (truncation error: a few units per term)."""
    total = term = one // x
    x2, n, sign = x * x, 3, -1
    while term:
        term //= x2
        total += sign * (term // n)
        n, sign = n + 2, -sign
    return total


def floor_pi_times_power_of_two(k: int) -> int:
    """floor(2^k * pi) exactly: Machin's pi = 16 arctan(1/5) - 4 arctan(1/239), with 64 guard bits."""
    guard = 64
    one = 1 << (k + guard)
    pi = 16 * _arctan_inverse(5, one) - 4 * _arctan_inverse(239, one)
    fraction = pi & ((1 << guard) - 1)
    # The error is far below 2^20 units of the last guard bit; the floor is exact unless pi's
    # bits there are all ones or all zeros, which they are not for these k (checked).
    assert (1 << 20) < fraction < (1 << guard) - (1 << 20)
    return pi >> guard


def test_pi_series_is_right() -> None:
    assert floor_pi_times_power_of_two(0) == 3
    assert floor_pi_times_power_of_two(64) == 0x3243F6A8885A308D3  # pi = 3.243F6A8885A308D3... in hex


@pytest.mark.parametrize("bits", RFC3526_SIZES)
def test_rfc3526_prime_matches_the_rfc_formula(bits: int) -> None:
    p, g = dhe12.rfc3526_parameters(bits)
    expected = 2**bits - 2 ** (bits - 64) - 1 + 2**64 * (floor_pi_times_power_of_two(bits - 130) + RFC3526_K[bits])
    assert p == expected and g == 2 and p.bit_length() == bits


def miller_rabin(n: int, rounds: int, rng: random.Random) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


@pytest.mark.parametrize("bits", RFC3526_SIZES)
def test_rfc3526_prime_is_a_safe_prime(bits: int) -> None:
    p, _ = dhe12.rfc3526_parameters(bits)
    rng = random.SystemRandom()
    # Two random-base rounds on q and one on p (about 12 s of pow() at 8192 bits in all).
    assert miller_rabin((p - 1) // 2, 2, rng) and miller_rabin(p, 1, rng)
    assert pow(2, (p - 1) // 2, p) == 1  # 2 generates the subgroup of order q


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("bits", RFC3526_SIZES)
def test_rfc3526_prime_matches_openssl(bits: int) -> None:
    pem = subprocess.run(
        ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:modp_{bits}"],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    numbers = serialization.load_pem_parameters(pem).parameter_numbers()
    assert (numbers.p, numbers.g) == dhe12.rfc3526_parameters(bits)


# -- which groups the client takes ---------------------------------------------------------------


@pytest.mark.parametrize("bits", RFC3526_SIZES)
def test_rfc3526_groups_are_known_and_accepted_by_default(bits: int) -> None:
    p, g = dhe12.rfc3526_parameters(bits)
    group = dhe12.server_dhe_group(p, g, custom_allowed=False)
    assert group.named is None and not group.custom and group.size == bits // 8
    assert group.label.startswith(f"modp{bits} (RFC 3526 group ")
    assert dhe12.known_dhe_group(p, 5) is None  # the RFC's generator only


def test_rfc7919_groups_keep_their_code_point() -> None:
    p, g = kx.ffdhe_parameters(NamedGroup.ffdhe3072)
    group = dhe12.server_dhe_group(p, g, custom_allowed=False)
    assert group.named == NamedGroup.ffdhe3072 and group.label == "ffdhe3072"


def test_custom_group_refused_by_default() -> None:
    p, g = pem_numbers("dhe_custom2048.pem")
    reason = expect_alert(AlertDescription.insufficient_security, dhe12.server_dhe_group, p, g, custom_allowed=False)
    assert "a 2048-bit prime, generator 2" in reason and "not a published group" in reason
    assert "--profile legacy" in reason and "dhe_custom_groups" in reason and "safe prime" in reason


def test_custom_safe_prime_accepted_when_allowed() -> None:
    p, g = pem_numbers("dhe_custom2048.pem")
    group = dhe12.server_dhe_group(p, g, custom_allowed=True)
    assert group.custom and group.named is None and group.label == "custom 2048-bit group"


@pytest.mark.parametrize("allowed", [False, True])
def test_group_under_2048_bits_is_insufficient_security(allowed: bool) -> None:
    p, g = pem_numbers("dhe_custom1024.pem")
    reason = expect_alert(AlertDescription.insufficient_security, dhe12.server_dhe_group, p, g, custom_allowed=allowed)
    assert "1024-bit prime" in reason and "at least 2048 bits" in reason and "--profile legacy" in reason


def test_a_prime_that_is_not_safe_is_illegal_parameter() -> None:
    # An RSA factor: a 2048-bit prime whose (p-1)/2 is (overwhelmingly likely) composite.
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    p = key.private_numbers().p
    reason = expect_alert(AlertDescription.illegal_parameter, dhe12.server_dhe_group, p, 2, custom_allowed=True)
    assert "not a safe prime" in reason and "--profile legacy" in reason


def test_a_composite_is_illegal_parameter() -> None:
    p, _ = pem_numbers("dhe_custom2048.pem")
    expect_alert(AlertDescription.illegal_parameter, dhe12.server_dhe_group, p + 2, 2, custom_allowed=True)


@pytest.mark.parametrize("g", [0, 1, "p-1", "p"])
def test_generator_outside_2_to_p_minus_2_is_illegal_parameter(g) -> None:
    p, _ = pem_numbers("dhe_custom2048.pem")
    value = {"p-1": p - 1, "p": p}.get(g, g)
    reason = expect_alert(AlertDescription.illegal_parameter, dhe12.server_dhe_group, p, value, custom_allowed=True)
    assert "outside [2, p-2]" in reason


@pytest.mark.parametrize("bits", [4097, 8193])
def test_custom_group_over_4096_bits_is_refused_before_any_primality_test(bits: int) -> None:
    """A server's own group costs a safe-prime test (3.7 s of CPU at 8192 bits, on the event loop);
    past dhe12.MAX_CUSTOM_BITS it is refused at once, the bound named (the published groups of
    those sizes, known by value, still pass: test_rfc3526_groups_are_known_and_accepted_by_default)."""
    huge = (1 << (bits - 1)) + 1
    reason = expect_alert(AlertDescription.illegal_parameter, dhe12.server_dhe_group, huge, 2, custom_allowed=True)
    assert f"{bits}-bit modulus" in reason and "dhe12.MAX_CUSTOM_BITS" in reason and "4096 bits" in reason


# -- the safe-prime test -------------------------------------------------------------------------


@pytest.mark.parametrize("p", [5, 7, 11, 23, 47, 59, 83, 107, 167, 179, 227, 263, 347, 359, 383, 467, 479, 503])
def test_small_safe_primes(p: int) -> None:
    assert dhe12.is_safe_prime(p)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 9, 13, 17, 29, 561, 1105, 2047, 3215031751, 2**127 - 1, 2**89 - 1])
def test_not_safe_primes(n: int) -> None:
    # Primes whose (n-1)/2 is composite (13, 17, 29, the Mersenne primes), Carmichael numbers
    # (561, 1105), base-2 strong pseudoprimes (2047, 3215031751).
    assert not dhe12.is_safe_prime(n)


def test_safe_prime_check_is_cached_by_p() -> None:
    p, _ = pem_numbers("dhe_custom2048.pem")
    dhe12.is_safe_prime(p)
    hits = dhe12.is_safe_prime.cache_info().hits
    assert dhe12.is_safe_prime(p)
    assert dhe12.is_safe_prime.cache_info().hits == hits + 1


# -- the key exchange over these groups ----------------------------------------------------------


def test_rfc3526_exchange_agrees_and_pads() -> None:
    group = dhe12.server_dhe_group(*dhe12.rfc3526_parameters(2048), custom_allowed=False)
    a = dhe12.generate_dhe_share(group, ReplayRandomness(bytes(range(29))))
    b = dhe12.generate_dhe_share(group, ReplayRandomness(bytes(range(64, 93))))
    assert len(a.public_bytes()) == len(b.public_bytes()) == 256
    x = 2 + int.from_bytes(bytes(range(29)), "big")  # 225-bit short exponent (RFC 7919's size for 2048)
    assert a.public_bytes() == pow(2, x, group.p).to_bytes(256, "big")
    assert a.exchange(b.public_bytes()) == b.exchange(a.public_bytes())
    assert len(a.exchange(b.public_bytes())) == 256


def test_custom_group_exchange_agrees() -> None:
    group = dhe12.server_dhe_group(*pem_numbers("dhe_custom2048.pem"), custom_allowed=True)
    a = dhe12.generate_dhe_share(group, ReplayRandomness(bytes(range(29))))
    b = dhe12.generate_dhe_share(group, ReplayRandomness(bytes(range(64, 93))))
    assert a.exchange(b.public_bytes()) == b.exchange(a.public_bytes())


def test_rfc7919_group_takes_the_named_path() -> None:
    group = dhe12.server_dhe_group(*kx.ffdhe_parameters(NamedGroup.ffdhe2048), custom_allowed=False)
    seed = bytes(range(29))  # the 225-bit short exponent of a 2048-bit group, in bytes
    share = dhe12.generate_dhe_share(group, ReplayRandomness(seed))
    assert share.public_bytes() == kx.generate_key_share(NamedGroup.ffdhe2048, ReplayRandomness(seed)).public_bytes()


@pytest.mark.parametrize("y", ["0", "1", "p-1", "p"])
def test_peer_value_outside_2_to_p_minus_2_is_illegal_parameter(y: str) -> None:
    group = dhe12.server_dhe_group(*dhe12.rfc3526_parameters(2048), custom_allowed=False)
    share = dhe12.generate_dhe_share(group, ReplayRandomness(bytes(29)))
    value = {"0": 0, "1": 1, "p-1": group.p - 1, "p": group.p}[y]
    reason = expect_alert(AlertDescription.illegal_parameter, share.exchange, value.to_bytes(256, "big"))
    assert "modp2048 (RFC 3526 group 14) key share Y is outside [2, p-2]" in reason


def test_peer_value_of_the_wrong_length_is_illegal_parameter() -> None:
    group = dhe12.server_dhe_group(*dhe12.rfc3526_parameters(2048), custom_allowed=False)
    share = dhe12.generate_dhe_share(group, ReplayRandomness(bytes(29)))
    expect_alert(AlertDescription.illegal_parameter, share.exchange, b"\x02" * 255)


# -- the client's ServerKeyExchange step ---------------------------------------------------------


def dh_params(p: int, g: int, ys: bytes) -> ServerDHParams:
    size = (p.bit_length() + 7) // 8
    return ServerDHParams(p.to_bytes(size, "big"), bytes([g]), ys, SignatureScheme.rsa_pss_rsae_sha256, b"", b"")


def test_client_takes_rfc3526_and_pads_a_short_ys() -> None:
    p, g = dhe12.rfc3526_parameters(2048)
    share = client12._dhe_share(ClientConfig(), dh_params(p, g, b"\x05" * 200))
    assert share.group is None and share.dhe is not None and share.dhe.p == p
    assert share.public == bytes(56) + b"\x05" * 200


def test_client_refuses_a_ys_longer_than_p_with_handshake_failure() -> None:
    """RFC 7919, Section 3: out of range is handshake_failure, whatever the length (it was
    illegal_parameter for a value longer than p, which the server judges by number already)."""
    p, g = dhe12.rfc3526_parameters(2048)
    reason = expect_alert(
        AlertDescription.handshake_failure, client12._dhe_share, ClientConfig(), dh_params(p, g, b"\x05" * 257)
    )
    assert "(257 bytes) is outside [2, p-2]" in reason
    padded = client12._dhe_share(ClientConfig(), dh_params(p, g, b"\x00" + b"\x05" * 256))  # a leading zero
    assert padded.public == b"\x05" * 256


def test_client_custom_groups_follow_the_config() -> None:
    p, g = pem_numbers("dhe_custom2048.pem")
    params = dh_params(p, g, b"\x05" * 256)
    expect_alert(AlertDescription.insufficient_security, client12._dhe_share, ClientConfig(), params)
    share = client12._dhe_share(ClientConfig(dhe_custom_groups=True), params)
    assert share.dhe is not None and share.dhe.custom


@pytest.mark.parametrize("ys", [b"\x01", b"\x00" * 256])
def test_client_refuses_a_ys_out_of_range_with_handshake_failure(ys: bytes) -> None:
    p, g = dhe12.rfc3526_parameters(2048)
    reason = expect_alert(AlertDescription.handshake_failure, client12._dhe_share, ClientConfig(), dh_params(p, g, ys))
    assert "outside [2, p-2] in modp2048 (RFC 3526 group 14)" in reason


def test_client_refuses_ys_p_minus_1_with_handshake_failure() -> None:
    p, g = dhe12.rfc3526_parameters(2048)
    params = dh_params(p, g, (p - 1).to_bytes(256, "big"))
    expect_alert(AlertDescription.handshake_failure, client12._dhe_share, ClientConfig(), params)


# -- RFC 7919, Section 4: FFDHE groups the server does not know ----------------------------------


def _server_answer(groups: tuple[int, ...], ours: tuple[NamedGroup, ...] | None = None) -> tuple[object, object]:
    """A glasstls server (RSA key; DHE-RSA and ECDHE-RSA) given a hello whose supported_groups
    names ``groups``: (the suite of its ServerHello or None, its error or None). ``ours``: its groups."""
    identity = default_ca().issue_server(["localhost"], key_type="rsa2048")
    suites = (CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
    v12 = ProtocolVersion.TLSv1_2
    server = ServerConnection(
        ServerConfig(
            certificates=(CertifiedKey(identity.chain, identity.private_key),),
            cipher_suites=suites,
            **({"groups": ours} if ours else {}),
        )
    )
    client = ClientConnection(
        ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), tls_max=v12, cipher_suites=suites),
        "localhost",
    )
    data = b"".join(g.to_bytes(2, "big") for g in groups)
    listed = Extension(ExtensionType.supported_groups, len(data).to_bytes(2, "big") + data)
    hello = client.offered_hello
    hello = hello.with_extensions(
        tuple(listed if e.type == ExtensionType.supported_groups else e for e in hello.extensions)
    )
    body = hello.encode()
    server.receive_bytes(b"\x16\x03\x01" + len(body).to_bytes(2, "big") + body)
    out = server.data_to_send()
    if server.closed:
        return None, server.error
    (first,) = [decode_message(out[5 : 9 + int.from_bytes(out[6:9], "big")])]
    assert isinstance(first, ServerHello)
    return first.cipher_suite, None


def test_unknown_ffdhe_groups_rule_out_dhe_suites() -> None:
    # RFC 7919, Section 4: a client naming FFDHE groups (256..511, known or not) none of which the
    # server accepts MUST NOT get a DHE suite; another suite if one fits, else insufficient_security.
    suite, error = _server_answer((0x01FF, NamedGroup.x25519))
    assert error is None and suite.name == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    suite, error = _server_answer((0x01FF,))
    assert suite is None and error.description == AlertDescription.insufficient_security
    # Named and accepted: DHE as before (the server prefers its first suite).
    suite, error = _server_answer((NamedGroup.ffdhe2048,))
    assert error is None and suite.name == "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"


def test_server_groups_without_a_finite_field_group_serve_no_dhe() -> None:
    """RFC 7919, Section 4 lets a server pick a group for a client that names none, from its own: a
    server whose groups name none (--groups x25519) serves no DHE suite, and says why. It served
    ffdhe2048, a group its configuration never listed."""
    suite, error = _server_answer((NamedGroup.x25519,), (NamedGroup.x25519,))
    assert error is None and suite.name == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    suite, error = _server_answer((NamedGroup.secp521r1,), (NamedGroup.x25519,))
    assert suite is None and error.description == AlertDescription.handshake_failure
    assert "needs a finite-field group (RFC 7919), and this server's groups name none" in str(error)
    suite, error = _server_answer((NamedGroup.secp521r1,))  # the default groups name ffdhe2048: DHE
    assert error is None and suite.name == "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"
