"""glasstls against Python's ssl (OpenSSL) and tlslite-ng, measured in one run.

    .venv/bin/python bench/bench.py [--seconds 2] [--rounds 4] [--warmup S] [--no-tlslite] [--quick] [--json FILE]
    .venv/bin/python bench/bench.py --profile | --profile-tls12


The metrics, each stack measured the same way, client and server in one
process, bytes moved in memory (no sockets, no threads):

* full TLS 1.3 handshakes per second: X25519, an ECDSA P-256 server
  certificate under a throwaway root and intermediate, the client verifying
  the chain and the host name (tlslite-ng cannot: it has no X.509 path
  validation, so it only checks the CertificateVerify signature);
* TLS 1.3 bulk MB/s (10^6 bytes): 16 KiB writes on one connection, counting
  the bytes the peer decrypted, with TLS_AES_128_GCM_SHA256 and with
  TLS_CHACHA20_POLY1305_SHA256, each from client to server (the row without
  a direction) and from server to client ("s->c");
* full TLS 1.2 handshakes per second: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  with X25519 and an RSA-2048 server certificate under the same root, the
  client verifying as above, the extended master secret on (RFC 7627);
* TLS 1.2 session-ID resumptions per second (RFC 5246, Section 7.4.1.2): the
  client offers the session of one earlier full handshake and the server finds
  it in its session cache; no certificate, no key exchange, no signature. Every
  resumption is checked to have really resumed, and then both sides send
  close_notify: OpenSSL drops a session from the server's cache, and marks it
  not resumable on the client, when an SSL object that used it is freed without
  having sent one (``ssl_clear_bad_session``), so the ssl peers must; the other
  two stacks do the same and pay for the same two records;
* TLS 1.3 resumptions per second (RFC 8446, Section 2.2): the client offers a
  ticket of one earlier full handshake with psk_dhe_ke (a fresh X25519
  exchange, no certificate), each resumption checked to have resumed, its
  client reading the new tickets, then close_notify from both sides as above.
  The servers of this metric alone issue tickets, two per full handshake;
* memory: bytes per idle established connection, for the client+server pair
  and for each side alone. One subprocess per stack and side (``--memory-worker``)
  makes N TLS 1.3 connections as the handshake metric does (no tickets), each
  followed by one 64-byte echo each way, and keeps the side's objects of every
  one (glasstls: the Connection; ssl: the SSLObject and its two MemoryBIOs, the
  sans-I/O equivalent; tlslite-ng: the TLSConnection and its in-memory socket),
  dropping the other side. Its resident set (/proc/self/statm) is read after a
  warm-up of a few connections and again after the N, each time after
  ``gc.collect()`` and glibc's ``malloc_trim(0)`` (so freed memory is not
  counted); the difference over N is the figure. RSS sees what OpenSSL
  allocates in C, which tracemalloc does not. N is 2,000 for glasstls and ssl,
  200 for tlslite-ng (slower by two orders of magnitude), far fewer with
  ``--quick``. It is one measurement, not rounds: its spread is not known;
* the crypto floor (``floor.py``, whose module doc lists what it includes):
  the cryptographic calls of one handshake (or of one 16 KiB record) made
  directly from Python, timed as a fourth stack in the same rounds. It is
  printed beside each handshake and bulk figure, and each stack's rate over
  the floor's is the share of its time spent in cryptography.

Python 3.11's ssl has no API for the TLS 1.3 suites (there is no
``SSLContext.set_ciphersuites``) and OpenSSL's default order puts
TLS_AES_256_GCM_SHA384 first, so this script points OPENSSL_CONF at a file
restricting the suites to TLS_AES_128_GCM_SHA256 and the groups to X25519
*before* ``ssl`` is imported, and checks what was negotiated. The ChaCha20 rows
need the other suite pinned, which OpenSSL reads once per process: they are
measured by a second run of this script (``--chacha-worker``, the three stacks
and the floor in interleaved rounds there too) whose numbers join this one's.
Servers send no session tickets but for the TLS 1.3 resumption metric
(OpenSSL's ``num_tickets`` = 0 and ``OP_NO_TICKET``, glasstls's
``tls13_tickets=0`` and ``session_tickets=False``, tlslite-ng's ``ticket_count``
= 0), so a TLS 1.3 handshake is the same work for all three and TLS 1.2
resumption goes by session ID. Each TLS 1.2 metric has its own server session
cache, so the full handshakes cannot evict the session being resumed.

Two more rows are glasstls's alone: TLS 1.3 handshakes with a text trace
attached to both connections (``TextTrace``, one line per record and message),
and with the fullest trace there is (``full=True, explain=True``: every field
with byte offsets, and the plain-words explanations), the text written to a
stream that discards it. They are timed in the same interleaved rounds as the
untraced TLS 1.3 handshakes and printed with the ratio traced/untraced, per
round and of the medians. The untraced rows run with the renderers imported
and no observer attached, so they show that a trace costs nothing to a
connection that does not ask for one; the traced rows show what one costs.

``--json FILE`` writes every number: per metric and stack the median, the
lowest and highest round, each round, the operations timed; the ratios
glasstls/ssl and glasstls/tlslite-ng of the medians and of each round; the
floor and each stack's rate over it; the memory readings; what each stack
negotiated; the commit measured (with the files of src/ that differed from
it). A stack that cannot do a metric has ``{"n/a": reason}`` there.
``--quick`` is a run of a few seconds for tests/test_bench_json.py.

The stacks are in ``stacks_glasstls.py``, ``stacks_ssl.py`` and
``stacks_tlslite.py`` beside this file, the floor in ``floor.py``, what they
share in ``common.py``; this script measures and prints. This is a script that
prints numbers, not a timed test.
"""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openssl_conf import pin_openssl

