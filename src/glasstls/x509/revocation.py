"""Revocation: stapled OCSP responses and CRLs, checked on a validated path.

Both checks run after path validation (:mod:`glasstls.x509.verify`), because
they need each certificate's issuer from the validated path:

* :func:`check_ocsp_response`: an OCSP response (RFC 6960) about one
  certificate, as a server staples it (RFC 6066, Section 8 in TLS 1.2; a
  CertificateEntry extension in TLS 1.3, RFC 8446, Section 4.4.2.1). It must be
  a successful basic response, signed by the issuer or by a responder the
  issuer delegated to (RFC 6960, Section 4.2.2.2), name the certificate by its
  CertID (issuer name hash, issuer key hash, serial; Section 4.1.1), and be
  current: thisUpdate not in the future, nextUpdate not passed (Section 4.2.2.1).
* :func:`check_crls`: CRLs (RFC 5280, Section 5) for every certificate of the
  path but the trust anchor, each from the certificate's issuer (name, and a
  signature that verifies with the issuer's key), looked up by serial
  (RFC 5280, Section 6.3, simplified: complete CRLs only, no delta CRLs, no
  indirect CRLs).

The alerts, and why:

======================================  ================================  ===============================
problem                                 alert                             why
======================================  ================================  ===============================
revoked (by OCSP or by CRL)             certificate_revoked               RFC 8446 / RFC 5246, Section 6.2
stapled response stale, not yet valid,  bad_certificate_status_response   RFC 6066, Section 8: a response
unsigned by the issuer or a delegate,                                     that is "not satisfactory";
about another certificate, unparsable,                                    RFC 8446, Section 6.2
status "unknown"
staple required but missing             bad_certificate_status_response   see below
(``ocsp="require"`` or RFC 7633
must-staple)
hard-fail: no usable CRL                certificate_unknown               RFC 8446, Section 6.2: "some
                                                                          other issue ... rendering it
                                                                          unacceptable"
======================================  ================================  ===============================

A required staple that is missing: RFC 7633, Section 4.3.3 says a client that
sees the status_request TLS feature in a certificate and gets no status
response must treat it as a fatal error, but names no alert;
bad_certificate_status_response is the alert RFC 8446, Section 6.2 defines
for "an invalid or unacceptable OCSP response", and it is the one OpenSSL
sends when a client's status callback rejects the (absent) response
(SSL_R_INVALID_STATUS_RESPONSE). certificate_required is for a *client* that
sends no certificate (RFC 8446, Section 4.4.2.4), so it does not fit.

Soft-fail and hard-fail are about *missing* information only: a response that
is present but bad, and a revocation found anywhere, always fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import CRLEntryExtensionOID, ExtendedKeyUsageOID, ExtensionOID, SignatureAlgorithmOID

from ..enums import AlertDescription
from ..errors import AlertError, ConfigError, Facts
from ..text import printable

# Clocks disagree: a response made a moment ago may carry a thisUpdate a little
# ahead of ours. OpenSSL's OCSP_check_validity takes a leeway for the same reason.
CLOCK_SKEW = timedelta(minutes=5)
# RFC 6960, Section 4.2.2.1: without nextUpdate "newer information is available all
# the time"; a stapled response that old is not current, whatever it says.
DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE = timedelta(days=7)

REVOCATION_POLICIES = ("soft", "hard")

Report = Callable[[str, bool, str], None]  # (subject, ok, detail): a VerificationTrace, from the connection

_STATUS = {
    ocsp.OCSPCertStatus.GOOD: "good",
    ocsp.OCSPCertStatus.REVOKED: "revoked",
    ocsp.OCSPCertStatus.UNKNOWN: "unknown",
}
# RFC 5280, Section 5.3.1, by the names the RFC (and OpenSSL) print.
_REASONS = {
    x509.ReasonFlags.unspecified: "unspecified",
    x509.ReasonFlags.key_compromise: "keyCompromise",
    x509.ReasonFlags.ca_compromise: "cACompromise",
    x509.ReasonFlags.affiliation_changed: "affiliationChanged",
    x509.ReasonFlags.superseded: "superseded",
    x509.ReasonFlags.cessation_of_operation: "cessationOfOperation",
    x509.ReasonFlags.certificate_hold: "certificateHold",
    x509.ReasonFlags.privilege_withdrawn: "privilegeWithdrawn",
    x509.ReasonFlags.aa_compromise: "aACompromise",
    x509.ReasonFlags.remove_from_crl: "removeFromCRL",
}
_BAD_STATUS = AlertDescription.bad_certificate_status_response


def describe(cert: x509.Certificate) -> str:
    # Escaped: a peer's certificate names itself, and this text reaches alert reasons and logs.
    return printable(cert.subject.rfc4514_string()) or f"with serial {cert.serial_number:#x} and an empty subject"


def fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _utc(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def reason_name(reason: x509.ReasonFlags | None) -> str:
    return "no reason given" if reason is None else _REASONS.get(reason, reason.value)


def must_staple(cert: x509.Certificate) -> bool:
    """RFC 7633, Section 4: the TLS feature extension lists status_request ("must-staple")."""
    # Found by OID in a loop: a lookup that fails raises ExtensionNotFound, and most
    # certificates have no TLS feature extension (every handshake asks).
    for extension in cert.extensions:
        if extension.oid == ExtensionOID.TLS_FEATURE:
            return x509.TLSFeatureType.status_request in cast("x509.TLSFeature", extension.value)
    return False


# -- OCSP ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OcspResult:
    """What a well-formed, authentic, current OCSP response says about one certificate."""

    status: str  # "good", "revoked" or "unknown" (RFC 6960, Section 2.2)
    serial: int
    this_update: datetime
    next_update: datetime | None
    produced_at: datetime
    responder: str  # "the issuer CN=…" or "delegated responder CN=…"
    revocation_time: datetime | None = None
    revocation_reason: x509.ReasonFlags | None = None

    def summary(self) -> str:
        until = f"next update {fmt(self.next_update)}" if self.next_update else "no next update"
        if self.status == "revoked" and self.revocation_time is not None:
            state = f"revoked on {fmt(self.revocation_time)} ({reason_name(self.revocation_reason)})"
        else:
            state = self.status
        return f"{state}, signed by {self.responder}, this update {fmt(self.this_update)}, {until}"


def load_ocsp_response(der: bytes, what: str) -> ocsp.OCSPResponse:
    """Parse a DER OCSPResponse; a successful one must be a basic response (RFC 6960, Section 4.2.1)."""
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        raise AlertError(_BAD_STATUS, f"{what} is not a DER OCSP response: {exc}") from None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise AlertError(
            _BAD_STATUS,
            f"{what} has status {response.response_status.name.lower()}, not successful: the responder "
            "gave no answer, so the server has nothing to staple",
        )
    return response


def check_ocsp_response(
    der: bytes,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    *,
    max_age: timedelta | None = None,
    role: str = "server",
    how: str = "stapled",
) -> OcspResult:
    """Check a stapled OCSP response about ``cert`` (issued by ``issuer``) at ``now``.

    Returns what it says (good, revoked or unknown: see :func:`require_good`);
    raises :class:`AlertError` with bad_certificate_status_response when it cannot
    be trusted or is not current. ``max_age`` bounds how old thisUpdate may be
    (always applied; without nextUpdate it defaults to seven days). ``role``
    ("server" or "client") names the certificate in messages, ``how`` the response
    ("stapled", or "fetched" by a server that staples it).
    """
    now = _utc(now)
    what = f"the {how} OCSP response for {role} certificate {describe(cert)}"
    response = load_ocsp_response(der, what)
    problem = ocsp_parse_problem(response)
    if problem is not None:
        raise AlertError(_BAD_STATUS, f"{what} does not parse: {problem}")
    return _checked_response(response, cert, issuer, now, max_age, what)


def ocsp_parse_problem(response: ocsp.OCSPResponse) -> str | None:
    """Why the parts of a successful OCSP response glasstls reads do not decode, or None: cryptography
    decodes names, certificates and extensions when first read, so a response that loaded may still not."""
    try:
        response.responder_name, response.certificates, response.extensions  # noqa: B018
        for single in response.responses:
            single.serial_number, single.certificate_status, single.this_update_utc, single.next_update_utc  # noqa: B018
    except ValueError as exc:
        return printable(str(exc))
    return None


def _checked_response(
    response: ocsp.OCSPResponse,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    max_age: timedelta | None,
    what: str,
) -> OcspResult:
    responder = _check_signature(response, issuer, now, what)
    single = _matching_response(response, cert, issuer, what)
    this_update, next_update = single.this_update_utc, single.next_update_utc
    if this_update > now + CLOCK_SKEW:
        raise AlertError(
            _BAD_STATUS,
            f"{what} is not valid yet: its thisUpdate is {fmt(this_update)} and the time now is {fmt(now)} "
            "(check this machine's clock, or the responder's)",
        )
    if next_update is not None and now > next_update + CLOCK_SKEW:
        raise AlertError(
            _BAD_STATUS,
            f"{what} is stale: its nextUpdate {fmt(next_update)} has passed (the time now is {fmt(now)}); "
            "the server must fetch a fresh response from its CA's OCSP responder",
        )
    limit = max_age if max_age is not None or next_update is not None else DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE
    if limit is not None and now - this_update > limit:
        raise AlertError(
            _BAD_STATUS,
            f"{what} is too old: made {fmt(this_update)}, more than {span_text(limit)} ago; the server must fetch a "
            "fresh one",
        )
    return OcspResult(
        status=_STATUS[single.certificate_status],
        serial=single.serial_number,
        this_update=this_update,
        next_update=next_update,
        produced_at=response.produced_at_utc,
        responder=responder,
        revocation_time=single.revocation_time_utc,
        revocation_reason=_ocsp_reason(single),
    )


def _ocsp_reason(single: ocsp.OCSPSingleResponse) -> x509.ReasonFlags | None:
    """A revoked answer's reason, None for none, or one cryptography does not read (code 7, unused in
    RFC 5280, 5.3.1): revoked all the same."""
    try:
        return single.revocation_reason
    except ValueError:
        return None


def require_good(result: OcspResult, cert: x509.Certificate, role: str = "server") -> None:
    """A checked response must say good: revoked is certificate_revoked, unknown is not satisfactory."""
    if result.status == "revoked":
        when = fmt(result.revocation_time) if result.revocation_time else "an unknown date"
        raise AlertError(
            AlertDescription.certificate_revoked,
            f"{role} certificate {describe(cert)} was revoked on {when} ({reason_name(result.revocation_reason)}), "
            f"says its stapled OCSP response, signed by {result.responder}",
        )
    if result.status != "good":
        raise AlertError(
            _BAD_STATUS,
            f"the stapled OCSP response for {role} certificate {describe(cert)} says its status is unknown: "
            f"{result.responder} does not know this certificate (RFC 6960, Section 2.2)",
        )


def _matching_response(
    response: ocsp.OCSPResponse, cert: x509.Certificate, issuer: x509.Certificate, what: str
) -> ocsp.OCSPSingleResponse:
    """The SingleResponse whose CertID names ``cert`` (RFC 6960, Section 4.1.1), in its hash algorithm."""
    serials = []
    for single in response.responses:
        serials.append(single.serial_number)
        if cert_id_matches(single, cert, issuer):
            return single
    listed = ", ".join(f"{s:#x}" for s in serials) or "no certificate"
    raise AlertError(
        _BAD_STATUS,
        f"{what} is about another certificate: it answers for serial {listed}, issued by a CA with another "
        f"name or key, not serial {cert.serial_number:#x} issued by {describe(issuer)}",
    )


def cert_id_matches(single: ocsp.OCSPSingleResponse, cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Serial, issuer name hash and issuer key hash all match, hashed as the response did."""
    if single.serial_number != cert.serial_number:
        return False
    try:
        algorithm = single.hash_algorithm
        # cryptography computes a CertID's hashes when it builds a request; reuse that.
        expected = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm).build()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return expected.issuer_name_hash == single.issuer_name_hash and expected.issuer_key_hash == single.issuer_key_hash


