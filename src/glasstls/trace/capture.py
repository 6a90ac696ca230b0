"""Packet captures at the TCP level: reading pcap / pcapng files into ordered byte streams, and writing them.

The first two stages of :func:`glasstls.trace.pcap.dissect`, each a plain
function of the one before, and the way back for tests and demos:

1. **Frames to TCP segments** (:func:`read_segments`): pcap and pcapng read
   within bounds (:mod:`glasstls.trace.capfile`: a file cut short or a snap
   length that cut packets is said); link types Ethernet (VLAN tags included),
   Linux cooked capture v1 and v2, raw IP and BSD loopback / NULL (each
   pcapng interface its own); IPv4 and IPv6, through dpkt.
2. **Segments to byte streams** (:func:`reassemble`): one connection per
   4-tuple (a new SYN on the same 4-tuple starts a new one), one byte stream
   per direction, put in order by sequence number: retransmitted and
   overlapping segments are trimmed, out-of-order ones wait for the gap before
   them to fill. Data is delivered, across both directions, in the order it
   became readable, which is the order a live endpoint would have seen it.
3. **Writing** (:func:`tcp_packets`, :func:`write_capture`): the IPv4 packets
   of a TCP connection that carried given bytes, framed in a link type and
   written as pcap or pcapng.

Nothing here knows about TLS; :mod:`glasstls.trace.pcap` follows the TLS in
the byte streams and re-exports these names.
"""

from __future__ import annotations

import heapq
import io
import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import dpkt  # type: ignore[import-untyped]  # dpkt ships no type hints: its packets are Any here

from .capfile import Frame, read_frames

Endpoint = tuple[str, int]  # (address, port)

_MASK = 0xFFFFFFFF
_FAR = 1 << 30  # a segment this far ahead of the stream is garbage, not a gap
_RECENT = 1 << 16  # bytes of each direction kept to compare a retransmission with (more than a TCP window)


# -- stage 1: frames to TCP segments ---------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One TCP segment as captured."""

    number: int  # 1-based frame number in the capture
    ts: float
    src: Endpoint
    dst: Endpoint
    seq: int
    flags: int
    payload: bytes
    truncated: bool  # the capture holds less than the segment's IP length says (snap length, or damage)

    @property
    def syn(self) -> bool:
        return bool(self.flags & dpkt.tcp.TH_SYN)

    @property
    def ack(self) -> bool:
        return bool(self.flags & dpkt.tcp.TH_ACK)

    @property
    def fin_or_rst(self) -> bool:
        return bool(self.flags & (dpkt.tcp.TH_FIN | dpkt.tcp.TH_RST))


# Link types (https://www.tcpdump.org/linktypes.html): Ethernet (1), Linux cooked v1 and v2 (113, 276),
# and those whose payload is an IP packet after a fixed header: raw IP, IPv4, IPv6 (0 bytes); NULL, LOOP (4).
_RAW_LINKS = {101: 0, 12: 0, 14: 0, 228: 0, 229: 0, 0: 4, 108: 4}
_LINKS = frozenset((1, 113, 276, *_RAW_LINKS))


def _open(source: str | os.PathLike[str] | bytes | BinaryIO) -> BinaryIO:
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        return open(source, "rb")
    return source


def _ip_layer(linktype: int, frame: bytes) -> Any:
    """The IPv4 or IPv6 packet inside ``frame``, or None."""
    if linktype == 1:
        eth = dpkt.ethernet.Ethernet(frame)  # handles 802.1Q / QinQ tags
        return eth.data
    if linktype == 113:
        return dpkt.sll.SLL(frame).data
    if linktype == 276:
        return dpkt.sll2.SLL2(frame).data
    offset = _RAW_LINKS.get(linktype)
    if offset is None or len(frame) <= offset:
        return None
    version = frame[offset] >> 4
    if version == 4:
        return dpkt.ip.IP(frame[offset:])
    if version == 6:
        return dpkt.ip6.IP6(frame[offset:])
    return None


