"""The CA tool's OCSP answers (RFC 6960, Section 4.2): one signed BasicOCSPResponse per CertID.

Shared by ``glasstls ca ocsp`` (a response written to a file, for a certificate in
hand) and ``glasstls ca serve`` (an answer to a request, which names the certificate
only by its CertID: the hash of its issuer's name and key, and its serial number,
RFC 6960, Section 4.1.1). The CertID is echoed with the hash algorithm the request
used, since a client matches a response to its request by comparing CertIDs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from ..errors import ConfigError, Facts
from .ca_files import same_public_key
from .mint import Issuer, PrivateKey, signature_hash


class Revoked(Protocol):
    """What a response says of a revocation (ca.Revocation has it; not imported: ca imports this)."""

    @property
    def date(self) -> datetime: ...

    @property
    def reason_flag(self) -> x509.ReasonFlags | None: ...


@dataclass(frozen=True)
class CertId:
    """RFC 6960, Section 4.1.1: whom a request or a single response is about."""

    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int
    algorithm: hashes.HashAlgorithm

    @classmethod
    def of(cls, cert: x509.Certificate, issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> CertId:
        request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm).build()
        return cls.from_request(request)

    @classmethod
    def from_request(cls, request: ocsp.OCSPRequest) -> CertId:
        return cls(request.issuer_name_hash, request.issuer_key_hash, request.serial_number, request.hash_algorithm)

    def names_issuer(self, issuer: x509.Certificate) -> bool:
        """Whether the hashes are those of ``issuer``'s name and key (in this CertID's algorithm)."""
        digest = hashes.Hash(self.algorithm)
        digest.update(issuer.subject.public_bytes())  # the DER of the issuer's name (RFC 6960, 4.1.1)
        key_hash = CertId.of(issuer, issuer, self.algorithm).issuer_key_hash  # the hash of the issuer's key
        return digest.finalize() == self.issuer_name_hash and key_hash == self.issuer_key_hash


def sign_response(
    cert_id: CertId,
    issuer: Issuer,
    revocation: Revoked | None,
    now: datetime,
    lifetime: timedelta,
    responder: tuple[x509.Certificate, PrivateKey] | None = None,
    *,
    nonce: bytes | None = None,
    known: bool = True,
) -> ocsp.OCSPResponse:
    """A response about ``cert_id``: revoked with ``revocation``, else good, or unknown unless ``known``.

    thisUpdate is ``now`` and nextUpdate ``now + lifetime`` (RFC 6960, Section 4.2.2.1);
    a ``nonce`` from the request is echoed (Section 4.4.1). Signed by ``issuer``, or by
    the delegated ``responder`` it certified for OCSPSigning (Section 4.2.2.2), whose
    certificate then rides in the response so the client can check the signature.
    """
    moment = now.replace(microsecond=0)
    state, revoked_at, reason = ocsp.OCSPCertStatus.GOOD, None, None
    if not known:  # RFC 6960, 2.2: a serial this CA never issued
        state = ocsp.OCSPCertStatus.UNKNOWN
    elif revocation is not None:
        state, revoked_at, reason = ocsp.OCSPCertStatus.REVOKED, revocation.date, revocation.reason_flag
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        cert_id.issuer_name_hash,
        cert_id.issuer_key_hash,
        cert_id.serial,
        cert_id.algorithm,
        state,
        moment,
        moment + lifetime,
        revoked_at,
        reason,
    )
    signer_cert, signer_key = responder or (issuer.certificate, issuer.key)
    if responder is not None:
        check_responder(signer_cert, signer_key, issuer)
        builder = builder.certificates([signer_cert])
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.sign(signer_key, signature_hash(signer_key))


def check_responder(cert: x509.Certificate, key: PrivateKey, issuer: Issuer) -> None:
    """A delegated responder must hold ``key``, be issued by ``issuer`` and carry OCSPSigning (RFC 6960, 4.2.2.2)."""
    who = _describe(cert)
    if not same_public_key(cert, key):
        raise ConfigError(f"the responder key does not belong to the responder certificate {who}")
    try:
        cert.verify_directly_issued_by(issuer.certificate)
    except (ValueError, TypeError, InvalidSignature):
        raise ConfigError(
            f"responder {who} was not issued by {_describe(issuer.certificate)}, the issuer of the certificate "
            "asked about; a delegated responder answers only for its own CA (RFC 6960, 4.2.2.2)"
        ) from None
    try:
        usages = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        usages = []
    if ExtendedKeyUsageOID.OCSP_SIGNING not in usages:
        raise ConfigError(
            f"responder {who} lacks the OCSPSigning extended key usage: issue one with "
            "CertificateAuthority.issue_ocsp_responder",
            facts=Facts("invalid_value", field="CertificateAuthority.ocsp_response(responder)", value=who),
        )


def _describe(cert: x509.Certificate) -> str:
    serial = cert.serial_number
    digits = serial.to_bytes((serial.bit_length() + 7) // 8 or 1).hex().upper()
    return cert.subject.rfc4514_string() or f"serial {digits}"
