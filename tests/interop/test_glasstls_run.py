"""``glasstls run``: unmodified Python programs over glasstls, each TLS connection shown.

The programs are real (urllib, asyncio, pip) and run in a process of their own, started by
``glasstls run`` (``python -m glasstls run``); their peers are real servers on 127.0.0.1:
``glasstls server --www``, ``openssl s_server -www`` and, for ``pip download``, a package
index served by the stdlib's ``http.server`` over OpenSSL. Each test asserts what the program
did (the page, the wheel) and what the trace shows (a block per connection, named by the
peer's address and the server name, with the version negotiated).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from interop_peers import WAIT, PeerProcess, ServerFiles

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]

URLLIB = """
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.maximum_version = ssl.TLSVersion[sys.argv[3]]
print(type(ctx).__module__, urllib.request.urlopen(sys.argv[2], context=ctx, timeout=20).read().decode())
"""


def glasstls_run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glasstls", "run", *args], capture_output=True, text=True, timeout=WAIT * 4,
        cwd=cwd, env=env,
    )  # fmt: skip


def blocks(stderr: str) -> dict[str, str]:
    """The trace blocks by heading (without "(continued)"), each block's lines joined."""
    out: dict[str, str] = {}
    heading = None
    for line in stderr.splitlines():
        match = re.match(r"── (glasstls: connection \d+[^─]*?)( \(continued\))? ──$", line)
        if match:
            heading = match.group(1)
            out.setdefault(heading, "")
        elif heading is not None:
            out[heading] += line + "\n"
    return out


@pytest.mark.parametrize("version", ["TLSv1_3", "TLSv1_2"])
@pytest.mark.parametrize("server", ["glasstls", "openssl"])
def test_urllib_program_traced(compat_servers, pki, server: str, version: str) -> None:
    port = compat_servers.www(server)
    url = f"https://localhost:{port}/"
    done = glasstls_run("--trace", "--", "python", "-c", URLLIB, str(pki.root_file), url, version)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("glasstls.compat.context ")  # the program's ssl.SSLContext was glasstls's
    label = version.replace("_", ".")
    assert re.search(rf"(New, |Protocol version: +){label}", done.stdout)  # each server's page names it
    traced = blocks(done.stderr)
    heading = f"glasstls: connection 1, client to 127.0.0.1:{port} (server name localhost)"
    assert list(traced) == [heading]
    assert f"ServerHello (2): {label}" in traced[heading]
    assert "verified CN=localhost: chain to a trusted root, valid for localhost" in traced[heading]


def test_untrusted_ca_fails_as_the_stdlib_and_shows_the_alert(compat_servers, untrusted_root) -> None:
    port = compat_servers.www("glasstls")
    done = glasstls_run("--trace", "--", "python", "-c", URLLIB, str(untrusted_root), f"https://localhost:{port}/",
                        "TLSv1_3")  # fmt: skip
    assert done.returncode == 1
    assert "ssl.SSLCertVerificationError" in done.stderr or "CERTIFICATE_VERIFY_FAILED" in done.stderr
    (block,) = blocks(done.stderr).values()
    assert "Alert: fatal unknown_ca (48)" in block


ASYNCIO = """
import asyncio, ssl, sys
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[1])
    for _ in range(2):
        reader, writer = await asyncio.open_connection("127.0.0.1", int(sys.argv[2]), ssl=ctx,
                                                       server_hostname="localhost")
        writer.write(b"GET / HTTP/1.0\\r\\n\\r\\n")
        print((await reader.read())[:60])
        writer.close()
asyncio.run(main())
"""


def test_asyncio_program_json_trace_keylog_pages(compat_servers, pki, tmp_path: Path) -> None:
    """Two asyncio connections: JSON lines carrying the connection number and the peer's address
    (asyncio gives wrap_bio none), a key log line per secret, a page and a diagram per connection."""
    port = compat_servers.www("glasstls")
    keylog, pages, diagrams = tmp_path / "keys.txt", tmp_path / "pages", tmp_path / "diagrams"
    done = glasstls_run("--trace=json", "--keylog", str(keylog), "--illustrate", str(pages), "--diagram",
                        str(diagrams), "--", "python", "-c", ASYNCIO, str(pki.root_file), str(port))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("HTTP/1.1 200 OK") == 2
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert {e["connection"] for e in events} == {1, 2}
    assert {e["peer"] for e in events} == {f"127.0.0.1:{port}"}
    assert {e["server_name"] for e in events} == {"localhost"}
    assert keylog.read_text().count("CLIENT_TRAFFIC_SECRET_0 ") == 2
    assert sorted(p.name for p in pages.iterdir()) == ["connection-001.html", "connection-002.html"]
    assert sorted(p.name for p in diagrams.iterdir()) == ["connection-001.svg", "connection-002.svg"]
    assert "<svg" in (diagrams / "connection-001.svg").read_text()


class HTTPSIndex(PeerProcess):
    """The stdlib's ``http.server`` serving a folder over TLS (OpenSSL), as a package index."""

    name = "https index"
    SCRIPT = """
import functools, http.server, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print("serving on", httpd.server_address[1], flush=True)
httpd.serve_forever()
"""

    def __init__(self, root: Path, files: ServerFiles) -> None:
        super().__init__([sys.executable, "-c", self.SCRIPT, str(root), str(files.full_chain), str(files.key)])

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^serving on ").split()[-1])


