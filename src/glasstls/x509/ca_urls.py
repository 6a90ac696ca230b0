"""Where the certificates of a glasstls CA point, and the paths ``glasstls ca serve`` answers at.

A certificate can name where to learn more about it (RFC 5280):

* CRL Distribution Points (Section 4.2.1.13): where its issuer's CRL is published;
* Authority Information Access (Section 4.2.2.1): the OCSP responder (id-ad-ocsp)
  and where to download the issuer's certificate (id-ad-caIssuers, DER over HTTP).

``glasstls ca init --url http://HOST:PORT`` derives all of them from one base, laid
out as :mod:`glasstls.x509.responder` serves it: ``/ocsp``, ``/crl.der`` (the CRL of
the CA that issues the leaves), ``/root-crl.der`` (the root's, which lists a revoked
intermediate), ``/root.der``, ``/intermediate.der`` and ``/issuer.der`` (the leaves'
issuer). A certificate issued by the root points at the root's CRL and certificate,
one issued by the intermediate at the intermediate's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from ..errors import ConfigError, Facts

OCSP_PATH = "/ocsp"
CRL_PATH = "/crl.der"
ROOT_CRL_PATH = "/root-crl.der"
ISSUER_PATH = "/issuer.der"

Extensions: TypeAlias = list[tuple[x509.ExtensionType, bool]]

# http://HOST:PORT with an optional path prefix: plain HTTP, as RFC 5280, 4.2.1.13 and
# RFC 6960, Appendix A expect (a TLS fetch inside a certificate check could loop).
_BASE_URL = re.compile(r"^http://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?(/[^\s?#]*)?$")


def certificate_path(level: str) -> str:
    """``/root.der`` or ``/intermediate.der``: where the responder serves that certificate."""
    return f"/{level}.der"


def base_url(url: str) -> str:
    """``url`` checked as http://HOST[:PORT][/prefix], without its trailing slash."""
    if not _BASE_URL.match(url):
        raise ConfigError(
            f"url {url!r}: give the responder's base as http://HOST:PORT (plain HTTP, as OCSP and CRL fetches use)",
            facts=Facts("invalid_value", field="CertificateAuthority.init(url)", value=url),
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class Pointers:
    """The URLs one certificate carries (any may be None)."""

    crl: str | None = None
    ocsp: str | None = None
    ca_issuers: str | None = None

    def extensions(self) -> Extensions:
        """CRL Distribution Points (RFC 5280, 4.2.1.13) and Authority Information Access (4.2.2.1)."""
        extensions: Extensions = []
        if self.crl:
            point = x509.DistributionPoint([x509.UniformResourceIdentifier(self.crl)], None, None, None)
            extensions.append((x509.CRLDistributionPoints([point]), False))
        access = []
        if self.ocsp:
            access.append(
                x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(self.ocsp))
            )
        if self.ca_issuers:
            access.append(
                x509.AccessDescription(
                    AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(self.ca_issuers)
                )
            )
        if access:
            extensions.append((x509.AuthorityInformationAccess(access), False))
        return extensions


def pointers(
    issuer_level: str, *, crl_url: str | None, ocsp_url: str | None, url: str | None, root_signs_leaves: bool
) -> Pointers:
    """What a certificate signed by ``issuer_level`` ("root" or "intermediate") points at.

    With a base ``url``, a certificate the root signed while an intermediate issues the
    leaves (the intermediate itself) points at the root's CRL, not the leaves' one: a
    client checks each certificate against its own issuer's CRL (RFC 5280, 6.3.3).
    """
    if url is None:
        return Pointers(crl=crl_url, ocsp=ocsp_url)
    crl = url + (ROOT_CRL_PATH if issuer_level == "root" and not root_signs_leaves else CRL_PATH)
    return Pointers(crl=crl, ocsp=url + OCSP_PATH, ca_issuers=url + certificate_path(issuer_level))


def aia_url(cert: x509.Certificate, method: x509.ObjectIdentifier) -> str | None:
    """The first http:// URL of ``method`` (OCSP or CA_ISSUERS) in ``cert``'s AIA, or None."""
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for description in access:
        location = description.access_location
        if (
            description.access_method == method
            and isinstance(location, x509.UniformResourceIdentifier)
            and location.value.lower().startswith("http://")
        ):
            return location.value
    return None
