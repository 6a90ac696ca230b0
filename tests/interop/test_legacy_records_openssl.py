"""Legacy record protection against the OpenSSL command line, both directions.

* MAC-then-encrypt CBC (RFC 5246, Section 6.2.3.2): ``s_server``/``s_client -tls1_2
  -no_etm -cipher <CBC suite>``, one suite per HMAC hash (SHA-1, SHA-256, SHA-384) and
  RSA key transport. OpenSSL's trace must show a ServerHello without
  encrypt_then_mac, glasstls must have installed MAC-then-encrypt protection, and a
  3000-byte line goes through and comes back reversed (many blocks, so every record
  is several CBC blocks with padding behind the MAC).
* AES-CCM in TLS 1.3 (``-ciphersuites TLS_AES_128_CCM_SHA256`` and
  ``TLS_AES_128_CCM_8_SHA256``; OpenSSL 3.0 does not enable them by default but takes
  them by name) and in TLS 1.2 (``-cipher ECDHE-ECDSA-AES128-CCM`` etc.; OpenSSL 3.0
  needs no ``@SECLEVEL`` change for them, CCM8 included). The full TLS 1.2 CCM matrix
  also runs in test_interop_openssl12.py; here one suite of each kind with a long line.
"""

from __future__ import annotations

import re

import pytest
from interop_peers import (
    OPENSSL_TLS12_NAMES,
    WAIT,
    OpenSSLServer,
    ServerThread,
    glasstls_line_server,
    read_line,
    reverse_line,
    run_s_client,
    trace_fatal_alerts,
    trace_server_hellos,
    traced_server_hello,
)

import glasstls
from glasstls import CipherSuite, ClientConfig, ProtocolVersion, ServerConfig
from glasstls.crypto.suites import TLS12_SUITES
from glasstls.enums import ExtensionType
from glasstls.observe import EventList, MessageTrace
from glasstls.record.protection12 import CCMProtection12, MteCBCProtection12

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

MTE_CASES = [
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ecdsa-p256"),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "rsa2048"),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ecdsa-p256"),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", "rsa2048"),
]
CCM12_CASES = [
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "ecdsa-p256"),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", "ecdsa-p256"),
    ("TLS_DHE_RSA_WITH_AES_128_CCM_8", "rsa2048"),
    ("TLS_RSA_WITH_AES_256_CCM", "rsa2048"),
]
CCM13 = ["TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"]


def long_line(what: str) -> bytes:
    return (what + " " + "0123456789abcdef" * 186 + "\n").encode()  # about 3000 bytes


def _protection_kinds(tls: glasstls.TLSSocket) -> set[str]:
    """The classes of the read and write protections installed in a blocking glasstls connection."""
    records = tls.conn._records
    return {type(records.read).__name__, type(records.write).__name__}


def _server_args(suite: str, ffdhe2048: object) -> list[str]:
    args = ["-cipher", OPENSSL_TLS12_NAMES[suite]]
    if TLS12_SUITES[CipherSuite[suite]].kx == "DHE":
        args += ["-dhparam", str(ffdhe2048)]
    return args


def _glasstls_client(
    pki, tmp_path, cert_type: str, suite: str, server_args: list[str], protocol: str, also: tuple[str, ...] = ()
):
    """glasstls client to s_server, offering ``suite`` then the suites ``also`` names: (parameters,
    protection kinds, events, answer, line, s_server output, trace)."""
    tls_max = ProtocolVersion.TLSv1_3 if protocol == "-tls1_3" else ProtocolVersion.TLSv1_2
    suites = tuple(CipherSuite[name] for name in (suite, *also))
    config = ClientConfig(trust_store=pki.trust_store(), tls_max=tls_max, cipher_suites=suites)
    events = EventList()
    line = long_line(f"glasstls to s_server {suite}")
    with OpenSSLServer(pki.files[cert_type], tmp_path / "s_server.trace", *server_args, protocol=protocol) as server:
        try:
            with glasstls.connect(
                "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, observer=events
            ) as tls:
                params, kinds = tls.parameters, _protection_kinds(tls)
                tls.sendall(line)
                answer = read_line(tls.recv)
        except Exception as exc:
            raise AssertionError(f"glasstls client failed: {exc!r}; s_server said:\n{server.output}") from exc
        output = server.wait_exit()
        return params, kinds, events, answer, line, output, server.trace


