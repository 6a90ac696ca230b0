"""The CA tool: glasstls.x509.ca (the API, at a fixed moment) and ``glasstls ca`` (the CLI, as a process).

What is checked: the files and their modes, the extensions of each certificate,
chains that glasstls's own validator accepts, CRLs that list revoked serials with
their reasons and verify under the intermediate's key, OCSP responses with the
right status signed by the issuer or a delegated responder, PKCS#12 bundles that
load back with their password, and errors that are one clear line, never a
traceback. OpenSSL's view of the same files is in tests/interop/test_ca_openssl.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from glasstls.cli.main import main
from glasstls.errors import AlertError, ConfigError
from glasstls.x509.ca import CertificateAuthority, load_certificates, serial_hex
from glasstls.x509.mint import generate_key
from glasstls.x509.store import TrustStore
from glasstls.x509.verify import verify_client_chain, verify_server_chain

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GLASSTLS = [sys.executable, "-m", "glasstls"]
CRL_URL = "http://ca.example/crl.der"
OCSP_URL = "http://ocsp.example/"


def ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension:
    return cert.extensions.get_extension_for_class(kind)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def verify_signature(public_key: object, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None) -> None:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        assert algorithm is not None
        public_key.verify(signature, data, ec.ECDSA(algorithm))
    elif isinstance(public_key, rsa.RSAPublicKey):
        assert algorithm is not None
        public_key.verify(signature, data, padding.PKCS1v15(), algorithm)
    else:
        assert isinstance(public_key, ed25519.Ed25519PublicKey)
        public_key.verify(signature, data)


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority.init(tmp_path / "ca", name="Test Root CA", crl_url=CRL_URL, ocsp_url=OCSP_URL, now=NOW)


# -- init and load -----------------------------------------------------------------------------


def test_init_writes_the_directory_with_private_keys_0600(ca: CertificateAuthority) -> None:
    d = ca.directory
    for name in ("root.pem", "root.key", "intermediate.pem", "intermediate.key", "chain.pem", "state.json"):
        assert (d / name).is_file(), name
    assert mode(d) == 0o700
    assert mode(d / "root.key") == 0o600
    assert mode(d / "intermediate.key") == 0o600
    assert load_certificates(d / "chain.pem") == [ca.intermediate.certificate]  # type: ignore[union-attr]
    state = json.loads((d / "state.json").read_text())
    assert state["ca"]["crl_url"] == CRL_URL and state["ca"]["ocsp_url"] == OCSP_URL
    assert [e["kind"] for e in state["issued"]] == ["intermediate"]


def test_ca_certificates_carry_the_rfc5280_extensions(ca: CertificateAuthority) -> None:
    root, inter = ca.root.certificate, ca.intermediate.certificate  # type: ignore[union-attr]
    assert root.subject.rfc4514_string() == "CN=Test Root CA"
    assert inter.subject.rfc4514_string() == "CN=Test Intermediate CA"
    assert inter.issuer == root.subject
    for cert, path_length in ((root, 1), (inter, 0)):
        constraints = ext(cert, x509.BasicConstraints)
        assert constraints.critical and constraints.value.ca and constraints.value.path_length == path_length
        usage = ext(cert, x509.KeyUsage)
        assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    root_ski = ext(root, x509.SubjectKeyIdentifier).value.digest
    assert ext(inter, x509.AuthorityKeyIdentifier).value.key_identifier == root_ski
    points = ext(inter, x509.CRLDistributionPoints).value
    assert [n.value for n in points[0].full_name] == [CRL_URL]
    access = ext(inter, x509.AuthorityInformationAccess).value
    assert [(a.access_method, a.access_location.value) for a in access] == [
        (x509.AuthorityInformationAccessOID.OCSP, OCSP_URL)
    ]
    assert not any(isinstance(e.value, x509.CRLDistributionPoints) for e in root.extensions)
    assert inter.not_valid_before_utc <= NOW <= inter.not_valid_after_utc <= root.not_valid_after_utc


def test_init_refuses_a_directory_that_holds_a_ca(ca: CertificateAuthority) -> None:
    with pytest.raises(ConfigError, match="already holds a CA"):
        CertificateAuthority.init(ca.directory, now=NOW)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key_type": "dsa"}, "unknown key type 'dsa'"),
        ({"days": 0}, "^days must be a whole number"),
        ({"crl_url": "crl.example"}, "^crl_url 'crl.example': give an http"),
        ({"name": "x" * 65}, "^name must be 1 to 64 characters"),
    ],
)
def test_init_rejects_bad_options(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CertificateAuthority.init(tmp_path / "ca", now=NOW, **kwargs)
    assert not (tmp_path / "ca").exists()


def test_load_reads_back_what_init_wrote(ca: CertificateAuthority) -> None:
    loaded = CertificateAuthority.load(ca.directory)
    assert loaded.root.certificate == ca.root.certificate
    assert loaded.chain == ca.chain
    assert loaded.crl_url == CRL_URL


def test_load_errors_say_what_to_do(tmp_path: Path, ca: CertificateAuthority) -> None:
    with pytest.raises(
        ConfigError, match=r"is not a CA directory \(no state.json\): create one with CertificateAuthority\.init"
    ):
        CertificateAuthority.load(tmp_path / "nowhere")
    (ca.directory / "intermediate.key").write_bytes((ca.directory / "root.key").read_bytes())
    with pytest.raises(ConfigError, match=r"intermediate\.key does not belong to .*intermediate\.pem"):
        CertificateAuthority.load(ca.directory)
    (ca.directory / "state.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"state\.json is damaged"):
        CertificateAuthority.load(ca.directory)


# -- issuing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa2048", "ed25519"])
def test_server_chain_verifies_with_glasstls(tmp_path: Path, key_type: str) -> None:
    ca = CertificateAuthority.init(tmp_path / key_type, key_type=key_type, now=NOW)  # type: ignore[arg-type]
    identity = ca.issue_server(["www.example.com", "*.api.example.com", "192.0.2.7"], key_type=key_type, now=NOW)  # type: ignore[arg-type]
    store = TrustStore([ca.root.certificate])
    assert identity.chain == (identity.certificate, ca.intermediate.certificate)  # type: ignore[union-attr]
    for name in ("www.example.com", "v1.api.example.com", "192.0.2.7"):
        verified = verify_server_chain(identity.chain, name, store, NOW)
        assert verified.path[-1] == ca.root.certificate
    with pytest.raises(AlertError, match=r"example\.org"):
        verify_server_chain(identity.chain, "example.org", store, NOW)


def test_rsa3072_keys() -> None:
    key = generate_key("rsa3072")
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072


def test_server_certificate_extensions(ca: CertificateAuthority) -> None:
    identity = ca.issue_server(["Bücher.example", "::1"], key_type="rsa2048", must_staple=True, now=NOW)
    cert = identity.certificate
    assert cert.subject.rfc4514_string() == "CN=xn--bcher-kva.example"
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["xn--bcher-kva.example"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["::1"]
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert ext(cert, x509.BasicConstraints).value.ca is False
    usage = ext(cert, x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment  # RSA: also the TLS 1.2 RSA key exchange
    assert list(ext(cert, x509.TLSFeature).value) == [x509.TLSFeatureType.status_request]  # RFC 7633
    inter_ski = ext(ca.intermediate.certificate, x509.SubjectKeyIdentifier).value.digest  # type: ignore[union-attr]
    assert ext(cert, x509.AuthorityKeyIdentifier).value.key_identifier == inter_ski
    assert ext(cert, x509.CRLDistributionPoints).value[0].full_name[0].value == CRL_URL
    assert cert.not_valid_after_utc - NOW == timedelta(days=90)


def test_leaves_never_outlive_their_issuer(ca: CertificateAuthority) -> None:
    cert = ca.issue_server(["long.example"], days=100_000, now=NOW).certificate
    assert cert.not_valid_after_utc == ca.intermediate.certificate.not_valid_after_utc  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["bad..name", "spaces in.example", "a.*.example", "-x.example", ""])
def test_bad_server_names_are_refused(ca: CertificateAuthority, name: str) -> None:
    with pytest.raises(ConfigError, match="not a DNS name"):
        ca.issue_server([name], now=NOW)


def test_client_certificates(ca: CertificateAuthority) -> None:
    alice = ca.issue_client("alice@example.com", key_type="ed25519", now=NOW)
    cert = alice.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice@example.com"
    san = ext(cert, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.RFC822Name) == ["alice@example.com"]
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]

    device = ca.issue_client("device1.example.com", now=NOW)
    assert ext(device.certificate, x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == [
        "device1.example.com"
    ]
    bob = ca.issue_client("Bob Smith", email="bob@example.com", now=NOW)
    assert bob.certificate.subject.rfc4514_string() == "CN=Bob Smith"
    store = TrustStore([ca.root.certificate])
    for identity in (device, bob):
        assert verify_client_chain(identity.chain, store, NOW)[-1] == ca.root.certificate
    with pytest.raises(ConfigError, match=r"give an e-mail address as well \(email\)"):
        ca.issue_client("Bob Smith", now=NOW)
    with pytest.raises(ConfigError, match="is not an e-mail address"):
        ca.issue_client("Bob", email="bob@", now=NOW)


def test_ocsp_responder_certificate(ca: CertificateAuthority) -> None:
    cert = ca.issue_ocsp_responder("Test OCSP Responder", now=NOW).certificate
    assert list(ext(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    assert isinstance(ext(cert, x509.OCSPNoCheck).value, x509.OCSPNoCheck)  # RFC 6960, 4.2.2.2.1
    assert cert.issuer == ca.intermediate.certificate.subject  # type: ignore[union-attr]
    assert cert.not_valid_after_utc - NOW == timedelta(days=30)


def test_serials_are_unique_random_and_recorded(ca: CertificateAuthority) -> None:
    certs = [ca.issue_server([f"h{i}.example"], now=NOW).certificate for i in range(5)]
    serials = {c.serial_number for c in certs}
    assert len(serials) == 5 and all(s.bit_length() > 100 for s in serials)
    state = json.loads((ca.directory / "state.json").read_text())
    recorded = {int(e["serial"], 16): e for e in state["issued"]}
    for cert in certs:
        entry = recorded[cert.serial_number]
        assert entry["kind"] == "server" and entry["issuer"] == "intermediate" and entry["key_type"] == "ecdsa-p256"
        assert load_certificates(ca.directory / "certs" / f"{serial_hex(cert.serial_number)}.pem") == [cert]
    # Another process's view of the same directory sees them too.
    assert {int(e["serial"], 16) for e in CertificateAuthority.load(ca.directory).issued} >= serials


# -- revocation: the record, the CRL and OCSP ----------------------------------------------------------


def test_revoke_and_crl(ca: CertificateAuthority) -> None:
    good = ca.issue_server(["good.example"], now=NOW).certificate
    bad = ca.issue_server(["bad.example"], now=NOW).certificate
    quiet = ca.issue_client("quiet@example.com", now=NOW).certificate
    when = NOW + timedelta(hours=1)
    revocation = ca.revoke(bad, "keyCompromise", when)
    assert (revocation.serial, revocation.reason, revocation.date) == (bad.serial_number, "keyCompromise", when)
    ca.revoke(quiet, "unspecified", when)

    crl = ca.crl(NOW + timedelta(hours=2), days=7)
    inter = ca.intermediate
    assert inter is not None
    assert crl.issuer == inter.certificate.subject
    assert crl.is_signature_valid(inter.certificate.public_key())
    assert not crl.is_signature_valid(ca.root.certificate.public_key())
    assert crl.last_update_utc == NOW + timedelta(hours=2)
    assert crl.next_update_utc == NOW + timedelta(days=7, hours=2)
    assert ext(crl, x509.CRLNumber).value.crl_number == 1  # type: ignore[arg-type]
    inter_ski = ext(inter.certificate, x509.SubjectKeyIdentifier).value.digest
    assert ext(crl, x509.AuthorityKeyIdentifier).value.key_identifier == inter_ski  # type: ignore[arg-type]
    entry = crl.get_revoked_certificate_by_serial_number(bad.serial_number)
    assert entry is not None and entry.revocation_date_utc == when
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    unspecified = crl.get_revoked_certificate_by_serial_number(quiet.serial_number)
    assert unspecified is not None and len(unspecified.extensions) == 0  # RFC 5280, 5.3.1: no reasonCode
    assert crl.get_revoked_certificate_by_serial_number(good.serial_number) is None
    assert ext(ca.crl(NOW, 7), x509.CRLNumber).value.crl_number == 2  # type: ignore[arg-type]


def test_revoking_twice_and_certificate_hold(ca: CertificateAuthority) -> None:
    cert = ca.issue_server(["held.example"], now=NOW).certificate
    ca.revoke(cert, "certificateHold", NOW)
    ca.revoke(cert, "superseded", NOW + timedelta(days=1))  # a hold may become a revocation for good
    assert [(r.reason, r.date) for r in ca.revocations] == [("superseded", NOW + timedelta(days=1))]
    with pytest.raises(ConfigError, match=r"already revoked since 2026-06-02 12:00:00 UTC \(superseded\)"):
        ca.revoke(cert, "keyCompromise", NOW)
    with pytest.raises(ConfigError, match="unknown revocation reason 'stolen'"):
        ca.revoke(cert, "stolen", NOW)


def test_revoking_what_another_ca_issued_is_refused(tmp_path: Path, ca: CertificateAuthority) -> None:
    other = CertificateAuthority.init(tmp_path / "other", name="Test Root CA", now=NOW)  # same names, other keys
    foreign = other.issue_server(["foreign.example"], now=NOW).certificate
    with pytest.raises(ConfigError, match="was not issued by this CA"):
        ca.revoke(foreign, "keyCompromise", NOW)
    with pytest.raises(ConfigError, match="the root cannot be revoked"):
        ca.revoke(ca.root.certificate, "keyCompromise", NOW)


def test_revoking_the_intermediate_goes_on_the_roots_crl(ca: CertificateAuthority) -> None:
    inter = ca.intermediate
    assert inter is not None
    ca.revoke(inter.certificate, "cACompromise", NOW)
    assert ca.crl(NOW, 7).get_revoked_certificate_by_serial_number(inter.certificate.serial_number) is None
    root_crl = ca.crl(NOW, 7, issuer="root")
    assert root_crl.is_signature_valid(ca.root.certificate.public_key())
    assert root_crl.get_revoked_certificate_by_serial_number(inter.certificate.serial_number) is not None
    response = ca.ocsp_response(inter.certificate, NOW)  # answered by the root
    assert response.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason == x509.ReasonFlags.ca_compromise


@pytest.mark.parametrize("delegated", [False, True], ids=["by-issuer", "by-delegated-responder"])
def test_ocsp_responses_for_good_and_revoked(ca: CertificateAuthority, delegated: bool) -> None:
    good = ca.issue_server(["good.example"], now=NOW).certificate
    bad = ca.issue_server(["bad.example"], now=NOW).certificate
    revoked_at = NOW + timedelta(minutes=5)
    ca.revoke(bad, "superseded", revoked_at)
    inter = ca.intermediate
    assert inter is not None
    responder = ca.issue_ocsp_responder("Test OCSP", now=NOW) if delegated else None
    pair = (responder.certificate, responder.private_key) if responder else None
    signer = responder.certificate if responder else inter.certificate
    later = NOW + timedelta(hours=1)
    for cert, status in ((good, ocsp.OCSPCertStatus.GOOD), (bad, ocsp.OCSPCertStatus.REVOKED)):
        der = ca.ocsp_response(cert, later, 4, pair).public_bytes(serialization.Encoding.DER)
        response = ocsp.load_der_ocsp_response(der)
        assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert response.certificate_status == status
        assert response.serial_number == cert.serial_number
        assert isinstance(response.hash_algorithm, hashes.SHA1)  # what OpenSSL looks statuses up by
        assert response.this_update_utc == later and response.next_update_utc == later + timedelta(days=4)
        assert response.responder_key_hash == ext(signer, x509.SubjectKeyIdentifier).value.digest
        assert response.certificates == ([signer] if delegated else [])
        verify_signature(
            signer.public_key(), response.signature, response.tbs_response_bytes, response.signature_hash_algorithm
        )
        # The CertID names the issuer by the hashes of its name and key (RFC 6960, 4.1.1).
        request = ocsp.OCSPRequestBuilder().add_certificate(cert, inter.certificate, hashes.SHA1()).build()
        assert response.issuer_key_hash == request.issuer_key_hash
        assert response.issuer_name_hash == request.issuer_name_hash
        if status == ocsp.OCSPCertStatus.REVOKED:
            assert response.revocation_time_utc == revoked_at
            assert response.revocation_reason == x509.ReasonFlags.superseded
        else:
            assert response.revocation_time_utc is None


def test_ocsp_response_with_sha256_cert_id(ca: CertificateAuthority) -> None:
    cert = ca.issue_server(["h.example"], now=NOW).certificate
    response = ca.ocsp_response(cert, NOW, hash_algorithm=hashes.SHA256())
    assert isinstance(response.hash_algorithm, hashes.SHA256)


def test_ocsp_refuses_a_responder_that_may_not_answer(tmp_path: Path, ca: CertificateAuthority) -> None:
    leaf = ca.issue_server(["h.example"], now=NOW)
    with pytest.raises(ConfigError, match="lacks the OCSPSigning extended key usage"):
        ca.ocsp_response(leaf.certificate, NOW, responder=(leaf.certificate, leaf.private_key))
    responder = ca.issue_ocsp_responder("R", now=NOW)
    with pytest.raises(ConfigError, match="responder key does not belong"):
        ca.ocsp_response(leaf.certificate, NOW, responder=(responder.certificate, leaf.private_key))
    other = CertificateAuthority.init(tmp_path / "other", now=NOW).issue_ocsp_responder("R", now=NOW)
    with pytest.raises(ConfigError, match="answers only for its own CA"):
        ca.ocsp_response(leaf.certificate, NOW, responder=(other.certificate, other.private_key))


# -- PKCS#12 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("legacy", [False, True], ids=["aes256", "legacy-3des"])
def test_export_pkcs12_loads_back_with_its_password(ca: CertificateAuthority, legacy: bool) -> None:
    identity = ca.issue_client("carol@example.com", now=NOW)
    bundle = ca.export_pkcs12(identity.chain, identity.private_key, "s3cret", legacy=legacy)
    key, cert, extra = pkcs12.load_key_and_certificates(bundle, b"s3cret")
    assert cert == identity.certificate
    assert key is not None and key.public_key() == identity.private_key.public_key()
    assert extra == [ca.intermediate.certificate]  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(bundle, b"wrong")
    loaded = pkcs12.load_pkcs12(bundle, b"s3cret")
    assert loaded.key is not None and loaded.cert is not None
    assert loaded.cert.friendly_name == b"carol@example.com"


def test_export_pkcs12_options_and_errors(ca: CertificateAuthority) -> None:
    identity = ca.issue_server(["p12.example"], key_type="ed25519", now=NOW)
    # The leaf alone: the intermediate is added from the CA; the root only on request.
    bundle = ca.export_pkcs12([identity.certificate], identity.private_key, None, include_root=True)
    key, cert, extra = pkcs12.load_key_and_certificates(bundle, None)
    assert cert == identity.certificate and extra == [*ca.chain, ca.root.certificate]
    other = ca.issue_server(["other.example"], now=NOW)
    with pytest.raises(ConfigError, match=r"the key does not belong to CN=p12\.example"):
        ca.export_pkcs12(identity.chain, other.private_key, "pw")


# -- a CA without an intermediate ---------------------------------------------------------------------


def test_root_only_ca(tmp_path: Path) -> None:
    ca = CertificateAuthority.init(tmp_path / "ca", with_intermediate=False, now=NOW)
    assert ca.intermediate is None and ca.chain == ()
    assert ext(ca.root.certificate, x509.BasicConstraints).value.path_length == 0
    assert not (ca.directory / "chain.pem").exists()
    identity = ca.issue_server(["solo.example"], now=NOW)
    assert identity.chain == (identity.certificate,)
    verify_server_chain(identity.chain, "solo.example", TrustStore([ca.root.certificate]), NOW)
    ca.revoke(identity.certificate, "keyCompromise", NOW)
    crl = CertificateAuthority.load(ca.directory).crl(NOW, 1)
    assert crl.issuer == ca.root.certificate.subject
    assert crl.get_revoked_certificate_by_serial_number(identity.certificate.serial_number) is not None
    with pytest.raises(ConfigError, match="no intermediate to sign a CRL"):
        ca.crl(NOW, 1, issuer="intermediate")


# -- the command line ------------------------------------------------------------------------------------


def glasstls_ca(cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*GLASSTLS, "ca", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    if ok:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 2, (result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def cli_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA made through the CLI: init, a server (must-staple), a client, a responder, one revoked server."""
    work = tmp_path_factory.mktemp("cli-ca")
    glasstls_ca(work, "init", "--name", "CLI Root CA", "--crl-url", CRL_URL, "--ocsp-url", OCSP_URL)
    glasstls_ca(work, "issue", "server", "localhost", "127.0.0.1", "--must-staple", "--out", "server")
    glasstls_ca(work, "--dir", "glasstls-ca", "issue", "server", "revoked.example", "--key-type", "rsa2048",
                "--out", "revoked")  # fmt: skip
    glasstls_ca(work, "issue", "client", "alice@example.com", "--key-type", "ed25519", "--dir", "glasstls-ca")
    glasstls_ca(work, "issue", "ocsp-responder", "CLI OCSP", "--out", "responder")
    glasstls_ca(work, "revoke", "revoked.pem", "--reason", "keyCompromise")
    return work


