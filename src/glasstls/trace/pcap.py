"""Packet captures: from a tcpdump / tshark / Wireshark file to the trace events a live connection emits.

    dissection = dissect("capture.pcapng", NSSKeyLog.load("keys.log"))
    for stream in dissection.streams:          # one per TCP connection that carries TLS
        for event in stream.events:            # RecordTrace, MessageTrace, KeysTrace, ..., NoteTrace
            renderer(event)

Three stages, each a plain function of the one before:

1. **Frames to TCP segments** and 2. **segments to byte streams**, in
   :mod:`glasstls.trace.capture` (:func:`~glasstls.trace.capture.read_segments`,
   :func:`~glasstls.trace.capture.reassemble`): pcap and pcapng, the usual link
   types, IPv4 and IPv6, each direction of each TCP connection put back in
   order by sequence number, data delivered in the order it became readable.
3. **Byte streams to TLS** (:class:`_Dissector`): TLS is found by content
   (a record header at the start of a direction: a handshake record, normally
   ``16 03 0x``, or an alert record, as a refusal opens with; any record once
   the other direction is TLS); records are framed, handshake messages
   reassembled and decoded with the same parsers the live connection uses
   (a ClientHello whose server_name a live server refuses is decoded all the
   same, :mod:`glasstls.trace.tolerant`), the version read from the
   ServerHello (``supported_versions``, RFC 8446, Section 4.2.1), and
   protected records opened with keys from an NSS key log
   (draft-ietf-tls-keylogfile): TLS 1.3 traffic secrets through
   :class:`~glasstls.record.protection.Protection13`, the TLS 1.2 master
   secret through the key block (RFC 5246, Section 6.3) and
   :func:`~glasstls.record.protection12.protection12`.

The events are the ones a live client and a live server would each have
emitted (or one of them, with ``view="client"`` / ``"server"``): a record the
client sent is ``RecordTrace(side="client", direction="out")`` followed by the
handshake messages it completed and the key changes they caused
(``KeysTrace(direction="write")``), then the same seen by the server
(``"in"``, ``"read"``). What cannot be known or decrypted is said in a
:class:`NoteTrace` where it happens, and protected records left unopened are
listed in :attr:`TLSStream.encrypted`. Nothing in a capture, however odd,
raises: a bad packet is skipped, a bad stream is reported and abandoned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from ..crypto.keyschedule13 import next_traffic_secret
from ..crypto.prf12 import key_block
from ..crypto.suites import TLS12_SUITES, TLS13_SUITES, Suite12, Suite13
from ..enums import (
    AlertDescription,
    AlertLevel,
    CipherSuite,
    ContentType,
    ExtensionType,
    HandshakeType,
    ProtocolVersion,
)
from ..errors import TLSError
from ..observe import AlertTrace, KeysTrace, MessageTrace, RecordTrace, SecretTrace, TraceEvent
from ..record.protection import Protection13
from ..record.protection12 import protection12_from_key_block
from ..wire.handshake import (
    ClientHello,
    EncryptedExtensions,
    HandshakeBuffer,
    HelloRetryRequest,
    ServerHello,
)
from ..wire.handshake12 import TLS12_PARSERS
from .capture import (
    LINK_TYPES,
    Endpoint,
    Segment,
    TCPConnection,
    read_segments,
    reassemble,
    tcp_packets,
    write_capture,
)
from .keylog import TLS12_LABEL, TLS13_LABELS
from .tlsfind import MAX_RECORD as _MAX_RECORD
from .tlsfind import TLSSearch, find_tls
from .tolerant import decode_captured
from .words import enum_name

# Stages 1 and 2 and the capture writer live in .capture; they are re-exported here, where callers import them.
__all__ = [
    "KEYLOG_LABELS",
    "LINK_TYPES",
    "Dissection",
    "Endpoint",
    "NSSKeyLog",
    "NoteTrace",
    "Segment",
    "TCPConnection",
    "TLSStream",
    "dissect",
    "find_tls",
    "read_segments",
    "reassemble",
    "tcp_packets",
    "write_capture",
]

_SYNC_LIMIT = 1 << 16  # give up looking for TLS in a direction after this many bytes
# Records analysed per connection: each becomes events kept for the output (about 1 KB of memory each),
# and a capture of 5-byte records made a 26 MB file take 4 GB. Real connections stay far below it; the
# rest of one past it is said to be skipped, not analysed.
MAX_RECORDS = 100_000
# TLS connections analysed per capture, for the same reason (some 5 KB each): the others are counted.
MAX_CONNECTIONS = 20_000


@dataclass(frozen=True)
class NoteTrace(TraceEvent):
    """Something the capture says that is not a protocol event: lost data, missing keys, undecodable bytes."""

    text: str
    kind: str = field(init=False, default="note")


# -- the key log ---------------------------------------------------------------------------

# NSS key log labels (draft-ietf-tls-keylogfile, Section 3) -> the RFC names glasstls traces secrets under.
KEYLOG_LABELS = {nss: rfc for rfc, nss in TLS13_LABELS.items()} | {TLS12_LABEL: "master_secret"}


class NSSKeyLog:
    """The secrets of an NSS key log file, by (label, client random).

    Lines that are not ``LABEL <64 hex digits> <hex>`` are counted in
    ``skipped`` and otherwise ignored, as are labels glasstls has no use for.
    """

    def __init__(self) -> None:
        self._secrets: dict[tuple[str, bytes], bytes] = {}
        self.skipped = 0

    @classmethod
    def parse(cls, text: str) -> NSSKeyLog:
        log = cls()
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            try:
                label, random, secret = parts[0], bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
            except (IndexError, ValueError):
                log.skipped += 1
                continue
            if len(parts) != 3 or len(random) != 32 or not secret:
                log.skipped += 1
                continue
            log._secrets[(label, random)] = secret
        return log

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NSSKeyLog:
        return cls.parse(Path(path).read_text(encoding="ascii", errors="replace"))

    def secret(self, label: str, client_random: bytes | None) -> bytes | None:
        if client_random is None:
            return None
        return self._secrets.get((label, client_random))

    def __len__(self) -> int:
        return len(self._secrets)


# -- stage 3: byte streams to TLS ------------------------------------------------------------


@dataclass
class TLSStream:
    """What one TCP connection carried, as trace events."""

    number: int  # the TCP connection's number in the capture
    client: Endpoint
    server: Endpoint
    events: list[TraceEvent] = field(default_factory=list)
    version: ProtocolVersion | None = None
    cipher_suite: CipherSuite | None = None
    decrypted_records: int = 0
    encrypted_records: int = 0  # protected records left unopened
    encrypted: set[int] = field(default_factory=set)  # indices in ``events`` of those records' RecordTrace

    def summary(self) -> str:
        version = {0x0304: "TLS 1.3", 0x0303: "TLS 1.2", 0x0302: "TLS 1.1", 0x0301: "TLS 1.0"}.get(
            int(self.version or 0), str(self.version) if self.version is not None else "version unknown"
        )
        parts = [version]
        if self.cipher_suite is not None:
            parts.append(str(self.cipher_suite))
        if self.decrypted_records or self.encrypted_records:
            parts.append(f"{self.decrypted_records} records decrypted, {self.encrypted_records} left encrypted")
        c, s = self.client, self.server
        return f"connection {self.number}: client {c[0]}:{c[1]} -> server {s[0]}:{s[1]} ({', '.join(parts)})"


class _Direction:
    """The TLS state of one direction: framing, handshake reassembly and read protection."""

    def __init__(self, side: str) -> None:
        self.side = side
        self.buf = bytearray()
        self.synced = False
        self.search = TLSSearch()  # where its first record is, looked for as its bytes arrive
        self.dead = False
        self.hs = HandshakeBuffer()
        self.protected = False  # the sender has switched to protection (its records may be undecryptable)
        self.protection: _Opener | None = None  # what opens them, if the keys are known
        self.epoch: str | None = None
        self.epochs: list[str] = []  # TLS 1.3: the epochs still to come, in order
        self.warned: set[str] = set()
        self.seen = 0  # bytes the direction carried
        self.head = b""  # its first bytes, to name what it was if not TLS


class _Opener(Protocol):
    """What opens one direction's records: a Protection13, a Protection12, or a _FirstThatOpens."""

    seq: int

    def open(self, header: bytes, payload: bytes) -> tuple[ContentType, bytes]: ...


