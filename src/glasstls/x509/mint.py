"""A throwaway PKI minted in memory, for ``glasstls demo`` and for the tests.

``ThrowawayCA.create()`` makes a root (and by default one intermediate) and then
issues server and client certificates under it. Every certificate carries the
extensions an RFC 5280 path validator and the CA/Browser Forum profile expect,
so ``cryptography.x509.verification`` accepts the chains as they are:

* CA certificates: BasicConstraints cA=TRUE with a path length (critical,
  RFC 5280, Section 4.2.1.9), KeyUsage keyCertSign + cRLSign (critical,
  Section 4.2.1.3), SubjectKeyIdentifier (Section 4.2.1.2) and, below the
  root, AuthorityKeyIdentifier (Section 4.2.1.1).
* Leaves: BasicConstraints cA=FALSE, KeyUsage, SKI, AKI, SubjectAltName with
  DNS names and IP addresses (Section 4.2.1.6) and ExtendedKeyUsage
  (Section 4.2.1.12).

Nothing here is meant for production: keys are unencrypted and never stored
unless ``Identity.write`` is called. Key generation is the slow part (RSA-2048
takes tens of milliseconds, ECDSA and EdDSA well under one), so callers choose
the key type.

"rsa-pss" keys (an RSASSA-PSS SubjectPublicKeyInfo, needed for the TLS 1.3
rsa_pss_pss_* schemes of RFC 8446, Section 4.2.3) are not offered:
``cryptography`` loads and writes RSA-PSS keys as plain rsaEncryption keys, so it
cannot mint such a certificate.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

KeyType = Literal["ecdsa-p256", "ecdsa-p384", "rsa2048", "rsa3072", "ed25519", "ed448"]
# The types the tests sweep; generate_key also makes "rsa3072" (the CA tool offers it).
KEY_TYPES: tuple[KeyType, ...] = ("ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519", "ed448")

PrivateKey: TypeAlias = (
    ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
)

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH

LEAF_LIFETIME = timedelta(days=30)
# CA certificates outlive the leaves they sign so that a leaf minted with a longer
# not_after still chains to CAs that are valid at the same moments.
CA_LIFETIME = timedelta(days=365)
BACKDATE = timedelta(hours=1)  # tolerate small clock skew between the peers of a test


def generate_key(key_type: KeyType = "ecdsa-p256") -> PrivateKey:
    """A fresh private key of ``key_type`` (one of :data:`KEY_TYPES`)."""
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type in ("rsa2048", "rsa3072"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    raise ValueError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)} or rsa3072")


def signature_hash(signer: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | None:
    """The hash of a certificate, CRL or OCSP response signed by ``signer`` (None for EdDSA, which hashes itself).

    ECDSA keys sign with the hash that matches the curve size, as the TLS 1.3
    ecdsa_secp*_sha* schemes pair them (RFC 8446, Section 4.2.3).
    """
    if isinstance(signer, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    if isinstance(signer, ec.EllipticCurvePrivateKey) and signer.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def subject_name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def general_name(name: str) -> x509.GeneralName:
    """An IP address literal becomes an iPAddress SAN, anything else a dNSName (RFC 5280, 4.2.1.6)."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


_KEY_USAGES = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
    "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
)  # fmt: skip


def key_usage(**allowed: bool) -> x509.KeyUsage:
    """A KeyUsage that allows what ``allowed`` names True and nothing else (RFC 5280, 4.2.1.3), by
    cryptography's names: ``key_usage(digital_signature=True, key_encipherment=True)``."""
    unknown = set(allowed) - set(_KEY_USAGES)
    if unknown:
        raise TypeError(f"no key usage named {', '.join(sorted(unknown))}")
    return x509.KeyUsage(**{name: bool(allowed.get(name, False)) for name in _KEY_USAGES})


def leaf_key_usage(key: PrivateKey | CertificatePublicKeyTypes) -> x509.KeyUsage:
    """digitalSignature for every key (private, or a requester's public one); RSA keys also
    keyEncipherment, for the TLS 1.2 RSA key exchange."""
    rsa_key = isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey)
    return key_usage(digital_signature=True, key_encipherment=rsa_key)


