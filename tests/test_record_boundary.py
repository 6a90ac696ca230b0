"""RFC 8446, Section 5.1: a message that can precede a key change must end its record.

A ClientHello, a Finished, a KeyUpdate or an EndOfEarlyData followed by more handshake
bytes in the same record ends the connection with unexpected_message, and with nothing
the message would have made the receiver send first: no ServerHello flight for a
ClientHello (a signature spent on a malformed hello), no NewSessionTicket for a client
Finished. OpenSSL answers both with the alert alone.
"""

from __future__ import annotations

import pytest

from glasstls import ProtocolVersion
from glasstls.enums import AlertDescription
from glasstls.wire.handshake import ClientHello, Finished
from pairs import make_pair, once

# Another message's first bytes: a Finished header (type 20, length 32), or one byte.
TRAILING = [b"\x01", b"\x14\x00\x00\x20"]


def records(data: bytes) -> list[tuple[int, bytes]]:
    """(content type, payload) of each record in ``data``."""
    out, at = [], 0
    while at < len(data):
        length = int.from_bytes(data[at + 3 : at + 5], "big")
        out.append((data[at], data[at + 5 : at + 5 + length]))
        at += 5 + length
    return out


@pytest.mark.parametrize("trailing", TRAILING)
@pytest.mark.parametrize("tls_max", [ProtocolVersion.TLSv1_3, ProtocolVersion.TLSv1_2])
def test_a_client_hello_with_more_in_its_record_gets_only_the_alert(trailing: bytes, tls_max) -> None:
    pair = make_pair(client_alter=once(ClientHello, lambda msg: msg.raw + trailing), server_kw={"tls_max": tls_max})
    pair.server.receive_bytes(pair.client.data_to_send())
    sent = records(pair.server.data_to_send())
    assert sent == [(21, bytes([2, AlertDescription.unexpected_message]))]  # a plaintext fatal alert, alone
    assert pair.server.error is not None
    assert "ClientHello does not end its record" in pair.server.error.reason
    assert pair.server.error.step == "waiting for ClientHello"


@pytest.mark.parametrize("trailing", TRAILING)
def test_a_client_finished_with_more_in_its_record_gets_no_tickets(trailing: bytes) -> None:
    pair = make_pair(client_alter=once(Finished, lambda msg: msg.raw + trailing), server_kw={"tls13_tickets": 2})
    pair.to_server()
    pair.to_client()
    pair.server.receive_bytes(pair.client.data_to_send())
    sent = records(pair.server.data_to_send())
    assert len(sent) == 1 and sent[0][0] == 23  # one protected record: the alert, no NewSessionTicket before it
    assert pair.server.error is not None and "Finished does not end its record" in pair.server.error.reason
    events = pair.client.receive_bytes(b"".join(bytes([t, 3, 3]) + len(p).to_bytes(2, "big") + p for t, p in sent))
    assert pair.client.error is not None and pair.client.error.description == AlertDescription.unexpected_message, (
        events
    )


def test_a_finished_that_ends_its_record_still_gets_its_tickets() -> None:
    pair = make_pair(server_kw={"tls13_tickets": 2})
    pair.handshake()
    assert pair.client.handshake_complete and pair.server.handshake_complete
    assert pair.client.session is not None
