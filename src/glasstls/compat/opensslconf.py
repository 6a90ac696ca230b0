"""The system-wide TLS defaults of OpenSSL's configuration file, as Python's ``ssl`` ends up with them.

OpenSSL reads its configuration (``OPENSSL_CONF``, else ``openssl.cnf`` in its directory) once, and
applies the ``system_default`` section its ``ssl_conf`` names to every new ``SSL_CTX``: that is how
RHEL's and Fedora's crypto-policies, and a benchmark pinning its suites, reach a Python program that
never asks for them. ``_ssl.c`` then sets some of those settings again when it makes an
``SSLContext`` (Python 3.10+): the minimum version (TLS 1.2) and the TLS 1.2 cipher string (its own
``PY_SSL_DEFAULT_CIPHER_STRING``), so ``MinProtocol`` and ``CipherString`` do not reach it; the
TLS 1.3 suites (``Ciphersuites``), the groups (``Groups``, or ``Curves``), the signature schemes
(``SignatureAlgorithms``) and ``MaxProtocol`` do. Those four are what :func:`system_default` gives
the ssl-compatible context here (the schemes within what its profile allows: a file may narrow
glasstls's list, not widen it); the other directives are read and left alone.

The file's syntax (OpenSSL's config(5)): ``[section]`` headers, ``name = value`` lines, ``#``
comments, a backslash at the end of a line continuing it, quoted values, and ``.include`` (a file,
or every ``.cnf``/``.conf`` file of a directory, relative to ``OPENSSL_CONF_INCLUDE`` when set).
A command's name is read from after its first dot (``TLS.MaxProtocol``, as crypto-policies write it), the
commands apply in the file's order, and an invalid value leaves what an earlier command set, as OpenSSL
does. ``$var`` expansion is not done (no system_default directive needs it). A name OpenSSL does not
know in a list is skipped; a list with none that glasstls implements is ignored, as if absent.
"""

from __future__ import annotations

import functools
import os
import re
import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TypeVar

from ..crypto import kx
from ..crypto.suites import TLS13_SUITES
from ..enums import CipherSuite, NamedGroup, SignatureScheme

__all__ = ["SystemDefault", "config_path", "read_config", "system_default", "system_default_from"]

MAX_INCLUDE_DEPTH = 8  # includes within includes: a loop of them stops here
MAX_CONFIG_BYTES = 1 << 20  # a configuration file larger than this is not read

_SECTION = re.compile(r"^\[\s*([^\]\s]+)\s*\]")
_INCLUDE = re.compile(r"^\.include(?:\s*=\s*|\s+)(.+)$")
_VERSIONS = {
    "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3,
    "tlsv1.1": ssl.TLSVersion.TLSv1_1,
    "tlsv1": ssl.TLSVersion.TLSv1,
    "sslv3": ssl.TLSVersion.SSLv3,
}
# OpenSSL's names for the groups (its TLS names, the curves' other names, NIST's), lower-cased.
_GROUP_ALIASES = {
    "p-256": NamedGroup.secp256r1,
    "prime256v1": NamedGroup.secp256r1,
    "p-384": NamedGroup.secp384r1,
    "p-521": NamedGroup.secp521r1,
}
# OpenSSL's ALGORITHM+HASH names for the signature schemes (its TLS 1.3 names are the schemes' own).
_SCHEME_ALIASES = {
    **{f"rsa+sha{bits}": SignatureScheme[f"rsa_pkcs1_sha{bits}"] for bits in (1, 256, 384, 512)},
    **{f"rsa-pss+sha{bits}": SignatureScheme[f"rsa_pss_rsae_sha{bits}"] for bits in (256, 384, 512)},
    **{f"pss+sha{bits}": SignatureScheme[f"rsa_pss_rsae_sha{bits}"] for bits in (256, 384, 512)},
    "ecdsa+sha256": SignatureScheme.ecdsa_secp256r1_sha256,
    "ecdsa+sha384": SignatureScheme.ecdsa_secp384r1_sha384,
    "ecdsa+sha512": SignatureScheme.ecdsa_secp521r1_sha512,
    "ecdsa+sha1": SignatureScheme.ecdsa_sha1,
}

