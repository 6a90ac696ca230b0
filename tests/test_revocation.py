"""Revocation, in memory: OCSP stapling (both versions, both roles), must-staple, CRLs with
soft and hard fail, client certificates looked up in the server's CRLs, the staple source
on the server, and the command-line options. The same against OpenSSL is in
tests/interop/test_ocsp_openssl.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from glasstls import CertifiedKey, ClientConfig, ProtocolVersion, ServerConfig
from glasstls.cli.common import client_config, server_config
from glasstls.cli.main import build_parser
from glasstls.enums import AlertDescription, AlertLevel
from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertError, ConfigError, PeerAlertError
from glasstls.events import AlertReceived, ConnectionClosed, Event
from glasstls.observe import EventList, MessageTrace, VerificationTrace
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension
from glasstls.wire.handshake import Certificate, CertificateEntry, ClientHello
from glasstls.wire.handshake12 import CertificateStatus
from glasstls.x509.mint import (
    SERVER_AUTH,
    Identity,
    Issuer,
    ThrowawayCA,
    build_certificate,
    generate_key,
    leaf_key_usage,
    subject_name,
)
from glasstls.x509.revocation import check_crls, check_ocsp_response, load_crls, must_staple, require_good
from glasstls.x509.stapling import StapleSource
from glasstls.x509.store import TrustStore
from pairs import TamperingClient, TamperingServer, default_ca, other_ca, server_identity
from revocation_helpers import REVOKED_AT, crl, der, ocsp_response, staple, stapled_key, undecodable_name

A = AlertDescription
VERSIONS = {"1.3": ProtocolVersion.TLSv1_3, "1.2": ProtocolVersion.TLSv1_2}
BAD_STATUS = A.bad_certificate_status_response
REVOKED_TEXT = "was revoked on 2025-03-01 12:00:00 UTC (keyCompromise)"


# -- the PKI -----------------------------------------------------------------------------------


def _issuer() -> tuple[x509.Certificate, Any]:
    return default_ca().issuer


def _leaf(
    name: str = "localhost",
    extra: list[tuple[x509.ExtensionType, bool]] | None = None,
    eku: tuple[x509.ObjectIdentifier, ...] | None = (SERVER_AUTH,),
    ca: ThrowawayCA | None = None,
) -> Identity:
    """A leaf under the shared CA's intermediate, with extensions a test needs (must-staple, OCSPSigning;
    ``eku`` None: no extendedKeyUsage at all)."""
    ca = ca or default_ca()
    issuer_cert, issuer_key = ca.issuer
    key = generate_key("ecdsa-p256")
    start = datetime.now(UTC) - timedelta(hours=1)
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (leaf_key_usage(key), True),
        (x509.SubjectAlternativeName([x509.DNSName(name)]), False),
        *([(x509.ExtendedKeyUsage(list(eku)), False)] if eku is not None else []),
        *(extra or []),
    ]
    cert = build_certificate(
        subject_name(name),
        key.public_key(),
        Issuer(issuer_cert, issuer_key),
        issuer_key,
        start,
        start + timedelta(days=30),
        extensions,
    )
    chain = (cert, ca.intermediate_cert) if ca.intermediate_cert is not None else (cert,)
    return Identity(cert, chain, key)


_MUST_STAPLE: list[Identity] = []
_RESPONDERS: dict[str, Identity] = {}


def must_staple_identity() -> Identity:
    if not _MUST_STAPLE:
        _MUST_STAPLE.append(_leaf(extra=[(x509.TLSFeature([x509.TLSFeatureType.status_request]), False)]))
    return _MUST_STAPLE[0]


def responder(kind: str = "good") -> Identity:
    """A delegated OCSP responder: "good" (OCSPSigning, issued by the intermediate), "no-eku", "stranger"."""
    if kind not in _RESPONDERS:
        if kind == "good":
            _RESPONDERS[kind] = _leaf("ocsp.test", eku=(ExtendedKeyUsageOID.OCSP_SIGNING,))
        elif kind == "no-eku":
            _RESPONDERS[kind] = _leaf("ocsp.test", eku=(SERVER_AUTH,))
        else:
            _RESPONDERS[kind] = _leaf("ocsp.test", eku=(ExtendedKeyUsageOID.OCSP_SIGNING,), ca=other_ca())
    return _RESPONDERS[kind]


def identity() -> Identity:
    return server_identity("localhost")


def good_staple(**kw: Any) -> bytes:
    return staple(identity(), default_ca(), **kw)


# -- running handshakes -------------------------------------------------------------------------


@dataclass
class Outcome:
    client: TamperingClient
    server: TamperingServer
    client_events: list[Event]
    server_events: list[Event]
    client_log: EventList
    server_log: EventList

    @property
    def connected(self) -> bool:
        return self.client.handshake_complete and self.server.handshake_complete

    def checks(self, side: str, prefix: str) -> list[VerificationTrace]:
        log = self.client_log if side == "client" else self.server_log
        return [e for e in log.events if isinstance(e, VerificationTrace) and e.subject.startswith(prefix)]

    def sent(self, side: str, kind: type) -> list[Any]:
        log = self.client_log if side == "client" else self.server_log
        return [
            e.message
            for e in log.events
            if isinstance(e, MessageTrace) and e.direction == "out" and isinstance(e.message, kind)
        ]


def handshake(
    version: str,
    *,
    certified: CertifiedKey | None = None,
    ckw: dict[str, Any] | None = None,
    skw: dict[str, Any] | None = None,
    client_clock: Callable[[], datetime] | None = None,
    server_alter: Any = None,
) -> Outcome:
    v = VERSIONS[version]
    certified = certified or CertifiedKey(identity().chain, identity().private_key)
    # No certificate compression: the tests read (and alter) the server's TLS 1.3 Certificate itself.
    ckw = {"certificate_compression": (), **(ckw or {})}
    ccfg = ClientConfig(trust_store=TrustStore.from_pem(default_ca().root_pem()), tls_min=v, tls_max=v, **ckw)
    scfg = ServerConfig(certificates=(certified,), tls_min=v, tls_max=v, **(skw or {}))
    client_log, server_log = EventList(), EventList()
    extra = {"clock": client_clock} if client_clock is not None else {}
    client = TamperingClient(ccfg, "localhost", observer=client_log, **extra)
    server = TamperingServer(scfg, server_alter, observer=server_log)
    client_events: list[Event] = []
    server_events: list[Event] = []
    for _ in range(8):
        to_server = client.data_to_send()
        if to_server:
            server_events += server.receive_bytes(to_server)
        to_client = server.data_to_send()
        if to_client:
            client_events += client.receive_bytes(to_client)
        if not to_server and not to_client:
            break
    return Outcome(client, server, client_events, server_events, client_log, server_log)


def refused(outcome: Outcome, alert: AlertDescription, *texts: str, detector: str = "client") -> AlertError:
    """``detector`` failed with ``alert`` and a reason holding ``texts``; the other side got that alert."""
    found, other = (
        (outcome.client_events, outcome.server_events)
        if detector == "client"
        else (outcome.server_events, outcome.client_events)
    )
    closed = [e for e in found if isinstance(e, ConnectionClosed)]
    assert len(closed) == 1 and isinstance(closed[0].error, AlertError), found
    error = closed[0].error
    assert error.description == alert, error
    for text in texts:
        assert text in error.reason, error.reason
    assert AlertReceived(AlertLevel.fatal, alert) in other, other
    peer = [e for e in other if isinstance(e, ConnectionClosed)]
    assert peer and isinstance(peer[0].error, PeerAlertError) and peer[0].error.description == alert
    return error


# -- the ClientHello --------------------------------------------------------------------------------


def test_client_asks_for_a_staple_by_default_and_not_when_off() -> None:
    hello = handshake("1.3").sent("client", ClientHello)[0]
    request = hello.ext(E.status_request)
    assert request is not None and request.value == X.StatusRequest()
    off = handshake("1.3", ckw={"ocsp": "off"}, certified=stapled_key(identity(), default_ca()))
    assert off.sent("client", ClientHello)[0].ext(E.status_request) is None
    assert off.connected and not off.checks("server", "OCSP staple")  # not asked: nothing stapled


def test_config_rejects_unknown_policies() -> None:
    with pytest.raises(ConfigError, match="ocsp must be"):
        ClientConfig(ocsp="always")
    with pytest.raises(ConfigError, match="revocation must be"):
        ClientConfig(revocation="medium")
    with pytest.raises(ConfigError, match="client_revocation"):
        ServerConfig(certificates=(CertifiedKey(identity().chain, identity().private_key),), client_revocation="x")
    with pytest.raises(ConfigError, match="CertificateRevocationList"):
        ClientConfig(crls=(b"not a CRL",))  # type: ignore[arg-type]


# -- OCSP stapling, both versions --------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_good_staple_is_accepted_and_traced(version: str) -> None:
    outcome = handshake(version, certified=stapled_key(identity(), default_ca()), ckw={"ocsp": "require"})
    assert outcome.connected
    (check,) = outcome.checks("client", "OCSP staple for CN=localhost")
    assert check.ok and check.detail.startswith("good, signed by the issuer CN=glasstls throwaway root intermediate")
    (served,) = outcome.checks("server", "OCSP staple for CN=localhost")
    assert served.ok and "stapled the response" in served.detail and "good" in served.detail
    if version == "1.2":
        (status,) = outcome.sent("server", CertificateStatus)
        assert ocsp.load_der_ocsp_response(status.ocsp_response).serial_number == identity().certificate.serial_number
    else:
        (cert,) = outcome.sent("server", Certificate)
        leaf_exts = cert.entries[0].extensions
        assert [e.type for e in leaf_exts] == [E.status_request]
        assert all(not entry.extensions for entry in cert.entries[1:])


@pytest.mark.parametrize("version", VERSIONS)
def test_revoked_staple_is_certificate_revoked(version: str) -> None:
    outcome = handshake(version, certified=stapled_key(identity(), default_ca(), status="revoked"))
    error = refused(outcome, A.certificate_revoked, f"server certificate CN=localhost {REVOKED_TEXT}", "stapled OCSP")
    assert "(alert certificate_revoked while " in str(error)
    (check,) = outcome.checks("client", "OCSP staple for")
    assert not check.ok and REVOKED_TEXT in check.detail


@pytest.mark.parametrize("version", VERSIONS)
def test_stale_staple_is_bad_certificate_status_response(version: str) -> None:
    # Fresh at the server's clock, two days old at the client's: its nextUpdate (one day) has passed.
    later = datetime.now(UTC) + timedelta(days=2)
    outcome = handshake(version, certified=stapled_key(identity(), default_ca()), client_clock=lambda: later)
    refused(outcome, BAD_STATUS, "stapled OCSP response for server certificate CN=localhost is stale", "nextUpdate")


@pytest.mark.parametrize("version", VERSIONS)
def test_server_never_staples_a_stale_response(version: str) -> None:
    past = datetime.now(UTC) - timedelta(days=3)
    certified = stapled_key(identity(), default_ca(), this_update=past, next_update=past + timedelta(days=1))
    outcome = handshake(version, certified=certified)
    assert outcome.connected  # "request": no staple is fine for a certificate that is not must-staple
    (served,) = outcome.checks("server", "OCSP staple for")
    assert not served.ok and "went stale" in served.detail
    assert not outcome.checks("client", "OCSP staple for")
    required = handshake(version, certified=certified, ckw={"ocsp": "require"})
    refused(required, BAD_STATUS, "stapled no OCSP response", "requires one (ocsp='require', --ocsp require)")


@pytest.mark.parametrize("version", VERSIONS)
def test_server_does_not_staple_an_old_response_without_next_update(version: str) -> None:
    """RFC 6960, 4.2.2.1: without nextUpdate newer information is always available; glasstls's client
    refuses such a response made more than 7 days ago, so its server does not staple one either."""
    old = datetime.now(UTC) - timedelta(days=30)
    certified = stapled_key(identity(), default_ca(), this_update=old, next_update=None)
    outcome = handshake(version, certified=certified)
    assert outcome.connected
    (served,) = outcome.checks("server", "OCSP staple for")
    assert not served.ok and "has no nextUpdate and was made" in served.detail
    assert "more than 7 days ago" in served.detail
    assert not outcome.checks("client", "OCSP staple for")
    fresh = stapled_key(identity(), default_ca(), this_update=datetime.now(UTC) - timedelta(days=1), next_update=None)
    assert handshake(version, certified=fresh).checks("client", "OCSP staple for")[0].ok


@pytest.mark.parametrize("version", VERSIONS)
def test_staple_signed_by_a_stranger_is_bad_certificate_status_response(version: str) -> None:
    stranger = other_ca().issuer
    leaf, (issuer_cert, _) = identity().certificate, _issuer()
    forged = der(ocsp_response(leaf, issuer_cert, stranger))
    outcome = handshake(version, certified=CertifiedKey(identity().chain, identity().private_key).with_ocsp(forged))
    refused(outcome, BAD_STATUS, "neither the issuer CN=glasstls throwaway root intermediate")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_staple_whose_responder_name_does_not_decode_is_bad_certificate_status_response(version: str) -> None:
    """A ResponderID byName whose UTF8String is not UTF-8: cryptography loads the response and raises only
    when the name is read. It was internal_error ("a bug in glasstls"); it is a response that cannot be
    checked (found by a helper's review of what peers can feed the client)."""
    issuer = _issuer()
    response = der(ocsp_response(identity().certificate, issuer[0], issuer, by_name=True))
    broken = undecodable_name(response, issuer[0].subject.rfc4514_string().removeprefix("CN="))
    _fails(broken, "does not parse")
    outcome = handshake(version, certified=CertifiedKey(identity().chain, identity().private_key).with_ocsp(broken))
    refused(outcome, BAD_STATUS, "does not parse")


@pytest.mark.parametrize("version", VERSIONS)
def test_staple_about_another_certificate_is_bad_certificate_status_response(version: str) -> None:
    other = _leaf("other.test")
    issuer_cert, issuer_key = _issuer()
    wrong = der(ocsp_response(other.certificate, issuer_cert, (issuer_cert, issuer_key)))

    # The server checks the CertID before stapling, so the lie is told on the wire.
    def swap(msg: Any) -> bytes | None:
        if isinstance(msg, CertificateStatus):
            return CertificateStatus(ocsp_response=wrong).encode()
        if isinstance(msg, Certificate) and msg.entries and msg.entries[0].extensions:
            entry = CertificateEntry(msg.entries[0].cert_data, (Extension.make(E.status_request, wrong, X.CT),))
            return Certificate(msg.certificate_request_context, (entry, *msg.entries[1:])).encode()
        return None

    outcome = handshake(version, certified=stapled_key(identity(), default_ca()), server_alter=swap)
    refused(outcome, BAD_STATUS, "is about another certificate", f"serial {other.certificate.serial_number:#x}")


@pytest.mark.parametrize("version", VERSIONS)
def test_must_staple_certificate_without_staple_fails(version: str) -> None:
    ms = must_staple_identity()
    assert must_staple(ms.certificate) and not must_staple(identity().certificate)
    outcome = handshake(version, certified=CertifiedKey(ms.chain, ms.private_key))
    refused(outcome, BAD_STATUS, "is must-staple", "RFC 7633", "stapled no OCSP response")
    stapled = handshake(version, certified=stapled_key(ms, default_ca()))
    assert stapled.connected
    # "off" neither asks nor honours must-staple.
    assert handshake(version, certified=CertifiedKey(ms.chain, ms.private_key), ckw={"ocsp": "off"}).connected


@pytest.mark.parametrize("version", VERSIONS)
def test_require_policy_without_staple_fails(version: str) -> None:
    outcome = handshake(version, ckw={"ocsp": "require"})
    refused(outcome, BAD_STATUS, "the server stapled no OCSP response for CN=localhost", "ocsp='require'")


@pytest.mark.parametrize("version", VERSIONS)
def test_delegated_responder(version: str) -> None:
    issuer_cert, _ = _issuer()
    leaf = identity().certificate

    def by(kind: str) -> CertifiedKey:
        signer = responder(kind)
        response = ocsp_response(leaf, issuer_cert, (signer.certificate, signer.private_key), include_signer=True)
        return CertifiedKey(identity().chain, identity().private_key).with_ocsp(der(response))

    good = handshake(version, certified=by("good"))
    assert good.connected
    assert "signed by delegated responder CN=ocsp.test" in good.checks("client", "OCSP staple")[0].detail
    refused(handshake(version, certified=by("no-eku")), BAD_STATUS, "lacks the OCSPSigning extended key usage")
    refused(handshake(version, certified=by("stranger")), BAD_STATUS, "which was not issued by CN=glasstls throwaway")


def test_tls13_staple_the_client_did_not_ask_for_is_unsupported_extension() -> None:
    def add_staple(msg: Any) -> bytes | None:
        if not isinstance(msg, Certificate):
            return None
        entry = CertificateEntry(msg.entries[0].cert_data, (Extension.make(E.status_request, good_staple(), X.CT),))
        return Certificate(msg.certificate_request_context, (entry, *msg.entries[1:])).encode()

    outcome = handshake("1.3", ckw={"ocsp": "off"}, server_alter=add_staple)
    refused(outcome, A.unsupported_extension, "CertificateEntry #0 carries status_request")


def test_tls12_certificate_status_without_status_request_is_unexpected() -> None:
    def add_status(msg: Any) -> bytes | None:
        if type(msg).__name__ == "Certificate12":
            return msg.raw + CertificateStatus(ocsp_response=good_staple()).encode()
        return None

    outcome = handshake("1.2", server_alter=add_status)
    refused(outcome, A.unexpected_message, "unexpected CertificateStatus")


@pytest.mark.parametrize("version", VERSIONS)
def test_staple_from_the_ca_tool(version: str, tmp_path: Path) -> None:
    """glasstls.x509.ca: a must-staple certificate, its OCSP answers made on demand, then revoked."""
    from glasstls.x509.ca import CertificateAuthority

    ca = CertificateAuthority.init(tmp_path / "ca")
    issued = ca.issue_server(["localhost"], must_staple=True)
    source = StapleSource.from_callable(
        lambda now: ca.ocsp_response(issued.certificate, now).public_bytes(serialization.Encoding.DER), "the CA tool"
    )
    certified = CertifiedKey(issued.chain, issued.private_key).with_ocsp(source)
    trust = {"trust_store": TrustStore.from_pem(ca.root.certificate.public_bytes(serialization.Encoding.PEM))}

    def run(**ckw: Any) -> Outcome:
        v = VERSIONS[version]
        ccfg = ClientConfig(tls_min=v, tls_max=v, **(trust | ckw))
        scfg = ServerConfig(certificates=(certified,), tls_min=v, tls_max=v)
        client_log, server_log = EventList(), EventList()
        client = TamperingClient(ccfg, "localhost", observer=client_log)
        server = TamperingServer(scfg, observer=server_log)
        ce: list[Event] = []
        se: list[Event] = []
        for _ in range(8):
            if out := client.data_to_send():
                se += server.receive_bytes(out)
            if out := server.data_to_send():
                ce += client.receive_bytes(out)
        return Outcome(client, server, ce, se, client_log, server_log)

    assert run().connected
    ca.revoke(issued.certificate, "keyCompromise", when=REVOKED_AT)
    source._response = None  # the next handshake asks the CA again (a file source would see the file change)
    source._attempted = None
    refused(run(), A.certificate_revoked, REVOKED_TEXT)
    # The CA's CRL says the same to a client that does not ask for a staple.
    refused(run(ocsp="off", crls=(ca.crl(datetime.now(UTC)),)), A.certificate_revoked, REVOKED_TEXT, "says the CRL")


# -- CRLs, both versions -------------------------------------------------------------------------------


def _root() -> tuple[x509.Certificate, Any]:
    return default_ca().root_cert, default_ca().root_key


@pytest.mark.parametrize("policy", ["soft", "hard"])
@pytest.mark.parametrize("version", VERSIONS)
def test_crl_revoked_is_certificate_revoked(version: str, policy: str) -> None:
    crls = (crl(_issuer(), [identity().certificate]), crl(_root()))
    outcome = handshake(version, ckw={"crls": crls, "revocation": policy, "ocsp": "off"})
    refused(
        outcome,
        A.certificate_revoked,
        f"server certificate CN=localhost {REVOKED_TEXT}",
        "says the CRL of CN=glasstls throwaway root intermediate",
    )
    (check,) = outcome.checks("client", "CRL check for CN=localhost")
    assert not check.ok


@pytest.mark.parametrize("version", VERSIONS)
def test_crl_good_passes_with_a_trace_per_certificate(version: str) -> None:
    crls = (crl(_issuer()), crl(_root()))
    outcome = handshake(version, ckw={"crls": crls, "revocation": "hard"})
    assert outcome.connected
    checks = outcome.checks("client", "CRL check for")
    assert [c.subject for c in checks] == [
        "CRL check for CN=localhost",
        "CRL check for CN=glasstls throwaway root intermediate",
    ]
    assert all(c.ok and c.detail.startswith("not on the CRL of") for c in checks)


@pytest.mark.parametrize("version", VERSIONS)
def test_hard_policy_without_crl_fails_and_soft_passes(version: str) -> None:
    hard = handshake(version, ckw={"revocation": "hard"})
    refused(hard, A.certificate_unknown, "no CRL for issuer CN=glasstls throwaway root intermediate", "hard-fail")
    soft = handshake(version, ckw={"revocation": "soft"})
    assert soft.connected and not soft.checks("client", "CRL check")  # nothing to check, nothing reported
    # Soft with a CRL for the leaf only: the intermediate passes, and the trace says why.
    partial = handshake(version, ckw={"crls": (crl(_issuer()),)})
    assert partial.connected
    assert "no CRL for issuer CN=glasstls throwaway root; accepted (soft-fail)" in [
        c.detail for c in partial.checks("client", "CRL check")
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_hard_policy_accepts_a_good_staple_instead_of_the_leaf_crl(version: str) -> None:
    certified = stapled_key(identity(), default_ca())
    outcome = handshake(version, certified=certified, ckw={"revocation": "hard", "crls": (crl(_root()),)})
    assert outcome.connected
    leaf_check = outcome.checks("client", "CRL check for CN=localhost")[0]
    assert leaf_check.ok and "its status comes from its stapled OCSP response" in leaf_check.detail
    refused(handshake(version, ckw={"revocation": "hard", "crls": (crl(_root()),)}), A.certificate_unknown)


def test_crl_details() -> None:
    leaf, intermediate, root = identity().certificate, default_ca().intermediate_cert, default_ca().root_cert
    assert intermediate is not None
    path, now = (leaf, intermediate, root), datetime.now(UTC)
    # A CRL that names the issuer but is signed by another key is not the issuer's.
    stranger_key = other_ca().root_key
    forged = crl((intermediate, stranger_key), [leaf])
    (check, _) = check_crls(path, [forged, crl(_root())], now)
    assert check.status == "missing" and "signature does not verify" in check.detail
    # Revocation on a CRL that is no longer current still counts; currency matters only for "hard".
    old = crl(_issuer(), [leaf], last_update=now - timedelta(days=30), next_update=now - timedelta(days=20))
    with pytest.raises(AlertError, match="was revoked on") as revoked:
        check_crls(path, [old], now)
    assert revoked.value.description == A.certificate_revoked
    stale = crl(_issuer(), [], last_update=now - timedelta(days=30), next_update=now - timedelta(days=20))
    with pytest.raises(AlertError, match="is not current") as unknown:
        check_crls(path, [stale, crl(_root())], now, "hard")
    assert unknown.value.description == A.certificate_unknown
    # certificateHold is a suspension, and says so.
    held = crl(_issuer(), [leaf], reason=x509.ReasonFlags.certificate_hold)
    with pytest.raises(AlertError, match=r"was put on hold on .* \(certificateHold\)"):
        check_crls(path, [held], now)


# -- client certificates and the server's CRLs ------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_client_certificate_revoked_by_client_crl(version: str) -> None:
    alice = default_ca().issue_client("alice.test")
    ckw = {"certificate": CertifiedKey(alice.chain, alice.private_key)}
    client_auth = {"client_auth": "required", "client_trust_store": TrustStore.from_pem(default_ca().root_pem())}
    revoked = handshake(version, ckw=ckw, skw=client_auth | {"client_crls": (crl(_issuer(), [alice.certificate]),)})
    refused(revoked, A.certificate_revoked, f"client certificate CN=alice.test {REVOKED_TEXT}", detector="server")
    good = handshake(version, ckw=ckw, skw=client_auth | {"client_crls": (crl(_issuer()),)})
    assert good.connected
    assert [c.ok for c in good.checks("server", "CRL check for CN=alice.test")] == [True]
    hard = handshake(version, ckw=ckw, skw=client_auth | {"client_revocation": "hard"})
    refused(hard, A.certificate_unknown, "no CRL for issuer", "ServerConfig.client_crls", detector="server")


# -- check_ocsp_response, directly --------------------------------------------------------------------


def _check(der_bytes: bytes, now: datetime | None = None, **kw: Any) -> Any:
    issuer_cert, _ = _issuer()
    return check_ocsp_response(der_bytes, identity().certificate, issuer_cert, now or datetime.now(UTC), **kw)


def _fails(der_bytes: bytes, pattern: str, now: datetime | None = None, **kw: Any) -> None:
    with pytest.raises(AlertError, match=pattern) as err:
        _check(der_bytes, now, **kw)
    assert err.value.description == BAD_STATUS


def test_ocsp_response_checks() -> None:
    now = datetime.now(UTC)
    assert _check(good_staple(algorithm=hashes.SHA256())).status == "good"  # a SHA-256 CertID matches too
    _fails(b"not DER at all", "is not a DER OCSP response")
    unsuccessful = ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER)
    _fails(der(unsuccessful), "has status try_later, not successful")
    _fails(good_staple(this_update=now + timedelta(hours=1)), "is not valid yet")
    # Without nextUpdate a response is current for a week at most (or for max_age).
    assert _check(good_staple(next_update=None)).next_update is None
    _fails(good_staple(next_update=None, this_update=now - timedelta(days=8)), "is too old")
    _fails(good_staple(), "is too old", max_age=timedelta(minutes=5))
    # A tampered signature.
    response = bytearray(good_staple())
    response[-3] ^= 0x01
    _fails(bytes(response), "signature does not verify")
    unknown = _check(good_staple(status="unknown"))
    with pytest.raises(AlertError, match="status is unknown") as err:
        require_good(unknown, identity().certificate)
    assert err.value.description == BAD_STATUS


# -- the server's staple source --------------------------------------------------------------------------


def test_staple_source_from_file_reloads_when_the_file_changes(tmp_path: Path) -> None:
    leaf, (issuer_cert, _) = identity().certificate, _issuer()
    path = tmp_path / "resp.der"
    path.write_bytes(good_staple())
    source = StapleSource.from_file(path)
    now = datetime.now(UTC)
    first, detail = source.staple_for(leaf, issuer_cert, now)
    assert first == path.read_bytes() and "good" in detail and source.loads == 1
    assert source.staple_for(leaf, issuer_cert, now)[0] == first and source.loads == 1  # unchanged: kept
    path.write_bytes(good_staple(status="revoked"))
    os.utime(path, ns=(1, 1))  # another mtime, whatever the file system's resolution
    second, detail = source.staple_for(leaf, issuer_cert, now)
    assert second == path.read_bytes() and "revoked" in detail and source.loads == 2
    with pytest.raises(ConfigError, match="cannot read OCSP response file"):
        StapleSource.from_file(tmp_path / "missing.der")
    (tmp_path / "junk.der").write_bytes(b"junk")
    with pytest.raises(ConfigError, match="not a DER OCSP response"):
        StapleSource.from_file(tmp_path / "junk.der")


def test_staple_source_refreshes_before_next_update() -> None:
    leaf, (issuer_cert, _) = identity().certificate, _issuer()
    made: list[datetime] = []

    def fetch(now: datetime) -> bytes:
        made.append(now)
        return good_staple(this_update=now, next_update=now + timedelta(hours=2))

    source = StapleSource.from_callable(fetch)
    t0 = datetime.now(UTC)
    assert source.staple_for(leaf, issuer_cert, t0)[0] is not None
    assert source.staple_for(leaf, issuer_cert, t0 + timedelta(minutes=30))[0] is not None
    assert made == [t0]  # 1.5 hours before nextUpdate: still good
    later = t0 + timedelta(minutes=70)
    assert source.staple_for(leaf, issuer_cert, later)[0] is not None
    assert made == [t0, later]  # within an hour of nextUpdate: reloaded


def test_staple_source_keeps_a_current_response_when_a_reload_fails() -> None:
    leaf, (issuer_cert, _) = identity().certificate, _issuer()
    t0 = datetime.now(UTC)
    answers = [good_staple(this_update=t0, next_update=t0 + timedelta(minutes=90)), b"broken"]
    source = StapleSource.from_callable(lambda now: answers.pop(0) if answers else None)
    assert source.staple_for(leaf, issuer_cert, t0)[0] is not None
    kept, _ = source.staple_for(leaf, issuer_cert, t0 + timedelta(minutes=40))  # reload fails: keep the old one
    assert kept is not None
    stale, detail = source.staple_for(leaf, issuer_cert, t0 + timedelta(minutes=100))
    assert stale is None and "went stale" in detail


def test_staple_source_refuses_a_response_about_another_certificate() -> None:
    source = StapleSource.from_der(good_staple())
    other = _leaf("other.test").certificate
    staple_bytes, detail = source.staple_for(other, _issuer()[0], datetime.now(UTC))
    assert staple_bytes is None and "is not about CN=other.test" in detail


# -- the command line -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("revocation")
    identity().write(d / "server.pem", d / "server.key")
    (d / "ca.pem").write_bytes(default_ca().root_pem())
    (d / "good.der").write_bytes(good_staple(next_update=datetime.now(UTC) + timedelta(days=2)))
    revoked = crl(_issuer(), [identity().certificate])
    (d / "revoked.pem").write_bytes(revoked.public_bytes(serialization.Encoding.PEM) * 1)
    (d / "root.der").write_bytes(crl(_root()).public_bytes(serialization.Encoding.DER))
    return {
        name: d / f
        for name, f in [
            ("cert", "server.pem"),
            ("key", "server.key"),
            ("ca", "ca.pem"),
            ("ocsp", "good.der"),
            ("crl", "revoked.pem"),
            ("root_crl", "root.der"),
        ]
    }


def test_cli_options_make_the_configs(files: dict[str, Path]) -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            "client",
            "localhost:1",
            "--ocsp",
            "require",
            "--crl",
            str(files["crl"]),
            "--crl",
            str(files["root_crl"]),
            "--revocation",
            "hard",
        ]
    )
    config = client_config(args)
    assert (config.ocsp, config.revocation, len(config.crls)) == ("require", "hard", 2)
    assert client_config(parser.parse_args(["client", "localhost:1"])).ocsp == "request"
    server_args = ["server", "--cert", str(files["cert"]), "--key", str(files["key"])]
    args = parser.parse_args([*server_args, "--ocsp", str(files["ocsp"]), "--client-crl", str(files["crl"])])
    config = server_config(args)
    assert isinstance(config.certificates[0].ocsp, StapleSource) and len(config.client_crls) == 1
    with pytest.raises(ConfigError, match="2 --ocsp files for 1 --cert"):
        server_config(parser.parse_args([*server_args, "--ocsp", str(files["ocsp"]), "--ocsp", str(files["ocsp"])]))
    with pytest.raises(ConfigError, match="holds no PEM CRL"):
        load_crls(files["ca"])


