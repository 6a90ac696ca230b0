"""Peer authentication, both roles, both versions: the peer's chain parsed
(RFC 8446, Section 4.4.2; RFC 5246, Section 7.4.2), validated (server chains
against the trust store and the host name, client chains against the client
CAs as client certificates, then by the application's identity check), and
the one signature check every signed handshake message passes.

The signature check is the same four steps wherever the peer signs (TLS 1.3
CertificateVerify of either side, during or after the handshake; TLS 1.2
ServerKeyExchange and client CertificateVerify): a scheme we offered (and,
in TLS 1.3, one legal there: RFC 8446, Section 4.4.3), fitting the
certificate's key, then the signature itself, reported in the trace.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import cast

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from ..crypto.signatures import TLS13_SIGNATURE_SCHEMES, PublicKey, scheme_fits_certificate, verify
from ..enums import SignatureScheme
from ..errors import AlertDescription, AlertError, Facts
from ..wire.handshake import Certificate
from ..x509.client_identity import CHECK_FIELD, ClientIdentity, run_identity_check
from ..x509.names import describe, parse_problem
from ..x509.revocation import check_crls, must_staple
from ..x509.store import TrustStore
from ..x509.verify import VerifiedChain, verify_client_chain, verify_server_chain
from ..x509.verify_cache import der_of, parsed, parsed_chain
from .base import Context, traced_check

Chain = tuple[x509.Certificate, ...]


def parse_chain(msg: Certificate, whose: str) -> Chain:
    """The certificates of a TLS 1.3 Certificate message, leaf first."""
    return tuple(load_certificate(entry.cert_data, i, whose) for i, entry in enumerate(msg.entries))


def parse_der_chain(ders: tuple[bytes, ...], whose: str) -> Chain:
    """The certificates of a TLS 1.2 Certificate message or a session's chain, leaf first (the same
    chain parses once per process, x509/verify_cache.py)."""
    if not ders:
        return ()
    return parsed_chain(tuple(ders), lambda ders: tuple(load_certificate(der, i, whose) for i, der in enumerate(ders)))


def der_chain(chain: Chain) -> tuple[bytes, ...]:
    """A chain as DER, leaf first (what a session keeps of the peer's chain)."""
    return tuple(der_of(cert) for cert in chain)


def load_certificate(der: bytes, index: int, whose: str) -> x509.Certificate:
    """Parse one DER certificate; a corrupt one is bad_certificate (RFC 8446, Section 6.2). The
    same bytes parse once per process (x509/verify_cache.py)."""
    return parsed(der, index == 0, lambda data: _load_certificate(data, index, whose))


def _load_certificate(der: bytes, index: int, whose: str) -> x509.Certificate:
    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:
        raise AlertError(
            AlertDescription.bad_certificate,
            f"{whose} certificate #{index} is not valid DER X.509: {parse_problem(exc)}",
        ) from None
    try:
        # cryptography parses these parts lazily: parse them here, so a corrupt
        # certificate fails here, with an alert, and not deep inside path
        # validation, a log line (the subject) or the connection's parameters.
        _ = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.extensions
        if index == 0:
            cert.public_key()
    except (ValueError, TypeError, x509.DuplicateExtension) as exc:
        raise AlertError(
            AlertDescription.bad_certificate,
            f"{whose} certificate #{index} ({describe(cert)}) is malformed: {parse_problem(exc)}",
        ) from None
    except UnsupportedAlgorithm as exc:
        raise AlertError(
            AlertDescription.unsupported_certificate,
            f"{whose} certificate #{index} ({describe(cert)}) has an unsupported key: {parse_problem(exc)}",
        ) from None
    return cert


def peer_subject(cert: x509.Certificate) -> str:
    """The subject for the trace, escaped: the peer chose it."""
    return describe(cert)


def verify_server(ctx: Context, chain: Chain) -> VerifiedChain:
    """Path validation and host name; revocation follows (status.check_server_status) on the path returned."""
    store = ctx.config.trust_store or TrustStore.system()
    name_checked = not ctx.config.dangerous.skip_server_name_check
    if name_checked and not ctx.server_name:
        raise AlertError(
            AlertDescription.internal_error,
            "no server name to verify the certificate against: pass server_name (or skip_server_verification)",
        )
    try:
        verified = verify_server_chain(chain, ctx.server_name if name_checked else None, store, ctx.now())
    except AlertError as err:
        ctx.verified(peer_subject(chain[0]), False, err.reason)
        raise
    ctx.note_verified_path(verified.path)
    if ctx.tracing:
        valid_for = f"valid for {ctx.server_name}" if name_checked else "its name not checked (skip_server_name_check)"
        ctx.verified(peer_subject(chain[0]), True, f"chain to a trusted root, {valid_for}")
    return verified


def no_client_certificate(description: AlertDescription) -> AlertError:
    """A client that answered our CertificateRequest with no certificate, where one is required:
    handshake_failure in TLS 1.2 (RFC 5246, Section 7.4.6), certificate_required in TLS 1.3 (RFC 8446,
    Section 4.4.2.4)."""
    return AlertError(
        description,
        "client sent no certificate, and this server requires one (client_auth='required')",
        facts=Facts("client_certificate_missing", field="ServerConfig.client_auth", value="required"),
    )


def verify_client(ctx: Context, chain: Chain) -> None:
    """Path validation against the client CAs (as a client chain: no subjectAltName needed), with the
    client revocation policy; then the application's ``ServerConfig.client_identity_check``, if any."""
    subject = describe(chain[0])  # escaped for the trace: the client chose it
    path = traced_check(
        ctx,
        subject,
        "client certificate chains to a trusted client CA",
        lambda: verify_client_chain(
            chain,
            ctx.config.client_trust_store,
            ctx.now(),
            crls=ctx.config.client_crls,
            revocation=ctx.config.client_revocation,
            report=ctx.verified,
        ),
    )
    ctx.note_verified_path(path)
    check = ctx.config.client_identity_check
    if check is not None:
        # After the chain verified, never before: the application judges a proven identity
        # (access_denied, RFC 8446, Section 6.2, when it refuses).
        identity = ClientIdentity.of(path)
        traced_check(ctx, subject, f"client accepted by {CHECK_FIELD}", lambda: run_identity_check(check, identity))


def session_server_problem(ctx: Context, ders: tuple[bytes, ...], now: datetime) -> str | None:
    """Why a client may not offer a session on account of the server chain it keeps, or None: a chain
    that does not parse (a damaged session file), a server certificate past its notAfter (as Go's
    client: a resumption would vouch for it once more without a look at it), or, when this
    configuration verifies the server, a chain it does not verify now for this name (a session made
    with verification skipped, or under another trust store: Go refuses a session without verified
    chains, Python's ssl one of another context). A resumed handshake shows no certificate: the one
    the session keeps is the only one there is to check. The path was validated when the session was
    made, so this is usually a hit of the verified-chain cache (x509/verify_cache.py)."""
    try:
        chain = parse_der_chain(ders, "server")
    except AlertError as exc:
        return f"the server chain it keeps does not parse: {exc.reason}"
    if chain and chain[0].not_valid_after_utc < now:
        return f"the server certificate it keeps expired at {chain[0].not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC"
    dangerous = ctx.config.dangerous
    if dangerous.skip_server_verification:
        return None
    if not chain:
        return "it keeps no server certificate to verify"
    name = None if dangerous.skip_server_name_check else ctx.server_name
    if name is None and not dangerous.skip_server_name_check:
        return "no server name to verify the certificate it keeps against"
    try:
        path = verify_server_chain(chain, name, ctx.config.trust_store or TrustStore.system(), now).path
    except AlertError as exc:
        return f"the server chain it keeps does not verify with this configuration: {exc.reason}"
    return _session_revocation_problem(ctx, path, now)


def _session_revocation_problem(ctx: Context, path: Sequence[x509.Certificate], now: datetime) -> str | None:
    """Why this configuration's revocation policy keeps a session from being offered, or None. A
    resumption brings no staple and no fetch, so what needs one (ocsp="require", a must-staple leaf,
    revocation_fetch) waits for a full handshake; CRLs given are checked on the kept path now, as a
    full handshake would check them (RFC 5246, Appendix F.1.4: a certificate that may have been
    revoked forces a full handshake)."""
    cfg = ctx.config
    leaf = path[0]
    if cfg.ocsp == "require" or (cfg.ocsp == "request" and must_staple(leaf)):
        return "this configuration needs a stapled OCSP response, which only a full handshake brings"
    if cfg.revocation_fetch != "off":
        return "this configuration checks revocation online (revocation_fetch), which a full handshake does"
    if cfg.crls or cfg.revocation == "hard":
        try:
            check_crls(path, cfg.crls, now, cfg.revocation, covered=(), report=None)
        except AlertError as exc:
            return f"the server chain it keeps fails this configuration's revocation check: {exc.reason}"
    return None


def session_client_refusal(ctx: Context, ders: tuple[bytes, ...]) -> str | None:
    """Why a server may not resume a session on account of the client chain it holds (both versions),
    or None: none when this server requires one, or the chain checked again as a full handshake would
    check it now (the client CAs, the time, the CRLs, the application's identity check), so that a
    session outlives neither the certificate nor the policy that admitted it. The server then declines
    the session: a full handshake asks again."""
    config = ctx.config
    if not ders:
        # A session made before this server required certificates: resuming it would skip the check.
        required = config.client_auth == "required"
        return "its session has no client certificate, and this server requires one" if required else None
    store = config.client_trust_store
    try:
        chain = parse_der_chain(ders, "client")  # (a session from a shared store may hold anything)
        if store is None:  # a server that asks for no certificate: the session's is what it was
            return None
        path = verify_client_chain(
            chain,
            store,
            ctx.now(),
            crls=config.client_crls,
            revocation=config.client_revocation,
            report=ctx.verified,
        )
        check = config.client_identity_check
        if check is not None:
            run_identity_check(check, ClientIdentity.of(path))
    except AlertError as exc:
        return f"its client certificate does not pass any longer: {exc.reason}"
    ctx.note_verified_path(path)
    return None


def check_peer_signature(
    ctx: Context,
    signer: str,
    cert: x509.Certificate,
    scheme: SignatureScheme,
    signature: bytes,
    content: bytes,
    accepted: Collection[int],
    *,
    tls13: bool,
    subject: str,
    success: str,
    what: str,
) -> None:
    """Offered? Fits the certificate? Verifies? ``signer`` is "server" or "client";
    ``accepted`` the schemes we offered or requested; ``subject``/``success`` name
    the check in the trace, ``what`` the signature in a failure."""
    # (Tests written out, not require(): its reason would be formatted in every handshake.)
    if scheme not in accepted or (tls13 and scheme not in TLS13_SIGNATURE_SCHEMES):
        if signer == "server":
            not_offered = "which the client did not offer" + (" for TLS 1.3" if tls13 else "")
        elif scheme in accepted:  # (a PKCS #1 v1.5 scheme: requested for certificates only)
            not_offered = "which TLS 1.3 allows in certificates only (RFC 8446, Section 4.2.3)"
        else:
            not_offered = "which the server did not request"
        raise AlertError(AlertDescription.illegal_parameter, f"{signer} signed with {scheme.name}, {not_offered}")
    if not scheme_fits_certificate(cert, scheme, tls13=tls13):
        # The TLS 1.3 client has always said "certificate key" here; the other checks "certificate".
        its = "its certificate key" if signer == "server" and tls13 else "its certificate"
        raise AlertError(
            AlertDescription.illegal_parameter, f"{signer} signed with {scheme.name}, which does not fit {its}"
        )
    # scheme_fits_certificate admitted only keys that sign; this tells the type checker so.
    key = cast("PublicKey", cert.public_key())
    if not ctx.tracing:  # the check alone, as traced_check would run it with no one to report to
        verify(key, scheme, content, signature, what=what, tls13=tls13)
        return
    traced_check(ctx, subject, success, lambda: verify(key, scheme, content, signature, what=what, tls13=tls13))
