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
from typing import Any

import pytest
from conftest import InteropPKI
from interop_peers import OPENSSL, WAIT, GlasstlsCLIServer, PeerProcess, ServerFiles

import glasstls.compat
from glasstls.compat.sslsocket import SSLSocket
from glasstls.x509.mint import ThrowawayCA

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CONTEXTS: dict[str, Any] = {"ssl": ssl.SSLContext, "glasstls": glasstls.compat.SSLContext}
VERSIONS = {"TLSv1.3": ssl.TLSVersion.TLSv1_3, "TLSv1.2": ssl.TLSVersion.TLSv1_2}
SERVERS = ("openssl", "glasstls")
CASES = [(c, s, v) for c in CONTEXTS for s in SERVERS for v in VERSIONS]


def case_id(case: tuple[str, str, str]) -> str:
    return "-".join(case)


class WWWServer(PeerProcess):
    """``openssl s_server -www`` on 127.0.0.1 for ``naccept`` connections."""

    name = "s_server -www"

    def __init__(self, files: ServerFiles, version: str, naccept: int) -> None:
        flag = {"TLSv1.3": "-tls1_3", "TLSv1.2": "-tls1_2"}[version]
        super().__init__(
            [
                OPENSSL, "s_server", flag, "-www", "-accept", "127.0.0.1:0", "-naccept", str(naccept),
                "-cert", str(files.leaf), "-cert_chain", str(files.intermediates), "-key", str(files.key),
            ]
        )  # fmt: skip

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^ACCEPT ").rsplit(":", 1)[1])


def start_server(kind: str, files: ServerFiles, version: str, connections: int) -> PeerProcess:
    if kind == "openssl":
        return WWWServer(files, version, connections)
    tls = version.removeprefix("TLSv")
    return GlasstlsCLIServer(
        "--www", "--cert", str(files.full_chain), "--key", str(files.key),
        "--tls-min", tls, "--tls-max", tls, "--max-connections", str(connections),
    )  # fmt: skip


def client_context(kind: str, version: str, cafile: Path) -> Any:
    context = CONTEXTS[kind](ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(cafile))
    context.maximum_version = VERSIONS[version]
    return context


@pytest.fixture(scope="module")
def untrusted_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("untrusted") / "root.pem"
    path.write_bytes(ThrowawayCA.create("compat untrusted root", with_intermediate=False).root_pem())
    return path


def page_names(body: bytes, version: str) -> bool:
    return version.encode() in body


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_http_client_and_urllib_get(pki: InteropPKI, case: tuple[str, str, str]) -> None:
    kind, server_kind, version = case
    context = client_context(kind, version, pki.root_file)
    with start_server(server_kind, pki.files["ecdsa-p256"], version, connections=2) as server:
        connection = http.client.HTTPSConnection("localhost", server.port, context=context, timeout=WAIT)
        try:
            connection.request("GET", "/")
            sock = connection.sock
            assert isinstance(sock, SSLSocket if kind == "glasstls" else ssl.SSLSocket)
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
    with start_server(server_kind, pki.files["ecdsa-p256"], version, connections=2) as server:
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
