"""A message's ext() answers from its index first (issue 15: a server asks its ClientHello a dozen
questions): it must give what a scan for the first extension of the type gives (extensions.find),
for blocks short and long, with a type repeated (a message built by hand may hold one), before and
after by_type() or a parse made the index, and after the message is given other extensions."""

from __future__ import annotations

import pytest

from glasstls.enums import ExtensionType as E
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.extensions import Extension

_POOL = [
    Extension(E.server_name, b"a", None),
    Extension(E.supported_groups, b"b", None),
    Extension(E.key_share, b"c", None),
    Extension(E.supported_versions, b"d", None),
    Extension(E.supported_groups, b"e", None),  # a repeated type: the first one is the answer
    Extension(E.psk_key_exchange_modes, b"f", None),
    Extension(E.cookie, b"g", None),
    Extension(E.early_data, b"h", None),
    Extension(E.key_share, b"i", None),
]
_ASKED = sorted({int(e.type) for e in _POOL} | {int(E.pre_shared_key), int(E.padding)})


def _answers(msg: H.ClientHello | H.EncryptedExtensions) -> list[Extension | None]:
    return [msg.ext(t) for t in _ASKED] + [msg.ext(E(t)) for t in _ASKED]


def _expected(exts: tuple[Extension, ...]) -> list[Extension | None]:
    return [X.find(exts, t) for t in _ASKED] * 2


@pytest.mark.parametrize("n", range(len(_POOL) + 1))
def test_ext_is_the_first_of_its_type_however_the_message_was_indexed(n: int) -> None:
    exts = tuple(_POOL[:n])
    others = tuple(reversed(_POOL[: len(_POOL) - n]))
    for kind in (H.ClientHello, H.EncryptedExtensions):
        msg = kind(extensions=exts)
        assert _answers(msg) == _expected(exts)
        assert _answers(msg) == _expected(exts)  # again, from the index ext() may have made
        msg.extensions = others
        assert _answers(msg) == _expected(others)
        fresh = kind(extensions=exts)
        assert dict(fresh.by_type()) == {int(t): X.find(exts, t) for t in _ASKED if X.find(exts, t) is not None}
        assert _answers(fresh) == _expected(exts)  # from the index by_type() made, short blocks too
        fresh.extensions = others
        assert _answers(fresh) == _expected(others)
