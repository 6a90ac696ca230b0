"""Handshakes and resumptions per second of ``glasstls server --workers N``, memory store against Redis.

    .venv/bin/python bench/load.py --fleet [--quick] [--json FILE]
    .venv/bin/python bench/load_fleet.py [--quick] [--json FILE]     (the same)

Four servers, each the glasstls command line (``glasstls server``, echo, the ECDSA
P-256 chain of load_common.Pki, default settings: TLS 1.3 sends two tickets): 1 and 2
workers (``--workers``), each with the memory store and with ``--store`` on a
redis-server this script starts on 127.0.0.1 (nothing written to disk). Against each,
from this process (asyncio + Python's ssl, load_fleet_client.py, ``CONCURRENCY``
clients): full TLS 1.3 handshakes, TLS 1.3 resumptions (each client offers the newest
ticket its previous connection got) and TLS 1.2 resumptions by session ID (no tickets:
one Redis GET per resumption with the Redis store). The servers are measured in turn,
in rounds whose order alternates, so a drift in the machine's load falls on all alike.

Rates count connections that completed (handshake, a 64-byte echo, close_notify both
ways) per second; "resumed" is the share the client saw resumed. With the memory store
and two workers a session resumes only when it lands on the worker that issued it (the
other makes a full handshake); with Redis it resumes at both. The clients share the
machine with the servers: on a small machine the rates with two workers are bounded by
the cores left to the servers, and the CPU rows (/proc, user + system, per connection)
say where the time went.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from load_common import HOST, Pki
from load_fleet_client import prime, run
from load_procs import cpu_seconds

CONCURRENCY = 16
TIMEOUT = 20.0  # one connection, from connect() to the end of close()
START_WAIT = 30.0
CASES = (  # (name, client mode, resume)
    ("full TLS 1.3 handshakes", "tls13", False),
    ("TLS 1.3 resumptions (tickets)", "tls13", True),
    ("TLS 1.2 resumptions (session IDs)", "tls12-session-id", True),
)


@dataclass(frozen=True)
class Plan:
    seconds: float  # per case, server and round
    rounds: int


FULL, QUICK = Plan(3.0, 2), Plan(1.0, 1)


class Server:
    """``glasstls server --workers N [--store URL]`` on a free port, its stderr in a file."""

    def __init__(self, directory: Path, pki: Pki, workers: int, store: tuple[str, Path] | None) -> None:
        self.name = f"{workers}w-{'redis' if store else 'memory'}"
        self.log_path = directory / f"server-{self.name}.log"
        command = [sys.executable, "-m", "glasstls", "server", "--listen", f"{HOST}:0", "--cert", str(pki.chain),
                   "--key", str(pki.key), "--workers", str(workers)]  # fmt: skip
        if store:
            command += ["--store", store[0], "--store-key", str(store[1])]
        with self.log_path.open("wb") as err:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + START_WAIT
        while not (found := re.search(rf"listening on {re.escape(HOST)}:(\d+)", self.log())):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server {self.name} did not start:\n{self.log()}")
            time.sleep(0.05)
        self.port = int(found.group(1))
        self.pids = [int(p) for p in re.findall(r"worker \d+ \(pid (\d+)\) started", self.log())]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def negotiated(self) -> str:
        found = re.search(r"\] glasstls: \S+ (TLSv1\.3 \S+ \S+ \S+)", self.log())
        return found.group(1) if found else "?"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(15)


def measure(server: Server, mode: str, resume: bool, seconds: float) -> dict[str, Any]:
    sessions: list[Any] = [None] * CONCURRENCY
    if resume:
        sessions = list(asyncio.run(prime(server.port, mode, CONCURRENCY, TIMEOUT)))
    server_cpu, client_cpu = server.cpu(), time.process_time()
    tally = asyncio.run(run(server.port, mode, sessions, seconds, TIMEOUT))
    return {
        "completed": tally.completed,
        "resumed": tally.resumed,
        "elapsed": tally.elapsed,
        "failures": dict(tally.failures),
        "server_cpu": server.cpu() - server_cpu,
        "client_cpu": time.process_time() - client_cpu,
    }


def add(total: dict[str, Any], answer: dict[str, Any]) -> None:
    for key in ("completed", "resumed", "elapsed", "server_cpu", "client_cpu"):
        total[key] = total.get(key, 0) + answer[key]
    failures = total.setdefault("failures", {})
    for kind, count in answer["failures"].items():
        failures[kind] = failures.get(kind, 0) + count


def bench(plan: Plan, directory: Path) -> dict[str, Any]:
    from store import start_redis  # bench/store.py: a redis-server of our own, or exit saying why

    pki = Pki(directory).make()
    key = directory / "store.key"
    key.write_text(secrets.token_hex(32) + "\n")
    key.chmod(0o600)
    redis_proc, url = start_redis(directory)
    servers: list[Server] = []
    try:
        for workers in (1, 2):
            for store in (None, (url, key)):
                servers.append(Server(directory, pki, workers, store))
        results: dict[str, dict[str, dict[str, Any]]] = {s.name: {} for s in servers}
        for round_ in range(plan.rounds):
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                for name, mode, resume in CASES:
                    add(results[server.name].setdefault(name, {}), measure(server, mode, resume, plan.seconds))
                progress(f"round {round_ + 1}, {server.name}: done")
        return {"results": results, "negotiated": servers[0].negotiated(), "plan": asdict(plan)}
    finally:
        for server in servers:
            server.stop()
        redis_proc.terminate()
        redis_proc.wait(10)


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def report(numbers: dict[str, Any]) -> list[str]:
    """The table: each case per store, 1 and 2 workers side by side, 2w/1w and redis/memory ratios."""
    res = numbers["results"]

    def rate(server: str, case: str) -> float:
        r = res[server][case]
        return r["completed"] / r["elapsed"] if r["elapsed"] else 0.0

    def cell(server: str, case: str) -> str:
        r = res[server][case]
        n = r["completed"] or 1
        share = f"{100 * r['resumed'] / n:.0f}%"
        busy = (r["server_cpu"] + r["client_cpu"]) / r["elapsed"] if r["elapsed"] else 0.0
        srv, cli = 1000 * r["server_cpu"] / n, 1000 * r["client_cpu"] / n
        return f"{rate(server, case):>6.0f} {share:>4} {srv:>5.2f} {cli:>5.2f} {busy:>4.2f}"

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "-"

    sub = f"{'/s':>6} {'res':>4} {'srv':>5} {'cli':>5} {'busy':>4}"
    lines = [
        f"glasstls server --workers N, echo; negotiated {numbers['negotiated']}; {CONCURRENCY} clients in one process",
        f"{'':<42}{'1 worker':^28}  {'2 workers':^28}",
        f"{'':<42}{sub:>28}  {sub:>28}  {'2w/1w':>6}",
    ]
    for case, _, _ in CASES:
        for store in ("memory", "redis"):
            one, two = f"1w-{store}", f"2w-{store}"
            row = f"{case + ', ' + store:<42}{cell(one, case):>28}  {cell(two, case):>28}"
            lines.append(f"{row}  {ratio(rate(two, case), rate(one, case)):>6}")
        r1 = ratio(rate("1w-redis", case), rate("1w-memory", case))
        r2 = ratio(rate("2w-redis", case), rate("2w-memory", case))
        lines.append(f"{'  redis/memory':<42}{r1:>28}  {r2:>28}")
    failures = {f"{s} {c}": r["failures"] for s, cases in res.items() for c, r in cases.items() if r["failures"]}
    lines += [
        f"failures: {failures or 'none'}",
        "/s: connections per second; res: share resumed; srv, cli: CPU ms per connection of the server (all its",
        "workers) and of the clients; busy: cores they kept busy together (other work on the machine not counted)",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round of one second per case")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers to FILE as JSON")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="glasstls-fleet-") as directory:
        numbers = bench(QUICK if args.quick else FULL, Path(directory))
    numbers["wall_seconds"] = round(time.monotonic() - started, 1)
    print("\n".join(report(numbers)))
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2) + "\n")
    return 0 if not any(r["failures"] for cases in numbers["results"].values() for r in cases.values()) else 2


if __name__ == "__main__":
    sys.exit(main())
