"""Rules of handshake messages of a type the state never reads (RFC 8446, Sections 4 and 6.2;
RFC 5246, Sections 7.2.2 and 7.4): unexpected_message, whether or not the body would parse
as a message of that type. The probes retype a well-formed message: a ClientHello's body
under another type first, a ClientKeyExchange's or a Finished's later in the handshake."""

from __future__ import annotations

from typing import Any

from hostile import HANDSHAKE, Answer, exchange, hello12, hello13, record
from ruletable import rule, scripted12, scripted13

from glasstls.enums import AlertDescription as A

# ServerHello, NewSessionTicket, EncryptedExtensions, Certificate, CertificateRequest,
# CertificateVerify, KeyUpdate: types a server reads never or never first.
_FIRST_TYPES = (2, 4, 8, 11, 13, 15, 24)
# ClientHello, ServerHello, NewSessionTicket, Certificate, CertificateRequest, CertificateVerify.
_INSTEAD_OF_CKE = (1, 2, 4, 11, 13, 15)


def _retyped(name: str, msg_type: int) -> Any:
    """A message_edit: the message ``name`` sent under ``msg_type``, its body unchanged."""

    def edit(msg: Any) -> bytes | None:
        return bytes((msg_type,)) + msg.raw[1:] if type(msg).__name__ == name else None

    return edit


def _first_as(msg_type: int, version: str) -> Any:
    def probe(t: Any) -> Answer:
        hello = hello13() if version == "1.3" else hello12()
        return exchange(t.port, record(HANDSHAKE, bytes((msg_type,)) + hello.message()[1:]))

    return probe


for _type in _FIRST_TYPES:
    rule(f"hello-sent-as-type-{_type}", "RFC 8446 4", "1.3", A.unexpected_message)(_first_as(_type, "1.3"))
    rule(f"tls12-hello-sent-as-type-{_type}", "RFC 5246 7.4", "1.2", A.unexpected_message)(_first_as(_type, "1.2"))


def _cke_as(msg_type: int) -> Any:
    def probe(t: Any) -> Any:
        return scripted12(t, message_edit=_retyped("ClientKeyExchange", msg_type))

    return probe


for _type in _INSTEAD_OF_CKE:
    rule(f"tls12-client-key-exchange-sent-as-type-{_type}", "RFC 5246 7.4", "1.2", A.unexpected_message)(_cke_as(_type))


@rule("finished-sent-as-certificate-request", "RFC 8446 4", "1.3", A.unexpected_message)
def _(t: Any) -> Any:
    return scripted13(t, message_edit=_retyped("Finished", 13))
