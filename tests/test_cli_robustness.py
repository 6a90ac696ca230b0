"""The command line under bad input: every case ends in a clear ``glasstls: …`` line, never a traceback.

Each case runs ``python -m glasstls`` as a real process on 127.0.0.1: wrong, missing and
password-protected files, bad option values, peers that do not speak TLS (an HTTP or SSH
server, random bytes, a half ClientHello, an SSL 2.0-style hello), Ctrl-C on either side,
and a reader that goes away (``| head``). The cases that need no peer run all at once, in
parallel, so the whole file stays fast.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from glasstls import ClientConfig, ClientConnection
from glasstls.trace import pcap
from glasstls.x509.mint import ThrowawayCA

GLASSTLS = [sys.executable, "-m", "glasstls"]
TIMEOUT = 20
ALERT_UNEXPECTED_MESSAGE = b"\x15\x03\x03\x00\x02\x02\x0a"
# An SSL 2.0-format CLIENT-HELLO (RFC 5246, Appendix E.2): a 2-byte length with the top bit set, msg_type 1.
SSL2_HELLO = bytes.fromhex("802e0103010015000000100100800300800700c006004000400200800000040000ff") + bytes(16)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def clean(res: Result, code: int, *phrases: str) -> None:
    """Exit ``code``, no traceback, and a message that starts ``glasstls`` and says each of ``phrases``."""
    err = res.stderr
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert res.returncode == code, err
    for phrase in phrases:
        assert phrase in err, err
    if code != 0:
        assert err.startswith("glasstls"), err


def run(*args: str, stdin: bytes = b"", cwd: Path | None = None) -> Result:
    res = subprocess.run([*GLASSTLS, *args], input=stdin, capture_output=True, timeout=TIMEOUT, cwd=cwd)
    return Result(res.returncode, res.stdout.decode(errors="replace"), res.stderr.decode(errors="replace"))


# -- the files ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("robust")
    ca = ThrowawayCA.create()
    identity = ca.issue_server(["localhost", "127.0.0.1"])
    identity.write(d / "server.pem", d / "server.key")
    ca.issue_server(["other.example"]).write(d / "other.pem", d / "other.key")
    (d / "ca.pem").write_bytes(ca.root_pem())
    key = identity.private_key
    (d / "enc.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    (d / "key.der").write_bytes(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (d / "cert.der").write_bytes(identity.certificate.public_bytes(serialization.Encoding.DER))
    (d / "public.pem").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (d / "garbage.txt").write_text("this is not what you are looking for\n")
    (d / "empty.txt").write_bytes(b"")
    (d / "folder").mkdir()
    (d / "folder.svg").mkdir()
    hello = ClientConnection(ClientConfig(), server_name="example.com").data_to_send()
    packets = pcap.tcp_packets([("client", hello), ("server", b"\x16\x03\x03\x00\x01\x02")])
    pcap.write_capture(d / "good.pcap", packets)
    whole = (d / "good.pcap").read_bytes()
    (d / "cut.pcap").write_bytes(whole[:100])  # the file ends inside the second packet
    (d / "header-only.pcap").write_bytes(whole[:10])
    names = ("server.pem", "server.key", "other.key", "ca.pem", "enc.key", "key.der", "cert.der", "public.pem")
    names += ("garbage.txt",)
    paths = {name.replace(".", "_"): str(d / name) for name in names}
    paths |= {n.replace(".", "_").replace("-", "_"): str(d / n) for n in ("empty.txt", "good.pcap", "cut.pcap")}
    paths |= {"header_only_pcap": str(d / "header-only.pcap"), "folder": str(d / "folder")}
    paths |= {"folder_svg": str(d / "folder.svg"), "missing": str(d / "missing" / "file"), "dir": str(d)}
    return paths


@pytest.fixture(scope="module")
def refused_port() -> Iterator[int]:
    """A port bound but not listening: a connection to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as s:
        yield s.getsockname()[1]


# -- cases that need no peer, run in parallel -----------------------------------------------------

SERVER = ("server", "--listen", "127.0.0.1:0")
TLS_FILES = ("--cert", "{server_pem}", "--key", "{server_key}")
CLIENT = ("client", "127.0.0.1:{refused}", "--insecure")

