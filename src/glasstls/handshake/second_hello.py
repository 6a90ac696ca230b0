"""What a client may change between its ClientHello and the one that answers a
HelloRetryRequest (RFC 8446, Section 4.1.2), and the server's check of the second.

The client sends "the same ClientHello without modification", except that it
replaces key_share with one share of the group asked for, drops early_data, adds
the cookie the HelloRetryRequest carried, updates pre_shared_key (ticket ages and
binders, and it may drop identities the selected suite cannot use) and may add,
drop or change padding. Everything else, the order of the extensions included,
stays as it was; glasstls checks it (as Go's crypto/tls checks the fields, and
tlsfuzzer the order too) and refuses any other change with illegal_parameter: a
second hello that says something else than the first is not the hello the
transcript's message_hash (Section 4.4.1) stands for.

encrypted_client_hello (draft-ietf-tls-esni, Section 6.1) is also left out: a
client using ECH encrypts its second inner hello anew, and glasstls does not read it.

A server with the first hello compares the two (:func:`change_in_second_hello`, which
says what changed); a stateless one keeps only :func:`fingerprint` of the first, in its
cookie, and compares that.
"""

from __future__ import annotations

import hashlib

from ..enums import ExtensionType as E
from ..wire.handshake import ClientHello

MAY_CHANGE = frozenset({E.key_share, E.early_data, E.cookie, E.pre_shared_key, E.padding, E.encrypted_client_hello})


def change_in_second_hello(first: ClientHello, second: ClientHello) -> str | None:
    """What ``second`` changed of ``first`` beyond Section 4.1.2's list, in words; None: nothing."""
    if second.legacy_version != first.legacy_version:
        return "its legacy_version"
    if second.random != first.random:
        return "its random"
    if second.legacy_session_id != first.legacy_session_id:
        return "its legacy_session_id"
    if second.cipher_suites != first.cipher_suites:
        return "its cipher suites"
    if second.compression_methods != first.compression_methods:
        return "its compression methods"
    before, after = _kept(first), _kept(second)
    if before == after:
        return None
    old, new = dict(before), dict(after)
    for ext_type in sorted(old.keys() | new.keys()):
        if old.get(ext_type) != new.get(ext_type):
            how = "added" if ext_type not in old else "dropped" if ext_type not in new else "changed"
            return f"{how} its {_name(ext_type)} extension"
    return "reordered its extensions"


def fingerprint(hello: ClientHello) -> bytes:
    """SHA-256 of what a second hello must repeat of ``hello``: equal for two hellos exactly when
    change_in_second_hello finds no change between them. The fields before the extensions are
    hashed as they arrived (legacy_version to compression methods), then the kept extensions."""
    fixed_end = 4 + 2 + 32 + 1 + len(hello.legacy_session_id)
    fixed_end += 2 + 2 * len(hello.cipher_suites) + 1 + len(hello.compression_methods)
    digest = hashlib.sha256(memoryview(hello.raw)[4:fixed_end])
    for ext_type, data in _kept(hello):
        digest.update(int(ext_type).to_bytes(2, "big") + len(data).to_bytes(2, "big") + data)
    return digest.digest()


def _kept(hello: ClientHello) -> list[tuple[int, bytes]]:
    """The extensions a second hello repeats, in their order, as (type, data)."""
    return [(ext.type, ext.data) for ext in hello.extensions if ext.type not in MAY_CHANGE]


def _name(ext_type: int) -> str:
    """An extension type's name, or its number for one glasstls has no name for."""
    name = getattr(ext_type, "name", None)
    return name if isinstance(name, str) else f"{int(ext_type)}"
