"""The command line as other tools drive it: glasstls server / client / demo,
each run as a real process talking over 127.0.0.1."""

from __future__ import annotations

import email.utils
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from glasstls.x509.mint import ThrowawayCA

GLASSTLS = [sys.executable, "-m", "glasstls"]
TIMEOUT = 20


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pki")
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost", "127.0.0.1"]).write(d / "server.pem", d / "server.key")
    (d / "ca.pem").write_bytes(ca.root_pem())
    (d / "other-ca.pem").write_bytes(ThrowawayCA.create(common_name="some other root").root_pem())
    return {"cert": d / "server.pem", "key": d / "server.key", "ca": d / "ca.pem", "other_ca": d / "other-ca.pem"}


def start_server(pki: dict[str, Path], *extra: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [*GLASSTLS, "server", "--listen", "127.0.0.1:0", "--cert", str(pki["cert"]), "--key", str(pki["key"]), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
        raise AssertionError(f"server did not start: {line!r}")
    return proc, int(match.group(1))


@pytest.fixture
def server(pki: dict[str, Path]) -> Iterator[int]:
    proc, port = start_server(pki, "--alpn", "h2,http/1.1")
    try:
        yield port
    finally:
        proc.kill()
        proc.wait(TIMEOUT)


def run_client(port: int, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GLASSTLS, "client", f"127.0.0.1:{port}", "--linger", "0.5", *args],
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT,
    )


def last_json(stderr: bytes) -> dict:
    return json.loads(stderr.decode().strip().splitlines()[-1])


def test_client_json_summary_and_echo(server: int, pki: dict[str, Path]) -> None:
    res = run_client(
        server,
        "--cacert",
        str(pki["ca"]),
        "--servername",
        "localhost",
        "--alpn",
        "http/1.1",
        "--json",
        stdin=b"ping over glasstls\n",
    )
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == b"ping over glasstls\n"
    summary = last_json(res.stderr)
    assert summary["version"] == "TLSv1.3"
    assert summary["cipher_suite"] == "TLS_AES_128_GCM_SHA256"
    assert summary["group"] == "X25519MLKEM768"  # the default: hybrid post-quantum first (issue 10)
    assert summary["signature_scheme"] == "ecdsa_secp256r1_sha256"
    assert summary["alpn"] == "http/1.1"
    assert summary["peer_certificate"] == "CN=localhost"


@pytest.mark.parametrize(
    ("ciphers", "groups"),
    [
        ("TLS_AES_256_GCM_SHA384", "secp384r1"),
        ("TLS_CHACHA20_POLY1305_SHA256", "x25519"),
        ("TLS_AES_128_GCM_SHA256", "secp256r1"),
    ],
)
def test_client_choices_are_honoured(server: int, pki: dict[str, Path], ciphers: str, groups: str) -> None:
    res = run_client(server, "--cacert", str(pki["ca"]), "--ciphers", ciphers, "--groups", groups, "--json")
    assert res.returncode == 0, res.stderr.decode()
    summary = last_json(res.stderr)
    assert (summary["cipher_suite"], summary["group"]) == (ciphers, groups)


def test_untrusted_server_fails_with_clear_message(server: int, pki: dict[str, Path]) -> None:
    res = run_client(server, "--cacert", str(pki["other_ca"]), "--json")
    assert res.returncode != 0
    err = res.stderr.decode()
    assert "is not trusted" in err and "--cacert" in err
    assert last_json(res.stderr)["alert"] == "unknown_ca"
    assert "Traceback" not in err


def test_wrong_host_fails(server: int, pki: dict[str, Path]) -> None:
    res = run_client(server, "--cacert", str(pki["ca"]), "--servername", "example.com")
    assert res.returncode != 0
    assert "not example.com" in res.stderr.decode()


def test_insecure_skips_verification(server: int, pki: dict[str, Path]) -> None:
    res = run_client(server, "--insecure", "--json", stdin=b"x")
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == b"x"


def test_no_common_suite_is_explained(pki: dict[str, Path]) -> None:
    proc, port = start_server(pki, "--ciphers", "TLS_AES_256_GCM_SHA384")
    try:
        res = run_client(port, "--cacert", str(pki["ca"]), "--ciphers", "TLS_CHACHA20_POLY1305_SHA256")
        assert res.returncode != 0
        assert "handshake_failure" in res.stderr.decode()
    finally:
        proc.kill()
        _, server_err = proc.communicate(timeout=TIMEOUT)
    assert "no common cipher suite: client offered TLS_CHACHA20_POLY1305_SHA256" in server_err
    assert "server accepts TLS_AES_256_GCM_SHA384" in server_err


def test_tls12_by_request(server: int, pki: dict[str, Path]) -> None:
    res = run_client(server, "--cacert", str(pki["ca"]), "--tls-max", "1.2", "--json", stdin=b"over 1.2")
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == b"over 1.2"
    summary = last_json(res.stderr)
    assert summary["version"] == "TLSv1.2"
    assert summary["cipher_suite"] == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert summary["extended_master_secret"] is True


def test_version_mismatch_is_explained(pki: dict[str, Path]) -> None:
    proc, port = start_server(pki, "--tls-max", "1.2")
    try:
        res = run_client(port, "--cacert", str(pki["ca"]), "--tls-min", "1.3", "--json")
    finally:
        proc.kill()
        _, server_err = proc.communicate(timeout=TIMEOUT)
    assert res.returncode != 0
    assert last_json(res.stderr)["alert"] == "protocol_version"
    assert "peer sent alert protocol_version while waiting for ServerHello" in res.stderr.decode()
    assert "no common protocol version: client offered TLSv1.3, server accepts TLSv1.2" in server_err


def test_unknown_group_name_is_explained() -> None:
    res = subprocess.run(
        [*GLASSTLS, "client", "127.0.0.1:1", "--groups", "x25519,nonsense"], capture_output=True, timeout=TIMEOUT
    )
    assert res.returncode == 2
    assert "unknown group 'nonsense'" in res.stderr.decode()


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is installed by make test")
def test_www_answers_curl(pki: dict[str, Path]) -> None:
    proc, port = start_server(pki, "--www")
    try:
        res = subprocess.run(
            [
                "curl",
                "-sS",
                "-i",  # the header fields too
                "--tlsv1.3",
                "--cacert",
                str(pki["ca"]),
                "--resolve",
                f"localhost:{port}:127.0.0.1",
                f"https://localhost:{port}/",
            ],
            capture_output=True,
            timeout=TIMEOUT,
        )
    finally:
        proc.kill()
        proc.wait(TIMEOUT)
    assert res.returncode == 0, res.stderr.decode()
    head, _, body = res.stdout.decode().partition("\r\n\r\n")
    assert "Protocol version:  TLSv1.3" in body
    assert "Server name (SNI): localhost" in body
    # RFC 9110, Section 6.6.1: an origin server with a clock sends Date (testssl reads the clock skew from it).
    date = re.search(r"^date: (.+)\r?$", head, re.MULTILINE | re.IGNORECASE)
    assert date is not None, head
    sent = email.utils.parsedate_to_datetime(date.group(1).strip())
    assert abs((sent - datetime.now(UTC)).total_seconds()) < 60


def test_demo_runs(tmp_path: Path) -> None:
    res = subprocess.run([*GLASSTLS, "demo", "--out", str(tmp_path)], capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr.decode()
    out = res.stdout.decode()
    for needle in ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "x25519", "ecdsa_secp256r1_sha256", "CN=localhost",
                   "http/1.1", "echo: hello from the glasstls demo client",
                   "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256",
                   "client random", "server random", "pre-master secret", "resumed              yes",
                   "0-RTT                accepted", "Server: 0-RTT accepted: up to 16384 bytes",
                   "Server: 0-RTT rejected: replayed ClientHello", "cannot complete"):
        assert needle in out, needle
    assert "Traceback" not in out + res.stderr.decode()
    for slug in ("1-tls13", "2-tls13-resumed", "3-tls13-0rtt", "5-tls12-ecdhe", "6-tls12-rsa", "7-tls12-ticket"):
        for suffix in (".html", ".svg"):
            path = tmp_path / f"{slug}{suffix}"
            assert path.stat().st_size > 1000, path
            assert str(path) in out
    assert not list(tmp_path.glob("4-tls13-0rtt-replayed.*"))  # the replay completes no handshake
    # No secret values in the pages unless --show-secrets (they held every secret and key log line).
    page = (tmp_path / "1-tls13.html").read_text()
    assert "value not recorded (the observer did not ask for secrets)" in page and "keep it private" not in page


def test_capath_directory_of_cas(server: int, pki: dict[str, Path], tmp_path: Path) -> None:
    cas = tmp_path / "cas"
    cas.mkdir()
    (cas / "other.pem").write_bytes(pki["other_ca"].read_bytes())
    (cas / "ours.crt").write_bytes(pki["ca"].read_bytes())
    (cas / "README").write_text("not a certificate")
    res = run_client(server, "--capath", str(cas), "--servername", "localhost", "--json", stdin=b"capath")
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == b"capath"
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_client(server, "--capath", str(empty))
    assert res.returncode == 2 and "holds no PEM certificate" in res.stderr.decode()


# The server picks the first of its own list that the client offers (brotli, zstd, zlib).
@pytest.mark.parametrize(("choice", "seen"), [("none", None), ("zlib", "zlib"), ("zstd,brotli", "brotli")])
def test_cert_compression_option_chooses_or_turns_off_compression(
    server: int, pki: dict[str, Path], choice: str, seen: str | None
) -> None:
    res = run_client(server, "--cacert", str(pki["ca"]), "--cert-compression", choice, "--trace")
    assert res.returncode == 0, res.stderr.decode()
    trace = res.stderr.decode()
    if seen is None:
        assert "CompressedCertificate" not in trace and "certificate compression" not in trace
        assert "client < Certificate" in trace
    else:
        assert f"client < CompressedCertificate (25): {seen};" in trace


def test_cert_compression_option_refuses_an_unknown_algorithm(server: int) -> None:
    res = run_client(server, "--cert-compression", "lzma")
    assert res.returncode == 2
    assert "unknown certificate compression 'lzma'; known: zlib, brotli, zstd" in res.stderr.decode()
