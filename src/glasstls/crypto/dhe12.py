"""TLS 1.2 DHE groups, which a server names only as (p, g) in its ServerKeyExchange
(RFC 5246, Section 7.4.3): which ones the client accepts, and the check a
server's own group must pass.

Three kinds of group reach a TLS 1.2 client:

* RFC 7919's ffdhe groups, also TLS 1.3 groups (:mod:`.kx`);
* RFC 3526's MODP groups 14-18 (2048 to 8192 bits), what OpenSSL (3.0) and
  most DHE servers use when not told otherwise. Like RFC 7919's, they are
  published safe primes with generator 2, derived from the digits of pi, so
  they are accepted by default: the cheap peer check of RFC 7919, Section 5.1
  is enough for them (see ``kx._FiniteFieldKey.exchange``);
* a server's own group (``openssl dhparam``): accepted only when
  ``ClientConfig.dhe_custom_groups`` says so (``--profile legacy``), and then
  only a safe prime of at least 2048 bits with g in [2, p-2], checked here once
  per prime (:func:`is_safe_prime`, cached by p).

A group of fewer than 2048 bits is refused with insufficient_security (RFC 5246,
Section 7.2.2: the server's security is below what the client requires; RFC 7919,
Section 3 names that alert for custom groups a client will not use). OpenSSL
sends handshake_failure ("dh key too small") in that case.

Pure: no I/O, no clock; the primality test draws no randomness (its bases come
from p itself), so a replayed handshake draws the same bytes whether or not the
check was cached.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from ..enums import AlertDescription, NamedGroup
from ..errors import AlertError
from . import kx
from .rand import Randomness

__all__ = [
    "MIN_DHE_BITS",
    "DHEGroup",
    "generate_dhe_share",
    "is_safe_prime",
    "known_dhe_group",
    "rfc3526_parameters",
    "server_dhe_group",
]

MIN_DHE_BITS = 2048  # RFC 7919 and RFC 3526's smallest accepted; 1024-bit DH is within reach (Logjam)
# A bound on the primality test's work: a server's own group is checked as a safe prime, about
# 0.2 s of CPU at 4096 bits (3.7 s at 8192, blocking an event loop that long per connection); the
# published groups above it (RFC 3526's 6144 and 8192, RFC 7919's) are known, never tested.
MAX_CUSTOM_BITS = 4096
_GENERATOR = 2

# RFC 3526, Sections 3-7: the MODP primes of groups 14 to 18, generator 2, by size.
# Taken from OpenSSL's built-in modp_N groups; the tests check each against
# RFC 3526's formula p = 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + k).
_RFC3526_GROUP_NUMBER = {2048: 14, 3072: 15, 4096: 16, 6144: 17, 8192: 18}
_RFC3526_PRIME_HEX: dict[int, str] = {
    2048: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AACAA68FFFFFFFFFFFFFFFF"
    ),
    3072: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
        "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
        "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
    ),
    4096: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
        "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
        "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
        "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6"
        "287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
        "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF"
    ),
    6144: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
        "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
        "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
        "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6"
        "287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
        "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026C1D4DCB2602646DEC9751E763DBA37BD"
        "F8FF9406AD9E530EE5DB382F413001AEB06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B"
        "DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92ECF032EA15D1721D03F482D7CE6E74FEF6"
        "D55E702F46980C82B5A84031900B1C9E59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA"
        "CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76F550AA3D8A1FBFF0EB19CCB1A313D55C"
        "DA56C9EC2EF29632387FE8D76E3C0468043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DCC4024FFFFFFFFFFFFFFFF"
    ),
    8192: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
        "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
        "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
        "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
        "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
        "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
        "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6"
        "287C59474E6BC05D99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
        "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026C1D4DCB2602646DEC9751E763DBA37BD"
        "F8FF9406AD9E530EE5DB382F413001AEB06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B"
        "DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92ECF032EA15D1721D03F482D7CE6E74FEF6"
        "D55E702F46980C82B5A84031900B1C9E59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA"
        "CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76F550AA3D8A1FBFF0EB19CCB1A313D55C"
        "DA56C9EC2EF29632387FE8D76E3C0468043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DBE115974A3926F12FEE5E4"
        "38777CB6A932DF8CD8BEC4D073B931BA3BC832B68D9DD300741FA7BF8AFC47ED2576F6936BA424663AAB639C5AE4F568"
        "3423B4742BF1C978238F16CBE39D652DE3FDB8BEFC848AD922222E04A4037C0713EB57A81A23F0C73473FC646CEA306B"
        "4BCBC8862F8385DDFA9D4B7FA2C087E879683303ED5BDD3A062B3CF5B3A278A66D2A13F83F44F82DDF310EE074AB6A36"
        "4597E899A0255DC164F31CC50846851DF9AB48195DED7EA1B1D510BD7EE74D73FAF36BC31ECFA268359046F4EB879F92"
        "4009438B481C6CD7889A002ED5EE382BC9190DA6FC026E479558E4475677E9AA9E3050E2765694DFC81F56E880B96E71"
        "60C980DD98EDD3DFFFFFFFFFFFFFFFFF"
    ),
}


@dataclass(frozen=True)
class DHEGroup:
    """A DHE group the client accepted from a ServerKeyExchange."""

    label: str  # "ffdhe2048", "modp2048 (RFC 3526 group 14)", "custom 2048-bit group"
    p: int
    g: int
    named: NamedGroup | None  # the RFC 7919 code point, if it is one of those groups
    custom: bool = False  # the server's own group, not a published one

    @property
    def size(self) -> int:
        """The byte length of p: what Y and the shared secret are padded to."""
        return (self.p.bit_length() + 7) // 8


def rfc3526_parameters(bits: int) -> tuple[int, int]:
    """(p, g) of RFC 3526's MODP group of ``bits`` bits (2048, 3072, 4096, 6144 or 8192)."""
    return _rfc3526_by_size()[bits], _GENERATOR


