"""TLS 1.2 interop with the OpenSSL command line (``s_server -tls1_2`` / ``s_client -tls1_2``), both directions.

Every suite of ``TLS12_SUITES`` is run both ways (see ``tls12_cases``): ECDHE-ECDSA
and ECDHE-RSA with AES-GCM and ChaCha20-Poly1305 (the defaults), DHE-RSA (RFC 7919
ffdhe2048: s_server is given it with ``-dhparam``), RSA key transport, and the CBC
suites, which glasstls runs only with encrypt-then-MAC (RFC 7366; OpenSSL offers
and accepts it by default). Each case is a handshake on 127.0.0.1 plus a data
round trip; both sides must report the same suite, TLS 1.2, and the extended
master secret (RFC 7627), and encrypt-then-MAC exactly for the CBC suites.

What OpenSSL 3.0 prints and these tests read:

* ``s_server -rev``: ``Protocol version: TLSv1.2`` and ``Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256``
  (OpenSSL's suite name).
* ``s_client``: ``New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256``. The version
  there is the suite's minimum version, not the connection's: a SHA-1 CBC suite prints
  ``New, TLSv1.0, ...`` and ``AES128-SHA`` even ``New, SSLv3, ...``. The connection's
  version is read from the session block (``Protocol  : TLSv1.2``), next to
  ``Extended master secret: yes``; also ``Server Temp Key: X25519, 253 bits`` (or
  ``DH, 2048 bits``) and ``Peer signature type: ECDSA`` (neither for RSA key transport).
* ``-trace -msgfile`` (both tools): OpenSSL's decoding of the ServerHello (the suite by
  its IANA name, ``extension_type=extended_master_secret(23)``,
  ``extension_type=encrypt_then_mac(22)``) and of the ServerKeyExchange (the named
  curve, or the DH prime, and the signature algorithm), alerts and close_notify.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from interop_peers import (
    OPENSSL_TLS12_NAMES,
    SCHEME_FOR_CERT,
    TLS12_GROUP,
    WAIT,
    OpenSSLServer,
    ServerFiles,
    ServerThread,
    glasstls_line_server,
    glasstls_line_through,
    read_line,
    reverse_line,
    run_s_client,
    tls12_case_id,
    tls12_cases,
    trace_close_notify_received,
    trace_fatal_alerts,
    trace_server_hellos,
    trace_server_key_exchange,
    traced_server_hello,
)

import glasstls
from glasstls import CipherSuite, ClientConfig, NamedGroup, ProtocolVersion, ServerConfig
from glasstls.crypto import kx
from glasstls.crypto.suites import TLS12_SUITES
from glasstls.enums import ExtensionType
from glasstls.observe import EventList, MessageTrace
from glasstls.wire.handshake import ClientHello
from glasstls.x509.store import TrustStore

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CASES = tls12_cases()
IDS = [tls12_case_id(c) for c in CASES]

FFDHE2048_P = kx.ffdhe_parameters(NamedGroup.ffdhe2048)[0]
# s_client's "Server Temp Key" for each key exchange (RSA key transport has none).
TEMP_KEY = {"ECDHE": "X25519, 253 bits", "DHE": "DH, 2048 bits"}
PEER_SIGNATURE_TYPE = {"ecdsa-p256": "ECDSA", "rsa2048": "RSA-PSS", "ed25519": "ed25519"}


def _expected(suite: str, cert_type: str) -> tuple[str, str | None, str | None]:
    """(key exchange, group, signature scheme) both sides must report for this case."""
    kx_name = TLS12_SUITES[CipherSuite[suite]].kx
    scheme = None if kx_name == "RSA" else SCHEME_FOR_CERT[cert_type]
    return kx_name, TLS12_GROUP[kx_name], scheme


def _check_glasstls_view(params, events: EventList, suite: str, cert_type: str) -> None:
    _, group, scheme = _expected(suite, cert_type)
    assert params is not None
    assert (params.version, params.cipher_suite, params.group) == ("TLSv1.2", suite, group)
    assert params.signature_scheme == scheme
    assert params.extended_master_secret is True
    # RFC 7366, Section 3: encrypt_then_mac is agreed for CBC suites and never echoed for AEAD ones.
    etm = traced_server_hello(events).ext(ExtensionType.encrypt_then_mac) is not None
    assert etm == (not TLS12_SUITES[CipherSuite[suite]].aead)


def _check_openssl_trace(trace: str, suite: str, cert_type: str) -> None:
    """OpenSSL's decoding of the ServerHello and ServerKeyExchange, and a clean close."""
    kx_name, group, scheme = _expected(suite, cert_type)
    hellos = trace_server_hellos(trace)
    assert len(hellos) == 1, trace
    assert hellos[0].cipher_suite == suite
    assert "extended_master_secret" in hellos[0].extensions
    assert ("encrypt_then_mac" in hellos[0].extensions) == (not TLS12_SUITES[CipherSuite[suite]].aead)
    ske = trace_server_key_exchange(trace)
    if kx_name == "RSA":
        assert ske is None  # RFC 5246, Section 7.4.3: no ServerKeyExchange for RSA key transport
    else:
        assert ske is not None and ske.algorithm == kx_name and ske.signature_scheme == scheme
        if kx_name == "ECDHE":
            assert ske.group == NamedGroup[group]
        else:
            assert ske.dh_p == FFDHE2048_P  # RFC 7919, Appendix A.1
    assert trace_fatal_alerts(trace) == []
    assert trace_close_notify_received(trace)  # glasstls closed cleanly