def _fragment(ip: Any) -> bool:
    """Whether ``ip`` is an IP fragment (v4 flags and offset; v6 a Fragment header, RFC 8200, 4.5)."""
    if isinstance(ip, dpkt.ip.IP):
        return bool(ip.offset or ip.mf)
    return dpkt.ip.IP_PROTO_FRAGMENT in getattr(ip, "extension_hdrs", {}) or ip.nxt == dpkt.ip.IP_PROTO_FRAGMENT


def _segment(number: int, ts: float, ip: Any) -> Segment | None:
    tcp = ip.data
    if not isinstance(tcp, dpkt.tcp.TCP):
        return None
    if isinstance(ip, dpkt.ip.IP):
        family = socket.AF_INET
        # ip.len is 0 when the capture saw the packet before segmentation offload split it.
        expected = ip.len - ip.hl * 4 - tcp.off * 4 if ip.len else len(tcp.data)
    else:
        family = socket.AF_INET6
        expected = ip.plen - tcp.off * 4 if ip.nxt == dpkt.ip.IP_PROTO_TCP and ip.plen else len(tcp.data)
    src = (socket.inet_ntop(family, ip.src), tcp.sport)
    dst = (socket.inet_ntop(family, ip.dst), tcp.dport)
    payload = bytes(tcp.data)
    return Segment(number, ts, src, dst, tcp.seq, tcp.flags, payload, len(payload) < expected)


def read_segments(
    source: str | os.PathLike[str] | bytes | BinaryIO, notes: list[str] | None = None
) -> Iterator[Segment]:
    """The TCP segments of a pcap or pcapng capture, in capture order.

    Frames that are not TCP over IP are skipped silently; problems with the
    file itself go to ``notes`` (:func:`~glasstls.trace.capfile.read_frames`),
    and so does a snap length that cut packets short. Raises ValueError only
    for a file that is neither pcap nor pcapng.
    """
    notes = notes if notes is not None else []
    fh = _open(source)
    snapped, overstated, unsupported, fragments = _Snapped(), _Overstated(), set(), 0
    try:
        for frame in read_frames(fh, notes):
            if frame.linktype not in _LINKS:
                if frame.linktype not in unsupported:
                    unsupported.add(frame.linktype)
                    notes.append(
                        "the frames of a damaged interface are skipped"
                        if frame.linktype < 0  # (capfile: an interface block that could not be read)
                        else f"link type {frame.linktype} is not supported (Ethernet, Linux cooked, raw IP and "
                        "loopback are)"
                    )
                continue
            snapped.count(frame)
            whole = len(frame.data) >= frame.length
            try:
                ip = _ip_layer(frame.linktype, frame.data)
                if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6):
                    continue
                if _fragment(ip):
                    fragments += 1
                    continue
                seg = _segment(frame.number, frame.ts, ip)
            except Exception:  # a malformed frame: dpkt's UnpackError, struct.error, ... skip it
                continue
            if seg is not None:
                if seg.truncated and whole:  # no snap length cut it: its IP length is wrong
                    overstated.count(frame.number)
                yield seg
    finally:
        if fh is not source:
            fh.close()
    notes.extend(snapped.notes())
    notes.extend(overstated.notes())
    if fragments:
        notes.append(f"{fragments} IP fragments were skipped: TCP over fragmented IP is not reassembled")


class _Snapped:
    """Frames the capture's snap length cut short: counted, and said once for the file."""

    def __init__(self) -> None:
        self.frames = 0
        self.held = 0  # the most the file holds of one of them
        self.first = 0

    def count(self, frame: Frame) -> None:
        if len(frame.data) < frame.length:
            self.frames += 1
            self.held = max(self.held, len(frame.data))
            self.first = self.first or frame.number

    def notes(self) -> list[str]:
        if not self.frames:
            return []
        return [
            f"{self.frames} frames (the first: frame {self.first}) were captured only up to {self.held} bytes"
            " (the capture's snap length): the data past that is not in the file, so the records it carried"
            " cannot be reassembled"
        ]


