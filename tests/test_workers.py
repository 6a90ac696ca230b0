"""``glasstls server --workers N`` (issue 14): worker processes sharing one address through
SO_REUSEPORT, under a supervisor, with the memory store (the workers share nothing).

* A load run on two workers: both serve; a session resumes at the worker that issued it
  and makes a full handshake at the other, and the server said resumption is per worker.
* A killed worker is replaced; one that keeps dying makes the supervisor give up.
* SIGTERM: close_notify on every connection of every worker, exit 0 within the budget.
* SIGHUP: new workers up before the old ones stop accepting; no connection fails meanwhile.
* --max-connections is per worker; a configuration error is said once.

Each test starts its own server on 127.0.0.1 (port 0) and stops it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

import glasstls
from serving_helpers import GLASSTLS, PKI, WAIT, CLIServer, make_pki
from workers_helpers import GET, SERVED_BY, across, at_home, client_context, fetch_page, load_run, started_pids

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("workers"))


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def handshaken(context: ssl.SSLContext, port: int) -> ssl.SSLSocket:
    """A connection whose handshake is done and whose request is still to come."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    return context.wrap_socket(raw, server_hostname="localhost")


def read_page(tls: ssl.SSLSocket) -> bytes:
    """What the --www page says about who served it: the worker's pid."""
    page = b""
    while chunk := tls.recv(65536):
        page += chunk
    found = SERVED_BY.search(page)
    assert found, page[:400]
    return found.group(1)


def served_by(pki: PKI, port: int, pid: int, tries: int = 60) -> bool:
    """Whether ``pid`` serves one of ``tries`` new connections."""
    context = client_context(pki)
    return any(fetch_page(context, port)[0] == pid for _ in range(tries))


def test_two_workers_serve_a_load_and_resume_only_at_the_worker_that_issued(pki: PKI) -> None:
    with CLIServer(pki, "--www", "--workers", "2") as server:
        server.wait_for("resumption is per worker")
        pids = set(started_pids(server).values())
        visits = load_run(pki, server.port, threads=4, per_thread=50)
        assert len(visits) == 200
        assert {v.pid for v in visits} == pids, pids  # both workers served
        home, away = at_home(visits), across(visits)
        assert home and all(v.resumed for v in home)  # each worker resumes its own sessions...
        assert away and not any(v.resumed for v in away)  # ...and nobody else's: a full handshake
        deadline = time.monotonic() + WAIT  # the log reader may lag behind the clients
        while len(served := [ln for ln in server.lines if " TLSv1.3 " in ln]) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(served) == 200
        assert all(ln.startswith(tuple(f"[worker {n} pid {p}] " for n, p in started_pids(server).items()))
                   for ln in served)  # fmt: skip
        assert server.log.count("resumption is per worker") == 1


def test_a_killed_worker_is_restarted(pki: PKI) -> None:
    with CLIServer(pki, "--www", "--workers", "2") as server:
        victim = started_pids(server)[1]
        os.kill(victim, signal.SIGKILL)
        server.wait_for(rf"worker 1 \(pid {victim}\) was killed by SIGKILL; starting another")
        server.wait_for(r"worker 1 \(pid \d+\) started", timeout=WAIT)
        deadline = time.monotonic() + WAIT
        while started_pids(server)[1] == victim and time.monotonic() < deadline:
            time.sleep(0.05)
        replacement = started_pids(server)[1]
        assert replacement != victim
        assert served_by(pki, server.port, replacement)
        assert server.alive()


def broken_pki(pki: PKI, folder) -> PKI:
    """A copy of ``pki`` whose certificate file can be broken (as a half-written renewal leaves it)."""
    import dataclasses
    import shutil

    cert = folder / "server.pem"
    shutil.copy(pki.cert, cert)
    return dataclasses.replace(pki, cert=cert)


def test_workers_that_die_at_boot_everywhere_make_the_supervisor_give_up(pki: PKI, tmp_path) -> None:
    """The certificate on disk broken, the only worker killed: its replacements cannot start; after
    three in a row, with none serving, the supervisor says so and exits 1."""
    mine = broken_pki(pki, tmp_path)
    server = CLIServer(mine, "--www", "--workers", "1")
    try:
        mine.cert.write_text("")
        os.kill(started_pids(server)[1], signal.SIGKILL)
        server.wait_for(r"every worker died before it was ready 3 times in a row and none serves; giving up")
        assert server.proc.wait(WAIT) == 1
        assert "holds no readable PEM certificate" in server.log or "server.pem" in server.log, server.log
    finally:
        server.stop()