# A --chacha-worker process pins the other TLS 1.3 suite (read before ssl is imported: see the module doc).
_CHACHA_WORKER = __name__ == "__main__" and "--chacha-worker" in sys.argv[1:]
_PINNED = "TLS_CHACHA20_POLY1305_SHA256" if _CHACHA_WORKER else "TLS_AES_128_GCM_SHA256"


def _restrict_openssl() -> str:
    """Point OPENSSL_CONF at a file that pins the TLS 1.3 suite and group; must run before ``import ssl``."""
    if "ssl" in sys.modules:
        return "ssl was imported before the OpenSSL configuration could be set: OpenSSL defaults apply"
    previous = os.environ.get("OPENSSL_CONF")
    path = pin_openssl("glasstls-bench-", _PINNED, "X25519")
    note = f"OPENSSL_CONF={path} (Ciphersuites = {_PINNED}, Groups = X25519)"
    return note + (f", replacing {previous}" if previous else "")


_OPENSSL_NOTE = _restrict_openssl()

# bench/ is not a package: its modules are imported by name from this file's directory
# (the first entry of sys.path when it is run as a script; added here for any other way in).
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import cProfile  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import signal  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from common import MB, TLS12_SUITE, TLS13_CHACHA, TLS13_SUITE, WRITE, Rate, make_pki, rate  # noqa: E402
from floor import CryptoFloor, component_times  # noqa: E402
from stacks_glasstls import Glasstls  # noqa: E402
from stacks_ssl import PythonSsl  # noqa: E402
from stacks_tlslite import Tlslite  # noqa: E402

import glasstls  # noqa: E402

# The directory of the glasstls measured (src/glasstls), which PYTHONPATH may take from another checkout.
_MEASURED = os.path.dirname(os.path.abspath(glasstls.__file__))