def _responder_id_matches(response: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    """RFC 6960, Section 4.2.1: ResponderID byName, or byKey (SHA-1 of the subjectPublicKey bits)."""
    if response.responder_name is not None:
        return cert.subject == response.responder_name
    try:
        key_id = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    except (ValueError, UnsupportedAlgorithm):
        return False
    return key_id == response.responder_key_hash


def _check_signature(response: ocsp.OCSPResponse, issuer: x509.Certificate, now: datetime, what: str) -> str:
    """Who signed, when it is the issuer or a responder the issuer delegated to (RFC 6960, 4.2.2.2)."""
    _check_signature_hash(response, what)
    if _responder_id_matches(response, issuer):
        if not _signature_verifies(response, issuer):
            raise AlertError(
                _BAD_STATUS, f"{what} names {describe(issuer)} as its signer, but the signature does not verify"
            )
        return f"the issuer {describe(issuer)}"
    delegates = [c for c in response.certificates if _responder_id_matches(response, c)]
    if not delegates:
        raise AlertError(
            _BAD_STATUS,
            f"{what} is signed by a responder that is neither the issuer {describe(issuer)} nor a certificate "
            "included in the response: it cannot be trusted",
        )
    delegate = delegates[0]
    _check_delegate(delegate, issuer, now, what)
    if not _signature_verifies(response, delegate):
        raise AlertError(
            _BAD_STATUS, f"{what}: its signature does not verify with the key of responder {describe(delegate)}"
        )
    return f"delegated responder {describe(delegate)}"


def _check_signature_hash(response: ocsp.OCSPResponse, what: str) -> None:
    try:
        digest = response.signature_hash_algorithm
    except UnsupportedAlgorithm:
        raise AlertError(
            _BAD_STATUS, f"{what} is signed with an unsupported algorithm ({response.signature_algorithm_oid})"
        ) from None
    if isinstance(digest, hashes.MD5 | hashes.SHA1):
        raise AlertError(_BAD_STATUS, f"{what} is signed with {digest.name.upper()}, which is no longer accepted")


def _check_delegate(delegate: x509.Certificate, issuer: x509.Certificate, now: datetime, what: str) -> None:
    """RFC 6960, Section 4.2.2.2: issued directly by the CA, with id-kp-OCSPSigning, valid now."""
    who = f"responder {describe(delegate)}"
    try:
        delegate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        raise AlertError(
            _BAD_STATUS,
            f"{what} is signed by {who}, which was not issued by {describe(issuer)}: only the CA that issued "
            "the certificate may delegate its OCSP answers",
        ) from None
    usages: Iterable[x509.ObjectIdentifier]
    try:
        usages = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = ()  # (cryptography refuses an empty ExtendedKeyUsage)
    except ValueError:  # extensions that do not parse: no usage glasstls can read
        usages = ()
    if ExtendedKeyUsageOID.OCSP_SIGNING not in usages:
        raise AlertError(
            _BAD_STATUS,
            f"{what} is signed by {who}, which lacks the OCSPSigning extended key usage (id-kp-OCSPSigning)",
        )
    if not delegate.not_valid_before_utc <= now <= delegate.not_valid_after_utc:
        raise AlertError(
            _BAD_STATUS,
            f"{what} is signed by {who}, which is valid only from {fmt(delegate.not_valid_before_utc)} "
            f"to {fmt(delegate.not_valid_after_utc)}",
        )


def _signature_verifies(response: ocsp.OCSPResponse, signer: x509.Certificate) -> bool:
    """The response's signature over tbsResponseData, with ``signer``'s key (RFC 6960, Section 4.2.1)."""
    data, signature = response.tbs_response_bytes, response.signature
    try:
        key = signer.public_key()
        digest = response.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey) and digest is not None:
            if response.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS:
                scheme: padding.AsymmetricPadding = padding.PSS(padding.MGF1(digest), padding.PSS.AUTO)
            else:
                scheme = padding.PKCS1v15()
            key.verify(signature, data, scheme, digest)
        elif isinstance(key, ec.EllipticCurvePublicKey) and digest is not None:
            key.verify(signature, data, ec.ECDSA(digest))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


