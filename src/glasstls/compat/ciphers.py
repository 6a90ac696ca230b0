"""OpenSSL cipher strings (``SSLContext.set_ciphers``) mapped to glasstls CipherSuites.

``set_ciphers`` governs TLS 1.2 suites only, as in OpenSSL (TLS 1.3 suites are set
apart, ``SSL_CTX_set_ciphersuites``). Each TLS 1.2 suite glasstls implements is described
as OpenSSL classes it (ssl/s3_lib.c): key exchange, authentication, cipher, MAC, the
oldest protocol it was defined for, strength; the words of a cipher string are OpenSSL's
aliases over those classes (ssl/ssl_ciph.c, ``cipher_aliases``), and the string is applied
as ``ssl_create_cipher_list`` does: a list of every suite in OpenSSL's default order, where
``WORD`` adds the suites it selects that are not in yet (at the end), ``-WORD`` takes them
out (they may be added again), ``!WORD`` takes them out for good, ``+WORD`` moves them to the
end, ``A+B`` selects what both select, ``@STRENGTH`` sorts by key bits, ``@SECLEVEL=n`` is
accepted. A word OpenSSL does not know is skipped, as OpenSSL does; a word naming only what
glasstls lacks (``aNULL``, ``RC4``, ``CAMELLIA``, ``PSK``, …) selects nothing. What a string
selects is checked against the stdlib's ``set_ciphers`` in tests/test_compat_ciphers.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..crypto.suites import TLS12_SUITES, TLS13_SUITES
from ..enums import CipherSuite

S = CipherSuite
# In the order OpenSSL 3's "ALL" lists them (strongest first, forward secrecy first).
OPENSSL_NAMES: dict[str, CipherSuite] = {
    "ECDHE-ECDSA-AES256-GCM-SHA384": S.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    "ECDHE-RSA-AES256-GCM-SHA384": S.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    "DHE-RSA-AES256-GCM-SHA384": S.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    "ECDHE-ECDSA-CHACHA20-POLY1305": S.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    "ECDHE-RSA-CHACHA20-POLY1305": S.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    "DHE-RSA-CHACHA20-POLY1305": S.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    "ECDHE-ECDSA-AES128-GCM-SHA256": S.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    "ECDHE-RSA-AES128-GCM-SHA256": S.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    "DHE-RSA-AES128-GCM-SHA256": S.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    "ECDHE-ECDSA-AES256-SHA384": S.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
    "ECDHE-RSA-AES256-SHA384": S.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
    "DHE-RSA-AES256-SHA256": S.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256,
    "ECDHE-ECDSA-AES128-SHA256": S.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    "ECDHE-RSA-AES128-SHA256": S.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    "DHE-RSA-AES128-SHA256": S.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256,
    "ECDHE-ECDSA-AES256-SHA": S.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
    "ECDHE-RSA-AES256-SHA": S.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
    "DHE-RSA-AES256-SHA": S.TLS_DHE_RSA_WITH_AES_256_CBC_SHA,
    "ECDHE-ECDSA-AES128-SHA": S.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    "ECDHE-RSA-AES128-SHA": S.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    "DHE-RSA-AES128-SHA": S.TLS_DHE_RSA_WITH_AES_128_CBC_SHA,
    "AES256-GCM-SHA384": S.TLS_RSA_WITH_AES_256_GCM_SHA384,
    "AES128-GCM-SHA256": S.TLS_RSA_WITH_AES_128_GCM_SHA256,
    "AES256-SHA256": S.TLS_RSA_WITH_AES_256_CBC_SHA256,
    "AES128-SHA256": S.TLS_RSA_WITH_AES_128_CBC_SHA256,
    "AES256-SHA": S.TLS_RSA_WITH_AES_256_CBC_SHA,
    "AES128-SHA": S.TLS_RSA_WITH_AES_128_CBC_SHA,
}
NAME_OF: dict[CipherSuite, str] = {suite: name for name, suite in OPENSSL_NAMES.items()}


class SuiteClass:
    """How OpenSSL classes one suite (its SSL_CIPHER fields), from its OpenSSL name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kx = "ECDH" if name.startswith("ECDHE-") else "DH" if name.startswith("DHE-") else "RSA"
        self.au = "ECDSA" if "-ECDSA-" in name else "RSA"
        self.bits = 256 if "AES256" in name or "CHACHA20" in name else 128
        self.cipher = "CHACHA20" if "CHACHA20" in name else "AESGCM" if "-GCM-" in name else "AES"
        aead = self.cipher != "AES"
        self.mac = (
            "AEAD" if aead else "SHA384" if name.endswith("SHA384") else "SHA256" if name.endswith("SHA256") else "SHA1"
        )
        # The oldest protocol OpenSSL files it under: the SHA-1 CBC suites SSLv3, their ECDHE
        # forms TLSv1 (RFC 4492), the rest TLSv1.2 (RFC 5246's new MACs, GCM, ChaCha20).
        self.min_tls = "TLSv1.2" if self.mac != "SHA1" else "TLSv1" if self.kx == "ECDH" else "SSLv3"