def test_cli_init_and_issue_write_files(cli_ca: Path) -> None:
    d = cli_ca / "glasstls-ca"
    for key in (d / "root.key", d / "intermediate.key", cli_ca / "server.key", cli_ca / "alice@example.com.key"):
        assert mode(key) == 0o600, key
    assert mode(d) == 0o700
    chain = load_certificates(cli_ca / "server.pem")
    assert len(chain) == 2 and chain[1] == load_certificates(d / "chain.pem")[0]
    assert chain[0].extensions.get_extension_for_class(x509.TLSFeature)
    store = TrustStore.from_file(d / "root.pem")
    verify_server_chain(chain, "127.0.0.1", store, datetime.now(UTC))
    alice = load_certificates(cli_ca / "alice@example.com.pem")
    verify_client_chain(alice, store, datetime.now(UTC))
    assert isinstance(serialization.load_pem_private_key((cli_ca / "alice@example.com.key").read_bytes(), None),
                      ed25519.Ed25519PrivateKey)  # fmt: skip


def test_cli_list_shows_the_revocation(cli_ca: Path) -> None:
    out = glasstls_ca(cli_ca, "list").stdout
    revoked = load_certificates(cli_ca / "revoked.pem")[0]
    line = next(x for x in out.splitlines() if x.startswith(serial_hex(revoked.serial_number)))
    assert "revoked" in line and "keyCompromise" in line
    assert "ocsp-responder" in out and "alice@example.com" in out


