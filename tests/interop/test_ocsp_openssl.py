"""OCSP stapling against the OpenSSL command line, TLS 1.3 and TLS 1.2, both directions.

* ``openssl s_server -status_file resp.der`` staples a response (RFC 6066, Section 8;
  in TLS 1.3 inside the leaf's CertificateEntry, RFC 8446, Section 4.4.2.1) to the
  glasstls client, which requires one (``ocsp="require"``): a good response is
  accepted (and shows in its trace), a revoked one ends the handshake with
  certificate_revoked, which s_server receives.
* The glasstls server staples to ``openssl s_client -status``, which prints the
  response it got: ``OCSP Response Status: successful (0x0)`` and ``Cert Status: good``.

The responses are built with cryptography's OCSP builder, signed by the intermediate
that issued the server certificate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from interop_peers import (
    WAIT,
    OpenSSLServer,
    ServerThread,
    glasstls_line_server,
    read_line,
    reverse_line,
    run_s_client,
    trace_fatal_alerts,
)

import glasstls
from glasstls import ClientConfig, ProtocolVersion, ServerConfig
from glasstls.enums import AlertDescription
from glasstls.errors import AlertError
from glasstls.observe import EventList, VerificationTrace
from glasstls.x509.mint import signature_hash

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

VERSIONS = {"1.3": ProtocolVersion.TLSv1_3, "1.2": ProtocolVersion.TLSv1_2}
PROTOCOL = {"1.3": "-tls1_3", "1.2": "-tls1_2"}
CERT = "ecdsa-p256"
REVOKED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _response(pki, status: str) -> bytes:
    """A DER OCSP response about the server certificate, signed by its issuer (RFC 6960, Section 4.2)."""
    issuer, key = pki.ca.issuer
    now = datetime.now(UTC)
    revoked = status == "revoked"
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=pki.identities[CERT].certificate,
        issuer=issuer,
        algorithm=hashes.SHA1(),  # the CertID hash OpenSSL looks certificates up with
        cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
        this_update=now - timedelta(minutes=10),
        next_update=now + timedelta(days=1),
        revocation_time=REVOKED_AT if revoked else None,
        revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
    return builder.sign(key, signature_hash(key)).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def responses(pki, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and revoked DER responses about the ECDSA server certificate, as s_server -status_file reads them."""
    directory = tmp_path_factory.mktemp("ocsp")
    out = {}
    for status in ("good", "revoked"):
        path = directory / f"{status}.der"
        path.write_bytes(_response(pki, status))
        out[status] = path
    return out


def _client_config(pki, version: str) -> ClientConfig:
    v = VERSIONS[version]
    return ClientConfig(trust_store=pki.trust_store(), tls_min=v, tls_max=v, ocsp="require")


@pytest.mark.parametrize("version", VERSIONS)
def test_openssl_staples_a_good_response_to_glasstls(pki, responses, tmp_path, version: str) -> None:
    events = EventList()
    args = ("-status_file", str(responses["good"]))
    with OpenSSLServer(pki.files[CERT], tmp_path / "s_server.trace", *args, protocol=PROTOCOL[version]) as server:
        try:
            with glasstls.connect(
                "127.0.0.1", server.port, _client_config(pki, version), server_name="localhost",
                timeout=WAIT, observer=events,
            ) as tls:  # fmt: skip
                params = tls.parameters
                tls.sendall(b"stapled\n")
                answer = read_line(tls.recv)
        except Exception as exc:
            raise AssertionError(f"glasstls client failed: {exc!r}; s_server said:\n{server.output}") from exc
        server.wait_exit()
    assert params.version == f"TLSv{version}" and answer == reverse_line(b"stapled\n")
    checks = [e for e in events.events if isinstance(e, VerificationTrace) and e.subject.startswith("OCSP staple")]
    assert len(checks) == 1 and checks[0].ok, checks
    assert checks[0].subject == "OCSP staple for CN=localhost" and checks[0].detail.startswith("good, signed by")


@pytest.mark.parametrize("version", VERSIONS)
def test_glasstls_refuses_a_revoked_staple_from_openssl(pki, responses, tmp_path, version: str) -> None:
    args = ("-status_file", str(responses["revoked"]))
    trace_path = tmp_path / "s_server.trace"
    with OpenSSLServer(pki.files[CERT], trace_path, *args, protocol=PROTOCOL[version]) as server:
        with pytest.raises(AlertError) as failure:
            glasstls.connect(
                "127.0.0.1", server.port, _client_config(pki, version), server_name="localhost", timeout=WAIT
            )
        output = server.wait_exit()
        trace = server.trace
    err = failure.value
    assert err.description == AlertDescription.certificate_revoked
    assert "server certificate CN=localhost was revoked on 2025-03-01 12:00:00 UTC (keyCompromise)" in err.reason
    assert trace_fatal_alerts(trace) == ["certificate revoked(44)"], trace  # what s_server received
    assert "alert certificate revoked" in output, output


@pytest.mark.parametrize("version", VERSIONS)
def test_glasstls_server_staples_to_openssl_s_client(pki, responses, tmp_path, version: str) -> None:
    events = EventList()
    certified = pki.certified_key(CERT).with_ocsp_file(responses["good"])
    v = VERSIONS[version]
    config = ServerConfig(certificates=(certified,), tls_min=v, tls_max=v)
    with ServerThread(glasstls_line_server(config, events)) as server:
        client = run_s_client(
            [
                PROTOCOL[version], "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost",
                "-CAfile", str(pki.root_file), "-verify_return_error", "-status", "-ign_eof",
            ],
            stdin=b"staple please\n",
        )  # fmt: skip
        try:
            params, received = server.result()
        except Exception as exc:
            raise AssertionError(f"glasstls server failed: {exc!r}; s_client said:\n{client.stdout}") from exc
    out = client.stdout
    assert client.returncode == 0, out + client.stderr
    assert params.version == f"TLSv{version}" and received == b"staple please\n"
    assert "OCSP Response Status: successful" in out, out
    assert "Cert Status: good" in out, out
    served = [e for e in events.events if isinstance(e, VerificationTrace) and e.subject.startswith("OCSP staple")]
    assert len(served) == 1 and served[0].ok and "stapled the response" in served[0].detail


@pytest.mark.parametrize("version", VERSIONS)
def test_glasstls_server_staples_nothing_when_not_asked(pki, responses, version: str) -> None:
    """Without -status, s_client sends no status_request: nothing is stapled (RFC 6066, Section 8)."""
    certified = pki.certified_key(CERT).with_ocsp_file(responses["good"])
    v = VERSIONS[version]
    with ServerThread(glasstls_line_server(ServerConfig(certificates=(certified,), tls_min=v, tls_max=v))) as server:
        client = run_s_client(
            [PROTOCOL[version], "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost", "-ign_eof"],
            stdin=b"no staple\n",
        )
        server.result()
    assert client.returncode == 0, client.stdout + client.stderr
    assert "OCSP response" not in client.stdout and "Cert Status" not in client.stdout
