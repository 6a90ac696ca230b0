"""The phases of a TLS 1.3 resumption one after another, glasstls against Python's ssl (OpenSSL).

    .venv/bin/python bench/phases.py [--seconds S] [--rounds N] [--quick] [--json FILE]

bench.py times a whole resumption (psk_dhe_ke, RFC 8446, Section 2.2) and sides.py the
first flight of each side; what comes after them is timed nowhere alone. A phase needs
the state the ones before it left, so this script times the resumption cut after each
phase (the first k phases, for k = 1 to 6) and a phase's cost is the difference between
two cuts' medians:

1. the client's ClientHello offering a ticket (with its PSK binder, Section 4.2.11);
2. the server reading it, to its flight (ServerHello, EncryptedExtensions, Finished);
3. the client reading that flight, to its Finished;
4. the server reading the client's Finished, to its NewSessionTicket (one after a
   resumption, for both stacks: glasstls as OpenSSL, Section 4.6.1);
5. the client reading the ticket;
6. close_notify from each side, as bench.py's resumption does.

Each cut ends with its objects freed, so a phase's figure includes freeing what it made.
The two stacks use the same certificates, suite (TLS_AES_128_GCM_SHA256) and group
(X25519) as bench.py, pinned for ssl through OPENSSL_CONF; both are checked to resume.
The clock is the process's CPU time, in interleaved rounds. A difference of two medians
can come out slightly negative for a phase that costs next to nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sides  # pins OPENSSL_CONF as bench.py does, before ssl is imported

assert os.environ.get("OPENSSL_CONF"), "sides.py pins ssl's suite and group"

import ssl  # noqa: E402

from common import HOST, Pki, expect, make_pki  # noqa: E402
from stacks_glasstls import Glasstls  # noqa: E402

from glasstls import ClientConnection, ServerConnection  # noqa: E402

PHASES = (
    "client: ClientHello with a ticket",
    "server: ClientHello in, flight out",
    "client: flight in, Finished out",
    "server: Finished in, NewSessionTicket out",
    "client: NewSessionTicket in",
    "both: close_notify",
)
Cut = Callable[[int], None]  # runs a resumption through its first k phases


def glasstls_cut(pki: Pki) -> Cut:
    stack = Glasstls(pki)
    first, server = stack.pair13()
    stack._close(first, server)
    session = first.session
    expect(session is not None and session.ticket is not None, "glasstls: no TLS 1.3 ticket")

    def cut(k: int) -> None:
        client = ClientConnection(stack.client_config, server_name=HOST, session=session)
        hello = client.data_to_send()
        if k < 2:
            return
        server = ServerConnection(stack.resume_config13)
        server.receive_bytes(hello)
        flight = server.data_to_send()
        if k < 3:
            return
        client.receive_bytes(flight)
        finished = client.data_to_send()
        if k < 4:
            return
        server.receive_bytes(finished)
        tickets = server.data_to_send()
        if k < 5:
            return
        client.receive_bytes(tickets)
        expect(client.handshake_complete and bool(client.parameters and client.parameters.resumed), "glasstls")
        if k < 6:
            return
        for side in (client, server):
            side.close()
            side.data_to_send()

    return cut


def ssl_cut(pki: Pki) -> Cut:
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cafile=pki.root_file)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(pki.chain_file, pki.key_file)
    server_context.num_tickets = 2  # OpenSSL's default; one after a resumption
    for context in (client_context, server_context):
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_3
    session = sides._ssl_ticket(client_context, server_context)
    want = ssl.SSLWantReadError

    def cut(k: int) -> None:
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        client = client_context.wrap_bio(c_in, c_out, server_hostname=HOST, session=session)
        with contextlib.suppress(want):
            client.do_handshake()
        hello = c_out.read()
        if k < 2:
            return
        server = server_context.wrap_bio(s_in, s_out, server_side=True)
        s_in.write(hello)
        with contextlib.suppress(want):
            server.do_handshake()
        flight = s_out.read()
        if k < 3:
            return
        c_in.write(flight)
        client.do_handshake()
        finished = c_out.read()
        if k < 4:
            return
        s_in.write(finished)
        server.do_handshake()
        tickets = s_out.read()
        if k < 5:
            return
        c_in.write(tickets)
        with contextlib.suppress(want):
            client.read(1)  # processes the NewSessionTicket; no application data comes
        expect(client.session_reused, "ssl: not resumed")
        if k < 6:
            return
        for side in (client, server):
            with contextlib.suppress(want):
                side.unwrap()

    return cut


def measure(cuts: dict[str, Cut], seconds: float, rounds: int) -> dict[str, Any]:
    """Per stack, the CPU microseconds of each cut in each round, and the phases' costs."""
    times: dict[str, list[list[float]]] = {name: [[] for _ in PHASES] for name in cuts}
    for _ in range(rounds):
        for k in range(1, len(PHASES) + 1):
            for name, cut in cuts.items():
                times[name][k - 1].append(sides.cpu_microseconds(lambda cut=cut, k=k: cut(k), seconds))
    results: dict[str, Any] = {"phases": list(PHASES), "stacks": {}}
    for name, per_cut in times.items():
        medians = [statistics.median(rounds_) for rounds_ in per_cut]
        phases = [medians[0]] + [b - a for a, b in itertools.pairwise(medians)]
        results["stacks"][name] = {"cuts_us": per_cut, "cut_medians_us": medians, "phase_us": phases}
    return results


def table(results: dict[str, Any]) -> str:
    gl, ssl_ = results["stacks"]["glasstls"], results["stacks"]["python ssl"]
    lines = [f"{'CPU us per phase (difference of medians)':45} {'glasstls':>10} {'python ssl':>11} {'difference':>11}"]
    for i, phase in enumerate(results["phases"]):
        a, b = gl["phase_us"][i], ssl_["phase_us"][i]
        lines.append(f"{phase:45} {a:10.1f} {b:11.1f} {a - b:+11.1f}")
    a, b = gl["cut_medians_us"][-1], ssl_["cut_medians_us"][-1]
    lines.append(f"{'whole resumption':45} {a:10.1f} {b:11.1f} {a - b:+11.1f}   glasstls/ssl rate {b / a:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args, seconds, rounds = sides.timing_arguments(__doc__ or "", "stack, cut and round", 0.3, 0.05, argv)
    with tempfile.TemporaryDirectory(prefix="glasstls-phases-") as directory:
        pki = make_pki(Path(directory))
        cuts = {"glasstls": glasstls_cut(pki), "python ssl": ssl_cut(pki)}
        for cut in cuts.values():
            cut(len(PHASES))  # checked once before timing: each resumes
        print(f"Python {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}; {rounds} rounds of {seconds} s CPU per cut")
        results = measure(cuts, seconds, rounds)
    return sides.report(table(results), results, args.json)


if __name__ == "__main__":
    sys.exit(main())
