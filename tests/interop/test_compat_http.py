"""http.client and urllib over ``glasstls.compat.SSLContext``, and the same over ``ssl.SSLContext``.

Each case runs twice, once with the stdlib's context and once with glasstls's, and
asserts the same outcome: the shim must behave as the thing it replaces. The servers
are real processes on 127.0.0.1, both TLS versions:

* ``openssl s_server -www`` (HTTP/1.0, a page naming the protocol and the cipher);
* ``glasstls server --www``.

Outcomes: a GET through ``http.client.HTTPSConnection(context=ctx)`` and through
``urllib.request.urlopen(context=ctx)``; a wrong host name and an untrusted root both
refused with ``ssl.SSLCertVerificationError`` (urllib wraps it in ``URLError``).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from compat_servers import CASES, assert_socket_kind, case_id, client_context, page_names, start_www_server
from conftest import InteropPKI
from interop_peers import WAIT

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_http_client_and_urllib_get(pki: InteropPKI, case: tuple[str, str, str]) -> None:
    kind, server_kind, version = case
    context = client_context(kind, version, pki.root_file)
    with start_www_server(server_kind, pki.files["ecdsa-p256"], version, connections=2) as server:
        connection = http.client.HTTPSConnection("localhost", server.port, context=context, timeout=WAIT)
        try:
            connection.request("GET", "/")
            sock = connection.sock
            assert_socket_kind(sock, kind)
            assert sock.version() == version and sock.getpeercert()["subjectAltName"][0] == ("DNS", "localhost")
            response = connection.getresponse()
            assert response.status == 200 and page_names(response.read(), version)
        finally:
            connection.close()
        with urllib.request.urlopen(f"https://localhost:{server.port}/", context=context, timeout=WAIT) as page:
            assert page.status == 200 and page_names(page.read(), version)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_wrong_host_and_untrusted_root_refused(
    pki: InteropPKI, untrusted_root: Path, case: tuple[str, str, str]
) -> None:
    kind, server_kind, version = case
    with start_www_server(server_kind, pki.files["ecdsa-p256"], version, connections=2) as server:
        context = client_context(kind, version, pki.root_file)
        plain = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        with pytest.raises(ssl.SSLCertVerificationError) as wrong_host:
            context.wrap_socket(plain, server_hostname="wrong.example")
        assert wrong_host.value.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH, as OpenSSL names it
        plain.close()
        untrusting = client_context(kind, version, untrusted_root)
        with pytest.raises(urllib.error.URLError) as refused:
            urllib.request.urlopen(f"https://localhost:{server.port}/", context=untrusting, timeout=WAIT)
        assert isinstance(refused.value.reason, ssl.SSLCertVerificationError), refused.value.reason
