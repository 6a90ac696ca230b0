"""Immutable, validated configuration (the rustls builder / Go Config idea).

Defaults are the safe ones: TLS 1.3, AEAD suites only, verification on.
Anything that weakens security lives under :class:`Dangerous` so it is
visible in code review.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from .config_check import check_field_types
from .crypto import certcompress, kx
from .crypto.rand import system_randomness
from .crypto.signatures import PrivateKey, ecdsa_group, is_rsassa_pss_certificate, key_kind, schemes_for_key
from .crypto.suites import TLS12_SUITES, TLS13_SUITES
from .enums import (
    CertificateCompressionAlgorithm,
    CipherSuite,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from .errors import ConfigError, Facts
from .files import read_config_file
from .limits import DEFAULT_LIMITS, Limits
from .profiles import DEFAULT_PROFILE, PROFILES, FlagFromProfile, FromProfile
from .session.cache import ServerSessionCache, SessionCache
from .session.cookie import CookieSealer
from .session.psk import ExternalPsk
from .session.replay import MemoryReplayGuard, ReplayGuard
from .session.tickets import TicketKeyRing, TicketKeys
from .x509.client_identity import ClientIdentityCheck
from .x509.names import san_names
from .x509.online import OnlineRevocation, check_mode
from .x509.stapling import StapleSource
from .x509.store import TrustStore

_E = TypeVar("_E", bound=Enum)

# The lists of the default profile, intermediate (profiles.py): the hybrid post-quantum group
# first, as Chrome and OpenSSL 3.5 do; (EC)DHE with AEAD only.
_INTERMEDIATE = PROFILES[DEFAULT_PROFILE]
DEFAULT_GROUPS: tuple[NamedGroup, ...] = FromProfile(_INTERMEDIATE.groups)
DEFAULT_CLIENT_GROUPS: tuple[NamedGroup, ...] = FromProfile(_INTERMEDIATE.client_groups)
DEFAULT_SUITES: tuple[CipherSuite, ...] = FromProfile(_INTERMEDIATE.cipher_suites)
DEFAULT_SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = FromProfile(_INTERMEDIATE.signature_schemes)

# NewSessionTickets after one handshake: a client keeps a few (one per parallel connection).
MAX_TLS13_TICKETS = 16

VERSION_NAMES = {"1.2": ProtocolVersion.TLSv1_2, "1.3": ProtocolVersion.TLSv1_3}
SUPPORTED_VERSIONS = (ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2)


def parse_names(enum: type[_E], text: str | Iterable[str], what: str) -> tuple[_E, ...]:
    """IANA names (comma-separated or a list) to code points, with a clear error."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    out: list[_E] = []
    for name in names:
        if not name:
            continue
        if name not in enum.__members__:
            known = ", ".join(enum.__members__)
            raise ConfigError(f"unknown {what} {name!r}; known: {known}")
        out.append(enum[name])
    if not out:
        raise ConfigError(f"empty {what} list")
    return tuple(out)


# The versions a person may name that glasstls refuses, for the refusal's reason (RFC 8996, 7568).
_RETIRED_NAMES = {"1.0": ProtocolVersion.TLSv1, "1.1": ProtocolVersion.TLSv1_1, "ssl3": ProtocolVersion.SSLv3}


def parse_version(text: str) -> ProtocolVersion:
    if text in _RETIRED_NAMES:
        old = _RETIRED_NAMES[text]
        raise ConfigError(
            f"{old.label} is not supported: glasstls speaks TLS 1.2 and TLS 1.3 only ({old.retired_by} retired "
            f"{old.label}); use 1.2 or 1.3"
        )
    if text not in VERSION_NAMES:
        raise ConfigError(f"unknown TLS version {text!r}; use 1.2 or 1.3")
    return VERSION_NAMES[text]


