"""The numbers of load.py: from the children's raw answers to a summary (saved by --json) and the printed table."""

from __future__ import annotations

import math
import os
import ssl  # for its version only: the orchestrator makes no TLS connection
import sys
from typing import Any

from load_common import BACKLOG, HANDSHAKE_TIMEOUT

STACKS = ("glasstls", "ssl")
LABEL, CELL = 46, 13


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..100) of ``values``, None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _count(failures: dict[str, int]) -> int:
    return sum(failures.values())


def _run_numbers(run: dict[str, Any]) -> dict[str, Any]:
    """Rate, latency and CPU of the merged ``run`` answers of one level (or the churn)."""
    completed, elapsed = run["completed"], run["elapsed"]
    return {
        "completed": completed,
        "per_second": completed / elapsed if elapsed else None,
        "round_per_second": run.get("round_rates", []),  # each round (or churn chunk) alone: the spread
        "p50_ms": _ms(percentile(run["latencies"], 50)),
        "p99_ms": _ms(percentile(run["latencies"], 99)),
        "echo_p50_ms": _ms(percentile(run.get("echo_latencies", []), 50)),
        "close_p50_ms": _ms(percentile(run.get("close_latencies", []), 50)),
        "server_cpu_ms": run["server_cpu"] * 1000 / completed if completed else None,
        "client_cpu_ms": run["client_cpu"] * 1000 / completed if completed else None,
        "server_busy": run["server_cpu"] / elapsed if elapsed else None,
        "client_busy": run["client_cpu"] / elapsed if elapsed else None,
        "failures": _count(run["failures"]),
        "failure_kinds": run["failures"],
        "time_bound_hit": run["time_bound_hit"],
    }


def _held_numbers(held: dict[str, Any], plan: Any) -> dict[str, Any]:
    churn = _run_numbers(held["churn"])
    failures = {
        "opening the held connections": _count(held["held"]["failures"]),
        "made while they were held": churn["failures"],
        "not made (time bound)": plan.churn - churn["completed"] - churn["failures"],
        "held connections lost": _count(held["probe_held"]["failures"]),
        "closing the held connections": _count(held["release"]["failures"]),
    }
    kinds = {**held["held"]["failures"], **held["probe_held"]["failures"], **held["release"]["failures"]}
    for kind, n in churn["failure_kinds"].items():
        kinds[kind] = kinds.get(kind, 0) + n
    return {
        "held": held["held"]["held"],
        "held_alive": held["probe_held"]["alive"],
        "churn": churn,
        "failures": sum(failures.values()),
        "failures_by_step": failures,
        "failure_kinds": kinds,
        "rss_before_kib": held["rss_before"],
        "rss_after_kib": held["rss_after"],
        "established_in_server": held["handlers"],
        "rss_per_connection_kib": (held["rss_after"] - held["rss_before"]) / plan.held,
    }


