"""Legacy key exchange and SHA-1 signatures against the OpenSSL command line (OpenSSL 3.0), TLS 1.2.

DHE groups, glasstls client → ``openssl s_server -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256``:

* without ``-dhparam`` s_server says ``Using default temp DH parameters`` and signs
  RFC 3526 group 14 (2048-bit MODP) for a 2048-bit RSA key: accepted by default;
  with ``-dhparam`` a PEM written here from RFC 3526's 3072-bit prime: accepted too;
* with ``-dhparam tests/data/dhe_custom2048.pem`` (a safe prime from ``openssl
  dhparam 2048``, shipped because generating one takes minutes): refused by default
  with insufficient_security, which s_server's trace shows arriving; accepted with
  ``ClientConfig(dhe_custom_groups=True)``;
* a 1024-bit safe prime (``tests/data/dhe_custom1024.pem``, s_server at
  ``@SECLEVEL=0`` so that it serves it): insufficient_security even with custom
  groups allowed. OpenSSL's own client sends handshake_failure ("dh key too small")
  there; RFC 5246, Section 7.2.2 names insufficient_security for it;
* ``openssl dhparam -dsaparam 2048`` (a prime whose (p-1)/2 is not prime, made once
  per session): illegal_parameter, "not a safe prime".

SHA-1 signatures (OpenSSL 3.0 allows them at ``@SECLEVEL=0`` only):

* ``openssl s_client -tls1_2 -sigalgs RSA+SHA1`` to a glasstls server whose
  signature_schemes name rsa_pkcs1_sha1: the ServerKeyExchange is signed with it
  (s_client: ``Peer signing digest: SHA1``); a default server refuses;
* the glasstls client naming rsa_pkcs1_sha1 to ``openssl s_server -sigalgs RSA+SHA1``:
  accepted, and its parameters say rsa_pkcs1_sha1; a default client offers no SHA-1,
  so s_server refuses;
* a raw TLS 1.2 ClientHello without signature_algorithms, sent over TCP to a glasstls
  server: a fatal handshake_failure on the wire and the reason (RFC 5246, Section
  7.4.1.4.1; --profile legacy) by default; from a server naming rsa_pkcs1_sha1, a
  ServerKeyExchange whose SHA-1 signature the test verifies with the certificate's key.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from interop_peers import (
    OPENSSL,
    WAIT,
    OpenSSLServer,
    ServerThread,
    glasstls_line_server,
    read_line,
    run_s_client,
    trace_fatal_alerts,
    trace_server_key_exchange,
)

import glasstls
from glasstls import CipherSuite, ClientConfig, ProtocolVersion, ServerConfig
from glasstls.config import DEFAULT_SIGNATURE_SCHEMES
from glasstls.crypto import dhe12
from glasstls.enums import AlertDescription, SignatureScheme
from glasstls.errors import AlertError, PeerAlertError, TLSError
from glasstls.observe import EventList

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]

DATA = Path(__file__).resolve().parent.parent / "data"
DHE_SUITE = CipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
DHE_CIPHER = ("-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
ECDHE_RSA_SUITE = CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
SHA1_SERVER_ARGS = ("-sigalgs", "RSA+SHA1", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")


def dhe_client(pki, **kw) -> ClientConfig:
    return ClientConfig(
        trust_store=pki.trust_store(), tls_max=ProtocolVersion.TLSv1_2, cipher_suites=(DHE_SUITE,), **kw
    )


def prime_of(pem_path: Path) -> int:
    numbers = serialization.load_pem_parameters(pem_path.read_bytes()).parameter_numbers()
    return numbers.p


def connect_and_echo(server: OpenSSLServer, config: ClientConfig):
    """Handshake, one line through s_server -rev; the parameters glasstls reports."""
    with glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT) as tls:
        tls.sendall(b"legacy kx\n")
        assert read_line(tls.recv) == b"xk ycagel\n"
        return tls.parameters


def refused(server: OpenSSLServer, config: ClientConfig) -> AlertError:
    with pytest.raises(AlertError) as failure:
        glasstls.connect("127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT)
    return failure.value


def _der_integer(n: int) -> bytes:
    body = n.to_bytes(n.bit_length() // 8 + 1, "big")  # a leading zero byte keeps it positive
    return b"\x02" + _der_length(len(body)) + body


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def pkcs3_pem(p: int, g: int) -> bytes:
    """PKCS #3 DHParameter ::= SEQUENCE { prime, base }, as ``-----BEGIN DH PARAMETERS-----``.

    Written here because cryptography writes an X9.42 file for groups whose q OpenSSL
    knows, and s_server 3.0 does not load those ("unexpected parameters type").
    """
    body = _der_integer(p) + _der_integer(g)
    der = b"\x30" + _der_length(len(body)) + body
    lines = base64.encodebytes(der).replace(b"\n", b"")
    wrapped = b"\n".join(lines[i : i + 64] for i in range(0, len(lines), 64))
    return b"-----BEGIN DH PARAMETERS-----\n" + wrapped + b"\n-----END DH PARAMETERS-----\n"


@pytest.fixture(scope="session")
def rfc3526_3072(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RFC 3526's 3072-bit MODP group (group 15) as a PKCS #3 PEM, from glasstls's table."""
    path = tmp_path_factory.mktemp("dhparam") / "modp3072.pem"
    path.write_bytes(pkcs3_pem(*dhe12.rfc3526_parameters(3072)))
    return path


