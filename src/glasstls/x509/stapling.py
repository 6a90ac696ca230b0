"""Where a server's OCSP staple comes from (RFC 6066, Section 8; RFC 8446, Section 4.4.2.1).

A :class:`StapleSource` holds the DER OCSP response a server staples for one
certificate. It comes from a file (``glasstls server --ocsp FILE``, written by
``openssl ocsp -respout`` or ``glasstls ca ocsp``), from bytes, or from a
callable (the CA tool making a response on demand). The source reloads:

* when the file changes (its size, mtime or inode), checked at each handshake;
* when the response it holds is within ``refresh_before`` (one hour) of its
  nextUpdate, at most once every ``retry_after`` (one minute), so a cron job
  that rewrites the file in time is picked up before the old response goes stale.

A response is stapled only when it is a successful response about this very
certificate (its CertID) and current at the connection's clock: a stale one is
never sent (a client would refuse the handshake). A response that says
"revoked" is stapled: it is the truth, and the client decides. The reason for
not stapling goes to the trace. A source is shared by every connection of a
configuration, across threads, so it locks.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509 import ocsp

from ..errors import AlertError, ConfigError, Facts
from .revocation import CLOCK_SKEW, cert_id_matches, describe, fmt, load_ocsp_response

REFRESH_BEFORE = timedelta(hours=1)
RETRY_AFTER = timedelta(minutes=1)

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
    ) -> None:
        self._fetch = fetch
        self.description = description
        self._watch = watch
        self.refresh_before = refresh_before
        self.retry_after = retry_after
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

    # -- what a handshake asks --------------------------------------------------------------------

    def staple_for(
        self, cert: x509.Certificate, issuer: x509.Certificate | None, now: datetime
    ) -> tuple[bytes | None, str]:
        """The DER response to staple for ``cert`` at ``now``, or None; and why, for the trace."""
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
        with self._lock:
            if self._needs_reload(now):
                self._reload(now)
            if self._response is None or self._der is None:
                return None, f"nothing to staple from {self.description}: {self._error or 'no response loaded'}"
            return self._judge(self._response, self._der, cert, issuer, now)

    def _needs_reload(self, now: datetime) -> bool:
        if self._response is None:
            return self._attempted is None or now - self._attempted >= self.retry_after
        if self._watch is not None and self._watch() != self._stamp:
            return True
        next_update = _single_next_update(self._response)
        if next_update is None or next_update - now > self.refresh_before:
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