# -- glasstls client → openssl s_server -tls1_2 ------------------------------------------------


@pytest.mark.parametrize(("suite", "cert_type"), CASES, ids=IDS)
def test_glasstls_client_to_openssl_s_server_tls12(pki, ffdhe2048, tmp_path, suite, cert_type):
    events = EventList()
    config = ClientConfig(
        trust_store=pki.trust_store(), tls_max=ProtocolVersion.TLSv1_2, cipher_suites=(CipherSuite[suite],)
    )
    server_args = ["-cipher", OPENSSL_TLS12_NAMES[suite]]
    if TLS12_SUITES[CipherSuite[suite]].kx == "DHE":
        server_args += ["-dhparam", str(ffdhe2048)]
    line = f"glasstls to s_server {suite}\n".encode()
    trace_path = tmp_path / "s_server.trace"
    with OpenSSLServer(pki.files[cert_type], trace_path, *server_args, protocol="-tls1_2") as server:
        params, answer = glasstls_line_through(server, config, line, observer=events)
        output = server.wait_exit()
        trace = server.trace

    _check_glasstls_view(params, events, suite, cert_type)
    assert params.peer_certificate_subject == "CN=localhost"
    assert answer == reverse_line(line)  # through OpenSSL (-rev) and back
    assert "Protocol version: TLSv1.2" in output, output
    assert f"Ciphersuite: {OPENSSL_TLS12_NAMES[suite]}" in output, output
    assert "CONNECTION CLOSED" in output, output
    _check_openssl_trace(trace, suite, cert_type)


def test_glasstls_default_client_to_tls12_only_s_server(pki, tmp_path):
    """The default client offers TLS 1.3 and 1.2; a TLS 1.2-only OpenSSL server gets a TLS 1.2 handshake.

    s_server is capped at 1.2 (it is not a 1.3 server forced down), so its random carries no
    downgrade sentinel (RFC 8446, Section 4.1.3) and glasstls must not see one.
    """
    config = ClientConfig(trust_store=pki.trust_store())
    with OpenSSLServer(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", protocol="-tls1_2") as server:
        with glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT) as tls:
            params = tls.parameters
            tls.sendall(b"default client\n")
            assert read_line(tls.recv) == b"tneilc tluafed\n"
        output = server.wait_exit()
    assert params.version == "TLSv1.2" and params.cipher_suite == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    assert params.extended_master_secret is True
    assert "Protocol version: TLSv1.2" in output, output


