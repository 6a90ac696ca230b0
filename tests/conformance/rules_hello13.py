"""Rules of the TLS 1.3 ClientHello and its extensions (RFC 8446, 4.1 and 4.2; RFC 6066; RFC 7301; RFC 8701)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hostile import (
    ALPN,
    COOKIE,
    EARLY_DATA,
    HANDSHAKE,
    KEY_SHARE,
    PADDING,
    PRE_SHARED_KEY,
    PSK_KEY_EXCHANGE_MODES,
    SECP256R1,
    SECP384R1,
    SERVER_NAME,
    SIGNATURE_ALGORITHMS,
    SUPPORTED_GROUPS,
    SUPPORTED_VERSIONS,
    TLS13_SUITES,
    X25519,
    Answer,
    Hello,
    alpn,
    exchange,
    handshake,
    hello13,
    key_share,
    p384_key,
    record,
    retry_exchange,
    sni,
    u16s,
    vec,
    x25519_share,
)
from ruletable import (
    CCS_RECORD,
    GREASE,
    SERVED,
    fragments,
    rule,
    scripted13,
    send13,
)

from glasstls.enums import AlertDescription as A

# -- the TLS 1.3 ClientHello (RFC 8446, Sections 4.1.2 and 4.2) -----------------------------------------


@rule("hello-well-formed", "RFC 8446 4.1.2", "1.3", SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13())


@rule("hello-legacy-version-ssl3", "RFC 8446 D.5", "1.3", A.protocol_version, openssl="handshake_failure")
def _(t: Any) -> Answer:
    return send13(t, replace(hello13(), version=0x0300))


@rule("hello-legacy-version-tls11-tolerated", "RFC 8446 4.2.1", "1.3", SERVED, note="as OpenSSL")
def _(t: Any) -> Answer:
    return send13(t, replace(hello13(), version=0x0302))


@rule("hello-compression-without-null", "RFC 8446 4.1.2", "1.3", A.illegal_parameter, openssl="decode_error")
def _(t: Any) -> Answer:
    return send13(t, replace(hello13(), compression=b"\x01"))


@rule("hello-compression-null-and-deflate", "RFC 8446 4.1.2", "1.3", A.illegal_parameter)
def _(t: Any) -> Answer:
    return send13(t, replace(hello13(), compression=b"\x01\x00"))


@rule("hello-session-id-over-32-bytes", "RFC 8446 4.1.2", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    return send13(t, replace(hello13(), session_id=bytes(33)))


@rule("hello-cipher-suites-odd-length", "RFC 8446 4.1.2", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    return send13(t, replace(hello13(), suites=u16s(*TLS13_SUITES) + b"\x13"))


@rule("hello-no-common-cipher-suite", "RFC 8446 4.1.1", "1.3", A.handshake_failure)
def _(t: Any) -> Answer:
    return send13(t, replace(hello13(), suites=u16s(0x1304, 0x1305)))


@rule("hello-no-supported-versions-to-1.3-only", "RFC 8446 4.2.1", "1.3", A.protocol_version, server="tls13")
def _(t: Any) -> Answer:
    return send13(t, hello13().without(SUPPORTED_VERSIONS))


@rule("hello-supported-versions-only-unknown", "RFC 8446 4.2.1", "1.3", A.protocol_version)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SUPPORTED_VERSIONS, vec(1, u16s(0x7F1C, 0x0305))))


@rule("hello-supported-versions-empty", "RFC 8446 4.2.1", "1.3", A.decode_error, openssl="protocol_version")
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SUPPORTED_VERSIONS, vec(1, b"")))


@rule("hello-supported-versions-odd-length", "RFC 8446 4.2.1", "1.3", A.decode_error, openssl="protocol_version")
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SUPPORTED_VERSIONS, vec(1, b"\x03\x04\x03")))


@rule("hello-key-share-group-not-in-supported-groups", "RFC 8446 4.2.8", "1.3", A.illegal_parameter)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SUPPORTED_GROUPS, vec(2, u16s(SECP256R1))))


@rule("hello-key-share-duplicate-group", "RFC 8446 4.2.8", "1.3", A.illegal_parameter, openssl=SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(KEY_SHARE, key_share((X25519, x25519_share()), (X25519, x25519_share()))))


@rule("hello-key-share-x25519-wrong-length", "RFC 8446 4.2.8.2", "1.3", A.illegal_parameter)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(KEY_SHARE, key_share((X25519, bytes(31)))))


@rule("hello-key-share-empty-list-asks-retry", "RFC 8446 4.2.8", "1.3", SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(KEY_SHARE, vec(2, b"")))


@rule("hello-key-share-missing", "RFC 8446 9.2", "1.3", A.missing_extension)
def _(t: Any) -> Answer:
    return send13(t, hello13().without(KEY_SHARE))


@rule("hello-supported-groups-missing", "RFC 8446 9.2", "1.3", A.missing_extension)
def _(t: Any) -> Answer:
    return send13(t, hello13().without(SUPPORTED_GROUPS))


@rule("hello-signature-algorithms-missing", "RFC 8446 9.2", "1.3", A.missing_extension)
def _(t: Any) -> Answer:
    return send13(t, hello13().without(SIGNATURE_ALGORITHMS))


@rule("hello-signature-algorithms-empty", "RFC 8446 4.2.3", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SIGNATURE_ALGORITHMS, vec(2, b"")))


@rule("hello-signature-algorithms-none-usable", "RFC 8446 4.4.2.2", "1.3", A.handshake_failure)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SIGNATURE_ALGORITHMS, vec(2, u16s(0x0201, 0x0203, 0xFE00))))


def _psk_extension() -> bytes:
    identity = vec(2, b"no such ticket") + (0).to_bytes(4, "big")
    return vec(2, identity) + vec(2, vec(1, bytes(32)))


@rule("hello-pre-shared-key-not-last", "RFC 8446 4.2.11", "1.3", A.illegal_parameter)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(PRE_SHARED_KEY, _psk_extension(), at=0))


@rule("hello-pre-shared-key-without-modes", "RFC 8446 4.2.9", "1.3", A.missing_extension)
def _(t: Any) -> Answer:
    return send13(t, hello13().without(PSK_KEY_EXCHANGE_MODES).with_ext(PRE_SHARED_KEY, _psk_extension()))


@rule("hello-unknown-psk-identity-ignored", "RFC 8446 4.2.11", "1.3", SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(PRE_SHARED_KEY, _psk_extension()))


def _psk_of(identities: list[bytes], binders: list[bytes]) -> bytes:
    """An OfferedPsks of these identities (obfuscated age 0) and binders, however many of each."""
    ids = b"".join(vec(2, i) + (0).to_bytes(4, "big") for i in identities)
    return vec(2, ids) + vec(2, b"".join(vec(1, b) for b in binders))


# The OfferedPsks syntax is checked whether or not an identity is known (RFC 8446, Section 4.2.11,
# as Go and rustls decode it): OpenSSL skips an offer it cannot use, and serves these.
@rule("hello-psk-binder-count-not-identity-count", "RFC 8446 4.2.11", "1.3", A.illegal_parameter, openssl=SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(PRE_SHARED_KEY, _psk_of([b"ticket a", b"ticket b"], [bytes(32)])))


@rule("hello-psk-binder-31-bytes", "RFC 8446 4.2.11", "1.3", A.decode_error, openssl=SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(PRE_SHARED_KEY, _psk_of([b"ticket"], [bytes(31)])))


@rule("hello-psk-identities-empty", "RFC 8446 4.2.11", "1.3", A.decode_error, openssl=SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(PRE_SHARED_KEY, _psk_of([], [bytes(32)])))


@rule("hello-psk-identity-empty", "RFC 8446 4.2.11", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(PRE_SHARED_KEY, _psk_of([b""], [bytes(32)])))


@rule("hello-psk-trailing-byte", "RFC 8446 4.2.11", "1.3", A.decode_error, openssl=SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(PRE_SHARED_KEY, _psk_of([b"ticket"], [bytes(32)]) + b"\x00"))


@rule("hello-psk-modes-empty", "RFC 8446 4.2.9", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    psk = _psk_of([b"ticket"], [bytes(32)])
    return send13(t, hello13().replacing(PSK_KEY_EXCHANGE_MODES, vec(1, b"")).with_ext(PRE_SHARED_KEY, psk))


@rule("hello-psk-modes-unknown-only-full-handshake", "RFC 8446 4.2.9", "1.3", SERVED)
def _(t: Any) -> Answer:
    psk = _psk_of([b"ticket"], [bytes(32)])
    return send13(t, hello13().replacing(PSK_KEY_EXCHANGE_MODES, vec(1, b"\x07")).with_ext(PRE_SHARED_KEY, psk))


@rule("hello-early-data-without-psk", "RFC 8446 4.2.10", "1.3", SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(EARLY_DATA))


@rule("hello-cookie-in-first-hello-ignored", "RFC 8446 4.2.2", "1.3", SERVED, note="as OpenSSL")
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(COOKIE, vec(2, bytes(48))))


@rule("hello-retry-cookie-not-issued", "RFC 8446 4.2.2", "1.3", A.illegal_parameter, server="stateless", openssl=SERVED)
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    key, public = p384_key()
    second = replace(first, key=key).replacing(KEY_SHARE, key_share((SECP384R1, public)))
    second = second.with_ext(COOKIE, vec(2, bytes(48)), at=0)
    return exchange(t.port, first.records(), CCS_RECORD, second.records(), hellos=(first, second), pause=0.1)


@rule("hello-sni-empty-host-name", "RFC 6066 3", "1.3", A.decode_error, openssl=SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SERVER_NAME, sni(b"")))


@rule("hello-sni-empty-list", "RFC 6066 3", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SERVER_NAME, vec(2, b"")))


@rule("hello-sni-two-host-names", "RFC 6066 3", "1.3", A.illegal_parameter, openssl="decode_error")
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SERVER_NAME, sni(b"localhost", b"example.com")))


@rule("hello-sni-control-character", "RFC 6066 3", "1.3", A.illegal_parameter, openssl=SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SERVER_NAME, sni(b"local\x07host")))


@rule("hello-sni-nul", "RFC 6066 3", "1.3", A.illegal_parameter, openssl="unrecognized_name")
def _(t: Any) -> Answer:
    return send13(t, hello13().replacing(SERVER_NAME, sni(b"localhost\x00.example.com")))


@rule("hello-extension-length-overruns-block", "RFC 8446 4.2", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    h = hello13()
    exts = b"".join(a.to_bytes(2, "big") + vec(2, d) for a, d in h.extensions)
    return send13(t, replace(h, extensions_block=vec(2, exts + u16s(PADDING, 10) + bytes(4))))


@rule("hello-extensions-block-overruns-message", "RFC 8446 4.1.2", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    h = hello13()
    exts = b"".join(a.to_bytes(2, "big") + vec(2, d) for a, d in h.extensions)
    return send13(t, replace(h, extensions_block=(len(exts) + 8).to_bytes(2, "big") + exts))


@rule("hello-trailing-bytes-after-extensions", "RFC 8446 4.1.2", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    return send13(t, replace(hello13(), trailing=b"\x00\x00"))


@rule("hello-message-length-overruns-record-data", "RFC 8446 4", "1.3", A.decode_error)
def _(t: Any) -> Answer:
    h = hello13()
    body = h.body()
    return exchange(t.port, record(HANDSHAKE, handshake(1, body[:-3], length=len(body) - 3) + b"\x01\x02\x03"))


@rule("hello-followed-by-handshake-data-in-its-record", "RFC 8446 5.1", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    # A whole, valid ClientHello, then the first bytes of another message in the same record: a
    # key change follows a ClientHello, so it must end its record (and no flight is sent first).
    return exchange(t.port, record(HANDSHAKE, handshake(1, hello13().body()) + b"\x14\x00\x00\x20"))


@rule("hello-duplicate-extension", "RFC 8446 4.2", "1.3", A.illegal_parameter)
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h.with_ext(SIGNATURE_ALGORITHMS, h.ext_data(SIGNATURE_ALGORITHMS)))


@rule("hello-unknown-extensions-tolerated", "RFC 8446 4.2", "1.3", SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(0x7A7A, b"hello").with_ext(0xFFFE, b"", at=0))


@rule("hello-grease-tolerated", "RFC 8701 3", "1.3", SERVED)
def _(t: Any) -> Answer:
    h = hello13()
    entries = key_share((GREASE, b"\x00"), (X25519, h.ext_data(KEY_SHARE)[6:]))
    h = replace(h, suites=u16s(0x2A2A, *TLS13_SUITES)).replacing(KEY_SHARE, entries)
    h = h.replacing(SUPPORTED_GROUPS, vec(2, u16s(GREASE, X25519, SECP256R1)))
    h = h.replacing(SUPPORTED_VERSIONS, vec(1, u16s(0x3A3A, 0x0304)))
    h = h.replacing(SIGNATURE_ALGORITHMS, vec(2, u16s(0x4A4A, 0x0403, 0x0804)))
    h = h.replacing(PSK_KEY_EXCHANGE_MODES, vec(1, b"\x0b\x01"))
    return send13(t, h.with_ext(0x5A5A, b"", at=0).with_ext(0x6A6A, b"\x00"))


def _many_empty_extensions(h: Hello, count: int) -> Hello:
    return replace(h, extensions=[(0x7000 + i, b"") for i in range(count)] + h.extensions)


@rule("hello-thousands-of-unknown-extensions", "RFC 8446 4.2", "1.3", SERVED)
def _(t: Any) -> Answer:
    h = _many_empty_extensions(hello13(), 16000)  # about 64 KB: the 2^16 block is the bound
    return exchange(t.port, *fragments(h.message(), 1 << 14), hellos=(h,))


@rule("hello-thousands-of-extensions-one-duplicate", "RFC 8446 4.2", "1.3", A.illegal_parameter)
def _(t: Any) -> Answer:
    h = _many_empty_extensions(hello13(), 16000)
    h = h.with_ext(SIGNATURE_ALGORITHMS, h.ext_data(SIGNATURE_ALGORITHMS))
    return exchange(t.port, *fragments(h.message(), 1 << 14), hellos=(h,))


@rule("hello-duplicate-unknown-extension", "RFC 8446 4.2", "1.3", A.illegal_parameter, openssl=SERVED)
def _(t: Any) -> Answer:
    h = _many_empty_extensions(hello13(), 3000).with_ext(0x7000)
    return exchange(t.port, *fragments(h.message(), 1 << 14), hellos=(h,))


@rule("hello-handshake-message-length-huge", "RFC 8446 4", "1.3", A.decode_error, openssl="illegal_parameter")
def _(t: Any) -> Answer:
    return exchange(t.port, record(HANDSHAKE, handshake(1, b"\x03\x03", length=(1 << 24) - 1)))


@rule("hello-retry-key-share-not-the-selected-group", "RFC 8446 4.2.8", "1.3", A.illegal_parameter, server="hrr")
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    second = replace(first, random=first.random).replacing(KEY_SHARE, key_share((X25519, x25519_share())))
    return exchange(t.port, first.records(), second.records(), pause=0.2)


@rule("hello-retry-completes", "RFC 8446 4.1.4", "1.3", SERVED, server="hrr")
def _(t: Any) -> Any:
    return scripted13(t)


@rule("hello-not-a-client-hello-first", "RFC 8446 4", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    return exchange(t.port, record(HANDSHAKE, handshake(20, bytes(32))))


@rule("alpn-no-overlap-1.3", "RFC 7301 3.2", "1.3", A.no_application_protocol, server="alpn")
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(ALPN, alpn(b"spdy/3", b"gopher")))


@rule("alpn-empty-protocol-name", "RFC 7301 3.1", "1.3", A.decode_error, server="alpn")
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(ALPN, alpn(b"h2", b"")))


@rule("alpn-empty-list", "RFC 7301 3.1", "1.3", A.decode_error, server="alpn")
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(ALPN, vec(2, b"")))


@rule("alpn-overlap-served", "RFC 7301 3.2", "1.3", SERVED, server="alpn")
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(ALPN, alpn(b"gopher", b"h2")))


@rule(
    "hello-retry-second-hello-without-supported-versions-stateless",
    "RFC 8446 4.1.4",
    "1.3",
    A.protocol_version,
    server="stateless",
)
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    key, public = p384_key()
    second = replace(first, key=key).replacing(KEY_SHARE, key_share((SECP384R1, public))).without(SUPPORTED_VERSIONS)
    return retry_exchange(t.port, first, second)


@rule("hello-retry-cookie-echoed-completes", "RFC 8446 4.2.2", "1.3", SERVED, server="stateless")
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    key, public = p384_key()
    return retry_exchange(t.port, first, replace(first, key=key).replacing(KEY_SHARE, key_share((SECP384R1, public))))


@rule("hello-retry-second-hello-changes-suites", "RFC 8446 4.1.2", "1.3", A.illegal_parameter, server="hrr")
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    key, public = p384_key()
    second = replace(first, key=key, suites=u16s(0x1302)).replacing(KEY_SHARE, key_share((SECP384R1, public)))
    return exchange(t.port, first.records(), second.records(), hellos=(first, second), pause=0.1)


@rule("hello-retry-second-hello-without-supported-versions", "RFC 8446 4.1.4", "1.3", A.protocol_version, server="hrr")
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    key, public = p384_key()
    second = replace(first, key=key).replacing(KEY_SHARE, key_share((SECP384R1, public))).without(SUPPORTED_VERSIONS)
    return exchange(t.port, first.records(), second.records(), hellos=(first, second), pause=0.1)


@rule("hello-tls12-only-extensions-malformed-ignored", "RFC 8446 4.2", "1.3", SERVED)
def _(t: Any) -> Answer:
    """ec_point_formats, encrypt_then_mac, extended_master_secret and renegotiation_info, each with a
    body that does not decode, beside supported_versions: TLS 1.3 uses none of them (RFC 8446, Section
    4.2 lists them for no message), so a server that chooses TLS 1.3 ignores them, as OpenSSL does and
    tlsfuzzer's test-tls13-large-number-of-extensions.py expects. (TLS 1.2 refuses them: rules_tls12.)"""
    h = hello13()
    for code, body in ((11, b""), (22, b"\x01\x02\x03\x04\x05"), (23, b"\x01\x02\x03\x04\x05"), (0xFF01, b"\x05")):
        h = h.with_ext(code, body)
    return send13(t, h)


@rule("hello-max-fragment-length-undefined-value", "RFC 6066 4", "1.3", A.illegal_parameter)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(1, b"\x05"))  # 1 to 4 are defined; the server MUST refuse others


@rule("hello-max-fragment-length-ignored", "RFC 6066 4", "1.3", SERVED)
def _(t: Any) -> Answer:
    return send13(t, hello13().with_ext(1, b"\x02"))  # a server MAY ignore the request (glasstls does)


@rule("hello-oid-filters", "RFC 8446 4.2", "1.3", A.illegal_parameter, openssl=SERVED)
def _(t: Any) -> Answer:
    # A known extension its table gives to a CertificateRequest alone (Section 4.2.5).
    return send13(t, hello13().with_ext(48, b"\x00\x00"))