class _FirstThatOpens:
    """Several Protection13 candidates until one opens a record; then that one."""

    def __init__(self, candidates: list[Protection13]) -> None:
        self.candidates = candidates
        self.suite = candidates[0].suite

    @property
    def seq(self) -> int:
        return self.candidates[0].seq

    @seq.setter
    def seq(self, value: int) -> None:
        for c in self.candidates:
            c.seq = value

    def open(self, header: bytes, payload: bytes) -> tuple[ContentType, bytes]:
        error: TLSError | None = None
        for c in self.candidates:
            seq = c.seq
            try:
                opened = c.open(header, payload)
            except TLSError as exc:
                c.seq, error = seq, exc
                continue
            self.candidates, self.suite = [c], c.suite
            return opened
        assert error is not None
        raise error


def _out(sender: bool) -> str:
    return "out" if sender else "in"


def _alert(level: AlertLevel, description: AlertDescription) -> Callable[[str, bool], TraceEvent]:
    return lambda side, sender: AlertTrace(side, _out(sender), level, description)


def _keys(writer: str, epoch: str, suite: str) -> Callable[[str, bool], TraceEvent]:
    """``writer`` starts writing under ``epoch``; its peer, reading."""
    return lambda side, sender: KeysTrace(side, "write" if side == writer else "read", epoch, suite)


