"""The handshake buffer and the message header read (issue 15) split and check as before.

HandshakeBuffer.pop hands the buffer's last message on as it is (the buffer itself, when a record
held one message) and reads the header's uint24 length as part of one uint32; decode_message
checks the header that way too. These tests feed a flight in every two-piece split and as bytes
and bytearrays, and check every truncation and length change of a message's header.
"""

from __future__ import annotations

import pytest

from glasstls.errors import AlertError, DecodeError
from glasstls.wire import handshake as H

_FLIGHT = [
    H.Finished(verify_data=bytes(range(32))).encode(),
    H.EncryptedExtensions(()).encode(),
    H.Finished(verify_data=b"\x01" * 48).encode(),
]


def _popped(buf: H.HandshakeBuffer) -> list[bytes]:
    out = []
    while (raw := buf.pop()) is not None:
        assert type(raw) is bytes
        out.append(raw)
    return out


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_every_split_of_a_flight_gives_its_messages(kind: type) -> None:
    stream = b"".join(_FLIGHT)
    for cut in range(len(stream) + 1):
        buf = H.HandshakeBuffer()
        got = []
        for piece in (stream[:cut], stream[cut:]):
            buf.feed(kind(piece))
            got += _popped(buf)
        assert got == _FLIGHT, cut
        assert buf.empty()


def test_a_message_alone_in_its_record_is_handed_on_without_a_copy() -> None:
    raw = bytes(_FLIGHT[0])
    buf = H.HandshakeBuffer()
    buf.feed(raw)
    assert buf.pop() is raw and buf.pop() is None and buf.empty()


def test_the_size_limit_holds_in_every_place_of_the_buffer() -> None:
    big = b"\x14" + (101).to_bytes(3, "big")
    for before in (b"", _FLIGHT[0]):
        buf = H.HandshakeBuffer(max_message=100)
        buf.feed(before + big + bytes(101))
        if before:
            assert buf.pop() == before
        with pytest.raises(DecodeError, match="handshake message of 101 bytes exceeds the 100-byte limit"):
            buf.pop()


def test_every_header_change_is_refused_as_before() -> None:
    raw = _FLIGHT[0]
    for n in range(4):
        with pytest.raises(DecodeError, match=f"header does not match its {n} bytes"):
            H.decode_message(raw[:n])
    for i in (1, 2, 3):
        for b in (0, 1, 0x20, 0x24, 0xFF):
            bad = raw[:i] + bytes((b,)) + raw[i + 1 :]
            if bad == raw:
                continue
            with pytest.raises(DecodeError, match=f"header does not match its {len(raw)} bytes"):
                H.decode_message(bad)
    with pytest.raises(AlertError, match="unexpected handshake message type"):
        H.decode_message(b"\xfe" + raw[1:])
    assert H.decode_message(bytearray(raw)) == H.decode_message(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("msg_type", "longest"),
    [
        (H.HandshakeType.finished, 64),
        (H.HandshakeType.key_update, 1),
        (H.HandshakeType.end_of_early_data, 0),
        (H.HandshakeType.hello_request, 0),
        (H.HandshakeType.server_hello_done, 0),
        (H.HandshakeType.client_key_exchange, 4096),
        (H.HandshakeType.certificate_verify, 1 << 14),
        (H.HandshakeType.client_hello, 131_396),
        (H.HandshakeType.server_hello, 65_607),
        (H.HandshakeType.encrypted_extensions, 65_537),
    ],
)
def test_a_small_message_claiming_more_than_it_can_be_is_refused_at_its_header(msg_type: int, longest: int) -> None:
    """Refused with its header alone, not buffered until the claimed bytes (or the deadline) come,
    and named as the type it claims to be: the connection then judges whether its state reads it."""
    buf = H.HandshakeBuffer()
    buf.feed(bytes((msg_type,)) + (longest + 1).to_bytes(3, "big"))
    with pytest.raises(H.MessageTooLarge, match=f"claims {longest + 1} bytes") as raised:
        buf.pop()
    assert raised.value.msg_type == msg_type and raised.value.description.name == "decode_error"
    buf = H.HandshakeBuffer()
    buf.feed(bytes((msg_type,)) + longest.to_bytes(3, "big"))  # as long as it can be: waited for
    if longest:
        assert buf.pop() is None
        buf.feed(bytes(longest))
    assert len(buf.pop() or b"") == 4 + longest