CLASSES = {name: SuiteClass(name) for name in OPENSSL_NAMES}
# OpenSSL's words that pick suites by one of their fields, as (field, value): several words each.
_BY_FIELD: dict[tuple[str, str], tuple[str, ...]] = {
    ("kx", "RSA"): ("kRSA", "RSA"),  # RSA is the key exchange only (OpenSSL's ciphers(1))
    ("kx", "ECDH"): ("kECDHE", "kEECDH", "ECDHE", "EECDH", "ECDH"),
    ("kx", "DH"): ("kDHE", "kEDH", "DHE", "EDH", "DH"),
    ("au", "RSA"): ("aRSA",),
    ("au", "ECDSA"): ("aECDSA", "ECDSA"),
    ("cipher", "AESGCM"): ("AESGCM",),
    ("cipher", "CHACHA20"): ("CHACHA20",),
    ("cipher", "AES"): ("CBC",),
    ("mac", "SHA1"): ("SHA1", "SHA"),
    ("mac", "SHA256"): ("SHA256",),  # the MAC (HMAC-SHA256: CBC suites), not the PRF hash
    ("mac", "SHA384"): ("SHA384",),
    ("min_tls", "SSLv3"): ("SSLv3",),
    ("min_tls", "TLSv1"): ("TLSv1", "TLSv1.0"),
    ("min_tls", "TLSv1.2"): ("TLSv1.2",),
}


def _field_is(field: str, value: str) -> Callable[[SuiteClass], bool]:
    return lambda c: getattr(c, field) == value


_ALIASES: dict[str, Callable[[SuiteClass], bool]] = {
    "ALL": lambda c: True,
    "DEFAULT": lambda c: True,  # ALL less aNULL and eNULL suites, which glasstls has none of
    "HIGH": lambda c: True,  # every suite glasstls has is 128-bit or stronger
    "FIPS": lambda c: c.cipher != "CHACHA20",
    "AES": lambda c: c.cipher != "CHACHA20",
    "AES128": lambda c: c.cipher != "CHACHA20" and c.bits == 128,
    "AES256": lambda c: c.cipher != "CHACHA20" and c.bits == 256,
    **{word: _field_is(field, value) for (field, value), words in _BY_FIELD.items() for word in words},
}
# OpenSSL aliases for what glasstls never offers: known words, selecting nothing.
_NONE = frozenset(
    {"COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "aNULL", "eNULL", "NULL", "ADH", "AECDH", "MD5", "RC4", "RC2",
     "3DES", "DES", "IDEA", "SEED", "EXP", "EXPORT", "LOW", "MEDIUM", "PSK", "kPSK", "kECDHEPSK", "kDHEPSK",
     "kRSAPSK", "aPSK", "ECDHEPSK", "DHEPSK", "RSAPSK", "SRP", "kSRP", "aSRP", "aDSS", "DSS", "CAMELLIA",
     "CAMELLIA128", "CAMELLIA256", "ARIA", "ARIA128", "ARIA256", "ARIAGCM", "AESCCM", "AESCCM8", "GOST89",
     "GOST94", "GOST89MAC", "GOST12", "kGOST", "aGOST", "aGOST01", "aGOST12", "kGOST18", "GOST2012GOST8912",
     "CHACHA20POLY1305", "TLSv1.3", "SUITEB128", "SUITEB128ONLY", "SUITEB128C2", "SUITEB192"}
)  # fmt: skip


def parse_cipher_string(spec: str) -> tuple[CipherSuite, ...]:
    """The TLS 1.2 suites an OpenSSL cipher string selects, in OpenSSL's order; ``ssl.SSLError``
    ("No cipher can be selected.") when it selects none, as the stdlib raises."""
    import ssl  # the stdlib's error class, as set_ciphers raises it

    order, active = list(OPENSSL_NAMES), set[str]()
    for token in spec.replace(",", ":").replace(" ", ":").replace(";", ":").split(":"):
        if not token or token.startswith("@SECLEVEL="):
            continue  # the security level: glasstls's profiles decide (SSLContext.security_level)
        if token == "@STRENGTH":
            order = _by_strength(order, active)
            continue
        sign, word = (token[0], token[1:]) if token[0] in "!-+" else ("", token)
        chosen = _select(word)
        if chosen is None:
            continue  # a word OpenSSL does not know: skipped, as there
        if sign == "!":
            order = [n for n in order if n not in chosen]
            active -= chosen
        elif sign == "-":
            order = [n for n in order if n in chosen and n in active] + [
                n for n in order if not (n in chosen and n in active)
            ]
            active -= chosen
        elif sign == "+":
            moved = [n for n in order if n in chosen and n in active]
            order = [n for n in order if n not in moved] + moved
        else:
            added = [n for n in order if n in chosen and n not in active]
            order = [n for n in order if n not in added] + added
            active.update(added)
    suites = tuple(OPENSSL_NAMES[n] for n in order if n in active and OPENSSL_NAMES[n] in TLS12_SUITES)
    if not suites:
        err = ssl.SSLError("No cipher can be selected.")  # (the stdlib's: no reason, no library)
        raise err
    return suites


