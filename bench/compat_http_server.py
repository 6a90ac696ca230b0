"""The local HTTPS server of compat_http.py: nginx with a private prefix, or the stdlib in a subprocess.

nginx (Debian's /usr/sbin/nginx, found as tests/interop/nginx_peer.py finds it) runs
in the foreground as one process (``daemon off; master_process off;``) in a session
of its own, with its configuration, logs and temporary paths under a temporary
directory; the system's nginx, if one runs, is neither used nor touched. Without
nginx, the same file is served by ``http.server.ThreadingHTTPServer`` over Python's
ssl in a child process (this file run as a script), which stops at the end of its
stdin, so it never outlives a benchmark that was killed outright.

Both serve one static file over HTTP/1.1 with keep-alive, TLS 1.2 and 1.3 allowed,
pinned to one suite per version and to X25519, so that the two clients of the
benchmark negotiate the same thing, and count connections and requests at
``/status`` (nginx's stub_status, which the fallback imitates), so that the
benchmark can check that keep-alive kept one connection and the other runs made
one connection per request.

    python bench/compat_http_server.py CHAIN KEY FILE   # the fallback child: prints {"port": N}, serves until EOF
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WAIT = 10.0  # seconds: the bound on every wait for the server
TLS13_SUITE = "TLS_AES_128_GCM_SHA256"
TLS12_SUITE = "ECDHE-ECDSA-AES128-GCM-SHA256"  # OpenSSL's name; the chain is ECDSA P-256
GROUP = "X25519"


def find_nginx() -> str | None:
    """Debian installs nginx in /usr/sbin, which a non-root PATH may leave out."""
    found = shutil.which("nginx")
    if found is None and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    return found


def free_port() -> int:
    """A port free on 127.0.0.1 now (nginx cannot listen on port 0 and say which it got)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


NGINX_CONF = """
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
lock_file {prefix}/nginx.lock;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    default_type application/octet-stream;
    keepalive_requests 10000000;
    keepalive_timeout 600s;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {chain};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers {tls12_suite};
        ssl_conf_command Ciphersuites {tls13_suite};
        ssl_ecdh_curve {group};
        root {root};
        location = /status {{ stub_status; }}
    }}
}}
"""


class Server:
    """What the benchmark needs of a server: a port, a name, stop()."""

    name = "?"
    port = 0

    def stop(self) -> None:
        raise NotImplementedError

    def log(self) -> str:
        return ""


class NginxServer(Server):
    """nginx in the foreground, one process, in a session (process group) of its own."""

    def __init__(self, nginx: str, directory: Path, chain: Path, key: Path, root: Path) -> None:
        self.nginx, self.prefix = nginx, directory
        self.chain, self.key, self.root = chain, key, root
        self.name = f"nginx ({nginx}, {_nginx_version(nginx)})"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start nginx; another free port is tried when the first is taken in between (bounded)."""
        for _ in range(3):
            self.port = free_port()
            if self._start_on(self.port):
                return
        raise RuntimeError(f"nginx did not start:\n{self.log()}")

    def _start_on(self, port: int) -> bool:
        (self.prefix / "tmp").mkdir(exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                prefix=self.prefix, port=port, chain=self.chain, key=self.key, root=self.root,
                tls12_suite=TLS12_SUITE, tls13_suite=TLS13_SUITE, group=GROUP,
            )
        )  # fmt: skip
        pid_file = self.prefix / "nginx.pid"
        for stale in (pid_file, self.prefix / "error.log", self.prefix / "stderr.log"):
            stale.unlink(missing_ok=True)  # what a try on a port taken in between left
        command = [self.nginx, "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")]
        command += ["-g", "daemon off; master_process off;"]
        with open(self.prefix / "stderr.log", "wb") as stderr:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        # nginx writes its pid file after it opened its listening socket.
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                if "Address already in use" in self.log():
                    return False
                raise RuntimeError(f"nginx exited with status {code} ({' '.join(command)}):\n{self.log()}")
            with contextlib.suppress(OSError, ValueError):
                if int(pid_file.read_text()) == self._proc.pid:
                    return True
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"nginx wrote no pid file within {WAIT} s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM to nginx's process group, SIGKILL if it is still there after WAIT seconds."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _stop_group(proc)

    def log(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.prefix / name
            if path.exists() and path.stat().st_size:
                parts.append(f"-- {name}:\n" + path.read_text(errors="replace"))
        return "\n".join(parts)


def _nginx_version(nginx: str) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run([nginx, "-v"], capture_output=True, text=True, timeout=WAIT)
        return done.stderr.strip().removeprefix("nginx version: ")
    return "version unknown"


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the benchmark dies, however it dies (Linux's PR_SET_PDEATHSIG),
    since nginx, in a session of its own, would otherwise outlive a benchmark killed outright."""
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


