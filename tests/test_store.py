"""The stores without Redis (issue 14): the sealing of what a shared store keeps, the
store-key files, the health that says "store down" once, and the memory stores as the
handshakes see them (the Protocols, the reasons they give, open_stores / with_store)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from glasstls import CertifiedKey, ServerConfig
from glasstls.errors import ConfigError
from glasstls.session import cache as C
from glasstls.session import replay as R
from glasstls.session.cache import ServerSessionCache, SessionCache
from glasstls.session.replay import MemoryReplayGuard, ReplayGuard
from glasstls.session.state import SessionState
from glasstls.session.stores import STORE_DOWN
from glasstls.session.tickets import TicketKeyRing, TicketKeys
from glasstls.store import open_stores
from glasstls.store.health import StoreDown, StoreHealth
from glasstls.store.sealing import StoreSealer, key_id, load_store_keys, parse_store_keys
from pairs import default_ca, server_identity

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


def make_state(**overrides: object) -> SessionState:
    fields: dict[str, object] = dict(
        version=0x0303,
        cipher_suite=0xC02F,
        master_secret=bytes(range(48)),
        extended_master_secret=True,
        server_name="example.com",
        alpn=None,
        created=T0,
        lifetime=3600,
        session_id=b"\x01" * 32,
    )
    fields.update(overrides)
    return SessionState(**fields)  # type: ignore[arg-type]


# -- sealing -------------------------------------------------------------------------------------


def test_a_sealed_value_opens_only_with_its_key_and_its_aad() -> None:
    sealer = StoreSealer([KEY])
    blob = sealer.seal(b"master secret", b"session|glasstls:sid:01")
    assert b"master secret" not in blob
    assert blob[0] == 1 and blob[1:5] == key_id(KEY)
    assert sealer.open(blob, b"session|glasstls:sid:01") == (b"master secret", "")
    assert sealer.open(blob, b"session|glasstls:sid:02") == (None, "does not authenticate under the store key")
    assert StoreSealer([OTHER]).open(blob, b"session|glasstls:sid:01") == (None, "sealed under another store key")
    assert sealer.open(b"\x02" + blob[1:], b"session|glasstls:sid:01")[0] is None
    assert sealer.open(blob[:20], b"session|glasstls:sid:01")[0] is None
    assert sealer.seal(b"x", b"a") != sealer.seal(b"x", b"a")  # a random nonce each time


def test_the_store_key_rotates_the_first_seals_all_open() -> None:
    old = StoreSealer([KEY]).seal(b"v", b"aad")
    both = StoreSealer([OTHER, KEY])
    assert both.open(old, b"aad") == (b"v", "")
    assert both.seal(b"v", b"aad")[1:5] == key_id(OTHER)
    with pytest.raises(ConfigError, match="32 bytes"):
        StoreSealer([b"short"])
    with pytest.raises(ConfigError, match="at least one"):
        StoreSealer([])


def test_store_key_files_raw_hex_base64_and_several_lines(tmp_path) -> None:
    import base64

    assert parse_store_keys(bytes([0] * 31 + [200])) == [bytes([0] * 31 + [200])]
    text = f"# the fleet's store keys\n{KEY.hex()}\n\n{base64.b64encode(OTHER).decode()}\n".encode()
    assert parse_store_keys(text) == [KEY, OTHER]
    for bad, match in ((b"", "holds no key"), (b"zz" * 32, "not hex or base64"), (b"abcd\n", "32 bytes, not 3")):
        with pytest.raises(ConfigError, match=match):
            parse_store_keys(bad)
    path = tmp_path / "store.key"
    path.write_text(KEY.hex() + "\n")
    path.chmod(0o600)
    assert load_store_keys(path) == [KEY]
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="every user"):
        load_store_keys(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_store_keys(tmp_path / "missing.key")


@pytest.mark.skipif(os.geteuid() != 0, reason="gives the file to another user")
def test_a_store_key_file_open_to_its_group_only_when_root_owns_it(tmp_path) -> None:
    path = tmp_path / "store.key"
    path.write_text(KEY.hex() + "\n")
    path.chmod(0o640)
    assert load_store_keys(path) == [KEY]  # root's, its group (ssl-cert) may read it
    for mode in (0o660, 0o620):
        path.chmod(mode)
        with pytest.raises(ConfigError, match="open to its group"):
            load_store_keys(path)
    os.chown(path, 4242, -1)  # the server's own user's: 600 only
    path.chmod(0o640)
    with pytest.raises(ConfigError, match=r"open to its group \(mode 640\); chmod 600 it"):
        load_store_keys(path)
    path.chmod(0o600)
    assert load_store_keys(path) == [KEY]


# -- health --------------------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_health_logs_down_once_skips_calls_then_probes_and_logs_back_once() -> None:
    lines: list[str] = []
    clock = _Clock()
    health = StoreHealth("redis://127.0.0.1:1/0", lines.append, retry_after=1.0, clock=clock)
    calls: list[int] = []

    def failing() -> int:
        calls.append(1)
        raise ConnectionRefusedError("refused")

    assert health.call(lambda: 7) == 7 and not health.down
    for _ in range(3):
        with pytest.raises(StoreDown):
            health.call(failing)
    assert health.down and len(calls) == 1  # the next two did not even try
    clock.now += 1.5
    with pytest.raises(StoreDown):
        health.call(failing)  # the probe
    assert len(calls) == 2
    clock.now += 1.5
    assert health.call(lambda: 8) == 8 and not health.down
    assert len(lines) == 2, lines
    assert lines[0].startswith("glasstls: store down: redis://127.0.0.1:1/0 (refused)")
    assert lines[1] == "glasstls: store back: redis://127.0.0.1:1/0 answers again (down for 3.0 s)"


# -- the memory stores, as the handshakes see them --------------------------------------------


def test_the_memory_stores_fit_the_protocols_and_say_where_and_why() -> None:
    cache: SessionCache = ServerSessionCache(lifetime=100)
    keys: TicketKeyRing = TicketKeys(os.urandom)
    guard: ReplayGuard = MemoryReplayGuard()
    assert (cache.source, keys.source, guard.source) == ("memory", "memory", "memory")
    state = make_state()
    cache.put(b"\x01" * 32, state, T0)
    assert cache.lookup(b"\x01" * 32, T0) == (state, C.FOUND)
    assert cache.lookup(b"\x02" * 32, T0) == (None, C.UNKNOWN_SESSION)
    assert cache.lookup(b"\x01" * 32, T0 + timedelta(seconds=100)) == (None, C.EXPIRED_SESSION)
    assert guard.record(b"binder:1", T0 + timedelta(seconds=20), T0) is None
    assert guard.record(b"binder:1", T0 + timedelta(seconds=20), T0) == R.SEEN
    full = MemoryReplayGuard(max_entries=1)
    assert full.record(b"a", T0 + timedelta(seconds=20), T0) is None
    assert full.record(b"b", T0 + timedelta(seconds=20), T0) == R.FULL


def test_open_stores_memory_and_with_store() -> None:
    stores = open_stores("memory", rotate_after=60, accept_for=120)
    assert isinstance(stores.session_cache, ServerSessionCache)
    assert isinstance(stores.ticket_keys, TicketKeys) and stores.ticket_keys.rotate_after == timedelta(seconds=60)
    assert isinstance(stores.replay_guard, MemoryReplayGuard)
    assert stores.session_cache.max_entries == 1024
    assert open_stores("memory", max_sessions=2).session_cache.max_entries == 2
    identity = server_identity("localhost")
    config = ServerConfig(certificates=(CertifiedKey(identity.chain, identity.private_key),))
    fresh = config.with_store("memory")
    assert fresh.session_cache is not config.session_cache and fresh.ticket_keys is not config.ticket_keys
    with pytest.raises(ConfigError, match="needs a store key"):
        config.with_store("redis://127.0.0.1:6379/0")
    with pytest.raises(ConfigError, match="starts with redis://"):
        config.with_store("http://127.0.0.1/", store_key=KEY)


def test_with_a_probe_no_call_waits_on_a_store_that_is_down() -> None:
    lines: list[str] = []
    answers = iter([ConnectionRefusedError("still down"), ConnectionRefusedError("still down"), None])

    def probe() -> None:
        answer = next(answers)
        if answer is not None:
            raise answer

    health = StoreHealth("redis://127.0.0.1:1/0", lines.append, retry_after=0.05, probe=probe)
    called: list[int] = []

    def failing() -> None:
        called.append(1)
        raise TimeoutError("timed out")

    with pytest.raises(StoreDown):
        health.call(failing)
    with pytest.raises(StoreDown):
        health.call(failing)  # not called: the prober thread decides when the store is back
    assert called == [1]
    deadline = time.monotonic() + 5
    while health.down and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not health.down and health.call(lambda: 3) == 3
    assert [line.split(":")[1].strip() for line in lines] == ["store down", "store back"]
    assert health.failures == 3  # the call, then two probes


def test_a_slow_store_costs_one_deadline_then_nothing() -> None:
    """A Redis that accepts and never answers: the first call waits its deadline, the next ones do not wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        lines: list[str] = []
        stores = open_stores(url, KEY, deadline=0.2, log=lines.append)
        now = datetime.now(UTC)
        started = time.monotonic()
        assert stores.session_cache.lookup(b"\x01" * 32, now) == (None, STORE_DOWN)
        first = time.monotonic() - started
        for _ in range(50):
            assert stores.replay_guard.record(b"binder", now + timedelta(seconds=20), now) == STORE_DOWN
            assert stores.session_cache.lookup(b"\x01" * 32, now) == (None, STORE_DOWN)
        rest = time.monotonic() - started - first
    assert 0.15 <= first < 1.0, first
    assert rest < 0.2, rest
    assert (len(lines) == 1 and "Timeout" in lines[0]) or "timed out" in lines[0], lines


