"""The extensions a TLS 1.3 server sends alike in every handshake are made once (issue 15):
supported_versions in the ServerHello (RFC 8446, Section 4.2.1), the empty server_name of
EncryptedExtensions (RFC 6066, Section 3) and pre_shared_key selecting the first identity
(Section 4.2.11). Each must be what Extension.make builds for its value, byte for byte, and
another identity's index must still be encoded as itself."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from glasstls.enums import ExtensionType as E
from glasstls.enums import ProtocolVersion
from glasstls.handshake import psk13, server13
from glasstls.wire import extensions as X
from glasstls.wire.extensions import Extension

KEPT = [
    (server13._SH_SUPPORTED_VERSIONS, E.supported_versions, ProtocolVersion.TLSv1_3, X.SH, b"\x03\x04"),
    (server13._EE_SERVER_NAME, E.server_name, True, X.EE, b""),
    (psk13._SH_FIRST_PSK, E.pre_shared_key, 0, X.SH, b"\x00\x00"),
]


@pytest.mark.parametrize("index", range(len(KEPT)))
def test_a_kept_extension_is_what_make_builds(index: int) -> None:
    kept, ext_type, value, context, data = KEPT[index]
    X._made.clear()  # built anew, not the kept object found again
    made = Extension.make(ext_type, value, context)
    assert made is not kept
    assert (kept.type, kept.data, kept.value) == (made.type, made.data, made.value) == (ext_type, data, value)
    assert type(kept.type) is E and type(kept.value) is type(value)


def test_the_server_hello_selects_the_accepted_identity() -> None:
    def accepted(index: int) -> Any:
        return SimpleNamespace(index=index)

    assert psk13.server_hello_extension(accepted(0)) is psk13._SH_FIRST_PSK
    for index in (1, 2, 255, 256):
        ext = psk13.server_hello_extension(accepted(index))
        assert (ext.type, ext.data, ext.value) == (E.pre_shared_key, index.to_bytes(2, "big"), index)
