"""Requests per second through urllib3 and requests, over ssl.SSLContext and over glasstls.SSLContext.

    .venv/bin/python bench/compat_http.py [--quick] [--json FILE] [--rounds 5] [--seconds 1.5]
                                          [--warmup 0.5] [--server auto|nginx|stdlib]

One local HTTPS server for every run, started here on 127.0.0.1 and stopped at the
end (compat_http_server.py): nginx with a private prefix when it is installed
(Debian's /usr/sbin/nginx), else ``http.server.ThreadingHTTPServer`` over Python's
ssl in a child process; the output names the one that ran. It serves a 1 KiB
static file over HTTP/1.1 with keep-alive, TLS 1.2 and 1.3 both allowed, and pins
the server's side of the negotiation so that both clients get the same: TLS 1.3
TLS_AES_128_GCM_SHA256, TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256, the group X25519,
an ECDSA P-256 certificate for 127.0.0.1 under a throwaway root and intermediate
(glasstls.x509.mint.ThrowawayCA). What each client negotiates is checked before
anything is timed.

Eight metrics, each timed with ``ssl.SSLContext`` and with ``glasstls.SSLContext``,
both ``PROTOCOL_TLS_CLIENT`` verifying the server (chain and IP address) against
the throwaway root, ``maximum_version`` set to the version of the row:

* urllib3 keep-alive: ``PoolManager(ssl_context=ctx)``, GETs on one connection;
* urllib3 new connection: the same with ``Connection: close``, so that every GET
  makes a TCP connection and a full handshake (urllib3 resumes no sessions);
* requests keep-alive and new connection: the same through ``requests.Session``
  with an ``HTTPAdapter`` that hands the context to urllib3's PoolManager, the
  session's ``verify`` pointing at the root file and ``trust_env`` off (no proxy or
  CA bundle from the environment). requests then has urllib3 call
  ``ctx.load_verify_locations(root file)`` on every new connection, as it does with
  any ``verify``: that cost is part of its rows, for both contexts.

Every (metric, context) pair has a context, pool or session of its own. The server
counts connections and requests (``/status``: nginx's stub_status), read before and
after each timed run: a keep-alive run must have opened no connection, a
new-connection run exactly one per request, and the server must have answered every
request; anything else stops the benchmark. The timed runs go in interleaved rounds
(every metric, both contexts, then the next round, the contexts' order alternating),
so a drift in the machine's load falls on both alike; the table gives the median
requests/s of the rounds, their min-max, and glasstls/ssl of the medians and of each
round (both measured seconds apart). Client and server share the machine's cores.

This is a script that prints numbers, not a timed test; tests/test_bench_compat_http.py
only checks that ``--quick`` runs through and reports every metric.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # bench/ is not a package: its modules are imported by name
    sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
except ImportError as missing:  # not a dependency of glasstls itself
    sys.exit(f"compat_http.py needs requests and urllib3 ({missing}): .venv/bin/pip install requests urllib3")

from common import NotNegotiated, Rate, expect, group_name, rate  # noqa: E402
from compat_http_server import (  # noqa: E402
    GROUP,
    TLS12_SUITE,
    TLS13_SUITE,
    WAIT,
    Server,
    find_nginx,
    https_server,
    parse_status,
)

import glasstls  # noqa: E402
from glasstls.x509.mint import ThrowawayCA  # noqa: E402

STACKS: dict[str, Any] = {"ssl": ssl.SSLContext, "glasstls": glasstls.SSLContext}
HOST = "127.0.0.1"
FILE_NAME = "small.bin"
FILE_SIZE = 1024


@dataclass(frozen=True)
class Version:
    key: str
    label: str
    maximum: ssl.TLSVersion
    cipher: str  # what both clients must negotiate (OpenSSL's name, as SSLSocket.cipher() gives it)


VERSIONS = (
    Version("tls13", "TLS 1.3", ssl.TLSVersion.TLSv1_3, TLS13_SUITE),
    Version("tls12", "TLS 1.2", ssl.TLSVersion.TLSv1_2, TLS12_SUITE),
)
CLIENTS = {"urllib3": "urllib3", "requests": "requests"}
MODES = {"keepalive": "keep-alive", "new": "new connection"}


@dataclass(frozen=True)
class Metric:
    version: Version
    client: str
    mode: str

    @property
    def key(self) -> str:
        return f"{self.version.key}.{self.client}.{self.mode}"

    @property
    def label(self) -> str:
        return f"{self.version.label} {CLIENTS[self.client]} {MODES[self.mode]}"


METRICS = tuple(Metric(v, c, m) for v in VERSIONS for c in CLIENTS for m in MODES)


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: float  # timed, per metric, context and round
    warmup: float  # untimed, per metric and context, before the first round


FULL = Plan(rounds=5, seconds=1.5, warmup=0.5)
QUICK = Plan(rounds=2, seconds=0.1, warmup=0.05)


# -- the clients --------------------------------------------------------------------------------


def client_context(stack: str, version: Version, root: Path) -> Any:
    context = STACKS[stack](ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname on
    context.load_verify_locations(cafile=str(root))
    context.maximum_version = version.maximum
    return context


class ContextAdapter(HTTPAdapter):
    """The usual way to give requests an SSLContext: the adapter hands it to urllib3's PoolManager."""

    def __init__(self, context: Any) -> None:
        self.context = context  # before HTTPAdapter.__init__, which calls init_poolmanager
        super().__init__()

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, ssl_context=self.context, **pool_kwargs)


