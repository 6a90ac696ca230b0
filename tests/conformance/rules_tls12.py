"""Rules of TLS 1.2 (RFC 5246, Sections 6 and 7; RFC 5746; RFC 7627; RFC 8422)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hostile import (
    ALERT,
    ALPN,
    APPLICATION_DATA,
    CCS,
    EC_POINT_FORMATS,
    EXTENDED_MASTER_SECRET,
    HANDSHAKE,
    PRE_SHARED_KEY,
    RENEGOTIATION_INFO,
    RENEGOTIATION_SCSV,
    SUPPORTED_GROUPS,
    TLS12_SUITES,
    Answer,
    alert,
    alpn,
    exchange,
    handshake,
    hello12,
    record,
    u16s,
    vec,
)
from ruletable import (
    CCS_RECORD,
    CLOSED,
    SERVED,
    finished_edit,
    fragments,
    rule,
    scripted12,
    send12,
    with_body,
)

from glasstls.enums import AlertDescription as A

# -- TLS 1.2 (RFC 5246, Section 7; RFC 5746; RFC 8422) ----------------------------------------------------


@rule("tls12-hello-well-formed", "RFC 5246 7.4.1.2", "1.2", SERVED)
def _(t: Any) -> Answer:
    return send12(t, hello12())


@rule("tls12-hello-version-ssl3", "RFC 5246 E.1, RFC 8996", "1.2", A.protocol_version, openssl="handshake_failure")
def _(t: Any) -> Answer:
    return send12(t, replace(hello12(), version=0x0300))


@rule("tls12-hello-version-0x0304-negotiates-1.2", "RFC 5246 E.1", "1.2", SERVED, server="tls12")
def _(t: Any) -> Answer:
    return send12(t, replace(hello12(), version=0x0304))


@rule("tls12-hello-compression-without-null", "RFC 5246 7.4.1.2", "1.2", A.illegal_parameter, openssl="decode_error")
def _(t: Any) -> Answer:
    return send12(t, replace(hello12(), compression=b"\x01"))


@rule("tls12-hello-no-common-suite", "RFC 5246 7.4.1.2", "1.2", A.handshake_failure)
def _(t: Any) -> Answer:
    return send12(t, replace(hello12(), suites=u16s(0x0005, 0x000A)))


@rule(
    "tls12-ffdhe-only-unknown-groups-no-dhe", "RFC 7919 4", "1.2", A.insufficient_security, openssl="handshake_failure"
)
def _(t: Any) -> Answer:
    # FFDHE code points (256..511) none of which the server knows: it MUST NOT choose a DHE suite.
    return send12(t, replace(hello12(), suites=u16s(0x009E, 0x009F)).replacing(SUPPORTED_GROUPS, vec(2, u16s(0x01FF))))


@rule("tls12-ffdhe-unknown-group-falls-back-to-ecdhe", "RFC 7919 4", "1.2", SERVED)
def _(t: Any) -> Answer:
    groups = vec(2, u16s(0x01FF, 0x0017))  # (secp256r1: the curve of the server's ECDSA certificate, RFC 8422 5.1)
    return send12(t, replace(hello12(), suites=u16s(0x009E, 0xC02B)).replacing(SUPPORTED_GROUPS, groups))


@rule("tls12-hello-suites-odd-length", "RFC 5246 7.4.1.2", "1.2", A.decode_error)
def _(t: Any) -> Answer:
    return send12(t, replace(hello12(), suites=u16s(*TLS12_SUITES) + b"\xc0"))


@rule("tls12-renegotiation-info-not-empty", "RFC 5746 3.6", "1.2", A.handshake_failure)
def _(t: Any) -> Answer:
    return send12(t, hello12().replacing(RENEGOTIATION_INFO, vec(1, bytes(12))))


@rule("tls12-renegotiation-info-bad-length", "RFC 5746 3.2", "1.2", A.decode_error)
def _(t: Any) -> Answer:
    return send12(t, hello12().replacing(RENEGOTIATION_INFO, b"\x05\x00"))


@rule("tls12-renegotiation-scsv-and-info", "RFC 5746 3.6", "1.2", SERVED)
def _(t: Any) -> Answer:
    return send12(t, replace(hello12(), suites=u16s(*TLS12_SUITES, RENEGOTIATION_SCSV)))


@rule("tls12-renegotiation-scsv-only", "RFC 5746 3.6", "1.2", SERVED)
def _(t: Any) -> Answer:
    h = hello12().without(RENEGOTIATION_INFO)
    return send12(t, replace(h, suites=u16s(*TLS12_SUITES, RENEGOTIATION_SCSV)))


@rule("tls12-max-fragment-length-undefined-value", "RFC 6066 4", "1.2", A.illegal_parameter)
def _(t: Any) -> Answer:
    return send12(t, hello12().with_ext(1, b"\x00"))


@rule("tls12-ec-point-formats-empty", "RFC 8422 5.1.2", "1.2", A.decode_error)
def _(t: Any) -> Answer:
    return send12(t, hello12().replacing(EC_POINT_FORMATS, vec(1, b"")))


@rule(
    "tls12-ec-point-formats-no-uncompressed", "RFC 8422 5.1.2", "1.2", A.illegal_parameter, openssl="handshake_failure"
)
def _(t: Any) -> Answer:
    return send12(t, hello12().replacing(EC_POINT_FORMATS, vec(1, b"\x01\x02")))


@rule("tls12-extended-master-secret-not-empty", "RFC 7627 5.1", "1.2", A.decode_error)
def _(t: Any) -> Answer:
    return send12(t, hello12().replacing(EXTENDED_MASTER_SECRET, b"\x00"))


@rule("tls12-duplicate-extension", "RFC 5246 7.4.1.4", "1.2", A.illegal_parameter, note="RFC 5246 names no alert")
def _(t: Any) -> Answer:
    h = hello12()
    return send12(t, h.with_ext(EC_POINT_FORMATS, h.ext_data(EC_POINT_FORMATS)))


@rule("tls12-alpn-no-overlap", "RFC 7301 3.2", "1.2", A.no_application_protocol, server="alpn")
def _(t: Any) -> Answer:
    return send12(t, hello12().with_ext(ALPN, alpn(b"spdy/3")))


@rule("tls12-hello-with-pre-shared-key-ignored", "RFC 8446 4.2", "1.2", SERVED, openssl="handshake_failure")
def _(t: Any) -> Any:
    """A TLS 1.2 negotiation does not use TLS 1.3's pre_shared_key (its last extension, well
    formed, of a ticket nobody issued): ignored, as Go ignores it; OpenSSL refuses the hello."""
    identity = vec(2, b"ticket") + (0).to_bytes(4, "big")
    return send12(t, hello12().with_ext(PRE_SHARED_KEY, vec(2, identity) + vec(2, vec(1, bytes(32)))))


@rule("tls12-unknown-extension-tolerated", "RFC 5246 7.4.1.4", "1.2", SERVED)
def _(t: Any) -> Answer:
    return send12(t, hello12().with_ext(0x7A7A, b"x").with_ext(0x0A0A, b"", at=0))


@rule("tls12-hello-fragmented-and-interleaved", "RFC 5246 6.2.1", "1.2", A.unexpected_message)
def _(t: Any) -> Answer:
    parts = fragments(hello12().message(), 30)
    return exchange(t.port, parts[0], record(APPLICATION_DATA, b"x"), *parts[1:])


@rule("tls12-hello-fragmented", "RFC 5246 6.2.1", "1.2", SERVED)
def _(t: Any) -> Answer:
    return exchange(t.port, b"".join(fragments(hello12().message(), 7)))


def _drop_ccs_first(s: Any, n: int, recs: list[bytes]) -> list[bytes]:
    """Flight 1 is ClientKeyExchange, ChangeCipherSpec, Finished: the CCS goes first."""
    return [recs[1], recs[0], *recs[2:]] if n == 1 else recs


def _inside_client_key_exchange(between: bytes) -> Any:
    """Flight 1 with its ClientKeyExchange in two records and ``between`` (a record) between them."""

    def flights(s: Any, n: int, recs: list[bytes]) -> list[bytes]:
        if n != 1:
            return recs
        body = recs[0][5:]
        return [record(HANDSHAKE, body[:10]), between, record(HANDSHAKE, body[10:]), *recs[1:]]

    return flights


@rule("tls12-warning-alert-inside-a-split-message", "RFC 5246 6.2.1", "1.2", SERVED)
def _(t: Any) -> Any:
    # Record types may interleave in TLS 1.2 (Section 6.2.1): an alert between the pieces of a message
    # is read (OpenSSL and GnuTLS go on). TLS 1.3 forbids it (RFC 8446, Section 5.1).
    return scripted12(t, flights=_inside_client_key_exchange(alert(1, 112)))


@rule("tls12-ccs-inside-a-split-message", "RFC 5246 7.1", "1.2", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted12(t, flights=_inside_client_key_exchange(CCS_RECORD))


@rule("tls12-warning-alert-before-client-hello", "RFC 5246 7.4", "1.2", A.unexpected_message)
def _(t: Any) -> Answer:
    # A client begins with its ClientHello (Section 7.4); OpenSSL and GnuTLS refuse anything before it.
    return exchange(t.port, alert(1, 112), hello12().records())


@rule("tls12-ccs-before-client-key-exchange", "RFC 5246 7.1", "1.2", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted12(t, flights=_drop_ccs_first)


@rule("tls12-ccs-bad-value", "RFC 5246 7.1", "1.2", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted12(t, flights=lambda s, n, recs: [recs[0], record(CCS, b"\x02"), *recs[2:]] if n == 1 else recs)


@rule("tls12-ccs-two-bytes", "RFC 5246 7.1", "1.2", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted12(t, flights=lambda s, n, recs: [recs[0], record(CCS, b"\x01\x01"), *recs[2:]] if n == 1 else recs)


@rule("tls12-finished-missing", "RFC 5246 7.4.9", "1.2", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted12(t, before_finished=[(APPLICATION_DATA, b"x")], message_edit=finished_edit(lambda raw: b""))


@rule("tls12-finished-too-short", "RFC 5246 7.4.9", "1.2", A.decode_error)
def _(t: Any) -> Any:
    return scripted12(t, message_edit=finished_edit(lambda raw: with_body(raw, raw[4:-1])))


@rule("tls12-finished-header-claims-1000-bytes", "RFC 5246 7.4.9", "1.2", A.decode_error, openssl="illegal_parameter")
def _(t: Any) -> Any:
    return scripted12(t, message_edit=finished_edit(lambda raw: raw[:1] + (1000).to_bytes(3, "big")))


@rule("tls12-finished-wrong", "RFC 5246 7.4.9", "1.2", A.decrypt_error)
def _(t: Any) -> Any:
    return scripted12(t, message_edit=finished_edit(lambda raw: raw[:-1] + bytes((raw[-1] ^ 1,))))


@rule("tls12-application-data-before-ccs", "RFC 5246 7.4.9", "1.2", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted12(
        t, flights=lambda s, n, recs: [recs[0], record(APPLICATION_DATA, b"x"), *recs[1:]] if n == 1 else recs
    )


@rule("tls12-after-finished-second-finished", "RFC 5246 7.4", "1.2", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted12(t, after=lambda s: [s.sealed(HANDSHAKE, handshake(20, bytes(12)))])


@rule("tls12-after-finished-unknown-type-rest-never-sent", "RFC 5246 7.4", "1.2", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted12(t, after=lambda s: [s.sealed(HANDSHAKE, handshake(99, b"", length=100))])


@rule("tls12-certificate-unsolicited-length-huge", "RFC 5246 7.4.6", "1.2", A.unexpected_message)
def _(t: Any) -> Any:
    """A client Certificate the server never asked for, its header claiming 2^24 - 1 bytes, in
    place of the ClientKeyExchange: unexpected whatever its length (as OpenSSL)."""
    huge = record(HANDSHAKE, handshake(11, b"", length=(1 << 24) - 1))
    return scripted12(t, flights=lambda s, n, recs: [huge, *recs] if n == 1 else recs)


@rule("tls12-after-finished-ccs", "RFC 5246 7.1", "1.2", A.unexpected_message, openssl="internal_error")
def _(t: Any) -> Any:
    return scripted12(t, after=lambda s: [record(CCS, b"\x01")])


@rule("tls12-renegotiation-refused", "RFC 5746 4.4, RFC 5246 7.2.2", "1.2", A.no_renegotiation, level=1)
def _(t: Any) -> Any:
    return scripted12(t, after=lambda s: [s.sealed(HANDSHAKE, hello12().message())])


@rule("tls12-too-many-warning-alerts", "RFC 5246 7.2", "1.2", A.unexpected_message)
def _(t: Any) -> Answer:
    # The fifth consecutive warning is fatal, in OpenSSL (MAX_WARN_ALERT_COUNT) as in BoringSSL.
    return send12(t, hello12(), *[alert(1, 112)] * 5)


@rule("tls12-alert-unknown-level", "RFC 5246 7.2", "1.2", A.illegal_parameter)
def _(t: Any) -> Answer:
    return send12(t, hello12(), alert(7, 40))


@rule("tls12-record-version-0x0400-of-first-record", "RFC 5246 E.1", "1.2", A.protocol_version, openssl="closed")
def _(t: Any) -> Answer:
    return exchange(t.port, record(HANDSHAKE, hello12().message(), 0x0400))


@rule("tls12-record-over-2^14-plaintext", "RFC 5246 6.2.1", "1.2", A.record_overflow)
def _(t: Any) -> Answer:
    return exchange(t.port, record(HANDSHAKE, bytes((1 << 14) + 1), 0x0303))


@rule("tls12-record-ciphertext-over-2^14+2048", "RFC 5246 6.2.3", "1.2", A.record_overflow)
def _(t: Any) -> Any:
    big = record(APPLICATION_DATA, bytes((1 << 14) + 2049))
    return scripted12(t, after=lambda s: [big])


@rule("tls12-empty-handshake-record", "RFC 5246 6.2.1", "1.2", A.unexpected_message, openssl=SERVED)
def _(t: Any) -> Answer:
    return send12(t, hello12(), record(HANDSHAKE, b""))


@rule("tls12-empty-alert", "RFC 5246 6.2.1", "1.2", A.unexpected_message)
def _(t: Any) -> Answer:
    return send12(t, hello12(), record(ALERT, b""))


@rule("tls12-one-warning-alert-tolerated", "RFC 5246 7.2", "1.2", SERVED)
def _(t: Any) -> Answer:
    return send12(t, hello12(), alert(1, 112))


@rule("tls12-fatal-alert-closes", "RFC 5246 7.2", "1.2", CLOSED)
def _(t: Any) -> Answer:
    return send12(t, hello12(), alert(2, 40))


@rule("tls12-record-size-limit-exceeded", "RFC 8449 4", "1.2", A.record_overflow, server="recordlimit", openssl=SERVED)
def _(t: Any) -> Any:
    """The server announces 1000 in its ServerHello, which bounds the plaintext of the client's
    records from its ChangeCipherSpec on (TLS 1.2 counts no content type byte); 1000 is read."""
    return scripted12(
        t, after=lambda s: [s.sealed(APPLICATION_DATA, bytes(1000)), s.sealed(APPLICATION_DATA, bytes(1001))]
    )


@rule("tls12-hello-version-tls11-with-fallback-scsv", "RFC 7507 3", "1.2", A.inappropriate_fallback)
def _(t: Any) -> Answer:
    """A TLS 1.1 ClientHello (no supported_versions) with TLS_FALLBACK_SCSV and an AES-CBC suite TLS 1.1
    has: either alert is allowed where the version is unsupported; OpenSSL answers this one."""
    return send12(t, replace(hello12(), version=0x0302, suites=u16s(0xC013, 0x002F, 0x5600)))


@rule("tls12-encrypt-then-mac-with-a-body", "RFC 7366 2", "1.2", A.decode_error, openssl=SERVED)
def _(t: Any) -> Answer:
    """encrypt_then_mac's extension_data is empty (RFC 7366, Section 2); in a TLS 1.2 handshake a body is
    decode_error, which a TLS 1.3 one ignores (hello-tls12-only-extensions-malformed-ignored)."""
    return send12(t, hello12().with_ext(22, b"\x00"))


@rule("tls12-hello-version-tls11", "RFC 8996 5", "1.2", A.protocol_version, openssl="handshake_failure")
def _(t: Any) -> Answer:
    """A TLS 1.1 ClientHello (no supported_versions) with suites TLS 1.1 has: RFC 8996, Section 5 asks for
    protocol_version; OpenSSL 3.0, whose default security level leaves it no TLS 1.1 suite, answers
    handshake_failure (as tlsfuzzer's test-chacha20.py, written before RFC 8996, expects)."""
    return send12(t, replace(hello12(), version=0x0302, suites=u16s(0xC013, 0x002F)))
