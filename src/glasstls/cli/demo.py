"""``glasstls demo``: the first thing a newcomer runs.

It mints a throwaway CA and server certificate in memory, starts a glasstls
server on 127.0.0.1, connects a glasstls client to it, and shows what the two
negotiated and a round trip of data. Later issues add the explained traces.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time

from ..config import CertifiedKey, ClientConfig, ServerConfig
from ..io.blocking import accept, connect
from ..x509.mint import ThrowawayCA
from ..x509.store import TrustStore

TIMEOUT = 10.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a server and a client on 127.0.0.1, showing what they negotiate")
    p.add_argument("--message", default="hello from the glasstls demo client", help="data for the round trip")
    p.set_defaults(run=run)


def _serve_one(listener: socket.socket, config: ServerConfig, errors: list[BaseException]) -> None:
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
    ca = ThrowawayCA.create()
    identity = ca.issue_server(["localhost", "127.0.0.1"])
    print("glasstls demo — a TLS 1.3 connection on 127.0.0.1, both ends glasstls")
    print(f"  minted in memory: root CA {ca.root_cert.subject.rfc4514_string()},")
    print(f"                    server certificate {identity.certificate.subject.rfc4514_string()}")
    server_config = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), alpn=("http/1.1",))
    client_config = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()), alpn=("http/1.1",))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        print(f"  server listening on 127.0.0.1:{port}")
        errors: list[BaseException] = []
        thread = threading.Thread(target=_serve_one, args=(listener, server_config, errors), daemon=True)
        thread.start()
        with connect("127.0.0.1", port, client_config, server_name="localhost", timeout=TIMEOUT) as tls:
            p = tls.parameters
            assert p is not None
            print("\nNegotiated (as the client saw it):")
            for label, value in (
                ("version", p.version),
                ("cipher suite", p.cipher_suite),
                ("group", p.group),
                ("signature scheme", p.signature_scheme),
                ("server certificate", p.peer_certificate_subject),
                ("issued by", p.peer_certificates[0].issuer.rfc4514_string()),
                ("ALPN", p.alpn),
            ):
                print(f"  {label:<19} {value}")
            message = args.message.encode()
            tls.sendall(message)
            reply = tls.recv()
            print("\nRound trip:")
            print(f"  client sent      {message!r}")
            print(f"  server answered  {reply!r}")
        thread.join(TIMEOUT)
    if errors:
        raise errors[0]
    print(f"\nDone in {time.perf_counter() - started:.2f} s.")
    return 0
