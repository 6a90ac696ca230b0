"""The one error type of glasstls and the one place reasons meet alerts.

Deep code raises :class:`AlertError` with the alert RFC 8446 (or RFC 5246)
names for the failure and a precise reason a person can act on. Only the
connection turns it into an alert on the wire and a closed connection
(RFC 8446, Section 6.2). Errors the peer reports arrive as
:class:`PeerAlertError`.

glasstls is a library first: a reason speaks of what the caller controls (the
configuration field, e.g. ``ClientConfig.trust_store``), never of a command
line. Where a caller may want to act on an error without reading its text, the
error carries :class:`Facts` (``AlertError.facts``, ``ConfigError.facts``);
the CLI turns those into its own hints (``--cacert FILE``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from .enums import AlertDescription as AlertDescription  # re-exported: every error names its alert


@dataclass(frozen=True)
class Facts:
    """What an error is about, as data: the reason says the same in words.

    ``problem`` is a stable key, one of :data:`PROBLEMS`. The other fields are
    filled in where they apply (empty otherwise):

    * ``field``: the configuration field that decides the outcome, as
      ``"ClientConfig.trust_store"`` or ``"ServerConfig.client_trust_store"``
      (for :class:`~glasstls.x509.ca.CertificateAuthority`, the parameter name);
    * ``chain``: whose certificate chain was checked, ``"server"`` (by a
      client, against ``ClientConfig.trust_store``) or ``"client"`` (by a
      server, against ``ServerConfig.client_trust_store``);
    * ``subject``, ``issuer``: the certificate concerned and the name of its
      issuer (RFC 4514, escaped as in the reason);
    * ``name``: the server name asked for;
    * ``value``: the value given for ``field`` (a file name, a version label);
    * ``depth``: where ``subject`` stands in the chain, 0 for the peer's own certificate
      (as OpenSSL's error depth), None where no certificate is concerned.
    """

    problem: str
    field: str = ""
    chain: str = ""
    subject: str = ""
    issuer: str = ""
    name: str = ""
    value: str = ""
    depth: int | None = None


# The problems :class:`Facts` names, and what each means.
PROBLEMS: dict[str, str] = {
    "untrusted_issuer": "the chain's path ends at an issuer the trust store (``field``) does not hold",
    "untrusted_self_signed": "the peer's certificate is self-signed and not in the trust store (``field``)",
    "missing_intermediate": (
        "the peer sent only its own certificate, whose issuer is not trusted: most often the peer did not send "
        "its intermediate CA certificate(s); otherwise the trust store (``field``) lacks that issuer"
    ),
    "chain_too_long": "the peer's chain goes on past the most CA certificates glasstls follows (``depth``)",
    "revocation_unknown": "hard-fail revocation found no current CRL for a certificate (``field`` takes CRLs)",
    "name_mismatch": "the server's certificate does not name ``name`` (``value`` lists the names it holds)",
    "no_server_name": "there is no server name to check the server's certificate against",
    "no_trust_store": "no trust store was given (``field``) and no system CA bundle was found",
    "missing_client_trust_store": "client certificates are asked for, but ``field`` holds no trust store",
    "version_range": "tls_min is above tls_max (``field`` is tls_min, ``value`` both labels)",
    "invalid_value": "``field`` was given ``value``, which cannot work (the reason says why)",
    "bad_ocsp_file": "the OCSP response file ``value`` does not hold a usable DER OCSP response",
    "callback_refused": "the application's callback (``field``) refused the handshake or failed",
    "client_certificate_missing": "the client sent no certificate, and ``field`` requires one",
}


class TLSError(Exception):
    """Base class of every error glasstls raises."""


class AlertError(TLSError):
    """A failure that ends the connection with ``description`` on the wire.

    ``step`` is filled in by the connection: the handshake state (or
    "application data") in which the failure happened. ``facts`` says what
    the failure is about as data, where a caller may want to act on it
    (None otherwise); it never changes the alert.
    """

    def __init__(
        self, description: AlertDescription | int, reason: str, *, step: str = "", facts: Facts | None = None
    ) -> None:
        self.description = AlertDescription(description)
        self.reason = reason
        self.step = step
        self.facts = facts
        super().__init__(reason)

    def __str__(self) -> str:
        where = f" while {self.step}" if self.step else ""
        return f"{self.reason} (alert {self.description.name}{where})"


class DecodeError(AlertError):
    """A message that does not parse: always decode_error (RFC 8446, Section 6.2)."""

    def __init__(self, reason: str) -> None:
        super().__init__(AlertDescription.decode_error, reason)


class InternalError(AlertError):
    """Something that is not the peer's fault went wrong inside glasstls (or in an
    observer attached to it) while handling the peer's bytes: a bug. The connection
    ends with internal_error (RFC 8446, Section 6.2) instead of taking its caller
    down; the original exception is the ``__cause__``."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(
            AlertDescription.internal_error,
            f"internal error ({type(exc).__name__}: {exc}); this is a bug in glasstls or in an attached observer",
        )
        self.__cause__ = exc