def test_a_glasstls_client_given_tls12_suites_alone_offers_tls12_alone_to_a_default_s_server(pki, tmp_path):
    """A client configured with TLS 1.2 suites alone (tls_max left at TLS 1.3) offers TLS 1.2 alone:
    a TLS 1.3 ClientHello without a TLS 1.3 suite fails at every server ("no shared cipher"). The
    default s_server then answers TLS 1.2 with the downgrade sentinel of RFC 8446, Section 4.1.3,
    which a client that did not offer TLS 1.3 leaves alone."""
    events = EventList()
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    config = ClientConfig(trust_store=pki.trust_store(), cipher_suites=(suite,))
    with OpenSSLServer(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", protocol="-no_tls1") as server:
        params, answer = glasstls_line_through(server, config, b"tls12 suites\n", observer=events)
        output = server.wait_exit()
    assert answer == b"setius 21slt\n"
    assert (params.version, params.cipher_suite) == ("TLSv1.2", suite.name)
    hello = next(e.message for e in events.events if isinstance(e, MessageTrace) and isinstance(e.message, ClientHello))
    assert hello.ext(ExtensionType.supported_versions) is None and hello.ext(ExtensionType.key_share) is None
    assert "Protocol version: TLSv1.2" in output, output


def test_a_glasstls_server_given_tls12_suites_alone_serves_a_default_s_client_tls12(pki, tmp_path):
    """A server configured with TLS 1.2 suites alone answers a TLS 1.3 client with TLS 1.2, without the
    downgrade sentinel (RFC 8446, Section 4.1.3: it is no TLS 1.3 server), which OpenSSL's client
    would refuse; it was handshake_failure ("no common cipher suite") before."""
    events = EventList()
    suite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),), cipher_suites=(suite,))
    with ServerThread(glasstls_line_server(config, events)) as server:
        client = run_s_client(
            [
                "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost", "-CAfile", str(pki.root_file),
                "-verify_return_error", "-ign_eof",
            ],
            stdin=b"default s_client\n",
        )  # fmt: skip
        params, received = server.result()
    assert received == b"default s_client\n" and client.returncode == 0, client.stdout + client.stderr
    assert (params.version, params.cipher_suite) == ("TLSv1.2", suite.name)
    assert re.search(r"^\s*Protocol\s*: TLSv1\.2$", client.stdout, re.MULTILINE), client.stdout
    assert traced_server_hello(events).random[-8:] not in (b"DOWNGRD\x01", b"DOWNGRD\x00")


@pytest.mark.parametrize("curve", ["P-384", "P-521"])
def test_glasstls_default_client_to_a_tls12_s_server_on_p384_and_p521(tmp_path, curve):
    """RFC 8422, Section 5.1: in TLS 1.2 the curve of the server's ECDSA certificate must be in the
    client's supported_groups. The default client offers ecdsa_secp521r1_sha512, so it names
    secp521r1 too (as OpenSSL and Go do): s_server refused it before ("no shared cipher").
    (glasstls's CA mints no P-521 key; openssl does.)"""
    ca, ca_key, key, csr, cert = (tmp_path / name for name in ("ca.pem", "ca.key", "ec.key", "ec.csr", "ec.pem"))
    openssl = ["openssl", "req", "-nodes", "-subj"]
    ec = ["-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{curve}"]
    for command in (
        [
            *openssl, "/CN=P-5xx test root", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ],
        [*openssl, "/CN=localhost", *ec, "-keyout", key, "-out", csr],
        [
            "openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-out", cert, "-days", "2",
            "-extfile", "/dev/stdin",
        ],
    ):  # fmt: skip
        extensions = b"subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        subprocess.run([str(c) for c in command], input=extensions, check=True, capture_output=True, timeout=WAIT)
    empty = tmp_path / "none.pem"
    empty.write_bytes(b"")
    files = ServerFiles(cert, empty, cert, key)
    config = ClientConfig(trust_store=TrustStore.from_pem(ca.read_bytes()))
    with OpenSSLServer(files, tmp_path / "s_server.trace", protocol="-tls1_2") as server:
        params, answer = glasstls_line_through(server, config, b"curve\n")
        output = server.wait_exit()
    assert answer == b"evruc\n"
    assert (params.version, params.cipher_suite) == ("TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256")
    assert "Protocol version: TLSv1.2" in output, output


# -- openssl s_client -tls1_2 → glasstls server -------------------------------------------------


@pytest.mark.parametrize(("suite", "cert_type"), CASES, ids=IDS)
def test_openssl_s_client_to_glasstls_server_tls12(pki, tmp_path, suite, cert_type):
    kx_name = TLS12_SUITES[CipherSuite[suite]].kx
    events = EventList()
    config = ServerConfig(certificates=(pki.certified_key(cert_type),), cipher_suites=(CipherSuite[suite],))
    line = f"s_client to glasstls {suite}\n".encode()
    trace_path = tmp_path / "s_client.trace"
    with ServerThread(glasstls_line_server(config, events)) as server:
        client = run_s_client(
            [
                "-tls1_2", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                "-CAfile", str(pki.root_file), "-verify_return_error", "-verify_hostname", "localhost",
                "-cipher", OPENSSL_TLS12_NAMES[suite],
                "-ign_eof",  # after sending its input, read until glasstls closes the connection
                "-trace", "-msgfile", str(trace_path),
            ],
            stdin=line,
        )  # fmt: skip
        try:
            params, received = server.result()
        except Exception as exc:
            said = client.stdout + client.stderr
            raise AssertionError(f"glasstls server failed: {exc!r}; s_client said:\n{said}") from exc
    out = client.stdout

    _check_glasstls_view(params, events, suite, cert_type)
    assert received == line
    assert client.returncode == 0, client.stdout + client.stderr
    assert re.search(r"^New, \S+, Cipher is (\S+)$", out, re.MULTILINE).group(1) == OPENSSL_TLS12_NAMES[suite], out
    assert re.search(r"^\s*Protocol\s*: TLSv1\.2$", out, re.MULTILINE), out
    assert re.search(r"^\s*Extended master secret: yes$", out, re.MULTILINE), out
    if kx_name == "RSA":
        assert "Server Temp Key" not in out and "Peer signature type" not in out, out
    else:
        assert f"Server Temp Key: {TEMP_KEY[kx_name]}" in out, out
        assert f"Peer signature type: {PEER_SIGNATURE_TYPE[cert_type]}" in out, out
    assert "Verification: OK" in out and "Verify return code: 0 (ok)" in out, out
    assert reverse_line(line).decode() in out, out  # the answer, printed by s_client as it arrived
    _check_openssl_trace(trace_path.read_text(errors="replace"), suite, cert_type)


