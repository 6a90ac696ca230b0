"""The Web PKI rules glasstls does not take from ``cryptography``'s verifier, on both sides.

``cryptography.x509.verification`` starts from the Web PKI profile (RFC 5280 plus the
CA/Browser Forum Baseline Requirements). Three of its rules say how a CA should *issue*
certificates, not whether a path is valid: RFC 5280's path validation (Section 6.1)
checks none of them, and private CAs break them every day. ``openssl req -x509`` makes a
CA without keyUsage, Python's own test CA has a basicConstraints that is not critical,
``openssl x509 -req`` issues leaves without authorityKeyIdentifier. OpenSSL (without
X509_V_FLAG_X509_STRICT), BoringSSL, Go and rustls (webpki) accept all three, so glasstls
does, for server and client chains alike:

* basicConstraints in a CA: present with cA=TRUE (RFC 5280, 6.1.4 (k)), critical or not.
  Section 4.2.1.9 asks CAs to mark it critical, for verifiers that would otherwise skip
  it; this one processes it either way. pathLenConstraint (6.1.4 (l), (m)) stays the
  path builder's check.
* keyUsage in a CA: optional; when present it must include keyCertSign (6.1.4 (n)).
* authorityKeyIdentifier in a leaf: optional. It is a path-building hint (4.2.1.1): the
  path is found by names and proven by signatures.

Everything else the profile asks stays (signature algorithms and key sizes, validity,
subjectAltName and the host name for a server, EKU, name constraints), as do the
criticality rules of RFC 5280, Section 4.2 for every other extension.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509 import verification

_ANY = verification.Criticality.AGNOSTIC


def ca_extension_policy() -> verification.ExtensionPolicy:
    """The policy for every certificate above the leaf (trust anchors included)."""
    return (
        verification.ExtensionPolicy.webpki_defaults_ca()
        .require_present(x509.BasicConstraints, _ANY, _ca_basic_constraints)
        .may_be_present(x509.KeyUsage, _ANY, _ca_key_usage)
    )


def leaf_extension_policy() -> verification.ExtensionPolicy:
    """A server's leaf: the Web PKI profile with authorityKeyIdentifier optional."""
    return verification.ExtensionPolicy.webpki_defaults_ee().may_be_present(x509.AuthorityKeyIdentifier, _ANY, None)


def server_extension_policies() -> tuple[verification.ExtensionPolicy, verification.ExtensionPolicy]:
    """(CA policy, leaf policy) for ``PolicyBuilder.extension_policies`` when verifying a server chain."""
    return ca_extension_policy(), leaf_extension_policy()


# -- the callbacks cryptography calls (a raised ValueError refuses the certificate) --------------


def _ca_basic_constraints(
    _policy: verification.Policy, _cert: x509.Certificate, constraints: x509.BasicConstraints
) -> None:
    if not constraints.ca:
        raise ValueError("basicConstraints.cA must be asserted in a CA certificate")


def _ca_key_usage(_policy: verification.Policy, _cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    if usage is not None and not usage.key_cert_sign:
        raise ValueError("a CA certificate's key usage must include keyCertSign")
