"""The chain a context sends for a certificate loaded alone, as OpenSSL completes it.

OpenSSL's ssl_add_cert_chain: a certificate loaded with no chain of its own (no intermediates in
its file, no extra chain certificates) is sent with the chain X509_verify_cert builds for it from
the context's verify store, the trust anchor included, errors ignored (as far as it gets), unless
SSL_MODE_NO_AUTO_CHAIN. So a server whose CA file for client certificates holds its own
intermediate sends it, and a client whose verify store holds its issuer sends that. glasstls's
ssl-compatible context does the same; a certificate file with its intermediates is sent as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from ..config import CertifiedKey
from ..x509.store import TrustStore

_MAX_KEPT = 8  # a context serves two chains at most (ECDSA, RSA), and presents one as a client
_MAX_ISSUERS = 8  # as glasstls's path building (x509/verify.py, MAX_CHAIN_DEPTH)


class AutoChains:
    """A context's chains completed, each kept until the trust store or the chain changes."""

    def __init__(self) -> None:
        self._kept: dict[int, tuple[TrustStore, CertifiedKey, CertifiedKey]] = {}

    def completed(self, certified: CertifiedKey, store: TrustStore) -> CertifiedKey:
        kept = self._kept.get(id(certified))
        if kept is None or kept[0] is not store or kept[1] is not certified:
            if len(self._kept) >= _MAX_KEPT:  # chains loaded again and again: the old ones go
                self._kept.clear()
            kept = (store, certified, completed(certified, store.certificates))
            self._kept[id(certified)] = kept
        return kept[2]


def completed(certified: CertifiedKey, cas: Sequence[x509.Certificate]) -> CertifiedKey:
    """``certified`` with the issuers ``cas`` hold for its leaf, up to a self-signed one, when it
    was loaded alone; as it is otherwise, or when no issuer is there."""
    if len(certified.chain) != 1 or not cas:
        return certified
    issuers: list[x509.Certificate] = []
    current = certified.chain[0]
    while len(issuers) < _MAX_ISSUERS and not _self_signed(current):
        issuer = next((ca for ca in cas if _issued(current, ca) and ca not in issuers), None)
        if issuer is None:
            break
        issuers.append(issuer)
        current = issuer
    if not issuers:
        return certified
    return dataclasses.replace(certified, chain=(certified.chain[0], *issuers))


def _issued(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``certificate`` (names first: the signature check costs more)."""
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _self_signed(certificate: x509.Certificate) -> bool:
    return certificate.issuer == certificate.subject and _issued(certificate, certificate)