def _secret(label: str, client_random: bytes, value: bytes | None) -> Callable[[str, bool], TraceEvent]:
    return lambda side, sender: SecretTrace(side, label, client_random, value)


class _Dissector:
    """Follows one TCP connection's TLS, both directions at once, emitting trace events."""

    def __init__(
        self, conn: TCPConnection, client: Endpoint, keylog: NSSKeyLog | None, wants_secrets: bool, view: str
    ) -> None:
        self.conn = conn
        self.views = ("client", "server") if view == "both" else (view,)
        self.staged: list[tuple[Callable[[str, bool], TraceEvent], bool]] = []
        self.client_end = client
        self.stream = TLSStream(conn.number, client, conn.other(client))
        self.keylog = keylog or NSSKeyLog()
        self.no_keys = "no key log was given" if keylog is None else ""
        self.wants_secrets = wants_secrets
        self.dirs = {"client": _Direction("client"), "server": _Direction("server")}
        self.client_random: bytes | None = None
        self.read_ahead = False  # the client random was looked for ahead of the ServerHello (_hello_random)
        self.records = 0  # analysed, both directions (MAX_RECORDS)
        self.server_random: bytes | None = None
        self.offered_early_data = False
        self.suite13: Suite13 | None = None
        self.suite12: Suite12 | None = None
        self.encrypt_then_mac = False
        self.master_traced: bytes | None = None
        self.app_secrets: dict[str, bytes | None] = {}

    # -- output --------------------------------------------------------------------------
    # While one record is analysed its events are staged as functions of (side, is_sender),
    # then written once for each side viewed: the sender's view ("out", "write") first, the
    # receiver's ("in", "read") next, each in the order a live connection emits them.
    def stage(self, make: Callable[[str, bool], TraceEvent], encrypted: bool = False) -> None:
        self.staged.append((make, encrypted))

    def flush(self, sender: str) -> None:
        receiver = "server" if sender == "client" else "client"
        first = True
        for side in (sender, receiver):
            if side not in self.views:
                continue
            for make, encrypted in self.staged:
                event = make(side, side == sender)
                if first or not isinstance(event, NoteTrace):  # a note is said once
                    if encrypted:
                        self.stream.encrypted.add(len(self.stream.events))
                    self.stream.events.append(event)
            first = False
        self.staged.clear()

    def note(self, text: str, side: str = "capture") -> None:
        self.stage(lambda _side, _sender: NoteTrace(side, text))

    def peer_of(self, d: _Direction) -> _Direction:
        return self.dirs["server" if d.side == "client" else "client"]

    def wake(self, d: _Direction) -> None:
        """The other direction just turned out to be TLS: bytes of this one left waiting may open with any record."""
        if not d.synced and not d.dead and d.buf:
            self.frame(d)

    def note_once(self, d: _Direction, key: str, text: str) -> None:
        if key not in d.warned:
            d.warned.add(key)
            self.note(text, d.side)

    # -- bytes ---------------------------------------------------------------------------
    def run(self) -> TLSStream | None:
        """The connection's trace, or None if neither direction carries TLS."""
        for _, sender, data in self.conn.chunks:
            d = self.dirs["client" if sender == self.client_end else "server"]
            d.seen += len(data)
            if not d.head:
                d.head = data[:8]
            if not d.dead:
                d.buf += data
                self.frame(d)
        for d in self.dirs.values():
            if d.buf and not d.dead and d.synced:
                self.note(f"{len(d.buf)} bytes at the end of the {d.side}'s stream are not a whole record", d.side)
            waiting = d.hs.pending_type()
            if waiting is not None and not d.dead:  # (a message split over records whose end never came)
                name = enum_name(waiting, HandshakeType)
                self.note(f"the {d.side}'s stream ends inside a handshake message ({name}): it is not shown", d.side)
            elif d.seen and not d.synced and self.peer_of(d).synced:
                self.note(f"the {d.side}'s {d.seen} bytes are not TLS records (they begin {d.head.hex(' ')})", d.side)
        if not any(d.synced for d in self.dirs.values()):
            return None
        for text in self.conn.notes():
            self.note(text)
        self.flush(self.views[0])
        return self.stream

    def frame(self, d: _Direction) -> None:
        buf = d.buf
        if not d.synced:
            start = d.search.find(buf, peer_tls=self.peer_of(d).synced)
            if start is None:
                if len(buf) > _SYNC_LIMIT:
                    d.dead = True
                    d.buf = bytearray()
                return
            d.synced = True
            self.wake(self.peer_of(d))
            if start:
                self.note(f"skipped {start} bytes before the first TLS record", d.side)
            del buf[:start]
        pos = 0
        while len(buf) - pos >= 5:
            ctype, length = buf[pos], (buf[pos + 3] << 8) | buf[pos + 4]
            if not (20 <= ctype <= 24 and buf[pos + 1] == 3 and length <= _MAX_RECORD):
                self.note(
                    f"{len(buf) - pos} bytes that are not TLS records; the rest of this stream is skipped", d.side
                )
                d.dead = True
                break
            if len(buf) - pos < 5 + length:
                break
            if self.records >= MAX_RECORDS:
                self.note(f"{MAX_RECORDS:,} records analysed (glasstls.trace.pcap.MAX_RECORDS): the rest of this "
                          "connection is skipped")  # fmt: skip
                for each in self.dirs.values():
                    each.dead, each.buf = True, bytearray()
                return
            self.records += 1
            header, payload = bytes(buf[pos : pos + 5]), bytes(buf[pos + 5 : pos + 5 + length])
            pos += 5 + length
            try:
                self.record(d, header, payload)
            except Exception as exc:  # never let an odd record end the dissection
                self.note(f"record could not be analysed ({type(exc).__name__}: {exc})", d.side)
            self.flush(d.side)
        self.flush(d.side)
        del buf[:pos]
        if d.dead:
            d.buf = bytearray()

    # -- records -------------------------------------------------------------------------
    def record(self, d: _Direction, header: bytes, payload: bytes) -> None:
        ctype = ContentType(header[0])
        # A ChangeCipherSpec is in the clear, except in a TLS 1.2 renegotiation under keys already agreed.
        protected = d.protected and (ctype != ContentType.change_cipher_spec or payload != b"\x01")
        if protected and self.stream.version == ProtocolVersion.TLSv1_3:
            protected = ctype == ContentType.application_data  # TLS 1.3 protects only these (RFC 8446, Section 5)
        elif ctype == ContentType.application_data and not d.protected:
            protected = True  # application data before we saw the keys change: encrypted all the same
        elif ctype == ContentType.alert and len(payload) > 2 and not d.protected:
            protected = True  # an alert in the clear is 2 bytes: this one is under keys the capture did not show
        if not protected:
            self.stage(lambda side, sender: RecordTrace(side, _out(sender), ctype, header, payload))
            self.content(d, ctype, payload)
            return
        opened = self.open(d, header, payload)
        if opened is None:
            self.stream.encrypted_records += 1
            self.stage(lambda side, sender: RecordTrace(side, _out(sender), ctype, header, payload), encrypted=True)
            return
        inner, plaintext = opened
        self.stream.decrypted_records += 1
        self.stage(lambda side, sender: RecordTrace(side, _out(sender), ctype, header, payload, inner, plaintext))
        self.content(d, inner, plaintext)

    def content(self, d: _Direction, ctype: ContentType, data: bytes) -> None:
        if ctype == ContentType.handshake:
            d.hs.feed(data)
            while True:
                try:
                    raw = d.hs.pop()
                except TLSError as exc:  # a length no real message has: drop what was buffered
                    self.note(f"handshake data that cannot be a message ({exc})", d.side)
                    d.hs = HandshakeBuffer()
                    return
                if raw is None:
                    return
                self.message(d, raw)
        elif ctype == ContentType.alert:
            for i in range(0, len(data) - 1, 2):
                self.stage(_alert(AlertLevel(data[i]), AlertDescription(data[i + 1])))
            if len(data) % 2 or not data:  # (too short to be under keys: no tag or MAC fits)
                self.note(f"an alert record of {len(data)} byte(s): an alert is 2 bytes, level and "
                          "description (RFC 5246, Section 7.2; RFC 8446, Section 6)", d.side)  # fmt: skip
        elif ctype == ContentType.change_cipher_spec and self.stream.version != ProtocolVersion.TLSv1_3:
            if d.side == "client" and self.server_random is None and self.stream.version is None:
                # Before any ServerHello: no TLS 1.2 client sends one there, a TLS 1.3 client sends its
                # dummy one there when it sends 0-RTT data (RFC 8446, Appendix D.4). No keys change.
                return
            self.change_cipher_spec(d)

    def open(self, d: _Direction, header: bytes, payload: bytes) -> tuple[ContentType, bytes] | None:
        if self.stream.version == ProtocolVersion.TLSv1_3 or (self.stream.version is None and d.epochs):
            return self.open13(d, header, payload)
        if d.protection is None:
            return None
        try:
            return d.protection.open(header, payload)
        except TLSError as exc:
            self.note_once(d, "fail12", f"the {d.side}'s records do not decrypt with the key log's keys ({exc})")
            return None

    # -- handshake messages ----------------------------------------------------------------
    def message(self, d: _Direction, raw: bytes) -> None:
        version = self.stream.version
        parsers = TLS12_PARSERS if version is None or version <= ProtocolVersion.TLSv1_2 else None
        try:
            msg, tolerated = decode_captured(raw, parsers)
        except Exception as exc:
            name = HandshakeType(raw[0]).name
            self.note(f"{name} message of {len(raw)} bytes does not decode: {exc}", d.side)
            return
        if tolerated:
            self.note(tolerated, d.side)
        self.stage(lambda side, sender: MessageTrace(side, _out(sender), msg))
        mtype = msg.msg_type
        if isinstance(msg, ClientHello) and d.side == "client":
            self.client_random = msg.random
            self.offered_early_data = msg.ext(ExtensionType.early_data) is not None
            if self.offered_early_data and d.epoch is None:
                d.epochs = ["early"]  # RFC 8446, Section 4.2.10: 0-RTT data may follow at once
                self.secrets13(("CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET"))
        elif isinstance(msg, ServerHello) and d.side == "server":
            if self.client_random is None and not self.read_ahead:  # the answer before the hello: read it ahead
                self.read_ahead = True  # (once: every ServerHello of a stream without one read it all again)
                self.client_random = _hello_random(self.conn, self.client_end)
            self.server_hello(msg)
        elif isinstance(msg, EncryptedExtensions) and msg.ext(ExtensionType.early_data) is None:
            client = self.dirs["client"]
            if client.epoch == "early" or client.epochs[:1] == ["early"]:
                self.switch13(client, "handshake")  # RFC 8446, Section 4.2.10: 0-RTT rejected
        elif mtype == HandshakeType.end_of_early_data and d.side == "client":
            self.switch13(d, "handshake")
        elif mtype == HandshakeType.finished and version == ProtocolVersion.TLSv1_3 and d.epoch == "handshake":
            if d.side == "server":
                self.secrets13(("SERVER_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_0", "EXPORTER_SECRET"))
            self.switch13(d, "application")
        elif mtype == HandshakeType.key_update and version == ProtocolVersion.TLSv1_3:
            self.switch13(d, self.next_generation(d.epoch))

    def server_hello(self, sh: ServerHello) -> None:
        ext = sh.ext(ExtensionType.supported_versions)
        version = ProtocolVersion(ext.value) if ext is not None else sh.legacy_version
        self.stream.version = version
        self.stream.cipher_suite = sh.cipher_suite
        if isinstance(sh, HelloRetryRequest):
            return  # RFC 8446, Section 4.1.4: the client sends a new ClientHello, still in the clear
        self.server_random = sh.random
        if version == ProtocolVersion.TLSv1_3:
            self.suite13 = TLS13_SUITES.get(sh.cipher_suite)
            self.secrets13(("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET"))
            server, client = self.dirs["server"], self.dirs["client"]
            server.epochs = ["handshake", "application"]
            self.switch13(server, "handshake")
            if client.epoch == "early" or client.epochs[:1] == ["early"]:
                # Still in 0-RTT until EndOfEarlyData, or until EncryptedExtensions says it was rejected.
                client.epochs = (["early"] if client.epoch is None else []) + ["handshake", "application"]
            else:
                client.epochs = ["handshake", "application"]
                self.switch13(client, "handshake")
        else:
            self.suite12 = TLS12_SUITES.get(sh.cipher_suite)
            self.encrypt_then_mac = sh.ext(ExtensionType.encrypt_then_mac) is not None
            for d in self.dirs.values():
                d.epochs = []

    # -- TLS 1.3 keys --------------------------------------------------------------------------
    def secret_label(self, side: str, epoch: str) -> str | None:
        if epoch == "early":
            return "CLIENT_EARLY_TRAFFIC_SECRET" if side == "client" else None
        if epoch == "handshake":
            return f"{side.upper()}_HANDSHAKE_TRAFFIC_SECRET"
        if epoch == "application":
            return f"{side.upper()}_TRAFFIC_SECRET_0"
        return None

    def secrets13(self, labels: tuple[str, ...]) -> None:
        for label in labels:
            secret = self.keylog.secret(label, self.client_random)
            if secret is not None and self.client_random is not None:
                self.stage(_secret(KEYLOG_LABELS[label], self.client_random, secret if self.wants_secrets else None))

    def next_generation(self, epoch: str | None) -> str:
        if epoch and epoch.startswith("application+"):
            return f"application+{int(epoch.split('+')[1]) + 1}"
        return "application+1"

    def protection13(self, d: _Direction, epoch: str) -> _Opener | None:
        """The protection of ``epoch`` in direction ``d``, if the key log allows."""
        if epoch.startswith("application+"):
            previous = self.app_secrets.get(d.side)
            if previous is None or self.suite13 is None:
                return None
            secret = next_traffic_secret(self.suite13, previous)  # RFC 8446, Section 7.2
            self.app_secrets[d.side] = secret
            return Protection13(self.suite13, secret, epoch)
        label = self.secret_label(d.side, epoch)
        logged = self.keylog.secret(label, self.client_random) if label else None
        if logged is None:
            return None
        if self.suite13 is not None and len(logged) != self.suite13.hash_len:
            # (HMAC would take it, a short one padded with zeros: the records would just not open)
            self.note_once(d, f"length {label}", f"the key log's {label} for this connection is {len(logged)} "
                           f"bytes; {self.suite13.name} uses {self.suite13.hash_len}: it is not used")  # fmt: skip
            return None
        if epoch == "application":
            self.app_secrets[d.side] = logged
        if self.suite13 is not None:
            return Protection13(self.suite13, logged, epoch)
        # 0-RTT before the ServerHello: the PSK's suite, unknown here; each one its hash fits is tried.
        candidates = [Protection13(s, logged, epoch) for s in TLS13_SUITES.values() if s.hash_len == len(logged)]
        return _FirstThatOpens(candidates) if candidates else None

    def switch13(self, d: _Direction, epoch: str) -> None:
        """The sender of direction ``d`` now writes under ``epoch`` (RFC 8446, Section 7.3)."""
        if d.epoch == epoch:
            return
        d.protected = True
        d.epoch = epoch
        d.protection = self.protection13(d, epoch)
        if epoch in d.epochs:
            d.epochs = d.epochs[d.epochs.index(epoch) + 1 :]
        # (0-RTT keys come before the ServerHello that names the suite: the PSK's, unknown here)
        self.stage(_keys(d.side, epoch, self.suite13.name if self.suite13 else "the PSK's suite, not yet known"))
        if d.protection is None:
            label = self.secret_label(d.side, epoch)
            why = f"the key log has no {label} for this connection" if label else "the previous secret is unknown"
            if self.client_random is None:
                why = "the capture holds no ClientHello, whose client random finds the keys in the key log"
            why = self.no_keys or why
            self.note_once(d, epoch, f"the {d.side}'s {epoch} records stay encrypted: {why}")

    def open13(self, d: _Direction, header: bytes, payload: bytes) -> tuple[ContentType, bytes] | None:
        """Open under the current epoch; failing that, under the next ones the key log allows (lost records)."""
        if d.epoch is None and d.epochs:
            self.switch13(d, d.epochs[0])
        for attempt, epoch in enumerate([d.epoch, *d.epochs[:2]]):
            if epoch is None:
                continue
            protection = d.protection if attempt == 0 else self.protection13(d, epoch)
            if protection is None:
                continue
            seq = protection.seq
            try:
                opened = protection.open(header, payload)
            except TLSError:
                protection.seq = seq
                continue
            if attempt:
                self.switch13(d, epoch)
                d.protection = protection
            return opened
        if d.protection is not None:
            self.note_once(d, f"fail:{d.epoch}", f"a {d.side} record does not decrypt under its {d.epoch} keys")
        return None

    # -- TLS 1.2 keys ----------------------------------------------------------------------------
    def change_cipher_spec(self, d: _Direction) -> None:
        """RFC 5246, Section 7.1: everything ``d`` sends from here is protected with the new keys."""
        d.protected = True
        d.protection = None
        suite, version = self.suite12, self.stream.version
        epoch = f"{d.side} write (TLS 1.2)"
        self.stage(_keys(d.side, epoch, suite.name if suite else str(self.stream.cipher_suite)))
        if version is not None and version != ProtocolVersion.TLSv1_2:
            self.note_once(d, "version", f"{version} records are not decrypted (only TLS 1.2 and 1.3 are)")
            return
        if self.server_random is None or self.client_random is None:
            self.note_once(d, "nokey", f"the {d.side}'s records stay encrypted: the capture lacks the hellos")
            return
        master = self.keylog.secret("CLIENT_RANDOM", self.client_random)
        if master is None or len(master) != 48:  # RFC 5246, Section 8.1: always 48 bytes
            why = self.no_keys or "the key log has no CLIENT_RANDOM for this connection"
            if master is not None:
                why = f"the key log's CLIENT_RANDOM master secret is {len(master)} bytes, not 48"
            self.note_once(d, "nokey", f"the {d.side}'s records stay encrypted: {why}")
            return
        if suite is None:
            self.note_once(d, "suite", f"records of {self.stream.cipher_suite} are not decrypted")
            return
        if self.master_traced != self.client_random:
            self.master_traced = self.client_random
            self.stage(_secret("master_secret", self.client_random, master if self.wants_secrets else None))
        keys = key_block(suite, master, self.client_random, self.server_random)
        try:
            d.protection = protection12_from_key_block(
                suite, keys, d.side, epoch, os.urandom, encrypt_then_mac=self.encrypt_then_mac or suite.aead
            )
        except (TLSError, ValueError) as exc:
            self.note_once(d, "cbc", f"the {d.side}'s records are not decrypted: {exc}")


