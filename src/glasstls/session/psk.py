"""TLS 1.3 pre-shared keys (RFC 8446, Section 4.2.11): the external PSKs a
configuration holds, and the arithmetic both roles share for every PSK, the
ones from tickets too: ticket ages and binders.

An **external PSK** is agreed out of band: an identity (sent in the clear),
a key, and the one hash it is used with (RFC 8446, Section 4.2.11: "each PSK
is associated with a single Hash algorithm"; RFC 9257, Section 4 asks not to
use one key with several). Its binder is keyed with "ext binder", a ticket's
with "res binder" (Section 7.1), so neither can pass for the other.

A **ticket age** travels obfuscated (Section 4.2.11.1): the client adds the
server's ``ticket_age_add`` to the milliseconds since it received the ticket,
modulo 2^32, so that the age does not link the connections of one client.

A **binder** (Section 4.2.11.2) is a Finished-style HMAC over the transcript up
to the ClientHello's binders list, keyed from the PSK: it proves the client
holds the PSK and binds the PSK to this ClientHello.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from ..crypto.keyschedule13 import EarlySecret, finished_verify_data
from ..crypto.suites import Suite13
from ..errors import ConfigError
from .state import check_aware

PskHash = Literal["sha256", "sha384"]
HASH_LENGTHS: dict[str, int] = {"sha256": 32, "sha384": 48}
# RFC 8446, Section 4.6.1: a ticket lives at most seven days.
MAX_TICKET_LIFETIME = 7 * 24 * 3600
_AGE_MODULUS = 1 << 32
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class ExternalPsk:
    """A PSK agreed out of band (RFC 8446, Section 4.2.11): identity, key and its hash."""

    identity: bytes
    key: bytes = field(repr=False)
    hash: PskHash = "sha256"

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity", bytes(self.identity))
        object.__setattr__(self, "key", bytes(self.key))
        # RFC 8446, Section 4.2.11: PskIdentity.identity<1..2^16-1>.
        if not 0 < len(self.identity) < 1 << 16:
            raise ConfigError(f"a PSK identity is 1 to 65535 bytes, not {len(self.identity)}")
        if not self.key:
            raise ConfigError(f"the PSK for identity {self.identity!r} is empty")
        if self.hash not in HASH_LENGTHS:
            raise ConfigError(f"a PSK's hash is sha256 or sha384 (the TLS 1.3 suites' hashes), not {self.hash!r}")


def obfuscated_age(age_add: int, received: datetime, now: datetime) -> int:
    """The client's obfuscated_ticket_age (RFC 8446, Section 4.2.11.1)."""
    check_aware(now)
    age_ms = max(0, (now - received) // _MILLISECOND)
    return (age_ms + age_add) % _AGE_MODULUS


def ticket_age_ms(obfuscated: int, age_add: int) -> int:
    """The age the client reports, in milliseconds, from its obfuscated form."""
    return (obfuscated - age_add) % _AGE_MODULUS


def binder(suite: Suite13, psk: bytes, external: bool, transcript_hash: bytes) -> bytes:
    """The PSK binder: HMAC(finished_key(binder_key), transcript hash) (RFC 8446, Sections 4.2.11.2 and 7.1).

    ``suite`` only lends its hash; any suite with the PSK's hash gives the same binder.
    """
    return early_binder(EarlySecret(suite, psk), external, transcript_hash)


def early_binder(early: EarlySecret, external: bool, transcript_hash: bytes) -> bytes:
    """:func:`binder` from the PSK's early secret, already extracted (RFC 8446, Section 7.1)."""
    return finished_verify_data(early.suite, early.binder_key(external=external), transcript_hash)
