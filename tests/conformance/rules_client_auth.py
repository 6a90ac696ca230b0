"""Rules of client authentication, both versions (RFC 8446, Sections 4.4.2 and 4.4.3; RFC 5246,
Sections 7.4.6 and 7.4.8), against a server that requires a certificate from the conformance CA."""

from __future__ import annotations

from typing import Any

from ruletable import rule, scripted_with_certificate
from target import authority

from glasstls import CertifiedKey
from glasstls import ProtocolVersion as V
from glasstls.enums import AlertDescription as A
from glasstls.x509.mint import ThrowawayCA

CERTIFICATE_VERIFY = 15


def _edit_certificate_verify(edit: Any) -> Any:
    """A message_edit that replaces the client's CertificateVerify on the wire with ``edit(raw)``."""

    def message_edit(msg: Any) -> bytes | None:
        raw = msg.raw or msg.encode()
        return edit(raw) if raw[0] == CERTIFICATE_VERIFY else None

    return message_edit


def _signature_changed(raw: bytes) -> bytes:
    """The ECDSA signature with one bit of its last integer changed: still DER, no longer valid."""
    return raw[:-3] + bytes((raw[-3] ^ 0x01,)) + raw[-2:]


def _stranger() -> CertifiedKey:
    """A client certificate from a CA the server does not trust."""
    ident = ThrowawayCA.create("a CA nobody trusts").issue_client("stranger")
    return CertifiedKey(ident.chain, ident.private_key)


for _version, _tls, _empty in (("1.3", V.TLSv1_3, A.certificate_required), ("1.2", V.TLSv1_2, A.handshake_failure)):
    _prefix = "" if _version == "1.3" else "tls12-"
    _sections = ("RFC 8446 4.4.2.4", "RFC 8446 4.4.3") if _version == "1.3" else ("RFC 5246 7.4.6", "RFC 5246 7.4.8")

    @rule(f"{_prefix}client-certificate-empty-when-required", _sections[0], _version, _empty, server="clientauth")
    def _(t: Any, tls: V = _tls) -> Any:
        return scripted_with_certificate(t, tls, certificate=False)

    @rule(f"{_prefix}client-certificate-from-an-unknown-ca", _sections[0], _version, A.unknown_ca, server="clientauth")
    def _(t: Any, tls: V = _tls) -> Any:
        return scripted_with_certificate(t, tls, certificate=_stranger())

    @rule(f"{_prefix}client-certificate-verify-wrong", _sections[1], _version, A.decrypt_error, server="clientauth")
    def _(t: Any, tls: V = _tls) -> Any:
        return scripted_with_certificate(t, tls, message_edit=_edit_certificate_verify(_signature_changed))

    @rule(
        f"{_prefix}client-certificate-verify-missing", _sections[1], _version, A.unexpected_message, server="clientauth"
    )
    def _(t: Any, tls: V = _tls) -> Any:
        return scripted_with_certificate(t, tls, message_edit=_edit_certificate_verify(lambda raw: b""))

    @rule(
        f"{_prefix}client-certificate-verify-scheme-not-offered",
        _sections[1],
        _version,
        A.illegal_parameter,
        server="clientauth",
    )
    def _(t: Any, tls: V = _tls) -> Any:
        """rsa_pkcs1_sha1 (0x0201), which no CertificateRequest of a TLS 1.3 or 1.2 server of today offers."""
        sha1 = _edit_certificate_verify(lambda raw: raw[:4] + b"\x02\x01" + raw[6:])
        return scripted_with_certificate(t, tls, message_edit=sha1)


assert authority()  # (the server's trust: the conformance root, as target.client_identity's issuer)