def write_index(root: Path) -> None:
    """A PEP 503 index of one hand-made wheel, ``glasspkg`` 1.0."""
    name = "glasspkg-1.0-py3-none-any.whl"
    members = {
        "glasspkg/__init__.py": b"",
        "glasspkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: glasspkg\nVersion: 1.0\n",
        "glasspkg-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for path, data in members.items()
    )
    members["glasspkg-1.0.dist-info/RECORD"] = (record + "glasspkg-1.0.dist-info/RECORD,,\n").encode()
    (root / "simple" / "glasspkg").mkdir(parents=True)
    with zipfile.ZipFile(root / "simple" / "glasspkg" / name, "w") as wheel:
        for path, data in members.items():
            wheel.writestr(path, data)
    (root / "simple" / "glasspkg" / "index.html").write_text(f'<a href="{name}">{name}</a>')
    (root / "simple" / "index.html").write_text('<a href="glasspkg/">glasspkg</a>')


def test_pip_download_from_a_local_https_index(pki, tmp_path: Path) -> None:
    write_index(tmp_path / "index")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    # requests prefers REQUESTS_CA_BUNDLE to pip's --cert; this machine's environment sets it
    env.update(REQUESTS_CA_BUNDLE=str(pki.root_file), PIP_CONFIG_FILE=os.devnull)
    with HTTPSIndex(tmp_path / "index", pki.files["ecdsa-p256"]) as index:
        done = glasstls_run(
            "--trace", "--", sys.executable, "-m", "pip", "download", "--no-cache-dir", "--disable-pip-version-check",
            "--no-deps", "--cert", str(pki.root_file), "--index-url", f"https://localhost:{index.port}/simple/",
            "-d", str(tmp_path / "out"), "glasspkg", env=env,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / "glasspkg-1.0-py3-none-any.whl").is_file()
    traced = blocks(done.stderr)
    assert traced, done.stderr
    for heading in traced:
        assert heading.endswith(f"client to 127.0.0.1:{index.port} (server name localhost)")
    assert any("verified CN=localhost: chain to a trusted root" in lines for lines in traced.values())


def test_errors_of_the_command_line(tmp_path: Path) -> None:
    missing = glasstls_run("--", "no-such-program-glasstls")
    assert missing.returncode == 127 and "command not found: no-such-program-glasstls" in missing.stderr
    nothing = glasstls_run("--trace")
    assert nothing.returncode == 2 and "name the program to run after --" in nothing.stderr
    exit_code = glasstls_run("--", "python", "-c", "import sys; sys.exit(7)")
    assert exit_code.returncode == 7 and exit_code.stderr == ""  # no TLS, no trace, the program's own code


def test_a_python_that_cannot_load_glasstls_runs_untraced(tmp_path: Path) -> None:
    """-I (isolated mode) ignores PYTHONPATH: no hook, the program runs on the stdlib's ssl as it was."""
    done = glasstls_run("--trace", "--", "python", "-I", "-c", "import ssl; print(ssl.SSLContext.__module__)")
    assert done.returncode == 0 and done.stdout.strip() == "ssl"


LIBRARIES = """
import asyncio, sys, aiohttp, requests
ca, url = sys.argv[1], sys.argv[2]
print("requests", requests.get(url, verify=ca, timeout=20).status_code)
async def main():
    import ssl
    ctx = ssl.create_default_context(cafile=ca)
    async with aiohttp.ClientSession() as session, session.get(url, ssl=ctx) as answer:
        print("aiohttp", answer.status, type(ctx).__module__)
asyncio.run(main())
"""


def test_requests_and_aiohttp_programs_traced(compat_servers, pki) -> None:
    """requests builds its context through urllib3 (rebound at start-up), aiohttp through ssl."""
    port = compat_servers.www("glasstls")
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    done = glasstls_run("--trace", "--", "python", "-c", LIBRARIES, str(pki.root_file), f"https://localhost:{port}/",
                        env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["requests 200", "aiohttp 200 glasstls.compat.context"]
    traced = blocks(done.stderr)
    assert list(traced) == [
        f"glasstls: connection 1, client to 127.0.0.1:{port} (server name localhost)",
        f"glasstls: connection 2, client to 127.0.0.1:{port} (server name localhost)",
    ]
    assert all("ServerHello (2): TLSv1.3" in lines for lines in traced.values())


def test_the_program_takes_the_place_of_glasstls_run() -> None:
    """A signal sent to `glasstls run` (kill, a supervisor, docker stop) reaches the program: the
    program is that process (exec, as env or nohup), not a child left running when it dies."""
    import signal

    waiting = "import os, sys, time; print(os.getpid(), flush=True); time.sleep(60)"
    proc = subprocess.Popen(
        [sys.executable, "-m", "glasstls", "run", "--", "python", "-c", waiting],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert int(proc.stdout.readline()) == proc.pid
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == -signal.SIGTERM
    finally:
        proc.kill()
        proc.wait(WAIT)
