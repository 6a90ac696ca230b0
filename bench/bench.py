"""glasstls against Python's ssl (OpenSSL) and tlslite-ng, measured in one run.

    .venv/bin/python bench/bench.py [--seconds 2] [--rounds 4] [--warmup S] [--no-tlslite]
    .venv/bin/python bench/bench.py --profile | --profile-tls12


Four metrics, each stack measured the same way, client and server in one
process, bytes moved in memory (no sockets, no threads):

* full TLS 1.3 handshakes per second: X25519, an ECDSA P-256 server
  certificate under a throwaway root and intermediate, the client verifying
  the chain and the host name (tlslite-ng cannot: it has no X.509 path
  validation, so it only checks the CertificateVerify signature);
* TLS 1.3 bulk MB/s (10^6 bytes): 16 KiB writes from client to server with
  TLS_AES_128_GCM_SHA256, counting the bytes the server decrypted;
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
  two stacks do the same and pay for the same two records.

Python 3.11's ssl has no API for the TLS 1.3 suites (there is no
``SSLContext.set_ciphersuites``) and OpenSSL's default order puts
TLS_AES_256_GCM_SHA384 first, so this script points OPENSSL_CONF at a file
restricting the suites to TLS_AES_128_GCM_SHA256 and the groups to X25519
*before* ``ssl`` is imported, and checks what was negotiated. Servers send no
session tickets in either version (OpenSSL's ``num_tickets`` = 0 and
``OP_NO_TICKET``, glasstls's ``session_tickets=False``, tlslite-ng's
``ticket_count`` = 0), so a TLS 1.3 handshake is the same work for all three and
TLS 1.2 resumption goes by session ID. Each TLS 1.2 metric has its own server
session cache, so the full handshakes cannot evict the session being resumed.

Two more rows are glasstls's alone: TLS 1.3 handshakes with a text trace
attached to both connections (``TextTrace``, one line per record and message),
and with the fullest trace there is (``full=True, explain=True``: every field
with byte offsets, and the plain-words explanations), the text written to a
stream that discards it. They are timed in the same interleaved rounds as the
untraced TLS 1.3 handshakes and printed with the ratio traced/untraced, per
round and of the medians. The untraced rows run with the renderers imported
and no observer attached, so they show that a trace costs nothing to a
connection that does not ask for one; the traced rows show what one costs.

The stacks are in ``stacks_glasstls.py``, ``stacks_ssl.py`` and
``stacks_tlslite.py`` beside this file, what they share in ``common.py``; this
script measures and prints. This is a script that prints numbers, not a timed test.
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openssl_conf import pinned_openssl_conf

_OPENSSL_CONF = pinned_openssl_conf("TLS_AES_128_GCM_SHA256", "X25519")


def _restrict_openssl() -> str:
    """Point OPENSSL_CONF at a file that pins the TLS 1.3 suite and group; must run before ``import ssl``."""
    if "ssl" in sys.modules:
        return "ssl was imported before the OpenSSL configuration could be set: OpenSSL defaults apply"
    fd, path = tempfile.mkstemp(prefix="glasstls-bench-", suffix=".cnf")
    with os.fdopen(fd, "w") as f:
        f.write(_OPENSSL_CONF)
    atexit.register(os.unlink, path)
    previous = os.environ.get("OPENSSL_CONF")
    os.environ["OPENSSL_CONF"] = path
    note = f"OPENSSL_CONF={path} (Ciphersuites = TLS_AES_128_GCM_SHA256, Groups = X25519)"
    return note + (f", replacing {previous}" if previous else "")


_OPENSSL_NOTE = _restrict_openssl()

# bench/ is not a package: its modules are imported by name from this file's directory
# (the first entry of sys.path when it is run as a script; added here for any other way in).
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from common import MB, TLS12_SUITE, Rate, make_pki, rate  # noqa: E402
from stacks_glasstls import Glasstls  # noqa: E402
from stacks_ssl import PythonSsl  # noqa: E402
from stacks_tlslite import Tlslite  # noqa: E402

# The metrics of the comparison table, in the order they are measured and printed: (key, label).
METRICS = (
    ("handshakes", "TLS 1.3 handshakes/s (full, verify on)"),
    ("megabytes", "TLS 1.3 bulk MB/s (16 KiB, AES-128-GCM)"),
    ("handshakes12", "TLS 1.2 handshakes/s (full, ECDHE-RSA)"),
    ("resumptions12", "TLS 1.2 resumptions/s (session ID)"),
    ("resumptions13", "TLS 1.3 resumptions/s (ticket, psk_dhe_ke)"),
)
# glasstls alone, a trace attached to both connections: (key, label), compared with UNTRACED.
UNTRACED = "handshakes"
TRACE_METRICS = (
    ("handshakes_text", "TLS 1.3 handshakes/s, text trace attached"),
    ("handshakes_explain", "TLS 1.3 handshakes/s, explain + full trace attached"),
)
# The metrics timed together, round by round; a traced row shares its rounds with the untraced one.
ROUNDS = tuple((key, *(t for t, _ in TRACE_METRICS if key == UNTRACED)) for key, _ in METRICS)
ALL_METRICS = tuple(key for group in ROUNDS for key in group)
# What each stack is set up to negotiate for a metric (the bulk transfer runs on a TLS 1.3 handshake's keys).
SETUPS = {
    "handshakes": "TLS 1.3 full handshake, then bulk",
    "handshakes12": f"TLS 1.2 full handshake, {TLS12_SUITE}",
    "resumptions12": "TLS 1.2 session-ID resumption",
    "resumptions13": "TLS 1.3 ticket resumption (psk_dhe_ke)",
    "handshakes_text": "TLS 1.3 full handshake, text trace attached",
    "handshakes_explain": "TLS 1.3 full handshake, explain + full trace attached",
}


# -- the report ---------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def _row(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    """The first column left-aligned, numbers right-aligned."""
    cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    return "  ".join(cells).rstrip()


@dataclass
class Result:
    """One stack's operations (by metric) and the rates of each round."""

    operations: dict[str, Callable[[], int]] = field(default_factory=dict)
    rates: dict[str, list[Rate]] = field(default_factory=dict)

    def median(self, metric: str) -> float | None:
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
                    if metric == "megabytes":
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