def test_a_crash_with_a_broken_certificate_on_disk_leaves_the_other_workers_serving(pki: PKI, tmp_path) -> None:
    """One crash while the certificate file is broken stopped the whole server in 0.17 s (three boot
    failures of the replacement, at once): now the replacement is retried with a growing pause while
    worker 2 serves, and starts once the file is whole again."""
    mine = broken_pki(pki, tmp_path)
    whole = mine.cert.read_bytes()
    with CLIServer(mine, "--www", "--workers", "2") as server:
        pids = started_pids(server)
        mine.cert.write_text("")
        os.kill(pids[1], signal.SIGKILL)
        server.wait_for(r"worker 1 \(pid \d+\) exited with status 2; starting another in 0\.\d+ s \(\d quick deaths")
        server.wait_for(r"worker 1 \(pid \d+\) exited with status 2; starting another in 0\.[2-9]")
        context = client_context(pki)
        assert {fetch_page(context, server.port)[0] for _ in range(5)} == {pids[2]}
        assert server.alive() and "giving up" not in server.log
        mine.cert.write_bytes(whole)
        deadline = time.monotonic() + WAIT
        while not served_by(pki, server.port, started_pids(server)[1], tries=10) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert started_pids(server)[1] != pids[1] and served_by(pki, server.port, started_pids(server)[1])


def test_a_worker_stopped_alone_is_replaced_not_taken_for_finished(pki: PKI) -> None:
    """A worker's graceful exit (status 0) was taken for --max-connections served: never replaced, its
    socket closed; a SIGTERM to each worker (a group signal, KillMode=control-group) stopped the server
    with status 0, which Restart=on-failure does not restart."""
    with CLIServer(pki, "--www", "--workers", "2") as server:
        victim = started_pids(server)[1]
        os.kill(victim, signal.SIGTERM)
        server.wait_for(rf"worker 1 \(pid {victim}\) exited with status 0; starting another")
        deadline = time.monotonic() + WAIT
        while started_pids(server)[1] == victim and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served_by(pki, server.port, started_pids(server)[1]) and server.alive()
        assert "finished (--max-connections)" not in server.log


def test_a_second_server_on_the_port_is_refused(pki: PKI) -> None:
    """SO_REUSEPORT let a second --workers server (any process of the same user) join the port and take
    a share of its connections."""
    with CLIServer(pki, "--www", "--workers", "2") as first:
        res = subprocess.run(
            [*GLASSTLS, "server", "--listen", f"127.0.0.1:{first.port}", "--workers", "1", "--cert", str(pki.cert),
             "--key", str(pki.key)],
            capture_output=True, text=True, timeout=WAIT * 2,
        )  # fmt: skip
        assert res.returncode == 2 and "Address already in use" in res.stderr, res.stderr


def test_sigusr1_is_ignored_and_sigquit_stops(pki: PKI) -> None:
    """logrotate's SIGUSR1 killed the supervisor (its default action), and SIGQUIT too, without a word."""
    server = CLIServer(pki, "--www", "--workers", "1")
    try:
        server.proc.send_signal(signal.SIGUSR1)
        server.wait_for(r"SIGUSR1 ignored: the log is stderr, which is not reopened")
        assert served_by(pki, server.port, started_pids(server)[1]) and server.alive()
        server.proc.send_signal(signal.SIGQUIT)
        server.wait_for(r"SIGQUIT: stopping the workers")
        assert server.proc.wait(WAIT) == 0
    finally:
        server.stop()


def test_a_server_goes_on_when_its_log_reader_goes_away(pki: PKI) -> None:
    """A log shipper that goes away broke stderr's pipe: the next line stopped the server, with status 0."""
    for workers in ((), ("--workers", "1")):
        argv = [*GLASSTLS, "server", "--www", "--listen", "127.0.0.1:0", "--cert", str(pki.cert), "--key",
                str(pki.key), *workers]  # fmt: skip
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert proc.stderr is not None
            line = b""
            while b"listening on" not in line:
                line = proc.stderr.readline()
                assert line, "the server ended before it listened"
            port = int(line.decode().rsplit(":", 1)[1])
            proc.stderr.close()  # the reader goes away
            context = client_context(pki)
            for _ in range(5):  # each connection logs a line, into the broken pipe
                with handshaken(context, port) as tls:
                    tls.sendall(GET)
                    assert tls.recv(65536).startswith(b"HTTP/1.1 200 OK")
            assert proc.poll() is None, workers
        finally:
            proc.terminate()
            proc.wait(WAIT)


