"""The failure matrix of issue 5, in memory: glasstls client ↔ glasstls server, every cell.

Rows are the certificate problems a person meets: on the client, a server
certificate that is expired, not yet valid, for another host, from an unknown CA,
sent without its intermediate, without the serverAuth EKU, revoked by a CRL,
revoked by its stapled OCSP response, or stapled with a stale response; on the
server, a client certificate that is missing, untrusted, expired or revoked by a
CRL. Columns are TLS 1.3 and TLS 1.2. Each cell checks

* the alert on the wire, as the *receiving* peer sees it (its ``AlertReceived``
  event and the ``PeerAlertError`` it closes with), and
* the message to the user on the side that found the problem (the
  ``AlertError`` reason: the certificate, what is wrong, what to do), and the
  "likely fix" of the diagnosis the CLI prints under it, on both sides.

The same rows against OpenSSL are in ``tests/interop/test_failure_matrix_openssl.py``.
Certificates are minted once per module with the real clock (the connections
read it too), ECDSA P-256 throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from glasstls import CertifiedKey, ClientConfig, ClientConnection, ProtocolVersion, ServerConfig, ServerConnection
from glasstls.enums import AlertDescription, AlertLevel
from glasstls.errors import AlertError, PeerAlertError
from glasstls.events import AlertReceived, ConnectionClosed, Event
from glasstls.observe import EventList, Observer
from glasstls.trace.diagnose import find_diagnosis
from glasstls.x509.mint import CLIENT_AUTH, Identity, ThrowawayCA
from glasstls.x509.store import TrustStore
from revocation_helpers import crl, der, ocsp_response

VERSIONS = {"TLSv1.3": ProtocolVersion.TLSv1_3, "TLSv1.2": ProtocolVersion.TLSv1_2}
A = AlertDescription
HOST = "example.com"


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True)
class MatrixPKI:
    """Everything the rows need, minted once: the good CAs, a stranger CA and one identity per row."""

    server_ca: ThrowawayCA  # root + intermediate; issues the server certificates
    client_ca: ThrowawayCA  # root + intermediate; issues the client certificates
    stranger_ca: ThrowawayCA  # trusted by nobody
    good_server: Identity
    good_client: Identity
    bad_server: dict[str, Identity]  # row -> the chain the server presents
    bad_client: dict[str, Identity]  # row -> the chain the client presents
    staples: dict[str, bytes]  # row -> the DER OCSP response the server staples
    stale_staple: bytes  # about good_server, its nextUpdate two days ago: for servers that staple anything
    server_crl: x509.CertificateRevocationList  # the server intermediate's: bad_server["revoked_by_crl"] revoked
    client_crl: x509.CertificateRevocationList  # the client intermediate's: bad_client["client_revoked_by_crl"]

    def server_store(self) -> TrustStore:
        return TrustStore.from_pem(self.server_ca.root_pem())

    def client_store(self) -> TrustStore:
        return TrustStore.from_pem(self.client_ca.root_pem())


def mint_matrix_pki() -> MatrixPKI:
    """The certificates of every row; shared with the OpenSSL layer (it imports this module)."""
    now = datetime.now(UTC)
    past = (now - timedelta(days=30), now - timedelta(days=1))
    future = (now + timedelta(days=1), now + timedelta(days=30))
    server_ca = ThrowawayCA.create("matrix server root")
    client_ca = ThrowawayCA.create("matrix client root")
    stranger_ca = ThrowawayCA.create("matrix stranger root")
    good_server = server_ca.issue_server([HOST, "localhost", "127.0.0.1"])
    bad_server = {
        "expired": server_ca.issue_server([HOST, "127.0.0.1"], not_before=past[0], not_after=past[1]),
        "not_yet_valid": server_ca.issue_server([HOST, "127.0.0.1"], not_before=future[0], not_after=future[1]),
        "wrong_host": server_ca.issue_server(["www.example.org", "example.org"]),
        "unknown_ca": stranger_ca.issue_server([HOST, "127.0.0.1"]),
        "missing_intermediate": Identity(good_server.certificate, (good_server.certificate,), good_server.private_key),
        "wrong_eku": server_ca.issue_server([HOST, "127.0.0.1"], eku=(CLIENT_AUTH,)),
    }
    revoked = server_ca.issue_server([HOST, "127.0.0.1"])
    bad_server |= {"revoked_by_crl": revoked, "revoked_by_stapled_ocsp": revoked, "stale_ocsp_response": good_server}
    bad_client = {
        "client_untrusted": stranger_ca.issue_client("mallory"),
        "client_expired": client_ca.issue_client("bob", not_before=past[0], not_after=past[1]),
        "client_revoked_by_crl": client_ca.issue_client("carol"),
    }
    server_issuer, client_issuer = server_ca.issuer, client_ca.issuer
    staples = {
        "revoked_by_stapled_ocsp": der(
            ocsp_response(revoked.certificate, server_issuer[0], server_issuer, status="revoked")
        ),
        # Fresh (nextUpdate in a day), so the glasstls server staples it; the cell's client lives two days later.
        "stale_ocsp_response": der(ocsp_response(good_server.certificate, server_issuer[0], server_issuer)),
    }
    stale = der(
        ocsp_response(
            good_server.certificate,
            server_issuer[0],
            server_issuer,
            this_update=now - timedelta(days=3),
            next_update=now - timedelta(days=2),
        )
    )
    return MatrixPKI(
        server_ca,
        client_ca,
        stranger_ca,
        good_server,
        client_ca.issue_client("alice"),
        bad_server,
        bad_client,
        staples,
        stale,
        crl(server_issuer, [revoked.certificate]),
        crl(client_issuer, [bad_client["client_revoked_by_crl"].certificate]),
    )


@dataclass(frozen=True)
class Cell:
    """One row of the matrix: which side finds the problem, the alert it sends, what it tells the user."""

    row: str
    detector: str  # "client" (checks the server's chain) or "server" (checks the client's)
    alert: dict[str, AlertDescription]  # by version
    message: tuple[str, ...]  # substrings of the detecting side's reason


def _both(alert: AlertDescription) -> dict[str, AlertDescription]:
    return dict.fromkeys(VERSIONS, alert)


REVOKED = "was revoked on 2025-03-01 12:00:00 UTC (keyCompromise)"  # revocation_helpers.REVOKED_AT

# The alerts are OpenSSL's choices too (x509table in ssl/statem/statem_lib.c), except "not yet
# valid": RFC 8446, Section 6.2 defines certificate_expired as "expired or is not currently valid",
# which glasstls sends; OpenSSL sends bad_certificate.
SERVER_ROWS = (
    Cell("expired", "client", _both(A.certificate_expired), ("server certificate CN=example.com expired on",)),
    Cell(
        "not_yet_valid",
        "client",
        _both(A.certificate_expired),
        ("server certificate CN=example.com is not valid before",),
    ),
    Cell(
        "wrong_host",
        "client",
        _both(A.bad_certificate),
        ("certificate is for www.example.org, example.org, not example.com",),
    ),
    Cell(
        "unknown_ca",
        "client",
        _both(A.unknown_ca),
        ("issuer CN=matrix stranger root is not trusted: ClientConfig.trust_store must hold",),
    ),
    Cell(
        "missing_intermediate",
        "client",
        _both(A.unknown_ca),
        (
            "issuer CN=matrix server root intermediate is not trusted: ClientConfig.trust_store must hold",
            "the server sent no intermediate certificates",
        ),
    ),
    Cell(
        "wrong_eku",
        "client",
        _both(A.unsupported_certificate),
        (
            "server certificate CN=example.com is not for TLS servers: its extended key usage allows clientAuth, "
            "not serverAuth",
        ),
    ),
    Cell(
        "revoked_by_crl",
        "client",
        _both(A.certificate_revoked),
        (f"server certificate CN=example.com {REVOKED}, says the CRL of CN=matrix server root intermediate issued ",),
    ),
    Cell(
        "revoked_by_stapled_ocsp",
        "client",
        _both(A.certificate_revoked),
        (f"server certificate CN=example.com {REVOKED}, says its stapled OCSP response, signed by ",),
    ),
    Cell(
        "stale_ocsp_response",
        "client",
        _both(A.bad_certificate_status_response),
        ("the stapled OCSP response for server certificate CN=example.com is stale: its nextUpdate ",),
    ),
)
CLIENT_ROWS = (
    # RFC 8446, Section 4.4.2.4 (certificate_required) and RFC 5246, Section 7.4.6 (handshake_failure).
    Cell(
        "client_missing",
        "server",
        {"TLSv1.3": A.certificate_required, "TLSv1.2": A.handshake_failure},
        ("client sent no certificate, and this server requires one (client_auth='required')",),
    ),
    Cell(
        "client_untrusted",
        "server",
        _both(A.unknown_ca),
        ("issuer CN=matrix stranger root is not trusted: ServerConfig.client_trust_store must hold",),
    ),
    Cell("client_expired", "server", _both(A.certificate_expired), ("client certificate CN=bob expired on",)),
    Cell(
        "client_revoked_by_crl",
        "server",
        _both(A.certificate_revoked),
        (f"client certificate CN=carol {REVOKED}, says the CRL of CN=matrix client root intermediate issued ",),
    ),
)
ROWS = SERVER_ROWS + CLIENT_ROWS


@pytest.fixture(scope="module")
def pki() -> MatrixPKI:
    return mint_matrix_pki()


def _certified(identity: Identity) -> CertifiedKey:
    return CertifiedKey(identity.chain, identity.private_key)


def _shuttle(client: ClientConnection, server: ServerConnection) -> tuple[list[Event], list[Event]]:
    """Move bytes both ways until both sides are quiet; the events each side reported."""
    client_events: list[Event] = []
    server_events: list[Event] = []
    for _ in range(12):
        to_server = client.data_to_send()
        if to_server:
            server_events += server.receive_bytes(to_server)
        to_client = server.data_to_send()
        if to_client:
            client_events += client.receive_bytes(to_client)
        if not to_server and not to_client:
            break
    return client_events, server_events


def run_cell(
    pki: MatrixPKI, cell: Cell, version: str, observers: tuple[Observer | None, Observer | None] = (None, None)
) -> tuple[list[Event], list[Event]]:
    """The cell's handshake; ``observers`` (client's, server's) see each side's trace events."""
    v = VERSIONS[version]
    server_key = _certified(pki.bad_server.get(cell.row, pki.good_server))
    if cell.row in pki.staples:
        server_key = server_key.with_ocsp(pki.staples[cell.row])
    client_identity = None if cell.row == "client_missing" else pki.bad_client.get(cell.row, pki.good_client)
    client_cert = _certified(client_identity) if client_identity is not None else None
    client_auth = "required" if cell.detector == "server" else "none"
    server_config = ServerConfig(
        certificates=(server_key,),
        tls_min=v,
        tls_max=v,
        client_auth=client_auth,
        client_trust_store=pki.client_store() if client_auth != "none" else None,
        client_crls=(pki.client_crl,) if cell.row == "client_revoked_by_crl" else (),
    )
    client_config = ClientConfig(
        trust_store=pki.server_store(),
        certificate=client_cert,
        tls_min=v,
        tls_max=v,
        crls=(pki.server_crl,) if cell.row == "revoked_by_crl" else (),
    )
    clock: dict[str, Callable[[], datetime]] = {}
    if cell.row == "stale_ocsp_response":  # the glasstls server staples no stale response; the client's clock ages it
        clock["clock"] = lambda: datetime.now(UTC) + timedelta(days=2)
    client = ClientConnection(client_config, server_name=HOST, observer=observers[0], **clock)
    return _shuttle(client, ServerConnection(server_config, observer=observers[1]))


def _closed(events: list[Event]) -> ConnectionClosed:
    closed = [e for e in events if isinstance(e, ConnectionClosed)]
    assert len(closed) == 1, events
    return closed[0]


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("cell", ROWS, ids=[c.row for c in ROWS])
def test_failure_matrix(pki: MatrixPKI, cell: Cell, version: str) -> None:
    client_events, server_events = run_cell(pki, cell, version)
    alert = cell.alert[version]
    detector, receiver = (client_events, server_events) if cell.detector == "client" else (server_events, client_events)

    # (b) the message to the user, on the side that found the problem.
    found = _closed(detector)
    assert isinstance(found.error, AlertError) and not found.by_peer, found
    assert found.error.description == alert
    for text in cell.message:
        assert text in found.error.reason
    assert f"(alert {alert.name} while " in str(found.error)
    if cell.row in ("expired", "client_expired"):
        leaf = (pki.bad_server | pki.bad_client)[cell.row].certificate
        assert f"expired on {_fmt(leaf.not_valid_after_utc)}" in found.error.reason
    if cell.row == "not_yet_valid":
        leaf = pki.bad_server[cell.row].certificate
        assert f"is not valid before {_fmt(leaf.not_valid_before_utc)}" in found.error.reason

    # (a) the alert on the wire, as the other side received it: fatal, and the one that was sent.
    received = [e for e in receiver if isinstance(e, AlertReceived)]
    assert received == [AlertReceived(AlertLevel.fatal, alert)], receiver
    closed = _closed(receiver)
    assert isinstance(closed.error, PeerAlertError) and closed.by_peer
    assert closed.error.description == alert
    assert str(closed.error).startswith(f"peer sent alert {alert.name} while ")


# The "likely fix" of the diagnosis the CLI prints under a failed handshake (trace/diagnose.py), on the
# side that found the problem and, where the alert alone says enough, on the side that received it.
REVOKED_FIX = "the certificate was revoked by its CA: get a new one"
LIKELY_FIX = {
    "expired": ("renew the certificate", "the peer says our certificate has expired or is not yet valid"),
    "not_yet_valid": ("renew the certificate", "the peer says our certificate has expired or is not yet valid"),
    "wrong_host": (
        "connect with --servername set to a name the certificate holds (www.example.org, example.org)",
        "does not name the host the client asked for (SNI: example.com",
    ),
    "unknown_ca": ("pass --cacert FILE", "the client needs the CA that issued it"),
    "missing_intermediate": (
        "give the server a --cert file holding the whole chain",
        "this server must send its intermediate certificates",
    ),
    "wrong_eku": ("extended key usage includes serverAuth", None),
    # TLS 1.2 says handshake_failure; the client's diagnosis reads its own empty Certificate in the trace.
    "client_missing": ("--verify-client optional", "pass --cert FILE --key FILE"),
    "client_untrusted": ("start it with --client-ca FILE", "the server needs that CA (glasstls server: --client-ca"),
    "client_expired": ("renew the certificate", "the peer says our certificate has expired or is not yet valid"),
    "revoked_by_crl": (REVOKED_FIX, REVOKED_FIX),
    "revoked_by_stapled_ocsp": (REVOKED_FIX, REVOKED_FIX),
    "stale_ocsp_response": (
        "the stapled OCSP response is out of date: the server must fetch a fresh one",
        "give the server a current response signed by its certificate's CA (glasstls server --ocsp FILE)",
    ),
    "client_revoked_by_crl": (REVOKED_FIX, REVOKED_FIX),
}


@pytest.mark.parametrize("version", list(VERSIONS))
@pytest.mark.parametrize("cell", ROWS, ids=[c.row for c in ROWS])
def test_failure_matrix_diagnosis(pki: MatrixPKI, cell: Cell, version: str) -> None:
    client_trace, server_trace = EventList(), EventList()
    client_events, server_events = run_cell(pki, cell, version, (client_trace, server_trace))
    sides = {"client": (client_events, client_trace), "server": (server_events, server_trace)}
    receiver = "server" if cell.detector == "client" else "client"
    for side, fix in zip((cell.detector, receiver), LIKELY_FIX[cell.row], strict=True):
        events, trace = sides[side]
        diagnosis = find_diagnosis(_closed(events).error, trace.events, side=side)
        assert diagnosis.alert == cell.alert[version].name
        assert diagnosis.origin == ("local" if side == cell.detector else "peer")
        if fix is not None:
            assert fix in diagnosis.fix, (side, diagnosis.fix)


@pytest.mark.parametrize("version", list(VERSIONS))
def test_the_good_chains_pass(pki: MatrixPKI, version: str) -> None:
    """The control cell: the same PKI without a fault completes, with the client certificate checked."""
    cell = Cell("good", "server", {}, ())
    client_events, server_events = run_cell(pki, cell, version)
    for events in (client_events, server_events):
        assert not [e for e in events if isinstance(e, ConnectionClosed)], events
    assert not any(isinstance(e, AlertReceived) for e in client_events + server_events)


@pytest.mark.parametrize("version", list(VERSIONS))
def test_client_missing_intermediate_speaks_of_the_client(pki: MatrixPKI, version: str) -> None:
    """A client that sends only its leaf is told about *its* chain, not the server's (the note once said server)."""
    v = VERSIONS[version]
    leaf_only = CertifiedKey((pki.good_client.certificate,), pki.good_client.private_key)
    server_config = ServerConfig(
        certificates=(_certified(pki.good_server),),
        tls_min=v,
        tls_max=v,
        client_auth="required",
        client_trust_store=pki.client_store(),
    )
    client_config = ClientConfig(trust_store=pki.server_store(), certificate=leaf_only, tls_min=v, tls_max=v)
    client_events, server_events = _shuttle(
        ClientConnection(client_config, server_name=HOST), ServerConnection(server_config)
    )
    error = _closed(server_events).error
    assert isinstance(error, AlertError) and error.description == A.unknown_ca
    assert (
        "issuer CN=matrix client root intermediate is not trusted: ServerConfig.client_trust_store must hold"
        in error.reason
    )
    assert "the client sent no intermediate certificates" in error.reason
    assert "server" not in error.reason.replace("ServerConfig", "")
    assert error.facts is not None and (error.facts.problem, error.facts.chain) == ("missing_intermediate", "client")
    assert _closed(client_events).error.description == A.unknown_ca