def _by_strength(order: list[str], active: set[str]) -> list[str]:
    """@STRENGTH: the suites in, strongest first, otherwise in their order (a stable sort)."""
    chosen = sorted((n for n in order if n in active), key=lambda n: -CLASSES[n].bits)
    return [n for n in order if n not in active] + chosen


def _select(word: str) -> set[str] | None:
    """The suite names one element selects (``A+B``: what both select); None for a word
    OpenSSL does not know."""
    names = set(OPENSSL_NAMES)
    for part in word.split("+"):
        if part in OPENSSL_NAMES:
            names &= {part}
        elif part in _ALIASES:
            names = {n for n in names if _ALIASES[part](CLASSES[n])}
        elif part in _NONE:
            names = set()
        else:
            return None
    return names


def cipher_dict(suite: CipherSuite) -> dict[str, Any]:
    """``SSLContext.get_ciphers()``'s dict for one suite, with the values the stdlib gives."""
    name = openssl_name(suite.name)
    if suite in TLS13_SUITES:
        bits = 256 if "AES_256" in name or "CHACHA20" in name else 128
        enc = (
            "CHACHA20/POLY1305"
            if "CHACHA20" in name
            else "AESCCM8"
            if "CCM_8" in name
            else "AESCCM"
            if "CCM" in name
            else "AESGCM"
        )
        kx, au, protocol, mac = "any", "any", "TLSv1.3", "AEAD"
    else:
        c = CLASSES[name]
        bits, kx, au, mac = c.bits, c.kx, c.au, c.mac
        enc = "CHACHA20/POLY1305" if c.cipher == "CHACHA20" else c.cipher
        protocol = {"SSLv3": "SSLv3", "TLSv1": "TLSv1.0"}.get(c.min_tls, "TLSv1.2")
    symmetric = "chacha20-poly1305" if enc.startswith("CHACHA") else f"aes-{bits}-{enc[3:6].lower() or 'cbc'}"
    strength = 64 if enc == "AESCCM8" else bits  # (OpenSSL 3: a short tag, a low strength)
    shown = protocol if protocol != "TLSv1.0" else "TLSv1"  # (SSL_CIPHER_description's spelling)
    description = f"{name:<30} {shown:<7} Kx={kx:<8} Au={au:<5} Enc={f'{enc}({bits})':<22} Mac={mac:<4}"
    return {
        "id": 0x03000000 | int(suite), "name": name, "protocol": protocol,
        "description": description, "strength_bits": strength, "alg_bits": bits,
        "aead": mac == "AEAD", "symmetric": symmetric, "digest": None if mac == "AEAD" else mac.lower(),
        "kea": f"kx-{ {'ECDH': 'ecdhe', 'DH': 'dhe'}.get(kx, kx.lower())}", "auth": f"auth-{au.lower()}",
    }  # fmt: skip


def openssl_name(suite_name: str) -> str:
    """OpenSSL's name of a suite, given glasstls's (IANA) name; TLS 1.3 names are the same."""
    try:
        suite = CipherSuite[suite_name]
    except KeyError:
        return suite_name
    return NAME_OF.get(suite, suite_name)


def cipher_tuple(suite_name: str) -> tuple[str, str, int]:
    """``SSLSocket.cipher()``'s tuple for a suite (glasstls's IANA name), as _ssl.c's cipher_to_tuple:
    OpenSSL's name, the protocol OpenSSL files the suite under (SSL_CIPHER_get_version: "TLSv1.0"
    for ECDHE-RSA-AES128-SHA, "SSLv3" for AES128-SHA, not the version negotiated) and its
    strength in bits (SSL_CIPHER_get_bits)."""
    described = cipher_dict(CipherSuite[suite_name])
    return described["name"], described["protocol"], described["strength_bits"]


TLS13_NAMES = tuple(s.name for s in TLS13_SUITES)


# OpenSSL's TLS_DEFAULT_CIPHERSUITES (include/openssl/ssl.h), its TLS 1.3 suites' order of preference.
OPENSSL_TLS13_ORDER = (
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_AES_128_GCM_SHA256,
)


def openssl_tls13_rank(suite: CipherSuite) -> int:
    """Where OpenSSL puts ``suite`` among its TLS 1.3 defaults; any other after them (sorted() keeps its order)."""
    return OPENSSL_TLS13_ORDER.index(suite) if suite in OPENSSL_TLS13_ORDER else len(OPENSSL_TLS13_ORDER)
