"""``glasstls demo``: the first thing a newcomer runs.

It mints a throwaway CA with an ECDSA and an RSA server certificate in memory,
starts a glasstls server on 127.0.0.1 (accepting 0-RTT data) and connects to it
seven times, each time showing the explained trace of the handshake:

1. a TLS 1.3 handshake;
2. TLS 1.3 resumed with a ticket from the first connection (PSK, no certificate);
3. TLS 1.3 resumed with 0-RTT: the message sent as early data with a fresh ticket of
   connection 2, accepted;
4. connection 3's first flight (ClientHello and early data) recorded and sent again raw on
   a new TCP connection, as an attacker on the path could: the server's replay guard
   rejects the early data, and the handshake cannot complete (the attacker has no keys);
5. a TLS 1.2 ECDHE handshake;
6. a TLS 1.2 RSA-key-exchange handshake (the seed articles' "three randoms");
7. a TLS 1.2 resumption by session ticket.

For each completed handshake it writes the illustrated page (every byte, annotated) and
the sequence diagram to a folder and prints their paths.
"""

from __future__ import annotations

import argparse
import queue
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import CertifiedKey, ClientConfig, ServerConfig
from ..crypto.suites import DEFAULT_TLS12_SUITES, DEFAULT_TLS13_SUITES
from ..enums import CipherSuite, ProtocolVersion
from ..errors import ConfigError
from ..events import NegotiatedParameters
from ..io.blocking import accept, connect
from ..observe import Observer, RecordTrace, TraceEvent, VerificationTrace
from ..session.state import SessionState
from ..trace import Tee
from ..trace.diagram import SequenceDiagram
from ..trace.illustrate import Illustration
from ..trace.text import TextTrace
from ..x509.mint import ThrowawayCA
from ..x509.store import TrustStore
from .diagram import make_folder

TIMEOUT = 10.0
REPLAY_WAIT = 2.0  # seconds the replaying "attacker" listens to the server before giving up
RSA_KX = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
MAX_EARLY_DATA = 16384  # the demo server's max_early_data_size


@dataclass(frozen=True)
class Scenario:
    slug: str
    title: str
    client: dict[str, Any] = field(default_factory=dict)
    resume_from: str | None = None
    early_data: bool = False  # send the message as 0-RTT data
    replay_of: str | None = None  # no client: that scenario's first flight sent again, raw


SCENARIOS = (
    Scenario(
        "1-tls13",
        "TLS 1.3: one round trip, everything after ServerHello encrypted",
        {"tls_min": ProtocolVersion.TLSv1_3},
    ),
    Scenario(
        "2-tls13-resumed",
        "TLS 1.3 resumption: the first connection's ticket as a PSK, no certificate, a fresh key share",
        {"tls_min": ProtocolVersion.TLSv1_3},
        resume_from="1-tls13",
    ),
    Scenario(
        "3-tls13-0rtt",
        "TLS 1.3 0-RTT: the message sent as early data right behind the ClientHello, with a fresh ticket",
        {"tls_min": ProtocolVersion.TLSv1_3},
        resume_from="2-tls13-resumed",
        early_data=True,
    ),
    Scenario(
        "4-tls13-0rtt-replayed",
        "TLS 1.3 0-RTT replayed: connection 3's first flight sent again by an attacker, byte for byte",
        replay_of="3-tls13-0rtt",
    ),
    Scenario(
        "5-tls12-ecdhe",
        "TLS 1.2 with ECDHE: the server signs its key share in ServerKeyExchange",
        {"tls_max": ProtocolVersion.TLSv1_2},
    ),
    Scenario(
        "6-tls12-rsa",
        "TLS 1.2 with RSA key exchange: the three randoms (client, server, pre-master)",
        {"tls_max": ProtocolVersion.TLSv1_2, "cipher_suites": (RSA_KX,)},
    ),
    Scenario(
        "7-tls12-ticket",
        "TLS 1.2 resumption by session ticket: no certificate, no key exchange",
        {"tls_max": ProtocolVersion.TLSv1_2},
        resume_from="5-tls12-ecdhe",
    ),
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="seven handshakes on 127.0.0.1 (0-RTT and its replay included), each explained, with pages and diagrams",
    )
    p.add_argument("--out", default="glasstls-demo", help="folder for the illustrated pages and diagrams")
    p.add_argument("--quiet", action="store_true", help="no traces, only the summary and the files")
    p.add_argument("--message", default="hello from the glasstls demo client", help="data for the round trips")
    p.add_argument(
        "--show-secrets",
        action="store_true",
        help="put each secret's value in the pages, with its key log line (the pages are then private: mode 0600)",
    )
    p.set_defaults(run=run)