# -- CRLs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrlCheck:
    """The CRL verdict on one certificate of the path."""

    cert: x509.Certificate
    issuer: x509.Certificate
    status: str  # "good" (a current CRL does not list it), "missing" (no current CRL of its issuer)
    detail: str
    crl: x509.CertificateRevocationList | None = None


def check_crls(
    path: Sequence[x509.Certificate],
    crls: Iterable[x509.CertificateRevocationList],
    now: datetime,
    policy: str = "soft",
    *,
    role: str = "server",
    covered: Iterable[x509.Certificate] = (),
    report: Report | None = None,
) -> tuple[CrlCheck, ...]:
    """Look every certificate of ``path`` (leaf first, anchor last) up in the CRLs of its issuer.

    Revoked (on any authentic CRL, current or not: revocation is final) raises
    certificate_revoked. With ``policy="hard"`` a certificate without a current
    CRL of its issuer raises certificate_unknown, unless it is in ``covered``
    (its status is known otherwise, e.g. from a good OCSP staple); with "soft"
    it passes. ``report(subject, ok, detail)`` receives one verdict per certificate.
    """
    if policy not in REVOCATION_POLICIES:
        raise ConfigError(f"revocation policy must be soft or hard, not {policy!r}")
    now, crls = _utc(now), tuple(crls)
    known = list(covered)
    checks = []
    for index in range(len(path) - 1):  # the anchor is trusted as is (RFC 5280, Section 6.1.1 (d))
        cert, issuer = path[index], path[index + 1]
        subject = f"CRL check for {describe(cert)}"
        try:
            check = _check_one(cert, issuer, crls, now, _role(role, index))
        except AlertError as err:
            if report is not None:
                report(subject, False, err.reason)
            raise
        if check.status == "missing":
            if any(cert == c for c in known):
                detail = f"{check.detail}; its status comes from its stapled OCSP response"
            elif policy == "hard":
                field = _CRL_FIELDS.get(role, "crls")
                reason = (
                    f"{check.detail}; the revocation policy is hard-fail: {field} needs a current CRL from that issuer"
                )
                if report is not None:
                    report(subject, False, reason)
                facts = Facts(
                    "revocation_unknown", field=field, chain=role, subject=describe(cert), issuer=describe(issuer)
                )
                raise AlertError(AlertDescription.certificate_unknown, reason, facts=facts)
            else:
                detail = f"{check.detail}; accepted (soft-fail)"
        else:
            detail = check.detail
        if report is not None:
            report(subject, True, detail)
        checks.append(check)
    return tuple(checks)


