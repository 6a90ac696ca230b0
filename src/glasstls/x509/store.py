"""Trust anchors: the certificates a client takes on faith (RFC 5280, Section 6.1.1 (d)).

A :class:`TrustStore` is an immutable set of root certificates, loaded from a PEM
bundle (``--cacert FILE``), from certificates already parsed, or from the
operating system's bundle. The path validator in :mod:`glasstls.x509.verify`
asks it for a ``cryptography.x509.verification.Store``, built once and cached.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import ssl
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification

from ..errors import ConfigError, Facts
from ..files import read_config_file
from .verify_cache import VerifiedCache

# Debian/Ubuntu's bundle first; the others are where OpenSSL and certifi keep theirs.
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
)

_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL)


class TrustStore:
    """An immutable, ordered set of trust anchors."""

    __slots__ = ("_certificates", "_store", "source", "verified")

    def __init__(self, certificates: Iterable[x509.Certificate], source: str = "certificates") -> None:
        unique: dict[bytes, x509.Certificate] = {}
        for cert in certificates:
            unique.setdefault(cert.fingerprint(hashes.SHA256()), cert)  # a bundle may list one root twice
        if not unique:
            raise ConfigError(f"no trust anchors in {source}: a trust store needs at least one CA")
        self._certificates = tuple(unique.values())
        self._store: verification.Store | None = None
        self.source = source
        # Chains that verified against these anchors (verify_cache.py: why this is safe).
        self.verified: VerifiedCache[Any] = VerifiedCache()

    # -- constructors --------------------------------------------------------------

    @classmethod
    def from_certificates(cls, certificates: Iterable[x509.Certificate], source: str = "certificates") -> TrustStore:
        return cls(certificates, source)

    @classmethod
    def from_pem(cls, data: bytes, source: str = "PEM data", *, skip_unparsable: bool = False) -> TrustStore:
        """Every CERTIFICATE block of a PEM bundle; other blocks (keys, CRLs) are ignored.

        A block that does not parse is an error naming its position, unless
        ``skip_unparsable`` (used for the system bundle, which is not ours to fix).
        """
        certificates = []
        for index, match in enumerate(_PEM_CERTIFICATE.finditer(data), start=1):
            try:
                with warnings.catch_warnings():
                    # Some old roots in CA bundles have non-positive serial numbers, which
                    # cryptography parses with a deprecation warning; OpenSSL takes them silently.
                    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                    certificates.append(x509.load_pem_x509_certificate(match.group(0)))
            except ValueError as exc:
                if skip_unparsable:
                    continue
                raise ConfigError(f"certificate #{index} in {source} does not parse: {exc}") from None
        return cls(certificates, source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrustStore:
        """A PEM bundle on disk, as given to ``--cacert``."""
        try:
            data = read_config_file(path)
        except OSError as exc:
            raise ConfigError(f"cannot read CA file {os.fspath(path)}: {exc.strerror}") from None
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise ConfigError(f"{os.fspath(path)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        return cls.from_pem(data, os.fspath(path))

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> TrustStore:
        """Every PEM certificate in a directory, as given to ``--capath`` (like
        OpenSSL's CApath: c_rehash links, *.pem and *.crt files; others are skipped)."""
        folder = os.fspath(path)
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            raise ConfigError(f"cannot read CA directory {folder}: {exc.strerror}") from None
        certificates: list[x509.Certificate] = []
        for name in names:
            full = os.path.join(folder, name)
            if not os.path.isfile(full):
                continue
            try:
                data = read_config_file(full)
                if b"-----BEGIN CERTIFICATE-----" in data:
                    certificates += cls.from_pem(data, full, skip_unparsable=True).certificates
            except (OSError, ConfigError):
                continue  # as OpenSSL's CApath: a file it cannot use (unreadable, nothing parses) is skipped
        if not certificates:
            raise ConfigError(f"CA directory {folder} holds no PEM certificate")
        return cls(certificates, folder)

    @classmethod
    def system(cls) -> TrustStore:
        """The operating system's CA bundle, or certifi's when it has none; loaded once per process."""
        return _system_store()

    # -- queries -------------------------------------------------------------------

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return self._certificates

    def to_cryptography_store(self) -> verification.Store:
        """The same anchors as a ``cryptography`` Store, built on first use and kept."""
        if self._store is None:
            self._store = verification.Store(list(self._certificates))
        return self._store

    def issuers_of(self, cert: x509.Certificate) -> list[x509.Certificate]:
        """Anchors whose subject is the certificate's issuer (a name match, not yet a signature check)."""
        return [anchor for anchor in self._certificates if anchor.subject == cert.issuer]

    def __contains__(self, cert: object) -> bool:
        return isinstance(cert, x509.Certificate) and any(cert == anchor for anchor in self._certificates)

    def __iter__(self) -> Iterator[x509.Certificate]:
        return iter(self._certificates)

    def __len__(self) -> int:
        return len(self._certificates)

    def __repr__(self) -> str:
        return f"TrustStore({len(self)} anchors from {self.source})"


def _system_bundle_paths() -> list[str]:
    paths = list(SYSTEM_BUNDLES)
    openssl_default = ssl.get_default_verify_paths().cafile
    if openssl_default:
        paths.append(openssl_default)
    try:
        # Optional (not a dependency, so not type-checked): only a fallback for machines without a system bundle.
        certifi = importlib.import_module("certifi")
    except ImportError:
        pass
    else:
        paths.append(str(certifi.where()))
    return paths


@functools.lru_cache(maxsize=1)
def _system_store() -> TrustStore:
    for path in _system_bundle_paths():
        if os.path.isfile(path):
            return TrustStore.from_pem(read_config_file(path), path, skip_unparsable=True)
    raise ConfigError(
        "no system CA bundle found (looked in " + ", ".join(_system_bundle_paths()) + "): "
        "install the ca-certificates package, or give ClientConfig.trust_store",
        facts=Facts("no_trust_store", field="ClientConfig.trust_store"),
    )
