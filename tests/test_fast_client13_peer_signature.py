"""check_peer_signature without require() and, untraced, without traced_check (issue 15).

The checks are written out, so that their reasons are formatted only when they fail, and with no
one reading verified() the signature is verified without traced_check's closure. These tests hold
it to the function it replaced: every signer, version, scheme (offered or not, TLS 1.3-legal or
not, fitting the key or not) and signature (good, altered, empty), traced and not: the same
outcome, error and reason, and the same verification events.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any, cast

import pytest
from cryptography import x509

from glasstls.crypto.signatures import TLS13_SIGNATURE_SCHEMES, PublicKey, scheme_fits_certificate, sign, verify
from glasstls.enums import SignatureScheme
from glasstls.errors import AlertDescription, AlertError
from glasstls.handshake.base import require, traced_check
from glasstls.handshake.peer_auth import check_peer_signature
from pairs import server_identity

S = SignatureScheme
CONTENT = b"\x20" * 64 + b"TLS 1.3, server CertificateVerify\x00" + bytes(range(32))
SCHEMES = (S.ecdsa_secp256r1_sha256, S.ecdsa_sha1, S.rsa_pss_rsae_sha256, S.ed25519, S.ecdsa_secp384r1_sha384)


class _Recording:
    """What check_peer_signature asks of its connection: whether it traces, and verified()."""

    def __init__(self, tracing: bool) -> None:
        self.tracing = tracing
        self.events: list[tuple[str, bool, str]] = []

    def verified(self, subject: str, ok: bool, detail: str) -> None:
        if self.tracing:  # (the connection's: reported to an observer, when one is attached)
            self.events.append((subject, ok, detail))


def _careful(
    ctx: Any,
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
    """check_peer_signature as it was."""
    if signer == "server":
        not_offered = "which the client did not offer" + (" for TLS 1.3" if tls13 else "")
    elif scheme in accepted:
        not_offered = "which TLS 1.3 allows in certificates only (RFC 8446, Section 4.2.3)"
    else:
        not_offered = "which the server did not request"
    require(
        scheme in accepted and (not tls13 or scheme in TLS13_SIGNATURE_SCHEMES),
        AlertDescription.illegal_parameter,
        f"{signer} signed with {scheme.name}, {not_offered}",
    )
    its = "its certificate key" if signer == "server" and tls13 else "its certificate"
    require(
        scheme_fits_certificate(cert, scheme, tls13=tls13),
        AlertDescription.illegal_parameter,
        f"{signer} signed with {scheme.name}, which does not fit {its}",
    )
    key = cast("PublicKey", cert.public_key())
    traced_check(ctx, subject, success, lambda: verify(key, scheme, content, signature, what=what, tls13=tls13))


@functools.cache
def _signed() -> tuple[x509.Certificate, bytes]:
    identity = server_identity("localhost")
    good = sign(identity.private_key, S.ecdsa_secp256r1_sha256, CONTENT, lambda n: bytes(n))
    return identity.certificate, good


def _outcome(check: Any, tracing: bool, *args: Any, **kw: Any) -> tuple[Any, ...]:
    ctx = _Recording(tracing)
    try:
        check(ctx, *args, **kw)
    except AlertError as err:
        return ("raised", err.description, err.reason, ctx.events)
    return ("verified", ctx.events)


@pytest.mark.parametrize("signer", ["server", "client"])
@pytest.mark.parametrize("tls13", [True, False])
@pytest.mark.parametrize("tracing", [True, False])
def test_every_case_checks_as_before(signer: str, tls13: bool, tracing: bool) -> None:
    cert, good = _signed()
    signatures = (good, good[:-1] + bytes((good[-1] ^ 1,)), b"")
    accepted_sets = (SCHEMES, (S.ecdsa_secp256r1_sha256,), (S.rsa_pss_rsae_sha256,), ())
    seen = set()
    for scheme in SCHEMES:
        for accepted in accepted_sets:
            for signature in signatures:
                args = (signer, cert, scheme, signature, CONTENT, accepted)
                kw = {"tls13": tls13, "subject": f"{signer} CV", "success": "it verifies", "what": "CV signature"}
                expected = _outcome(_careful, tracing, *args, **kw)
                assert _outcome(check_peer_signature, tracing, *args, **kw) == expected, (scheme, accepted)
                seen.add(expected[1] if expected[0] == "raised" else "verified")
    # Each way out was taken: verified, refused before verifying, and not verifying.
    assert seen == {"verified", AlertDescription.illegal_parameter, AlertDescription.decrypt_error}
