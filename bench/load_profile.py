"""Where a load_server.py process spends its CPU per connection: the handshake (Connection) or the I/O around it.

    .venv/bin/python bench/load_profile.py [--rounds N] [--seconds S] [--concurrency C] [--profile FILE]

The servers and the load client of load.py (same processes, same PKI, same
pinned TLS parameters), but only its section 1 at one level: ``rounds``
interleaved runs of ``seconds`` each against the glasstls and the ssl server,
with each server's CPU time per connection (user + system, /proc/PID/stat) per
round, its median and spread. With ``--profile FILE``, one more run against
the glasstls server under cProfile (its stats written to FILE), broken down by
where the time is spent: inside the sans-I/O Connection (its receive_bytes,
data_to_send, send, close and construction, cumulative) and everything else of
the server process (io/, asyncio, sockets, the echo handler), by own time.
cProfile slows Python code more than C code, so read the split as shares, not
as milliseconds. Its clock is the wall's: the loop's idle wait in the selector
is shown apart and left out of the split, but a send() that wakes the client
also holds whatever time the server then waits for a CPU (most of the "rest"
at one client on a busy machine); the instruction counts below have neither.

With ``--callgrind N``, instead: the glasstls server alone under valgrind's
callgrind, N connections after a warm-up, counted in instructions (Ir, user
space only: not the kernel's work), which do not depend on the machine's load.
The Connection's entry points are called through operator.call there
(load_server.py's LOAD_SPLIT_CONNECTION), so the instructions inside the
Connection and those of the rest of the server are told apart.
"""

from __future__ import annotations

import argparse
import glob
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from load import CONNECTION_TIMEOUT, QUICK, STACKS, fd_needed
from load_common import Pki, raise_fd_limit
from load_procs import Child, Children, cpu_seconds

# The Connection's entry points the io layer calls: their cumulative time is the handshake's (and the
# records'); what is left of the process is the io layer's, asyncio's, the kernel's and the handler's.
CONNECTION_CALLS = (
    ("connection.py", "receive_bytes"),
    ("connection.py", "data_to_send"),
    ("connection.py", "send"),
    ("connection.py", "close"),
    ("connection.py", "__init__"),
)
# The selector's wait, as cProfile names the C methods: epoll (Linux), kqueue (BSD, macOS), poll, select.
SELECTOR_WAITS = (
    "<method 'poll' of 'select.epoll' objects>",
    "<method 'control' of 'select.kqueue' objects>",
    "<method 'poll' of 'select.poll' objects>",
    "<built-in method select.select>",
)


def run(client: Child, server: Child, port: int, concurrency: int, seconds: float) -> tuple[int, float]:
    """One run of the load against ``server``: connections completed and the server's CPU seconds."""
    before = cpu_seconds(server.pid)
    command = {"op": "run", "port": port, "concurrency": concurrency, "count": 10**6, "seconds": seconds}
    answer = client.ask({**command, "timeout": CONNECTION_TIMEOUT}, seconds + CONNECTION_TIMEOUT + 5)
    if answer["failures"]:
        raise SystemExit(f"failures: {answer['failures']}")
    return answer["completed"], cpu_seconds(server.pid) - before


def split(stats_file: str, connections: int) -> None:
    """Print the profile's top own times and its Connection / rest split, per connection."""
    stats = pstats.Stats(stats_file)
    table: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    # cProfile's clock is the wall's: the loop's wait for the network (the selector's poll) is in it,
    # idle, and at one client it is most of the run. It is shown apart and left out of the shares.
    idle = sum(row[2] for (path, _line, name), row in table.items() if path == "~" and name in SELECTOR_WAITS)
    total = sum(row[2] for row in table.values()) - idle  # own times add up to the whole
    inside = 0.0
    for (path, _line, name), row in table.items():
        if any(path.endswith(f"glasstls/{file}") and name == call for file, call in CONNECTION_CALLS):
            inside += row[3]  # cumulative; these do not call one another
    per = 1000 / connections
    print(f"\nprofiled: {connections} connections, {total * per:.3f} ms per connection under cProfile")
    print(f"  in the Connection (cumulative): {inside * per:.3f} ms ({inside / total:.0%})")
    print(f"  the rest (io, asyncio, kernel): {(total - inside) * per:.3f} ms ({(total - inside) / total:.0%})")
    print(f"  besides, waiting in the selector's poll (idle, left out): {idle * per:.3f} ms")
    print("\nown time outside the Connection's calls is in these, top 25 by own time (all of the process):")
    stats.sort_stats("tottime").print_stats(25)


