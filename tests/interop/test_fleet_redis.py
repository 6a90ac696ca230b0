"""A fleet of two ``glasstls server`` processes sharing one redis-server (issue 14, "Must show").

* A TLS 1.2 session ID, a TLS 1.2 ticket and a TLS 1.3 ticket that one server issued
  resume at the other (``openssl s_client -sess_out`` at A, ``-sess_in`` at B: Reused).
* A 0-RTT flight accepted by A is refused by B when replayed byte for byte: B's log
  says it was seen by another server.
* Ticket keys rotating every two seconds while clients resume across the rotation, with
  tickets sealed under several keys.
* redis-server stopped mid-run and started again (empty): no crash, full handshakes
  for session IDs and 0-RTT refused meanwhile (tickets go on resuming under the keys
  the servers hold), one "store down" and one "store back" line per server,
  session-ID resumption again afterwards.
"""

from __future__ import annotations

import json
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from interop_peers import OPENSSL, run_s_client
from redis_peer import RedisServer, needs_redis

from glasstls import ApplicationData, ClientConfig, ClientConnection
from glasstls.enums import NamedGroup
from glasstls.session.store import load_session
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore

pytestmark = [pytest.mark.interop, needs_redis]

GLASSTLS = [sys.executable, "-m", "glasstls"]
WAIT = 20.0
GET = b"GET / HTTP/1.0\r\n\r\n"


