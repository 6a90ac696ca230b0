"""Each side's first flight of a TLS 1.3 handshake alone, glasstls against Python's ssl (OpenSSL).

    .venv/bin/python bench/sides.py [--seconds S] [--rounds N] [--quick] [--json FILE]

bench.py times whole handshakes, client and server in one process, so a stack that is
faster on one side and slower on the other shows only the sum; a server (bench/load.py)
pays only its own side. This script times one side's part at a time, on the same
certificates as bench.py (an ECDSA P-256 chain under a throwaway root), TLS 1.3,
TLS_AES_128_GCM_SHA256 and X25519 pinned for ssl through OPENSSL_CONF as bench.py does:

* client, full handshake: a fresh client connection to its ClientHello on the wire (key
  share generated, extensions, the record);
* server, full handshake: a fresh server connection fed one recorded ClientHello, to its
  flight on the wire (ServerHello, X25519, EncryptedExtensions, Certificate,
  CertificateVerify signed with ECDSA P-256, Finished, the handshake keys, the records).
  Both servers are fed the same ClientHello, glasstls's client's;
* client, resumption: a ClientHello offering a ticket of an earlier connection (its PSK
  binder, RFC 8446, Section 4.2.11);
* server, resumption: a fresh server fed that ClientHello (each stack its own client's:
  a ticket opens only at the server that sealed it), to its psk_dhe_ke flight (ticket
  opened, binder checked, X25519, EncryptedExtensions, Finished), checked to resume.

A server answers the same ClientHello again and again here as it would a client's
retransmission; TLS 1.3 servers refuse replays only of 0-RTT data (RFC 8446, Section 8),
and neither server is told to take any. Not timed: the client's reading of the server's
flight, the server's of the client's Finished, tickets. The clock is the process's CPU
time, in interleaved rounds (the median and the spread printed); the ratio is
glasstls's rate over ssl's, as in bench.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from openssl_conf import pin_openssl

pin_openssl("glasstls-sides-")  # as bench.py: ssl's TLS 1.3 suite and group, before ``import ssl``

import ssl  # noqa: E402

from common import HOST, Pki, expect, make_pki  # noqa: E402
from stacks_glasstls import Glasstls  # noqa: E402

from glasstls import ClientConnection, ServerConnection  # noqa: E402

METRICS = {
    "client_full": "client, full handshake: ClientHello out",
    "server_full": "server, full handshake: ClientHello in, flight out",
    "client_resumption": "client, resumption: ClientHello with a ticket out",
    "server_resumption": "server, resumption: ClientHello in, psk_dhe_ke flight out",
}
Operation = Callable[[], None]


def glasstls_operations(pki: Pki) -> tuple[dict[str, Operation], bytes]:
    """glasstls's four operations, and the ClientHello both servers are fed."""
    stack = Glasstls(pki)
    hello = ClientConnection(stack.client_config, server_name=HOST).data_to_send()
    first, server = stack.pair13()
    stack._close(first, server)
    session = first.session
    expect(session is not None and session.ticket is not None, "glasstls: no TLS 1.3 ticket")
    resuming = ClientConnection(stack.client_config, server_name=HOST, session=session).data_to_send()

    def flight(config: Any, flight_of: bytes) -> bytes:
        server = ServerConnection(config)
        server.receive_bytes(flight_of)
        out = server.data_to_send()
        expect(server.error is None and len(out) > 100, f"glasstls server: {server.error}")
        return out

    def hello_of(session: Any = None) -> None:
        ClientConnection(stack.client_config, server_name=HOST, session=session).data_to_send()

    # Checked once: the server resumes (its flight has no Certificate, so it is far shorter).
    full, resumed = flight(stack.server_config, hello), flight(stack.resume_config13, resuming)
    expect(len(resumed) < len(full) // 2, "glasstls: the server did not resume")
    return {
        "client_full": hello_of,
        "server_full": lambda: expect(bool(flight(stack.server_config, hello)), "glasstls server"),
        "client_resumption": lambda: hello_of(session),
        "server_resumption": lambda: expect(bool(flight(stack.resume_config13, resuming)), "glasstls server"),
    }, hello


def _flight(context: ssl.SSLContext, incoming: bytes | None, **kw: Any) -> tuple[bytes, ssl.SSLObject]:
    """One ssl side's first flight: what it writes before it must read (fed ``incoming`` first)."""
    inbox, outbox = ssl.MemoryBIO(), ssl.MemoryBIO()
    side = context.wrap_bio(inbox, outbox, **kw)
    if incoming is not None:
        inbox.write(incoming)
    with contextlib.suppress(ssl.SSLWantReadError):
        side.do_handshake()
    return outbox.read(), side


def ssl_operations(pki: Pki, hello: bytes) -> dict[str, Operation]:
    """ssl's four operations, through memory BIOs as bench.py's ssl stack (the sans-I/O equivalent)."""
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cafile=pki.root_file)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(pki.chain_file, pki.key_file)
    server_context.num_tickets = 0
    resume_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    resume_context.load_cert_chain(pki.chain_file, pki.key_file)
    resume_context.num_tickets = 2
    for context in (client_context, server_context, resume_context):
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    session = _ssl_ticket(client_context, resume_context)
    resuming, _ = _flight(client_context, None, server_hostname=HOST, session=session)

    def serve(context: ssl.SSLContext, flight_of: bytes, resumed: bool) -> None:
        out, side = _flight(context, flight_of, server_side=True)
        expect(len(out) > 100 and side.session_reused == resumed, "ssl server: no flight, or not as resumed")

    serve(server_context, hello, False)
    serve(resume_context, resuming, True)

    def hello_of(**kw: Any) -> None:
        expect(len(_flight(client_context, None, server_hostname=HOST, **kw)[0]) > 100, "ssl client: no ClientHello")

    return {
        "client_full": hello_of,
        "server_full": lambda: serve(server_context, hello, False),
        "client_resumption": lambda: hello_of(session=session),
        "server_resumption": lambda: serve(resume_context, resuming, True),
    }


