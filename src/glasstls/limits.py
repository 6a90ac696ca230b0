"""Bounds on what a peer can make a connection spend (see docs/design/serving.md).

Every resource a peer controls has a limit here, and the error raised when it
is hit names the limit (``Limits.max_warning_alerts`` …), so a person reading
the log knows which knob it was. The defaults follow the reference stacks:
OpenSSL allows 5 consecutive warning alerts (MAX_WARN_ALERT_COUNT) and 32
consecutive empty records (MAX_EMPTY_RECORDS); rustls and BoringSSL accept at
most one change_cipher_spec record in a TLS 1.3 handshake.

The sans-I/O connection enforces the per-record limits below; the adapters
(io/blocking.py, io/aio.py) enforce the deadlines and the buffer bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class Limits:
    # Consecutive warning alerts (TLS 1.2 no_renegotiation, user_canceled …) with no
    # other record between them. A peer that keeps warning is stalling us.
    max_warning_alerts: int = 5
    # Consecutive records with no content (empty application data, the CBC 1/n-1
    # split of old stacks, TLS 1.3 padding-only records).
    max_empty_records: int = 32
    # change_cipher_spec records in one TLS 1.3 handshake (RFC 8446, Section 5: the
    # compatibility-mode CCS is sent once; a second one is unexpected_message).
    max_tls13_ccs: int = 1
    # KeyUpdates received: a budget of this many, one earned back for every
    # key_update_data_credit bytes of application data received (RFC 8446, Section 4.6.3
    # allows a KeyUpdate at any time; a stream of them is an attack on our CPU).
    max_key_updates: int = 32
    key_update_data_credit: int = 1 << 16
    # NewSessionTickets received with no application data in between.
    max_tickets: int = 32
    # Handshake bytes buffered while a message is incomplete (RFC 8446, Section 5.1
    # lets a message span records; a certificate chain is rarely over 64 KiB).
    max_handshake_message: int = 1 << 18

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"Limits.{name} must be a positive integer, not {value!r}")


DEFAULT_LIMITS = Limits()