@dataclass(frozen=True)
class CertifiedKey:
    """A certificate chain (leaf first) and the leaf's private key."""

    chain: tuple[x509.Certificate, ...]
    private_key: PrivateKey
    # The OCSP response the server staples for this chain (RFC 6066, Section 8;
    # RFC 8446, Section 4.4.2.1), when the client asks for one.
    ocsp: StapleSource | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.chain:
            raise ConfigError("a certified key needs at least one certificate")
        _signing_key(self.private_key, "the private key")
        for index, cert in enumerate(self.chain):
            # cryptography parses names and extensions on first use: fail here, once, not in every handshake.
            try:
                cert.subject, cert.issuer, cert.extensions  # noqa: B018
            except (ValueError, x509.DuplicateExtension) as exc:
                raise ConfigError(f"certificate #{index} of the chain is malformed ({exc}): reissue it") from None
        leaf_pub = (
            self.chain[0]
            .public_key()
            .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        key_pub = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if leaf_pub != key_pub:
            subject = self.chain[0].subject.rfc4514_string()
            raise ConfigError(f"the private key does not match the certificate {subject}")

    # What every handshake asks of the leaf, read from it once (the chain never changes).
    @functools.cached_property
    def leaf_names(self) -> tuple[str, ...]:
        """The leaf's subjectAltName DNS names and IP addresses, which choose it by SNI."""
        return san_names(self.chain[0])

    @functools.cached_property
    def ecdsa_curve(self) -> NamedGroup | None:
        """The named group of an ECDSA key's curve (secp256r1, secp384r1, secp521r1); None for
        any other key. A TLS 1.2 client that sends supported_groups names the curves it can
        verify a certificate on, too (RFC 8422, Section 5.1)."""
        return ecdsa_group(self.private_key)

    @functools.cached_property
    def leaf_is_rsassa_pss(self) -> bool:
        """The leaf's key is id-RSASSA-PSS: it signs with rsa_pss_pss_* only (RFC 8446, Section 4.2.3)."""
        return is_rsassa_pss_certificate(self.chain[0])

    @functools.cached_property
    def leaf_may_sign(self) -> bool:
        """The leaf's key may sign a handshake: its KeyUsage, if it has one, allows digitalSignature
        (RFC 5246, Section 7.4.2 for a TLS 1.2 ServerKeyExchange; RFC 8446, Section 4.4.2.2)."""
        usage = _leaf_key_usage(self.chain[0])
        return usage is None or usage.digital_signature

    @functools.cached_property
    def leaf_may_encipher(self) -> bool:
        """The leaf's key may take a TLS 1.2 RSA key exchange's premaster secret: an rsaEncryption key
        (an id-RSASSA-PSS one may only sign: RFC 4055, Section 1.2) whose KeyUsage, if it has one, allows
        keyEncipherment (RFC 5246, Section 7.4.2)."""
        if key_kind(self.private_key) != "rsa" or self.leaf_is_rsassa_pss:
            return False
        usage = _leaf_key_usage(self.chain[0])
        return usage is None or usage.key_encipherment

    @classmethod
    def from_pem(cls, chain_pem: bytes, key_pem: bytes, password: bytes | None = None) -> CertifiedKey:
        chain = tuple(x509.load_pem_x509_certificates(chain_pem))
        key = serialization.load_pem_private_key(key_pem, password)
        return cls(chain, _signing_key(key, "the private key"))

    @classmethod
    def from_files(cls, cert_path: str | Path, key_path: str | Path) -> CertifiedKey:
        """A PEM chain (leaf first) and its PEM key; a file that will not do is named in the error."""
        chain_pem, key_pem = _read_file(cert_path, "certificate"), _read_file(key_path, "private key")
        try:
            chain = tuple(x509.load_pem_x509_certificates(chain_pem))
        except ValueError:
            raise ConfigError(
                f"{cert_path} holds no readable PEM certificate (-----BEGIN CERTIFICATE-----)"
                + _wrong_file_hint(chain_pem, cert_path, "certificate")
            ) from None
        try:
            key = serialization.load_pem_private_key(key_pem, None)
        except TypeError:  # what cryptography raises for an encrypted key and no password
            raise ConfigError(
                f"{key_path} is protected by a password; glasstls reads unencrypted keys only: "
                f"decrypt a copy with `openssl pkey -in {key_path} -out plain.key`"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            raise ConfigError(
                f"{key_path} holds no readable PEM private key (-----BEGIN PRIVATE KEY-----)"
                + _wrong_file_hint(key_pem, key_path, "private key")
            ) from None
        return cls(chain, _signing_key(key, str(key_path)))

    def with_ocsp_file(self, path: str | Path) -> CertifiedKey:
        """The same chain and key, stapling the DER OCSP response in ``path`` (reloaded when it changes)."""
        return replace(self, ocsp=StapleSource.from_file(path))

    def with_ocsp(self, source: StapleSource | bytes) -> CertifiedKey:
        """The same chain and key, stapling from ``source`` (a StapleSource, or DER bytes)."""
        return replace(self, ocsp=StapleSource.from_der(source) if isinstance(source, bytes) else source)

    @functools.cached_property
    def der_chain(self) -> tuple[bytes, ...]:
        """The chain as DER, serialised once per key rather than per handshake."""
        return tuple(c.public_bytes(serialization.Encoding.DER) for c in self.chain)

    @functools.cached_property
    def kept_messages(self) -> dict[Any, Any]:
        """The handshake messages made from this chain, kept by the handshake layer for the next
        handshake (handshake/common13.py: the Certificate message, by staple and compression)."""
        return {}


def _leaf_key_usage(leaf: x509.Certificate) -> x509.KeyUsage | None:
    """The leaf's KeyUsage extension, None when it has none (RFC 5280, Section 4.2.1.3: any use then)."""
    try:
        return leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _signing_key(key: object, what: str) -> PrivateKey:
    """``key`` if glasstls can sign a handshake with it (RFC 8446, Section 4.2.3), else a ConfigError."""
    if not isinstance(key, PrivateKey):
        raise ConfigError(
            f"{what} is a {type(key).__name__}, which cannot sign a TLS handshake: use an RSA, ECDSA, "
            "Ed25519 or Ed448 key"
        )
    return key


def _read_file(path: str | Path, what: str) -> bytes:
    try:
        return read_config_file(path)
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} file {path}: {exc.strerror or exc}") from None


# PEM block labels (RFC 7468) that say what a file given for another purpose holds.
_PEM_HOLDS = (
    (b"PRIVATE KEY-----", "a private key"),
    (b"-----BEGIN CERTIFICATE-----", "a certificate"),
    (b"-----BEGIN PUBLIC KEY-----", "a public key"),
    (b"-----BEGIN CERTIFICATE REQUEST-----", "a certificate request"),
)
_SWAPPED = " (are the certificate and key files swapped?)"


def _wrong_file_hint(data: bytes, path: str | Path, wanted: str) -> str:
    """What a file that is not the PEM ``wanted`` ("certificate" or "private key") holds, and what
    to do: the certificate and key files swapped, or DER where PEM was expected."""
    for label, holds in _PEM_HOLDS:
        if label in data and not holds.endswith(wanted):
            swapped = holds in ("a private key", "a certificate")
            return f"; it holds {holds}, not a {wanted}" + (_SWAPPED if swapped else "")
    if data[:1] != b"\x30":  # not an ASN.1 SEQUENCE: not DER either
        return ""
    der_holds = _der_contents(data)
    if der_holds is not None and not der_holds.endswith(wanted):
        return f"; it is {der_holds} in DER, not a {wanted}{_SWAPPED}"
    tool = "x509" if wanted == "certificate" else "pkey"
    source = Path(path)
    out = source.with_suffix(".pem")
    if out == source or out.exists():  # (advice that overwrites a file would lose it)
        out = source.with_name(f"{source.stem}-converted.pem")
    return f"; it looks like DER: convert it with `openssl {tool} -inform DER -in {path} -out {out}`"


def _der_contents(data: bytes) -> str | None:
    """What DER ``data`` parses as ("a certificate", "a private key"), or None."""
    try:
        x509.load_der_x509_certificate(data)
        return "a certificate"
    except ValueError:
        pass
    try:
        serialization.load_der_private_key(data, None)
        return "a private key"
    except (ValueError, TypeError, UnsupportedAlgorithm):  # (TypeError: an encrypted one)
        return None


@dataclass(frozen=True)
class Dangerous:
    """Knobs that weaken security or exist for known-answer replays. Off by default."""

    skip_server_verification: bool = False
    # Verify the server's chain but not its name: ssl.SSLContext with check_hostname False
    # (glasstls.compat), whose caller checks the name itself as urllib3 does, or has none.
    skip_server_name_check: bool = False
    # The exact signature_algorithms list to advertise, unknown code points included.
    advertised_signature_schemes: tuple[int, ...] | None = None
    # The order of extension types in the ClientHello and HelloRetryRequest this side sends,
    # as another stack's trace has them (RFC 8448); types not listed follow, in glasstls's
    # order, and pre_shared_key stays last (RFC 8446, Section 4.2.11). None: glasstls's order.
    hello_extension_order: tuple[int, ...] | None = None


def _common_validation(cfg: ClientConfig | ServerConfig) -> None:
    if cfg.tls_min > cfg.tls_max:
        kind = type(cfg).__name__
        floor = PROFILES[cfg.profile].tls_min == cfg.tls_min  # (the profile's floor, not a tls_min given)
        why = f" (the {cfg.profile} profile's lowest version)" if floor else ""
        raise ConfigError(
            f"tls_min {cfg.tls_min.label}{why} is above tls_max {cfg.tls_max.label}",
            facts=Facts(
                "version_range",
                field=f"{kind}.{'profile' if floor else 'tls_min'}",
                value=f"{cfg.tls_min.label} > {cfg.tls_max.label}",
            ),
        )
    for version in (cfg.tls_min, cfg.tls_max):
        if version not in SUPPORTED_VERSIONS:
            # RFC 8996: TLS 1.0 and 1.1 are deprecated; SSL 3.0 long before them (RFC 7568).
            raise ConfigError(
                f"{version.label} is not supported: glasstls speaks TLS 1.2 and TLS 1.3 only "
                f"({version.retired_by or 'RFC 8996'} retired it)"
            )
    for suite in cfg.cipher_suites:
        if CipherSuite(suite) not in TLS13_SUITES and CipherSuite(suite) not in TLS12_SUITES:
            raise ConfigError(f"cipher suite {CipherSuite(suite).name} is not supported")
    has_13 = any(s in TLS13_SUITES for s in cfg.cipher_suites)
    has_12 = any(s in TLS12_SUITES for s in cfg.cipher_suites)
    if cfg.tls_min >= ProtocolVersion.TLSv1_3 and not has_13:
        raise ConfigError("TLS 1.3 needs at least one TLS 1.3 cipher suite")
    if cfg.tls_max <= ProtocolVersion.TLSv1_2 and not has_12:
        raise ConfigError("TLS 1.2 needs at least one TLS 1.2 cipher suite")
    if not cfg.cipher_suites:
        raise ConfigError("no cipher suites configured")
    for group in cfg.groups:
        if NamedGroup(group) not in kx.SUPPORTED_GROUPS:
            raise ConfigError(f"group {NamedGroup(group).name} is not supported")
    if not cfg.groups:
        raise ConfigError("no groups configured")
    if not cfg.signature_schemes:
        raise ConfigError("no signature schemes configured")
    if ProtocolVersion.TLSv1_3 not in speakable_versions(cfg) and all(g in kx.TLS13_ONLY_GROUPS for g in cfg.groups):
        # (a TLS 1.2 client would send an empty supported_groups, which no server can decode)
        only = ", ".join(NamedGroup(g).name for g in cfg.groups)
        raise ConfigError(f"TLS 1.2, the only version left, has no group to use: {only} is for TLS 1.3 only")
    if cfg.record_size_limit is not None and not 64 <= cfg.record_size_limit <= (1 << 14) + 1:
        raise ConfigError("record_size_limit must be between 64 and 16385 (RFC 8449)")


def _alpn_names(alpn: Any) -> tuple[str, ...]:
    """``alpn`` as a tuple of protocol names (str; bytes taken as UTF-8), each 1 to 255 bytes. A lone
    string is refused: as a sequence it would be one protocol per character."""
    if isinstance(alpn, (str, bytes)):
        raise ConfigError(f"alpn is a sequence of protocol names: alpn=({alpn!r},), not alpn={alpn!r}")
    names = []
    for protocol in alpn:
        if isinstance(protocol, bytes):
            try:
                protocol = protocol.decode()  # (names are kept as str and sent UTF-8 encoded)
            except UnicodeDecodeError:
                raise ConfigError(f"ALPN protocol {protocol!r} is not UTF-8: give it as a str") from None
        if not isinstance(protocol, str):
            raise ConfigError(f"an ALPN protocol name is a str, not {type(protocol).__name__} ({protocol!r})")
        size = len(protocol.encode())
        if not 1 <= size <= 255:  # RFC 7301, Section 3.1: a ProtocolName is 1 to 255 bytes
            shown = protocol if size <= 40 else f"{protocol[:40]}…"
            raise ConfigError(f"ALPN protocol {shown!r} is {size} bytes; a protocol name is 1 to 255 (RFC 7301)")
        names.append(protocol)
    return tuple(names)


def speakable_versions(cfg: ClientConfig | ServerConfig) -> tuple[ProtocolVersion, ...]:
    """The versions from ``tls_min`` to ``tls_max`` that have a cipher suite of theirs configured,
    highest first. A configuration of TLS 1.2 suites alone speaks TLS 1.2 only: its ClientHello
    offers no TLS 1.3 it could not finish, and its server answers a TLS 1.3 client with TLS 1.2
    (without the downgrade sentinel of RFC 8446, Section 4.1.3, which would make that client
    abort), as rustls derives its versions from its suites."""
    suites = set(cfg.cipher_suites)
    return tuple(
        version
        for version, own in ((ProtocolVersion.TLSv1_3, TLS13_SUITES), (ProtocolVersion.TLSv1_2, TLS12_SUITES))
        if cfg.tls_min <= version <= cfg.tls_max and not suites.isdisjoint(own)
    )


def _check_psks(cfg: ClientConfig | ServerConfig, psks: tuple[ExternalPsk, ...]) -> None:
    """PSK modes and external PSKs that a TLS 1.3 handshake can use (RFC 8446, Sections 4.2.9 and 4.2.11)."""
    object.__setattr__(cfg, "psk_modes", tuple(PskKeyExchangeMode(m) for m in cfg.psk_modes))
    if not cfg.psk_modes or any(not m.known for m in cfg.psk_modes):
        raise ConfigError(f"psk_modes must list psk_dhe_ke and/or psk_ke, not {cfg.psk_modes!r}")
    identities = [p.identity for p in psks]
    if len(set(identities)) != len(identities):
        raise ConfigError("two external PSKs share one identity")
    hashes = {TLS13_SUITES[s].hash_name for s in cfg.cipher_suites if s in TLS13_SUITES}
    for psk in psks:
        if psk.hash not in hashes:
            raise ConfigError(f"the PSK {psk.identity!r} uses {psk.hash}, but no configured TLS 1.3 suite does")
        if cfg.tls_max < ProtocolVersion.TLSv1_3:
            raise ConfigError("external PSKs need TLS 1.3 (tls_max): glasstls has no TLS 1.2 PSK suites")


def _check_certificate_compression(cfg: ClientConfig | ServerConfig) -> None:
    """Algorithms glasstls can decompress, each once (RFC 8879, Section 3); () offers none."""
    _freeze(cfg, certificate_compression=CertificateCompressionAlgorithm)
    algorithms = cfg.certificate_compression
    for alg in algorithms:
        if alg not in certcompress.SUPPORTED:
            supported = ", ".join(a.name for a in certcompress.SUPPORTED)
            raise ConfigError(
                f"certificate compression {alg.name} ({int(alg)}) is not supported (glasstls has {supported})"
            )
    if len(set(algorithms)) != len(algorithms):
        raise ConfigError(f"certificate_compression lists an algorithm twice: {', '.join(a.name for a in algorithms)}")


def _check_server_credentials(cfg: ServerConfig) -> None:
    """A certificate, or external PSKs and TLS 1.3 only (a PSK-only server has nothing to offer TLS 1.2),
    or a server_name_callback that gives the chains (a handshake it gives none is refused)."""
    if cfg.certificates or cfg.server_name_callback is not None:
        return
    if not cfg.psks:
        raise ConfigError("a server needs at least one certificate and key, or external PSKs (psks)")
    if cfg.tls_min < ProtocolVersion.TLSv1_3:
        raise ConfigError("a server with external PSKs and no certificate speaks TLS 1.3 only: set tls_min to 1.3")


def _check_revocation(policy: str, crls: Iterable[object], name: str) -> None:
    if policy not in ("soft", "hard"):
        raise ConfigError(f"{name} must be soft or hard, not {policy!r}")
    for crl in crls:
        if not isinstance(crl, x509.CertificateRevocationList):
            raise ConfigError(f"CRLs must be parsed x509.CertificateRevocationList objects, not {type(crl).__name__}")


def _freeze(cfg: ClientConfig | ServerConfig, **conversions: Callable[[int], object]) -> None:
    for name, enum in conversions.items():
        value = getattr(cfg, name)
        if not isinstance(value, FromProfile):  # a profile's lists are enums already
            object.__setattr__(cfg, name, tuple(enum(v) for v in value))


def _apply_profile(cfg: ClientConfig | ServerConfig) -> None:
    """Take from ``cfg.profile`` every list not given explicitly; its lowest version is a floor."""
    profile = PROFILES.get(cfg.profile)
    if profile is None:
        raise ConfigError(
            f"unknown profile {cfg.profile!r}: choose one of {', '.join(PROFILES)}",
            facts=Facts("unknown_profile", field=f"{type(cfg).__name__}.profile", value=str(cfg.profile)),
        )
    client = isinstance(cfg, ClientConfig)
    for name in ("cipher_suites", "groups", "signature_schemes"):
        if isinstance(getattr(cfg, name), FromProfile):
            listed = profile.client_groups if client and name == "groups" else getattr(profile, name)
            object.__setattr__(cfg, name, FromProfile(listed))
    if cfg.tls_min < profile.tls_min:
        object.__setattr__(cfg, "tls_min", profile.tls_min)
    if not client:
        return
    for name in ("dhe_custom_groups", "legacy_server_connect"):  # None: the profile's; an explicit bool stays
        value = getattr(cfg, name)
        if value is None or isinstance(value, FlagFromProfile):
            object.__setattr__(cfg, name, FlagFromProfile(getattr(profile, name)))


@dataclass(frozen=True)
class ClientConfig:
    trust_store: TrustStore | None = None  # None means the system's CA bundle
    tls_min: ProtocolVersion = ProtocolVersion.TLSv1_2
    tls_max: ProtocolVersion = ProtocolVersion.TLSv1_3
    cipher_suites: tuple[CipherSuite, ...] = DEFAULT_SUITES
    groups: tuple[NamedGroup, ...] = DEFAULT_CLIENT_GROUPS
    key_share_groups: tuple[NamedGroup, ...] | None = None  # None: see shares_for
    signature_schemes: tuple[SignatureScheme, ...] = DEFAULT_SIGNATURE_SCHEMES
    alpn: tuple[str, ...] = ()
    # RFC 8449: announced; once negotiated, a larger record from the peer is record_overflow.
    record_size_limit: int | None = (1 << 14) + 1
    middlebox_compat: bool = True  # RFC 8446, Appendix D.4
    session_tickets: bool = True
    # TLS 1.3 PSKs (RFC 8446, Section 4.2.11): an external PSK to offer (a session to resume,
    # given to the connection, goes first), and the key exchange modes offered with any PSK
    # (Section 4.2.9): psk_dhe_ke keeps forward secrecy; psk_ke, no (EC)DHE, gives it up.
    psk: ExternalPsk | None = None
    psk_modes: tuple[PskKeyExchangeMode, ...] = (PskKeyExchangeMode.psk_dhe_ke,)
    certificate: CertifiedKey | None = None  # for client authentication
    # More chains to choose from: the one that fits the server's request is sent.
    certificates: tuple[CertifiedKey, ...] = ()
    # RFC 8879: the algorithms to offer for the server's (TLS 1.3) Certificate, in ClientHello,
    # and to compress our own with when the server's CertificateRequest lists one; (): none.
    certificate_compression: tuple[CertificateCompressionAlgorithm, ...] = certcompress.SUPPORTED
    # RFC 8446, Section 4.2.6: offer to answer a CertificateRequest after the handshake.
    # None: offer it when a certificate is configured; True: always (answering with an
    # empty Certificate when there is none); False: never.
    post_handshake_auth: bool | None = None
    require_extended_master_secret: bool = False  # RFC 7627, Section 5.2
    send_fallback_scsv: bool = False  # RFC 7507: only for a retry at a lower version
    # TLS 1.2 DHE with a group the server made itself (not RFC 7919's or RFC 3526's): refused
    # unless True (None: the profile says; the legacy profile's is True), and then only a safe prime
    # of 2048 bits or more (crypto/dhe12.py).
    dhe_custom_groups: bool | None = None
    # RFC 5746, Section 4.1: a TLS 1.2 server whose ServerHello has no renegotiation_info cannot
    # tell a renegotiation from a first handshake, so a man in the middle can splice his own
    # session in front of ours. Refused unless True (None: the profile says; the legacy profile's is
    # True), as OpenSSL 3 refuses it without SSL_OP_LEGACY_SERVER_CONNECT.
    legacy_server_connect: bool | None = None
    # RFC 7685: pad a ClientHello of 256 to 511 bytes to 512 with the padding extension, as NSS
    # and OpenSSL do for the load balancers that hang on those sizes.
    client_hello_padding: bool = False
    # Revocation (x509/revocation.py). ocsp: "request" asks for a stapled OCSP response
    # (status_request, RFC 6066, Section 8), checks one when stapled and requires one for a
    # must-staple certificate (RFC 7633); "require" requires one always; "off" neither asks
    # nor checks. crls: CRLs to look the server's path up in. revocation: "soft" lets a
    # certificate without a current CRL (or good staple) pass, "hard" refuses it.
    ocsp: str = "request"
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    revocation: str = "soft"
    # Online checks (x509/online.py) for a certificate no good staple covers: fetch its OCSP
    # response ("ocsp"), its CRL ("crl"), OCSP then the CRL ("both"), or nothing ("off": the trace
    # says "revocation not checked online"). The fetcher holds the cache, the deadlines and the HTTP
    # fetch, shared by every connection of this config (and of its replace() copies).
    revocation_fetch: str = "off"
    revocation_fetcher: OnlineRevocation = field(default_factory=OnlineRevocation, compare=False)
    limits: Limits = DEFAULT_LIMITS  # what the peer can make the connection spend (limits.py)
    dangerous: Dangerous = field(default_factory=Dangerous)
    # The security profile (profiles.py) the suite, group and signature scheme lists come from
    # when they are not given, and the floor of tls_min: "modern", "intermediate" or "legacy".
    profile: str = DEFAULT_PROFILE

    def __post_init__(self) -> None:
        _apply_profile(self)
        object.__setattr__(self, "alpn", _alpn_names(self.alpn))  # (bytes names taken: before the types)
        check_field_types(self, _FIELD_CLASSES)
        _freeze(self, cipher_suites=CipherSuite, groups=NamedGroup, signature_schemes=SignatureScheme)
        _check_psks(self, (self.psk,) if self.psk is not None else ())
        if self.key_share_groups is not None:
            _freeze(self, key_share_groups=NamedGroup)
            for group in self.key_share_groups:
                if group not in self.groups:
                    raise ConfigError(f"key share group {group.name} is not among the offered groups")
        object.__setattr__(self, "crls", tuple(self.crls))
        if self.ocsp not in ("off", "request", "require"):
            raise ConfigError(f"ocsp must be off, request or require, not {self.ocsp!r}")
        _check_revocation(self.revocation, self.crls, "revocation")
        check_mode(self.revocation_fetch)
        _check_certificate_compression(self)
        _common_validation(self)

    @functools.cached_property
    def versions(self) -> tuple[ProtocolVersion, ...]:
        """The versions the ClientHello offers, highest first (:func:`speakable_versions`)."""
        return speakable_versions(self)

    @property
    def shares_for(self) -> tuple[NamedGroup, ...]:
        """The groups the first ClientHello sends key shares for: ``key_share_groups``, or the
        first group, and when that is a hybrid also the first classical one, so that a
        server without the hybrid needs no HelloRetryRequest (as Chrome and OpenSSL 3.5 do)."""
        if self.key_share_groups is not None:
            return self.key_share_groups
        first = self.groups[:1]
        if first and first[0] in kx.TLS13_ONLY_GROUPS:
            classical = next((g for g in self.groups if g not in kx.TLS13_ONLY_GROUPS), None)
            return first + ((classical,) if classical is not None else ())
        return first

    @property
    def client_certificates(self) -> tuple[CertifiedKey, ...]:
        """Every chain the client may present, ``certificate`` first."""
        first = (self.certificate,) if self.certificate is not None else ()
        return first + tuple(self.certificates)

    @property
    def offers_post_handshake_auth(self) -> bool:
        if self.post_handshake_auth is None:
            return bool(self.client_certificates)
        return self.post_handshake_auth


@dataclass(frozen=True)
class ServerConfig:
    certificates: tuple[CertifiedKey, ...] = ()
    tls_min: ProtocolVersion = ProtocolVersion.TLSv1_2
    tls_max: ProtocolVersion = ProtocolVersion.TLSv1_3
    cipher_suites: tuple[CipherSuite, ...] = DEFAULT_SUITES
    groups: tuple[NamedGroup, ...] = DEFAULT_GROUPS  # in preference order
    # TLS 1.3: the first of groups the client supports even when it sent a share only for
    # another, asked for with a HelloRetryRequest (RFC 8446, Section 4.1.4); False: a group
    # the client sent a share for wins, saving the round trip (a hybrid we prefer aside).
    strict_group_preference: bool = False
    signature_schemes: tuple[SignatureScheme, ...] = DEFAULT_SIGNATURE_SCHEMES
    alpn: tuple[str, ...] = ()
    # A client whose ALPN list shares nothing with ``alpn``: no_application_protocol (RFC 7301,
    # Section 3.2), or, False, the handshake goes on with no protocol selected, as OpenSSL's
    # servers (nginx, Python's ssl) answer a callback that chose none (the ssl-compatible layer).
    alpn_required: bool = True
    # RFC 8449: announced; once negotiated, a larger record from the peer is record_overflow.
    record_size_limit: int | None = (1 << 14) + 1
    advertise_groups: bool = False  # send supported_groups in EncryptedExtensions
    prefer_client_suites: bool = False
    require_extended_master_secret: bool = False  # RFC 7627, Section 5.2
    session_tickets: bool = True  # RFC 5077 (TLS 1.2)
    # RFC 8446, Section 4.6.1: NewSessionTickets sent after each full TLS 1.3 handshake (one
    # after a resumption, as OpenSSL); 0: none. Sealed under ticket_keys, as TLS 1.2's tickets.
    tls13_tickets: int = 2
    # External PSKs a TLS 1.3 client may use (RFC 8446, Section 4.2.11); with no certificates
    # the server accepts only PSK handshakes. psk_modes: the PSK key exchange modes accepted,
    # in preference order (Section 4.2.9); psk_ke (no (EC)DHE, no forward secrecy) only if listed.
    psks: tuple[ExternalPsk, ...] = ()
    psk_modes: tuple[PskKeyExchangeMode, ...] = (PskKeyExchangeMode.psk_dhe_ke,)
    # RFC 8446, Section 4.2.10: 0-RTT data accepted per connection, announced in our tickets;
    # 0 (the default, as OpenSSL's): none. replay_guard remembers accepted 0-RTT hellos and
    # tickets (Section 8); servers sharing ticket keys must share it too.
    max_early_data_size: int = 0
    replay_guard: ReplayGuard = field(default_factory=MemoryReplayGuard)
    # Shared by every connection made with this configuration (and its dataclasses.replace copies).
    # These three are in this process's memory unless set otherwise; with_store("redis://…")
    # shares them with a fleet of servers (glasstls.store, docs/design/fleet.md).
    session_cache: SessionCache = field(default_factory=ServerSessionCache)
    ticket_keys: TicketKeyRing = field(default_factory=lambda: TicketKeys(system_randomness))
    # RFC 8446, Section 4.2.2: a HelloRetryRequest carries a cookie sealed under cookie_sealer
    # (a random key unless given) holding what the server needs of the first ClientHello, and
    # the server keeps nothing of it while it waits for the second.
    stateless_hrr: bool = False
    cookie_sealer: CookieSealer | None = None
    refuse_unknown_server_names: bool = False  # unrecognized_name instead of the default chain (RFC 6066)
    # Called once per ClientHello with the client's server_name (None without SNI), once the version
    # is chosen and before anything else is (OpenSSL's servername callback, resumptions too;
    # glasstls.compat's sni_callback runs through it). It returns the chains to choose among for the
    # name (None: ``certificates``), or a ServerConfig to serve the rest of this handshake with
    # (as Go's GetConfigForClient: its chains, ALPN, suites ...; its own callback is not called),
    # or raises AlertError to refuse. With it, ``certificates`` may be empty: a handshake it gives
    # no chain for is refused (handshake_failure).
    server_name_callback: Callable[[str | None], tuple[CertifiedKey, ...] | ServerConfig | None] | None = None
    client_auth: str = "none"  # "none", "optional" or "required"
    client_trust_store: TrustStore | None = None  # for client certificates
    # CRLs for client certificates, and the policy when a certificate has no current CRL
    # of its issuer: "soft" lets it pass, "hard" refuses it (x509/revocation.py).
    client_crls: tuple[x509.CertificateRevocationList, ...] = ()
    client_revocation: str = "soft"
    # Called with the client's ClientIdentity once its chain verified: None accepts, a reason
    # refuses with access_denied (RFC 8446, Section 6.2); None here: every verified client is in.
    client_identity_check: ClientIdentityCheck | None = None
    # RFC 8879: compress our (TLS 1.3) Certificate with the first of these the client offers, and
    # offer them for the client's in our CertificateRequest; (): neither.
    certificate_compression: tuple[CertificateCompressionAlgorithm, ...] = certcompress.SUPPORTED
    limits: Limits = DEFAULT_LIMITS  # what the peer can make each connection spend (limits.py)
    dangerous: Dangerous = field(default_factory=Dangerous)
    # The security profile (profiles.py) the suite, group and signature scheme lists come from
    # when they are not given, and the floor of tls_min: "modern", "intermediate" or "legacy".
    profile: str = DEFAULT_PROFILE

    def __post_init__(self) -> None:
        _apply_profile(self)
        object.__setattr__(self, "alpn", _alpn_names(self.alpn))  # (bytes names taken: before the types)
        check_field_types(self, _FIELD_CLASSES)
        for name in ("server_name_callback", "client_identity_check"):
            if getattr(self, name) is not None and not callable(getattr(self, name)):
                raise ConfigError(
                    f"ServerConfig.{name} takes a function or None, not {type(getattr(self, name)).__name__}"
                )
        _freeze(self, cipher_suites=CipherSuite, groups=NamedGroup, signature_schemes=SignatureScheme)
        object.__setattr__(self, "certificates", tuple(self.certificates))
        object.__setattr__(self, "client_crls", tuple(self.client_crls))
        _check_revocation(self.client_revocation, self.client_crls, "client_revocation")
        _check_certificate_compression(self)
        object.__setattr__(self, "psks", tuple(self.psks))
        _check_psks(self, self.psks)
        _check_server_credentials(self)
        if not 0 <= self.tls13_tickets <= MAX_TLS13_TICKETS:
            raise ConfigError(f"tls13_tickets must be 0 to {MAX_TLS13_TICKETS}, not {self.tls13_tickets}")
        if not 0 <= self.max_early_data_size <= 0xFFFFFFFF:
            raise ConfigError(f"max_early_data_size must be 0 to 2^32-1, not {self.max_early_data_size}")
        if self.client_auth not in ("none", "optional", "required"):
            raise ConfigError(f"client_auth must be none, optional or required, not {self.client_auth!r}")
        if self.client_auth != "none" and self.client_trust_store is None:
            raise ConfigError(
                f"client_auth {self.client_auth!r} needs a trust store for client certificates (client_trust_store)",
                facts=Facts("missing_client_trust_store", field="ServerConfig.client_trust_store"),
            )
        self._make_session_state()
        for cert in self.certificates:
            if not schemes_for_key(cert.private_key):
                raise ConfigError(
                    f"no TLS 1.3 signature scheme fits the key of {cert.chain[0].subject.rfc4514_string()}"
                )
        _common_validation(self)

    @functools.cached_property
    def versions(self) -> tuple[ProtocolVersion, ...]:
        """The versions the server accepts, highest first (:func:`speakable_versions`)."""
        return speakable_versions(self)

    def with_store(
        self,
        url: str | None,
        store_key: bytes | Sequence[bytes] | str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> ServerConfig:
        """This configuration with its session cache, ticket keys and replay guard from the
        store at ``url``: ``"memory"`` (new ones of this process) or
        ``"redis://HOST:PORT/DB"``, shared by every server given the same URL and store
        key (the key, a list of keys or a key file, seals what Redis keeps). ``options``:
        those of :func:`glasstls.store.open_stores` (rotate_after, accept_for, prefix,
        deadline, log, max_sessions)."""
        from .store import open_stores

        return replace(self, **open_stores(url, store_key, **options).fields())

    def _make_session_state(self) -> None:
        # An explicit None asks for a fresh one, as the default does.
        if self.session_cache is None:
            object.__setattr__(self, "session_cache", ServerSessionCache())
        if self.ticket_keys is None:
            object.__setattr__(self, "ticket_keys", TicketKeys(system_randomness))
        if self.stateless_hrr and self.cookie_sealer is None:
            object.__setattr__(self, "cookie_sealer", CookieSealer(system_randomness))


# The classes check_field_types reads in the annotations of the configurations' fields (config_check.py).
_FIELD_CLASSES: dict[str, type] = {
    "TrustStore": TrustStore,
    "Limits": Limits,
    "Dangerous": Dangerous,
    "CertifiedKey": CertifiedKey,
    "ExternalPsk": ExternalPsk,
    "CookieSealer": CookieSealer,
    "x509.CertificateRevocationList": x509.CertificateRevocationList,
}