STACKS = ("glasstls", "python ssl", "tlslite-ng")


def print_table(results: dict[str, Result]) -> None:
    header = ("metric", *STACKS, "glasstls/ssl", "glasstls/tlslite")
    widths = (40, 10, 11, 11, 13, 16)
    print()
    print(_row(header, widths))
    for metric, label in METRICS:
        g, s, t = (results[name].median(metric) if name in results else None for name in STACKS)
        print(_row((label, _fmt(g), _fmt(s), _fmt(t), _ratio(g, s), _ratio(g, t)), widths))
    print_trace_table(results.get("glasstls"))
    print()
    for name, result in results.items():
        spreads = "; ".join(f"{metric} {result.spread(metric)}" for metric in ALL_METRICS if metric in result.rates)
        print(f"  {name:<11} rounds: {spreads}")


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


def set_up(stack: Any) -> tuple[Result, list[str]]:
    """Check what ``stack`` negotiates for each metric and collect its operations.

    A metric tlslite-ng cannot do is reported and left out; glasstls and ssl must do them all.
    """
    result, skipped = Result(), []

    def tls13() -> tuple[str, dict[str, Callable[[], int]]]:
        return stack.negotiated(), {"handshakes": stack.handshake, "megabytes": stack.bulk()}

    def full12() -> tuple[str, dict[str, Callable[[], int]]]:
        description, operation = stack.handshake12()
        return description, {"handshakes12": operation}

    def resumed12() -> tuple[str, dict[str, Callable[[], int]]]:
        description, operation = stack.resumption12()
        return description, {"resumptions12": operation}

    def traced(metric: str) -> Callable[[], tuple[str, dict[str, Callable[[], int]]]]:
        def setup() -> tuple[str, dict[str, Callable[[], int]]]:
            description, operation = stack.traced(metric)
            return description, {metric: operation}

        return setup

    def resumed13() -> tuple[str, dict[str, Callable[[], int]]]:
        description, operation = stack.resumption13()
        return description, {"resumptions13": operation}

    setups = {"handshakes": tls13, "handshakes12": full12, "resumptions12": resumed12, "resumptions13": resumed13}
    if isinstance(stack, Glasstls):  # the trace rows are glasstls's alone
        setups.update({metric: traced(metric) for metric, _ in TRACE_METRICS})
    for key, setup in setups.items():
        try:
            description, operations = setup()
        except Exception as exc:  # a stack that breaks is reported, not fatal
            if stack.name != Tlslite.name:
                raise
            skipped.append(f"{SETUPS[key]}: skipped ({type(exc).__name__}: {exc})")
            continue
        print(f"  {stack.name:<11} {SETUPS[key]}: {description}")
        result.operations.update(operations)
    return result, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timed duration of each measurement (2)")
    parser.add_argument("--warmup", type=float, default=None, help="untimed warm-up before each (seconds/5)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the timed seconds are cut into (4)")
    parser.add_argument("--profile", action="store_true", help="profile glasstls handshakes instead of benchmarking")
    parser.add_argument("--profile-tls12", action="store_true", help="profile glasstls TLS 1.2 ECDHE-RSA handshakes")
    parser.add_argument("--no-tlslite", action="store_true", help="leave tlslite-ng out")
    args = parser.parse_args(argv)
    warmup = args.seconds / 5 if args.warmup is None else args.warmup

    with tempfile.TemporaryDirectory(prefix="glasstls-bench-") as directory:
        pki = make_pki(Path(directory))
        glass = Glasstls(pki)
        if args.profile or args.profile_tls12:
            profile_handshakes(glass, args.seconds, tls12=args.profile_tls12)
            return 0

        stacks: list = [glass, PythonSsl(pki)]
        skipped: list[str] = []
        if args.no_tlslite:
            skipped.append("tlslite-ng: skipped (--no-tlslite)")
        else:
            try:
                stacks.append(Tlslite(pki))
            except ImportError as exc:
                skipped.append(f"tlslite-ng: skipped (not importable: {exc})")

        print(f"Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}; {_OPENSSL_NOTE}")
        print(
            f"each measurement: {warmup:g} s warm-up, then {args.seconds:g} s timed in {args.rounds} interleaved "
            "rounds (median shown); client and server in one process, in memory"
        )
        results: dict[str, Result] = {}
        for stack in stacks:
            result, stack_skipped = set_up(stack)
            skipped += [f"{stack.name}: {note}" for note in stack_skipped]
            if result.operations:
                results[stack.name] = result
        for note in skipped:
            print(note)
        measure(results, args.seconds, warmup, args.rounds)

        print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
