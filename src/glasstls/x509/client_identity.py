"""Who a verified client is, and the application's say on whether it may come in.

A chain that verifies (x509/verify.py, ``verify_client_chain``) proves the
client holds a key some trusted CA certified; it does not say that this client
may use this server. That is the application's decision, made by
``ServerConfig.client_identity_check``: given a :class:`ClientIdentity` (the
leaf's subject, common name, subjectAltName entries and the certificate), it
returns None to accept or a reason to refuse. A refusal is ``access_denied``,
the alert for a valid certificate whose owner access control turns away
(RFC 8446, Section 6.2; RFC 5246, Section 7.2.2), with the application's reason
in the error and the trace.

The values are the certificate's own (a subject of "CN=a\\,b" stays as RFC 4514
writes it), so an application compares them exactly; they are escaped
(:func:`~glasstls.text.printable`) only where glasstls prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from ..enums import AlertDescription
from ..errors import AlertError
from ..text import exception_text, printable
from .names import describe

CHECK_FIELD = "ServerConfig.client_identity_check"


@dataclass(frozen=True)
class ClientIdentity:
    """The verified client certificate's names, as the application's identity check sees them."""

    subject: str  # RFC 4514, e.g. "CN=alice,O=Example"
    common_name: str | None  # the subject's (first) commonName, if it has one
    dns_names: tuple[str, ...]  # subjectAltName dNSName entries
    ip_addresses: tuple[str, ...]  # subjectAltName iPAddress entries, in canonical form
    emails: tuple[str, ...]  # subjectAltName rfc822Name entries
    uris: tuple[str, ...]  # subjectAltName uniformResourceIdentifier entries (SPIFFE IDs among them)
    certificate: x509.Certificate  # the client's own certificate (the leaf)
    chain: tuple[x509.Certificate, ...] = ()  # the verified path: leaf first, trust anchor last

    @property
    def spiffe_id(self) -> str | None:
        """The SPIFFE ID, when the certificate is an X.509-SVID: exactly one URI SAN, of the spiffe scheme.

        (SPIFFE X.509-SVID specification, Section 2: an SVID carries exactly one URI SAN.)
        """
        if len(self.uris) == 1 and self.uris[0].lower().startswith("spiffe://"):
            return self.uris[0]
        return None

    @classmethod
    def of(cls, path: Sequence[x509.Certificate]) -> ClientIdentity:
        """The identity of a verified path's leaf (``path[0]``)."""
        leaf = path[0]
        names = _subject_alt_names(leaf)
        return cls(
            subject=leaf.subject.rfc4514_string(),
            common_name=_common_name(leaf),
            dns_names=tuple(n.value for n in names if isinstance(n, x509.DNSName)),
            ip_addresses=tuple(str(n.value) for n in names if isinstance(n, x509.IPAddress)),
            emails=tuple(n.value for n in names if isinstance(n, x509.RFC822Name)),
            uris=tuple(n.value for n in names if isinstance(n, x509.UniformResourceIdentifier)),
            certificate=leaf,
            chain=tuple(path),
        )


# What ServerConfig.client_identity_check holds: None accepts, a reason (str) refuses.
ClientIdentityCheck = Callable[[ClientIdentity], "str | None"]


def run_identity_check(check: ClientIdentityCheck, identity: ClientIdentity) -> None:
    """Ask the application; raise :class:`AlertError` unless it returned None.

    A reason is ``access_denied``. A check that raises, or returns something
    other than None or a string, is a bug in the application: the client is
    refused with ``internal_error`` (RFC 8446, Section 6.2), never let in.
    """
    who = f"client certificate {describe(identity.certificate)}"
    try:
        verdict = check(identity)
    except Exception as exc:  # the application's code: its failure must not let the client in
        raise AlertError(
            AlertDescription.internal_error,
            f"{CHECK_FIELD} raised {exception_text(exc)} for {who}; the client is refused",
        ) from exc
    if verdict is None:
        return
    if not isinstance(verdict, str):
        raise AlertError(
            AlertDescription.internal_error,
            f"{CHECK_FIELD} returned {type(verdict).__name__} for {who}; it must return None to accept "
            "or a reason (a str) to refuse; the client is refused",
        )
    reason = printable(verdict) or "(no reason given)"
    raise AlertError(AlertDescription.access_denied, f"{who} refused by {CHECK_FIELD}: {reason}")


def _subject_alt_names(cert: x509.Certificate) -> list[x509.GeneralName]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


def _common_name(cert: x509.Certificate) -> str | None:
    for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        if isinstance(attribute.value, str):
            return attribute.value
    return None
