"""The frames of a pcap or pcapng file, each with its captured and original lengths, read within bounds.

A capture file says, for each packet, how many bytes it holds of it (the captured
length) and how long the packet was (the original length): less is held when the
capture's snap length cut it. A file can also end inside a packet (a capture
stopped by force, a download cut short) or be damaged. :func:`read_frames` yields
each frame with both lengths, so what was cut can be said, and puts what is wrong
with the file itself in ``notes`` where it happens ("the capture is cut short:
the file ends inside frame 7 (…)"). It never reads more than a packet can be
(:data:`MAX_FRAME`, libpcap's largest snap length) or a block can be
(:data:`MAX_BLOCK`): a length past those is damage, said, and the rest of the
file is not read.

Formats: pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html),
microsecond and nanosecond, either byte order; pcapng
(https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): sections,
interfaces (each its link type and timestamp resolution), enhanced, simple
and obsolete packet blocks.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MAX_FRAME = 262144  # libpcap's MAXIMUM_SNAPLEN: no capture holds more of one packet
MAX_BLOCK = 1 << 24  # a pcapng block (a packet's, or name resolution, secrets, comments)

_PCAP_MAGICS = {  # the magic as it is in the file: the byte order, the timestamp's fraction per second
    b"\xd4\xc3\xb2\xa1": ("<", 1e6),
    b"\xa1\xb2\xc3\xd4": (">", 1e6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e9),
    b"\xa1\xb2\x3c\x4d": (">", 1e9),
}
_SHB, _IDB, _PB, _SPB, _EPB = 0x0A0D0D0A, 1, 2, 3, 6  # pcapng block types
_PACKET_BLOCKS = (_PB, _SPB, _EPB)
_SHB_BYTES = b"\x0a\x0d\x0d\x0a"  # the same in either byte order


@dataclass(frozen=True)
class Frame:
    number: int  # 1-based, in file order
    ts: float
    linktype: int
    data: bytes  # what the file holds of the packet
    length: int  # the packet's length when captured: more than len(data) when the snap length cut it


def read_frames(fh: BinaryIO, notes: list[str]) -> Iterator[Frame]:
    """The frames of a pcap or pcapng file; raises ValueError only when it is neither."""
    magic = fh.read(4)
    if not magic:
        raise ValueError("not a pcap or pcapng capture (the file is empty)")
    if magic == _SHB_BYTES:
        return _pcapng(fh, magic, notes)
    if magic in _PCAP_MAGICS:
        return _pcap(fh, magic, notes)
    raise ValueError(f"not a pcap or pcapng capture (it begins {magic.hex(' ')})")


def _cut_short(notes: list[str], number: int, what: str) -> None:
    notes.append(f"the capture is cut short: the file ends inside frame {number} ({what})")


def _too_long(notes: list[str], number: int, what: str, size: int, limit: int) -> None:
    notes.append(
        f"frame {number} claims a {what} of {size} bytes, more than any capture holds ({limit}): "
        "the file is damaged there, and the rest of it is not read"
    )


# -- pcap ------------------------------------------------------------------------------------------


def _pcap(fh: BinaryIO, magic: bytes, notes: list[str]) -> Iterator[Frame]:
    order, per_second = _PCAP_MAGICS[magic]
    head = magic + fh.read(20)
    if len(head) < 24:
        raise ValueError(f"not a pcap or pcapng capture (a pcap file header is 24 bytes, the file {len(head)})")
    linktype = struct.unpack(order + "I", head[20:24])[0] & 0xFFFF  # the upper bits may say FCS lengths
    number = 0
    while record := fh.read(16):
        number += 1
        if len(record) < 16:
            _cut_short(notes, number, f"{len(record)} bytes of its 16-byte record header are there")
            return
        sec, frac, caplen, length = struct.unpack(order + "IIII", record)
        if caplen > MAX_FRAME:
            _too_long(notes, number, "captured length", caplen, MAX_FRAME)
            return
        data = fh.read(caplen)
        if len(data) < caplen:
            _cut_short(notes, number, f"{len(data)} of its {caplen} captured bytes are there")
            return
        yield Frame(number, sec + frac / per_second, linktype, data, max(length, caplen))


# -- pcapng ------------------------------------------------------------------------------------------


@dataclass
class _Interface:
    linktype: int  # (_DAMAGED_LINK for a block that could not be read: its packets are skipped)
    per_second: float = 1e6
    offset: int = 0  # seconds added to every timestamp (if_tsoffset)


_DAMAGED_LINK = -1  # no link type: frames on it are reported as of an unsupported one, and skipped


def _pcapng(fh: BinaryIO, magic: bytes, notes: list[str]) -> Iterator[Frame]:
    order, number = "<", 0
    interfaces: list[_Interface] = []
    kind = magic  # the first block's type, read already
    while kind := kind or fh.read(4):
        head = _block_head(fh, kind, order)
        kind = b""
        if isinstance(head, str):  # what is wrong with the block's head
            if number == 0 and not interfaces:
                raise ValueError(f"not a pcap or pcapng capture ({head})")
            if head.startswith("the file ends"):
                notes.append(f"the capture is cut short after frame {number}: {head}")
            else:
                notes.append(f"the block after frame {number} is damaged ({head}): the rest of the file is not read")
            return
        btype, order, got = head
        size = struct.unpack(order + "I", got[4:8])[0]
        body = got[8:] + fh.read(size - len(got))
        if len(body) < size - 8:
            if btype in _PACKET_BLOCKS:
                _cut_short(notes, number + 1, f"{8 + len(body)} of its block's {size} bytes are there")
            else:
                notes.append(f"the capture is cut short after frame {number}: the file ends inside a block")
            return
        if btype == _SHB:
            interfaces = []
        elif btype == _IDB:
            iface = _interface(body[:-4], order)
            if iface is None:  # (kept in its place: the packets that name it are skipped, as damaged)
                notes.append(f"interface {len(interfaces)} is damaged (its block is too short for what it says)")
                iface = _Interface(_DAMAGED_LINK)
            interfaces.append(iface)
        elif btype in _PACKET_BLOCKS:
            number += 1
            frame = _packet(btype, body[:-4], order, interfaces, number)
            if frame is None:
                notes.append(f"frame {number} is damaged (its block does not hold what it says): it is skipped")
                continue
            yield frame


def _block_head(fh: BinaryIO, kind: bytes, order: str) -> tuple[int, str, bytes] | str:
    """A block's type, the byte order it is in (a section header says it anew) and the bytes read of it;
    or what is wrong with it."""
    if len(kind) < 4:
        return "the file ends inside a block's type"
    if kind == _SHB_BYTES:  # a section header: the byte-order magic after its length says how to read both
        rest = fh.read(8)
        order = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}.get(rest[4:8], "")
        if not order:
            return "a section header without its byte-order magic"
    else:
        rest = fh.read(4)
    if len(rest) < (8 if kind == _SHB_BYTES else 4):
        return "the file ends inside a block's length"
    size = struct.unpack(order + "I", rest[:4])[0]
    if size < 12 or size % 4 or size > MAX_BLOCK:
        return f"a block length of {size} bytes"
    return struct.unpack(order + "I", kind)[0], order, kind + rest


def _interface(body: bytes, order: str) -> _Interface | None:
    """An interface description: its link type, and the options for its timestamps (None: a block too
    short for its fixed part or for an option it says it holds)."""
    if len(body) < 8:
        return None
    linktype = struct.unpack(order + "H", body[:2])[0]
    iface = _Interface(linktype)
    pos = 8
    while pos + 4 <= len(body):
        code, size = struct.unpack(order + "HH", body[pos : pos + 4])
        value = body[pos + 4 : pos + 4 + size]
        if code == 0:
            break
        if len(value) < size:
            return None
        if code == 9 and size == 1:  # if_tsresol: a negative power of 10, or of 2 with the high bit set
            iface.per_second = float(2 ** (value[0] & 0x7F) if value[0] & 0x80 else 10 ** (value[0] & 0x7F))
        elif code == 14 and size == 8:  # if_tsoffset
            iface.offset = struct.unpack(order + "q", value)[0]
        pos += 4 + (size + 3) // 4 * 4
    return iface


def _packet(btype: int, body: bytes, order: str, interfaces: list[_Interface], number: int) -> Frame | None:
    """The frame of an enhanced, simple or obsolete packet block (None if the block contradicts itself)."""
    if btype == _SPB:  # no timestamp, interface 0, the captured bytes fill the block
        if len(body) < 4 or not interfaces:
            return None
        length = struct.unpack(order + "I", body[:4])[0]
        data = body[4 : 4 + min(length, len(body) - 4)]
        return Frame(number, 0.0, interfaces[0].linktype, data, max(length, len(data)))
    if btype == _EPB:
        if len(body) < 20:
            return None
        index, high, low, caplen, length = struct.unpack(order + "IIIII", body[:20])
        start = 20
    else:  # _PB: a 16-bit interface and a drop count where the EPB has its 32-bit interface
        if len(body) < 20:
            return None
        index, _drops, high, low, caplen, length = struct.unpack(order + "HHIIII", body[:20])
        start = 20
    if index >= len(interfaces) or start + caplen > len(body) or caplen > MAX_FRAME:
        return None
    iface = interfaces[index]
    ts = iface.offset + ((high << 32) | low) / iface.per_second
    return Frame(number, ts, iface.linktype, body[start : start + caplen], max(length, caplen))