def _pss_certificate(tmp_path) -> tuple[glasstls.CertifiedKey, Path]:
    """A self-signed id-RSASSA-PSS certificate for localhost, and its file (cryptography cannot make one)."""
    key, cert = tmp_path / "pss.key", tmp_path / "pss.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-days", "2",
        ],
        check=True, capture_output=True, timeout=WAIT,
    )  # fmt: skip
    return glasstls.CertifiedKey.from_pem(cert.read_bytes(), key.read_bytes()), cert


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_s_client_to_a_glasstls_server_with_an_rsassa_pss_certificate(tmp_path, version):
    """An id-RSASSA-PSS certificate signs with rsa_pss_pss_* only, in TLS 1.2's ServerKeyExchange as in
    TLS 1.3's CertificateVerify (RFC 8446, Section 4.2.3): OpenSSL refuses an rsa_pss_rsae_* one from it
    ("wrong signature type")."""
    certified, cert = _pss_certificate(tmp_path)
    config = ServerConfig(certificates=(certified,))
    with ServerThread(glasstls_line_server(config)) as server:
        client = run_s_client(
            [
                f"-tls{version.replace('.', '_')}", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                "-CAfile", str(cert), "-verify_return_error", "-ign_eof",
            ],
            stdin=b"pss\n",
        )  # fmt: skip
        params, received = server.result()
    assert client.returncode == 0 and received == b"pss\n", client.stdout + client.stderr
    assert "Peer signature type: RSA-PSS" in client.stdout, client.stdout
    assert (params.version, params.signature_scheme) == (f"TLSv{version}", "rsa_pss_pss_sha256")


RSA_KX = CipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256
ECDHE_RSA = CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256


def test_an_rsassa_pss_certificate_is_never_served_with_tls12_rsa_key_exchange(tmp_path):
    """An id-RSASSA-PSS key may only sign (RFC 4055, Section 1.2): not take an RSA key exchange's premaster
    secret. A server that prefers TLS_RSA_* serves such a certificate with ECDHE_RSA instead (Chromium
    answered decode_error to the RSA key exchange it had been given); offered nothing else, it refuses and says
    why, as s_server does ("no shared cipher")."""
    certified, _ = _pss_certificate(tmp_path)
    config = ServerConfig(certificates=(certified,), cipher_suites=(RSA_KX, ECDHE_RSA))
    args = ["-tls1_2", "-servername", "localhost", "-ign_eof"]
    with ServerThread(glasstls_line_server(config)) as server:
        client = run_s_client(
            [*args, "-connect", f"127.0.0.1:{server.port}", "-cipher", "AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"],
            stdin=b"pss\n",
        )
        params, received = server.result()
    assert client.returncode == 0 and received == b"pss\n", client.stdout + client.stderr
    assert (params.cipher_suite, params.signature_scheme) == (ECDHE_RSA.name, "rsa_pss_pss_sha256")
    with ServerThread(glasstls_line_server(config)) as server:
        client = run_s_client([*args, "-connect", f"127.0.0.1:{server.port}", "-cipher", "AES128-GCM-SHA256"], b"x\n")
        with pytest.raises(glasstls.TLSError) as refused:
            server.result()
    assert "alert handshake failure" in client.stdout + client.stderr, client.stdout + client.stderr
    assert "id-RSASSA-PSS, which may only sign (RFC 4055, Section 1.2)" in str(refused.value), refused.value