class PeerAlertError(TLSError):
    """The peer sent a fatal alert (or closed) during ``step``."""

    def __init__(self, description: AlertDescription | int, step: str, text: str | None = None) -> None:
        self.description = AlertDescription(description)
        self.step = step
        super().__init__(text or f"peer sent alert {self.description.name} while {step}")


class ConnectionClosedError(TLSError):
    """Data was sent or expected on a connection that is already closed."""


class PeerClosedError(PeerAlertError, ConnectionClosedError):
    """The peer closed (close_notify) or canceled (user_canceled, then close_notify) before the handshake
    completed (RFC 8446, Section 6.1): not a clean end, since nothing was agreed, and not a failure it
    reported. Both a PeerAlertError (which alert) and a ConnectionClosedError (what a caller waiting for
    the handshake catches)."""


class ConfigError(TLSError, ValueError):
    """A configuration that cannot work, found when it is built.

    ``facts`` (None where the message says all) names the field and the value,
    so a caller (the CLI) can point at its own way of setting it.
    """

    def __init__(self, message: str, *, facts: Facts | None = None) -> None:
        self.facts = facts
        super().__init__(message)


class NotNegotiatedError(TLSError):
    """A feature was asked of a connection whose handshake did not agree to it.

    For instance ``ServerConnection.request_client_certificate()`` when the
    connection is not an established TLS 1.3 one, or when the client did not
    offer post_handshake_auth (RFC 8446, Section 4.2.6). Nothing is sent and
    the connection stays usable.
    """


def unexpected(message: str, state: str) -> AlertError:
    """RFC 8446, Section 6.2: a message not valid in this state."""
    return AlertError(AlertDescription.unexpected_message, f"unexpected {message} {state}")


class TruncatedError(ConnectionClosedError):
    """The peer's stream ended (FIN or RST) without a close_notify after the
    handshake: what arrived may be cut short (RFC 8446, Section 6.1; RFC 5246,
    Section 7.2.1). ``received`` is the number of application-data bytes that
    arrived before the end. Adapters raise it only after those bytes have been
    delivered, and only where truncation is not explicitly allowed (for an
    application that frames its own data, like ``ssl``'s suppress_ragged_eofs).
    """

    def __init__(self, received: int, detail: str = "", allowed_by: str = "allow_truncation=True") -> None:
        self.received = received
        self.detail = detail
        super().__init__(self.explain(allowed_by))

    def explain(self, allowed_by: str = "") -> str:
        """The message; ``allowed_by`` names the knob that accepts truncation where the caller has one (the
        library's keyword, the client's option); without it (the server's log) no knob is suggested."""
        how = f" ({self.detail})" if self.detail else ""
        if not self.received:  # (a scanner's or a browser's probe, most often: nothing can have been cut short)
            return f"the peer closed the connection without close_notify{how} before any application data"
        said = f"the peer closed the connection without close_notify{how} after {self.received} bytes of "
        if not allowed_by:
            return f"{said}application data: its last data may have been cut short"
        return (
            f"{said}application data: the data may be truncated ({allowed_by} accepts this where the "
            "application frames its own data)"
        )


class DeadlineError(TLSError, TimeoutError):
    """An operation did not finish within its deadline (a bound on the whole
    operation, not on each read). ``limit`` names the deadline that was hit,
    e.g. "handshake_timeout"."""

    def __init__(self, what: str, seconds: float, limit: str, happened: str = "did not complete within") -> None:
        self.seconds = seconds
        self.limit = limit
        super().__init__(f"{what} {happened} {seconds:g} s (deadline {limit})")
