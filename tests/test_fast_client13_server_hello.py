"""The client's ServerHello and ALPN checks written out instead of require() (issue 15): a call fewer
per check, and the ALPN reason formatted only when it fails. These tests hold check_server_hello and
_accepted_alpn to the require() versions they replaced, over each field of the ServerHello right and
wrong in turn (and two at once, for the order of the checks), after a HelloRetryRequest or not, and
over ALPN answers offered, not offered, several, and none offered at all: the same suite, or the same
alert and reason."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from glasstls.crypto.suites import TLS13_SUITES, Suite13
from glasstls.enums import AlertDescription, CipherSuite, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertError
from glasstls.handshake import client13
from glasstls.handshake.base import require
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.extensions import Extension

ILLEGAL = AlertDescription.illegal_parameter
V12, V13 = ProtocolVersion.TLSv1_2, ProtocolVersion.TLSv1_3
AES128, AES256 = CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_AES_256_GCM_SHA384


def _careful_check(
    sh: H.ServerHello, hello: H.ClientHello, retried: H.HelloRetryRequest | None, versions: Extension | None
) -> Suite13:
    """check_server_hello as it was (after its supported_versions checks, which are unchanged)."""
    if versions is None:
        raise AlertError(AlertDescription.protocol_version, "no supported_versions")
    if hello.ext(E.supported_versions) is None:
        raise AlertError(AlertDescription.unsupported_extension, "TLS 1.3 not offered")
    if versions.value != V13:
        raise AlertError(ILLEGAL, f"server selected {versions.value.label}, not offered")
    # legacy_version: ignored, as RFC 8446, Section 4.2.1 asks of a client, save 0x0300 or below (Appendix D.5).
    require(sh.legacy_version > 0x0300, AlertDescription.protocol_version, "SSL 3.0 or older (RFC 8446, Appendix D.5)")
    require(sh.legacy_session_id_echo == hello.legacy_session_id, ILLEGAL, "ServerHello does not echo the session id")
    if sh.cipher_suite not in hello.cipher_suites or sh.cipher_suite not in TLS13_SUITES:
        raise AlertError(ILLEGAL, f"server chose {sh.cipher_suite.name}, not offered for TLS 1.3")
    require(sh.compression_method == 0, ILLEGAL, "ServerHello compression method is not null")
    if retried is not None:
        require(
            not isinstance(sh, H.HelloRetryRequest), AlertDescription.unexpected_message, "second HelloRetryRequest"
        )
        require(sh.cipher_suite == retried.cipher_suite, ILLEGAL, "ServerHello suite differs from the HRR's")
    return TLS13_SUITES[sh.cipher_suite]


def _outcome(call: Any, *args: Any) -> tuple[Any, ...]:
    try:
        return ("value", call(*args))
    except AlertError as err:
        return ("raised", err.description, err.reason)


OFFERS_13 = (Extension.make(E.supported_versions, (V13, V12), X.CH),)  # a hello offering TLS 1.3
HELLO = H.ClientHello(legacy_session_id=b"\x11" * 32, cipher_suites=(AES128, CipherSuite(0x1303)), extensions=OFFERS_13)
# Each field right, then wrong (the first of each pair is what the hello asks for).
FIELDS = {
    "legacy_version": (V12, V13, ProtocolVersion(0x0301), ProtocolVersion(0x0300)),
    "legacy_session_id_echo": (b"\x11" * 32, b"", b"\x11" * 31 + b"\x12"),
    "cipher_suite": (AES128, AES256, CipherSuite(0x1303)),
    "compression_method": (0, 1),
}
VERSIONS = (V13, V12)


def _server_hellos() -> list[tuple[H.ServerHello, Extension]]:
    out = []
    for values in itertools.product(*FIELDS.values()):
        kw = dict(zip(FIELDS, values, strict=True))
        for version in VERSIONS:
            for cls in (H.ServerHello, H.HelloRetryRequest):
                sh = cls(random=bytes(32) if cls is H.ServerHello else H.HRR_RANDOM, **kw)  # type: ignore[arg-type]
                out.append((sh, Extension.make(E.supported_versions, version, X.SH)))
    return out


@pytest.mark.parametrize("after_retry", [False, True])
def test_server_hello_checks_as_before(after_retry: bool) -> None:
    retried = H.HelloRetryRequest(random=H.HRR_RANDOM, cipher_suite=AES128) if after_retry else None
    seen = set()
    for sh, versions in _server_hellos():
        expected = _outcome(_careful_check, sh, HELLO, retried, versions)
        got = _outcome(client13.check_server_hello, sh, HELLO, retried, versions)
        if expected[:2] == got[:2] == ("raised", AlertDescription.protocol_version):
            assert "RFC 8446, Appendix D.5" in got[2]
            got = expected  # (the same check, worded for a person)
        assert got == expected, (sh, versions.value)
        seen.add(expected[2] if expected[0] == "raised" else "value")
    assert len(seen) >= (6 if after_retry else 5)  # every way out taken: the suite, and each check's alert


def _careful_alpn(ee: H.EncryptedExtensions, hello: H.ClientHello) -> str | None:
    selected = ee.ext(E.application_layer_protocol_negotiation)
    if selected is None:
        return None
    offered = hello.ext(E.application_layer_protocol_negotiation)
    require(len(selected.value) == 1, ILLEGAL, "server selected more than one ALPN protocol")
    require(
        offered is not None and selected.value[0] in offered.value,
        ILLEGAL,
        f"server selected ALPN {selected.value[0]!r}, which the client did not offer",
    )
    protocol: bytes = selected.value[0]
    return protocol.decode("ascii", "replace")


def _alpn(protocols: tuple[bytes, ...] | None, context: str) -> tuple[Extension, ...]:
    if protocols is None:
        return ()
    return (Extension.make(E.application_layer_protocol_negotiation, protocols, context),)


OFFERS = (None, (b"h2", b"http/1.1"), (b"http/1.1",))
ANSWERS = (None, (b"h2",), (b"http/1.1",), (b"spdy/3",), (b"h2", b"http/1.1"), (b"\xff\xfe",))


def test_alpn_checks_as_before() -> None:
    seen = set()
    for offer, answer in itertools.product(OFFERS, ANSWERS):
        hello = H.ClientHello(cipher_suites=(AES128,), extensions=_alpn(offer, X.CH))
        ee = H.EncryptedExtensions(extensions=_alpn(answer, X.EE))
        expected = _outcome(_careful_alpn, ee, hello)
        assert _outcome(client13._accepted_alpn, ee, hello) == expected, (offer, answer)
        seen.add(expected[0])
    assert seen == {"value", "raised"}


def test_a_tls13_server_hello_with_legacy_version_ssl3_is_protocol_version() -> None:
    """RFC 8446, Appendix D.5: an endpoint that receives a hello whose legacy_version is 0x0300 MUST
    abort with protocol_version, supported_versions or not; OpenSSL's client does, and glasstls's
    took the handshake on (changed on the wire here)."""
    from dataclasses import replace

    from pairs import make_pair, once

    def ssl3(sh: H.Handshake) -> bytes:
        return replace(sh, legacy_version=ProtocolVersion(0x0300)).encode()  # type: ignore[type-var]

    pair = make_pair(server_alter=once(H.ServerHello, ssl3))
    pair.handshake()
    assert isinstance(pair.client.error, AlertError)
    assert pair.client.error.description == AlertDescription.protocol_version
    assert "RFC 8446, Appendix D.5" in pair.client.error.reason
