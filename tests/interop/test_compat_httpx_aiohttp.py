"""httpx (``Client(verify=ctx)``, ``AsyncClient(verify=ctx)``) and aiohttp (client and server) over
``glasstls.compat.SSLContext``, each case also run with ``ssl.SSLContext`` for the same outcome.

* Clients (compat_servers.py): one GET from ``openssl s_server -www`` / ``glasstls server
  --www``, then three GETs on one keep-alive connection to nginx / ``http.server`` over a
  glasstls server context; TLS 1.3 and 1.2. httpx's sync client runs on our SSLSocket
  (``wrap_socket``), its async client on our SSLObject through anyio (``wrap_bio``),
  aiohttp on our SSLObject through asyncio's sslproto.
* aiohttp's server, ``web.TCPSite(ssl_context=ctx)`` with a server-side context of either
  kind, answered to curl (two URLs: one keep-alive connection), ``openssl s_client`` and
  ``http.client``.
* A certificate for another name and an untrusted root refused: the library's error wraps
  an ``ssl.SSLCertVerificationError`` with OpenSSL's verify code (62, 20).
"""

from __future__ import annotations

import asyncio
import http.client
import re
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from compat_servers import (
    CASES,
    CONTEXTS,
    VERSIONS,
    X509_V_ERR_HOSTNAME_MISMATCH,
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    CompatServers,
    assert_keep_alive,
    assert_socket_kind,
    case_id,
    client_context,
    page_names,
    server_context,
    verification_error,
)
from conftest import InteropPKI
from interop_peers import CURL, WAIT, run_s_client

import glasstls

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, 3 * WAIT)

    return asyncio.run(bounded())


def assert_sslobject_kind(sslobj: Any, kind: str) -> None:
    assert isinstance(sslobj, glasstls.SSLObject) == (kind == "glasstls"), type(sslobj)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_httpx_client(pki: InteropPKI, compat_servers: CompatServers, case: tuple[str, str, str]) -> None:
    kind, server, version = case
    with httpx.Client(verify=client_context(kind, version, pki.root_file), timeout=WAIT) as client:
        response = client.get(f"https://localhost:{compat_servers.www(server)}/")
        assert response.status_code == 200 and page_names(response.content, version)
        keepalive = f"https://localhost:{compat_servers.keepalive(server)}/"
        responses = [client.get(f"{keepalive}{n}") for n in range(3)]
        assert_keep_alive([r.content for r in responses], version)
        assert_socket_kind(responses[-1].extensions["network_stream"].get_extra_info("socket"), kind)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_httpx_async_client(pki: InteropPKI, compat_servers: CompatServers, case: tuple[str, str, str]) -> None:
    kind, server, version = case
    www, keepalive = compat_servers.www(server), compat_servers.keepalive(server)

    async def main() -> None:
        async with httpx.AsyncClient(verify=client_context(kind, version, pki.root_file), timeout=WAIT) as client:
            response = await client.get(f"https://localhost:{www}/")
            assert response.status_code == 200 and page_names(response.content, version)
            responses = [await client.get(f"https://localhost:{keepalive}/{n}") for n in range(3)]
            assert_keep_alive([r.content for r in responses], version)
            assert_sslobject_kind(responses[-1].extensions["network_stream"].get_extra_info("ssl_object"), kind)

    run(main())


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_aiohttp_client(pki: InteropPKI, compat_servers: CompatServers, case: tuple[str, str, str]) -> None:
    kind, server, version = case
    www, keepalive = compat_servers.www(server), compat_servers.keepalive(server)
    context = client_context(kind, version, pki.root_file)

    async def main() -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as session:
            async with session.get(f"https://localhost:{www}/", ssl=context) as response:
                assert response.status == 200 and page_names(await response.read(), version)
            pages = []
            for n in range(3):
                async with session.get(f"https://localhost:{keepalive}/{n}", ssl=context) as response:
                    pages.append(await response.read())
            assert_keep_alive(pages, version)
            # the connection kept for reuse (aiohttp's pool: key → [(protocol, time)])
            pooled = session.connector._conns  # type: ignore[union-attr]
            [(protocol, _)] = [c for key, conns in pooled.items() if key.port == keepalive for c in conns]
            assert_sslobject_kind(protocol.transport.get_extra_info("ssl_object"), kind)

    run(main())