class _WrongRedis:
    """A TCP server that answers every command in RESP, but wrongly: each line is ``answer``."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.5)
                for _ in range(20):  # bounded: a few commands a connection
                    try:
                        if not conn.recv(65536):
                            break
                        conn.sendall(self.answer)
                    except OSError:
                        break

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"*1\r\n$3\r\nabc\r\n",  # an array where a string or nil belongs (HELLO, GET)
        b"-ERR \x1b[31mred\x1b[0m\x07 " + b"garbage " * 5000 + b"\r\n",  # an error reply of terminal escapes, long
        b"+OK\r\n",  # a simple string where a map (HELLO) or a bulk string belongs
    ],
    ids=["array", "escaped-error", "simple-string"],
)
def test_a_store_that_answers_wrongly_is_down_not_a_crash(answer: bytes) -> None:
    """A Redis answering in malformed shapes made the client library raise AttributeError or TypeError,
    which reached the handshake as internal_error (and a starting server as a traceback). Any failure
    of a call is the store's: the safe answer given, one log line, escaped and bounded; down, or for an
    error reply (the store's answer to that call: full, read-only ...) refused."""
    fake = _WrongRedis(answer)
    error_reply = answer.startswith(b"-")
    try:
        lines: list[str] = []
        stores = open_stores(fake.url, KEY, deadline=0.5, log=lines.append)
        now = datetime.now(UTC)
        assert stores.session_cache.lookup(b"\x01" * 32, now) == (None, STORE_DOWN)
        recorded = stores.replay_guard.record(b"binder", now + timedelta(seconds=20), now)
        if error_reply:  # (escaped: the store chose those bytes)
            assert recorded.startswith("the store refused the record (ResponseError: \\x1b[31mred")
            assert len(recorded) < 400
        else:
            assert recorded == STORE_DOWN
        stores.ticket_keys.sync(now)  # no exception
    finally:
        fake.close()
    assert len(lines) == 1 and ("store refused a call" if error_reply else "store down") in lines[0], lines
    assert "\x1b" not in lines[0] and "\x07" not in lines[0] and len(lines[0]) < 600, lines[0]


def test_a_failure_as_the_prober_stops_starts_another_one() -> None:
    """A call that fails while the prober thread, having seen the store back, is on its way out: the
    prober is still alive then, and a check of is_alive() started no other, so the store stayed down
    for good (no session-ID resumption, no 0-RTT until a restart). The prober now says it stops under
    the lock that a failure takes to decide whether to start one."""
    answering = threading.Event()
    lines: list[str] = []

    def probe() -> None:
        if not answering.is_set():
            raise OSError("connection refused")

    def fail() -> None:
        raise OSError("connection reset")

    class Racing(StoreHealth):
        raced = False

        def _probing(self) -> None:
            super()._probing()
            if not Racing.raced:  # the window: the prober has decided to stop, its thread not yet ended
                answering.clear()
                with contextlib.suppress(StoreDown):
                    self.call(fail)
                Racing.raced = True

    health = Racing("test store", lines.append, retry_after=0.01, probe=probe)
    with contextlib.suppress(StoreDown):
        health.call(fail)
    answering.set()
    deadline = time.monotonic() + 5
    while not Racing.raced and time.monotonic() < deadline:
        time.sleep(0.01)
    assert Racing.raced and health.down
    answering.set()
    while health.down and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not health.down, lines
    assert [line.split(":")[1].strip() for line in lines] == ["store down", "store back", "store down", "store back"]


# -- glasstls server --store -------------------------------------------------------------------


GLASSTLS = [sys.executable, "-m", "glasstls"]


def test_the_cli_refuses_a_store_key_without_a_store_and_a_store_without_a_key(tmp_path) -> None:
    identity = server_identity("localhost")
    identity.write(tmp_path / "cert.pem", tmp_path / "key.pem")
    (tmp_path / "store.key").write_text(KEY.hex())
    (tmp_path / "store.key").chmod(0o600)
    base = [*GLASSTLS, "server", "--cert", str(tmp_path / "cert.pem"), "--key", str(tmp_path / "key.pem")]
    for extra, message in (
        (["--store-key", str(tmp_path / "store.key")], "--store-key seals what a shared store keeps"),
        (["--store", "redis://127.0.0.1:1/0"], "needs a store key"),
        (["--store", "memcached://127.0.0.1:1/"], "starts with redis://"),
        (["--store-max-sessions", "0"], "--store-max-sessions must be at least 1, not 0"),
    ):
        res = subprocess.run([*base, *extra], capture_output=True, text=True, timeout=60)
        assert res.returncode == 2 and message in res.stderr, res.stderr


def test_a_server_whose_store_is_down_from_the_start_serves_full_handshakes(tmp_path) -> None:
    identity = server_identity("localhost")
    identity.write(tmp_path / "cert.pem", tmp_path / "key.pem")
    (tmp_path / "ca.pem").write_bytes(default_ca().root_pem())
    (tmp_path / "store.key").write_text(KEY.hex())
    (tmp_path / "store.key").chmod(0o600)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"  # nothing listens there once closed
    server = subprocess.Popen(
        [*GLASSTLS, "server", "--listen", "127.0.0.1:0", "--cert", str(tmp_path / "cert.pem"),
         "--key", str(tmp_path / "key.pem"), "--store", dead, "--store-key", str(tmp_path / "store.key")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        port = int(server.stderr.readline().rsplit(":", 1)[1])
        assert server.stderr.readline().startswith(f"glasstls: store {dead}: ")
        assert server.stderr.readline().startswith(f"glasstls: store down: {dead} (")
        for _ in range(2):
            res = subprocess.run(
                [*GLASSTLS, "client", f"127.0.0.1:{port}", "--cacert", str(tmp_path / "ca.pem"),
                 "--servername", "localhost", "--linger", "0.3"],
                input=b"hi\n", capture_output=True, timeout=60,
            )  # fmt: skip
            assert res.returncode == 0 and res.stdout == b"hi\n", res.stderr.decode()
        assert server.poll() is None
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "store down" not in err  # said once, at the start


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://app:s3cret@10.0.0.5:6379/0", "redis://app:***@10.0.0.5:6379/0"),
        ("unix:///run/redis.sock?db=0&password=s3cret", "unix:///run/redis.sock?db=0&password=***"),
        (
            "rediss://r.example/0?ssl_ca_certs=/ca.pem&ssl_password=s3cret",
            "rediss://r.example/0?ssl_ca_certs=/ca.pem&ssl_password=***",
        ),
        ("unix:///run/redis.sock?db=0", "unix:///run/redis.sock?db=0"),
    ],
)
def test_a_store_url_in_logs_never_shows_its_password(url: str, shown: str) -> None:
    """redis-py takes the password in the query string too (the form for unix:// sockets): the label in
    "store down" lines and errors printed it there."""
    from glasstls.store.redis_client import label

    assert label(url) == shown