def test_a_retired_worker_that_hangs_is_killed(pki: PKI) -> None:
    """A retired worker was never killed: a hung one (SIGSTOP here) stayed until the server stopped."""
    with CLIServer(pki, "--www", "--workers", "1") as server:
        hung = started_pids(server)[1]
        os.kill(hung, signal.SIGSTOP)
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for(rf"worker 1 \(pid {hung}\) did not retire within 6\.5 s: killed", timeout=WAIT)
        deadline = time.monotonic() + WAIT
        while not gone(hung) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(hung)


def test_a_serving_worker_that_hangs_is_killed_and_replaced(pki: PKI) -> None:
    """A serving worker whose event loop stops (SIGSTOP here; a call that never returns alike) kept its
    socket and its share of new connections, which waited for ever: its heartbeat stops, it is killed."""
    with CLIServer(pki, "--www", "--workers", "2", "--worker-timeout", "1.5") as server:
        hung = started_pids(server)[1]
        time.sleep(2.0)  # the heartbeats of a running worker keep it: nobody is killed meanwhile
        assert "no heartbeat" not in server.log
        os.kill(hung, signal.SIGSTOP)
        started = time.monotonic()
        server.wait_for(rf"worker 1 \(pid {hung}\) was killed: no heartbeat for 1\.\d s \(--worker-timeout\): its "
                        "event loop was stuck; starting another", timeout=WAIT)  # fmt: skip
        assert 0.4 < time.monotonic() - started < 4.0  # (its last heartbeat was up to 1 s before the stop)
        deadline = time.monotonic() + WAIT
        while started_pids(server)[1] == hung and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served_by(pki, server.port, started_pids(server)[1])
        context = client_context(pki)
        assert all(fetch_page(context, server.port)[0] for _ in range(20))  # no connection waits on the dead socket
        assert server.alive() and gone(hung)


def test_a_worker_timeout_below_0_is_refused(pki: PKI) -> None:
    done = subprocess.run([*GLASSTLS, "server", "--workers", "2", "--worker-timeout", "-1"],
                          capture_output=True, text=True, timeout=WAIT)  # fmt: skip
    assert done.returncode == 2 and "--worker-timeout must be 0 (never) or more seconds, not -1" in done.stderr


def test_sigterm_closes_every_workers_connections_with_close_notify_and_exits_0(pki: PKI) -> None:
    server = CLIServer(pki, "--workers", "2")  # echo: the connections stay open until the server ends them
    try:
        pids = set(started_pids(server).values())
        config = pki.client_config()
        held = []
        for _ in range(8):
            tls = glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT)
            tls.sendall(b"hello\n")
            assert tls.recv() == b"hello\n"
            held.append(tls)
        serving = {int(p) for p in re.findall(r"\[worker \d+ pid (\d+)\] glasstls: 127", server.log)}
        started = time.monotonic()
        assert server.stop() == 0, server.log
        assert time.monotonic() - started < 7.0
        for tls in held:
            assert tls.recv() == b""  # close_notify, not a cut stream
            tls.close()
        assert serving <= pids and all(gone(pid) for pid in pids)
    finally:
        server.stop()
    assert "Traceback" not in server.log


def test_sighup_restarts_the_workers_one_by_one_without_a_failed_connection(pki: PKI) -> None:
    with CLIServer(pki, "--www", "--workers", "2") as server:
        old = set(started_pids(server).values())
        context = client_context(pki)
        stop = threading.Event()
        served: list[tuple[float, int]] = []
        failures: list[str] = []

        def client() -> None:
            for _ in range(2000):  # bounded: about 10 s of fetches at most
                if stop.is_set():
                    return
                try:
                    served.append((time.monotonic(), fetch_page(context, server.port)[0]))
                except Exception as exc:
                    failures.append(repr(exc))

        threads = [threading.Thread(target=client) for _ in range(3)]
        for thread in threads:
            thread.start()
        waiting = [handshaken(context, server.port) for _ in range(4)]  # their requests come after the SIGHUP
        try:
            time.sleep(0.5)
            hup = time.monotonic()
            server.proc.send_signal(signal.SIGHUP)
            server.wait_for("SIGHUP: every worker was restarted")
            for tls in waiting:  # the old workers stopped accepting, not serving what they accepted
                tls.sendall(GET)
                assert int(read_page(tls)) in old
                tls.close()
            for pid in old:
                server.wait_for(rf"worker \d \(pid {pid}\) retired \(exited with status 0\)")
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(WAIT * 2)
        new = set(started_pids(server).values())
        assert not failures, failures[:5]
        assert len(new) == 2 and not new & old
        during = [pid for when, pid in served if when >= hup]
        assert len(during) >= 10  # connections were made all through the restart
        assert set(during[-10:]) <= new  # at the end only the new workers serve
        assert all(gone(pid) for pid in old)


