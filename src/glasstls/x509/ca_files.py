"""Files and names for the CA tool (glasstls.x509.ca): reading certificates and keys
with errors a person can act on, writing files, and turning the names a user types
into SubjectAltName entries (RFC 5280, Section 4.2.1.6)."""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..errors import ConfigError, Facts
from ..files import read_config_file
from .mint import PrivateKey, subject_name

DNS_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


# -- files ---------------------------------------------------------------------------------


def read_file(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return read_config_file(path)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {os.fspath(path)}: {exc.strerror}") from None


def load_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Every certificate in a PEM file (leaf first, as written), or the one in a DER file."""
    data = read_file(path, "certificate file")
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        detail = f": {exc}" if b"-----BEGIN" in data else ""  # a DER parser's complaint about text helps nobody
        raise ConfigError(f"{os.fspath(path)} holds no certificate that parses (PEM or DER){detail}") from None


def load_private_key(path: str | os.PathLike[str], password: bytes | None = None) -> PrivateKey:
    """A PEM (or DER) private key: RSA, ECDSA, Ed25519 or Ed448."""
    data, name = read_file(path, "key file"), os.fspath(path)
    loader = serialization.load_pem_private_key if b"-----BEGIN" in data else serialization.load_der_private_key
    try:
        key = loader(data, password)
    except TypeError:  # what cryptography raises for an encrypted key without a password, and the reverse
        state = (
            "is encrypted and no password was given"
            if password is None
            else "is not encrypted, yet a password was given"
        )
        raise ConfigError(
            f"{name} {state}", facts=Facts("invalid_value", field="load_private_key(password)", value=name)
        ) from None
    except ValueError:
        raise ConfigError(f"{name} holds no private key that parses (PEM or DER)") from None
    if not isinstance(key, PrivateKey):
        raise ConfigError(f"{name}: a {type(key).__name__} cannot sign certificates; use RSA, ECDSA or EdDSA")
    return key


def same_public_key(cert: x509.Certificate, key: PrivateKey) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def write_file(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


# -- names -----------------------------------------------------------------------------------


def dns_name(name: str) -> str:
    """``name`` as an A-label DNS name (RFC 5280, Section 4.2.1.6), a leading "*." allowed."""
    text = name.strip().rstrip(".").lower()
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ConfigError(f"{name!r} is not a DNS name (an empty or over-long label?)") from None
    labels = ascii_name.split(".")
    wildcard = labels[0] == "*" and len(labels) > 2
    if not ascii_name or len(ascii_name) > 253 or not all(DNS_LABEL.match(x) for x in labels[wildcard:]):
        raise ConfigError(
            f"{name!r} is not a DNS name or IP address: use letters, digits and hyphens, "
            "labels separated by dots (a wildcard only as the whole first label, as in *.example.com)"
        )
    return ascii_name


def san_entry(name: str) -> x509.GeneralName:
    """An iPAddress for an IP literal (brackets allowed), else a dNSName in A-labels."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name.strip().removeprefix("[").removesuffix("]")))
    except ValueError:
        return x509.DNSName(dns_name(name))


def leaf_subject(common_name: str) -> x509.Name:
    """CN=common_name, or an empty subject when the name is longer than a CN may be (64, RFC 5280 ub-common-name)."""
    if 1 <= len(common_name) <= 64:
        return subject_name(common_name)
    return x509.Name([])


# -- state.json's entries ---------------------------------------------------------------------

_ISSUED_TEXT = ("serial", "kind", "subject", "issuer", "key_type", "not_before", "not_after")
_REVOKED_TEXT = ("serial", "reason", "date", "issuer")


def entries_problem(issued: list[object], revoked: list[object], crl_numbers: dict[str, object]) -> str | None:
    """What is wrong with the entries of a CA state file (the top level being right), or None: each
    issued and revoked entry with its fields, serials in hex, times in ISO 8601, CRL numbers whole."""
    for index, entry in enumerate(issued):
        problem = _entry_problem(entry, _ISSUED_TEXT, ("not_before", "not_after"))
        names = entry.get("names") if isinstance(entry, dict) else None
        if problem is None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            problem = "its names are not a list of text"
        if problem is not None:
            return f"issued entry {index + 1}: {problem}"
    for index, entry in enumerate(revoked):
        problem = _entry_problem(entry, _REVOKED_TEXT, ("date",))
        if problem is not None:
            return f"revoked entry {index + 1}: {problem}"
    for level, number in crl_numbers.items():
        if type(number) is not int or number < 0:
            return f"the CRL number of {level} is not a whole number"
    return None


def _entry_problem(entry: object, texts: tuple[str, ...], times: tuple[str, ...]) -> str | None:
    if not isinstance(entry, dict):
        return "not an object"
    missing = [key for key in texts if not isinstance(entry.get(key), str)]
    if missing:
        return f"no text for {', '.join(missing)}"
    try:
        int(entry["serial"], 16)
        for key in times:
            datetime.fromisoformat(entry[key])
    except ValueError as exc:
        return f"a serial or time that does not read ({exc})"
    return None
