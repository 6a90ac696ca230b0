"""Online revocation checks: the OCSP responder and the CRL a certificate names, asked during the handshake.

A server that staples (RFC 6066, Section 8) spares the client this; when no good
staple covers a certificate of the validated path, ``ClientConfig.revocation_fetch``
decides what the client asks itself:

* ``"ocsp"``: the responder of the Authority Information Access extension
  (RFC 5280, Section 4.2.2.1, id-ad-ocsp), with a SHA-1 CertID as RFC 5019,
  Section 2.1.1 and every responder expect; GET with the request in the URL when
  its encoding is short, POST otherwise (RFC 6960, Appendix A.1);
* ``"crl"``: the CRL of the CRL Distribution Points extension (RFC 5280,
  Section 4.2.1.13), http:// URIs of full names only;
* ``"both"``: OCSP first, the CRL for a certificate OCSP gave no answer about;
* ``"off"``: nothing is fetched (the default; the trace says so).

Answers are checked by :mod:`glasstls.x509.revocation`, as staples and CRL files
are. The outcomes, by what the fetch brought:

* revoked: certificate_revoked, always;
* an OCSP response that parses but cannot be trusted (signature, CertID, stale,
  not yet valid, status unknown, a nonce not echoed): bad_certificate_status_response,
  always (revocation.py: a bad answer is not a missing one);
* no answer (responder down, slow, HTTP error, garbage, an OCSP error status,
  a CRL not signed by the issuer or not current, no URL at all): the policy
  decides; soft accepts with a trace line that says so, hard refuses with
  certificate_unknown and a reason naming each URL and what failed.

Every fetch is one VerificationTrace line: the method, the URL, the HTTP status,
the time it took and the result, or "cache hit". Fetches go only to the URLs the
certificate names (http_fetch refuses redirects to another host or port), with a
deadline per fetch and one for the whole handshake.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ..enums import AlertDescription
from ..errors import AlertError, ConfigError
from . import http_fetch
from .http_fetch import FetchError, HttpResult
from .online_answers import (
    Run,
    check_fetched,
    crl_urls,
    crl_verdict,
    failures_only,
    key_id,
    no_answer,
    ocsp_urls,
    ocsp_verdict,
    printable_only,
)
from .revocation import Report, check_crls, crl_parse_problem, describe
from .revocation_cache import RevocationCache

FETCH_MODES = ("off", "ocsp", "crl", "both")
# RFC 6960, Appendix A.1 (and RFC 5019, Section 5): GET when the encoded request is short.
GET_LIMIT = 255
DEFAULT_FETCH_TIMEOUT = 3.0
DEFAULT_HANDSHAKE_TIMEOUT = 6.0
# A response is a few KB; a CRL of a large CA can be megabytes.
OCSP_MAX_BYTES = 64 * 1024
CRL_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_RETRY_AFTER = 60.0
MAX_UNANSWERED = 256  # URLs remembered as not answering, oldest forgotten first

Fetch = Callable[..., HttpResult]  # http_fetch.fetch's signature: (url, *, deadline, body, content_type, max_bytes)


def check_mode(mode: str) -> None:
    if mode not in FETCH_MODES:
        raise ConfigError(f"revocation_fetch must be one of {', '.join(FETCH_MODES)}, not {mode!r}")


@dataclass
class OnlineRevocation:
    """Fetches and caches OCSP responses and CRLs for ClientConfig; one object serves every connection.

    ``fetch`` is :func:`glasstls.x509.http_fetch.fetch` unless a test gives its own.
    ``fetch_timeout`` bounds each fetch, ``handshake_timeout`` all of one handshake's
    (seconds). ``nonce``: send an OCSP nonce (RFC 8954) and require it echoed.
    """

    fetch: Fetch = http_fetch.fetch
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT
    nonce: bool = False
    cache: RevocationCache = field(default_factory=RevocationCache)
    clock: Callable[[], float] = time.monotonic
    # A URL that gave no answer is not asked again for this many seconds: under soft-fail a dead
    # responder would otherwise cost every handshake its whole fetch deadline (browsers back off too).
    retry_after: float = DEFAULT_RETRY_AFTER
    _unanswered: dict[str, tuple[float, str]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.fetch_timeout <= 60 or not 0 < self.handshake_timeout <= 120:
            raise ConfigError("revocation fetch timeouts must be positive seconds (at most 60 per fetch, 120 in all)")
        if self.retry_after < 0:
            raise ConfigError(f"retry_after must be 0 or more seconds, not {self.retry_after!r}")

    def _fetch(self, url: str, run: Run, *, target: str | None = None, **kwargs: object) -> HttpResult:
        """``fetch(target or url)`` within the deadlines, unless the responder or CRL at ``url`` failed
        less than ``retry_after`` ago (an OCSP GET's ``target`` is ``url`` plus the request)."""
        with self._lock:
            failed = self._unanswered.get(url)
        now = self.clock()
        if failed is not None and now < failed[0] + self.retry_after:
            ago, retry = now - failed[0], self.retry_after
            raise FetchError(url, f"gave no answer {ago:.0f} s ago ({failed[1]}); not asked again within {retry:g} s")
        deadline = self._fetch_deadline(url, run)
        try:
            answer = self.fetch(target or url, deadline=deadline, **kwargs)
        except FetchError as err:
            with self._lock:
                if url not in self._unanswered and len(self._unanswered) >= MAX_UNANSWERED:
                    self._unanswered.pop(next(iter(self._unanswered)))
                self._unanswered[url] = (self.clock(), err.problem)
            raise
        with self._lock:
            self._unanswered.pop(url, None)
        return answer

    def check_path(
        self,
        path: Sequence[x509.Certificate],
        now: datetime,
        *,
        mode: str,
        policy: str,
        crls: Sequence[x509.CertificateRevocationList] = (),
        covered: Sequence[x509.Certificate] = (),
        report: Report,
    ) -> None:
        """Check every certificate of ``path`` (leaf first, anchor last) not in ``covered``.

        ``crls`` (the configured ones) are consulted first: a current CRL there
        spares the fetch. Raises AlertError as the module docstring says.
        """
        check_mode(mode)
        run = Run(now, self.clock() + self.handshake_timeout, report)
        for index in range(len(path) - 1):  # the anchor is trusted as is (RFC 5280, Section 6.1.1 (d))
            cert, issuer = path[index], path[index + 1]
            if any(cert == c for c in covered):
                continue
            run.failures = []
            role = "server" if index == 0 else "intermediate"
            if self._known_offline(cert, issuer, crls, role, run):
                continue
            known = mode in ("ocsp", "both") and self._ocsp(cert, issuer, role, run)
            if not known and mode in ("crl", "both"):
                known = self._crl(cert, issuer, role, run)
            if not known:
                self._unknown(cert, role, mode, policy, run)

    def _known_offline(
        self,
        cert: x509.Certificate,
        issuer: x509.Certificate,
        crls: Sequence[x509.CertificateRevocationList],
        role: str,
        run: Run,
    ) -> bool:
        """A configured CRL that is current for ``cert`` (revoked there raises, as check_crls does)."""
        if not crls:
            return False
        subject = f"CRL check for {describe(cert)}"
        (verdict,) = check_crls((cert, issuer), crls, run.now, "soft", role=role, report=failures_only(run.report))
        if verdict.status == "good":
            run.report(subject, True, verdict.detail)
            return True
        return False

    def _unknown(self, cert: x509.Certificate, role: str, mode: str, policy: str, run: Run) -> None:
        """No source said good or revoked: soft accepts with a line, hard refuses naming what failed."""
        subject = f"online revocation for {describe(cert)}"
        why = "; ".join(run.failures) or f"nothing to fetch for revocation_fetch={mode!r}"
        if policy == "hard":
            reason = (
                f"the revocation status of {role} certificate {describe(cert)} is unknown: {why}; "
                "revocation='hard' refuses a certificate whose status cannot be learned (make the responder "
                "reachable, give a current CRL, or use revocation='soft')"
            )
            run.report(subject, False, reason)
            raise AlertError(AlertDescription.certificate_unknown, reason)
        run.report(subject, True, f"revocation status unknown: {why}; accepted (soft-fail)")

    # -- OCSP (RFC 6960) ------------------------------------------------------------------------------

    def _ocsp(self, cert: x509.Certificate, issuer: x509.Certificate, role: str, run: Run) -> bool:
        """Ask the AIA responders in turn; True once one gave a good answer (revoked or bad raise)."""
        urls = ocsp_urls(cert)
        if not urls:
            run.failures.append("no OCSP responder in its Authority Information Access")
            return False
        subject = f"OCSP fetch for {describe(cert)}"
        urls = printable_only(urls, "OCSP responder", subject, run)
        builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
        nonce = os.urandom(16) if self.nonce else None
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        request = builder.build()
        key = ("ocsp", request.issuer_name_hash, request.issuer_key_hash, request.serial_number)
        cached = self.cache.get(key, run.now)
        if isinstance(cached, tuple):
            url, result = cached
            return ocsp_verdict(result, cert, role, url, f"cache hit ({url})", subject, run)
        der = request.public_bytes(serialization.Encoding.DER)
        for url in urls:
            exchanged = self._ocsp_exchange(url, der, subject, run)
            if exchanged is None:
                continue
            answer, method = exchanged
            result = check_fetched(answer, url, cert, issuer, role, nonce, subject, run)
            if result is None:
                continue
            self.cache.put(key, (url, result), run.now, result.next_update)
            how = f"{method} {url}, HTTP {answer.status}, {answer.elapsed * 1000:.0f} ms"
            return ocsp_verdict(result, cert, role, url, how, subject, run)
        return False

    def _ocsp_exchange(self, url: str, der: bytes, subject: str, run: Run) -> tuple[HttpResult, str] | None:
        """GET ``url``/base64(request) when short, else POST (RFC 6960, Appendix A.1); the answer and method."""
        encoded = quote(base64.b64encode(der).decode(), safe="")
        try:
            if len(encoded) < GET_LIMIT:
                get_url = url + ("" if url.endswith("/") else "/") + encoded
                return self._fetch(url, run, target=get_url, max_bytes=OCSP_MAX_BYTES), "GET"
            answer = self._fetch(url, run, body=der, content_type="application/ocsp-request", max_bytes=OCSP_MAX_BYTES)
            return answer, "POST"
        except FetchError as err:
            problem = f"OCSP responder {url}: {err.problem}"
            no_answer(problem, subject, run)
            return None

    def _fetch_deadline(self, url: str, run: Run) -> float:
        now = self.clock()
        if now >= run.deadline:
            raise FetchError(
                url, f"not fetched: the handshake's {self.handshake_timeout:g} s for revocation checks ran out"
            )
        return min(now + self.fetch_timeout, run.deadline)

    # -- CRLs (RFC 5280, Section 5) -------------------------------------------------------------------

    def _crl(self, cert: x509.Certificate, issuer: x509.Certificate, role: str, run: Run) -> bool:
        """Fetch (or take from the cache) the CRL each distribution point names; True once one is current."""
        urls = crl_urls(cert)
        if not urls:
            run.failures.append("no http CRL distribution point")
            return False
        subject = f"CRL fetch for {describe(cert)}"
        urls = printable_only(urls, "CRL", subject, run)
        for url in urls:
            # The issuer by name and key: two CAs may share a name, and the CRL is checked against the key.
            key = ("crl", issuer.subject.public_bytes(), key_id(issuer), url)
            crl = self.cache.get(key, run.now)
            how = f"cache hit ({url})"
            if not isinstance(crl, x509.CertificateRevocationList):
                fetched = self._fetch_crl(url, subject, run)
                if fetched is None:
                    continue
                crl, how = fetched
            if crl_verdict(crl, cert, issuer, role, url, how, subject, run):
                self.cache.put(key, crl, run.now, crl.next_update_utc)
                return True
        return False

    def _fetch_crl(self, url: str, subject: str, run: Run) -> tuple[x509.CertificateRevocationList, str] | None:
        try:
            answer = self._fetch(url, run, max_bytes=CRL_MAX_BYTES)
        except FetchError as err:
            problem = f"CRL {url}: {err.problem}"
            no_answer(problem, subject, run)
            return None
        how = f"GET {url}, HTTP {answer.status}, {answer.elapsed * 1000:.0f} ms, {len(answer.body)} bytes"
        try:
            if answer.body.lstrip().startswith(b"-----BEGIN"):
                crl = x509.load_pem_x509_crl(answer.body)
            else:
                crl = x509.load_der_x509_crl(answer.body)  # RFC 5280, Section 4.2.1.13: DER over HTTP
        except ValueError as exc:
            problem = f"CRL {url}: {how}: the body is not a CRL ({exc})"
            no_answer(problem, subject, run)
            return None
        unparsed = crl_parse_problem(crl)
        if unparsed is not None:
            no_answer(f"CRL {url}: {how}: the CRL does not parse: {unparsed}", subject, run)
            return None
        return crl, how
