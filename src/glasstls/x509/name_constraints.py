"""Name constraints on glasstls's own path (RFC 5280, Sections 4.2.1.10, 6.1.3 (b) (c) and 6.1.4 (g)).

``cryptography``'s Web PKI verifier applies a CA's nameConstraints to the certificates
below it; the path x509/verify.py builds itself (Ed25519 and Ed448 chains, names that
verifier refuses) applies them here, critical or not, as RFC 5280 asks and OpenSSL does:

* dNSName: a name satisfies a constraint when it is the constraint or ends in "." plus
  it ("example.com" admits "a.example.com", not "badexample.com"); a constraint that
  starts with "." admits its subdomains only, as OpenSSL reads it; "" admits every name.
  A wildcard SAN ("*.example.com") stands for every name one label under its base: it is
  permitted when all of them are, and excluded when any of them may be.
* iPAddress: an address within the constraint's network (an IPv4 one never within an IPv6 one).
* directoryName: the subject's RDNs begin with the constraint's.

A constraint of any other type (rfc822Name, URI ...) is not processed here, so a path
under one is refused rather than passed unchecked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from cryptography import x509

from ..text import printable
from .names import describe

_PROCESSED = (x509.DNSName, x509.IPAddress, x509.DirectoryName)


def constraint_problem(path: Sequence[x509.Certificate]) -> str | None:
    """Why a name of a certificate in ``path`` (leaf first) falls outside a CA's nameConstraints above
    it, or None. A self-issued intermediate is not held to them (RFC 5280, 6.1.3 (b))."""
    for index in range(1, len(path)):
        try:
            constraints = path[index].extensions.get_extension_for_class(x509.NameConstraints).value
        except x509.ExtensionNotFound:
            continue
        other = _unprocessed(constraints)
        if other is not None:
            return (
                f"{describe(path[index])} has name constraints of type {other}, which this validator does not process"
            )
        for below in path[:index]:
            if below is not path[0] and below.subject == below.issuer:
                continue
            problem = _outside(below, constraints)
            if problem is not None:
                return f"{problem} of {describe(below)} is outside the name constraints of {describe(path[index])}"
    return None


def _unprocessed(constraints: x509.NameConstraints) -> str | None:
    for subtree in (*(constraints.permitted_subtrees or ()), *(constraints.excluded_subtrees or ())):
        if not isinstance(subtree, _PROCESSED):
            return type(subtree).__name__
    return None


def _outside(cert: x509.Certificate, constraints: x509.NameConstraints) -> str | None:
    """The first name of ``cert`` that ``constraints`` do not permit, as a phrase, or None."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names: list[x509.GeneralName] = list(san)
    except x509.ExtensionNotFound:
        names = []
    if len(cert.subject) > 0:
        names.append(x509.DirectoryName(cert.subject))
    permitted, excluded = constraints.permitted_subtrees or (), constraints.excluded_subtrees or ()
    for name in names:
        if not isinstance(name, _PROCESSED):
            continue  # (a type no constraint here names: unconstrained)
        kind = [p for p in permitted if type(p) is type(name)]
        if kind and not any(_within(name, p, wholly=True) for p in kind):
            return f"the name {_shown(name)}"
        if any(_within(name, e, wholly=False) for e in excluded if type(e) is type(name)):
            return f"the excluded name {_shown(name)}"
    return None


def _within(name: x509.GeneralName, subtree: x509.GeneralName, *, wholly: bool) -> bool:
    """Whether ``name`` is within ``subtree``; for a wildcard, all of it (``wholly``) or any of it."""
    if isinstance(name, x509.DNSName) and isinstance(subtree, x509.DNSName):
        return _dns_within(name.value.lower().rstrip("."), subtree.value.lower(), wholly)
    if isinstance(name, x509.IPAddress) and isinstance(subtree, x509.IPAddress):
        network = subtree.value
        if not isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return False
        address = name.value
        return address.version == network.version and address in network
    if isinstance(name, x509.DirectoryName) and isinstance(subtree, x509.DirectoryName):
        rdns, prefix = list(name.value.rdns), list(subtree.value.rdns)
        return rdns[: len(prefix)] == prefix
    return False


def _dns_within(name: str, constraint: str, wholly: bool) -> bool:
    if not name.startswith("*."):
        return _plain_within(name, constraint)
    base, bare = name[2:], constraint.lstrip(".")
    if _plain_within(base, bare):  # the base at or under the constraint: every "label.base" is under it
        return True
    head, _, rest = bare.partition(".")
    return not wholly and bool(head) and rest == base  # the constraint names one of the wildcard's names


def _plain_within(name: str, constraint: str) -> bool:
    if not constraint:
        return True
    if constraint.startswith("."):
        return name.endswith(constraint)
    return name == constraint or name.endswith("." + constraint)


def _shown(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DirectoryName):
        return printable(name.value.rfc4514_string())
    return printable(str(name.value))
