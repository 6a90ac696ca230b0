"""``glasstls server --workers N``: N worker processes serving one address, and their supervisor.

The supervisor (the process started from the command line) binds N listening
sockets to the same address with ``SO_REUSEPORT`` (Linux spreads new connections
over them by a hash of their addresses and ports; each socket has its own accept
queue) and forks one worker per socket before it reads a certificate or starts a
thread. Each worker builds its own configuration, store clients and threads, and
runs the asyncio server (io/aio_server.py) on its socket. The supervisor never
accepts: it keeps every socket open, so a socket outlives the worker that serves it
and the connections waiting in its queue are taken by the next worker rather than
reset.

* A worker that dies is restarted on the same socket, after a pause that doubles with
  each death in a row within ``QUICK_DEATH`` seconds of its start (``RESTART_PAUSE`` up
  to ``MAX_RESTART_PAUSE``), while the other workers serve. Only when no worker serves
  and every socket's worker has died before it was ready ``MAX_QUICK_DEATHS`` times in
  a row (the configuration on disk cannot serve at all) does the supervisor stop (exit 1).
* SIGTERM, SIGINT or SIGQUIT: every worker gets SIGTERM (close_notify on its connections,
  as a single server does within ``grace`` seconds); the supervisor exits 0 once they
  have. SIGUSR1 and SIGUSR2 (what logrotate sends to reopen logs) are logged and ignored:
  the log is stderr, which is not reopened.
* SIGHUP: the workers are restarted one by one: the new worker of a socket listens
  before the old one is told to retire; the old one stops accepting, lets its
  connections finish for a few seconds, then closes the rest with close_notify. A new
  worker that fails to start (a certificate file now broken) ends the restart, and
  the old workers go on serving.
* A worker that served ``--max-connections`` says so, then exits 0: it is not replaced;
  its socket is closed; the supervisor exits once no worker is left. A worker that exits
  otherwise, 0 included (a SIGTERM sent to it alone), is replaced.
* A retired worker still running ``grace`` + ``STOP_MARGIN`` seconds after it was told to
  retire is killed.
* A worker that listens sends a heartbeat every ``HEARTBEAT_EVERY`` seconds from its event
  loop; one silent for ``--worker-timeout`` seconds (a loop stuck in a call that does not
  return, a stopped process) is killed and replaced, as gunicorn's arbiter does: its socket
  would otherwise hold its share of new connections for ever.

Each worker is tied to the supervisor by a socket pair: the worker writes one byte
when it listens, and reads end of file when the supervisor closes its end (to retire
it) or dies (a worker never outlives its supervisor). See docs/design/fleet.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from ..errors import ConfigError
from ..text import printable
from .common import silence_broken_output, split_hostport, warn_secrets
from .hints import with_hint
from .server_conn import log, peer_label

READY_WAIT = 30.0  # seconds a new worker gets to listen (an --ocsp auto first fetch included)
QUICK_DEATH = 10.0  # a worker dying sooner than this after its start died quickly
MAX_QUICK_DEATHS = 3  # deaths before ready in a row on every socket, none serving: the supervisor gives up
RESTART_PAUSE = 0.1  # before a dead worker's replacement, doubled for each quick death in a row...
MAX_RESTART_PAUSE = 30.0  # ... up to this
STOP_MARGIN = 1.5  # beyond the workers' grace before a worker that did not stop is killed
HEARTBEAT_EVERY = 1.0  # seconds between a serving worker's heartbeats
WORKER_TIMEOUT = 30.0  # --worker-timeout's default: a serving worker silent this long is killed (gunicorn's)
MAX_WORKERS = 256
STOPPING = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
IGNORED = (signal.SIGUSR1, signal.SIGUSR2)  # logrotate's "reopen your logs": stderr is not reopened
TRAPPED = (*STOPPING, signal.SIGHUP, signal.SIGCHLD, *IGNORED)
READY = b"r"
DONE = b"d"  # the worker served --max-connections and is ending by itself: not to be replaced
RETIRE = b"x"  # the supervisor retires the worker (end of file without it: the supervisor died)
HEARTBEAT = b"h"  # the worker's event loop runs
_KILLED = float("inf")  # a retired worker's retire_by once it was killed


@dataclass
class WorkerSeat:
    """What a worker process gets from its supervisor: its number, its listening socket, the line back."""

    slot: int
    sock: socket.socket
    control: socket.socket
    told_to_retire: bool = False  # the supervisor said so before closing its end (else it died)

    def ready(self) -> None:
        """Tell the supervisor this worker accepts connections."""
        with contextlib.suppress(OSError):
            self.control.sendall(READY)

    def done(self) -> None:
        """Tell the supervisor this worker served --max-connections: its exit is not a death."""
        with contextlib.suppress(OSError):
            self.control.sendall(DONE)

    def watch(self, loop: asyncio.AbstractEventLoop, retire: Callable[[], None]) -> None:
        """Call ``retire`` once the supervisor closes its end of the line (or dies); until then, send a
        heartbeat every HEARTBEAT_EVERY seconds from ``loop``."""
        self.control.setblocking(False)
        beating: list[asyncio.TimerHandle] = []

        def beat() -> None:
            with contextlib.suppress(OSError):  # (a full line: the supervisor is behind, not us)
                self.control.send(HEARTBEAT)
            beating[:] = [loop.call_later(HEARTBEAT_EVERY, beat)]

        def readable() -> None:
            try:
                data = self.control.recv(64)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if RETIRE in data:
                self.told_to_retire = True
            if not data:
                loop.remove_reader(self.control)
                for handle in beating:
                    handle.cancel()
                retire()

        loop.add_reader(self.control, readable)
        beat()


@dataclass(eq=False)
class _Worker:
    slot: int
    pid: int
    control: socket.socket  # the supervisor's end
    started: float
    heard: float = 0.0  # when it last said anything (a heartbeat), monotonic
    hung: float = 0.0  # (killed for its silence) how long it had been silent
    ready: bool = False
    done: bool = False  # it said it served --max-connections
    retiring: bool = False
    retire_by: float = 0.0  # (retiring) when it is killed if it still runs
    status: int | None = None  # os.waitstatus_to_exitcode once reaped

    @property
    def name(self) -> str:
        return f"worker {self.slot} (pid {self.pid})"

    def how_it_ended(self) -> str:
        if self.status is None:
            return "is running"
        if self.hung:
            return f"was killed: no heartbeat for {self.hung:.1f} s (--worker-timeout): its event loop was stuck"
        if self.status < 0:
            try:
                return f"was killed by {signal.Signals(-self.status).name}"
            except ValueError:
                return f"was killed by signal {-self.status}"
        return f"exited with status {self.status}"


@dataclass(eq=False)
class _Slot:
    number: int
    sock: socket.socket
    worker: _Worker | None = None
    quick_deaths: int = 0  # deaths in a row, each within QUICK_DEATH of its start
    boot_failures: int = 0  # deaths in a row before ready
    restart_at: float | None = None  # when its next worker is started (a pause after a death)
    done: bool = False


@dataclass
class _Signals:
    stop: int = 0  # the signal that asked to stop (-1: the supervisor gave up), 0 before
    restart: bool = False


def bind_sockets(listen: str, count: int, backlog: int) -> list[socket.socket]:
    """``count`` listening sockets on one address with SO_REUSEPORT (port 0: the first one's port)."""
    host, port = split_hostport(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        if port:  # (another server on it, even one with SO_REUSEPORT: ours would share its connections)
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
        for _ in range(count):
            sockets.append(bind_one(family, host, port, backlog))
            port = sockets[-1].getsockname()[1]
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise ConfigError(f"cannot listen on {listen}: {exc.strerror or exc}") from None
    return sockets


def bind_one(family: int, host: str, port: int, backlog: int) -> socket.socket:
    """One more listening socket of the group (SO_REUSEPORT); OSError if it cannot be had."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def worker_exit_code(serve: Callable[[], int]) -> int:
    """Run a worker's server and turn its end into an exit status, as ``glasstls`` (cli/main.py) does."""
    try:
        return int(serve() or 0)
    except ConfigError as exc:
        # (with the worker's [worker K pid P], as its lines; a certificate's subject in it escaped)
        log(f"glasstls: {with_hint(printable(str(exc), escape_backslash=False), exc.facts)}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        silence_broken_output()
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        log(f"glasstls: {where}{exc.strerror or exc}")
        return 1
    except Exception:
        traceback.print_exc()
        return 1


class Supervisor:
    """Forks the workers, restarts them, rolls them on SIGHUP and stops them on SIGTERM."""

    def __init__(
        self, args: argparse.Namespace, serve: Callable[[WorkerSeat], int], grace: float, backlog: int
    ) -> None:
        self.args, self.serve, self.grace, self.backlog = args, serve, grace, backlog
        self.timeout = getattr(args, "worker_timeout", WORKER_TIMEOUT)  # (0: no heartbeat is awaited)
        self.slots = [_Slot(n + 1, s) for n, s in enumerate(bind_sockets(args.listen, args.workers, backlog))]
        self.address = self.slots[0].sock.getsockname()[:2]
        self.family = self.slots[0].sock.family
        self.workers: dict[int, _Worker] = {}
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.signals = _Signals()
        self.up = False  # every worker listened once
        self.code = 0

    def run(self) -> int:
        previous = self._trap_signals()
        try:
            if self._start():
                self.up = True
                self._announce()
                while not self.signals.stop and not all(slot.done for slot in self.slots):
                    self._poll(self._next_timer())
                    self._on_timers()
                    if self.signals.restart and not self.signals.stop:
                        self.signals.restart = False
                        self._roll()
            self._stop_all()
            return self.code
        finally:
            self._untrap_signals(previous)
            for slot in self.slots:
                slot.sock.close()
            self.selector.close()
            self.wake_r.close()
            self.wake_w.close()

    # -- starting -----------------------------------------------------------------------------
    def _start(self) -> bool:
        """The first worker, then the others: a configuration error is said once, not N times."""
        for group in (self.slots[:1], self.slots[1:]):
            for slot in group:
                slot.worker = self._fork(slot)
            failed = self._wait_ready([slot.worker for slot in group if slot.worker is not None])
            if failed is not None:
                if not self.signals.stop:
                    log(f"glasstls: {failed.name} {self._failure(failed)} before it was ready: stopping")
                    self.code = failed.status if failed.status is not None and failed.status > 0 else 1
                return False
        return True

    def _wait_ready(self, workers: list[_Worker]) -> _Worker | None:
        """Wait until every one of ``workers`` listens; else the first that died or was too slow."""
        deadline = time.monotonic() + READY_WAIT
        while not all(w.ready for w in workers):
            dead = next((w for w in workers if w.status is not None), None)
            left = deadline - time.monotonic()
            if dead is not None or left <= 0 or self.signals.stop:
                return dead or next(w for w in workers if not w.ready)
            self._poll(left)
        return None

    @staticmethod
    def _failure(worker: _Worker) -> str:
        return worker.how_it_ended() if worker.status is not None else f"did not listen within {READY_WAIT:g} s"

    def _announce(self) -> None:
        where = peer_label(self.slots[0].sock.getsockname())  # ([HOST]:PORT for IPv6)
        pids = ", ".join(str(slot.worker.pid) for slot in self.slots if slot.worker)
        log(f"glasstls: {len(self.slots)} workers (pids {pids}) share {where} (SO_REUSEPORT); "
            "SIGHUP restarts them one by one")  # fmt: skip
        log(f"glasstls server listening on {where}")
        warn_secrets(self.args)
        if self.args.store in ("", "memory", "memory:", "memory://"):
            log("glasstls: resumption is per worker: with the memory store each worker keeps its own TLS 1.2 "
                "sessions and ticket keys, so a client that comes back to another worker makes a full handshake "
                "(--store redis://… shares them)")  # fmt: skip
        else:
            log("glasstls: the workers share TLS 1.2 sessions, ticket keys and 0-RTT anti-replay through the store")

    def _fork(self, slot: _Slot) -> _Worker:
        ours, theirs = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        signal.pthread_sigmask(signal.SIG_BLOCK, TRAPPED)  # no handler of ours may run in the child
        try:
            pid = os.fork()
            if pid == 0:
                ours.close()
                self._child(slot, theirs)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, TRAPPED)
        theirs.close()
        worker = _Worker(slot.number, pid, ours, time.monotonic())
        self.workers[pid] = worker
        self.selector.register(ours, selectors.EVENT_READ, worker)
        log(f"glasstls: {worker.name} started")
        return worker

    def _child(self, slot: _Slot, control: socket.socket) -> NoReturn:
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGTERM, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the supervisor restarts workers; a worker ignores it
            self.selector.close()
            for sock in (self.wake_r, self.wake_w, *(s.sock for s in self.slots if s is not slot)):
                sock.close()
            for worker in self.workers.values():  # or a retired worker would never see end of file
                worker.control.close()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, TRAPPED)
            code = worker_exit_code(lambda: self.serve(WorkerSeat(slot.number, slot.sock, control)))
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os._exit(code)

    # -- events -------------------------------------------------------------------------------
    def _trap_signals(self) -> dict[int, object]:
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, None)
        previous: dict[int, object] = {-1: signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)}
        for sig in TRAPPED:
            previous[sig] = signal.signal(sig, lambda *_: None)  # the wakeup fd carries the signal's number
        return previous

    def _untrap_signals(self, previous: dict[int, object]) -> None:
        fd = previous.pop(-1)
        signal.set_wakeup_fd(fd if isinstance(fd, int) else -1)
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)  # type: ignore[arg-type]

    def _poll(self, timeout: float | None) -> None:
        """Wait for a signal or a worker's word (at most ``timeout`` seconds), then reap the dead."""
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                self._signalled()
            else:
                self._heard(key.data)
        self._reap()

    def _signalled(self) -> None:
        with contextlib.suppress(BlockingIOError):
            for number in self.wake_r.recv(256):
                if number in STOPPING and not self.signals.stop:
                    self.signals.stop = number
                    log(f"glasstls: {signal.Signals(number).name}: stopping the workers")
                elif number == signal.SIGHUP:
                    self.signals.restart = True
                elif number in IGNORED:
                    log(f"glasstls: {signal.Signals(number).name} ignored: the log is stderr, which is not "
                        "reopened (SIGHUP restarts the workers; SIGTERM stops them)")  # fmt: skip

    def _heard(self, worker: _Worker) -> None:
        try:
            data = worker.control.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if READY in data:
            worker.ready = True
        if DONE in data:
            worker.done = True
        if data:
            worker.heard = time.monotonic()
        else:  # the worker is gone or going: reaped soon
            self._hang_up(worker)

    def _hang_up(self, worker: _Worker) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(worker.control)
        worker.control.close()

    def _reap(self) -> None:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self.workers.pop(pid, None)
            if worker is not None:
                worker.status = os.waitstatus_to_exitcode(status)
                self._hang_up(worker)
                self._after_death(worker)

    def _after_death(self, worker: _Worker) -> None:
        """A worker ended: replace it (after a pause if it keeps dying), retire its socket, or give up."""
        slot = self.slots[worker.slot - 1]
        if worker.retiring:
            log(f"glasstls: {worker.name} retired ({worker.how_it_ended()})")
            return
        if self.signals.stop or not self.up or slot.worker is not worker:
            return  # stopping; or still starting, or a new worker of a restart: their waits see it
        slot.worker = None
        if worker.done and worker.status == 0:
            log(f"glasstls: {worker.name} finished (--max-connections): not replaced")
            slot.done = True
            slot.sock.close()
            return
        quick = time.monotonic() - worker.started < QUICK_DEATH
        slot.quick_deaths = slot.quick_deaths + 1 if quick else 0
        slot.boot_failures = 0 if worker.ready else slot.boot_failures + 1
        if self._cannot_serve():
            log(f"glasstls: {worker.name} {worker.how_it_ended()}: every worker died before it was ready "
                f"{MAX_QUICK_DEATHS} times in a row and none serves; giving up: stopping the server")  # fmt: skip
            self.signals.stop = -1
            self.code = 1
            return
        pause = 0.0 if slot.quick_deaths <= 1 else min(RESTART_PAUSE * 2 ** (slot.quick_deaths - 2), MAX_RESTART_PAUSE)
        slot.restart_at = time.monotonic() + pause
        later = f" in {pause:g} s ({slot.quick_deaths} quick deaths in a row)" if pause else ""
        if pause and slot.sock.fileno() != -1 and any(s.worker is not None and s.worker.ready for s in self.slots):
            # Its queue would hold connections until then: closed, they are reset, and new ones go to the
            # sockets of the workers that serve (SO_REUSEPORT); a new socket is bound for the next worker.
            slot.sock.close()
            later += "; its socket is closed until then, so that new connections go to the other workers"
        log(f"glasstls: {worker.name} {worker.how_it_ended()}; starting another{later}")
        self._on_timers()

    def _cannot_serve(self) -> bool:
        """No worker serves, and every socket's last MAX_QUICK_DEATHS workers died before they were ready."""
        serving = any(slot.worker is not None and slot.worker.ready for slot in self.slots)
        live = [slot for slot in self.slots if not slot.done]
        return not serving and all(slot.boot_failures >= MAX_QUICK_DEATHS for slot in live)

    def _next_timer(self) -> float | None:
        """Seconds to the next replacement due or retired worker to kill; None for none."""
        times = [slot.restart_at for slot in self.slots if slot.restart_at is not None]
        times += [w.retire_by for w in self.workers.values() if w.retiring and w.retire_by != _KILLED]
        times += [w.heard + self.timeout for w in self._watched()]
        return max(0.0, min(times) - time.monotonic()) if times else None

    def _watched(self) -> list[_Worker]:
        """The workers whose heartbeat is awaited: serving, not retired, not already killed for silence."""
        if not self.timeout:
            return []
        return [w for w in self.workers.values() if w.ready and not w.retiring and not w.hung and w.status is None]

    def _on_timers(self) -> None:
        """Start the replacements that are due; kill retired workers past their time."""
        now = time.monotonic()
        for slot in self.slots:
            if slot.restart_at is not None and slot.restart_at <= now and not self.signals.stop:
                slot.restart_at = None
                if slot.sock.fileno() == -1:
                    try:
                        slot.sock = bind_one(self.family, self.address[0], self.address[1], self.backlog)
                    except OSError as exc:
                        log(f"glasstls: worker {slot.number}: cannot listen again ({exc.strerror or exc}); "
                            f"trying again in {MAX_RESTART_PAUSE:g} s")  # fmt: skip
                        slot.restart_at = now + MAX_RESTART_PAUSE
                        continue
                slot.worker = self._fork(slot)
        for worker in self._watched():
            if now - worker.heard >= self.timeout:
                worker.hung = now - worker.heard  # (killed once; reaped, it is replaced as any dead worker)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
        for worker in list(self.workers.values()):
            if worker.retiring and worker.retire_by <= now and worker.status is None:
                worker.retire_by = _KILLED  # (once)
                log(f"glasstls: {worker.name} did not retire within {self.grace + STOP_MARGIN:g} s: killed")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)

    # -- SIGHUP and SIGTERM ---------------------------------------------------------------------
    def _roll(self) -> None:
        """A new worker per socket, each listening before the one it replaces retires."""
        log("glasstls: SIGHUP: restarting the workers one by one")
        for slot in self.slots:
            if slot.done or self.signals.stop or slot.restart_at is not None:
                continue  # (a slot waiting to replace a dead worker gets its new one then, from the files as they are)
            new = self._fork(slot)
            if self._wait_ready([new]) is not None:
                if not self.signals.stop:
                    log(f"glasstls: SIGHUP: the new {new.name} {self._failure(new)}; the workers that serve go on")
                self._retire(new)
                if new.status is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(new.pid, signal.SIGTERM)
                return
            old, slot.worker = slot.worker, new
            if old is not None:
                self._retire(old)
                log(f"glasstls: worker {slot.number}: pid {new.pid} serves, pid {old.pid} retires "
                    "(it finishes its connections)")  # fmt: skip
        log("glasstls: SIGHUP: every worker was restarted")

    def _retire(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.control.sendall(RETIRE)  # (then end of file: told, not orphaned)
        worker.retiring = True
        worker.retire_by = time.monotonic() + self.grace + STOP_MARGIN  # (a hung one is killed then)
        self._hang_up(worker)  # end of file on its side

    def _stop_all(self) -> None:
        """SIGTERM to every worker, then wait for them (killing those past the grace)."""
        for worker in list(self.workers.values()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.grace + STOP_MARGIN
        while self.workers and (left := deadline - time.monotonic()) > 0:
            self._poll(left)
        for worker in list(self.workers.values()):
            log(f"glasstls: {worker.name} did not stop within {self.grace + STOP_MARGIN:g} s: killed")
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker.pid, 0)
            self.workers.pop(worker.pid, None)
            self._hang_up(worker)


def supervise(args: argparse.Namespace, serve: Callable[[WorkerSeat], int], grace: float, backlog: int) -> int:
    """Run ``serve(seat)`` in ``args.workers`` forked processes until SIGTERM/SIGINT; SIGHUP rolls them."""
    if not 1 <= args.workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be 1 to {MAX_WORKERS}, not {args.workers}")
    return Supervisor(args, serve, grace, backlog).run()
