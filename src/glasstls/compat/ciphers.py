"""OpenSSL cipher strings (``SSLContext.set_ciphers``) mapped to glasstls CipherSuites.

``set_ciphers`` governs TLS 1.2 suites only, as in OpenSSL (TLS 1.3 suites are set
apart, ``SSL_CTX_set_ciphersuites``). The table names OpenSSL's spelling of each TLS 1.2
suite glasstls implements; the keywords understood are the common ones: ``DEFAULT``,
``ALL``, ``HIGH``, ``ECDHE``/``EECDH``, ``DHE``/``EDH``, ``AESGCM``, ``CHACHA20``,
``aRSA``/``aECDSA``, and ``!``/``-`` of any of them; ``aNULL``, ``eNULL``, ``MD5``, ``RC4``,
``3DES`` and ``EXPORT`` name nothing glasstls has, and ``@SECLEVEL=n``/``@STRENGTH`` are ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from ..crypto.suites import TLS12_SUITES, TLS13_SUITES
from ..enums import CipherSuite

S = CipherSuite
OPENSSL_NAMES: dict[str, CipherSuite] = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": S.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    "ECDHE-ECDSA-AES256-GCM-SHA384": S.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    "ECDHE-RSA-AES128-GCM-SHA256": S.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    "ECDHE-RSA-AES256-GCM-SHA384": S.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    "ECDHE-ECDSA-CHACHA20-POLY1305": S.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    "ECDHE-RSA-CHACHA20-POLY1305": S.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    "DHE-RSA-AES128-GCM-SHA256": S.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    "DHE-RSA-AES256-GCM-SHA384": S.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    "DHE-RSA-CHACHA20-POLY1305": S.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    "ECDHE-ECDSA-AES128-SHA256": S.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
    "ECDHE-ECDSA-AES256-SHA384": S.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
    "ECDHE-RSA-AES128-SHA256": S.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    "ECDHE-RSA-AES256-SHA384": S.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
    "ECDHE-ECDSA-AES128-SHA": S.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
    "ECDHE-ECDSA-AES256-SHA": S.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
    "ECDHE-RSA-AES128-SHA": S.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    "ECDHE-RSA-AES256-SHA": S.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
    "DHE-RSA-AES128-SHA256": S.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256,
    "DHE-RSA-AES256-SHA256": S.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256,
    "DHE-RSA-AES128-SHA": S.TLS_DHE_RSA_WITH_AES_128_CBC_SHA,
    "DHE-RSA-AES256-SHA": S.TLS_DHE_RSA_WITH_AES_256_CBC_SHA,
    "AES128-GCM-SHA256": S.TLS_RSA_WITH_AES_128_GCM_SHA256,
    "AES256-GCM-SHA384": S.TLS_RSA_WITH_AES_256_GCM_SHA384,
    "AES128-SHA256": S.TLS_RSA_WITH_AES_128_CBC_SHA256,
    "AES256-SHA256": S.TLS_RSA_WITH_AES_256_CBC_SHA256,
    "AES128-SHA": S.TLS_RSA_WITH_AES_128_CBC_SHA,
    "AES256-SHA": S.TLS_RSA_WITH_AES_256_CBC_SHA,
}
NAME_OF: dict[CipherSuite, str] = {suite: name for name, suite in OPENSSL_NAMES.items()}

_AEAD = ("GCM", "CHACHA20")
_KEYWORDS: dict[str, Callable[[str], bool]] = {
    "ALL": lambda n: True,
    "DEFAULT": lambda n: True,
    "HIGH": lambda n: True,  # every suite glasstls has is 128-bit or stronger
    "ECDHE": lambda n: n.startswith("ECDHE-"),
    "EECDH": lambda n: n.startswith("ECDHE-"),
    "kECDHE": lambda n: n.startswith("ECDHE-"),
    "DHE": lambda n: n.startswith("DHE-"),
    "EDH": lambda n: n.startswith("DHE-"),
    "kRSA": lambda n: n.startswith("AES"),
    "RSA": lambda n: n.startswith("AES") or "-RSA-" in n,
    "aRSA": lambda n: "-ECDSA-" not in n,
    "aECDSA": lambda n: "-ECDSA-" in n,
    "ECDSA": lambda n: "-ECDSA-" in n,
    "AESGCM": lambda n: "GCM" in n,
    "AES": lambda n: "AES" in n,
    "CHACHA20": lambda n: "CHACHA20" in n,
    "AEAD": lambda n: any(a in n for a in _AEAD),
    "SHA256": lambda n: n.endswith("SHA256"),
    "SHA384": lambda n: n.endswith("SHA384"),
    "SHA1": lambda n: n.endswith("-SHA") or n in ("AES128-SHA", "AES256-SHA"),
    "SHA": lambda n: n.endswith("-SHA") or n in ("AES128-SHA", "AES256-SHA"),
}
# Keywords for what glasstls never offers: they select nothing.
_EMPTY = frozenset(
    {"aNULL", "eNULL", "NULL", "MD5", "RC4", "3DES", "DES", "EXPORT", "EXP", "LOW", "MEDIUM", "PSK", "SRP", "aDSS",
     "DSS", "CAMELLIA", "ARIA", "SEED", "IDEA", "ADH", "AECDH"}
)  # fmt: skip


def parse_cipher_string(spec: str) -> tuple[CipherSuite, ...]:
    """The TLS 1.2 suites an OpenSSL cipher string selects, in its order; ``ssl.SSLError``
    ("No cipher can be selected") when it selects none, as the stdlib raises."""
    import ssl  # the stdlib's error class, as set_ciphers raises it

    chosen: list[str] = []
    banned: set[str] = set()
    for token in spec.replace(",", ":").replace(" ", ":").split(":"):
        if not token or token.startswith("@"):
            continue  # @SECLEVEL=n, @STRENGTH: ordering and levels, not suites
        sign, word = (token[0], token[1:]) if token[0] in "!-+" else ("", token)
        names = _select(word)
        if sign == "!":
            banned.update(names)
        elif sign == "-":
            chosen = [n for n in chosen if n not in names]
        elif sign == "+":
            chosen = [n for n in chosen if n not in names] + [n for n in chosen if n in names]
        else:
            chosen += [n for n in names if n not in chosen]
    suites = tuple(OPENSSL_NAMES[n] for n in chosen if n not in banned and OPENSSL_NAMES[n] in TLS12_SUITES)
    if not suites:
        err = ssl.SSLError(ssl.SSL_ERROR_SSL, "('No cipher can be selected.',)")
        err.reason, err.library = "NO_CIPHER_MATCH", "SSL"
        raise err
    return suites


def _select(word: str) -> list[str]:
    """The suite names one element selects; ``A+B`` is the intersection of A and B."""
    names = list(OPENSSL_NAMES)
    for part in word.split("+"):
        if part in OPENSSL_NAMES:
            names = [n for n in names if n == part]
        elif part in _KEYWORDS:
            names = [n for n in names if _KEYWORDS[part](n)]
        else:  # _EMPTY, an unknown keyword, a suite glasstls lacks: OpenSSL skips them too
            return []
    return names


def openssl_name(suite_name: str) -> str:
    """OpenSSL's name of a suite, given glasstls's (IANA) name; TLS 1.3 names are the same."""
    try:
        suite = CipherSuite[suite_name]
    except KeyError:
        return suite_name
    return NAME_OF.get(suite, suite_name)


def secret_bits(suite_name: str) -> int:
    """The symmetric key size, as ``SSLSocket.cipher()`` reports it."""
    return 256 if "AES_256" in suite_name or "CHACHA20" in suite_name else 128


TLS13_NAMES = tuple(s.name for s in TLS13_SUITES)