def _hello_random(conn: TCPConnection, client: Endpoint) -> bytes | None:
    """The client random of the ClientHello the client's stream opens with, read ahead of the dissection
    (a capture may hold the server's answer before it), or None."""
    data = bytearray()
    for _, sender, chunk in conn.chunks:
        if sender == client:
            data += chunk
            if len(data) > _SYNC_LIMIT:
                break
    start = find_tls(data)
    if start is None or len(data) < start + 43 or data[start] != ContentType.handshake or data[start + 5] != 1:
        return None
    return bytes(data[start + 11 : start + 43])  # after the record header, the message header, legacy_version


def _client_of(conn: TCPConnection) -> Endpoint:
    """The TLS client: the SYN's sender, else whoever sent a ClientHello, else the higher port."""
    if conn.client is not None:
        return conn.client
    for end in (conn.first, conn.second):
        data = conn.stream(end, _SYNC_LIMIT)
        start = find_tls(data)
        if start is not None and len(data) > start + 5 and data[start] == 22 and data[start + 5] == 1:
            return end
    # No ClientHello captured: servers usually listen on the lower port.
    return max((conn.first, conn.second), key=lambda e: e[1])


@dataclass
class Dissection:
    streams: list[TLSStream]
    notes: list[str]
    segments: int
    connections: int  # TCP connections, TLS or not


