"""Bulk data over a real TCP connection, glasstls against Python's ssl (OpenSSL), API by API.

    .venv/bin/python bench/sockets.py [--megabytes N] [--rounds N] [--json FILE]

bench.py's bulk rows seal and open records in memory; a program moves data through
a socket, where what a driver copies, and when it sends, count as much as the AEAD.
Here one process sends ``--megabytes`` of data in 1 MiB writes and another receives
it in 64 KiB reads, over a TLS 1.3 connection on 127.0.0.1 (TLS_AES_128_GCM_SHA256,
X25519: pinned through OPENSSL_CONF as in bench.py, which the ssl-compatible contexts read
as ssl's do), through the four ways
glasstls is used and their ssl counterparts:

* blocking sockets: ``glasstls.connect``/``glasstls.accept`` (TLSSocket: ``sendall``,
  ``recv``) against ``ssl.SSLContext.wrap_socket``;
* the ssl-compatible socket: ``glasstls.SSLContext.wrap_socket`` against
  ``ssl.SSLContext.wrap_socket``, the same calls on both;
* asyncio streams: ``glasstls.io.aio.open_connection``/``start_server`` against
  ``asyncio.open_connection``/``start_server`` with ``ssl=``;
* asyncio streams with ``ssl=`` a ``glasstls.SSLContext`` (asyncio's own TLS protocol over
  glasstls's SSLObject, as aiohttp and anything else on asyncio use it) against the same
  with an ``ssl.SSLContext``.

Each row: megabytes per second at the receiver (its wall clock from the first read to
the last byte), and each side's CPU time per megabyte (its process's user + system
time). Rounds interleave the stacks; medians are printed with the ratios glasstls/ssl
(throughput: higher is better; CPU: lower is better). The two processes share the
machine's cores with each other and with anything else running.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openssl_conf import pin_openssl

# As bench.py: ssl's TLS 1.3 suite and group, before anything imports ssl (asyncio does).
pin_openssl("glasstls-sockets-")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from common import HOST, Pki, expect, make_pki  # noqa: E402
from stacks_glasstls import Glasstls  # noqa: E402
from stacks_ssl import PythonSsl  # noqa: E402

import glasstls  # noqa: E402
from glasstls.io.aio import open_connection as tls_open_connection  # noqa: E402
from glasstls.io.aio_server import start_server as tls_start_server  # noqa: E402

WRITE = 1 << 20  # the sender's writes
READ = 1 << 16  # the receiver's reads
SUITE = "TLS_AES_128_GCM_SHA256"
API_NAMES = {
    "blocking": "blocking sockets (glasstls.connect / accept)",
    "compat": "ssl-compatible SSLSocket (glasstls.SSLContext)",
    "asyncio": "asyncio streams (glasstls.io.aio)",
    "asyncio_compat": "asyncio streams, ssl=glasstls.SSLContext",
}

# -- one side of one transfer, per API and stack ---------------------------------------------


class Stacks:
    """Each stack's TLS 1.3 client and server, for each API, on one throwaway PKI."""

    def __init__(self, pki: Pki) -> None:
        self.native = Glasstls(pki, SUITE)
        self.ssl = PythonSsl(pki, SUITE)
        self.compat_client = glasstls.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.compat_client.load_verify_locations(cafile=pki.root_file)
        self.compat_server = glasstls.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.compat_server.load_cert_chain(pki.chain_file, pki.key_file)
        for context in (self.compat_client, self.compat_server):
            # The suite and group: OPENSSL_CONF's (pin_openssl), which the compat contexts read as ssl's do.
            context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3

    def blocking(self, stack: str, sock: socket.socket, server: bool) -> Any:
        if stack == "glasstls":
            if server:
                return glasstls.accept(sock, self.native.server_config, timeout=60)
            conn = glasstls.ClientConnection(self.native.client_config, server_name=HOST)
            tls = glasstls.TLSSocket(sock, conn, timeout=60)
            tls.do_handshake()
            return tls
        return self._wrapped(self.ssl.server_context if server else self.ssl.client_context, sock, server)

    def compat(self, stack: str, sock: socket.socket, server: bool) -> Any:
        if stack == "glasstls":
            return self._wrapped(self.compat_server if server else self.compat_client, sock, server)
        return self._wrapped(self.ssl.server_context if server else self.ssl.client_context, sock, server)

    @staticmethod
    def _wrapped(context: Any, sock: socket.socket, server: bool) -> Any:
        sock.settimeout(60)
        if server:
            return context.wrap_socket(sock, server_side=True)
        return context.wrap_socket(sock, server_hostname=HOST)


