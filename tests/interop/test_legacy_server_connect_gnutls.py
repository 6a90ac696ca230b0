"""A TLS 1.2 server without secure renegotiation (RFC 5746), played by ``gnutls-serv`` with
``%DISABLE_SAFE_RENEGOTIATION``: its ServerHello carries no renegotiation_info.

Such a server cannot tell our first handshake from a renegotiation of an attacker's
connection (RFC 5746, Section 1). A glasstls client refuses it by default with
handshake_failure, as OpenSSL 3 (and so Python's ``ssl``) refuses it; the legacy profile,
``ClientConfig.legacy_server_connect`` and the ssl-compatible ``OP_LEGACY_SERVER_CONNECT``
accept it. A server that does send renegotiation_info is checked in test_interop_gnutls.py.
"""

from __future__ import annotations

import io
import socket
import ssl
from pathlib import Path

import pytest
from interop_peers import GNUTLS_SERV, WAIT, GnuTLSServer, read_line

import glasstls
from glasstls import AlertError, ClientConfig, ProtocolVersion
from glasstls.enums import AlertDescription
from glasstls.profiles import describe, profile_named
from glasstls.trace.diagnose import diagnose
from glasstls.trace.text import TextTrace

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.skipif(GNUTLS_SERV is None, reason="gnutls-serv not installed (`make peers` installs gnutls-bin)"),
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="gnutls-serv's port is found through Linux's /proc"),
]

UNSAFE = "NORMAL:-VERS-ALL:+VERS-TLS1.2:%DISABLE_SAFE_RENEGOTIATION"
SAFE = "NORMAL:-VERS-ALL:+VERS-TLS1.2"


def _echo(port: int, config: ClientConfig, observer: object = None) -> bytes:
    with glasstls.connect("127.0.0.1", port, config, server_name="localhost", timeout=WAIT, observer=observer) as tls:
        tls.sendall(b"legacy server\n")
        return read_line(tls.recv)


def _explained(port: int, config: ClientConfig) -> str:
    """The client's --explain trace of one echo."""
    out = io.StringIO()
    assert _echo(port, config, TextTrace(out, explain=True)) == b"legacy server\n"
    return " ".join(out.getvalue().split())


def test_refused_by_default_with_handshake_failure(pki):
    config = ClientConfig(trust_store=pki.trust_store())
    with GnuTLSServer(pki.files["ecdsa-p256"], UNSAFE) as server:
        with pytest.raises(AlertError) as caught:
            _echo(server.port, config)
        # The alert reached GnuTLS: it reports the handshake_failure we sent.
        server.wait_for(r"(?i)handshake failed|error in handshake|alert")
    err = caught.value
    assert err.description == AlertDescription.handshake_failure
    assert "update the server, or accept the risk" in diagnose(err, side="client")
    assert "secure renegotiation" in err.reason and "RFC 5746" in err.reason
    assert "--profile legacy" in err.reason and "legacy_server_connect" in err.reason


def test_python_ssl_refuses_it_too(pki):
    """The reference: OpenSSL 3 behind Python's ssl refuses the same server."""
    context = ssl.create_default_context(cafile=str(pki.root_file))
    with (
        GnuTLSServer(pki.files["ecdsa-p256"], UNSAFE) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw,
        pytest.raises(ssl.SSLError, match=r"(?i)unsafe legacy renegotiation"),
    ):
        context.wrap_socket(raw, server_hostname="localhost")


@pytest.mark.parametrize("how", ["field", "profile"])
def test_accepted_when_asked(pki, how):
    kwargs = {"legacy_server_connect": True} if how == "field" else {"profile": "legacy"}
    config = ClientConfig(trust_store=pki.trust_store(), **kwargs)
    assert config.legacy_server_connect
    with GnuTLSServer(pki.files["ecdsa-p256"], UNSAFE) as server:
        explained = _explained(server.port, config)
    # The explanation says what the server lacks, and why it matters (RFC 5746).
    assert "It sends no renegotiation_info: it does not support secure renegotiation (RFC 5746)" in explained


def test_a_safe_server_needs_nothing(pki):
    config = ClientConfig(trust_store=pki.trust_store(), tls_max=ProtocolVersion.TLSv1_2)
    assert not config.legacy_server_connect
    with GnuTLSServer(pki.files["ecdsa-p256"], SAFE) as server:
        explained = _explained(server.port, config)
    assert "Its renegotiation_info extension (RFC 5746) says it supports secure renegotiation" in explained


def test_ssl_compatible_option(pki):
    """glasstls.SSLContext takes OP_LEGACY_SERVER_CONNECT (OpenSSL's 0x4) as Python's ssl does."""
    context = glasstls.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(pki.root_file))
    with GnuTLSServer(pki.files["ecdsa-p256"], UNSAFE) as server:
        for legacy in (False, True):
            if legacy:
                context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
            with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as raw:
                if not legacy:
                    with pytest.raises(ssl.SSLError, match="secure renegotiation"):
                        context.wrap_socket(raw, server_hostname="localhost")
                    continue
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(b"compat\n")
                    assert read_line(tls.recv) == b"compat\n"


def test_profiles_say_which_accepts_it():
    assert "  TLS 1.2 servers without secure renegotiation (RFC 5746): yes" in describe(profile_named("legacy"))
    assert "  TLS 1.2 servers without secure renegotiation (RFC 5746): no" in describe(profile_named("intermediate"))
