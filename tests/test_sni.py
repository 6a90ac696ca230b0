"""SNI: the server picks its certificate chain by the client's server_name
(RFC 6066, Section 3), wildcards included; an unknown name gets the default
chain or unrecognized_name, by configuration."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ProtocolVersion, ServerConfig, ServerConnection
from glasstls.enums import AlertDescription, CipherSuite, ExtensionType
from glasstls.observe import EventList, MessageTrace, VerificationTrace
from glasstls.wire.handshake import EncryptedExtensions, ServerHello
from glasstls.x509.mint import ThrowawayCA
from glasstls.x509.store import TrustStore

VERSIONS = [ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2]


@pytest.fixture(scope="module")
def ca() -> ThrowawayCA:
    return ThrowawayCA.create()


@pytest.fixture(scope="module")
def chains(ca):
    idents = {
        "default": ca.issue_server(["default.test"]),
        "wild": ca.issue_server(["*.example.test"]),
        "exact": ca.issue_server(["www.other.test"], key_type="rsa2048"),
    }
    return idents


def _ck(ident) -> CertifiedKey:
    return CertifiedKey(ident.chain, ident.private_key)


def _run(ca, chains, name, version, **server_kw):
    sc = ServerConfig(
        certificates=tuple(_ck(chains[k]) for k in ("default", "wild", "exact")), tls_max=version, **server_kw
    )
    cc = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()))
    log = EventList()
    c, s = ClientConnection(cc, server_name=name), ServerConnection(sc, observer=log)
    ce, se = _pump(c, s)
    return c, s, ce, se, log


def _pump(c: ClientConnection, s: ServerConnection) -> tuple[list, list]:
    """Bytes both ways until both are quiet: (the client's events, the server's)."""
    ce: list = []
    se: list = []
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


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("api.example.test", "CN=*.example.test"),
        ("www.other.test", "CN=www.other.test"),
        ("default.test", "CN=default.test"),
    ],
)
def test_chain_chosen_by_server_name(ca, chains, version, name, subject) -> None:
    c, s, _, _, log = _run(ca, chains, name, version)
    assert c.parameters is not None, "handshake failed"
    assert c.parameters.peer_certificate_subject == subject
    assert s.parameters.server_name == name
    choice = [e for e in log.events if isinstance(e, VerificationTrace) and e.subject.startswith("certificate ")]
    assert choice and choice[0].detail == f"chosen for server name {name}"


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_name_gets_the_default_chain(ca, chains, version) -> None:
    c, s, ce, _, log = _run(ca, chains, "nowhere.test", version)
    # The client refuses it (the default chain does not name nowhere.test), but the server served it.
    assert ce[-1].error.description == AlertDescription.bad_certificate
    choice = [e for e in log.events if isinstance(e, VerificationTrace) and e.subject.startswith("certificate ")]
    assert choice[0].subject == "certificate CN=default.test"
    assert "default certificate" in choice[0].detail


def _acknowledged(log: EventList) -> bool:
    """Whether the server answered the client's server_name with an empty one (ServerHello in
    TLS 1.2, EncryptedExtensions in TLS 1.3)."""
    sent = [e.message for e in log.events if isinstance(e, MessageTrace) and e.direction == "out"]
    hello = [m for m in sent if isinstance(m, (ServerHello, EncryptedExtensions))][-1]
    return hello.ext(ExtensionType.server_name) is not None


def test_the_name_is_acknowledged_only_when_it_chose_the_chain_in_tls12(ca, chains) -> None:
    # RFC 6066, Section 3: the empty server_name says the server used the name; the default chain
    # served for a name it does not carry is no use of it (OpenSSL does not acknowledge it either).
    v12 = ProtocolVersion.TLSv1_2
    assert _acknowledged(_run(ca, chains, "api.example.test", v12)[4])
    assert not _acknowledged(_run(ca, chains, "nowhere.test", v12)[4])
    # A server_name_callback chose by the name: acknowledged, whatever the chain's names.
    default = (_ck(chains["default"]),)
    assert _acknowledged(_run(ca, chains, "nowhere.test", v12, server_name_callback=lambda name: default)[4])


def test_tls13_acknowledges_every_name() -> None:
    # In EncryptedExtensions the empty server_name answers any name, as NSS's in RFC 8448's traces
    # (tests/test_rfc8448.py replays them byte for byte).
    ca = ThrowawayCA.create()
    chains = {"default": ca.issue_server(["default.test"]), "wild": ca.issue_server(["*.example.test"]),
              "exact": ca.issue_server(["www.other.test"])}  # fmt: skip
    assert _acknowledged(_run(ca, chains, "nowhere.test", ProtocolVersion.TLSv1_3)[4])


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_name_refused_when_configured(ca, chains, version) -> None:
    c, s, ce, se, _ = _run(ca, chains, "nowhere.test", version, refuse_unknown_server_names=True)
    assert se[-1].error.description == AlertDescription.unrecognized_name
    assert "no certificate for server name 'nowhere.test'" in se[-1].error.reason
    assert ce[-1].error.description == AlertDescription.unrecognized_name


@pytest.mark.parametrize("version", VERSIONS)
def test_a_server_whose_callback_holds_every_chain(ca, chains, version) -> None:
    """No certificates of its own: the server_name_callback gives each name its chain (virtual
    hosting from a table); a name it gives none for is refused at that handshake, not at start-up."""
    table = {"www.other.test": (_ck(chains["exact"]),)}
    sc = ServerConfig(server_name_callback=table.get, tls_max=version)
    assert sc.certificates == ()
    cc = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()))
    for name, served in (("www.other.test", True), ("nowhere.test", False)):
        c, s = ClientConnection(cc, server_name=name), ServerConnection(sc)
        _pump(c, s)
        if served:
            assert c.handshake_complete and c.parameters.peer_certificate_subject == "CN=www.other.test"
            continue
        assert s.error is not None and s.error.description == AlertDescription.handshake_failure
        assert "no certificate to present: its server_name_callback chose none" in s.error.reason
        assert c.error is not None and c.error.description == AlertDescription.handshake_failure


@pytest.mark.parametrize("version", VERSIONS)
def test_the_callback_is_asked_once_a_handshake_and_may_give_a_whole_config(ca, chains, version) -> None:
    """Asked once per ClientHello, resumptions too (as OpenSSL's servername callback), not once per
    suite tried (the client here lists RSA suites first, for an ECDSA chain); a ServerConfig it gives
    serves the handshake: its chain and its ALPN protocols (Go's GetConfigForClient)."""
    first = ServerConfig(certificates=(_ck(chains["default"]),), alpn=("http/1.1",), tls_max=version)
    switched = ServerConfig(certificates=(_ck(chains["wild"]),), alpn=("h2",), tls_max=version)
    asked: list[str | None] = []
    sc = dataclasses.replace(first, server_name_callback=lambda name: asked.append(name) or switched)
    rsa_first = (
        CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, CipherSuite.TLS_AES_128_GCM_SHA256,
    )  # fmt: skip
    cc = ClientConfig(trust_store=TrustStore.from_pem(ca.root_pem()), alpn=("http/1.1", "h2"), cipher_suites=rsa_first)
    session = None
    for handshake in (1, 2):
        c = ClientConnection(cc, server_name="www.example.test", session=session)
        s = ServerConnection(sc)
        _pump(c, s)
        assert c.handshake_complete and c.parameters.alpn == "h2", c.error
        assert c.parameters.resumed is (handshake == 2)
        assert asked == ["www.example.test"] * handshake
        session = c.session
    assert c.parameters.peer_certificate_subject == "CN=*.example.test"


@pytest.mark.interop
@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_openssl_sees_the_chain_for_its_servername(ca, chains, tmp_path: Path, version) -> None:
    args = []
    for key in ("default", "wild", "exact"):
        chains[key].write(tmp_path / f"{key}.pem", tmp_path / f"{key}.key")
        args += ["--cert", str(tmp_path / f"{key}.pem"), "--key", str(tmp_path / f"{key}.key")]
    (tmp_path / "ca.pem").write_bytes(ca.root_pem())
    server = subprocess.Popen(
        [sys.executable, "-m", "glasstls", "server", "--listen", "127.0.0.1:0", "--max-connections", "2", *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        port = int(re.search(r":(\d+)$", server.stderr.readline().strip()).group(1))
        seen = {}
        for name in ("shop.example.test", "www.other.test"):
            out = subprocess.run(
                [
                    "openssl",
                    "s_client",
                    f"-tls{version.replace('.', '_')}",
                    "-connect",
                    f"127.0.0.1:{port}",
                    "-servername",
                    name,
                    "-CAfile",
                    str(tmp_path / "ca.pem"),
                    "-verify_return_error",
                    "-verify_hostname",
                    name,
                ],
                input=b"",
                capture_output=True,
                timeout=20,
            ).stdout.decode()
            seen[name] = out
    finally:
        server.kill()
        server.wait(10)
    assert re.search(r"subject=CN ?= ?\*\.example\.test", seen["shop.example.test"])
    assert re.search(r"subject=CN ?= ?www\.other\.test", seen["www.other.test"])
    for out in seen.values():
        assert "Verify return code: 0 (ok)" in out
