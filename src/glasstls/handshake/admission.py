"""Extension admission: what a peer may answer with (RFC 8446, Section 4.2;
RFC 5246, Section 7.4.1.4).

An extension in a server's message must answer one the client offered
(otherwise unsupported_extension), and be one the message may carry
(otherwise illegal_parameter). Both versions, every message that answers the
ClientHello: ServerHello, HelloRetryRequest, EncryptedExtensions and the
TLS 1.3 CertificateEntry. In TLS 1.3 an extension glasstls recognizes in a
message that may not carry it is illegal_parameter whether or not it was
offered (Section 4.2), as OpenSSL answers; TLS 1.2 names unsupported_extension
alone for an extension not offered. A TLS 1.3 CertificateRequest and
NewSessionTicket answer nothing the client offered: a recognized extension
the message may not carry is illegal_parameter, an unknown one is ignored
(Sections 4.3.2 and 4.6.1).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ..enums import ExtensionType
from ..errors import AlertDescription, AlertError
from ..wire.extensions import Extension
from ..wire.handshake import CertificateEntry, ClientHello

_MAY_COME_UNASKED = frozenset({ExtensionType.cookie})
# The extension types glasstls names: what RFC 8446, Section 4.2 calls the ones an implementation recognizes.
_RECOGNIZED = frozenset(ExtensionType)
E = ExtensionType
# RFC 8446, Section 4.2 (the "CR" and "NST" of its table), and RFC 8879, Section 3 (compress_certificate).
CERTIFICATE_REQUEST_EXTENSIONS = frozenset(
    {
        E.status_request,
        E.signature_algorithms,
        E.signed_certificate_timestamp,
        E.certificate_authorities,
        E.oid_filters,
        E.signature_algorithms_cert,
        E.compress_certificate,
    }
)
NEW_SESSION_TICKET_EXTENSIONS = frozenset({E.early_data})
# RFC 8446, Section 4.2 (its "CT"): what a CertificateEntry may carry, each only when asked for.
CERTIFICATE_ENTRY_EXTENSIONS = frozenset({E.status_request, E.signed_certificate_timestamp})


def admit_extensions(
    extensions: Iterable[Extension],
    offered: ClientHello,
    allowed: Collection[int],
    where: str,
    misplaced_where: str | None = None,
    *,
    tls13: bool = True,
) -> None:
    """Raise on the first extension ``offered`` did not carry, or ``allowed`` does not list.

    ``where`` names the message in the reason ("ServerHello"); ``misplaced_where``,
    when given, names it in the "not allowed there" reason instead. ``tls13``: a
    recognized extension the message may not carry is refused as misplaced even when
    it was not offered (False for a TLS 1.2 ServerHello: RFC 5246, Section 7.4.1.4).
    """
    offered_types = offered.by_type()  # (one lookup per extension, not an ext() call each)
    for ext in extensions:
        ext_type = ext.type
        if tls13 and ext_type not in allowed and ext_type in _RECOGNIZED:
            raise _misplaced(ext_type, misplaced_where or where)
        # Then not offered: an extension the client does not even recognise is an unsolicited
        # response (unsupported_extension), not a misplaced one. RFC 8446, Section 4.2 excepts
        # the cookie, which a HelloRetryRequest may carry unasked (Section 4.2.2); anywhere
        # else ``allowed`` turns it away.
        if ext_type not in offered_types and ext_type not in _MAY_COME_UNASKED:
            raise AlertError(
                AlertDescription.unsupported_extension,
                f"{where} carries {ext_type.name}, which the client did not offer",
            )
        if ext_type not in allowed:
            raise _misplaced(ext_type, misplaced_where or where)


def refuse_misplaced(extensions: Iterable[Extension], allowed: Collection[int], where: str) -> None:
    """RFC 8446, Section 4.2: a recognized extension that ``where`` (a TLS 1.3 CertificateRequest or
    NewSessionTicket) may not carry is illegal_parameter; an unknown one is ignored (Sections 4.3.2
    and 4.6.1: extension points for the future)."""
    for ext in extensions:
        if ext.type not in allowed and ext.type in _RECOGNIZED:
            raise _misplaced(ext.type, where)


def _misplaced(ext_type: ExtensionType, where: str) -> AlertError:
    reason = f"{where} carries {ext_type.name}, which is not allowed there"
    return AlertError(AlertDescription.illegal_parameter, reason)


def refuse_client_entry_extensions(entries: Iterable[CertificateEntry], where: str) -> None:
    """RFC 8446, Section 4.4.2: a client's CertificateEntry extensions MUST answer extensions of
    the server's CertificateRequest, and this server's asks for none (no status_request, no
    signed_certificate_timestamp): any is unsupported_extension (Section 4.2), one no
    CertificateEntry may carry illegal_parameter, as OpenSSL answers status_request and key_share."""
    for index, entry in enumerate(entries):
        for ext in entry.extensions:
            if ext.type in _RECOGNIZED and ext.type not in CERTIFICATE_ENTRY_EXTENSIONS:
                raise _misplaced(ext.type, f"{where} #{index}")
            raise AlertError(
                AlertDescription.unsupported_extension,
                f"{where} #{index} carries {ext.type.name}, which the CertificateRequest did not ask for",
            )