def dissect(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    keylog: NSSKeyLog | None = None,
    *,
    view: str = "both",
    wants_secrets: bool = False,
) -> Dissection:
    """Read a capture and follow the TLS in each of its TCP connections.

    ``view`` is "both" (the events a live client and a live server would each
    emit, the sender's before the receiver's), "client" or "server" (one side's
    events only, as with ``glasstls client --trace``). ``wants_secrets`` puts the
    key log's secrets in the SecretTrace events, as a live connection does only
    for observers that ask for them.
    """
    if view not in ("both", "client", "server"):
        raise ValueError(f"view must be 'both', 'client' or 'server', not {view!r}")
    notes: list[str] = []
    count = [0]

    def counted(segments: Iterator[Segment]) -> Iterator[Segment]:  # (taken one by one, never all kept)
        for segment in segments:
            count[0] += 1
            yield segment

    connections = reassemble(counted(read_segments(source, notes)))
    streams = []
    if len(connections) > MAX_CONNECTIONS:
        notes.append(f"{len(connections):,} TCP connections: the first {MAX_CONNECTIONS:,} are analysed "
                     "(glasstls.trace.pcap.MAX_CONNECTIONS), the others skipped")  # fmt: skip
    for conn in connections[:MAX_CONNECTIONS]:
        stream = _Dissector(conn, _client_of(conn), keylog, wants_secrets, view).run() if conn.chunks else None
        if stream is not None:
            streams.append(stream)
            continue
        # No TLS seen: what the capture lost of the connection may be why, so it is said all the same.
        ends = f"{conn.first[0]}:{conn.first[1]} <-> {conn.second[0]}:{conn.second[1]}"
        notes.extend(f"connection {conn.number} ({ends}), no TLS seen: {text}" for text in conn.notes())
    if keylog is not None and keylog.skipped:
        notes.append(f"{keylog.skipped} lines of the key log are not NSS key log lines and were ignored")
    return Dissection(streams, notes, count[0], len(connections))
