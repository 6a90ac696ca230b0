"""``glasstls server --workers 2 --store redis://…`` (issue 14, "Must show"): a load run with
resumption across workers.

Two workers share one redis-server started by the test (tests/interop/redis_peer.py):
every connection after a client's first offers the session its previous connection left,
and it resumes whichever worker it lands on, the one that issued the session or the
other (TLS 1.3 tickets: the ticket keys are shared; TLS 1.2 session IDs: the session
cache is). The same run with the memory store is tests/test_workers.py, where the
sessions of the other worker make full handshakes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from interop.redis_peer import RedisServer, needs_redis
from serving_helpers import PKI, CLIServer, make_pki
from workers_helpers import across, load_run, started_pids

pytestmark = [pytest.mark.interop, needs_redis, pytest.mark.timeout(90)]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("workers-redis"))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A redis-server, and the store key file: the --store and --store-key of the workers."""
    directory = tmp_path_factory.mktemp("redis")
    key = directory / "store.key"
    key.write_text(secrets.token_hex(32) + "\n")
    key.chmod(0o600)
    with RedisServer(directory / "redis") as redis_server:
        yield redis_server.url, key


@pytest.mark.parametrize("tls12", [False, True], ids=["tls13-tickets", "tls12-session-ids"])
def test_two_workers_sharing_redis_resume_each_others_sessions_under_load(
    pki: PKI, shared: tuple[str, Path], tls12: bool
) -> None:
    url, key = shared
    with CLIServer(pki, "--www", "--workers", "2", "--store", url, "--store-key", str(key)) as server:
        server.wait_for("the workers share TLS 1.2 sessions, ticket keys and 0-RTT anti-replay through the store")
        pids = set(started_pids(server).values())
        visits = load_run(pki, server.port, threads=4, per_thread=50, tls12=tls12)
        assert len(visits) == 200
        assert {v.pid for v in visits} == pids, pids  # both workers served
        offered = [v for v in visits if v.issuer is not None]
        assert len(offered) == 196 and all(v.resumed for v in offered)  # every offer resumed...
        away = across(visits)
        assert len(away) >= 20, len(away)  # ...a good share of them at the worker that did not issue it
        assert "resumption is per worker" not in server.log
        assert "store down" not in server.log
