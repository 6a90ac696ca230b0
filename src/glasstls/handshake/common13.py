"""Pieces more than one TLS 1.3 flight uses: the Certificate/CertificateVerify
flight and the content a CertificateVerify signs (RFC 8446, Sections 4.4.2 and
4.4.3), the server's CertificateRequest (Section 4.3.2: in the handshake and
after it), certificate compression both ways (RFC 8879), and the key schedule's
reporter."""

from __future__ import annotations

from ..config import CertifiedKey, ServerConfig
from ..crypto import certcompress
from ..crypto.keyschedule13 import SecretReport
from ..crypto.signatures import TLS13_CERTIFICATE_ONLY_SCHEMES, TLS13_SIGNATURE_SCHEMES, sign
from ..crypto.suites import Suite13
from ..crypto.transcript import Transcript
from ..enums import AlertDescription, SignatureScheme
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..wire import extensions as X
from ..wire.extensions import Extension
from ..wire.handshake import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    CompressedCertificate,
)
from .base import Context, traced_check
from .certselect import client_certificate_for, requested_authorities

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
    peer_compression: Extension | None = None,
) -> None:
    """Certificate then CertificateVerify; ``ocsp_staple`` rides in the leaf's entry (Section 4.4.2.1).
    ``peer_compression``: the peer's compress_certificate extension (RFC 8879), if it sent one: the
    Certificate goes as a CompressedCertificate when it lists an algorithm of ours (RFC 8879, Section 4),
    and the transcript hashes the message sent."""
    algorithm = None
    if peer_compression is not None:
        algorithm = certcompress.choose(peer_compression.value, ctx.config.certificate_compression)
    cert = certificate_message(certified, request_context, ocsp_staple, algorithm)
    ctx.send_message(cert)
    transcript.add(cert.raw)
    content = certificate_verify_content(signer, transcript.digest())
    cv = CertificateVerify(scheme, sign(certified.private_key, scheme, content, ctx.randomness))  # (no keyword dict)
    ctx.send_message(cv)
    transcript.add(cv.raw)


# Distinct Certificate messages kept per key: one per staple (renewed every few days) and compression
# algorithm the clients ask for; the table starts over when full.
_KEPT_PER_KEY = 8


def certificate_message(
    certified: CertifiedKey, request_context: bytes, ocsp_staple: bytes | None, algorithm: int | None
) -> Certificate | CompressedCertificate:
    """The Certificate of ``certified``'s chain (Section 4.4.2), compressed with ``algorithm`` when one
    is given (RFC 8879, Section 4), encoded.

    The chain never changes, so neither does the message for the same staple and algorithm: the
    in-handshake ones (an empty request context) are made and encoded once and kept on the key;
    each connection gets a shallow copy of its own (its fields are bytes and tuples of frozen
    entries), so that no connection, and no observer that gets the message, holds another's. A
    post-handshake request's context is fresh each time (Section 4.3.2): its message is made each time."""
    key = (ocsp_staple, algorithm)
    kept = certified.kept_messages
    if not request_context and (made := kept.get(key)) is not None:
        copy = object.__new__(type(made))
        copy.__dict__.update(made.__dict__)  # the fields and the encoded bytes (raw)
        return copy  # type: ignore[no-any-return]  # a Certificate or CompressedCertificate, stored below
    leaf_extensions = (Extension.make(E.status_request, ocsp_staple, X.CT),) if ocsp_staple else ()
    entries = tuple(
        CertificateEntry(der, leaf_extensions if index == 0 else ()) for index, der in enumerate(certified.der_chain)
    )
    cert = Certificate(certificate_request_context=request_context, entries=entries)
    msg = cert if algorithm is None else certcompress.compress_certificate(cert, algorithm)
    msg.encode()
    if not request_context:
        if len(kept) >= _KEPT_PER_KEY:
            kept.clear()
        kept[key] = msg
    return msg


