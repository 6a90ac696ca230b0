"""What a shared store costs a resumption: the memory store against Redis, in one run.

    .venv/bin/python bench/store.py [--seconds S]

In-memory glasstls client/server pairs (no sockets between them, so only the
handshake and the store are measured) resume one session over and over: a TLS 1.2
session ID (one Redis GET per resumption), a TLS 1.2 ticket and a TLS 1.3 ticket
(no Redis call: the ticket keys are cached and synced every P/4), and TLS 1.3 0-RTT
(two SET NX PX GET per accepted hello). Each with the memory store, then with a
redis-server this script starts on 127.0.0.1 (a free port, nothing written to disk);
the table gives resumptions per second and the ratio redis/memory. Also the round
trip of one Redis call as seen from here (PING), for scale.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ServerConfig, ServerConnection
from glasstls.enums import NamedGroup, ProtocolVersion
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore

V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3


def pair(ccfg: ClientConfig, scfg: ServerConfig, **kw: object) -> ClientConnection:
    client = ClientConnection(ccfg, "localhost", **kw)  # type: ignore[arg-type]
    server = ServerConnection(scfg)
    for _ in range(8):
        server.receive_bytes(client.data_to_send())
        client.receive_bytes(server.data_to_send())
        if client.handshake_complete and server.handshake_complete:
            break
    assert client.handshake_complete, client.error
    return client


def rate(seconds: float, once: Callable[[], None]) -> float:
    once()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        once()
        count += 1
    return count / (time.perf_counter() - start)


def cases(scfg: ServerConfig, ca: bytes) -> dict[str, Callable[[], None]]:
    trust = TrustStore.from_pem(ca)
    c12 = ClientConfig(trust_store=trust, tls_max=V12, groups=(NamedGroup.x25519,))
    c13 = ClientConfig(trust_store=trust, groups=(NamedGroup.x25519,))
    s12_ids = pair(c12, _no_tickets(scfg)).session
    s12_ticket = pair(c12, scfg).session
    s13 = pair(c13, scfg).session

    def resume(ccfg: ClientConfig, server: ServerConfig, session: object, **kw: object) -> Callable[[], None]:
        def once() -> None:
            client = pair(ccfg, server, session=session, **kw)
            assert client.parameters is not None and client.parameters.resumed

        return once

    def early() -> None:
        fresh = pair(c13, scfg).session  # a new ticket each time: early data is single use per ticket
        client = pair(c13, scfg, session=fresh, early_data=b"GET / HTTP/1.1\r\n\r\n")
        assert client.parameters is not None and client.parameters.early_data_accepted

    return {
        "TLS 1.2 session ID": resume(c12, _no_tickets(scfg), s12_ids),
        "TLS 1.2 ticket": resume(c12, scfg, s12_ticket),
        "TLS 1.3 ticket": resume(c13, scfg, s13),
        "TLS 1.3 full + 0-RTT": early,
    }


def _no_tickets(scfg: ServerConfig) -> ServerConfig:
    import dataclasses

    return dataclasses.replace(scfg, session_tickets=False)


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (make peers)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*cmd, "--dir", str(directory)], stdout=subprocess.DEVNULL, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per case and store (default 3)")
    args = parser.parse_args()
    ca = ThrowawayCA.create()
    identity = ca.issue_server(["localhost"])
    base = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),), max_early_data_size=1024)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_redis(Path(tmp))
        try:
            client = redis.Redis.from_url(url)
            ping = rate(1.0, client.ping)
            memory = {k: rate(args.seconds, f) for k, f in cases(base.with_store("memory"), ca.root_pem()).items()}
            shared = base.with_store(url, os.urandom(32))
            on_redis = {k: rate(args.seconds, f) for k, f in cases(shared, ca.root_pem()).items()}
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"Redis PING round trip from this process: {1e6 / ping:.0f} µs ({ping:.0f}/s)")
    print(f"{'resumption (in-memory pairs)':<28} {'memory /s':>10} {'redis /s':>10} {'redis/memory':>13}")
    for name in memory:
        print(f"{name:<28} {memory[name]:>10.0f} {on_redis[name]:>10.0f} {on_redis[name] / memory[name]:>13.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