# -- aiohttp's server -----------------------------------------------------------------------------


async def page(request: web.Request) -> web.Response:
    transport = request.transport
    assert transport is not None
    sslobj = transport.get_extra_info("ssl_object")
    peer_port = transport.get_extra_info("peername")[1]
    return web.Response(text=f"{sslobj.version()} peer={peer_port} {type(sslobj).__module__}\n")


def stdlib_get(port: int, version: str, cafile: Path) -> bytes:
    connection = http.client.HTTPSConnection(
        "localhost", port, context=client_context("ssl", version, cafile), timeout=WAIT
    )
    try:
        connection.request("GET", "/stdlib")
        response = connection.getresponse()
        assert response.status == 200
        return response.read()
    finally:
        connection.close()


@pytest.mark.skipif(CURL is None, reason="curl is not installed (make peers installs it)")
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", CONTEXTS)
def test_aiohttp_server(pki: InteropPKI, kind: str, version: str) -> None:
    context = server_context(kind, pki.files["ecdsa-p256"], version)
    module = "glasstls.compat.sslobject" if kind == "glasstls" else "ssl"
    tls_flag = {"TLSv1.3": "-tls1_3", "TLSv1.2": "-tls1_2"}[version]

    async def main() -> tuple[bytes, str, bytes]:
        app = web.Application()
        app.router.add_get("/{tail:.*}", page)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
            await site.start()
            port = runner.addresses[0][1]
            url = f"https://localhost:{port}/"
            curl = await asyncio.create_subprocess_exec(
                CURL or "curl", "-sS", "--cacert", str(pki.root_file), f"--tlsv{version[4:]}",
                "--tls-max", version[4:], f"{url}1", f"{url}2",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            try:
                curl_out, curl_err = await asyncio.wait_for(curl.communicate(), WAIT)
            finally:
                if curl.returncode is None:
                    curl.kill()
                    await curl.wait()
            assert curl.returncode == 0, curl_err
            request = b"GET /s_client HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            s_client = await asyncio.to_thread(
                run_s_client,
                ["-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-verify_hostname", "localhost",
                 "-CAfile", str(pki.root_file), "-verify_return_error", tls_flag, "-quiet"],
                request,
            )  # fmt: skip
            stdlib = await asyncio.to_thread(stdlib_get, port, version, pki.root_file)
            return curl_out, s_client.stdout, stdlib
        finally:
            await runner.cleanup()

    curl_out, s_client_out, stdlib = run(main())
    # curl's two requests: one connection (the same client port), both over our kind of SSLObject
    first, second = re.findall(rf"{version} peer=(\d+) {module}\n", curl_out.decode())
    assert first == second, curl_out
    assert "HTTP/1.1 200 OK" in s_client_out and f"{version} peer=" in s_client_out, s_client_out
    assert re.fullmatch(rb"TLSv1\.[23] peer=\d+ \S+\n", stdlib) and stdlib.startswith(f"{version} ".encode())


# -- verification failures ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_wrong_host_and_untrusted_root_refused(
    pki: InteropPKI, compat_servers: CompatServers, untrusted_root: Path, case: tuple[str, str, str]
) -> None:
    kind, server, version = case
    wrong_name, right_name = compat_servers.www(server, wrong_name=True), compat_servers.www(server)
    attempts = [
        (pki.root_file, f"https://localhost:{wrong_name}/", X509_V_ERR_HOSTNAME_MISMATCH),
        (untrusted_root, f"https://localhost:{right_name}/", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    ]

    async def refused_async(cafile: Path, url: str) -> tuple[BaseException, BaseException]:
        async with httpx.AsyncClient(verify=client_context(kind, version, cafile), timeout=WAIT) as client:
            with pytest.raises(httpx.ConnectError) as by_httpx:
                await client.get(url)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError) as by_aiohttp:
                await session.get(url, ssl=client_context(kind, version, cafile))
        return by_httpx.value, by_aiohttp.value

    for cafile, url, code in attempts:
        client = httpx.Client(verify=client_context(kind, version, cafile), timeout=WAIT)
        with client, pytest.raises(httpx.ConnectError) as by_httpx:
            client.get(url)
        errors = [by_httpx.value, *run(refused_async(cafile, url))]
        assert [verification_error(error).verify_code for error in errors] == [code] * 3, errors
