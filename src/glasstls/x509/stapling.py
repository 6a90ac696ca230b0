"""Where a server's OCSP staple comes from (RFC 6066, Section 8; RFC 8446, Section 4.4.2.1).

A :class:`StapleSource` holds the DER OCSP response a server staples for one
certificate. It comes from a file (``glasstls server --ocsp FILE``, written by
``openssl ocsp -respout`` or ``glasstls ca ocsp``), from bytes, from a
callable (the CA tool making a response on demand), or from the OCSP responder
the certificate names (``glasstls server --ocsp auto``, :meth:`StapleSource.from_responder`,
as Caddy and nginx's ``ssl_stapling`` do). The source reloads:

* when the file changes (its size, mtime or inode), checked at each handshake;
* when the response it holds is within ``refresh_before`` (one hour) of its
  nextUpdate, at most once every ``retry_after`` (one minute), so a cron job
  that rewrites the file in time is picked up before the old response goes stale;
* with ``halfway``, once half the time from thisUpdate to nextUpdate has passed
  (a responder that is down then leaves the other half to retry in).

A responder source fetches in a thread of its own (:meth:`StapleSource.start`), never
in a handshake: at start, then half way to each nextUpdate, and every ``retry_after``
while the responder fails, keeping the last response fetched until it goes stale. Each
fetch is logged: the URL, the HTTP status, what the response says, the next refresh.

A response is stapled only when it is a successful response about this very
certificate (its CertID) and current at the connection's clock: a stale one is
never sent (a client would refuse the handshake). A response that says
"revoked" is stapled: it is the truth, and the client decides. The reason for
not stapling goes to the trace. A source is shared by every connection of a
configuration, across threads, so it locks.
"""

from __future__ import annotations

import base64
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from ..errors import AlertError, ConfigError, Facts
from .ca_urls import aia_url
from .revocation import (
    CLOCK_SKEW,
    DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE,
    cert_id_matches,
    check_ocsp_response,
    describe,
    fmt,
    load_ocsp_response,
    span_text,
)

REFRESH_BEFORE = timedelta(hours=1)
RETRY_AFTER = timedelta(minutes=1)
FETCH_TIMEOUT = 5.0  # seconds for one fetch from a responder: connect, request and the whole answer

Fetch = Callable[[datetime], bytes | None]


