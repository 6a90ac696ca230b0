"""What ``glasstls server`` logs when a TLS scanner (testssl.sh, sslyze) probes it.

A scanner makes hundreds of connections that end early on purpose: a ClientHello and then a
close_notify before the handshake completes, a data exchange cut off with a bare FIN, a
ClientHello whose signature algorithms the server's key cannot serve. Each must end in log
lines an operator can act on, in the command line's own terms. The peers here are real:
OpenSSL (Python's ``ssl`` and ``openssl s_client``), each started by the test on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from glasstls.x509.mint import ThrowawayCA
from serving_helpers import PKI, WAIT, CLIServer, make_pki

# A plaintext warning close_notify in a TLS 1.2 record, as testssl.sh sends it after a probe
# (RFC 5246, Section 7.2.1).
CLOSE_NOTIFY = bytes.fromhex("15030300020100")


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    return make_pki(tmp_path)


def openssl_client_hello(max_version: ssl.TLSVersion) -> bytes:
    """The ClientHello OpenSSL (through Python's ssl) sends, taken from a memory BIO."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = max_version
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def read_flight(sock: socket.socket, seconds: float = 1.0) -> bytes:
    """What the server sends within ``seconds`` (its whole first flight, on 127.0.0.1)."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    return data


def diagnosis_of(server: CLIServer, peer_port: int) -> list[str]:
    """The log lines from ``handshake with 127.0.0.1:<peer_port> failed`` to its ``likely fix``."""
    server.wait_for(rf"handshake with 127\.0\.0\.1:{peer_port} failed")
    server.wait_for(r"likely fix:")
    lines = server.log.splitlines()
    start = next(i for i, line in enumerate(lines) if f"127.0.0.1:{peer_port} failed" in line)
    end = next(i for i in range(start, len(lines)) if "likely fix:" in lines[i])
    return lines[start : end + 1]


def dropped_after_the_flight(pki: PKI, version: ssl.TLSVersion, *args: str) -> list[str]:
    """The CLI server's diagnosis of a client (an OpenSSL ClientHello) that read its flight, then sent a FIN."""
    hello = openssl_client_hello(version)
    with CLIServer(pki, *args) as server, socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        port = sock.getsockname()[1]
        sock.sendall(hello)
        assert read_flight(sock)[:1] == b"\x16"
        sock.shutdown(socket.SHUT_WR)
        return diagnosis_of(server, port)


def test_close_notify_before_the_client_key_exchange_is_the_client_s_choice(pki: PKI) -> None:
    """testssl.sh's probe: an OpenSSL TLS 1.2 ClientHello, the server's flight read, then close_notify.
    The diagnosis says the client stopped on its own; "run again with --trace" would send the
    operator looking for a fault of the server's that is not there."""
    hello = openssl_client_hello(ssl.TLSVersion.TLSv1_2)
    with CLIServer(pki) as server, socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        port = sock.getsockname()[1]
        sock.sendall(hello)
        flight = read_flight(sock)
        assert flight[:1] == b"\x16", flight[:16]  # the server's handshake flight, not an alert
        sock.sendall(CLOSE_NOTIFY)
        diagnosis = diagnosis_of(server, port)
    text = "\n".join(diagnosis)
    assert "sent close_notify while waiting for ClientKeyExchange" in diagnosis[0], text
    assert "the client stopped the handshake itself" in diagnosis[-1], text
    assert "--trace" not in diagnosis[-1], text


def test_a_client_that_drops_the_connection_mid_handshake_is_not_told_to_check_host_and_port(pki: PKI) -> None:
    """testssl.sh's ROBOT and cipher probes: an OpenSSL ClientHello, the server's flight read, then a bare
    FIN. The server got a ClientHello, so the client's advice ("may not speak TLS on that port") does
    not fit; the diagnosis says the client dropped it, and where to look."""
    diagnosis = dropped_after_the_flight(pki, ssl.TLSVersion.TLSv1_2)
    text = "\n".join(diagnosis)
    assert "closed the connection while waiting for ClientKeyExchange" in diagnosis[0], text
    assert "the client dropped the connection mid-handshake" in diagnosis[-1], text
    assert "speak TLS on that port" not in text, text


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_a_client_that_drops_the_connection_after_a_certificate_request_is_not_called_a_scanner(
    pki: PKI, version: ssl.TLSVersion
) -> None:
    """Chromium asked for a client certificate (--verify-client optional) closes the connection while it
    picks one, then connects again without one: the server's diagnosis says so, not that a scanner probed."""
    diagnosis = dropped_after_the_flight(pki, version, "--client-ca", str(pki.ca_pem), "--verify-client", "optional")
    text = "\n".join(diagnosis)
    assert "the client closed the connection after this server asked for a certificate" in diagnosis[-1], text
    assert "scanner" not in diagnosis[-1], text


def test_a_client_that_quits_without_close_notify_is_logged_in_the_server_s_terms(pki: PKI) -> None:
    """An OpenSSL client (Python's ssl) echoes a line, then closes the socket without close_notify
    (SSLSocket.close() sends none), as a scanner's killed s_client does. The log says so, without
    the library's allow_truncation keyword, which the command line has no option for."""
    ctx = ssl.create_default_context(cafile=str(pki.ca_pem))
    with CLIServer(pki) as server:
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            port = tls.getsockname()[1]
            tls.sendall(b"ping\n")
            assert tls.recv(5) == b"ping\n"
        line = server.wait_for(rf"connection with 127\.0\.0\.1:{port} ended")
    assert "without close_notify (FIN) after 5 bytes of application data" in line, line
    assert "allow_truncation" not in line, line


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_no_common_signature_scheme_names_the_key_type_and_what_it_signs(tmp_path: Path) -> None:
    """testssl.sh asks an RSA server for ECDSA signatures only (openssl s_client -sigalgs): refused
    with handshake_failure (RFC 8446, Section 4.4.2.2), and the log names the key as RSA and the
    schemes it could have made, not cryptography's class name."""
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost"], key_type="rsa2048").write(tmp_path / "rsa.pem", tmp_path / "rsa.key")
    pki = PKI(ca, tmp_path / "rsa.pem", tmp_path / "rsa.key", tmp_path / "ca.pem")
    with CLIServer(pki) as server:
        argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_3"]
        argv += ["-sigalgs", "ECDSA+SHA256:ECDSA+SHA384"]
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=WAIT, check=False)
        assert done.returncode != 0
        line = server.wait_for(r"no common signature scheme")
    assert "our certificate's key is RSA and signs with rsa_pss_rsae_sha256" in line, line
    assert "PrivateKey" not in line, line
    assert "alert handshake_failure" in line, line


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_refused_renegotiation_is_explained_in_the_log(pki: PKI) -> None:
    """testssl.sh's renegotiation check: openssl s_client's "R" asks for a TLS 1.2 renegotiation;
    glasstls answers no_renegotiation (it never renegotiates; RFC 5746, Section 4.4), and OpenSSL
    ends the connection with handshake_failure. The log's diagnosis says the client asked to
    renegotiate and was refused, not only that a handshake_failure arrived."""
    with CLIServer(pki) as server:
        argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_2"]
        client = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            server.wait_for(r"127\.0\.0\.1:\d+ TLSv1\.2 ")
            assert client.stdin is not None
            client.stdin.write(b"R\n")
            client.stdin.flush()
            ended = server.wait_for(r"connection with 127\.0\.0\.1:\d+ ended")
            fix = server.wait_for(r"likely fix:")
        finally:
            client.kill()
            client.wait(WAIT)
    assert "handshake_failure" in ended, server.log
    assert "asked to renegotiate" in fix and "no_renegotiation" in fix, server.log


