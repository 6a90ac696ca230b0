"""Pieces more than one TLS 1.3 flight uses: the Certificate/CertificateVerify
flight and the content a CertificateVerify signs (RFC 8446, Sections 4.4.2 and
4.4.3), the server's CertificateRequest (Section 4.3.2: in the handshake and
after it), and the key schedule's reporter."""

from __future__ import annotations

from ..config import CertifiedKey, ServerConfig
from ..crypto.keyschedule13 import SecretReport
from ..crypto.signatures import TLS13_SIGNATURE_SCHEMES, sign
from ..crypto.suites import Suite13
from ..crypto.transcript import Transcript
from ..enums import ExtensionType as E
from ..enums import SignatureScheme
from ..wire import extensions as X
from ..wire.extensions import Extension
from ..wire.handshake import Certificate, CertificateEntry, CertificateRequest, CertificateVerify
from .base import Context
from .certselect import client_certificate_for

_CONTEXT_STRINGS = {
    "server": b"TLS 1.3, server CertificateVerify",
    "client": b"TLS 1.3, client CertificateVerify",
}


def certificate_verify_content(signer: str, transcript_hash: bytes) -> bytes:
    """64 spaces, the context string, a zero byte, the transcript hash (Section 4.4.3)."""
    return b" " * 64 + _CONTEXT_STRINGS[signer] + b"\x00" + transcript_hash


def send_certificate_and_verify(
    ctx: Context,
    transcript: Transcript,
    certified: CertifiedKey,
    scheme: SignatureScheme,
    signer: str,
    request_context: bytes = b"",
    ocsp_staple: bytes | None = None,
) -> None:
    """Certificate then CertificateVerify; ``ocsp_staple`` rides in the leaf's entry (Section 4.4.2.1)."""
    leaf_extensions = (Extension.make(E.status_request, ocsp_staple, X.CT),) if ocsp_staple else ()
    entries = tuple(
        CertificateEntry(der, leaf_extensions if index == 0 else ()) for index, der in enumerate(certified.der_chain)
    )
    cert = Certificate(certificate_request_context=request_context, entries=entries)
    ctx.send_message(cert)
    transcript.add(cert.raw)
    content = certificate_verify_content(signer, transcript.digest())
    cv = CertificateVerify(algorithm=scheme, signature=sign(certified.private_key, scheme, content, ctx.randomness))
    ctx.send_message(cv)
    transcript.add(cv.raw)


def send_certificate_flight(
    ctx: Context, suite: Suite13, transcript: Transcript, request: CertificateRequest, signer: str
) -> None:
    """The client's answer to a CertificateRequest: its chain and signature, or
    an empty Certificate when it has none that fits (Section 4.4.2)."""
    offered = request.ext(E.signature_algorithms)
    authorities = request.ext(E.certificate_authorities)
    choice = client_certificate_for(
        ctx, offered.value if offered else (), authorities.value if authorities else (), tls13=True
    )
    if choice is not None:
        certified, scheme = choice
        send_certificate_and_verify(ctx, transcript, certified, scheme, signer, request.certificate_request_context)
        return
    empty = Certificate(certificate_request_context=request.certificate_request_context, entries=())
    ctx.send_message(empty)
    transcript.add(empty.raw)


def certificate_request(ctx: Context, request_context: bytes = b"") -> CertificateRequest:
    """The server's CertificateRequest (RFC 8446, Section 4.3.2): our signature schemes
    and the client CAs we trust; ``request_context`` is empty in the handshake."""
    config: ServerConfig = ctx.config
    schemes = tuple(s for s in config.signature_schemes if s in TLS13_SIGNATURE_SCHEMES)
    exts = [Extension.make(E.signature_algorithms, schemes, X.CR)]
    if config.client_trust_store is not None:
        names = tuple(c.subject.public_bytes() for c in config.client_trust_store.certificates)
        exts.append(Extension.make(E.certificate_authorities, names, X.CR))
    return CertificateRequest(certificate_request_context=request_context, extensions=tuple(exts))


def secret_reporter(ctx: Context, client_random: bytes) -> SecretReport:
    """What the key schedule calls with each secret it derives: the connection's trace
    and key log, which name a connection by its client random (NSS key log format)."""

    def report(name: str, secret: bytes) -> None:
        ctx.secret(name, client_random, secret)

    return report