def test_a_crl_whose_issuer_name_does_not_decode_is_refused_at_load_and_names_no_one(tmp_path: Path) -> None:
    """cryptography loads such a CRL and raises only when its issuer is read: at a handshake that was
    internal_error. A file of one is a ConfigError; one given as an object names no issuer (no CRL, then)."""
    issuer = _issuer()
    encoded = crl(issuer).public_bytes(serialization.Encoding.DER)
    broken = undecodable_name(encoded, issuer[0].subject.rfc4514_string().removeprefix("CN="))
    (tmp_path / "bad.crl").write_bytes(broken)
    with pytest.raises(ConfigError, match="holds a CRL that does not parse: its issuer name does not parse"):
        load_crls(tmp_path / "bad.crl")
    leaf = identity().certificate
    (verdict,) = check_crls((leaf, issuer[0]), (x509.load_der_x509_crl(broken),), datetime.now(UTC), "soft")
    assert verdict.status != "good" and "no CRL" in verdict.detail


GLASSTLS = [sys.executable, "-m", "glasstls"]


def test_cli_server_staples_and_client_checks(files: dict[str, Path]) -> None:
    server = subprocess.Popen(
        [
            *GLASSTLS,
            "server",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            str(files["cert"]),
            "--key",
            str(files["key"]),
            "--ocsp",
            str(files["ocsp"]),
            "--max-connections",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        port = re.search(r"listening on 127\.0\.0\.1:(\d+)", server.stderr.readline())
        assert port, "server did not start"
        client = [
            *GLASSTLS,
            "client",
            f"127.0.0.1:{port.group(1)}",
            "--servername",
            "localhost",
            "--cacert",
            str(files["ca"]),
            "--linger",
            "0.2",
        ]
        good = subprocess.run([*client, "--ocsp", "require", "--trace"], capture_output=True, text=True, timeout=20)
        assert good.returncode == 0, good.stderr
        assert "OCSP staple for CN=localhost" in good.stderr
        bad = subprocess.run([*client, "--crl", str(files["crl"])], capture_output=True, text=True, timeout=20)
        assert bad.returncode != 0 and "certificate_revoked" in bad.stderr and REVOKED_TEXT in bad.stderr
    finally:
        server.kill()
        server.wait(20)


# -- the diagnosis a person reads -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ckw", "certified", "fix"),
    [
        ({"ocsp": "require"}, None, "the server must staple an OCSP response"),
        ({"revocation": "hard"}, None, "pass one --crl FILE per issuer"),
    ],
)
def test_diagnosis_says_what_to_do(ckw: dict[str, Any], certified: Any, fix: str) -> None:
    from glasstls.trace.diagnose import diagnose

    outcome = handshake("1.3", ckw=ckw, certified=certified)
    error = next(e.error for e in outcome.client_events if isinstance(e, ConnectionClosed))
    assert fix in diagnose(error, outcome.client_log.events, side="client")


def test_diagnosis_of_a_stale_staple() -> None:
    from glasstls.trace.diagnose import diagnose

    later = datetime.now(UTC) + timedelta(days=2)
    outcome = handshake("1.2", certified=stapled_key(identity(), default_ca()), client_clock=lambda: later)
    error = next(e.error for e in outcome.client_events if isinstance(e, ConnectionClosed))
    assert "must fetch a fresh one from its CA's responder" in diagnose(error, outcome.client_log.events, side="client")


def _crl_with(extension: x509.ExtensionType, critical: bool, revoked: tuple[x509.Certificate, ...] = ()) -> Any:
    """The intermediate's CRL, current, with one more CRL extension."""
    issuer_cert, issuer_key = _issuer()
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=1))
        .add_extension(extension, critical=critical)
    )
    for cert in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(REVOKED_AT)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer_key, hashes.SHA256())


