"""Security profiles, after Mozilla's Server Side TLS recommendations (modern, intermediate, old).

A profile is one table: the lowest TLS version, the cipher suites, the groups and the
signature schemes a configuration starts from, and whether a TLS 1.2 client accepts a DHE
group the server made up. ``ClientConfig(profile=...)`` and ``ServerConfig(profile=...)``
take every list they were not given from their profile; a list given explicitly (or
``--ciphers``, ``--groups`` on the CLI) replaces the profile's, so a suite can be allowed by
name without the whole legacy profile.

- ``modern``: TLS 1.3 only.
- ``intermediate`` (the default): TLS 1.2 and 1.3, (EC)DHE with AEAD only, the hybrid
  post-quantum group first, then x25519, P-256, P-384 (and ffdhe2048 for DHE, RFC 7919).
- ``legacy``: intermediate plus what old peers need: CBC suites (MAC-then-encrypt when the
  peer lacks encrypt_then_mac, RFC 7366), RSA key transport, SHA-1 signatures (and the
  RFC 5246 SHA-1 default when a ClientHello has no signature_algorithms), larger RFC 7919
  groups, server-chosen DHE groups that pass a safe-prime check, and TLS 1.2 servers that
  do not support secure renegotiation (RFC 5746; OpenSSL's UnsafeLegacyServerConnect).

No profile speaks TLS 1.0 or 1.1 (RFC 8996), and none has 3DES, RC4, export or NULL
suites: glasstls implements none of them. AES-CCM suites are in no profile; they are
available by name.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .crypto import kx
from .crypto.suites import DEFAULT_TLS12_SUITES, DEFAULT_TLS13_SUITES
from .enums import CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme

_C = CipherSuite
_T = TypeVar("_T")
_G = NamedGroup
_S = SignatureScheme

# The hybrid post-quantum group (draft-ietf-tls-ecdhe-mlkem) when this build of cryptography
# has ML-KEM; Chrome and OpenSSL 3.5 put it first.
_HYBRID = tuple(g for g in (_G.X25519MLKEM768,) if g in kx.SUPPORTED_GROUPS)

# RFC 8446, Section 4.2.3: rsa_pkcs1_* are listed for certificate signatures only (in TLS 1.3).
_SCHEMES = (
    _S.ecdsa_secp256r1_sha256,
    _S.ecdsa_secp384r1_sha384,
    _S.ecdsa_secp521r1_sha512,
    _S.ed25519,
    _S.ed448,
    _S.rsa_pss_rsae_sha256,
    _S.rsa_pss_rsae_sha384,
    _S.rsa_pss_rsae_sha512,
    _S.rsa_pss_pss_sha256,
    _S.rsa_pss_pss_sha384,
    _S.rsa_pss_pss_sha512,
    _S.rsa_pkcs1_sha256,
    _S.rsa_pkcs1_sha384,
    _S.rsa_pkcs1_sha512,
)

# Forward-secret AEAD suites (RFC 7525 / Mozilla intermediate), in preference order.
_ECDHE_AEAD = DEFAULT_TLS12_SUITES
_DHE_AEAD = (
    _C.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
)
# Mozilla "old", less what glasstls does not implement (3DES): CBC with ECDHE, then with DHE
# (SHA-256 only: DHE with SHA-1 CBC is outside "old", available by name), then RSA key
# transport (no forward secrecy; the ROBOT defences of RFC 5246, Section 7.4.7.1 apply).
_LEGACY_12 = (
    _C.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    _C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    _C.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    _C.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    _C.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
    _C.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
    _C.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
    _C.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
    _C.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256,
    _C.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256,
    _C.TLS_RSA_WITH_AES_128_GCM_SHA256,
    _C.TLS_RSA_WITH_AES_256_GCM_SHA384,
    _C.TLS_RSA_WITH_AES_128_CBC_SHA256,
    _C.TLS_RSA_WITH_AES_256_CBC_SHA256,
    _C.TLS_RSA_WITH_AES_128_CBC_SHA,
    _C.TLS_RSA_WITH_AES_256_CBC_SHA,
)
_EC_GROUPS = (*_HYBRID, _G.x25519, _G.secp256r1, _G.secp384r1)
# A client lists secp521r1 as well (as OpenSSL and Go do), last of the curves: in TLS 1.2 the
# curve of a server's ECDSA certificate must be in supported_groups (RFC 8422, Section 5.1), and
# every profile offers ecdsa_secp521r1_sha512. A server does not choose it by default (Mozilla's
# lists, which sslyze checks, end at secp384r1).
_CLIENT_EXTRA_GROUPS = (_G.secp521r1,)


class FromProfile(tuple[_T, ...]):
    """A list a configuration took from its profile rather than being given: a copy made with
    another profile (``dataclasses.replace(cfg, profile="legacy")``) takes that profile's list,
    and a refusal can say the profile left something out (:func:`refused_by_policy`)."""

    __slots__ = ()


class FlagFromProfile(int):
    """A yes-or-no setting a configuration took from its profile (not given): true or false as the
    profile says, and taken again from another profile by ``dataclasses.replace(cfg, profile=...)``,
    as FromProfile's lists are. An explicit True or False is the caller's and stays."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{bool(self)!r} (from the profile)"