# The metrics of the comparison table, in the order they are printed: (key, label).
METRICS = (
    ("handshakes", "TLS 1.3 handshakes/s (full, verify on)"),
    ("megabytes", "TLS 1.3 bulk MB/s (16 KiB, AES-128-GCM)"),
    ("megabytes_s2c", "TLS 1.3 bulk MB/s (16 KiB, AES-128-GCM, s->c)"),
    ("megabytes_chacha", "TLS 1.3 bulk MB/s (16 KiB, ChaCha20-Poly1305)"),
    ("megabytes_chacha_s2c", "TLS 1.3 bulk MB/s (16 KiB, ChaCha20-Poly1305, s->c)"),
    ("handshakes12", "TLS 1.2 handshakes/s (full, ECDHE-RSA)"),
    ("resumptions12", "TLS 1.2 resumptions/s (session ID)"),
    ("resumptions13", "TLS 1.3 resumptions/s (ticket, psk_dhe_ke)"),
)
# The bulk metrics: (TLS 1.3 suite, direction); the ChaCha20 ones are measured by the --chacha-worker run.
BULK = {
    "megabytes": (TLS13_SUITE, "c2s"),
    "megabytes_s2c": (TLS13_SUITE, "s2c"),
    "megabytes_chacha": (TLS13_CHACHA, "c2s"),
    "megabytes_chacha_s2c": (TLS13_CHACHA, "s2c"),
}
# glasstls alone, a trace attached to both connections: (key, label), compared with UNTRACED.
UNTRACED = "handshakes"
TRACE_METRICS = (
    ("handshakes_text", "TLS 1.3 handshakes/s, text trace attached"),
    ("handshakes_explain", "TLS 1.3 handshakes/s, explain + full trace attached"),
)
# Bytes per idle established connection: (key, side, label); lower is better.
MEMORY_METRICS = (
    ("memory_pair", "pair", "idle connection, bytes (client+server)"),
    ("memory_client", "client", "idle connection, bytes (client side)"),
    ("memory_server", "server", "idle connection, bytes (server side)"),
)
# The metrics timed together, round by round; a traced row shares its rounds with the untraced one.
ROUNDS = tuple((key, *(t for t, _ in TRACE_METRICS if key == UNTRACED)) for key, _ in METRICS)
ALL_METRICS = tuple(key for group in ROUNDS for key in group)
# What each stack is set up to negotiate for a metric.
SETUPS = {
    "handshakes": "TLS 1.3 full handshake",
    **{key: f"TLS 1.3 bulk, {suite}, {direction}" for key, (suite, direction) in BULK.items()},
    "handshakes12": f"TLS 1.2 full handshake, {TLS12_SUITE}",
    "resumptions12": "TLS 1.2 session-ID resumption",
    "resumptions13": "TLS 1.3 ticket resumption (psk_dhe_ke)",
    "handshakes_text": "TLS 1.3 full handshake, text trace attached",
    "handshakes_explain": "TLS 1.3 full handshake, explain + full trace attached",
}

STACKS = ("glasstls", "python ssl", "tlslite-ng")
FLOOR = CryptoFloor.name
# The stacks' names in the JSON.
KEYS = {"glasstls": "glasstls", "python ssl": "ssl", "tlslite-ng": "tlslite-ng", FLOOR: "floor"}
STACK_CLASSES: dict[str, Any] = {"glasstls": Glasstls, "ssl": PythonSsl, "tlslite-ng": Tlslite}


@dataclass(frozen=True)
class Plan:
    seconds: float  # timed per metric and stack, cut into the rounds
    rounds: int
    warmup: float
    memory: dict[str, int]  # idle connections per memory measurement, by JSON stack key
    component_seconds: float  # per floor component, timed once
    worker_timeout: float  # bound of each subprocess
    quick: bool = False


def plan_for(args: argparse.Namespace) -> Plan:
    if args.quick:
        seconds, rounds = args.seconds or 0.2, args.rounds or 2
        memory, component, timeout = {"glasstls": 100, "ssl": 100, "tlslite-ng": 8}, 0.005, 60.0
    else:
        seconds, rounds = args.seconds or 2.0, args.rounds or 4
        memory, component, timeout = {"glasstls": 2000, "ssl": 2000, "tlslite-ng": 200}, 0.1, 600.0
    if args.memory_connections:
        memory = dict.fromkeys(memory, args.memory_connections)
    warmup = seconds / 5 if args.warmup is None else args.warmup
    return Plan(seconds, rounds, warmup, memory, component, timeout, args.quick)


# -- the report ---------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def _row(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    """The first column left-aligned, numbers right-aligned."""
    cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    return "  ".join(cells).rstrip()


@dataclass
class Result:
    """One stack's operations (by metric), the rates of each round, and its memory readings."""

    operations: dict[str, Callable[[], int]] = field(default_factory=dict)
    rates: dict[str, list[Rate]] = field(default_factory=dict)
    setups: dict[str, str] = field(default_factory=dict)
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)  # by memory metric
    na: dict[str, str] = field(default_factory=dict)  # why a metric was not measured, by metric
    components: dict[str, dict[str, float]] = field(default_factory=dict)  # the floor's parts, us, by metric

    def median(self, metric: str) -> float | None:
        if metric in self.memory:
            return self.memory[metric]["bytes"]
        rates = self.rates.get(metric)
        return statistics.median(r.value for r in rates) if rates else None

    def spread(self, metric: str) -> str:
        rates = self.rates.get(metric)
        if not rates:
            return "-"
        values = [r.value for r in rates]
        count = sum(r.count for r in rates)
        return f"{_fmt(min(values))}-{_fmt(max(values))} ({count} ops)"