class _Overstated:
    """Frames captured whole whose IP header says they carry more than they do: counted, said once."""

    def __init__(self) -> None:
        self.frames = 0
        self.first = 0

    def count(self, number: int) -> None:
        self.frames += 1
        self.first = self.first or number

    def notes(self) -> list[str]:
        if not self.frames:
            return []
        return [
            f"{self.frames} frames (the first: frame {self.first}) were captured whole but hold less than their IP"
            " header's length says (a damaged frame or length field): the rest of their TCP data is not there"
        ]


# -- stage 2: segments to byte streams ---------------------------------------------------------


def _signed(delta: int) -> int:
    """A 32-bit sequence-number difference as a signed number (RFC 9293, Section 3.4: modular arithmetic)."""
    return ((delta + (1 << 31)) & _MASK) - (1 << 31)


class _HalfStream:
    """One direction of a TCP connection, put back in order by sequence number."""

    def __init__(self) -> None:
        self.isn: int | None = None
        self.next_seq: int | None = None
        # Out-of-order data waiting for a gap to fill, by stream offset (bytes before it), and those offsets
        # in a heap: each segment drains in O(log n), not a sort of all that waits (quadratic behind a gap).
        self.pending: dict[int, bytes] = {}
        self._starts: list[int] = []
        self.delivered = 0
        self.retransmitted = 0
        self.truncated = 0
        self.recent = bytearray()  # the last bytes delivered (_RECENT to twice that), ending at next_seq
        self.conflicts = 0  # retransmissions whose bytes differ from the first copy's
        self.conflict_at = 0  # the stream offset of the first

    def add(self, seg: Segment) -> bytes:
        """The bytes that became contiguous with this segment (often none)."""
        seq = seg.seq
        if seg.syn:
            self.isn = seg.seq
            seq = (seg.seq + 1) & _MASK  # the SYN takes one sequence number; data (TFO) follows it
            if self.next_seq is None or self.delivered == 0:
                self.next_seq = seq
        if not seg.payload:
            return b""
        if self.next_seq is None:
            self.next_seq = seq  # the capture began after the handshake: start where we came in
        if seg.truncated:
            self.truncated += 1  # only part of it was captured; the hole it leaves is reported later
            return b""
        offset = _signed(seq - self.next_seq)
        payload = seg.payload
        if offset < 0:  # a retransmission of bytes already delivered: compared with them, then dropped
            self.retransmitted += 1
            self._compare(offset, payload[:-offset])
            if offset + len(payload) <= 0:
                return b""
            payload, seq, offset = payload[-offset:], self.next_seq, 0
        if offset > _FAR:
            return b""
        at = self.delivered + offset
        held = self.pending.get(at)
        if held is not None and payload[: len(held)] != held[: len(payload)]:
            self._conflict(offset)
        if held is None:
            heapq.heappush(self._starts, at)
        if held is None or len(held) < len(payload):
            self.pending[at] = payload if held is None else held + payload[len(held) :]  # the first copy wins
        return self._drain() if offset == 0 else b""

    def _drain(self) -> bytes:
        assert self.next_seq is not None
        out = bytearray()
        starts, pending = self._starts, self.pending
        while starts and starts[0] <= self.delivered:  # (what starts after a gap waits)
            at = heapq.heappop(starts)
            data = pending.pop(at)
            offset = at - self.delivered
            if offset < 0:
                self._compare(offset, data[:-offset])
            part = data[-offset:] if offset else data
            if part:
                out += part
                self.next_seq = (self.next_seq + len(part)) & _MASK
                self.delivered += len(part)
                self.recent += part
        if len(self.recent) > 2 * _RECENT:
            del self.recent[:-_RECENT]
        return bytes(out)

    def _compare(self, offset: int, data: bytes) -> None:
        """``data`` came again at ``offset`` (< 0) from the next byte expected: is it what was delivered there?"""
        start = len(self.recent) + offset
        if start < 0:  # partly older than what is kept: the rest is compared
            data, start = data[-start:], 0
        if self.recent[start : start + len(data)] != data:
            self._conflict(offset)

    def _conflict(self, offset: int) -> None:
        self.conflicts += 1
        if self.conflicts == 1:
            self.conflict_at = self.delivered + offset

    def missing(self) -> tuple[int, int] | None:
        """(stream offset of the first hole, bytes captured after it) if data never arrived."""
        if not self.pending:
            return None
        return self.delivered, sum(len(d) for d in self.pending.values())