class StapleSource:
    """The OCSP response to staple for one certificate, reloaded before it goes stale."""

    def __init__(
        self,
        fetch: Fetch,
        description: str,
        *,
        watch: Callable[[], object] | None = None,
        refresh_before: timedelta = REFRESH_BEFORE,
        retry_after: timedelta = RETRY_AFTER,
        halfway: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self._fetch = fetch
        self.description = description
        self._watch = watch
        self.refresh_before = refresh_before
        self.retry_after = retry_after
        self.halfway = halfway
        self._log = log or (lambda line: None)
        self._refresher: _Refresher | None = None
        self._lock = threading.Lock()
        self._der: bytes | None = None
        self._response: ocsp.OCSPResponse | None = None
        self._stamp: object = None
        self._attempted: datetime | None = None
        self._error = ""
        self.loads = 0  # how many times the response was (re)loaded: for tests and the curious

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        refresh_before: timedelta = REFRESH_BEFORE,
        retry_after: timedelta = RETRY_AFTER,
    ) -> StapleSource:
        """A DER OCSP response in a file; it must be readable and parse now (ConfigError otherwise)."""
        file = Path(path)

        def fetch(now: datetime) -> bytes:
            return file.read_bytes()

        def watch() -> object:
            try:
                st = file.stat()
            except OSError:
                return None
            return (st.st_ino, st.st_size, st.st_mtime_ns)

        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read OCSP response file {file}: {exc.strerror}") from None
        try:
            load_ocsp_response(data, f"{file}")
        except AlertError as err:
            raise ConfigError(
                f"{err.reason} (the file must hold a DER OCSP response, as `openssl ocsp -respout` writes)",
                facts=Facts("bad_ocsp_file", value=str(file)),
            ) from None
        return cls(fetch, str(file), watch=watch, refresh_before=refresh_before, retry_after=retry_after)

    @classmethod
    def from_der(cls, der: bytes, description: str = "an OCSP response in memory") -> StapleSource:
        """A fixed response (it is never reloaded: once stale, nothing is stapled)."""
        return cls(lambda now: der, description)

    @classmethod
    def from_callable(
        cls,
        fetch: Fetch,
        description: str = "an OCSP responder",
        *,
        watch: Callable[[], object] | None = None,
        refresh_before: timedelta = REFRESH_BEFORE,
        retry_after: timedelta = RETRY_AFTER,
    ) -> StapleSource:
        """``fetch(now)`` returns a fresh DER response (or None), e.g. from the CA tool."""
        return cls(fetch, description, watch=watch, refresh_before=refresh_before, retry_after=retry_after)

    @classmethod
    def from_responder(
        cls,
        chain: Sequence[x509.Certificate],
        *,
        url: str | None = None,
        timeout: float = FETCH_TIMEOUT,
        retry_after: timedelta = RETRY_AFTER,
        log: Callable[[str], None] | None = None,
        start: bool = True,
    ) -> StapleSource:
        """Staple what the leaf's OCSP responder (its AIA URL, or ``url``) says, refreshed half way to nextUpdate.

        ``chain`` is the leaf then its issuer (as a server sends it): the request's
        CertID needs the issuer's name and key (RFC 6960, 4.1.1), and each response is
        checked against it before it is stapled. With ``start`` the refresh thread
        runs at once (:meth:`start`); :meth:`stop` ends it. ``log`` gets one line per fetch.
        """
        if len(chain) < 2 or chain[1].subject != chain[0].issuer:
            raise ConfigError(
                f"automatic stapling for {describe(chain[0]) if chain else 'an empty chain'} needs its issuer: "
                "the certificate file must hold the leaf, then the intermediate that signed it"
            )
        leaf, issuer = chain[0], chain[1]
        url = url or aia_url(leaf, AuthorityInformationAccessOID.OCSP)
        if url is None:
            raise ConfigError(
                f"{describe(leaf)} names no http:// OCSP responder (Authority Information Access, RFC 5280, "
                "4.2.2.1), so there is nothing to fetch: staple a file instead (--ocsp FILE)",
                facts=Facts("invalid_value", field="StapleSource.from_responder(chain)", value=describe(leaf)),
            )
        fetcher = ResponderFetch(leaf, issuer, url, timeout)
        source = cls(fetcher, f"OCSP responder {url}", retry_after=retry_after, halfway=True, log=log)
        if start:
            source.start()
        return source

    # -- the refresh thread of a responder source ----------------------------------------------------

    def start(self) -> None:
        """Fetch now and then whenever due, in a daemon thread; handshakes no longer fetch themselves."""
        with self._lock:
            if self._refresher is None:
                self._refresher = _Refresher(self)
                self._refresher.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the refresh thread (the response held stays, until it goes stale)."""
        refresher = self._refresher
        if refresher is not None:
            refresher.stop(timeout)

    def wait_first(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) for the first fetch to end, well or not; True when it has."""
        refresher = self._refresher
        return refresher is not None and refresher.first_done.wait(timeout)

    def refresh(self, now: datetime) -> datetime:
        """Fetch now (outside the lock: handshakes go on stapling the old one); the next time to refresh."""
        error = ""
        try:
            der = self._fetch(now)
            if der is None:
                raise ValueError("the source had no response")
            response = load_ocsp_response(der, self.description)
        except (OSError, AlertError, ConfigError, ValueError, FetchProblem) as exc:
            error = getattr(exc, "reason", None) or str(exc)
        with self._lock:
            self._attempted = now
            if error:
                self._error = error
            else:
                self._der, self._response, self._error = der, response, ""
                self.loads += 1
            due = self._next_refresh(now)
            held = self._response
        self._log(self._fetch_line(error, held, due))
        return due

    def _next_refresh(self, now: datetime) -> datetime:
        """Half way to nextUpdate after a good fetch; ``retry_after`` after a failed one (lock held)."""
        if self._response is None or self._error:
            return now + self.retry_after
        due = _refresh_due(self._response, self.refresh_before, halfway=True)
        return max(due, now + timedelta(seconds=1)) if due is not None else now + self.refresh_before

    def _fetch_line(self, error: str, held: ocsp.OCSPResponse | None, due: datetime) -> str:
        exchange = getattr(self._fetch, "last_exchange", "") or self.description
        leaf = getattr(self._fetch, "leaf", None)  # a responder's fetch names its certificate (a server has several)
        exchange = f"for {describe(leaf)}, {exchange}" if leaf is not None else exchange
        if not error and held is not None:
            issuer = getattr(self._fetch, "issuer", None)
            single = next((s for s in held.responses if leaf is None or _names(s, leaf, issuer)), None)
            status = single.certificate_status.name.lower() if single else "no status"
            until = _single_next_update(held)
            return (
                f"OCSP fetch {exchange}: {status}, valid until {fmt(until) if until else 'no next update'}; "
                f"next refresh {fmt(due)}"
            )
        next_update = _single_next_update(held) if held is not None else None
        keeping = (
            f"keeping the last response fetched until it goes stale at {fmt(next_update)}"
            if next_update is not None
            else "nothing to staple until a fetch succeeds"
        )
        return f"OCSP fetch {exchange} failed: {error}; {keeping}; retry {fmt(due)}"

    # -- what a handshake asks --------------------------------------------------------------------

    def staple_for(
        self, cert: x509.Certificate, issuer: x509.Certificate | None, now: datetime
    ) -> tuple[bytes | None, str]:
        """The DER response to staple for ``cert`` at ``now``, or None; and why, for the trace."""
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        with self._lock:
            if self._refresher is None and self._needs_reload(now):  # a refresh thread fetches on its own
                self._reload(now)
            if self._response is None or self._der is None:
                return None, f"nothing to staple from {self.description}: {self._error or 'no response loaded'}"
            return self._judge(self._response, self._der, cert, issuer, now)

    def _needs_reload(self, now: datetime) -> bool:
        if self._response is None:
            return self._attempted is None or now - self._attempted >= self.retry_after
        if self._watch is not None and self._watch() != self._stamp:
            return True
        due = _refresh_due(self._response, self.refresh_before, halfway=self.halfway)
        if due is None or now < due:
            return False
        return self._attempted is None or now - self._attempted >= self.retry_after

    def _reload(self, now: datetime) -> None:
        self._attempted = now
        stamp = self._watch() if self._watch is not None else None
        try:
            der = self._fetch(now)
            if der is None:
                self._error = "the source had no response"
                return
            response = load_ocsp_response(der, self.description)
        except (OSError, AlertError, ConfigError, ValueError) as exc:
            # Keep the response we have: it may still be current.
            self._error = getattr(exc, "reason", None) or str(exc)
            return
        self._der, self._response, self._stamp, self._error = der, response, stamp, ""
        self.loads += 1

    def _judge(
        self,
        response: ocsp.OCSPResponse,
        der: bytes,
        cert: x509.Certificate,
        issuer: x509.Certificate | None,
        now: datetime,
    ) -> tuple[bytes | None, str]:
        single = next((s for s in response.responses if _names(s, cert, issuer)), None)
        if single is None:
            return None, (
                f"not stapled: the response from {self.description} is not about {describe(cert)} "
                f"(serial {cert.serial_number:#x})"
            )
        if single.this_update_utc > now + CLOCK_SKEW:
            start = fmt(single.this_update_utc)
            return None, f"not stapled: the response from {self.description} is valid only from {start}"
        next_update = single.next_update_utc
        if next_update is not None and now > next_update:
            return None, (
                f"not stapled: the response from {self.description} went stale at {fmt(next_update)}"
                f"{'; ' + self._error if self._error else ''}: refresh it (openssl ocsp / glasstls ca ocsp)"
            )
        if next_update is None and now - single.this_update_utc > DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE:
            # What a client takes from a response without nextUpdate (revocation.check_ocsp_response): an
            # older one would be refused by glasstls's own clients, so it is not stapled either.
            return None, (
                f"not stapled: the response from {self.description} has no nextUpdate and was made "
                f"{fmt(single.this_update_utc)}, more than {span_text(DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE)} ago: "
                "refresh it (openssl ocsp / glasstls ca ocsp)"
            )
        status = single.certificate_status.name.lower()
        until = fmt(next_update) if next_update is not None else "no next update"
        return der, f"stapled the response from {self.description}: {status}, valid until {until}"

    def __repr__(self) -> str:
        return f"StapleSource({self.description!r})"