def measure(results: dict[str, Result], seconds: float, warmup: float, rounds: int) -> None:
    """Warm every operation up, then time each metric in interleaved rounds of ``seconds / rounds``.

    Interleaving spreads drifts in machine load (a shared VM, a CPU changing speed)
    over every stack alike instead of charging them to whichever ran at the wrong moment.
    The metrics of one group of ``ROUNDS`` (the TLS 1.3 handshakes, untraced and traced)
    share their rounds, so a traced rate and its untraced one are taken seconds apart.
    """
    for result in results.values():
        for operation in result.operations.values():
            rate(operation, 0, warmup)
    for group in ROUNDS:
        for _ in range(rounds):
            for metric in group:
                for result in results.values():
                    if metric not in result.operations:
                        continue
                    measured = rate(result.operations[metric], seconds / rounds, 0)
                    if metric in BULK:
                        measured = Rate(measured.value / MB, measured.count, measured.elapsed)
                    result.rates.setdefault(metric, []).append(measured)


def profile_handshakes(stack: Glasstls, seconds: float, tls12: bool = False, top: int = 25) -> None:
    handshake = stack.handshake12()[1] if tls12 else stack.handshake
    for _ in range(20):  # warm up caches before profiling
        handshake()
    profiler = cProfile.Profile()
    count, stop = 0, time.perf_counter() + seconds
    profiler.enable()
    while time.perf_counter() < stop:
        handshake()
        count += 1
    profiler.disable()
    version = "TLS 1.2" if tls12 else "TLS 1.3"
    print(f"\nglasstls {version} handshake profile: {count} handshakes (client + server) under cProfile, {seconds:g} s")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    print(f"-- top {top} by cumulative time --")
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(top)
    print("-- top 15 by own time --")
    stats.sort_stats(pstats.SortKey.TIME).print_stats(15)


def print_table(results: dict[str, Result]) -> None:
    header = ("metric", *STACKS, "glasstls/ssl", "glasstls/tlslite", "crypto floor")
    widths = (max(len(label) for _, label in METRICS), 10, 11, 11, 13, 16, 12)
    floor = results.get(FLOOR)
    print()
    print(_row(header, widths))
    for metric, label in (*METRICS, *((key, label) for key, _, label in MEMORY_METRICS)):
        g, s, t = (results[name].median(metric) if name in results else None for name in STACKS)
        f = floor.median(metric) if floor else None
        cells = (label, _fmt(g), _fmt(s), _fmt(t), _ratio(g, s), _ratio(g, t), "-" if f is None else _fmt(f))
        print(_row(cells, widths))
    print_floor_table(results)
    print_trace_table(results.get("glasstls"))
    print()
    for name, result in results.items():
        spreads = "; ".join(f"{metric} {result.spread(metric)}" for metric in ALL_METRICS if metric in result.rates)
        print(f"  {name:<12} rounds: {spreads}")


def print_floor_table(results: dict[str, Result]) -> None:
    """Each stack's rate over the floor's: the share of its time in the cryptographic calls alone."""
    floor = results.get(FLOOR)
    if floor is None:
        return
    header = ("crypto floor (bench/floor.py), a stack's rate / floor's", "floor, us", *STACKS)
    widths = (57, 10, 10, 11, 11)
    print()
    print(_row(header, widths))
    for metric, label in METRICS:
        f = floor.median(metric)
        if f is None:
            continue
        us = 1e6 / f if metric not in BULK else 1e6 * WRITE / MB / f  # per handshake, or per 16 KiB record
        ratios = (_ratio(results[name].median(metric), f) if name in results else "-" for name in STACKS)
        print(_row((label, f"{us:,.1f}", *ratios), widths))
    print("  what one floor is made of, us per call (the parts timed one by one, once):")
    for metric, _ in METRICS:
        parts = floor.components.get(metric)
        if parts:
            print(f"    {metric}: " + ", ".join(f"{name} {us:,.1f}" for name, us in parts.items()))


def _round_ratios(traced: list[Rate], untraced: list[Rate]) -> str:
    """The lowest and highest ratio traced/untraced of rounds timed side by side."""
    ratios = [t.value / u.value for t, u in zip(traced, untraced, strict=True) if u.value]
    return f"{min(ratios):.2f}-{max(ratios):.2f}x" if ratios else "-"