def _pki() -> tuple[ThrowawayCA, ServerConfig]:
    ca = ThrowawayCA.create()
    ecdsa = ca.issue_server(["localhost", "127.0.0.1"])
    rsa = ca.issue_server(["localhost", "127.0.0.1"], key_type="rsa2048")
    server = ServerConfig(
        certificates=(CertifiedKey(ecdsa.chain, ecdsa.private_key), CertifiedKey(rsa.chain, rsa.private_key)),
        cipher_suites=DEFAULT_TLS13_SUITES + DEFAULT_TLS12_SUITES + (RSA_KX,),
        alpn=("http/1.1",),
        max_early_data_size=MAX_EARLY_DATA,
    )
    return ca, server


class ZeroRttNotes(Observer):
    """The server's verification lines about 0-RTT ("0-RTT accepted: ...", "0-RTT rejected: ...")."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, event: TraceEvent) -> None:
        if isinstance(event, VerificationTrace) and event.detail.startswith("0-RTT"):
            self.lines.append(event.detail)


class FirstFlight(Observer):
    """The raw records a client sends before it hears from the server: its ClientHello, the
    compatibility change_cipher_spec and the 0-RTT records, as an observer on the path sees them."""

    def __init__(self) -> None:
        self.data = b""
        self.answered = False

    def __call__(self, event: TraceEvent) -> None:
        if not isinstance(event, RecordTrace):
            return
        if event.direction == "in":
            self.answered = True
        elif not self.answered:
            self.data += event.header + event.payload


# What the server thread reports for each connection: its 0-RTT lines and its error, if any.
Served = tuple[list[str], BaseException | None]


def _serve(listener: socket.socket, config: ServerConfig, count: int, results: queue.Queue[Served]) -> None:
    for _ in range(count):
        notes = ZeroRttNotes()
        try:
            sock, _ = listener.accept()
            sock.settimeout(TIMEOUT)
            with accept(sock, config, observer=notes) as tls:
                data = tls.recv()  # accepted early data comes first
                tls.sendall(b"echo: " + data)
        except BaseException as exc:  # reported by the main thread
            results.put((notes.lines, exc))
        else:
            results.put((notes.lines, None))


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    size = len(args.message.encode("utf-8", "surrogateescape"))
    if not 1 <= size <= MAX_EARLY_DATA:  # (before any handshake: one scenario sends it as 0-RTT data)
        raise ConfigError(f"--message takes 1 to {MAX_EARLY_DATA} bytes (it goes as early data once), not {size}")
    out_dir = make_folder(args.out, "--out")
    ca, server_config = _pki()
    print("glasstls demo: seven TLS connections on 127.0.0.1, both ends glasstls (one a replay)")
    print(f"  minted in memory: root CA {ca.root_cert.subject.rfc4514_string()}, an ECDSA P-256 and an RSA-2048")
    print("  server certificate for localhost; the client trusts only that root")
    written: list[Path] = []
    demo = _Demo(ca, out_dir, args)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(len(SCENARIOS))
        port = listener.getsockname()[1]
        results: queue.Queue[Served] = queue.Queue()
        thread = threading.Thread(target=_serve, args=(listener, server_config, len(SCENARIOS), results), daemon=True)
        thread.start()
        for number, scenario in enumerate(SCENARIOS, 1):
            _banner(number, scenario, port)
            written += demo.run(scenario, port, results)
        thread.join(TIMEOUT)
    print("\nFiles written (open the .html pages in a browser; they work offline):")
    for path in written:
        print(f"  {path}")
    print(f"\nDone in {time.perf_counter() - started:.2f} s.")
    return 0


def _banner(number: int, scenario: Scenario, port: int) -> None:
    line = "=" * 78
    who = "attacker" if scenario.replay_of else "client"
    print(f"\n{line}\n{number}. {scenario.title}\n   {who} -> 127.0.0.1:{port} (server name localhost)\n{line}")


class _Demo:
    """The client side of the scenarios, and what they leave for the later ones."""

    def __init__(self, ca: ThrowawayCA, out_dir: Path, args: argparse.Namespace) -> None:
        self.ca, self.out_dir, self.args = ca, out_dir, args
        self.sessions: dict[str, SessionState | None] = {}
        self.flights: dict[str, bytes] = {}

    def run(self, scenario: Scenario, port: int, results: queue.Queue[Served]) -> list[Path]:
        if scenario.replay_of is not None:
            _replay(self.flights[scenario.replay_of], port)
            notes, error = results.get(timeout=TIMEOUT)
            _replay_summary(notes, error)
            return []
        written = self._client(scenario, port)
        notes, error = results.get(timeout=TIMEOUT)
        if error is not None:
            raise error
        for line in notes:
            print(f"  Server: {line}")
        return written

    def _client(self, scenario: Scenario, port: int) -> list[Path]:
        config = ClientConfig(
            trust_store=TrustStore.from_pem(self.ca.root_pem()), alpn=("http/1.1",), **scenario.client
        )
        page = Illustration(wants_secrets=self.args.show_secrets, title=scenario.title)
        diagram = SequenceDiagram(title=scenario.title)
        trace = None if self.args.quiet else TextTrace(sys.stdout, explain=True)
        flight = FirstFlight()
        session = self.sessions.get(scenario.resume_from) if scenario.resume_from else None
        message = self.args.message.encode("utf-8", "surrogateescape")
        early = {"early_data": message} if scenario.early_data else {}
        with connect(
            "127.0.0.1",
            port,
            config,
            server_name="localhost",
            timeout=TIMEOUT,
            observer=Tee(trace, page, diagram, flight),
            session=session,
            **early,
        ) as tls:
            if not scenario.early_data:
                tls.sendall(message)
            reply = tls.recv()
            p = tls.parameters
            assert p is not None
            self.sessions[scenario.slug] = tls.conn.session
        self.flights[scenario.slug] = flight.data
        _summary(p, message, reply, "as 0-RTT data " if scenario.early_data else "")
        return [
            page.write_html(self.out_dir / f"{scenario.slug}.html"),
            diagram.write(self.out_dir / f"{scenario.slug}.svg"),
        ]


def _replay(flight: bytes, port: int) -> None:
    """Send a recorded first flight again on a new TCP connection and listen a while: the
    server answers, but without the client's keys nothing can follow; then hang up."""
    print(f"  Attacker: sends the {len(flight)} bytes recorded from connection 3 (ClientHello, early data) again")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(flight)
        sock.settimeout(REPLAY_WAIT)
        received = 0
        try:
            while chunk := sock.recv(1 << 16):
                received += len(chunk)
        except TimeoutError:
            pass
    print(f"  Attacker: got {received} bytes of the server's flight it cannot decrypt, and hangs up")


def _replay_summary(notes: list[str], error: BaseException | None) -> None:
    for line in notes:
        print(f"  Server: {line}")
    print("  The replayed early data was rejected, so it never reached the application. The replayed")
    print("  handshake cannot complete: the attacker has neither the ticket's resumption secret nor")
    print("  the key share's private key, so it can send no Finished.")
    if error is not None:
        print(f"  Server: that connection ended: {error}")
    print("  (No page or diagram: there is no completed handshake to show.)")


def _summary(p: NegotiatedParameters, message: bytes, reply: bytes, how: str = "") -> None:
    print("\n  Negotiated (as the client saw it):")
    rows = (
        ("version", p.version),
        ("cipher suite", p.cipher_suite),
        ("key exchange group", p.group),
        ("signature scheme", p.signature_scheme),
        ("server certificate", p.peer_certificate_subject),
        ("ALPN", p.alpn),
        ("resumed", "yes" if p.resumed else "no"),
        ("0-RTT", {None: None, True: "accepted", False: "rejected"}[p.early_data_accepted]),
    )
    for label, value in rows:
        print(f"    {label:<20} {value if value is not None else '-'}")
    print(f"  Round trip: sent {message!r} {how}and got {reply!r}")
