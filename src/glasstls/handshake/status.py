"""Certificate status in the handshake: OCSP stapling and CRL checks, both roles, both versions.

Client (RFC 6066, Section 8; RFC 8446, Section 4.4.2.1; RFC 7633):

* the ClientHello carries status_request unless ``ClientConfig.ocsp == "off"``;
* the staple arrives in the leaf's CertificateEntry (TLS 1.3) or in a
  CertificateStatus message after Certificate (TLS 1.2, announced by an empty
  status_request in the ServerHello);
* :func:`check_server_status` runs once the path is validated and the staple
  (or its absence) is known: a staple is checked and must say good; no staple
  fails when ``ocsp == "require"`` or the leaf is must-staple; then, with
  ``revocation_fetch`` on, the online checks of :mod:`glasstls.x509.online`
  (OCSP responders and CRL distribution points the certificates name, fetched
  synchronously through ``ClientConfig.revocation_fetcher`` within its deadlines)
  for every certificate no good staple covers, the configured CRLs first;
  otherwise the configured CRLs as before, and a line saying the revocation was
  not checked online when nothing covered the leaf.

Server: :func:`staple_for` picks the response to staple, when the client asked
and the certificate has a :class:`~glasstls.x509.stapling.StapleSource` with a
current response. Client certificates are looked up in ``client_crls`` by
``peer_auth.verify_client`` (through ``verify_client_chain``).

Every check shows in the trace as a VerificationTrace ("OCSP staple for CN=…",
"CRL check for CN=…", "OCSP fetch for CN=…", "CRL fetch for CN=…"); when
nothing checked the leaf, "online revocation for CN=…" says so, so silence is
never taken for a check.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from ..config import CertifiedKey, ClientConfig
from ..enums import AlertDescription, CertificateStatusType
from ..enums import ExtensionType as E
from ..errors import AlertError
from ..wire.handshake import Certificate, ClientHello
from ..x509.names import describe
from ..x509.revocation import CrlCheck, check_crls, check_ocsp_response, must_staple, require_good
from .admission import admit_extensions
from .base import Context

# RFC 8446, Section 4.4.2: what a server's CertificateEntry may carry.
_ENTRY_EXTENSIONS = {E.status_request, E.signed_certificate_timestamp}


def leaf_staple(ctx: Context, msg: Certificate) -> bytes | None:
    """The OCSP response in the leaf's CertificateEntry (RFC 8446, Section 4.4.2.1), if any.

    Extensions must answer ones the ClientHello offered (unsupported_extension)
    and be among those a CertificateEntry may carry (illegal_parameter). A
    staple on an intermediate's entry (RFC 6961-style) is ignored.
    """
    hello: ClientHello | None = ctx.offered_hello
    assert hello is not None  # the client sent it before the server could answer
    for index, entry in enumerate(msg.entries):
        admit_extensions(entry.extensions, hello, _ENTRY_EXTENSIONS, f"server CertificateEntry #{index}")
    leaf = msg.entries[0].extensions if msg.entries else ()
    staple = next((ext for ext in leaf if ext.type == E.status_request), None)
    return staple.value if staple is not None else None


def check_server_status(ctx: Context, path: Sequence[x509.Certificate], staple: bytes | None) -> None:
    """Revocation of a validated server path (leaf first, anchor last): the staple, then the CRLs."""
    cfg: ClientConfig = ctx.config
    now = ctx.now()
    leaf = path[0]
    issuer = path[1] if len(path) > 1 else path[0]
    covered: tuple[x509.Certificate, ...] = ()
    try:
        if staple is not None:
            result = check_ocsp_response(staple, leaf, issuer, now)
            require_good(result, leaf)
            ctx.verified(f"OCSP staple for {describe(leaf)}", True, result.summary())
            covered = (leaf,)
        elif cfg.ocsp == "require":
            raise AlertError(
                AlertDescription.bad_certificate_status_response,
                f"the server stapled no OCSP response for {describe(leaf)}, and this client requires one "
                "(ocsp='require', --ocsp require); the server must be configured to staple (openssl s_server "
                "-status_file, nginx ssl_stapling, glasstls server --ocsp FILE|auto)",
            )
        elif cfg.ocsp == "request" and must_staple(leaf):
            raise AlertError(
                AlertDescription.bad_certificate_status_response,
                f"server certificate {describe(leaf)} is must-staple (its TLS feature extension lists "
                "status_request, RFC 7633) but the server stapled no OCSP response: the server must staple one",
            )
    except AlertError as err:
        ctx.verified(f"OCSP staple for {describe(leaf)}", False, err.reason)
        raise
    if cfg.revocation_fetch != "off":
        cfg.revocation_fetcher.check_path(
            path,
            now,
            mode=cfg.revocation_fetch,
            policy=cfg.revocation,
            crls=cfg.crls,
            covered=covered,
            report=ctx.verified,
        )
        return
    checks: tuple[CrlCheck, ...] = ()
    if cfg.crls or cfg.revocation == "hard":
        checks = check_crls(path, cfg.crls, now, cfg.revocation, covered=covered, report=ctx.verified)
    if ctx.tracing and len(path) > 1 and not covered and not any(c.cert == leaf and c.status == "good" for c in checks):
        ctx.verified(
            f"online revocation for {describe(leaf)}",
            True,
            "revocation not checked online (revocation_fetch is off: no OCSP responder or CRL distribution "
            "point was asked; --revocation-fetch ocsp|crl|both turns it on)",
        )


def staple_for(ctx: Context, hello: ClientHello, certified: CertifiedKey) -> bytes | None:
    """The server's staple for ``certified``, if the client asked and a current response is at hand."""
    request = hello.ext(E.status_request)
    source = certified.ocsp  # x509.stapling.StapleSource, or None
    if request is None or source is None:
        return None
    if getattr(request.value, "status_type", None) != CertificateStatusType.ocsp:
        return None  # RFC 6066, Section 8: only ocsp is defined
    leaf = certified.chain[0]
    issuer = certified.chain[1] if len(certified.chain) > 1 and certified.chain[1].subject == leaf.issuer else None
    der: bytes | None
    der, detail = source.staple_for(leaf, issuer, ctx.now())
    ctx.verified(f"OCSP staple for {describe(leaf)}", der is not None, detail)
    return der
