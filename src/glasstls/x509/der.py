"""The little of DER (X.690) glasstls reads by hand: an element's tag, contents and end, the
members of a constructed element's contents, and an element written back. For what
``cryptography`` hands over as bytes without parsing apart: a DistinguishedName of a
CertificateRequest (trace/dn.py), a Name to canonicalise as OpenSSL hashes it (compat/capath.py).
Definite lengths only; anything else, or an element that runs past its container, is ValueError.
"""

from __future__ import annotations


def read(data: bytes) -> tuple[int, bytes, int]:
    """(tag, contents, end) of the element at the start of ``data``."""
    if len(data) < 2:
        raise ValueError("element shorter than its header")
    tag, length, at = data[0], data[1], 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 3:
            raise ValueError("length not read here")
        length, at = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    if at + length > len(data):
        raise ValueError("element runs past its container")
    return tag, data[at : at + length], at + length


def members(contents: bytes) -> list[bytes]:
    """The elements, whole (header included), one after another in ``contents``."""
    found = []
    while contents:
        end = read(contents)[2]
        found.append(contents[:end])
        contents = contents[end:]
    return found


def write(tag: int, contents: bytes) -> bytes:
    """The element ``tag`` with ``contents``, its length in the shortest form (X.690, 10.1)."""
    n = len(contents)
    if n < 0x80:
        return bytes([tag, n]) + contents
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + contents