@pytest.mark.parametrize(
    ("chains", "groups", "expected"),
    [
        (("rsa2048", "ecdsa-p384"), "P-256", "ECDHE-RSA"),  # the P-384 chain is not on a curve the client names
        (("ecdsa-p256",), "P-256", "ECDHE-ECDSA"),
        (("ecdsa-p256",), "X25519:P-384", None),  # no chain fits: handshake_failure, as s_server answers
    ],
    ids=["rsa-chain-chosen", "p256-fits", "nothing-fits"],
)
def test_tls12_ecdsa_chain_only_on_a_curve_the_client_names(pki, chains, groups, expected):
    """RFC 8422, Sections 5.1 and 5.3: a TLS 1.2 client's supported_groups bounds the curve of the
    server's ECDSA certificate too; OpenSSL aborts with "wrong curve" (illegal_parameter) otherwise."""

    def certified(cert_type: str) -> glasstls.CertifiedKey:
        if cert_type in pki.files:
            return pki.certified_key(cert_type)
        identity = pki.ca.issue_server(["localhost"], key_type=cert_type)
        return glasstls.CertifiedKey(identity.chain, identity.private_key)

    config = ServerConfig(certificates=tuple(certified(c) for c in chains))
    with ServerThread(glasstls_line_server(config)) as server:
        client = run_s_client(
            [
                "-tls1_2", "-groups", groups, "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                "-CAfile", str(pki.root_file), "-verify_return_error", "-ign_eof",
            ],
            stdin=b"curve\n",
        )  # fmt: skip
        try:
            params, received = server.result()
        except Exception as exc:
            params, received = None, exc
    if expected is None:
        assert client.returncode != 0 and "alert handshake failure" in client.stderr, client.stdout + client.stderr
        assert "no common cipher suite" in str(received)
        return
    assert client.returncode == 0 and received == b"curve\n", client.stdout + client.stderr
    assert re.search(rf"^New, \S+, Cipher is {expected}-", client.stdout, re.M), client.stdout
    assert params.cipher_suite.startswith(f"TLS_{expected.replace('-', '_')}_WITH")


def test_an_unrecognized_name_warning_before_the_server_hello_is_gone_past(pki, tmp_path):
    """``s_server -servername NAME -cert2 …`` warns unrecognized_name (level warning, RFC 6066,
    Section 3) before its ServerHello when the client's SNI is another name, and serves its first
    certificate: glasstls goes on, as OpenSSL's, GnuTLS's and Python's clients do."""
    files = pki.files["ecdsa-p256"]
    other = ("-servername", "other.example", "-cert2", str(files.leaf), "-key2", str(files.key))
    config = ClientConfig(trust_store=pki.trust_store(), tls_max=ProtocolVersion.TLSv1_2)
    events = EventList()
    with OpenSSLServer(files, tmp_path / "s_server.trace", *other, protocol="-tls1_2") as server:
        with glasstls.connect(
            "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, observer=events
        ) as tls:
            tls.sendall(b"warned\n")
            assert read_line(tls.recv) == b"denraw\n"
        server.wait_exit()
    warnings = [e for e in events.events if getattr(e, "kind", "") == "alert" and e.direction == "in"]
    assert [(int(w.level), int(w.description)) for w in warnings][:1] == [(1, 112)]  # the warning did come


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_s_client_asking_for_a_max_fragment_length_is_served_without_one(pki, version):
    """RFC 6066, Section 4: glasstls reads max_fragment_length (a value it does not define is
    illegal_parameter, tests/conformance) and, as a server may, negotiates none: OpenSSL's request
    for 512-byte records is served with full-size ones, which OpenSSL takes."""
    events = EventList()
    config = ServerConfig(certificates=(pki.certified_key("ecdsa-p256"),))
    line = b"x" * 3000 + b"\n"  # more than one 512-byte fragment
    with ServerThread(glasstls_line_server(config, events)) as server:
        client = run_s_client(
            [
                "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost", "-CAfile", str(pki.root_file),
                "-verify_return_error", "-ign_eof", "-maxfraglen", "512", version,
            ],
            stdin=line,
        )  # fmt: skip
        params, received = server.result()
    assert received == line and client.returncode == 0, client.stdout + client.stderr
    assert "x" * 3000 in client.stdout  # the answer, in a record larger than the 512 bytes asked for
    assert params.version == ("TLSv1.2" if version == "-tls1_2" else "TLSv1.3")
    if version == "-tls1_2":
        assert traced_server_hello(events).ext(ExtensionType.max_fragment_length) is None
