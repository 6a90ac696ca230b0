"""The asyncio driver against the OpenSSL command line, TLS 1.3 and TLS 1.2, both directions.

* ``glasstls.open_connection`` → ``openssl s_server -rev`` (it answers each line
  reversed); OpenSSL's own trace must show glasstls' close_notify and no alert.
* ``openssl s_client`` → ``glasstls.start_server``: s_client runs in a thread
  (``run_s_client`` is a bounded ``subprocess.run``), the server in the test's
  event loop; s_client must verify the chain and print the echoed line, and its
  trace must show glasstls' close_notify.

Every wait is bounded (``WAIT``, ``asyncio.wait_for``); s_server is killed on exit
by :class:`OpenSSLServer`, s_client by its timeout, and the glasstls server is
shut down by ``async with``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from interop_peers import (
    WAIT,
    OpenSSLServer,
    reverse_line,
    run_s_client,
    trace_close_notify_received,
    trace_fatal_alerts,
)

import glasstls
from glasstls import ClientConfig, ProtocolVersion, ServerConfig

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CASES = [("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")]
# What s_client prints of the version: TLS 1.3 sessions are printed only with a ticket,
# which glasstls does not issue; TLS 1.2 prints its session block at once.
S_CLIENT_VERSION = {"TLSv1.3": "New, TLSv1.3, Cipher is", "TLSv1.2": "Protocol  : TLSv1.2"}
IDS = ["tls13", "tls12"]


def _run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, 3 * WAIT)

    return asyncio.run(bounded())


@pytest.mark.parametrize(("flag", "version"), CASES, ids=IDS)
def test_open_connection_to_openssl_s_server(pki, tmp_path, flag, version):
    config = ClientConfig(trust_store=pki.trust_store())
    # s_server -rev reverses what one read returns, so each line must fit one record.
    lines = [b"glasstls asyncio client to s_server\n", bytes(range(65, 91)) * 500 + b"\n"]

    async def talk(port: int) -> tuple[Any, list[bytes]]:
        reader, writer = await glasstls.open_connection(
            "127.0.0.1", port, config, server_name="localhost", handshake_timeout=WAIT
        )
        answers = []
        for line in lines:
            writer.write(line)
            await writer.drain()
            answers.append(await asyncio.wait_for(reader.readline(), WAIT))
        params = writer.get_extra_info("glasstls")
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), WAIT)
        return params, answers

    with OpenSSLServer(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", protocol=flag) as server:
        try:
            params, answers = _run(talk(server.port))
        except Exception as exc:
            raise AssertionError(f"glasstls client failed: {exc!r}; s_server said:\n{server.output}") from exc
        output = server.wait_exit()
        trace = server.trace

    assert params.version == version
    assert params.peer_certificate_subject == "CN=localhost"
    assert answers == [reverse_line(line) for line in lines]
    assert f"Protocol version: {version}" in output, output
    assert trace_fatal_alerts(trace) == []
    assert trace_close_notify_received(trace)  # writer.close() sent close_notify


@pytest.mark.parametrize(("flag", "version"), CASES, ids=IDS)
def test_openssl_s_client_to_start_server(pki, tmp_path, flag, version):
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),))
    seen: list[Any] = []
    failures: list[BaseException] = []
    line = f"s_client to glasstls start_server {version}\n".encode()
    trace_file = tmp_path / "s_client.trace"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            received = await asyncio.wait_for(reader.readline(), WAIT)
            seen.append((writer.get_extra_info("glasstls"), received))
            writer.write(received)
            await writer.drain()
        finally:
            writer.close()  # close_notify: s_client (-ign_eof) reads until it comes

    async def main() -> Any:
        async with await glasstls.start_server(
            handler, "127.0.0.1", 0, config, on_handshake_error=lambda peer, exc: failures.append(exc)
        ) as server:
            port = server.sockets[0].getsockname()[1]
            args = [
                flag, "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                "-CAfile", str(pki.root_file), "-verify_return_error", "-verify_hostname", "localhost",
                "-ign_eof", "-trace", "-msgfile", str(trace_file),
            ]  # fmt: skip
            return await asyncio.to_thread(run_s_client, args, line)

    client = _run(main())
    out = client.stdout
    assert not failures, failures
    assert client.returncode == 0, out + client.stderr
    assert len(seen) == 1
    params, received = seen[0]
    assert received == line
    assert params.version == version
    assert "Verify return code: 0 (ok)" in out, out
    assert S_CLIENT_VERSION[version] in out, out
    assert line.decode() in out, out  # the echo, as s_client printed it
    trace = trace_file.read_text(errors="replace")
    assert trace_fatal_alerts(trace) == []
    assert trace_close_notify_received(trace)


def test_concurrent_s_clients_against_a_bounded_server(pki, tmp_path):
    """Four s_client processes at once against max_connections=2: all are served, two at a time."""
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), tls_max=ProtocolVersion.TLSv1_3)
    peak = [0]

    async def main() -> Any:
        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peak[0] = max(peak[0], server.active_connections)
            try:
                writer.write(await asyncio.wait_for(reader.readline(), WAIT))
                await writer.drain()
                await asyncio.sleep(0.3)  # hold the slot a little, so the others must wait
            finally:
                writer.close()

        server = await glasstls.start_server(handler, "127.0.0.1", 0, config, max_connections=2)
        async with server:
            port = server.sockets[0].getsockname()[1]
            args = [
                "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                "-CAfile", str(pki.root_file), "-verify_return_error", "-ign_eof",
            ]  # fmt: skip
            return await asyncio.gather(
                *(asyncio.to_thread(run_s_client, args, f"client {i}\n".encode()) for i in range(4))
            )

    clients = _run(main())
    for i, client in enumerate(clients):
        assert client.returncode == 0, client.stdout + client.stderr
        assert f"client {i}\n" in client.stdout, client.stdout
    assert peak[0] <= 2
