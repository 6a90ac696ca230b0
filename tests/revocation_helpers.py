"""OCSP responses and CRLs for the tests, built with cryptography's builders.

Built directly (not with the CA tool) so a test can make exactly the broken
thing it needs: a stale response, one signed by a stranger, one about another
certificate, a CRL from the wrong key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from glasstls import CertifiedKey
from glasstls.x509.mint import Identity, ThrowawayCA, signature_hash

STATUSES = {
    "good": ocsp.OCSPCertStatus.GOOD,
    "revoked": ocsp.OCSPCertStatus.REVOKED,
    "unknown": ocsp.OCSPCertStatus.UNKNOWN,
}
REVOKED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def ocsp_response(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    signer: tuple[x509.Certificate, object],
    *,
    status: str = "good",
    now: datetime | None = None,
    this_update: datetime | None = None,
    next_update: datetime | bool | None = True,
    include_signer: bool = False,
    algorithm: hashes.HashAlgorithm | None = None,
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
    by_name: bool = False,
) -> ocsp.OCSPResponse:
    """A basic OCSP response about ``cert``; ``signer`` is (certificate, key) of who signs it.

    ``next_update=True`` means this_update + 1 day; None leaves it out.
    """
    now = now or datetime.now(UTC)
    this_update = this_update or now - timedelta(minutes=10)
    if next_update is True:
        next_update = this_update + timedelta(days=1)
    signer_cert, signer_key = signer
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=cert,
        issuer=issuer,
        algorithm=algorithm or hashes.SHA1(),
        cert_status=STATUSES[status],
        this_update=this_update,
        next_update=next_update or None,
        revocation_time=REVOKED_AT if status == "revoked" else None,
        revocation_reason=reason if status == "revoked" else None,
    )
    encoding = ocsp.OCSPResponderEncoding.NAME if by_name else ocsp.OCSPResponderEncoding.HASH
    builder = builder.responder_id(encoding, signer_cert)
    if include_signer:
        builder = builder.certificates([signer_cert])
    return builder.sign(signer_key, signature_hash(signer_key))  # type: ignore[arg-type]


def der(response: ocsp.OCSPResponse) -> bytes:
    return response.public_bytes(serialization.Encoding.DER)


def issuer_of(ca: ThrowawayCA) -> tuple[x509.Certificate, object]:
    return ca.issuer


def staple(identity: Identity, ca: ThrowawayCA, **kw: object) -> bytes:
    """A DER response about ``identity``'s leaf, signed by the CA that issued it."""
    issuer_cert, issuer_key = ca.issuer
    return der(ocsp_response(identity.certificate, issuer_cert, (issuer_cert, issuer_key), **kw))  # type: ignore[arg-type]


def stapled_key(identity: Identity, ca: ThrowawayCA, **kw: object) -> CertifiedKey:
    """``identity`` as a CertifiedKey that staples a response (good by default)."""
    return CertifiedKey(identity.chain, identity.private_key).with_ocsp(staple(identity, ca, **kw))


def crl(
    issuer: tuple[x509.Certificate, object],
    revoked: Sequence[x509.Certificate] = (),
    *,
    now: datetime | None = None,
    last_update: datetime | None = None,
    next_update: datetime | None = None,
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
) -> x509.CertificateRevocationList:
    """A CRL named after ``issuer``'s certificate and signed by its key, listing ``revoked``."""
    now = now or datetime.now(UTC)
    last_update = last_update or now - timedelta(hours=1)
    next_update = next_update or last_update + timedelta(days=7)
    issuer_cert, issuer_key = issuer
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(last_update)
        .next_update(next_update)
    )
    for cert in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(REVOKED_AT)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer_key, signature_hash(issuer_key))  # type: ignore[arg-type]


def undecodable_name(der_bytes: bytes, common_name: str) -> bytes:
    """``der_bytes`` with the UTF8String of ``common_name`` (in one Name, as cryptography encodes a CN)
    made bytes that are not UTF-8: cryptography still loads the response or CRL, and raises ValueError
    only when that name is read."""
    encoded = common_name.encode()
    string = b"\x0c" + bytes([len(encoded)]) + encoded
    assert der_bytes.count(string) == 1, f"{common_name!r} is not in the DER exactly once"
    return der_bytes.replace(string, b"\x0c" + bytes([len(encoded)]) + b"\xff" * len(encoded))