@dataclass
class TCPConnection:
    """One TCP connection: its data in the order it became readable, from either side."""

    number: int  # 1-based, in order of first appearance
    first: Endpoint  # the sender of the first segment seen
    second: Endpoint
    client: Endpoint | None = None  # known when the SYN was captured
    chunks: list[tuple[int, Endpoint, bytes]] = field(default_factory=list)  # (frame number, sender, bytes)
    halves: dict[Endpoint, _HalfStream] = field(default_factory=dict)
    closed: bool = False

    def other(self, end: Endpoint) -> Endpoint:
        return self.second if end == self.first else self.first

    def stream(self, sender: Endpoint, limit: int | None = None) -> bytes:
        """What ``sender`` sent, in order (its first ``limit`` bytes or a little more, if given)."""
        if limit is None:
            return b"".join(data for _, who, data in self.chunks if who == sender)
        out = bytearray()
        for _, who, data in self.chunks:
            if who == sender:
                out += data
                if len(out) >= limit:
                    break
        return bytes(out)

    def notes(self) -> list[str]:
        out = []
        for end, half in self.halves.items():
            name = f"{end[0]}:{end[1]}"
            missing = half.missing()
            if missing:
                out.append(
                    f"{name}: {missing[1]} bytes after stream offset {missing[0]} follow data the capture does not"
                    " hold; they are not analysed"
                )
            if half.truncated:
                out.append(f"{name}: {half.truncated} segments hold less than their IP length says (cut short)")
            if half.conflicts:
                out.append(
                    f"{name}: {half.conflicts} retransmitted segments carry other bytes than the first copy of the"
                    f" same range (the first at stream offset {half.conflict_at}); the first copy is analysed"
                )
        return out


def reassemble(segments: Iterable[Segment]) -> list[TCPConnection]:
    """Group segments into connections and each direction into an ordered byte stream."""
    current: dict[frozenset[Endpoint], TCPConnection] = {}
    connections: list[TCPConnection] = []
    for seg in segments:
        key = frozenset((seg.src, seg.dst))
        conn = current.get(key)
        if conn is not None and seg.syn and not seg.ack:
            half = conn.halves.get(seg.src)
            if half is not None and half.isn is not None and half.isn != seg.seq:
                conn = None  # the 4-tuple is reused by a new connection
        if conn is None:
            conn = TCPConnection(len(connections) + 1, seg.src, seg.dst)
            current[key] = conn
            connections.append(conn)
        if seg.syn and (conn.client is None or (not seg.ack and not conn.chunks)):
            # Who opened it: a SYN's sender, or a SYN-ACK's receiver; once known, a later SYN-ACK (a
            # stray or forged one, from either end) does not turn the connection round.
            conn.client = seg.dst if seg.ack else seg.src
        data = conn.halves.setdefault(seg.src, _HalfStream()).add(seg)
        if data:
            conn.chunks.append((seg.number, seg.src, data))
        if seg.fin_or_rst:
            conn.closed = True
    return connections


# -- writing: a capture of the bytes two endpoints exchanged -------------------------------------

LINK_TYPES = {"ethernet": 1, "raw": 101, "null": 0, "sll": 113, "sll2": 276}


