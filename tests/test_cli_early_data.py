"""TLS 1.3 0-RTT from the command line: glasstls client --early-data against
glasstls server --early-data, each a real process on 127.0.0.1 (issue 10, item 3)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_cli import TIMEOUT, last_json, pki, run_client, start_server  # noqa: F401 (pki is a fixture)

GET = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
POST = b"POST /buy HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"


def _stop(proc: subprocess.Popen) -> str:
    """Stop a server started by start_server; its stderr (the log lines)."""
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=TIMEOUT)
    return str(err)


@pytest.fixture
def echo_server(pki: dict[str, Path]) -> Iterator[tuple[subprocess.Popen, int]]:  # noqa: F811
    proc, port = start_server(pki, "--early-data", "16384")
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            _stop(proc)


def _verify(pki: dict[str, Path]) -> tuple[str, ...]:  # noqa: F811
    return ("--cacert", str(pki["ca"]), "--servername", "localhost")


def _new_session(port: int, pki: dict[str, Path], path: Path, stdin: bytes = b"hi\n") -> None:  # noqa: F811
    res = run_client(port, *_verify(pki), "--session-out", str(path), stdin=stdin)
    assert res.returncode == 0, res.stderr.decode()
    assert path.exists()


def test_early_data_accepted_once(
    echo_server: tuple[subprocess.Popen, int],
    pki: dict[str, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    proc, port = echo_server
    session, early = tmp_path / "s.sess", tmp_path / "early.txt"
    early.write_bytes(b"sent in 0-RTT\n")
    _new_session(port, pki, session)
    res = run_client(port, *_verify(pki), "--session-in", str(session), "--early-data", str(early), "--json")
    assert res.returncode == 0, res.stderr.decode()
    assert last_json(res.stderr)["early_data"] == "accepted"
    assert res.stdout == b"sent in 0-RTT\n"  # echoed: the server read the early bytes
    # The same ticket again: single use for early data (RFC 8446, Section 8.1).
    res = run_client(port, *_verify(pki), "--session-in", str(session), "--early-data", str(early), "--json")
    assert res.returncode == 0, res.stderr.decode()
    assert last_json(res.stderr)["early_data"] == "rejected"
    assert res.stdout == b""  # not sent again without --resend-rejected-early-data
    res = run_client(
        port, *_verify(pki), "--session-in", str(session), "--early-data", str(early), "--resend-rejected-early-data",
        stdin=b"then stdin\n",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == b"sent in 0-RTT\nthen stdin\n"  # in the order written, the early data sent again first
    log = _stop(proc)
    assert "resumed; 0-RTT accepted (14 bytes)" in log
    assert log.count("0-RTT rejected: ") == 2


def test_rejected_early_data_is_sent_again_only_under_its_alpn(
    pki: dict[str, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    """RFC 8446, Section 4.2.10: early data written for one ALPN protocol is not sent again on a
    connection that chose another; a session whose ALPN the hello does not offer gets no early data."""
    proc, port = start_server(pki, "--early-data", "16384", "--alpn", "b,a")
    try:
        session, early = tmp_path / "s.sess", tmp_path / "early.txt"
        early.write_bytes(b"for a\n")
        res = run_client(port, *_verify(pki), "--alpn", "a", "--session-out", str(session), stdin=b"hi\n")
        assert res.returncode == 0, res.stderr.decode()
        again = ("--session-in", str(session), "--early-data", str(early), "--resend-rejected-early-data")
        res = run_client(port, *_verify(pki), "--alpn", "b,a", *again, "--json", stdin=b"stdin\n")
        assert res.returncode == 0, res.stderr.decode()
        assert last_json(res.stderr)["early_data"] == "rejected" and last_json(res.stderr)["alpn"] == "b"
        assert "it was for ALPN a, the connection chose b" in res.stderr.decode()
        assert res.stdout == b"stdin\n"
        res = run_client(port, *_verify(pki), "--alpn", "b", *again, stdin=b"")
        assert res.returncode == 2 and "belongs to ALPN protocol 'a'" in res.stderr.decode(), res.stderr.decode()
    finally:
        _stop(proc)


def test_early_data_needs_a_session_that_allows_it(
    pki: dict[str, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    proc, port = start_server(pki)  # no --early-data: its tickets allow none
    try:
        session, early = tmp_path / "s.sess", tmp_path / "early.txt"
        early.write_bytes(b"x")
        _new_session(port, pki, session)
        res = run_client(port, *_verify(pki), "--session-in", str(session), "--early-data", str(early))
        assert res.returncode == 2
        lines = res.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and "allows no early data" in lines[0], lines
        res = run_client(port, *_verify(pki), "--early-data", str(early))
        assert res.returncode == 2 and "--session-in" in res.stderr.decode()
    finally:
        _stop(proc)


def test_www_too_early_for_post_and_page_for_get(
    pki: dict[str, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    proc, port = start_server(pki, "--www", "--early-data", "16384")
    try:
        early = tmp_path / "early.txt"
        for request, status, needle in ((POST, b"425 Too Early", b"0-RTT data"), (GET, b"200 OK", b"0-RTT:")):
            session = tmp_path / "s.sess"
            _new_session(port, pki, session, stdin=GET)
            early.write_bytes(request)
            res = run_client(port, *_verify(pki), "--session-in", str(session), "--early-data", str(early), "--json")
            assert res.returncode == 0, res.stderr.decode()
            assert last_json(res.stderr)["early_data"] == "accepted"
            assert res.stdout.startswith(b"HTTP/1.1 " + status), res.stdout
            assert needle in res.stdout
    finally:
        log = _stop(proc)
    assert log.count("0-RTT accepted") == 2


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_openssl_s_client_early_data_accepted(pki: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    # --www closes after its answer, so s_client -ign_eof ends once the page (and the tickets) came.
    proc, port = start_server(pki, "--www", "--early-data", "16384")
    try:
        sess, early = tmp_path / "s.pem", tmp_path / "early.txt"
        early.write_bytes(GET)
        base = ["openssl", "s_client", "-tls1_3", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki["ca"])]
        base += ["-servername", "localhost", "-ign_eof"]
        first = subprocess.run([*base, "-sess_out", str(sess)], input=GET, capture_output=True, timeout=TIMEOUT)
        assert sess.exists(), first.stderr.decode()
        second = subprocess.run(
            [*base, "-sess_in", str(sess), "-early_data", str(early)], input=b"", capture_output=True, timeout=TIMEOUT
        )
        assert b"Early data was accepted" in second.stdout + second.stderr, second.stdout.decode()
        assert b"came as early data" in second.stdout
    finally:
        log = _stop(proc)
    assert "0-RTT accepted" in log
