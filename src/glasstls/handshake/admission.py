"""Extension admission: what a peer may answer with (RFC 8446, Section 4.2;
RFC 5246, Section 7.4.1.4).

An extension in a server's message must answer one the client offered
(otherwise unsupported_extension), and be one the message may carry
(otherwise illegal_parameter). Both versions, every message that answers the
ClientHello: ServerHello, HelloRetryRequest, EncryptedExtensions and the
TLS 1.3 CertificateEntry.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ..enums import ExtensionType
from ..errors import AlertDescription, AlertError
from ..wire.extensions import Extension
from ..wire.handshake import ClientHello

_MAY_COME_UNASKED = frozenset({ExtensionType.cookie})


def admit_extensions(
    extensions: Iterable[Extension],
    offered: ClientHello,
    allowed: Collection[int],
    where: str,
    misplaced_where: str | None = None,
) -> None:
    """Raise on the first extension ``offered`` did not carry, or ``allowed`` does not list.

    ``where`` names the message in the reason ("ServerHello"); ``misplaced_where``,
    when given, names it in the "not allowed there" reason instead.
    """
    offered_types = offered.by_type()  # (one lookup per extension, not an ext() call each)
    for ext in extensions:
        ext_type = ext.type
        # Not offered first: an extension the client does not even recognise is an
        # unsolicited response (unsupported_extension), not a misplaced one. RFC 8446,
        # Section 4.2 excepts the cookie, which a HelloRetryRequest may carry unasked
        # (Section 4.2.2); anywhere else ``allowed`` turns it away.
        if ext_type not in offered_types and ext_type not in _MAY_COME_UNASKED:
            raise AlertError(
                AlertDescription.unsupported_extension,
                f"{where} carries {ext_type.name}, which the client did not offer",
            )
        if ext_type not in allowed:
            raise AlertError(
                AlertDescription.illegal_parameter,
                f"{misplaced_where or where} carries {ext_type.name}, which is not allowed there",
            )