# (id, arguments, exit code, phrases the message must hold)
# fmt: off
STATIC_CASES: list[tuple[str, tuple[str, ...], int, tuple[str, ...]]] = [
    # server: certificate and key files
    ("cert-missing", (*SERVER, "--cert", "{missing}", "--key", "{server_key}"), 2,
     ("cannot read the certificate file", "No such file")),
    ("cert-folder", (*SERVER, "--cert", "{folder}", "--key", "{server_key}"), 2, ("Is a directory",)),
    ("cert-garbage", (*SERVER, "--cert", "{garbage_txt}", "--key", "{server_key}"), 2,
     ("garbage.txt holds no readable PEM certificate",)),
    ("cert-der", (*SERVER, "--cert", "{cert_der}", "--key", "{server_key}"), 2, ("looks like DER", "-inform DER")),
    ("key-empty", (*SERVER, "--cert", "{server_pem}", "--key", "{empty_txt}"), 2,
     ("empty.txt holds no readable PEM private key",)),
    ("key-der", (*SERVER, "--cert", "{server_pem}", "--key", "{key_der}"), 2, ("openssl pkey -inform DER",)),
    ("key-and-cert-swapped", (*SERVER, "--cert", "{server_key}", "--key", "{server_pem}"), 2,
     ("server.key holds no readable PEM certificate", "it holds a private key, not a certificate", "swapped")),
    ("key-is-cert", (*SERVER, "--cert", "{server_pem}", "--key", "{server_pem}"), 2,
     ("it holds a certificate, not a private key", "swapped")),
    # DER of the other kind: converting it would not help (the hint said `openssl pkey` for a certificate)
    ("key-is-der-cert", (*SERVER, "--cert", "{server_pem}", "--key", "{cert_der}"), 2,
     ("it is a certificate in DER, not a private key", "swapped")),
    ("cert-is-der-key", (*SERVER, "--cert", "{key_der}", "--key", "{server_key}"), 2,
     ("it is a private key in DER, not a certificate", "swapped")),
    ("key-is-public", (*SERVER, "--cert", "{server_pem}", "--key", "{public_pem}"), 2,
     ("it holds a public key, not a private key",)),
    ("key-not-matching", (*SERVER, "--cert", "{server_pem}", "--key", "{other_key}"), 2,
     ("does not match the certificate",)),
    ("key-with-password", (*SERVER, "--cert", "{server_pem}", "--key", "{enc_key}"), 2,
     ("protected by a password", "openssl pkey")),
    ("no-cert", SERVER, 2, ("needs --cert FILE and --key FILE",)),
    # server: listening, options
    ("listen-busy", ("server", "--listen", "127.0.0.1:{busy}", *TLS_FILES), 2,
     ("cannot listen on", "Address already in use")),
    ("listen-no-port", ("server", "--listen", "127.0.0.1", *TLS_FILES), 2, ("expected HOST:PORT",)),
    ("listen-port-range", ("server", "--listen", "127.0.0.1:99999", *TLS_FILES), 2, ("out of range",)),
    ("listen-foreign-address", ("server", "--listen", "192.0.2.1:4433", *TLS_FILES), 2, ("cannot listen on",)),
    ("max-connections", (*SERVER, *TLS_FILES, "--max-connections", "-1"), 2, ("--max-connections",)),
    ("server-groups", (*SERVER, *TLS_FILES, "--groups", "x25519,nosuch"), 2, ("unknown group 'nosuch'",)),
    ("server-ciphers", (*SERVER, *TLS_FILES, "--ciphers", "TLS_NOPE"), 2, ("unknown cipher suite",)),
    ("server-alpn-long", (*SERVER, *TLS_FILES, "--alpn", "h" * 300), 2, ("300 bytes", "RFC 7301")),
    ("server-trace", (*SERVER, *TLS_FILES, "--trace=nosuch"), 2, ("--trace takes",)),
    ("server-diagram-suffix", (*SERVER, *TLS_FILES, "--diagram", "x.png"), 2, ("name a .svg or .mmd",)),
    ("server-illustrate-suffix", (*SERVER, *TLS_FILES, "--illustrate", "x.png"), 2, ("name a .html file",)),
    ("server-illustrate-nowhere", (*SERVER, *TLS_FILES, "--illustrate", "{missing}.html"), 2, ("there is no folder",)),
    ("server-diagram-folder", (*SERVER, *TLS_FILES, "--diagram", "{folder_svg}"), 2, ("is a folder",)),
    ("server-keylog-nowhere", (*SERVER, *TLS_FILES, "--keylog", "{missing}"), 2, ("cannot open the key log",)),
    ("client-ca-garbage", (*SERVER, *TLS_FILES, "--client-ca", "{garbage_txt}"), 2, ("holds no PEM certificate",)),
    # client
    ("client-refused", CLIENT, 1, ("cannot connect to 127.0.0.1:", "Connection refused")),
    ("client-no-port", ("client", "localhost"), 2, ("expected HOST:PORT",)),
    ("client-port-range", ("client", "127.0.0.1:70000"), 2, ("out of range",)),
    ("client-session-garbage", (*CLIENT, "--session-in", "{garbage_txt}"), 2, ("not a usable glasstls session",)),
    ("client-session-missing", (*CLIENT, "--session-in", "{missing}"), 2, ("does not exist",)),
    ("client-session-out-folder", (*CLIENT, "--session-out", "{folder}"), 2, ("is a folder",)),
    ("client-keylog-nowhere", (*CLIENT, "--keylog", "{missing}"), 2, ("cannot open the key log",)),
    # a mistyped key is described, never echoed (it is the key, or nearly: the case asserts its absence)
    ("client-psk-key-not-hex", (*CLIENT, "--psk-key", "0xa1b2c3d4e5f6"), 2, ("no hex digit at position 2",)),
    ("client-psk-key-odd", (*CLIENT, "--psk-key", "a1b2c3d4e5f"), 2, ("an odd number of digits",)),
    ("client-keylog-folder", (*CLIENT, "--keylog", "{folder}"), 2, ("cannot open the key log",)),
    ("client-diagram-suffix", (*CLIENT, "--diagram", "x.txt"), 2, ("name a .svg or .mmd",)),
    ("client-diagram-nowhere", (*CLIENT, "--diagram", "{missing}.svg"), 2, ("there is no folder",)),
    ("client-illustrate-suffix", (*CLIENT, "--illustrate", "x.svg"), 2, ("name a .html file",)),
    ("client-illustrate-folder", (*CLIENT, "--illustrate", "{folder}"), 2, ("is a folder",)),
    ("client-groups-empty", (*CLIENT, "--groups", ","), 2, ("empty group list",)),
    ("client-ciphers", (*CLIENT, "--ciphers", "RC4"), 2, ("unknown cipher suite 'RC4'",)),
    ("client-alpn-long", (*CLIENT, "--alpn", "x" * 256), 2, ("RFC 7301",)),
    ("client-versions", (*CLIENT, "--tls-min", "1.3", "--tls-max", "1.2"), 2, ("is above --tls-max",)),
    ("client-cacert-garbage", ("client", "127.0.0.1:{refused}", "--cacert", "{garbage_txt}"), 2,
     ("holds no PEM certificate",)),
    ("client-crl-garbage", (*CLIENT, "--crl", "{garbage_txt}"), 2, ("neither PEM nor DER",)),
    ("client-key-with-password", (*CLIENT, "--cert", "{server_pem}", "--key", "{enc_key}"), 2,
     ("protected by a password",)),
    ("client-timeout", (*CLIENT, "--timeout", "0"), 2, ("--timeout must be above 0",)),
    # dissect
    ("dissect-missing", ("dissect", "{missing}"), 2, ("cannot read the capture",)),
    ("dissect-empty", ("dissect", "{empty_txt}"), 2, ("not a pcap or pcapng capture (the file is empty)",)),
    ("dissect-text", ("dissect", "{garbage_txt}"), 2, ("not a pcap or pcapng capture",)),
    ("dissect-header-cut", ("dissect", "{header_only_pcap}"), 2, ("not a pcap or pcapng capture",)),
    ("dissect-folder", ("dissect", "{folder}"), 2, ("Is a directory",)),
    ("dissect-keylog-missing", ("dissect", "{good_pcap}", "--keylog", "{missing}"), 2, ("cannot read the key log",)),
    # ca, demo, diagram
    ("ca-missing-dir", ("ca", "--dir", "{missing}", "list"), 2, ("is not a CA directory", "glasstls ca init")),
    ("ca-revoke-missing-dir", ("ca", "--dir", "{missing}", "revoke", "{server_pem}"), 2, ("not a CA directory",)),
    ("demo-out-file", ("demo", "--quiet", "--out", "{garbage_txt}"), 2, ("is a file, not a folder",)),
    ("diagram-out-file", ("diagram", "--states", "-o", "{garbage_txt}"), 2, ("is a file, not a folder",)),
]
# fmt: on


