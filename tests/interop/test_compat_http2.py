"""httpx ``Client(http2=True)`` over ``glasstls.compat.SSLContext`` against nginx with HTTP/2.

httpcore's sync backend reads the ALPN result through ``get_extra_info("ssl_object")``, which it
answers only for an ``ssl.SSLSocket`` (``isinstance``); a socket of another class made it speak
HTTP/1.1 on a connection where the server had chosen h2 (RFC 7301, RFC 9113 3.2). Each case is
also run with ``ssl.SSLContext``, for the same outcome. httpx needs the ``h2`` package for
HTTP/2: without it the test is skipped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from compat_servers import CONTEXTS, VERSIONS, client_context
from conftest import InteropPKI
from interop_peers import WAIT
from nginx_peer import PATHS, TEMP_PATHS, needs_nginx, running_nginx

pytest.importorskip("h2", reason="httpx speaks HTTP/2 only with the h2 package")
pytestmark = [pytest.mark.interop, pytest.mark.timeout(60), needs_nginx]

NGINX_H2 = (
    PATHS
    + """
http {{
    access_log {prefix}/access.log;"""
    + TEMP_PATHS
    + """
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate {chain};
        ssl_certificate_key {key};
        location / {{
            default_type text/plain;
            return 200 "$server_protocol $ssl_protocol $ssl_alpn_protocol\\n";
        }}
    }}
}}
"""
)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", CONTEXTS)
def test_httpx_http2_client(pki: InteropPKI, tmp_path: Path, kind: str, version: str) -> None:
    files = pki.files["ecdsa-p256"]
    places = {"prefix": tmp_path, "chain": files.full_chain, "key": files.key}
    with running_nginx(tmp_path, lambda port: NGINX_H2.format(port=port, **places)) as nginx:
        url = f"https://localhost:{nginx.port}/"
        context = client_context(kind, version, pki.root_file)
        with httpx.Client(verify=context, http2=True, timeout=WAIT) as client:
            responses = [client.get(f"{url}{n}") for n in range(2)]
        assert [r.http_version for r in responses] == ["HTTP/2", "HTTP/2"]
        assert responses[0].text == f"HTTP/2.0 {version} h2\n"

        async def fetch() -> httpx.Response:  # anyio over wrap_bio: ALPN read from the SSLObject
            async with httpx.AsyncClient(verify=client_context(kind, version, pki.root_file), http2=True) as aclient:
                return await asyncio.wait_for(aclient.get(url), WAIT)

        assert asyncio.run(fetch()).http_version == "HTTP/2"
