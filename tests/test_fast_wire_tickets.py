"""The NewSessionTicket read from the buffer in one go (issue 15) reads as the layout walk does.

NewSessionTicket.parse reads ticket_lifetime, ticket_age_add, the nonce and the ticket from the
bytes when they fit and walks its layout otherwise, so that the read that fails names the field.
These tests hold it to the layout (RFC 8446, Section 4.6.1) on good tickets, on every truncation
and on every single-byte change: same values, same extensions, same errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from glasstls.enums import ExtensionType as E
from glasstls.errors import AlertError, DecodeError
from glasstls.wire import extensions as X
from glasstls.wire import handshake as H
from glasstls.wire.codec import Reader
from glasstls.wire.extensions import Extension


def _read(parse: Any, body: bytes) -> tuple[str, Any]:
    r = Reader(body, "new_session_ticket")
    try:
        msg = parse(r)
        r.finish()
    except (DecodeError, AlertError) as exc:
        return type(exc).__name__, (str(exc), exc.description)
    return "value", (msg, [(e.type, e.data, e.value) for e in msg.extensions])


def _by_layout(r: Reader) -> H.NewSessionTicket:
    return H.NewSessionTicket(*[spec.read(r) for spec in H.NewSessionTicket.layout])


def _variants(body: bytes) -> Iterator[bytes]:
    yield body
    for n in range(len(body)):
        yield body[:n]
    for i in range(len(body)):
        for b in {0, 1, 2, 8, 0x20, 0xFF, body[i] ^ 1}:
            yield body[:i] + bytes((b,)) + body[i + 1 :]


_TICKETS = [
    H.NewSessionTicket(7200, 0x01020304, bytes(8), b"\x81" * 40),
    H.NewSessionTicket(0, 0xFFFFFFFF, b"", b"t", (Extension.make(E.early_data, 16384, X.NST),)),
]


@pytest.mark.parametrize("ticket", _TICKETS)
def test_every_variant_parses_as_the_layout_does(ticket: H.NewSessionTicket) -> None:
    body = ticket.encode()[4:]
    assert _read(H.NewSessionTicket.parse, body) == _read(_by_layout, body)
    assert _read(H.NewSessionTicket.parse, body)[1][0] == ticket
    for variant in _variants(body):
        assert _read(H.NewSessionTicket.parse, variant) == _read(_by_layout, variant), variant.hex()