def _s_client(pki, tmp_path, cert_type: str, suite: str, client_args: list[str]):
    """s_client to a glasstls server: (parameters, events, line received, s_client result, trace)."""
    config = ServerConfig(certificates=(pki.certified_key(cert_type),), cipher_suites=(CipherSuite[suite],))
    events = EventList()
    line = long_line(f"s_client to glasstls {suite}")
    trace_path = tmp_path / "s_client.trace"
    with ServerThread(glasstls_line_server(config, events)) as server:
        client = run_s_client(
            [
                "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                "-CAfile", str(pki.root_file), "-verify_return_error", "-verify_hostname", "localhost",
                *client_args, "-ign_eof", "-trace", "-msgfile", str(trace_path),
            ],
            stdin=line,
        )  # fmt: skip
        try:
            params, received = server.result()
        except Exception as exc:
            raise AssertionError(f"glasstls server failed: {exc!r}; s_client said:\n{client.stdout}") from exc
    return params, events, received, line, client, trace_path.read_text(errors="replace")


def _no_etm_in(trace: str, suite: str) -> None:
    hellos = trace_server_hellos(trace)
    assert len(hellos) == 1 and hellos[0].cipher_suite == suite, trace
    assert "encrypt_then_mac" not in hellos[0].extensions
    assert trace_fatal_alerts(trace) == []


# -- MAC-then-encrypt CBC ---------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "cert_type"), MTE_CASES, ids=[c[0] for c in MTE_CASES])
def test_glasstls_client_to_s_server_no_etm(pki, ffdhe2048, tmp_path, suite, cert_type):
    args = [*_server_args(suite, ffdhe2048), "-no_etm"]
    params, kinds, events, answer, line, output, trace = _glasstls_client(
        pki, tmp_path, cert_type, suite, args, "-tls1_2"
    )
    assert (params.version, params.cipher_suite) == ("TLSv1.2", suite)
    assert traced_server_hello(events).ext(ExtensionType.encrypt_then_mac) is None
    assert kinds == {MteCBCProtection12.__name__}
    assert answer == reverse_line(line)
    assert f"Ciphersuite: {OPENSSL_TLS12_NAMES[suite]}" in output, output
    _no_etm_in(trace, suite)


def test_glasstls_client_offering_etm_gets_an_aead_suite_from_s_server_without_it(pki, tmp_path):
    """A client that names a CBC suite offers encrypt_then_mac; s_server, choosing the AEAD suite the
    client prefers, does not answer it (RFC 7366, Section 3), so glasstls's client, which refuses that
    answer with an AEAD suite, completes the handshake and the data goes both ways."""
    gcm, cbc = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
    params, _, events, answer, line, _, _ = _glasstls_client(pki, tmp_path, "ecdsa-p256", gcm, [], "-tls1_2", (cbc,))
    hello = next(e.message for e in events.events if isinstance(e, MessageTrace) and e.message.name == "ClientHello")
    assert hello.ext(ExtensionType.encrypt_then_mac) is not None  # offered, for the CBC suite
    assert (params.version, params.cipher_suite) == ("TLSv1.2", gcm)
    assert traced_server_hello(events).ext(ExtensionType.encrypt_then_mac) is None
    assert answer == reverse_line(line)


@pytest.mark.parametrize(("suite", "cert_type"), MTE_CASES, ids=[c[0] for c in MTE_CASES])
def test_s_client_no_etm_to_glasstls_server(pki, tmp_path, suite, cert_type):
    args = ["-tls1_2", "-no_etm", "-cipher", OPENSSL_TLS12_NAMES[suite]]
    params, events, received, line, client, trace = _s_client(pki, tmp_path, cert_type, suite, args)
    assert (params.version, params.cipher_suite) == ("TLSv1.2", suite)
    assert received == line
    assert client.returncode == 0, client.stdout + client.stderr
    assert re.search(r"^New, \S+, Cipher is (\S+)$", client.stdout, re.M).group(1) == OPENSSL_TLS12_NAMES[suite]
    assert reverse_line(line).decode() in client.stdout
    assert traced_server_hello(events).ext(ExtensionType.encrypt_then_mac) is None
    _no_etm_in(trace, suite)


