"""Revocation answers that are signed and valid but hold what cryptography will not read, or what
glasstls does not process: each ends in the answer RFC 5280 and RFC 6960 give, as OpenSSL gives it,
never in internal_error and never in "good".

* A CRL entry with a critical extension glasstls does not process: RFC 5280, 5.3 forbids using that
  CRL for any certificate (OpenSSL: unhandled critical CRL extension), so it is no CRL, not "good".
* A reasonCode of 7 (unused in RFC 5280, 5.3.1), in a CRL entry or an OCSP answer: the serial is
  listed, so revoked (OpenSSL: certificate revoked), the reason shown as none given.
* A delegated OCSP responder with no extendedKeyUsage at all: not id-kp-OCSPSigning (RFC 6960, 4.2.2.2).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import CRLEntryExtensionOID

from glasstls import CertifiedKey
from glasstls.enums import AlertDescription
from revocation_helpers import REVOKED_AT, crl, der, ocsp_response
from test_revocation import VERSIONS, _issuer, _leaf, _root, handshake, identity, refused

REASON_7 = b"\x0a\x01\x07"  # ENUMERATED 7
UNKNOWN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.99999.1")


def crl_with_entry(extension: x509.ExtensionType, critical: bool) -> x509.CertificateRevocationList:
    """The intermediate's CRL listing the server's leaf with ``extension`` on its entry."""
    issuer_cert, issuer_key = _issuer()
    now = datetime.now(UTC)
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(identity().certificate.serial_number)
        .revocation_date(REVOKED_AT)
        .add_extension(extension, critical=critical)
        .build()
    )
    builder = x509.CertificateRevocationListBuilder().issuer_name(issuer_cert.subject)
    builder = builder.last_update(now - timedelta(hours=1)).next_update(now + timedelta(days=1))
    return builder.add_revoked_certificate(entry).sign(issuer_key, hashes.SHA256())


@pytest.mark.parametrize("version", VERSIONS)
def test_a_crl_entry_with_an_unprocessed_critical_extension_makes_the_crl_unusable(version: str) -> None:
    crls = (crl_with_entry(x509.UnrecognizedExtension(UNKNOWN_OID, b"\x05\x00"), critical=True), crl(_root()))
    refused(
        handshake(version, ckw={"crls": crls, "revocation": "hard", "ocsp": "off"}),
        AlertDescription.certificate_unknown,
        "cannot be used: its entry for this certificate has a critical extension glasstls does not process "
        "(1.3.6.1.4.1.99999.1; RFC 5280, 5.3)",
    )
    soft = handshake(version, ckw={"crls": crls, "revocation": "soft", "ocsp": "off"})
    assert soft.connected  # no CRL to go by: soft-fail lets it pass, and says why
    (check,) = soft.checks("client", "CRL check for CN=localhost")
    assert "critical extension glasstls does not process" in check.detail


@pytest.mark.parametrize("version", VERSIONS)
def test_a_crl_entry_with_reason_code_7_is_revoked(version: str) -> None:
    reason = x509.UnrecognizedExtension(CRLEntryExtensionOID.CRL_REASON, REASON_7)
    crls = (crl_with_entry(reason, critical=False), crl(_root()))
    for policy in ("soft", "hard"):
        outcome = handshake(version, ckw={"crls": crls, "revocation": policy, "ocsp": "off"})
        refused(outcome, AlertDescription.certificate_revoked, "CN=localhost was revoked on", "(no reason given)")


# -- OCSP ---------------------------------------------------------------------------------------------


def _tlv(tag: int, body: bytes) -> bytes:
    size = len(body)
    length = bytes([size]) if size < 128 else bytes([0x82]) + size.to_bytes(2, "big")
    return bytes([tag]) + length + body


def _header(data: bytes, at: int = 0) -> tuple[int, int]:
    """(header length, body length) of the DER TLV at ``at``."""
    first = data[at + 1]
    if first < 128:
        return 2, first
    count = first & 0x7F
    return 2 + count, int.from_bytes(data[at + 2 : at + 2 + count], "big")


def _body(tlv: bytes) -> bytes:
    head, size = _header(tlv)
    return tlv[head : head + size]


def _children(body: bytes) -> list[bytes]:
    """The TLVs of a constructed DER body, in order."""
    pieces, at = [], 0
    while at < len(body):
        head, size = _header(body, at)
        pieces.append(body[at : at + head + size])
        at += head + size
    return pieces


def revoked_for_reason_7() -> bytes:
    """A revoked OCSP answer about the server's leaf, signed by its CA, whose reason is 7: built with the
    reason keyCompromise (1), then that byte changed and tbsResponseData signed again."""
    issuer_cert, issuer_key = _issuer()
    built = der(ocsp_response(identity().certificate, issuer_cert, (issuer_cert, issuer_key), status="revoked"))
    status, response_bytes = _children(_body(built))
    oid, octets = _children(_body(_body(response_bytes)))
    tbs, algorithm, _signature, *rest = _children(_body(_body(octets)))
    assert tbs.count(b"\x0a\x01\x01") == 1
    tbs = tbs.replace(b"\x0a\x01\x01", REASON_7)
    signature = issuer_key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    basic = _tlv(0x30, tbs + algorithm + _tlv(0x03, b"\x00" + signature) + b"".join(rest))
    return _tlv(0x30, status + _tlv(0xA0, _tlv(0x30, oid + _tlv(0x04, basic))))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_stapled_answer_revoked_for_reason_code_7_is_certificate_revoked(version: str) -> None:
    certified = CertifiedKey(identity().chain, identity().private_key).with_ocsp(revoked_for_reason_7())
    refused(handshake(version, certified=certified), AlertDescription.certificate_revoked, "(no reason given)")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_delegated_responder_without_any_extended_key_usage_is_refused(version: str) -> None:
    issuer_cert, _ = _issuer()
    delegate = _leaf("ocsp.test", eku=None)
    response = ocsp_response(
        identity().certificate, issuer_cert, (delegate.certificate, delegate.private_key), include_signer=True
    )
    certified = CertifiedKey(identity().chain, identity().private_key).with_ocsp(der(response))
    refused(
        handshake(version, certified=certified),
        AlertDescription.bad_certificate_status_response,
        "lacks the OCSPSigning extended key usage",
    )
