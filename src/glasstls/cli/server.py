"""``glasstls server``: echo what each connection sends, or, with ``--www``,
answer an HTTP GET with a page describing the connection (like
``openssl s_server -www``).

Connections are served concurrently by the asyncio server (io/aio_server.py): at most
``--concurrency`` at once (more wait in the listen backlog), each handshake
within ``--handshake-timeout``, each connection closed after ``--idle-timeout``
of silence. SIGINT and SIGTERM stop accepting, send close_notify on every open
connection and exit 0 within ``SHUTDOWN_GRACE`` seconds. One connection's
failure, in TLS, in HTTP or in a trace renderer, ends that connection with an
alert and one log line; the server goes on (docs/design/serving.md).

``--trace[=full|json]``, ``--explain`` and ``--show-secrets`` print each
connection's trace to stdout (the server's own messages stay on stderr, so a
JSON trace can be piped as is); ``--keylog FILE`` (or SSLKEYLOGFILE) appends
the NSS key log of every connection. A failed handshake is reported on stderr
with its diagnosis: the step, the alert, the reason and the likely fix.

``--store redis://HOST:PORT/DB --store-key FILE`` shares TLS 1.2 sessions, the
session-ticket keys and the 0-RTT anti-replay memory with every server given the
same URL and key, so a client resumes at any of them and a replayed 0-RTT flight is
refused by all (glasstls.store, docs/design/fleet.md); by default they live in this
process's memory.

``--workers N`` serves from N forked processes sharing the address through
``SO_REUSEPORT``, supervised: a worker that dies is restarted, SIGHUP restarts them one
by one without refusing a connection, SIGTERM stops them all (cli/workers.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import resource
import signal
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..io.aio_server import TLSServer, start_server
from ..text import exception_text, printable
from .common import (
    add_common_options,
    add_psk_options,
    add_trace_options,
    check_illustrate,
    check_output_file,
    open_keylog,
    server_config,
    split_hostport,
    trace_mode,
    warn_secrets,
)
from .diagram import DIAGRAM_HELP, new_sequence_diagram
from .server_conn import REQUEST_HEAD_DEADLINE, ConnectionLog, log, peer_label, serve_echo, serve_www, set_worker
from .workers import MAX_WORKERS, WORKER_TIMEOUT, WorkerSeat, supervise

if TYPE_CHECKING:
    from ..config import ServerConfig
    from ..observe import Observer
    from ..trace.keylog import KeyLog

HANDSHAKE_TIMEOUT = 10.0  # seconds for the whole handshake (a deadline, not per read)
IDLE_TIMEOUT = 60.0  # seconds without a byte from the client before we close
CONCURRENCY = 4096  # connections open at once; more wait in the listen backlog
BACKLOG = 4096  # the kernel caps it at net.core.somaxconn
SHUTDOWN_GRACE = 5.0  # seconds open connections get to close after SIGINT/SIGTERM
RETIRE_CLOSE = 1.0  # of SHUTDOWN_GRACE, what a retiring worker keeps for close_notify after its drain
AUTO_FIRST_FETCH = 6.0  # seconds --ocsp auto waits for its first fetch before listening (one fetch's deadline)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("server", help="run a TLS server (echo, or --www)")
    p.add_argument("--listen", default="127.0.0.1:4433", help="HOST:PORT to listen on (default 127.0.0.1:4433)")
    p.add_argument("--cert", action="append", default=[], help="certificate chain PEM (leaf first)")
    p.add_argument("--key", action="append", default=[], help="private key PEM for --cert")
    p.add_argument(
        "--ocsp",
        metavar="FILE|auto",
        action="append",
        default=[],
        help="DER OCSP response to staple (openssl ocsp -respout, glasstls ca ocsp) for the --cert of the same "
        "position: the first --ocsp for the first --cert, and so on; reloaded when the file changes. 'auto': "
        "fetch it from the OCSP URL in the certificate, refreshed half way to nextUpdate (one 'auto' alone: "
        "every --cert)",
    )
    p.add_argument(
        "--ocsp-retry",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="--ocsp auto: seconds between fetches while the responder fails (default 60)",
    )
    p.add_argument("--www", action="store_true", help="answer HTTP GET with a page about the connection")
    p.add_argument(
        "--max-connections",
        type=int,
        default=0,
        help="exit after this many connections (0: never); with --workers, each worker serves this many, is not "
        "replaced, and the server exits when every worker has",
    )
    p.add_argument(
        "--unknown-name",
        choices=("default", "refuse"),
        default="default",
        help="a server name no certificate carries: serve the first chain, or refuse (unrecognized_name)",
    )
    _add_serving_options(p)
    _add_session_options(p)
    _add_store_options(p)
    _add_client_auth_options(p)
    add_common_options(p)
    add_psk_options(p)
    add_trace_options(p)
    p.add_argument(
        "--illustrate",
        metavar="FILE.html",
        help="write each connection as one self-contained, explained HTML page: FILE-1.html, FILE-2.html, … "
        "(secret values only with --show-secrets)",
    )
    p.add_argument("--diagram", metavar="FILE.svg|FILE.mmd", help=DIAGRAM_HELP + ": FILE-1.svg, FILE-2.svg, …")
    p.set_defaults(run=run)


def _add_serving_options(p: argparse.ArgumentParser) -> None:
    """What one server spends on its clients: how many at once, for how long."""
    p.add_argument(
        "--concurrency",
        type=int,
        default=CONCURRENCY,
        metavar="N",
        help=f"most connections open at once (per worker); more wait in the backlog (default {CONCURRENCY})",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="serve from N processes sharing the address (SO_REUSEPORT), restarted when they die; SIGHUP "
        "restarts them one by one; resumption is per worker unless --store shares it (default 0: this process)",
    )
    p.add_argument(
        "--worker-timeout",
        type=float,
        default=WORKER_TIMEOUT,
        metavar="S",
        help="with --workers: a worker whose event loop sends no heartbeat for S seconds (stuck) is killed and "
        f"replaced (default {WORKER_TIMEOUT:g}; 0: never)",
    )
    p.add_argument(
        "--handshake-timeout",
        type=float,
        default=HANDSHAKE_TIMEOUT,
        metavar="S",
        help=f"deadline for each whole handshake, in seconds (default {HANDSHAKE_TIMEOUT:g})",
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=IDLE_TIMEOUT,
        metavar="S",
        help=f"close a connection silent this long, in seconds; 0: never (default {IDLE_TIMEOUT:g})",
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=REQUEST_HEAD_DEADLINE,
        metavar="S",
        help=f"--www: deadline for the whole request head after the handshake, in seconds; then 408 "
        f"(default {REQUEST_HEAD_DEADLINE:g})",
    )


def _add_session_options(p: argparse.ArgumentParser) -> None:
    """Resumption, TLS 1.3 0-RTT and the stateless HelloRetryRequest."""
    p.add_argument("--no-tickets", action="store_true", help="do not issue TLS 1.2 session tickets (session IDs only)")
    p.add_argument(
        "--tickets",
        type=int,
        metavar="N",
        help="TLS 1.3 session tickets sent after each full handshake (one after a resumption); default 2, 0: none",
    )
    p.add_argument(
        "--early-data",
        dest="max_early_data",
        type=int,
        default=0,
        metavar="N",
        help="accept TLS 1.3 0-RTT early data, up to N bytes per connection (max_early_data_size, announced in "
        "the tickets; default 0: off). Early data can be replayed: --www answers unsafe methods in it with 425",
    )
    p.add_argument(
        "--stateless-hrr",
        action="store_true",
        help="TLS 1.3: put a sealed cookie into each HelloRetryRequest and keep nothing of the first "
        "ClientHello until the client echoes it (RFC 8446, Section 4.2.2)",
    )


def _add_store_options(p: argparse.ArgumentParser) -> None:
    """Where sessions, ticket keys and the 0-RTT anti-replay memory live (issue 14, docs/design/fleet.md)."""
    g = p.add_argument_group("sharing resumption with other servers")
    g.add_argument(
        "--store",
        metavar="URL",
        default="memory",
        help="where TLS 1.2 sessions, ticket keys and the 0-RTT anti-replay memory live: 'memory' (this process, "
        "the default) or redis://[USER:PASSWORD@]HOST:PORT/DB (rediss:// for TLS, options such as ssl_ca_certs= "
        "in the query string), shared by every server given the same URL and --store-key",
    )
    g.add_argument(
        "--store-key",
        metavar="FILE",
        help="the key that seals what the servers keep in the store (32 random bytes as hex, e.g. "
        "`openssl rand -hex 32`; more lines: older keys that still open); the same file on every server",
    )
    g.add_argument(
        "--store-max-sessions",
        type=int,
        metavar="N",
        help="how many TLS 1.2 sessions the session cache holds at most (default 1024 in memory, 100000 in a "
        "shared store); beyond it the ones that would end first are forgotten",
    )
    g.add_argument(
        "--ticket-key-rotation",
        type=int,
        default=3600,
        metavar="S",
        help="seconds a session-ticket key seals tickets before the next one takes over (default 3600)",
    )
    g.add_argument(
        "--ticket-key-grace",
        type=int,
        default=7200,
        metavar="S",
        help="seconds a replaced ticket key still opens tickets (default 7200, the tickets' lifetime)",
    )


def _with_store(args: argparse.Namespace, config: ServerConfig) -> ServerConfig:
    """--store, --store-key and the ticket-key rotation: the three stores of ``config``."""
    if args.store_key and args.store in ("memory", ""):
        raise ConfigError("--store-key seals what a shared store keeps: give it with --store redis://…")
    if args.store_max_sessions is not None and args.store_max_sessions < 1:
        raise ConfigError(f"--store-max-sessions must be at least 1, not {args.store_max_sessions}")
    default_rotation = (args.ticket_key_rotation, args.ticket_key_grace) == (3600, 7200)
    if args.store == "memory" and default_rotation and args.store_max_sessions is None:
        return config
    return config.with_store(
        args.store,
        args.store_key,
        rotate_after=args.ticket_key_rotation,
        accept_for=args.ticket_key_grace,
        log=log,
        max_sessions=args.store_max_sessions,
    )


def _announce_store(config: ServerConfig) -> None:
    """One line on a shared store, and a first sync of the ticket keys (a store down says so now)."""
    from datetime import UTC, datetime

    keys = config.ticket_keys
    if keys.source == "memory":
        return
    label = getattr(keys, "label", keys.source)
    log(f"glasstls: store {label}: sessions, ticket keys and 0-RTT anti-replay shared with every server using it")
    sync = getattr(keys, "sync", None)
    if callable(sync):
        sync(datetime.now(UTC))
    refused = getattr(keys, "credentials_refused", None)
    if refused:  # (a store that is down is waited for; credentials it refuses would be refused for ever)
        raise ConfigError(
            f"the store {label} refused the credentials of its URL ({printable(refused)}): give the right "
            "user and password in --store redis://USER:PASSWORD@HOST:PORT/DB"
        )
    unreadable = getattr(keys, "unreadable", "")
    if unreadable:  # (the fleet's keys, sealed under another --store-key: no ticket of theirs opens here)
        log(
            f"glasstls: store {label}: {unreadable}: this server issues no tickets and resumes none of the "
            "fleet's until it has the fleet's --store-key"
        )


def _add_client_auth_options(p: argparse.ArgumentParser) -> None:
    """Client certificates: whether to ask, whom to trust, how to check revocation."""
    p.add_argument("--client-ca", metavar="FILE", help="PEM file of CAs trusted for client certificates")
    p.add_argument(
        "--verify-client",
        choices=("none", "optional", "required"),
        default=None,
        help="ask for a client certificate (default: required when --client-ca is given)",
    )
    p.add_argument(
        "--client-crl",
        metavar="FILE",
        action="append",
        default=[],
        help="CRL file (PEM or DER) to look client certificates up in; may be given more than once",
    )
    p.add_argument(
        "--client-revocation",
        choices=("soft", "hard"),
        default="soft",
        help="a client certificate with no current CRL of its issuer: accept it (soft, the default) or refuse it",
    )


def run(args: argparse.Namespace) -> int:
    if not args.workers:
        return _serve(args)
    _check_numbers(args)  # before any fork: said once
    trace_mode(args)
    return supervise(args, lambda seat: _serve(_as_worker(args, seat)), SHUTDOWN_GRACE, BACKLOG)


def _as_worker(args: argparse.Namespace, seat: WorkerSeat) -> argparse.Namespace:
    """In a forked worker: its log lines and pages name it, and it serves the supervisor's socket."""
    set_worker(seat.slot)
    return argparse.Namespace(**{**vars(args), "worker_seat": seat})