def _sync_sender(tls: Any, total: int) -> float:
    data = bytes(WRITE)
    started = time.process_time()
    for _ in range(total // WRITE):
        tls.sendall(data)
    cpu = time.process_time() - started
    tls.recv(1)  # the receiver's word that all arrived, before closing
    return cpu


def _sync_receiver(tls: Any, total: int) -> tuple[float, float, str]:
    got, wall, cpu = 0, time.perf_counter(), time.process_time()
    while got < total:
        chunk = tls.recv(READ)
        if not chunk:
            raise RuntimeError(f"the stream ended after {got} of {total} bytes")
        got += len(chunk)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tls.sendall(b"!")
    return wall, cpu, _suite(tls)


def _suite(tls: Any) -> str:
    params = getattr(tls, "parameters", None)
    if params is not None:
        return f"{params.version}, {params.cipher_suite}"
    version, cipher = tls.version(), tls.cipher()[0]
    return f"{version}, {cipher}"


async def _aio_sender(stacks: Stacks, api: str, stack: str, port: int, total: int) -> float:
    if stack == "glasstls" and api == "asyncio_compat":
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=stacks.compat_client, server_hostname=HOST
        )
    elif stack == "glasstls":
        reader, writer = await tls_open_connection("127.0.0.1", port, stacks.native.client_config, server_name=HOST)
    else:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=stacks.ssl.client_context, server_hostname=HOST
        )
    data = bytes(WRITE)
    started = time.process_time()
    for _ in range(total // WRITE):
        writer.write(data)
        await writer.drain()
    cpu = time.process_time() - started
    await reader.read(1)
    writer.close()
    return cpu


async def _aio_receiver(
    stacks: Stacks, api: str, stack: str, listener: socket.socket, total: int
) -> tuple[float, float, str]:
    done: asyncio.Future[tuple[float, float, str]] = asyncio.get_running_loop().create_future()

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got, wall, cpu = 0, time.perf_counter(), time.process_time()
        while got < total:
            chunk = await reader.read(READ)
            if not chunk:
                break
            got += len(chunk)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        writer.write(b"!")
        await writer.drain()
        writer.close()
        params = writer.get_extra_info("glasstls")  # glasstls's own driver: its NegotiatedParameters
        suite = f"{params.version}, {params.cipher_suite}" if params else _suite(writer.get_extra_info("ssl_object"))
        if got < total:
            done.set_exception(RuntimeError(f"the stream ended after {got} of {total} bytes"))
        else:
            done.set_result((wall, cpu, suite))

    if stack == "glasstls" and api == "asyncio_compat":
        server: Any = await asyncio.start_server(receive, sock=listener, ssl=stacks.compat_server)
    elif stack == "glasstls":
        server = await tls_start_server(receive, config=stacks.native.server_config, sock=listener)
    else:
        server = await asyncio.start_server(receive, sock=listener, ssl=stacks.ssl.server_context)
    try:
        return await asyncio.wait_for(done, 120)
    finally:
        server.close()


# -- a transfer: the sender forked, the receiver here ----------------------------------------------


def transfer(stacks: Stacks, api: str, stack: str, total: int) -> dict[str, Any]:
    """One transfer of ``total`` bytes: the receiver's rate and both sides' CPU per megabyte."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    report_r, report_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the sender: it reports its CPU time and leaves, whatever happens
        status = 1
        try:
            listener.close()
            if api.startswith("asyncio"):
                cpu = asyncio.run(_aio_sender(stacks, api, stack, port, total))
            else:
                sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                cpu = _sync_sender(getattr(stacks, api)(stack, sock, False), total)
            os.write(report_w, repr(cpu).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(report_w)
    try:
        if api.startswith("asyncio"):
            wall, cpu, suite = asyncio.run(_aio_receiver(stacks, api, stack, listener, total))
        else:
            listener.settimeout(60)
            sock, _ = listener.accept()
            wall, cpu, suite = _sync_receiver(getattr(stacks, api)(stack, sock, True), total)
    finally:
        listener.close()
        _, status = os.waitpid(pid, 0)
        sent = os.read(report_r, 64)
        os.close(report_r)
    if status or not sent:
        raise RuntimeError(f"the {stack} sender of the {api} row failed (status {status})")
    expect(suite == f"TLSv1.3, {SUITE}", f"{stack}, {api}: negotiated {suite}, not TLSv1.3 and {SUITE}")
    megabytes = total / 1e6
    return {
        "megabytes_per_second": megabytes / wall,
        "receiver_cpu_ms_per_megabyte": cpu / megabytes * 1e3,
        "sender_cpu_ms_per_megabyte": float(sent) / megabytes * 1e3,
        "negotiated": suite,
    }


# -- the table --------------------------------------------------------------------------------------

METRICS = (
    ("megabytes_per_second", "MB/s", "{:,.0f}"),
    ("receiver_cpu_ms_per_megabyte", "receiver CPU ms/MB", "{:.3f}"),
    ("sender_cpu_ms_per_megabyte", "sender CPU ms/MB", "{:.3f}"),
)


def measure(stacks: Stacks, apis: list[str], total: int, rounds: int) -> dict[str, Any]:
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {api: {"glasstls": [], "ssl": []} for api in apis}
    for round_ in range(rounds):
        for api in apis:
            order = ("glasstls", "ssl") if round_ % 2 == 0 else ("ssl", "glasstls")
            for stack in order:
                runs[api][stack].append(transfer(stacks, api, stack, total))
    results: dict[str, Any] = {}
    for api, by_stack in runs.items():
        row: dict[str, Any] = {"name": API_NAMES[api]}
        for key, _, _ in METRICS:
            values = {stack: [run[key] for run in by_stack[stack]] for stack in by_stack}
            median = {stack: statistics.median(v) for stack, v in values.items()}
            row[key] = {"glasstls": median["glasstls"], "ssl": median["ssl"], "rounds": values}
            row[key]["ratio"] = median["glasstls"] / median["ssl"]
        row["negotiated"] = {stack: by_stack[stack][0]["negotiated"] for stack in by_stack}
        results[api] = row
    return results


def table(results: dict[str, Any], total: int, rounds: int) -> str:
    lines = [
        f"Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}; {total // (1 << 20)} MiB per transfer "
        f"({WRITE >> 20} MiB writes, {READ >> 10} KiB reads), 127.0.0.1, medians of {rounds} rounds",
        f"{'':54}{'glasstls':>12}{'python ssl':>12}{'glasstls/ssl':>14}",
    ]
    for row in results.values():
        lines.append(f"{row['name']}  [{row['negotiated']['glasstls']}]")
        for key, label, fmt in METRICS:
            cell = row[key]
            lines.append(
                f"  {label:52}{fmt.format(cell['glasstls']):>12}{fmt.format(cell['ssl']):>12}{cell['ratio']:>13.2f}x"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=256, help="MiB per transfer (default 256)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--api", action="append", choices=sorted(API_NAMES), help="only this API (repeatable)")
    parser.add_argument("--json", metavar="FILE", help="also write every number to FILE")
    args = parser.parse_args(argv)
    total = max(1, args.megabytes) * (1 << 20)
    with tempfile.TemporaryDirectory(prefix="glasstls-sockets-") as directory:
        stacks = Stacks(make_pki(Path(directory)))
        results = measure(stacks, args.api or list(API_NAMES), total, max(1, args.rounds))
    print(table(results, total, max(1, args.rounds)))
    if args.json:
        out = {"bytes_per_transfer": total, "write": WRITE, "read": READ, "rounds": args.rounds, "rows": results}
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
