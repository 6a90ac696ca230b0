"""The record layer: framing, reassembly and protection epochs (RFC 8446, Section 5).

It knows nothing of handshake states. It turns bytes into records
(decrypting under the current read epoch) and content into records
(fragmenting at the write limit and encrypting under the current write epoch).
Which content type is acceptable when is the connection's business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..enums import AlertDescription, ContentType
from ..errors import AlertError
from .protection import MAX_CIPHERTEXT, MAX_PLAINTEXT, Protection13

MAX_CIPHERTEXT_12 = (1 << 14) + 2048

RecordHook = Callable[[str, ContentType, bytes, bytes, "ContentType | None", bytes | None], None]
_KNOWN_TYPES = frozenset((20, 21, 22, 23))
_CONTENT_TYPES = {t: ContentType(t) for t in _KNOWN_TYPES}
_CCS, _APPLICATION_DATA = 20, 23  # ints: compared per record
_MAX_RECORD = 5 + MAX_CIPHERTEXT  # a TLS 1.3 protected record, header included (RFC 8446, Section 5.2)


def _not_a_record(data: bytes) -> str:
    """Why ``data`` cannot start a record, saying what it looks like when that is clear."""
    ctype = data[0]
    if ctype & 0x80 and len(data) >= 3 and data[2] == 1:
        # A two-byte header with the top bit set, then msg_type 1: the SSL 2.0 CLIENT-HELLO
        # format (RFC 5246, Appendix E.2), which ended with SSL 2.0 itself (RFC 6176).
        return (
            f"the peer sent a ClientHello in the SSL 2.0 format (first byte 0x{ctype:02x}), which glasstls does not "
            "accept: SSL 2.0 is prohibited (RFC 6176); the peer must send TLS records"
        )
    line = data.split(b"\n")[0].rstrip(b"\r")
    if len(line) >= 4 and all(32 <= b < 127 or b == 9 for b in line):
        return (
            f"the peer is not speaking TLS: it sent plain text {line.decode('ascii')!r} "
            f"(record of unknown content type 0x{ctype:02x})"
        )
    return f"record of unknown content type 0x{ctype:02x}: the peer is not speaking TLS, or is out of step"


def _not_a_version(version: int) -> str:
    return (
        f"record version 0x{version:04x}: every TLS and SSL 3.0 record's version begins with 3, and one "
        "below 0x0300 is not accepted (RFC 8446, Appendix D.5): the peer is not speaking TLS, or is out of step"
    )


def record_size_at(data: bytes | bytearray | memoryview, start: int) -> int | None:
    """The size, header included, of the record whose 5-byte header is at ``data[start:]``; None
    when no TLS version has such a record (an unknown content type, a version that does not begin
    with 3, or a body past TLS 1.2's 2^14 + 2048 bytes: RFC 5246, Section 6.2.3). The drivers that
    read or cut their input a record at a time frame it with this; what such a header begins is the
    layer's to refuse."""
    length = (data[start + 3] << 8) | data[start + 4]
    ok = data[start] in _KNOWN_TYPES and data[start + 1] == 3 and length <= MAX_CIPHERTEXT_12
    return 5 + length if ok else None


class Record:
    """One received record after decryption."""

    __slots__ = ("content_type", "data", "header", "protected")

    def __init__(self, content_type: ContentType, data: bytes, header: bytes, protected: bool) -> None:
        self.content_type = content_type
        self.data = data
        self.header = header
        self.protected = protected


class _LaneKeys(Protocol):
    """Read keys the fast lanes open records with (``opens_views``): Protection13, TLS 1.2's AEADs."""

    full_header: bytes
    full_size: int

    def open(self, header: bytes, payload: bytes | memoryview) -> tuple[ContentType, bytes]: ...


class RecordLayer:
    def __init__(self, hook: RecordHook | None = None) -> None:
        # Input: the caller's own bytes object while it is being read (no copy), a bytearray
        # once a partial record has to wait for more; empty once all of it has been read, so
        # that a reader can tell it need not ask for another record.
        self.buffered: bytes | bytearray = b""
        self._pos = 0  # start of the first unread record in buffered; compacted when input runs dry
        # The caller's bytes and where in them reading goes on once ``buffered`` is read: set by
        # feed when those bytes complete a record that was waiting, which is then ``buffered``
        # alone (see _complete_pending). None otherwise.
        self._rest: tuple[bytes, int] | None = None
        # The records to send, in order, until take_output: appended by send, and by a connection's
        # bulk lane with what send would append (see bulk_sealer).
        self.output: list[bytes | bytearray] = []
        self.read: Protection13 | Any | None = None  # Protection13 or a TLS 1.2 Protection12
        self.write: Protection13 | Any | None = None
        self.write_limit = MAX_PLAINTEXT
        # RFC 8449, Section 4: the record_size_limit we announced, once negotiated (limit_reads), and
        # what it makes of the current read keys: the largest TLSInnerPlaintext (TLS 1.3) or plaintext
        # (TLS 1.2) of a protected record; None for the protocol's own (or larger), which open()
        # checks itself, and for 0-RTT keys (the client sent those records before it knew the limit).
        self._announced_limit: int | None = None
        self.read_limit: int | None = None
        # RFC 8446, Section 5.1: 0x0301 is allowed for the initial ClientHello record.
        self.plaintext_version = b"\x03\x03"
        self._hook = hook
        # RFC 8446, Section 4.2.10: a server that rejected (or ignores) the client's 0-RTT
        # data skips it: protected records that fail to decrypt are dropped while their total
        # stays within this many bytes; the first record that decrypts ends the skipping.
        self._skip = 0
        self.skipped_early_data = 0
        # Set by the connection while a handshake message continues in the next record: no other
        # record may come between its pieces (RFC 8446, Section 5.1), a 0-RTT one to skip neither.
        self.handshake_split = False
        # The read keys read_record's fast lane may use while they are still ``read``: keys whose
        # open() reads a view of the input (``opens_views``: TLS 1.3's, and TLS 1.2's AEADs),
        # with no trace hook and no early data to skip. Chosen by install_read, or by
        # _read_record for keys assigned to ``read`` directly (the first record under them
        # takes that path), dropped when skipping starts.
        self._fast: _LaneKeys | None = None

    @property
    def skip_early_data(self) -> int:
        """How many bytes of rejected 0-RTT records may still be dropped (0: none)."""
        return self._skip

    @skip_early_data.setter
    def skip_early_data(self, limit: int) -> None:
        self._skip = limit
        self._fast = None

    def install_read(self, protection: Protection13 | Any) -> None:
        """New read keys, from the next record on, held to the record_size_limit we announced (see
        limit_reads); the fast lane chosen for them now, as _read_record would choose it at their first
        record (which then need not take that path: a NewSessionTicket, the first record under a
        client's application keys)."""
        self.read = protection
        self.read_limit = self._limit_for(protection)
        self._fast = self._lane_keys(protection)

    def limit_reads(self, limit: int) -> None:
        """The record_size_limit we announced is negotiated: the protected records under the current
        read keys and every later ones are held to it (RFC 8449, Section 4). The fast lanes leave such
        records to _read_record, which checks them."""
        self._announced_limit = limit
        self.read_limit = self._limit_for(self.read)
        if self.read_limit is not None:
            self._fast = None

    def _limit_for(self, protection: Protection13 | Any | None) -> int | None:
        """The limit records under ``protection`` are held to: TLS 1.3's whole TLSInnerPlaintext, content
        type and padding included, or TLS 1.2's plaintext; None below a limit no smaller than the
        protocol's largest record (2^14 + 1, 2^14), and for 0-RTT keys."""
        limit = self._announced_limit
        if limit is None or protection is None or protection.epoch == "early":
            return None
        largest = MAX_PLAINTEXT if protection.protects_all_types else MAX_PLAINTEXT + 1
        return limit if limit < largest else None

    def _lane_keys(self, protection: Protection13 | Any | None) -> _LaneKeys | None:
        """``protection`` if the fast lane may read with it (see _fast), else None."""
        if protection is None or not protection.opens_views or self._skip or self._hook or self.read_limit:
            return None
        return protection

    # -- input -------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        buf, pos = self.buffered, self._pos
        if self._rest is not None:  # (fed again before reading what was fed: one buffer of it all)
            rest, at = self._rest
            self._rest = None
            self.buffered, self._pos = bytearray(buf[pos:]) + memoryview(rest)[at:] + data, 0
        elif pos >= len(buf) and type(data) is bytes:
            self.buffered, self._pos = data, 0  # nothing pending: read the records from data itself
        elif type(data) is bytes and self._complete_pending(buf, pos, data):
            pass
        elif type(buf) is bytes:
            self.buffered, self._pos = bytearray(buf[pos:]) + data, 0
        else:
            self.buffered += data

    def awaited(self) -> int:
        """How many more bytes complete what the input left unfinished: the rest of a record's
        header, else of the record it begins; 0 when nothing is waiting."""
        buf, pos = self.buffered, self._pos
        if self._rest is not None:
            return 0  # (a record and the caller's bytes are waiting to be read: nothing is missing yet)
        pending = len(buf) - pos
        if pending <= 0:
            return 0
        if pending < 5:
            return 5 - pending
        return max(0, 5 + ((buf[pos + 3] << 8) | buf[pos + 4]) - pending)

    def _complete_pending(self, buf: bytes | bytearray, pos: int, data: bytes) -> bool:
        """If ``data`` holds the rest of the record begun at ``buf[pos:]``: that record alone becomes
        ``buffered`` (one record copied) and ``data`` is read in place after it, instead of
        all of ``data`` being copied behind the partial record (a stream read in chunks that
        end inside a record, as a socket's 64 KiB reads of 16 KiB records do). False otherwise,
        nothing changed."""
        pending = len(buf) - pos
        header = bytes(buf[pos : pos + 5]) if pending >= 5 else bytes(buf[pos:]) + data[: 5 - pending]
        if len(header) < 5:
            return False
        need = 5 + ((header[3] << 8) | header[4]) - pending
        if need > len(data):
            return False
        head = bytes(buf[pos:]) + data[:need]
        self.buffered, self._pos = head, 0
        if need < len(data):
            self._rest = (data, need)
        return True

    def _input_read(self) -> None:
        """All of ``buffered`` was read: go on with the rest of the caller's bytes, or let go."""
        rest = self._rest
        if rest is None:
            self.buffered, self._pos = b"", 0
        else:
            self.buffered, self._pos = rest
            self._rest = None

    def next_record(self) -> Record | None:
        """The next complete record, decrypted, or None if more bytes are needed."""
        got = self.read_record()
        return None if got is None else Record(*got)

    def read_whole(self, data: bytes) -> tuple[ContentType, bytes, bytes, bool] | None:
        """``data`` read as read_record would read it after ``feed(data)``, when nothing is
        pending and ``data`` is exactly one record for read_record's fast lane (an input that is
        one whole 16 KiB record of a transfer); else None, nothing read or changed, and the
        caller feeds ``data``. One call instead of feed's and read_record's."""
        if type(data) is not bytes or self._fast is None or len(data) < 5:
            return None
        return self.read_parts(data[:5], memoryview(data)[5:])

    def read_parts(self, header: bytes, body: bytes | memoryview) -> tuple[ContentType, bytes, bytes, bool] | None:
        """read_whole for a record whose 5-byte header and body come apart (a driver that reads the
        header, then exactly the body, as OpenSSL does without read-ahead): not joined first."""
        read = self._fast
        if read is not self.read or read is None or self.buffered:
            return None
        # A full TLS 1.3 record with legacy_record_version 0x0303 (RFC 8446, Section 5.1), one
        # comparison; any other input, field by field (a TLS 1.2 record's version is in the
        # additional data its AEAD authenticates: RFC 5246, Section 6.2.3.3).
        if header != read.full_header or len(body) + 5 != read.full_size:
            length = len(body)
            if not (
                length <= MAX_CIPHERTEXT
                and header[0] == _APPLICATION_DATA
                and header[1] == 3  # (any other major version: refused by _read_record)
                and (header[3] << 8 | header[4]) == length
            ):
                return None
        inner_type, content = read.open(header, body)
        return inner_type, content, header, True

    def read_record(self) -> tuple[ContentType, bytes, bytes, bool] | None:
        """The next complete record as (content type, content, header, protected), decrypted;
        None if more bytes are needed. (A tuple: the connection reads every record through here.)"""
        buf, read = self.buffered, self._fast
        # The bulk of a transfer: a whole application_data record within the limit of RFC 8446,
        # Section 5.2, under keys that open views (_fast), untraced, no early data to skip. The
        # AEAD decrypts from a view of the input (no copy of the payload). Anything else (a
        # TLS 1.2 record past that limit too), or anything wrong with it, is read by _read_record.
        if read is self.read and read is not None:
            size, pos = len(buf), self._pos
            if size - pos >= 5 and buf[pos] == _APPLICATION_DATA and buf[pos + 1] == 3:
                end = pos + 5 + ((buf[pos + 3] << 8) | buf[pos + 4])
                if end <= size and end - pos <= _MAX_RECORD:
                    if end == size:
                        self._input_read()  # all read: the input is let go
                    else:
                        self._pos = end
                    if type(buf) is bytes:  # the caller's bytes
                        header = buf[pos : pos + 5]
                        inner_type, data = read.open(header, memoryview(buf)[pos + 5 : end])
                    else:  # a view of the bytearray, released before the bytearray can grow again
                        with memoryview(buf) as view, view[pos + 5 : end] as payload:
                            header = bytes(view[pos : pos + 5])
                            inner_type, data = read.open(header, payload)
                    return inner_type, data, header, True
        return self._read_record()

    def _read_record(self) -> tuple[ContentType, bytes, bytes, bool] | None:
        """read_record, for every record and every state of the layer."""
        while True:
            buf, pos = self.buffered, self._pos
            if len(buf) - pos < 5:
                if pos:
                    self._compact()
                return None
            ctype = buf[pos]
            length = (buf[pos + 3] << 8) | buf[pos + 4]
            if ctype not in _KNOWN_TYPES:
                raise AlertError(AlertDescription.unexpected_message, _not_a_record(bytes(buf[pos : pos + 64])))
            if buf[pos + 1] != 3:
                # The version field is otherwise ignored (RFC 8446, Section 5.1), but one whose major
                # byte is not 3 begins no record of any TLS version; OpenSSL and BoringSSL refuse it too.
                raise AlertError(AlertDescription.protocol_version, _not_a_version((buf[pos + 1] << 8) | buf[pos + 2]))
            # TLS 1.3 hides the real type inside application_data records; TLS 1.2
            # protects every type but change_cipher_spec under its own outer type.
            read = self.read
            self._fast = self._lane_keys(read)
            if read is None and ctype == _APPLICATION_DATA and self._skip:
                # 0-RTT records sent before a HelloRetryRequest, skipped unread: they are protected
                # records, up to 2^14 + 256 bytes (RFC 8446, Sections 5.2 and 4.2.10).
                limit, opener = MAX_CIPHERTEXT, None
            elif read is None or ctype == _CCS:
                limit, opener = MAX_PLAINTEXT, None
            elif read.protects_all_types:
                limit, opener = MAX_CIPHERTEXT_12, read  # RFC 5246, Section 6.2.3
            elif ctype == _APPLICATION_DATA:
                limit, opener = MAX_CIPHERTEXT, read
            else:
                limit, opener = MAX_PLAINTEXT, None
            if length > limit:
                raise AlertError(AlertDescription.record_overflow, f"record of {length} bytes exceeds {limit}")
            end = pos + 5 + length
            if len(buf) < end:
                self._compact()
                return None
            if end == len(buf):
                self._input_read()  # all read: the caller's bytes or the buffer are let go
            else:
                # Advance an offset instead of deleting: deleting from the front of a
                # large buffer per record would move the rest of it every time.
                self._pos = end
            if opener is None:
                record = self._plaintext(_CONTENT_TYPES[ctype], buf, pos, end)
            elif type(buf) is bytes and not opener.protects_all_types:
                # TLS 1.3, the caller's bytes read in place: the AEAD decrypts from a view of
                # them (no copy of the payload).
                header, payload = buf[pos : pos + 5], memoryview(buf)[pos + 5 : end]
                record = self._unprotect(opener, _CONTENT_TYPES[ctype], header, payload)
            elif type(buf) is bytes:  # TLS 1.2's protections take bytes
                record = self._unprotect(opener, _CONTENT_TYPES[ctype], buf[pos : pos + 5], buf[pos + 5 : end])
            else:
                # A view of the bytearray, released before the bytearray can grow again.
                with memoryview(buf) as view, view[pos + 5 : end] as in_place:
                    sealed = bytes(in_place) if opener.protects_all_types else in_place
                    record = self._unprotect(opener, _CONTENT_TYPES[ctype], bytes(view[pos : pos + 5]), sealed)
            if record is not None:
                return record

    def _compact(self) -> None:
        pos = self._pos
        if not pos:
            return
        buf = self.buffered
        if pos == len(buf):
            self._input_read()  # all read: nothing kept, neither the caller's bytes nor a buffer
            return
        if isinstance(buf, bytes):
            self.buffered = buf[pos:]  # keep only the partial record, not the caller's whole chunk
        else:
            del buf[:pos]
        self._pos = 0

    def _skip_early(self, payload_len: int) -> None:
        """Drop one 0-RTT record the server cannot read (RFC 8446, Section 4.2.10)."""
        if self.handshake_split:
            raise AlertError(
                AlertDescription.unexpected_message,
                "a 0-RTT record came between the pieces of a handshake message (RFC 8446, Section 5.1)",
            )
        # The plaintext is at most the payload less the content type byte and the AEAD tag. The
        # server cannot read the record, so it cannot know the tag: 16 bytes (every suite but
        # CCM_8's 8) errs towards letting a legitimate client's data pass, never a large excess.
        self.skipped_early_data += max(1, payload_len - 17)
        if self.skipped_early_data > self._skip:
            raise AlertError(
                AlertDescription.unexpected_message,
                f"more than {self._skip} bytes of rejected early data (RFC 8446, Section 4.2.10)",
            )

    def _plaintext(
        self, ctype: ContentType, buf: bytes | bytearray, pos: int, end: int
    ) -> tuple[ContentType, bytes, bytes, bool] | None:
        """The record at ``buf[pos:end]``, under no keys (or a change_cipher_spec); None for a dropped
        0-RTT record."""
        if ctype == _APPLICATION_DATA:
            if self._skip:
                self._skip_early(end - pos - 5)  # early data sent before a HelloRetryRequest
                return None
            raise AlertError(AlertDescription.unexpected_message, "encrypted record before keys were agreed")
        if end == pos + 5:
            raise AlertError(AlertDescription.unexpected_message, f"empty {ctype.name} record")
        if type(buf) is bytes:
            header, payload = buf[pos : pos + 5], buf[pos + 5 : end]
        else:
            with memoryview(buf) as view:  # one copy out of the bytearray, not two
                header, payload = bytes(view[pos : pos + 5]), bytes(view[pos + 5 : end])
        if self._hook:
            self._hook("in", ctype, header, payload, None, None)
        return ctype, payload, header, False

    def _unprotect(
        self, read: Protection13 | Any, ctype: ContentType, header: bytes, payload: bytes | memoryview
    ) -> tuple[ContentType, bytes, bytes, bool] | None:
        """A protected record, decrypted; None for a dropped 0-RTT record."""
        if self._skip:
            seq = read.seq
            try:
                inner_type, data = read.open(header, payload)
            except AlertError as err:
                if err.description != AlertDescription.bad_record_mac:
                    raise
                read.seq = seq  # trial decryption: the record was not the next one under these keys
                self._skip_early(len(payload))
                return None
            self.skip_early_data = 0
        else:
            inner_type, data = read.open(header, payload)
        if self.read_limit is not None:
            self._check_read_limit(read, payload, data)
        if self._hook:
            self._hook("in", ctype, header, bytes(payload), inner_type, data)
        return inner_type, data, header, True

    def _check_read_limit(self, read: Protection13 | Any, payload: bytes | memoryview, data: bytes) -> None:
        limit = self.read_limit
        assert limit is not None
        # TLS 1.3: the TLSInnerPlaintext is the ciphertext but its tag; TLS 1.2: the plaintext itself.
        size = len(data) if read.protects_all_types else len(payload) - read.suite.tag_len
        if size > limit:
            raise AlertError(
                AlertDescription.record_overflow,
                f"a record of {size} bytes of plaintext exceeds the record_size_limit of {limit} we announced",
            )

    # -- output ------------------------------------------------------------
    def send(self, ctype: ContentType, data: bytes | memoryview) -> None:
        """Fragment ``data`` into records of at most ``write_limit`` bytes."""
        protection, limit = self.write, self.write_limit
        if protection is not None and len(data) <= limit and ctype != _CCS and self._hook is None:
            self.output.append(protection.seal(ctype, data))  # one protected record: _emit's own path
            return
        if len(data) <= limit:
            self._emit(ctype, data)
            return
        view = memoryview(data)
        for start in range(0, len(data), limit):
            self._emit(ctype, view[start : start + limit])

    def bulk_sealer(self) -> Protection13 | None:
        """The write keys when ``send`` of application data of at most 2^14 bytes does no more
        than ``output.append(keys.seal(23, data))`` (its shortcut): TLS 1.3 keys, the full write
        limit, no trace hook. Else None. (What a connection asks at each change of the keys or
        the limit, for its bulk lane.)"""
        write = self.write
        if type(write) is Protection13 and self.write_limit == MAX_PLAINTEXT and self._hook is None:
            return write
        return None

    def _emit(self, ctype: ContentType, data: bytes | memoryview) -> None:
        protection = self.write
        if protection is None or ctype == _CCS:
            # RFC 8446, Section 5: change_cipher_spec is never protected.
            header = bytes((ctype,)) + self.plaintext_version + len(data).to_bytes(2, "big")
            record: bytes | bytearray = header + data
            if self._hook:
                self._hook("out", ctype, header, bytes(data), None, None)
        else:
            record = protection.seal(ctype, data)
            if self._hook:
                # application_data in TLS 1.3, the real type in TLS 1.2; from the table (an Enum call costs more)
                outer = _CONTENT_TYPES.get(record[0]) or ContentType(record[0])
                self._hook("out", outer, bytes(record[:5]), bytes(record[5:]), ctype, bytes(data))
        self.output.append(record)

    def take_output(self) -> bytes:
        """The records to send, as one bytes object; none kept."""
        # bytes.join hands back a lone bytes record itself, not a copy (a sealed one is bytes).
        # (clear, not pop: a list emptied by pop gives its array back through the system
        # allocator, and the next append takes a new one.)
        out = self.output
        if not out:  # (asked after every read of an SSLObject or a transport: most often nothing)
            return b""
        joined = b"".join(out)
        out.clear()
        return joined