def _loris_numbers(loris: dict[str, Any]) -> dict[str, Any]:
    latencies = loris["latencies"]
    return {
        "probes": len(latencies),
        "p50_ms": _ms(percentile(latencies, 50)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "max_ms": _ms(max(latencies, default=None)),
        "failures": _count(loris["failures"]),
        "failure_kinds": loris["failures"],
        "open_min": loris["open_min"],
        "open_mean": loris["open_mean"],
        "dropped": loris["dropped"],
        "dropped_after_s": loris["dropped_after"],
        "loris_connect_failures": loris["loris_failures"],
        "server_cpu_s": loris["server_cpu"],
    }


def _ratio(level: dict[str, Any]) -> dict[str, Any]:
    """Handshakes per second of both servers at one level, glasstls/ssl (issue 15's target: >= 1.0 at 100 clients)."""
    g, s = level["glasstls"], level["ssl"]
    rounds = [a / b if b else None for a, b in zip(g["round_per_second"], s["round_per_second"], strict=False)]
    return {
        "glasstls": g["per_second"],
        "ssl": s["per_second"],
        "glasstls/ssl": g["per_second"] / s["per_second"] if g["per_second"] and s["per_second"] else None,
        "glasstls/ssl_rounds": rounds,
        "server_cpu_ms_glasstls/ssl": (
            g["server_cpu_ms"] / s["server_cpu_ms"] if g["server_cpu_ms"] and s["server_cpu_ms"] else None
        ),
    }


def summary(raw: dict[str, Any], plan: Any) -> dict[str, Any]:
    numbers: dict[str, Any] = {
        "python": sys.version.split()[0],
        "openssl": ssl.OPENSSL_VERSION,
        "cpus": os.cpu_count(),
        "servers": raw["told"],
        "levels": {
            str(level): {stack: _run_numbers(raw["levels"][stack][level]) for stack in STACKS} for level in plan.levels
        },
        "held": {stack: _held_numbers(raw["held"][stack], plan) for stack in STACKS},
        "loris": {stack: _loris_numbers(raw["loris"][stack]) for stack in STACKS},
        "server_errors": raw["server_errors"],
    }
    numbers["ratios"] = {
        f"handshakes_per_second_{level}_clients": _ratio(numbers["levels"][level]) for level in numbers["levels"]
    }
    numbers["failures_total"] = sum(
        [n[stack]["failures"] for n in numbers["levels"].values() for stack in STACKS]
        + [numbers[part][stack]["failures"] for part in ("held", "loris") for stack in STACKS]
    )
    return numbers


# -- printing --------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _row(label: str, g: Any, s: Any, ratio: bool = True) -> None:
    numeric = isinstance(g, int | float) and isinstance(s, int | float) and not isinstance(g, bool)
    r = f"{g / s:.2f}x" if ratio and numeric and s else "-"
    print(f"{label:<{LABEL}}{_fmt(g):>{CELL}}{_fmt(s):>{CELL}}{r:>{CELL}}")


def _pair(part: dict[str, Any], key: str) -> tuple[Any, Any]:
    return part["glasstls"].get(key), part["ssl"].get(key)


def _busy(n: dict[str, Any]) -> str:
    return f"{n['server_busy'] * 100:.0f}%/{n['client_busy'] * 100:.0f}%" if n["server_busy"] is not None else "-"


def _print_levels(numbers: dict[str, Any]) -> None:
    print("1. full handshakes: connect, handshake, 64-byte echo, close")
    for level, part in numbers["levels"].items():
        clients = f"{int(level):,} client" + ("s" if level != "1" else "")
        _row(f"   {clients}: handshakes/s", *_pair(part, "per_second"))
        _row("     handshake latency p50, ms", *_pair(part, "p50_ms"))
        _row("     handshake latency p99, ms", *_pair(part, "p99_ms"))
        _row("     echo round trip p50, ms", *_pair(part, "echo_p50_ms"))
        _row("     close (close_notify both ways) p50, ms", *_pair(part, "close_p50_ms"))
        _row("     server CPU per connection, ms", *_pair(part, "server_cpu_ms"))
        _row("     CPU busy, server/client", _busy(part["glasstls"]), _busy(part["ssl"]), ratio=False)
        _row("     failures", *_pair(part, "failures"), ratio=False)


def _print_held(numbers: dict[str, Any], plan: dict[str, Any]) -> None:
    held = numbers["held"]
    churn = {stack: held[stack]["churn"] for stack in STACKS}
    print(f"2. {plan['held']:,} connections held open, {plan['churn']:,} made meanwhile", end="")
    print(f" ({plan['churn_concurrency']} at a time)")
    _row("   held connections opened", *_pair(held, "held"), ratio=False)
    _row("   handshakes/s while they are held", *_pair(churn, "per_second"))
    _row("     handshake latency p50, ms", *_pair(churn, "p50_ms"))
    _row("     handshake latency p99, ms", *_pair(churn, "p99_ms"))
    _row("     server CPU per connection, ms", *_pair(churn, "server_cpu_ms"))
    _row("   held connections alive at the end", *_pair(held, "held_alive"), ratio=False)
    _row("   failures (goal 0)", *_pair(held, "failures"), ratio=False)
    print(f"3. RSS per idle established connection ({plan['held']:,} held, fresh server)")
    _row("   KiB per connection", *_pair(held, "rss_per_connection_kib"))
    _row("   server RSS before, MiB", *(v / 1024 for v in _pair(held, "rss_before_kib")))
    _row("   server RSS with them open, MiB", *(v / 1024 for v in _pair(held, "rss_after_kib")))


def _print_loris(numbers: dict[str, Any], plan: dict[str, Any]) -> None:
    loris = numbers["loris"]
    print(f"4. a fresh client's handshake among {plan['lorises']:,} slow lorises (1 byte/s), goal < 1 s")
    _row("   handshake latency p50, ms", *_pair(loris, "p50_ms"))
    _row("   handshake latency p99, ms", *_pair(loris, "p99_ms"))
    _row("   handshake latency max, ms", *_pair(loris, "max_ms"))
    _row("   probes made", *_pair(loris, "probes"), ratio=False)
    _row("   probe failures", *_pair(loris, "failures"), ratio=False)
    _row("   lorises open at a probe, fewest", *_pair(loris, "open_min"), ratio=False)
    _row("   lorises dropped by the server", *_pair(loris, "dropped"), ratio=False)
    _row("     after (median), s", *_pair(loris, "dropped_after_s"), ratio=False)
    _row("   server CPU during the lorises, s", *_pair(loris, "server_cpu_s"))


def _print_failures(numbers: dict[str, Any]) -> None:
    kinds: list[str] = []
    for name, part in [(f"{lv} clients", p) for lv, p in numbers["levels"].items()] + [
        ("held/churn", numbers["held"]),
        ("lorises", numbers["loris"]),
    ]:
        for stack in STACKS:
            for kind, n in part[stack]["failure_kinds"].items():
                kinds.append(f"  {stack}, {name}: {n} x {kind}")
    for stack in STACKS:
        for kind, n in numbers["server_errors"].get(stack, {}).items():
            kinds.append(f"  {stack} server, its own count: {n} x {kind}")
        refused = numbers["loris"][stack]["loris_connect_failures"]
        kinds += [f"  {stack}, lorises (not counted as failures): {n} x {kind}" for kind, n in refused.items()]
    if kinds:
        # The servers' own counts include the lorises' ends: dropped at the deadline, or closed by
        # the client in their handshake; asyncio's ssl server reports neither (it logs them in debug mode).
        print("errors seen (the servers' own counts include the lorises' ends, which are not failures):")
        print("\n".join(kinds))


def _processes(count: int) -> str:
    return "one process" if count == 1 else f"{count} processes"


def print_report(numbers: dict[str, Any]) -> None:
    plan = numbers["plan"]
    print(f"Python {numbers['python']}, {numbers['openssl']}, {numbers['cpus']} CPUs; all on 127.0.0.1")
    for stack in STACKS:
        print(f"  {stack} server: {numbers['servers'][stack]}")
    print(
        f"  load: {_processes(numbers['load_processes'])} of Python asyncio + ssl clients sharing each run's clients"
        " (TLS 1.3, X25519 only, chain not verified in the load;"
        f" checked once per server with verification on); handshake deadline {HANDSHAKE_TIMEOUT:g} s,"
        f" backlog {BACKLOG} on both"
    )
    print()
    print(f"{'':<{LABEL}}{'glasstls':>{CELL}}{'python ssl':>{CELL}}{'glasstls/ssl':>{CELL}}")
    _print_levels(numbers)
    _print_held(numbers, plan)
    _print_loris(numbers, plan)
    print()
    _print_failures(numbers)
    total = numbers["failures_total"]
    print(f"failures in all: {total}" + (" (goal 0)" if total else ""))
    print(f"run took {numbers['wall_seconds']:g} s")
