"""``glasstls demo``: the first thing a newcomer runs.

It mints a throwaway CA with an ECDSA and an RSA server certificate in memory,
starts a glasstls server on 127.0.0.1 and connects a glasstls client to it five
times, each time showing the explained trace of the handshake:

1. a TLS 1.3 handshake;
2. TLS 1.3 resumed with a ticket from the first connection (PSK, no certificate);
3. a TLS 1.2 ECDHE handshake;
4. a TLS 1.2 RSA-key-exchange handshake (the seed articles' "three randoms");
5. a TLS 1.2 resumption by session ticket.

For each it writes the illustrated page (every byte, annotated) and the sequence
diagram to a folder and prints their paths.
"""

from __future__ import annotations

import argparse
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
from ..events import NegotiatedParameters
from ..io.blocking import accept, connect
from ..session.state import SessionState
from ..trace import Tee
from ..trace.diagram import SequenceDiagram
from ..trace.illustrate import Illustration
from ..trace.text import TextTrace
from ..x509.mint import ThrowawayCA
from ..x509.store import TrustStore
from .diagram import make_folder

TIMEOUT = 10.0
RSA_KX = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256


@dataclass(frozen=True)
class Scenario:
    slug: str
    title: str
    client: dict[str, Any] = field(default_factory=dict)
    resume_from: str | None = None


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
        "3-tls12-ecdhe",
        "TLS 1.2 with ECDHE: the server signs its key share in ServerKeyExchange",
        {"tls_max": ProtocolVersion.TLSv1_2},
    ),
    Scenario(
        "4-tls12-rsa",
        "TLS 1.2 with RSA key exchange: the three randoms of the seed articles",
        {"tls_max": ProtocolVersion.TLSv1_2, "cipher_suites": (RSA_KX,)},
    ),
    Scenario(
        "5-tls12-ticket",
        "TLS 1.2 resumption by session ticket: no certificate, no key exchange",
        {"tls_max": ProtocolVersion.TLSv1_2},
        resume_from="3-tls12-ecdhe",
    ),
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="five handshakes on 127.0.0.1, each explained, with pages and diagrams")
    p.add_argument("--out", default="glasstls-demo", help="folder for the illustrated pages and diagrams")
    p.add_argument("--quiet", action="store_true", help="no traces, only the summary and the files")
    p.add_argument("--message", default="hello from the glasstls demo client", help="data for the round trips")
    p.set_defaults(run=run)


def _pki() -> tuple[ThrowawayCA, ServerConfig]:
    ca = ThrowawayCA.create()
    ecdsa = ca.issue_server(["localhost", "127.0.0.1"])
    rsa = ca.issue_server(["localhost", "127.0.0.1"], key_type="rsa2048")
    server = ServerConfig(
        certificates=(CertifiedKey(ecdsa.chain, ecdsa.private_key), CertifiedKey(rsa.chain, rsa.private_key)),
        cipher_suites=DEFAULT_TLS13_SUITES + DEFAULT_TLS12_SUITES + (RSA_KX,),
        alpn=("http/1.1",),
    )
    return ca, server


def _serve(listener: socket.socket, config: ServerConfig, count: int, errors: list[BaseException]) -> None:
    for _ in range(count):
        try:
            sock, _ = listener.accept()
            sock.settimeout(TIMEOUT)
            with accept(sock, config) as tls:
                data = tls.recv()
                tls.sendall(b"echo: " + data)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    out_dir = make_folder(args.out, "--out")
    ca, server_config = _pki()
    print("glasstls demo: five TLS connections on 127.0.0.1, both ends glasstls")
    print(f"  minted in memory: root CA {ca.root_cert.subject.rfc4514_string()}, an ECDSA P-256 and an RSA-2048")
    print("  server certificate for localhost; the client trusts only that root")
    written: list[Path] = []
    sessions: dict[str, SessionState | None] = {}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(len(SCENARIOS))
        port = listener.getsockname()[1]
        errors: list[BaseException] = []
        thread = threading.Thread(target=_serve, args=(listener, server_config, len(SCENARIOS), errors), daemon=True)
        thread.start()
        for number, scenario in enumerate(SCENARIOS, 1):
            _banner(number, scenario, port)
            written += _one(scenario, ca, port, out_dir, sessions, args)
        thread.join(TIMEOUT)
    if errors:
        raise errors[0]
    print("\nFiles written (open the .html pages in a browser; they work offline):")
    for path in written:
        print(f"  {path}")
    print(f"\nDone in {time.perf_counter() - started:.2f} s.")
    return 0


def _banner(number: int, scenario: Scenario, port: int) -> None:
    line = "=" * 78
    print(f"\n{line}\n{number}. {scenario.title}\n   client -> 127.0.0.1:{port} (server name localhost)\n{line}")


def _one(
    scenario: Scenario,
    ca: ThrowawayCA,
    port: int,
    out_dir: Path,
    sessions: dict[str, SessionState | None],
    args: argparse.Namespace,
) -> list[Path]:
    config = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()), alpn=("http/1.1",), **scenario.client)
    page = Illustration(title=scenario.title)
    diagram = SequenceDiagram(title=scenario.title)
    trace = None if args.quiet else TextTrace(sys.stdout, explain=True)
    session = sessions.get(scenario.resume_from) if scenario.resume_from else None
    with connect(
        "127.0.0.1",
        port,
        config,
        server_name="localhost",
        timeout=TIMEOUT,
        observer=Tee(trace, page, diagram),
        session=session,
    ) as tls:
        message = args.message.encode()
        tls.sendall(message)
        reply = tls.recv()
        p = tls.parameters
        assert p is not None
        sessions[scenario.slug] = tls.conn.session
    _summary(p, message, reply)
    html = page.write_html(out_dir / f"{scenario.slug}.html")
    svg = diagram.write(out_dir / f"{scenario.slug}.svg")
    return [html, svg]


def _summary(p: NegotiatedParameters, message: bytes, reply: bytes) -> None:
    print("\n  Negotiated (as the client saw it):")
    rows = (
        ("version", p.version),
        ("cipher suite", p.cipher_suite),
        ("key exchange group", p.group),
        ("signature scheme", p.signature_scheme),
        ("server certificate", p.peer_certificate_subject),
        ("ALPN", p.alpn),
        ("resumed", "yes" if p.resumed else "no"),
    )
    for label, value in rows:
        print(f"    {label:<20} {value if value is not None else '-'}")
    print(f"  Round trip: sent {message!r}, got {reply!r}")
