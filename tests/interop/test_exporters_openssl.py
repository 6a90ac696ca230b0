"""Exporters against OpenSSL: ``-keymatexport LABEL -keymatexportlen N`` prints the keying
material OpenSSL exports for the connection (no context: RFC 5705, Section 4; RFC 8446,
Section 7.5), and glasstls, on the other end, must export the same bytes, in both
versions and both roles."""

from __future__ import annotations

import re

import pytest
from interop_peers import OPENSSL, PeerProcess, ServerThread, _cert_chain_option, read_line, reverse_line, run_s_client

import glasstls
from glasstls import ClientConfig, ProtocolVersion, ServerConfig

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

LABEL = "EXPORTER-glasstls-interop"
VERSIONS = {"TLSv1.3": ("-tls1_3", ProtocolVersion.TLSv1_3), "TLSv1.2": ("-tls1_2", ProtocolVersion.TLSv1_2)}


def _openssl_export(output: str) -> bytes:
    match = re.search(r"Keying material: ([0-9A-Fa-f]+)", output)
    assert match, f"no keying material in OpenSSL's output:\n{output[-2000:]}"
    return bytes.fromhex(match.group(1))


@pytest.mark.parametrize("version", VERSIONS)
def test_glasstls_server_exports_what_s_client_exports(pki, version: str) -> None:  # type: ignore[no-untyped-def]
    flag, v = VERSIONS[version]
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), tls_max=v)
    exported: dict[str, bytes] = {}

    def handle(sock):  # type: ignore[no-untyped-def]
        tls = glasstls.accept(sock, config)
        line = read_line(tls.recv)
        exported["glasstls"] = tls.export_keying_material(LABEL, None, 48)
        tls.sendall(reverse_line(line))
        tls.close()

    with ServerThread(handle) as server:
        args = [flag, "-connect", f"127.0.0.1:{server.port}", "-CAfile", str(pki.root_file)]
        res = run_s_client([*args, "-keymatexport", LABEL, "-keymatexportlen", "48", "-ign_eof"], b"hello\n")
        server.result()
    assert f"Protocol  : {version}" in res.stdout or f"{version}," in res.stdout, res.stdout[-2000:]
    assert _openssl_export(res.stdout) == exported["glasstls"]


class ExportingServer(PeerProcess):
    """``openssl s_server`` in its plain mode, which prints the connection's keying material
    once the handshake is done (``-rev`` and ``-www`` do not)."""

    name = "s_server"

    def __init__(self, pki, flag: str) -> None:  # type: ignore[no-untyped-def]
        files = pki.files["ecdsa-p256"]
        super().__init__(
            [
                OPENSSL, "s_server", flag, "-accept", "127.0.0.1:0", "-naccept", "1",
                "-cert", str(files.leaf), *_cert_chain_option(files), "-key", str(files.key),
                "-keymatexport", LABEL, "-keymatexportlen", "20",
            ]
        )  # fmt: skip

    def _started(self) -> None:
        self.port = int(self.wait_for(r"^ACCEPT ").rsplit(":", 1)[1])


@pytest.mark.parametrize("version", VERSIONS)
def test_glasstls_client_exports_what_s_server_exports(pki, version: str) -> None:  # type: ignore[no-untyped-def]
    flag, v = VERSIONS[version]
    with ExportingServer(pki, flag) as peer:
        config = ClientConfig(trust_store=pki.trust_store(), tls_max=v)
        with glasstls.connect("127.0.0.1", peer.port, config, server_name="localhost") as tls:
            assert tls.parameters is not None and tls.parameters.version == version
            mine = tls.export_keying_material(LABEL, None, 20)
            line = peer.wait_for(r"Keying material: ")
    assert _openssl_export(line) == mine