class FleetServer:
    """``glasstls server --www --store URL`` on a free port, its stderr in a file."""

    def __init__(self, directory: Path, name: str, store: str, *extra: str) -> None:
        self.log_path = directory / f"{name}.log"
        self.command = [
            *GLASSTLS, "server", "--listen", "127.0.0.1:0", "--www",
            "--cert", str(directory / "cert.pem"), "--key", str(directory / "key.pem"),
            "--store", store, "--store-key", str(directory / "store.key"), *extra,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> FleetServer:
        with self.log_path.open("wb") as err:
            self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log())
            if found:
                self.port = int(found.group(1))
                return self
            assert self.proc.poll() is None, self.log()
            time.sleep(0.05)
        raise AssertionError(f"the server did not start: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first match of ``pattern`` in the log, waiting for it (log lines follow the client's view)."""
        deadline = time.monotonic() + WAIT
        while True:
            found = re.search(pattern, self.log())
            if found or time.monotonic() > deadline:
                assert found, f"{pattern!r} not in the log of {self.log_path.name}:\n{self.log()}"
                return found
            time.sleep(0.05)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fleet")
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost", "127.0.0.1"]).write(d / "cert.pem", d / "key.pem")
    (d / "ca.pem").write_bytes(ca.root_pem())
    (d / "store.key").write_text(random.randbytes(32).hex() + "\n")
    (d / "store.key").chmod(0o600)
    return d


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def fleet(files: Path, redis_server: RedisServer, request: pytest.FixtureRequest) -> Iterator[list[FleetServer]]:
    extra = getattr(request, "param", ())
    servers = [FleetServer(files, f"{request.node.name}-{n}", redis_server.url, *extra) for n in "ab"]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def s_client(files: Path, port: int, session: Path, mode: str, *options: str) -> str:
    """One connection of ``openssl s_client`` (-sess_out or -sess_in ``session``): its output."""
    client = run_s_client(
        [
            *options, "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
            "-CAfile", str(files / "ca.pem"), "-verify_return_error", "-ign_eof", mode, str(session),
        ],
        stdin=GET,
    )  # fmt: skip
    assert client.returncode == 0, client.stdout + client.stderr
    return client.stdout


def resumed(output: str) -> bool:
    assert re.search(r"^(New|Reused), TLSv1\.[23]", output, re.M), output
    return bool(re.search(r"^Reused, TLSv1\.[23]", output, re.M))


def issue_then_resume(files: Path, issuer: int, resumer: int, session: Path, *options: str) -> bool:
    assert not resumed(s_client(files, issuer, session, "-sess_out", *options))
    return resumed(s_client(files, resumer, session, "-sess_in", *options))


MODES = {
    "tls12-session-id": ("-tls1_2", "-no_ticket"),
    "tls12-ticket": ("-tls1_2",),
    "tls13-ticket": ("-tls1_3",),
}


@pytest.mark.parametrize("mode", MODES)
def test_a_session_issued_by_one_server_resumes_at_the_other(
    files: Path, fleet: list[FleetServer], tmp_path: Path, mode: str
) -> None:
    a, b = fleet
    assert issue_then_resume(files, a.port, b.port, tmp_path / "s.pem", *MODES[mode])
    assert issue_then_resume(files, b.port, a.port, tmp_path / "s.pem", *MODES[mode])
    for server in fleet:
        server.wait_for(r"TLSv1\.[23] .* resumed")
        assert "store down" not in server.log()


# -- 0-RTT replayed to the other server ------------------------------------------------------------


def glasstls_session(files: Path, port: int, path: Path) -> None:
    res = subprocess.run(
        [*GLASSTLS, "client", f"127.0.0.1:{port}", "--cacert", str(files / "ca.pem"), "--servername", "localhost",
         "--session-out", str(path), "--linger", "0.5"],
        input=GET, capture_output=True, timeout=WAIT,
    )  # fmt: skip
    assert res.returncode == 0 and path.exists(), res.stderr.decode()


def early_client(files: Path, session_path: Path, seed: int, now: datetime) -> ClientConnection:
    """A client whose first flight (ClientHello + 0-RTT GET) is the same bytes for the same seed and time."""
    config = ClientConfig(trust_store=TrustStore.from_pem((files / "ca.pem").read_bytes()), groups=(NamedGroup.x25519,))
    rng = random.Random(seed)
    return ClientConnection(
        config,
        "localhost",
        session=load_session(session_path),
        early_data=GET,
        randomness=rng.randbytes,
        clock=lambda: now,
    )


def drive(client: ClientConnection, flight: bytes, port: int) -> bytes:
    """The handshake of ``client``, whose first flight (``flight``) was already taken out,
    over TCP; then what the server answers to the 0-RTT GET until it closes (nothing, and
    close_notify from the client, when the server refused the early data)."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(flight)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not client.closed:
            data = sock.recv(65536)
            if not data:
                break
            received += b"".join(e.data for e in client.receive_bytes(data) if isinstance(e, ApplicationData))
            params = client.parameters
            if params is not None and params.early_data_accepted is False:
                client.close()  # the GET was refused with the 0-RTT data: nothing more to wait for
            out = client.data_to_send()
            if out:
                sock.sendall(out)
            if params is not None and params.early_data_accepted is False:
                break
    return received


@pytest.mark.parametrize("fleet", [("--early-data", "16384")], indirect=True)
def test_a_0rtt_flight_accepted_by_one_server_is_refused_by_the_other(
    files: Path, fleet: list[FleetServer], tmp_path: Path, redis_server: RedisServer
) -> None:
    """... and, once Redis has forgotten its records (FLUSHALL, as a restart or a failover to an empty
    replica leaves it), refused again by the server that accepted it: RFC 8446, Section 8.2."""
    a, b = fleet
    glasstls_session(files, a.port, tmp_path / "s.sess")
    now = datetime.now(UTC)
    first, replay = early_client(files, tmp_path / "s.sess", 7, now), early_client(files, tmp_path / "s.sess", 7, now)
    flight = first.data_to_send()
    assert flight == replay.data_to_send()  # the attacker's copy: byte for byte
    assert b"200 OK" in drive(first, flight, a.port)
    assert first.parameters is not None and first.parameters.early_data_accepted is True
    drive(replay, flight, b.port)  # the same bytes, to the other server
    assert replay.parameters is not None and replay.parameters.early_data_accepted is False
    a.wait_for(r"resumed; 0-RTT accepted \(\d+ bytes\)")
    refused = b.wait_for(r"resumed; 0-RTT rejected: (.*)")
    assert "replayed ClientHello: its binder was seen before by another server" in refused.group(1)
    assert "(redis)" in refused.group(1)
    redis.Redis.from_url(redis_server.url).flushall()
    again = early_client(files, tmp_path / "s.sess", 7, now)
    assert again.data_to_send() == flight
    drive(again, flight, a.port)
    assert again.parameters is not None and again.parameters.early_data_accepted is False
    assert "the replay memory began" in a.wait_for(r"0-RTT rejected: (.*)").group(1)


# -- ticket keys rotating while clients resume ------------------------------------------------------


def ticket_key_name(session: Path) -> str:
    """The first 16 bytes of the ticket in an OpenSSL session file: the key name (glasstls's ticket format)."""
    text = subprocess.run(
        [OPENSSL, "sess_id", "-in", str(session), "-noout", "-text"], capture_output=True, text=True, timeout=WAIT
    ).stdout
    block = text.split("TLS session ticket:", 1)[1]
    hex_bytes = re.findall(r"^\s*0000 - ([0-9a-f -]+?)\s{2,}", block, re.M)[0]
    return hex_bytes.replace("-", " ").replace(" ", "")


@pytest.mark.parametrize("fleet", [("--ticket-key-rotation", "2", "--ticket-key-grace", "8")], indirect=True)
def test_ticket_keys_rotate_while_clients_resume_across_the_rotation(
    files: Path, fleet: list[FleetServer], tmp_path: Path
) -> None:
    a, b = fleet
    names: list[str] = []
    issued: list[tuple[float, Path, FleetServer]] = []  # when, the session, who issued it
    across = 0  # resumptions of a ticket sealed two seconds or more before: under an earlier key
    start = time.monotonic()
    for i in range(200):  # three and a half periods of two seconds, a handshake pair every 0.1 s or so
        if time.monotonic() - start > 7.0:
            break
        issuer, resumer = (a, b) if i % 2 == 0 else (b, a)
        session = tmp_path / f"s{i}.pem"
        assert issue_then_resume(files, issuer.port, resumer.port, session, "-tls1_3"), i
        names.append(ticket_key_name(session))
        issued.append((time.monotonic(), session, issuer))
        old = [entry for entry in issued if time.monotonic() - entry[0] >= 2.0]
        if old:  # the newest ticket that is two seconds old, at the server that did not issue it
            _, old_session, old_issuer = old[-1]
            other = b if old_issuer is a else a
            assert resumed(s_client(files, other.port, old_session, "-sess_in", "-tls1_3")), i
            across += 1
        time.sleep(0.05)
    assert across >= 5, across
    distinct = list(dict.fromkeys(names))
    assert len(distinct) >= 3, distinct  # sealed under three keys or more, each by both servers
    assert all(server.alive for server in fleet)


# -- Redis stopped mid-run and started again ---------------------------------------------------------


def glasstls_early(files: Path, port: int, session: Path) -> dict[str, object]:
    early = session.with_suffix(".early")
    early.write_bytes(GET)
    res = subprocess.run(
        [*GLASSTLS, "client", f"127.0.0.1:{port}", "--cacert", str(files / "ca.pem"), "--servername", "localhost",
         "--session-in", str(session), "--early-data", str(early), "--json", "--linger", "0.5"],
        capture_output=True, timeout=WAIT,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr.decode()
    summary: dict[str, object] = json.loads(res.stderr.decode().strip().splitlines()[-1])
    return summary


@pytest.mark.parametrize("fleet", [("--early-data", "16384")], indirect=True)
def test_redis_stopped_and_restarted_mid_run(
    files: Path, fleet: list[FleetServer], redis_server: RedisServer, tmp_path: Path
) -> None:
    a, b = fleet
    ids = ("-tls1_2", "-no_ticket")
    assert issue_then_resume(files, a.port, b.port, tmp_path / "before.pem", *ids)
    glasstls_session(files, a.port, tmp_path / "t13.sess")  # a TLS 1.3 ticket allowing 0-RTT
    redis_server.stop()
    for i in range(3):  # full handshakes meanwhile; nobody crashes
        assert not issue_then_resume(files, a.port, b.port, tmp_path / f"down{i}.pem", *ids)
    summary = glasstls_early(files, b.port, tmp_path / "t13.sess")
    assert summary["resumed"] is True  # the ticket keys B holds still open A's ticket...
    assert summary["early_data"] == "rejected"  # ...but no 0-RTT without the fleet's replay memory
    b.wait_for(r"0-RTT rejected: the replay guard cannot vouch for this ClientHello: store down \(redis\)")
    assert all(server.alive for server in fleet)
    redis_server.start()  # empty, on the same port
    time.sleep(1.2)  # the servers probe a store that is down once a second
    back = [issue_then_resume(files, a.port, b.port, tmp_path / f"up{i}.pem", *ids) for i in range(3)]
    assert back[-1], back
    for server in fleet:
        log = server.log()
        assert log.count("glasstls: store down: ") == 1, log
        assert log.count("glasstls: store back: ") == 1, log
        assert server.alive


def test_a_server_with_another_store_key_says_it_can_use_none_of_the_fleets_keys(
    files: Path, redis_server: RedisServer, tmp_path: Path
) -> None:
    """The fleet's ticket keys are sealed under its --store-key; a server given another one issued no
    tickets and resumed nothing, and its log said so only under --trace."""
    first = FleetServer(files, "keyed", redis_server.url).start()
    try:
        first.wait_for(r"shared with every server using it")
        other_key = tmp_path / "other.key"
        other_key.write_text(random.randbytes(32).hex() + "\n")
        other_key.chmod(0o600)
        stranger = FleetServer(files, "stranger", redis_server.url)
        stranger.command[stranger.command.index(str(files / "store.key"))] = str(other_key)
        stranger.start()
        try:
            line = stranger.wait_for(r"store \S+: the store's ticket key [^\n]*: this server issues no tickets[^\n]*")
            assert "sealed under another store key" in line.group(0) and "--store-key" in line.group(0)
        finally:
            stranger.stop()
        assert "issues no tickets" not in first.log()
    finally:
        first.stop()


@pytest.mark.parametrize("workers", [(), ("--workers", "2")], ids=["one process", "workers"])
def test_credentials_redis_refuses_are_a_configuration_error(files: Path, tmp_path: Path, workers) -> None:
    """A wrong password was taken for a store that is down: the server started (exit 0), said it shared
    sessions through the store, and every worker probed Redis each second for ever."""
    with RedisServer(tmp_path / "redis", users=("fleet on >s3cret ~glasstls:* +@all",)) as server:
        url = f"redis://fleet:wrong@127.0.0.1:{server.port}/0"
        res = subprocess.run(
            [*GLASSTLS, "server", "--listen", "127.0.0.1:0", "--cert", str(files / "cert.pem"), "--key",
             str(files / "key.pem"), "--store", url, "--store-key", str(files / "store.key"), *workers],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "the store redis://fleet:***@127.0.0.1:" in res.stderr and "refused the credentials of its URL" in (
        res.stderr
    )
    assert "wrong" not in res.stderr and "Traceback" not in res.stderr
