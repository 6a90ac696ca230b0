"""What a client may change between its ClientHello and the one that answers a
HelloRetryRequest (RFC 8446, Section 4.1.2), and the check a server with the first
hello makes of the second.

The client sends "the same ClientHello without modification", except that it
replaces key_share with one share of the group asked for, drops early_data, adds
the cookie the HelloRetryRequest carried, updates pre_shared_key (ticket ages and
binders, and it may drop identities the selected suite cannot use) and may add,
drop or change padding. The server may check the rest; like Go's crypto/tls, glasstls
does, and refuses any other change with illegal_parameter: a second hello that says
something else than the first is not the hello the transcript's message_hash
(Section 4.4.1) stands for.

encrypted_client_hello (draft-ietf-tls-esni, Section 6.1) is also left out of the
comparison: a client using ECH encrypts its second inner hello anew, and glasstls
does not read it. Extensions are compared by type, not by position.
"""

from __future__ import annotations

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
    before = {ext.type: ext.data for ext in first.extensions if ext.type not in MAY_CHANGE}
    after = {ext.type: ext.data for ext in second.extensions if ext.type not in MAY_CHANGE}
    for ext_type in sorted(before.keys() | after.keys()):
        old, new = before.get(ext_type), after.get(ext_type)
        if old != new:
            how = "added" if old is None else "dropped" if new is None else "changed"
            return f"{how} its {_name(ext_type)} extension"
    return None


def _name(ext_type: int) -> str:
    """An extension type's name, or its number for one glasstls has no name for."""
    name = getattr(ext_type, "name", None)
    return name if isinstance(name, str) else f"{int(ext_type)}"