def send_certificate_flight(
    ctx: Context, suite: Suite13, transcript: Transcript, request: CertificateRequest, signer: str
) -> bool:
    """The client's answer to a CertificateRequest: its chain and signature, or
    an empty Certificate when it has none that fits (Section 4.4.2). True when a
    certificate (and its CertificateVerify) went out."""
    offered = request.ext(E.signature_algorithms)
    authorities = request.ext(E.certificate_authorities)
    choice = client_certificate_for(
        ctx, offered.value if offered else (), authorities.value if authorities else (), tls13=True
    )
    if choice is not None:
        certified, scheme = choice
        compression = request.ext(E.compress_certificate)
        context = request.certificate_request_context
        send_certificate_and_verify(ctx, transcript, certified, scheme, signer, context, peer_compression=compression)
        return True
    # An empty Certificate goes as it is: RFC 8879 allows compressing it, but its 4 or so bytes would only grow.
    empty = Certificate(certificate_request_context=request.certificate_request_context, entries=())
    ctx.send_message(empty)
    transcript.add(empty.raw)
    return False


def received_certificate(ctx: Context, msg: Certificate | CompressedCertificate, subject: str) -> Certificate:
    """The Certificate the peer sent: ``msg`` itself, or the one a CompressedCertificate carries
    (RFC 8879, Section 4), whose ``raw`` stays the compressed message's (what the transcript hashes).

    A CompressedCertificate when this side offered no compression is unexpected_message, as the
    Certificate's place holds only a Certificate then; one with an algorithm this side did not
    offer is illegal_parameter, and one that does not decompress to exactly its
    uncompressed_length is bad_certificate (crypto/certcompress.py). The bound on the
    decompressed size is ``Limits.max_handshake_message``, the one an uncompressed Certificate
    has (Section 5). ``subject`` names the message in the trace ("server CompressedCertificate")."""
    if isinstance(msg, Certificate):
        return msg
    offered = ctx.config.certificate_compression
    if not offered:
        raise AlertError(
            AlertDescription.unexpected_message,
            f"{subject} received, but this {ctx.side} offered no certificate compression "
            "(no compress_certificate extension; RFC 8879, Sections 3 and 4)",
        )
    size = len(msg.compressed_certificate_message)
    detail = f"certificate decompressed: {msg.algorithm.name}, {size} -> {msg.uncompressed_length} bytes"
    limit = ctx.config.limits.max_handshake_message
    return traced_check(
        ctx,
        subject,
        detail,
        lambda: certcompress.decompress_certificate(msg, offered, limit, limit_name="Limits.max_handshake_message"),
    )


def certificate_request(ctx: Context, request_context: bytes = b"") -> CertificateRequest:
    """The server's CertificateRequest (RFC 8446, Section 4.3.2): our signature schemes,
    the client CAs we trust and the certificate compression we take (RFC 8879, Section 3);
    ``request_context`` is empty in the handshake.

    With no signature_algorithms_cert, signature_algorithms also names the signatures
    accepted in the client's certificates (Section 4.2.3): the PKCS #1 v1.5 schemes
    configured are listed too, as OpenSSL and NSS list them, though a CertificateVerify
    signed with one is still refused."""
    config: ServerConfig = ctx.config
    schemes = tuple(
        s for s in config.signature_schemes if s in TLS13_SIGNATURE_SCHEMES or s in TLS13_CERTIFICATE_ONLY_SCHEMES
    )
    exts = [Extension.make(E.signature_algorithms, schemes, X.CR)]
    names = requested_authorities(ctx)
    if names:
        exts.append(Extension.make(E.certificate_authorities, names, X.CR))
    if config.certificate_compression:  # RFC 8879, Section 3: the client may compress its Certificate
        exts.append(Extension.make(E.compress_certificate, config.certificate_compression, X.CR))
    return CertificateRequest(certificate_request_context=request_context, extensions=tuple(exts))


def secret_reporter(ctx: Context, client_random: bytes) -> SecretReport | None:
    """What the key schedule calls with each secret it derives: the connection's trace
    and key log, which name a connection by its client random (NSS key log format).
    None for a connection whose observer reads no secret event (none attached, or a trace
    that shows no derivation, Observer.wants_secret_events; asked when the connection is
    made): the key schedule then calls nothing, sixteen times a handshake."""
    if not ctx.reports_secrets:
        return None

    def report(name: str, secret: bytes) -> None:
        ctx.secret(name, client_random, secret)

    return report