def _checked(status: int, body: bytes, what: str) -> int:
    expect(status == 200 and len(body) == FILE_SIZE, f"{what}: status {status}, {len(body)} bytes")
    return 1


@dataclass
class Run:
    """One context's client for one metric: its own context and pool (or session), the operation, its rounds."""

    stack: str
    metric: Metric
    context: Any
    operation: Callable[[], int]
    close: Callable[[], None]
    rates: list[Rate] = field(default_factory=list)
    connections: int = 0  # opened during the timed runs, as the server counted them

    @classmethod
    def make(cls, stack: str, metric: Metric, url: str, root: Path) -> Run:
        context = client_context(stack, metric.version, root)
        headers = {"Connection": "close"} if metric.mode == "new" else {}
        what = f"{stack} {metric.label}"
        if metric.client == "urllib3":
            manager = urllib3.PoolManager(ssl_context=context, retries=False, maxsize=1)

            def pool_get() -> int:
                response = manager.request("GET", url, headers=headers)
                return _checked(response.status, response.data, what)

            return cls(stack, metric, context, pool_get, manager.clear)
        session = requests.Session()
        session.trust_env = False
        session.verify = str(root)
        session.mount("https://", ContextAdapter(context))

        def session_get() -> int:
            response = session.get(url, headers=headers)
            return _checked(response.status_code, response.content, what)

        return cls(stack, metric, context, session_get, session.close)

    def trust_store_size(self) -> int:
        return int(self.context.cert_store_stats()["x509"])


# -- the server's counters and the negotiation check ---------------------------------------------


class Counters:
    """The server's (accepted connections, requests), read over a connection of their own (Python's ssl)."""

    def __init__(self, port: int, root: Path) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=str(root))

    def read(self) -> tuple[int, int]:
        connection = http.client.HTTPSConnection(HOST, self.port, context=self.context, timeout=WAIT)
        try:
            connection.request("GET", "/status", headers={"Connection": "close"})
            response = connection.getresponse()
            body = response.read().decode()
            expect(response.status == 200, f"/status: {response.status} {body!r}")
        finally:
            connection.close()
        return parse_status(body)


