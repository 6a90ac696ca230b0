"""The command line's own hints: library facts turned into options to pass.

The library speaks of what a Python caller controls (``ClientConfig.trust_store``,
the ``days`` of ``CertificateAuthority.init``) and attaches
:class:`~glasstls.errors.Facts` to its errors; this module says the same in the
words of ``glasstls client``, ``glasstls server`` and ``glasstls ca``
(``--cacert FILE``, ``--days N``). The "likely fix" under a failed handshake comes
from the rules of :mod:`glasstls.trace.diagnose`, which read the same facts.
"""

from __future__ import annotations

import re

from ..errors import Facts

# The option that sets each configuration field the library names.
OPTIONS: dict[str, str] = {
    "ClientConfig.trust_store": "--cacert FILE (or --capath DIR)",
    "ServerConfig.client_trust_store": "--client-ca FILE",
    "ClientConfig.crls": "--crl FILE",
    "ServerConfig.client_crls": "--client-crl FILE",
    "ClientConfig.tls_min": "--tls-min",
    "ServerConfig.tls_min": "--tls-min",
    "server_name": "--servername NAME",
}

# ``glasstls ca``: the option that sets each parameter of CertificateAuthority's methods its
# errors name (the field "CertificateAuthority.<method>(<parameter>)").
CA_OPTIONS: dict[str, str] = {
    "directory": "--dir DIR",
    "name": "--name",
    "key_type": "--key-type",
    "days": "--days N",
    "intermediate_days": "--intermediate-days N",
    "crl_url": "--crl-url URL",
    "ocsp_url": "--ocsp-url URL",
    "email": "--email ADDRESS",
    "responder": "--responder PEM",
}
# Where an option alone says too little, the hint for the field; {value} is the value given.
CA_HINTS: dict[str, str] = {
    "CertificateAuthority.load(directory)": (
        "create a CA there with `glasstls ca init --dir {value}`, or point --dir at an existing one"
    ),
    "CertificateAuthority.init(directory)": "choose another --dir DIR, or remove the CA that is there",
    "CertificateAuthority.issue_client(email)": "give --email ADDRESS as well",
    "CertificateAuthority.ocsp_response(responder)": "issue one with `glasstls ca issue ocsp-responder NAME`",
    "load_private_key(password)": (
        "glasstls ca reads unencrypted keys only: decrypt a copy with `openssl pkey -in {value} -out plain.key`"
    ),
}
_CA_FIELD = re.compile(r"CertificateAuthority\.\w+\((\w+)\)")


def hint(facts: Facts | None) -> str:
    """What to pass on the command line for the problem ``facts`` describe ("" when there is nothing to add)."""
    if facts is None:
        return ""
    option = OPTIONS.get(facts.field, "")
    if facts.problem in ("untrusted_issuer", "untrusted_self_signed", "missing_intermediate"):
        what = "that certificate" if facts.problem == "untrusted_self_signed" else "the CA that issued it"
        if facts.chain == "client":
            hint = f"start the server with --client-ca FILE holding {what}"
        else:
            hint = f"pass --cacert FILE with {what}, or install that CA"
        if facts.problem == "missing_intermediate":
            hint += f"; or the {facts.chain} must send its intermediate certificate(s) after its own"
            if facts.chain == "client":
                hint += " (glasstls client: a --cert file with the whole chain)"
        return hint
    if facts.problem == "revocation_unknown" and option:
        return f"pass {option} with a current CRL of each issuer, or use a soft revocation policy"
    if facts.problem == "version_range":
        if facts.field.endswith(".profile"):
            return "this --profile speaks nothing below its floor: raise --tls-max, or choose --profile intermediate"
        return "--tls-min is above --tls-max: lower --tls-min or raise --tls-max"
    if facts.problem == "missing_client_trust_store":
        return "--verify-client needs --client-ca FILE with the CA(s) that issue client certificates"
    if facts.problem == "no_trust_store":
        return "pass --cacert FILE (or --capath DIR) with the CA certificates to trust"
    if facts.problem == "no_server_name":
        return "pass --servername NAME with the name to check the certificate against"
    if facts.problem == "name_mismatch":
        return f"connect with --servername set to a name the certificate holds ({facts.value})"
    if facts.problem == "bad_ocsp_file":
        return f"give --ocsp a DER file from `openssl ocsp -respout` (not {facts.value})"
    if facts.problem == "invalid_value":
        return _ca_hint(facts)
    return ""


def _ca_hint(facts: Facts) -> str:
    """``glasstls ca``'s words for a parameter of the CA that cannot work ("" for any other field)."""
    if template := CA_HINTS.get(facts.field):
        return template.format(value=facts.value)
    match = _CA_FIELD.fullmatch(facts.field)
    option = CA_OPTIONS.get(match.group(1)) if match else None
    return f"on the command line, {match.group(1)} is {option}" if match and option else ""


def with_hint(message: str, facts: Facts | None) -> str:
    """``message`` and, on the next line, the command line's hint for ``facts`` (if it has one)."""
    extra = hint(facts)
    return f"{message}\n  hint: {extra}" if extra else message