@pytest.fixture(scope="session")
def dsa_style_2048(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``openssl dhparam -dsaparam 2048`` (a 2048-bit prime with a 256-bit subgroup: not a safe
    prime), rewritten as PKCS #3 (p, g), the form s_server loads."""
    directory = tmp_path_factory.mktemp("dhparam")
    x942 = directory / "dsaparam2048.x942.pem"
    command = [OPENSSL, "dhparam", "-dsaparam", "-out", str(x942), "2048"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    numbers = serialization.load_pem_parameters(x942.read_bytes()).parameter_numbers()
    assert numbers.q is not None and numbers.q.bit_length() <= 256
    path = directory / "dsaparam2048.pem"
    path.write_bytes(pkcs3_pem(numbers.p, numbers.g))
    return path


# -- DHE groups: glasstls client → openssl s_server ---------------------------------------------


def test_openssl_default_dh_params_are_rfc3526_group14_and_accepted(pki, tmp_path):
    with OpenSSLServer(pki.files["rsa2048"], tmp_path / "trace", *DHE_CIPHER, protocol="-tls1_2") as server:
        params = connect_and_echo(server, dhe_client(pki))
        output = server.wait_exit()
        ske = trace_server_key_exchange(server.trace)
    assert "Using default temp DH parameters" in output, output
    assert ske is not None and ske.algorithm == "DHE"
    assert ske.dh_p == dhe12.rfc3526_parameters(2048)[0]  # what OpenSSL picks, per its trace
    assert params.version == "TLSv1.2" and params.cipher_suite == DHE_SUITE.name
    assert params.group == "modp2048 (RFC 3526 group 14)"


def test_rfc3526_group15_from_a_pem_is_accepted(pki, tmp_path, rfc3526_3072):
    args = ("-dhparam", str(rfc3526_3072), *DHE_CIPHER)
    with OpenSSLServer(pki.files["rsa2048"], tmp_path / "trace", *args, protocol="-tls1_2") as server:
        params = connect_and_echo(server, dhe_client(pki))
        output = server.wait_exit()
        ske = trace_server_key_exchange(server.trace)
    assert "Setting temp DH parameters" in output, output
    assert ske is not None and ske.dh_p == dhe12.rfc3526_parameters(3072)[0]
    assert params.cipher_suite == DHE_SUITE.name


def test_custom_group_refused_by_default_with_insufficient_security(pki, tmp_path):
    pem = DATA / "dhe_custom2048.pem"
    args = ("-dhparam", str(pem), *DHE_CIPHER)
    with OpenSSLServer(pki.files["rsa2048"], tmp_path / "trace", *args, protocol="-tls1_2") as server:
        err = refused(server, dhe_client(pki))
        output = server.wait_exit()
        ske = trace_server_key_exchange(server.trace)
        alerts = trace_fatal_alerts(server.trace)
    assert err.description == AlertDescription.insufficient_security
    assert "2048-bit prime" in err.reason and "custom groups are refused by default" in err.reason
    assert "--profile legacy" in err.reason and "dhe_custom_groups" in err.reason
    assert ske is not None and ske.dh_p == prime_of(pem)
    assert alerts == ["insufficient security(71)"]  # what s_server received
    assert "alert insufficient security" in output, output


def test_custom_safe_prime_accepted_with_dhe_custom_groups(pki, tmp_path):
    pem = DATA / "dhe_custom2048.pem"
    args = ("-dhparam", str(pem), *DHE_CIPHER)
    with OpenSSLServer(pki.files["rsa2048"], tmp_path / "trace", *args, protocol="-tls1_2") as server:
        params = connect_and_echo(server, dhe_client(pki, dhe_custom_groups=True))
        server.wait_exit()
    assert params.version == "TLSv1.2" and params.cipher_suite == DHE_SUITE.name
    assert params.group == "custom 2048-bit group"
    assert dhe12.is_safe_prime(prime_of(pem))  # checked once, cached by p


def test_1024_bit_group_refused_even_with_custom_groups(pki, tmp_path):
    args = ("-dhparam", str(DATA / "dhe_custom1024.pem"), *DHE_CIPHER)
    with OpenSSLServer(pki.files["rsa2048"], tmp_path / "trace", *args, protocol="-tls1_2") as server:
        err = refused(server, dhe_client(pki, dhe_custom_groups=True))
        server.wait_exit()
        alerts = trace_fatal_alerts(server.trace)
    assert err.description == AlertDescription.insufficient_security
    assert "1024-bit prime" in err.reason and "at least 2048 bits" in err.reason and "--profile legacy" in err.reason
    assert alerts == ["insufficient security(71)"]


def test_not_a_safe_prime_refused_with_illegal_parameter(pki, tmp_path, dsa_style_2048):
    args = ("-dhparam", str(dsa_style_2048), *DHE_CIPHER)
    with OpenSSLServer(pki.files["rsa2048"], tmp_path / "trace", *args, protocol="-tls1_2") as server:
        err = refused(server, dhe_client(pki, dhe_custom_groups=True))
        output = server.wait_exit()
        alerts = trace_fatal_alerts(server.trace)
    assert "Setting temp DH parameters" in output, output
    assert err.description == AlertDescription.illegal_parameter
    assert "not a safe prime" in err.reason and "--profile legacy" in err.reason
    assert alerts == ["illegal parameter(47)"]


# -- SHA-1 signatures, both directions ----------------------------------------------------------

SHA1_AND_DEFAULTS = (SignatureScheme.rsa_pkcs1_sha1, *DEFAULT_SIGNATURE_SCHEMES)


def s_client_sha1(pki, port: int) -> subprocess.CompletedProcess[str]:
    return run_s_client(
        [
            "-tls1_2", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
            "-CAfile", str(pki.root_file), "-verify_return_error", *SHA1_SERVER_ARGS, "-ign_eof",
        ],
        stdin=b"sha1 please\n",
    )  # fmt: skip


def test_openssl_s_client_sha1_only_to_glasstls_server_naming_it(pki):
    events = EventList()
    config = ServerConfig(certificates=(pki.certified_key("rsa2048"),), signature_schemes=SHA1_AND_DEFAULTS)
    with ServerThread(glasstls_line_server(config, events)) as server:
        client = s_client_sha1(pki, server.port)
        params, received = server.result()
    out = client.stdout
    assert client.returncode == 0, out + client.stderr
    assert received == b"sha1 please\n"
    assert params.version == "TLSv1.2" and params.signature_scheme == "rsa_pkcs1_sha1"
    assert re.search(r"^Peer signing digest: SHA1$", out, re.MULTILINE), out
    assert re.search(r"^Peer signature type: RSA$", out, re.MULTILINE), out


def test_openssl_s_client_sha1_only_refused_by_default_server(pki):
    config = ServerConfig(certificates=(pki.certified_key("rsa2048"),))
    with ServerThread(glasstls_line_server(config)) as server:
        client = s_client_sha1(pki, server.port)
        with pytest.raises(AlertError) as failure:
            server.result()
    assert failure.value.description == AlertDescription.handshake_failure
    assert client.returncode != 0
    assert "alert handshake failure" in client.stdout + client.stderr


def sha1_client(pki, **kw) -> ClientConfig:
    return ClientConfig(
        trust_store=pki.trust_store(), tls_max=ProtocolVersion.TLSv1_2, cipher_suites=(ECDHE_RSA_SUITE,), **kw
    )


def test_glasstls_client_naming_sha1_to_openssl_s_server_sha1(pki, tmp_path):
    config = sha1_client(pki, signature_schemes=SHA1_AND_DEFAULTS)
    with OpenSSLServer(pki.files["rsa2048"], tmp_path / "trace", *SHA1_SERVER_ARGS, protocol="-tls1_2") as server:
        params = connect_and_echo(server, config)
        server.wait_exit()
        ske = trace_server_key_exchange(server.trace)
    assert params.signature_scheme == "rsa_pkcs1_sha1"
    assert ske is not None and ske.signature_scheme == "rsa_pkcs1_sha1"


def test_default_glasstls_client_offers_no_sha1_to_openssl_s_server_sha1(pki, tmp_path):
    """A default client does not list rsa_pkcs1_sha1, so s_server finds no shared scheme and refuses."""
    with OpenSSLServer(pki.files["rsa2048"], tmp_path / "trace", *SHA1_SERVER_ARGS, protocol="-tls1_2") as server:
        with pytest.raises(PeerAlertError) as failure:
            glasstls.connect("127.0.0.1", server.port, sha1_client(pki), server_name="localhost", timeout=WAIT)
        server.wait_exit()
        trace = server.trace
    assert failure.value.description == AlertDescription.handshake_failure
    assert "rsa_pkcs1_sha1" not in trace.split("ServerHello", 1)[0]  # not in the ClientHello's list


# -- a raw TLS 1.2 ClientHello without signature_algorithms → glasstls server over TCP ---------


def raw_hello_without_signature_algorithms() -> tuple[bytes, bytes]:
    """A TLS 1.2 ClientHello record offering ECDHE-RSA-AES128-GCM-SHA256, x25519/P-256, uncompressed
    points and nothing else (RFC 5246, Section 7.4.1.2), and its random."""
    random = os.urandom(32)
    groups = b"\x00\x0a\x00\x06\x00\x04\x00\x1d\x00\x17"
    point_formats = b"\x00\x0b\x00\x02\x01\x00"
    extensions = groups + point_formats
    body = b"\x03\x03" + random + b"\x00" + b"\x00\x02\xc0\x2f" + b"\x01\x00"
    body += len(extensions).to_bytes(2, "big") + extensions
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake, random


def raw_exchange(port: int, record: bytes, until: bytes) -> bytes:
    """Send ``record``, read until ``until`` appears or the server closes (bounded by WAIT)."""
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(record)
        while until not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def glasstls_accepts(config: ServerConfig):
    def handle(sock: socket.socket):
        with glasstls.accept(sock, config, timeout=WAIT) as tls:
            return tls.parameters

    return handle


def test_raw_hello_without_signature_algorithms_refused_by_default_server(pki):
    config = ServerConfig(certificates=(pki.certified_key("rsa2048"),))
    record, _ = raw_hello_without_signature_algorithms()
    with ServerThread(glasstls_accepts(config)) as server:
        answer = raw_exchange(server.port, record, b"\x15\x03\x03")
        with pytest.raises(AlertError) as failure:
            server.result()
    assert answer == b"\x15\x03\x03\x00\x02\x02\x28"  # fatal handshake_failure
    assert failure.value.description == AlertDescription.handshake_failure
    assert "sent no signature_algorithms, which means SHA-1 (RFC 5246 §7.4.1.4.1)" in failure.value.reason
    assert "SHA-1 signatures need --profile legacy" in failure.value.reason


def test_raw_hello_without_signature_algorithms_gets_sha1_from_server_naming_it(pki):
    config = ServerConfig(certificates=(pki.certified_key("rsa2048"),), signature_schemes=SHA1_AND_DEFAULTS)
    record, client_random = raw_hello_without_signature_algorithms()
    with ServerThread(glasstls_accepts(config)) as server:
        flight = raw_exchange(server.port, record, b"\x0e\x00\x00\x00")  # ServerHelloDone
        with pytest.raises((TLSError, OSError)):
            server.result()  # the test hung up after ServerHelloDone: the handshake cannot complete
    messages = handshake_messages(flight)
    assert set(messages) == {2, 11, 12, 14}  # ServerHello Certificate ServerKeyExchange ServerHelloDone
    server_random, ske = messages[2][2:34], messages[12]
    params = ske[: 4 + ske[3]]
    scheme, signature = ske[len(params) : len(params) + 2], ske[len(params) + 4 :]
    assert scheme == b"\x02\x01"  # rsa_pkcs1_sha1
    leaf = pki.identities["rsa2048"].chain[0]
    leaf.public_key().verify(signature, client_random + server_random + params, padding.PKCS1v15(), hashes.SHA1())


def handshake_messages(data: bytes) -> dict[int, bytes]:
    """The bodies of the handshake messages in plaintext records, by type."""
    stream, i = b"", 0
    while i + 5 <= len(data):
        length = int.from_bytes(data[i + 3 : i + 5], "big")
        if data[i] == 22:
            stream += data[i + 5 : i + 5 + length]
        i += 5 + length
    messages, i = {}, 0
    while i + 4 <= len(stream):
        length = int.from_bytes(stream[i + 1 : i + 4], "big")
        messages[stream[i]] = stream[i + 4 : i + 4 + length]
        i += 4 + length
    return messages
