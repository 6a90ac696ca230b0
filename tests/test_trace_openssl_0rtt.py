"""Another stack's 0-RTT resumption, dissected and explained (issue 10, item 8).

``openssl s_client -sess_out`` then ``-sess_in -early_data FILE`` (twice) against
``openssl s_server -early_data``, through a recording TCP relay on 127.0.0.1; the
bytes become a capture (glasstls.trace.capture) that ``dissect`` reads with
OpenSSL's own key log. The renderers see what OpenSSL did:

* the resumed connection with 0-RTT accepted: the PSK offer, the dummy
  ChangeCipherSpec before the 0-RTT data, the early data (decrypted under
  CLIENT_EARLY_TRAFFIC_SECRET), the ServerHello accepting the PSK, the
  EncryptedExtensions accepting the early data, EndOfEarlyData, the tickets with
  their max_early_data_size, in --explain, the sequence diagram and the
  illustrated page; glasstls's key log writer gives back OpenSSL's early lines;
* the same ticket offered again: OpenSSL's anti-replay turns the early data
  down, and the renderers say it was rejected.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from glasstls.cli.main import main
from glasstls.observe import MessageTrace, RecordTrace, TraceEvent
from glasstls.trace.capture import tcp_packets, write_capture
from glasstls.trace.diagram import SequenceDiagram
from glasstls.trace.illustrate import Illustration
from glasstls.trace.keylog import KeyLog
from glasstls.trace.pcap import NSSKeyLog, dissect
from glasstls.trace.text import render_text
from pairs import server_identity

OPENSSL = shutil.which("openssl")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(90),
    pytest.mark.skipif(OPENSSL is None, reason="no openssl command"),
]
WAIT = 20.0
EARLY = b"GET /early HTTP/1.0\r\n\r\n"


class Relay:
    """A TCP relay to ``port`` that keeps, per connection, what each side sent, in order."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections: list[list[tuple[str, bytes]]] = []
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target), timeout=WAIT)
            log: list[tuple[str, bytes]] = []
            with self.lock:
                self.connections.append(log)
            self._start(self._pump, client, server, "client", log)
            self._start(self._pump, server, client, "server", log)

    def _pump(self, source: socket.socket, sink: socket.socket, who: str, log: list[tuple[str, bytes]]) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
                return
            with self.lock:
                log.append((who, data))
            sink.sendall(data)

    def close(self) -> None:
        self.sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Path]]]:
    """OpenSSL's key log, and a capture of each connection through the relay."""
    assert OPENSSL is not None
    directory = tmp_path_factory.mktemp("openssl-0rtt")
    server_identity("localhost").write(directory / "cert.pem", directory / "key.pem")
    (directory / "early.txt").write_bytes(EARLY)
    keys = directory / "keys.log"
    port = free_port()
    server = subprocess.Popen(
        [
            *(OPENSSL, "s_server", "-tls1_3", "-accept", f"127.0.0.1:{port}", "-quiet", "-naccept", "4"),
            *("-cert", str(directory / "cert.pem"), "-key", str(directory / "key.pem")),
            *("-early_data", "-max_early_data", "16384"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    relay = Relay(port)
    try:
        deadline = time.monotonic() + WAIT
        while True:  # until s_server listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.skip("openssl s_server did not start")
                time.sleep(0.05)
        # That probe was s_server's first connection; three more through the relay: one that keeps a
        # ticket, one that resumes with 0-RTT data, one that offers the same ticket and data again.
        session = directory / "session.pem"

        def s_client(*extra: str) -> str:
            """One connection; its input ends once the session file exists (the tickets come after
            the handshake) or after a moment, and s_client closes."""
            command = [OPENSSL, "s_client", "-tls1_3", "-connect", f"127.0.0.1:{relay.port}"]
            command += ["-servername", "localhost", "-keylogfile", str(keys), *extra]
            client = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            assert client.stdin is not None
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and not (session.exists() and "-sess_out" in extra):
                time.sleep(0.05)
            try:
                out, _ = client.communicate(timeout=WAIT)
            finally:
                if client.poll() is None:
                    client.kill()
                    client.wait(WAIT)
            return out.decode(errors="replace")

        first = s_client("-sess_out", str(session))
        if not session.exists():
            pytest.skip(f"openssl s_client saved no TLS 1.3 session: {first[-300:]}")
        out = s_client("-sess_in", str(session), "-early_data", str(directory / "early.txt"))
        if "Early data was accepted" not in out:
            pytest.skip("this OpenSSL does not accept its own early data")
        s_client("-sess_in", str(session), "-early_data", str(directory / "early.txt"))
        server.wait(WAIT)
    except subprocess.TimeoutExpired:
        pytest.skip("openssl took too long")
    finally:
        relay.close()
        if server.poll() is None:
            server.kill()
            server.wait(WAIT)
    paths = []
    for n, log in enumerate(relay.connections):
        path = directory / f"connection{n}.pcap"
        write_capture(path, tcp_packets(log))
        paths.append(path)
    yield keys, paths


def client_events(keys: Path, capture: Path, wants_secrets: bool = False) -> list[TraceEvent]:
    dissection = dissect(capture, NSSKeyLog.load(keys), view="client", wants_secrets=wants_secrets)
    (stream,) = dissection.streams
    return stream.events


def plain(events: list[TraceEvent]) -> str:
    text = render_text(events, explain=True, width=100_000)
    return "\n".join(line.strip().removeprefix("| ") for line in text.splitlines())


def test_accepted_0rtt_explained(captures: tuple[Path, list[Path]]) -> None:
    keys, paths = captures
    events = client_events(keys, paths[1])
    text = plain(events)
    for words in (
        "offers a PSK (1 identity; modes psk_dhe_ke); 0-RTT early data follows",
        "It offers a pre-shared key (pre_shared_key, always the last extension): 1 identity",
        "With the early_data extension the client says it sends application data right behind this ClientHello",
        "A dummy ChangeCipherSpec from the client (middlebox compatibility mode",
        "From here on the client encrypts what it sends with the early traffic keys",
        "0-RTT application data, sent right behind the ClientHello and encrypted with the client's early",
        "It accepts the client's pre-shared key (selected identity 0): this is a resumption",
        "EncryptedExtensions (8): early_data; 0-RTT early data accepted",
        "Its early_data extension accepts the client's 0-RTT data",
        "EndOfEarlyData (client to server): the client has sent all its 0-RTT data",
        "a ticket for resuming later",
        "The early_data extension (max_early_data_size 16384 bytes) allows 0-RTT with this ticket",
    ):
        assert words in text, words
    assert "keys from the key block" not in text  # the dummy ChangeCipherSpec changes no keys
    names = [e.message.name for e in events if isinstance(e, MessageTrace)]
    assert "Certificate" not in names and names.count("EndOfEarlyData") == 1
    early = [e for e in events if isinstance(e, RecordTrace) and e.plaintext == EARLY]
    assert len(early) == 1 and early[0].direction == "out"


def test_accepted_0rtt_drawn_and_illustrated(captures: tuple[Path, list[Path]]) -> None:
    keys, paths = captures
    events = client_events(keys, paths[1])
    mermaid = SequenceDiagram(events).to_mermaid()
    assert "C->>S: (Application Data)" in mermaid and "C->>S: (EndOfEarlyData) · end of the 0-RTT data" in mermaid
    assert "0-RTT data accepted" in mermaid and "Session resumed with a pre-shared key" in mermaid
    assert "0-RTT rejected" not in mermaid
    illustration = Illustration()
    illustration.add(events)
    summary = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", illustration.render()))
    assert summary["0-RTT early data"] == "offered and accepted"
    assert summary["Resumed session"].startswith("yes: a pre-shared key (psk_dhe_ke")
    assert "0-RTT up to 16384 bytes" in summary["Tickets"]


def test_the_key_log_writer_gives_back_openssls_early_lines(captures: tuple[Path, list[Path]]) -> None:
    keys, paths = captures
    out = io.StringIO()
    KeyLog(out).render(client_events(keys, paths[1], wants_secrets=True))
    ours = out.getvalue().splitlines()
    theirs = set(keys.read_text().splitlines())
    assert set(ours) <= theirs
    labels = {line.split()[0] for line in ours}
    assert {"CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET"} <= labels


def test_replayed_ticket_0rtt_rejected(captures: tuple[Path, list[Path]]) -> None:
    keys, paths = captures
    if len(paths) < 3:
        pytest.skip("the third connection was not captured")
    events = client_events(keys, paths[2])
    text = plain(events)
    assert "0-RTT early data follows" in text
    assert "It has no early_data extension: the server rejects the client's 0-RTT data" in text
    assert "0-RTT rejected" in SequenceDiagram(events).to_mermaid()
    illustration = Illustration()
    illustration.add(events)
    summary = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", illustration.render()))
    assert summary["0-RTT early data"] == "offered, rejected: the server skipped it"


def test_accepted_0rtt_without_keys_is_named_by_where_it_stands(
    captures: tuple[Path, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    """``glasstls dissect`` with no key log: the client's record between its ClientHello and the
    ServerHello is its 0-RTT data (Wireshark says Application Data)."""
    _keys, paths = captures
    assert main(["dissect", str(paths[1]), "--side", "client"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "[encrypted" in line]
    assert "client > record application_data" in lines[0] and "0-RTT early data" in lines[0], lines
    # OpenSSL's flight comes in two records, the client's in two (EndOfEarlyData, then Finished):
    # the first of each is named.
    assert lines[1].startswith("client < ") and "server's encrypted handshake begins" in lines[1], lines
    assert lines[2].endswith("[encrypted]"), lines
    assert lines[3].startswith("client > ") and "client's encrypted handshake begins" in lines[3], lines
    assert all(line.endswith("[encrypted]") for line in lines[4:]), lines
    assert EARLY.decode(errors="replace") not in out
    # The early keys come before the ServerHello that names the suite: said so, not "?".
    assert "client * write keys: early, the PSK's suite, not yet known" in out, out
