"""Fixtures of the interop tests: one throwaway PKI per session, written where the OpenSSL CLI can read it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from compat_servers import CompatServers, write_server_files
from interop_peers import CERT_TYPES, OPENSSL, WAIT, ServerFiles

from glasstls import CertifiedKey
from glasstls.x509.mint import Identity, ThrowawayCA
from glasstls.x509.store import TrustStore


@dataclass(frozen=True)
class InteropPKI:
    ca: ThrowawayCA
    root_pem: bytes
    root_file: Path
    identities: dict[str, Identity]  # by key type: "ecdsa-p256", "rsa2048", "ed25519"
    files: dict[str, ServerFiles]

    def trust_store(self) -> TrustStore:
        return TrustStore.from_pem(self.root_pem)

    def certified_key(self, cert_type: str) -> CertifiedKey:
        identity = self.identities[cert_type]
        return CertifiedKey(identity.chain, identity.private_key)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> InteropPKI:
    """A root, an intermediate and one server certificate per key type, for localhost and 127.0.0.1.

    Minted once per session: RSA key generation is the slow part.
    """
    directory = tmp_path_factory.mktemp("interop-pki")
    ca = ThrowawayCA.create()
    root_file = directory / "root.pem"
    root_file.write_bytes(ca.root_pem())
    identities: dict[str, Identity] = {}
    files: dict[str, ServerFiles] = {}
    for cert_type in CERT_TYPES:
        identity = ca.issue_server(["localhost", "127.0.0.1"], key_type=cert_type)  # type: ignore[arg-type]
        identities[cert_type] = identity
        files[cert_type] = write_server_files(identity, directory, cert_type)
    return InteropPKI(ca, ca.root_pem(), root_file, identities, files)


@pytest.fixture(scope="session")
def ffdhe2048(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RFC 7919 ffdhe2048 group as a DH parameters file, for ``s_server -dhparam`` and ``load_dh_params``.

    OpenSSL 3.0 servers use their own default parameters (RFC 3526 group 14, which glasstls
    also accepts) unless given a file; the tests that want ffdhe2048 on the wire give this
    one. Generated once per session.
    """
    path = tmp_path_factory.mktemp("dhparam") / "ffdhe2048.pem"
    subprocess.run(
        [OPENSSL, "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048", "-out", str(path)],
        check=True,
        capture_output=True,
        timeout=WAIT,
    )
    return path


@pytest.fixture(scope="session")
def untrusted_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root CA no server of these tests chains to: a client trusting only it must refuse them all."""
    path = tmp_path_factory.mktemp("untrusted") / "root.pem"
    path.write_bytes(ThrowawayCA.create("compat untrusted root", with_intermediate=False).root_pem())
    return path


@pytest.fixture(scope="session")
def compat_servers(pki: InteropPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CompatServers]:
    """The HTTPS servers of the glasstls.compat library tests, started on first use (compat_servers.py)."""
    servers = CompatServers(pki, tmp_path_factory.mktemp("compat-servers"))
    try:
        yield servers
    finally:
        servers.close()