def _serve(args: argparse.Namespace) -> int:
    if "auto" not in args.ocsp:
        return _run(args, server_config(args))
    config = _with_auto_staples(args)
    sources = [c.ocsp for c in config.certificates if c.ocsp is not None]
    try:
        for source in sources:  # the first fetch, before the first client: its handshake gets the staple
            source.wait_first(AUTO_FIRST_FETCH)
        return _run(args, config)
    finally:
        for source in sources:
            source.stop()


def _with_auto_staples(args: argparse.Namespace) -> ServerConfig:
    """--ocsp auto: a StapleSource.from_responder per --cert in an 'auto' position (or every one), started."""
    from datetime import timedelta

    from ..x509.stapling import StapleSource

    if not 0 < args.ocsp_retry <= 86400:
        raise ConfigError(f"--ocsp-retry must be above 0 and at most 86400 seconds, not {args.ocsp_retry:g}")
    wanted = list(args.ocsp)
    config = server_config(argparse.Namespace(**{**vars(args), "ocsp": []}))  # the files too are set below
    certificates = list(config.certificates)
    if len(wanted) > len(certificates):
        raise ConfigError(f"{len(wanted)} --ocsp for {len(certificates)} --cert: each --ocsp goes with one --cert")
    retry, online = timedelta(seconds=args.ocsp_retry), []
    for index, certified in enumerate(certificates):
        choice = "auto" if wanted == ["auto"] else (wanted[index] if index < len(wanted) else None)
        if choice == "auto":
            source = StapleSource.from_responder(certified.chain, retry_after=retry, log=log, start=False)
            certificates[index] = certified.with_ocsp(source)
            online.append(source)
        elif choice is not None:
            certificates[index] = certified.with_ocsp_file(choice)
    for source in online:  # only once every --cert was accepted: no thread left behind by a ConfigError
        source.start()
    return dataclasses.replace(config, certificates=tuple(certificates))