Config = dict[str, dict[str, str]]
_M = TypeVar("_M", bound=Enum)


@dataclass(frozen=True)
class SystemDefault:
    """What of OpenSSL's system_default section a Python ``SSLContext`` starts with (None: unset)."""

    maximum_version: ssl.TLSVersion | None = None
    tls13_suites: tuple[CipherSuite, ...] | None = None
    groups: tuple[NamedGroup, ...] = ()
    signature_schemes: tuple[SignatureScheme, ...] = ()  # the context keeps those its profile allows
    source: str | None = None  # the file it came from


def config_path() -> Path | None:
    """The file OpenSSL reads: ``OPENSSL_CONF``, else ``openssl.cnf`` in OpenSSL's directory (the
    parent of its default CA directory, as ``ssl.get_default_verify_paths()`` gives it); None when
    that directory is unknown (never a file of the working directory)."""
    named = os.environ.get("OPENSSL_CONF")
    return Path(named) if named else _openssl_cnf()


@functools.cache
def _openssl_cnf() -> Path | None:
    capath = ssl.get_default_verify_paths().openssl_capath
    return Path(capath).parent / "openssl.cnf" if os.path.isabs(capath) else None


@functools.cache
def _cached(path: str) -> SystemDefault:
    return system_default_from(read_config(Path(path)), path)


def system_default() -> SystemDefault:
    """The system defaults of the file OpenSSL reads (read once per process and file, as OpenSSL
    reads its configuration once); empty when there is no such file or it sets none."""
    path = config_path()
    return _cached(str(path)) if path is not None else SystemDefault()


def read_config(path: Path) -> Config:
    """The sections of an OpenSSL configuration file and of the files it includes; the lines before
    the first section header are in ``""``. An unreadable file reads as empty."""
    config: Config = {"": {}}
    _read_into(config, path, "", 0)
    return config


def _read_into(config: Config, path: Path, section: str, depth: int) -> str:
    """Read ``path`` into ``config``, starting in ``section``; the section it ends in."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_CONFIG_BYTES:
            return section  # (a device or a pipe could be read forever)
        text = path.read_text(encoding="utf-8", errors="replace")[:MAX_CONFIG_BYTES]
    except OSError:
        return section
    for line in _logical_lines(text):
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
            config.setdefault(section, {})
            continue
        include = _INCLUDE.match(line)
        if include:
            if depth < MAX_INCLUDE_DEPTH:
                for included in _included_files(_unquoted(include.group(1))):
                    section = _read_into(config, included, section, depth + 1)
            continue
        name, equals, value = line.partition("=")
        if equals and name.strip() and not name.strip().startswith("."):
            names = config.setdefault(section, {})
            names.pop(name.strip(), None)  # a name set again moves to the end, as in OpenSSL's section stack
            names[name.strip()] = _unquoted(value.strip())
    return section


def _logical_lines(text: str) -> list[str]:
    """The lines of ``text`` joined where one ends in a backslash, comments and blanks left out."""
    lines, pending = [], ""
    for raw in text.splitlines():
        line = pending + raw
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending = line[:-1]
            continue
        pending = ""
        line = _without_comment(line).strip()
        if line:
            lines.append(line)
    return lines


def _without_comment(line: str) -> str:
    """``line`` up to a ``#`` that is not inside quotes or escaped."""
    quote = ""
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def _unquoted(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _included_files(name: str) -> list[Path]:
    """The files ``.include name`` reads: a file, or a directory's ``.cnf`` and ``.conf`` files in
    name order; a relative name is taken from OPENSSL_CONF_INCLUDE when it is set."""
    path = Path(name)
    base = os.environ.get("OPENSSL_CONF_INCLUDE")
    if not path.is_absolute() and base:
        path = Path(base) / path
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".cnf", ".conf") and p.is_file())
    return [path]