def tcp_packets(
    exchanges: Iterable[tuple[str, bytes]],
    client: Endpoint = ("127.0.0.1", 49152),
    server: Endpoint = ("127.0.0.1", 443),
    *,
    mss: int = 1460,
    isn: tuple[int, int] = (0x1000, 0x8000),
) -> list[bytes]:
    """The IPv4 packets of one TCP connection that carried ``exchanges``.

    ``exchanges`` are ("client" | "server", bytes) in the order they were
    sent. The packets are the three-way handshake, the data in segments of at
    most ``mss`` bytes with the right sequence and acknowledgment numbers, and
    a FIN each way: what a capture of that connection would hold.
    """
    ends = {"client": client, "server": server}
    seq = {"client": isn[0], "server": isn[1]}
    out: list[bytes] = []

    def packet(sender: str, flags: int, data: bytes = b"") -> None:
        receiver = "server" if sender == "client" else "client"
        src, dst = ends[sender], ends[receiver]
        tcp = dpkt.tcp.TCP(
            sport=src[1], dport=dst[1], seq=seq[sender] & _MASK, ack=seq[receiver] & _MASK, flags=flags, win=65535
        )
        if not flags & dpkt.tcp.TH_ACK:
            tcp.ack = 0
        tcp.data = data
        ip = dpkt.ip.IP(
            src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]), p=dpkt.ip.IP_PROTO_TCP, ttl=64, data=tcp
        )
        ip.len = len(ip)  # the checksums are filled in when the packet is serialised
        out.append(bytes(ip))
        seq[sender] += len(data) + (1 if flags & (dpkt.tcp.TH_SYN | dpkt.tcp.TH_FIN) else 0)

    packet("client", dpkt.tcp.TH_SYN)
    packet("server", dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK)
    packet("client", dpkt.tcp.TH_ACK)
    for sender, data in exchanges:
        for start in range(0, len(data), mss):
            packet(sender, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, bytes(data[start : start + mss]))
    packet("client", dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK)
    packet("server", dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK)
    packet("client", dpkt.tcp.TH_ACK)
    return out


def _link_frame(link: str, ip: bytes) -> bytes:
    if link == "ethernet":
        eth = dpkt.ethernet.Ethernet(src=b"\x02\x00\x00\x00\x00\x01", dst=b"\x02\x00\x00\x00\x00\x02", data=ip)
        eth.type = dpkt.ethernet.ETH_TYPE_IP
        return bytes(eth)
    if link == "raw":
        return ip
    if link == "null":
        return (socket.AF_INET).to_bytes(4, "little") + ip  # host byte order, here little-endian
    if link == "sll":  # RFC-less but documented: packet type, ARPHRD, address length, address(8), protocol
        return b"\x00\x00\x00\x01\x00\x06" + bytes(8) + b"\x08\x00" + ip
    if link == "sll2":  # protocol, reserved, interface index, ARPHRD, packet type, address length, address(8)
        return b"\x08\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\x06" + bytes(8) + ip
    raise ValueError(f"unknown link type {link!r}: one of {', '.join(LINK_TYPES)}")


def write_capture(
    dest: str | os.PathLike[str] | BinaryIO,
    packets: Iterable[bytes],
    *,
    link: str = "ethernet",
    pcapng: bool = False,
    start: float = 1_700_000_000.0,
    step: float = 0.001,
) -> None:
    """Write IP packets (from :func:`tcp_packets`) as a pcap or pcapng file with link type ``link``."""
    linktype = LINK_TYPES.get(link)
    if linktype is None:
        raise ValueError(f"unknown link type {link!r}: one of {', '.join(LINK_TYPES)}")
    fh = open(dest, "wb") if isinstance(dest, str | os.PathLike) else dest  # noqa: SIM115 - closed below
    try:
        writer = (dpkt.pcapng.Writer if pcapng else dpkt.pcap.Writer)(fh, linktype=linktype)
        for i, ip in enumerate(packets):
            writer.writepkt(_link_frame(link, ip), ts=start + i * step)
    finally:
        if fh is not dest:
            fh.close()
