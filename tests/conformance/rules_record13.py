"""Rules of the record layer and change_cipher_spec in TLS 1.3 (RFC 8446, Section 5, Appendix D.4)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hostile import (
    ALERT,
    APPLICATION_DATA,
    CCS,
    HANDSHAKE,
    KEY_SHARE,
    SECP384R1,
    X25519,
    Answer,
    alert,
    exchange,
    handshake,
    hello13,
    key_share,
    p384_key,
    record,
)
from ruletable import (
    CCS_RECORD,
    SERVED,
    WAITING,
    finished_edit,
    fragments,
    rule,
    scripted13,
    send13,
)

from glasstls.enums import AlertDescription as A

# -- record layer (RFC 8446, Section 5; RFC 5246, Section 6.2) ------------------------------------


@rule("record-unknown-content-type", "RFC 8446 5", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    return exchange(t.port, record(0x19, b"\x01\x02"))


@rule("record-plaintext-over-2^14", "RFC 8446 5.1", "1.3", A.record_overflow)
def _(t: Any) -> Answer:
    return exchange(t.port, record(HANDSHAKE, bytes(1 << 14) + b"\x00"))


@rule("record-ciphertext-over-2^14+256", "RFC 8446 5.2", "1.3", A.record_overflow)
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, record(APPLICATION_DATA, bytes((1 << 14) + 257)))


@rule("record-version-0x0300-of-first-record-ignored", "RFC 8446 5.1", "1.3", SERVED)
def _(t: Any) -> Answer:
    h = hello13()
    return exchange(t.port, record(HANDSHAKE, h.message(), 0x0300), hellos=(h,))


@rule("record-version-0x0200-of-first-record", "RFC 8446 D.5", "1.3", A.protocol_version, openssl="closed")
def _(t: Any) -> Answer:
    h = hello13()
    return exchange(t.port, record(HANDSHAKE, h.message(), 0x0200), hellos=(h,))


@rule("record-version-0x0403-of-a-later-record", "RFC 8446 D.5", "1.3", A.protocol_version)
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, record(CCS, b"\x01", 0x0403))


@rule("record-hello-fragmented-1-byte", "RFC 8446 5.1", "1.3", SERVED)
def _(t: Any) -> Answer:
    h = hello13()
    return exchange(t.port, b"".join(fragments(h.message(), 1)), hellos=(h,))


@rule("record-hello-interleaved-with-ccs", "RFC 8446 5.1", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    parts = fragments(hello13().message(), 40)
    return exchange(t.port, parts[0], CCS_RECORD, *parts[1:])


@rule("record-hello-interleaved-with-alert", "RFC 8446 5.1", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    parts = fragments(hello13().message(), 40)
    return exchange(t.port, parts[0], alert(1, 100), *parts[1:])


@rule("alert-warning-before-hello", "RFC 8446 6", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    # Nothing precedes a ClientHello, and TLS 1.3 makes every warning but the closures an error.
    h = hello13()
    return exchange(t.port, alert(1, 112), h.records(), hellos=(h,))


@rule("alert-user-canceled-before-hello", "RFC 8446 6.1", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    h = hello13()
    return exchange(t.port, alert(1, 90), h.records(), hellos=(h,))


@rule("record-empty-handshake", "RFC 8446 5.1", "1.3", A.unexpected_message, openssl=WAITING)
def _(t: Any) -> Answer:
    return exchange(t.port, record(HANDSHAKE, b""))


@rule("record-empty-alert-plaintext", "RFC 8446 5.1", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, record(ALERT, b""))


@rule("record-empty-alert-encrypted", "RFC 8446 5.1", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, before_finished=[(ALERT, b"")])


@rule("record-empty-application-data-before-handshake", "RFC 8446 5.1", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    return exchange(t.port, record(APPLICATION_DATA, b""))


@rule("record-application-data-before-hello", "RFC 8446 5", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    return exchange(t.port, record(APPLICATION_DATA, b"GET / HTTP/1.0\r\n\r\n"))


@rule("record-empty-handshake-encrypted", "RFC 8446 5.4", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, before_finished=[(HANDSHAKE, b"")])


@rule("record-inner-plaintext-all-zeros", "RFC 8446 5.4", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, before_finished=[(0, b"\x00\x00")])


@rule("record-bad-tag", "RFC 8446 5.2", "1.3", A.bad_record_mac)
def _(t: Any) -> Any:
    def flip_last(s: Any, n: int, recs: list[bytes]) -> list[bytes]:
        return [*recs[:-1], recs[-1][:-1] + bytes((recs[-1][-1] ^ 1,))] if n == 1 else recs

    return scripted13(t, flights=flip_last)


@rule("record-plaintext-handshake-after-keys", "RFC 8446 5", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, CCS_RECORD, record(HANDSHAKE, handshake(20, bytes(32))))


@rule("record-finished-fragmented-encrypted", "RFC 8446 5.1", "1.3", SERVED)
def _(t: Any) -> Any:
    def one_byte_records(s: Any, n: int, recs: list[bytes]) -> list[bytes]:
        return recs

    scripted = scripted13(t, flights=one_byte_records, start=False)
    scripted.conn._records.write_limit = 3  # every record of the client is 3 bytes of content at most
    return scripted.run()


# -- change_cipher_spec in TLS 1.3 (RFC 8446, Section 5 and Appendix D.4) ---------------------------------


@rule("ccs-second-one", "RFC 8446 5", "1.3", A.unexpected_message, openssl=SERVED)
def _(t: Any) -> Any:
    return scripted13(t, flights=lambda s, n, recs: [CCS_RECORD, *recs] if n == 1 else recs)


@rule("ccs-second-one-right-after-hello", "RFC 8446 5", "1.3", A.unexpected_message, openssl=SERVED)
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, CCS_RECORD, CCS_RECORD)


@rule("ccs-before-hello", "RFC 8446 5", "1.3", A.unexpected_message)
def _(t: Any) -> Answer:
    return exchange(t.port, CCS_RECORD, hello13().records())


@rule("ccs-value-not-1", "RFC 8446 5", "1.3", A.unexpected_message, openssl="illegal_parameter")
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, record(CCS, b"\x02"))


@rule("ccs-two-bytes", "RFC 8446 5", "1.3", A.unexpected_message, openssl="illegal_parameter")
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, record(CCS, b"\x01\x01"))


@rule("ccs-empty", "RFC 8446 5", "1.3", A.unexpected_message, openssl="illegal_parameter")
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, record(CCS, b""))


@rule("ccs-encrypted", "RFC 8446 5", "1.3", A.unexpected_message, openssl=SERVED)
def _(t: Any) -> Any:
    return scripted13(t, before_finished=[(CCS, b"\x01")])


@rule("ccs-after-finished", "RFC 8446 5", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [CCS_RECORD])


@rule("ccs-twice-after-hello-retry", "RFC 8446 D.4", "1.3", A.unexpected_message, server="hrr", openssl=SERVED)
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    return exchange(t.port, first.records(), CCS_RECORD, CCS_RECORD, pause=0.1)


@rule(
    "ccs-twice-after-stateless-hello-retry",
    "RFC 8446 D.4",
    "1.3",
    A.unexpected_message,
    server="stateless",
    openssl=SERVED,
)
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    return exchange(t.port, first.records(), CCS_RECORD, CCS_RECORD, pause=0.1)


@rule("ccs-around-second-hello", "RFC 8446 D.4", "1.3", A.unexpected_message, server="hrr", openssl=SERVED)
def _(t: Any) -> Answer:
    first = hello13(groups=(X25519, SECP384R1))
    key, public = p384_key()
    second = replace(first, key=key).replacing(KEY_SHARE, key_share((SECP384R1, public)))
    return exchange(
        t.port, first.records(), CCS_RECORD, second.records(), CCS_RECORD, hellos=(first, second), pause=0.1
    )


@rule("record-version-of-later-records-ignored", "RFC 8446 5.1", "1.3", SERVED, openssl="decode_error")
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, record(CCS, b"\x01", 0x0301))


@rule("record-key-change-not-on-a-record-boundary", "RFC 8446 5.1", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    key_update = handshake(24, b"\x00")
    return scripted13(t, message_edit=finished_edit(lambda raw: raw + key_update))


# -- record_size_limit (RFC 8449, Section 4): the server announces 1000 in EncryptedExtensions, which
# bounds the client's TLSInnerPlaintext (content, content type byte, padding) from its handshake keys on.


@rule("record-size-limit-reached", "RFC 8449 4", "1.3", SERVED, server="recordlimit")
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [s.sealed(APPLICATION_DATA, bytes(999))])


@rule("record-size-limit-exceeded", "RFC 8449 4", "1.3", A.record_overflow, server="recordlimit", openssl=SERVED)
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [s.sealed(APPLICATION_DATA, bytes(1000))])


_LIMITED = {"server": "recordlimit", "openssl": SERVED}  # (s_server of OpenSSL 3.0 has no RFC 8449)


@rule("record-size-limit-exceeded-by-padding", "RFC 8449 4", "1.3", A.record_overflow, **_LIMITED)
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [s.sealed(APPLICATION_DATA, bytes(10), padding=990)])
