"""A PKI whose certificates point at 127.0.0.1, and an OCSP responder + CRL server there.

For tests/test_online_revocation.py: the server answers OCSP (GET and POST,
RFC 6960, Appendix A.1) from a table of statuses, signed as the test asks
(by the issuer, expired, by a stranger, garbage, slowly), and serves the
issuer's CRL at /ca.crl. It is a real HTTP server (http.server in a thread),
started by the test and stopped in ``finally`` (the ``serving`` context manager).
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from glasstls import CertifiedKey
from glasstls.x509.mint import (
    BACKDATE,
    Identity,
    Issuer,
    build_certificate,
    ca_extensions,
    generate_key,
    leaf_key_usage,
    signature_hash,
    subject_name,
)
from glasstls.x509.store import TrustStore
from revocation_helpers import undecodable_name

REVOKED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def pointers(ocsp_url: str | None, crl_url: str | None) -> list[tuple[x509.ExtensionType, bool]]:
    """AIA (id-ad-ocsp) and CRL Distribution Points naming the given URLs (RFC 5280, 4.2.2.1 and 4.2.1.13)."""
    out: list[tuple[x509.ExtensionType, bool]] = []
    if ocsp_url:
        aia = x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))
        out.append((x509.AuthorityInformationAccess([aia]), False))
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        out.append((x509.CRLDistributionPoints([point]), False))
    return out


@dataclass
class Pki:
    """A root, optionally an intermediate, and leaves whose AIA/CDP point where the test says."""

    root: Issuer
    issuer: Issuer  # what signs leaves: the intermediate, or the root
    chain_above: tuple[x509.Certificate, ...]  # the intermediate, if any

    @classmethod
    def create(cls, *, intermediate_urls: tuple[str | None, str | None] | None = None) -> Pki:
        start = datetime.now(UTC) - BACKDATE
        key = generate_key("ecdsa-p256")
        cert = build_certificate(
            subject_name("online root"),
            key.public_key(),
            None,
            key,
            start,
            start + timedelta(days=30),
            ca_extensions(1),
        )
        root = Issuer(cert, key)
        if intermediate_urls is None:
            return cls(root, root, ())
        ikey = generate_key("ecdsa-p256")
        icert = build_certificate(
            subject_name("online intermediate"),
            ikey.public_key(),
            root,
            key,
            start,
            start + timedelta(days=30),
            [*ca_extensions(0), *pointers(*intermediate_urls)],
        )
        return cls(root, Issuer(icert, ikey), (icert,))

    def trust_store(self) -> TrustStore:
        return TrustStore([self.root.certificate])

    def leaf(self, ocsp_url: str | None, crl_url: str | None, name: str = "localhost") -> Identity:
        start = datetime.now(UTC) - BACKDATE
        key = generate_key("ecdsa-p256")
        extensions: list[tuple[x509.ExtensionType, bool]] = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (leaf_key_usage(key), True),
            (x509.SubjectAlternativeName([x509.DNSName(name)]), False),
            *pointers(ocsp_url, crl_url),
        ]
        cert = build_certificate(
            subject_name(name),
            key.public_key(),
            self.issuer,
            self.issuer.key,
            start,
            start + timedelta(days=10),
            extensions,
        )
        return Identity(cert, (cert, *self.chain_above), key)

    def responder_identity(self) -> Issuer:
        """A delegated OCSP responder: issued by the issuer, with id-kp-OCSPSigning (RFC 6960, 4.2.2.2)."""
        start = datetime.now(UTC) - BACKDATE
        key = generate_key("ecdsa-p256")
        cert = build_certificate(
            subject_name("online responder"),
            key.public_key(),
            self.issuer,
            self.issuer.key,
            start,
            start + timedelta(days=10),
            [(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING]), False)],
        )
        return Issuer(cert, key)


def certified(identity: Identity) -> CertifiedKey:
    return CertifiedKey(identity.chain, identity.private_key)


@dataclass
class Responder:
    """What the server answers: statuses by serial, how responses are signed and dated, the CRL."""

    pki: Pki
    statuses: dict[int, str] = field(default_factory=dict)  # serial → good / revoked / unknown
    # normal, expired, stranger, forged, garbage, try_later, slow, no_nonce, http500, or undecodable (signed by
    # the issuer, named byName, the name's UTF8String not UTF-8: it loads and fails when the name is read)
    mode: str = "normal"
    signer: Issuer | None = None  # None: the issuer signs
    crl_body: bytes | None = None  # what /ca.crl serves (None: 404)
    delay: float = 0.0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    answer_with: Callable[[bytes], bytes] | None = None  # another source of answers (the CA tool)

    def answer(self, request_der: bytes) -> bytes:
        if self.answer_with is not None:
            return self.answer_with(request_der)
        if self.mode == "garbage":
            return b"<html>this is not an OCSP response</html>"
        if self.mode == "try_later":
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER).public_bytes(
                serialization.Encoding.DER
            )
        request = ocsp.load_der_ocsp_request(request_der)
        now = datetime.now(UTC)
        this_update = now - timedelta(days=3) if self.mode == "expired" else now - timedelta(minutes=1)
        status = self.statuses.get(request.serial_number, "unknown")
        issuer = self.pki.issuer
        signer = self.signer or issuer
        if self.mode in ("stranger", "forged"):  # a key of its own; forged: under the issuer's name
            key = generate_key("ecdsa-p256")
            stranger = build_certificate(
                issuer.certificate.subject,
                key.public_key(),
                None,
                key,
                now - BACKDATE,
                now + timedelta(days=1),
                ca_extensions(0),
            )
            signer = Issuer(stranger, key)
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number,
            algorithm=request.hash_algorithm,
            cert_status={"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED}.get(
                status, ocsp.OCSPCertStatus.UNKNOWN
            ),
            this_update=this_update,
            next_update=this_update + timedelta(days=1),
            revocation_time=REVOKED_AT if status == "revoked" else None,
            revocation_reason=x509.ReasonFlags.key_compromise if status == "revoked" else None,
        )
        named = self.mode in ("forged", "undecodable")
        by_name = ocsp.OCSPResponderEncoding.NAME if named else ocsp.OCSPResponderEncoding.HASH
        builder = builder.responder_id(by_name, signer.certificate)
        if signer is not issuer and self.mode not in ("stranger", "forged"):
            builder = builder.certificates([signer.certificate])
        for ext in request.extensions:
            if isinstance(ext.value, x509.OCSPNonce) and self.mode != "no_nonce":
                builder = builder.add_extension(ext.value, critical=False)
        body = builder.sign(signer.key, signature_hash(signer.key)).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]
        if self.mode == "undecodable":
            return undecodable_name(body, issuer.certificate.subject.rfc4514_string().removeprefix("CN="))
        return body


def make_crl(
    issuer: Issuer, revoked: dict[int, datetime] | None = None, *, stale: bool = False, signer: Any = None
) -> x509.CertificateRevocationList:
    now = datetime.now(UTC)
    last = now - timedelta(days=3) if stale else now - timedelta(minutes=1)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(last)
        .next_update(last + timedelta(days=1))
    )
    for serial, when in (revoked or {}).items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    key = signer or issuer.key
    return builder.sign(key, signature_hash(key) or hashes.SHA256())  # type: ignore[arg-type]


def der_crl(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)


def _handler(responder: Responder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            if responder.delay:
                time.sleep(responder.delay)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            responder.requests.append(("GET", self.path))
            if self.path == "/ca.crl":
                if responder.crl_body is None:
                    self._send(404, b"no CRL here", "text/plain")
                else:
                    self._send(200, responder.crl_body, "application/pkix-crl")
                return
            if self.path.startswith("/ocsp/"):
                self._ocsp(base64.b64decode(unquote(self.path.removeprefix("/ocsp/"))))
                return
            self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            responder.requests.append(("POST", self.path))
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self._ocsp(body)

        def _ocsp(self, request: bytes) -> None:
            if responder.mode == "http500":
                self._send(500, b"responder broken", "text/plain")
                return
            self._send(200, responder.answer(request), "application/ocsp-response")

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a deadline test) breaks the pipe: expected, not worth a traceback


@contextmanager
def serving(responder: Responder, port: int) -> Iterator[Responder]:
    """The responder on 127.0.0.1:``port`` until the block ends."""
    server = _Server(("127.0.0.1", port), _handler(responder))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield responder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