@pytest.mark.parametrize(
    ("first", "second", "reused"),
    [(["-no_etm"], ["-no_etm"], True), ([], ["-no_etm"], False), (["-no_etm"], [], True)],
    ids=["mte-then-mte", "etm-then-mte", "mte-then-etm"],
)
def test_s_client_resumes_a_cbc_session_by_its_mechanism(pki, tmp_path, first, second, reused):
    """RFC 7366, Section 3.1: a CBC session keeps encrypt-then-MAC once it has it (offered without
    it, a full handshake); one made with MAC-then-encrypt resumes, with either (OpenSSL resumes both)."""
    suite = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
    config = ServerConfig(
        certificates=(pki.certified_key("ecdsa-p256"),), cipher_suites=(CipherSuite[suite],), session_tickets=False
    )
    session, outputs = tmp_path / "session.pem", []
    for args, mode in ((first, "-sess_out"), (second, "-sess_in")):
        with ServerThread(glasstls_line_server(config)) as server:
            client = run_s_client(
                [
                    "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost", "-CAfile", str(pki.root_file),
                    "-tls1_2", "-cipher", OPENSSL_TLS12_NAMES[suite], *args, mode, str(session), "-ign_eof",
                ],
                stdin=b"resume me\n",
            )  # fmt: skip
            params, received = server.result()
        assert client.returncode == 0 and received == b"resume me\n", client.stdout + client.stderr
        outputs.append((client.stdout, params))
    (out1, params1), (out2, params2) = outputs
    assert re.search(r"^New, ", out1, re.M) and not params1.resumed, out1
    assert bool(re.search(r"^Reused, ", out2, re.M)) == reused == params2.resumed, out2


def test_s_client_with_etm_still_gets_encrypt_then_mac(pki, tmp_path):
    """OpenSSL offers encrypt_then_mac by default: glasstls keeps it whenever both offer it."""
    suite = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
    args = ["-tls1_2", "-cipher", OPENSSL_TLS12_NAMES[suite]]
    params, events, received, line, client, trace = _s_client(pki, tmp_path, "ecdsa-p256", suite, args)
    assert received == line and client.returncode == 0
    assert traced_server_hello(events).ext(ExtensionType.encrypt_then_mac) is not None
    assert "encrypt_then_mac" in trace_server_hellos(trace)[0].extensions


# -- AES-CCM ---------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", CCM13)
def test_glasstls_client_to_s_server_tls13_ccm(pki, tmp_path, suite):
    params, _, _, answer, line, output, trace = _glasstls_client(
        pki, tmp_path, "ecdsa-p256", suite, ["-ciphersuites", suite], "-tls1_3"
    )
    assert (params.version, params.cipher_suite) == ("TLSv1.3", suite)
    assert answer == reverse_line(line)
    assert f"Ciphersuite: {suite}" in output, output
    assert trace_server_hellos(trace)[0].cipher_suite == suite


@pytest.mark.parametrize("suite", CCM13)
def test_s_client_to_glasstls_server_tls13_ccm(pki, tmp_path, suite):
    args = ["-tls1_3", "-ciphersuites", suite]
    params, _, received, line, client, trace = _s_client(pki, tmp_path, "ecdsa-p256", suite, args)
    assert (params.version, params.cipher_suite) == ("TLSv1.3", suite)
    assert received == line and client.returncode == 0, client.stdout + client.stderr
    assert f"New, TLSv1.3, Cipher is {suite}" in client.stdout
    assert reverse_line(line).decode() in client.stdout
    assert trace_server_hellos(trace)[0].cipher_suite == suite


@pytest.mark.parametrize(("suite", "cert_type"), CCM12_CASES, ids=[c[0] for c in CCM12_CASES])
def test_glasstls_client_to_s_server_tls12_ccm(pki, ffdhe2048, tmp_path, suite, cert_type):
    params, kinds, _, answer, line, output, trace = _glasstls_client(
        pki, tmp_path, cert_type, suite, _server_args(suite, ffdhe2048), "-tls1_2"
    )
    assert (params.version, params.cipher_suite) == ("TLSv1.2", suite)
    assert kinds == {CCMProtection12.__name__}
    assert answer == reverse_line(line)
    assert f"Ciphersuite: {OPENSSL_TLS12_NAMES[suite]}" in output, output
    assert trace_server_hellos(trace)[0].cipher_suite == suite


@pytest.mark.parametrize(("suite", "cert_type"), CCM12_CASES, ids=[c[0] for c in CCM12_CASES])
def test_s_client_to_glasstls_server_tls12_ccm(pki, tmp_path, suite, cert_type):
    args = ["-tls1_2", "-cipher", OPENSSL_TLS12_NAMES[suite]]
    params, _, received, line, client, trace = _s_client(pki, tmp_path, cert_type, suite, args)
    assert (params.version, params.cipher_suite) == ("TLSv1.2", suite)
    assert received == line and client.returncode == 0, client.stdout + client.stderr
    assert re.search(r"^New, \S+, Cipher is (\S+)$", client.stdout, re.M).group(1) == OPENSSL_TLS12_NAMES[suite]
    assert reverse_line(line).decode() in client.stdout
    assert trace_server_hellos(trace)[0].cipher_suite == suite
