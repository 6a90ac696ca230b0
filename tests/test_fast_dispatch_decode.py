"""decode_message reads a TLS 1.3 Finished without a Reader (issue 15): held to the Reader's way,
Finished.parse then finish(), on every truncation and byte change of Finished messages of the
sizes TLS 1.3's hashes give, and of each byte changed into another message type's."""

from __future__ import annotations

from typing import Any

import pytest

from byte_variants import byte_variants
from glasstls.enums import HandshakeType
from glasstls.wire import handshake as H
from glasstls.wire import handshake12
from glasstls.wire.codec import Reader


def _careful(raw: bytes, parsers: Any = None) -> Any:
    """decode_message as it was: every message through a Reader, the body consumed exactly."""
    n = len(raw)
    if n < 4 or int.from_bytes(raw[1:4], "big") != n - 4:
        raise H.DecodeError(f"handshake message header does not match its {n} bytes")
    msg_type = H.member_of(HandshakeType, raw[0])
    parse = (parsers or H._TLS13_PARSERS).get(msg_type)
    if parse is None:
        raise H.AlertError(H.AlertDescription.unexpected_message, f"unexpected handshake message type {msg_type.name}")
    r = Reader(raw, msg_type._name_, 4)
    msg = parse(r)
    r.finish()
    msg.raw = raw
    return msg


def _outcome(decode: Any) -> Any:
    try:
        msg = decode()
    except Exception as exc:  # the error itself is what is compared
        return (type(exc).__name__, getattr(exc, "description", None), str(exc))
    return (type(msg), msg, msg.raw, type(msg.raw), [type(getattr(msg, f)) for f in vars(msg)])


@pytest.mark.parametrize("size", [0, 1, 32, 48])
@pytest.mark.parametrize("table", ["tls13", "tls12"])
def test_a_finished_decodes_as_through_a_reader(size: int, table: str) -> None:
    parsers = None if table == "tls13" else handshake12.TLS12_PARSERS
    raw = H.Finished(bytes(range(7, 7 + size))).encode()
    values = (0, 1, 2, 3, 4, 20, 0x30, 0xFF)  # 20: finished; others around the lengths and types
    for variant in byte_variants(raw, values):
        for data in (variant, bytearray(variant)):
            fast = _outcome(lambda: H.decode_message(data, parsers))  # noqa: B023
            assert fast == _outcome(lambda: _careful(data, parsers))  # noqa: B023


def test_the_shortcut_is_the_tables_finished() -> None:
    assert H._PARSE_FINISHED is H._TLS13_PARSERS[HandshakeType.finished]
    msg = H.decode_message(H.Finished(b"v" * 32).encode())
    assert type(msg) is H.Finished and msg.verify_data == b"v" * 32 and type(msg.verify_data) is bytes
