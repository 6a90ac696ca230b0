"""Extension admission by the hello's index (issue 15): admit_extensions asks the ClientHello's
extensions by type (``by_type``, made in C) once, instead of an ``ext()`` call per extension of the
answer. These tests hold the index to the comprehension it replaced and to ``ext()``, and the
admission to the loop it replaced, over every extension type against hellos that offer it or not,
in every message's allowed set, the cookie's exception included."""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

import pytest

from glasstls.enums import ExtensionType, NamedGroup, ProtocolVersion
from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertDescription, AlertError
from glasstls.handshake import client13
from glasstls.handshake.admission import _MAY_COME_UNASKED, admit_extensions
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.extensions import Extension, KeyShareEntry
from glasstls.wire.layout import member_of

_EMS = Extension.make(E.extended_master_secret, True, X.CH)
_GROUPS = Extension.make(E.supported_groups, (NamedGroup.x25519, NamedGroup.secp256r1), X.CH)
_SHARE = Extension.make(E.key_share, (KeyShareEntry(NamedGroup.x25519, bytes(range(32))),), X.CH)
_VERSIONS = Extension.make(E.supported_versions, (ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2), X.CH)
_ALPN = Extension.make(E.application_layer_protocol_negotiation, (b"h2",), X.CH)
_LIMIT = Extension.make(E.record_size_limit, 16385, X.CH)
_SNI = Extension.make(E.server_name, "example.com", X.CH)
_UNKNOWN = Extension(member_of(ExtensionType, 0x7A7A), b"\x00", None)
_OTHER_GROUPS = Extension(E.supported_groups, b"\x00\x02\x00\x17", None)

HELLOS: dict[str, tuple[Extension, ...]] = {
    "none": (),
    "short": (_EMS, _VERSIONS),
    "four": (_SNI, _GROUPS, _SHARE, _VERSIONS),
    "long": (_SNI, _EMS, _GROUPS, _SHARE, _VERSIONS, _ALPN, _LIMIT, _UNKNOWN),
    "repeats": (_GROUPS, _EMS, _OTHER_GROUPS, _SHARE, _VERSIONS, _EMS, _UNKNOWN),
}
# Every known type, two unknown ones and a GREASE value: what an answer may carry.
TYPES = (*ExtensionType, *(member_of(ExtensionType, code) for code in (0x7A7A, 0xFE0D, 0xAAAA)))


def _hello(name: str) -> H.ClientHello:
    return H.ClientHello(cipher_suites=(0x1301,), extensions=HELLOS[name])


@pytest.mark.parametrize("name", HELLOS)
def test_the_index_is_the_first_extension_of_each_type(name: str) -> None:
    hello = _hello(name)
    exts = hello.extensions
    assert dict(hello.by_type()) == {ext.type: ext for ext in reversed(exts)}  # the comprehension it replaced
    for ext_type in TYPES:
        first = next((ext for ext in exts if ext.type == ext_type), None)
        assert hello.by_type().get(ext_type) is first
        assert hello.ext(ext_type) is first
        assert hello.ext(int(ext_type)) is first
    hello.extensions = exts[1:]  # another tuple: indexed anew
    assert dict(hello.by_type()) == {ext.type: ext for ext in reversed(exts[1:])}


def _careful_admit(
    extensions: tuple[Extension, ...],
    offered: H.ClientHello,
    allowed: Collection[int],
    where: str,
    misplaced: Any,
    tls13: bool = True,
) -> None:
    """admit_extensions written plainly: an ``ext()`` call per extension; in TLS 1.3 a type glasstls
    names (``known``) that the message may not carry is misplaced before it is unoffered."""
    for ext in extensions:
        if tls13 and ext.type.known and ext.type not in allowed:
            raise AlertError(
                AlertDescription.illegal_parameter,
                f"{misplaced or where} carries {ext.type.name}, which is not allowed there",
            )
        if offered.ext(ext.type) is None and ext.type not in _MAY_COME_UNASKED:
            raise AlertError(
                AlertDescription.unsupported_extension,
                f"{where} carries {ext.type.name}, which the client did not offer",
            )
        if ext.type not in allowed:
            raise AlertError(
                AlertDescription.illegal_parameter,
                f"{misplaced or where} carries {ext.type.name}, which is not allowed there",
            )


def _outcome(admit: Any, *args: Any) -> tuple[Any, ...]:
    try:
        admit(*args)
    except AlertError as err:
        return ("raised", err.description, err.reason)
    return ("admitted",)


ALLOWED = {
    "ServerHello": client13._SERVER_HELLO_EXTENSIONS,
    "HelloRetryRequest": client13._HRR_EXTENSIONS,
    "EncryptedExtensions": client13._EE_EXTENSIONS,
}


@pytest.mark.parametrize("name", HELLOS)
@pytest.mark.parametrize("where", ALLOWED)
def test_admission_is_the_ext_loops(name: str, where: str) -> None:
    allowed = ALLOWED[where]
    hello = _hello(name)
    answers = [(Extension(t, b"", None),) for t in TYPES]
    answers += [(_VERSIONS, Extension(t, b"", None)) for t in TYPES]  # after one that passes or not
    answers += [hello.extensions, hello.extensions[::-1], ()]
    for answer in answers:
        for misplaced in (None, "TLS 1.2 ServerHello"):
            for tls13 in (True, False):
                expected = _outcome(_careful_admit, answer, hello, allowed, where, misplaced, tls13)
                admit = functools.partial(admit_extensions, tls13=tls13)
                got = _outcome(admit, answer, hello, allowed, where, misplaced)
                assert got == expected
