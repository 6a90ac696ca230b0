"""Rules after the ServerHello in TLS 1.3, and of alerts (RFC 8446, Sections 4.4 to 4.6 and 6)."""

from __future__ import annotations

from typing import Any

from hostile import (
    ALERT,
    APPLICATION_DATA,
    HANDSHAKE,
    Answer,
    alert,
    handshake,
    hello13,
    record,
)
from ruletable import (
    CLOSED,
    finished_edit,
    rule,
    scripted13,
    send13,
    with_body,
)

from glasstls.enums import AlertDescription as A

# -- after the ServerHello, TLS 1.3 (RFC 8446, Sections 4.4 to 4.6) ------------------------------------


@rule("finished-too-short", "RFC 8446 4.4.4", "1.3", A.decode_error)
def _(t: Any) -> Any:
    return scripted13(t, message_edit=finished_edit(lambda raw: with_body(raw, raw[4:-1])))


@rule("finished-header-claims-1000-bytes", "RFC 8446 4.4.4", "1.3", A.decode_error, openssl="illegal_parameter")
def _(t: Any) -> Any:
    """A Finished header claiming more than any hash, and nothing after it: refused at the header,
    not waited for until the handshake's deadline."""
    return scripted13(t, message_edit=finished_edit(lambda raw: raw[:1] + (1000).to_bytes(3, "big")))


@rule("finished-wrong", "RFC 8446 4.4.4", "1.3", A.decrypt_error)
def _(t: Any) -> Any:
    return scripted13(t, message_edit=finished_edit(lambda raw: raw[:-1] + bytes((raw[-1] ^ 1,))))


@rule("finished-missing-application-data-first", "RFC 8446 4.4.4", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, before_finished=[(APPLICATION_DATA, b"x")], message_edit=finished_edit(lambda raw: b""))


@rule("certificate-unsolicited", "RFC 8446 4.4.2", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    cert = handshake(11, b"\x00" + (0).to_bytes(3, "big"))
    return scripted13(t, before_finished=[(HANDSHAKE, cert)])


@rule("end-of-early-data-not-accepted", "RFC 8446 4.5", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    eoed = handshake(5, b"")
    return scripted13(t, before_finished=[(HANDSHAKE, eoed)])


@rule("after-finished-client-hello", "RFC 8446 4.1.2", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [s.sealed(HANDSHAKE, hello13().message())])


@rule("after-finished-second-finished", "RFC 8446 4.4.4", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [s.sealed(HANDSHAKE, handshake(20, bytes(32)))])


@rule("key-update-bad-request", "RFC 8446 4.6.3", "1.3", A.illegal_parameter)
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [s.sealed(HANDSHAKE, handshake(24, b"\x02"))])


@rule("key-update-too-long", "RFC 8446 4.6.3", "1.3", A.decode_error, openssl="illegal_parameter")
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [s.sealed(HANDSHAKE, handshake(24, b"\x00\x00"))])


@rule("after-finished-unknown-handshake-type", "RFC 8446 4", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [s.sealed(HANDSHAKE, handshake(99, b""))])


# A header whose type the state never reads is unexpected_message before its length is judged: an
# oversized one of a type the state reads is decode_error (key-update-too-long, hello-handshake-
# message-length-huge), as OpenSSL checks the type first too.
@rule("certificate-unsolicited-length-huge", "RFC 8446 4.4.2", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, before_finished=[(HANDSHAKE, handshake(11, b"", length=(1 << 24) - 1))])


@rule("after-finished-unknown-type-rest-never-sent", "RFC 8446 4", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    """The first bytes of a message of a type no state reads, its rest never sent: refused at its
    type, not waited for (the client, as the server)."""
    return scripted13(t, after=lambda s: [s.sealed(HANDSHAKE, handshake(99, b"", length=100))])


@rule("after-finished-unknown-type-length-huge", "RFC 8446 4", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, after=lambda s: [s.sealed(HANDSHAKE, handshake(99, b"", length=(1 << 24) - 1))])


# -- alerts (RFC 8446, Section 6; RFC 5246, Section 7.2) ------------------------------------------------


@rule("alert-unknown-level-is-an-error-alert", "RFC 8446 6", "1.3", CLOSED)
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, alert(3, 40))


@rule("alert-three-bytes", "RFC 8446 5.1", "1.3", A.decode_error, openssl="unexpected_message")
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, record(ALERT, b"\x02\x28\x00"))


@rule("alert-warning-in-1.3-is-fatal", "RFC 8446 6", "1.3", CLOSED)
def _(t: Any) -> Any:
    return scripted13(t, flights=lambda s, n, recs: [*recs, s.sealed(ALERT, b"\x01\x70")] if n == 1 else recs)


@rule("alert-user-canceled-then-nothing", "RFC 8446 6.1", "1.3", CLOSED)
def _(t: Any) -> Answer:
    h = hello13()
    return send13(t, h, alert(1, 90), alert(1, 0))
