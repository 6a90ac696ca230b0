"""What a fetched OCSP response or CRL says, for :mod:`glasstls.x509.online`: the URLs a
certificate names, and the verdicts (good, revoked, bad, or no answer) with their trace lines.

The checks themselves are :mod:`glasstls.x509.revocation`'s, the ones staples and CRL
files go through; this module words their outcome for a fetched answer (the responder
or the distribution point, by URL, rather than the server) and sorts "no answer"
(which the soft/hard policy decides) from "a bad answer" (always refused).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from ..enums import AlertDescription
from ..errors import AlertError
from ..text import printable
from .http_fetch import HttpResult
from .revocation import (
    OcspResult,
    Report,
    check_crls,
    check_ocsp_response,
    describe,
    fmt,
    ocsp_parse_problem,
    reason_name,
)

_BAD_STATUS = AlertDescription.bad_certificate_status_response


def ocsp_urls(cert: x509.Certificate) -> tuple[str, ...]:
    """The OCSP responders of the AIA extension (RFC 5280, Section 4.2.2.1), as URIs."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    return tuple(
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    )


def crl_urls(cert: x509.Certificate) -> tuple[str, ...]:
    """The URIs of the CRL distribution points (RFC 5280, Section 4.2.1.13) that name the full CRL
    of the issuer: no cRLIssuer (indirect CRLs are not supported), no partial reasons."""
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (x509.ExtensionNotFound, ValueError):
        return ()
    urls = []
    for point in points:
        if point.crl_issuer or point.reasons or not point.full_name:
            continue
        urls += [n.value for n in point.full_name if isinstance(n, x509.UniformResourceIdentifier)]
    return tuple(urls)


def printable_only(urls: tuple[str, ...], what: str, subject: str, run: Run) -> tuple[str, ...]:
    """The URLs that can be shown as they are; one with control or format characters is not fetched
    (http_fetch would refuse it anyway) and is noted escaped, as any text a certificate brings."""
    kept = []
    for url in urls:
        if printable(url) == url:
            kept.append(url)
        else:
            no_answer(f"{what} {printable(url)}: the URL holds control characters; not fetched", subject, run)
    return tuple(kept)


@dataclass
class Run:
    """One handshake's check: its time, its deadline, where lines go, what was learned."""

    now: datetime
    deadline: float
    report: Report
    failures: list[str] = field(default_factory=list)


def key_id(cert: x509.Certificate) -> bytes:
    try:
        return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
    except (ValueError, TypeError):
        return cert.fingerprint(hashes.SHA256())


def failures_only(report: Report) -> Report:
    """check_crls reports every verdict; a configured CRL that says nothing here is not worth a line."""

    def forward(subject: str, ok: bool, detail: str) -> None:
        if not ok:
            report(subject, ok, detail)

    return forward


def check_fetched(
    answer: HttpResult,
    url: str,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    role: str,
    nonce: bytes | None,
    subject: str,
    run: Run,
) -> OcspResult | None:
    """A fetched OCSP response checked: None (a failure noted) when it is no answer, AlertError when bad."""
    try:
        response = ocsp.load_der_ocsp_response(answer.body)
    except ValueError as exc:
        no_answer(f"OCSP responder {url}: the body is not a DER OCSP response ({exc})", subject, run)
        return None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        status = response.response_status.name.lower()
        no_answer(f"OCSP responder {url} answered {status} (RFC 6960, Section 4.2.1)", subject, run)
        return None
    problem = ocsp_parse_problem(response)
    if problem is not None:  # as a body that is no OCSP response at all: no answer, for the policy to weigh
        no_answer(f"OCSP responder {url}: the response does not parse ({problem})", subject, run)
        return None
    what = f"the stapled OCSP response for {role} certificate {describe(cert)}"
    try:
        result = check_ocsp_response(answer.body, cert, issuer, run.now, role=role)
        if nonce is not None:
            _check_nonce(response, nonce, what)
    except AlertError as err:
        reason = _reworded(err.reason, what, f"the OCSP response from {url} for {role} certificate {describe(cert)}")
        run.report(subject, False, reason)
        raise AlertError(err.description, reason) from None
    return result


def _check_nonce(response: ocsp.OCSPResponse, nonce: bytes, what: str) -> None:
    """RFC 8954, Section 2.1 (RFC 6960, Section 4.4.1): the response echoes the request's nonce."""
    try:
        echoed: bytes | None = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        echoed = None
    except ValueError as exc:  # decoded when first read
        raise AlertError(_BAD_STATUS, f"{what}: its extensions do not parse ({printable(str(exc))})") from None
    if echoed != nonce:
        problem = "carries no nonce" if echoed is None else "carries another nonce"
        raise AlertError(_BAD_STATUS, f"{what} {problem} than the request sent (nonce required)")


def _reworded(reason: str, stapled: str, fetched: str) -> str:
    """revocation.py words its reasons for a staple; a fetched response is the responder's, not the server's."""
    reason = reason.replace(stapled, fetched)
    reason = reason.replace("; the server must fetch a fresh response from its CA's OCSP responder", "")
    return reason.replace("; the server must fetch a fresh one", "")


def no_answer(problem: str, subject: str, run: Run) -> None:
    """A fetch that brought no usable answer: noted for the policy, and a trace line."""
    run.failures.append(problem)
    run.report(subject, False, problem)


def ocsp_verdict(
    result: OcspResult, cert: x509.Certificate, role: str, url: str, how: str, subject: str, run: Run
) -> bool:
    """Good is True; revoked is certificate_revoked; unknown is not satisfactory (RFC 6960, Section 2.2)."""
    if result.status == "good":
        run.report(subject, True, f"{how}: {result.summary()}")
        return True
    if result.status == "revoked":
        when = fmt(result.revocation_time) if result.revocation_time else "an unknown date"
        reason = (
            f"{role} certificate {describe(cert)} was revoked on {when} ({reason_name(result.revocation_reason)}), "
            f"says the OCSP responder {url} ({how}), signed by {result.responder}"
        )
        run.report(subject, False, reason)
        raise AlertError(AlertDescription.certificate_revoked, reason)
    reason = (
        f"the OCSP responder {url} says the status of {role} certificate {describe(cert)} is unknown: "
        f"{result.responder} does not know this certificate (RFC 6960, Section 2.2)"
    )
    run.report(subject, False, f"{how}: {reason}")
    raise AlertError(_BAD_STATUS, reason)


def crl_verdict(
    crl: x509.CertificateRevocationList,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    role: str,
    url: str,
    how: str,
    subject: str,
    run: Run,
) -> bool:
    """True when ``crl`` is the issuer's, authentic and current and does not list ``cert``."""
    try:
        (verdict,) = check_crls((cert, issuer), (crl,), run.now, "soft", role=role)
    except AlertError as err:  # revoked: final, whatever the CRL's age (check_crls)
        reason = f"{err.reason} (fetched from {url})"
        run.report(subject, False, f"{how}: {reason}")
        raise AlertError(err.description, reason) from None
    if verdict.status == "good":
        run.report(subject, True, f"{how}: {verdict.detail}")
        return True
    problem = f"CRL {url}: {how}: {verdict.detail}"
    no_answer(problem, subject, run)
    return False
