"""nginx as a peer of the interop tests (Debian's package, built with OpenSSL 3.0).

Each test starts its own nginx on 127.0.0.1 with a configuration written to a temporary
directory (``-p PREFIX -c CONF -e ERRORLOG -g 'daemon off; master_process off;'``: one
process, in the foreground, in a process group of its own that is killed when the test
ends); the system's nginx, if Debian's package started one, is neither used nor touched.
A configuration gives the temporary paths under ``{prefix}`` with :data:`PATHS`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from interop_peers import WAIT, die_with_parent


def _find_nginx() -> str | None:
    """Debian installs nginx in /usr/sbin, which a non-root PATH may leave out."""
    found = shutil.which("nginx")
    if found is None and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    return found


NGINX = _find_nginx()
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx; make peers)")

# What every test's nginx.conf starts with: its files under the test's directory.
PATHS = """
error_log {prefix}/error.log info;
pid {prefix}/nginx.pid;
lock_file {prefix}/nginx.lock;
events {{ worker_connections 64; }}
"""
TEMP_PATHS = """
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
"""


def free_port() -> int:
    """A port free on 127.0.0.1 now (nginx cannot listen on port 0 and say which it got)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Nginx:
    """nginx in the foreground, one process, in a session (process group) of its own."""

    def __init__(self, directory: Path, configuration: Callable[[int], str]) -> None:
        self.prefix = directory
        self.configuration = configuration  # nginx.conf for a port
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start nginx; another free port is tried when the first is taken in between (bounded)."""
        for _ in range(3):
            self.port = free_port()
            if self._start_on(self.port):
                return
        raise AssertionError(f"nginx did not start:\n{self.log}")

    def _start_on(self, port: int) -> bool:
        (self.prefix / "tmp").mkdir(exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.configuration(port))
        pid_file = self.prefix / "nginx.pid"
        for stale in (pid_file, self.prefix / "error.log", self.prefix / "stderr.log"):
            stale.unlink(missing_ok=True)  # what a try on a port taken in between left
        assert NGINX is not None
        command = [NGINX, "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")]
        command += ["-g", "daemon off; master_process off;"]
        with open(self.prefix / "stderr.log", "wb") as stderr:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        # nginx writes its pid file after it opened its listening socket.
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                if "Address already in use" in self.log:
                    return False
                raise AssertionError(f"nginx exited with status {code} ({' '.join(command)}):\n{self.log}")
            with contextlib.suppress(OSError, ValueError):
                if int(pid_file.read_text()) == self._proc.pid:
                    return True
            time.sleep(0.02)
        self.stop()
        raise AssertionError(f"nginx wrote no pid file within {WAIT} s:\n{self.log}")

    def stop(self) -> None:
        """SIGTERM to nginx's process group, SIGKILL if it is still there after WAIT seconds."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(WAIT)

    @property
    def log(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.prefix / name
            if path.exists():
                parts.append(f"-- {name}:\n" + path.read_text(errors="replace"))
        return "\n".join(parts)

    def access_log(self, uri: str) -> list[str]:
        """The access log lines of the requests for ``uri``."""
        path = self.prefix / "access.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return [line for line in lines if f'"GET {uri} HTTP/1.1"' in line]


@contextlib.contextmanager
def running_nginx(directory: Path, configuration: Callable[[int], str]) -> Iterator[Nginx]:
    server = Nginx(directory, configuration)
    server.start()
    try:
        yield server
    finally:
        server.stop()