def test_max_connections_is_per_worker(pki: PKI) -> None:
    server = CLIServer(pki, "--www", "--workers", "2", "--max-connections", "1")
    try:
        context = client_context(pki)
        served = set()
        for _ in range(40):
            if server.proc.poll() is not None:
                break
            with contextlib.suppress(OSError):  # a worker that finished: its queue is reset
                served.add(fetch_page(context, server.port)[0])
        assert server.proc.wait(WAIT) == 0, server.log
        assert served == set(started_pids(server).values())
        assert server.log.count("finished (--max-connections): not replaced") == 2
    finally:
        server.stop()


def test_a_configuration_error_is_said_once(pki: PKI, tmp_path) -> None:
    res = subprocess.run(
        [*GLASSTLS, "server", "--listen", "127.0.0.1:0", "--workers", "3", "--cert", str(tmp_path / "none.pem"),
         "--key", str(pki.key)],
        capture_output=True, text=True, timeout=WAIT * 2,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("none.pem") == 1, res.stderr
    # Said by the worker, with its prefix, as its other lines are.
    assert re.search(r"^\[worker 1 pid \d+\] glasstls: .*none\.pem", res.stderr, re.M), res.stderr
    assert "worker 1" in res.stderr and "exited with status 2 before it was ready" in res.stderr
    assert "worker 2" not in res.stderr and "Traceback" not in res.stderr


def test_workers_say_when_their_supervisor_is_gone_and_not_when_retired(pki: PKI) -> None:
    """A worker retired by SIGHUP and one orphaned by its supervisor's death both said only 'retiring'."""
    server = CLIServer(pki, "--www", "--workers", "1")
    try:
        first = started_pids(server)[1]
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for(rf"worker 1 \(pid {first}\) retired")
        second = started_pids(server)[1]
        assert "supervisor is gone" not in server.log
        server.proc.kill()  # SIGKILL: no word to the workers
        server.wait_for(rf"^\[worker 1 pid {second}\] glasstls: the supervisor is gone: this worker retires")
        deadline = time.monotonic() + WAIT
        while not gone(second) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone(second)
    finally:
        server.stop()


def test_a_single_server_ignores_sighup_and_a_workers_diagnosis_is_prefixed_line_by_line(
    pki: PKI, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGHUP's default action ended a single server at once, connections and all; a worker's multi-line
    diagnosis had its [worker K pid P] on the first line only."""
    with CLIServer(pki, "--www") as server:
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for(r"SIGHUP ignored: a single server does not restart")
        with handshaken(client_context(pki), server.port) as tls:
            tls.sendall(GET)
            assert tls.recv(65536).startswith(b"HTTP/1.1 200 OK")
        assert server.alive()
    from glasstls.cli import server_conn

    server_conn.set_worker(3)
    try:
        server_conn.log("glasstls: handshake failed\n  diagnosis: first\n  fix: second")
    finally:
        server_conn.WORKER.slot = 0
    prefix = f"[worker 3 pid {os.getpid()}] "
    assert capsys.readouterr().err.splitlines() == [
        f"{prefix}glasstls: handshake failed",
        f"{prefix}  diagnosis: first",
        f"{prefix}  fix: second",
    ]


def test_a_sighup_while_a_dead_worker_waits_to_be_replaced_gives_its_socket_one_worker(pki: PKI, tmp_path) -> None:
    """A restart (SIGHUP) forked a worker for a socket whose dead worker was waiting out its pause; when
    the pause ended another was forked for it, and two served one socket (or one got a closed socket)."""
    mine = broken_pki(pki, tmp_path)
    whole = mine.cert.read_bytes()
    with CLIServer(mine, "--www", "--workers", "2") as server:
        mine.cert.write_text("")
        os.kill(started_pids(server)[1], signal.SIGKILL)
        server.wait_for(r"worker 1 \(pid \d+\) exited with status 2; starting another in 0\.[4-9]")
        mine.cert.write_bytes(whole)
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for(r"SIGHUP: every worker was restarted")
        time.sleep(2.0)  # past the longest pause the dead worker could still have been waiting
        worker_one = [int(p) for p in re.findall(r"glasstls: worker 1 \(pid (\d+)\) started", server.log)]
        assert sum(not gone(pid) for pid in worker_one) == 1, server.log
        assert served_by(pki, server.port, started_pids(server)[1])
