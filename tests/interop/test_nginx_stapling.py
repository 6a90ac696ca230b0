"""nginx (Debian's, OpenSSL 3.0) stapling from ``glasstls ca serve``: ``ssl_stapling on; ssl_stapling_verify on;``
with the CA's root and intermediate as ``ssl_trusted_certificate``, checked by the glasstls client with
``ClientConfig(ocsp="require")``.

nginx finds the responder through the certificate's AIA OCSP URL (127.0.0.1: no resolver needed) and
fetches lazily: the first handshake usually goes without a staple while the fetch runs, so the client
tries a few times. nginx runs in the foreground in a process group of its own (as in test_nginx.py),
killed when the test ends; the responder too.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_peers import WAIT
from nginx_peer import PATHS, TEMP_PATHS, Nginx, needs_nginx, running_nginx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the CA helpers
import glasstls
from ca_serve_helpers import OnlineCA, ca_serve, online_ca
from glasstls import ClientConfig
from glasstls.errors import AlertError
from glasstls.x509.store import TrustStore

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(120),
    needs_nginx,
]

CONFIG = PATHS + """
http {{
    access_log {prefix}/access.log;""" + TEMP_PATHS + """
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {chain};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_stapling on;
        ssl_stapling_verify on;
        ssl_trusted_certificate {trusted};
        location / {{ default_type text/plain; return 200 "stapled\\n"; }}
    }}
}}
"""


@contextlib.contextmanager
def running_stapler(directory: Path, ca: OnlineCA) -> Iterator[Nginx]:
    """nginx stapling for the CA's server certificate."""
    trusted = directory / "trusted.pem"
    trusted.write_bytes(ca.root_pem.read_bytes() + ca.intermediate_pem.read_bytes())

    def configuration(port: int) -> str:
        return CONFIG.format(prefix=directory, port=port, chain=ca.server_pem, key=ca.server_key, trusted=trusted)

    with running_nginx(directory, configuration) as server:
        yield server


def _get(port: int, config: ClientConfig) -> bytes:
    with glasstls.connect("127.0.0.1", port, config, server_name="localhost", timeout=WAIT) as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := tls.recv(65536):
            raw += chunk
    return raw


def test_nginx_staples_from_glasstls_ca_serve_and_the_glasstls_client_requires_it(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    ca = online_ca(tmp_path / "pki")
    config = ClientConfig(trust_store=TrustStore.from_file(ca.root_pem), ocsp="require")
    nginx_dir = tmp_path / "nginx"
    nginx_dir.mkdir()
    with ca_serve(ca) as responder, running_stapler(nginx_dir, ca) as nginx:
        errors: list[str] = []
        answer = b""
        for _ in range(10):  # nginx fetches on the first handshake and staples from the next ones
            try:
                answer = _get(nginx.port, config)
                break
            except AlertError as err:
                errors.append(err.reason)
                time.sleep(0.5)
        else:
            raise AssertionError(f"no staple after 10 handshakes: {errors}\nnginx said:\n{nginx.log}")
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"stapled\n"), answer
        assert all("stapled no OCSP response" in reason for reason in errors), errors
        responder.wait_for(r'"(GET /ocsp/|POST /ocsp).*" 200 .*: good, signed by the intermediate')
        for _ in range(2):  # every handshake now carries it, checked good by the client
            assert _get(nginx.port, config).startswith(b"HTTP/1.1 200")
