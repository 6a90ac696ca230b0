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
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_peers import WAIT

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the CA helpers
import glasstls
from ca_serve_helpers import OnlineCA, ca_serve, free_port, online_ca
from glasstls import ClientConfig
from glasstls.errors import AlertError
from glasstls.x509.store import TrustStore

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(120),
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx; make peers)"),
]

CONFIG = """
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
lock_file {prefix}/nginx.lock;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
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
def running_nginx(directory: Path, ca: OnlineCA) -> Iterator[int]:
    """nginx stapling for the CA's server certificate; yields its port."""
    (directory / "tmp").mkdir(exist_ok=True)
    trusted = directory / "trusted.pem"
    trusted.write_bytes(ca.root_pem.read_bytes() + ca.intermediate_pem.read_bytes())
    port = free_port()
    conf = directory / "nginx.conf"
    conf.write_text(
        CONFIG.format(prefix=directory, port=port, chain=ca.server_pem, key=ca.server_key, trusted=trusted)
    )
    assert NGINX is not None
    command = [NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
    command += ["-g", "daemon off; master_process off;"]
    with open(directory / "stderr.log", "wb") as stderr:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True)
    try:
        _wait_for_pid_file(proc, directory / "nginx.pid")
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(WAIT)


def _wait_for_pid_file(proc: subprocess.Popen[bytes], pid_file: Path) -> None:
    """nginx writes its pid file once it listens."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited with status {proc.returncode}:\n{_log(pid_file.parent)}")
        with contextlib.suppress(OSError, ValueError):
            if int(pid_file.read_text()) == proc.pid:
                return
        time.sleep(0.02)
    raise AssertionError(f"nginx wrote no pid file within {WAIT} s:\n{_log(pid_file.parent)}")


def _log(directory: Path) -> str:
    logs = [directory / name for name in ("stderr.log", "error.log")]
    return "\n".join(log.read_text(errors="replace") for log in logs if log.exists())


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
    with ca_serve(ca) as responder, running_nginx(nginx_dir, ca) as port:
        errors: list[str] = []
        answer = b""
        for _ in range(10):  # nginx fetches on the first handshake and staples from the next ones
            try:
                answer = _get(port, config)
                break
            except AlertError as err:
                errors.append(err.reason)
                time.sleep(0.5)
        else:
            raise AssertionError(f"no staple after 10 handshakes: {errors}\nnginx said:\n{_log(nginx_dir)}")
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"stapled\n"), answer
        assert all("stapled no OCSP response" in reason for reason in errors), errors
        responder.wait_for(r'"(GET /ocsp/|POST /ocsp).*" 200 .*: good, signed by the intermediate')
        for _ in range(2):  # every handshake now carries it, checked good by the client
            assert _get(port, config).startswith(b"HTTP/1.1 200")
