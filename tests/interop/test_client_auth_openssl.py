"""What a glasstls client reports as ``client_auth`` when ``openssl s_server -verify 1`` asks it for a
certificate it may or may not have (found by the interop matrix, clientcert-1.3-optional-missing).

``NegotiatedParameters.client_auth`` says the client proved a certificate: in TLS 1.2 it is set when
the client sent its CertificateVerify, and on the server's side when it checked one. A TLS 1.3
client that answered the CertificateRequest with an empty Certificate (RFC 8446, Section 4.4.2),
which an optional request lets the handshake go on with, did not authenticate: it must say False
there too, as in TLS 1.2, not True because it was asked. s_server (``-verify 1``: ask, do not
require) prints whether it got a certificate, so both sides' views are compared.
"""

from __future__ import annotations

import pytest
from interop_peers import OpenSSLServer, glasstls_line_through, reverse_line

from glasstls import CertifiedKey, ClientConfig, ProtocolVersion

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

VERSIONS = {"1.2": ("-tls1_2", ProtocolVersion.TLSv1_2), "1.3": ("-tls1_3", ProtocolVersion.TLSv1_3)}


@pytest.mark.parametrize("with_certificate", [False, True], ids=["no-certificate", "certificate"])
@pytest.mark.parametrize("version", VERSIONS)
def test_client_auth_means_the_client_authenticated(pki, tmp_path, version, with_certificate):
    flag, tls_max = VERSIONS[version]
    certificate = None
    if with_certificate:
        identity = pki.ca.issue_client("matrix client")
        certificate = CertifiedKey(identity.chain, identity.private_key)
    config = ClientConfig(trust_store=pki.trust_store(), tls_min=tls_max, tls_max=tls_max, certificate=certificate)
    args = ("-verify", "1", "-CAfile", str(pki.root_file))
    line = b"client auth line\n"
    with OpenSSLServer(pki.files["ecdsa-p256"], tmp_path / "s_server.trace", *args, protocol=flag) as server:
        params, answer = glasstls_line_through(server, config, line)
        server.wait_exit()  # -naccept 1: it leaves after this connection, its trace file flushed
        trace = server.trace
    assert answer == reverse_line(line)
    assert params is not None and params.version == f"TLSv{version}"
    # s_server's trace shows the client's Certificate: with entries, or empty (certificate_list, length=0).
    sent_empty = "certificate_list, length=0" in trace
    assert sent_empty is not with_certificate, trace
    assert params.client_auth is with_certificate