def callgrind(pki: Pki, directory: str, env: dict[str, str], fds: int, count: int, concurrency: int) -> None:
    """Instructions per connection of the glasstls server under callgrind: all of them, and the Connection's."""
    out = Path(directory) / "callgrind.out"
    valgrind = ("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}.%p")
    with Children(Path(directory), {**env, "LOAD_SPLIT_CONNECTION": "1"}) as children:
        client = children.start("load client", "load_client.py", directory, str(fds))
        server = children.start("glasstls server", "load_server.py", "glasstls", directory, str(fds), prefix=valgrind)
        port = server.read(120.0)["port"]
        run(client, server, port, 20, 5.0)  # warm-up, not counted (instrumentation is off)
        subprocess.run(["callgrind_control", "--instr=on", str(server.pid)], check=True, capture_output=True)
        started = time.monotonic()
        command = {"op": "run", "port": port, "concurrency": concurrency, "count": count, "seconds": 3600}
        answer = client.ask({**command, "timeout": 600}, 4000)
        subprocess.run(["callgrind_control", "--instr=off", str(server.pid)], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "--dump", str(server.pid)], check=True, capture_output=True)
        seconds = time.monotonic() - started
    if answer["failures"] or answer["completed"] != count:
        raise SystemExit(
            f"under callgrind: {answer['completed']} of {count} connections, failures {answer['failures']}"
        )
    dump = max(glob.glob(f"{out}.*.1"), key=os.path.getmtime)
    total = int(re.search(r"^totals: (\d+)", Path(dump).read_text(), re.M).group(1))  # type: ignore[union-attr]
    annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump],
                               check=True, capture_output=True, text=True).stdout  # fmt: skip
    inside = max(int(line.split()[0].replace(",", "")) for line in annotated.splitlines() if ":_operator_call " in line)
    per = 1e6 * count
    print(f"glasstls server under callgrind, {count} connections at {concurrency} ({seconds:.0f} s):")
    print(
        f"  {total / per:.3f} M instructions per connection: Connection {inside / per:.3f} M, "
        f"the rest (io, asyncio, handler) {(total - inside) / per:.3f} M"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--profile", metavar="FILE", help="then profile the glasstls server for one more run")
    parser.add_argument("--callgrind", metavar="N", type=int, help="instead: instructions of N connections")
    args = parser.parse_args(argv)
    fds = fd_needed(QUICK)
    raise_fd_limit(fds)
    with tempfile.TemporaryDirectory(prefix="glasstls-profile-") as directory:
        pki = Pki(directory).make()
        env = {**os.environ, "OPENSSL_CONF": str(pki.openssl_conf), "PYTHONUNBUFFERED": "1"}
        env.pop("PYTHONASYNCIODEBUG", None)
        if args.callgrind:
            callgrind(pki, directory, env, fds, args.callgrind, args.concurrency)
            return 0
        with Children(Path(directory), env) as children:
            client = children.start("load client", "load_client.py", str(pki.directory), str(fds))
            servers, ports = {}, {}
            for stack in STACKS:
                servers[stack] = children.start(f"{stack} server", "load_server.py", stack, directory, str(fds))
                ports[stack] = servers[stack].read(30.0)["port"]
                run(client, servers[stack], ports[stack], 10, 0.5)  # warm-up
            cpu: dict[str, list[float]] = {stack: [] for stack in STACKS}
            rates: dict[str, list[float]] = {stack: [] for stack in STACKS}
            for index in range(args.rounds):
                for stack in STACKS if index % 2 == 0 else STACKS[::-1]:
                    done, seconds = run(client, servers[stack], ports[stack], args.concurrency, args.seconds)
                    cpu[stack].append(seconds * 1000 / done)
                    rates[stack].append(done / args.seconds)
            ratios = [g / s for g, s in zip(cpu["glasstls"], cpu["ssl"], strict=True)]
            for stack in STACKS:
                values = cpu[stack]
                print(
                    f"{stack:9} server CPU ms/connection: median {statistics.median(values):.3f} "
                    f"({min(values):.3f}-{max(values):.3f}), about {statistics.median(rates[stack]):.0f}/s"
                )
            print(
                f"glasstls/ssl CPU per connection: median {statistics.median(ratios):.3f} "
                f"({min(ratios):.3f}-{max(ratios):.3f}), {args.rounds} rounds"
            )
            if args.profile:
                target = str(Path(args.profile).resolve())
                servers["glasstls"].ask("profile", 5.0)
                done, _ = run(client, servers["glasstls"], ports["glasstls"], args.concurrency, args.seconds)
                servers["glasstls"].ask(f"profiled {target}", 30.0)
                split(target, done)
    return 0


if __name__ == "__main__":
    sys.exit(main())
