"""tshark decrypts a glasstls session with glasstls's own key log, and ``glasstls dissect`` reads the same capture.

A glasstls server and client talk over 127.0.0.1 while ``tshark -i lo``
captures the connection; the key log is written by ``trace.keylog.KeyLog``
attached to one side (the client or the server: both must produce lines
tshark accepts), TLS 1.3 and TLS 1.2. Then:

* ``tshark -o tls.keylog_file:KEYLOG -z follow,tls,ascii,0`` shows the
  application data in clear ("glasstls-secret-payload-1234" and its echo),
  and ``-T fields -e tls.handshake.type -e data.data`` shows the messages
  TLS 1.3 encrypts (EncryptedExtensions, Certificate, CertificateVerify,
  Finished) and the decrypted payload;
* without the key log tshark sees none of it (so it was the key log);
* ``glasstls dissect CAPTURE --keylog KEYLOG`` on the same file finds the same
  payload and the same handshake messages.

Capturing needs root (or CAP_NET_RAW). tshark reports "Capturing on" before
dumpcap really captures, so the capture filter also admits UDP datagrams to a
probe port: the test sends probes until tshark prints one (``-P -l``: a
summary line per packet, flushed), runs the session, and sends probes again
until one shows, so every packet of the session was captured before SIGINT.
If live capture is not permitted here, the capture is written instead from
the bytes each side sent on its socket (``trace.pcap.write_capture``), which
tests the key log just the same. Every wait is bounded; tshark is killed in
teardown.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from interop_peers import WAIT, ServerThread, read_line

import glasstls
from glasstls import ClientConfig, ProtocolVersion, ServerConfig
from glasstls.cli.main import main
from glasstls.io.blocking import TLSSocket
from glasstls.sides import ClientConnection
from glasstls.trace import pcap
from glasstls.trace.keylog import KeyLog

TSHARK = shutil.which("tshark")
PAYLOAD = b"glasstls-secret-payload-1234"
START_WAIT = 30.0  # tshark loads every dissector before it captures: slower than the other peers

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(120),
    pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (Debian package tshark; make test installs it)"),
]

CASES = [("1.3", "client"), ("1.3", "server"), ("1.2", "client"), ("1.2", "server")]


class CaptureUnavailable(Exception):
    """Live capture on the loopback interface is not possible here."""


class LoopbackCapture:
    """``tshark -i lo`` writing TCP port ``port`` (and the probe datagrams) to ``path``."""

    def __init__(self, path: Path, port: int) -> None:
        self.path = path
        self.port = port
        self.probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.probe.bind(("127.0.0.1", 0))
        self.probe_port = self.probe.getsockname()[1]
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> LoopbackCapture:
        assert TSHARK is not None
        command = [TSHARK, "-i", "lo", "-f", f"tcp port {self.port} or udp port {self.probe_port}"]
        command += ["-w", str(self.path), "-a", "duration:90", "-P", "-l", "-n"]
        try:
            self.proc = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
            )
        except OSError as exc:
            self.probe.close()
            raise CaptureUnavailable(str(exc)) from exc
        for stream, sink in ((self.proc.stdout, self.lines), (self.proc.stderr, self.errors)):
            threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()
        try:
            self._sync(START_WAIT)
        except BaseException:
            self.__exit__()
            raise
        return self

    @staticmethod
    def _read(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def _sync(self, timeout: float) -> None:
        """Send probes until tshark prints one it captured after this call began."""
        assert self.proc is not None
        seen = len(self.lines)
        deadline = time.monotonic() + timeout
        while not any(f"{self.probe_port} → {self.probe_port}" in line for line in self.lines[seen:]):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise CaptureUnavailable("tshark did not capture on lo: " + " | ".join(self.errors[-5:]))
            self.probe.sendto(b"probe", ("127.0.0.1", self.probe_port))
            time.sleep(0.05)

    def stop(self) -> None:
        """Wait until everything sent so far was captured, then stop tshark and let it close the file."""
        assert self.proc is not None
        self._sync(WAIT)
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(WAIT)

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(WAIT)
        finally:
            self.probe.close()


class RecordingSocket:
    """A socket that also keeps what it sends, for the capture written when live capture is not possible."""

    def __init__(self, sock: socket.socket, side: str, sent: list[tuple[str, bytes]], lock: threading.Lock) -> None:
        self.sock, self.side, self.sent, self.lock = sock, side, sent, lock

    def sendall(self, data: bytes) -> None:
        with self.lock:
            self.sent.append((self.side, bytes(data)))
        self.sock.sendall(data)

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def close(self) -> None:
        self.sock.close()

    def __getattr__(self, name: str) -> Any:  # settimeout, gettimeout …: the socket's own
        return getattr(self.sock, name)


@dataclass(frozen=True)
class Captured:
    version: str
    keylog_side: str
    capture: Path
    keylog: Path
    live: bool  # captured by tshark on lo (else written from the sockets' traffic)


def run_session(pki: Any, version: str, keylog_side: str, directory: Path) -> Captured:
    keylog = directory / "keys.log"
    tls_max = ProtocolVersion.TLSv1_3 if version == "1.3" else ProtocolVersion.TLSv1_2
    server_config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), tls_max=tls_max)
    client_config = ClientConfig(trust_store=pki.trust_store(), tls_max=tls_max)
    sent: list[tuple[str, bytes]] = []
    lock = threading.Lock()
    ports: list[int] = []

    with KeyLog(keylog) as writer:

        def serve(sock: socket.socket) -> bytes:
            ports.append(sock.getpeername()[1])
            observer = writer if keylog_side == "server" else None
            tls = glasstls.accept(RecordingSocket(sock, "server", sent, lock), server_config, observer=observer)  # type: ignore[arg-type]
            try:
                line = read_line(tls.recv)
                tls.sendall(b"echo: " + line)
                return line
            finally:
                tls.close()

        def talk(port: int) -> bytes:
            sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
            observer = writer if keylog_side == "client" else None
            conn = ClientConnection(client_config, server_name="localhost", observer=observer)
            with TLSSocket(RecordingSocket(sock, "client", sent, lock), conn) as tls:  # type: ignore[arg-type]
                tls.do_handshake()
                tls.sendall(PAYLOAD + b"\n")
                return read_line(tls.recv)

        with ServerThread(serve) as server:
            capture = directory / "session.pcapng"
            try:
                with LoopbackCapture(capture, server.port) as tshark:
                    answer = talk(server.port)
                    assert server.result() == PAYLOAD + b"\n"
                    tshark.stop()
                live = True
            except CaptureUnavailable as exc:
                warnings.warn(
                    f"live capture not possible ({exc}); capture written from the sockets' traffic", stacklevel=1
                )
                answer = talk(server.port) if not sent else answer
                assert server.result() == PAYLOAD + b"\n"
                capture = directory / "session.pcap"
                packets = pcap.tcp_packets(sent, ("127.0.0.1", ports[0]), ("127.0.0.1", server.port))
                pcap.write_capture(capture, packets)
                live = False
    assert answer == b"echo: " + PAYLOAD + b"\n"
    return Captured(version, keylog_side, capture, keylog, live)


@pytest.fixture(scope="module", params=CASES, ids=[f"TLS{v}-keylog_by_{side}" for v, side in CASES])
def captured(request: pytest.FixtureRequest, pki: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    version, side = request.param
    directory = tmp_path_factory.mktemp(f"tshark-{version}-{side}")
    yield run_session(pki, version, side, directory)


def tshark(*args: str) -> str:
    assert TSHARK is not None
    proc = subprocess.run([TSHARK, "-n", *args], capture_output=True, text=True, timeout=60, errors="replace")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def handshake_types(capture: Path, keylog: Path | None) -> set[int]:
    options = ["-o", f"tls.keylog_file:{keylog}"] if keylog else []
    out = tshark("-r", str(capture), *options, "-Y", "tls", "-T", "fields", "-e", "tls.handshake.type")
    return {int(t) for t in re.findall(r"\d+", out)}


def test_the_key_log_lets_tshark_decrypt(captured: Captured) -> None:
    lines = captured.keylog.read_text().splitlines()
    expected = (
        {"CLIENT_RANDOM"}
        if captured.version == "1.2"
        else {
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
        }
    )
    assert expected <= {line.split()[0] for line in lines}, lines

    keys = ["-o", f"tls.keylog_file:{captured.keylog}"]
    followed = tshark("-r", str(captured.capture), *keys, "-q", "-z", "follow,tls,ascii,0")
    assert PAYLOAD.decode() in followed
    assert f"echo: {PAYLOAD.decode()}" in followed

    data = tshark("-r", str(captured.capture), *keys, "-Y", "tls", "-T", "fields", "-e", "data.data")
    decrypted = [bytes.fromhex(h) for h in re.findall(r"[0-9a-f]{2,}", data)]
    assert PAYLOAD + b"\n" in decrypted and b"echo: " + PAYLOAD + b"\n" in decrypted

    types = handshake_types(captured.capture, captured.keylog)
    if captured.version == "1.3":
        # EncryptedExtensions, CertificateVerify, Finished, and the server's Certificate as a CompressedCertificate
        # (25): the glasstls client offers certificate compression (RFC 8879)
        assert {1, 2, 8, 15, 20, 25} <= types
    else:
        assert {1, 2, 11, 12, 14, 16, 20} <= types  # Finished is decrypted after ChangeCipherSpec


def test_without_the_key_log_tshark_sees_nothing(captured: Captured) -> None:
    followed = tshark("-r", str(captured.capture), "-q", "-z", "follow,tls,ascii,0")
    assert PAYLOAD.decode() not in followed
    types = handshake_types(captured.capture, None)
    assert 20 not in types and 8 not in types
    assert {1, 2} <= types


def test_glasstls_dissect_reads_the_same_capture(captured: Captured, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dissect", str(captured.capture), "--keylog", str(captured.keylog), "--side", "client"]) == 0
    out = capsys.readouterr().out
    assert f"data: {PAYLOAD.decode()}\\n" in out
    assert f"data: echo: {PAYLOAD.decode()}\\n" in out
    assert "[encrypted]" not in out
    names = ["ClientHello", "ServerHello"]
    if captured.version == "1.3":
        names += ["EncryptedExtensions", "CompressedCertificate", "CertificateVerify", "Finished", "Finished"]
    else:
        names += ["Certificate", "ServerKeyExchange", "ServerHelloDone", "ClientKeyExchange", "Finished", "Finished"]
    shown = re.findall(r"^client [<>] (\w+) \(\d+\)", out, re.MULTILINE)
    assert [n for n in shown if n in names] == names, out

    result = pcap.dissect(captured.capture, pcap.NSSKeyLog.load(captured.keylog))
    assert len(result.streams) == 1
    stream = result.streams[0]
    assert stream.encrypted_records == 0 and stream.decrypted_records >= 4
    assert str(stream.version) == ("TLSv1_3" if captured.version == "1.3" else "TLSv1_2")
    if captured.live:  # tshark saw the real handshake: its SYN tells glasstls who the client is
        assert stream.server[1] != stream.client[1]