@pytest.fixture(scope="module")
def static_results(files: dict[str, str], refused_port: int, busy_port: int) -> dict[str, Result]:
    values = files | {"refused": str(refused_port), "busy": str(busy_port)}
    results = {}
    # A few processes at a time: sixty started at once on two busy cores each took most of the
    # per-process timeout just to import, and one was killed (returncode -9) in a loaded CI run.
    batch = max(2, 2 * (os.cpu_count() or 1))
    for start in range(0, len(STATIC_CASES), batch):
        procs = {}
        for case_id, args, _, _ in STATIC_CASES[start : start + batch]:
            argv = [*GLASSTLS, *(a.format(**values) for a in args)]
            procs[case_id] = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=files["dir"]
            )
        for case_id, proc in procs.items():
            try:
                out, err = proc.communicate(timeout=TIMEOUT * 2)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            results[case_id] = Result(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
    return results


@pytest.mark.parametrize(
    ("case_id", "code", "phrases"), [(c[0], c[2], c[3]) for c in STATIC_CASES], ids=[c[0] for c in STATIC_CASES]
)
def test_bad_input_ends_in_a_clear_message(
    static_results: dict[str, Result], case_id: str, code: int, phrases: tuple[str, ...]
) -> None:
    res = static_results[case_id]
    clean(res, code, *phrases)
    assert len(res.stderr.strip().splitlines()) <= 3, res.stderr  # one or a few lines, not a wall
    assert "a1b2c3d4e5f" not in res.stderr  # (the psk-key cases' key)


def test_truncated_capture_is_dissected_with_a_note(files: dict[str, str]) -> None:
    res = run("dissect", files["cut_pcap"])
    clean(res, 0)
    assert "the capture is cut short: the file ends inside frame 2" in res.stdout


# -- the client against peers that do not speak TLS -------------------------------------------------


@contextlib.contextmanager
def fake_server(reply: bytes | None, then_wait: bool = False) -> Iterator[tuple[int, threading.Event]]:
    """A TCP server for one connection: it reads, sends ``reply`` and closes (None: it says nothing and
    waits; ``then_wait``: it sends ``reply`` and waits)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted, done = threading.Event(), threading.Event()

    def serve() -> None:
        listener.settimeout(TIMEOUT)
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            accepted.set()
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                if reply is not None:
                    conn.sendall(reply)
                if reply is None or then_wait:
                    done.wait(TIMEOUT)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        done.set()
        listener.close()
        thread.join(TIMEOUT)


@pytest.mark.parametrize(
    ("reply", "phrases"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", ("plain text 'HTTP/1.1 400 Bad Request'", "check HOST:PORT")),
        (b"SSH-2.0-OpenSSH_9.6\r\n", ("plain text 'SSH-2.0-OpenSSH_9.6'", "unexpected_message")),
        (b"", ("the server closed the connection while waiting for ServerHello",)),
        (bytes(range(200, 256)) * 2, ("record of unknown content type 0xc8", "not speaking TLS")),
    ],
    ids=["http", "ssh-banner", "close", "random-bytes"],
)
def test_client_to_something_else(reply: bytes, phrases: tuple[str, ...]) -> None:
    with fake_server(reply) as (port, _):
        res = run("client", f"127.0.0.1:{port}", "--insecure", "--json")
    clean(res, 1, "glasstls: handshake failed", "diagnosis:", *phrases)


def test_client_gives_up_on_a_silent_server() -> None:
    with fake_server(None) as (port, _):
        started = time.monotonic()
        res = run("client", f"127.0.0.1:{port}", "--insecure", "--timeout", "0.5")
    clean(res, 1, "no answer from the server in 0.5 s while waiting for ServerHello", "--timeout waits longer")
    assert time.monotonic() - started < TIMEOUT / 2


def test_client_tells_a_slow_server_from_a_silent_one() -> None:
    """A server that began its answer and then stalls: the deadline holds, and the report says the
    answer was incomplete, not that there was none."""
    with fake_server(b"\x16\x03\x03", then_wait=True) as (port, _):
        res = run("client", f"127.0.0.1:{port}", "--insecure", "--timeout", "0.5")
    clean(res, 1, "answer was still incomplete after 3 bytes and 0.5 s", "answered too slowly for --timeout")
    assert "no answer from the server" not in res.stderr


# -- the server against clients that do not speak TLS -----------------------------------------------


def start_server(files: dict[str, str], *extra: str, stdout: int = subprocess.DEVNULL) -> tuple[subprocess.Popen, int]:
    tls_files = ["--cert", files["server_pem"], "--key", files["server_key"]]
    proc = subprocess.Popen(
        [*GLASSTLS, "server", "--listen", "127.0.0.1:0", *tls_files, *extra],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
        raise AssertionError(f"server did not start: {line!r}{proc.stderr.read()}")
    return proc, int(match.group(1))


def stop(proc: subprocess.Popen) -> str:
    """The rest of its stderr, once it is gone (killed if it has not gone by itself)."""
    try:
        _, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err or ""


def send_raw(port: int, data: bytes, *, half_close: bool = False) -> bytes:
    """``data`` to the server, then whatever it answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := s.recv(4096):
                answer += chunk
        return answer


def test_server_survives_clients_that_do_not_speak_tls(files: dict[str, str]) -> None:
    proc, port = start_server(files, "--max-connections", "5")
    try:
        assert send_raw(port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n") == ALERT_UNEXPECTED_MESSAGE
        assert send_raw(port, bytes(range(256))) == ALERT_UNEXPECTED_MESSAGE
        assert send_raw(port, SSL2_HELLO) == ALERT_UNEXPECTED_MESSAGE
        hello = ClientConnection(ClientConfig(), server_name="localhost").data_to_send()
        assert send_raw(port, hello[: len(hello) // 2], half_close=True) == b""
        # ... and it still serves a real client afterwards.
        res = run("client", f"127.0.0.1:{port}", "--insecure", "--linger", "0.3", stdin=b"still here\n")
        clean(res, 0)
        assert res.stdout == "still here\n"
    finally:
        err = stop(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert "it sent plain text 'GET / HTTP/1.1'" in err and "an http:// URL instead of https://" in err
    assert "record of unknown content type 0x00" in err
    assert "a ClientHello in the SSL 2.0 format" in err and "RFC 6176" in err
    assert "peer closed the connection while waiting for ClientHello" in err
    assert err.count("glasstls: handshake with 127.0.0.1:") == 4


def test_server_goes_on_when_a_page_cannot_be_written(files: dict[str, str], tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    pages.mkdir()
    proc, port = start_server(files, "--max-connections", "1", "--illustrate", str(pages / "conn.html"))
    try:
        shutil.rmtree(pages)  # the folder was there at the start, and is gone when the page is due
        res = run("client", f"127.0.0.1:{port}", "--insecure", "--linger", "0.3", stdin=b"x")
        clean(res, 0)
    finally:
        err = stop(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "glasstls: cannot write the page" in err, err


def test_client_checks_the_server_name_is_ascii(files: dict[str, str]) -> None:
    proc, port = start_server(files, "--max-connections", "2", "--tickets", "0")
    try:
        res = run("client", f"127.0.0.1:{port}", "--insecure", "--servername", "bücher.example")
        clean(res, 2, "is not ASCII", "xn--bcher-kva.example")
        res = run(
            "client",
            f"127.0.0.1:{port}",
            "--insecure",
            "--linger",
            "0.3",
            "--session-out",
            str(Path(files["dir"]) / "s.pem"),
            stdin=b"x",
        )
    finally:
        stop(proc)
    clean(res, 0)
    # A server that issues no TLS 1.3 ticket (--tickets 0): the client says so instead of writing nothing silently.
    assert "No session saved" in res.stderr


# -- Ctrl-C ---------------------------------------------------------------------------------------


def interrupted(proc: subprocess.Popen, code: int = 130) -> str:
    """Ctrl-C: a client exits 130, as a shell's program does; a server shuts down gracefully and exits 0."""
    proc.send_signal(signal.SIGINT)
    err = stop(proc)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    return err


def test_ctrl_c_on_an_idle_server(files: dict[str, str]) -> None:
    proc, _ = start_server(files)
    interrupted(proc, 0)


def test_ctrl_c_on_a_server_mid_handshake(files: dict[str, str]) -> None:
    proc, port = start_server(files)
    with socket.create_connection(("127.0.0.1", port)):  # connected, says nothing: the server waits for it
        time.sleep(0.3)
        interrupted(proc, 0)


def test_ctrl_c_on_a_client_mid_connection(files: dict[str, str]) -> None:
    server, port = start_server(files)
    client = subprocess.Popen(
        [*GLASSTLS, "client", f"127.0.0.1:{port}", "--insecure"],
        stdin=subprocess.PIPE,  # left open: the client waits for more to send
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stderr is not None
        for _ in range(10):  # the summary ends with the ALPN line: connected, in the select loop
            if client.stderr.readline().startswith("* ALPN"):
                break
        interrupted(client)
    finally:
        client.kill()
        server.kill()
        stop(server)


def test_ctrl_c_on_a_client_mid_handshake() -> None:
    with fake_server(None) as (port, accepted):
        client = subprocess.Popen(
            [*GLASSTLS, "client", f"127.0.0.1:{port}", "--insecure"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert accepted.wait(TIMEOUT)
        time.sleep(0.2)  # the ClientHello is out; the client waits for the ServerHello
        interrupted(client)


# -- the reader goes away (``| head``) -----------------------------------------------------------


def closed_pipe() -> int:
    """The write end of a pipe whose reader has already gone: the first write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


@pytest.mark.parametrize(
    "args", [("diagram", "--states", "-o", "{dir}/states"), ("demo", "--out", "{dir}/demo")], ids=["diagram", "demo"]
)
def test_stdout_closed_early(files: dict[str, str], args: tuple[str, ...]) -> None:
    stdout = closed_pipe()
    try:
        res = subprocess.run(
            [*GLASSTLS, *(a.format(**files) for a in args)], stdout=stdout, stderr=subprocess.PIPE, timeout=TIMEOUT
        )
    finally:
        os.close(stdout)
    clean(Result(res.returncode, "", res.stderr.decode()), 0)
    assert res.stderr == b""


def test_client_stdout_closed_early(files: dict[str, str]) -> None:
    server, port = start_server(files, "--max-connections", "1")
    stdout = closed_pipe()
    try:
        res = subprocess.run(
            [*GLASSTLS, "client", f"127.0.0.1:{port}", "--insecure"],
            input=b"line\n" * 1000,
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
        )
    finally:
        os.close(stdout)
        err = stop(server)
    clean(Result(res.returncode, "", res.stderr.decode()), 0, "* Connected with")
    assert server.returncode == 0 and "Traceback" not in err, err


def test_server_trace_reader_gone(files: dict[str, str]) -> None:
    stdout = closed_pipe()
    try:
        server, port = start_server(files, "--trace=json", stdout=stdout)
    finally:
        os.close(stdout)
    try:
        run("client", f"127.0.0.1:{port}", "--insecure", "--linger", "0.2", stdin=b"x")
    finally:
        err = stop(server)
    # The server ends quietly, as ``glasstls server --trace=json | head`` should, instead of failing every
    # connection with "Broken pipe".
    assert server.returncode == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err, err


# -- the CA ---------------------------------------------------------------------------------------


def test_ca_refusals_leave_the_ca_as_it_was(files: dict[str, str], tmp_path: Path) -> None:
    ca = ("ca", "--dir", str(tmp_path / "ca"))
    clean(run(*ca, "init", "--name", "Robust"), 0)
    before = run(*ca, "list").stdout
    # Refused before anything is issued: the CA records no certificate nobody has the key of.
    clean(run(*ca, "issue", "server", "a.example", "--out", str(tmp_path / "missing" / "a")), 2, "there is no folder")
    clean(run(*ca, "issue", "server", "a.example", "--days", "99999999"), 2, "days must be", "--days")
    assert run(*ca, "list").stdout == before
    out = str(tmp_path / "a")
    clean(run(*ca, "issue", "server", "a.example", "--out", out), 0)
    clean(run(*ca, "issue", "server", "a.example", "--out", out), 2, "a.key exists", "--force")
    clean(run(*ca, "revoke", f"{out}.pem"), 0)
    clean(run(*ca, "revoke", f"{out}.pem"), 2, "is already revoked")
    res = run(*ca, "revoke", files["garbage_txt"])
    clean(res, 2, "holds no certificate that parses")
    assert "ParseError" not in res.stderr
    clean(run(*ca, "revoke", files["server_pem"]), 2, "was not issued by this CA")
    clean(run(*ca, "export", f"{out}.pem", files["enc_key"], "--no-password"), 2, "is encrypted")
    clean(run(*ca, "export", f"{out}.pem", files["other_key"], "--no-password"), 2, "does not belong to")
    assert len(run(*ca, "list").stdout.splitlines()) == len(before.splitlines()) + 1


def test_client_sends_a_large_file_to_an_echoing_peer_without_deadlock(files: dict[str, str], tmp_path: Path) -> None:
    """stdin a 16 MB regular file, and a Python ssl server that echoes each read with a blocking
    sendall (as s_server and gnutls-serv echo): a client that sent the whole file before reading
    again waited forever on a peer waiting for it to read. It sends as the socket takes."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files["server_pem"], files["server_key"])
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    echoed = hashlib.sha256()

    def echo() -> None:
        with contextlib.suppress(OSError), listener:
            raw, _ = listener.accept()
            raw.settimeout(TIMEOUT)
            with context.wrap_socket(raw, server_side=True) as tls:
                while data := tls.recv(1 << 16):
                    echoed.update(data)
                    tls.sendall(data)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    blob = os.urandom(16 << 20)
    source = tmp_path / "blob.bin"
    source.write_bytes(blob)
    with open(source, "rb") as stdin:
        res = subprocess.run(
            [*GLASSTLS, "client", f"127.0.0.1:{listener.getsockname()[1]}", "--servername", "localhost",
             "--cacert", files["ca_pem"], "--linger", "1"],
            stdin=stdin, capture_output=True, timeout=TIMEOUT,
        )  # fmt: skip
    thread.join(TIMEOUT)
    assert res.returncode == 0, res.stderr.decode(errors="replace")[-2000:]
    assert echoed.hexdigest() == hashlib.sha256(blob).hexdigest()
    assert res.stdout == blob


def test_stdin_ready_with_a_connection_that_just_failed_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The network and stdin ready in one round of select: the network's bytes (a banner that is
    not TLS) end the connection first, and stdin's bytes must not be sent on it (they raised
    ConnectionClosedError through the CLI: a traceback instead of the diagnosis)."""
    import argparse

    from glasstls.cli.client import _Session
    from glasstls.trace.diagnose import FailureRecorder

    read_end, write_end = os.pipe()
    os.write(write_end, b"EHLO x\r\n")
    ours, theirs = socket.socketpair()
    try:
        monkeypatch.setattr(sys, "stdin", os.fdopen(read_end, "r"))
        conn = ClientConnection(ClientConfig(), server_name="localhost")
        args = argparse.Namespace(timeout=5.0, linger=0.0, session_out=None)
        session = _Session(ours, conn, args, FailureRecorder())
        conn.receive_bytes(b"220 mail.example ESMTP ready\r\n")  # what the network brought first
        assert conn.closed
        session._on_stdin()
        assert os.read(read_end, 64) == b"EHLO x\r\n"  # left unread: it has nowhere to go
    finally:
        sys.stdin.close()
        os.close(write_end)
        ours.close()
        theirs.close()


def _serve_then_cut(files: dict[str, str], listener: socket.socket) -> None:
    """One TLS connection: the handshake, b"partial\\n", then the TCP stream ends without close_notify."""
    from glasstls import CertifiedKey, ServerConfig, ServerConnection

    conn = ServerConnection(
        ServerConfig(certificates=(CertifiedKey.from_files(files["server_pem"], files["server_key"]),))
    )
    sock, _ = listener.accept()
    with sock:
        sock.settimeout(TIMEOUT)
        while not conn.handshake_complete:
            data = sock.recv(1 << 16)
            if not data:
                return
            conn.receive_bytes(data)
            sock.sendall(conn.data_to_send())
        conn.send(b"partial\n")
        sock.sendall(conn.data_to_send())


@pytest.mark.parametrize("allow", [False, True])
def test_client_reports_a_stream_cut_without_close_notify(files: dict[str, str], allow: bool) -> None:
    """README: the client exits 1 when the server ends the stream without close_notify, after writing
    what came, and names the CLI's option that accepts it; --allow-truncation exits 0."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        server = threading.Thread(target=_serve_then_cut, args=(files, listener), daemon=True)
        server.start()
        port = listener.getsockname()[1]
        extra = ["--allow-truncation"] if allow else []
        res = run("client", f"127.0.0.1:{port}", "--cacert", files["ca_pem"], "--servername", "localhost", *extra)
        server.join(TIMEOUT)
    assert res.stdout == "partial\n"  # what arrived is written first
    if allow:
        clean(res, 0)
    else:
        assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
        last = res.stderr.strip().splitlines()[-1]  # after the connection's summary
        assert last.startswith("glasstls: connection failed: the peer closed the connection without close_notify")
        assert "after 8 bytes" in last and "--allow-truncation accepts this" in last, last


# -- what a file or an argument holds, shown -----------------------------------------------------------


def test_a_certificate_subject_in_an_error_cannot_write_to_the_terminal(tmp_path: Path) -> None:
    """A certificate whose subject holds ESC sequences and a line break, with a key that does not match it:
    the error quoted the subject raw (a forged line, a recoloured terminal)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    evil = "evil\x1b[31mRED\x07\nglasstls: FORGED LINE"
    ca = ThrowawayCA.create()
    issued = ca.issue_server(["localhost"])
    other = ca.issue_server(["other.example"])
    builder = x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, evil)]))
    leaf = issued.chain[0]
    builder = builder.issuer_name(leaf.issuer).public_key(leaf.public_key()).serial_number(7)
    builder = builder.not_valid_before(leaf.not_valid_before_utc).not_valid_after(leaf.not_valid_after_utc)
    from cryptography.hazmat.primitives import hashes, serialization

    forged = builder.sign(other.private_key, hashes.SHA256())  # (only its subject matters here)
    (tmp_path / "evil.pem").write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    other.write(tmp_path / "o.pem", tmp_path / "o.key")
    res = run(
        "server", "--listen", "127.0.0.1:0", "--cert", str(tmp_path / "evil.pem"), "--key", str(tmp_path / "o.key")
    )
    clean(res, 2, "does not match the certificate", "evil\\x1b[31mRED\\x07\\nglasstls: FORGED LINE")
    assert "\x1b" not in res.stderr and "\nglasstls: FORGED" not in res.stderr


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (("client", "a..b:443"), "idna"),
        (("client", "127.0.0.1:1", "--timeout", "nan"), "--timeout must be above 0 seconds"),
        (("client", "127.0.0.1:1", "--linger", "inf"), "both at most 86400"),
        (("client", "::1:443"), "an IPv6 address goes in brackets, as [::1]:443"),
        (("client", "[::1:443"), "unbalanced brackets"),
        (("ca", "--dir", "{d}", "list"), "is damaged (issued entry 1: no text for serial, kind, subject"),
    ],
)
def test_an_input_no_check_caught_is_one_line_not_a_traceback(
    tmp_path: Path, args: tuple[str, ...], phrase: str
) -> None:
    if "ca" in args:
        assert run("ca", "--dir", str(tmp_path / "ca"), "init").returncode == 0
        state = tmp_path / "ca" / "state.json"
        data = json.loads(state.read_text())
        data["issued"] = [{}]  # a damaged entry (the top level is checked, the entries are not)
        state.write_text(json.dumps(data))
    res = run(*(a.replace("{d}", str(tmp_path / "ca")) for a in args))
    assert "Traceback" not in res.stderr and res.returncode != 0, res.stderr
    assert res.stderr.startswith("glasstls: ") and res.stderr.count("\n") == 1 and phrase in res.stderr, res.stderr


def test_the_client_gives_up_on_a_server_that_stops_reading(files: dict[str, str], tmp_path: Path) -> None:
    """A server that completes the handshake and then reads nothing, and 20 MB on stdin: the client waited
    for the socket with no deadline, for ever; it now gives up after --timeout without progress."""
    import ssl
    import threading
    import time

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files["server_pem"], files["server_key"])
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with context.wrap_socket(conn, server_side=True):
            stop.wait(30)  # reads nothing

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    (tmp_path / "big.bin").write_bytes(bytes(20 << 20))
    started = time.monotonic()
    try:
        with open(tmp_path / "big.bin", "rb") as stdin:
            argv = [*GLASSTLS, "client", f"127.0.0.1:{listener.getsockname()[1]}", "--cacert", files["ca_pem"]]
            argv += ["--servername", "localhost", "--timeout", "2", "--linger", "1"]
            done = subprocess.run(argv, stdin=stdin, capture_output=True, timeout=TIMEOUT)
    finally:
        stop.set()
        listener.close()
        thread.join(10)
    res = Result(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.endswith("glasstls: connection failed: the server took none of our data for 2 s: it stopped "
                               "reading (--timeout)\n"), res.stderr  # fmt: skip
    assert time.monotonic() - started < 12


def test_an_endless_file_given_for_a_certificate_is_refused_by_its_bound(files: dict[str, str]) -> None:
    """--cacert /dev/zero (or --cert, a CSR) was read until memory ran out."""
    res = run("client", "127.0.0.1:1", "--cacert", "/dev/zero")
    clean(res, 2, "/dev/zero holds more than 64 MiB: no certificate, key or CA file is that large")


def test_a_file_of_a_capath_that_does_not_parse_is_skipped(files: dict[str, str], tmp_path: Path) -> None:
    """As OpenSSL's CApath: one truncated file no longer refuses the whole directory."""
    from glasstls.x509.store import TrustStore

    (tmp_path / "root.pem").write_bytes(Path(files["ca_pem"]).read_bytes())
    (tmp_path / "trunc.pem").write_bytes(Path(files["ca_pem"]).read_bytes()[:200])
    assert len(TrustStore.from_directory(tmp_path).certificates) == 1


@pytest.mark.parametrize("option", ["--output", "--keylog"])
def test_run_refuses_an_output_it_cannot_write_before_the_program_starts(tmp_path: Path, option: str) -> None:
    """The program ran untraced (--output), or its own HTTPS calls failed (--keylog), exit 0 either way."""
    marker = tmp_path / "ran"
    program = f"open({str(marker)!r}, 'w').close()"
    for bad, phrase in ((tmp_path, "is a folder: name a file"), (tmp_path / "no" / "f", "there is no folder")):
        res = run("run", option, str(bad), "--trace", "--", sys.executable, "-c", program)
        clean(res, 2, phrase)
        assert not marker.exists()


def test_run_takes_a_program_named_right_after_trace(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('ran')\n")
    res = run("run", "--trace", sys.executable, str(tmp_path / "app.py"))
    assert res.returncode == 0 and res.stdout == "ran\n", res.stderr


@pytest.mark.parametrize(("message", "size"), [("", 0), ("x" * 20000, 20000)])
def test_demo_refuses_a_message_it_cannot_send_before_any_handshake(tmp_path: Path, message: str, size: int) -> None:
    """An empty message waited 10 s for a reply; a long one failed after two handshakes, exit 1."""
    res = run("demo", "--quiet", "--out", str(tmp_path / "d"), "--message", message)
    clean(res, 2, f"--message takes 1 to 16384 bytes (it goes as early data once), not {size}")
    assert not (tmp_path / "d").exists()


def test_dissect_says_when_the_connection_asked_for_is_not_in_the_capture(files: dict[str, str]) -> None:
    res = run("dissect", files["good_pcap"], "--connection", "999")
    clean(res, 2, "--connection 999: the capture has 1 TCP connection(s), numbered from 1")


def test_a_profile_floor_above_tls_max_is_said_as_the_profiles() -> None:
    """--profile modern --tls-max 1.2 was told to "lower --tls-min", which that profile does not allow."""
    res = run("client", "127.0.0.1:1", "--profile", "modern", "--tls-max", "1.2")
    clean(res, 2, "tls_min TLSv1.3 (the modern profile's lowest version) is above tls_max TLSv1.2",
          "raise --tls-max, or choose --profile intermediate")  # fmt: skip
    assert "lower --tls-min" not in res.stderr


def test_an_argument_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    argv = [*GLASSTLS, "ca", "--dir", str(tmp_path / "ca"), "init", "--name"]
    done = subprocess.run([a.encode() for a in argv] + [b"a\xffb"], capture_output=True, timeout=TIMEOUT)
    err = done.stderr.decode(errors="replace")
    assert done.returncode == 2 and "Traceback" not in err, err
    assert 'an argument holds bytes that are not UTF-8 (ff in "a\\xffb")' in err, err
