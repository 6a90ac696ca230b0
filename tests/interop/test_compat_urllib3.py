"""urllib3 ``PoolManager(ssl_context=ctx)`` and requests through an adapter passing ``ctx``.

Each case runs with ``ssl.SSLContext`` and with ``glasstls.compat.SSLContext`` and asserts
the same outcome (compat_servers.py), against OpenSSL and glasstls servers, TLS 1.3 and 1.2:

* two GETs from ``openssl s_server -www`` / ``glasstls server --www`` (a connection each:
  those servers close after one answer), the page naming the protocol version;
* three GETs on one keep-alive connection to nginx / ``http.server`` over a glasstls
  server context, the server counting them (and urllib3's pool: one connection made);
* a certificate for another name and an untrusted root refused, the library's error
  wrapping an ``ssl.SSLCertVerificationError`` with OpenSSL's verify code (62, 20).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from compat_servers import (
    CASES,
    X509_V_ERR_HOSTNAME_MISMATCH,
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    CompatServers,
    assert_keep_alive,
    assert_socket_kind,
    case_id,
    client_context,
    page_names,
    verification_error,
)
from conftest import InteropPKI
from interop_peers import WAIT
from requests.adapters import HTTPAdapter

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


class ContextAdapter(HTTPAdapter):
    """The usual way to give requests an SSLContext: its pool manager gets ``ssl_context``."""

    def __init__(self, context: Any) -> None:
        self.context = context
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self.context
        super().init_poolmanager(*args, **kwargs)


def session_with(context: Any) -> requests.Session:
    session = requests.Session()
    session.mount("https://", ContextAdapter(context))
    return session


def pooled_sockets(pool: Any) -> list[Any]:
    """The sockets of the idle connections urllib3 keeps in ``pool``."""
    return [conn.sock for conn in list(pool.pool.queue) if conn is not None and conn.sock is not None]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_urllib3_pool_manager(pki: InteropPKI, compat_servers: CompatServers, case: tuple[str, str, str]) -> None:
    kind, server, version = case
    context = client_context(kind, version, pki.root_file)
    with urllib3.PoolManager(ssl_context=context, retries=False, timeout=WAIT) as http:
        www = f"https://localhost:{compat_servers.www(server)}/"
        for _ in range(2):
            response = http.request("GET", www)
            assert response.status == 200 and page_names(response.data, version), response.data[:200]
        keepalive = f"https://localhost:{compat_servers.keepalive(server)}/"
        pages = [http.request("GET", f"{keepalive}{n}").data for n in range(3)]
        assert_keep_alive(pages, version)
        pool = http.connection_from_url(keepalive)
        assert pool.num_connections == 1 and pool.num_requests == 3
        [sock] = pooled_sockets(pool)
        assert_socket_kind(sock, kind)
        assert sock.version() == version and sock.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_requests_through_an_adapter(
    pki: InteropPKI, compat_servers: CompatServers, case: tuple[str, str, str]
) -> None:
    kind, server, version = case
    with session_with(client_context(kind, version, pki.root_file)) as session:
        response = session.get(f"https://localhost:{compat_servers.www(server)}/", timeout=WAIT)
        assert response.status_code == 200 and page_names(response.content, version)
        port = compat_servers.keepalive(server)
        pages = [session.get(f"https://localhost:{port}/{n}", timeout=WAIT).content for n in range(3)]
        assert_keep_alive(pages, version)
        manager = session.get_adapter("https://localhost/").poolmanager
        keys = manager.pools.keys()  # urllib3's RecentlyUsedContainer cannot be iterated itself
        [pool] = [manager.pools[key] for key in keys if key.key_port == port]
        [sock] = pooled_sockets(pool)
        assert_socket_kind(sock, kind)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_wrong_host_and_untrusted_root_refused(
    pki: InteropPKI, compat_servers: CompatServers, untrusted_root: Path, case: tuple[str, str, str]
) -> None:
    kind, server, version = case
    wrong_name = f"https://localhost:{compat_servers.www(server, wrong_name=True)}/"
    right_name = f"https://localhost:{compat_servers.www(server)}/"
    for cafile, url, code in [
        (pki.root_file, wrong_name, X509_V_ERR_HOSTNAME_MISMATCH),
        (untrusted_root, right_name, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    ]:
        with urllib3.PoolManager(ssl_context=client_context(kind, version, cafile), retries=False) as http:
            with pytest.raises(urllib3.exceptions.SSLError) as refused:
                http.request("GET", url, timeout=WAIT)
            assert verification_error(refused.value).verify_code == code
        with session_with(client_context(kind, version, cafile)) as session:
            with pytest.raises(requests.exceptions.SSLError) as refused_too:
                session.get(url, timeout=WAIT)
            assert verification_error(refused_too.value).verify_code == code
    error = verification_error(refused_too.value)
    assert isinstance(error, ssl.SSLCertVerificationError) and error.verify_message.startswith("unable to get")
