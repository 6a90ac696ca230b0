"""Client certificates with Node.js 24 (OpenSSL 3.5 inside), both directions, TLS 1.3 and 1.2, each
over two connections, the second resuming the first's session.

* Node as the client (``tls.connect`` with ``key``/``cert``, then ``{session}``) to a glasstls server
  that requires a certificate (``client_auth="required"``): glasstls's parameters name the client on
  both connections, the resumed one too (the session keeps the client's chain).
* glasstls as the client (``ClientConfig.certificate``, then ``session=``) to a Node server with
  ``requestCert`` and ``rejectUnauthorized``: Node's ``getPeerCertificate()`` names glasstls's
  certificate on both connections and ``authorized`` is true.

The Node script is test_resumption13_peers.py's (NODE_PEER), told the version and the certificates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import InteropPKI
from interop_peers import PeerProcess, reverse_line
from test_resumption13_peers import (
    NODE,
    _node_settings,
    glasstls_client_twice,
    glasstls_echo,
    needs_node,
    node_client_of,
)
from test_resumption13_peers import node_script as node_script
from test_resumption_openssl import SequentialServer

from glasstls import CertifiedKey, ClientConfig, ProtocolVersion, ServerConfig, TrustStore

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60), needs_node]

VERSIONS = {"TLSv1.3": ProtocolVersion.TLSv1_3, "TLSv1.2": ProtocolVersion.TLSv1_2}


@pytest.fixture(scope="module")
def client_files(pki: InteropPKI, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Any]:
    identity = pki.ca.issue_client("node-interop-client")
    directory = tmp_path_factory.mktemp("client-cert")
    identity.write(directory / "client.pem", directory / "client.key")
    return directory / "client.pem", directory / "client.key", identity


@pytest.mark.parametrize("version", VERSIONS)
def test_node_client_certificate_at_a_glasstls_server_and_on_resumption(
    pki: InteropPKI, node_script: Path, tmp_path: Path, client_files: tuple[Path, Path, Any], version: str
) -> None:
    cert, key, _ = client_files
    v = VERSIONS[version]
    config = ServerConfig(
        certificates=(pki.certified_key("ecdsa-p256"),),
        tls_min=v,
        tls_max=v,
        client_auth="required",
        client_trust_store=TrustStore.from_pem(pki.root_pem),
    )
    out = tmp_path / "node-client.json"
    with SequentialServer(2, glasstls_echo(config)) as server:
        reports, results = node_client_of(
            server, node_script, out, ca=str(pki.root_file), version=version, client_cert=str(cert), client_key=str(key)
        )
    # Node's view: both connections, the second one resumed.
    assert [(r["protocol"], r["authorized"]) for r in reports] == [(version, True)] * 2, reports
    assert [r["reused"] for r in reports] == [False, True], reports
    # glasstls's view: the client's certificate on both, the resumed one from the session.
    assert [(p.version, p.resumed) for p, _, _ in results] == [(version, False), (version, True)], results
    for params, _, _ in results:
        assert params.client_auth and params.peer_certificate_subject == "CN=node-interop-client", params


class NodeClientAuthServer(PeerProcess):
    """The Node server (NODE_PEER) requiring a client certificate from ``pki``'s CA, for two connections."""

    name = "node server"

    def __init__(self, script: Path, out: Path, pki: InteropPKI, version: str) -> None:
        files = pki.files["ecdsa-p256"]
        settings = _node_settings(
            out, role="server", key=str(files.key), cert=str(files.full_chain), version=version,
            client_ca=str(pki.root_file),
        )  # fmt: skip
        super().__init__([str(NODE), str(script), settings])

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^LISTENING \d+$").split()[1])


@pytest.mark.parametrize("version", VERSIONS)
def test_glasstls_client_certificate_at_a_node_server_and_on_resumption(
    pki: InteropPKI, node_script: Path, tmp_path: Path, client_files: tuple[Path, Path, Any], version: str
) -> None:
    _, _, identity = client_files
    v = VERSIONS[version]
    config = ClientConfig(
        trust_store=pki.trust_store(),
        certificate=CertifiedKey(identity.chain, identity.private_key),
        tls_min=v,
        tls_max=v,
    )
    out = tmp_path / "node-server.json"
    with NodeClientAuthServer(node_script, out, pki, version) as server:
        params, _, answers = glasstls_client_twice(
            server.port, config, lambda: server.output, tls13_tickets=version == "TLSv1.3"
        )
        output = server.wait_exit()
        returncode = server.returncode
    assert returncode == 0 and out.exists(), f"node server failed ({returncode}):\n{output}"
    reports = json.loads(out.read_text())
    # Node's view: glasstls's certificate, verified, on both connections; the second one resumed.
    assert [(r["protocol"], r["reused"]) for r in reports] == [(version, False), (version, True)], reports
    assert [(r["client"], r["authorized"]) for r in reports] == [("node-interop-client", True)] * 2, reports
    # glasstls's view
    assert [(p.version, p.resumed) for p in params] == [(version, False), (version, True)], params
    assert answers == [reverse_line(f"glasstls connection {i}\n".encode()) for i in (0, 1)]
