"""asyncio's own ``ssl=`` over glasstls.compat.SSLContext (its sslproto drives our SSLObject
through ``wrap_bio``), and the same test run with the stdlib's ``ssl.SSLContext``: the
two columns of the conformance table in docs/design/ssl-compat.md.

* ``asyncio.open_connection(ssl=ctx)`` against ``openssl s_server -rev``, against the
  native glasstls server (``glasstls.start_server``) and against ``asyncio.start_server``
  with the other kind of context, TLS 1.3 and TLS 1.2, a line each way;
* ``asyncio.start_server(ssl=glasstls server ctx)`` with a stdlib client;
* verification failures (untrusted CA, wrong host) as ``ssl.SSLCertVerificationError``
  with the same verify_code from both kinds.

Every wait is bounded (``asyncio.wait_for``, WAIT); s_server is killed on exit, the
asyncio servers are closed by ``async with``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from interop_peers import WAIT, OpenSSLServer, reverse_line

import glasstls
from glasstls import ServerConfig
from glasstls.compat import SSLContext as GlassContext
from glasstls.x509.mint import ThrowawayCA

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

VERSIONS = [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2]
S_SERVER_FLAG = {ssl.TLSVersion.TLSv1_3: "-tls1_3", ssl.TLSVersion.TLSv1_2: "-tls1_2"}
KINDS = [ssl.SSLContext, GlassContext]
KIND_IDS = ["stdlib", "glasstls"]
LINE = b"asyncio over an ssl-compatible context\n"


def _run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, 3 * WAIT)

    return asyncio.run(bounded())


def client_context(kind: type, pki: Any, version: ssl.TLSVersion, cafile: Path | None = None) -> Any:
    ctx = kind(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(cafile or pki.root_file))
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


def server_context(kind: type, pki: Any, version: ssl.TLSVersion) -> Any:
    ctx = kind(ssl.PROTOCOL_TLS_SERVER)
    files = pki.files["ecdsa-p256"]
    ctx.load_cert_chain(str(files.full_chain), str(files.key))
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


async def exchange(port: int, ctx: Any, line: bytes = LINE, host: str = "localhost") -> tuple[bytes, str, Any]:
    """Connect, send one line, read one line back, close; (answer, version, peer subject)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=host, ssl_handshake_timeout=WAIT), WAIT
    )
    try:
        writer.write(line)
        await writer.drain()
        answer = await asyncio.wait_for(reader.readline(), WAIT)
        sslobj = writer.get_extra_info("ssl_object")
        # the connection ran on the context's own kind of SSLObject, not on a stdlib fallback
        assert isinstance(sslobj, glasstls.SSLObject) == isinstance(ctx, GlassContext)
        return answer, sslobj.version(), writer.get_extra_info("peercert")["subject"]
    finally:
        writer.close()
        # a peer that closes without close_notify: not what these tests look at
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await asyncio.wait_for(writer.wait_closed(), WAIT)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        writer.write(await asyncio.wait_for(reader.readline(), WAIT))
        await writer.drain()
    finally:
        writer.close()


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_open_connection_to_openssl_s_server(pki: Any, tmp_path: Path, kind: type, version: ssl.TLSVersion) -> None:
    ctx = client_context(kind, pki, version)
    flag = S_SERVER_FLAG[version]
    with OpenSSLServer(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", protocol=flag) as server:
        try:
            answer, got_version, subject = _run(exchange(server.port, ctx))
        except Exception as exc:
            raise AssertionError(f"{kind.__name__} client failed: {exc!r}; s_server said:\n{server.output}") from exc
    assert answer == reverse_line(LINE)
    assert got_version == version.name.replace("v1_", "v1.")
    assert subject == ((("commonName", "localhost"),),)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_open_connection_to_glasstls_server(pki: Any, kind: type, version: ssl.TLSVersion) -> None:
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),))
    ctx = client_context(kind, pki, version)

    async def main() -> tuple[bytes, str, Any]:
        async with await glasstls.start_server(echo, "127.0.0.1", 0, config) as server:
            port = server.sockets[0].getsockname()[1]
            return await exchange(port, ctx)

    answer, got_version, _ = _run(main())
    assert answer == LINE and got_version == version.name.replace("v1_", "v1.")


ServerFactory = Callable[..., Any]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("client_kind", KINDS, ids=["stdlib-client", "glasstls-client"])
@pytest.mark.parametrize("server_kind", KINDS, ids=["stdlib-server", "glasstls-server"])
def test_asyncio_start_server(pki: Any, client_kind: type, server_kind: type, version: ssl.TLSVersion) -> None:
    """asyncio.start_server(ssl=ctx): the server side of sslproto over either kind."""
    server_ctx = server_context(server_kind, pki, version)
    client_ctx = client_context(client_kind, pki, version)
    server_objects: list[Any] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_objects.append(writer.get_extra_info("ssl_object"))
        await echo(reader, writer)

    async def main() -> tuple[bytes, str, Any]:
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_ctx, ssl_handshake_timeout=WAIT)
        async with server:
            port = server.sockets[0].getsockname()[1]
            return await exchange(port, client_ctx)

    answer, got_version, subject = _run(main())
    assert answer == LINE and got_version == version.name.replace("v1_", "v1.")
    assert subject == ((("commonName", "localhost"),),)
    assert [isinstance(obj, glasstls.SSLObject) for obj in server_objects] == [server_kind is GlassContext]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_untrusted_ca_and_wrong_host(pki: Any, tmp_path: Path, kind: type, version: ssl.TLSVersion) -> None:
    other = tmp_path / "other-root.pem"
    other.write_bytes(ThrowawayCA.create(common_name="unrelated root").root_pem())
    server_ctx = server_context(ssl.SSLContext, pki, version)

    async def attempt(ctx: Any, host: str) -> BaseException:
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx, ssl_handshake_timeout=WAIT)
        async with server:
            port = server.sockets[0].getsockname()[1]
            try:
                await exchange(port, ctx, host=host)
            except ssl.SSLError as exc:
                return exc
        raise AssertionError("the connection succeeded")

    untrusted = _run(attempt(client_context(kind, pki, version, cafile=other), "localhost"))
    assert isinstance(untrusted, ssl.SSLCertVerificationError) and untrusted.verify_code == 20
    wrong = _run(attempt(client_context(kind, pki, version), "wrong.example"))
    assert isinstance(wrong, ssl.SSLCertVerificationError) and wrong.verify_code == 62
    assert wrong.verify_message == "Hostname mismatch, certificate is not valid for 'wrong.example'."