def likely_fix_after(server: CLIServer, openssl_args: list[str]) -> str:
    """Run ``openssl s_client`` with ``openssl_args`` against ``server``; the likely fix the server logs."""
    argv = ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", *openssl_args]
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=WAIT, check=False)
    assert done.returncode != 0, done.stdout.decode(errors="replace")
    server.wait_for(r"handshake with 127\.0\.0\.1:\d+ failed")
    return server.wait_for(r"likely fix:")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_suites_glasstls_does_not_implement_are_not_a_matter_of_ciphers(pki: PKI) -> None:
    """testssl.sh's probes for Camellia, ARIA, 3DES, ...: no --ciphers serves them, so the log must not
    tell the operator to name one (nor that RSA and CBC suites need --ciphers: --profile legacy has them)."""
    with CLIServer(pki, "--profile", "legacy") as server:
        fix = likely_fix_after(server, ["-tls1_2", "-cipher", "ARIA:CAMELLIA"])
    assert "suites glasstls does not implement" in fix, fix
    assert "--ciphers" not in fix, fix


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_dhe_only_client_with_foreign_ffdhe_groups_is_told_the_server_s_side(tmp_path: Path) -> None:
    """An OpenSSL client offering one DHE suite and supported_groups ffdhe8192 only: RFC 7919, Section 4
    forbids the server a DHE suite, and it answers insufficient_security. The fix is about the groups this
    server accepts, not the advice for a client refusing a server's small Diffie-Hellman group."""
    ca = ThrowawayCA.create()
    ca.issue_server(["localhost"], key_type="rsa2048").write(tmp_path / "rsa.pem", tmp_path / "rsa.key")
    pki = PKI(ca, tmp_path / "rsa.pem", tmp_path / "rsa.key", tmp_path / "ca.pem")
    with CLIServer(pki, "--tls-max", "1.2") as server:
        fix = likely_fix_after(server, ["-cipher", "DHE-RSA-AES128-GCM-SHA256", "-groups", "ffdhe8192"])
        assert "alert insufficient_security" in server.log, server.log
    assert "named finite-field groups (RFC 7919) none of which this server accepts" in fix, fix
    assert "too small" not in fix, fix


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_tls_1_0_client_is_not_told_to_adjust_tls_min(pki: PKI) -> None:
    """testssl.sh's protocol probes (SSL 3.0, TLS 1.0, TLS 1.1): glasstls implements none of them (RFC 8996),
    so --tls-min cannot reach the client; the fix says so instead of "adjust --tls-min / --tls-max"."""
    with CLIServer(pki) as server:
        fix = likely_fix_after(server, ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"])
        assert "client wants TLSv1 at most" in server.log, server.log
    assert "retired by RFC 8996" in fix, fix
    assert "--tls-min" not in fix, fix


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_no_common_group_for_tls12_ecdhe_names_the_client_s_groups(pki: PKI) -> None:
    """testssl.sh's curve probes over TLS 1.2: ECDHE suites with supported_groups secp521r1 only. The
    refusal names what the client offered and that no profile has it, as the TLS 1.3 refusal does,
    so the fix can say --groups; before, it said only what the client lacked."""
    with CLIServer(pki) as server:
        args = ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-groups", "secp521r1"]
        fix = likely_fix_after(server, args)
        refusal = server.wait_for(r"no common cipher suite")
    assert "the client's supported_groups names secp521r1" in refusal, refusal
    assert "secp521r1 is in no profile (--groups naming it allows it)" in fix, fix


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_an_ecdsa_certificate_on_a_curve_the_client_does_not_name_is_the_fix(pki: PKI) -> None:
    """A TLS 1.2 client naming only x25519 cannot take an ECDSA P-256 certificate (RFC 8422, Section
    5.1), whatever the suites: the fix is the certificate, not the CBC suites the profile left out."""
    with CLIServer(pki, "--tls-max", "1.2") as server:
        fix = likely_fix_after(server, ["-tls1_2", "-groups", "X25519"])
    assert "does not name secp256r1, the curve of this server's ECDSA certificate" in fix, fix
    assert "--profile legacy" not in fix, fix