def print_trace_table(result: Result | None) -> None:
    """glasstls's TLS 1.3 handshakes with a trace attached, against the same handshakes untraced."""
    if result is None or not any(metric in result.rates for metric, _ in TRACE_METRICS):
        return
    header = ("glasstls with a trace attached", "glasstls", "traced/untraced", "per round")
    widths = (52, 10, 15, 12)
    untraced = result.median(UNTRACED)
    print()
    print(_row(header, widths))
    print(_row((dict(METRICS)[UNTRACED] + ", untraced", _fmt(untraced), "1.00x", ""), widths))
    for metric, label in TRACE_METRICS:
        if metric not in result.rates:
            continue
        traced = result.median(metric)
        per_round = _round_ratios(result.rates[metric], result.rates.get(UNTRACED, []))
        print(_row((label, _fmt(traced), _ratio(traced, untraced), per_round), widths))


# -- setting the stacks up ---------------------------------------------------------------------


def set_up(stack: Any, suite: str) -> tuple[Result, list[str]]:
    """Check what ``stack`` negotiates for each metric this process measures and collect its operations.

    A process measures the metrics of the TLS 1.3 suite it pinned (``suite``): the bulk rows of
    that suite, and, for TLS_AES_128_GCM_SHA256, every other metric. A metric tlslite-ng cannot
    do is reported and left out; glasstls, ssl and the floor must do them all.
    """
    result, skipped = Result(), []
    setups: dict[str, Callable[[], tuple[str, Callable[[], int]]]] = {}
    if isinstance(stack, CryptoFloor):
        for metric in stack.components:
            setups[metric] = lambda metric=metric: (stack.describe(metric), stack.operation(metric))
    else:
        if suite == TLS13_SUITE:
            setups["handshakes"] = lambda: (stack.negotiated(), stack.handshake)
        for metric, (bulk_suite, direction) in BULK.items():
            if bulk_suite == suite:
                setups[metric] = lambda direction=direction: stack.bulk(direction)
        if suite == TLS13_SUITE:
            setups.update(
                handshakes12=stack.handshake12, resumptions12=stack.resumption12, resumptions13=stack.resumption13
            )
            if isinstance(stack, Glasstls):  # the trace rows are glasstls's alone
                setups.update({metric: lambda metric=metric: stack.traced(metric) for metric, _ in TRACE_METRICS})
    for key, setup in setups.items():
        try:
            description, operation = setup()
        except Exception as exc:  # a stack that breaks is reported, not fatal
            if stack.name != Tlslite.name:
                raise
            result.na[key] = f"{type(exc).__name__}: {exc}"
            skipped.append(f"{SETUPS[key]}: n/a ({result.na[key]})")
            continue
        print(f"  {stack.name:<12} {SETUPS[key]}: {description}")
        result.operations[key] = operation
        result.setups[key] = description
    return result, skipped


def make_stacks(pki: Any, suite: str, no_tlslite: bool) -> tuple[list[Any], list[str]]:
    stacks: list[Any] = [Glasstls(pki, suite), PythonSsl(pki, suite)]
    skipped: list[str] = []
    if no_tlslite:
        skipped.append("tlslite-ng: n/a (--no-tlslite)")
    else:
        try:
            stacks.append(Tlslite(pki, suite))
        except ImportError as exc:
            skipped.append(f"tlslite-ng: n/a (not importable: {exc})")
    return [*stacks, CryptoFloor(pki, suite)], skipped


def timed_results(stacks: list[Any], suite: str, plan: Plan) -> tuple[dict[str, Result], list[str]]:
    """Set every stack up for ``suite``, time them in interleaved rounds, time the floor's parts."""
    results: dict[str, Result] = {}
    skipped: list[str] = []
    for stack in stacks:
        result, stack_skipped = set_up(stack, suite)
        skipped += [f"{stack.name}: {note}" for note in stack_skipped]
        results[stack.name] = result
    for note in skipped:
        print(note)
    measure(results, plan.seconds, plan.warmup, plan.rounds)
    floor = next(s for s in stacks if isinstance(s, CryptoFloor))
    results[FLOOR].components = {
        metric: component_times(floor, metric, plan.component_seconds) for metric in floor.components
    }
    return results, skipped


# -- the workers: this script again, in processes of their own ---------------------------------------


