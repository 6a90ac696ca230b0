"""What OCSP, a CRL, stapling and soft-fail are, in a few sentences, for ``--explain``.

Said once per connection each, and only where a revocation line appears in the
trace (a staple, a fetch, a CRL check, or the "not checked online" line), so a
trace without revocation stays as short as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from ..observe import VerificationTrace

# Revocation in words (RFC 6960, RFC 5280 Section 5, RFC 6066 Section 8).
REVOCATION_SUBJECTS = ("OCSP staple", "OCSP fetch", "CRL check", "CRL fetch", "online revocation")
_OCSP_WORDS = (
    "OCSP (RFC 6960) asks the CA whether one certificate is still good: the responder named in the "
    "certificate's Authority Information Access answers good, revoked or unknown, signed by the CA (or a "
    "responder it delegated) and dated, so the answer can be checked and kept until its nextUpdate."
)
_CRL_WORDS = (
    "A CRL (RFC 5280, Section 5) is the CA's signed, dated list of the serial numbers it has revoked, published "
    "at the certificate's CRL distribution point; the client looks this certificate's serial up in it."
)
_STAPLING_WORDS = (
    "Asking the CA during the handshake costs a round trip to another server (latency) and tells the CA which "
    "sites this client visits (privacy). That is why stapling exists: the server fetches the signed OCSP answer "
    "itself and sends it in the handshake (status_request, RFC 6066, Section 8)."
)
_SOFT_FAIL_WORDS = (
    "Soft-fail: the status could not be learned (responder down, slow, or answering garbage), so the certificate "
    "is accepted anyway, as browsers do. Whoever can block the responder can then hide a revocation; "
    "--revocation hard refuses instead."
)
_NOT_CHECKED_WORDS = (
    "No staple and no CRL said whether this certificate was revoked, and online checks are off: it was not "
    "checked. --revocation-fetch ocsp|crl|both asks the CA's responder or CRL the certificate names."
)


def revocation_words(event: VerificationTrace, once: Callable[[Hashable], bool]) -> list[str]:
    """The paragraphs for one revocation line; ``once(key)`` is True the first time ``key`` is said."""
    said: list[str] = []
    if event.subject.startswith("OCSP") and once("ocsp"):
        said.append(_OCSP_WORDS)
    if event.subject.startswith("CRL") and once("crl"):
        said.append(_CRL_WORDS)
    if event.subject.startswith(("OCSP fetch", "CRL fetch")) and once("stapling"):
        said.append(_STAPLING_WORDS)
    if event.detail.endswith("(soft-fail)") and once("soft-fail"):
        said.append(_SOFT_FAIL_WORDS)
    if event.detail.startswith("revocation not checked online"):
        said.append(_NOT_CHECKED_WORDS)
    return said