def negotiated(port: int, root: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """What each context negotiates with the server, per version, checked against what the rows claim."""
    import socket

    found: dict[str, dict[str, dict[str, Any]]] = {}
    for version in VERSIONS:
        for stack in STACKS:
            context = client_context(stack, version, root)
            with (
                socket.create_connection((HOST, port), timeout=WAIT) as raw,
                context.wrap_socket(raw, server_hostname=HOST) as tls,
            ):
                got = {"version": tls.version(), "cipher": tls.cipher()[0]}
            expect(got == {"version": f"TLSv{version.label[4:]}", "cipher": version.cipher}, f"{stack}: {got}")
            found.setdefault(version.key, {})[stack] = got
    return found


# -- measuring ----------------------------------------------------------------------------------


def timed(run: Run, counters: Counters, seconds: float) -> None:
    """One timed run, with the server's count of connections and requests around it."""
    accepts0, requests0 = counters.read()
    measured = rate(run.operation, seconds, 0)
    accepts1, requests1 = counters.read()
    accepts, answered = accepts1 - accepts0 - 1, requests1 - requests0 - 1  # less the second read's own
    expected = measured.count if run.metric.mode == "new" else 0
    what = f"{run.stack} {run.metric.label}"
    expect(answered == measured.count, f"{what}: {measured.count} requests made, the server answered {answered}")
    expect(accepts == expected, f"{what}: {accepts} connections for {measured.count} requests, {expected} expected")
    run.rates.append(measured)
    run.connections += accepts


def measure(runs: dict[str, dict[str, Run]], counters: Counters, plan: Plan) -> None:
    """Warm every run up, then the interleaved rounds: every metric, both contexts, the order alternating."""
    for by_stack in runs.values():
        for run in by_stack.values():
            rate(run.operation, 0, plan.warmup)
    stacks = list(STACKS)
    for round_ in range(plan.rounds):
        order = stacks if round_ % 2 == 0 else stacks[::-1]
        for metric in METRICS:
            for stack in order:
                timed(runs[metric.key][stack], counters, plan.seconds)


# -- the report ---------------------------------------------------------------------------------


def _stack_numbers(run: Run) -> dict[str, Any]:
    values = [r.value for r in run.rates]
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "rounds": values,
        "requests": sum(r.count for r in run.rates),
        "seconds": sum(r.elapsed for r in run.rates),
        "connections": run.connections,
        "trust_store_x509": run.trust_store_size(),
    }


