"""A real `openssl s_server` sends a chain whose intermediate's (non-critical) nameConstraints permit
corp.example only, for www.bank.com, with an unrelated Ed25519 certificate sent along. The extra
certificate used to route the chain to glasstls's own RFC 5280 path, which ignored non-critical
nameConstraints, and the client took it. OpenSSL's own verifier is the reference: it refuses the
same chain (error 47, permitted subtree violation), and so must glasstls, through its CLI too.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from interop_peers import OPENSSL, WAIT, OpenSSLServer, ServerFiles

import glasstls
from glasstls.enums import AlertDescription
from glasstls.errors import AlertError
from glasstls.x509.mint import Issuer, build_certificate, ca_extensions, generate_key, subject_name
from glasstls.x509.store import TrustStore

pytestmark = pytest.mark.interop
PEM = serialization.Encoding.PEM
NON_CRITICAL_NC = x509.NameConstraints(permitted_subtrees=[x509.DNSName("corp.example")], excluded_subtrees=None)


def _cert(name: str, key: Any, issuer: Issuer | None, extensions: list[tuple[x509.ExtensionType, bool]]) -> Issuer:
    start = datetime.now(UTC) - timedelta(hours=1)
    signer = issuer.key if issuer is not None else key
    cert = build_certificate(
        subject_name(name), key.public_key(), issuer, signer, start, start + timedelta(days=2), extensions
    )
    return Issuer(cert, key)


def _files(tmp_path: Path, name: str) -> tuple[ServerFiles, Path]:
    root = _cert("Root", generate_key("ecdsa-p256"), None, ca_extensions(None))
    inter = _cert(
        "Constrained Inter", generate_key("ecdsa-p256"), root, [*ca_extensions(None), (NON_CRITICAL_NC, False)]
    )
    san = x509.SubjectAlternativeName([x509.DNSName(name)])
    leaf_key = generate_key("ecdsa-p256")
    leaf = _cert(name, leaf_key, inter, [(x509.BasicConstraints(ca=False, path_length=None), True), (san, False)])
    stray = _cert("stray", generate_key("ed25519"), None, ca_extensions(None))
    files = ServerFiles(tmp_path / "leaf.pem", tmp_path / "chain.pem", tmp_path / "full.pem", tmp_path / "key.pem")
    files.leaf.write_bytes(leaf.certificate.public_bytes(PEM))
    files.intermediates.write_bytes(inter.certificate.public_bytes(PEM) + stray.certificate.public_bytes(PEM))
    files.full_chain.write_bytes(files.leaf.read_bytes() + files.intermediates.read_bytes())
    pkcs8 = serialization.PrivateFormat.PKCS8
    files.key.write_bytes(leaf_key.private_bytes(PEM, pkcs8, serialization.NoEncryption()))
    (tmp_path / "root.pem").write_bytes(root.certificate.public_bytes(PEM))
    return files, tmp_path / "root.pem"


def test_a_chain_outside_its_name_constraints_from_openssl_is_refused(tmp_path: Path) -> None:
    files, root = _files(tmp_path, "www.bank.com")
    verdict = subprocess.run(
        [OPENSSL, "verify", "-CAfile", str(root), "-untrusted", str(files.intermediates), str(files.leaf)],
        capture_output=True, text=True, timeout=WAIT,
    )  # fmt: skip
    assert verdict.returncode != 0 and "permitted subtree violation" in verdict.stdout + verdict.stderr
    config = glasstls.ClientConfig(trust_store=TrustStore.from_file(root))
    with OpenSSLServer(files, tmp_path / "s_server.trace") as server, pytest.raises(AlertError) as info:
        glasstls.connect("127.0.0.1", server.port, config, server_name="www.bank.com", timeout=WAIT)
    assert info.value.description == AlertDescription.bad_certificate
    assert (
        "www.bank.com of CN=www.bank.com is outside the name constraints of CN=Constrained Inter" in info.value.reason
    )
    with OpenSSLServer(files, tmp_path / "s_server2.trace") as server:
        done = subprocess.run(
            [sys.executable, "-m", "glasstls", "client", f"127.0.0.1:{server.port}", "--servername", "www.bank.com",
             "--cacert", str(root)],
            input=b"", capture_output=True, timeout=WAIT,
        )  # fmt: skip
    assert done.returncode == 1 and b"outside the name constraints" in done.stderr, done.stderr
    assert b"Traceback" not in done.stderr