# Where the CRLs for a chain come from: a client checks the server's, a server the client's.
_CRL_FIELDS = {"server": "ClientConfig.crls", "client": "ServerConfig.client_crls"}


def span_text(span: timedelta) -> str:
    """A duration as a person writes it ("7 days", "36 hours", "90 seconds"), not timedelta's "7 days, 0:00:00"."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _role(role: str, index: int) -> str:
    return f"{role} certificate" if index == 0 else "intermediate certificate"


def _check_one(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    crls: Sequence[x509.CertificateRevocationList],
    now: datetime,
    role: str,
) -> CrlCheck:
    named = [crl for crl in crls if _names_issuer(crl, issuer)]
    signed = [crl for crl in named if _signed_by(crl, issuer)]
    usable = [crl for crl in signed if _unusable(crl, cert.serial_number) is None]
    # A revocation in any CRL of the issuer counts, a delta CRL's or another partition's too (a serial
    # number names one certificate of an issuer): "a revocation found anywhere always fails".
    for crl in usable:
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is None:
            continue
        reason = _entry_reason(entry)  # (None, "unspecified", for an entry whose extensions do not parse)
        verb = "was put on hold" if reason == x509.ReasonFlags.certificate_hold else "was revoked"
        raise AlertError(
            AlertDescription.certificate_revoked,
            f"{role} {describe(cert)} {verb} on {fmt(entry.revocation_date_utc)} ({reason_name(reason)}), "
            f"says the CRL of {describe(issuer)} issued {fmt(crl.last_update_utc)}",
        )
    # "Not revoked" only from a complete CRL whose scope covers the certificate (RFC 5280, 6.3.3).
    complete = [crl for crl in usable if _scope_problem(crl, cert) is None]
    current = [crl for crl in complete if _is_current(crl, now)]
    if current:
        crl = max(current, key=lambda c: c.last_update_utc)
        until = f"next update {fmt(crl.next_update_utc)}" if crl.next_update_utc else "no next update"
        detail = f"not on the CRL of {describe(issuer)} (issued {fmt(crl.last_update_utc)}, {until})"
        return CrlCheck(cert, issuer, "good", detail, crl)
    return CrlCheck(cert, issuer, "missing", _why_no_crl(cert, issuer, named, signed, usable, complete, now))


def _why_no_crl(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    named: list[x509.CertificateRevocationList],
    signed: list[x509.CertificateRevocationList],
    usable: list[x509.CertificateRevocationList],
    complete: list[x509.CertificateRevocationList],
    now: datetime,
) -> str:
    """Why no CRL says the certificate is good: the most telling of the CRLs' problems."""
    if complete:
        newest = max(complete, key=lambda c: c.last_update_utc)
        return (
            f"the CRL of issuer {describe(issuer)} is not current: issued {fmt(newest.last_update_utc)}, "
            f"next update {fmt(newest.next_update_utc) if newest.next_update_utc else 'none'}, "
            f"the time now {fmt(now)}"
        )
    if usable:
        return f"no CRL of issuer {describe(issuer)} covers this certificate: {_scope_problem(usable[0], cert)}"
    if signed:
        return f"the CRL of issuer {describe(issuer)} cannot be used: {_unusable(signed[0], cert.serial_number)}"
    if named:
        return f"a CRL names {describe(issuer)} as its issuer but its signature does not verify with that key"
    return f"no CRL for issuer {describe(issuer)}"