def summary(runs: dict[str, dict[str, Run]]) -> dict[str, Any]:
    numbers: dict[str, Any] = {}
    for metric in METRICS:
        by_stack = {stack: _stack_numbers(runs[metric.key][stack]) for stack in STACKS}
        ssl_, glass = by_stack["ssl"], by_stack["glasstls"]
        numbers[metric.key] = {
            "label": metric.label,
            "version": metric.version.label,
            "client": metric.client,
            "mode": metric.mode,
            **by_stack,
            "ratio": glass["median"] / ssl_["median"],
            "ratio_rounds": [g / s for g, s in zip(glass["rounds"], ssl_["rounds"], strict=True)],
        }
    return numbers


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _row(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    """The first column left-aligned, numbers right-aligned."""
    cells = tuple(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
    return "  ".join(cells).rstrip()


def print_table(metrics: dict[str, Any]) -> None:
    header = ("requests/s, median of rounds", "ssl", "min-max", "glasstls", "min-max", "glasstls/ssl", "per round")
    header += ("requests timed",)
    widths = (33, 7, 13, 8, 13, 12, 11, 15)
    print(_row(header, widths))
    for numbers in metrics.values():
        s, g, per_round = numbers["ssl"], numbers["glasstls"], numbers["ratio_rounds"]
        print(
            _row(
                (
                    numbers["label"], _fmt(s["median"]), f"{_fmt(s['min'])}-{_fmt(s['max'])}", _fmt(g["median"]),
                    f"{_fmt(g['min'])}-{_fmt(g['max'])}", f"{numbers['ratio']:.2f}x",
                    f"{min(per_round):.2f}-{max(per_round):.2f}", f"{s['requests']:,}/{g['requests']:,}",
                ),
                widths,
            )
        )  # fmt: skip


def print_notes(metrics: dict[str, Any]) -> None:
    print("\nrequests timed: ssl/glasstls, all rounds together")
    grown = [
        f"{n['label']}: ssl {n['ssl']['trust_store_x509']:,}, glasstls {n['glasstls']['trust_store_x509']:,}"
        for n in metrics.values()
        if n["ssl"]["trust_store_x509"] != n["glasstls"]["trust_store_x509"]
    ]
    if grown:
        print("certificates in each context's trust store after the runs (cert_store_stats()['x509']), where the")
        print("two differ; requests has urllib3 load the root again on every new connection, OpenSSL keeps one copy:")
        for line in grown:
            print(f"  {line}")


def print_header(server: Server, plan: Plan, found: dict[str, dict[str, dict[str, Any]]]) -> None:
    print(
        f"Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}, urllib3 {urllib3.__version__}, "
        f"requests {requests.__version__}"
    )
    print(f"server: {server.name} on {HOST}:{server.port}, GET /{FILE_NAME} ({FILE_SIZE} bytes), HTTP/1.1")
    for version in VERSIONS:
        said = ", ".join(f"{stack} {got['version']} {got['cipher']}" for stack, got in found[version.key].items())
        print(f"  {version.label}: {said}; the server's only group {GROUP}")
    shares = ", ".join(group_name(g) for g in glasstls.SSLContext(ssl.PROTOCOL_TLS_CLIENT).client_config().shares_for)
    print(f"  key shares in glasstls.SSLContext's ClientHello: {shares} (its profile's default)")
    print(
        f"{plan.rounds} interleaved rounds of {plan.seconds:g} s per metric and context "
        f"(after {plan.warmup:g} s of warm-up each); each context verifies the server against a throwaway root\n"
    )


# -- the run ------------------------------------------------------------------------------------


def make_files(directory: Path) -> tuple[Path, Path, Path, Path]:
    """The throwaway PKI and the served file: (root, chain, key, file)."""
    ca = ThrowawayCA.create("compat_http bench root", key_type="ecdsa-p256")  # root and one intermediate
    server = ca.issue_server([HOST, "localhost"], key_type="ecdsa-p256")
    root, chain, key = directory / "root.pem", directory / "chain.pem", directory / "key.pem"
    root.write_bytes(ca.root_pem())
    server.write(chain, key)
    www = directory / "www"
    www.mkdir()
    file = www / FILE_NAME
    file.write_bytes(os.urandom(FILE_SIZE))
    return root, chain, key, file


@contextlib.contextmanager
def _closing(runs: dict[str, dict[str, Run]]) -> Iterator[None]:
    try:
        yield
    finally:
        for by_stack in runs.values():
            for run in by_stack.values():
                run.close()


def bench(plan: Plan, server_choice: str) -> dict[str, Any]:
    if server_choice == "nginx" and find_nginx() is None:
        raise SystemExit("compat_http.py --server nginx: nginx is not installed (Debian package nginx; make peers)")
    with tempfile.TemporaryDirectory(prefix="glasstls-compat-http-") as tmp:
        root, chain, key, file = make_files(Path(tmp))
        with https_server(chain, key, file, prefer_nginx=server_choice != "stdlib") as server:
            found = negotiated(server.port, root)
            print_header(server, plan, found)
            url = f"https://{HOST}:{server.port}/{FILE_NAME}"
            runs = {m.key: {stack: Run.make(stack, m, url, root) for stack in STACKS} for m in METRICS}
            with _closing(runs):
                measure(runs, Counters(server.port, root), plan)
            server_name, port = server.name, server.port
    metrics = summary(runs)
    print_table(metrics)
    print_notes(metrics)
    return {
        "server": {"name": server_name, "port": port, "file_bytes": FILE_SIZE, "group": GROUP},
        "plan": asdict(plan),
        "python": sys.version.split()[0],
        "openssl": ssl.OPENSSL_VERSION,
        "urllib3": urllib3.__version__,
        "requests": requests.__version__,
        "negotiated": found,
        "metrics": metrics,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds), for a smoke test")
    parser.add_argument("--json", metavar="FILE", help="write every number to FILE")
    parser.add_argument("--rounds", type=int, help=f"interleaved rounds ({FULL.rounds}; {QUICK.rounds} with --quick)")
    parser.add_argument("--seconds", type=float, help=f"timed per metric, context and round ({FULL.seconds:g})")
    parser.add_argument("--warmup", type=float, help=f"untimed per metric and context ({FULL.warmup:g})")
    parser.add_argument("--server", choices=("auto", "nginx", "stdlib"), default="auto", help="nginx if installed")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    plan = Plan(
        args.rounds if args.rounds is not None else base.rounds,
        args.seconds if args.seconds is not None else base.seconds,
        args.warmup if args.warmup is not None else base.warmup,
    )
    # A SIGTERM unwinds like Ctrl-C, so the server is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        numbers = bench(plan, args.server)
    except NotNegotiated as failure:
        print(f"compat_http.py: {failure}", file=sys.stderr)
        return 1
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