def _run(args: argparse.Namespace, config: ServerConfig) -> int:
    config = _with_store(args, config)
    if args.max_early_data:
        config = dataclasses.replace(config, max_early_data_size=args.max_early_data)
    if args.stateless_hrr:
        config = dataclasses.replace(config, stateless_hrr=True)
    trace_mode(args)  # a bad --trace fails now, not at the first connection
    _check_numbers(args)
    new_sequence_diagram(args.diagram)  # a --diagram not .svg or .mmd, or files that cannot be written, fail now too
    check_output_file(args.diagram, "--diagram")
    check_illustrate(args.illustrate)
    keylog = open_keylog(args)
    try:
        return asyncio.run(_Server(args, config, keylog).main())
    finally:
        if keylog is not None:
            keylog.close()


def _check_numbers(args: argparse.Namespace) -> None:
    if args.max_connections < 0:
        raise ConfigError(f"--max-connections must be 0 (no limit) or more, not {args.max_connections}")
    if args.concurrency < 1:
        raise ConfigError(f"--concurrency must be 1 or more, not {args.concurrency}")
    if not args.handshake_timeout > 0:
        raise ConfigError(f"--handshake-timeout must be above 0 seconds, not {args.handshake_timeout:g}")
    if not 0 <= args.max_early_data <= 0xFFFFFFFF:
        raise ConfigError(f"--early-data must be 0 (off) to 2^32-1 bytes, not {args.max_early_data}")
    if not args.request_timeout > 0:
        raise ConfigError(f"--request-timeout must be above 0 seconds, not {args.request_timeout:g}")
    if args.idle_timeout < 0:
        raise ConfigError(f"--idle-timeout must be 0 (never) or more seconds, not {args.idle_timeout:g}")
    if not 0 <= args.workers <= MAX_WORKERS:
        raise ConfigError(f"--workers must be 0 (this process) to {MAX_WORKERS}, not {args.workers}")
    if not args.worker_timeout >= 0:
        raise ConfigError(f"--worker-timeout must be 0 (never) or more seconds, not {args.worker_timeout:g}")


