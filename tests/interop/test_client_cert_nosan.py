"""A client certificate without subjectAltName, as ``openssl req`` makes one, presented to a glasstls server.

The client CA and the client certificate are made with the OpenSSL command line
the way corporate PKIs and devices make them: a root from ``openssl req -x509``
(BasicConstraints, no keyUsage) and a leaf signed by ``openssl x509 -req`` with
only basicConstraints, keyUsage digitalSignature and extendedKeyUsage clientAuth:
a subject name (CN=device-42, O=Corp) and no subjectAltName. Each client
(``openssl s_client``, ``curl``, ``gnutls-cli``, Node.js 24, Python's ``ssl``)
presents it to a glasstls server requiring client certificates (``glasstls
server --verify-client required`` for curl, the library server for the others),
which accepts it and sees the client's subject (the library server through its
``client_identity_check``, which also refuses, with access_denied, an identity
it does not know). A certificate for servers only (EKU serverAuth) is refused
with unsupported_certificate, as OpenSSL refuses it.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from interop_peers import (
    CURL,
    GNUTLS_CLI,
    OPENSSL,
    WAIT,
    GlasstlsCLIServer,
    PeerProcess,
    ServerThread,
    glasstls_line_server,
    reverse_line,
    run_s_client,
)

from glasstls import ClientIdentity, ProtocolVersion, ServerConfig
from glasstls.enums import AlertDescription
from glasstls.errors import AlertError
from glasstls.x509.store import TrustStore

NODE = Path(__file__).resolve().parents[2] / ".peers" / "node_modules" / ".bin" / "node"
SUBJECT = "O=Corp,CN=device-42"  # RFC 4514 writes the last RDN first

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CLIENT_EXTENSIONS = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"


def _openssl(*args: str | Path) -> None:
    subprocess.run([OPENSSL, *map(str, args)], check=True, capture_output=True, timeout=WAIT)


def _issue(folder: Path, name: str, subject: str, extensions: str) -> None:
    """A P-256 key and a certificate for ``subject`` signed by the corp root, with only ``extensions``."""
    ext = folder / f"{name}.ext"
    ext.write_text(extensions)
    _openssl(
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        folder / f"{name}.key",
        "-out",
        folder / f"{name}.csr",
        "-subj",
        subject,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        folder / f"{name}.csr",
        "-CA",
        folder / "corp-root.pem",
        "-CAkey",
        folder / "corp-root.key",
        "-set_serial",
        "0x4242" if name == "device" else "0x4343",
        "-days",
        "5",
        "-extfile",
        ext,
        "-out",
        folder / f"{name}.pem",
    )


@pytest.fixture(scope="module")
def corp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corp-pki")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        folder / "corp-root.key",
        "-out",
        folder / "corp-root.pem",
        "-subj",
        "/CN=Corp Device Root",
        "-days",
        "30",
    )
    _issue(folder, "device", "/CN=device-42/O=Corp", CLIENT_EXTENSIONS + "extendedKeyUsage=clientAuth\n")
    _issue(folder, "web", "/CN=web-1/O=Corp", CLIENT_EXTENSIONS + "extendedKeyUsage=serverAuth\n")
    device = x509.load_pem_x509_certificate((folder / "device.pem").read_bytes())
    with pytest.raises(x509.ExtensionNotFound):  # the point of the exercise
        device.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert device.version == x509.Version.v3
    return folder


class Seen:
    """The identity check of the library server: lets device-42 in, records what it was shown."""

    def __init__(self) -> None:
        self.identities: list[ClientIdentity] = []

    def __call__(self, identity: ClientIdentity) -> str | None:
        self.identities.append(identity)
        return None if identity.common_name == "device-42" else f"{identity.common_name} is not a known device"


def _server_config(pki: Any, corp: Path, seen: Seen, version: str = "TLSv1.3") -> ServerConfig:
    return ServerConfig(
        certificates=(pki.certified_key("ecdsa-p256"),),
        tls_max=ProtocolVersion.TLSv1_3 if version == "TLSv1.3" else ProtocolVersion.TLSv1_2,
        client_auth="required",
        client_trust_store=TrustStore.from_file(corp / "corp-root.pem"),
        client_identity_check=seen,
    )


def _check_accepted(result: tuple[Any, bytes], seen: Seen, line: bytes, version: str) -> None:
    params, received = result
    assert received == line
    assert params.version == version
    assert params.client_auth is True and params.peer_certificate_subject == SUBJECT
    (identity,) = seen.identities
    assert (identity.subject, identity.common_name, identity.dns_names) == (SUBJECT, "device-42", ())


# -- openssl s_client ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_openssl_s_client_without_san_is_accepted(pki, corp, version) -> None:
    seen, line = Seen(), f"s_client {version}\n".encode()
    with ServerThread(glasstls_line_server(_server_config(pki, corp, seen, version))) as server:
        flag = "-tls1_3" if version == "TLSv1.3" else "-tls1_2"
        client = run_s_client(
            [
                flag,
                "-connect",
                f"127.0.0.1:{server.port}",
                "-servername",
                "localhost",
                "-CAfile",
                str(pki.root_file),
                "-verify_return_error",
                "-cert",
                str(corp / "device.pem"),
                "-key",
                str(corp / "device.key"),
                "-ign_eof",
            ],
            line,
        )
        result = server.result()
    assert client.returncode == 0, client.stdout + client.stderr
    assert reverse_line(line).decode() in client.stdout
    _check_accepted(result, seen, line, version)


def test_openssl_s_client_with_a_server_only_certificate_is_refused(pki, corp) -> None:
    seen = Seen()
    with ServerThread(glasstls_line_server(_server_config(pki, corp, seen))) as server:
        client = run_s_client(
            [
                "-tls1_3",
                "-connect",
                f"127.0.0.1:{server.port}",
                "-servername",
                "localhost",
                "-CAfile",
                str(pki.root_file),
                "-cert",
                str(corp / "web.pem"),
                "-key",
                str(corp / "web.key"),
                "-ign_eof",
            ],
            b"hello\n",
        )
        with pytest.raises(AlertError) as err:
            server.result()
    assert err.value.description == AlertDescription.unsupported_certificate
    assert "its extended key usage allows serverAuth, not clientAuth" in err.value.reason
    assert "alert unsupported certificate" in client.stdout + client.stderr
    assert seen.identities == []  # the hook only sees verified chains


# -- curl against glasstls server --verify-client required ------------------------------------------------


@pytest.mark.skipif(CURL is None, reason="curl is not installed (make peers installs it)")
def test_curl_without_san_to_glasstls_server(pki, corp) -> None:
    files = pki.files["ecdsa-p256"]
    args = [
        "--www",
        "--max-connections",
        "1",
        "--cert",
        str(files.full_chain),
        "--key",
        str(files.key),
        "--client-ca",
        str(corp / "corp-root.pem"),
        "--verify-client",
        "required",
    ]
    with GlasstlsCLIServer(*args) as server:
        curl = subprocess.run(
            [
                CURL or "curl",
                "-sS",
                "--max-time",
                str(WAIT),
                "--cacert",
                str(pki.root_file),
                "--resolve",
                f"localhost:{server.port}:127.0.0.1",
                f"https://localhost:{server.port}/",
                "--cert",
                str(corp / "device.pem"),
                "--key",
                str(corp / "device.key"),
            ],
            capture_output=True,
            text=True,
            timeout=WAIT + 5,
            check=False,
        )
        said = f"curl said:\n{curl.stderr}\nglasstls server said:\n{server.output}"
        assert curl.returncode == 0, said
    assert f"Client certificate: {SUBJECT}" in curl.stdout, said
    assert "Protocol version:  TLSv1.3" in curl.stdout, said


# -- gnutls-cli ------------------------------------------------------------------------------------------


@pytest.mark.skipif(GNUTLS_CLI is None, reason="gnutls-cli is not installed (Debian gnutls-bin; make peers)")
def test_gnutls_cli_without_san_is_accepted(pki, corp) -> None:
    seen, line = Seen(), b"gnutls-cli without a subjectAltName\n"
    with ServerThread(glasstls_line_server(_server_config(pki, corp, seen))) as server:
        command = [
            GNUTLS_CLI or "gnutls-cli",
            "--x509cafile",
            str(pki.root_file),
            "-p",
            str(server.port),
            "--x509certfile",
            str(corp / "device.pem"),
            "--x509keyfile",
            str(corp / "device.key"),
            "localhost",
        ]
        with PeerProcess(command, name="gnutls-cli") as client:
            client.write(line.decode())  # stdin stays open: gnutls-cli leaves when glasstls closes
            output = client.wait_exit()
        result = server.result()
    assert reverse_line(line).decode() in output + "\n", output
    _check_accepted(result, seen, line, "TLSv1.3")


# -- Node.js 24 ------------------------------------------------------------------------------------------

NODE_CLIENT = r"""
'use strict';
const tls = require('tls');
const fs = require('fs');
const cfg = JSON.parse(process.argv[2]);
setTimeout(() => { console.error('node client: timed out'); process.exit(3); }, cfg.timeout * 1000).unref();
const socket = tls.connect({
  host: '127.0.0.1', port: cfg.port, servername: 'localhost', ca: fs.readFileSync(cfg.ca),
  cert: fs.readFileSync(cfg.cert), key: fs.readFileSync(cfg.key),
}, () => {
  socket.write(cfg.line);
  let answer = '';
  socket.on('data', (chunk) => {
    answer += chunk.toString();
    if (answer.includes('\n')) {
      console.log(JSON.stringify({ protocol: socket.getProtocol(), authorized: socket.authorized, answer }));
      socket.end();
    }
  });
});
socket.on('error', (error) => {
  console.error(`node client: ${error.code || ''} ${error.message}`);
  process.exitCode = 1;
});
"""


@pytest.mark.skipif(not NODE.exists(), reason=f"Node.js 24 is not installed at {NODE} (make peers installs it)")
def test_node_without_san_is_accepted(pki, corp, tmp_path) -> None:
    script = tmp_path / "client.js"
    script.write_text(NODE_CLIENT)
    seen, line = Seen(), "node without a subjectAltName\n"
    with ServerThread(glasstls_line_server(_server_config(pki, corp, seen))) as server:
        cfg = {
            "port": server.port,
            "ca": str(pki.root_file),
            "cert": str(corp / "device.pem"),
            "key": str(corp / "device.key"),
            "line": line,
            "timeout": WAIT,
        }
        node = subprocess.run(
            [str(NODE), str(script), json.dumps(cfg)], capture_output=True, text=True, timeout=WAIT + 5, check=False
        )
        result = server.result()
    assert node.returncode == 0, node.stderr
    report = json.loads(node.stdout.strip().splitlines()[-1])
    assert report == {"protocol": "TLSv1.3", "authorized": True, "answer": reverse_line(line.encode()).decode()}
    _check_accepted(result, seen, line.encode(), "TLSv1.3")


# -- Python's ssl ----------------------------------------------------------------------------------------


def _python_client(pki: Any, corp: Path, port: int, cert: str, line: bytes) -> bytes:
    context = ssl.create_default_context(cafile=str(pki.root_file))
    context.load_cert_chain(corp / f"{cert}.pem", corp / f"{cert}.key")
    with (
        socket.create_connection(("127.0.0.1", port), timeout=WAIT) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(line)
        return tls.recv(1024)


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_python_ssl_without_san_is_accepted(pki, corp, version) -> None:
    seen, line = Seen(), f"python ssl {version}\n".encode()
    with ServerThread(glasstls_line_server(_server_config(pki, corp, seen, version))) as server:
        answer = _python_client(pki, corp, server.port, "device", line)
        result = server.result()
    assert answer == reverse_line(line)
    _check_accepted(result, seen, line, version)


def test_python_ssl_refused_by_the_identity_check_gets_access_denied(pki, corp, tmp_path) -> None:
    """A valid certificate the application does not know: access_denied (RFC 8446, Section 6.2)."""
    _issue(corp, "stranger", "/CN=device-7/O=Corp", CLIENT_EXTENSIONS + "extendedKeyUsage=clientAuth\n")
    seen = Seen()
    with ServerThread(glasstls_line_server(_server_config(pki, corp, seen, "TLSv1.2"))) as server:
        with pytest.raises(ssl.SSLError) as refused:
            _python_client(pki, corp, server.port, "stranger", b"let me in\n")
        with pytest.raises(AlertError) as err:
            server.result()
    assert "ACCESS_DENIED" in str(refused.value)
    assert err.value.description == AlertDescription.access_denied
    assert err.value.reason == (
        "client certificate O=Corp,CN=device-7 refused by ServerConfig.client_identity_check: "
        "device-7 is not a known device"
    )
    assert [i.common_name for i in seen.identities] == ["device-7"]


def test_a_version_1_certificate_is_refused_with_a_reason_that_says_so(pki, corp) -> None:
    """OpenSSL 3.0's ``x509 -req`` without ``-extfile`` makes an X.509 v1 certificate, which
    ``cryptography``'s verifier does not take: the reason says how to make a v3 one."""
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", corp / "v1.key", "-out", corp / "v1.csr", "-subj", "/CN=old-device/O=Corp")  # fmt: skip
    _openssl("x509", "-req", "-in", corp / "v1.csr", "-CA", corp / "corp-root.pem", "-CAkey", corp / "corp-root.key",
             "-set_serial", "0x4444", "-days", "5", "-out", corp / "v1.pem")  # fmt: skip
    if x509.load_pem_x509_certificate((corp / "v1.pem").read_bytes()).version != x509.Version.v1:
        pytest.skip("this OpenSSL makes v3 certificates from x509 -req by default")
    seen = Seen()
    with ServerThread(glasstls_line_server(_server_config(pki, corp, seen))) as server:
        client = run_s_client(
            ["-tls1_3", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost", "-CAfile",
             str(pki.root_file), "-cert", str(corp / "v1.pem"), "-key", str(corp / "v1.key"), "-ign_eof"],
            b"hello\n",
        )  # fmt: skip
        with pytest.raises(AlertError) as err:
            server.result()
    assert err.value.description == AlertDescription.bad_certificate
    assert "is an X.509 version 1 certificate" in err.value.reason and "-extfile" in err.value.reason
    assert "alert bad certificate" in client.stdout + client.stderr