def test_cli_crl_pem_and_der(cli_ca: Path, tmp_path: Path) -> None:
    out = glasstls_ca(cli_ca, "crl", "--days", "3", "--out", str(tmp_path / "crl.pem")).stdout
    assert "keyCompromise" in out
    crl = x509.load_pem_x509_crl((tmp_path / "crl.pem").read_bytes())
    assert x509.load_der_x509_crl((tmp_path / "crl.der").read_bytes()) == crl
    revoked = load_certificates(cli_ca / "revoked.pem")[0]
    entry = crl.get_revoked_certificate_by_serial_number(revoked.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
    intermediate = load_certificates(cli_ca / "glasstls-ca" / "intermediate.pem")[0]
    assert crl.is_signature_valid(intermediate.public_key())
    assert crl.next_update_utc - crl.last_update_utc == timedelta(days=3)  # type: ignore[operator]


def test_cli_ocsp_good_revoked_and_delegated(cli_ca: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.der"
    out = glasstls_ca(cli_ca, "ocsp", "server.pem", "--out", str(good)).stdout
    assert ": good" in out
    assert ocsp.load_der_ocsp_response(good.read_bytes()).certificate_status == ocsp.OCSPCertStatus.GOOD
    out = glasstls_ca(cli_ca, "ocsp", "revoked.pem", "--responder", "responder.pem", "--responder-key",
                      "responder.key", "--hash", "sha256").stdout  # fmt: skip
    assert "revoked since" in out and "(keyCompromise)" in out and "CN=CLI OCSP" in out
    response = ocsp.load_der_ocsp_response((cli_ca / "revoked.ocsp.der").read_bytes())
    assert response.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert isinstance(response.hash_algorithm, hashes.SHA256)
    assert response.certificates == load_certificates(cli_ca / "responder.pem")[:1]


def test_cli_export_pkcs12(cli_ca: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "server.p12"
    glasstls_ca(cli_ca, "export", "server.pem", "server.key", "--password", "pw", "--out", str(bundle))
    assert mode(bundle) == 0o600
    key, cert, extra = pkcs12.load_key_and_certificates(bundle.read_bytes(), b"pw")
    assert cert == load_certificates(cli_ca / "server.pem")[0] and key is not None
    assert extra == load_certificates(cli_ca / "glasstls-ca" / "chain.pem")
    password_file = tmp_path / "password"
    password_file.write_text("from-a-file\n")
    glasstls_ca(cli_ca, "export", "server.pem", "server.key", "--password-file", str(password_file), "--out",
                str(tmp_path / "b.p12"), "--include-root")  # fmt: skip
    _, _, extra = pkcs12.load_key_and_certificates((tmp_path / "b.p12").read_bytes(), b"from-a-file")
    assert len(extra) == 2
    # An existing bundle is replaced only with --force (it was overwritten silently; issue and sign ask).
    again = glasstls_ca(
        cli_ca, "export", "server.pem", "server.key", "--password", "pw2", "--out", str(bundle), ok=False
    )
    assert "exists: give --force to replace it" in again.stderr
    assert pkcs12.load_key_and_certificates(bundle.read_bytes(), b"pw")[1] == cert
    glasstls_ca(cli_ca, "export", "server.pem", "server.key", "--password", "pw2", "--out", str(bundle), "--force")
    assert pkcs12.load_key_and_certificates(bundle.read_bytes(), b"pw2")[1] == cert


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["issue", "server", "ok.example", "--out", "server"], "server.key exists: choose another --out PREFIX"),
        (["issue", "client", "a", "b"], "a client certificate has one name"),
        (["issue", "server", "bad..name"], "is not a DNS name"),
        (["revoke", "revoked.pem"], "is already revoked since"),
        (["revoke", "glasstls-ca/root.pem"], "the root cannot be revoked"),
        (["revoke"], "name the certificate to revoke"),
        (["revoke", "--serial", "ABCDEF"], "has no certificate with serial ABCDEF"),
        (["revoke", "missing.pem"], "cannot read certificate file missing.pem: No such file"),
        (["ocsp", "server.pem", "--responder", "responder.pem"], "needs both --responder PEM and --responder-key"),
        (["ocsp", "server.pem", "--responder", "server.pem", "--responder-key", "server.key"], "lacks the OCSPSigning"),
        (["export", "server.pem", "revoked.key", "--no-password"], "the key does not belong to CN=localhost"),
        (["export", "server.pem", "server.key"], "needs a password"),
        (["init"], "already holds a CA"),
        (["--dir", "nowhere", "crl"], "nowhere is not a CA directory"),
    ],
)
def test_cli_errors_are_one_clear_line(
    cli_ca: Path, args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process (main() is what `python -m glasstls` runs) to keep the matrix fast; anything but a
    # ConfigError would escape main() and fail the test with its traceback.
    monkeypatch.chdir(cli_ca)
    assert main(["ca", *args]) == 2
    err = capsys.readouterr().err
    # One line, and the command line's own hint on a second where the error's facts call for one.
    assert err.startswith("glasstls: ") and message in err and err.count("\n") == 1 + ("\n  hint: " in err), err


def test_cli_error_from_a_real_process(cli_ca: Path) -> None:
    result = glasstls_ca(cli_ca, "ocsp", "glasstls-ca/root.pem", ok=False)
    assert result.stderr == "glasstls: CN=CLI Root CA is this CA's root: a trust anchor has no issuer to vouch for it\n"
    assert result.stdout == ""


def test_cli_no_intermediate(tmp_path: Path) -> None:
    glasstls_ca(tmp_path, "--dir", "solo", "init", "--no-intermediate", "--key-type", "ed25519", "--days", "30")
    assert not (tmp_path / "solo" / "chain.pem").exists()
    glasstls_ca(tmp_path, "--dir", "solo", "issue", "server", "solo.example")
    assert len(load_certificates(tmp_path / "solo.example.pem")) == 1
    crl = glasstls_ca(tmp_path, "--dir", "solo", "crl").stdout
    assert "CRL #1 by CN=glasstls Root CA: 0 revoked" in crl
    assert (tmp_path / "solo" / "crl.pem").exists() and (tmp_path / "solo" / "crl.der").exists()


def test_cli_revoke_by_serial(tmp_path: Path) -> None:
    glasstls_ca(tmp_path, "init")
    glasstls_ca(tmp_path, "issue", "server", "*.example.com")
    cert = load_certificates(tmp_path / "_wildcard.example.com.pem")[0]
    serial = serial_hex(cert.serial_number)
    colons = ":".join(serial[i : i + 2] for i in range(0, len(serial), 2)).lower()
    out = glasstls_ca(tmp_path, "revoke", "--serial", colons, "--reason", "cessationOfOperation").stdout
    assert f"serial {serial}" in out and "cessationOfOperation" in out
    assert os.path.exists(tmp_path / "glasstls-ca" / "certs" / f"{serial}.pem")