def _die_with_parent() -> None:
    """In a worker, before it runs: be sent SIGTERM when this process ends (Linux's PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)


def _worker(*args: str) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), *args]


# -- the ChaCha20 worker: the same script with the other suite pinned ---------------------------------


def chacha_worker(args: argparse.Namespace, plan: Plan) -> int:
    """Measure the ChaCha20 bulk rows of every stack and the floor; write the numbers to ``args.chacha_worker``."""
    with tempfile.TemporaryDirectory(prefix="glasstls-bench-") as directory:
        stacks, skipped = make_stacks(make_pki(Path(directory)), TLS13_CHACHA, args.no_tlslite)
        results, stack_skipped = timed_results(stacks, TLS13_CHACHA, plan)
    out = {
        "openssl_conf": _OPENSSL_NOTE,
        "skipped": stack_skipped,
        "results": {
            name: {
                "rates": {m: [[r.value, r.count, r.elapsed] for r in rs] for m, rs in result.rates.items()},
                "setups": result.setups,
                "components": result.components,
                "na": result.na,
            }
            for name, result in results.items()
        },
    }
    Path(args.chacha_worker).write_text(json.dumps(out))
    return 0


def run_chacha_worker(args: argparse.Namespace, plan: Plan, results: dict[str, Result]) -> list[str]:
    """Run ``--chacha-worker`` and merge its rows into ``results``; a failure is reported, not fatal."""
    with tempfile.TemporaryDirectory(prefix="glasstls-bench-") as directory:
        out = Path(directory) / "chacha.json"
        command = _worker("--chacha-worker", str(out))
        command += ["--seconds", str(plan.seconds), "--rounds", str(plan.rounds), "--warmup", str(plan.warmup)]
        command += ["--quick"] * plan.quick + ["--no-tlslite"] * args.no_tlslite
        sys.stdout.flush()
        try:
            done = subprocess.run(
                command, timeout=plan.worker_timeout, stderr=subprocess.PIPE, text=True, preexec_fn=_die_with_parent
            )
        except subprocess.TimeoutExpired:
            return [f"ChaCha20 rows: n/a (the worker ran over {plan.worker_timeout:g} s)"]
        if done.returncode != 0 or not out.exists():
            return [f"ChaCha20 rows: n/a (the worker failed: {done.stderr.strip()[-500:]})"]
        numbers = json.loads(out.read_text())
    for name, part in numbers["results"].items():
        result = results.setdefault(name, Result())
        result.setups.update(part["setups"])
        for metric, rates in part["rates"].items():
            result.rates[metric] = [Rate(*r) for r in rates]
        result.components.update(part["components"])
        result.na.update(part["na"])
    return [f"ChaCha20 worker: {numbers['openssl_conf']}", *numbers["skipped"]]


# -- memory: one subprocess per stack and side -------------------------------------------------------


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _settle() -> None:
    """Collect garbage and give freed heap back to the system, so RSS counts what is held."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: RSS keeps freed heap (upper bounds)
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def memory_worker(stack_key: str, side: str, count: int) -> int:
    """Hold ``count`` idle connections' ``side`` objects; print the RSS readings as JSON (see the module doc)."""
    with tempfile.TemporaryDirectory(prefix="glasstls-bench-") as directory:
        stack = STACK_CLASSES[stack_key](make_pki(Path(directory)))
        for _ in range(max(3, min(50, count // 10))):  # warm-up: imports, caches, the allocator's arenas
            stack.idle_pair()
        _settle()
        before = _resident_bytes()
        held = []
        for _ in range(count):
            client, server = stack.idle_pair()
            held.append(client + server if side == "pair" else client if side == "client" else server)
        _settle()
        after = _resident_bytes()
        print(json.dumps({"rss_before": before, "rss_after": after, "connections": len(held)}))
    return 0


def run_memory_workers(args: argparse.Namespace, plan: Plan, results: dict[str, Result]) -> list[str]:
    """The memory rows: every (stack, side) in a process of its own, two at a time."""
    notes: list[str] = []
    if not os.path.exists("/proc/self/statm"):
        return ["memory rows: n/a (no /proc/self/statm to read the resident set from)"]
    jobs = [
        (stack, key, side) for stack in STACKS if stack in results and stack != FLOOR for key, side, _ in MEMORY_METRICS
    ]
    running: list[tuple[tuple[str, str, str], subprocess.Popen[str], float]] = []

    def finish(job: tuple[str, str, str], process: subprocess.Popen[str], started: float) -> None:
        stack, key, side = job
        try:
            out, err = process.communicate(timeout=max(1.0, started + plan.worker_timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            results[stack].na[key] = f"the memory worker ran over {plan.worker_timeout:g} s"
            notes.append(f"{stack} memory ({side}): n/a ({results[stack].na[key]})")
            return
        if process.returncode != 0:
            results[stack].na[key] = f"the memory worker failed: {err.strip()[-300:]}"
            notes.append(f"{stack} memory ({side}): n/a ({results[stack].na[key]})")
            return
        reading = json.loads(out.strip().splitlines()[-1])
        reading["bytes"] = (reading["rss_after"] - reading["rss_before"]) / reading["connections"]
        results[stack].memory[key] = reading

    for job in jobs:
        stack, _key, side = job
        count = plan.memory[KEYS[stack]]
        command = _worker("--memory-worker", KEYS[stack], side, str(count))
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_die_with_parent
        )
        running.append((job, process, time.monotonic()))
        if len(running) == 2:
            finish(*running.pop(0))
    while running:
        finish(*running.pop(0))
    return notes


# -- the JSON ------------------------------------------------------------------------------------------


def _git(*command: str, where: str = _HERE) -> str:
    try:
        done = subprocess.run(["git", *command], cwd=where, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _stack_numbers(result: Result | None, metric: str, why: str) -> dict[str, Any]:
    if result is None:
        return {"n/a": why}
    why = result.na.get(metric, why)
    if metric in result.memory:
        m = result.memory[metric]
        return {"median": m["bytes"], "min": m["bytes"], "max": m["bytes"], "rounds": [m["bytes"]], **m}
    rates = result.rates.get(metric)
    if not rates:
        return {"n/a": why}
    values = [r.value for r in rates]
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "rounds": values,
        "operations": sum(r.count for r in rates),
        "seconds": sum(r.elapsed for r in rates),
    }


def _ratios(a: dict[str, Any], b: dict[str, Any]) -> tuple[float | None, list[float] | None]:
    if "median" not in a or "median" not in b or not b["median"]:
        return None, None
    same = len(a["rounds"]) == len(b["rounds"])  # rounds timed side by side (not so for memory)
    rounds = [x / y for x, y in zip(a["rounds"], b["rounds"], strict=True)] if same and all(b["rounds"]) else None
    return a["median"] / b["median"], rounds


def numbers(results: dict[str, Result], plan: Plan, skipped: list[str], notes: list[str]) -> dict[str, Any]:
    """Everything measured, for ``--json``."""
    why = {name: next((n for n in skipped if n.startswith(f"{name}: n/a")), "not measured") for name in STACKS}
    metrics: dict[str, Any] = {}
    memory_labels = {key: label for key, _, label in MEMORY_METRICS}
    floor = results.get(FLOOR)
    for metric in (*(k for k, _ in METRICS), *(k for k, _ in TRACE_METRICS), *memory_labels):
        label = dict(METRICS).get(metric) or dict(TRACE_METRICS).get(metric) or memory_labels[metric]
        entry: dict[str, Any] = {
            "label": label,
            "unit": "bytes" if metric in memory_labels else "MB/s" if metric in BULK else "operations/s",
            "better": "lower" if metric in memory_labels else "higher",
        }
        for name in STACKS:
            reason = why[name] if metric not in dict(TRACE_METRICS) or name == "glasstls" else "a glasstls trace"
            entry[KEYS[name]] = _stack_numbers(results.get(name), metric, reason)
            if name in results and metric in results[name].setups:
                entry[KEYS[name]]["negotiated"] = results[name].setups[metric]
        entry["ratios"], entry["ratio_rounds"] = {}, {}
        if metric in dict(TRACE_METRICS):
            pairs = [("traced/untraced", entry["glasstls"], _stack_numbers(results.get("glasstls"), UNTRACED, ""))]
        else:
            pairs = [(f"glasstls/{KEYS[other]}", entry["glasstls"], entry[KEYS[other]]) for other in STACKS[1:]]
        for name, a, b in pairs:
            entry["ratios"][name], entry["ratio_rounds"][name] = _ratios(a, b)
        if floor is not None and metric in floor.rates:
            f = _stack_numbers(floor, metric, "")
            per = WRITE / MB if metric in BULK else 1.0
            f["us_per_operation"] = 1e6 * per / f["median"]
            f["includes"] = floor.setups.get(metric, "")
            f["components_us"] = floor.components.get(metric, {})
            entry["floor"] = f
            entry["floor_ratios"] = {
                KEYS[name]: _ratios(entry[KEYS[name]], f)[0] for name in STACKS if "median" in entry[KEYS[name]]
            }
        metrics[metric] = entry
    try:
        import tlslite

        tlslite_version = getattr(tlslite, "__version__", "unknown")
    except ImportError:
        tlslite_version = None
    return {
        # The glasstls measured: the package imported, which PYTHONPATH may take from another
        # checkout (a worktree of an older commit, for a before/after) than this script's.
        "commit": _git("rev-parse", "HEAD", where=_MEASURED),
        "src_changes_not_committed": _git("status", "--porcelain", "--", ".", where=_MEASURED).splitlines(),
        "glasstls_from": str(_MEASURED),
        "bench_commit": _git("rev-parse", "HEAD"),
        "python": sys.version.split()[0],
        "openssl": ssl.OPENSSL_VERSION,
        "tlslite_ng": tlslite_version,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "openssl_conf": _OPENSSL_NOTE,
        "plan": {
            "seconds": plan.seconds,
            "rounds": plan.rounds,
            "warmup": plan.warmup,
            "quick": plan.quick,
            "memory_connections": plan.memory,
        },
        "stacks": [KEYS[name] for name in STACKS],
        "metrics": metrics,
        "memory_method": (
            "RSS (/proc/self/statm) of a subprocess per stack and side, read after a warm-up and after N idle "
            "TLS 1.3 connections (each one 64-byte echo each way) whose objects of that side are kept, each "
            "reading after gc.collect() and malloc_trim(0); bytes = delta / N. pair = client and server "
            "objects; ssl = SSLObject + its 2 MemoryBIOs per side"
        ),
        "notes": skipped + notes,
    }


# -- main ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=None, help="timed per measurement (2; 0.2 with --quick)")
    parser.add_argument("--warmup", type=float, default=None, help="untimed warm-up before each (seconds/5)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds of the timed seconds (4; 2)")
    parser.add_argument("--quick", action="store_true", help="a run of a few seconds, for tests/test_bench_json.py")
    parser.add_argument("--json", metavar="FILE", help="also write every number to FILE as JSON")
    parser.add_argument("--memory-connections", type=int, help="idle connections per memory measurement")
    parser.add_argument("--no-memory", action="store_true", help="leave the memory rows out")
    parser.add_argument("--profile", action="store_true", help="profile glasstls handshakes instead of benchmarking")
    parser.add_argument("--profile-tls12", action="store_true", help="profile glasstls TLS 1.2 ECDHE-RSA handshakes")
    parser.add_argument("--no-tlslite", action="store_true", help="leave tlslite-ng out")
    parser.add_argument("--chacha-worker", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--memory-worker", nargs=3, metavar=("STACK", "SIDE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    plan = plan_for(args)

    if args.memory_worker:
        stack_key, side, count = args.memory_worker
        return memory_worker(stack_key, side, int(count))
    if args.chacha_worker:
        return chacha_worker(args, plan)

    with tempfile.TemporaryDirectory(prefix="glasstls-bench-") as directory:
        pki = make_pki(Path(directory))
        if args.profile or args.profile_tls12:
            profile_handshakes(Glasstls(pki), plan.seconds, tls12=args.profile_tls12)
            return 0
        print(f"Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}; {_OPENSSL_NOTE}")
        print(
            f"each measurement: {plan.warmup:g} s warm-up, then {plan.seconds:g} s timed in {plan.rounds} interleaved "
            "rounds (median shown); client and server in one process, in memory"
        )
        stacks, skipped = make_stacks(pki, TLS13_SUITE, args.no_tlslite)
        results, stack_skipped = timed_results(stacks, TLS13_SUITE, plan)
        skipped += stack_skipped
    notes = run_chacha_worker(args, plan, results)
    if not args.no_memory:
        notes += run_memory_workers(args, plan, results)
        counts = ", ".join(f"{k} {n:,}" for k, n in plan.memory.items())
        notes.append(
            f"memory: RSS delta over N idle TLS 1.3 connections ({counts}), a subprocess per stack and side, "
            "after gc.collect() and malloc_trim(0); ssl counts the SSLObject and its two MemoryBIOs per side"
        )
    for note in notes:
        print(note)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(numbers(results, plan, skipped, notes), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
