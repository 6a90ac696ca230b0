"""The client's memory of sessions: in memory per server, and in files for the CLI.

:class:`SessionStore` keys sessions by ``(server_name or host, port)``
(RFC 6066, Section 3: a session is bound to the name it was established for)
and keeps a short list per key, newest first. TLS 1.2 needs one entry per
server; TLS 1.3 servers send several tickets (RFC 8446, Section 4.6.1) which a
client should use once each (RFC 8446, Appendix C.4), hence :meth:`take`.

:func:`save_session` and :func:`load_session` back the CLI's
``--session-out`` / ``--session-in``: one PEM block per file, written with
mode 0600 because it holds a master secret.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..errors import ConfigError, DecodeError
from ..events import ConnectionClosed, Event, NewTicket
from .state import TLS12, TLS13, SessionState, check_aware

StoreKey = tuple[str, int]


def session_key(host: str, port: int, server_name: str | None = None) -> StoreKey:
    """The store key for a connection: the SNI name when one is sent, otherwise the host."""
    return _normal_key((server_name or host, port))


def _normal_key(key: StoreKey) -> StoreKey:
    name, port = key
    return name.rstrip(".").lower(), int(port)


class SessionStore:
    """Per-server lists of resumable sessions, newest first, bounded in servers and per server. Thread-safe."""

    def __init__(self, max_servers: int = 256, per_server: int = 8) -> None:
        if max_servers < 1 or per_server < 1:
            raise ConfigError("session store bounds must be at least 1")
        self.max_servers = max_servers
        self.per_server = per_server
        self._entries: OrderedDict[StoreKey, list[SessionState]] = OrderedDict()
        self._lock = threading.Lock()

    def keeping_tickets(self, key: StoreKey, on_event: Callable[[Event], None] | None) -> SessionKeeper:
        """``on_event``, after putting each TLS 1.3 ticket's session under ``key`` (RFC 8446,
        Section 4.6.1): tickets arrive after the handshake, as events; the adapters chain this in,
        and give it the session of the handshake (SessionKeeper.keep)."""
        return SessionKeeper(self, key, on_event)

    def put(self, key: StoreKey, state: SessionState) -> None:
        """Remember ``state`` as the newest session for ``key``."""
        key = _normal_key(key)
        with self._lock:
            states = [s for s in self._entries.pop(key, []) if s != state]
            states.insert(0, state)
            self._entries[key] = states[: self.per_server]
            while len(self._entries) > self.max_servers:
                self._entries.popitem(last=False)

    def _valid(self, key: StoreKey, now: datetime) -> list[SessionState] | None:
        """The unexpired list for ``key`` (expired states dropped); caller holds the lock."""
        states = self._entries.get(key)
        if states is None:
            return None
        states[:] = [s for s in states if not s.expired(now)]
        if not states:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return states

    def get(self, key: StoreKey, now: datetime) -> SessionState | None:
        """The newest unexpired session for ``key`` (it stays stored), or None."""
        check_aware(now)
        with self._lock:
            states = self._valid(_normal_key(key), now)
            return states[0] if states else None

    def take(self, key: StoreKey, now: datetime) -> SessionState | None:
        """Like :meth:`get` but removes it: for single-use TLS 1.3 tickets (RFC 8446, Appendix C.4)."""
        check_aware(now)
        key = _normal_key(key)
        with self._lock:
            states = self._valid(key, now)
            if not states:
                return None
            state = states.pop(0)
            if not states:
                del self._entries[key]
            return state

    def offer(self, key: StoreKey, now: datetime) -> SessionState | None:
        """The session a new connection to ``key`` offers: the newest unexpired one. A TLS 1.3
        ticket is taken (single use, RFC 8446, Appendix C.4); a TLS 1.2 session stays."""
        check_aware(now)
        key = _normal_key(key)
        with self._lock:
            states = self._valid(key, now)
            if not states:
                return None
            state = states[0]
            if state.version == TLS13:
                states.pop(0)
                if not states:
                    del self._entries[key]
            return state

    def remove(self, key: StoreKey, state: SessionState | None = None) -> None:
        """Forget ``state`` for ``key`` (the server refused it), or every session for ``key``."""
        key = _normal_key(key)
        with self._lock:
            if state is None:
                self._entries.pop(key, None)
                return
            states = [s for s in self._entries.get(key, []) if s != state]
            if states:
                self._entries[key] = states
            else:
                self._entries.pop(key, None)

    def __len__(self) -> int:
        """The number of sessions held (over all servers)."""
        with self._lock:
            return sum(len(states) for states in self._entries.values())


def save_session(path: str | os.PathLike[str], state: SessionState) -> None:
    """Write ``state`` as PEM to ``path`` with mode 0600, atomically (a temporary file, then a rename)."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write session file {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            os.fchmod(out.fileno(), 0o600)  # mkstemp already uses 0600; say it where it matters
            out.write(state.to_pem())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ConfigError(f"cannot write session file {target}: {exc.strerror or exc}") from None


def load_session(path: str | os.PathLike[str]) -> SessionState:
    """Read a session written by :func:`save_session`; a missing or malformed file raises :class:`ConfigError`."""
    target = Path(path)
    try:
        text = target.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise ConfigError(f"session file {target} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read session file {target}: {exc.strerror or exc}") from None
    try:
        return SessionState.from_pem(text)
    except DecodeError as exc:
        raise ConfigError(f"session file {target} is not a usable glasstls session: {exc.reason}") from None


class SessionKeeper:
    """One client connection's link to its SessionStore, an event callback: each TLS 1.3 ticket's
    session put as it arrives, the session of the handshake put by keep(), and, if the connection
    then ends with a fatal alert (sent or received: a ConnectionClosed with an error), its TLS 1.2
    session taken back, since RFC 5246, Section 7.2 forbids resuming it: this process's ClientConnections
    would not offer it anyway (session.state.end_by_alert), but a store shared with other processes
    would hand it to theirs. (RFC 8446 sets no such rule for TLS 1.3 tickets, which stay.)"""

    def __init__(self, store: SessionStore, key: StoreKey, on_event: Callable[[Event], None] | None) -> None:
        self._store, self._key, self._on_event = store, key, on_event
        self._kept: list[SessionState] = []  # TLS 1.2 sessions this connection put

    def keep(self, state: SessionState) -> None:
        """The session the handshake ended with, put under the key."""
        self._store.put(self._key, state)
        if state.version == TLS12:
            self._kept.append(state)

    def __call__(self, event: Event) -> None:
        if isinstance(event, NewTicket) and isinstance(event.session, SessionState):
            self._store.put(self._key, event.session)
        elif isinstance(event, ConnectionClosed) and event.error is not None:
            for state in self._kept:
                self._store.remove(self._key, state)
            self._kept.clear()
        if self._on_event is not None:
            self._on_event(event)