def _ssl_ticket(client_context: ssl.SSLContext, server_context: ssl.SSLContext) -> ssl.SSLSession:
    """A session with a TLS 1.3 ticket, from one full ssl handshake in memory."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_context.wrap_bio(c_in, c_out, server_hostname=HOST)
    server = server_context.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(4):
        for side in (client, server):
            with contextlib.suppress(ssl.SSLWantReadError):
                side.do_handshake()
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    with contextlib.suppress(ssl.SSLWantReadError):
        client.read(1)  # the NewSessionTickets (RFC 8446, Section 4.6.1)
    session = client.session
    expect(session is not None and session.has_ticket, "ssl: no TLS 1.3 ticket")
    assert session is not None
    return session


def cpu_microseconds(operation: Operation, seconds: float) -> float:
    """CPU microseconds per call of ``operation``, over about ``seconds`` of it (after a few untimed)."""
    for _ in range(5):
        operation()
    clock = time.process_time
    count, start = 0, clock()
    while (now := clock()) - start < seconds:
        operation()
        count += 1
    return (now - start) / count * 1e6


def measure(stacks: dict[str, dict[str, Operation]], seconds: float, rounds: int) -> dict[str, Any]:
    """Per metric and stack, the microseconds of each round (stacks and metrics interleaved)."""
    times: dict[str, dict[str, list[float]]] = {m: {s: [] for s in stacks} for m in METRICS}
    for _ in range(rounds):
        for metric in METRICS:
            for name, operations in stacks.items():
                times[metric][name].append(cpu_microseconds(operations[metric], seconds))
    results: dict[str, Any] = {}
    for metric, by_stack in times.items():
        medians = {name: statistics.median(rounds_) for name, rounds_ in by_stack.items()}
        results[metric] = {
            "what": METRICS[metric],
            "us": {name: {"median": medians[name], "rounds": rounds_} for name, rounds_ in by_stack.items()},
            "ratio_glasstls_ssl": medians["python ssl"] / medians["glasstls"],  # of the rates
        }
    return results


def table(results: dict[str, Any]) -> str:
    lines = [f"{'CPU us per operation (median; rounds)':60} {'glasstls':>22} {'python ssl':>22} {'glasstls/ssl':>13}"]
    for metric in results.values():
        cells = []
        for name in ("glasstls", "python ssl"):
            numbers = metric["us"][name]
            low, high = min(numbers["rounds"]), max(numbers["rounds"])
            cells.append(f"{numbers['median']:7.1f} ({low:.0f}-{high:.0f})")
        lines.append(f"{metric['what']:60} {cells[0]:>22} {cells[1]:>22} {metric['ratio_glasstls_ssl']:12.2f}x")
    return "\n".join(lines)


def timing_arguments(
    doc: str, per: str, seconds: float, quick_seconds: float, argv: list[str] | None
) -> tuple[argparse.Namespace, float, int]:
    """The options of this script and bench/phases.py: (the arguments, CPU seconds per ``per``, rounds)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=seconds, help=f"CPU seconds per {per}")
    parser.add_argument("--rounds", type=int, default=5)
    quick = f"{quick_seconds} s, 3 rounds: that it runs, not what it says"
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args(argv)
    return args, *((quick_seconds, 3) if args.quick else (args.seconds, args.rounds))


def main(argv: list[str] | None = None) -> int:
    args, seconds, rounds = timing_arguments(__doc__ or "", "stack, metric and round", 0.5, 0.1, argv)
    with tempfile.TemporaryDirectory(prefix="glasstls-sides-") as directory:
        pki = make_pki(Path(directory))
        glasstls, hello = glasstls_operations(pki)
        stacks = {"glasstls": glasstls, "python ssl": ssl_operations(pki, hello)}
        print(f"Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}; {rounds} rounds of {seconds} s CPU each")
        results = measure(stacks, seconds, rounds)
    return report(table(results), results, args.json)


def report(text: str, results: dict[str, Any], json_path: Path | None) -> int:
    """Print the table; write every number to ``json_path`` if given (this script and bench/phases.py)."""
    print(text)
    if json_path:
        json_path.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
