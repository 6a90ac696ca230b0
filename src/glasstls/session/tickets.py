"""Session-ticket protection: the server's keys for sealing :class:`SessionState` into tickets.

A ticket is opaque to the client (RFC 5077, Section 3.3; RFC 8446,
Section 4.6.1), so its format is the server's own. RFC 5077, Section 4
recommends key_name || IV || encrypted state || MAC with separate encryption
and MAC keys; glasstls uses one AEAD instead, which gives the same properties
(confidentiality, integrity, a key name to find the key) in one primitive::

    ticket = key_name[16] || nonce[12] || AES-256-GCM(key, nonce, SessionState.to_bytes(), aad=key_name)

Keys rotate. The first :meth:`TicketKeys.seal` creates a key; once the current
key is ``rotate_after`` seconds old the next seal creates a new current key.
A key that stopped being current still opens tickets for ``accept_for``
seconds more (such tickets report :meth:`TicketKeys.needs_renewal`, so the
server issues a fresh one, RFC 5077, Section 3.3), then it is forgotten.
Nonces are random: with hourly keys, far fewer than 2**32 tickets are sealed
under one key, which keeps GCM's random-nonce bound.

A bad ticket is never an error: :meth:`TicketKeys.open` returns None and a
reason, and the handshake falls back to a full one (RFC 5077, Section 3.4;
RFC 8446, Section 4.2.11).

Randomness is drawn from the injected source in this order: a new key takes
16 bytes (key_name) then 32 (key); each seal takes 12 (nonce).

:class:`TicketKeyRing` is what the handshakes (TLS 1.2 and TLS 1.3 alike) ask of the
keys; :class:`TicketKeys` is the ring of one process, and :mod:`glasstls.store` has
one whose keys every server of a fleet shares through Redis, in the same ticket format.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..crypto.rand import Randomness
from ..errors import ConfigError, DecodeError
from .state import SessionState, check_aware
from .stores import MEMORY

KEY_NAME_LEN = 16
NONCE_LEN = 12
TAG_LEN = 16
KEY_LEN = 32
MIN_TICKET_LEN = KEY_NAME_LEN + NONCE_LEN + TAG_LEN
MAX_TICKET_LEN = (1 << 16) - 1  # RFC 5077, Section 3.3; RFC 8446, Section 4.6.1: ticket<1..2^16-1>

# Reasons :meth:`TicketKeys.open` gives, for traces.
ACCEPTED = "ticket accepted"
ACCEPTED_OLD_KEY = "ticket accepted (sealed under a previous key; renew)"
MALFORMED = "malformed ticket"
UNKNOWN_KEY = "unknown key name (retired or from another server)"
NOT_AUTHENTIC = "ticket does not authenticate"
EXPIRED = "session expired"


class TicketKeyRing(Protocol):
    """The current key for sealing, the previous ones for opening (see the module doc)."""

    @property
    def source(self) -> str: ...  # where the keys come from: "memory", "redis"

    def seal(self, state: SessionState, now: datetime) -> bytes:
        """The ticket for ``state`` under the current key; raises :class:`~.stores.NoTicketKey`
        when no key may seal now, ``ValueError`` when ``state`` is too large for a ticket."""
        ...

    def open(self, ticket: bytes, now: datetime) -> tuple[SessionState | None, str]:
        """``(state, reason)``, or ``(None, reason)`` for a ticket that cannot be used. Never raises."""
        ...

    def needs_renewal(self, ticket: bytes, now: datetime) -> bool:
        """True unless ``ticket`` names the current key (the server then issues a fresh one)."""
        ...


def seal_with(aead: AESGCM, name: bytes, nonce: bytes, state: SessionState) -> bytes:
    """``key_name || nonce || AES-256-GCM(state, aad=key_name)``: the one ticket format of every ring."""
    if len(nonce) != NONCE_LEN:
        raise RuntimeError("randomness returned the wrong number of bytes")
    ticket = name + nonce + aead.encrypt(nonce, state.to_bytes(), name)
    if len(ticket) > MAX_TICKET_LEN:
        raise ValueError(f"session state too large for a ticket ({len(ticket)} bytes, at most {MAX_TICKET_LEN})")
    return ticket


def split_ticket(ticket: bytes) -> tuple[bytes, bytes, bytes] | None:
    """``(key_name, nonce, sealed)``, or None when ``ticket`` cannot be one of ours."""
    if type(ticket) is not bytes:  # (what a ClientHello's identity is: no bytes() call for it)
        try:
            ticket = bytes(ticket)
        except TypeError:
            return None
    if not MIN_TICKET_LEN <= len(ticket) <= MAX_TICKET_LEN:
        return None
    return ticket[:KEY_NAME_LEN], ticket[KEY_NAME_LEN : KEY_NAME_LEN + NONCE_LEN], ticket[KEY_NAME_LEN + NONCE_LEN :]


def open_with(aead: AESGCM, parts: tuple[bytes, bytes, bytes], now: datetime) -> tuple[SessionState | None, str]:
    """The state in a ticket split by :func:`split_ticket`, or None and why (``ACCEPTED`` when it opens)."""
    name, nonce, sealed = parts
    try:
        plaintext = aead.decrypt(nonce, sealed, name)
    except InvalidTag:
        return None, NOT_AUTHENTIC
    try:
        state = SessionState.from_bytes(plaintext)
    except DecodeError:
        # Authentic but unreadable: sealed by a build with another state format.
        return None, MALFORMED
    if state.expired(now):
        return None, EXPIRED
    return state, ACCEPTED


@dataclass
class _Key:
    name: bytes
    aead: AESGCM
    created: datetime
    current_until: datetime  # when it stops (or stopped) being the sealing key
    accept_until: datetime  # when it is forgotten


class TicketKeys:
    """The server's rotating ticket keys (see the module doc), in this process's memory. Thread-safe."""

    source = MEMORY

    def __init__(self, randomness: Randomness, rotate_after: int = 3600, accept_for: int = 7200) -> None:
        if rotate_after < 1:
            raise ConfigError(f"ticket key rotate_after must be at least 1 second, not {rotate_after}")
        if accept_for < 0:
            raise ConfigError(f"ticket key accept_for cannot be negative ({accept_for})")
        self._randomness = randomness
        self.rotate_after = timedelta(seconds=rotate_after)
        self.accept_for = timedelta(seconds=accept_for)
        self._keys: dict[bytes, _Key] = {}  # insertion order: oldest first, the newest may be current
        self._newest: _Key | None = None  # the last of _keys, kept at hand for _current
        self._retire_at: datetime | None = None  # the keys' earliest accept_until (None: no key)
        self._lock = threading.Lock()

    # -- key management (callers hold the lock) --------------------------------------

    def _new_key(self, now: datetime) -> _Key:
        name = self._randomness(KEY_NAME_LEN)
        secret = self._randomness(KEY_LEN)
        if len(name) != KEY_NAME_LEN or len(secret) != KEY_LEN:
            raise RuntimeError("randomness returned the wrong number of bytes")
        until = now + self.rotate_after
        key = _Key(name, AESGCM(secret), now, until, until + self.accept_for)
        self._keys[name] = key
        self._newest = key
        self._schedule_retirement()
        return key

    def _schedule_retirement(self) -> None:
        """Note when _retire next has a key to forget: after every change of a key's accept_until."""
        self._retire_at = min((k.accept_until for k in self._keys.values()), default=None)

    def _retire(self, now: datetime) -> None:
        due = self._retire_at
        if due is None or now < due:
            return  # no key to forget yet: one comparison per ticket opened or sealed, not one per key
        for name in [n for n, k in self._keys.items() if now >= k.accept_until]:
            del self._keys[name]
        self._newest = next(reversed(self._keys.values()), None)
        self._schedule_retirement()

    def _current(self, now: datetime) -> _Key | None:
        newest = self._newest
        if newest is None or now >= newest.current_until:
            return None
        return newest

    # -- public API ------------------------------------------------------------------------

    def seal(self, state: SessionState, now: datetime) -> bytes:
        """The ticket for ``state``, sealed under the current key (created or rotated as needed)."""
        if now.tzinfo is not UTC:  # (UTC, what every clock of glasstls's gives, needs no call)
            check_aware(now)
        # (acquire and release, not a with block: its __exit__ call costs as much again, once per
        # ticket sealed or opened)
        lock = self._lock
        lock.acquire()
        try:
            self._retire(now)
            key = self._current(now) or self._new_key(now)
            nonce = self._randomness(NONCE_LEN)
        finally:
            lock.release()
        return seal_with(key.aead, key.name, nonce, state)

    def open(self, ticket: bytes, now: datetime) -> tuple[SessionState | None, str]:
        """``(state, reason)``; ``(None, reason)`` for any ticket that cannot be used. Never raises for bad input."""
        if now.tzinfo is not UTC:  # (UTC, what every clock of glasstls's gives, needs no call)
            check_aware(now)
        parts = split_ticket(ticket)
        if parts is None:
            return None, MALFORMED
        lock = self._lock  # (as in seal)
        lock.acquire()
        try:
            self._retire(now)
            key = self._keys.get(parts[0])
            current = self._current(now)
        finally:
            lock.release()
        if key is None:
            return None, UNKNOWN_KEY
        state, reason = open_with(key.aead, parts, now)
        if state is None:
            return None, reason
        return state, ACCEPTED if key is current else ACCEPTED_OLD_KEY

    def needs_renewal(self, ticket: bytes, now: datetime) -> bool:
        """True unless ``ticket`` names the current key: the server should then issue a fresh ticket."""
        check_aware(now)
        with self._lock:
            self._retire(now)
            current = self._current(now)
        return current is None or bytes(ticket[:KEY_NAME_LEN]) != current.name

    def rotate(self, now: datetime) -> None:
        """Make a new key current now; the old one keeps opening tickets for ``accept_for`` seconds."""
        check_aware(now)
        with self._lock:
            self._retire(now)
            current = self._current(now)
            if current is not None:
                current.current_until = now
                current.accept_until = now + self.accept_for  # (the new key below notes it for _retire)
            self._new_key(now)
            self._retire(now)

    def key_names(self, now: datetime) -> list[bytes]:
        """The names of the keys that still open tickets, oldest first (for traces and tests)."""
        check_aware(now)
        with self._lock:
            self._retire(now)
            return list(self._keys)
