"""Client certificates (mutual TLS), the mechanism in both versions and both
roles: in memory between glasstls peers, and against OpenSSL."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from glasstls import (
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    HandshakeComplete,
    ProtocolVersion,
    ServerConfig,
    ServerConnection,
)
from glasstls.crypto.signatures import SHA1_SIGNATURE_SCHEMES
from glasstls.enums import AlertDescription
from glasstls.enums import ExtensionType as E
from glasstls.enums import SignatureScheme as S
from glasstls.errors import PeerAlertError
from glasstls.observe import EventList, MessageTrace
from glasstls.wire.handshake import CertificateRequest, CertificateVerify
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore
from pairs import make_pair, once

VERSIONS = {"1.3": ProtocolVersion.TLSv1_3, "1.2": ProtocolVersion.TLSv1_2}


@pytest.fixture(scope="module")
def pki():
    server_ca, client_ca, stranger_ca = (
        ThrowawayCA.create(),
        ThrowawayCA.create("client root"),
        ThrowawayCA.create("stranger root"),
    )
    server = server_ca.issue_server(["localhost", "127.0.0.1"])
    return {
        "server_ca": server_ca,
        "client_ca": client_ca,
        "server": CertifiedKey(server.chain, server.private_key),
        "server_identity": server,
        "client_identity": client_ca.issue_client("alice"),
        "client": _ck(client_ca.issue_client("alice")),
        "stranger": _ck(stranger_ca.issue_client("mallory")),
    }


def _ck(identity) -> CertifiedKey:
    return CertifiedKey(identity.chain, identity.private_key)


def _pair(pki, version, mode, client_cert):
    v = VERSIONS[version]
    sc = ServerConfig(
        certificates=(pki["server"],),
        tls_max=v,
        client_auth=mode,
        client_trust_store=TrustStore.from_pem(pki["client_ca"].root_pem()),
    )
    cc = ClientConfig(
        trust_store=TrustStore.from_pem(pki["server_ca"].root_pem()), certificate=client_cert, tls_min=v, tls_max=v
    )
    return ClientConnection(cc, server_name="localhost"), ServerConnection(sc)


def _run(c, s):
    ce, se = [], []
    for _ in range(8):
        a = c.data_to_send()
        if a:
            se += s.receive_bytes(a)
        b = s.data_to_send()
        if b:
            ce += c.receive_bytes(b)
        if not a and not b:
            break
    return ce, se


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_required_and_presented(pki, version) -> None:
    c, s = _pair(pki, version, "required", pki["client"])
    ce, se = _run(c, s)
    assert any(isinstance(e, HandshakeComplete) for e in se), se
    params = s.parameters
    assert params.client_auth is True
    assert params.peer_certificate_subject == "CN=alice"
    assert c.parameters.client_auth is True
    assert c.parameters.version == f"TLSv{version}"


def _many_roots(count: int) -> bytes:
    """``count`` self-signed roots with long names (some 200 bytes each), one key for all (quick to make)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pems = []
    for i in range(count):
        name = x509.Name(
            [
                x509.NameAttribute(x509.NameOID.COMMON_NAME, f"client CA number {i:04d} " + "x" * 40),
                x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "an organization of many CAs " + "o" * 30),
                x509.NameAttribute(x509.NameOID.ORGANIZATIONAL_UNIT_NAME, "a unit of many CAs " + "u" * 40),
            ]
        )
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(i + 1).not_valid_before(datetime(2020, 1, 1)).not_valid_after(datetime(2040, 1, 1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        pems.append(cert.public_bytes(serialization.Encoding.PEM))
    return b"".join(pems)


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_a_client_ca_list_too_large_for_a_certificate_request_is_left_out(pki, version) -> None:
    """400 client CAs of some 200 bytes of name each do not fit a CertificateRequest's 2^16 - 1
    bytes: the request names none (optional in TLS 1.3, RFC 8446, Section 4.2.4; "any" in TLS 1.2,
    RFC 5246, Section 7.4.4), the trace says so, and client auth still works. Every client-auth
    handshake failed with internal_error (found by a helper's review; OpenSSL fails so too)."""
    store = TrustStore.from_pem(pki["client_ca"].root_pem() + _many_roots(400))
    c, _ = _pair(pki, version, "required", pki["client"])
    config = ServerConfig(
        certificates=(pki["server"],), tls_max=VERSIONS[version], client_auth="required", client_trust_store=store
    )
    log = EventList()
    s = ServerConnection(config, observer=log)
    ce, se = _run(c, s)
    assert any(isinstance(e, HandshakeComplete) for e in se), (s.error, c.error)
    assert s.parameters.peer_certificate_subject == "CN=alice"
    messages = [e.message for e in log.events if isinstance(e, MessageTrace)]
    request = next(m for m in messages if type(m).__name__ in ("CertificateRequest", "CertificateRequest12"))
    names = request.ext(E.certificate_authorities) if version == "1.3" else request.authorities
    assert not names
    assert any("more than a CertificateRequest holds" in getattr(e, "detail", "") for e in log.events)


@pytest.mark.parametrize(
    ("version", "alert"), [("1.3", AlertDescription.certificate_required), ("1.2", AlertDescription.handshake_failure)]
)
def test_required_but_missing(pki, version, alert) -> None:
    c, s = _pair(pki, version, "required", None)
    ce, se = _run(c, s)
    err = se[-1].error
    assert err.description == alert
    assert "requires one" in err.reason
    assert isinstance(ce[-1].error, PeerAlertError) and ce[-1].error.description == alert


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_optional_and_missing(pki, version) -> None:
    c, s = _pair(pki, version, "optional", None)
    _run(c, s)
    assert s.parameters is not None and s.parameters.client_auth is False


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_untrusted_client_certificate(pki, version) -> None:
    c, s = _pair(pki, version, "required", pki["stranger"])
    ce, se = _run(c, s)
    err = se[-1].error
    assert isinstance(se[-1], ConnectionClosed)
    assert err.description == AlertDescription.unknown_ca
    assert "ServerConfig.client_trust_store" in err.reason
    assert err.facts.problem == "untrusted_issuer" and err.facts.chain == "client"
    assert err.facts.field == "ServerConfig.client_trust_store"
    assert ce[-1].error.description == AlertDescription.unknown_ca


# -- against OpenSSL ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(pki, tmp_path_factory):
    d = tmp_path_factory.mktemp("mtls")
    pki["server_identity"].write(d / "server.pem", d / "server.key")
    pki["client_identity"].write(d / "client.pem", d / "client.key")
    (d / "server-ca.pem").write_bytes(pki["server_ca"].root_pem())
    (d / "client-ca.pem").write_bytes(pki["client_ca"].root_pem())
    return d


@pytest.mark.interop
@pytest.mark.parametrize("extra_cas", [0, 400], ids=["one-ca", "400-more-cas"])
@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_openssl_client_certificate_to_glasstls_server(pki, files, version, extra_cas) -> None:
    # With 400 more client CAs their names do not fit the CertificateRequest: none are listed
    # (s_client says so), and s_client's certificate is still sent and checked against the store.
    import glasstls

    sc = ServerConfig(
        certificates=(pki["server"],),
        client_auth="required",
        client_trust_store=TrustStore.from_pem(pki["client_ca"].root_pem() + _many_roots(extra_cas)),
    )
    result: dict = {}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(15)
        port = listener.getsockname()[1]

        def serve() -> None:
            sock, _ = listener.accept()
            sock.settimeout(15)
            with glasstls.accept(sock, sc) as tls:
                result["params"] = tls.parameters
                tls.sendall(tls.recv())

        thread = threading.Thread(target=serve)
        thread.start()
        proc = subprocess.run(
            [
                "openssl",
                "s_client",
                f"-tls{version.replace('.', '_')}",
                "-connect",
                f"127.0.0.1:{port}",
                "-servername",
                "localhost",
                "-CAfile",
                str(files / "server-ca.pem"),
                "-cert",
                str(files / "client.pem"),
                "-cert_chain",
                str(files / "client.pem"),
                "-key",
                str(files / "client.key"),
                "-ign_eof",
            ],
            input=b"mutual\n",
            capture_output=True,
            timeout=20,
        )
        thread.join(20)
    out = proc.stdout.decode()
    assert "mutual" in out, proc.stderr.decode()
    assert result["params"].client_auth and result["params"].peer_certificate_subject == "CN=alice"
    assert result["params"].version == f"TLSv{version}"
    assert ("No client certificate CA names sent" in out) == bool(extra_cas), out


@pytest.mark.interop
@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_glasstls_client_certificate_to_openssl_server(files, version) -> None:
    server = subprocess.Popen(
        [
            "openssl",
            "s_server",
            f"-tls{version.replace('.', '_')}",
            "-accept",
            "127.0.0.1:0",
            "-naccept",
            "1",
            "-cert",
            str(files / "server.pem"),
            "-cert_chain",
            str(files / "server.pem"),
            "-key",
            str(files / "server.key"),
            "-Verify",
            "2",
            "-CAfile",
            str(files / "client-ca.pem"),
            "-verify_return_error",
            "-rev",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = None
        for _ in range(50):
            line = server.stdout.readline()
            match = re.search(r"ACCEPT .*:(\d+)", line)
            if match:
                port = int(match.group(1))
                break
        assert port, "s_server did not start"
        client = subprocess.run(
            [
                sys.executable,
                "-m",
                "glasstls",
                "client",
                f"127.0.0.1:{port}",
                "--cacert",
                str(files / "server-ca.pem"),
                "--servername",
                "localhost",
                "--cert",
                str(files / "client.pem"),
                "--key",
                str(files / "client.key"),
                "--json",
                "--linger",
                "0.5",
            ],
            input=b"abc\n",
            capture_output=True,
            timeout=20,
        )
    finally:
        server.kill()
        rest = server.communicate(timeout=10)[0]
    assert client.returncode == 0, client.stderr.decode()
    assert client.stdout == b"cba\n"
    assert "CN = alice" in rest or "CN=alice" in rest


@pytest.mark.interop
@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_curl_client_certificate_to_glasstls_www(files, version) -> None:
    """curl --cert/--key against `glasstls server --www --client-ca … --verify-client required`."""
    import shutil

    if shutil.which("curl") is None:
        pytest.skip("curl is installed by make test")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "glasstls",
            "server",
            "--listen",
            "127.0.0.1:0",
            "--www",
            "--max-connections",
            "2",
            "--cert",
            str(files / "server.pem"),
            "--key",
            str(files / "server.key"),
            "--client-ca",
            str(files / "client-ca.pem"),
            "--verify-client",
            "required",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        port = int(re.search(r":(\d+)$", server.stderr.readline().strip()).group(1))
        base = [
            "curl",
            "-sS",
            f"--tlsv{version}",
            "--tls-max",
            version,
            "--cacert",
            str(files / "server-ca.pem"),
            "--resolve",
            f"localhost:{port}:127.0.0.1",
            f"https://localhost:{port}/",
        ]
        with_cert = subprocess.run(
            [*base, "--cert", str(files / "client.pem"), "--key", str(files / "client.key")],
            capture_output=True,
            timeout=20,
        )
        without = subprocess.run(base, capture_output=True, timeout=20)
        # The server served its two connections and exits by itself: its log is complete.
        _, err = server.communicate(timeout=20)
    finally:
        server.kill()
    assert with_cert.returncode == 0, with_cert.stderr.decode()
    assert f"Protocol version:  TLSv{version}" in with_cert.stdout.decode()
    assert "Client certificate: CN=alice" in with_cert.stdout.decode()
    assert without.returncode != 0
    assert "requires one" in err


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_picks_the_chain_the_server_asks_for(pki, version) -> None:
    """Of several client chains, the one under the server's certificate_authorities is sent."""
    v = VERSIONS[version]
    sc = ServerConfig(
        certificates=(pki["server"],),
        tls_max=v,
        client_auth="required",
        client_trust_store=TrustStore.from_pem(pki["client_ca"].root_pem()),
    )
    cc = ClientConfig(
        trust_store=TrustStore.from_pem(pki["server_ca"].root_pem()),
        tls_min=v,
        tls_max=v,
        certificate=pki["stranger"],
        certificates=(pki["client"],),
    )
    c, s = ClientConnection(cc, server_name="localhost"), ServerConnection(sc)
    _run(c, s)
    assert s.parameters is not None, "handshake failed"
    assert s.parameters.peer_certificate_subject == "CN=alice"


def test_tls13_certificate_request_names_pkcs1_for_certificates_only() -> None:
    """RFC 8446, Section 4.2.3: with no signature_algorithms_cert, a CertificateRequest's
    signature_algorithms also names the signatures client certificates may carry. A chain
    signed with PKCS #1 v1.5 (sha256WithRSAEncryption) is accepted, so the list names
    rsa_pkcs1_sha256/384/512 (never SHA-1), while a CertificateVerify signed under one is
    still refused (Section 4.4.3)."""
    ca = ThrowawayCA.create("rsa client root", key_type="rsa2048", with_intermediate=False)
    bob = ca.issue_client("bob", key_type="rsa2048")
    assert bob.chain[0].signature_algorithm_oid == x509.SignatureAlgorithmOID.RSA_WITH_SHA256

    def pair(alter=None, log=None):
        return make_pair(
            client_alter=alter,
            server_observer=log,
            client_kw={"certificate": CertifiedKey(bob.chain, bob.private_key), "tls_min": VERSIONS["1.3"]},
            server_kw={"client_auth": "required", "client_trust_store": TrustStore.from_pem(ca.root_pem())},
        )

    log = EventList()
    accepted = pair(log=log)
    accepted.handshake()
    assert accepted.server.parameters is not None and accepted.server.parameters.peer_certificate_subject == "CN=bob"
    messages = [e.message for e in log.events if isinstance(e, MessageTrace)]
    (request,) = [m for m in messages if isinstance(m, CertificateRequest)]
    schemes = set(request.ext(E.signature_algorithms).value)
    assert {S.rsa_pkcs1_sha256, S.rsa_pkcs1_sha384, S.rsa_pkcs1_sha512} <= schemes
    assert {S.rsa_pss_rsae_sha256, S.ecdsa_secp256r1_sha256} <= schemes
    assert not schemes & SHA1_SIGNATURE_SCHEMES

    def pkcs1(msg):
        signature = bob.private_key.sign(b"any", padding.PKCS1v15(), hashes.SHA256())
        return replace(msg, algorithm=S.rsa_pkcs1_sha256, signature=signature).encode()

    refused = pair(alter=once(CertificateVerify, pkcs1))
    refused.handshake()
    server_events = [e for side, events in refused.log if side == "server" for e in events]
    (closed,) = [e for e in server_events if isinstance(e, ConnectionClosed)]
    assert closed.error.description == AlertDescription.illegal_parameter
    assert "rsa_pkcs1_sha256, which TLS 1.3 allows in certificates only" in closed.error.reason


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_a_client_certificate_that_cannot_answer_is_said_so(pki, version) -> None:
    """--cert given, but its key signs with no scheme the server's CertificateRequest accepts: an
    empty Certificate goes (RFC 8446, Section 4.4.2.3), the trace says why, and the diagnosis does
    not tell the user to pass the --cert they passed."""
    from glasstls import EventList
    from glasstls.trace.diagnose import diagnose

    ed_client = _ck(pki["client_ca"].issue_client("ed", key_type="ed25519"))
    v = VERSIONS[version]
    schemes = (S.ecdsa_secp256r1_sha256, S.rsa_pss_rsae_sha256)  # no ed25519
    sc = ServerConfig(
        certificates=(pki["server"],), tls_max=v, client_auth="required", signature_schemes=schemes,
        client_trust_store=TrustStore.from_pem(pki["client_ca"].root_pem()),
    )  # fmt: skip
    log = EventList()
    cc = ClientConfig(trust_store=TrustStore.from_pem(pki["server_ca"].root_pem()), certificate=ed_client, tls_max=v)
    c, s = ClientConnection(cc, server_name="localhost", observer=log), ServerConnection(sc)
    _run(c, s)
    assert c.error is not None and s.error is not None
    text = diagnose(c.error, log.events, side="client")
    assert "none of this client's 1 certificate(s) can sign with a scheme the server accepts" in text, text
    assert "pass --cert FILE" not in text, text