@lru_cache(maxsize=1)
def _rfc3526_by_size() -> dict[int, int]:
    return {bits: int(hexa, 16) for bits, hexa in _RFC3526_PRIME_HEX.items()}


@lru_cache(maxsize=1)
def _rfc3526_by_prime() -> dict[int, int]:
    return {p: bits for bits, p in _rfc3526_by_size().items()}


def known_dhe_group(p: int, g: int) -> DHEGroup | None:
    """The published group (RFC 7919 or RFC 3526) with prime ``p`` and generator ``g``, if any."""
    named = kx.ffdhe_group_for(p, g)
    if named is not None:
        return DHEGroup(named.name, p, g, named)
    bits = _rfc3526_by_prime().get(p)
    if bits is None or g != _GENERATOR:
        return None
    return DHEGroup(f"modp{bits} (RFC 3526 group {_RFC3526_GROUP_NUMBER[bits]})", p, g, None)


_HOW_TO_ALLOW = (
    "--profile legacy (ClientConfig.dhe_custom_groups=True) accepts a server's own group "
    f"when it is a safe prime of at least {MIN_DHE_BITS} bits"
)


def server_dhe_group(p: int, g: int, *, custom_allowed: bool) -> DHEGroup:
    """The group of a ServerKeyExchange's (p, g), or AlertError saying why it is refused.

    Published groups pass; a server's own group only with ``custom_allowed`` and
    only as a safe prime of at least :data:`MIN_DHE_BITS` bits with g in [2, p-2].
    """
    known = known_dhe_group(p, g)
    if known is not None:
        return known
    bits = p.bit_length()
    if bits < MIN_DHE_BITS:
        raise AlertError(
            AlertDescription.insufficient_security,
            f"server's DHE group is a {bits}-bit prime; glasstls requires at least {MIN_DHE_BITS} bits "
            f"(RFC 7919, Section 3). A server with a larger group of its own is usable: {_HOW_TO_ALLOW}",
        )
    if not custom_allowed:
        raise AlertError(
            AlertDescription.insufficient_security,
            f"server's DHE parameters (a {bits}-bit prime, generator {_short(g)}) are not a published "
            "group (RFC 7919 ffdhe or RFC 3526 MODP); custom groups are refused by default: "
            f"{_HOW_TO_ALLOW}. Or the server uses ffdhe2048 (OpenSSL: s_server -dhparam FILE, FILE from "
            "`openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048`), or offers ECDHE",
        )
    return _checked_custom_group(p, g)


