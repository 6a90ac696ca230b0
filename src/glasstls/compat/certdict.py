"""A certificate as the stdlib's ``getpeercert()`` dict (_ssl.c, ``_decode_certificate``).

The keys are _ssl.c's, in its order: subject, issuer, version, serialNumber, notBefore,
notAfter, then subjectAltName, OCSP, caIssuers and crlDistributionPoints when the certificate
has them. Attribute types are named as OpenSSL's OBJ_obj2txt names them (its long names),
a type OpenSSL does not know by its dotted OID. tests/test_compat_peercert.py compares the
whole dict with the stdlib's for certificates carrying every kind of entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

# OpenSSL's long names (crypto/objects/objects.txt) of the attribute types certificates carry, by
# OID. cryptography's own names differ for some ("userID" for OpenSSL's "userId") and it has none
# for others (initials, organizationIdentifier), so every name comes from here.
OPENSSL_LONG_NAMES: dict[str, str] = {
    "2.5.4.3": "commonName", "2.5.4.4": "surname", "2.5.4.5": "serialNumber", "2.5.4.6": "countryName",
    "2.5.4.7": "localityName", "2.5.4.8": "stateOrProvinceName", "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName", "2.5.4.11": "organizationalUnitName", "2.5.4.12": "title",
    "2.5.4.13": "description", "2.5.4.15": "businessCategory", "2.5.4.16": "postalAddress",
    "2.5.4.17": "postalCode", "2.5.4.18": "postOfficeBox", "2.5.4.20": "telephoneNumber", "2.5.4.41": "name",
    "2.5.4.42": "givenName", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier",
    "2.5.4.45": "x500UniqueIdentifier", "2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.72": "role",
    "2.5.4.97": "organizationIdentifier", "0.9.2342.19200300.100.1.1": "userId",
    "0.9.2342.19200300.100.1.25": "domainComponent", "1.2.840.113549.1.9.1": "emailAddress",
    "1.2.840.113549.1.9.2": "unstructuredName", "1.2.840.113549.1.9.8": "unstructuredAddress",
    "1.3.6.1.4.1.311.60.2.1.1": "jurisdictionLocalityName",
    "1.3.6.1.4.1.311.60.2.1.2": "jurisdictionStateOrProvinceName",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionCountryName",
    "1.2.643.3.131.1.1": "INN", "1.2.643.100.1": "OGRN", "1.2.643.100.3": "SNILS",
}  # fmt: skip


def certificate_dict(cert: x509.Certificate) -> dict[str, Any]:
    """A certificate in the stdlib's ``getpeercert()`` format."""
    out: dict[str, Any] = {
        "subject": name_tuple(cert.subject),
        "issuer": name_tuple(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _serial(cert.serial_number),
        "notBefore": _asn1_time(cert.not_valid_before_utc),
        "notAfter": _asn1_time(cert.not_valid_after_utc),
    }
    extensions = {
        "subjectAltName": _subject_alt_names(cert),
        "OCSP": _access_uris(cert, AuthorityInformationAccessOID.OCSP),
        "caIssuers": _access_uris(cert, AuthorityInformationAccessOID.CA_ISSUERS),
        "crlDistributionPoints": _crl_uris(cert),
    }
    out.update((key, value) for key, value in extensions.items() if value)  # (absent when empty, as _ssl.c)
    return out


def oid_name(oid: x509.ObjectIdentifier) -> str:
    return OPENSSL_LONG_NAMES.get(oid.dotted_string, oid.dotted_string)


def name_tuple(name: x509.Name) -> tuple[tuple[tuple[str, str], ...], ...]:
    return tuple(tuple((oid_name(attr.oid), _text(attr.value)) for attr in rdn) for rdn in name.rdns)


def _text(value: str | bytes) -> str:
    # (A BIT STRING value, x500UniqueIdentifier's, is bytes here; OpenSSL's ASN1_STRING_to_UTF8 reads its octets.)
    return value if isinstance(value, str) else value.decode("latin-1")


def _serial(number: int) -> str:
    text = f"{number:X}"
    return text if len(text) % 2 == 0 else "0" + text


def _asn1_time(moment: datetime) -> str:
    # OpenSSL's ASN1_TIME_print: "Jan  5 09:34:43 2018 GMT" (day padded with a space)
    return f"{moment:%b} {moment.day:>2} {moment:%H:%M:%S %Y} GMT"


def _extension(cert: x509.Certificate, kind: type[Any]) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _subject_alt_names(cert: x509.Certificate) -> tuple[tuple[str, Any], ...]:
    """Every entry, as _ssl.c's _get_peer_alt_names names it; the types it does not decode
    (otherName) as "<unsupported>"."""
    entries = _extension(cert, x509.SubjectAlternativeName)
    out: list[tuple[str, Any]] = []
    for general in entries or ():
        if isinstance(general, x509.DNSName):
            out.append(("DNS", general.value))
        elif isinstance(general, x509.IPAddress):
            out.append(("IP Address", _ip_text(general.value)))
        elif isinstance(general, x509.RFC822Name):
            out.append(("email", general.value))
        elif isinstance(general, x509.UniformResourceIdentifier):
            out.append(("URI", general.value))
        elif isinstance(general, x509.DirectoryName):
            out.append(("DirName", name_tuple(general.value)))
        elif isinstance(general, x509.RegisteredID):
            out.append(("Registered ID", oid_name(general.value)))
        elif isinstance(general, x509.OtherName):
            out.append(("othername", "<unsupported>"))
    return tuple(out)


def _access_uris(cert: x509.Certificate, method: x509.ObjectIdentifier) -> tuple[str, ...]:
    """The URIs of the authorityInfoAccess entries of one method (_ssl.c's _get_aia_uri)."""
    access = _extension(cert, x509.AuthorityInformationAccess)
    return tuple(
        entry.access_location.value
        for entry in access or ()
        if entry.access_method == method and isinstance(entry.access_location, x509.UniformResourceIdentifier)
    )


def _crl_uris(cert: x509.Certificate) -> tuple[str, ...]:
    """The URIs of the distribution points' full names (_ssl.c's _get_crl_dp)."""
    points = _extension(cert, x509.CRLDistributionPoints)
    return tuple(
        name.value
        for point in points or ()
        for name in point.full_name or ()
        if isinstance(name, x509.UniformResourceIdentifier)
    )


def _ip_text(address: Any) -> str:
    if address.version == 6:  # OpenSSL prints every group, upper case
        return ":".join(f"{address.packed[i] << 8 | address.packed[i + 1]:X}" for i in range(0, 16, 2))
    return str(address)