def parse_status(text: str) -> tuple[int, int]:
    """(accepted connections, requests) from a stub_status page."""
    lines = text.splitlines()
    accepts, _handled, requests = (int(n) for n in lines[2].split())
    return accepts, requests


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)


class StdlibServer(Server):
    """This file as a child: ThreadingHTTPServer over Python's ssl, stopped by closing its stdin."""

    def __init__(self, directory: Path, chain: Path, key: Path, file: Path, why: str) -> None:
        self.directory = directory
        self.name = f"stdlib http.server.ThreadingHTTPServer over ssl ({why})"
        self._conf = directory / "openssl.cnf"
        self._args = [str(chain), str(key), str(file)]
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from openssl_conf import pinned_openssl_conf

        self._conf.write_text(pinned_openssl_conf(TLS13_SUITE, GROUP))
        env = dict(os.environ, OPENSSL_CONF=str(self._conf))
        with open(self.directory / "stdlib-server.log", "wb") as stderr:
            self._proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), *self._args],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, start_new_session=True,
            )  # fmt: skip
        assert self._proc.stdout is not None
        import select

        ready, _, _ = select.select([self._proc.stdout], [], [], WAIT)
        line = self._proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise RuntimeError(f"the stdlib server did not start within {WAIT} s:\n{self.log()}")
        self.port = json.loads(line)["port"]

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.close()  # the child stops at the end of its stdin
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
        if proc.stdout is not None:
            proc.stdout.close()

    def log(self) -> str:
        path = self.directory / "stdlib-server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def https_server(chain: Path, key: Path, file: Path, prefer_nginx: bool = True) -> Iterator[Server]:
    """nginx if it is installed (and preferred), else the stdlib server; stopped on the way out."""
    with tempfile.TemporaryDirectory(prefix="glasstls-bench-http-") as tmp:
        nginx = find_nginx() if prefer_nginx else None
        server: NginxServer | StdlibServer
        if nginx is not None:
            server = NginxServer(nginx, Path(tmp), chain, key, file.parent)
        else:
            why = "nginx not found" if prefer_nginx else "asked for"
            server = StdlibServer(Path(tmp), chain, key, file, why)
        server.start()
        try:
            yield server
        finally:
            server.stop()


# -- the fallback child ---------------------------------------------------------------------


def _serve(chain: str, key: str, file: str) -> None:
    import http.server
    import ssl
    import threading

    body = Path(file).read_bytes()
    path = "/" + Path(file).name
    lock = threading.Lock()
    counts = {"accepts": 0, "requests": 0}

    def count(what: str) -> int:
        with lock:
            counts[what] += 1
            return counts[what]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive unless the client says Connection: close
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

        def do_GET(self) -> None:
            requests = count("requests")
            if self.path == "/status":  # as nginx's stub_status prints it
                accepts = counts["accepts"]
                status = f"Active connections: 0\nserver accepts handled requests\n {accepts} {accepts} {requests}\n"
                self._send(status.encode(), "text/plain")
            elif self.path == path:
                self._send(body, "application/octet-stream")
            else:
                self.send_error(404)

        def _send(self, content: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            if self.close_connection:  # the client said Connection: close; tell it we close, as nginx does,
                self.send_header("Connection", "close")  # or it may send its next request before our FIN arrives
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_SUITE)  # TLS 1.3's suite and the group come from OPENSSL_CONF
    context.load_cert_chain(chain, key)

    class TLSServer(http.server.ThreadingHTTPServer):
        """The handshake in each connection's thread: a wrapped listening socket would make them one at a time."""

        daemon_threads = True

        def finish_request(self, request: Any, client_address: Any) -> None:
            count("accepts")
            with context.wrap_socket(request, server_side=True) as tls:
                super().finish_request(tls, client_address)

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that went away mid-handshake or mid-request is no news

    server = TLSServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    sys.stdin.buffer.read()  # until the benchmark closes our stdin (or dies)
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    _serve(*sys.argv[1:4])
