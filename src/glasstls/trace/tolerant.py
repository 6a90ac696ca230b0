"""Decoding a captured handshake message where the live stack would refuse it.

A live server refuses a ClientHello whose server_name is not ASCII, or holds a
control character or a space (RFC 6066, Section 3), with an illegal_parameter
alert; the wire parsers say so and stop. A capture of that exchange is exactly
what someone wants to look at, so :func:`decode_captured` decodes such a hello
all the same: the extension is set aside while the rest of the message is
decoded by the stack's own parsers, then put back with its host name read
leniently (bytes that are not UTF-8 kept as surrogate escapes, which
:func:`glasstls.text.printable` shows as ``\\xNN``), and a note says what a
live peer would have done. Anything else that does not decode raises as
:func:`~glasstls.wire.handshake.decode_message` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..enums import ExtensionType, HandshakeType
from ..errors import AlertError
from ..wire.extensions import Extension
from ..wire.handshake import ClientHello, Handshake, decode_message

# GREASE extension types (RFC 8701): no codec reads them, so one stands in for the extension set aside.
_GREASE = tuple(0x0A0A + 0x1010 * i for i in range(16))


def decode_captured(raw: bytes, parsers: Mapping[HandshakeType, Any] | None = None) -> tuple[Handshake, str]:
    """The message in ``raw``, and a note when a rule of the live stack was set aside to decode it ("" if none)."""
    try:
        return decode_message(raw, parsers), ""
    except AlertError as exc:
        if raw[:1] != bytes([HandshakeType.client_hello]) or not exc.reason.startswith("server_name"):
            raise
        offsets = _extension_offsets(raw)
        found = offsets.get(ExtensionType.server_name)
        stand_in = next((t for t in _GREASE if t not in offsets), None)
        if found is None or stand_in is None:
            raise
        msg = decode_message(raw[:found] + stand_in.to_bytes(2, "big") + raw[found + 2 :], parsers)
        assert isinstance(msg, ClientHello)
        exts = tuple(
            Extension(ExtensionType.server_name, e.data, _host_name(e.data)) if e.type == stand_in else e
            for e in msg.extensions
        )
        hello = msg.with_extensions(exts)
        hello.raw = raw
        refusal = f"a live server refuses it ({exc.description.name})"
        note = f"the ClientHello's {exc.reason}: {refusal}; decoded here all the same"
        return hello, note


def _extension_offsets(raw: bytes) -> dict[int, int]:
    """Where each extension of a ClientHello starts (its type's offset in ``raw``), by type."""
    pos = 4 + 2 + 32  # header, legacy_version, random
    pos += 1 + raw[pos]  # legacy_session_id
    pos += 2 + int.from_bytes(raw[pos : pos + 2], "big")  # cipher_suites
    pos += 1 + raw[pos]  # legacy_compression_methods
    end = min(len(raw), pos + 2 + int.from_bytes(raw[pos : pos + 2], "big"))
    pos += 2
    found: dict[int, int] = {}
    while pos + 4 <= end:
        found.setdefault(int.from_bytes(raw[pos : pos + 2], "big"), pos)
        pos += 4 + int.from_bytes(raw[pos + 2 : pos + 4], "big")
    return found


def _host_name(data: bytes) -> str | None:
    """The first host_name of a server_name body, its bytes not UTF-8 as surrogate escapes; None if malformed."""
    pos, end = 2, min(len(data), 2 + int.from_bytes(data[:2], "big"))
    while pos + 3 <= end:
        size = int.from_bytes(data[pos + 1 : pos + 3], "big")
        if data[pos] == 0 and pos + 3 + size <= end:
            return data[pos + 3 : pos + 3 + size].decode("utf-8", "surrogateescape")
        pos += 3 + size
    return None
