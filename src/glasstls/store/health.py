"""Whether the shared store answers, and the one log line when that changes.

Every call to the store goes through :meth:`StoreHealth.call`. A call that fails
(connection refused, reset, past its deadline, a malformed answer) marks the store
down: the failure is logged once ("store down"), and from then on no call is made at all
(each answers "store down" at once, so a dead or slow store costs one handshake
one deadline, not every handshake). With a ``probe`` (the Redis stores pass a write:
a Redis whose writes are paused for a failover answers PING but not the handshakes),
a thread of its own tries the store every ``retry_after`` seconds, off the
handshakes' path; without one, the first call after ``retry_after`` seconds is the
probe. The first probe or call that succeeds marks the store up again and logs that
once ("store back"). The callers turn "store down" into the safe answer: no
resumption from the store, 0-RTT refused, the server serving on.

An error reply (``refusals``: Redis full, read-only, paused for a failover, a value
of another type under a key) is the store's answer to that one call, not a sign it
is down (a probe by PING would answer at once and the store would flap down and
back): that call gets the safe answer (:class:`StoreRefused`), and each kind of
refusal is logged at most once a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ..text import printable

T = TypeVar("T")

RETRY_AFTER = 1.0  # seconds between probes of a store that is down

_logger = logging.getLogger("glasstls.store")


def default_log(line: str) -> None:
    _logger.warning("%s", line)


class _Malformed(Exception):
    """An answer of a type the call cannot use."""


# The store's text in a log line: escaped (an error reply is the store's to choose, control bytes
# and all) and cut short (one garbage reply made a 180 KB line; workers share stderr in 4 KiB writes).
_MAX_SHOWN = 300


def _shown(exc: BaseException) -> str:
    text = printable(str(exc)) or type(exc).__name__
    return text if len(text) <= _MAX_SHOWN else f"{text[:_MAX_SHOWN]}… ({len(text)} characters)"


class StoreDown(Exception):
    """The store did not answer (or is known to be down): the caller gives the safe answer."""


class StoreRefused(StoreDown):
    """The store answered this call with an error (full, read-only, a value of another type under
    the key ...): the caller gives the safe answer, and the store is not down for that."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # the store's error, escaped and cut short


# Seconds between two log lines about refusals of one kind (the error's class: OutOfMemoryError, ReadOnlyError ...).
REFUSAL_LOG_INTERVAL = 60.0


class StoreHealth:
    """Up or down, for one store; thread-safe."""

    def __init__(
        self,
        label: str,
        log: Callable[[str], None] | None = None,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
        probe: Callable[[], object] | None = None,
        refusals: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.label = label
        self._log = log or default_log
        self.retry_after = retry_after
        self._clock = clock
        self._probe = probe
        self._refusals = refusals  # errors that are the store's answer to one call (redis.ResponseError)
        self._refusals_logged: dict[str, float] = {}  # kind → when last logged
        self._prober: threading.Thread | None = None  # (None again once it has decided to stop, under the lock)
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_probe = 0.0
        self.failures = 0  # calls that failed, for tests and statistics
        self.last_failure: BaseException | None = None  # what the last call that failed raised

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def call(self, fn: Callable[[], T], expect: tuple[type, ...] | None = None) -> T:
        """``fn()``, or :class:`StoreDown` when the store is down (not called) or ``fn`` fails, or its
        answer is not of a type in ``expect`` (a store that speaks the protocol wrongly)."""
        if not self._may_call():
            raise StoreDown(f"{self.label}: down")
        try:
            result = fn()
            if expect is not None and not isinstance(result, expect):
                wanted = " or ".join(t.__name__ for t in expect)
                raise _Malformed(f"the store answered a {type(result).__name__} where a {wanted} was expected")
        except self._refusals as exc:
            self._succeeded()  # (it answered)
            reason = f"{type(exc).__name__}: {_shown(exc)}"  # (redis-py's class names what the reply's code did)
            self._refused(type(exc).__name__, reason)
            raise StoreRefused(f"{self.label}: refused: {reason}", reason) from exc
        except Exception as exc:  # the client's errors, and what malformed answers make a client library raise
            self._failed(exc)
            raise StoreDown(f"{self.label}: {_shown(exc)}") from exc
        self._succeeded()
        return result

    def _may_call(self) -> bool:
        with self._lock:
            if self._down_since is None:
                return True
            if self._probe is not None:
                return False  # the prober thread says when it is back
            now = self._clock()
            if now < self._next_probe:
                return False
            self._next_probe = now + self.retry_after  # one probe at a time
            return True

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self.failures += 1
            self.last_failure = exc
            now = self._clock()
            self._next_probe = now + self.retry_after
            if self._down_since is not None:
                return
            self._down_since = now
            if self._probe is not None and self._prober is None:
                self._prober = threading.Thread(target=self._probing, name="glasstls store probe", daemon=True)
                self._prober.start()
        reason = _shown(exc)
        self._log(
            f"glasstls: store down: {self.label} ({reason}): resumption falls back to full handshakes, "
            f"0-RTT is refused, until it answers again"
        )

    def _probing(self) -> None:
        """The prober thread: every ``retry_after`` seconds, until the store answers."""
        assert self._probe is not None
        while True:
            with self._lock:  # (decided under the lock: a failure meanwhile then starts another prober)
                if self._down_since is None:
                    self._prober = None
                    return
            time.sleep(self.retry_after)
            try:
                self._probe()
            except self._refusals:
                pass  # an error reply (a full Redis refusing the probe's write): it answers
            except Exception:  # any other failure of the probe: still down
                with self._lock:
                    self.failures += 1
                continue
            self._succeeded()

    def _refused(self, kind: str, text: str) -> None:
        """One log line per kind of refusal and REFUSAL_LOG_INTERVAL: a full Redis refuses every write."""
        with self._lock:
            self.failures += 1
        if self._due(kind):
            self._log(
                f"glasstls: store refused a call: {self.label} ({text}): that call gets the safe answer (a full "
                f"handshake, no 0-RTT); said once per {REFUSAL_LOG_INTERVAL:.0f} s"
            )

    def note(self, kind: str, text: str) -> None:
        """Log ``text`` about this store, once per ``kind`` and REFUSAL_LOG_INTERVAL (a bound that is
        hit on every handshake is said once a minute, not once a handshake)."""
        if self._due(kind):
            self._log(f"glasstls: {self.label}: {text}; said once per {REFUSAL_LOG_INTERVAL:.0f} s")

    def _due(self, kind: str) -> bool:
        now = self._clock()
        with self._lock:
            last = self._refusals_logged.get(kind)
            if last is not None and now - last < REFUSAL_LOG_INTERVAL:
                return False
            self._refusals_logged[kind] = now
            return True

    def _succeeded(self) -> None:
        with self._lock:
            since = self._down_since
            if since is None:
                return
            self._down_since = None
            down_for = self._clock() - since
        self._log(f"glasstls: store back: {self.label} answers again (down for {down_for:.1f} s)")
