"""--trace, --explain, --show-secrets, --keylog and SSLKEYLOGFILE on the command line, end to end:
a ``glasstls server`` and a ``glasstls client`` process talking over 127.0.0.1.

The client writes its trace to stderr (stdout carries the server's data) and
keeps the ``--json`` summary as the last line of stderr; the server writes
each connection's trace to stdout and its own messages, with the diagnosis of
a failed handshake, to stderr.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from glasstls.x509.mint import ThrowawayCA

GLASSTLS = [sys.executable, "-m", "glasstls"]
TIMEOUT = 30


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost", "127.0.0.1"]).write(d / "server.pem", d / "server.key")
    (d / "ca.pem").write_bytes(ca.root_pem())
    (d / "other-ca.pem").write_bytes(ThrowawayCA.create(common_name="some other root").root_pem())
    return {"cert": d / "server.pem", "key": d / "server.key", "ca": d / "ca.pem", "other_ca": d / "other-ca.pem"}


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    stdout_path: Path

    def finish(self) -> tuple[str, str]:
        """Wait for the server to exit (it serves --max-connections); its stdout and stderr."""
        # Not communicate(): it would skip what readline() already buffered from stderr.
        try:
            self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        assert self.proc.stderr is not None
        return self.stdout_path.read_text(), self.proc.stderr.read()


@pytest.fixture
def server_factory(pki: dict[str, Path], tmp_path: Path) -> Iterator:
    started: list[Server] = []

    def start(*extra: str, connections: int = 1, env: dict[str, str] | None = None) -> Server:
        out_path = tmp_path / f"server-{len(started)}.out"
        out = out_path.open("w")
        args = ["server", "--listen", "127.0.0.1:0", "--cert", str(pki["cert"]), "--key", str(pki["key"])]
        proc = subprocess.Popen(
            [*GLASSTLS, *args, "--max-connections", str(connections), *extra],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        out.close()
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not match:
            proc.kill()
            raise AssertionError(f"server did not start: {line!r}")
        server = Server(proc, int(match.group(1)), out_path)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(TIMEOUT)


def client(
    port: int, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, target_first: bool = True
) -> subprocess.CompletedProcess:
    target = [f"127.0.0.1:{port}"]
    argv = [*GLASSTLS, "client", *(target if target_first else []), "--linger", "0.5", *args]
    if not target_first:
        argv += target
    return subprocess.run(argv, input=stdin, capture_output=True, timeout=TIMEOUT, env={**os.environ, **(env or {})})


def unwrapped(text: str) -> str:
    """The trace with each explanation paragraph joined back into one line."""
    return re.sub(r"\n +\| ", " ", text)


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


# -- traces ---------------------------------------------------------------------------------------


def test_trace_explain_and_keylog_on_both_sides(server_factory, pki: dict[str, Path], tmp_path: Path) -> None:
    server_keys, client_keys = tmp_path / "server.keys", tmp_path / "client.keys"
    server = server_factory("--trace", "--keylog", str(server_keys))
    res = client(
        server.port,
        "--cacert", str(pki["ca"]),
        "--servername", "localhost",
        "--trace", "--explain", "--keylog", str(client_keys), "--json",
        stdin=b"ping over a traced connection",
    )  # fmt: skip
    out, err = server.finish()
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == b"ping over a traced connection"  # stdout carries only the data
    stderr = res.stderr.decode()
    order = [m.group(1) for m in re.finditer(r"^client [<>] (\w+) \(\d+\)", stderr, re.M)]
    assert order[:7] == [
        "ClientHello",
        "ServerHello",
        "EncryptedExtensions",
        "CompressedCertificate",  # the glasstls client offers certificate compression (RFC 8879)
        "CertificateVerify",
        "Finished",
        "Finished",
    ]
    assert "         | Step 1, ClientHello (client to server): the client opens the handshake" in stderr
    assert "why TLS 1.3 needs one round trip" in unwrapped(stderr)
    assert json.loads(stderr.strip().splitlines()[-1])["version"] == "TLSv1.3"
    # The server's trace went to its stdout, one connection after its header line.
    assert out.startswith("* connection 1 from 127.0.0.1:")
    assert re.search(r"^server < ClientHello \(1\): versions TLSv1.3, TLSv1.2;", out, re.M)
    assert re.search(r"^server \* verified certificate CN=localhost: chosen for server name localhost$", out, re.M)
    assert re.search(r"^server > CompressedCertificate \(25\): brotli; \d+ bytes compressed to \d+ bytes", out, re.M)
    assert "server < Alert: warning close_notify (0)" in out
    assert "glasstls: 127.0.0.1:" in err and "server <" not in err
    # Both key logs hold the same five TLS 1.3 lines, owner-readable only.
    assert lines_of(client_keys) == lines_of(server_keys)
    assert [line.split()[0] for line in lines_of(client_keys)] == [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    ]
    assert oct(client_keys.stat().st_mode & 0o777) == "0o600"
    # No secret in either trace.
    secrets = [line.split()[2] for line in lines_of(client_keys)]
    assert not any(s in stderr or s in out for s in secrets)


def test_trace_formats_and_trace_before_the_target(server_factory, pki: dict[str, Path]) -> None:
    server = server_factory("--trace=json", connections=3)
    ca = ["--cacert", str(pki["ca"])]
    full = client(server.port, *ca, "--trace=full", "--json")
    assert full.returncode == 0, full.stderr.decode()
    text = full.stderr.decode()
    assert "client > ClientHello (1): " in text and "legacy_version" in text and "cipher_suite" in text
    assert json.loads(text.strip().splitlines()[-1])["cipher_suite"] == "TLS_AES_128_GCM_SHA256"
    js = client(server.port, *ca, "--trace=json", "--tls-max", "1.2", "--json")
    assert js.returncode == 0, js.stderr.decode()
    every = [json.loads(line) for line in js.stderr.decode().splitlines()]  # JSON Lines: the summary too
    assert {"note": "ALPN: (none)"} in every
    objects = [o for o in every if "seq" in o]
    assert [o["seq"] for o in objects] == list(range(len(objects)))
    names = [o["message"] for o in objects if o["kind"] == "message"]
    assert names[:6] == ["ClientHello", "ServerHello", "Certificate", "ServerKeyExchange", "ServerHelloDone",
                         "ClientKeyExchange"]  # fmt: skip
    assert json.loads(js.stderr.decode().strip().splitlines()[-1])["version"] == "TLSv1.2"
    bare = client(server.port, *ca, "--trace", target_first=False)  # glasstls client --trace HOST:PORT
    assert bare.returncode == 0, bare.stderr.decode()
    assert "client > ClientHello (1): " in bare.stderr.decode()
    out, _ = server.finish()
    server_objects = [json.loads(line) for line in out.splitlines()]
    assert {o["connection"] for o in server_objects} == {1, 2, 3}
    assert all(o["side"] == "server" for o in server_objects)


def test_show_secrets_warns_and_shows(server_factory, pki: dict[str, Path]) -> None:
    server = server_factory("--show-secrets")
    res = client(server.port, "--cacert", str(pki["ca"]), "--show-secrets", "--tls-max", "1.2")
    out, err = server.finish()
    assert res.returncode == 0, res.stderr.decode()
    stderr = res.stderr.decode()
    assert stderr.startswith("WARNING: this trace shows the connection's secrets")
    assert re.search(r"^client \* secret master_secret = [0-9a-f]{96}$", stderr, re.M)
    assert re.search(r"^ +client_write_key = [0-9a-f]{32}$", stderr, re.M)
    assert "WARNING: --show-secrets" in err
    assert re.search(r"^server \* secret master_secret = [0-9a-f]{96}$", out, re.M)


def test_sslkeylogfile_on_both_sides(server_factory, pki: dict[str, Path], tmp_path: Path) -> None:
    server_keys, client_keys = tmp_path / "s.keys", tmp_path / "c.keys"
    server = server_factory(env={"SSLKEYLOGFILE": str(server_keys)})
    res = client(server.port, "--cacert", str(pki["ca"]), "--tls-max", "1.2", env={"SSLKEYLOGFILE": str(client_keys)})
    server.finish()
    assert res.returncode == 0, res.stderr.decode()
    assert lines_of(client_keys) == lines_of(server_keys)
    (line,) = lines_of(client_keys)
    assert re.fullmatch(r"CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}", line)


# -- failures -------------------------------------------------------------------------------------------


def test_a_failure_under_trace_json_keeps_stderr_json_lines(server_factory, pki: dict[str, Path]) -> None:
    server = server_factory()
    res = client(server.port, "--cacert", str(pki["other_ca"]), "--trace=json", "--json")
    server.finish()
    assert res.returncode != 0
    every = [json.loads(line) for line in res.stderr.decode().splitlines()]
    assert every[-1]["alert"] == "unknown_ca" and "is not trusted" in every[-1]["error"]
    assert "likely fix:   pass --cacert FILE" in every[-1]["diagnosis"]


def test_untrusted_server_is_diagnosed_on_both_sides(server_factory, pki: dict[str, Path]) -> None:
    server = server_factory()
    res = client(server.port, "--cacert", str(pki["other_ca"]), "--json")
    _, err = server.finish()
    assert res.returncode != 0
    stderr = res.stderr.decode()
    assert "diagnosis: the handshake failed on the client while waiting for the server's Certificate" in stderr
    assert "alert:        unknown_ca (48), sent by the client" in stderr
    assert "likely fix:   pass --cacert FILE" in stderr
    assert json.loads(stderr.strip().splitlines()[-1])["alert"] == "unknown_ca"  # still the last line
    assert "diagnosis: the handshake failed on the server" in err
    assert "unknown_ca (48), received from the client" in err


def test_wrong_host_is_diagnosed(server_factory, pki: dict[str, Path]) -> None:
    server = server_factory()
    res = client(server.port, "--cacert", str(pki["ca"]), "--servername", "example.com", "--explain")
    _, err = server.finish()
    stderr = res.stderr.decode()
    assert res.returncode != 0
    assert "the server's certificate names localhost, 127.0.0.1, not example.com" in unwrapped(stderr)
    assert (
        "likely fix:   connect with --servername set to a name the certificate holds (localhost, 127.0.0.1)" in stderr
    )
    assert "(SNI: example.com; the certificate names: localhost, 127.0.0.1)" in err


def test_no_common_suite_is_diagnosed_on_the_server(server_factory, pki: dict[str, Path]) -> None:
    server = server_factory("--ciphers", "TLS_AES_256_GCM_SHA384")
    res = client(server.port, "--cacert", str(pki["ca"]), "--ciphers", "TLS_CHACHA20_POLY1305_SHA256", "--json")
    _, err = server.finish()
    assert res.returncode != 0
    assert "diagnosis: the handshake failed on the server while waiting for ClientHello" in err
    assert "reason:       no common cipher suite: client offered TLS_CHACHA20_POLY1305_SHA256" in err
    assert "likely fix:   align the cipher suites" in err
    stderr = res.stderr.decode()
    assert "handshake_failure (40), received from the server" in stderr
    assert json.loads(stderr.strip().splitlines()[-1])["alert"] == "handshake_failure"


def test_bad_trace_format_is_refused(pki: dict[str, Path]) -> None:
    res = subprocess.run([*GLASSTLS, "client", "127.0.0.1:1", "--trace=yaml"], capture_output=True, timeout=TIMEOUT)
    assert res.returncode == 2
    assert "--trace takes text, full, json" in res.stderr.decode()
    res = subprocess.run([*GLASSTLS, "client", "--trace"], capture_output=True, timeout=TIMEOUT)
    assert res.returncode == 2 and "expected HOST:PORT" in res.stderr.decode()


def test_the_summary_of_a_tls12_resumption_says_no_key_exchange_was_made(capsys: pytest.CaptureFixture[str]) -> None:
    """A TLS 1.2 resumption has no group: it was said to be 'RSA key transport, or a PSK alone'."""
    import argparse

    from glasstls.cli.client import print_summary
    from glasstls.events import NegotiatedParameters

    resumed = NegotiatedParameters("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None, None, None, "localhost",
                                   resumed=True, extended_master_secret=True)  # fmt: skip
    print_summary(argparse.Namespace(trace=None), resumed)
    err = capsys.readouterr().err
    assert "Key exchange group: none (a resumption: the session's master secret is used again, with no new key " in err
    assert "server signature: none (a resumption: the session vouches for the server)" in err
