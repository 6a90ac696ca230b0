"""A glasstls client without a certificate, asked for one by a ``gnutls-serv`` that requires it.

The client answers the CertificateRequest with an empty Certificate (RFC 8446, Section 4.4.2;
RFC 5246, Section 7.4.6) and GnuTLS ends the handshake. Whatever alert it chooses for that,
the diagnosis names the missing client certificate and how to give one, not a parsing failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from interop_peers import GNUTLS_SERV, WAIT, GnuTLSServer

import glasstls
from glasstls import ClientConfig, PeerAlertError, ProtocolVersion
from glasstls.observe import EventList
from glasstls.trace.diagnose import diagnose

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(60),
    pytest.mark.skipif(GNUTLS_SERV is None, reason="gnutls-serv not installed (`make peers` installs gnutls-bin)"),
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="gnutls-serv's port is found through Linux's /proc"),
]


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_missing_client_certificate_is_diagnosed_as_such(pki, version):
    priority = f"NORMAL:-VERS-ALL:+VERS-TLS{version}"
    tls_max = ProtocolVersion.TLSv1_2 if version == "1.2" else ProtocolVersion.TLSv1_3
    config = ClientConfig(trust_store=pki.trust_store(), tls_max=tls_max)
    events = EventList()
    args = ("--require-client-cert", "--x509cafile", str(pki.root_file))
    with (
        GnuTLSServer(pki.files["ecdsa-p256"], priority, *args) as server,
        pytest.raises(PeerAlertError) as caught,
        glasstls.connect(
            "127.0.0.1", server.port, config, server_name="localhost", timeout=WAIT, observer=events
        ) as tls,
    ):
        tls.sendall(b"hello\n")
        tls.recv(100)
    text = diagnose(caught.value, events.events, side="client")
    # GnuTLS ends a TLS 1.2 handshake with decode_error, a TLS 1.3 one with certificate_required.
    expected = "decode_error" if version == "1.2" else "certificate_required"
    assert f"alert:        {expected}" in text, text
    assert "requires a client certificate" in text and "--cert FILE --key FILE" in text, text
    assert "could not parse" not in text
