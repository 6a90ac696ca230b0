"""Where TLS begins in a captured direction's bytes (glasstls dissect): a record header that can open
a direction at its start, or, after bytes that are not TLS (a STARTTLS exchange, a capture begun
mid-stream), two plausible headers in a row, looked for as the bytes arrive and each walked once."""

from __future__ import annotations

import heapq

from ..enums import ContentType

MAX_RECORD = (1 << 14) + 2048  # RFC 5246, Section 6.2.3: the largest TLSCiphertext
MAX_ALERT_RECORD = 2 + 16 + 48 + 256  # an encrypted alert: its 2 bytes, an IV or nonce, a MAC, CBC padding


def plausible_header(buf: bytes | bytearray, pos: int) -> bool:
    """A TLS record header at ``pos``: a known content type, version 3.x, a legal length."""
    if len(buf) - pos < 5:
        return False
    ctype, major, minor, length = buf[pos], buf[pos + 1], buf[pos + 2], (buf[pos + 3] << 8) | buf[pos + 4]
    return 20 <= ctype <= 24 and major == 3 and minor <= 4 and 0 < length <= MAX_RECORD


def opens_tls(buf: bytes | bytearray, peer_tls: bool) -> bool:
    """Whether the record header at the very start of a direction is where its TLS begins.

    A handshake record (``16 03 0x``: a ClientHello or a ServerHello) always is. So is an alert
    record (``15 03 0x``, 2 bytes, or an encrypted alert's few more): a server that answers a
    ClientHello with a refusal, or a client that sends nothing but an alert, opens its direction
    with one. Once the other direction is TLS, any plausible record header is.
    """
    if len(buf) < 3 or buf[1] != 3 or buf[2] > 4:
        return False
    if buf[0] == ContentType.handshake:
        return True
    if len(buf) >= 5 and buf[0] == ContentType.alert and 2 <= ((buf[3] << 8) | buf[4]) <= MAX_ALERT_RECORD:
        return True
    return peer_tls and plausible_header(buf, 0)


def find_tls(buf: bytes | bytearray, *, peer_tls: bool = False) -> int | None:
    """Where TLS starts in a direction's bytes, or None (:class:`TLSSearch`, all at once)."""
    return TLSSearch().find(buf, peer_tls=peer_tls)


class TLSSearch:
    """Where TLS starts in a direction's bytes, looked for as they arrive, each byte walked once.

    At offset 0 one record header that can open a direction is enough (:func:`opens_tls`: a
    handshake or an alert record; any record once ``peer_tls``, the other direction, is TLS);
    elsewhere (a capture begun mid-stream, a STARTTLS preamble) two plausible headers in a row
    are required. A header whose record ends past the bytes there are waits, in a heap by where
    its record ends, until the next header can be read (each walk started again from the first
    such header was quadratic in the bytes before TLS).
    """

    def __init__(self) -> None:
        self.walked = 1  # the next index whose byte may be a version's major byte (one past a type)
        self.waiting: list[tuple[int, int]] = []  # (where the record ends, where its header is)

    def find(self, buf: bytes | bytearray, *, peer_tls: bool = False) -> int | None:
        if opens_tls(buf, peer_tls):
            return 0
        found: int | None = None
        undecided: list[tuple[int, int]] = []
        while self.waiting and self.waiting[0][0] <= len(buf):  # (records that end in what is there now)
            end, pos = heapq.heappop(self.waiting)
            if end == len(buf) or plausible_header(buf, end):
                found = pos if found is None else min(found, pos)
            elif end + 5 > len(buf):
                undecided.append((end, pos))  # the next header is not all there yet
        for entry in undecided:
            heapq.heappush(self.waiting, entry)
        i = buf.find(3, self.walked) if len(buf) > 2 else -1
        while i != -1 and found is None:
            pos = i - 1
            if len(buf) - pos < 5:
                break  # (this header is read once its bytes are there)
            if plausible_header(buf, pos):
                end = pos + 5 + ((buf[pos + 3] << 8) | buf[pos + 4])
                if end == len(buf) or plausible_header(buf, end):
                    found = pos
                elif end + 5 > len(buf):
                    heapq.heappush(self.waiting, (end, pos))  # cannot tell until the next header arrives
            i = buf.find(3, i + 1)
        self.walked = max(self.walked, i if i != -1 else len(buf))
        return found
