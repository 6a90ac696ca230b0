"""A server PKI made the way OpenSSL's own documentation makes one, served by ``openssl s_server``.

The root comes from ``openssl req -x509`` (basicConstraints, no keyUsage) and the
server certificate from ``openssl x509 -req -extfile`` with a subjectAltName only
(no authorityKeyIdentifier, as OpenSSL 1.1 made them): two shapes the Web PKI profile refuses and RFC 5280
path validation, OpenSSL, Go and rustls accept (x509/path_policy.py). ``glasstls
client`` trusting that root connects, in TLS 1.3 and 1.2, and still refuses a name
the certificate does not carry.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from interop_peers import OPENSSL, WAIT, PeerProcess

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

GLASSTLS = [sys.executable, "-m", "glasstls"]


def _openssl(*args: str | Path) -> None:
    subprocess.run([OPENSSL, *map(str, args)], check=True, capture_output=True, timeout=WAIT)


@pytest.fixture(scope="module")
def tutorial_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tutorial-pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        folder / "root.key",
        "-out",
        folder / "root.pem",
        "-subj",
        "/CN=Tutorial Root",
        "-days",
        "5",
    )
    _openssl(
        "req", "-new", *ec, "-keyout", folder / "server.key", "-out", folder / "server.csr", "-subj", "/CN=localhost"
    )
    # OpenSSL 1.1's x509 -req added no key identifiers; 3.0 adds them unless told "none".
    (folder / "server.ext").write_text(
        "subjectAltName=DNS:localhost\nauthorityKeyIdentifier=none\nsubjectKeyIdentifier=none\n"
    )
    _openssl(
        "x509", "-req", "-in", folder / "server.csr", "-CA", folder / "root.pem", "-CAkey", folder / "root.key",
        "-set_serial", "0x1001", "-days", "5", "-extfile", folder / "server.ext", "-out", folder / "server.pem",
    )  # fmt: skip
    from cryptography import x509

    root = x509.load_pem_x509_certificate((folder / "root.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((folder / "server.pem").read_bytes())
    # The shapes under test: guards against an OpenSSL that would make them otherwise.
    assert x509.KeyUsage not in {type(e.value) for e in root.extensions}
    assert x509.AuthorityKeyIdentifier not in {type(e.value) for e in leaf.extensions}
    return folder


class SServer(PeerProcess):
    name = "s_server"

    def __init__(self, folder: Path, version: str) -> None:
        super().__init__(
            [
                OPENSSL, "s_server", version, "-accept", "127.0.0.1:0", "-naccept", "1", "-rev",
                "-cert", str(folder / "server.pem"), "-key", str(folder / "server.key"),
            ]
        )  # fmt: skip

    def _started(self) -> None:
        line = self.wait_for(r"^ACCEPT ")
        self.port = int(line.rsplit(":", 1)[1])


def _client(port: int, root: Path, name: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            *GLASSTLS,
            "client",
            f"127.0.0.1:{port}",
            "--cacert",
            str(root),
            "--servername",
            name,
            "--json",
            "--linger",
            "0.5",
        ],
        input=b"tutorial\n",
        capture_output=True,
        timeout=WAIT * 2,
        check=False,
    )


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_glasstls_client_trusts_a_tutorial_pki(tutorial_pki: Path, version: str) -> None:
    with SServer(tutorial_pki, version) as server:
        proc = _client(server.port, tutorial_pki / "root.pem", "localhost")
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, stderr
    summary = json.loads(stderr.strip().splitlines()[-1])
    assert summary["version"] == ("TLSv1.3" if version == "-tls1_3" else "TLSv1.2")
    assert proc.stdout == b"lairotut\n"


def test_the_tutorial_pki_still_checks_the_name(tutorial_pki: Path) -> None:
    with SServer(tutorial_pki, "-tls1_3") as server:
        proc = _client(server.port, tutorial_pki / "root.pem", "other.test")
    assert proc.returncode == 1
    assert b"certificate is for localhost, not other.test" in proc.stderr