def _checked_custom_group(p: int, g: int) -> DHEGroup:
    bits = p.bit_length()
    if bits > MAX_CUSTOM_BITS:
        raise AlertError(
            AlertDescription.illegal_parameter,
            f"server's own DHE group has a {bits}-bit modulus, larger than the {MAX_CUSTOM_BITS} bits glasstls "
            "tests for a custom group (dhe12.MAX_CUSTOM_BITS: a bound on the work of the primality test); "
            "the published groups of that size (RFC 3526, RFC 7919) are accepted",
        )
    # RFC 5246, Section 8.1.2 / RFC 7919, Section 5.1: g = 1 or p-1 would make the secret 1 or +-1.
    if not 2 <= g <= p - 2:
        raise AlertError(
            AlertDescription.illegal_parameter, f"server's own DHE group has generator {_short(g)}, outside [2, p-2]"
        )
    if not is_safe_prime(p):
        raise AlertError(
            AlertDescription.illegal_parameter,
            f"server's own {bits}-bit DHE group is not a safe prime (p or (p-1)/2 is composite), so it "
            f"may have small subgroups; refused even though custom groups are allowed ({_HOW_TO_ALLOW})",
        )
    return DHEGroup(f"custom {bits}-bit group", p, g, None, custom=True)


def _short(n: int) -> str:
    return str(n) if n.bit_length() <= 32 else f"a {n.bit_length()}-bit number"


def generate_dhe_share(group: DHEGroup, randomness: Randomness) -> kx.KeyShare | kx.DHEShare:
    """The client's ephemeral key in ``group``: ``public_bytes()`` is Yc padded to the length of p.

    An RFC 7919 group takes the same path as in TLS 1.3 (a replay draws the same bytes).
    """
    if group.named is not None:
        return kx.generate_key_share(group.named, randomness)
    return kx.DHEShare(group.label, group.p, group.g, randomness)


# ---------------------------------------------------------------------------
# Safe primes
# ---------------------------------------------------------------------------


def _small_primes(limit: int) -> tuple[int, ...]:
    sieve = bytearray([1]) * limit
    sieve[:2] = b"\x00\x00"
    for i in range(2, int(limit**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(sieve[i * i :: i]))
    return tuple(i for i, prime in enumerate(sieve) if prime)


_SMALL_PRIMES = _small_primes(2000)


def _rounds(bits: int) -> int:
    """Miller-Rabin rounds on q, besides base 2.

    The bound that matters is the one for numbers nobody crafted (FIPS 186-5,
    Appendix B.3, Table B.1: a few rounds reach 2^-100 at these sizes): the
    server is the only party that picks p, and a server wanting to weaken its
    own connection could as well disclose its secret. A rigged pseudoprime
    would also have to pass bases derived from p itself (:func:`_bases`).
    Python's pow() costs about 30 ms at 2048 bits and 1.5 s at 8192 bits here,
    hence fewer rounds for the larger sizes.
    """
    return 8 if bits <= 3072 else 4 if bits <= 4096 else 2


def _bases(n: int, rounds: int) -> list[int]:
    """Witnesses in [3, n-2], drawn from SHA-256 of n: the same for every run (replays)."""
    seed = n.to_bytes((n.bit_length() + 7) // 8, "big")
    out = []
    for i in range(rounds):
        digest = hashlib.sha256(seed + i.to_bytes(4, "big")).digest() * 2
        out.append(3 + int.from_bytes(digest, "big") % (n - 4))
    return out


def _strong_probable_prime(n: int, base: int) -> bool:
    """One Miller-Rabin round: is ``n`` a strong probable prime to ``base``?"""
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    x = pow(base, d, n)
    if x in (1, n - 1):
        return True
    for _ in range(s - 1):
        x = x * x % n
        if x == n - 1:
            return True
    return False


@lru_cache(maxsize=64)
def is_safe_prime(p: int) -> bool:
    """Whether p and q = (p-1)/2 are both (probable) primes; cached by p.

    Trial division first (most random odd numbers fail there), then Miller-Rabin
    on q: base 2 and :func:`_rounds` bases derived from p. For p one base-2
    round suffices: once q is prime, 2^(p-1) = 1 mod p proves p prime
    (Pocklington: q divides p-1, q > sqrt(p), and 3 = 2^2-1 shares no factor with p).
    """
    if p < 7 or p % 2 == 0:
        return p in (5, 7)
    q = (p - 1) // 2
    if any(n % f == 0 and n != f for f in _SMALL_PRIMES for n in (p, q)):
        return False
    if not _strong_probable_prime(q, 2) or not _strong_probable_prime(p, 2):
        return False
    if q < 7:
        return True
    return all(_strong_probable_prime(q, a) for a in _bases(q, _rounds(p.bit_length())))
