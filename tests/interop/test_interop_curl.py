"""curl against ``glasstls server --www`` over TLS 1.2, the way a person would try it; and with a
client certificate over both versions, resuming.

One glasstls server process for the module (``python -m glasstls server --listen
127.0.0.1:0 --www``, with an ECDSA and an RSA certificate and a ``--ciphers`` list that
names one legacy CBC suite), and one curl per case::

    curl --tlsv1.2 --tls-max 1.2 --cacert root.pem --resolve localhost:PORT:127.0.0.1 https://localhost:PORT/

What is read:

* curl ``-v`` (stderr): ``* SSL connection using TLSv1.2 / ECDHE-ECDSA-AES128-GCM-SHA256``
  (OpenSSL's suite name) and ``*  SSL certificate verify ok.``;
* the page (stdout): ``Protocol version:  TLSv1.2`` and ``Cipher suite:      TLS_...``;
* the server's stderr, one line per connection:
  ``glasstls: 127.0.0.1:PORT TLSv1.2 TLS_ECDHE_... x25519 ecdsa_secp256r1_sha256 alpn=none sni=localhost``.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from interop_peers import CURL, OPENSSL_TLS12_NAMES, WAIT, GlasstlsCLIServer

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.skipif(CURL is None, reason="curl is not installed (make peers installs it)"),
]

SERVER_SUITES = (
    "TLS_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",  # legacy: only because it is named (and only with encrypt-then-MAC)
)
# (what curl is told with --ciphers, or None for its defaults; the suite glasstls must choose, its scheme)
CASES = [
    (None, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ecdsa_secp256r1_sha256"),  # the server's first choice
    ("ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "rsa_pss_rsae_sha256"),
    ("ECDHE-RSA-AES256-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "rsa_pss_rsae_sha256"),
]


@pytest.fixture(scope="module")
def www_server(pki):
    ecdsa, rsa = pki.files["ecdsa-p256"], pki.files["rsa2048"]
    with GlasstlsCLIServer(
        "--www",
        "--cert", str(ecdsa.full_chain), "--key", str(ecdsa.key),
        "--cert", str(rsa.full_chain), "--key", str(rsa.key),
        "--ciphers", ",".join(SERVER_SUITES),
    ) as server:  # fmt: skip
        yield server


@pytest.mark.parametrize(("curl_ciphers", "suite", "scheme"), CASES, ids=[c[1].removeprefix("TLS_") for c in CASES])
def test_curl_tls12_to_glasstls_www(pki, www_server, curl_ciphers, suite, scheme):
    port = www_server.port
    extra = ["--ciphers", curl_ciphers] if curl_ciphers else []
    curl = subprocess.run(
        [
            CURL, "-sS", "-v", "--max-time", str(WAIT), "--tlsv1.2", "--tls-max", "1.2", *extra,
            "--cacert", str(pki.root_file), "--resolve", f"localhost:{port}:127.0.0.1", f"https://localhost:{port}/",
        ],
        capture_output=True, text=True, errors="replace", timeout=WAIT + 5, check=False,
    )  # fmt: skip
    said = f"curl said:\n{curl.stderr}\nglasstls server said:\n{www_server.output}"
    assert curl.returncode == 0, said

    # curl's view
    assert f"* SSL connection using TLSv1.2 / {OPENSSL_TLS12_NAMES[suite]}" in curl.stderr, said
    assert "SSL certificate verify ok." in curl.stderr, said
    # the page glasstls served about the connection
    page = curl.stdout
    assert "Protocol version:  TLSv1.2" in page, page
    assert f"Cipher suite:      {suite}" in page, page
    assert f"Signature scheme:  {scheme}" in page, page
    assert "Server name (SNI): localhost" in page, page
    # the server's own log line for this connection
    logged = www_server.wait_for(rf"^glasstls: 127\.0\.0\.1:\d+ TLSv1\.2 {suite} ")
    assert re.search(rf" x25519 {scheme} alpn=none sni=localhost$", logged), logged


def test_www_offers_only_http11_however_alpn_is_given(pki):
    """--www speaks HTTP/1.1: told --alpn h2,http/1.1 it offers http/1.1 alone (and says so), so
    curl, which asks for h2 first, gets HTTP/1.1 and the page; agreeing to h2 would break it (RFC 7301,
    Section 3.2). --alpn h2 alone is refused at start."""
    ecdsa = pki.files["ecdsa-p256"]
    cert = ["--cert", str(ecdsa.full_chain), "--key", str(ecdsa.key)]
    with GlasstlsCLIServer("--www", "--alpn", "h2,http/1.1", *cert) as server:
        port = server.port
        curl = subprocess.run(
            [
                CURL, "-sS", "-v", "--max-time", str(WAIT), "--http2", "--cacert", str(pki.root_file),
                "--resolve", f"localhost:{port}:127.0.0.1", f"https://localhost:{port}/",
            ],
            capture_output=True, text=True, errors="replace", timeout=WAIT + 5, check=False,
        )  # fmt: skip
        said = f"curl said:\n{curl.stderr}\nglasstls server said:\n{server.output}"
        assert curl.returncode == 0 and "ALPN: server accepted http/1.1" in curl.stderr, said
        assert "Protocol version:" in curl.stdout, said
        assert "--www speaks HTTP/1.1 only: not offering h2 (ALPN)" in server.output
    refused = subprocess.run(
        [sys.executable, "-m", "glasstls", "server", "--listen", "127.0.0.1:0", "--www", "--alpn", "h2", *cert],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert refused.returncode != 0 and "--www speaks HTTP/1.1 only" in refused.stderr, refused.stderr


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_curl_with_a_client_certificate_resumes_and_stays_known(pki, tmp_path, version):
    """curl (OpenSSL) with --cert fetches two URLs in one run: the second connection resumes the first's
    session (curl keeps it), and the server still knows the client's certificate there, from the
    session. Before, a resumed TLS 1.2 connection had none (tests/test_resumption12.py)."""
    client = pki.ca.issue_client("curl-client")
    client.write(tmp_path / "client.pem", tmp_path / "client.key")
    ecdsa = pki.files["ecdsa-p256"]
    with GlasstlsCLIServer(
        "--www", "--cert", str(ecdsa.full_chain), "--key", str(ecdsa.key),
        "--client-ca", str(pki.root_file), "--verify-client", "required",
    ) as server:  # fmt: skip
        url = f"https://localhost:{server.port}/"
        curl = subprocess.run(
            [
                CURL, "-sS", "--max-time", str(WAIT), f"--tlsv{version}", "--tls-max", version,
                "--cacert", str(pki.root_file), "--cert", str(tmp_path / "client.pem"),
                "--key", str(tmp_path / "client.key"), "--resolve", f"localhost:{server.port}:127.0.0.1",
                "-H", "Connection: close", url, url,
            ],
            capture_output=True, text=True, errors="replace", timeout=2 * WAIT + 5, check=False,
        )  # fmt: skip
        said = f"curl said:\n{curl.stdout}\n{curl.stderr}\nglasstls server said:\n{server.output}"
    assert curl.returncode == 0, said
    pages = curl.stdout.split("glasstls server: the TLS connection you made")[1:]
    assert len(pages) == 2, said
    for page, resumed in zip(pages, ("no", "yes"), strict=True):
        assert f"Protocol version:  TLSv{version}" in page, said
        assert re.search(rf"Resumed: +{resumed}\n", page), said
        assert re.search(r"Client certificate: +CN=curl-client\n", page), said