def system_default_from(config: Config, source: str | None = None) -> SystemDefault:
    """The SystemDefault of a read configuration: its ``openssl_conf`` section's ``ssl_conf``
    section's ``system_default`` section, the directives' names in any case."""
    init = _named(config, config[""].get("openssl_conf"))
    ssl_section = _named(config, init.get("ssl_conf"))
    found: dict[str, object] = {}
    for name, value in _named(config, ssl_section.get("system_default")).items():
        # OpenSSL reads a name from after its first dot (crypto-policies write TLS.MaxProtocol and
        # DTLS.MaxProtocol, which sets no TLS context's); each command applies in the file's order,
        # only when its value is valid. (Checked against OpenSSL 3.0 under Python's ssl.)
        field, parse = _COMMANDS.get(name.split(".", 1)[-1].lower(), ("", None))
        parsed = parse(value) if parse is not None else None
        if parsed is not None:
            found[field] = parsed
    if not found:
        return SystemDefault()
    return SystemDefault(**found, source=source)  # type: ignore[arg-type]  # (each field's parser's type)


def _named(config: Config, name: str | None) -> dict[str, str]:
    """The section ``name`` names; none (empty) when it is unset or absent."""
    return config.get(name, {}) if name else {}


def _version(value: str) -> ssl.TLSVersion | None:
    """OpenSSL's ``MaxProtocol``: a TLS version, or "None" for no limit; None when it names neither
    (a DTLS version: a TLS context keeps what it had)."""
    key = value.strip().lower()
    return ssl.TLSVersion.MAXIMUM_SUPPORTED if key == "none" else _VERSIONS.get(key)


def _tls13_suites(value: str) -> tuple[CipherSuite, ...] | None:
    """OpenSSL's ``Ciphersuites`` list (names joined by ``:``); an empty list is one (no TLS 1.3 suite)."""
    known = {suite.name: suite for suite in TLS13_SUITES}
    names = [name.strip() for name in value.split(":") if name.strip()]
    suites = tuple(known[name] for name in names if name in known)
    return suites if suites or not names else None


def _schemes(value: str) -> tuple[SignatureScheme, ...] | None:
    """OpenSSL's ``SignatureAlgorithms`` list: ``ALGORITHM+HASH`` names or TLS 1.3 scheme names."""
    return _listed(value, SignatureScheme, _SCHEME_ALIASES, lambda scheme: True) or None


def _groups(value: str) -> tuple[NamedGroup, ...] | None:
    """OpenSSL's ``Groups`` list: its names for the groups, those glasstls implements."""
    return _listed(value, NamedGroup, _GROUP_ALIASES, lambda group: group in kx.SUPPORTED_GROUPS) or None


def _listed(value: str, members: type[_M], aliases: dict[str, _M], usable: Callable[[_M], bool]) -> tuple[_M, ...]:
    """The members a ``:``-separated OpenSSL list names (any case; ``?name``: skipped if unknown, as
    any unknown name is here), each once, in the list's order."""
    by_name = {member.name.lower(): member for member in members}
    chosen: list[_M] = []
    for name in value.split(":"):
        key = name.strip().lstrip("?").lower()
        member = aliases.get(key) or by_name.get(key)
        if member is not None and usable(member) and member not in chosen:
            chosen.append(member)
    return tuple(chosen)


# The system_default commands a Python context keeps (the module's docstring), by lower-case name:
# the field each sets and its parser (None: an invalid value, which leaves what an earlier one set).
_COMMANDS: dict[str, tuple[str, Callable[[str], object]]] = {
    "maxprotocol": ("maximum_version", _version),
    "ciphersuites": ("tls13_suites", _tls13_suites),
    "groups": ("groups", _groups),
    "curves": ("groups", _groups),  # (OpenSSL's older name for the same command)
    "signaturealgorithms": ("signature_schemes", _schemes),
}