def _hangup_ignored() -> None:
    """SIGHUP to a single server: said and ignored (its default action ended the server at once, with
    connections open); --workers restarts workers on it, and SIGTERM stops."""
    log("glasstls: SIGHUP ignored: a single server does not restart (--workers N restarts its workers on SIGHUP; "
        "SIGTERM stops)")  # fmt: skip


def _raise_file_limit(wanted: int) -> None:
    """Each connection is a file descriptor: lift the soft limit toward the hard one, and say so once if
    --concurrency cannot fit in it (as nginx warns of worker_connections over the open file limit):
    accept() would fail with EMFILE under load instead."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + 64 if hard == resource.RLIM_INFINITY else min(hard, wanted + 64)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < wanted + 64:
        log(f"glasstls: --concurrency {wanted} connections need about {wanted + 64} file descriptors and the "
            f"limit is {soft}: connections past that wait or fail in accept(); raise it (ulimit -n) or give a "
            f"lower --concurrency")  # fmt: skip


class _Server:
    """The listening socket, the connections' numbers and logs, and the way out."""

    def __init__(self, args: argparse.Namespace, config: ServerConfig, keylog: KeyLog | None) -> None:
        self.args, self.config, self.keylog = args, config, keylog
        self.logs: dict[Any, ConnectionLog] = {}
        self.count = 0
        self.stop = asyncio.Event()
        self.hurry = asyncio.Event()  # a second signal: no drain
        self.retiring = False
        self.seat: WorkerSeat | None = getattr(args, "worker_seat", None)
        self.trace_reader_gone = False
        self.server: TLSServer | None = None

    async def main(self) -> int:
        listener = self.seat.sock if self.seat is not None else self._listen()
        _raise_file_limit(self.args.concurrency)
        server = await start_server(
            self._connected,
            config=self.config,
            sock=listener,
            handshake_timeout=self.args.handshake_timeout,
            idle_timeout=self.args.idle_timeout or None,
            max_connections=self.args.concurrency,
            observer_factory=self._new_connection,
            on_handshake_error=self._handshake_failed,
            backlog=BACKLOG,
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # before the line that says we are up
            loop.add_signal_handler(sig, self._signalled)
        if self.seat is None:  # (a worker ignores SIGHUP: restarting it is its supervisor's)
            loop.add_signal_handler(signal.SIGHUP, _hangup_ignored)
        if self.seat is None:
            bound = listener.getsockname()
            log(f"glasstls server listening on {peer_label(bound)}")  # ([HOST]:PORT for IPv6)
            warn_secrets(self.args)  # after the line other tools wait for
        else:  # the supervisor says both, once
            self.seat.watch(loop, self._retire)
        _announce_store(self.config)
        if self.seat is not None:
            self.seat.ready()
        self.server = server
        try:
            # Until a signal (or a gone trace reader), or --max-connections served and done.
            waits = {loop.create_task(self.stop.wait()), loop.create_task(server.wait_closed())}
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            if self.seat is not None and not self.stop.is_set():  # --max-connections served: not a death
                self.seat.done()
        finally:
            if self.retiring:
                await self._drain(server)
            await server.shutdown(RETIRE_CLOSE if self.retiring else SHUTDOWN_GRACE)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
        if self.trace_reader_gone:
            raise BrokenPipeError("the trace's reader went away")  # cli.main: stop quietly
        return 0

    def _signalled(self) -> None:
        """SIGINT or SIGTERM: stop; a second one (or one while a retiring worker drains): stop now."""
        if self.stop.is_set():
            self.hurry.set()
        self.stop.set()

    def _retire(self) -> None:
        """The supervisor replaced this worker (SIGHUP) or went away: stop accepting, let connections finish."""
        if self.seat is not None and not self.seat.told_to_retire:  # (its end closed unasked: it died)
            log("glasstls: the supervisor is gone: this worker retires")
        self.retiring = True
        self.stop.set()

    async def _drain(self, server: TLSServer) -> None:
        """A retiring worker: no new connections; those open get what is left of SHUTDOWN_GRACE to end by
        themselves (handshakes complete, requests answered) before close_notify ends the rest."""
        server.close()
        log(f"glasstls: retiring: accepting no more; {server.active_connections} open connection(s) may finish")
        waits = {asyncio.ensure_future(server.wait_closed()), asyncio.ensure_future(self.hurry.wait())}
        drain = SHUTDOWN_GRACE - RETIRE_CLOSE
        _, pending = await asyncio.wait(waits, timeout=drain, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()

    def _listen(self) -> socket.socket:
        host, port = split_hostport(self.args.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError as exc:  # a port in use is the user's to fix, not a traceback
            listener.close()
            raise ConfigError(f"cannot listen on {self.args.listen}: {exc.strerror or exc}") from None
        listener.listen(BACKLOG)
        return listener

    # -- the callbacks of start_server -------------------------------------------------------
    def _new_connection(self, peer: Any) -> Observer | None:
        """A connection was accepted: number it and give it its observers."""
        self.count += 1
        if self.args.max_connections and self.count >= self.args.max_connections and self.server is not None:
            self.server.close()  # serve this one and those open, accept no more
        conn_log = ConnectionLog(self.count, peer, self.args, self.keylog)
        self.logs[peer] = conn_log
        return conn_log.observer

    def _handshake_failed(self, peer: Any, exc: BaseException) -> None:
        conn_log = self.logs.pop(peer, None)
        if conn_log is None:
            log(f"glasstls: handshake with {peer_label(peer)} failed: {printable(str(exc), escape_backslash=False)}")
            return
        self._guarded(conn_log.handshake_failed, exc)
        self._guarded(conn_log.save_pictures)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        conn_log = self.logs.pop(peer, None) or ConnectionLog(0, peer, self.args, None)
        self._guarded(conn_log.connected, writer.get_extra_info("glasstls"))
        error: BaseException | None = None
        try:
            if self.args.www:
                await serve_www(reader, writer, conn_log.early.received, self.args.request_timeout)
            else:
                await serve_echo(reader, writer)
        except Exception as exc:
            error = exc
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._guarded(conn_log.ended, error)
            self._guarded(conn_log.save_pictures)

    def _guarded(self, fn: Callable[..., object], *args: object) -> None:
        """Log output that cannot fail the server: a gone trace reader stops it quietly."""
        try:
            fn(*args)
        except BrokenPipeError:
            self.trace_reader_gone = True
            self.stop.set()
        except Exception as exc:
            log(f"glasstls: cannot log a connection: {exception_text(exc)}")