def crl_parse_problem(crl: x509.CertificateRevocationList) -> str | None:
    """Why a loaded CRL's issuer name does not decode (cryptography decodes names when first read), or None.
    (Its extensions and its entries' are read where they are used, and a CRL whose do not parse is unusable.)"""
    try:
        crl.issuer  # noqa: B018
    except ValueError as exc:
        return f"its issuer name does not parse ({printable(str(exc))})"
    return None


def _names_issuer(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return crl.issuer == issuer.subject
    except ValueError:  # an issuer name that does not parse (cryptography decodes it when first read) names no one
        return False


def _signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    try:
        return crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]  # X25519 & co.: TypeError below
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False


# The CRL and CRL entry extensions read here (RFC 5280, 5.2 and 5.3). A critical one outside these
# makes the CRL unusable for every certificate: RFC 5280 says the application MUST NOT use it.
_CRL_EXTENSIONS = frozenset(
    {
        ExtensionOID.CRL_NUMBER,
        ExtensionOID.DELTA_CRL_INDICATOR,
        ExtensionOID.ISSUING_DISTRIBUTION_POINT,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
        ExtensionOID.FRESHEST_CRL,
        ExtensionOID.ISSUER_ALTERNATIVE_NAME,
    }
)
# CRL entries: the reason and the invalidity date; a certificateIssuer (indirect CRLs) is not processed.
_ENTRY_EXTENSIONS = frozenset({CRLEntryExtensionOID.CRL_REASON, CRLEntryExtensionOID.INVALIDITY_DATE})


