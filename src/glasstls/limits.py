"""Bounds on what a peer can make a connection spend (see docs/design/serving.md).

Every resource a peer controls has a limit here, and the error raised when it
is hit names the limit (``Limits.max_warning_alerts`` …), so a person reading
the log knows which knob it was. The defaults follow the reference stacks:
4 consecutive warning alerts, the fifth fatal (OpenSSL's MAX_WARN_ALERT_COUNT
of 5 is reached by the fifth, BoringSSL's kMaxWarningAlerts is 4), and 32
consecutive empty records (MAX_EMPTY_RECORDS); NSS accepts only the
first change_cipher_spec record of a TLS 1.3 handshake.

The sans-I/O connection enforces the per-record limits below; the adapters
(io/blocking.py, io/aio.py) enforce the deadlines and the buffer bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from .enums import AlertDescription, ContentType
from .errors import AlertError, ConfigError


@dataclass(frozen=True)
class Limits:
    # Consecutive warning alerts (TLS 1.2 no_renegotiation, user_canceled …) with no
    # other record between them. A peer that keeps warning is stalling us.
    max_warning_alerts: int = 4
    # Consecutive records with no content (empty application data, the CBC 1/n-1
    # split of old stacks, TLS 1.3 padding-only records).
    max_empty_records: int = 32
    # change_cipher_spec records in one TLS 1.3 handshake (RFC 8446, Section 5: the
    # compatibility-mode CCS is sent once; a second one is unexpected_message).
    max_tls13_ccs: int = 1
    # KeyUpdates received: a budget of this many, one earned back for every
    # key_update_data_credit bytes of application data received (RFC 8446, Section 4.6.3
    # allows a KeyUpdate at any time; a stream of them is an attack on our CPU). One byte by
    # default: a peer that sends data between its KeyUpdates, however little (a quiet
    # connection that rekeys now and then), is never cut off, as with BoringSSL, whose count
    # of 32 any application data resets; only a run of them with nothing between is.
    max_key_updates: int = 32
    key_update_data_credit: int = 1
    # NewSessionTickets received with no application data in between.
    max_tickets: int = 32
    # Requests to renegotiate (a TLS 1.2 server's HelloRequest, a client's new ClientHello) with no
    # application data in between: each is answered with a no_renegotiation warning, so a flood
    # of 4-byte HelloRequests would draw 31-byte alerts without end.
    max_renegotiation_requests: int = 5
    # Post-handshake CertificateRequests (RFC 8446, Section 4.6.2) one connection answers: each
    # costs a signature. OpenSSL answers any number; BoringSSL, Go and rustls none (they do
    # not offer post-handshake auth). A server asking once an hour has days before it.
    max_certificate_requests: int = 64
    # Handshake bytes buffered while a message is incomplete (RFC 8446, Section 5.1
    # lets a message span records; a certificate chain is rarely over 64 KiB). Messages of a fixed
    # or small size (Finished, KeyUpdate, ClientKeyExchange …) and the hellos (a ClientHello is at
    # most 131396 bytes) have tighter bounds by type, checked at their header (wire/handshake.py, _LONGEST).
    max_handshake_message: int = 1 << 18

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"Limits.{name} must be a positive integer, not {value!r}")


DEFAULT_LIMITS = Limits()
_ALERT = int(ContentType.alert)  # compared per record: an int, not a lookup on the Enum class


class PeerBudget:
    """What the peer has made one connection spend so far, checked against :class:`Limits`.

    The connection calls one method per record or message; each raises an
    AlertError naming the limit when the peer goes past it. Counters of
    "consecutive" things are reset by any record that carries content.
    """

    __slots__ = (
        "limits",
        "settled",
        "_warnings",
        "_empty",
        "_ccs13",
        "_key_update_tokens",
        "_credit",
        "_tickets",
        "_answers_owed",
        "_renegotiations",
        "_certificate_requests",
    )

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        # on_application_record would change nothing: no run of empty records, warnings or
        # tickets to end, no KeyUpdate token to earn back. The connection skips the call then
        # (one per application record received); every method that starts a run clears it.
        self.settled = True
        self._warnings = 0
        self._empty = 0
        self._ccs13 = 0
        self._key_update_tokens = limits.max_key_updates
        self._credit = 0  # application-data bytes toward the next KeyUpdate token
        self._tickets = 0
        self._answers_owed = 0  # KeyUpdates the peer owes us: our update_requested ones not yet answered
        self._renegotiations = 0  # renegotiation requests since the last application data
        self._certificate_requests = 0  # post-handshake CertificateRequests on this connection, all told

    def _over(self, count: int, limit: str, what: str) -> None:
        """unexpected_message naming ``limit`` when ``count`` is past it. unexpected_message,
        as OpenSSL answers too many warnings or empty records: records that are each legal
        but together are not a conversation."""
        value: int = getattr(self.limits, limit)
        if count > value:
            raise AlertError(
                AlertDescription.unexpected_message, f"more than {value} {what} (limit Limits.{limit} = {value})"
            )

    def on_record(self, content_type: int, size: int) -> None:
        """Every record received, after decryption."""
        if size == 0:
            self._empty += 1
            self.settled = False
            self._over(self._empty, "max_empty_records", "consecutive empty records")
            return
        self._empty = 0
        if content_type != _ALERT:
            self._warnings = 0

    def on_warning_alert(self) -> None:
        self._warnings += 1
        self.settled = False
        self._over(self._warnings, "max_warning_alerts", "consecutive warning alerts")

    def on_tls13_change_cipher_spec(self) -> None:
        self._ccs13 += 1
        self._over(
            self._ccs13,
            "max_tls13_ccs",
            "change_cipher_spec record(s) in a TLS 1.3 handshake (RFC 8446, Section 5 and Appendix D.4: a peer "
            "in middlebox compatibility mode sends one; more are refused here, as NSS and rustls refuse them)",
        )

    def on_application_record(self, size: int) -> None:
        """A non-empty application_data record (in place of on_record): it ends a run of empty
        records, of warnings and of tickets, and earns KeyUpdate tokens back."""
        self._empty = self._warnings = self._tickets = self._renegotiations = 0
        if self._key_update_tokens < self.limits.max_key_updates:
            self._credit += size
            earned, self._credit = divmod(self._credit, self.limits.key_update_data_credit)
            self._key_update_tokens = min(self.limits.max_key_updates, self._key_update_tokens + earned)
        self.settled = self._key_update_tokens == self.limits.max_key_updates

    def on_key_update_requested(self) -> None:
        """We sent a KeyUpdate with update_requested: the peer owes one answer (RFC 8446, Section 4.6.3)."""
        self._answers_owed += 1

    def on_key_update(self, requested: bool) -> None:
        """A KeyUpdate received; ``requested``: it asks for ours. An update_not_requested one that
        answers our own request is owed, not spent: a peer doing as the RFC says is never cut off
        for it, however often this side asks."""
        if not requested and self._answers_owed:
            self._answers_owed -= 1
            return
        # A budget rather than a count: the tokens spent so far stand for the KeyUpdates
        # received beyond what the application data has paid for.
        self._key_update_tokens -= 1
        self.settled = False
        spent = self.limits.max_key_updates - self._key_update_tokens
        credit = self.limits.key_update_data_credit
        between = "application data between them" if credit == 1 else f"{credit} bytes of application data for each"
        self._over(spent, "max_key_updates", f"KeyUpdates without {between}")

    def on_renegotiation_request(self) -> None:
        self._renegotiations += 1
        self.settled = False
        self._over(
            self._renegotiations, "max_renegotiation_requests",
            "requests to renegotiate with no application data between them (each refused with a warning)",
        )  # fmt: skip

    def on_hello_request_while_negotiating(self) -> None:
        """A HelloRequest before our handshake completed: ignored (RFC 5246, Section 7.4.1.1), and counted
        against the same limit, so a server that sends nothing else cannot hold the handshake forever."""
        self._renegotiations += 1
        self._over(self._renegotiations, "max_renegotiation_requests", "HelloRequests during the handshake (ignored)")

    def on_certificate_request(self) -> None:
        self._certificate_requests += 1
        self._over(self._certificate_requests, "max_certificate_requests", "post-handshake CertificateRequests")

    def on_new_session_ticket(self) -> None:
        self._tickets += 1
        self.settled = False
        self._over(self._tickets, "max_tickets", "NewSessionTickets with no application data between them")