@dataclass(frozen=True)
class Profile:
    """What a configuration starts from; see the module docstring."""

    name: str
    summary: str
    tls_min: ProtocolVersion
    cipher_suites: tuple[CipherSuite, ...]
    groups: tuple[NamedGroup, ...]
    signature_schemes: tuple[SignatureScheme, ...]
    dhe_custom_groups: bool  # a TLS 1.2 client accepts a server-chosen (safe-prime) DHE group
    legacy_server_connect: bool  # a TLS 1.2 client accepts a server without renegotiation_info

    @property
    def client_groups(self) -> tuple[NamedGroup, ...]:
        """The groups a client offers: the profile's, with the extra curves after its last EC one."""
        extra = tuple(g for g in _CLIENT_EXTRA_GROUPS if g not in self.groups)
        curves = sum(1 for g in self.groups if not g.name.startswith("ffdhe"))
        return (*self.groups[:curves], *extra, *self.groups[curves:])

    def allows_suite(self, suite: CipherSuite) -> bool:
        return suite in self.cipher_suites


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "modern",
            "TLS 1.3 only (Mozilla modern)",
            ProtocolVersion.TLSv1_3,
            DEFAULT_TLS13_SUITES,
            _EC_GROUPS,
            _SCHEMES,
            dhe_custom_groups=False,
            legacy_server_connect=False,
        ),
        Profile(
            "intermediate",
            "TLS 1.2 and 1.3, forward secrecy and AEAD only (Mozilla intermediate; the default)",
            ProtocolVersion.TLSv1_2,
            DEFAULT_TLS13_SUITES + _ECDHE_AEAD + _DHE_AEAD,
            (*_EC_GROUPS, _G.ffdhe2048),
            _SCHEMES,
            dhe_custom_groups=False,
            legacy_server_connect=False,
        ),
        Profile(
            "legacy",
            "intermediate plus CBC, RSA key transport, SHA-1 signatures, custom DHE groups and servers without secure "
            "renegotiation (Mozilla old, without TLS 1.0/1.1 or 3DES)",
            ProtocolVersion.TLSv1_2,
            DEFAULT_TLS13_SUITES + _ECDHE_AEAD + _DHE_AEAD + _LEGACY_12,
            (*_EC_GROUPS, _G.ffdhe2048, _G.ffdhe3072, _G.ffdhe4096),
            (*_SCHEMES, _S.rsa_pkcs1_sha1, _S.ecdsa_sha1),
            dhe_custom_groups=True,
            legacy_server_connect=True,
        ),
    )
}
DEFAULT_PROFILE = "intermediate"


def profile_named(name: str) -> Profile:
    """The profile called ``name``; a ValueError naming the choices otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}: choose one of {', '.join(PROFILES)}") from None


def profiles_needing(suite: CipherSuite) -> tuple[str, ...]:
    """The profiles that include ``suite``, for a refusal that says how to allow it."""
    return tuple(p.name for p in PROFILES.values() if suite in p.cipher_suites)


def describe(profile: Profile) -> list[str]:
    """The profile as lines of text, for ``glasstls profiles``."""
    highest = "TLS 1.3"
    lowest = "TLS 1.3" if profile.tls_min >= ProtocolVersion.TLSv1_3 else "TLS 1.2"
    versions = highest if lowest == highest else f"{lowest} and {highest}"
    lines = [f"{profile.name}: {profile.summary}", f"  versions: {versions}", "  cipher suites:"]
    lines += [f"    {s.name}" for s in profile.cipher_suites]
    lines.append(f"  groups: {', '.join(g.name for g in profile.groups)}")
    lines.append(f"  groups a client offers: {', '.join(g.name for g in profile.client_groups)}")
    lines.append(f"  signature schemes: {', '.join(s.name for s in profile.signature_schemes)}")
    custom = "yes" if profile.dhe_custom_groups else "no"
    lines.append(f"  server-chosen DHE groups (safe primes of 2048 bits or more): {custom}")
    legacy = "yes" if profile.legacy_server_connect else "no"
    lines.append(f"  TLS 1.2 servers without secure renegotiation (RFC 5746): {legacy}")
    return lines


def refused_by_policy(kind: str, offered: Sequence[Any], configured: Sequence[Any], implemented: Container[Any]) -> str:
    """For a "no common ..." refusal: what the peer offered that glasstls implements but the
    profile behind ``configured`` left out, and how to allow it (another profile, or naming it).
    Nothing when ``configured`` was given explicitly: then the configuration, not a profile, decided."""
    if not isinstance(configured, FromProfile):
        return ""
    left_out = [v for v in dict.fromkeys(offered) if v in implemented and v not in configured]  # each once
    if not left_out:
        return ""
    option = {"cipher_suites": "--ciphers", "groups": "--groups", "signature_schemes": "signature_schemes"}[kind]
    by_profile: dict[str | None, list[str]] = {}
    for value in left_out:
        owner = next((p.name for p in PROFILES.values() if value in getattr(p, kind)), None)
        by_profile.setdefault(owner, []).append(getattr(value, "name", str(value)))
    parts = [
        f"{', '.join(names)} {'needs' if len(names) == 1 else 'need'} --profile {owner} (or {option} naming it)"
        if owner
        else f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} in no profile ({option} naming it allows it)"
        for owner, names in by_profile.items()
    ]
    return f"; refused by policy: {'; '.join(parts)}"