def _unusable(crl: x509.CertificateRevocationList, serial: int) -> str | None:
    """Why RFC 5280, Section 5.2 forbids using ``crl`` at all, or None; and Section 5.3: a CRL with a
    critical entry extension glasstls does not process (looked for in the entry for ``serial``, as OpenSSL
    rejects the CRL for any entry's) says nothing of any certificate, neither revoked nor good."""
    try:
        extensions = crl.extensions
    except ValueError as exc:  # an extension that does not parse
        return f"its extensions do not parse ({printable(str(exc))})"
    for extension in extensions:
        if extension.critical and extension.oid not in _CRL_EXTENSIONS:
            oid = extension.oid.dotted_string
            return f"it has a critical extension glasstls does not process ({oid}; RFC 5280, 5.2)"
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    if entry is None:
        return None
    try:
        unknown = [e.oid.dotted_string for e in entry.extensions if e.critical and e.oid not in _ENTRY_EXTENSIONS]
    except ValueError:  # extensions that do not parse: the serial is listed, so revoked all the same
        return None
    if unknown:
        return (
            f"its entry for this certificate has a critical extension glasstls does not process ({unknown[0]}; "
            "RFC 5280, 5.3)"
        )
    return None


def _scope_problem(crl: x509.CertificateRevocationList, cert: x509.Certificate) -> str | None:
    """Why ``crl`` is not a complete CRL for ``cert``'s scope (RFC 5280, 5.2.4, 5.2.5 and 6.3.3 (b)), or None."""
    extensions = crl.extensions
    try:
        extensions.get_extension_for_class(x509.DeltaCRLIndicator)
        return "it is a delta CRL, which lists changes since a complete CRL and cannot say a certificate is good"
    except x509.ExtensionNotFound:
        pass
    try:
        point = extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return None
    if point.indirect_crl or point.only_some_reasons or point.only_contains_attribute_certs:
        return "it is an indirect CRL, or one for some reasons or attribute certificates only"
    is_ca = _is_ca(cert)
    if point.only_contains_user_certs and is_ca:
        return "it covers end-entity certificates only, and this one is a CA"
    if point.only_contains_ca_certs and not is_ca:
        return "it covers CA certificates only, and this one is an end entity"
    if point.full_name and not set(point.full_name) & _distribution_point_names(cert):
        # RFC 5280, 6.3.3 (b)(2)(i): the CRL's distribution point must be one the certificate names
        # (OpenSSL: "different CRL scope").
        return "it is the CRL of another distribution point than the certificate's"
    return None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _distribution_point_names(cert: x509.Certificate) -> set[x509.GeneralName]:
    """The full names of the certificate's CRL distribution points."""
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return set()
    return {name for point in points for name in (point.full_name or ())}


