"""Load on glasstls's asyncio server against asyncio + ssl (OpenSSL), measured in one run.

    .venv/bin/python bench/load.py [--quick] [--json FILE]
    .venv/bin/python bench/load.py --fleet [--quick] [--json FILE]   (glasstls server --workers: load_fleet.py)

Two servers, each in a process of its own (load_server.py), run the same echo
handler on the same ECDSA P-256 chain (throwaway root and intermediate), both
told TLS 1.3 only, TLS_AES_128_GCM_SHA256 and x25519, the same listen backlog
and the same 10 s handshake deadline (glasstls's ``handshake_timeout``,
asyncio's ``ssl_handshake_timeout``, whose default is 60 s). The load comes from
other processes (load_client.py): asyncio clients whose TLS is Python's ssl
(OpenSSL) through a lean protocol (load_tls.py), many connections at once,
everything on 127.0.0.1. The servers are measured in turn, step by step, never
at the same time, so a drift in the machine's load (other work shares its 2
cores) falls on both alike; the table gives ratios glasstls/ssl.

A client handshake costs far more than a server's: OpenSSL 3.0 (Python's ssl)
decodes both certificates of the chain, and d2i_X509 with OpenSSL 3.0's key
decoder is about 45 % of a load process's instructions (callgrind: about 6.8 M
per connection, against 2.8 M for the whole glasstls server process). One load
process is one core, so with a single one (``--load-processes 1``) the load
process is at 100 % CPU from 100 clients on and the server at about half: the
rate is the client's, and the servers' ratio is 1.0 within the noise. So the
clients of a run are shared out among ``--load-processes`` processes (default:
the cores but one, at least two). On 2 cores the three processes then keep both
cores busy, the rate is what the machine can do in all, and a server shows in
it through the CPU it leaves to the clients; on more cores the server is the
bound. At 1 client (one process) the rate is a round trip, with each server's
time per handshake on its path. Each server's CPU time per connection
(/proc/PID/stat, user + system) depends neither on the clients' speed nor much
on other work, and is the steadier comparison; "CPU busy" gives the server's
and the load processes' (added up) in percent of one core.

1. Handshakes at 1, 100 and 1,000 concurrent clients, each client looping on
   connect, full handshake, one 64-byte echo, close (close_notify both ways);
   a fixed duration per level and round, levels in interleaved rounds.
   Handshakes/s counts completed connections over the time until the last
   one ended; handshake latency is from connect() to the end of the handshake;
   the echo's is its round trip, the close's from the client's close_notify to
   the server's. asyncio's SSL transport answers a close_notify with its own at
   once, as it reads it; glasstls's server leaves its side open (RFC 8446,
   Section 6.1: a close_notify closes one direction) until the handler closes
   it, a turn of the server's loop later, which the close's latency shows.
2. 1,000 connections opened and held (handshake and one echo each), then
   10,000 connections made as in 1 (100 at a time) while they stay open, then
   one echo on every held connection. Every error, on any of them, is a failure.
3. RSS per idle connection: each server is started afresh and warmed with a
   few connections, then its VmRSS (/proc/PID/status) is read before and a
   second after the held connections of 2 are open; the difference over their
   count. asyncio's ssl transport keeps a 256 KiB read buffer per connection
   (``SSLProtocol.max_size``), which is most of its figure.
4. 500 slow-loris connections, each sending a real ClientHello one byte a
   second (load_loris.py), reconnecting when dropped; meanwhile a fresh client
   makes one connection at a time and its handshake latency is timed (goal:
   under 1 s). The servers drop lorises at their 10 s handshake deadline.

This is a script that prints numbers, not a timed test; tests/test_load_smoke.py
only checks that ``--quick`` runs through without a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from load_common import Pki, raise_fd_limit
from load_procs import Child, ChildError, Children, cpu_seconds, rss_kib
from load_report import print_report, summary

STACKS = ("glasstls", "ssl")
# What a ``run`` answer times per connection (load_client.cycle): the handshake, the echo, the close.
LATENCIES = ("latencies", "echo_latencies", "close_latencies")
CONNECTION_TIMEOUT = 30.0  # one connection of the load, from connect() to the end of close()
QUIET_TIMEOUT = 10.0  # for a server's connections to end between two steps


@dataclass(frozen=True)
class Plan:
    levels: tuple[int, ...]  # concurrent clients in section 1
    level_seconds: float  # per level, server and round
    rounds: int
    held: int  # sections 2 and 3
    churn: int  # connections made while ``held`` are open
    churn_concurrency: int
    churn_chunks: int  # the churn is cut in chunks, alternating the servers
    churn_seconds: float  # the bound of one chunk
    lorises: int
    loris_seconds: float
    probe_every: float
    warmup: int  # connections made on a fresh server before anything is measured


# The loris section lasts past the 10 s handshake deadline, so each loris is dropped and
# reconnects once while the fresh client probes; --quick keeps the 1,000-client level out,
# as its 1,000 connections alone take seconds on a busy machine. --quick measures each level
# in three rounds, the servers' order alternating: with one, a burst of other work on the
# machine fell on one server's 0.8 s alone, and the ratio of a run moved by a third.
FULL = Plan((1, 100, 1000), 3.0, 2, 1000, 10_000, 100, 4, 90.0, 500, 14.0, 0.1, 50)
QUICK = Plan((1, 100), 0.8, 3, 200, 400, 50, 2, 30.0, 100, 3.0, 0.2, 10)


def load_processes() -> int:
    """How many load processes share the clients: the cores but one (the server's), and at least two,
    since a client's handshake costs about twice a server's and one process is one core."""
    return max(2, (os.cpu_count() or 1) - 1)


def fd_needed(plan: Plan) -> int:
    """Descriptors the busiest child holds at once (the first load process: held to both servers, plus
    the load), with room."""
    return 2 * plan.held + max(*plan.levels, plan.churn_concurrency, plan.lorises + 1) + 512


class Bench:
    """The load generator and the two servers of one run, and the steps they go through."""

    def __init__(self, children: Children, pki: Pki, plan: Plan, fds: int, processes: int) -> None:
        self.children, self.pki, self.plan, self.fds = children, pki, plan, fds
        args = (str(pki.directory), str(fds))
        self.clients = [children.start(f"load client {i + 1}", "load_client.py", *args) for i in range(processes)]
        self.client = self.clients[0]  # checks, held connections, lorises, and runs of a single client
        self.servers: dict[str, Child] = {}
        self.told: dict[str, str] = {}
        self.ports: dict[str, int] = {}

    def start_servers(self) -> None:
        """Fresh server processes, checked for what they negotiate and warmed up."""
        for stack in STACKS:
            if stack in self.servers:
                self.children.stop(self.servers.pop(stack))
            args = (stack, str(self.pki.directory), str(self.fds))
            server = self.children.start(f"{stack} server", "load_server.py", *args)
            hello = server.read(30.0)
            self.servers[stack], self.ports[stack], self.told[stack] = server, hello["port"], hello["told"]
            checked = self.client.ask({"op": "check", "port": hello["port"]}, 20.0)
            if (checked["version"], checked["suite"]) != ("TLSv1.3", "TLS_AES_128_GCM_SHA256"):
                raise ChildError(f"{stack} negotiated {checked}")
            self.run(stack, 1, self.plan.warmup, 30.0)

    def quiet(self, stack: str) -> None:
        """Wait for a server's connections of the previous step to end, so that no step pays for another."""
        deadline = time.monotonic() + QUIET_TIMEOUT
        while self.servers[stack].ask("stats", 5.0)["handlers"] and time.monotonic() < deadline:
            time.sleep(0.1)

    def measured(self, stack: str, commands: list[dict[str, Any]], bound: float) -> dict[str, Any]:
        """Run client commands against ``stack`` at once, one per load process (the first ones), with
        the server's CPU seconds and the load processes' (summed) while they ran; the answers combined."""
        server, clients = self.servers[stack], self.clients[: len(commands)]
        server_cpu, client_cpu = cpu_seconds(server.pid), sum(cpu_seconds(c.pid) for c in clients)
        for client, command in zip(clients, commands, strict=True):
            client.send(json.dumps({**command, "port": self.ports[stack], "bound": bound}))
        answer = combined([client.read(bound + 10.0) for client in clients])  # each one's own bound first
        answer["server_cpu"] = cpu_seconds(server.pid) - server_cpu
        answer["client_cpu"] = sum(cpu_seconds(c.pid) for c in clients) - client_cpu
        return answer

    def run(self, stack: str, concurrency: int, count: int, seconds: float) -> dict[str, Any]:
        """``concurrency`` clients making at most ``count`` connections within ``seconds``, shared out
        among the load processes (as many as there are clients, at most)."""
        processes = min(len(self.clients), concurrency)
        commands = [
            {
                "op": "run",
                "concurrency": share(concurrency, processes, index),
                "count": share(count, processes, index),
                "seconds": seconds,
                "timeout": CONNECTION_TIMEOUT,
            }
            for index in range(processes)
        ]
        return self.measured(stack, commands, seconds + CONNECTION_TIMEOUT + 5)

    def levels(self) -> dict[str, dict[int, dict[str, Any]]]:
        """Section 1: each level in ``rounds`` rounds, the servers' order alternating from round to round."""
        results: dict[str, dict[int, dict[str, Any]]] = {stack: {} for stack in STACKS}
        for round_ in range(self.plan.rounds):
            for level in self.plan.levels:
                for stack in STACKS if round_ % 2 == 0 else STACKS[::-1]:
                    self.quiet(stack)
                    answer = self.run(stack, level, 1_000_000, self.plan.level_seconds)
                    merge(results[stack].setdefault(level, {}), answer)
                    progress(f"round {round_ + 1}, {level} clients, {stack}: {answer['completed']} connections")
        return results

    def held_and_churn(self) -> dict[str, dict[str, Any]]:
        """Sections 2 and 3, on fresh servers: RSS around the held connections, then the churn among them."""
        plan, results = self.plan, {stack: {} for stack in STACKS}
        self.start_servers()
        for stack in STACKS:
            self.quiet(stack)
            time.sleep(0.5)
            before = rss_kib(self.servers[stack].pid)
            held = self.client.ask(
                {"op": "hold", "port": self.ports[stack], "count": plan.held, "concurrency": 100, "timeout": 60.0},
                120.0,
            )
            time.sleep(1.0)  # the last handshakes' garbage collected, the connections idle
            after = rss_kib(self.servers[stack].pid)
            handlers = self.servers[stack].ask("stats", 5.0)["handlers"]
            results[stack].update(held=held, rss_before=before, rss_after=after, handlers=handlers)
            progress(f"{stack}: {held['held']} held, RSS {before} -> {after} KiB")
        chunk = plan.churn // plan.churn_chunks
        for index in range(plan.churn_chunks):
            for stack in STACKS if index % 2 == 0 else STACKS[::-1]:
                answer = self.run(stack, plan.churn_concurrency, chunk, plan.churn_seconds)
                merge(results[stack].setdefault("churn", {}), answer)
                progress(f"churn {index + 1}/{plan.churn_chunks}, {stack}: {answer['completed']} connections")
        for stack in STACKS:
            port = self.ports[stack]
            results[stack]["probe_held"] = self.client.ask({"op": "probe_held", "port": port, "timeout": 30.0}, 60.0)
            results[stack]["release"] = self.client.ask({"op": "release", "port": port, "timeout": 30.0}, 60.0)
        return results

    def lorises(self) -> dict[str, dict[str, Any]]:
        """Section 4, one server after the other."""
        plan, results = self.plan, {}
        for stack in STACKS:
            self.quiet(stack)
            command = {
                "op": "loris",
                "count": plan.lorises,
                "seconds": plan.loris_seconds,
                "probe_every": plan.probe_every,
                "timeout": CONNECTION_TIMEOUT,
            }
            results[stack] = self.measured(stack, [command], plan.loris_seconds + CONNECTION_TIMEOUT + 10)
            progress(f"lorises, {stack}: {len(results[stack]['latencies'])} probes")
        return results

    def server_errors(self) -> dict[str, dict[str, int]]:
        return {stack: server.ask("stats", 5.0)["errors"] for stack, server in self.servers.items()}


def share(total: int, parts: int, index: int) -> int:
    """Part ``index`` of ``total`` cut into ``parts`` near-equal whole parts."""
    return total // parts + (index < total % parts)


def combined(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``run`` answer from those of the load processes that ran it side by side (a single
    answer, of any command, as it is): counts added, the longest elapsed time."""
    if len(answers) == 1:
        return answers[0]
    return {
        "completed": sum(a["completed"] for a in answers),
        "failures": dict(sum((Counter(a["failures"]) for a in answers), Counter())),
        "elapsed": max(a["elapsed"] for a in answers),
        **{key: [x for a in answers for x in a[key]] for key in LATENCIES},
        "time_bound_hit": any(a["time_bound_hit"] for a in answers),
    }


def merge(total: dict[str, Any], answer: dict[str, Any]) -> None:
    """Add one ``run`` answer to the total of its level (or churn)."""
    for key in ("completed", "elapsed", "server_cpu", "client_cpu"):
        total[key] = total.get(key, 0) + answer[key]
    total.setdefault("round_rates", []).append(answer["completed"] / answer["elapsed"] if answer["elapsed"] else 0.0)
    for key in LATENCIES:
        total.setdefault(key, []).extend(answer[key])
    total["failures"] = dict(Counter(total.get("failures", {})) + Counter(answer["failures"]))
    total["time_bound_hit"] = total.get("time_bound_hit", False) or answer["time_bound_hit"]


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def measure(plan: Plan, directory: Path, processes: int) -> dict[str, Any]:
    fds = fd_needed(plan)
    raise_fd_limit(fds)  # the children inherit the raised soft limit, and raise their own as well
    pki = Pki(directory).make()
    env = {**os.environ, "OPENSSL_CONF": str(pki.openssl_conf), "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONASYNCIODEBUG", None)  # asyncio's debug mode would measure itself
    with Children(directory, env) as children:
        bench = Bench(children, pki, plan, fds, processes)
        bench.start_servers()
        raw = {"levels": bench.levels()}
        raw["held"] = bench.held_and_churn()
        raw["loris"] = bench.lorises()
        raw["server_errors"] = bench.server_errors()
        raw["told"] = dict(bench.told)
    return raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts: a smoke run of well under a minute")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers to FILE as JSON")
    parser.add_argument(
        "--load-processes",
        type=int,
        default=load_processes(),
        metavar="N",
        help="load processes sharing the clients of a run (default: the cores but one, at least 2: %(default)s)",
    )
    parser.add_argument("--fleet", action="store_true", help="instead: glasstls server --workers 1/2, memory/Redis")
    args = parser.parse_args(argv)
    if args.fleet:  # load_fleet.py: full handshakes and resumptions/s by workers and store (issue 14)
        import load_fleet

        return load_fleet.main([*(["--quick"] if args.quick else []), *(["--json", args.json] if args.json else [])])
    plan = QUICK if args.quick else FULL
    if args.load_processes < 1:
        parser.error("--load-processes must be at least 1")
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="glasstls-load-") as directory:
            raw = measure(plan, Path(directory), args.load_processes)
    except KeyboardInterrupt:
        print("interrupted; every server and client process was stopped", file=sys.stderr)
        return 130
    except ChildError as exc:
        print(f"load: {exc}", file=sys.stderr)
        return 1
    numbers = summary(raw, plan)
    numbers["plan"] = asdict(plan)
    numbers["load_processes"] = args.load_processes
    numbers["wall_seconds"] = round(time.monotonic() - started, 1)
    print_report(numbers)
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2) + "\n")
    return 0 if numbers["failures_total"] == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
