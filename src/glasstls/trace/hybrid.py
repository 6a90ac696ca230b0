"""The parts of a hybrid post-quantum key share, for the renderers (draft-ietf-tls-ecdhe-mlkem).

A hybrid group's ``key_exchange`` is two values one after the other, with no
length of their own: the sizes are fixed by the group and by who sends it
(Section 4.1, the client share; Section 4.2, the server share). For
X25519MLKEM768 the ML-KEM part comes first, against the naming convention of
the hybrid design ("for historical reasons", Section 4.1):

* client: ML-KEM-768 encapsulation key (1184 bytes) || X25519 share (32);
* server: ML-KEM-768 ciphertext (1088 bytes) || X25519 share (32);
* shared secret: ML-KEM shared secret (32) || X25519 shared secret (32)
  (Section 4.3).

SecP256r1MLKEM768 and SecP384r1MLKEM1024 put the ECDH share first. The trace
shows what a peer sent, so a share of the wrong length is not an error here:
:func:`split` says why it cannot be cut, and the caller shows it undecoded.
"""

from __future__ import annotations

from dataclasses import dataclass

Parts = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Hybrid:
    name: str
    client: Parts  # the ClientHello's share, in wire order
    server: Parts  # the ServerHello's share
    secret: Parts  # the shared secret the key schedule takes as its (EC)DHE input
    components: str  # in words, in wire order


HYBRIDS: dict[int, Hybrid] = {
    0x11EC: Hybrid(
        "X25519MLKEM768",
        (("mlkem768_encapsulation_key", 1184), ("x25519", 32)),
        (("mlkem768_ciphertext", 1088), ("x25519", 32)),
        (("ML-KEM-768 shared secret", 32), ("X25519 shared secret", 32)),
        "ML-KEM-768 + X25519",
    ),
    0x11EB: Hybrid(
        "SecP256r1MLKEM768",
        (("secp256r1", 65), ("mlkem768_encapsulation_key", 1184)),
        (("secp256r1", 65), ("mlkem768_ciphertext", 1088)),
        (("ECDHE shared secret", 32), ("ML-KEM-768 shared secret", 32)),
        "secp256r1 ECDHE + ML-KEM-768",
    ),
    0x11ED: Hybrid(
        "SecP384r1MLKEM1024",
        (("secp384r1", 97), ("mlkem1024_encapsulation_key", 1568)),
        (("secp384r1", 97), ("mlkem1024_ciphertext", 1568)),
        (("ECDHE shared secret", 48), ("ML-KEM-1024 shared secret", 32)),
        "secp384r1 ECDHE + ML-KEM-1024",
    ),
}

# The parts in words, for sentences.
PART_WORDS = {
    "mlkem768_encapsulation_key": "ML-KEM-768 encapsulation key",
    "mlkem768_ciphertext": "ML-KEM-768 ciphertext",
    "mlkem1024_encapsulation_key": "ML-KEM-1024 encapsulation key",
    "mlkem1024_ciphertext": "ML-KEM-1024 ciphertext",
    "x25519": "X25519 share",
    "secp256r1": "secp256r1 share",
    "secp384r1": "secp384r1 share",
}


def _size(n: int) -> str:
    return f"{n} byte" if n == 1 else f"{n} bytes"


def hybrid(group: object) -> Hybrid | None:
    """The hybrid layout of ``group`` (a code point), or None for anything else (a message built
    in code may hold any value)."""
    return HYBRIDS.get(group) if isinstance(group, int) else None


def parts(group: object, role: str) -> Parts | None:
    """The parts of ``group``'s share as ``role`` ("client" or "server") sends it; None if not a hybrid."""
    found = hybrid(group)
    if found is None:
        return None
    return found.client if role == "client" else found.server


def split(group: object, key_exchange: bytes, role: str) -> list[tuple[str, int, int]] | str | None:
    """``(part, start, end)`` offsets into ``key_exchange``; a sentence saying why it cannot be cut
    (a length the group does not have); None for a group that is not a hybrid."""
    found = hybrid(group)
    if found is None:
        return None
    layout = found.client if role == "client" else found.server
    total = sum(n for _, n in layout)
    if len(key_exchange) != total:
        name = found.name
        pieces = " + ".join(f"{part} {n}" for part, n in layout)
        return f"{name} {role} share is {total} bytes ({pieces}), not {len(key_exchange)}"
    out, pos = [], 0
    for part, n in layout:
        out.append((part, pos, pos + n))
        pos += n
    return out


def summary(group: object, key_exchange: bytes, role: str) -> str | None:
    """``"mlkem768_encapsulation_key (1184 bytes) || x25519 (32 bytes)"``, why it cannot be cut, or None."""
    cut = split(group, key_exchange, role)
    if cut is None or isinstance(cut, str):
        return cut
    return " || ".join(f"{part} ({_size(end - start)})" for part, start, end in cut)