def _is_current(crl: x509.CertificateRevocationList, now: datetime) -> bool:
    if crl.last_update_utc > now + CLOCK_SKEW:
        return False
    return crl.next_update_utc is None or now <= crl.next_update_utc + CLOCK_SKEW


def _entry_reason(entry: x509.RevokedCertificate) -> x509.ReasonFlags | None:
    """The entry's reasonCode, None for none, or one cryptography does not read (code 7, unused in
    RFC 5280, 5.3.1, or a malformed one): the serial is listed, so revoked, as OpenSSL says."""
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except (x509.ExtensionNotFound, ValueError):
        return None


# -- loading CRLs ------------------------------------------------------------------------------------

_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----\r?\n.+?\r?\n-----END X509 CRL-----", re.DOTALL)


def load_crls(path: str | os.PathLike[str]) -> tuple[x509.CertificateRevocationList, ...]:
    """Every CRL in a file: PEM (one or more X509 CRL blocks) or a single DER CRL."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read CRL file {name}: {exc.strerror}") from None
    try:
        if b"-----BEGIN" in data:
            blocks = _PEM_CRL.findall(data)
            if not blocks:
                raise ConfigError(f"{name} holds no PEM CRL (-----BEGIN X509 CRL-----)")
            crls = tuple(x509.load_pem_x509_crl(block) for block in blocks)
        else:
            crls = (x509.load_der_x509_crl(data),)
    except ValueError as exc:
        detail = f": {exc}" if b"-----BEGIN" in data else " (neither PEM nor DER)"  # not a DER parser's complaint
        raise ConfigError(f"{name} does not hold a valid CRL{detail}") from None
    for crl in crls:
        problem = crl_parse_problem(crl)
        if problem is not None:
            raise ConfigError(f"{name} holds a CRL that does not parse: {problem}")
    return crls
