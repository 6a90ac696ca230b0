"""What the load benchmark's three kinds of process share: addresses, the pinned TLS parameters, the PKI files.

Imports no ``ssl``: the orchestrator (load.py) writes the OpenSSL configuration
and passes it to its children in OPENSSL_CONF, which OpenSSL reads when a child
first imports ``ssl``.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

from common import pinned_openssl_conf

from glasstls.x509.mint import ThrowawayCA

HOST = "127.0.0.1"  # every server and every client of the benchmark is on the loopback
SERVER_NAME = "localhost"  # the name in the server certificate, sent as SNI
SUITE = "TLS_AES_128_GCM_SHA256"
GROUP = "X25519"
# Both servers get the same listen backlog: the stdlib's default (100) and glasstls's (128)
# differ, and at 1,000 clients connecting at once a short backlog drops SYNs, which costs
# the client a 1 s retransmission and would be measured as handshake latency.
BACKLOG = 2048
# The same handshake deadline for both servers (glasstls's handshake_timeout,
# asyncio's ssl_handshake_timeout): it is what ends a slow-loris connection.
HANDSHAKE_TIMEOUT = 10.0
# glasstls's max_connections: above anything the benchmark opens at once, so never reached.
MAX_CONNECTIONS = 8000
ECHO_BYTES = 64  # the small echo round trip of every connection
READ_SIZE = 4096

# Python 3.11's ssl cannot choose TLS 1.3 suites (no SSLContext.set_ciphersuites), so the
# suite is pinned for OpenSSL's every SSL_CTX through this file; set_ecdh_curve pins the group too.
OPENSSL_CONF = pinned_openssl_conf(SUITE, GROUP)


class Pki:
    """File names of the throwaway PKI in one directory: an ECDSA P-256 root, intermediate and server leaf."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.root = self.directory / "root.pem"
        self.chain = self.directory / "chain.pem"  # the leaf, then the intermediate
        self.key = self.directory / "key.pem"
        self.openssl_conf = self.directory / "openssl.cnf"

    def make(self) -> Pki:
        ca = ThrowawayCA.create("load bench root", key_type="ecdsa-p256")
        server = ca.issue_server([SERVER_NAME], key_type="ecdsa-p256")
        self.root.write_bytes(ca.root_pem())
        server.write(self.chain, self.key)
        self.openssl_conf.write_text(OPENSSL_CONF)
        return self


def raise_fd_limit(needed: int) -> int:
    """Raise this process's soft descriptor limit towards the hard one; fail clearly if ``needed`` cannot fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(max(needed, soft), hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise SystemExit(f"the descriptor limit is {soft} (hard {hard}); this run needs about {needed}: raise it")
    return soft


def reply(message: dict[str, Any]) -> None:
    """One JSON line to the orchestrator, which reads children's stdout line by line."""
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()
