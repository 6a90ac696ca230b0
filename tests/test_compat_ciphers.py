"""``set_ciphers``/``get_ciphers`` of glasstls.compat against the stdlib's (OpenSSL's) answer for the
same cipher string, restricted to the TLS 1.2 suites glasstls implements: the same suites, in the
same order, the same dict for each, and an error where the stdlib raises one."""

from __future__ import annotations

import ssl

import pytest

import glasstls.compat
from glasstls.compat.ciphers import OPENSSL_NAMES

# Strings set in the wild (Python's _DEFAULT_CIPHERS, urllib3 1.26 and requests' DEFAULT_CIPHERS,
# Mozilla's intermediate list, nginx and Apache examples), and each OpenSSL word on its own.
STRINGS = [
    "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM",
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDH+AESGCM:DH+AESGCM:ECDH+AES:DH+AES:RSA+AESGCM:RSA+AES:"
    "!aNULL:!eNULL:!MD5:!DSS",
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
    "HIGH:!aNULL:!MD5", "HIGH:!aNULL:!eNULL:!EXPORT:!DES:!RC4:!MD5:!PSK:!SRP:!CAMELLIA",
    "EECDH+AESGCM:EDH+AESGCM", "EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH",
    "DEFAULT", "ALL", "DEFAULT:!AES128", "DEFAULT:-AES128", "ALL:!AES256:!SHA1", "ALL:+kRSA", "ALL:+AES128:+SHA1",
    "AES128:AES256", "AES:+AES128:@STRENGTH", "ALL:@STRENGTH", "AES128:-SHA1:SHA1", "ALL:-ECDHE:ECDHE",
    "ECDH", "EECDH", "kECDHE", "ECDHE", "DH", "EDH", "kEDH", "kDHE", "DHE", "aRSA", "aECDSA", "ECDSA",
    "RSA", "kRSA", "AESGCM", "AES", "AES128", "AES256", "CHACHA20", "CBC", "FIPS", "SHA256", "SHA384", "SHA1", "SHA",
    "TLSv1.2", "TLSv1", "SSLv3", "HIGH", "kECDHE+aECDSA+AES256", "AES128-SHA+SHA1", "ECDHE-RSA-AES128-GCM-SHA256",
    "ALL:!ECDH:!kRSA", "FOO:AES128-SHA", "DEFAULT;!SHA1,!kRSA", "@SECLEVEL=1:ALL",
    # selecting nothing glasstls has: the stdlib raises for the first four, glasstls for all
    "MEDIUM", "AEAD", "aNULL", "!AES128", "ALL:!AES", "PSK", "RC4:3DES:DES:MD5:EXPORT:SRP:DSS:kPSK:eNULL:NULL",
]  # fmt: skip


def stdlib_names(spec: str) -> list[str] | None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.set_ciphers(spec + ":@SECLEVEL=0" if "@SECLEVEL" not in spec else spec)
    except ssl.SSLError:
        return None
    return [c["name"] for c in context.get_ciphers() if c["name"] in OPENSSL_NAMES]


@pytest.mark.parametrize("spec", STRINGS)
def test_set_ciphers_selects_as_openssl(spec: str) -> None:
    expected = stdlib_names(spec) or None  # none of ours: glasstls raises where the stdlib keeps others
    context = glasstls.compat.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if expected is None:
        with pytest.raises(ssl.SSLError, match="No cipher can be selected"):
            context.set_ciphers(spec)
        return
    context.set_ciphers(spec)
    assert [c["name"] for c in context.get_ciphers() if c["protocol"] != "TLSv1.3"] == expected


def test_get_ciphers_dicts_as_the_stdlib() -> None:
    """Every key and value of the stdlib's dict, for every suite both list (TLS 1.3 ones too)."""
    theirs = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    theirs.set_ciphers("ALL:@SECLEVEL=0")
    ours = glasstls.compat.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ours.set_ciphers("ALL")
    stdlib = {c["name"]: c for c in theirs.get_ciphers()}
    mine = {c["name"]: c for c in ours.get_ciphers()}
    common = set(stdlib) & set(mine)
    assert len(common) >= len(OPENSSL_NAMES) + 3  # every TLS 1.2 suite, and the stdlib's TLS 1.3 ones
    for name in sorted(common):
        assert mine[name] == stdlib[name], name