def _names(single: ocsp.OCSPSingleResponse, cert: x509.Certificate, issuer: x509.Certificate | None) -> bool:
    if issuer is None:
        return single.serial_number == cert.serial_number
    return cert_id_matches(single, cert, issuer)


def _single_next_update(response: ocsp.OCSPResponse) -> datetime | None:
    updates = [s.next_update_utc for s in response.responses if s.next_update_utc is not None]
    return min(updates) if updates else None


def _refresh_due(response: ocsp.OCSPResponse, refresh_before: timedelta, *, halfway: bool) -> datetime | None:
    """When to fetch again: ``refresh_before`` ahead of nextUpdate, or half way from thisUpdate to it."""
    next_update = _single_next_update(response)
    if next_update is None:
        return None  # a response without nextUpdate is never "due"; a responder source retries on its own
    if not halfway:
        return next_update - refresh_before
    this_update = max(s.this_update_utc for s in response.responses)
    return this_update + (next_update - this_update) / 2


class ResponderFetch:
    """Fetch and check the OCSP response for one certificate from its responder (RFC 6960, Appendix A)."""

    def __init__(self, leaf: x509.Certificate, issuer: x509.Certificate, url: str, timeout: float) -> None:
        self.leaf, self.issuer, self.url, self.timeout = leaf, issuer, url, timeout
        self.last_exchange = ""

    def __call__(self, now: datetime) -> bytes:
        from .http_fetch import FetchError, fetch  # late: only a server stapling online needs it

        request = ocsp.OCSPRequestBuilder().add_certificate(self.leaf, self.issuer, hashes.SHA1()).build()
        der = request.public_bytes(serialization.Encoding.DER)
        # RFC 6960, Appendix A.1: GET when the encoded request is under 255 bytes (cacheable), POST otherwise.
        encoded = urllib.parse.quote(base64.b64encode(der).decode(), safe="")
        get_url = f"{self.url.rstrip('/')}/{encoded}"
        deadline = time.monotonic() + self.timeout
        try:
            if len(get_url) < 255:
                method, answer = "GET", fetch(get_url, deadline=deadline)
            else:
                content_type = "application/ocsp-request"
                method, answer = "POST", fetch(self.url, deadline=deadline, body=der, content_type=content_type)
        except FetchError as exc:
            self.last_exchange = f"{self.url}"
            raise FetchProblem(exc.problem) from None
        self.last_exchange = f"{method} {self.url} (HTTP {answer.status}, {answer.elapsed * 1000:.0f} ms)"
        # AlertError: never staple a bad one
        result = check_ocsp_response(answer.body, self.leaf, self.issuer, now, how="fetched")
        if result.status == "unknown":
            # RFC 6960, 2.2: the responder does not know the certificate (yet, often, for a new one); a client
            # refuses that staple (revocation.require_good) and would take none, so nothing is stapled over the
            # last good one, and it is asked again, as nginx staples only good and revoked answers.
            raise FetchProblem(f"{self.url} answered 'unknown' for {describe(self.leaf)}: not stapled")
        return answer.body


class FetchProblem(Exception):
    """A fetch from the responder failed (http_fetch.FetchError, without importing it early)."""


class _Refresher:
    """The thread of a responder source: fetch, sleep until the next refresh, again; until stopped."""

    def __init__(self, source: StapleSource) -> None:
        self.source = source
        self.stopping = threading.Event()
        self.first_done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"staple {source.description}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self.stopping.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                due = self.source.refresh(datetime.now(UTC))
            except Exception as exc:  # a bug must not end stapling silently: say it, retry later
                self.source._log(f"OCSP refresh from {self.source.description} failed: {type(exc).__name__}: {exc}")
                due = datetime.now(UTC) + self.source.retry_after
            self.first_done.set()
            wait = (due - datetime.now(UTC)).total_seconds()
            self.stopping.wait(min(max(wait, 0.5), 24 * 3600.0))
