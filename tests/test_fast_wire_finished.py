"""The Finished read at once (issue 15) reads as its layout walk does: its one field is the rest of
the message (RFC 8446, Section 4.4.4), whatever its length, which the state that verifies it checks."""

from __future__ import annotations

import pytest

from glasstls.wire import handshake as H
from glasstls.wire.codec import Reader


@pytest.mark.parametrize("size", [0, 1, 12, 32, 48, 64, 300])
@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_a_finished_of_any_length_reads_as_the_layout_does(size: int, kind: type) -> None:
    body = bytes((i * 7) & 0xFF for i in range(size))
    for start in (0, 4):  # alone, and after a header as decode_message reads it
        data = bytes(start) + body
        r, walked = Reader(kind(data), "finished", start), Reader(kind(data), "finished", start)
        msg = H.Finished.parse(r)
        r.finish()
        assert msg == H.Finished(*[spec.read(walked) for spec in H.Finished.layout])
        assert type(msg.verify_data) is bytes and msg.verify_data == body
    raw = H.Finished(verify_data=body).encode()
    assert H.decode_message(raw) == H.Finished(verify_data=body) and H.decode_message(raw).raw == raw