_HERE = x509.UniformResourceIdentifier("http://127.0.0.1/int.crl")
_ELSEWHERE = x509.UniformResourceIdentifier("http://127.0.0.1/partition2.crl")


def _scoped(*names: x509.GeneralName, ca_only: bool = False) -> x509.IssuingDistributionPoint:
    return x509.IssuingDistributionPoint(list(names) or None, None, False, ca_only, None, False, False)


def test_crl_scope_and_critical_extensions() -> None:
    """RFC 5280: a CRL with a critical extension glasstls does not process is not used (5.2, OpenSSL:
    "unhandled critical CRL extension"); a CRL says "good" only within its scope (6.3.3 (b): OpenSSL's
    "different CRL scope"); a revocation counts on any authentic CRL, a delta CRL's included."""
    cdp = x509.CRLDistributionPoints([x509.DistributionPoint([_HERE], None, None, None)])
    leaf = _leaf(extra=[(cdp, False)]).certificate
    intermediate, root = default_ca().intermediate_cert, default_ca().root_cert
    assert intermediate is not None
    path, now, roots = (leaf, intermediate, root), datetime.now(UTC), crl(_root())

    def status(*crls: Any) -> tuple[str, str]:
        (check, _) = check_crls(path, [*crls, roots], now)
        return check.status, check.detail

    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00")
    assert status(_crl_with(unknown, critical=False))[0] == "good"  # a non-critical one is ignored
    state, detail = status(_crl_with(unknown, critical=True, revoked=(leaf,)))  # not used at all, not even to revoke
    assert state == "missing" and "has a critical extension glasstls does not process (1.3.6.1.4.1.55555.1" in detail
    with pytest.raises(AlertError) as hard:
        check_crls(path, [_crl_with(unknown, critical=True), roots], now, "hard")
    assert hard.value.description == A.certificate_unknown
    # Scope: another distribution point's CRL, a CA-only CRL, a delta CRL say nothing good about the leaf.
    for scope, why in (
        (_scoped(_ELSEWHERE), "the CRL of another distribution point"),
        (_scoped(ca_only=True), "covers CA certificates only"),
        (x509.DeltaCRLIndicator(1), "it is a delta CRL"),
    ):
        state, detail = status(_crl_with(scope, critical=True))
        assert state == "missing" and why in detail, detail
    assert status(_crl_with(_scoped(_HERE), critical=True))[0] == "good"
    # A revocation on a delta CRL (or another partition's) is a revocation.
    with pytest.raises(AlertError, match="was revoked on") as revoked:
        check_crls(path, [_crl_with(x509.DeltaCRLIndicator(1), True, revoked=(leaf,)), roots], now)
    assert revoked.value.description == A.certificate_revoked


def test_a_fetched_response_is_not_called_stapled() -> None:
    """The server's own fetch (--ocsp auto) checks the answer as a client checks a staple; its log says fetched."""
    leaf, (issuer, _) = identity().certificate, _issuer()
    with pytest.raises(AlertError, match=r"^the fetched OCSP response for server certificate CN=localhost is not"):
        check_ocsp_response(b"\x30\x03xyz", leaf, issuer, datetime.now(UTC), how="fetched")