# digitalSignature lets the CA sign OCSP responses itself.
CA_KEY_USAGE = key_usage(digital_signature=True, key_cert_sign=True, crl_sign=True)


@dataclass(frozen=True)
class Issuer:
    """A CA certificate and its key: what signs the certificates below it."""

    certificate: x509.Certificate
    key: PrivateKey


def authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """The AKI naming ``issuer``'s SubjectKeyIdentifier (RFC 5280, Section 4.2.1.1)."""
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def build_certificate(
    subject: x509.Name,
    public_key: CertificatePublicKeyTypes,
    issuer: Issuer | None,
    signer: PrivateKey,
    not_before: datetime,
    not_after: datetime,
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
    *,
    serial: int | None = None,
) -> x509.Certificate:
    """Sign one certificate; ``issuer`` None means self-signed (a root).

    SubjectKeyIdentifier and (below a root) AuthorityKeyIdentifier are added here;
    ``extensions`` are the rest, as (extension, critical) pairs. ``serial`` defaults
    to a fresh random one (RFC 5280, Section 4.1.2.2: positive, at most 20 octets).
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(authority_key_identifier(issuer.certificate), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, signature_hash(signer))


def certificates_pem(certificates: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def private_key_pem(key: PrivateKey) -> bytes:
    """The key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private(path: str | os.PathLike[str], data: bytes, *, exclusive: bool = False) -> None:
    """Write secret bytes (a key, a PKCS#12 bundle) to a file readable by its owner only.

    The file is opened with mode 0600 from the start, so it is never readable by
    others, even briefly; ``exclusive`` refuses to replace a file that exists
    (FileExistsError).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # O_CREAT's mode does not apply to a file that already existed
        f.write(data)


@dataclass(frozen=True)
class Identity:
    """A certificate chain and its private key: what a server (or client) presents.

    ``chain`` is leaf first, then intermediates, without the root (RFC 8446,
    Section 4.4.2: the sender's certificate comes first, each following one
    certifies the one before; the trust anchor may be omitted).
    """

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    private_key: PrivateKey

    def chain_pem(self) -> bytes:
        return certificates_pem(self.chain)

    def key_pem(self) -> bytes:
        return private_key_pem(self.private_key)

    def write(self, cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]) -> None:
        """Write the chain and the key as PEM; the key file is created with mode 0600."""
        with open(cert_path, "wb") as f:
            f.write(self.chain_pem())
        write_private(key_path, self.key_pem())


@dataclass(frozen=True)
class ThrowawayCA:
    """A root, optionally one intermediate, and the ability to issue leaves under them."""

    root_cert: x509.Certificate
    root_key: PrivateKey
    intermediate_cert: x509.Certificate | None = None
    intermediate_key: PrivateKey | None = None

    @classmethod
    def create(
        cls,
        common_name: str = "glasstls throwaway root",
        key_type: KeyType = "ecdsa-p256",
        with_intermediate: bool = True,
        *,
        now: datetime | None = None,
    ) -> ThrowawayCA:
        """A new root valid for a year from ``now`` (minus an hour), and an intermediate under it."""
        start = _now(now) - BACKDATE
        root_key = generate_key(key_type)
        path_length = 1 if with_intermediate else 0
        root_cert = build_certificate(
            subject_name(common_name),
            root_key.public_key(),
            None,
            root_key,
            start,
            start + BACKDATE + CA_LIFETIME,
            ca_extensions(path_length),
        )
        ca = cls(root_cert, root_key)
        if with_intermediate:
            ca = ca.with_intermediate(f"{common_name} intermediate", key_type, now=now)
        return ca

    def with_intermediate(
        self,
        common_name: str = "glasstls throwaway intermediate",
        key_type: KeyType = "ecdsa-p256",
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        now: datetime | None = None,
    ) -> ThrowawayCA:
        """The same root with a new intermediate (path length 0) signed by it.

        Lets a test mint an expired or not-yet-valid intermediate under a good root.
        """
        start = _now(now) - BACKDATE
        key = generate_key(key_type)
        cert = build_certificate(
            subject_name(common_name),
            key.public_key(),
            Issuer(self.root_cert, self.root_key),
            self.root_key,
            not_before or start,
            not_after or start + BACKDATE + CA_LIFETIME,
            ca_extensions(0),
        )
        return ThrowawayCA(self.root_cert, self.root_key, cert, key)

    @property
    def issuer(self) -> tuple[x509.Certificate, PrivateKey]:
        """The certificate and key that sign leaves: the intermediate if there is one."""
        if self.intermediate_cert is not None and self.intermediate_key is not None:
            return self.intermediate_cert, self.intermediate_key
        return self.root_cert, self.root_key

    def root_pem(self) -> bytes:
        """The root as PEM: what a client passes as ``--cacert``."""
        return certificates_pem([self.root_cert])

    def issue_server(
        self,
        names: Sequence[str],
        key_type: KeyType = "ecdsa-p256",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        eku: Sequence[ObjectIdentifier] | None = (SERVER_AUTH,),
        *,
        now: datetime | None = None,
    ) -> Identity:
        """A server certificate for ``names`` (DNS names, wildcards, IP literals); CN = names[0].

        ``eku=None`` leaves the ExtendedKeyUsage extension out altogether.
        """
        if not names:
            raise ValueError("a server certificate needs at least one name")
        san = x509.SubjectAlternativeName([general_name(n) for n in names])
        return self._issue_leaf(names[0], key_type, [(san, False)], eku, not_before, not_after, now)

    def issue_client(
        self,
        common_name: str,
        key_type: KeyType = "ecdsa-p256",
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        eku: Sequence[ObjectIdentifier] | None = (CLIENT_AUTH,),
        *,
        now: datetime | None = None,
    ) -> Identity:
        """A client certificate whose subject is CN=``common_name``, with the clientAuth EKU.

        The name is repeated in a SubjectAltName (an rfc822Name when it contains "@"), as
        many PKIs do; glasstls's server does not require one (x509/client_policy.py).
        """
        if "@" in common_name:
            san_name: x509.GeneralName = x509.RFC822Name(common_name)
        else:
            san_name = general_name(common_name)
        san = x509.SubjectAlternativeName([san_name])
        return self._issue_leaf(common_name, key_type, [(san, False)], eku, not_before, not_after, now)

    def _issue_leaf(
        self,
        common_name: str,
        key_type: KeyType,
        extra: list[tuple[x509.ExtensionType, bool]],
        eku: Sequence[ObjectIdentifier] | None,
        not_before: datetime | None,
        not_after: datetime | None,
        now: datetime | None,
    ) -> Identity:
        start = _now(now) - BACKDATE
        key = generate_key(key_type)
        issuer_cert, issuer_key = self.issuer
        extensions: list[tuple[x509.ExtensionType, bool]] = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (leaf_key_usage(key), True),
            *extra,
        ]
        if eku:
            extensions.append((x509.ExtendedKeyUsage(list(eku)), False))
        cert = build_certificate(
            subject_name(common_name),
            key.public_key(),
            Issuer(issuer_cert, issuer_key),
            issuer_key,
            not_before or start,
            not_after or start + BACKDATE + LEAF_LIFETIME,
            extensions,
        )
        intermediates = (self.intermediate_cert,) if self.intermediate_cert is not None else ()
        return Identity(cert, (cert, *intermediates), key)


def ca_extensions(path_length: int | None) -> list[tuple[x509.ExtensionType, bool]]:
    """BasicConstraints cA=TRUE with ``path_length`` and the CA KeyUsage, both critical (RFC 5280, 4.2.1.9/3)."""
    return [
        (x509.BasicConstraints(ca=True, path_length=path_length), True),
        (CA_KEY_USAGE, True),
    ]


# The private names these helpers had before the CA tool (glasstls.x509.ca) shared them, kept for older callers.
_Issuer, _build, _name, _general_name, _pem = Issuer, build_certificate, subject_name, general_name, certificates_pem
_signature_hash, _leaf_key_usage, _ca_extensions, _CA_KEY_USAGE = (
    signature_hash,
    leaf_key_usage,
    ca_extensions,
    CA_KEY_USAGE,
)
