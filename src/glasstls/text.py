"""Text that came from a peer, made safe to print.

A peer chooses the bytes of its SNI host name, its ALPN protocol names, the
subject, issuer and subjectAltName entries of its certificate and the request
line of an HTTP request. Printed as they are, a ``\\n`` in one of them forges a
log line, an ANSI escape (``\\x1b[31m``) recolours or rewrites the terminal,
and a bidi override (U+202E) makes a name read backwards. :func:`printable`
shows such characters as escapes instead; every text output (the traces, the
diagnosis, the command line's messages, the pages and diagrams) prints peer
names through it.

This module is at the bottom of the package: it imports nothing of glasstls,
so every layer may use it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Control characters (C0, DEL, C1: Cc), format characters (bidi overrides and
# isolates, zero-width joiners, tags: Cf), lone surrogates (Cs: what a decoder's
# surrogateescape leaves for an undecodable byte; unencodable on output) and the
# line and paragraph separators (Zl, Zp), which some viewers take as new lines.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


# The three controls everyone reads at sight keep their short escapes, as in Python and C.
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    short = _SHORT.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte surrogateescape could not decode: show the byte itself
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: str | bytes, *, escape_backslash: bool = True) -> str:
    """``value`` with every control, format and separator character written as an escape.

    Tab, newline and carriage return become ``\\t``, ``\\n`` and ``\\r``, the other
    C0 and C1 controls and DEL ``\\xNN``, bidi and other format controls
    ``\\uNNNN`` (``\\UNNNNNNNN`` beyond the BMP); ordinary printable Unicode
    (``é``, ``例``) is kept. Bytes are read as UTF-8, and each byte that is not
    valid UTF-8 shows as ``\\xNN``. A backslash is doubled, so the result reads
    back unambiguously (``a\\nb`` was a newline, ``a\\\\nb`` a backslash and an n).

    ``escape_backslash=False`` is for a last guard at an output, over text
    that may already hold escapes made here: it escapes what is unsafe and
    leaves backslashes alone, so applying it twice changes nothing.
    """
    text = value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)
    # The common case costs one pass in C: nothing unsafe (isprintable is False for all of
    # _UNSAFE_CATEGORIES) and no backslash to double.
    if text.isprintable() and not (escape_backslash and "\\" in text):
        return text
    out = []
    for ch in text:
        if ch == "\\" and escape_backslash:
            out.append("\\\\")
        elif not ch.isprintable() and unicodedata.category(ch) in _UNSAFE_CATEGORIES:
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


def exception_text(exc: BaseException) -> str:
    """An exception in one printable line ("ValueError: …"), for the places that catch one and go on."""
    return f"{type(exc).__name__}: {printable(str(exc))}"


MOST_LISTED = 32  # values of a peer's list that a message names (listed)


def listed(values: Iterable[object], empty: str = "(none)", most: int = MOST_LISTED) -> str:
    """A peer's list for a message: each value once, the first ``most``, then how many more. A
    ClientHello holds as many entries as its sender likes (tens of thousands of groups), and a
    refusal's reason goes to logs and traces: what it names has a bound, not the peer's choice."""
    unique = list(dict.fromkeys(str(v) for v in values))
    if not unique:
        return empty
    more = f" and {len(unique) - most} more" if len(unique) > most else ""
    return ", ".join(unique[:most]) + more
